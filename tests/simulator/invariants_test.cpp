// Properties every run must have, checked on many random valid programs
// (fixed seeds) on trn2, trn3 and trn4, and on trn3 with the PE-array,
// semaphore and PSUM-conflict knobs changed: achieved rates never exceed the
// peaks, no stream is busy longer than the run, runs are deterministic,
// functional execution does not change timing, and timing does not change
// functional results.
//
// The generator builds race-free programs: tasks are appended in one global
// order; every instruction signals its stream's semaphore (one per stream of
// a core), so "tile produced by stream S as its k-th signal" is the wait
// s_S >= k; a task only reads tiles of earlier tasks and writes fresh tiles
// (single assignment), so any order the semaphores allow gives the same
// data. Barriers are placed at the same point of the global order on every
// stream of their scope, so no program can deadlock.
#include "isa/AsmParser.h"
#include "isa/Error.h"
#include "simulator/Simulator.h"
#include "simulator/config/ConfigLoader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <sstream>

using namespace trnx;

namespace {

const char *kEngines[] = {"pe", "act", "dve", "pool", "sp", "q0", "q1", "q2"};
enum Slot { PE, ACT, DVE, POOL, SP, Q0, Q1, Q2, kSlots };

constexpr int kP = 64, kF = 64;      // default tile [64, 64]
constexpr int kLoadCap = 24;         // input tiles per core
constexpr int kStoreCap = 24;        // output slots per core
constexpr int kExchangeCap = 8;      // scratch slots for cross-core exchange
constexpr int kSlotBytes = 64 * 256; // one output slot: 64 rows x 256 bytes

unsigned esize(const std::string &dt) {
  return dt == "fp32" || dt == "int32" ? 4 : dt == "bf16" || dt == "fp16" ? 2 : 1;
}

struct Tile {
  std::string space; // sbuf | psum
  int pstart = 0, P = kP, F = kF;
  long off = 0;
  std::string dt = "fp32";
  int stream = -1; // global stream index of the producer
  uint64_t need = 0;

  std::string ap() const { return view("[[1," + std::to_string(F) + "]]"); }
  std::string view(const std::string &dims) const {
    std::ostringstream os;
    os << space << "[" << pstart << ":" << pstart + P << "]+" << off << ":" << dt << dims;
    return os.str();
  }
};

class Generator {
public:
  // outputStationary: matmuls are matmul_os (the only form an os array runs).
  Generator(uint32_t seed, const std::string &chip, bool outputStationary = false)
      : rng_(seed), chip_(chip), os_(outputStationary), doubleRow_(loadChip(chip).pe_array.double_row) {
    const int choices[] = {1, 1, 2, 2, 3, 4, 8};
    cores_ = choices[rng_() % 7];
    code_.resize(cores_ * kSlots);
    sig_.assign(cores_ * kSlots, 0);
    sbufNext_.assign(cores_, 0);
    psumNext_.assign(cores_, 0);
    tiles_.resize(cores_);
    loads_.assign(cores_, 0);
    stores_.assign(cores_, 0);
  }

  std::string generate(int tasks) {
    for (int t = 0; t < tasks; ++t)
      task();
    tail();
    std::ostringstream os;
    os << ".target " << chip_ << "\n.cores " << cores_ << "\n";
    for (int c = 0; c < cores_; ++c)
      os << ".tensor in" << c << " input fp32 [" << kLoadCap * kP << "," << kF << "]\n.tensor out" << c
         << " output int8 [" << kStoreCap * 64 << ",256]\n";
    os << ".tensor xch scratch int8 [" << kExchangeCap * 64 << ",256]\n";
    for (int s = 0; s < cores_ * kSlots; ++s) {
      if (code_[s].empty())
        continue;
      os << ".stream core=" << s / kSlots << " engine=" << kEngines[s % kSlots] << "\n";
      for (const std::string &l : code_[s])
        os << "  " << l << "\n";
    }
    return os.str();
  }

  std::map<std::string, HostArray> inputs() {
    std::map<std::string, HostArray> in;
    std::uniform_real_distribution<float> d(-2, 2);
    for (int c = 0; c < cores_; ++c) {
      HostArray a;
      a.shape = {kLoadCap * kP, kF};
      std::vector<float> v(kLoadCap * kP * kF);
      for (float &x : v)
        x = d(rng_);
      a.data.resize(v.size() * 4);
      std::memcpy(a.data.data(), v.data(), a.data.size());
      in["in" + std::to_string(c)] = a;
    }
    return in;
  }

  int cores() const { return cores_; }

private:
  int pick(int n) { return static_cast<int>(rng_() % n); }
  bool chance(int percent) { return pick(100) < percent; }
  int sid(int core, int slot) const { return core * kSlots + slot; }
  std::string sem(int stream) const { return "s" + std::to_string(stream % kSlots); }

