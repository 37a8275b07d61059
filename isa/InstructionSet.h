// The instruction table: for every opcode its mnemonic, engines, operand
// fields (kind, slot, default), semantics and cost formula. The encoder,
// decoder, assembler, printer, verifier and docs/isa.md all read this table.
#pragma once

#include "isa/Engine.h"

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace trnx {

enum class Opcode : uint8_t {
#define TRNX_OPCODE(E, M) E,
#include "isa/Opcodes.def"
};
constexpr int kNumOpcodes = 0
#define TRNX_OPCODE(E, M) +1
#include "isa/Opcodes.def"
    ;

// Arithmetic/logic operators of tensor_tensor, tensor_scalar, reductions and
// comparisons. Comparisons yield 1.0 or 0.0.
enum class AluOp : uint8_t {
  None, Add, Sub, RSub, Mul, Div, RDiv, Max, Min, Pow, Eq, Ne, Lt, Le, Gt, Ge,
};
constexpr int kNumAluOps = 16;

// Functions of the activation engine, applied as func(x * scale + bias).
enum class ActFunc : uint8_t {
  Identity, Relu, Gelu, GeluTanh, Silu, Sigmoid, Tanh, Exp, Log, Sqrt, Rsqrt,
  Square, Reciprocal, Erf, Abs,
};
constexpr int kNumActFuncs = 15;

std::string_view aluOpName(AluOp op);
std::string_view actFuncName(ActFunc f);

enum class FieldKind : uint8_t {
  Ap,      // required access pattern
  OptAp,   // optional access pattern
  Bool,    // flag bit
  Alu,     // AluOp
  Act,     // ActFunc
  Choice,  // small enum named in FieldSpec::choices ("a|b|c")
  F32,     // float immediate
  I32,     // integer immediate
};

// Slots of an Instruction that a field is stored in.
constexpr int kMaxApSlots = 5, kMaxBoolSlots = 8, kMaxEnumSlots = 2, kMaxF32Slots = 2,
              kMaxI32Slots = 6;

struct FieldSpec {
  const char *name;
  FieldKind kind;
  uint8_t slot;          // index into the slot array of the field's kind
  SpaceMask spaces = 0;  // Ap/OptAp: allowed memory spaces
  bool required = false; // scalar fields: must be written in assembly
  double defaultValue = 0;
  const char *choices = nullptr; // Choice: "first|second|..."
  const char *doc = "";
};

enum class CostKind : uint8_t {
  Matmul, MatmulMx, MatmulOs, PeTranspose, Activation, TensorTensor, TensorScalar, TensorReduce, TensorCopy,
  Select, PoolAffine, Memset, PartitionOp, BnStats, BnAggr, Dma, Control, Collective, QuantizeMx,
};

struct OpcodeInfo {
  Opcode opcode;
  const char *mnemonic;
  EngineMask engines;
  std::vector<FieldSpec> fields;
  CostKind cost;
  const char *summary;
  const char *semantics;  // docs/isa.md text
  const char *costFormula; // docs/isa.md text
};

const OpcodeInfo &opcodeInfo(Opcode op);
std::optional<Opcode> parseMnemonic(std::string_view mnemonic);
bool isValidOpcode(uint8_t raw);
const std::vector<OpcodeInfo> &instructionTable();
const FieldSpec *findField(const OpcodeInfo &info, std::string_view name);
// Whether an operand field is written: "dst" and the extra results named
// "..._dst" (reduce_dst, scale_dst); every other operand is read.
bool isWriteField(const FieldSpec &f);

// Choice fields: the i-th name of "a|b|c", count and lookup.
int choiceCount(const char *choices);
std::string_view choiceName(const char *choices, int index);
std::optional<int> parseChoice(const char *choices, std::string_view name);
std::optional<AluOp> parseAluOp(std::string_view name);
std::optional<ActFunc> parseActFunc(std::string_view name);

} // namespace trnx
