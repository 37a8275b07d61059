// Event loop of the machine. Events are (time, sequence) ordered, so a run is
// deterministic: same program, chip and inputs give the same cycles and bytes.
#include "simulator/machine/Machine.h"

#include "isa/Error.h"
#include "simulator/machine/EventHeap.h"
#include "simulator/machine/PsumBanks.h"
#include "simulator/machine/StreamCursor.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace trnx {

namespace {
enum EventKind : uint8_t { kReady, kSignal, kDmaStart };

bool touches(const Instruction &inst, MemSpace space) {
  for (const FieldSpec &f : inst.info().fields)
    if ((f.kind == FieldKind::Ap || f.kind == FieldKind::OptAp) && inst.ap[f.slot].space == space)
      return true;
  return false;
}
bool touchesPsum(const Instruction &inst) { return touches(inst, MemSpace::PSUM); }

// Where an engine's busy time goes on the critical path.
PathCause busyCause(EngineKind kind) {
  switch (kind) {
  case EngineKind::PE: return PathCause::Pe;
  case EngineKind::ACT: return PathCause::Act;
  case EngineKind::DVE: return PathCause::Dve;
  case EngineKind::POOL: return PathCause::Pool;
  case EngineKind::SP: return PathCause::Sp;
  default: return PathCause::DmaIssue; // a DMA queue's control instructions
  }
}

// NC-v2's port sharing (trainium.md 1.4, G1): DVE and GpSimd take turns on
// SBUF, ACT and DVE on PSUM. Each port is one "bank" of a PsumBanks tracker.
constexpr uint64_t kSbufPort = 1, kPsumPort = 2;
uint64_t portsOf(const Instruction &inst, EngineKind engine) {
  uint64_t ports = 0;
  if ((engine == EngineKind::DVE || engine == EngineKind::POOL) && touches(inst, MemSpace::SBUF))
    ports |= kSbufPort;
  if ((engine == EngineKind::DVE || engine == EngineKind::ACT) && touchesPsum(inst))
    ports |= kPsumPort;
  return ports;
}
} // namespace

struct Machine::Event {
  SimTime time;
  uint64_t seq;
  uint32_t a;       // engine, or core << 16 | semaphore
  uint32_t path;    // signals: index into paths_ (kNoPath: none)
  uint16_t payload; // semaphore increment
  uint8_t kind;
  // Earlier time first; equal times in the order they were scheduled.
  unsigned __int128 key() const {
    return (static_cast<unsigned __int128>(static_cast<uint64_t>(time)) << 64) | seq;
  }
};

struct Machine::EngineRun {
  uint32_t stream;
  uint16_t core;
  EngineKind kind;
  StreamCursor cursor;
  bool done = false;
  bool blocked = false;
  uint16_t waitSem = kNoSemaphore; // when blocked on a semaphore
  uint64_t waitNeed = 0;
  SimTime dmaIssued = 0;
  SimTime blockedSince = 0;  // when it began waiting (semaphore or barrier)
  bool stalled = false;      // its next start was delayed by a PSUM bank or port conflict
  CriticalPath path;         // the critical path to the moment it was last free
  RecentWrites writes;       // its recent on-chip results (ResultLatency.h)
};

