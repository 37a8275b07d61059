// Builds the report from run statistics and writes it as JSON.
#include "simulator/report/Report.h"

#include "isa/Version.h"

#include "simulator/report/Json.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace trnx {

namespace {

using Intervals = std::vector<std::pair<SimTime, SimTime>>;

Intervals unite(Intervals all) {
  std::sort(all.begin(), all.end());
  Intervals out;
  for (const auto &iv : all) {
    if (!out.empty() && iv.first <= out.back().second)
      out.back().second = std::max(out.back().second, iv.second);
    else
      out.push_back(iv);
  }
  return out;
}

SimTime length(const Intervals &v) {
  SimTime t = 0;
  for (const auto &iv : v)
    t += iv.second - iv.first;
  return t;
}

SimTime intersection(const Intervals &a, const Intervals &b) {
  SimTime t = 0;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    SimTime lo = std::max(a[i].first, b[j].first), hi = std::min(a[i].second, b[j].second);
    if (hi > lo)
      t += hi - lo;
    (a[i].second < b[j].second) ? ++i : ++j;
  }
  return t;
}

Overlap computeOverlap(const RunStats &stats) {
  Intervals pe, dma;
  for (const StreamStats &st : stats.streams) {
    Intervals &target = st.engine.kind == EngineKind::PE ? pe : dma;
    if (st.engine.kind == EngineKind::PE || st.engine.kind == EngineKind::DMA)
      target.insert(target.end(), st.activity.intervals.begin(), st.activity.intervals.end());
  }
  pe = unite(std::move(pe));
  dma = unite(std::move(dma));
  Overlap o;
  o.pe_busy_seconds = static_cast<double>(length(pe)) / kFemtosecondsPerSecond;
  o.dma_busy_seconds = static_cast<double>(length(dma)) / kFemtosecondsPerSecond;
  o.pe_dma_seconds = static_cast<double>(intersection(pe, dma)) / kFemtosecondsPerSecond;
  return o;
}

// Groups executed instructions by source location. Busy time per slice is
// what the machine charged the stream; dynamic energy is per instruction.
std::vector<OpUsage> attributeOps(const Program &program, const ChipConfig &chip, const RunStats &stats,
                                  double chipJoules, double staticJoules) {
  const std::vector<std::vector<double>> energy = instructionEnergy(program, chip);
  const uint32_t noLoc = static_cast<uint32_t>(program.locs.size());
  std::vector<OpUsage> byLoc(program.locs.size() + 1);
  for (const TraceSlice &slice : stats.slices) {
    const Stream &st = program.streams[slice.stream];
    const Instruction &inst = st.code[slice.pc];
    OpUsage &u = byLoc[inst.loc < noLoc ? inst.loc : noLoc];
    const int kind = static_cast<int>(st.engine.kind);
    const double seconds = static_cast<double>(slice.duration) / kFemtosecondsPerSecond;
    ++u.instructions;
    u.busy_seconds += seconds;
    u.busy_cycles[kind] += seconds * chip.engine(kind).clock_hz;
    u.dynamic_joules += energy[slice.stream][slice.pc];
  }
  // Locations that name the same op at the same place are one op.
  std::map<std::pair<std::string, std::string>, OpUsage> merged;
  for (uint32_t i = 0; i <= noLoc; ++i) {
    const OpUsage &u = byLoc[i];
    if (u.instructions == 0)
      continue;
    std::string op = "(none)", loc;
    if (i < noLoc) {
      const SourceLoc &l = program.locs[i];
      op = l.op.empty() ? "(unnamed)" : l.op;
      loc = l.file + ":" + std::to_string(l.line) + ":" + std::to_string(l.column);
    }
    OpUsage &m = merged[{op, loc}];
    m.op = op;
    m.loc = loc;
    m.instructions += u.instructions;
    m.busy_seconds += u.busy_seconds;
    for (int k = 0; k < kNumEngineKinds; ++k)
      m.busy_cycles[k] += u.busy_cycles[k];
    m.dynamic_joules += u.dynamic_joules;
  }
  double busyTotal = 0;
  for (const auto &kv : merged)
    busyTotal += kv.second.busy_seconds;
  std::vector<OpUsage> ops;
  for (auto &kv : merged) {
    OpUsage u = kv.second;
    u.time_share = busyTotal > 0 ? u.busy_seconds / busyTotal : 0;
    u.energy_joules = u.dynamic_joules + staticJoules * u.time_share;
    u.energy_share = chipJoules > 0 ? u.energy_joules / chipJoules : 0;
    ops.push_back(u);
  }
  std::stable_sort(ops.begin(), ops.end(), [](const OpUsage &a, const OpUsage &b) {
    return a.busy_seconds != b.busy_seconds ? a.busy_seconds > b.busy_seconds
                                            : a.dynamic_joules > b.dynamic_joules;
  });
  return ops;
}

} // namespace

