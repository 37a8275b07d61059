// .npy reading and writing (format versions 1-3, every supported dtype,
// 0-D and 1-D shapes), rejection of Fortran order and of truncated or
// corrupt files with trnx::Error, and the conversions between numpy arrays
// and tensor bytes: rounding into bf16/fp8/int tensors, exact widening out.
#include "support/TestSupport.h"
#include "isa/Container.h"
#include "isa/Error.h"
#include "simulator/io/Npy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <random>
#include <typeinfo>

using namespace trnx;
using trnx::testing::errorOf;
using ::testing::HasSubstr;

namespace {

template <typename T>
HostArray makeArray(const std::string &descr, std::vector<int64_t> shape, const std::vector<T> &v) {
  HostArray a;
  a.descr = descr;
  a.shape = std::move(shape);
  a.data.resize(v.size() * sizeof(T));
  if (!v.empty())
    std::memcpy(a.data.data(), v.data(), a.data.size());
  return a;
}

// A file as numpy writes it: magic, version, little-endian header length,
// the dict padded with spaces to a multiple of 64 bytes, '\n', the data.
std::vector<uint8_t> npyFile(const std::string &dict, const std::vector<uint8_t> &data, int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  size_t total = prefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  const size_t len = header.size();
  out.push_back(len & 0xff);
  out.push_back((len >> 8) & 0xff);
  if (major != 1) {
    out.push_back((len >> 16) & 0xff);
    out.push_back((len >> 24) & 0xff);
  }
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::vector<uint8_t> floatBytes(const std::vector<float> &v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

TensorInfo tensor(DType dt, std::vector<int64_t> shape) {
  TensorInfo t;
  t.name = "x";
  t.role = TensorRole::Input;
  t.dtype = dt;
  t.shape = std::move(shape);
  t.sizeBytes = t.naturalSize();
  return t;
}

float bitsF(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

} // namespace

// ---------------------------------------------------------------------------
// Parsing and serialization
// ---------------------------------------------------------------------------

TEST(Npy, SerializeParseRoundTripForEveryDtype) {
  std::vector<HostArray> arrays = {
      makeArray<float>("<f4", {2, 3}, {1.5f, -2, 0, bitsF(0x7f800001), 1e-40f, -0.0f}),
      makeArray<uint16_t>("<f2", {4}, {0x3c00, 0x7c01, 0x8001, 0xfbff}),
      makeArray<int32_t>("<i4", {2, 2}, {16777217, INT32_MIN, INT32_MAX, -1}),
      makeArray<int8_t>("|i1", {3, 1}, {-128, 127, 0}),
      makeArray<double>("<f8", {2}, {1.0 / 3, -1e300}),
      makeArray<uint8_t>("|b1", {5}, {1, 0, 1, 1, 0}),
      makeArray<int64_t>("<i8", {1, 2}, {int64_t(1) << 40, -7}),
      makeArray<int16_t>("<i2", {2}, {-300, 300}),
      makeArray<uint8_t>("|u1", {2}, {255, 7}),
      makeArray<float>("<f4", {}, {42.0f}), // 0-D
      makeArray<float>("<f4", {0}, {}),     // empty 1-D
      makeArray<float>("<f4", {2, 1, 3, 1}, {1, 2, 3, 4, 5, 6}),
  };
  for (const HostArray &a : arrays) {
    SCOPED_TRACE(a.descr + " rank " + std::to_string(a.shape.size()));
    std::vector<uint8_t> bytes = serializeNpy(a);
    // Version 1.0 header padded so that the data starts 64-byte aligned.
    ASSERT_GE(bytes.size(), 10u);
    EXPECT_EQ(std::string(bytes.begin() + 1, bytes.begin() + 6), "NUMPY");
    EXPECT_EQ(bytes[0], 0x93);
    EXPECT_EQ(bytes[6], 1);
    const size_t headerLen = bytes[8] | (bytes[9] << 8);
    EXPECT_EQ((10 + headerLen) % 64, 0u);
    EXPECT_EQ(bytes[10 + headerLen - 1], '\n');
    EXPECT_EQ(bytes.size(), 10 + headerLen + a.data.size());
    const std::string header(bytes.begin() + 10, bytes.begin() + 10 + headerLen);
    EXPECT_THAT(header, HasSubstr("'descr': '" + a.descr + "'"));
    EXPECT_THAT(header, HasSubstr("'fortran_order': False"));
    HostArray b = parseNpy(bytes, "mem");
    EXPECT_EQ(b.descr, a.descr);
    EXPECT_EQ(b.shape, a.shape);
    EXPECT_EQ(b.data, a.data);
  }
  // numpy's spelling of shapes: () for 0-D, (n,) for 1-D.
  auto header = [](const HostArray &a) {
    std::vector<uint8_t> b = serializeNpy(a);
    return std::string(b.begin() + 10, b.begin() + 10 + (b[8] | (b[9] << 8)));
  };
  EXPECT_THAT(header(arrays[9]), HasSubstr("'shape': ()"));
  EXPECT_THAT(header(arrays[1]), HasSubstr("'shape': (4,)"));
  EXPECT_THAT(header(arrays[0]), HasSubstr("'shape': (2, 3)"));
}

TEST(Npy, ParsesVersion1And2And3HeadersAsNumpyWritesThem) {
  const std::vector<float> v = {1, 2, 3, 4, 5, 6};
  for (int major : {1, 2, 3}) {
    SCOPED_TRACE(major);
    HostArray a =
        parseNpy(npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", floatBytes(v), major), "f.npy");
    EXPECT_EQ(a.descr, "<f4");
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(a.data, floatBytes(v));
  }
  // Keys in any order, no trailing comma, 1-D and 0-D shapes.
  HostArray b = parseNpy(npyFile("{'shape': (6,), 'fortran_order': False, 'descr': '<f4'}", floatBytes(v)), "f.npy");
  EXPECT_EQ(b.shape, (std::vector<int64_t>{6}));
  HostArray c = parseNpy(npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': ()}", floatBytes({7})), "f.npy");
  EXPECT_TRUE(c.shape.empty());
  EXPECT_EQ(c.elementCount(), 1u);
  // numpy writes '|u1', '|b1', '|i1' for one-byte types; '<' spellings are accepted too.
  HostArray d = parseNpy(npyFile("{'descr': '<b1', 'fortran_order': False, 'shape': (2,), }", {1, 0}), "f.npy");
  EXPECT_EQ(d.descr, "|b1");
}

TEST(Npy, FortranOrderIsRejected) {
  std::string msg = errorOf([] {
    parseNpy(npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", floatBytes({1, 2, 3, 4, 5, 6})),
             "f.npy");
  });
  EXPECT_THAT(msg, HasSubstr("f.npy"));
  EXPECT_THAT(msg, HasSubstr("Fortran"));
}

TEST(Npy, TruncatedAndCorruptFilesAreErrors) {
  const std::vector<uint8_t> good =
      npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", floatBytes({1, 2, 3, 4, 5, 6}));
  // Every proper prefix is an error naming the file.
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    std::string msg = errorOf([&] { parseNpy(cut, "cut.npy"); });
    ASSERT_THAT(msg, HasSubstr("cut.npy")) << n;
  }
  // Extra trailing data.
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_THAT(errorOf([&] { parseNpy(longer, "f.npy"); }), HasSubstr("data is 25 bytes, its header describes 24"));
  struct Bad {
    std::vector<uint8_t> bytes;
    const char *message;
  } bad[] = {
      {{'n', 'o', 't', ' ', 'n', 'p', 'y', '.', '.', '.', '.', '.'}, "not a .npy file"},
      {npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", floatBytes({1, 2, 3, 4, 5, 6}), 4),
       "unsupported .npy version 4"},
      {npyFile("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", floatBytes({1})),
       "unsupported .npy dtype '>f4'"},
      {npyFile("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", floatBytes({1, 2})),
       "unsupported .npy dtype"},
      {npyFile("{'fortran_order': False, 'shape': (1,), }", floatBytes({1})), "no 'descr'"},
      {npyFile("{'descr': '<f4', 'fortran_order': False, }", floatBytes({1})), "no 'shape'"},
      {npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, }", floatBytes({1})), "f.npy"},
      {npyFile("{'descr': '<f4, 'fortran_order': False, 'shape': (1,), }", floatBytes({1})), "f.npy"},
      // Dimensions beyond any real file: an error, not a wrapped-around size.
      {npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", {}), "f.npy"},
      {npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", {}),
       ".npy shape (4294967296, 4294967296) is too large"},
      // Object arrays are pickles: refused before any byte of data is looked at.
      {npyFile("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
               {0x80, 0x04, 0x95, 0x05, 0, 0, 0, 0, 0, 0, 0, 0x8c, 0x01, 'x', 0x94, 0x2e}),
       ".npy object arrays (pickled Python objects) are not supported"},
      {npyFile("{'descr': '<O8', 'fortran_order': False, 'shape': (1,), }", {0, 0, 0, 0, 0, 0, 0, 0}),
       "object arrays"},
  };
  for (const Bad &b : bad) {
    SCOPED_TRACE(b.message);
    EXPECT_THAT(errorOf([&] { parseNpy(b.bytes, "f.npy"); }), HasSubstr(b.message));
  }
}

TEST(Npy, RandomCorruptionGivesAnErrorOrAValidArrayNeverAnotherFailure) {
  const std::vector<uint8_t> good =
      npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }", floatBytes(std::vector<float>(16, 1.0f)));
  std::mt19937 rng(5);
  const char alphabet[] = "0123456789(),' :{}abcdeFTrue<f4|i8\x93\n\x01\xff";
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<uint8_t> b = good;
    const int edits = 1 + trial % 3;
    for (int e = 0; e < edits; ++e)
      b[rng() % 80] = static_cast<uint8_t>(alphabet[rng() % (sizeof alphabet - 1)]);
    try {
      HostArray a = parseNpy(b, "r.npy");
      ASSERT_EQ(a.data.size(), a.elementCount() * a.itemSize());
    } catch (const Error &) {
    } catch (const std::exception &e) {
      FAIL() << "trial " << trial << ": " << typeid(e).name() << ": " << e.what();
    }
  }
}

TEST(Npy, FilesRoundTripAndMissingFilesAreErrors) {
  const auto path = std::filesystem::temp_directory_path() / "trnx_npy_test.npy";
  HostArray a = makeArray<int32_t>("<i4", {3}, {1, -2, 3});
  writeNpy(path.string(), a);
  HostArray b = readNpy(path.string());
  EXPECT_EQ(b.descr, "<i4");
  EXPECT_EQ(b.shape, a.shape);
  EXPECT_EQ(b.data, a.data);
  std::filesystem::remove(path);
  EXPECT_THAT(errorOf([&] { readNpy(path.string()); }), HasSubstr(path.string()));
}

// ---------------------------------------------------------------------------
// Arrays <-> tensor bytes
// ---------------------------------------------------------------------------

TEST(NpyConversion, InputsRoundToTheTensorDtype) {
  // bf16: ties to even, overflow to Inf, NaN kept.
  std::vector<float> in = {1.0f + std::ldexp(1.0f, -8),
                           1.0f + 3 * std::ldexp(1.0f, -8),
                           bitsF(0x3f808001),
                           bitsF(0x7f7fffff),
                           -std::numeric_limits<float>::quiet_NaN(),
                           -0.0f,
                           3.0f,
                           4e-41f};
  std::vector<uint8_t> b = arrayToTensorBytes(makeArray<float>("<f4", {2, 4}, in), tensor(DType::BF16, {2, 4}));
  ASSERT_EQ(b.size(), 16u);
  std::vector<uint16_t> bf(8);
  std::memcpy(bf.data(), b.data(), 16);
  EXPECT_EQ(bf[0], 0x3f80);
  EXPECT_EQ(bf[1], 0x3f82);
  EXPECT_EQ(bf[2], 0x3f81);
  EXPECT_EQ(bf[3], 0x7f80);
  EXPECT_EQ(bf[4] & 0xff80, 0xff80);
  EXPECT_NE(bf[4] & 0x7f, 0);
  EXPECT_EQ(bf[5], 0x8000);
  EXPECT_EQ(bf[6], 0x4040);
  EXPECT_EQ(bf[7], 0x0000); // below half of bf16's smallest subnormal (2^-133)
  // fp8e4m3: saturation to 448, NaN = 0x7f; ties to even.
  std::vector<float> in8 = {1000,
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            1.0625f,
                            1.1875f,
                            std::ldexp(1.0f, -9),
                            std::ldexp(1.0f, -10),
                            0.0f};
  std::vector<uint8_t> e4 = arrayToTensorBytes(makeArray<float>("<f4", {8}, in8), tensor(DType::FP8E4M3, {8}));
  EXPECT_EQ(e4, (std::vector<uint8_t>{0x7e, 0xfe, 0x7f, 0x38, 0x3a, 0x01, 0x00, 0x00}));
  // fp8e5m2: IEEE overflow to Inf.
  std::vector<uint8_t> e5 = arrayToTensorBytes(makeArray<float>("<f4", {4}, {61440.0f, 57344.0f, 1.125f, 1.375f}),
                                               tensor(DType::FP8E5M2, {4}));
  EXPECT_EQ(e5, (std::vector<uint8_t>{0x7c, 0x7b, 0x3c, 0x3e}));
  // fp16 from <f4 and bit-exact from <f2.
  std::vector<uint8_t> h = arrayToTensorBytes(
      makeArray<float>("<f4", {3}, {65520.0f, 65519.0f, 1.0f + std::ldexp(1.0f, -11)}), tensor(DType::FP16, {3}));
  std::vector<uint16_t> hv(3);
  std::memcpy(hv.data(), h.data(), 6);
  EXPECT_EQ(hv, (std::vector<uint16_t>{0x7c00, 0x7bff, 0x3c00}));
  std::vector<uint8_t> h2 =
      arrayToTensorBytes(makeArray<uint16_t>("<f2", {2}, {0x3555, 0x8001}), tensor(DType::FP16, {2}));
  EXPECT_EQ(h2, (std::vector<uint8_t>{0x55, 0x35, 0x01, 0x80}));
  // fp32 from <f8 rounds to nearest; from <f4 copies bits (NaN payloads too).
  std::vector<uint8_t> f = arrayToTensorBytes(makeArray<double>("<f8", {1}, {1.0 / 3}), tensor(DType::FP32, {1}));
  float third;
  std::memcpy(&third, f.data(), 4);
  EXPECT_EQ(third, 1.0f / 3);
  std::vector<uint8_t> nanBits =
      arrayToTensorBytes(makeArray<uint32_t>("<f4", {1}, {0x7f800001u}), tensor(DType::FP32, {1}));
  EXPECT_EQ(nanBits, (std::vector<uint8_t>{0x01, 0x00, 0x80, 0x7f}));
}

TEST(NpyConversion, IntegerInputsAreExactOrSaturate) {
  auto i32 = [](const std::vector<uint8_t> &b) {
    std::vector<int32_t> v(b.size() / 4);
    std::memcpy(v.data(), b.data(), b.size());
    return v;
  };
  EXPECT_EQ(
      i32(arrayToTensorBytes(makeArray<int32_t>("<i4", {3}, {16777217, INT32_MIN, -5}), tensor(DType::INT32, {3}))),
      (std::vector<int32_t>{16777217, INT32_MIN, -5}));
  EXPECT_EQ(i32(arrayToTensorBytes(makeArray<int64_t>("<i8", {3}, {int64_t(1) << 40, -(int64_t(1) << 40), 123456789}),
                                   tensor(DType::INT32, {3}))),
            (std::vector<int32_t>{INT32_MAX, INT32_MIN, 123456789}));
  EXPECT_EQ(i32(arrayToTensorBytes(makeArray<int8_t>("|i1", {2}, {-128, 7}), tensor(DType::INT32, {2}))),
            (std::vector<int32_t>{-128, 7}));
  // Floats into int32: nearest even, saturating, NaN -> 0.
  EXPECT_EQ(i32(arrayToTensorBytes(makeArray<float>("<f4", {5}, {2.5f, -3.5f, 1e10f, std::nanf(""), -0.4f}),
                                   tensor(DType::INT32, {5}))),
            (std::vector<int32_t>{2, -4, INT32_MAX, 0, 0}));
  EXPECT_EQ(arrayToTensorBytes(makeArray<float>("<f4", {3}, {300.0f, -300.0f, 126.5f}), tensor(DType::INT8, {3})),
            (std::vector<uint8_t>{0x7f, 0x80, 0x7e}));
  // Booleans into fp32.
  std::vector<uint8_t> fb = arrayToTensorBytes(makeArray<uint8_t>("|b1", {2}, {1, 0}), tensor(DType::FP32, {2}));
  float fv[2];
  std::memcpy(fv, fb.data(), 8);
  EXPECT_EQ(fv[0], 1.0f);
  EXPECT_EQ(fv[1], 0.0f);
}

TEST(NpyConversion, ShapeMismatchNamesTheTensorAndPaddingIsZero) {
  EXPECT_THAT(errorOf([] {
                arrayToTensorBytes(makeArray<float>("<f4", {4, 2}, std::vector<float>(8)), tensor(DType::FP32, {2, 4}));
              }),
              HasSubstr("input 'x' needs shape (2, 4), got (4, 2)"));
  EXPECT_THAT(errorOf([] {
                arrayToTensorBytes(makeArray<float>("<f4", {8}, std::vector<float>(8)), tensor(DType::FP32, {2, 4}));
              }),
              HasSubstr("input 'x' needs shape (2, 4), got (8)"));
  TensorInfo t = tensor(DType::FP32, {2});
  t.sizeBytes = 64; // tensors may be larger than their shape
  std::vector<uint8_t> b = arrayToTensorBytes(makeArray<float>("<f4", {2}, {1, 2}), t);
  ASSERT_EQ(b.size(), 64u);
  for (size_t i = 8; i < 64; ++i)
    EXPECT_EQ(b[i], 0);
}

TEST(NpyConversion, OutputsWidenExactlyOrKeepTheirBits) {
  // bf16 -> <f4 exact (including NaN payloads and subnormals).
  std::vector<uint16_t> bf = {0x3f81, 0x0001, 0x7f81, 0xff80};
  std::vector<uint8_t> bytes(8);
  std::memcpy(bytes.data(), bf.data(), 8);
  HostArray a = tensorBytesToArray(bytes.data(), tensor(DType::BF16, {2, 2}));
  EXPECT_EQ(a.descr, "<f4");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 2}));
  std::vector<uint32_t> w(4);
  std::memcpy(w.data(), a.data.data(), 16);
  EXPECT_EQ(w[0], 0x3f810000u);
  EXPECT_EQ(w[1], 0x00010000u);
  EXPECT_TRUE(std::isnan(bitsF(w[2])));
  EXPECT_EQ(w[3], 0xff800000u);
  // fp8 -> <f4 exact.
  std::vector<uint8_t> e4 = {0x7e, 0x01, 0x38, 0xfe, 0x7f};
  HostArray b = tensorBytesToArray(e4.data(), tensor(DType::FP8E4M3, {5}));
  std::vector<float> bv(5);
  ASSERT_EQ(b.descr, "<f4");
  std::memcpy(bv.data(), b.data.data(), 20);
  EXPECT_EQ(bv[0], 448.0f);
  EXPECT_EQ(bv[1], std::ldexp(1.0f, -9));
  EXPECT_EQ(bv[2], 1.0f);
  EXPECT_EQ(bv[3], -448.0f);
  EXPECT_TRUE(std::isnan(bv[4]));
  std::vector<uint8_t> e5 = {0x7b, 0x01, 0x7c, 0x3e};
  HostArray c = tensorBytesToArray(e5.data(), tensor(DType::FP8E5M2, {4}));
  std::vector<float> cv(4);
  std::memcpy(cv.data(), c.data.data(), 16);
  EXPECT_EQ(cv, (std::vector<float>{57344.0f, std::ldexp(1.0f, -16), std::numeric_limits<float>::infinity(), 1.5f}));
  // fp16 -> <f2, int32 -> <i4, int8 -> |i1, fp32 -> <f4: raw bytes.
  std::vector<uint8_t> raw = {0x01, 0x7c, 0x00, 0x3c, 0xff, 0xff, 0xff, 0x7f};
  HostArray h = tensorBytesToArray(raw.data(), tensor(DType::FP16, {4}));
  EXPECT_EQ(h.descr, "<f2");
  EXPECT_EQ(h.data, raw);
  HostArray i = tensorBytesToArray(raw.data(), tensor(DType::INT32, {2}));
  EXPECT_EQ(i.descr, "<i4");
  EXPECT_EQ(i.data, raw);
  HostArray i8 = tensorBytesToArray(raw.data(), tensor(DType::INT8, {8}));
  EXPECT_EQ(i8.descr, "|i1");
  EXPECT_EQ(i8.data, raw);
  HostArray f = tensorBytesToArray(raw.data(), tensor(DType::FP32, {2}));
  EXPECT_EQ(f.descr, "<f4");
  EXPECT_EQ(f.data, raw);
  // The result serializes to a file numpy can read back with the same shape.
  HostArray back = parseNpy(serializeNpy(a), "out.npy");
  EXPECT_EQ(back.shape, a.shape);
  EXPECT_EQ(back.data, a.data);
}
