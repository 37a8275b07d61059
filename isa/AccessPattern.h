// Operands: an access pattern names a memory space, a partition range, a byte
// offset, a dtype and up to four free-dim [stride, count] pairs (strides in
// elements, outermost first). Offsets may advance with enclosing loops.
#pragma once

#include "isa/DType.h"
#include "isa/Engine.h"

#include <array>
#include <cstdint>

namespace trnx {

constexpr int kMaxFreeDims = 4;
constexpr int kMaxLoopDepth = 4;

struct Dim {
  int32_t stride = 1;  // elements
  uint32_t count = 1;
  bool operator==(const Dim &o) const { return stride == o.stride && count == o.count; }
};

struct AccessPattern {
  MemSpace space = MemSpace::None;
  DType dtype = DType::FP32;
  uint8_t numDims = 0;            // free dims in use (1..4 for a valid operand)
  uint16_t partitionStart = 0;    // SBUF/PSUM: first partition
  uint16_t partitionCount = 1;    // rows: SBUF/PSUM partitions, or HBM rows
  uint32_t tensor = 0;            // HBM: index into the program's tensor table
  int32_t partitionStride = 0;    // HBM: elements between consecutive rows
  int64_t offset = 0;             // bytes: within a partition, or from tensor base
  std::array<int32_t, kMaxLoopDepth> offsetStep{}; // bytes per iteration of loop level l
  std::array<Dim, kMaxFreeDims> dims{};

  bool present() const { return space != MemSpace::None; }
  // Elements per partition (product of free-dim counts), elements and bytes
  // of the whole operand: saturating at UINT64_MAX (four uint32 counts
  // overflow 64 bits), so an oversized operand compares above every limit.
  uint64_t freeSize() const;
  uint64_t elementCount() const;
  uint64_t bytes() const;
  // True when the free dims walk memory contiguously (innermost stride 1 and
  // each outer stride equal to the span of the dims inside it).
  bool contiguousFree() const;
  // Length in bytes of the longest contiguous run per row (for DMA efficiency).
  uint64_t contiguousRunBytes() const;
  // Lowest and highest element offsets (relative to `offset`, per row) touched.
  void freeExtent(int64_t &minElem, int64_t &maxElem) const;
  bool hasLoopSteps() const;

  bool operator==(const AccessPattern &o) const;
  bool operator!=(const AccessPattern &o) const { return !(*this == o); }
};

} // namespace trnx
