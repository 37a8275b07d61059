// trn-convert-linalg: linalg-on-tensors, tensor and arith tensor ops to the
// trn dialect. Every linalg op is classified by its iterator types and body:
// all-parallel ops become elementwise programs (or views when they only move
// data), contractions become trn.matmul, reductions trn.reduce (with an
// elementwise prologue when the body transforms its input first). Whatever
// remains afterwards is reported as not supported on the target.
#include "trnx/Dialect/Trn/DeadCode.h"
#include "trnx/Dialect/Trn/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

#include <limits>

namespace trnx::trn {
#define GEN_PASS_DEF_TRNCONVERTLINALG
#include "trnx/Dialect/Trn/Passes.h.inc"
} // namespace trnx::trn

using namespace mlir;

namespace trnx::trn {
namespace {

RankedTensorType tensorOf(Value v) { return llvm::cast<RankedTensorType>(v.getType()); }

// The name a diagnostic should use for an op: its origin (see
// trn-annotate-origins) when known, else its own name.
std::string originName(Operation *op) {
  if (auto name = llvm::dyn_cast<NameLoc>(op->getLoc()))
    return name.getName().str();
  return op->getName().getStringRef().str();
}

class Converter {
public:
  Converter(func::FuncOp func, std::string target) : func_(func), b_(func.getContext()), target_(std::move(target)) {}

  LogicalResult run();

private:
  LogicalResult convert(Operation *op);
  LogicalResult convertLinalg(linalg::LinalgOp op);
  LogicalResult convertElementwise(linalg::LinalgOp op);
  LogicalResult convertContraction(linalg::LinalgOp op);
  bool isMultiplyAccumulate(linalg::LinalgOp op);
  // r combined (sum, max or min) with the init of a contraction or reduction.
  Value combineWithInit(Location loc, Value r, Value init, RankedTensorType outType, StringRef kind);
  LogicalResult convertReduction(linalg::LinalgOp op);
  LogicalResult convertGather(linalg::LinalgOp op);

  // An input of a linalg op as a tensor broadcastable (same rank, numpy
  // rules) to the iteration space, from its indexing map.
  FailureOr<Value> align(Value input, AffineMap map, ArrayRef<int64_t> iterShape);
  // A value laid out in iteration-space order, rearranged for an output map.
  FailureOr<Value> toOutput(Value iterValue, AffineMap outMap, RankedTensorType outType, bool reduced,
                            ArrayRef<bool> isReduced);
  Value reshape(Value v, ArrayRef<int64_t> shape);
  Value transpose(Value v, ArrayRef<int64_t> perm);
  // Builds trn.ewise(inputs) -> type whose body is cloned from a linalg
  // body, with `yieldOverride` (a value of the linalg body) yielded instead
  // of its terminator operand when given.
  FailureOr<Value> ewiseFromBody(Location loc, linalg::LinalgOp op, ArrayRef<Value> inputs,
                                 ArrayRef<Value> bodyArgs, Value yieldOverride, Type resultType);
  // Clones scalar ops into the f32 domain; fails on an unsupported op.
  LogicalResult cloneScalar(Operation *op, IRMapping &map, OpBuilder &body);
  Value scalarConstant(OpBuilder &body, Location loc, double v);
  // math.roundeven is the identity when every use only converts the value
  // to an integer, which the store does with round-to-nearest-even.
  bool roundingIsImplicit(Value v);
  bool isRoundedToInteger(Value v);
  bool isFillOf(Value v, double expected);
  std::optional<double> fillValue(Value v);

  LogicalResult unsupported(Operation *op) {
    InFlightDiagnostic diag = op->emitError() << "'" << originName(op) << "' is not supported on " << target_;
    // Say why when a tensor type is the reason.
    SmallVector<Type> types(op->getOperandTypes());
    llvm::append_range(types, op->getResultTypes());
    for (Type t : types)
      if (auto shaped = llvm::dyn_cast<ShapedType>(t); shaped && !shaped.hasStaticShape()) {
        diag << " (dynamic shape " << t << ")";
        break;
      }
    return diag;
  }

