// trn-fuse-elementwise: elementwise producers merge into their consumers
// (a unary consumer such as a cast also through a reshape), an elementwise
// op of a concatenation splits into one per piece, elementwise
// consumers of a matmul become its epilogue, a widening cast of a matmul
// operand is read on chip, a cast of a softmax or norm
// becomes that op's result type, and splat constants and duplicate inputs
// fold into the bodies, so intermediates stay on chip.
#include "trnx/Dialect/Trn/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

namespace trnx::trn {
#define GEN_PASS_DEF_TRNFUSEELEMENTWISE
#include "trnx/Dialect/Trn/Passes.h.inc"
} // namespace trnx::trn

using namespace mlir;

namespace trnx::trn {
namespace {

RankedTensorType typeOf(Value v) { return llvm::cast<RankedTensorType>(v.getType()); }

// The value of a splat or single-element constant tensor.
std::optional<double> splatValue(Value v) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !(attr.isSplat() || attr.getNumElements() == 1))
    return std::nullopt;
  Attribute e = attr.getSplatValue<Attribute>();
  if (auto f = llvm::dyn_cast<FloatAttr>(e))
    return f.getValueAsDouble();
  if (auto i = llvm::dyn_cast<IntegerAttr>(e))
    return static_cast<double>(i.getValue().getSExtValue());
  return std::nullopt;
}

// Clones `src`'s body ops into `b` with `map`; returns the mapped yield value.
Value cloneBody(OpBuilder &b, Block &src, IRMapping &map) {
  for (Operation &op : src.without_terminator())
    b.clone(op, map);
  return map.lookup(llvm::cast<YieldOp>(src.getTerminator()).getValue());
}

// `ew`'s body cloned into `b` with its arguments bound to `args` (one value
// per input of `ew`); returns the yielded value.
Value cloneBodyOver(OpBuilder &b, EwiseOp ew, ValueRange args) {
  IRMapping map;
  for (size_t j = 0; j < ew.getInputs().size(); ++j)
    map.map(ew.getBody().front().getArgument(j), args[j]);
  return cloneBody(b, ew.getBody().front(), map);
}

// `producer`'s body cloned into `b` over `args` (its inputs' values); a
// producer yielding i1 (a comparison) stores 0/1, which a consumer reads as f32.
Value cloneProducer(OpBuilder &b, EwiseOp producer, ValueRange args) {
  Value pv = cloneBodyOver(b, producer, args);
  if (pv.getType().isInteger(1)) {
    Location loc = producer.getLoc();
    Value one = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(1.0f));
    Value zero = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0.0f));
    pv = b.create<arith::SelectOp>(loc, pv, one, zero);
  }
  return pv;
}

// A new trn.ewise of `inputs`; `fill(builder, args)` builds the body and
// returns the yielded value.
EwiseOp buildEwise(OpBuilder &b, Location loc, Type result, ArrayRef<Value> inputs,
                   const std::function<Value(OpBuilder &, ArrayRef<BlockArgument>)> &fill) {
  auto ew = b.create<EwiseOp>(loc, result, inputs);
  Block *block = new Block();
  ew.getBody().push_back(block);
  for (size_t i = 0; i < inputs.size(); ++i)
    block->addArgument(b.getF32Type(), loc);
  OpBuilder body(ew.getContext());
  body.setInsertionPointToStart(block);
  Value y = fill(body, block->getArguments());
  body.create<YieldOp>(loc, y);
  return ew;
}