int64_t wholeCycles(double cycles) { return static_cast<int64_t>(std::llround(cycles)); }

double programPeakFlops(const Program &program, const ChipConfig &chip) {
  double peak = 0;
  for (const Stream &s : program.streams)
    for (const Instruction &inst : s.code)
      if (inst.opcode == Opcode::Matmul) {
        const DType in = (inst.ap[1].dtype == DType::FP32 || inst.ap[2].dtype == DType::FP32)
                             ? DType::FP32
                             : inst.ap[1].dtype;
        peak = std::max(peak, chip.peakFlopsPerSecond(in, inst.enums[0] == 1));
      } else if (inst.opcode == Opcode::MatmulMx) { // MX peak of its (slower) element format
        peak = std::max(peak, chip.mxPeakFlopsPerSecond(inst.ap[1].dtype, inst.ap[2].dtype));
      }
  return peak > 0 ? peak : chip.peakFlopsPerSecond(DType::BF16);
}

Report buildReport(const Program &program, const ChipConfig &chip, const RunStats &stats,
                   const MachineOptions &options, const std::string &programName) {
  Report r;
  r.program = programName;
  r.chip = chip.name;
  r.mode = options.functional && options.timing ? "both" : options.timing ? "timing" : "functional";
  std::set<uint16_t> cores;
  for (const Stream &s : program.streams)
    cores.insert(s.core);
  r.cores_used = static_cast<int>(cores.size());
  r.pe_clock_hz = chip.pe.clock_hz;
  r.seconds = static_cast<double>(stats.end) / kFemtosecondsPerSecond;
  r.cycles = r.seconds * chip.pe.clock_hz;
  r.actions = stats.total;
  r.flops = stats.total.flops();
  r.peak_flops_per_second = programPeakFlops(program, chip);
  r.hbm_bytes = stats.hbmBytes;
  r.peak_hbm_bytes_per_second = chip.hbm.bytes_per_second;
  if (r.seconds > 0) {
    r.achieved_flops_per_second = r.flops / r.seconds;
    r.achieved_hbm_bytes_per_second = r.hbm_bytes / r.seconds;
  }
  r.levels = computeEnergyLevels(stats.total, r.seconds, chip);
  r.energy = r.levels.chip;
  r.overlap = computeOverlap(stats);
  r.energy_joules = r.levels.chip_joules;
  r.average_power_watts = r.levels.chipWatts();
  r.tdp_watts = chip.power.tdp_watts;
  r.pue = chip.power.pue;
  r.provisioned_facility_watts = provisionedFacilityWatts(chip);
  if (!stats.slices.empty()) // recorded: MachineOptions::trace
    r.ops = attributeOps(program, chip, stats, r.energy_joules, r.energy.static_joules);

  std::map<std::string, EngineUsage> byKind;
  for (const StreamStats &st : stats.streams) {
    const std::string kind(engineKindName(st.engine.kind));
    const double clock = chip.engine(static_cast<int>(st.engine.kind)).clock_hz;
    const double busySeconds = static_cast<double>(st.busy) / kFemtosecondsPerSecond;
    EngineUsage u;
    u.name = "core" + std::to_string(st.core) + "." + st.engine.name();
    u.streams = 1;
    u.clock_hz = clock;
    u.busy_cycles = busySeconds * clock;
    u.busy_seconds = busySeconds;
    u.busy_fraction = r.seconds > 0 ? busySeconds / r.seconds : 0;
    u.instructions = st.instructions;
    u.conflict_stall_seconds = static_cast<double>(st.psumConflictStall + st.portConflictStall) / kFemtosecondsPerSecond;
    u.dependency_wait_seconds = static_cast<double>(st.dependencyWait) / kFemtosecondsPerSecond;
    r.streams.push_back(u);
    r.instructions += st.instructions;
    EngineUsage &k = byKind[kind];
    k.name = kind;
    k.streams += 1;
    k.clock_hz = clock;
    k.busy_cycles += u.busy_cycles;
    k.busy_seconds += u.busy_seconds;
    k.instructions += st.instructions;
    k.conflict_stall_seconds += u.conflict_stall_seconds;
    k.dependency_wait_seconds += u.dependency_wait_seconds;
  }
  for (const char *kind : {"pe", "act", "dve", "pool", "sp", "dma"}) {
    auto it = byKind.find(kind);
    if (it == byKind.end())
      continue;
    EngineUsage u = it->second;
    u.busy_fraction = r.seconds > 0 ? u.busy_seconds / (r.seconds * u.streams) : 0;
    r.engines.push_back(u);
  }
  if (options.timing) {
    r.has_bottleneck = true;
    r.bottleneck = analyzeBottleneck(program, chip, stats, r.seconds);
  }
  return r;
}

