// The ONNX model walker: reads the protobuf (and external data), turns graph
// inputs, initializers and outputs into function arguments, constants and
// results, and converts the nodes in order (OnnxOps.cpp). Also the Context
// helpers every converter uses.
#include "trnx/Import/OnnxImporter.h"

#include "OnnxContext.h"

#include "isa/DType.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <set>

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

bool Context::hasOutput(int i) const { return i < node->output_size() && !node->output(i).empty(); }

Tensor &Context::input(int i) {
  if (!hasInput(i))
    fail("missing input " + std::to_string(i));
  auto it = values.find(node->input(i));
  if (it == values.end())
    fail("input '" + node->input(i) + "' is not defined before use");
  return it->second;
}

std::string Context::runtimeOrigin(int i) const {
  auto argumentText = [&](const std::string &name) {
    return weightArguments.count(name) ? "weight '" + name + "' (an argument with --weights-as-args)"
                                       : "graph input '" + name + "'";
  };
  const std::string &name = node->input(i);
  auto it = producers.find(name);
  if (it == producers.end())
    return "it is " + argumentText(name);
  // Depth first through the producers to a value without one that is not
  // known: a graph input (or weight argument).
  std::set<std::string> seen;
  std::vector<std::string> stack = {name};
  std::string source;
  while (!stack.empty() && source.empty()) {
    std::string v = stack.back();
    stack.pop_back();
    if (!seen.insert(v).second)
      continue;
    auto p = producers.find(v);
    if (p == producers.end()) {
      auto known = values.find(v);
      if (known != values.end() && !known->second.constant)
        source = v;
      continue;
    }
    for (int k = p->second->input_size() - 1; k >= 0; --k) {
      const std::string &in = p->second->input(k);
      auto t = values.find(in);
      if (!in.empty() && t != values.end() && !t->second.constant)
        stack.push_back(in);
    }
  }
  const onnx::NodeProto &producer = *it->second;
  std::string text = "node '" + (producer.name().empty() ? producer.op_type() : producer.name()) + "' (" +
                     producer.op_type() + ") computes it";
  return text + (source.empty() ? " at run time" : " from " + argumentText(source));
}

int64_t toInt64(double d) {
  if (std::isnan(d))
    return 0;
  if (d >= 9.2233720368547758e18)
    return std::numeric_limits<int64_t>::max();
  if (d <= -9.2233720368547758e18)
    return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(d);
}

std::vector<int64_t> Context::constantInts(int i) {
  Tensor &t = input(i);
  if (!t.constant)
    fail("input '" + node->input(i) + "' must be known at compile time (a constant or a static shape), but " +
         runtimeOrigin(i));
  std::vector<int64_t> out;
  for (double d : *t.constant)
    out.push_back(toInt64(d));
  return out;
}

void Context::setOutput(int i, Tensor t) {
  if (hasOutput(i))
    values[node->output(i)] = std::move(t);
}

Value Context::value(Tensor &t) {
  if (t.value)
    return t.value;
  if (!t.constant)
    fail("internal: value without data");
  if (static_cast<int64_t>(t.constant->size()) != t.count())
    fail("internal: constant of " + std::to_string(t.constant->size()) + " elements for shape of " +
         std::to_string(t.count()));
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
      vals.emplace_back(width, static_cast<uint64_t>(width == 1 ? (d != 0) : toInt64(d)), /*isSigned=*/width > 1);
    attr = DenseElementsAttr::get(ty, vals);
  }
  t.value = builder.create<arith::ConstantOp>(loc, llvm::cast<TypedAttr>(attr));
  return t.value;
}

void Context::checkShape(const std::vector<int64_t> &shape) const {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      fail("a tensor would have a negative dimension");
    if (d > 0 && n > (int64_t(1) << 40) / d)
      fail("a tensor would have more than 2^40 elements");
    n *= d;
  }
}

Tensor Context::make(Value v) const {
  Tensor t;
  t.value = v;
  auto ty = llvm::cast<RankedTensorType>(v.getType());
  t.shape.assign(ty.getShape().begin(), ty.getShape().end());
  t.element = ty.getElementType();
  checkShape(t.shape);
  return t;
}

Tensor Context::splat(double v, const std::vector<int64_t> &shape, Type element) {
  checkShape(shape);
  const int64_t n = std::accumulate(shape.begin(), shape.end(), int64_t(1), std::multiplies<int64_t>());
  if (n <= (int64_t(1) << 16))
    return constantTensor(std::vector<double>(static_cast<size_t>(n), v), shape, element);
  // A splat attribute holds one element, however large the tensor.
  Attribute one;
  if (auto ft = llvm::dyn_cast<FloatType>(element)) {
    APFloat f(v);
    bool lost;
    f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    one = builder.getFloatAttr(element, f);
  } else {
    const unsigned width = element.getIntOrFloatBitWidth();
    one = builder.getIntegerAttr(element, APInt(width, static_cast<uint64_t>(width == 1 ? (v != 0) : toInt64(v)),
                                                width > 1));
  }
  return make(builder.create<arith::ConstantOp>(loc, SplatElementsAttr::get(type(shape, element), one)));
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
    if (x != y && x != 1 && y != 1) {
      auto text = [](const std::vector<int64_t> &s) {
        std::string r = "[";
        for (size_t k = 0; k < s.size(); ++k)
          r += (k ? "," : "") + std::to_string(s[k]);
        return r + "]";
      };
      c.fail("shapes " + text(a) + " and " + text(b) + " do not broadcast");
    }
    out[i] = x == 1 ? y : x;
  }
  return out;
}

