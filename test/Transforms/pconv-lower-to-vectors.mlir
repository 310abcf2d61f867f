// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8 shifted-copies=true direct-loads=false aligned-loads=false}))' | FileCheck %s
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8 aligned-loads=false}))' | FileCheck %s --check-prefix=NOSHIFT
// RUN: pconv-opt %S/Inputs/bad-tile.mlir -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8}))'
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8 shifted-copies=true direct-loads=false aligned-loads=false}))' | grep -c "vector.load" | FileCheck %s --check-prefix=LOADS
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8}))' | grep -c "vector.fma" | FileCheck %s --check-prefix=FMAS
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8 mixed-shifts=false}))' | FileCheck %s --check-prefix=ALIGNED
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8}))' | FileCheck %s --check-prefix=MIXED
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8 tail-chunks=false}))' | FileCheck %s --check-prefix=NOTAIL
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8},canonicalize))' | FileCheck %s --check-prefix=INNER
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8 write-padded=false},canonicalize))' | FileCheck %s --check-prefix=COPY
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8}))' | FileCheck %s --check-prefix=PREFETCH
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8 prefetch-distance=0}))' | FileCheck %s --check-prefix=NOPREFETCH
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8 row-block-bytes=128}))' | FileCheck %s --check-prefix=STREAM

// 6 output columns in one 8-lane vector (V = 1), R = 6 rows per tile (the
// model allows 16 accumulators: all 6 rows in one block); the tile's 6
// accumulators are loop-carried through every kernel of a pattern.
// Pattern [1, 3, 4, 5] has taps (0,1) (1,0) (1,1) (1,2): 24 FMAs per kernel
// but only 19 distinct input vectors (rows r+dy shared between rows of the
// tile): load-redundancy elimination. Partial vectors use masked stores.
// CHECK-LABEL: func.func @tile
// The counts cover the whole file: @tile has 19 loads and 24 FMAs,
// @relu_epilogue (its tile fixes 4 rows) 13 loads and 16 FMAs, each plus 3
// loads making the shifted copies;
// @strided has 12 loads for 12 FMAs (a stride-2 tile of 3 rows shares no
// input rows between its taps' rows); @blocked is @tile's geometry again (its
// kernel loop is emitted once and runs once per channel block); @short_rows
// has 4 taps x 2 flat vectors: 8 loads for 8 FMAs;
// @dense_1x1 and @dense_1x1_strided have 4 loads (+1 masked) for 20 FMAs
// each, @dense_3x3 24 loads for
// 108 FMAs (dense convs never take shifted copies); @depthwise_direct
// 20 FMAs (LOADS runs with direct-loads=false: 20 loads from its
// phase-split copy; by default it reads masked loads, see below);
// @shared_blocks 10 loads for 48 FMAs in each of its two pattern loops;
// @dense_1x1_tail 4 loads for 16 FMAs in its full chunks and 2 (+1 masked)
// for 12 in its tail; @strided_short_rows 4 taps x 3 flat vectors: 12 loads
// for 12 FMAs; @dense_1x1_filter_lanes 2 weight vectors for 10 FMAs (a run
// of 5 pixels) and for 8 (its last run of 4); @depthwise_direct_inner_rows
// 16 FMAs (2 rows x 2 vectors x 4 taps), twice by default (with and without
// row checks), once with direct-loads=false (14 distinct tap vectors from
// its shifted copies, + 3 loads making them); @short_rows_two_sets 8 loads
// for 8 FMAs (@short_rows' taps, two sets of accumulators); @pooled_tile
// and @pooled_pitched_split 77 loads and 88 FMAs; @write_padded 106 and 128;
// @schedule_order_weights 19 loads for 24 FMAs per pattern (two pattern
// loops), plus 3 loads making the shifted copies; @write_padded_dense 141
// loads and 384 FMAs (dense tiles of 16 accumulators: 2 filters x 8 rows x
// 1 vector); @write_padded_residual 167 loads and 192 FMAs (three convs);
// @dense_1x1_stride3 1 load (and 1 masked) for 16 FMAs; @weight_stream 53
// loads and 64 FMAs.
// LOADS: 779
// FMAS: 1358
// The padded input has room for one whole tile of 6 rows (+2 halo rows);
// with shifted-copies it is copied once per column shift (3 copies of 8
// columns), so every tap load is an aligned vector; by default (NOSHIFT) the
// taps load unaligned vectors of one padded copy, viewed with a unit
// column-phase dimension.
// With aligned-loads (the default) and mixed-shifts=false (ALIGNED) the
// padded input is read only with aligned vectors: @tile's 7 tap vectors at column shift 1 or 2 (taps (0,1),
// (1,2)) are lane shuffles of the aligned vectors at columns 0 and 8 of
// their row, which the unshifted tap (1,0) also uses: 14 loads (7 rows x 2
// aligned vectors) instead of 19, and no load split across cache lines.
// ALIGNED-LABEL: func.func @tile
// ALIGNED: memref<1x2x8x1x16xf32>
// The shuffles are on i32 lanes (LLVM's x86 lowering matches the lane shift
// to valignd only for integer vectors).
// ALIGNED: vector.load
// ALIGNED: arith.bitcast %{{.*}} : vector<8xf32> to vector<8xi32>
// ALIGNED: vector.shuffle %{{.*}}, %{{.*}} [1, 2, 3, 4, 5, 6, 7, 8] : vector<8xi32>, vector<8xi32>
// ALIGNED: arith.bitcast %{{.*}} : vector<8xi32> to vector<8xf32>
// ALIGNED: vector.fma
// ALIGNED: vector.shuffle %{{.*}}, %{{.*}} [2, 3, 4, 5, 6, 7, 8, 9] : vector<8xi32>, vector<8xi32>
// ALIGNED: scf.yield
// A filter's kernels visit channels in no order the hardware prefetcher
// follows: each kernel prefetches (into L1) the tile input rows of the kernel
// `prefetch-distance` entries ahead in the schedule (clamped to the last),
// here the 8 padded rows of one 64-byte line each (columns 0-9 of 16).
// PREFETCH-LABEL: func.func @tile
// PREFETCH: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// PREFETCH: %[[AHEAD:.*]] = arith.addi %{{.*}}, %c4{{.*}} : index
// PREFETCH: %[[CLAMPED:.*]] = arith.minui %[[AHEAD]], %c1{{.*}} : index
// PREFETCH: %[[CH:.*]] = memref.load %{{.*}}[%[[CLAMPED]]] : memref<2xi32>
// PREFETCH-COUNT-8: memref.prefetch %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}], read, locality<3>, data : memref<1x2x8x1x16xf32>
// PREFETCH-NOT: memref.prefetch
// PREFETCH: vector.fma
// PREFETCH: scf.yield
// NOPREFETCH-LABEL: func.func @tile
// NOPREFETCH-NOT: memref.prefetch
// NOPREFETCH: return
// NOSHIFT-LABEL: func.func @tile
// NOSHIFT: memref.expand_shape {{.*}} into memref<1x2x8x1x16xf32>
// NOSHIFT-NOT: memref<1x2x8x3x8xf32>
// NOSHIFT: vector.fma
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<1x2x8x24xf32>
// CHECK: %[[COPIES:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x2x8x3x8xf32>
// Tasks: (image, row block, column chunk, filter group).
// CHECK: scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) =
// Channel blocks, then the group's filters.
// CHECK:   scf.for
// CHECK:   scf.for
// CHECK:   vector.broadcast %{{.*}} : f32 to vector<8xf32>
// CHECK:   scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-4: vector.broadcast
// CHECK: vector.load %[[COPIES]]
// CHECK: vector.fma
// CHECK: scf.yield
// CHECK: vector.maskedstore
// CHECK: bufferization.to_tensor
func.func @tile(%x: tensor<1x2x6x6xf32>, %w: tensor<8xf32>) -> tensor<1x1x6x6xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x2xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x2x6x6xf32>, tensor<8xf32>) -> tensor<1x1x6x6xf32>
  return %y : tensor<1x1x6x6xf32>
}