void applyWorkload(Report &r, double tokens) {
  Workload w;
  w.tokens = tokens;
  if (r.seconds > 0) {
    w.tokens_per_second = tokens / r.seconds;
    w.seconds_per_token = r.seconds / tokens;
  }
  auto perJoule = [&](double joules) { return joules > 0 ? tokens / joules : 0.0; };
  w.tokens_per_joule_chip = perJoule(r.levels.chip_joules);
  w.tokens_per_joule_node = perJoule(r.levels.node_joules);
  w.tokens_per_joule_facility = perJoule(r.levels.facility_joules);
  w.tokens_per_second_per_megawatt_chip = 1e6 * w.tokens_per_joule_chip;
  w.tokens_per_second_per_megawatt_node = 1e6 * w.tokens_per_joule_node;
  w.tokens_per_second_per_megawatt_facility = 1e6 * w.tokens_per_joule_facility;
  w.tokens_per_second_per_megawatt_provisioned =
      r.provisioned_facility_watts > 0 ? 1e6 * w.tokens_per_second / r.provisioned_facility_watts : 0;
  r.workload = w;
  r.has_workload = true;
}

static void writeBreakdown(JsonWriter &w, const EnergyBreakdown &b, bool withLink) {
  w.beginObject();
  w.field("pe", b.pe_joules).field("act", b.act_joules).field("dve", b.dve_joules);
  w.field("pool", b.pool_joules).field("sbuf", b.sbuf_joules);
  w.field("psum", b.psum_joules).field("hbm", b.hbm_joules);
  if (withLink)
    w.field("link", b.link_joules);
  w.field("static", b.static_joules);
  w.endObject();
}

static void writeUsage(JsonWriter &w, const EngineUsage &u) {
  w.beginObject()
      .field("busy_cycles", wholeCycles(u.busy_cycles))
      .field("busy_fraction", u.busy_fraction)
      .field("busy_seconds", u.busy_seconds)
      .field("clock_hz", u.clock_hz)
      .field("conflict_stall_seconds", u.conflict_stall_seconds)
      .field("dependency_wait_seconds", u.dependency_wait_seconds)
      .field("instructions", u.instructions)
      .field("streams", u.streams)
      .endObject();
}

