// RUN: pconv-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(pconv-fold-pad-copies))' | FileCheck %s
// RUN: pconv-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(pconv-fold-pad-copies{vector-width=4}))' | FileCheck %s --check-prefix=HALO

// A buffer written by vector stores, then copied into the interior of a
// filled padded buffer: the padded buffer is allocated and filled first and
// the stores write its interior; the source buffer and the copy are gone.
// CHECK-LABEL: func.func @fold
// CHECK: %[[P:.*]] = memref.alloc() : memref<1x2x6x6xf32>
// CHECK-NEXT: linalg.map outs(%[[P]]
// CHECK: %[[IN:.*]] = memref.subview %[[P]][0, 0, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1]
// CHECK-NEXT: vector.store %{{.*}}, %[[IN]][
// CHECK-NEXT: %[[R:.*]] = vector.load %[[P]][
// CHECK-NOT: memref.copy
// CHECK: memref.dealloc %[[P]]
// CHECK-NOT: memref.dealloc
// With vector-width: the fill writes only the halo, 4-lane masked stores
// per row of each (n, c): the first and last column of the interior rows
// (1 lane each), the whole first and last rows (4 + 2 lanes).
// HALO-LABEL: func.func @fold
// HALO-DAG: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// HALO-DAG: %[[P:.*]] = memref.alloc() : memref<1x2x6x6xf32>
// HALO-NOT: linalg.map
// HALO: %[[V:.*]] = vector.broadcast %[[NEGINF]] : f32 to vector<4xf32>
// HALO: scf.parallel (%[[N:.*]], %[[C:.*]]) =
// HALO: scf.for %[[ROW:.*]] =
// HALO: scf.if
// HALO: %[[M1:.*]] = vector.create_mask %c1{{.*}} : vector<4xi1>
// HALO: vector.maskedstore %[[P]][%[[N]], %[[C]], %[[ROW]], %{{.*}}], %[[M1]], %[[V]]
// HALO: vector.maskedstore %[[P]][%[[N]], %[[C]], %[[ROW]], %{{.*}}], %{{.*}}, %[[V]]
// HALO: } else {
// HALO: %[[M4:.*]] = vector.create_mask %c4{{.*}} : vector<4xi1>
// HALO: vector.maskedstore %[[P]][%[[N]], %[[C]], %[[ROW]], %{{.*}}], %[[M4]], %[[V]]
// HALO: %[[M2:.*]] = vector.create_mask %c2{{.*}} : vector<4xi1>
// HALO: vector.maskedstore %[[P]][%[[N]], %[[C]], %[[ROW]], %{{.*}}], %[[M2]], %[[V]]
// HALO-NOT: vector.maskedstore
// HALO: %[[IN:.*]] = memref.subview %[[P]][0, 0, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1]
// HALO-NEXT: vector.store %{{.*}}, %[[IN]][
// HALO-NOT: memref.copy
func.func @fold(%v: vector<4xf32>) -> vector<4xf32> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0xFF800000 : f32
  %a = memref.alloc() : memref<1x2x4x4xf32>
  vector.store %v, %a[%c0, %c0, %c0, %c0] : memref<1x2x4x4xf32>, vector<4xf32>
  %p = memref.alloc() : memref<1x2x6x6xf32>
  linalg.map outs(%p : memref<1x2x6x6xf32>)
    (%init: f32) {
      linalg.yield %cst : f32
    }
  %in = memref.subview %p[0, 0, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1] : memref<1x2x6x6xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  memref.copy %a, %in : memref<1x2x4x4xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  memref.dealloc %a : memref<1x2x4x4xf32>
  %r = vector.load %p[%c0, %c0, %c0, %c0] : memref<1x2x6x6xf32>, vector<4xf32>
  memref.dealloc %p : memref<1x2x6x6xf32>
  return %r : vector<4xf32>
}

// -----

