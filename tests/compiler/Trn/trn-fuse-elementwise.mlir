// RUN: trnx-opt %s --pass-pipeline='builtin.module(func.func(trn-fuse-elementwise))' | FileCheck %s

// A chain of single-use elementwise ops becomes one body, and the consumer
// of a matmul becomes its epilogue.
// CHECK-LABEL: func.func @mlp
// CHECK: trn.matmul %arg0, %arg1 epilogue(%arg2 : tensor<32xf32>)
// CHECK-NEXT: ^bb0(%[[ACC:.*]]: f32, %[[B:.*]]: f32):
// CHECK-NEXT:   %[[S:.*]] = arith.addf %[[ACC]], %[[B]] : f32
// CHECK-NEXT:   %[[E:.*]] = math.exp %[[S]] : f32
// CHECK-NEXT:   trn.yield %[[E]] : f32
// CHECK-NOT: trn.ewise
func.func @mlp(%a: tensor<4x64xf32>, %w: tensor<64x32xf32>, %b: tensor<32xf32>) -> tensor<4x32xf32> {
  %mm = trn.matmul %a, %w : tensor<4x64xf32>, tensor<64x32xf32> -> tensor<4x32xf32>
  %s = trn.ewise(%mm, %b) : (tensor<4x32xf32>, tensor<32xf32>) -> tensor<4x32xf32> {
  ^bb0(%x: f32, %y: f32):
    %r = arith.addf %x, %y : f32
    trn.yield %r : f32
  }
  %e = trn.ewise(%s) : (tensor<4x32xf32>) -> tensor<4x32xf32> {
  ^bb0(%x: f32):
    %r = math.exp %x : f32
    trn.yield %r : f32
  }
  return %e : tensor<4x32xf32>
}

// A producer used twice is not duplicated into its consumers.
// CHECK-LABEL: func.func @shared
// CHECK-COUNT-3: trn.ewise
func.func @shared(%a: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %e = trn.ewise(%a) : (tensor<8xf32>) -> tensor<8xf32> {
  ^bb0(%x: f32):
    %r = math.exp %x : f32
    trn.yield %r : f32
  }
  %n = trn.ewise(%e) : (tensor<8xf32>) -> tensor<8xf32> {
  ^bb0(%x: f32):
    %r = arith.negf %x : f32
    trn.yield %r : f32
  }
  %t = trn.ewise(%e) : (tensor<8xf32>) -> tensor<8xf32> {
  ^bb0(%x: f32):
    %r = math.tanh %x : f32
    trn.yield %r : f32
  }
  return %n, %t : tensor<8xf32>, tensor<8xf32>
}

// Splat constants become constants inside the body.
// CHECK-LABEL: func.func @splat
// CHECK: trn.ewise(%arg0) : (tensor<8xf32>) -> tensor<8xf32>
// CHECK: arith.constant 2.000000e+00 : f32
func.func @splat(%a: tensor<8xf32>) -> tensor<8xf32> {
  %c = arith.constant dense<2.0> : tensor<8xf32>
  %m = trn.ewise(%a, %c) : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32> {
  ^bb0(%x: f32, %y: f32):
    %r = arith.mulf %x, %y : f32
    trn.yield %r : f32
  }
  return %m : tensor<8xf32>
}

// A producer whose result is broadcast (4x1 read as 4x8) stays separate:
// fusing it would recompute it once per broadcast element.
// CHECK-LABEL: func.func @broadcast_producer
// CHECK: %[[E:.*]] = trn.ewise(%arg0) : (tensor<4x1xf32>) -> tensor<4x1xf32>
// CHECK: math.exp
// CHECK: trn.ewise(%arg1, %[[E]]) : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
func.func @broadcast_producer(%a: tensor<4x1xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = trn.ewise(%a) : (tensor<4x1xf32>) -> tensor<4x1xf32> {
  ^bb0(%x: f32):
    %r = math.exp %x : f32
    trn.yield %r : f32
  }
  %m = trn.ewise(%b, %e) : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: f32, %y: f32):
    %r = arith.mulf %x, %y : f32
    trn.yield %r : f32
  }
  return %m : tensor<4x8xf32>
}

