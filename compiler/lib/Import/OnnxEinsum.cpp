// ONNX Einsum: the equation is parsed into one label per operand axis
// (ellipsis axes get labels of their own, right-aligned across operands),
// then lowered with the importer's building blocks: diagonals as a mask and
// a sum, labels only one operand uses and nothing needs as trn.reduce sums,
// each pair of operands as one batched trn.matmul between transposes and
// reshapes (or a broadcast multiply when nothing is contracted), and the
// result transposed into the output's order.
#include "OnnxContext.h"

#include <algorithm>
#include <numeric>
#include <set>

using namespace mlir;

namespace trnx::onnximport {
namespace {

// A label: 0-51 for a-z/A-Z, 100 + i for the i-th ellipsis axis.
using Label = int;
constexpr Label kEllipsis = 100;

struct Operand {
  Tensor t;
  std::vector<Label> labels; // one per axis of t
};

class Equation {
public:
  Equation(Context &c, std::string text) : c(c), original(std::move(text)) {}

  [[noreturn]] void fail(const std::string &why) const { c.fail("Einsum equation '" + original + "': " + why); }

  // Splits "a,b->c" (spaces removed) into operand terms and the output term.
  void parse(size_t operands) {
    std::string eq;
    for (char ch : original)
      if (ch != ' ')
        eq += ch;
    const size_t arrow = eq.find("->");
    explicitOutput = arrow != std::string::npos;
    std::string lhs = eq.substr(0, arrow);
    if (explicitOutput)
      output = eq.substr(arrow + 2);
    size_t start = 0;
    while (true) {
      const size_t comma = lhs.find(',', start);
      terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos)
        break;
      start = comma + 1;
    }
    if (terms.size() != operands)
      fail("it has " + std::to_string(terms.size()) + " operand terms for " + std::to_string(operands) + " inputs");
  }

  // The labels of operand i's axes (rank r); records the ellipsis length.
  std::vector<Label> labelsOf(size_t i, int64_t rank) {
    std::vector<Label> explicitLabels;
    bool ellipsis = false;
    size_t before = 0;
    const std::string &term = terms[i];
    for (size_t p = 0; p < term.size(); ++p) {
      if (term.compare(p, 3, "...") == 0) {
        if (ellipsis)
          fail("operand " + std::to_string(i) + " has two ellipses");
        ellipsis = true;
        before = explicitLabels.size();
        p += 2;
        continue;
      }
      explicitLabels.push_back(letter(term[p]));
    }
    const int64_t e = rank - static_cast<int64_t>(explicitLabels.size());
    if (e < 0 || (!ellipsis && e != 0))
      fail("operand " + std::to_string(i) + " has rank " + std::to_string(rank) + " but the term '" + term + "' names " +
           std::to_string(explicitLabels.size()) + " axes");
    ellipsisRank = std::max(ellipsisRank, e);
    std::vector<Label> labels(explicitLabels.begin(), explicitLabels.begin() + static_cast<std::ptrdiff_t>(before));
    operandEllipsis.push_back(e);
    for (int64_t k = 0; k < e; ++k)
      labels.push_back(kEllipsis + static_cast<Label>(k)); // renumbered right-aligned below
    labels.insert(labels.end(), explicitLabels.begin() + static_cast<std::ptrdiff_t>(before), explicitLabels.end());
    return labels;
  }

  // Right-aligns ellipsis labels: axis k of an e-axis ellipsis is E - e + k.
  void alignEllipsis(std::vector<Label> &labels, size_t i) const {
    for (Label &l : labels)
      if (l >= kEllipsis)
        l += static_cast<Label>(ellipsisRank - operandEllipsis[i]);
  }

  // The output labels: explicit, or (implicit) the ellipsis then the letters
  // used once, in alphabetical order.
  std::vector<Label> outputLabels(const std::vector<Operand> &ops) {
    std::vector<Label> out;
    if (!explicitOutput) {
      for (int64_t k = 0; k < ellipsisRank; ++k)
        out.push_back(kEllipsis + static_cast<Label>(k));
      std::map<Label, int> uses;
      for (const Operand &o : ops)
        for (Label l : o.labels)
          if (l < kEllipsis)
            ++uses[l];
      for (auto [l, n] : uses)
        if (n == 1)
          out.push_back(l);
      return out;
    }
    bool ellipsis = false;
    for (size_t p = 0; p < output.size(); ++p) {
      if (output.compare(p, 3, "...") == 0) {
        if (ellipsis)
          fail("the output has two ellipses");
        ellipsis = true;
        for (int64_t k = 0; k < ellipsisRank; ++k)
          out.push_back(kEllipsis + static_cast<Label>(k));
        p += 2;
        continue;
      }
      const Label l = letter(output[p]);
      if (std::find(out.begin(), out.end(), l) != out.end())
        fail("label '" + std::string(1, output[p]) + "' repeats in the output");
      bool found = false;
      for (const Operand &o : ops)
        found = found || std::find(o.labels.begin(), o.labels.end(), l) != o.labels.end();
      if (!found)
        fail("output label '" + std::string(1, output[p]) + "' is in no operand");
      out.push_back(l);
    }
    if (!ellipsis && ellipsisRank > 0)
      fail("the operands have an ellipsis the output drops (summing over broadcast axes is not supported)");
    return out;
  }

private:
  Label letter(char ch) const {
    if (ch >= 'a' && ch <= 'z')
      return ch - 'a';
    if (ch >= 'A' && ch <= 'Z')
      return 26 + (ch - 'A');
    fail("'" + std::string(1, ch) + "' is not a label (letters and '...' only)");
  }

