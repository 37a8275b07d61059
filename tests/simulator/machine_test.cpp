// The machine's ordering rules and run-time errors: deadlocks name the waiting
// instructions, barriers (core and chip) and semaphore waits with loop steps
// order streams in time and in data, a reader of its own engine's result waits
// for the result latency, and simulate() rejects programs the
// verifier refuses, missing or unknown inputs, and programs too big for the chip.
#include "support/TestSupport.h"
#include "isa/AsmParser.h"
#include "isa/Error.h"
#include "simulator/Simulator.h"
#include "simulator/config/ConfigLoader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>

using namespace trnx;
using trnx::testing::errorOf;
using ::testing::AllOf;
using ::testing::HasSubstr;

namespace {

constexpr double kVecHz = 1.2e9;
constexpr double kSecondTol = 2e-14;

const ChipConfig &trn3() {
  static const ChipConfig c = loadChip("trn3");
  return c;
}

MachineOptions modeOf(bool functional, bool timing) {
  MachineOptions o;
  o.functional = functional;
  o.timing = timing;
  o.trace = timing;
  return o;
}
const MachineOptions kFunctional = modeOf(true, false), kTiming = modeOf(false, true), kBoth = modeOf(true, true);

SimulationResult runText(const std::string &text, const MachineOptions &o,
                         const std::map<std::string, HostArray> &inputs = {}) {
  Program p = parseAssembly(text, "t.s");
  return simulate(p, trn3(), inputs, o);
}

HostArray f32(std::vector<int64_t> shape, const std::vector<float> &v) {
  HostArray a;
  a.shape = std::move(shape);
  a.data.resize(v.size() * 4);
  std::memcpy(a.data.data(), v.data(), a.data.size());
  return a;
}
std::vector<float> floats(const HostArray &a) {
  std::vector<float> v(a.data.size() / 4);
  std::memcpy(v.data(), a.data.data(), a.data.size());
  return v;
}

// Start times (seconds) of the executed instructions of stream `index`.
std::vector<double> starts(const SimulationResult &r, uint32_t index) {
  std::vector<double> out;
  for (const TraceSlice &s : r.stats.slices)
    if (s.stream == index)
      out.push_back(static_cast<double>(s.start) / 1e15);
  return out;
}
std::vector<double> ends(const SimulationResult &r, uint32_t index) {
  std::vector<double> out;
  for (const TraceSlice &s : r.stats.slices)
    if (s.stream == index)
      out.push_back(static_cast<double>(s.start + s.duration) / 1e15);
  return out;
}

} // namespace

// ---------------------------------------------------------------------------
// Deadlocks
// ---------------------------------------------------------------------------

TEST(MachineDeadlock, TwoStreamsWaitingOnEachOtherIsAnErrorNamingBoth) {
  const std::string text =
      ".target trn3\n.loc 0 \"model.mlir\" 7 3 \"tosa.add\"\n"
      ".stream core=0 engine=act\n  sem_signal signal=s5+1\n"
      "  activation dst=sbuf[0:128]+0:fp32[[1,64]] src=sbuf[0:128]+0:fp32[[1,64]] wait=s0>=1 loc=0\n"
      "  sem_signal signal=s1+1\n"
      ".stream core=0 engine=dve\n  sem_wait wait=s1>=1\n  sem_signal signal=s0+1\n";
  for (const MachineOptions &o : {kFunctional, kTiming, kBoth}) {
    std::string msg = errorOf([&] { runText(text, o); });
    EXPECT_THAT(msg, HasSubstr("deadlock"));
    EXPECT_THAT(msg, HasSubstr("core 0 act #1 (activation) [model.mlir:7:3 tosa.add] waits for s0 >= 1 (value 0)"));
    EXPECT_THAT(msg, HasSubstr("core 0 dve #0 (sem_wait) waits for s1 >= 1 (value 0)"));
  }
}

