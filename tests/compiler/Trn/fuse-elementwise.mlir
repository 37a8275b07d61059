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
