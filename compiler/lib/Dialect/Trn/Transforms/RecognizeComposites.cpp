// trn-recognize-composites: softmax, log-softmax, LayerNorm and RMSNorm from
// their compositions, matched on the expression graph (ExprGraph.h).
#include "ExprGraph.h"
#include "trnx/Dialect/Trn/DeadCode.h"
#include "trnx/Dialect/Trn/Passes.h"

#include <algorithm>

namespace trnx::trn {
#define GEN_PASS_DEF_TRNRECOGNIZECOMPOSITES
#include "trnx/Dialect/Trn/Passes.h.inc"
} // namespace trnx::trn

using namespace mlir;

namespace trnx::trn {
namespace {

RankedTensorType typeOf(Value v) { return llvm::dyn_cast<RankedTensorType>(v.getType()); }

// A node usable as an operand of the new op: a tensor value of `shape`.
bool isTensorOfShape(const Expr *e, ArrayRef<int64_t> shape) {
  auto t = e->value ? typeOf(e->value) : RankedTensorType();
  return t && t.getShape() == shape;
}

// A per-channel parameter: a tensor value with the last axis' size.
bool isChannelParam(const Expr *e, int64_t d) {
  auto t = e->value ? typeOf(e->value) : RankedTensorType();
  return t && t.getNumElements() == d && (t.getRank() == 0 || t.getShape().back() == d);
}

// exp(x - max_last(x)) or exp(x): the numerator of softmax.
bool matchSoftmaxNumerator(const Expr *e, const Expr *&x) {
  if (e->kind != Expr::Kind::Op || (e->op != "exp" && e->op != "act:exp"))
    return false;
  const Expr *arg = e->args[0];
  if (arg->kind == Expr::Kind::Op && arg->op == "sub" && arg->args[1]->kind == Expr::Kind::Reduce &&
      arg->args[1]->op == "max" && arg->args[1]->reducesLastAxis && same(arg->args[1]->args[0], arg->args[0])) {
    x = arg->args[0];
    return true;
  }
  x = arg;
  return true;
}

// numerator / sum_last(numerator), or numerator * reciprocal(sum).
bool matchSoftmax(const Expr *e, const Expr *&x) {
  std::vector<const Expr *> f;
  double c = 1;
  const Expr *num = nullptr, *den = nullptr;
  if (e->kind == Expr::Kind::Op && e->op == "div") {
    num = e->args[0];
    den = e->args[1];
  } else {
    factors(e, f, c);
    if (f.size() != 2 || c != 1)
      return false;
    for (int i = 0; i < 2; ++i) {
      const Expr *r = f[1 - i];
      if (r->kind == Expr::Kind::Op && ((r->op == "div" && isConst(r->args[0], 1)) || r->op == "act:reciprocal")) {
        num = f[i];
        den = r->op == "div" ? r->args[1] : r->args[0];
      }
    }
  }
  if (!num || !den || den->kind != Expr::Kind::Reduce || den->op != "sum" || !den->reducesLastAxis ||
      !same(den->args[0], num))
    return false;
  return matchSoftmaxNumerator(num, x);
}

// (x - max) - log(sum(exp(x - max))), or x - max - log(...) as terms.
bool matchLogSoftmax(const Expr *e, const Expr *&x) {
  if (e->kind != Expr::Kind::Op || e->op != "sub")
    return false;
  const Expr *shifted = e->args[0], *lg = e->args[1];
  if (lg->kind != Expr::Kind::Op || (lg->op != "log" && lg->op != "act:log"))
    return false;
  const Expr *sum = lg->args[0];
  if (sum->kind != Expr::Kind::Reduce || sum->op != "sum" || !sum->reducesLastAxis)
    return false;
  const Expr *inner = sum->args[0];
  if (inner->kind != Expr::Kind::Op || (inner->op != "exp" && inner->op != "act:exp") || !same(inner->args[0], shifted))
    return false;
  if (shifted->kind == Expr::Kind::Op && shifted->op == "sub" && shifted->args[1]->kind == Expr::Kind::Reduce &&
      shifted->args[1]->op == "max" && same(shifted->args[1]->args[0], shifted->args[0])) {
    x = shifted->args[0];
    return true;
  }
  return false;
}

// v + eps (a single term plus a constant): returns v and eps.
bool matchPlusEps(const Expr *e, const Expr *&v, double &eps) {
  std::vector<const Expr *> t;
  eps = 0;
  terms(e, t, eps);
  if (t.size() != 1)
    return false;
  v = t[0];
  return true;
}

// Reciprocal square root of (v + eps): returns v and eps.
bool matchInvStd(const Expr *e, const Expr *&v, double &eps) {
  const Expr *arg;
  return matchRsqrt(e, arg) && matchPlusEps(arg, v, eps);
}

// sqrt(v + eps): the standard deviation a norm divides by.
bool matchStd(const Expr *e, const Expr *&v, double &eps) {
  const Expr *arg;
  return matchSqrt(e, arg) && matchPlusEps(arg, v, eps);
}

struct Norm {
  const Expr *x = nullptr, *gamma = nullptr, *beta = nullptr;
  double eps = 0;
};

// The normalised core and any extra factor: factors {C, invstd, gamma?}.
// For LayerNorm C = x - mean(x), var = mean(C^2); for RMSNorm C = x, ms = mean(x^2).
// The inverse std is found among all factors; the product is then split
// again keeping C whole, since C may itself be a product (RMSNorm of gate * up).
bool matchNormProduct(const Expr *e, bool layer, Norm &n, ArrayRef<int64_t> shape) {
  std::vector<const Expr *> all;
  double c0 = 1;
  factors(e, all, c0);
  for (const Expr *inv : all) {
    const Expr *v, *sq, *core;
    double eps;
    // Either a factor rsqrt(var + eps), or a factor num / sqrt(var + eps)
    // (then the division's numerator holds the core).
    const bool divided = inv->kind == Expr::Kind::Op && inv->op == "div" && inv->args.size() == 2 &&
                         matchStd(inv->args[1], v, eps);
    if (!divided && !matchInvStd(inv, v, eps))
      continue;
    if (!matchMeanLast(v, sq) || !matchSquare(sq, core))
      continue;
    const Expr *x = core;
    if (layer) {
      if (core->kind != Expr::Kind::Op || core->op != "sub")
        continue;
      const Expr *mx;
      if (!matchMeanLast(core->args[1], mx) || !same(mx, core->args[0]))
        continue;
      x = core->args[0];
    }
    std::vector<const Expr *> f;
    double c = 1;
    factors(e, f, c, core);
    if (divided) { // num / std -> num's factors and the inverse std
      auto it = std::find_if(f.begin(), f.end(), [&](const Expr *g) { return same(g, inv); });
      if (it == f.end())
        continue;
      f.erase(it);
      factors(inv->args[0], f, c, core);
      f.push_back(inv);
    }
    if (c != 1 || f.size() < 2 || f.size() > 3)
      continue;
    // The factors: the inverse std, the core itself and optionally gamma.
    bool haveInv = false, haveCore = false, extra = false;
    const Expr *gamma = nullptr;
    for (const Expr *g : f) {
      if (!haveInv && same(g, inv))
        haveInv = true;
      else if (!haveCore && same(g, core))
        haveCore = true;
      else if (!gamma && isChannelParam(g, shape.back()))
        gamma = g;
      else
        extra = true;
    }
    if (!haveInv || !haveCore || extra || !isTensorOfShape(x, shape))
      continue;
    n.x = x;
    n.gamma = gamma;
    n.eps = eps;
    return true;
  }
  return false;
}

bool matchNorm(const Expr *e, bool layer, Norm &n, ArrayRef<int64_t> shape) {
  std::vector<const Expr *> t;
  double c = 0;
  terms(e, t, c);
  if (c == 0 && t.size() == 2 && layer) {
    for (int i = 0; i < 2; ++i)
      if (isChannelParam(t[1 - i], shape.back()) && matchNormProduct(t[i], layer, n, shape)) {
        n.beta = t[1 - i];
        return true;
      }
  }
  return c == 0 && t.size() == 1 && matchNormProduct(t[0], layer, n, shape);
}

Value asChannelVector(OpBuilder &b, Location loc, Value v, int64_t d) {
  auto t = typeOf(v);
  if (t.getRank() == 1)
    return v;
  return b.create<ReshapeOp>(loc, RankedTensorType::get({d}, t.getElementType()), v);
}

struct RecognizeCompositesPass : impl::TrnRecognizeCompositesBase<RecognizeCompositesPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    ExprGraph graph;
    SmallVector<Operation *> candidates;
    func.walk([&](Operation *op) {
      if (llvm::isa<EwiseOp>(op))
        candidates.push_back(op);
    });
    // Last first: the outermost match (e.g. LayerNorm with its shift) wins.
    for (Operation *op : llvm::reverse(candidates)) {
      if (!op->getBlock())
        continue;
      Value r = op->getResult(0);
      auto type = typeOf(r);
      if (!type || type.getRank() < 1 || r.use_empty())
        continue;
      const Expr *e = graph.of(r);
      OpBuilder b(op);
      Location loc = op->getLoc();
      const Expr *x;
      Value replacement;
      Norm n;
      if (matchNorm(e, true, n, type.getShape())) {
        const int64_t d = type.getShape().back();
        Value g = n.gamma ? asChannelVector(b, loc, n.gamma->value, d) : Value();
        Value bt = n.beta ? asChannelVector(b, loc, n.beta->value, d) : Value();
        replacement = b.create<LayerNormOp>(loc, type, n.x->value, g, bt, b.getF32FloatAttr(static_cast<float>(n.eps)));
      } else if (matchNorm(e, false, n, type.getShape())) {
        const int64_t d = type.getShape().back();
        Value g = n.gamma ? asChannelVector(b, loc, n.gamma->value, d) : Value();
        replacement = b.create<RmsNormOp>(loc, type, n.x->value, g, b.getF32FloatAttr(static_cast<float>(n.eps)));
      } else if (matchSoftmax(e, x) && isTensorOfShape(x, type.getShape())) {
        replacement = b.create<SoftmaxOp>(loc, type, x->value, b.getBoolAttr(false));
      } else if (matchLogSoftmax(e, x) && isTensorOfShape(x, type.getShape())) {
        replacement = b.create<SoftmaxOp>(loc, type, x->value, b.getBoolAttr(true));
      }
      if (replacement)
        r.replaceAllUsesWith(replacement);
    }
    // Drop the compositions that are now unused.
    eraseDeadOps(func.getBody().front(),
                 [](Operation &op) { return op.getDialect() && op.getDialect()->getNamespace() == "trn"; });
  }
};

} // namespace
} // namespace trnx::trn
