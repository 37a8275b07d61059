// Geometry helpers for access patterns.
#include "isa/AccessPattern.h"

#include "isa/CheckedMath.h"

namespace trnx {

uint64_t AccessPattern::freeSize() const {
  uint64_t n = 1;
  for (int d = 0; d < numDims; ++d)
    n = saturatingMul(n, dims[d].count);
  return n;
}

uint64_t AccessPattern::elementCount() const { return saturatingMul(freeSize(), partitionCount); }
uint64_t AccessPattern::bytes() const { return saturatingMul(elementCount(), dtypeSize(dtype)); }

bool AccessPattern::contiguousFree() const {
  int64_t span = 1;
  for (int d = numDims - 1; d >= 0; --d) {
    if (dims[d].count == 1)
      continue;
    if (dims[d].stride != span)
      return false;
    span *= dims[d].count;
  }
  return true;
}

uint64_t AccessPattern::contiguousRunBytes() const {
  int64_t span = 1;
  for (int d = numDims - 1; d >= 0; --d) {
    if (dims[d].count == 1)
      continue;
    if (dims[d].stride != span)
      break;
    span *= dims[d].count;
  }
  return saturatingMul(static_cast<uint64_t>(span), dtypeSize(dtype));
}

void AccessPattern::freeExtent(int64_t &minElem, int64_t &maxElem) const {
  minElem = 0;
  maxElem = 0;
  for (int d = 0; d < numDims; ++d) {
    int64_t reach = static_cast<int64_t>(dims[d].stride) * (static_cast<int64_t>(dims[d].count) - 1);
    if (reach < 0)
      minElem += reach;
    else
      maxElem += reach;
  }
}

bool AccessPattern::hasLoopSteps() const {
  for (int32_t s : offsetStep)
    if (s != 0)
      return true;
  return false;
}

bool AccessPattern::operator==(const AccessPattern &o) const {
  if (space != o.space || dtype != o.dtype || numDims != o.numDims ||
      partitionStart != o.partitionStart || partitionCount != o.partitionCount ||
      tensor != o.tensor || partitionStride != o.partitionStride || offset != o.offset ||
      offsetStep != o.offsetStep)
    return false;
  for (int d = 0; d < numDims; ++d)
    if (!(dims[d] == o.dims[d]))
      return false;
  return true;
}

} // namespace trnx