// A tensor passed twice is read once.
// CHECK-LABEL: func.func @duplicate_input
// CHECK: trn.ewise(%arg0) : (tensor<8xf32>) -> tensor<8xf32>
// CHECK-NEXT: ^bb0(%[[X:.*]]: f32):
// CHECK-NEXT: arith.mulf %[[X]], %[[X]] : f32
func.func @duplicate_input(%a: tensor<8xf32>) -> tensor<8xf32> {
  %m = trn.ewise(%a, %a) : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32> {
  ^bb0(%x: f32, %y: f32):
    %r = arith.mulf %x, %y : f32
    trn.yield %r : f32
  }
  return %m : tensor<8xf32>
}

// The epilogue is found through a reshape of the matmul result (TOSA's
// rank-3 matmul of a rank-2 model); the reshape moves after the matmul.
// CHECK-LABEL: func.func @matmul_through_reshape
// CHECK: %[[M:.*]] = trn.matmul %arg0, %arg1 epilogue(%arg2 : tensor<4x8xf32>) : tensor<1x4x16xf32>, tensor<1x16x8xf32> -> tensor<1x4x8xf32>
// CHECK: arith.addf
// CHECK: %[[R:.*]] = trn.reshape %[[M]] : tensor<1x4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT: return %[[R]]
func.func @matmul_through_reshape(%a: tensor<1x4x16xf32>, %w: tensor<1x16x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %mm = trn.matmul %a, %w : tensor<1x4x16xf32>, tensor<1x16x8xf32> -> tensor<1x4x8xf32>
  %r2 = trn.reshape %mm : tensor<1x4x8xf32> -> tensor<4x8xf32>
  %y = trn.ewise(%r2, %b) : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: f32, %y: f32):
    %r = arith.addf %x, %y : f32
    trn.yield %r : f32
  }
  return %y : tensor<4x8xf32>
}

// A matmul result that is also returned is not folded into an epilogue.
// CHECK-LABEL: func.func @matmul_result_shared
// CHECK: %[[M:.*]] = trn.matmul %arg0, %arg1 : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT: trn.ewise(%[[M]])
func.func @matmul_result_shared(%a: tensor<4x16xf32>, %w: tensor<16x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %mm = trn.matmul %a, %w : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32>
  %y = trn.ewise(%mm) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: f32):
    %r = math.exp %x : f32
    trn.yield %r : f32
  }
  return %y, %mm : tensor<4x8xf32>, tensor<4x8xf32>
}

