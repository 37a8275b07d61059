// Per-family functional kernels behind FunctionalExecutor (internal).
#pragma once

#include "isa/Instruction.h"
#include "simulator/memory/DeviceMemory.h"

#include <vector>

namespace trnx {

// What a kernel needs: memory, the core, loop indices, and scratch vectors
// reused across instructions.
struct KernelContext {
  DeviceMemory &mem;
  int core;
  const LoopIndices &iv;

  void load(const AccessPattern &ap, std::vector<float> &out) { loadOperand(mem, core, ap, iv, out); }
  void store(const AccessPattern &ap, const std::vector<float> &v) { storeOperand(mem, core, ap, iv, v); }
  // Per-partition scalar operand ([P, 1]) or the immediate when absent.
  std::vector<float> perPartition(const AccessPattern &ap, float immediate, uint16_t rows);
};

void runMatmul(KernelContext &ctx, const Instruction &inst);
void runMatmulMx(KernelContext &ctx, const Instruction &inst);
void runMatmulOs(KernelContext &ctx, const Instruction &inst);
void runTranspose(KernelContext &ctx, const Instruction &inst);
void runVectorInstruction(KernelContext &ctx, const Instruction &inst);
void runDmaCopy(KernelContext &ctx, const Instruction &inst);
void runDmaGather(KernelContext &ctx, const Instruction &inst);

} // namespace trnx
