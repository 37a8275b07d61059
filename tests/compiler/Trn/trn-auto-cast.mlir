// RUN: trnx-opt %s --pass-pipeline='builtin.module(func.func(trn-auto-cast))' | FileCheck %s --check-prefix=MATMUL
// RUN: trnx-opt %s --pass-pipeline='builtin.module(func.func(trn-auto-cast{mode=none}))' | FileCheck %s --check-prefix=NONE
// RUN: trnx-opt %s --pass-pipeline='builtin.module(func.func(trn-auto-cast{mode=all}))' | FileCheck %s --check-prefix=ALL
// RUN: trnx-opt %s --pass-pipeline='builtin.module(func.func(trn-auto-cast{type=fp8e4m3}))' | FileCheck %s --check-prefix=FP8
// RUN: trnx-opt %s --pass-pipeline='builtin.module(func.func(trn-auto-cast{type=fp16}))' | FileCheck %s --check-prefix=FP16

// Default (matmul): every float matmul multiplies bf16 operands (the PE
// accumulates in f32 regardless); tensor types do not change.
// MATMUL-LABEL: func.func @block
// MATMUL: trn.matmul %arg0, %arg1 {operand_type = bf16} : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32>
// MATMUL: trn.ewise(%{{.*}}) : (tensor<4x8xf32>) -> tensor<4x8xf32>
// MATMUL: trn.softmax %{{.*}} : tensor<4x8xf32> -> tensor<4x8xf32>
// MATMUL: trn.matmul %arg2, %arg3 {operand_type = bf16} : tensor<4x16xbf16>, tensor<16x8xbf16>

// none: f32 operands stay f32; operands that are already bf16 stay bf16.
// NONE-LABEL: func.func @block
// NONE: trn.matmul %arg0, %arg1 {operand_type = f32} : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32>
// NONE: trn.ewise(%{{.*}}) : (tensor<4x8xf32>) -> tensor<4x8xf32>
// NONE: trn.matmul %arg2, %arg3 {operand_type = bf16}

// all: also intermediates read only by compute ops are stored in bf16; a
// returned value keeps its type.
// ALL-LABEL: func.func @block
// ALL: %[[M:.*]] = trn.matmul %arg0, %arg1 {operand_type = bf16} : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xbf16>
// ALL: %[[E:.*]] = trn.ewise(%[[M]]) : (tensor<4x8xbf16>) -> tensor<4x8xbf16>
// ALL: trn.softmax %[[E]] : tensor<4x8xbf16> -> tensor<4x8xf32>
// ALL: trn.matmul %arg2, %arg3 {operand_type = bf16} : tensor<4x16xbf16>, tensor<16x8xbf16> -> tensor<4x8xf32>

// Only fp32 operations are cast (as neuronx-cc does): bf16 operands stay
// bf16 whatever the cast type.
// FP8: trn.matmul %arg0, %arg1 {operand_type = f8E4M3FN}
// FP8: trn.matmul %arg2, %arg3 {operand_type = bf16}
// FP16: trn.matmul %arg0, %arg1 {operand_type = f16}
// FP16: trn.matmul %arg2, %arg3 {operand_type = bf16}
func.func @block(%a: tensor<4x16xf32>, %w: tensor<16x8xf32>, %hb: tensor<4x16xbf16>, %wb: tensor<16x8xbf16>)
    -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %mm = trn.matmul %a, %w : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32>
  %e = trn.ewise(%mm) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%x: f32):
    %r = math.exp %x : f32
    trn.yield %r : f32
  }
  %s = trn.softmax %e : tensor<4x8xf32> -> tensor<4x8xf32>
  %m2 = trn.matmul %hb, %wb : tensor<4x16xbf16>, tensor<16x8xbf16> -> tensor<4x8xf32>
  return %s, %m2 : tensor<4x8xf32>, tensor<4x8xf32>
}

// Integer matmuls are never cast, in any mode.
// MATMUL-LABEL: func.func @integer_matmul
// MATMUL: trn.matmul %arg0, %arg1 {operand_type = i8} : tensor<4x16xi8>, tensor<16x8xi8> -> tensor<4x8xi32>
// ALL-LABEL: func.func @integer_matmul
// ALL: {operand_type = i8} : tensor<4x16xi8>, tensor<16x8xi8> -> tensor<4x8xi32>
func.func @integer_matmul(%a: tensor<4x16xi8>, %w: tensor<16x8xi8>) -> tensor<4x8xi32> {
  %mm = trn.matmul %a, %w : tensor<4x16xi8>, tensor<16x8xi8> -> tensor<4x8xi32>
  return %mm : tensor<4x8xi32>
}

// Operands already narrower than the cast type are not widened: fp8 inputs
// multiply in fp8 under the default bf16 cast; mixed fp8/bf16 use the wider.
// MATMUL-LABEL: func.func @narrow_operands
// MATMUL: trn.matmul %arg0, %arg1 {operand_type = f8E4M3FN}
// MATMUL: trn.matmul %arg0, %arg2 {operand_type = bf16}
// MATMUL: trn.matmul %arg3, %arg1 {operand_type = bf16}
// NONE-LABEL: func.func @narrow_operands
// NONE: trn.matmul %arg0, %arg1 {operand_type = f8E4M3FN}
// NONE: trn.matmul %arg0, %arg2 {operand_type = bf16}
// NONE: trn.matmul %arg3, %arg1 {operand_type = f32}
func.func @narrow_operands(%a: tensor<4x16xf8E4M3FN>, %w: tensor<16x8xf8E4M3FN>, %wb: tensor<16x8xbf16>,
                           %af: tensor<4x16xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %m0 = trn.matmul %a, %w : tensor<4x16xf8E4M3FN>, tensor<16x8xf8E4M3FN> -> tensor<4x8xf32>
  %m1 = trn.matmul %a, %wb : tensor<4x16xf8E4M3FN>, tensor<16x8xbf16> -> tensor<4x8xf32>
  %m2 = trn.matmul %af, %w : tensor<4x16xf32>, tensor<16x8xf8E4M3FN> -> tensor<4x8xf32>
  return %m0, %m1, %m2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}