// -----

// Stride 2: the padded copy splits columns into 2 phases, so the taps of 8
// consecutive outputs are contiguous; tap (dy, dx) of tile row r reads input
// row 2 * (row0 + r) + dy, phase dx % 2, column offset dx / 2. The vectors
// of both phases at a column come from two contiguous masked loads of 16
// input columns, deinterleaved by two shuffles (even lanes: phase 0).
// No prefetches at stride 2 (a tile reads about one input row per FMA row;
// ResNet-18's stride-2 layers ran 1.18-1.28x slower with them).
// PREFETCH-LABEL: func.func @strided
// PREFETCH-NOT: memref.prefetch
// PREFETCH: return
// CHECK-LABEL: func.func @strided
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<1x1x8x2x16xf32>
// CHECK-NOT: vector.gather
// CHECK: %[[LO:.*]] = vector.maskedload
// CHECK: %[[HI:.*]] = vector.maskedload
// CHECK: vector.shuffle %[[LO]], %[[HI]] [0, 2, 4, 6, 8, 10, 12, 14]
// CHECK: vector.shuffle %[[LO]], %[[HI]] [1, 3, 5, 7, 9, 11, 13, 15]
// CHECK: vector.fma
// CHECK-NOT: pconv.conv2d
func.func @strided(%x: tensor<1x1x8x12xf32>, %w: tensor<4xf32>) -> tensor<1x1x3x5xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8>
         strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x8x12xf32>, tensor<4xf32>) -> tensor<1x1x3x5xf32>
  return %y : tensor<1x1x3x5xf32>
}

// -----

// A fused ReLU is applied to the accumulators before the single store.
// CHECK-LABEL: func.func @relu_epilogue
// CHECK: scf.yield
// CHECK: %[[BELOW:.*]] = arith.cmpf olt, %[[ACC:.*]], %[[ZERO:.*]] : vector<8xf32>
// CHECK: arith.select %[[BELOW]], %[[ZERO]], %[[ACC]] : vector<8xi1>, vector<8xf32>
// CHECK-NOT: arith.maximumf
// CHECK: vector.maskedstore
func.func @relu_epilogue(%x: tensor<1x1x6x7xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x5xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu
         : (tensor<1x1x6x7xf32>, tensor<4xf32>) -> tensor<1x1x4x5xf32>
  return %y : tensor<1x1x4x5xf32>
}

// -----

