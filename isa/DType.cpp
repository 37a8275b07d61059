// Conversions between fp32 and the ISA's storage types. Narrow floats are
// rounded with exact double arithmetic (every fp32 is exact in double and
// scaling by powers of two is exact), so one routine serves every format.
#include "isa/DType.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

namespace trnx {
namespace {

struct MiniFloat {
  int exponentBits;
  int mantissaBits;
  bool hasInfinity;  // IEEE style; otherwise the top code is NaN only (fn)
  bool saturate;     // overflow goes to max finite instead of infinity
  bool hasNaN = true; // false: every code is finite (FP4 E2M1)
};

constexpr MiniFloat kFP4E2M1 = {2, 1, false, true, false};

MiniFloat formatOf(DType t) {
  switch (t) {
  case DType::BF16:
    return {8, 7, true, false};
  case DType::FP16:
    return {5, 10, true, false};
  case DType::FP8E4M3:
    return {4, 3, false, true};
  case DType::FP8E5M2:
    return {5, 2, true, false};
  default:
    return {8, 23, true, false};
  }
}

int bias(const MiniFloat &f) { return (1 << (f.exponentBits - 1)) - 1; }

double maxFiniteOf(const MiniFloat &f) {
  int maxExp = (1 << f.exponentBits) - 1 - bias(f); // all-ones exponent
  double mantissa;
  if (f.hasInfinity) {
    maxExp -= 1; // all-ones exponent is reserved for Inf/NaN
    mantissa = 2.0 - std::ldexp(1.0, -f.mantissaBits);
  } else if (!f.hasNaN) {
    mantissa = 2.0 - std::ldexp(1.0, -f.mantissaBits); // every code finite
  } else {
    // fn formats: all-ones exponent is finite except all-ones mantissa (NaN).
    mantissa = 2.0 - std::ldexp(1.0, -f.mantissaBits + 1);
  }
  return std::ldexp(mantissa, maxExp);
}

uint32_t nanBits(const MiniFloat &f) {
  uint32_t expOnes = (1u << f.exponentBits) - 1;
  uint32_t mant = f.hasInfinity ? (1u << (f.mantissaBits - 1)) : (1u << f.mantissaBits) - 1;
  return (expOnes << f.mantissaBits) | mant;
}

// Encodes x in the mini-float format (sign in the top bit).
uint32_t encodeMini(const MiniFloat &f, float x) {
  const uint32_t signBit = 1u << (f.exponentBits + f.mantissaBits);
  if (std::isnan(x) && !f.hasNaN)
    x = std::numeric_limits<float>::infinity(); // saturates below
  if (std::isnan(x))
    return nanBits(f) | (std::signbit(x) ? signBit : 0);
  uint32_t sign = std::signbit(x) ? signBit : 0;
  double a = std::fabs(static_cast<double>(x));
  const double maxF = maxFiniteOf(f);
  const int emin = 1 - bias(f);
  auto overflow = [&]() -> uint32_t {
    if (f.saturate || !f.hasInfinity) {
      if (!f.saturate) // fn format without saturation: NaN
        return nanBits(f) | sign;
      return encodeMini(f, static_cast<float>(maxF)) | sign;
    }
    return sign | (((1u << f.exponentBits) - 1) << f.mantissaBits);
  };
  if (std::isinf(a))
    return overflow();
  if (a == 0.0)
    return sign;
  int e;
  std::frexp(a, &e); // a = m * 2^e, m in [0.5, 1)
  int unbiased = e - 1;
  if (unbiased < emin)
    unbiased = emin; // subnormal range shares the minimum quantum
  double quantum = std::ldexp(1.0, unbiased - f.mantissaBits);
  double q = std::nearbyint(a / quantum); // FE_TONEAREST: ties to even
  double r = q * quantum;
  if (r > maxF)
    return overflow();
  if (r == 0.0)
    return sign;
  // Re-derive exponent after rounding (rounding may carry into the next binade).
  std::frexp(r, &e);
  int exp = e - 1;
  uint32_t field, mant;
  if (exp < emin) { // subnormal
    field = 0;
    mant = static_cast<uint32_t>(r / std::ldexp(1.0, emin - f.mantissaBits));
  } else {
    field = static_cast<uint32_t>(exp + bias(f));
    mant = static_cast<uint32_t>((r / std::ldexp(1.0, exp) - 1.0) *
                                 std::ldexp(1.0, f.mantissaBits));
  }
  return sign | (field << f.mantissaBits) | mant;
}

float decodeMini(const MiniFloat &f, uint32_t bits) {
  const int total = f.exponentBits + f.mantissaBits;
  const bool neg = (bits >> total) & 1;
  const uint32_t field = (bits >> f.mantissaBits) & ((1u << f.exponentBits) - 1);
  const uint32_t mant = bits & ((1u << f.mantissaBits) - 1);
  const uint32_t expOnes = (1u << f.exponentBits) - 1;
  double v;
  if (field == expOnes && f.hasInfinity) {
    v = mant ? std::numeric_limits<double>::quiet_NaN()
             : std::numeric_limits<double>::infinity();
  } else if (field == expOnes && !f.hasInfinity && f.hasNaN && mant == (1u << f.mantissaBits) - 1) {
    v = std::numeric_limits<double>::quiet_NaN();
  } else if (field == 0) {
    v = std::ldexp(static_cast<double>(mant), 1 - bias(f) - f.mantissaBits);
  } else {
    v = std::ldexp(1.0 + std::ldexp(static_cast<double>(mant), -f.mantissaBits),
                   static_cast<int>(field) - bias(f));
  }
  return static_cast<float>(neg ? -v : v);
}

uint32_t floatBits(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  return b;
}
float bitsFloat(uint32_t b) {
  float x;
  std::memcpy(&x, &b, 4);
  return x;
}

// bf16 is hot in functional simulation: the classic bit trick is exact RNE.
uint32_t encodeBF16(float x) {
  uint32_t b = floatBits(x);
  if (std::isnan(x))
    return ((b >> 16) | 0x40) & 0xffff; // quiet NaN, sign kept
  uint32_t lsb = (b >> 16) & 1;
  b += 0x7fff + lsb;
  return b >> 16;
}

template <int Size> std::array<float, 256> decodeTable(DType t) {
  std::array<float, 256> table{};
  for (int i = 0; i < 256; ++i)
    table[i] = decodeMini(formatOf(t), static_cast<uint32_t>(i));
  return table;
}

int32_t toInt(float x, int64_t lo, int64_t hi) {
  if (std::isnan(x))
    return 0;
  double r = std::nearbyint(static_cast<double>(x));
  if (r < static_cast<double>(lo))
    return static_cast<int32_t>(lo);
  if (r > static_cast<double>(hi))
    return static_cast<int32_t>(hi);
  return static_cast<int32_t>(r);
}

uint32_t encodeE8M0(float x) {
  if (!(x > 0.0f) || std::isinf(x))
    return 0xff; // NaN, zero, negative and infinite scales have no code
  int e;
  double m = std::frexp(static_cast<double>(x), &e); // x = m * 2^e, m in [0.5, 1)
  int exp = e - 1;                                    // x = (2m) * 2^exp, 2m in [1, 2)
  if (2.0 * m >= 1.5)
    ++exp; // nearer (or tied) to the next power of two
  return static_cast<uint32_t>(std::clamp(exp, -127, 127) + 127);
}

float decodeE8M0(uint32_t bits) {
  bits &= 0xff;
  if (bits == 0xff)
    return std::numeric_limits<float>::quiet_NaN();
  return std::ldexp(1.0f, static_cast<int>(bits) - 127);
}

} // namespace

float decodeFP4(uint32_t nibble) {
  static const std::array<float, 16> table = [] {
    std::array<float, 16> t{};
    for (uint32_t i = 0; i < 16; ++i)
      t[i] = decodeMini(kFP4E2M1, i);
    return t;
  }();
  return table[nibble & 0xf];
}

uint32_t encodeFP4(float x) { return encodeMini(kFP4E2M1, x); }

std::string_view dtypeName(DType t) {
  switch (t) {
  case DType::FP32: return "fp32";
  case DType::BF16: return "bf16";
  case DType::FP16: return "fp16";
  case DType::FP8E4M3: return "fp8e4m3";
  case DType::FP8E5M2: return "fp8e5m2";
  case DType::INT8: return "int8";
  case DType::INT32: return "int32";
  case DType::FP4E2M1X2: return "fp4e2m1x2";
  case DType::E8M0: return "e8m0";
  }
  return "?";
}

std::optional<DType> parseDType(std::string_view name) {
  for (int i = 0; i < kNumDTypes; ++i)
    if (dtypeName(static_cast<DType>(i)) == name)
      return static_cast<DType>(i);
  return std::nullopt;
}

bool isValidDType(uint8_t raw) { return raw < kNumDTypes; }

uint32_t encode(DType t, float x) {
  switch (t) {
  case DType::FP32:
    return floatBits(x);
  case DType::BF16:
    return encodeBF16(x);
  case DType::FP16:
  case DType::FP8E4M3:
  case DType::FP8E5M2:
    return encodeMini(formatOf(t), x);
  case DType::INT8:
    return static_cast<uint32_t>(toInt(x, -128, 127)) & 0xff;
  case DType::INT32:
    return static_cast<uint32_t>(toInt(x, INT32_MIN, INT32_MAX));
  case DType::FP4E2M1X2: {
    uint32_t nibble = encodeFP4(x);
    return nibble | (nibble << 4);
  }
  case DType::E8M0:
    return encodeE8M0(x);
  }
  return 0;
}

float decode(DType t, uint32_t bits) {
  static const std::array<float, 256> e4m3 = decodeTable<1>(DType::FP8E4M3);
  static const std::array<float, 256> e5m2 = decodeTable<1>(DType::FP8E5M2);
  switch (t) {
  case DType::FP32:
    return bitsFloat(bits);
  case DType::BF16:
    return bitsFloat((bits & 0xffff) << 16);
  case DType::FP16:
    return decodeMini(formatOf(t), bits & 0xffff);
  case DType::FP8E4M3:
    return e4m3[bits & 0xff];
  case DType::FP8E5M2:
    return e5m2[bits & 0xff];
  case DType::INT8:
    return static_cast<float>(static_cast<int8_t>(bits & 0xff));
  case DType::INT32:
    return static_cast<float>(static_cast<int32_t>(bits));
  case DType::FP4E2M1X2:
    return decodeFP4(bits);
  case DType::E8M0:
    return decodeE8M0(bits);
  }
  return 0.0f;
}

float roundTo(DType t, float x) { return decode(t, encode(t, x)); }

float loadElement(DType t, const uint8_t *p) {
  uint32_t bits = 0;
  std::memcpy(&bits, p, dtypeSize(t)); // little-endian host assumed (x86/arm)
  return decode(t, bits);
}

void storeElement(DType t, uint8_t *p, float x) {
  uint32_t bits = encode(t, x);
  std::memcpy(p, &bits, dtypeSize(t));
}

float maxFinite(DType t) {
  switch (t) {
  case DType::FP32:
    return std::numeric_limits<float>::max();
  case DType::INT8:
    return 127.0f;
  case DType::INT32:
    return 2147483647.0f;
  case DType::FP4E2M1X2:
    return 6.0f;
  case DType::E8M0:
    return std::ldexp(1.0f, 127);
  default:
    return static_cast<float>(maxFiniteOf(formatOf(t)));
  }
}

} // namespace trnx
