// Bad input to the compile driver: one `<loc>: error: what` line, exit status 1.
// RUN: not trnx-compile %s -o %t.tnx 2>&1 | FileCheck %s --implicit-check-not=error
// RUN: not trnx-compile %s --target trn2 -o %t.tnx 2>&1 | FileCheck %s --check-prefix=TRN2 --implicit-check-not=error
// RUN: not trnx-compile %s --emit=trn 2>&1 | FileCheck %s --implicit-check-not=error
// RUN: not trnx-compile %s --auto-cast some -o %t.tnx 2>&1 | FileCheck %s --check-prefix=CAST --implicit-check-not=error
// RUN: not trnx-compile %s --target trn9 -o %t.tnx 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not trnx-compile %s --emit=obj 2>&1 | FileCheck %s --check-prefix=EMIT --implicit-check-not=error
// RUN: not trnx-compile %S/inputs/malformed.mlir -o %t.tnx 2>&1 | FileCheck %s --check-prefix=PARSE --implicit-check-not=error

// An op the target cannot run is named with its source location.
// CHECK: {{.*}}trnx-compile-errors.mlir:[[@LINE+6]]:8: error: 'tosa.sin' is not supported on trn3
// TRN2: {{.*}}trnx-compile-errors.mlir:[[@LINE+5]]:8: error: 'tosa.sin' is not supported on trn2
// CAST: error: --auto-cast must be none, matmul or all, not 'some'
// TARGET: error: {{.*}}trn9
// EMIT: error: --emit must be mlir, trn, asm or bin, not 'obj'
func.func @main(%x: tensor<16x64xf32>) -> tensor<16x64xf32> {
  %0 = tosa.sin %x : (tensor<16x64xf32>) -> tensor<16x64xf32>
  return %0 : tensor<16x64xf32>
}

// Malformed MLIR: MLIR's own diagnostic, with its location.
// PARSE: {{.*}}malformed.mlir:3:{{[0-9]+}}: error: {{.*}}
