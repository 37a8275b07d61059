// RUN: trnx-opt %s | FileCheck %s
// RUN: trnx-opt %s | trnx-opt | FileCheck %s
// RUN: trnx-opt %s --mlir-print-op-generic | trnx-opt | FileCheck %s

// Every trn op in its custom form, printed and parsed back unchanged
// (also through the generic form).

// CHECK-LABEL: func.func @matmul
// CHECK: trn.matmul %arg0, %arg1 : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32>
// CHECK: trn.matmul %arg2, %arg3 {operand_type = bf16} : tensor<2x4x16xf32>, tensor<1x16x8xf32> -> tensor<2x4x8xf32>
// CHECK: trn.matmul %arg0, %arg1 epilogue(%arg4 : tensor<8xf32>) : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xbf16> {
// CHECK-NEXT: ^bb0(%[[ACC:.*]]: f32, %[[B:.*]]: f32):
// CHECK-NEXT:   %[[S:.*]] = arith.addf %[[ACC]], %[[B]] : f32
// CHECK-NEXT:   %[[A:.*]] = trn.act "gelu" %[[S]]
// CHECK-NEXT:   trn.yield %[[A]] : f32
func.func @matmul(%a: tensor<4x16xf32>, %w: tensor<16x8xf32>, %ba: tensor<2x4x16xf32>, %bw: tensor<1x16x8xf32>,
                  %bias: tensor<8xf32>) -> (tensor<4x8xf32>, tensor<2x4x8xf32>, tensor<4x8xbf16>) {
  %0 = trn.matmul %a, %w : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32>
  %1 = trn.matmul %ba, %bw {operand_type = bf16} : tensor<2x4x16xf32>, tensor<1x16x8xf32> -> tensor<2x4x8xf32>
  %2 = trn.matmul %a, %w epilogue(%bias : tensor<8xf32>) : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xbf16> {
  ^bb0(%acc: f32, %b: f32):
    %s = arith.addf %acc, %b : f32
    %g = trn.act "gelu" %s
    trn.yield %g : f32
  }
  return %0, %1, %2 : tensor<4x8xf32>, tensor<2x4x8xf32>, tensor<4x8xbf16>
}

// CHECK-LABEL: func.func @elementwise
// CHECK: trn.ewise(%arg0, %arg1) : (tensor<4x8xf32>, tensor<1x8xbf16>) -> tensor<4x8xf32> {
// CHECK: trn.act "silu" %{{.*}} {bias = 5.000000e-01 : f32, scale = 2.000000e+00 : f32}
// CHECK: trn.ewise(%arg0) : (tensor<4x8xf32>) -> tensor<4x8xi1> {
// CHECK: trn.yield %{{.*}} : i1
// CHECK: trn.ewise() : () -> tensor<4x8xf32> {
func.func @elementwise(%a: tensor<4x8xf32>, %b: tensor<1x8xbf16>) -> (tensor<4x8xf32>, tensor<4x8xi1>, tensor<4x8xf32>) {
  %0 = trn.ewise(%a, %b) : (tensor<4x8xf32>, tensor<1x8xbf16>) -> tensor<4x8xf32> {
  ^bb0(%x: f32, %y: f32):
    %m = arith.mulf %x, %y : f32
    %s = trn.act "silu" %m {scale = 2.0 : f32, bias = 0.5 : f32}
    trn.yield %s : f32
  }
  %1 = trn.ewise(%a) : (tensor<4x8xf32>) -> tensor<4x8xi1> {
  ^bb0(%x: f32):
    %z = arith.constant 0.0 : f32
    %c = arith.cmpf ogt, %x, %z : f32
    trn.yield %c : i1
  }
  %2 = trn.ewise() : () -> tensor<4x8xf32> {
    %one = arith.constant 1.0 : f32
    trn.yield %one : f32
  }
  return %0, %1, %2 : tensor<4x8xf32>, tensor<4x8xi1>, tensor<4x8xf32>
}

