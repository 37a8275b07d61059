// Matmul kernel generator. Work is split across cores by batch, then by N
// (or M). Per core, one of two schedules:
//  - weights streamed (M <= 128: decode, GEMV): A^T stays in SBUF as the
//    stationary operand; B streams through three rotating tiles; PSUM banks
//    rotate between two groups so ACT evacuates one while the PE fills the other.
//  - B resident (GEMM): a chunk of B's columns stays in SBUF as the moving
//    operand; A^T tiles of 128 rows stream through two rotating buffers.
// The first k-tile overwrites PSUM and the rest accumulate, so k=0 is peeled
// from the k loop. Partial tiles (M, N, K not multiples of 128/512) are
// peeled copies with their own sizes. When K is too long for either schedule
// to keep its resident operand in SBUF, K is split into segments run as
// kernels one after another, accumulating an fp32 partial product in HBM
// scratch through the evacuation epilogue (the last segment applies the
// real epilogue).
// emitMatmulMx (at the end) is the MX block-scaled variant: B resident, A^T
// blocks streamed, one matmul_mx per k-tile of pe.rows x the MX packing.
#include "compiler/codegen/kernels/Kernels.h"

#include "compiler/codegen/kernels/KernelSupport.h"
#include "isa/Error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace trnx::cg {
namespace {

constexpr int64_t kTileK = 128;  // contraction rows per matmul
constexpr int64_t kTileM = 128;  // stationary columns
constexpr int64_t kSlice = 512;  // moving free size per matmul (one PSUM bank)
// Rotating B tiles of the streamed schedule. A load spends ~1.6 us from issue
// to visibility on trn3 (issue overhead + transfer + HBM latency) against
// ~0.5 us of PE work per tile, so about four must be in flight.
constexpr int kStreamSlots = 6;

// One core's piece of the product.
struct Job {
  int64_t aOff, bOff, cOff;
  std::vector<int64_t> extraOff;
  int64_t m0, m, n0, n;
};

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

class MatmulEmitter {
public:
  MatmulEmitter(CoreKernel &k, const MatmulSpec &s, int64_t K, int queues)
      : k_(k), s_(s), K_(K), kt_(ceilDiv(K, kTileK)), ktFull_(K / kTileK), kRest_(K % kTileK),
        op_(s.operandType), es_(dtypeSize(s.operandType)), loadA_(0, std::min(2, queues)),
        loadB_(std::min(2, queues - 1), std::max(1, std::min(8, queues - 2))),
        loadExtra_(std::min(10, queues - 1), std::max(1, std::min(2, queues - 10))),
        store_(std::min(12, queues - 1), std::max(1, std::min(4, queues - 12))),
        epilogue_(s.epilogue.ops.empty() ? EwProgram{} : s.epilogue.simplified()) {
    if (epilogue_.ops.empty()) {
      epilogue_.numInputs = 1 + static_cast<int>(s.epilogueInputs.size());
      epilogue_.result = 0;
    }
    const int r = s.c.rank();
    sAM_ = s.a.strides[r - 2];
    sAK_ = s.a.strides[r - 1];
    sBK_ = s.b.strides[r - 2];
    sBN_ = s.b.strides[r - 1];
    sCM_ = s.c.strides[r - 2];
    sCN_ = s.c.strides[r - 1];
  }

  void streamWeights(const std::vector<Job> &jobs);
  void residentB(const std::vector<Job> &jobs);
  // The B chunk width each schedule would use, 0 when this K does not fit SBUF.
  int64_t streamChunk(const std::vector<Job> &jobs) const;
  int64_t residentChunk(const std::vector<Job> &jobs) const;

private:
  // Loads A^T rows [m0, m0+m) x all K into `dst` ([128 part, kt, m] of op type).
  void loadAT(const Job &j, const Affine &m0, int64_t m, const OnChip &dst, const OnChip *staging);
  // Loads B rows of k-tiles [k0, k0+count) x columns [n0, n0+w) into dst[kt][w].
  void loadB(const Job &j, const Affine &kTile, int64_t kRows, int64_t tiles, const Affine &n0, int64_t w,
             const OnChip &dst, int64_t dstStride, const OnChip *staging);
  void castCopy(const OnChip &from, DType fromType, const OnChip &to, int64_t rows, int64_t elems);
  // Matmuls of one [m x w] output block over all of K into banks[0..].
  // `stationary` / `moving` give the operand of k-tile kTile; with pair set,
  // of k-tiles kTile and kTile + 1 as [P, 2, free] (fp8 double-row mode).
  void accumulate(int64_t m, int64_t w, const std::vector<OnChip> &banks,
                  const std::function<AccessPattern(const Affine &kTile, int64_t kRows, bool pair)> &stationary,
                  const std::function<AccessPattern(const Affine &kTile, int64_t kRows, bool pair, int64_t slice,
                                                    int64_t width)> &moving);
  // Epilogue of one bank [m x w] at output rows m0 / columns n0, then the store.
  void evacuate(const Job &j, const Affine &m0, int64_t m, const Affine &n0, int64_t w, const OnChip &bank,
                const OnChip &out, const std::vector<OnChip> &extras);

