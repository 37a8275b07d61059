// Semaphore latency, PSUM bank conflicts and NC-v2 port exclusion (chip keys
// semaphore_latency_seconds, psum_bank_conflicts, engine_port_exclusion;
// docs/timing.md) on trn3: a later instruction of another engine waits for a
// PSUM bank (or, with port exclusion, the SBUF/PSUM port) in use; two uses
// that start together, or use different banks, overlap; functional execution
// does not change the outcome.
#include "isa/AsmParser.h"
#include "simulator/Simulator.h"
#include "simulator/config/ConfigLoader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

using namespace trnx;

namespace {

constexpr double kPeHz = 2.56e9, kVecHz = 1.2e9, kSecondTol = 2e-14;

SimulationResult run(const std::string &body, const ChipConfig &chip, bool functional = false) {
  Program p = parseAssembly(".target trn3\n" + body, "t.s");
  MachineOptions o;
  o.functional = functional;
  o.trace = true;
  return simulate(p, chip, {}, o);
}

// PE writes a bf16 result to bytes [0, 1024) of PSUM bank 0 for 512 PE
// cycles; ACT first runs 120 cycles on SBUF (100 ns), then reads 256 fp32
// from PSUM at byte `psumOffset`.
std::string peThenAct(int psumOffset) {
  return ".stream core=0 engine=pe\n  matmul dst=psum[0:128]+0:bf16[[1,512]] stationary=sbuf[0:128]+0:bf16[[1,128]] "
         "moving=sbuf[0:128]+4096:bf16[[1,512]]\n"
         ".stream core=0 engine=act\n  activation dst=sbuf[0:128]+16384:fp32[[1,120]] "
         "src=sbuf[0:128]+20480:fp32[[1,120]]\n  activation dst=sbuf[0:128]+24576:fp32[[1,256]] src=psum[0:128]+" +
         std::to_string(psumOffset) + ":fp32[[1,256]]\n";
}

SimTime actStall(const SimulationResult &r) {
  for (const StreamStats &s : r.stats.streams)
    if (s.engine.kind == EngineKind::ACT)
      return s.psumConflictStall;
  return -1;
}

const StreamStats &streamOf(const SimulationResult &r, EngineKind kind) {
  for (const StreamStats &s : r.stats.streams)
    if (s.engine.kind == kind)
      return s;
  throw std::runtime_error("no such stream");
}

} // namespace

const ChipConfig &trn3() {
  static const ChipConfig c = loadChip("trn3");
  return c;
}

TEST(PsumBankConflicts, AnEngineWaitsForABankAnotherEngineIsUsing) {
  ASSERT_TRUE(trn3().psum_bank_conflicts);
  const double peEnd = 512 / kPeHz, actStart = 120 / kVecHz, actRead = 256 / kVecHz;
  // Same bank (bytes 1024..2047 of bank 0): ACT waits for the matmul to end.
  SimulationResult same = run(peThenAct(1024), trn3());
  EXPECT_NEAR(same.report.seconds, peEnd + actRead, kSecondTol);
  EXPECT_NEAR(static_cast<double>(actStall(same)) / 1e15, peEnd - actStart, kSecondTol);
  // Functional execution gives the same timing.
  EXPECT_EQ(run(peThenAct(1024), trn3(), true).stats.end, same.stats.end);
  // Another bank (bank 1): no wait.
  SimulationResult other = run(peThenAct(2048), trn3());
  EXPECT_NEAR(other.report.seconds, actStart + actRead, kSecondTol);
  EXPECT_EQ(actStall(other), 0);
  // Conflicts off: no wait either.
  ChipConfig off = trn3();
  off.psum_bank_conflicts = false;
  EXPECT_NEAR(run(peThenAct(1024), off).report.seconds, actStart + actRead, kSecondTol);
}

