// The systolic PE model (simulator/timing/SystolicModel.h) against
// SCALE-Sim v2's compute cycles, hand-derived from its formulas
// (docs/timing.md): with overlap off and the limits lifted a fold costs
//   ws, is: 2R + C + T - 2      os: R + C + T - 2
// and there are ceil(Sr/R) x ceil(Sc/C) folds, where for C[M,N] = A[M,K] B[K,N]
//   ws: Sr = K, Sc = N, T = M   os: Sr = M, Sc = N, T = K   is: Sr = K, Sc = M, T = N.
// Then the trn presets (overlap on, fast weight load, MIN_II, 512-vector
// passes), MX modes, and the per-instruction costs the machine charges.
#include "isa/AsmParser.h"
#include "isa/Error.h"
#include "simulator/Simulator.h"
#include "simulator/config/ConfigLoader.h"
#include "simulator/timing/SystolicModel.h"

#include <gtest/gtest.h>

#include <random>

using namespace trnx;

namespace {

// SCALE-Sim's idealised array: no overlap, no II floor, no moving limit,
// one row loaded per cycle, fill/drain = the skew of the array.
PeArrayConfig scaleSim(int rows, int cols, const std::string &dataflow) {
  PeArrayConfig pe;
  pe.rows = rows;
  pe.cols = cols;
  pe.dataflow = dataflow;
  pe.weight_load_overlap = false;
  pe.min_ii_cycles = 0;
  pe.moving_free_max = 1 << 30;
  pe.weight_load_rows_per_cycle = 1;
  pe.fill_drain_cycles = rows + cols - 2;
  return pe;
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// SCALE-Sim's demand-matrix row counts, transcribed from
// scalesim/compute/systolic_compute_{ws,os,is}.py (create_*_demand_mat):
// each fold's ifmap, filter and ofmap demand matrices, with prefixes,
// suffixes and skew_matrix (rows + cols - 1), must have the same row count
// (SCALE-Sim asserts it); the run is the sum over folds.
int64_t scaleSimRows(int64_t R, int64_t C, const std::string &df, int64_t M, int64_t N, int64_t K) {
  auto skew = [](int64_t rows, int64_t cols) { return rows + cols - 1; };
  int64_t Sr, Sc, T, ifmap, filter, ofmap;
  if (df == "os") {
    Sr = M, Sc = N, T = K;
    ifmap = skew(T + (C - 1), R);  // T x R, suffix C-1, skewed over R columns
    filter = skew(T + (R - 1), C); // T x C, suffix R-1, skewed over C columns
    ofmap = skew((T - 1) + R, C);  // prefix T-1, R x C (flipped), skewed
  } else if (df == "ws") {
    Sr = K, Sc = N, T = M;
    ifmap = skew(R + T + (C - 1), R);   // prefix R (weight load), T x R, suffix C-1
    filter = R + (R + C + T - 2);       // R x C flipped, suffix R+C+T-2, no skew
    ofmap = skew((2 * R - 1) + T, C);   // prefix 2R-1, T x C, skewed
  } else {
    Sr = K, Sc = M, T = N;
    ifmap = R + (R + C + T - 2);        // R x C flipped, suffix R+C+T-2, no skew
    filter = skew(R + T + (C - 1), R);  // prefix R (input load), T x R, suffix C-1
    ofmap = skew((2 * R - 1) + T, C);
  }
  EXPECT_EQ(ifmap, filter) << df;
  EXPECT_EQ(ifmap, ofmap) << df;
  return ceilDiv(Sr, R) * ceilDiv(Sc, C) * ifmap;
}

struct Shape {
  int rows, cols;
  int64_t M, N, K;
  double ws, os, is; // hand-derived cycles
};

// Worked by hand (R rows, C cols; folds x per-fold cycles):
const Shape kShapes[] = {
    // 32x32, multiples: ws 2x2 folds x (64+32+64-2=158); os 4 x (32+32+64-2=126); is 4 x 158.
    {32, 32, 64, 64, 64, 632, 504, 632},
    // 32x32, ragged: ws ceil(70/32)=3 x ceil(50/32)=2 = 6 x (64+32+100-2=194);
    // os 4 x 2 = 8 x (32+32+70-2=132); is 3 x ceil(100/32)=4 = 12 x (64+32+50-2=144).
    {32, 32, 100, 50, 70, 1164, 1056, 1728},
    // 16 rows x 8 cols: ws 1 x 3 x (32+8+33-2=71); os 3 x 3 x (16+8+9-2=31); is 1 x 5 x (32+8+17-2=55).
    {16, 8, 33, 17, 9, 213, 279, 275},
    // 4x4, one MAC: ws 8+4+1-2 = 11; os 4+4+1-2 = 7; is 11.
    {4, 4, 1, 1, 1, 11, 7, 11},
    // 128x128, ragged: ws 2 x 3 = 6 x (256+128+1000-2=1382); os 8 x 3 = 24 x (128+128+200-2=454);
    // is 2 x 8 = 16 x (256+128+300-2=682).
    {128, 128, 1000, 300, 200, 8292, 10896, 10912},
    // 128x128, 4096^3: 32 x 32 = 1024 folds x (256+128+4096-2=4478), os x (128+128+4096-2=4350).
    {128, 128, 4096, 4096, 4096, 4585472, 4454400, 4585472},
};

const ChipConfig &preset(const std::string &name) {
  static std::map<std::string, ChipConfig> cache;
  auto it = cache.find(name);
  if (it == cache.end())
    it = cache.emplace(name, loadChip(name)).first;
  return it->second;
}

} // namespace

TEST(SystolicModel, GemmMapsOntoSpatialAndTemporalDimsAsScaleSim) {
  SystolicMapping os = mapGemm(Dataflow::OutputStationary, 10, 20, 30);
  SystolicMapping ws = mapGemm(Dataflow::WeightStationary, 10, 20, 30);
  SystolicMapping is = mapGemm(Dataflow::InputStationary, 10, 20, 30);
  EXPECT_EQ(os.spatialRows, 10);
  EXPECT_EQ(os.spatialCols, 20);
  EXPECT_EQ(os.temporal, 30);
  EXPECT_EQ(ws.spatialRows, 30);
  EXPECT_EQ(ws.spatialCols, 20);
  EXPECT_EQ(ws.temporal, 10);
  EXPECT_EQ(is.spatialRows, 30);
  EXPECT_EQ(is.spatialCols, 10);
  EXPECT_EQ(is.temporal, 20);
}

TEST(SystolicModel, ReproducesScaleSimComputeCyclesInAllDataflows) {
  for (const Shape &s : kShapes) {
    for (const char *df : {"ws", "os", "is"}) {
      SCOPED_TRACE(std::string(df) + " " + std::to_string(s.rows) + "x" + std::to_string(s.cols) + " M=" +
                   std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K));
      const double expected = std::string(df) == "ws" ? s.ws : std::string(df) == "os" ? s.os : s.is;
      const PeArrayConfig pe = scaleSim(s.rows, s.cols, df);
      EXPECT_DOUBLE_EQ(gemmComputeCycles(pe, s.M, s.N, s.K), expected);
      EXPECT_EQ(scaleSimRows(s.rows, s.cols, df, s.M, s.N, s.K), static_cast<int64_t>(expected));
      SystolicCost c = gemmCost(pe, s.M, s.N, s.K);
      EXPECT_EQ(c.latency_cycles, 0); // every fold drained in series
      EXPECT_EQ(c.passes, c.folds);   // no moving limit
    }
  }
}