  Context &c;
  std::string original, output;
  bool explicitOutput = false;
  std::vector<std::string> terms;
  std::vector<int64_t> operandEllipsis;

public:
  int64_t ellipsisRank = 0;
};

int64_t product(const std::vector<int64_t> &v) {
  return std::accumulate(v.begin(), v.end(), int64_t(1), std::multiplies<int64_t>());
}

bool has(const std::vector<Label> &v, Label l) { return std::find(v.begin(), v.end(), l) != v.end(); }

// A label repeated within one operand takes the diagonal: the axes' product
// with an identity mask, summed over the second of them.
void takeDiagonals(Context &c, Operand &o) {
  for (size_t i = 0; i < o.labels.size(); ++i)
    for (size_t j = i + 1; j < o.labels.size(); ++j) {
      if (o.labels[i] != o.labels[j])
        continue;
      const int64_t n = o.t.shape[i];
      std::vector<double> eye(static_cast<size_t>(n * n), 0.0);
      for (int64_t k = 0; k < n; ++k)
        eye[static_cast<size_t>(k * n + k)] = 1.0;
      std::vector<int64_t> mshape(o.t.rank() - i, 1);
      mshape[0] = n;
      mshape[j - i] = n;
      Tensor mask = c.constantTensor(eye, mshape, c.f32Type());
      Tensor masked = c.ewise({&o.t, &mask}, o.t.element, [](OpBuilder &b, Location l, ArrayRef<Value> v) -> Value {
        return b.create<arith::MulFOp>(l, v[0], v[1]);
      });
      o.t = c.reduce(masked, "sum", {static_cast<int64_t>(j)}, false);
      o.labels.erase(o.labels.begin() + static_cast<std::ptrdiff_t>(j));
      --j;
    }
}

// Sums the axes whose labels are not in `keep`.
void sumOut(Context &c, Operand &o, const std::set<Label> &keep) {
  std::vector<int64_t> axes;
  std::vector<Label> rest;
  for (size_t d = 0; d < o.labels.size(); ++d) {
    if (keep.count(o.labels[d]))
      rest.push_back(o.labels[d]);
    else
      axes.push_back(static_cast<int64_t>(d));
  }
  if (axes.empty())
    return;
  o.t = c.reduce(o.t, "sum", axes, false);
  o.labels = rest;
}

// o's axes in the order of `labels` (each of o's labels once).
Tensor permuted(Context &c, Operand &o, const std::vector<Label> &labels) {
  std::vector<int64_t> perm;
  for (Label l : labels)
    perm.push_back(std::find(o.labels.begin(), o.labels.end(), l) - o.labels.begin());
  return c.transpose(o.t, perm);
}

// The contraction of two operands over the labels `keep` does not hold:
// [batch, a-only, b-only] from a trn.matmul of [B, M, K] by [B, K, N].
Operand contract(Context &c, Operand &a, Operand &b, const std::set<Label> &keep,
                 const std::map<Label, int64_t> &sizes) {
  std::vector<Label> batch, aOnly, bOnly, summed;
  for (Label l : a.labels) {
    if (has(b.labels, l))
      (keep.count(l) ? batch : summed).push_back(l);
    else
      aOnly.push_back(l);
  }
  for (Label l : b.labels)
    if (!has(a.labels, l))
      bOnly.push_back(l);
  auto dims = [&](const std::vector<Label> &ls) {
    std::vector<int64_t> d;
    for (Label l : ls)
      d.push_back(sizes.at(l));
    return d;
  };
  // A size-1 (ellipsis) axis of one operand broadcast against the other's.
  for (Operand *o : {&a, &b}) {
    std::vector<int64_t> full;
    for (Label l : o->labels)
      full.push_back(sizes.at(l));
    if (full != o->t.shape)
      o->t = c.broadcastTo(o->t, full);
  }
  std::vector<Label> resultLabels = batch;
  resultLabels.insert(resultLabels.end(), aOnly.begin(), aOnly.end());
  resultLabels.insert(resultLabels.end(), bOnly.begin(), bOnly.end());
  std::vector<int64_t> resultShape = dims(resultLabels);
  const int64_t B = product(dims(batch)), M = product(dims(aOnly)), N = product(dims(bOnly)),
                K = product(dims(summed));
  std::vector<Label> aOrder = batch, bOrder = batch;
  aOrder.insert(aOrder.end(), aOnly.begin(), aOnly.end());
  Operand out;
  out.labels = resultLabels;
  if (summed.empty()) { // an outer product per batch: a broadcast multiply
    Tensor ta = permuted(c, a, aOrder);
    bOrder.insert(bOrder.end(), bOnly.begin(), bOnly.end());
    Tensor tb = permuted(c, b, bOrder);
    Tensor a3 = c.reshape(ta, {B, M, 1}), b3 = c.reshape(tb, {B, 1, N});
    Tensor prod = c.ewise({&a3, &b3}, a.t.element, [](OpBuilder &bb, Location l, ArrayRef<Value> v) -> Value {
      return bb.create<arith::MulFOp>(l, v[0], v[1]);
    });
    out.t = c.reshape(prod, resultShape);
    return out;
  }
  aOrder.insert(aOrder.end(), summed.begin(), summed.end());
  bOrder.insert(bOrder.end(), summed.begin(), summed.end());
  bOrder.insert(bOrder.end(), bOnly.begin(), bOnly.end());
  Tensor ta = permuted(c, a, aOrder), tb = permuted(c, b, bOrder);
  Tensor a3 = c.reshape(ta, {B, M, K}), b3 = c.reshape(tb, {B, K, N});
  Tensor mm = c.matmul(a3, b3);
  out.t = c.reshape(mm, resultShape);
  return out;
}

} // namespace

