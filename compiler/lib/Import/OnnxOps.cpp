// ONNX operators -> trn dialect. Elementwise operators become trn.ewise
// bodies (numpy broadcasting, as ONNX), reductions trn.reduce, MatMul/Gemm
// trn.matmul, and the data-movement operators views. Values known at import
// time (shapes, axes, small int tensors) are folded. Conv and pooling are
// decomposed into strided slices of the padded input (views) feeding a
// matmul or an elementwise max/sum. docs/onnx.md lists every operator.
#include "OnnxContext.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <set>
#include <sstream>

using namespace mlir;

namespace trnx::onnximport {
namespace {

using Args = ArrayRef<Value>;
using P = arith::CmpFPredicate;

int64_t product(const std::vector<int64_t> &v) {
  return std::accumulate(v.begin(), v.end(), int64_t(1), std::multiplies<int64_t>());
}

std::vector<int64_t> sub(const std::vector<int64_t> &v, size_t from, size_t to) {
  return std::vector<int64_t>(v.begin() + static_cast<std::ptrdiff_t>(from), v.begin() + static_cast<std::ptrdiff_t>(to));
}

Value cmp(OpBuilder &b, Location l, P p, Value x, Value y) { return b.create<arith::CmpFOp>(l, p, x, y); }

bool isIntType(Type t) { return llvm::isa<IntegerType>(t); }

std::string str(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Folds an elementwise op over known inputs (numpy broadcasting).
std::optional<Tensor> foldBinary(Context &c, Tensor &x, Tensor &y, const std::function<double(double, double)> &f,
                                 Type element) {
  if (!x.constant || !y.constant || x.count() > 4096 || y.count() > 4096)
    return std::nullopt;
  std::vector<int64_t> shape = broadcastShapes(x.shape, y.shape, c);
  int64_t n = product(shape);
  if (n > 65536)
    return std::nullopt;
  std::vector<double> out(static_cast<size_t>(n));
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

// ", but <why>" when input i is not known at import time (else "").
std::string notKnown(Context &c, int i) { return c.input(i).constant ? "" : ", but " + c.runtimeOrigin(i); }

std::vector<Tensor *> allInputs(Context &c) {
  std::vector<Tensor *> ins;
  for (int i = 0; i < c.node->input_size(); ++i)
    ins.push_back(&c.input(i));
  if (ins.empty())
    c.fail("needs at least one input");
  return ins;
}

// ---------------------------------------------------------------------------
// Elementwise
// ---------------------------------------------------------------------------

// Add, Sub, Mul, Div, Pow and the comparisons.
void binary(Context &c) {
  const std::string &op = c.node->op_type();
  Tensor &x = c.input(0), &y = c.input(1);
  const bool compare = op == "Equal" || op == "Less" || op == "Greater" || op == "LessOrEqual" || op == "GreaterOrEqual";
  Type element = compare ? c.i1Type() : x.element;
  const bool ints = isIntType(element) && !compare;
  auto fold = [&](double a, double b) -> double {
    if (op == "Add") return a + b;
    if (op == "Sub") return a - b;
    if (op == "Mul") return a * b;
    if (op == "Div") return ints ? (b == 0 ? 0 : std::trunc(a / b)) : a / b;
    if (op == "Pow") return ints ? std::trunc(std::pow(a, b)) : std::pow(a, b);
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
    return;
  }
  c.setOutput(0, c.ewise({&x, &y}, element, [&](OpBuilder &b, Location l, Args a) -> Value {
    if (op == "Add") return b.create<arith::AddFOp>(l, a[0], a[1]);
    if (op == "Sub") return b.create<arith::SubFOp>(l, a[0], a[1]);
    if (op == "Mul") return b.create<arith::MulFOp>(l, a[0], a[1]);
    if (op == "Div") {
      Value q = b.create<arith::DivFOp>(l, a[0], a[1]);
      return ints ? truncF(b, l, q) : q; // integer division truncates
    }
    if (op == "Pow") {
      Value p = b.create<math::PowFOp>(l, a[0], a[1]);
      return ints ? truncF(b, l, p) : p;
    }
    if (op == "Max") return b.create<arith::MaximumFOp>(l, a[0], a[1]);
    if (op == "Min") return b.create<arith::MinimumFOp>(l, a[0], a[1]);
    if (op == "Equal") return cmp(b, l, P::OEQ, a[0], a[1]);
    if (op == "Less") return cmp(b, l, P::OLT, a[0], a[1]);
    if (op == "Greater") return cmp(b, l, P::OGT, a[0], a[1]);
    if (op == "LessOrEqual") return cmp(b, l, P::OLE, a[0], a[1]);
    return cmp(b, l, P::OGE, a[0], a[1]);
  }));
}

// Variadic Max/Min/Sum/Mean (two-input Max/Min fold like binaries).
void variadic(Context &c) {
  const std::string &op = c.node->op_type();
  std::vector<Tensor *> ins = allInputs(c);
  if (ins.size() == 2 && (op == "Max" || op == "Min")) {
    binary(c);
    return;
  }
  if (ins.size() == 1 && op != "Mean") {
    c.setOutput(0, *ins[0]);
    return;
  }
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
}

Value act(OpBuilder &b, Location l, const char *f, Value x) {
  return b.create<trn::ActOp>(l, b.getF32Type(), x, b.getStringAttr(f), b.getF32FloatAttr(1.0f), b.getF32FloatAttr(0.0f));
}

// Attribute defaults of the activation operators.
float alphaDefault(const std::string &op) {
  if (op == "LeakyRelu") return 0.01f;
  if (op == "Selu") return 1.67326319217681884765625f;
  if (op == "HardSigmoid") return 0.2f;
  return 1.0f;
}

void unary(Context &c) {
  const std::string &op = c.node->op_type();
  Tensor &x = c.input(0);
  const float alpha = c.attrFloat("alpha", alphaDefault(op));
  const float beta = c.attrFloat("beta", 0.5f), gamma = c.attrFloat("gamma", 1.05070102214813232421875f);
  const float lambd = c.attrFloat("lambd", 0.5f), bias = c.attrFloat("bias", 0.0f);
  const bool detectPos = c.attrInt("detect_positive", 1) != 0, detectNeg = c.attrInt("detect_negative", 1) != 0;
  const std::string approximate = c.attrString("approximate", "none");
  if (approximate != "none" && approximate != "tanh")
    c.fail("approximate='" + approximate + "' is not supported");
  if (x.constant && (op == "Neg" || op == "Abs" || op == "Sqrt" || op == "Reciprocal" || op == "Not" ||
                     op == "Floor" || op == "Ceil" || op == "Sign")) {
    std::vector<double> v = *x.constant;
    for (double &d : v)
      d = op == "Neg" ? -d : op == "Abs" ? std::fabs(d) : op == "Sqrt" ? std::sqrt(d) : op == "Not" ? (d == 0)
          : op == "Floor" ? std::floor(d) : op == "Ceil" ? std::ceil(d) : op == "Sign" ? (d > 0) - (d < 0) : 1.0 / d;
    c.setOutput(0, c.constantTensor(v, x.shape, x.element));
    return;
  }
  const bool toBool = op == "Not" || op == "IsNaN" || op == "IsInf";
  c.setOutput(0, c.ewise({&x}, toBool ? c.i1Type() : x.element, [&](OpBuilder &b, Location l, Args a) -> Value {
    Value v = a[0];
    auto k = [&](double value) { return c.f32(b, value); };
    auto mul = [&](Value p, Value q) -> Value { return b.create<arith::MulFOp>(l, p, q); };
    auto add = [&](Value p, Value q) -> Value { return b.create<arith::AddFOp>(l, p, q); };
    auto sel = [&](Value cond, Value p, Value q) -> Value { return b.create<arith::SelectOp>(l, cond, p, q); };
    auto clamp01 = [&](Value p) -> Value {
      return b.create<arith::MinimumFOp>(l, b.create<arith::MaximumFOp>(l, p, k(0.0)), k(1.0));
    };
    auto softplus = [&](Value p) -> Value { return b.create<math::LogOp>(l, add(b.create<math::ExpOp>(l, p), k(1.0))); };
    if (op == "Sqrt") return b.create<math::SqrtOp>(l, v);
    if (op == "Reciprocal") return b.create<arith::DivFOp>(l, k(1.0), v);
    if (op == "Exp") return b.create<math::ExpOp>(l, v);
    if (op == "Log") return b.create<math::LogOp>(l, v);
    if (op == "Erf") return b.create<math::ErfOp>(l, v);
    if (op == "Tanh") return b.create<math::TanhOp>(l, v);
    if (op == "Abs") return b.create<math::AbsFOp>(l, v);
    if (op == "Neg") return b.create<arith::NegFOp>(l, v);
    if (op == "Sigmoid") return act(b, l, "sigmoid", v);
    if (op == "Relu") return act(b, l, "relu", v);
    if (op == "Gelu") return act(b, l, approximate == "tanh" ? "gelu_tanh" : "gelu", v);
    if (op == "Softplus") return softplus(v);
    if (op == "Softsign") return b.create<arith::DivFOp>(l, v, add(b.create<math::AbsFOp>(l, v), k(1.0)));
    if (op == "Mish") return mul(v, b.create<math::TanhOp>(l, softplus(v)));
    if (op == "LeakyRelu") return sel(cmp(b, l, P::OGT, v, k(0.0)), v, mul(v, k(alpha)));
    if (op == "ThresholdedRelu") return sel(cmp(b, l, P::OGT, v, k(alpha)), v, k(0.0));
    if (op == "Elu")
      return sel(cmp(b, l, P::OLT, v, k(0.0)), mul(k(alpha), add(b.create<math::ExpOp>(l, v), k(-1.0))), v);
    if (op == "Selu")
      return sel(cmp(b, l, P::OLE, v, k(0.0)), mul(k(gamma), add(mul(k(alpha), b.create<math::ExpOp>(l, v)), k(-alpha))),
                 mul(k(gamma), v));
    if (op == "Celu") {
      Value e = mul(k(alpha), add(b.create<math::ExpOp>(l, mul(v, k(1.0 / alpha))), k(-1.0)));
      return add(b.create<arith::MaximumFOp>(l, v, k(0.0)), b.create<arith::MinimumFOp>(l, e, k(0.0)));
    }
    if (op == "HardSigmoid") return clamp01(add(mul(v, k(alpha)), k(beta)));
    if (op == "HardSwish") return mul(v, clamp01(add(mul(v, k(1.0 / 6.0)), k(0.5))));
    if (op == "Shrink")
      return sel(cmp(b, l, P::OLT, v, k(-lambd)), add(v, k(bias)),
                 sel(cmp(b, l, P::OGT, v, k(lambd)), add(v, k(-bias)), k(0.0)));
    if (op == "Floor") return floorF(b, l, v);
    if (op == "Ceil") return b.create<arith::NegFOp>(l, floorF(b, l, b.create<arith::NegFOp>(l, v)));
    if (op == "Round") return roundF(b, l, v);
    if (op == "Sign")
      return sel(cmp(b, l, P::OGT, v, k(0.0)), k(1.0), sel(cmp(b, l, P::OLT, v, k(0.0)), k(-1.0), k(0.0)));
    if (op == "IsNaN") return cmp(b, l, P::UNE, v, v);
    if (op == "IsInf") {
      const double inf = std::numeric_limits<double>::infinity();
      Value f = b.create<arith::ConstantOp>(l, b.getBoolAttr(false));
      Value pos = detectPos ? cmp(b, l, P::OEQ, v, k(inf)) : f, neg = detectNeg ? cmp(b, l, P::OEQ, v, k(-inf)) : f;
      return sel(pos, b.create<arith::ConstantOp>(l, b.getBoolAttr(true)), neg);
    }
    if (op == "Not") return cmp(b, l, P::OEQ, v, k(0.0));
    return v;
  }));
}

// And, Or, Xor of booleans.
void logical(Context &c) {
  const std::string &op = c.node->op_type();
  Tensor &x = c.input(0), &y = c.input(1);
  c.setOutput(0, c.ewise({&x, &y}, c.i1Type(), [&](OpBuilder &b, Location l, Args a) -> Value {
    Value p = cmp(b, l, P::UNE, a[0], c.f32(b, 0.0)), q = cmp(b, l, P::UNE, a[1], c.f32(b, 0.0));
    Value t = b.create<arith::ConstantOp>(l, b.getBoolAttr(true)), f = b.create<arith::ConstantOp>(l, b.getBoolAttr(false));
    if (op == "And") return b.create<arith::SelectOp>(l, p, q, f);
    if (op == "Or") return b.create<arith::SelectOp>(l, p, t, q);
    Value pf = b.create<arith::SelectOp>(l, p, c.f32(b, 1.0), c.f32(b, 0.0));
    Value qf = b.create<arith::SelectOp>(l, q, c.f32(b, 1.0), c.f32(b, 0.0));
    return cmp(b, l, P::UNE, pf, qf);
  }));
}

// Mod: x - floor(x / y) * y (the divisor's sign), or with fmod=1 the
// dividend's sign (x - trunc(x / y) * y).
void modOp(Context &c) {
  Tensor &x = c.input(0), &y = c.input(1);
  const bool fmod = c.attrInt("fmod", 0) != 0;
  if (!fmod && !isIntType(x.element))
    c.fail("Mod of floats needs fmod=1");
  c.setOutput(0, c.ewise({&x, &y}, x.element, [&](OpBuilder &b, Location l, Args a) -> Value {
    Value q = b.create<arith::DivFOp>(l, a[0], a[1]);
    Value t = fmod ? truncF(b, l, q) : floorF(b, l, q);
    return b.create<arith::SubFOp>(l, a[0], b.create<arith::MulFOp>(l, t, a[1]));
  }));
}

void prelu(Context &c) {
  Tensor &x = c.input(0), &slope = c.input(1);
  if (broadcastShapes(x.shape, slope.shape, c) != x.shape)
    c.fail("slope must broadcast to the input");
  c.setOutput(0, c.ewise({&x, &slope}, x.element, [&](OpBuilder &b, Location l, Args a) -> Value {
    return b.create<arith::SelectOp>(l, cmp(b, l, P::OLT, a[0], c.f32(b, 0.0)), b.create<arith::MulFOp>(l, a[0], a[1]),
                                     a[0]);
  }));
}

void identity(Context &c) { c.setOutput(0, c.input(0)); }

// Inference: the output is the input and the mask all true. Training mode
// with a non-zero ratio drops random elements, which is not compiled.
void dropout(Context &c) {
  Tensor &x = c.input(0);
  double ratio = c.version < 12 ? c.attrFloat("ratio", 0.5f) : 0.5;
  bool training = false;
  if (c.version >= 12 && c.hasInput(2)) {
    Tensor &t = c.input(2);
    if (!t.constant || t.count() != 1)
      c.fail("training_mode must be a scalar known at compile time" + notKnown(c, 2));
    training = (*t.constant)[0] != 0;
  }
  if (c.version >= 12 && c.hasInput(1)) {
    Tensor &r = c.input(1);
    if (r.constant && r.count() == 1)
      ratio = (*r.constant)[0];
    else if (training)
      c.fail("the ratio of a training-mode Dropout must be a scalar known at compile time" + notKnown(c, 1));
  }
  if (training && ratio != 0)
    c.fail("training-mode Dropout (ratio " + str(ratio) +
           ") drops random elements, which is not supported (export the model in eval mode)");
  c.setOutput(0, x);
  if (c.hasOutput(1)) // bool from version 10, the input's type before
    c.setOutput(1, c.splat(1.0, x.shape, c.version >= 10 ? c.i1Type() : x.element));
}

void clip(Context &c) {
  Tensor &x = c.input(0);
  std::vector<Tensor *> ins = {&x};
  std::optional<double> lo, hi;
  int loIndex = -1, hiIndex = -1;
  if (c.version < 11) {
    if (c.attr("min"))
      lo = c.attrFloat("min", 0);
    if (c.attr("max"))
      hi = c.attrFloat("max", 0);
  } else {
    for (int i : {1, 2}) {
      if (!c.hasInput(i))
        continue;
      Tensor &t = c.input(i);
      if (t.count() != 1)
        c.fail(std::string(i == 1 ? "min" : "max") + " must be a scalar");
      if (t.constant) {
        (i == 1 ? lo : hi) = (*t.constant)[0];
      } else {
        (i == 1 ? loIndex : hiIndex) = static_cast<int>(ins.size());
        ins.push_back(&t);
      }
    }
  }
  c.setOutput(0, c.ewise(ins, x.element, [&](OpBuilder &b, Location l, Args a) -> Value {
    Value v = a[0];
    if (lo || loIndex >= 0)
      v = b.create<arith::MaximumFOp>(l, v, lo ? c.f32(b, *lo) : a[loIndex]);
    if (hi || hiIndex >= 0)
      v = b.create<arith::MinimumFOp>(l, v, hi ? c.f32(b, *hi) : a[hiIndex]);
    return v;
  }));
}

// Where over three known inputs (a shape computation such as torch's
// expand(B, -1, -1) export: Equal(shape, -1) picks between constant shapes).
std::optional<Tensor> foldWhere(Context &c, Tensor &cond, Tensor &x, Tensor &y) {
  if (!cond.constant || !x.constant || !y.constant || cond.count() > 4096 || x.count() > 4096 || y.count() > 4096)
    return std::nullopt;
  std::vector<int64_t> shape = broadcastShapes(broadcastShapes(cond.shape, x.shape, c), y.shape, c);
  const int64_t n = product(shape);
  if (n > 65536)
    return std::nullopt;
  auto at = [&](const Tensor &t, int64_t flat) {
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
    return (*t.constant)[static_cast<size_t>(idx)];
  };
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    out[static_cast<size_t>(i)] = at(cond, i) != 0 ? at(x, i) : at(y, i);
  return c.constantTensor(out, shape, x.element);
}

void where(Context &c) {
  Tensor &cond = c.input(0), &x = c.input(1), &y = c.input(2);
  if (auto folded = foldWhere(c, cond, x, y)) {
    c.setOutput(0, *folded);
    return;
  }
  if (cond.constant && cond.count() == 1) {
    Tensor &pick = (*cond.constant)[0] != 0 ? x : y;
    std::vector<int64_t> shape = broadcastShapes(broadcastShapes(cond.shape, x.shape, c), y.shape, c);
    c.setOutput(0, c.broadcastTo(pick, shape));
    return;
  }
  c.setOutput(0, c.ewise({&cond, &x, &y}, x.element, [&](OpBuilder &b, Location l, Args a) -> Value {
    return b.create<arith::SelectOp>(l, cmp(b, l, P::UNE, a[0], c.f32(b, 0.0)), a[1], a[2]);
  }));
}

void cast(Context &c) {
  Tensor &x = c.input(0);
  Type to;
  if (c.node->op_type() == "CastLike") {
    to = c.input(1).element;
  } else {
    const onnx::AttributeProto *a = c.attr("to");
    if (!a)
      c.fail("the 'to' attribute is missing");
    to = elementType(c, static_cast<int>(a->i()), "the cast target");
  }
  c.setOutput(0, c.convert(x, to));
}

// ---------------------------------------------------------------------------
// Normalisations and softmax
// ---------------------------------------------------------------------------

void softmax(Context &c) {
  const bool log = c.node->op_type() == "LogSoftmax";
  Tensor &x = c.input(0);
  if (x.rank() == 0)
    c.fail("softmax of a scalar");
  int64_t axis = normalizeAxis(c.attrInt("axis", c.version >= 13 ? -1 : 1), x.rank(), c);
  auto softmaxLast = [&](Tensor &t) {
    return c.make(c.builder.create<trn::SoftmaxOp>(c.loc, c.type(t.shape, t.element), c.value(t), c.builder.getBoolAttr(log)));
  };
  if (c.version < 13) { // over the flattened trailing dims
    std::vector<int64_t> shape = {product(sub(x.shape, 0, axis)), product(sub(x.shape, axis, x.rank()))};
    Tensor flat = c.reshape(x, shape);
    Tensor y = softmaxLast(flat);
    c.setOutput(0, c.reshape(y, x.shape));
    return;
  }
  std::vector<int64_t> perm(x.rank());
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[axis], perm.back());
  Tensor moved = c.transpose(x, perm);
  Tensor y = softmaxLast(moved);
  c.setOutput(0, c.transpose(y, perm));
}

Value square(OpBuilder &b, Location l, Value d) { return b.create<arith::MulFOp>(l, d, d); }

// LayerNormalization (17): trn.layernorm over the flattened normalised axes;
// the optional Mean and InvStdDev outputs are reductions of their own.
void layerNorm(Context &c) {
  Tensor &x = c.input(0);
  const int64_t r = x.rank();
  if (r == 0)
    c.fail("LayerNormalization of a scalar");
  const int64_t axis = normalizeAxis(c.attrInt("axis", -1), r, c);
  const float eps = c.attrFloat("epsilon", 1e-5f);
  const std::vector<int64_t> normShape = sub(x.shape, axis, r);
  const int64_t d = product(normShape), outer = product(sub(x.shape, 0, axis));
  Tensor flat = c.reshape(x, {outer, d});
  auto param = [&](int i) -> Value {
    if (!c.hasInput(i))
      return Value();
    Tensor p = c.input(i);
    if (p.shape != normShape) {
      if (broadcastShapes(p.shape, normShape, c) != normShape)
        c.fail("Scale and B must broadcast to the normalised shape");
      p = c.broadcastTo(p, normShape);
    }
    if (p.element != x.element)
      p = c.convert(p, x.element);
    Tensor p1 = c.reshape(p, {d});
    return c.value(p1);
  };
  Value gamma = param(1), beta = param(2);
  Value y = c.builder.create<trn::LayerNormOp>(c.loc, c.type({outer, d}, x.element), c.value(flat), gamma, beta,
                                               c.builder.getF32FloatAttr(eps));
  Tensor yt = c.make(y);
  c.setOutput(0, c.reshape(yt, x.shape));
  if (!c.hasOutput(1) && !c.hasOutput(2))
    return;
  // Mean and InvStdDev: [x.shape[:axis], 1...], in the stash type (f32).
  const int64_t stash = c.attrInt("stash_type", 1);
  Type statType = stash == onnx::TensorProto::FLOAT ? c.f32Type() : elementType(c, static_cast<int>(stash), "stash_type");
  std::vector<int64_t> statShape = sub(x.shape, 0, axis);
  statShape.resize(r, 1);
  Tensor sum = c.reduce(flat, "sum", {1}, true);
  const double inv = 1.0 / static_cast<double>(d);
  Tensor mean = c.ewise({&sum}, statType, [&](OpBuilder &b, Location l, Args a) -> Value {
    return b.create<arith::MulFOp>(l, a[0], c.f32(b, inv));
  });
  if (c.hasOutput(1))
    c.setOutput(1, c.reshape(mean, statShape));
  if (c.hasOutput(2)) {
    Tensor sq = c.ewise({&flat, &mean}, statType, [&](OpBuilder &b, Location l, Args a) -> Value {
      return square(b, l, b.create<arith::SubFOp>(l, a[0], a[1]));
    });
    Tensor ss = c.reduce(sq, "sum", {1}, true);
    Tensor rstd = c.ewise({&ss}, statType, [&](OpBuilder &b, Location l, Args a) -> Value {
      Value var = b.create<arith::MulFOp>(l, a[0], c.f32(b, inv));
      return b.create<math::RsqrtOp>(l, b.create<arith::AddFOp>(l, var, c.f32(b, eps)));
    });
    c.setOutput(2, c.reshape(rstd, statShape));
  }
}

// BatchNormalization: inference with the given statistics, or training mode
// (version 14+ training_mode=1; before, requested running statistics) with
// the batch's population statistics and updated running mean and variance.
void batchNorm(Context &c) {
  Tensor &x = c.input(0), &scale = c.input(1), &bias = c.input(2), &mean = c.input(3), &var = c.input(4);
  if (x.rank() < 2)
    c.fail("the input needs a channel axis (rank 2 or more)");
  if (c.version < 9 && c.attrInt("spatial", 1) == 0)
    c.fail("spatial=0 (per-element statistics) is not supported");
  const float eps = c.attrFloat("epsilon", 1e-5f), momentum = c.attrFloat("momentum", 0.9f);
  const int64_t C = x.shape[1];
  for (Tensor *p : {&scale, &bias, &mean, &var})
    if (p->count() != C)
      c.fail("scale, B, input_mean and input_var must have one element per channel");
  const bool training = c.version >= 14 ? c.attrInt("training_mode", 0) != 0 : (c.hasOutput(1) || c.hasOutput(2));
  if (c.hasOutput(3) || c.hasOutput(4))
    c.fail("the saved_mean/saved_var outputs (training internals of versions 7-13) are not supported");
  // Per-channel params on axis 1, broadcast as [C, 1, ...].
  std::vector<int64_t> pshape = {C};
  for (int d = 2; d < x.rank(); ++d)
    pshape.push_back(1);
  Tensor s = c.reshape(scale, pshape), b = c.reshape(bias, pshape), m = c.reshape(mean, pshape), v = c.reshape(var, pshape);
  auto normalize = [&](Tensor &mu, Tensor &sigma2) {
    return c.ewise({&x, &s, &b, &mu, &sigma2}, x.element, [&](OpBuilder &bb, Location l, Args a) -> Value {
      Value inv = bb.create<math::RsqrtOp>(l, bb.create<arith::AddFOp>(l, a[4], c.f32(bb, eps)));
      Value norm = bb.create<arith::MulFOp>(l, bb.create<arith::SubFOp>(l, a[0], a[3]), inv);
      return bb.create<arith::AddFOp>(l, bb.create<arith::MulFOp>(l, norm, a[1]), a[2]);
    });
  };
  if (!training) {
    c.setOutput(0, normalize(m, v));
    return;
  }
  std::vector<int64_t> axes = {0};
  int64_t count = x.shape[0];
  for (int64_t d = 2; d < x.rank(); ++d) {
    axes.push_back(d);
    count *= x.shape[d];
  }
  const double inv = 1.0 / static_cast<double>(std::max<int64_t>(count, 1));
  auto scaled = [&](Tensor &t) {
    return c.ewise({&t}, t.element, [&](OpBuilder &bb, Location l, Args a) -> Value {
      return bb.create<arith::MulFOp>(l, a[0], c.f32(bb, inv));
    });
  };
  Tensor sum = c.reduce(x, "sum", axes, false); // [C]
  Tensor bm = scaled(sum);
  Tensor bmp = c.reshape(bm, pshape);
  Tensor sq = c.ewise({&x, &bmp}, x.element, [&](OpBuilder &bb, Location l, Args a) -> Value {
    return square(bb, l, bb.create<arith::SubFOp>(l, a[0], a[1]));
  });
  Tensor ss = c.reduce(sq, "sum", axes, false);
  Tensor bv = scaled(ss);
  Tensor bvp = c.reshape(bv, pshape);
  c.setOutput(0, normalize(bmp, bvp));
  auto running = [&](Tensor &old, Tensor &batch) {
    Tensor o = c.reshape(old, {C});
    return c.ewise({&o, &batch}, old.element, [&](OpBuilder &bb, Location l, Args a) -> Value {
      return bb.create<arith::AddFOp>(l, bb.create<arith::MulFOp>(l, a[0], c.f32(bb, momentum)),
                                      bb.create<arith::MulFOp>(l, a[1], c.f32(bb, 1.0 - momentum)));
    });
  };
  if (c.hasOutput(1))
    c.setOutput(1, running(mean, bm));
  if (c.hasOutput(2))
    c.setOutput(2, running(var, bv));
}

// InstanceNormalization: LayerNorm of each (n, c) plane, then the channel's
// scale and bias.
void instanceNorm(Context &c) {
  Tensor &x = c.input(0), &scale = c.input(1), &bias = c.input(2);
  if (x.rank() < 3)
    c.fail("the input needs spatial axes (rank 3 or more)");
  const int64_t C = x.shape[1], rows = x.shape[0] * C, d = product(sub(x.shape, 2, x.rank()));
  if (scale.count() != C || bias.count() != C)
    c.fail("scale and B must have one element per channel");
  Tensor flat = c.reshape(x, {rows, d});
  Value y = c.builder.create<trn::LayerNormOp>(c.loc, c.type({rows, d}, x.element), c.value(flat), Value(), Value(),
                                               c.builder.getF32FloatAttr(c.attrFloat("epsilon", 1e-5f)));
  Tensor yt = c.make(y);
  Tensor yr = c.reshape(yt, x.shape);
  std::vector<int64_t> pshape = {C};
  pshape.resize(x.rank() - 1, 1);
  Tensor s = c.reshape(scale, pshape), b = c.reshape(bias, pshape);
  c.setOutput(0, c.ewise({&yr, &s, &b}, x.element, [](OpBuilder &bb, Location l, Args v) -> Value {
    return bb.create<arith::AddFOp>(l, bb.create<arith::MulFOp>(l, v[0], v[1]), v[2]);
  }));
}

// MeanVarianceNormalization: (x - mean) / (sqrt(var) + 1e-9) over axes.
void meanVarianceNorm(Context &c) {
  Tensor &x = c.input(0);
  std::vector<int64_t> axes = c.attrInts("axes");
  if (!c.attr("axes"))
    axes = {0, 2, 3};
  int64_t count = 1;
  std::set<int64_t> unique;
  for (int64_t a : axes)
    unique.insert(normalizeAxis(a, x.rank(), c));
  for (int64_t a : unique)
    count *= x.shape[a];
  const double inv = 1.0 / static_cast<double>(std::max<int64_t>(count, 1));
  Tensor sum = c.reduce(x, "sum", axes, true);
  Tensor mean = c.ewise({&sum}, x.element, [&](OpBuilder &b, Location l, Args v) -> Value {
    return b.create<arith::MulFOp>(l, v[0], c.f32(b, inv));
  });
  Tensor sq = c.ewise({&x, &mean}, x.element, [](OpBuilder &b, Location l, Args v) -> Value {
    return square(b, l, b.create<arith::SubFOp>(l, v[0], v[1]));
  });
  Tensor ss = c.reduce(sq, "sum", axes, true);
  c.setOutput(0, c.ewise({&x, &mean, &ss}, x.element, [&](OpBuilder &b, Location l, Args v) -> Value {
    Value sd = b.create<math::SqrtOp>(l, b.create<arith::MulFOp>(l, v[2], c.f32(b, inv)));
    return b.create<arith::DivFOp>(l, b.create<arith::SubFOp>(l, v[0], v[1]), b.create<arith::AddFOp>(l, sd, c.f32(b, 1e-9)));
  }));
}

// ---------------------------------------------------------------------------
// Matrix products and reductions
// ---------------------------------------------------------------------------

void matmulOp(Context &c) { c.setOutput(0, c.matmul(c.input(0), c.input(1))); }

void gemm(Context &c) {
  Tensor a = c.input(0), b = c.input(1);
  if (a.rank() != 2 || b.rank() != 2)
    c.fail("A and B must be 2-D");
  if (c.attrInt("transA", 0))
    a = c.transpose(a, {1, 0});
  if (c.attrInt("transB", 0))
    b = c.transpose(b, {1, 0});
  const float alpha = c.attrFloat("alpha", 1.0f), beta = c.attrFloat("beta", 1.0f);
  Tensor y = c.matmul(a, b);
  if (c.hasInput(2) && beta != 0.0f) {
    Tensor &bias = c.input(2);
    if (broadcastShapes(bias.shape, y.shape, c) != y.shape)
      c.fail("C does not broadcast to [M, N]");
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
}

// ReduceSum (axes an input from 13) and the others (axes an input from 18):
// an elementwise map, a sum/max/min, an elementwise finish.
void reduceOp(Context &c) {
  const std::string &op = c.node->op_type();
  Tensor &x = c.input(0);
  const bool axesInput = c.version >= (op == "ReduceSum" ? 13 : 18);
  std::vector<int64_t> axes = axesInput ? (c.hasInput(1) ? c.constantInts(1) : std::vector<int64_t>{})
                                        : c.attrInts("axes");
  const bool keep = c.attrInt("keepdims", 1) != 0;
  if (axes.empty()) {
    if (axesInput && c.attrInt("noop_with_empty_axes", 0)) {
      c.setOutput(0, x);
      return;
    }
    axes.resize(x.rank());
    std::iota(axes.begin(), axes.end(), 0);
  }
  std::set<int64_t> unique;
  for (int64_t a : axes)
    unique.insert(normalizeAxis(a, x.rank(), c));
  int64_t count = 1;
  for (int64_t a : unique)
    count *= x.shape[a];
  if (count == 0)
    c.fail("reductions over an empty axis are not supported");
  const std::string kind = op == "ReduceMax" ? "max" : op == "ReduceMin" ? "min" : "sum";
  auto map = [&](Tensor &t, const std::function<Value(OpBuilder &, Location, Args)> &f, Type element) {
    return c.ewise({&t}, element, [&](OpBuilder &b, Location l, Args v) -> Value { return f(b, l, v); });
  };
  Tensor in = x, shift;
  if (op == "ReduceL1")
    in = map(x, [](OpBuilder &b, Location l, Args v) -> Value { return b.create<math::AbsFOp>(l, v[0]); }, x.element);
  if (op == "ReduceL2" || op == "ReduceSumSquare")
    in = map(x, [](OpBuilder &b, Location l, Args v) -> Value { return square(b, l, v[0]); }, x.element);
  if (op == "ReduceLogSumExp") { // log(sum(exp(x - max))) + max
    shift = c.reduce(x, "max", axes, true);
    in = c.ewise({&x, &shift}, x.element, [](OpBuilder &b, Location l, Args v) -> Value {
      return b.create<math::ExpOp>(l, b.create<arith::SubFOp>(l, v[0], v[1]));
    });
  }
  Tensor r = c.reduce(in, kind, axes, keep);
  if (op == "ReduceMean")
    r = map(r, [&](OpBuilder &b, Location l, Args v) -> Value {
      return b.create<arith::MulFOp>(l, v[0], c.f32(b, 1.0 / static_cast<double>(count)));
    }, r.element);
  if (op == "ReduceL2")
    r = map(r, [](OpBuilder &b, Location l, Args v) -> Value { return b.create<math::SqrtOp>(l, v[0]); }, r.element);
  if (op == "ReduceLogSum")
    r = map(r, [](OpBuilder &b, Location l, Args v) -> Value { return b.create<math::LogOp>(l, v[0]); }, r.element);
  if (op == "ReduceLogSumExp") {
    Tensor m = c.reshape(shift, r.shape);
    r = c.ewise({&r, &m}, r.element, [](OpBuilder &b, Location l, Args v) -> Value {
      return b.create<arith::AddFOp>(l, b.create<math::LogOp>(l, v[0]), v[1]);
    });
  }
  c.setOutput(0, r);
}

// ArgMax/ArgMin: the extreme value, then the first (or last) position along
// the axis holding it, as a min (max) over an iota.
Tensor argExtreme(Context &c, Tensor &x, int64_t axis, bool isMax, bool last, bool keep) {
  const int64_t n = x.shape[axis];
  if (n == 0)
    c.fail("ArgMax/ArgMin over an empty axis");
  Tensor m = c.reduce(x, isMax ? "max" : "min", {axis}, true);
  std::vector<double> iota(static_cast<size_t>(n));
  std::iota(iota.begin(), iota.end(), 0.0);
  std::vector<int64_t> ishape(x.rank() - axis, 1);
  ishape[0] = n;
  Tensor it = c.constantTensor(iota, ishape, c.f32Type());
  Tensor cand = c.ewise({&x, &m, &it}, c.f32Type(), [&](OpBuilder &b, Location l, Args v) -> Value {
    return b.create<arith::SelectOp>(l, cmp(b, l, P::OEQ, v[0], v[1]), v[2], c.f32(b, last ? -1.0 : double(n)));
  });
  Tensor idx = c.reduce(cand, last ? "max" : "min", {axis}, keep);
  return c.convert(idx, c.builder.getI64Type());
}

void argMinMax(Context &c) {
  Tensor &x = c.input(0);
  const int64_t axis = normalizeAxis(c.attrInt("axis", 0), x.rank(), c);
  c.setOutput(0, argExtreme(c, x, axis, c.node->op_type() == "ArgMax", c.attrInt("select_last_index", 0) != 0,
                            c.attrInt("keepdims", 1) != 0));
}

// Hardmax: 1 at the first maximum along the axis (13), or of the flattened
// trailing axes (before 13).
void hardmax(Context &c) {
  Tensor &x = c.input(0);
  int64_t axis = normalizeAxis(c.attrInt("axis", c.version >= 13 ? -1 : 1), x.rank(), c);
  Tensor in = x;
  if (c.version < 13) {
    in = c.reshape(x, {product(sub(x.shape, 0, axis)), product(sub(x.shape, axis, x.rank()))});
    axis = 1;
  }
  Tensor idx = argExtreme(c, in, axis, true, false, true);
  std::vector<double> iota(static_cast<size_t>(in.shape[axis]));
  std::iota(iota.begin(), iota.end(), 0.0);
  std::vector<int64_t> ishape(in.rank() - axis, 1);
  ishape[0] = in.shape[axis];
  Tensor it = c.constantTensor(iota, ishape, c.f32Type());
  Tensor y = c.ewise({&idx, &it}, x.element, [&](OpBuilder &b, Location l, Args v) -> Value {
    return b.create<arith::SelectOp>(l, cmp(b, l, P::OEQ, v[0], v[1]), c.f32(b, 1.0), c.f32(b, 0.0));
  }, &in.shape);
  c.setOutput(0, c.reshape(y, x.shape));
}

// CumSum along an axis: a matmul with a triangular matrix of ones.
void cumSum(Context &c) {
  Tensor &x = c.input(0);
  std::vector<int64_t> a = c.constantInts(1);
  if (a.size() != 1)
    c.fail("axis must be a scalar");
  const int64_t axis = normalizeAxis(a[0], x.rank(), c), n = x.shape[axis];
  if (n > 4096)
    c.fail("CumSum along an axis of more than 4096 elements is not supported");
  const bool exclusive = c.attrInt("exclusive", 0) != 0, reverse = c.attrInt("reverse", 0) != 0;
  std::vector<double> tri(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      tri[i * n + j] = reverse ? (exclusive ? i > j : i >= j) : (exclusive ? i < j : i <= j);
  Tensor t = c.constantTensor(tri, {n, n}, isIntType(x.element) ? c.f32Type() : x.element);
  std::vector<int64_t> perm(x.rank());
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[axis], perm.back());
  Tensor moved = c.transpose(x, perm);
  Tensor y = c.matmul(moved, t);
  c.setOutput(0, c.transpose(y, perm));
}

// ---------------------------------------------------------------------------
// Shapes and data movement
// ---------------------------------------------------------------------------

void reshapeOp(Context &c) {
  Tensor &x = c.input(0);
  std::vector<int64_t> shape = c.version >= 5 ? c.constantInts(1) : c.attrInts("shape");
  const bool allowZero = c.version >= 14 && c.attrInt("allowzero", 0) != 0;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowZero) {
      if (static_cast<int>(i) >= x.rank())
        c.fail("a 0 in the target shape copies a dimension the input does not have");
      shape[i] = x.shape[i];
    }
    if (shape[i] == -1) {
      if (infer >= 0)
        c.fail("more than one -1 in the target shape");
      infer = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      c.fail("invalid dimension " + std::to_string(shape[i]) + " in the target shape");
    } else if (__builtin_mul_overflow(known, shape[i], &known)) {
      c.fail("cannot reshape " + std::to_string(x.count()) + " elements to the target shape");
    }
  }
  if (infer >= 0) {
    if (known == 0 || x.count() % known)
      c.fail("cannot infer the -1 dimension of the target shape");
    shape[infer] = x.count() / known;
  }
  if (product(shape) != x.count())
    c.fail("cannot reshape " + std::to_string(x.count()) + " elements to the target shape");
  c.setOutput(0, c.reshape(x, shape));
}

void squeezeOp(Context &c) {
  const bool unsqueeze = c.node->op_type() == "Unsqueeze";
  Tensor &x = c.input(0);
  std::vector<int64_t> axes =
      c.version >= 13 ? (c.hasInput(1) ? c.constantInts(1) : std::vector<int64_t>{}) : c.attrInts("axes");
  std::vector<int64_t> shape;
  if (unsqueeze) {
    if (axes.empty())
      c.fail("Unsqueeze needs axes");
    const int64_t rank = x.rank() + static_cast<int64_t>(axes.size());
    std::vector<bool> inserted(rank, false);
    for (int64_t a : axes) {
      int64_t n = normalizeAxis(a, rank, c);
      if (inserted[n])
        c.fail("axis " + std::to_string(a) + " is repeated");
      inserted[n] = true;
    }
    for (int64_t d = 0, s = 0; d < rank; ++d)
      shape.push_back(inserted[d] ? 1 : x.shape[s++]);
  } else {
    std::vector<bool> removed(x.rank(), axes.empty());
    for (int64_t a : axes) {
      int64_t n = normalizeAxis(a, x.rank(), c);
      if (x.shape[n] != 1)
        c.fail("cannot squeeze axis " + std::to_string(a) + " of size " + std::to_string(x.shape[n]));
      removed[n] = true;
    }
    for (int64_t d = 0; d < x.rank(); ++d)
      if (!removed[d] || x.shape[d] != 1)
        shape.push_back(x.shape[d]);
  }
  c.setOutput(0, c.reshape(x, shape));
}

void flatten(Context &c) {
  Tensor &x = c.input(0);
  int64_t axis = c.attrInt("axis", 1);
  if (axis < -x.rank() || axis > x.rank())
    c.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(x.rank()));
  if (axis < 0)
    axis += x.rank();
  c.setOutput(0, c.reshape(x, {product(sub(x.shape, 0, axis)), product(sub(x.shape, axis, x.rank()))}));
}

void expand(Context &c) {
  Tensor &x = c.input(0);
  std::vector<int64_t> target = c.constantInts(1);
  c.checkShape(target);
  c.setOutput(0, c.broadcastTo(x, broadcastShapes(x.shape, target, c)));
}

void concatOp(Context &c) {
  std::vector<Tensor *> all = allInputs(c), parts;
  const onnx::AttributeProto *a = c.attr("axis");
  if (!a && c.version >= 4)
    c.fail("the axis attribute is missing");
  const int64_t axis = normalizeAxis(a ? a->i() : 1, all[0]->rank(), c);
  std::vector<int64_t> shape = all[0]->shape;
  shape[axis] = 0;
  for (Tensor *t : all) {
    if (t->rank() != all[0]->rank())
      c.fail("concatenated tensors differ in rank");
    shape[axis] += t->shape[axis];
    if (t->count() > 0)
      parts.push_back(t);
  }
  if (parts.empty()) {
    c.setOutput(0, c.constantTensor({}, shape, all[0]->element));
    return;
  }
  c.setOutput(0, c.concat(parts, axis));
}

void split(Context &c) {
  Tensor &x = c.input(0);
  const int64_t axis = normalizeAxis(c.attrInt("axis", 0), x.rank(), c);
  const int64_t n = x.shape[axis];
  std::vector<int64_t> sizes =
      c.version >= 13 ? (c.hasInput(1) ? c.constantInts(1) : std::vector<int64_t>{}) : c.attrInts("split");
  const int outputs = c.node->output_size();
  if (sizes.empty()) {
    int64_t parts = outputs;
    if (c.version >= 18 && c.attr("num_outputs")) {
      parts = c.attrInt("num_outputs", outputs);
      if (parts != outputs)
        c.fail("num_outputs is " + std::to_string(parts) + " but the node has " + std::to_string(outputs) + " outputs");
    }
    // Equal parts; the last one smaller when the axis does not divide (18).
    const int64_t each = (n + parts - 1) / std::max<int64_t>(parts, 1);
    for (int64_t i = 0; i < parts; ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(each, n - each * i)));
  }
  if (static_cast<int>(sizes.size()) != outputs)
    c.fail(std::to_string(sizes.size()) + " split sizes for " + std::to_string(outputs) + " outputs");
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0)
      c.fail("negative split size");
    total += s;
  }
  if (total != n)
    c.fail("split sizes add up to " + std::to_string(total) + ", the axis has " + std::to_string(n));
  int64_t at = 0;
  for (int i = 0; i < outputs; ++i) {
    std::vector<int64_t> off(x.rank(), 0), sz = x.shape, st(x.rank(), 1);
    off[axis] = at;
    sz[axis] = sizes[i];
    c.setOutput(i, c.slice(x, off, sz, st));
    at += sizes[i];
  }
}