TEST(MachineDeadlock, StreamsStuckAtABarrierAreNamed) {
  // act reaches the barrier; dve waits for a signal act only sends after it.
  const std::string text = ".target trn3\n.stream core=0 engine=act\n  barrier\n  sem_signal signal=s0+1\n"
                           ".stream core=0 engine=dve\n  sem_wait wait=s0>=1\n  barrier\n";
  std::string msg = errorOf([&] { runText(text, kTiming); });
  EXPECT_THAT(msg, AllOf(HasSubstr("deadlock"), HasSubstr("core 0 act #0 (barrier) waits at a barrier"),
                         HasSubstr("core 0 dve #0 (sem_wait) waits for s0 >= 1")));
}

TEST(MachineDeadlock, DeadlockInALaterLoopIteration) {
  // The verifier's totals are fine (s1 reaches 6 in total), but act's second
  // iteration needs s1 >= 2, which only act itself provides after its loop.
  const std::string text =
      ".target trn3\n.stream core=0 engine=act\n  loop count=3\n    sem_wait wait=s1>=1+1*i0\n"
      "    sem_signal signal=s0+1\n  endloop\n  sem_signal signal=s1+5\n"
      ".stream core=0 engine=dve\n  sem_signal signal=s1+1\n  loop count=3\n    sem_wait wait=s0>=1+1*i0\n  endloop\n";
  for (const MachineOptions &o : {kFunctional, kTiming}) {
    std::string msg = errorOf([&] { runText(text, o); });
    EXPECT_THAT(msg, HasSubstr("deadlock"));
    EXPECT_THAT(msg, HasSubstr("core 0 act #1 (sem_wait) waits for s1 >= 2 (value 1)"));
    EXPECT_THAT(msg, HasSubstr("core 0 dve #2 (sem_wait) waits for s0 >= 2 (value 1)"));
  }
}

// ---------------------------------------------------------------------------
// Barriers
// ---------------------------------------------------------------------------

TEST(MachineBarrier, CoreBarrierOrdersStreamsInTimeAndData) {
  // dve is declared first so that without the barrier it would run first and
  // read zeros in a functional run.
  const std::string text =
      ".target trn3\n.tensor x input fp32 [128,2048]\n.tensor y output fp32 [128,2048]\n"
      ".stream core=0 engine=dve\n  barrier\n  tensor_scalar dst=sbuf[0:128]+0x4000:fp32[[1,2048]] "
      "src=sbuf[0:128]+0x2000:fp32[[1,2048]] op0=add scalar0=1 signal=s1+1\n"
      ".stream core=0 engine=q0\n  dma_copy dst=sbuf[0:128]+0:fp32[[1,2048]] src=hbm[x]+0:fp32[[2048,128],[1,2048]] "
      "signal=s0+1\n  barrier\n  dma_copy dst=hbm[y]+0:fp32[[2048,128],[1,2048]] src=sbuf[0:128]+0x4000:fp32[[1,2048]] "
      "wait=s1>=1\n"
      ".stream core=0 engine=act\n  activation dst=sbuf[0:128]+0x2000:fp32[[1,2048]] src=sbuf[0:128]+0:fp32[[1,2048]] "
      "func=square wait=s0>=1\n  barrier\n";
  std::vector<float> x(128 * 2048);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(i % 97) * 0.25f - 3;
  for (const MachineOptions &o : {kFunctional, kBoth}) {
    SimulationResult r = runText(text, o, {{"x", f32({128, 2048}, x)}});
    std::vector<float> y = floats(r.outputs.at("y"));
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_EQ(y[i], x[i] * x[i] + 1) << i;
  }
  SimulationResult t = runText(text, kTiming);
  // The activation ends last among the barrier's streams; everything after the
  // barrier starts control_cycles (8) later.
  const double actEnd = ends(t, 2).at(0);
  const double after = actEnd + 8 / kVecHz;
  EXPECT_NEAR(starts(t, 0).at(1), after, kSecondTol);  // dve's tensor_scalar
  EXPECT_NEAR(starts(t, 0).at(0), actEnd, kSecondTol); // every barrier completes when act arrives
  EXPECT_NEAR(starts(t, 1).at(1), actEnd, kSecondTol);
  // q0's store then waits for dve's result (dve latency 100 cycles).
  EXPECT_NEAR(starts(t, 1).at(2), ends(t, 0).at(1) + 100 / kVecHz, kSecondTol);
}

