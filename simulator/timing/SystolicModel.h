// The PE as a parameterised systolic array: cycles of a GEMM (or of one
// matmul instruction) for a dataflow, array size, load/fill/drain model and
// operand mode. With weight_load_overlap off, pe_array.min_ii_cycles 0, no
// moving-size limit, one-row-per-cycle loads and fill_drain_cycles =
// rows + cols - 2, it gives SCALE-Sim v2's compute cycles (docs/timing.md).
#pragma once

#include "isa/Dataflow.h"
#include "simulator/config/ChipConfig.h"

#include <cstdint>

namespace trnx {

// How the operands use the array: fp32 streams at 1/fp32_ii_multiplier;
// fp8 double-row and MX pack 2 or mx*_rate_multiplier K-rows into each PE row.
enum class PeMode : uint8_t { Bf16, Fp32, Fp8DoubleRow, MxFp8, MxFp4 };

// "ws" | "os" | "is"; throws Error for anything else.
Dataflow parseDataflow(const PeArrayConfig &pe);

// SCALE-Sim's spatio-temporal mapping of C[M,N] = A[M,K] x B[K,N]
// (topology_utils.calc_spatio_temporal_params with ifmap = A, filters = B):
//   os: Sr = M, Sc = N, T = K      ws: Sr = K, Sc = N, T = M
//   is: Sr = K, Sc = M, T = N
struct SystolicMapping {
  int64_t spatialRows = 0, spatialCols = 0, temporal = 0;
};
SystolicMapping mapGemm(Dataflow df, int64_t m, int64_t n, int64_t k);

struct SystolicCost {
  double busy_cycles = 0;    // PE occupancy: sum over passes
  double latency_cycles = 0; // after the last pass until its results are in PSUM
  int64_t folds = 0;         // ceil(Sr / rows_eff) x ceil(Sc / cols)
  int64_t passes = 0;        // folds x ceil(T / moving_free_max)
};

// K-rows held per PE row in a mode (1, 2 for double-row, the MX multiplier).
double kRowsPerPeRow(const PeArrayConfig &pe, PeMode mode);

// PE occupancy of one pass streaming `streamed` vectors through the array.
double passCycles(const PeArrayConfig &pe, PeMode mode, double streamed);

// All passes of a GEMM in SCALE-Sim's M, N, K convention on the chip's
// dataflow (or the one given). latency_cycles is the fill/drain still
// outstanding after the last pass (0 without overlap, where every pass
// already paid it).
SystolicCost gemmCost(const PeArrayConfig &pe, int64_t m, int64_t n, int64_t k, PeMode mode = PeMode::Bf16);
SystolicCost gemmCost(const PeArrayConfig &pe, Dataflow df, int64_t m, int64_t n, int64_t k, PeMode mode);

// Cycles from the first load until the last result has drained:
// busy_cycles + latency_cycles of gemmCost.
double gemmComputeCycles(const PeArrayConfig &pe, int64_t m, int64_t n, int64_t k, PeMode mode = PeMode::Bf16);

// One matmul instruction: stationary [K, M] x moving [K, N] holds the
// stationary operand and streams the moving one, on ws and is arrays alike
// (the dataflow only decides which GEMM operand a compiler makes
// stationary): SCALE-Sim's ws fold of C^T[N, M] = moving^T[N, K] x
// stationary[K, M], i.e. Sr = K, Sc = M, T = N.
SystolicCost matmulCost(const PeArrayConfig &pe, int64_t k, int64_t m, int64_t n, PeMode mode);

// One matmul_os instruction on an output-stationary array: a [M, K] and
// b [N, K] stream along K into an [M, N] output held in the array
// (SCALE-Sim's os fold: Sr = M, Sc = N, T = K).
SystolicCost matmulOsCost(const PeArrayConfig &pe, int64_t m, int64_t n, int64_t k, PeMode mode);

// PE transpose of a [P, F] tile (identity matmul): max(P, min(min_ii, F))
// streaming cycles (I0 in trainium.md 2.2), plus load and fill/drain in series
// without overlap.
SystolicCost transposeCost(const PeArrayConfig &pe, int64_t p, int64_t f);

} // namespace trnx