// Splat constants into the body, duplicate and unused inputs out.
bool simplifyInputs(EwiseOp ew) {
  Block &old = ew.getBody().front();
  SmallVector<Value> inputs;
  SmallVector<int> newIndex(ew.getInputs().size(), -1);
  bool changed = false;
  for (auto [i, in] : llvm::enumerate(ew.getInputs())) {
    if (old.getArgument(i).use_empty() || splatValue(in)) {
      changed = true;
      continue;
    }
    auto dup = llvm::find(inputs, in);
    if (dup != inputs.end()) {
      newIndex[i] = static_cast<int>(dup - inputs.begin());
      changed = true;
      continue;
    }
    newIndex[i] = static_cast<int>(inputs.size());
    inputs.push_back(in);
  }
  if (!changed)
    return false;
  OpBuilder b(ew);
  auto fused = buildEwise(b, ew.getLoc(), ew.getType(), inputs, [&](OpBuilder &body, ArrayRef<BlockArgument> args) {
    IRMapping map;
    for (auto [i, in] : llvm::enumerate(ew.getInputs())) {
      if (newIndex[i] >= 0)
        map.map(old.getArgument(i), args[newIndex[i]]);
      else if (auto c = splatValue(in))
        map.map(old.getArgument(i),
                body.create<arith::ConstantOp>(ew.getLoc(), body.getF32FloatAttr(static_cast<float>(*c))));
    }
    return cloneBody(body, old, map);
  });
  ew.getResult().replaceAllUsesWith(fused.getResult());
  ew.erase();
  return true;
}

// Merges a single-use elementwise producer of the same shape into `ew`.
bool fuseProducer(EwiseOp ew) {
  for (auto [i, in] : llvm::enumerate(ew.getInputs())) {
    auto producer = in.getDefiningOp<EwiseOp>();
    if (!producer || !producer->hasOneUse() || typeOf(in).getShape() != ew.getType().getShape())
      continue;
    SmallVector<Value> inputs;
    const size_t at = i;
    for (size_t j = 0; j < ew.getInputs().size(); ++j)
      if (j != at)
        inputs.push_back(ew.getInputs()[j]);
    const size_t producerStart = inputs.size();
    inputs.append(producer.getInputs().begin(), producer.getInputs().end());
    OpBuilder b(ew);
    auto fused = buildEwise(b, ew.getLoc(), ew.getType(), inputs, [&](OpBuilder &body, ArrayRef<BlockArgument> args) {
      Value pv = cloneProducer(body, producer, ValueRange(args).drop_front(producerStart));
      SmallVector<Value> values;
      for (size_t j = 0, k = 0; j < ew.getInputs().size(); ++j)
        values.push_back(j == at ? pv : Value(args[k++]));
      return cloneBodyOver(body, ew, values);
    });
    ew.getResult().replaceAllUsesWith(fused.getResult());
    ew.erase();
    producer.erase();
    return true;
  }
  return false;
}

// A pure conversion: one input, the body yields its argument unchanged.
bool isPureCast(EwiseOp ew) {
  Block &body = ew.getBody().front();
  return ew.getInputs().size() == 1 && body.without_terminator().empty() &&
         llvm::cast<YieldOp>(body.getTerminator()).getValue() == body.getArgument(0);
}

// A float cast of a softmax's or norm's only use: the op stores its result
// in the cast type (its engines round on the store), one kernel fewer.
bool fuseCastIntoRowOp(EwiseOp ew) {
  if (!isPureCast(ew) || !llvm::isa<FloatType>(ew.getType().getElementType()))
    return false;
  Value in = ew.getInputs()[0];
  auto reshape = in.getDefiningOp<ReshapeOp>(); // looked through when it has no other use
  Value rowValue = reshape && reshape->hasOneUse() ? reshape.getInput() : in;
  Operation *def = rowValue.getDefiningOp();
  if (!def || !llvm::isa<SoftmaxOp, LayerNormOp, RmsNormOp>(def) || !def->hasOneUse() ||
      typeOf(in).getShape() != ew.getType().getShape())
    return false;
  rowValue.setType(RankedTensorType::get(typeOf(rowValue).getShape(), ew.getType().getElementType()));
  in.setType(ew.getType());
  ew.getResult().replaceAllUsesWith(in);
  ew.erase();
  return true;
}

// reshape(reshape(x)) -> reshape(x): fusions leave such chains behind.
bool collapseReshapes(func::FuncOp func) {
  bool changed = false;
  func.walk([&](ReshapeOp r) {
    auto inner = r.getInput().getDefiningOp<ReshapeOp>();
    if (!inner)
      return;
    r.getInputMutable().assign(inner.getInput());
    if (inner->use_empty())
      inner.erase();
    changed = true;
  });
  return changed;
}

