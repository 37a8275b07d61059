// System timing (simulator/system/SystemTiming.h): a lone collective takes its
// closed form (CollectiveCost.h) after the DMA issue overhead, for every
// opcode and algorithm; concurrent collectives on the same links split their
// bandwidth while ones on disjoint links do not; collective DMA competes for
// HBM; compute overlaps communication; link bytes cost energy; groups placed
// unequally on the topology are flagged.
#include "support/TestSupport.h"
#include "isa/AsmParser.h"
#include "isa/Verifier.h"
#include "simulator/system/SystemTiming.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace trnx;
using ::testing::HasSubstr;

namespace {

const double MiB = 1024.0 * 1024.0;

std::string world(int ranks, int set = 0) {
  std::string g = ".replica_group " + std::to_string(set) + " [";
  for (int r = 0; r < ranks; ++r)
    g += (r ? "," : "") + std::to_string(r);
  return g + "]\n";
}

// The x rings (set `set`) and y rings of trn2-server's 4x4 torus.
std::string xRings(int set) { return ".replica_group " + std::to_string(set) + " [0,1,2,3] [4,5,6,7] [8,9,10,11] [12,13,14,15]\n"; }
std::string yRings(int set) { return ".replica_group " + std::to_string(set) + " [0,4,8,12] [1,5,9,13] [2,6,10,14] [3,7,11,15]\n"; }

std::string row(const char *tensor, int64_t elems, int64_t offset = 0) {
  return std::string("hbm[") + tensor + "]+" + std::to_string(offset * 4) + ":fp32[[0,1],[1," + std::to_string(elems) + "]]";
}

Program program(const SystemConfig &s, const std::string &groups, int64_t xElems, int64_t yElems,
                const std::string &body) {
  std::string text = ".target " + s.chip.name + "\n.ranks " + std::to_string(s.chips()) + "\n" + groups +
                     ".tensor x input fp32 [" + std::to_string(xElems) + "]\n.tensor y output fp32 [" +
                     std::to_string(yElems) + "]\n" + body;
  Program p = parseAssembly(text, "timing.s");
  verifyProgram(p, s.chip.limits());
  return p;
}

double issue(const SystemConfig &s) { return s.chip.dma.issue_overhead_seconds; }

struct Case {
  const char *op;
  int64_t srcElems, dstElems;
  std::string extra;
};

} // namespace

TEST(SystemTiming, EachLoneCollectiveTakesItsClosedForm) {
  const SystemConfig s = loadSystem("trn2-server");
  auto topo = makeTopology(s);
  const int64_t sizes[] = {64 * 1024, 2 * 1024 * 1024, 16 * 1024 * 1024}; // fp32 elements: mesh, rdh, ring
  for (int64_t n : sizes)
    for (const std::string &groups : {world(16), xRings(0)}) {
      const int G = groups == world(16) ? 16 : 4;
      const std::vector<Case> cases = {
          {"all_reduce", n, n, " op=add"},
          {"reduce_scatter", n, n / G, " op=add"},
          {"all_gather", n / G, n, ""},
          {"all_to_all", n, n, ""},
          {"permute", n, n, " shift=1 wrap=1"},
      };
      for (const Case &c : cases) {
        SCOPED_TRACE(std::string(c.op) + " " + std::to_string(n) + " G=" + std::to_string(G));
        const Program p = program(s, groups, c.srcElems, c.dstElems,
                                  ".stream core=0 engine=q0\n  " + std::string(c.op) + " dst=" +
                                      row("y", c.dstElems) + " src=" + row("x", c.srcElems) + c.extra + "\n");
        const SystemTimingResult r = simulateSystemTiming(p, s, false);
        ASSERT_EQ(r.system.collectives.size(), 1u);
        const CollectivePlan &plan = r.system.collectives[0];
        std::vector<int> g0;
        for (uint16_t m : p.replicaGroups[0].groups[0])
          g0.push_back(m);
        const Opcode op = p.streams[0].code[0].opcode;
        const CollectiveCost want = collectiveCost(s, *topo, op, g0, plan.bytes);
        EXPECT_DOUBLE_EQ(plan.cost.seconds, want.seconds);
        EXPECT_NEAR(r.rank.report.seconds - issue(s), want.seconds, 1e-12 + 1e-9 * want.seconds);
        EXPECT_NEAR(r.system.exposed_communication_seconds, want.seconds, 1e-12 + 1e-9 * want.seconds);
        EXPECT_EQ(plan.executions, 1u);
        EXPECT_FALSE(plan.groups_differ);
      }
    }
}

