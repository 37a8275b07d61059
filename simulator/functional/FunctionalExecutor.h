// Functional execution: applies one instruction to the memory image with the
// hardware's fp32 datapath and dtype rounding. Timing-free: the caller decides
// the order (any order the program's semaphores allow gives the same result).
#pragma once

#include "isa/Instruction.h"
#include "simulator/memory/DeviceMemory.h"

namespace trnx {

class FunctionalExecutor {
public:
  // hostBytes: the most host memory one instruction's operands may take
  // (RunLimits.h); an instruction that needs more is refused before allocating.
  explicit FunctionalExecutor(DeviceMemory &memory, uint64_t hostBytes = UINT64_MAX)
      : memory_(memory), hostBytes_(hostBytes) {}
  // Throws Error on a run-time fault (e.g. a gather index out of range).
  void execute(int core, const Instruction &inst, const LoopIndices &iv);

private:
  void checkHostMemory(const Instruction &inst) const;
  DeviceMemory &memory_;
  uint64_t hostBytes_;
};

} // namespace trnx
