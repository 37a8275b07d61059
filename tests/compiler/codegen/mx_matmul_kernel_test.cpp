// The MX matmul kernel generator (emitMatmulMx): numerics against a C++
// reference that decodes FP4 E2M1 and E8M0 by hand, over ragged shapes, mixed
// element formats and several cores; and the simulated PE efficiency of a
// large MXFP8 GEMM against the MX peak.
#include "ChipVariants.h"
#include "KernelTestSupport.h"
#include "compiler/codegen/kernels/Kernels.h"
#include "isa/Error.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace trnx;
using namespace trnx::cg;
using namespace trnx::cg::test;

namespace {

const double kFp4[8] = {0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0};

HostArray bytes(const std::vector<int64_t> &shape, const std::vector<uint8_t> &b) {
  HostArray a;
  a.descr = "|u1";
  a.shape = shape;
  a.data = b;
  return a;
}

// One MX operand [K, cols] as HBM data plus its decoded values.
struct MxOperand {
  HostArray data, scales;
  std::vector<double> values; // [K, cols], scale applied
};

MxOperand makeOperand(DType t, int64_t k, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  MxOperand o;
  std::vector<uint8_t> scales((k / 32) * cols);
  for (uint8_t &s : scales)
    s = static_cast<uint8_t>(122 + rng() % 11);
  o.scales = bytes({k / 32, cols}, scales);
  o.values.resize(k * cols);
  auto scale = [&](int64_t r, int64_t c) { return std::ldexp(1.0, scales[(r / 32) * cols + c] - 127); };
  if (t == DType::FP4E2M1X2) {
    std::vector<uint8_t> packed(k * cols / 2);
    for (uint8_t &b : packed)
      b = static_cast<uint8_t>(rng() & 0xff);
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        uint8_t code = packed[(r * cols + c) / 2];
        code = c % 2 ? code >> 4 : code & 0xf;
        o.values[r * cols + c] = (code & 8 ? -1.0 : 1.0) * kFp4[code & 7] * scale(r, c);
      }
    o.data = bytes({k, cols / 2}, packed);
  } else {
    // fp8: values m * 2^e with |m| <= 7 are exact in e4m3 and (m <= 4) e5m2.
    std::vector<float> v(k * cols);
    for (int64_t i = 0; i < k * cols; ++i)
      v[i] = std::ldexp(static_cast<float>(static_cast<int>(rng() % 9) - 4), static_cast<int>(rng() % 6) - 3);
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < cols; ++c)
        o.values[r * cols + c] = v[r * cols + c] * scale(r, c);
    o.data = array({k, cols}, v);
  }
  return o;
}

Program buildMx(const ChipConfig &chip, DType at, DType bt, int64_t m, int64_t n, int64_t k, DType ct = DType::FP32,
                int64_t maxSegmentK = 0, bool aTiled = false) {
  ProgramBuilder pb(targetFor(chip));
  MxMatmulSpec s;
  s.aTiled = aTiled;
  s.aType = at;
  s.bType = bt;
  s.cType = ct;
  s.m = m;
  s.n = n;
  s.k = k;
  s.maxSegmentK = maxSegmentK;
  s.aT = pb.addTensor("a", TensorRole::Input, at, {k, m / static_cast<int64_t>(valuesPerElement(at))});
  s.aScale = pb.addTensor("as", TensorRole::Input, DType::E8M0, {k / 32, m});
  s.b = pb.addTensor("b", TensorRole::Input, bt, {k, n / static_cast<int64_t>(valuesPerElement(bt))});
  s.bScale = pb.addTensor("bs", TensorRole::Input, DType::E8M0, {k / 32, n});
  s.c = pb.addTensor("c", TensorRole::Output, ct, {m, n});
  emitMatmulMx(pb, s, kNoLoc);
  Program p = pb.finish();
  verifyProgram(p, chip.limits());
  return p;
}

