// RUN: pconv-opt %s --pconv-steal-tasks --split-input-file | FileCheck %s
// RUN: pconv-opt %s --pconv-steal-tasks=num-threads=3 --split-input-file | FileCheck %s --check-prefix=FIXED
// RUN: pconv-opt %s --pass-pipeline='builtin.module(pconv-steal-tasks, convert-scf-to-openmp)' --split-input-file | FileCheck %s --check-prefix=OMP

// A 2-D loop of 32 x 2 tasks: counters (one cache line per worker) on the
// stack, set to each worker's static share; one OpenMP team whose thread w
// (omp_get_thread_num) claims tasks with an atomic add, its own share
// first, then the others' ((w + k) mod W), and runs the body (allocas
// scoped per task) at the decoded indices.
// CHECK: llvm.func @omp_get_thread_num() -> i32
// CHECK: llvm.func @omp_get_max_threads() -> i32
// CHECK-LABEL: func.func @tasks
// CHECK: %[[N:.*]] = llvm.call @omp_get_max_threads() : () -> i32
// CHECK: %[[NI:.*]] = arith.index_cast %[[N]] : i32 to index
// CHECK: %[[W:.*]] = arith.maxsi %[[NI]], %{{.*}} : index
// CHECK: %[[SLOTS:.*]] = arith.muli %[[W]], %c8 : index
// CHECK: %[[CNT:.*]] = memref.alloca(%[[SLOTS]]) {alignment = 64 : i64} : memref<?xi64>
// CHECK: scf.for %[[V:.*]] = %{{.*}} to %[[W]]
// CHECK:   memref.store %{{.*}}, %[[CNT]][%{{.*}}] : memref<?xi64>
// CHECK: omp.parallel {
// CHECK:   %[[TID:.*]] = llvm.call @omp_get_thread_num() : () -> i32
// CHECK:   %[[WK:.*]] = arith.index_cast %[[TID]] : i32 to index
// CHECK:   scf.for %[[K:.*]] = %{{.*}} to %[[W]]
// CHECK:     %[[SUM:.*]] = arith.addi %[[WK]], %[[K]] : index
// CHECK:     arith.remui %[[SUM]], %[[W]] : index
// CHECK:     scf.while : () -> index {
// CHECK:       %[[OLD:.*]] = memref.atomic_rmw addi %{{.*}}, %[[CNT]][%{{.*}}] : (i64, memref<?xi64>) -> i64
// CHECK:       arith.cmpi ult
// CHECK:       scf.condition
// CHECK:     } do {
// CHECK:       scf.for %[[T:.*]] = %{{.*}} to %{{.*}}
// CHECK:         memref.alloca_scope {
// CHECK:           arith.remui %[[T]], %{{.*}} : index
// CHECK:           arith.divui %[[T]], %{{.*}} : index
// CHECK:           memref.alloca() : memref<4xf32>
// CHECK:           memref.store %{{.*}}, %arg0[%{{.*}}, %{{.*}}] : memref<32x8xf32>
// CHECK: omp.terminator
// CHECK-NOT: scf.parallel

// FIXED-NOT: omp_get_max_threads
// FIXED-LABEL: func.func @tasks
// FIXED: %[[W:.*]] = arith.constant 3 : index
// FIXED: %[[N:.*]] = llvm.mlir.constant(3 : i32) : i32
// FIXED: omp.parallel num_threads(%[[N]] : i32) {

// The team needs no worksharing loop (no __kmpc_for_static_init / _fini
// pair per thread, no barrier before the region's own closing one), so
// convert-scf-to-openmp leaves it as it is.
// OMP-LABEL: func.func @tasks
// OMP: omp.parallel
// OMP-NOT: omp.wsloop
// OMP: scf.while
// OMP: omp.terminator
func.func @tasks(%a: memref<32x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  %cst = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c32, %c8) step (%c1, %c4) {
    %t = memref.alloca() : memref<4xf32>
    memref.store %cst, %a[%i, %j] : memref<32x8xf32>
    scf.reduce
  }
  return
}

// -----

// Left alone: a loop with a reduction, an outer loop with a nested parallel
// loop (both would need more than one parallel region's worth of care), and
// a loop of one iteration. No counters, no runtime call.
// CHECK-NOT: omp_get_max_threads
// CHECK-LABEL: func.func @untouched
// CHECK-NOT: memref.alloca
// CHECK: scf.parallel
// CHECK: scf.reduce(
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK-NOT: atomic_rmw
func.func @untouched(%a: memref<32xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  %sum = scf.parallel (%i) = (%c0) to (%c32) step (%c1) init (%zero) -> f32 {
    %x = memref.load %a[%i] : memref<32xf32>
    scf.reduce(%x : f32) {
    ^bb0(%l: f32, %r: f32):
      %s = arith.addf %l, %r : f32
      scf.reduce.return %s : f32
    }
  }
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.parallel (%j) = (%c0) to (%c4) step (%c1) {
      %k = arith.addi %i, %j : index
      memref.store %zero, %a[%k] : memref<32xf32>
      scf.reduce
    }
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    memref.store %zero, %a[%i] : memref<32xf32>
    scf.reduce
  }
  return %sum : f32
}

// -----

// Bounds known at run time only: an empty loop (ub <= lb) has no tasks.
// CHECK-LABEL: func.func @dynamic
// CHECK: %[[SPAN:.*]] = arith.subi %arg2, %arg1 : index
// CHECK: %[[POS:.*]] = arith.maxsi %[[SPAN]], %{{.*}} : index
// CHECK: arith.ceildivui %[[POS]], %{{.*}} : index
// CHECK: memref.atomic_rmw addi
func.func @dynamic(%a: memref<?xf32>, %lb: index, %ub: index) {
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%lb) to (%ub) step (%c1) {
    memref.store %zero, %a[%i] : memref<?xf32>
    scf.reduce
  }
  return
}
