// Loop-tree construction and buffer allocation for one core's kernel.
#include "compiler/codegen/CoreKernel.h"

#include "isa/Error.h"

namespace trnx::cg {

CoreKernel::CoreKernel(const Target &target, uint16_t core) : target_(target), core_(core) {
  nodes_.push_back(Node{}); // root
}

OnChip CoreKernel::allocSbuf(int64_t bytesPerPartition, int64_t align) {
  int64_t offset = (sbufUsed_ + align - 1) / align * align;
  if (offset + bytesPerPartition > target_.sbufBytes())
    fail("kernel needs more SBUF than the target's ", target_.sbufBytes(), " bytes per partition");
  sbufUsed_ = offset + bytesPerPartition;
  return OnChip{MemSpace::SBUF, offset, bytesPerPartition};
}

OnChip CoreKernel::allocPsumBank() {
  if (psumBanksUsed_ >= target_.limits.psumBanks)
    fail("kernel needs more than the target's ", target_.limits.psumBanks, " PSUM banks");
  int64_t bank = target_.psumBankBytes();
  return OnChip{MemSpace::PSUM, bank * psumBanksUsed_++, bank};
}

void CoreKernel::loop(int64_t count, const std::function<void(const Affine &)> &body) {
  if (count <= 0)
    return;
  if (count == 1) {
    body(Affine(0));
    return;
  }
  if (depth_ == kMaxLoopDepth)
    fail("internal: kernel loops nest deeper than ", kMaxLoopDepth);
  Node n;
  n.parent = current_;
  n.isLoop = true;
  n.count = count;
  int id = static_cast<int>(nodes_.size());
  nodes_.push_back(n);
  nodes_[current_].children.push_back(id);
  int saved = current_;
  current_ = id;
  ++depth_;
  body(Affine::loopIndex(depth_ - 1));
  --depth_;
  current_ = saved;
}

void CoreKernel::unrolled(int64_t count, int factor, const std::function<void(const Affine &, int)> &body) {
  if (factor < 1)
    factor = 1;
  const int64_t main = count / factor, rest = count % factor;
  loop(main, [&](const Affine &i) {
    for (int j = 0; j < factor; ++j)
      body(i * factor + j, j);
  });
  for (int64_t j = 0; j < rest; ++j)
    body(Affine(main * factor + j), static_cast<int>(j));
}

void CoreKernel::emit(EngineId engine, const Instruction &inst) {
  Node n;
  n.parent = current_;
  n.op = static_cast<int>(ops_.size());
  int id = static_cast<int>(nodes_.size());
  nodes_.push_back(n);
  nodes_[current_].children.push_back(id);
  ops_.push_back(inst);
  engines_.push_back(engine);
  opNodes_.push_back(id);
}

} // namespace trnx::cg
