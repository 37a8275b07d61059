// The event-driven machine: one sequencer per stream, semaphores and barriers
// per core and chip, the shared DMA/HBM model, and optional functional
// execution at each instruction's start. In functional-only mode every cost
// is zero, which still yields an order the semaphores allow.
#pragma once

#include "isa/Program.h"
#include "simulator/config/ChipConfig.h"
#include "simulator/functional/FunctionalExecutor.h"
#include "simulator/machine/CriticalPath.h"
#include "simulator/machine/ResultLatency.h"
#include "simulator/machine/RunLimits.h"
#include "simulator/timing/DmaModel.h"
#include "simulator/timing/InstructionCost.h"

#include <algorithm>
#include <memory>
#include <vector>

namespace trnx {

template <typename T> class EventHeap;
class PsumBanks;

// How a collective instruction runs in a timing run (the system model,
// simulator/system/SystemTiming.h, supplies it): the per-step latencies, then
// `link_bytes` at up to `link_bytes_per_second`, shared with the other
// collectives in flight on any of `links` and, with operands in HBM, drawing
// link rate x hbm_sides from the chip's HBM bandwidth.
struct CollectiveTiming {
  double latency_seconds = 0;
  double link_bytes = 0;
  double link_bytes_per_second = 0;
  int hbm_sides = 0;
  const std::vector<uint32_t> *links = nullptr; // topology links it loads (shared)
  double chip_link_bytes = 0; // bytes one chip's scale-up links carry (energy: energy.link_byte_joules)
};
class CollectiveTimer {
public:
  virtual ~CollectiveTimer() = default;
  virtual CollectiveTiming timing(uint32_t stream, uint32_t pc) const = 0;
};

struct MachineOptions {
  bool functional = true;
  bool timing = true;
  bool trace = false;
  const CollectiveTimer *collectives = nullptr; // system timing runs only
  RunLimits limits; // instruction, simulated-time and host-memory limits (RunLimits.h)
};

// One collective as it ran: issued, its data started moving (after the step
// latencies) and it completed.
struct CollectiveSlice {
  uint32_t stream, pc;
  SimTime issue, start, end;
};

// A stream's busy time as merged [start, end) intervals (adjacent ones joined).
struct Activity {
  std::vector<std::pair<SimTime, SimTime>> intervals;
  void add(SimTime start, SimTime end) {
    if (end <= start)
      return;
    if (!intervals.empty() && intervals.back().second >= start)
      intervals.back().second = std::max(intervals.back().second, end);
    else
      intervals.emplace_back(start, end);
  }
};

struct StreamStats {
  uint16_t core = 0;
  EngineId engine;
  SimTime busy = 0;
  uint64_t instructions = 0;
  ActionCounts actions;
  Activity activity; // PE and DMA streams only (the overlap metric)
  SimTime psumConflictStall = 0; // waiting for a PSUM bank another engine used
  SimTime portConflictStall = 0; // waiting for an SBUF/PSUM port another engine held (engine_port_exclusion)
  SimTime dependencyWait = 0;    // blocked on a semaphore, at a barrier or on its own engine's result
};

// One executed instruction, for traces and per-op attribution.
struct TraceSlice {
  uint32_t stream;
  uint32_t pc;
  SimTime start;
  SimTime duration;
};

// A traced blocked interval: an instruction that waited on a semaphore (or at
// a barrier) from `start` until `end`, and the instruction whose signal (or
// barrier arrival) released it.
struct TraceWait {
  uint32_t stream, pc;          // the waiting instruction
  SimTime start, end;
  bool barrier = false;
  uint16_t sem = 0;             // semaphore waits: sN >= need
  uint64_t need = 0;
  uint32_t bySignaller = 0xffffffff; // signalling stream (0xffffffff: unknown)
  uint32_t byPc = 0;
  SimTime bySliceStart = 0;     // when the signalling instruction started
};

// HBM bandwidth sampled whenever the DMA rates change.
struct RateSample {
  SimTime time;
  double hbmBytesPerSecond;
};

struct RunStats {
  SimTime end = 0;
  std::vector<StreamStats> streams;
  ActionCounts total;
  double hbmBytes = 0; // payload bytes through HBM (both directions)
  std::vector<TraceSlice> slices;
  std::vector<TraceWait> waits; // traced runs: every blocked interval
  std::vector<RateSample> hbmRate;
  CriticalPath criticalPath;    // of whatever ended last; sums to `end` (timing runs)
  double dmaEngineSeconds = 0;  // DMA engines x seconds busy, all cores
  double hbmCappedSeconds = 0;  // time HBM bandwidth capped the transfers
  std::vector<CollectiveSlice> collectives; // timing runs with collectives
};

class Machine {
public:
  Machine(const Program &program, const ChipConfig &chip, const MachineOptions &options,
          DeviceMemory *memory);
  ~Machine();
  // Runs to completion; throws Error on deadlock or a run-time fault.
  RunStats run();

private:
  struct StaticCost {
    SimTime busy = 0;
    SimTime latency = 0;
    bool isDma = false;
    bool psum = false;       // subject to PSUM bank conflicts
    bool psumLooped = false; // its PSUM banks move with loop indices
    uint64_t psumBanks = 0;  // else the banks it uses
    uint64_t ports = 0;      // engine_port_exclusion: kSbufPort / kPsumPort it holds
    DmaShape dma;
    ActionCounts actions;
    bool collective = false;
    SimTime collectiveLatency = 0;
    CollectiveTiming coll;
    OperandBoxes operands; // same-engine read-after-write (ResultLatency.h)
  };
  struct EngineRun;
  struct Event;
  struct Waiter {
    uint32_t engine;
    uint64_t need;
  };

