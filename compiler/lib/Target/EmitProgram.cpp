// trn dialect -> program. Values live in HBM as views: arguments are input
// tensors, constants weight tensors, results output tensors, intermediates
// ranges of a scratch arena released after their last use. Transposes,
// slices and contiguous reshapes are views and cost nothing; every other op
// is one kernel generator call.
#include "trnx/Target/EmitProgram.h"
#include "trnx/Support/LocationParts.h"

#include "compiler/codegen/kernels/Kernels.h"
#include "isa/Error.h"
#include "isa/Semantics.h"
#include "isa/Verifier.h"
#include "trnx/Dialect/Trn/TrnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstring>

using namespace mlir;

namespace trnx {
namespace {

FailureOr<DType> dtypeOf(Type t) {
  if (t.isF32())
    return DType::FP32;
  if (t.isBF16())
    return DType::BF16;
  if (t.isF16())
    return DType::FP16;
  if (llvm::isa<Float8E4M3FNType>(t))
    return DType::FP8E4M3;
  if (llvm::isa<Float8E5M2Type>(t))
    return DType::FP8E5M2;
  if (t.isInteger(1) || t.isInteger(8))
    return DType::INT8;
  if (t.isInteger(32) || t.isInteger(64))
    return DType::INT32; // 64-bit indices are stored as int32
  return failure();
}

std::vector<int64_t> shapeOf(Value v) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  return std::vector<int64_t>(t.getShape().begin(), t.getShape().end());
}

SourceLoc sourceLocOf(Operation *op) {
  SourceLoc s;
  Location loc = op->getLoc();
  s.op = op->getName().getStringRef().str();
  LocationParts parts = locationParts(loc);
  if (!parts.name.empty())
    s.op = parts.name;
  if (parts.file) {
    s.file = parts.file.getFilename().str();
    s.line = parts.file.getLine();
    s.column = parts.file.getColumn();
  }
  return s;
}

AluOp compareOp(arith::CmpFPredicate p) {
  using P = arith::CmpFPredicate;
  switch (p) {
  case P::OEQ: case P::UEQ: return AluOp::Eq;
  case P::ONE: case P::UNE: return AluOp::Ne;
  case P::OLT: case P::ULT: return AluOp::Lt;
  case P::OLE: case P::ULE: return AluOp::Le;
  case P::OGT: case P::UGT: return AluOp::Gt;
  case P::OGE: case P::UGE: return AluOp::Ge;
  default: return AluOp::None;
  }
}

// `c op x` as an operator applied to x with the immediate c.
std::optional<AluOp> reversedAlu(AluOp op) {
  switch (op) {
  case AluOp::Add: case AluOp::Mul: case AluOp::Max: case AluOp::Min: case AluOp::Eq: case AluOp::Ne: return op;
  case AluOp::Sub: return AluOp::RSub;
  case AluOp::Div: return AluOp::RDiv;
  case AluOp::Lt: return AluOp::Gt;
  case AluOp::Gt: return AluOp::Lt;
  case AluOp::Le: return AluOp::Ge;
  case AluOp::Ge: return AluOp::Le;
  default: return std::nullopt;
  }
}

std::optional<ActFunc> actFunc(llvm::StringRef name) {
  return parseActFunc(std::string_view(name.data(), name.size()));
}

// A scalar body (trn.ewise or matmul epilogue) as an elementwise program.
class BodyTranslator {
public:
  FailureOr<cg::EwProgram> run(Block &body) {
    prog_.numInputs = static_cast<int>(body.getNumArguments());
    for (BlockArgument arg : body.getArguments())
      ids_[arg] = static_cast<int>(arg.getArgNumber());
    for (Operation &op : body.without_terminator())
      if (failed(translate(op)))
        return op.emitError() << "'" << op.getName() << "' cannot be compiled inside an elementwise body",
               failure();
    Value y = body.getTerminator()->getOperand(0);
    prog_.result = idOf(y);
    return prog_;
  }

private:
  // Id of a value, materialising a constant as a program value if needed.
  int idOf(Value v) {
    auto it = ids_.find(v);
    if (it != ids_.end())
      return it->second;
    isConst(v); // records a constant defined outside the body
    float c = static_cast<float>(consts_.lookup(v));
    int id = prog_.add(cg::EwOp::constant(c));
    ids_[v] = id;
    return id;
  }
  // Constants may be defined outside the body (the canonicalizer hoists them).
  bool isConst(Value v) {
    if (ids_.count(v))
      return false;
    if (consts_.count(v))
      return true;
    Attribute attr;
    if (!v.getDefiningOp() || !matchPattern(v, m_Constant(&attr)))
      return false;
    if (auto f = llvm::dyn_cast<FloatAttr>(attr))
      consts_[v] = f.getValueAsDouble();
    else if (auto i = llvm::dyn_cast<IntegerAttr>(attr))
      consts_[v] = i.getType().isInteger(1) ? (i.getValue().getBoolValue() ? 1.0 : 0.0)
                                            : static_cast<double>(i.getValue().getSExtValue());
    else
      return false;
    return true;
  }

