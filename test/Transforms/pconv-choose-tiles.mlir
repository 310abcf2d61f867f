// RUN: pconv-opt %s -split-input-file -pconv-choose-tiles | FileCheck %s
// RUN: pconv-opt %s -split-input-file -pconv-choose-tiles='cache-bytes=24576' | FileCheck %s --check-prefix=L1
// RUN: pconv-opt %s -split-input-file -pconv-choose-tiles='vector-width=8 cache-bytes=1024 min-tasks=4' | FileCheck %s --check-prefix=SMALL
// RUN: pconv-opt %s -split-input-file -pconv-choose-tiles='tiles="0=2,1,1,2"'  | FileCheck %s --check-prefix=TUNED
// RUN: not pconv-opt %s -pconv-choose-tiles='tiles="0=2,1"'  2>&1 | FileCheck %s --check-prefix=BAD
// RUN: pconv-opt %s --pass-pipeline='builtin.module(pconv-to-llvm{vector-width=4})' --mlir-print-ir-after=pconv-choose-tiles -o /dev/null 2>&1 | FileCheck %s --check-prefix=NEON
// RUN: pconv-opt %s -split-input-file -pconv-choose-tiles='filter-lanes=false' | FileCheck %s --check-prefix=NOLANES
// RUN: pconv-opt %s -split-input-file -pconv-choose-tiles='row-block-bytes=131072' | FileCheck %s --check-prefix=L2
// RUN: pconv-opt %s -split-input-file -pconv-choose-tiles='row-block-bytes=65536' | FileCheck %s --check-prefix=WEIGHTS
// RUN: pconv-opt %s -split-input-file -pconv-choose-tiles='max-accumulators=24' | FileCheck %s --check-prefix=ROW24

// Model defaults (16 lanes): 56 output columns -> V = 4 vectors, R = 4 rows
// (16 accumulators allowed; 14 balanced row blocks); no channel blocking by default
// (all 32 channels in one block); 14 row blocks need 3 filter groups for 32
// tasks. With cache-bytes=24576, 6 input rows x 66 columns x 4 B per
// channel -> 24 KiB hold 15 channels (L1 run).
// CHECK-LABEL: func.func @model
// CHECK: pconv.tile = {channel_block = 32 : i64, filter_groups = 3 : i64, rows = 4 : i64, vectors = 4 : i64}
// L1: pconv.tile = {channel_block = 15 : i64, filter_groups = 3 : i64, rows = 4 : i64, vectors = 4 : i64}
// 8 lanes: V = 7, R = 2 (16 accumulators); a 1 KiB budget still keeps one
// channel; 28 row blocks already give 4 tasks.
// SMALL: pconv.tile = {channel_block = 1 : i64, filter_groups = 1 : i64, rows = 2 : i64, vectors = 7 : i64}
// The pipeline with 128-bit vectors (NEON) caps the model at 16 accumulators
// and 4 vectors per row: 14 vectors per row -> 4 chunks of V = 4, R = 4 (not
// the 3 x 7 tile of a 24-accumulator budget, which spills); 14 row blocks x
// 4 chunks already give 56 tasks.
// NEON: pconv.tile = {channel_block = 32 : i64, filter_groups = 1 : i64, rows = 4 : i64, vectors = 4 : i64}
// The tuner's choice wins, by op index.
// TUNED: pconv.tile = {channel_block = 1 : i64, filter_groups = 2 : i64, rows = 2 : i64, vectors = 1 : i64}
// BAD: error: pconv-choose-tiles: bad entry '0=2,1' in tiles; expected 'index=rows,vectors,channel_block,filter_groups[,filter_block[,filter_lanes]]' (0: the model picks that field; filter_block: dense convs only; filter_lanes: 0 or 1)
func.func @model(%x: tensor<1x32x56x56xf32>, %w: tensor<128xf32>) -> tensor<1x4x56x56xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
                        [0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
                        [0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
                        [0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1]]> : tensor<4x32xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x32x56x56xf32>, tensor<128xf32>) -> tensor<1x4x56x56xf32>
  return %y : tensor<1x4x56x56xf32>
}

// -----

// A dense 1x1 conv on a 7 x 7 map: 49 pixels fill 4 vectors of 16 lanes
// (77%), 64 filters fill 4 exactly, so the model puts filters along the
// lanes: runs of 6 pixels x 4 filter vectors (24 accumulators), all 128
// channels, one block of 64 filters. With filter-lanes=false: the pixel
// tile, 4 filters x 4 vectors.
// CHECK-LABEL: func.func @dense_1x1_7x7
// CHECK: pconv.tile = {channel_block = 128 : i64, filter_block = 64 : i64, filter_groups = 1 : i64, filter_lanes = 1 : i64, rows = 6 : i64, vectors = 4 : i64}
// NOLANES-LABEL: func.func @dense_1x1_7x7
// NOLANES: pconv.tile = {channel_block = 64 : i64, filter_block = 4 : i64, filter_groups = 16 : i64, rows = 1 : i64, vectors = 4 : i64}
func.func @dense_1x1_7x7(%x: tensor<1x128x7x7xf32>) -> tensor<1x64x7x7xf32> {
  %w = arith.constant dense<0.5> : tensor<8192xf32>
  %y = pconv.conv2d %x, %w library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<64x128xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x128x7x7xf32>, tensor<8192xf32>) -> tensor<1x64x7x7xf32>
  return %y : tensor<1x64x7x7xf32>
}

// -----

