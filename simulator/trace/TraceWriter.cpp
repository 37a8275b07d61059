// Chrome trace-event format writer (timestamps in microseconds).
#include "simulator/trace/TraceWriter.h"

#include "simulator/energy/EnergyModel.h"
#include "simulator/report/Json.h"
#include "isa/Version.h"

#include <optional>
#include <set>
#include <sstream>

namespace trnx {

std::string traceToJson(const Program &program, const RunStats &stats, const ChipConfig *chip) {
  std::ostringstream os;
  JsonWriter w(os, false);
  auto micros = [](SimTime t) { return static_cast<double>(t) / 1e9; };
  w.beginObject().key("displayTimeUnit").value("ns");
  // Chrome's metadata dictionary (shown by Perfetto under "metadata").
  w.key("otherData").beginObject().field("trnx_version", versionString()).field("target", program.target).endObject();
  w.key("traceEvents").beginArray();
  std::set<uint16_t> cores;
  for (uint32_t s = 0; s < program.streams.size(); ++s) {
    const Stream &st = program.streams[s];
    if (cores.insert(st.core).second)
      w.beginObject()
          .field("name", "process_name").field("ph", "M").field("pid", static_cast<int>(st.core))
          .key("args").beginObject().field("name", "core " + std::to_string(st.core)).endObject()
          .endObject();
    w.beginObject()
        .field("name", "thread_name").field("ph", "M").field("pid", static_cast<int>(st.core))
        .field("tid", static_cast<int>(s))
        .key("args").beginObject().field("name", st.engine.name()).endObject()
        .endObject();
    w.beginObject()
        .field("name", "thread_sort_index").field("ph", "M").field("pid", static_cast<int>(st.core))
        .field("tid", static_cast<int>(s))
        .key("args").beginObject().field("sort_index", static_cast<int>(st.engine.code())).endObject()
        .endObject();
  }
  std::optional<std::vector<std::vector<double>>> energy;
  if (chip)
    energy = instructionEnergy(program, *chip);
  for (const TraceSlice &slice : stats.slices) {
    const Stream &st = program.streams[slice.stream];
    const Instruction &inst = st.code[slice.pc];
    w.beginObject()
        .field("name", inst.info().mnemonic)
        .field("cat", std::string(engineKindName(st.engine.kind)))
        .field("ph", "X")
        .field("ts", micros(slice.start))
        .field("dur", micros(slice.duration))
        .field("pid", static_cast<int>(st.core))
        .field("tid", static_cast<int>(slice.stream));
    w.key("args").beginObject().field("pc", static_cast<int>(slice.pc));
    if (inst.loc < program.locs.size()) {
      const SourceLoc &l = program.locs[inst.loc];
      w.field("op", l.op);
      w.field("loc", l.file + ":" + std::to_string(l.line) + ":" + std::to_string(l.column));
    } else {
      w.field("op", "(none)");
    }
    if (energy)
      w.field("dynamic_joules", (*energy)[slice.stream][slice.pc]);
    w.endObject().endObject();
  }
  for (const RateSample &r : stats.hbmRate)
    w.beginObject()
        .field("name", "hbm_bandwidth").field("ph", "C").field("ts", micros(r.time)).field("pid", 0)
        .key("args").beginObject().field("GB/s", r.hbmBytesPerSecond / 1e9).endObject()
        .endObject();
  if (chip) {
    const std::vector<PowerSample> power = powerTimeline(program, *chip, stats);
    for (const PowerSample &p : power)
      w.beginObject()
          .field("name", "chip_power").field("ph", "C").field("ts", p.start_seconds * 1e6).field("pid", 0)
          .key("args").beginObject().field("W", p.chip_watts).endObject()
          .endObject();
    if (!power.empty()) // the last interval ends with the run
      w.beginObject()
          .field("name", "chip_power").field("ph", "C").field("ts", micros(stats.end)).field("pid", 0)
          .key("args").beginObject().field("W", power.back().chip_watts).endObject()
          .endObject();
  }
  w.endArray().endObject();
  os << "\n";
  return os.str();
}

} // namespace trnx
