// Bandwidth of in-flight DMA transfers (a fluid model). A transfer is split
// into one descriptor stream per row (partition) spread over the core's DMA
// engines, and each engine works through its ring in order (trainium.md
// 1.5, G1: "128x512 FP32 -> 16 transfers x 8 buffers"). So a core serves its
// transfers oldest first: each takes min(rows, engines still free) engines
// and delivers engines * engine_bytes_per_second * efficiency. HBM traffic of
// all cores is capped at hbm.bytes_per_second * hbm.max_utilization (scaled
// down proportionally when exceeded). Rates change only when a transfer
// starts or ends, so achieved bandwidth never exceeds either cap. Each
// transfer's time is split by what set its rate (engines or HBM), for the
// run's critical path (machine/CriticalPath.h).
#pragma once

#include "simulator/config/ChipConfig.h"
#include "simulator/timing/InstructionCost.h"

#include <cstdint>
#include <vector>

namespace trnx {

using SimTime = int64_t; // femtoseconds
constexpr double kFemtosecondsPerSecond = 1e15;
// Longest single step of simulated time (one instruction's cost, one wait for
// a DMA completion): 2^60 fs, about 1153 s. With the run limited to
// RunLimits::kMaxSimulatedSecondsLimit, sums of a few steps stay inside int64.
constexpr SimTime kMaxSimStep = SimTime(1) << 60;

// A finished transfer and how its time divides by what limited its rate.
struct DmaCompletion {
  uint32_t owner;
  SimTime engineTime; // at the DMA engines' rate, or waiting for a free engine
  SimTime hbmTime;    // while the chip's HBM bandwidth capped the rate
};

class DmaModel {
public:
  explicit DmaModel(const ChipConfig &chip);

  // Adds a transfer at `now`; `owner` is returned when it completes.
  void start(SimTime now, int core, const DmaShape &shape, uint32_t owner);
  // Adds a collective's link transfer: `bytes` at up to `linkRate`, divided
  // by the most collectives in flight on any one of its `links`; it uses no
  // DMA engine (the CC-Cores drive it) but draws rate x hbmSides from HBM.
  // Its completion's engineTime is the link-limited time.
  void startCollective(SimTime now, int core, double bytes, double linkRate, int hbmSides,
                       const std::vector<uint32_t> *links, uint32_t owner);
  // Moves time to `now`; returns the transfers finished by then.
  std::vector<DmaCompletion> advance(SimTime now);
  // Earliest completion among active transfers, or -1 if none.
  SimTime nextCompletion() const;
  size_t active() const { return transfers_.size(); }

  // Current aggregate HBM payload rate, bytes/s (for trace counters).
  double hbmRate() const;
  // DMA engine time used so far (engines x seconds, all cores), and the time
  // during which HBM bandwidth capped the transfers.
  double engineSeconds() const { return engineSeconds_; }
  double hbmCappedSeconds() const { return hbmCappedSeconds_; }

private:
  struct Transfer {
    int core;
    double remaining; // payload bytes
    double efficiency;
    int hbmSides;
    int rows;
    double rate = 0;  // payload bytes per second
    uint32_t owner;
    int engines = 0;        // DMA engines serving it
    bool hbmCapped = false; // its rate was scaled down to the HBM cap
    SimTime engineTime = 0, hbmTime = 0;
    bool collective = false;
    double linkRate = 0;
    const std::vector<uint32_t> *links = nullptr;
  };
  void recomputeRates();
  void progress(SimTime now);

  const ChipConfig &chip_;
  std::vector<Transfer> transfers_;
  std::vector<int> freeEngines_; // scratch of recomputeRates
  std::vector<int> linkUse_;     // scratch: collectives in flight per link
  int collectives_ = 0;          // collectives in flight
  SimTime last_ = 0;
  bool capped_ = false; // HBM bandwidth caps the current rates
  double engineSeconds_ = 0, hbmCappedSeconds_ = 0;
};

} // namespace trnx
