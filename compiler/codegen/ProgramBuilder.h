// Assembles a whole program: the tensor table (inputs, outputs, weights and a
// scratch arena for intermediates, reused by liveness), and kernels run one
// after another. Each kernel is a CoreKernel per core; kernels are separated
// by chip barriers, since a kernel may read what any core wrote before it.
#pragma once

#include "compiler/codegen/CoreKernel.h"
#include "compiler/codegen/SyncInsertion.h"
#include "compiler/codegen/Target.h"
#include "isa/Program.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace trnx::cg {

class ProgramBuilder {
public:
  explicit ProgramBuilder(Target target);

  const Target &target() const { return target_; }

  uint32_t addTensor(const std::string &name, TensorRole role, DType dtype, std::vector<int64_t> shape,
                     std::vector<uint8_t> data = {});
  const TensorInfo &tensor(uint32_t id) const { return program_.tensors[id]; }

  // The scratch arena: intermediates are byte ranges of one scratch tensor,
  // allocated first-fit and released after their last use.
  uint32_t scratchTensor();
  int64_t allocScratch(int64_t bytes);
  void releaseScratch(int64_t offset);
  int64_t scratchPeakBytes() const { return scratchPeak_; }

  uint32_t addLoc(const SourceLoc &loc);

  // Starts a kernel over `cores` cores (0..cores-1).
  std::vector<CoreKernel> newKernel(int cores) const;
  void addKernel(const std::vector<CoreKernel> &cores, uint32_t loc = kNoLoc);
  size_t kernelCount() const { return kernels_.size(); }

  // The finished program (tensor offsets assigned, streams joined by barriers).
  Program finish();

private:
  Target target_;
  Program program_;
  int64_t scratchPeak_ = 0;
  int scratchId_ = -1;
  std::map<int64_t, int64_t> scratchUsed_; // offset -> bytes
  std::vector<std::map<std::pair<uint16_t, EngineId>, std::vector<Instruction>>> kernels_;
  std::vector<SemaphoreState> semaphores_; // per core
};

} // namespace trnx::cg