  CoreKernel &k_;
  const MatmulSpec &s_;
  int64_t K_, kt_, ktFull_, kRest_;
  DType op_;
  int64_t es_;
  int64_t sAM_, sAK_, sBK_, sBN_, sCM_, sCN_;
  QueueRotor loadA_, loadB_, loadExtra_, store_;
  EwProgram epilogue_;
  std::vector<OnChip> temps_;
  EngineBalancer balance_;
};

void MatmulEmitter::castCopy(const OnChip &from, DType fromType, const OnChip &to, int64_t rows, int64_t elems) {
  Instruction inst = makeInstruction(Opcode::TensorCopy);
  inst.ap[0] = onChip(to, 0, op_, {Dim{1, static_cast<uint32_t>(elems)}}, static_cast<int>(rows));
  inst.ap[1] = onChip(from, 0, fromType, {Dim{1, static_cast<uint32_t>(elems)}}, static_cast<int>(rows));
  k_.emit(balance_.pick(engineBit(EngineKind::ACT) | engineBit(EngineKind::POOL), static_cast<double>(elems)),
          inst);
}

void MatmulEmitter::loadAT(const Job &j, const Affine &m0, int64_t m, const OnChip &dst, const OnChip *staging) {
  const DType at = s_.a.dtype;
  const OnChip &target = staging ? *staging : dst;
  const bool tu = wantsTransposeUnit(sAK_, sAM_, at, m);
  const Affine base = Affine(s_.a.offset + j.aOff) + m0 * sAM_;
  if (ktFull_ > 0) {
    AccessPattern src = hbm(s_.a.tensor, base * dtypeSize(at), at, sAK_, kTileK,
                            {Dim{static_cast<int32_t>(kTileK * sAK_), static_cast<uint32_t>(ktFull_)},
                             Dim{static_cast<int32_t>(sAM_), static_cast<uint32_t>(m)}});
    AccessPattern d = onChip(target, 0, at,
                             {Dim{static_cast<int32_t>(m), static_cast<uint32_t>(ktFull_)}, Dim{1, static_cast<uint32_t>(m)}},
                             kTileK);
    k_.emit(loadA_.next(), dmaCopy(d, src, tu));
  }
  if (kRest_) {
    AccessPattern src = hbm(s_.a.tensor, (base + Affine(ktFull_ * kTileK * sAK_)) * dtypeSize(at), at, sAK_,
                            static_cast<int>(kRest_), {Dim{static_cast<int32_t>(sAM_), static_cast<uint32_t>(m)}});
    AccessPattern d = onChip(target, ktFull_ * m * dtypeSize(at), at, {Dim{1, static_cast<uint32_t>(m)}},
                             static_cast<int>(kRest_));
    k_.emit(loadA_.next(), dmaCopy(d, src, tu));
  }
  if (staging)
    castCopy(*staging, at, dst, kTileK, kt_ * m);
}

void MatmulEmitter::loadB(const Job &j, const Affine &kTile, int64_t kRows, int64_t tiles, const Affine &n0,
                          int64_t w, const OnChip &dst, int64_t dstStride, const OnChip *staging) {
  const DType bt = s_.b.dtype;
  const OnChip &target = staging ? *staging : dst;
  const bool tu = wantsTransposeUnit(sBK_, sBN_, bt, w);
  Affine elem = Affine(s_.b.offset + j.bOff) + kTile * (kTileK * sBK_) + n0 * sBN_;
  std::vector<Dim> srcDims, dstDims;
  if (tiles > 1) {
    srcDims.push_back(Dim{static_cast<int32_t>(kTileK * sBK_), static_cast<uint32_t>(tiles)});
    dstDims.push_back(Dim{static_cast<int32_t>(dstStride), static_cast<uint32_t>(tiles)});
  }
  srcDims.push_back(Dim{static_cast<int32_t>(sBN_), static_cast<uint32_t>(w)});
  dstDims.push_back(Dim{1, static_cast<uint32_t>(w)});
  AccessPattern src = hbm(s_.b.tensor, elem * dtypeSize(bt), bt, sBK_, static_cast<int>(kRows), srcDims);
  AccessPattern d = onChip(target, 0, bt, dstDims, static_cast<int>(kRows));
  k_.emit(loadB_.next(), dmaCopy(d, src, tu));
  if (staging)
    castCopy(*staging, bt, dst, kRows, tiles * dstStride);
}

void MatmulEmitter::accumulate(
    int64_t m, int64_t w, const std::vector<OnChip> &banks,
    const std::function<AccessPattern(const Affine &, int64_t, bool)> &stationary,
    const std::function<AccessPattern(const Affine &, int64_t, bool, int64_t, int64_t)> &moving) {
  const int64_t slices = ceilDiv(w, kSlice);
  auto step = [&](const Affine &kTile, int64_t kRows, bool pair, bool acc) {
    for (int64_t sl = 0; sl < slices; ++sl) {
      const int64_t width = std::min(kSlice, w - sl * kSlice);
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
  // (partition p carries rows 128t + p and 128(t+1) + p; any pairing of K
  // rows gives the same sum as long as both operands use it).
  const bool pairs = isFP8(op_) && k_.target().limits.doubleRow;
  const int64_t paired = pairs ? ktFull_ / 2 : 0, single = ktFull_ - 2 * paired;
  if (paired > 0) {
    step(Affine(0), kTileK, true, false);
    k_.loop(paired - 1, [&](const Affine &i) { step(i * 2 + 2, kTileK, true, true); });
  }
  if (single > 0) {
    step(Affine(2 * paired), kTileK, false, paired > 0);
    k_.loop(single - 1, [&](const Affine &i) { step(i + (2 * paired + 1), kTileK, false, true); });
  }
  if (kRest_)
    step(Affine(ktFull_), kRest_, false, ktFull_ > 0);
}

void MatmulEmitter::evacuate(const Job &j, const Affine &m0, int64_t m, const Affine &n0, int64_t w,
                             const OnChip &bank, const OnChip &out, const std::vector<OnChip> &extras) {
  const uint32_t wd = static_cast<uint32_t>(w);
  std::vector<AccessPattern> inputs;
  inputs.push_back(onChip(bank, 0, DType::FP32, {Dim{1, wd}}, static_cast<int>(m)));
  const int r = s_.c.rank();
  for (size_t e = 0; e < s_.epilogueInputs.size(); ++e) {
    const HbmView &v = s_.epilogueInputs[e];
    const int64_t sm = v.strides[r - 2], sn = v.strides[r - 1];
    Affine elem = Affine(v.offset + j.extraOff[e]) + m0 * sm + n0 * sn;
    AccessPattern src = hbm(v.tensor, elem * dtypeSize(v.dtype), v.dtype, sm, static_cast<int>(m),
                            {Dim{static_cast<int32_t>(sn), wd}});
    AccessPattern d = onChip(extras[e], 0, v.dtype, {Dim{1, wd}}, static_cast<int>(m));
    k_.emit(loadExtra_.next(), dmaCopy(d, src));
    inputs.push_back(d);
  }
  AccessPattern o = onChip(out, 0, s_.c.dtype, {Dim{1, wd}}, static_cast<int>(m));
  if (temps_.empty())
    for (int t = 0; t < temporariesFor(epilogue_, inputs, kSlice); ++t)
      temps_.push_back(k_.allocSbuf(kSlice * 4));
  if (epilogue_.ops.empty()) {
    // Plain evacuation: ACT reads PSUM and rounds to the output dtype.
    Instruction copy = makeInstruction(Opcode::Activation);
    copy.ap[0] = o;
    copy.ap[1] = inputs[0];
    k_.emit(EngineId{EngineKind::ACT, 0}, copy);
  } else {
    emitEwProgram(k_, epilogue_, inputs, o, temps_, static_cast<int>(m), w, balance_);
  }
  Affine elem = Affine(s_.c.offset + j.cOff) + m0 * sCM_ + n0 * sCN_;
  AccessPattern dst = hbm(s_.c.tensor, elem * dtypeSize(s_.c.dtype), s_.c.dtype, sCM_, static_cast<int>(m),
                          {Dim{static_cast<int32_t>(sCN_), wd}});
  k_.emit(store_.next(), dmaCopy(dst, o));
}

int64_t MatmulEmitter::streamChunk(const std::vector<Job> &jobs) const {
  int64_t mMax = 0, nMax = 0;
  for (const Job &j : jobs) {
    mMax = std::max(mMax, j.m);
    nMax = std::max(nMax, j.n);
  }
  const int64_t chunk = std::min<int64_t>(nMax, 4 * kSlice);
  const bool castA = s_.a.dtype != op_, castB = s_.b.dtype != op_;
  // A^T stays resident for all of K next to the rotating B tiles.
  const int64_t resident = kt_ * mMax * (es_ + (castA ? dtypeSize(s_.a.dtype) : 0)) +
                           kStreamSlots * chunk * (es_ + (castB ? dtypeSize(s_.b.dtype) : 0));
  return resident > k_.sbufFree() ? 0 : chunk;
}

// M <= 128: A^T resident, B streamed in [128 x chunk] tiles.
void MatmulEmitter::streamWeights(const std::vector<Job> &jobs) {
  int64_t mMax = 0;
  for (const Job &j : jobs)
    mMax = std::max(mMax, j.m);
  const int64_t chunk = streamChunk(jobs);
  if (chunk == 0)
    fail("internal: matmul with K=", K_, " does not fit SBUF (emitMatmul splits K first)");
  const int64_t slices = ceilDiv(chunk, kSlice);
  const bool castA = s_.a.dtype != op_, castB = s_.b.dtype != op_;
  OnChip aT = k_.allocSbuf(kt_ * mMax * es_);
  OnChip aStage = castA ? k_.allocSbuf(kt_ * mMax * dtypeSize(s_.a.dtype)) : OnChip{};
  std::vector<OnChip> bTiles, bStage;
  for (int t = 0; t < kStreamSlots; ++t) {
    bTiles.push_back(k_.allocSbuf(chunk * es_));
    if (castB)
      bStage.push_back(k_.allocSbuf(chunk * dtypeSize(s_.b.dtype)));
  }
  std::vector<std::vector<OnChip>> banks(2), outs(2), extras(2 * slices);
  for (int g = 0; g < 2; ++g)
    for (int64_t sl = 0; sl < slices; ++sl) {
      banks[g].push_back(k_.allocPsumBank());
      outs[g].push_back(k_.allocSbuf(kSlice * dtypeSize(s_.c.dtype)));
      for (const HbmView &v : s_.epilogueInputs)
        extras[g * slices + sl].push_back(k_.allocSbuf(kSlice * dtypeSize(v.dtype)));
    }

  for (const Job &j : jobs) {
    loadAT(j, Affine(j.m0), j.m, aT, castA ? &aStage : nullptr);
    auto stationary = [&](const Affine &kTile, int64_t kRows) {
      return onChip(aT, kTile * (j.m * es_), op_, {Dim{1, static_cast<uint32_t>(j.m)}}, static_cast<int>(kRows));
    };
    auto block = [&](const Affine &n0, int64_t w, int group) {
      const int64_t nsl = ceilDiv(w, kSlice);
      std::vector<OnChip> useBanks(banks[group].begin(), banks[group].begin() + nsl);
      // The k loop rotates the B tiles: k-tile t uses tile t % kStreamSlots.
      auto kStep = [&](const Affine &kTile, int64_t kRows, bool acc, int slot) {
        loadB(j, kTile, kRows, 1, n0, w, bTiles[slot], w, castB ? &bStage[slot] : nullptr);
        for (int64_t sl = 0; sl < nsl; ++sl) {
          const int64_t width = std::min(kSlice, w - sl * kSlice);
          Instruction mm = makeInstruction(Opcode::Matmul);
          mm.ap[0] = onChip(useBanks[sl], 0, DType::FP32, {Dim{1, static_cast<uint32_t>(width)}},
                            static_cast<int>(j.m));
          mm.ap[1] = stationary(kTile, kRows);
          mm.ap[2] = onChip(bTiles[slot], sl * kSlice * es_, op_, {Dim{1, static_cast<uint32_t>(width)}},
                            static_cast<int>(kRows));
          mm.setFlag(0, acc);
          k_.emit(EngineId{EngineKind::PE, 0}, mm);
        }
      };
      if (ktFull_ > 0) {
        kStep(Affine(0), kTileK, false, 0);
        // k-tiles 1..ktFull-1, kStreamSlots per loop iteration so each uses a fixed tile.
        const int64_t rest = ktFull_ - 1;
        k_.loop(rest / kStreamSlots, [&](const Affine &i) {
          for (int c = 0; c < kStreamSlots; ++c)
            kStep(i * kStreamSlots + (1 + c), kTileK, true, (1 + c) % kStreamSlots);
        });
        for (int64_t t = 1 + rest / kStreamSlots * kStreamSlots; t < ktFull_; ++t)
          kStep(Affine(t), kTileK, true, static_cast<int>(t % kStreamSlots));
      }
      if (kRest_)
        kStep(Affine(ktFull_), kRest_, ktFull_ > 0, static_cast<int>(ktFull_ % kStreamSlots));
      for (int64_t sl = 0; sl < nsl; ++sl) {
        const int64_t width = std::min(kSlice, w - sl * kSlice);
        evacuate(j, Affine(j.m0), j.m, n0 + sl * kSlice, width, useBanks[sl], outs[group][sl],
                 extras[group * slices + sl]);
      }
    };
    const int64_t full = j.n / chunk, rest = j.n % chunk;
    k_.unrolled(full, 2, [&](const Affine &c, int group) { block(Affine(j.n0) + c * chunk, chunk, group); });
    if (rest)
      block(Affine(j.n0 + full * chunk), rest, static_cast<int>(full % 2));
  }
}

int64_t MatmulEmitter::residentChunk(const std::vector<Job> &jobs) const {
  int64_t nMax = 0;
  for (const Job &j : jobs)
    nMax = std::max(nMax, j.n);
  const bool castA = s_.a.dtype != op_, castB = s_.b.dtype != op_;
  const int64_t aTileBytes = kt_ * kTileM * (es_ + (castA ? dtypeSize(s_.a.dtype) : 0));
  const int64_t perSlice = 2 * kSlice * (dtypeSize(s_.c.dtype) + 4) + 2 * kSlice * 4 * static_cast<int64_t>(s_.epilogueInputs.size());
  // Budget: B chunk gets what two A^T buffers and the output tiles leave.
  int64_t budget = k_.sbufFree() - 2 * aTileBytes - 4 * perSlice - 4096;
  int64_t chunk = std::min<int64_t>({nMax, 4 * kSlice, budget / (kt_ * (es_ + (castB ? dtypeSize(s_.b.dtype) : 0)))});
  if (chunk >= kSlice)
    chunk = chunk / kSlice * kSlice;
  else if (chunk >= 128)
    chunk = chunk / 128 * 128;
  else if (chunk >= 32) // long K: narrower B chunks (a less efficient moving operand) before splitting K
    chunk = chunk / 32 * 32;
  return chunk < std::min<int64_t>(nMax, 32) ? 0 : chunk;
}

// M > 128: columns of B resident in chunks, A^T streamed per 128 rows.
void MatmulEmitter::residentB(const std::vector<Job> &jobs) {
  const bool castA = s_.a.dtype != op_, castB = s_.b.dtype != op_;
  const int64_t chunk = residentChunk(jobs);
  if (chunk == 0)
    fail("internal: matmul with K=", K_, " does not fit SBUF (emitMatmul splits K first)");
  const int64_t slices = ceilDiv(chunk, kSlice);
  OnChip bPanel = k_.allocSbuf(kt_ * chunk * es_);
  OnChip bStage = castB ? k_.allocSbuf(kt_ * chunk * dtypeSize(s_.b.dtype)) : OnChip{};
  std::vector<OnChip> aT, aStage;
  std::vector<std::vector<OnChip>> banks(2), outs(2), extras(2 * slices);
  for (int g = 0; g < 2; ++g) {
    aT.push_back(k_.allocSbuf(kt_ * kTileM * es_));
    if (castA)
      aStage.push_back(k_.allocSbuf(kt_ * kTileM * dtypeSize(s_.a.dtype)));
    for (int64_t sl = 0; sl < slices; ++sl) {
      banks[g].push_back(k_.allocPsumBank());
      outs[g].push_back(k_.allocSbuf(kSlice * dtypeSize(s_.c.dtype)));
      for (const HbmView &v : s_.epilogueInputs)
        extras[g * slices + sl].push_back(k_.allocSbuf(kSlice * dtypeSize(v.dtype)));
    }
  }
  for (const Job &j : jobs) {
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
        loadB(j, Affine(t0), kTileK, t1 - t0, n0, w, dst, w, castB ? &stage : nullptr);
      }
      if (kRest_) {
        OnChip dst = bPanel, stage = bStage;
        dst.offset += ktFull_ * w * es_;
        stage.offset += ktFull_ * w * dtypeSize(s_.b.dtype);
        loadB(j, Affine(ktFull_), kRest_, 1, n0, w, dst, w, castB ? &stage : nullptr);
      }
      auto mBlock = [&](const Affine &m0, int64_t m, int slot) {
        OnChip tile = aT[slot];
        loadAT(j, m0, m, tile, castA ? &aStage[slot] : nullptr);
        const int64_t nsl = ceilDiv(w, kSlice);
        std::vector<OnChip> useBanks(banks[slot].begin(), banks[slot].begin() + nsl);
        // Tile t of A^T at t * m elements, of the B panel at t * w; a pair
        // of tiles is the outer [stride, 2] dim.
        auto dims = [](int64_t tileStride, int64_t n, bool pair) {
          std::vector<Dim> d;
          if (pair)
            d.push_back(Dim{static_cast<int32_t>(tileStride), 2});
          d.push_back(Dim{1, static_cast<uint32_t>(n)});
          return d;
        };
        accumulate(
            m, w, useBanks,
            [&](const Affine &kTile, int64_t kRows, bool pair) {
              return onChip(tile, kTile * (m * es_), op_, dims(m, m, pair), static_cast<int>(kRows));
            },
            [&](const Affine &kTile, int64_t kRows, bool pair, int64_t sl, int64_t width) {
              return onChip(bPanel, kTile * (w * es_) + sl * kSlice * es_, op_, dims(w, width, pair),
                            static_cast<int>(kRows));
            });
        for (int64_t sl = 0; sl < nsl; ++sl) {
          const int64_t width = std::min(kSlice, w - sl * kSlice);
          evacuate(j, m0, m, n0 + sl * kSlice, width, useBanks[sl], outs[slot][sl], extras[slot * slices + sl]);
        }
      };
      const int64_t mFull = j.m / kTileM, mRest = j.m % kTileM;
      k_.unrolled(mFull, 2, [&](const Affine &t, int slot) { mBlock(Affine(j.m0) + t * kTileM, kTileM, slot); });
      if (mRest)
        mBlock(Affine(j.m0 + mFull * kTileM), mRest, static_cast<int>(mFull % 2));
    };
    const int64_t full = j.n / chunk, rest = j.n % chunk;
    k_.loop(full, [&](const Affine &c) { chunkBody(Affine(j.n0) + c * chunk, chunk); });
    if (rest)
      chunkBody(Affine(j.n0 + full * chunk), rest);
  }
}

// MX matmul of one core: rows [m0, m0+m) x columns [n0, n0+n) of c.
class MxEmitter {
public:
  MxEmitter(CoreKernel &k, const MxMatmulSpec &s, int queues)
      : k_(k), s_(s), va_(valuesPerElement(s.aType)), vb_(valuesPerElement(s.bType)),
        loadA_(0, std::min(4, queues)), loadB_(std::min(4, queues - 1), std::max(1, std::min(6, queues - 4))),
        store_(std::min(10, queues - 1), std::max(1, queues - 10)) {
    const TargetLimits &l = k.target().limits;
    rows_ = std::min<int64_t>(kTileK, l.peRows);
    pack_ = std::min(l.mxPacking(s.aType), l.mxPacking(s.bType));
    kTile_ = rows_ * pack_;
    ktFull_ = s.k / kTile_;
    const int64_t rest = s.k % kTile_;
    // The last k-tile: the most rows per partition that divide it.
    for (int64_t r = pack_; rest && r >= 1; --r)
      if (rest % r == 0 && rest / r <= rows_) {
        restRows_ = r;
        break;
      }
    if (rest && (rest % restRows_ != 0 || rest / restRows_ > rows_))
      fail("MX matmul: K=", s.k, " leaves a last k-tile of ", rest, " rows that no packing up to ", pack_,
           " splits over ", rows_, " partitions");
    restK_ = rest;
    tiles_ = ktFull_ + (restK_ ? 1 : 0);
  }

