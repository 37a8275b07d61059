// ONNX operators -> trn dialect. Elementwise operators become trn.ewise
// bodies (numpy broadcasting, as ONNX), reductions trn.reduce, MatMul/Gemm
// trn.matmul, and the data-movement operators views. Values known at import
// time (shapes, axes, small int tensors) are folded. Conv and pooling are
// decomposed into strided slices of the padded input (views) feeding a
// matmul or an elementwise max/sum.
#include "OnnxContext.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <limits>
#include <numeric>

using namespace mlir;

namespace trnx::onnximport {
namespace {

using Args = ArrayRef<Value>;

int64_t product(const std::vector<int64_t> &v) {
  return std::accumulate(v.begin(), v.end(), int64_t(1), std::multiplies<int64_t>());
}

Value cmp(OpBuilder &b, Location l, arith::CmpFPredicate p, Value x, Value y) {
  return b.create<arith::CmpFOp>(l, p, x, y);
}

// Folds an elementwise op over known inputs (numpy broadcasting).
std::optional<Tensor> foldBinary(Context &c, Tensor &x, Tensor &y, const std::function<double(double, double)> &f,
                                 Type element) {
  if (!x.constant || !y.constant || x.count() > 4096 || y.count() > 4096)
    return std::nullopt;
  std::vector<int64_t> shape = broadcastShapes(x.shape, y.shape, c);
  int64_t n = product(shape);
  std::vector<double> out(n);
  auto index = [&](const Tensor &t, int64_t flat) {
    int64_t idx = 0, stride = 1;
    for (int d = static_cast<int>(shape.size()) - 1, e = t.rank() - 1; d >= 0; --d, --e) {
      int64_t coord = flat % shape[d];
      flat /= shape[d];
      if (e >= 0) {
        if (t.shape[e] != 1)
          idx += coord * stride;
        stride *= t.shape[e];
      }
    }
    return idx;
  };
  for (int64_t i = 0; i < n; ++i)
    out[i] = f((*x.constant)[index(x, i)], (*y.constant)[index(y, i)]);
  return c.constantTensor(out, shape, element);
}

bool isIntType(Type t) { return llvm::isa<IntegerType>(t); }

// Binary arithmetic/comparison operators.
bool binary(Context &c, const std::string &op) {
  Tensor &x = c.input(0), &y = c.input(1);
  const bool compare = op == "Equal" || op == "Less" || op == "Greater" || op == "LessOrEqual" || op == "GreaterOrEqual";
  Type element = compare ? c.i1Type() : x.element;
  const bool ints = isIntType(x.element);
  auto fold = [&](double a, double b) -> double {
    if (op == "Add") return a + b;
    if (op == "Sub") return a - b;
    if (op == "Mul") return a * b;
    if (op == "Div") return ints ? std::trunc(a / b) : a / b;
    if (op == "Pow") return std::pow(a, b);
    if (op == "Max") return std::max(a, b);
    if (op == "Min") return std::min(a, b);
    if (op == "Equal") return a == b;
    if (op == "Less") return a < b;
    if (op == "Greater") return a > b;
    if (op == "LessOrEqual") return a <= b;
    return a >= b;
  };
  if (auto folded = foldBinary(c, x, y, fold, element)) {
    c.setOutput(0, *folded);
    return true;
  }
  c.setOutput(0, c.ewise({&x, &y}, element, [&](OpBuilder &b, Location l, Args a) -> Value {
    using P = arith::CmpFPredicate;
    if (op == "Add") return b.create<arith::AddFOp>(l, a[0], a[1]);
    if (op == "Sub") return b.create<arith::SubFOp>(l, a[0], a[1]);
    if (op == "Mul") return b.create<arith::MulFOp>(l, a[0], a[1]);
    if (op == "Div") return b.create<arith::DivFOp>(l, a[0], a[1]);
    if (op == "Pow") return b.create<math::PowFOp>(l, a[0], a[1]);
    if (op == "Max") return b.create<arith::MaximumFOp>(l, a[0], a[1]);
    if (op == "Min") return b.create<arith::MinimumFOp>(l, a[0], a[1]);
    if (op == "Equal") return cmp(b, l, P::OEQ, a[0], a[1]);
    if (op == "Less") return cmp(b, l, P::OLT, a[0], a[1]);
    if (op == "Greater") return cmp(b, l, P::OGT, a[0], a[1]);
    if (op == "LessOrEqual") return cmp(b, l, P::OLE, a[0], a[1]);
    return cmp(b, l, P::OGE, a[0], a[1]);
  }));
  return true;
}

// Variadic Max/Min/Sum/Mean.
bool variadic(Context &c, const std::string &op) {
  std::vector<Tensor *> ins;
  for (int i = 0; i < c.node->input_size(); ++i)
    ins.push_back(&c.input(i));
  const double n = static_cast<double>(ins.size());
  c.setOutput(0, c.ewise(ins, ins[0]->element, [&](OpBuilder &b, Location l, Args a) -> Value {
    Value acc = a[0];
    for (size_t i = 1; i < a.size(); ++i) {
      if (op == "Max") acc = b.create<arith::MaximumFOp>(l, acc, a[i]);
      else if (op == "Min") acc = b.create<arith::MinimumFOp>(l, acc, a[i]);
      else acc = b.create<arith::AddFOp>(l, acc, a[i]);
    }
    if (op == "Mean")
      acc = b.create<arith::MulFOp>(l, acc, c.f32(b, 1.0 / n));
    return acc;
  }));
  return true;
}

Value act(OpBuilder &b, Location l, const char *f, Value x) {
  return b.create<trn::ActOp>(l, b.getF32Type(), x, b.getStringAttr(f), b.getF32FloatAttr(1.0f), b.getF32FloatAttr(0.0f));
}

bool unary(Context &c, const std::string &op) {
  Tensor &x = c.input(0);
  const float alpha = c.attrFloat("alpha", op == "LeakyRelu" ? 0.01f : 1.0f);
  const std::string approximate = c.attrString("approximate", "none");
  if (x.constant && (op == "Neg" || op == "Abs" || op == "Sqrt" || op == "Reciprocal")) {
    std::vector<double> v = *x.constant;
    for (double &d : v)
      d = op == "Neg" ? -d : op == "Abs" ? std::fabs(d) : op == "Sqrt" ? std::sqrt(d) : 1.0 / d;
    c.setOutput(0, c.constantTensor(v, x.shape, x.element));
    return true;
  }
  c.setOutput(0, c.ewise({&x}, op == "Not" ? c.i1Type() : x.element, [&](OpBuilder &b, Location l, Args a) -> Value {
    Value v = a[0];
    if (op == "Sqrt") return b.create<math::SqrtOp>(l, v);
    if (op == "Reciprocal") return b.create<arith::DivFOp>(l, c.f32(b, 1.0), v);
    if (op == "Exp") return b.create<math::ExpOp>(l, v);
    if (op == "Log") return b.create<math::LogOp>(l, v);
    if (op == "Erf") return b.create<math::ErfOp>(l, v);
    if (op == "Tanh") return b.create<math::TanhOp>(l, v);
    if (op == "Abs") return b.create<math::AbsFOp>(l, v);
    if (op == "Neg") return b.create<arith::NegFOp>(l, v);
    if (op == "Sigmoid") return act(b, l, "sigmoid", v);
    if (op == "Relu") return act(b, l, "relu", v);
    if (op == "Gelu") return act(b, l, approximate == "tanh" ? "gelu_tanh" : "gelu", v);
    if (op == "Softplus") return b.create<math::LogOp>(l, b.create<arith::AddFOp>(l, b.create<math::ExpOp>(l, v), c.f32(b, 1.0)));
    if (op == "LeakyRelu")
      return b.create<arith::SelectOp>(l, cmp(b, l, arith::CmpFPredicate::OGT, v, c.f32(b, 0.0)), v,
                                       b.create<arith::MulFOp>(l, v, c.f32(b, alpha)));
    if (op == "Not") return cmp(b, l, arith::CmpFPredicate::OEQ, v, c.f32(b, 0.0));
    return v;
  }));
  return true;
}

bool clip(Context &c) {
  Tensor &x = c.input(0);
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  if (c.opset < 11) {
    lo = c.attrFloat("min", -std::numeric_limits<float>::infinity());
    hi = c.attrFloat("max", std::numeric_limits<float>::infinity());
  } else {
    if (c.hasInput(1)) {
      Tensor &t = c.input(1);
      if (!t.constant)
        c.fail("a non-constant min is not supported");
      lo = (*t.constant)[0];
    }
    if (c.hasInput(2)) {
      Tensor &t = c.input(2);
      if (!t.constant)
        c.fail("a non-constant max is not supported");
      hi = (*t.constant)[0];
    }
  }
  c.setOutput(0, c.ewise({&x}, x.element, [&](OpBuilder &b, Location l, Args a) -> Value {
    Value v = a[0];
    if (std::isfinite(lo))
      v = b.create<arith::MaximumFOp>(l, v, c.f32(b, lo));
    if (std::isfinite(hi))
      v = b.create<arith::MinimumFOp>(l, v, c.f32(b, hi));
    return v;
  }));
  return true;
}

bool where(Context &c) {
  Tensor &cond = c.input(0), &x = c.input(1), &y = c.input(2);
  if (cond.constant && x.constant && y.constant && cond.count() == 1) {
    c.setOutput(0, (*cond.constant)[0] != 0 ? x : y);
    return true;
  }
  c.setOutput(0, c.ewise({&cond, &x, &y}, x.element, [&](OpBuilder &b, Location l, Args a) -> Value {
    return b.create<arith::SelectOp>(l, cmp(b, l, arith::CmpFPredicate::UNE, a[0], c.f32(b, 0.0)), a[1], a[2]);
  }));
  return true;
}

bool cast(Context &c) {
  Tensor &x = c.input(0);
  Builder b(c.builder.getContext());
  Type to;
  switch (c.attrInt("to", 1)) {
  case onnx::TensorProto::FLOAT: case onnx::TensorProto::DOUBLE: to = b.getF32Type(); break;
  case onnx::TensorProto::FLOAT16: to = b.getF16Type(); break;
  case onnx::TensorProto::BFLOAT16: to = b.getBF16Type(); break;
  case onnx::TensorProto::INT8: case onnx::TensorProto::UINT8: to = b.getIntegerType(8); break;
  case onnx::TensorProto::INT32: to = b.getI32Type(); break;
  case onnx::TensorProto::INT64: to = b.getI64Type(); break;
  case onnx::TensorProto::BOOL: to = b.getI1Type(); break;
  default: c.fail("cast to ONNX type " + std::to_string(c.attrInt("to", 1)) + " is not supported");
  }
  if (x.constant) {
    std::vector<double> v = *x.constant;
    if (isIntType(to))
      for (double &d : v)
        d = to.isInteger(1) ? (d != 0) : std::trunc(d);
    c.setOutput(0, c.constantTensor(v, x.shape, to));
    return true;
  }
  const bool toInt = isIntType(to) && !to.isInteger(1) && !isIntType(x.element);
  c.setOutput(0, c.ewise({&x}, to, [&](OpBuilder &b, Location l, Args a) -> Value {
    if (to.isInteger(1))
      return cmp(b, l, arith::CmpFPredicate::UNE, a[0], c.f32(b, 0.0));
    if (toInt) // ONNX truncates toward zero; stores round to nearest
      return b.create<arith::SelectOp>(l, cmp(b, l, arith::CmpFPredicate::OLT, a[0], c.f32(b, 0.0)),
                                       b.create<arith::NegFOp>(l, b.create<math::FloorOp>(l, b.create<arith::NegFOp>(l, a[0]))),
                                       b.create<math::FloorOp>(l, a[0]));
    return a[0];
  }));
  return true;
}

bool softmax(Context &c, bool log) {
  Tensor &x = c.input(0);
  int64_t axis = normalizeAxis(c.attrInt("axis", c.opset >= 13 ? -1 : 1), x.rank(), c);
  auto softmaxLast = [&](Tensor &t) {
    return c.make(c.builder.create<trn::SoftmaxOp>(c.loc, c.type(t.shape, t.element), c.value(t), c.builder.getBoolAttr(log)));
  };
  if (c.opset < 13) { // over the flattened trailing dims
    std::vector<int64_t> shape = {product({x.shape.begin(), x.shape.begin() + axis}),
                                  product({x.shape.begin() + axis, x.shape.end()})};
    Tensor flat = c.reshape(x, shape);
    Tensor y = softmaxLast(flat);
    c.setOutput(0, c.reshape(y, x.shape));
    return true;
  }
  std::vector<int64_t> perm(x.rank());
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[axis], perm.back());
  Tensor moved = c.transpose(x, perm);
  Tensor y = softmaxLast(moved);
  c.setOutput(0, c.transpose(y, perm));
  return true;
}

bool layerNorm(Context &c) {
  Tensor &x = c.input(0);
  const int64_t axis = normalizeAxis(c.attrInt("axis", -1), x.rank(), c);
  const float eps = c.attrFloat("epsilon", 1e-5f);
  const int64_t d = product({x.shape.begin() + axis, x.shape.end()});
  std::vector<int64_t> flatShape(x.shape.begin(), x.shape.begin() + axis);
  flatShape.push_back(d);
  Tensor flat = c.reshape(x, flatShape);
  Value gamma, beta;
  if (c.hasInput(1)) {
    Tensor g = c.reshape(c.input(1), {d});
    gamma = c.value(g);
  }
  if (c.hasInput(2)) {
    Tensor bt = c.reshape(c.input(2), {d});
    beta = c.value(bt);
  }
  Value y = c.builder.create<trn::LayerNormOp>(c.loc, c.type(flatShape, x.element), c.value(flat), gamma, beta,
                                               c.builder.getF32FloatAttr(eps));
  Tensor yt = c.make(y);
  c.setOutput(0, c.reshape(yt, x.shape));
  return true;
}

bool batchNorm(Context &c) {
  Tensor &x = c.input(0), &scale = c.input(1), &bias = c.input(2), &mean = c.input(3), &var = c.input(4);
  const float eps = c.attrFloat("epsilon", 1e-5f);
  // Per-channel params on axis 1, broadcast as [C, 1, ...].
  std::vector<int64_t> pshape = {x.shape[1]};
  for (int d = 2; d < x.rank(); ++d)
    pshape.push_back(1);
  Tensor s = c.reshape(scale, pshape), b = c.reshape(bias, pshape), m = c.reshape(mean, pshape), v = c.reshape(var, pshape);
  c.setOutput(0, c.ewise({&x, &s, &b, &m, &v}, x.element, [&](OpBuilder &bb, Location l, Args a) -> Value {
    Value inv = bb.create<math::RsqrtOp>(l, bb.create<arith::AddFOp>(l, a[4], c.f32(bb, eps)));
    Value norm = bb.create<arith::MulFOp>(l, bb.create<arith::SubFOp>(l, a[0], a[3]), inv);
    return bb.create<arith::AddFOp>(l, bb.create<arith::MulFOp>(l, norm, a[1]), a[2]);
  }));
  return true;
}

bool gemm(Context &c) {
  Tensor a = c.input(0), b = c.input(1);
  if (c.attrInt("transA", 0))
    a = c.transpose(a, {1, 0});
  if (c.attrInt("transB", 0))
    b = c.transpose(b, {1, 0});
  const float alpha = c.attrFloat("alpha", 1.0f), beta = c.attrFloat("beta", 1.0f);
  Tensor y = c.matmul(a, b);
  if (c.hasInput(2) && beta != 0.0f) {
    Tensor &bias = c.input(2);
    y = c.ewise({&y, &bias}, y.element, [&](OpBuilder &bb, Location l, Args v) -> Value {
      Value acc = alpha == 1.0f ? v[0] : bb.create<arith::MulFOp>(l, v[0], c.f32(bb, alpha)).getResult();
      Value add = beta == 1.0f ? v[1] : bb.create<arith::MulFOp>(l, v[1], c.f32(bb, beta)).getResult();
      return bb.create<arith::AddFOp>(l, acc, add);
    });
  } else if (alpha != 1.0f) {
    y = c.ewise({&y}, y.element, [&](OpBuilder &bb, Location l, Args v) -> Value {
      return bb.create<arith::MulFOp>(l, v[0], c.f32(bb, alpha));
    });
  }
  c.setOutput(0, y);
  return true;
}

std::vector<int64_t> axesOf(Context &c, int inputIndex, bool attrBeforeOpset, int64_t opsetWithInput) {
  if (c.opset >= opsetWithInput)
    return c.hasInput(inputIndex) ? c.constantInts(inputIndex) : std::vector<int64_t>{};
  (void)attrBeforeOpset;
  return c.attrInts("axes");
}

bool reduceOp(Context &c, const std::string &op) {
  Tensor &x = c.input(0);
  const int64_t inputFrom = op == "ReduceSum" ? 13 : 18;
  std::vector<int64_t> axes = axesOf(c, 1, true, inputFrom);
  const bool keep = c.attrInt("keepdims", 1) != 0;
  if (axes.empty()) {
    if (c.attrInt("noop_with_empty_axes", 0)) {
      c.setOutput(0, x);
      return true;
    }
    axes.resize(x.rank());
    std::iota(axes.begin(), axes.end(), 0);
  }
  const std::string kind = op == "ReduceMax" ? "max" : op == "ReduceMin" ? "min" : "sum";
  Tensor r = c.reduce(x, kind, axes, keep);
  if (op == "ReduceMean") {
    int64_t count = 1;
    for (int64_t a : axes)
      count *= x.shape[normalizeAxis(a, x.rank(), c)];
    r = c.ewise({&r}, r.element, [&](OpBuilder &b, Location l, Args v) -> Value {
      return b.create<arith::MulFOp>(l, v[0], c.f32(b, 1.0 / static_cast<double>(count)));
    });
  }
  c.setOutput(0, r);
  return true;
}

bool reshapeOp(Context &c) {
  Tensor &x = c.input(0);
  std::vector<int64_t> shape = c.constantInts(1);
  const bool allowZero = c.attrInt("allowzero", 0) != 0;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowZero)
      shape[i] = x.shape.at(i);
    if (shape[i] == -1) {
      if (infer >= 0)
        c.fail("more than one -1 in the target shape");
      infer = static_cast<int64_t>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0)
    shape[infer] = known ? x.count() / known : 0;
  if (product(shape) != x.count())
    c.fail("cannot reshape " + std::to_string(x.count()) + " elements to the target shape");
  c.setOutput(0, c.reshape(x, shape));
  return true;
}

