// NumPy .npy files in and out, and conversion between numpy arrays and the
// bytes of a program tensor (rounding to the tensor's dtype on the way in).
#pragma once

#include "isa/Program.h"

#include <cstdint>
#include <string>
#include <vector>

namespace trnx {

// A C-ordered array as numpy stores it: descr such as "<f4", shape, bytes.
struct HostArray {
  std::string descr = "<f4";
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;

  size_t elementCount() const;
  size_t itemSize() const;
};

HostArray readNpy(const std::string &path);
HostArray parseNpy(const std::vector<uint8_t> &bytes, const std::string &origin);
void writeNpy(const std::string &path, const HostArray &array);
std::vector<uint8_t> serializeNpy(const HostArray &array);

// The bytes of tensor `t` for an input array (shape must match; values are
// converted to t.dtype with the hardware's rounding). Throws naming `t`.
std::vector<uint8_t> arrayToTensorBytes(const HostArray &array, const TensorInfo &t);
// A numpy array holding a tensor's bytes: fp32->"<f4", fp16->"<f2",
// bf16/fp8->"<f4" (exact), int8->"|i1", int32->"<i4".
HostArray tensorBytesToArray(const uint8_t *bytes, const TensorInfo &t);

} // namespace trnx
