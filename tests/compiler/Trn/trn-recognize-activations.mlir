// RUN: trnx-opt %s --pass-pipeline='builtin.module(func.func(trn-recognize-activations))' | FileCheck %s

// SiLU: x * sigmoid(x) with sigmoid written as 1 / (1 + exp(-x)); the
// composed ops are erased.
// CHECK-LABEL: func.func @silu
// CHECK: ^bb0(%[[X:.*]]: f32):
// CHECK-NEXT: %[[A:.*]] = trn.act "silu" %[[X]]
// CHECK-NEXT: trn.yield %[[A]] : f32
func.func @silu(%in: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = trn.ewise(%in) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: f32):
    %one = arith.constant 1.000000e+00 : f32
    %n = arith.negf %x : f32
    %e = math.exp %n : f32
    %d = arith.addf %one, %e : f32
    %s = arith.divf %one, %d : f32
    %r = arith.mulf %x, %s : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// Sigmoid of one value times another is a sigmoid, not a SiLU.
// CHECK-LABEL: func.func @gated_sigmoid
// CHECK: ^bb0(%[[X:.*]]: f32, %[[G:.*]]: f32):
// CHECK-NEXT: %[[S:.*]] = trn.act "sigmoid" %[[G]]
// CHECK-NEXT: %[[R:.*]] = arith.mulf %[[X]], %[[S]] : f32
// CHECK-NEXT: trn.yield %[[R]] : f32
// CHECK-NOT: "silu"
func.func @gated_sigmoid(%in: tensor<4x8xf32>, %gate: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = trn.ewise(%in, %gate) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: f32, %g: f32):
    %one = arith.constant 1.000000e+00 : f32
    %n = arith.negf %g : f32
    %e = math.exp %n : f32
    %d = arith.addf %one, %e : f32
    %s = arith.divf %one, %d : f32
    %r = arith.mulf %x, %s : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// GELU, erf form: 0.5 * x * (1 + erf(x / sqrt(2))).
// CHECK-LABEL: func.func @gelu_erf
// CHECK: ^bb0(%[[X:.*]]: f32):
// CHECK-NEXT: %[[A:.*]] = trn.act "gelu" %[[X]]
// CHECK-NEXT: trn.yield %[[A]] : f32
func.func @gelu_erf(%in: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = trn.ewise(%in) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: f32):
    %half = arith.constant 5.000000e-01 : f32
    %one = arith.constant 1.000000e+00 : f32
    %rs2 = arith.constant 0.707106769 : f32
    %u = arith.mulf %x, %rs2 : f32
    %t = math.erf %u : f32
    %p = arith.addf %t, %one : f32
    %hx = arith.mulf %x, %half : f32
    %r = arith.mulf %hx, %p : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// Not GELU: the erf argument is x * 0.8, not x / sqrt(2).
// CHECK-LABEL: func.func @not_gelu
// CHECK-NOT: trn.act
// CHECK: math.erf
func.func @not_gelu(%in: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = trn.ewise(%in) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: f32):
    %half = arith.constant 5.000000e-01 : f32
    %one = arith.constant 1.000000e+00 : f32
    %k = arith.constant 8.000000e-01 : f32
    %u = arith.mulf %x, %k : f32
    %t = math.erf %u : f32
    %p = arith.addf %t, %one : f32
    %hx = arith.mulf %x, %half : f32
    %r = arith.mulf %hx, %p : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// GELU, tanh form: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))).
// CHECK-LABEL: func.func @gelu_tanh
// CHECK: ^bb0(%[[X:.*]]: f32):
// CHECK-NEXT: %[[A:.*]] = trn.act "gelu_tanh" %[[X]]
// CHECK-NEXT: trn.yield %[[A]] : f32
func.func @gelu_tanh(%in: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = trn.ewise(%in) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: f32):
    %half = arith.constant 5.000000e-01 : f32
    %one = arith.constant 1.000000e+00 : f32
    %c = arith.constant 4.471500e-02 : f32
    %k = arith.constant 0.797884583 : f32
    %x2 = arith.mulf %x, %x : f32
    %x3 = arith.mulf %x2, %x : f32
    %cx3 = arith.mulf %x3, %c : f32
    %s = arith.addf %x, %cx3 : f32
    %u = arith.mulf %s, %k : f32
    %t = math.tanh %u : f32
    %p = arith.addf %one, %t : f32
    %hx = arith.mulf %x, %half : f32
    %r = arith.mulf %hx, %p : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// ReLU: max(x, 0), and TOSA's clamp to [0, FLT_MAX].
