// The facts about a chip that decide whether a program is legal on it. The
// simulator fills this from its chip config; isa/ itself knows no chip.
#pragma once

#include "isa/DType.h"
#include "isa/Dataflow.h"

#include <cstdint>

namespace trnx {

struct TargetLimits {
  int cores = 1;
  int partitions = 128;
  uint64_t sbufBytesPerPartition = 0;
  uint64_t psumBytesPerPartition = 0;
  int psumBanks = 8;
  int dmaQueues = 16;
  int semaphores = 64;
  int peRows = 128;             // max K per matmul (max M per matmul_os)
  int peCols = 128;             // max M per matmul (max N per matmul_os)
  int movingFreeMax = 512;      // max N per matmul (max K per matmul_os): vectors streamed per pass
  Dataflow dataflow = Dataflow::WeightStationary; // matmul on ws/is arrays, matmul_os on os arrays
  int bnStatsFreeMax = 512;
  DTypeMask matmulInputTypes = 0;   // dtypes allowed as matmul operands
  DTypeMask matmulOutputTypes = 0;  // dtypes allowed in PSUM for matmul results
  bool doubleRow = false;           // fp8 double-row mode available
  int mxfp8Packing = 0;             // matmul_mx: K rows per PE row for fp8 elements (0: no MXFP8)
  int mxfp4Packing = 0;             // ... for fp4e2m1x2 elements (0: no MXFP4)
  uint64_t hbmBytes = 0;            // capacity
  bool enforcePartitionStarts = true; // G1 quadrant rules for compute engines

  int mxPacking(DType t) const {
    return isFP8(t) ? mxfp8Packing : t == DType::FP4E2M1X2 ? mxfp4Packing : 0;
  }
  uint64_t psumBankBytes() const { return psumBanks ? psumBytesPerPartition / psumBanks : 0; }
};

} // namespace trnx