// Output rows of at most half a vector (3 columns, 8 lanes) at stride 1 are
// computed on the flat padded map (pitch 5): 3 x 5 = 15 grid positions in 2
// full 8-lane vectors, taps at flat offsets dy * 5 + dx of one flat copy of
// the input. One task covers the whole grid, so the x < 3 lanes of each
// grid vector are known: each output row's run of them is moved to the
// front by a constant shuffle and stored with a mask straight into the
// result (rows 0 and 1 from the first vector, row 2 from the second; no
// grid buffer and no copy out of it).
// With aligned loads the flat copy has a vector of slack for the upper
// aligned vector, and the grid starts 2 columns into it, so that the centre
// tap (flat offset 6, in every pattern) reads aligned vectors: the taps at
// offsets 1, 5, 7 (3, 7, 9 in the copy) are shuffles of the 4 aligned
// vectors (40 columns).
// ALIGNED-LABEL: func.func @short_rows
// ALIGNED: memref.alloc() {alignment = 64 : i64} : memref<1x1x1x1x40xf32>
// ALIGNED-COUNT-2: vector.load
// ALIGNED: vector.shuffle %{{.*}}, %{{.*}} [3, 4, 5, 6, 7, 8, 9, 10]
// ALIGNED: vector.shuffle %{{.*}}, %{{.*}} [3, 4, 5, 6, 7, 8, 9, 10]
// ALIGNED: vector.shuffle %{{.*}}, %{{.*}} [7, 8, 9, 10, 11, 12, 13, 14]
// ALIGNED: vector.shuffle %{{.*}}, %{{.*}} [7, 8, 9, 10, 11, 12, 13, 14]
// ALIGNED: vector.shuffle %{{.*}}, %{{.*}} [1, 2, 3, 4, 5, 6, 7, 8]
// ALIGNED: vector.shuffle %{{.*}}, %{{.*}} [1, 2, 3, 4, 5, 6, 7, 8]
// ALIGNED: vector.maskedstore
// By default (mixed-shifts) every other straddling tap vector, by the
// parity of (tap row + grid vector), is an unaligned load instead: each of
// the three shifts is one shuffle and one load (6 tap vectors at offsets
// 3, 7, 9 and 11, 15, 17; the centre's 8 and 16 stay aligned).
// MIXED-LABEL: func.func @short_rows
// MIXED: vector.shuffle %{{.*}}, %{{.*}} [3, 4, 5, 6, 7, 8, 9, 10]
// MIXED-NOT: vector.shuffle %{{.*}}, %{{.*}} [3, 4, 5, 6, 7, 8, 9, 10]
// MIXED: vector.shuffle %{{.*}}, %{{.*}} [7, 8, 9, 10, 11, 12, 13, 14]
// MIXED-NOT: vector.shuffle %{{.*}}, %{{.*}} [7, 8, 9, 10, 11, 12, 13, 14]
// MIXED: vector.shuffle %{{.*}}, %{{.*}} [1, 2, 3, 4, 5, 6, 7, 8]
// MIXED-NOT: vector.shuffle %{{.*}}, %{{.*}} [1, 2, 3, 4, 5, 6, 7, 8]
// MIXED: vector.maskedstore
// CHECK-LABEL: func.func @short_rows
// CHECK: %[[FLAT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x1x1x1x32xf32>
// CHECK: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x1x3x3xf32>
// CHECK-NOT: memref.alloc
// CHECK: vector.load %[[FLAT]]
// CHECK: vector.fma {{.*}} : vector<8xf32>
// CHECK: %[[R0:.*]] = vector.shuffle %[[V0:.*]], %[[V0]] [0, 1, 2, 0, 0, 0, 0, 0]
// CHECK: vector.maskedstore %[[OUT]][%{{.*}}, %{{.*}}, %c0{{[_0-9]*}}, %c0{{[_0-9]*}}], %{{.*}}, %[[R0]]
// CHECK: %[[R1:.*]] = vector.shuffle %[[V0]], %[[V0]] [5, 6, 7, 5, 5, 5, 5, 5]
// CHECK: vector.maskedstore %[[OUT]][%{{.*}}, %{{.*}}, %c1{{[_0-9]*}}, %c0{{[_0-9]*}}], %{{.*}}, %[[R1]]
// CHECK: %[[R2:.*]] = vector.shuffle %[[V1:.*]], %[[V1]] [2, 3, 4, 2, 2, 2, 2, 2]
// CHECK: vector.maskedstore %[[OUT]][%{{.*}}, %{{.*}}, %c2{{[_0-9]*}}, %c0{{[_0-9]*}}], %{{.*}}, %[[R2]]
// CHECK-NOT: vector.maskedload
// CHECK: return
func.func @short_rows(%x: tensor<1x1x5x5xf32>, %w: tensor<4xf32>) -> tensor<1x1x3x3xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x5x5xf32>, tensor<4xf32>) -> tensor<1x1x3x3xf32>
  return %y : tensor<1x1x3x3xf32>
}

// -----

// The same grid with a filter of two kernels: its 2 accumulators (1 row x 2
// flat vectors) are too few for the FMAs in flight, so alternate taps sum
// into a second set of 2, loop-carried through both kernels and added to the
// first after the last pattern loop.
// CHECK-LABEL: func.func @short_rows_two_sets
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: scf.yield
// CHECK-COUNT-2: arith.addf {{.*}} : vector<8xf32>
// CHECK: vector.maskedstore
func.func @short_rows_two_sets(%x: tensor<1x2x5x5xf32>, %w: tensor<8xf32>) -> tensor<1x1x3x3xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x2xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x2x5x5xf32>, tensor<8xf32>) -> tensor<1x1x3x3xf32>
  return %y : tensor<1x1x3x3xf32>
}

// -----

// Channel blocks of 1 channel (pconv.tile): a tile starts from the bias in
// the first block and from its partial sums (masked loads) after it; ReLU
// applies only after the last block (max with 0 there, -inf before).
// CHECK-LABEL: func.func @blocked
// CHECK: scf.parallel
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[BLOCK:.*]], %c0
// CHECK: %[[LAST:.*]] = arith.cmpi eq, %[[BLOCK]]
// CHECK: arith.select %[[LAST]]
// CHECK: scf.if %[[FIRST]] -> (vector<8xf32>
// CHECK: } else {
// CHECK: vector.maskedload
// CHECK: vector.fma
// CHECK: arith.cmpf olt
// CHECK: vector.maskedstore
func.func @blocked(%x: tensor<1x2x6x6xf32>, %w: tensor<8xf32>, %b: tensor<1xf32>) -> tensor<1x1x6x6xf32> {
  %y = pconv.conv2d %x, %w bias(%b) library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x2xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu {pconv.tile = {channel_block = 1, rows = 4}}
         : (tensor<1x2x6x6xf32>, tensor<8xf32>, tensor<1xf32>) -> tensor<1x1x6x6xf32>
  return %y : tensor<1x1x6x6xf32>
}

// -----