  func::FuncOp func_;
  OpBuilder b_;
  std::string target_;
};

Value Converter::reshape(Value v, ArrayRef<int64_t> shape) {
  auto t = tensorOf(v);
  if (t.getShape() == shape)
    return v;
  return b_.create<ReshapeOp>(v.getLoc(), RankedTensorType::get(shape, t.getElementType()), v);
}

Value Converter::transpose(Value v, ArrayRef<int64_t> perm) {
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i)
    identity = identity && perm[i] == static_cast<int64_t>(i);
  if (identity)
    return v;
  auto t = tensorOf(v);
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(t.getDimSize(p));
  return b_.create<TransposeOp>(v.getLoc(), RankedTensorType::get(shape, t.getElementType()), v, perm);
}

FailureOr<Value> Converter::align(Value input, AffineMap map, ArrayRef<int64_t> iterShape) {
  auto t = tensorOf(input);
  // (iteration dim, input dim) for every dim expression; constant-0 dims are size 1.
  SmallVector<std::pair<unsigned, int64_t>> dims;
  SmallVector<int64_t> kept;
  for (unsigned i = 0; i < map.getNumResults(); ++i) {
    AffineExpr e = map.getResult(i);
    if (auto d = llvm::dyn_cast<AffineDimExpr>(e)) {
      dims.emplace_back(d.getPosition(), i);
    } else if (auto c = llvm::dyn_cast<AffineConstantExpr>(e)) {
      if (c.getValue() != 0 || t.getDimSize(i) != 1)
        return failure();
    } else {
      return failure();
    }
  }
  llvm::sort(dims);
  for (size_t i = 1; i < dims.size(); ++i)
    if (dims[i].first == dims[i - 1].first)
      return failure(); // a diagonal access
  // Drop size-1 constant dims, order the rest by iteration dim, then give
  // the tensor the iteration space's rank with 1s where it broadcasts.
  SmallVector<int64_t> squeezedShape, perm;
  SmallVector<int64_t> inputDimToSqueezed(t.getRank(), -1);
  for (int64_t i = 0; i < t.getRank(); ++i) {
    bool isDim = false;
    for (auto &[it, id] : dims)
      isDim = isDim || id == i;
    if (isDim) {
      inputDimToSqueezed[i] = static_cast<int64_t>(squeezedShape.size());
      squeezedShape.push_back(t.getDimSize(i));
    }
  }
  Value v = reshape(input, squeezedShape);
  for (auto &[it, id] : dims)
    perm.push_back(inputDimToSqueezed[id]);
  v = transpose(v, perm);
  SmallVector<int64_t> full(iterShape.size(), 1);
  for (auto &[it, id] : dims) {
    if (t.getDimSize(id) != iterShape[it] && t.getDimSize(id) != 1)
      return failure();
    full[it] = t.getDimSize(id);
  }
  return reshape(v, full);
}

FailureOr<Value> Converter::toOutput(Value iterValue, AffineMap outMap, RankedTensorType outType, bool reduced,
                                     ArrayRef<bool> isReduced) {
  // iterValue holds the kept iteration dims in increasing order.
  SmallVector<int64_t> keptDims;
  for (unsigned d = 0; d < outMap.getNumDims(); ++d)
    if (!reduced || !isReduced[d])
      keptDims.push_back(d);
  SmallVector<int64_t> perm;
  for (unsigned i = 0; i < outMap.getNumResults(); ++i) {
    // A constant 0 is a unit dim of the output (a reduced dim kept).
    if (auto c = llvm::dyn_cast<AffineConstantExpr>(outMap.getResult(i)); c && c.getValue() == 0 &&
                                                                           outType.getDimSize(i) == 1)
      continue;
    auto d = llvm::dyn_cast<AffineDimExpr>(outMap.getResult(i));
    if (!d)
      return failure();
    auto it = llvm::find(keptDims, static_cast<int64_t>(d.getPosition()));
    if (it == keptDims.end())
      return failure();
    perm.push_back(it - keptDims.begin());
  }
  if (perm.size() != keptDims.size())
    return failure();
  Value v = transpose(iterValue, perm);
  return reshape(v, outType.getShape());
}

// An integral-valued scalar constant (|c| >= 2^23 when `large`: every f32
// value that large is an integer, so rounding cannot change a comparison).
static bool isIntegralConstant(Value v, bool large = false) {
  FloatAttr f;
  if (!matchPattern(v, m_Constant(&f)))
    return false;
  double c = f.getValueAsDouble();
  return std::isfinite(c) && c == std::nearbyint(c) && (!large || std::fabs(c) >= 8388608.0);
}

// Clamping an integer by integral bounds keeps it an integer.
static bool isIntegralClamp(Operation *op, Value &input) {
  if (!llvm::isa<arith::MaximumFOp, arith::MinimumFOp, arith::MaxNumFOp, arith::MinNumFOp>(op))
    return false;
  for (int i = 0; i < 2; ++i)
    if (isIntegralConstant(op->getOperand(1 - i))) {
      input = op->getOperand(i);
      return true;
    }
  return false;
}

bool Converter::isRoundedToInteger(Value v) {
  if (v.getDefiningOp<math::RoundEvenOp>() || v.getDefiningOp<arith::SIToFPOp>())
    return true;
  Value input;
  if (Operation *def = v.getDefiningOp(); def && isIntegralClamp(def, input))
    return isRoundedToInteger(input);
  return false;
}

bool Converter::roundingIsImplicit(Value v) {
  for (Operation *user : v.getUsers()) {
    Value input;
    if (llvm::isa<arith::FPToSIOp>(user))
      continue;
    if (auto cmp = llvm::dyn_cast<arith::CmpFOp>(user);
        cmp && isIntegralConstant(cmp.getLhs() == v ? cmp.getRhs() : cmp.getLhs(), /*large=*/true))
      continue;
    if (isIntegralClamp(user, input) && input == v && roundingIsImplicit(user->getResult(0)))
      continue;
    return false;
  }
  return true;
}

Value Converter::scalarConstant(OpBuilder &body, Location loc, double v) {
  return body.create<arith::ConstantOp>(loc, body.getF32FloatAttr(static_cast<float>(v)));
}

LogicalResult Converter::cloneScalar(Operation *op, IRMapping &map, OpBuilder &body) {
  Location loc = op->getLoc();
  auto operand = [&](unsigned i) -> Value {
    Value v = op->getOperand(i);
    if (Value m = map.lookupOrNull(v))
      return m;
    // A value from outside the body: only constants can come in.
    Attribute attr;
    if (matchPattern(v, m_Constant(&attr))) {
      if (auto f = llvm::dyn_cast<FloatAttr>(attr))
        return scalarConstant(body, loc, f.getValueAsDouble());
      if (auto i = llvm::dyn_cast<IntegerAttr>(attr)) {
        if (i.getType().isInteger(1))
          return body.create<arith::ConstantOp>(loc, body.getBoolAttr(i.getValue().getBoolValue()));
        return scalarConstant(body, loc, static_cast<double>(i.getValue().getSExtValue()));
      }
    }
    return Value();
  };
  auto all = [&](SmallVectorImpl<Value> &out) {
    for (unsigned i = 0; i < op->getNumOperands(); ++i) {
      Value v = operand(i);
      if (!v)
        return false;
      out.push_back(v);
    }
    return true;
  };
  SmallVector<Value> ops;
  if (!all(ops))
    return failure();
  Value result;
  auto f32 = body.getF32Type();
  auto cmp = [&](arith::CmpFPredicate p) { result = body.create<arith::CmpFOp>(loc, p, ops[0], ops[1]); };
  llvm::TypeSwitch<Operation *>(op)
      .Case<arith::ConstantOp>([&](auto c) {
        if (auto f = llvm::dyn_cast<FloatAttr>(c.getValue()))
          result = scalarConstant(body, loc, f.getValueAsDouble());
        else if (auto i = llvm::dyn_cast<IntegerAttr>(c.getValue()))
          result = i.getType().isInteger(1)
                       ? body.create<arith::ConstantOp>(loc, body.getBoolAttr(i.getValue().getBoolValue())).getResult()
                       : scalarConstant(body, loc, static_cast<double>(i.getValue().getSExtValue()));
      })
      .Case<arith::AddFOp, arith::AddIOp>([&](auto) { result = body.create<arith::AddFOp>(loc, ops[0], ops[1]); })
      .Case<arith::SubFOp, arith::SubIOp>([&](auto) { result = body.create<arith::SubFOp>(loc, ops[0], ops[1]); })
      .Case<arith::MulFOp, arith::MulIOp>([&](auto) { result = body.create<arith::MulFOp>(loc, ops[0], ops[1]); })
      .Case<arith::DivFOp>([&](auto) { result = body.create<arith::DivFOp>(loc, ops[0], ops[1]); })
      .Case<arith::MaximumFOp, arith::MaxNumFOp, arith::MaxSIOp>(
          [&](auto) { result = body.create<arith::MaximumFOp>(loc, ops[0], ops[1]); })
      .Case<arith::MinimumFOp, arith::MinNumFOp, arith::MinSIOp>(
          [&](auto) { result = body.create<arith::MinimumFOp>(loc, ops[0], ops[1]); })
      .Case<arith::NegFOp>([&](auto) { result = body.create<arith::NegFOp>(loc, ops[0]); })
      .Case<arith::SelectOp>([&](auto) {
        // A condition read from an i1 tensor is an f32 0/1 inside the body.
        Value cond = ops[0];
        if (cond.getType().isF32())
          cond = body.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNE, cond, scalarConstant(body, loc, 0.0));
        result = body.create<arith::SelectOp>(loc, cond, ops[1], ops[2]);
      })
      .Case<arith::CmpFOp>([&](arith::CmpFOp c) { cmp(c.getPredicate()); })
      .Case<arith::CmpIOp>([&](arith::CmpIOp c) {
        using P = arith::CmpIPredicate;
        using F = arith::CmpFPredicate;
        switch (c.getPredicate()) {
        case P::eq: cmp(F::OEQ); break;
        case P::ne: cmp(F::UNE); break;
        case P::slt: case P::ult: cmp(F::OLT); break;
        case P::sle: case P::ule: cmp(F::OLE); break;
        case P::sgt: case P::ugt: cmp(F::OGT); break;
        case P::sge: case P::uge: cmp(F::OGE); break;
        }
      })
      // Conversions are free: the body computes in f32 and the store rounds.
      .Case<arith::ExtFOp, arith::TruncFOp, arith::SIToFPOp, arith::UIToFPOp, arith::ExtSIOp, arith::ExtUIOp,
            arith::TruncIOp, arith::IndexCastOp>([&](auto) {
        result = ops[0].getType().isInteger(1) ? body.create<arith::SelectOp>(loc, ops[0], scalarConstant(body, loc, 1.0),
                                                                                scalarConstant(body, loc, 0.0)).getResult()
                                                : ops[0];
      })
      // Float to integer: the store rounds to nearest even and saturates, so
      // an fptosi is free when its operand was rounded that way already
      // (TOSA's cast lowers to roundeven, clamps, fptosi).
      .Case<math::RoundEvenOp>([&](math::RoundEvenOp r) {
        if (roundingIsImplicit(r.getResult()))
          result = ops[0];
      })
      .Case<arith::FPToSIOp>([&](arith::FPToSIOp c) {
        if (isRoundedToInteger(c.getIn()))
          result = ops[0];
      })
      .Case<math::ExpOp>([&](auto) { result = body.create<math::ExpOp>(loc, ops[0]); })
      .Case<math::LogOp>([&](auto) { result = body.create<math::LogOp>(loc, ops[0]); })
      .Case<math::TanhOp>([&](auto) { result = body.create<math::TanhOp>(loc, ops[0]); })
      .Case<math::ErfOp>([&](auto) { result = body.create<math::ErfOp>(loc, ops[0]); })
      .Case<math::SqrtOp>([&](auto) { result = body.create<math::SqrtOp>(loc, ops[0]); })
      .Case<math::RsqrtOp>([&](auto) { result = body.create<math::RsqrtOp>(loc, ops[0]); })
      .Case<math::AbsFOp>([&](auto) { result = body.create<math::AbsFOp>(loc, ops[0]); })
      .Case<math::PowFOp>([&](auto) { result = body.create<math::PowFOp>(loc, ops[0], ops[1]); })
      .Case<math::Exp2Op>([&](auto) {
        result = body.create<math::ExpOp>(loc, body.create<arith::MulFOp>(loc, ops[0], scalarConstant(body, loc, M_LN2)));
      })
      .Default([&](Operation *) {});
  if (!result)
    return failure();
  if (result.getType() != f32 && !result.getType().isInteger(1))
    return failure();
  map.map(op->getResult(0), result);
  return success();
}

