// The trn dialect: graph-level operations of the trnx compiler on tensors.
// Each op maps to one kernel generator of compiler/codegen (or to a view).
#ifndef TRNX_DIALECT_TRN_TRNDIALECT_TD
#define TRNX_DIALECT_TRN_TRNDIALECT_TD

include "mlir/IR/OpBase.td"

def Trn_Dialect : Dialect {
  let name = "trn";
  let cppNamespace = "::trnx::trn";
  let summary = "Tensor-level operations that map onto Trainium-like kernels";
  let description = [{
    Operations on ranked tensors that the trnx code generator turns into
    kernels: matmul with a fused elementwise epilogue, fused elementwise
    programs (a region of scalar arith/math ops), reductions, softmax,
    normalisations, gathers, and data-movement ops that are views or copies.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect"];
}

class Trn_Op<string mnemonic, list<Trait> traits = []> : Op<Trn_Dialect, mnemonic, traits>;

#endif
