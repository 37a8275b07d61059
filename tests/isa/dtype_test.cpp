// Rounding, overflow and NaN rules of every dtype conversion (docs/isa.md
// "Data types"). Expected bit patterns are worked out by hand from the formats.
#include "isa/DType.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

using namespace trnx;

namespace {

float bitsToFloat(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

} // namespace

TEST(DType, NamesRoundTrip) {
  for (int i = 0; i < kNumDTypes; ++i) {
    DType t = static_cast<DType>(i);
    ASSERT_EQ(parseDType(dtypeName(t)), t);
  }
  EXPECT_FALSE(parseDType("fp64"));
  EXPECT_FALSE(isValidDType(kNumDTypes));
}

TEST(DType, BF16RoundsToNearestEven) {
  // 1 + 2^-8 lies exactly between 1 and 1 + 2^-7: ties to even -> 1.0.
  EXPECT_EQ(encode(DType::BF16, 1.0f + std::ldexp(1.0f, -8)), 0x3f80u);
  // 1 + 3*2^-8 lies between 1+2^-7 (odd) and 1+2^-6 (even): -> 1+2^-6.
  EXPECT_EQ(encode(DType::BF16, 1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82u);
  // Just above the tie rounds up.
  EXPECT_EQ(encode(DType::BF16, bitsToFloat(0x3f808001)), 0x3f81u);
  EXPECT_EQ(encode(DType::BF16, -2.0f), 0xc000u);
}

TEST(DType, BF16OverflowNaNAndSubnormals) {
  EXPECT_EQ(encode(DType::BF16, bitsToFloat(0x7f7fffff)), 0x7f80u); // max fp32 -> +Inf
  EXPECT_EQ(encode(DType::BF16, -kInf), 0xff80u);
  EXPECT_TRUE(std::isnan(roundTo(DType::BF16, kNaN)));
  EXPECT_TRUE(std::signbit(roundTo(DType::BF16, -kNaN)));
  // Smallest fp32 subnormal rounds to zero; 2^-133 is bf16's smallest subnormal.
  EXPECT_EQ(encode(DType::BF16, bitsToFloat(0x00000001)), 0x0000u);
  EXPECT_EQ(roundTo(DType::BF16, std::ldexp(1.0f, -133)), std::ldexp(1.0f, -133));
  EXPECT_EQ(roundTo(DType::BF16, -0.0f), 0.0f);
  EXPECT_TRUE(std::signbit(roundTo(DType::BF16, -0.0f)));
}

TEST(DType, FP16MatchesIEEEBinary16) {
  EXPECT_EQ(encode(DType::FP16, 1.0f), 0x3c00u);
  EXPECT_EQ(encode(DType::FP16, 65504.0f), 0x7bffu);
  EXPECT_EQ(encode(DType::FP16, 65519.0f), 0x7bffu); // below the halfway point to 65536
  EXPECT_EQ(encode(DType::FP16, 65520.0f), 0x7c00u); // halfway rounds to even -> Inf
  EXPECT_EQ(encode(DType::FP16, std::ldexp(1.0f, -24)), 0x0001u); // smallest subnormal
  EXPECT_EQ(encode(DType::FP16, std::ldexp(1.0f, -25)), 0x0000u); // tie to even (0)
  EXPECT_EQ(encode(DType::FP16, 3 * std::ldexp(1.0f, -25)), 0x0002u); // tie to even (2)
  EXPECT_EQ(encode(DType::FP16, kInf), 0x7c00u);
  EXPECT_EQ(encode(DType::FP16, kNaN) & 0x7c00u, 0x7c00u);
  EXPECT_NE(encode(DType::FP16, kNaN) & 0x03ffu, 0u);
  EXPECT_EQ(decode(DType::FP16, 0x3555), bitsToFloat(0x3eaaa000)); // 0.333251953125
}

TEST(DType, FP8E4M3SaturatesAndHasNoInfinity) {
  EXPECT_EQ(maxFinite(DType::FP8E4M3), 448.0f);
  EXPECT_EQ(encode(DType::FP8E4M3, 448.0f), 0x7eu);
  EXPECT_EQ(encode(DType::FP8E4M3, 1000.0f), 0x7eu);  // saturates
  EXPECT_EQ(encode(DType::FP8E4M3, kInf), 0x7eu);
  EXPECT_EQ(encode(DType::FP8E4M3, -kInf), 0xfeu);
  EXPECT_EQ(encode(DType::FP8E4M3, kNaN), 0x7fu);
  EXPECT_TRUE(std::isnan(decode(DType::FP8E4M3, 0x7f)));
  EXPECT_TRUE(std::isnan(decode(DType::FP8E4M3, 0xff)));
  EXPECT_EQ(decode(DType::FP8E4M3, 0x01), std::ldexp(1.0f, -9)); // smallest subnormal
  EXPECT_EQ(encode(DType::FP8E4M3, 1.0f), 0x38u);
  // 1.0625 is halfway between 1.0 and 1.125: ties to even -> 1.0.
  EXPECT_EQ(encode(DType::FP8E4M3, 1.0625f), 0x38u);
  EXPECT_EQ(encode(DType::FP8E4M3, 1.1875f), 0x3au); // halfway 1.125/1.25 -> 1.25
}

TEST(DType, FP8E5M2IsIEEELike) {
  EXPECT_EQ(maxFinite(DType::FP8E5M2), 57344.0f);
  EXPECT_EQ(encode(DType::FP8E5M2, 57344.0f), 0x7bu);
  EXPECT_EQ(encode(DType::FP8E5M2, 61440.0f), 0x7cu); // halfway to 65536 -> even -> Inf
  EXPECT_EQ(encode(DType::FP8E5M2, 60000.0f), 0x7bu);
  EXPECT_EQ(encode(DType::FP8E5M2, -kInf), 0xfcu);
  EXPECT_TRUE(std::isinf(decode(DType::FP8E5M2, 0x7c)));
  EXPECT_TRUE(std::isnan(decode(DType::FP8E5M2, 0x7e)));
  EXPECT_TRUE(std::isnan(roundTo(DType::FP8E5M2, kNaN)));
  EXPECT_EQ(decode(DType::FP8E5M2, 0x01), std::ldexp(1.0f, -16));
}

TEST(DType, IntegersRoundEvenSaturateAndZeroNaN) {
  EXPECT_EQ(roundTo(DType::INT8, 2.5f), 2.0f);
  EXPECT_EQ(roundTo(DType::INT8, 3.5f), 4.0f);
  EXPECT_EQ(roundTo(DType::INT8, -2.5f), -2.0f);
  EXPECT_EQ(roundTo(DType::INT8, 300.0f), 127.0f);
  EXPECT_EQ(roundTo(DType::INT8, -300.0f), -128.0f);
  EXPECT_EQ(roundTo(DType::INT8, kNaN), 0.0f);
  EXPECT_EQ(roundTo(DType::INT32, 1e10f), 2147483647.0f);
  EXPECT_EQ(encode(DType::INT32, -1.0f), 0xffffffffu);
}

TEST(DType, EveryEightBitCodeSurvivesDecodeThenEncode) {
  for (DType t : {DType::FP8E4M3, DType::FP8E5M2}) {
    for (uint32_t code = 0; code < 256; ++code) {
      float v = decode(t, code);
      if (std::isnan(v))
        continue;
      EXPECT_EQ(encode(t, v), code) << dtypeName(t) << " code " << code;
    }
  }
}

TEST(DType, EverySixteenBitCodeSurvivesDecodeThenEncode) {
  for (DType t : {DType::BF16, DType::FP16}) {
    for (uint32_t code = 0; code < 65536; ++code) {
      float v = decode(t, code);
      if (std::isnan(v))
        continue;
      ASSERT_EQ(encode(t, v), code) << dtypeName(t) << " code " << code;
    }
  }
}

TEST(DType, RoundingIsMonotonicAndNearest) {
  // For a sweep of values, the rounded value is one of the two neighbours and
  // the nearer one.
  for (DType t : {DType::BF16, DType::FP16, DType::FP8E4M3, DType::FP8E5M2}) {
    for (int i = -4000; i <= 4000; ++i) {
      float x = static_cast<float>(i) * 0.0371f;
      float r = roundTo(t, x);
      uint32_t code = encode(t, x);
      float up = decode(t, code + 1), down = code ? decode(t, code - 1) : r;
      if (std::isnan(up) || std::isinf(up) || std::isnan(down) || std::isinf(down))
        continue;
      EXPECT_LE(std::fabs(r - x), std::fabs(up - x) + 1e-12f) << dtypeName(t) << " " << x;
      EXPECT_LE(std::fabs(r - x), std::fabs(down - x) + 1e-12f) << dtypeName(t) << " " << x;
    }
  }
}

// FP4 E2M1 (OCP MX v1.0): sign, 2 exponent bits (bias 1), 1 mantissa bit; every
// code finite: +-{0, 0.5, 1, 1.5, 2, 3, 4, 6}.
TEST(DType, FP4E2M1CodesAndRounding) {
  const float values[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  for (uint32_t c = 0; c < 8; ++c) {
    EXPECT_EQ(decodeFP4(c), values[c]) << c;
    EXPECT_EQ(decodeFP4(c | 8), -values[c]) << c;
    EXPECT_EQ(encodeFP4(values[c]), c);
  }
  EXPECT_TRUE(std::signbit(decodeFP4(8))); // -0
  EXPECT_EQ(encodeFP4(0.25f), 0x0u);       // tie between 0 and 0.5: even (0)
  EXPECT_EQ(encodeFP4(0.75f), 0x2u);       // tie between 0.5 and 1: even (1.0)
  EXPECT_EQ(encodeFP4(2.5f), 0x4u);        // tie between 2 and 3: even (2)
  EXPECT_EQ(encodeFP4(5.0f), 0x6u);        // tie between 4 and 6: even (4)
  EXPECT_EQ(encodeFP4(5.1f), 0x7u);
  EXPECT_EQ(encodeFP4(100.0f), 0x7u);      // saturates to 6
  EXPECT_EQ(encodeFP4(-kInf), 0xfu);       // -6
  EXPECT_EQ(encodeFP4(kNaN), 0x7u);        // no NaN code: +6 (documented)
  // As a scalar dtype: both nibbles hold the value, the low one is read back.
  EXPECT_EQ(encode(DType::FP4E2M1X2, -1.5f), 0xbbu);
  EXPECT_EQ(decode(DType::FP4E2M1X2, 0xf1), 0.5f);
  EXPECT_EQ(maxFinite(DType::FP4E2M1X2), 6.0f);
  EXPECT_EQ(dtypeSize(DType::FP4E2M1X2), 1u);
  EXPECT_EQ(valuesPerElement(DType::FP4E2M1X2), 2u);
}

// E8M0 scales: 2^(bits - 127), 0xFF = NaN; no sign, no zero.
TEST(DType, E8M0Scales) {
  EXPECT_EQ(decode(DType::E8M0, 127), 1.0f);
  EXPECT_EQ(decode(DType::E8M0, 0), std::ldexp(1.0f, -127));
  EXPECT_EQ(decode(DType::E8M0, 254), std::ldexp(1.0f, 127));
  EXPECT_TRUE(std::isnan(decode(DType::E8M0, 255)));
  EXPECT_EQ(encode(DType::E8M0, 1.0f), 127u);
  EXPECT_EQ(encode(DType::E8M0, 0.125f), 124u);
  EXPECT_EQ(encode(DType::E8M0, 1.4f), 127u); // nearer 1 than 2
  EXPECT_EQ(encode(DType::E8M0, 1.5f), 128u); // the midpoint rounds up
  EXPECT_EQ(encode(DType::E8M0, 1e-45f), 0u); // clamps to 2^-127
  EXPECT_EQ(encode(DType::E8M0, 3e38f), 254u); // clamps to 2^127
  for (float bad : {0.0f, -1.0f, kInf, kNaN})
    EXPECT_EQ(encode(DType::E8M0, bad), 255u) << bad;
}
