// Operations along the last axis, one row per partition: reductions,
// softmax and log-softmax, LayerNorm and RMSNorm. A row stays in SBUF when
// it fits; a longer row streams through SBUF in chunks (reductions: one pass;
// softmax: max, sum and output passes; norms: statistics and output passes,
// reading x from HBM again each pass). Rows are tiled by the target's
// partition count and split across
// cores, with tiles rotating through two slots so DMA overlaps compute.
// A few long rows (a decode step's RMSNorm, softmax over a KV cache) are
// folded: each row is spread over F partitions, the per-partition partial
// statistics are combined across each row's partitions through two PE
// transposes, so every lane works instead of one partition per row.
#include "compiler/codegen/kernels/Kernels.h"

#include "compiler/codegen/kernels/KernelSupport.h"
#include "isa/Error.h"

#include <algorithm>
#include <functional>

namespace trnx::cg {
namespace {

constexpr int kSlots = 2;

constexpr EngineMask kVector = engineBit(EngineKind::DVE) | engineBit(EngineKind::POOL);
constexpr EngineMask kAny = kVector | engineBit(EngineKind::ACT);

bool isReduction(RowSpec::Kind k) {
  return k == RowSpec::Kind::ReduceSum || k == RowSpec::Kind::ReduceMax || k == RowSpec::Kind::ReduceMin;
}

struct RowEmitter {
  CoreKernel &k;
  const RowSpec &s;
  int64_t D;
  int64_t chunk; // reductions: columns per SBUF tile (D, or less when a row does not fit)
  int bnFree; // bn_stats elements per instruction
  EngineBalancer balance;
  QueueRotor loads, stores;
  OnChip gammaTile, betaTile;
  std::vector<OnChip> xTiles, yTiles, small, temps;
  int64_t fold = 1;               // partitions per row (folded rows); D % fold == 0
  std::vector<OnChip> combTiles;  // folded rows: per-slot [1, 2 * rows * fold] fp32 scratch
  std::vector<OnChip> psumBanks;  // folded rows: per-slot bank for the combining transposes

  AccessPattern rowsAp(const OnChip &t, DType dt, int64_t rows, int64_t cols, int64_t byteOffset = 0) const {
    return onChip(t, byteOffset, dt, {Dim{1, static_cast<uint32_t>(cols)}}, static_cast<int>(rows));
  }
  // Column c of a small per-row fp32 scratch tile.
  AccessPattern scalarAp(int slot, int c, int64_t rows) const {
    return onChip(small[slot], c * 4, DType::FP32, {Dim{1, 1}}, static_cast<int>(rows));
  }
  void emitOn(EngineMask allowed, double elements, const Instruction &inst) { k.emit(balance.pick(allowed, elements), inst); }

  Instruction tensorScalar(const AccessPattern &dst, const AccessPattern &src, AluOp op0, float s0,
                           AluOp op1 = AluOp::None, float s1 = 0) {
    Instruction i = makeInstruction(Opcode::TensorScalar);
    i.ap[0] = dst;
    i.ap[1] = src;
    i.enums[0] = static_cast<uint8_t>(op0);
    i.f32[0] = s0;
    i.enums[1] = static_cast<uint8_t>(op1);
    i.f32[1] = op1 == AluOp::None ? 0.0f : s1;
    return i;
  }

  void tile(const Affine &row0, int64_t rows, int64_t xRowOffset, int64_t outRowOffset, int slot);
  AccessPattern loadFolded(const Affine &row0, int64_t rows, int64_t xBase, int slot);
  void storeFolded(const AccessPattern &y, const Affine &row0, int64_t rows, int64_t outBase);
  void combineAcrossFold(const AccessPattern &column, int64_t rows, int slot, AluOp op);
  void tileChunked(const Affine &row0, int64_t rows, int64_t xBase, int64_t outBase, int slot);