void sliceOp(Context &c) {
  Tensor &x = c.input(0);
  std::vector<int64_t> starts, ends, axes, steps;
  if (c.version < 10) {
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
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    c.fail("starts, ends, axes and steps differ in length");
  if (x.rank() == 0 && !axes.empty())
    c.fail("a scalar (rank 0) cannot be sliced");
  std::vector<int64_t> off(x.rank(), 0), sz = x.shape, st(x.rank(), 1);
  std::vector<bool> seen(x.rank(), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t a = normalizeAxis(axes[i], x.rank(), c), n = x.shape[a], step = steps[i];
    if (seen[a])
      c.fail("axis " + std::to_string(axes[i]) + " is repeated");
    seen[a] = true;
    if (step == 0)
      c.fail("slice step 0");
    int64_t s = starts[i], e = ends[i];
    if (s < 0)
      s += n;
    if (e < 0)
      e += n;
    int64_t size = 0;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, n);
      e = std::clamp<int64_t>(e, 0, n);
      size = e > s ? (e - s - 1) / step + 1 : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, std::max<int64_t>(n - 1, 0));
      e = std::clamp<int64_t>(e, -1, n - 1);
      size = n > 0 && s > e ? (s - e - 1) / -step + 1 : 0;
    }
    off[a] = size > 0 ? s : 0;
    st[a] = size > 0 ? step : 1;
    sz[a] = size;
  }
  c.setOutput(0, c.slice(x, off, sz, st));
}

