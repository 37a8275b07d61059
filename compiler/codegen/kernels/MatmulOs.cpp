// Matmul schedule for an output-stationary PE array (pe_array.dataflow os):
// C tiles [rows x cols of the array] stay in the PEs while A's rows and B's
// columns stream along K (matmul_os: both operands K-along-free). Per core, a
// panel of B^T (as many array-width column tiles as half the PSUM banks hold,
// or fewer when SBUF is short) stays resident; A's rows stream through two
// buffers, one array-height tile at a time; each (row tile, column tile)
// accumulates K in chunks of pe_array.moving_free_max (PSUM accumulation
// between chunks) into its slice of a bank, and bank groups alternate so the
// evacuation of one row tile overlaps the next one's passes. A is read once
// per panel, B once.
#include "compiler/codegen/kernels/MatmulSupport.h"

#include "isa/Error.h"

#include <algorithm>

namespace trnx::cg {
namespace {

class OsEmitter {
public:
  OsEmitter(CoreKernel &k, const MatmulSpec &s, int64_t K)
      : k_(k), s_(s), tm_(k.target().matmulOsM()), tn_(k.target().matmulOsN()), tk_(k.target().matmulOsK()),
        bankCols_(k.target().psumBankColumns()), K_(K), op_(s.operandType), es_(dtypeSize(s.operandType)),
        queues_(splitQueues(k.target().limits.dmaQueues, {4, 6, 2, 4})), evac_(k, s, queues_[2], queues_[3]) {
    const int r = s.c.rank();
    sAM_ = s.a.strides[r - 2];
    sAK_ = s.a.strides[r - 1];
    sBK_ = s.b.strides[r - 2];
    sBN_ = s.b.strides[r - 1];
    groups_ = k.target().limits.psumBanks >= 2 ? 2 : 1;
    maxBanks_ = std::max(1, k.target().limits.psumBanks / groups_);
    tilesPerBank_ = std::max<int64_t>(1, bankCols_ / tn_);
  }

  // Columns of the resident B^T panel (a multiple of the array's columns, or
  // the job's width), 0 when not even one column tile fits SBUF with this K.
  int64_t panelWidth(const std::vector<MatmulJob> &jobs) const;
  void run(const std::vector<MatmulJob> &jobs);

private:
  bool castA() const { return s_.a.dtype != op_; }
  bool castB() const { return s_.b.dtype != op_; }
  int64_t aTileBytes() const { return K_ * (es_ + (castA() ? dtypeSize(s_.a.dtype) : 0)); }
  int64_t bTileBytes() const { return K_ * (es_ + (castB() ? dtypeSize(s_.b.dtype) : 0)); }
  void castCopy(const OnChip &from, DType fromType, const OnChip &to, int64_t rows, int64_t elems);
  // A rows [m0, m0+m) x all K into dst [m part, K].
  void loadRows(const MatmulJob &j, const Affine &m0, int64_t m, const OnChip &dst, const OnChip *staging);
  // B columns [n0, n0+w) as `tiles` column tiles of tn_ rows each: dst [tn part, tile][K].
  void loadPanel(const MatmulJob &j, const Affine &n0, int64_t w, const OnChip &dst, const OnChip *staging);

