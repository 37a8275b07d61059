// One instruction: an opcode, its field slots (meaning given by the opcode's
// row in the instruction table), an optional semaphore wait before it starts,
// an optional semaphore increment when it completes, and a source location.
#pragma once

#include "isa/AccessPattern.h"
#include "isa/InstructionSet.h"

#include <array>
#include <cstdint>

namespace trnx {

constexpr uint16_t kNoSemaphore = 0xffff;
constexpr uint32_t kNoLoc = 0xffffffff;

// Start only once semaphore `sem` >= value + sum(step[l] * i_l) where i_l is the
// iteration index of enclosing loop level l (0 = outermost).
struct SemWait {
  uint16_t sem = kNoSemaphore;
  uint32_t value = 0;
  std::array<int32_t, kMaxLoopDepth> step{};
  bool present() const { return sem != kNoSemaphore; }
  bool operator==(const SemWait &o) const {
    return sem == o.sem && value == o.value && step == o.step;
  }
};

// Add `increment` to semaphore `sem` when the instruction completes.
struct SemSignal {
  uint16_t sem = kNoSemaphore;
  uint16_t increment = 1;
  bool present() const { return sem != kNoSemaphore; }
  bool operator==(const SemSignal &o) const { return sem == o.sem && increment == o.increment; }
};

struct Instruction {
  Opcode opcode = Opcode::SemWait;
  uint8_t flags = 0; // Bool fields, bit = slot
  std::array<uint8_t, kMaxEnumSlots> enums{};
  std::array<float, kMaxF32Slots> f32{};
  std::array<int32_t, kMaxI32Slots> i32{};
  std::array<AccessPattern, kMaxApSlots> ap{};
  SemWait wait;
  SemSignal signal;
  uint32_t loc = kNoLoc;

  bool flag(int slot) const { return (flags >> slot) & 1; }
  void setFlag(int slot, bool v) {
    flags = static_cast<uint8_t>(v ? flags | (1u << slot) : flags & ~(1u << slot));
  }
  const OpcodeInfo &info() const { return opcodeInfo(opcode); }
  // Bit-exact equality (floats compared by bit pattern).
  bool operator==(const Instruction &o) const;
  bool operator!=(const Instruction &o) const { return !(*this == o); }
};

// Builds an instruction with every field at its table default.
Instruction makeInstruction(Opcode op);

} // namespace trnx
