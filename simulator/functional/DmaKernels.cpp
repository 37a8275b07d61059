// DMA kernels: bit-exact element copies, including the indirect row gather.
#include "simulator/functional/Kernels.h"

#include "isa/Error.h"

#include <cstring>

namespace trnx {

void runDmaCopy(KernelContext &ctx, const Instruction &inst) {
  std::vector<uint8_t> bytes;
  loadOperandBytes(ctx.mem, ctx.core, inst.ap[1], ctx.iv, bytes);
  storeOperandBytes(ctx.mem, ctx.core, inst.ap[0], ctx.iv, bytes);
}

void runDmaGather(KernelContext &ctx, const Instruction &inst) {
  const AccessPattern &dst = inst.ap[0], &table = inst.ap[1], &index = inst.ap[2];
  std::vector<uint8_t> rows;
  std::vector<uint8_t> idxBytes;
  loadOperandBytes(ctx.mem, ctx.core, index, ctx.iv, idxBytes);
  const size_t P = dst.partitionCount;
  const size_t rowBytes = dst.freeSize() * dtypeSize(dst.dtype);
  rows.resize(P * rowBytes);
  AccessPattern row = table;
  row.partitionCount = 1;
  std::vector<uint8_t> one;
  for (size_t p = 0; p < P; ++p) {
    int32_t i;
    std::memcpy(&i, idxBytes.data() + p * 4, 4);
    if (i < 0 || i >= table.partitionCount)
      fail("gather index ", i, " in partition ", p, " is outside the table's ", table.partitionCount, " rows");
    row.offset = table.offset + static_cast<int64_t>(i) * table.partitionStride * dtypeSize(table.dtype);
    loadOperandBytes(ctx.mem, ctx.core, row, ctx.iv, one);
    std::memcpy(rows.data() + p * rowBytes, one.data(), rowBytes);
  }
  storeOperandBytes(ctx.mem, ctx.core, dst, ctx.iv, rows);
}

} // namespace trnx
