// RUN: pconv-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(pconv-fold-pad-copies))' | FileCheck %s

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
