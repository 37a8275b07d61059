// Row gather (embedding lookup): 128 indices at a time land in SBUF, one
// dma_gather pulls the 128 table rows (a chunk of D at a time), and the rows
// are stored. Index tiles are split across cores.
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
  if (V > 65535)
    fail("gather tables of more than 65535 rows are not supported yet (", V, " rows)");
  HbmView o = out.reshaped({n, D});
  const Target &target = pb.target();
  const int cores = target.limits.cores;
  const int64_t es = dtypeSize(table.dtype);
  const int64_t width = std::min<int64_t>(D, std::max<int64_t>(1, 16384 / es));
  const int64_t tiles = (n + 127) / 128;
  std::vector<CoreKernel> kernels = pb.newKernel(cores);
  for (int c = 0; c < cores; ++c) {
    auto [t0, t1] = splitRange(tiles, cores, c);
    if (t1 <= t0)
      continue;
    CoreKernel &k = kernels[c];
    QueueRotor q(0, target.limits.dmaQueues);
    std::vector<OnChip> idxTiles, rowTiles;
    for (int s = 0; s < 2; ++s) {
      idxTiles.push_back(k.allocSbuf(4));
      rowTiles.push_back(k.allocSbuf(width * es));
    }
    for (int64_t t = t0; t < t1; ++t) {
      const int slot = static_cast<int>((t - t0) % 2);
      const int64_t rows = std::min<int64_t>(128, n - t * 128);
      AccessPattern ix = onChip(idxTiles[slot], 0, DType::INT32, {Dim{1, 1}}, static_cast<int>(rows));
      k.emit(q.next(), dmaCopy(ix, hbm(idx.tensor, (idx.offset + t * 128) * 4, DType::INT32, 1, static_cast<int>(rows), {Dim{1, 1}})));
      for (int64_t c0 = 0; c0 < D; c0 += width) {
        const int64_t w = std::min(width, D - c0);
        AccessPattern rowsAp = onChip(rowTiles[slot], 0, table.dtype, {Dim{1, static_cast<uint32_t>(w)}}, static_cast<int>(rows));
        Instruction g = makeInstruction(Opcode::DmaGather);
        g.ap[0] = rowsAp;
        g.ap[1] = hbm(table.tensor, (table.offset + c0 * table.strides[1]) * es, table.dtype, table.strides[0],
                      static_cast<int>(V), {Dim{static_cast<int32_t>(table.strides[1]), static_cast<uint32_t>(w)}});
        g.ap[2] = ix;
        k.emit(q.next(), g);
        k.emit(q.next(), dmaCopy(hbm(o.tensor, (o.offset + t * 128 * D + c0) * es, o.dtype, D, static_cast<int>(rows),
                                     {Dim{1, static_cast<uint32_t>(w)}}),
                                 rowsAp));
      }
    }
  }
  pb.addKernel(kernels, loc);
}

} // namespace trnx::cg