Machine::Machine(const Program &program, const ChipConfig &chip, const MachineOptions &options,
                 DeviceMemory *memory)
    : program_(program), chip_(chip), options_(options), dma_(chip),
      heap_(std::make_unique<EventHeap<Event>>()), guard_(options.limits) {
  if (options_.functional) {
    if (!memory)
      fail("internal: functional run without memory");
    executor_ = std::make_unique<FunctionalExecutor>(*memory, hostMemoryLimit(options.limits));
  }
  if (options_.timing) {
    semaphoreLatency_ = toTime(chip.semaphore_latency_seconds * kFemtosecondsPerSecond, kFemtosecondsPerSecond);
    if (chip.psum_bank_conflicts)
      psumBanks_ = std::make_unique<PsumBanks>(program.numCores, chip.psum_banks, chip.psum_bytes_per_partition);
    if (chip.engine_port_exclusion)
      ports_ = std::make_unique<PsumBanks>(program.numCores, 2, 2);
  }
  semaphores_.assign(program.numCores, std::vector<uint64_t>(chip.semaphores_per_core, 0));
  waiters_.assign(program.numCores, std::vector<std::vector<Waiter>>(chip.semaphores_per_core));
  coreBarrier_.assign(program.numCores, {});
  streamsPerCore_.assign(program.numCores, 0);
  costs_.resize(program.streams.size());
  for (uint32_t s = 0; s < program.streams.size(); ++s) {
    const Stream &stream = program.streams[s];
    ++streamsPerCore_[stream.core];
    EngineRun run{s, stream.core, stream.engine.kind, StreamCursor(&stream.code), false, false, kNoSemaphore, 0, 0, 0,
                  false, CriticalPath{}, RecentWrites{}};
    engines_.push_back(run);
    const double clock = chip.engine(static_cast<int>(stream.engine.kind)).clock_hz;
    costs_[s].reserve(stream.code.size());
    for (uint32_t pc = 0; pc < stream.code.size(); ++pc) {
      const Instruction &inst = stream.code[pc];
      if (inst.info().cost == CostKind::Collective) {
        if (!options_.collectives)
          fail("internal: ", describeInstruction(program, stream, pc), ": a collective without a system model");
        StaticCost sc;
        sc.coll = options_.collectives->timing(s, pc);
        sc.collective = true;
        sc.isDma = options_.timing;
        sc.collectiveLatency = toTime(sc.coll.latency_seconds * kFemtosecondsPerSecond, kFemtosecondsPerSecond);
        sc.actions.hbm_bytes = sc.coll.link_bytes * sc.coll.hbm_sides;
        sc.actions.link_bytes = sc.coll.chip_link_bytes;
        costs_[s].push_back(sc);
        continue;
      }
      InstructionCost c = costOf(inst, stream.engine.kind, chip);
      StaticCost sc;
      sc.actions = c.actions;
      if (options_.timing) {
        sc.busy = toTime(c.busy_cycles, clock);
        sc.latency = toTime(c.latency_cycles, clock);
        // A cost at the clamp is no real cost (operand sizes that saturated):
        // an error rather than a clamped, wrong time.
        if (sc.busy >= kMaxSimStep || sc.latency >= kMaxSimStep)
          fail(describeInstruction(program, stream, pc), ": one execution would take more than ",
               limitText(static_cast<double>(kMaxSimStep) / kFemtosecondsPerSecond),
               " s of simulated time (", limitText(c.busy_cycles), " cycles): shrink its operands");
        sc.isDma = c.is_dma;
        sc.dma = c.dma;
        sc.psum = psumBanks_ && !c.is_dma && stream.engine.kind != EngineKind::DMA && touchesPsum(inst);
        if (sc.psum) {
          for (const FieldSpec &f : inst.info().fields)
            if ((f.kind == FieldKind::Ap || f.kind == FieldKind::OptAp) &&
                inst.ap[f.slot].space == MemSpace::PSUM && inst.ap[f.slot].hasLoopSteps())
              sc.psumLooped = true;
          sc.psumBanks = psumBanks_->banksOf(inst, LoopIndices{});
        }
        if (ports_ && !c.is_dma)
          sc.ports = portsOf(inst, stream.engine.kind);
        if (!c.is_dma && stream.engine.kind != EngineKind::DMA && sc.latency > 0)
          sc.operands = OperandBoxes::of(inst);
      }
      costs_[s].push_back(sc);
    }
    StreamStats st;
    st.core = stream.core;
    st.engine = stream.engine;
    stats_.streams.push_back(st);
  }
}

Machine::~Machine() = default;

SimTime Machine::toTime(double cycles, double clockHz) const {
  // Clamped to kMaxSimStep, far from int64 overflow: the constructor refuses
  // an instruction whose cost reaches it (a saturated operand size).
  const double fs = cycles * kFemtosecondsPerSecond / clockHz;
  return fs >= static_cast<double>(kMaxSimStep) ? kMaxSimStep : static_cast<SimTime>(std::llround(fs));
}

