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
// "name, M, N, K," row per layer. Throws Error("FILE:LINE: cause") for an
// unreadable file or header; with `badRows`, a bad layer row is appended there
// ("FILE:LINE: cause") and skipped instead of thrown.
std::vector<GemmLayer> readGemmTopology(const std::string &path, std::vector<std::string> *badRows = nullptr);

// The MLIR the layer is compiled from, in the given operand dtype
// (fp32, bf16, fp8e4m3 or fp8e5m2; fp32 accumulation and output). mxfp8 and
// mxfp4 layers have no MLIR (MLIR 19 has no MX types): runGemmLayer builds
// them with the codegen's MX matmul kernel, K padded with zeros up to a
// multiple of the 32-element MX block (zero blocks add nothing to C).
std::string gemmLayerMlir(const GemmLayer &layer, const std::string &dtype);

// Compiles for `chip` and simulates in timing mode; with `traceJson`, also
// records the run and writes its Perfetto trace JSON there. Throws Error
// (the message does not name the layer: the caller does).
GemmLayerResult runGemmLayer(const GemmLayer &layer, const std::string &dtype, const ChipConfig &chip,
                             std::string *traceJson = nullptr);

void printGemmTable(const std::vector<GemmLayerResult> &results, const std::string &dtype, const ChipConfig &chip);
std::string gemmResultsToJson(const std::vector<GemmLayerResult> &results, const std::string &dtype,
                              const ChipConfig &chip);

} // namespace trnx