int64_t normalizeAxis(int64_t axis, int64_t rank, const Context &c) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    c.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

// Rounding in f32 arithmetic: adding and subtracting 2^23 rounds |x| < 2^23
// to the nearest integer, ties to even (the chip's f32 add); |x| >= 2^23 is
// already integral.
Value roundF(OpBuilder &b, Location l, Value x) {
  auto cst = [&](double v) -> Value { return b.create<arith::ConstantOp>(l, b.getF32FloatAttr(static_cast<float>(v))); };
  Value two23 = cst(8388608.0);
  Value up = b.create<arith::SubFOp>(l, b.create<arith::AddFOp>(l, x, two23), two23);
  Value down = b.create<arith::AddFOp>(l, b.create<arith::SubFOp>(l, x, two23), two23);
  Value r = b.create<arith::SelectOp>(l, b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGE, x, cst(0.0)), up, down);
  Value big = b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGE, b.create<math::AbsFOp>(l, x), two23);
  return b.create<arith::SelectOp>(l, big, x, r);
}

// floor: the rounded value, one less where that rounded up.
Value floorF(OpBuilder &b, Location l, Value x) {
  Value r = roundF(b, l, x);
  Value down = b.create<arith::SubFOp>(l, r, b.create<arith::ConstantOp>(l, b.getF32FloatAttr(1.0f)));
  return b.create<arith::SelectOp>(l, b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, r, x), down, r);
}

Value truncF(OpBuilder &b, Location l, Value x) {
  Value zero = b.create<arith::ConstantOp>(l, b.getF32FloatAttr(0.0f));
  Value t = floorF(b, l, b.create<math::AbsFOp>(l, x));
  return b.create<arith::SelectOp>(l, b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OLT, x, zero),
                                   b.create<arith::NegFOp>(l, t), t);
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

Tensor Context::broadcastTo(Tensor &t, const std::vector<int64_t> &shape) {
  if (t.shape == shape)
    return t;
  if (t.constant && t.count() == 1)
    return splat((*t.constant)[0], shape, t.element);
  return ewise({&t}, t.element, [](OpBuilder &, Location, ArrayRef<Value> x) { return x[0]; }, &shape);
}

Tensor Context::convert(Tensor &t, Type element) {
  if (t.element == element)
    return t;
  if (t.constant) {
    Tensor out = t;
    out.value = Value();
    out.element = element;
    if (llvm::isa<IntegerType>(element))
      for (double &d : *out.constant)
        d = element.isInteger(1) ? (d != 0) : std::trunc(d);
    return out;
  }
  const bool toBool = element.isInteger(1), toInt = llvm::isa<IntegerType>(element) && !toBool,
             fromFloat = llvm::isa<FloatType>(t.element);
  return ewise({&t}, element, [&](OpBuilder &b, Location l, ArrayRef<Value> a) -> Value {
    if (toBool)
      return b.create<arith::CmpFOp>(l, arith::CmpFPredicate::UNE, a[0], f32(b, 0.0));
    if (toInt && fromFloat) // ONNX truncates toward zero; stores round to nearest
      return truncF(b, l, a[0]);
    return a[0];
  });
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
  if (t.constant && t.count() <= (1 << 16)) {
    std::vector<int64_t> inStrides(t.rank(), 1);
    for (int d = t.rank() - 2; d >= 0; --d)
      inStrides[d] = inStrides[d + 1] * t.shape[d + 1];
    std::vector<double> vals;
    std::vector<int64_t> idx(shape.size(), 0);
    for (int64_t n = 0; n < t.count(); ++n) {
      int64_t flat = 0;
      for (size_t d = 0; d < shape.size(); ++d)
        flat += idx[d] * inStrides[perm[d]];
      vals.push_back((*t.constant)[flat]);
      for (int d = static_cast<int>(shape.size()) - 1; d >= 0 && ++idx[d] == shape[d]; --d)
        idx[d] = 0;
    }
    return constantTensor(vals, shape, t.element);
  }
  return make(builder.create<trn::TransposeOp>(loc, type(shape, t.element), value(t), perm));
}