  void run(int64_t m0, int64_t m, int64_t n0, int64_t n);
  // The widest B chunk (<= 4 PSUM banks) that fits SBUF next to the A^T
  // slots and output tiles for n columns; long K narrows it; 0: none fits.
  int64_t chunkFor(int64_t n) const;

private:
  struct KTile {
    int64_t k0, partitions, r; // rows k0 + p*r + j
  };
  KTile tile(int64_t t) const {
    if (t < ktFull_)
      return {t * kTile_, rows_, pack_};
    return {ktFull_ * kTile_, restK_ / restRows_, restRows_};
  }
  // Element rows of a K-major operand [K, cols/v] into `dst` laid out
  // [tile][r][cols/v] per partition (tile stride `tileBytes`).
  void loadKMajor(QueueRotor &q, uint32_t tensor, DType type, int64_t rowElems, const Affine &colElem0,
                  int64_t width, const OnChip &dst, int64_t tileBytes);
  void loadScales(QueueRotor &q, uint32_t tensor, int64_t rowElems, const Affine &col0, int64_t cols,
                  const OnChip &dst);

  CoreKernel &k_;
  const MxMatmulSpec &s_;
  int64_t va_, vb_;
  QueueRotor loadA_, loadB_, store_;
  int64_t rows_ = 128, pack_ = 1, kTile_ = 128, ktFull_ = 0, restK_ = 0, restRows_ = 1, tiles_ = 0;
};

void MxEmitter::loadKMajor(QueueRotor &q, uint32_t tensor, DType type, int64_t rowElems, const Affine &colElem0,
                           int64_t width, const OnChip &dst, int64_t tileBytes) {
  const int64_t es = dtypeSize(type);
  // Full tiles, in up to four DMAs (the first matmuls start after the first
  // arrives): partition p of tile t gets rows t*kTile + p*pack + j.
  const int64_t groups = std::min<int64_t>(4, ktFull_);
  for (int64_t g = 0; g < groups; ++g) {
    auto [t0, t1] = splitRange(ktFull_, static_cast<int>(groups), static_cast<int>(g));
    if (t1 <= t0)
      continue;
    AccessPattern src = hbm(tensor, (Affine((s_.k0 + t0 * kTile_) * rowElems) + colElem0) * es, type, pack_ * rowElems,
                            static_cast<int>(rows_),
                            {Dim{static_cast<int32_t>(kTile_ * rowElems), static_cast<uint32_t>(t1 - t0)},
                             Dim{static_cast<int32_t>(rowElems), static_cast<uint32_t>(pack_)},
                             Dim{1, static_cast<uint32_t>(width)}});
    AccessPattern d = onChip(dst, t0 * tileBytes, type,
                             {Dim{static_cast<int32_t>(tileBytes / es), static_cast<uint32_t>(t1 - t0)},
                              Dim{1, static_cast<uint32_t>(pack_ * width)}},
                             static_cast<int>(rows_));
    k_.emit(q.next(), dmaCopy(d, src));
  }
  if (restK_) {
    const KTile t = tile(ktFull_);
    AccessPattern src = hbm(tensor, (Affine((s_.k0 + t.k0) * rowElems) + colElem0) * es, type, t.r * rowElems,
                            static_cast<int>(t.partitions),
                            {Dim{static_cast<int32_t>(rowElems), static_cast<uint32_t>(t.r)},
                             Dim{1, static_cast<uint32_t>(width)}});
    AccessPattern d = onChip(dst, ktFull_ * tileBytes, type, {Dim{1, static_cast<uint32_t>(t.r * width)}},
                             static_cast<int>(t.partitions));
    k_.emit(q.next(), dmaCopy(d, src));
  }
}

void MxEmitter::loadScales(QueueRotor &q, uint32_t tensor, int64_t rowElems, const Affine &col0, int64_t cols,
                           const OnChip &dst) {
  // Tile t's K/32 scale rows go to partitions 0.. at free offset t*cols.
  const int64_t blocks = kTile_ / 32;
  if (ktFull_ > 0) {
    AccessPattern src = hbm(tensor, Affine(s_.k0 / 32 * rowElems) + col0, DType::E8M0, rowElems, static_cast<int>(blocks),
                            {Dim{static_cast<int32_t>(blocks * rowElems), static_cast<uint32_t>(ktFull_)},
                             Dim{1, static_cast<uint32_t>(cols)}});
    AccessPattern d = onChip(dst, 0, DType::E8M0, {Dim{1, static_cast<uint32_t>(ktFull_ * cols)}},
                             static_cast<int>(blocks));
    k_.emit(q.next(), dmaCopy(d, src));
  }
  if (restK_) {
    AccessPattern src = hbm(tensor, Affine((s_.k0 / 32 + ktFull_ * blocks) * rowElems) + col0, DType::E8M0, rowElems,
                            static_cast<int>(restK_ / 32), {Dim{1, static_cast<uint32_t>(cols)}});
    AccessPattern d = onChip(dst, ktFull_ * cols, DType::E8M0, {Dim{1, static_cast<uint32_t>(cols)}},
                             static_cast<int>(restK_ / 32));
    k_.emit(q.next(), dmaCopy(d, src));
  }
}

constexpr int64_t kMxBlockM = 4 * kTileM; // A^T columns per load (longer DMA runs)
constexpr int kMxSlots = 3;                // A^T blocks in flight: MX passes are short
constexpr int kMxOutTiles = 6;             // output tiles rotating over the m-tiles

int64_t MxEmitter::chunkFor(int64_t n) const {
  const int64_t esC = dtypeSize(s_.cType);
  const int64_t aBytes = kMxSlots * tiles_ * (pack_ * (kMxBlockM / va_) + kMxBlockM);
  // With an addend, each output tile slice has an fp32 addend tile beside it.
  const int64_t outBytes = esC + (s_.addend != kNoTensor ? 4 : 0);
  for (int64_t w : {4 * kSlice, 3 * kSlice, 2 * kSlice, kSlice, kSlice / 2, kSlice / 4}) {
    w = std::min(w, n);
    if (tiles_ * (pack_ * (w / vb_) + w) + aBytes + kMxOutTiles * ceilDiv(w, kSlice) * kSlice * outBytes + 4096 <=
        k_.sbufFree())
      return w;
  }
  return 0;
}

void MxEmitter::run(int64_t mStart, int64_t mCount, int64_t n0, int64_t n) {
  constexpr int64_t kBlockM = kMxBlockM;
  constexpr int kSlots = kMxSlots;
  const int64_t M = s_.m, N = s_.n;
  const int64_t esC = dtypeSize(s_.cType);
  const int64_t chunk = chunkFor(n);
  if (chunk == 0)
    fail("internal: MX matmul with K=", s_.k, " does not fit SBUF (emitMatmulMx splits K first)");
  const bool addend = s_.addend != kNoTensor;
  const int64_t slices = ceilDiv(chunk, kSlice);
  // PSUM bank groups and output tiles rotate over the m-tiles, so the PE does
  // not wait for an evacuation or a store of a recent tile.
  const int groups = static_cast<int>(std::min<int64_t>(4, k_.psumBanksFree() / slices));
  const int outTiles = kMxOutTiles;
  // B chunk and its scales stay resident; A^T blocks rotate through kSlots slots.
  const int64_t bTileBytes = pack_ * (chunk / vb_), aTileBytes = pack_ * (kBlockM / va_);
  OnChip bPanel = k_.allocSbuf(tiles_ * bTileBytes), bScales = k_.allocSbuf(tiles_ * chunk);
  std::vector<OnChip> aT, aScales;
  std::vector<std::vector<OnChip>> banks(groups), outs(outTiles);
  for (int g = 0; g < kSlots; ++g) {
    aT.push_back(k_.allocSbuf(tiles_ * aTileBytes));
    aScales.push_back(k_.allocSbuf(tiles_ * kBlockM));
  }
  for (int g = 0; g < groups; ++g)
    for (int64_t sl = 0; sl < slices; ++sl)
      banks[g].push_back(k_.allocPsumBank());
  std::vector<std::vector<OnChip>> addends(addend ? outTiles : 0);
  for (int g = 0; g < outTiles; ++g)
    for (int64_t sl = 0; sl < slices; ++sl) {
      outs[g].push_back(k_.allocSbuf(kSlice * esC));
      if (addend)
        addends[g].push_back(k_.allocSbuf(kSlice * 4));
    }
  int evacuations = 0;
  // c0: first column (values); c0e: the same in stored elements.
  auto chunkBody = [&](const Affine &c0, const Affine &c0e, int64_t w) {
    loadKMajor(loadB_, s_.b, s_.bType, N / vb_, c0e, w / vb_, bPanel, bTileBytes);
    loadScales(loadB_, s_.bScale, N, c0, w, bScales);
    const int64_t nsl = ceilDiv(w, kSlice);
    // One m-tile [mt x w]: all k-tiles into the slot's banks, then evacuate.
    auto mTile = [&](int slot, const Affine &m0, int64_t i, int64_t mt, int64_t blockM, int g, int o) {
      auto step = [&](const Affine &t, const KTile &kt, bool acc) {
        for (int64_t sl = 0; sl < nsl; ++sl) {
          const int64_t width = std::min(kSlice, w - sl * kSlice);
          Instruction mm = makeInstruction(Opcode::MatmulMx);
          mm.ap[0] = onChip(banks[g][sl], 0, DType::FP32, {Dim{1, static_cast<uint32_t>(width)}},
                            static_cast<int>(mt));
          mm.ap[1] = onChip(aT[slot], t * aTileBytes + i * kTileM / va_, s_.aType,
                            {Dim{static_cast<int32_t>(blockM / va_), static_cast<uint32_t>(kt.r)},
                             Dim{1, static_cast<uint32_t>(mt / va_)}},
                            static_cast<int>(kt.partitions));
          mm.ap[2] = onChip(bPanel, t * bTileBytes + sl * kSlice / vb_, s_.bType,
                            {Dim{static_cast<int32_t>(w / vb_), static_cast<uint32_t>(kt.r)},
                             Dim{1, static_cast<uint32_t>(width / vb_)}},
                            static_cast<int>(kt.partitions));
          mm.ap[3] = onChip(aScales[slot], t * blockM + i * kTileM, DType::E8M0,
                            {Dim{1, static_cast<uint32_t>(mt)}}, static_cast<int>(kt.partitions * kt.r / 32));
          mm.ap[4] = onChip(bScales, t * w + sl * kSlice, DType::E8M0, {Dim{1, static_cast<uint32_t>(width)}},
                            static_cast<int>(kt.partitions * kt.r / 32));
          mm.i32[0] = static_cast<int32_t>(kt.r);
          mm.setFlag(0, acc);
          k_.emit(EngineId{EngineKind::PE, 0}, mm);
        }
      };
      if (ktFull_ > 0) {
        step(Affine(0), tile(0), false);
        k_.loop(ktFull_ - 1, [&](const Affine &t) { step(t + 1, tile(0), true); });
      }
      if (restK_)
        step(Affine(ktFull_), tile(ktFull_), ktFull_ > 0);
      for (int64_t sl = 0; sl < nsl; ++sl) {
        const int64_t width = std::min(kSlice, w - sl * kSlice);
        const uint32_t wd = static_cast<uint32_t>(width);
        AccessPattern out = onChip(outs[o][sl], 0, s_.cType, {Dim{1, wd}}, static_cast<int>(mt));
        AccessPattern in = onChip(banks[g][sl], 0, DType::FP32, {Dim{1, wd}}, static_cast<int>(mt));
        const Affine cElem = (m0 + i * kTileM) * N + (c0 + sl * kSlice);
        if (addend) {
          // out = PSUM + the partial product so far (a K segment after the first).
          AccessPattern add = onChip(addends[o][sl], 0, DType::FP32, {Dim{1, wd}}, static_cast<int>(mt));
          k_.emit(loadB_.next(), dmaCopy(add, hbm(s_.addend, cElem * 4, DType::FP32, N, static_cast<int>(mt), {Dim{1, wd}})));
          Instruction sum = makeInstruction(Opcode::TensorTensor);
          sum.ap[0] = out;
          sum.ap[1] = in;
          sum.ap[2] = add;
          sum.enums[0] = static_cast<uint8_t>(AluOp::Add);
          k_.emit(EngineId{(evacuations++ % 2) ? EngineKind::DVE : EngineKind::POOL, 0}, sum);
        } else {
          // Alternate ACT and DVE so evacuation keeps up with the faster MX passes.
          Instruction copy = makeInstruction((evacuations % 2) ? Opcode::TensorCopy : Opcode::Activation);
          copy.ap[0] = out;
          copy.ap[1] = in;
          k_.emit(EngineId{(evacuations++ % 2) ? EngineKind::DVE : EngineKind::ACT, 0}, copy);
        }
        AccessPattern dst = hbm(s_.c, cElem * esC, s_.cType, N, static_cast<int>(mt), {Dim{1, wd}});
        k_.emit(store_.next(), dmaCopy(dst, out));
      }
    };
    auto mBlock = [&](const Affine &m0, const Affine &m0e, int64_t blockM, int slot) {
      loadKMajor(loadA_, s_.aT, s_.aType, M / va_, m0e, blockM / va_, aT[slot], aTileBytes);
      loadScales(loadA_, s_.aScale, M, m0, blockM, aScales[slot]);
      // Tile j of the unrolled copies: a fixed bank group and output tile per copy.
      for (int64_t i = 0; i * kTileM < blockM; ++i) {
        const int j = slot * 4 + static_cast<int>(i);
        mTile(slot, m0, i, std::min(kTileM, blockM - i * kTileM), blockM, j % groups, j % outTiles);
      }
    };
    const int64_t full = mCount / kBlockM, rest = mCount % kBlockM;
    k_.unrolled(full, kSlots, [&](const Affine &b, int slot) {
      mBlock(Affine(mStart) + b * kBlockM, Affine(mStart / va_) + b * (kBlockM / va_), kBlockM, slot);
    });
    if (rest)
      mBlock(Affine(mStart + full * kBlockM), Affine((mStart + full * kBlockM) / va_), rest,
             static_cast<int>(full % kSlots));
  };
  const int64_t full = n / chunk, rest = n % chunk;
  k_.loop(full, [&](const Affine &c) { chunkBody(Affine(n0) + c * chunk, Affine(n0 / vb_) + c * (chunk / vb_), chunk); });
  if (rest)
    chunkBody(Affine(n0 + full * chunk), Affine((n0 + full * chunk) / vb_), rest);
}

// Batch element offsets of view `v` for each flattened batch index.
std::vector<int64_t> batchOffsets(const HbmView &v, const std::vector<int64_t> &batchShape) {
  int64_t total = 1;
  for (int64_t d : batchShape)
    total *= d;
  std::vector<int64_t> out(total, 0);
  const size_t lead = v.shape.size() - 2 - batchShape.size();
  (void)lead;
  for (int64_t b = 0; b < total; ++b) {
    int64_t rem = b, off = 0;
    for (int d = static_cast<int>(batchShape.size()) - 1; d >= 0; --d) {
      off += (rem % batchShape[d]) * v.strides[d];
      rem /= batchShape[d];
    }
    out[b] = off;
  }
  return out;
}

} // namespace

