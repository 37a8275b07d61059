// Fused attention (FlashAttention-style online softmax): per (KV head, query
// tile) the G query heads sharing that KV head are processed together, so
// every K/V tile is loaded once for the group. Per key tile and query head:
// S = Q K^T on the PE into PSUM; causal tiles on the diagonal are masked by
// affine_select (tiles wholly above it are never visited); the running row
// max m, P = exp(scale * S - scale * m) with the row sum on ACT, the rescale
// of the running sum l and the output accumulator O by exp(scale * (m_old -
// m_new)); P transposed through the PE, O += P V on the PE. At the end O / l
// is stored once: the scores never leave the core. Heads (a hardware loop)
// and query tiles (unrolled, since each tile's causal key range differs) are
// spread over the cores. A key tile's values phase (P^T, P V, rescale) is
// emitted after a later tile's scores phase, and K/V tiles, P tiles and PSUM
// banks rotate through several slots, so DMA, PE, ACT and the vector
// engines overlap.
#include "compiler/codegen/kernels/Kernels.h"

#include "compiler/codegen/kernels/KernelSupport.h"
#include "isa/Error.h"

#include <algorithm>

namespace trnx::cg {
namespace {

// Score of a masked (invisible) key: exp(scale * it - ...) is 0 for any scale > 0 used.
constexpr float kMaskedScore = -1e30f;
constexpr int kSlots = 2;     // query-tile state sets (the next tile's loads overlap the last one's stores)
constexpr int kMaxBlocks = 4; // key-tile blocks in flight (PSUM bank sets)
constexpr size_t kInstructionsPerKernel = 1500; // per core and kernel (compile time, see emitAttention)
constexpr EngineMask kVector = engineBit(EngineKind::DVE) | engineBit(EngineKind::POOL);
constexpr EngineMask kAny = kVector | engineBit(EngineKind::ACT);

// Columns of the per-row fp32 scalar tile of one query head. The running
// max is kept as -scale * max in two columns, read by even key tiles from
// the first and written to the second (odd tiles the other way round).
// A key tile's rescale factor and row sum are read by its deferred values
// phase, after later tiles' scores, so they have a column per K/V slot.
constexpr int kKvSlots = 4;
enum Scalar : int { kNegMax0 = 0, kNegMax1, kSum, kTileMax, kAlpha0, kRowSum0 = kAlpha0 + kKvSlots,
                    kScalars = kRowSum0 + kKvSlots };

// Queries per tile: the stationary columns of Q K^T, and the partitions of P
// going through the PE transpose (at most the array's rows).
// On an output-stationary array, the rows of matmul_os's a operand.
int64_t queryTileRows(const Target &t) {
  if (t.dataflow() == Dataflow::OutputStationary)
    return std::min<int64_t>(t.matmulOsM(), t.partitions());
  return std::min<int64_t>({t.matmulM(), t.matmulK(), static_cast<int64_t>(t.partitions())});
}

uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }
int32_t i32(int64_t v) { return static_cast<int32_t>(v); }

class AttentionEmitter {
public:
  AttentionEmitter(CoreKernel &k, const AttentionSpec &s)
      : k_(k), s_(s), op_(s.operandType), es_(dtypeSize(s.operandType)),
        queues_(splitQueues(k.target().limits.dmaQueues, {2, 3, 3, 1})) {
    G_ = s.group;
    Dh_ = s.q.shape[2];
    S_ = s.q.shape[1] / G_;
    T_ = s.kT.shape[2];
    const Target &t = k.target();
    tq_ = queryTileRows(t);
    if (t.dataflow() == Dataflow::OutputStationary) {
      // matmul_os takes both operands K-along-free: S = Q K^T in column
      // slices of matmulOsN keys (K on partitions, from kT by the DMA
      // transpose unit), P V in one pass over the tile's keys (P as it is,
      // V^T on Dh partitions): no PE transposes.
      os_ = true;
      ksub_ = t.matmulOsN();
      dc_ = Dh_;
      tk_ = std::min<int64_t>(t.matmulOsK(), t.psumBankColumns()) / ksub_ * ksub_;
      tk_ = std::max<int64_t>(ksub_, tk_);
      tk_ = std::min(tk_, std::max<int64_t>(1, T_));
      shareBank_ = true; // P V alone in the second bank of a block
      allocate();
      return;
    }
    ksub_ = std::min<int64_t>({t.matmulK(), t.matmulM(), static_cast<int64_t>(t.partitions())});
    // Key tile: one PSUM bank of fp32 scores, and its transpose (tq columns
    // per 128 keys, operand dtype) in one bank too.
    dc_ = std::min<int64_t>(t.matmulK(), t.partitions());
    nD_ = (Dh_ + dc_ - 1) / dc_;
    // P^T and P V share a bank when both fit (two banks per block in
    // flight instead of three), or when there are fewer than three banks.
    tk_ = std::min<int64_t>(t.matmulN(), t.psumBankColumns());
    const int64_t subsFit = (t.psumBankBytes() - Dh_ * 4) / (tq_ * es_);
    shareBank_ = t.limits.psumBanks < 3 || subsFit * ksub_ >= tk_;
    const int64_t pTBytes = t.psumBankBytes() - (shareBank_ ? Dh_ * 4 : 0);
    tk_ = std::min<int64_t>(tk_, pTBytes / (tq_ * es_) * ksub_);
    tk_ = std::max<int64_t>(ksub_, tk_ / ksub_ * ksub_);
    tk_ = std::min(tk_, std::max<int64_t>(1, T_));
    allocate();
  }

