// Semaphore inference over a kernel's loop tree and per-engine emission.
#include "compiler/codegen/SyncInsertion.h"

#include "isa/Error.h"

#include <algorithm>
#include <limits>

namespace trnx::cg {
namespace {

struct Placement {
  std::vector<int> loops;   // enclosing loop nodes, outermost first
  std::vector<int64_t> trips;
  std::vector<int> position; // index within the parent at each level (loops..., then the op)
};

// A box an operand may touch over all iterations of its loops.
struct Box {
  MemSpace space;
  uint32_t tensor;
  int64_t pLo, pHi; // partitions (on chip)
  int64_t lo, hi;   // bytes
  bool write;
  // HBM: when every dim strides by a multiple of `period` bytes except some
  // whose total reach is below it, the bytes touched lie in residues
  // [residue, residue + residueLen) mod period (0: not known). Tiles of a
  // transposed matrix (columns of rows) interleave in [lo, hi) but not here.
  int64_t period = 0, residue = 0, residueLen = 0;
};

// The residue window of an HBM pattern (Box::period), from its dims
// (stride, count) in bytes; all strides must be >= 0.
void residueWindow(Box &b, int64_t offset, const std::vector<std::pair<int64_t, int64_t>> &dims, int64_t es) {
  for (const auto &[stride, count] : dims)
    if (stride < 0)
      return;
  int64_t best = 0, bestReach = 0;
  for (const auto &[q, qc] : dims) {
    if (qc < 2 || q <= best)
      continue;
    int64_t reach = es;
    for (const auto &[stride, count] : dims)
      if (count > 1 && stride % q != 0)
        reach += stride * (count - 1);
    if (reach <= q) {
      best = q;
      bestReach = reach;
    }
  }
  if (best == 0)
    return;
  b.period = best;
  b.residue = ((offset % best) + best) % best;
  b.residueLen = bestReach;
}

// Whether two residue windows of the same period overlap (on the circle).
bool residuesOverlap(const Box &a, const Box &b) {
  const int64_t q = a.period;
  const int64_t d1 = ((b.residue - a.residue) % q + q) % q, d2 = ((a.residue - b.residue) % q + q) % q;
  return d1 < a.residueLen || d2 < b.residueLen;
}

std::vector<Box> boxesOf(const Instruction &inst, const std::vector<int64_t> &trips) {
  std::vector<Box> boxes;
  for (const FieldSpec &f : inst.info().fields) {
    if (f.kind != FieldKind::Ap && f.kind != FieldKind::OptAp)
      continue;
    const AccessPattern &a = inst.ap[f.slot];
    if (!a.present())
      continue;
    int64_t stepLo = 0, stepHi = 0;
    for (size_t l = 0; l < trips.size(); ++l) {
      int64_t reach = static_cast<int64_t>(a.offsetStep[l]) * (trips[l] - 1);
      (reach < 0 ? stepLo : stepHi) += reach;
    }
    int64_t eLo, eHi;
    a.freeExtent(eLo, eHi);
    const int64_t es = dtypeSize(a.dtype);
    Box b{a.space, a.tensor, 0, 0, 0, 0, isWriteField(f)};
    if (a.space == MemSpace::HBM) {
      int64_t rowReach = static_cast<int64_t>(a.partitionStride) * (a.partitionCount - 1);
      b.lo = a.offset + stepLo + (eLo + std::min<int64_t>(0, rowReach)) * es;
      b.hi = a.offset + stepHi + (eHi + std::max<int64_t>(0, rowReach)) * es + es;
      // An indirect gather may read any row of its table.
      if (inst.opcode == Opcode::DmaGather && f.slot == 1) {
        b.lo = std::numeric_limits<int64_t>::min() / 4;
        b.hi = std::numeric_limits<int64_t>::max() / 4;
      } else {
        std::vector<std::pair<int64_t, int64_t>> dims;
        dims.emplace_back(static_cast<int64_t>(a.partitionStride) * es, a.partitionCount);
        for (int d = 0; d < a.numDims; ++d)
          dims.emplace_back(static_cast<int64_t>(a.dims[d].stride) * es, a.dims[d].count);
        for (size_t l = 0; l < trips.size(); ++l)
          dims.emplace_back(static_cast<int64_t>(a.offsetStep[l]), trips[l]);
        residueWindow(b, a.offset, dims, es);
      }
    } else {
      b.pLo = a.partitionStart;
      b.pHi = a.partitionStart + a.partitionCount;
      b.lo = a.offset + stepLo + eLo * es;
      b.hi = a.offset + stepHi + eHi * es + es;
    }
    boxes.push_back(b);
  }
  return boxes;
}

bool conflict(const std::vector<Box> &x, const std::vector<Box> &y) {
  for (const Box &a : x)
    for (const Box &b : y) {
      if (!a.write && !b.write)
        continue;
      if (a.space != b.space)
        continue;
      if (a.space == MemSpace::HBM) {
        if (a.tensor != b.tensor)
          continue;
      } else if (a.pHi <= b.pLo || b.pHi <= a.pLo) {
        continue;
      }
      if (a.hi <= b.lo || b.hi <= a.lo)
        continue;
      if (a.space == MemSpace::HBM && a.period && a.period == b.period && !residuesOverlap(a, b))
        continue;
      return true;
    }
  return false;
}

std::vector<Placement> placements(const CoreKernel &k) {
  const auto &nodes = k.nodes();
  std::vector<Placement> out(k.ops().size());
  // Depth-first walk carrying the loop path and positions.
  struct Frame {
    int node;
    Placement place;
  };
  std::vector<Frame> stack{{0, {}}};
  while (!stack.empty()) {
    Frame f = std::move(stack.back());
    stack.pop_back();
    const auto &children = nodes[f.node].children;
    for (int i = static_cast<int>(children.size()) - 1; i >= 0; --i) {
      const auto &child = nodes[children[i]];
      Placement p = f.place;
      p.position.push_back(i);
      if (child.isLoop) {
        p.loops.push_back(children[i]);
        p.trips.push_back(child.count);
        stack.push_back({children[i], std::move(p)});
      } else {
        out[child.op] = std::move(p);
      }
    }
  }
  return out;
}

int64_t product(const std::vector<int64_t> &v, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to && i < v.size(); ++i)
    p *= v[i];
  return p;
}

} // namespace

