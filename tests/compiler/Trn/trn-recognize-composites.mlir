// RUN: trnx-opt %s --pass-pipeline='builtin.module(func.func(trn-recognize-composites))' -split-input-file | FileCheck %s

// Softmax as TOSA exports it (max, sub, exp, sum, reciprocal, mul; each op
// its own trn.ewise after trn-convert-linalg): one trn.softmax, and the
// chain is gone.
// CHECK-LABEL: func.func @softmax
// CHECK-NOT: trn.reduce
// CHECK: %[[S:.*]] = trn.softmax %arg0 : tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT: return %[[S]]
func.func @softmax(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %one = arith.constant 1.000000e+00 : f32
  %m = trn.reduce "max" %x {axes = array<i64: 1>, keep_dims = false} : tensor<4x8xf32> -> tensor<4xf32>
  %m1 = trn.reshape %m : tensor<4xf32> -> tensor<4x1xf32>
  %d = trn.ewise(%x, %m1) : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32, %b: f32):
    %r = arith.subf %a, %b : f32
    trn.yield %r : f32
  }
  %e = trn.ewise(%d) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32):
    %r = math.exp %a : f32
    trn.yield %r : f32
  }
  %s = trn.reduce "sum" %e {axes = array<i64: 1>, keep_dims = false} : tensor<4x8xf32> -> tensor<4xf32>
  %s1 = trn.reshape %s : tensor<4xf32> -> tensor<4x1xf32>
  %inv = trn.ewise(%s1) : (tensor<4x1xf32>) -> tensor<4x1xf32> {
  ^bb0(%a: f32):
    %r = arith.divf %one, %a : f32
    trn.yield %r : f32
  }
  %y = trn.ewise(%e, %inv) : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32, %b: f32):
    %r = arith.mulf %a, %b : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// Without the max subtraction and with a division (linalg form), in a
// batch of heads: still softmax of the last axis.
// CHECK-LABEL: func.func @softmax_div_3d
// CHECK-NEXT: %[[S:.*]] = trn.softmax %arg0 : tensor<2x4x8xf32> -> tensor<2x4x8xf32>
// CHECK-NEXT: return %[[S]]
func.func @softmax_div_3d(%x: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %e = trn.ewise(%x) : (tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  ^bb0(%a: f32):
    %r = math.exp %a : f32
    trn.yield %r : f32
  }
  %s = trn.reduce "sum" %e {axes = array<i64: 2>, keep_dims = true} : tensor<2x4x8xf32> -> tensor<2x4x1xf32>
  %y = trn.ewise(%e, %s) : (tensor<2x4x8xf32>, tensor<2x4x1xf32>) -> tensor<2x4x8xf32> {
  ^bb0(%a: f32, %b: f32):
    %r = arith.divf %a, %b : f32
    trn.yield %r : f32
  }
  return %y : tensor<2x4x8xf32>
}

// x - max - log(sum(exp(x - max))): log-softmax.
// CHECK-LABEL: func.func @log_softmax
// CHECK-NEXT: %[[S:.*]] = trn.softmax %arg0 {log = true} : tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT: return %[[S]]
func.func @log_softmax(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %m = trn.reduce "max" %x {axes = array<i64: 1>, keep_dims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
  %d = trn.ewise(%x, %m) : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32, %b: f32):
    %r = arith.subf %a, %b : f32
    trn.yield %r : f32
  }
  %e = trn.ewise(%d) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32):
    %r = math.exp %a : f32
    trn.yield %r : f32
  }
  %s = trn.reduce "sum" %e {axes = array<i64: 1>, keep_dims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
  %y = trn.ewise(%d, %s) : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32, %b: f32):
    %l = math.log %b : f32
    %r = arith.subf %a, %l : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// Not recognised: the max and sum run over axis 0, not the last axis.
// CHECK-LABEL: func.func @softmax_first_axis
// CHECK-NOT: trn.softmax
// CHECK: trn.reduce "sum" %{{.*}} {axes = array<i64: 0>
// CHECK: arith.divf
func.func @softmax_first_axis(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = trn.ewise(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32):
    %r = math.exp %a : f32
    trn.yield %r : f32
  }
  %s = trn.reduce "sum" %e {axes = array<i64: 0>, keep_dims = true} : tensor<4x8xf32> -> tensor<1x8xf32>
  %y = trn.ewise(%e, %s) : (tensor<4x8xf32>, tensor<1x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32, %b: f32):
    %r = arith.divf %a, %b : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// -----