void transposeOp(Context &c) {
  Tensor &x = c.input(0);
  std::vector<int64_t> perm = c.attrInts("perm");
  if (perm.empty()) {
    perm.resize(x.rank());
    std::iota(perm.rbegin(), perm.rend(), 0);
  }
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i)
    if (sorted[i] != static_cast<int64_t>(i) || sorted.size() != static_cast<size_t>(x.rank()))
      c.fail("perm is not a permutation of the input's " + std::to_string(x.rank()) + " axes");
  c.setOutput(0, c.transpose(x, perm));
}

void gather(Context &c) {
  Tensor &data = c.input(0), &idx = c.input(1);
  if (data.rank() == 0)
    c.fail("Gather from a scalar");
  if (!isIntType(idx.element))
    c.fail("indices must be integers");
  const int64_t axis = normalizeAxis(c.attrInt("axis", 0), data.rank(), c);
  const int64_t n = data.shape[axis];
  Tensor ids = idx;
  if (idx.constant) { // negative indices count from the end
    std::vector<double> v = *idx.constant;
    for (double &d : v)
      if (d < 0)
        d += static_cast<double>(n);
    ids = c.constantTensor(v, idx.shape, idx.element);
  } else {
    const double size = static_cast<double>(n);
    ids = c.ewise({&idx}, idx.element, [&](OpBuilder &b, Location l, Args a) -> Value {
      return b.create<arith::SelectOp>(l, cmp(b, l, P::OLT, a[0], c.f32(b, 0.0)),
                                       b.create<arith::AddFOp>(l, a[0], c.f32(b, size)), a[0]);
    });
  }
  c.setOutput(0, c.gatherAxis(data, ids, axis));
}

