// The matmul kernel generator: numerics for ragged shapes, batches, casts and
// epilogues, and the schedules' PE/HBM efficiency on large shapes.
#include "ChipVariants.h"
#include "KernelTestSupport.h"
#include "compiler/codegen/kernels/Kernels.h"

#include <gtest/gtest.h>

using namespace trnx;
using namespace trnx::cg;
using namespace trnx::cg::test;

namespace {

struct MatmulCase {
  int64_t batch, m, k, n;
  DType inType, opType;
};

// c = a @ b over new contiguous tensors a [batch, m, k], b [batch, k, n] of
// type `in` and c [batch, m, n] of type `out`; the PE multiplies `in`.
MatmulSpec contiguousMatmul(ProgramBuilder &pb, int64_t batch, int64_t m, int64_t k, int64_t n, DType in, DType out) {
  const std::vector<int64_t> as = {batch, m, k}, bs = {batch, k, n}, cs = {batch, m, n};
  MatmulSpec spec;
  spec.a = HbmView::contiguous(pb.addTensor("a", TensorRole::Input, in, as), in, as);
  spec.b = HbmView::contiguous(pb.addTensor("b", TensorRole::Input, in, bs), in, bs);
  spec.c = HbmView::contiguous(pb.addTensor("c", TensorRole::Output, out, cs), out, cs);
  spec.operandType = in;
  return spec;
}

// Builds c = a @ b (+ bias, relu when asked) and compares with a double reference.
double runMatmul(const MatmulCase &mc, const ChipConfig &chip, bool epilogue = false) {
  ProgramBuilder pb(targetFor(chip));
  std::vector<int64_t> as = {mc.batch, mc.m, mc.k}, bs = {mc.batch, mc.k, mc.n}, cs = {mc.batch, mc.m, mc.n};
  MatmulSpec spec = contiguousMatmul(pb, mc.batch, mc.m, mc.k, mc.n, mc.inType, DType::FP32);
  spec.operandType = mc.opType;
  uint32_t bias = 0;
  if (epilogue) {
    bias = pb.addTensor("bias", TensorRole::Input, DType::FP32, {mc.n});
    spec.epilogueInputs.push_back(HbmView::contiguous(bias, DType::FP32, {mc.n}).broadcastTo(cs));
    spec.epilogue.numInputs = 2;
    int sum = spec.epilogue.add(EwOp::binary(AluOp::Add, 0, 1));
    spec.epilogue.result = spec.epilogue.add(EwOp::act(ActFunc::Relu, sum));
  }
  emitMatmul(pb, spec, kNoLoc);
  Program p = pb.finish();
  verifyProgram(p, chip.limits());

  auto av = randomValues(mc.batch * mc.m * mc.k, 1), bv = randomValues(mc.batch * mc.k * mc.n, 2);
  auto biasv = randomValues(mc.n, 3);
  std::map<std::string, HostArray> in = {{"a", array(as, av)}, {"b", array(bs, bv)}};
  if (epilogue)
    in["bias"] = array({mc.n}, biasv);
  SimulationResult r = run(p, chip, in);
  auto ar = rounded(rounded(av, mc.inType), mc.opType), br = rounded(rounded(bv, mc.inType), mc.opType);
  std::vector<double> ref(mc.batch * mc.m * mc.n, 0.0);
  for (int64_t t = 0; t < mc.batch; ++t)
    for (int64_t i = 0; i < mc.m; ++i)
      for (int64_t kk = 0; kk < mc.k; ++kk) {
        double x = ar[(t * mc.m + i) * mc.k + kk];
        for (int64_t j = 0; j < mc.n; ++j)
          ref[(t * mc.m + i) * mc.n + j] += x * br[(t * mc.k + kk) * mc.n + j];
      }
  if (epilogue)
    for (size_t i = 0; i < ref.size(); ++i)
      ref[i] = std::max(0.0, ref[i] + biasv[i % mc.n]);
  return relativeError(values(r.outputs.at("c")), ref);
}

} // namespace

