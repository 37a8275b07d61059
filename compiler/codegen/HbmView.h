// A strided view of an HBM tensor: what kernels read and write. Reshapes,
// transposes, slices and broadcasts are views (no data moved); a kernel's
// DMAs walk the view's strides.
#pragma once

#include "isa/DType.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace trnx::cg {

struct HbmView {
  uint32_t tensor = 0;
  int64_t offset = 0;            // elements from the tensor's start
  DType dtype = DType::FP32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // elements; 0 = broadcast

  static HbmView contiguous(uint32_t tensor, DType dtype, std::vector<int64_t> shape, int64_t offset = 0);
  int rank() const { return static_cast<int>(shape.size()); }
  int64_t elementCount() const;
  bool isContiguous() const;
  int64_t byteOffset() const { return offset * dtypeSize(dtype); }

  HbmView reshaped(const std::vector<int64_t> &newShape) const; // contiguous views only
  // The same elements in row-major order as `newShape` without moving them,
  // when the strides allow (numpy's no-copy reshape: dims merge only where
  // contiguous with each other, unit dims anywhere); nullopt otherwise.
  std::optional<HbmView> reshapedInPlace(const std::vector<int64_t> &newShape) const;
  HbmView transposed(const std::vector<int64_t> &perm) const;
  HbmView sliced(const std::vector<int64_t> &starts, const std::vector<int64_t> &sizes,
                 const std::vector<int64_t> &steps) const;
  // Right-aligned numpy broadcast to `target` (stride 0 on broadcast dims).
  HbmView broadcastTo(const std::vector<int64_t> &target) const;
};

// Merges adjacent dims that every view walks contiguously (stride_outer ==
// stride_inner * size_inner for all of them) and drops size-1 dims. All views
// must have the same shape; the result keeps them the same shape.
void collapseTogether(std::vector<HbmView *> views);

} // namespace trnx::cg