// Filter-lane runs of pixels each read all of their group's weights: enough
// groups that a group's weights take at most an eighth of `row-block-bytes`
// (the next group's weights are prefetched beside them). 128 x 2048 weights
// are 1 MiB: 8 groups of 128 KiB by default (4 would do for 32 tasks of 9
// runs), and within 65536 bytes one 64-filter block per group, 32 groups.
// CHECK-LABEL: func.func @dense_1x1_7x7_groups
// CHECK: filter_groups = 8 : i64, filter_lanes = 1 : i64, rows = 6 : i64, vectors = 4 : i64
// WEIGHTS-LABEL: func.func @dense_1x1_7x7_groups
// WEIGHTS: filter_groups = 32 : i64, filter_lanes = 1 : i64, rows = 6 : i64, vectors = 4 : i64
func.func @dense_1x1_7x7_groups(%x: tensor<1x128x7x7xf32>) -> tensor<1x2048x7x7xf32> {
  %w = arith.constant dense<0.5> : tensor<262144xf32>
  %y = pconv.conv2d %x, %w library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<2048x128xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x128x7x7xf32>, tensor<262144xf32>) -> tensor<1x2048x7x7xf32>
  return %y : tensor<1x2048x7x7xf32>
}

// -----

// A fused 2x2 max-pool takes tiles of whole row pairs: 80 columns are 5
// vectors, 16 accumulators allow 3 rows (12 rows in 4 blocks), the pooled
// conv takes 2; the same conv without the pool keeps 3.
// CHECK-LABEL: func.func @pooled_even_rows
// CHECK: max_pool [2, 2] {pconv.tile = {channel_block = 1 : i64, filter_groups = 2 : i64, rows = 2 : i64, vectors = 5 : i64}}
// CHECK: relu {pconv.tile = {channel_block = 1 : i64, filter_groups = 2 : i64, rows = 3 : i64, vectors = 5 : i64}}
func.func @pooled_even_rows(%x: tensor<1x1x14x82xf32>, %w: tensor<8xf32>) -> (tensor<1x2x6x40xf32>, tensor<1x2x12x80xf32>) {
  %p = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<2x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu max_pool [2, 2]
         : (tensor<1x1x14x82xf32>, tensor<8xf32>) -> tensor<1x2x6x40xf32>
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<2x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu
         : (tensor<1x1x14x82xf32>, tensor<8xf32>) -> tensor<1x2x12x80xf32>
  return %p, %y : tensor<1x2x6x40xf32>, tensor<1x2x12x80xf32>
}

// -----

// L2 blocking of row blocks: a stride-1 conv on 96 channels of 28 x 28
// (two vectors per row, so 7 rows of the 16-accumulator budget). 7 rows
// read 9 padded input rows of 48 floats (192 B) per channel: 96 x 9 x 192 B
// = 162 KiB, inside the default budget (1 MiB); with row-block-bytes=131072
// the model takes 5 rows (7 input rows: 126 KiB).
// CHECK-LABEL: func.func @row_block_fits_l2
// CHECK: pconv.tile = {channel_block = 96 : i64, filter_groups = 2 : i64, rows = 7 : i64, vectors = 2 : i64}
// L2-LABEL: func.func @row_block_fits_l2
// L2: pconv.tile = {channel_block = 96 : i64, filter_groups = 2 : i64, rows = 5 : i64, vectors = 2 : i64}
func.func @row_block_fits_l2(%x: tensor<1x96x28x28xf32>, %w: tensor<768xf32>) -> tensor<1x2x28x28xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<2x96xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x96x28x28xf32>, tensor<768xf32>) -> tensor<1x2x28x28xf32>
  return %y : tensor<1x2x28x28xf32>
}

// -----

// At stride 2 (neighbouring output rows share at most one input row) a tile
// takes at most 2 rows, whatever the accumulator and L2 budgets allow: 7
// blocks of 2 of the 14 output rows.
// CHECK-LABEL: func.func @stride2_two_rows
// CHECK: pconv.tile = {channel_block = 32 : i64, filter_groups = 2 : i64, rows = 2 : i64, vectors = 1 : i64}
// L2-LABEL: func.func @stride2_two_rows
// L2: pconv.tile = {channel_block = 32 : i64, filter_groups = 2 : i64, rows = 2 : i64, vectors = 1 : i64}
func.func @stride2_two_rows(%x: tensor<1x32x28x28xf32>, %w: tensor<64xf32>) -> tensor<1x2x14x14xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1],
                        [0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1]]> : tensor<2x32xi8>
         strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x32x28x28xf32>, tensor<64xf32>) -> tensor<1x2x14x14xf32>
  return %y : tensor<1x2x14x14xf32>
}

// -----

// A dense 3x3 conv in the row form (64 columns fill 4 whole vectors: no
// pitched flat map) takes the pattern convs' budget of `max-accumulators`
// (16), not `dense-accumulators` (24): its taps' input vectors, loaded once
// per channel, stay live across the taps beside the accumulators. 4 filters
// x 4 rows x 1 vector; with max-accumulators=24, 4 x 6 x 1.
// CHECK-LABEL: func.func @dense_3x3_row_form
// CHECK: pconv.tile = {channel_block = 4 : i64, filter_block = 4 : i64, filter_groups = 2 : i64, rows = 4 : i64, vectors = 1 : i64}
// ROW24-LABEL: func.func @dense_3x3_row_form
// ROW24: pconv.tile = {channel_block = 4 : i64, filter_block = 4 : i64, filter_groups = 3 : i64, rows = 6 : i64, vectors = 1 : i64}
func.func @dense_3x3_row_form(%x: tensor<1x4x16x64xf32>) -> tensor<1x16x16x64xf32> {
  %w = arith.constant dense<0.5> : tensor<576xf32>
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 9, [[0, 1, 2, 3, 4, 5, 6, 7, 8]]>
         kernels dense<0> : tensor<16x4xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x4x16x64xf32>, tensor<576xf32>) -> tensor<1x16x16x64xf32>
  return %y : tensor<1x16x16x64xf32>
}