  // Appends `inst` to stream s, waiting for every dependency made by another
  // stream (extra waits as sem_wait before it), and signals s.
  void emit(int s, const std::string &inst, const std::vector<const Tile *> &deps, bool signal = true) {
    std::map<int, uint64_t> need;
    for (const Tile *t : deps)
      if (t->stream != s && t->stream >= 0)
        need[t->stream] = std::max(need[t->stream], t->need);
    std::string wait;
    size_t i = 0;
    for (const auto &[stream, value] : need) {
      std::string w = "wait=" + sem(stream) + ">=" + std::to_string(value);
      if (++i < need.size())
        code_[s].push_back("sem_wait " + w);
      else
        wait = " " + w;
    }
    code_[s].push_back(inst + wait + (signal ? " signal=" + sem(s) + "+1" : ""));
    sig_[s] += signal;
  }

  // A fresh SBUF tile (single assignment), on partitions [pstart, pstart+P).
  Tile sbufTile(int core, int P, int F, const std::string &dt, int pstart = 0) {
    Tile t;
    t.space = "sbuf";
    t.P = P;
    t.F = F;
    t.dt = dt;
    t.pstart = pstart;
    t.off = sbufNext_[core];
    sbufNext_[core] += (static_cast<long>(F) * esize(dt) + 63) / 64 * 64;
    return t;
  }
  // A fresh PSUM tile inside one 2 KiB bank, or false when PSUM is used up.
  bool psumTile(int core, int P, int F, const std::string &dt, Tile &t) {
    const long bytes = static_cast<long>(F) * esize(dt);
    long off = psumNext_[core];
    if (off / 2048 != (off + bytes - 1) / 2048)
      off = (off / 2048 + 1) * 2048;
    if (off + bytes > 16384)
      return false;
    psumNext_[core] = off + (bytes + 63) / 64 * 64;
    t.space = "psum";
    t.P = P;
    t.F = F;
    t.dt = dt;
    t.off = off;
    return true;
  }
  void produced(int core, Tile t, int stream) {
    t.stream = stream;
    t.need = sig_[stream];
    tiles_[core].push_back(t);
  }

  // A random tile of `core` matching a predicate, or nullptr.
  template <typename Pred> const Tile *find(int core, Pred pred) {
    std::vector<const Tile *> ok;
    for (const Tile &t : tiles_[core])
      if (pred(t))
        ok.push_back(&t);
    return ok.empty() ? nullptr : ok[pick(static_cast<int>(ok.size()))];
  }
  const Tile *anyFloat(int core) {
    return find(core, [](const Tile &t) { return t.dt != "int32" && t.F >= 2; });
  }
  std::string floatDt() { return chance(70) ? "fp32" : "bf16"; }
  int queue() { return Q0 + pick(3); }

  void task() {
    const int c = pick(cores_);
    if (tiles_[c].size() < 2 || chance(12))
      return load(c);
    switch (pick(15)) {
    case 0:
      return load(c);
    case 1:
      return activation(c);
    case 2:
      return vector(c, DVE);
    case 3:
      return vector(c, POOL);
    case 4:
      return scalarOrCopy(c);
    case 5:
      return reduceLike(c);
    case 6:
      return pool(c);
    case 7:
      return pe(c);
    case 8:
      return store(c);
    case 9:
      return pipeline(c);
    case 10:
      return relay(c);
    case 11:
      return chance(50) ? barrier(c) : exchange(c);
    case 12:
      return gather(c);
    case 13:
      return sbufCopy(c);
    default:
      return pe(c);
    }
  }

  void load(int c) {
    if (loads_[c] >= kLoadCap)
      return;
    const int row = loads_[c]++ * kP;
    Tile t = sbufTile(c, kP, kF, "fp32");
    std::string src = "hbm[in" + std::to_string(c) + "]+" + std::to_string(row * kF * 4) + ":fp32[[" +
                      std::to_string(kF) + "," + std::to_string(kP) + "],[1," + std::to_string(kF) + "]]";
    const int q = sid(c, queue());
    emit(q, "dma_copy dst=" + t.ap() + " src=" + src + (chance(20) ? " transpose=1" : ""), {});
    produced(c, t, q);
  }

  void gather(int c) {
    // Indices from iota (int32, always inside the table's rows).
    const int s = sid(c, POOL);
    Tile idx = sbufTile(c, kP, 1, "int32");
    emit(s, "iota dst=" + idx.ap() + " base=" + std::to_string(pick(200)) + " pstep=" + std::to_string(1 + pick(5)),
         {});
    produced(c, idx, s);
    const Tile &index = tiles_[c].back();
    Tile t = sbufTile(c, kP, kF, "fp32");
    const int q = sid(c, queue());
    emit(q,
         "dma_gather dst=" + t.ap() + " src=hbm[in" + std::to_string(c) + "]+0:fp32[[" + std::to_string(kF) + "," +
             std::to_string(kLoadCap * kP) + "],[1," + std::to_string(kF) + "]] index=" + index.ap(),
         {&index});
    produced(c, t, q);
  }

