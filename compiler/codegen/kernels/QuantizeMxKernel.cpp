// MX activation quantisation for matmul_mx: x [M, K] (fp32/bf16/fp16) becomes
// x^T quantised to MXFP8, [K, M] K-major elements with [K/32, M] e8m0 scales,
// the layout emitMatmulMx reads. Each partition holds one 32-row block of K
// for a chunk of columns, free order (r, m): the load gathers x's rows through
// the DMA transpose unit, quantize_mx (block_stride = the chunk width) finds
// each column's block scale on the Vector engine, and both results leave in
// contiguous runs. Blocks are split over the cores; tiles double-buffer.
#include "compiler/codegen/kernels/KernelSupport.h"
#include "compiler/codegen/kernels/Kernels.h"

#include "isa/Error.h"

#include <algorithm>

namespace trnx::cg {
namespace {

constexpr int64_t kBlock = 32;      // MX block (values of K per scale)
constexpr int64_t kMaxColumns = 256; // columns per tile: 32 x 256 x (4 + 1) B per partition at most
constexpr int kSlots = 2;

} // namespace

void emitQuantizeMxTransposed(ProgramBuilder &pb, const MxQuantizeSpec &s, uint32_t loc) {
  const Target &target = pb.target();
  if (s.x.rank() != 2)
    fail("internal: MX quantisation of a rank-", s.x.rank(), " view (expects [M, K])");
  const int64_t M = s.x.shape[0], K = s.x.shape[1];
  if (K % kBlock != 0)
    fail("MX quantisation needs K a multiple of ", kBlock, ", got ", K);
  if (!isFP8(s.type) || target.limits.mxPacking(s.type) < 1)
    fail("MX activations of type ", dtypeName(s.type), " are not supported on ", target.name);
  const DType xt = s.x.dtype;
  const int64_t xs = dtypeSize(xt);
  const int64_t rowStride = s.x.strides[0], kStride = s.x.strides[1];
  const int64_t blocks = K / kBlock;
  // Tile-major data (emitMatmulMx's aTiled): one quantisation tile per k-tile.
  const int64_t pack = s.tilePack, kTile = pack > 0 ? target.matmulK() * pack : 0;
  if (pack > 0 && (kBlock % pack != 0 || K % kTile != 0))
    fail("internal: tile-major MX data needs the packing (", pack, ") to divide 32 and K=", K,
         " a multiple of the k-tile ", kTile);
  const int64_t T = pack > 0 ? K / kTile : 0;
  const int64_t rows = pack > 0 ? kTile / kBlock : target.limits.partitions;
  const int64_t mc = std::min(M, kMaxColumns);
  const int cores = static_cast<int>(std::min<int64_t>(target.limits.cores, blocks));
  std::vector<CoreKernel> kernels = pb.newKernel(target.limits.cores);
  for (int c = 0; c < cores; ++c) {
    CoreKernel &k = kernels[c];
    auto [b0, b1] = splitRange(blocks, cores, c, pack > 0 ? rows : 1);
    if (b1 <= b0)
      continue;
    std::vector<QueueRotor> q = splitQueues(target.limits.dmaQueues, {1, 1});
    std::vector<OnChip> in, data, scale;
    for (int i = 0; i < kSlots; ++i) {
      in.push_back(k.allocSbuf(kBlock * mc * xs));
      data.push_back(k.allocSbuf(kBlock * mc));
      scale.push_back(k.allocSbuf(mc));
    }
    // One tile: blocks [b, b + nb) x columns [m0, m0 + w).
    // kt: the k-tile of the blocks (tile-major data: b = kt * rows).
    auto tile = [&](const Affine &b, const Affine &kt, int64_t nb, int64_t m0, int64_t w, int slot) {
      const auto W = static_cast<uint32_t>(w);
      const int P = static_cast<int>(nb);
      // x[m0 + m, 32 (b + p) + r] -> partition p, free (r, m).
      AccessPattern src = hbm(s.x.tensor, (Affine(s.x.offset + m0 * rowStride) + b * (kBlock * kStride)) * xs, xt,
                              kBlock * kStride, P,
                              {Dim{static_cast<int32_t>(kStride), static_cast<uint32_t>(kBlock)},
                               Dim{static_cast<int32_t>(rowStride), W}});
      AccessPattern x = onChip(in[slot], 0, xt, {Dim{1, static_cast<uint32_t>(kBlock * w)}}, P);
      k.emit(q[0].next(), dmaCopy(x, src, w > 1 && (xs == 2 || xs == 4) && rowStride != 1));
      Instruction qz = makeInstruction(Opcode::QuantizeMx);
      qz.ap[0] = onChip(data[slot], 0, s.type, {Dim{1, static_cast<uint32_t>(kBlock * w)}}, P);
      qz.ap[1] = x;
      qz.ap[2] = onChip(scale[slot], 0, DType::E8M0, {Dim{1, W}}, P);
      qz.i32[0] = static_cast<int32_t>(w);
      k.emit(EngineId{EngineKind::DVE, 0}, qz);
      // Element rows 32 (b + p) + r of data [K, M] (tile-major: block p of k-tile
      // b / rows holds PE rows p*32/pack.. of every partition's run); scale row
      // b + p of [K/32, M].
      AccessPattern d =
          pack > 0 ? hbm(s.data, Affine(s.dataOffset + m0) + kt * (pack * M), s.type, kBlock * T * M, P,
                         {Dim{static_cast<int32_t>(T * pack * M), static_cast<uint32_t>(kBlock / pack)},
                          Dim{static_cast<int32_t>(M), static_cast<uint32_t>(pack)}, Dim{1, W}})
                   : hbm(s.data, Affine(s.dataOffset + m0) + b * (kBlock * M), s.type, kBlock * M, P,
                         {Dim{static_cast<int32_t>(M), static_cast<uint32_t>(kBlock)}, Dim{1, W}});
      k.emit(q[1].next(), dmaCopy(d, qz.ap[0]));
      AccessPattern sc = pack > 0 ? hbm(s.scales, Affine(s.scalesOffset + m0) + kt * M, DType::E8M0, T * M, P, {Dim{1, W}})
                                  : hbm(s.scales, Affine(s.scalesOffset + m0) + b * M, DType::E8M0, M, P, {Dim{1, W}});
      k.emit(q[1].next(), dmaCopy(sc, qz.ap[2]));
    };
    const int64_t n = b1 - b0, full = n / rows, rest = n % rows;
    for (int64_t m0 = 0; m0 < M; m0 += mc) {
      const int64_t w = std::min(mc, M - m0);
      k.unrolled(full, kSlots, [&](const Affine &t, int slot) {
        tile(Affine(b0) + t * rows, Affine(b0 / rows) + t, rows, m0, w, slot);
      });
      if (rest)
        tile(Affine(b0 + full * rows), Affine(0), rest, m0, w, static_cast<int>(full % kSlots));
    }
  }
  pb.addKernel(kernels, loc);
}

} // namespace trnx::cg
