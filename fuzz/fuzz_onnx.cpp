// Fuzz target: the ONNX importer (input = a serialized ModelProto). Parsing
// and importing into a fresh MLIRContext may fail with a trnx::Error (what
// trnx-compile prints as its one error line); an imported module must pass
// the MLIR verifier, since later passes assume valid IR. The model "lives"
// in an empty temporary folder, so external data never reads a real file.
#include "fuzz/FuzzCheck.h"
#include "isa/Error.h"
#include "trnx/Dialect/Trn/TrnDialect.h"
#include "trnx/Import/OnnxImporter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include <cstdlib>
#include <filesystem>
#include <string>

namespace {
// "$TMPDIR/trnx-fuzz-onnx-XXXXXX/fuzz.onnx", the folder created once, empty,
// and removed at exit.
const std::string &modelPath() {
  static std::string dir;
  static const std::string path = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "trnx-fuzz-onnx-XXXXXX").string();
    FUZZ_CHECK(mkdtemp(tmpl.data()) != nullptr, "cannot create a temporary folder");
    dir = tmpl;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    return dir + "/fuzz.onnx";
  }();
  return path;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = modelPath();
  mlir::DialectRegistry registry;
  registry.insert<mlir::func::FuncDialect, mlir::tosa::TosaDialect, mlir::linalg::LinalgDialect,
                  mlir::tensor::TensorDialect, mlir::arith::ArithDialect, mlir::math::MathDialect,
                  trnx::trn::TrnDialect>();
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> module;
  try {
    module = trnx::importOnnxBytes(
        context, llvm::StringRef(reinterpret_cast<const char *>(data), size), path, trnx::OnnxImportOptions{});
  } catch (const trnx::Error &) {
    return 0;
  }
  FUZZ_CHECK(module, "the importer returned no module and no error");
  if (mlir::failed(mlir::verify(*module))) {
    std::fprintf(stderr, "%s", diagnostics.c_str());
    FUZZ_CHECK(false, "an imported module does not verify");
  }
  return 0;
}