namespace {

// Each core's jobs: split by batch, then by N (or M).
std::vector<std::vector<Job>> coreJobs(const MatmulSpec &spec, int cores) {
  const int r = spec.c.rank();
  const int64_t M = spec.c.shape[r - 2], N = spec.c.shape[r - 1];
  std::vector<int64_t> batchShape(spec.c.shape.begin(), spec.c.shape.end() - 2);
  std::vector<int64_t> aB = batchOffsets(spec.a, batchShape), bB = batchOffsets(spec.b, batchShape),
                       cB = batchOffsets(spec.c, batchShape);
  std::vector<std::vector<int64_t>> eB;
  for (const HbmView &v : spec.epilogueInputs)
    eB.push_back(batchOffsets(v, batchShape));
  const int64_t batches = static_cast<int64_t>(cB.size());

  std::vector<std::vector<Job>> jobs(cores);
  auto job = [&](int64_t b, int64_t m0, int64_t m, int64_t n0, int64_t n) {
    Job j{aB[b], bB[b], cB[b], {}, m0, m, n0, n};
    for (auto &e : eB)
      j.extraOff.push_back(e[b]);
    return j;
  };
  if (batches >= cores) {
    for (int c = 0; c < cores; ++c) {
      auto [b0, b1] = splitRange(batches, cores, c);
      for (int64_t b = b0; b < b1; ++b)
        jobs[c].push_back(job(b, 0, M, 0, N));
    }
  } else {
    // Split each batch's output over the cores: columns when the rows are
    // few or the columns many, rows otherwise.
    const bool byColumns = M <= kTileM || N >= M;
    const int64_t extent = byColumns ? N : M, align = byColumns ? (N >= kSlice * cores ? kSlice : 128) : kTileM;
    const int parts = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(cores / batches, (extent + align - 1) / align)));
    int next = 0;
    for (int64_t b = 0; b < batches; ++b)
      for (int p = 0; p < parts; ++p) {
        auto [lo, hi] = splitRange(extent, parts, p, align);
        if (hi > lo)
          jobs[next++ % cores].push_back(byColumns ? job(b, 0, M, lo, hi - lo) : job(b, lo, hi - lo, 0, N));
      }
  }
  return jobs;
}