// The source is read after the copy: left alone.
// CHECK-LABEL: func.func @read_after_copy
// CHECK: memref.copy
// HALO-LABEL: func.func @read_after_copy
// HALO: linalg.fill
// HALO: memref.copy
func.func @read_after_copy(%v: vector<4xf32>) -> vector<4xf32> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.0 : f32
  %a = memref.alloc() : memref<1x2x4x4xf32>
  vector.store %v, %a[%c0, %c0, %c0, %c0] : memref<1x2x4x4xf32>, vector<4xf32>
  %p = memref.alloc() : memref<1x2x6x6xf32>
  linalg.fill ins(%cst : f32) outs(%p : memref<1x2x6x6xf32>)
  %in = memref.subview %p[0, 0, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1] : memref<1x2x6x6xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  memref.copy %a, %in : memref<1x2x4x4xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  %r = vector.load %a[%c0, %c0, %c0, %c0] : memref<1x2x4x4xf32>, vector<4xf32>
  return %r : vector<4xf32>
}

// -----

// The source is written by a linalg op (MobileNet's ReLU6 after a conv): the
// op writes the interior.
// CHECK-LABEL: func.func @linalg_producer
// CHECK: %[[P:.*]] = memref.alloc() : memref<1x2x6x6xf32>
// CHECK-NEXT: linalg.fill {{.*}} outs(%[[P]]
// CHECK-NEXT: %[[IN:.*]] = memref.subview %[[P]]
// CHECK-NEXT: linalg.copy ins(%{{.*}} : memref<1x2x4x4xf32>) outs(%[[IN]] : memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>)
// CHECK-NOT: memref.copy
// HALO-LABEL: func.func @linalg_producer
// HALO-NOT: linalg.fill
// HALO: scf.parallel
// HALO: vector.maskedstore
// HALO: linalg.copy
func.func @linalg_producer(%x: memref<1x2x4x4xf32>) -> memref<1x2x6x6xf32> {
  %cst = arith.constant 0.0 : f32
  %a = memref.alloc() : memref<1x2x4x4xf32>
  linalg.copy ins(%x : memref<1x2x4x4xf32>) outs(%a : memref<1x2x4x4xf32>)
  %p = memref.alloc() : memref<1x2x6x6xf32>
  linalg.fill ins(%cst : f32) outs(%p : memref<1x2x6x6xf32>)
  %in = memref.subview %p[0, 0, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1] : memref<1x2x6x6xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  memref.copy %a, %in : memref<1x2x4x4xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  return %p : memref<1x2x6x6xf32>
}

// -----

// The pad value is computed after the source's producer: the fill cannot
// move above it, left alone.
// CHECK-LABEL: func.func @late_pad_value
// CHECK: memref.copy
func.func @late_pad_value(%v: vector<4xf32>, %f: f32) -> memref<1x2x6x6xf32> {
  %c0 = arith.constant 0 : index
  %a = memref.alloc() : memref<1x2x4x4xf32>
  vector.store %v, %a[%c0, %c0, %c0, %c0] : memref<1x2x4x4xf32>, vector<4xf32>
  %cst = arith.negf %f : f32
  %p = memref.alloc() : memref<1x2x6x6xf32>
  linalg.fill ins(%cst : f32) outs(%p : memref<1x2x6x6xf32>)
  %in = memref.subview %p[0, 0, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1] : memref<1x2x6x6xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  memref.copy %a, %in : memref<1x2x4x4xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  return %p : memref<1x2x6x6xf32>
}

// -----

// The source goes through a view op whose result type depends on the
// source's layout: left alone.
// CHECK-LABEL: func.func @viewed_source
// CHECK: memref.copy
func.func @viewed_source(%v: vector<4xf32>) -> memref<1x2x6x6xf32> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.0 : f32
  %a = memref.alloc() : memref<1x2x4x4xf32>
  %flat = memref.collapse_shape %a [[0, 1, 2, 3]] : memref<1x2x4x4xf32> into memref<32xf32>
  vector.store %v, %flat[%c0] : memref<32xf32>, vector<4xf32>
  %p = memref.alloc() : memref<1x2x6x6xf32>
  linalg.fill ins(%cst : f32) outs(%p : memref<1x2x6x6xf32>)
  %in = memref.subview %p[0, 0, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1] : memref<1x2x6x6xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  memref.copy %a, %in : memref<1x2x4x4xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  return %p : memref<1x2x6x6xf32>
}

// -----