namespace {

// An affine count sum(coeff[l] * v_l) + constant over a consumer's loops.
struct Count {
  int64_t constant = 0;
  std::array<int64_t, kMaxLoopDepth> coeff{};
  void add(const Count &o) {
    constant += o.constant;
    for (int l = 0; l < kMaxLoopDepth; ++l)
      coeff[l] += o.coeff[l];
  }
};

// linear_j(v) * scale: the iteration number of the first j loops.
Count linear(const std::vector<int64_t> &trips, size_t j, int64_t scale) {
  Count c;
  for (size_t l = 0; l < j; ++l)
    c.coeff[l] = scale * product(trips, l + 1, j);
  return c;
}

size_t commonDepth(const Placement &a, const Placement &b) {
  size_t k = 0;
  while (k < a.loops.size() && k < b.loops.size() && a.loops[k] == b.loops[k])
    ++k;
  return k;
}

// Z before X in sequential order within their innermost common body.
bool before(const Placement &z, const Placement &x, size_t common) {
  return z.position[common] < x.position[common];
}

// Producing instructions of X's engine that must have signalled before Y(v)
// may start, as an affine count (see the header). Y enters only through k
// (the loops Y shares with X) and whether X comes first in their innermost
// common body: every trip count used is of a loop shared by X and Y (for a
// producer Z that leaves X's loops above depth k, Z's relation to Y is its
// relation to X). So the count is computed once per (X, k, xFirst).
Count required(const std::vector<Placement> &place, const std::vector<int> &producers, int x, size_t k,
               bool xFirst) {
  const Placement &px = place[x];
  const std::vector<int64_t> &shared = px.trips; // trips of loops 0..k-1, shared with Y
  Count total;
  for (int z : producers) {
    const Placement &pz = place[z];
    const size_t kz = z == x ? px.loops.size() : commonDepth(pz, px);
    const int64_t below = product(pz.trips, kz, pz.trips.size());
    const bool zFirst = z == x || before(pz, px, kz);
    if (!xFirst && kz < k) {
      // Not affine: every earlier producer. Z parts from Y where it parts
      // from X (depth kz < k), on the same side.
      Count c = linear(shared, kz, below);
      if (zFirst)
        c.constant += below;
      total.add(c);
      continue;
    }
    // linear_kz(u) * below, u = X's last execution before Y(v).
    Count c;
    if (kz <= k) {
      c = linear(shared, kz, below);
      if (!xFirst) // u is one iteration (at depth k = kz) before v
        c.constant -= below;
    } else {
      // linear_kz(u) = (linear_k(u) + 1) * inner - 1, inner = trips of X's loops k..kz-1
      const int64_t inner = product(px.trips, k, kz);
      c = linear(shared, k, inner * below);
      c.constant += (xFirst ? inner : 0) * below - below;
    }
    if (zFirst)
      c.constant += below;
    total.add(c);
  }
  return total;
}

} // namespace