// One kernel computing the whole product over the spec's K, or false (and
// nothing emitted) when a core's schedule does not fit SBUF.
bool emitWholeK(ProgramBuilder &pb, const MatmulSpec &spec, uint32_t loc, bool dryRun) {
  const int r = spec.c.rank();
  const int64_t M = spec.c.shape[r - 2], K = spec.a.shape[r - 1];
  const Target &target = pb.target();
  const int cores = target.limits.cores;
  std::vector<std::vector<Job>> jobs = coreJobs(spec, cores);
  std::vector<CoreKernel> kernels = pb.newKernel(cores);
  for (int c = 0; c < cores; ++c) {
    if (jobs[c].empty())
      continue;
    MatmulEmitter e(kernels[c], spec, K, target.limits.dmaQueues);
    if ((M <= kTileM ? e.streamChunk(jobs[c]) : e.residentChunk(jobs[c])) == 0)
      return false;
  }
  if (dryRun)
    return true;
  for (int c = 0; c < cores; ++c) {
    if (jobs[c].empty())
      continue;
    MatmulEmitter e(kernels[c], spec, K, target.limits.dmaQueues);
    if (M <= kTileM)
      e.streamWeights(jobs[c]);
    else
      e.residentB(jobs[c]);
  }
  pb.addKernel(kernels, loc);
  return true;
}

