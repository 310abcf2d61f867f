// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-fuse-activation))' | FileCheck %s
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-fuse-activation{residual=false}))' | FileCheck %s --check-prefix=OFF
// RUN: pconv-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(pconv-fuse-activation{pool=false}))' | FileCheck %s --check-prefix=NOPOOL

#id = affine_map<(a, b, c, d) -> (a, b, c, d)>

// torch-mlir's ReLU (cmpf ugt + select) on a single-use pconv result is fused.
// CHECK-LABEL: func.func @select_relu
// CHECK: %[[Y:.*]] = pconv.conv2d {{.*}} dilations [1, 1] relu :
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @select_relu(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  %e = tensor.empty() : tensor<1x1x4x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y : tensor<1x1x4x4xf32>) outs(%e : tensor<1x1x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.cmpf ugt, %in, %zero : f32
    %s = arith.select %c, %in, %zero : f32
    linalg.yield %s : f32
  } -> tensor<1x1x4x4xf32>
  return %r : tensor<1x1x4x4xf32>
}

// -----

#id = affine_map<(a, b, c, d) -> (a, b, c, d)>

// The maximumf form is fused too.
// CHECK-LABEL: func.func @max_relu
// CHECK: pconv.conv2d {{.*}} relu
// CHECK-NOT: linalg.generic
func.func @max_relu(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  %e = tensor.empty() : tensor<1x1x4x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y : tensor<1x1x4x4xf32>) outs(%e : tensor<1x1x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x1x4x4xf32>
  return %r : tensor<1x1x4x4xf32>
}

// -----

#id = affine_map<(a, b, c, d) -> (a, b, c, d)>

// Not fused: the conv result has another use (it must stay un-activated), and
// a generic that is not a ReLU (here max with 1) is left alone.
// CHECK-LABEL: func.func @not_fused
// CHECK: pconv.conv2d
// CHECK-NOT: relu
// CHECK: linalg.generic
// CHECK: linalg.generic
func.func @not_fused(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> (tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  %e = tensor.empty() : tensor<1x1x4x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y : tensor<1x1x4x4xf32>) outs(%e : tensor<1x1x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x1x4x4xf32>
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y : tensor<1x1x4x4xf32>) outs(%e : tensor<1x1x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %one : f32
    linalg.yield %m : f32
  } -> tensor<1x1x4x4xf32>
  return %y, %r, %q : tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>
}

// -----

#id = affine_map<(a, b, c, d) -> (a, b, c, d)>
#scalar = affine_map<(a, b, c, d) -> ()>

// torch-mlir's ReLU6 (clamp): max with a 0-d zero tensor, then min with a
// 0-d 6: the conv gets relu and relu_max 6, both generics disappear.
// CHECK-LABEL: func.func @relu6
// CHECK: %[[Y:.*]] = pconv.conv2d {{.*}} dilations [1, 1] relu relu_max 6.000000e+00 :
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @relu6(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  %zero = arith.constant dense<0.0> : tensor<f32>
  %six = arith.constant dense<6.0> : tensor<f32>
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  %e = tensor.empty() : tensor<1x1x4x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #scalar, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y, %zero : tensor<1x1x4x4xf32>, tensor<f32>) outs(%e : tensor<1x1x4x4xf32>) {
  ^bb0(%in: f32, %z: f32, %out: f32):
    %c = arith.cmpf ogt, %in, %z : f32
    %s = arith.select %c, %in, %z : f32
    linalg.yield %s : f32
  } -> tensor<1x1x4x4xf32>
  %m = linalg.generic {indexing_maps = [#scalar, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%six, %r : tensor<f32>, tensor<1x1x4x4xf32>) outs(%e : tensor<1x1x4x4xf32>) {
  ^bb0(%c6: f32, %in: f32, %out: f32):
    %c = arith.cmpf olt, %c6, %in : f32
    %s = arith.select %c, %c6, %in : f32
    linalg.yield %s : f32
  } -> tensor<1x1x4x4xf32>
  return %m : tensor<1x1x4x4xf32>
}

// -----

#id = affine_map<(a, b, c, d) -> (a, b, c, d)>

// A min without a ReLU before it is not an activation: left alone.
// CHECK-LABEL: func.func @min_without_relu
// CHECK: pconv.conv2d {{.*}} dilations [1, 1] :
// CHECK: arith.minimumf
func.func @min_without_relu(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>) -> tensor<1x1x4x4xf32> {
  %six = arith.constant 6.0 : f32
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x4x4xf32>
  %e = tensor.empty() : tensor<1x1x4x4xf32>
  %m = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y : tensor<1x1x4x4xf32>) outs(%e : tensor<1x1x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.minimumf %in, %six : f32
    linalg.yield %s : f32
  } -> tensor<1x1x4x4xf32>
  return %m : tensor<1x1x4x4xf32>
}

// -----

#id = affine_map<(a, b, c, d) -> (a, b, c, d)>