void shapeOp(Context &c) {
  Tensor &x = c.input(0);
  const int64_t r = x.rank();
  int64_t start = c.version >= 15 ? c.attrInt("start", 0) : 0, end = c.version >= 15 ? c.attrInt("end", r) : r;
  start = std::clamp<int64_t>(start < 0 ? start + r : start, 0, r);
  end = std::clamp<int64_t>(end < 0 ? end + r : end, 0, r);
  std::vector<double> v(x.shape.begin() + start, x.shape.begin() + std::max(start, end));
  c.setOutput(0, c.constantTensor(v, {static_cast<int64_t>(v.size())}, c.builder.getI64Type()));
}

void sizeOp(Context &c) {
  c.setOutput(0, c.constantTensor({static_cast<double>(c.input(0).count())}, {}, c.builder.getI64Type()));
}

// Tile, one axis at a time: a concatenation of copies along the axis (a
// rank-preserving data movement the code generator lowers to copies).
constexpr int64_t kMaxTileRepeats = 65536;
void tile(Context &c) {
  Tensor &x = c.input(0);
  std::vector<int64_t> repeats = c.constantInts(1);
  if (static_cast<int>(repeats.size()) != x.rank())
    c.fail("repeats needs one entry per axis");
  std::vector<int64_t> out;
  for (int d = 0; d < x.rank(); ++d) {
    if (repeats[d] < 0)
      c.fail("negative repeats");
    // One copy per repeat (below): more would only exhaust the host's memory.
    if (repeats[d] > kMaxTileRepeats)
      c.fail("repeats of " + std::to_string(repeats[d]) + " along axis " + std::to_string(d) +
             " are not supported (at most " + std::to_string(kMaxTileRepeats) + ")");
    int64_t n = 0;
    if (__builtin_mul_overflow(repeats[d], x.shape[d], &n))
      c.fail("a tensor would have more than 2^40 elements");
    out.push_back(n);
  }
  c.checkShape(out);
  if (product(out) == 0) {
    c.setOutput(0, c.constantTensor({}, out, x.element));
    return;
  }
  Tensor y = x;
  for (int d = 0; d < x.rank(); ++d) {
    if (repeats[d] == 1)
      continue;
    Tensor part = y;
    std::vector<Tensor *> parts(static_cast<size_t>(repeats[d]), &part);
    y = c.concat(parts, d);
  }
  c.setOutput(0, y);
}