// CHECK-LABEL: func.func @relu
// CHECK: trn.act "relu"
// CHECK-NOT: arith.maximumf
// CHECK-LABEL: func.func @clamp_relu
// CHECK: trn.act "relu"
// CHECK-NOT: arith.minimumf
func.func @relu(%in: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = trn.ewise(%in) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: f32):
    %z = arith.constant 0.000000e+00 : f32
    %r = arith.maximumf %x, %z : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}
func.func @clamp_relu(%in: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = trn.ewise(%in) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: f32):
    %z = arith.constant 0.000000e+00 : f32
    %big = arith.constant 3.40282347E+38 : f32
    %lo = arith.maximumf %x, %z : f32
    %r = arith.minimumf %lo, %big : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// Not ReLU: max(x, 1) is a clamp at 1.
// CHECK-LABEL: func.func @max_with_one
// CHECK-NOT: trn.act
// CHECK: arith.maximumf
func.func @max_with_one(%in: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = trn.ewise(%in) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: f32):
    %one = arith.constant 1.000000e+00 : f32
    %r = arith.maximumf %x, %one : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// Matmul epilogues are searched too: bias add, then SiLU of the sum.
// CHECK-LABEL: func.func @matmul_epilogue
// CHECK: ^bb0(%[[ACC:.*]]: f32, %[[B:.*]]: f32):
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[ACC]], %[[B]] : f32
// CHECK-NEXT: %[[A:.*]] = trn.act "silu" %[[S]]
// CHECK-NEXT: trn.yield %[[A]] : f32
func.func @matmul_epilogue(%a: tensor<4x16xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %y = trn.matmul %a, %w epilogue(%b : tensor<8xf32>) : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32> {
  ^bb0(%acc: f32, %bias: f32):
    %one = arith.constant 1.000000e+00 : f32
    %x = arith.addf %acc, %bias : f32
    %n = arith.negf %x : f32
    %e = math.exp %n : f32
    %d = arith.addf %one, %e : f32
    %s = arith.divf %one, %d : f32
    %r = arith.mulf %x, %s : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// GELU (tanh form) of a sum: after fusion its argument is matmul + bias in
// the epilogue (GPT-2's MLP, examples/models/decoder_layer.mlir); the sum
// stays one operand of the pattern.
// CHECK-LABEL: func.func @gelu_tanh_of_bias_add
// CHECK: ^bb0(%[[ACC:.*]]: f32, %[[B:.*]]: f32):
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[ACC]], %[[B]] : f32
// CHECK-NEXT: %[[A:.*]] = trn.act "gelu_tanh" %[[S]]
// CHECK-NEXT: trn.yield %[[A]] : f32
func.func @gelu_tanh_of_bias_add(%a: tensor<4x16xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %y = trn.matmul %a, %w epilogue(%b : tensor<8xf32>) : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32> {
  ^bb0(%acc: f32, %bias: f32):
    %x = arith.addf %acc, %bias : f32
    %x2 = arith.mulf %x, %x : f32
    %x3 = arith.mulf %x2, %x : f32
    %c = arith.constant 4.471500e-02 : f32
    %cx3 = arith.mulf %x3, %c : f32
    %p = arith.addf %x, %cx3 : f32
    %k = arith.constant 0.797884583 : f32
    %u = arith.mulf %p, %k : f32
    %t = math.tanh %u : f32
    %one = arith.constant 1.000000e+00 : f32
    %t1 = arith.addf %t, %one : f32
    %half = arith.constant 5.000000e-01 : f32
    %hx = arith.mulf %x, %half : f32
    %r = arith.mulf %hx, %t1 : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// SiLU written with a division, x / (1 + exp(-x)) (linalg from exporters that
// keep the division): one activation.
// CHECK-LABEL: func.func @silu_as_division
// CHECK: ^bb0(%[[X:.*]]: f32):
// CHECK-NEXT: %[[A:.*]] = trn.act "silu" %[[X]]
// CHECK-NEXT: trn.yield %[[A]] : f32
func.func @silu_as_division(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = trn.ewise(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: f32):
    %n = arith.negf %a : f32
    %e = math.exp %n : f32
    %one = arith.constant 1.000000e+00 : f32
    %d = arith.addf %e, %one : f32
    %r = arith.divf %a, %d : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}