// A dense 1x1 conv (every kernel kept, constant weights) is a matmul: the
// input is read in place as one row of 5 x 7 = 35 pixels per channel (no
// padded copy), the register tile is 4 filters x 5 vectors (the model's
// most FMAs per load within 24 accumulators, counting idle lanes), and each
// channel step loads 5 input vectors (only the last, partial one masked)
// and 4 broadcast weights, in order, from the repacked
// [F / 4][C][taps][4] weights, for 20 FMAs.
// Tasks: (image, row block, column chunk, filter block).
// CHECK-LABEL: func.func @dense_1x1
// CHECK: %[[W:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<128xf32> to memref<128xf32>
// CHECK: %[[IN:.*]] = bufferization.to_buffer %arg0 read_only
// CHECK: memref.collapse_shape %[[IN]] {{\[}}[0], [1], [2, 3]] : memref<1x8x5x7xf32> into memref<1x8x35xf32>
// CHECK-NOT: memref.alloc() {alignment = 64 : i64} : memref<1x8x
// CHECK: memref<1x16x1x35xf32>
// CHECK: scf.parallel
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: memref.load %[[W]]
// CHECK-COUNT-4: vector.load
// CHECK: vector.maskedload
// CHECK-NOT: vector.load
// CHECK: scf.yield
// CHECK: arith.cmpf olt
// CHECK: vector.maskedstore
func.func @dense_1x1(%x: tensor<1x8x5x7xf32>, %b: tensor<16xf32>) -> tensor<1x16x5x7xf32> {
  %w = arith.constant dense<0.5> : tensor<128xf32>
  %y = pconv.conv2d %x, %w bias(%b) library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<16x8xi8>
         strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu
         : (tensor<1x8x5x7xf32>, tensor<128xf32>, tensor<16xf32>) -> tensor<1x16x5x7xf32>
  return %y : tensor<1x16x5x7xf32>
}

// -----

// A dense 1x1 conv at stride 2 without padding reads 5 x 7 of the 9 x 13
// input pixels: a compact copy of them (per vector of an output row, two
// masked loads of the source row's 2 x 8 columns, their even lanes picked by
// one shuffle, and one masked store; no strided gather) makes it the flat
// matmul of @dense_1x1 (same tile: 4 loads, 1 masked, 20 FMAs per channel),
// instead of a column-phase copy of the whole input.
// CHECK-LABEL: func.func @dense_1x1_strided
// CHECK: %[[SUB:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x8x1x1x35xf32>
// CHECK: scf.parallel
// CHECK-NOT: vector.gather
// CHECK: vector.maskedload %{{.*}} : memref<1x8x9x13xf32>
// CHECK-NOT: vector.gather
// CHECK: vector.maskedload %{{.*}} : memref<1x8x9x13xf32>
// CHECK-NEXT: vector.shuffle %{{.*}}, %{{.*}} [0, 2, 4, 6, 8, 10, 12, 14]
// CHECK-NOT: vector.gather
// CHECK: vector.maskedstore %[[SUB]]
// CHECK-NOT: memref<1x8x9x2x
// CHECK: scf.parallel
// CHECK-COUNT-4: vector.load %[[SUB]]
// CHECK: vector.maskedload %[[SUB]]
// CHECK: scf.yield
func.func @dense_1x1_strided(%x: tensor<1x8x9x13xf32>, %b: tensor<16xf32>) -> tensor<1x16x5x7xf32> {
  %w = arith.constant dense<0.5> : tensor<128xf32>
  %y = pconv.conv2d %x, %w bias(%b) library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<16x8xi8>
         strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1] relu
         : (tensor<1x8x9x13xf32>, tensor<128xf32>, tensor<16xf32>) -> tensor<1x16x5x7xf32>
  return %y : tensor<1x16x5x7xf32>
}

// -----

// At stride 3 the compact copy gathers each vector (lanes 3 apart).
// CHECK-LABEL: func.func @dense_1x1_stride3
// CHECK: %[[SUB:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x8x1x1x15xf32>
// CHECK: scf.parallel
// CHECK: vector.gather
// CHECK: vector.maskedstore %[[SUB]]
func.func @dense_1x1_stride3(%x: tensor<1x8x9x13xf32>, %b: tensor<16xf32>) -> tensor<1x16x3x5xf32> {
  %w = arith.constant dense<0.5> : tensor<128xf32>
  %y = pconv.conv2d %x, %w bias(%b) library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<16x8xi8>
         strides [3, 3] padding [0, 0, 0, 0] dilations [1, 1] relu
         : (tensor<1x8x9x13xf32>, tensor<128xf32>, tensor<16xf32>) -> tensor<1x16x3x5xf32>
  return %y : tensor<1x16x3x5xf32>
}

// -----

// A row that is not a multiple of the tile's vectors ends in a narrower tail
// chunk: 7 x 7 = 49 pixels are 7 vectors of 8; the 4 filters x 4 vectors
// tile covers 4 of them and the tail's 4 x 3 tile (under `chunk == 1`) the
// other 3, its last vector masked, instead of a second 4 x 4 tile with a
// whole vector past the end (tail-chunks=false).
// CHECK-LABEL: func.func @dense_1x1_tail
// CHECK: scf.parallel {{.*}} to (%{{.*}}, %{{.*}}, %c2, %c4)
// CHECK: %[[TAIL:.*]] = arith.cmpi eq, %{{.*}}, %c1
// CHECK: scf.if %[[TAIL]] {
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-2: vector.load
// CHECK: vector.maskedload
// CHECK: vector.maskedstore
// CHECK: } else {
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-4: vector.load
// CHECK-NOT: vector.mask
// CHECK: return
// NOTAIL-LABEL: func.func @dense_1x1_tail
// NOTAIL-NOT: scf.if
// NOTAIL: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// NOTAIL-COUNT-4: vector.maskedload
func.func @dense_1x1_tail(%x: tensor<1x8x7x7xf32>) -> tensor<1x16x7x7xf32> {
  %w = arith.constant dense<0.5> : tensor<128xf32>
  %y = pconv.conv2d %x, %w library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<16x8xi8>
         strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x8x7x7xf32>, tensor<128xf32>) -> tensor<1x16x7x7xf32>
  return %y : tensor<1x16x7x7xf32>
}

// -----

