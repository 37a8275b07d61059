// trn-annotate-origins: every op's location is wrapped in a NameLoc with the
// op's name, so kernels can name the model op they came from.
#include "trnx/Dialect/Trn/Passes.h"

namespace trnx::trn {
#define GEN_PASS_DEF_TRNANNOTATEORIGINS
#include "trnx/Dialect/Trn/Passes.h.inc"
} // namespace trnx::trn

using namespace mlir;

namespace trnx::trn {
namespace {

struct AnnotateOriginsPass : impl::TrnAnnotateOriginsBase<AnnotateOriginsPass> {
  void runOnOperation() override {
    getOperation().walk([](Operation *op) {
      if (llvm::isa<func::FuncOp>(op) || llvm::isa<NameLoc>(op->getLoc()))
        return;
      op->setLoc(NameLoc::get(StringAttr::get(op->getContext(), op->getName().getStringRef()), op->getLoc()));
    });
  }
};

} // namespace
} // namespace trnx::trn
