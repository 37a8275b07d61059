// MX (OCP microscaling) matmul generator: c = (A * 2^(aScale-127)) @ (B *
// 2^(bScale-127)) through matmul_mx. The held operand's blocks are the
// stationary operand (A^T on an is chip; B on a ws chip, which computes C^T
// and stores it through the DMA transpose unit); the other stays resident in
// SBUF as the moving one, in chunks up to four PSUM banks wide. One matmul_mx
// per k-tile of the array's rows x the MX packing; a K too long for the
// resident chunk is split into segments accumulating an fp32 partial product
// in HBM scratch. Tile shapes come from the target. MX needs a stationary
// array: an os chip is an error.
#include "compiler/codegen/kernels/MatmulSupport.h"

#include "isa/Error.h"

#include <algorithm>
#include <cmath>

namespace trnx::cg {
namespace {

constexpr int kMxSlots = 3;    // A^T blocks in flight: MX passes are short
constexpr int kMxOutTiles = 6; // output tiles rotating over the m-tiles

// MX matmul of one core: rows [m0, m0+m) x columns [n0, n0+n) of c.
class MxEmitter {
public:
  MxEmitter(CoreKernel &k, const MxMatmulSpec &s)
      : k_(k), s_(s), va_(valuesPerElement(s.aType)), vb_(valuesPerElement(s.bType)),
        tm_(k.target().matmulM()), ts_(k.target().matmulN()),
        queues_(splitQueues(k.target().limits.dmaQueues, {4, 6, 6})), loadA_(queues_[0]), loadB_(queues_[1]),
        store_(queues_[2]) {
    const TargetLimits &l = k.target().limits;
    rows_ = k.target().matmulK();
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
    // Wider A^T blocks while M has the columns and the slots take at most a
    // third of SBUF (the B chunk and output tiles need the rest).
    for (int64_t bt : {16, 8}) {
      const int64_t bm = bt * tm_;
      if (bm <= s.m && kMxSlots * tiles_ * (pack_ * (bm / va_) + bm) <= k.sbufFree() / 3) {
        blockTiles_ = bt;
        break;
      }
    }
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
  void loadKMajor(QueueRotor &q, uint32_t tensor, int64_t base, DType type, int64_t rowElems,
                  const Affine &colElem0, int64_t width, const OnChip &dst, int64_t tileBytes, bool tiled);
  void loadScales(QueueRotor &q, uint32_t tensor, int64_t base, int64_t rowElems, const Affine &col0, int64_t cols,
                  const OnChip &dst, bool tiled);

  // Output tiles of up to a PSUM bank's moving width rotate over the m-tiles;
  // A^T comes in blocks of stationary tiles (blockTiles_, 4 to 16): the
  // block's width is the contiguous run of each row its DMA reads, and runs
  // under ~1 KiB pay the descriptor overhead (packed fp4 halves the bytes).
  int64_t blockM() const { return blockTiles_ * tm_; }

  CoreKernel &k_;
  const MxMatmulSpec &s_;
  int64_t va_, vb_;
  int64_t tm_, ts_; // stationary columns and moving columns per matmul_mx
  std::vector<QueueRotor> queues_;
  QueueRotor &loadA_, &loadB_, &store_;
  int64_t rows_ = 128, pack_ = 1, kTile_ = 128, ktFull_ = 0, restK_ = 0, restRows_ = 1, tiles_ = 0;
  int64_t blockTiles_ = 4;
};

void MxEmitter::loadKMajor(QueueRotor &q, uint32_t tensor, int64_t base, DType type, int64_t rowElems,
                           const Affine &colElem0, int64_t width, const OnChip &dst, int64_t tileBytes, bool tiled) {
  const int64_t es = dtypeSize(type);
  if (tiled && (restK_ || s_.k0 % kTile_ != 0))
    fail("internal: a tile-major MX operand needs K a multiple of the k-tile");
  // Tile-major: T tiles in all (segments included), this segment's first at tBase.
  const int64_t allTiles = (s_.kAll ? s_.kAll : s_.k) / kTile_, tBase = s_.k0 / kTile_;
  // Full tiles, in up to four DMAs (the first matmuls start after the first
  // arrives): partition p of tile t gets rows t*kTile + p*pack + j.
  const int64_t groups = std::min<int64_t>(4, ktFull_);
  for (int64_t g = 0; g < groups; ++g) {
    auto [t0, t1] = splitRange(ktFull_, static_cast<int>(groups), static_cast<int>(g));
    if (t1 <= t0)
      continue;
    // Tile-major: partition p's rows of tile t start at (p*T + t)*pack rows.
    AccessPattern src =
        tiled ? hbm(tensor, Affine(base) + (Affine((tBase + t0) * pack_ * rowElems) + colElem0) * es, type,
                    allTiles * pack_ * rowElems, static_cast<int>(rows_),
                    {Dim{static_cast<int32_t>(pack_ * rowElems), static_cast<uint32_t>(t1 - t0)},
                     Dim{static_cast<int32_t>(rowElems), static_cast<uint32_t>(pack_)},
                     Dim{1, static_cast<uint32_t>(width)}})
              : hbm(tensor, Affine(base) + (Affine((s_.k0 + t0 * kTile_) * rowElems) + colElem0) * es, type,
                    pack_ * rowElems, static_cast<int>(rows_),
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
    AccessPattern src = hbm(tensor, Affine(base) + (Affine((s_.k0 + t.k0) * rowElems) + colElem0) * es, type,
                            t.r * rowElems,
                            static_cast<int>(t.partitions),
                            {Dim{static_cast<int32_t>(rowElems), static_cast<uint32_t>(t.r)},
                             Dim{1, static_cast<uint32_t>(width)}});
    AccessPattern d = onChip(dst, ktFull_ * tileBytes, type, {Dim{1, static_cast<uint32_t>(t.r * width)}},
                             static_cast<int>(t.partitions));
    k_.emit(q.next(), dmaCopy(d, src));
  }
}

void MxEmitter::loadScales(QueueRotor &q, uint32_t tensor, int64_t base, int64_t rowElems, const Affine &col0,
                           int64_t cols, const OnChip &dst, bool tiled) {
  // Tile t's K/32 scale rows go to partitions 0.. at free offset t*cols
  // (tile-major scales: scale row t*blocks + b at (b*T + t)*cols).
  const int64_t blocks = kTile_ / 32;
  if (tiled && ktFull_ > 0) {
    const int64_t allTiles = (s_.kAll ? s_.kAll : s_.k) / kTile_, tBase = s_.k0 / kTile_;
    AccessPattern src = hbm(tensor, Affine(base + tBase * rowElems) + col0, DType::E8M0, allTiles * rowElems,
                            static_cast<int>(blocks),
                            {Dim{static_cast<int32_t>(rowElems), static_cast<uint32_t>(ktFull_)},
                             Dim{1, static_cast<uint32_t>(cols)}});
    AccessPattern d = onChip(dst, 0, DType::E8M0, {Dim{1, static_cast<uint32_t>(ktFull_ * cols)}},
                             static_cast<int>(blocks));
    k_.emit(q.next(), dmaCopy(d, src));
    return;
  }
  if (ktFull_ > 0) {
    AccessPattern src = hbm(tensor, Affine(base + s_.k0 / 32 * rowElems) + col0, DType::E8M0, rowElems, static_cast<int>(blocks),
                            {Dim{static_cast<int32_t>(blocks * rowElems), static_cast<uint32_t>(ktFull_)},
                             Dim{1, static_cast<uint32_t>(cols)}});
    AccessPattern d = onChip(dst, 0, DType::E8M0, {Dim{1, static_cast<uint32_t>(ktFull_ * cols)}},
                             static_cast<int>(blocks));
    k_.emit(q.next(), dmaCopy(d, src));
  }
  if (restK_) {
    AccessPattern src = hbm(tensor, Affine(base + (s_.k0 / 32 + ktFull_ * blocks) * rowElems) + col0, DType::E8M0,
                            rowElems,
                            static_cast<int>(restK_ / 32), {Dim{1, static_cast<uint32_t>(cols)}});
    AccessPattern d = onChip(dst, ktFull_ * cols, DType::E8M0, {Dim{1, static_cast<uint32_t>(cols)}},
                             static_cast<int>(restK_ / 32));
    k_.emit(q.next(), dmaCopy(d, src));
  }
}


int64_t MxEmitter::chunkFor(int64_t n) const {
  const int64_t esC = dtypeSize(s_.cType);
  const int64_t aBytes = kMxSlots * tiles_ * (pack_ * (blockM() / va_) + blockM());
  // With an addend, each output tile slice has an fp32 addend tile beside it.
  const int64_t outBytes = esC + (s_.addend != kNoTensor ? 4 : 0);
  // Up to four PSUM banks wide (half the banks when fewer), narrower when K is long.
  const int64_t slicesMax = std::max(1, std::min(4, k_.target().limits.psumBanks / 2));
  for (int64_t w : {4 * ts_, 3 * ts_, 2 * ts_, ts_, ts_ / 2, ts_ / 4}) {
    if (w > slicesMax * ts_ || w < 1)
      continue;
    w = std::min(w, n);
    if (vb_ > 1 && w % vb_)
      --w;
    const int64_t blockOut = (s_.addend == kNoTensor && w * 4 <= ts_) ? kMxSlots * blockTiles_ * w * esC : 0; // merged stores
    if (tiles_ * (pack_ * (w / vb_) + w) + aBytes + kMxOutTiles * ceilDiv(w, ts_) * ts_ * outBytes + blockOut + 4096 <=
        k_.sbufFree())
      return w;
  }
  return 0;
}

void MxEmitter::run(int64_t mStart, int64_t mCount, int64_t n0, int64_t n) {
  const int64_t kBlockM = blockM();
  constexpr int kSlots = kMxSlots;
  const int64_t M = s_.m, N = s_.n;
  const int64_t esC = dtypeSize(s_.cType);
  const int64_t chunk = chunkFor(n);
  if (chunk == 0)
    fail("internal: MX matmul with K=", s_.k, " does not fit SBUF (emitMatmulMx splits K first)");
  const bool addend = s_.addend != kNoTensor;
  const int64_t slices = ceilDiv(chunk, ts_);
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
  // Narrow results (decode GEMVs: a few columns) leave once per A^T block of
  // four m-tiles instead of once per m-tile: the store's issue overhead, not
  // its bytes, would bound them.
  const bool merged = !addend && chunk * 4 <= ts_;
  std::vector<OnChip> blockOut;
  for (int g = 0; merged && g < kSlots; ++g)
    blockOut.push_back(k_.allocSbuf(blockTiles_ * chunk * esC));
  std::vector<std::vector<OnChip>> addends(addend ? outTiles : 0);
  for (int g = 0; g < outTiles; ++g)
    for (int64_t sl = 0; sl < slices; ++sl) {
      outs[g].push_back(k_.allocSbuf(ts_ * esC));
      if (addend)
        addends[g].push_back(k_.allocSbuf(ts_ * 4));
    }
  int evacuations = 0;
  // c0: first column (values); c0e: the same in stored elements.
  auto chunkBody = [&](const Affine &c0, const Affine &c0e, int64_t w) {
    loadKMajor(loadB_, s_.b, s_.bOffset, s_.bType, N / vb_, c0e, w / vb_, bPanel, bTileBytes, s_.bTiled);
    loadScales(loadB_, s_.bScale, s_.bScaleOffset, N, c0, w, bScales, s_.bTiled);
    const int64_t nsl = ceilDiv(w, ts_);
    // One matmul_mx: k-tile t of m-tile i (mt columns of the slot's A^T block)
    // against slice sl of the B chunk, into dst.
    auto pass = [&](int slot, const Affine &t, const KTile &kt, int64_t i, int64_t mt, int64_t blockM,
                    const AccessPattern &dst, int64_t sl, bool acc) {
      const int64_t width = std::min(ts_, w - sl * ts_);
      Instruction mm = makeInstruction(Opcode::MatmulMx);
      mm.ap[0] = dst;
      mm.ap[1] = onChip(aT[slot], t * aTileBytes + i * tm_ / va_, s_.aType,
                        {Dim{static_cast<int32_t>(blockM / va_), static_cast<uint32_t>(kt.r)},
                         Dim{1, static_cast<uint32_t>(mt / va_)}},
                        static_cast<int>(kt.partitions));
      mm.ap[2] = onChip(bPanel, t * bTileBytes + sl * ts_ / vb_, s_.bType,
                        {Dim{static_cast<int32_t>(w / vb_), static_cast<uint32_t>(kt.r)},
                         Dim{1, static_cast<uint32_t>(width / vb_)}},
                        static_cast<int>(kt.partitions));
      mm.ap[3] = onChip(aScales[slot], t * blockM + i * tm_, DType::E8M0, {Dim{1, static_cast<uint32_t>(mt)}},
                        static_cast<int>(kt.partitions * kt.r / 32));
      mm.ap[4] = onChip(bScales, t * w + sl * ts_, DType::E8M0, {Dim{1, static_cast<uint32_t>(width)}},
                        static_cast<int>(kt.partitions * kt.r / 32));
      mm.i32[0] = static_cast<int32_t>(kt.r);
      mm.setFlag(0, acc);
      k_.emit(EngineId{EngineKind::PE, 0}, mm);
    };
    // One m-tile [mt x w]: all k-tiles into the slot's banks, then evacuate.
    auto mTile = [&](int slot, const Affine &m0, int64_t i, int64_t mt, int64_t blockM, int g, int o) {
      auto step = [&](const Affine &t, const KTile &kt, bool acc) {
        for (int64_t sl = 0; sl < nsl; ++sl) {
          const auto width = static_cast<uint32_t>(std::min(ts_, w - sl * ts_));
          pass(slot, t, kt, i, mt, blockM, onChip(banks[g][sl], 0, DType::FP32, {Dim{1, width}}, static_cast<int>(mt)),
               sl, acc);
        }
      };
      if (ktFull_ > 0) {
        step(Affine(0), tile(0), false);
        k_.loop(ktFull_ - 1, [&](const Affine &t) { step(t + 1, tile(0), true); });
      }
      if (restK_)
        step(Affine(ktFull_), tile(ktFull_), ktFull_ > 0);
      for (int64_t sl = 0; sl < nsl; ++sl) {
        const int64_t width = std::min(ts_, w - sl * ts_);
        const uint32_t wd = static_cast<uint32_t>(width);
        AccessPattern out = merged ? onChip(blockOut[slot], (i * w + sl * ts_) * esC, s_.cType, {Dim{1, wd}},
                                            static_cast<int>(mt))
                                   : onChip(outs[o][sl], 0, s_.cType, {Dim{1, wd}}, static_cast<int>(mt));
        AccessPattern in = onChip(banks[g][sl], 0, DType::FP32, {Dim{1, wd}}, static_cast<int>(mt));
        const Affine cElem = (m0 + i * tm_) * N + (c0 + sl * ts_);
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
        if (merged)
          continue; // stored with its block
        if (s_.cTransposed) {
          // The result is C^T (a ws chip held B): tile rows are columns of c.
          const Affine tElem = (c0 + sl * ts_) * M + (m0 + i * tm_);
          AccessPattern dst = hbm(s_.c, Affine(s_.cOffset) + tElem * esC, s_.cType, 1, static_cast<int>(mt), {Dim{static_cast<int32_t>(M), wd}});
          k_.emit(store_.next(), dmaCopy(dst, out, wantsTransposeUnit(1, M, s_.cType, width)));
        } else {
          AccessPattern dst = hbm(s_.c, Affine(s_.cOffset) + cElem * esC, s_.cType, N, static_cast<int>(mt), {Dim{1, wd}});
          k_.emit(store_.next(), dmaCopy(dst, out));
        }
      }
    };
    // Narrow results (a few columns, one slice): the block's m-tiles share one
    // PSUM bank, and the k-tiles run outermost in the groups loadKMajor loads
    // them in, so the PE starts on the block's first DMA instead of its last
    // (a GEMV's passes are short: otherwise the whole block's load is exposed).
    const bool kOuter = merged && nsl == 1 && blockTiles_ * w * 4 <= k_.target().psumBankBytes();
    auto kOuterBlock = [&](int slot, int64_t blockM) {
      const OnChip &bank = banks[slot % groups][0];
      const int64_t tilesM = ceilDiv(blockM, tm_);
      auto rowsOf = [&](int64_t i) { return std::min(tm_, blockM - i * tm_); };
      auto dstOf = [&](int64_t i) {
        return onChip(bank, i * w * 4, DType::FP32, {Dim{1, static_cast<uint32_t>(w)}}, static_cast<int>(rowsOf(i)));
      };
      const int64_t kGroups = std::min<int64_t>(4, ktFull_);
      for (int64_t gr = 0; gr < kGroups; ++gr) {
        auto [t0, t1] = splitRange(ktFull_, static_cast<int>(kGroups), static_cast<int>(gr));
        for (int64_t i = 0; i < tilesM && t1 > t0; ++i) {
          if (t0 == 0)
            pass(slot, Affine(0), tile(0), i, rowsOf(i), blockM, dstOf(i), 0, false);
          const int64_t first = t0 == 0 ? 1 : t0;
          k_.loop(t1 - first, [&](const Affine &t) {
            pass(slot, t + first, tile(0), i, rowsOf(i), blockM, dstOf(i), 0, true);
          });
        }
      }
      for (int64_t i = 0; i < tilesM && restK_; ++i)
        pass(slot, Affine(ktFull_), tile(ktFull_), i, rowsOf(i), blockM, dstOf(i), 0, ktFull_ > 0);
      // Evacuate the whole tiles in one copy and a ragged last tile in another.
      const int64_t whole = blockM / tm_, tail = blockM % tm_;
      auto evacuate = [&](int64_t i0, int64_t tiles, int64_t rows) {
        const auto n = static_cast<uint32_t>(tiles * w);
        Instruction copy = makeInstruction((evacuations % 2) ? Opcode::TensorCopy : Opcode::Activation);
        copy.ap[0] = onChip(blockOut[slot], i0 * w * esC, s_.cType, {Dim{1, n}}, static_cast<int>(rows));
        copy.ap[1] = onChip(bank, i0 * w * 4, DType::FP32, {Dim{1, n}}, static_cast<int>(rows));
        k_.emit(EngineId{(evacuations++ % 2) ? EngineKind::DVE : EngineKind::ACT, 0}, copy);
      };
      if (whole)
        evacuate(0, whole, tm_);
      if (tail)
        evacuate(whole, 1, tail);
    };
    auto mBlock = [&](const Affine &m0, const Affine &m0e, int64_t blockM, int slot) {
      loadKMajor(loadA_, s_.aT, s_.aTOffset, s_.aType, M / va_, m0e, blockM / va_, aT[slot], aTileBytes, s_.aTiled);
      loadScales(loadA_, s_.aScale, s_.aScaleOffset, M, m0, blockM, aScales[slot], s_.aTiled);
      if (kOuter) {
        kOuterBlock(slot, blockM);
      } else {
        // Tile j of the unrolled copies: a fixed bank group and output tile per copy.
        for (int64_t i = 0; i * tm_ < blockM; ++i) {
          const int j = slot * static_cast<int>(blockTiles_) + static_cast<int>(i);
          mTile(slot, m0, i, std::min(tm_, blockM - i * tm_), blockM, j % groups, j % outTiles);
        }
      }
      if (!merged)
        return;
      // The block's m-tiles [tiles x mt rows x w columns] in one store (whole
      // tiles; a ragged last tile goes in a store of its own).
      const int64_t whole = blockM / tm_, tail = blockM % tm_;
      const auto W = static_cast<uint32_t>(w);
      auto store = [&](int64_t i0, int64_t tiles, int64_t rows) {
        AccessPattern src = onChip(blockOut[slot], i0 * w * esC, s_.cType,
                                   {Dim{static_cast<int32_t>(w), static_cast<uint32_t>(tiles)}, Dim{1, W}},
                                   static_cast<int>(rows));
        const Affine first = m0 + i0 * tm_;
        AccessPattern dst =
            s_.cTransposed
                ? hbm(s_.c, Affine(s_.cOffset) + (c0 * M + first) * esC, s_.cType, 1, static_cast<int>(rows),
                      {Dim{static_cast<int32_t>(tm_), static_cast<uint32_t>(tiles)}, Dim{static_cast<int32_t>(M), W}})
                : hbm(s_.c, Affine(s_.cOffset) + (first * N + c0) * esC, s_.cType, N, static_cast<int>(rows),
                      {Dim{static_cast<int32_t>(tm_ * N), static_cast<uint32_t>(tiles)}, Dim{1, W}});
        k_.emit(store_.next(), dmaCopy(dst, src, s_.cTransposed && wantsTransposeUnit(1, M, s_.cType, w)));
      };
      if (whole)
        store(0, whole, tm_);
      if (tail)
        store(whole, 1, tail);
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

void emitMxOriented(ProgramBuilder &pb, const MxMatmulSpec &spec, uint32_t loc);

} // namespace

int64_t mxKTilePacking(const Target &target, DType a, DType b) {
  return std::min(target.limits.mxPacking(a), target.limits.mxPacking(b));
}

void emitMatmulMx(ProgramBuilder &pb, const MxMatmulSpec &spec, uint32_t loc) {
  const Target &target = pb.target();
  for (DType t : {spec.aType, spec.bType})
    if (!isMxElement(t) || target.limits.mxPacking(t) < 1)
      fail("MX matmul with ", dtypeName(t), " elements is not supported on ", target.name);
  if (spec.m < 1 || spec.n < 1 || spec.k < 32 || spec.k % 32 != 0)
    fail("MX matmul needs M, N >= 1 and K a multiple of 32 (the MX block), got ", spec.m, "x", spec.n, "x",
         spec.k);
  // Packed fp4 pairs run along the columns of their own operand only.
  if ((spec.aType == DType::FP4E2M1X2 && spec.m % 2) || (spec.bType == DType::FP4E2M1X2 && spec.n % 2))
    fail("MXFP4 matmul needs an even column count of the fp4 operand (two values per byte), got ", spec.m, "x",
         spec.n);
  if (!(target.limits.matmulOutputTypes & dtypeBit(DType::FP32)))
    fail("MX matmul accumulates in fp32 PSUM, which ", target.name, " lacks");
  if (!holdsStationary(target.dataflow()))
    fail("MX matmul needs a PE array that holds a stationary operand (matmul_mx); ", target.name,
         " is output-stationary (pe_array.dataflow os)");
  // A ws chip holds B (the weights): the transposed problem C^T = B^T A^T,
  // whose operands are the same K-major tensors with roles swapped.
  if (target.dataflow() == Dataflow::WeightStationary && !spec.cTransposed && spec.k0 == 0 &&
      spec.addend == kNoTensor) {
    MxMatmulSpec t = spec;
    std::swap(t.aT, t.b);
    std::swap(t.aScale, t.bScale);
    std::swap(t.aTOffset, t.bOffset);
    std::swap(t.aScaleOffset, t.bScaleOffset);
    std::swap(t.aTiled, t.bTiled);
    std::swap(t.aType, t.bType);
    std::swap(t.m, t.n);
    t.cTransposed = true;
    emitMxOriented(pb, t, loc);
    return;
  }
  emitMxOriented(pb, spec, loc);
}

namespace {

void emitMxOriented(ProgramBuilder &pb, const MxMatmulSpec &spec, uint32_t loc) {
  const Target &target = pb.target();
  const int64_t tm = target.matmulM(), ts = target.matmulN();
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
    if (m > ceilDiv(spec.m, tm) || n > ceilDiv(spec.n, std::min(tm, ts)))
      continue;
    const double mc = static_cast<double>(ceilDiv(spec.m, m)), nc = static_cast<double>(ceilDiv(spec.n, n));
    const double bytes = mc * spec.k * ea * std::ceil(nc / (4 * ts)) + nc * spec.k * eb;
    if (best < 0 || bytes < best) {
      best = bytes;
      gm = m;
      gn = n;
    }
  }
  const int64_t nAlign = spec.n >= ts * gn ? ts : std::min(tm, ts);
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
        auto [m0, m1] = splitRange(spec.m, gm, r, tm);
        auto [n0, n1] = splitRange(spec.n, gn, c, nAlign);
        if (m1 <= m0 || n1 <= n0)
          continue;
        MxEmitter e(kernels[r * gn + c], seg);
        const int64_t chunk = e.chunkFor(n1 - n0);
        fit = chunk == 0 ? kNoFit : chunk < std::min(n1 - n0, 2 * ts) ? std::min(fit, kNarrow) : fit;
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
  const int64_t kTile = target.matmulK() *
                        std::min(target.limits.mxPacking(spec.aType), target.limits.mxPacking(spec.bType));
  const int64_t tiles = ceilDiv(spec.k, kTile);
  auto segment = [&](int64_t k0, int64_t ks, uint32_t c, uint32_t addend, DType cType) {
    MxMatmulSpec seg = spec;
    seg.k0 = k0;
    seg.k = ks;
    seg.kAll = spec.k;
    seg.c = c;
    seg.cOffset = c == spec.c ? spec.cOffset : 0;
    seg.addend = addend;
    seg.cType = cType;
    seg.cTransposed = spec.cTransposed && c == spec.c; // the partial product stays in the problem's layout
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

} // namespace

} // namespace trnx::cg
