// System configs (simulator/system/SystemConfig.h): the presets load with the
// reference's numbers, files inherit and override, and bad files are errors
// naming the file, line and key.
#include "support/TestSupport.h"
#include "isa/Error.h"
#include "simulator/system/SystemConfig.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace trnx;
using trnx::testing::errorOf;
using ::testing::HasSubstr;

namespace {

std::string writeTemp(const std::string &name, const std::string &text) {
  auto path = std::filesystem::temp_directory_path() / ("trnx_sys_" + name);
  std::ofstream(path) << text;
  return path.string();
}

const char *kMinimal = "name: tiny\nchip: trn3\ntopology: ring\nlevels:\n"
                       "  - {size: 8, chip_bytes_per_second: 1.0e11, hop_latency_seconds: 1.0e-6}\n";

} // namespace

TEST(SystemConfig, PresetsCarryTheReferenceNumbers) {
  EXPECT_EQ(systemPresetNames(), (std::vector<std::string>{"trn2-server", "trn2-ultraserver", "trn3-ultraserver",
                                                           "trn3-ultraserver-pcie6", "trn4-projection"}));
  SystemConfig server = loadSystem("trn2-server");
  EXPECT_EQ(server.chips(), 16);
  EXPECT_EQ(server.chip.name, "trn2");
  EXPECT_EQ(server.topology, TopologyKind::Torus);
  ASSERT_EQ(server.levels.size(), 2u);
  // 1,024 GB/s per chip inside the instance, over the two dimensions.
  EXPECT_DOUBLE_EQ(server.levels[0].chip_bytes_per_second + server.levels[1].chip_bytes_per_second, 1024e9);
  EXPECT_DOUBLE_EQ(server.scaleOut.chip_bytes_per_second * 8, 200e9); // 200 Gbps EFA per chip
  EXPECT_DOUBLE_EQ(server.scaleOut.latency_seconds, 15e-6);
  EXPECT_DOUBLE_EQ(server.collectives.mesh_max_bytes, 1 << 20);
  EXPECT_DOUBLE_EQ(server.collectives.rdh_max_bytes, 56.0 * (1 << 20));

  SystemConfig ultra = loadSystem("trn2-ultraserver");
  EXPECT_EQ(ultra.chips(), 64);
  ASSERT_EQ(ultra.levels.size(), 3u);
  EXPECT_EQ(ultra.levels[2].size, 4);
  EXPECT_DOUBLE_EQ(ultra.levels[2].chip_bytes_per_second, 256e9); // between servers
  EXPECT_DOUBLE_EQ(ultra.scaleOut.latency_seconds, 15e-6);         // inherited from trn2-server

  SystemConfig trn3 = loadSystem("trn3-ultraserver");
  EXPECT_EQ(trn3.chips(), 144);
  EXPECT_EQ(trn3.topology, TopologyKind::Switch);
  EXPECT_EQ(trn3.levels[0].size, 4);
  EXPECT_EQ(trn3.levels[1].size, 36);
  EXPECT_DOUBLE_EQ(trn3.levels[0].chip_bytes_per_second, 2.56e12);
  SystemConfig pcie = loadSystem("trn3-ultraserver-pcie6");
  EXPECT_EQ(pcie.chips(), 144);
  EXPECT_DOUBLE_EQ(2 * (pcie.levels[0].chip_bytes_per_second + pcie.levels[1].chip_bytes_per_second), 576e9);

  SystemConfig trn4 = loadSystem("trn4-projection");
  EXPECT_EQ(trn4.chips(), 72);
  EXPECT_EQ(trn4.chip.name, "trn4");
  for (const std::string &name : systemPresetNames()) {
    SystemConfig s = loadSystem(name);
    EXPECT_EQ(s.name, name);
    for (const TopologyLevel &l : s.levels) {
      EXPECT_GE(l.hop_latency_seconds, 1e-6) << name; // 1-2 us per hop in-node
      EXPECT_LE(l.hop_latency_seconds, 2e-6) << name;
    }
  }
}