// Short rows at stride 2 take the pitched form on 2 x 2 phase planes: the
// 10 x 10 padded map is split into its even/odd rows x even/odd columns,
// each plane a flat grid 5 wide (32 long: the 4 x 5 = 20-position output
// grid, 3 vectors, plus one row and one column of taps); tap (dy, dx) reads
// plane (dy % 2) * 2 + dx % 2 at (dy / 2) * 5 + dx / 2. Pattern [1, 3, 4,
// 5] = taps (0, 1), (1, 0), (1, 1), (1, 2): planes 1, 2, 3 and 2 again
// (one column further), 3 vectors each. (A conv whose filters keep one
// kernel each, depthwise, keeps reading its input in place instead.)
// CHECK-LABEL: func.func @strided_short_rows
// CHECK: %[[PLANES:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x2x1x4x32xf32>
// CHECK: arith.remui
// CHECK: arith.divui
// CHECK: memref.store %{{.*}}, %[[PLANES]]
// CHECK: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x1x4x4xf32>
// CHECK: scf.parallel
// CHECK-COUNT-3: vector.load %[[PLANES]][%{{.*}}, %{{.*}}, %{{.*}}, %c1
// CHECK-COUNT-3: vector.load %[[PLANES]][%{{.*}}, %{{.*}}, %{{.*}}, %c2
// CHECK-COUNT-3: vector.load %[[PLANES]][%{{.*}}, %{{.*}}, %{{.*}}, %c3
// CHECK-COUNT-3: vector.load %[[PLANES]][%{{.*}}, %{{.*}}, %{{.*}}, %c2
// CHECK-COUNT-4: vector.maskedstore %[[OUT]]
// CHECK-NOT: vector.maskedload
func.func @strided_short_rows(%x: tensor<1x2x8x8xf32>, %w: tensor<8xf32>) -> tensor<1x1x4x4xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x2xi8> strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x2x8x8xf32>, tensor<8xf32>) -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

// A dense 3x3 conv goes through the padded copy like a pattern conv, with a
// tile of filters x rows x vectors: here 2 filters x 6 rows x 1 vector (6
// columns in 8 lanes); the 9 taps of a channel step load the 8 distinct
// input rows of each of 3 column shifts once (24 loads) for 2 x 6 x 9 = 108
// FMAs.
// CHECK-LABEL: func.func @dense_3x3
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<1x2x8x16xf32>
// CHECK: scf.parallel
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-12: vector.maskedstore
func.func @dense_3x3(%x: tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32> {
  %w = arith.constant dense<0.25> : tensor<36xf32>
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 9, [[0, 1, 2, 3, 4, 5, 6, 7, 8]]>
         kernels dense<0> : tensor<2x2xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x2x6x6xf32>, tensor<36xf32>) -> tensor<1x2x6x6xf32>
  return %y : tensor<1x2x6x6xf32>
}

// -----

// A depthwise conv (each filter keeps one kernel, on its own channel) reads
// its input in place: no padded or phase-split copy, only the output is
// allocated. Each tap vector is a masked load (lanes in the padding are
// zeros), at stride 2 two of them deinterleaved by a shuffle (even lanes).
// 5 rows x 4 taps: 20 FMAs.
// NOSHIFT-LABEL: func.func @depthwise_direct
// NOSHIFT-COUNT-1: memref.alloc
// NOSHIFT-NOT: memref.alloc
// NOSHIFT: vector.maskedload %{{.*}} : memref<1x2x9x9xf32>, vector<8xi1>, vector<8xf32> into vector<8xf32>
// NOSHIFT: vector.shuffle %{{.*}}, %{{.*}} [0, 2, 4, 6, 8, 10, 12, 14] : vector<8xf32>, vector<8xf32>
// NOSHIFT: vector.fma
func.func @depthwise_direct(%x: tensor<1x2x9x9xf32>, %w: tensor<8xf32>) -> tensor<1x2x5x5xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[0, -1], [-1, 0]]> : tensor<2x2xi8> strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x2x9x9xf32>, tensor<8xf32>) -> tensor<1x2x5x5xf32>
  return %y : tensor<1x2x5x5xf32>
}

// -----

// Row blocks of 2 rows over 8 rows (padding 1): blocks 1 and 2 read input
// rows 1-4 and 3-6 only, so the task's code is emitted twice, under
// scf.if: without row checks for those (inside the rows a tap vector is a
// plain load, only the ones reaching the left or right padding stay
// masked) and with them for blocks 0 and 3. Only the tap vectors of the
// unchecked copy are plain loads.
// (INNER canonicalizes after the lowering, which folds the constant masks.)
// INNER-LABEL: func.func @depthwise_direct_inner_rows
// INNER: scf.parallel
// INNER: scf.if
// INNER: vector.load %{{.*}} : memref<1x2x8x16xf32>, vector<8xf32>
// INNER: } else {
// INNER-NOT: vector.load %{{.*}} : memref<1x2x8x16xf32>
// INNER: vector.maskedload %{{.*}} : memref<1x2x8x16xf32>, vector<8xi1>, vector<8xf32> into vector<8xf32>
// INNER: return
func.func @depthwise_direct_inner_rows(%x: tensor<1x2x8x16xf32>, %w: tensor<8xf32>) -> tensor<1x2x8x16xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[0, -1], [-1, 0]]> : tensor<2x2xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         {pconv.tile = {rows = 2, vectors = 2}}
         : (tensor<1x2x8x16xf32>, tensor<8xf32>) -> tensor<1x2x8x16xf32>
  return %y : tensor<1x2x8x16xf32>
}

// -----

