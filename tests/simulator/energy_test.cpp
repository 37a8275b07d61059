// Energy model: presets are calibrated so a peak-rate GEMM loop draws about
// the chip's stated power (power.tdp_watts, +-15%); chip, node and facility
// levels, the workload figures, per-op attribution and the power timeline all
// add up to the same energy.
#include "isa/AsmParser.h"
#include "simulator/Simulator.h"
#include "simulator/config/ConfigLoader.h"
#include "simulator/trace/TraceWriter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <sstream>

using namespace trnx;

namespace {

// Every core's PE runs `iterations` x 8 back-to-back matmuls of the largest
// tile (K=128 rows, M=128 columns, N=512), accumulating into alternating PSUM
// banks; operands stay in SBUF, so nothing else limits the rate.
std::string peakGemmLoop(const ChipConfig &chip, bool fp8DoubleRow, int iterations) {
  std::ostringstream os;
  os << ".target " << chip.name << "\n.cores " << chip.cores << "\n";
  const std::string stationary = fp8DoubleRow ? "fp8e4m3[[128,2],[1,128]]" : "bf16[[1,128]]";
  const std::string moving = fp8DoubleRow ? "fp8e4m3[[512,2],[1,512]]" : "bf16[[1,512]]";
  for (int core = 0; core < chip.cores; ++core) {
    os << ".stream core=" << core << " engine=pe\n  loop count=" << iterations << "\n";
    for (int i = 0; i < 8; ++i)
      os << "    matmul dst=psum[0:128]+0x" << std::hex << (i % 2) * 0x800 << std::dec
         << ":fp32[[1,512]] stationary=sbuf[0:128]+0x0:" << stationary << " moving=sbuf[0:128]+0x1000:"
         << moving << (fp8DoubleRow ? " mode=double_row" : "") << " acc=1\n";
    os << "  endloop\n";
  }
  return os.str();
}

// The same loop in MX mode: matmul_mx with every K row the PE row packing
// allows (k_rows = the rate multiplier of the format), [128R, 128] x [128R, 512].
std::string peakMxLoop(const ChipConfig &chip, bool fp4, int iterations) {
  const int r = static_cast<int>(chip.mxRateMultiplier(fp4 ? DType::FP4E2M1X2 : DType::FP8E4M3));
  const std::string type = fp4 ? "fp4e2m1x2" : "fp8e4m3";
  const int v = fp4 ? 2 : 1; // values per element
  std::ostringstream os;
  os << ".target " << chip.name << "\n.cores " << chip.cores << "\n";
  for (int core = 0; core < chip.cores; ++core) {
    os << ".stream core=" << core << " engine=pe\n  loop count=" << iterations << "\n";
    for (int i = 0; i < 8; ++i)
      os << "    matmul_mx dst=psum[0:128]+0x" << std::hex << (i % 2) * 0x800 << std::dec
         << ":fp32[[1,512]] stationary=sbuf[0:128]+0x0:" << type << "[[" << 128 / v << "," << r << "],[1,"
         << 128 / v << "]] moving=sbuf[0:128]+0x1000:" << type << "[[" << 512 / v << "," << r << "],[1," << 512 / v
         << "]] stationary_scale=sbuf[0:" << 4 * r << "]+0x8000:e8m0[[1,128]] moving_scale=sbuf[0:" << 4 * r
         << "]+0x8100:e8m0[[1,512]] k_rows=" << r << " acc=1\n";
    os << "  endloop\n";
  }
  return os.str();
}

SimulationResult runTiming(const Program &program, const ChipConfig &chip, bool trace = false,
                           bool attribute = true) {
  MachineOptions o;
  o.functional = false;
  o.timing = true;
  o.trace = trace;
  return simulate(program, chip, {}, o, "t.s", attribute);
}

bool hasFp8DoubleRow(const ChipConfig &chip) {
  return chip.pe_array.double_row && (chip.pe_array.input_dtypes & dtypeBit(DType::FP8E4M3));
}

// A small program with source locations on two ops: DMA in, matmul, ACT out.
const char *kAttributed = R"(.target trn3
.cores 1
.tensor a input bf16 [128,128]
.tensor b input bf16 [128,512]
.tensor c output fp32 [128,512]
.loc 0 "model.mlir" 3 5 "tosa.matmul"
.loc 1 "model.mlir" 4 7 "tosa.exp"
.stream core=0 engine=q0
  dma_copy dst=sbuf[0:128]+0x0:bf16[[1,128]] src=hbm[a]+0x0:bf16[[128,128],[1,128]] signal=s0+1 loc=0
  dma_copy dst=sbuf[0:128]+0x400:bf16[[1,512]] src=hbm[b]+0x0:bf16[[512,128],[1,512]] signal=s0+1 loc=0
.stream core=0 engine=pe
  matmul dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x0:bf16[[1,128]] moving=sbuf[0:128]+0x400:bf16[[1,512]] wait=s0>=2 signal=s1+1 loc=0
.stream core=0 engine=act
  activation dst=sbuf[0:128]+0x1000:fp32[[1,512]] src=psum[0:128]+0x0:fp32[[1,512]] func=exp wait=s1>=1 signal=s2+1 loc=1
.stream core=0 engine=q1
  dma_copy dst=hbm[c]+0x0:fp32[[512,128],[1,512]] src=sbuf[0:128]+0x1000:fp32[[1,512]] wait=s2>=1
)";

} // namespace