void einsum(Context &c) {
  const onnx::AttributeProto *eqAttr = c.attr("equation");
  if (!eqAttr)
    c.fail("the equation attribute is missing");
  const int n = c.node->input_size();
  if (n < 1)
    c.fail("Einsum needs at least one input");
  Equation eq(c, eqAttr->s());
  eq.parse(static_cast<size_t>(n));
  std::vector<Operand> ops(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    ops[i].t = c.input(i);
    ops[i].labels = eq.labelsOf(static_cast<size_t>(i), ops[i].t.rank());
  }
  for (int i = 0; i < n; ++i)
    eq.alignEllipsis(ops[i].labels, static_cast<size_t>(i));
  for (int i = 1; i < n; ++i)
    if (ops[i].t.element != ops[0].t.element)
      c.fail("Einsum inputs differ in element type");
  const std::vector<Label> outLabels = eq.outputLabels(ops);
  // Every label's size (1 broadcasts against another size for ellipsis axes).
  std::map<Label, int64_t> sizes;
  for (const Operand &o : ops)
    for (size_t d = 0; d < o.labels.size(); ++d) {
      const Label l = o.labels[d];
      const int64_t s = o.t.shape[d];
      auto it = sizes.find(l);
      if (it == sizes.end() || it->second == 1)
        sizes[l] = s;
      else if (s != it->second && !(s == 1 && l >= kEllipsis))
        eq.fail("an axis has size " + std::to_string(s) + " where another of its label has " +
                std::to_string(it->second));
    }
  for (const Operand &o : ops)
    for (size_t d = 0; d < o.labels.size(); ++d)
      if (o.t.shape[d] != sizes[o.labels[d]] && o.labels[d] < kEllipsis)
        eq.fail("an axis has size " + std::to_string(o.t.shape[d]) + " where another of its label has " +
                std::to_string(sizes[o.labels[d]]));
  for (Operand &o : ops)
    takeDiagonals(c, o);
  // Contract left to right; before each step, sum the labels that neither the
  // output nor any other remaining operand uses.
  auto keepFor = [&](size_t except, size_t from) {
    std::set<Label> keep(outLabels.begin(), outLabels.end());
    for (size_t j = from; j < ops.size(); ++j)
      if (j != except)
        keep.insert(ops[j].labels.begin(), ops[j].labels.end());
    return keep;
  };
  Operand acc = ops[0];
  sumOut(c, acc, keepFor(0, 0));
  for (size_t i = 1; i < ops.size(); ++i) {
    std::set<Label> keepB = keepFor(i, i + 1);
    keepB.insert(acc.labels.begin(), acc.labels.end());
    sumOut(c, ops[i], keepB);
    const std::set<Label> keep = keepFor(ops.size(), i + 1); // the output and later operands
    acc = contract(c, acc, ops[i], keep, sizes);
    // Labels of the result nothing later needs (a-only or b-only ones) are summed next.
    sumOut(c, acc, keep);
  }
  // A size-1 ellipsis axis of a single operand broadcast to the output.
  std::vector<int64_t> full;
  for (Label l : acc.labels)
    full.push_back(sizes.at(l));
  if (full != acc.t.shape)
    acc.t = c.broadcastTo(acc.t, full);
  Tensor y = permuted(c, acc, outLabels);
  c.setOutput(0, y);
}

} // namespace trnx::onnximport
