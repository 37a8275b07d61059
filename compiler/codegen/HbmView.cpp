// View arithmetic.
#include "compiler/codegen/HbmView.h"

#include "isa/Error.h"

namespace trnx::cg {

HbmView HbmView::contiguous(uint32_t tensor, DType dtype, std::vector<int64_t> shape, int64_t offset) {
  HbmView v;
  v.tensor = tensor;
  v.dtype = dtype;
  v.offset = offset;
  v.shape = std::move(shape);
  v.strides.assign(v.shape.size(), 1);
  for (int i = static_cast<int>(v.shape.size()) - 2; i >= 0; --i)
    v.strides[i] = v.strides[i + 1] * v.shape[i + 1];
  return v;
}

int64_t HbmView::elementCount() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

bool HbmView::isContiguous() const {
  int64_t expect = 1;
  for (int i = rank() - 1; i >= 0; --i) {
    if (shape[i] != 1 && strides[i] != expect)
      return false;
    expect *= shape[i];
  }
  return true;
}

HbmView HbmView::reshaped(const std::vector<int64_t> &newShape) const {
  if (!isContiguous())
    fail("internal: reshape of a non-contiguous view");
  HbmView v = contiguous(tensor, dtype, newShape, offset);
  if (v.elementCount() != elementCount())
    fail("internal: reshape changes the element count");
  return v;
}

std::optional<HbmView> HbmView::reshapedInPlace(const std::vector<int64_t> &newShape) const {
  if (isContiguous())
    return reshaped(newShape);
  // Non-unit dims of the view; new dims are built group by group: a group of
  // old dims with the same element product as a group of new dims, the old
  // ones contiguous with each other (stride[i] = stride[i+1] * shape[i+1]).
  std::vector<int64_t> oldShape, oldStrides;
  for (int i = 0; i < rank(); ++i)
    if (shape[i] != 1) {
      oldShape.push_back(shape[i]);
      oldStrides.push_back(strides[i]);
    }
  int64_t total = 1;
  for (int64_t n : newShape)
    total *= n;
  if (total != elementCount())
    return std::nullopt;
  std::vector<int64_t> newStrides(newShape.size(), 0);
  size_t oi = 0, ni = 0;
  while (ni < newShape.size()) {
    if (newShape[ni] == 1) {
      newStrides[ni++] = 0;
      continue;
    }
    if (oi >= oldShape.size())
      return std::nullopt;
    // Grow both groups until their products agree.
    size_t o0 = oi, n0 = ni;
    int64_t po = oldShape[oi++], pn = newShape[ni++];
    while (po != pn) {
      if (po < pn) {
        if (oi >= oldShape.size())
          return std::nullopt;
        po *= oldShape[oi++];
      } else {
        if (ni >= newShape.size())
          return std::nullopt;
        pn *= newShape[ni++];
      }
    }
    for (size_t k = o0; k + 1 < oi; ++k)
      if (oldStrides[k] != oldStrides[k + 1] * oldShape[k + 1])
        return std::nullopt;
    // New dims of the group: strides from the group's innermost old stride.
    int64_t stride = oldStrides[oi - 1];
    for (size_t k = ni; k-- > n0;) {
      newStrides[k] = newShape[k] == 1 ? 0 : stride;
      stride *= newShape[k];
    }
  }
  if (oi != oldShape.size())
    return std::nullopt;
  HbmView v = *this;
  v.shape = newShape;
  v.strides = newStrides;
  return v;
}

HbmView HbmView::transposed(const std::vector<int64_t> &perm) const {
  HbmView v = *this;
  for (size_t i = 0; i < perm.size(); ++i) {
    v.shape[i] = shape[perm[i]];
    v.strides[i] = strides[perm[i]];
  }
  return v;
}

HbmView HbmView::sliced(const std::vector<int64_t> &starts, const std::vector<int64_t> &sizes,
                        const std::vector<int64_t> &steps) const {
  HbmView v = *this;
  for (int i = 0; i < rank(); ++i) {
    v.offset += starts[i] * strides[i];
    v.shape[i] = sizes[i];
    v.strides[i] = strides[i] * steps[i];
  }
  return v;
}

HbmView HbmView::broadcastTo(const std::vector<int64_t> &target) const {
  if (target.size() < shape.size())
    fail("internal: broadcast to a lower rank");
  HbmView v = *this;
  size_t lead = target.size() - shape.size();
  v.shape = target;
  v.strides.assign(target.size(), 0);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == target[lead + i])
      v.strides[lead + i] = strides[i];
    else if (shape[i] != 1)
      fail("internal: cannot broadcast dim of ", shape[i], " to ", target[lead + i]);
  }
  return v;
}

void collapseTogether(std::vector<HbmView *> views) {
  if (views.empty())
    return;
  const std::vector<int64_t> shape = views[0]->shape;
  std::vector<int64_t> outShape;
  std::vector<std::vector<int64_t>> outStrides(views.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1)
      continue;
    bool merge = !outShape.empty();
    for (size_t v = 0; merge && v < views.size(); ++v)
      merge = outStrides[v].back() == views[v]->strides[d] * shape[d];
    if (merge) {
      outShape.back() *= shape[d];
      for (size_t v = 0; v < views.size(); ++v)
        outStrides[v].back() = views[v]->strides[d];
    } else {
      outShape.push_back(shape[d]);
      for (size_t v = 0; v < views.size(); ++v)
        outStrides[v].push_back(views[v]->strides[d]);
    }
  }
  if (outShape.empty()) { // a single element
    outShape.push_back(1);
    for (auto &s : outStrides)
      s.push_back(1);
  }
  for (size_t v = 0; v < views.size(); ++v) {
    views[v]->shape = outShape;
    views[v]->strides = outStrides[v];
  }
}

} // namespace trnx::cg