void depthToSpace(Context &c) {
  Tensor &x = c.input(0);
  const int64_t bs = c.attrInt("blocksize", 0);
  if (x.rank() != 4 || bs < 1 || x.shape[1] % (bs * bs))
    c.fail("needs a 4-D input whose channels divide by blocksize^2");
  const int64_t N = x.shape[0], C = x.shape[1] / (bs * bs), H = x.shape[2], W = x.shape[3];
  const bool crd = c.version >= 11 && c.attrString("mode", "DCR") == "CRD";
  Tensor v = c.reshape(x, crd ? std::vector<int64_t>{N, C, bs, bs, H, W} : std::vector<int64_t>{N, bs, bs, C, H, W});
  Tensor t = c.transpose(v, crd ? std::vector<int64_t>{0, 1, 4, 2, 5, 3} : std::vector<int64_t>{0, 3, 4, 1, 5, 2});
  c.setOutput(0, c.reshape(t, {N, C, H * bs, W * bs}));
}

void spaceToDepth(Context &c) {
  Tensor &x = c.input(0);
  const int64_t bs = c.attrInt("blocksize", 0);
  if (x.rank() != 4 || bs < 1 || x.shape[2] % bs || x.shape[3] % bs)
    c.fail("needs a 4-D input whose height and width divide by blocksize");
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2] / bs, W = x.shape[3] / bs;
  Tensor v = c.reshape(x, {N, C, H, bs, W, bs});
  Tensor t = c.transpose(v, {0, 3, 5, 1, 2, 4});
  c.setOutput(0, c.reshape(t, {N, C * bs * bs, H, W}));
}

// Trilu: x where the (row, column) mask of the last two axes holds, else 0.
void trilu(Context &c) {
  Tensor &x = c.input(0);
  if (x.rank() < 2)
    c.fail("needs rank 2 or more");
  int64_t k = 0;
  if (c.hasInput(1)) {
    std::vector<int64_t> kv = c.constantInts(1);
    if (kv.size() != 1)
      c.fail("k must be a scalar");
    k = kv[0];
  }
  const bool upper = c.attrInt("upper", 1) != 0;
  const int64_t N = x.shape[x.rank() - 2], M = x.shape[x.rank() - 1];
  if (N * M > (int64_t(1) << 24))
    c.fail("matrices of more than 2^24 elements are not supported");
  if (x.count() == 0) {
    c.setOutput(0, x);
    return;
  }
  std::vector<double> mask(static_cast<size_t>(N * M));
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < M; ++j)
      mask[i * M + j] = upper ? (j - i >= k) : (j - i <= k);
  Tensor m = c.constantTensor(mask, {N, M}, c.f32Type());
  c.setOutput(0, c.ewise({&x, &m}, x.element, [&](OpBuilder &b, Location l, Args v) -> Value {
    return b.create<arith::SelectOp>(l, cmp(b, l, P::UNE, v[1], c.f32(b, 0.0)), v[0], c.f32(b, 0.0));
  }));
}