TEST(SystemTiming, RingAllReduceIsTwoNMinusOneStepsOfLatencyPlusAChunk) {
  const SystemConfig s = loadSystem("trn2-server");
  const int64_t n = 16 * 1024 * 1024; // 64 MiB: above rdh_max_bytes, so ring
  const Program p = program(s, xRings(0), n, n,
                            ".stream core=0 engine=q0\n  all_reduce dst=" + row("y", n) + " src=" + row("x", n) +
                                " op=add\n");
  const SystemTimingResult r = simulateSystemTiming(p, s, false);
  const double N = 4, a = 1.5e-6, D = 64 * MiB, B = 256e9; // x neighbours: 1 hop of a 512 GB/s dimension's 2 ports
  EXPECT_EQ(r.system.collectives[0].cost.algorithm, CollectiveAlgorithm::Ring);
  EXPECT_NEAR(r.rank.report.seconds - issue(s), 2 * (N - 1) * (a + D / (N * B)), 1e-9);
  // Each of the 16 ranks sends 2 (N-1)/N D to its x neighbour, one link each.
  EXPECT_DOUBLE_EQ(r.system.bytes_by_link_class[0], 16 * 2 * (N - 1) / N * D);
  EXPECT_DOUBLE_EQ(r.system.bytes_by_link_class[1], 0);
}

TEST(SystemTiming, ConcurrentCollectivesShareLinksOnlyWhenTheyOverlap) {
  const SystemConfig s = loadSystem("trn2-server");
  const int64_t n = 16 * 1024 * 1024;
  auto two = [&](const std::string &groups, int setB) {
    const std::string ar = " op=add groups=";
    return program(s, groups, 2 * n, 2 * n,
                   ".stream core=0 engine=q0\n  all_reduce dst=" + row("y", n) + " src=" + row("x", n) + ar + "0\n" +
                       ".stream core=0 engine=q1\n  all_reduce dst=" + row("y", n, n) + " src=" + row("x", n, n) +
                       ar + std::to_string(setB) + "\n");
  };
  const SystemTimingResult same = simulateSystemTiming(two(xRings(0), 0), s, false);
  const SystemTimingResult disjoint = simulateSystemTiming(two(xRings(0) + yRings(1), 1), s, false);
  const CollectiveCost one = same.system.collectives[0].cost;
  // Same x links: both move at half rate and end together.
  EXPECT_NEAR(same.rank.report.seconds - issue(s), one.latency_seconds + 2 * one.bandwidth_seconds, 1e-9);
  // x rings and y rings use different links: each at full rate.
  EXPECT_NEAR(disjoint.rank.report.seconds - issue(s), one.seconds, 1e-9);
  EXPECT_NEAR(same.system.collective_seconds, same.rank.report.seconds, 1e-9);
}

TEST(SystemTiming, CollectiveDmaCompetesForHbmBandwidth) {
  // Links fast enough that HBM (read what is sent, write what arrives) caps the transfer.
  SystemConfig s = loadSystemFromText("base: trn2-server\nname: fast\nlevels:\n"
                                      "  - {size: 4, chip_bytes_per_second: 8.0e12, hop_latency_seconds: 1.5e-6}\n"
                                      "  - {size: 4, chip_bytes_per_second: 8.0e12, hop_latency_seconds: 1.5e-6}\n",
                                      "fast.yaml");
  const int64_t n = 16 * 1024 * 1024;
  const std::string body =
      ".stream core=0 engine=q0\n  all_reduce dst=" + row("y", n) + " src=" + row("x", n) + " op=add groups=0\n";
  const SystemTimingResult r = simulateSystemTiming(program(s, xRings(0), n, n, body), s, false);
  const CollectivePlan &plan = r.system.collectives[0];
  ASSERT_EQ(plan.hbm_sides, 2);
  const double hbmCap = s.chip.hbm.bytes_per_second * s.chip.hbm.max_utilization;
  ASSERT_GT(plan.cost.link_bytes / plan.cost.bandwidth_seconds * 2, hbmCap);
  EXPECT_NEAR(r.rank.report.seconds - issue(s), plan.cost.latency_seconds + plan.cost.link_bytes * 2 / hbmCap, 1e-9);
  EXPECT_GT(r.rank.report.bottleneck.critical_path_seconds[static_cast<int>(PathCause::Hbm)], 0);
  // An HBM-bound DMA on another queue at the same time slows the collective further.
  const SystemTimingResult busy = simulateSystemTiming(
      program(s, xRings(0), 2 * n, 2 * n,
              body + ".stream core=0 engine=q1\n  dma_copy dst=" + row("y", n, n) + " src=" + row("x", n, n) + "\n"),
      s, false);
  EXPECT_GT(busy.rank.report.seconds, r.rank.report.seconds * 1.05);
}