  void sbufCopy(int c) {
    const Tile *src = find(c, [](const Tile &t) { return t.space == "sbuf" && t.P <= 64; });
    if (!src)
      return;
    Tile t = sbufTile(c, src->P, src->F, src->dt, chance(50) ? 64 : 0);
    const int q = sid(c, queue());
    emit(q, "dma_copy dst=" + t.ap() + " src=" + src->ap(), {src});
    produced(c, t, q);
  }

  void store(int c) {
    const Tile *src = find(c, [](const Tile &t) { return t.space == "sbuf" && t.P <= 64 && t.F * esize(t.dt) <= 256; });
    if (!src || stores_[c] >= kStoreCap)
      return;
    const int slot = stores_[c]++;
    const int rowStride = 256 / static_cast<int>(esize(src->dt));
    std::string dst = "hbm[out" + std::to_string(c) + "]+" + std::to_string(slot * kSlotBytes) + ":" + src->dt + "[[" +
                      std::to_string(rowStride) + "," + std::to_string(src->P) + "],[1," + std::to_string(src->F) +
                      "]]";
    emit(sid(c, queue()), "dma_copy dst=" + dst + " src=" + src->ap(), {src}, chance(50));
  }

  void activation(int c) {
    const Tile *src = anyFloat(c);
    if (!src)
      return;
    const char *funcs[] = {"identity", "relu", "gelu",   "gelu_tanh", "silu", "sigmoid",
                           "tanh",     "exp",  "square", "abs",       "erf"};
    Tile dst = sbufTile(c, src->P, src->F, floatDt());
    std::string inst = "activation dst=" + dst.ap() + " src=" + src->ap() + " func=" + funcs[pick(11)];
    std::vector<const Tile *> deps = {src};
    const Tile *bias = find(c, [&](const Tile &t) {
      return t.space == "sbuf" && t.P == src->P && t.dt != "int32" && t.pstart == src->pstart;
    });
    if (bias && chance(40)) {
      inst += " bias_ap=" + bias->view("[[1,1]]");
      deps.push_back(bias);
    } else {
      inst += " scale=0.5 bias=0.125";
    }
    Tile red;
    const bool reduce = chance(40);
    if (reduce) {
      red = sbufTile(c, src->P, 1, "fp32");
      const char *ops[] = {"add", "max", "min"};
      inst += std::string(" reduce=") + ops[pick(3)] + " reduce_dst=" + red.ap();
    }
    dst.pstart = red.pstart = src->pstart;
    const int s = sid(c, ACT);
    emit(s, inst, deps);
    produced(c, dst, s);
    if (reduce)
      produced(c, red, s);
  }

  void vector(int c, int slot) {
    const Tile *a = anyFloat(c);
    if (!a)
      return;
    const Tile *b =
        find(c, [&](const Tile &t) { return t.P == a->P && t.F == a->F && t.dt != "int32" && t.pstart == a->pstart; });
    Tile dst = sbufTile(c, a->P, a->F, floatDt(), a->pstart);
    const char *ops[] = {"add", "sub", "mul", "max", "min", "rsub", "gt", "eq"};
    const int s = sid(c, slot);
    if (slot == DVE && chance(25)) {
      const Tile *p = find(
          c, [&](const Tile &t) { return t.P == a->P && t.F == a->F && t.dt != "int32" && t.pstart == a->pstart; });
      emit(s, "select dst=" + dst.ap() + " pred=" + p->ap() + " on_true=" + a->ap() + " on_false=" + b->ap(),
           {p, a, b});
    } else {
      emit(s, "tensor_tensor dst=" + dst.ap() + " src0=" + a->ap() + " src1=" + b->ap() + " op=" + ops[pick(8)],
           {a, b});
    }
    produced(c, dst, s);
  }

  void scalarOrCopy(int c) {
    const Tile *src = anyFloat(c);
    if (!src)
      return;
    const int slots[] = {ACT, DVE, POOL};
    const int s = sid(c, slots[pick(3)]);
    if (chance(50)) {
      const char *dts[] = {"fp32", "bf16", "fp16", "fp8e4m3", "fp8e5m2"};
      Tile dst = sbufTile(c, src->P, src->F, dts[pick(5)], src->pstart);
      emit(s, "tensor_copy dst=" + dst.ap() + " src=" + src->ap(), {src});
      produced(c, dst, s);
      return;
    }
    Tile dst = sbufTile(c, src->P, src->F, floatDt(), src->pstart);
    std::string inst = "tensor_scalar dst=" + dst.ap() + " src=" + src->ap() + " op0=mul scalar0=0.75";
    std::vector<const Tile *> deps = {src};
    const Tile *sc = find(c, [&](const Tile &t) {
      return t.space == "sbuf" && t.P == src->P && t.dt != "int32" && t.pstart == src->pstart;
    });
    if (sc && chance(50)) {
      inst += " op1=add scalar1_ap=" + sc->view("[[1,1]]");
      deps.push_back(sc);
    }
    emit(s, inst, deps);
    produced(c, dst, s);
  }

