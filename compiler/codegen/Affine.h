// An integer affine function of the enclosing loop indices,
// c + k0*i0 + k1*i1 + ... (i0 = outermost loop). Kernel code uses it for tile
// indices and byte offsets; it becomes an operand offset plus loop steps.
#pragma once

#include "isa/AccessPattern.h"

#include <array>
#include <cstdint>

namespace trnx::cg {

struct Affine {
  int64_t constant = 0;
  std::array<int64_t, kMaxLoopDepth> coeff{};

  Affine(int64_t c = 0) : constant(c) {} // NOLINT: integers are constant affines
  static Affine loopIndex(int level) {
    Affine a;
    a.coeff[level] = 1;
    return a;
  }
  bool isConstant() const {
    for (int64_t k : coeff)
      if (k)
        return false;
    return true;
  }
  Affine operator+(const Affine &o) const {
    Affine r = *this;
    r.constant += o.constant;
    for (int l = 0; l < kMaxLoopDepth; ++l)
      r.coeff[l] += o.coeff[l];
    return r;
  }
  Affine operator*(int64_t k) const {
    Affine r = *this;
    r.constant *= k;
    for (int64_t &c : r.coeff)
      c *= k;
    return r;
  }
  Affine operator-(const Affine &o) const { return *this + o * -1; }
};

inline Affine operator*(int64_t k, const Affine &a) { return a * k; }

} // namespace trnx::cg
