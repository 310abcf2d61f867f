// RUN: pconv-opt %s -split-input-file -verify-diagnostics

// Patterns of a library must keep the declared number of taps.
// expected-error @+1 {{every pattern must keep exactly 4 taps}}
func.func private @f() attributes {lib = #pconv.patterns<3x3, taps = 4, [[1, 3, 4]]>}

// -----

// Pattern positions must lie inside the kernel.
// expected-error @+1 {{pattern 0 has position 9 outside [0, 9)}}
func.func private @f() attributes {lib = #pconv.patterns<3x3, taps = 2, [[4, 9]]>}

// -----

// Pattern positions are sorted and distinct.
// expected-error @+1 {{pattern 0 positions must be strictly increasing}}
func.func private @f() attributes {lib = #pconv.patterns<3x3, taps = 2, [[4, 1]]>}

// -----

// Patterns of a library are distinct.
// expected-error @+1 {{pattern 1 repeats an earlier pattern}}
func.func private @f() attributes {lib = #pconv.patterns<3x3, taps = 2, [[1, 4], [1, 4]]>}

// -----

// taps is bounded by the kernel area.
// expected-error @+1 {{pattern library taps must be in [1, 9], got 10}}
func.func private @f() attributes {lib = #pconv.patterns<3x3, taps = 10, [[0]]>}

// -----

// A library holds at least one pattern.
// expected-error @+1 {{pattern library must hold at least one pattern}}
func.func private @f() attributes {lib = #pconv.patterns<3x3, taps = 4, []>}

// -----

// The kernel table covers the input channels.
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4xf32>) -> tensor<1x1x6x6xf32> {
  // expected-error @+1 {{kernel pattern table has 2 channels but the input has 3}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[0, -1]]> : tensor<1x2xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x3x8x8xf32>, tensor<4xf32>) -> tensor<1x1x6x6xf32>
  return %y : tensor<1x1x6x6xf32>
}

// -----

// Pattern ids index the library; -1 is the only marker.
func.func @f(%x: tensor<1x1x8x8xf32>, %w: tensor<4xf32>) -> tensor<1x1x6x6xf32> {
  // expected-error @+1 {{kernel (0, 0) has pattern id 1 outside [-1, 1)}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<1> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x8x8xf32>, tensor<4xf32>) -> tensor<1x1x6x6xf32>
  return %y : tensor<1x1x6x6xf32>
}

// -----

// The packed weights are kept kernels x taps.
func.func @f(%x: tensor<1x2x8x8xf32>, %w: tensor<4xf32>) -> tensor<1x1x6x6xf32> {
  // expected-error @+1 {{expects 8 packed weights (2 kept kernels x 4 taps), got 4}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x2xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x2x8x8xf32>, tensor<4xf32>) -> tensor<1x1x6x6xf32>
  return %y : tensor<1x1x6x6xf32>
}

// -----

// One bias value per filter.
func.func @f(%x: tensor<1x1x8x8xf32>, %w: tensor<4xf32>, %b: tensor<3xf32>) -> tensor<1x1x6x6xf32> {
  // expected-error @+1 {{bias has 3 values but there are 1 filters}}
  %y = pconv.conv2d %x, %w bias(%b) library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x8x8xf32>, tensor<4xf32>, tensor<3xf32>) -> tensor<1x1x6x6xf32>
  return %y : tensor<1x1x6x6xf32>
}

// -----

// The result shape follows from input, kernel, strides, padding, dilations.
func.func @f(%x: tensor<1x1x8x8xf32>, %w: tensor<4xf32>) -> tensor<1x1x8x8xf32> {
  // expected-error @+1 {{result shape 'tensor<1x1x8x8xf32>' does not match the expected shape 'tensor<1x1x6x6xf32>'}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x8x8xf32>, tensor<4xf32>) -> tensor<1x1x8x8xf32>
  return %y : tensor<1x1x8x8xf32>
}

// -----

// The kernel must fit in the padded input.
func.func @f(%x: tensor<1x1x2x2xf32>, %w: tensor<4xf32>) -> tensor<1x1x1x1xf32> {
  // expected-error @+1 {{kernel does not fit in the padded input}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x2x2xf32>, tensor<4xf32>) -> tensor<1x1x1x1xf32>
  return %y : tensor<1x1x1x1xf32>
}

// -----

// Two strides and two dilations.
func.func @f(%x: tensor<1x1x8x8xf32>, %w: tensor<4xf32>) -> tensor<1x1x6x6xf32> {
  // expected-error @+1 {{expects 2 strides and 2 dilations, got 1 and 2}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x8x8xf32>, tensor<4xf32>) -> tensor<1x1x6x6xf32>
  return %y : tensor<1x1x6x6xf32>
}

// -----

// Padding is [top, left, bottom, right].
func.func @f(%x: tensor<1x1x8x8xf32>, %w: tensor<4xf32>) -> tensor<1x1x6x6xf32> {
  // expected-error @+1 {{expects 4 padding values [top, left, bottom, right], got 2}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0] dilations [1, 1]
         : (tensor<1x1x8x8xf32>, tensor<4xf32>) -> tensor<1x1x6x6xf32>
  return %y : tensor<1x1x6x6xf32>
}

// -----

// Strides and dilations are positive.
func.func @f(%x: tensor<1x1x8x8xf32>, %w: tensor<4xf32>) -> tensor<1x1x6x6xf32> {
  // expected-error @+1 {{strides and dilations must be positive}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [0, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x8x8xf32>, tensor<4xf32>) -> tensor<1x1x6x6xf32>
  return %y : tensor<1x1x6x6xf32>
}

// -----

// Padding is non-negative.
func.func @f(%x: tensor<1x1x8x8xf32>, %w: tensor<4xf32>) -> tensor<1x1x6x6xf32> {
  // expected-error @+1 {{padding must be non-negative}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, -1, 0, 0] dilations [1, 1]
         : (tensor<1x1x8x8xf32>, tensor<4xf32>) -> tensor<1x1x6x6xf32>
  return %y : tensor<1x1x6x6xf32>
}

// -----

// The kernel table is 2-D.
func.func @f(%x: tensor<1x1x8x8xf32>, %w: tensor<4xf32>) -> tensor<1x1x6x6xf32> {
  // expected-error @+1 {{kernel pattern table must be 2-D (filters x channels), got rank 1}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x8x8xf32>, tensor<4xf32>) -> tensor<1x1x6x6xf32>
  return %y : tensor<1x1x6x6xf32>
}

// -----

// Shapes are static.
func.func @f(%x: tensor<?x1x8x8xf32>, %w: tensor<4xf32>) -> tensor<1x1x6x6xf32> {
  // expected-error @+1 {{requires statically shaped input, weights and result}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<?x1x8x8xf32>, tensor<4xf32>) -> tensor<1x1x6x6xf32>
  return %y : tensor<1x1x6x6xf32>
}

// -----

// An upper bound needs the ReLU it clamps.
func.func @f(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  // expected-error @+1 {{relu_max requires relu}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu_max 6.0
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

func.func @f(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  // expected-error @+1 {{relu_max must be a positive finite value}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu relu_max -1.0
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

// A residual is added element for element: it has the result's type.
func.func @f(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>, %r: tensor<1x1x6x6xf32>) -> tensor<1x1x4x4xf32> {
  // expected-error @+1 {{residual type 'tensor<1x1x6x6xf32>' differs from the result type 'tensor<1x1x4x4xf32>'}}
  %y = pconv.conv2d %x, %w residual(%r) library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>, tensor<1x1x6x6xf32>) -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

// A fused max-pool tiles the conv's output exactly.
func.func @f(%x: tensor<1x1x7x7xf32>, %w: tensor<4xf32>) -> tensor<1x1x2x2xf32> {
  // expected-error @+1 {{convolution output 5x5 is not a multiple of the max_pool window 2x2}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] max_pool [2, 2]
         : (tensor<1x1x7x7xf32>, tensor<4xf32>) -> tensor<1x1x2x2xf32>
  return %y : tensor<1x1x2x2xf32>
}

// -----

func.func @f(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x2x2xf32> {
  // expected-error @+1 {{max_pool expects two positive window sizes [h, w]}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] max_pool [2, 0]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x2x2xf32>
  return %y : tensor<1x1x2x2xf32>
}

// -----

// The result is the pooled map.
func.func @f(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  // expected-error @+1 {{result shape 'tensor<1x1x4x4xf32>' does not match the expected shape 'tensor<1x1x2x2xf32>'}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] max_pool [2, 2]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

// A residual is added at the convolution's resolution, before any pool.
func.func @f(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>, %r: tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32> {
  // expected-error @+1 {{max_pool cannot be combined with a residual}}
  %y = pconv.conv2d %x, %w residual(%r) library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] max_pool [2, 2]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32>
  return %y : tensor<1x1x2x2xf32>
}

// -----

// Pool strides larger than the window would skip outputs.
func.func @f(%x: tensor<1x1x10x10xf32>, %w: tensor<4xf32>) -> tensor<1x1x2x2xf32> {
  // expected-error @+1 {{pool_strides expects two positive strides [h, w] no larger than the max_pool window}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         max_pool [2, 2] pool_strides [3, 3]
         : (tensor<1x1x10x10xf32>, tensor<4xf32>) -> tensor<1x1x2x2xf32>
  return %y : tensor<1x1x2x2xf32>
}

// -----

// A window made only of padding would have no value to pool.
func.func @f(%x: tensor<1x1x10x10xf32>, %w: tensor<4xf32>) -> tensor<1x1x5x5xf32> {
  // expected-error @+1 {{pool_padding expects 4 values [top, left, bottom, right], each non-negative and less than the max_pool window}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         max_pool [3, 3] pool_strides [2, 2] pool_padding [3, 1, 1, 1]
         : (tensor<1x1x10x10xf32>, tensor<4xf32>) -> tensor<1x1x5x5xf32>
  return %y : tensor<1x1x5x5xf32>
}

// -----

func.func @f(%x: tensor<1x1x10x10xf32>, %w: tensor<4xf32>) -> tensor<1x1x8x8xf32> {
  // expected-error @+1 {{pool_strides and pool_padding require max_pool}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         pool_strides [2, 2]
         : (tensor<1x1x10x10xf32>, tensor<4xf32>) -> tensor<1x1x8x8xf32>
  return %y : tensor<1x1x8x8xf32>
}

// -----

// Overlapping windows: (8 + 1 + 1 - 3) / 2 + 1 = 4 rows and columns.
func.func @f(%x: tensor<1x1x10x10xf32>, %w: tensor<4xf32>) -> tensor<1x1x5x5xf32> {
  // expected-error @+1 {{result shape 'tensor<1x1x5x5xf32>' does not match the expected shape 'tensor<1x1x4x4xf32>'}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         max_pool [3, 3] pool_strides [2, 2] pool_padding [1, 1, 1, 1]
         : (tensor<1x1x10x10xf32>, tensor<4xf32>) -> tensor<1x1x5x5xf32>
  return %y : tensor<1x1x5x5xf32>
}