// OneHot: on where the (non-negative) index equals the position on the new
// axis, off elsewhere (out-of-range indices give all off).
void oneHot(Context &c) {
  Tensor &idx = c.input(0), &depthT = c.input(1), &values = c.input(2);
  if (!depthT.constant || depthT.count() != 1)
    c.fail("depth must be a scalar known at compile time" + notKnown(c, 1));
  const int64_t depth = toInt64(std::trunc((*depthT.constant)[0]));
  if (depth < 1 || depth > (1 << 20))
    c.fail("depth " + std::to_string(depth) + " is not supported");
  if (values.count() != 2)
    c.fail("values must hold [off, on]");
  const int64_t rank = idx.rank() + 1, axis = normalizeAxis(c.attrInt("axis", -1), rank, c);
  std::vector<int64_t> ishape = idx.shape;
  ishape.insert(ishape.begin() + axis, 1);
  Tensor i2 = c.reshape(idx, ishape);
  std::vector<double> iota(static_cast<size_t>(depth));
  std::iota(iota.begin(), iota.end(), 0.0);
  std::vector<int64_t> tshape(rank - axis, 1);
  tshape[0] = depth;
  Tensor it = c.constantTensor(iota, tshape, c.f32Type());
  Tensor off = c.slice(values, {0}, {1}, {1}), on = c.slice(values, {1}, {1}, {1});
  const double d = static_cast<double>(depth);
  c.setOutput(0, c.ewise({&i2, &it, &off, &on}, values.element, [&](OpBuilder &b, Location l, Args v) -> Value {
    Value i = b.create<arith::SelectOp>(l, cmp(b, l, P::OLT, v[0], c.f32(b, 0.0)),
                                        b.create<arith::AddFOp>(l, v[0], c.f32(b, d)), v[0]);
    return b.create<arith::SelectOp>(l, cmp(b, l, P::OEQ, i, v[1]), v[3], v[2]);
  }));
}

void eyeLike(Context &c) {
  Tensor &x = c.input(0);
  if (x.rank() != 2)
    c.fail("needs a 2-D input");
  const int64_t k = c.attrInt("k", 0), N = x.shape[0], M = x.shape[1];
  Type element = c.attr("dtype") ? elementType(c, static_cast<int>(c.attrInt("dtype", 1)), "dtype") : x.element;
  if (N * M > (int64_t(1) << 24))
    c.fail("matrices of more than 2^24 elements are not supported");
  std::vector<double> v(static_cast<size_t>(N * M), 0.0);
  for (int64_t i = 0; i < N; ++i)
    if (i + k >= 0 && i + k < M)
      v[i * M + i + k] = 1.0;
  c.setOutput(0, c.constantTensor(v, {N, M}, element));
}

void constantOp(Context &c) {
  for (const auto &a : c.node->attribute()) {
    if (a.name() == "value") {
      const onnx::TensorProto &t = a.t();
      std::vector<int64_t> shape(t.dims().begin(), t.dims().end());
      Type element = elementType(c, t.data_type(), "the constant");
      c.setOutput(0, c.constantTensor(tensorElements(t, "", c), shape, element));
      return;
    }
    if (a.name() == "value_float") {
      c.setOutput(0, c.constantTensor({a.f()}, {}, c.f32Type()));
      return;
    }
    if (a.name() == "value_floats") {
      std::vector<double> v(a.floats().begin(), a.floats().end());
      c.setOutput(0, c.constantTensor(v, {static_cast<int64_t>(v.size())}, c.f32Type()));
      return;
    }
    if (a.name() == "value_int") {
      c.setOutput(0, c.constantTensor({static_cast<double>(a.i())}, {}, c.builder.getI64Type()));
      return;
    }
    if (a.name() == "value_ints") {
      std::vector<double> v;
      for (int64_t i : a.ints())
        v.push_back(static_cast<double>(i));
      c.setOutput(0, c.constantTensor(v, {static_cast<int64_t>(v.size())}, c.builder.getI64Type()));
      return;
    }
    if (a.name() == "sparse_value" || a.name() == "value_string" || a.name() == "value_strings")
      c.fail("a Constant with " + a.name() + " is not supported");
  }
  c.fail("Constant without a value attribute");
}

void constantOfShape(Context &c) {
  std::vector<int64_t> shape = c.constantInts(0);
  c.checkShape(shape);
  double v = 0;
  Type element = c.f32Type();
  if (const onnx::AttributeProto *a = c.attr("value")) {
    std::vector<double> d = tensorElements(a->t(), "", c);
    if (d.size() != 1)
      c.fail("value must hold one element");
    v = d[0];
    element = elementType(c, a->t().data_type(), "value");
  }
  c.setOutput(0, c.splat(v, shape, element));
}

void range(Context &c) {
  Tensor &s = c.input(0), &l = c.input(1), &d = c.input(2);
  if (!s.constant || !l.constant || !d.constant || s.count() != 1 || l.count() != 1 || d.count() != 1)
    c.fail("start, limit and delta must be scalars known at compile time" +
           notKnown(c, !s.constant ? 0 : !l.constant ? 1 : 2));
  const double start = (*s.constant)[0], limit = (*l.constant)[0], delta = (*d.constant)[0];
  if (delta == 0)
    c.fail("delta is 0");
  const double n = std::max(std::ceil((limit - start) / delta), 0.0);
  if (n > (1 << 20))
    c.fail("ranges of more than 2^20 elements are not supported");
  std::vector<double> v;
  for (int64_t i = 0; i < static_cast<int64_t>(n); ++i)
    v.push_back(start + static_cast<double>(i) * delta);
  c.setOutput(0, c.constantTensor(v, {static_cast<int64_t>(v.size())}, s.element));
}

void padOp(Context &c) {
  Tensor &x = c.input(0);
  const int64_t r = x.rank();
  const std::string mode = c.attrString("mode", "constant");
  if (mode != "constant")
    c.fail("Pad mode '" + mode + "' is not supported (constant only)");
  std::vector<int64_t> pads = c.version >= 11 ? c.constantInts(1) : c.attrInts(c.version >= 2 ? "pads" : "paddings");
  double value = c.version >= 11 ? 0.0 : c.attrFloat("value", 0.0f);
  if (c.version >= 11 && c.hasInput(2)) {
    Tensor &v = c.input(2);
    if (!v.constant || v.count() != 1)
      c.fail("constant_value must be a scalar known at compile time" + notKnown(c, 2));
    value = (*v.constant)[0];
  }
  std::vector<int64_t> axes;
  if (c.version >= 18 && c.hasInput(3)) {
    for (int64_t a : c.constantInts(3))
      axes.push_back(normalizeAxis(a, r, c));
  } else {
    axes.resize(r);
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (pads.size() != 2 * axes.size())
    c.fail("pads needs " + std::to_string(2 * axes.size()) + " values");
  std::vector<int64_t> low(r, 0), high(r, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    low[axes[i]] = pads[i];
    high[axes[i]] = pads[i + axes.size()];
  }
  // Negative pads crop.
  std::vector<int64_t> off(r, 0), sz = x.shape, st(r, 1);
  bool crop = false;
  for (int64_t d = 0; d < r; ++d) {
    if (low[d] < 0) {
      off[d] = -low[d];
      sz[d] += low[d];
      low[d] = 0;
      crop = true;
    }
    if (high[d] < 0) {
      sz[d] += high[d];
      high[d] = 0;
      crop = true;
    }
    if (sz[d] < 0)
      c.fail("negative pads remove more than the axis");
  }
  Tensor cropped = crop ? c.slice(x, off, sz, st) : x;
  c.setOutput(0, c.pad(cropped, low, high, value));
}

// ---------------------------------------------------------------------------
// Convolution and pooling (1-D, 2-D and 3-D, NC + spatial dims)
// ---------------------------------------------------------------------------

struct Window {
  std::vector<int64_t> kernel, strides, dilations, padLow, padHigh, out;
};

Window windowOf(Context &c, const std::vector<int64_t> &spatial, const std::vector<int64_t> &kernel, bool ceilMode) {
  const size_t k = spatial.size();
  Window w;
  w.kernel = kernel;
  w.strides = c.attrInts("strides");
  w.dilations = c.attrInts("dilations");
  std::vector<int64_t> pads = c.attrInts("pads");
  if (w.strides.empty())
    w.strides.assign(k, 1);
  if (w.dilations.empty())
    w.dilations.assign(k, 1);
  if (pads.empty())
    pads.assign(2 * k, 0);
  if (w.kernel.size() != k || w.strides.size() != k || w.dilations.size() != k || pads.size() != 2 * k)
    c.fail("kernel_shape, strides, dilations and pads must have one entry per spatial axis (" + std::to_string(k) + ")");
  const std::string autoPad = c.attrString("auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER" && autoPad != "VALID")
    c.fail("auto_pad '" + autoPad + "' is not valid");
  for (size_t d = 0; d < k; ++d) {
    const int64_t S = spatial[d], s = w.strides[d], dil = w.dilations[d], K = w.kernel[d];
    if (s < 1 || dil < 1 || K < 1 || pads[d] < 0 || pads[d + k] < 0)
      c.fail("kernel sizes, strides and dilations must be positive and pads not negative");
    const int64_t ek = (K - 1) * dil + 1;
    int64_t lo = pads[d], hi = pads[d + k], out;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      out = (S + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + ek - S);
      lo = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      hi = total - lo;
    } else {
      if (autoPad == "VALID")
        lo = hi = 0;
      const int64_t span = S + lo + hi - ek;
      if (span < 0)
        c.fail("the kernel is larger than the padded input");
      out = (ceilMode ? (span + s - 1) / s : span / s) + 1;
      if (ceilMode && (out - 1) * s >= S + lo) // the last window must start inside
        --out;
    }
    w.padLow.push_back(lo);
    w.padHigh.push_back(hi);
    w.out.push_back(out);
  }
  return w;
}