TEST(EnergyCalibration, PeakGemmLoopDrawsTheStatedPowerOnEveryPreset) {
  for (const std::string &name : presetNames()) {
    const ChipConfig chip = loadChip(name);
    ASSERT_GT(chip.power.tdp_watts, 0) << name;
    for (bool fp8 : {false, true}) {
      if (fp8 && !hasFp8DoubleRow(chip))
        continue;
      const Program program = parseAssembly(peakGemmLoop(chip, fp8, 50), "peak.s");
      const Report r = runTiming(program, chip).report;
      // The loop really runs at the PE peak of that mode ...
      EXPECT_GT(r.achieved_flops_per_second, 0.99 * chip.peakFlopsPerSecond(fp8 ? DType::FP8E4M3 : DType::BF16, fp8))
          << name << (fp8 ? " fp8" : " bf16");
      // ... and draws the chip's stated power.
      EXPECT_NEAR(r.average_power_watts, chip.power.tdp_watts, 0.15 * chip.power.tdp_watts)
          << name << (fp8 ? " fp8 double-row" : " bf16") << " peak GEMM loop";
      EXPECT_DOUBLE_EQ(r.average_power_watts, r.levels.chipWatts());
    }
  }
}

// MX modes (trn3, trn4): the fastest one draws about TDP too (MX MACs are
// charged at pe_mac_fp4_joules, derived at the MXFP4 peak); a slower MX mode
// draws less, never more.
TEST(EnergyCalibration, PeakMxLoopDrawsAtMostTheStatedPower) {
  int calibrated = 0;
  for (const std::string &name : presetNames()) {
    const ChipConfig chip = loadChip(name);
    const double fastest = std::max(chip.mxRateMultiplier(DType::FP8E4M3), chip.mxRateMultiplier(DType::FP4E2M1X2));
    for (bool fp4 : {false, true}) {
      const DType t = fp4 ? DType::FP4E2M1X2 : DType::FP8E4M3;
      if (chip.mxRateMultiplier(t) < 1)
        continue;
      const Report r = runTiming(parseAssembly(peakMxLoop(chip, fp4, 50), "mx.s"), chip).report;
      const std::string what = name + (fp4 ? " mxfp4" : " mxfp8") + " peak loop";
      EXPECT_GT(r.achieved_flops_per_second, 0.99 * chip.mxPeakFlopsPerSecond(t, t)) << what;
      EXPECT_LT(r.average_power_watts, 1.15 * chip.power.tdp_watts) << what;
      if (chip.mxRateMultiplier(t) == fastest) {
        EXPECT_NEAR(r.average_power_watts, chip.power.tdp_watts, 0.15 * chip.power.tdp_watts) << what;
        ++calibrated;
      }
    }
  }
  EXPECT_GE(calibrated, 2); // trn3 and trn4 have MX modes
}

TEST(EnergyCalibration, IdleChipDrawsStaticPowerOnly) {
  const ChipConfig chip = loadChip("trn2");
  const Program program = parseAssembly(".target trn2\n.stream core=0 engine=act\n"
                                        "  memset dst=sbuf[0:1]+0x0:fp32[[1,1]] value=0\n",
                                        "idle.s");
  const Report r = runTiming(program, chip).report;
  ASSERT_GT(r.seconds, 0);
  EXPECT_NEAR(r.average_power_watts, chip.energy.static_watts, 0.01 * chip.energy.static_watts);
}

