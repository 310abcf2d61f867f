// RUN: pconv-opt %s | pconv-opt | FileCheck %s
// RUN: pconv-opt %s --mlir-print-op-generic | pconv-opt | FileCheck %s

// CHECK-LABEL: func.func @conv_with_bias
func.func @conv_with_bias(%x: tensor<1x2x8x8xf32>, %w: tensor<12xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  // CHECK: pconv.conv2d %{{.*}}, %{{.*}} bias(%{{.*}}) library #pconv.patterns<3x3, taps = 4, {{\[}}[1, 3, 4, 5], [3, 4, 5, 7]]>
  // CHECK-SAME: kernels dense<{{\[}}[0, 1], [1, -1]]> : tensor<2x2xi8>
  // CHECK-SAME: strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
  %y = pconv.conv2d %x, %w bias(%b)
         library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
         kernels dense<[[0, 1], [1, -1]]> : tensor<2x2xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x2x8x8xf32>, tensor<12xf32>, tensor<2xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// A fused ReLU epilogue round-trips as a trailing keyword.
// CHECK-LABEL: func.func @fused_relu
// CHECK: dilations [1, 1] relu :
func.func @fused_relu(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// A clamped ReLU (ReLU6) adds its upper bound.
// CHECK-LABEL: func.func @fused_relu6
// CHECK: dilations [1, 1] relu relu_max 6.000000e+00 :
func.func @fused_relu6(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu relu_max 6.0
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// A fused 2x2 max-pool: the result is the pooled map (4x4 conv output).
// CHECK-LABEL: func.func @fused_max_pool
// CHECK: dilations [1, 1] relu max_pool [2, 2] : {{.*}} -> tensor<1x1x2x2xf32>
func.func @fused_max_pool(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x2x2xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu max_pool [2, 2]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x2x2xf32>
  return %y : tensor<1x1x2x2xf32>
}

// An overlapping 3x3 / 2 pool with padding 1 (ResNet's stem): an 8x8 conv
// output pools to 4x4; without padding to 3x3.
// CHECK-LABEL: func.func @fused_overlapping_max_pool
// CHECK: relu max_pool [3, 3] pool_strides [2, 2] pool_padding [1, 1, 1, 1] : {{.*}} -> tensor<1x1x4x4xf32>
// CHECK: max_pool [3, 3] pool_strides [2, 2] : {{.*}} -> tensor<1x1x3x3xf32>
func.func @fused_overlapping_max_pool(%x: tensor<1x1x10x10xf32>, %w: tensor<4xf32>)
    -> (tensor<1x1x4x4xf32>, tensor<1x1x3x3xf32>) {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu
         max_pool [3, 3] pool_strides [2, 2] pool_padding [1, 1, 1, 1]
         : (tensor<1x1x10x10xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  %z = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         max_pool [3, 3] pool_strides [2, 2]
         : (tensor<1x1x10x10xf32>, tensor<4xf32>) -> tensor<1x1x3x3xf32>
  return %y, %z : tensor<1x1x4x4xf32>, tensor<1x1x3x3xf32>
}

// A residual (the result's type) joins after the bias, before the ReLU;
// with or without a bias.
// CHECK-LABEL: func.func @residual
// CHECK: pconv.conv2d %[[X:.*]], %{{.*}} bias(%{{.*}}) residual(%[[R:.*]]) library
// CHECK-SAME: dilations [1, 1] relu :
// CHECK: pconv.conv2d %{{.*}}, %{{.*}} residual(%{{.*}}) library
func.func @residual(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>, %b: tensor<1xf32>, %r: tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32> {
  %y = pconv.conv2d %x, %w bias(%b) residual(%r) library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu
         : (tensor<1x1x6x6xf32>, tensor<4xf32>, tensor<1xf32>, tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  %z = pconv.conv2d %x, %w residual(%y) library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  return %z : tensor<1x1x4x4xf32>
}

// CHECK-LABEL: func.func @strided_no_bias
func.func @strided_no_bias(%x: tensor<2x3x9x7xf32>, %w: tensor<8xf32>) -> tensor<2x1x4x3xf32> {
  // CHECK: pconv.conv2d
  // CHECK-NOT: bias
  // CHECK-SAME: strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
  %y = pconv.conv2d %x, %w
         library #pconv.patterns<3x3, taps = 4, [[0, 1, 4, 8]]>
         kernels dense<[[0, -1, 0]]> : tensor<1x3xi8>
         strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<2x3x9x7xf32>, tensor<8xf32>) -> tensor<2x1x4x3xf32>
  return %y : tensor<2x1x4x3xf32>
}

// A layer whose kernels are all pruned keeps no weights.
// CHECK-LABEL: func.func @all_pruned
func.func @all_pruned(%x: tensor<1x2x5x5xf32>, %w: tensor<0xf32>) -> tensor<1x3x3x3xf32> {
  // CHECK: kernels dense<-1> : tensor<3x2xi8>
  %y = pconv.conv2d %x, %w
         library #pconv.patterns<3x3, taps = 1, [[4]]>
         kernels dense<-1> : tensor<3x2xi8>
         strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x2x5x5xf32>, tensor<0xf32>) -> tensor<1x3x3x3xf32>
  return %y : tensor<1x3x3x3xf32>
}

// A 5x5 library with dilation 2.
// CHECK-LABEL: func.func @dilated_5x5
func.func @dilated_5x5(%x: tensor<1x1x12x12xf32>, %w: tensor<3xf32>) -> tensor<1x1x4x4xf32> {
  // CHECK: #pconv.patterns<5x5, taps = 3, {{\[}}[0, 12, 24]]>
  %y = pconv.conv2d %x, %w
         library #pconv.patterns<5x5, taps = 3, [[0, 12, 24]]>
         kernels dense<0> : tensor<1x1xi8>
         strides [1, 1] padding [0, 0, 0, 0] dilations [2, 2]
         : (tensor<1x1x12x12xf32>, tensor<3xf32>) -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}