// The pad value the fill's body captures is computed after the source's
// producer: left alone.
// CHECK-LABEL: func.func @late_captured_pad_value
// CHECK: memref.copy
func.func @late_captured_pad_value(%v: vector<4xf32>, %f: f32) -> memref<1x2x6x6xf32> {
  %c0 = arith.constant 0 : index
  %a = memref.alloc() : memref<1x2x4x4xf32>
  vector.store %v, %a[%c0, %c0, %c0, %c0] : memref<1x2x4x4xf32>, vector<4xf32>
  %cst = arith.negf %f : f32
  %p = memref.alloc() : memref<1x2x6x6xf32>
  linalg.map outs(%p : memref<1x2x6x6xf32>)
    (%init: f32) {
      linalg.yield %cst : f32
    }
  %in = memref.subview %p[0, 0, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1] : memref<1x2x6x6xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  memref.copy %a, %in : memref<1x2x4x4xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  return %p : memref<1x2x6x6xf32>
}

// -----

// A band's result copied into a view of the full map at a row the loop
// computes (a bufferized tensor.insert_slice of pconv-fuse-row-bands): the
// view is created before the band's buffer and the stores write it.
// CHECK-LABEL: func.func @insert
// CHECK: scf.for %[[R:.*]] =
// CHECK-NEXT: %[[ROW:.*]] = arith.divui %[[R]]
// CHECK-NEXT: %[[VIEW:.*]] = memref.subview %arg1[0, 0, %[[ROW]], 0] [1, 2, 2, 4]
// CHECK-NEXT: vector.store %{{.*}}, %[[VIEW]][
// CHECK-NOT: memref.copy
// CHECK-NOT: memref.dealloc
// CHECK: return
func.func @insert(%v: vector<4xf32>, %full: memref<1x2x8x4xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  scf.for %r = %c0 to %c16 step %c4 {
    %row = arith.divui %r, %c2 : index
    %a = memref.alloc() : memref<1x2x2x4xf32>
    vector.store %v, %a[%c0, %c0, %c0, %c0] : memref<1x2x2x4xf32>, vector<4xf32>
    %view = memref.subview %full[0, 0, %row, 0] [1, 2, 2, 4] [1, 1, 1, 1] : memref<1x2x8x4xf32> to memref<1x2x2x4xf32, strided<[64, 32, 4, 1], offset: ?>>
    memref.copy %a, %view : memref<1x2x2x4xf32> to memref<1x2x2x4xf32, strided<[64, 32, 4, 1], offset: ?>>
    memref.dealloc %a : memref<1x2x2x4xf32>
  }
  return
}

// -----

// The destination is read while the source is being written, or the row is
// computed after the source exists: both left alone.
// CHECK-LABEL: func.func @insert_kept
// CHECK: memref.copy
// CHECK: memref.copy
func.func @insert_kept(%v: vector<4xf32>, %full: memref<1x2x8x4xf32>, %i: index) -> vector<4xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %a = memref.alloc() : memref<1x2x2x4xf32>
  vector.store %v, %a[%c0, %c0, %c0, %c0] : memref<1x2x2x4xf32>, vector<4xf32>
  %r = vector.load %full[%c0, %c0, %c2, %c0] : memref<1x2x8x4xf32>, vector<4xf32>
  %view = memref.subview %full[0, 0, 2, 0] [1, 2, 2, 4] [1, 1, 1, 1] : memref<1x2x8x4xf32> to memref<1x2x2x4xf32, strided<[64, 32, 4, 1], offset: 8>>
  memref.copy %a, %view : memref<1x2x2x4xf32> to memref<1x2x2x4xf32, strided<[64, 32, 4, 1], offset: 8>>
  %b = memref.alloc() : memref<1x2x2x4xf32>
  vector.store %v, %b[%c0, %c0, %c0, %c0] : memref<1x2x2x4xf32>, vector<4xf32>
  %row = arith.addi %i, %c2 : index
  %view2 = memref.subview %full[0, 0, %row, 0] [1, 2, 2, 4] [1, 1, 1, 1] : memref<1x2x8x4xf32> to memref<1x2x2x4xf32, strided<[64, 32, 4, 1], offset: ?>>
  memref.copy %b, %view2 : memref<1x2x2x4xf32> to memref<1x2x2x4xf32, strided<[64, 32, 4, 1], offset: ?>>
  return %r : vector<4xf32>
}

