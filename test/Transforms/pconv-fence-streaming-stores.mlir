// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-fence-streaming-stores))' | FileCheck %s

// Non-temporal stores are weakly ordered: the parallel iteration that may
// stream ends with an sfence, once, before the loop's terminator.
// CHECK-LABEL: func.func @parallel
// CHECK: scf.parallel
// CHECK: scf.if
// CHECK: vector.store {{.*}} {alignment = 32 : i64, nontemporal = true}
// CHECK: vector.store {{.*}} {alignment = 32 : i64, nontemporal = true}
// CHECK: }
// CHECK-NEXT: llvm.call_intrinsic "llvm.x86.sse.sfence"() : () -> ()
// CHECK-NEXT: scf.reduce
// CHECK-NOT: llvm.call_intrinsic
// CHECK: return
func.func @parallel(%m: memref<4x16xf32>, %v: vector<8xf32>, %c: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.if %c {
      vector.store %v, %m[%i, %c0] {alignment = 32 : i64, nontemporal = true} : memref<4x16xf32>, vector<8xf32>
      vector.store %v, %m[%i, %c8] {alignment = 32 : i64, nontemporal = true} : memref<4x16xf32>, vector<8xf32>
    }
    scf.reduce
  }
  return
}

// -----

// Plain stores need no fence.
// CHECK-LABEL: func.func @plain
// CHECK-NOT: sfence
// CHECK: return
func.func @plain(%m: memref<4x16xf32>, %v: vector<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    vector.store %v, %m[%i, %c0] : memref<4x16xf32>, vector<8xf32>
    scf.reduce
  }
  return
}

// -----

// Outside any parallel loop: the fence follows the loop nest.
// CHECK-LABEL: func.func @sequential
// CHECK: scf.for
// CHECK: vector.store {{.*}}{nontemporal = true}
// CHECK: }
// CHECK-NEXT: llvm.call_intrinsic "llvm.x86.sse.sfence"() : () -> ()
// CHECK-NEXT: return
func.func @sequential(%m: memref<4x16xf32>, %v: vector<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    vector.store %v, %m[%i, %c0] {nontemporal = true} : memref<4x16xf32>, vector<8xf32>
  }
  return
}
