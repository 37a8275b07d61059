// Operand builders.
#include "compiler/codegen/Operands.h"

#include "isa/Error.h"

#include <limits>

namespace trnx::cg {

void setOffset(AccessPattern &ap, const Affine &byteOffset) {
  ap.offset = byteOffset.constant;
  for (int l = 0; l < kMaxLoopDepth; ++l) {
    if (byteOffset.coeff[l] < std::numeric_limits<int32_t>::min() ||
        byteOffset.coeff[l] > std::numeric_limits<int32_t>::max())
      fail("internal: loop step of ", byteOffset.coeff[l], " bytes exceeds the ISA's int32 steps");
    ap.offsetStep[l] = static_cast<int32_t>(byteOffset.coeff[l]);
  }
}

static void setDims(AccessPattern &ap, const std::vector<Dim> &dims) {
  if (dims.size() > kMaxFreeDims)
    fail("internal: operand with ", dims.size(), " free dims");
  ap.numDims = static_cast<uint8_t>(dims.size());
  for (size_t d = 0; d < dims.size(); ++d)
    ap.dims[d] = dims[d];
}

AccessPattern onChip(const OnChip &buffer, const Affine &byteOffset, DType dtype,
                     const std::vector<Dim> &dims, int rows, int pstart) {
  AccessPattern ap;
  ap.space = buffer.space;
  ap.dtype = dtype;
  ap.partitionStart = static_cast<uint16_t>(pstart);
  ap.partitionCount = static_cast<uint16_t>(rows);
  setOffset(ap, Affine(buffer.offset) + byteOffset);
  setDims(ap, dims);
  return ap;
}

AccessPattern hbm(uint32_t tensor, const Affine &byteOffset, DType dtype, int64_t rowStride, int rows,
                  const std::vector<Dim> &dims) {
  AccessPattern ap;
  ap.space = MemSpace::HBM;
  ap.dtype = dtype;
  ap.tensor = tensor;
  if (rowStride < std::numeric_limits<int32_t>::min() || rowStride > std::numeric_limits<int32_t>::max())
    fail("internal: HBM row stride of ", rowStride, " elements exceeds int32");
  ap.partitionStride = static_cast<int32_t>(rowStride);
  ap.partitionCount = static_cast<uint16_t>(rows);
  setOffset(ap, byteOffset);
  setDims(ap, dims);
  return ap;
}

} // namespace trnx::cg
