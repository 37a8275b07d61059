// Elementwise kernel generator. Operands are collapsed to the fewest dims
// all of them walk together; the last two become [rows, cols] tiles (rows on
// partitions), a flat operand is folded into [P, n/P] (P = the target's
// partitions); outer dims are
// compile-time jobs. Tiles rotate through three slots so loads, compute and
// stores of neighbouring tiles overlap. Inputs broadcast along columns load
// as [rows, 1] per-partition scalars. Many one-tile blocks are spread over
// the cores whole.
#include "compiler/codegen/kernels/Kernels.h"

#include "compiler/codegen/kernels/KernelSupport.h"
#include "isa/Error.h"

#include <algorithm>

namespace trnx::cg {
namespace {

constexpr int kSlots = 3;
// Target bytes per partition of one tile: 8 KiB runs keep DMA descriptors
// ~98% efficient while giving each core enough tiles to pipeline.
constexpr int64_t kTileBytes = 8192;

// One 2-D block of the iteration space: element offsets of each operand and
// the row/column strides and extents.
struct Block {
  std::vector<int64_t> offset; // per operand (inputs..., out)
  std::vector<int64_t> rowStride, colStride;
  int64_t rows, cols;
};

// Splits the collapsed space into 2-D blocks (outer dims enumerated).
std::vector<Block> blocksOf(const std::vector<HbmView> &views, int64_t partitions) {
  const std::vector<int64_t> &shape = views.back().shape;
  const int r = static_cast<int>(shape.size());
  std::vector<Block> out;
  Block proto;
  proto.rowStride.resize(views.size());
  proto.colStride.resize(views.size());
  if (r == 1) {
    // Flat: fold into [P, n/P] when every operand walks it contiguously
    // (or broadcasts a scalar), and the rest as one more row.
    const int64_t n = shape[0];
    bool foldable = n >= 2 * partitions;
    for (const HbmView &v : views)
      foldable = foldable && (v.strides[0] == 1 || v.strides[0] == 0);
    int64_t rows = foldable ? partitions : 1, cols = n / rows;
    Block b = proto;
    b.rows = rows;
    b.cols = cols;
    for (size_t i = 0; i < views.size(); ++i) {
      b.offset.push_back(views[i].offset);
      b.colStride[i] = views[i].strides[0];
      b.rowStride[i] = views[i].strides[0] * cols;
    }
    out.push_back(b);
    if (rows * cols < n) {
      Block rest = proto;
      rest.rows = 1;
      rest.cols = n - rows * cols;
      for (size_t i = 0; i < views.size(); ++i) {
        rest.offset.push_back(views[i].offset + rows * cols * views[i].strides[0]);
        rest.colStride[i] = views[i].strides[0];
        rest.rowStride[i] = 0;
      }
      out.push_back(rest);
    }
    return out;
  }
  int64_t outer = 1;
  for (int d = 0; d < r - 2; ++d)
    outer *= shape[d];
  for (int64_t o = 0; o < outer; ++o) {
    Block b = proto;
    b.rows = shape[r - 2];
    b.cols = shape[r - 1];
    for (size_t i = 0; i < views.size(); ++i) {
      int64_t off = views[i].offset, rem = o;
      for (int d = r - 3; d >= 0; --d) {
        off += (rem % shape[d]) * views[i].strides[d];
        rem /= shape[d];
      }
      b.offset.push_back(off);
      b.rowStride[i] = views[i].strides[r - 2];
      b.colStride[i] = views[i].strides[r - 1];
    }
    out.push_back(b);
  }
  return out;
}

} // namespace

void emitElementwise(ProgramBuilder &pb, const ElementwiseSpec &spec, uint32_t loc) {
  std::vector<HbmView> views = spec.inputs;
  views.push_back(spec.out);
  for (const HbmView &v : views)
    if (v.shape != spec.out.shape)
      fail("internal: elementwise operand not broadcast to the result shape");
  {
    std::vector<HbmView *> ptrs;
    for (HbmView &v : views)
      ptrs.push_back(&v);
    collapseTogether(ptrs);
  }
  const size_t nIn = spec.inputs.size();
  const EwProgram prog = spec.program.ops.empty() ? spec.program : spec.program.simplified();
  const Target &target = pb.target();
  const int64_t P = target.partitions();
  std::vector<Block> blocks = blocksOf(views, P);
  const int cores = target.limits.cores;

  // Column tile width: every slot holds a tile of each full-width input and
  // of the output, plus fp32 temporaries.
  int64_t maxCols = 0;
  for (const Block &b : blocks)
    maxCols = std::max(maxCols, b.cols);
  std::vector<AccessPattern> probe(nIn);
  std::vector<bool> narrowIn(nIn, false);
  for (size_t i = 0; i < nIn; ++i) {
    bool narrow = true;
    for (const Block &b : blocks)
      narrow = narrow && b.colStride[i] == 0 && b.cols > 1;
    narrowIn[i] = narrow;
    probe[i].numDims = 1;
    probe[i].dims[0] = Dim{1, narrow ? 1u : 2u};
  }
  const int temps = temporariesFor(prog, probe, 2);
  int64_t bytesPerCol = dtypeSize(spec.out.dtype) * kSlots + 4 * temps;
  for (size_t i = 0; i < nIn; ++i)
    if (!narrowIn[i])
      bytesPerCol += dtypeSize(spec.inputs[i].dtype) * kSlots;
  const int64_t budget = target.sbufBytes() - 8192;
  int64_t widest = 4;
  for (const HbmView &v : views)
    widest = std::max<int64_t>(widest, dtypeSize(v.dtype));
  int64_t width = std::min<int64_t>({maxCols, kTileBytes / widest, std::max<int64_t>(1, budget / bytesPerCol)});

  // Work units: (block, row tile, column tile); each core takes a contiguous
  // range of row tiles, or of column tiles when there are few rows.
  std::vector<CoreKernel> kernels = pb.newKernel(cores);
  std::vector<QueueRotor> loads, stores;
  std::vector<std::vector<OnChip>> inTiles(cores), outTiles(cores), tempTiles(cores);
  std::vector<EngineBalancer> balance(cores);
  for (int c = 0; c < cores; ++c) {
    std::vector<QueueRotor> q = splitQueues(target.limits.dmaQueues, {1, 1});
    loads.push_back(q[0]);
    stores.push_back(q[1]);
  }
  auto ensureBuffers = [&](int c) {
    if (!outTiles[c].empty())
      return;
    CoreKernel &k = kernels[c];
    for (int s = 0; s < kSlots; ++s) {
      for (size_t i = 0; i < nIn; ++i)
        inTiles[c].push_back(k.allocSbuf(narrowIn[i] ? dtypeSize(spec.inputs[i].dtype)
                                                     : width * dtypeSize(spec.inputs[i].dtype)));
      outTiles[c].push_back(k.allocSbuf(width * dtypeSize(spec.out.dtype)));
    }
    for (int t = 0; t < temps; ++t)
      tempTiles[c].push_back(k.allocSbuf(width * 4));
  };

  auto tile = [&](int c, const Block &b, const Affine &r0, int64_t rows, const Affine &c0, int64_t cols, int slot) {
    CoreKernel &k = kernels[c];
    std::vector<AccessPattern> in;
    for (size_t i = 0; i < nIn; ++i) {
      const HbmView &v = spec.inputs[i];
      const bool narrow = narrowIn[i];
      const uint32_t w = narrow ? 1u : static_cast<uint32_t>(cols);
      Affine elem = Affine(b.offset[i]) + r0 * b.rowStride[i] + c0 * b.colStride[i];
      AccessPattern src = hbm(v.tensor, elem * dtypeSize(v.dtype), v.dtype, b.rowStride[i], static_cast<int>(rows),
                              {Dim{static_cast<int32_t>(b.colStride[i]), w}});
      AccessPattern dst = onChip(inTiles[c][slot * nIn + i], 0, v.dtype, {Dim{1, w}}, static_cast<int>(rows));
      k.emit(loads[c].next(), dmaCopy(dst, src));
      in.push_back(dst);
    }
    AccessPattern o = onChip(outTiles[c][slot], 0, spec.out.dtype, {Dim{1, static_cast<uint32_t>(cols)}},
                             static_cast<int>(rows));
    emitEwProgram(k, prog, in, o, tempTiles[c], static_cast<int>(rows), cols, balance[c]);
    const size_t oi = nIn;
    Affine elem = Affine(b.offset[oi]) + r0 * b.rowStride[oi] + c0 * b.colStride[oi];
    AccessPattern dst = hbm(spec.out.tensor, elem * dtypeSize(spec.out.dtype), spec.out.dtype, b.rowStride[oi],
                            static_cast<int>(rows), {Dim{static_cast<int32_t>(b.colStride[oi]), static_cast<uint32_t>(cols)}});
    k.emit(stores[c].next(), dmaCopy(dst, o));
  };

  // Many blocks of one tile each (a broadcast over a middle dim, e.g. RoPE
  // tables over the heads of each sequence): whole blocks go to cores in
  // contiguous ranges, rotating the slots across blocks so they overlap.
  bool singleTiles = static_cast<int64_t>(blocks.size()) >= cores;
  for (const Block &b : blocks)
    singleTiles = singleTiles && b.rows <= P && b.cols <= width;
  if (singleTiles) {
    for (int c = 0; c < cores; ++c) {
      auto [b0, b1] = splitRange(static_cast<int64_t>(blocks.size()), cores, c);
      if (b1 > b0)
        ensureBuffers(c);
      for (int64_t bi = b0; bi < b1; ++bi)
        tile(c, blocks[bi], Affine(0), blocks[bi].rows, Affine(0), blocks[bi].cols, static_cast<int>((bi - b0) % kSlots));
    }
    pb.addKernel(kernels, loc);
    return;
  }
  for (const Block &b : blocks) {
    const int64_t rowTiles = (b.rows + P - 1) / P, colTiles = (b.cols + width - 1) / width;
    const bool splitRows = rowTiles >= cores || rowTiles >= colTiles;
    for (int c = 0; c < cores; ++c) {
      auto [t0, t1] = splitRange(splitRows ? rowTiles : colTiles, cores, c);
      if (t1 <= t0)
        continue;
      ensureBuffers(c);
      // Tiles along one axis: full ones in a loop (two per iteration), the
      // ragged last one peeled.
      auto along = [&](int64_t first, int64_t count, int64_t tileSize, int64_t extent,
                       const std::function<void(const Affine &, int64_t, int)> &body) {
        int64_t full = count;
        if ((first + count) * tileSize > extent)
          --full; // the last tile is ragged
        kernels[c].unrolled(full, kSlots, [&](const Affine &t, int slot) { body(Affine(first) + t, tileSize, slot); });
        if (full < count)
          body(Affine(first + full), extent - (first + full) * tileSize, static_cast<int>(full % kSlots));
      };
      if (splitRows) {
        along(t0, t1 - t0, P, b.rows, [&](const Affine &rt, int64_t rows, int slot) {
          if (colTiles == 1) {
            tile(c, b, rt * P, rows, Affine(0), b.cols, slot);
            return;
          }
          along(0, colTiles, width, b.cols, [&](const Affine &ct, int64_t cols, int s2) {
            tile(c, b, rt * P, rows, ct * width, cols, s2);
          });
        });
      } else {
        for (int64_t rt = 0; rt < rowTiles; ++rt) {
          const int64_t rows = std::min<int64_t>(P, b.rows - rt * P);
          along(t0, t1 - t0, width, b.cols, [&](const Affine &ct, int64_t cols, int slot) {
            tile(c, b, Affine(rt * P), rows, ct * width, cols, slot);
          });
        }
      }
    }
  }
  pb.addKernel(kernels, loc);
}

} // namespace trnx::cg