bool squeezeOp(Context &c, bool unsqueeze) {
  Tensor &x = c.input(0);
  std::vector<int64_t> axes = c.opset >= 13 ? (c.hasInput(1) ? c.constantInts(1) : std::vector<int64_t>{}) : c.attrInts("axes");
  std::vector<int64_t> shape;
  if (unsqueeze) {
    const int64_t rank = x.rank() + static_cast<int64_t>(axes.size());
    std::vector<bool> inserted(rank, false);
    for (int64_t a : axes)
      inserted[normalizeAxis(a, rank, c)] = true;
    for (int64_t d = 0, s = 0; d < rank; ++d)
      shape.push_back(inserted[d] ? 1 : x.shape[s++]);
  } else {
    std::vector<bool> removed(x.rank(), axes.empty());
    for (int64_t a : axes)
      removed[normalizeAxis(a, x.rank(), c)] = true;
    for (int64_t d = 0; d < x.rank(); ++d)
      if (!removed[d] || x.shape[d] != 1)
        shape.push_back(x.shape[d]);
  }
  c.setOutput(0, c.reshape(x, shape));
  return true;
}

bool flatten(Context &c) {
  Tensor &x = c.input(0);
  int64_t axis = normalizeAxis(c.attrInt("axis", 1), x.rank() + 1, c);
  c.setOutput(0, c.reshape(x, {product({x.shape.begin(), x.shape.begin() + axis}),
                               product({x.shape.begin() + axis, x.shape.end()})}));
  return true;
}

