// RUN: pconv-opt %s --pconv-steal-tasks --verify-diagnostics --split-input-file

// The runtime query needs the OpenMP runtime's `i32 omp_get_max_threads()`;
// another symbol of that name is an error, not a second definition.
// expected-error @+1 {{'omp_get_max_threads' is taken by another symbol}}
func.func private @omp_get_max_threads() -> index

func.func @f(%a: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %z = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    memref.store %z, %a[%i] : memref<8xf32>
    scf.reduce
  }
  return
}

// -----

// So does the thread number every team member asks for.
// expected-error @+1 {{'omp_get_thread_num' is taken by another symbol}}
llvm.func @omp_get_thread_num() -> i64

func.func @g(%a: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %z = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    memref.store %z, %a[%i] : memref<8xf32>
    scf.reduce
  }
  return
}
