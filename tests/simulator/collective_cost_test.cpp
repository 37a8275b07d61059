// Collective closed forms (simulator/system/CollectiveCost.h) against the
// formulas of docs/multichip.md, and the algorithm choice by message size.
#include "support/TestSupport.h"
#include "simulator/system/CollectiveCost.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace trnx;

namespace {

const double MiB = 1024.0 * 1024.0;

} // namespace

TEST(CollectiveCost, RingMatchesTheClosedForm) {
  SystemConfig s = loadSystem("trn2-server");
  auto t = makeTopology(s);
  const std::vector<int> xRing{0, 1, 2, 3}; // one x ring of the 4x4 torus: 1 hop between neighbours
  const double D = 64 * MiB, L = 1.5e-6, B = 256e9, N = 4;
  CollectiveCost ar = collectiveCost(s, *t, Opcode::AllReduce, xRing, D);
  EXPECT_EQ(ar.algorithm, CollectiveAlgorithm::Ring); // above rdh_max_bytes (56 MiB)
  EXPECT_EQ(ar.steps, 6);
  EXPECT_DOUBLE_EQ(ar.seconds, 2 * (N - 1) * (L + D / (N * B)));
  for (Opcode op : {Opcode::AllGather, Opcode::ReduceScatter, Opcode::AllToAll}) {
    CollectiveCost c = collectiveCostWith(CollectiveAlgorithm::Ring, s, *t, op, xRing, D);
    EXPECT_DOUBLE_EQ(c.seconds, (N - 1) * (L + D / (N * B))) << opcodeInfo(op).mnemonic;
  }
  // A ring through the whole 4x4 in index order has 2-hop neighbours (3 -> 4 and 15 -> 0).
  std::vector<int> all;
  for (int c = 0; c < 16; ++c)
    all.push_back(c);
  CollectiveCost wide = collectiveCostWith(CollectiveAlgorithm::Ring, s, *t, Opcode::AllReduce, all, D);
  EXPECT_DOUBLE_EQ(wide.seconds, 2 * 15 * (2 * L + D / (16 * B)));
  CollectiveCost permute = collectiveCost(s, *t, Opcode::Permute, xRing, 1 * MiB);
  EXPECT_DOUBLE_EQ(permute.seconds, L + MiB / B);
}

TEST(CollectiveCost, MeshAndHalvingDoubling) {
  SystemConfig s = loadSystem("trn2-server");
  auto t = makeTopology(s);
  const std::vector<int> xRing{0, 1, 2, 3};
  const double N = 4, farthest = 2 * 1.5e-6, B = 256e9, inject = 512e9;
  const double small = 512 * 1024;
  CollectiveCost m = collectiveCost(s, *t, Opcode::AllReduce, xRing, small);
  EXPECT_EQ(m.algorithm, CollectiveAlgorithm::Mesh);
  EXPECT_EQ(m.steps, 2);
  EXPECT_DOUBLE_EQ(m.seconds, 2 * (farthest + (N - 1) * small / N / inject));
  const double mid = 8 * MiB;
  CollectiveCost h = collectiveCost(s, *t, Opcode::AllReduce, xRing, mid);
  EXPECT_EQ(h.algorithm, CollectiveAlgorithm::RecursiveHalvingDoubling);
  EXPECT_EQ(h.steps, 4); // 2 log2(4)
  EXPECT_DOUBLE_EQ(h.seconds, 2 * (2 * farthest + (N - 1) / N * mid / B));
  CollectiveCost gather = collectiveCostWith(CollectiveAlgorithm::RecursiveHalvingDoubling, s, *t, Opcode::AllGather,
                                             {0, 1, 2}, mid);
  EXPECT_EQ(gather.steps, 2); // ceil(log2 3)
}

TEST(CollectiveCost, ThresholdsPickTheAlgorithm) {
  SystemConfig s = loadSystem("trn2-server");
  auto t = makeTopology(s);
  const std::vector<int> g{0, 1, 2, 3};
  auto pick = [&](double bytes) { return chooseCollectiveAlgorithm(s, *t, Opcode::AllGather, g, bytes); };
  EXPECT_EQ(pick(MiB - 1), CollectiveAlgorithm::Mesh);
  EXPECT_EQ(pick(MiB), CollectiveAlgorithm::RecursiveHalvingDoubling);
  EXPECT_EQ(pick(56 * MiB), CollectiveAlgorithm::RecursiveHalvingDoubling);
  EXPECT_EQ(pick(56 * MiB + 1), CollectiveAlgorithm::Ring);
  s.collectives.mesh_max_bytes = 0;
  s.collectives.rdh_max_bytes = 0;
  EXPECT_EQ(pick(1), CollectiveAlgorithm::Ring);
  EXPECT_EQ(collectiveAlgorithmName(CollectiveAlgorithm::RecursiveHalvingDoubling), "rdh");
}

TEST(CollectiveCost, HierarchicalAcrossSystemsOverEfa) {
  SystemConfig s = loadSystemFromText("base: trn2-server\nname: two\nscale_out: {systems: 2}\n", "two.yaml");
  auto t = makeTopology(s);
  std::vector<int> all;
  for (int c = 0; c < 32; ++c)
    all.push_back(c);
  const double D = 16 * MiB, L = 1.5e-6, B = 256e9;
  CollectiveCost c = collectiveCost(s, *t, Opcode::AllReduce, all, D);
  EXPECT_EQ(c.algorithm, CollectiveAlgorithm::Hierarchical);
  // In-system reduce-scatter (ring of 16, 2-hop worst neighbour), all-reduce of
  // D/16 between the two systems over EFA (15 us, 25 GB/s), all-gather back.
  const double inside = 15 * (2 * L + D / (16 * B));
  const double across = 2 * 1 * (15e-6 + (D / 16) / (2 * 25e9));
  EXPECT_DOUBLE_EQ(c.seconds, 2 * inside + across);
  EXPECT_EQ(c.steps, 2 * 15 + 2);
  // Inside one system the same all-reduce is not hierarchical.
  std::vector<int> one(all.begin(), all.begin() + 16);
  EXPECT_NE(collectiveCost(s, *t, Opcode::AllReduce, one, D).algorithm, CollectiveAlgorithm::Hierarchical);
}
