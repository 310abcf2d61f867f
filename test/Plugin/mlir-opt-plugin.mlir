// The wheel's upstream mlir-opt (not pconv-opt) with PConvPlugin.so: the
// dialect plugin makes pconv IR parse and print, the pass plugin registers
// the pconv passes and the pconv-to-llvm pipeline. Passes loaded from a plugin
// are named through --pass-pipeline (their --pass-name flags are created
// before the plugin is loaded).
// RUN: mlir-opt --load-dialect-plugin=%pconv_plugin %s | FileCheck %s --check-prefix=PARSE
// RUN: mlir-opt --load-dialect-plugin=%pconv_plugin %s --mlir-print-op-generic \
// RUN:   | mlir-opt --load-dialect-plugin=%pconv_plugin | FileCheck %s --check-prefix=PARSE
// RUN: mlir-opt --load-dialect-plugin=%pconv_plugin --load-pass-plugin=%pconv_plugin %s \
// RUN:   --pass-pipeline='builtin.module(func.func(pconv-lower-to-loops))' | FileCheck %s --check-prefix=LOOPS
// RUN: mlir-opt --load-dialect-plugin=%pconv_plugin --load-pass-plugin=%pconv_plugin %s \
// RUN:   --pass-pipeline='builtin.module(pconv-to-llvm{num-threads=2 import=false})' | FileCheck %s --check-prefix=LLVM
// RUN: mlir-opt --load-pass-plugin=%pconv_plugin --help | FileCheck %s --check-prefix=HELP
// Without the dialect plugin the same tool rejects the op.
// RUN: not mlir-opt %s 2>&1 | FileCheck %s --check-prefix=NOPLUGIN

// PARSE-LABEL: func.func @conv
// PARSE: pconv.conv2d %{{.*}}, %{{.*}} bias(%{{.*}}) library #pconv.patterns<3x3, taps = 4, {{\[}}[1, 3, 4, 5], [3, 4, 5, 7]]>
// PARSE-SAME: kernels dense<{{\[}}[0, 1], [1, -1]]> : tensor<2x2xi8>
// PARSE-SAME: strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu

// LOOPS-LABEL: func.func @conv
// LOOPS-NOT: pconv.conv2d
// LOOPS: scf.parallel
// LOOPS: arith.mulf
// LOOPS: bufferization.to_tensor

// LLVM-LABEL: llvm.func @conv
// LLVM: omp.parallel num_threads
// LLVM-LABEL: llvm.func @_mlir_ciface_conv
// LLVM-NOT: pconv.

// HELP-DAG: --pconv-import-linalg
// HELP-DAG: --pconv-lower-to-loops
// HELP-DAG: --pconv-lower-to-vectors
// HELP-DAG: --pconv-to-llvm

// NOPLUGIN: Dialect `pconv' not found
func.func @conv(%x: tensor<1x2x8x8xf32>, %w: tensor<12xf32>, %b: tensor<2xf32>) -> tensor<1x2x8x8xf32> {
  %y = pconv.conv2d %x, %w bias(%b)
         library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7]]>
         kernels dense<[[0, 1], [1, -1]]> : tensor<2x2xi8>
         strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         : (tensor<1x2x8x8xf32>, tensor<12xf32>, tensor<2xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}
