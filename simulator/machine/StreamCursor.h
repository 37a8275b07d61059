// Walks one instruction stream in execution order, unrolling loops and
// tracking the loop indices that operand offsets and wait values step with.
#pragma once

#include "isa/Instruction.h"
#include "simulator/memory/DeviceMemory.h"

#include <cstdint>
#include <vector>

namespace trnx {

class StreamCursor {
public:
  explicit StreamCursor(const std::vector<Instruction> *code) : code_(code) {}

  // Skips loop/endloop bookkeeping; returns false at the end of the stream.
  bool settle() {
    while (pc_ < code_->size()) {
      const Instruction &inst = (*code_)[pc_];
      if (inst.opcode == Opcode::Loop) {
        frames_[depth_] = {pc_ + 1, static_cast<uint32_t>(inst.i32[0]), 0};
        iv_[depth_] = 0;
        ++depth_;
        ++pc_;
      } else if (inst.opcode == Opcode::EndLoop) {
        Frame &f = frames_[depth_ - 1];
        if (++f.iter < f.count) {
          iv_[depth_ - 1] = f.iter;
          pc_ = f.start;
        } else {
          iv_[depth_ - 1] = 0;
          --depth_;
          ++pc_;
        }
      } else {
        return true;
      }
    }
    return false;
  }
  uint32_t pc() const { return pc_; }
  const Instruction &current() const { return (*code_)[pc_]; }
  const LoopIndices &iv() const { return iv_; }
  void next() { ++pc_; }

private:
  struct Frame {
    uint32_t start, count, iter;
  };
  const std::vector<Instruction> *code_;
  uint32_t pc_ = 0;
  int depth_ = 0;
  Frame frames_[kMaxLoopDepth] = {};
  LoopIndices iv_{};
};

} // namespace trnx