// LayerNorm as exported: mean, centre, mean of squares, + eps, rsqrt,
// * gamma, + beta. gamma and beta ([1, D]) become vectors of the last axis.
// CHECK-LABEL: func.func @layernorm
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>, %[[G:.*]]: tensor<1x8xf32>, %[[B:.*]]: tensor<1x8xf32>)
// CHECK-DAG: %[[G1:.*]] = trn.reshape %[[G]] : tensor<1x8xf32> -> tensor<8xf32>
// CHECK-DAG: %[[B1:.*]] = trn.reshape %[[B]] : tensor<1x8xf32> -> tensor<8xf32>
// CHECK: %[[N:.*]] = trn.layernorm %[[X]] scale %[[G1]] : tensor<8xf32> shift %[[B1]] : tensor<8xf32> {epsilon = 9.99999974E-6 : f32} : tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT: return %[[N]]
func.func @layernorm(%x: tensor<4x8xf32>, %g: tensor<1x8xf32>, %b: tensor<1x8xf32>) -> tensor<4x8xf32> {
  %inv_d = arith.constant dense<1.250000e-01> : tensor<1x1xf32>
  %eps = arith.constant dense<9.99999974E-6> : tensor<1x1xf32>
  %s = trn.reduce "sum" %x {axes = array<i64: 1>, keep_dims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
  %mean = trn.ewise(%s, %inv_d) : (tensor<4x1xf32>, tensor<1x1xf32>) -> tensor<4x1xf32> {
  ^bb0(%a: f32, %c: f32):
    %r = arith.mulf %a, %c : f32
    trn.yield %r : f32
  }
  %xc = trn.ewise(%x, %mean) : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32, %c: f32):
    %r = arith.subf %a, %c : f32
    trn.yield %r : f32
  }
  %sq = trn.ewise(%xc, %xc) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32, %c: f32):
    %r = arith.mulf %a, %c : f32
    trn.yield %r : f32
  }
  %ss = trn.reduce "sum" %sq {axes = array<i64: 1>, keep_dims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
  %inv = trn.ewise(%ss, %inv_d, %eps) : (tensor<4x1xf32>, tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<4x1xf32> {
  ^bb0(%a: f32, %c: f32, %e: f32):
    %v = arith.mulf %a, %c : f32
    %ve = arith.addf %v, %e : f32
    %r = math.rsqrt %ve : f32
    trn.yield %r : f32
  }
  %y = trn.ewise(%xc, %inv, %g, %b) : (tensor<4x8xf32>, tensor<4x1xf32>, tensor<1x8xf32>, tensor<1x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32, %i: f32, %gg: f32, %bb: f32):
    %n = arith.mulf %a, %i : f32
    %ng = arith.mulf %n, %gg : f32
    %r = arith.addf %ng, %bb : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// Not recognised: the "mean" divides by 4 while the axis has 8 elements.
// CHECK-LABEL: func.func @layernorm_wrong_mean
// CHECK-NOT: trn.layernorm
// CHECK-NOT: trn.rmsnorm
// CHECK: math.rsqrt
func.func @layernorm_wrong_mean(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %s = trn.reduce "sum" %x {axes = array<i64: 1>, keep_dims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
  %xc = trn.ewise(%x, %s) : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32, %c: f32):
    %q = arith.constant 2.500000e-01 : f32
    %m = arith.mulf %c, %q : f32
    %r = arith.subf %a, %m : f32
    trn.yield %r : f32
  }
  %sq = trn.ewise(%xc) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32):
    %r = arith.mulf %a, %a : f32
    trn.yield %r : f32
  }
  %ss = trn.reduce "sum" %sq {axes = array<i64: 1>, keep_dims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
  %y = trn.ewise(%xc, %ss) : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32, %v: f32):
    %q = arith.constant 2.500000e-01 : f32
    %eps = arith.constant 9.99999974E-6 : f32
    %m = arith.mulf %v, %q : f32
    %me = arith.addf %m, %eps : f32
    %i = math.rsqrt %me : f32
    %r = arith.mulf %a, %i : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// -----

