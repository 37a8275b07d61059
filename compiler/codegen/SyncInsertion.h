// Turns one core's kernel (a loop tree in sequential order) into per-engine
// instruction streams with semaphores. For every pair of instructions on
// different engines whose operands overlap (one writing), the later one in
// sequential order waits for the earlier.
//
// Each engine that produces for another has one semaphore; its producing
// instructions signal it +1 as they complete, which they do in stream order.
// A consumer Y at loop iteration v that needs producer X waits until the
// semaphore counts every producing instruction of that engine up to X's last
// execution before Y(v). That count is affine in v:
//   count(Z <= X(u)) = linear(u over Z's and X's common loops) * trips(Z below) + [Z <= X] * trips(Z below)
// summed over the engine's producers Z, so loops stay hardware loops. Where
// the exact count is not affine (a loop-carried need that crosses an outer
// iteration) the consumer instead waits for every producer of that engine
// before it in sequential order: safe, as none of those can depend on Y.
// A count that is negative in the first iterations (nothing to wait for yet)
// is lifted by priming the semaphore when the kernel starts. Semaphores keep
// counting across kernels; `SemaphoreState` holds their values between them.
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