std::string reportToJson(const Report &r) {
  std::ostringstream os;
  JsonWriter w(os);
  w.beginObject();
  w.field("schema_version", 1).field("trnx_version", versionString());
  w.field("program", r.program).field("chip", r.chip).field("mode", r.mode);
  w.field("cores_used", r.cores_used).field("instructions", r.instructions);
  w.field("cycles", wholeCycles(r.cycles)).field("cycles_clock", "pe").field("pe_clock_hz", r.pe_clock_hz);
  w.field("seconds", r.seconds);
  w.field("flops", r.flops);
  w.field("achieved_flops_per_second", r.achieved_flops_per_second);
  w.field("peak_flops_per_second", r.peak_flops_per_second);
  w.field("hbm_bytes", r.hbm_bytes);
  w.field("achieved_hbm_bytes_per_second", r.achieved_hbm_bytes_per_second);
  w.field("peak_hbm_bytes_per_second", r.peak_hbm_bytes_per_second);
  w.field("energy_joules", r.energy_joules);
  w.field("average_power_watts", r.average_power_watts);
  // Schema 1 view of the chip breakdown (no link: 0 until the ISA has collectives).
  w.key("energy_breakdown_joules");
  writeBreakdown(w, r.energy, false);
  const EnergyLevels &l = r.levels;
  w.key("energy").beginObject();
  w.field("chip_joules", l.chip_joules).field("node_joules", l.node_joules);
  w.field("facility_joules", l.facility_joules);
  w.field("host_joules", l.host_joules).field("network_joules", l.network_joules);
  w.field("chip_average_power_watts", l.chipWatts());
  w.field("node_average_power_watts", l.nodeWatts());
  w.field("facility_average_power_watts", l.facilityWatts());
  w.field("tdp_watts", r.tdp_watts).field("pue", r.pue);
  w.field("provisioned_facility_watts", r.provisioned_facility_watts);
  w.key("breakdown");
  writeBreakdown(w, r.energy, true);
  w.endObject();
  if (r.has_workload) {
    const Workload &k = r.workload;
    w.key("workload").beginObject();
    w.field("tokens", k.tokens).field("tokens_per_second", k.tokens_per_second);
    w.field("seconds_per_token", k.seconds_per_token);
    w.field("tokens_per_joule_chip", k.tokens_per_joule_chip);
    w.field("tokens_per_joule_node", k.tokens_per_joule_node);
    w.field("tokens_per_joule_facility", k.tokens_per_joule_facility);
    w.field("tokens_per_second_per_megawatt_chip", k.tokens_per_second_per_megawatt_chip);
    w.field("tokens_per_second_per_megawatt_node", k.tokens_per_second_per_megawatt_node);
    w.field("tokens_per_second_per_megawatt_facility", k.tokens_per_second_per_megawatt_facility);
    w.field("tokens_per_second_per_megawatt_provisioned", k.tokens_per_second_per_megawatt_provisioned);
    w.endObject();
  }
  if (r.has_bottleneck) {
    w.key("bottleneck");
    writeBottleneck(w, r.bottleneck);
  }
  w.key("overlap").beginObject();
  w.field("pe_busy_seconds", r.overlap.pe_busy_seconds);
  w.field("dma_busy_seconds", r.overlap.dma_busy_seconds);
  w.field("pe_dma_seconds", r.overlap.pe_dma_seconds);
  w.endObject();
  w.key("actions").beginObject();
  w.field("macs_fp32", r.actions.macs_fp32).field("macs_bf16", r.actions.macs_bf16);
  w.field("macs_fp8", r.actions.macs_fp8).field("macs_mx", r.actions.macs_mx);
  w.field("transpose_macs", r.actions.transpose_macs);
  w.field("act_elements", r.actions.act_elements).field("dve_elements", r.actions.dve_elements);
  w.field("pool_elements", r.actions.pool_elements).field("sbuf_bytes", r.actions.sbuf_bytes);
  w.field("psum_bytes", r.actions.psum_bytes);
  w.endObject();
  w.key("engines").beginObject();
  for (const EngineUsage &u : r.engines) {
    w.key(u.name);
    writeUsage(w, u);
  }
  w.endObject();
  w.key("streams").beginObject();
  for (const EngineUsage &u : r.streams) {
    w.key(u.name);
    writeUsage(w, u);
  }
  w.endObject();
  w.key("ops").beginArray();
  for (const OpUsage &u : r.ops) {
    w.beginObject();
    w.field("op", u.op).field("loc", u.loc).field("instructions", u.instructions);
    w.field("busy_seconds", u.busy_seconds).field("time_share", u.time_share);
    w.key("busy_cycles").beginObject();
    for (int k = 0; k < kNumEngineKinds; ++k)
      if (u.busy_cycles[k] > 0)
        w.field(std::string(engineKindName(static_cast<EngineKind>(k))), wholeCycles(u.busy_cycles[k]));
    w.endObject();
    w.field("dynamic_joules", u.dynamic_joules).field("energy_joules", u.energy_joules);
    w.field("energy_share", u.energy_share);
    w.endObject();
  }
  w.endArray();
  w.endObject();
  os << "\n";
  return os.str();
}

} // namespace trnx
