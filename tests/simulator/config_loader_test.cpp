// Chip configs: presets load and agree with the reference, user files inherit
// and override, and bad files are errors naming the key and the file.
#include "support/TestSupport.h"
#include "isa/Error.h"
#include "simulator/config/ConfigFields.h"
#include "simulator/config/ConfigLoader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include <filesystem>
#include <fstream>

using namespace trnx;
using trnx::testing::errorOf;
using ::testing::HasSubstr;

namespace {

std::string writeTemp(const std::string &name, const std::string &text) {
  auto path = std::filesystem::temp_directory_path() / ("trnx_cfg_" + name);
  std::ofstream(path) << text;
  return path.string();
}

} // namespace

TEST(ConfigLoader, PresetsLoadWithReferenceValues) {
  ChipConfig trn2 = loadChip("trn2"), trn3 = loadChip("trn3"), trn4 = loadChip("trn4");
  EXPECT_EQ(trn3.cores, 8);
  EXPECT_EQ(trn3.sbuf_bytes_per_partition, 256 * 1024);
  EXPECT_EQ(trn2.sbuf_bytes_per_partition, 224 * 1024);
  EXPECT_DOUBLE_EQ(trn3.hbm.bytes_per_second, 4.9e12);
  EXPECT_DOUBLE_EQ(trn2.hbm.bytes_per_second, 2.9e12);
  // trn4 = trn3 with 4x bandwidth and 2x capacity, everything else inherited.
  EXPECT_DOUBLE_EQ(trn4.hbm.bytes_per_second, 4 * trn3.hbm.bytes_per_second);
  EXPECT_DOUBLE_EQ(trn4.hbm.capacity_bytes, 2 * trn3.hbm.capacity_bytes);
  EXPECT_EQ(trn4.pe.clock_hz, trn3.pe.clock_hz);
  EXPECT_EQ(trn4.name, "trn4");
  // Dense bf16 chip peaks of the reference (S5 667, S6 671 TF): the PE clocks are derived from them.
  EXPECT_NEAR(trn2.peakFlopsPerSecond(DType::BF16), 667e12, 0.5e12);
  EXPECT_NEAR(trn3.peakFlopsPerSecond(DType::BF16), 671e12, 0.5e12);
  // NC-v4 runs plain fp8 at the bf16 rate (G3); NC-v3 doubles it (G2 double-row).
  EXPECT_FALSE(trn3.pe_array.double_row);
  EXPECT_TRUE(trn2.pe_array.double_row);
  // P2: 23 / 33 B/ns per DMA engine, 16 engines per core = 368 / 528 GB/s.
  EXPECT_DOUBLE_EQ(trn2.dma.engine_bytes_per_second * trn2.dma.engines_per_core, 368e9);
  EXPECT_DOUBLE_EQ(trn3.dma.engine_bytes_per_second * trn3.dma.engines_per_core, 528e9);
  EXPECT_TRUE(trn3.pe_array.output_dtypes & dtypeBit(DType::BF16));
  EXPECT_FALSE(trn2.pe_array.output_dtypes & dtypeBit(DType::BF16));
}

TEST(ConfigLoader, UserFileInheritsAndOverrides) {
  std::string path = writeTemp("derived.yaml", "base: trn3\nname: big\npe_array:\n  rows: 64\n"
                                               "hbm: {bytes_per_second: 1.0e13}\n");
  ChipConfig c = loadChip(path);
  EXPECT_EQ(c.name, "big");
  EXPECT_EQ(c.pe_array.rows, 64);
  EXPECT_DOUBLE_EQ(c.hbm.bytes_per_second, 1e13);
  EXPECT_EQ(c.cores, 8);
}

TEST(ConfigLoader, UnknownKeyNamesKeyFileAndLine) {
  std::string path = writeTemp("unknown.yaml", "base: trn3\npe_array:\n  rowz: 64\n");
  std::string msg = errorOf([&] { loadChip(path); });
  EXPECT_THAT(msg, HasSubstr(path + ":3"));
  EXPECT_THAT(msg, HasSubstr("unknown key 'pe_array.rowz'"));
}

TEST(ConfigLoader, WrongTypeAndImpossibleValuesAreErrors) {
  EXPECT_THAT(errorOf([&] { loadChip(writeTemp("type.yaml", "base: trn3\ncores: eight\n")); }),
              HasSubstr("key 'cores': expected an integer, got 'eight'"));
  EXPECT_THAT(errorOf([&] { loadChip(writeTemp("range.yaml", "base: trn3\npe:\n  clock_hz: -1\n")); }),
              HasSubstr("'pe.clock_hz' = -1 is out of range"));
  EXPECT_THAT(errorOf([&] { loadChip(writeTemp("frac.yaml", "base: trn3\ncores: 2.5\n")); }),
              HasSubstr("expected an integer"));
  EXPECT_THAT(errorOf([&] { loadChip(writeTemp("map.yaml", "base: trn3\ncores: {a: 1}\n")); }),
              HasSubstr("expected a single value"));
  EXPECT_THAT(errorOf([&] { loadChip(writeTemp("dt.yaml", "base: trn3\npe_array:\n  input_dtypes: [bf17]\n")); }),
              HasSubstr("unknown dtype 'bf17'"));
  EXPECT_THAT(errorOf([&] { loadChip(writeTemp("banks.yaml", "base: trn3\npsum_banks: 3\n")); }),
              HasSubstr("psum_banks"));
}

