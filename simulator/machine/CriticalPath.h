// The critical path of a run, split by the resource that held it up. Every
// engine carries the path that led to the moment it became free; an
// instruction adds its busy time under its engine, a DMA its issue overhead
// and its transfer time under the limit that set its rate (DMA engines or
// HBM bandwidth), a semaphore hand-off its latency; a waiting engine takes
// over the path of the signal that released it. The path of whatever ends
// last sums to the run time, so its largest part names what bounded the run.
#pragma once

#include <array>
#include <cstdint>

namespace trnx {

using SimTime = int64_t; // femtoseconds (also DmaModel.h)

enum class PathCause : uint8_t {
  Pe,        // PE (tensor engine) busy
  Act,       // ACT (scalar engine) busy
  Dve,       // DVE (vector engine) busy
  Pool,      // GpSimd busy
  Sp,        // sync engine busy (control)
  DmaIssue,  // DMA queue issue overhead (dma.issue_overhead_seconds)
  DmaEngines,// transfer time at the DMA engines' rate, or waiting for a free DMA engine
  Hbm,       // transfer time while HBM bandwidth capped the rate
  Latency,   // dependencies: semaphore and result latencies, HBM access latency
  Conflict,  // waiting for a PSUM bank or an engine port another engine held
  Link,      // collectives: per-step latencies and link transfer time (system runs)
  Count
};
constexpr int kNumPathCauses = static_cast<int>(PathCause::Count);

// Report names of the causes (docs/report.md).
constexpr const char *pathCauseName(PathCause c) {
  switch (c) {
  case PathCause::Pe: return "pe";
  case PathCause::Act: return "act";
  case PathCause::Dve: return "dve";
  case PathCause::Pool: return "pool";
  case PathCause::Sp: return "sp";
  case PathCause::DmaIssue: return "dma_issue";
  case PathCause::DmaEngines: return "dma_engines";
  case PathCause::Hbm: return "hbm";
  case PathCause::Latency: return "latency";
  case PathCause::Conflict: return "conflict";
  case PathCause::Link: return "link";
  case PathCause::Count: break;
  }
  return "?";
}

struct CriticalPath {
  std::array<SimTime, kNumPathCauses> time{};

  void add(PathCause c, SimTime t) { time[static_cast<int>(c)] += t; }
  SimTime total() const {
    SimTime s = 0;
    for (SimTime t : time)
      s += t;
    return s;
  }
  // Extends the path to `now` (a wait with no other explanation: `cause`).
  void catchUp(SimTime now, PathCause cause) {
    const SimTime gap = now - total();
    if (gap > 0)
      add(cause, gap);
  }
};

} // namespace trnx
