// RUN: pconv-opt %s --pass-pipeline='builtin.module(func.func(pconv-report-regions))' -verify-diagnostics -o /dev/null

// One remark per outermost omp.parallel, numbered in program order, at the
// region's own location, with the vector FMAs in it; a region nested in
// another is part of it (its FMAs count) and not numbered.
// (-verify-diagnostics: exactly these remarks, on these lines.)
func.func @regions(%a: vector<4xf32>, %m: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  // expected-remark@+1 {{parallel region 0: 3 vector FMAs}}
  omp.parallel {
    %f = vector.fma %a, %a, %a : vector<4xf32>
    %g = vector.fma %f, %a, %a : vector<4xf32>
    vector.store %g, %m[%c0] : memref<8xf32>, vector<4xf32>
    omp.parallel {
      %h = vector.fma %a, %a, %a : vector<4xf32>
      vector.store %h, %m[%c4] : memref<8xf32>, vector<4xf32>
      omp.terminator
    }
    omp.terminator
  }
  // expected-remark@+1 {{parallel region 1: 0 vector FMAs}}
  omp.parallel {
    vector.store %a, %m[%c4] : memref<8xf32>, vector<4xf32>
    omp.terminator
  }
  return
}
