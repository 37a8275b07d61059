// Verifiers of the trn operations: the shape and type rules each kernel
// generator relies on.
#include "trnx/Dialect/Trn/TrnOps.h"

#include "mlir/IR/OpImplementation.h"

using namespace mlir;

namespace trnx::trn {

bool isBroadcastableTo(llvm::ArrayRef<int64_t> from, llvm::ArrayRef<int64_t> to) {
  if (from.size() > to.size())
    return false;
  const size_t lead = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[lead + i])
      return false;
  return true;
}

bool isActivationName(llvm::StringRef name) {
  static const char *names[] = {"identity", "relu", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh", "exp",
                                "log", "sqrt", "rsqrt", "square", "reciprocal", "erf", "abs"};
  for (const char *n : names)
    if (name == n)
      return true;
  return false;
}

static RankedTensorType tensorType(Value v) { return llvm::cast<RankedTensorType>(v.getType()); }

// Data-movement ops are views or byte copies: they never convert, so a
// result of another element type would be read with the wrong dtype.
static LogicalResult verifySameElementType(Operation *op, Value from, Value to, llvm::StringRef what) {
  Type a = tensorType(from).getElementType(), b = tensorType(to).getElementType();
  if (a != b)
    return op->emitOpError() << what << " element type " << b << " must be the input's (" << a << ")";
  return success();
}

static LogicalResult verifyScalarBody(Operation *op, Region &region, unsigned numArgs, Type yieldType) {
  if (region.empty())
    return success();
  Block &block = region.front();
  if (block.getNumArguments() != numArgs)
    return op->emitOpError("body needs ") << numArgs << " arguments, has " << block.getNumArguments();
  for (BlockArgument arg : block.getArguments())
    if (!arg.getType().isF32())
      return op->emitOpError("body arguments must be f32");
  auto yield = llvm::dyn_cast<YieldOp>(block.getTerminator());
  if (!yield)
    return op->emitOpError("body must end with trn.yield");
  if (yield.getValue().getType() != yieldType)
    return op->emitOpError("body must yield ") << yieldType;
  return success();
}

LogicalResult MatmulOp::verify() {
  auto lhs = tensorType(getLhs()), rhs = tensorType(getRhs()), res = tensorType(getResult());
  const int64_t r = res.getRank();
  if (r < 2 || lhs.getRank() != r || rhs.getRank() != r)
    return emitOpError("operands and result must have the same rank >= 2");
  if (lhs.getDimSize(r - 1) != rhs.getDimSize(r - 2))
    return emitOpError("contraction sizes differ: ") << lhs.getDimSize(r - 1) << " vs " << rhs.getDimSize(r - 2);
  if (res.getDimSize(r - 2) != lhs.getDimSize(r - 2) || res.getDimSize(r - 1) != rhs.getDimSize(r - 1))
    return emitOpError("result must be [..., M, N]");
  for (int64_t d = 0; d < r - 2; ++d) {
    if (lhs.getDimSize(d) != res.getDimSize(d) || (rhs.getDimSize(d) != res.getDimSize(d) && rhs.getDimSize(d) != 1))
      return emitOpError("batch dims must match (rhs may broadcast size 1)");
  }
  for (Value e : getEpilogueInputs())
    if (!isBroadcastableTo(tensorType(e).getShape(), res.getShape()))
      return emitOpError("epilogue input of shape ") << tensorType(e) << " does not broadcast to the result";
  if (getEpilogue().empty() && !getEpilogueInputs().empty())
    return emitOpError("epilogue inputs need an epilogue body");
  return verifyScalarBody(*this, getEpilogue(), 1 + getEpilogueInputs().size(), Float32Type::get(getContext()));
}