// Every tap of the window: the kernel offsets in row-major order.
std::vector<std::vector<int64_t>> kernelTaps(const std::vector<int64_t> &kernel) {
  std::vector<std::vector<int64_t>> taps;
  std::vector<int64_t> idx(kernel.size(), 0);
  for (int64_t n = 0, total = product(kernel); n < total; ++n) {
    taps.push_back(idx);
    for (int d = static_cast<int>(kernel.size()) - 1; d >= 0 && ++idx[d] == kernel[d]; --d)
      idx[d] = 0;
  }
  return taps;
}

// The strided view of the (padded) input that a kernel tap reads.
Tensor tapView(Context &c, Tensor &xp, const Window &w, const std::vector<int64_t> &tap, int64_t channelOffset,
               int64_t channels) {
  const size_t k = tap.size();
  std::vector<int64_t> off = {0, channelOffset}, sizes = {xp.shape[0], channels}, strides = {1, 1};
  for (size_t d = 0; d < k; ++d) {
    off.push_back(tap[d] * w.dilations[d]);
    sizes.push_back(w.out[d]);
    strides.push_back(w.strides[d]);
  }
  return c.slice(xp, off, sizes, strides);
}

// Conv: im2col with strided slices of the padded input, then a matmul
// against the weights as [M, C*K...]; groups convolve channel slices.
void conv(Context &c) {
  Tensor &x = c.input(0), &w = c.input(1);
  if (x.rank() < 3 || x.rank() > 5)
    c.fail("only 1-D, 2-D and 3-D convolutions are supported (input rank 3-5)");
  if (w.rank() != x.rank())
    c.fail("the weights' rank differs from the input's");
  const size_t k = static_cast<size_t>(x.rank() - 2);
  const int64_t N = x.shape[0], C = x.shape[1], M = w.shape[0], Cg = w.shape[1];
  const int64_t group = c.attrInt("group", 1);
  if (group < 1 || Cg * group != C || M % group)
    c.fail("channels (" + std::to_string(C) + " in, " + std::to_string(M) + " out) do not match group " +
           std::to_string(group) + " and weights of " + std::to_string(Cg) + " input channels");
  const std::vector<int64_t> kernel = sub(w.shape, 2, w.rank());
  std::vector<int64_t> ks = c.attrInts("kernel_shape");
  if (!ks.empty() && ks != kernel)
    c.fail("kernel_shape differs from the weights' shape");
  Window win = windowOf(c, sub(x.shape, 2, x.rank()), kernel, false);
  std::vector<int64_t> low = {0, 0}, high = {0, 0};
  low.insert(low.end(), win.padLow.begin(), win.padLow.end());
  high.insert(high.end(), win.padHigh.begin(), win.padHigh.end());
  Tensor xp = c.pad(x, low, high, 0.0);
  const int64_t Mg = M / group, T = product(kernel), P = product(win.out);
  const std::vector<std::vector<int64_t>> taps = kernelTaps(kernel);
  Tensor bias;
  if (c.hasInput(2)) {
    bias = c.input(2);
    if (bias.count() != M)
      c.fail("the bias must have one element per output channel");
    bias = c.reshape(bias, {M});
  }
  std::vector<Tensor> outs;
  for (int64_t g = 0; g < group; ++g) {
    // Patches [N, Cg, T, out...] -> [Cg, T, N, out...] -> [Cg*T, N*P].
    std::vector<Tensor> views;
    for (const auto &tap : taps) {
      Tensor s = tapView(c, xp, win, tap, g * Cg, Cg);
      std::vector<int64_t> shape = {N, Cg, 1};
      shape.insert(shape.end(), win.out.begin(), win.out.end());
      views.push_back(c.reshape(s, shape));
    }
    std::vector<Tensor *> ptrs;
    for (Tensor &t : views)
      ptrs.push_back(&t);
    Tensor stacked = c.concat(ptrs, 2);
    std::vector<int64_t> perm = {1, 2, 0};
    for (size_t d = 0; d < k; ++d)
      perm.push_back(static_cast<int64_t>(3 + d));
    Tensor moved = c.transpose(stacked, perm);
    Tensor patches = c.reshape(moved, {Cg * T, N * P});
    std::vector<int64_t> wOff(w.rank(), 0), wSize = w.shape, wStep(w.rank(), 1);
    wOff[0] = g * Mg;
    wSize[0] = Mg;
    Tensor wg = c.slice(w, wOff, wSize, wStep);
    Tensor w2 = c.reshape(wg, {Mg, Cg * T});
    Tensor y = c.matmul(w2, patches); // [Mg, N*P]
    if (c.hasInput(2)) {
      Tensor bg = c.slice(bias, {g * Mg}, {Mg}, {1});
      Tensor b2 = c.reshape(bg, {Mg, 1});
      y = c.ewise({&y, &b2}, y.element, [](OpBuilder &b, Location l, Args v) -> Value {
        return b.create<arith::AddFOp>(l, v[0], v[1]);
      });
    }
    std::vector<int64_t> shape = {Mg, N};
    shape.insert(shape.end(), win.out.begin(), win.out.end());
    outs.push_back(c.reshape(y, shape));
  }
  std::vector<Tensor *> outPtrs;
  for (Tensor &o : outs)
    outPtrs.push_back(&o);
  Tensor all = c.concat(outPtrs, 0);
  std::vector<int64_t> perm = {1, 0};
  for (size_t d = 0; d < k; ++d)
    perm.push_back(static_cast<int64_t>(2 + d));
  c.setOutput(0, c.transpose(all, perm));
}

// Sum or max of many same-shape terms, eight at a time.
Tensor combine(Context &c, std::vector<Tensor> terms, bool isMax, Type element) {
  while (terms.size() > 1) {
    std::vector<Tensor> next;
    for (size_t i = 0; i < terms.size(); i += 8) {
      std::vector<Tensor *> group;
      for (size_t j = i; j < std::min(terms.size(), i + 8); ++j)
        group.push_back(&terms[j]);
      if (group.size() == 1) {
        next.push_back(*group[0]);
        continue;
      }
      next.push_back(c.ewise(group, element, [&](OpBuilder &b, Location l, Args v) -> Value {
        Value acc = v[0];
        for (size_t t = 1; t < v.size(); ++t)
          acc = isMax ? b.create<arith::MaximumFOp>(l, acc, v[t]).getResult()
                      : b.create<arith::AddFOp>(l, acc, v[t]).getResult();
        return acc;
      }));
    }
    terms = std::move(next);
  }
  return terms[0];
}

// MaxPool/AveragePool: an elementwise max/sum over the strided views of the
// padded input, one per kernel tap. MaxPool's Indices output picks, per
// output element, the flat input index of the first tap equal to the max.
void pool(Context &c) {
  const bool isMax = c.node->op_type() == "MaxPool";
  Tensor &x = c.input(0);
  if (x.rank() < 3 || x.rank() > 5)
    c.fail("only 1-D, 2-D and 3-D pooling is supported (input rank 3-5)");
  const size_t k = static_cast<size_t>(x.rank() - 2);
  const std::vector<int64_t> spatial = sub(x.shape, 2, x.rank());
  const bool ceilMode = c.attrInt("ceil_mode", 0) != 0;
  Window w = windowOf(c, spatial, c.attrInts("kernel_shape"), ceilMode);
  // Pads, plus what the last (ceil-mode) window reaches past them.
  std::vector<int64_t> low = {0, 0}, high = {0, 0};
  for (size_t d = 0; d < k; ++d) {
    const int64_t need = (w.out[d] - 1) * w.strides[d] + (w.kernel[d] - 1) * w.dilations[d] + 1;
    low.push_back(w.padLow[d]);
    high.push_back(std::max(w.padHigh[d], need - spatial[d] - w.padLow[d]));
  }
  const double fill = isMax ? -std::numeric_limits<double>::infinity() : 0.0;
  Tensor xp = c.pad(x, low, high, fill);
  const auto taps = kernelTaps(w.kernel);
  std::vector<Tensor> views;
  for (const auto &tap : taps)
    views.push_back(tapView(c, xp, w, tap, 0, x.shape[1]));
  const int64_t outCount = product(w.out);
  if (outCount > (int64_t(1) << 26))
    c.fail("pooling windows over more than 2^26 output positions are not supported");
  // The input position a tap reads at each output element (-1: padding).
  auto position = [&](const std::vector<int64_t> &tap, int64_t flatOut, std::vector<int64_t> &pos) {
    bool inside = true, insidePads = true;
    pos.assign(k, 0);
    for (int d = static_cast<int>(k) - 1; d >= 0; --d) {
      const int64_t o = flatOut % w.out[d];
      flatOut /= w.out[d];
      pos[d] = o * w.strides[d] + tap[d] * w.dilations[d] - w.padLow[d];
      inside = inside && pos[d] >= 0 && pos[d] < spatial[d];
      insidePads = insidePads && pos[d] < spatial[d] + w.padHigh[d];
    }
    return std::make_pair(inside, insidePads);
  };
  if (!isMax) {
    // Divide by the taps inside the input (count_include_pad=0) or inside
    // the explicit pads (1); ceil-mode overhang never counts.
    const bool includePad = c.attrInt("count_include_pad", 0) != 0;
    std::vector<double> cnt(static_cast<size_t>(outCount));
    std::vector<int64_t> pos;
    for (int64_t o = 0; o < outCount; ++o) {
      int64_t n = 0;
      for (const auto &tap : taps) {
        auto [inside, insidePads] = position(tap, o, pos);
        n += includePad ? insidePads : inside;
      }
      cnt[o] = 1.0 / static_cast<double>(std::max<int64_t>(n, 1));
    }
    Tensor counts = c.constantTensor(cnt, w.out, c.f32Type());
    Tensor sum = combine(c, views, false, x.element);
    c.setOutput(0, c.ewise({&sum, &counts}, x.element, [&](OpBuilder &b, Location l, Args v) -> Value {
      return b.create<arith::MulFOp>(l, v[0], v[1]);
    }));
    return;
  }
  Tensor y = combine(c, views, true, x.element);
  c.setOutput(0, y);
  if (!c.hasOutput(1))
    return;
  if (taps.size() > 64)
    c.fail("the Indices output of windows of more than 64 elements is not supported");
  const bool columnMajor = c.attrInt("storage_order", 0) != 0;
  std::vector<Tensor> tapIndex;
  std::vector<int64_t> pos;
  for (const auto &tap : taps) {
    std::vector<double> idx(static_cast<size_t>(outCount));
    for (int64_t o = 0; o < outCount; ++o) {
      position(tap, o, pos);
      int64_t flat = 0;
      if (columnMajor)
        for (int d = static_cast<int>(k) - 1; d >= 0; --d)
          flat = flat * spatial[d] + pos[d];
      else
        for (size_t d = 0; d < k; ++d)
          flat = flat * spatial[d] + pos[d];
      idx[o] = static_cast<double>(flat);
    }
    tapIndex.push_back(c.constantTensor(idx, w.out, c.builder.getI32Type()));
  }
  // The (n, c) part of the flat index: (n * C + c) * prod(spatial).
  std::vector<int64_t> baseShape = {x.shape[0], x.shape[1]};
  baseShape.resize(x.rank(), 1);
  std::vector<double> base;
  for (int64_t i = 0; i < x.shape[0] * x.shape[1]; ++i)
    base.push_back(static_cast<double>(i * product(spatial)));
  Tensor baseT = c.constantTensor(base, baseShape, c.builder.getI32Type());
  std::vector<Tensor *> ins;
  for (Tensor &v : views)
    ins.push_back(&v);
  ins.push_back(&y);
  for (Tensor &t : tapIndex)
    ins.push_back(&t);
  ins.push_back(&baseT);
  const size_t T = taps.size();
  c.setOutput(1, c.ewise(ins, c.builder.getI64Type(), [&](OpBuilder &b, Location l, Args v) -> Value {
    Value idx = v[T + 1 + T - 1];
    for (int t = static_cast<int>(T) - 2; t >= 0; --t)
      idx = b.create<arith::SelectOp>(l, cmp(b, l, P::OEQ, v[t], v[T]), v[T + 1 + t], idx);
    return b.create<arith::AddFOp>(l, idx, v.back());
  }));
}