TEST(MachineBarrier, ChipBarrierOrdersStreamsOfDifferentCores) {
  // Core 0 squares x and writes it to HBM; core 1 reads it back only after the
  // chip barrier. Core 1's streams come first in the program.
  const std::string text =
      ".target trn3\n.cores 2\n.tensor x input fp32 [64,256]\n.tensor mid scratch fp32 [64,256]\n"
      ".tensor y output fp32 [64,256]\n"
      ".stream core=1 engine=q0\n  barrier scope=chip\n  dma_copy dst=sbuf[0:64]+0:fp32[[1,256]] "
      "src=hbm[mid]+0:fp32[[256,64],[1,256]] signal=s0+1\n"
      ".stream core=1 engine=dve\n  barrier scope=chip\n  tensor_scalar dst=sbuf[0:64]+0x1000:fp32[[1,256]] "
      "src=sbuf[0:64]+0:fp32[[1,256]] op0=add scalar0=1 wait=s0>=1 signal=s1+1\n"
      ".stream core=1 engine=q1\n  barrier scope=chip\n  dma_copy dst=hbm[y]+0:fp32[[256,64],[1,256]] "
      "src=sbuf[0:64]+0x1000:fp32[[1,256]] wait=s1>=1\n"
      ".stream core=0 engine=q0\n  dma_copy dst=sbuf[0:64]+0:fp32[[1,256]] src=hbm[x]+0:fp32[[256,64],[1,256]] "
      "signal=s0+1\n  dma_copy dst=hbm[mid]+0:fp32[[256,64],[1,256]] src=sbuf[0:64]+0x1000:fp32[[1,256]] wait=s1>=1\n"
      "  barrier scope=chip\n"
      ".stream core=0 engine=act\n  activation dst=sbuf[0:64]+0x1000:fp32[[1,256]] src=sbuf[0:64]+0:fp32[[1,256]] "
      "func=square wait=s0>=1 signal=s1+1\n  barrier scope=chip\n";
  std::vector<float> x(64 * 256);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(i % 31) - 15;
  for (const MachineOptions &o : {kFunctional, kBoth}) {
    SimulationResult r = runText(text, o, {{"x", f32({64, 256}, x)}});
    std::vector<float> y = floats(r.outputs.at("y"));
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_EQ(y[i], x[i] * x[i] + 1) << i;
  }
  SimulationResult t = runText(text, kTiming);
  // Core 1's load starts 8 cycles after core 0's store completes.
  const double storeEnd = ends(t, 3).at(1);
  EXPECT_NEAR(starts(t, 0).at(1), storeEnd + 8 / kVecHz, kSecondTol);
  // A chip barrier missing from one stream could never complete: rejected.
  std::string bad = text;
  bad.erase(bad.rfind("  barrier scope=chip\n"));
  EXPECT_THAT(errorOf([&] { runText(bad, kTiming); }), HasSubstr("the barrier can never complete"));
}

// ---------------------------------------------------------------------------
// Semaphores with loop steps
// ---------------------------------------------------------------------------

TEST(MachineSemaphores, LoopStepsMakeEachIterationWaitForItsOwnItem) {
  // q0 loads 8 tiles; act handles pairs: iteration i waits for s0 >= 2 + 2*i.
  const std::string text =
      ".target trn3\n.tensor x input fp32 [1024,512]\n"
      ".stream core=0 engine=q0\n  loop count=8\n    dma_copy dst=sbuf[0:128]+0+2048*i0:fp32[[1,512]] "
      "src=hbm[x]+0+262144*i0:fp32[[512,128],[1,512]] signal=s0+1\n  endloop\n"
      ".stream core=0 engine=act\n  loop count=4\n    activation dst=sbuf[0:128]+0x10000+2048*i0:fp32[[1,512]] "
      "src=sbuf[0:128]+0+4096*i0:fp32[[1,512]] wait=s0>=2+2*i0\n  endloop\n";
  SimulationResult t = runText(text, kTiming);
  const std::vector<double> loadEnds = ends(t, 0), actStarts = starts(t, 1);
  ASSERT_EQ(loadEnds.size(), 8u);
  ASSERT_EQ(actStarts.size(), 4u);
  for (int i = 0; i < 4; ++i) // the act is shorter than a load: it starts when the pair arrives
    EXPECT_NEAR(actStarts[i], loadEnds[2 * i + 1] + 5.0e-7, kSecondTol) << i;
  // Loads are back to back on the queue.
  for (int i = 1; i < 8; ++i)
    EXPECT_NEAR(loadEnds[i] - loadEnds[i - 1], loadEnds[0], kSecondTol) << i;
}

