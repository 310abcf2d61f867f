// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-fuse-activation))' | FileCheck %s

#id = affine_map<(a, b, c, d) -> (a, b, c, d)>

// torch-mlir's ReLU (cmpf ugt + select) on a single-use pconv result is fused.
// CHECK-LABEL: func.func @select_relu
// CHECK: %[[Y:.*]] = pconv.conv2d {{.*}} dilations [1, 1] relu :
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @select_relu(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  %e = tensor.empty() : tensor<1x1x4x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y : tensor<1x1x4x4xf32>) outs(%e : tensor<1x1x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.cmpf ugt, %in, %zero : f32
    %s = arith.select %c, %in, %zero : f32
    linalg.yield %s : f32
  } -> tensor<1x1x4x4xf32>
  return %r : tensor<1x1x4x4xf32>
}

// -----

#id = affine_map<(a, b, c, d) -> (a, b, c, d)>

// The maximumf form is fused too.
// CHECK-LABEL: func.func @max_relu
// CHECK: pconv.conv2d {{.*}} relu
// CHECK-NOT: linalg.generic
func.func @max_relu(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  %e = tensor.empty() : tensor<1x1x4x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y : tensor<1x1x4x4xf32>) outs(%e : tensor<1x1x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x1x4x4xf32>
  return %r : tensor<1x1x4x4xf32>
}

// -----

#id = affine_map<(a, b, c, d) -> (a, b, c, d)>

// Not fused: the conv result has another use (it must stay un-activated), and
// a generic that is not a ReLU (here max with 1) is left alone.
// CHECK-LABEL: func.func @not_fused
// CHECK: pconv.conv2d
// CHECK-NOT: relu
// CHECK: linalg.generic
// CHECK: linalg.generic
func.func @not_fused(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  %e = tensor.empty() : tensor<1x1x4x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y : tensor<1x1x4x4xf32>) outs(%e : tensor<1x1x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x1x4x4xf32>
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y : tensor<1x1x4x4xf32>) outs(%e : tensor<1x1x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %one : f32
    linalg.yield %m : f32
  } -> tensor<1x1x4x4xf32>
  return %y, %r, %q : tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>
}

// -----

#id = affine_map<(a, b, c, d) -> (a, b, c, d)>
#scalar = affine_map<(a, b, c, d) -> ()>

// torch-mlir's ReLU6 (clamp): max with a 0-d zero tensor, then min with a
// 0-d 6: the conv gets relu and relu_max 6, both generics disappear.
// CHECK-LABEL: func.func @relu6
// CHECK: %[[Y:.*]] = pconv.conv2d {{.*}} dilations [1, 1] relu relu_max 6.000000e+00 :
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @relu6(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  %zero = arith.constant dense<0.0> : tensor<f32>
  %six = arith.constant dense<6.0> : tensor<f32>
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  %e = tensor.empty() : tensor<1x1x4x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y, %zero : tensor<1x1x4x4xf32>, tensor<f32>) outs(%e : tensor<1x1x4x4xf32>) {
  ^bb0(%in: f32, %z: f32, %out: f32):
    %c = arith.cmpf ogt, %in, %z : f32
    %s = arith.select %c, %in, %z : f32
    linalg.yield %s : f32
  } -> tensor<1x1x4x4xf32>
  %m = linalg.generic {indexing_maps = [#scalar, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%six, %r : tensor<f32>, tensor<1x1x4x4xf32>) outs(%e : tensor<1x1x4x4xf32>) {
  ^bb0(%c6: f32, %in: f32, %out: f32):
    %c = arith.cmpf olt, %c6, %in : f32
    %s = arith.select %c, %c6, %in : f32
    linalg.yield %s : f32
  } -> tensor<1x1x4x4xf32>
  return %m : tensor<1x1x4x4xf32>
}

// -----

#id = affine_map<(a, b, c, d) -> (a, b, c, d)>

// A min without a ReLU before it is not an activation: left alone.
// CHECK-LABEL: func.func @min_without_relu
// CHECK: pconv.conv2d {{.*}} dilations [1, 1] :
// CHECK: arith.minimumf
func.func @min_without_relu(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  %six = arith.constant 6.0 : f32
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  %e = tensor.empty() : tensor<1x1x4x4xf32>
  %m = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y : tensor<1x1x4x4xf32>) outs(%e : tensor<1x1x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.minimumf %in, %six : f32
    linalg.yield %s : f32
  } -> tensor<1x1x4x4xf32>
  return %m : tensor<1x1x4x4xf32>
}
