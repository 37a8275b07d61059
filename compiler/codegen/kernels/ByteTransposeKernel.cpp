// Transposes 1-byte float matrices (fp8) in HBM through the PE. The DMA
// transpose unit takes 2- and 4-byte elements only, and a strided DMA that
// moves one byte per descriptor runs at ~1% of its bandwidth, so a matmul
// whose fp8 operand is stored the other way round (activations [M, K], or
// weights [N, K] read as B = W^T) first gets a K-major copy from here:
// row groups of up to four row tiles (as many as one fp32 PSUM bank holds)
// are loaded with long contiguous runs, each [tile x tile] piece is a PE
// transpose into the bank (exact), the bank is copied back to fp8 in SBUF
// and stored with group-long runs. The tile is what the PE transposes at once
// (the array's rows x columns, swapped on an output-stationary array).
#include "compiler/codegen/kernels/Kernels.h"

#include "compiler/codegen/kernels/KernelSupport.h"
#include "isa/Error.h"

#include <algorithm>

namespace trnx::cg {
namespace {

constexpr int64_t kChunkCols = 2048; // source columns per load

struct Piece {
  size_t matrix;  // index into srcs/dsts
  int64_t row0, rows;
  int64_t col0, cols; // source columns
};

} // namespace

void emitByteTranspose(ProgramBuilder &pb, const std::vector<HbmView> &srcs, const std::vector<HbmView> &dsts,
                       uint32_t loc) {
  if (srcs.empty() || srcs.size() != dsts.size())
    fail("internal: byte transpose needs one destination per source");
  const HbmView &first = srcs[0];
  const DType dt = first.dtype;
  if (dtypeSize(dt) != 1 || !isFloat(dt) || first.rank() != 2 || first.strides[1] != 1)
    fail("internal: byte transpose takes 2-D fp8 views with contiguous rows");
  for (size_t m = 0; m < srcs.size(); ++m)
    if (srcs[m].shape != first.shape || srcs[m].strides[1] != 1 || dsts[m].rank() != 2 ||
        dsts[m].shape[0] != first.shape[1] || dsts[m].shape[1] != first.shape[0] || dsts[m].strides[1] != 1)
      fail("internal: byte transpose views disagree");
  const int64_t R = first.shape[0], C = first.shape[1];
  const Target &target = pb.target();
  const int cores = target.limits.cores;
  // One PE transpose takes [tileRows rows, tileCols columns] (its output has tileCols
  // partitions); a group of row tiles fills one fp32 bank row.
  const bool os = target.dataflow() == Dataflow::OutputStationary;
  const int64_t tileRows = std::min<int64_t>(target.partitions(), os ? target.limits.peCols : target.limits.peRows);
  const int64_t tileCols = std::min<int64_t>(target.partitions(), os ? target.limits.peRows : target.limits.peCols);
  const int64_t groupTiles = std::max<int64_t>(1, std::min<int64_t>(4, target.psumBankColumns() / tileRows));
  // Row groups of every matrix, dealt to the cores in turn; with fewer row
  // groups than cores (a decode activation: a few rows), the columns split
  // too, in whole PE tiles, so every core transposes a share.
  const int64_t rowGroups = static_cast<int64_t>(srcs.size()) * ceilDiv(R, groupTiles * tileRows);
  const int64_t colSplit = std::max<int64_t>(1, std::min(ceilDiv(cores, rowGroups), ceilDiv(C, tileCols)));
  const int64_t pieceCols = ceilDiv(ceilDiv(C, colSplit), tileCols) * tileCols;
  std::vector<std::vector<Piece>> perCore(cores);
  int next = 0;
  for (size_t m = 0; m < srcs.size(); ++m)
    for (int64_t r0 = 0; r0 < R; r0 += groupTiles * tileRows)
      for (int64_t c0 = 0; c0 < C; c0 += pieceCols)
        perCore[next++ % cores].push_back(
            {m, r0, std::min(groupTiles * tileRows, R - r0), c0, std::min(pieceCols, C - c0)});
  const int64_t width = std::min(pieceCols, kChunkCols);

  std::vector<CoreKernel> kernels = pb.newKernel(cores);
  for (int c = 0; c < cores; ++c) {
    if (perCore[c].empty())
      continue;
    CoreKernel &k = kernels[c];
    std::vector<QueueRotor> queues = splitQueues(target.limits.dmaQueues, {1, 1});
    QueueRotor &loads = queues[0], &stores = queues[1];
    std::vector<OnChip> in, out, banks;
    for (int s = 0; s < 2; ++s) {
      in.push_back(k.allocSbuf(groupTiles * width)); // groupTiles row tiles side by side
      out.push_back(k.allocSbuf(groupTiles * tileRows));
      banks.push_back(k.allocPsumBank());
    }
    int slot = 0, piece = 0;
    for (const Piece &p : perCore[c]) {
      const HbmView &src = srcs[p.matrix], &dst = dsts[p.matrix];
      const int64_t tiles = (p.rows + tileRows - 1) / tileRows;
      for (int64_t c0 = p.col0; c0 < p.col0 + p.cols; c0 += width) {
        const int64_t cw = std::min(width, p.col0 + p.cols - c0);
        const OnChip &tileIn = in[piece++ % 2];
        for (int64_t t = 0; t < tiles; ++t) {
          const int64_t rows = std::min(tileRows, p.rows - t * tileRows);
          AccessPattern d = onChip(tileIn, t * width, dt, {Dim{1, static_cast<uint32_t>(cw)}}, static_cast<int>(rows));
          AccessPattern s = hbm(src.tensor, Affine(src.offset + (p.row0 + t * tileRows) * src.strides[0] + c0), dt,
                                src.strides[0], static_cast<int>(rows), {Dim{1, static_cast<uint32_t>(cw)}});
          k.emit(loads.next(), dmaCopy(d, s));
        }
        for (int64_t j0 = 0; j0 < cw; j0 += tileCols) {
          const int64_t cc = std::min(tileCols, cw - j0);
          const OnChip &bank = banks[slot], &tileOut = out[slot];
          slot = 1 - slot;
          for (int64_t t = 0; t < tiles; ++t) {
            const int64_t rows = std::min(tileRows, p.rows - t * tileRows);
            Instruction tr = makeInstruction(Opcode::Transpose);
            tr.ap[0] = onChip(bank, t * tileRows * 4, DType::FP32, {Dim{1, static_cast<uint32_t>(rows)}}, static_cast<int>(cc));
            tr.ap[1] = onChip(tileIn, t * width + j0, dt, {Dim{1, static_cast<uint32_t>(cc)}}, static_cast<int>(rows));
            k.emit(EngineId{EngineKind::PE, 0}, tr);
          }
          const uint32_t n = static_cast<uint32_t>(p.rows);
          Instruction copy = makeInstruction(Opcode::Activation); // fp32 -> fp8, exact for fp8 values
          copy.ap[0] = onChip(tileOut, 0, dt, {Dim{1, n}}, static_cast<int>(cc));
          copy.ap[1] = onChip(bank, 0, DType::FP32, {Dim{1, n}}, static_cast<int>(cc));
          k.emit(EngineId{EngineKind::ACT, 0}, copy);
          // dst rows c0 + j0 .. (source columns), columns row0 .. (source rows).
          AccessPattern o = hbm(dst.tensor, Affine(dst.offset + (c0 + j0) * dst.strides[0] + p.row0), dt,
                                dst.strides[0], static_cast<int>(cc), {Dim{1, n}});
          k.emit(stores.next(), dmaCopy(o, copy.ap[0]));
        }
      }
    }
  }
  pb.addKernel(kernels, loc);
}

} // namespace trnx::cg
