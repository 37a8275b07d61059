// Bandwidth of in-flight DMA transfers (a fluid model). A transfer is split
// into one descriptor stream per row (partition) spread over the core's DMA
// engines, and each engine works through its ring in order (trainium.md
// 1.5, G1: "128x512 FP32 -> 16 transfers x 8 buffers"). So a core serves its
// transfers oldest first: each takes min(rows, engines still free) engines
// and delivers engines * engine_bytes_per_second * efficiency. HBM traffic of
// all cores is capped at hbm.bytes_per_second * hbm.max_utilization (scaled
// down proportionally when exceeded). Rates change only when a transfer
// starts or ends, so achieved bandwidth never exceeds either cap.
#pragma once

#include "simulator/config/ChipConfig.h"
#include "simulator/timing/InstructionCost.h"

#include <cstdint>
#include <vector>

namespace trnx {

using SimTime = int64_t; // femtoseconds
constexpr double kFemtosecondsPerSecond = 1e15;

class DmaModel {
public:
  explicit DmaModel(const ChipConfig &chip);

  // Adds a transfer at `now`; `owner` is returned when it completes.
  void start(SimTime now, int core, const DmaShape &shape, uint32_t owner);
  // Moves time to `now`; returns the owners of transfers finished by then.
  std::vector<uint32_t> advance(SimTime now);
  // Earliest completion among active transfers, or -1 if none.
  SimTime nextCompletion() const;
  size_t active() const { return transfers_.size(); }

  // Current aggregate HBM payload rate, bytes/s (for trace counters).
  double hbmRate() const;

private:
  struct Transfer {
    int core;
    double remaining; // payload bytes
    double efficiency;
    int hbmSides;
    int rows;
    double rate = 0;  // payload bytes per second
    uint32_t owner;
  };
  void recomputeRates();
  void progress(SimTime now);

  const ChipConfig &chip_;
  std::vector<Transfer> transfers_;
  std::vector<int> freeEngines_; // scratch of recomputeRates
  SimTime last_ = 0;
};

} // namespace trnx