TEST(SystolicModel, MatchesTheDemandMatrixCountOnRandomShapes) {
  std::mt19937 rng(5);
  for (int i = 0; i < 300; ++i) {
    const int rows = 1 + static_cast<int>(rng() % 64), cols = 1 + static_cast<int>(rng() % 64);
    const int64_t M = 1 + rng() % 700, N = 1 + rng() % 700, K = 1 + rng() % 700;
    for (const char *df : {"ws", "os", "is"}) {
      SCOPED_TRACE(std::string(df) + " " + std::to_string(rows) + "x" + std::to_string(cols) + " " +
                   std::to_string(M) + "," + std::to_string(N) + "," + std::to_string(K));
      EXPECT_DOUBLE_EQ(gemmComputeCycles(scaleSim(rows, cols, df), M, N, K),
                       static_cast<double>(scaleSimRows(rows, cols, df, M, N, K)));
    }
  }
}

TEST(SystolicModel, EachLimitAddsItsOwnCost) {
  // 32x32 ws, M=100 N=50 K=70: 6 folds of T=100 (SCALE-Sim: 6 x 194 = 1164).
  PeArrayConfig pe = scaleSim(32, 32, "ws");
  // A moving limit of 40 splits T=100 into 40+40+20: 3 passes per fold, each
  // paying load 32 + fill/drain 62: 6 x (3 x 94 + 100) = 2292.
  pe.moving_free_max = 40;
  EXPECT_DOUBLE_EQ(gemmComputeCycles(pe, 100, 50, 70), 2292);
  EXPECT_EQ(gemmCost(pe, 100, 50, 70).passes, 18);
  // An II floor of 64 lifts every pass's stream (40, 40, 20) to 64:
  // 6 x (3 x 94 + 3 x 64) = 2844.
  pe.min_ii_cycles = 64;
  EXPECT_DOUBLE_EQ(gemmComputeCycles(pe, 100, 50, 70), 2844);
  // Fast weight load (4 rows/cycle): load 8 instead of 32: 6 x (3 x 70 + 192) = 2412.
  pe.weight_load_rows_per_cycle = 4;
  EXPECT_DOUBLE_EQ(gemmComputeCycles(pe, 100, 50, 70), 2412);
  // Overlap on: each pass costs max(stream, load) = max(64, 8); fill/drain
  // once at the end: 6 x 192 + 62 = 1214.
  pe.weight_load_overlap = true;
  SystolicCost c = gemmCost(pe, 100, 50, 70);
  EXPECT_DOUBLE_EQ(c.busy_cycles, 1152);
  EXPECT_DOUBLE_EQ(c.latency_cycles, 62);
  EXPECT_DOUBLE_EQ(gemmComputeCycles(pe, 100, 50, 70), 1214);
  // A load longer than the stream shows through: with II 0 and one row per
  // cycle the 20-vector pass costs its 32-cycle load.
  pe.min_ii_cycles = 0;
  pe.weight_load_rows_per_cycle = 1;
  EXPECT_DOUBLE_EQ(gemmCost(pe, 100, 50, 70).busy_cycles, 6 * (40 + 40 + 32));
  // fp32 streams at 1/fp32_ii_multiplier: 6 x (160 + 160 + 80).
  EXPECT_DOUBLE_EQ(gemmCost(pe, 100, 50, 70, PeMode::Fp32).busy_cycles, 6 * (160 + 160 + 80));
}

