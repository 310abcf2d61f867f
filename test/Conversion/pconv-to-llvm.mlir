// RUN: pconv-opt %s --pconv-to-llvm="num-threads=2 target=aarch64-unknown-linux-gnu" | FileCheck %s
// RUN: pconv-opt %s --pconv-to-llvm="import=false import-dense=false" | FileCheck %s --check-prefix=DENSE

// The named pipeline takes linalg-on-tensors to the LLVM dialect: the pattern
// conv is imported and lowered, the result becomes an out-parameter of a C
// interface wrapper, parallel loops run on OpenMP with the requested thread
// count (teams whose threads claim tasks by their thread number, see
// pconv-steal-tasks), and no runtime-library copy call is left.
// CHECK: module attributes {llvm.target_triple = "aarch64-unknown-linux-gnu"}
// CHECK-LABEL: llvm.func @conv
// CHECK: omp.parallel num_threads
// CHECK: llvm.call @omp_get_thread_num()
// CHECK-LABEL: llvm.func @_mlir_ciface_conv
// CHECK-NOT: pconv.
// CHECK-NOT: linalg.
// CHECK-NOT: memrefCopy
// With import=false import-dense=false the convolution stays on upstream
// linalg loops.
// DENSE-LABEL: llvm.func @conv
// DENSE-NOT: num_threads
// DENSE: omp.parallel {
// DENSE: llvm.call @omp_get_thread_num()
func.func @conv(%x: tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[[[0.0, 1.0, 0.0], [2.0, 3.0, 4.0], [0.0, 0.0, 0.0]],
                              [[0.0, 0.0, 0.0], [5.0, 6.0, 7.0], [0.0, 8.0, 0.0]]],
                             [[[0.0, 0.0, 0.0], [9.0, 10.0, 11.0], [0.0, 12.0, 0.0]],
                              [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]]> : tensor<2x2x3x3xf32>
  %padded = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x2x6x6xf32> to tensor<1x2x8x8xf32>
  %empty = tensor.empty() : tensor<1x2x6x6xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%padded, %w : tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) outs(%init : tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %relu = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>],
                          iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y : tensor<1x2x6x6xf32>) outs(%empty : tensor<1x2x6x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x2x6x6xf32>
  return %relu : tensor<1x2x6x6xf32>
}