// A comparison producer (i1) is read as 0/1 by its f32 consumer.
// CHECK-LABEL: func.func @compare_producer
// CHECK-NOT: tensor<8xi1>
// CHECK: trn.ewise(%arg1, %arg0) : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
// CHECK: %[[C:.*]] = arith.cmpf ogt
// CHECK: %[[S:.*]] = arith.select %[[C]], %{{.*}}, %{{.*}} : f32
// CHECK: arith.mulf %[[S]]
func.func @compare_producer(%a: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<8xf32> {
  %c = trn.ewise(%a) : (tensor<8xf32>) -> tensor<8xi1> {
  ^bb0(%x: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.cmpf ogt, %x, %z : f32
    trn.yield %r : i1
  }
  %m = trn.ewise(%c, %b) : (tensor<8xi1>, tensor<8xf32>) -> tensor<8xf32> {
  ^bb0(%x: f32, %y: f32):
    %r = arith.mulf %x, %y : f32
    trn.yield %r : f32
  }
  return %m : tensor<8xf32>
}

// A cast of a norm's only result (through a reshape) becomes the norm's
// result type: no kernel of its own.
// CHECK-LABEL: func.func @norm_cast
// CHECK: %[[N:.*]] = trn.rmsnorm %arg0 {{.*}} : tensor<1x64xf32> -> tensor<1x64xbf16>
// CHECK-NEXT: %[[R:.*]] = trn.reshape %[[N]] : tensor<1x64xbf16> -> tensor<1x1x64xbf16>
// CHECK-NEXT: return %[[R]]
func.func @norm_cast(%a: tensor<1x64xf32>) -> tensor<1x1x64xbf16> {
  %n = trn.rmsnorm %a {epsilon = 1.0e-05 : f32} : tensor<1x64xf32> -> tensor<1x64xf32>
  %r = trn.reshape %n : tensor<1x64xf32> -> tensor<1x1x64xf32>
  %c = trn.ewise(%r) : (tensor<1x1x64xf32>) -> tensor<1x1x64xbf16> {
  ^bb0(%x: f32):
    trn.yield %x : f32
  }
  return %c : tensor<1x1x64xbf16>
}

// A unary consumer of a reshaped elementwise producer fuses with it; the
// reshape moves after the fused op.
// CHECK-LABEL: func.func @cast_through_reshape
// CHECK: %[[E:.*]] = trn.ewise(%arg0, %arg1) : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x16xbf16>
// CHECK: arith.addf
// CHECK: %[[R:.*]] = trn.reshape %[[E]] : tensor<8x16xbf16> -> tensor<128xbf16>
// CHECK-NEXT: return %[[R]]
func.func @cast_through_reshape(%a: tensor<8x16xf32>, %b: tensor<8x16xf32>) -> tensor<128xbf16> {
  %s = trn.ewise(%a, %b) : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x16xf32> {
  ^bb0(%x: f32, %y: f32):
    %r = arith.addf %x, %y : f32
    trn.yield %r : f32
  }
  %r = trn.reshape %s : tensor<8x16xf32> -> tensor<128xf32>
  %c = trn.ewise(%r) : (tensor<128xf32>) -> tensor<128xbf16> {
  ^bb0(%x: f32):
    trn.yield %x : f32
  }
  return %c : tensor<128xbf16>
}

// A widening cast of a matmul operand (an fp8 K/V cache dequantised to
// bf16) is read on chip: the matmul takes the fp8 tensor. A narrowing cast
// stays: it changes the values.
// CHECK-LABEL: func.func @dequantised_operand
// CHECK-NOT: trn.ewise
// CHECK: trn.matmul %arg0, %arg1 : tensor<4x64xbf16>, tensor<64x32xf8E4M3FN> -> tensor<4x32xf32>
// CHECK-LABEL: func.func @narrowing_operand
// CHECK: trn.ewise
// CHECK: trn.matmul
func.func @dequantised_operand(%q: tensor<4x64xbf16>, %k: tensor<64x32xf8E4M3FN>) -> tensor<4x32xf32> {
  %c = trn.ewise(%k) : (tensor<64x32xf8E4M3FN>) -> tensor<64x32xbf16> {
  ^bb0(%x: f32):
    trn.yield %x : f32
  }
  %mm = trn.matmul %q, %c : tensor<4x64xbf16>, tensor<64x32xbf16> -> tensor<4x32xf32>
  return %mm : tensor<4x32xf32>
}
func.func @narrowing_operand(%q: tensor<4x64xbf16>, %k: tensor<64x32xf32>) -> tensor<4x32xf32> {
  %c = trn.ewise(%k) : (tensor<64x32xf32>) -> tensor<64x32xbf16> {
  ^bb0(%x: f32):
    trn.yield %x : f32
  }
  %mm = trn.matmul %q, %c : tensor<4x64xbf16>, tensor<64x32xbf16> -> tensor<4x32xf32>
  return %mm : tensor<4x32xf32>
}

// Rotate-half (RoPE) as tosa.concat lowers it: an insert_slice chain into an
// empty tensor becomes trn.concat, the elementwise consumer splits over its
// two halves (cos/sin sliced to each half) and the negate fuses into the first.
// CHECK-LABEL: func.func @rotate_half
// CHECK-NOT: trn.insert_slice
// CHECK: %[[LO:.*]] = trn.ewise({{.*}}) -> tensor<2x4xbf16>
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.negf
// CHECK: %[[HI:.*]] = trn.ewise({{.*}}) -> tensor<2x4xbf16>
// CHECK-NOT: arith.negf
// CHECK: %[[CAT:.*]] = trn.concat(%[[LO]], %[[HI]]) {axis = 1 : i64} : (tensor<2x4xbf16>, tensor<2x4xbf16>) -> tensor<2x8xbf16>
// CHECK-NEXT: %[[R:.*]] = trn.reshape %[[CAT]] : tensor<2x8xbf16> -> tensor<16xbf16>
// CHECK-NEXT: return %[[R]]
func.func @rotate_half(%x: tensor<2x8xf32>, %cos: tensor<1x8xf32>, %sin: tensor<1x8xf32>) -> tensor<16xbf16> {
  %x1 = trn.slice %x {offsets = array<i64: 0, 0>, strides = array<i64: 1, 1>} : tensor<2x8xf32> -> tensor<2x4xf32>
  %x2 = trn.slice %x {offsets = array<i64: 0, 4>, strides = array<i64: 1, 1>} : tensor<2x8xf32> -> tensor<2x4xf32>
  %n = trn.ewise(%x2) : (tensor<2x4xf32>) -> tensor<2x4xf32> {
  ^bb0(%a: f32):
    %r = arith.negf %a : f32
    trn.yield %r : f32
  }
  %e = trn.empty : tensor<2x8xf32>
  %c0 = trn.insert_slice %n into %e {offsets = array<i64: 0, 0>, strides = array<i64: 1, 1>} : tensor<2x4xf32> into tensor<2x8xf32> -> tensor<2x8xf32>
  %c1 = trn.insert_slice %x1 into %c0 {offsets = array<i64: 0, 4>, strides = array<i64: 1, 1>} : tensor<2x4xf32> into tensor<2x8xf32> -> tensor<2x8xf32>
  %y = trn.ewise(%x, %cos, %c1, %sin) : (tensor<2x8xf32>, tensor<1x8xf32>, tensor<2x8xf32>, tensor<1x8xf32>) -> tensor<2x8xf32> {
  ^bb0(%a: f32, %c: f32, %r: f32, %s: f32):
    %p = arith.mulf %a, %c : f32
    %q = arith.mulf %r, %s : f32
    %t = arith.addf %p, %q : f32
    trn.yield %t : f32
  }
  %flat = trn.reshape %y : tensor<2x8xf32> -> tensor<16xf32>
  %b = trn.ewise(%flat) : (tensor<16xf32>) -> tensor<16xbf16> {
  ^bb0(%a: f32):
    trn.yield %a : f32
  }
  return %b : tensor<16xbf16>
}

// Insert_slice chains that do not tile one axis stay as they are.
// CHECK-LABEL: func.func @not_a_concat
// CHECK: trn.insert_slice
// CHECK-NOT: trn.concat
func.func @not_a_concat(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>) -> tensor<2x8xf32> {
  %e = trn.empty : tensor<2x8xf32>
  %c0 = trn.insert_slice %a into %e {offsets = array<i64: 0, 0>, strides = array<i64: 1, 1>} : tensor<2x4xf32> into tensor<2x8xf32> -> tensor<2x8xf32>
  %c1 = trn.insert_slice %b into %c0 {offsets = array<i64: 0, 0>, strides = array<i64: 1, 1>} : tensor<2x4xf32> into tensor<2x8xf32> -> tensor<2x8xf32>
  return %c1 : tensor<2x8xf32>
}

// Two chains sharing one empty tensor (CSE merges equal trn.empty ops, as in
// a model's layers) are both concatenations.
// CHECK-LABEL: func.func @shared_empty
// CHECK-NOT: trn.insert_slice
// CHECK-COUNT-2: trn.concat
func.func @shared_empty(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %e = trn.empty : tensor<2x8xf32>
  %c0 = trn.insert_slice %a into %e {offsets = array<i64: 0, 0>, strides = array<i64: 1, 1>} : tensor<2x4xf32> into tensor<2x8xf32> -> tensor<2x8xf32>
  %c1 = trn.insert_slice %b into %c0 {offsets = array<i64: 0, 4>, strides = array<i64: 1, 1>} : tensor<2x4xf32> into tensor<2x8xf32> -> tensor<2x8xf32>
  %d0 = trn.insert_slice %b into %e {offsets = array<i64: 0, 0>, strides = array<i64: 1, 1>} : tensor<2x4xf32> into tensor<2x8xf32> -> tensor<2x8xf32>
  %d1 = trn.insert_slice %a into %d0 {offsets = array<i64: 0, 4>, strides = array<i64: 1, 1>} : tensor<2x4xf32> into tensor<2x8xf32> -> tensor<2x8xf32>
  return %c1, %d1 : tensor<2x8xf32>, tensor<2x8xf32>
}