Tensor Context::slice(Tensor &t, const std::vector<int64_t> &offsets, const std::vector<int64_t> &sizes,
                      const std::vector<int64_t> &strides) {
  const int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t(1), std::multiplies<int64_t>());
  if (t.constant || total == 0) {
    // Fold: walk the sliced index space.
    std::vector<double> vals;
    std::vector<int64_t> idx(sizes.size(), 0);
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
  bool identity = true;
  std::vector<int64_t> off = offsets, st = strides;
  std::vector<int> reversed;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (st[d] < 0) { // the same elements walked forwards, then reversed
      off[d] += (sizes[d] - 1) * st[d];
      st[d] = -st[d];
      if (sizes[d] > 1)
        reversed.push_back(static_cast<int>(d));
    }
    if (sizes[d] == 1)
      st[d] = 1;
    identity = identity && off[d] == 0 && st[d] == 1 && sizes[d] == t.shape[d];
  }
  Tensor out = identity ? t : make(builder.create<trn::SliceOp>(loc, type(sizes, t.element), value(t), off, st));
  for (int d : reversed) {
    std::vector<double> idx;
    for (int64_t i = sizes[d] - 1; i >= 0; --i)
      idx.push_back(static_cast<double>(i));
    Tensor ids = constantTensor(idx, {sizes[d]}, builder.getI32Type());
    out = gatherAxis(out, ids, d);
  }
  return out;
}

Tensor Context::gatherAxis(Tensor &data, Tensor &indices, int64_t axis) {
  std::vector<int64_t> shape(data.shape.begin(), data.shape.begin() + axis);
  shape.insert(shape.end(), indices.shape.begin(), indices.shape.end());
  shape.insert(shape.end(), data.shape.begin() + axis + 1, data.shape.end());
  const int64_t n = data.shape[axis];
  if (indices.constant)
    for (double i : *indices.constant)
      if (i < 0 || i >= static_cast<double>(n))
        fail("index " + std::to_string(toInt64(i)) + " is out of range for an axis of " + std::to_string(n));
  if (data.constant && indices.constant && data.count() <= (1 << 20)) { // shape arithmetic
    std::vector<double> out;
    const int64_t outer = std::accumulate(data.shape.begin(), data.shape.begin() + axis, int64_t(1),
                                          std::multiplies<int64_t>()),
                  inner = std::accumulate(data.shape.begin() + axis + 1, data.shape.end(), int64_t(1),
                                          std::multiplies<int64_t>());
    for (int64_t o = 0; o < outer; ++o)
      for (double i : *indices.constant)
        for (int64_t j = 0; j < inner; ++j)
          out.push_back((*data.constant)[(o * n + static_cast<int64_t>(i)) * inner + j]);
    return constantTensor(out, shape, data.element);
  }
  if (data.count() == 0 || indices.count() == 0)
    return constantTensor({}, shape, data.element);
  // Rows of the gathered axis: move it first, flatten the rest into a row.
  std::vector<int64_t> perm;
  perm.push_back(axis);
  for (int64_t d = 0; d < data.rank(); ++d)
    if (d != axis)
      perm.push_back(d);
  Tensor moved = transpose(data, perm);
  const int64_t row = data.count() / std::max<int64_t>(1, n);
  Tensor table = reshape(moved, {n, row});
  Tensor ids = indices;
  if (!ids.element.isInteger(32) && !ids.element.isInteger(64))
    ids = convert(ids, builder.getI32Type());
  std::vector<int64_t> gshape = ids.shape;
  gshape.push_back(row);
  Tensor gathered = make(builder.create<trn::GatherOp>(loc, type(gshape, data.element), value(table), value(ids)));
  // [ids..., rest of data] then back to the data's order around the axis.
  std::vector<int64_t> full = ids.shape;
  for (int64_t d = 0; d < data.rank(); ++d)
    if (d != axis)
      full.push_back(data.shape[d]);
  Tensor y = reshape(gathered, full);
  if (axis > 0) {
    // y dims: [ids (q), before (axis), after]; want [before, ids, after].
    const int64_t q = ids.rank();
    std::vector<int64_t> p;
    for (int64_t d = 0; d < axis; ++d)
      p.push_back(q + d);
    for (int64_t d = 0; d < q; ++d)
      p.push_back(d);
    for (int64_t d = q + axis; d < static_cast<int64_t>(full.size()); ++d)
      p.push_back(d);
    y = transpose(y, p);
  }
  return y;
}

Tensor Context::concat(std::vector<Tensor *> parts, int64_t axis) {
  std::vector<int64_t> shape = parts[0]->shape;
  shape[axis] = 0;
  bool allConstant = true;
  for (Tensor *p : parts) {
    if (p->rank() != static_cast<int>(shape.size()))
      fail("concatenated tensors differ in rank");
    for (size_t d = 0; d < shape.size(); ++d)
      if (static_cast<int64_t>(d) != axis && p->shape[d] != shape[d])
        fail("concatenated tensors differ outside the axis");
    shape[axis] += p->shape[axis];
    allConstant = allConstant && p->constant;
  }
  // Folded when small (shape arithmetic); a huge folded vector would only
  // exhaust the host's memory.
  if (allConstant && shape.size() == 1 && shape[0] <= (int64_t(1) << 20)) {
    std::vector<double> vals;
    for (Tensor *p : parts)
      vals.insert(vals.end(), p->constant->begin(), p->constant->end());
    return constantTensor(vals, shape, parts[0]->element);
  }
  if (parts.size() == 1)
    return *parts[0];
  std::vector<Value> operands;
  for (Tensor *p : parts)
    operands.push_back(value(*p));
  return make(builder.create<trn::ConcatOp>(loc, type(shape, parts[0]->element), operands,
                                            builder.getI64IntegerAttr(axis)));
}

