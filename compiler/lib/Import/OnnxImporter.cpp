// The ONNX model walker: reads the protobuf (and external data), turns graph
// inputs, initializers and outputs into function arguments, constants and
// results, and converts the nodes in order (OnnxOps.cpp). Also the Context
// helpers every converter uses.
#include "trnx/Import/OnnxImporter.h"

#include "OnnxContext.h"

#include "isa/DType.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>

using namespace mlir;

namespace trnx::onnximport {

void Context::fail(const std::string &message) const {
  std::string where = file;
  if (node)
    where += ": node '" + (node->name().empty() ? node->op_type() : node->name()) + "' (" + node->op_type() + ")";
  trnx::fail(where, ": ", message);
}

const onnx::AttributeProto *Context::attr(const std::string &name) const {
  for (const auto &a : node->attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t Context::attrInt(const std::string &name, int64_t fallback) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->i() : fallback;
}

float Context::attrFloat(const std::string &name, float fallback) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->f() : fallback;
}

std::string Context::attrString(const std::string &name, const std::string &fallback) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->s() : fallback;
}

std::vector<int64_t> Context::attrInts(const std::string &name) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
}

bool Context::hasInput(int i) const { return i < node->input_size() && !node->input(i).empty(); }

Tensor &Context::input(int i) {
  if (!hasInput(i))
    fail("missing input " + std::to_string(i));
  auto it = values.find(node->input(i));
  if (it == values.end())
    fail("input '" + node->input(i) + "' is not defined before use");
  return it->second;
}

std::vector<int64_t> Context::constantInts(int i) {
  Tensor &t = input(i);
  if (!t.constant)
    fail("input '" + node->input(i) + "' must be known at compile time (a constant or a static shape)");
  std::vector<int64_t> out;
  for (double d : *t.constant)
    out.push_back(static_cast<int64_t>(d));
  return out;
}

void Context::setOutput(int i, Tensor t) {
  if (i < node->output_size() && !node->output(i).empty())
    values[node->output(i)] = std::move(t);
}

Value Context::value(Tensor &t) {
  if (t.value)
    return t.value;
  if (!t.constant)
    fail("internal: value without data");
  auto ty = type(t.shape, t.element);
  Attribute attr;
  if (llvm::isa<FloatType>(t.element)) {
    std::vector<APFloat> vals;
    const auto &sem = llvm::cast<FloatType>(t.element).getFloatSemantics();
    for (double d : *t.constant) {
      APFloat f(d);
      bool lost;
      f.convert(sem, APFloat::rmNearestTiesToEven, &lost);
      vals.push_back(f);
    }
    attr = DenseElementsAttr::get(ty, vals);
  } else {
    std::vector<APInt> vals;
    const unsigned width = t.element.getIntOrFloatBitWidth();
    for (double d : *t.constant)
      vals.emplace_back(width, static_cast<uint64_t>(static_cast<int64_t>(d)), /*isSigned=*/true);
    attr = DenseElementsAttr::get(ty, vals);
  }
  t.value = builder.create<arith::ConstantOp>(loc, llvm::cast<TypedAttr>(attr));
  return t.value;
}

Tensor Context::make(Value v) const {
  Tensor t;
  t.value = v;
  auto ty = llvm::cast<RankedTensorType>(v.getType());
  t.shape.assign(ty.getShape().begin(), ty.getShape().end());
  t.element = ty.getElementType();
  return t;
}

Tensor Context::constantTensor(std::vector<double> vals, std::vector<int64_t> shape, Type element) const {
  Tensor t;
  t.shape = std::move(shape);
  t.element = element;
  t.constant = std::move(vals);
  return t;
}

std::vector<int64_t> broadcastShapes(const std::vector<int64_t> &a, const std::vector<int64_t> &b, const Context &c) {
  std::vector<int64_t> out(std::max(a.size(), b.size()), 1);
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t x = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    int64_t y = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (x != y && x != 1 && y != 1)
      c.fail("shapes do not broadcast");
    out[i] = x == 1 ? y : x;
  }
  return out;
}

