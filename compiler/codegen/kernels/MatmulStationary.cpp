// Matmul schedules for PE arrays that hold a stationary operand (dataflow ws
// or is): the spec's A^T tiles are the stationary operand and B streams as
// the moving one (an is chip passes C = A B; a ws chip passes the transposed
// problem C^T = B^T A^T, so the weights are held). Per core, one of two:
//  - A streamed-moving schedule (M <= one stationary tile: decode, GEMV):
//    A^T stays in SBUF; B streams through rotating tiles; PSUM banks rotate
//    between two groups so ACT evacuates one while the PE fills the other.
//  - B resident (GEMM; decode on a ws chip, whose held B is the weights): a
//    chunk of B's columns stays in SBUF as the moving operand; A^T streams
//    in blocks of up to 16 array-width tiles (long DMA runs) through two or
//    three buffers, its tiles rotating over every PSUM bank set.
// The first k-tile overwrites PSUM and the rest accumulate, so k=0 is peeled
// from the k loop. Partial tiles are peeled copies with their own sizes.
// Every tile shape comes from the target: K per matmul = the array's rows,
// M = its columns, N = the moving limit within one PSUM bank, B chunks as
// wide as half the PSUM banks hold.
#include "compiler/codegen/kernels/MatmulSupport.h"

#include "isa/Error.h"

#include <algorithm>

namespace trnx::cg {
namespace {

// Rotating B tiles of the streamed schedule. A load spends ~1.6 us from issue
// to visibility on trn3 (issue overhead + transfer + HBM latency) against
// ~0.5 us of PE work per tile, so about four must be in flight.
constexpr int kStreamSlots = 6;

class MatmulEmitter {
public:
  MatmulEmitter(CoreKernel &k, const MatmulSpec &s, int64_t K)
      : k_(k), s_(s), tk_(k.target().matmulK()), tm_(k.target().matmulM()), ts_(k.target().matmulN()), K_(K),
        kt_(ceilDiv(K, tk_)), ktFull_(K / tk_), kRest_(K % tk_), op_(s.operandType), es_(dtypeSize(s.operandType)),
        queues_(splitQueues(k.target().limits.dmaQueues, {2, 8, 2, 4})), evac_(k, s, queues_[2], queues_[3]) {
    const int r = s.c.rank();
    sAM_ = s.a.strides[r - 2];
    sAK_ = s.a.strides[r - 1];
    sBK_ = s.b.strides[r - 2];
    sBN_ = s.b.strides[r - 1];
    // Two bank groups (one filling, one evacuating) of as many slices as fit.
    groups_ = k.target().limits.psumBanks >= 2 ? 2 : 1;
    maxSlices_ = std::max(1, k.target().limits.psumBanks / groups_);
  }

  void streamWeights(const std::vector<MatmulJob> &jobs);
  void residentB(const std::vector<MatmulJob> &jobs);
  void heldStream(const std::vector<MatmulJob> &jobs);
  // The B chunk width each schedule would use, 0 when this K does not fit SBUF.
  int64_t streamChunk(const std::vector<MatmulJob> &jobs) const;
  int64_t residentChunk(const std::vector<MatmulJob> &jobs) const;
  // How the resident-B schedule streams A^T: tiles per load, buffers, and
  // the PSUM bank sets consecutive tiles rotate over.
  struct AStreaming {
    int64_t tiles;
    int slots;
    int bankSets;
  };
  AStreaming aStreaming(const std::vector<MatmulJob> &jobs, int64_t chunk) const;
  // How the held-stream schedule (narrow B) walks the rows and K: rows of c
  // per group (one PSUM bank group holds them all), k-tiles per A^T load,
  // load buffers; kTiles 0 when it does not fit SBUF.
  struct HeldPlan {
    int64_t width = 0, tilesPerBank = 1, groupRows = 0, kTiles = 0;
    int slots = 0, banksPerGroup = 1;
  };
  HeldPlan heldPlan(const std::vector<MatmulJob> &jobs) const;
  // Resident B panels of the held-stream schedule: two when a core has
  // several jobs (batched decode attention), so the next job's panel loads
  // while this one computes.
  static int heldPanels(const std::vector<MatmulJob> &jobs) { return jobs.size() > 1 ? 2 : 1; }

private:
  QueueRotor &loadA() { return queues_[0]; }
  QueueRotor &loadB() { return queues_[1]; }
  // Loads A^T rows [m0, m0+m) x all K into `dst` ([tk part, kt, m] of op type).
  void loadAT(const MatmulJob &j, const Affine &m0, int64_t m, const OnChip &dst, const OnChip *staging);
  // Loads B rows of k-tiles [k0, k0+count) x columns [n0, n0+w) into dst[kt][w].
  // permuted: partition p of tile t holds row p*tiles + t (the held stream's
  // GEMV layout, from row 0) instead of row (kTile + t)*tk + p.
  void loadB(const MatmulJob &j, const Affine &kTile, int64_t kRows, int64_t tiles, const Affine &n0, int64_t w,
             const OnChip &dst, int64_t dstStride, const OnChip *staging, bool permuted = false);
  void castCopy(const OnChip &from, DType fromType, const OnChip &to, int64_t rows, int64_t elems);
  // Matmuls of one [m x w] output block over all of K into banks[0..].
  // `stationary` / `moving` give the operand of k-tile kTile; with pair set,
  // of k-tiles kTile and kTile + 1 as [P, 2, free] (fp8 double-row mode).
  void accumulate(int64_t m, int64_t w, const std::vector<OnChip> &banks,
                  const std::function<AccessPattern(const Affine &kTile, int64_t kRows, bool pair)> &stationary,
                  const std::function<AccessPattern(const Affine &kTile, int64_t kRows, bool pair, int64_t slice,
                                                    int64_t width)> &moving);
  // Bank groups [group][slice] and evacuation tiles [group][slice].
  void allocBanks(int64_t slices, std::vector<std::vector<OnChip>> &banks,
                  std::vector<std::vector<MatmulEvacuator::Tile>> &tiles);

