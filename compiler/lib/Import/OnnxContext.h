// Internal state of the ONNX importer shared by the graph walker
// (OnnxImporter.cpp) and the operator converters (OnnxOps.cpp).
#pragma once

#include "trnx/Dialect/Trn/TrnOps.h"

#include "isa/Error.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include <onnx/onnx_pb.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace trnx::onnximport {

// The importer is designed for opsets 13-18: every operator version in effect
// there is handled. Older models load when each node's operator version is
// one the importer knows (most operators have not changed since long before
// opset 13); newer opsets are refused.
constexpr int64_t kMaxOpset = 18;

// An ONNX value during import: an MLIR tensor value, and its elements when
// they are known at import time (shape arithmetic is folded, not compiled).
struct Tensor {
  mlir::Value value; // null until a non-folding consumer needs it
  std::vector<int64_t> shape;
  mlir::Type element;
  std::optional<std::vector<double>> constant;

  int64_t count() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  int rank() const { return static_cast<int>(shape.size()); }
};

// A scalar body builder for trn.ewise: receives the f32 arguments.
using BodyFn = std::function<mlir::Value(mlir::OpBuilder &, mlir::Location, llvm::ArrayRef<mlir::Value>)>;

class Context {
public:
  Context(mlir::MLIRContext &ctx, std::string file, int64_t opset)
      : builder(&ctx), file(std::move(file)), opset(opset) {}

  mlir::OpBuilder builder;
  std::string file;
  int64_t opset;       // the model's default-domain opset
  int64_t version = 0; // the operator version of the node being converted
  std::map<std::string, Tensor> values;
  const onnx::NodeProto *node = nullptr; // the node being converted
  // The node computing each value (for errors that trace a value back).
  std::map<std::string, const onnx::NodeProto *> producers;
  std::set<std::string> weightArguments; // initializers that are arguments (--weights-as-args)
  mlir::Location loc = mlir::UnknownLoc::get(builder.getContext());

  // --- errors: "FILE: node 'NAME' (OpType): message" -----------------------
  [[noreturn]] void fail(const std::string &message) const;

  // --- attributes and inputs -----------------------------------------------
  const onnx::AttributeProto *attr(const std::string &name) const;
  int64_t attrInt(const std::string &name, int64_t fallback) const;
  float attrFloat(const std::string &name, float fallback) const;
  std::string attrString(const std::string &name, const std::string &fallback) const;
  std::vector<int64_t> attrInts(const std::string &name) const;
  bool hasInput(int i) const;
  bool hasOutput(int i) const;
  Tensor &input(int i);
  // An input whose elements must be known at import time (shapes, axes).
  std::vector<int64_t> constantInts(int i);
  // Why input i is not known at import time, naming what the user wrote:
  // "it is graph input 'x'", or "node 'P' (Where) computes it from graph
  // input 'x'" (the nearest producer and a run-time graph input it depends on).
  std::string runtimeOrigin(int i) const;
  void setOutput(int i, Tensor t);

  // --- building --------------------------------------------------------------
  mlir::RankedTensorType type(const std::vector<int64_t> &shape, mlir::Type element) const {
    return mlir::RankedTensorType::get(shape, element);
  }
  mlir::Value value(Tensor &t); // materialises a known constant as arith.constant
  Tensor make(mlir::Value v) const;
  Tensor constantTensor(std::vector<double> values, std::vector<int64_t> shape, mlir::Type element) const;
  // A tensor of one value: folded when small, an elementwise fill when large.
  Tensor splat(double v, const std::vector<int64_t> &shape, mlir::Type element);
  // Fails for shapes with negative dims or more than 2^40 elements.
  void checkShape(const std::vector<int64_t> &shape) const;
  // Elementwise program over inputs broadcast numpy-style (to `shape` when
  // given, which the inputs must broadcast to).
  Tensor ewise(std::vector<Tensor *> inputs, mlir::Type resultElement, const BodyFn &body,
               const std::vector<int64_t> *shape = nullptr);
  // A copy of t broadcast to shape, or converted to another element type.
  Tensor broadcastTo(Tensor &t, const std::vector<int64_t> &shape);
  Tensor convert(Tensor &t, mlir::Type element);
  Tensor reshape(Tensor &t, const std::vector<int64_t> &shape);
  Tensor transpose(Tensor &t, const std::vector<int64_t> &perm);
  // Strided slice; a negative stride walks the axis backwards from offset.
  Tensor slice(Tensor &t, const std::vector<int64_t> &offsets, const std::vector<int64_t> &sizes,
               const std::vector<int64_t> &strides);
  // Rows of `axis` picked by integer indices (non-negative, in range).
  Tensor gatherAxis(Tensor &data, Tensor &indices, int64_t axis);
  Tensor concat(std::vector<Tensor *> parts, int64_t axis);
  Tensor pad(Tensor &t, const std::vector<int64_t> &low, const std::vector<int64_t> &high, double value);
  Tensor matmul(Tensor &a, Tensor &b);
  Tensor reduce(Tensor &t, const std::string &kind, std::vector<int64_t> axes, bool keepDims);
  mlir::Value f32(mlir::OpBuilder &b, double v) const {
    return b.create<mlir::arith::ConstantOp>(loc, b.getF32FloatAttr(static_cast<float>(v)));
  }
  mlir::Type f32Type() { return builder.getF32Type(); }
  mlir::Type i1Type() { return builder.getI1Type(); }
};

// The MLIR element type of an ONNX tensor element type: float, double (held
// as f32), f16, bf16, int8, bool, and the other integers (held as i32 or i64,
// which the chip stores as int32). Fails for strings and complex numbers.
mlir::Type elementType(const Context &c, int onnxType, const std::string &what);
std::string onnxTypeName(int onnxType);

// Elements of an initializer or a Constant's tensor, raw or typed fields,
// external data read relative to baseDir.
std::vector<double> tensorElements(const onnx::TensorProto &t, const std::string &baseDir, const Context &c);

std::vector<int64_t> broadcastShapes(const std::vector<int64_t> &a, const std::vector<int64_t> &b, const Context &c);
// Normalises a possibly negative axis for a given rank.
int64_t normalizeAxis(int64_t axis, int64_t rank, const Context &c);
// A double holding an ONNX int64 as an int64 (saturating: INT64_MAX survives).
int64_t toInt64(double d);

// Scalar helpers for trn.ewise bodies (f32 in, f32 out).
mlir::Value roundF(mlir::OpBuilder &b, mlir::Location l, mlir::Value x); // half to even
mlir::Value floorF(mlir::OpBuilder &b, mlir::Location l, mlir::Value x);
mlir::Value truncF(mlir::OpBuilder &b, mlir::Location l, mlir::Value x);

// The operator version a node of `op` has in a model of opset `opset` (the
// newest version not after it), or 0 when the importer does not handle it.
int64_t supportedVersion(const std::string &op, int64_t opset);
// The converter of one ONNX operator (supportedVersion(op) != 0).
void convertNode(Context &c);

// Converters with a file of their own.
void einsum(Context &c); // OnnxEinsum.cpp
void topK(Context &c);   // OnnxTopK.cpp
void recurrent(Context &c); // RNN, GRU, LSTM: OnnxRecurrent.cpp

} // namespace trnx::onnximport
