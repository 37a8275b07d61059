// Bottleneck analysis of a timing run (Bottleneck.h).
#include "simulator/report/Bottleneck.h"

#include "simulator/report/Json.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace trnx {
namespace {

std::string fmt(const char *format, double a, double b = 0, double c = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, format, a, b, c);
  return buf;
}

} // namespace

Bottleneck analyzeBottleneck(const Program &program, const ChipConfig &chip, const RunStats &stats, double seconds) {
  Bottleneck b;
  double best = -1;
  for (int c = 0; c < kNumPathCauses; ++c) {
    b.critical_path_seconds[c] = static_cast<double>(stats.criticalPath.time[c]) / kFemtosecondsPerSecond;
    if (b.critical_path_seconds[c] > best) {
      best = b.critical_path_seconds[c];
      b.bound_by = pathCauseName(static_cast<PathCause>(c));
    }
  }
  b.bound_fraction = seconds > 0 ? best / seconds : 0;
  b.hbm_capped_seconds = stats.hbmCappedSeconds;
  auto use = [&](const std::string &name, double busy, const std::string &limit) {
    ResourceUse u;
    u.name = name;
    u.busy_seconds = busy;
    u.utilization = seconds > 0 ? busy / seconds : 0;
    u.limit = limit;
    b.resources.push_back(u);
  };
  for (EngineKind kind : {EngineKind::PE, EngineKind::ACT, EngineKind::DVE, EngineKind::POOL, EngineKind::SP}) {
    SimTime busiest = 0;
    bool present = false;
    for (const StreamStats &st : stats.streams)
      if (st.engine.kind == kind) {
        busiest = std::max(busiest, st.busy);
        present = true;
      }
    if (present)
      use(std::string(engineKindName(kind)), static_cast<double>(busiest) / kFemtosecondsPerSecond,
          "one engine per core, the busiest core");
  }
  std::set<uint16_t> cores;
  for (const Stream &s : program.streams)
    cores.insert(s.core);
  const double engines = static_cast<double>(chip.dma.engines_per_core) * std::max<size_t>(1, cores.size());
  use("dma_engines", stats.dmaEngineSeconds / engines,
      fmt("%.0f DMA engines x %.1f GB/s (dma.engines_per_core x cores used, dma.engine_bytes_per_second)", engines,
          chip.dma.engine_bytes_per_second / 1e9));
  const double hbmCap = chip.hbm.bytes_per_second * chip.hbm.max_utilization;
  use("hbm", hbmCap > 0 ? stats.hbmBytes / hbmCap : 0,
      fmt("%.3g TB/s sustained (hbm.bytes_per_second x hbm.max_utilization)", hbmCap / 1e12));

  std::vector<ResourceUse> top = b.resources;
  std::sort(top.begin(), top.end(), [](const ResourceUse &x, const ResourceUse &y) { return x.utilization > y.utilization; });
  b.summary = "bound by " + b.bound_by + fmt(" (%.0f%% of the critical path); busiest: ", 100 * b.bound_fraction);
  for (size_t i = 0; i < top.size() && i < 3; ++i)
    b.summary += (i ? ", " : "") + top[i].name + fmt(" %.0f%%", 100 * top[i].utilization);
  return b;
}

void writeBottleneck(JsonWriter &w, const Bottleneck &b) {
  w.beginObject();
  w.field("bound_by", b.bound_by).field("bound_fraction", b.bound_fraction);
  w.key("critical_path_seconds").beginObject();
  for (int c = 0; c < kNumPathCauses; ++c)
    w.field(pathCauseName(static_cast<PathCause>(c)), b.critical_path_seconds[c]);
  w.endObject();
  w.field("hbm_capped_seconds", b.hbm_capped_seconds);
  w.key("resources").beginObject();
  for (const ResourceUse &u : b.resources) {
    w.key(u.name).beginObject();
    w.field("busy_seconds", u.busy_seconds).field("utilization", u.utilization).field("limit", u.limit);
    w.endObject();
  }
  w.endObject();
  w.field("summary", b.summary);
  w.endObject();
}

} // namespace trnx
