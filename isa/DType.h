// Element data types of the ISA and their hardware conversions: every store
// from the fp32 datapath rounds to nearest, ties to even, with the saturation
// rules documented in docs/isa.md ("Data types").
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace trnx {

enum class DType : uint8_t {
  FP32 = 0,
  BF16 = 1,
  FP16 = 2,
  FP8E4M3 = 3, // OCP e4m3fn: no infinities, max 448, NaN = S.1111.111
  FP8E5M2 = 4, // IEEE-like: infinities, max 57344
  INT8 = 5,
  INT32 = 6,
  // MX (OCP Microscaling v1.0) storage types, legal only where docs/isa.md says:
  FP4E2M1X2 = 7, // two FP4 E2M1 values per byte, low nibble = lower free index
  E8M0 = 8,      // MX block scale: 2^(bits - 127), 0xFF = NaN
};
constexpr int kNumDTypes = 9;

constexpr unsigned dtypeSize(DType t) {
  switch (t) {
  case DType::FP32:
  case DType::INT32:
    return 4;
  case DType::BF16:
  case DType::FP16:
    return 2;
  default:
    return 1;
  }
}

constexpr bool isFloat(DType t) { return t != DType::INT8 && t != DType::INT32; }
constexpr bool isFP8(DType t) {
  return t == DType::FP8E4M3 || t == DType::FP8E5M2;
}
// Element dtypes of MX block-scaled matmul operands.
constexpr bool isMxElement(DType t) { return isFP8(t) || t == DType::FP4E2M1X2; }
// Values per stored element: 2 for packed FP4, else 1. Access patterns, tensor
// shapes and dtypeSize count stored elements (bytes for FP4 pairs).
constexpr unsigned valuesPerElement(DType t) { return t == DType::FP4E2M1X2 ? 2 : 1; }

std::string_view dtypeName(DType t);
std::optional<DType> parseDType(std::string_view name);
bool isValidDType(uint8_t raw);

// A set of dtypes, one bit per enumerator.
using DTypeMask = uint32_t;
constexpr DTypeMask dtypeBit(DType t) { return 1u << static_cast<unsigned>(t); }

// Rounds an fp32 value to the nearest value representable in `t` (RNE) and
// returns it as fp32: the value a store of `x` to a `t` tensor reads back as.
float roundTo(DType t, float x);

// Bit-level conversions between the fp32 datapath and storage.
// FP4E2M1X2 as a scalar: encode stores x (RNE, saturating) in both nibbles and
// decode reads the low nibble; MX kernels use decodeFP4 on each nibble.
// E8M0: decode 2^(bits-127) (0xFF: NaN); encode rounds to the nearest power
// of two, ties up, clamps to [2^-127, 2^127] and maps NaN, Inf, zero and
// negative values to NaN (0xFF), since a scale has no sign and no zero.
uint32_t encode(DType t, float x); // rounds like roundTo; low dtypeSize bytes used
float decode(DType t, uint32_t bits);
// One FP4 E2M1 code (low 4 bits): +-{0, 0.5, 1, 1.5, 2, 3, 4, 6}, no Inf/NaN.
float decodeFP4(uint32_t nibble);
uint32_t encodeFP4(float x); // RNE, saturating to +-6, NaN -> +6 (no NaN code)
// An E8M0 scale byte as a power-of-two exponent (bits - 127), NaN for 0xFF.
inline bool isE8M0NaN(uint8_t bits) { return bits == 0xFF; }

// Reads/writes one element of type `t` at `p` (little endian).
float loadElement(DType t, const uint8_t *p);
void storeElement(DType t, uint8_t *p, float x);

// The largest finite value of a float type.
float maxFinite(DType t);

} // namespace trnx