// A unary consumer (a cast, say) of a reshaped single-use value moves before
// the reshape: merged into an elementwise producer (one ewise of the
// producer's shape), or onto a concatenation, over whose pieces it then
// splits (splitOverConcat); reshaped after.
bool unaryThroughReshape(EwiseOp ew) {
  if (ew.getInputs().size() != 1)
    return false;
  auto reshape = ew.getInputs()[0].getDefiningOp<ReshapeOp>();
  if (!reshape || !reshape->hasOneUse())
    return false;
  Operation *def = reshape.getInput().getDefiningOp();
  auto producer = llvm::dyn_cast_or_null<EwiseOp>(def);
  if (!def || !def->hasOneUse() || !(producer || llvm::isa<ConcatOp>(def)))
    return false;
  OpBuilder b(ew);
  auto movedType = RankedTensorType::get(typeOf(reshape.getInput()).getShape(), ew.getType().getElementType());
  SmallVector<Value> inputs;
  if (producer)
    inputs.append(producer.getInputs().begin(), producer.getInputs().end());
  else
    inputs.push_back(reshape.getInput());
  auto moved = buildEwise(b, ew.getLoc(), movedType, inputs, [&](OpBuilder &body, ArrayRef<BlockArgument> args) {
    Value x = producer ? cloneProducer(body, producer, args) : Value(args[0]);
    return cloneBodyOver(body, ew, x);
  });
  Value result = b.create<ReshapeOp>(ew.getLoc(), ew.getType(), moved.getResult());
  ew.getResult().replaceAllUsesWith(result);
  ew.erase();
  reshape.erase();
  if (producer)
    producer.erase();
  return true;
}

// A widening float cast (dequantising fp8 to bf16, say) of a matmul operand:
// the matmul reads the narrow tensor and converts on chip, so HBM moves the
// narrow bytes. Exact, since a widening cast loses nothing.
bool fuseWideningCastIntoMatmul(MatmulOp mm) {
  for (OpOperand *use : {&mm.getLhsMutable(), &mm.getRhsMutable()}) {
    auto cast = use->get().getDefiningOp<EwiseOp>();
    if (!cast || !isPureCast(cast))
      continue;
    auto from = llvm::dyn_cast<FloatType>(typeOf(cast.getInputs()[0]).getElementType());
    auto to = llvm::dyn_cast<FloatType>(cast.getType().getElementType());
    if (!from || !to || from.getWidth() >= to.getWidth() || !to.isBF16())
      continue;
    use->set(cast.getInputs()[0]);
    if (cast->use_empty())
      cast.erase();
    return true;
  }
  return false;
}

