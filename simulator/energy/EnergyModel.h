// Energy = action counts x energy per action (chip config `energy.*`) +
// static power x time. First-cut model; docs/energy.md explains calibration.
#pragma once

#include "simulator/config/ChipConfig.h"
#include "simulator/timing/InstructionCost.h"

namespace trnx {

struct EnergyBreakdown {
  double pe_joules = 0, act_joules = 0, dve_joules = 0, pool_joules = 0;
  double sbuf_joules = 0, psum_joules = 0, hbm_joules = 0, static_joules = 0;
  double dynamic() const {
    return pe_joules + act_joules + dve_joules + pool_joules + sbuf_joules + psum_joules + hbm_joules;
  }
  double total() const { return dynamic() + static_joules; }
};

EnergyBreakdown computeEnergy(const ActionCounts &actions, double seconds, const ChipConfig &chip);

} // namespace trnx
