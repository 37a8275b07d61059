// What code generation needs to know about the target chip: its verifier
// limits plus a name. Filled from the chip config (simulator/config).
#pragma once

#include "isa/TargetLimits.h"

#include <string>

namespace trnx::cg {

struct Target {
  std::string name = "trn3";
  TargetLimits limits;

  int partitions() const { return limits.partitions; }
  int64_t sbufBytes() const { return static_cast<int64_t>(limits.sbufBytesPerPartition); }
  int64_t psumBankBytes() const { return static_cast<int64_t>(limits.psumBankBytes()); }
  bool psumBf16() const { return limits.matmulOutputTypes & dtypeBit(DType::BF16); }
};

} // namespace trnx::cg