// Moves `ew` into the epilogue of a single-use matmul among its inputs
// (looking through a reshape of the matmul result).
bool fuseIntoMatmul(EwiseOp ew) {
  for (auto [i, in] : llvm::enumerate(ew.getInputs())) {
    Value mmValue = in;
    ReshapeOp reshape = in.getDefiningOp<ReshapeOp>();
    if (reshape) {
      if (!reshape->hasOneUse())
        continue;
      mmValue = reshape.getInput();
    }
    auto mm = mmValue.getDefiningOp<MatmulOp>();
    if (!mm || !mm->hasOneUse() || typeOf(in).getShape() != ew.getType().getShape())
      continue;
    auto mmShape = typeOf(mm.getResult()).getShape();
    OpBuilder b(ew);
    // The other inputs, broadcast to the matmul's shape.
    SmallVector<Value> extras(mm.getEpilogueInputs().begin(), mm.getEpilogueInputs().end());
    const size_t firstNew = extras.size();
    bool ok = true;
    for (size_t j = 0; j < ew.getInputs().size() && ok; ++j) {
      if (j == i)
        continue;
      Value x = ew.getInputs()[j];
      auto t = typeOf(x);
      if (isBroadcastableTo(t.getShape(), mmShape)) {
        extras.push_back(x);
      } else if (t.getShape() == ew.getType().getShape()) {
        extras.push_back(b.create<ReshapeOp>(ew.getLoc(), RankedTensorType::get(mmShape, t.getElementType()), x));
      } else if (t.getNumElements() == mmShape.back()) {
        extras.push_back(b.create<ReshapeOp>(ew.getLoc(), RankedTensorType::get({mmShape.back()}, t.getElementType()), x));
      } else {
        ok = false;
      }
    }
    if (!ok)
      continue;
    auto resultType = RankedTensorType::get(mmShape, ew.getType().getElementType());
    auto fused = b.create<MatmulOp>(mm.getLoc(), resultType, mm.getLhs(), mm.getRhs(), extras, mm.getOperandTypeAttr());
    Block *block = new Block();
    fused.getEpilogue().push_back(block);
    Location loc = ew.getLoc();
    Value acc = block->addArgument(b.getF32Type(), loc);
    SmallVector<Value> extraArgs;
    for (size_t j = 0; j < extras.size(); ++j)
      extraArgs.push_back(block->addArgument(b.getF32Type(), loc));
    OpBuilder body(fused.getContext());
    body.setInsertionPointToStart(block);
    Value accValue = acc;
    if (!mm.getEpilogue().empty()) {
      IRMapping m;
      Block &old = mm.getEpilogue().front();
      m.map(old.getArgument(0), acc);
      for (size_t j = 0; j < firstNew; ++j)
        m.map(old.getArgument(1 + j), extraArgs[j]);
      accValue = cloneBody(body, old, m);
    }
    IRMapping cmap;
    for (size_t j = 0, k = firstNew; j < ew.getInputs().size(); ++j)
      cmap.map(ew.getBody().front().getArgument(j), j == i ? accValue : extraArgs[k++]);
    body.create<YieldOp>(loc, cloneBody(body, ew.getBody().front(), cmap));
    Value result = fused.getResult();
    if (reshape)
      result = b.create<ReshapeOp>(loc, ew.getType(), result);
    ew.getResult().replaceAllUsesWith(result);
    ew.erase();
    if (reshape)
      reshape.erase();
    mm.erase();
    return true;
  }
  return false;
}

// A chain of insert_slice ops into an empty tensor whose sources tile it
// along one axis (as tosa.concat lowers) as one trn.concat, so the code
// generator can write computed parts in place and elementwise consumers can
// split over it.
bool concatFromInsertSlices(func::FuncOp func) {
  SmallVector<InsertSliceOp> ends;
  func.walk([&](InsertSliceOp ins) {
    const bool feedsAnother = llvm::any_of(ins->getUsers(), [&](Operation *u) {
      auto next = llvm::dyn_cast<InsertSliceOp>(u);
      return next && next.getDest() == ins.getResult();
    });
    if (!feedsAnother)
      ends.push_back(ins);
  });
  for (InsertSliceOp end : ends) {
    SmallVector<InsertSliceOp> chain;
    Value cur = end.getResult();
    // Links of the chain feed only the next insert; the empty tensor may be
    // shared (CSE merges equal ones): it is undefined, so nothing reads it.
    while (auto ins = cur.getDefiningOp<InsertSliceOp>()) {
      chain.push_back(ins);
      cur = ins.getDest();
      if (!cur.hasOneUse())
        break;
    }
    if (!cur.getDefiningOp<EmptyOp>() || chain.size() < 2)
      continue;
    const auto shape = typeOf(end.getResult()).getShape();
    int64_t axis = -1;
    bool ok = true;
    SmallVector<std::pair<int64_t, Value>> pieces;
    for (InsertSliceOp ins : chain) {
      const auto src = typeOf(ins.getSource()).getShape();
      for (size_t d = 0; d < shape.size() && ok; ++d) {
        if (ins.getStrides()[d] != 1)
          ok = false;
        else if (src[d] != shape[d] || ins.getOffsets()[d] != 0) {
          if (axis >= 0 && axis != static_cast<int64_t>(d))
            ok = false;
          axis = static_cast<int64_t>(d);
        }
      }
      if (!ok || axis < 0)
        break;
      pieces.push_back({ins.getOffsets()[axis], ins.getSource()});
    }
    if (!ok || axis < 0)
      continue;
    llvm::sort(pieces, [](const auto &a, const auto &b) { return a.first < b.first; });
    int64_t at = 0;
    SmallVector<Value> inputs;
    for (auto &[offset, v] : pieces) {
      if (offset != at)
        ok = false;
      at += typeOf(v).getShape()[axis];
      inputs.push_back(v);
    }
    if (!ok || at != shape[axis])
      continue;
    OpBuilder b(end);
    auto cat = b.create<ConcatOp>(end.getLoc(), end.getType(), inputs, b.getI64IntegerAttr(axis));
    end.getResult().replaceAllUsesWith(cat.getResult());
    Operation *empty = cur.getDefiningOp();
    for (InsertSliceOp ins : chain)
      ins.erase();
    if (empty->use_empty())
      empty->erase();
    return true;
  }
  return false;
}

