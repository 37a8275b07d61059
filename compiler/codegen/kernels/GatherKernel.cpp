// Row gather (embedding lookup): one partition's worth of indices at a time
// land in SBUF, one dma_gather pulls those table rows (a chunk of D at a time), and the rows
// are stored. Index tiles are split across cores. A dma_gather table has at
// most 65535 rows (an access pattern's row count), so a longer table (a
// 128k-token vocabulary) is gathered block by block: block b gathers with
// indices shifted by its first row and clamped into it, and a select keeps
// its rows where index >= its first row (later blocks overwrite earlier).
#include "compiler/codegen/kernels/Kernels.h"

#include "compiler/codegen/kernels/KernelSupport.h"
#include "isa/Error.h"

#include <algorithm>

namespace trnx::cg {

void emitGather(ProgramBuilder &pb, const HbmView &table, const HbmView &indices, const HbmView &out, uint32_t loc) {
  if (table.rank() != 2 || indices.dtype != DType::INT32)
    fail("internal: gather needs a 2-D table and int32 indices");
  HbmView idx = indices;
  if (!idx.isContiguous())
    fail("internal: gather indices must be contiguous");
  const int64_t n = idx.elementCount(), V = table.shape[0], D = table.shape[1];
  constexpr int64_t kBlockRows = 65535;
  const int64_t blocks = (V + kBlockRows - 1) / kBlockRows;
  HbmView o = out.reshaped({n, D});
  const Target &target = pb.target();
  const int cores = target.limits.cores;
  const int64_t es = dtypeSize(table.dtype);
  const int64_t width = std::min<int64_t>(D, std::max<int64_t>(1, 16384 / es));
  const int64_t P = target.partitions();
  const int64_t tiles = (n + P - 1) / P;
  std::vector<CoreKernel> kernels = pb.newKernel(cores);
  for (int c = 0; c < cores; ++c) {
    auto [t0, t1] = splitRange(tiles, cores, c);
    if (t1 <= t0)
      continue;
    CoreKernel &k = kernels[c];
    QueueRotor q(0, target.limits.dmaQueues);
    std::vector<OnChip> idxTiles, rowTiles, relTiles, maskTiles, blockTiles;
    for (int s = 0; s < 2; ++s) {
      idxTiles.push_back(k.allocSbuf(4));
      rowTiles.push_back(k.allocSbuf(width * es));
      if (blocks > 1) {
        relTiles.push_back(k.allocSbuf(4 * blocks));
        maskTiles.push_back(k.allocSbuf(4 * blocks));
        blockTiles.push_back(k.allocSbuf(width * es));
      }
    }
    for (int64_t t = t0; t < t1; ++t) {
      const int slot = static_cast<int>((t - t0) % 2);
      const int64_t rows = std::min<int64_t>(P, n - t * P);
      AccessPattern ix = onChip(idxTiles[slot], 0, DType::INT32, {Dim{1, 1}}, static_cast<int>(rows));
      k.emit(q.next(), dmaCopy(ix, hbm(idx.tensor, (idx.offset + t * P) * 4, DType::INT32, 1, static_cast<int>(rows), {Dim{1, 1}})));
      // Per block: the index relative to the block, clamped into it, and
      // (blocks after the first) whether the index reaches the block.
      auto relAp = [&](int64_t b) { return onChip(relTiles[slot], b * 4, DType::INT32, {Dim{1, 1}}, static_cast<int>(rows)); };
      for (int64_t b = 0; b < blocks && blocks > 1; ++b) {
        const int64_t first = b * kBlockRows, count = std::min(kBlockRows, V - first);
        Instruction rel = makeInstruction(Opcode::TensorScalar);
        rel.ap[0] = relAp(b);
        rel.ap[1] = ix;
        rel.enums[0] = static_cast<uint8_t>(AluOp::Sub);
        rel.f32[0] = static_cast<float>(first);
        rel.enums[1] = static_cast<uint8_t>(AluOp::Max);
        rel.f32[1] = 0.0f;
        k.emit(EngineId{EngineKind::DVE, 0}, rel);
        Instruction clamp = makeInstruction(Opcode::TensorScalar);
        clamp.ap[0] = relAp(b);
        clamp.ap[1] = relAp(b);
        clamp.enums[0] = static_cast<uint8_t>(AluOp::Min);
        clamp.f32[0] = static_cast<float>(count - 1);
        k.emit(EngineId{EngineKind::DVE, 0}, clamp);
        if (b > 0) {
          Instruction reach = makeInstruction(Opcode::TensorScalar);
          reach.ap[0] = onChip(maskTiles[slot], b * 4, DType::FP32, {Dim{1, 1}}, static_cast<int>(rows));
          reach.ap[1] = ix;
          reach.enums[0] = static_cast<uint8_t>(AluOp::Ge);
          reach.f32[0] = static_cast<float>(first);
          k.emit(EngineId{EngineKind::DVE, 0}, reach);
        }
      }
      for (int64_t c0 = 0; c0 < D; c0 += width) {
        const int64_t w = std::min(width, D - c0);
        AccessPattern rowsAp = onChip(rowTiles[slot], 0, table.dtype, {Dim{1, static_cast<uint32_t>(w)}}, static_cast<int>(rows));
        for (int64_t b = 0; b < blocks; ++b) {
          const int64_t first = b * kBlockRows, count = std::min(kBlockRows, V - first);
          AccessPattern dst = b == 0 ? rowsAp
                                     : onChip(blockTiles[slot], 0, table.dtype, {Dim{1, static_cast<uint32_t>(w)}},
                                              static_cast<int>(rows));
          Instruction g = makeInstruction(Opcode::DmaGather);
          g.ap[0] = dst;
          g.ap[1] = hbm(table.tensor, (table.offset + first * table.strides[0] + c0 * table.strides[1]) * es,
                        table.dtype, table.strides[0], static_cast<int>(count),
                        {Dim{static_cast<int32_t>(table.strides[1]), static_cast<uint32_t>(w)}});
          g.ap[2] = blocks > 1 ? relAp(b) : ix;
          k.emit(q.next(), g);
          if (b == 0)
            continue;
          Instruction keep = makeInstruction(Opcode::Select);
          keep.ap[0] = rowsAp;
          keep.ap[1] = onChip(maskTiles[slot], b * 4, DType::FP32, {Dim{0, static_cast<uint32_t>(w)}},
                              static_cast<int>(rows));
          keep.ap[2] = dst;
          keep.ap[3] = rowsAp;
          k.emit(EngineId{EngineKind::DVE, 0}, keep);
        }
        k.emit(q.next(), dmaCopy(hbm(o.tensor, (o.offset + t * P * D + c0) * es, o.dtype, D, static_cast<int>(rows),
                                     {Dim{1, static_cast<uint32_t>(w)}}),
                                 rowsAp));
      }
    }
  }
  pb.addKernel(kernels, loc);
}

} // namespace trnx::cg
