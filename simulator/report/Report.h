// The run report: totals, rates against peak, energy, and per-engine busy
// time. Schema in docs/report.md; units are in the field names.
#pragma once

#include "isa/Program.h"
#include "simulator/config/ChipConfig.h"
#include "simulator/energy/EnergyModel.h"
#include "simulator/machine/Machine.h"

#include <string>
#include <vector>

namespace trnx {

struct EngineUsage {
  std::string name;   // "pe", "act", "dve", "pool", "sp", "dma" or a stream "core0.q3"
  int streams = 0;    // streams aggregated
  double clock_hz = 0;
  double busy_cycles = 0;   // in this engine's clock; summed over streams
  double busy_fraction = 0; // busy time / (streams x run time)
  uint64_t instructions = 0;
};

// How much of the run engines kinds spent busy together (unions over streams).
struct Overlap {
  double pe_busy_seconds = 0;   // time at least one PE is busy
  double dma_busy_seconds = 0;  // time at least one DMA queue is busy
  double pe_dma_seconds = 0;    // time both are
};

struct Report {
  std::string program;
  std::string chip;
  std::string mode; // functional | timing | both
  int cores_used = 0;
  uint64_t instructions = 0;
  double pe_clock_hz = 0;
  double cycles = 0;   // run time in PE clock cycles
  double seconds = 0;
  double flops = 0;
  double achieved_flops_per_second = 0;
  double peak_flops_per_second = 0;
  double hbm_bytes = 0;
  double achieved_hbm_bytes_per_second = 0;
  double peak_hbm_bytes_per_second = 0;
  double energy_joules = 0;
  double average_power_watts = 0;
  EnergyBreakdown energy;
  ActionCounts actions;
  Overlap overlap;
  std::vector<EngineUsage> engines; // by engine kind
  std::vector<EngineUsage> streams; // by stream
};

Report buildReport(const Program &program, const ChipConfig &chip, const RunStats &stats,
                   const MachineOptions &options, const std::string &programName);
std::string reportToJson(const Report &report);
// Peak FLOP/s of the fastest matmul mode the program uses (bf16 if none).
double programPeakFlops(const Program &program, const ChipConfig &chip);

} // namespace trnx
