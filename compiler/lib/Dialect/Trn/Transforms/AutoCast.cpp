// trn-auto-cast: the PE operand type of every matmul (and, in mode "all",
// the storage type of intermediate results), like neuronx-cc --auto-cast.
// Accumulation stays fp32 in every mode.
#include "trnx/Dialect/Trn/Passes.h"

namespace trnx::trn {
#define GEN_PASS_DEF_TRNAUTOCAST
#include "trnx/Dialect/Trn/Passes.h.inc"
} // namespace trnx::trn

using namespace mlir;

namespace trnx::trn {
namespace {

bool isComputeOp(Operation *op) {
  return llvm::isa<EwiseOp, MatmulOp, ReduceOp, SoftmaxOp, LayerNormOp, RmsNormOp>(op);
}

struct AutoCastPass : impl::TrnAutoCastBase<AutoCastPass> {
  using Base::Base;
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    MLIRContext *ctx = &getContext();
    Type cast;
    if (castType == "bf16")
      cast = BFloat16Type::get(ctx);
    else if (castType == "fp16")
      cast = Float16Type::get(ctx);
    else if (castType == "fp8e4m3")
      cast = Float8E4M3FNType::get(ctx);
    else {
      func.emitError() << "--auto-cast-type must be bf16, fp16 or fp8e4m3, not '" << castType << "'";
      return signalPassFailure();
    }
    if (mode != "none" && mode != "matmul" && mode != "all") {
      func.emitError() << "--auto-cast must be none, matmul or all, not '" << mode << "'";
      return signalPassFailure();
    }
    func.walk([&](MatmulOp mm) {
      Type a = llvm::cast<RankedTensorType>(mm.getLhs().getType()).getElementType();
      Type b = llvm::cast<RankedTensorType>(mm.getRhs().getType()).getElementType();
      Type operand;
      if (mode == "none" || !llvm::isa<FloatType>(a) || !llvm::isa<FloatType>(b))
        operand = (a.isF32() || b.isF32()) ? Float32Type::get(ctx) : a;
      else
        operand = cast;
      mm.setOperandTypeAttr(TypeAttr::get(operand));
    });
    if (mode != "all")
      return;
    // Intermediates read only by compute ops are stored in the cast type.
    func.walk([&](Operation *op) {
      if (!isComputeOp(op) || op->getNumResults() != 1)
        return;
      Value r = op->getResult(0);
      auto t = llvm::cast<RankedTensorType>(r.getType());
      if (!t.getElementType().isF32() || r.use_empty())
        return;
      for (Operation *user : r.getUsers())
        if (!isComputeOp(user))
          return;
      r.setType(RankedTensorType::get(t.getShape(), cast));
    });
  }
};

} // namespace
} // namespace trnx::trn
