// Timing of single instructions and small programs on trn3 against the cost
// formulas of docs/isa.md ("Cost") with the numbers of presets/trn3.yaml:
// busy cycles per stream, latency of dependent instructions, overlap of
// engines, DMA transfer time (issue overhead + payload / (engines x
// bandwidth x efficiency) + HBM latency) and the chip-wide HBM cap. The only
// tolerance is for the femtosecond clock of the simulator.
#include "isa/AsmParser.h"
#include "isa/Error.h"
#include "simulator/Simulator.h"
#include "simulator/config/ConfigLoader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>

using namespace trnx;

namespace {

// trn3.yaml
constexpr double kPeHz = 2.56e9, kVecHz = 1.2e9; // act, dve, pool, sp (and DMA queues)
constexpr double kDmaEngineBps = 3.3e10, kEngines = 16, kIssue = 6.0e-7, kDescriptor = 128;
constexpr double kHbmLatency = 5.0e-7, kHbmBps = 4.9e12, kHbmUtil = 0.9;
constexpr double kCycleTol = 1e-4;   // cycles: femtosecond rounding only
constexpr double kSecondTol = 2e-14; // seconds: a few femtoseconds per event

const ChipConfig &trn3() {
  static const ChipConfig c = loadChip("trn3");
  return c;
}

struct TimedRun {
  Program program;
  SimulationResult result;
  const EngineUsage &stream(const std::string &name) const {
    for (const EngineUsage &u : result.report.streams)
      if (u.name == name)
        return u;
    throw Error("no stream " + name);
  }
  const EngineUsage &engine(const std::string &kind) const {
    for (const EngineUsage &u : result.report.engines)
      if (u.name == kind)
        return u;
    throw Error("no engine " + kind);
  }
  // Start time (seconds) of the n-th executed instruction of a stream.
  double start(const std::string &streamName, size_t n = 0) const {
    size_t seen = 0;
    for (const TraceSlice &s : result.stats.slices) {
      const Stream &st = program.streams[s.stream];
      if ("core" + std::to_string(st.core) + "." + st.engine.name() == streamName && seen++ == n)
        return static_cast<double>(s.start) / 1e15;
    }
    throw Error("no slice " + std::to_string(n) + " of " + streamName);
  }
};

TimedRun timing(const std::string &body, const ChipConfig &chip = trn3()) {
  TimedRun r{parseAssembly(".target trn3\n" + body, "t.s"), {}};
  MachineOptions o;
  o.functional = false;
  o.timing = true;
  o.trace = true;
  r.result = simulate(r.program, chip, {}, o);
  return r;
}

// One instruction alone on a stream; returns its busy cycles (engine clock).
double busyOf(const std::string &engine, const std::string &inst) {
  TimedRun r = timing(".stream core=0 engine=" + engine + "\n  " + inst + "\n");
  const EngineUsage &u = r.stream("core0." + engine);
  EXPECT_EQ(u.instructions, 1u) << inst;
  // The run is exactly the instruction: busy the whole time.
  EXPECT_NEAR(r.result.report.seconds * u.clock_hz, u.busy_cycles, kCycleTol) << inst;
  EXPECT_NEAR(u.busy_fraction, 1.0, 1e-9) << inst;
  return u.busy_cycles;
}

std::string sb(int p, long off, const std::string &dt, const std::string &dims) {
  std::ostringstream os;
  os << "sbuf[0:" << p << "]+" << off << ":" << dt << dims;
  return os.str();
}
std::string sb(int p, long off, const std::string &dt, int f) {
  return sb(p, off, dt, "[[1," + std::to_string(f) + "]]");
}
std::string ps(int p, long off, const std::string &dt, int f) {
  std::ostringstream os;
  os << "psum[0:" << p << "]+" << off << ":" << dt << "[[1," << f << "]]";
  return os.str();
}

} // namespace

// ---------------------------------------------------------------------------
// PE
// ---------------------------------------------------------------------------

