// Operations of the trn dialect (see TrnOps.td).
#pragma once

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "trnx/Dialect/Trn/TrnDialect.h"

#define GET_OP_CLASSES
#include "trnx/Dialect/Trn/TrnOps.h.inc"

namespace trnx::trn {

// Numpy-style right-aligned broadcast: can `from` be broadcast to `to`?
bool isBroadcastableTo(llvm::ArrayRef<int64_t> from, llvm::ArrayRef<int64_t> to);
// Activation function names accepted by trn.act (the ISA's ActFunc names).
bool isActivationName(llvm::StringRef name);

} // namespace trnx::trn