  void reduceLike(int c) {
    const Tile *src = find(c, [](const Tile &t) { return t.dt != "int32" && t.F % 8 == 0 && t.F >= 8; });
    if (!src)
      return;
    const int s = sid(c, chance(70) ? DVE : POOL);
    if (s % kSlots == DVE && chance(40)) {
      Tile st = sbufTile(c, src->P, 3, "fp32", src->pstart);
      emit(s, "bn_stats dst=" + st.ap() + " src=" + src->ap(), {src});
      produced(c, st, s);
      const Tile &stats = tiles_[c].back();
      Tile ag = sbufTile(c, src->P, 2, "fp32", src->pstart);
      emit(s, "bn_aggr dst=" + ag.ap() + " src=" + stats.ap(), {&stats});
      produced(c, ag, s);
      return;
    }
    const char *ops[] = {"add", "max", "min"};
    const int axes = 1 + pick(2);
    Tile dst = sbufTile(c, src->P, axes == 1 ? src->F / 8 : 1, "fp32", src->pstart);
    emit(s,
         "tensor_reduce dst=" + dst.ap() + " src=" + src->view("[[8," + std::to_string(src->F / 8) + "],[1,8]]") +
             " op=" + ops[pick(3)] + " axes=" + std::to_string(axes),
         {src});
    produced(c, dst, s);
  }

  void pool(int c) {
    const int s = sid(c, POOL);
    switch (pick(4)) {
    case 0: {
      Tile dst = sbufTile(c, kP, kF, floatDt());
      emit(s,
           "iota dst=" + dst.view("[[16,4],[1,16]]") + " base=" + std::to_string(pick(9) - 4) +
               " pstep=1 step0=-2 step1=1",
           {});
      produced(c, dst, s);
      return;
    }
    case 1: {
      const Tile *src = anyFloat(c);
      if (!src)
        return;
      Tile dst = sbufTile(c, src->P, src->F, "fp32", src->pstart);
      emit(s, "affine_select dst=" + dst.ap() + " src=" + src->ap() + " cmp=ge fill=-1 pstep=1 step0=-1", {src});
      produced(c, dst, s);
      return;
    }
    case 2: {
      const Tile *src = find(c, [](const Tile &t) { return t.dt != "int32" && t.pstart == 0; });
      if (!src)
        return;
      Tile dst = sbufTile(c, 1, src->F, "fp32");
      emit(s, "partition_reduce dst=" + dst.ap() + " src=" + src->ap() + " op=add", {src});
      produced(c, dst, s);
      return;
    }
    default: {
      const Tile *src = find(c, [](const Tile &t) { return t.dt != "int32" && t.P == 1; });
      if (!src)
        return;
      Tile dst = sbufTile(c, kP, src->F, floatDt());
      emit(s, "partition_broadcast dst=" + dst.ap() + " src=" + src->ap(), {src});
      produced(c, dst, s);
      return;
    }
    }
  }

  void pe(int c) {
    const int s = sid(c, PE);
    const int mode = pick(4);
    if (mode == 0) { // transpose
      const Tile *src = find(c, [](const Tile &t) {
        return t.space == "sbuf" && (t.dt == "fp32" || t.dt == "bf16") && t.F <= 128 && t.F >= 2;
      });
      Tile dst;
      if (!src || !psumTile(c, src->F, src->P, chance(50) ? "fp32" : src->dt, dst))
        return;
      emit(s, "transpose dst=" + dst.ap() + " src=" + src->ap(), {src});
      produced(c, dst, s);
      return;
    }
    if (os_) { // a [M, K] x b [N, K], both K along the free dim
      const Tile *a = find(c, [](const Tile &t) { return t.space == "sbuf" && t.dt != "int32" && t.F <= 512; });
      if (!a)
        return;
      const Tile *b = find(c, [&](const Tile &t) { return t.space == "sbuf" && t.dt != "int32" && t.F == a->F; });
      Tile dst;
      if (!b || !psumTile(c, a->P, b->P, "fp32", dst))
        return;
      emit(s, "matmul_os dst=" + dst.ap() + " a=" + a->ap() + " b=" + b->ap(), {a, b});
      if (chance(50))
        emit(s, "matmul_os dst=" + dst.ap() + " a=" + a->ap() + " b=" + b->ap() + " acc=1", {a, b});
      produced(c, dst, s);
      return;
    }
    if (mode == 1 && doubleRow_) { // fp8 double row: [P, 2, F/2] x [P, 2, F/2]
      const Tile *a = find(
          c, [](const Tile &t) { return t.space == "sbuf" && (t.dt == "fp8e4m3" || t.dt == "fp8e5m2") && t.F == kF; });
      if (!a)
        return;
      const Tile *b = find(c, [&](const Tile &t) {
        return t.space == "sbuf" && (t.dt == "fp8e4m3" || t.dt == "fp8e5m2") && t.F == kF && t.P == a->P;
      });
      Tile dst;
      const std::string half = "[[" + std::to_string(kF / 2) + ",2],[1," + std::to_string(kF / 2) + "]]";
      if (!psumTile(c, kF / 2, kF / 2, "fp32", dst))
        return;
      emit(s,
           "matmul dst=" + dst.ap() + " stationary=" + a->view(half) + " moving=" + b->view(half) + " mode=double_row",
           {a, b});
      produced(c, dst, s);
      return;
    }
    // Normal matmul, sometimes accumulating a second product.
    auto operand = [&](int K) {
      return find(c, [&](const Tile &t) { return t.space == "sbuf" && t.dt != "int32" && t.P == K && t.F <= 128; });
    };
    const Tile *st = operand(kP);
    if (!st)
      return;
    const Tile *mv = operand(kP);
    Tile dst;
    if (!psumTile(c, st->F, mv->F, "fp32", dst))
      return;
    emit(s, "matmul dst=" + dst.ap() + " stationary=" + st->ap() + " moving=" + mv->ap(), {st, mv});
    if (chance(50)) {
      const Tile *st2 =
          find(c, [&](const Tile &t) { return t.space == "sbuf" && t.dt != "int32" && t.P == kP && t.F == st->F; });
      emit(s, "matmul dst=" + dst.ap() + " stationary=" + st2->ap() + " moving=" + mv->ap() + " acc=1", {st2, mv});
    }
    produced(c, dst, s);
  }

