// One core's part of one kernel: a tree of loops whose leaves are
// instructions, each assigned to an engine, plus the SBUF/PSUM buffers they
// use. Semantics are sequential (the tree in program order); SyncInsertion
// turns the tree into per-engine streams with the semaphores that keep that
// meaning when the engines run concurrently.
#pragma once

#include "compiler/codegen/Affine.h"
#include "compiler/codegen/Operands.h"
#include "compiler/codegen/Target.h"
#include "isa/Instruction.h"

#include <functional>
#include <vector>

namespace trnx::cg {

class CoreKernel {
public:
  CoreKernel(const Target &target, uint16_t core);

  uint16_t core() const { return core_; }
  const Target &target() const { return target_; }

  // Buffers live for the whole kernel. Throws when SBUF/PSUM is exhausted.
  OnChip allocSbuf(int64_t bytesPerPartition, int64_t align = 64);
  OnChip allocPsumBank(); // one accumulation bank
  int64_t sbufFree() const { return target_.sbufBytes() - sbufUsed_; }
  int psumBanksFree() const { return target_.limits.psumBanks - psumBanksUsed_; }

  // Runs `body` inside a hardware loop of `count` iterations (inline when
  // count is 1, nothing when 0); the argument is the loop index.
  void loop(int64_t count, const std::function<void(const Affine &)> &body);
  // Tile index t in [0, count) with a slot t % factor that is a constant in
  // each emitted copy: a loop of count/factor iterations over `factor` copies
  // of the body, then the remainder copies. Rotating buffers by slot makes
  // the copies independent, so engines overlap (multi-buffering).
  void unrolled(int64_t count, int factor, const std::function<void(const Affine &, int)> &body);
  int depth() const { return depth_; }

  void emit(EngineId engine, const Instruction &inst);
  size_t instructionCount() const { return ops_.size(); }

  // The loop tree, read by SyncInsertion.
  struct Node {
    int parent = -1;
    bool isLoop = false;
    int64_t count = 1; // loops
    int op = -1;       // leaves: index into ops
    std::vector<int> children;
  };
  const std::vector<Node> &nodes() const { return nodes_; }
  const std::vector<Instruction> &ops() const { return ops_; }
  const std::vector<EngineId> &engines() const { return engines_; }
  const std::vector<int> &opNodes() const { return opNodes_; }

private:
  const Target &target_;
  uint16_t core_;
  std::vector<Node> nodes_;
  std::vector<Instruction> ops_;
  std::vector<EngineId> engines_;
  std::vector<int> opNodes_;
  int current_ = 0; // node that new children go into
  int depth_ = 0;
  int64_t sbufUsed_ = 0;
  int psumBanksUsed_ = 0;
};

} // namespace trnx::cg
