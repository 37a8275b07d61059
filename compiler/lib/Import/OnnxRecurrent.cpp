// ONNX RNN, GRU and LSTM unrolled over the (static) sequence: per direction,
// the input projection of every time step is one trn.matmul of X by W^T
// (biases added once), and each step is a trn.matmul of the previous hidden
// state by R^T, slices of the gates and trn.ewise bodies for the gate
// equations. sequence_lens masks the steps past each batch entry's length
// (the state is held, Y is zero), which also gives the reverse direction its
// per-entry start.
#include "OnnxContext.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <algorithm>
#include <cctype>

using namespace mlir;

namespace trnx::onnximport {
namespace {

using Args = ArrayRef<Value>;
using P = arith::CmpFPredicate;

enum class Cell { RNN, GRU, LSTM };

// One activation function of the attribute list with its alpha and beta.
struct Activation {
  std::string name; // lower case
  float alpha = 0, beta = 0;
};

std::string lower(std::string s) {
  for (char &ch : s)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// The activations of every direction: the attribute's (alpha and beta
// consumed in order by the functions that take them, as onnxruntime does) or
// the cell's defaults.
std::vector<Activation> activations(Context &c, Cell cell, int directions) {
  const std::vector<std::string> defaults = cell == Cell::RNN   ? std::vector<std::string>{"tanh"}
                                            : cell == Cell::GRU ? std::vector<std::string>{"sigmoid", "tanh"}
                                                                : std::vector<std::string>{"sigmoid", "tanh", "tanh"};
  const size_t perDirection = defaults.size();
  std::vector<std::string> names;
  if (const onnx::AttributeProto *a = c.attr("activations"))
    for (const auto &s : a->strings())
      names.push_back(lower(s));
  if (names.empty())
    for (int d = 0; d < directions; ++d)
      names.insert(names.end(), defaults.begin(), defaults.end());
  if (names.size() == perDirection && directions == 2) // one list for both directions
    names.insert(names.end(), names.begin(), names.end());
  if (names.size() != perDirection * static_cast<size_t>(directions))
    c.fail("activations lists " + std::to_string(names.size()) + " functions; the cell needs " +
           std::to_string(perDirection * directions));
  std::vector<float> alphas, betas;
  if (const onnx::AttributeProto *a = c.attr("activation_alpha"))
    alphas.assign(a->floats().begin(), a->floats().end());
  if (const onnx::AttributeProto *a = c.attr("activation_beta"))
    betas.assign(a->floats().begin(), a->floats().end());
  size_t nextAlpha = 0, nextBeta = 0;
  std::vector<Activation> out;
  for (const std::string &n : names) {
    Activation act{n};
    float alphaDefault = 0, betaDefault = 0;
    bool usesAlpha = true, usesBeta = false;
    if (n == "leakyrelu") alphaDefault = 0.01f;
    else if (n == "thresholdedrelu" || n == "elu") alphaDefault = 1.0f;
    else if (n == "scaledtanh") alphaDefault = 1.0f, betaDefault = 1.0f, usesBeta = true;
    else if (n == "hardsigmoid") alphaDefault = 0.2f, betaDefault = 0.5f, usesBeta = true;
    else if (n == "affine") alphaDefault = 1.0f, betaDefault = 0.0f, usesBeta = true;
    else if (n == "sigmoid" || n == "tanh" || n == "relu" || n == "softsign" || n == "softplus") usesAlpha = false;
    else c.fail("activation '" + n + "' is not supported");
    act.alpha = usesAlpha && nextAlpha < alphas.size() ? alphas[nextAlpha++] : alphaDefault;
    act.beta = usesBeta && nextBeta < betas.size() ? betas[nextBeta++] : betaDefault;
    out.push_back(act);
  }
  return out;
}

// The activation applied to x (clipped to [-clip, clip] first when clip > 0).
Value apply(OpBuilder &b, Location l, const Activation &a, float clip, Value x) {
  auto k = [&](double v) -> Value { return b.create<arith::ConstantOp>(l, b.getF32FloatAttr(static_cast<float>(v))); };
  if (clip > 0)
    x = b.create<arith::MinimumFOp>(l, b.create<arith::MaximumFOp>(l, x, k(-clip)), k(clip));
  auto act = [&](const char *f) -> Value {
    return b.create<trn::ActOp>(l, b.getF32Type(), x, b.getStringAttr(f), b.getF32FloatAttr(1.0f),
                                b.getF32FloatAttr(0.0f));
  };
  auto mul = [&](Value p, Value q) -> Value { return b.create<arith::MulFOp>(l, p, q); };
  auto add = [&](Value p, Value q) -> Value { return b.create<arith::AddFOp>(l, p, q); };
  auto gt = [&](Value p, Value q) -> Value { return b.create<arith::CmpFOp>(l, P::OGT, p, q); };
  const std::string &n = a.name;
  if (n == "sigmoid") return act("sigmoid");
  if (n == "relu") return act("relu");
  if (n == "tanh") return b.create<math::TanhOp>(l, x);
  if (n == "softsign") return b.create<arith::DivFOp>(l, x, add(b.create<math::AbsFOp>(l, x), k(1.0)));
  if (n == "softplus") return b.create<math::LogOp>(l, add(b.create<math::ExpOp>(l, x), k(1.0)));
  if (n == "leakyrelu") return b.create<arith::SelectOp>(l, gt(x, k(0.0)), x, mul(x, k(a.alpha)));
  if (n == "thresholdedrelu") return b.create<arith::SelectOp>(l, gt(x, k(a.alpha)), x, k(0.0));
  if (n == "elu")
    return b.create<arith::SelectOp>(l, gt(x, k(0.0)), x, mul(k(a.alpha), add(b.create<math::ExpOp>(l, x), k(-1.0))));
  if (n == "scaledtanh") return mul(k(a.alpha), b.create<math::TanhOp>(l, mul(x, k(a.beta))));
  if (n == "hardsigmoid")
    return b.create<arith::MinimumFOp>(l, b.create<arith::MaximumFOp>(l, add(mul(x, k(a.alpha)), k(a.beta)), k(0.0)),
                                       k(1.0));
  return add(mul(x, k(a.alpha)), k(a.beta)); // affine
}

Value addAll(OpBuilder &b, Location l, std::initializer_list<Value> vs) {
  Value acc;
  for (Value v : vs)
    acc = acc ? b.create<arith::AddFOp>(l, acc, v).getResult() : v;
  return acc;
}

class Unroller {
public:
  Unroller(Context &c, Cell cell) : c(c), cell(cell) {}

  void run() {
    gates = cell == Cell::RNN ? 1 : cell == Cell::GRU ? 3 : 4;
    Tensor x = c.input(0), w = c.input(1), r = c.input(2);
    layout = c.version >= 14 ? c.attrInt("layout", 0) : 0;
    if (layout != 0 && layout != 1)
      c.fail("layout " + std::to_string(layout) + " is not valid (0 or 1)");
    if (x.rank() != 3 || w.rank() != 3 || r.rank() != 3)
      c.fail("X, W and R must be 3-D");
    if (layout == 1)
      x = c.transpose(x, {1, 0, 2}); // [seq, batch, input]
    seq = x.shape[0];
    batch = x.shape[1];
    const int64_t inputSize = x.shape[2];
    const std::string direction = c.attrString("direction", "forward");
    if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
      c.fail("direction '" + direction + "' is not valid");
    directions = direction == "bidirectional" ? 2 : 1;
    hidden = c.attrInt("hidden_size", r.shape[2]);
    const int64_t gh = gates * hidden;
    if (w.shape != std::vector<int64_t>{directions, gh, inputSize} ||
        r.shape != std::vector<int64_t>{directions, gh, hidden})
      c.fail("W and R must be [" + std::to_string(directions) + ", " + std::to_string(gh) + ", " +
             std::to_string(inputSize) + "] and [" + std::to_string(directions) + ", " + std::to_string(gh) + ", " +
             std::to_string(hidden) + "] for " + std::to_string(directions) + " direction(s) and hidden_size " +
             std::to_string(hidden));
    if (seq == 0 || batch == 0 || hidden == 0)
      c.fail("empty sequences, batches or hidden states are not supported");
    clip = c.attr("clip") ? c.attrFloat("clip", 0.0f) : 0.0f;
    linearBeforeReset = cell == Cell::GRU && c.attrInt("linear_before_reset", 0) != 0;
    if (cell == Cell::LSTM && c.attrInt("input_forget", 0) != 0)
      c.fail("input_forget=1 (coupled input and forget gates) is not supported");
    acts = activations(c, cell, static_cast<int>(directions));
    element = x.element;
    if (!llvm::isa<FloatType>(element))
      c.fail("X must hold floating-point numbers");
    sequenceLengths();
    Tensor x2 = c.reshape(x, {seq * batch, inputSize});
    std::vector<Tensor> ys, hs, cs;
    for (int64_t d = 0; d < directions; ++d) {
      const bool reverse = direction == "reverse" || d == 1;
      Direction out = unroll(x2, w, r, d, reverse);
      ys.push_back(out.y);
      hs.push_back(out.h);
      cs.push_back(out.c);
    }
    auto join = [&](std::vector<Tensor> &parts, int64_t axis) {
      std::vector<Tensor *> ptrs;
      for (Tensor &t : parts)
        ptrs.push_back(&t);
      return c.concat(ptrs, axis);
    };
    if (c.hasOutput(0)) {
      Tensor y = join(ys, 1); // [seq, dirs, batch, hidden]
      c.setOutput(0, layout == 1 ? c.transpose(y, {2, 0, 1, 3}) : y);
    }
    for (int o : {1, 2}) {
      if (!c.hasOutput(o) || (o == 2 && cell != Cell::LSTM))
        continue;
      Tensor s = join(o == 1 ? hs : cs, 0); // [dirs, batch, hidden]
      c.setOutput(o, layout == 1 ? c.transpose(s, {1, 0, 2}) : s);
    }
  }

private:
  struct Direction {
    Tensor y, h, c;
  };

  // sequence_lens as [batch, 1] f32, unless absent or every entry is seq.
  void sequenceLengths() {
    if (!c.hasInput(4))
      return;
    Tensor lens = c.input(4);
    if (lens.count() != batch)
      c.fail("sequence_lens must have one entry per batch entry");
    if (lens.constant) {
      bool full = true;
      for (double v : *lens.constant) {
        if (v < 0 || v > static_cast<double>(seq))
          c.fail("sequence_lens holds " + std::to_string(toInt64(v)) + ", outside [0, " + std::to_string(seq) + "]");
        full = full && v == static_cast<double>(seq);
      }
      if (full)
        return;
    }
    Tensor l2 = c.reshape(lens, {batch, 1});
    lengths = c.convert(l2, c.f32Type());
    masked = true;
  }

  // Direction d's [batch, hidden] slice of an initial state (input i), or zeros.
  Tensor initial(int i, int64_t d) {
    if (!c.hasInput(i))
      return c.splat(0.0, {batch, hidden}, element);
    Tensor &s = c.input(i);
    const std::vector<int64_t> expect =
        layout == 1 ? std::vector<int64_t>{batch, directions, hidden} : std::vector<int64_t>{directions, batch, hidden};
    if (s.shape != expect)
      c.fail(std::string(i == 5 ? "initial_h" : "initial_c") + " has the wrong shape");
    Tensor one = layout == 1 ? c.slice(s, {0, d, 0}, {batch, 1, hidden}, {1, 1, 1})
                             : c.slice(s, {d, 0, 0}, {1, batch, hidden}, {1, 1, 1});
    return c.reshape(one, {batch, hidden});
  }

  // Rows [from, from + rows) of direction d's [gates * hidden, cols] matrix, transposed.
  Tensor weightsT(Tensor &m, int64_t d, int64_t from, int64_t rows) {
    const int64_t cols = m.shape[2];
    Tensor s = c.slice(m, {d, from, 0}, {1, rows, cols}, {1, 1, 1});
    Tensor s2 = c.reshape(s, {rows, cols});
    return c.transpose(s2, {1, 0});
  }

  // Columns [g * hidden, (g + 1) * hidden) of a [rows, gates * hidden] tensor.
  Tensor gate(Tensor &t, int64_t g) {
    return c.slice(t, {0, g * hidden}, {t.shape[0], hidden}, {1, 1});
  }

  Tensor ew(std::vector<Tensor *> ins, const BodyFn &body) { return c.ewise(std::move(ins), element, body); }

  // Holds the previous state past a batch entry's length (masked steps).
  Tensor hold(Tensor &next, Tensor &prev, int64_t t) {
    if (!masked)
      return next;
    const double step = static_cast<double>(t);
    return ew({&lengths, &next, &prev}, [&](OpBuilder &b, Location l, Args v) -> Value {
      return b.create<arith::SelectOp>(l, b.create<arith::CmpFOp>(l, P::OGT, v[0], c.f32(b, step)), v[1], v[2]);
    });
  }

  Direction unroll(Tensor &x2, Tensor &w, Tensor &r, int64_t d, bool reverse) {
    const int64_t gh = gates * hidden;
    const size_t a0 = static_cast<size_t>(d) * (cell == Cell::RNN ? 1 : cell == Cell::GRU ? 2 : 3);
    const Activation f = acts[a0], g = acts[std::min(a0 + 1, acts.size() - 1)],
                     h = acts[std::min(a0 + 2, acts.size() - 1)];
    // The input projection of every step, with Wb + Rb (GRU with
    // linear_before_reset keeps the h gate's Rb for inside the reset).
    Tensor wT = weightsT(w, d, 0, gh);
    Tensor xw = c.matmul(x2, wT); // [seq * batch, gates * hidden]
    Tensor rbH;
    if (c.hasInput(3)) {
      Tensor &bias = c.input(3);
      if (bias.shape != std::vector<int64_t>{directions, 2 * gh})
        c.fail("B must be [" + std::to_string(directions) + ", " + std::to_string(2 * gh) + "]");
      Tensor wb0 = c.slice(bias, {d, 0}, {1, gh}, {1, 1}), rb0 = c.slice(bias, {d, gh}, {1, gh}, {1, 1});
      Tensor wb = c.reshape(wb0, {gh}), rb = c.reshape(rb0, {gh});
      std::vector<double> keep(static_cast<size_t>(gh), 1.0);
      if (linearBeforeReset) {
        std::fill(keep.begin() + 2 * hidden, keep.end(), 0.0);
        Tensor h0 = c.slice(rb, {2 * hidden}, {hidden}, {1});
        rbH = c.reshape(h0, {1, hidden});
      }
      Tensor mask = c.constantTensor(keep, {gh}, c.f32Type());
      xw = ew({&xw, &wb, &rb, &mask}, [](OpBuilder &b, Location l, Args v) -> Value {
        return b.create<arith::AddFOp>(l, v[0], b.create<arith::AddFOp>(l, v[1], b.create<arith::MulFOp>(l, v[2], v[3])));
      });
    }
    Tensor xw3 = c.reshape(xw, {seq, batch, gh});
    // Recurrent weights: GRU without linear_before_reset multiplies the
    // reset state by the h gate's rows separately.
    const bool splitH = cell == Cell::GRU && !linearBeforeReset;
    Tensor rT = weightsT(r, d, 0, splitH ? 2 * hidden : gh), rhT;
    if (splitH)
      rhT = weightsT(r, d, 2 * hidden, hidden);
    Tensor pI, pO, pF;
    if (cell == Cell::LSTM && c.hasInput(7)) {
      Tensor &p = c.input(7);
      if (p.shape != std::vector<int64_t>{directions, 3 * hidden})
        c.fail("P must be [" + std::to_string(directions) + ", " + std::to_string(3 * hidden) + "]");
      auto part = [&](int64_t k) {
        Tensor s = c.slice(p, {d, k * hidden}, {1, hidden}, {1, 1});
        return c.reshape(s, {1, hidden});
      };
      pI = part(0), pO = part(1), pF = part(2);
    }
    const bool peep = cell == Cell::LSTM && c.hasInput(7);
    Tensor hPrev = initial(5, d), cPrev = cell == Cell::LSTM ? initial(6, d) : Tensor();
    std::vector<Tensor> ys(static_cast<size_t>(seq));
    for (int64_t step = 0; step < seq; ++step) {
      const int64_t t = reverse ? seq - 1 - step : step;
      Tensor xt0 = c.slice(xw3, {t, 0, 0}, {1, batch, gh}, {1, 1, 1});
      Tensor xt = c.reshape(xt0, {batch, gh});
      Tensor hr = c.matmul(hPrev, rT);
      Tensor hNext, cNext;
      if (cell == Cell::RNN) {
        hNext = ew({&xt, &hr}, [&](OpBuilder &b, Location l, Args v) -> Value {
          return apply(b, l, f, clip, b.create<arith::AddFOp>(l, v[0], v[1]));
        });
      } else if (cell == Cell::GRU) {
        Tensor xz = gate(xt, 0), xr = gate(xt, 1), xh = gate(xt, 2), hz = gate(hr, 0), hrr = gate(hr, 1);
        Tensor z = ew({&xz, &hz}, [&](OpBuilder &b, Location l, Args v) -> Value {
          return apply(b, l, f, clip, b.create<arith::AddFOp>(l, v[0], v[1]));
        });
        Tensor rg = ew({&xr, &hrr}, [&](OpBuilder &b, Location l, Args v) -> Value {
          return apply(b, l, f, clip, b.create<arith::AddFOp>(l, v[0], v[1]));
        });
        Tensor cand;
        if (linearBeforeReset) {
          Tensor hh = gate(hr, 2);
          std::vector<Tensor *> ins = {&xh, &rg, &hh};
          if (rbH.value || rbH.constant)
            ins.push_back(&rbH);
          cand = ew(ins, [&](OpBuilder &b, Location l, Args v) -> Value {
            Value rec = v.size() > 3 ? b.create<arith::AddFOp>(l, v[2], v[3]).getResult() : v[2];
            return apply(b, l, g, clip, b.create<arith::AddFOp>(l, v[0], b.create<arith::MulFOp>(l, v[1], rec)));
          });
        } else {
          Tensor reset = ew({&rg, &hPrev}, [](OpBuilder &b, Location l, Args v) -> Value {
            return b.create<arith::MulFOp>(l, v[0], v[1]);
          });
          Tensor hh = c.matmul(reset, rhT);
          cand = ew({&xh, &hh}, [&](OpBuilder &b, Location l, Args v) -> Value {
            return apply(b, l, g, clip, b.create<arith::AddFOp>(l, v[0], v[1]));
          });
        }
        hNext = ew({&z, &cand, &hPrev}, [](OpBuilder &b, Location l, Args v) -> Value {
          // (1 - z) * h~ + z * H = h~ + z * (H - h~)
          return b.create<arith::AddFOp>(l, v[1], b.create<arith::MulFOp>(l, v[0], b.create<arith::SubFOp>(l, v[2], v[1])));
        });
      } else {
        Tensor xi = gate(xt, 0), xo = gate(xt, 1), xf = gate(xt, 2), xc = gate(xt, 3);
        Tensor hi = gate(hr, 0), ho = gate(hr, 1), hf = gate(hr, 2), hc = gate(hr, 3);
        std::vector<Tensor *> ins = {&xi, &hi, &xf, &hf, &xc, &hc, &cPrev};
        if (peep) {
          ins.push_back(&pI);
          ins.push_back(&pF);
        }
        cNext = ew(ins, [&](OpBuilder &b, Location l, Args v) -> Value {
          Value iIn = addAll(b, l, {v[0], v[1]}), fIn = addAll(b, l, {v[2], v[3]});
          if (peep) {
            iIn = b.create<arith::AddFOp>(l, iIn, b.create<arith::MulFOp>(l, v[7], v[6]));
            fIn = b.create<arith::AddFOp>(l, fIn, b.create<arith::MulFOp>(l, v[8], v[6]));
          }
          Value ig = apply(b, l, f, clip, iIn), fg = apply(b, l, f, clip, fIn);
          Value cg = apply(b, l, g, clip, addAll(b, l, {v[4], v[5]}));
          return b.create<arith::AddFOp>(l, b.create<arith::MulFOp>(l, fg, v[6]), b.create<arith::MulFOp>(l, ig, cg));
        });
        std::vector<Tensor *> outs = {&xo, &ho, &cNext};
        if (peep)
          outs.push_back(&pO);
        hNext = ew(outs, [&](OpBuilder &b, Location l, Args v) -> Value {
          Value oIn = addAll(b, l, {v[0], v[1]});
          if (peep)
            oIn = b.create<arith::AddFOp>(l, oIn, b.create<arith::MulFOp>(l, v[3], v[2]));
          return b.create<arith::MulFOp>(l, apply(b, l, f, clip, oIn), apply(b, l, h, clip, v[2]));
        });
      }
      Tensor y = hNext;
      if (masked) {
        const double at = static_cast<double>(t);
        y = ew({&lengths, &hNext}, [&](OpBuilder &b, Location l, Args v) -> Value {
          return b.create<arith::SelectOp>(l, b.create<arith::CmpFOp>(l, P::OGT, v[0], c.f32(b, at)), v[1], c.f32(b, 0.0));
        });
        if (cell == Cell::LSTM)
          cNext = hold(cNext, cPrev, t);
        hNext = hold(hNext, hPrev, t);
      }
      ys[static_cast<size_t>(t)] = c.reshape(y, {1, 1, batch, hidden});
      hPrev = hNext;
      if (cell == Cell::LSTM)
        cPrev = cNext;
    }
    Direction out;
    if (c.hasOutput(0)) {
      std::vector<Tensor *> ptrs;
      for (Tensor &y : ys)
        ptrs.push_back(&y);
      out.y = c.concat(ptrs, 0); // [seq, 1, batch, hidden]
    }
    out.h = c.reshape(hPrev, {1, batch, hidden});
    if (cell == Cell::LSTM)
      out.c = c.reshape(cPrev, {1, batch, hidden});
    return out;
  }

  Context &c;
  Cell cell;
  int64_t gates = 1, layout = 0, seq = 0, batch = 0, directions = 1, hidden = 0;
  float clip = 0;
  bool linearBeforeReset = false, masked = false;
  std::vector<Activation> acts;
  Type element;
  Tensor lengths;
};

} // namespace

void recurrent(Context &c) {
  const std::string &op = c.node->op_type();
  Unroller(c, op == "RNN" ? Cell::RNN : op == "GRU" ? Cell::GRU : Cell::LSTM).run();
}

} // namespace trnx::onnximport