LogicalResult MxMatmulOp::verify() {
  auto lhs = tensorType(getLhs()), w = tensorType(getWeights()), sc = tensorType(getScales()),
       res = tensorType(getResult());
  const StringRef format = getFormat();
  if (format != "mxfp8" && format != "mxfp4")
    return emitOpError("format must be \"mxfp8\" or \"mxfp4\", got \"") << format << "\"";
  const int64_t r = lhs.getRank();
  if (r < 1 || res.getRank() != r || w.getRank() != 2 || sc.getRank() != 2)
    return emitOpError("lhs [..., K] and result [..., N] need the same rank; weights and scales are rank 2");
  const int64_t k = lhs.getDimSize(r - 1), n = res.getDimSize(r - 1);
  for (int64_t d = 0; d + 1 < r; ++d)
    if (lhs.getDimSize(d) != res.getDimSize(d))
      return emitOpError("lhs and result leading dims differ");
  if (k % 32 != 0)
    return emitOpError("K=") << k << " is not a multiple of the 32-row MX block";
  const bool fp4 = format == "mxfp4";
  const Type elem = w.getElementType();
  if (fp4 ? !elem.isInteger(8) : !llvm::isa<Float8E4M3FNType>(elem))
    return emitOpError(fp4 ? "mxfp4 weights are i8 (two e2m1 values per byte)" : "mxfp8 weights are f8E4M3FN");
  if (fp4 && n % 2 != 0)
    return emitOpError("mxfp4 needs an even N, got ") << n;
  if (w.getDimSize(0) != k || w.getDimSize(1) != (fp4 ? n / 2 : n))
    return emitOpError("weights must be [") << k << ", " << (fp4 ? n / 2 : n) << "], got " << w;
  if (!sc.getElementType().isInteger(8) || sc.getDimSize(0) != k / 32 || sc.getDimSize(1) != n)
    return emitOpError("scales must be i8 [") << k / 32 << ", " << n << "] (e8m0), got " << sc;
  if (!res.getElementType().isF32())
    return emitOpError("result must be f32");
  return success();
}

LogicalResult AttentionOp::verify() {
  auto q = tensorType(getQ()), k = tensorType(getKT()), v = tensorType(getV()), res = tensorType(getResult());
  if (q.getRank() != 3 || k.getRank() != 3 || v.getRank() != 3 || res.getRank() != 3)
    return emitOpError("q [B, G*S, Dh], kT [B, Dh, T], v [B, T, Dh] and the result must be rank 3");
  const int64_t b = q.getDimSize(0), rows = q.getDimSize(1), dh = q.getDimSize(2), t = k.getDimSize(2);
  if (k.getDimSize(0) != b || v.getDimSize(0) != b)
    return emitOpError("q, kT and v must have the same batch (KV heads) dim");
  if (k.getDimSize(1) != dh || v.getDimSize(2) != dh)
    return emitOpError("head dims differ: q ") << dh << ", kT " << k.getDimSize(1) << ", v " << v.getDimSize(2);
  if (v.getDimSize(1) != t)
    return emitOpError("kT has ") << t << " keys, v " << v.getDimSize(1);
  if (res.getShape() != q.getShape())
    return emitOpError("result must have q's shape");
  const int64_t g = getGroupAttr().getInt();
  if (g < 1 || rows % g != 0)
    return emitOpError("group ") << g << " does not divide the " << rows << " query rows";
  if (!(getScale().convertToFloat() > 0.0f))
    return emitOpError("scale must be positive");
  if (getQueryOffsetAttr().getInt() < 0)
    return emitOpError("query_offset must be >= 0");
  for (RankedTensorType tt : {q, k, v, res})
    if (!tt.getElementType().isF32() && !tt.getElementType().isBF16())
      return emitOpError("operands and result must be f32 or bf16");
  return success();
}

LogicalResult EwiseOp::verify() {
  auto res = tensorType(getResult());
  for (Value in : getInputs())
    if (!isBroadcastableTo(tensorType(in).getShape(), res.getShape()))
      return emitOpError("input of type ") << tensorType(in) << " does not broadcast to " << res;
  if (getBody().empty())
    return emitOpError("needs a body");
  Block &block = getBody().front();
  if (block.getNumArguments() != getInputs().size())
    return emitOpError("body needs one argument per input");
  for (BlockArgument arg : block.getArguments())
    if (!arg.getType().isF32())
      return emitOpError("body arguments must be f32");
  auto yield = llvm::dyn_cast<YieldOp>(block.getTerminator());
  if (!yield)
    return emitOpError("body must end with trn.yield");
  Type y = yield.getValue().getType();
  if (!y.isF32() && !y.isInteger(1))
    return emitOpError("body must yield f32 or i1");
  return success();
}