bool expand(Context &c) {
  Tensor &x = c.input(0);
  std::vector<int64_t> shape = broadcastShapes(x.shape, c.constantInts(1), c);
  if (shape == x.shape) {
    c.setOutput(0, x);
    return true;
  }
  // An elementwise copy materialises the broadcast.
  c.setOutput(0, c.ewise({&x}, x.element, [](OpBuilder &, Location, Args v) { return v[0]; }, &shape));
  return true;
}

bool concatOp(Context &c) {
  std::vector<Tensor *> parts;
  for (int i = 0; i < c.node->input_size(); ++i)
    if (c.input(i).count() > 0 || c.node->input_size() == 1)
      parts.push_back(&c.input(i));
  const int64_t axis = normalizeAxis(c.attrInt("axis", 0), parts[0]->rank(), c);
  c.setOutput(0, parts.size() == 1 ? *parts[0] : c.concat(parts, axis));
  return true;
}

bool split(Context &c) {
  Tensor &x = c.input(0);
  const int64_t axis = normalizeAxis(c.attrInt("axis", 0), x.rank(), c);
  std::vector<int64_t> sizes = c.opset >= 13 ? (c.hasInput(1) ? c.constantInts(1) : std::vector<int64_t>{}) : c.attrInts("split");
  const int outputs = c.node->output_size();
  if (sizes.empty()) {
    const int64_t n = x.shape[axis], each = (n + outputs - 1) / outputs;
    for (int i = 0; i < outputs; ++i)
      sizes.push_back(std::min(each, n - each * i));
  }
  int64_t at = 0;
  for (int i = 0; i < outputs; ++i) {
    std::vector<int64_t> off(x.rank(), 0), sz = x.shape, st(x.rank(), 1);
    off[axis] = at;
    sz[axis] = sizes.at(i);
    c.setOutput(i, c.slice(x, off, sz, st));
    at += sizes[i];
  }
  return true;
}