Tensor Context::pad(Tensor &t, const std::vector<int64_t> &low, const std::vector<int64_t> &high, double v) {
  bool any = false;
  std::vector<int64_t> shape = t.shape;
  for (int d = 0; d < t.rank(); ++d) {
    any = any || low[d] || high[d];
    shape[d] += low[d] + high[d];
  }
  if (!any)
    return t;
  return make(builder.create<trn::PadOp>(loc, type(shape, t.element), value(t), builder.getDenseI64ArrayAttr(low),
                                         builder.getDenseI64ArrayAttr(high),
                                         builder.getF32FloatAttr(static_cast<float>(v))));
}

Tensor Context::matmul(Tensor &a0, Tensor &b0) {
  // numpy matmul: 1-D operands are promoted, batch dims broadcast.
  Tensor a = a0, b = b0;
  if (a.rank() == 0 || b.rank() == 0)
    fail("matmul operands must have rank 1 or more");
  // Integer matmuls run on the PE in f32 (exact while products stay below 2^24).
  const Type element = a.element;
  if (llvm::isa<IntegerType>(element)) {
    a = convert(a, f32Type());
    b = convert(b, f32Type());
  }
  const bool vecA = a.rank() == 1, vecB = b.rank() == 1;
  if (vecA)
    a = reshape(a, {1, a.shape[0]});
  if (vecB)
    b = reshape(b, {b.shape[0], 1});
  if (a.shape.back() != b.shape[b.rank() - 2])
    fail("matmul contraction sizes differ (" + std::to_string(a.shape.back()) + " vs " +
         std::to_string(b.shape[b.rank() - 2]) + ")");
  const int64_t M = a.shape[a.rank() - 2], K = a.shape.back(), N = b.shape.back();
  std::vector<int64_t> aBatch(a.shape.begin(), a.shape.end() - 2), bBatch(b.shape.begin(), b.shape.end() - 2);
  std::vector<int64_t> batch = broadcastShapes(aBatch, bBatch, *this);
  const int64_t bCount = std::accumulate(bBatch.begin(), bBatch.end(), int64_t(1), std::multiplies<int64_t>());
  Tensor result;
  const Type mmType = a.element;
  if (bCount == 1) {
    // Shared weights: fold a's batch into M.
    const int64_t rows = std::accumulate(aBatch.begin(), aBatch.end(), int64_t(1), std::multiplies<int64_t>()) * M;
    Tensor a2 = reshape(a, {rows, K}), b2 = reshape(b, {K, N});
    Value mm = builder.create<trn::MatmulOp>(loc, type({rows, N}, mmType), value(a2), value(b2), ValueRange{},
                                             TypeAttr());
    result = make(mm);
  } else {
    // Equal batches (a broadcast batch is materialised first).
    std::vector<int64_t> aFull = batch, bFull = batch;
    aFull.insert(aFull.end(), {M, K});
    bFull.insert(bFull.end(), {K, N});
    Tensor ab = broadcastTo(a, aFull);
    Tensor bb = broadcastTo(b, bFull);
    const int64_t count = std::accumulate(batch.begin(), batch.end(), int64_t(1), std::multiplies<int64_t>());
    Tensor a3 = reshape(ab, {count, M, K}), b3 = reshape(bb, {count, K, N});
    Value mm = builder.create<trn::MatmulOp>(loc, type({count, M, N}, mmType), value(a3), value(b3), ValueRange{},
                                             TypeAttr());
    result = make(mm);
  }
  std::vector<int64_t> shape = batch;
  if (!vecA)
    shape.push_back(M);
  if (!vecB)
    shape.push_back(N);
  result = reshape(result, shape);
  return convert(result, element);
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
  if (axes.empty())
    return t;
  return make(builder.create<trn::ReduceOp>(loc, type(shape, t.element), value(t), builder.getStringAttr(kind),
                                            builder.getDenseI64ArrayAttr(axes), builder.getBoolAttr(keepDims)));
}

std::string onnxTypeName(int onnxType) {
  if (onnx::TensorProto_DataType_IsValid(onnxType))
    return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(onnxType));
  return "type " + std::to_string(onnxType);
}