  LogicalResult binary(Operation &op, AluOp alu) {
    Value a = op.getOperand(0), b = op.getOperand(1);
    if (isConst(a) && isConst(b)) {
      consts_[op.getResult(0)] = applyAlu(alu, static_cast<float>(consts_[a]), static_cast<float>(consts_[b]));
      return success();
    }
    if (isConst(b)) {
      ids_[op.getResult(0)] = prog_.add(cg::EwOp::scalar(alu, idOf(a), static_cast<float>(consts_[b])));
      return success();
    }
    if (isConst(a)) {
      if (auto rev = reversedAlu(alu)) {
        ids_[op.getResult(0)] = prog_.add(cg::EwOp::scalar(*rev, idOf(b), static_cast<float>(consts_[a])));
        return success();
      }
    }
    ids_[op.getResult(0)] = prog_.add(cg::EwOp::binary(alu, idOf(a), idOf(b)));
    return success();
  }

  LogicalResult act(Operation &op, ActFunc f, float scale = 1, float bias = 0) {
    Value a = op.getOperand(0);
    if (isConst(a)) {
      consts_[op.getResult(0)] = applyActivation(f, static_cast<float>(consts_[a]) * scale + bias);
      return success();
    }
    ids_[op.getResult(0)] = prog_.add(cg::EwOp::act(f, idOf(a), scale, bias));
    return success();
  }

  LogicalResult translate(Operation &op) {
    return llvm::TypeSwitch<Operation *, LogicalResult>(&op)
        .Case<arith::ConstantOp>([&](arith::ConstantOp c) -> LogicalResult {
          if (auto f = llvm::dyn_cast<FloatAttr>(c.getValue()))
            consts_[c.getResult()] = f.getValueAsDouble();
          else if (auto i = llvm::dyn_cast<IntegerAttr>(c.getValue()))
            consts_[c.getResult()] = i.getType().isInteger(1) ? (i.getValue().getBoolValue() ? 1.0 : 0.0)
                                                              : static_cast<double>(i.getValue().getSExtValue());
          else
            return failure();
          return success();
        })
        .Case<arith::AddFOp>([&](auto) { return binary(op, AluOp::Add); })
        .Case<arith::SubFOp>([&](auto) { return binary(op, AluOp::Sub); })
        .Case<arith::MulFOp>([&](auto) { return binary(op, AluOp::Mul); })
        .Case<arith::DivFOp>([&](auto) { return binary(op, AluOp::Div); })
        .Case<arith::MaximumFOp, arith::MaxNumFOp>([&](auto) { return binary(op, AluOp::Max); })
        .Case<arith::MinimumFOp, arith::MinNumFOp>([&](auto) { return binary(op, AluOp::Min); })
        .Case<math::PowFOp>([&](auto) -> LogicalResult {
          Value b = op.getOperand(1);
          if (isConst(b) && !isConst(op.getOperand(0))) {
            double e = consts_[b];
            if (e == 2.0)
              return act(op, ActFunc::Square);
            if (e == 0.5)
              return act(op, ActFunc::Sqrt);
            if (e == -0.5)
              return act(op, ActFunc::Rsqrt);
            if (e == -1.0)
              return act(op, ActFunc::Reciprocal);
            if (e == 1.0) {
              ids_[op.getResult(0)] = idOf(op.getOperand(0));
              return success();
            }
          }
          return binary(op, AluOp::Pow);
        })
        .Case<arith::CmpFOp>([&](arith::CmpFOp c) -> LogicalResult {
          AluOp alu = compareOp(c.getPredicate());
          if (alu == AluOp::None)
            return failure();
          return binary(op, alu);
        })
        .Case<arith::NegFOp>([&](auto) -> LogicalResult {
          Value a = op.getOperand(0);
          if (isConst(a)) {
            consts_[op.getResult(0)] = -consts_[a];
            return success();
          }
          ids_[op.getResult(0)] = prog_.add(cg::EwOp::scalar(AluOp::Mul, idOf(a), -1.0f));
          return success();
        })
        .Case<arith::SelectOp>([&](arith::SelectOp s) -> LogicalResult {
          if (isConst(s.getCondition())) {
            Value pick = consts_[s.getCondition()] != 0 ? s.getTrueValue() : s.getFalseValue();
            if (isConst(pick))
              consts_[s.getResult()] = consts_[pick];
            else
              ids_[s.getResult()] = idOf(pick);
            return success();
          }
          ids_[s.getResult()] = prog_.add(cg::EwOp::select(idOf(s.getCondition()), idOf(s.getTrueValue()), idOf(s.getFalseValue())));
          return success();
        })
        .Case<math::ExpOp>([&](auto) { return act(op, ActFunc::Exp); })
        .Case<math::LogOp>([&](auto) { return act(op, ActFunc::Log); })
        .Case<math::TanhOp>([&](auto) { return act(op, ActFunc::Tanh); })
        .Case<math::ErfOp>([&](auto) { return act(op, ActFunc::Erf); })
        .Case<math::SqrtOp>([&](auto) { return act(op, ActFunc::Sqrt); })
        .Case<math::RsqrtOp>([&](auto) { return act(op, ActFunc::Rsqrt); })
        .Case<math::AbsFOp>([&](auto) { return act(op, ActFunc::Abs); })
        .Case<trn::ActOp>([&](trn::ActOp a) -> LogicalResult {
          auto f = actFunc(a.getFunc());
          if (!f)
            return failure();
          return act(op, *f, a.getScale().convertToFloat(), a.getBias().convertToFloat());
        })
        .Default([](Operation *) { return failure(); });
  }