TEST(MatmulKernel, RaggedShapesMatchReference) {
  ChipConfig chip = loadChip("trn3");
  for (MatmulCase mc : {MatmulCase{1, 1, 64, 96, DType::BF16, DType::BF16},
                        MatmulCase{1, 130, 200, 700, DType::BF16, DType::BF16},
                        MatmulCase{1, 300, 384, 1030, DType::BF16, DType::BF16},
                        MatmulCase{3, 50, 129, 33, DType::FP32, DType::FP32},
                        MatmulCase{2, 257, 128, 513, DType::FP32, DType::BF16},
                        MatmulCase{1, 7, 1000, 2600, DType::FP32, DType::BF16},
                        MatmulCase{11, 20, 30, 40, DType::BF16, DType::BF16},
                        // GEMVs: x's K rows permuted over the k-tiles (one run per partition),
                        // with a rest tile, a cast on chip and fp8 tile pairs.
                        MatmulCase{1, 1, 1000, 600, DType::BF16, DType::BF16},
                        MatmulCase{1, 1, 4096, 300, DType::FP32, DType::BF16},
                        MatmulCase{2, 1, 2048, 256, DType::BF16, DType::FP8E4M3},
                        // Batched decode attention: many jobs per core, narrow results held.
                        MatmulCase{40, 4, 128, 300, DType::BF16, DType::BF16},
                        MatmulCase{40, 4, 300, 128, DType::BF16, DType::BF16}})
    EXPECT_LT(runMatmul(mc, chip), 1e-5) << mc.batch << "x" << mc.m << "x" << mc.k << "x" << mc.n;
}

TEST(MatmulKernel, FusedEpilogueMatchesReference) {
  ChipConfig chip = loadChip("trn3");
  EXPECT_LT(runMatmul({1, 200, 256, 600, DType::BF16, DType::BF16}, chip, true), 1e-5);
  EXPECT_LT(runMatmul({1, 4, 300, 1100, DType::BF16, DType::BF16}, chip, true), 1e-5);
}

namespace {

Report timeMatmul(const ChipConfig &chip, int64_t m, int64_t k, int64_t n, int64_t batch = 1) {
  ProgramBuilder pb(targetFor(chip));
  emitMatmul(pb, contiguousMatmul(pb, batch, m, k, n, DType::BF16, DType::BF16), kNoLoc);
  return run(pb.finish(), chip, {}, false, true).report;
}

} // namespace

// Simulated efficiency of the generated code (deterministic, not wall-clock).
TEST(MatmulKernel, LargeGemmReachesPePeak) {
  ChipConfig chip = loadChip("trn3");
  Report r = timeMatmul(chip, 4096, 4096, 4096);
  double fraction = r.achieved_flops_per_second / r.peak_flops_per_second;
  EXPECT_GE(fraction, 0.85) << "seconds " << r.seconds;
  EXPECT_LE(fraction, 1.0);
}

// An fp8 GEMV result (fp8 decode: the gate/up product feeding the down
// projection) holds the weights on a ws chip like a bf16 one: one row of C is
// the same bytes as its transpose, so no byte transpose is needed.
TEST(MatmulKernel, Fp8GemvResultHoldsTheWeights) {
  ChipConfig chip = loadChip("trn3");
  auto build = [&](DType ct) {
    ProgramBuilder pb(targetFor(chip));
    emitMatmul(pb, contiguousMatmul(pb, 1, 1, 2048, 4096, DType::FP8E4M3, ct), kNoLoc);
    Program p = pb.finish();
    verifyProgram(p, chip.limits());
    return p;
  };
  const std::vector<float> av = rounded(randomValues(2048, 1), DType::FP8E4M3),
                           bv = rounded(randomValues(2048 * 4096, 2), DType::FP8E4M3);
  SimulationResult r = run(build(DType::FP8E4M3), chip, {{"a", array({1, 1, 2048}, av)}, {"b", array({1, 2048, 4096}, bv)}});
  std::vector<double> ref(4096, 0.0);
  for (int64_t k = 0; k < 2048; ++k)
    for (int64_t n = 0; n < 4096; ++n)
      ref[n] += static_cast<double>(av[k]) * bv[k * 4096 + n];
  std::vector<float> want(ref.begin(), ref.end());
  want = rounded(want, DType::FP8E4M3);
  EXPECT_LT(relativeError(values(r.outputs.at("c")), std::vector<double>(want.begin(), want.end())), 1e-6);
  const double fp8 = run(build(DType::FP8E4M3), chip, {}, false, true).report.seconds;
  const double bf16 = run(build(DType::BF16), chip, {}, false, true).report.seconds;
  EXPECT_LT(fp8, 1.1 * bf16) << fp8 << " vs " << bf16;
}