int64_t normalizeAxis(int64_t axis, int64_t rank, const Context &c) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    c.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

Tensor Context::ewise(std::vector<Tensor *> inputs, Type resultElement, const BodyFn &body,
                      const std::vector<int64_t> *explicitShape) {
  std::vector<int64_t> shape = explicitShape ? *explicitShape : std::vector<int64_t>{};
  std::vector<Value> operands;
  for (Tensor *t : inputs) {
    shape = broadcastShapes(shape, t->shape, *this);
    operands.push_back(value(*t));
  }
  if (explicitShape && shape != *explicitShape)
    fail("cannot broadcast to the requested shape");
  auto ew = builder.create<trn::EwiseOp>(loc, type(shape, resultElement), operands);
  Block *block = new Block();
  ew.getBody().push_back(block);
  std::vector<Value> args;
  for (size_t i = 0; i < inputs.size(); ++i)
    args.push_back(block->addArgument(builder.getF32Type(), loc));
  OpBuilder b(ew.getContext());
  b.setInsertionPointToStart(block);
  Value y = body(b, loc, args);
  b.create<trn::YieldOp>(loc, y);
  return make(ew.getResult());
}

Tensor Context::reshape(Tensor &t, const std::vector<int64_t> &shape) {
  Tensor out;
  if (t.constant) {
    out = t;
    out.value = Value();
    out.shape = shape;
    return out;
  }
  if (shape == t.shape)
    return t;
  return make(builder.create<trn::ReshapeOp>(loc, type(shape, t.element), value(t)));
}

Tensor Context::transpose(Tensor &t, const std::vector<int64_t> &perm) {
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i)
    identity = identity && perm[i] == static_cast<int64_t>(i);
  if (identity)
    return t;
  std::vector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(t.shape[p]);
  return make(builder.create<trn::TransposeOp>(loc, type(shape, t.element), value(t), perm));
}

Tensor Context::slice(Tensor &t, const std::vector<int64_t> &offsets, const std::vector<int64_t> &sizes,
                      const std::vector<int64_t> &strides) {
  if (t.constant) {
    // Fold: walk the sliced index space.
    std::vector<double> vals;
    std::vector<int64_t> idx(sizes.size(), 0);
    int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t(1), std::multiplies<int64_t>());
    for (int64_t n = 0; n < total; ++n) {
      int64_t flat = 0;
      for (size_t d = 0; d < sizes.size(); ++d)
        flat = flat * t.shape[d] + offsets[d] + idx[d] * strides[d];
      vals.push_back((*t.constant)[flat]);
      for (int d = static_cast<int>(sizes.size()) - 1; d >= 0 && ++idx[d] == sizes[d]; --d)
        idx[d] = 0;
    }
    return constantTensor(vals, sizes, t.element);
  }
  return make(builder.create<trn::SliceOp>(loc, type(sizes, t.element), value(t), offsets, strides));
}

Tensor Context::concat(std::vector<Tensor *> parts, int64_t axis) {
  std::vector<int64_t> shape = parts[0]->shape;
  shape[axis] = 0;
  bool allConstant = true;
  for (Tensor *p : parts) {
    shape[axis] += p->shape[axis];
    allConstant = allConstant && p->constant;
  }
  if (allConstant && shape.size() == 1) {
    std::vector<double> vals;
    for (Tensor *p : parts)
      vals.insert(vals.end(), p->constant->begin(), p->constant->end());
    return constantTensor(vals, shape, parts[0]->element);
  }
  std::vector<Value> operands;
  for (Tensor *p : parts)
    operands.push_back(value(*p));
  return make(builder.create<trn::ConcatOp>(loc, type(shape, parts[0]->element), operands,
                                            builder.getI64IntegerAttr(axis)));
}