TEST(ConfigLoader, MissingValuesWithoutBaseAreReported) {
  std::string msg = errorOf([&] { loadChip(writeTemp("bare.yaml", "name: bare\ncores: 1\n")); });
  EXPECT_THAT(msg, HasSubstr("out of range (missing from the file?)"));
}

TEST(ConfigLoader, BadYamlAndMissingFiles) {
  EXPECT_THAT(errorOf([&] { loadChip(writeTemp("syntax.yaml", "cores: [1, 2\n")); }), HasSubstr("invalid YAML"));
  EXPECT_THAT(errorOf([&] { loadChip("/nonexistent/chip.yaml"); }),
              HasSubstr("is neither a chip preset"));
  EXPECT_THAT(errorOf([&] { loadChip(writeTemp("list.yaml", "- 1\n- 2\n")); }), HasSubstr("must be a YAML map"));
  std::string a = writeTemp("cycle_a.yaml", "base: trnx_cfg_cycle_b.yaml\n");
  writeTemp("cycle_b.yaml", "base: trnx_cfg_cycle_a.yaml\n");
  EXPECT_THAT(errorOf([&] { loadChip(a); }), HasSubstr("deeper than"));
}

// Hostile YAML: a billion-laughs alias bomb (9^8 scalars if expanded) ends
// in an error at once (yaml-cpp shares aliased nodes, and the walk stops at
// the first value of the wrong type), and a file that is its own base is the
// depth error, not a stack overflow.
TEST(ConfigLoader, AliasBombsAndSelfBasesAreErrors) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n";
  const char *levels = "abcdefgh";
  for (int i = 1; i < 8; ++i) {
    bomb += std::string(1, levels[i]) + ": &" + levels[i] + " [";
    for (int k = 0; k < 9; ++k)
      bomb += std::string(k ? ", *" : "*") + levels[i - 1];
    bomb += "]\n";
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(errorOf([&] { loadChipFromText("base: trn3\n" + bomb, "bomb.yaml"); }), HasSubstr("bomb.yaml"));
  EXPECT_THAT(errorOf([&] { loadChipFromText("base: trn3\n" + bomb + "cores: *h\n", "bomb.yaml"); }),
              HasSubstr("bomb.yaml"));
  EXPECT_THAT(errorOf([&] { loadChipFromText("base: trn3\n" + bomb + "pe_array: *h\n", "bomb.yaml"); }),
              HasSubstr("bomb.yaml"));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  std::string self = writeTemp("self.yaml", "base: trnx_cfg_self.yaml\ncores: 2\n");
  EXPECT_THAT(errorOf([&] { loadChip(self); }), HasSubstr("deeper than"));
}

TEST(ConfigLoader, EveryRegistryKeyRoundTripsThroughYaml) {
  ChipConfig trn3 = loadChip("trn3");
  ChipConfig again = loadChipFromText(chipToYaml(trn3), "dump.yaml");
  for (const ConfigField &f : configFields())
    EXPECT_EQ(f.get(trn3), f.get(again)) << f.key;
}

// Every value in a preset names its source (docs: "Numbers carry sources").
TEST(ConfigLoader, EveryPresetValueCitesASourceOrAssumption) {
  const char *sources[] = {"S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "G1", "G2", "G3",
                           "P1", "P2", "P3", "I0", "I1", "L1", "N1", "SA", "TH", "DERIVED",
                           "assumption", "energy.md", "trainium.md"};
  for (const std::string &name : presetNames()) {
    std::istringstream in(*presetText(name));
    std::string line;
    int lineNo = 0;
    while (std::getline(in, line)) {
      ++lineNo;
      size_t colon = line.find(':');
      size_t hash = line.find('#');
      std::string before = line.substr(0, std::min(colon, hash));
      if (colon == std::string::npos || (hash != std::string::npos && hash < colon) ||
          before.find_first_not_of(' ') == std::string::npos)
        continue;
      std::string value = line.substr(colon + 1, hash == std::string::npos ? std::string::npos : hash - colon - 1);
      if (value.find_first_not_of(' ') == std::string::npos)
        continue; // a section header
      if (line.rfind("base:", 0) == 0)
        continue;
      ASSERT_NE(hash, std::string::npos) << name << ":" << lineNo << " has no source: " << line;
      std::string comment = line.substr(hash);
      bool cited = false;
      for (const char *s : sources)
        cited = cited || comment.find(s) != std::string::npos;
      EXPECT_TRUE(cited) << name << ":" << lineNo << " cites no known source: " << line;
    }
  }
}
