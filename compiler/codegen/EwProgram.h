// An elementwise computation as a small program of scalar operations over
// named values: inputs 0..numInputs-1, then one value per operation. It is
// what fused elementwise graphs, matmul epilogues and the scalar parts of
// normalisations lower to; emitEwProgram turns it into engine instructions
// over SBUF tiles.
#pragma once

#include "compiler/codegen/CoreKernel.h"
#include "isa/InstructionSet.h"

#include <vector>

namespace trnx::cg {

struct EwOp {
  enum class Kind : uint8_t {
    Act,    // func(a * scale + bias)
    Binary, // a alu b
    Scalar, // a alu imm  (then optionally alu2 imm2)
    Select, // a != 0 ? b : c
    Const,  // imm everywhere
  };
  Kind kind = Kind::Act;
  ActFunc func = ActFunc::Identity;
  AluOp alu = AluOp::None, alu2 = AluOp::None;
  int a = -1, b = -1, c = -1;
  float imm = 0, imm2 = 0;
  float scale = 1, bias = 0;

  static EwOp act(ActFunc f, int a, float scale = 1, float bias = 0);
  static EwOp binary(AluOp op, int a, int b);
  static EwOp scalar(AluOp op, int a, float imm);
  static EwOp select(int pred, int a, int b);
  static EwOp constant(float value);
};

struct EwProgram {
  int numInputs = 0;
  std::vector<EwOp> ops;
  int result = -1; // a value id

  int add(const EwOp &op) {
    ops.push_back(op);
    return numInputs + static_cast<int>(ops.size()) - 1;
  }
  bool isIdentity() const { return ops.empty() && result == 0; }
  // Folds scalar ops into activations and chains scalar pairs; drops dead ops.
  EwProgram simplified() const;
};

// Picks the least busy engine among the allowed ones for each instruction of
// a kernel (estimated from element counts), so ACT, DVE and GpSimd share work.
class EngineBalancer {
public:
  EngineId pick(EngineMask allowed, double elements);

private:
  double busy_[kNumEngineKinds] = {};
};

// Emits the program over tiles of `rows` x `cols` elements: `inputs` are the
// input tile operands, `out` the result operand; `temps` are fp32 SBUF tiles
// of at least cols elements. An input with one element per partition
// ([rows, 1]) is a per-partition scalar: binary operators take it as a
// tensor_scalar operand instead of a full tile.
void emitEwProgram(CoreKernel &kernel, const EwProgram &program, const std::vector<AccessPattern> &inputs,
                   const AccessPattern &out, const std::vector<OnChip> &temps, int rows, int64_t cols,
                   EngineBalancer &balancer);
// How many temporaries emitEwProgram needs for these inputs (a dry run).
int temporariesFor(const EwProgram &program, const std::vector<AccessPattern> &inputs, int64_t cols);

} // namespace trnx::cg
