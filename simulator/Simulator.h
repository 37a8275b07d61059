// The simulator's front door: verify a program against a chip, load inputs,
// run it functionally and/or with timing, and collect outputs and the report.
// trnx-sim and the Python bindings both call this.
#pragma once

#include "isa/Program.h"
#include "simulator/config/ChipConfig.h"
#include "simulator/io/Npy.h"
#include "simulator/machine/Machine.h"
#include "simulator/report/Report.h"

#include <map>
#include <string>

namespace trnx {

struct SimulationResult {
  RunStats stats;
  Report report;
  std::map<std::string, HostArray> outputs; // by tensor name (functional runs)
};

// attributeOps: fill Report::ops (time and energy by source op). It records
// every executed instruction, which costs memory and time in long runs (about
// 3x slower timing-only simulation), so sweeps leave it off.
SimulationResult simulate(const Program &program, const ChipConfig &chip,
                          const std::map<std::string, HostArray> &inputs,
                          const MachineOptions &options, const std::string &programName = "",
                          bool attributeOps = false);

} // namespace trnx
