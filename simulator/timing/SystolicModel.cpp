// Systolic-array cycle model. The per-fold formulas come from SCALE-Sim v2's
// demand matrices (scalesim/compute/systolic_compute_{ws,os,is}.py); a fold's
// cycles are the rows of its demand matrix:
//   ws: prefix R (weight load) + T + suffix C-1, skewed (+R-1) = 2R + C + T - 2
//   is: R (input load) + suffix R+C+T-2, no skew              = 2R + C + T - 2
//   os: T + suffix C-1, skewed (+R-1)                          = R + C + T - 2
// i.e. preload (R for ws/is, 0 for os) + fill/drain (R+C-2) + T, and
// folds = ceil(Sr/R) x ceil(Sc/C). See docs/timing.md.
#include "simulator/timing/SystolicModel.h"

#include "isa/Error.h"

#include <algorithm>
#include <cmath>

namespace trnx {
namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Cycles to shift the stationary operand (ws: weights, is: inputs) into the
// array before a pass; output-stationary streams both operands. K-rows packed
// into one PE row (double-row, x4-packed MX, G2/G3) load together.
double preloadCycles(const PeArrayConfig &pe, Dataflow df) {
  if (df == Dataflow::OutputStationary)
    return 0;
  return pe.rows / pe.weight_load_rows_per_cycle;
}

double passCyclesFor(const PeArrayConfig &pe, Dataflow df, PeMode mode, double streamed) {
  const double stream =
      std::max(pe.min_ii_cycles, streamed) * (mode == PeMode::Fp32 ? pe.fp32_ii_multiplier : 1.0);
  const double preload = preloadCycles(pe, df);
  if (pe.weight_load_overlap)
    return std::max(stream, preload); // the next load hides under this stream
  return preload + pe.fill_drain_cycles + stream;
}

} // namespace

Dataflow parseDataflow(const PeArrayConfig &pe) {
  if (std::optional<Dataflow> df = parseDataflowName(pe.dataflow))
    return *df;
  fail("pe_array.dataflow must be ws, os or is, not '", pe.dataflow, "'");
}

SystolicMapping mapGemm(Dataflow df, int64_t m, int64_t n, int64_t k) {
  switch (df) {
  case Dataflow::OutputStationary: return {m, n, k};
  case Dataflow::WeightStationary: return {k, n, m};
  case Dataflow::InputStationary: return {k, m, n};
  }
  return {};
}

double kRowsPerPeRow(const PeArrayConfig &pe, PeMode mode) {
  switch (mode) {
  case PeMode::Fp8DoubleRow: return 2;
  case PeMode::MxFp8: return pe.mxfp8_rate_multiplier;
  case PeMode::MxFp4: return pe.mxfp4_rate_multiplier;
  default: return 1;
  }
}

double passCycles(const PeArrayConfig &pe, PeMode mode, double streamed) {
  return passCyclesFor(pe, parseDataflow(pe), mode, streamed);
}

SystolicCost gemmCost(const PeArrayConfig &pe, int64_t m, int64_t n, int64_t k, PeMode mode) {
  return gemmCost(pe, parseDataflow(pe), m, n, k, mode);
}

SystolicCost gemmCost(const PeArrayConfig &pe, Dataflow df, int64_t m, int64_t n, int64_t k, PeMode mode) {
  SystolicCost cost;
  const double packing = kRowsPerPeRow(pe, mode);
  if (m <= 0 || n <= 0 || k <= 0)
    return cost;
  if (!(packing >= 1))
    fail("the PE array of this chip has no ", mode == PeMode::MxFp4 ? "MXFP4" : "MXFP8", " mode");
  const int64_t pack = static_cast<int64_t>(packing);
  SystolicMapping map = mapGemm(df, m, n, k);
  int64_t rowsEff = pe.rows;
  if (df == Dataflow::OutputStationary)
    map.temporal = ceilDiv(map.temporal, pack); // K streams: `pack` K-rows per cycle
  else
    rowsEff *= pack; // K on the array rows: each PE row holds `pack` K-rows
  cost.folds = ceilDiv(map.spatialRows, rowsEff) * ceilDiv(map.spatialCols, pe.cols);
  // A pass streams at most moving_free_max vectors (one PSUM bank of results).
  const int64_t limit = std::max<int64_t>(1, pe.moving_free_max);
  const int64_t full = map.temporal / limit, rest = map.temporal % limit;
  double perFold = full * passCyclesFor(pe, df, mode, static_cast<double>(limit));
  if (rest)
    perFold += passCyclesFor(pe, df, mode, static_cast<double>(rest));
  cost.passes = cost.folds * (full + (rest ? 1 : 0));
  cost.busy_cycles = static_cast<double>(cost.folds) * perFold;
  cost.latency_cycles = pe.weight_load_overlap ? pe.fill_drain_cycles : 0;
  return cost;
}

double gemmComputeCycles(const PeArrayConfig &pe, int64_t m, int64_t n, int64_t k, PeMode mode) {
  SystolicCost c = gemmCost(pe, m, n, k, mode);
  return c.busy_cycles + c.latency_cycles;
}

SystolicCost matmulCost(const PeArrayConfig &pe, int64_t k, int64_t m, int64_t n, PeMode mode) {
  return gemmCost(pe, Dataflow::WeightStationary, /*m=*/n, /*n=*/m, k, mode);
}

SystolicCost matmulOsCost(const PeArrayConfig &pe, int64_t m, int64_t n, int64_t k, PeMode mode) {
  return gemmCost(pe, Dataflow::OutputStationary, m, n, k, mode);
}

SystolicCost transposeCost(const PeArrayConfig &pe, int64_t p, int64_t f) {
  SystolicCost cost;
  const Dataflow df = parseDataflow(pe);
  const double fp = static_cast<double>(f), pp = static_cast<double>(p);
  const double stream = std::max(pp, std::min(pe.min_ii_cycles, fp));
  cost.folds = cost.passes = 1;
  if (pe.weight_load_overlap) {
    cost.busy_cycles = stream; // I0's measured cost: the identity load is hidden
    cost.latency_cycles = pe.fill_drain_cycles;
  } else {
    cost.busy_cycles = preloadCycles(pe, df) + pe.fill_drain_cycles + stream;
  }
  return cost;
}

} // namespace trnx
