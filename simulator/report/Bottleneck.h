// What bounded a run: the critical path split by resource (machine/
// CriticalPath.h) and each resource's utilisation over the run, so a report
// can say which limit a faster chip would have to lift and how close the
// others are ("why did 2x HBM bandwidth not help": the DMA engines were at
// 97%). Part of the report (docs/report.md, "bottleneck").
#pragma once

#include "isa/Program.h"
#include "simulator/config/ChipConfig.h"
#include "simulator/machine/Machine.h"

#include <string>
#include <vector>

namespace trnx {

class JsonWriter;

// One resource's use over the run.
struct ResourceUse {
  std::string name;          // pe, act, dve, pool, sp (the busiest stream of that engine), dma_engines, hbm
  double busy_seconds = 0;   // engines: the busiest stream's busy time; dma_engines: engine-seconds / engines;
                             // hbm: bytes / sustained bandwidth
  double utilization = 0;    // busy_seconds / run seconds
  std::string limit;         // the capacity it is measured against, in words with units
};

struct Bottleneck {
  std::string bound_by;       // the critical-path cause with the largest share (CriticalPath.h names)
  double bound_fraction = 0;  // that share of the run time
  double critical_path_seconds[kNumPathCauses] = {}; // per cause; they sum to the run time
  std::vector<ResourceUse> resources;                // pe, act, dve, pool, sp, dma_engines, hbm
  double hbm_capped_seconds = 0; // time HBM bandwidth capped the transfers in flight
  std::string summary;           // one line for people: bound, share, the top utilisations
};

Bottleneck analyzeBottleneck(const Program &program, const ChipConfig &chip, const RunStats &stats, double seconds);
void writeBottleneck(JsonWriter &w, const Bottleneck &b);

} // namespace trnx