TEST(PsumBankConflicts, UsesThatStartTogetherOrOnOneEngineDoNotWait) {
  // ACT and DVE read the same bank from time 0: both proceed.
  const std::string both =
      ".stream core=0 engine=act\n  activation dst=sbuf[0:128]+0:fp32[[1,256]] src=psum[0:128]+0:fp32[[1,256]]\n"
      ".stream core=0 engine=dve\n  tensor_copy dst=sbuf[0:128]+4096:fp32[[1,256]] src=psum[0:128]+1024:fp32[[1,256]]\n";
  SimulationResult r = run(both, trn3());
  EXPECT_NEAR(r.report.seconds, 256 / kVecHz, kSecondTol);
  // Back-to-back matmuls of one engine into one bank never wait on themselves.
  const std::string pe = ".stream core=0 engine=pe\n  loop count=4\n    matmul dst=psum[0:128]+0:fp32[[1,512]] "
                         "stationary=sbuf[0:128]+0:bf16[[1,128]] moving=sbuf[0:128]+4096:bf16[[1,512]] acc=1\n"
                         "  endloop\n";
  EXPECT_NEAR(run(pe, trn3()).report.seconds, 4 * 512 / kPeHz, kSecondTol);
}

TEST(PsumBankConflicts, ALoopedOperandUsesTheBankOfItsIteration) {
  // The matmul writes bank i0 in iteration i0 (2048 B per bank), each for
  // 213 ns; ACT, after 100 ns, reads bank 1 for 53 ns. Bank 1 is not in use
  // yet, so ACT reads at once, and PE's iteration 1 (starting at 213 ns,
  // after ACT's read ended at 153 ns) does not wait either.
  const std::string body =
      ".stream core=0 engine=pe\n  loop count=3\n    matmul dst=psum[0:128]+0+2048*i0:fp32[[1,512]] "
      "stationary=sbuf[0:128]+0:bf16[[1,128]] moving=sbuf[0:128]+4096:bf16[[1,512]]\n  endloop\n"
      ".stream core=0 engine=act\n  activation dst=sbuf[0:128]+16384:fp32[[1,120]] src=sbuf[0:128]+20480:fp32[[1,120]]\n"
      "  activation dst=sbuf[0:128]+24576:fp32[[1,64]] src=psum[0:128]+2048:fp32[[1,64]]\n";
  SimulationResult r = run(body, trn3());
  EXPECT_EQ(actStall(r), 0);
  EXPECT_NEAR(r.report.seconds, 3 * 512 / kPeHz, kSecondTol);
  // Reading bank 0 instead waits for iteration 0 (ends at 213 ns).
  std::string bank0 = body;
  bank0.replace(bank0.rfind("psum[0:128]+2048"), 16, "psum[0:128]+0");
  SimulationResult r0 = run(bank0, trn3());
  EXPECT_NEAR(static_cast<double>(actStall(r0)) / 1e15, 512 / kPeHz - 120 / kVecHz, kSecondTol);
}

TEST(SemaphoreLatency, AWaitSeesAnIncrementTheLatencyLater) {
  const std::string body = ".stream core=0 engine=act\n  activation dst=sbuf[0:128]+4096:fp32[[1,512]] "
                           "src=sbuf[0:128]+0:fp32[[1,512]] signal=s0+1\n.stream core=0 engine=dve\n"
                           "  tensor_scalar dst=sbuf[0:128]+8192:fp32[[1,256]] src=sbuf[0:128]+12288:fp32[[1,256]] "
                           "op0=add scalar0=1 wait=s0>=1\n";
  ChipConfig chip = trn3();
  EXPECT_EQ(chip.semaphore_latency_seconds, 0);
  const double base = (512 + 200) / kVecHz; // ACT busy + act.latency_cycles
  EXPECT_NEAR(run(body, chip).report.seconds, base + 256 / kVecHz, kSecondTol);
  chip.semaphore_latency_seconds = 1e-6;
  SimulationResult r = run(body, chip);
  EXPECT_NEAR(r.report.seconds, base + 1e-6 + 256 / kVecHz, kSecondTol);
  EXPECT_EQ(run(body, chip, true).stats.end, r.stats.end);
}