  // Trailing work nobody waits for (no signal): the run must still last
  // until it ends.
  void tail() {
    for (int c = 0; c < cores_; ++c) {
      if (chance(50)) {
        Tile a = sbufTile(c, kP, 512, "fp32"), b = sbufTile(c, kP, 512, "fp32");
        code_[sid(c, ACT)].push_back("activation dst=" + a.ap() + " src=" + b.ap() + " func=exp");
      }
      if (chance(50)) {
        Tile a = sbufTile(c, kP, 1024, "fp32");
        code_[sid(c, chance(50) ? DVE : POOL)].push_back("memset dst=" + a.ap() + " value=1");
      }
      Tile dst;
      if (chance(50) && psumTile(c, 128, os_ ? 128 : 512, "fp32", dst)) {
        if (os_) {
          Tile a = sbufTile(c, 128, 512, "fp32"), b = sbufTile(c, 128, 512, "fp32");
          code_[sid(c, PE)].push_back("matmul_os dst=" + dst.ap() + " a=" + a.ap() + " b=" + b.ap());
        } else {
          Tile a = sbufTile(c, 128, 128, "fp32"), b = sbufTile(c, 128, 512, "fp32");
          code_[sid(c, PE)].push_back("matmul dst=" + dst.ap() + " stationary=" + a.ap() + " moving=" + b.ap());
        }
      }
      if (chance(50)) {
        Tile a = sbufTile(c, kP, 2048, "fp32"), b = sbufTile(c, kP, 2048, "fp32");
        code_[sid(c, queue())].push_back("dma_copy dst=" + a.ap() + " src=" + b.ap());
      }
    }
  }

  // Software pipeline: a queue loads n tiles in a loop; ACT or DVE handles
  // them in a loop (sometimes nested 2 x n/2) whose wait steps with i0/i1.
  void pipeline(int c) {
    const int n = chance(50) ? 4 : 2 + pick(3);
    if (loads_[c] + n > kLoadCap)
      return;
    const int q = sid(c, queue());
    const long in = sbufNext_[c];
    sbufNext_[c] += 256L * n;
    const int row0 = loads_[c] * kP;
    loads_[c] += n;
    const uint64_t qBase = sig_[q];
    code_[q].push_back("loop count=" + std::to_string(n));
    code_[q].push_back("dma_copy dst=sbuf[0:64]+" + std::to_string(in) + "+256*i0:fp32[[1,64]] src=hbm[in" +
                       std::to_string(c) + "]+" + std::to_string(row0 * kF * 4) + "+" + std::to_string(kP * kF * 4) +
                       "*i0:fp32[[64,64],[1,64]] signal=" + sem(q) + "+1");
    code_[q].push_back("endloop");
    sig_[q] += n;
    const int s = sid(c, chance(50) ? ACT : DVE);
    const long out = sbufNext_[c];
    sbufNext_[c] += 256L * n;
    const uint64_t sBase = sig_[s];
    const bool nested = n == 4 && chance(50);
    auto body = [&](const std::string &step, const std::string &waitStep) {
      const std::string dst = "sbuf[0:64]+" + std::to_string(out) + step + ":fp32[[1,64]]";
      const std::string src = "sbuf[0:64]+" + std::to_string(in) + step + ":fp32[[1,64]]";
      const std::string op = s % kSlots == ACT ? "activation dst=" + dst + " src=" + src + " func=tanh"
                                               : "tensor_scalar dst=" + dst + " src=" + src + " op0=add scalar0=1";
      return op + " wait=" + sem(q) + ">=" + std::to_string(qBase + 1) + waitStep + " signal=" + sem(s) + "+1";
    };
    if (nested) {
      code_[s].push_back("loop count=2");
      code_[s].push_back("loop count=2");
      code_[s].push_back(body("+512*i0+256*i1", "+2*i0+1*i1"));
      code_[s].push_back("endloop");
      code_[s].push_back("endloop");
    } else {
      code_[s].push_back("loop count=" + std::to_string(n));
      code_[s].push_back(body("+256*i0", "+1*i0"));
      code_[s].push_back("endloop");
    }
    sig_[s] += n;
    for (int j = 0; j < n; ++j) {
      Tile a;
      a.space = "sbuf";
      a.off = in + 256L * j;
      a.stream = q;
      a.need = qBase + j + 1;
      tiles_[c].push_back(a);
      Tile b = a;
      b.off = out + 256L * j;
      b.stream = s;
      b.need = sBase + j + 1;
      tiles_[c].push_back(b);
    }
  }

