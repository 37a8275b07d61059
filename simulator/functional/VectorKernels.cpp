// ACT, DVE and GpSimd kernels: elementwise, reductions, selects, affine
// patterns, cross-partition ops and batch-norm statistics, all in fp32.
#include "simulator/functional/Kernels.h"

#include "isa/Error.h"
#include "isa/MxQuantize.h"
#include "isa/Semantics.h"

#include <cmath>
#include <cstring>

namespace trnx {
namespace {

// Value of the affine expression of iota/affine_select for (row, free index).
struct Affine {
  int64_t base, pstep;
  std::array<int64_t, 4> steps;
  std::array<uint32_t, 4> counts;
  int dims;

  explicit Affine(const Instruction &inst, const AccessPattern &shape)
      : base(inst.i32[0]), pstep(inst.i32[1]), dims(shape.numDims) {
    for (int d = 0; d < 4; ++d) {
      steps[d] = inst.i32[2 + d];
      counts[d] = d < shape.numDims ? shape.dims[d].count : 1;
    }
  }
  int64_t at(int64_t row, size_t flat) const {
    int64_t v = base + pstep * row;
    for (int d = dims - 1; d >= 0; --d) {
      v += steps[d] * static_cast<int64_t>(flat % counts[d]);
      flat /= counts[d];
    }
    return v;
  }
};

void activation(KernelContext &ctx, const Instruction &inst) {
  const AccessPattern &dst = inst.ap[0];
  const size_t P = dst.partitionCount, F = dst.freeSize();
  std::vector<float> x;
  ctx.load(inst.ap[1], x);
  std::vector<float> scale = ctx.perPartition(inst.ap[2], inst.f32[0], dst.partitionCount);
  std::vector<float> bias = ctx.perPartition(inst.ap[3], inst.f32[1], dst.partitionCount);
  const auto func = static_cast<ActFunc>(inst.enums[0]);
  const auto reduce = static_cast<AluOp>(inst.enums[1]);
  std::vector<float> red(P, reduceIdentity(reduce));
  for (size_t p = 0; p < P; ++p)
    for (size_t f = 0; f < F; ++f) {
      float &v = x[p * F + f];
      v = applyActivation(func, v * scale[p] + bias[p]);
      if (reduce != AluOp::None)
        red[p] = applyAlu(reduce, red[p], v);
    }
  ctx.store(dst, x);
  if (reduce != AluOp::None)
    ctx.store(inst.ap[4], red);
}

void tensorScalar(KernelContext &ctx, const Instruction &inst) {
  const AccessPattern &dst = inst.ap[0];
  const size_t P = dst.partitionCount, F = dst.freeSize();
  std::vector<float> x;
  ctx.load(inst.ap[1], x);
  std::vector<float> s0 = ctx.perPartition(inst.ap[2], inst.f32[0], dst.partitionCount);
  std::vector<float> s1 = ctx.perPartition(inst.ap[3], inst.f32[1], dst.partitionCount);
  const auto op0 = static_cast<AluOp>(inst.enums[0]), op1 = static_cast<AluOp>(inst.enums[1]);
  for (size_t p = 0; p < P; ++p)
    for (size_t f = 0; f < F; ++f) {
      float &v = x[p * F + f];
      v = applyAlu(op0, v, s0[p]);
      if (op1 != AluOp::None)
        v = applyAlu(op1, v, s1[p]);
    }
  ctx.store(dst, x);
}

void tensorReduce(KernelContext &ctx, const Instruction &inst) {
  const AccessPattern &src = inst.ap[1];
  const auto op = static_cast<AluOp>(inst.enums[0]);
  size_t inner = 1;
  for (int d = src.numDims - inst.i32[0]; d < src.numDims; ++d)
    inner *= src.dims[d].count;
  const size_t P = src.partitionCount, F = src.freeSize(), outer = F / inner;
  std::vector<float> x, out(P * outer);
  ctx.load(src, x);
  for (size_t p = 0; p < P; ++p)
    for (size_t o = 0; o < outer; ++o) {
      float acc = reduceIdentity(op);
      const float *v = x.data() + p * F + o * inner;
      for (size_t i = 0; i < inner; ++i)
        acc = applyAlu(op, acc, v[i]);
      out[p * outer + o] = acc;
    }
  ctx.store(inst.ap[0], out);
}

void bnStats(KernelContext &ctx, const Instruction &inst) {
  const AccessPattern &src = inst.ap[1];
  const size_t P = src.partitionCount, F = src.freeSize();
  std::vector<float> x, out(P * 3);
  ctx.load(src, x);
  for (size_t p = 0; p < P; ++p) {
    const float *v = x.data() + p * F;
    float sum = 0.0f;
    for (size_t f = 0; f < F; ++f)
      sum += v[f];
    const float mean = sum / static_cast<float>(F);
    float m2 = 0.0f;
    for (size_t f = 0; f < F; ++f)
      m2 += (v[f] - mean) * (v[f] - mean);
    out[p * 3] = static_cast<float>(F);
    out[p * 3 + 1] = mean;
    out[p * 3 + 2] = m2;
  }
  ctx.store(inst.ap[0], out);
}

void bnAggr(KernelContext &ctx, const Instruction &inst) {
  const AccessPattern &src = inst.ap[1];
  const size_t P = src.partitionCount, G = src.freeSize() / 3;
  std::vector<float> x, out(P * 2);
  ctx.load(src, x);
  for (size_t p = 0; p < P; ++p) {
    float n = 0.0f, mean = 0.0f, m2 = 0.0f;
    for (size_t g = 0; g < G; ++g) {
      const float nb = x[p * G * 3 + g * 3], mb = x[p * G * 3 + g * 3 + 1], m2b = x[p * G * 3 + g * 3 + 2];
      if (nb == 0.0f)
        continue;
      const float total = n + nb, delta = mb - mean;
      mean += delta * nb / total;
      m2 += m2b + delta * delta * n * nb / total;
      n = total;
    }
    out[p * 2] = mean;
    out[p * 2 + 1] = n > 0.0f ? m2 / n : 0.0f;
  }
  ctx.store(inst.ap[0], out);
}

// iota writes exact integers into int32 tensors (beyond fp32's 2^24).
void iota(KernelContext &ctx, const Instruction &inst) {
  const AccessPattern &dst = inst.ap[0];
  const size_t P = dst.partitionCount, F = dst.freeSize();
  Affine expr(inst, dst);
  if (dst.dtype == DType::INT32) {
    std::vector<uint8_t> bytes(P * F * 4);
    for (size_t p = 0; p < P; ++p)
      for (size_t f = 0; f < F; ++f) {
        int64_t v = expr.at(static_cast<int64_t>(p), f);
        int32_t c = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : static_cast<int32_t>(v);
        std::memcpy(bytes.data() + (p * F + f) * 4, &c, 4);
      }
    storeOperandBytes(ctx.mem, ctx.core, dst, ctx.iv, bytes);
    return;
  }
  std::vector<float> out(P * F);
  for (size_t p = 0; p < P; ++p)
    for (size_t f = 0; f < F; ++f)
      out[p * F + f] = static_cast<float>(expr.at(static_cast<int64_t>(p), f));
  ctx.store(dst, out);
}

void affineSelect(KernelContext &ctx, const Instruction &inst) {
  const AccessPattern &dst = inst.ap[0];
  const size_t P = dst.partitionCount, F = dst.freeSize();
  Affine expr(inst, dst);
  const auto cmp = static_cast<AluOp>(inst.enums[0]);
  std::vector<float> x;
  ctx.load(inst.ap[1], x);
  for (size_t p = 0; p < P; ++p)
    for (size_t f = 0; f < F; ++f) {
      float v = static_cast<float>(expr.at(static_cast<int64_t>(p), f));
      if (applyAlu(cmp, v, 0.0f) == 0.0f)
        x[p * F + f] = inst.f32[0];
    }
  ctx.store(dst, x);
}

// quantize_mx: per partition, blocks of 32 values block_stride apart get one
// e8m0 scale (mxScaleCode) and the values divided by it, rounded on store.
void quantizeMx(KernelContext &ctx, const Instruction &inst) {
  const AccessPattern &dst = inst.ap[0];
  const size_t P = dst.partitionCount, F = dst.freeSize(), C = static_cast<size_t>(inst.i32[0]);
  std::vector<float> x, scale(P * (F / 32));
  ctx.load(inst.ap[1], x);
  for (size_t p = 0; p < P; ++p)
    for (size_t g = 0; g < F / (32 * C); ++g)
      for (size_t c = 0; c < C; ++c) {
        float *base = x.data() + p * F + g * 32 * C + c;
        float amax = 0.0f;
        for (size_t r = 0; r < 32; ++r)
          amax = std::isnan(base[r * C]) || std::isnan(amax) ? NAN : std::max(amax, std::fabs(base[r * C]));
        const uint8_t code = mxScaleCode(amax, dst.dtype);
        const float s = code == 0xff ? NAN : std::ldexp(1.0f, static_cast<int>(code) - 127);
        scale[p * (F / 32) + g * C + c] = s;
        for (size_t r = 0; r < 32; ++r)
          base[r * C] = code == 0xff ? NAN : std::ldexp(base[r * C], 127 - static_cast<int>(code));
      }
  ctx.store(dst, x);
  ctx.store(inst.ap[2], scale);
}

} // namespace

void runVectorInstruction(KernelContext &ctx, const Instruction &inst) {
  const AccessPattern &dst = inst.ap[0];
  std::vector<float> a, b, c;
  switch (inst.opcode) {
  case Opcode::Activation:
    activation(ctx, inst);
    return;
  case Opcode::QuantizeMx:
    quantizeMx(ctx, inst);
    return;
  case Opcode::TensorTensor: {
    ctx.load(inst.ap[1], a);
    ctx.load(inst.ap[2], b);
    const auto op = static_cast<AluOp>(inst.enums[0]);
    for (size_t i = 0; i < a.size(); ++i)
      a[i] = applyAlu(op, a[i], b[i]);
    ctx.store(dst, a);
    return;
  }
  case Opcode::TensorScalar:
    tensorScalar(ctx, inst);
    return;
  case Opcode::TensorReduce:
    tensorReduce(ctx, inst);
    return;
  case Opcode::TensorCopy:
    if (dst.dtype == inst.ap[1].dtype) { // same dtype: bit-exact (int32, NaN payloads)
      std::vector<uint8_t> bytes;
      loadOperandBytes(ctx.mem, ctx.core, inst.ap[1], ctx.iv, bytes);
      storeOperandBytes(ctx.mem, ctx.core, dst, ctx.iv, bytes);
      return;
    }
    ctx.load(inst.ap[1], a);
    ctx.store(dst, a);
    return;
  case Opcode::Select:
    ctx.load(inst.ap[1], a);
    ctx.load(inst.ap[2], b);
    ctx.load(inst.ap[3], c);
    for (size_t i = 0; i < a.size(); ++i)
      a[i] = a[i] != 0.0f ? b[i] : c[i];
    ctx.store(dst, a);
    return;
  case Opcode::Iota:
    iota(ctx, inst);
    return;
  case Opcode::AffineSelect:
    affineSelect(ctx, inst);
    return;
  case Opcode::Memset:
    a.assign(dst.elementCount(), inst.f32[0]);
    ctx.store(dst, a);
    return;
  case Opcode::PartitionReduce: {
    const AccessPattern &src = inst.ap[1];
    const size_t P = src.partitionCount, F = src.freeSize();
    const auto op = static_cast<AluOp>(inst.enums[0]);
    ctx.load(src, a);
    b.assign(F, reduceIdentity(op));
    for (size_t p = 0; p < P; ++p)
      for (size_t f = 0; f < F; ++f)
        b[f] = applyAlu(op, b[f], a[p * F + f]);
    ctx.store(dst, b);
    return;
  }
  case Opcode::PartitionBroadcast: {
    const size_t P = dst.partitionCount, F = dst.freeSize();
    ctx.load(inst.ap[1], a);
    b.resize(P * F);
    for (size_t p = 0; p < P; ++p)
      std::memcpy(b.data() + p * F, a.data(), F * sizeof(float));
    ctx.store(dst, b);
    return;
  }
  case Opcode::BnStats:
    bnStats(ctx, inst);
    return;
  case Opcode::BnAggr:
    bnAggr(ctx, inst);
    return;
  case Opcode::RankId:
    // simulate() runs one-rank programs only: rank 0, position 0 in its group.
    a.assign(dst.elementCount(), 0.0f);
    ctx.store(dst, a);
    return;
  default:
    fail("internal: '", inst.info().mnemonic, "' has no functional kernel");
  }
}

} // namespace trnx
