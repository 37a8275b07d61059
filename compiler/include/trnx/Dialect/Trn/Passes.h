// Passes of the trnx compiler and their registration (see Passes.td).
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"
#include "trnx/Dialect/Trn/TrnOps.h"

#include <memory>

namespace trnx::trn {

#define GEN_PASS_DECL
#include "trnx/Dialect/Trn/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "trnx/Dialect/Trn/Passes.h.inc"

} // namespace trnx::trn
