// Functional execution: applies one instruction to the memory image with the
// hardware's fp32 datapath and dtype rounding. Timing-free: the caller decides
// the order (any order the program's semaphores allow gives the same result).
#pragma once

#include "isa/Instruction.h"
#include "simulator/memory/DeviceMemory.h"

namespace trnx {

class FunctionalExecutor {
public:
  explicit FunctionalExecutor(DeviceMemory &memory) : memory_(memory) {}
  // Throws Error on a run-time fault (e.g. a gather index out of range).
  void execute(int core, const Instruction &inst, const LoopIndices &iv);

private:
  DeviceMemory &memory_;
};

} // namespace trnx
