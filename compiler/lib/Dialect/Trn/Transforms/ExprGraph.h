// An expression view of trn values for pattern matching: a tensor value is
// seen through the trn.ewise bodies that compute it (block arguments lead to
// the ewise inputs), through trn.reduce and through reshapes that only add
// or drop unit dims; a scalar value inside an ewise body is seen through its
// defining ops. Matchers compare structure, not SSA identity, so a
// subexpression computed twice still matches.
#pragma once

#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <memory>
#include <string>
#include <vector>

namespace trnx::trn {

struct Expr {
  enum class Kind { Leaf, Const, Op, Reduce };
  Kind kind = Kind::Leaf;
  std::string op;     // Op: add sub mul div max min neg exp log tanh erf sqrt rsqrt abs pow act:<f>;
                      // Reduce: sum max min
  mlir::Value value;  // the value this node was built from (Leaf: the value itself)
  double constant = 0;
  std::vector<const Expr *> args;
  bool reducesLastAxis = false; // Reduce over exactly the last axis of its input
  int64_t reducedSize = 0;      // Reduce: elements per reduction
};

class ExprGraph {
public:
  // With expandArguments, an ewise body argument continues into the
  // expression of the tensor input it stands for (tensor-level matching);
  // without, arguments are leaves (matching inside one body).
  explicit ExprGraph(bool expandArguments = true) : expandArguments_(expandArguments) {}
  // The expression of a value, built on first use and then cached.
  const Expr *of(mlir::Value v);

private:
  const Expr *build(mlir::Value v);
  const Expr *leaf(mlir::Value v);
  const Expr *make(Expr e);
  bool expandArguments_;
  llvm::DenseMap<mlir::Value, const Expr *> cache_;
  std::vector<std::unique_ptr<Expr>> nodes_;
};

// Structural equality (leaves by value, constants within 1e-6 relative).
bool same(const Expr *a, const Expr *b);

// Pattern helpers.
bool isConst(const Expr *e, double value, double relTol = 1e-4);
// The factors of a product (flattening nested muls; div by a constant
// becomes the reciprocal constant).
void factors(const Expr *e, std::vector<const Expr *> &out, double &constant, const Expr *keep = nullptr);
// The terms of a sum (flattening nested adds; sub by a constant becomes
// adding its negation). A subexpression the same as `keep` stays one term.
void terms(const Expr *e, std::vector<const Expr *> &out, double &constant, const Expr *keep = nullptr);

// Matchers: on success fill the captured sub-expressions.
bool matchMeanLast(const Expr *e, const Expr *&x);     // sum_last(x) / D
bool matchSqrt(const Expr *e, const Expr *&x);         // sqrt(x), x^0.5
bool matchRsqrt(const Expr *e, const Expr *&x);        // rsqrt(x), 1/sqrt(x), x^-0.5
bool matchSquare(const Expr *e, const Expr *&x);       // x*x, x^2
// 1 + exp(-x) (the denominator of a sigmoid); returns x.
bool matchOnePlusExpNeg(const Expr *e, const Expr *&x);
bool matchSigmoid(const Expr *e, const Expr *&x);      // 1/(1+exp(-x)), act:sigmoid
bool matchGeluErf(const Expr *e, const Expr *&x);      // 0.5*x*(1+erf(x/sqrt2))
bool matchGeluTanh(const Expr *e, const Expr *&x);     // 0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715x^3)))

} // namespace trnx::trn