  // SP waits for a tile and signals: consumers may wait on SP instead.
  void relay(int c) {
    if (tiles_[c].empty())
      return;
    Tile &t = tiles_[c][pick(static_cast<int>(tiles_[c].size()))];
    const int s = sid(c, SP);
    emit(s, "sem_signal", {&t});
    t.stream = s;
    t.need = sig_[s];
  }

  void barrier(int c) {
    const bool chip = chance(40);
    for (int core = 0; core < cores_; ++core) {
      if (!chip && core != c)
        continue;
      for (int slot = 0; slot < kSlots; ++slot)
        code_[sid(core, slot)].push_back(chip ? "barrier scope=chip" : "barrier");
    }
  }

  // Core a stores a tile to scratch HBM; after a chip barrier core b loads it.
  void exchange(int a) {
    if (cores_ < 2 || exchanges_ >= kExchangeCap)
      return;
    const int b = (a + 1 + pick(cores_ - 1)) % cores_;
    const Tile *src = find(a, [](const Tile &t) { return t.space == "sbuf" && t.P <= 64 && t.F * esize(t.dt) <= 256; });
    if (!src || loads_[b] >= kLoadCap)
      return;
    const int slot = exchanges_++;
    const int rowStride = 256 / static_cast<int>(esize(src->dt));
    const std::string view = "hbm[xch]+" + std::to_string(slot * kSlotBytes) + ":" + src->dt + "[[" +
                             std::to_string(rowStride) + "," + std::to_string(src->P) + "],[1," +
                             std::to_string(src->F) + "]]";
    const int qa = sid(a, queue());
    emit(qa, "dma_copy dst=" + view + " src=" + src->ap(), {src});
    for (int core = 0; core < cores_; ++core)
      for (int slot2 = 0; slot2 < kSlots; ++slot2)
        code_[sid(core, slot2)].push_back("barrier scope=chip");
    Tile t = sbufTile(b, src->P, src->F, src->dt);
    const int qb = sid(b, queue());
    emit(qb, "dma_copy dst=" + t.ap() + " src=" + view, {});
    produced(b, t, qb);
  }

  std::mt19937 rng_;
  std::string chip_;
  bool os_ = false;
  bool doubleRow_ = false; // fp8 double-row only where the chip has it (not NC-v4, G3)
  int cores_;
  std::vector<std::vector<std::string>> code_;
  std::vector<uint64_t> sig_;
  std::vector<long> sbufNext_, psumNext_;
  std::vector<std::vector<Tile>> tiles_;
  std::vector<int> loads_, stores_;
  int exchanges_ = 0;
};

const ChipConfig &chip(const std::string &name) {
  static std::map<std::string, ChipConfig> cache;
  auto it = cache.find(name);
  if (it == cache.end())
    it = cache.emplace(name, loadChip(name)).first;
  return it->second;
}

MachineOptions mode(bool functional, bool timing) {
  MachineOptions o;
  o.functional = functional;
  o.timing = timing;
  return o;
}

void checkTimingReport(const Report &r, const ChipConfig &c) {
  ASSERT_GT(r.seconds, 0);
  EXPECT_DOUBLE_EQ(r.cycles, r.seconds * c.pe.clock_hz);
  EXPECT_LE(r.achieved_flops_per_second, r.peak_flops_per_second * (1 + 1e-9));
  EXPECT_LE(r.achieved_hbm_bytes_per_second, r.peak_hbm_bytes_per_second);
  EXPECT_LE(r.achieved_hbm_bytes_per_second, c.hbm.bytes_per_second * c.hbm.max_utilization * (1 + 1e-9));
  for (const EngineUsage &u : r.streams) {
    SCOPED_TRACE(u.name);
    EXPECT_LE(u.busy_cycles, r.seconds * u.clock_hz * (1 + 1e-9));
    EXPECT_LE(u.busy_fraction, 1 + 1e-9);
    EXPECT_GE(u.busy_fraction, 0);
  }
  for (const EngineUsage &u : r.engines) {
    SCOPED_TRACE(u.name);
    EXPECT_LE(u.busy_fraction, 1 + 1e-9);
    EXPECT_LE(u.busy_cycles, u.streams * r.seconds * u.clock_hz * (1 + 1e-9));
  }
  EXPECT_LE(r.overlap.pe_busy_seconds, r.seconds * (1 + 1e-9));
  EXPECT_LE(r.overlap.dma_busy_seconds, r.seconds * (1 + 1e-9));
  EXPECT_LE(r.overlap.pe_dma_seconds, std::min(r.overlap.pe_busy_seconds, r.overlap.dma_busy_seconds) * (1 + 1e-9));
  EXPECT_GE(r.energy_joules, c.energy.static_watts * r.seconds * (1 - 1e-9));
  EXPECT_NEAR(r.average_power_watts, r.energy_joules / r.seconds, 1e-9 * r.average_power_watts);
}

} // namespace

