// Inputs of pconv-lower-to-vectors.mlir: malformed pconv.tile / pconv.schedule.
func.func @bad_tile(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  // expected-error @+1 {{'pconv.conv2d' op has an invalid 'pconv.tile' attribute: expected a dictionary of positive integers (rows, vectors, channel_block, filter_groups, filter_block)}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] {pconv.tile = {rows = 0}}
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

func.func @stale_schedule(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  // expected-error @+1 {{'pconv.conv2d' op has an invalid 'pconv.schedule' attribute: tables do not match the op's kernels (stale schedule?)}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         {pconv.schedule = {channel_block = 1, group_start = array<i32: 0, 1>, row_ptr = array<i32: 0, 0>, channel = array<i32>, weight_offset = array<i32>}}
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

func.func @filter_block_on_pattern_conv(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  // expected-error @+1 {{'pconv.conv2d' op has a 'filter_block' in its 'pconv.tile' attribute but is not a dense conv (only dense convs and convs whose filters share their kernels in blocks are filter-blocked)}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] {pconv.tile = {filter_block = 1}}
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

func.func @filter_block_not_dividing(%x: tensor<1x2x4x4xf32>) -> tensor<1x3x4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<6xf32>
  // expected-error @+1 {{'pconv.conv2d' op 'filter_block' 2 of its 'pconv.tile' attribute does not divide its 3 filters}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<3x2xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] {pconv.tile = {filter_block = 2}}
         : (tensor<1x2x4x4xf32>, tensor<6xf32>) -> tensor<1x3x4x4xf32>
  return %y : tensor<1x3x4x4xf32>
}

// -----

func.func @filter_block_not_dividing_shared_blocks(%x: tensor<1x1x6x6xf32>) -> tensor<1x4x4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<8xf32>
  // expected-error @+1 {{'pconv.conv2d' op 'filter_block' 4 of its 'pconv.tile' attribute does not divide its shared-kernel filter blocks of 2}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[0], [0], [-1], [-1]]> : tensor<4x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] {pconv.tile = {filter_block = 4}}
         : (tensor<1x1x6x6xf32>, tensor<8xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}
