// The value ranges the .tnx format and trnx assembly share. The assembler,
// the container reader and the verifier all check against this one table, so
// every container the tools accept disassembles to text that re-assembles to
// the same bytes, and every size computed from these bounds fits 64 bits.
#pragma once

#include <cstdint>
#include <limits>

namespace trnx {

struct FormatLimits {
  static constexpr int kMaxTensorRank = 8;
  static constexpr int64_t kMaxTensorDim = int64_t(1) << 40;
  // Bytes of one tensor (its shape's natural size and an explicit size=) and
  // the highest HBM offset: 1 PiB, far above any chip, far below 2^63.
  static constexpr uint64_t kMaxTensorBytes = uint64_t(1) << 50;
  static constexpr uint64_t kMaxHbmOffset = uint64_t(1) << 50;
  // Access-pattern byte offsets: |offset| <= 2^62 - 1, so offset plus any
  // extent of int32 strides and steps stays inside int64 arithmetic in 128 bits.
  static constexpr int64_t kMaxApOffset = std::numeric_limits<int64_t>::max() / 2;
  // SBUF/PSUM operands name partitions [start, start+count) with end <= 65535.
  static constexpr int kMaxPartitionEnd = 65535;
  static constexpr int kMaxCores = 1024;
};

} // namespace trnx