TEST(TimingPe, MatmulInitiationIntervalIsMaxOfNAndMinII) {
  struct Case {
    std::string st, mv;
    int K, M, N;
    double cycles;
  } cases[] = {
      {"bf16", "bf16", 128, 128, 512, 512},  {"bf16", "bf16", 128, 128, 32, 64},
      {"bf16", "bf16", 64, 32, 64, 64},      {"bf16", "bf16", 128, 128, 65, 65},
      {"fp16", "fp16", 128, 128, 200, 200},  {"fp8e4m3", "fp8e5m2", 128, 64, 300, 300},
      {"fp32", "fp32", 128, 128, 512, 2048}, {"fp32", "fp32", 128, 128, 32, 256},
      {"bf16", "fp32", 128, 128, 100, 400},
  };
  for (const Case &c : cases) {
    std::string inst = "matmul dst=" + ps(c.M, 0, "fp32", c.N) + " stationary=" + sb(c.K, 0, c.st, c.M) +
                       " moving=" + sb(c.K, 0x1000, c.mv, c.N);
    SCOPED_TRACE(inst);
    EXPECT_NEAR(busyOf("pe", inst), c.cycles, kCycleTol);
    TimedRun r = timing(".stream core=0 engine=pe\n  " + inst + "\n");
    EXPECT_DOUBLE_EQ(r.result.report.flops, 2.0 * c.K * c.M * c.N);
    EXPECT_NEAR(r.result.report.cycles, c.cycles, kCycleTol); // report cycles are PE cycles
  }
}

TEST(TimingPe, DoubleRowMatmulMovesTwoRowsPerCycle) {
  // fp8 [128, 2, 128] x [128, 2, 512]: K = 256, N = 512 -> 512 cycles, twice the MACs.
  // On trn2: NC-v4 (trn3) runs plain fp8 at the bf16 rate (G3), no double-row.
  const std::string body = ".stream core=0 engine=pe\n  matmul dst=" + ps(128, 0, "fp32", 512) +
                           " stationary=" + sb(128, 0, "fp8e4m3", "[[128,2],[1,128]]") +
                           " moving=" + sb(128, 0x1000, "fp8e4m3", "[[512,2],[1,512]]") + " mode=double_row\n";
  EXPECT_THROW(timing(body), Error);
  const ChipConfig trn2 = loadChip("trn2");
  const double kPeHz = trn2.pe.clock_hz;
  EXPECT_DOUBLE_EQ(kPeHz, 2.544e9);
  TimedRun r = timing(body, trn2);
  EXPECT_NEAR(r.stream("core0.pe").busy_cycles, 512, kCycleTol);
  EXPECT_DOUBLE_EQ(r.result.report.flops, 2.0 * 256 * 128 * 512);
  // Peak of the mode used: double-row fp8 doubles the bf16 peak of 8 cores.
  EXPECT_DOUBLE_EQ(r.result.report.peak_flops_per_second, 2 * 2.0 * 128 * 128 * kPeHz * 8);
  EXPECT_NEAR(r.result.report.achieved_flops_per_second / (r.result.report.peak_flops_per_second / 8), 1.0, 1e-8);
  // Same operands in normal mode: N = 1024 moving elements is over the limit, so use N=512 of one row.
  TimedRun n = timing(".stream core=0 engine=pe\n  matmul dst=" + ps(128, 0, "fp32", 512) + " stationary=" +
                      sb(128, 0, "fp8e4m3", 128) + " moving=" + sb(128, 0x1000, "fp8e4m3", 512) + "\n");
  EXPECT_NEAR(n.stream("core0.pe").busy_cycles, 512, kCycleTol);
  EXPECT_DOUBLE_EQ(n.result.report.flops, 2.0 * 128 * 128 * 512);
  EXPECT_DOUBLE_EQ(n.result.report.peak_flops_per_second, 2.0 * 128 * 128 * ::kPeHz * 8);
}

TEST(TimingPe, TransposeCostsMaxOfPAndMin64F) {
  struct Case {
    int P, F;
    double cycles;
  } cases[] = {{128, 128, 128}, {32, 128, 64}, {16, 32, 32}, {8, 8, 8}, {128, 16, 128}, {64, 100, 64}, {40, 50, 50}};
  for (const Case &c : cases) {
    std::string inst = "transpose dst=" + ps(c.F, 0, "fp32", c.P) + " src=" + sb(c.P, 0, "fp32", c.F);
    SCOPED_TRACE(inst);
    EXPECT_NEAR(busyOf("pe", inst), c.cycles, kCycleTol);
  }
}

// ---------------------------------------------------------------------------
// ACT / DVE / Pool
// ---------------------------------------------------------------------------

