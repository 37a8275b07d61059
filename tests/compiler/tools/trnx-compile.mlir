// The compile driver end to end: TOSA in, trn dialect / assembly / program out.
// RUN: trnx-compile %s --emit=mlir | FileCheck %s --check-prefix=LINALG
// RUN: trnx-compile %s --emit=trn | FileCheck %s --check-prefix=TRN
// RUN: trnx-compile %s --emit=trn --auto-cast none | FileCheck %s --check-prefix=NOCAST
// RUN: trnx-compile %s --emit=asm | FileCheck %s --check-prefix=ASM
// RUN: trnx-compile %s --target trn2 --emit=asm | FileCheck %s --check-prefix=TRN2
// RUN: trnx-compile %s -o %t.tnx && test -s %t.tnx
// RUN: trnx-compile %s --emit=trn --mlir-print-ir-after=trn-recognize-composites -o /dev/null 2>&1 | FileCheck %s --check-prefix=AFTER

// A small block: x @ W + b, SiLU, softmax, a residual add and LayerNorm.

// --emit=mlir stops after TOSA -> linalg: no trn ops yet.
// LINALG: linalg.batch_matmul
// LINALG: linalg.generic
// LINALG-NOT: trn.

// --emit=trn: the bias add and SiLU are the matmul's epilogue (one trn.act),
// softmax and LayerNorm are recognised, matmul operands are bf16 by default.
// TRN-LABEL: func.func @main
// TRN: %[[H:.*]] = trn.matmul %arg0, %arg1 epilogue(%arg2 : tensor<1x1x32xf32>) {operand_type = bf16}
// TRN-NEXT: ^bb0(%[[ACC:.*]]: f32, %[[B:.*]]: f32):
// TRN-NEXT:   %[[S:.*]] = arith.addf %[[ACC]], %[[B]] : f32
// TRN-NEXT:   %[[A:.*]] = trn.act "silu" %[[S]]
// TRN-NEXT:   trn.yield %[[A]] : f32
// TRN: %[[P:.*]] = trn.softmax %[[H]] : tensor<1x16x32xf32> -> tensor<1x16x32xf32>
// TRN: %[[R:.*]] = trn.ewise(%[[P]], %[[H]])
// TRN: arith.addf
// TRN: trn.layernorm %[[R]] scale %{{.*}} : tensor<32xf32> shift %{{.*}} : tensor<32xf32> {epsilon = 9.99999974E-6 : f32}
// TRN-NOT: trn.reduce
// TRN-NOT: tosa.
// TRN-NOT: linalg.

// NOCAST: trn.matmul %arg0, %arg1 epilogue(%arg2 : tensor<1x1x32xf32>) {operand_type = f32}

// --emit=asm: tensors named from trnx.name (w is a weight without data),
// bf16 operands cast on chip, the PE matmul into PSUM, SiLU on the
// activation engine, and source locations naming the model ops.
// ASM: .target trn3
// ASM: .tensor x input fp32 [1,16,64]
// ASM: .tensor w weight fp32 [1,64,32]
// ASM: .tensor b input fp32 [1,1,32]
// ASM: .tensor y output fp32 [1,16,32]
// ASM: .loc 0 "{{.*}}trnx-compile.mlir" {{[0-9]+}} 8 "tosa.matmul"
// ASM: .stream core=0 engine=pe
// ASM: matmul dst=psum{{.*}} stationary=sbuf{{.*}}:bf16{{.*}} moving=sbuf{{.*}}:bf16
// ASM: .stream core=0 engine=act
// ASM-DAG: tensor_copy dst=sbuf{{.*}}:bf16{{.*}} src=sbuf{{.*}}:fp32
// ASM-DAG: activation {{.*}}func=silu
// ASM-DAG: activation {{.*}}func=exp {{.*}}reduce=add
// ASM: dma_copy dst=hbm[y]

// TRN2: .target trn2

// The standard MLIR flags reach the driver's PassManager.
// AFTER: IR Dump After TrnRecognizeComposites (trn-recognize-composites)
// AFTER: trn.softmax