LogicalResult ActOp::verify() {
  if (!isActivationName(getFunc()))
    return emitOpError("unknown activation function '") << getFunc() << "'";
  return success();
}

LogicalResult ReduceOp::verify() {
  if (getKind() != "sum" && getKind() != "max" && getKind() != "min")
    return emitOpError("kind must be sum, max or min");
  auto in = tensorType(getInput()), res = tensorType(getResult());
  llvm::SmallVector<bool> reduced(in.getRank(), false);
  for (int64_t a : getAxes()) {
    if (a < 0 || a >= in.getRank() || reduced[a])
      return emitOpError("invalid or repeated axis ") << a;
    reduced[a] = true;
  }
  llvm::SmallVector<int64_t> expect;
  for (int64_t d = 0; d < in.getRank(); ++d) {
    if (!reduced[d])
      expect.push_back(in.getDimSize(d));
    else if (getKeepDims())
      expect.push_back(1);
  }
  if (res.getShape() != llvm::ArrayRef<int64_t>(expect))
    return emitOpError("result shape does not match the reduction");
  return success();
}

LogicalResult SoftmaxOp::verify() {
  if (tensorType(getInput()).getShape() != tensorType(getResult()).getShape())
    return emitOpError("result shape must equal the input shape");
  return success();
}

static LogicalResult verifyNorm(Operation *op, Value input, Value result, llvm::ArrayRef<Value> params) {
  auto in = tensorType(input);
  if (in.getRank() < 1 || in.getShape() != tensorType(result).getShape())
    return op->emitOpError("result shape must equal the input shape");
  for (Value p : params)
    if (p && tensorType(p).getNumElements() != in.getDimSize(in.getRank() - 1))
      return op->emitOpError("scale and shift must have the size of the last axis");
  return success();
}

LogicalResult LayerNormOp::verify() {
  return verifyNorm(*this, getInput(), getResult(), {getGamma(), getBeta()});
}

LogicalResult RmsNormOp::verify() { return verifyNorm(*this, getInput(), getResult(), {getGamma()}); }

LogicalResult TransposeOp::verify() {
  auto in = tensorType(getInput()), res = tensorType(getResult());
  if (failed(verifySameElementType(*this, getInput(), getResult(), "result")))
    return failure();
  auto perm = getPermutation();
  if (static_cast<int64_t>(perm.size()) != in.getRank() || res.getRank() != in.getRank())
    return emitOpError("permutation must list every dimension");
  llvm::SmallVector<bool> seen(perm.size(), false);
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] < 0 || perm[i] >= in.getRank() || seen[perm[i]])
      return emitOpError("invalid permutation");
    seen[perm[i]] = true;
    if (res.getDimSize(i) != in.getDimSize(perm[i]))
      return emitOpError("result dim ") << i << " must be input dim " << perm[i];
  }
  return success();
}

LogicalResult ReshapeOp::verify() {
  if (tensorType(getInput()).getNumElements() != tensorType(getResult()).getNumElements())
    return emitOpError("reshape must keep the element count");
  return verifySameElementType(*this, getInput(), getResult(), "result");
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getResult().getType())
    return getInput();
  // reshape(reshape(x)) is one reshape of x.
  if (auto inner = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(inner.getInput());
    return getResult();
  }
  return {};
}