// CHECK-LABEL: func.func @rows
// CHECK: trn.reduce "sum" %arg0 {axes = array<i64: 0, 2>} : tensor<2x4x8xf32> -> tensor<1x4x1xf32>
// CHECK: trn.reduce "max" %arg0 {axes = array<i64: 2>, keep_dims = false} : tensor<2x4x8xf32> -> tensor<2x4xf32>
// CHECK: trn.softmax %arg0 : tensor<2x4x8xf32> -> tensor<2x4x8xf32>
// CHECK: trn.softmax %arg0 {log = true} : tensor<2x4x8xf32> -> tensor<2x4x8xbf16>
// CHECK: trn.layernorm %arg0 scale %arg1 : tensor<8xf32> shift %arg1 : tensor<8xf32> {epsilon = 9.99999974E-6 : f32} : tensor<2x4x8xf32> -> tensor<2x4x8xf32>
// CHECK: trn.layernorm %arg0 {epsilon = 1.000000e-03 : f32} : tensor<2x4x8xf32> -> tensor<2x4x8xf32>
// CHECK: trn.rmsnorm %arg0 scale %arg1 : tensor<8xf32> {epsilon = 9.99999997E-7 : f32} : tensor<2x4x8xf32> -> tensor<2x4x8xf32>
func.func @rows(%x: tensor<2x4x8xf32>, %g: tensor<8xf32>)
    -> (tensor<1x4x1xf32>, tensor<2x4xf32>, tensor<2x4x8xf32>, tensor<2x4x8xbf16>, tensor<2x4x8xf32>, tensor<2x4x8xf32>,
        tensor<2x4x8xf32>) {
  %0 = trn.reduce "sum" %x {axes = array<i64: 0, 2>} : tensor<2x4x8xf32> -> tensor<1x4x1xf32>
  %1 = trn.reduce "max" %x {axes = array<i64: 2>, keep_dims = false} : tensor<2x4x8xf32> -> tensor<2x4xf32>
  %2 = trn.softmax %x : tensor<2x4x8xf32> -> tensor<2x4x8xf32>
  %3 = trn.softmax %x {log = true} : tensor<2x4x8xf32> -> tensor<2x4x8xbf16>
  %4 = trn.layernorm %x scale %g : tensor<8xf32> shift %g : tensor<8xf32> {epsilon = 1.0e-5 : f32} : tensor<2x4x8xf32> -> tensor<2x4x8xf32>
  %5 = trn.layernorm %x {epsilon = 1.0e-3 : f32} : tensor<2x4x8xf32> -> tensor<2x4x8xf32>
  %6 = trn.rmsnorm %x scale %g : tensor<8xf32> {epsilon = 1.0e-6 : f32} : tensor<2x4x8xf32> -> tensor<2x4x8xf32>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<1x4x1xf32>, tensor<2x4xf32>, tensor<2x4x8xf32>, tensor<2x4x8xbf16>,
         tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>
}