TEST(MachineSemaphores, NestedLoopStepsAndLargeIncrements) {
  // Producer signals +3 per item; the consumer's nested loops wait for
  // 3 * (2*i0 + i1 + 1).
  const std::string text =
      ".target trn3\n.tensor x input fp32 [4,64]\n.tensor y output fp32 [4,64]\n"
      ".stream core=0 engine=act\n  loop count=2\n    loop count=2\n      tensor_scalar "
      "dst=sbuf[0:4]+0x400+128*i0+64*i1:fp32[[1,16]] src=sbuf[0:4]+0+128*i0+64*i1:fp32[[1,16]] op0=mul "
      "scalar0=2 wait=s0>=3+6*i0+3*i1 signal=s1+1\n    endloop\n  endloop\n"
      ".stream core=0 engine=q0\n  loop count=4\n    dma_copy dst=sbuf[0:4]+0+64*i0:fp32[[1,16]] "
      "src=hbm[x]+0+64*i0:fp32[[64,4],[1,16]] signal=s0+3\n  endloop\n"
      ".stream core=0 engine=q1\n  loop count=4\n    dma_copy dst=hbm[y]+0+64*i0:fp32[[64,4],[1,16]] "
      "src=sbuf[0:4]+0x400+64*i0:fp32[[1,16]] wait=s1>=1+1*i0\n  endloop\n";
  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i)
    x[i] = static_cast<float>(i);
  for (const MachineOptions &o : {kFunctional, kBoth}) {
    SimulationResult r = runText(text, o, {{"x", f32({4, 64}, x)}});
    std::vector<float> y = floats(r.outputs.at("y"));
    for (int i = 0; i < 256; ++i)
      ASSERT_EQ(y[i], 2 * x[i]) << i;
  }
}

// ---------------------------------------------------------------------------
// Same-engine read-after-write (ResultLatency.h)
// ---------------------------------------------------------------------------

TEST(MachineResultLatency, AReaderOfItsOwnEnginesResultWaitsForItsLatency) {
  // DVE: y = x * 2, then z = y + 1 reads y: z starts at y's end + latency.
  const std::string text = ".target trn3\n.stream core=0 engine=dve\n"
                           "  tensor_scalar dst=sbuf[0:128]+0x400:fp32[[1,256]] src=sbuf[0:128]+0:fp32[[1,256]] "
                           "op0=mul scalar0=2\n"
                           "  tensor_scalar dst=sbuf[0:128]+0x800:fp32[[1,256]] src=sbuf[0:128]+0x400:fp32[[1,256]] "
                           "op0=add scalar0=1\n";
  SimulationResult t = runText(text, kTiming);
  const std::vector<double> s = starts(t, 0), e = ends(t, 0);
  ASSERT_EQ(s.size(), 2u);
  const ChipConfig &c = trn3();
  EXPECT_NEAR(s[1], e[0] + c.dve.latency_cycles / c.dve.clock_hz, kSecondTol);
  EXPECT_GT(t.stats.streams[0].dependencyWait, 0);
}

TEST(MachineResultLatency, DisjointOperandsAndOtherPartitionsDoNotWait) {
  // The second op reads bytes next to (not overlapping) the first's result,
  // the third reads the same bytes on other partitions: both start at once.
  const std::string text = ".target trn3\n.stream core=0 engine=dve\n"
                           "  tensor_scalar dst=sbuf[0:64]+0x400:fp32[[1,256]] src=sbuf[0:64]+0:fp32[[1,256]] "
                           "op0=mul scalar0=2\n"
                           "  tensor_scalar dst=sbuf[0:128]+0x1000:fp32[[1,256]] src=sbuf[0:128]+0x800:fp32[[1,256]] "
                           "op0=add scalar0=1\n"
                           "  tensor_scalar dst=sbuf[64:128]+0x2000:fp32[[1,256]] src=sbuf[64:128]+0x400:fp32[[1,256]] "
                           "op0=add scalar0=1\n";
  SimulationResult t = runText(text, kTiming);
  const std::vector<double> s = starts(t, 0), e = ends(t, 0);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_NEAR(s[1], e[0], kSecondTol);
  EXPECT_NEAR(s[2], e[1], kSecondTol);
}

