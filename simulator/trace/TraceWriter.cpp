// Chrome trace-event format writer (timestamps in microseconds).
#include "simulator/trace/TraceWriter.h"

#include "simulator/energy/EnergyModel.h"
#include "simulator/report/Json.h"
#include "isa/Version.h"

#include <optional>
#include <set>
#include <sstream>

namespace trnx {

namespace {

// Chip-wide counters (HBM bandwidth, chip power) live on a process of their
// own, not under a core: an id no core number reaches (the ISA's cores fit 16 bits).
constexpr int kChipPid = 1 << 20;

// The source location of an instruction, or, for one without (a barrier or
// semaphore instruction the sync pass inserted), of the next instruction of
// its stream that has one: the op it orders.
const SourceLoc *sourceOf(const Program &program, const Stream &st, uint32_t pc, bool *inherited) {
  *inherited = false;
  for (uint32_t p = pc; p < st.code.size(); ++p) {
    if (st.code[p].loc < program.locs.size())
      return &program.locs[st.code[p].loc];
    *inherited = true;
  }
  return nullptr;
}

std::string locText(const SourceLoc &l) {
  return l.file + ":" + std::to_string(l.line) + ":" + std::to_string(l.column);
}

// "pe core 0 pc 12, op linalg.matmul at f.mlir:3:5"
std::string describeAt(const Program &program, uint32_t stream, uint32_t pc) {
  const Stream &st = program.streams[stream];
  std::string s = std::string(st.engine.name()) + " core " + std::to_string(st.core) + " pc " + std::to_string(pc);
  bool inherited = false;
  if (const SourceLoc *l = sourceOf(program, st, pc, &inherited))
    s += ", op " + l->op + " at " + locText(*l);
  return s;
}

} // namespace

std::string traceToJson(const Program &program, const RunStats &stats, const ChipConfig *chip,
                        const Bottleneck *bottleneck) {
  std::ostringstream os;
  JsonWriter w(os, false);
  auto micros = [](SimTime t) { return static_cast<double>(t) / 1e9; };
  w.beginObject().key("displayTimeUnit").value("ns");
  // Chrome's metadata dictionary (shown by Perfetto under "metadata").
  w.key("otherData").beginObject().field("trnx_version", versionString()).field("target", program.target);
  if (bottleneck) { // the report's object, written by the same code: the two cannot disagree
    w.key("bottleneck");
    writeBottleneck(w, *bottleneck);
  }
  w.endObject();
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
  w.beginObject()
      .field("name", "process_name").field("ph", "M").field("pid", kChipPid)
      .key("args").beginObject().field("name", "chip").endObject()
      .endObject();
  w.beginObject()
      .field("name", "process_sort_index").field("ph", "M").field("pid", kChipPid)
      .key("args").beginObject().field("sort_index", kChipPid).endObject()
      .endObject();
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
    bool inherited = false;
    if (const SourceLoc *l = sourceOf(program, st, slice.pc, &inherited)) {
      w.field("op", l->op);
      w.field("loc", locText(*l));
      if (inherited)
        w.field("loc_of", "the next op of the stream");
    } else {
      w.field("op", "(none)");
    }
    if (inst.wait.present())
      w.field("wait", "s" + std::to_string(inst.wait.sem) + " >= " + std::to_string(inst.wait.value) +
                          (inst.wait.step[0] || inst.wait.step[1] || inst.wait.step[2] ? " (+ loop steps)" : ""));
    if (inst.signal.present())
      w.field("signal", "s" + std::to_string(inst.signal.sem) + " += " + std::to_string(inst.signal.increment));
    if (energy)
      w.field("dynamic_joules", (*energy)[slice.stream][slice.pc]);
    w.endObject().endObject();
  }
  // Blocked intervals, and a flow from the releasing instruction to the released one.
  uint64_t flowId = 0;
  for (const TraceWait &wt : stats.waits) {
    const Stream &st = program.streams[wt.stream];
    const bool known = wt.bySignaller < program.streams.size();
    std::string name = wt.barrier ? std::string("waiting at barrier")
                                  : "waiting on s" + std::to_string(wt.sem) + " >= " + std::to_string(wt.need);
    const std::string by = known ? describeAt(program, wt.bySignaller, wt.byPc) : "";
    if (known)
      name += std::string(wt.barrier ? " (released by " : " (signalled by ") + by + ")";
    w.beginObject()
        .field("name", name)
        .field("cat", "wait")
        .field("ph", "X")
        .field("ts", micros(wt.start))
        .field("dur", micros(wt.end - wt.start))
        .field("pid", static_cast<int>(st.core))
        .field("tid", static_cast<int>(wt.stream));
    w.key("args").beginObject().field("pc", static_cast<int>(wt.pc));
    bool inherited = false;
    if (const SourceLoc *l = sourceOf(program, st, wt.pc, &inherited))
      w.field("op", l->op).field("loc", locText(*l));
    if (!wt.barrier)
      w.field("semaphore", "s" + std::to_string(wt.sem)).field("need", wt.need);
    if (known) {
      w.field(wt.barrier ? "released_by" : "signalled_by", by);
      w.field("signaller_pc", static_cast<int>(wt.byPc));
    }
    w.endObject().endObject();
    if (!known)
      continue;
    const Stream &from = program.streams[wt.bySignaller];
    ++flowId;
    w.beginObject()
        .field("name", wt.barrier ? "barrier" : "s" + std::to_string(wt.sem)).field("cat", "wait").field("ph", "s")
        .field("id", flowId).field("ts", micros(wt.bySliceStart))
        .field("pid", static_cast<int>(from.core)).field("tid", static_cast<int>(wt.bySignaller))
        .endObject();
    // No binding point: the flow ends at the next slice from `ts`, the released instruction.
    w.beginObject()
        .field("name", wt.barrier ? "barrier" : "s" + std::to_string(wt.sem)).field("cat", "wait").field("ph", "f")
        .field("id", flowId).field("ts", micros(wt.end))
        .field("pid", static_cast<int>(st.core)).field("tid", static_cast<int>(wt.stream))
        .endObject();
  }
  // One counter sample per distinct time: of samples at the same instant, the last holds.
  for (size_t i = 0; i < stats.hbmRate.size(); ++i) {
    const RateSample &r = stats.hbmRate[i];
    if (i + 1 < stats.hbmRate.size() && stats.hbmRate[i + 1].time == r.time)
      continue;
    w.beginObject()
        .field("name", "hbm_bandwidth").field("ph", "C").field("ts", micros(r.time)).field("pid", kChipPid)
        .key("args").beginObject().field("GB/s", r.hbmBytesPerSecond / 1e9).endObject()
        .endObject();
  }
  if (chip) {
    const std::vector<PowerSample> power = powerTimeline(program, *chip, stats);
    double last = -1;
    for (size_t i = 0; i < power.size(); ++i) {
      const PowerSample &p = power[i];
      if (i + 1 < power.size() && power[i + 1].start_seconds == p.start_seconds)
        continue; // an empty interval: the next sample holds from this time
      last = p.start_seconds * 1e6;
      w.beginObject()
          .field("name", "chip_power").field("ph", "C").field("ts", last).field("pid", kChipPid)
          .key("args").beginObject().field("W", p.chip_watts).endObject()
          .endObject();
    }
    if (!power.empty() && micros(stats.end) > last) // the last interval ends with the run
      w.beginObject()
          .field("name", "chip_power").field("ph", "C").field("ts", micros(stats.end)).field("pid", kChipPid)
          .key("args").beginObject().field("W", power.back().chip_watts).endObject()
          .endObject();
  }
  if (bottleneck) { // a marker at the end of the run on the chip process: the bound and the critical path
    w.beginObject()
        .field("name", "bound by " + bottleneck->bound_by).field("cat", "bottleneck").field("ph", "i")
        .field("s", "p").field("ts", micros(stats.end)).field("pid", kChipPid);
    w.key("args").beginObject().field("bound_by", bottleneck->bound_by);
    w.field("bound_fraction", bottleneck->bound_fraction).field("summary", bottleneck->summary);
    w.key("critical_path_seconds").beginObject();
    for (int c = 0; c < kNumPathCauses; ++c)
      w.field(pathCauseName(static_cast<PathCause>(c)), bottleneck->critical_path_seconds[c]);
    w.endObject().endObject().endObject();
  }
  w.endArray().endObject();
  os << "\n";
  return os.str();
}

} // namespace trnx