// The spec's epilogue applied to (PSUM + partial): inputs 0 = PSUM, then the
// spec's epilogue inputs, then the partial product.
EwProgram withPartial(const MatmulSpec &spec) {
  const int extras = static_cast<int>(spec.epilogueInputs.size());
  EwProgram p;
  p.numInputs = 2 + extras;
  const int sum = p.add(EwOp::binary(AluOp::Add, 0, 1 + extras));
  if (spec.epilogue.ops.empty()) {
    p.result = sum;
    return p;
  }
  const int oldInputs = spec.epilogue.numInputs;
  auto remap = [&](int v) {
    if (v < 0)
      return v;
    if (v == 0)
      return sum;
    if (v < oldInputs)
      return v;
    return p.numInputs + 1 + (v - oldInputs); // after the sum op
  };
  for (EwOp op : spec.epilogue.ops) {
    op.a = remap(op.a);
    op.b = remap(op.b);
    op.c = remap(op.c);
    p.ops.push_back(op);
  }
  p.result = remap(spec.epilogue.result);
  return p;
}

// K in `segments` pieces of whole 128-row k-tiles: segment s computes
// A[:, Ks] B[Ks, :] into an fp32 partial product P (scratch HBM): the first
// writes P, the middle ones P += ..., the last writes C = epilogue(... + P).
MatmulSpec kSegment(const MatmulSpec &spec, int64_t k0, int64_t ks, const HbmView &partial, bool first, bool last) {
  const int r = spec.c.rank();
  MatmulSpec seg = spec;
  std::vector<int64_t> starts(r, 0), steps(r, 1);
  std::vector<int64_t> aSizes = spec.a.shape, bSizes = spec.b.shape;
  starts[r - 1] = k0;
  aSizes[r - 1] = ks;
  seg.a = spec.a.sliced(starts, aSizes, steps);
  starts[r - 1] = 0;
  starts[r - 2] = k0;
  bSizes[r - 2] = ks;
  seg.b = spec.b.sliced(starts, bSizes, steps);
  if (last) {
    seg.epilogue = withPartial(spec);
    seg.epilogueInputs.push_back(partial);
    return seg;
  }
  seg.c = partial;
  seg.epilogueInputs.clear();
  seg.epilogue = EwProgram{};
  if (!first) {
    seg.epilogue.numInputs = 2;
    seg.epilogue.result = seg.epilogue.add(EwOp::binary(AluOp::Add, 0, 1));
    seg.epilogueInputs.push_back(partial);
  }
  return seg;
}