// Traced runs (and the report's per-op attribution) keep every executed
// instruction: bounded by the host memory, checked as the record grows.
void Machine::recordSlice(const TraceSlice &slice) {
  if (stats_.slices.size() == stats_.slices.capacity() &&
      (stats_.slices.size() + 1) * 2 * sizeof(TraceSlice) > hostMemoryLimit(options_.limits) / 2)
    fail("the run's record of executed instructions (for the trace and the per-op report) would pass half the "
         "host's memory after ", stats_.slices.size(), " instructions: lower --max-instructions, or simulate fewer "
         "iterations");
  stats_.slices.push_back(slice);
}

bool Machine::nothingPendingBefore(SimTime t) const {
  return (heap_->empty() || heap_->top().time >= t) && (dmaNext_ < 0 || dmaNext_ >= t);
}

void Machine::push(SimTime time, uint8_t kind, uint32_t a, uint16_t payload, uint32_t path) {
  heap_->push(Event{time, sequence_++, a, path, payload, kind});
}

uint32_t Machine::traceSignaller(uint32_t path, uint32_t stream, uint32_t pc, SimTime start) {
  if (options_.trace) {
    if (signallers_.size() <= path)
      signallers_.resize(path + 1);
    signallers_[path] = Signaller{stream, pc, start};
  }
  return path;
}

uint32_t Machine::signalPath(const CriticalPath &from, SimTime latency) {
  uint32_t id;
  if (!freePaths_.empty()) {
    id = freePaths_.back();
    freePaths_.pop_back();
    paths_[id] = from;
  } else {
    id = static_cast<uint32_t>(paths_.size());
    paths_.push_back(from);
  }
  paths_[id].add(PathCause::Latency, latency);
  return id;
}

void Machine::noteEnd(SimTime t, const CriticalPath &path) {
  if (t >= endTime_) {
    endTime_ = t;
    endPath_ = path;
  }
}

