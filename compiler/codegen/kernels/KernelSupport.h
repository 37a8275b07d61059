// Helpers shared by kernel generators: DMA queue rotation and splitting, work splitting
// across cores, and DMA operands for 2-D pieces of HBM views.
#pragma once

#include "compiler/codegen/CoreKernel.h"
#include "compiler/codegen/HbmView.h"
#include "compiler/codegen/Operands.h"

#include <vector>

namespace trnx::cg {

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Hands out DMA queues round-robin from a range, so transfers overlap.
class QueueRotor {
public:
  QueueRotor(int first, int count) : first_(first), count_(count) {}
  EngineId next() { return EngineId{EngineKind::DMA, static_cast<uint8_t>(first_ + (next_++ % count_))}; }

private:
  int first_, count_, next_ = 0;
};

// The core's DMA queues split into consecutive ranges in proportion to
// `weights` (one rotor per weight), so each kind of transfer has queues of
// its own; with fewer queues than ranges, ranges share queues.
std::vector<QueueRotor> splitQueues(int queues, const std::vector<int> &weights);

// [begin, end) of part `index` when `total` items are split into `parts`
// nearly equal parts whose sizes are multiples of `align` (but the last).
std::pair<int64_t, int64_t> splitRange(int64_t total, int parts, int index, int64_t align = 1);

// A DMA between an HBM view piece and an on-chip tile: rows of the view go
// to partitions. `rowStride`/`colStride` are the view's strides (elements) of
// the two dims being moved; extra outer dims may be given as free dims.
Instruction dmaCopy(const AccessPattern &dst, const AccessPattern &src, bool transposeUnit = false);

// True when a [rows x cols] piece with these strides should use the DMA
// transpose unit: rows walk contiguous elements, columns do not.
bool wantsTransposeUnit(int64_t rowStride, int64_t colStride, DType dtype, int64_t cols);

} // namespace trnx::cg