bool sliceOp(Context &c) {
  Tensor &x = c.input(0);
  std::vector<int64_t> starts, ends, axes, steps;
  if (c.opset < 10) {
    starts = c.attrInts("starts");
    ends = c.attrInts("ends");
    axes = c.attrInts("axes");
  } else {
    starts = c.constantInts(1);
    ends = c.constantInts(2);
    if (c.hasInput(3))
      axes = c.constantInts(3);
    if (c.hasInput(4))
      steps = c.constantInts(4);
  }
  if (axes.empty()) {
    axes.resize(starts.size());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (steps.empty())
    steps.assign(starts.size(), 1);
  std::vector<int64_t> off(x.rank(), 0), sz = x.shape, st(x.rank(), 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t a = normalizeAxis(axes[i], x.rank(), c), n = x.shape[a];
    if (steps[i] <= 0)
      c.fail("slices with step " + std::to_string(steps[i]) + " are not supported");
    int64_t s = starts[i] < 0 ? starts[i] + n : starts[i], e = ends[i] < 0 ? ends[i] + n : ends[i];
    s = std::clamp<int64_t>(s, 0, n);
    e = std::clamp<int64_t>(e, 0, n);
    off[a] = s;
    st[a] = steps[i];
    sz[a] = e > s ? (e - s + steps[i] - 1) / steps[i] : 0;
  }
  c.setOutput(0, c.slice(x, off, sz, st));
  return true;
}

bool transposeOp(Context &c) {
  Tensor &x = c.input(0);
  std::vector<int64_t> perm = c.attrInts("perm");
  if (perm.empty()) {
    perm.resize(x.rank());
    std::iota(perm.rbegin(), perm.rend(), 0);
  }
  if (x.constant && x.rank() <= 1) {
    c.setOutput(0, x);
    return true;
  }
  c.setOutput(0, c.transpose(x, perm));
  return true;
}

bool gather(Context &c) {
  Tensor &data = c.input(0), &idx = c.input(1);
  const int64_t axis = normalizeAxis(c.attrInt("axis", 0), data.rank(), c);
  if (data.constant && idx.constant) { // shape arithmetic
    std::vector<double> out;
    std::vector<int64_t> shape(data.shape.begin(), data.shape.begin() + axis);
    shape.insert(shape.end(), idx.shape.begin(), idx.shape.end());
    shape.insert(shape.end(), data.shape.begin() + axis + 1, data.shape.end());
    const int64_t outer = product({data.shape.begin(), data.shape.begin() + axis}),
                  inner = product({data.shape.begin() + axis + 1, data.shape.end()}), n = data.shape[axis];
    for (int64_t o = 0; o < outer; ++o)
      for (double i : *idx.constant) {
        int64_t k = static_cast<int64_t>(i) < 0 ? static_cast<int64_t>(i) + n : static_cast<int64_t>(i);
        for (int64_t j = 0; j < inner; ++j)
          out.push_back((*data.constant)[(o * n + k) * inner + j]);
      }
    c.setOutput(0, c.constantTensor(out, shape, data.element));
    return true;
  }
  // Rows of the gathered axis: move it first, flatten the rest into a row.
  std::vector<int64_t> perm;
  perm.push_back(axis);
  for (int64_t d = 0; d < data.rank(); ++d)
    if (d != axis)
      perm.push_back(d);
  Tensor moved = c.transpose(data, perm);
  const int64_t rows = data.shape[axis], row = data.count() / std::max<int64_t>(1, rows);
  Tensor table = c.reshape(moved, {rows, row});
  Tensor ids = idx;
  if (idx.constant) { // negative indices count from the end
    std::vector<double> v = *idx.constant;
    for (double &d : v)
      if (d < 0)
        d += static_cast<double>(rows);
    ids = c.constantTensor(v, idx.shape, idx.element);
  }
  std::vector<int64_t> gshape = ids.shape;
  gshape.push_back(row);
  Value g = c.builder.create<trn::GatherOp>(c.loc, c.type(gshape, data.element), c.value(table), c.value(ids));
  Tensor gathered = c.make(g);
  // [ids..., rest of data] then back to the data's order around the axis.
  std::vector<int64_t> restShape;
  for (int64_t d = 0; d < data.rank(); ++d)
    if (d != axis)
      restShape.push_back(data.shape[d]);
  std::vector<int64_t> full = ids.shape;
  full.insert(full.end(), restShape.begin(), restShape.end());
  Tensor y = c.reshape(gathered, full);
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
    y = c.transpose(y, p);
  }
  c.setOutput(0, y);
  return true;
}

