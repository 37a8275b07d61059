// Expression graph construction and the structural matchers of composites.
#include "ExprGraph.h"

#include "trnx/Dialect/Trn/TrnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;

namespace trnx::trn {

const Expr *ExprGraph::make(Expr e) {
  nodes_.push_back(std::make_unique<Expr>(std::move(e)));
  return nodes_.back().get();
}

const Expr *ExprGraph::leaf(Value v) {
  Expr e;
  e.kind = Expr::Kind::Leaf;
  e.value = v;
  return make(e);
}

const Expr *ExprGraph::of(Value v) {
  auto it = cache_.find(v);
  if (it != cache_.end())
    return it->second;
  const Expr *e = build(v);
  cache_[v] = e;
  return e;
}

static bool onlyUnitDimsDiffer(RankedTensorType a, RankedTensorType b) {
  SmallVector<int64_t> x, y;
  for (int64_t d : a.getShape())
    if (d != 1)
      x.push_back(d);
  for (int64_t d : b.getShape())
    if (d != 1)
      y.push_back(d);
  return x == y;
}

const Expr *ExprGraph::build(Value v) {
  if (auto arg = llvm::dyn_cast<BlockArgument>(v)) {
    auto ew = llvm::dyn_cast_or_null<EwiseOp>(arg.getOwner()->getParentOp());
    if (expandArguments_ && ew)
      return of(ew.getInputs()[arg.getArgNumber()]);
    return leaf(v);
  }
  Operation *def = v.getDefiningOp();
  if (!def)
    return leaf(v);
  auto op = [&](const char *name, std::vector<const Expr *> args) {
    Expr e;
    e.kind = Expr::Kind::Op;
    e.op = name;
    e.value = v;
    e.args = std::move(args);
    return make(e);
  };
  auto arg = [&](unsigned i) { return of(def->getOperand(i)); };
  return llvm::TypeSwitch<Operation *, const Expr *>(def)
      .Case<EwiseOp>([&](EwiseOp ew) -> const Expr * {
        auto yield = llvm::cast<YieldOp>(ew.getBody().front().getTerminator());
        const Expr *inner = of(yield.getValue());
        // The node stands for the tensor: matchers hand its value to new ops
        // (softmax of x * scale needs x * scale as a tensor, not the scalar
        // inside the body).
        if (inner->kind == Expr::Kind::Leaf)
          return llvm::isa<RankedTensorType>(inner->value.getType()) ? inner : leaf(v);
        Expr e = *inner;
        e.value = v;
        return make(e);
      })
      .Case<ReshapeOp>([&](ReshapeOp r) {
        if (onlyUnitDimsDiffer(llvm::cast<RankedTensorType>(r.getInput().getType()),
                               llvm::cast<RankedTensorType>(r.getResult().getType())))
          return of(r.getInput());
        return leaf(v);
      })
      .Case<ReduceOp>([&](ReduceOp r) {
        Expr e;
        e.kind = Expr::Kind::Reduce;
        e.op = r.getKind().str();
        e.value = v;
        e.args = {of(r.getInput())};
        auto in = llvm::cast<RankedTensorType>(r.getInput().getType());
        e.reducesLastAxis = r.getAxes().size() == 1 && r.getAxes()[0] == in.getRank() - 1;
        e.reducedSize = 1;
        for (int64_t a : r.getAxes())
          e.reducedSize *= in.getDimSize(a);
        return make(e);
      })
      .Case<arith::ConstantOp>([&](arith::ConstantOp c) -> const Expr * {
        Expr e;
        e.kind = Expr::Kind::Const;
        e.value = v;
        Attribute a = c.getValue();
        if (auto dense = llvm::dyn_cast<DenseElementsAttr>(a)) {
          if (!dense.isSplat())
            return leaf(v);
          a = dense.getSplatValue<Attribute>();
        }
        if (auto f = llvm::dyn_cast<FloatAttr>(a))
          e.constant = f.getValueAsDouble();
        else if (auto i = llvm::dyn_cast<IntegerAttr>(a))
          e.constant = static_cast<double>(i.getValue().getSExtValue());
        else
          return leaf(v);
        return make(e);
      })
      .Case<arith::AddFOp>([&](auto) { return op("add", {arg(0), arg(1)}); })
      .Case<arith::SubFOp>([&](auto) { return op("sub", {arg(0), arg(1)}); })
      .Case<arith::MulFOp>([&](auto) { return op("mul", {arg(0), arg(1)}); })
      .Case<arith::DivFOp>([&](auto) { return op("div", {arg(0), arg(1)}); })
      .Case<arith::MaximumFOp>([&](auto) { return op("max", {arg(0), arg(1)}); })
      .Case<arith::MinimumFOp>([&](auto) { return op("min", {arg(0), arg(1)}); })
      .Case<arith::NegFOp>([&](auto) { return op("neg", {arg(0)}); })
      .Case<math::ExpOp>([&](auto) { return op("exp", {arg(0)}); })
      .Case<math::LogOp>([&](auto) { return op("log", {arg(0)}); })
      .Case<math::TanhOp>([&](auto) { return op("tanh", {arg(0)}); })
      .Case<math::ErfOp>([&](auto) { return op("erf", {arg(0)}); })
      .Case<math::SqrtOp>([&](auto) { return op("sqrt", {arg(0)}); })
      .Case<math::RsqrtOp>([&](auto) { return op("rsqrt", {arg(0)}); })
      .Case<math::AbsFOp>([&](auto) { return op("abs", {arg(0)}); })
      .Case<math::PowFOp>([&](auto) { return op("pow", {arg(0), arg(1)}); })
      .Case<ActOp>([&](ActOp a) -> const Expr * {
        if (a.getScale().convertToFloat() != 1.0f || a.getBias().convertToFloat() != 0.0f)
          return leaf(v);
        std::string name = "act:" + a.getFunc().str();
        Expr e;
        e.kind = Expr::Kind::Op;
        e.op = name;
        e.value = v;
        e.args = {arg(0)};
        return make(e);
      })
      .Default([&](Operation *) { return leaf(v); });
}

static bool near(double a, double b, double relTol) {
  return std::fabs(a - b) <= relTol * std::max(1.0, std::max(std::fabs(a), std::fabs(b)));
}

bool same(const Expr *a, const Expr *b) {
  if (a == b)
    return true;
  if (a->kind != b->kind)
    return false;
  switch (a->kind) {
  case Expr::Kind::Leaf:
    return a->value == b->value;
  case Expr::Kind::Const:
    return near(a->constant, b->constant, 1e-6);
  case Expr::Kind::Reduce:
    return a->op == b->op && a->reducesLastAxis == b->reducesLastAxis && a->reducedSize == b->reducedSize &&
           same(a->args[0], b->args[0]);
  case Expr::Kind::Op: {
    if (a->op != b->op || a->args.size() != b->args.size())
      return false;
    bool direct = true;
    for (size_t i = 0; i < a->args.size(); ++i)
      direct = direct && same(a->args[i], b->args[i]);
    if (direct)
      return true;
    const bool commutative = a->op == "add" || a->op == "mul" || a->op == "max" || a->op == "min";
    return commutative && a->args.size() == 2 && same(a->args[0], b->args[1]) && same(a->args[1], b->args[0]);
  }
  }
  return false;
}

bool isConst(const Expr *e, double value, double relTol) {
  return e->kind == Expr::Kind::Const && near(e->constant, value, relTol);
}

void factors(const Expr *e, std::vector<const Expr *> &out, double &constant, const Expr *keep) {
  if (keep && same(e, keep)) { // a product that is one operand of the pattern
    out.push_back(e);
    return;
  }
  if (e->kind == Expr::Kind::Const) {
    constant *= e->constant;
    return;
  }
  if (e->kind == Expr::Kind::Op) {
    if (e->op == "mul") {
      factors(e->args[0], out, constant, keep);
      factors(e->args[1], out, constant, keep);
      return;
    }
    if (e->op == "div" && e->args[1]->kind == Expr::Kind::Const && e->args[1]->constant != 0) {
      constant /= e->args[1]->constant;
      factors(e->args[0], out, constant, keep);
      return;
    }
    if (e->op == "neg") {
      constant = -constant;
      factors(e->args[0], out, constant, keep);
      return;
    }
  }
  out.push_back(e);
}

void terms(const Expr *e, std::vector<const Expr *> &out, double &constant, const Expr *keep) {
  if (keep && same(e, keep)) { // a sum that is one operand of the pattern
    out.push_back(e);
    return;
  }
  if (e->kind == Expr::Kind::Const) {
    constant += e->constant;
    return;
  }
  if (e->kind == Expr::Kind::Op && e->op == "add") {
    terms(e->args[0], out, constant, keep);
    terms(e->args[1], out, constant, keep);
    return;
  }
  if (e->kind == Expr::Kind::Op && e->op == "sub" && e->args[1]->kind == Expr::Kind::Const) {
    constant -= e->args[1]->constant;
    terms(e->args[0], out, constant, keep);
    return;
  }
  out.push_back(e);
}

bool matchMeanLast(const Expr *e, const Expr *&x) {
  std::vector<const Expr *> f;
  double c = 1;
  factors(e, f, c);
  if (f.size() != 1 || f[0]->kind != Expr::Kind::Reduce || f[0]->op != "sum" || !f[0]->reducesLastAxis)
    return false;
  if (!near(c * static_cast<double>(f[0]->reducedSize), 1.0, 1e-4))
    return false;
  x = f[0]->args[0];
  return true;
}

static bool isOp(const Expr *e, const char *name, size_t arity) {
  return e->kind == Expr::Kind::Op && e->op == name && e->args.size() == arity;
}

bool matchSqrt(const Expr *e, const Expr *&x) {
  if (isOp(e, "sqrt", 1) || isOp(e, "act:sqrt", 1)) {
    x = e->args[0];
    return true;
  }
  if (isOp(e, "pow", 2) && isConst(e->args[1], 0.5)) {
    x = e->args[0];
    return true;
  }
  return false;
}

bool matchRsqrt(const Expr *e, const Expr *&x) {
  if (isOp(e, "rsqrt", 1) || isOp(e, "act:rsqrt", 1)) {
    x = e->args[0];
    return true;
  }
  if (isOp(e, "pow", 2) && isConst(e->args[1], -0.5)) {
    x = e->args[0];
    return true;
  }
  if (isOp(e, "div", 2) && isConst(e->args[0], 1.0))
    return matchSqrt(e->args[1], x);
  if (isOp(e, "act:reciprocal", 1))
    return matchSqrt(e->args[0], x);
  return false;
}

bool matchSquare(const Expr *e, const Expr *&x) {
  if (isOp(e, "mul", 2) && same(e->args[0], e->args[1])) {
    x = e->args[0];
    return true;
  }
  if ((isOp(e, "pow", 2) && isConst(e->args[1], 2.0)) || isOp(e, "act:square", 1)) {
    x = e->args[0];
    return true;
  }
  return false;
}

bool matchSigmoid(const Expr *e, const Expr *&x) {
  if (isOp(e, "act:sigmoid", 1)) {
    x = e->args[0];
    return true;
  }
  const Expr *denominator = nullptr;
  if (isOp(e, "div", 2) && isConst(e->args[0], 1.0))
    denominator = e->args[1];
  else if (isOp(e, "act:reciprocal", 1))
    denominator = e->args[0];
  else if (isOp(e, "pow", 2) && isConst(e->args[1], -1.0))
    denominator = e->args[0];
  return denominator && matchOnePlusExpNeg(denominator, x);
}

bool matchOnePlusExpNeg(const Expr *e, const Expr *&x) {
  std::vector<const Expr *> t;
  double c = 0;
  terms(e, t, c);
  if (t.size() != 1 || !near(c, 1.0, 1e-6) || !(isOp(t[0], "exp", 1) || isOp(t[0], "act:exp", 1)))
    return false;
  std::vector<const Expr *> f;
  double k = 1;
  factors(t[0]->args[0], f, k);
  if (f.size() != 1 || !near(k, -1.0, 1e-6))
    return false;
  x = f[0];
  return true;
}

// 0.5 * x * (1 + g(u)) with g = erf or tanh; returns x and u.
static bool matchHalfXOnePlus(const Expr *e, const char *fn, const Expr *&x, const Expr *&u) {
  std::vector<const Expr *> f;
  double c = 1;
  factors(e, f, c);
  if (f.size() != 2)
    return false;
  // 0.5 may sit inside the sum: 0.5 + 0.5*g(u).
  for (int i = 0; i < 2; ++i) {
    const Expr *sum = f[1 - i];
    std::vector<const Expr *> t;
    double k = 0;
    terms(sum, t, k);
    if (t.size() != 1)
      continue;
    std::vector<const Expr *> g;
    double gk = 1;
    factors(t[0], g, gk);
    if (g.size() != 1 || !isOp(g[0], fn, 1) || !near(k, gk, 1e-6) || !near(c * k, 0.5, 1e-4))
      continue;
    x = f[i];
    u = g[0]->args[0];
    return true;
  }
  return false;
}

bool matchGeluErf(const Expr *e, const Expr *&x) {
  const Expr *u;
  if (!matchHalfXOnePlus(e, "erf", x, u) && !matchHalfXOnePlus(e, "act:erf", x, u))
    return false;
  std::vector<const Expr *> f;
  double k = 1;
  factors(u, f, k);
  return f.size() == 1 && same(f[0], x) && near(k, 0.70710678118654752, 1e-4);
}

bool matchGeluTanh(const Expr *e, const Expr *&x) {
  const Expr *u;
  if (!matchHalfXOnePlus(e, "tanh", x, u) && !matchHalfXOnePlus(e, "act:tanh", x, u))
    return false;
  // u = k * (x + 0.044715 x^3), possibly expanded into k*x + k*0.044715*x^3.
  const double k0 = 0.79788456080286536;
  std::vector<const Expr *> outer;
  double scale = 1;
  factors(u, outer, scale);
  const Expr *poly = outer.size() == 1 ? outer[0] : u;
  if (outer.size() != 1)
    scale = 1;
  std::vector<const Expr *> t;
  double c = 0;
  terms(poly, t, c, x); // x itself may be a sum (matmul + bias): one term
  if (t.size() != 2 || c != 0)
    return false;
  bool linear = false, cubic = false;
  for (const Expr *term : t) {
    std::vector<const Expr *> f;
    double k = scale;
    factors(term, f, k);
    if (f.size() == 1 && same(f[0], x) && near(k, k0, 1e-3)) {
      linear = true;
      continue;
    }
    // x^3 as pow(x, 3), x*x*x, or x^2 * x.
    int power = 0;
    for (const Expr *g : f) {
      const Expr *s;
      if (same(g, x))
        power += 1;
      else if (isOp(g, "pow", 2) && same(g->args[0], x) && isConst(g->args[1], 3.0))
        power += 3;
      else if (matchSquare(g, s) && same(s, x))
        power += 2;
      else
        power = -100;
    }
    if (power == 3 && near(k, k0 * 0.044715, 1e-3))
      cubic = true;
  }
  return linear && cubic;
}

} // namespace trnx::trn