EngineStreams insertSync(const CoreKernel &k, SemaphoreState &sems, uint32_t loc) {
  const auto &ops = k.ops();
  const auto &engines = k.engines();
  const size_t n = ops.size();
  std::vector<Placement> place = placements(k);
  std::vector<std::vector<Box>> boxes(n);
  for (size_t i = 0; i < n; ++i)
    boxes[i] = boxesOf(ops[i], place[i].trips);

  // Dependencies of each instruction on instructions of other engines.
  std::vector<std::vector<int>> deps(n);
  std::vector<bool> signals(n, false);
  for (size_t y = 0; y < n; ++y) {
    for (size_t x = 0; x < n; ++x) {
      if (x == y || engines[x] == engines[y] || !conflict(boxes[x], boxes[y]))
        continue;
      const Placement &px = place[x], &py = place[y];
      const size_t common = commonDepth(px, py);
      if (!before(px, py, common) && common == 0)
        continue; // x never runs before y
      deps[y].push_back(static_cast<int>(x));
      signals[x] = true;
    }
  }

  // One semaphore per producing engine.
  const int limit = k.target().limits.semaphores;
  if (sems.value.size() < static_cast<size_t>(limit))
    sems.value.resize(limit, 0);
  std::map<EngineId, int> semOf;
  std::map<EngineId, std::vector<int>> producers;
  for (size_t i = 0; i < n; ++i)
    if (signals[i]) {
      if (!semOf.count(engines[i])) {
        if (static_cast<int>(semOf.size()) >= limit)
          fail("kernel needs more than the target's ", limit, " semaphores per core");
        const int id = static_cast<int>(semOf.size());
        semOf[engines[i]] = id;
      }
      producers[engines[i]].push_back(static_cast<int>(i));
    }

  // Required counts, and the priming that keeps every wait value >= 0.
  std::vector<std::vector<std::pair<EngineId, Count>>> needs(n);
  std::map<EngineId, int64_t> priming;
  // required() per (x, k, xFirst): slot x * (kMaxLoopDepth + 1) * 2 + k * 2 + xFirst.
  const size_t slots = (kMaxLoopDepth + 1) * 2;
  std::vector<Count> memo(n * slots);
  std::vector<bool> known(n * slots, false);
  for (size_t y = 0; y < n; ++y)
    for (int x : deps[y]) {
      const size_t k = commonDepth(place[x], place[y]);
      const bool xFirst = before(place[x], place[y], k);
      const size_t slot = static_cast<size_t>(x) * slots + k * 2 + (xFirst ? 1 : 0);
      if (!known[slot]) {
        memo[slot] = required(place, producers[engines[x]], x, k, xFirst);
        known[slot] = true;
      }
      const Count &c = memo[slot];
      needs[y].emplace_back(engines[x], c);
      priming[engines[x]] = std::max(priming[engines[x]], -c.constant);
    }
  auto waitFor = [&](EngineId producer, const Count &c) {
    SemWait w;
    w.sem = static_cast<uint16_t>(semOf.at(producer));
    const int64_t value = static_cast<int64_t>(sems.value[w.sem]) + priming[producer] + c.constant;
    int64_t maxValue = value;
    for (int l = 0; l < kMaxLoopDepth; ++l) {
      if (c.coeff[l] > std::numeric_limits<int32_t>::max())
        fail("internal: semaphore step ", c.coeff[l], " exceeds int32");
      w.step[l] = static_cast<int32_t>(c.coeff[l]);
    }
    (void)maxValue;
    if (value < 0 || value > std::numeric_limits<uint32_t>::max())
      fail("program exceeds the 32-bit semaphore range");
    w.value = static_cast<uint32_t>(value);
    return w;
  };

  // Emit each engine's stream by walking the tree and keeping its instructions.
  EngineStreams streams;
  std::vector<EngineId> used;
  for (EngineId e : engines)
    if (std::find(used.begin(), used.end(), e) == used.end())
      used.push_back(e);
  const auto &nodes = k.nodes();
  for (EngineId engine : used) {
    std::vector<Instruction> out;
    auto prime = priming.find(engine);
    if (prime != priming.end() && prime->second > 0) {
      if (prime->second > 65535)
        fail("internal: semaphore priming of ", prime->second, " exceeds the 16-bit increment");
      Instruction p = makeInstruction(Opcode::SemSignal);
      p.signal = SemSignal{static_cast<uint16_t>(semOf.at(engine)), static_cast<uint16_t>(prime->second)};
      p.loc = loc;
      out.push_back(p);
    }
    // Waits already executed in this stream, per open loop scope. A later
    // wait on the same semaphore with the same loop steps and a value no
    // larger is implied by one of them and is dropped.
    std::vector<std::vector<SemWait>> satisfied(1);
    auto implied = [&](const SemWait &w) {
      for (const auto &scope : satisfied)
        for (const SemWait &r : scope)
          if (r.sem == w.sem && r.step == w.step && r.value >= w.value)
            return true;
      return false;
    };
    std::function<void(int)> walk = [&](int node) {
      for (int child : nodes[node].children) {
        const auto &c = nodes[child];
        if (c.isLoop) {
          size_t mark = out.size();
          Instruction loop = makeInstruction(Opcode::Loop);
          loop.i32[0] = static_cast<int32_t>(c.count);
          loop.loc = loc;
          out.push_back(loop);
          satisfied.emplace_back();
          walk(child);
          satisfied.pop_back();
          if (out.size() == mark + 1) {
            out.pop_back(); // no instruction of this engine inside
          } else {
            Instruction end = makeInstruction(Opcode::EndLoop);
            end.loc = loc;
            out.push_back(end);
          }
          continue;
        }
        const size_t y = static_cast<size_t>(c.op);
        if (engines[y] != engine)
          continue;
        Instruction inst = ops[y];
        inst.loc = loc;
        // Per producing engine, the largest of comparable needs.
        std::vector<SemWait> waits;
        for (const auto &[producer, count] : needs[y]) {
          SemWait w = waitFor(producer, count);
          bool merged = false;
          for (SemWait &o : waits)
            if (o.sem == w.sem && o.step == w.step) {
              o.value = std::max(o.value, w.value);
              merged = true;
            }
          if (!merged)
            waits.push_back(w);
        }
        waits.erase(std::remove_if(waits.begin(), waits.end(), implied), waits.end());
        for (size_t i = 1; i < waits.size(); ++i) {
          Instruction sw = makeInstruction(Opcode::SemWait);
          sw.wait = waits[i];
          sw.loc = loc;
          out.push_back(sw);
        }
        if (!waits.empty())
          inst.wait = waits[0];
        satisfied.back().insert(satisfied.back().end(), waits.begin(), waits.end());
        if (signals[y])
          inst.signal = SemSignal{static_cast<uint16_t>(semOf.at(engine)), 1};
        out.push_back(inst);
      }
    };
    walk(0);
    streams[engine] = std::move(out);
  }
  for (const auto &[engine, list] : producers) {
    uint64_t &value = sems.value[semOf.at(engine)];
    value += static_cast<uint64_t>(priming[engine]);
    for (int z : list)
      value += static_cast<uint64_t>(product(place[z].trips, 0, place[z].trips.size()));
  }
  return streams;
}

} // namespace trnx::cg