TEST(EnergyLevels, NodeAddsHostAndNetworkAndFacilityMultipliesByPue) {
  const ChipConfig chip = loadChip("trn3");
  const Program program = parseAssembly(kAttributed, "model.s");
  const Report r = runTiming(program, chip).report;
  const EnergyLevels &l = r.levels;
  ASSERT_GT(r.seconds, 0);
  EXPECT_DOUBLE_EQ(l.chip_joules, r.energy_joules);
  EXPECT_NEAR(l.chip_joules, l.chip.dynamic() + chip.energy.static_watts * r.seconds, 1e-12 * l.chip_joules);
  EXPECT_NEAR(l.node_joules,
              l.chip_joules + (chip.power.host_watts_per_chip + chip.power.network_watts_per_chip) * r.seconds,
              1e-12 * l.node_joules);
  EXPECT_NEAR(l.facility_joules, l.node_joules * chip.power.pue, 1e-12 * l.facility_joules);
  EXPECT_LT(l.chip_joules, l.node_joules);
  EXPECT_LT(l.node_joules, l.facility_joules);
  EXPECT_NEAR(l.facilityWatts(), l.facility_joules / r.seconds, 1e-9 * l.facilityWatts());
  // Link energy is 0 until the ISA has collectives.
  EXPECT_EQ(l.chip.link_joules, 0);
}

TEST(EnergyLevels, WorkloadFiguresFollowFromTokensTimeAndEnergy) {
  const ChipConfig chip = loadChip("trn3");
  Report r = runTiming(parseAssembly(kAttributed, "model.s"), chip).report;
  EXPECT_FALSE(r.has_workload);
  applyWorkload(r, 64);
  ASSERT_TRUE(r.has_workload);
  const Workload &w = r.workload;
  EXPECT_DOUBLE_EQ(w.tokens_per_second, 64 / r.seconds);
  EXPECT_DOUBLE_EQ(w.tokens_per_joule_chip, 64 / r.levels.chip_joules);
  EXPECT_DOUBLE_EQ(w.tokens_per_joule_facility, 64 / r.levels.facility_joules);
  // tokens/s per MW is tokens/J x 1e6 at the same boundary.
  EXPECT_NEAR(w.tokens_per_second_per_megawatt_chip, 1e6 * w.tokens_per_joule_chip,
              1e-9 * w.tokens_per_second_per_megawatt_chip);
  EXPECT_NEAR(w.tokens_per_second_per_megawatt_facility, w.tokens_per_second * 1e6 / r.levels.facilityWatts(),
              1e-9 * w.tokens_per_second_per_megawatt_facility);
  const double provisioned =
      (chip.power.tdp_watts + chip.power.host_watts_per_chip + chip.power.network_watts_per_chip) * chip.power.pue;
  EXPECT_NEAR(w.tokens_per_second_per_megawatt_provisioned, w.tokens_per_second * 1e6 / provisioned,
              1e-9 * w.tokens_per_second_per_megawatt_provisioned);
  EXPECT_GT(w.tokens_per_joule_chip, w.tokens_per_joule_node);
  EXPECT_GT(w.tokens_per_joule_node, w.tokens_per_joule_facility);
}

TEST(OpAttribution, OpsShareOutAllTimeAndEnergy) {
  const ChipConfig chip = loadChip("trn3");
  const Program program = parseAssembly(kAttributed, "model.s");
  const Report r = runTiming(program, chip).report;
  ASSERT_EQ(r.ops.size(), 3u); // tosa.matmul, tosa.exp and the unattributed store
  uint64_t instructions = 0;
  double energy = 0, dynamic = 0, share = 0, time = 0;
  for (const OpUsage &u : r.ops) {
    instructions += u.instructions;
    energy += u.energy_joules;
    dynamic += u.dynamic_joules;
    share += u.energy_share;
    time += u.time_share;
  }
  EXPECT_EQ(instructions, r.instructions);
  EXPECT_NEAR(energy, r.energy_joules, 1e-12 * r.energy_joules);
  EXPECT_NEAR(dynamic, r.energy.dynamic(), 1e-12 * r.energy_joules);
  EXPECT_NEAR(share, 1, 1e-12);
  EXPECT_NEAR(time, 1, 1e-12);
  // Sorted by busy time; the matmul op owns the loads and the PE work.
  for (size_t i = 1; i < r.ops.size(); ++i)
    EXPECT_GE(r.ops[i - 1].busy_seconds, r.ops[i].busy_seconds);
  const OpUsage *mm = nullptr, *ex = nullptr, *none = nullptr;
  for (const OpUsage &u : r.ops)
    (u.op == "tosa.matmul" ? mm : u.op == "tosa.exp" ? ex : none) = &u;
  ASSERT_TRUE(mm && ex && none);
  EXPECT_EQ(mm->loc, "model.mlir:3:5");
  EXPECT_EQ(mm->instructions, 3u);
  EXPECT_NEAR(mm->busy_cycles[static_cast<int>(EngineKind::PE)], 512, 1e-3);
  EXPECT_GT(mm->busy_cycles[static_cast<int>(EngineKind::DMA)], 0);
  EXPECT_EQ(mm->busy_cycles[static_cast<int>(EngineKind::ACT)], 0);
  EXPECT_GT(ex->busy_cycles[static_cast<int>(EngineKind::ACT)], 0);
  EXPECT_EQ(none->op, "(none)");
  EXPECT_EQ(none->loc, "");
  // The PE stream's busy cycles all belong to the matmul op.
  for (const EngineUsage &e : r.engines) {
    if (e.name == "pe") {
      EXPECT_NEAR(mm->busy_cycles[static_cast<int>(EngineKind::PE)], e.busy_cycles, 1e-6);
    }
  }
}

