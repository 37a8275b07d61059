// The compiler as a library call: an .mlir/.onnx file or MLIR text in, a
// program (or the IR at a stage) out. trnx-compile, trnx-sim --gemm and the
// Python bindings all go through here, so they compile identically. No MLIR
// headers: callers need not pay for them.
#pragma once

#include "isa/Program.h"
#include "simulator/config/ChipConfig.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace trnx {

struct CompileOptions {
  std::string target = "trn3";            // preset name or chip YAML path
  std::optional<ChipConfig> chip;         // when set, used instead of `target`
  std::string autoCast = "matmul";        // none | matmul | all
  std::string autoCastType = "bf16";      // bf16 | fp16 | fp8e4m3
  std::string entry;                      // function to compile (default: main / the only public one)
  std::map<std::string, std::vector<int64_t>> shapes; // ONNX: values for dynamic dims, by input name
  bool weightsAsArguments = false;        // ONNX: initializers become data-less weight tensors
  bool useCommandLineOptions = false;     // tools: honour --mlir-print-ir-*, --mlir-timing, ...
  bool pythonNames = false;               // errors name options as trnx.compile's keywords, not flags
};

// How far to run the pipeline for lowerToText.
enum class CompileStage {
  Linalg, // after TOSA -> linalg and canonicalization (--emit=mlir)
  Trn,    // after the trn passes (--emit=trn)
};

// All three throw trnx::Error whose message is "LOCATION: cause" (the text a
// tool prints after "error: ").
Program compileFile(const std::string &path, const CompileOptions &options);
Program compileSource(const std::string &mlirText, const std::string &bufferName, const CompileOptions &options);
std::string lowerToText(const std::string &path, const CompileOptions &options, CompileStage stage);

// Checks option values (auto-cast mode/type); throws Error naming the bad one.
void validateCompileOptions(const CompileOptions &options);

} // namespace trnx