func.func @main(%x: tensor<1x16x64xf32> {trnx.name = "x"}, %w: tensor<1x64x32xf32> {trnx.name = "w", trnx.role = "weight"},
                %b: tensor<1x1x32xf32> {trnx.name = "b"}, %g: tensor<1x1x32xf32> {trnx.name = "gamma"},
                %beta: tensor<1x1x32xf32> {trnx.name = "beta"}) -> (tensor<1x16x32xf32> {trnx.name = "y"}) {
  %0 = tosa.matmul %x, %w : (tensor<1x16x64xf32>, tensor<1x64x32xf32>) -> tensor<1x16x32xf32>
  %1 = tosa.add %0, %b : (tensor<1x16x32xf32>, tensor<1x1x32xf32>) -> tensor<1x16x32xf32>
  %2 = tosa.sigmoid %1 : (tensor<1x16x32xf32>) -> tensor<1x16x32xf32>
  %h = tosa.mul %1, %2 {shift = 0 : i8} : (tensor<1x16x32xf32>, tensor<1x16x32xf32>) -> tensor<1x16x32xf32>
  %4 = tosa.reduce_max %h {axis = 2 : i32} : (tensor<1x16x32xf32>) -> tensor<1x16x1xf32>
  %5 = tosa.sub %h, %4 : (tensor<1x16x32xf32>, tensor<1x16x1xf32>) -> tensor<1x16x32xf32>
  %6 = tosa.exp %5 : (tensor<1x16x32xf32>) -> tensor<1x16x32xf32>
  %7 = tosa.reduce_sum %6 {axis = 2 : i32} : (tensor<1x16x32xf32>) -> tensor<1x16x1xf32>
  %8 = tosa.reciprocal %7 : (tensor<1x16x1xf32>) -> tensor<1x16x1xf32>
  %p = tosa.mul %6, %8 {shift = 0 : i8} : (tensor<1x16x32xf32>, tensor<1x16x1xf32>) -> tensor<1x16x32xf32>
  %r = tosa.add %p, %h : (tensor<1x16x32xf32>, tensor<1x16x32xf32>) -> tensor<1x16x32xf32>
  %inv_d = "tosa.const"() <{value = dense<3.125000e-02> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %eps = "tosa.const"() <{value = dense<1.000000e-05> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %10 = tosa.reduce_sum %r {axis = 2 : i32} : (tensor<1x16x32xf32>) -> tensor<1x16x1xf32>
  %mean = tosa.mul %10, %inv_d {shift = 0 : i8} : (tensor<1x16x1xf32>, tensor<1x1x1xf32>) -> tensor<1x16x1xf32>
  %c = tosa.sub %r, %mean : (tensor<1x16x32xf32>, tensor<1x16x1xf32>) -> tensor<1x16x32xf32>
  %c2 = tosa.mul %c, %c {shift = 0 : i8} : (tensor<1x16x32xf32>, tensor<1x16x32xf32>) -> tensor<1x16x32xf32>
  %11 = tosa.reduce_sum %c2 {axis = 2 : i32} : (tensor<1x16x32xf32>) -> tensor<1x16x1xf32>
  %var = tosa.mul %11, %inv_d {shift = 0 : i8} : (tensor<1x16x1xf32>, tensor<1x1x1xf32>) -> tensor<1x16x1xf32>
  %12 = tosa.add %var, %eps : (tensor<1x16x1xf32>, tensor<1x1x1xf32>) -> tensor<1x16x1xf32>
  %13 = tosa.rsqrt %12 : (tensor<1x16x1xf32>) -> tensor<1x16x1xf32>
  %14 = tosa.mul %c, %13 {shift = 0 : i8} : (tensor<1x16x32xf32>, tensor<1x16x1xf32>) -> tensor<1x16x32xf32>
  %15 = tosa.mul %14, %g {shift = 0 : i8} : (tensor<1x16x32xf32>, tensor<1x1x32xf32>) -> tensor<1x16x32xf32>
  %y = tosa.add %15, %beta : (tensor<1x16x32xf32>, tensor<1x1x32xf32>) -> tensor<1x16x32xf32>
  return %y : tensor<1x16x32xf32>
}