  int64_t queryTiles() const { return (S_ + tq_ - 1) / tq_; }
  void queryTile(const Affine &h, int64_t qi);

private:
  struct HeadState {
    OnChip qT, qStage, o, scalars;
  };
  void allocate();
  AccessPattern scalar(const HeadState &st, int col, int64_t rows) const {
    return onChip(st.scalars, col * 4, DType::FP32, {Dim{1, 1}}, static_cast<int>(rows));
  }
  void emitOn(EngineMask allowed, double elements, const Instruction &inst) {
    k_.emit(balance_.pick(allowed, elements), inst);
  }
  void castCopy(const AccessPattern &dst, const AccessPattern &src, double elements) {
    Instruction c = makeInstruction(Opcode::TensorCopy);
    c.ap[0] = dst;
    c.ap[1] = src;
    emitOn(kAny, elements, c);
  }
  void loadKV(const Affine &h, const Affine &t0, int64_t w, int slot);
  // A key tile for one query head in two phases: scores (S, softmax
  // statistics, P) and values (P^T, O = O * alpha + P V). The values phase
  // of a tile is emitted after the scores phase of a later tile, so each
  // engine's in-order stream has independent work while the chain of the
  // earlier tile completes.
  void scoresPhase(const HeadState &st, int64_t s0, int64_t rows, int64_t w, bool masked, int64_t t0, int kvSlot,
                   int slot);
  void valuesPhase(const HeadState &st, int64_t rows, int64_t w, int kvSlot, int slot);
  void transposedPV(const OnChip &pTile, const OnChip &pTTile, const OnChip &pTBank, const AccessPattern &pv,
                    int64_t rows, int64_t w, int kvSlot);

