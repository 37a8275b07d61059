// Tensor-engine kernels: matmul (fp32 products and accumulation, K in order)
// and the identity-matmul transpose (exact).
#include "simulator/functional/Kernels.h"

#include <cstring>

namespace trnx {

void runMatmul(KernelContext &ctx, const Instruction &inst) {
  const AccessPattern &dst = inst.ap[0], &st = inst.ap[1], &mv = inst.ap[2];
  const bool doubleRow = inst.enums[0] == 1;
  const size_t rowsPerPartition = doubleRow ? 2 : 1;
  const size_t P = st.partitionCount;
  const size_t M = st.freeSize() / rowsPerPartition, N = mv.freeSize() / rowsPerPartition;
  std::vector<float> s, m;
  ctx.load(st, s); // [P, rows, M]
  ctx.load(mv, m); // [P, rows, N]
  std::vector<float> out(M * N, 0.0f);
  // k runs over partitions, then the row pair in double_row mode.
  for (size_t p = 0; p < P; ++p)
    for (size_t r = 0; r < rowsPerPartition; ++r) {
      const float *srow = s.data() + (p * rowsPerPartition + r) * M;
      const float *mrow = m.data() + (p * rowsPerPartition + r) * N;
      for (size_t i = 0; i < M; ++i) {
        const float a = srow[i];
        float *o = out.data() + i * N;
        for (size_t j = 0; j < N; ++j)
          o[j] += a * mrow[j];
      }
    }
  if (inst.flag(0)) {
    std::vector<float> prev;
    ctx.load(dst, prev);
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = prev[i] + out[i];
  }
  ctx.store(dst, out);
}

void runTranspose(KernelContext &ctx, const Instruction &inst) {
  const AccessPattern &dst = inst.ap[0], &src = inst.ap[1];
  const size_t P = src.partitionCount, F = src.freeSize();
  if (dst.dtype == src.dtype) { // same dtype: move bits (NaN payloads survive)
    const size_t es = dtypeSize(src.dtype);
    std::vector<uint8_t> in, out(P * F * es);
    loadOperandBytes(ctx.mem, ctx.core, src, ctx.iv, in);
    for (size_t p = 0; p < P; ++p)
      for (size_t f = 0; f < F; ++f)
        std::memcpy(out.data() + (f * P + p) * es, in.data() + (p * F + f) * es, es);
    storeOperandBytes(ctx.mem, ctx.core, dst, ctx.iv, out);
    return;
  }
  std::vector<float> in, out(P * F);
  ctx.load(src, in);
  for (size_t p = 0; p < P; ++p)
    for (size_t f = 0; f < F; ++f)
      out[f * P + p] = in[p * F + f];
  ctx.store(dst, out); // exact: widening to fp32
}

} // namespace trnx
