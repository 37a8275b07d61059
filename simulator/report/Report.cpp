// Builds the report from run statistics and writes it as JSON.
#include "simulator/report/Report.h"

#include "simulator/report/Json.h"

#include <algorithm>
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

} // namespace

double programPeakFlops(const Program &program, const ChipConfig &chip) {
  double peak = 0;
  for (const Stream &s : program.streams)
    for (const Instruction &inst : s.code)
      if (inst.opcode == Opcode::Matmul) {
        const DType in = (inst.ap[1].dtype == DType::FP32 || inst.ap[2].dtype == DType::FP32)
                             ? DType::FP32
                             : inst.ap[1].dtype;
        peak = std::max(peak, chip.peakFlopsPerSecond(in, inst.enums[0] == 1));
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
  r.energy = computeEnergy(stats.total, r.seconds, chip);
  r.overlap = computeOverlap(stats);
  r.energy_joules = r.energy.total();
  r.average_power_watts = r.seconds > 0 ? r.energy_joules / r.seconds : 0;

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
    u.busy_fraction = r.seconds > 0 ? busySeconds / r.seconds : 0;
    u.instructions = st.instructions;
    r.streams.push_back(u);
    r.instructions += st.instructions;
    EngineUsage &k = byKind[kind];
    k.name = kind;
    k.streams += 1;
    k.clock_hz = clock;
    k.busy_cycles += u.busy_cycles;
    k.instructions += st.instructions;
  }
  for (const char *kind : {"pe", "act", "dve", "pool", "sp", "dma"}) {
    auto it = byKind.find(kind);
    if (it == byKind.end())
      continue;
    EngineUsage u = it->second;
    u.busy_fraction = r.seconds > 0 ? u.busy_cycles / u.clock_hz / (r.seconds * u.streams) : 0;
    r.engines.push_back(u);
  }
  return r;
}

static void writeUsage(JsonWriter &w, const EngineUsage &u) {
  w.beginObject()
      .field("busy_cycles", u.busy_cycles)
      .field("busy_fraction", u.busy_fraction)
      .field("clock_hz", u.clock_hz)
      .field("instructions", u.instructions)
      .field("streams", u.streams)
      .endObject();
}

std::string reportToJson(const Report &r) {
  std::ostringstream os;
  JsonWriter w(os);
  w.beginObject();
  w.field("schema_version", 1);
  w.field("program", r.program).field("chip", r.chip).field("mode", r.mode);
  w.field("cores_used", r.cores_used).field("instructions", r.instructions);
  w.field("cycles", r.cycles).field("cycles_clock", "pe").field("pe_clock_hz", r.pe_clock_hz);
  w.field("seconds", r.seconds);
  w.field("flops", r.flops);
  w.field("achieved_flops_per_second", r.achieved_flops_per_second);
  w.field("peak_flops_per_second", r.peak_flops_per_second);
  w.field("hbm_bytes", r.hbm_bytes);
  w.field("achieved_hbm_bytes_per_second", r.achieved_hbm_bytes_per_second);
  w.field("peak_hbm_bytes_per_second", r.peak_hbm_bytes_per_second);
  w.field("energy_joules", r.energy_joules);
  w.field("average_power_watts", r.average_power_watts);
  w.key("energy_breakdown_joules").beginObject();
  w.field("pe", r.energy.pe_joules).field("act", r.energy.act_joules).field("dve", r.energy.dve_joules);
  w.field("pool", r.energy.pool_joules).field("sbuf", r.energy.sbuf_joules);
  w.field("psum", r.energy.psum_joules).field("hbm", r.energy.hbm_joules);
  w.field("static", r.energy.static_joules);
  w.endObject();
  w.key("overlap").beginObject();
  w.field("pe_busy_seconds", r.overlap.pe_busy_seconds);
  w.field("dma_busy_seconds", r.overlap.dma_busy_seconds);
  w.field("pe_dma_seconds", r.overlap.pe_dma_seconds);
  w.endObject();
  w.key("actions").beginObject();
  w.field("macs_fp32", r.actions.macs_fp32).field("macs_bf16", r.actions.macs_bf16);
  w.field("macs_fp8", r.actions.macs_fp8).field("transpose_macs", r.actions.transpose_macs);
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
  w.endObject();
  os << "\n";
  return os.str();
}

} // namespace trnx
