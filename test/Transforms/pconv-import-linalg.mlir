// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-import-linalg{remarks=true}))' -verify-diagnostics | FileCheck %s
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-import-linalg{library="#pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5], [3, 4, 5, 7], [0, 1, 2, 4]]>"}))' | FileCheck %s --check-prefix=LIB

// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-import-linalg{dense=true}))' | FileCheck %s --check-prefix=DENSE
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-import-linalg{dense=true patterns=false}))' | FileCheck %s --check-prefix=ALLDENSE

// A pattern-sparse conv with torch-mlir's pad and bias broadcast: the library
// is inferred (most frequent pattern first), pad and bias are absorbed, the
// non-zeros are packed filter by filter, kernel by kernel, in pattern order.
// CHECK-LABEL: func.func @pattern_sparse
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x6x6xf32>, %[[B:.*]]: tensor<2xf32>)
// CHECK: %[[W:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00, 9.000000e+00, 1.000000e+01, 1.100000e+01, 1.200000e+01]> : tensor<12xf32>
// CHECK: pconv.conv2d %[[X]], %[[W]] bias(%[[B]]) library #pconv.patterns<3x3, taps = 4, {{\[}}[3, 4, 5, 7], [1, 3, 4, 5]]>
// CHECK-SAME: kernels dense<{{\[}}[1, 0], [0, -1]]> : tensor<2x2xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
// CHECK-NOT: linalg.conv_2d_nchw_fchw
// With a given library, ids index it instead.
// LIB-LABEL: func.func @pattern_sparse
// LIB: library #pconv.patterns<3x3, taps = 4, {{\[}}[1, 3, 4, 5], [3, 4, 5, 7], [0, 1, 2, 4]]>
// LIB-SAME: kernels dense<{{\[}}[0, 1], [1, -1]]>
func.func @pattern_sparse(%x: tensor<1x2x6x6xf32>, %bias: tensor<2xf32>) -> tensor<1x2x6x6xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[[[0.0, 1.0, 0.0], [2.0, 3.0, 4.0], [0.0, 0.0, 0.0]],
                              [[0.0, 0.0, 0.0], [5.0, 6.0, 7.0], [0.0, 8.0, 0.0]]],
                             [[[0.0, 0.0, 0.0], [9.0, 10.0, 11.0], [0.0, 12.0, 0.0]],
                              [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]]> : tensor<2x2x3x3xf32>
  %padded = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x2x6x6xf32> to tensor<1x2x8x8xf32>
  %empty = tensor.empty() : tensor<1x2x6x6xf32>
  %init = linalg.broadcast ins(%bias : tensor<2xf32>) outs(%empty : tensor<1x2x6x6xf32>) dimensions = [0, 2, 3]
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%padded, %w : tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) outs(%init : tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  return %y : tensor<1x2x6x6xf32>
}

// -----

// A kernel whose non-zeros are a strict subset of a pattern gets that pattern
// (a kept weight may be exactly zero); a zero fill means no bias; stride 2.
// CHECK-LABEL: func.func @subset_and_stride
// CHECK: %[[W:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 0.000000e+00, 5.000000e+00, 6.000000e+00, 0.000000e+00]>
// CHECK: pconv.conv2d %{{.*}}, %[[W]] library #pconv.patterns<3x3, taps = 4, {{\[}}[1, 3, 4, 5]]>
// CHECK-SAME: kernels dense<0> : tensor<1x2xi8> strides [2, 2] padding [0, 0, 0, 0]
func.func @subset_and_stride(%x: tensor<1x2x7x7xf32>) -> tensor<1x1x3x3xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[[[0.0, 1.0, 0.0], [2.0, 3.0, 4.0], [0.0, 0.0, 0.0]],
                              [[0.0, 0.0, 0.0], [5.0, 6.0, 0.0], [0.0, 0.0, 0.0]]]]> : tensor<1x2x3x3xf32>
  %empty = tensor.empty() : tensor<1x1x3x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
         ins(%x, %w : tensor<1x2x7x7xf32>, tensor<1x2x3x3xf32>) outs(%init : tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  return %y : tensor<1x1x3x3xf32>
}

// -----

// A dense filter with one all-zero kernel (filter 0, channel 1): with
// dense=true that kernel is skipped (-1 in the table, 27 packed weights);
// with pattern import off as well (the dense path asked for) every kernel is
// computed (36 weights), as a dense engine would.
// DENSE-LABEL: func.func @dense_filter_zero_kernel
// DENSE: pconv.conv2d {{.*}} taps = 9, {{.*}} kernels dense<{{\[}}[0, -1], [0, 0]]> : tensor<2x2xi8>
// DENSE-SAME: tensor<27xf32>
// ALLDENSE-LABEL: func.func @dense_filter_zero_kernel
// ALLDENSE: pconv.conv2d {{.*}} taps = 9, {{.*}} kernels dense<0> : tensor<2x2xi8>
// ALLDENSE-SAME: tensor<36xf32>
func.func @dense_filter_zero_kernel(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]],
                             [[[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]]]> : tensor<2x2x3x3xf32>
  %empty = tensor.empty() : tensor<1x2x3x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  // expected-remark @+1 {{convolution left on the dense path: some kernel keeps all 9 taps (dense)}}
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%x, %w : tensor<1x2x5x5xf32>, tensor<2x2x3x3xf32>) outs(%init : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  return %y : tensor<1x2x3x3xf32>
}

// -----