  cg::EwProgram prog_;
  llvm::DenseMap<Value, int> ids_;
  llvm::DenseMap<Value, double> consts_;
};

class Emitter {
public:
  Emitter(func::FuncOp func, const cg::Target &target) : func_(func), pb_(target) {}
  FailureOr<Program> run();

private:
  struct Buffer {
    int64_t scratchOffset = -1; // -1: not in the scratch arena
    int liveValues = 0;
  };
  struct Slot {
    cg::HbmView view;
    int buffer = -1;
  };

  LogicalResult emitOp(Operation *op);
  // A fresh contiguous destination for a value (its output tensor if placed).
  FailureOr<cg::HbmView> destination(Value v);
  void bind(Value v, const cg::HbmView &view, int buffer);
  FailureOr<cg::HbmView> viewOf(Value v, Operation *user);
  FailureOr<cg::HbmView> contiguousCopy(const cg::HbmView &view, Operation *at);
  void release(Value v);
  uint32_t loc(Operation *op) { return pb_.addLoc(sourceLocOf(op)); }
  LogicalResult fail(Operation *op, const std::string &msg) { return op->emitError() << msg, failure(); }

  func::FuncOp func_;
  cg::ProgramBuilder pb_;
  llvm::DenseMap<Value, Slot> slots_;
  std::vector<Buffer> buffers_;
  llvm::DenseMap<Value, uint32_t> placed_;  // value -> output tensor
  // Elementwise results that are one part of a concatenation: written in
  // place into its result (value -> concat result, offset along its axis).
  llvm::DenseMap<Value, std::pair<Value, int64_t>> concatPart_;
  llvm::DenseMap<Value, int> lastUse_;
  llvm::DenseMap<Operation *, int> index_;
};

void Emitter::bind(Value v, const cg::HbmView &view, int buffer) {
  slots_[v] = Slot{view, buffer};
  if (buffer >= 0)
    ++buffers_[buffer].liveValues;
  if (v.use_empty())
    release(v);
}

void Emitter::release(Value v) {
  auto it = slots_.find(v);
  if (it == slots_.end() || it->second.buffer < 0)
    return;
  Buffer &b = buffers_[it->second.buffer];
  if (--b.liveValues == 0 && b.scratchOffset >= 0)
    pb_.releaseScratch(b.scratchOffset);
}

FailureOr<cg::HbmView> Emitter::destination(Value v) {
  auto type = llvm::cast<RankedTensorType>(v.getType());
  FailureOr<DType> dt = dtypeOf(type.getElementType());
  if (failed(dt))
    return failure();
  auto out = placed_.find(v);
  if (out != placed_.end())
    return cg::HbmView::contiguous(out->second, *dt, shapeOf(v));
  Buffer b;
  b.scratchOffset = pb_.allocScratch(std::max<int64_t>(1, type.getNumElements()) * dtypeSize(*dt));
  buffers_.push_back(b);
  cg::HbmView view = cg::HbmView::contiguous(pb_.scratchTensor(), *dt, shapeOf(v), 0);
  view.offset = b.scratchOffset / dtypeSize(*dt);
  return view;
}

FailureOr<cg::HbmView> Emitter::viewOf(Value v, Operation *user) {
  auto it = slots_.find(v);
  if (it == slots_.end())
    return user->emitError() << "internal: operand has no storage", failure();
  return it->second.view;
}

FailureOr<cg::HbmView> Emitter::contiguousCopy(const cg::HbmView &view, Operation *at) {
  Buffer b;
  b.scratchOffset = pb_.allocScratch(std::max<int64_t>(1, view.elementCount()) * dtypeSize(view.dtype));
  buffers_.push_back(b);
  cg::HbmView dst = cg::HbmView::contiguous(pb_.scratchTensor(), view.dtype, view.shape);
  dst.offset = b.scratchOffset / dtypeSize(view.dtype);
  cg::emitCopy(pb_, view, dst, loc(at));
  return dst;
}

LogicalResult Emitter::emitOp(Operation *op) {
  auto broadcast = [&](Value v, const std::vector<int64_t> &shape) -> FailureOr<cg::HbmView> {
    FailureOr<cg::HbmView> view = viewOf(v, op);
    if (failed(view))
      return failure();
    return view->broadcastTo(shape);
  };
  // A fresh destination (arena buffer or output tensor) bound to `result`.
  auto fresh = [&](Value result) -> FailureOr<cg::HbmView> {
    FailureOr<cg::HbmView> d = destination(result);
    if (failed(d))
      return op->emitError() << "type " << result.getType() << " is not supported on " << pb_.target().name, failure();
    // Output tensors are not arena buffers; an arena destination is the newest buffer.
    bind(result, *d, placed_.count(result) ? -1 : static_cast<int>(buffers_.size()) - 1);
    return d;
  };
  // `result`'s destination: fresh, or its slice of the concatenation it is
  // written into in place (the first part defines the whole).
  auto define = [&](Value result) -> FailureOr<cg::HbmView> {
    auto part = concatPart_.find(result);
    if (part == concatPart_.end())
      return fresh(result);
    Value whole = part->second.first;
    if (!slots_.count(whole) && failed(fresh(whole)))
      return failure();
    const Slot &w = slots_[whole];
    const int axis = static_cast<int>(whole.getDefiningOp<trn::ConcatOp>().getAxis());
    std::vector<int64_t> start(w.view.rank(), 0), steps(w.view.rank(), 1);
    start[axis] = part->second.second;
    cg::HbmView view = w.view.sliced(start, shapeOf(result), steps);
    bind(result, view, w.buffer);
    return view;
  };
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<arith::ConstantOp>([&](arith::ConstantOp c) -> LogicalResult {
        auto dense = llvm::dyn_cast<DenseElementsAttr>(c.getValue());
        if (!llvm::isa<RankedTensorType>(c.getType()))
          return success(); // scalars live inside bodies
        if (!dense)
          return fail(op, "constant tensors must be dense elements");
        FailureOr<DType> dt = dtypeOf(dense.getElementType());
        if (failed(dt))
          return op->emitError() << "constants of type " << dense.getElementType() << " are not supported", failure();
        if (dense.isSplat()) {
          FailureOr<cg::HbmView> d = define(c.getResult());
          if (failed(d))
            return failure();
          Attribute s = dense.getSplatValue<Attribute>();
          double v = llvm::isa<FloatAttr>(s)          ? llvm::cast<FloatAttr>(s).getValueAsDouble()
                     : dense.getElementType().isInteger(1) ? static_cast<double>(llvm::cast<IntegerAttr>(s).getValue().getZExtValue())
                                                           : static_cast<double>(llvm::cast<IntegerAttr>(s).getValue().getSExtValue());
          cg::emitFill(pb_, *d, static_cast<float>(v), loc(op));
          return success();
        }
        std::vector<uint8_t> data(dense.getNumElements() * dtypeSize(*dt));
        size_t i = 0;
        if (llvm::isa<FloatType>(dense.getElementType())) {
          for (const APFloat &f : dense.getValues<APFloat>())
            storeElement(*dt, data.data() + dtypeSize(*dt) * i++, f.convertToDouble());
        } else {
          for (const APInt &v : dense.getValues<APInt>()) {
            int64_t x = dense.getElementType().isInteger(1) ? v.getZExtValue() : v.getSExtValue();
            if (*dt == DType::INT32) {
              int32_t y = static_cast<int32_t>(std::clamp<int64_t>(x, INT32_MIN, INT32_MAX));
              std::memcpy(data.data() + 4 * i++, &y, 4);
            } else {
              storeElement(*dt, data.data() + dtypeSize(*dt) * i++, static_cast<float>(x));
            }
          }
        }
        std::string name = "const" + std::to_string(index_[op]);
        uint32_t t = pb_.addTensor(name, TensorRole::Weight, *dt, shapeOf(c.getResult()), std::move(data));
        bind(c.getResult(), cg::HbmView::contiguous(t, *dt, shapeOf(c.getResult())), -1);
        return success();
      })
      .Case<trn::ReshapeOp>([&](trn::ReshapeOp r) -> LogicalResult {
        FailureOr<cg::HbmView> in = viewOf(r.getInput(), op);
        if (failed(in))
          return failure();
        const int buffer = slots_[r.getInput()].buffer;
        if (std::optional<cg::HbmView> view = in->reshapedInPlace(shapeOf(r.getResult()))) {
          bind(r.getResult(), *view, buffer); // a view: contiguous, or strides that allow it
          return success();
        }
        FailureOr<cg::HbmView> copy = contiguousCopy(*in, op);
        if (failed(copy))
          return failure();
        bind(r.getResult(), copy->reshaped(shapeOf(r.getResult())), static_cast<int>(buffers_.size()) - 1);
        return success();
      })
      .Case<trn::TransposeOp>([&](trn::TransposeOp t) -> LogicalResult {
        FailureOr<cg::HbmView> in = viewOf(t.getInput(), op);
        if (failed(in))
          return failure();
        std::vector<int64_t> perm(t.getPermutation().begin(), t.getPermutation().end());
        bind(t.getResult(), in->transposed(perm), slots_[t.getInput()].buffer);
        return success();
      })
      .Case<trn::SliceOp>([&](trn::SliceOp s) -> LogicalResult {
        FailureOr<cg::HbmView> in = viewOf(s.getInput(), op);
        if (failed(in))
          return failure();
        std::vector<int64_t> off(s.getOffsets().begin(), s.getOffsets().end()),
            st(s.getStrides().begin(), s.getStrides().end());
        bind(s.getResult(), in->sliced(off, shapeOf(s.getResult()), st), slots_[s.getInput()].buffer);
        return success();
      })
      .Case<trn::EmptyOp>([&](trn::EmptyOp e) { return succeeded(define(e.getResult())) ? success() : failure(); })
      .Case<trn::EwiseOp>([&](trn::EwiseOp ew) -> LogicalResult {
        FailureOr<cg::EwProgram> prog = BodyTranslator().run(ew.getBody().front());
        if (failed(prog))
          return failure();
        cg::ElementwiseSpec spec;
        for (Value in : ew.getInputs()) {
          FailureOr<cg::HbmView> v = broadcast(in, shapeOf(ew.getResult()));
          if (failed(v))
            return failure();
          spec.inputs.push_back(*v);
        }
        FailureOr<cg::HbmView> out = define(ew.getResult());
        if (failed(out))
          return failure();
        spec.out = *out;
        spec.program = *prog;
        if (prog->result >= 0 && prog->result >= prog->numInputs && prog->ops.size() == 1 &&
            prog->ops[0].kind == cg::EwOp::Kind::Const) {
          cg::emitFill(pb_, *out, prog->ops[0].imm, loc(op));
          return success();
        }
        cg::emitElementwise(pb_, spec, loc(op));
        return success();
      })
      .Case<trn::MxMatmulOp>([&](trn::MxMatmulOp mm) -> LogicalResult {
        FailureOr<cg::HbmView> x = viewOf(mm.getLhs(), op), w = viewOf(mm.getWeights(), op),
                               sc = viewOf(mm.getScales(), op);
        if (failed(x) || failed(w) || failed(sc))
          return failure();
        const bool fp4 = mm.getFormat() == "mxfp4";
        const DType wType = fp4 ? DType::FP4E2M1X2 : DType::FP8E4M3;
        const cg::Target &target = pb_.target();
        if (target.limits.mxPacking(wType) < 1 || target.limits.mxPacking(DType::FP8E4M3) < 1)
          return fail(op, std::string(fp4 ? "MXFP4" : "MXFP8") + " weights need a chip with MX matmul; " +
                              target.name + " has none (pe_array.mx" + (fp4 ? "fp4" : "fp8") +
                              "_rate_multiplier is 0)");
        if (!w->isContiguous() || !sc->isContiguous())
          return fail(op, "MX weights and scales must be whole contiguous tensors (slice the model, not the MX storage)");
        std::vector<int64_t> shape = shapeOf(mm.getResult());
        const int64_t k = x->shape.back(), n = shape.back();
        int64_t m = 1;
        for (size_t d = 0; d + 1 < shape.size(); ++d)
          m *= shape[d];
        cg::HbmView x2 = x->isContiguous() ? x->reshaped({m, k}) : x->rank() == 2 ? *x : cg::HbmView();
        if (x2.shape.empty()) {
          FailureOr<cg::HbmView> c = contiguousCopy(*x, op);
          if (failed(c))
            return failure();
          x2 = c->reshaped({m, k});
        }
        FailureOr<cg::HbmView> out = define(mm.getResult());
        if (failed(out))
          return failure();
        // x quantised to MXFP8, transposed K-major: two scratch ranges, released after the matmul.
        const int64_t dataAt = pb_.allocScratch(k * m), scalesAt = pb_.allocScratch(k / 32 * m);
        cg::MxQuantizeSpec q;
        q.x = x2;
        q.data = q.scales = pb_.scratchTensor();
        q.dataOffset = dataAt;
        q.scalesOffset = scalesAt;
        // Decode-sized activations go tile-major: the matmul then loads each
        // partition's rows in one run instead of a few bytes per k-tile.
        const int64_t pack = cg::mxKTilePacking(target, DType::FP8E4M3, wType);
        const bool tiled = m <= target.matmulM() && pack > 0 && 32 % pack == 0 && k % (target.matmulK() * pack) == 0;
        q.tilePack = tiled ? pack : 0;
        cg::emitQuantizeMxTransposed(pb_, q, loc(op));
        cg::MxMatmulSpec spec;
        spec.aT = spec.aScale = pb_.scratchTensor();
        spec.aTOffset = dataAt;
        spec.aScaleOffset = scalesAt;
        spec.aTiled = tiled;
        spec.b = w->tensor;
        spec.bOffset = w->byteOffset();
        spec.bScale = sc->tensor;
        spec.bScaleOffset = sc->byteOffset();
        spec.aType = DType::FP8E4M3;
        spec.bType = wType;
        spec.cType = out->dtype;
        spec.m = m;
        spec.n = n;
        spec.k = k;
        spec.c = out->tensor;
        spec.cOffset = out->byteOffset();
        cg::emitMatmulMx(pb_, spec, loc(op));
        pb_.releaseScratch(dataAt);
        pb_.releaseScratch(scalesAt);
        return success();
      })
      .Case<trn::AttentionOp>([&](trn::AttentionOp at) -> LogicalResult {
        FailureOr<cg::HbmView> q = viewOf(at.getQ(), op), k = viewOf(at.getKT(), op), v = viewOf(at.getV(), op);
        if (failed(q) || failed(k) || failed(v))
          return failure();
        FailureOr<cg::HbmView> out = define(at.getResult());
        if (failed(out))
          return failure();
        cg::AttentionSpec spec;
        spec.q = *q;
        spec.kT = *k;
        spec.v = *v;
        spec.out = *out;
        spec.group = at.getGroupAttr().getInt();
        spec.scale = at.getScale().convertToFloat();
        spec.causal = at.getCausal();
        spec.queryOffset = at.getQueryOffsetAttr().getInt();
        // The PE multiplies q's element type: bf16, or f32 (slower, exact products).
        spec.operandType = q->dtype == DType::FP32 ? DType::FP32 : DType::BF16;
        try {
          cg::emitAttention(pb_, spec, loc(op));
        } catch (const Error &e) {
          return fail(op, e.what());
        }
        return success();
      })
      .Case<trn::MatmulOp>([&](trn::MatmulOp mm) -> LogicalResult {
        cg::MatmulSpec spec;
        std::vector<int64_t> shape = shapeOf(mm.getResult());
        FailureOr<cg::HbmView> a = viewOf(mm.getLhs(), op), b = viewOf(mm.getRhs(), op);
        if (failed(a) || failed(b))
          return failure();
        spec.a = *a;
        std::vector<int64_t> bShape = shapeOf(mm.getRhs());
        for (size_t d = 0; d + 2 < shape.size(); ++d)
          bShape[d] = shape[d];
        spec.b = b->broadcastTo(bShape);
        Type operand = mm.getOperandType() ? *mm.getOperandType()
                                           : llvm::cast<RankedTensorType>(mm.getLhs().getType()).getElementType();
        FailureOr<DType> ot = dtypeOf(operand);
        if (failed(ot) || !isFloat(*ot))
          return op->emitError() << "matmul operands of type " << operand << " are not supported on " << pb_.target().name,
                 failure();
        spec.operandType = *ot;
        if (!mm.getEpilogue().empty()) {
          FailureOr<cg::EwProgram> prog = BodyTranslator().run(mm.getEpilogue().front());
          if (failed(prog))
            return failure();
          spec.epilogue = *prog;
        }
        for (Value e : mm.getEpilogueInputs()) {
          FailureOr<cg::HbmView> v = broadcast(e, shape);
          if (failed(v))
            return failure();
          spec.epilogueInputs.push_back(*v);
        }
        FailureOr<cg::HbmView> out = define(mm.getResult());
        if (failed(out))
          return failure();
        spec.c = *out;
        cg::emitMatmul(pb_, spec, loc(op));
        return success();
      })
      .Case<trn::ReduceOp>([&](trn::ReduceOp r) -> LogicalResult {
        FailureOr<cg::HbmView> in = viewOf(r.getInput(), op);
        if (failed(in))
          return failure();
        // Reduced axes last (a view), merged into one.
        std::vector<int64_t> perm;
        std::vector<bool> reduced(in->rank(), false);
        for (int64_t a : r.getAxes())
          reduced[a] = true;
        for (int d = 0; d < in->rank(); ++d)
          if (!reduced[d])
            perm.push_back(d);
        int64_t reducedSize = 1;
        for (int d = 0; d < in->rank(); ++d)
          if (reduced[d]) {
            perm.push_back(d);
            reducedSize *= in->shape[d];
          }
        cg::HbmView x = in->transposed(perm);
        const size_t kept = perm.size() - r.getAxes().size();
        std::vector<int64_t> rowShape(x.shape.begin(), x.shape.begin() + kept);
        // Merge the reduced trailing dims when their strides allow, else copy.
        bool mergeable = true;
        for (size_t d = kept; d + 1 < x.shape.size(); ++d)
          mergeable = mergeable && x.strides[d] == x.strides[d + 1] * x.shape[d + 1];
        if (!mergeable) {
          FailureOr<cg::HbmView> copy = contiguousCopy(x, op);
          if (failed(copy))
            return failure();
          x = *copy;
        }
        cg::HbmView rows = x;
        rows.shape = rowShape;
        rows.shape.push_back(reducedSize);
        rows.strides.assign(x.strides.begin(), x.strides.begin() + kept);
        rows.strides.push_back(x.strides.back());
        FailureOr<cg::HbmView> out = define(r.getResult());
        if (failed(out))
          return failure();
        std::vector<int64_t> outShape = rowShape;
        outShape.push_back(1);
        cg::RowSpec spec;
        spec.kind = r.getKind() == "sum" ? cg::RowSpec::Kind::ReduceSum
                    : r.getKind() == "max" ? cg::RowSpec::Kind::ReduceMax
                                           : cg::RowSpec::Kind::ReduceMin;
        spec.x = rows;
        spec.out = out->reshaped(outShape);
        spec.gamma.tensor = spec.beta.tensor = cg::kNoTensor;
        try {
          cg::emitRowOp(pb_, spec, loc(op));
        } catch (const Error &e) {
          return fail(op, e.what());
        }
        return success();
      })
      .Case<trn::SoftmaxOp, trn::LayerNormOp, trn::RmsNormOp>([&](Operation *) -> LogicalResult {
        Value input = op->getOperand(0);
        FailureOr<cg::HbmView> x = viewOf(input, op);
        if (failed(x))
          return failure();
        cg::RowSpec spec;
        spec.x = *x;
        spec.gamma.tensor = spec.beta.tensor = cg::kNoTensor;
        auto param = [&](Value v, cg::HbmView &dst) -> LogicalResult {
          if (!v)
            return success();
          FailureOr<cg::HbmView> p = viewOf(v, op);
          if (failed(p))
            return failure();
          dst = p->isContiguous() ? p->reshaped({p->elementCount()}) : *p;
          return success();
        };
        if (auto s = llvm::dyn_cast<trn::SoftmaxOp>(op)) {
          spec.kind = s.getLog() ? cg::RowSpec::Kind::LogSoftmax : cg::RowSpec::Kind::Softmax;
        } else if (auto l = llvm::dyn_cast<trn::LayerNormOp>(op)) {
          spec.kind = cg::RowSpec::Kind::LayerNorm;
          spec.epsilon = l.getEpsilon().convertToFloat();
          if (failed(param(l.getGamma(), spec.gamma)) || failed(param(l.getBeta(), spec.beta)))
            return failure();
        } else {
          auto n = llvm::cast<trn::RmsNormOp>(op);
          spec.kind = cg::RowSpec::Kind::RmsNorm;
          spec.epsilon = n.getEpsilon().convertToFloat();
          if (failed(param(n.getGamma(), spec.gamma)))
            return failure();
        }
        FailureOr<cg::HbmView> out = define(op->getResult(0));
        if (failed(out))
          return failure();
        spec.out = *out;
        try {
          cg::emitRowOp(pb_, spec, loc(op));
        } catch (const Error &e) {
          return fail(op, e.what());
        }
        return success();
      })
      .Case<trn::ConcatOp>([&](trn::ConcatOp c) -> LogicalResult {
        // Parts written in place already defined the result.
        FailureOr<cg::HbmView> out = slots_.count(c.getResult()) ? FailureOr<cg::HbmView>(slots_[c.getResult()].view)
                                                                  : define(c.getResult());
        if (failed(out))
          return failure();
        int64_t at = 0;
        const int axis = static_cast<int>(c.getAxis());
        std::vector<std::pair<cg::HbmView, cg::HbmView>> copies;
        for (Value in : c.getInputs()) {
          FailureOr<cg::HbmView> v = viewOf(in, op);
          if (failed(v))
            return failure();
          if (concatPart_.count(in)) { // written in place (its only use is this concat)
            at += v->shape[axis];
            continue;
          }
          std::vector<int64_t> start(out->rank(), 0), steps(out->rank(), 1);
          start[axis] = at;
          copies.emplace_back(*v, out->sliced(start, v->shape, steps));
          at += v->shape[axis];
        }
        if (!copies.empty())
          cg::emitCopies(pb_, copies, loc(op)); // one kernel for all the parts
        return success();
      })
      .Case<trn::PadOp>([&](trn::PadOp p) -> LogicalResult {
        FailureOr<cg::HbmView> in = viewOf(p.getInput(), op);
        FailureOr<cg::HbmView> out = define(p.getResult());
        if (failed(in) || failed(out))
          return failure();
        cg::emitFill(pb_, *out, p.getValue().convertToFloat(), loc(op));
        std::vector<int64_t> start(p.getLow().begin(), p.getLow().end()), steps(out->rank(), 1);
        cg::emitCopy(pb_, *in, out->sliced(start, in->shape, steps), loc(op));
        return success();
      })
      .Case<trn::InsertSliceOp>([&](trn::InsertSliceOp s) -> LogicalResult {
        FailureOr<cg::HbmView> src = viewOf(s.getSource(), op), dest = viewOf(s.getDest(), op);
        if (failed(src) || failed(dest))
          return failure();
        // In place when the destination is ours alone (an arena buffer with one use).
        const int destBuffer = slots_[s.getDest()].buffer;
        cg::HbmView target;
        if (s.getDest().hasOneUse() && destBuffer >= 0 && dest->isContiguous() && !placed_.count(s.getResult())) {
          target = *dest;
          bind(s.getResult(), target, destBuffer);
        } else {
          FailureOr<cg::HbmView> out = define(s.getResult());
          if (failed(out))
            return failure();
          target = *out;
          if (!s.getDest().getDefiningOp<trn::EmptyOp>())
            cg::emitCopy(pb_, *dest, target, loc(op));
        }
        std::vector<int64_t> start(s.getOffsets().begin(), s.getOffsets().end()),
            steps(s.getStrides().begin(), s.getStrides().end());
        cg::emitCopy(pb_, *src, target.sliced(start, src->shape, steps), loc(op));
        return success();
      })
      .Case<trn::GatherOp>([&](trn::GatherOp g) -> LogicalResult {
        FailureOr<cg::HbmView> table = viewOf(g.getTable(), op), idx = viewOf(g.getIndices(), op);
        if (failed(table) || failed(idx))
          return failure();
        cg::HbmView indices = *idx;
        if (!indices.isContiguous()) {
          FailureOr<cg::HbmView> copy = contiguousCopy(indices, op);
          if (failed(copy))
            return failure();
          indices = *copy;
        }
        FailureOr<cg::HbmView> out = define(g.getResult());
        if (failed(out))
          return failure();
        try {
          cg::emitGather(pb_, *table, indices, *out, loc(op));
        } catch (const Error &e) {
          return fail(op, e.what());
        }
        return success();
      })
      .Case<func::ReturnOp>([&](func::ReturnOp) { return success(); })
      .Default([&](Operation *) {
        return op->emitError() << "'" << op->getName() << "' is not supported on " << pb_.target().name, failure();
      });
}

std::string nameAttr(DictionaryAttr attrs, const std::string &fallback) {
  if (attrs)
    if (auto n = attrs.getAs<StringAttr>("trnx.name"))
      return n.str();
  return fallback;
}

FailureOr<Program> Emitter::run() {
  Block &body = func_.getBody().front();
  int i = 0;
  for (Operation &op : body)
    index_[&op] = i++;
  for (Operation &op : body)
    for (Value v : op.getOperands())
      lastUse_[v] = std::max(lastUse_.lookup(v), index_[&op]);
  auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());