TEST(SystemConfig, FilesInheritOverrideAndRoundTripThroughYaml) {
  std::string path = writeTemp("scaled.yaml", "base: trn2-server\nname: two-servers\nchips: 32\n"
                                              "scale_out: {systems: 2}\ncollectives: {mesh_max_bytes: 4096}\n");
  SystemConfig s = loadSystem(path);
  EXPECT_EQ(s.chips(), 32);
  EXPECT_EQ(s.chipsPerSystem(), 16);
  EXPECT_DOUBLE_EQ(s.collectives.mesh_max_bytes, 4096);
  EXPECT_DOUBLE_EQ(s.scaleOut.chip_bytes_per_second, 25e9);
  SystemConfig again = loadSystemFromText(systemToYaml(s), "dump");
  EXPECT_EQ(systemToYaml(again), systemToYaml(s));
  EXPECT_EQ(again.chips(), 32);
  SystemConfig tiny = loadSystemFromText(kMinimal, "tiny.yaml");
  EXPECT_EQ(tiny.chips(), 8);
  EXPECT_EQ(tiny.topology, TopologyKind::Ring);
}

TEST(SystemConfig, BadFilesNameTheFileLineAndKey) {
  auto err = [](const std::string &text) { return errorOf([&] { loadSystemFromText(text, "s.yaml"); }); };
  EXPECT_EQ(err(std::string(kMinimal) + "chips: 9\n"), "s.yaml:6: key 'chips': 9 but the levels give 8 per system x 1 system(s)");
  EXPECT_EQ(err(std::string(kMinimal) + "links: 3\n"),
            "s.yaml:6: unknown key 'links' (base, name, description, chip, chips, topology, levels, scale_out, "
            "collectives, energy)");
  EXPECT_EQ(err("name: x\nchip: trn3\ntopology: mesh\n"), "s.yaml:3: key 'topology': 'mesh' is not torus, ring or switch");
  EXPECT_EQ(err("name: x\nchip: trn3\ntopology: ring\nlevels:\n  - {size: 4, chip_bytes_per_second: fast, hop_latency_seconds: 1}\n"),
            "s.yaml:5: key 'levels[0].chip_bytes_per_second': 'fast' is not a number");
  EXPECT_EQ(err("name: x\nchip: trn3\nlevels:\n  - {size: 4, hop_latency_seconds: 1e-6}\n"),
            "s.yaml:4: levels[0] needs size, chip_bytes_per_second and hop_latency_seconds");
  EXPECT_EQ(err("name: x\nchip: trn3\nlevels:\n  - {size: 0.5, chip_bytes_per_second: 1e9, hop_latency_seconds: 1e-6}\n"),
            "s.yaml:4: key 'levels[0].size': 0.5 is outside [1, 65536]");
  EXPECT_THAT(err("name: x\nchip: trn9\n"), HasSubstr("s.yaml:2: key 'chip': 'trn9' is neither a chip preset ("));
  EXPECT_EQ(err("name: x\nchip: trn3\n"), "s.yaml: key 'levels' is missing");
  EXPECT_EQ(err("name: x\nchip: trn3\ntopology: ring\nlevels:\n"
                "  - {size: 4, chip_bytes_per_second: 1e9, hop_latency_seconds: 1e-6}\n"
                "  - {size: 4, chip_bytes_per_second: 1e9, hop_latency_seconds: 1e-6}\n"),
            "s.yaml: a ring has exactly one level");
  EXPECT_EQ(err(std::string(kMinimal) + "collectives: {mesh_max_bytes: 10, rdh_max_bytes: 5}\n"),
            "s.yaml: collectives.mesh_max_bytes exceeds collectives.rdh_max_bytes");
  EXPECT_EQ(err("[1, 2]\n"), "s.yaml: a system config must be a YAML map of keys");
  EXPECT_THAT(err("name: [\n"), HasSubstr("s.yaml:2:1: invalid YAML"));
  EXPECT_EQ(errorOf([] { loadSystem("trn5-pod"); }),
            "'trn5-pod' is neither a system preset (trn2-server, trn2-ultraserver, trn3-ultraserver, "
            "trn3-ultraserver-pcie6, trn4-projection) nor a readable YAML file");
  std::string loop = writeTemp("loop.yaml", "base: " + writeTemp("loop.yaml", "") + "\n");
  std::ofstream(loop) << "base: " << loop << "\n";
  EXPECT_THAT(errorOf([&] { loadSystem(loop); }), HasSubstr("'base' chain is deeper than 16 (a cycle?)"));
}
