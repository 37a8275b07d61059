// trnx-sim --gemm / --topology: GEMM layers (SCALE-Sim's GEMM topology CSV or
// one M,N,K) compiled with the real compiler (trnx/Driver/Compile.h) and
// simulated in timing mode, with a per-layer table and JSON report.
#pragma once

#include "simulator/config/ChipConfig.h"
#include "simulator/report/Report.h"

#include <cstdint>
#include <string>
#include <vector>

namespace trnx {

struct GemmLayer {
  std::string name;
  int64_t m = 0, n = 0, k = 0; // C[M,N] = A[M,K] x B[K,N]
};

struct GemmLayerResult {
  GemmLayer layer;
  Report report;
  uint64_t instructions = 0;
};

// "M,N,K" (positive integers). Throws Error naming the text.
GemmLayer parseGemmShape(const std::string &text);
// SCALE-Sim GEMM topology: a header line ("Layer, M, N, K,") then one
// "name, M, N, K," row per layer. Throws Error("FILE:LINE: cause").
std::vector<GemmLayer> readGemmTopology(const std::string &path);

// The MLIR the layer is compiled from, in the given operand dtype
// (fp32, bf16, fp8e4m3 or fp8e5m2; fp32 accumulation and output). mxfp8 and
// mxfp4 layers have no MLIR (MLIR 19 has no MX types): runGemmLayer builds
// them with the codegen's MX matmul kernel (K must be a multiple of 32).
std::string gemmLayerMlir(const GemmLayer &layer, const std::string &dtype);

// Compiles for `chip` and simulates in timing mode; with `traceJson`, also
// records the run and writes its Perfetto trace JSON there. Throws Error.
GemmLayerResult runGemmLayer(const GemmLayer &layer, const std::string &dtype, const ChipConfig &chip,
                             std::string *traceJson = nullptr);

void printGemmTable(const std::vector<GemmLayerResult> &results, const std::string &dtype, const ChipConfig &chip);
std::string gemmResultsToJson(const std::vector<GemmLayerResult> &results, const std::string &dtype,
                              const ChipConfig &chip);

} // namespace trnx
