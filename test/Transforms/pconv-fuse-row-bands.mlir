// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-fuse-row-bands{band-rows=4 min-bytes=0}))' | FileCheck %s
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-fuse-row-bands{band-rows=0 min-bytes=0}))' | FileCheck %s --check-prefix=OFF
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-fuse-row-bands{band-rows=4}))' | FileCheck %s --check-prefix=SMALL
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-fuse-row-bands{band-rows=4 min-bytes=0 max-bytes=1000}))' | FileCheck %s --check-prefix=MAXB
// RUN: not pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-fuse-row-bands{band-rows=1 min-bytes=0}))' 2>&1 | FileCheck %s --check-prefix=BAD

// Two 3x3 convs over 16 rows, the second pooling 2x2: bands of 4 output
// rows. The first band reads input rows [0, 6) with the top padding and
// computes 5 rows of the first conv (one halo row below); the middle bands
// (an scf.for from row 4 to 12) read rows [r0 - 2, r0 + 6) without row
// padding and compute 6; the last reads [10, 16) with the bottom padding.
// Every band conv has its own copy of the weights; each band's 2 pooled
// rows are inserted at r0 / 2 (computed first, before the band's convs, so
// that after bufferization the last conv can write the full map's view).
// CHECK-LABEL: func.func @pair
// CHECK: %[[E:.*]] = tensor.empty() : tensor<1x2x8x6xf32>
// CHECK: %[[S0:.*]] = tensor.extract_slice %arg0[0, 0, 0, 0] [1, 1, 6, 12] [1, 1, 1, 1]
// CHECK: %[[WA0:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00]>
// CHECK: %[[A0:.*]] = pconv.conv2d %[[S0]], %[[WA0]] {{.*}} padding [1, 1, 0, 1] {{.*}} relu : {{.*}} -> tensor<1x2x5x12xf32>
// CHECK: %[[B0:.*]] = pconv.conv2d %[[A0]], %{{.*}} padding [1, 1, 0, 1] {{.*}} relu max_pool [2, 2] : {{.*}} -> tensor<1x2x2x6xf32>
// CHECK: %[[I0:.*]] = tensor.insert_slice %[[B0]] into %[[E]][0, 0, 0, 0] [1, 2, 2, 6] [1, 1, 1, 1]
// CHECK: %[[L:.*]] = scf.for %[[R:.*]] = %c4{{.*}} to %c12 step %c4{{.*}} iter_args(%[[ACC:.*]] = %[[I0]])
// CHECK:   %[[POOLED:.*]] = arith.divui %[[R]], %{{.*}}
// CHECK:   %[[ROW:.*]] = arith.addi %[[R]], %{{.*}}
// CHECK:   tensor.extract_slice %arg0[0, 0, %[[ROW]], 0] [1, 1, 8, 12] [1, 1, 1, 1]
// CHECK:   pconv.conv2d {{.*}} padding [0, 1, 0, 1] {{.*}} -> tensor<1x2x6x12xf32>
// CHECK:   pconv.conv2d {{.*}} padding [0, 1, 0, 1] {{.*}} max_pool [2, 2] : {{.*}} -> tensor<1x2x2x6xf32>
// CHECK:   tensor.insert_slice %{{.*}} into %[[ACC]][0, 0, %[[POOLED]], 0] [1, 2, 2, 6]
// CHECK:   scf.yield
// CHECK: tensor.extract_slice %arg0[0, 0, 10, 0] [1, 1, 6, 12]
// CHECK: pconv.conv2d {{.*}} padding [0, 1, 1, 1] {{.*}} -> tensor<1x2x5x12xf32>
// CHECK: pconv.conv2d {{.*}} padding [0, 1, 1, 1] {{.*}} -> tensor<1x2x2x6xf32>
// CHECK: %[[LAST:.*]] = tensor.insert_slice %{{.*}} into %[[L]][0, 0, 6, 0] [1, 2, 2, 6]
// CHECK: return %[[LAST]]
// CHECK-NOT: pconv.conv2d
// OFF-LABEL: func.func @pair
// OFF-NOT: scf.for
// SMALL-LABEL: func.func @pair
// SMALL-NOT: scf.for
// BAD: band-rows must be 0 (off) or at least 2, got 1
func.func @pair(%x: tensor<1x1x16x12xf32>) -> tensor<1x2x8x6xf32> {
  %w1 = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>
  %b1 = arith.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %y = pconv.conv2d %x, %w1 bias(%b1) library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [0, 1, 3, 4]]>
         kernels dense<[[0], [1]]> : tensor<2x1xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         : (tensor<1x1x16x12xf32>, tensor<8xf32>, tensor<2xf32>) -> tensor<1x2x16x12xf32>
  %w2 = arith.constant dense<[1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0]> : tensor<8xf32>
  %z = pconv.conv2d %y, %w2 library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [0, 1, 3, 4]]>
         kernels dense<[[0, -1], [-1, 1]]> : tensor<2x2xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu max_pool [2, 2]
         : (tensor<1x2x16x12xf32>, tensor<8xf32>) -> tensor<1x2x8x6xf32>
  return %z : tensor<1x2x8x6xf32>
}

// -----

