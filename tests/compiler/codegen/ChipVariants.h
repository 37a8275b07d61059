// Chip variants the kernel generators must handle with correct numerics
// (issue: the chip description drives the compiler): array shapes, partition
// counts, SBUF and PSUM sizes, cores, DMA queues, moving width and all three
// dataflows, each a trn3 preset with a few keys changed. Kernel tests
// instantiate their architecture cases over this list.
#pragma once

#include "simulator/config/ChipConfig.h"
#include "simulator/config/ConfigLoader.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace trnx::cg::test {

struct ChipVariant {
  std::string name;
  std::function<void(ChipConfig &)> apply;

  ChipConfig chip() const {
    ChipConfig c = loadChip("trn3");
    apply(c);
    c.name = "trn3_" + name;
    return c;
  }
};

inline void setArray(ChipConfig &c, int rows, int cols) {
  c.pe_array.rows = rows;
  c.pe_array.cols = cols;
  c.pe_array.fill_drain_cycles = rows + cols - 2;
}

inline void setPsumBanks(ChipConfig &c, int banks) {
  c.psum_banks = banks;
  c.psum_bytes_per_partition = 2048.0 * banks; // 2 KiB banks, as trn3's
}

inline const std::vector<ChipVariant> &chipVariants() {
  static const std::vector<ChipVariant> v = {
      {"array32x32", [](ChipConfig &c) { setArray(c, 32, 32); }},
      {"array64x64", [](ChipConfig &c) { setArray(c, 64, 64); }},
      {"array128x64", [](ChipConfig &c) { setArray(c, 128, 64); }},
      {"array64x128", [](ChipConfig &c) { setArray(c, 64, 128); }},
      {"array256x256", [](ChipConfig &c) { c.partitions = 256; setArray(c, 256, 256); }},
      {"partitions64", [](ChipConfig &c) { c.partitions = 64; setArray(c, 64, 64); }},
      {"partitions256", [](ChipConfig &c) { c.partitions = 256; }},
      {"sbuf64k", [](ChipConfig &c) { c.sbuf_bytes_per_partition = 65536; }},
      {"sbuf1m", [](ChipConfig &c) { c.sbuf_bytes_per_partition = 1048576; }},
      {"psum2banks", [](ChipConfig &c) { setPsumBanks(c, 2); }},
      {"psum16banks", [](ChipConfig &c) { setPsumBanks(c, 16); }},
      {"cores1", [](ChipConfig &c) { c.cores = 1; }},
      {"cores16", [](ChipConfig &c) { c.cores = 16; }},
      {"queues4", [](ChipConfig &c) { c.dma_queues_per_core = 4; }},
      {"moving256", [](ChipConfig &c) { c.pe_array.moving_free_max = 256; }},
      {"dataflow_is", [](ChipConfig &c) { c.pe_array.dataflow = "is"; }},
      {"dataflow_os", [](ChipConfig &c) { c.pe_array.dataflow = "os"; }},
      {"dataflow_os_array64", [](ChipConfig &c) { c.pe_array.dataflow = "os"; setArray(c, 64, 64); }},
  };
  return v;
}

inline std::string variantName(const ::testing::TestParamInfo<ChipVariant> &info) { return info.param.name; }

} // namespace trnx::cg::test