Tensor Context::matmul(Tensor &a0, Tensor &b0) {
  // numpy matmul: 1-D operands are promoted, batch dims broadcast.
  Tensor a = a0, b = b0;
  const bool vecA = a.rank() == 1, vecB = b.rank() == 1;
  if (vecA)
    a = reshape(a, {1, a.shape[0]});
  if (vecB)
    b = reshape(b, {b.shape[0], 1});
  if (a.shape.back() != b.shape[b.rank() - 2])
    fail("matmul contraction sizes differ");
  const int64_t M = a.shape[a.rank() - 2], K = a.shape.back(), N = b.shape.back();
  std::vector<int64_t> aBatch(a.shape.begin(), a.shape.end() - 2), bBatch(b.shape.begin(), b.shape.end() - 2);
  std::vector<int64_t> batch = broadcastShapes(aBatch, bBatch, *this);
  const int64_t bCount = std::accumulate(bBatch.begin(), bBatch.end(), int64_t(1), std::multiplies<int64_t>());
  Tensor result;
  Type element = a.element;
  if (bCount == 1) {
    // Shared weights: fold a's batch into M.
    const int64_t rows = std::accumulate(aBatch.begin(), aBatch.end(), int64_t(1), std::multiplies<int64_t>()) * M;
    Tensor a2 = reshape(a, {rows, K}), b2 = reshape(b, {K, N});
    Value mm = builder.create<trn::MatmulOp>(loc, type({rows, N}, element), value(a2), value(b2), ValueRange{},
                                             TypeAttr());
    result = make(mm);
  } else {
    // Equal batches (a broadcast batch is materialised first).
    std::vector<int64_t> aFull = batch, bFull = batch;
    aFull.insert(aFull.end(), {M, K});
    bFull.insert(bFull.end(), {K, N});
    auto copy = [](OpBuilder &, Location, ArrayRef<Value> x) { return x[0]; };
    Tensor ab = a.shape == aFull ? a : ewise({&a}, a.element, copy, &aFull);
    Tensor bb = b.shape == bFull ? b : ewise({&b}, b.element, copy, &bFull);
    const int64_t count = std::accumulate(batch.begin(), batch.end(), int64_t(1), std::multiplies<int64_t>());
    Tensor a3 = reshape(ab, {count, M, K}), b3 = reshape(bb, {count, K, N});
    Value mm = builder.create<trn::MatmulOp>(loc, type({count, M, N}, element), value(a3), value(b3), ValueRange{},
                                             TypeAttr());
    result = make(mm);
  }
  std::vector<int64_t> shape = batch;
  if (!vecA)
    shape.push_back(M);
  if (!vecB)
    shape.push_back(N);
  return reshape(result, shape);
}

Tensor Context::reduce(Tensor &t, const std::string &kind, std::vector<int64_t> axes, bool keepDims) {
  for (int64_t &a : axes)
    a = normalizeAxis(a, t.rank(), *this);
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  std::vector<int64_t> shape;
  for (int64_t d = 0; d < t.rank(); ++d) {
    bool reduced = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (!reduced)
      shape.push_back(t.shape[d]);
    else if (keepDims)
      shape.push_back(1);
  }
  return make(builder.create<trn::ReduceOp>(loc, type(shape, t.element), value(t), builder.getStringAttr(kind),
                                            builder.getDenseI64ArrayAttr(axes), builder.getBoolAttr(keepDims)));
}

namespace {

Type elementType(MLIRContext *ctx, int onnxType, const Context &c, const std::string &what) {
  Builder b(ctx);
  switch (onnxType) {
  case onnx::TensorProto::FLOAT: return b.getF32Type();
  case onnx::TensorProto::DOUBLE: return b.getF32Type(); // computed in fp32
  case onnx::TensorProto::FLOAT16: return b.getF16Type();
  case onnx::TensorProto::BFLOAT16: return b.getBF16Type();
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT8: return b.getIntegerType(8);
  case onnx::TensorProto::INT32: return b.getI32Type();
  case onnx::TensorProto::INT64: return b.getI64Type();
  case onnx::TensorProto::BOOL: return b.getI1Type();
  default: c.fail(what + " has an unsupported element type (ONNX type " + std::to_string(onnxType) + ")");
  }
}

} // namespace

