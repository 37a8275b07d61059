// Energy = action counts x energy per action (chip config `energy.*`) +
// static power x time, at three levels: the chip, the node (plus the chip's
// share of host and network power) and the facility (x PUE). Also the energy
// of each instruction and a chip power timeline for traces. docs/energy.md
// explains the model and its calibration.
#pragma once

#include "isa/Program.h"
#include "simulator/config/ChipConfig.h"
#include "simulator/machine/Machine.h"
#include "simulator/timing/InstructionCost.h"

#include <vector>

namespace trnx {

// Chip energy by where it is spent, in joules.
struct EnergyBreakdown {
  double pe_joules = 0, act_joules = 0, dve_joules = 0, pool_joules = 0;
  double sbuf_joules = 0, psum_joules = 0, hbm_joules = 0, link_joules = 0;
  double static_joules = 0;
  double dynamic() const {
    return pe_joules + act_joules + dve_joules + pool_joules + sbuf_joules + psum_joules + hbm_joules +
           link_joules;
  }
  double total() const { return dynamic() + static_joules; }
};

// A run's energy at the chip, node and facility boundaries.
struct EnergyLevels {
  EnergyBreakdown chip;
  double seconds = 0;
  double chip_joules = 0;     // chip.total()
  double host_joules = 0;     // power.host_watts_per_chip x seconds
  double network_joules = 0;  // power.network_watts_per_chip x seconds
  double node_joules = 0;     // chip + host + network (IT energy)
  double facility_joules = 0; // node x PUE
  // Average power over the run at each boundary (0 when no time passed).
  double chipWatts() const { return seconds > 0 ? chip_joules / seconds : 0; }
  double nodeWatts() const { return seconds > 0 ? node_joules / seconds : 0; }
  double facilityWatts() const { return seconds > 0 ? facility_joules / seconds : 0; }
};

// Dynamic energy of some actions (static_joules is 0).
EnergyBreakdown dynamicEnergy(const ActionCounts &actions, const EnergyConfig &energy);
// Chip energy of a run: dynamic energy plus static power x seconds.
EnergyBreakdown computeEnergy(const ActionCounts &actions, double seconds, const ChipConfig &chip);
EnergyLevels computeEnergyLevels(const ActionCounts &actions, double seconds, const ChipConfig &chip);
// The provisioned all-in power of one chip, as InferenceMAX counts it: (TDP +
// host and network share) x PUE, in watts.
double provisionedFacilityWatts(const ChipConfig &chip);

// Dynamic joules of one execution of each instruction, [stream][pc].
std::vector<std::vector<double>> instructionEnergy(const Program &program, const ChipConfig &chip);

// Chip power over time from the run's instruction slices: `bins` equal
// intervals over the run, each instruction's dynamic energy spread evenly over
// its busy interval, plus static power.
struct PowerSample {
  double start_seconds = 0;
  double chip_watts = 0;
};
std::vector<PowerSample> powerTimeline(const Program &program, const ChipConfig &chip, const RunStats &stats,
                                       int bins = 256);

} // namespace trnx
