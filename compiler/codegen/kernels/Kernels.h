// The kernel generators: each turns one graph-level operation on HBM views
// into a kernel (per-core loop trees) of a ProgramBuilder.
#pragma once

#include "compiler/codegen/EwProgram.h"
#include "compiler/codegen/HbmView.h"
#include "compiler/codegen/ProgramBuilder.h"

#include <vector>

namespace trnx::cg {

// c = epilogue(a @ b): a [..., M, K], b [..., K, N], c [..., M, N]; batch
// dims equal (a zero stride broadcasts). The PE multiplies `operandType`
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

constexpr uint32_t kNoTensor = 0xffffffff;

} // namespace trnx::cg