std::vector<double> tensorElements(const onnx::TensorProto &t, const std::string &baseDir, const Context &c) {
  int64_t count = 1;
  for (int64_t d : t.dims())
    count *= d;
  std::string raw;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto &kv : t.external_data()) {
      if (kv.key() == "location")
        location = kv.value();
      else if (kv.key() == "offset")
        offset = std::stoll(kv.value());
      else if (kv.key() == "length")
        length = std::stoll(kv.value());
    }
    std::filesystem::path path = std::filesystem::path(baseDir) / location;
    std::ifstream in(path, std::ios::binary);
    if (!in)
      c.fail("external data file '" + path.string() + "' of initializer '" + t.name() + "' cannot be read");
    in.seekg(offset);
    if (length < 0) {
      in.seekg(0, std::ios::end);
      length = static_cast<int64_t>(in.tellg()) - offset;
      in.seekg(offset);
    }
    raw.resize(static_cast<size_t>(std::max<int64_t>(0, length)));
    if (!in.read(raw.data(), static_cast<std::streamsize>(raw.size())))
      c.fail("external data of initializer '" + t.name() + "' is truncated");
  } else {
    raw = t.raw_data();
  }
  std::vector<double> out;
  out.reserve(static_cast<size_t>(count));
  auto fromRaw = [&](size_t size, auto convert) {
    if (raw.size() != size * static_cast<size_t>(count))
      c.fail("initializer '" + t.name() + "' has " + std::to_string(raw.size()) + " bytes of data for " +
             std::to_string(count) + " elements");
    for (int64_t i = 0; i < count; ++i)
      out.push_back(convert(raw.data() + i * size));
  };
  const bool hasRaw = !raw.empty() || t.data_location() == onnx::TensorProto::EXTERNAL;
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
    if (hasRaw)
      fromRaw(4, [](const char *p) { float f; std::memcpy(&f, p, 4); return static_cast<double>(f); });
    else
      out.assign(t.float_data().begin(), t.float_data().end());
    break;
  case onnx::TensorProto::DOUBLE:
    if (hasRaw)
      fromRaw(8, [](const char *p) { double f; std::memcpy(&f, p, 8); return f; });
    else
      out.assign(t.double_data().begin(), t.double_data().end());
    break;
  case onnx::TensorProto::INT64:
    if (hasRaw)
      fromRaw(8, [](const char *p) { int64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); });
    else
      for (int64_t v : t.int64_data())
        out.push_back(static_cast<double>(v));
    break;
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT8:
  case onnx::TensorProto::BOOL:
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16: {
    const int type = t.data_type();
    const size_t size = type == onnx::TensorProto::INT32 ? 4
                        : (type == onnx::TensorProto::FLOAT16 || type == onnx::TensorProto::BFLOAT16) ? 2
                                                                                                      : 1;
    auto convert = [&](const char *p) -> double {
      switch (type) {
      case onnx::TensorProto::INT32: { int32_t v; std::memcpy(&v, p, 4); return v; }
      case onnx::TensorProto::INT8: return static_cast<int8_t>(*p);
      case onnx::TensorProto::UINT8: return static_cast<uint8_t>(*p);
      case onnx::TensorProto::BOOL: return *p ? 1.0 : 0.0;
      case onnx::TensorProto::FLOAT16: { uint16_t h; std::memcpy(&h, p, 2); return trnx::decode(trnx::DType::FP16, h); }
      default: { uint16_t h; std::memcpy(&h, p, 2); return trnx::decode(trnx::DType::BF16, h); }
      }
    };
    if (hasRaw) {
      fromRaw(size, convert);
    } else {
      // int32_data holds int32/int8/uint8/bool/fp16/bf16 values (fp16/bf16 as bits).
      for (int32_t v : t.int32_data()) {
        if (type == onnx::TensorProto::FLOAT16)
          out.push_back(trnx::decode(trnx::DType::FP16, static_cast<uint32_t>(v)));
        else if (type == onnx::TensorProto::BFLOAT16)
          out.push_back(trnx::decode(trnx::DType::BF16, static_cast<uint32_t>(v)));
        else
          out.push_back(v);
      }
    }
    break;
  }
  default:
    c.fail("initializer '" + t.name() + "' has an unsupported data type " + std::to_string(t.data_type()));
  }
  if (static_cast<int64_t>(out.size()) != count)
    c.fail("initializer '" + t.name() + "' has " + std::to_string(out.size()) + " elements for shape of " +
           std::to_string(count));
  return out;
}

