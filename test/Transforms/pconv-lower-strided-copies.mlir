// RUN: pconv-opt %s -pass-pipeline='builtin.module(func.func(pconv-lower-strided-copies))' | FileCheck %s

// A copy into a strided subview becomes linalg.copy (loops, no runtime call);
// a copy between contiguous buffers stays memref.copy (memcpy).
// CHECK-LABEL: func.func @copies
// CHECK: linalg.copy ins(%{{.*}} : memref<2x2xf32>) outs(%{{.*}} : memref<2x2xf32, strided<[4, 1], offset: 5>>)
// CHECK-NOT: memref.copy %{{.*}}, %{{.*}} : memref<2x2xf32> to memref<2x2xf32, strided
// CHECK: memref.copy %{{.*}}, %{{.*}} : memref<2x2xf32> to memref<2x2xf32>
func.func @copies(%src: memref<2x2xf32>, %big: memref<4x4xf32>, %dst: memref<2x2xf32>) {
  %sub = memref.subview %big[1, 1] [2, 2] [1, 1] : memref<4x4xf32> to memref<2x2xf32, strided<[4, 1], offset: 5>>
  memref.copy %src, %sub : memref<2x2xf32> to memref<2x2xf32, strided<[4, 1], offset: 5>>
  memref.copy %src, %dst : memref<2x2xf32> to memref<2x2xf32>
  return
}