bool shapeOp(Context &c) {
  Tensor &x = c.input(0);
  std::vector<double> dims(x.shape.begin(), x.shape.end());
  int64_t start = c.attrInt("start", 0), end = c.attrInt("end", x.rank());
  start = start < 0 ? start + x.rank() : start;
  end = end < 0 ? end + x.rank() : std::min<int64_t>(end, x.rank());
  std::vector<double> v(dims.begin() + start, dims.begin() + std::max(start, end));
  c.setOutput(0, c.constantTensor(v, {static_cast<int64_t>(v.size())}, c.builder.getI64Type()));
  return true;
}

bool constantOp(Context &c) {
  for (const auto &a : c.node->attribute()) {
    if (a.name() == "value") {
      const onnx::TensorProto &t = a.t();
      std::vector<int64_t> shape(t.dims().begin(), t.dims().end());
      Type element;
      switch (t.data_type()) {
      case onnx::TensorProto::INT64: element = c.builder.getI64Type(); break;
      case onnx::TensorProto::INT32: element = c.builder.getI32Type(); break;
      case onnx::TensorProto::BOOL: element = c.builder.getI1Type(); break;
      case onnx::TensorProto::FLOAT16: element = c.builder.getF16Type(); break;
      case onnx::TensorProto::BFLOAT16: element = c.builder.getBF16Type(); break;
      case onnx::TensorProto::INT8: case onnx::TensorProto::UINT8: element = c.builder.getIntegerType(8); break;
      default: element = c.builder.getF32Type(); break;
      }
      c.setOutput(0, c.constantTensor(tensorElements(t, "", c), shape, element));
      return true;
    }
    if (a.name() == "value_float") {
      c.setOutput(0, c.constantTensor({a.f()}, {}, c.f32Type()));
      return true;
    }
    if (a.name() == "value_floats") {
      std::vector<double> v(a.floats().begin(), a.floats().end());
      c.setOutput(0, c.constantTensor(v, {static_cast<int64_t>(v.size())}, c.f32Type()));
      return true;
    }
    if (a.name() == "value_int") {
      c.setOutput(0, c.constantTensor({static_cast<double>(a.i())}, {}, c.builder.getI64Type()));
      return true;
    }
    if (a.name() == "value_ints") {
      std::vector<double> v;
      for (int64_t i : a.ints())
        v.push_back(static_cast<double>(i));
      c.setOutput(0, c.constantTensor(v, {static_cast<int64_t>(v.size())}, c.builder.getI64Type()));
      return true;
    }
  }
  c.fail("Constant without a supported value attribute");
}