namespace {

// Runs one random program in every mode on `c` and checks the invariants;
// returns the instructions executed (0 after a failure).
uint64_t checkRandomProgram(const ChipConfig &c, const std::string &target, uint32_t seed, bool &multiCore,
                            double *fingerprint = nullptr) {
  Generator gen(seed * 7919 + 13, target, c.pe_array.dataflow == "os");
  const std::string text = gen.generate(60 + static_cast<int>(seed % 4) * 25);
  std::map<std::string, HostArray> inputs = gen.inputs();
  Program p;
  try {
    p = parseAssembly(text, "random.s");
  } catch (const Error &e) {
    ADD_FAILURE() << e.what() << "\n" << text;
    return 0;
  }
  SimulationResult f, t, b, t2;
  try {
    f = simulate(p, c, inputs, mode(true, false));
    t = simulate(p, c, {}, mode(false, true));
    b = simulate(p, c, inputs, mode(true, true));
    t2 = simulate(p, c, {}, mode(false, true));
  } catch (const Error &e) {
    ADD_FAILURE() << e.what() << "\n" << text;
    return 0;
  }
  multiCore = gen.cores() > 1;
  if (fingerprint) { // run length and busy time of every stream
    *fingerprint = static_cast<double>(t.stats.end);
    for (const EngineUsage &u : t.report.streams)
      *fingerprint += u.busy_cycles;
  }

  checkTimingReport(t.report, c);
  checkTimingReport(b.report, c);
  // Every instruction ran once per loop iteration in every mode.
  EXPECT_EQ(t.report.instructions, f.report.instructions);
  EXPECT_EQ(b.report.instructions, f.report.instructions);
  // Functional execution does not change timing.
  EXPECT_EQ(t.stats.end, b.stats.end);
  EXPECT_DOUBLE_EQ(t.report.hbm_bytes, b.report.hbm_bytes);
  EXPECT_DOUBLE_EQ(t.report.energy_joules, b.report.energy_joules);
  for (size_t i = 0; i < t.report.streams.size(); ++i)
    EXPECT_DOUBLE_EQ(t.report.streams[i].busy_cycles, b.report.streams[i].busy_cycles) << t.report.streams[i].name;
  // Deterministic: a second run is identical.
  EXPECT_EQ(t.stats.end, t2.stats.end);
  EXPECT_DOUBLE_EQ(t.report.hbm_bytes, t2.report.hbm_bytes);
  EXPECT_DOUBLE_EQ(t.report.flops, t2.report.flops);
  EXPECT_DOUBLE_EQ(t.report.energy_joules, t2.report.energy_joules);
  EXPECT_DOUBLE_EQ(t.report.overlap.pe_dma_seconds, t2.report.overlap.pe_dma_seconds);
  // Timing does not change functional results.
  EXPECT_EQ(f.outputs.size(), static_cast<size_t>(gen.cores()));
  EXPECT_EQ(b.outputs.size(), f.outputs.size());
  for (const auto &[name, array] : f.outputs)
    EXPECT_TRUE(b.outputs.count(name) && b.outputs.at(name).data == array.data) << name;
  EXPECT_TRUE(t.outputs.empty());
  return f.report.instructions;
}

} // namespace

TEST(Invariants, RandomProgramsOnEveryPreset) {
  int programs = 0, multiCore = 0;
  uint64_t instructions = 0;
  for (const char *chipName : {"trn2", "trn3", "trn4"}) {
    const ChipConfig &c = chip(chipName);
    for (uint32_t seed = 0; seed < 12; ++seed) {
      SCOPED_TRACE(std::string(chipName) + " seed " + std::to_string(seed));
      bool multi = false;
      instructions += checkRandomProgram(c, chipName, seed, multi);
      ++programs;
      multiCore += multi;
      if (HasFailure())
        return; // one program's failures are enough to read
    }
  }
  EXPECT_EQ(programs, 36);
  EXPECT_GT(multiCore, 10);
  EXPECT_GT(instructions, 5000u);
}

