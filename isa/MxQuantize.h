// The OCP Microscaling (MX v1.0) block-scale rule quantize_mx implements: the
// shared exponent of a block of 32 values from its largest magnitude. The
// Python reference (python/trnx/mx.py) follows the same rule.
#pragma once

#include "isa/DType.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace trnx {

// Largest power-of-two exponent of an MX element format (OCP MX v1.0 table 1).
constexpr int mxElementEmax(DType t) {
  return t == DType::FP8E4M3 ? 8 : t == DType::FP8E5M2 ? 15 : t == DType::FP4E2M1X2 ? 2 : 0;
}

// The e8m0 code of a block whose largest |x| is amax: floor(log2 amax) - emax
// + 127, clamped to [0, 254]; 0 for an all-zero block, 0xFF (NaN) when amax is
// NaN or infinite.
inline uint8_t mxScaleCode(float amax, DType element) {
  if (std::isnan(amax) || std::isinf(amax))
    return 0xff;
  if (amax == 0.0f)
    return 0;
  int e;
  std::frexp(amax, &e); // amax = m * 2^e, m in [0.5, 1): floor(log2 amax) = e - 1
  return static_cast<uint8_t>(std::clamp(e - 1 - mxElementEmax(element), -127, 127) + 127);
}

} // namespace trnx