TEST(OpAttribution, SameWithAndWithoutTraceAndNoSlicesKeptUnasked) {
  const ChipConfig chip = loadChip("trn3");
  const Program program = parseAssembly(kAttributed, "model.s");
  const SimulationResult quiet = runTiming(program, chip, false);
  const SimulationResult traced = runTiming(program, chip, true);
  EXPECT_TRUE(quiet.stats.slices.empty());
  EXPECT_FALSE(traced.stats.slices.empty());
  ASSERT_EQ(quiet.report.ops.size(), traced.report.ops.size());
  for (size_t i = 0; i < quiet.report.ops.size(); ++i) {
    EXPECT_EQ(quiet.report.ops[i].op, traced.report.ops[i].op);
    EXPECT_DOUBLE_EQ(quiet.report.ops[i].energy_joules, traced.report.ops[i].energy_joules);
  }
  EXPECT_DOUBLE_EQ(quiet.report.seconds, traced.report.seconds);
  // Without attribution (the default of simulate()) there is no op table, and
  // nothing else in the report changes.
  const SimulationResult plain = runTiming(program, chip, false, false);
  EXPECT_TRUE(plain.report.ops.empty());
  EXPECT_TRUE(plain.stats.slices.empty());
  EXPECT_DOUBLE_EQ(plain.report.seconds, quiet.report.seconds);
  EXPECT_DOUBLE_EQ(plain.report.energy_joules, quiet.report.energy_joules);
}

TEST(PowerTimeline, IntegratesToTheChipEnergy) {
  for (const char *source : {"gemm", "attributed"}) {
    const ChipConfig chip = loadChip("trn3");
    const Program program = parseAssembly(
        std::string(source) == "gemm" ? peakGemmLoop(chip, chip.pe_array.double_row, 4) : std::string(kAttributed),
        "p.s");
    const SimulationResult res = runTiming(program, chip, true);
    const std::vector<PowerSample> power = powerTimeline(program, chip, res.stats, 64);
    ASSERT_EQ(power.size(), 64u);
    const double bin = res.report.seconds / 64;
    double joules = 0;
    for (size_t i = 0; i < power.size(); ++i) {
      EXPECT_NEAR(power[i].start_seconds, i * bin, 1e-9 * res.report.seconds);
      EXPECT_GE(power[i].chip_watts, chip.energy.static_watts * (1 - 1e-12));
      joules += power[i].chip_watts * bin;
    }
    EXPECT_NEAR(joules, res.report.energy_joules, 1e-9 * res.report.energy_joules) << source;
  }
}

TEST(PowerTimeline, TraceCarriesPowerCounterOnlyWithChip) {
  const ChipConfig chip = loadChip("trn3");
  const Program program = parseAssembly(kAttributed, "model.s");
  const SimulationResult res = runTiming(program, chip, true);
  EXPECT_EQ(traceToJson(program, res.stats).find("chip_power"), std::string::npos);
  const std::string withChip = traceToJson(program, res.stats, &chip);
  EXPECT_NE(withChip.find("\"chip_power\""), std::string::npos);
  EXPECT_NE(withChip.find("\"tosa.exp\""), std::string::npos);
}
