// Differential integration test: a pattern-sparse conv with pad and bias goes
// through the whole pconv-to-llvm pipeline, runs on the host with OpenMP (and
// on AArch64 under qemu), and its output is compared with values computed by
// PyTorch; the exit code is the number of mismatching elements.
// RUN: pconv-opt %s -pass-pipeline='builtin.module(func.func(pconv-import-linalg))' | FileCheck %s --check-prefix=IMPORT
// RUN: pconv-opt %s --pconv-to-llvm=num-threads=2 -o %t.llvm.mlir
// RUN: pconv-translate %t.llvm.mlir -o %t.bc
// RUN: opt -O3 %t.bc -o %t.opt.bc
// RUN: %if host-omp %{ llc -O3 -relocation-model=pic -filetype=obj %t.opt.bc -o %t.o %}
// RUN: %if host-omp %{ cc %t.o -o %t.exe -L%host_omp_dir -l:libomp.so.5 -Wl,-rpath,%host_omp_dir %}
// RUN: %if host-omp %{ %t.exe %}
// RUN: %if qemu-aarch64 %{ llc -O3 -mtriple=aarch64-linux-gnu -mcpu=cortex-a76 -relocation-model=pic -filetype=obj %t.opt.bc -o %t.arm.o %}
// RUN: %if qemu-aarch64 %{ aarch64-linux-gnu-gcc %t.arm.o -o %t.arm.exe -L%aarch64_omp_dir -l:libomp.so.5 %}
// RUN: %if qemu-aarch64 %{ env LD_LIBRARY_PATH=%aarch64_omp_dir:%aarch64_sysroot/lib qemu-aarch64 -L %aarch64_sysroot %t.arm.exe %}

// IMPORT: pconv.conv2d
// IMPORT-NOT: linalg.conv_2d_nchw_fchw
func.func @main() -> i32 {
  %zero = arith.constant 0.0 : f32
  %x = arith.constant dense<[[[[2.0, 1.0, 0.0, -2.0, -1.0],   [-3.0, -3.0, -3.0, -2.0, 2.0],   [1.0, 3.0, 0.0, 1.0, 3.0],   [2.0, 1.0, 0.0, 0.0, 3.0],   [-2.0, 2.0, 1.0, -3.0, -1.0]],  [[3.0, 0.0, -3.0, 2.0, 2.0],   [2.0, -2.0, -3.0, 3.0, -3.0],   [0.0, -3.0, -1.0, 0.0, -1.0],   [-1.0, -3.0, -3.0, -3.0, -3.0],   [1.0, 0.0, 1.0, -2.0, 1.0]]]]> : tensor<1x2x5x5xf32>
  %w = arith.constant dense<[[[[0.0, 1.0, 0.0],   [-1.0, 1.0, 2.0],   [0.0, 0.0, 0.0]],  [[0.0, 0.0, 0.0],   [2.0, 2.0, -1.0],   [0.0, 1.0, 0.0]]], [[[2.0, 1.0, 0.0],   [2.0, 1.0, 0.0],   [0.0, 0.0, 0.0]],  [[0.0, 0.0, 0.0],   [0.0, 0.0, 0.0],   [0.0, 0.0, 0.0]]], [[[0.0, 0.0, 0.0],   [1.0, -1.0, 2.0],   [0.0, -2.0, 0.0]],  [[0.0, 0.0, 0.0],   [1.0, 1.0, 2.0],   [0.0, 1.0, 0.0]]]]> : tensor<3x2x3x3xf32>
  %bias = arith.constant dense<[0.5, -1.0, 2.0]> : tensor<3xf32>
  %expected = arith.constant dense<[[[[12.5, 6.5, -15.5, -4.5, 6.5],   [-0.5, -4.5, -17.5, 6.5, 2.5],   [6.5, -8.5, -14.5, 1.5, -0.5],   [7.5, -2.5, -8.5, -3.5, -4.5],   [6.5, 8.5, -2.5, -8.5, 3.5]],  [[1.0, 4.0, 1.0, -3.0, -6.0],   [-2.0, -5.0, -8.0, -11.0, -8.0],   [-3.0, -5.0, -4.0, -8.0, 2.0],   [2.0, 9.0, 7.0, 0.0, 7.0],   [-1.0, 2.0, 6.0, -2.0, -5.0]],  [[13.0, 4.0, 3.0, 12.0, -2.0],   [-5.0, -19.0, -2.0, -3.0, -9.0],   [-4.0, -10.0, 0.0, 1.0, -10.0],   [0.0, -11.0, -10.0, 0.0, -4.0],   [9.0, 3.0, -6.0, 5.0, -1.0]]]]> : tensor<1x3x5x5xf32>
  %padded = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x2x5x5xf32> to tensor<1x2x7x7xf32>
  %empty = tensor.empty() : tensor<1x3x5x5xf32>
  %init = linalg.broadcast ins(%bias : tensor<3xf32>) outs(%empty : tensor<1x3x5x5xf32>) dimensions = [0, 2, 3]
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%padded, %w : tensor<1x2x7x7xf32>, tensor<3x2x3x3xf32>) outs(%init : tensor<1x3x5x5xf32>) -> tensor<1x3x5x5xf32>
  %c0 = arith.constant 0 : i32
  %count_init = tensor.empty() : tensor<i32>
  %count0 = linalg.fill ins(%c0 : i32) outs(%count_init : tensor<i32>) -> tensor<i32>
  %count = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> ()>],
                           iterator_types = ["reduction", "reduction", "reduction", "reduction"]}
      ins(%y, %expected : tensor<1x3x5x5xf32>, tensor<1x3x5x5xf32>) outs(%count0 : tensor<i32>) {
  ^bb0(%a: f32, %e: f32, %acc: i32):
    %d = arith.subf %a, %e : f32
    %ad = math.absf %d : f32
    %tol = arith.constant 1.0e-4 : f32
    %bad = arith.cmpf ugt, %ad, %tol : f32
    %one = arith.extui %bad : i1 to i32
    %next = arith.addi %acc, %one : i32
    linalg.yield %next : i32
  } -> tensor<i32>
  %n = tensor.extract %count[] : tensor<i32>
  return %n : i32
}