// A layer whose kernels are all pruned keeps no weights at all.
// CHECK-LABEL: func.func @all_pruned
// CHECK: pconv.conv2d
// CHECK-SAME: kernels dense<-1> : tensor<3x2xi8>
// CHECK-SAME: -> tensor<1x3x3x3xf32>
func.func @all_pruned(%x: tensor<1x2x5x5xf32>) -> tensor<1x3x3x3xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<0.0> : tensor<3x2x3x3xf32>
  %empty = tensor.empty() : tensor<1x3x3x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<1x3x3x3xf32>) -> tensor<1x3x3x3xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%x, %w : tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>) outs(%init : tensor<1x3x3x3xf32>) -> tensor<1x3x3x3xf32>
  return %y : tensor<1x3x3x3xf32>
}

// -----

// A dense filter stays on the dense path, with a remark saying why; with
// dense=true it is imported as one full 9-tap pattern.
// DENSE-LABEL: func.func @dense_filter
// DENSE: pconv.conv2d {{.*}} library #pconv.patterns<3x3, taps = 9, {{\[}}[0, 1, 2, 3, 4, 5, 6, 7, 8]]> kernels dense<0> : tensor<1x1xi8>
// CHECK-LABEL: func.func @dense_filter
// CHECK: linalg.conv_2d_nchw_fchw
// CHECK-NOT: pconv.conv2d
func.func @dense_filter(%x: tensor<1x1x5x5xf32>) -> tensor<1x1x3x3xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<1.0> : tensor<1x1x3x3xf32>
  %empty = tensor.empty() : tensor<1x1x3x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  // expected-remark @+1 {{convolution left on the dense path: some kernel keeps all 9 taps (dense)}}
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%x, %w : tensor<1x1x5x5xf32>, tensor<1x1x3x3xf32>) outs(%init : tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  return %y : tensor<1x1x3x3xf32>
}

// -----

// A filter that is not a constant cannot be proven pattern-sparse.
// CHECK-LABEL: func.func @runtime_filter
// CHECK: linalg.conv_2d_nchw_fchw
func.func @runtime_filter(%x: tensor<1x1x5x5xf32>, %w: tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<1x1x3x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  // expected-remark @+1 {{convolution left on the dense path: filter is not a constant}}
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%x, %w : tensor<1x1x5x5xf32>, tensor<1x1x3x3xf32>) outs(%init : tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  return %y : tensor<1x1x3x3xf32>
}

// -----

// Non-zeros outside every pattern of the inferred library: dense path.
// CHECK-LABEL: func.func @not_pattern_sparse
// CHECK: linalg.conv_2d_nchw_fchw
func.func @not_pattern_sparse(%x: tensor<1x2x5x5xf32>) -> tensor<1x1x3x3xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[[[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]],
                              [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]]]> : tensor<1x2x3x3xf32>
  %empty = tensor.empty() : tensor<1x1x3x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  // expected-remark @+1 {{kernel (0, 1) has non-zeros outside every library pattern}}
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%x, %w : tensor<1x2x5x5xf32>, tensor<1x2x3x3xf32>) outs(%init : tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  return %y : tensor<1x1x3x3xf32>
}

// -----

// A depthwise conv (torch-mlir collapses its C x 1 x 3 x 3 filter to
// C x 3 x 3) becomes the pconv.conv2d whose filter f keeps one kernel, on
// channel f: a diagonal kernel table. Channel 1's kernel is all zero
// (pruned: -1 on the diagonal too).
// CHECK-LABEL: func.func @depthwise
// CHECK: %[[W:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00, 8.000000e+00]> : tensor<8xf32>
// CHECK: pconv.conv2d %{{.*}}, %[[W]] bias(%{{.*}}) library #pconv.patterns<3x3, taps = 4, {{\[}}[1, 3, 4, 5], [3, 4, 5, 7]]>
// CHECK-SAME: kernels dense<{{\[}}[0, -1, -1], [-1, -1, -1], [-1, -1, 1]]> : tensor<3x3xi8>
// CHECK-SAME: strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1]
// CHECK-NOT: linalg.depthwise_conv_2d_nchw_chw
// LIB-LABEL: func.func @depthwise
// LIB: kernels dense<{{\[}}[0, -1, -1], [-1, -1, -1], [-1, -1, 1]]> : tensor<3x3xi8>
// DENSE-LABEL: func.func @depthwise
// DENSE: pconv.conv2d
func.func @depthwise(%x: tensor<1x3x6x6xf32>, %b: tensor<3xf32>) -> tensor<1x3x3x3xf32> {
  %zero = arith.constant 0.0 : f32
  %w4 = arith.constant dense<[[[[0.0, 1.0, 0.0], [2.0, 3.0, 4.0], [0.0, 0.0, 0.0]]],
                              [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]],
                              [[[0.0, 0.0, 0.0], [5.0, 6.0, 7.0], [0.0, 8.0, 0.0]]]]> : tensor<3x1x3x3xf32>
  %w = tensor.collapse_shape %w4 [[0, 1], [2], [3]] : tensor<3x1x3x3xf32> into tensor<3x3x3xf32>
  %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x3x6x6xf32> to tensor<1x3x8x8xf32>
  %empty = tensor.empty() : tensor<1x3x3x3xf32>
  %init = linalg.broadcast ins(%b : tensor<3xf32>) outs(%empty : tensor<1x3x3x3xf32>) dimensions = [0, 2, 3]
  %y = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
         ins(%p, %w : tensor<1x3x8x8xf32>, tensor<3x3x3xf32>) outs(%init : tensor<1x3x3x3xf32>) -> tensor<1x3x3x3xf32>
  return %y : tensor<1x3x3x3xf32>
}
