// RUN: %python -c "import sys, numpy as np; sys.path.insert(0, sys.argv[1]); from pconv.weights import write_weights; write_weights(sys.argv[2], {'w0': np.arange(4, dtype=np.float32), 'unused': np.ones(3, dtype=np.float32)})" %S/../../python %t.pcw
// RUN: pconv-opt %s -pass-pipeline='builtin.module(pconv-attach-weights{file=%t.pcw})' | FileCheck %s
// RUN: not pconv-opt %s -pass-pipeline='builtin.module(pconv-attach-weights{file=%t.missing})' 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: %python -c "open('%t.bad', 'wb').write(b'NOTPCONV' + bytes(16))"
// RUN: not pconv-opt %s -pass-pipeline='builtin.module(pconv-attach-weights{file=%t.bad})' 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: pconv-opt %S/Inputs/unknown-weight.mlir -verify-diagnostics -pass-pipeline='builtin.module(pconv-attach-weights{file=%t.pcw})'

// The text names the resource but carries no data; the pass maps it in from
// the weights file (0, 1, 2, 3 as little-endian f32).
// CHECK-LABEL: func.func @weights
// CHECK: dense_resource<w0> : tensor<4xf32>
// CHECK: w0: "0x04000000000000000000803F0000004000004040"
// MISSING: error: cannot open weights file
// BAD: error: weights file '{{.*}}': not a PConv weights file (bad magic)
func.func @weights() -> tensor<4xf32> {
  %w = arith.constant dense_resource<w0> : tensor<4xf32>
  return %w : tensor<4xf32>
}
