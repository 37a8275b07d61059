// The last stage of trnx-compile: a function in the trn dialect becomes a
// program (isa/Program.h) through the kernel generators of compiler/codegen.
#pragma once

#include "compiler/codegen/Target.h"
#include "isa/Program.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LogicalResult.h"

namespace trnx {

// Emits a diagnostic on the offending op and fails when an op or type cannot
// be compiled for the target. Function arguments become input tensors and
// results output tensors, named by `trnx.name` attributes or arg<i>/out<i>.
mlir::FailureOr<Program> emitProgram(mlir::func::FuncOp func, const cg::Target &target);

} // namespace trnx
