// The run report: totals, rates against peak, energy, and per-engine busy
// time. Schema in docs/report.md; units are in the field names.
#pragma once

#include "isa/Program.h"
#include "simulator/config/ChipConfig.h"
#include "simulator/energy/EnergyModel.h"
#include "simulator/machine/Machine.h"
#include "simulator/report/Bottleneck.h"

#include <string>
#include <vector>

namespace trnx {

// A cycle count as the report writes it: a whole number of cycles of its
// clock, rounded to nearest (the exact time is in the seconds fields).
int64_t wholeCycles(double cycles);

struct EngineUsage {
  std::string name;   // "pe", "act", "dve", "pool", "sp", "dma" or a stream "core0.q3"
  int streams = 0;    // streams aggregated
  double clock_hz = 0;
  double busy_cycles = 0;   // in this engine's clock; summed over streams (exact; the JSON rounds it)
  double busy_seconds = 0;  // the same time in seconds, summed over streams
  double busy_fraction = 0; // busy time / (streams x run time)
  uint64_t instructions = 0;
  double conflict_stall_seconds = 0; // waiting for a PSUM bank or an engine port; summed over streams
  double dependency_wait_seconds = 0; // blocked on a semaphore or at a barrier; summed over streams
};

// How much of the run engines kinds spent busy together (unions over streams).
struct Overlap {
  double pe_busy_seconds = 0;   // time at least one PE is busy
  double dma_busy_seconds = 0;  // time at least one DMA queue is busy
  double pe_dma_seconds = 0;    // time both are
};

// Time and energy of one source op (a model op location), as a profiler
// attributes them: every executed instruction counts for the op it came from.
struct OpUsage {
  std::string op;           // op name, e.g. "tosa.matmul"; "(none)" without a location
  std::string loc;          // "file:line:column", empty without a location
  uint64_t instructions = 0;
  double busy_cycles[kNumEngineKinds] = {}; // per engine kind, that engine's clock, summed over streams
  double busy_seconds = 0;  // summed over all streams
  double time_share = 0;    // busy_seconds / all ops' busy_seconds
  double dynamic_joules = 0;
  double energy_joules = 0; // dynamic + the run's static energy in proportion to time_share
  double energy_share = 0;  // energy_joules / chip energy
};

// Throughput and efficiency of a run that produced `tokens` tokens.
struct Workload {
  double tokens = 0;
  double tokens_per_second = 0;
  double seconds_per_token = 0;
  double tokens_per_joule_chip = 0, tokens_per_joule_node = 0, tokens_per_joule_facility = 0;
  // tokens/s per MW = tokens/J x 1e6 at each boundary; "provisioned" divides by
  // (TDP + host + network) x PUE instead of the simulated power.
  double tokens_per_second_per_megawatt_chip = 0, tokens_per_second_per_megawatt_node = 0,
         tokens_per_second_per_megawatt_facility = 0, tokens_per_second_per_megawatt_provisioned = 0;
};

struct Report {
  std::string program;
  std::string chip;
  std::string mode; // functional | timing | both
  int cores_used = 0;
  uint64_t instructions = 0;
  double pe_clock_hz = 0;
  double cycles = 0;   // run time in PE clock cycles (exact; the JSON writes wholeCycles of it)
  double seconds = 0;
  double flops = 0;
  double achieved_flops_per_second = 0;
  double peak_flops_per_second = 0;
  double hbm_bytes = 0;
  double achieved_hbm_bytes_per_second = 0;
  double peak_hbm_bytes_per_second = 0;
  double energy_joules = 0;       // chip level (= levels.chip_joules)
  double average_power_watts = 0; // chip level
  EnergyBreakdown energy;         // chip level
  EnergyLevels levels;
  double tdp_watts = 0, pue = 0;
  double provisioned_facility_watts = 0;
  ActionCounts actions;
  Overlap overlap;
  std::vector<EngineUsage> engines; // by engine kind
  std::vector<EngineUsage> streams; // by stream
  std::vector<OpUsage> ops;         // by source op, most busy time first (runs that recorded slices)
  bool has_bottleneck = false;      // timing runs
  Bottleneck bottleneck;
  bool has_workload = false;
  Workload workload;
};

Report buildReport(const Program &program, const ChipConfig &chip, const RunStats &stats,
                   const MachineOptions &options, const std::string &programName);
// Adds the workload section: the run produced `tokens` tokens (> 0).
void applyWorkload(Report &report, double tokens);
std::string reportToJson(const Report &report);
// Peak FLOP/s of the fastest matmul mode the program uses (bf16 if none).
double programPeakFlops(const Program &program, const ChipConfig &chip);

} // namespace trnx