Type elementType(const Context &c, int onnxType, const std::string &what) {
  Builder b(c.builder.getContext());
  switch (onnxType) {
  case onnx::TensorProto::FLOAT: return b.getF32Type();
  case onnx::TensorProto::DOUBLE: return b.getF32Type(); // computed in fp32
  case onnx::TensorProto::FLOAT16: return b.getF16Type();
  case onnx::TensorProto::BFLOAT16: return b.getBF16Type();
  case onnx::TensorProto::INT8: return b.getIntegerType(8);
  case onnx::TensorProto::UINT8:
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::UINT16:
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::UINT32: return b.getI32Type();
  case onnx::TensorProto::INT64:
  case onnx::TensorProto::UINT64: return b.getI64Type();
  case onnx::TensorProto::BOOL: return b.getI1Type();
  default: c.fail(what + " has element type " + onnxTypeName(onnxType) + ", which is not supported");
  }
}

std::vector<double> tensorElements(const onnx::TensorProto &t, const std::string &baseDir, const Context &c) {
  int64_t count = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || (d > 0 && count > (int64_t(1) << 40) / d))
      c.fail("tensor '" + t.name() + "' has an invalid shape");
    count *= d;
  }
  if (t.data_type() == onnx::TensorProto::STRING)
    c.fail("tensor '" + t.name() + "' holds strings, which are not supported");
  std::string raw;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto &kv : t.external_data()) {
      char *end = nullptr;
      if (kv.key() == "location") {
        location = kv.value();
      } else if (kv.key() == "offset" || kv.key() == "length") {
        long long v = std::strtoll(kv.value().c_str(), &end, 10);
        if (kv.value().empty() || *end || v < 0)
          c.fail("external data of tensor '" + t.name() + "' has an invalid " + kv.key() + " '" + kv.value() + "'");
        (kv.key() == "offset" ? offset : length) = v;
      }
    }
    if (location.empty())
      c.fail("external data of tensor '" + t.name() + "' has no location");
    std::filesystem::path path = std::filesystem::path(baseDir) / location;
    std::error_code ec;
    // External data stays inside the model's folder (as ONNX's checker
    // requires): no absolute paths, no '..', no symlink that leads out.
    {
      const std::filesystem::path rel(location);
      bool escapes = rel.is_absolute() || rel.has_root_name() || rel.has_root_directory();
      for (const auto &part : rel)
        escapes = escapes || part == "..";
      const std::filesystem::path dir = std::filesystem::weakly_canonical(std::filesystem::absolute(baseDir), ec);
      const std::filesystem::path real = std::filesystem::weakly_canonical(std::filesystem::absolute(path), ec);
      const std::string d = dir.string(), r = real.string();
      escapes = escapes || ec || r.size() <= d.size() || r.compare(0, d.size(), d) != 0 ||
                (d.back() != '/' && r[d.size()] != '/');
      if (escapes)
        c.fail("external data location '" + location + "' of tensor '" + t.name() +
               "' is outside the model's folder (locations are relative paths inside it)");
    }
    if (!std::filesystem::is_regular_file(path, ec))
      c.fail("external data file '" + path.string() + "' of tensor '" + t.name() + "' cannot be read");
    std::ifstream in(path, std::ios::binary);
    if (!in)
      c.fail("external data file '" + path.string() + "' of tensor '" + t.name() + "' cannot be read");
    in.seekg(0, std::ios::end);
    const int64_t fileSize = static_cast<int64_t>(in.tellg());
    if (length < 0)
      length = fileSize - offset;
    if (offset > fileSize || length > fileSize - offset)
      c.fail("external data file '" + path.string() + "' is too short for tensor '" + t.name() + "'");
    in.seekg(offset);
    raw.resize(static_cast<size_t>(std::max<int64_t>(0, length)));
    if (!in.read(raw.data(), static_cast<std::streamsize>(raw.size())))
      c.fail("external data of tensor '" + t.name() + "' is truncated");
  } else {
    raw = t.raw_data();
  }
  std::vector<double> out;
  auto fromRaw = [&](size_t size, auto convert) {
    if (raw.size() != size * static_cast<size_t>(count))
      c.fail("tensor '" + t.name() + "' has " + std::to_string(raw.size()) + " bytes of data for " +
             std::to_string(count) + " elements");
    out.reserve(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i)
      out.push_back(convert(raw.data() + i * size));
  };
  const bool hasRaw = !raw.empty() || t.data_location() == onnx::TensorProto::EXTERNAL;
  const int type = t.data_type();
  switch (type) {
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
  case onnx::TensorProto::UINT32:
  case onnx::TensorProto::UINT64:
    if (hasRaw && type == onnx::TensorProto::UINT32)
      fromRaw(4, [](const char *p) { uint32_t v; std::memcpy(&v, p, 4); return static_cast<double>(v); });
    else if (hasRaw)
      fromRaw(8, [](const char *p) { uint64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); });
    else
      for (uint64_t v : t.uint64_data())
        out.push_back(static_cast<double>(v));
    break;
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::UINT16:
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT8:
  case onnx::TensorProto::BOOL:
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16: {
    const size_t size = type == onnx::TensorProto::INT32 ? 4
                        : (type == onnx::TensorProto::INT8 || type == onnx::TensorProto::UINT8 ||
                           type == onnx::TensorProto::BOOL)
                            ? 1
                            : 2;
    auto convert = [&](const char *p) -> double {
      switch (type) {
      case onnx::TensorProto::INT32: { int32_t v; std::memcpy(&v, p, 4); return v; }
      case onnx::TensorProto::INT16: { int16_t v; std::memcpy(&v, p, 2); return v; }
      case onnx::TensorProto::UINT16: { uint16_t v; std::memcpy(&v, p, 2); return v; }
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
      // int32_data holds the narrower integers, bools and fp16/bf16 bits.
      for (int32_t v : t.int32_data()) {
        if (type == onnx::TensorProto::FLOAT16)
          out.push_back(trnx::decode(trnx::DType::FP16, static_cast<uint32_t>(v) & 0xffff));
        else if (type == onnx::TensorProto::BFLOAT16)
          out.push_back(trnx::decode(trnx::DType::BF16, static_cast<uint32_t>(v) & 0xffff));
        else if (type == onnx::TensorProto::BOOL)
          out.push_back(v != 0);
        else
          out.push_back(v);
      }
    }
    break;
  }
  default:
    c.fail("tensor '" + t.name() + "' has element type " + onnxTypeName(type) + ", which is not supported");
  }
  if (static_cast<int64_t>(out.size()) != count)
    c.fail("tensor '" + t.name() + "' has " + std::to_string(out.size()) + " elements for a shape of " +
           std::to_string(count));
  return out;
}

