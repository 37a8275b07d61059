// Builders of instruction operands for kernel code: on-chip buffers and HBM
// views with offsets that are affine in the loop indices.
#pragma once

#include "compiler/codegen/Affine.h"
#include "isa/AccessPattern.h"

#include <cstdint>
#include <vector>

namespace trnx::cg {

// A region of SBUF or PSUM reserved for a kernel: the same byte range in
// every partition.
struct OnChip {
  MemSpace space = MemSpace::SBUF;
  int64_t offset = 0; // bytes within a partition
  int64_t bytes = 0;  // per partition
};

// Operand in SBUF/PSUM: rows = partitions [pstart, pstart + rows).
AccessPattern onChip(const OnChip &buffer, const Affine &byteOffset, DType dtype,
                     const std::vector<Dim> &dims, int rows, int pstart = 0);
// Operand in HBM: `rows` rows `rowStride` elements apart, then free dims.
AccessPattern hbm(uint32_t tensor, const Affine &byteOffset, DType dtype, int64_t rowStride, int rows,
                  const std::vector<Dim> &dims);
// Sets an operand's offset (and loop steps) from an affine byte offset.
void setOffset(AccessPattern &ap, const Affine &byteOffset);

} // namespace trnx::cg
