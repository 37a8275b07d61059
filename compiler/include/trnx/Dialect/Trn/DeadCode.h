// Erasing operations whose results are unused, for the trn passes that
// leave compositions behind after replacing them.
#pragma once

#include "mlir/IR/Block.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace trnx::trn {

// Repeatedly erases unused, side-effect-free operations of `block` that
// `eligible` accepts (terminators are kept).
inline void eraseDeadOps(mlir::Block &block, llvm::function_ref<bool(mlir::Operation &)> eligible) {
  bool changed = true;
  while (changed) {
    changed = false;
    llvm::SmallVector<mlir::Operation *> dead;
    for (mlir::Operation &op : block)
      if (!op.hasTrait<mlir::OpTrait::IsTerminator>() && op.use_empty() && mlir::isMemoryEffectFree(&op) &&
          eligible(op))
        dead.push_back(&op);
    for (mlir::Operation *op : llvm::reverse(dead))
      op->erase();
    changed = !dead.empty();
  }
}

} // namespace trnx::trn
