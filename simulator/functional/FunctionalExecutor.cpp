// Dispatch of instructions to the functional kernels.
#include "simulator/functional/FunctionalExecutor.h"

#include "simulator/functional/Kernels.h"

#include "isa/CheckedMath.h"
#include "isa/Error.h"

#include <string>

namespace trnx {

std::vector<float> KernelContext::perPartition(const AccessPattern &ap, float immediate, uint16_t rows) {
  std::vector<float> v;
  if (ap.present())
    load(ap, v);
  else
    v.assign(rows, immediate);
  return v;
}

// The kernels hold each operand as fp32 values (4 bytes an element) or raw
// bytes, plus one int64 free-dim offset per element of a row: a bound on what
// they allocate, in saturating arithmetic (operand sizes can exceed 2^64).
void FunctionalExecutor::checkHostMemory(const Instruction &inst) const {
  uint64_t need = 0;
  for (const FieldSpec &f : inst.info().fields) {
    const AccessPattern &a = inst.ap[f.slot];
    if ((f.kind != FieldKind::Ap && f.kind != FieldKind::OptAp) || !a.present())
      continue;
    const uint64_t perElement = 4 + dtypeSize(a.dtype);
    need = saturatingAdd(need, saturatingAdd(saturatingMul(a.elementCount(), perElement),
                                             saturatingMul(a.freeSize(), 8)));
  }
  if (need > hostBytes_)
    fail("functional simulation of this instruction needs ",
         need == UINT64_MAX ? std::string("more than 2^64") : std::to_string(need),
         " bytes of host memory for its operands; the limit is ", hostBytes_,
         " bytes: simulate it with --mode timing, or shrink the operands");
}

void FunctionalExecutor::execute(int core, const Instruction &inst, const LoopIndices &iv) {
  checkHostMemory(inst);
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