  // ACT func(x * scale + bias) into dst, optionally summing each row into `sum`.
  void activation(const AccessPattern &dst, const AccessPattern &x, ActFunc f, const AccessPattern &scale,
                  const AccessPattern &bias, const AccessPattern &sum) {
    Instruction a = makeInstruction(Opcode::Activation);
    a.ap[0] = dst;
    a.ap[1] = x;
    a.enums[0] = static_cast<uint8_t>(f);
    a.ap[2] = scale;
    a.ap[3] = bias;
    if (sum.present()) {
      a.enums[1] = static_cast<uint8_t>(AluOp::Add);
      a.ap[4] = sum;
    }
    k.emit(EngineId{EngineKind::ACT, 0}, a);
  }
  // bn_stats of `cols` columns of a tile into the slot's stats, from group `group0` on.
  void bnStats(const OnChip &tile, int slot, int64_t rows, int64_t group0, int64_t cols) {
    for (int64_t g0 = 0; g0 < cols; g0 += bnFree) {
      Instruction bs = makeInstruction(Opcode::BnStats);
      bs.ap[0] = onChip(small[slot], 16 + (group0 + g0 / bnFree) * 12, DType::FP32, {Dim{1, 3}}, static_cast<int>(rows));
      bs.ap[1] = rowsAp(tile, s.x.dtype, rows, std::min<int64_t>(bnFree, cols - g0), g0 * dtypeSize(s.x.dtype));
      k.emit(EngineId{EngineKind::DVE, 0}, bs);
    }
  }
  // LayerNorm's per-row scalars from the row's bn_stats: rstd in column 1,
  // -mean*rstd in column 2 (bn_aggr leaves mean, var in columns 0, 1).
  void layerNormScalars(int slot, int64_t rows) {
    const int64_t groups = (D + bnFree - 1) / bnFree;
    Instruction ag = makeInstruction(Opcode::BnAggr);
    ag.ap[0] = onChip(small[slot], 0, DType::FP32, {Dim{1, 2}}, static_cast<int>(rows));
    ag.ap[1] = onChip(small[slot], 16, DType::FP32, {Dim{1, static_cast<uint32_t>(3 * groups)}}, static_cast<int>(rows));
    k.emit(EngineId{EngineKind::DVE, 0}, ag);
    const AccessPattern mean = scalarAp(slot, 0, rows), var = scalarAp(slot, 1, rows);
    emitOn(kVector, 1, tensorScalar(var, var, AluOp::Add, s.epsilon, AluOp::Pow, -0.5f));
    Instruction t = tensorScalar(scalarAp(slot, 2, rows), mean, AluOp::Mul, 0.0f, AluOp::Mul, -1.0f);
    t.ap[2] = var;
    emitOn(kVector, 1, t);
  }
  // RMSNorm's rstd = (sum(x^2) / D + eps)^-0.5, in place.
  void rmsScalar(const AccessPattern &sumSq) {
    emitOn(kVector, 1, tensorScalar(sumSq, sumSq, AluOp::Mul, 1.0f / static_cast<float>(D), AluOp::Add, s.epsilon));
    emitOn(kVector, 1, tensorScalar(sumSq, sumSq, AluOp::Pow, -0.5f));
  }
  // y = x * rstd (+ shift) [* gamma] [+ beta] over `cols` columns; `param`
  // gives the gamma or beta operand of these columns (emitting its load if
  // it has one) just before it is used.
  void normalize(const AccessPattern &y, const AccessPattern &x, const AccessPattern &temp, const AccessPattern &rstd,
                 const AccessPattern &shift, int64_t cols,
                 const std::function<AccessPattern(const HbmView &, const OnChip &, bool beta)> &param) {
    const bool hasGamma = s.gamma.tensor != kNoTensor, hasBeta = s.beta.tensor != kNoTensor;
    const AccessPattern normed = hasGamma || hasBeta ? temp : y;
    activation(normed, x, ActFunc::Identity, rstd, s.kind == RowSpec::Kind::LayerNorm ? shift : AccessPattern{}, {});
    if (hasGamma) {
      Instruction mul = makeInstruction(Opcode::TensorTensor);
      mul.ap[0] = hasBeta ? normed : y;
      mul.ap[1] = normed;
      mul.ap[2] = param(s.gamma, gammaTile, false);
      mul.enums[0] = static_cast<uint8_t>(AluOp::Mul);
      emitOn(kVector, 2.0 * static_cast<double>(cols), mul);
    }
    if (hasBeta) {
      Instruction add = makeInstruction(Opcode::TensorTensor);
      add.ap[0] = y;
      add.ap[1] = normed;
      add.ap[2] = param(s.beta, betaTile, true);
      add.enums[0] = static_cast<uint8_t>(AluOp::Add);
      emitOn(kVector, 2.0 * static_cast<double>(cols), add);
    }
  }

