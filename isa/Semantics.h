// Scalar semantics of the ALU operators and activation functions, in fp32:
// the reference every engine implementation and test uses.
#pragma once

#include "isa/InstructionSet.h"

namespace trnx {

float applyAlu(AluOp op, float a, float b);
float applyActivation(ActFunc f, float x);
// Identity element of a reduction operator (add: 0, max: -inf, min: +inf).
float reduceIdentity(AluOp op);
bool isReduceOp(AluOp op);
bool isCompareOp(AluOp op);

} // namespace trnx