// Group-shared pattern pruning: the 4 filters keep the same kernels with the
// same patterns (channel 0 pattern 0, channel 1 pruned, channel 2 pattern
// 1), so they lower like a dense conv, filter-blocked (4 filters x 3 rows x
// 1 vector, within the pattern convs' 16 accumulators), with one loop per
// pattern over the block's kernels: the kept channels [0, 2] and the start
// of each pattern's run [0, 1, 2] are tables; each kernel prefetches the
// tile input of the kernel `prefetch-distance` (4) ahead (5 rows of one
// 64-byte line each: columns 0-9 of the padded copy) and does 4 taps x
// 4 filters x 3 rows = 48 FMAs.
// CHECK-LABEL: func.func @shared_blocks
// CHECK: arith.constant dense<[0, 2]> : tensor<2xi32>
// CHECK: arith.constant dense<[0, 1, 2]> : tensor<3xi32>
// CHECK: scf.parallel
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-5: memref.prefetch
// CHECK-COUNT-48: vector.fma
// CHECK: scf.yield
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-48: vector.fma
// CHECK: scf.yield
// CHECK-COUNT-12: vector.maskedstore
func.func @shared_blocks(%x: tensor<1x3x6x6xf32>) -> tensor<1x4x6x6xf32> {
  %w = arith.constant dense<0.25> : tensor<32xf32>
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
         kernels dense<[[0, -1, 1], [0, -1, 1], [0, -1, 1], [0, -1, 1]]> : tensor<4x3xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x3x6x6xf32>, tensor<32xf32>) -> tensor<1x4x6x6xf32>
  return %y : tensor<1x4x6x6xf32>
}

// -----

// Filters along the lanes (`filter_lanes`, fixed here; the model picks it
// for 1x1 convs whose pixel count fills vectors badly): 9 pixels in runs of
// 5 (the last run, under `run == 1`, has 4), 2 vectors of 8 filters. Per
// channel: 2 weight vectors, each pixel's input broadcast, 2 x P FMAs. The
// tile is transposed in registers: a run of 4 pixels (a power of two) takes
// 2 stages of shuffles (units of 1, then 2 lanes) per filter vector and
// leaves two filters' runs per 8-lane vector, stored whole; a run of 5 is
// padded with zero rows to 8 (3 stages) and stored masked. Tasks are
// (image, filter group, run): runs inner, so consecutive tasks reuse a
// group's weights.
// Runs after a group's first prefetch the next group's weights into L2,
// one line per channel iteration (run r from line (r - 1) x the run's
// iterations on, clamped to the last weight: this conv has one group).
// PREFETCH-LABEL: func.func @dense_1x1_filter_lanes
// PREFETCH: scf.for
// PREFETCH: arith.muli %{{.*}}, %c16{{.*}} : index
// PREFETCH: arith.minui %{{.*}}, %c511{{.*}} : index
// PREFETCH: %[[LATER:.*]] = arith.cmpi ne, %{{.*}}, %c0{{.*}} : index
// PREFETCH: scf.if %[[LATER]] {
// PREFETCH-NEXT: memref.prefetch %{{.*}}[%{{.*}}], read, locality<3>, data : memref<512xf32>
// PREFETCH: vector.load
// NOPREFETCH-LABEL: func.func @dense_1x1_filter_lanes
// NOPREFETCH-NOT: memref.prefetch
// NOPREFETCH: return
// CHECK-LABEL: func.func @dense_1x1_filter_lanes
// CHECK: scf.parallel {{.*}} to (%{{.*}}, %{{.*}}, %c2)
// CHECK: scf.if
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-2: vector.load
// CHECK: memref.load
// CHECK: vector.broadcast {{.*}} : f32 to vector<8xf32>
// CHECK-COUNT-2: vector.fma
// CHECK: scf.yield
// CHECK: arith.cmpf olt
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 8, 1, 9, 2, 10, 3, 11]
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 8, 9, 2, 3, 10, 11]
// CHECK-NOT: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 8, 9, 10, 11]
// CHECK: vector.extract_strided_slice %{{.*}} {offsets = [4], sizes = [4], strides = [1]} : vector<8xf32> to vector<4xf32>
// CHECK: vector.store %{{.*}} : memref<1x16x1x9xf32>, vector<4xf32>
// CHECK: } else {
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 8, 9, 10, 11]
// CHECK: vector.maskedstore %{{.*}} : memref<1x16x1x9xf32>, vector<8xi1>, vector<8xf32>
// CHECK: return
func.func @dense_1x1_filter_lanes(%x: tensor<1x32x3x3xf32>) -> tensor<1x16x3x3xf32> {
  %w = arith.constant dense<0.5> : tensor<512xf32>
  %y = pconv.conv2d %x, %w library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<16x32xi8>
         strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu
         {pconv.tile = {rows = 5, vectors = 2, filter_lanes = 1}}
         : (tensor<1x32x3x3xf32>, tensor<512xf32>) -> tensor<1x16x3x3xf32>
  return %y : tensor<1x16x3x3xf32>
}

// -----

// A fused 2x2 max-pool on a pattern tile of whole row pairs (8x8 output,
// one 8-lane vector per row): rows paired with a max, then the even and odd
// lanes of the vector (alone: vw / 2 = 4 pooled outputs, masked) maxed and
// stored into the 4x4 pooled result; no full-resolution buffer, no pool.
// INNER-LABEL: func.func @pooled_tile
// INNER-NOT: linalg.pooling_nchw_max
// INNER: memref.alloc() {{.*}} : memref<1x2x4x4xf32>
// INNER-NOT: memref<1x2x8x8xf32>
// INNER: %[[ODD:.*]] = vector.shuffle %{{.*}} [1, 3, 5, 7, 9, 11, 13, 15]
// INNER: %[[EVEN:.*]] = vector.shuffle %{{.*}} [0, 2, 4, 6, 8, 10, 12, 14]
// INNER: %[[P:.*]] = arith.maximumf %[[EVEN]], %[[ODD]] : vector<8xf32>
// INNER: vector.maskedstore %{{.*}}[%c0, %{{.*}}, %c0, %c0], %{{.*}}, %[[P]] : memref<1x2x4x4xf32>
// INNER-NOT: linalg.pooling_nchw_max
// INNER-LABEL: func.func @pooled_pitched_split
// A 4x4 output takes the pitched form (rows of one flat grid): the pool is
// split off again and computed by linalg on the conv's full result.
// INNER: linalg.pooling_nchw_max {{.*}} ins({{.*}} : tensor<1x2x4x4xf32>, tensor<2x2xf32>)
func.func @pooled_tile(%x: tensor<1x2x8x8xf32>, %w: tensor<16xf32>) -> tensor<1x2x4x4xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
         kernels dense<[[0, 1], [1, 0]]> : tensor<2x2xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu max_pool [2, 2]
         : (tensor<1x2x8x8xf32>, tensor<16xf32>) -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}