  CoreKernel &k_;
  const AttentionSpec &s_;
  DType op_;
  int64_t es_;
  int64_t G_ = 1, Dh_ = 0, S_ = 0, T_ = 0, tq_ = 128, ksub_ = 128, tk_ = 512;
  int64_t dc_ = 128, nD_ = 1; // head-dim rows per matmul (the contraction of Q K^T), chunks
  bool shareBank_ = false;
  bool os_ = false; // output-stationary array: matmul_os, K and V^T tiles, no transposes
  int blocks_ = 2, kvSlots_ = 4, defer_ = 1; // PSUM bank sets, K/V slots, tiles a values phase waits
  struct Pending {
    int64_t w;
    int kvSlot;
  };
  std::vector<Pending> pending_; // key tiles whose values phases are not yet emitted, oldest first
  int64_t pvOffset_ = 0;      // bytes of the P V result in its bank
  std::vector<QueueRotor> queues_; // Q loads, K loads, V loads, stores
  EngineBalancer balance_;
  std::vector<std::vector<HeadState>> state_; // [query-tile parity][g]
  std::vector<OnChip> kTiles_, vTiles_, kStage_, vStage_, pTiles_, pTTiles_, outTiles_;
  std::vector<OnChip> scoreBanks_, pTBanks_, pvBanks_;
};

void AttentionEmitter::allocate() {
  const int64_t nSub = (tk_ + ksub_ - 1) / ksub_;
  for (int p = 0; p < kSlots; ++p) {
    std::vector<HeadState> heads;
    for (int64_t g = 0; g < G_; ++g) {
      HeadState st;
      const int64_t qElems = os_ ? Dh_ : nD_ * tq_;
      st.qT = k_.allocSbuf(qElems * es_);
      if (s_.q.dtype != op_)
        st.qStage = k_.allocSbuf(qElems * dtypeSize(s_.q.dtype));
      st.o = k_.allocSbuf(Dh_ * 4);
      st.scalars = k_.allocSbuf(kScalars * 4);
      heads.push_back(st);
    }
    state_.push_back(heads);
  }
  const int banks = k_.target().limits.psumBanks;
  if (banks < 2)
    fail("fused attention needs 2 PSUM banks, ", k_.target().name, " has ", banks);
  const int perSet = shareBank_ ? 2 : 3;
  blocks_ = std::max(1, std::min(kMaxBlocks, banks / perSet));
  // Key tiles rotate through an even number of K/V slots (the running max alternates by parity).
  kvSlots_ = kKvSlots;
  defer_ = G_ >= 2 ? 1 : 2;
  if (shareBank_ && !os_)
    pvOffset_ = (tk_ + ksub_ - 1) / ksub_ * tq_ * es_;
  for (int p = 0; p < kvSlots_; ++p) {
    // ws/is: K [Dh, tk] and V [ksub, sub, Dh]; os: K [ksub, sub, Dh] and V^T [Dh, tk].
    const int64_t kElems = os_ ? nSub * Dh_ : nD_ * tk_, vElems = os_ ? tk_ : nSub * Dh_;
    kTiles_.push_back(k_.allocSbuf(kElems * es_));
    vTiles_.push_back(k_.allocSbuf(vElems * es_));
    if (s_.kT.dtype != op_)
      kStage_.push_back(k_.allocSbuf(kElems * dtypeSize(s_.kT.dtype)));
    if (s_.v.dtype != op_)
      vStage_.push_back(k_.allocSbuf(vElems * dtypeSize(s_.v.dtype)));
  }
  for (int p = 0; p < kSlots; ++p)
    outTiles_.push_back(k_.allocSbuf(Dh_ * dtypeSize(s_.out.dtype)));
  // P tiles: one per (K/V slot, head) up to a bound (large groups reuse them).
  for (int64_t b = 0; b < std::min<int64_t>(kvSlots_ * G_, 16); ++b)
    pTiles_.push_back(k_.allocSbuf(tk_ * es_));
  for (int b = 0; b < blocks_; ++b) {
    if (!os_)
      pTTiles_.push_back(k_.allocSbuf(nSub * tq_ * es_));
    scoreBanks_.push_back(k_.allocPsumBank());
    pTBanks_.push_back(k_.allocPsumBank());
    pvBanks_.push_back(shareBank_ ? pTBanks_.back() : k_.allocPsumBank());
  }
}

// K columns [t0, t0 + w) of head h as [Dh, w]; V rows [t0, t0 + w) as
// ceil(w / ksub) sub-tiles of ksub keys on partitions, [ksub, sub, Dh].
void AttentionEmitter::loadKV(const Affine &h, const Affine &t0, int64_t w, int slot) {
  const HbmView &kT = s_.kT, &v = s_.v;
  if (os_) {
    // K: keys on partitions in sub-tiles of ksub, [ksub, sub, Dh] (kT read transposed).
    const DType kt = kT.dtype;
    const OnChip &kd = kStage_.empty() ? kTiles_[slot] : kStage_[slot];
    const int64_t full = w / ksub_, rest = w % ksub_;
    auto piece = [&](int64_t j0, int64_t subs, int64_t rows) {
      const Affine elem = Affine(kT.offset) + h * kT.strides[0] + (t0 + Affine(j0 * ksub_)) * kT.strides[2];
      const std::vector<Dim> dims{Dim{i32(Dh_), u32(subs)}, Dim{1, u32(Dh_)}};
      AccessPattern d = onChip(kd, j0 * Dh_ * dtypeSize(kt), kt, dims, static_cast<int>(rows));
      k_.emit(queues_[1].next(),
              dmaCopy(d, hbm(kT.tensor, elem * dtypeSize(kt), kt, kT.strides[2], static_cast<int>(rows),
                             {Dim{i32(ksub_ * kT.strides[2]), u32(subs)}, Dim{i32(kT.strides[1]), u32(Dh_)}}),
                      wantsTransposeUnit(kT.strides[2], kT.strides[1], kt, Dh_)));
      if (!kStage_.empty())
        castCopy(onChip(kTiles_[slot], j0 * Dh_ * es_, op_, dims, static_cast<int>(rows)), d,
                 static_cast<double>(subs * Dh_));
    };
    if (full)
      piece(0, full, ksub_);
    if (rest)
      piece(full, 1, rest);
    // V^T [Dh, w]: head dims on partitions.
    const DType vt = v.dtype;
    const OnChip &vd = vStage_.empty() ? vTiles_[slot] : vStage_[slot];
    const Affine elem = Affine(v.offset) + h * v.strides[0] + t0 * v.strides[1];
    AccessPattern d = onChip(vd, 0, vt, {Dim{1, u32(w)}}, static_cast<int>(Dh_));
    k_.emit(queues_[2].next(), dmaCopy(d, hbm(v.tensor, elem * dtypeSize(vt), vt, v.strides[2], static_cast<int>(Dh_),
                                              {Dim{i32(v.strides[1]), u32(w)}}),
                                       wantsTransposeUnit(v.strides[2], v.strides[1], vt, w)));
    if (!vStage_.empty())
      castCopy(onChip(vTiles_[slot], 0, op_, {Dim{1, u32(w)}}, static_cast<int>(Dh_)), d, static_cast<double>(w));
    return;
  }
  for (int64_t c = 0; c < nD_; ++c) {
    const DType dt = kT.dtype;
    const int rows = static_cast<int>(std::min(dc_, Dh_ - c * dc_));
    const OnChip &dst = kStage_.empty() ? kTiles_[slot] : kStage_[slot];
    const Affine elem = Affine(kT.offset + c * dc_ * kT.strides[1]) + h * kT.strides[0] + t0 * kT.strides[2];
    AccessPattern d = onChip(dst, c * tk_ * dtypeSize(dt), dt, {Dim{1, u32(w)}}, rows);
    k_.emit(queues_[1].next(), dmaCopy(d, hbm(kT.tensor, elem * dtypeSize(dt), dt, kT.strides[1], rows,
                                              {Dim{i32(kT.strides[2]), u32(w)}}),
                                       wantsTransposeUnit(kT.strides[1], kT.strides[2], dt, w)));
    if (!kStage_.empty())
      castCopy(onChip(kTiles_[slot], c * tk_ * es_, op_, {Dim{1, u32(w)}}, rows), d, static_cast<double>(w));
  }
  {
    const DType dt = v.dtype;
    const OnChip &dst = vStage_.empty() ? vTiles_[slot] : vStage_[slot];
    const int64_t full = w / ksub_, rest = w % ksub_;
    const int64_t sT = v.strides[1], sD = v.strides[2];
    auto piece = [&](int64_t j0, int64_t subs, int64_t rows) {
      const Affine elem = Affine(v.offset) + h * v.strides[0] + (t0 + Affine(j0 * ksub_)) * sT;
      AccessPattern d = onChip(dst, j0 * Dh_ * dtypeSize(dt), dt, {Dim{i32(Dh_), u32(subs)}, Dim{1, u32(Dh_)}},
                               static_cast<int>(rows));
      k_.emit(queues_[2].next(), dmaCopy(d, hbm(v.tensor, elem * dtypeSize(dt), dt, sT, static_cast<int>(rows),
                                                {Dim{i32(ksub_ * sT), u32(subs)}, Dim{i32(sD), u32(Dh_)}})));
      if (!vStage_.empty())
        castCopy(onChip(vTiles_[slot], j0 * Dh_ * es_, op_, {Dim{i32(Dh_), u32(subs)}, Dim{1, u32(Dh_)}},
                        static_cast<int>(rows)),
                 d, static_cast<double>(subs * Dh_));
    };
    if (full)
      piece(0, full, ksub_);
    if (rest)
      piece(full, 1, rest);
  }
}

// One key tile (w keys from t0; t0 only matters when masked) for one query
// head's `rows` queries from sequence position s0.
void AttentionEmitter::scoresPhase(const HeadState &st, int64_t s0, int64_t rows, int64_t w, bool masked, int64_t t0,
                                   int kvSlot, int slot) {
  const int R = static_cast<int>(rows);
  const OnChip &sBank = scoreBanks_[slot % blocks_];
  const AccessPattern scores = onChip(sBank, 0, DType::FP32, {Dim{1, u32(w)}}, R);
  for (int64_t j = 0; os_ && j * ksub_ < w; ++j) {
    const int64_t wj = std::min(ksub_, w - j * ksub_);
    Instruction mm = makeInstruction(Opcode::MatmulOs);
    mm.ap[0] = onChip(sBank, j * ksub_ * 4, DType::FP32, {Dim{1, u32(wj)}}, R);
    mm.ap[1] = onChip(st.qT, 0, op_, {Dim{1, u32(Dh_)}}, R);
    mm.ap[2] = onChip(kTiles_[kvSlot], j * Dh_ * es_, op_, {Dim{1, u32(Dh_)}}, static_cast<int>(wj));
    k_.emit(EngineId{EngineKind::PE, 0}, mm);
  }
  for (int64_t c = 0; !os_ && c < nD_; ++c) {
    const int dr = static_cast<int>(std::min(dc_, Dh_ - c * dc_));
    Instruction mm = makeInstruction(Opcode::Matmul);
    mm.ap[0] = scores;
    mm.ap[1] = onChip(st.qT, c * tq_ * es_, op_, {Dim{1, u32(rows)}}, dr);
    mm.ap[2] = onChip(kTiles_[kvSlot], c * tk_ * es_, op_, {Dim{1, u32(w)}}, dr);
    mm.setFlag(0, c > 0);
    k_.emit(EngineId{EngineKind::PE, 0}, mm);
  }
  if (masked) {
    // Key t0 + i is visible to query s0 + p iff t0 + i <= s0 + p + offset.
    Instruction sel = makeInstruction(Opcode::AffineSelect);
    sel.ap[0] = scores;
    sel.ap[1] = scores;
    sel.enums[0] = static_cast<uint8_t>(AluOp::Ge);
    sel.f32[0] = kMaskedScore;
    sel.i32[0] = i32(s0 + s_.queryOffset - t0);
    sel.i32[1] = 1;
    sel.i32[2] = -1;
    k_.emit(EngineId{EngineKind::POOL, 0}, sel);
  }
  const AccessPattern nmOld = scalar(st, kvSlot % 2 ? kNegMax1 : kNegMax0, rows),
                      nb = scalar(st, kvSlot % 2 ? kNegMax0 : kNegMax1, rows),
                      mt = scalar(st, kTileMax, rows), alpha = scalar(st, kAlpha0 + kvSlot, rows),
                      rowSum = scalar(st, kRowSum0 + kvSlot, rows);
  Instruction red = makeInstruction(Opcode::TensorReduce);
  red.ap[0] = mt;
  red.ap[1] = scores;
  red.enums[0] = static_cast<uint8_t>(AluOp::Max);
  k_.emit(EngineId{EngineKind::DVE, 0}, red);
  // nb = -scale * m_new = min(-scale * m_old, -scale * tile max) (scale > 0).
  Instruction neg = makeInstruction(Opcode::TensorScalar);
  neg.ap[0] = nb;
  neg.ap[1] = mt;
  neg.enums[0] = static_cast<uint8_t>(AluOp::Mul);
  neg.f32[0] = -s_.scale;
  neg.enums[1] = static_cast<uint8_t>(AluOp::Min);
  neg.ap[3] = nmOld;
  emitOn(kVector, 1, neg);
  auto exp = [&](const AccessPattern &dst, const AccessPattern &src, float scale, const AccessPattern &sum) {
    Instruction a = makeInstruction(Opcode::Activation);
    a.ap[0] = dst;
    a.ap[1] = src;
    a.enums[0] = static_cast<uint8_t>(ActFunc::Exp);
    a.f32[0] = scale;
    a.ap[3] = nb;
    if (sum.present()) {
      a.enums[1] = static_cast<uint8_t>(AluOp::Add);
      a.ap[4] = sum;
    }
    k_.emit(EngineId{EngineKind::ACT, 0}, a);
  };
  const AccessPattern p = onChip(pTiles_[slot % pTiles_.size()], 0, op_, {Dim{1, u32(w)}}, R);
  exp(p, scores, s_.scale, rowSum); // P = exp(scale * S - scale * m_new), and its row sums
  exp(alpha, nmOld, -1.0f, {});     // exp(scale * (m_old - m_new))
}

void AttentionEmitter::valuesPhase(const HeadState &st, int64_t rows, int64_t w, int kvSlot, int slot) {
  const int R = static_cast<int>(rows);
  const OnChip &pTBank = pTBanks_[slot % blocks_], &pvBank = pvBanks_[slot % blocks_];
  const OnChip &pTile = pTiles_[slot % pTiles_.size()];
  const AccessPattern alpha = scalar(st, kAlpha0 + kvSlot, rows), l = scalar(st, kSum, rows),
                      rowSum = scalar(st, kRowSum0 + kvSlot, rows);
  // l = l * alpha + this tile's row sums.
  Instruction upd = makeInstruction(Opcode::TensorScalar);
  upd.ap[0] = l;
  upd.ap[1] = l;
  upd.enums[0] = static_cast<uint8_t>(AluOp::Mul);
  upd.ap[2] = alpha;
  upd.enums[1] = static_cast<uint8_t>(AluOp::Add);
  upd.ap[3] = rowSum;
  emitOn(kVector, 1, upd);
  const AccessPattern pv = onChip(pvBank, pvOffset_, DType::FP32, {Dim{1, u32(Dh_)}}, R);
  if (os_) {
    Instruction pvm = makeInstruction(Opcode::MatmulOs);
    pvm.ap[0] = pv;
    pvm.ap[1] = onChip(pTile, 0, op_, {Dim{1, u32(w)}}, R);
    pvm.ap[2] = onChip(vTiles_[kvSlot], 0, op_, {Dim{1, u32(w)}}, static_cast<int>(Dh_));
    k_.emit(EngineId{EngineKind::PE, 0}, pvm);
  } else {
    transposedPV(pTile, pTTiles_[slot % blocks_], pTBank, pv, rows, w, kvSlot);
  }
  // O = O * alpha + P V.
  const AccessPattern o = onChip(st.o, 0, DType::FP32, {Dim{1, u32(Dh_)}}, R);
  Instruction rescale = makeInstruction(Opcode::TensorScalar);
  rescale.ap[0] = o;
  rescale.ap[1] = o;
  rescale.enums[0] = static_cast<uint8_t>(AluOp::Mul);
  rescale.ap[2] = alpha;
  emitOn(kVector, static_cast<double>(Dh_), rescale);
  Instruction acc = makeInstruction(Opcode::TensorTensor);
  acc.ap[0] = o;
  acc.ap[1] = o;
  acc.ap[2] = pv;
  acc.enums[0] = static_cast<uint8_t>(AluOp::Add);
  emitOn(kVector, static_cast<double>(Dh_), acc);
}

// P V on a stationary array: P^T through the PE into `pTBank`, to SBUF, then
// one matmul per ksub keys accumulating into `pv`.
void AttentionEmitter::transposedPV(const OnChip &pTile, const OnChip &pTTile, const OnChip &pTBank,
                                    const AccessPattern &pv, int64_t rows, int64_t w, int kvSlot) {
  const int R = static_cast<int>(rows);
  // P^T through the PE: sub-tile j (keys j*ksub..) lands at columns j*tq of the bank.
  const int64_t nSub = (w + ksub_ - 1) / ksub_, full = w / ksub_, rest = w % ksub_;
  for (int64_t j = 0; j < nSub; ++j) {
    const int64_t wj = std::min(ksub_, w - j * ksub_);
    Instruction tr = makeInstruction(Opcode::Transpose);
    tr.ap[0] = onChip(pTBank, j * tq_ * es_, op_, {Dim{1, u32(rows)}}, static_cast<int>(wj));
    tr.ap[1] = onChip(pTile, j * ksub_ * es_, op_, {Dim{1, u32(wj)}}, R);
    k_.emit(EngineId{EngineKind::PE, 0}, tr);
  }
  // P^T to SBUF in two halves on two engines (the PE waits for it).
  auto copyPT = [&](int64_t j0, int64_t subs, int64_t keys) {
    const std::vector<Dim> dims{Dim{i32(tq_), u32(subs)}, Dim{1, u32(rows)}};
    Instruction c = makeInstruction(Opcode::TensorCopy);
    c.ap[0] = onChip(pTTile, j0 * tq_ * es_, op_, dims, static_cast<int>(keys));
    c.ap[1] = onChip(pTBank, j0 * tq_ * es_, op_, dims, static_cast<int>(keys));
    emitOn(kVector, static_cast<double>(subs * rows), c);
  };
  const int64_t half = (full + 1) / 2;
  if (half)
    copyPT(0, half, ksub_);
  if (full > half)
    copyPT(half, full - half, ksub_);
  if (rest)
    copyPT(full, 1, rest);
  for (int64_t j = 0; j < nSub; ++j) {
    const int64_t wj = std::min(ksub_, w - j * ksub_);
    Instruction pvm = makeInstruction(Opcode::Matmul);
    pvm.ap[0] = pv;
    pvm.ap[1] = onChip(pTTile, j * tq_ * es_, op_, {Dim{1, u32(rows)}}, static_cast<int>(wj));
    pvm.ap[2] = onChip(vTiles_[kvSlot], j * Dh_ * es_, op_, {Dim{1, u32(Dh_)}}, static_cast<int>(wj));
    pvm.setFlag(0, j > 0);
    k_.emit(EngineId{EngineKind::PE, 0}, pvm);
  }
}

void AttentionEmitter::queryTile(const Affine &h, int64_t qi) {
  const int64_t s0 = qi * tq_, rows = std::min(tq_, S_ - s0);
  const int R = static_cast<int>(rows);
  std::vector<HeadState> &heads = state_[qi % kSlots];
  const HbmView &q = s_.q, &out = s_.out;
  for (int64_t g = 0; g < G_; ++g) {
    HeadState &st = heads[g];
    // Q^T [Dh, rows]: the DMA transpose unit reads the rows of Q down the partitions.
    const DType dt = q.dtype;
    if (os_) { // Q [rows, Dh] as it is: queries on partitions
      const Affine elem = Affine(q.offset) + h * q.strides[0] + Affine((g * S_ + s0) * q.strides[1]);
      AccessPattern d = onChip(s_.q.dtype == op_ ? st.qT : st.qStage, 0, dt, {Dim{1, u32(Dh_)}}, R);
      k_.emit(queues_[0].next(), dmaCopy(d, hbm(q.tensor, elem * dtypeSize(dt), dt, q.strides[1], R,
                                                {Dim{i32(q.strides[2]), u32(Dh_)}})));
      if (s_.q.dtype != op_)
        castCopy(onChip(st.qT, 0, op_, {Dim{1, u32(Dh_)}}, R), d, static_cast<double>(Dh_));
    }
    for (int64_t c = 0; !os_ && c < nD_; ++c) {
      const int dr = static_cast<int>(std::min(dc_, Dh_ - c * dc_));
      const Affine elem =
          Affine(q.offset) + h * q.strides[0] + Affine((g * S_ + s0) * q.strides[1] + c * dc_ * q.strides[2]);
      AccessPattern d = onChip(s_.q.dtype == op_ ? st.qT : st.qStage, c * tq_ * dtypeSize(dt), dt,
                               {Dim{1, u32(rows)}}, dr);
      k_.emit(queues_[0].next(), dmaCopy(d, hbm(q.tensor, elem * dtypeSize(dt), dt, q.strides[2], dr,
                                                {Dim{i32(q.strides[1]), u32(rows)}}),
                                         wantsTransposeUnit(q.strides[2], q.strides[1], dt, rows)));
      if (s_.q.dtype != op_)
        castCopy(onChip(st.qT, c * tq_ * es_, op_, {Dim{1, u32(rows)}}, dr), d, static_cast<double>(rows));
    }
    auto fill = [&](const AccessPattern &ap, float value, double n) {
      Instruction ms = makeInstruction(Opcode::Memset);
      ms.ap[0] = ap;
      ms.f32[0] = value;
      emitOn(kAny, n, ms);
    };
    fill(scalar(st, kNegMax0, rows), -s_.scale * kMaskedScore, 1);
    fill(scalar(st, kSum, rows), 0.0f, 1);
    fill(onChip(st.o, 0, DType::FP32, {Dim{1, u32(Dh_)}}, R), 0.0f, static_cast<double>(Dh_));
  }
  // Keys [0, fullEnd) are visible to every query of the tile, [0, visibleEnd) to some.
  int64_t fullEnd = T_, visibleEnd = T_;
  if (s_.causal) {
    fullEnd = std::min(T_, s0 + s_.queryOffset + 1);
    visibleEnd = std::min(T_, s0 + rows - 1 + s_.queryOffset + 1);
  }
  const int64_t fullTiles = fullEnd / tk_;
  auto values = [&](const Pending &pd) {
    for (int64_t g = 0; g < G_; ++g)
      valuesPhase(heads[g], rows, pd.w, pd.kvSlot, static_cast<int>(pd.kvSlot * G_ + g));
  };
  auto keyTile = [&](const Affine &t0, int64_t w, bool masked, int64_t t0c, int kvSlot) {
    loadKV(h, t0, w, kvSlot);
    // The values phase of an earlier tile first: its inputs are ready, so
    // no in-order engine stream holds this tile's scores behind a wait.
    if (static_cast<int>(pending_.size()) >= defer_) {
      values(pending_.front());
      pending_.erase(pending_.begin());
    }
    for (int64_t g = 0; g < G_; ++g)
      scoresPhase(heads[g], s0, rows, w, masked, t0c, kvSlot, static_cast<int>(kvSlot * G_ + g));
    pending_.push_back({w, kvSlot});
  };
  // The first tiles before the loop, so that every copy of the loop body
  // finds the values phase it emits (slots repeat with period kvSlots).
  const int64_t peeled = std::min<int64_t>(defer_, fullTiles);
  for (int64_t t = 0; t < peeled; ++t)
    keyTile(Affine(t * tk_), tk_, false, 0, static_cast<int>(t % kvSlots_));
  k_.unrolled(fullTiles - peeled, kvSlots_, [&](const Affine &t, int copy) {
    keyTile((t + Affine(peeled)) * tk_, tk_, false, 0, static_cast<int>((copy + peeled) % kvSlots_));
  });
  for (int64_t t = fullTiles; t * tk_ < visibleEnd; ++t) {
    const int64_t t0 = t * tk_, w = std::min(tk_, T_ - t0);
    keyTile(Affine(t0), w, t0 + w > fullEnd, t0, static_cast<int>(t % kvSlots_));
  }
  for (const Pending &pd : pending_)
    values(pd);
  pending_.clear();
  for (int64_t g = 0; g < G_; ++g) {
    const HeadState &st = heads[g];
    const OnChip &tile = outTiles_[g % kSlots];
    AccessPattern y = onChip(tile, 0, out.dtype, {Dim{1, u32(Dh_)}}, R);
    Instruction norm = makeInstruction(Opcode::TensorScalar);
    norm.ap[0] = y;
    norm.ap[1] = onChip(st.o, 0, DType::FP32, {Dim{1, u32(Dh_)}}, R);
    norm.enums[0] = static_cast<uint8_t>(AluOp::Div);
    norm.ap[2] = scalar(st, kSum, rows);
    emitOn(kAny, static_cast<double>(Dh_), norm);
    const Affine elem = Affine(out.offset) + h * out.strides[0] + Affine((g * S_ + s0) * out.strides[1]);
    k_.emit(queues_[3].next(), dmaCopy(hbm(out.tensor, elem * dtypeSize(out.dtype), out.dtype, out.strides[1], R,
                                           {Dim{i32(out.strides[2]), u32(Dh_)}}),
                                       y));
  }
}

} // namespace