FailureOr<Value> Converter::ewiseFromBody(Location loc, linalg::LinalgOp op, ArrayRef<Value> inputs,
                                          ArrayRef<Value> bodyArgs, Value yieldOverride, Type resultType) {
  auto ew = b_.create<EwiseOp>(loc, resultType, inputs);
  Block *block = new Block();
  ew.getBody().push_back(block);
  OpBuilder body(ew.getContext());
  body.setInsertionPointToStart(block);
  IRMapping map;
  for (Value arg : bodyArgs)
    map.map(arg, block->addArgument(body.getF32Type(), loc));
  Block &src = op->getRegion(0).front();
  Value yielded = yieldOverride ? yieldOverride : src.getTerminator()->getOperand(0);
  // Only what the yielded value depends on (a reduction's prologue leaves
  // out the accumulation).
  llvm::SmallPtrSet<Operation *, 16> needed;
  SmallVector<Value> work{yielded};
  while (!work.empty()) {
    Operation *def = work.pop_back_val().getDefiningOp();
    if (!def || def->getBlock() != &src || !needed.insert(def).second)
      continue;
    work.append(def->operand_begin(), def->operand_end());
  }
  for (Operation &inner : src.without_terminator()) {
    if (!needed.count(&inner))
      continue;
    if (failed(cloneScalar(&inner, map, body))) {
      ew.erase();
      return failure();
    }
  }
  Value out = map.lookupOrNull(yielded);
  if (!out) {
    ew.erase();
    return failure();
  }
  body.create<YieldOp>(loc, out);
  return ew.getResult();
}

