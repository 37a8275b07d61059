// trnx-sim --scalesim CONFIG.cfg --topology FILE.csv: SCALE-Sim's own input
// files (the .cfg and both topology formats), its stall-free compute cycles in
// closed form (SCALE-Sim v3, docs/timing.md), a parity chip on which the
// compiled program's PE busy time equals them, and COMPUTE_REPORT.csv in
// SCALE-Sim's columns.
#pragma once

#include "simulator/config/ChipConfig.h"

#include <cstdint>
#include <string>
#include <vector>

namespace trnx {

// [architecture_presets] of a SCALE-Sim .cfg (keys case-insensitive, ':' or
// '=' separators, as Python's configparser reads them).
struct ScaleSimConfig {
  std::string runName;
  int64_t rows = 0, cols = 0;                         // ArrayHeight, ArrayWidth
  int64_t ifmapSramKb = 0, filterSramKb = 0, ofmapSramKb = 0;
  std::string dataflow;                               // ws | os | is
  std::vector<double> bandwidth;                      // words/cycle (one value, or one per layer)
};

// One topology row. GEMM rows (Layer, M, N, K) become SCALE-Sim's convolution
// [M x K ifmap, 1 x K filter, 1 channel, N filters, stride 1]; conv rows keep
// their fields. Depth-wise rows (name containing "DP") are split per channel
// as SCALE-Sim does.
struct ScaleSimLayer {
  std::string name;
  bool gemm = false;
  int64_t ifmapH = 0, ifmapW = 0, filterH = 0, filterW = 0, channels = 0, filters = 0, strideH = 1, strideW = 1;
  // GEMM view: M = ofmap pixels, N = filters, K = window (filterH x filterW x channels).
  int64_t m() const;
  int64_t n() const { return filters; }
  int64_t k() const { return filterH * filterW * channels; }
};

// SCALE-Sim's compute numbers for one layer, stall-free (COMPUTE_REPORT.csv).
struct ScaleSimCompute {
  int64_t sr = 0, sc = 0, t = 0;   // spatial rows, spatial cols, temporal (calc_spatio_temporal_params)
  int64_t folds = 0;               // ceil(Sr / R) x ceil(Sc / C)
  int64_t demandRows = 0;          // folds x (preload + R + C - 2 + T): SCALE-Sim v2's total cycles
  int64_t totalCycles = 0;         // v3: the last demand row's 0-based service cycle = demandRows - 1
  double overallUtil = 0, mappingEfficiency = 0, computeUtil = 0; // percent
};

ScaleSimConfig readScaleSimConfig(const std::string &path);
std::vector<ScaleSimLayer> readScaleSimTopology(const std::string &path);
ScaleSimCompute scaleSimCompute(const ScaleSimConfig &cfg, const ScaleSimLayer &layer);

// `base` with SCALE-Sim's compute model: cfg's array and dataflow, one core,
// no load overlap, no II floor, one stationary row per cycle, fill/drain
// R + C - 2, no PE control or result latency, and moving_free_max / PSUM wide
// enough for one pass per fold (T vectors).
ChipConfig scaleSimParityChip(const ChipConfig &base, const ScaleSimConfig &cfg, const ScaleSimLayer &layer);

// Python's repr() of a float (SCALE-Sim writes str(x)): shortest round-trip.
std::string pythonFloat(double v);

// COMPUTE_REPORT.csv as SCALE-Sim v3 writes it (stall-free: Stall Cycles 0 and
// "Total Cycles (incl. prefetch)" = Total Cycles, no DRAM prefetch modelled).
std::string scaleSimComputeReport(const std::vector<ScaleSimCompute> &layers);

// trnx-sim --scalesim: parity and realistic runs side by side; returns 0.
int runScaleSim(const std::string &cfgPath, const std::string &topologyPath, const std::string &chipName,
                const std::string &outDir, const std::string &reportPath, bool quiet);
// (COMPUTE_REPORT.csv goes to OUTDIR/run_name/, as SCALE-Sim's -p LOGDIR.)

} // namespace trnx