bool constantOfShape(Context &c) {
  std::vector<int64_t> shape = c.constantInts(0);
  double v = 0;
  Type element = c.f32Type();
  if (const onnx::AttributeProto *a = c.attr("value")) {
    std::vector<double> d = tensorElements(a->t(), "", c);
    v = d.empty() ? 0 : d[0];
    if (a->t().data_type() == onnx::TensorProto::INT64)
      element = c.builder.getI64Type();
    else if (a->t().data_type() == onnx::TensorProto::INT32)
      element = c.builder.getI32Type();
    else if (a->t().data_type() == onnx::TensorProto::BOOL)
      element = c.builder.getI1Type();
  }
  c.setOutput(0, c.constantTensor(std::vector<double>(static_cast<size_t>(product(shape)), v), shape, element));
  return true;
}

bool range(Context &c) {
  Tensor &s = c.input(0), &l = c.input(1), &d = c.input(2);
  if (!s.constant || !l.constant || !d.constant)
    c.fail("Range needs constant start, limit and delta");
  const double start = (*s.constant)[0], limit = (*l.constant)[0], delta = (*d.constant)[0];
  std::vector<double> v;
  for (double x = start; delta > 0 ? x < limit : x > limit; x += delta)
    v.push_back(x);
  c.setOutput(0, c.constantTensor(v, {static_cast<int64_t>(v.size())}, s.element));
  return true;
}