// RMSNorm: x * rsqrt(mean(x^2) + eps) * gamma, here with 1/sqrt and the
// gamma factor first.
// CHECK-LABEL: func.func @rmsnorm
// CHECK: %[[N:.*]] = trn.rmsnorm %arg0 scale %arg1 : tensor<8xf32> {epsilon = 9.99999997E-7 : f32} : tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT: return %[[N]]
func.func @rmsnorm(%x: tensor<4x8xf32>, %g: tensor<8xf32>) -> tensor<4x8xf32> {
  %sq = trn.ewise(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32):
    %r = arith.mulf %a, %a : f32
    trn.yield %r : f32
  }
  %ss = trn.reduce "sum" %sq {axes = array<i64: 1>, keep_dims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
  %y = trn.ewise(%g, %x, %ss) : (tensor<8xf32>, tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32> {
  ^bb0(%gg: f32, %a: f32, %v: f32):
    %one = arith.constant 1.000000e+00 : f32
    %q = arith.constant 1.250000e-01 : f32
    %eps = arith.constant 9.99999997E-7 : f32
    %m = arith.mulf %v, %q : f32
    %me = arith.addf %m, %eps : f32
    %sd = math.sqrt %me : f32
    %i = arith.divf %one, %sd : f32
    %gx = arith.mulf %gg, %a : f32
    %r = arith.mulf %gx, %i : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// Not recognised: the mean is of x, not of x^2.
// CHECK-LABEL: func.func @rmsnorm_without_square
// CHECK-NOT: trn.rmsnorm
// CHECK: math.rsqrt
func.func @rmsnorm_without_square(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %ss = trn.reduce "sum" %x {axes = array<i64: 1>, keep_dims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
  %y = trn.ewise(%x, %ss) : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32, %v: f32):
    %q = arith.constant 1.250000e-01 : f32
    %eps = arith.constant 9.99999997E-7 : f32
    %m = arith.mulf %v, %q : f32
    %me = arith.addf %m, %eps : f32
    %i = math.rsqrt %me : f32
    %r = arith.mulf %a, %i : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// -----

// RMSNorm of a product (gate * up): the core x is itself a product, kept
// whole when the normalisation's factors are split.
// CHECK-LABEL: func.func @rms_of_product
// CHECK: %[[X:.*]] = trn.ewise
// CHECK: trn.rmsnorm %[[X]]
func.func @rms_of_product(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %x = trn.ewise(%a, %b) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%p: f32, %q: f32):
    %r = arith.mulf %p, %q : f32
    trn.yield %r : f32
  }
  %sq = trn.ewise(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%p: f32):
    %r = arith.mulf %p, %p : f32
    trn.yield %r : f32
  }
  %ss = trn.reduce "sum" %sq {axes = array<i64: 1>, keep_dims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
  %y = trn.ewise(%x, %ss) : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32> {
  ^bb0(%p: f32, %v: f32):
    %c = arith.constant 1.250000e-01 : f32
    %eps = arith.constant 9.99999997E-7 : f32
    %m = arith.mulf %v, %c : f32
    %me = arith.addf %m, %eps : f32
    %i = math.rsqrt %me : f32
    %r = arith.mulf %p, %i : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// -----

// RMSNorm dividing by the standard deviation, x / sqrt(mean(x^2) + eps)
// (the LayerNorm of the original BERT code is written the same way).
// CHECK-LABEL: func.func @rms_by_division
// CHECK: trn.rmsnorm %arg0
func.func @rms_by_division(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %sq = trn.ewise(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%p: f32):
    %r = arith.mulf %p, %p : f32
    trn.yield %r : f32
  }
  %ss = trn.reduce "sum" %sq {axes = array<i64: 1>, keep_dims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
  %y = trn.ewise(%x, %ss) : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32> {
  ^bb0(%p: f32, %v: f32):
    %c = arith.constant 1.250000e-01 : f32
    %eps = arith.constant 9.99999997E-7 : f32
    %m = arith.mulf %v, %c : f32
    %me = arith.addf %m, %eps : f32
    %s = math.sqrt %me : f32
    %r = arith.divf %p, %s : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}