// Starts the engine's next instruction(s) at `now`. Without functional
// execution, an instruction that has no wait and is not a DMA or barrier
// cannot depend on any other event, so the engine runs on through such
// instructions without a round trip through the event heap (their signals are
// still scheduled at their exact times).
void Machine::issue(uint32_t e, SimTime now) {
  EngineRun &r = engines_[e];
  r.blocked = false;
  for (bool first = true;; first = false) {
    if (!r.cursor.settle()) {
      r.done = true;
      return;
    }
    const Instruction &inst = r.cursor.current();
    const uint32_t pc = r.cursor.pc();
    const StaticCost &c = costs_[r.stream][pc];
    // A PSUM user runs ahead only when no other event comes before its start,
    // so bank conflicts resolve in time order whether or not functional
    // execution is on (PsumBanks.h).
    if (!first && (inst.wait.present() || inst.opcode == Opcode::Barrier || c.isDma ||
                   ((c.psum || c.ports) && !nothingPendingBefore(now)))) {
      push(now, kReady, e);
      return;
    }
    // The time since the engine was last free: a conflict stall, else a
    // dependency (an event ordering the start, such as a ready hand-off).
    r.path.catchUp(now, r.stalled ? PathCause::Conflict : PathCause::Latency);
    r.stalled = false;
    if (inst.wait.present()) {
      int64_t need = static_cast<int64_t>(inst.wait.value);
      for (int l = 0; l < kMaxLoopDepth; ++l)
        need += static_cast<int64_t>(inst.wait.step[l]) * r.cursor.iv()[l];
      if (static_cast<int64_t>(semaphores_[r.core][inst.wait.sem]) < need) {
        waiters_[r.core][inst.wait.sem].push_back(Waiter{e, static_cast<uint64_t>(need)});
        r.blocked = true;
        r.blockedSince = now;
        r.waitSem = inst.wait.sem;
        r.waitNeed = static_cast<uint64_t>(need);
        return;
      }
    }
    r.waitSem = kNoSemaphore;
    if (inst.opcode == Opcode::Barrier) {
      r.blockedSince = now;
      r.blocked = !arriveAtBarrier(e, now);
      return;
    }
    // A result of this engine's own recent instructions it reads.
    if (c.operands.anyRead) {
      const SimTime ready = r.writes.readyFor(c.operands, r.cursor.iv(), now);
      if (ready > now) {
        stats_.streams[r.stream].dependencyWait += ready - now;
        push(ready, kReady, e);
        return;
      }
    }
    // Shared resources: PSUM banks and (NC-v2) engine ports. Both are
    // checked before either is taken, so a waiting instruction holds nothing.
    uint64_t banks = 0;
    if (c.psum || c.ports) {
      SimTime bankFree = now, portFree = now;
      if (c.psum) {
        banks = c.psumLooped ? psumBanks_->banksOf(inst, r.cursor.iv()) : c.psumBanks;
        bankFree = psumBanks_->freeAt(r.core, banks, r.stream, now);
      }
      if (c.ports)
        portFree = ports_->freeAt(r.core, c.ports, r.stream, now);
      if (bankFree > now || portFree > now) {
        StreamStats &st = stats_.streams[r.stream];
        (bankFree >= portFree ? st.psumConflictStall : st.portConflictStall) += std::max(bankFree, portFree) - now;
        r.stalled = true;
        push(std::max(bankFree, portFree), kReady, e);
        return;
      }
      if (c.psum)
        psumBanks_->use(r.core, banks, r.stream, now, now + c.busy);
      if (c.ports)
        ports_->use(r.core, c.ports, r.stream, now, now + c.busy);
    }
    // Limits first, so an instruction past them is never executed.
    guard_.instruction(options_.timing ? static_cast<double>(now + c.busy + c.latency) / kFemtosecondsPerSecond
                                       : -1.0);
    if (executor_) {
      try {
        executor_->execute(r.core, inst, r.cursor.iv());
      } catch (const Error &err) {
        fail(describeInstruction(program_, program_.streams[r.stream], pc), ": ", err.what());
      }
    }
    StreamStats &st = stats_.streams[r.stream];
    ++st.instructions;
    st.actions += c.actions;
    if (c.isDma) {
      r.dmaIssued = now;
      const SimTime overhead =
          toTime(chip_.dma.issue_overhead_seconds * kFemtosecondsPerSecond, kFemtosecondsPerSecond);
      r.path.add(PathCause::DmaIssue, overhead);
      if (c.collective) {
        r.path.add(PathCause::Link, c.collectiveLatency);
        push(now + overhead + c.collectiveLatency, kDmaStart, e);
        return;
      }
      push(now + overhead, kDmaStart, e);
      return; // the queue resumes when the transfer completes
    }
    st.busy += c.busy;
    r.path.add(busyCause(r.kind), c.busy);
    if (r.kind == EngineKind::PE)
      st.activity.add(now, now + c.busy);
    if (options_.trace)
      recordSlice(TraceSlice{r.stream, pc, now, c.busy});
    if (inst.signal.present())
      push(now + c.busy + c.latency + semaphoreLatency_, kSignal, inst.signal.sem | (uint32_t(r.core) << 16),
           inst.signal.increment,
           traceSignaller(signalPath(r.path, c.latency + semaphoreLatency_), r.stream, pc, now));
    if (c.operands.anyWrite)
      r.writes.record(c.operands, r.cursor.iv(), now + c.busy + c.latency);
    r.cursor.next();
    now += c.busy;
    busyEnd_ = std::max(busyEnd_, now); // run-ahead work can end after the last event
    noteEnd(now, r.path);
    if (executor_) {
      push(now, kReady, e);
      return;
    }
  }
}

