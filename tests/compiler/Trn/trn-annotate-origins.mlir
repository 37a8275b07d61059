// RUN: trnx-opt %s --pass-pipeline='builtin.module(func.func(trn-annotate-origins))' --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s
// RUN: trnx-opt %s --pass-pipeline='builtin.module(func.func(trn-annotate-origins,tosa-to-linalg))' --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s --check-prefix=LOWERED
// RUN: not trnx-opt %s --pass-pipeline='builtin.module(func.func(trn-annotate-origins,tosa-to-linalg,trn-convert-linalg))' 2>&1 | FileCheck %s --check-prefix=ORIGIN
// RUN: not trnx-opt %s --pass-pipeline='builtin.module(func.func(tosa-to-linalg,trn-convert-linalg))' 2>&1 | FileCheck %s --check-prefix=NO-ORIGIN

// Every op's location is wrapped in a NameLoc naming the op, around the
// original file location; the function itself and ops that already carry a
// name (from an exporter) are left alone.
// CHECK-LABEL: func.func @f
// CHECK: tosa.add {{.*}} loc("tosa.add"("{{.*}}trn-annotate-origins.mlir":{{[0-9]+}}:8))
// CHECK: tosa.exp {{.*}} loc("layer0.mlp.act"("model.py":42:8))
// CHECK: tosa.sin {{.*}} loc("tosa.sin"("{{.*}}trn-annotate-origins.mlir":{{[0-9]+}}:8))
// CHECK: return {{.*}} loc("func.return"("{{.*}}trn-annotate-origins.mlir":{{[0-9]+}}:3))
// CHECK-NEXT: } loc("{{.*}}trn-annotate-origins.mlir":{{[0-9]+}}:1)

// The name survives lowering: the ops TOSA becomes carry it, so later
// diagnostics and program source locations name the model op.
// LOWERED: arith.addf {{.*}} loc("tosa.add"(
// LOWERED: } -> tensor<4x8xf32> loc("tosa.add"(
// LOWERED: math.exp {{.*}} loc("layer0.mlp.act"("model.py":42:8))
// LOWERED: math.sin {{.*}} loc("tosa.sin"(
// LOWERED: } -> tensor<4x8xf32> loc("tosa.sin"(

// ORIGIN: error: 'tosa.sin' is not supported on trn3
// NO-ORIGIN: error: 'linalg.generic' is not supported on trn3
func.func @f(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = tosa.add %a, %b : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = tosa.exp %0 : (tensor<4x8xf32>) -> tensor<4x8xf32> loc("layer0.mlp.act"("model.py":42:8))
  %2 = tosa.sin %1 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}
