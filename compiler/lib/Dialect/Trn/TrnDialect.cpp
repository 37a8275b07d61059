// Registration of the trn dialect.
#include "trnx/Dialect/Trn/TrnDialect.h"

#include "trnx/Dialect/Trn/TrnOps.h"

#include "trnx/Dialect/Trn/TrnDialect.cpp.inc"

namespace trnx::trn {

void TrnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "trnx/Dialect/Trn/TrnOps.cpp.inc"
      >();
}

} // namespace trnx::trn
