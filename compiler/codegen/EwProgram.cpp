// Elementwise programs: simplification, liveness and instruction emission.
#include "compiler/codegen/EwProgram.h"

#include "isa/Error.h"

#include <algorithm>

namespace trnx::cg {

EwOp EwOp::act(ActFunc f, int a, float scale, float bias) {
  EwOp o;
  o.kind = Kind::Act;
  o.func = f;
  o.a = a;
  o.scale = scale;
  o.bias = bias;
  return o;
}
EwOp EwOp::binary(AluOp op, int a, int b) {
  EwOp o;
  o.kind = Kind::Binary;
  o.alu = op;
  o.a = a;
  o.b = b;
  return o;
}
EwOp EwOp::scalar(AluOp op, int a, float imm) {
  EwOp o;
  o.kind = Kind::Scalar;
  o.alu = op;
  o.a = a;
  o.imm = imm;
  return o;
}
EwOp EwOp::constant(float value) {
  EwOp o;
  o.kind = Kind::Const;
  o.imm = value;
  return o;
}

EwOp EwOp::select(int pred, int a, int b) {
  EwOp o;
  o.kind = Kind::Select;
  o.a = pred;
  o.b = a;
  o.c = b;
  return o;
}

namespace {

std::vector<int> operandsOf(const EwOp &op) {
  std::vector<int> v;
  for (int x : {op.a, op.b, op.c})
    if (x >= 0)
      v.push_back(x);
  return v;
}

std::vector<int> useCounts(const EwProgram &p) {
  std::vector<int> uses(p.numInputs + p.ops.size(), 0);
  for (const EwOp &op : p.ops)
    for (int x : operandsOf(op))
      ++uses[x];
  if (p.result >= 0)
    ++uses[p.result];
  return uses;
}

} // namespace

EwProgram EwProgram::simplified() const {
  EwProgram p = *this;
  bool changed = true;
  while (changed) {
    changed = false;
    std::vector<int> uses = useCounts(p);
    for (size_t i = 0; i < p.ops.size(); ++i) {
      EwOp &op = p.ops[i];
      auto producer = [&](int v) -> EwOp * {
        return v >= p.numInputs ? &p.ops[v - p.numInputs] : nullptr;
      };
      EwOp *src = producer(op.a);
      if (!src || uses[op.a] != 1)
        continue;
      // act(x*s + b) absorbs a preceding mul/add by a constant.
      if (op.kind == EwOp::Kind::Act && src->kind == EwOp::Kind::Scalar && src->alu2 == AluOp::None) {
        if (src->alu == AluOp::Mul) {
          op.scale *= src->imm;
          op.a = src->a;
          changed = true;
        } else if (src->alu == AluOp::Add && op.scale == 1.0f) {
          op.bias += src->imm;
          op.a = src->a;
          changed = true;
        } else if (src->alu == AluOp::Sub && op.scale == 1.0f) {
          op.bias -= src->imm;
          op.a = src->a;
          changed = true;
        }
      } else if (op.kind == EwOp::Kind::Scalar && op.alu2 == AluOp::None && src->kind == EwOp::Kind::Scalar &&
                 src->alu2 == AluOp::None) {
        // (x op0 s0) op1 s1 is one tensor_scalar.
        op.alu2 = op.alu;
        op.imm2 = op.imm;
        op.alu = src->alu;
        op.imm = src->imm;
        op.a = src->a;
        changed = true;
      }
      if (changed)
        break;
    }
  }
  // Drop dead ops and renumber.
  std::vector<int> uses = useCounts(p);
  std::vector<bool> live(p.ops.size(), false);
  for (int i = static_cast<int>(p.ops.size()) - 1; i >= 0; --i) {
    int id = p.numInputs + i;
    live[i] = id == p.result || uses[id] > 0;
    if (!live[i])
      for (int x : operandsOf(p.ops[i]))
        --uses[x];
  }
  EwProgram out;
  out.numInputs = p.numInputs;
  std::vector<int> remap(p.numInputs + p.ops.size(), -1);
  for (int i = 0; i < p.numInputs; ++i)
    remap[i] = i;
  for (size_t i = 0; i < p.ops.size(); ++i) {
    if (!live[i])
      continue;
    EwOp op = p.ops[i];
    for (int *x : {&op.a, &op.b, &op.c})
      if (*x >= 0)
        *x = remap[*x];
    remap[p.numInputs + i] = out.add(op);
  }
  out.result = p.result >= 0 ? remap[p.result] : -1;
  return out;
}

EngineId EngineBalancer::pick(EngineMask allowed, double elements) {
  int best = -1;
  for (int k : {static_cast<int>(EngineKind::DVE), static_cast<int>(EngineKind::POOL),
                static_cast<int>(EngineKind::ACT)}) {
    if (!(allowed & (1u << k)))
      continue;
    if (best < 0 || busy_[k] < busy_[best])
      best = k;
  }
  if (best < 0)
    fail("internal: no engine allowed");
  // GpSimd is slower per element; weigh it so DVE and ACT get more.
  busy_[best] += elements * (best == static_cast<int>(EngineKind::POOL) ? 1.5 : 1.0);
  return EngineId{static_cast<EngineKind>(best), 0};
}

namespace {

// Reversed form of `a op b` when the per-partition operand is on the left.
bool reversed(AluOp op, AluOp &out) {
  switch (op) {
  case AluOp::Add: case AluOp::Mul: case AluOp::Max: case AluOp::Min: case AluOp::Eq: case AluOp::Ne:
    out = op; return true;
  case AluOp::Sub: out = AluOp::RSub; return true;
  case AluOp::RSub: out = AluOp::Sub; return true;
  case AluOp::Div: out = AluOp::RDiv; return true;
  case AluOp::RDiv: out = AluOp::Div; return true;
  case AluOp::Lt: out = AluOp::Gt; return true;
  case AluOp::Gt: out = AluOp::Lt; return true;
  case AluOp::Le: out = AluOp::Ge; return true;
  case AluOp::Ge: out = AluOp::Le; return true;
  default: return false;
  }
}

} // namespace

// Emits into `kernel`, or only counts temporaries when it is null (then
// `temps` may be empty and is treated as unbounded). Returns the peak count.
int emitOrCount(CoreKernel *kernel, const EwProgram &prog, const std::vector<AccessPattern> &inputs,
                const AccessPattern &out, const std::vector<OnChip> &temps, int rows, int64_t cols,
                EngineBalancer &balancer) {
  const int n = prog.numInputs;
  const bool dryRun = kernel == nullptr;
  int peak = 0;
  auto emit = [&](EngineId e, const Instruction &inst) {
    if (!dryRun)
      kernel->emit(e, inst);
  };
  const EngineMask copyEngines =
      engineBit(EngineKind::ACT) | engineBit(EngineKind::DVE) | engineBit(EngineKind::POOL);
  const EngineMask vector = engineBit(EngineKind::DVE) | engineBit(EngineKind::POOL);
  std::vector<int> last(n + prog.ops.size(), -1);
  for (size_t i = 0; i < prog.ops.size(); ++i)
    for (int x : operandsOf(prog.ops[i]))
      last[x] = static_cast<int>(i);
  std::vector<AccessPattern> value(n + prog.ops.size());
  std::vector<bool> narrow(n + prog.ops.size(), false); // one element per partition
  for (int i = 0; i < n; ++i) {
    value[i] = inputs[i];
    narrow[i] = cols > 1 && inputs[i].freeSize() == 1;
  }
  std::vector<int> tempOf(n + prog.ops.size(), -1);
  std::vector<bool> tempBusy(dryRun ? 0 : temps.size(), false);
  auto tileOf = [&](int t, bool isNarrow) {
    OnChip buffer = dryRun ? OnChip{} : temps[t];
    return onChip(buffer, 0, DType::FP32, {Dim{1, static_cast<uint32_t>(isNarrow ? 1 : cols)}}, rows);
  };
  auto takeTemp = [&]() {
    auto free = std::find(tempBusy.begin(), tempBusy.end(), false);
    if (free == tempBusy.end()) {
      if (!dryRun)
        fail("internal: elementwise program needs more temporaries");
      tempBusy.push_back(false);
      free = tempBusy.end() - 1;
    }
    int t = static_cast<int>(free - tempBusy.begin());
    tempBusy[t] = true;
    peak = std::max<int>(peak, static_cast<int>(std::count(tempBusy.begin(), tempBusy.end(), true)));
    return t;
  };
  // A full-width tile holding a per-partition value: 0 * x + v.
  auto widen = [&](int v) {
    int t = takeTemp();
    AccessPattern wide = tileOf(t, false);
    Instruction zero = makeInstruction(Opcode::Memset);
    zero.ap[0] = wide;
    emit(balancer.pick(vector, static_cast<double>(cols)), zero);
    Instruction add = makeInstruction(Opcode::TensorScalar);
    add.ap[0] = wide;
    add.ap[1] = wide;
    add.enums[0] = static_cast<uint8_t>(AluOp::Add);
    add.ap[2] = value[v];
    emit(balancer.pick(vector, static_cast<double>(cols)), add);
    return std::make_pair(wide, t);
  };

  if (prog.result < n) { // the result is an input: a copy (or broadcast)
    Instruction inst = makeInstruction(Opcode::TensorCopy);
    inst.ap[0] = out;
    if (narrow[prog.result]) {
      auto [wide, t] = widen(prog.result);
      inst.ap[1] = wide;
      tempBusy[t] = false;
    } else {
      inst.ap[1] = inputs[prog.result];
    }
    emit(balancer.pick(copyEngines, static_cast<double>(cols)), inst);
    return peak;
  }

  for (size_t i = 0; i < prog.ops.size(); ++i) {
    const EwOp &op = prog.ops[i];
    const int id = n + static_cast<int>(i);
    std::vector<int> extraTemps;
    bool resultNarrow = true;
    for (int x : operandsOf(op))
      resultNarrow = resultNarrow && narrow[x];
    if (id == prog.result)
      resultNarrow = false; // the output tile is full width
    const double elements = resultNarrow ? 1.0 : static_cast<double>(cols);
    Instruction inst;
    EngineId engine;
    switch (op.kind) {
    case EwOp::Kind::Act:
      inst = makeInstruction(Opcode::Activation);
      inst.ap[1] = value[op.a];
      if (narrow[op.a] && !resultNarrow) {
        auto [wide, t] = widen(op.a);
        inst.ap[1] = wide;
        extraTemps.push_back(t);
      }
      inst.enums[0] = static_cast<uint8_t>(op.func);
      inst.f32[0] = op.scale;
      inst.f32[1] = op.bias;
      engine = EngineId{EngineKind::ACT, 0};
      balancer.pick(engineBit(EngineKind::ACT), elements);
      break;
    case EwOp::Kind::Binary: {
      int a = op.a, b = op.b;
      AluOp alu = op.alu;
      if (!resultNarrow && narrow[a] && !narrow[b]) {
        AluOp rev;
        if (reversed(alu, rev)) {
          std::swap(a, b);
          alu = rev;
        }
      }
      if (!resultNarrow && narrow[b] && !narrow[a]) {
        inst = makeInstruction(Opcode::TensorScalar);
        inst.ap[1] = value[a];
        inst.enums[0] = static_cast<uint8_t>(alu);
        inst.ap[2] = value[b];
        engine = balancer.pick(vector | engineBit(EngineKind::ACT), elements);
        break;
      }
      inst = makeInstruction(Opcode::TensorTensor);
      inst.ap[1] = value[a];
      inst.ap[2] = value[b];
      for (int slot : {1, 2}) {
        int v = slot == 1 ? a : b;
        if (narrow[v] && !resultNarrow) {
          auto [wide, t] = widen(v);
          inst.ap[slot] = wide;
          extraTemps.push_back(t);
        }
      }
      inst.enums[0] = static_cast<uint8_t>(alu);
      engine = balancer.pick(vector, 2 * elements);
      break;
    }
    case EwOp::Kind::Scalar:
      inst = makeInstruction(Opcode::TensorScalar);
      inst.ap[1] = value[op.a];
      if (narrow[op.a] && !resultNarrow) {
        auto [wide, t] = widen(op.a);
        inst.ap[1] = wide;
        extraTemps.push_back(t);
      }
      inst.enums[0] = static_cast<uint8_t>(op.alu);
      inst.f32[0] = op.imm;
      inst.enums[1] = static_cast<uint8_t>(op.alu2);
      inst.f32[1] = op.alu2 == AluOp::None ? 0.0f : op.imm2;
      engine = balancer.pick(vector | engineBit(EngineKind::ACT), elements);
      break;
    case EwOp::Kind::Const:
      inst = makeInstruction(Opcode::Memset);
      inst.f32[0] = op.imm;
      resultNarrow = id != prog.result && cols > 1; // a constant is the same in every column
      engine = balancer.pick(vector, resultNarrow ? 1.0 : elements);
      break;
    case EwOp::Kind::Select:
      inst = makeInstruction(Opcode::Select);
      for (int slot = 1; slot <= 3; ++slot) {
        int v = slot == 1 ? op.a : slot == 2 ? op.b : op.c;
        inst.ap[slot] = value[v];
        if (narrow[v] && !resultNarrow) {
          auto [wide, t] = widen(v);
          inst.ap[slot] = wide;
          extraTemps.push_back(t);
        }
      }
      engine = balancer.pick(engineBit(EngineKind::DVE), 2 * elements);
      break;
    }
    AccessPattern dst;
    if (id == prog.result) {
      dst = out;
    } else {
      int t = takeTemp();
      tempOf[id] = t;
      dst = tileOf(t, resultNarrow);
    }
    inst.ap[0] = dst;
    emit(engine, inst);
    value[id] = dst;
    narrow[id] = resultNarrow;
    for (int t : extraTemps)
      tempBusy[t] = false;
    for (int x : operandsOf(op))
      if (tempOf[x] >= 0 && last[x] == static_cast<int>(i))
        tempBusy[tempOf[x]] = false;
  }
  return peak;
}

void emitEwProgram(CoreKernel &kernel, const EwProgram &program, const std::vector<AccessPattern> &inputs,
                   const AccessPattern &out, const std::vector<OnChip> &temps, int rows, int64_t cols,
                   EngineBalancer &balancer) {
  emitOrCount(&kernel, program, inputs, out, temps, rows, cols, balancer);
}

int temporariesFor(const EwProgram &program, const std::vector<AccessPattern> &inputs, int64_t cols) {
  EngineBalancer scratch;
  return emitOrCount(nullptr, program, inputs, AccessPattern{}, {}, 1, cols, scratch);
}

} // namespace trnx::cg
