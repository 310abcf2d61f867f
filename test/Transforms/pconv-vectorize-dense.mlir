// RUN: pconv-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(pconv-vectorize-dense{vector-width=16 min-parallel-elements=64}))' | FileCheck %s
// RUN: pconv-opt %s --pass-pipeline='builtin.module(func.func(pconv-vectorize-dense{vector-width=8 min-parallel-elements=64}))' --mlir-pass-statistics 2>&1 >/dev/null | FileCheck %s --check-prefix=STATS

// Residual add + ReLU on contiguous buffers: all four loops collapse into
// one dimension of 2*3*17 = 102 elements, 6 full vectors and a masked tail.
// CHECK-LABEL: func.func @add_relu
// CHECK: memref.collapse_shape %{{.*}} {{\[\[}}0, 1, 2]] : memref<2x3x17xf32> into memref<102xf32>
// CHECK: scf.for %[[I:.*]] = %c0 to %c96 step %c16
// CHECK:   vector.load {{.*}}[%[[I]]] : memref<102xf32>, vector<16xf32>
// CHECK:   arith.addf {{.*}} : vector<16xf32>
// CHECK:   arith.cmpf ugt, {{.*}} : vector<16xf32>
// CHECK:   arith.select {{.*}} : vector<16xi1>, vector<16xf32>
// CHECK:   vector.store
// CHECK: vector.constant_mask [6] : vector<16xi1>
// CHECK: vector.maskedload
// CHECK: vector.maskedstore
// CHECK-NOT: linalg.generic
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @add_relu(%a: memref<2x3x17xf32>, %b: memref<2x3x17xf32>, %out: memref<2x3x17xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%a, %b : memref<2x3x17xf32>, memref<2x3x17xf32>) outs(%out : memref<2x3x17xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %c = arith.cmpf ugt, %s, %zero : f32
    %r = arith.select %c, %s, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Per-channel bias broadcast: (H, W) collapse, the bias is loaded once per
// (n, c) and splat; (n, c) is the parallel space.
// CHECK-LABEL: func.func @bias_broadcast
// CHECK: scf.parallel (%[[N:.*]], %[[C:.*]]) =
// CHECK:   %[[S:.*]] = memref.load %{{.*}}[%[[C]]] : memref<8xf32>
// CHECK:   vector.broadcast %[[S]] : f32 to vector<16xf32>
// CHECK:   scf.for
// CHECK:     vector.store {{.*}}[%[[N]], %[[C]], %{{.*}}] : memref<1x8x25xf32>, vector<16xf32>
// CHECK:   vector.maskedstore {{.*}}[%[[N]], %[[C]], %c16{{.*}}]
func.func @bias_broadcast(%bias: memref<8xf32>, %out: memref<1x8x5x5xf32>) {
  linalg.broadcast ins(%bias : memref<8xf32>) outs(%out : memref<1x8x5x5xf32>) dimensions = [0, 2, 3]
  return
}

// -----

// A write into the interior of a padded buffer: only the row is contiguous.
// CHECK-LABEL: func.func @copy_into_padded
// CHECK: scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) =
// CHECK:   vector.maskedload {{.*}} : memref<1x4x6x6xf32>, vector<16xi1>, vector<16xf32> into vector<16xf32>
// CHECK:   vector.maskedstore {{.*}} : memref<1x4x6x6xf32, strided<[256, 64, 8, 1], offset: 9>>, vector<16xi1>, vector<16xf32>
func.func @copy_into_padded(%in: memref<1x4x6x6xf32>, %padded: memref<1x4x8x8xf32>) {
  %cst = arith.constant 0xFF800000 : f32
  linalg.fill ins(%cst : f32) outs(%padded : memref<1x4x8x8xf32>)
  %interior = memref.subview %padded[0, 0, 1, 1] [1, 4, 6, 6] [1, 1, 1, 1]
      : memref<1x4x8x8xf32> to memref<1x4x6x6xf32, strided<[256, 64, 8, 1], offset: 9>>
  linalg.copy ins(%in : memref<1x4x6x6xf32>) outs(%interior : memref<1x4x6x6xf32, strided<[256, 64, 8, 1], offset: 9>>)
  return
}

// -----

// tensor.pad's bufferized form: the fill only writes the border (row 0, the
// left and right columns of rows 1-6, row 7), the interior is the copy's.
// CHECK-LABEL: func.func @pad_border
// CHECK: %[[P:.*]] = memref.alloc() : memref<1x4x8x8xf32>
// CHECK: scf.parallel (%[[N:.*]], %[[C:.*]]) =
// CHECK:   scf.for %[[R0:.*]] = %c0{{.*}} to %c1{{.*}} step
// CHECK:     vector.maskedstore %[[P]][%[[N]], %[[C]], %[[R0]], %c0{{.*}}], {{.*}} : memref<1x4x8x8xf32>, vector<16xi1>, vector<16xf32>
// CHECK:   scf.for %[[R1:.*]] = %c1{{.*}} to %c7 step
// CHECK:     vector.constant_mask [1]
// CHECK:     vector.maskedstore %[[P]][%[[N]], %[[C]], %[[R1]], %c0{{.*}}]
// CHECK:     vector.constant_mask [1]
// CHECK:     vector.maskedstore %[[P]][%[[N]], %[[C]], %[[R1]], %c7{{.*}}]
// CHECK:   scf.for %{{.*}} = %c7{{.*}} to %c8 step
// CHECK: memref.subview %[[P]][0, 0, 1, 1] [1, 4, 6, 6] [1, 1, 1, 1]
// CHECK-NOT: linalg.
func.func @pad_border(%in: memref<1x4x6x6xf32>, %out: memref<1x4x3x3xf32>) {
  %cst = arith.constant 0xFF800000 : f32
  %padded = memref.alloc() : memref<1x4x8x8xf32>
  linalg.fill ins(%cst : f32) outs(%padded : memref<1x4x8x8xf32>)
  %interior = memref.subview %padded[0, 0, 1, 1] [1, 4, 6, 6] [1, 1, 1, 1]
      : memref<1x4x8x8xf32> to memref<1x4x6x6xf32, strided<[256, 64, 8, 1], offset: 9>>
  linalg.copy ins(%in : memref<1x4x6x6xf32>) outs(%interior : memref<1x4x6x6xf32, strided<[256, 64, 8, 1], offset: 9>>)
  %w = memref.alloc() : memref<3x3xf32>
  linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
      ins(%padded, %w : memref<1x4x8x8xf32>, memref<3x3xf32>) outs(%out : memref<1x4x3x3xf32>)
  memref.dealloc %w : memref<3x3xf32>
  memref.dealloc %padded : memref<1x4x8x8xf32>
  return
}

// -----

// The padded buffer is read before its interior is written: full fill.
// CHECK-LABEL: func.func @pad_read_early
// CHECK: memref.collapse_shape %[[P:.*]] {{\[\[}}0, 1, 2, 3]] : memref<1x4x8x8xf32> into memref<256xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c256 step %c16
func.func @pad_read_early(%in: memref<1x4x6x6xf32>, %early: memref<1x4x8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %padded = memref.alloc() : memref<1x4x8x8xf32>
  linalg.fill ins(%zero : f32) outs(%padded : memref<1x4x8x8xf32>)
  memref.copy %padded, %early : memref<1x4x8x8xf32> to memref<1x4x8x8xf32>
  %interior = memref.subview %padded[0, 0, 1, 1] [1, 4, 6, 6] [1, 1, 1, 1]
      : memref<1x4x8x8xf32> to memref<1x4x6x6xf32, strided<[256, 64, 8, 1], offset: 9>>
  linalg.copy ins(%in : memref<1x4x6x6xf32>) outs(%interior : memref<1x4x6x6xf32, strided<[256, 64, 8, 1], offset: 9>>)
  memref.dealloc %padded : memref<1x4x8x8xf32>
  return
}

// -----

// A transposed read is not along the innermost dimension: left alone.
// CHECK-LABEL: func.func @transposed_left_alone
// CHECK: linalg.generic
#t = affine_map<(d0, d1) -> (d1, d0)>
#i2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @transposed_left_alone(%a: memref<16x16xf32>, %out: memref<16x16xf32>) {
  linalg.generic {indexing_maps = [#t, #i2], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<16x16xf32>) outs(%out : memref<16x16xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// -----

// 3x3 stride-2 max pooling (ResNet's stem pool), separably: the three
// rows' max of input columns 0-15 (whole vectors) and 16-18 (masked; nothing
// past column 18 is read), then the even, odd and next-even lanes; 9 outputs
// fit one masked vector.
// CHECK-LABEL: func.func @maxpool_stride2
// CHECK: scf.parallel (%[[N:.*]], %[[C:.*]]) =
// CHECK:   scf.for %[[R:.*]] =
// CHECK:     %[[ACC:.*]] = vector.maskedload %{{.*}}[%[[N]], %[[C]], %[[R]], %c0{{.*}}]
// CHECK-COUNT-3: vector.load {{.*}} : memref<1x4x19x19xf32>, vector<16xf32>
// CHECK:     vector.constant_mask [3] : vector<16xi1>
// CHECK-COUNT-3: vector.maskedload {{.*}} : memref<1x4x19x19xf32>, vector<16xi1>, vector<16xf32> into vector<16xf32>
// CHECK:     %[[EVEN:.*]] = vector.shuffle {{.*}} [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30] : vector<16xf32>, vector<16xf32>
// CHECK:     vector.shuffle {{.*}} [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31] : vector<16xf32>, vector<16xf32>
// CHECK:     vector.shuffle %[[EVEN]], %{{.*}} [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
// CHECK-COUNT-3: arith.maximumf {{.*}} : vector<16xf32>
// CHECK:     vector.maskedstore
// CHECK-NOT: linalg.pooling
func.func @maxpool_stride2(%in: memref<1x4x19x19xf32>, %out: memref<1x4x9x9xf32>) {
  %w = memref.alloc() : memref<3x3xf32>
  linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
      ins(%in, %w : memref<1x4x19x19xf32>, memref<3x3xf32>) outs(%out : memref<1x4x9x9xf32>)
  memref.dealloc %w : memref<3x3xf32>
  return
}

// -----

// Depthwise 3x3, stride 1, width 40: two unmasked vectors in a loop, the
// third (8 lanes) masked; one broadcast weight per tap and channel, FMAs.
// CHECK-LABEL: func.func @depthwise
// CHECK: scf.parallel (%{{.*}}, %[[C:.*]]) =
// CHECK-COUNT-9: memref.load %{{.*}}[%[[C]], %{{.*}}, %{{.*}}] : memref<8x3x3xf32>
// CHECK: scf.for
// CHECK:   scf.for %{{.*}} = %c0{{.*}} to %c32 step %c16
// CHECK-COUNT-9: vector.fma
// CHECK:   vector.constant_mask [8] : vector<16xi1>
// CHECK-COUNT-9: vector.fma
func.func @depthwise(%in: memref<1x8x12x42xf32>, %w: memref<8x3x3xf32>, %out: memref<1x8x10x40xf32>) {
  linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
      ins(%in, %w : memref<1x8x12x42xf32>, memref<8x3x3xf32>) outs(%out : memref<1x8x10x40xf32>)
  return
}

// -----

// Global average pool's sum (torch-mlir's form): 7x7 = 49 elements per
// channel, 3 vectors and a masked tail, one reduction into the output.
// CHECK-LABEL: func.func @global_sum
// CHECK: scf.parallel (%[[N:.*]], %[[C:.*]]) =
// CHECK:   scf.for {{.*}} iter_args
// CHECK:   vector.maskedload
// CHECK:   %[[OLD:.*]] = memref.load %{{.*}}[%[[N]], %[[C]], %c0{{.*}}, %c0{{.*}}]
// CHECK:   vector.reduction <add>, %{{.*}}, %[[OLD]] fastmath<reassoc>
#in4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#out4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, 0)>
func.func @global_sum(%in: memref<1x64x7x7xf32>, %out: memref<1x64x1x1xf32>) {
  linalg.generic {indexing_maps = [#in4, #out4], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%in : memref<1x64x7x7xf32>) outs(%out : memref<1x64x1x1xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %x, %o : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// nn.Linear at batch 2: the transposed weight copy is dropped, W rows are
// streamed directly. Rows of 40 floats (at most 8 KB): one row of W per
// parallel block, read by both batch rows (a single sequential stream).
// CHECK-LABEL: func.func @linear
// CHECK-NOT: linalg.transpose
// CHECK: scf.parallel (%[[N:.*]]) = (%c0) to (%c10) step (%c1)
// CHECK-NOT: scf.for
// CHECK-COUNT-2: vector.load %{{.*}}[%[[N]], %{{.*}}] : memref<10x40xf32>, vector<16xf32>
// CHECK:   vector.maskedload %{{.*}}[%[[N]], %c32], {{.*}} : memref<10x40xf32>
// CHECK:   vector.reduction <add>
// CHECK-NOT: linalg.matmul
func.func @linear(%x: memref<2x40xf32>, %w: memref<10x40xf32>, %out: memref<2x10xf32>) {
  %t = memref.alloc() {alignment = 64 : i64} : memref<40x10xf32>
  linalg.transpose ins(%w : memref<10x40xf32>) outs(%t : memref<40x10xf32>) permutation = [1, 0]
  linalg.matmul ins(%x, %t : memref<2x40xf32>, memref<40x10xf32>) outs(%out : memref<2x10xf32>)
  memref.dealloc %t : memref<40x10xf32>
  return
}

// -----

// Rows longer than 8 KB (2100 floats): blocks of 4 rows of W streamed side
// by side (4 rows x 2 batch rows x 2 unrolled accumulators), the last 2
// rows one by one.
// CHECK-LABEL: func.func @linear_long_rows
// CHECK: scf.parallel (%[[B:.*]]) = (%c0) to (%c2) step (%c1)
// CHECK:   scf.for {{.*}} = %c0{{.*}} to %c2080 step %c32{{.*}} iter_args
// CHECK-COUNT-16: vector.fma
// CHECK:   vector.maskedload
// CHECK:   vector.reduction <add>
// CHECK: scf.for {{.*}} = %c8 to %c10 step %c1
func.func @linear_long_rows(%x: memref<2x2100xf32>, %w: memref<10x2100xf32>, %out: memref<2x10xf32>) {
  %t = memref.alloc() {alignment = 64 : i64} : memref<2100x10xf32>
  linalg.transpose ins(%w : memref<10x2100xf32>) outs(%t : memref<2100x10xf32>) permutation = [1, 0]
  linalg.matmul ins(%x, %t : memref<2x2100xf32>, memref<2100x10xf32>) outs(%out : memref<2x10xf32>)
  memref.dealloc %t : memref<2100x10xf32>
  return
}

// -----

// A plain product (B not a transpose): column blocks of B in vectors.
// CHECK-LABEL: func.func @plain_matmul
// CHECK: scf.parallel
// CHECK:   scf.for {{.*}} = %c0{{.*}} to %c24{{.*}} step %c1{{.*}} iter_args
// CHECK:     memref.load %{{.*}} : memref<3x24xf32>
// CHECK:     vector.fma
// CHECK: vector.maskedstore
func.func @plain_matmul(%a: memref<3x24xf32>, %b: memref<24x136xf32>, %out: memref<3x136xf32>) {
  linalg.matmul ins(%a, %b : memref<3x24xf32>, memref<24x136xf32>) outs(%out : memref<3x136xf32>)
  return
}

// STATS: 1 num-border-fills
// STATS: 1 num-depthwise
// STATS: 7 num-elementwise
// STATS: 3 num-matmuls
// STATS: 2 num-pooling
// STATS: 1 num-reductions
