// trn-auto-cast: the PE operand type of every matmul (and, in mode "all",
// the storage type of fp32 intermediate results), like neuronx-cc
// --auto-cast: only fp32 operations are cast. Accumulation stays fp32 in
// every mode.
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
    // Like neuronx-cc, auto-cast converts fp32 operations: a matmul with an
    // fp32 operand multiplies in the cast type; one whose operands are
    // already narrower keeps them (the wider of the two when they differ),
    // so bf16 or fp8 inputs are neither widened nor narrowed further.
    func.walk([&](MatmulOp mm) {
      Type a = llvm::cast<RankedTensorType>(mm.getLhs().getType()).getElementType();
      Type b = llvm::cast<RankedTensorType>(mm.getRhs().getType()).getElementType();
      const bool hasF32 = a.isF32() || b.isF32();
      Type operand;
      if (hasF32)
        operand = mode != "none" && llvm::isa<FloatType>(a) && llvm::isa<FloatType>(b) ? cast : Float32Type::get(ctx);
      else
        operand = a.getIntOrFloatBitWidth() >= b.getIntOrFloatBitWidth() ? a : b;
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
