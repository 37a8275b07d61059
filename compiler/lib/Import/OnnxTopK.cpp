// ONNX TopK (MoE routing): k rounds on the vector engines, each a trn.reduce
// max (min for largest=0) along the axis, the first index holding it (a
// reduce-min over an index tensor, so ties go to the lowest index as in
// ONNX), and an elementwise mask-out of that position. The k values and
// indices are concatenated along the axis, already sorted.
#include "OnnxContext.h"

#include <limits>
#include <numeric>

using namespace mlir;

namespace trnx::onnximport {

namespace {
// Each round is four vector passes over the input: enough for routing (k of
// 1-8) and small selections, not for sorting a long axis.
constexpr int64_t kMaxTopK = 256;
} // namespace

void topK(Context &c) {
  Tensor &x = c.input(0);
  if (x.rank() == 0)
    c.fail("TopK of a scalar");
  int64_t k = 0;
  if (c.version < 10) {
    k = c.attrInt("k", -1);
  } else {
    std::vector<int64_t> kv = c.constantInts(1);
    if (kv.size() != 1)
      c.fail("K must hold one value");
    k = kv[0];
  }
  const int64_t axis = normalizeAxis(c.attrInt("axis", -1), x.rank(), c);
  const bool largest = c.version < 11 || c.attrInt("largest", 1) != 0;
  // sorted=0 leaves the order open; the rounds produce sorted outputs either way.
  const int64_t n = x.shape[axis];
  if (k < 0 || k > n)
    c.fail("k = " + std::to_string(k) + " is not in [0, " + std::to_string(n) + "] (the axis' length)");
  if (k > kMaxTopK)
    c.fail("k = " + std::to_string(k) + " is not supported (at most " + std::to_string(kMaxTopK) +
           ": each of the k elements is one max-and-mask round)");
  std::vector<int64_t> outShape = x.shape;
  outShape[axis] = k;
  if (k == 0 || x.count() == 0) {
    c.setOutput(0, c.constantTensor({}, outShape, x.element));
    c.setOutput(1, c.constantTensor({}, outShape, c.builder.getI64Type()));
    return;
  }
  using P = arith::CmpFPredicate;
  const double none = static_cast<double>(n); // the index of a taken (or non-matching) position
  const double fill = largest ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  // The positions along the axis, broadcast over the trailing axes.
  std::vector<double> iotaValues(static_cast<size_t>(n));
  std::iota(iotaValues.begin(), iotaValues.end(), 0.0);
  std::vector<int64_t> iotaShape(static_cast<size_t>(x.rank() - axis), 1);
  iotaShape[0] = n;
  // `positions` holds each element's index along the axis, or n once taken;
  // `rest` holds the values, `fill` once taken.
  Tensor positions = c.constantTensor(iotaValues, iotaShape, c.f32Type());
  // Integers are compared in f32 (as every trn.ewise computes) so that
  // taken positions can hold an infinity.
  Tensor rest = llvm::isa<IntegerType>(x.element) ? c.convert(x, c.f32Type()) : x;
  std::vector<Tensor> values, indices;
  for (int64_t round = 0; round < k; ++round) {
    Tensor best = c.reduce(rest, largest ? "max" : "min", {axis}, true);
    Tensor candidates = c.ewise({&rest, &best, &positions}, c.f32Type(), [&](OpBuilder &b, Location l, ArrayRef<Value> v) -> Value {
      return b.create<arith::SelectOp>(l, b.create<arith::CmpFOp>(l, P::OEQ, v[0], v[1]), v[2], c.f32(b, none));
    });
    Tensor index = c.reduce(candidates, "min", {axis}, true);
    values.push_back(best);
    indices.push_back(index);
    if (round + 1 == k)
      break;
    rest = c.ewise({&rest, &positions, &index}, rest.element, [&](OpBuilder &b, Location l, ArrayRef<Value> v) -> Value {
      return b.create<arith::SelectOp>(l, b.create<arith::CmpFOp>(l, P::OEQ, v[1], v[2]), c.f32(b, fill), v[0]);
    });
    positions = c.ewise({&positions, &index}, c.f32Type(), [&](OpBuilder &b, Location l, ArrayRef<Value> v) -> Value {
      return b.create<arith::SelectOp>(l, b.create<arith::CmpFOp>(l, P::OEQ, v[0], v[1]), c.f32(b, none), v[0]);
    });
  }
  auto joined = [&](std::vector<Tensor> &parts) {
    std::vector<Tensor *> ptrs;
    for (Tensor &t : parts)
      ptrs.push_back(&t);
    return c.concat(ptrs, axis);
  };
  Tensor v = joined(values);
  c.setOutput(0, c.convert(v, x.element));
  Tensor idx = joined(indices);
  c.setOutput(1, c.convert(idx, c.builder.getI64Type()));
}

} // namespace trnx::onnximport