  // Columns [c0, c0 + cols) of `rows` rows of x (from row row0) into `tile`.
  AccessPattern loadX(const OnChip &tile, const Affine &row0, int64_t rows, int64_t xBase, int64_t c0, int64_t cols) {
    const int r = s.x.rank();
    const int64_t xRow = r >= 2 ? s.x.strides[r - 2] : 0, xCol = s.x.strides[r - 1];
    AccessPattern x = rowsAp(tile, s.x.dtype, rows, cols);
    k.emit(loads.next(), dmaCopy(x, hbm(s.x.tensor, (Affine(xBase) + row0 * xRow + Affine(c0 * xCol)) * dtypeSize(s.x.dtype),
                                        s.x.dtype, xRow, static_cast<int>(rows),
                                        {Dim{static_cast<int32_t>(xCol), static_cast<uint32_t>(cols)}}),
                                 // Rows along a contiguous axis (a reduction over a leading axis): transpose unit.
                                 wantsTransposeUnit(xRow, xCol, s.x.dtype, cols)));
    return x;
  }
  // y (columns [c0, c0 + cols) of the output rows) back to HBM.
  void storeY(const AccessPattern &y, const Affine &row0, int64_t rows, int64_t outBase, int64_t c0, int64_t cols) {
    const int r = s.out.rank();
    const int64_t oRow = r >= 2 ? s.out.strides[r - 2] : 0, oCol = s.out.strides[r - 1];
    k.emit(stores.next(),
           dmaCopy(hbm(s.out.tensor, (Affine(outBase) + row0 * oRow + Affine(c0 * oCol)) * dtypeSize(s.out.dtype),
                       s.out.dtype, oRow, static_cast<int>(rows), {Dim{static_cast<int32_t>(oCol), static_cast<uint32_t>(cols)}}),
                   y));
  }
  // Columns [c0, c0 + cols) of gamma or beta, broadcast to `rows` partitions.
  AccessPattern loadParam(const HbmView &v, const OnChip &tile, int64_t rows, int64_t c0, int64_t cols) {
    AccessPattern dst = rowsAp(tile, v.dtype, rows, cols);
    k.emit(loads.next(), dmaCopy(dst, hbm(v.tensor, (v.offset + c0 * v.strides.back()) * dtypeSize(v.dtype), v.dtype, 0,
                                          static_cast<int>(rows), {Dim{static_cast<int32_t>(v.strides.back()), static_cast<uint32_t>(cols)}})));
    return dst;
  }
  // acc = acc op part: combining a chunk's partial result.
  void combine(const AccessPattern &acc, const AccessPattern &part, AluOp op) {
    Instruction c = makeInstruction(Opcode::TensorTensor);
    c.ap[0] = acc;
    c.ap[1] = acc;
    c.ap[2] = part;
    c.enums[0] = static_cast<uint8_t>(op);
    emitOn(kVector, 1, c);
  }
  std::vector<OnChip> gammaChunks, betaChunks; // chunked rows: per-slot chunks of gamma and beta
};


void RowEmitter::tile(const Affine &row0, int64_t rows, int64_t xBase, int64_t outBase, int slot) {
  const bool reduce = isReduction(s.kind);
  const int64_t outCols = reduce ? 1 : D;
  if (!isReduction(s.kind) && chunk < D && fold == 1) { // a folded row is whole
    tileChunked(row0, rows, xBase, outBase, slot);
    return;
  }
  auto load = [&](const OnChip &tile, int64_t c0, int64_t cols) { return loadX(tile, row0, rows, xBase, c0, cols); };
  // A folded row (fold > 1, softmax and RMSNorm only) is `fold` partitions
  // of D / fold columns: `lanes` partitions of `width` columns in all.
  const int64_t lanes = rows * fold, width = D / fold;
  AccessPattern y = rowsAp(yTiles[slot], s.out.dtype, lanes, reduce ? 1 : width);
  const double d = static_cast<double>(width);
  if (reduce) {
    // Chunks of the row, reduced one by one into an fp32 accumulator (the
    // row itself when it fits in one chunk).
    const AluOp alu = s.kind == RowSpec::Kind::ReduceSum   ? AluOp::Add
                      : s.kind == RowSpec::Kind::ReduceMax ? AluOp::Max
                                                           : AluOp::Min;
    const int64_t chunks = (D + chunk - 1) / chunk;
    AccessPattern acc = scalarAp(slot, 0, rows), part = scalarAp(slot, 1, rows);
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t c0 = c * chunk, cols = std::min(chunk, D - c0);
      AccessPattern in = load(xTiles[(slot + c) % kSlots], c0, cols);
      if (!s.prologue.ops.empty()) {
        AccessPattern pre = rowsAp(temps[0], DType::FP32, rows, cols);
        emitEwProgram(k, s.prologue, {in}, pre, {temps.begin() + 1, temps.end()}, static_cast<int>(rows), cols, balance);
        in = pre;
      }
      Instruction red = makeInstruction(Opcode::TensorReduce);
      red.ap[0] = chunks == 1 ? y : c == 0 ? acc : part;
      red.ap[1] = in;
      red.enums[0] = static_cast<uint8_t>(alu);
      emitOn(kVector, static_cast<double>(cols), red);
      if (c > 0) {
        Instruction combine = makeInstruction(Opcode::TensorTensor);
        combine.ap[0] = c + 1 == chunks ? y : acc;
        combine.ap[1] = acc;
        combine.ap[2] = part;
        combine.enums[0] = static_cast<uint8_t>(alu);
        emitOn(kVector, 1, combine);
      }
    }
  }
  AccessPattern x = reduce ? AccessPattern{} : fold > 1 ? loadFolded(row0, rows, xBase, slot) : load(xTiles[slot], 0, D);
  switch (s.kind) {
  case RowSpec::Kind::ReduceSum:
  case RowSpec::Kind::ReduceMax:
  case RowSpec::Kind::ReduceMin:
    break;
  case RowSpec::Kind::Softmax:
  case RowSpec::Kind::LogSoftmax: {
    AccessPattern mx = scalarAp(slot, 0, lanes), sum = scalarAp(slot, 1, lanes);
    Instruction red = makeInstruction(Opcode::TensorReduce);
    red.ap[0] = mx;
    red.ap[1] = x;
    red.enums[0] = static_cast<uint8_t>(AluOp::Max);
    emitOn(kVector, d, red);
    if (fold > 1)
      combineAcrossFold(mx, rows, slot, AluOp::Max);
    emitOn(kAny, 1, tensorScalar(mx, mx, AluOp::Mul, -1.0f));
    // e = exp(x - max), sum = sum(e): one ACT instruction.
    AccessPattern e = rowsAp(temps[0], DType::FP32, lanes, width);
    activation(e, x, ActFunc::Exp, {}, mx, sum);
    if (fold > 1)
      combineAcrossFold(sum, rows, slot, AluOp::Add);
    if (s.kind == RowSpec::Kind::Softmax) {
      emitOn(kVector, 1, tensorScalar(sum, sum, AluOp::RDiv, 1.0f));
      Instruction scale = tensorScalar(y, e, AluOp::Mul, 0.0f);
      scale.ap[2] = sum;
      emitOn(kAny, d, scale);
    } else {
      // y = x - (max + log(sum)) = (x + (-max)) - log(sum)
      activation(sum, sum, ActFunc::Log, {}, {}, {});
      Instruction shift = tensorScalar(y, x, AluOp::Add, 0.0f, AluOp::Sub, 0.0f);
      shift.ap[2] = mx;
      shift.ap[3] = sum;
      emitOn(kVector, d, shift);
    }
    break;
  }
  case RowSpec::Kind::LayerNorm:
  case RowSpec::Kind::RmsNorm: {
    AccessPattern rstd = scalarAp(slot, 0, lanes), shift = scalarAp(slot, 1, lanes);
    if (s.kind == RowSpec::Kind::LayerNorm) { // never folded
      bnStats(xTiles[slot], slot, rows, 0, D);
      layerNormScalars(slot, rows);
      rstd = scalarAp(slot, 1, rows);
      shift = scalarAp(slot, 2, rows);
    } else {
      // mean(x^2) by ACT square with a fused sum, then (ms + eps)^-0.5.
      activation(rowsAp(temps[0], DType::FP32, lanes, width), x, ActFunc::Square, {}, {}, rstd);
      if (fold > 1)
        combineAcrossFold(rstd, rows, slot, AluOp::Add);
      rmsScalar(rstd);
    }
    normalize(y, x, rowsAp(temps[0], DType::FP32, lanes, width), rstd, shift, width,
              [&](const HbmView &v, const OnChip &whole, bool) { return rowsAp(whole, v.dtype, lanes, width); });
    break;
  }
  }
  if (fold > 1)
    storeFolded(y, row0, rows, outBase);
  else
    storeY(y, row0, rows, outBase, 0, outCols);
}

// Per-partition partials in `column` ([rows * fold, 1] fp32) combined over
// each row's `fold` partitions, the result written back to all of them:
// transpose to one partition, reduce groups of `fold`, expand each result
// `fold` times (a stride-0 read), transpose back, copy into `column`.
void RowEmitter::combineAcrossFold(const AccessPattern &column, int64_t rows, int slot, AluOp op) {
  const uint32_t R = static_cast<uint32_t>(rows), F = static_cast<uint32_t>(fold), RF = R * F;
  const OnChip &bank = psumBanks[slot], &comb = combTiles[slot];
  Instruction up = makeInstruction(Opcode::Transpose);
  up.ap[0] = onChip(bank, 0, DType::FP32, {Dim{1, RF}}, 1);
  up.ap[1] = column;
  k.emit(EngineId{EngineKind::PE, 0}, up);
  Instruction red = makeInstruction(Opcode::TensorReduce);
  red.ap[0] = onChip(comb, 0, DType::FP32, {Dim{1, R}}, 1);
  red.ap[1] = onChip(bank, 0, DType::FP32, {Dim{static_cast<int32_t>(F), R}, Dim{1, F}}, 1);
  red.enums[0] = static_cast<uint8_t>(op);
  emitOn(kVector, RF, red);
  Instruction expand = makeInstruction(Opcode::TensorCopy);
  expand.ap[0] = onChip(comb, RF * 4, DType::FP32, {Dim{static_cast<int32_t>(F), R}, Dim{1, F}}, 1);
  expand.ap[1] = onChip(comb, 0, DType::FP32, {Dim{1, R}, Dim{0, F}}, 1);
  emitOn(kVector, RF, expand);
  Instruction down = makeInstruction(Opcode::Transpose);
  down.ap[0] = onChip(bank, 1024, DType::FP32, {Dim{1, 1}}, static_cast<int>(RF));
  down.ap[1] = onChip(comb, RF * 4, DType::FP32, {Dim{1, RF}}, 1);
  k.emit(EngineId{EngineKind::PE, 0}, down);
  Instruction back = makeInstruction(Opcode::TensorCopy);
  back.ap[0] = column;
  back.ap[1] = onChip(bank, 1024, DType::FP32, {Dim{1, 1}}, static_cast<int>(RF));
  emitOn(kVector, 1, back);
}

// Folded rows: `rows` rows, each as `fold` partitions of D / fold
// contiguous columns (rows are contiguous in x and out, so one DMA each way).
AccessPattern RowEmitter::loadFolded(const Affine &row0, int64_t rows, int64_t xBase, int slot) {
  const int64_t Dc = D / fold;
  const int r = s.x.rank();
  const int64_t xRow = r >= 2 ? s.x.strides[r - 2] : 0;
  AccessPattern x = rowsAp(xTiles[slot], s.x.dtype, rows * fold, Dc);
  k.emit(loads.next(), dmaCopy(x, hbm(s.x.tensor, (Affine(xBase) + row0 * xRow) * dtypeSize(s.x.dtype), s.x.dtype, Dc,
                                      static_cast<int>(rows * fold), {Dim{1, static_cast<uint32_t>(Dc)}})));
  return x;
}

void RowEmitter::storeFolded(const AccessPattern &y, const Affine &row0, int64_t rows, int64_t outBase) {
  const int64_t Dc = D / fold;
  const int r = s.out.rank();
  const int64_t oRow = r >= 2 ? s.out.strides[r - 2] : 0;
  k.emit(stores.next(), dmaCopy(hbm(s.out.tensor, (Affine(outBase) + row0 * oRow) * dtypeSize(s.out.dtype), s.out.dtype,
                                    Dc, static_cast<int>(rows * fold), {Dim{1, static_cast<uint32_t>(Dc)}}),
                                y));
}

// A row longer than SBUF holds: x streams through in `chunk`-column pieces,
// once per pass. Scalars per row: column 0 the max (negated) or rstd, 1 the
// sum or shift, 2 a chunk's partial result.
void RowEmitter::tileChunked(const Affine &row0, int64_t rows, int64_t xBase, int64_t outBase, int slot) {
  const int64_t chunks = (D + chunk - 1) / chunk;
  const AccessPattern s0 = scalarAp(slot, 0, rows), s1 = scalarAp(slot, 1, rows), part = scalarAp(slot, 2, rows);
  auto forChunks = [&](const std::function<void(int64_t c, int64_t c0, int64_t cols, const AccessPattern &x)> &body) {
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t c0 = c * chunk, cols = std::min(chunk, D - c0);
      body(c, c0, cols, loadX(xTiles[(slot + c) % kSlots], row0, rows, xBase, c0, cols));
    }
  };
  auto yChunk = [&](int64_t c, int64_t cols) { return rowsAp(yTiles[(slot + c) % kSlots], s.out.dtype, rows, cols); };
  auto tempChunk = [&](int64_t cols) { return rowsAp(temps[0], DType::FP32, rows, cols); };
  switch (s.kind) {
  case RowSpec::Kind::Softmax:
  case RowSpec::Kind::LogSoftmax: {
    forChunks([&](int64_t c, int64_t, int64_t cols, const AccessPattern &x) {
      Instruction red = makeInstruction(Opcode::TensorReduce);
      red.ap[0] = c == 0 ? s0 : part;
      red.ap[1] = x;
      red.enums[0] = static_cast<uint8_t>(AluOp::Max);
      emitOn(kVector, static_cast<double>(cols), red);
      if (c > 0)
        combine(s0, part, AluOp::Max);
    });
    emitOn(kAny, 1, tensorScalar(s0, s0, AluOp::Mul, -1.0f));
    forChunks([&](int64_t c, int64_t, int64_t cols, const AccessPattern &x) {
      activation(tempChunk(cols), x, ActFunc::Exp, {}, s0, c == 0 ? s1 : part);
      if (c > 0)
        combine(s1, part, AluOp::Add);
    });
    if (s.kind == RowSpec::Kind::Softmax)
      emitOn(kVector, 1, tensorScalar(s1, s1, AluOp::RDiv, 1.0f));
    else
      activation(s1, s1, ActFunc::Log, {}, {}, {});
    forChunks([&](int64_t c, int64_t c0, int64_t cols, const AccessPattern &x) {
      AccessPattern y = yChunk(c, cols);
      if (s.kind == RowSpec::Kind::Softmax) {
        activation(tempChunk(cols), x, ActFunc::Exp, {}, s0, {});
        Instruction scale = tensorScalar(y, tempChunk(cols), AluOp::Mul, 0.0f);
        scale.ap[2] = s1;
        emitOn(kAny, static_cast<double>(cols), scale);
      } else {
        Instruction shift = tensorScalar(y, x, AluOp::Add, 0.0f, AluOp::Sub, 0.0f);
        shift.ap[2] = s0;
        shift.ap[3] = s1;
        emitOn(kVector, static_cast<double>(cols), shift);
      }
      storeY(y, row0, rows, outBase, c0, cols);
    });
    return;
  }
  case RowSpec::Kind::LayerNorm:
  case RowSpec::Kind::RmsNorm: {
    AccessPattern rstd = s0, shift = s1;
    if (s.kind == RowSpec::Kind::LayerNorm) {
      // bn_stats per bnFree-column group of every chunk (chunk is a multiple
      // of bnFree), one bn_aggr over all groups of the row.
      forChunks([&](int64_t c, int64_t c0, int64_t cols, const AccessPattern &) {
        bnStats(xTiles[(slot + c) % kSlots], slot, rows, c0 / bnFree, cols);
      });
      layerNormScalars(slot, rows);
      rstd = s1;
      shift = part;
    } else {
      forChunks([&](int64_t c, int64_t, int64_t cols, const AccessPattern &x) {
        activation(tempChunk(cols), x, ActFunc::Square, {}, {}, c == 0 ? s0 : part);
        if (c > 0)
          combine(s0, part, AluOp::Add);
      });
      rmsScalar(s0);
    }
    forChunks([&](int64_t c, int64_t c0, int64_t cols, const AccessPattern &x) {
      AccessPattern y = yChunk(c, cols);
      normalize(y, x, tempChunk(cols), rstd, shift, cols, [&](const HbmView &v, const OnChip &, bool beta) {
        return loadParam(v, (beta ? betaChunks : gammaChunks)[(slot + c) % kSlots], rows, c0, cols);
      });
      storeY(y, row0, rows, outBase, c0, cols);
    });
    return;
  }
  default:
    fail("internal: chunked row operation of a reduction");
  }
}

} // namespace

