// RUN: pconv-opt %s --pconv-to-llvm | FileCheck %s

// Intermediate buffers are freed right after their last use
// (optimize-allocation-liveness), not all at the end of the function: in a
// chain of three convolutions, the first intermediate's buffer goes back to
// malloc before a later layer allocates, so the peak heap is the live set of
// one layer, not the sum of all activations.
// CHECK-LABEL: llvm.func @chain(
// CHECK: llvm.call @malloc
// CHECK: llvm.call @free
// CHECK: llvm.call @malloc
// CHECK-LABEL: llvm.func @_mlir_ciface_chain
func.func @chain(%x: tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[[[0.0, 1.0, 0.0], [2.0, 3.0, 4.0], [0.0, 0.0, 0.0]],
                              [[0.0, 0.0, 0.0], [5.0, 6.0, 7.0], [0.0, 8.0, 0.0]]],
                             [[[0.0, 0.0, 0.0], [9.0, 10.0, 11.0], [0.0, 12.0, 0.0]],
                              [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]]> : tensor<2x2x3x3xf32>
  %empty = tensor.empty() : tensor<1x2x6x6xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %p0 = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x2x6x6xf32> to tensor<1x2x8x8xf32>
  %y0 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%p0, %w : tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) outs(%init : tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %p1 = tensor.pad %y0 low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x2x6x6xf32> to tensor<1x2x8x8xf32>
  %y1 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%p1, %w : tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) outs(%init : tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  %p2 = tensor.pad %y1 low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x2x6x6xf32> to tensor<1x2x8x8xf32>
  %y2 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%p2, %w : tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) outs(%init : tensor<1x2x6x6xf32>) -> tensor<1x2x6x6xf32>
  return %y2 : tensor<1x2x6x6xf32>
}