namespace {

std::vector<int64_t> valueShape(const onnx::ValueInfoProto &v, const OnnxImportOptions &options, const Context &c) {
  auto it = options.shapes.find(v.name());
  if (!v.type().has_tensor_type())
    c.fail("graph value '" + v.name() + "' is not a tensor");
  const auto &tt = v.type().tensor_type();
  if (it != options.shapes.end()) {
    if (tt.has_shape() && tt.shape().dim_size() != static_cast<int>(it->second.size()))
      c.fail("--shape " + v.name() + " has " + std::to_string(it->second.size()) + " dims, the model's input has " +
             std::to_string(tt.shape().dim_size()));
    return it->second;
  }
  if (!tt.has_shape())
    c.fail("input '" + v.name() + "' has no shape: give one with --shape " + v.name() + "=D0,D1,...");
  std::vector<int64_t> shape;
  for (const auto &d : tt.shape().dim()) {
    if (!d.has_dim_value() || d.dim_value() <= 0)
      c.fail("input '" + v.name() + "' has a dynamic dimension" + (d.has_dim_param() ? " '" + d.dim_param() + "'" : "") +
             ": give its shape with --shape " + v.name() + "=D0,D1,...");
    shape.push_back(d.dim_value());
  }
  return shape;
}

int64_t defaultOpset(const onnx::ModelProto &m) {
  for (const auto &o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      return o.version();
  return 13;
}

} // namespace

} // namespace trnx::onnximport