// A MobileNet-V2 block: 1x1 expansion -> stride-2 depthwise 3x3 -> 1x1
// projection with a residual, in bands of 4 projected rows (of 16). Band 0
// reads input rows [0, 8): the depthwise conv takes its top padding row.
// Bands 1-3 are interior (at stride 2 the depthwise conv's last window ends
// at the last row: no bottom padding), so the loop runs r = 4, 8, 12; the
// expansion reads input rows [2r - 1, 2r + 8), the residual rows [r, r + 4).
// CHECK-LABEL: func.func @block
// CHECK: tensor.extract_slice %arg0[0, 0, 0, 0] [1, 2, 8, 8]
// CHECK: pconv.conv2d {{.*}} padding [0, 0, 0, 0] {{.*}} -> tensor<1x4x8x8xf32>
// CHECK: pconv.conv2d {{.*}} strides [2, 2] padding [1, 1, 0, 1] {{.*}} -> tensor<1x4x4x4xf32>
// CHECK: %[[RES0:.*]] = tensor.extract_slice %arg1[0, 0, 0, 0] [1, 2, 4, 4]
// CHECK: pconv.conv2d %{{.*}}, %{{.*}} residual(%[[RES0]]) {{.*}} -> tensor<1x2x4x4xf32>
// CHECK: scf.for %[[R:.*]] = %c4{{.*}} to %c16 step %c4
// CHECK:   %[[TWICE:.*]] = arith.muli %[[R]], %c2
// CHECK:   %[[ROW:.*]] = arith.addi %[[TWICE]], %c-1
// CHECK:   tensor.extract_slice %arg0[0, 0, %[[ROW]], 0] [1, 2, 9, 8]
// CHECK:   pconv.conv2d {{.*}} -> tensor<1x4x9x8xf32>
// CHECK:   pconv.conv2d {{.*}} strides [2, 2] padding [0, 1, 0, 1] {{.*}} -> tensor<1x4x4x4xf32>
// CHECK:   %[[RES:.*]] = tensor.extract_slice %arg1[0, 0, %[[R]], 0] [1, 2, 4, 4]
// CHECK:   pconv.conv2d %{{.*}}, %{{.*}} residual(%[[RES]]) {{.*}} -> tensor<1x2x4x4xf32>
// CHECK:   tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, %[[R]], 0] [1, 2, 4, 4]
// CHECK-NOT: pconv.conv2d
// CHECK: return
// With max-bytes=1000 a band of 4 rows (the expansion's 4 x 9 x 8 floats,
// 1152 bytes) is too large: bands of 3 rows, the expansion reading 7 rows.
// MAXB-LABEL: func.func @block
// MAXB: scf.for %{{.*}} = %c3{{.*}} to %c15 step %c3
// MAXB: tensor.extract_slice %arg0[0, 0, %{{.*}}, 0] [1, 2, 7, 8]
func.func @block(%x: tensor<1x2x32x8xf32>, %s: tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32> {
  %we = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>
  %e = pconv.conv2d %x, %we library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<4x2xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu
         : (tensor<1x2x32x8xf32>, tensor<8xf32>) -> tensor<1x4x32x8xf32>
  %wd = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0]> : tensor<16xf32>
  %d = pconv.conv2d %e, %wd library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[0, -1, -1, -1], [-1, 0, -1, -1], [-1, -1, 0, -1], [-1, -1, -1, 0]]> : tensor<4x4xi8>
         strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1] relu
         : (tensor<1x4x32x8xf32>, tensor<16xf32>) -> tensor<1x4x16x4xf32>
  %wp = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>
  %p = pconv.conv2d %d, %wp residual(%s) library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<2x4xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x4x16x4xf32>, tensor<8xf32>, tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32>
  return %p : tensor<1x2x16x4xf32>
}

// -----

// Not fused: the first conv's result is also returned; a dilated consumer;
// too few bands (4 rows: two bands of 2 at most).
// CHECK-LABEL: func.func @kept
// CHECK-NOT: scf.for
// CHECK: return
func.func @kept(%x: tensor<1x1x12x12xf32>, %x8: tensor<1x1x4x4xf32>)
    -> (tensor<1x1x12x12xf32>, tensor<1x1x12x12xf32>, tensor<1x1x6x6xf32>, tensor<1x1x4x4xf32>) {
  %w = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[0]]> : tensor<1x1xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x1x12x12xf32>, tensor<4xf32>) -> tensor<1x1x12x12xf32>
  %z = pconv.conv2d %y, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[0]]> : tensor<1x1xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x1x12x12xf32>, tensor<4xf32>) -> tensor<1x1x12x12xf32>
  %u = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[0]]> : tensor<1x1xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x1x12x12xf32>, tensor<4xf32>) -> tensor<1x1x12x12xf32>
  %v = pconv.conv2d %u, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[0]]> : tensor<1x1xi8> strides [2, 2] padding [2, 2, 2, 2] dilations [2, 2]
         : (tensor<1x1x12x12xf32>, tensor<4xf32>) -> tensor<1x1x6x6xf32>
  %a = pconv.conv2d %x8, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[0]]> : tensor<1x1xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x1x4x4xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  %b = pconv.conv2d %a, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<[[0]]> : tensor<1x1xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x1x4x4xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  return %y, %z, %v, %b : tensor<1x1x12x12xf32>, tensor<1x1x12x12xf32>, tensor<1x1x6x6xf32>, tensor<1x1x4x4xf32>
}
