// SPMD functional run: a zero-time interpreter per rank and stream (loops,
// semaphores, barriers) and exact collectives across the ranks of a group.
// The n-th collective of a replica-group set in a stream matches the n-th one
// of the same stream on the other members of the group.
#include "simulator/system/SpmdFunctional.h"

#include "isa/CheckedMath.h"

#include "isa/Error.h"
#include "isa/Semantics.h"
#include "isa/Verifier.h"
#include "simulator/functional/FunctionalExecutor.h"

#include <algorithm>
#include <cstring>
#include <sstream>

namespace trnx {

struct SpmdFunctional::StreamRun {
  size_t pc = 0;
  LoopIndices iv{};
  std::vector<std::pair<size_t, int64_t>> loops; // body start, count
  uint64_t barriersReached[2] = {0, 0};          // core, chip scope
  bool atBarrier = false;
  bool atCollective = false;
  std::map<int32_t, uint64_t> collectives; // per set: collectives started
  bool done = false;
};

struct SpmdFunctional::Rank {
  std::vector<StreamRun> streams;
  std::vector<std::map<uint16_t, uint64_t>> semaphores; // per core
  std::unique_ptr<FunctionalExecutor> executor;
};

namespace {

bool isCollective(const Instruction &inst) { return inst.info().cost == CostKind::Collective; }

// The group of `set` that holds `rank`, in position order.
const std::vector<uint16_t> &groupOf(const Program &p, int32_t set, int rank) {
  for (const std::vector<uint16_t> &g : p.replicaGroups[set].groups)
    for (uint16_t r : g)
      if (r == rank)
        return g;
  fail("internal: rank ", rank, " is in no group of set ", set);
}

uint64_t waitTarget(const SemWait &w, const LoopIndices &iv) {
  int64_t v = w.value;
  for (int l = 0; l < kMaxLoopDepth; ++l)
    v += static_cast<int64_t>(w.step[l]) * iv[l];
  return static_cast<uint64_t>(v);
}

} // namespace

SpmdFunctional::SpmdFunctional(const Program &program, const ChipConfig &chip, const RunLimits &limits)
    : program_(program), guard_(limits) {
  // One HBM image per rank, checked against the host before allocating.
  const uint64_t host = hostMemoryLimit(limits);
  const uint64_t need = saturatingMul(program.hbmExtent(), program.numRanks);
  if (need > host)
    fail("functional simulation of ", program.numRanks, " ranks needs ", need, " bytes of HBM images; the limit is ",
         host, " bytes of host memory");
  state_.resize(program.numRanks);
  for (int r = 0; r < program.numRanks; ++r) {
    memories_.push_back(std::make_unique<DeviceMemory>(program, chip));
    for (const RankData &d : program.rankData)
      if (d.rank == r && !d.data.empty())
        std::memcpy(memories_[r]->hbm() + program.tensors[d.tensor].hbmOffset, d.data.data(), d.data.size());
    state_[r].streams.resize(program.streams.size());
    state_[r].semaphores.resize(program.numCores);
    state_[r].executor = std::make_unique<FunctionalExecutor>(*memories_[r], host);
  }
}

SpmdFunctional::~SpmdFunctional() = default;

void SpmdFunctional::retire(int rank, size_t stream) {
  StreamRun &run = state_[rank].streams[stream];
  const Instruction &inst = program_.streams[stream].code[run.pc];
  if (inst.signal.present())
    state_[rank].semaphores[program_.streams[stream].core][inst.signal.sem] += inst.signal.increment;
  ++run.pc;
  ++executed_;
}

bool SpmdFunctional::step(int rank, size_t stream) {
  StreamRun &run = state_[rank].streams[stream];
  const Stream &s = program_.streams[stream];
  if (run.done)
    return false;
  if (run.pc >= s.code.size()) {
    run.done = true;
    return true;
  }
  const Instruction &inst = s.code[run.pc];
  if (run.atCollective)
    return false;
  if (inst.wait.present() && state_[rank].semaphores[s.core][inst.wait.sem] < waitTarget(inst.wait, run.iv))
    return false;
  switch (inst.opcode) {
  case Opcode::Loop:
    run.iv[run.loops.size()] = 0;
    run.loops.emplace_back(run.pc + 1, inst.i32[0]);
    retire(rank, stream);
    return true;
  case Opcode::EndLoop: {
    const size_t level = run.loops.size() - 1;
    if (++run.iv[level] < run.loops.back().second) {
      if (inst.signal.present())
        state_[rank].semaphores[s.core][inst.signal.sem] += inst.signal.increment;
      run.pc = run.loops.back().first;
      return true;
    }
    run.iv[level] = 0;
    run.loops.pop_back();
    retire(rank, stream);
    return true;
  }
  case Opcode::Barrier: {
    const int scope = inst.enums[0]; // 0 core, 1 chip
    bool changed = false;
    if (!run.atBarrier) {
      run.atBarrier = true;
      ++run.barriersReached[scope];
      changed = true;
    }
    for (size_t i = 0; i < program_.streams.size(); ++i)
      if ((scope == 1 || program_.streams[i].core == s.core) &&
          state_[rank].streams[i].barriersReached[scope] < run.barriersReached[scope])
        return changed;
    run.atBarrier = false;
    retire(rank, stream);
    return true;
  }
  case Opcode::RankId: {
    int value = rank;
    if (inst.i32[0] >= 0) {
      const std::vector<uint16_t> &g = groupOf(program_, inst.i32[0], rank);
      value = static_cast<int>(std::find(g.begin(), g.end(), rank) - g.begin());
    }
    std::vector<float> v(inst.ap[0].elementCount(), static_cast<float>(value));
    storeOperand(*memories_[rank], s.core, inst.ap[0], run.iv, v);
    retire(rank, stream);
    return true;
  }
  default:
    break;
  }
  if (isCollective(inst))
    return tryCollective(rank, stream);
  guard_.instruction(-1.0);
  try {
    state_[rank].executor->execute(s.core, inst, run.iv);
  } catch (const Error &e) {
    fail("rank ", rank, " ", describeInstruction(program_, s, run.pc), ": ", e.what());
  }
  retire(rank, stream);
  return true;
}

bool SpmdFunctional::tryCollective(int rank, size_t stream) {
  StreamRun &run = state_[rank].streams[stream];
  const Instruction &inst = program_.streams[stream].code[run.pc];
  const int32_t set = inst.i32[0];
  run.atCollective = true;
  const uint64_t seq = run.collectives[set]++;
  const std::vector<uint16_t> &group = groupOf(program_, set, rank);
  std::vector<int> members;
  for (uint16_t m : group) {
    const StreamRun &other = state_[m].streams[stream];
    auto started = other.collectives.find(set);
    if (!other.atCollective || started == other.collectives.end() || started->second != seq + 1)
      return true; // arrived; the last member to arrive runs it
    members.push_back(m);
  }
  for (int m : members) {
    const Instruction &mine = program_.streams[stream].code[state_[m].streams[stream].pc];
    if (mine.opcode != inst.opcode || mine.i32[0] != set)
      fail("rank ", m, " ", describeInstruction(program_, program_.streams[stream], state_[m].streams[stream].pc),
           " meets rank ", rank, "'s '", inst.info().mnemonic, "' as collective #", seq, " of set ", set);
  }
  executeCollective(members, stream);
  for (int m : members) {
    state_[m].streams[stream].atCollective = false;
    retire(m, stream);
  }
  return true;
}

void SpmdFunctional::executeCollective(const std::vector<int> &members, size_t stream) {
  const Stream &s = program_.streams[stream];
  const size_t G = members.size();
  auto instOf = [&](size_t g) -> const Instruction & { return s.code[state_[members[g]].streams[stream].pc]; };
  auto ivOf = [&](size_t g) -> const LoopIndices & { return state_[members[g]].streams[stream].iv; };
  auto memOf = [&](size_t g) -> DeviceMemory & { return *memories_[members[g]]; };
  const Instruction &first = instOf(0);
  const size_t esize = dtypeSize(first.ap[1].dtype);
  auto where = [&](size_t g) {
    return "rank " + std::to_string(members[g]) + " " + describeInstruction(program_, s, state_[members[g]].streams[stream].pc);
  };
  // Every member's operands must agree with the first one's (SPMD programs
  // with loop-dependent shapes cannot differ, but rank data could).
  std::vector<std::vector<uint8_t>> src(G), dst(G);
  for (size_t g = 0; g < G; ++g)
    loadOperandBytes(memOf(g), s.core, instOf(g).ap[1], ivOf(g), src[g]);
  const size_t srcBytes = src[0].size(), dstBytes = first.ap[0].bytes();
  auto storeAll = [&]() {
    for (size_t g = 0; g < G; ++g)
      storeOperandBytes(memOf(g), s.core, instOf(g).ap[0], ivOf(g), dst[g]);
  };
  const AluOp op = static_cast<AluOp>(first.enums[0]);
  switch (first.opcode) {
  case Opcode::AllReduce:
  case Opcode::ReduceScatter: {
    std::vector<std::vector<float>> vals(G);
    for (size_t g = 0; g < G; ++g)
      loadOperand(memOf(g), s.core, instOf(g).ap[1], ivOf(g), vals[g]);
    const size_t n = vals[0].size(), chunk = first.opcode == Opcode::AllReduce ? n : n / G;
    std::vector<float> acc(n);
    for (size_t i = 0; i < n; ++i) {
      float a = vals[0][i];
      for (size_t g = 1; g < G; ++g)
        a = applyAlu(op, a, vals[g][i]);
      acc[i] = a;
    }
    for (size_t g = 0; g < G; ++g) {
      const size_t from = first.opcode == Opcode::AllReduce ? 0 : g * chunk;
      std::vector<float> out(acc.begin() + static_cast<std::ptrdiff_t>(from),
                             acc.begin() + static_cast<std::ptrdiff_t>(from + chunk));
      storeOperand(memOf(g), s.core, instOf(g).ap[0], ivOf(g), out);
    }
    return;
  }
  case Opcode::AllGather:
    for (size_t g = 0; g < G; ++g) {
      dst[g].clear();
      for (size_t k = 0; k < G; ++k)
        dst[g].insert(dst[g].end(), src[k].begin(), src[k].end());
    }
    storeAll();
    return;
  case Opcode::AllToAll: {
    const size_t chunk = srcBytes / G;
    for (size_t j = 0; j < G; ++j) {
      dst[j].assign(dstBytes, 0);
      for (size_t i = 0; i < G; ++i)
        std::memcpy(dst[j].data() + i * chunk, src[i].data() + j * chunk, chunk);
    }
    storeAll();
    return;
  }
  case Opcode::AllToAllV: {
    std::vector<std::vector<int32_t>> meta(G);
    for (size_t g = 0; g < G; ++g) {
      std::vector<uint8_t> bytes;
      loadOperandBytes(memOf(g), s.core, instOf(g).ap[2], ivOf(g), bytes);
      meta[g].resize(bytes.size() / 4);
      std::memcpy(meta[g].data(), bytes.data(), bytes.size());
      loadOperandBytes(memOf(g), s.core, instOf(g).ap[0], ivOf(g), dst[g]);
    }
    const int64_t srcElems = static_cast<int64_t>(srcBytes / esize), dstElems = static_cast<int64_t>(dstBytes / esize);
    for (size_t i = 0; i < G; ++i)
      for (size_t j = 0; j < G; ++j) {
        const int64_t count = meta[i][j], from = meta[i][G + j];
        const int64_t expect = meta[j][2 * G + i], to = meta[j][3 * G + i];
        if (count != expect)
          fail(where(i), ": sends ", count, " elements to position ", j, ", which expects ", expect);
        if (count < 0 || from < 0 || from + count > srcElems)
          fail(where(i), ": send range [", from, ", ", from + count, ") to position ", j, " is outside src's ",
               srcElems, " elements");
        if (to < 0 || to + count > dstElems)
          fail(where(j), ": receive range [", to, ", ", to + count, ") from position ", i, " is outside dst's ",
               dstElems, " elements");
        std::memcpy(dst[j].data() + to * esize, src[i].data() + from * esize, static_cast<size_t>(count) * esize);
      }
    storeAll();
    return;
  }
  case Opcode::Permute: {
    const int64_t shift = first.i32[3];
    const bool wrap = first.flag(0);
    for (size_t g = 0; g < G; ++g) {
      int64_t t = static_cast<int64_t>(g) + shift;
      if (wrap)
        t = ((t % static_cast<int64_t>(G)) + static_cast<int64_t>(G)) % static_cast<int64_t>(G);
      else if (t < 0 || t >= static_cast<int64_t>(G))
        continue;
      storeOperandBytes(memOf(static_cast<size_t>(t)), s.core, instOf(static_cast<size_t>(t)).ap[0],
                        ivOf(static_cast<size_t>(t)), src[g]);
    }
    return;
  }
  default:
    fail("internal: '", first.info().mnemonic, "' is not a collective");
  }
}

void SpmdFunctional::run() {
  while (true) {
    bool progress = false, finished = true;
    for (int r = 0; r < ranks(); ++r)
      for (size_t i = 0; i < program_.streams.size(); ++i) {
        while (step(r, i))
          progress = true;
        finished = finished && state_[r].streams[i].done;
      }
    if (finished)
      return;
    if (!progress)
      deadlock();
  }
}

void SpmdFunctional::deadlock() const {
  std::ostringstream os;
  os << "deadlock: no rank can make progress;";
  int listed = 0;
  for (int r = 0; r < static_cast<int>(state_.size()) && listed < 8; ++r)
    for (size_t i = 0; i < program_.streams.size() && listed < 8; ++i) {
      const StreamRun &run = state_[r].streams[i];
      if (run.done)
        continue;
      const Instruction &inst = program_.streams[i].code[run.pc];
      os << " rank " << r << " " << describeInstruction(program_, program_.streams[i], run.pc)
         << (run.atCollective ? " waits for its group"
             : run.atBarrier  ? " waits at the barrier"
                              : " waits for s" + std::to_string(inst.wait.sem) + " >= " +
                                    std::to_string(waitTarget(inst.wait, run.iv)))
         << ";";
      ++listed;
    }
  fail(os.str());
}

std::vector<std::map<std::string, HostArray>> simulateSpmdFunctional(
    const Program &program, const ChipConfig &chip, const std::map<std::string, HostArray> &inputs,
    const RunLimits &limits) {
  verifyProgram(program, chip.limits());
  SpmdFunctional run(program, chip, limits);
  for (const TensorInfo &t : program.tensors) {
    if (t.role != TensorRole::Input)
      continue;
    auto it = inputs.find(t.name);
    if (it == inputs.end())
      fail("input '", t.name, "' was not given (--input ", t.name, "=FILE.npy)");
    std::vector<uint8_t> bytes = arrayToTensorBytes(it->second, t);
    for (int r = 0; r < run.ranks(); ++r)
      if (!bytes.empty())
        std::memcpy(run.memory(r).hbm() + t.hbmOffset, bytes.data(), bytes.size());
  }
  for (const auto &kv : inputs) {
    int i = program.findTensor(kv.first);
    if (i < 0 || program.tensors[i].role != TensorRole::Input)
      fail("'", kv.first, "' is not an input of the program");
  }
  run.run();
  std::vector<std::map<std::string, HostArray>> outputs(run.ranks());
  for (int r = 0; r < run.ranks(); ++r)
    for (const TensorInfo &t : program.tensors)
      if (t.role == TensorRole::Output)
        outputs[r][t.name] = tensorBytesToArray(run.memory(r).hbm() + t.hbmOffset, t);
  return outputs;
}

} // namespace trnx