namespace {

std::string valueKind(const onnx::TypeProto &t) {
  if (t.has_sequence_type())
    return "a sequence";
  if (t.has_optional_type())
    return "an optional";
  if (t.has_map_type())
    return "a map";
  if (t.has_sparse_tensor_type())
    return "a sparse tensor";
  return "not a tensor";
}

// How an error names the shape option: trnx-compile's flag or trnx.compile's keyword.
std::string shapeOption(const OnnxImportOptions &options, const std::string &name) {
  return options.pythonNames ? "shapes['" + name + "']" : "--shape " + name;
}
std::string shapeHint(const OnnxImportOptions &options, const std::string &name) {
  return options.pythonNames ? "pass shapes={'" + name + "': [D0, D1, ...]} to trnx.compile"
                             : "give it with --shape " + name + "=D0,D1,...";
}

std::vector<int64_t> valueShape(const onnx::ValueInfoProto &v, const OnnxImportOptions &options, const Context &c) {
  auto it = options.shapes.find(v.name());
  const auto &tt = v.type().tensor_type();
  if (it != options.shapes.end()) {
    if (tt.has_shape() && tt.shape().dim_size() != static_cast<int>(it->second.size()))
      c.fail(shapeOption(options, v.name()) + " has " + std::to_string(it->second.size()) + " dims, the model's input has " +
             std::to_string(tt.shape().dim_size()));
    if (tt.has_shape())
      for (int d = 0; d < tt.shape().dim_size(); ++d) {
        const auto &dim = tt.shape().dim(d);
        if (dim.has_dim_value() && dim.dim_value() != it->second[d])
          c.fail(shapeOption(options, v.name()) + " gives dim " + std::to_string(d) + " as " + std::to_string(it->second[d]) +
                 ", the model fixes it to " + std::to_string(dim.dim_value()));
      }
    c.checkShape(it->second);
    return it->second;
  }
  if (!tt.has_shape())
    c.fail("input '" + v.name() + "' has no shape: " + shapeHint(options, v.name()));
  std::vector<int64_t> shape;
  for (const auto &d : tt.shape().dim()) {
    if (!d.has_dim_value() || d.dim_value() < 0)
      c.fail("input '" + v.name() + "' has a dynamic dimension" + (d.has_dim_param() ? " '" + d.dim_param() + "'" : "") +
             ": " + shapeHint(options, v.name()));
    shape.push_back(d.dim_value());
  }
  c.checkShape(shape);
  return shape;
}

int64_t defaultOpset(const onnx::ModelProto &m, bool &found) {
  found = false;
  for (const auto &o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") {
      found = true;
      return o.version();
    }
  return 0;
}

std::string nodeName(const onnx::NodeProto &n) { return n.name().empty() ? n.op_type() : n.name(); }

// A message as one line of valid UTF-8: control characters and bytes that
// are not UTF-8 (names in a corrupt model) are escaped as \xNN.
std::string printable(const std::string &s) {
  std::string out;
  auto escape = [&](unsigned char ch) {
    static const char *hex = "0123456789abcdef";
    out += "\\x";
    out += hex[ch >> 4];
    out += hex[ch & 15];
  };
  for (size_t i = 0; i < s.size();) {
    const unsigned char ch = static_cast<unsigned char>(s[i]);
    size_t len = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3 : (ch >> 3) == 30 ? 4 : 0;
    bool valid = len > 0 && i + len <= s.size();
    for (size_t k = 1; valid && k < len; ++k)
      valid = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
    if (!valid || (len == 1 && (ch < 0x20 || ch == 0x7f))) {
      escape(ch);
      ++i;
    } else {
      out.append(s, i, len);
      i += len;
    }
  }
  return out;
}

} // namespace

} // namespace trnx::onnximport

