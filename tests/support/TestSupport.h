// Helpers shared by the C++ unit tests: catching trnx::Error messages and a
// trn3-like set of verifier limits that does not depend on the presets.
#pragma once

#include "isa/DType.h"
#include "isa/Error.h"
#include "isa/TargetLimits.h"

#include <functional>
#include <string>

namespace trnx::testing {

// The message of the trnx::Error `fn` throws, or "" when it throws none.
inline std::string errorOf(const std::function<void()> &fn) {
  try {
    fn();
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

// Trn3's verifier limits written out (the isa tests must not read presets).
inline TargetLimits trn3LikeLimits() {
  TargetLimits l;
  l.cores = 8;
  l.partitions = 128;
  l.sbufBytesPerPartition = 256 * 1024;
  l.psumBytesPerPartition = 16 * 1024;
  l.psumBanks = 8;
  l.dmaQueues = 16;
  l.semaphores = 64;
  l.peRows = 128;
  l.peCols = 128;
  l.movingFreeMax = 512;
  l.bnStatsFreeMax = 512;
  l.matmulInputTypes = dtypeBit(DType::FP32) | dtypeBit(DType::BF16) | dtypeBit(DType::FP16) |
                       dtypeBit(DType::FP8E4M3) | dtypeBit(DType::FP8E5M2);
  l.matmulOutputTypes = dtypeBit(DType::FP32) | dtypeBit(DType::BF16);
  l.doubleRow = true;
  l.mxfp8Packing = 4; // NC-v4 MX: K = 512 per matmul_mx
  l.mxfp4Packing = 4;
  l.hbmBytes = 96ull << 30;
  l.enforcePartitionStarts = true;
  return l;
}

} // namespace trnx::testing