TEST(MachineResultLatency, LoopIterationsOnTheirOwnTilesPipelineButAChainAcrossThemWaits) {
  // Each iteration writes its own tile from its own input: back to back.
  const std::string own = ".target trn3\n.stream core=0 engine=act\n  loop count=4\n"
                          "    activation dst=sbuf[0:128]+0x4000+1024*i0:fp32[[1,256]] "
                          "src=sbuf[0:128]+0+1024*i0:fp32[[1,256]] func=exp\n  endloop\n";
  // Each iteration reads the tile the previous one wrote.
  const std::string chain = ".target trn3\n.stream core=0 engine=act\n  loop count=4\n"
                            "    activation dst=sbuf[0:128]+1024+1024*i0:fp32[[1,256]] "
                            "src=sbuf[0:128]+0+1024*i0:fp32[[1,256]] func=exp\n  endloop\n";
  const ChipConfig &c = trn3();
  const double latency = c.act.latency_cycles / c.act.clock_hz;
  SimulationResult a = runText(own, kTiming), b = runText(chain, kTiming);
  const std::vector<double> sa = starts(a, 0), ea = ends(a, 0), sb = starts(b, 0), eb = ends(b, 0);
  ASSERT_EQ(sa.size(), 4u);
  ASSERT_EQ(sb.size(), 4u);
  for (int i = 1; i < 4; ++i) {
    EXPECT_NEAR(sa[i], ea[i - 1], kSecondTol) << i;
    EXPECT_NEAR(sb[i], eb[i - 1] + latency, kSecondTol) << i;
  }
}

// ---------------------------------------------------------------------------
// Errors before the run
// ---------------------------------------------------------------------------

TEST(MachineErrors, WaitsTheVerifierRejects) {
  std::string msg = errorOf([&] {
    runText(".target trn3\n.stream core=0 engine=act\n  sem_signal signal=s3+1\n  sem_signal signal=s3+1\n"
            ".stream core=0 engine=dve\n  sem_wait wait=s3>=5\n",
            kTiming);
  });
  EXPECT_THAT(
      msg, HasSubstr("core 0 dve #0 (sem_wait): waits for s3 >= 5, but the core's instructions increment it only 2"));
  // In a loop the last iteration's value counts: 1 + 1*3 = 4 > 3 signals.
  msg = errorOf([&] {
    runText(".target trn3\n.stream core=0 engine=act\n  loop count=3\n    sem_signal signal=s0+1\n  endloop\n"
            ".stream core=0 engine=dve\n  loop count=4\n    sem_wait wait=s0>=1+1*i0\n  endloop\n",
            kFunctional);
  });
  EXPECT_THAT(msg, HasSubstr("core 0 dve #1 (sem_wait): waits for s0 >= 4"));
  // Signals of another core do not count.
  msg = errorOf([&] {
    runText(".target trn3\n.cores 2\n.stream core=1 engine=act\n  sem_signal signal=s0+1\n"
            ".stream core=0 engine=dve\n  sem_wait wait=s0>=1\n",
            kTiming);
  });
  EXPECT_THAT(msg, HasSubstr("core 0 dve #0 (sem_wait): waits for s0 >= 1"));
  EXPECT_THAT(errorOf([&] { runText(".target trn3\n.stream core=0 engine=sp\n  sem_signal signal=s64+1\n", kTiming); }),
              HasSubstr("semaphore s64 exceeds the chip's 64 semaphores per core"));
}

