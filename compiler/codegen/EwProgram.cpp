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

int EwProgram::temporariesNeeded() const {
  std::vector<int> last(numInputs + ops.size(), -1);
  for (size_t i = 0; i < ops.size(); ++i)
    for (int x : operandsOf(ops[i]))
      last[x] = static_cast<int>(i);
  int live = 0, peak = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const int id = numInputs + static_cast<int>(i);
    if (id != result)
      peak = std::max(peak, ++live);
    for (int x : operandsOf(ops[i]))
      if (x >= numInputs && last[x] == static_cast<int>(i) && x != result)
        --live;
  }
  return peak;
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

void emitEwProgram(CoreKernel &k, const EwProgram &prog, const std::vector<AccessPattern> &inputs,
                   const AccessPattern &out, const std::vector<OnChip> &temps, int rows, int64_t cols,
                   EngineBalancer &balancer) {
  const int n = prog.numInputs;
  if (prog.result < n) { // result is an input: a copy
    Instruction inst = makeInstruction(Opcode::TensorCopy);
    inst.ap[0] = out;
    inst.ap[1] = inputs[prog.result];
    k.emit(balancer.pick(engineBit(EngineKind::ACT) | engineBit(EngineKind::DVE) | engineBit(EngineKind::POOL),
                         static_cast<double>(cols)),
           inst);
    return;
  }
  std::vector<int> last(n + prog.ops.size(), -1);
  for (size_t i = 0; i < prog.ops.size(); ++i)
    for (int x : operandsOf(prog.ops[i]))
      last[x] = static_cast<int>(i);
  std::vector<AccessPattern> value(n + prog.ops.size());
  for (int i = 0; i < n; ++i)
    value[i] = inputs[i];
  std::vector<int> tempOf(n + prog.ops.size(), -1);
  std::vector<bool> tempBusy(temps.size(), false);
  const std::vector<Dim> tileDims = {Dim{1, static_cast<uint32_t>(cols)}};
  const double elements = static_cast<double>(cols);
  const EngineMask vector = engineBit(EngineKind::DVE) | engineBit(EngineKind::POOL);

  for (size_t i = 0; i < prog.ops.size(); ++i) {
    const EwOp &op = prog.ops[i];
    const int id = n + static_cast<int>(i);
    AccessPattern dst;
    if (id == prog.result) {
      dst = out;
    } else {
      auto free = std::find(tempBusy.begin(), tempBusy.end(), false);
      if (free == tempBusy.end())
        fail("internal: elementwise program needs more temporaries");
      int t = static_cast<int>(free - tempBusy.begin());
      tempBusy[t] = true;
      tempOf[id] = t;
      dst = onChip(temps[t], 0, DType::FP32, tileDims, rows);
    }
    Instruction inst;
    EngineId engine;
    switch (op.kind) {
    case EwOp::Kind::Act:
      inst = makeInstruction(Opcode::Activation);
      inst.ap[1] = value[op.a];
      inst.enums[0] = static_cast<uint8_t>(op.func);
      inst.f32[0] = op.scale;
      inst.f32[1] = op.bias;
      engine = EngineId{EngineKind::ACT, 0};
      balancer.pick(engineBit(EngineKind::ACT), elements);
      break;
    case EwOp::Kind::Binary:
      inst = makeInstruction(Opcode::TensorTensor);
      inst.ap[1] = value[op.a];
      inst.ap[2] = value[op.b];
      inst.enums[0] = static_cast<uint8_t>(op.alu);
      engine = balancer.pick(vector, 2 * elements);
      break;
    case EwOp::Kind::Scalar:
      inst = makeInstruction(Opcode::TensorScalar);
      inst.ap[1] = value[op.a];
      inst.enums[0] = static_cast<uint8_t>(op.alu);
      inst.f32[0] = op.imm;
      inst.enums[1] = static_cast<uint8_t>(op.alu2);
      inst.f32[1] = op.alu2 == AluOp::None ? 0.0f : op.imm2;
      engine = balancer.pick(vector | engineBit(EngineKind::ACT), elements);
      break;
    case EwOp::Kind::Select:
      inst = makeInstruction(Opcode::Select);
      inst.ap[1] = value[op.a];
      inst.ap[2] = value[op.b];
      inst.ap[3] = value[op.c];
      engine = balancer.pick(engineBit(EngineKind::DVE), 2 * elements);
      break;
    }
    inst.ap[0] = dst;
    k.emit(engine, inst);
    value[id] = dst;
    for (int x : operandsOf(op))
      if (tempOf[x] >= 0 && last[x] == static_cast<int>(i))
        tempBusy[tempOf[x]] = false;
  }
}

} // namespace trnx::cg