std::optional<double> Converter::fillValue(Value v) {
  auto fill = v.getDefiningOp<linalg::FillOp>();
  if (!fill)
    return std::nullopt;
  Attribute attr;
  if (!matchPattern(fill.getInputs()[0], m_Constant(&attr)))
    return std::nullopt;
  if (auto f = llvm::dyn_cast<FloatAttr>(attr))
    return f.getValueAsDouble();
  if (auto i = llvm::dyn_cast<IntegerAttr>(attr))
    return static_cast<double>(i.getValue().getSExtValue());
  return std::nullopt;
}

bool Converter::isFillOf(Value v, double expected) {
  auto value = fillValue(v);
  return value && *value == expected;
}

LogicalResult Converter::convertElementwise(linalg::LinalgOp op) {
  Location loc = op.getLoc();
  SmallVector<int64_t> iter = op.getStaticLoopRanges();
  auto maps = op.getIndexingMapsArray();
  auto outType = llvm::cast<RankedTensorType>(op->getResult(0).getType());
  Block &body = op->getRegion(0).front();
  SmallVector<Value> inputs, args;
  for (OpOperand *in : op.getDpsInputOperands()) {
    if (!llvm::isa<RankedTensorType>(in->get().getType()))
      return failure(); // a scalar input
    FailureOr<Value> a = align(in->get(), maps[in->getOperandNumber()], iter);
    if (failed(a))
      return failure();
    inputs.push_back(*a);
    args.push_back(body.getArgument(in->getOperandNumber()));
  }
  // The init value is read when the body uses it (e.g. a running update).
  OpOperand *init = op.getDpsInitOperand(0);
  BlockArgument initArg = body.getArgument(init->getOperandNumber());
  if (!initArg.use_empty()) {
    FailureOr<Value> a = align(init->get(), maps[init->getOperandNumber()], iter);
    if (failed(a))
      return failure();
    inputs.push_back(*a);
    args.push_back(initArg);
  }
  Value yielded = body.getTerminator()->getOperand(0);
  auto iterType = RankedTensorType::get(iter, outType.getElementType());
  Value result;
  // Pure data movement: keep it a view (transpose/reshape) when possible.
  if (auto arg = llvm::dyn_cast<BlockArgument>(yielded); arg && inputs.size() == 1 && arg == args[0] &&
                                                         tensorOf(inputs[0]).getElementType() == outType.getElementType() &&
                                                         tensorOf(inputs[0]).getShape() == ArrayRef<int64_t>(iter)) {
    result = inputs[0];
  } else {
    FailureOr<Value> ew = ewiseFromBody(loc, op, inputs, args, Value(), iterType);
    if (failed(ew))
      return failure();
    result = *ew;
  }
  SmallVector<bool> none(iter.size(), false);
  FailureOr<Value> out = toOutput(result, maps[init->getOperandNumber()], outType, false, none);
  if (failed(out))
    return failure();
  op->getResult(0).replaceAllUsesWith(*out);
  return success();
}

// acc + a * b of the two inputs, looking through conversions only. Upstream's
// contraction test also looks through any unary op (exp(a) * b counts), which
// trn.matmul cannot apply; those bodies are reductions with a prologue.
bool Converter::isMultiplyAccumulate(linalg::LinalgOp op) {
  Block &body = op->getRegion(0).front();
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1)
    return false;
  auto skipCasts = [](Value v) {
    while (Operation *def = v.getDefiningOp()) {
      if (!llvm::isa<arith::ExtFOp, arith::TruncFOp, arith::SIToFPOp, arith::ExtSIOp>(def))
        break;
      v = def->getOperand(0);
    }
    return v;
  };
  Operation *add = body.getTerminator()->getOperand(0).getDefiningOp();
  if (!add || !llvm::isa<arith::AddFOp, arith::AddIOp>(add))
    return false;
  Value acc = body.getArgument(2);
  Value other = add->getOperand(0) == acc ? add->getOperand(1) : add->getOperand(0);
  if (other == acc || (add->getOperand(0) != acc && add->getOperand(1) != acc))
    return false;
  Operation *mul = skipCasts(other).getDefiningOp();
  if (!mul || !llvm::isa<arith::MulFOp, arith::MulIOp>(mul))
    return false;
  Value x = skipCasts(mul->getOperand(0)), y = skipCasts(mul->getOperand(1));
  return (x == body.getArgument(0) && y == body.getArgument(1)) || (x == body.getArgument(1) && y == body.getArgument(0));
}