TEST(TimingAct, ActivationIsNOverRateWithMinIIPlusReduce) {
  const std::string red = " reduce=add reduce_dst=" + sb(128, 0x8000, "fp32", 1);
  struct Case {
    std::string inst;
    double cycles;
  } cases[] = {
      {"activation dst=" + sb(128, 0x1000, "fp32", 512) + " src=" + sb(128, 0, "fp32", 512) + " func=exp", 512},
      {"activation dst=" + sb(128, 0x1000, "bf16", 512) + " src=" + sb(128, 0, "bf16", 512) + " func=exp", 256},
      {"activation dst=" + sb(128, 0x1000, "bf16", 512) + " src=" + sb(128, 0, "fp32", 512) + " func=exp", 512},
      {"activation dst=" + sb(128, 0x1000, "fp32", 32) + " src=" + sb(128, 0, "fp32", 32) + " func=tanh", 64},
      {"activation dst=" + sb(128, 0x1000, "bf16", 100) + " src=" + sb(128, 0, "bf16", 100), 64},
      {"activation dst=" + sb(128, 0x1000, "fp32", "[[64,4],[1,64]]") + " src=" + sb(128, 0, "fp32", 256), 256},
      {"activation dst=" + sb(128, 0x1000, "fp32", 512) + " src=" + sb(128, 0, "fp32", 512) + red, 512 + 64},
      {"activation dst=" + sb(128, 0x1000, "bf16", 512) + " src=" + ps(128, 0, "bf16", 512) + red, 256 + 64},
      {"activation dst=" + sb(128, 0x1000, "fp32", 16) + " src=" + sb(128, 0, "fp32", 16) + red, 64 + 64},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.inst);
    EXPECT_NEAR(busyOf("act", c.inst), c.cycles, kCycleTol);
  }
}

TEST(TimingVector, TensorTensorIsNForPsumOrContiguousBf16AddSubMulElse2N) {
  auto tt = [](const std::string &dt, const std::string &a, const std::string &b, const std::string &op, int n = 512) {
    return "tensor_tensor dst=" + sb(128, 0x4000, dt, n) + " src0=" + a + " src1=" + b + " op=" + op;
  };
  struct Case {
    std::string engine, inst;
    double cycles;
  } cases[] = {
      {"dve", tt("fp32", sb(128, 0, "fp32", 512), sb(128, 0x800, "fp32", 512), "add"), 1024},
      {"dve", tt("fp32", sb(128, 0, "fp32", 512), ps(128, 0, "fp32", 512), "add"), 512},
      {"dve", tt("fp32", ps(128, 0, "fp32", 512), sb(128, 0, "fp32", 512), "max"), 512},
      {"dve", tt("bf16", sb(128, 0, "bf16", 512), sb(128, 0x800, "bf16", 512), "add"), 512},
      {"dve", tt("bf16", sb(128, 0, "bf16", 512), sb(128, 0x800, "bf16", 512), "sub"), 512},
      {"dve", tt("bf16", sb(128, 0, "bf16", 512), sb(128, 0x800, "bf16", 512), "mul"), 512},
      {"dve", tt("fp16", sb(128, 0, "fp16", 512), sb(128, 0x800, "fp16", 512), "add"), 512},
      {"dve", tt("bf16", sb(128, 0, "bf16", 512), sb(128, 0x800, "bf16", 512), "max"), 1024},
      {"dve", tt("bf16", sb(128, 0, "bf16", 512), sb(128, 0x800, "bf16", 512), "div"), 1024},
      {"dve", tt("bf16", sb(128, 0, "bf16", "[[2,512]]"), sb(128, 0x800, "bf16", 512), "add"), 1024},
      {"dve", tt("bf16", sb(128, 0, "bf16", 512), ps(128, 0, "bf16", 512), "add"), 256},
      {"dve", tt("fp32", sb(128, 0, "fp32", 16), sb(128, 0x800, "fp32", 16), "add", 16), 64},
      {"pool", tt("fp32", sb(128, 0, "fp32", 512), sb(128, 0x800, "fp32", 512), "add"), 1024},
      {"pool", tt("bf16", sb(128, 0, "bf16", 512), sb(128, 0x800, "bf16", 512), "add"), 1024}, // G3: 128 lanes for every dtype
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.engine + ": " + c.inst);
    EXPECT_NEAR(busyOf(c.engine, c.inst), c.cycles, kCycleTol);
  }
}

