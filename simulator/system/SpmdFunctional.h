// Functional simulation of a multi-rank (SPMD) program: every rank runs the
// program's streams on its own chip memory (HBM, SBUF, PSUM) in zero time, in
// an order that its semaphores, barriers and collectives allow, and the
// collectives move and reduce data exactly (docs/isa.md semantics). Timing is
// not modelled here.
#pragma once

#include "isa/Program.h"
#include "simulator/config/ChipConfig.h"
#include "simulator/io/Npy.h"
#include "simulator/machine/RunLimits.h"
#include "simulator/memory/DeviceMemory.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace trnx {

class SpmdFunctional {
public:
  // The program must be verified; every rank starts with its tensor data
  // (.data, or .rank_data for that rank).
  // limits: instructions (all ranks) and host memory (RunLimits.h).
  SpmdFunctional(const Program &program, const ChipConfig &chip, const RunLimits &limits = {});
  ~SpmdFunctional();
  int ranks() const { return static_cast<int>(memories_.size()); }
  DeviceMemory &memory(int rank) { return *memories_[rank]; }
  // Runs every rank to completion; throws Error on a deadlock (naming the
  // blocked instructions of each rank) or a run-time fault.
  void run();
  uint64_t instructionsExecuted() const { return executed_; }

private:
  struct Rank;
  struct StreamRun;
  bool step(int rank, size_t stream);
  bool tryCollective(int rank, size_t stream);
  void executeCollective(const std::vector<int> &members, size_t stream);
  void retire(int rank, size_t stream);
  [[noreturn]] void deadlock() const;

  const Program &program_;
  std::vector<std::unique_ptr<DeviceMemory>> memories_;
  std::vector<Rank> state_;
  uint64_t executed_ = 0;
  RunGuard guard_;
};

// Verifies the program, gives every rank the same inputs and returns each
// rank's outputs (index = rank).
std::vector<std::map<std::string, HostArray>> simulateSpmdFunctional(
    const Program &program, const ChipConfig &chip, const std::map<std::string, HostArray> &inputs,
    const RunLimits &limits = {});

} // namespace trnx
