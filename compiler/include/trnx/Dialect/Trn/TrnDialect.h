// The trn dialect (see TrnDialect.td).
#pragma once

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Dialect.h"

#include "trnx/Dialect/Trn/TrnDialect.h.inc"
