// RUN: trnx-opt %s --pass-pipeline='builtin.module(func.func(trn-auto-cast{mode=some}))' -verify-diagnostics
// RUN: not trnx-opt %s --pass-pipeline='builtin.module(func.func(trn-auto-cast{type=int4}))' 2>&1 | FileCheck %s

// A bad option is reported once, at the function.
// CHECK: error: --auto-cast-type must be bf16, fp16 or fp8e4m3, not 'int4'
// expected-error @+1 {{--auto-cast must be none, matmul or all, not 'some'}}
func.func @f(%a: tensor<4x16xf32>, %w: tensor<16x8xf32>) -> tensor<4x8xf32> {
  %mm = trn.matmul %a, %w : tensor<4x16xf32>, tensor<16x8xf32> -> tensor<4x8xf32>
  return %mm : tensor<4x8xf32>
}
