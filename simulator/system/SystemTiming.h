// Timing simulation of a multi-rank (SPMD) program on a system: one chip's
// machine (its engines, DMA queues and HBM) runs the program with every
// collective priced by the system model (docs/multichip.md "Simulation
// (timing)"): the algorithm the size thresholds choose, its per-step route
// latencies, then its bytes at the bottleneck link rate, shared with the
// other collectives in flight on the same links and drawing HBM bandwidth
// when its operands are in HBM. Every rank runs the same streams and timing
// does not depend on data, so the ranks are simulated once and replicated;
// the result says so, and says when the replica groups of a set sit on the
// topology unequally (each collective is then priced at its slowest group).
#pragma once

#include "isa/Program.h"
#include "simulator/Simulator.h"
#include "simulator/system/CollectiveCost.h"
#include "simulator/system/SystemConfig.h"
#include "simulator/system/Topology.h"

#include <memory>
#include <string>
#include <vector>

namespace trnx {

// The system model's price of one collective instruction (stream, pc).
struct CollectivePlan {
  uint32_t stream = 0, pc = 0;
  Opcode opcode = Opcode::AllReduce;
  int group_size = 1;
  double bytes = 0;              // the size the thresholds compare (CollectiveCost.h)
  CollectiveCost cost;           // closed form, slowest group of the set
  bool groups_differ = false;    // the set's groups have different closed forms
  int hbm_sides = 0;             // src and dst in HBM
  std::vector<uint32_t> links;   // links any group of the set uses
  std::vector<double> bytes_by_level; // link traversal bytes of one execution, whole system, per level (last: scale-out)
  double switch_bytes = 0;       // bytes x switches crossed, whole system, one execution
  uint64_t executions = 0;       // filled after the run
};

// Link classes of a system: one per topology level, then scale-out.
std::vector<std::string> linkClassNames(const SystemConfig &system);

// Prices every collective of the program on the system (program verified,
// ranks == system chips).
std::vector<CollectivePlan> planCollectives(const Program &program, const SystemConfig &system,
                                            const Topology &topology);

struct SystemPower {
  double chips_watts = 0;         // chips' energy without their link energy / seconds, all chips
  double links_switches_watts = 0; // chip links + switches + scale-out bytes / seconds
  double hosts_watts = 0;         // power.host_watts_per_chip x chips
  double network_watts = 0;       // power.network_watts_per_chip x chips
  double it_watts = 0;            // the four above
  double pue = 0;
  double facility_watts = 0;      // it_watts x pue
};

// Tokens the whole system produced in the run (trnx-sim --system --tokens):
// per second and per joule of the system's IT and facility power.
struct SystemWorkload {
  double tokens = 0;
  double tokens_per_second = 0, seconds_per_token = 0;
  double tokens_per_joule_it = 0, tokens_per_joule_facility = 0;
  double tokens_per_second_per_megawatt_it = 0, tokens_per_second_per_megawatt_facility = 0;
};

struct SystemSummary {
  std::string system;
  int chips = 0;
  int ranks_simulated = 0, ranks_replicated = 0;
  std::string replication_note;
  double seconds = 0;
  double collective_seconds = 0;            // collectives in flight on the simulated rank (union of intervals)
  double exposed_communication_seconds = 0; // collective latency and link time on the critical path
  std::vector<std::string> link_classes;
  std::vector<double> bytes_by_link_class;  // whole system
  double switch_bytes = 0;                  // bytes x switches crossed
  double chip_link_joules = 0;              // all chips, energy.link_byte_joules
  double switch_joules = 0;                 // system energy.switch_byte_joules
  double scale_out_joules = 0;              // system energy.scale_out_byte_joules
  SystemPower power;
  std::vector<std::string> power_sources;   // "key = value: source" lines
  std::vector<CollectivePlan> collectives;
  bool has_workload = false;
  SystemWorkload workload;
};

// Fills `s.workload` for `tokens` tokens made by the whole system in s.seconds.
void applySystemWorkload(SystemSummary &s, double tokens);

struct SystemTimingResult {
  SimulationResult rank; // the simulated rank (timing; no outputs)
  SystemSummary system;
};

// Timing run of `program` (ranks == system.chips()) on `system`. trace:
// keep the slices for a trace file.
SystemTimingResult simulateSystemTiming(const Program &program, const SystemConfig &system, bool trace,
                                        const std::string &programName = "", const RunLimits &limits = {});

std::string systemSummaryToJson(const SystemSummary &s);
// The text lines trnx-sim prints for the system section.
std::string systemSummaryText(const SystemSummary &s);
// Perfetto trace of the simulated rank plus collective and link-class tracks.
std::string systemTraceToJson(const Program &program, const SystemTimingResult &r, const ChipConfig &chip);

} // namespace trnx
