// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-fuse-activation))' | FileCheck %s
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-fuse-activation{residual=false}))' | FileCheck %s --check-prefix=OFF

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

// -----

#id = affine_map<(a, b, c, d) -> (a, b, c, d)>

// A residual add becomes the conv's residual operand, the ReLU after it the
// conv's relu: one op, no elementwise generic left. The conv moves down to
// the add, after the shortcut conv computed later (as torch orders a
// downsampling block).
// CHECK-LABEL: func.func @residual_add_relu
// CHECK-SAME: (%[[X:.*]]: tensor<1x1x6x6xf32>, %[[W:.*]]: tensor<4xf32>, %[[W1:.*]]: tensor<1xf32>)
// CHECK: %[[S:.*]] = pconv.conv2d %[[X]], %[[W1]] library #pconv.patterns<1x1
// CHECK: %[[Y:.*]] = pconv.conv2d %[[X]], %[[W]] residual(%[[S]]) library #pconv.patterns<3x3
// CHECK-SAME: dilations [1, 1] relu :
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @residual_add_relu(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>, %w1: tensor<1xf32>) -> tensor<1x1x6x6xf32> {
  %zero = arith.constant 0.0 : f32
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x6x6xf32>
  %s = pconv.conv2d %x, %w1 library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<1xf32>) -> tensor<1x1x6x6xf32>
  %e = tensor.empty() : tensor<1x1x6x6xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y, %s : tensor<1x1x6x6xf32>, tensor<1x1x6x6xf32>) outs(%e : tensor<1x1x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<1x1x6x6xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%sum : tensor<1x1x6x6xf32>) outs(%e : tensor<1x1x6x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.cmpf ugt, %in, %zero : f32
    %v = arith.select %c, %in, %zero : f32
    linalg.yield %v : f32
  } -> tensor<1x1x6x6xf32>
  return %r : tensor<1x1x6x6xf32>
}

// -----

#id = affine_map<(a, b, c, d) -> (a, b, c, d)>

// The conv may be either summand; the shortcut here is a function argument.
// A conv that already applies a ReLU is not fused (the ReLU comes first).
// CHECK-LABEL: func.func @residual_second_operand
// CHECK: %[[Y:.*]] = pconv.conv2d %{{.*}}, %{{.*}} residual(%arg2)
// CHECK-NOT: linalg.generic
// CHECK: %[[Z:.*]] = pconv.conv2d %{{.*}} relu :
// CHECK: linalg.generic
// CHECK: arith.addf
func.func @residual_second_operand(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>, %short: tensor<1x1x6x6xf32>) -> (tensor<1x1x6x6xf32>, tensor<1x1x6x6xf32>) {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x6x6xf32>
  %e = tensor.empty() : tensor<1x1x6x6xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%short, %y : tensor<1x1x6x6xf32>, tensor<1x1x6x6xf32>) outs(%e : tensor<1x1x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<1x1x6x6xf32>
  %z = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x6x6xf32>
  %sum2 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%z, %short : tensor<1x1x6x6xf32>, tensor<1x1x6x6xf32>) outs(%e : tensor<1x1x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<1x1x6x6xf32>
  return %sum, %sum2 : tensor<1x1x6x6xf32>, tensor<1x1x6x6xf32>
}

// With residual=false the adds stay (and so do the ReLUs after them).
// OFF-LABEL: func.func @residual_add_relu
// OFF: arith.addf
// OFF-LABEL: func.func @residual_second_operand
// OFF-NOT: residual(
