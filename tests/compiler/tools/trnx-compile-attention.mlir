// RUN: trnx-compile %s --emit=asm | FileCheck %s
// RUN: trnx-compile %s --target %S/inputs/os-array.yaml --emit=asm | FileCheck %s --check-prefix=OS

// trn.attention lowers to one fused kernel: Q K^T and P V on the PE, the
// diagonal tiles masked by affine_select, exp with the row sums on ACT, P
// transposed through the PE; only q, k, v and the result touch HBM (no
// scratch tensor for scores).
// CHECK: .tensor out0 output bf16 [2,512,128]
// CHECK-NOT: .tensor
// CHECK: matmul
// CHECK: affine_select
// CHECK: activation {{.*}}exp
// CHECK: {{^ +transpose dst}}
// An output-stationary array multiplies both products with matmul_os, no PE transposes.
// OS: matmul_os
// OS-NOT: {{^ +transpose dst}}
func.func @main(%q: tensor<2x512x128xbf16>, %k: tensor<2x128x256xbf16>, %v: tensor<2x256x128xbf16>) -> tensor<2x512x128xbf16> {
  %0 = trn.attention %q, %k, %v {scale = 0.08838834764 : f32, causal = true, group = 2} : tensor<2x512x128xbf16>, tensor<2x128x256xbf16>, tensor<2x256x128xbf16> -> tensor<2x512x128xbf16>
  return %0 : tensor<2x512x128xbf16>
}
