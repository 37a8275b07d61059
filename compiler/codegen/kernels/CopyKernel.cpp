// Copies between views of the same shape, and fills. Transposes, slices,
// concatenation, padding and materialised broadcasts are all copies of
// views. When both sides' innermost dims are contiguous the copy is HBM to
// HBM; otherwise (a transpose) it stages through SBUF so each side is read
// or written in rows, using the DMA transpose unit where it applies. Several
// copies (a concatenation's parts) can share one kernel.
#include "compiler/codegen/kernels/Kernels.h"

#include "compiler/codegen/kernels/KernelSupport.h"
#include "isa/Error.h"

#include <algorithm>

namespace trnx::cg {
namespace {

constexpr int kMaxRows = 65535;          // rows of one operand

// Enumerates index tuples of dims [0, count) of `shape` (compile time).
void forEachOuter(const std::vector<int64_t> &shape, int count, const std::function<void(const std::vector<int64_t> &)> &fn) {
  std::vector<int64_t> idx(count, 0);
  while (true) {
    fn(idx);
    int d = count - 1;
    while (d >= 0 && ++idx[d] == shape[d])
      idx[d--] = 0;
    if (d < 0)
      return;
  }
}

int64_t offsetOf(const HbmView &v, const std::vector<int64_t> &idx) {
  int64_t off = v.offset;
  for (size_t d = 0; d < idx.size(); ++d)
    off += idx[d] * v.strides[d];
  return off;
}

AccessPattern viewAp(const HbmView &v, int64_t elemOffset, int firstDim, int64_t rows, const Affine &rowStart) {
  std::vector<Dim> dims;
  for (int d = firstDim + 1; d < v.rank(); ++d)
    dims.push_back(Dim{static_cast<int32_t>(v.strides[d]), static_cast<uint32_t>(v.shape[d])});
  if (dims.empty())
    dims.push_back(Dim{1, 1});
  const int64_t rowStride = firstDim < v.rank() ? v.strides[firstDim] : 0;
  return hbm(v.tensor, (Affine(elemOffset) + rowStart * rowStride) * dtypeSize(v.dtype), v.dtype, rowStride,
             static_cast<int>(rows), dims);
}

// One kernel that any number of copies append to (a concatenation's parts
// run side by side instead of one kernel and chip barrier each).
struct CopyBatch {
  explicit CopyBatch(ProgramBuilder &pb) : pb(pb), kernels(pb.newKernel(pb.target().limits.cores)) {
    const int cores = pb.target().limits.cores;
    for (int c = 0; c < cores; ++c) {
      direct.emplace_back(0, pb.target().limits.dmaQueues);
      std::vector<QueueRotor> q = splitQueues(pb.target().limits.dmaQueues, {1, 1});
      loads.push_back(q[0]);
      stores.push_back(q[1]);
    }
    tiles.resize(cores);
    slot.assign(cores, 0);
  }
  ProgramBuilder &pb;
  std::vector<CoreKernel> kernels;
  std::vector<QueueRotor> direct, loads, stores;
  std::vector<std::vector<OnChip>> tiles; // staging tiles per core, allocated on first use
  std::vector<int64_t> slot;
  int next = 0; // rotates which core takes a copy's first rows
};

// Direct HBM->HBM copy of collapsed views (rank <= 5 after peeling outer dims).
void directCopy(CopyBatch &b, const HbmView &src, const HbmView &dst) {
  const int cores = b.pb.target().limits.cores;
  const int r = src.rank();
  const int outerDims = std::max(0, r - 5); // row dim + 4 free dims per operand
  forEachOuter(src.shape, outerDims, [&](const std::vector<int64_t> &idx) {
    const int64_t rows = src.shape[outerDims];
    // Rows split over the cores, at most kMaxRows per instruction.
    for (int c = 0; c < cores; ++c) {
      auto [r0, r1] = splitRange(rows, cores, (c + b.next) % cores);
      for (int64_t at = r0; at < r1; at += kMaxRows) {
        const int64_t n = std::min<int64_t>(kMaxRows, r1 - at);
        b.kernels[c].emit(b.direct[c].next(), dmaCopy(viewAp(dst, offsetOf(dst, idx), outerDims, n, Affine(at)),
                                                      viewAp(src, offsetOf(src, idx), outerDims, n, Affine(at))));
      }
    }
    ++b.next;
  });
}

// Through SBUF: the last dim of dst becomes the free dim, the second-last the
// partitions (the target's partition count at a time); src is read with the DMA transpose unit when
// its partition dim is the contiguous one.
void stagedCopy(CopyBatch &b, const HbmView &src, const HbmView &dst) {
  const Target &target = b.pb.target();
  const int cores = target.limits.cores;
  const int64_t P = target.partitions();
  HbmView s = src, d = dst;
  if (s.rank() == 1) { // [n] -> [1, n]
    s.shape.insert(s.shape.begin(), 1);
    s.strides.insert(s.strides.begin(), 0);
    d.shape.insert(d.shape.begin(), 1);
    d.strides.insert(d.strides.begin(), 0);
  }
  const int r = s.rank();
  const int64_t rows = s.shape[r - 2], cols = s.shape[r - 1];
  const int64_t es = dtypeSize(s.dtype);
  const int64_t width = std::min<int64_t>(cols, std::max<int64_t>(1, 8192 / es));
  std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t>> work; // srcOff, dstOff, rowTile, colTile
  const int64_t rowTiles = (rows + P - 1) / P, colTiles = (cols + width - 1) / width;
  forEachOuter(s.shape, r - 2, [&](const std::vector<int64_t> &idx) {
    for (int64_t rt = 0; rt < rowTiles; ++rt)
      for (int64_t ct = 0; ct < colTiles; ++ct)
        work.emplace_back(offsetOf(s, idx), offsetOf(d, idx), rt, ct);
  });
  const bool tu = wantsTransposeUnit(s.strides[r - 2], s.strides[r - 1], s.dtype, width);
  // Three staging tiles per core of 8 KiB per partition, shared by the batch's copies.
  if (b.tiles[0].empty())
    for (int c = 0; c < cores; ++c)
      for (int t = 0; t < 3; ++t)
        b.tiles[c].push_back(b.kernels[c].allocSbuf(8192));
  for (int c = 0; c < cores; ++c) {
    auto [w0, w1] = splitRange(static_cast<int64_t>(work.size()), cores, (c + b.next) % cores);
    if (w1 <= w0)
      continue;
    for (int64_t w = w0; w < w1; ++w) {
      auto [so, dOff, rt, ct] = work[w];
      const int64_t n = std::min<int64_t>(P, rows - rt * P), m = std::min(width, cols - ct * width);
      const OnChip &tile = b.tiles[c][b.slot[c]++ % 3];
      AccessPattern t = onChip(tile, 0, s.dtype, {Dim{1, static_cast<uint32_t>(m)}}, static_cast<int>(n));
      auto piece = [&](const HbmView &v, int64_t base) {
        return hbm(v.tensor, (base + rt * P * v.strides[r - 2] + ct * width * v.strides[r - 1]) * es, v.dtype,
                   v.strides[r - 2], static_cast<int>(n), {Dim{static_cast<int32_t>(v.strides[r - 1]), static_cast<uint32_t>(m)}});
      };
      b.kernels[c].emit(b.loads[c].next(), dmaCopy(t, piece(s, so), tu && m > 1));
      b.kernels[c].emit(b.stores[c].next(), dmaCopy(piece(d, dOff), t));
    }
  }
  ++b.next;
}

void appendCopy(CopyBatch &b, const HbmView &src, const HbmView &dst) {
  if (src.shape != dst.shape || src.dtype != dst.dtype)
    fail("internal: copy between views of different shapes or dtypes");
  HbmView s = src, d = dst;
  collapseTogether({&s, &d});
  if (s.rank() == 1 && s.strides[0] == 1 && d.strides[0] == 1) {
    // Flat and contiguous: rows of 4096 elements, then the remainder.
    const int64_t n = s.shape[0], cols = std::min<int64_t>(n, 4096), rows = n / cols;
    auto fold = [](const HbmView &v, int64_t start, int64_t r, int64_t c) {
      HbmView f = v;
      f.offset += start;
      f.shape = {r, c};
      f.strides = {c, 1};
      return f;
    };
    directCopy(b, fold(s, 0, rows, cols), fold(d, 0, rows, cols));
    if (rows * cols < n)
      directCopy(b, fold(s, rows * cols, 1, n - rows * cols), fold(d, rows * cols, 1, n - rows * cols));
    return;
  }
  // Staging through SBUF lengthens runs only when the two sides' innermost
  // dims differ (a transpose); with both innermost dims contiguous, a direct
  // copy moves the same runs without the round trip.
  const bool sameInnerDim = s.strides.back() == 1 && d.strides.back() == 1;
  if (sameInnerDim || s.rank() == 1)
    directCopy(b, s, d);
  else
    stagedCopy(b, s, d);
}

} // namespace

void emitCopy(ProgramBuilder &pb, const HbmView &src, const HbmView &dst, uint32_t loc) {
  emitCopies(pb, {{src, dst}}, loc);
}

void emitCopies(ProgramBuilder &pb, const std::vector<std::pair<HbmView, HbmView>> &copies, uint32_t loc) {
  CopyBatch batch(pb);
  for (const auto &[src, dst] : copies)
    appendCopy(batch, src, dst);
  pb.addKernel(batch.kernels, loc);
}

void emitFill(ProgramBuilder &pb, const HbmView &dst, float value, uint32_t loc) {
  const Target &target = pb.target();
  const int cores = target.limits.cores;
  const int64_t P = target.partitions();
  HbmView d = dst;
  collapseTogether({&d});
  // Fill one SBUF tile per core, then copy it over the destination in pieces
  // of [rows <= P, cols <= width].
  if (d.rank() == 1) {
    d.shape.insert(d.shape.begin(), 1);
    d.strides.insert(d.strides.begin(), 0);
  }
  const int r = d.rank();
  const int64_t rows = d.shape[r - 2], cols = d.shape[r - 1];
  const int64_t es = dtypeSize(d.dtype);
  const int64_t width = std::min<int64_t>(cols, 4096);
  std::vector<CoreKernel> kernels = pb.newKernel(cores);
  std::vector<std::tuple<int64_t, int64_t, int64_t>> work;
  const int64_t rowTiles = (rows + P - 1) / P, colTiles = (cols + width - 1) / width;
  forEachOuter(d.shape, r - 2, [&](const std::vector<int64_t> &idx) {
    for (int64_t rt = 0; rt < rowTiles; ++rt)
      for (int64_t ct = 0; ct < colTiles; ++ct)
        work.emplace_back(offsetOf(d, idx), rt, ct);
  });
  for (int c = 0; c < cores; ++c) {
    auto [w0, w1] = splitRange(static_cast<int64_t>(work.size()), cores, c);
    if (w1 <= w0)
      continue;
    CoreKernel &k = kernels[c];
    OnChip tile = k.allocSbuf(width * es);
    const int64_t tileRows = std::min<int64_t>(P, rows);
    Instruction set = makeInstruction(Opcode::Memset);
    set.ap[0] = onChip(tile, 0, d.dtype, {Dim{1, static_cast<uint32_t>(width)}}, static_cast<int>(tileRows));
    set.f32[0] = value;
    k.emit(EngineId{EngineKind::DVE, 0}, set);
    QueueRotor q(0, target.limits.dmaQueues);
    for (int64_t w = w0; w < w1; ++w) {
      auto [base, rt, ct] = work[w];
      const int64_t n = std::min<int64_t>(P, rows - rt * P), m = std::min(width, cols - ct * width);
      AccessPattern t = onChip(tile, 0, d.dtype, {Dim{1, static_cast<uint32_t>(m)}}, static_cast<int>(n));
      AccessPattern o = hbm(d.tensor, (base + rt * P * d.strides[r - 2] + ct * width * d.strides[r - 1]) * es, d.dtype,
                            d.strides[r - 2], static_cast<int>(n), {Dim{static_cast<int32_t>(d.strides[r - 1]), static_cast<uint32_t>(m)}});
      k.emit(q.next(), dmaCopy(o, t));
    }
  }
  pb.addKernel(kernels, loc);
}

} // namespace trnx::cg
