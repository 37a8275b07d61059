// The compile pipeline (see trnx/Driver/Compile.h): parse or import, TOSA ->
// linalg -> trn passes, then program emission. Diagnostics are collected and
// the first error becomes the thrown trnx::Error.
#include "trnx/Driver/Compile.h"

#include "trnx/Dialect/Trn/Passes.h"
#include "trnx/Dialect/Trn/TrnDialect.h"
#include "trnx/Import/OnnxImporter.h"
#include "trnx/Support/LocationParts.h"
#include "trnx/Target/EmitProgram.h"

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
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"


using namespace mlir;

namespace trnx {
namespace {

std::string locationText(Location loc) { return locationParts(loc).fileText(); }

func::FuncOp findEntry(ModuleOp module, const std::string &entryName) {
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

cg::Target targetFor(const CompileOptions &options) {
  ChipConfig chip = options.chip ? *options.chip : loadChip(options.target);
  cg::Target target;
  target.name = chip.name;
  target.limits = chip.limits();
  return target;
}

// One compilation: owns the context, collects the first error.
class Session {
public:
  explicit Session(const CompileOptions &options) : options_(options), context_(registry()) {
    context_.loadAllAvailableDialects();
    handler_.emplace(&context_, [this](Diagnostic &diag) {
      if (diag.getSeverity() == DiagnosticSeverity::Error && error_.empty()) {
        std::string where = locationText(diag.getLocation()), node = onnxNodeOf(diag.getLocation());
        error_ = (where.empty() ? "" : where + ": ") + (node.empty() ? "" : node + ": ") + diag.str();
      }
      return success();
    });
  }

  [[noreturn]] void failWithDiagnostic(const std::string &fallback) {
    throw Error(error_.empty() ? fallback : error_);
  }

  OwningOpRef<ModuleOp> load(const std::string &path) {
    if (llvm::StringRef(path).ends_with(".onnx")) {
      OnnxImportOptions onnx;
      onnx.shapes = options_.shapes;
      onnx.weightsAsArguments = options_.weightsAsArguments;
      onnx.pythonNames = options_.pythonNames;
      return importOnnx(context_, path, onnx); // throws Error
    }
    if (!options_.shapes.empty())
      fail(options_.pythonNames ? "shapes= applies" : "--shape applies", " to ONNX inputs only");
    std::string message;
    auto file = openInputFile(path, &message);
    if (!file)
      fail(path, ": ", message);
    return parse(std::move(file));
  }

  OwningOpRef<ModuleOp> loadText(const std::string &text, const std::string &name) {
    return parse(llvm::MemoryBuffer::getMemBufferCopy(text, name));
  }

  // Runs the pass pipeline up to `stage`; returns the entry function.
  func::FuncOp lower(ModuleOp module, CompileStage stage) {
    func::FuncOp entry = findEntry(module, options_.entry);
    if (!entry)
      fail(sourceName(module), ": no function to compile (name one with ", options_.pythonNames ? "entry=" : "--entry", ", or call it main)");
    PassManager pm(&context_, ModuleOp::getOperationName());
    if (options_.useCommandLineOptions && failed(applyPassManagerCLOptions(pm)))
      failWithDiagnostic("invalid pass manager options");
    if (options_.useCommandLineOptions) {
      timingManager_.emplace();
      applyDefaultTimingManagerCLOptions(*timingManager_);
      timing_ = timingManager_->getRootScope();
      pm.enableTiming(timing_);
    }
    OpPassManager &fpm = pm.nest<func::FuncOp>();
    fpm.addPass(trn::createTrnAnnotateOrigins());
    fpm.addPass(tosa::createTosaToLinalgNamed());
    fpm.addPass(tosa::createTosaToLinalg());
    fpm.addPass(tosa::createTosaToTensor());
    fpm.addPass(tosa::createTosaToArith());
    fpm.addPass(createCanonicalizerPass());
    if (stage != CompileStage::Linalg) {
      trn::TrnConvertLinalgOptions convert;
      convert.target = target_.name;
      fpm.addPass(trn::createTrnConvertLinalg(convert));
      fpm.addPass(createCanonicalizerPass());
      fpm.addPass(createCSEPass());
      fpm.addPass(trn::createTrnRecognizeComposites());
      fpm.addPass(trn::createTrnFuseElementwise());
      fpm.addPass(trn::createTrnRecognizeActivations());
      trn::TrnAutoCastOptions cast;
      cast.mode = options_.autoCast;
      cast.castType = options_.autoCastType;
      fpm.addPass(trn::createTrnAutoCast(cast));
      fpm.addPass(createCSEPass());
    }
    if (failed(pm.run(module)))
      failWithDiagnostic("compilation failed");
    return entry;
  }

  Program emit(func::FuncOp entry) {
    FailureOr<Program> program;
    if (timingManager_) {
      TimingScope emitTiming = timing_.nest("EmitProgram");
      program = emitProgram(entry, target_);
    } else {
      program = emitProgram(entry, target_);
    }
    if (failed(program))
      failWithDiagnostic("program emission failed");
    return std::move(*program);
  }

  void setTarget(const cg::Target &target) { target_ = target; }

private:
  static DialectRegistry registry() {
    DialectRegistry r;
    r.insert<func::FuncDialect, tosa::TosaDialect, linalg::LinalgDialect, tensor::TensorDialect, arith::ArithDialect,
             math::MathDialect, bufferization::BufferizationDialect, trn::TrnDialect>();
    return r;
  }

  OwningOpRef<ModuleOp> parse(std::unique_ptr<llvm::MemoryBuffer> buffer) {
    sourceMgr_.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
    OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr_, &context_);
    if (!module)
      failWithDiagnostic("the input does not parse");
    return module;
  }

  static std::string sourceName(ModuleOp module) {
    std::string where = locationText(module.getLoc());
    size_t colon = where.find(':');
    return colon == std::string::npos ? (where.empty() ? "input" : where) : where.substr(0, colon);
  }

  const CompileOptions &options_;
  MLIRContext context_;
  std::optional<ScopedDiagnosticHandler> handler_;
  llvm::SourceMgr sourceMgr_;
  std::string error_;
  cg::Target target_;
  std::optional<DefaultTimingManager> timingManager_;
  TimingScope timing_;
};

} // namespace

void validateCompileOptions(const CompileOptions &o) {
  if (o.autoCast != "none" && o.autoCast != "matmul" && o.autoCast != "all")
    fail(o.pythonNames ? "auto_cast" : "--auto-cast", " must be none, matmul or all, not '", o.autoCast, "'");
  if (o.autoCastType != "bf16" && o.autoCastType != "fp16" && o.autoCastType != "fp8e4m3")
    fail(o.pythonNames ? "auto_cast_type" : "--auto-cast-type", " must be bf16, fp16 or fp8e4m3, not '", o.autoCastType,
         "'");
}

Program compileFile(const std::string &path, const CompileOptions &options) {
  validateCompileOptions(options);
  Session session(options);
  session.setTarget(targetFor(options));
  OwningOpRef<ModuleOp> module = session.load(path);
  func::FuncOp entry = session.lower(*module, CompileStage::Trn);
  return session.emit(entry);
}

Program compileSource(const std::string &mlirText, const std::string &bufferName, const CompileOptions &options) {
  validateCompileOptions(options);
  Session session(options);
  session.setTarget(targetFor(options));
  OwningOpRef<ModuleOp> module = session.loadText(mlirText, bufferName);
  func::FuncOp entry = session.lower(*module, CompileStage::Trn);
  return session.emit(entry);
}

std::string lowerToText(const std::string &path, const CompileOptions &options, CompileStage stage) {
  validateCompileOptions(options);
  Session session(options);
  session.setTarget(targetFor(options));
  OwningOpRef<ModuleOp> module = session.load(path);
  session.lower(*module, stage);
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os);
  os << "\n";
  return text;
}

} // namespace trnx