namespace trnx {

OwningOpRef<ModuleOp> importOnnx(MLIRContext &context, const std::string &path, const OnnxImportOptions &options) {
  using namespace onnximport;
  onnx::ModelProto model;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      llvm::errs() << "error: " << path << ": cannot open file\n";
      return nullptr;
    }
    if (!model.ParseFromIstream(&in) || !model.has_graph()) {
      llvm::errs() << "error: " << path << ": not a valid ONNX model (the protobuf does not parse)\n";
      return nullptr;
    }
  }
  const int64_t opset = defaultOpset(model);
  Context c(context, path, opset);
  const std::string baseDir = std::filesystem::path(path).parent_path().string();
  Location fileLoc = FileLineColLoc::get(&context, path, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  try {
    if (opset < 7 || opset > 18)
      c.fail("opset " + std::to_string(opset) + " is not supported (7-18)");
    const onnx::GraphProto &g = model.graph();
    std::map<std::string, const onnx::TensorProto *> inits;
    int64_t initBytes = 0;
    for (const auto &t : g.initializer()) {
      inits[t.name()] = &t;
      int64_t n = 1;
      for (int64_t d : t.dims())
        n *= d;
      initBytes += n * 4;
    }
    const bool weightArgs = options.weightsAsArguments || initBytes > (int64_t(1) << 30);
    // Arguments: graph inputs that are not initializers (and weights, if arguments).
    std::vector<Type> argTypes;
    std::vector<std::string> argNames, argRoles;
    std::vector<std::vector<int64_t>> argShapes;
    for (const auto &in : g.input()) {
      if (inits.count(in.name()))
        continue;
      std::vector<int64_t> shape = valueShape(in, options, c);
      argTypes.push_back(RankedTensorType::get(shape, elementType(&context, in.type().tensor_type().elem_type(), c,
                                                                  "input '" + in.name() + "'")));
      argNames.push_back(in.name());
      argRoles.push_back("input");
      argShapes.push_back(shape);
    }
    for (const auto &kv : options.shapes) {
      bool found = std::find(argNames.begin(), argNames.end(), kv.first) != argNames.end();
      if (!found)
        c.fail("--shape names '" + kv.first + "', which is not an input of the model");
    }
    if (weightArgs)
      for (const auto &t : g.initializer()) {
        std::vector<int64_t> shape(t.dims().begin(), t.dims().end());
        argTypes.push_back(RankedTensorType::get(shape, elementType(&context, t.data_type(), c, "initializer '" + t.name() + "'")));
        argNames.push_back(t.name());
        argRoles.push_back("weight");
        argShapes.push_back(shape);
      }
    OpBuilder &b = c.builder;
    b.setInsertionPointToEnd(module->getBody());
    auto func = b.create<func::FuncOp>(fileLoc, "main", b.getFunctionType(argTypes, {}));
    Block *entry = func.addEntryBlock();
    b.setInsertionPointToStart(entry);
    for (size_t i = 0; i < argNames.size(); ++i) {
      func.setArgAttr(static_cast<unsigned>(i), "trnx.name", b.getStringAttr(argNames[i]));
      if (argRoles[i] == "weight")
        func.setArgAttr(static_cast<unsigned>(i), "trnx.role", b.getStringAttr("weight"));
      c.values[argNames[i]] = c.make(entry->getArgument(static_cast<unsigned>(i)));
    }
    if (!weightArgs)
      for (const auto &t : g.initializer()) {
        std::vector<int64_t> shape(t.dims().begin(), t.dims().end());
        c.values[t.name()] = c.constantTensor(tensorElements(t, baseDir, c), shape,
                                              elementType(&context, t.data_type(), c, "initializer '" + t.name() + "'"));
      }
    int index = 0;
    for (const auto &node : g.node()) {
      ++index;
      c.node = &node;
      c.loc = NameLoc::get(b.getStringAttr("onnx." + node.op_type() + (node.name().empty() ? "" : ":" + node.name())),
                           FileLineColLoc::get(&context, path, index, 0));
      if (!node.domain().empty() && node.domain() != "ai.onnx")
        c.fail("domain '" + node.domain() + "' is not supported");
      if (!convertNode(c)) {
        std::string name = node.name().empty() ? node.op_type() : node.name();
        trnx::fail(path, ": node '", name, "' (", node.op_type(), ", opset ", opset, ") is not supported");
      }
    }
    c.node = nullptr;
    c.loc = fileLoc;
    std::vector<Value> results;
    std::vector<Type> resultTypes;
    for (const auto &out : g.output()) {
      auto it = c.values.find(out.name());
      if (it == c.values.end())
        c.fail("graph output '" + out.name() + "' is never computed");
      results.push_back(c.value(it->second));
      resultTypes.push_back(results.back().getType());
    }
    b.create<func::ReturnOp>(fileLoc, results);
    func.setFunctionType(b.getFunctionType(argTypes, resultTypes));
    for (int i = 0; i < g.output_size(); ++i)
      func.setResultAttr(static_cast<unsigned>(i), "trnx.name", b.getStringAttr(g.output(i).name()));
  } catch (const Error &e) {
    llvm::errs() << "error: " << e.what() << "\n";
    return nullptr;
  }
  return module;
}

} // namespace trnx