double runMx(const ChipConfig &chip, DType at, DType bt, int64_t m, int64_t n, int64_t k, DType ct = DType::FP32,
             int64_t maxSegmentK = 0) {
  Program p = buildMx(chip, at, bt, m, n, k, ct, maxSegmentK);
  MxOperand a = makeOperand(at, k, m, 11), b = makeOperand(bt, k, n, 12);
  SimulationResult r =
      run(p, chip, {{"a", a.data}, {"as", a.scales}, {"b", b.data}, {"bs", b.scales}});
  std::vector<double> ref(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t kk = 0; kk < k; ++kk) {
      const double x = a.values[kk * m + i];
      for (int64_t j = 0; j < n; ++j)
        ref[i * n + j] += x * b.values[kk * n + j];
    }
  return relativeError(values(r.outputs.at("c")), ref);
}

} // namespace

TEST(MxMatmulKernel, ShapesAndFormatsMatchReference) {
  ChipConfig trn3 = loadChip("trn3");
  EXPECT_LT(runMx(trn3, DType::FP4E2M1X2, DType::FP4E2M1X2, 200, 700, 544), 1e-5);
  EXPECT_LT(runMx(trn3, DType::FP8E4M3, DType::FP8E5M2, 130, 96, 96), 1e-5);
  EXPECT_LT(runMx(trn3, DType::FP8E4M3, DType::FP4E2M1X2, 640, 1100, 1024), 1e-5);
  // Long K: the resident B chunk narrows to fit SBUF (1024 columns here).
  EXPECT_LT(runMx(trn3, DType::FP8E4M3, DType::FP8E4M3, 64, 2100, 8192), 1e-5);
  // Trn4's deeper packing (24 rows of K per PE row for fp4): K = 3072 + a rest tile.
  EXPECT_LT(runMx(loadChip("trn4"), DType::FP4E2M1X2, DType::FP4E2M1X2, 128, 512, 4096), 1e-5);
}

// K in segments (an fp32 partial product in HBM, added in the evacuation of
// every later segment): forced here with maxSegmentK, chosen by SBUF for
// Llama-sized K (LargeKSplitsAndStaysEfficient).
TEST(MxMatmulKernel, KSegmentsMatchReference) {
  ChipConfig trn3 = loadChip("trn3");
  EXPECT_LT(runMx(trn3, DType::FP8E4M3, DType::FP8E4M3, 200, 300, 1536, DType::FP32, 512), 1e-5); // 3 segments
  EXPECT_LT(runMx(trn3, DType::FP4E2M1X2, DType::FP8E4M3, 130, 256, 1120, DType::FP32, 512), 1e-5); // ragged last
  EXPECT_LT(runMx(trn3, DType::FP8E4M3, DType::FP8E4M3, 128, 128, 1024, DType::BF16, 512), 1e-2); // bf16 C
  const Program split = buildMx(trn3, DType::FP8E4M3, DType::FP8E4M3, 200, 300, 1536, DType::FP32, 512);
  EXPECT_GE(split.findTensor("mx_partial_0"), 0) << "the partial product tensor";
}

// A tile-major A^T (as emitQuantizeMxTransposed writes decode activations)
// read by K segments: each segment takes its tiles from every partition's run.
TEST(MxMatmulKernel, TileMajorOperandInKSegmentsMatchesReference) {
  ChipConfig trn3 = loadChip("trn3");
  const Target target = targetFor(trn3);
  const DType at = DType::FP8E4M3, bt = DType::FP8E4M3;
  const int64_t pack = mxKTilePacking(target, at, bt), kTile = target.matmulK() * pack;
  const int64_t m = 64, n = 256, k = 5 * kTile, tiles = k / kTile, blocks = kTile / 32;
  MxOperand a = makeOperand(at, k, m, 21), b = makeOperand(bt, k, n, 22);
  // Row k = t*kTile + p*pack + j of the data goes to row (p*T + t)*pack + j;
  // scale row t*blocks + q to row q*T + t.
  // (The fp8 data is given as f32 values, converted when loaded.)
  HostArray aData = a.data, aScales = a.scales;
  const int64_t row = static_cast<int64_t>(a.data.data.size()) / k;
  for (int64_t t = 0; t < tiles; ++t)
    for (int64_t p = 0; p < kTile / pack; ++p)
      for (int64_t j = 0; j < pack; ++j)
        std::memcpy(&aData.data[((p * tiles + t) * pack + j) * row], &a.data.data[(t * kTile + p * pack + j) * row],
                    row);
  for (int64_t t = 0; t < tiles; ++t)
    for (int64_t q = 0; q < blocks; ++q)
      std::memcpy(&aScales.data[(q * tiles + t) * m], &a.scales.data[(t * blocks + q) * m], m);
  for (int64_t segmentK : {int64_t{0}, 2 * kTile}) {
    Program p = buildMx(trn3, at, bt, m, n, k, DType::FP32, segmentK, true);
    EXPECT_EQ(p.findTensor("mx_partial_0") >= 0, segmentK > 0);
    SimulationResult r = run(p, trn3, {{"a", aData}, {"as", aScales}, {"b", b.data}, {"bs", b.scales}});
    std::vector<double> ref(m * n, 0.0);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t kk = 0; kk < k; ++kk)
        for (int64_t j = 0; j < n; ++j)
          ref[i * n + j] += a.values[kk * m + i] * b.values[kk * n + j];
    EXPECT_LT(relativeError(values(r.outputs.at("c")), ref), 1e-5) << "segment K " << segmentK;
  }
}