LogicalResult Converter::convertContraction(linalg::LinalgOp op) {
  FailureOr<linalg::ContractionDimensions> dims = linalg::inferContractionDims(op);
  if (failed(dims) || op.getNumDpsInputs() != 2)
    return failure();
  Location loc = op.getLoc();
  auto maps = op.getIndexingMapsArray();
  SmallVector<int64_t> iter = op.getStaticLoopRanges();
  Value a = op.getDpsInputOperand(0)->get(), bv = op.getDpsInputOperand(1)->get();
  OpOperand *init = op.getDpsInitOperand(0);
  auto outType = llvm::cast<RankedTensorType>(op->getResult(0).getType());
  // Operand dims in [batch, m, k] / [batch, k, n] order, then merged.
  auto arrange = [&](Value v, AffineMap map, ArrayRef<SmallVector<unsigned>> groups) -> FailureOr<Value> {
    SmallVector<int64_t> perm, shape;
    auto t = tensorOf(v);
    for (const auto &group : groups) {
      int64_t size = 1;
      for (unsigned d : group) {
        std::optional<unsigned> pos = map.getResultPosition(getAffineDimExpr(d, op.getContext()));
        if (!pos)
          return failure();
        perm.push_back(*pos);
        size *= iter[d];
      }
      shape.push_back(size);
    }
    if (static_cast<int64_t>(perm.size()) != t.getRank())
      return failure();
    return reshape(transpose(v, perm), shape);
  };
  SmallVector<unsigned> batch(dims->batch.begin(), dims->batch.end()), m(dims->m.begin(), dims->m.end()),
      n(dims->n.begin(), dims->n.end()), k(dims->k.begin(), dims->k.end());
  const bool batched = !batch.empty();
  SmallVector<SmallVector<unsigned>> aGroups, bGroups;
  if (batched) {
    aGroups.push_back(batch);
    bGroups.push_back(batch);
  }
  aGroups.push_back(m);
  aGroups.push_back(k);
  bGroups.push_back(k);
  bGroups.push_back(n);
  FailureOr<Value> lhs = arrange(a, maps[0], aGroups), rhs = arrange(bv, maps[1], bGroups);
  if (failed(lhs) || failed(rhs))
    return failure();
  auto lt = tensorOf(*lhs), rt = tensorOf(*rhs);
  SmallVector<int64_t> resShape;
  if (batched)
    resShape.push_back(lt.getDimSize(0));
  resShape.push_back(lt.getDimSize(lt.getRank() - 2));
  resShape.push_back(rt.getDimSize(rt.getRank() - 1));
  auto mm = b_.create<MatmulOp>(loc, RankedTensorType::get(resShape, outType.getElementType()), *lhs, *rhs,
                                ValueRange{}, TypeAttr());
  // Back to [batch..., m..., n...] then to the init's order.
  SmallVector<int64_t> expanded;
  SmallVector<unsigned> order;
  for (const auto *group : {&batch, &m, &n})
    for (unsigned d : *group) {
      expanded.push_back(iter[d]);
      order.push_back(d);
    }
  Value r = reshape(mm.getResult(), expanded);
  AffineMap outMap = maps[init->getOperandNumber()];
  SmallVector<int64_t> perm;
  for (unsigned i = 0; i < outMap.getNumResults(); ++i) {
    auto d = llvm::dyn_cast<AffineDimExpr>(outMap.getResult(i));
    if (!d)
      return failure();
    perm.push_back(llvm::find(order, d.getPosition()) - order.begin());
  }
  r = reshape(transpose(r, perm), outType.getShape());
  // A non-zero init accumulates: result = init + a @ b.
  if (!isFillOf(init->get(), 0.0) && !init->get().getDefiningOp<tensor::EmptyOp>())
    r = combineWithInit(loc, r, init->get(), outType, "sum");
  op->getResult(0).replaceAllUsesWith(r);
  return success();
}