// A residual add becomes the conv's residual operand, the ReLU after it the
// conv's relu: one op, no elementwise generic left. The conv moves down to
// the add, after the shortcut conv computed later (as torch orders a
// downsampling block).
// CHECK-LABEL: func.func @residual_add_relu
// CHECK-SAME: (%[[X:.*]]: tensor<1x1x6x6xf32>, %[[W:.*]]: tensor<4xf32>, %[[W1:.*]]: tensor<1xf32>)
// CHECK: %[[S:.*]] = pconv.conv2d %[[X]], %[[W1]] library #pconv.patterns<1x1
// CHECK: %[[Y:.*]] = pconv.conv2d %[[X]], %[[W]] residual(%[[S]]) library #pconv.patterns<3x3
// CHECK-SAME: dilations [1, 1] relu :
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y]]
func.func @residual_add_relu(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>, %w1: tensor<1xf32>) -> tensor<1x1x6x6xf32> {
  %zero = arith.constant 0.0 : f32
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x6x6xf32>
  %s = pconv.conv2d %x, %w1 library #pconv.patterns<1x1, taps = 1, [[0]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<1xf32>) -> tensor<1x1x6x6xf32>
  %e = tensor.empty() : tensor<1x1x6x6xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y, %s : tensor<1x1x6x6xf32>, tensor<1x1x6x6xf32>) outs(%e : tensor<1x1x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<1x1x6x6xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%sum : tensor<1x1x6x6xf32>) outs(%e : tensor<1x1x6x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.cmpf ugt, %in, %zero : f32
    %v = arith.select %c, %in, %zero : f32
    linalg.yield %v : f32
  } -> tensor<1x1x6x6xf32>
  return %r : tensor<1x1x6x6xf32>
}

// -----

#id = affine_map<(a, b, c, d) -> (a, b, c, d)>

// The conv may be either summand; the shortcut here is a function argument.
// A conv that already applies a ReLU is not fused (the ReLU comes first).
// CHECK-LABEL: func.func @residual_second_operand
// CHECK: %[[Y:.*]] = pconv.conv2d %{{.*}}, %{{.*}} residual(%arg2)
// CHECK-NOT: linalg.generic
// CHECK: %[[Z:.*]] = pconv.conv2d %{{.*}} relu :
// CHECK: linalg.generic
// CHECK: arith.addf
func.func @residual_second_operand(%x: tensor<1x1x6x6xf32>, %w: tensor<4xf32>, %short: tensor<1x1x6x6xf32>) -> (tensor<1x1x6x6xf32>, tensor<1x1x6x6xf32>) {
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1]
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x6x6xf32>
  %e = tensor.empty() : tensor<1x1x6x6xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%short, %y : tensor<1x1x6x6xf32>, tensor<1x1x6x6xf32>) outs(%e : tensor<1x1x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<1x1x6x6xf32>
  %z = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] relu
         : (tensor<1x1x6x6xf32>, tensor<4xf32>) -> tensor<1x1x6x6xf32>
  %sum2 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%z, %short : tensor<1x1x6x6xf32>, tensor<1x1x6x6xf32>) outs(%e : tensor<1x1x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<1x1x6x6xf32>
  return %sum, %sum2 : tensor<1x1x6x6xf32>, tensor<1x1x6x6xf32>
}

// With residual=false the adds stay (and so do the ReLUs after them).
// OFF-LABEL: func.func @residual_add_relu
// OFF: arith.addf
// OFF-LABEL: func.func @residual_second_operand
// OFF-NOT: residual(

// -----