// CHECK-LABEL: func.func @data_movement
// CHECK: trn.transpose %arg0 {permutation = array<i64: 2, 0, 1>} : tensor<2x4x8xf32> -> tensor<8x2x4xf32>
// CHECK: trn.reshape %arg0 : tensor<2x4x8xf32> -> tensor<8x8xf32>
// CHECK: trn.slice %arg0 {offsets = array<i64: 1, 0, 2>, strides = array<i64: 1, 2, 3>} : tensor<2x4x8xf32> -> tensor<1x2x2xf32>
// CHECK: trn.concat(%arg0, %arg0) {axis = 2 : i64} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x16xf32>
// CHECK: %[[E:.*]] = trn.empty : tensor<2x4x16xf32>
// CHECK: trn.insert_slice %arg0 into %[[E]] {offsets = array<i64: 0, 0, 8>, strides = array<i64: 1, 1, 1>} : tensor<2x4x8xf32> into tensor<2x4x16xf32> -> tensor<2x4x16xf32>
// CHECK: trn.pad %arg0 {high = array<i64: 0, 1, 0>, low = array<i64: 0, 0, 2>, value = -1.000000e+00 : f32} : tensor<2x4x8xf32> -> tensor<2x5x10xf32>
// CHECK: trn.gather %arg1[%arg2] : tensor<100x8xf32>, tensor<2x3xi32> -> tensor<2x3x8xf32>
func.func @data_movement(%x: tensor<2x4x8xf32>, %table: tensor<100x8xf32>, %ids: tensor<2x3xi32>)
    -> (tensor<8x2x4xf32>, tensor<8x8xf32>, tensor<1x2x2xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2x5x10xf32>,
        tensor<2x3x8xf32>) {
  %0 = trn.transpose %x {permutation = array<i64: 2, 0, 1>} : tensor<2x4x8xf32> -> tensor<8x2x4xf32>
  %1 = trn.reshape %x : tensor<2x4x8xf32> -> tensor<8x8xf32>
  %2 = trn.slice %x {offsets = array<i64: 1, 0, 2>, strides = array<i64: 1, 2, 3>} : tensor<2x4x8xf32> -> tensor<1x2x2xf32>
  %3 = trn.concat(%x, %x) {axis = 2 : i64} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x16xf32>
  %e = trn.empty : tensor<2x4x16xf32>
  %4 = trn.insert_slice %x into %e {offsets = array<i64: 0, 0, 8>, strides = array<i64: 1, 1, 1>} : tensor<2x4x8xf32> into tensor<2x4x16xf32> -> tensor<2x4x16xf32>
  %5 = trn.pad %x {low = array<i64: 0, 0, 2>, high = array<i64: 0, 1, 0>, value = -1.0 : f32} : tensor<2x4x8xf32> -> tensor<2x5x10xf32>
  %6 = trn.gather %table[%ids] : tensor<100x8xf32>, tensor<2x3xi32> -> tensor<2x3x8xf32>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<8x2x4xf32>, tensor<8x8xf32>, tensor<1x2x2xf32>, tensor<2x4x16xf32>,
         tensor<2x4x16xf32>, tensor<2x5x10xf32>, tensor<2x3x8xf32>
}

// The folder: reshape to the same type is the input; reshape of a reshape
// is one reshape.
// RUN: trnx-opt %s --canonicalize | FileCheck %s --check-prefix=FOLD
// FOLD-LABEL: func.func @reshape_folds
// FOLD-NEXT: %[[R:.*]] = trn.reshape %arg0 : tensor<2x4x8xf32> -> tensor<64xf32>
// FOLD-NEXT: return %arg0, %[[R]]
func.func @reshape_folds(%x: tensor<2x4x8xf32>) -> (tensor<2x4x8xf32>, tensor<64xf32>) {
  %0 = trn.reshape %x : tensor<2x4x8xf32> -> tensor<2x4x8xf32>
  %1 = trn.reshape %x : tensor<2x4x8xf32> -> tensor<8x8xf32>
  %2 = trn.reshape %1 : tensor<8x8xf32> -> tensor<64xf32>
  return %0, %2 : tensor<2x4x8xf32>, tensor<64xf32>
}

// Fused attention: defaults (non-causal, group 1, offset 0) are not printed.
// CHECK-LABEL: func.func @attention
// CHECK: trn.attention %arg0, %arg1, %arg2 {scale = 1.250000e-01 : f32} : tensor<2x16x64xf32>, tensor<2x64x24xf32>, tensor<2x24x64xf32> -> tensor<2x16x64xf32>
// CHECK: trn.attention %arg0, %arg1, %arg2 {causal = true, group = 4 : i64, query_offset = 8 : i64, scale = 1.250000e-01 : f32}
func.func @attention(%q: tensor<2x16x64xf32>, %k: tensor<2x64x24xf32>, %v: tensor<2x24x64xf32>)
    -> (tensor<2x16x64xf32>, tensor<2x16x64xbf16>) {
  %0 = trn.attention %q, %k, %v {scale = 0.125 : f32} : tensor<2x16x64xf32>, tensor<2x64x24xf32>, tensor<2x24x64xf32> -> tensor<2x16x64xf32>
  %1 = trn.attention %q, %k, %v {scale = 0.125 : f32, causal = true, group = 4, query_offset = 8} : tensor<2x16x64xf32>, tensor<2x64x24xf32>, tensor<2x24x64xf32> -> tensor<2x16x64xbf16>
  return %0, %1 : tensor<2x16x64xf32>, tensor<2x16x64xbf16>
}