LogicalResult SliceOp::verify() {
  auto in = tensorType(getInput()), res = tensorType(getResult());
  if (failed(verifySameElementType(*this, getInput(), getResult(), "result")))
    return failure();
  if (static_cast<int64_t>(getOffsets().size()) != in.getRank() ||
      static_cast<int64_t>(getStrides().size()) != in.getRank() || res.getRank() != in.getRank())
    return emitOpError("offsets and strides must cover every dimension");
  for (int64_t d = 0; d < in.getRank(); ++d) {
    int64_t off = getOffsets()[d], st = getStrides()[d], n = res.getDimSize(d);
    if (off < 0 || st < 1 || (n > 0 && off + (n - 1) * st >= in.getDimSize(d)))
      return emitOpError("slice of dim ") << d << " is out of bounds";
  }
  return success();
}

LogicalResult ConcatOp::verify() {
  auto res = tensorType(getResult());
  int64_t axis = getAxis(), total = 0;
  if (axis < 0 || axis >= res.getRank())
    return emitOpError("axis out of range");
  for (Value v : getInputs()) {
    auto t = tensorType(v);
    if (t.getRank() != res.getRank())
      return emitOpError("inputs must have the result's rank");
    if (t.getElementType() != res.getElementType())
      return emitOpError("inputs must have the result's element type ") << res.getElementType();
    for (int64_t d = 0; d < res.getRank(); ++d)
      if (d != axis && t.getDimSize(d) != res.getDimSize(d))
        return emitOpError("inputs differ outside the concatenation axis");
    total += t.getDimSize(axis);
  }
  if (total != res.getDimSize(axis))
    return emitOpError("result size along the axis must be the sum of the inputs'");
  return success();
}

LogicalResult InsertSliceOp::verify() {
  auto src = tensorType(getSource()), dst = tensorType(getDest()), res = tensorType(getResult());
  if (dst != res)
    return emitOpError("result type must equal the dest type");
  if (failed(verifySameElementType(*this, getSource(), getDest(), "dest")))
    return failure();
  if (src.getRank() != dst.getRank() || static_cast<int64_t>(getOffsets().size()) != dst.getRank() ||
      static_cast<int64_t>(getStrides().size()) != dst.getRank())
    return emitOpError("source, offsets and strides must have the dest's rank");
  for (int64_t d = 0; d < dst.getRank(); ++d) {
    int64_t off = getOffsets()[d], st = getStrides()[d], n = src.getDimSize(d);
    if (off < 0 || st < 1 || (n > 0 && off + (n - 1) * st >= dst.getDimSize(d)))
      return emitOpError("slice of dim ") << d << " is out of bounds";
  }
  return success();
}

LogicalResult PadOp::verify() {
  auto in = tensorType(getInput()), res = tensorType(getResult());
  if (static_cast<int64_t>(getLow().size()) != in.getRank() || static_cast<int64_t>(getHigh().size()) != in.getRank())
    return emitOpError("low and high must cover every dimension");
  if (failed(verifySameElementType(*this, getInput(), getResult(), "result")))
    return failure();
  for (int64_t d = 0; d < in.getRank(); ++d) {
    if (getLow()[d] < 0 || getHigh()[d] < 0)
      return emitOpError("negative padding is not supported");
    if (res.getDimSize(d) != in.getDimSize(d) + getLow()[d] + getHigh()[d])
      return emitOpError("result dim ") << d << " must be input + low + high";
  }
  return success();
}

LogicalResult GatherOp::verify() {
  auto table = tensorType(getTable()), idx = tensorType(getIndices()), res = tensorType(getResult());
  if (table.getRank() != 2)
    return emitOpError("table must be 2-D");
  if (!idx.getElementType().isInteger(32) && !idx.getElementType().isInteger(64))
    return emitOpError("indices must be i32 or i64");
  if (failed(verifySameElementType(*this, getTable(), getResult(), "result")))
    return failure();
  llvm::SmallVector<int64_t> expect(idx.getShape());
  expect.push_back(table.getDimSize(1));
  if (res.getShape() != llvm::ArrayRef<int64_t>(expect))
    return emitOpError("result must be indices shape + [row size]");
  return success();
}

} // namespace trnx::trn

#define GET_OP_CLASSES
#include "trnx/Dialect/Trn/TrnOps.cpp.inc"