bool Machine::arriveAtBarrier(uint32_t e, SimTime now) {
  EngineRun &r = engines_[e];
  const bool coreScope = r.cursor.current().enums[0] == 0;
  std::vector<uint32_t> &arrived = coreScope ? coreBarrier_[r.core] : chipBarrier_;
  const size_t participants = coreScope ? streamsPerCore_[r.core] : engines_.size();
  arrived.push_back(e);
  if (arrived.size() < participants)
    return false;
  // Everyone leaves on the path of the last to arrive (this engine).
  const CriticalPath last = r.path;
  for (uint32_t x : arrived) {
    EngineRun &w = engines_[x];
    const Instruction &inst = w.cursor.current();
    const StaticCost &c = costs_[w.stream][w.cursor.pc()];
    StreamStats &st = stats_.streams[w.stream];
    ++st.instructions;
    st.busy += c.busy;
    st.dependencyWait += now - w.blockedSince;
    if (options_.trace && x != e && now > w.blockedSince) {
      TraceWait tw{w.stream, w.cursor.pc(), w.blockedSince, now};
      tw.barrier = true;
      tw.bySignaller = r.stream;
      tw.byPc = r.cursor.pc();
      tw.bySliceStart = now;
      stats_.waits.push_back(tw);
    }
    w.path = last;
    w.path.add(busyCause(w.kind), c.busy);
    noteEnd(now + c.busy, w.path);
    if (w.kind == EngineKind::PE)
      st.activity.add(now, now + c.busy);
    if (options_.trace)
      recordSlice(TraceSlice{w.stream, w.cursor.pc(), now, c.busy});
    if (inst.signal.present())
      push(now + c.busy + semaphoreLatency_, kSignal, inst.signal.sem | (uint32_t(w.core) << 16),
           inst.signal.increment, traceSignaller(signalPath(w.path, semaphoreLatency_), w.stream, w.cursor.pc(), now));
    w.blocked = false;
    w.cursor.next();
    push(now + c.busy, kReady, x);
  }
  arrived.clear();
  return true;
}

// Wakes the satisfied waiters at once (in the order they began waiting)
// rather than through the heap.
void Machine::signal(uint16_t core, uint16_t sem, uint32_t increment, SimTime now, uint32_t path) {
  uint64_t value = semaphores_[core][sem] += increment;
  std::vector<Waiter> &ws = waiters_[core][sem];
  woken_.clear();
  size_t kept = 0;
  for (const Waiter &w : ws) {
    if (w.need <= value)
      woken_.push_back(w.engine);
    else
      ws[kept++] = w;
  }
  ws.resize(kept);
  for (uint32_t e : woken_) {
    EngineRun &r = engines_[e];
    stats_.streams[r.stream].dependencyWait += now - r.blockedSince;
    if (options_.trace) {
      TraceWait tw{r.stream, r.cursor.pc(), r.blockedSince, now};
      tw.sem = sem;
      tw.need = r.waitNeed;
      if (path != kNoPath && path < signallers_.size()) {
        tw.bySignaller = signallers_[path].stream;
        tw.byPc = signallers_[path].pc;
        tw.bySliceStart = signallers_[path].start;
      }
      stats_.waits.push_back(tw);
    }
    if (path != kNoPath)
      r.path = paths_[path]; // released by this signal: its path leads here
  }
  if (path != kNoPath) {
    noteEnd(now, paths_[path]);
    freePaths_.push_back(path);
  }
  for (uint32_t e : woken_)
    issue(e, now);
}

void Machine::completeDma(const DmaCompletion &done, SimTime now) {
  const uint32_t e = done.owner;
  EngineRun &r = engines_[e];
  const Instruction &inst = r.cursor.current();
  StreamStats &st = stats_.streams[r.stream];
  SimTime busy = now - r.dmaIssued;
  st.busy += busy;
  st.activity.add(r.dmaIssued, now);
  const StaticCost &c = costs_[r.stream][r.cursor.pc()];
  const PathCause rateCause = c.collective ? PathCause::Link : PathCause::DmaEngines;
  r.path.add(rateCause, done.engineTime);
  r.path.add(PathCause::Hbm, done.hbmTime);
  r.path.catchUp(now, rateCause); // rounding of the fluid model
  if (c.collective)
    stats_.collectives.push_back(
        CollectiveSlice{r.stream, r.cursor.pc(), r.dmaIssued, now - done.engineTime - done.hbmTime, now});
  noteEnd(now, r.path);
  if (options_.trace)
    recordSlice(TraceSlice{r.stream, r.cursor.pc(), r.dmaIssued, busy});
  if (inst.signal.present()) {
    const SimTime latency =
        toTime(chip_.hbm.latency_seconds * kFemtosecondsPerSecond, kFemtosecondsPerSecond) + semaphoreLatency_;
    push(now + latency, kSignal, inst.signal.sem | (uint32_t(r.core) << 16), inst.signal.increment,
         traceSignaller(signalPath(r.path, latency), r.stream, r.cursor.pc(), r.dmaIssued));
  }
  r.cursor.next();
  push(now, kReady, e);
}