// fp8 operands stored the other way round (A with K contiguous, B with N
// contiguous) would load one byte per DMA descriptor: they get a K-major
// copy in scratch first, through the PE (emitByteTranspose). Returns the spec
// reading the copies; their scratch offsets go to `scratch`.
MatmulSpec withKMajorBytes(ProgramBuilder &pb, const MatmulSpec &spec, uint32_t loc, std::vector<int64_t> &scratch) {
  const int r = spec.c.rank();
  const int64_t M = spec.c.shape[r - 2], N = spec.c.shape[r - 1], K = spec.a.shape[r - 1];
  std::vector<int64_t> batchShape(spec.c.shape.begin(), spec.c.shape.end() - 2);
  auto byteType = [](DType t) { return dtypeSize(t) == 1 && isFloat(t); };
  // view [..., R, C] with C contiguous -> a contiguous [batch, C, R] copy.
  auto copyTransposed = [&](const HbmView &v, int64_t R, int64_t C, int64_t rowStride) {
    std::vector<int64_t> offsets = batchOffsets(v, batchShape);
    const int64_t off = pb.allocScratch(static_cast<int64_t>(offsets.size()) * R * C);
    scratch.push_back(off);
    const uint32_t t = pb.scratchTensor();
    std::vector<HbmView> srcs, dsts;
    for (size_t b = 0; b < offsets.size(); ++b) {
      srcs.push_back(HbmView{v.tensor, v.offset + offsets[b], v.dtype, {R, C}, {rowStride, 1}});
      dsts.push_back(HbmView{t, off + static_cast<int64_t>(b) * R * C, v.dtype, {C, R}, {R, 1}});
    }
    emitByteTranspose(pb, srcs, dsts, loc);
    std::vector<int64_t> shape = batchShape, strides(batchShape.size());
    int64_t stride = R * C;
    for (int d = static_cast<int>(batchShape.size()) - 1; d >= 0; --d) {
      strides[d] = stride;
      stride *= batchShape[d];
    }
    return std::make_tuple(t, off, shape, strides);
  };
  MatmulSpec s = spec;
  if (byteType(spec.a.dtype) && spec.a.strides[r - 1] == 1 && spec.a.strides[r - 2] != 1 && M > 1) {
    auto [t, off, shape, strides] = copyTransposed(spec.a, M, K, spec.a.strides[r - 2]);
    shape.insert(shape.end(), {M, K});
    strides.insert(strides.end(), {1, M}); // (m, k) at k * M + m
    s.a = HbmView{t, off, spec.a.dtype, shape, strides};
  }
  if (byteType(spec.b.dtype) && spec.b.strides[r - 2] == 1 && spec.b.strides[r - 1] != 1 && N > 1) {
    auto [t, off, shape, strides] = copyTransposed(spec.b, N, K, spec.b.strides[r - 1]);
    shape.insert(shape.end(), {K, N});
    strides.insert(strides.end(), {N, 1});
    s.b = HbmView{t, off, spec.b.dtype, shape, strides};
  }
  return s;
}

// The product, with K split into segments when it does not fit SBUF whole.
void emitKSegments(ProgramBuilder &pb, const MatmulSpec &spec, uint32_t loc) {
  const int r = spec.c.rank();
  const int64_t K = spec.a.shape[r - 1];
  if (emitWholeK(pb, spec, loc, false))
    return;

  // Split K: the fewest segments whose first (longest) and last (one more
  // epilogue input) kernels fit.
  HbmView partial = HbmView::contiguous(0, DType::FP32, spec.c.shape);
  const int64_t tiles = ceilDiv(K, kTileK);
  for (int64_t segments = 2; segments <= tiles; ++segments) {
    const int64_t ks = ceilDiv(tiles, segments) * kTileK;
    const int64_t count = ceilDiv(K, ks);
    const int64_t lastK = K - (count - 1) * ks;
    if (!emitWholeK(pb, kSegment(spec, 0, ks, partial, true, false), loc, true) ||
        !emitWholeK(pb, kSegment(spec, (count - 1) * ks, lastK, partial, false, true), loc, true))
      continue;
    const int64_t bytes = std::max<int64_t>(1, partial.elementCount()) * 4;
    const int64_t offset = pb.allocScratch(bytes);
    partial = HbmView::contiguous(pb.scratchTensor(), DType::FP32, spec.c.shape, offset / 4);
    for (int64_t s = 0; s < count; ++s) {
      const int64_t k0 = s * ks;
      if (!emitWholeK(pb, kSegment(spec, k0, std::min(ks, K - k0), partial, s == 0, s + 1 == count), loc, false))
        fail("internal: a K segment of the matmul does not fit SBUF");
    }
    pb.releaseScratch(offset);
    return;
  }
  fail("matmul with K=", K, " does not fit SBUF even one 128-row k-tile at a time");
}


} // namespace