// NC-v2 (engine_port_exclusion): DVE and GpSimd take turns on SBUF. GpSimd
// first works on PSUM (no port), then needs SBUF while a long DVE copy holds
// it, so it waits for the copy's end; on the presets (NC-v3/v4) it does not.
TEST(PortExclusion, GpSimdWaitsForDveOnSbufOnlyWhenEnabled) {
  const std::string dve = ".stream core=0 engine=dve\n  tensor_copy dst=sbuf[0:128]+0:fp32[[1,2048]] "
                          "src=sbuf[0:128]+8192:fp32[[1,2048]]\n";
  const std::string poolPsum = "  tensor_copy dst=psum[0:128]+0:fp32[[1,120]] src=psum[0:128]+4096:fp32[[1,120]]\n";
  const std::string poolSbuf = "  tensor_copy dst=sbuf[0:128]+16384:fp32[[1,256]] src=sbuf[0:128]+20480:fp32[[1,256]]\n";
  const std::string pool = ".stream core=0 engine=pool\n" + poolPsum + poolSbuf;
  for (const char *preset : {"trn2", "trn3", "trn4"})
    EXPECT_FALSE(loadChip(preset).engine_port_exclusion) << preset;
  ChipConfig off = trn3();
  ChipConfig on = trn3();
  on.engine_port_exclusion = true;
  // Durations of each piece alone.
  const double dveEnd = run(dve, off).report.seconds;
  const double poolFirst = run(".stream core=0 engine=pool\n" + poolPsum, off).report.seconds;
  const double poolSecond = run(".stream core=0 engine=pool\n" + poolSbuf, off).report.seconds;
  ASSERT_LT(poolFirst, dveEnd);
  EXPECT_NEAR(run(dve + pool, off).report.seconds, std::max(dveEnd, poolFirst + poolSecond), kSecondTol);
  SimulationResult r = run(dve + pool, on);
  EXPECT_NEAR(r.report.seconds, dveEnd + poolSecond, kSecondTol);
  EXPECT_NEAR(static_cast<double>(streamOf(r, EngineKind::POOL).portConflictStall) / 1e15, dveEnd - poolFirst,
              kSecondTol);
  EXPECT_EQ(streamOf(r, EngineKind::POOL).psumConflictStall, 0);
  // Reported per engine kind.
  double reported = 0;
  for (const EngineUsage &u : r.report.engines)
    reported += u.conflict_stall_seconds;
  EXPECT_NEAR(reported, dveEnd - poolFirst, kSecondTol);
  EXPECT_EQ(run(dve + pool, on, true).stats.end, r.stats.end);
}

// NC-v2: ACT and DVE take turns on PSUM even on different banks (no bank
// conflict); GpSimd and ACT share no port.
TEST(PortExclusion, ActAndDveTakeTurnsOnPsum) {
  const std::string act = ".stream core=0 engine=act\n  activation dst=sbuf[0:128]+0:fp32[[1,1024]] "
                          "src=psum[0:128]+0:fp32[[1,1024]]\n";
  const std::string dve = ".stream core=0 engine=dve\n  tensor_copy dst=sbuf[0:128]+8192:fp32[[1,120]] "
                          "src=sbuf[0:128]+12288:fp32[[1,120]]\n  tensor_copy dst=sbuf[0:128]+16384:fp32[[1,256]] "
                          "src=psum[0:128]+8192:fp32[[1,256]]\n";
  ChipConfig on = trn3();
  on.engine_port_exclusion = true;
  const double actEnd = run(act, trn3()).report.seconds;
  SimulationResult r = run(act + dve, on);
  EXPECT_GT(streamOf(r, EngineKind::DVE).portConflictStall, 0);
  EXPECT_EQ(streamOf(r, EngineKind::DVE).psumConflictStall, 0); // banks 0-1 vs 4: no bank conflict
  EXPECT_GT(r.report.seconds, actEnd);
  EXPECT_NEAR(run(act + dve, trn3()).report.seconds, actEnd, kSecondTol); // off: DVE finishes under ACT
  // GpSimd reading PSUM next to ACT: no shared port.
  const std::string pool = ".stream core=0 engine=pool\n  tensor_copy dst=psum[0:128]+12288:fp32[[1,120]] "
                           "src=psum[0:128]+12288:fp32[[1,120]]\n";
  EXPECT_EQ(streamOf(run(act + pool, on), EngineKind::POOL).portConflictStall, 0);
}