LogicalResult Converter::convertReduction(linalg::LinalgOp op) {
  if (op.getNumDpsInits() != 1)
    return failure();
  Location loc = op.getLoc();
  Block &body = op->getRegion(0).front();
  OpOperand *init = op.getDpsInitOperand(0);
  BlockArgument acc = body.getArgument(init->getOperandNumber());
  Operation *combiner = body.getTerminator()->getOperand(0).getDefiningOp();
  if (!combiner || combiner->getNumOperands() != 2)
    return failure();
  std::string kind;
  double identity;
  if (llvm::isa<arith::AddFOp, arith::AddIOp>(combiner)) {
    kind = "sum";
    identity = 0;
  } else if (llvm::isa<arith::MaximumFOp, arith::MaxNumFOp, arith::MaxSIOp>(combiner)) {
    kind = "max";
    identity = -std::numeric_limits<double>::infinity();
  } else if (llvm::isa<arith::MinimumFOp, arith::MinNumFOp, arith::MinSIOp>(combiner)) {
    kind = "min";
    identity = std::numeric_limits<double>::infinity();
  } else {
    return failure();
  }
  Value element = combiner->getOperand(0) == acc ? combiner->getOperand(1) : combiner->getOperand(0);
  if (element == acc || (combiner->getOperand(0) != acc && combiner->getOperand(1) != acc))
    return failure();
  SmallVector<int64_t> iter = op.getStaticLoopRanges();
  auto maps = op.getIndexingMapsArray();
  auto iterTypes = op.getIteratorTypesArray();
  SmallVector<bool> isReduced;
  SmallVector<int64_t> axes;
  for (size_t d = 0; d < iterTypes.size(); ++d) {
    isReduced.push_back(iterTypes[d] == utils::IteratorType::reduction);
    if (isReduced.back())
      axes.push_back(static_cast<int64_t>(d));
  }
  // The values reduced: the input itself, or an elementwise prologue of the inputs.
  SmallVector<Value> inputs, args;
  for (OpOperand *in : op.getDpsInputOperands()) {
    FailureOr<Value> a = align(in->get(), maps[in->getOperandNumber()], iter);
    if (failed(a))
      return failure();
    inputs.push_back(*a);
    args.push_back(body.getArgument(in->getOperandNumber()));
  }
  Value reducedInput;
  auto elemType = llvm::cast<RankedTensorType>(op->getResult(0).getType()).getElementType();
  auto arg = llvm::dyn_cast<BlockArgument>(element);
  if (arg && inputs.size() == 1 && arg == args[0] && tensorOf(inputs[0]).getShape() == ArrayRef<int64_t>(iter)) {
    reducedInput = inputs[0];
  } else {
    // Prologue values are kept in f32 before reducing.
    FailureOr<Value> pre = ewiseFromBody(loc, op, inputs, args, element, RankedTensorType::get(iter, b_.getF32Type()));
    if (failed(pre))
      return failure();
    reducedInput = *pre;
  }
  SmallVector<int64_t> keptShape;
  for (size_t d = 0; d < iter.size(); ++d)
    if (!isReduced[d])
      keptShape.push_back(iter[d]);
  auto red = b_.create<ReduceOp>(loc, RankedTensorType::get(keptShape, elemType), reducedInput, b_.getStringAttr(kind),
                                 b_.getDenseI64ArrayAttr(axes), b_.getBoolAttr(false));
  auto outType = llvm::cast<RankedTensorType>(op->getResult(0).getType());
  FailureOr<Value> out = toOutput(red.getResult(), maps[init->getOperandNumber()], outType, true, isReduced);
  if (failed(out))
    return failure();
  Value r = *out;
  // An init other than the identity is combined after the reduction.
  std::optional<double> fill = fillValue(init->get());
  const bool identityInit = (fill && (*fill == identity || (kind == "max" && *fill <= -3.4e38) ||
                                      (kind == "min" && *fill >= 3.4e38))) ||
                            init->get().getDefiningOp<tensor::EmptyOp>();
  if (!identityInit)
    r = combineWithInit(loc, r, init->get(), outType, kind);
  op->getResult(0).replaceAllUsesWith(r);
  return success();
}

Value Converter::combineWithInit(Location loc, Value r, Value init, RankedTensorType outType, StringRef kind) {
  // A constant fill stays a fill until its users are converted (it is only
  // an init), so its value goes into the body instead.
  std::optional<double> fill = fillValue(init);
  SmallVector<Value> inputs{r};
  if (!fill)
    inputs.push_back(init);
  auto ew = b_.create<EwiseOp>(loc, outType, inputs);
  Block *blk = new Block();
  ew.getBody().push_back(blk);
  OpBuilder bb(ew.getContext());
  bb.setInsertionPointToStart(blk);
  Value x = blk->addArgument(bb.getF32Type(), loc);
  Value y = fill ? scalarConstant(bb, loc, *fill) : blk->addArgument(bb.getF32Type(), loc);
  Value c = kind == "sum"   ? bb.create<arith::AddFOp>(loc, x, y).getResult()
            : kind == "max" ? bb.create<arith::MaximumFOp>(loc, x, y).getResult()
                            : bb.create<arith::MinimumFOp>(loc, x, y).getResult();
  bb.create<YieldOp>(loc, c);
  return ew.getResult();
}

// A row gather: out[i..., j...] = table[1..., indices[i...], j...], where
// the indices input covers the leading output dims and the table's dims after
// the gathered one are the trailing output dims, in order. That is
// tosa.gather's lowering (table [1, K, C], indices [1, W]) and an embedding
// lookup written directly (table [V, D], indices [S...]).
LogicalResult Converter::convertGather(linalg::LinalgOp op) {
  Block &body = op->getRegion(0).front();
  tensor::ExtractOp extract;
  for (Operation &inner : body)
    if (auto e = llvm::dyn_cast<tensor::ExtractOp>(inner))
      extract = e;
  if (!extract || body.getTerminator()->getOperand(0) != extract.getResult() || op.getNumDpsInputs() != 1)
    return failure();
  auto table = tensorOf(extract.getTensor());
  auto outType = llvm::cast<RankedTensorType>(op->getResult(0).getType());
  Value indices = op.getDpsInputOperand(0)->get();
  auto idxType = llvm::dyn_cast<RankedTensorType>(indices.getType());
  if (!idxType || !(idxType.getElementType().isInteger(32) || idxType.getElementType().isInteger(64)))
    return failure();
  // The indices input: the leading output dims, in order.
  AffineMap idxMap = op.getIndexingMapsArray()[0];
  const int64_t lead = idxMap.getNumResults();
  for (int64_t i = 0; i < lead; ++i) {
    auto d = llvm::dyn_cast<AffineDimExpr>(idxMap.getResult(i));
    if (!d || d.getPosition() != i || idxType.getDimSize(i) != outType.getDimSize(i))
      return failure();
  }
  // The table access: unit dims, the gathered dim, then the trailing output dims.
  auto access = extract.getIndices();
  int64_t gathered = -1;
  for (int64_t t = 0; t < table.getRank(); ++t) {
    Value v = access[t];
    if (auto cast = v.getDefiningOp<arith::IndexCastOp>(); cast && cast.getIn() == body.getArgument(0) && gathered < 0) {
      gathered = t;
      continue;
    }
    auto index = v.getDefiningOp<linalg::IndexOp>();
    if (gathered < 0) {
      // Before the gathered dim: size 1, indexed by a constant 0 or a unit loop.
      std::optional<int64_t> c = getConstantIntValue(v);
      const bool unitLoop = index && outType.getDimSize(index.getDim()) == 1;
      if (table.getDimSize(t) != 1 || !((c && *c == 0) || unitLoop))
        return failure();
      continue;
    }
    const int64_t outDim = lead + (t - gathered - 1);
    if (!index || static_cast<int64_t>(index.getDim()) != outDim || outDim >= outType.getRank() ||
        outType.getDimSize(outDim) != table.getDimSize(t))
      return failure();
  }
  if (gathered < 0 || lead + (table.getRank() - gathered - 1) != outType.getRank())
    return failure();
  int64_t rows = 1, rowSize = 1;
  for (int64_t i = 0; i < lead; ++i)
    rows *= idxType.getDimSize(i);
  for (int64_t t = gathered + 1; t < table.getRank(); ++t)
    rowSize *= table.getDimSize(t);
  Location loc = op.getLoc();
  Value t2 = reshape(extract.getTensor(), {table.getDimSize(gathered), rowSize});
  Value i1 = reshape(indices, {rows});
  auto g = b_.create<GatherOp>(loc, RankedTensorType::get({rows, rowSize}, outType.getElementType()), t2, i1);
  op->getResult(0).replaceAllUsesWith(reshape(g.getResult(), outType.getShape()));
  return success();
}

