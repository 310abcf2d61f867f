// A resource the weights file does not hold (pconv-attach-weights.mlir).
func.func @unknown() -> tensor<4xf32> {
  // expected-error @+1 {{dense_resource 'w9' has no data: the weights file}}
  %w = arith.constant dense_resource<w9> : tensor<4xf32>
  return %w : tensor<4xf32>
}