TEST(TimingVector, TensorScalarAndCopyUseDveFastModeFor16BitContiguousSbuf) {
  auto ts = [](const std::string &dst, const std::string &src) {
    return "tensor_scalar dst=" + dst + " src=" + src + " op0=mul scalar0=2";
  };
  struct Case {
    std::string engine, inst;
    double cycles;
  } cases[] = {
      {"dve", ts(sb(128, 0x1000, "bf16", 512), sb(128, 0, "bf16", 512)), 128},
      {"dve", ts(sb(128, 0x1000, "fp16", 512), sb(128, 0, "fp16", 512)), 128},
      {"dve", ts(sb(128, 0x1000, "fp32", 512), sb(128, 0, "fp32", 512)), 512},
      {"dve", ts(sb(128, 0x1000, "bf16", 512), ps(128, 0, "bf16", 512)), 256},
      {"dve", ts(sb(128, 0x1000, "bf16", 512), sb(128, 0, "bf16", "[[2,512]]")), 256},
      {"dve", ts(sb(128, 0x1000, "bf16", 512), sb(128, 0, "fp32", 512)), 512},
      {"dve", ts(sb(128, 0x1000, "bf16", 128), sb(128, 0, "bf16", 128)), 64},
      {"pool", ts(sb(128, 0x1000, "bf16", 512), sb(128, 0, "bf16", 512)), 512}, // G3: 128 lanes for every dtype
      {"pool", ts(sb(128, 0x1000, "fp32", 512), sb(128, 0, "fp32", 512)), 512},
      {"act", ts(sb(128, 0x1000, "bf16", 512), sb(128, 0, "bf16", 512)), 256},
      {"act", ts(sb(128, 0x1000, "fp32", 512), sb(128, 0, "fp32", 512)), 512},
      {"dve", "tensor_copy dst=" + sb(128, 0x1000, "bf16", 512) + " src=" + sb(128, 0, "bf16", 512), 128},
      {"dve", "tensor_copy dst=" + sb(128, 0x1000, "bf16", 512) + " src=" + sb(128, 0, "fp32", 512), 512},
      {"dve", "tensor_copy dst=" + sb(128, 0x1000, "fp32", 512) + " src=" + ps(128, 0, "fp32", 512), 512},
      {"act", "tensor_copy dst=" + sb(128, 0x1000, "fp32", 1024) + " src=" + ps(128, 0, "fp32", 1024), 1024},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.engine + ": " + c.inst);
    EXPECT_NEAR(busyOf(c.engine, c.inst), c.cycles, kCycleTol);
  }
}

TEST(TimingVector, ReduceMemsetSelectAndBatchNorm) {
  auto red = [](const std::string &dt, const std::string &op, int n) {
    return "tensor_reduce dst=" + sb(128, 0x4000, "fp32", 1) + " src=" + sb(128, 0, dt, n) + " op=" + op;
  };
  struct Case {
    std::string engine, inst;
    double cycles;
  } cases[] = {
      {"dve", red("fp32", "add", 512), 512},
      {"dve", red("bf16", "add", 512), 256},
      {"dve", red("bf16", "max", 512), 256},
      {"dve", red("bf16", "min", 512), 512},
      {"dve", red("fp32", "max", 32), 64},
      {"pool", red("bf16", "add", 1024), 1024}, // G3: 128 lanes for every dtype
      {"dve",
       "tensor_reduce dst=" + sb(128, 0x4000, "fp32", 8) + " src=" + sb(128, 0, "fp32", "[[64,8],[1,64]]") +
           " op=add axes=1",
       512},
      {"dve", "memset dst=" + sb(128, 0, "bf16", 512) + " value=0", 256},
      {"dve", "memset dst=" + sb(128, 0, "fp16", 512) + " value=0", 256},
      {"dve", "memset dst=" + sb(128, 0, "bf16", 512) + " value=1", 512},
      {"dve", "memset dst=" + sb(128, 0, "fp32", 512) + " value=0", 512},
      {"act", "memset dst=" + sb(128, 0, "fp32", 40) + " value=3", 64},
      {"dve",
       "select dst=" + sb(128, 0x3000, "fp32", 512) + " pred=" + sb(128, 0, "fp32", 512) +
           " on_true=" + sb(128, 0x800, "fp32", 512) + " on_false=" + sb(128, 0x1000, "fp32", 512),
       1024},
      {"dve", "bn_stats dst=" + sb(128, 0x3000, "fp32", 3) + " src=" + sb(128, 0, "fp32", 512), 512},
      {"dve", "bn_stats dst=" + sb(128, 0x3000, "fp32", 3) + " src=" + sb(128, 0, "bf16", 32), 64},
      {"dve", "bn_aggr dst=" + sb(128, 0x3000, "fp32", 2) + " src=" + sb(128, 0, "fp32", 24), 104},
      {"dve", "bn_aggr dst=" + sb(128, 0x3000, "fp32", 2) + " src=" + sb(128, 0, "fp32", 6), 64},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.engine + ": " + c.inst);
    EXPECT_NEAR(busyOf(c.engine, c.inst), c.cycles, kCycleTol);
  }
}

