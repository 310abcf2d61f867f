// RUN: pconv-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(pconv-elementwise-in-place))' | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>

// A ReLU6-like generic whose input is used by it only: the input becomes the
// destination.
// CHECK-LABEL: func.func @dead_input
// CHECK: %[[X:.*]] = arith.addf
// CHECK: linalg.generic {{.*}} ins(%[[X]] : tensor<4x8xf32>) outs(%[[X]] : tensor<4x8xf32>)
func.func @dead_input(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %x = arith.addf %a, %a : tensor<4x8xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    %n = arith.minimumf %m, %six : f32
    linalg.yield %n : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// The input is used again later (and a function argument is not writable):
// the destination stays tensor.empty.
// CHECK-LABEL: func.func @live_input
// CHECK: %[[E:.*]] = tensor.empty
// CHECK: linalg.generic {{.*}} outs(%[[E]] : tensor<4x8xf32>)
// CHECK: linalg.generic {{.*}} outs(%[[E]] : tensor<4x8xf32>)
func.func @live_input(%a: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %x = arith.addf %a, %a : tensor<4x8xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %a : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %m = arith.addf %in, %in2 : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  return %r, %s : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>

// The input is read transposed: writing over it would clobber elements still
// to be read; left alone.
// CHECK-LABEL: func.func @transposed_input
// CHECK: %[[E:.*]] = tensor.empty
// CHECK: linalg.generic {{.*}} outs(%[[E]] : tensor<4x4xf32>)
func.func @transposed_input(%a: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %x = arith.addf %a, %a : tensor<4x4xf32>
  %e = tensor.empty() : tensor<4x4xf32>
  %r = linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4x4xf32>
  return %r : tensor<4x4xf32>
}