func.func @pooled_pitched_split(%x: tensor<1x2x4x4xf32>, %w: tensor<16xf32>) -> tensor<1x2x2x2xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
         kernels dense<[[0, 1], [1, 0]]> : tensor<2x2xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu max_pool [2, 2]
         : (tensor<1x2x4x4xf32>, tensor<16xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

// A pattern conv whose result only feeds a stride-1 pattern conv writes into
// that conv's zero-padded input (8x8 at (1, 1) of 10 x 16 rows), through an
// interior view; the consumer reads the buffer without a copy of its own.
// The producer's tiles also write the halo (no fill loop runs first): after
// each output row, its left column (1 lane at column 0) and its right ones
// (columns 9-15), and the tile holding the first and last rows the padded
// rows 0 and 9.
// With write-padded=false the producer writes an 8x8 buffer and the
// consumer copies it into a padded one.
// INNER-LABEL: func.func @write_padded
// INNER: memref.alloc() {{.*}} : memref<1x2x10x16xf32>
// INNER: %[[PAD:.*]] = memref.alloc() {{.*}} : memref<1x2x10x16xf32>
// INNER-NEXT: %[[IN:.*]] = memref.subview %[[PAD]][0, 0, 1, 1] [1, 2, 8, 8] [1, 1, 1, 1]
// INNER-NEXT: scf.parallel
// INNER: vector.store %{{.*}}, %[[IN]][
// INNER-NEXT: %[[LEFT:.*]] = vector.constant_mask [1] : vector<8xi1>
// INNER-NEXT: vector.maskedstore %[[PAD]][%{{.*}}, %[[F:.*]], %c1, %c0], %[[LEFT]], %[[ZERO:.*]] :
// INNER-NEXT: %[[RIGHT:.*]] = vector.constant_mask [7] : vector<8xi1>
// INNER-NEXT: vector.maskedstore %[[PAD]][%{{.*}}, %[[F]], %c1, %c9], %[[RIGHT]], %[[ZERO]] :
// INNER-NEXT: vector.store %{{.*}}, %[[IN]][
// INNER: vector.maskedstore %[[PAD]][%{{.*}}, %[[F]], %c8, %c9], %{{.*}}, %[[ZERO]] :
// INNER-NEXT: vector.store %[[ZERO]], %[[PAD]][%{{.*}}, %[[F]], %c0, %c0]
// INNER-NEXT: vector.store %[[ZERO]], %[[PAD]][%{{.*}}, %[[F]], %c0, %c8]
// INNER-NEXT: vector.store %[[ZERO]], %[[PAD]][%{{.*}}, %[[F]], %c9, %c0]
// INNER-NEXT: vector.store %[[ZERO]], %[[PAD]][%{{.*}}, %[[F]], %c9, %c8]
// INNER: memref.expand_shape %[[PAD]]
// INNER-NOT: memref.alloc() {{.*}} : memref<1x2x10x16xf32>
// INNER: return
// COPY-LABEL: func.func @write_padded
// COPY-COUNT-2: memref.alloc() {{.*}} : memref<1x2x8x8xf32>
func.func @write_padded(%x: tensor<1x2x8x8xf32>, %w: tensor<16xf32>) -> tensor<1x2x8x8xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
         kernels dense<[[0, 1], [1, 0]]> : tensor<2x2xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         : (tensor<1x2x8x8xf32>, tensor<16xf32>) -> tensor<1x2x8x8xf32>
  %z = pconv.conv2d %y, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
         kernels dense<[[0, 1], [1, 0]]> : tensor<2x2xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x2x8x8xf32>, tensor<16xf32>) -> tensor<1x2x8x8xf32>
  return %z : tensor<1x2x8x8xf32>
}

// -----

// Constant weights are repacked in schedule order (pattern by pattern within
// a filter): channel 1 keeps pattern 0 and comes first, so its taps 5..8
// lead; a kernel's taps start at entry * taps (arith.muli by 4), and the
// weight-offset table ([4, 0]) is not emitted. Weights that are an argument
// are read through the table instead (@tile above).
// ALIGNED-LABEL: func.func @schedule_order_weights
// ALIGNED-NOT: dense<[4, 0]> : tensor<2xi32>
// ALIGNED: arith.constant dense<[5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<8xf32>
// ALIGNED-NOT: dense<[4, 0]> : tensor<2xi32>
// ALIGNED: scf.for %[[ENTRY:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// ALIGNED: arith.muli %[[ENTRY]], %{{.*}} : index
// ALIGNED: vector.fma
// ALIGNED: return
func.func @schedule_order_weights(%x: tensor<1x2x6x6xf32>) -> tensor<1x1x6x6xf32> {
  %w = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [0, 1, 2, 4]]>
         kernels dense<[[1, 0]]> : tensor<1x2xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x2x6x6xf32>, tensor<8xf32>) -> tensor<1x1x6x6xf32>
  return %y : tensor<1x1x6x6xf32>
}

// -----