// An elementwise op reading a concatenation (of its own shape) becomes one
// elementwise op per piece, over the pieces and the other inputs sliced to
// the piece's range, concatenated: pieces computed elementwise then fuse
// into their part, and the code generator writes the parts in place, so
// rotate-half (RoPE: x*cos + concat(-x2, x1)*sin) is two kernels, not four.
bool splitOverConcat(EwiseOp ew) {
  const auto shape = ew.getType().getShape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  for (auto [i, in] : llvm::enumerate(ew.getInputs())) {
    auto cat = in.getDefiningOp<ConcatOp>();
    if (!cat || typeOf(in).getShape() != shape)
      continue;
    const int64_t axis = static_cast<int64_t>(cat.getAxis());
    OpBuilder b(ew);
    SmallVector<Value> parts;
    int64_t at = 0;
    for (Value piece : cat.getInputs()) {
      const int64_t len = typeOf(piece).getShape()[axis];
      SmallVector<Value> inputs;
      for (Value other : ew.getInputs()) {
        if (other == in) {
          inputs.push_back(piece);
          continue;
        }
        auto ot = typeOf(other);
        const int64_t d = axis - (rank - ot.getRank()); // the axis in `other` (broadcast from the right)
        if (d < 0 || ot.getShape()[d] == 1) {
          inputs.push_back(other);
          continue;
        }
        SmallVector<int64_t> offsets(ot.getRank(), 0), strides(ot.getRank(), 1), sliced(ot.getShape());
        offsets[d] = at;
        sliced[d] = len;
        inputs.push_back(b.create<SliceOp>(ew.getLoc(), RankedTensorType::get(sliced, ot.getElementType()), other,
                                           b.getDenseI64ArrayAttr(offsets), b.getDenseI64ArrayAttr(strides)));
      }
      SmallVector<int64_t> partShape(shape);
      partShape[axis] = len;
      auto part = buildEwise(b, ew.getLoc(), RankedTensorType::get(partShape, ew.getType().getElementType()), inputs,
                             [&](OpBuilder &body, ArrayRef<BlockArgument> args) {
                               return cloneBodyOver(body, ew, args);
                             });
      parts.push_back(part.getResult());
      at += len;
    }
    auto joined = b.create<ConcatOp>(ew.getLoc(), ew.getType(), parts, b.getI64IntegerAttr(axis));
    ew.getResult().replaceAllUsesWith(joined.getResult());
    ew.erase();
    if (cat->use_empty())
      cat->erase();
    return true;
  }
  return false;
}

struct FuseElementwisePass : impl::TrnFuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    bool changed = true;
    while (changed) {
      changed = collapseReshapes(func);
      while (concatFromInsertSlices(func))
        changed = true;
      func.walk([&](MatmulOp mm) { changed |= fuseWideningCastIntoMatmul(mm); });
      SmallVector<EwiseOp> ops;
      func.walk([&](EwiseOp ew) { ops.push_back(ew); });
      for (EwiseOp ew : ops) {
        if (simplifyInputs(ew) || fuseProducer(ew) || fuseIntoMatmul(ew) || fuseCastIntoRowOp(ew) ||
            unaryThroughReshape(ew) || splitOverConcat(ew)) {
          changed = true;
          break;
        }
      }
    }
  }
};

} // namespace
} // namespace trnx::trn
