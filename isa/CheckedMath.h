// Overflow-checked integer arithmetic for sizes, extents and offsets. Sizes
// computed from untrusted input (shapes, counts, strides) use these so that a
// product that wraps is reported instead of silently becoming a small number.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>

namespace trnx {

// True when a*b (a+b) does not fit T; *out holds the wrapped result then.
template <typename T> bool mulOverflow(T a, T b, T *out) { return __builtin_mul_overflow(a, b, out); }
template <typename T> bool addOverflow(T a, T b, T *out) { return __builtin_add_overflow(a, b, out); }

// Saturating forms: a result that does not fit is UINT64_MAX, which exceeds
// every real limit, so one comparison against the limit catches overflow too.
inline uint64_t saturatingMul(uint64_t a, uint64_t b) {
  uint64_t r;
  return mulOverflow(a, b, &r) ? std::numeric_limits<uint64_t>::max() : r;
}
inline uint64_t saturatingAdd(uint64_t a, uint64_t b) {
  uint64_t r;
  return addOverflow(a, b, &r) ? std::numeric_limits<uint64_t>::max() : r;
}
inline uint64_t saturatingProduct(std::initializer_list<uint64_t> factors) {
  uint64_t n = 1;
  for (uint64_t f : factors)
    n = saturatingMul(n, f);
  return n;
}

} // namespace trnx
