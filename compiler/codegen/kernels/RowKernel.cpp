// Operations along the last axis, one row per partition: reductions,
// softmax and log-softmax, LayerNorm and RMSNorm. A row stays in SBUF when
// it fits; a longer row streams through SBUF in chunks (reductions: one pass;
// softmax: max, sum and output passes; norms: statistics and output passes,
// reading x from HBM again each pass). Rows are tiled by 128 and split across
// cores, with tiles rotating through two slots so DMA overlaps compute.
#include "compiler/codegen/kernels/Kernels.h"

#include "compiler/codegen/kernels/KernelSupport.h"
#include "isa/Error.h"

#include <algorithm>
#include <functional>

namespace trnx::cg {
namespace {

constexpr int kSlots = 2;

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
  void tileChunked(const Affine &row0, int64_t rows, int64_t xBase, int64_t outBase, int slot);

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
    emitOn(kVectorEngines, 1, c);
  }
  static constexpr EngineMask kVectorEngines = engineBit(EngineKind::DVE) | engineBit(EngineKind::POOL);
  std::vector<OnChip> gammaChunks, betaChunks; // chunked rows: per-slot chunks of gamma and beta
};

constexpr EngineMask kVector = engineBit(EngineKind::DVE) | engineBit(EngineKind::POOL);
constexpr EngineMask kAny = kVector | engineBit(EngineKind::ACT);

