// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8},canonicalize))' | FileCheck %s
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8 cache-bytes=400},canonicalize))' | FileCheck %s --check-prefix=BLOCKS

// A conv's residual operand is added to the tile's accumulators after the
// loops over its kernels: the accumulators start from the bias, and the
// residual's tile is loaded only once the FMAs are done (loaded first, a
// residual tile not in L1 held up every FMA chain of the tile).

// CHECK-LABEL: func.func @pattern_residual
// CHECK: %[[RES:.*]] = bufferization.to_buffer %arg2 read_only
// CHECK: %[[BIAS:.*]] = vector.broadcast
// CHECK-NOT: vector.load %[[RES]]
// CHECK: scf.for {{.*}} iter_args(%{{[^ ]*}} = %[[BIAS]],
// CHECK-NOT: vector.load %[[RES]]
// CHECK: %[[SUMS:.*]]:8 = scf.for
// CHECK-NOT: vector.load %[[RES]]
// CHECK: scf.yield
// CHECK: %[[R0:.*]] = vector.load %[[RES]][
// CHECK: arith.addf %[[SUMS]]#0, %[[R0]]
// CHECK: vector.store

// With channel blocks, the residual is added in the last block only.
// BLOCKS-LABEL: func.func @pattern_residual
// BLOCKS: %[[RES:.*]] = bufferization.to_buffer %arg2 read_only
// BLOCKS: scf.for %[[BLOCK:[^ ]*]] = %c0 to %c2
// BLOCKS: %[[LAST:.*]] = arith.cmpi eq, %[[BLOCK]], %c1
// BLOCKS: scf.if %[[LAST]]
// BLOCKS: vector.load %[[RES]][
// BLOCKS: arith.addf
// BLOCKS: scf.yield
// BLOCKS: } else {
// BLOCKS-NEXT: scf.yield
func.func @pattern_residual(%x: tensor<1x2x8x8xf32>, %w: tensor<16xf32>, %r: tensor<1x2x8x8xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  %y = pconv.conv2d %x, %w bias(%b) residual(%r) library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
         kernels dense<[[0, 1], [1, 0]]> : tensor<2x2xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         : (tensor<1x2x8x8xf32>, tensor<16xf32>, tensor<2xf32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

// CHECK-LABEL: func.func @dense_residual
// CHECK: %[[RES:.*]] = bufferization.to_buffer %arg2 read_only
// CHECK: %[[FLAT:.*]] = memref.collapse_shape %[[RES]]
// CHECK: %[[RESV:.*]] = memref.expand_shape %[[FLAT]]
// CHECK: %[[BIAS:.*]] = vector.broadcast
// CHECK-NOT: %[[RESV]][
// CHECK: %[[SUMS:.*]]:20 = scf.for {{.*}} iter_args(%{{[^ ]*}} = %[[BIAS]],
// CHECK-NOT: %[[RESV]][
// CHECK: scf.yield
// CHECK: %[[R0:.*]] = vector.load %[[RESV]][
// CHECK: arith.addf %[[SUMS]]#0, %[[R0]]
// CHECK: vector.store
func.func @dense_residual(%x: tensor<1x8x5x7xf32>, %b: tensor<16xf32>, %r: tensor<1x16x5x7xf32>) -> tensor<1x16x5x7xf32> {
  %w = arith.constant dense<0.5> : tensor<128xf32>
  %y = pconv.conv2d %x, %w bias(%b) residual(%r) library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<16x8xi8>
         strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu
         : (tensor<1x8x5x7xf32>, tensor<128xf32>, tensor<16xf32>, tensor<1x16x5x7xf32>) -> tensor<1x16x5x7xf32>
  return %y : tensor<1x16x5x7xf32>
}
