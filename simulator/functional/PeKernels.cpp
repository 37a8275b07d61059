// Tensor-engine kernels: matmul and matmul_os (fp32 products and accumulation,
// K in order), MX block-scaled matmul and the identity-matmul transpose (exact).
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

void runMatmulOs(KernelContext &ctx, const Instruction &inst) {
  const AccessPattern &dst = inst.ap[0], &ap = inst.ap[1], &bp = inst.ap[2];
  const size_t M = ap.partitionCount, N = bp.partitionCount, K = ap.freeSize();
  std::vector<float> a, b;
  ctx.load(ap, a); // [M, K]
  ctx.load(bp, b); // [N, K]
  std::vector<float> out(M * N, 0.0f);
  // k in order, as matmul sums its partitions.
  for (size_t i = 0; i < M; ++i)
    for (size_t j = 0; j < N; ++j) {
      const float *arow = a.data() + i * K, *brow = b.data() + j * K;
      float acc = 0.0f;
      for (size_t k = 0; k < K; ++k)
        acc += arow[k] * brow[k];
      out[i * N + j] = acc;
    }
  if (inst.flag(0)) {
    std::vector<float> prev;
    ctx.load(dst, prev);
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = prev[i] + out[i];
  }
  ctx.store(dst, out);
}

namespace {

// MX element values of an operand, [P, values]: fp8 widened, fp4 pairs
// unpacked low nibble first.
void loadMxValues(KernelContext &ctx, const AccessPattern &ap, std::vector<float> &out) {
  if (ap.dtype != DType::FP4E2M1X2) {
    ctx.load(ap, out);
    return;
  }
  std::vector<uint8_t> bytes;
  loadOperandBytes(ctx.mem, ctx.core, ap, ctx.iv, bytes);
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = decodeFP4(bytes[i] & 0xf);
    out[2 * i + 1] = decodeFP4(bytes[i] >> 4);
  }
}

} // namespace

void runMatmulMx(KernelContext &ctx, const Instruction &inst) {
  const AccessPattern &dst = inst.ap[0], &st = inst.ap[1], &mv = inst.ap[2];
  // [P, R, M] with row k = p*R + r is [K, M] in memory order.
  const size_t R = static_cast<size_t>(inst.i32[0]);
  const size_t K = st.partitionCount * R;
  const size_t M = st.freeSize() / R * valuesPerElement(st.dtype);
  const size_t N = mv.freeSize() / R * valuesPerElement(mv.dtype);
  std::vector<float> s, m, ss, ms;
  loadMxValues(ctx, st, s); // [K, M]
  loadMxValues(ctx, mv, m); // [K, N]
  ctx.load(inst.ap[3], ss); // [K/32, M] e8m0 widened: 2^(e-127) or NaN
  ctx.load(inst.ap[4], ms); // [K/32, N]
  std::vector<float> out(M * N, 0.0f);
  for (size_t k = 0; k < K; ++k) {
    const float *srow = s.data() + k * M, *mrow = m.data() + k * N;
    const float *ssrow = ss.data() + (k / 32) * M, *msrow = ms.data() + (k / 32) * N;
    for (size_t i = 0; i < M; ++i) {
      // Elements have <= 4 significant bits and scales are powers of two, so
      // the double product is exact (or NaN for a NaN scale); one rounding to fp32.
      const double a = static_cast<double>(srow[i]) * ssrow[i];
      float *o = out.data() + i * N;
      for (size_t j = 0; j < N; ++j)
        o[j] += static_cast<float>(a * mrow[j] * msrow[j]);
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