void Machine::dmaChanged(SimTime now) {
  dmaNext_ = dma_.nextCompletion();
  if (options_.trace)
    stats_.hbmRate.push_back(RateSample{now, dma_.hbmRate()});
}

// DMA completions are not heap events: the loop takes whichever comes first,
// the heap's next event or the DMA model's next completion (heap first on a
// tie, so transfers starting at that instant are counted in the sharing).
RunStats Machine::run() {
  for (uint32_t e = 0; e < engines_.size(); ++e)
    push(0, kReady, e);
  SimTime now = 0;
  while (!heap_->empty() || dmaNext_ >= 0) {
    if (dmaNext_ >= 0 && (heap_->empty() || dmaNext_ < heap_->top().time)) {
      now = dmaNext_;
      guard_.simulated(static_cast<double>(now) / kFemtosecondsPerSecond);
      for (const DmaCompletion &done : dma_.advance(now))
        completeDma(done, now);
      dmaChanged(now);
      continue;
    }
    const Event ev = heap_->pop();
    now = ev.time;
    if (options_.timing)
      guard_.simulated(static_cast<double>(now) / kFemtosecondsPerSecond);
    switch (ev.kind) {
    case kReady:
      issue(ev.a, now);
      break;
    case kSignal:
      signal(static_cast<uint16_t>(ev.a >> 16), static_cast<uint16_t>(ev.a & 0xffff),
             ev.payload, now, ev.path);
      break;
    case kDmaStart: {
      const EngineRun &r = engines_[ev.a];
      const StaticCost &c = costs_[r.stream][r.cursor.pc()];
      if (c.collective)
        dma_.startCollective(now, r.core, c.coll.link_bytes, c.coll.link_bytes_per_second, c.coll.hbm_sides,
                             c.coll.links, ev.a);
      else
        dma_.start(now, r.core, c.dma, ev.a);
      dmaChanged(now);
      break;
    }
    }
  }
  for (const EngineRun &r : engines_)
    if (!r.done)
      deadlock();
  stats_.end = std::max(now, busyEnd_);
  if (options_.timing) {
    endPath_.catchUp(stats_.end, PathCause::Latency);
    stats_.criticalPath = endPath_;
    stats_.dmaEngineSeconds = dma_.engineSeconds();
    stats_.hbmCappedSeconds = dma_.hbmCappedSeconds();
  }
  // Exact byte counts from the instructions (the DMA model integrates rates).
  for (const StreamStats &st : stats_.streams)
    stats_.total += st.actions;
  stats_.hbmBytes = stats_.total.hbm_bytes;
  return std::move(stats_);
}

void Machine::deadlock() const {
  std::ostringstream os;
  os << "deadlock: no stream can make progress;";
  int listed = 0;
  for (const EngineRun &r : engines_) {
    if (r.done)
      continue;
    if (listed++ == 4) {
      os << " ...";
      break;
    }
    const Stream &s = program_.streams[r.stream];
    os << " " << describeInstruction(program_, s, r.cursor.pc());
    if (r.waitSem != kNoSemaphore)
      os << " waits for s" << r.waitSem << " >= " << r.waitNeed << " (value "
         << semaphores_[r.core][r.waitSem] << ");";
    else
      os << " waits at a barrier;";
  }
  fail(os.str());
}

} // namespace trnx