// A 2x2 / 2 max-pool (-inf init) of a single-use conv's result, after its
// ReLU: the conv takes the window and returns the pooled map; the
// full-resolution tensor, the pool and its init are gone.
// CHECK-LABEL: func.func @max_pool
// CHECK: %[[Y:.*]] = pconv.conv2d {{.*}} relu max_pool [2, 2] : {{.*}} -> tensor<1x2x4x4xf32>
// CHECK-NOT: linalg.
// CHECK: return %[[Y]]
// NOPOOL-LABEL: func.func @max_pool
// OFF-LABEL: func.func @max_pool
// NOPOOL: pconv.conv2d {{.*}} relu :
// NOPOOL: linalg.pooling_nchw_max
func.func @max_pool(%x: tensor<1x1x10x10xf32>, %w: tensor<8xf32>) -> tensor<1x2x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %y = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<2x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x10x10xf32>, tensor<8xf32>) -> tensor<1x2x8x8xf32>
  %e = tensor.empty() : tensor<1x2x8x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y : tensor<1x2x8x8xf32>) outs(%e : tensor<1x2x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x2x8x8xf32>
  %pe = tensor.empty() : tensor<1x2x4x4xf32>
  %init = linalg.fill ins(%ninf : f32) outs(%pe : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %win = tensor.empty() : tensor<2x2xf32>
  %p = linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
         ins(%r, %win : tensor<1x2x8x8xf32>, tensor<2x2xf32>) outs(%init : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %p : tensor<1x2x4x4xf32>
}

// -----

// Overlapping windows: ResNet's 3x3 / 2 pool over the -inf padded map (the
// pad goes too: pool_padding), and a 3x3 / 2 pool without padding (the
// last row and column are dropped by the floor, as in the pool).
// CHECK-LABEL: func.func @max_pool_overlapping
// CHECK: %[[P:.*]] = pconv.conv2d {{.*}} relu max_pool [3, 3] pool_strides [2, 2] pool_padding [1, 1, 1, 1] : {{.*}} -> tensor<1x1x4x4xf32>
// CHECK: %[[Q:.*]] = pconv.conv2d {{.*}} max_pool [3, 3] pool_strides [2, 2] : {{.*}} -> tensor<1x1x3x3xf32>
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.pad
// CHECK: return %[[P]], %[[Q]]
func.func @max_pool_overlapping(%x: tensor<1x1x10x10xf32>, %w: tensor<4xf32>)
    -> (tensor<1x1x4x4xf32>, tensor<1x1x3x3xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %a = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] relu
         : (tensor<1x1x10x10xf32>, tensor<4xf32>) -> tensor<1x1x8x8xf32>
  %pad = tensor.pad %a low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %ninf : f32
  } : tensor<1x1x8x8xf32> to tensor<1x1x10x10xf32>
  %e4 = tensor.empty() : tensor<1x1x4x4xf32>
  %i4 = linalg.fill ins(%ninf : f32) outs(%e4 : tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  %w3 = tensor.empty() : tensor<3x3xf32>
  %pa = linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
          ins(%pad, %w3 : tensor<1x1x10x10xf32>, tensor<3x3xf32>) outs(%i4 : tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  %b = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x10x10xf32>, tensor<4xf32>) -> tensor<1x1x8x8xf32>
  %e3 = tensor.empty() : tensor<1x1x3x3xf32>
  %i3 = linalg.fill ins(%ninf : f32) outs(%e3 : tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  %pb = linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
          ins(%b, %w3 : tensor<1x1x8x8xf32>, tensor<3x3xf32>) outs(%i3 : tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  return %pa, %pb : tensor<1x1x4x4xf32>, tensor<1x1x3x3xf32>
}

// -----

// Not fused: a pool over a zero-padded map (the zeros join the max), a
// window that leaves a row and a column out (2x2 / 2 over 7x7), an init that
// is not -inf (it joins the max), a conv with a residual (added at the conv's
// resolution).
// CHECK-LABEL: func.func @max_pool_not_fused
// CHECK-NOT: max_pool
// CHECK-COUNT-4: linalg.pooling_nchw_max
func.func @max_pool_not_fused(%x: tensor<1x1x10x10xf32>, %x9: tensor<1x1x9x9xf32>, %w: tensor<4xf32>, %res: tensor<1x1x8x8xf32>)
    -> (tensor<1x1x4x4xf32>, tensor<1x1x3x3xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %a = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x10x10xf32>, tensor<4xf32>) -> tensor<1x1x8x8xf32>
  %pad = tensor.pad %a low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x1x8x8xf32> to tensor<1x1x10x10xf32>
  %ea = tensor.empty() : tensor<1x1x4x4xf32>
  %ia = linalg.fill ins(%ninf : f32) outs(%ea : tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  %w3 = tensor.empty() : tensor<3x3xf32>
  %pa = linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
          ins(%pad, %w3 : tensor<1x1x10x10xf32>, tensor<3x3xf32>) outs(%ia : tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  %e3 = tensor.empty() : tensor<1x1x3x3xf32>
  %i3 = linalg.fill ins(%ninf : f32) outs(%e3 : tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  %b = pconv.conv2d %x9, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x9x9xf32>, tensor<4xf32>) -> tensor<1x1x7x7xf32>
  %w2 = tensor.empty() : tensor<2x2xf32>
  %pb = linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
          ins(%b, %w2 : tensor<1x1x7x7xf32>, tensor<2x2xf32>) outs(%i3 : tensor<1x1x3x3xf32>) -> tensor<1x1x3x3xf32>
  %c = pconv.conv2d %x, %w library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x10x10xf32>, tensor<4xf32>) -> tensor<1x1x8x8xf32>
  %e4 = tensor.empty() : tensor<1x1x4x4xf32>
  %i0 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  %pc = linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
          ins(%c, %w2 : tensor<1x1x8x8xf32>, tensor<2x2xf32>) outs(%i0 : tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  %d = pconv.conv2d %x, %w residual(%res) library #pconv.patterns<3x3, taps = 4, [[1, 3, 4, 5]]>
         kernels dense<0> : tensor<1x1xi8> strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
         : (tensor<1x1x10x10xf32>, tensor<4xf32>, tensor<1x1x8x8xf32>) -> tensor<1x1x8x8xf32>
  %i4 = linalg.fill ins(%ninf : f32) outs(%e4 : tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  %pd = linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
          ins(%d, %w2 : tensor<1x1x8x8xf32>, tensor<2x2xf32>) outs(%i4 : tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  return %pa, %pb, %pc, %pd : tensor<1x1x4x4xf32>, tensor<1x1x3x3xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>
}