TEST(MachineErrors, MissingAndUnknownInputs) {
  const std::string text = ".target trn3\n.tensor x input fp32 [4,8]\n.tensor w input fp32 [4,8]\n"
                           ".tensor y output fp32 [4,8]\n.stream core=0 engine=q0\n"
                           "  dma_copy dst=hbm[y]+0:fp32[[8,4],[1,8]] src=hbm[x]+0:fp32[[8,4],[1,8]]\n";
  const HostArray a = f32({4, 8}, std::vector<float>(32, 1.0f));
  Program p = parseAssembly(text, "t.s");
  EXPECT_THAT(errorOf([&] {
                simulate(p, trn3(), {{"x", a}}, kBoth, "prog.tnx");
              }),
              HasSubstr("input 'w' of prog.tnx was not given"));
  EXPECT_THAT(errorOf([&] {
                simulate(p, trn3(), {{"x", a}, {"w", a}, {"z", a}}, kBoth);
              }),
              HasSubstr("'z' is not an input of program (inputs: x, w)"));
  // Outputs are not inputs either.
  EXPECT_THAT(errorOf([&] {
                simulate(p, trn3(), {{"x", a}, {"w", a}, {"y", a}}, kFunctional);
              }),
              HasSubstr("'y' is not an input"));
  // Wrong shape names the tensor.
  EXPECT_THAT(errorOf([&] {
                simulate(p, trn3(), {{"x", a}, {"w", f32({8, 4}, std::vector<float>(32))}}, kFunctional);
              }),
              HasSubstr("input 'w' needs shape (4, 8), got (8, 4)"));
  // Timing alone needs no input values and gives no outputs.
  SimulationResult r = simulate(p, trn3(), {}, kTiming);
  EXPECT_TRUE(r.outputs.empty());
  EXPECT_GT(r.report.seconds, 0);
  // With both inputs, the copy works.
  SimulationResult ok = simulate(p, trn3(), {{"x", a}, {"w", a}}, kFunctional);
  EXPECT_EQ(floats(ok.outputs.at("y")), std::vector<float>(32, 1.0f));
  EXPECT_EQ(ok.report.seconds, 0); // functional-only runs take no simulated time
}

TEST(MachineErrors, ProgramsBiggerThanTheChip) {
  EXPECT_THAT(errorOf([&] {
                runText(".target trn3\n.cores 9\n.stream core=8 engine=sp\n  sem_signal signal=s0+1\n", kTiming);
              }),
              HasSubstr("the program uses 9 cores; the chip has 8"));
  EXPECT_THAT(errorOf([&] { runText(".target trn3\n.stream core=0 engine=q16\n  sem_signal signal=s0+1\n", kTiming); }),
              HasSubstr("the chip has 16 DMA queues per core"));
  EXPECT_THAT(errorOf([&] {
                runText(".target trn3\n.stream core=0 engine=act\n  memset dst=sbuf[0:129]+0:fp32[[1,4]]\n", kTiming);
              }),
              HasSubstr("covers partitions [0, 129), the chip has 128"));
}

// Run limits (simulator/machine/RunLimits.h): runaway loops and operands too
// big for the host end in an Error naming the limit, in every mode.
TEST(MachineLimits, InstructionAndSimulatedTimeLimits) {
  const std::string runaway = ".cores 1\n.stream core=0 engine=dve\n  loop count=2147483647\n"
                              "    loop count=2147483647\n      memset dst=sbuf[0:1]+0x0:fp32[[1,1]] value=1\n"
                              "    endloop\n  endloop\n";
  for (MachineOptions o : {kFunctional, kTiming, kBoth}) {
    o.limits.maxInstructions = 5000;
    EXPECT_THAT(errorOf([&] { runText(runaway, o); }),
                HasSubstr("the run executed more than 5000 instructions (limit --max-instructions;"));
  }
  MachineOptions o = kTiming;
  o.limits.maxSimulatedSeconds = 1e-6;
  EXPECT_THAT(errorOf([&] { runText(runaway, o); }),
              HasSubstr("the run passed 1e-06 s of simulated time (limit --max-simulated-seconds;"));
  // Exactly at the limit is fine: 2x3 memsets.
  const std::string six = ".cores 1\n.stream core=0 engine=dve\n  loop count=2\n    loop count=3\n"
                          "      memset dst=sbuf[0:128]+0x0:fp32[[1,512]] value=1\n    endloop\n  endloop\n";
  o = kBoth;
  o.limits.maxInstructions = 6;
  EXPECT_EQ(runText(six, o).stats.streams[0].instructions, 6u);
  o.limits.maxInstructions = 5;
  EXPECT_THAT(errorOf([&] { runText(six, o); }), HasSubstr("more than 5 instructions"));
  // Limits the simulator cannot honour.
  o = kTiming;
  o.limits.maxSimulatedSeconds = 5000;
  EXPECT_THAT(errorOf([&] { runText(six, o); }), HasSubstr("--max-simulated-seconds must be above 0 and at most 4000"));
  o.limits.maxSimulatedSeconds = 1;
  o.limits.maxInstructions = 0;
  EXPECT_THAT(errorOf([&] { runText(six, o); }), HasSubstr("--max-instructions must be at least 1"));
}

