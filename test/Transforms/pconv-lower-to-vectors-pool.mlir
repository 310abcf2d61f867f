// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-vectors{vector-width=8}))' | FileCheck %s

// A dense conv with ResNet's 3x3 / 2 max-pool (padding 1) in its epilogue:
// tasks of one filter block walk the map down, each register tile is stored
// into a scratch of R + 1 rows (row 0 carried from the previous block,
// column 0 the pool's -inf padding), then pooled rows are the max of three
// scratch rows and of even / odd lane shuffles, stored straight into the
// 8x8 result. No full-resolution map, no padded copy of it, no pooling op.
// CHECK-LABEL: func.func @stem_pool
// CHECK: %[[OUT:.*]] = memref.alloc() {{.*}} : memref<1x2x8x8xf32>
// CHECK: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: scf.parallel
// 2 filters x (8 rows + the carried one) x 32 columns.
// CHECK: %[[S:.*]] = memref.alloc() {{.*}} : memref<1x2x9x32xf32>
// CHECK: memref.store %[[NINF]], %[[S]]
// CHECK: scf.for
// CHECK: scf.for
// CHECK: vector.fma
// CHECK: vector.store {{.*}} : memref<1x2x8x31xf32, strided<[576, 288, 32, 1], offset: 33>>, vector<8xf32>
// CHECK: arith.maximumf
// CHECK: vector.shuffle {{.*}} [0, 2, 4, 6, 8, 10, 12, 14]
// CHECK: vector.shuffle {{.*}} [1, 3, 5, 7, 9, 11, 13, 15]
// CHECK: vector.store {{.*}}, %[[OUT]]{{.*}} : memref<1x2x8x8xf32>, vector<8xf32>
// CHECK-NOT: linalg.pooling_nchw_max
// CHECK-NOT: tensor.pad
// CHECK: return
func.func @stem_pool(%x: tensor<1x1x16x16xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  %w0 = arith.constant dense<[0.5, -1.0, 0.25, 1.0, 2.0, -0.5, 0.75, 1.5, -2.0, 1.0, 0.5, -0.25, 0.125, 1.0, -1.0, 0.5, 2.0, -0.75]> : tensor<18xf32>
  %y = pconv.conv2d %x, %w0 bias(%b) library #pconv.patterns<3x3, taps = 9, [[0, 1, 2, 3, 4, 5, 6, 7, 8]]>
         kernels dense<0> : tensor<2x1xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         max_pool [3, 3] pool_strides [2, 2] pool_padding [1, 1, 1, 1]
         : (tensor<1x1x16x16xf32>, tensor<18xf32>, tensor<2xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

// Where the epilogue does not apply (here an odd conv output, 15x15), the
// pool is split off again: the conv, a -inf pad and a strided pooling op.
// CHECK-LABEL: func.func @odd_map
// CHECK: tensor.pad
// CHECK: linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} {{.*}} -> tensor<1x2x8x8xf32>
func.func @odd_map(%x: tensor<1x1x15x15xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  %w0 = arith.constant dense<[0.5, -1.0, 0.25, 1.0, 2.0, -0.5, 0.75, 1.5, -2.0, 1.0, 0.5, -0.25, 0.125, 1.0, -1.0, 0.5, 2.0, -0.75]> : tensor<18xf32>
  %y = pconv.conv2d %x, %w0 bias(%b) library #pconv.patterns<3x3, taps = 9, [[0, 1, 2, 3, 4, 5, 6, 7, 8]]>
         kernels dense<0> : tensor<2x1xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         max_pool [3, 3] pool_strides [2, 2] pool_padding [1, 1, 1, 1]
         : (tensor<1x1x15x15xf32>, tensor<18xf32>, tensor<2xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}
