// The kernel generators: each turns one graph-level operation on HBM views
// into a kernel (per-core loop trees) of a ProgramBuilder.
#pragma once

#include "compiler/codegen/EwProgram.h"
#include "compiler/codegen/HbmView.h"
#include "compiler/codegen/ProgramBuilder.h"

#include <utility>
#include <vector>

namespace trnx::cg {

// c = epilogue(a @ b): a [..., M, K], b [..., K, N], c [..., M, N]; batch
// dims equal (a zero stride broadcasts). The schedule follows the target's
// dataflow (ws: b held in the array, is: a held, os: outputs held; see
// MatmulKernel.cpp) and its tile limits. The PE multiplies `operandType`
// values (inputs of other dtypes are converted on chip) and accumulates in
// fp32; the epilogue's value 0 is the fp32 accumulator, values 1.. are
// `epilogueInputs` broadcast to c's shape.
struct MatmulSpec {
  HbmView a, b, c;
  DType operandType = DType::BF16;
  EwProgram epilogue;
  std::vector<HbmView> epilogueInputs;
};
void emitMatmul(ProgramBuilder &pb, const MatmulSpec &spec, uint32_t loc);

// dsts[i][c, r] = srcs[i][r, c] for fp8 matrices through the PE (the DMA
// transpose unit takes 2- and 4-byte elements only): srcs are [R, C] views
// with contiguous rows, dsts [C, R] with contiguous rows. emitMatmul uses it
// for fp8 operands stored the other way round.
void emitByteTranspose(ProgramBuilder &pb, const std::vector<HbmView> &srcs, const std::vector<HbmView> &dsts,
                       uint32_t loc);

// MX (OCP microscaling) matmul c = (A * 2^(aScale-127)) @ (B * 2^(bScale-127))
// with one e8m0 scale per 32 values of K, through matmul_mx. The operands come
// as the PE reads them, K-major: aT [K, M/v] (A transposed, as MX weights are
// quantised along K), b [K, N/v], v = values per element (2 for fp4e2m1x2,
// packed along the columns), aScale [K/32, M], bScale [K/32, N]; c [M, N]
// fp32 or bf16. K must be a multiple of 32 (and M, N even for fp4).
struct MxMatmulSpec {
  uint32_t aT = 0, aScale = 0, b = 0, bScale = 0, c = 0;
  // Bytes of each operand's first element in its tensor (scratch-arena views).
  int64_t aTOffset = 0, aScaleOffset = 0, bOffset = 0, bScaleOffset = 0, cOffset = 0;
  // aT is stored tile-major (as emitQuantizeMxTransposed writes it with
  // tilePack = mxKTilePacking): element (k, m) with k = t*kTile + p*pack + j
  // at ((p*T + t)*pack + j)*M + m, so each partition's rows of all k-tiles are
  // one contiguous run; its scales likewise (scale row t*kTile/32 + b at
  // (b*T + t)*M). Needs K a multiple of kTile; K segments read their tiles.
  bool aTiled = false, bTiled = false;
  DType aType = DType::FP8E4M3, bType = DType::FP8E4M3, cType = DType::FP32;
  int64_t m = 0, n = 0, k = 0;
  // K rows per segment at most (0: only as SBUF requires). A K too long for
  // the resident B chunk is split into segments accumulating an fp32 partial
  // product in HBM scratch, as emitMatmul does.
  int64_t maxSegmentK = 0;
  // Internal (set per segment): the first K row, and an fp32 [m, n] tensor
  // added to the product (kNoTensor: none).
  int64_t k0 = 0;
  // Internal: the whole K of the problem (0: k), which lays out tile-major
  // operands (their tiles of all segments interleave per partition).
  int64_t kAll = 0;
  uint32_t addend = 0xffffffff;
  // Internal: c is written transposed ([n, m] in memory: a ws chip computes
  // C^T with the operands' roles swapped).
  bool cTransposed = false;
};
void emitMatmulMx(ProgramBuilder &pb, const MxMatmulSpec &spec, uint32_t loc);
// The MX packing (rows of K per PE row) emitMatmulMx uses for two element
// formats; a k-tile is target.matmulK() times it.
int64_t mxKTilePacking(const Target &target, DType a, DType b);

// MX activation quantisation for emitMatmulMx: x [M, K] (fp32, bf16 or fp16)
// to data [K, M] (type: fp8e4m3 or fp8e5m2, i.e. MXFP8, x transposed) and
// scales [K/32, M] e8m0 (contiguous, at byte offsets of their tensors), by
// quantize_mx (the OCP MX rule).
struct MxQuantizeSpec {
  HbmView x;
  uint32_t data = 0, scales = 0;
  int64_t dataOffset = 0, scalesOffset = 0;
  // With tilePack > 0, data goes tile-major for emitMatmulMx's aTiled/bTiled
  // (k-tiles of target.matmulK() x tilePack rows); K must be a multiple of it
  // and tilePack divide 32.
  int64_t tilePack = 0;
  DType type = DType::FP8E4M3;
};
void emitQuantizeMxTransposed(ProgramBuilder &pb, const MxQuantizeSpec &spec, uint32_t loc);

// out = program(inputs...), inputs broadcast to out's shape.
struct ElementwiseSpec {
  std::vector<HbmView> inputs;
  HbmView out;
  EwProgram program;
};
void emitElementwise(ProgramBuilder &pb, const ElementwiseSpec &spec, uint32_t loc);

// Rank-preserving copy between views of the same shape (transposes, slices,
// concatenation parts, padding interiors, broadcasts) and fills.
void emitCopy(ProgramBuilder &pb, const HbmView &src, const HbmView &dst, uint32_t loc);
// Several (src, dst) copies in one kernel: no chip barrier between them, so
// the destinations must not overlap each other's sources.
void emitCopies(ProgramBuilder &pb, const std::vector<std::pair<HbmView, HbmView>> &copies, uint32_t loc);
void emitFill(ProgramBuilder &pb, const HbmView &dst, float value, uint32_t loc);

// Operations along the last axis of x [rows..., D], one row per partition.
struct RowSpec {
  enum class Kind { ReduceSum, ReduceMax, ReduceMin, Softmax, LogSoftmax, LayerNorm, RmsNorm };
  Kind kind = Kind::ReduceSum;
  HbmView x;            // [..., D]
  HbmView out;          // [..., D] (or [..., 1] for reductions)
  HbmView gamma, beta;  // [D] for norms; tensor == UINT32_MAX when absent
  float epsilon = 1e-5f;
  EwProgram prologue;   // applied to x before a reduction (value 0 = x); identity if empty
};
void emitRowOp(ProgramBuilder &pb, const RowSpec &spec, uint32_t loc);

// out[i..., :] = table[indices[i...], :]: table [V, D], indices int32 [...].
void emitGather(ProgramBuilder &pb, const HbmView &table, const HbmView &indices, const HbmView &out,
                uint32_t loc);

// Fused attention, softmax(scale * q @ kT + causal mask) @ v, per batch
// element b (a KV head): q [B, G*S, Dh] (the G query heads sharing the KV
// head, each S rows), kT [B, Dh, T] (the K-cache layout), v [B, T, Dh], out
// like q. Row r = g*S + s sees key t iff !causal or t <= s + queryOffset.
// The PE multiplies `operandType` values (others are converted on chip),
// accumulating in fp32; the scores never go to HBM (AttentionKernel.cpp).
struct AttentionSpec {
  HbmView q, kT, v, out;
  int64_t group = 1;
  float scale = 1.0f;
  bool causal = false;
  int64_t queryOffset = 0;
  DType operandType = DType::BF16;
};
void emitAttention(ProgramBuilder &pb, const AttentionSpec &spec, uint32_t loc);

constexpr uint32_t kNoTensor = 0xffffffff;

} // namespace trnx::cg
