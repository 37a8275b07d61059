// Compile speed of trnx's pipeline (Google Benchmark): MLIR text -> Program
// through the same driver as trnx-compile (parse, TOSA -> linalg -> trn
// passes, program emission). Shape-only models: weights are data-less
// function arguments, so nothing is materialised.
//
// The Llama-3-8B inputs are generated at build time by the Python model
// builder (`python3 -m trnx.models emit ...`, see benchmarks/CMakeLists.txt)
// into TRNX_BENCH_MLIR_DIR; a GEMM is generated here. Figures and the
// commands: docs/performance.md ("Compile speed").
#include "trnx/Driver/Compile.h"

#include "isa/Error.h"

#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

namespace {

std::string readFile(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    trnx::fail(path, ": cannot open file (build the benchmark target to generate it)");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string gemmMlir(int64_t n) {
  const std::string t = "tensor<" + std::to_string(n) + "x" + std::to_string(n);
  std::ostringstream os;
  os << "func.func @main(%a: " << t << "xbf16>, %b: " << t << "xbf16>) -> " << t << "xf32> {\n"
     << "  %zero = arith.constant 0.0 : f32\n"
     << "  %e = tensor.empty() : " << t << "xf32>\n"
     << "  %z = linalg.fill ins(%zero : f32) outs(%e : " << t << "xf32>) -> " << t << "xf32>\n"
     << "  %c = linalg.matmul ins(%a, %b : " << t << "xbf16>, " << t << "xbf16>) outs(%z : " << t << "xf32>) -> "
     << t << "xf32>\n"
     << "  return %c : " << t << "xf32>\n}\n";
  return os.str();
}

void compileText(benchmark::State &state, const std::string &text, const std::string &name) {
  trnx::CompileOptions options;
  options.target = "trn3";
  uint64_t instructions = 0;
  for (auto _ : state) {
    try {
      trnx::Program program = trnx::compileSource(text, name, options);
      instructions = program.instructionCount();
    } catch (const trnx::Error &e) {
      state.SkipWithError(e.what());
      return;
    }
  }
  state.counters["instructions"] = static_cast<double>(instructions);
  state.counters["mlir_kib"] = static_cast<double>(text.size()) / 1024;
}

void BM_CompileGemm4096(benchmark::State &state) { compileText(state, gemmMlir(4096), "gemm.mlir"); }

void BM_CompileModelFile(benchmark::State &state, const char *file) {
  std::string path = std::string(TRNX_BENCH_MLIR_DIR) + "/" + file;
  std::string text;
  try {
    text = readFile(path);
  } catch (const trnx::Error &e) {
    state.SkipWithError(e.what());
    return;
  }
  compileText(state, text, file);
}

} // namespace

BENCHMARK(BM_CompileGemm4096)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CompileModelFile, llama3_8b_decode_layer, "llama3_8b_decode_b1_c2048_1layer.mlir")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK_CAPTURE(BM_CompileModelFile, llama3_8b_decode_b64_layer, "llama3_8b_decode_b64_c2048_1layer.mlir")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK_CAPTURE(BM_CompileModelFile, llama3_8b_prefill_layer, "llama3_8b_prefill_b1_s2048_1layer.mlir")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK_CAPTURE(BM_CompileModelFile, llama3_8b_decode_32_layers, "llama3_8b_decode_b1_c2048_32layers.mlir")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK_CAPTURE(BM_CompileModelFile, llama3_8b_prefill_32_layers, "llama3_8b_prefill_b1_s2048_32layers.mlir")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK_MAIN();