TEST(MxMatmulKernel, RejectsWhatTheTargetLacks) {
  ChipConfig trn2 = loadChip("trn2");
  EXPECT_THROW(buildMx(trn2, DType::FP8E4M3, DType::FP8E4M3, 128, 128, 128), Error);
  ChipConfig trn3 = loadChip("trn3");
  EXPECT_THROW(buildMx(trn3, DType::FP8E4M3, DType::FP8E4M3, 128, 128, 100), Error); // K not whole blocks
  EXPECT_THROW(buildMx(trn3, DType::FP4E2M1X2, DType::FP8E4M3, 127, 128, 128), Error); // odd fp4 M
}

// Llama-sized K (FFN down, 14336; 28672) no longer fits one B chunk wide:
// the kernel splits K rather than narrowing the chunk, staying efficient.
TEST(MxMatmulKernel, LargeKSplitsAndStaysEfficient) {
  ChipConfig chip = loadChip("trn3");
  for (int64_t k : {14336, 28672}) {
    Program p = buildMx(chip, DType::FP8E4M3, DType::FP8E4M3, 4096, 4096, k, DType::BF16);
    Report r = run(p, chip, {}, false, true).report;
    EXPECT_GE(r.achieved_flops_per_second / r.peak_flops_per_second, 0.70) << "K=" << k;
    EXPECT_GE(p.findTensor("mx_partial_0"), 0) << "K=" << k;
  }
}

// Simulated efficiency of the generated code (deterministic, not wall-clock).
TEST(MxMatmulKernel, LargeGemmNearMxPeak) {
  for (DType t : {DType::FP8E4M3, DType::FP4E2M1X2}) {
    ChipConfig chip = loadChip("trn3");
    Report r = run(buildMx(chip, t, t, 4096, 4096, 4096, DType::BF16), chip, {}, false, true).report;
    EXPECT_DOUBLE_EQ(r.peak_flops_per_second, 4 * chip.peakFlopsPerSecond(DType::BF16));
    const double fraction = r.achieved_flops_per_second / r.peak_flops_per_second;
    EXPECT_GE(fraction, 0.70) << dtypeName(t) << " seconds " << r.seconds;
    EXPECT_LE(fraction, 1.0);
  }
}

// Every chip variant (ChipVariants.h): MX tiles follow the array and PSUM;
// an output-stationary array has no stationary operand, so MX is an error.
class MxMatmulOnChips : public ::testing::TestWithParam<ChipVariant> {};

TEST_P(MxMatmulOnChips, ShapesMatchReferenceOrAreRefused) {
  const ChipConfig chip = GetParam().chip();
  if (chip.pe_array.dataflow == "os") {
    EXPECT_THROW(buildMx(chip, DType::FP8E4M3, DType::FP8E4M3, 128, 128, 128), Error);
    return;
  }
  EXPECT_LT(runMx(chip, DType::FP8E4M3, DType::FP8E5M2, 130, 96, 96), 1e-5);
  EXPECT_LT(runMx(chip, DType::FP4E2M1X2, DType::FP8E4M3, 200, 700, 1056), 1e-5);
  EXPECT_LT(runMx(chip, DType::FP8E4M3, DType::FP8E4M3, 64, 300, 1536, DType::FP32, 512), 1e-5); // K segments
}

INSTANTIATE_TEST_SUITE_P(Architectures, MxMatmulOnChips, ::testing::ValuesIn(chipVariants()), variantName);
