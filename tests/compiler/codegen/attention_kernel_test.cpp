// The fused attention kernel against a float64 reference: non-causal and
// causal, GQA groups, ragged query and key tails, head dims 64 and 128,
// long key ranges; and its structure (no scores in HBM, masked tiles skipped).
#include "ChipVariants.h"
#include "KernelTestSupport.h"
#include "compiler/codegen/kernels/Kernels.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace trnx;
using namespace trnx::cg;
using namespace trnx::cg::test;

namespace {

ChipConfig &chip() {
  static ChipConfig c = loadChip("trn3");
  return c;
}

struct Case {
  int64_t B, G, S, T, Dh;
  bool causal;
  int64_t offset = 0;
  DType operand = DType::FP32;
  DType storage = DType::FP32; // of q, k, v and the output in HBM (timing-only runs use bf16)
};

struct Built {
  Program program;
  std::vector<float> q, k, v; // q [B, G*S, Dh], kT [B, Dh, T], v [B, T, Dh]
  size_t kernels = 0;
};

Built build(const Case &c, const ChipConfig &target) {
  ProgramBuilder pb(targetFor(target));
  const std::vector<int64_t> qs{c.B, c.G * c.S, c.Dh}, ks{c.B, c.Dh, c.T}, vs{c.B, c.T, c.Dh};
  AttentionSpec s;
  const DType d = c.storage;
  s.q = HbmView::contiguous(pb.addTensor("q", TensorRole::Input, d, qs), d, qs);
  s.kT = HbmView::contiguous(pb.addTensor("k", TensorRole::Input, d, ks), d, ks);
  s.v = HbmView::contiguous(pb.addTensor("v", TensorRole::Input, d, vs), d, vs);
  s.out = HbmView::contiguous(pb.addTensor("o", TensorRole::Output, d, qs), d, qs);
  s.group = c.G;
  s.scale = 1.0f / std::sqrt(static_cast<float>(c.Dh));
  s.causal = c.causal;
  s.queryOffset = c.offset;
  s.operandType = c.operand;
  emitAttention(pb, s, kNoLoc);
  const size_t kernels = pb.kernelCount();
  Built b{pb.finish(), randomValues(c.B * c.G * c.S * c.Dh, 11), randomValues(c.B * c.Dh * c.T, 12),
          randomValues(c.B * c.T * c.Dh, 13), kernels};
  // Large enough scores that the online max matters.
  for (float &x : b.q)
    x *= 3.0f;
  return b;
}

std::vector<double> reference(const Case &c, const std::vector<float> &q, const std::vector<float> &k,
                              const std::vector<float> &v) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(static_cast<float>(c.Dh)));
  std::vector<double> out(q.size());
  std::vector<double> p(c.T);
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t r = 0; r < c.G * c.S; ++r) {
      const int64_t s = r % c.S;
      const float *qr = q.data() + (b * c.G * c.S + r) * c.Dh;
      double mx = -1e300, sum = 0;
      for (int64_t t = 0; t < c.T; ++t) {
        if (c.causal && t > s + c.offset) {
          p[t] = -1;
          continue;
        }
        double d = 0;
        for (int64_t e = 0; e < c.Dh; ++e)
          d += double(qr[e]) * k[(b * c.Dh + e) * c.T + t];
        p[t] = d * static_cast<float>(scale);
        mx = std::max(mx, p[t]);
      }
      for (int64_t t = 0; t < c.T; ++t) {
        const bool visible = !c.causal || t <= s + c.offset;
        p[t] = visible ? std::exp(p[t] - mx) : 0.0;
        sum += p[t];
      }
      for (int64_t e = 0; e < c.Dh; ++e) {
        double acc = 0;
        for (int64_t t = 0; t < c.T; ++t)
          acc += p[t] * v[(b * c.T + t) * c.Dh + e];
        out[(b * c.G * c.S + r) * c.Dh + e] = acc / sum;
      }
    }
  return out;
}

