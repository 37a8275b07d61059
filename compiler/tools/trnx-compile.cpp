// trnx-compile: TOSA or linalg-on-tensors MLIR in, a .tnx program (or its
// assembly, or the IR at a stage) out. The pipeline is a PassManager, so the
// standard MLIR flags (--mlir-print-ir-after-all, --mlir-timing,
// --mlir-print-debuginfo, ...) work.
#include "trnx/Dialect/Trn/Passes.h"
#include "trnx/Import/OnnxImporter.h"
#include "trnx/Target/EmitProgram.h"

#include "isa/AsmPrinter.h"
#include "isa/Container.h"
#include "isa/Error.h"
#include "simulator/config/ConfigLoader.h"

#include "mlir/Conversion/TosaToArith/TosaToArith.h"
#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Conversion/TosaToTensor/TosaToTensor.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <fstream>
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

// One "error: LOCATION: message" line per error, as every trnx tool reports.
std::string locationText(Location loc) {
  std::string out;
  std::function<void(Location)> visit = [&](Location l) {
    if (!out.empty())
      return;
    if (auto file = llvm::dyn_cast<FileLineColLoc>(l)) {
      out = file.getFilename().str() + ":" + std::to_string(file.getLine()) + ":" + std::to_string(file.getColumn());
    } else if (auto name = llvm::dyn_cast<NameLoc>(l)) {
      visit(name.getChildLoc());
    } else if (auto fused = llvm::dyn_cast<FusedLoc>(l)) {
      for (Location inner : fused.getLocations())
        visit(inner);
    } else if (auto call = llvm::dyn_cast<CallSiteLoc>(l)) {
      visit(call.getCallee());
    }
  };
  visit(loc);
  return out;
}

int fail(const std::string &message) {
  llvm::errs() << "error: " << message << "\n";
  return 1;
}