TEST(TimingPool, AffinePatternsAndPartitionOpsHaveTheStartUpCost) {
  struct Case {
    std::string inst;
    double cycles;
  } cases[] = {
      {"iota dst=" + sb(128, 0, "fp32", 512) + " base=1 step0=1", 150 + 512},
      {"iota dst=" + sb(128, 0, "int32", 512) + " pstep=512 step0=1", 150 + 512},
      {"iota dst=" + sb(128, 0, "fp32", 8), 150 + 8},
      {"affine_select dst=" + sb(128, 0x1000, "fp32", 512) + " src=" + sb(128, 0, "fp32", 512) +
           " cmp=ge pstep=1 step0=-1",
       150 + 512},
      {"partition_reduce dst=" + sb(1, 0x1000, "fp32", 256) + " src=" + sb(128, 0, "fp32", 256) + " op=add", 150 + 256},
      {"partition_reduce dst=" + sb(1, 0x1000, "fp32", 100) + " src=" + sb(32, 0, "fp32", 100) + " op=max", 150 + 100},
      {"partition_broadcast dst=" + sb(128, 0x1000, "fp32", 256) + " src=" + sb(1, 0, "fp32", 256), 150 + 256},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.inst);
    EXPECT_NEAR(busyOf("pool", c.inst), c.cycles, kCycleTol);
  }
}

TEST(TimingControl, ControlOpsCostControlCyclesAndLoopsAreFree) {
  EXPECT_NEAR(busyOf("sp", "sem_signal signal=s0+1"), 8, kCycleTol);
  EXPECT_NEAR(busyOf("pe", "sem_signal signal=s0+1"), 8, kCycleTol);
  EXPECT_NEAR(busyOf("act", "barrier scope=core"), 8, kCycleTol);
  // A loop of 3 sem_signals: 24 cycles, 3 instructions, the loop itself free.
  TimedRun r = timing(".stream core=0 engine=sp\n  loop count=3\n    sem_signal signal=s0+1\n  endloop\n"
                      "  sem_wait wait=s0>=3\n");
  EXPECT_NEAR(r.stream("core0.sp").busy_cycles, 32, kCycleTol);
  EXPECT_EQ(r.stream("core0.sp").instructions, 4u);
  // Loop body of matmuls: 4 x 512 PE cycles.
  TimedRun m = timing(".stream core=0 engine=pe\n  loop count=4\n    matmul dst=psum[0:128]+0+2048*i0:fp32[[1,512]] "
                      "stationary=sbuf[0:128]+0:bf16[[1,128]] moving=sbuf[0:128]+0x1000:bf16[[1,512]]\n  endloop\n");
  EXPECT_NEAR(m.stream("core0.pe").busy_cycles, 2048, kCycleTol);
  EXPECT_NEAR(m.result.report.cycles, 2048, kCycleTol);
}

// ---------------------------------------------------------------------------
// Dependencies and overlap
// ---------------------------------------------------------------------------

