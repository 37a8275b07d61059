// Kernel helpers.
#include "compiler/codegen/kernels/KernelSupport.h"

namespace trnx::cg {

std::pair<int64_t, int64_t> splitRange(int64_t total, int parts, int index, int64_t align) {
  int64_t units = (total + align - 1) / align;
  int64_t per = units / parts, extra = units % parts;
  int64_t begin = (index * per + std::min<int64_t>(index, extra)) * align;
  int64_t end = ((index + 1) * per + std::min<int64_t>(index + 1, extra)) * align;
  return {std::min(begin, total), std::min(end, total)};
}

std::vector<QueueRotor> splitQueues(int queues, const std::vector<int> &weights) {
  int total = 0;
  for (int w : weights)
    total += w;
  std::vector<QueueRotor> out;
  int cumulative = 0;
  for (int w : weights) {
    const int begin = static_cast<int>((static_cast<int64_t>(queues) * cumulative + total / 2) / total);
    cumulative += w;
    const int end = static_cast<int>((static_cast<int64_t>(queues) * cumulative + total / 2) / total);
    if (end > begin)
      out.emplace_back(begin, end - begin);
    else
      out.emplace_back(std::min(begin, queues - 1), 1);
  }
  return out;
}

Instruction dmaCopy(const AccessPattern &dst, const AccessPattern &src, bool transposeUnit) {
  Instruction inst = makeInstruction(Opcode::DmaCopy);
  inst.ap[0] = dst;
  inst.ap[1] = src;
  inst.setFlag(0, transposeUnit);
  return inst;
}

bool wantsTransposeUnit(int64_t rowStride, int64_t colStride, DType dtype, int64_t cols) {
  return rowStride == 1 && colStride != 1 && cols > 1 && (dtypeSize(dtype) == 2 || dtypeSize(dtype) == 4);
}

} // namespace trnx::cg
