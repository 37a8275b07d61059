// ONNX -> MLIR for trnx-compile: a model file becomes a func.func in the trn
// dialect (graph inputs are arguments, outputs results, named after the
// graph's values). See docs/onnx.md for the operators and their mapping.
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/OwningOpRef.h"

#include <map>
#include <string>
#include <vector>

namespace trnx {

struct OnnxImportOptions {
  // Values for dynamic dimensions, by graph input name (--shape NAME=D0,D1,...).
  std::map<std::string, std::vector<int64_t>> shapes;
  // Initializers become weight arguments instead of constants with data (for
  // models too large to carry their weights; chosen automatically above 1 GiB).
  bool weightsAsArguments = false;
  // Errors name options as trnx.compile's keywords (shapes=...), not as flags.
  bool pythonNames = false;
};

// The location name of the ops imported from an ONNX node: "onnx.OpType:NAME",
// or "onnx.OpType" for a node without a name (inside FileLineColLoc(FILE, N, 0),
// N the node's position in the graph from 1).
std::string onnxNodeLocationName(const std::string &opType, const std::string &name);
// "node 'NAME' (OpType)" of the first ONNX node in loc (NAME is the op type
// for a node without a name), or "" when loc comes from no ONNX node: later
// passes' errors name the node the user wrote, whatever op they are about.
std::string onnxNodeOf(mlir::Location loc);

// Throws trnx::Error("FILE: cause") when the model cannot be imported.
mlir::OwningOpRef<mlir::ModuleOp> importOnnx(mlir::MLIRContext &context, const std::string &path,
                                             const OnnxImportOptions &options);
// The same for a model already in memory (a .onnx file's bytes): `path` names
// it in errors, and external data is read from its folder.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxBytes(mlir::MLIRContext &context, llvm::StringRef bytes,
                                                  const std::string &path, const OnnxImportOptions &options);

} // namespace trnx