TEST(TimingDependencies, DependentInstructionWaitsForLatencyIndependentOnesDoNot) {
  const std::string act =
      "activation dst=" + sb(128, 0x1000, "fp32", 512) + " src=" + sb(128, 0, "fp32", 512) + " func=exp";
  const std::string dve = "tensor_scalar dst=" + sb(128, 0x2000, "fp32", 256) + " src=" + sb(128, 0x3000, "fp32", 256) +
                          " op0=add scalar0=1";
  // Dependent: DVE starts act.latency (200 cycles) after ACT's 512 busy cycles.
  TimedRun dep = timing(".stream core=0 engine=act\n  " + act + " signal=s0+1\n.stream core=0 engine=dve\n  " + dve +
                        " wait=s0>=1\n");
  EXPECT_NEAR(dep.start("core0.dve"), (512 + 200) / kVecHz, kSecondTol);
  EXPECT_NEAR(dep.result.report.seconds, (512 + 200 + 256) / kVecHz, kSecondTol);
  EXPECT_NEAR(dep.engine("dve").busy_fraction, 256.0 / (512 + 200 + 256), 1e-9);
  // Independent: both start at 0 and overlap; the run is the longer one.
  TimedRun ind = timing(".stream core=0 engine=act\n  " + act + "\n.stream core=0 engine=dve\n  " + dve + "\n");
  EXPECT_EQ(ind.start("core0.dve"), 0.0);
  EXPECT_NEAR(ind.result.report.seconds, 512 / kVecHz, kSecondTol);
  // Same stream back to back, independent: no latency between them (in-order issue).
  TimedRun same = timing(".stream core=0 engine=act\n  " + act + "\n  " + act + "\n");
  EXPECT_NEAR(same.start("core0.act", 1), 512 / kVecHz, kSecondTol);
  EXPECT_NEAR(same.result.report.seconds, 1024 / kVecHz, kSecondTol);
  // Same stream, the second reading the first's result: it waits the latency.
  const std::string actOfResult =
      "activation dst=" + sb(128, 0x8000, "fp32", 512) + " src=" + sb(128, 0x1000, "fp32", 512) + " func=exp";
  TimedRun chained = timing(".stream core=0 engine=act\n  " + act + "\n  " + actOfResult + "\n");
  EXPECT_NEAR(chained.start("core0.act", 1), (512 + 200) / kVecHz, kSecondTol);
  // PE -> ACT through PSUM pays the PE latency: fill/drain 254 + pe.latency 2 = 256 PE cycles.
  TimedRun pe = timing(".stream core=0 engine=pe\n  matmul dst=" + ps(128, 0, "fp32", 512) +
                       " stationary=" + sb(128, 0, "bf16", 128) + " moving=" + sb(128, 0x1000, "bf16", 512) +
                       " signal=s1+1\n.stream core=0 engine=act\n  activation dst=" + sb(128, 0x4000, "fp32", 512) +
                       " src=" + ps(128, 0, "fp32", 512) + " wait=s1>=1\n");
  EXPECT_NEAR(pe.start("core0.act"), (512 + 256) / kPeHz, kSecondTol);
  EXPECT_NEAR(pe.result.report.seconds, (512 + 256) / kPeHz + 512 / kVecHz, kSecondTol);
}

TEST(TimingDependencies, TwoEnginesOverlapInTime) {
  // PE (2048 cycles at 2.4 GHz) and pool (150+1500 cycles at 1.2 GHz) run at once.
  TimedRun r = timing(".stream core=0 engine=pe\n  matmul dst=" + ps(128, 0, "fp32", 512) +
                      " stationary=" + sb(128, 0, "fp32", 128) + " moving=" + sb(128, 0x1000, "fp32", 512) +
                      "\n.stream core=0 engine=pool\n  iota dst=" + sb(128, 0x8000, "fp32", 1500) + "\n");
  const double pe = 2048 / kPeHz, pool = 1650 / kVecHz;
  EXPECT_NEAR(r.result.report.seconds, std::max(pe, pool), kSecondTol);
  EXPECT_LT(r.result.report.seconds, pe + pool);
  EXPECT_NEAR(r.stream("core0.pe").busy_fraction, pe / pool, 1e-9);
  EXPECT_NEAR(r.stream("core0.pool").busy_fraction, 1.0, 1e-9);
}

TEST(TimingDependencies, TimingOnlyRunEndsWhenTheLastInstructionEnds) {
  // Without functional execution a stream runs ahead of the event queue; the
  // run must still last until its last instruction ends, as in "both" mode.
  const std::string text = ".target trn3\n.stream core=0 engine=act\n  activation dst=" + sb(128, 0x1000, "fp32", 512) +
                           " src=" + sb(128, 0, "fp32", 512) + "\n  activation dst=" + sb(128, 0x1000, "fp32", 512) +
                           " src=" + sb(128, 0, "fp32", 512) + "\n";
  Program p = parseAssembly(text, "t.s");
  MachineOptions timingOnly, both;
  timingOnly.functional = false;
  SimulationResult a = simulate(p, trn3(), {}, timingOnly), b = simulate(p, trn3(), {}, both);
  EXPECT_NEAR(a.report.seconds, 1024 / kVecHz, kSecondTol);
  EXPECT_EQ(a.stats.end, b.stats.end);
  EXPECT_NEAR(a.report.engines[0].busy_fraction, 1.0, 1e-9);
}

// ---------------------------------------------------------------------------
// DMA
// ---------------------------------------------------------------------------

namespace {
double efficiency(double run) { return run / (run + kDescriptor); }
// Transfer time of `payload` bytes on `engines` engines at `eff`.
double moveTime(double payload, double engines, double eff) { return payload / (engines * kDmaEngineBps * eff); }
} // namespace