TEST(SystolicModel, Trn3BfloatGemmIsNearPeak) {
  const PeArrayConfig &pe = preset("trn3").pe_array;
  // 4096^3: 32 x 32 folds, T = 4096 in 8 passes of 512 (> MIN_II 64, > load 32):
  // busy 1024 x 8 x 512 = 4,194,304, then one fill/drain of 254.
  SystolicCost c = gemmCost(pe, 4096, 4096, 4096);
  EXPECT_EQ(c.folds, 1024);
  EXPECT_EQ(c.passes, 8192);
  EXPECT_DOUBLE_EQ(c.busy_cycles, 4194304);
  EXPECT_DOUBLE_EQ(gemmComputeCycles(pe, 4096, 4096, 4096), 4194304 + 254);
  // Utilisation MACs / (cycles x 128 x 128) above 99.99%.
  EXPECT_GT(4096.0 * 4096 * 4096 / (gemmComputeCycles(pe, 4096, 4096, 4096) * 128 * 128), 0.9999);
  // A GEMV (M = 1) is II-bound: 32 x 32 folds of one 64-cycle pass.
  EXPECT_DOUBLE_EQ(gemmCost(pe, 1, 4096, 4096).busy_cycles, 1024 * 64);
}

TEST(SystolicModel, DoubleRowAndMxPackKRowsIntoEachPeRow) {
  const PeArrayConfig &trn3 = preset("trn3").pe_array;
  // fp8 double-row: K = 256 per fold. M=512 N=128 K=256: 1 fold, 512 cycles.
  EXPECT_EQ(gemmCost(trn3, 512, 128, 256, PeMode::Fp8DoubleRow).folds, 1);
  EXPECT_DOUBLE_EQ(gemmCost(trn3, 512, 128, 256, PeMode::Fp8DoubleRow).busy_cycles, 512);
  EXPECT_DOUBLE_EQ(gemmCost(trn3, 512, 128, 256).busy_cycles, 1024); // bf16: 2 folds
  // MXFP8 on trn3: K = 4 x 128 = 512 per fold (G3).
  EXPECT_EQ(gemmCost(trn3, 512, 128, 512, PeMode::MxFp8).folds, 1);
  EXPECT_DOUBLE_EQ(gemmCost(trn3, 4096, 4096, 4096, PeMode::MxFp8).busy_cycles, 4194304 / 4.0);
  EXPECT_DOUBLE_EQ(gemmCost(trn3, 4096, 4096, 4096, PeMode::MxFp4).busy_cycles, 4194304 / 4.0);
  // trn4: 6x trn3's FP4 rate and 3x its FP8 rate (trainium.md 3).
  const PeArrayConfig &trn4 = preset("trn4").pe_array;
  const double k = 128.0 * 24 * 16; // a multiple of every K per fold
  EXPECT_DOUBLE_EQ(gemmCost(trn3, 4096, 4096, k, PeMode::MxFp4).busy_cycles /
                       gemmCost(trn4, 4096, 4096, k, PeMode::MxFp4).busy_cycles,
                   6.0);
  EXPECT_DOUBLE_EQ(gemmCost(trn3, 4096, 4096, k, PeMode::MxFp8).busy_cycles /
                       gemmCost(trn4, 4096, 4096, k, PeMode::MxFp8).busy_cycles,
                   3.0);
  // trn2 (NC-v3) has no MX mode.
  EXPECT_THROW(gemmCost(preset("trn2").pe_array, 128, 128, 128, PeMode::MxFp8), Error);
}

