// Turns one core's kernel (a loop tree in sequential order) into per-engine
// instruction streams with semaphores. For every pair of instructions on
// different engines whose operands overlap (one writing), the later one in
// sequential order waits for the earlier: on the producer's semaphore, for a
// count that is affine in the loop indices, so loops stay loops:
//   count(X before Y at iteration v) = (linear(v over common loops) + [X first]) * trips(X below)
// The producer signals +1 per execution. Semaphores keep counting across
// kernels; `SemaphoreState` holds each one's value at the start of a kernel.
#pragma once

#include "compiler/codegen/CoreKernel.h"
#include "isa/Instruction.h"

#include <map>
#include <vector>

namespace trnx::cg {

struct SemaphoreState {
  std::vector<uint64_t> value; // per semaphore of the core, after the previous kernels
};

using EngineStreams = std::map<EngineId, std::vector<Instruction>>;

EngineStreams insertSync(const CoreKernel &kernel, SemaphoreState &semaphores, uint32_t loc);

} // namespace trnx::cg
