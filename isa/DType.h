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
};
constexpr int kNumDTypes = 7;

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
uint32_t encode(DType t, float x); // rounds like roundTo; low dtypeSize bytes used
float decode(DType t, uint32_t bits);

// Reads/writes one element of type `t` at `p` (little endian).
float loadElement(DType t, const uint8_t *p);
void storeElement(DType t, uint8_t *p, float x);

// The largest finite value of a float type.
float maxFinite(DType t);

} // namespace trnx