// Batched decode's gate * up: an epilogue input read through the transposed
// problem of a ws chip (its rows contiguous) goes through the DMA transpose
// unit also when several m-tiles share a PSUM bank, so it costs about what
// the weights cost, not one 4-byte descriptor per element.
TEST(MatmulKernel, TransposedEpilogueInputsUseTheTransposeUnit) {
  ChipConfig chip = loadChip("trn3");
  auto time = [&](bool withInput) {
    ProgramBuilder pb(targetFor(chip));
    const std::vector<int64_t> cs = {1, 64, 14336};
    MatmulSpec spec = contiguousMatmul(pb, 1, 64, 4096, 14336, DType::BF16, DType::BF16);
    if (withInput) {
      spec.epilogueInputs.push_back(
          HbmView::contiguous(pb.addTensor("g", TensorRole::Input, DType::FP32, cs), DType::FP32, cs));
      spec.epilogue.numInputs = 2;
      spec.epilogue.result = spec.epilogue.add(EwOp::binary(AluOp::Mul, 0, 1));
    }
    emitMatmul(pb, spec, kNoLoc);
    return run(pb.finish(), chip, {}, false, true).report.seconds;
  };
  const double plain = time(false), gated = time(true);
  EXPECT_LT(gated, 1.25 * plain) << gated << " vs " << plain;
}

TEST(MatmulKernel, DecodeGemvIsHbmBound) {
  ChipConfig chip = loadChip("trn3");
  Report r = timeMatmul(chip, 1, 8192, 8192);
  double fraction = r.achieved_hbm_bytes_per_second / r.peak_hbm_bytes_per_second;
  EXPECT_GE(fraction, 0.70) << "seconds " << r.seconds;
  EXPECT_LE(fraction, 1.0);
}

// Batched decode attention (Llama-3-8B at batch 16: 128 KV heads x 4 query
// heads against a 2048-token cache): consecutive jobs on a core share no
// buffer, so the K and V reads stream instead of paying a load latency each.
TEST(MatmulKernel, BatchedDecodeAttentionStreamsTheCache) {
  ChipConfig chip = loadChip("trn3");
  for (auto [k, n] : {std::pair<int64_t, int64_t>{128, 2048}, {2048, 128}}) {
    Report r = timeMatmul(chip, 4, k, n, 128);
    // Against the binding transfer limit: HBM, or the DMA engines' rate when lower (trn3).
    const double engines = static_cast<double>(chip.cores) * chip.dma.engines_per_core * chip.dma.engine_bytes_per_second;
    double fraction = r.achieved_hbm_bytes_per_second / std::min(r.peak_hbm_bytes_per_second, engines);
    EXPECT_GE(fraction, 0.55) << "k " << k << " n " << n << " seconds " << r.seconds;
    EXPECT_LE(fraction, 1.0);
  }
}

// Every chip variant (ChipVariants.h): the schedules take their tiles from
// the array, partitions, PSUM banks, SBUF, queues and cores, and follow the
// dataflow (ws holds B, is holds A, os streams both), with exact numerics in
// each: decode-like, GEMM-like, batched, cast, fp8 (double-row pairs and PE
// byte transposes) and a fused epilogue.
class MatmulOnChips : public ::testing::TestWithParam<ChipVariant> {};

TEST_P(MatmulOnChips, SchedulesMatchReference) {
  const ChipConfig chip = GetParam().chip();
  for (MatmulCase mc : {MatmulCase{1, 1, 64, 96, DType::BF16, DType::BF16},
                        MatmulCase{1, 5, 300, 700, DType::BF16, DType::BF16},
                        MatmulCase{1, 130, 200, 300, DType::BF16, DType::BF16},
                        MatmulCase{2, 257, 128, 513, DType::FP32, DType::BF16},
                        MatmulCase{3, 50, 129, 33, DType::FP32, DType::FP32},
                        MatmulCase{1, 140, 384, 150, DType::FP8E4M3, DType::FP8E4M3}})
    EXPECT_LT(runMatmul(mc, chip), 1e-5) << mc.batch << "x" << mc.m << "x" << mc.k << "x" << mc.n;
  EXPECT_LT(runMatmul({1, 200, 256, 600, DType::BF16, DType::BF16}, chip, true), 1e-5);
  EXPECT_LT(runMatmul({1, 4, 300, 1100, DType::BF16, DType::BF16}, chip, true), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Architectures, MatmulOnChips, ::testing::ValuesIn(chipVariants()), variantName);
