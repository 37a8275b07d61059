// Topology routing (simulator/system/Topology.h): hop counts, latencies and
// the links a route crosses on tori, rings, switches and over EFA.
#include "support/TestSupport.h"
#include "isa/Error.h"
#include "simulator/system/Topology.h"

#include <gtest/gtest.h>

#include <set>

using namespace trnx;
using trnx::testing::errorOf;

namespace {

// Chip index of torus coordinates (innermost first).
int at(const std::vector<int> &c, const std::vector<int> &sizes) {
  int chip = 0, stride = 1;
  for (size_t i = 0; i < c.size(); ++i) {
    chip += c[i] * stride;
    stride *= sizes[i];
  }
  return chip;
}

} // namespace

TEST(Topology, TorusRoutesTheShorterWayRoundEachDimension) {
  SystemConfig s = loadSystem("trn2-server");
  auto t = makeTopology(s);
  EXPECT_EQ(t->chips(), 16);
  EXPECT_EQ(t->links().size(), 16u * 4); // + and - in each of two rings of 4
  const std::vector<int> dims{4, 4};
  EXPECT_EQ(t->hops(0, 0), 0);
  EXPECT_EQ(t->hops(at({0, 0}, dims), at({1, 0}, dims)), 1);
  EXPECT_EQ(t->hops(at({0, 0}, dims), at({3, 0}, dims)), 1); // wraps round
  EXPECT_EQ(t->hops(at({0, 0}, dims), at({2, 2}, dims)), 4); // the farthest chip of a 4x4 torus
  EXPECT_EQ(t->hops(at({1, 3}, dims), at({2, 0}, dims)), 2);
  int farthest = 0;
  for (int a = 0; a < 16; ++a)
    for (int b = 0; b < 16; ++b) {
      EXPECT_EQ(t->hops(a, b), t->hops(b, a));
      farthest = std::max(farthest, t->hops(a, b));
    }
  EXPECT_EQ(farthest, 4);
  Route r = t->route(at({0, 0}, dims), at({2, 2}, dims));
  EXPECT_DOUBLE_EQ(r.latency_seconds, 4 * 1.5e-6);
  EXPECT_DOUBLE_EQ(r.bottleneck_bytes_per_second, 256e9); // 512 GB/s per dimension over two ports
  ASSERT_EQ(r.links.size(), 4u);
  // Dimension order: x first (level 0), then y.
  EXPECT_EQ(t->links()[r.links[0]].name, "chip0.d0+");
  EXPECT_EQ(t->links()[r.links[1]].name, "chip1.d0+");
  EXPECT_EQ(t->links()[r.links[2]].name, "chip2.d1+");
  EXPECT_EQ(t->links()[r.links[3]].name, "chip6.d1+");
  EXPECT_EQ(t->links()[t->route(0, 3).links[0]].name, "chip0.d0-");
}

TEST(Topology, UltraServerZRingJoinsTheSamePositionAcrossServers) {
  SystemConfig s = loadSystem("trn2-ultraserver");
  auto t = makeTopology(s);
  EXPECT_EQ(t->chips(), 64);
  const std::vector<int> dims{4, 4, 4};
  EXPECT_EQ(t->coordinates(at({1, 2, 3}, dims)), (std::vector<int>{1, 2, 3}));
  Route z = t->route(at({1, 2, 0}, dims), at({1, 2, 1}, dims));
  EXPECT_EQ(z.hops, 1);
  EXPECT_DOUBLE_EQ(z.latency_seconds, 2e-6);
  EXPECT_DOUBLE_EQ(z.bottleneck_bytes_per_second, 128e9); // 256 GB/s per chip between servers, two ports
  EXPECT_EQ(t->hops(at({0, 0, 0}, dims), at({2, 2, 2}, dims)), 6);
  Route mixed = t->route(at({0, 0, 0}, dims), at({1, 0, 2}, dims));
  EXPECT_EQ(mixed.hops, 3);
  EXPECT_DOUBLE_EQ(mixed.latency_seconds, 1.5e-6 + 2 * 2e-6);
}

TEST(Topology, RingOfTwoHasOneLinkEachWay) {
  SystemConfig s = loadSystemFromText("name: pair\nchip: trn3\ntopology: ring\nlevels:\n"
                                      "  - {size: 2, chip_bytes_per_second: 1.0e11, hop_latency_seconds: 1.0e-6}\n",
                                      "pair.yaml");
  auto t = makeTopology(s);
  EXPECT_EQ(t->links().size(), 2u);
  EXPECT_EQ(t->hops(0, 1), 1);
  EXPECT_DOUBLE_EQ(t->route(0, 1).bottleneck_bytes_per_second, 1e11);
}

TEST(Topology, SwitchCountsTwoHopsPerLevelClimbed) {
  SystemConfig s = loadSystem("trn3-ultraserver");
  auto t = makeTopology(s);
  EXPECT_EQ(t->chips(), 144);
  EXPECT_EQ(t->links().size(), 144u * 2 * 2); // up and down port per level
  Route inServer = t->route(0, 3);
  EXPECT_EQ(inServer.hops, 2); // chip -> server switch -> chip
  EXPECT_DOUBLE_EQ(inServer.latency_seconds, 2 * 1.5e-6);
  Route across = t->route(1, 4 * 20 + 2);
  EXPECT_EQ(across.hops, 4); // chip -> server switch -> second-level switch -> server switch -> chip
  EXPECT_DOUBLE_EQ(across.latency_seconds, 2 * (1.5e-6 + 1.5e-6));
  EXPECT_EQ(t->links()[across.links[0]].name, "chip1.l1-up");
  EXPECT_EQ(t->links()[across.links[1]].name, "chip82.l1-down");
  EXPECT_DOUBLE_EQ(across.bottleneck_bytes_per_second, 2.56e12);
  SystemConfig pcie = loadSystem("trn3-ultraserver-pcie6");
  auto p = makeTopology(pcie);
  EXPECT_DOUBLE_EQ(p->route(0, 1).bottleneck_bytes_per_second, 128e9);
  EXPECT_DOUBLE_EQ(p->route(0, 4).bottleneck_bytes_per_second, 160e9);
}

TEST(Topology, ScaleOutCrossesEfaOnce) {
  SystemConfig s = loadSystemFromText("base: trn2-server\nname: two\nscale_out: {systems: 2}\n", "two.yaml");
  auto t = makeTopology(s);
  EXPECT_EQ(t->chips(), 32);
  EXPECT_EQ(t->links().size(), 32u * 4 + 32u * 2);
  Route r = t->route(3, 16 + 3);
  EXPECT_EQ(r.hops, 1);
  EXPECT_DOUBLE_EQ(r.latency_seconds, 15e-6);
  EXPECT_DOUBLE_EQ(r.bottleneck_bytes_per_second, 25e9);
  EXPECT_EQ(t->links()[r.links[0]].name, "chip3.efa-out");
  EXPECT_EQ(t->links()[r.links[1]].name, "chip19.efa-in");
  EXPECT_EQ(t->route(16, 16 + 10).hops, t->route(0, 10).hops); // the second system is a copy
  EXPECT_EQ(errorOf([&] { t->route(0, 32); }), "route from chip 0 to chip 32: the system has 32 chips");
  std::set<std::string> names;
  for (const Link &l : t->links())
    names.insert(l.name);
  EXPECT_EQ(names.size(), t->links().size());
}