  void push(SimTime time, uint8_t kind, uint32_t a, uint16_t payload = 0, uint32_t path = kNoPath);
  // A signal's critical path: `from` plus `latency` of dependency latency.
  uint32_t signalPath(const CriticalPath &from, SimTime latency);
  // Traced runs: remembers which instruction sent the signal of `path`.
  uint32_t traceSignaller(uint32_t path, uint32_t stream, uint32_t pc, SimTime start);
  void noteEnd(SimTime t, const CriticalPath &path);
  bool nothingPendingBefore(SimTime t) const;
  void recordSlice(const TraceSlice &slice);
  void issue(uint32_t e, SimTime now);
  void signal(uint16_t core, uint16_t sem, uint32_t increment, SimTime now, uint32_t path);
  void completeDma(const DmaCompletion &done, SimTime now);
  void dmaChanged(SimTime now); // after a DMA start or completion
  bool arriveAtBarrier(uint32_t e, SimTime now);
  [[noreturn]] void deadlock() const;
  SimTime toTime(double cycles, double clockHz) const;

  const Program &program_;
  const ChipConfig &chip_;
  MachineOptions options_;
  std::unique_ptr<FunctionalExecutor> executor_;
  DmaModel dma_;
  std::vector<std::vector<StaticCost>> costs_; // [stream][pc]
  std::vector<EngineRun> engines_;
  std::vector<std::vector<uint64_t>> semaphores_;            // [core][sem]
  std::vector<std::vector<std::vector<Waiter>>> waiters_;     // [core][sem]
  std::vector<std::vector<uint32_t>> coreBarrier_;            // [core] arrived engines
  std::vector<uint32_t> chipBarrier_;
  std::vector<uint32_t> streamsPerCore_;
  std::unique_ptr<EventHeap<Event>> heap_;
  std::unique_ptr<PsumBanks> psumBanks_; // when the chip models bank conflicts
  std::unique_ptr<PsumBanks> ports_;     // engine_port_exclusion: two shared "banks", the SBUF and PSUM ports
  SimTime semaphoreLatency_ = 0;
  std::vector<uint32_t> woken_; // scratch of signal()
  uint64_t sequence_ = 0;
  SimTime dmaNext_ = -1; // next DMA completion, -1 if none in flight
  SimTime busyEnd_ = 0;  // latest end of an issued instruction's busy time
  static constexpr uint32_t kNoPath = 0xffffffff;
  std::vector<CriticalPath> paths_;  // critical paths of signals in flight
  struct Signaller {
    uint32_t stream = 0xffffffff, pc = 0;
    SimTime start = 0;
  };
  std::vector<Signaller> signallers_; // traced runs: parallel to paths_
  std::vector<uint32_t> freePaths_;
  SimTime endTime_ = -1;             // latest end seen, and the path leading to it
  CriticalPath endPath_;
  RunStats stats_;
  RunGuard guard_;
};

} // namespace trnx