// Conv (2-D, NCHW): im2col with strided slices of the padded input, then a
// matmul against the weights as [M, C*KH*KW]; groups convolve channel slices.
bool conv(Context &c) {
  Tensor &x = c.input(0), &w = c.input(1);
  if (x.rank() != 4)
    c.fail("only 2-D convolutions (NCHW) are supported");
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t M = w.shape[0], KH = w.shape[2], KW = w.shape[3];
  const int64_t group = c.attrInt("group", 1);
  std::vector<int64_t> pads = c.attrInts("pads"), strides = c.attrInts("strides"), dil = c.attrInts("dilations");
  if (pads.empty())
    pads.assign(4, 0);
  if (strides.empty())
    strides = {1, 1};
  if (dil.empty())
    dil = {1, 1};
  const std::string autoPad = c.attrString("auto_pad", "NOTSET");
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (int d = 0; d < 2; ++d) {
      int64_t in = d ? W : H, k = d ? KW : KH, out = (in + strides[d] - 1) / strides[d];
      int64_t total = std::max<int64_t>(0, (out - 1) * strides[d] + (k - 1) * dil[d] + 1 - in);
      pads[d] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pads[d + 2] = total - pads[d];
    }
  } else if (autoPad == "VALID") {
    pads.assign(4, 0);
  }
  const int64_t OH = (H + pads[0] + pads[2] - (KH - 1) * dil[0] - 1) / strides[0] + 1;
  const int64_t OW = (W + pads[1] + pads[3] - (KW - 1) * dil[1] - 1) / strides[1] + 1;
  Tensor xp = x;
  if (pads[0] || pads[1] || pads[2] || pads[3]) {
    std::vector<int64_t> shape = {N, C, H + pads[0] + pads[2], W + pads[1] + pads[3]};
    xp = c.make(c.builder.create<trn::PadOp>(c.loc, c.type(shape, x.element), c.value(x),
                                             c.builder.getDenseI64ArrayAttr({0, 0, pads[0], pads[1]}),
                                             c.builder.getDenseI64ArrayAttr({0, 0, pads[2], pads[3]}),
                                             c.builder.getF32FloatAttr(0.0f)));
  }
  const int64_t Cg = C / group, Mg = M / group;
  std::vector<Tensor> outs;
  for (int64_t g = 0; g < group; ++g) {
    // Patches [Cg, KH*KW, N, OH, OW] -> [Cg*KH*KW, N*OH*OW].
    std::vector<Tensor> taps;
    for (int64_t kh = 0; kh < KH; ++kh)
      for (int64_t kw = 0; kw < KW; ++kw) {
        Tensor s = c.slice(xp, {0, g * Cg, kh * dil[0], kw * dil[1]}, {N, Cg, OH, OW}, {1, 1, strides[0], strides[1]});
        taps.push_back(c.reshape(s, {N, Cg, 1, OH, OW}));
      }
    std::vector<Tensor *> tapPtrs;
    for (Tensor &t : taps)
      tapPtrs.push_back(&t);
    Tensor stacked = tapPtrs.size() == 1 ? taps[0] : c.concat(tapPtrs, 2);
    Tensor moved = c.transpose(stacked, {1, 2, 0, 3, 4});
    Tensor patches = c.reshape(moved, {Cg * KH * KW, N * OH * OW});
    Tensor wg = c.slice(w, {g * Mg, 0, 0, 0}, {Mg, Cg, KH, KW}, {1, 1, 1, 1});
    Tensor w2 = c.reshape(wg, {Mg, Cg * KH * KW});
    Tensor y = c.matmul(w2, patches); // [Mg, N*OH*OW]
    if (c.hasInput(2)) {
      Tensor bg = c.slice(c.input(2), {g * Mg}, {Mg}, {1});
      Tensor b2 = c.reshape(bg, {Mg, 1});
      y = c.ewise({&y, &b2}, y.element, [](OpBuilder &b, Location l, Args v) -> Value {
        return b.create<arith::AddFOp>(l, v[0], v[1]);
      });
    }
    outs.push_back(c.reshape(y, {Mg, N, OH, OW}));
  }
  std::vector<Tensor *> outPtrs;
  for (Tensor &o : outs)
    outPtrs.push_back(&o);
  Tensor all = outPtrs.size() == 1 ? outs[0] : c.concat(outPtrs, 0);
  c.setOutput(0, c.transpose(all, {1, 0, 2, 3}));
  return true;
}