void emitMatmul(ProgramBuilder &pb, const MatmulSpec &spec, uint32_t loc) {
  const int r = spec.c.rank();
  if (r < 2 || spec.a.rank() != r || spec.b.rank() != r)
    fail("internal: matmul operands must have equal rank >= 2");
  const int64_t M = spec.c.shape[r - 2], N = spec.c.shape[r - 1], K = spec.a.shape[r - 1];
  if (spec.a.shape[r - 2] != M || spec.b.shape[r - 2] != K || spec.b.shape[r - 1] != N)
    fail("internal: matmul shapes do not agree");
  for (const HbmView &v : spec.epilogueInputs)
    if (v.shape != spec.c.shape)
      fail("internal: epilogue input not broadcast to the result shape");
  const Target &target = pb.target();
  if (!(target.limits.matmulInputTypes & dtypeBit(spec.operandType)))
    fail("matmul operands of dtype ", dtypeName(spec.operandType), " are not supported on ", target.name);
  std::vector<int64_t> scratch;
  emitKSegments(pb, withKMajorBytes(pb, spec, loc, scratch), loc);
  for (int64_t offset : scratch)
    pb.releaseScratch(offset);
}

void emitMatmulMx(ProgramBuilder &pb, const MxMatmulSpec &spec, uint32_t loc) {
  const Target &target = pb.target();
  for (DType t : {spec.aType, spec.bType})
    if (!isMxElement(t) || target.limits.mxPacking(t) < 1)
      fail("MX matmul with ", dtypeName(t), " elements is not supported on ", target.name);
  if (spec.m < 1 || spec.n < 1 || spec.k < 32 || spec.k % 32 != 0)
    fail("MX matmul needs M, N >= 1 and K a multiple of 32 (the MX block), got ", spec.m, "x", spec.n, "x",
         spec.k);
  const bool fp4 = spec.aType == DType::FP4E2M1X2 || spec.bType == DType::FP4E2M1X2;
  if (fp4 && (spec.m % 2 || spec.n % 2))
    fail("MXFP4 matmul needs even M and N (two fp4 values per byte), got ", spec.m, "x", spec.n);
  if (!(target.limits.matmulOutputTypes & dtypeBit(DType::FP32)))
    fail("MX matmul accumulates in fp32 PSUM, which ", target.name, " lacks");
  const int cores = target.limits.cores;
  // A grid of gm x gn cores over (M, N): the one moving the fewest HBM bytes
  // per core (A^T is re-read for every B chunk of 2048 columns).
  const double ea = dtypeSize(spec.aType) / static_cast<double>(valuesPerElement(spec.aType));
  const double eb = dtypeSize(spec.bType) / static_cast<double>(valuesPerElement(spec.bType));
  int gm = 1, gn = 1;
  double best = -1;
  for (int m = 1; m <= cores; ++m) {
    if (cores % m)
      continue;
    const int n = cores / m;
    if (m > ceilDiv(spec.m, kTileM) || n > ceilDiv(spec.n, 128))
      continue;
    const double mc = static_cast<double>(ceilDiv(spec.m, m)), nc = static_cast<double>(ceilDiv(spec.n, n));
    const double bytes = mc * spec.k * ea * std::ceil(nc / (4 * kSlice)) + nc * spec.k * eb;
    if (best < 0 || bytes < best) {
      best = bytes;
      gm = m;
      gn = n;
    }
  }
  const int64_t nAlign = spec.n >= kSlice * gn ? kSlice : 128;
  // One kernel over the (gm x gn) grid for a K segment. Returns how it fits:
  // kNoFit (a core's B chunk does not fit SBUF), kNarrow (some core's chunk
  // is narrower than two PSUM banks, so A^T is re-read from HBM for every
  // narrow chunk) or kWide; with dryRun nothing is emitted.
  enum Fit { kNoFit, kNarrow, kWide };
  auto kernel = [&](const MxMatmulSpec &seg, bool dryRun) {
    std::vector<CoreKernel> kernels = pb.newKernel(cores);
    Fit fit = kWide;
    for (int r = 0; r < gm; ++r)
      for (int c = 0; c < gn; ++c) {
        auto [m0, m1] = splitRange(spec.m, gm, r, kTileM);
        auto [n0, n1] = splitRange(spec.n, gn, c, nAlign);
        if (m1 <= m0 || n1 <= n0)
          continue;
        MxEmitter e(kernels[r * gn + c], seg, target.limits.dmaQueues);
        const int64_t chunk = e.chunkFor(n1 - n0);
        fit = chunk == 0 ? kNoFit : chunk < std::min(n1 - n0, 2 * kSlice) ? std::min(fit, kNarrow) : fit;
        if (!dryRun)
          e.run(m0, m1 - m0, n0, n1 - n0);
      }
    if (!dryRun)
      pb.addKernel(kernels, loc);
    return fit;
  };
  // K segments: the fewest whose B chunks stay at least two PSUM banks wide
  // (narrower chunks re-read A^T from HBM for every chunk), each a whole
  // number of k-tiles (pe.rows x the packing of the slower format).
  const int64_t kTile = std::min<int64_t>(kTileK, target.limits.peRows) *
                        std::min(target.limits.mxPacking(spec.aType), target.limits.mxPacking(spec.bType));
  const int64_t tiles = ceilDiv(spec.k, kTile);
  auto segment = [&](int64_t k0, int64_t ks, uint32_t c, uint32_t addend, DType cType) {
    MxMatmulSpec seg = spec;
    seg.k0 = k0;
    seg.k = ks;
    seg.c = c;
    seg.addend = addend;
    seg.cType = cType;
    return seg;
  };
  for (int64_t count = 1; count <= tiles; ++count) {
    const int64_t ks = ceilDiv(tiles, count) * kTile;
    if (ks < spec.k && ceilDiv(spec.k, ks) != count)
      continue; // the same split as a smaller count
    if (spec.maxSegmentK > 0 && ks > spec.maxSegmentK && ks > kTile)
      continue;
    const int64_t segments = ceilDiv(spec.k, ks), lastK = spec.k - (segments - 1) * ks;
    // The narrowest split still wins when no split is wide.
    const Fit wanted = count == tiles ? kNarrow : kWide;
    if (segments == 1) {
      if (kernel(spec, true) >= wanted) {
        kernel(spec, false);
        return;
      }
      continue;
    }
    // The partial product: an fp32 [m, n] scratch tensor of its own.
    const uint32_t partial = kNoTensor - 1; // placeholder id for the dry runs
    if (std::min(kernel(segment(0, ks, partial, kNoTensor, DType::FP32), true),
                 kernel(segment((segments - 1) * ks, lastK, spec.c, partial, spec.cType), true)) < wanted)
      continue;
    const uint32_t p = pb.addTensor("mx_partial_" + std::to_string(pb.kernelCount()), TensorRole::Scratch, DType::FP32,
                                    {spec.m, spec.n});
    for (int64_t sg = 0; sg < segments; ++sg) {
      const bool last = sg + 1 == segments;
      kernel(segment(sg * ks, last ? lastK : ks, last ? spec.c : p, sg == 0 ? kNoTensor : p,
                     last ? spec.cType : DType::FP32),
             false);
    }
    return;
  }
  fail("MX matmul with K=", spec.k, " does not fit SBUF even one k-tile at a time");
}

} // namespace trnx::cg