TEST(SystemTiming, ComputeOverlapsCommunicationThroughTheSemaphores) {
  const SystemConfig s = loadSystem("trn2-server");
  const int64_t n = 16 * 1024 * 1024;
  const std::string coll =
      ".stream core=0 engine=q0\n  all_reduce dst=" + row("y", n) + " src=" + row("x", n) + " op=add WAIT\n";
  // ~30 us of DVE work on a separate stream.
  const std::string op = "  tensor_scalar dst=sbuf[0:128]+0x0:fp32[[1,512]] src=sbuf[0:128]+0x0:fp32[[1,512]] op0=mul "
                         "scalar0=2.0";
  std::string work = ".stream core=0 engine=dve\n  loop count=200\n" + op + "\n  endloop\n" + op + " SIGNAL\n";
  auto make = [&](bool dependent) {
    std::string c = coll, w = work;
    c.replace(c.find("WAIT"), 4, dependent ? "wait=s0>=1" : "");
    w.replace(w.find("SIGNAL"), 6, dependent ? "signal=s0+1" : "");
    return program(s, xRings(0), n, n, c + w);
  };
  const SystemTimingResult overlapped = simulateSystemTiming(make(false), s, false);
  const SystemTimingResult serial = simulateSystemTiming(make(true), s, false);
  const double comm = overlapped.system.collectives[0].cost.seconds;
  const double compute = serial.rank.report.seconds - comm - issue(s);
  ASSERT_GT(compute, 1e-6);
  EXPECT_NEAR(overlapped.rank.report.seconds, std::max(comm + issue(s), compute), 1e-7);
  EXPECT_GT(serial.rank.report.seconds, overlapped.rank.report.seconds + 0.9 * std::min(comm, compute));
  // Only the serial run exposes the whole collective.
  EXPECT_NEAR(serial.system.exposed_communication_seconds, comm, 1e-9);
}

TEST(SystemTiming, LinkBytesCostLinkSwitchAndScaleOutEnergy) {
  SystemConfig s = loadSystem("trn3-ultraserver");
  const int64_t n = 64 * 1024;
  const Program p = program(s, world(144), n, n,
                            ".stream core=0 engine=q0\n  all_reduce dst=" + row("y", n) + " src=" + row("x", n) +
                                " op=add\n");
  const SystemTimingResult r = simulateSystemTiming(p, s, false);
  const CollectivePlan &plan = r.system.collectives[0];
  double scaleUp = 0;
  for (size_t l = 0; l + 1 < plan.bytes_by_level.size(); ++l)
    scaleUp += plan.bytes_by_level[l];
  // Mesh: every rank sends 2 (N-1)/N D, each message crossing two chip-switch links.
  EXPECT_NEAR(scaleUp, 144 * plan.cost.link_bytes * 2, 1e-9 * scaleUp);
  EXPECT_NEAR(r.system.chip_link_joules, scaleUp * s.chip.energy.link_byte_joules, 1e-15);
  EXPECT_NEAR(r.rank.report.levels.chip.link_joules * 144, r.system.chip_link_joules, 1e-15);
  EXPECT_GT(r.system.switch_joules, 0);
  EXPECT_NEAR(r.system.switch_joules, r.system.switch_bytes * s.switch_byte_joules, 1e-15);
  EXPECT_EQ(r.system.scale_out_joules, 0);
  s.chip.energy.link_byte_joules *= 2;
  EXPECT_NEAR(simulateSystemTiming(p, s, false).system.chip_link_joules, 2 * r.system.chip_link_joules, 1e-15);
  // Two systems joined by EFA: the hierarchical all-reduce's cross-system ring goes over scale-out.
  const SystemConfig pair = loadSystemFromText("base: trn2-server\nname: pair\nchips: 32\nscale_out: {systems: 2}\n",
                                               "pair.yaml");
  const SystemTimingResult e = simulateSystemTiming(
      program(pair, world(32), n, n,
              ".stream core=0 engine=q0\n  all_reduce dst=" + row("y", n) + " src=" + row("x", n) + " op=add\n"),
      pair, false);
  EXPECT_EQ(e.system.collectives[0].cost.algorithm, CollectiveAlgorithm::Hierarchical);
  EXPECT_GT(e.system.bytes_by_link_class.back(), 0);
  EXPECT_NEAR(e.system.scale_out_joules, e.system.bytes_by_link_class.back() * pair.scale_out_byte_joules, 1e-15);
}

TEST(SystemTiming, UnequallyPlacedGroupsArePricedAtTheSlowestAndSaySo) {
  const SystemConfig s = loadSystem("trn2-server");
  // [0,1] are x neighbours (1 hop); [2,10] are two y hops apart.
  std::string groups;
  groups = ".replica_group 0 [0,1] [2,10] [3,11] [4,5] [6,14] [7,15] [8,9] [12,13]\n";
  const int64_t n = 1024;
  const Program p = program(s, groups, n, n,
                            ".stream core=0 engine=q0\n  all_reduce dst=" + row("y", n) + " src=" + row("x", n) +
                                " op=add\n");
  const SystemTimingResult r = simulateSystemTiming(p, s, false);
  EXPECT_TRUE(r.system.collectives[0].groups_differ);
  EXPECT_THAT(r.system.replication_note, HasSubstr("priced at its slowest group"));
  auto topo = makeTopology(s);
  EXPECT_DOUBLE_EQ(r.system.collectives[0].cost.seconds,
                   collectiveCost(s, *topo, Opcode::AllReduce, {2, 10}, 4.0 * n).seconds);
}
