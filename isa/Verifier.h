// The program verifier: checks a Program against a target's limits before it
// runs (operand bounds, partition rules, SBUF/PSUM capacity and banks, shapes,
// dtype legality, loop structure, semaphore and barrier sanity). A program
// that passes never crashes the simulator.
#pragma once

#include "isa/Program.h"
#include "isa/TargetLimits.h"

namespace trnx {

// Throws Error naming the instruction ("core 0 pe #3 (matmul) [...]: ...").
void verifyProgram(const Program &program, const TargetLimits &limits);

} // namespace trnx