  CoreKernel &k_;
  const MatmulSpec &s_;
  int64_t tm_, tn_, tk_, bankCols_; // rows, columns, K per matmul_os; fp32 columns of a bank
  int64_t K_;
  DType op_;
  int64_t es_;
  int64_t sAM_, sAK_, sBK_, sBN_;
  int groups_ = 2, maxBanks_ = 4;
  int64_t tilesPerBank_ = 4;
  std::vector<QueueRotor> queues_; // load A, load B, epilogue inputs, stores
  MatmulEvacuator evac_;
  EngineBalancer balance_;
};

void OsEmitter::castCopy(const OnChip &from, DType fromType, const OnChip &to, int64_t rows, int64_t elems) {
  Instruction inst = makeInstruction(Opcode::TensorCopy);
  inst.ap[0] = onChip(to, 0, op_, {Dim{1, static_cast<uint32_t>(elems)}}, static_cast<int>(rows));
  inst.ap[1] = onChip(from, 0, fromType, {Dim{1, static_cast<uint32_t>(elems)}}, static_cast<int>(rows));
  k_.emit(balance_.pick(engineBit(EngineKind::ACT) | engineBit(EngineKind::POOL), static_cast<double>(elems)),
          inst);
}

void OsEmitter::loadRows(const MatmulJob &j, const Affine &m0, int64_t m, const OnChip &dst, const OnChip *staging) {
  const DType at = s_.a.dtype;
  const Affine elem = Affine(s_.a.offset + j.aOff) + m0 * sAM_;
  AccessPattern src = hbm(s_.a.tensor, elem * dtypeSize(at), at, sAM_, static_cast<int>(m),
                          {Dim{static_cast<int32_t>(sAK_), static_cast<uint32_t>(K_)}});
  AccessPattern d = onChip(staging ? *staging : dst, 0, at, {Dim{1, static_cast<uint32_t>(K_)}}, static_cast<int>(m));
  k_.emit(queues_[0].next(), dmaCopy(d, src, wantsTransposeUnit(sAM_, sAK_, at, K_)));
  if (staging)
    castCopy(*staging, at, dst, m, K_);
}

void OsEmitter::loadPanel(const MatmulJob &j, const Affine &n0, int64_t w, const OnChip &dst, const OnChip *staging) {
  const DType bt = s_.b.dtype;
  const OnChip &target = staging ? *staging : dst;
  const bool tu = wantsTransposeUnit(sBN_, sBK_, bt, K_);
  // Full column tiles in up to four DMAs (the first passes start early), then the ragged one.
  const int64_t full = w / tn_, rest = w % tn_;
  const int64_t parts = std::min<int64_t>(4, full);
  for (int64_t p = 0; p < parts; ++p) {
    auto [t0, t1] = splitRange(full, static_cast<int>(parts), static_cast<int>(p));
    if (t1 <= t0)
      continue;
    const Affine elem = Affine(s_.b.offset + j.bOff) + (n0 + t0 * tn_) * sBN_;
    AccessPattern src = hbm(s_.b.tensor, elem * dtypeSize(bt), bt, sBN_, static_cast<int>(tn_),
                            {Dim{static_cast<int32_t>(tn_ * sBN_), static_cast<uint32_t>(t1 - t0)},
                             Dim{static_cast<int32_t>(sBK_), static_cast<uint32_t>(K_)}});
    AccessPattern d = onChip(target, t0 * K_ * dtypeSize(bt), bt,
                             {Dim{static_cast<int32_t>(K_), static_cast<uint32_t>(t1 - t0)},
                              Dim{1, static_cast<uint32_t>(K_)}},
                             static_cast<int>(tn_));
    k_.emit(queues_[1].next(), dmaCopy(d, src, tu));
  }
  if (rest) {
    const Affine elem = Affine(s_.b.offset + j.bOff) + (n0 + full * tn_) * sBN_;
    AccessPattern src = hbm(s_.b.tensor, elem * dtypeSize(bt), bt, sBN_, static_cast<int>(rest),
                            {Dim{static_cast<int32_t>(sBK_), static_cast<uint32_t>(K_)}});
    AccessPattern d = onChip(target, full * K_ * dtypeSize(bt), bt, {Dim{1, static_cast<uint32_t>(K_)}},
                             static_cast<int>(rest));
    k_.emit(queues_[1].next(), dmaCopy(d, src, tu));
  }
  if (staging)
    castCopy(*staging, bt, dst, std::min(w, tn_), (full + (rest ? 1 : 0)) * K_);
}

int64_t OsEmitter::panelWidth(const std::vector<MatmulJob> &jobs) const {
  int64_t nMax = 0;
  for (const MatmulJob &j : jobs)
    nMax = std::max(nMax, j.n);
  // Evacuation tiles per bank, epilogue temporaries and slack beside the two A buffers.
  const int64_t perBank = groups_ * bankCols_ * (dtypeSize(s_.c.dtype) + 4 +
                                                 4 * static_cast<int64_t>(s_.epilogueInputs.size()));
  const int64_t budget = k_.sbufFree() - groups_ * aTileBytes() - maxBanks_ * perBank - 4096;
  const int64_t widest = std::min<int64_t>(nMax, maxBanks_ * tilesPerBank_ * tn_);
  const int64_t tiles = std::min(ceilDiv(widest, tn_), budget / std::max<int64_t>(1, bTileBytes()));
  if (tiles < 1)
    return 0;
  return std::min(widest, tiles * tn_);
}

void OsEmitter::run(const std::vector<MatmulJob> &jobs) {
  const int64_t width = panelWidth(jobs);
  if (width == 0)
    fail("internal: matmul with K=", K_, " does not fit SBUF (emitMatmul splits K first)");
  const int64_t panelTiles = ceilDiv(width, tn_);
  const int64_t banksPerGroup = ceilDiv(panelTiles, tilesPerBank_);
  OnChip panel = k_.allocSbuf(panelTiles * K_ * es_);
  OnChip panelStage = castB() ? k_.allocSbuf(panelTiles * K_ * dtypeSize(s_.b.dtype)) : OnChip{};
  std::vector<OnChip> rows, rowStage;
  std::vector<std::vector<OnChip>> banks(groups_);
  std::vector<std::vector<MatmulEvacuator::Tile>> tiles(groups_);
  for (int g = 0; g < groups_; ++g) {
    rows.push_back(k_.allocSbuf(K_ * es_));
    if (castA())
      rowStage.push_back(k_.allocSbuf(K_ * dtypeSize(s_.a.dtype)));
    for (int64_t b = 0; b < banksPerGroup; ++b) {
      banks[g].push_back(k_.allocPsumBank());
      tiles[g].push_back(evac_.allocTile(std::min(bankCols_, tilesPerBank_ * tn_)));
    }
  }
  const int64_t chunksFull = K_ / tk_, chunkRest = K_ % tk_;
  for (const MatmulJob &j : jobs) {
    auto panelBody = [&](const Affine &n0, int64_t w) {
      loadPanel(j, n0, w, panel, castB() ? &panelStage : nullptr);
      const int64_t nTiles = ceilDiv(w, tn_);
      auto rowTile = [&](const Affine &m0, int64_t m, int slot) {
        loadRows(j, m0, m, rows[slot], castA() ? &rowStage[slot] : nullptr);
        for (int64_t t = 0; t < nTiles; ++t) {
          const int64_t nt = std::min(tn_, w - t * tn_);
          const OnChip &bank = banks[slot][t / tilesPerBank_];
          const int64_t col = (t % tilesPerBank_) * tn_;
          auto pass = [&](const Affine &k0, int64_t kc, bool acc) {
            Instruction mm = makeInstruction(Opcode::MatmulOs);
            mm.ap[0] = onChip(bank, col * 4, DType::FP32, {Dim{1, static_cast<uint32_t>(nt)}}, static_cast<int>(m));
            mm.ap[1] = onChip(rows[slot], k0 * es_, op_, {Dim{1, static_cast<uint32_t>(kc)}}, static_cast<int>(m));
            mm.ap[2] = onChip(panel, (Affine(t * K_) + k0) * es_, op_, {Dim{1, static_cast<uint32_t>(kc)}},
                              static_cast<int>(nt));
            mm.setFlag(0, acc);
            k_.emit(EngineId{EngineKind::PE, 0}, mm);
          };
          if (chunksFull > 0) {
            pass(Affine(0), tk_, false);
            k_.loop(chunksFull - 1, [&](const Affine &c) { pass((c + 1) * tk_, tk_, true); });
          }
          if (chunkRest)
            pass(Affine(chunksFull * tk_), chunkRest, chunksFull > 0);
        }
        for (int64_t b = 0; b < ceilDiv(w, tilesPerBank_ * tn_); ++b) {
          const int64_t c0 = b * tilesPerBank_ * tn_, cw = std::min(tilesPerBank_ * tn_, w - c0);
          evac_.evacuate(j, m0, m, n0 + c0, cw, banks[slot][b], tiles[slot][b]);
        }
      };
      const int64_t mFull = j.m / tm_, mRest = j.m % tm_;
      k_.unrolled(mFull, groups_, [&](const Affine &t, int slot) { rowTile(Affine(j.m0) + t * tm_, tm_, slot); });
      if (mRest)
        rowTile(Affine(j.m0 + mFull * tm_), mRest, static_cast<int>(mFull % groups_));
    };
    const int64_t full = j.n / width, rest = j.n % width;
    k_.loop(full, [&](const Affine &c) { panelBody(Affine(j.n0) + c * width, width); });
    if (rest)
      panelBody(Affine(j.n0 + full * width), rest);
  }
}

} // namespace

bool emitOsWholeK(ProgramBuilder &pb, const MatmulSpec &spec, uint32_t loc, bool dryRun) {
  const int r = spec.c.rank();
  const int64_t K = spec.a.shape[r - 1];
  const Target &target = pb.target();
  const int cores = target.limits.cores;
  const int64_t colAlign = std::max<int64_t>(1, target.psumBankColumns() / target.matmulOsN()) * target.matmulOsN();
  const int64_t panelCols = std::max(1, target.limits.psumBanks / (target.limits.psumBanks >= 2 ? 2 : 1)) * colAlign;
  std::vector<std::vector<MatmulJob>> jobs = matmulCoreJobs(spec, cores, target.matmulOsM(), colAlign, panelCols);
  std::vector<CoreKernel> kernels = pb.newKernel(cores);
  for (int c = 0; c < cores; ++c)
    if (!jobs[c].empty() && OsEmitter(kernels[c], spec, K).panelWidth(jobs[c]) == 0)
      return false;
  if (dryRun)
    return true;
  for (int c = 0; c < cores; ++c)
    if (!jobs[c].empty())
      OsEmitter(kernels[c], spec, K).run(jobs[c]);
  pb.addKernel(kernels, loc);
  return true;
}

} // namespace trnx::cg