void RowEmitter::tile(const Affine &row0, int64_t rows, int64_t xBase, int64_t outBase, int slot) {
  const bool reduce = isReduction(s.kind);
  const int64_t outCols = reduce ? 1 : D;
  if (!isReduction(s.kind) && chunk < D) {
    tileChunked(row0, rows, xBase, outBase, slot);
    return;
  }
  auto load = [&](const OnChip &tile, int64_t c0, int64_t cols) { return loadX(tile, row0, rows, xBase, c0, cols); };
  AccessPattern y = rowsAp(yTiles[slot], s.out.dtype, rows, outCols);
  const double d = static_cast<double>(D);
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
  AccessPattern x = reduce ? AccessPattern{} : load(xTiles[slot], 0, D);
  switch (s.kind) {
  case RowSpec::Kind::ReduceSum:
  case RowSpec::Kind::ReduceMax:
  case RowSpec::Kind::ReduceMin:
    break;
  case RowSpec::Kind::Softmax:
  case RowSpec::Kind::LogSoftmax: {
    AccessPattern mx = scalarAp(slot, 0, rows), sum = scalarAp(slot, 1, rows);
    Instruction red = makeInstruction(Opcode::TensorReduce);
    red.ap[0] = mx;
    red.ap[1] = x;
    red.enums[0] = static_cast<uint8_t>(AluOp::Max);
    emitOn(kVector, d, red);
    emitOn(kAny, 1, tensorScalar(mx, mx, AluOp::Mul, -1.0f));
    // e = exp(x - max), sum = sum(e): one ACT instruction.
    AccessPattern e = s.kind == RowSpec::Kind::Softmax ? rowsAp(temps[0], DType::FP32, rows, D) : rowsAp(temps[0], DType::FP32, rows, D);
    Instruction ex = makeInstruction(Opcode::Activation);
    ex.ap[0] = e;
    ex.ap[1] = x;
    ex.enums[0] = static_cast<uint8_t>(ActFunc::Exp);
    ex.ap[3] = mx;
    ex.enums[1] = static_cast<uint8_t>(AluOp::Add);
    ex.ap[4] = sum;
    k.emit(EngineId{EngineKind::ACT, 0}, ex);
    if (s.kind == RowSpec::Kind::Softmax) {
      emitOn(kVector, 1, tensorScalar(sum, sum, AluOp::RDiv, 1.0f));
      Instruction scale = tensorScalar(y, e, AluOp::Mul, 0.0f);
      scale.ap[2] = sum;
      emitOn(kAny, d, scale);
    } else {
      // y = x - (max + log(sum)) = (x + (-max)) - log(sum)
      Instruction lg = makeInstruction(Opcode::Activation);
      lg.ap[0] = sum;
      lg.ap[1] = sum;
      lg.enums[0] = static_cast<uint8_t>(ActFunc::Log);
      k.emit(EngineId{EngineKind::ACT, 0}, lg);
      Instruction shift = tensorScalar(y, x, AluOp::Add, 0.0f, AluOp::Sub, 0.0f);
      shift.ap[2] = mx;
      shift.ap[3] = sum;
      emitOn(kVector, d, shift);
    }
    break;
  }
  case RowSpec::Kind::LayerNorm:
  case RowSpec::Kind::RmsNorm: {
    AccessPattern rstd = scalarAp(slot, 0, rows), shift = scalarAp(slot, 1, rows);
    if (s.kind == RowSpec::Kind::LayerNorm) {
      const int64_t groups = (D + bnFree - 1) / bnFree;
      AccessPattern stats = onChip(small[slot], 16, DType::FP32, {Dim{1, static_cast<uint32_t>(3 * groups)}},
                                   static_cast<int>(rows));
      for (int64_t g = 0; g < groups; ++g) {
        const int64_t n = std::min<int64_t>(bnFree, D - g * bnFree);
        Instruction bs = makeInstruction(Opcode::BnStats);
        bs.ap[0] = onChip(small[slot], 16 + g * 12, DType::FP32, {Dim{1, 3}}, static_cast<int>(rows));
        bs.ap[1] = rowsAp(xTiles[slot], s.x.dtype, rows, n, g * bnFree * dtypeSize(s.x.dtype));
        k.emit(EngineId{EngineKind::DVE, 0}, bs);
      }
      Instruction ag = makeInstruction(Opcode::BnAggr);
      AccessPattern meanVar = onChip(small[slot], 0, DType::FP32, {Dim{1, 2}}, static_cast<int>(rows));
      ag.ap[0] = meanVar;
      ag.ap[1] = stats;
      k.emit(EngineId{EngineKind::DVE, 0}, ag);
      // mean at column 0, var at column 1: rstd -> column 1, -mean*rstd -> column 2
      AccessPattern mean = scalarAp(slot, 0, rows), var = scalarAp(slot, 1, rows), nmr = scalarAp(slot, 2, rows);
      emitOn(kVector, 1, tensorScalar(var, var, AluOp::Add, s.epsilon, AluOp::Pow, -0.5f));
      Instruction t = tensorScalar(nmr, mean, AluOp::Mul, 0.0f, AluOp::Mul, -1.0f);
      t.ap[2] = var;
      emitOn(kVector, 1, t);
      rstd = var;
      shift = nmr;
    } else {
      // mean(x^2) by ACT square with a fused sum, then (ms + eps)^-0.5.
      Instruction sq = makeInstruction(Opcode::Activation);
      sq.ap[0] = rowsAp(temps[0], DType::FP32, rows, D);
      sq.ap[1] = x;
      sq.enums[0] = static_cast<uint8_t>(ActFunc::Square);
      sq.enums[1] = static_cast<uint8_t>(AluOp::Add);
      sq.ap[4] = rstd;
      k.emit(EngineId{EngineKind::ACT, 0}, sq);
      emitOn(kVector, 1, tensorScalar(rstd, rstd, AluOp::Mul, 1.0f / static_cast<float>(D), AluOp::Add, s.epsilon));
      emitOn(kVector, 1, tensorScalar(rstd, rstd, AluOp::Pow, -0.5f));
    }
    const bool affine = s.gamma.tensor != kNoTensor || s.beta.tensor != kNoTensor;
    AccessPattern normed = affine ? rowsAp(temps[0], DType::FP32, rows, D) : y;
    Instruction norm = makeInstruction(Opcode::Activation);
    norm.ap[0] = normed;
    norm.ap[1] = x;
    norm.ap[2] = rstd;
    if (s.kind == RowSpec::Kind::LayerNorm)
      norm.ap[3] = shift;
    k.emit(EngineId{EngineKind::ACT, 0}, norm);
    if (affine) {
      AccessPattern cur = normed;
      const bool hasBeta = s.beta.tensor != kNoTensor;
      if (s.gamma.tensor != kNoTensor) {
        Instruction mul = makeInstruction(Opcode::TensorTensor);
        mul.ap[0] = hasBeta ? normed : y;
        mul.ap[1] = cur;
        mul.ap[2] = rowsAp(gammaTile, s.gamma.dtype, rows, D);
        mul.enums[0] = static_cast<uint8_t>(AluOp::Mul);
        emitOn(kVector, 2 * d, mul);
      }
      if (hasBeta) {
        Instruction add = makeInstruction(Opcode::TensorTensor);
        add.ap[0] = y;
        add.ap[1] = cur;
        add.ap[2] = rowsAp(betaTile, s.beta.dtype, rows, D);
        add.enums[0] = static_cast<uint8_t>(AluOp::Add);
        emitOn(kVector, 2 * d, add);
      }
    }
    break;
  }
  }
  storeY(y, row0, rows, outBase, 0, outCols);
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
  // ACT func(x * scale + bias) into dst, optionally summing each row into `sum`.
  auto activation = [&](const AccessPattern &dst, const AccessPattern &x, ActFunc f, const AccessPattern &scale,
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
  };
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
      const int64_t groups = (D + bnFree - 1) / bnFree;
      forChunks([&](int64_t, int64_t c0, int64_t cols, const AccessPattern &) {
        for (int64_t g0 = 0; g0 < cols; g0 += bnFree) {
          const int64_t n = std::min<int64_t>(bnFree, cols - g0), g = (c0 + g0) / bnFree;
          Instruction bs = makeInstruction(Opcode::BnStats);
          bs.ap[0] = onChip(small[slot], 16 + g * 12, DType::FP32, {Dim{1, 3}}, static_cast<int>(rows));
          bs.ap[1] = rowsAp(xTiles[(slot + c0 / chunk) % kSlots], s.x.dtype, rows, n, g0 * dtypeSize(s.x.dtype));
          k.emit(EngineId{EngineKind::DVE, 0}, bs);
        }
      });
      Instruction ag = makeInstruction(Opcode::BnAggr);
      ag.ap[0] = onChip(small[slot], 0, DType::FP32, {Dim{1, 2}}, static_cast<int>(rows));
      ag.ap[1] = onChip(small[slot], 16, DType::FP32, {Dim{1, static_cast<uint32_t>(3 * groups)}}, static_cast<int>(rows));
      k.emit(EngineId{EngineKind::DVE, 0}, ag);
      // mean in column 0, var in column 1 -> rstd in column 1, -mean*rstd in column 2.
      emitOn(kVector, 1, tensorScalar(s1, s1, AluOp::Add, s.epsilon, AluOp::Pow, -0.5f));
      Instruction t = tensorScalar(part, s0, AluOp::Mul, 0.0f, AluOp::Mul, -1.0f);
      t.ap[2] = s1;
      emitOn(kVector, 1, t);
      rstd = s1;
      shift = part;
    } else {
      forChunks([&](int64_t c, int64_t, int64_t cols, const AccessPattern &x) {
        activation(tempChunk(cols), x, ActFunc::Square, {}, {}, c == 0 ? s0 : part);
        if (c > 0)
          combine(s0, part, AluOp::Add);
      });
      emitOn(kVector, 1, tensorScalar(s0, s0, AluOp::Mul, 1.0f / static_cast<float>(D), AluOp::Add, s.epsilon));
      emitOn(kVector, 1, tensorScalar(s0, s0, AluOp::Pow, -0.5f));
    }
    const bool hasGamma = s.gamma.tensor != kNoTensor, hasBeta = s.beta.tensor != kNoTensor;
    forChunks([&](int64_t c, int64_t c0, int64_t cols, const AccessPattern &x) {
      AccessPattern y = yChunk(c, cols);
      AccessPattern normed = hasGamma || hasBeta ? tempChunk(cols) : y;
      activation(normed, x, ActFunc::Identity, rstd, s.kind == RowSpec::Kind::LayerNorm ? shift : AccessPattern{}, {});
      if (hasGamma) {
        Instruction mul = makeInstruction(Opcode::TensorTensor);
        mul.ap[0] = hasBeta ? normed : y;
        mul.ap[1] = normed;
        mul.ap[2] = loadParam(s.gamma, gammaChunks[(slot + c) % kSlots], rows, c0, cols);
        mul.enums[0] = static_cast<uint8_t>(AluOp::Mul);
        emitOn(kVector, 2.0 * static_cast<double>(cols), mul);
      }
      if (hasBeta) {
        Instruction add = makeInstruction(Opcode::TensorTensor);
        add.ap[0] = y;
        add.ap[1] = normed;
        add.ap[2] = loadParam(s.beta, betaChunks[(slot + c) % kSlots], rows, c0, cols);
        add.enums[0] = static_cast<uint8_t>(AluOp::Add);
        emitOn(kVector, 2.0 * static_cast<double>(cols), add);
      }
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
  const int r = spec.x.rank();
  const int64_t D = spec.x.shape[r - 1];
  // Rows: every leading dim; the last leading dim tiles, the others are jobs.
  const int64_t innerRows = r >= 2 ? spec.x.shape[r - 2] : 1;
  int64_t outer = 1;
  for (int d = 0; d < r - 2; ++d)
    outer *= spec.x.shape[d];
  struct Job {
    int64_t xBase, outBase, row0, rows;
  };
  std::vector<Job> jobs;
  for (int64_t o = 0; o < outer; ++o) {
    int64_t xb = spec.x.offset, ob = spec.out.offset, rem = o;
    for (int d = r - 3; d >= 0; --d) {
      xb += (rem % spec.x.shape[d]) * spec.x.strides[d];
      ob += (rem % spec.out.shape[d]) * spec.out.strides[d];
      rem /= spec.x.shape[d];
    }
    jobs.push_back({xb, ob, 0, innerRows});
  }
  // Split rows across cores: by jobs when there are many, else by row tiles.
  std::vector<std::vector<Job>> perCore(cores);
  if (static_cast<int64_t>(jobs.size()) >= cores) {
    for (int c = 0; c < cores; ++c) {
      auto [j0, j1] = splitRange(static_cast<int64_t>(jobs.size()), cores, c);
      perCore[c].assign(jobs.begin() + j0, jobs.begin() + j1);
    }
  } else {
    int next = 0;
    for (const Job &j : jobs) {
      const int parts = std::max<int>(1, std::min<int64_t>(cores / static_cast<int>(jobs.size()), (innerRows + 127) / 128));
      for (int p = 0; p < parts; ++p) {
        auto [a, b] = splitRange(innerRows, parts, p, 128);
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

  std::vector<CoreKernel> kernels = pb.newKernel(cores);
  for (int c = 0; c < cores; ++c) {
    if (perCore[c].empty())
      continue;
    CoreKernel &k = kernels[c];
    RowEmitter e{k, spec, D, chunk, target.limits.bnStatsFreeMax, {},
                 QueueRotor(0, std::min(8, target.limits.dmaQueues)),
                 QueueRotor(std::min(8, target.limits.dmaQueues - 1), std::max(1, target.limits.dmaQueues - 8)),
                 {}, {}, {}, {}, {}, {}, {}, {}};
    for (int s = 0; s < kSlots; ++s) {
      e.xTiles.push_back(k.allocSbuf(chunk * dtypeSize(spec.x.dtype)));
      e.yTiles.push_back(k.allocSbuf((reduce ? 1 : chunk) * dtypeSize(spec.out.dtype)));
      if (!reduce && chunk < D) {
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
      int64_t rows = std::min<int64_t>(128, innerRows);
      k.emit(e.loads.next(),
             dmaCopy(onChip(tile, 0, v.dtype, {Dim{1, static_cast<uint32_t>(D)}}, static_cast<int>(rows)),
                     hbm(v.tensor, v.offset * dtypeSize(v.dtype), v.dtype, 0, static_cast<int>(rows),
                         {Dim{static_cast<int32_t>(v.strides.back()), static_cast<uint32_t>(D)}})));
    };
    if (reduce || chunk == D) { // chunked rows load gamma and beta per chunk
      loadRow(spec.gamma, e.gammaTile);
      loadRow(spec.beta, e.betaTile);
    }
    for (const Job &j : perCore[c]) {
      const int64_t full = j.rows / 128, rest = j.rows % 128;
      k.unrolled(full, kSlots, [&](const Affine &t, int slot) { e.tile(Affine(j.row0) + t * 128, 128, j.xBase, j.outBase, slot); });
      if (rest)
        e.tile(Affine(j.row0 + full * 128), rest, j.xBase, j.outBase, static_cast<int>(full % kSlots));
    }
  }
  pb.addKernel(kernels, loc);
}

} // namespace trnx::cg