TEST(TimingDma, OneTransferIsIssuePlusPayloadOverBandwidthPlusLatency) {
  struct Case {
    std::string dst, src;
    double payload, engines, eff;
    int hbmSides;
  } cases[] = {
      // 128 rows x 2 KiB contiguous, HBM -> SBUF, all 16 engines.
      {sb(128, 0, "fp32", 512), "hbm[x]+0:fp32[[512,128],[1,512]]", 128 * 2048, 16, efficiency(2048), 1},
      // SBUF -> HBM.
      {"hbm[x]+0:fp32[[512,128],[1,512]]", sb(128, 0, "fp32", 512), 128 * 2048, 16, efficiency(2048), 1},
      // 4 rows use 4 engines.
      {sb(4, 0, "fp32", 512), "hbm[x]+0:fp32[[512,4],[1,512]]", 4 * 2048, 4, efficiency(2048), 1},
      // Element-strided source: 4-byte descriptors.
      {sb(128, 0, "fp32", 256), "hbm[x]+0:fp32[[512,128],[2,256]]", 128 * 1024, 16, efficiency(4), 1},
      // Runs limited by the shorter side (64 contiguous elements of the SBUF pattern).
      {sb(128, 0, "fp32", "[[128,4],[1,64]]"), "hbm[x]+0:fp32[[512,128],[1,256]]", 128 * 1024, 16, efficiency(256), 1},
      // The DMA transpose unit runs at its own efficiency.
      {sb(128, 0, "bf16", 512), "hbm[x]+0:bf16[[1,128],[128,512]] transpose=1", 128 * 1024, 16, 0.9, 1},
      // SBUF -> SBUF: no HBM side.
      {sb(128, 0x4000, "fp32", 512), sb(128, 0, "fp32", 512), 128 * 2048, 16, efficiency(2048), 0},
      // HBM -> HBM: both sides.
      {"hbm[y]+0:fp32[[512,128],[1,512]]", "hbm[x]+0:fp32[[512,128],[1,512]]", 128 * 2048, 16, efficiency(2048), 2},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.dst + " <- " + c.src);
    TimedRun r = timing(".tensor x input fp32 [128,512]\n.tensor y output fp32 [128,512]\n.stream core=0 engine=q0\n"
                        "  dma_copy dst=" +
                        c.dst + " src=" + c.src + " signal=s0+1\n");
    const double busy = kIssue + moveTime(c.payload, c.engines, c.eff);
    EXPECT_NEAR(r.stream("core0.q0").busy_cycles / kVecHz, busy, kSecondTol);
    // The signal (and so the run) comes hbm.latency after the last byte.
    EXPECT_NEAR(r.result.report.seconds, busy + kHbmLatency, kSecondTol);
    EXPECT_DOUBLE_EQ(r.result.report.hbm_bytes, c.payload * c.hbmSides);
    EXPECT_NEAR(r.result.report.overlap.dma_busy_seconds, busy, kSecondTol);
  }
}

TEST(TimingDma, ConsumerStartsAfterTheTransferAndTheHbmLatency) {
  TimedRun r =
      timing(".tensor x input fp32 [128,512]\n.stream core=0 engine=q0\n  dma_copy dst=" + sb(128, 0, "fp32", 512) +
             " src=hbm[x]+0:fp32[[512,128],[1,512]] signal=s0+1\n.stream core=0 engine=act\n  activation dst=" +
             sb(128, 0x4000, "fp32", 512) + " src=" + sb(128, 0, "fp32", 512) + " wait=s0>=1\n");
  const double arrive = kIssue + moveTime(128 * 2048, 16, efficiency(2048)) + kHbmLatency;
  EXPECT_NEAR(r.start("core0.act"), arrive, kSecondTol);
  EXPECT_NEAR(r.result.report.seconds, arrive + 512 / kVecHz, kSecondTol);
}

TEST(TimingDma, TransfersOfOneCoreShareItsEnginesAndCoresAreIndependent) {
  const std::string load = "dma_copy dst=sbuf[0:128]+0:fp32[[1,512]] src=hbm[x]+0:fp32[[512,128],[1,512]]";
  const double t = moveTime(128 * 2048, 16, efficiency(2048));
  // Two transfers issued together on one core: together they take twice as
  // long as one (the core's 16 engines serve both), oldest first.
  TimedRun one = timing(".tensor x input fp32 [128,512]\n.stream core=0 engine=q0\n  " + load +
                        "\n.stream core=0 engine=q1\n  " + load + "\n");
  EXPECT_NEAR(one.result.report.seconds, kIssue + 2 * t, kSecondTol);
  EXPECT_NEAR(one.stream("core0.q0").busy_cycles / kVecHz, kIssue + t, kSecondTol);
  EXPECT_NEAR(one.stream("core0.q1").busy_cycles / kVecHz, kIssue + 2 * t, kSecondTol);
  // On two cores they run at full speed side by side.
  TimedRun two = timing(".cores 2\n.tensor x input fp32 [128,512]\n.stream core=0 engine=q0\n  " + load +
                        "\n.stream core=1 engine=q0\n  " + load + "\n");
  EXPECT_NEAR(two.result.report.seconds, kIssue + t, kSecondTol);
  EXPECT_NEAR(two.stream("core1.q0").busy_cycles / kVecHz, kIssue + t, kSecondTol);
}

