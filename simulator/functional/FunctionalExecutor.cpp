// Dispatch of instructions to the functional kernels.
#include "simulator/functional/FunctionalExecutor.h"

#include "simulator/functional/Kernels.h"

namespace trnx {

std::vector<float> KernelContext::perPartition(const AccessPattern &ap, float immediate, uint16_t rows) {
  std::vector<float> v;
  if (ap.present())
    load(ap, v);
  else
    v.assign(rows, immediate);
  return v;
}

void FunctionalExecutor::execute(int core, const Instruction &inst, const LoopIndices &iv) {
  KernelContext ctx{memory_, core, iv};
  switch (inst.opcode) {
  case Opcode::Matmul: runMatmul(ctx, inst); break;
  case Opcode::MatmulMx: runMatmulMx(ctx, inst); break;
  case Opcode::MatmulOs: runMatmulOs(ctx, inst); break;
  case Opcode::Transpose: runTranspose(ctx, inst); break;
  case Opcode::DmaCopy: runDmaCopy(ctx, inst); break;
  case Opcode::DmaGather: runDmaGather(ctx, inst); break;
  case Opcode::SemWait:
  case Opcode::SemSignal:
  case Opcode::Barrier:
  case Opcode::Loop:
  case Opcode::EndLoop:
    break;
  default: runVectorInstruction(ctx, inst); break;
  }
}

} // namespace trnx
