// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-sparse-linear{block=4 remarks=true}))' -verify-diagnostics | FileCheck %s
// RUN: not pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-sparse-linear{block=0}))' 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: pconv-sparse-linear: block must be positive and min-sparsity in [0, 1]

// nn.Linear(8, 3) in torch-mlir's form. W's rows in blocks of 4 inputs:
// row 0 keeps block 0, row 1 nothing, row 2 both blocks: 3 of 6 blocks kept
// (sparsity 0.5 = min-sparsity). Tables: row pointers [0, 1, 1, 3], first
// columns [0, 0, 4], the kept blocks' values in order; the dense W and its
// transpose are gone, the product is a loop over kept blocks.
// CHECK-LABEL: func.func @linear
// CHECK-NOT: linalg.transpose
// CHECK-DAG: arith.constant dense<[0, 1, 1, 3]> : tensor<4xi32>
// CHECK-DAG: arith.constant dense<[0, 0, 4]> : tensor<3xi32>
// CHECK-DAG: arith.constant dense<[1.000000e+00, 2.000000e+00, 0.000000e+00, 3.000000e+00, 4.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 5.000000e+00]> : tensor<12xf32>
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK: vector.load {{.*}} : memref<12xf32>, vector<4xf32>
// CHECK: vector.load {{.*}} : memref<1x8xf32>, vector<4xf32>
// CHECK: vector.fma
// CHECK: vector.reduction <add>
// CHECK: bufferization.to_tensor
// CHECK-NOT: linalg.matmul
func.func @linear(%x: tensor<1x8xf32>) -> tensor<1x3xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0],
                             [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                             [4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0]]> : tensor<3x8xf32>
  %e = tensor.empty() : tensor<8x3xf32>
  %t = linalg.transpose ins(%w : tensor<3x8xf32>) outs(%e : tensor<8x3xf32>) permutation = [1, 0]
  %zero = arith.constant 0.0 : f32
  %o = tensor.empty() : tensor<1x3xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%o : tensor<1x3xf32>) -> tensor<1x3xf32>
  // expected-remark @+1 {{block-sparse: 3 of 6 4-wide weight blocks kept}}
  %y = linalg.matmul ins(%x, %t : tensor<1x8xf32>, tensor<8x3xf32>) outs(%fill : tensor<1x3xf32>) -> tensor<1x3xf32>
  return %y : tensor<1x3xf32>
}

// -----

// Too dense (1 of 4 blocks empty): left as it is.
// CHECK-LABEL: func.func @dense
// CHECK: linalg.transpose
// CHECK: linalg.matmul
func.func @dense(%x: tensor<1x8xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
                             [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]]> : tensor<2x8xf32>
  %e = tensor.empty() : tensor<8x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x8xf32>) outs(%e : tensor<8x2xf32>) permutation = [1, 0]
  %zero = arith.constant 0.0 : f32
  %o = tensor.empty() : tensor<1x2xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%o : tensor<1x2xf32>) -> tensor<1x2xf32>
  // expected-remark @+1 {{stays dense: 25% of the 4-wide weight blocks are empty}}
  %y = linalg.matmul ins(%x, %t : tensor<1x8xf32>, tensor<8x2xf32>) outs(%fill : tensor<1x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// Weights that are not a constant (a function argument) stay on the dense path.
// CHECK-LABEL: func.func @not_constant
// CHECK: linalg.matmul
func.func @not_constant(%x: tensor<1x8xf32>, %w: tensor<2x8xf32>) -> tensor<1x2xf32> {
  %e = tensor.empty() : tensor<8x2xf32>
  %t = linalg.transpose ins(%w : tensor<2x8xf32>) outs(%e : tensor<8x2xf32>) permutation = [1, 0]
  %zero = arith.constant 0.0 : f32
  %o = tensor.empty() : tensor<1x2xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%o : tensor<1x2xf32>) -> tensor<1x2xf32>
  %y = linalg.matmul ins(%x, %t : tensor<1x8xf32>, tensor<8x2xf32>) outs(%fill : tensor<1x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