void globalPool(Context &c) {
  const bool isMax = c.node->op_type() == "GlobalMaxPool";
  Tensor &x = c.input(0);
  if (x.rank() < 3)
    c.fail("the input needs spatial axes (rank 3 or more)");
  std::vector<int64_t> axes;
  int64_t count = 1;
  for (int64_t d = 2; d < x.rank(); ++d) {
    axes.push_back(d);
    count *= x.shape[d];
  }
  Tensor r = c.reduce(x, isMax ? "max" : "sum", axes, true);
  if (!isMax)
    r = c.ewise({&r}, r.element, [&](OpBuilder &b, Location l, Args v) -> Value {
      return b.create<arith::MulFOp>(l, v[0], c.f32(b, 1.0 / static_cast<double>(count)));
    });
  c.setOutput(0, r);
}

// ---------------------------------------------------------------------------
// The operator table
// ---------------------------------------------------------------------------

struct OpEntry {
  std::vector<int64_t> versions; // every version of the operator up to opset 18
  int64_t minVersion;            // the oldest version the converter handles
  void (*convert)(Context &);
};

const std::map<std::string, OpEntry> &opTable() {
  static const std::map<std::string, OpEntry> table = {
      {"Add", {{1, 6, 7, 13, 14}, 7, binary}},
      {"Sub", {{1, 6, 7, 13, 14}, 7, binary}},
      {"Mul", {{1, 6, 7, 13, 14}, 7, binary}},
      {"Div", {{1, 6, 7, 13, 14}, 7, binary}},
      {"Pow", {{1, 7, 12, 13, 15}, 7, binary}},
      {"Equal", {{1, 7, 11, 13}, 7, binary}},
      {"Less", {{1, 7, 9, 13}, 7, binary}},
      {"Greater", {{1, 7, 9, 13}, 7, binary}},
      {"LessOrEqual", {{12, 16}, 12, binary}},
      {"GreaterOrEqual", {{12, 16}, 12, binary}},
      {"Max", {{1, 6, 8, 12, 13}, 8, variadic}},
      {"Min", {{1, 6, 8, 12, 13}, 8, variadic}},
      {"Sum", {{1, 6, 8, 13}, 8, variadic}},
      {"Mean", {{1, 6, 8, 13}, 8, variadic}},
      {"Sqrt", {{1, 6, 13}, 6, unary}},
      {"Reciprocal", {{1, 6, 13}, 6, unary}},
      {"Exp", {{1, 6, 13}, 6, unary}},
      {"Log", {{1, 6, 13}, 6, unary}},
      {"Erf", {{9, 13}, 9, unary}},
      {"Tanh", {{1, 6, 13}, 6, unary}},
      {"Sigmoid", {{1, 6, 13}, 6, unary}},
      {"Relu", {{1, 6, 13, 14}, 6, unary}},
      {"LeakyRelu", {{1, 6, 16}, 6, unary}},
      {"Gelu", {{1}, 1, unary}}, // opset 20's Gelu, accepted at any opset
      {"Abs", {{1, 6, 13}, 6, unary}},
      {"Neg", {{1, 6, 13}, 6, unary}},
      {"Softplus", {{1}, 1, unary}},
      {"Not", {{1}, 1, unary}},
      {"Softsign", {{1}, 1, unary}},
      {"Mish", {{18}, 18, unary}},
      {"Elu", {{1, 6}, 6, unary}},
      {"Selu", {{1, 6}, 6, unary}},
      {"Celu", {{12}, 12, unary}},
      {"HardSigmoid", {{1, 6}, 6, unary}},
      {"HardSwish", {{14}, 14, unary}},
      {"ThresholdedRelu", {{10}, 10, unary}},
      {"Shrink", {{9}, 9, unary}},
      {"Floor", {{1, 6, 13}, 6, unary}},
      {"Ceil", {{1, 6, 13}, 6, unary}},
      {"Round", {{11}, 11, unary}},
      {"Sign", {{9, 13}, 9, unary}},
      {"IsNaN", {{9, 13}, 9, unary}},
      {"IsInf", {{10}, 10, unary}},
      {"PRelu", {{1, 6, 7, 9, 16}, 7, prelu}},
      {"And", {{1, 7}, 7, logical}},
      {"Or", {{1, 7}, 7, logical}},
      {"Xor", {{1, 7}, 7, logical}},
      {"Mod", {{10, 13}, 10, modOp}},
      {"Identity", {{1, 13, 14, 16}, 1, identity}},
      {"Dropout", {{1, 6, 7, 10, 12, 13}, 7, dropout}},
      {"Clip", {{1, 6, 11, 12, 13}, 6, clip}},
      {"Where", {{9, 16}, 9, where}},
      {"Cast", {{1, 6, 9, 13}, 6, cast}},
      {"CastLike", {{15}, 15, cast}},
      {"Softmax", {{1, 11, 13}, 1, softmax}},
      {"LogSoftmax", {{1, 11, 13}, 1, softmax}},
      {"LayerNormalization", {{17}, 17, layerNorm}},
      {"BatchNormalization", {{1, 6, 7, 9, 14, 15}, 7, batchNorm}},
      {"MatMul", {{1, 9, 13}, 1, matmulOp}},
      {"Gemm", {{1, 6, 7, 9, 11, 13}, 7, gemm}},
      {"Einsum", {{12}, 12, einsum}},
      {"RNN", {{1, 7, 14}, 7, recurrent}},
      {"GRU", {{1, 3, 7, 14}, 7, recurrent}},
      {"LSTM", {{1, 7, 14}, 7, recurrent}},
      {"ReduceMean", {{1, 11, 13, 18}, 1, reduceOp}},
      {"ReduceSum", {{1, 11, 13}, 1, reduceOp}},
      {"ReduceMax", {{1, 11, 12, 13, 18}, 1, reduceOp}},
      {"ReduceMin", {{1, 11, 12, 13, 18}, 1, reduceOp}},
      {"ReduceL1", {{1, 11, 13, 18}, 1, reduceOp}},
      {"ReduceL2", {{1, 11, 13, 18}, 1, reduceOp}},
      {"ReduceSumSquare", {{1, 11, 13, 18}, 1, reduceOp}},
      {"ReduceLogSum", {{1, 11, 13, 18}, 1, reduceOp}},
      {"ReduceLogSumExp", {{1, 11, 13, 18}, 1, reduceOp}},
      {"ArgMax", {{1, 11, 12, 13}, 1, argMinMax}},
      {"ArgMin", {{1, 11, 12, 13}, 1, argMinMax}},
      {"Hardmax", {{1, 11, 13}, 1, hardmax}},
      {"TopK", {{1, 10, 11}, 1, topK}},
      {"CumSum", {{11, 14}, 11, cumSum}},
      {"InstanceNormalization", {{1, 6}, 6, instanceNorm}},
      {"MeanVarianceNormalization", {{9, 13}, 9, meanVarianceNorm}},
      {"Reshape", {{1, 5, 13, 14}, 5, reshapeOp}},
      {"Squeeze", {{1, 11, 13}, 1, squeezeOp}},
      {"Unsqueeze", {{1, 11, 13}, 1, squeezeOp}},
      {"Flatten", {{1, 9, 11, 13}, 1, flatten}},
      {"Expand", {{8, 13}, 8, expand}},
      {"Concat", {{1, 4, 11, 13}, 1, concatOp}},
      {"Split", {{1, 2, 11, 13, 18}, 2, split}},
      {"Slice", {{1, 10, 11, 13}, 1, sliceOp}},
      {"Transpose", {{1, 13}, 1, transposeOp}},
      {"Gather", {{1, 11, 13}, 1, gather}},
      {"Shape", {{1, 13, 15}, 1, shapeOp}},
      {"Constant", {{1, 9, 11, 12, 13}, 1, constantOp}},
      {"ConstantOfShape", {{9}, 9, constantOfShape}},
      {"Range", {{11}, 11, range}},
      {"Size", {{1, 13}, 1, sizeOp}},
      {"Tile", {{1, 6, 13}, 6, tile}},
      {"DepthToSpace", {{1, 11, 13}, 1, depthToSpace}},
      {"SpaceToDepth", {{1, 13}, 1, spaceToDepth}},
      {"Trilu", {{14}, 14, trilu}},
      {"OneHot", {{9, 11}, 9, oneHot}},
      {"EyeLike", {{9}, 9, eyeLike}},
      {"Pad", {{1, 2, 11, 13, 18}, 2, padOp}},
      {"Conv", {{1, 11}, 1, conv}},
      {"MaxPool", {{1, 8, 10, 11, 12}, 1, pool}},
      {"AveragePool", {{1, 7, 10, 11}, 1, pool}},
      {"GlobalAveragePool", {{1}, 1, globalPool}},
      {"GlobalMaxPool", {{1}, 1, globalPool}},
  };
  return table;
}

} // namespace

int64_t supportedVersion(const std::string &op, int64_t opset) {
  auto it = opTable().find(op);
  if (it == opTable().end())
    return 0;
  int64_t version = 0;
  for (int64_t v : it->second.versions)
    if (v <= opset)
      version = v;
  if (op == "Gelu")
    return 20;
  return version >= it->second.minVersion ? version : 0;
}

void convertNode(Context &c) { opTable().at(c.node->op_type()).convert(c); }

} // namespace trnx::onnximport