namespace trnx {

std::string onnxNodeLocationName(const std::string &opType, const std::string &name) {
  return "onnx." + opType + (name.empty() ? "" : ":" + name);
}

namespace {
std::string findOnnxNode(Location loc) {
  if (auto named = llvm::dyn_cast<NameLoc>(loc)) {
    llvm::StringRef text = named.getName().getValue();
    if (text.consume_front("onnx.")) {
      auto [opType, name] = text.split(':');
      return "node '" + (name.empty() ? opType : name).str() + "' (" + opType.str() + ")";
    }
    return findOnnxNode(named.getChildLoc());
  }
  if (auto fused = llvm::dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (std::string found = findOnnxNode(inner); !found.empty())
        return found;
  if (auto call = llvm::dyn_cast<CallSiteLoc>(loc))
    return findOnnxNode(call.getCallee());
  return "";
}
} // namespace

std::string onnxNodeOf(Location loc) { return findOnnxNode(loc); }

namespace {
void checkParsed(const onnx::ModelProto &model, bool parsed, const std::string &path) {
  if (!parsed)
    trnx::fail(path, ": not a valid ONNX model (the protobuf does not parse; truncated or corrupt?)");
  if (!model.has_graph() || model.graph().output_size() == 0)
    trnx::fail(path, ": not a valid ONNX model (no graph with outputs; truncated or corrupt?)");
}

OwningOpRef<ModuleOp> importModel(MLIRContext &context, const onnx::ModelProto &model, const std::string &path,
                                  const OnnxImportOptions &options);
} // namespace

OwningOpRef<ModuleOp> importOnnx(MLIRContext &context, const std::string &path, const OnnxImportOptions &options) {
  onnx::ModelProto model;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    trnx::fail(path, ": is a directory, not an ONNX model");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    trnx::fail(path, ": cannot open file");
  const bool parsed = model.ParseFromIstream(&in);
  checkParsed(model, parsed, path);
  return importModel(context, model, path, options);
}

OwningOpRef<ModuleOp> importOnnxBytes(MLIRContext &context, llvm::StringRef bytes, const std::string &path,
                                      const OnnxImportOptions &options) {
  onnx::ModelProto model;
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    trnx::fail(path, ": not a valid ONNX model (over 2 GiB of protobuf; large weights go in external data)");
  const bool parsed = model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  checkParsed(model, parsed, path);
  return importModel(context, model, path, options);
}

namespace {
OwningOpRef<ModuleOp> importModel(MLIRContext &context, const onnx::ModelProto &model, const std::string &path,
                                  const OnnxImportOptions &options) {
  using namespace onnximport;
  bool hasOpset = false;
  const int64_t opset = defaultOpset(model, hasOpset);
  Context c(context, path, opset);
  const std::string baseDir = std::filesystem::path(path).parent_path().string();
  Location fileLoc = FileLineColLoc::get(&context, path, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  try {
    if (hasOpset && (opset < 1 || opset > kMaxOpset))
      c.fail("opset " + std::to_string(opset) + " is not supported (the importer handles opsets up to " +
             std::to_string(kMaxOpset) + ")");
    const onnx::GraphProto &g = model.graph();
    // Every node's operator first, so an unsupported operator is the error
    // reported (not a consequence of it).
    for (const auto &node : g.node()) {
      const bool defaultDomain = node.domain().empty() || node.domain() == "ai.onnx";
      if (defaultDomain && supportedVersion(node.op_type(), opset) != 0)
        continue;
      int64_t domainOpset = opset;
      if (!defaultDomain)
        for (const auto &o : model.opset_import())
          if (o.domain() == node.domain())
            domainOpset = o.version();
      trnx::fail(path, ": node '", nodeName(node), "' (", defaultDomain ? "" : node.domain() + ".", node.op_type(),
                 ", opset ", domainOpset, ") is not supported");
    }
    if (!hasOpset)
      c.fail("the model imports no opset of the default ONNX domain");
    std::map<std::string, const onnx::TensorProto *> inits;
    int64_t initBytes = 0;
    for (const auto &t : g.initializer()) {
      inits[t.name()] = &t;
      int64_t n = 1; // elements, saturated at 2^41 (tensorElements refuses more than 2^40)
      for (int64_t d : t.dims())
        n = d > 0 && n > (int64_t(1) << 40) / d ? int64_t(1) << 41 : n * std::max<int64_t>(d, 0);
      initBytes += n * 4;
    }
    if (g.sparse_initializer_size() > 0)
      c.fail("sparse initializers are not supported");
    const bool weightArgs = options.weightsAsArguments || initBytes > (int64_t(1) << 30);
    // Arguments: graph inputs that are not initializers (and weights, if arguments).
    std::vector<Type> argTypes;
    std::vector<std::string> argNames, argRoles;
    std::set<std::string> inputNames;
    for (const auto &in : g.input()) {
      inputNames.insert(in.name());
      if (inits.count(in.name()))
        continue;
      if (!in.type().has_tensor_type())
        c.fail("graph input '" + in.name() + "' is " + valueKind(in.type()) + ", which is not supported");
    }
    for (const auto &kv : options.shapes)
      if (!inputNames.count(kv.first) || inits.count(kv.first))
        c.fail((options.pythonNames ? "shapes names '" : "--shape names '") + kv.first +
               "', which is not an input of the model");
    for (const auto &in : g.input()) {
      if (inits.count(in.name()))
        continue;
      std::vector<int64_t> shape = valueShape(in, options, c);
      argTypes.push_back(
          RankedTensorType::get(shape, elementType(c, in.type().tensor_type().elem_type(), "input '" + in.name() + "'")));
      argNames.push_back(in.name());
      argRoles.push_back("input");
    }
    for (const auto &out : g.output())
      if (out.has_type() && !out.type().has_tensor_type())
        c.fail("graph output '" + out.name() + "' is " + valueKind(out.type()) + ", which is not supported");
    if (weightArgs)
      for (const auto &t : g.initializer()) {
        std::vector<int64_t> shape(t.dims().begin(), t.dims().end());
        argTypes.push_back(RankedTensorType::get(shape, elementType(c, t.data_type(), "initializer '" + t.name() + "'")));
        argNames.push_back(t.name());
        argRoles.push_back("weight");
      }
    OpBuilder &b = c.builder;
    b.setInsertionPointToEnd(module->getBody());
    auto func = b.create<func::FuncOp>(fileLoc, "main", b.getFunctionType(argTypes, {}));
    Block *entry = func.addEntryBlock();
    b.setInsertionPointToStart(entry);
    for (size_t i = 0; i < argNames.size(); ++i) {
      func.setArgAttr(static_cast<unsigned>(i), "trnx.name", b.getStringAttr(argNames[i]));
      if (argRoles[i] == "weight") {
        func.setArgAttr(static_cast<unsigned>(i), "trnx.role", b.getStringAttr("weight"));
        c.weightArguments.insert(argNames[i]);
      }
      c.values[argNames[i]] = c.make(entry->getArgument(static_cast<unsigned>(i)));
      // A tensor without elements is known: there is nothing to read.
      if (c.values[argNames[i]].count() == 0)
        c.values[argNames[i]] = c.constantTensor({}, c.values[argNames[i]].shape, c.values[argNames[i]].element);
    }
    if (!weightArgs)
      for (const auto &t : g.initializer()) {
        std::vector<int64_t> shape(t.dims().begin(), t.dims().end());
        c.values[t.name()] = c.constantTensor(tensorElements(t, baseDir, c), shape,
                                              elementType(c, t.data_type(), "initializer '" + t.name() + "'"));
      }
    int index = 0;
    for (const auto &node : g.node()) {
      ++index;
      c.node = &node;
      c.version = supportedVersion(node.op_type(), opset);
      c.loc = NameLoc::get(b.getStringAttr(onnxNodeLocationName(node.op_type(), node.name())),
                           FileLineColLoc::get(&context, path, index, 0));
      convertNode(c);
      for (const std::string &out : node.output())
        if (!out.empty())
          c.producers[out] = &node;
      for (int i = 0; i < node.output_size(); ++i)
        if (!node.output(i).empty() && !c.values.count(node.output(i)))
          c.fail("output " + std::to_string(i) + " ('" + node.output(i) + "') is not supported");
    }
    c.node = nullptr;
    c.loc = fileLoc;
    std::vector<Value> results;
    std::vector<Type> resultTypes;
    std::set<std::string> outputNames;
    for (const auto &out : g.output()) {
      auto it = c.values.find(out.name());
      if (it == c.values.end())
        c.fail("graph output '" + out.name() + "' is never computed");
      if (!outputNames.insert(out.name()).second)
        c.fail("graph output '" + out.name() + "' is listed twice");
      results.push_back(c.value(it->second));
      resultTypes.push_back(results.back().getType());
    }
    b.create<func::ReturnOp>(fileLoc, results);
    func.setFunctionType(b.getFunctionType(argTypes, resultTypes));
    for (int i = 0; i < g.output_size(); ++i)
      func.setResultAttr(static_cast<unsigned>(i), "trnx.name", b.getStringAttr(g.output(i).name()));
  } catch (const Error &e) {
    throw Error(printable(e.what()));
  } catch (const std::exception &e) {
    throw Error(printable(path + ": " + e.what()));
  }
  return module;
}
} // namespace

} // namespace trnx
