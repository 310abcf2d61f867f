// Inputs of pconv-lower-to-vectors.mlir: malformed pconv.tile / pconv.schedule.
func.func @bad_tile(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  // expected-error @+1 {{'pconv.conv2d' op has an invalid 'pconv.tile' attribute: expected a dictionary of positive integers (rows, vectors, channel_block, filter_groups, filter_block) and filter_lanes = 0 or 1}}
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

// -----

func.func @filter_lanes_not_a_flag(%x: tensor<1x2x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<16xf32>
  // expected-error @+1 {{'pconv.conv2d' op has an invalid 'pconv.tile' attribute: expected a dictionary of positive integers (rows, vectors, channel_block, filter_groups, filter_block) and filter_lanes = 0 or 1}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<8x2xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] {pconv.tile = {filter_lanes = 2}}
         : (tensor<1x2x4x4xf32>, tensor<16xf32>) -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}

// -----

func.func @filter_lanes_on_a_3x3_conv(%x: tensor<1x1x6x6xf32>) -> tensor<1x8x4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<72xf32>
  // expected-error @+1 {{'pconv.conv2d' op asks for 'filter_lanes' in its 'pconv.tile' attribute but is not a dense 1x1 conv without padding whose 8 filters fill vectors of 8}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 9, [[0, 1, 2, 3, 4, 5, 6, 7, 8]]>
         kernels dense<0> : tensor<8x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] {pconv.tile = {filter_lanes = 1}}
         : (tensor<1x1x6x6xf32>, tensor<72xf32>) -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}

// -----

func.func @filter_lanes_not_filling_vectors(%x: tensor<1x2x4x4xf32>) -> tensor<1x6x4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<12xf32>
  // expected-error @+1 {{'pconv.conv2d' op asks for 'filter_lanes' in its 'pconv.tile' attribute but is not a dense 1x1 conv without padding whose 6 filters fill vectors of 8}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<6x2xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] {pconv.tile = {filter_lanes = 1}}
         : (tensor<1x2x4x4xf32>, tensor<12xf32>) -> tensor<1x6x4x4xf32>
  return %y : tensor<1x6x4x4xf32>
}

// -----

func.func @filter_lanes_unsatisfiable(%x: tensor<1x2x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %w = arith.constant dense<1.0> : tensor<16xf32>
  // expected-error @+1 {{'pconv.conv2d' op 'pconv.tile' asks for filter lanes with rows / vectors / filter_block that no tile of 8-lane vectors satisfies}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<8x2xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] {pconv.tile = {filter_lanes = 1, vectors = 2}}
         : (tensor<1x2x4x4xf32>, tensor<16xf32>) -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}