TEST(SystolicModel, BadDataflowIsAnError) {
  PeArrayConfig pe;
  pe.dataflow = "rs";
  EXPECT_THROW(gemmComputeCycles(pe, 1, 1, 1), Error);
  try {
    loadChipFromText("base: trn3\npe_array:\n  dataflow: rs\n", "bad.yaml");
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("pe_array.dataflow must be ws, os or is"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------
// The per-instruction cost the machine charges is the same model.
// ---------------------------------------------------------------------------

namespace {

SimulationResult runTiming(const std::string &body, const ChipConfig &chip) {
  Program p = parseAssembly(".target trn3\n" + body, "t.s");
  MachineOptions o;
  o.functional = false;
  o.trace = true;
  return simulate(p, chip, {}, o);
}

double peBusy(const SimulationResult &r) {
  for (const EngineUsage &u : r.report.streams)
    if (u.name == "core0.pe")
      return u.busy_cycles;
  return -1;
}

// A tiled GEMM C[M,N] = A[M,K] B[K,N] as matmul instructions: stationary
// B tile [k, n], moving A^T tile [k, m <= 512], one PSUM bank each.
std::string tiledGemm(int64_t M, int64_t N, int64_t K) {
  std::ostringstream os;
  os << ".stream core=0 engine=pe\n";
  for (int64_t k0 = 0; k0 < K; k0 += 128)
    for (int64_t n0 = 0; n0 < N; n0 += 128)
      for (int64_t m0 = 0; m0 < M; m0 += 512) {
        const int64_t k = std::min<int64_t>(128, K - k0), n = std::min<int64_t>(128, N - n0),
                      m = std::min<int64_t>(512, M - m0);
        os << "  matmul dst=psum[0:" << n << "]+0:fp32[[1," << m << "]] stationary=sbuf[0:" << k
           << "]+0:bf16[[1," << n << "]] moving=sbuf[0:" << k << "]+4096:bf16[[1," << m << "]]\n";
      }
  return os.str();
}

} // namespace

TEST(SystolicModel, MachineChargesGemmCostForATiledGemm) {
  ChipConfig chip = preset("trn3");
  for (bool overlap : {true, false}) {
    chip.pe_array.weight_load_overlap = overlap;
    for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{1000, 300, 200}, {512, 128, 128}, {40, 7, 300}}) {
      SCOPED_TRACE(std::to_string(overlap) + " " + std::to_string(M) + "," + std::to_string(N) + "," +
                   std::to_string(K));
      SimulationResult r = runTiming(tiledGemm(M, N, K), chip);
      EXPECT_NEAR(peBusy(r), gemmCost(chip.pe_array, M, N, K).busy_cycles, 1e-3);
    }
  }
}

TEST(SystolicModel, OverlapOffPaysLoadFillAndDrainPerInstruction) {
  ChipConfig chip = preset("trn3");
  const std::string mm = ".stream core=0 engine=pe\n  matmul dst=psum[0:128]+0:fp32[[1,512]] "
                         "stationary=sbuf[0:128]+0:bf16[[1,128]] moving=sbuf[0:128]+4096:bf16[[1,512]] signal=s0+1\n"
                         ".stream core=0 engine=act\n  activation dst=sbuf[0:128]+8192:fp32[[1,64]] "
                         "src=psum[0:128]+0:fp32[[1,64]] wait=s0>=1\n";
  // Overlap on (preset): busy max(512, 64, 128/4) = 512; visible fill/drain 254 + 2 later.
  SimulationResult on = runTiming(mm, chip);
  EXPECT_NEAR(peBusy(on), 512, 1e-3);
  EXPECT_NEAR(on.report.seconds, (512 + 254 + 2) / 2.56e9 + 64 / 1.2e9, 2e-14);
  // Overlap off: load 128/4 = 32 + fill/drain 254 + 512 busy; visible 2 later.
  chip.pe_array.weight_load_overlap = false;
  SimulationResult off = runTiming(mm, chip);
  EXPECT_NEAR(peBusy(off), 32 + 254 + 512, 1e-3);
  EXPECT_NEAR(off.report.seconds, (32 + 254 + 512 + 2) / 2.56e9 + 64 / 1.2e9, 2e-14);
  // Input-stationary arrays run the same instruction the same way: the
  // stationary operand is held, the moving one streams (which GEMM operand is
  // stationary is the compiler's choice, docs/timing.md).
  chip.pe_array.dataflow = "is";
  EXPECT_NEAR(peBusy(runTiming(mm, chip)), 32 + 254 + 512, 1e-3);
  // Output-stationary: matmul_os a [M=128, K=512] x b [N=128, K=512] holds
  // the [128 x 128] result and streams K: no preload, 254 + 512 without overlap.
  chip.pe_array.dataflow = "os";
  const std::string os = ".stream core=0 engine=pe\n  matmul_os dst=psum[0:128]+0:fp32[[1,128]] "
                         "a=sbuf[0:128]+0:bf16[[1,512]] b=sbuf[0:128]+4096:bf16[[1,512]]\n";
  EXPECT_NEAR(peBusy(runTiming(os, chip)), 254 + 512, 1e-3);
  chip.pe_array.weight_load_overlap = true;
  EXPECT_NEAR(peBusy(runTiming(os, chip)), 512, 1e-3);
}