LogicalResult Converter::convertLinalg(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics() || op->getNumResults() != 1)
    return failure();
  for (int64_t r : op.getStaticLoopRanges())
    if (ShapedType::isDynamic(r))
      return failure();
  if (auto fill = llvm::dyn_cast<linalg::FillOp>(op.getOperation())) {
    // A standalone fill: an elementwise program of no inputs.
    auto type = llvm::cast<RankedTensorType>(fill.getResult(0).getType());
    Attribute attr;
    if (!matchPattern(fill.getInputs()[0], m_Constant(&attr)))
      return failure();
    double v = 0;
    if (auto f = llvm::dyn_cast<FloatAttr>(attr))
      v = f.getValueAsDouble();
    else if (auto i = llvm::dyn_cast<IntegerAttr>(attr))
      v = static_cast<double>(i.getValue().getSExtValue());
    if (fill->use_empty())
      return success();
    // Inits of matmuls/reductions that are recognised stay fills until then.
    bool onlyInits = llvm::all_of(fill->getUses(), [](OpOperand &use) {
      auto l = llvm::dyn_cast<linalg::LinalgOp>(use.getOwner());
      return l && l.isDpsInit(&use);
    });
    if (onlyInits)
      return success();
    auto ew = b_.create<EwiseOp>(fill.getLoc(), type, ValueRange{});
    Block *blk = new Block();
    ew.getBody().push_back(blk);
    OpBuilder body(ew.getContext());
    body.setInsertionPointToStart(blk);
    body.create<YieldOp>(fill.getLoc(), scalarConstant(body, fill.getLoc(), v));
    fill.getResult(0).replaceUsesWithIf(ew.getResult(), [](OpOperand &use) {
      auto l = llvm::dyn_cast<linalg::LinalgOp>(use.getOwner());
      return !(l && l.isDpsInit(&use));
    });
    return success();
  }
  auto iterTypes = op.getIteratorTypesArray();
  const bool allParallel = llvm::all_of(iterTypes, [](auto t) { return t == utils::IteratorType::parallel; });
  bool hasExtract = false;
  op->getRegion(0).walk([&](tensor::ExtractOp) { hasExtract = true; });
  if (hasExtract)
    return convertGather(op);
  if (allParallel)
    return convertElementwise(op);
  if (linalg::isaContractionOpInterface(op) && isMultiplyAccumulate(op))
    return convertContraction(op);
  return convertReduction(op);
}