TEST(MachineLimits, HostMemoryIsCheckedBeforeAllocating) {
  // A stride-0 operand of 2^32 x 2^32 elements: in bounds of SBUF, but far
  // beyond any host (and beyond 2^64 bytes of fp32 values).
  const std::string huge = ".cores 1\n.stream core=0 engine=dve\n"
                           "  tensor_copy dst=sbuf[0:1]+0x0:fp32[[0,4294967295],[0,4294967295]] "
                           "src=sbuf[0:1]+0x100:fp32[[0,4294967295],[0,4294967295]]\n";
  EXPECT_THAT(errorOf([&] { runText(huge, kFunctional); }),
              HasSubstr("functional simulation of this instruction needs more than 2^64 bytes of host memory"));
  // With a small budget an ordinary operand is refused too, naming the budget.
  MachineOptions o = kFunctional;
  o.limits.maxHostBytes = 1 << 20;
  const std::string big = ".cores 1\n.stream core=0 engine=dve\n"
                          "  memset dst=sbuf[0:128]+0x0:fp32[[1,4096]] value=1\n";
  EXPECT_THAT(errorOf([&] { runText(big, o); }),
              HasSubstr("needs 4227072 bytes of host memory for its operands; the limit is 1048576 bytes"));
  o.limits.maxHostBytes = 1 << 23;
  EXPECT_NO_THROW(runText(big, o));
  // The HBM image is checked before it is allocated.
  o.limits.maxHostBytes = 1 << 20;
  EXPECT_THAT(errorOf([&] { runText(".cores 1\n.tensor s scratch fp32 [1024,1024]\n", o); }),
              HasSubstr("functional simulation needs a 4194304-byte HBM image; the limit is 1048576 bytes"));
  // Timing runs allocate no memory image, but its cost is no real time: an
  // error, not a clamped result.
  EXPECT_THAT(errorOf([&] { runText(huge, kTiming); }),
              HasSubstr("core 0 dve #0 (tensor_copy): one execution would take more than 1152.92150460685 s of "
                        "simulated time"));
}

TEST(MachineLimits, LongRunsPrintProgressOnStderr) {
  const std::string runaway = ".cores 1\n.stream core=0 engine=dve\n  loop count=2147483647\n"
                              "    memset dst=sbuf[0:1]+0x0:fp32[[1,1]] value=1\n  endloop\n";
  MachineOptions o = modeOf(false, true);
  o.trace = false;
  o.limits.maxInstructions = 200000;
  o.limits.progressIntervalSeconds = 1e-9; // every check prints (one per 65536 instructions)
  ::testing::internal::CaptureStderr();
  const std::string msg = errorOf([&] { runText(runaway, o); });
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(msg, HasSubstr("more than 200000 instructions"));
  EXPECT_THAT(err, HasSubstr("note: still simulating: 65536 instructions, "));
  EXPECT_THAT(err, HasSubstr("note: still simulating: 196608 instructions, "));
  EXPECT_THAT(err, HasSubstr(" s simulated, "));
  o.limits.progressIntervalSeconds = 0; // off
  ::testing::internal::CaptureStderr();
  errorOf([&] { runText(runaway, o); });
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}