// MaxPool/AveragePool (2-D, NCHW): one elementwise max/sum over the strided
// slice views of the padded input, one per kernel tap.
bool pool(Context &c, bool isMax) {
  Tensor &x = c.input(0);
  if (x.rank() != 4)
    c.fail("only 2-D pooling (NCHW) is supported");
  if (c.attrInt("ceil_mode", 0))
    c.fail("ceil_mode=1 is not supported");
  std::vector<int64_t> k = c.attrInts("kernel_shape"), pads = c.attrInts("pads"), strides = c.attrInts("strides"),
                       dil = c.attrInts("dilations");
  if (pads.empty())
    pads.assign(4, 0);
  if (strides.empty())
    strides = {1, 1};
  if (dil.empty())
    dil = {1, 1};
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t OH = (H + pads[0] + pads[2] - (k[0] - 1) * dil[0] - 1) / strides[0] + 1;
  const int64_t OW = (W + pads[1] + pads[3] - (k[1] - 1) * dil[1] - 1) / strides[1] + 1;
  Tensor xp = x;
  const float fill = isMax ? -std::numeric_limits<float>::infinity() : 0.0f;
  if (pads[0] || pads[1] || pads[2] || pads[3]) {
    std::vector<int64_t> shape = {N, C, H + pads[0] + pads[2], W + pads[1] + pads[3]};
    xp = c.make(c.builder.create<trn::PadOp>(c.loc, c.type(shape, x.element), c.value(x),
                                             c.builder.getDenseI64ArrayAttr({0, 0, pads[0], pads[1]}),
                                             c.builder.getDenseI64ArrayAttr({0, 0, pads[2], pads[3]}),
                                             c.builder.getF32FloatAttr(fill)));
  }
  std::vector<Tensor> taps;
  for (int64_t kh = 0; kh < k[0]; ++kh)
    for (int64_t kw = 0; kw < k[1]; ++kw)
      taps.push_back(c.slice(xp, {0, 0, kh * dil[0], kw * dil[1]}, {N, C, OH, OW}, {1, 1, strides[0], strides[1]}));
  std::vector<Tensor *> ins;
  for (Tensor &t : taps)
    ins.push_back(&t);
  // Average: divide by the taps inside the input (count_include_pad=0) or all.
  Tensor counts;
  const bool includePad = c.attrInt("count_include_pad", 0) != 0;
  if (!isMax) {
    std::vector<double> cnt(static_cast<size_t>(OH * OW));
    for (int64_t i = 0; i < OH; ++i)
      for (int64_t j = 0; j < OW; ++j) {
        int64_t n = 0;
        for (int64_t kh = 0; kh < k[0]; ++kh)
          for (int64_t kw = 0; kw < k[1]; ++kw) {
            int64_t r = i * strides[0] + kh * dil[0] - pads[0], q = j * strides[1] + kw * dil[1] - pads[1];
            n += includePad || (r >= 0 && r < H && q >= 0 && q < W);
          }
        cnt[i * OW + j] = 1.0 / static_cast<double>(n);
      }
    counts = c.constantTensor(cnt, {OH, OW}, c.f32Type());
    ins.push_back(&counts);
  }
  c.setOutput(0, c.ewise(ins, x.element, [&](OpBuilder &b, Location l, Args v) -> Value {
    const size_t n = isMax ? v.size() : v.size() - 1;
    Value acc = v[0];
    for (size_t i = 1; i < n; ++i)
      acc = isMax ? b.create<arith::MaximumFOp>(l, acc, v[i]).getResult() : b.create<arith::AddFOp>(l, acc, v[i]).getResult();
    return isMax ? acc : b.create<arith::MulFOp>(l, acc, v.back()).getResult();
  }));
  return true;
}

bool globalAveragePool(Context &c) {
  Tensor &x = c.input(0);
  std::vector<int64_t> axes;
  int64_t count = 1;
  for (int64_t d = 2; d < x.rank(); ++d) {
    axes.push_back(d);
    count *= x.shape[d];
  }
  Tensor r = c.reduce(x, "sum", axes, true);
  c.setOutput(0, c.ewise({&r}, r.element, [&](OpBuilder &b, Location l, Args v) -> Value {
    return b.create<arith::MulFOp>(l, v[0], c.f32(b, 1.0 / static_cast<double>(count)));
  }));
  return true;
}

} // namespace

bool convertNode(Context &c) {
  const std::string &op = c.node->op_type();
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow" || op == "Equal" || op == "Less" ||
      op == "Greater" || op == "LessOrEqual" || op == "GreaterOrEqual")
    return binary(c, op);
  if ((op == "Max" || op == "Min") && c.node->input_size() == 2)
    return binary(c, op);
  if (op == "Max" || op == "Min" || op == "Sum" || op == "Mean")
    return variadic(c, op);
  if (op == "Sqrt" || op == "Reciprocal" || op == "Exp" || op == "Log" || op == "Erf" || op == "Tanh" ||
      op == "Sigmoid" || op == "Relu" || op == "LeakyRelu" || op == "Gelu" || op == "Abs" || op == "Neg" ||
      op == "Softplus" || op == "Not")
    return unary(c, op);
  if (op == "Identity" || op == "Dropout") {
    c.setOutput(0, c.input(0));
    if (op == "Dropout" && c.node->output_size() > 1 && !c.node->output(1).empty())
      c.fail("the Dropout mask output is not supported (inference only)");
    return true;
  }
  if (op == "Clip") return clip(c);
  if (op == "Where") return where(c);
  if (op == "Cast") return cast(c);
  if (op == "Softmax") return softmax(c, false);
  if (op == "LogSoftmax") return softmax(c, true);
  if (op == "LayerNormalization") return layerNorm(c);
  if (op == "BatchNormalization") return batchNorm(c);
  if (op == "MatMul") {
    c.setOutput(0, c.matmul(c.input(0), c.input(1)));
    return true;
  }
  if (op == "Gemm") return gemm(c);
  if (op == "ReduceMean" || op == "ReduceSum" || op == "ReduceMax" || op == "ReduceMin") return reduceOp(c, op);
  if (op == "Reshape") return reshapeOp(c);
  if (op == "Squeeze") return squeezeOp(c, false);
  if (op == "Unsqueeze") return squeezeOp(c, true);
  if (op == "Flatten") return flatten(c);
  if (op == "Expand") return expand(c);
  if (op == "Concat") return concatOp(c);
  if (op == "Split") return split(c);
  if (op == "Slice") return sliceOp(c);
  if (op == "Transpose") return transposeOp(c);
  if (op == "Gather") return gather(c);
  if (op == "Shape") return shapeOp(c);
  if (op == "Constant") return constantOp(c);
  if (op == "ConstantOfShape") return constantOfShape(c);
  if (op == "Range") return range(c);
  if (op == "Conv") return conv(c);
  if (op == "MaxPool") return pool(c, true);
  if (op == "AveragePool") return pool(c, false);
  if (op == "GlobalAveragePool") return globalAveragePool(c);
  return false;
}

} // namespace trnx::onnximport
