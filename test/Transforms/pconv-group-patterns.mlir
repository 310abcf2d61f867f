// RUN: pconv-opt %s -pconv-group-patterns='remarks=true' -verify-diagnostics | FileCheck %s
// RUN: pconv-opt %s -pconv-group-patterns -mlir-pass-statistics 2>&1 >/dev/null | FileCheck %s --check-prefix=STATS

// 3 filters x 4 channels, 5 kept kernels of 2 patterns, channel blocks of 2,
// 2 filter groups. row_ptr has one run per (filter, block, pattern): filter
// 0 keeps channel 0 (pattern 0) and channel 2 (pattern 1), filter 1 channels
// 0 and 1 (pattern 1), filter 2 channel 3 (pattern 0). Work (kept taps + one
// kernel's taps per block): 16, 16, 12 -> groups [0, 2) and [2, 3).
// CHECK: pconv.schedule = {channel = array<i32: 0, 2, 0, 1, 3>, channel_block = 2 : i64, group_start = array<i32: 0, 2, 3>, row_ptr = array<i32: 0, 1, 1, 1, 2, 2, 4, 4, 4, 4, 4, 5, 5>, weight_offset = array<i32: 0, 4, 8, 12, 16>}
// Storage: 5 x 4 f32 weights = 80 B; indices = 12 i8 pattern ids + i32
// tables 4 x (13 + 5 + 5 + 3) = 104 B -> 116 B; dense 3 x 4 x 9 x 4 = 432 B.
// STATS: (S) 432 dense-bytes
// STATS: (S) 116 index-bytes
// STATS: (S)   2 num-filter-groups
// STATS: (S)   1 num-scheduled
// STATS: (S)  80 weight-bytes
func.func @grouped(%x: tensor<1x4x6x6xf32>, %w: tensor<20xf32>) -> tensor<1x3x6x6xf32> {
  // expected-remark @+1 {{pattern groups: 2 patterns used, 5 kept kernels in 2 channel block(s) of 2, 2 filter group(s); storage 196 bytes (weights 80, indices 116) vs dense 432 (2.20x smaller)}}
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [0, 1, 3, 4]]>
         kernels dense<[[0, -1, 1, -1], [1, 1, -1, -1], [-1, -1, -1, 0]]> : tensor<3x4xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] {pconv.tile = {channel_block = 2, filter_groups = 2}}
         : (tensor<1x4x6x6xf32>, tensor<20xf32>) -> tensor<1x3x6x6xf32>
  return %y : tensor<1x3x6x6xf32>
}