double check(const Case &c, const ChipConfig &target = chip()) {
  Built b = build(c, target);
  SimulationResult r = run(b.program, target,
                           {{"q", array({c.B, c.G * c.S, c.Dh}, b.q)},
                            {"k", array({c.B, c.Dh, c.T}, b.k)},
                            {"v", array({c.B, c.T, c.Dh}, b.v)}});
  std::vector<float> got = values(r.outputs.at("o"));
  // The reference sees the operands as the PE does.
  return relativeError(got, reference(c, rounded(b.q, c.operand), rounded(b.k, c.operand), rounded(b.v, c.operand)));
}

} // namespace

TEST(AttentionKernel, NonCausalMatchesReference) {
  EXPECT_LT(check({2, 1, 256, 1024, 128, false}), 1e-4);
  EXPECT_LT(check({1, 1, 200, 700, 64, false}), 1e-4); // ragged query and key tails
}

TEST(AttentionKernel, CausalMatchesReference) {
  EXPECT_LT(check({1, 1, 640, 640, 128, true}), 1e-4);
  EXPECT_LT(check({2, 1, 333, 333, 64, true}), 1e-4);       // ragged, diagonal inside tiles
  EXPECT_LT(check({1, 1, 130, 900, 64, true, 770}), 1e-4);  // queries after a prefix (offset)
}

TEST(AttentionKernel, GroupedQueryHeadsShareKeysAndValues) {
  EXPECT_LT(check({2, 4, 200, 200, 128, true}), 1e-4);
  EXPECT_LT(check({3, 4, 64, 300, 64, false}), 1e-4);
}

TEST(AttentionKernel, LongKeyRange) { EXPECT_LT(check({1, 1, 256, 4096, 128, true}), 1e-4); }

TEST(AttentionKernel, Bf16OperandsWithinRounding) {
  EXPECT_LT(check({2, 2, 300, 300, 128, true, 0, DType::BF16}), 2e-2);
  EXPECT_LT(check({1, 1, 128, 1500, 64, false, 0, DType::BF16}), 2e-2);
}

// More KV heads than cores (a hardware loop over each core's heads), and a
// long sequence on one core, which goes as several kernels.
TEST(AttentionKernel, HeadLoopsAndSeveralKernels) {
  EXPECT_LT(check({19, 2, 100, 150, 64, true}), 1e-4);
  ChipConfig one = chip();
  one.cores = 1;
  const Case c{1, 2, 3000, 3000, 64, true};
  EXPECT_GT(build(c, one).kernels, 1u);
  EXPECT_LT(check(c, one), 1e-4);
}

// The structure: HBM traffic is q, the output and one pass over K and V per
// query tile (no score matrix, which alone would be B*S*T*4 bytes), and
// causal masking skips the tiles above the diagonal: 40 of the 64
// (query, key) tile pairs at S = T = 2048 with 128 x 512 tiles.
TEST(AttentionKernel, ScoresStayOnChipAndMaskedTilesAreSkipped) {
  const Case c{8, 1, 2048, 2048, 128, false, 0, DType::BF16, DType::BF16};
  Case causal = c;
  causal.causal = true;
  const SimulationResult full = run(build(c, chip()).program, chip(), {}, false, true);
  const SimulationResult half = run(build(causal, chip()).program, chip(), {}, false, true);
  const double qo = 2.0 * 2 * c.B * c.S * c.Dh, kv = 2.0 * 2 * c.B * c.T * c.Dh, queryTiles = c.S / 128;
  EXPECT_NEAR(full.report.hbm_bytes, qo + queryTiles * kv, 0.02 * full.report.hbm_bytes);
  EXPECT_NEAR(half.report.hbm_bytes, qo + queryTiles * kv * 40 / 64, 0.02 * half.report.hbm_bytes);
  EXPECT_LT(half.report.seconds, 0.8 * full.report.seconds);
}

// Every chip variant (ChipVariants.h) computes the same attention (an
// output-stationary array through matmul_os, without PE transposes).
class AttentionOnChips : public ::testing::TestWithParam<ChipVariant> {};

TEST_P(AttentionOnChips, CausalGqaMatchesReference) {
  const ChipConfig target = GetParam().chip();
  EXPECT_LT(check({1, 2, 300, 300, 64, true}, target), 1e-4);
  EXPECT_LT(check({2, 1, 130, 700, 64, false}, target), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Architectures, AttentionOnChips, ::testing::ValuesIn(chipVariants()), variantName);