  CoreKernel &k_;
  const MatmulSpec &s_;
  int64_t tk_, tm_, ts_; // K rows, stationary columns, moving columns per matmul
  int64_t K_, kt_, ktFull_, kRest_;
  DType op_;
  int64_t es_;
  int64_t sAM_, sAK_, sBK_, sBN_;
  int groups_ = 2, maxSlices_ = 4;
  std::vector<QueueRotor> queues_; // load A, load B, epilogue inputs, stores
  MatmulEvacuator evac_;
  EngineBalancer balance_;
};

void MatmulEmitter::allocBanks(int64_t slices, std::vector<std::vector<OnChip>> &banks,
                               std::vector<std::vector<MatmulEvacuator::Tile>> &tiles) {
  banks.assign(groups_, {});
  tiles.assign(groups_, {});
  for (int g = 0; g < groups_; ++g)
    for (int64_t sl = 0; sl < slices; ++sl) {
      banks[g].push_back(k_.allocPsumBank());
      tiles[g].push_back(evac_.allocTile(ts_));
    }
}

void MatmulEmitter::castCopy(const OnChip &from, DType fromType, const OnChip &to, int64_t rows, int64_t elems) {
  Instruction inst = makeInstruction(Opcode::TensorCopy);
  inst.ap[0] = onChip(to, 0, op_, {Dim{1, static_cast<uint32_t>(elems)}}, static_cast<int>(rows));
  inst.ap[1] = onChip(from, 0, fromType, {Dim{1, static_cast<uint32_t>(elems)}}, static_cast<int>(rows));
  k_.emit(balance_.pick(engineBit(EngineKind::ACT) | engineBit(EngineKind::POOL), static_cast<double>(elems)),
          inst);
}

void MatmulEmitter::loadAT(const MatmulJob &j, const Affine &m0, int64_t m, const OnChip &dst,
                           const OnChip *staging) {
  const DType at = s_.a.dtype;
  const OnChip &target = staging ? *staging : dst;
  const bool tu = wantsTransposeUnit(sAK_, sAM_, at, m);
  const Affine base = Affine(s_.a.offset + j.aOff) + m0 * sAM_;
  if (ktFull_ > 0) {
    AccessPattern src = hbm(s_.a.tensor, base * dtypeSize(at), at, sAK_, static_cast<int>(tk_),
                            {Dim{static_cast<int32_t>(tk_ * sAK_), static_cast<uint32_t>(ktFull_)},
                             Dim{static_cast<int32_t>(sAM_), static_cast<uint32_t>(m)}});
    AccessPattern d = onChip(target, 0, at,
                             {Dim{static_cast<int32_t>(m), static_cast<uint32_t>(ktFull_)}, Dim{1, static_cast<uint32_t>(m)}},
                             static_cast<int>(tk_));
    k_.emit(loadA().next(), dmaCopy(d, src, tu));
  }
  if (kRest_) {
    AccessPattern src = hbm(s_.a.tensor, (base + Affine(ktFull_ * tk_ * sAK_)) * dtypeSize(at), at, sAK_,
                            static_cast<int>(kRest_), {Dim{static_cast<int32_t>(sAM_), static_cast<uint32_t>(m)}});
    AccessPattern d = onChip(target, ktFull_ * m * dtypeSize(at), at, {Dim{1, static_cast<uint32_t>(m)}},
                             static_cast<int>(kRest_));
    k_.emit(loadA().next(), dmaCopy(d, src, tu));
  }
  if (staging)
    castCopy(*staging, at, dst, tk_, kt_ * m);
}

void MatmulEmitter::loadB(const MatmulJob &j, const Affine &kTile, int64_t kRows, int64_t tiles, const Affine &n0,
                          int64_t w, const OnChip &dst, int64_t dstStride, const OnChip *staging, bool permuted) {
  const DType bt = s_.b.dtype;
  const OnChip &target = staging ? *staging : dst;
  const int64_t tileStep = permuted ? sBK_ : tk_ * sBK_, partStep = permuted ? tiles * sBK_ : sBK_;
  const bool tu = wantsTransposeUnit(partStep, sBN_, bt, w);
  Affine elem = Affine(s_.b.offset + j.bOff) + kTile * tileStep + n0 * sBN_;
  std::vector<Dim> srcDims, dstDims;
  if (tiles > 1) {
    srcDims.push_back(Dim{static_cast<int32_t>(tileStep), static_cast<uint32_t>(tiles)});
    dstDims.push_back(Dim{static_cast<int32_t>(dstStride), static_cast<uint32_t>(tiles)});
  }
  srcDims.push_back(Dim{static_cast<int32_t>(sBN_), static_cast<uint32_t>(w)});
  dstDims.push_back(Dim{1, static_cast<uint32_t>(w)});
  AccessPattern src = hbm(s_.b.tensor, elem * dtypeSize(bt), bt, partStep, static_cast<int>(kRows), srcDims);
  AccessPattern d = onChip(target, 0, bt, dstDims, static_cast<int>(kRows));
  k_.emit(loadB().next(), dmaCopy(d, src, tu));
  if (staging)
    castCopy(*staging, bt, dst, kRows, tiles * dstStride);
}

void MatmulEmitter::accumulate(
    int64_t m, int64_t w, const std::vector<OnChip> &banks,
    const std::function<AccessPattern(const Affine &, int64_t, bool)> &stationary,
    const std::function<AccessPattern(const Affine &, int64_t, bool, int64_t, int64_t)> &moving) {
  const int64_t slices = ceilDiv(w, ts_);
  auto step = [&](const Affine &kTile, int64_t kRows, bool pair, bool acc) {
    for (int64_t sl = 0; sl < slices; ++sl) {
      const int64_t width = std::min(ts_, w - sl * ts_);
      Instruction mm = makeInstruction(Opcode::Matmul);
      mm.ap[0] = onChip(banks[sl], 0, DType::FP32, {Dim{1, static_cast<uint32_t>(width)}}, static_cast<int>(m));
      mm.ap[1] = stationary(kTile, kRows, pair);
      mm.ap[2] = moving(kTile, kRows, pair, sl, width);
      mm.enums[0] = pair ? 1 : 0; // mode: double_row
      mm.setFlag(0, acc);
      k_.emit(EngineId{EngineKind::PE, 0}, mm);
    }
  };
  // fp8 operands on a chip with double-row mode: two full k-tiles per matmul
  // (partition p carries rows tk*t + p and tk*(t+1) + p; any pairing of K
  // rows gives the same sum as long as both operands use it).
  const bool pairs = isFP8(op_) && k_.target().limits.doubleRow;
  const int64_t paired = pairs ? ktFull_ / 2 : 0, single = ktFull_ - 2 * paired;
  if (paired > 0) {
    step(Affine(0), tk_, true, false);
    k_.loop(paired - 1, [&](const Affine &i) { step(i * 2 + 2, tk_, true, true); });
  }
  if (single > 0) {
    step(Affine(2 * paired), tk_, false, paired > 0);
    k_.loop(single - 1, [&](const Affine &i) { step(i + (2 * paired + 1), tk_, false, true); });
  }
  if (kRest_)
    step(Affine(ktFull_), kRest_, false, ktFull_ > 0);
}

int64_t MatmulEmitter::streamChunk(const std::vector<MatmulJob> &jobs) const {
  int64_t mMax = 0, nMax = 0;
  for (const MatmulJob &j : jobs) {
    mMax = std::max(mMax, j.m);
    nMax = std::max(nMax, j.n);
  }
  const int64_t chunk = std::min<int64_t>(nMax, maxSlices_ * ts_);
  const bool castA = s_.a.dtype != op_, castB = s_.b.dtype != op_;
  // A^T stays resident for all of K next to the rotating B tiles.
  const int64_t resident = kt_ * mMax * (es_ + (castA ? dtypeSize(s_.a.dtype) : 0)) +
                           kStreamSlots * chunk * (es_ + (castB ? dtypeSize(s_.b.dtype) : 0));
  return resident > k_.sbufFree() ? 0 : chunk;
}

// M <= one stationary tile: A^T resident, B streamed in [tk x chunk] tiles.
void MatmulEmitter::streamWeights(const std::vector<MatmulJob> &jobs) {
  int64_t mMax = 0;
  for (const MatmulJob &j : jobs)
    mMax = std::max(mMax, j.m);
  const int64_t chunk = streamChunk(jobs);
  if (chunk == 0)
    fail("internal: matmul with K=", K_, " does not fit SBUF (emitMatmul splits K first)");
  const int64_t slices = ceilDiv(chunk, ts_);
  const bool castA = s_.a.dtype != op_, castB = s_.b.dtype != op_;
  OnChip aT = k_.allocSbuf(kt_ * mMax * es_);
  OnChip aStage = castA ? k_.allocSbuf(kt_ * mMax * dtypeSize(s_.a.dtype)) : OnChip{};
  std::vector<OnChip> bTiles, bStage;
  for (int t = 0; t < kStreamSlots; ++t) {
    bTiles.push_back(k_.allocSbuf(chunk * es_));
    if (castB)
      bStage.push_back(k_.allocSbuf(chunk * dtypeSize(s_.b.dtype)));
  }
  std::vector<std::vector<OnChip>> banks;
  std::vector<std::vector<MatmulEvacuator::Tile>> tiles;
  allocBanks(slices, banks, tiles);

  for (const MatmulJob &j : jobs) {
    loadAT(j, Affine(j.m0), j.m, aT, castA ? &aStage : nullptr);
    auto stationary = [&](const Affine &kTile, int64_t kRows) {
      return onChip(aT, kTile * (j.m * es_), op_, {Dim{1, static_cast<uint32_t>(j.m)}}, static_cast<int>(kRows));
    };
    auto block = [&](const Affine &n0, int64_t w, int group) {
      const int64_t nsl = ceilDiv(w, ts_);
      std::vector<OnChip> useBanks(banks[group].begin(), banks[group].begin() + nsl);
      // The k loop rotates the B tiles: k-tile t uses tile t % kStreamSlots.
      auto kStep = [&](const Affine &kTile, int64_t kRows, bool acc, int slot) {
        loadB(j, kTile, kRows, 1, n0, w, bTiles[slot], w, castB ? &bStage[slot] : nullptr);
        for (int64_t sl = 0; sl < nsl; ++sl) {
          const int64_t width = std::min(ts_, w - sl * ts_);
          Instruction mm = makeInstruction(Opcode::Matmul);
          mm.ap[0] = onChip(useBanks[sl], 0, DType::FP32, {Dim{1, static_cast<uint32_t>(width)}},
                            static_cast<int>(j.m));
          mm.ap[1] = stationary(kTile, kRows);
          mm.ap[2] = onChip(bTiles[slot], sl * ts_ * es_, op_, {Dim{1, static_cast<uint32_t>(width)}},
                            static_cast<int>(kRows));
          mm.setFlag(0, acc);
          k_.emit(EngineId{EngineKind::PE, 0}, mm);
        }
      };
      if (ktFull_ > 0) {
        kStep(Affine(0), tk_, false, 0);
        // k-tiles 1..ktFull-1, kStreamSlots per loop iteration so each uses a fixed tile.
        const int64_t rest = ktFull_ - 1;
        k_.loop(rest / kStreamSlots, [&](const Affine &i) {
          for (int c = 0; c < kStreamSlots; ++c)
            kStep(i * kStreamSlots + (1 + c), tk_, true, (1 + c) % kStreamSlots);
        });
        for (int64_t t = 1 + rest / kStreamSlots * kStreamSlots; t < ktFull_; ++t)
          kStep(Affine(t), tk_, true, static_cast<int>(t % kStreamSlots));
      }
      if (kRest_)
        kStep(Affine(ktFull_), kRest_, ktFull_ > 0, static_cast<int>(ktFull_ % kStreamSlots));
      for (int64_t sl = 0; sl < nsl; ++sl) {
        const int64_t width = std::min(ts_, w - sl * ts_);
        evac_.evacuate(j, Affine(j.m0), j.m, n0 + sl * ts_, width, useBanks[sl], tiles[group][sl]);
      }
    };
    const int64_t full = j.n / chunk, rest = j.n % chunk;
    k_.unrolled(full, groups_, [&](const Affine &c, int group) { block(Affine(j.n0) + c * chunk, chunk, group); });
    if (rest)
      block(Affine(j.n0 + full * chunk), rest, static_cast<int>(full % groups_));
  }
}

int64_t MatmulEmitter::residentChunk(const std::vector<MatmulJob> &jobs) const {
  int64_t nMax = 0;
  for (const MatmulJob &j : jobs)
    nMax = std::max(nMax, j.n);
  const bool castA = s_.a.dtype != op_, castB = s_.b.dtype != op_;
  const int64_t aTileBytes = kt_ * tm_ * (es_ + (castA ? dtypeSize(s_.a.dtype) : 0));
  const int64_t perSlice =
      2 * ts_ * (dtypeSize(s_.c.dtype) + 4) + 2 * ts_ * 4 * static_cast<int64_t>(s_.epilogueInputs.size());
  // Budget: B chunk gets what two A^T buffers and the output tiles leave.
  int64_t budget = k_.sbufFree() - 2 * aTileBytes - maxSlices_ * perSlice - 4096;
  int64_t chunk = std::min<int64_t>(
      {nMax, maxSlices_ * ts_, budget / (kt_ * (es_ + (castB ? dtypeSize(s_.b.dtype) : 0)))});
  const int64_t narrow = std::min<int64_t>(128, ts_);
  if (chunk >= ts_)
    chunk = chunk / ts_ * ts_;
  else if (chunk >= narrow)
    chunk = chunk / narrow * narrow;
  else if (chunk >= 32) // long K: narrower B chunks (a less efficient moving operand) before splitting K
    chunk = chunk / 32 * 32;
  return chunk < std::min<int64_t>(nMax, 32) ? 0 : chunk;
}

MatmulEmitter::AStreaming MatmulEmitter::aStreaming(const std::vector<MatmulJob> &jobs, int64_t chunk) const {
  int64_t mTiles = 1;
  for (const MatmulJob &j : jobs)
    mTiles = std::max(mTiles, ceilDiv(j.m, tm_));
  const bool castA = s_.a.dtype != op_, castB = s_.b.dtype != op_;
  const int64_t tileBytes = kt_ * tm_ * (es_ + (castA ? dtypeSize(s_.a.dtype) : 0));
  const int64_t slices = ceilDiv(chunk, ts_);
  const int64_t sets = std::max<int64_t>(1, k_.target().limits.psumBanks / slices);
  const int64_t tileOut = slices * ts_ * (dtypeSize(s_.c.dtype) + 4 * static_cast<int64_t>(s_.epilogueInputs.size()));
  const int64_t fixed = kt_ * chunk * (es_ + (castB ? dtypeSize(s_.b.dtype) : 0)) + sets * tileOut +
                        ts_ * 4 * 4 + 4096;
  // The widest A^T blocks (up to 16 tiles: >= 4 KiB runs when A^T rows are
  // contiguous) that fit three buffers, else two, beside the B chunk.
  for (int slots : {3, 2})
    for (int64_t g = std::min<int64_t>(1, mTiles); g >= 1; --g)
      if (fixed + slots * g * tileBytes <= k_.sbufFree())
        return {g, slots, static_cast<int>(sets)};
  return {1, 2, static_cast<int>(sets)};
}

// M > one stationary tile: columns of B resident in chunks, A^T streamed in
// blocks of tiles (one DMA each); consecutive tiles rotate over PSUM bank sets.
void MatmulEmitter::residentB(const std::vector<MatmulJob> &jobs) {
  const bool castA = s_.a.dtype != op_, castB = s_.b.dtype != op_;
  const int64_t chunk = residentChunk(jobs);
  if (chunk == 0)
    fail("internal: matmul with K=", K_, " does not fit SBUF (emitMatmul splits K first)");
  const int64_t slices = ceilDiv(chunk, ts_);
  const AStreaming plan = aStreaming(jobs, chunk);
  const int64_t blockCols = plan.tiles * tm_;
  OnChip bPanel = k_.allocSbuf(kt_ * chunk * es_);
  OnChip bStage = castB ? k_.allocSbuf(kt_ * chunk * dtypeSize(s_.b.dtype)) : OnChip{};
  std::vector<OnChip> aT, aStage;
  for (int g = 0; g < plan.slots; ++g) {
    aT.push_back(k_.allocSbuf(kt_ * blockCols * es_));
    if (castA)
      aStage.push_back(k_.allocSbuf(kt_ * blockCols * dtypeSize(s_.a.dtype)));
  }
  std::vector<std::vector<OnChip>> banks(plan.bankSets);
  std::vector<std::vector<MatmulEvacuator::Tile>> tiles(plan.bankSets);
  for (int g = 0; g < plan.bankSets; ++g)
    for (int64_t sl = 0; sl < slices; ++sl) {
      banks[g].push_back(k_.allocPsumBank());
      tiles[g].push_back(evac_.allocTile(ts_));
    }
  for (const MatmulJob &j : jobs) {
    auto chunkBody = [&](const Affine &n0, int64_t w) {
      // Load the B chunk: full k-tiles in up to four DMAs, then the rest.
      const int64_t groups = std::min<int64_t>(4, std::max<int64_t>(1, ktFull_));
      for (int64_t g = 0; g < groups && ktFull_ > 0; ++g) {
        auto [t0, t1] = splitRange(ktFull_, static_cast<int>(groups), static_cast<int>(g));
        if (t1 <= t0)
          continue;
        OnChip dst = bPanel, stage = bStage;
        dst.offset += t0 * w * es_;
        stage.offset += t0 * w * dtypeSize(s_.b.dtype);
        loadB(j, Affine(t0), tk_, t1 - t0, n0, w, dst, w, castB ? &stage : nullptr);
      }
      if (kRest_) {
        OnChip dst = bPanel, stage = bStage;
        dst.offset += ktFull_ * w * es_;
        stage.offset += ktFull_ * w * dtypeSize(s_.b.dtype);
        loadB(j, Affine(ktFull_), kRest_, 1, n0, w, dst, w, castB ? &stage : nullptr);
      }
      const int64_t nsl = ceilDiv(w, ts_);
      // A^T rows [m0, m0 + rows) in one load; tile i of the block uses bank
      // set (slot * tiles + i) % sets, a constant in every emitted copy.
      auto mBlock = [&](const Affine &m0, int64_t rows, int slot) {
        const OnChip &block = aT[slot];
        loadAT(j, m0, rows, block, castA ? &aStage[slot] : nullptr);
        // Tile t of A^T at t * rows elements, of the B panel at t * w; a pair
        // of tiles is the outer [stride, 2] dim.
        auto dims = [](int64_t tileStride, int64_t n, bool pair) {
          std::vector<Dim> d;
          if (pair)
            d.push_back(Dim{static_cast<int32_t>(tileStride), 2});
          d.push_back(Dim{1, static_cast<uint32_t>(n)});
          return d;
        };
        for (int64_t i = 0; i * tm_ < rows; ++i) {
          const int64_t m = std::min(tm_, rows - i * tm_);
          const int set = static_cast<int>((slot * plan.tiles + i) % plan.bankSets);
          std::vector<OnChip> useBanks(banks[set].begin(), banks[set].begin() + nsl);
          accumulate(
              m, w, useBanks,
              [&](const Affine &kTile, int64_t kRows, bool pair) {
                return onChip(block, (kTile * rows + i * tm_) * es_, op_, dims(rows, m, pair), static_cast<int>(kRows));
              },
              [&](const Affine &kTile, int64_t kRows, bool pair, int64_t sl, int64_t width) {
                return onChip(bPanel, kTile * (w * es_) + sl * ts_ * es_, op_, dims(w, width, pair),
                              static_cast<int>(kRows));
              });
          for (int64_t sl = 0; sl < nsl; ++sl) {
            const int64_t width = std::min(ts_, w - sl * ts_);
            evac_.evacuate(j, m0 + i * tm_, m, n0 + sl * ts_, width, useBanks[sl], tiles[set][sl]);
          }
        }
      };
      const int64_t blocks = j.m / blockCols, rest = j.m % blockCols;
      k_.unrolled(blocks, plan.slots,
                  [&](const Affine &b, int slot) { mBlock(Affine(j.m0) + b * blockCols, blockCols, slot); });
      if (rest)
        mBlock(Affine(j.m0 + blocks * blockCols), rest, static_cast<int>(blocks % plan.slots));
    };
    const int64_t full = j.n / chunk, rest = j.n % chunk;
    k_.loop(full, [&](const Affine &c) { chunkBody(Affine(j.n0) + c * chunk, chunk); });
    if (rest)
      chunkBody(Affine(j.n0 + full * chunk), rest);
  }
}

MatmulEmitter::HeldPlan MatmulEmitter::heldPlan(const std::vector<MatmulJob> &jobs) const {
  HeldPlan p;
  int64_t mMax = 0;
  for (const MatmulJob &j : jobs) {
    p.width = std::max(p.width, j.n);
    mMax = std::max(mMax, j.m);
  }
  const Target &t = k_.target();
  const int64_t bankCols = t.psumBankColumns();
  p.tilesPerBank = std::max<int64_t>(1, bankCols / p.width);
  p.banksPerGroup = std::max(1, t.limits.psumBanks / groups_);
  const int64_t tiles = std::min<int64_t>(ceilDiv(mMax, tm_), p.tilesPerBank * p.banksPerGroup);
  p.banksPerGroup = static_cast<int>(ceilDiv(tiles, p.tilesPerBank));
  p.groupRows = tiles * tm_;
  const bool castA = s_.a.dtype != op_, castB = s_.b.dtype != op_;
  const int64_t tileCols = std::min(bankCols, p.tilesPerBank * p.width);
  const int64_t fixed = heldPanels(jobs) * kt_ * p.width * (es_ + (castB ? dtypeSize(s_.b.dtype) : 0)) +
                        groups_ * p.banksPerGroup * tileCols *
                            (dtypeSize(s_.c.dtype) + 4 + 4 * static_cast<int64_t>(s_.epilogueInputs.size())) +
                        4096;
  const int64_t perTile = p.groupRows * (es_ + (castA ? dtypeSize(s_.a.dtype) : 0)); // one k-tile of A^T
  // Loads of >= 8 KiB per partition (1 MiB over 128 partitions), six in flight when they fit.
  const bool pairs = isFP8(op_) && t.limits.doubleRow;
  int64_t kc = std::clamp<int64_t>(ceilDiv(8192, perTile), 1, std::max<int64_t>(1, ktFull_));
  if (pairs && kc > 1)
    kc -= kc % 2;
  for (int slots = 6; slots >= 2; --slots)
    for (int64_t c = kc; c >= 1; c -= (pairs && c > 2) ? 2 : 1)
      if (fixed + slots * c * perTile <= k_.sbufFree()) {
        p.kTiles = c;
        p.slots = slots;
        return p;
      }
  return p;
}

// Narrow B (a ws chip's decode: B is x^T): B stays resident; A^T (the
// weights, held in the array) streams in blocks of kTiles k-tiles x a whole
// group of rows, K outermost, so each load is long and every tile of the
// group accumulates in its own slice of a PSUM bank until K ends.
void MatmulEmitter::heldStream(const std::vector<MatmulJob> &jobs) {
  const HeldPlan plan = heldPlan(jobs);
  if (plan.kTiles == 0)
    fail("internal: matmul with K=", K_, " does not fit SBUF (emitMatmul splits K first)");
  const bool castA = s_.a.dtype != op_, castB = s_.b.dtype != op_;
  const bool pairs = isFP8(op_) && k_.target().limits.doubleRow;
  const int64_t w = plan.width, bankCols = k_.target().psumBankColumns();
  // A one-column B (a GEMV's x^T, K contiguous) read tile by tile is one
  // 2-byte run per partition per k-tile. The sum over K does not care which
  // rows share a k-tile, so the full tiles map (tile t, partition p) to row
  // p*T + t of both operands: partition p reads x's rows [p*T, p*T + T) as
  // one run, and A^T blocks keep their runs (the rest tile is unchanged).
  const bool permK = ktFull_ > 1 && w == 1 && sBK_ == 1 && sAK_ != 1;
  std::vector<OnChip> bPanels, bStages;
  for (int p = 0; p < heldPanels(jobs); ++p) {
    bPanels.push_back(k_.allocSbuf(kt_ * w * es_));
    bStages.push_back(castB ? k_.allocSbuf(kt_ * w * dtypeSize(s_.b.dtype)) : OnChip{});
  }
  std::vector<OnChip> aBlocks, aStage;
  for (int sl = 0; sl < plan.slots; ++sl) {
    aBlocks.push_back(k_.allocSbuf(plan.kTiles * plan.groupRows * es_));
    if (castA)
      aStage.push_back(k_.allocSbuf(plan.kTiles * plan.groupRows * dtypeSize(s_.a.dtype)));
  }
  std::vector<std::vector<OnChip>> banks(groups_);
  std::vector<std::vector<MatmulEvacuator::Tile>> tiles(groups_);
  for (int g = 0; g < groups_; ++g)
    for (int b = 0; b < plan.banksPerGroup; ++b) {
      banks[g].push_back(k_.allocPsumBank());
      tiles[g].push_back(evac_.allocTile(std::min(bankCols, plan.tilesPerBank * w)));
    }
  // Jobs alternate B panels and continue the PSUM group rotation, so
  // consecutive jobs share no buffer and overlap.
  int groupBase = 0, slotBase = 0;
  for (size_t ji = 0; ji < jobs.size(); ++ji) {
    const MatmulJob &j = jobs[ji];
    const OnChip &bPanel = bPanels[ji % bPanels.size()], &bStage = bStages[ji % bStages.size()];
    if (ktFull_ > 0)
      loadB(j, Affine(0), tk_, ktFull_, Affine(j.n0), j.n, bPanel, j.n, castB ? &bStage : nullptr, permK);
    if (kRest_) {
      OnChip dst = bPanel, stage = bStage;
      dst.offset += ktFull_ * j.n * es_;
      stage.offset += ktFull_ * j.n * dtypeSize(s_.b.dtype);
      loadB(j, Affine(ktFull_), kRest_, 1, Affine(j.n0), j.n, dst, j.n, castB ? &stage : nullptr);
    }
    const int64_t n = j.n;
    auto group = [&](const Affine &m0, int64_t rows, int groupCopy) {
      const int gslot = (groupCopy + groupBase) % groups_;
      const int64_t nTiles = ceilDiv(rows, tm_);
      // A block: k-tiles [t0, t0 + count) of rows [m0, m0 + rows): [kRows part, count, rows].
      auto block = [&](const Affine &t0, int64_t count, int64_t kRows, int slotCopy, bool first) {
        const int slot = (slotCopy + slotBase) % plan.slots;
        const DType at = s_.a.dtype;
        const OnChip &dst = castA ? aStage[slot] : aBlocks[slot];
        // Row of (tile t, partition p): t*tk + p, or p*T + t for permuted full tiles.
        const bool perm = permK && kRows == tk_;
        const int64_t tileStep = perm ? sAK_ : tk_ * sAK_, partStep = perm ? ktFull_ * sAK_ : sAK_;
        const Affine elem = Affine(s_.a.offset + j.aOff) + m0 * sAM_ + t0 * tileStep;
        std::vector<Dim> srcDims, dstDims;
        if (count > 1) {
          srcDims.push_back(Dim{static_cast<int32_t>(tileStep), static_cast<uint32_t>(count)});
          dstDims.push_back(Dim{static_cast<int32_t>(rows), static_cast<uint32_t>(count)});
        }
        srcDims.push_back(Dim{static_cast<int32_t>(sAM_), static_cast<uint32_t>(rows)});
        dstDims.push_back(Dim{1, static_cast<uint32_t>(rows)});
        k_.emit(loadA().next(),
                dmaCopy(onChip(dst, 0, at, dstDims, static_cast<int>(kRows)),
                        hbm(s_.a.tensor, elem * dtypeSize(at), at, partStep, static_cast<int>(kRows), srcDims),
                        wantsTransposeUnit(partStep, sAM_, at, rows)));
        if (castA)
          castCopy(aStage[slot], at, aBlocks[slot], kRows, count * rows);
        const bool pair = pairs && kRows == tk_ && count % 2 == 0;
        for (int64_t t = 0; t < nTiles; ++t) {
          const int64_t mt = std::min(tm_, rows - t * tm_);
          OnChip region = banks[gslot][t / plan.tilesPerBank];
          region.offset += (t % plan.tilesPerBank) * n * 4;
          auto step = [&](const Affine &kk, bool acc) {
            Instruction mm = makeInstruction(Opcode::Matmul);
            std::vector<Dim> sd, md;
            if (pair) {
              sd.push_back(Dim{static_cast<int32_t>(rows), 2});
              md.push_back(Dim{static_cast<int32_t>(n), 2});
            }
            sd.push_back(Dim{1, static_cast<uint32_t>(mt)});
            md.push_back(Dim{1, static_cast<uint32_t>(n)});
            mm.ap[0] = onChip(region, 0, DType::FP32, {Dim{1, static_cast<uint32_t>(n)}}, static_cast<int>(mt));
            mm.ap[1] = onChip(aBlocks[slot], (kk * rows + t * tm_) * es_, op_, sd, static_cast<int>(kRows));
            mm.ap[2] = onChip(bPanel, (t0 + kk) * (n * es_), op_, md, static_cast<int>(kRows));
            mm.enums[0] = pair ? 1 : 0;
            mm.setFlag(0, acc);
            k_.emit(EngineId{EngineKind::PE, 0}, mm);
          };
          const int64_t stride = pair ? 2 : 1, steps = count / stride;
          step(Affine(0), !first);
          k_.loop(steps - 1, [&](const Affine &i) { step((i + 1) * stride, true); });
        }
      };
      // K in blocks: the first peeled (it overwrites PSUM), the rest in a
      // loop unrolled over the load buffers, then the remainders.
      const int64_t kc = plan.kTiles, blocks = ktFull_ / kc, restTiles = ktFull_ % kc;
      if (blocks > 0) {
        block(Affine(0), kc, tk_, 0, true);
        k_.unrolled(blocks - 1, plan.slots, [&](const Affine &b, int slot) {
          block((b + 1) * kc, kc, tk_, (slot + 1) % plan.slots, false);
        });
      }
      int slot = static_cast<int>(blocks % plan.slots);
      if (restTiles > 0) {
        block(Affine(blocks * kc), restTiles, tk_, slot, blocks == 0);
        slot = (slot + 1) % plan.slots;
      }
      if (kRest_)
        block(Affine(ktFull_), 1, kRest_, slot, ktFull_ == 0);
      slotBase = static_cast<int>((slotBase + blocks + (restTiles > 0) + (kRest_ > 0)) % plan.slots);
      // Evacuate: full tiles a bank at a time, the ragged last tile alone.
      const int64_t fullTiles = rows / tm_;
      for (int64_t t = 0; t < fullTiles; t += plan.tilesPerBank) {
        const int64_t count = std::min(plan.tilesPerBank, fullTiles - t);
        evac_.evacuateTiles(j, m0 + t * tm_, tm_, count, tm_, Affine(j.n0), n,
                            banks[gslot][t / plan.tilesPerBank], tiles[gslot][t / plan.tilesPerBank]);
      }
      if (rows % tm_) {
        OnChip region = banks[gslot][fullTiles / plan.tilesPerBank];
        region.offset += (fullTiles % plan.tilesPerBank) * n * 4;
        evac_.evacuate(j, m0 + fullTiles * tm_, rows % tm_, Affine(j.n0), n, region,
                       tiles[gslot][fullTiles / plan.tilesPerBank]);
      }
    };
    const int64_t full = j.m / plan.groupRows, rest = j.m % plan.groupRows;
    k_.unrolled(full, groups_, [&](const Affine &g, int gslot) { group(Affine(j.m0) + g * plan.groupRows, plan.groupRows, gslot); });
    if (rest)
      group(Affine(j.m0 + full * plan.groupRows), rest, static_cast<int>(full % groups_));
    groupBase = static_cast<int>((groupBase + full + (rest ? 1 : 0)) % groups_);
  }
}

} // namespace

bool emitStationaryWholeK(ProgramBuilder &pb, const MatmulSpec &spec, uint32_t loc, bool dryRun) {
  const int r = spec.c.rank();
  const int64_t M = spec.c.shape[r - 2], K = spec.a.shape[r - 1];
  const Target &target = pb.target();
  const int cores = target.limits.cores;
  const int64_t Nc = spec.c.shape[r - 1];
  // Narrow results (fewer columns than rows, e.g. batched decode attention's
  // C^T = V^T P^T with 4 columns) hold B: streaming it would move a few
  // bytes per partition per DMA.
  const bool held = Nc <= target.matmulN() && (M > target.matmulM() || Nc < M);
  const bool streamed = !held && M <= target.matmulM();
  // The streamed schedule keeps all of a (one tile of rows) and streams b
  // once, the held one keeps all of (narrow) b; the resident one keeps
  // chunks of b as wide as half the banks hold.
  const int64_t chunkCols = streamed || held ? Nc
                                             : std::max(1, target.limits.psumBanks / (target.limits.psumBanks >= 2 ? 2 : 1)) *
                                                   target.matmulN();
  std::vector<std::vector<MatmulJob>> jobs =
      matmulCoreJobs(spec, cores, target.matmulM(), target.matmulN(), chunkCols);
  std::vector<CoreKernel> kernels = pb.newKernel(cores);
  for (int c = 0; c < cores; ++c) {
    if (jobs[c].empty())
      continue;
    MatmulEmitter e(kernels[c], spec, K);
    if ((streamed ? e.streamChunk(jobs[c]) : held ? e.heldPlan(jobs[c]).kTiles : e.residentChunk(jobs[c])) == 0)
      return false;
  }
  if (dryRun)
    return true;
  for (int c = 0; c < cores; ++c) {
    if (jobs[c].empty())
      continue;
    MatmulEmitter e(kernels[c], spec, K);
    if (streamed)
      e.streamWeights(jobs[c]);
    else if (held)
      e.heldStream(jobs[c]);
    else
      e.residentB(jobs[c]);
  }
  pb.addKernel(kernels, loc);
  return true;
}

} // namespace trnx::cg
