// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-reorder-filters{remarks=true}))' -verify-diagnostics | FileCheck %s

// Filter 1 keeps 2 kernels, filter 0 one, filter 2 none: new order 1, 0, 2.
// The first conv's kernel rows, packed weights and bias follow; the max
// pool passes the channel permutation on, and the second conv absorbs it in
// its kernel columns and packed weights (its channels 0 and 1 swap).
// CHECK-LABEL: func.func @absorbed
// CHECK-DAG: %[[W1:.*]] = arith.constant dense<[5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00, 9.000000e+00, 1.000000e+01, 1.100000e+01, 1.200000e+01, 1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<12xf32>
// CHECK-DAG: %[[B1:.*]] = arith.constant dense<[2.000000e+00, 1.000000e+00, 3.000000e+00]> : tensor<3xf32>
// CHECK: %[[Y:.*]] = pconv.conv2d %{{.*}}, %[[W1]] bias(%[[B1]]) {{.*}} kernels dense<{{\[}}[0, 1], [0, -1], [-1, -1]]>
// CHECK: linalg.pooling_nchw_max
// CHECK: %[[W2:.*]] = arith.constant dense<[3.000000e+01, 3.100000e+01, 3.200000e+01, 3.300000e+01, 2.000000e+01, 2.100000e+01, 2.200000e+01, 2.300000e+01]> : tensor<8xf32>
// CHECK: pconv.conv2d %{{.*}}, %[[W2]] {{.*}} kernels dense<{{\[}}[0, 0, -1]]>
func.func @absorbed(%x: tensor<1x2x8x8xf32>) -> tensor<1x1x4x4xf32> {
  %w1 = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]> : tensor<12xf32>
  %b1 = arith.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  // expected-remark @+1 {{filters reordered by length and pattern mix; 1 consumer conv(s) absorb the permutation}}
  %y = pconv.conv2d %x, %w1 bias(%b1) library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [0, 1, 3, 4]]>
         kernels dense<[[0, -1], [0, 1], [-1, -1]]> : tensor<3x2xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x2x8x8xf32>, tensor<12xf32>, tensor<3xf32>) -> tensor<1x3x8x8xf32>
  %init = tensor.empty() : tensor<1x3x4x4xf32>
  %win = tensor.empty() : tensor<2x2xf32>
  %p = linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
         ins(%y, %win : tensor<1x3x8x8xf32>, tensor<2x2xf32>) outs(%init : tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %w2 = arith.constant dense<[20.0, 21.0, 22.0, 23.0, 30.0, 31.0, 32.0, 33.0]> : tensor<8xf32>
  // expected-remark @+1 {{filters keep their order: the output reaches 'func.return', which cannot absorb a channel permutation}}
  %z = pconv.conv2d %p, %w2 library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[0, 0, -1]]> : tensor<1x3xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x3x4x4xf32>, tensor<8xf32>) -> tensor<1x1x4x4xf32>
  return %z : tensor<1x1x4x4xf32>
}

// -----

// A residual add reads the output: the order stays.
// CHECK-LABEL: func.func @residual
// CHECK: kernels dense<{{\[}}[0], [0], [-1]]>
func.func @residual(%x: tensor<1x1x4x4xf32>, %r: tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32> {
  %w = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>
  // expected-remark @+1 {{filters keep their order: the output reaches 'linalg.generic', which cannot absorb a channel permutation}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[0], [0], [-1]]> : tensor<3x1xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x1x4x4xf32>, tensor<8xf32>) -> tensor<1x3x4x4xf32>
  %init = tensor.empty() : tensor<1x3x4x4xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
         ins(%y, %r : tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>) outs(%init : tensor<1x3x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<1x3x4x4xf32>
  return %s : tensor<1x3x4x4xf32>
}

// -----

// A fused residual is in the original channel order: a conv that adds one
// keeps its filter order, and a conv whose output is another conv's
// residual cannot pass a permutation on either.
// CHECK-LABEL: func.func @fused_residual
// CHECK: kernels dense<{{\[}}[0], [-1], [0]]>
// CHECK: kernels dense<{{\[}}[-1, 0, -1], [0, 0, 0], [-1, -1, 0]]>
func.func @fused_residual(%x: tensor<1x1x4x4xf32>, %r: tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32> {
  %w = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>
  // expected-remark @+1 {{filters keep their order: the output reaches 'pconv.conv2d', which cannot absorb a channel permutation}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[0], [-1], [0]]> : tensor<3x1xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x1x4x4xf32>, tensor<8xf32>) -> tensor<1x3x4x4xf32>
  %w2 = arith.constant dense<1.0> : tensor<20xf32>
  // expected-remark @+1 {{filters keep their order: it adds a residual in its epilogue, in the residual's channel order}}
  %z = pconv.conv2d %r, %w2 residual(%y) library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[-1, 0, -1], [0, 0, 0], [-1, -1, 0]]> : tensor<3x3xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x3x4x4xf32>, tensor<20xf32>, tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  return %z : tensor<1x3x4x4xf32>
}
