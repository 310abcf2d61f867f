// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-lower-to-loops))' | FileCheck %s

// Filter 0 keeps patterns 1 and 0, filter 1 keeps pattern 0 once. The
// schedule lists, per (filter, pattern), the kept kernels' channel and weight
// offset; each used pattern gets its own loop with straight-line tap code
// (4 weight loads, 4 input loads, 4 mul/add), and nothing multiplies by a
// mask or branches on the pattern id.
// CHECK-LABEL: func.func @two_patterns
// The zero-padded input copy is vectorized, its rows widened to whole vectors.
// CHECK: %[[PADDED:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x2x8x16xf32>
// CHECK: scf.parallel
// CHECK: vector.transfer_read
// CHECK: vector.store
// CHECK: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x2x6x6xf32>
// CHECK-DAG: %[[ROWPTR:.*]] = arith.constant dense<[0, 1, 2, 3, 3]> : tensor<5xi32>
// CHECK-DAG: %[[CHAN:.*]] = arith.constant dense<[1, 0, 0]> : tensor<3xi32>
// CHECK-DAG: %[[WOFF:.*]] = arith.constant dense<[4, 0, 8]> : tensor<3xi32>
// CHECK: scf.parallel (%[[N:.*]], %[[F:.*]]) =
// CHECK:   memref.load %{{.*}}[%[[F]]] : memref<2xf32>
// CHECK:   scf.for
// CHECK:   scf.for %[[E:.*]] = %{{.*}} to %{{.*}}
// CHECK-COUNT-4: memref.load %{{.*}} : memref<12xf32>
// CHECK:     scf.for
// CHECK:       scf.for
// CHECK-COUNT-4: arith.mulf
// CHECK:   scf.for %{{.*}} = %{{.*}} to %{{.*}}
// CHECK-COUNT-4: memref.load %{{.*}} : memref<12xf32>
// CHECK-NOT: arith.select
// CHECK-NOT: scf.if
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
func.func @two_patterns(%x: tensor<1x2x6x6xf32>, %w: tensor<12xf32>, %b: tensor<2xf32>) -> tensor<1x2x6x6xf32> {
  %y = pconv.conv2d %x, %w bias(%b)
         library #pconv.patterns<3x3, taps = 4, [[3, 4, 5, 7], [1, 3, 4, 5]]>
         kernels dense<[[1, 0], [0, -1]]> : tensor<2x2xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x2x6x6xf32>, tensor<12xf32>, tensor<2xf32>) -> tensor<1x2x6x6xf32>
  return %y : tensor<1x2x6x6xf32>
}

// -----

// All kernels pruned: the output is only initialised (zero, no bias), no
// schedule and no weight access are emitted, and no padded copy is needed.
// CHECK-LABEL: func.func @all_pruned
// CHECK-NOT: tensor<{{.*}}xi32>
// CHECK-NOT: memref<0xf32>
// CHECK: scf.parallel
// CHECK: memref.store
// CHECK-NOT: arith.mulf
// CHECK: bufferization.to_tensor
func.func @all_pruned(%x: tensor<1x2x5x5xf32>, %w: tensor<0xf32>) -> tensor<1x3x3x3xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 1, [[4]]>
         kernels dense<-1> : tensor<3x2xi8>
         strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x2x5x5xf32>, tensor<0xf32>) -> tensor<1x3x3x3xf32>
  return %y : tensor<1x3x3x3xf32>
}

// -----

// The reference lowering computes a fused max-pool as the pooling op it
// was: the conv's full 4x4 result, then linalg's 2x2 / 2 max (-inf init).
// CHECK-LABEL: func.func @max_pool
// CHECK: memref.alloc() {{.*}} : memref<1x1x4x4xf32>
// CHECK: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[NINF]] : f32) {{.*}} -> tensor<1x1x2x2xf32>
// CHECK: %[[P:.*]] = linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%{{.*}}, %{{.*}} : tensor<1x1x4x4xf32>, tensor<2x2xf32>) outs(%[[INIT]] : tensor<1x1x2x2xf32>)
// CHECK: return %[[P]]
func.func @max_pool(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x2x2xf32> {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu max_pool [2, 2]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x2x2xf32>
  return %y : tensor<1x1x2x2xf32>
}