  // Inputs.
  for (BlockArgument arg : func_.getArguments()) {
    auto type = llvm::dyn_cast<RankedTensorType>(arg.getType());
    FailureOr<DType> dt = type ? dtypeOf(type.getElementType()) : FailureOr<DType>(failure());
    if (!type || !type.hasStaticShape() || failed(dt))
      return func_.emitError() << "argument " << arg.getArgNumber() << " of type " << arg.getType()
                               << " is not supported (static shapes of f32, bf16, f16, f8, i1/i8/i32/i64)",
             failure();
    DictionaryAttr attrs = func_.getArgAttrDict(arg.getArgNumber());
    std::string name = nameAttr(attrs, "arg" + std::to_string(arg.getArgNumber()));
    auto role = attrs ? attrs.getAs<StringAttr>("trnx.role") : StringAttr();
    // A weight argument is a tensor of the program without data (shape-only).
    const TensorRole r = role && role.getValue() == "weight" ? TensorRole::Weight : TensorRole::Input;
    // `trnx.dtype` names the storage of i8 arguments that hold MX bytes
    // (fp4e2m1x2 pairs, e8m0 scales): inputs then take raw uint8 bytes.
    DType stored = *dt;
    if (auto as = attrs ? attrs.getAs<StringAttr>("trnx.dtype") : StringAttr()) {
      std::optional<DType> named = parseDType(as.getValue().str());
      if (!named || dtypeSize(*named) != 1 || !type.getElementType().isInteger(8))
        return func_.emitError() << "argument " << arg.getArgNumber() << ": trnx.dtype \"" << as.getValue()
                                 << "\" must name a one-byte trnx dtype (fp4e2m1x2, e8m0, fp8e4m3) of an i8 tensor",
               failure();
      stored = *named;
    }
    uint32_t t = pb_.addTensor(name, r, stored, shapeOf(arg));
    bind(arg, cg::HbmView::contiguous(t, *dt, shapeOf(arg)), -1);
  }
  // Outputs: computed results write straight into their output tensor.
  std::vector<uint32_t> outputs;
  for (auto [n, v] : llvm::enumerate(ret.getOperands())) {
    auto type = llvm::dyn_cast<RankedTensorType>(v.getType());
    FailureOr<DType> dt = type ? dtypeOf(type.getElementType()) : FailureOr<DType>(failure());
    if (!type || !type.hasStaticShape() || failed(dt))
      return func_.emitError() << "result " << n << " of type " << v.getType() << " is not supported", failure();
    std::string name = nameAttr(func_.getResultAttrDict(n), "out" + std::to_string(n));
    outputs.push_back(pb_.addTensor(name, TensorRole::Output, *dt, shapeOf(v)));
    // The computing op writes straight into the output tensor, also when the
    // result is returned through reshapes (same bytes, another shape).
    Value root = v;
    if (!root.hasOneUse())
      continue;
    while (auto r = root.getDefiningOp<trn::ReshapeOp>()) {
      if (!r.getInput().hasOneUse())
        break;
      root = r.getInput();
    }
    Operation *def = root.getDefiningOp();
    const bool computed = def && !llvm::isa<trn::ReshapeOp, trn::TransposeOp, trn::SliceOp, arith::ConstantOp>(def) &&
                          def->getParentOp() == func_.getOperation();
    if (computed && !placed_.count(root))
      placed_[root] = outputs.back();
  }
  // Single-use elementwise parts of a concatenation write into its result.
  for (Operation &op : body)
    if (auto cat = llvm::dyn_cast<trn::ConcatOp>(&op)) {
      int64_t at = 0;
      for (Value in : cat.getInputs()) {
        auto ew = in.getDefiningOp<trn::EwiseOp>();
        if (ew && in.hasOneUse() && ew->getParentOp() == func_.getOperation() && !placed_.count(in))
          concatPart_[in] = {cat.getResult(), at};
        at += llvm::cast<RankedTensorType>(in.getType()).getShape()[cat.getAxis()];
      }
    }
  try {
    for (Operation &op : body) {
      // A kernel generator's limit (e.g. SBUF capacity) is reported at its op.
      try {
        if (failed(emitOp(&op)))
          return failure();
      } catch (const Error &e) {
        return op.emitError() << e.what(), failure();
      }
      for (Value v : op.getOperands())
        if (lastUse_.lookup(v) == index_[&op])
          release(v);
    }
    // Results that are not computed in place (arguments, views, constants).
    for (auto [n, v] : llvm::enumerate(ret.getOperands())) {
      FailureOr<cg::HbmView> src = viewOf(v, ret);
      if (failed(src))
        return failure();
      if ((src->tensor == outputs[n] && src->offset == 0 && src->isContiguous()) || src->elementCount() == 0)
        continue; // computed in place, or nothing to copy
      cg::emitCopy(pb_, *src, cg::HbmView::contiguous(outputs[n], src->dtype, src->shape), loc(ret));
    }
    Program p = pb_.finish();
    verifyProgram(p, pb_.target().limits);
    return p;
  } catch (const Error &e) {
    return func_.emitError() << "code generation failed: " << e.what(), failure();
  }
}

} // namespace

FailureOr<Program> emitProgram(func::FuncOp func, const cg::Target &target) {
  if (!func.getBody().hasOneBlock())
    return func.emitError() << "functions with control flow are not supported", failure();
  return Emitter(func, target).run();
}

} // namespace trnx
