// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8 streaming-bytes=1024}))' | FileCheck %s
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8}))' | FileCheck %s --check-prefix=DEFAULT
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8 streaming-bytes=0}))' | FileCheck %s --check-prefix=OFF
// RUN: not pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8 streaming-bytes=-1}))' 2>&1 | FileCheck %s --check-prefix=NEGATIVE

// Streaming (non-temporal) stores: a result that the function returns (and
// nothing else reads), of at least `streaming-bytes`, whose rows are whole
// vectors (16 columns of 8 lanes) stores each whole
// tile vector with a non-temporal, vector-aligned store when its buffer's
// first element is vector-aligned (32 bytes for 8 lanes), checked once per
// op at run time; a plain store otherwise.
// CHECK-LABEL: func.func @pattern_rows
// CHECK: %[[BASE:.*]] = memref.extract_aligned_pointer_as_index %[[OUT:.*]] : memref<1x2x16x16xf32> -> index
// CHECK: %[[MIS:.*]] = arith.remui %{{.*}}, %c32
// CHECK: %[[ALIGNED:.*]] = arith.cmpi eq, %[[MIS]], %c0
// CHECK: scf.parallel
// CHECK: scf.if %[[ALIGNED]] {
// CHECK-NEXT: vector.store %{{.*}}, %[[OUT]][{{.*}}] {alignment = 32 : i64, nontemporal = true} : memref<1x2x16x16xf32>, vector<8xf32>
// CHECK-NEXT: } else {
// CHECK-NEXT: vector.store %{{.*}}, %[[OUT]][{{.*}}] : memref<1x2x16x16xf32>, vector<8xf32>
// DEFAULT-LABEL: func.func @pattern_rows
// DEFAULT-NOT: nontemporal
// DEFAULT: return
// OFF-LABEL: func.func @pattern_rows
// OFF-NOT: extract_aligned_pointer
// OFF-NOT: nontemporal
// OFF: return
// NEGATIVE: error: pconv-lower-to-vectors: streaming-bytes must be 0 (off) or positive, got -1
func.func @pattern_rows(%x: tensor<1x2x16x16xf32>, %w: tensor<16xf32>) -> tensor<1x2x16x16xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<2x2xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         : (tensor<1x2x16x16xf32>, tensor<16xf32>) -> tensor<1x2x16x16xf32>
  return %y : tensor<1x2x16x16xf32>
}

// -----

// A dense 1x1 conv on the flat row of H x W pixels streams the same way.
// CHECK-LABEL: func.func @dense_flat
// CHECK: memref.extract_aligned_pointer_as_index
// CHECK: vector.store {{.*}} {alignment = 32 : i64, nontemporal = true}
func.func @dense_flat(%x: tensor<1x8x16x16xf32>, %b: tensor<16xf32>) -> tensor<1x16x16x16xf32> {
  %w = arith.constant dense<0.5> : tensor<128xf32>
  %y = pconv.conv2d %x, %w bias(%b) library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<16x8xi8>
         strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu
         : (tensor<1x8x16x16xf32>, tensor<128xf32>, tensor<16xf32>) -> tensor<1x16x16x16xf32>
  return %y : tensor<1x16x16x16xf32>
}

// -----

// Rows of 12 columns are not whole 8-lane vectors: never streamed.
// CHECK-LABEL: func.func @ragged_rows
// CHECK-NOT: nontemporal
// CHECK: return
func.func @ragged_rows(%x: tensor<1x2x12x12xf32>, %w: tensor<16xf32>) -> tensor<1x2x12x12xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<2x2xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x2x12x12xf32>, tensor<16xf32>) -> tensor<1x2x12x12xf32>
  return %y : tensor<1x2x12x12xf32>
}

// -----

// A result that the next conv reads is not streamed (it is read from the
// cache it stays in); the returned one is.
// CHECK-LABEL: func.func @chain
// CHECK-NOT: extract_aligned_pointer_as_index {{.*}} memref<1x2x16x16xf32>
// CHECK: extract_aligned_pointer_as_index {{.*}} memref<1x3x16x16xf32>
// CHECK: return
func.func @chain(%x: tensor<1x2x16x16xf32>, %w: tensor<16xf32>, %w2: tensor<24xf32>) -> tensor<1x3x16x16xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<2x2xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         : (tensor<1x2x16x16xf32>, tensor<16xf32>) -> tensor<1x2x16x16xf32>
  %z = pconv.conv2d %y, %w2 library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<3x2xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x2x16x16xf32>, tensor<24xf32>) -> tensor<1x3x16x16xf32>
  return %z : tensor<1x3x16x16xf32>
}