LogicalResult Converter::convert(Operation *op) {
  b_.setInsertionPoint(op);
  Location loc = op->getLoc();
  if (auto l = llvm::dyn_cast<linalg::LinalgOp>(op))
    return convertLinalg(l);
  if (auto sm = llvm::dyn_cast<linalg::SoftmaxOp>(op)) {
    // Along any dimension: moved last (a view) and back.
    auto in = llvm::dyn_cast<RankedTensorType>(sm.getInput().getType());
    auto out = llvm::dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!in || !out || !in.hasStaticShape() || in.getRank() < 1 || !sm.hasPureTensorSemantics())
      return failure();
    const int64_t rank = in.getRank(), dim = static_cast<int64_t>(sm.getDimension());
    SmallVector<int64_t> perm, inverse(rank);
    for (int64_t d = 0; d < rank; ++d)
      if (d != dim)
        perm.push_back(d);
    perm.push_back(dim);
    for (int64_t d = 0; d < rank; ++d)
      inverse[perm[d]] = d;
    Value x = transpose(sm.getInput(), perm);
    auto type = RankedTensorType::get(tensorOf(x).getShape(), out.getElementType());
    Value y = b_.create<SoftmaxOp>(loc, type, x, b_.getBoolAttr(false));
    op->getResult(0).replaceAllUsesWith(transpose(y, inverse));
    return success();
  }
  if (auto e = llvm::dyn_cast<tensor::ExpandShapeOp>(op)) {
    e.getResult().replaceAllUsesWith(reshape(e.getSrc(), e.getResultType().getShape()));
    return success();
  }
  if (auto c = llvm::dyn_cast<tensor::CollapseShapeOp>(op)) {
    c.getResult().replaceAllUsesWith(reshape(c.getSrc(), c.getResultType().getShape()));
    return success();
  }
  if (auto r = llvm::dyn_cast<tensor::ReshapeOp>(op)) {
    auto type = llvm::dyn_cast<RankedTensorType>(r.getResult().getType());
    if (!type || !type.hasStaticShape())
      return failure();
    r.getResult().replaceAllUsesWith(reshape(r.getSource(), type.getShape()));
    return success();
  }
  if (auto c = llvm::dyn_cast<tensor::CastOp>(op)) {
    if (c.getSource().getType() != c.getResult().getType())
      return failure();
    c.getResult().replaceAllUsesWith(c.getSource());
    return success();
  }
  if (auto s = llvm::dyn_cast<tensor::ExtractSliceOp>(op)) {
    if (!s.getOffsets().empty() || !s.getSizes().empty() || !s.getStrides().empty())
      return failure();
    SmallVector<int64_t> sizes(s.getStaticSizes());
    auto src = tensorOf(s.getSource());
    auto full = RankedTensorType::get(sizes, src.getElementType());
    auto slice = b_.create<SliceOp>(loc, full, s.getSource(), s.getStaticOffsets(), s.getStaticStrides());
    s.getResult().replaceAllUsesWith(reshape(slice.getResult(), s.getResultType().getShape()));
    return success();
  }
  if (auto s = llvm::dyn_cast<tensor::InsertSliceOp>(op)) {
    if (!s.getOffsets().empty() || !s.getSizes().empty() || !s.getStrides().empty())
      return failure();
    Value src = reshape(s.getSource(), s.getStaticSizes());
    auto ins = b_.create<InsertSliceOp>(loc, s.getResultType(), src, s.getDest(), s.getStaticOffsets(), s.getStaticStrides());
    s.getResult().replaceAllUsesWith(ins.getResult());
    return success();
  }
  if (auto e = llvm::dyn_cast<tensor::EmptyOp>(op)) {
    if (e->use_empty() || !e.getType().hasStaticShape())
      return success();
    bool onlyInits = llvm::all_of(e->getUses(), [](OpOperand &use) {
      auto l = llvm::dyn_cast<linalg::LinalgOp>(use.getOwner());
      return (l && l.isDpsInit(&use)) || llvm::isa<linalg::FillOp>(use.getOwner());
    });
    if (!onlyInits) {
      auto empty = b_.create<EmptyOp>(loc, e.getType());
      e.getResult().replaceUsesWithIf(empty.getResult(), [](OpOperand &use) {
        auto l = llvm::dyn_cast<linalg::LinalgOp>(use.getOwner());
        return !((l && l.isDpsInit(&use)) || llvm::isa<linalg::FillOp>(use.getOwner()));
      });
    }
    return success();
  }
  if (auto c = llvm::dyn_cast<tensor::ConcatOp>(op)) {
    auto cat = b_.create<ConcatOp>(loc, c.getResultType(), c.getInputs(), b_.getI64IntegerAttr(c.getDim()));
    c.getResult().replaceAllUsesWith(cat.getResult());
    return success();
  }
  if (auto p = llvm::dyn_cast<tensor::PadOp>(op)) {
    Value padValue = p.getConstantPaddingValue();
    Attribute attr;
    if (!padValue || !matchPattern(padValue, m_Constant(&attr)) || !p.getResultType().hasStaticShape())
      return failure();
    double v = 0;
    if (auto f = llvm::dyn_cast<FloatAttr>(attr))
      v = f.getValueAsDouble();
    else if (auto i = llvm::dyn_cast<IntegerAttr>(attr))
      v = static_cast<double>(i.getValue().getSExtValue());
    SmallVector<int64_t> low, high;
    for (OpFoldResult r : p.getMixedLowPad()) {
      std::optional<int64_t> c = getConstantIntValue(r);
      if (!c)
        return failure();
      low.push_back(*c);
    }
    for (OpFoldResult r : p.getMixedHighPad()) {
      std::optional<int64_t> c = getConstantIntValue(r);
      if (!c)
        return failure();
      high.push_back(*c);
    }
    auto pad = b_.create<PadOp>(loc, p.getResultType(), p.getSource(), b_.getDenseI64ArrayAttr(low),
                                b_.getDenseI64ArrayAttr(high), b_.getF32FloatAttr(static_cast<float>(v)));
    p.getResult().replaceAllUsesWith(pad.getResult());
    return success();
  }
  return success(); // left for the final check (constants, func.return, ...)
}

LogicalResult Converter::run() {
  // Convert in program order; each conversion replaces its op's uses.
  SmallVector<Operation *> ops;
  func_.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (op == func_.getOperation())
      return WalkResult::advance();
    ops.push_back(op);
    // Bodies of linalg ops are handled with their op.
    return op->getNumRegions() ? WalkResult::skip() : WalkResult::advance();
  });
  for (Operation *op : ops) {
    if (op->getParentOp() != func_.getOperation())
      continue;
    if (failed(convert(op)))
      return unsupported(op);
  }
  // Drop what is no longer used (replaced ops and their inits).
  eraseDeadOps(func_.getBody().front(), [](Operation &op) {
    llvm::StringRef ns = op.getDialect() ? op.getDialect()->getNamespace() : "";
    return ns == "tensor" || ns == "arith" || ns == "linalg" || ns == "trn";
  });
  // Whatever remains and is not trn, a constant or the return is unsupported.
  for (Operation &op : func_.getBody().front()) {
    if (llvm::isa<func::ReturnOp, arith::ConstantOp>(&op) || op.getDialect()->getNamespace() == "trn")
      continue;
    return unsupported(&op);
  }
  return success();
}

struct ConvertLinalgPass : impl::TrnConvertLinalgBase<ConvertLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    if (failed(Converter(getOperation(), target).run()))
      signalPassFailure();
  }
};

} // namespace
} // namespace trnx::trn
