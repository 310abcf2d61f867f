// RUN: pconv-opt %s --pass-pipeline='builtin.module(func.func(pconv-fuse-elementwise))' | FileCheck %s

// ReLU6 as torch-mlir emits it (a max with a 0-d zero, then a min with a 0-d
// six) becomes one generic; the global-pool reduction consuming it is not
// fused into, so it keeps the form pconv-vectorize-dense lowers.
// CHECK-LABEL: func.func @relu6_then_pool
// CHECK: %[[E:.*]] = linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// CHECK:   arith.cmpf ogt
// CHECK:   arith.cmpf olt
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "reduction", "reduction"]
// CHECK-SAME: ins(%[[E]] :
// CHECK-NOT: linalg.generic
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#s = affine_map<(d0, d1, d2, d3) -> ()>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, 0)>
func.func @relu6_then_pool(%x: tensor<1x8x7x7xf32>) -> tensor<1x8x1x1xf32> {
  %zero = arith.constant dense<0.0> : tensor<f32>
  %six = arith.constant dense<6.0> : tensor<f32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8x7x7xf32>
  %a = linalg.generic {indexing_maps = [#id, #s, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %zero : tensor<1x8x7x7xf32>, tensor<f32>) outs(%e : tensor<1x8x7x7xf32>) {
  ^bb0(%in: f32, %c: f32, %out: f32):
    %p = arith.cmpf ogt, %in, %c : f32
    %r = arith.select %p, %in, %c : f32
    linalg.yield %r : f32
  } -> tensor<1x8x7x7xf32>
  %b = linalg.generic {indexing_maps = [#s, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%six, %a : tensor<f32>, tensor<1x8x7x7xf32>) outs(%e : tensor<1x8x7x7xf32>) {
  ^bb0(%c: f32, %in: f32, %out: f32):
    %p = arith.cmpf olt, %c, %in : f32
    %r = arith.select %p, %c, %in : f32
    linalg.yield %r : f32
  } -> tensor<1x8x7x7xf32>
  %e2 = tensor.empty() : tensor<1x8x1x1xf32>
  %f = linalg.fill ins(%z : f32) outs(%e2 : tensor<1x8x1x1xf32>) -> tensor<1x8x1x1xf32>
  %s = linalg.generic {indexing_maps = [#id, #o], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%b : tensor<1x8x7x7xf32>) outs(%f : tensor<1x8x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.addf %in, %out : f32
    linalg.yield %r : f32
  } -> tensor<1x8x1x1xf32>
  return %s : tensor<1x8x1x1xf32>
}
