// Matmul kernel generator: picks the schedule the chip's dataflow implies
// and the pieces every schedule shares.
//  - is (input stationary): A is held in the array, B streams
//    (MatmulStationary.cpp on C = A B).
//  - ws (weight stationary): B is held, A streams: the same schedules on the
//    transposed problem C^T = B^T A^T, so the array holds B's tiles and the
//    results come out as C^T tiles, stored through the DMA transpose unit.
//    1-byte results (no transpose unit) fall back to the is schedule.
//  - os (output stationary): both operands stream along K into results held
//    in the array (matmul_os, MatmulOs.cpp).
// Work is split across cores by batch, then by N (or M). When K is too long
// for a schedule to keep its resident operand in SBUF, K is split into
// segments run as kernels one after another, accumulating an fp32 partial
// product in HBM scratch through the evacuation epilogue (the last segment
// applies the real epilogue).
#include "compiler/codegen/kernels/MatmulSupport.h"

#include "isa/Error.h"

#include <algorithm>
#include <tuple>

namespace trnx::cg {

std::vector<int64_t> batchOffsets(const HbmView &v, const std::vector<int64_t> &batchShape) {
  int64_t total = 1;
  for (int64_t d : batchShape)
    total *= d;
  std::vector<int64_t> out(total, 0);
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

std::vector<std::vector<MatmulJob>> matmulCoreJobs(const MatmulSpec &spec, int cores, int64_t rowAlign,
                                                   int64_t colAlign, int64_t chunkCols) {
  const int r = spec.c.rank();
  const int64_t M = spec.c.shape[r - 2], N = spec.c.shape[r - 1], K = spec.a.shape[r - 1];
  std::vector<int64_t> batchShape(spec.c.shape.begin(), spec.c.shape.end() - 2);
  std::vector<int64_t> aB = batchOffsets(spec.a, batchShape), bB = batchOffsets(spec.b, batchShape),
                       cB = batchOffsets(spec.c, batchShape);
  std::vector<std::vector<int64_t>> eB;
  for (const HbmView &v : spec.epilogueInputs)
    eB.push_back(batchOffsets(v, batchShape));
  const int64_t batches = static_cast<int64_t>(cB.size());

  std::vector<std::vector<MatmulJob>> jobs(cores);
  auto job = [&](int64_t b, int64_t m0, int64_t m, int64_t n0, int64_t n) {
    MatmulJob j{aB[b], bB[b], cB[b], {}, m0, m, n0, n};
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
    return jobs;
  }
  // Each batch's output over a grid of gm x gn cores: the grid that moves the
  // fewest HBM bytes per core, using as many cores as the shape allows. A
  // core streams its a rows once per resident chunk of its b columns
  // (`chunkCols` wide) and its b columns once.
  const int parts = static_cast<int>(std::max<int64_t>(1, cores / batches));
  const int64_t nAlign = N >= colAlign * parts ? colAlign : std::min(colAlign, rowAlign);
  const int64_t maxGm = ceilDiv(M, rowAlign), maxGn = ceilDiv(N, nAlign);
  const double ea = dtypeSize(spec.a.dtype), eb = dtypeSize(spec.b.dtype);
  int gm = 1, gn = 1, bestCores = 0;
  double bestBytes = 0;
  for (int m = 1; m <= parts; ++m)
    for (int n = 1; m * n <= parts; ++n) {
      if (m > maxGm || n > maxGn)
        continue;
      const int64_t mc = ceilDiv(M, m), nc = ceilDiv(N, n);
      const double bytes = static_cast<double>(mc) * K * ea * static_cast<double>(ceilDiv(nc, chunkCols)) +
                           static_cast<double>(nc) * K * eb;
      // More cores first, then fewer bytes; on a tie the first (fewest row parts) wins.
      if (m * n > bestCores || (m * n == bestCores && bytes < bestBytes)) {
        bestCores = m * n;
        bestBytes = bytes;
        gm = m;
        gn = n;
      }
    }
  int next = 0;
  for (int64_t b = 0; b < batches; ++b)
    for (int i = 0; i < gm; ++i)
      for (int k = 0; k < gn; ++k) {
        auto [m0, m1] = splitRange(M, gm, i, rowAlign);
        auto [n0, n1] = splitRange(N, gn, k, nAlign);
        if (m1 > m0 && n1 > n0)
          jobs[next++ % cores].push_back(job(b, m0, m1 - m0, n0, n1 - n0));
      }
  return jobs;
}

// ---- evacuation -------------------------------------------------------------

MatmulEvacuator::MatmulEvacuator(CoreKernel &k, const MatmulSpec &s, QueueRotor &loadExtra, QueueRotor &store)
    : k_(k), s_(s), loadExtra_(loadExtra), store_(store),
      epilogue_(s.epilogue.ops.empty() ? EwProgram{} : s.epilogue.simplified()) {
  if (epilogue_.ops.empty()) {
    epilogue_.numInputs = 1 + static_cast<int>(s.epilogueInputs.size());
    epilogue_.result = 0;
  }
}

bool MatmulEvacuator::columnConstant(size_t e) const {
  const HbmView &v = s_.epilogueInputs[e];
  return v.strides[v.rank() - 1] == 0;
}

MatmulEvacuator::Tile MatmulEvacuator::allocTile(int64_t cols) {
  Tile t;
  t.out = k_.allocSbuf(cols * dtypeSize(s_.c.dtype));
  for (size_t e = 0; e < s_.epilogueInputs.size(); ++e)
    t.extras.push_back(k_.allocSbuf((columnConstant(e) ? 1 : cols) * dtypeSize(s_.epilogueInputs[e].dtype)));
  tempCols_ = std::max(tempCols_, cols);
  return t;
}

void MatmulEvacuator::evacuate(const MatmulJob &j, const Affine &m0, int64_t m, const Affine &n0, int64_t w,
                               const OnChip &bank, const Tile &tile) {
  evacuateTiles(j, m0, m, 1, 0, n0, w, bank, tile);
}

void MatmulEvacuator::evacuateTiles(const MatmulJob &j, const Affine &m0, int64_t m, int64_t tiles, int64_t rowStep,
                                    const Affine &n0, int64_t w, const OnChip &bank, const Tile &tile) {
  const uint32_t wd = static_cast<uint32_t>(w), cols = static_cast<uint32_t>(tiles * w);
  std::vector<AccessPattern> inputs;
  inputs.push_back(onChip(bank, 0, DType::FP32, {Dim{1, cols}}, static_cast<int>(m)));
  const int r = s_.c.rank();
  // HBM dims of a [m x tiles x w] piece of a view with row/column strides sm, sn.
  auto pieceDims = [&](int64_t sm, int64_t sn, uint32_t width) {
    std::vector<Dim> d;
    if (tiles > 1)
      d.push_back(Dim{static_cast<int32_t>(rowStep * sm), static_cast<uint32_t>(tiles)});
    d.push_back(Dim{static_cast<int32_t>(sn), width});
    return d;
  };
  for (size_t e = 0; e < s_.epilogueInputs.size(); ++e) {
    const HbmView &v = s_.epilogueInputs[e];
    const int64_t sm = v.strides[r - 2], sn = v.strides[r - 1];
    const bool narrow = tiles == 1 && columnConstant(e);
    const uint32_t width = narrow ? 1u : wd;
    Affine elem = Affine(v.offset + j.extraOff[e]) + m0 * sm + n0 * sn;
    AccessPattern src = hbm(v.tensor, elem * dtypeSize(v.dtype), v.dtype, sm, static_cast<int>(m), pieceDims(sm, sn, width));
    AccessPattern d = onChip(tile.extras[e], 0, v.dtype, {Dim{1, narrow ? 1u : cols}}, static_cast<int>(m));
    k_.emit(loadExtra_.next(), dmaCopy(d, src, !narrow && wantsTransposeUnit(sm, sn, v.dtype, w)));
    inputs.push_back(d);
  }
  AccessPattern o = onChip(tile.out, 0, s_.c.dtype, {Dim{1, cols}}, static_cast<int>(m));
  if (temps_.empty())
    for (int t = 0; t < temporariesFor(epilogue_, inputs, tempCols_); ++t)
      temps_.push_back(k_.allocSbuf(tempCols_ * 4));
  if (epilogue_.ops.empty()) {
    // Plain evacuation: ACT reads PSUM and rounds to the output dtype.
    Instruction copy = makeInstruction(Opcode::Activation);
    copy.ap[0] = o;
    copy.ap[1] = inputs[0];
    k_.emit(EngineId{EngineKind::ACT, 0}, copy);
  } else {
    emitEwProgram(k_, epilogue_, inputs, o, temps_, static_cast<int>(m), tiles * w, balance_);
  }
  const int64_t sCM = s_.c.strides[r - 2], sCN = s_.c.strides[r - 1];
  Affine elem = Affine(s_.c.offset + j.cOff) + m0 * sCM + n0 * sCN;
  AccessPattern dst = hbm(s_.c.tensor, elem * dtypeSize(s_.c.dtype), s_.c.dtype, sCM, static_cast<int>(m),
                          pieceDims(sCM, sCN, wd));
  // Rows walking contiguous elements (a transposed c): the DMA transpose unit.
  const int64_t esC = dtypeSize(s_.c.dtype);
  const bool tu = sCM == 1 && m > 1 && (esC == 2 || esC == 4);
  k_.emit(store_.next(), dmaCopy(dst, o, tu));
}

// ---- K segments -------------------------------------------------------------

namespace {

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

// K in segments of whole k-tiles: segment s computes A[:, Ks] B[Ks, :] into
// an fp32 partial product P (scratch HBM): the first writes P, the middle
// ones P += ..., the last writes C = epilogue(... + P).
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

} // namespace

void emitKSegments(ProgramBuilder &pb, const MatmulSpec &spec, uint32_t loc, int64_t kAlign,
                   const WholeKEmitter &wholeK) {
  const int r = spec.c.rank();
  const int64_t K = spec.a.shape[r - 1];
  if (wholeK(pb, spec, loc, false))
    return;

  // Split K: the fewest segments whose kernels all fit. The partial product is contiguous in the
  // layout the schedule computes (C^T rows for a transposed problem).
  HbmView partial = HbmView::contiguous(0, DType::FP32, spec.c.shape);
  const int64_t tiles = ceilDiv(K, kAlign);
  for (int64_t segments = 2; segments <= tiles; ++segments) {
    const int64_t ks = ceilDiv(tiles, segments) * kAlign;
    const int64_t count = ceilDiv(K, ks);
    const int64_t lastK = K - (count - 1) * ks;
    // The first writes the partial product, the middle ones also read it
    // (one more input tile), the last (maybe shorter) applies the epilogue.
    if (!wholeK(pb, kSegment(spec, 0, ks, partial, true, false), loc, true) ||
        (count > 2 && !wholeK(pb, kSegment(spec, ks, ks, partial, false, false), loc, true)) ||
        !wholeK(pb, kSegment(spec, (count - 1) * ks, lastK, partial, false, true), loc, true))
      continue;
    const int64_t bytes = std::max<int64_t>(1, partial.elementCount()) * 4;
    const int64_t offset = pb.allocScratch(bytes);
    partial = HbmView::contiguous(pb.scratchTensor(), DType::FP32, spec.c.shape, offset / 4);
    for (int64_t s = 0; s < count; ++s) {
      const int64_t k0 = s * ks;
      if (!wholeK(pb, kSegment(spec, k0, std::min(ks, K - k0), partial, s == 0, s + 1 == count), loc, false))
        fail("internal: a K segment of the matmul does not fit SBUF");
    }
    pb.releaseScratch(offset);
    return;
  }
  fail("matmul with K=", K, " does not fit SBUF even one ", kAlign, "-row k-tile at a time");
}

namespace {

// ---- operand layouts -----------------------------------------------------------

// C^T = B^T A^T: the ws schedule runs the stationary-array schedules on this.
MatmulSpec transposedProblem(const MatmulSpec &spec) {
  const int r = spec.c.rank();
  std::vector<int64_t> perm(r);
  for (int d = 0; d < r; ++d)
    perm[d] = d;
  std::swap(perm[r - 2], perm[r - 1]);
  MatmulSpec t = spec;
  t.a = spec.b.transposed(perm);
  t.b = spec.a.transposed(perm);
  t.c = spec.c.transposed(perm);
  for (HbmView &v : t.epilogueInputs)
    v = v.transposed(perm);
  return t;
}

bool isByteFloat(DType t) { return dtypeSize(t) == 1 && isFloat(t); }

// A contiguous [batch..., C, R] copy of view v [batch..., R, C] (C contiguous)
// in scratch, through the PE (emitByteTranspose); returns the copy's tensor,
// offset and batch shape/strides. The scratch offset goes to `scratch`.
std::tuple<uint32_t, int64_t, std::vector<int64_t>, std::vector<int64_t>>
copyTransposed(ProgramBuilder &pb, const HbmView &v, const std::vector<int64_t> &batchShape, int64_t R, int64_t C,
               int64_t rowStride, uint32_t loc, std::vector<int64_t> &scratch) {
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
  std::vector<int64_t> strides(batchShape.size());
  int64_t stride = R * C;
  for (int d = static_cast<int>(batchShape.size()) - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= batchShape[d];
  }
  return {t, off, batchShape, strides};
}

// fp8 operands stored the other way round from what a schedule reads would
// load one byte per DMA descriptor: they get a copy in scratch first, through
// the PE. A stationary array reads both operands K-major (A with M
// contiguous, B with N contiguous); an output-stationary one reads both with
// K contiguous. Returns the spec reading the copies.
MatmulSpec withByteLayouts(ProgramBuilder &pb, const MatmulSpec &spec, bool kContiguous, uint32_t loc,
                           std::vector<int64_t> &scratch) {
  const int r = spec.c.rank();
  const int64_t M = spec.c.shape[r - 2], N = spec.c.shape[r - 1], K = spec.a.shape[r - 1];
  std::vector<int64_t> batchShape(spec.c.shape.begin(), spec.c.shape.end() - 2);
  MatmulSpec s = spec;
  // A [.., M, K]: wanted K-major (stride(M) == 1) or K-contiguous (stride(K) == 1).
  const bool aK1 = spec.a.strides[r - 1] == 1, aM1 = spec.a.strides[r - 2] == 1;
  if (isByteFloat(spec.a.dtype) && M > 1 && (kContiguous ? (aM1 && !aK1) : (aK1 && !aM1))) {
    if (kContiguous) { // [K, M] rows (M contiguous) -> [M, K]
      auto [t, off, shape, strides] = copyTransposed(pb, spec.a, batchShape, K, M, spec.a.strides[r - 1], loc, scratch);
      shape.insert(shape.end(), {M, K});
      strides.insert(strides.end(), {K, 1});
      s.a = HbmView{t, off, spec.a.dtype, shape, strides};
    } else { // [M, K] rows (K contiguous) -> [K, M]
      auto [t, off, shape, strides] = copyTransposed(pb, spec.a, batchShape, M, K, spec.a.strides[r - 2], loc, scratch);
      shape.insert(shape.end(), {M, K});
      strides.insert(strides.end(), {1, M}); // (m, k) at k * M + m
      s.a = HbmView{t, off, spec.a.dtype, shape, strides};
    }
  }
  // B [.., K, N]: wanted N contiguous (stationary) or K contiguous (os).
  const bool bN1 = spec.b.strides[r - 1] == 1, bK1 = spec.b.strides[r - 2] == 1;
  if (isByteFloat(spec.b.dtype) && N > 1 && (kContiguous ? (bN1 && !bK1) : (bK1 && !bN1))) {
    if (kContiguous) { // [K, N] rows (N contiguous) -> [N, K]
      auto [t, off, shape, strides] = copyTransposed(pb, spec.b, batchShape, K, N, spec.b.strides[r - 2], loc, scratch);
      shape.insert(shape.end(), {K, N});
      strides.insert(strides.end(), {1, K}); // (k, n) at n * K + k
      s.b = HbmView{t, off, spec.b.dtype, shape, strides};
    } else { // [N, K] rows (K contiguous) -> [K, N]
      auto [t, off, shape, strides] = copyTransposed(pb, spec.b, batchShape, N, K, spec.b.strides[r - 1], loc, scratch);
      shape.insert(shape.end(), {K, N});
      strides.insert(strides.end(), {N, 1});
      s.b = HbmView{t, off, spec.b.dtype, shape, strides};
    }
  }
  return s;
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
  if (target.dataflow() == Dataflow::OutputStationary) {
    emitKSegments(pb, withByteLayouts(pb, spec, true, loc, scratch), loc, target.matmulOsK(), emitOsWholeK);
  } else {
    // A ws chip holds B by solving C^T = B^T A^T, whose store transposes C
    // through the DMA transpose unit (2- and 4-byte elements only). One row
    // of C (a GEMV) is the same bytes as its transpose, so 1-byte results
    // (an fp8 GEMV feeding the next one) hold B too.
    const bool holdB = target.dataflow() == Dataflow::WeightStationary && (dtypeSize(spec.c.dtype) > 1 || M == 1);
    const MatmulSpec oriented = holdB ? transposedProblem(spec) : spec;
    emitKSegments(pb, withByteLayouts(pb, oriented, false, loc, scratch), loc, target.matmulK(),
                  emitStationaryWholeK);
  }
  for (int64_t offset : scratch)
    pb.releaseScratch(offset);
}

} // namespace trnx::cg