func::FuncOp findEntry(ModuleOp module) {
  func::FuncOp chosen;
  int publicCount = 0;
  for (auto f : module.getOps<func::FuncOp>()) {
    if (f.isDeclaration())
      continue;
    if (!entryName.empty()) {
      if (f.getName() == entryName)
        return f;
      continue;
    }
    if (f.getName() == "main")
      return f;
    if (f.isPublic()) {
      chosen = f;
      ++publicCount;
    }
  }
  return publicCount == 1 ? chosen : func::FuncOp();
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
  cl::ParseCommandLineOptions(argc, argv, "trnx compiler: TOSA / linalg MLIR -> Trainium-like program\n");

  if (emitKind != "mlir" && emitKind != "trn" && emitKind != "asm" && emitKind != "bin")
    return fail("--emit must be mlir, trn, asm or bin, not '" + emitKind + "'");
  if (autoCast != "none" && autoCast != "matmul" && autoCast != "all")
    return fail("--auto-cast must be none, matmul or all, not '" + autoCast + "'");
  if (autoCastType != "bf16" && autoCastType != "fp16" && autoCastType != "fp8e4m3")
    return fail("--auto-cast-type must be bf16, fp16 or fp8e4m3, not '" + autoCastType + "'");

  trnx::cg::Target target;
  try {
    trnx::ChipConfig chip = trnx::loadChip(targetName);
    target.name = chip.name;
    target.limits = chip.limits();
  } catch (const trnx::Error &e) {
    return fail(e.what());
  }

  DialectRegistry registry;
  registry.insert<func::FuncDialect, tosa::TosaDialect, linalg::LinalgDialect, tensor::TensorDialect,
                  arith::ArithDialect, math::MathDialect, bufferization::BufferizationDialect,
                  trnx::trn::TrnDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  bool reported = false;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    if (diag.getSeverity() != DiagnosticSeverity::Error || reported)
      return success();
    reported = true;
    std::string where = locationText(diag.getLocation());
    llvm::errs() << "error: " << (where.empty() ? "" : where + ": ") << diag.str() << "\n";
    return success();
  });

  std::string errorMessage;
  OwningOpRef<ModuleOp> module;
  llvm::SourceMgr sourceMgr;
  const bool onnxInput = llvm::StringRef(inputFile).ends_with(".onnx");
  if (onnxInput) {
    trnx::OnnxImportOptions options;
    options.weightsAsArguments = weightsAsArgs;
    for (const std::string &spec : shapes) {
      size_t eq = spec.find('=');
      if (eq == std::string::npos || eq == 0)
        return fail("--shape " + spec + ": expected NAME=D0,D1,...");
      std::vector<int64_t> dims;
      std::stringstream ss(spec.substr(eq + 1));
      std::string d;
      while (std::getline(ss, d, ',')) {
        char *end = nullptr;
        long long v = std::strtoll(d.c_str(), &end, 10);
        if (d.empty() || *end || v <= 0)
          return fail("--shape " + spec + ": '" + d + "' is not a positive dimension");
        dims.push_back(v);
      }
      options.shapes[spec.substr(0, eq)] = dims;
    }
    module = trnx::importOnnx(context, inputFile, options);
    if (!module)
      return 1; // the importer reported the error
  } else {
    if (!shapes.empty())
      return fail("--shape applies to ONNX inputs only");
    auto file = openInputFile(inputFile, &errorMessage);
    if (!file)
      return fail(inputFile + ": " + errorMessage);
    sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    module = parseSourceFile<ModuleOp>(sourceMgr, &context);
    if (!module)
      return 1; // the parser reported the error
  }
  func::FuncOp entry = findEntry(*module);
  if (!entry)
    return fail(inputFile + ": no function to compile (name one with --entry, or call it main)");

  PassManager pm(&context, ModuleOp::getOperationName());
  if (failed(applyPassManagerCLOptions(pm)))
    return 1;
  DefaultTimingManager tm;
  applyDefaultTimingManagerCLOptions(tm);
  TimingScope timing = tm.getRootScope();
  pm.enableTiming(timing);
  OpPassManager &fpm = pm.nest<func::FuncOp>();
  fpm.addPass(trnx::trn::createTrnAnnotateOrigins());
  fpm.addPass(tosa::createTosaToLinalgNamed());
  fpm.addPass(tosa::createTosaToLinalg());
  fpm.addPass(tosa::createTosaToTensor());
  fpm.addPass(tosa::createTosaToArith());
  fpm.addPass(createCanonicalizerPass());
  if (emitKind != "mlir") {
    trnx::trn::TrnConvertLinalgOptions convert;
    convert.target = target.name;
    fpm.addPass(trnx::trn::createTrnConvertLinalg(convert));
    fpm.addPass(createCanonicalizerPass());
    fpm.addPass(createCSEPass());
    fpm.addPass(trnx::trn::createTrnRecognizeComposites());
    fpm.addPass(trnx::trn::createTrnFuseElementwise());
    fpm.addPass(trnx::trn::createTrnRecognizeActivations());
    trnx::trn::TrnAutoCastOptions cast;
    cast.mode = autoCast;
    cast.castType = autoCastType;
    fpm.addPass(trnx::trn::createTrnAutoCast(cast));
    fpm.addPass(createCSEPass());
  }
  if (failed(pm.run(*module)))
    return 1;

  const bool text = emitKind != "bin";
  std::string out = outputFile;
  if (out.empty()) {
    if (text) {
      out = "-";
    } else {
      std::string base = inputFile == "-" ? "out" : inputFile.getValue();
      size_t dot = base.find_last_of('.');
      if (dot != std::string::npos && base.find('/', dot) == std::string::npos)
        base = base.substr(0, dot);
      out = base + ".tnx";
    }
  }
  if (emitKind == "mlir" || emitKind == "trn") {
    auto output = openOutputFile(out, &errorMessage);
    if (!output)
      return fail(out + ": " + errorMessage);
    module->print(output->os());
    output->os() << "\n";
    output->keep();
    return 0;
  }
  FailureOr<trnx::Program> program;
  {
    TimingScope emitTiming = timing.nest("EmitProgram");
    program = trnx::emitProgram(entry, target);
  }
  if (failed(program))
    return 1;
  try {
    if (emitKind == "asm") {
      std::ostringstream listing;
      trnx::printProgram(listing, *program);
      auto output = openOutputFile(out, &errorMessage);
      if (!output)
        return fail(out + ": " + errorMessage);
      output->os() << listing.str();
      output->keep();
    } else {
      trnx::writeProgramFile(out, *program);
    }
  } catch (const trnx::Error &e) {
    return fail(e.what());
  }
  return 0;
}
