// trn-recognize-activations: activation functions composed from scalar ops
// inside elementwise bodies become single trn.act ops.
#include "ExprGraph.h"
#include "trnx/Dialect/Trn/DeadCode.h"
#include "trnx/Dialect/Trn/Passes.h"

namespace trnx::trn {
#define GEN_PASS_DEF_TRNRECOGNIZEACTIVATIONS
#include "trnx/Dialect/Trn/Passes.h.inc"
} // namespace trnx::trn

using namespace mlir;

namespace trnx::trn {
namespace {

// relu: max(x, 0), or min(max(x, 0), ~FLT_MAX) (3.3e38: FLT_MAX after fp32 rounding).
bool matchRelu(const Expr *e, const Expr *&x) {
  if (e->kind != Expr::Kind::Op)
    return false;
  if (e->op == "min" && e->args.size() == 2) {
    for (int i = 0; i < 2; ++i)
      if (e->args[1 - i]->kind == Expr::Kind::Const && e->args[1 - i]->constant >= 3.3e38)
        return matchRelu(e->args[i], x);
    return false;
  }
  if (e->op != "max" || e->args.size() != 2)
    return false;
  for (int i = 0; i < 2; ++i)
    if (isConst(e->args[1 - i], 0.0, 0.0)) {
      x = e->args[i];
      // max(min(y, >= FLT_MAX), 0): TOSA's clamp to [0, FLT_MAX].
      if (x->kind == Expr::Kind::Op && x->op == "min")
        for (int j = 0; j < 2; ++j)
          if (x->args[1 - j]->kind == Expr::Kind::Const && x->args[1 - j]->constant >= 3.3e38) {
            x = x->args[j];
            break;
          }
      return true;
    }
  return false;
}

void recognizeIn(Block &block) {
  ExprGraph graph(/*expandArguments=*/false);
  SmallVector<Operation *> ops;
  for (Operation &op : block.without_terminator())
    if (op.getNumResults() == 1 && op.getResult(0).getType().isF32())
      ops.push_back(&op);
  // Last first so SiLU wins over the sigmoid inside it.
  for (Operation *op : llvm::reverse(ops)) {
    if (!op->getBlock() || op->use_empty() || llvm::isa<ActOp>(op))
      continue;
    const Expr *e = graph.of(op->getResult(0));
    const Expr *x = nullptr, *s = nullptr;
    std::string func;
    std::vector<const Expr *> f;
    double c = 1;
    factors(e, f, c);
    if (c == 1 && f.size() == 2) {
      for (int i = 0; i < 2 && func.empty(); ++i)
        if (matchSigmoid(f[1 - i], s) && same(s, f[i])) {
          func = "silu";
          x = f[i];
        }
    }
    // SiLU written as x / (1 + exp(-x)).
    if (func.empty() && e->kind == Expr::Kind::Op && e->op == "div" && e->args.size() == 2 &&
        matchOnePlusExpNeg(e->args[1], s) && same(s, e->args[0])) {
      func = "silu";
      x = e->args[0];
    }
    if (func.empty() && matchGeluErf(e, x))
      func = "gelu";
    else if (func.empty() && matchGeluTanh(e, x))
      func = "gelu_tanh";
    else if (func.empty() && matchSigmoid(e, x))
      func = "sigmoid";
    else if (func.empty() && matchRelu(e, x))
      func = "relu";
    if (func.empty() || !x->value || !x->value.getType().isF32())
      continue;
    // x must be available before op in this block.
    if (auto def = x->value.getDefiningOp(); def && (def->getBlock() != &block || !def->isBeforeInBlock(op)))
      continue;
    if (auto arg = llvm::dyn_cast<BlockArgument>(x->value); arg && arg.getOwner() != &block)
      continue;
    OpBuilder b(op);
    auto act = b.create<ActOp>(op->getLoc(), b.getF32Type(), x->value, b.getStringAttr(func), b.getF32FloatAttr(1.0f),
                               b.getF32FloatAttr(0.0f));
    op->getResult(0).replaceAllUsesWith(act.getResult());
  }
  eraseDeadOps(block, [](Operation &) { return true; });
}

struct RecognizeActivationsPass : impl::TrnRecognizeActivationsBase<RecognizeActivationsPass> {
  void runOnOperation() override {
    // Collect first: recognition rewrites the bodies the walk would visit.
    SmallVector<Block *> bodies;
    getOperation().walk([&](Operation *op) {
      if (llvm::isa<EwiseOp, MatmulOp>(op) && !op->getRegion(0).empty())
        bodies.push_back(&op->getRegion(0).front());
    });
    for (Block *body : bodies)
      recognizeIn(*body);
  }
};

} // namespace
} // namespace trnx::trn