TEST(TimingDma, EightCoresStreamingAtOnceAreCappedByHbm) {
  // Each core moves 128 rows x 8 KiB: alone at 16 x 33 GB/s x 98.5% = 520 GB/s
  // (P2). On trn3 eight cores need 4.16 TB/s < 0.9 x 4.9 TB/s = 4.41 TB/s: the
  // DMA engines, not HBM, bound them. With 4.0 TB/s of HBM (cap 3.6 TB/s) the
  // cap binds and the cores share it.
  ChipConfig slow = trn3();
  slow.hbm.bytes_per_second = 4.0e12;
  const double kHbmBps = slow.hbm.bytes_per_second;
  std::ostringstream os;
  os << ".cores 8\n.tensor x input fp32 [128,2048]\n";
  for (int c = 0; c < 8; ++c)
    os << ".stream core=" << c << " engine=q0\n  dma_copy dst=sbuf[0:128]+0:fp32[[1,2048]] "
       << "src=hbm[x]+0:fp32[[2048,128],[1,2048]] signal=s0+1\n";
  const double payload = 128.0 * 8192, cap = kHbmBps * kHbmUtil;
  TimedRun engines = timing(os.str());
  ASSERT_LT(8 * 16 * kDmaEngineBps * efficiency(8192), ::kHbmBps * kHbmUtil);
  for (int c = 0; c < 8; ++c)
    EXPECT_NEAR(engines.stream("core" + std::to_string(c) + ".q0").busy_cycles / kVecHz,
                kIssue + moveTime(payload, 16, efficiency(8192)), kSecondTol)
        << c;
  TimedRun r = timing(os.str(), slow);
  ASSERT_GT(8 * 16 * kDmaEngineBps * efficiency(8192), cap);
  const double busy = kIssue + payload / (cap / 8);
  for (int c = 0; c < 8; ++c)
    EXPECT_NEAR(r.stream("core" + std::to_string(c) + ".q0").busy_cycles / kVecHz, busy, kSecondTol) << c;
  EXPECT_NEAR(r.result.report.seconds, busy + kHbmLatency, kSecondTol);
  EXPECT_DOUBLE_EQ(r.result.report.hbm_bytes, 8 * payload);
  EXPECT_LE(r.result.report.achieved_hbm_bytes_per_second, cap);
  EXPECT_DOUBLE_EQ(r.result.report.peak_hbm_bytes_per_second, kHbmBps);
  // One core alone is not capped.
  TimedRun one =
      timing(".tensor x input fp32 [128,2048]\n.stream core=0 engine=q0\n  dma_copy dst=sbuf[0:128]+0:fp32[[1,2048]] "
             "src=hbm[x]+0:fp32[[2048,128],[1,2048]]\n");
  EXPECT_NEAR(one.result.report.seconds, kIssue + moveTime(payload, 16, efficiency(8192)), kSecondTol);
}

TEST(TimingDma, GatherMovesAndCountsOnlyTheGatheredRows) {
  // A 4096-row table, 32 rows gathered: 32 x 2 KiB of HBM traffic.
  TimedRun r =
      timing(".tensor t input fp32 [4096,512]\n.stream core=0 engine=q0\n  dma_gather dst=" + sb(32, 0, "fp32", 512) +
             " src=hbm[t]+0:fp32[[512,4096],[1,512]] index=" + sb(32, 0x4000, "int32", 1) + " signal=s0+1\n");
  const double payload = 32.0 * 2048;
  EXPECT_NEAR(r.stream("core0.q0").busy_cycles / kVecHz, kIssue + moveTime(payload, 16, efficiency(2048)), kSecondTol);
  EXPECT_DOUBLE_EQ(r.result.report.hbm_bytes, payload);
  EXPECT_LE(r.result.report.achieved_hbm_bytes_per_second, kHbmBps);
}