// -----

// The destination is a view of a larger buffer whose other view is read
// while the source is being written: an alias of the destination, left alone.
// CHECK-LABEL: func.func @insert_alias
// CHECK: memref.copy
func.func @insert_alias(%v: vector<4xf32>, %base: memref<2x2x8x4xf32>) -> vector<4xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %full = memref.subview %base[0, 0, 0, 0] [1, 2, 8, 4] [1, 1, 1, 1] : memref<2x2x8x4xf32> to memref<1x2x8x4xf32, strided<[64, 32, 4, 1]>>
  %a = memref.alloc() : memref<1x2x2x4xf32>
  vector.store %v, %a[%c0, %c0, %c0, %c0] : memref<1x2x2x4xf32>, vector<4xf32>
  %other = memref.subview %base[0, 0, 2, 0] [1, 2, 2, 4] [1, 1, 1, 1] : memref<2x2x8x4xf32> to memref<1x2x2x4xf32, strided<[64, 32, 4, 1], offset: 8>>
  %r = vector.load %other[%c0, %c0, %c0, %c0] : memref<1x2x2x4xf32, strided<[64, 32, 4, 1], offset: 8>>, vector<4xf32>
  %view = memref.subview %full[0, 0, 2, 0] [1, 2, 2, 4] [1, 1, 1, 1] : memref<1x2x8x4xf32, strided<[64, 32, 4, 1]>> to memref<1x2x2x4xf32, strided<[64, 32, 4, 1], offset: 8>>
  memref.copy %a, %view : memref<1x2x2x4xf32> to memref<1x2x2x4xf32, strided<[64, 32, 4, 1], offset: 8>>
  return %r : vector<4xf32>
}

// -----

// A pad of the channels too: folded, but the fill stays whole (the halo
// fill covers rows and columns only).
// HALO-LABEL: func.func @pad_channels
// HALO: linalg.fill
// HALO-NOT: scf.parallel
// HALO-NOT: memref.copy
func.func @pad_channels(%v: vector<4xf32>) -> memref<1x4x6x6xf32> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.0 : f32
  %a = memref.alloc() : memref<1x2x4x4xf32>
  vector.store %v, %a[%c0, %c0, %c0, %c0] : memref<1x2x4x4xf32>, vector<4xf32>
  %p = memref.alloc() : memref<1x4x6x6xf32>
  linalg.fill ins(%cst : f32) outs(%p : memref<1x4x6x6xf32>)
  %in = memref.subview %p[0, 1, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1] : memref<1x4x6x6xf32> to memref<1x2x4x4xf32, strided<[144, 36, 6, 1], offset: 43>>
  memref.copy %a, %in : memref<1x2x4x4xf32> to memref<1x2x4x4xf32, strided<[144, 36, 6, 1], offset: 43>>
  memref.dealloc %a : memref<1x2x4x4xf32>
  return %p : memref<1x4x6x6xf32>
}

// -----

// The "fill" yields a value computed per element (here its own output
// element): folded, but not a scalar fill, so it stays whole.
// HALO-LABEL: func.func @not_a_scalar_fill
// HALO: linalg.map
// HALO-NOT: scf.parallel
func.func @not_a_scalar_fill(%v: vector<4xf32>) -> memref<1x2x6x6xf32> {
  %c0 = arith.constant 0 : index
  %a = memref.alloc() : memref<1x2x4x4xf32>
  vector.store %v, %a[%c0, %c0, %c0, %c0] : memref<1x2x4x4xf32>, vector<4xf32>
  %p = memref.alloc() : memref<1x2x6x6xf32>
  linalg.map outs(%p : memref<1x2x6x6xf32>)
    (%init: f32) {
      %d = arith.addf %init, %init : f32
      linalg.yield %d : f32
    }
  %in = memref.subview %p[0, 0, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1] : memref<1x2x6x6xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  memref.copy %a, %in : memref<1x2x4x4xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  memref.dealloc %a : memref<1x2x4x4xf32>
  return %p : memref<1x2x6x6xf32>
}