// Dense convs write into their consumer's zero-padded input too, whether
// the consumer is dense (it reads the same row form) or a pattern conv: the
// first conv copies the function's input into a padded buffer, the other
// two read the buffers their producers wrote (8x24 at (1, 1) of 10 x 32);
// the only unpadded buffer is the last conv's result.
// With write-padded=false each conv writes an 8x24 buffer and its consumer
// copies it into a padded one.
// INNER-LABEL: func.func @write_padded_dense
// INNER: memref.alloc() {{.*}} : memref<1x2x10x32xf32>
// INNER: %[[PAD1:.*]] = memref.alloc() {{.*}} : memref<1x2x10x32xf32>
// INNER: %[[IN1:.*]] = memref.subview %[[PAD1]][0, 0, 1, 1] [1, 2, 8, 24] [1, 1, 1, 1]
// INNER: vector.store %{{.*}}, %[[IN1]][
// INNER: memref.expand_shape %[[PAD1]]
// INNER: %[[PAD2:.*]] = memref.alloc() {{.*}} : memref<1x2x10x32xf32>
// INNER: %[[IN2:.*]] = memref.subview %[[PAD2]][0, 0, 1, 1] [1, 2, 8, 24] [1, 1, 1, 1]
// INNER: vector.store %{{.*}}, %[[IN2]][
// INNER: memref.expand_shape %[[PAD2]]
// INNER-NOT: memref.alloc() {{.*}} : memref<1x2x10x32xf32>
// INNER: memref.alloc() {{.*}} : memref<1x2x8x24xf32>
// INNER-NOT: memref.alloc()
// INNER: return
// COPY-LABEL: func.func @write_padded_dense
// COPY-COUNT-3: memref.alloc() {{.*}} : memref<1x2x8x24xf32>
func.func @write_padded_dense(%x: tensor<1x2x8x24xf32>, %w: tensor<16xf32>) -> tensor<1x2x8x24xf32> {
  %wd = arith.constant dense<0.5> : tensor<36xf32>
  %y = pconv.conv2d %x, %wd library #pconv.patterns<3x3, taps = 9, [[0, 1, 2, 3, 4, 5, 6, 7, 8]]>
         kernels dense<0> : tensor<2x2xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         : (tensor<1x2x8x24xf32>, tensor<36xf32>) -> tensor<1x2x8x24xf32>
  %z = pconv.conv2d %y, %wd library #pconv.patterns<3x3, taps = 9, [[0, 1, 2, 3, 4, 5, 6, 7, 8]]>
         kernels dense<0> : tensor<2x2xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         : (tensor<1x2x8x24xf32>, tensor<36xf32>) -> tensor<1x2x8x24xf32>
  %v = pconv.conv2d %z, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
         kernels dense<[[0, 1], [1, 0]]> : tensor<2x2xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x2x8x24xf32>, tensor<16xf32>) -> tensor<1x2x8x24xf32>
  return %v : tensor<1x2x8x24xf32>
}

// -----

// A residual block's output (%y) feeds the next conv as its input and the
// conv after that as its residual: %y is written into the next conv's
// zero-padded input, and the residual is read from that buffer's interior
// (a strided view) instead of a copy of it.
// INNER-LABEL: func.func @write_padded_residual
// INNER: memref.alloc() {{.*}} : memref<1x2x10x16xf32>
// INNER: %[[PAD:.*]] = memref.alloc() {{.*}} : memref<1x2x10x16xf32>
// INNER: %[[IN:.*]] = memref.subview %[[PAD]][0, 0, 1, 1] [1, 2, 8, 8] [1, 1, 1, 1]
// INNER: vector.store %{{.*}}, %[[IN]][
// INNER: memref.expand_shape %[[PAD]]
// INNER-NOT: memref.copy
// INNER: vector.load %[[IN]][
// INNER: return
// COPY-LABEL: func.func @write_padded_residual
// COPY-COUNT-3: memref.alloc() {{.*}} : memref<1x2x8x8xf32>
func.func @write_padded_residual(%x: tensor<1x2x8x8xf32>, %w: tensor<16xf32>) -> tensor<1x2x8x8xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
         kernels dense<[[0, 1], [1, 0]]> : tensor<2x2xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         : (tensor<1x2x8x8xf32>, tensor<16xf32>) -> tensor<1x2x8x8xf32>
  %z = pconv.conv2d %y, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
         kernels dense<[[0, 1], [1, 0]]> : tensor<2x2xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         : (tensor<1x2x8x8xf32>, tensor<16xf32>) -> tensor<1x2x8x8xf32>
  %r = pconv.conv2d %z, %w residual(%y) library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
         kernels dense<[[0, 1], [1, 0]]> : tensor<2x2xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         : (tensor<1x2x8x8xf32>, tensor<16xf32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  return %r : tensor<1x2x8x8xf32>
}

// -----

// Kept weights of at least half `row-block-bytes` (here 4 kernels x 4 taps
// = 64 bytes of 128) come from memory on every call, one stream in schedule
// order: each kernel prefetches the weights and the channel table 1 KiB
// ahead (clamped to the last of the 4 entries). Below that (the default
// 1 MiB), no weight prefetches.
// STREAM-LABEL: func.func @weight_stream
// STREAM: scf.for %[[E:[a-z0-9]+]] = {{.*}} -> (vector<8xf32>
// STREAM: %[[W:.*]] = arith.addi %[[E]], %c64 : index
// STREAM: %[[WC:.*]] = arith.minui %[[W]], %c3{{.*}} : index
// STREAM: %[[WO:.*]] = arith.muli %[[WC]], %c4{{.*}} : index
// STREAM: memref.prefetch %{{.*}}[%[[WO]]], read, locality<3>, data : memref<16xf32>
// STREAM: %[[C:.*]] = arith.addi %[[E]], %c256 : index
// STREAM: %[[CC:.*]] = arith.minui %[[C]], %c3{{.*}} : index
// STREAM: memref.prefetch %{{.*}}[%[[CC]]], read, locality<3>, data : memref<4xi32>
// STREAM: vector.fma
// PREFETCH-LABEL: func.func @weight_stream
// PREFETCH-NOT: memref.prefetch %{{.*}}[%{{.*}}], read, locality<3>, data : memref<16xf32>
// PREFETCH: return
func.func @weight_stream(%x: tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32> {
  %w = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]> : tensor<16xf32>
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
         kernels dense<[[0, 1], [1, 0]]> : tensor<2x2xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         : (tensor<1x2x8x8xf32>, tensor<16xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}
