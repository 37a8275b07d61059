// trnx-compile: TOSA or linalg-on-tensors MLIR in, a .tnx program (or its
// assembly, or the IR at a stage) out. The pipeline is a PassManager, so the
// standard MLIR flags (--mlir-print-ir-after-all, --mlir-timing,
// --mlir-print-debuginfo, ...) work.
#include "trnx/Dialect/Trn/Passes.h"
#include "trnx/Driver/Compile.h"

#include "isa/AsmPrinter.h"
#include "isa/Container.h"
#include "isa/Error.h"
#include "isa/Version.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <sstream>

using namespace mlir;
namespace cl = llvm::cl;

namespace {

cl::OptionCategory category("trnx-compile options");
cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input .mlir or .onnx>"), cl::init("-"), cl::cat(category));
cl::opt<std::string> outputFile("o", cl::desc("output file (default: INPUT.tnx for bin, stdout otherwise)"),
                                cl::value_desc("file"), cl::cat(category));
cl::opt<std::string> targetName("target", cl::desc("chip: trn2, trn3, trn4 or a chip YAML file"), cl::init("trn3"),
                                cl::cat(category));
cl::opt<std::string> emitKind("emit", cl::desc("what to write: mlir (linalg input), trn (after trn passes), asm, bin"),
                              cl::init("bin"), cl::cat(category));
cl::opt<std::string> autoCast("auto-cast", cl::desc("none, matmul (default) or all"), cl::init("matmul"),
                              cl::cat(category));
cl::opt<std::string> autoCastType("auto-cast-type", cl::desc("bf16 (default), fp16 or fp8e4m3"), cl::init("bf16"),
                                  cl::cat(category));
cl::list<std::string> shapes("shape", cl::desc("ONNX: the shape of an input with dynamic dims, NAME=D0,D1,..."),
                             cl::value_desc("NAME=D0,D1,..."), cl::cat(category));
cl::opt<bool> weightsAsArgs("weights-as-args",
                            cl::desc("ONNX: initializers become weight tensors without data (shape-only compiles)"),
                            cl::init(false), cl::cat(category));
cl::opt<std::string> entryName("entry", cl::desc("function to compile (default: the only public one, or main)"),
                               cl::cat(category));

// The MLIR flags a user of trnx-compile needs, shown by --help beside trnx's own
// (the other registered LLVM/MLIR options stay accepted but hidden; --help-hidden
// lists them all).
cl::OptionCategory mlirCategory("MLIR options");
const char *const kMlirUserOptions[] = {
    "mlir-print-ir-after-all", "mlir-print-ir-before",      "mlir-print-ir-after", "mlir-print-ir-before-all",
    "mlir-print-debuginfo",    "mlir-timing",               "mlir-pass-statistics", "mlir-elide-elementsattrs-if-larger",
    "mlir-disable-threading",  "mlir-print-ir-module-scope",
};

void showOnlyUserOptions() {
  llvm::StringMap<cl::Option *> &options = cl::getRegisteredOptions();
  for (const char *name : kMlirUserOptions) {
    auto it = options.find(name);
    if (it != options.end())
      it->second->addCategory(mlirCategory);
  }
  cl::HideUnrelatedOptions({&category, &mlirCategory});
}

int fail(const std::string &message) {
  llvm::errs() << trnx::diagnosticLine("error", message) << "\n";
  return 1;
}

std::string defaultOutput(bool text) {
  if (!outputFile.empty())
    return outputFile;
  if (text)
    return "-";
  std::string base = inputFile == "-" ? "out" : inputFile.getValue();
  size_t dot = base.find_last_of('.');
  if (dot != std::string::npos && base.find('/', dot) == std::string::npos)
    base = base.substr(0, dot);
  return base + ".tnx";
}

void writeText(const std::string &path, const std::string &text) {
  std::string message;
  auto output = openOutputFile(path, &message);
  if (!output)
    trnx::fail(path, ": ", message);
  output->os() << text;
  output->keep();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Passes first: --mlir-print-ir-before=<pass> reads the registry when created.
  trnx::trn::registerTrnPasses();
  registerCanonicalizerPass();
  registerCSEPass();
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  showOnlyUserOptions();
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << trnx::toolVersionLine("trnx-compile") << "\nbuilt with LLVM/MLIR " << LLVM_VERSION_STRING << "\n";
  });
  cl::ParseCommandLineOptions(argc, argv, "trnx compiler: TOSA / linalg / ONNX -> Trainium-like program\n");

  if (emitKind != "mlir" && emitKind != "trn" && emitKind != "asm" && emitKind != "bin")
    return fail("--emit must be mlir, trn, asm or bin, not '" + emitKind + "'");
  trnx::CompileOptions options;
  options.target = targetName;
  options.autoCast = autoCast;
  options.autoCastType = autoCastType;
  options.entry = entryName;
  options.weightsAsArguments = weightsAsArgs;
  options.useCommandLineOptions = true;
  try {
    trnx::validateCompileOptions(options);
    for (const std::string &spec : shapes) {
      size_t eq = spec.find('=');
      if (eq == std::string::npos || eq == 0)
        trnx::fail("--shape ", spec, ": expected NAME=D0,D1,...");
      std::vector<int64_t> dims;
      std::stringstream ss(spec.substr(eq + 1));
      std::string d;
      while (std::getline(ss, d, ',')) {
        char *end = nullptr;
        long long v = std::strtoll(d.c_str(), &end, 10);
        if (d.empty() || *end || v <= 0)
          trnx::fail("--shape ", spec, ": '", d, "' is not a positive dimension");
        dims.push_back(v);
      }
      options.shapes[spec.substr(0, eq)] = dims;
    }
    const bool text = emitKind != "bin";
    const std::string out = defaultOutput(text);
    if (emitKind == "mlir" || emitKind == "trn") {
      writeText(out, trnx::lowerToText(inputFile, options,
                                       emitKind == "mlir" ? trnx::CompileStage::Linalg : trnx::CompileStage::Trn));
      return 0;
    }
    trnx::Program program = trnx::compileFile(inputFile, options);
    if (emitKind == "asm") {
      std::ostringstream listing;
      trnx::printProgram(listing, program);
      writeText(out, listing.str());
    } else {
      trnx::writeProgramFile(out, program);
    }
  } catch (const trnx::Error &e) {
    return fail(e.what());
  }
  return 0;
}