// The same invariants with the timing knobs away from the presets: every
// dataflow, serial load/fill/drain (SCALE-Sim's fold model), slow fills and
// loads, a semaphore latency, PSUM bank conflicts off and on.
TEST(Invariants, RandomProgramsWithPeArrayAndSyncVariants) {
  struct Variant {
    std::string name;
    void (*apply)(ChipConfig &);
  } variants[] = {
      // os programs use matmul_os; is runs the same matmuls as ws.
      {"os", [](ChipConfig &c) { c.pe_array.dataflow = "os"; }},
      {"is", [](ChipConfig &c) { c.pe_array.dataflow = "is"; }},
      {"ws serial", [](ChipConfig &c) { c.pe_array.weight_load_overlap = false; }},
      {"os serial, no II",
       [](ChipConfig &c) {
         c.pe_array.dataflow = "os";
         c.pe_array.weight_load_overlap = false;
         c.pe_array.min_ii_cycles = 0;
       }},
      {"is serial, slow load",
       [](ChipConfig &c) {
         c.pe_array.dataflow = "is";
         c.pe_array.weight_load_overlap = false;
         c.pe_array.weight_load_rows_per_cycle = 0.5;
         c.pe_array.fill_drain_cycles = 1000;
       }},
      {"slow load hidden",
       [](ChipConfig &c) {
         c.pe_array.weight_load_rows_per_cycle = 0.25;
         c.pe_array.min_ii_cycles = 0;
       }},
      {"semaphore latency", [](ChipConfig &c) { c.semaphore_latency_seconds = 3e-7; }},
      {"no psum conflicts", [](ChipConfig &c) { c.psum_bank_conflicts = false; }},
      {"NC-v2 port exclusion", [](ChipConfig &c) { c.engine_port_exclusion = true; }},
      {"serial, slow sync",
       [](ChipConfig &c) {
         c.pe_array.weight_load_overlap = false;
         c.semaphore_latency_seconds = 1e-6;
       }},
  };
  int programs = 0;
  for (const Variant &v : variants) {
    for (const char *base : {"trn3"}) {
      ChipConfig c = chip(base);
      v.apply(c);
      int changed = 0;
      for (uint32_t seed : {1u, 2u, 9u, 10u}) { // seeds whose programs have PSUM bank conflicts on trn3
        SCOPED_TRACE(v.name + " on " + base + " seed " + std::to_string(seed));
        bool multi = false;
        double end = 0, presetEnd = 0;
        checkRandomProgram(c, base, seed, multi, &end);
        checkRandomProgram(chip(base), base, seed, multi, &presetEnd);
        changed += end != presetEnd;
        ++programs;
        if (HasFailure())
          return;
      }
      if (v.name != "os" && v.name != "is") {
        EXPECT_GT(changed, 0) << v.name << ": the knob changed no run";
      }
    }
  }
  EXPECT_EQ(programs, 40);
}

TEST(Invariants, EightCoresSaturatingHbmStayUnderTheCap) {
  // Every core streams 16 loads over 3 queues: far more demand than HBM gives.
  for (const char *chipName : {"trn2", "trn3", "trn4"}) {
    SCOPED_TRACE(chipName);
    std::ostringstream os;
    os << ".target " << chipName << "\n.cores 8\n.tensor x input fp32 [2048,2048]\n";
    for (int core = 0; core < 8; ++core)
      for (int q = 0; q < 3; ++q)
        os << ".stream core=" << core << " engine=q" << q << "\n  loop count=6\n    dma_copy dst=sbuf[0:128]+"
           << q * 8192 << "+0*i0:fp32[[1,2048]] src=hbm[x]+" << (core * 3 + q) % 16 * 1048576
           << "+0*i0:fp32[[2048,128],[1,2048]]\n  endloop\n";
    Program p = parseAssembly(os.str(), "hbm.s");
    const ChipConfig &c = chip(chipName);
    SimulationResult r = simulate(p, c, {}, mode(false, true));
    checkTimingReport(r.report, c);
    EXPECT_DOUBLE_EQ(r.report.hbm_bytes, 8.0 * 3 * 6 * 128 * 8192);
    // Bandwidth-bound: the run is close to bytes / cap (issue overheads aside).
    const double cap = c.hbm.bytes_per_second * c.hbm.max_utilization;
    const double perCore =
        c.dma.engines_per_core * c.dma.engine_bytes_per_second * 8192 / (8192 + c.dma.descriptor_overhead_bytes);
    EXPECT_GE(r.report.seconds, r.report.hbm_bytes / std::min(cap, 8 * perCore));
  }
}