void emitAttention(ProgramBuilder &pb, const AttentionSpec &spec, uint32_t loc) {
  const Target &target = pb.target();
  if (spec.q.rank() != 3 || spec.kT.rank() != 3 || spec.v.rank() != 3 || spec.out.rank() != 3)
    fail("attention operands must be rank 3: q [B, G*S, Dh], kT [B, Dh, T], v [B, T, Dh]");
  const int64_t B = spec.q.shape[0], Dh = spec.q.shape[2], T = spec.kT.shape[2];
  if (spec.group < 1 || spec.q.shape[1] % spec.group != 0)
    fail("attention: query rows ", spec.q.shape[1], " are not a multiple of the group ", spec.group);
  if (spec.kT.shape[0] != B || spec.v.shape[0] != B || spec.kT.shape[1] != Dh || spec.v.shape[1] != T ||
      spec.v.shape[2] != Dh || spec.out.shape != spec.q.shape)
    fail("attention: shapes do not agree (q [B, G*S, Dh], kT [B, Dh, T], v [B, T, Dh], out like q)");
  if (target.dataflow() == Dataflow::OutputStationary) {
    if (Dh > target.matmulOsN() || Dh > target.matmulOsK())
      fail("attention head dim ", Dh, " exceeds the output-stationary array's ", target.matmulOsN(), " columns");
  } else if (Dh > target.matmulN() || Dh * 4 > target.psumBankBytes() / 2) {
    fail("attention head dim ", Dh, " exceeds the PE array's moving width ", target.matmulN());
  }
  if (!(spec.scale > 0.0f))
    fail("attention scale must be positive, got ", spec.scale);
  if (spec.queryOffset < 0)
    fail("attention query offset must be >= 0, got ", spec.queryOffset);
  if (T < 1 || spec.q.shape[1] < 1)
    fail("attention needs at least one query and one key");
  const int cores = target.limits.cores;
  // Per core: heads [h0, h0 + nh) looped in hardware, each with a list of query tiles.
  struct Job {
    int64_t h0 = 0, nh = 0;
    std::vector<int64_t> tiles;
  };
  const int64_t tq = queryTileRows(target);
  const int64_t nQ = (spec.q.shape[1] / spec.group + tq - 1) / tq;
  std::vector<Job> jobs(cores);
  if (B >= cores) {
    for (int c = 0; c < cores; ++c) {
      auto [a, b] = splitRange(B, cores, c);
      jobs[c].h0 = a;
      jobs[c].nh = b - a;
      for (int64_t t = 0; t < nQ; ++t)
        jobs[c].tiles.push_back(t);
    }
  } else {
    // Each head's query tiles dealt round-robin over its share of the cores
    // (causal tiles grow with their index, so dealing balances the work).
    const int64_t perHead = std::max<int64_t>(1, cores / B);
    for (int64_t h = 0; h < B; ++h)
      for (int64_t p = 0; p < perHead; ++p) {
        Job &j = jobs[h * perHead + p];
        j.h0 = h;
        j.nh = 1;
        for (int64_t t = p; t < nQ; t += perHead)
          j.tiles.push_back(t);
      }
  }
  // Query tiles are unrolled (each has its own causal key range), and the
  // semaphore inference of one kernel grows with the square of its
  // instructions: long sequences go as several kernels, each core adding
  // query tiles to a kernel until it holds kInstructionsPerKernel, one chip
  // barrier apart.
  std::vector<size_t> next(cores, 0);
  auto pending = [&] {
    for (int c = 0; c < cores; ++c)
      if (jobs[c].nh > 0 && next[c] < jobs[c].tiles.size())
        return true;
    return false;
  };
  while (pending()) {
    std::vector<CoreKernel> kernels = pb.newKernel(cores);
    for (int c = 0; c < cores; ++c) {
      const Job &j = jobs[c];
      if (j.nh == 0 || next[c] >= j.tiles.size())
        continue;
      CoreKernel &k = kernels[c];
      AttentionEmitter e(k, spec);
      k.loop(j.nh, [&](const Affine &hi) {
        do
          e.queryTile(Affine(j.h0) + hi, j.tiles[next[c]++]);
        while (next[c] < j.tiles.size() && k.instructionCount() < kInstructionsPerKernel);
      });
    }
    pb.addKernel(kernels, loc);
  }
}

} // namespace trnx::cg
