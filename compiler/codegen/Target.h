// What code generation needs to know about the target chip: its verifier
// limits (array shape, dataflow, partitions, SBUF/PSUM, queues, cores) plus a
// name. Filled from the chip config (simulator/config). Every tile shape a
// kernel generator uses derives from these, never from constants.
#pragma once

#include "isa/TargetLimits.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace trnx::cg {

struct Target {
  std::string name = "trn3";
  TargetLimits limits;

  int partitions() const { return limits.partitions; }
  int64_t sbufBytes() const { return static_cast<int64_t>(limits.sbufBytesPerPartition); }
  int64_t psumBankBytes() const { return static_cast<int64_t>(limits.psumBankBytes()); }
  bool psumBf16() const { return limits.matmulOutputTypes & dtypeBit(DType::BF16); }
  Dataflow dataflow() const { return limits.dataflow; }

  // A stationary-operand matmul (ws/is arrays): K rows per instruction (the
  // array's rows, on partitions), M stationary columns (the array's columns,
  // also the result's partitions) and N moving columns (the streamed vectors,
  // fp32 results of one PSUM bank).
  int64_t matmulK() const { return std::min(limits.peRows, limits.partitions); }
  int64_t matmulM() const { return std::min(limits.peCols, limits.partitions); }
  int64_t matmulN() const {
    return std::max<int64_t>(1, std::min<int64_t>(limits.movingFreeMax, psumBankBytes() / 4));
  }
  // matmul_os (os arrays): M output rows on the array's rows, N on its
  // columns (fp32 results of one PSUM bank), K streamed per instruction.
  int64_t matmulOsM() const { return std::min(limits.peRows, limits.partitions); }
  int64_t matmulOsN() const {
    return std::max<int64_t>(1, std::min<int64_t>({limits.peCols, limits.partitions, psumBankBytes() / 4}));
  }
  int64_t matmulOsK() const { return limits.movingFreeMax; }
  // fp32 columns of one PSUM bank.
  int64_t psumBankColumns() const { return std::max<int64_t>(1, psumBankBytes() / 4); }
};

} // namespace trnx::cg