void emitRowOp(ProgramBuilder &pb, const RowSpec &spec, uint32_t loc) {
  const Target &target = pb.target();
  const int cores = target.limits.cores;
  const int64_t P = target.partitions();
  const int r = spec.x.rank();
  const int64_t D = spec.x.shape[r - 1];
  // Rows: every leading dim. Trailing leading dims that step rows at one
  // stride in x and out (contiguous rows) merge into one row dim that tiles;
  // the dims before them are jobs.
  auto mergeable = [](const HbmView &v, int d) { return v.strides[d] == v.strides[d + 1] * v.shape[d + 1]; };
  int firstRowDim = std::max(0, r - 2);
  while (firstRowDim > 0 && mergeable(spec.x, firstRowDim - 1) && mergeable(spec.out, firstRowDim - 1))
    --firstRowDim;
  int64_t innerRows = 1, outer = 1;
  for (int d = firstRowDim; d < r - 1; ++d)
    innerRows *= spec.x.shape[d];
  for (int d = 0; d < firstRowDim; ++d)
    outer *= spec.x.shape[d];
  struct Job {
    int64_t xBase, outBase, row0, rows;
  };
  std::vector<Job> jobs;
  for (int64_t o = 0; o < outer; ++o) {
    int64_t xb = spec.x.offset, ob = spec.out.offset, rem = o;
    for (int d = firstRowDim - 1; d >= 0; --d) {
      xb += (rem % spec.x.shape[d]) * spec.x.strides[d];
      ob += (rem % spec.out.shape[d]) * spec.out.strides[d];
      rem /= spec.x.shape[d];
    }
    jobs.push_back({xb, ob, 0, innerRows});
  }
  // Split rows across cores: by jobs when there are many, else each job's
  // rows over its share of the cores (whole row tiles when every core gets
  // at least one, so fewer rows than that spread over all cores).
  std::vector<std::vector<Job>> perCore(cores);
  if (static_cast<int64_t>(jobs.size()) >= cores) {
    for (int c = 0; c < cores; ++c) {
      auto [j0, j1] = splitRange(static_cast<int64_t>(jobs.size()), cores, c);
      perCore[c].assign(jobs.begin() + j0, jobs.begin() + j1);
    }
  } else {
    int next = 0;
    for (const Job &j : jobs) {
      const int parts = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(cores / static_cast<int>(jobs.size()), innerRows)));
      const int64_t align = innerRows >= parts * P ? P : 1;
      for (int p = 0; p < parts; ++p) {
        auto [a, b] = splitRange(innerRows, parts, p, align);
        if (b > a)
          perCore[next++ % cores].push_back({j.xBase, j.outBase, a, b - a});
      }
    }
  }
  const int64_t es = std::max<int64_t>(4, dtypeSize(spec.x.dtype));
  const bool reduce = isReduction(spec.kind);
  const int tempCount = spec.prologue.ops.empty() ? 1 : 1 + temporariesFor(spec.prologue, {AccessPattern{}}, D);
  // A reduction streams its row through SBUF in chunks; softmax and the
  // norms keep a whole row on chip.
  int64_t chunk = D;
  if (reduce) {
    const int64_t perColumn = kSlots * dtypeSize(spec.x.dtype) + tempCount * 4;
    const int64_t fixed = kSlots * (64 + 64 + 64) + 4096;
    chunk = std::min<int64_t>(D, std::max<int64_t>(1, (target.sbufBytes() - fixed) / perColumn / 64 * 64));
  } else {
    // Bytes per column: x and y slots, temporaries, gamma/beta slots (the
    // same generous bound whether the row is whole or chunked).
    const int64_t perColumn = (2 * kSlots + 2 + 3) * es + 2 * 4;
    const int64_t groups = (D + target.limits.bnStatsFreeMax - 1) / target.limits.bnStatsFreeMax;
    const int64_t fixed = kSlots * (16 + 12 * groups) + 4096;
    if (perColumn * D > target.sbufBytes()) {
      // Stream the row in chunks; LayerNorm's chunks hold whole bn_stats groups.
      const int64_t align = spec.kind == RowSpec::Kind::LayerNorm ? std::max<int64_t>(64, target.limits.bnStatsFreeMax) : 64;
      chunk = (target.sbufBytes() - fixed) / perColumn / align * align;
      if (chunk < align)
        fail("a row of ", D, " elements does not fit SBUF even in chunks (", fixed + perColumn * align,
             " bytes per partition needed, ", target.sbufBytes(), " available)");
    }
  }

  // Few rows: fold each over F partitions (the largest F dividing D with
  // every tile's rows x F within the partitions and the PE array, for the
  // combining transposes, and at least kMinFoldColumns per partition).
  int64_t fold = 1;
  int64_t maxRows = 0;
  for (const auto &jobsOfCore : perCore)
    for (const Job &j : jobsOfCore)
      maxRows = std::max(maxRows, j.rows);
  auto rowsContiguous = [&](const HbmView &v) {
    const int rank = v.rank();
    return v.strides[rank - 1] == 1 && (rank < 2 || v.shape[rank - 2] == 1 || v.strides[rank - 2] == D);
  };
  const bool foldable = (spec.kind == RowSpec::Kind::Softmax || spec.kind == RowSpec::Kind::LogSoftmax ||
                         spec.kind == RowSpec::Kind::RmsNorm) &&
                        spec.prologue.ops.empty() && rowsContiguous(spec.x) && rowsContiguous(spec.out) &&
                        spec.beta.tensor == kNoTensor &&
                        (spec.gamma.tensor == kNoTensor || spec.gamma.strides.back() == 1) && maxRows > 0 &&
                        maxRows * 2 <= P && target.limits.psumBanks >= 1;
  constexpr int64_t kMinFoldColumns = 16;
  if (foldable)
    for (int64_t f = std::min<int64_t>({P, target.limits.peRows, target.limits.peCols}) / maxRows; f >= 2; --f)
      if (D % f == 0 && D / f >= kMinFoldColumns) {
        fold = f;
        break;
      }
  if (fold > 1)
    chunk = D / fold;

  std::vector<CoreKernel> kernels = pb.newKernel(cores);
  for (int c = 0; c < cores; ++c) {
    if (perCore[c].empty())
      continue;
    CoreKernel &k = kernels[c];
    std::vector<QueueRotor> queues = splitQueues(target.limits.dmaQueues, {1, 1});
    RowEmitter e{k, spec, D, chunk, target.limits.bnStatsFreeMax, {}, queues[0], queues[1],
                 {}, {}, {}, {}, {}, {}, 1, {}, {}, {}, {}};
    for (int s = 0; s < kSlots; ++s) {
      e.xTiles.push_back(k.allocSbuf(chunk * dtypeSize(spec.x.dtype)));
      e.yTiles.push_back(k.allocSbuf((reduce ? 1 : chunk) * dtypeSize(spec.out.dtype)));
      if (!reduce && chunk < D && fold == 1) {
        if (spec.gamma.tensor != kNoTensor)
          e.gammaChunks.push_back(k.allocSbuf(chunk * dtypeSize(spec.gamma.dtype)));
        if (spec.beta.tensor != kNoTensor)
          e.betaChunks.push_back(k.allocSbuf(chunk * dtypeSize(spec.beta.dtype)));
      }
      e.small.push_back(k.allocSbuf(reduce ? 16 : 16 + 12 * ((D + e.bnFree - 1) / e.bnFree)));
    }
    for (int t = 0; t < tempCount; ++t)
      e.temps.push_back(k.allocSbuf(chunk * 4));
    auto loadRow = [&](const HbmView &v, OnChip &tile) {
      if (v.tensor == kNoTensor)
        return;
      tile = k.allocSbuf(D * dtypeSize(v.dtype));
      int64_t rows = std::min<int64_t>(P, innerRows);
      k.emit(e.loads.next(),
             dmaCopy(onChip(tile, 0, v.dtype, {Dim{1, static_cast<uint32_t>(D)}}, static_cast<int>(rows)),
                     hbm(v.tensor, v.offset * dtypeSize(v.dtype), v.dtype, 0, static_cast<int>(rows),
                         {Dim{static_cast<int32_t>(v.strides.back()), static_cast<uint32_t>(D)}})));
    };
    if (fold > 1) {
      e.fold = fold;
      for (int s = 0; s < kSlots; ++s) {
        e.combTiles.push_back(k.allocSbuf(2 * maxRows * fold * 4));
        if (s < target.limits.psumBanks)
          e.psumBanks.push_back(k.allocPsumBank());
        else
          e.psumBanks.push_back(e.psumBanks.front());
      }
      if (spec.gamma.tensor != kNoTensor) {
        // gamma folded like a row: partition r * F + f holds columns [f * D/F, (f + 1) * D/F).
        const int64_t Dc = D / fold;
        e.gammaTile = k.allocSbuf(Dc * dtypeSize(spec.gamma.dtype));
        for (int64_t r = 0; r < maxRows; ++r)
          k.emit(e.loads.next(),
                 dmaCopy(onChip(e.gammaTile, 0, spec.gamma.dtype, {Dim{1, static_cast<uint32_t>(Dc)}},
                                static_cast<int>(fold), static_cast<int>(r * fold)),
                         hbm(spec.gamma.tensor, spec.gamma.offset * dtypeSize(spec.gamma.dtype), spec.gamma.dtype, Dc,
                             static_cast<int>(fold), {Dim{1, static_cast<uint32_t>(Dc)}})));
      }
    } else if (reduce || chunk == D) { // chunked rows load gamma and beta per chunk
      loadRow(spec.gamma, e.gammaTile);
      loadRow(spec.beta, e.betaTile);
    }
    for (const Job &j : perCore[c]) {
      const int64_t full = j.rows / P, rest = j.rows % P;
      k.unrolled(full, kSlots, [&](const Affine &t, int slot) { e.tile(Affine(j.row0) + t * P, P, j.xBase, j.outBase, slot); });
      if (rest)
        e.tile(Affine(j.row0 + full * P), rest, j.xBase, j.outBase, static_cast<int>(full % kSlots));
    }
  }
  pb.addKernel(kernels, loc);
}

} // namespace trnx::cg
