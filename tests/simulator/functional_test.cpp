// Functional numerics of every data instruction against references computed
// here, independently of the simulator's kernels and of isa/DType.cpp: the
// float format conversions are checked against a brute-force search over
// every code of the format (docs/isa.md "Data types"), elementwise math
// against float/double evaluations of the documented formulas.
//
// Programs are written as assembly: q0 loads the inputs (each load signals
// s0), one compute stream waits for them, runs its body and signals s1, q1
// stores the outputs. Raw bit patterns travel through int32/fp16/int8 views
// (DMA never converts), so NaN payloads and exact encodings are visible.
#include "support/TestSupport.h"
#include "isa/AsmParser.h"
#include "isa/Error.h"
#include "simulator/Simulator.h"
#include "simulator/config/ConfigLoader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <sstream>

using namespace trnx;
using trnx::testing::errorOf;
using ::testing::HasSubstr;

namespace {

const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

float bitsF(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
uint32_t fBits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

const ChipConfig &chip(const std::string &name = "trn3") {
  static std::map<std::string, ChipConfig> cache;
  auto it = cache.find(name);
  if (it == cache.end())
    it = cache.emplace(name, loadChip(name)).first;
  return it->second;
}

// ---- host arrays -----------------------------------------------------------

HostArray f32Array(std::vector<int64_t> shape, const std::vector<float> &v) {
  HostArray a;
  a.descr = "<f4";
  a.shape = std::move(shape);
  a.data.resize(v.size() * 4);
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t b = fBits(v[i]);
    std::memcpy(a.data.data() + 4 * i, &b, 4);
  }
  EXPECT_EQ(a.elementCount(), v.size());
  return a;
}

// fp32 bit patterns stored without passing through a float register.
HostArray f32BitsArray(std::vector<int64_t> shape, const std::vector<uint32_t> &bits) {
  HostArray a;
  a.descr = "<f4";
  a.shape = std::move(shape);
  a.data.resize(bits.size() * 4);
  std::memcpy(a.data.data(), bits.data(), a.data.size());
  return a;
}

HostArray i32Array(std::vector<int64_t> shape, const std::vector<int32_t> &v) {
  HostArray a;
  a.descr = "<i4";
  a.shape = std::move(shape);
  a.data.resize(v.size() * 4);
  std::memcpy(a.data.data(), v.data(), a.data.size());
  return a;
}

// 16-bit codes packed two per int32 word (little endian), for raw bf16/fp16 inputs.
HostArray packed16(std::vector<int64_t> shape, const std::vector<uint16_t> &codes) {
  std::vector<int32_t> words(codes.size() / 2);
  std::memcpy(words.data(), codes.data(), codes.size() * 2);
  return i32Array(std::move(shape), words);
}
HostArray packed8(std::vector<int64_t> shape, const std::vector<uint8_t> &codes) {
  std::vector<int32_t> words(codes.size() / 4);
  std::memcpy(words.data(), codes.data(), codes.size());
  return i32Array(std::move(shape), words);
}

std::vector<float> floatsOf(const HostArray &a) {
  EXPECT_EQ(a.descr, "<f4");
  std::vector<float> v(a.data.size() / 4);
  std::memcpy(v.data(), a.data.data(), a.data.size());
  return v;
}
std::vector<uint32_t> bits32Of(const HostArray &a) {
  EXPECT_EQ(a.itemSize(), 4u);
  std::vector<uint32_t> v(a.data.size() / 4);
  std::memcpy(v.data(), a.data.data(), a.data.size());
  return v;
}
std::vector<int32_t> ints32Of(const HostArray &a) {
  EXPECT_EQ(a.descr, "<i4");
  std::vector<int32_t> v(a.data.size() / 4);
  std::memcpy(v.data(), a.data.data(), a.data.size());
  return v;
}
std::vector<uint16_t> bits16Of(const HostArray &a) {
  EXPECT_EQ(a.descr, "<f2");
  std::vector<uint16_t> v(a.data.size() / 2);
  std::memcpy(v.data(), a.data.data(), a.data.size());
  return v;
}
std::vector<uint8_t> bits8Of(const HostArray &a) {
  EXPECT_EQ(a.descr, "|i1");
  return a.data;
}

std::vector<float> randomFloats(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

// Small integers as floats: sums are exact in any order.
std::vector<float> randomInts(size_t n, uint32_t seed, int lo, int hi) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = static_cast<float>(d(rng));
  return v;
}

// ---- program text ----------------------------------------------------------

std::string sb(int p0, int p1, long off, const std::string &dt, const std::string &dims) {
  std::ostringstream os;
  os << "sbuf[" << p0 << ":" << p1 << "]+" << off << ":" << dt << dims;
  return os.str();
}
std::string sb(int p, long off, const std::string &dt, int f) {
  return sb(0, p, off, dt, "[[1," + std::to_string(f) + "]]");
}
std::string ps(int p, long off, const std::string &dt, int f) {
  std::ostringstream os;
  os << "psum[0:" << p << "]+" << off << ":" << dt << "[[1," << f << "]]";
  return os.str();
}
std::string hb(const std::string &name, int rows, int f, const std::string &dt, long off = 0) {
  std::ostringstream os;
  os << "hbm[" << name << "]+" << off << ":" << dt << "[[" << f << "," << rows << "],[1," << f << "]]";
  return os.str();
}
// Loads/stores a [rows, f] tensor to/from partitions 0..rows-1 at byte `off`.
std::string load(const std::string &name, int rows, int f, long off, const std::string &dt = "fp32") {
  return "dma_copy dst=" + sb(rows, off, dt, f) + " src=" + hb(name, rows, f, dt);
}
std::string store(const std::string &name, int rows, int f, long off, const std::string &dt = "fp32") {
  return "dma_copy dst=" + hb(name, rows, f, dt) + " src=" + sb(rows, off, dt, f);
}

std::string kernel(const std::string &tensors, const std::vector<std::string> &loads, const std::string &engine,
                   const std::vector<std::string> &body, const std::vector<std::string> &stores) {
  std::ostringstream os;
  os << ".target trn3\n.cores 1\n" << tensors << "\n";
  if (!loads.empty()) {
    os << ".stream core=0 engine=q0\n";
    for (const std::string &l : loads)
      os << "  " << l << " signal=s0+1\n";
  }
  os << ".stream core=0 engine=" << engine << "\n";
  if (!loads.empty())
    os << "  sem_wait wait=s0>=" << loads.size() << "\n";
  for (const std::string &l : body)
    os << "  " << l << "\n";
  os << "  sem_signal signal=s1+1\n.stream core=0 engine=q1\n  sem_wait wait=s1>=1\n";
  for (const std::string &l : stores)
    os << "  " << l << "\n";
  return os.str();
}

enum class Mode { Functional, Both };

SimulationResult run(const std::string &text, const std::map<std::string, HostArray> &inputs,
                     Mode mode = Mode::Functional, const std::string &chipName = "trn3") {
  Program p = parseAssembly(text, "t.s");
  MachineOptions o;
  o.functional = true;
  o.timing = mode == Mode::Both;
  return simulate(p, chip(chipName), inputs, o);
}

// ---- comparisons -----------------------------------------------------------

// Bit-exact fp32 comparison; a NaN reference only requires a NaN result.
void expectSameFloats(const std::vector<float> &got, const std::vector<float> &want, const std::string &what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int bad = 0;
  for (size_t i = 0; i < want.size() && bad < 8; ++i) {
    bool ok = std::isnan(want[i]) ? std::isnan(got[i]) : fBits(got[i]) == fBits(want[i]);
    if (!ok) {
      ++bad;
      ADD_FAILURE() << what << " [" << i << "]: got " << got[i] << " (0x" << std::hex << fBits(got[i]) << "), want "
                    << want[i] << " (0x" << fBits(want[i]) << ")" << std::dec;
    }
  }
}

void expectClose(const std::vector<float> &got, const std::vector<double> &want, double tol, const std::string &what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int bad = 0;
  for (size_t i = 0; i < want.size() && bad < 8; ++i) {
    bool ok;
    if (std::isnan(want[i]))
      ok = std::isnan(got[i]);
    else if (std::isinf(want[i]))
      ok = got[i] == want[i];
    else
      ok = std::fabs(got[i] - want[i]) <= tol * std::max(1.0, std::fabs(want[i]));
    if (!ok) {
      ++bad;
      ADD_FAILURE() << what << " [" << i << "]: got " << got[i] << ", want " << want[i];
    }
  }
}

// ---- reference conversions (brute force over every code) -------------------

struct Format {
  int expBits, mantBits;
  bool ieee; // has Inf; otherwise e4m3fn (NaN = all ones, saturating)
};
const Format kBF16{8, 7, true}, kFP16{5, 10, true}, kE4M3{4, 3, false}, kE5M2{5, 2, true};

double decodeRef(const Format &f, uint32_t code) {
  const uint32_t mant = code & ((1u << f.mantBits) - 1);
  const uint32_t e = (code >> f.mantBits) & ((1u << f.expBits) - 1);
  const bool neg = (code >> (f.expBits + f.mantBits)) & 1;
  const int bias = (1 << (f.expBits - 1)) - 1;
  const uint32_t ones = (1u << f.expBits) - 1;
  double v;
  if (f.ieee && e == ones)
    v = mant ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else if (!f.ieee && e == ones && mant == (1u << f.mantBits) - 1)
    v = std::numeric_limits<double>::quiet_NaN();
  else if (e == 0)
    v = std::ldexp(static_cast<double>(mant), 1 - bias - f.mantBits);
  else
    v = std::ldexp(1.0 + std::ldexp(static_cast<double>(mant), -f.mantBits), static_cast<int>(e) - bias);
  return neg ? -v : v;
}

// Positive finite values in increasing order with their codes (+ Inf as a
// virtual next step for IEEE formats, so ties at the top go to Inf).
const std::vector<std::pair<double, uint32_t>> &positiveCodes(const Format &f) {
  static std::map<int, std::vector<std::pair<double, uint32_t>>> cache;
  const int key = f.expBits * 100 + f.mantBits;
  auto it = cache.find(key);
  if (it != cache.end())
    return it->second;
  std::vector<std::pair<double, uint32_t>> v;
  const uint32_t n = 1u << (f.expBits + f.mantBits);
  for (uint32_t c = 0; c < n; ++c) {
    double d = decodeRef(f, c);
    if (std::isfinite(d))
      v.emplace_back(d, c);
  }
  std::sort(v.begin(), v.end());
  if (f.ieee) {
    const int bias = (1 << (f.expBits - 1)) - 1;
    const int emax = (1 << f.expBits) - 2 - bias;
    v.emplace_back(v.back().first + std::ldexp(1.0, emax - f.mantBits), ((1u << f.expBits) - 1) << f.mantBits);
  }
  return cache.emplace(key, std::move(v)).first->second;
}

uint32_t encodeRef(const Format &f, float x) {
  const uint32_t sign = std::signbit(x) ? 1u << (f.expBits + f.mantBits) : 0;
  const uint32_t ones = (1u << f.expBits) - 1;
  if (std::isnan(x))
    return sign | (ones << f.mantBits) | (f.ieee ? 1u << (f.mantBits - 1) : (1u << f.mantBits) - 1);
  const auto &vals = positiveCodes(f);
  double a = std::fabs(static_cast<double>(x));
  if (!f.ieee && a > vals.back().first)
    a = vals.back().first; // e4m3 saturates (Inf too)
  if (f.ieee && a >= vals.back().first)
    return sign | vals.back().second; // beyond the last tie: Inf
  auto hi = std::lower_bound(vals.begin(), vals.end(), std::make_pair(a, 0u),
                             [](const auto &l, const auto &r) { return l.first < r.first; });
  if (hi->first == a)
    return sign | hi->second;
  auto lo = hi - 1;
  const double dl = a - lo->first, dh = hi->first - a;
  uint32_t code = dl < dh ? lo->second : dh < dl ? hi->second : ((lo->second & 1) ? hi->second : lo->second);
  return sign | code;
}

int64_t rneInt(double v, int64_t lo, int64_t hi) {
  if (std::isnan(v))
    return 0;
  if (v <= static_cast<double>(lo))
    return lo;
  if (v >= static_cast<double>(hi))
    return hi;
  double fl = std::floor(v), d = v - fl;
  double r = d > 0.5 ? fl + 1 : d < 0.5 ? fl : (std::fmod(fl, 2.0) == 0 ? fl : fl + 1);
  return std::clamp(static_cast<int64_t>(r), lo, hi);
}

float bf16Value(float x) { return static_cast<float>(decodeRef(kBF16, encodeRef(kBF16, x))); }

} // namespace

// ===========================================================================
// activation
// ===========================================================================

namespace {
struct FuncCase {
  const char *name;
  double (*ref)(double);
  bool positive; // needs x > 0
};
const FuncCase kFuncs[] = {
    {"identity", [](double x) { return x; }, false},
    {"relu", [](double x) { return x > 0 ? x : 0.0; }, false},
    {"gelu", [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, false},
    {"gelu_tanh", [](double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); },
     false},
    {"silu", [](double x) { return x / (1 + std::exp(-x)); }, false},
    {"sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); }, false},
    {"tanh", [](double x) { return std::tanh(x); }, false},
    {"exp", [](double x) { return std::exp(x); }, false},
    {"log", [](double x) { return std::log(x); }, true},
    {"sqrt", [](double x) { return std::sqrt(x); }, true},
    {"rsqrt", [](double x) { return 1 / std::sqrt(x); }, true},
    {"square", [](double x) { return x * x; }, false},
    {"reciprocal", [](double x) { return 1 / x; }, true},
    {"erf", [](double x) { return std::erf(x); }, false},
    {"abs", [](double x) { return std::fabs(x); }, false},
};
} // namespace

TEST(FunctionalActivation, EveryFunctionWithImmediateAndPerPartitionScaleBias) {
  const int P = 32, F = 48;
  for (const FuncCase &fc : kFuncs) {
    SCOPED_TRACE(fc.name);
    std::vector<float> x = fc.positive ? randomFloats(P * F, 1, 0.05f, 2.0f) : randomFloats(P * F, 1, -3.0f, 3.0f);
    std::vector<float> sbv(P * 2);
    for (int p = 0; p < P; ++p) {
      sbv[p * 2] = 0.5f + 0.03125f * p;                               // scale
      sbv[p * 2 + 1] = fc.positive ? 0.125f : -0.25f + 0.015625f * p; // bias
    }
    const float scale = 1.5f, bias = fc.positive ? 0.25f : -0.5f;
    std::ostringstream imm;
    imm << "activation dst=" << sb(P, 0x1000, "fp32", F) << " src=" << sb(P, 0, "fp32", F) << " func=" << fc.name
        << " scale=" << scale << " bias=" << bias;
    std::string ap = std::string("activation dst=") + sb(P, 0x2000, "fp32", F) + " src=" + sb(P, 0, "fp32", F) +
                     " func=" + fc.name + " scale_ap=" + sb(P, 0x3000, "fp32", 1) +
                     " bias_ap=" + sb(P, 0x3004, "fp32", 1);
    std::string text = kernel(".tensor x input fp32 [32,48]\n.tensor sb input fp32 [32,2]\n"
                              ".tensor y output fp32 [32,48]\n.tensor z output fp32 [32,48]\n",
                              {load("x", P, F, 0), load("sb", P, 2, 0x3000)}, "act", {imm.str(), ap},
                              {store("y", P, F, 0x1000), store("z", P, F, 0x2000)});
    SimulationResult r = run(text, {{"x", f32Array({P, F}, x)}, {"sb", f32Array({P, 2}, sbv)}});
    std::vector<double> wantImm(P * F), wantAp(P * F);
    std::vector<float> exactImm(P * F), exactAp(P * F);
    for (int p = 0; p < P; ++p)
      for (int f = 0; f < F; ++f) {
        const int i = p * F + f;
        float a1 = x[i] * scale; // fp32 datapath: x * scale + bias
        a1 = a1 + bias;
        float a2 = x[i] * sbv[p * 2];
        a2 = a2 + sbv[p * 2 + 1];
        wantImm[i] = fc.ref(a1);
        wantAp[i] = fc.ref(a2);
        exactImm[i] = static_cast<float>(wantImm[i]);
        exactAp[i] = static_cast<float>(wantAp[i]);
      }
    const std::string n = fc.name;
    if (n == "identity" || n == "relu" || n == "square" || n == "abs") {
      // Exact in fp32 (square: one fp32 product).
      if (n == "square")
        for (int i = 0; i < P * F; ++i) {
          float a1 = x[i] * scale;
          a1 = a1 + bias;
          float a2 = x[i] * sbv[(i / F) * 2];
          a2 = a2 + sbv[(i / F) * 2 + 1];
          exactImm[i] = a1 * a1; // one fp32 product
          exactAp[i] = a2 * a2;
        }
      expectSameFloats(floatsOf(r.outputs.at("y")), exactImm, n + " immediate");
      expectSameFloats(floatsOf(r.outputs.at("z")), exactAp, n + " _ap");
    } else {
      expectClose(floatsOf(r.outputs.at("y")), wantImm, 2e-6, n + " immediate");
      expectClose(floatsOf(r.outputs.at("z")), wantAp, 2e-6, n + " _ap");
    }
  }
}

TEST(FunctionalActivation, ReduceAddMaxMinUseFp32ResultBeforeDstRounding) {
  const int P = 16, F = 40;
  // Multiples of 2^-10 near 1: fp32 sums are exact, bf16 rounding of each
  // element (8 significant bits) loses the low bits.
  std::vector<float> x(P * F);
  std::mt19937 rng(7);
  for (float &v : x)
    v = 1.0f + static_cast<float>(static_cast<int>(rng() % 2048) - 1024) / 1024.0f;
  std::string text =
      kernel(".tensor x input fp32 [16,40]\n.tensor y output bf16 [16,40]\n.tensor red output fp32 [16,3]\n",
             {load("x", P, F, 0)}, "act",
             {"activation dst=" + sb(P, 0x1000, "bf16", F) + " src=" + sb(P, 0, "fp32", F) +
                  " func=identity scale=2 reduce=add reduce_dst=" + sb(P, 0x2000, "fp32", 1),
              "activation dst=" + sb(P, 0x1100, "fp32", F) + " src=" + sb(P, 0, "fp32", F) +
                  " func=identity bias=-1 reduce=max reduce_dst=" + sb(P, 0x2004, "fp32", 1),
              "activation dst=" + sb(P, 0x1200, "fp32", F) + " src=" + sb(P, 0, "fp32", F) +
                  " func=square reduce=min reduce_dst=" + sb(P, 0x2008, "fp32", 1)},
             {store("y", P, F, 0x1000, "bf16"), store("red", P, 3, 0x2000)});
  SimulationResult r = run(text, {{"x", f32Array({P, F}, x)}});
  std::vector<float> y(P * F), red(P * 3);
  for (int p = 0; p < P; ++p) {
    float sum = 0, mx = -kInf, mn = kInf;
    for (int f = 0; f < F; ++f) {
      float v = x[p * F + f];
      sum += 2 * v;
      mx = std::max(mx, v - 1);
      mn = std::min(mn, v * v);
      y[p * F + f] = bf16Value(2 * v);
    }
    red[p * 3] = sum;
    red[p * 3 + 1] = mx;
    red[p * 3 + 2] = mn;
  }
  expectSameFloats(floatsOf(r.outputs.at("y")), y, "bf16 dst");
  expectSameFloats(floatsOf(r.outputs.at("red")), red, "reductions");
  // The sum of the rounded values differs: the reduction saw fp32 values.
  float roundedSum = 0;
  for (int f = 0; f < F; ++f)
    roundedSum += y[f];
  EXPECT_NE(roundedSum, red[0]);
}

TEST(FunctionalActivation, ReadsAndWritesPsum) {
  const int P = 64, F = 32;
  std::vector<float> x = randomFloats(P * F, 3, -2, 2);
  std::string text = kernel(
      ".tensor x input fp32 [64,32]\n.tensor y output fp32 [64,32]\n", {load("x", P, F, 0)}, "act",
      {"activation dst=" + ps(P, 0x800, "fp32", F) + " src=" + sb(P, 0, "fp32", F) + " func=abs",
       "activation dst=" + sb(P, 0x400, "fp32", F) + " src=" + ps(P, 0x800, "fp32", F) + " func=identity scale=-1"},
      {store("y", P, F, 0x400)});
  SimulationResult r = run(text, {{"x", f32Array({P, F}, x)}});
  std::vector<float> want(P * F);
  for (int i = 0; i < P * F; ++i)
    want[i] = -std::fabs(x[i]);
  expectSameFloats(floatsOf(r.outputs.at("y")), want, "psum round trip");
}

// ===========================================================================
// tensor_tensor / tensor_scalar / tensor_reduce
// ===========================================================================

namespace {
struct OpCase {
  const char *name;
  float (*ref)(float, float);
};
float nanMax(float a, float b) { return (std::isnan(a) || std::isnan(b)) ? kNaN : (a > b ? a : b); }
float nanMin(float a, float b) { return (std::isnan(a) || std::isnan(b)) ? kNaN : (a < b ? a : b); }
const OpCase kOps[] = {
    {"add", [](float a, float b) { return a + b; }},
    {"sub", [](float a, float b) { return a - b; }},
    {"rsub", [](float a, float b) { return b - a; }},
    {"mul", [](float a, float b) { return a * b; }},
    {"div", [](float a, float b) { return a / b; }},
    {"rdiv", [](float a, float b) { return b / a; }},
    {"max", nanMax},
    {"min", nanMin},
    {"pow",
     [](float a, float b) { return static_cast<float>(std::pow(static_cast<double>(a), static_cast<double>(b))); }},
    {"eq", [](float a, float b) { return a == b ? 1.0f : 0.0f; }},
    {"ne", [](float a, float b) { return a != b ? 1.0f : 0.0f; }},
    {"lt", [](float a, float b) { return a < b ? 1.0f : 0.0f; }},
    {"le", [](float a, float b) { return a <= b ? 1.0f : 0.0f; }},
    {"gt", [](float a, float b) { return a > b ? 1.0f : 0.0f; }},
    {"ge", [](float a, float b) { return a >= b ? 1.0f : 0.0f; }},
};
} // namespace

TEST(FunctionalTensorTensor, EveryOperatorOnSbufAndPsumInputs) {
  const int P = 32, F = 64;
  std::vector<float> a = randomFloats(P * F, 11, -4, 4), b = randomFloats(P * F, 12, -4, 4);
  for (int i = 0; i < P * F; i += 5)
    b[i] = a[i]; // equal pairs for eq/le/ge
  for (int i = 0; i < P * F; i += 7)
    a[i] = std::fabs(a[i]) + 0.5f; // positive bases for pow
  b[3] = 0.0f;                     // division by zero -> Inf
  a[9] = 0.0f;
  for (const OpCase &op : kOps) {
    SCOPED_TRACE(op.name);
    for (const char *engine : {"dve", "pool"}) {
      SCOPED_TRACE(engine);
      const std::string tt = std::string("tensor_tensor dst=") + sb(P, 0x1000, "fp32", F) +
                             " src0=" + sb(P, 0, "fp32", F) + " src1=" + sb(P, 0x400, "fp32", F) + " op=" + op.name;
      // Second form: src1 copied to PSUM first.
      const std::string toPsum = "tensor_copy dst=" + ps(P, 0, "fp32", F) + " src=" + sb(P, 0x400, "fp32", F);
      const std::string ttPsum = std::string("tensor_tensor dst=") + sb(P, 0x1400, "fp32", F) +
                                 " src0=" + sb(P, 0, "fp32", F) + " src1=" + ps(P, 0, "fp32", F) + " op=" + op.name;
      std::string text = kernel(".tensor a input fp32 [32,64]\n.tensor b input fp32 [32,64]\n"
                                ".tensor y output fp32 [32,64]\n.tensor z output fp32 [32,64]\n",
                                {load("a", P, F, 0), load("b", P, F, 0x400)}, engine, {tt, toPsum, ttPsum},
                                {store("y", P, F, 0x1000), store("z", P, F, 0x1400)});
      SimulationResult r = run(text, {{"a", f32Array({P, F}, a)}, {"b", f32Array({P, F}, b)}});
      std::vector<float> want(P * F);
      for (int i = 0; i < P * F; ++i)
        want[i] = op.ref(a[i], b[i]);
      if (std::string(op.name) == "pow") {
        std::vector<double> w(want.begin(), want.end());
        expectClose(floatsOf(r.outputs.at("y")), w, 2e-6, "sbuf");
        expectClose(floatsOf(r.outputs.at("z")), w, 2e-6, "psum");
      } else {
        expectSameFloats(floatsOf(r.outputs.at("y")), want, "sbuf");
        expectSameFloats(floatsOf(r.outputs.at("z")), want, "psum");
      }
    }
  }
}

TEST(FunctionalTensorTensor, MaxMinPropagateNaN) {
  const int P = 4, F = 8;
  std::vector<float> a = {kNaN, 1, 2, kNaN, -kInf, 0, -0.0f, 3}, b = {1, kNaN, 2, kNaN, 5, -0.0f, 0, kInf};
  std::vector<float> aa, bb;
  for (int p = 0; p < P; ++p) {
    aa.insert(aa.end(), a.begin(), a.end());
    bb.insert(bb.end(), b.begin(), b.end());
  }
  std::string text = kernel(".tensor a input fp32 [4,8]\n.tensor b input fp32 [4,8]\n.tensor y output fp32 [4,16]\n",
                            {load("a", P, F, 0), load("b", P, F, 0x100)}, "dve",
                            {"tensor_tensor dst=" + sb(P, 0x200, "fp32", F) + " src0=" + sb(P, 0, "fp32", F) +
                                 " src1=" + sb(P, 0x100, "fp32", F) + " op=max",
                             "tensor_tensor dst=" + sb(P, 0x220, "fp32", F) + " src0=" + sb(P, 0, "fp32", F) +
                                 " src1=" + sb(P, 0x100, "fp32", F) + " op=min"},
                            {store("y", P, 16, 0x200)});
  SimulationResult r = run(text, {{"a", f32Array({P, F}, aa)}, {"b", f32Array({P, F}, bb)}});
  std::vector<float> y = floatsOf(r.outputs.at("y"));
  for (int p = 0; p < P; ++p)
    for (int f = 0; f < F; ++f) {
      const bool anyNaN = std::isnan(a[f]) || std::isnan(b[f]);
      EXPECT_EQ(std::isnan(y[p * 16 + f]), anyNaN) << f;
      EXPECT_EQ(std::isnan(y[p * 16 + 8 + f]), anyNaN) << f;
      if (!anyNaN) {
        EXPECT_EQ(y[p * 16 + f], std::max(a[f], b[f]));
        EXPECT_EQ(y[p * 16 + 8 + f], std::min(a[f], b[f]));
      }
    }
}

TEST(FunctionalTensorScalar, OneAndTwoOperatorsImmediateAndPerPartition) {
  const int P = 32, F = 24;
  std::vector<float> x = randomFloats(P * F, 21, -5, 5), s(P * 2);
  for (int p = 0; p < P; ++p) {
    s[p * 2] = 0.25f * static_cast<float>(p) - 3.0f;
    s[p * 2 + 1] = 1.0f + 0.125f * static_cast<float>(p);
  }
  struct Case {
    std::string fields;
    std::function<float(float, int)> ref;
  };
  std::vector<Case> cases = {
      {"op0=mul scalar0=3", [](float v, int) { return v * 3.0f; }},
      {"op0=add scalar0=0.5 op1=max scalar1=0", [](float v, int) { return nanMax(v + 0.5f, 0.0f); }},
      {"op0=rsub scalar0=1", [](float v, int) { return 1.0f - v; }},
      {"op0=rdiv scalar0=2 op1=sub scalar1=0.25", [](float v, int) { return 2.0f / v - 0.25f; }},
      {"op0=gt scalar0=0 op1=mul scalar1=7", [](float v, int) { return (v > 0 ? 1.0f : 0.0f) * 7.0f; }},
      {"op0=div scalar0=3 op1=min scalar1=1", [](float v, int) { return nanMin(v / 3.0f, 1.0f); }},
      {"op0=sub scalar0_ap=" + sb(P, 0x800, "fp32", 1) + " op1=mul scalar1_ap=" + sb(P, 0x804, "fp32", 1),
       [&](float v, int p) { return (v - s[p * 2]) * s[p * 2 + 1]; }},
      {"op0=rsub scalar0_ap=" + sb(P, 0x804, "fp32", 1), [&](float v, int p) { return s[p * 2 + 1] - v; }},
  };
  for (const char *engine : {"act", "dve", "pool"})
    for (const Case &c : cases) {
      SCOPED_TRACE(std::string(engine) + " " + c.fields);
      std::string text =
          kernel(".tensor x input fp32 [32,24]\n.tensor s input fp32 [32,2]\n.tensor y output fp32 [32,24]\n",
                 {load("x", P, F, 0), load("s", P, 2, 0x800)}, engine,
                 {"tensor_scalar dst=" + sb(P, 0x400, "fp32", F) + " src=" + sb(P, 0, "fp32", F) + " " + c.fields},
                 {store("y", P, F, 0x400)});
      SimulationResult r = run(text, {{"x", f32Array({P, F}, x)}, {"s", f32Array({P, 2}, s)}});
      std::vector<float> want(P * F);
      for (int i = 0; i < P * F; ++i)
        want[i] = c.ref(x[i], i / F);
      expectSameFloats(floatsOf(r.outputs.at("y")), want, c.fields);
    }
}

TEST(FunctionalTensorReduce, AxesOneToFourOverAPermutedView) {
  // 192 elements per partition viewed through four permuted free dims
  // (outermost first): [stride 8, 6], [stride 1, 4], [stride 48, 4], [stride 4, 2].
  const int P = 8, F = 192;
  const std::vector<std::pair<int, int>> dims = {{8, 6}, {1, 4}, {48, 4}, {4, 2}};
  const std::string view = "[[8,6],[1,4],[48,4],[4,2]]";
  // Element offsets of the view in access order.
  std::vector<int> order = {0};
  for (auto [stride, count] : dims) {
    std::vector<int> next;
    for (int base : order)
      for (int i = 0; i < count; ++i)
        next.push_back(base + stride * i);
    order.swap(next);
  }
  ASSERT_EQ(order.size(), 192u);
  for (const char *op : {"add", "max", "min"}) {
    SCOPED_TRACE(op);
    const std::string o = op;
    std::vector<float> x = o == "add" ? randomInts(P * F, 31, -50, 50) : randomFloats(P * F, 31, -9, 9);
    std::vector<std::string> body, stores;
    std::string tensors = ".tensor x input fp32 [8,192]\n";
    std::vector<int> inner(5, 1);
    for (int axes = 1; axes <= 4; ++axes) {
      inner[axes] = inner[axes - 1] * dims[4 - axes].second;
      const int outF = F / inner[axes];
      const std::string name = "y" + std::to_string(axes);
      tensors += ".tensor " + name + " output fp32 [8," + std::to_string(outF) + "]\n";
      body.push_back("tensor_reduce dst=" + sb(P, 0x1000 * axes, "fp32", outF) + " src=" + sb(0, P, 0, "fp32", view) +
                     " op=" + o + " axes=" + std::to_string(axes));
      stores.push_back(store(name, P, outF, 0x1000 * axes));
    }
    SimulationResult r = run(kernel(tensors, {load("x", P, F, 0)}, "dve", body, stores), {{"x", f32Array({P, F}, x)}});
    for (int axes = 1; axes <= 4; ++axes) {
      const int n = inner[axes], outF = F / n;
      std::vector<float> want(P * outF);
      for (int p = 0; p < P; ++p)
        for (int j = 0; j < outF; ++j) {
          float acc = o == "add" ? 0.0f : o == "max" ? -kInf : kInf;
          for (int i = 0; i < n; ++i) {
            const float v = x[p * F + order[j * n + i]];
            acc = o == "add" ? acc + v : o == "max" ? nanMax(acc, v) : nanMin(acc, v);
          }
          want[p * outF + j] = acc;
        }
      expectSameFloats(floatsOf(r.outputs.at("y" + std::to_string(axes))), want, "axes=" + std::to_string(axes));
    }
  }
}

// ===========================================================================
// tensor_copy: conversions and bit-exact copies
// ===========================================================================

namespace {
std::vector<float> conversionValues(size_t n) {
  std::vector<float> v = {
      0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 3.0f, -7.25f,
      // bf16 ties and near-ties around 1
      1.0f + std::ldexp(1.0f, -8), 1.0f + 3 * std::ldexp(1.0f, -8), bitsF(0x3f808001), bitsF(0x3f807fff),
      // fp16 ties
      1.0f + std::ldexp(1.0f, -11), 1.0f + 3 * std::ldexp(1.0f, -11), 2049.0f, 2051.0f,
      // fp8 ties: e4m3 quantum at 1 is 1/8, e5m2 1/4
      1.0625f, 1.1875f, -1.0625f, 1.125f, 1.375f, 17.0f, 18.0f, 19.0f,
      // overflow region
      65504.0f, 65519.0f, 65520.0f, 65536.0f, -70000.0f, 448.0f, 464.0f, 465.0f, 480.0f, 500.0f, -1e6f, 57344.0f,
      61439.0f, 61440.0f, 1e30f, bitsF(0x7f7fffff), bitsF(0x7f7f8000), bitsF(0x7f7f7fff), kInf, -kInf, kNaN, -kNaN,
      bitsF(0x7f800001), bitsF(0xffc00123),
      // subnormal region of each format
      std::ldexp(1.0f, -133), std::ldexp(1.0f, -134), 3 * std::ldexp(1.0f, -134), std::ldexp(1.0f, -126),
      std::ldexp(1.0f, -24), std::ldexp(1.0f, -25), 1.5f * std::ldexp(1.0f, -24), 3 * std::ldexp(1.0f, -25),
      std::ldexp(1.0f, -9), std::ldexp(1.0f, -10), 3 * std::ldexp(1.0f, -10), std::ldexp(1.0f, -16),
      std::ldexp(1.0f, -17), 3 * std::ldexp(1.0f, -17), -std::ldexp(1.0f, -17), bitsF(0x00000001), 1e-40f,
      // integer rounding and saturation
      2.5f, 3.5f, -2.5f, -3.5f, 0.49999997f, 127.5f, 126.5f, -128.5f, -129.0f, 300.0f, 2147483520.0f, 2147483648.0f,
      -2147483648.0f, -3e9f, 16777217.0f, 1e10f};
  std::mt19937 rng(99);
  while (v.size() < n) {
    // Random sign, exponent across every format's range, random mantissa.
    uint32_t e = 127 - 30 + rng() % 50, m = rng() & 0x7fffff, s = rng() & 1;
    if (rng() % 4 == 0)
      m &= 0x7f0000 | (1u << (rng() % 16)); // near ties
    v.push_back(bitsF(s << 31 | e << 23 | m));
  }
  v.resize(n);
  return v;
}
} // namespace

TEST(FunctionalTensorCopy, Fp32ToEveryDtypeRoundsNearestEvenWithDocumentedOverflowAndNaN) {
  const int P = 4, F = 128;
  std::vector<float> x = conversionValues(P * F);
  std::vector<uint32_t> xbits(P * F);
  for (int i = 0; i < P * F; ++i)
    xbits[i] = fBits(x[i]);
  for (const char *engine : {"dve", "act", "pool"}) {
    SCOPED_TRACE(engine);
    // Results at 0x1000 (bf16) 0x1400 (fp16) 0x1800 (e4m3) 0x1a00 (e5m2) 0x1c00 (int8) 0x2000 (int32);
    // stored through raw views (fp16 for 2-byte, int8 for 1-byte codes).
    std::vector<std::string> body;
    const std::pair<const char *, int> dsts[] = {{"bf16", 0x1000},    {"fp16", 0x1400}, {"fp8e4m3", 0x1800},
                                                 {"fp8e5m2", 0x1a00}, {"int8", 0x1c00}, {"int32", 0x2000}};
    for (auto [dt, off] : dsts)
      body.push_back("tensor_copy dst=" + sb(P, off, dt, F) + " src=" + sb(P, 0, "fp32", F));
    std::string text = kernel(
        ".tensor x input fp32 [4,128]\n.tensor bf output fp16 [4,128]\n.tensor hf output fp16 [4,128]\n"
        ".tensor e4 output int8 [4,128]\n.tensor e5 output int8 [4,128]\n.tensor i8 output int8 [4,128]\n"
        ".tensor i32 output int32 [4,128]\n",
        {load("x", P, F, 0)}, engine, body,
        {store("bf", P, F, 0x1000, "fp16"), store("hf", P, F, 0x1400, "fp16"), store("e4", P, F, 0x1800, "int8"),
         store("e5", P, F, 0x1a00, "int8"), store("i8", P, F, 0x1c00, "int8"), store("i32", P, F, 0x2000, "int32")});
    SimulationResult r = run(text, {{"x", f32BitsArray({P, F}, xbits)}});
    std::vector<uint16_t> bf = bits16Of(r.outputs.at("bf")), hf = bits16Of(r.outputs.at("hf"));
    std::vector<uint8_t> e4 = bits8Of(r.outputs.at("e4")), e5 = bits8Of(r.outputs.at("e5")),
                         i8 = bits8Of(r.outputs.at("i8"));
    std::vector<int32_t> i32 = ints32Of(r.outputs.at("i32"));
    int bad = 0;
    for (int i = 0; i < P * F && bad < 10; ++i) {
      const float v = x[i];
      auto check = [&](const char *dt, uint32_t got, uint32_t want) {
        if (got != want) {
          ++bad;
          ADD_FAILURE() << dt << " of " << v << " (0x" << std::hex << fBits(v) << "): got 0x" << got << ", want 0x"
                        << want << std::dec;
        }
      };
      check("bf16", bf[i], encodeRef(kBF16, v));
      check("fp16", hf[i], encodeRef(kFP16, v));
      check("fp8e4m3", e4[i], encodeRef(kE4M3, v));
      check("fp8e5m2", e5[i], encodeRef(kE5M2, v));
      check("int8", i8[i], static_cast<uint8_t>(rneInt(v, -128, 127)));
      check("int32", static_cast<uint32_t>(i32[i]), static_cast<uint32_t>(rneInt(v, INT32_MIN, INT32_MAX)));
    }
  }
  // Spot checks of the documented rules, independent of the reference search.
  EXPECT_EQ(encodeRef(kE4M3, kInf), 0x7eu); // saturates to 448
  EXPECT_EQ(encodeRef(kE4M3, -1e6f), 0xfeu);
  EXPECT_EQ(encodeRef(kE4M3, kNaN), 0x7fu);
  EXPECT_EQ(encodeRef(kFP16, 65520.0f), 0x7c00u);
  EXPECT_EQ(encodeRef(kE5M2, 61440.0f), 0x7cu);
  EXPECT_EQ(encodeRef(kBF16, 1.0f + std::ldexp(1.0f, -8)), 0x3f80u);
}

TEST(FunctionalTensorCopy, SameDtypeCopiesAreBitExact) {
  const int P = 2;
  // fp32 with signalling NaN payloads and denormals.
  std::vector<uint32_t> f32 = {0x7f800001, 0xffa00000, 0x7fc12345, 0x00000001,
                               0x80000000, 0x7f800000, 0x3f800001, 0xff7fffff};
  std::vector<uint16_t> b16 = {0x7f81, 0xffc1, 0x7fff, 0x0001, 0x8000, 0xff80, 0x3f81, 0x7f7f};
  std::vector<uint16_t> h16 = {0x7c01, 0xfe03, 0x7dff, 0x0001, 0x8000, 0xfc00, 0x3c01, 0x7bff};
  std::vector<uint8_t> e5 = {0x7d, 0xfe, 0x7f, 0x01, 0x80, 0x7c, 0x3d, 0x7b};
  std::vector<uint8_t> e4 = {0x7f, 0xff, 0x7e, 0x01, 0x80, 0x08, 0x39, 0xfe};
  std::vector<int32_t> i32 = {16777217, 2147483647, INT32_MIN, 123456789, -16777219, 0, -1, 33554435};
  auto twice = [](auto v) {
    auto w = v;
    w.insert(w.end(), v.begin(), v.end());
    return w;
  };
  std::vector<std::string> lines;
  // Each pair: input words at src, copied on dve to dst with the same dtype.
  const struct {
    const char *dt;
    int n, src, dst;
  } copies[] = {{"fp32", 8, 0x000, 0x400},    {"bf16", 8, 0x100, 0x500},    {"fp16", 8, 0x200, 0x600},
                {"fp8e5m2", 8, 0x280, 0x680}, {"fp8e4m3", 8, 0x2c0, 0x6c0}, {"int32", 8, 0x300, 0x700}};
  for (const auto &c : copies)
    lines.push_back("tensor_copy dst=" + sb(P, c.dst, c.dt, c.n) + " src=" + sb(P, c.src, c.dt, c.n));
  std::string text =
      kernel(".tensor f input fp32 [2,8]\n.tensor b input int32 [2,4]\n.tensor h input int32 [2,4]\n"
             ".tensor e5 input int32 [2,2]\n.tensor e4 input int32 [2,2]\n.tensor i input int32 [2,8]\n"
             ".tensor of output int32 [2,8]\n.tensor ob output fp16 [2,8]\n.tensor oh output fp16 [2,8]\n"
             ".tensor oe5 output int8 [2,8]\n.tensor oe4 output int8 [2,8]\n.tensor oi output int32 [2,8]\n",
             {load("f", P, 8, 0x000), load("b", P, 4, 0x100, "int32"), load("h", P, 4, 0x200, "int32"),
              load("e5", P, 2, 0x280, "int32"), load("e4", P, 2, 0x2c0, "int32"), load("i", P, 8, 0x300, "int32")},
             "dve", lines,
             {store("of", P, 8, 0x400, "int32"), store("ob", P, 8, 0x500, "fp16"), store("oh", P, 8, 0x600, "fp16"),
              store("oe5", P, 8, 0x680, "int8"), store("oe4", P, 8, 0x6c0, "int8"), store("oi", P, 8, 0x700, "int32")});
  SimulationResult r = run(text, {{"f", f32BitsArray({P, 8}, twice(f32))},
                                  {"b", packed16({P, 4}, twice(b16))},
                                  {"h", packed16({P, 4}, twice(h16))},
                                  {"e5", packed8({P, 2}, twice(e5))},
                                  {"e4", packed8({P, 2}, twice(e4))},
                                  {"i", i32Array({P, 8}, twice(i32))}});
  EXPECT_EQ(bits32Of(r.outputs.at("of")), twice(f32));
  EXPECT_EQ(bits16Of(r.outputs.at("ob")), twice(b16));
  EXPECT_EQ(bits16Of(r.outputs.at("oh")), twice(h16));
  EXPECT_EQ(bits8Of(r.outputs.at("oe5")), twice(e5));
  EXPECT_EQ(bits8Of(r.outputs.at("oe4")), twice(e4));
  EXPECT_EQ(ints32Of(r.outputs.at("oi")), twice(i32));
}

TEST(FunctionalTensorCopy, NarrowToFp32WidensExactlyAndIntToFloatRounds) {
  const int P = 2, F = 8;
  std::vector<uint16_t> b16 = {0x3f81, 0x0001, 0xc2f7, 0x7f80, 0xff80, 0x8000, 0x7f7f, 0x4049};
  std::vector<int32_t> i32 = {16777217, -16777219, 2147483647, 5, -6, 0, 33554435, 1 << 30};
  std::vector<uint16_t> bb;
  std::vector<int32_t> ii;
  for (int p = 0; p < P; ++p) {
    bb.insert(bb.end(), b16.begin(), b16.end());
    ii.insert(ii.end(), i32.begin(), i32.end());
  }
  std::string text = kernel(".tensor b input int32 [2,4]\n.tensor i input int32 [2,8]\n.tensor y output fp32 [2,16]\n",
                            {load("b", P, 4, 0, "int32"), load("i", P, 8, 0x100, "int32")}, "act",
                            {"tensor_copy dst=" + sb(P, 0x200, "fp32", F) + " src=" + sb(P, 0, "bf16", F),
                             "tensor_copy dst=" + sb(P, 0x220, "fp32", F) + " src=" + sb(P, 0x100, "int32", F)},
                            {store("y", P, 16, 0x200)});
  SimulationResult r = run(text, {{"b", packed16({P, 4}, bb)}, {"i", i32Array({P, 8}, ii)}});
  std::vector<uint32_t> y = bits32Of(r.outputs.at("y"));
  for (int p = 0; p < P; ++p)
    for (int f = 0; f < F; ++f) {
      EXPECT_EQ(y[p * 16 + f], uint32_t(b16[f]) << 16) << f;
      // int32 -> fp32: nearest even (e.g. 16777217 -> 16777216, 33554435 -> 33554436).
      double v = i32[f];
      float want = static_cast<float>(v);
      EXPECT_EQ(y[p * 16 + 8 + f], fBits(want)) << i32[f];
    }
  EXPECT_EQ(bitsF(y[8 + 0]), 16777216.0f);
  EXPECT_EQ(bitsF(y[8 + 6]), 33554436.0f);
}

// ===========================================================================
// select, iota, affine_select, memset
// ===========================================================================

TEST(FunctionalSelect, NonZeroAndNaNPredicatesTakeOnTrue) {
  const int P = 8, F = 16;
  std::vector<float> pred(P * F), t = randomFloats(P * F, 41, -1, 1), e = randomFloats(P * F, 42, 5, 6);
  const float preds[] = {0.0f, -0.0f, 1.0f, -2.0f, kNaN, kInf, 1e-45f, 0.5f};
  for (int i = 0; i < P * F; ++i)
    pred[i] = preds[(i * 7 + i / F) % 8];
  std::string text = kernel(".tensor c input fp32 [8,16]\n.tensor t input fp32 [8,16]\n.tensor e input fp32 [8,16]\n"
                            ".tensor y output fp32 [8,16]\n",
                            {load("c", P, F, 0), load("t", P, F, 0x100), load("e", P, F, 0x200)}, "dve",
                            {"select dst=" + sb(P, 0x300, "fp32", F) + " pred=" + sb(P, 0, "fp32", F) +
                             " on_true=" + sb(P, 0x100, "fp32", F) + " on_false=" + sb(P, 0x200, "fp32", F)},
                            {store("y", P, F, 0x300)});
  SimulationResult r =
      run(text, {{"c", f32Array({P, F}, pred)}, {"t", f32Array({P, F}, t)}, {"e", f32Array({P, F}, e)}});
  std::vector<float> want(P * F);
  for (int i = 0; i < P * F; ++i)
    want[i] = (std::isnan(pred[i]) || pred[i] != 0.0f) ? t[i] : e[i];
  expectSameFloats(floatsOf(r.outputs.at("y")), want, "select");
}

TEST(FunctionalIota, Int32IsExactBeyond2Pow24AndFloatDstRounds) {
  const int P = 16;
  const int64_t base = 16777217, pstep = 1000, s0 = 3, s1 = -1;
  const std::string affine = " base=16777217 pstep=1000 step0=3 step1=-1";
  std::string text = kernel(
      ".tensor yi output int32 [16,32]\n.tensor yf output fp32 [16,32]\n.tensor yb output fp32 [16,32]\n", {}, "pool",
      {"iota dst=" + sb(0, P, 0, "int32", "[[8,4],[1,8]]") + affine,
       "iota dst=" + sb(0, P, 0x100, "fp32", "[[8,4],[1,8]]") + affine,
       // bf16 dst with small values: exact (widened by a copy for the output).
       "iota dst=" + sb(0, P, 0x200, "bf16", "[[8,4],[1,8]]") + " base=-5 pstep=2 step0=8 step1=1",
       "tensor_copy dst=" + sb(P, 0x300, "fp32", 32) + " src=" + sb(P, 0x200, "bf16", 32)},
      {store("yi", P, 32, 0, "int32"), store("yf", P, 32, 0x100), store("yb", P, 32, 0x300)});
  SimulationResult r = run(text, {});
  std::vector<int32_t> yi = ints32Of(r.outputs.at("yi"));
  std::vector<float> yf = floatsOf(r.outputs.at("yf")), yb = floatsOf(r.outputs.at("yb"));
  for (int p = 0; p < P; ++p)
    for (int i0 = 0; i0 < 4; ++i0)
      for (int i1 = 0; i1 < 8; ++i1) {
        const int idx = p * 32 + i0 * 8 + i1;
        const int64_t v = base + pstep * p + s0 * i0 + s1 * i1;
        ASSERT_EQ(yi[idx], v) << p << "," << i0 << "," << i1;
        EXPECT_EQ(yf[idx], static_cast<float>(static_cast<double>(v)));
        EXPECT_EQ(yb[idx], static_cast<float>(-5 + 2 * p + 8 * i0 + i1));
      }
  // 16777217 is not an fp32: the float result rounded (to even: 16777216).
  EXPECT_EQ(yf[0], 16777216.0f);
  EXPECT_EQ(yi[0], 16777217);
}

TEST(FunctionalAffineSelect, CausalMaskAndShiftedTwoDimMask) {
  const int P = 64, F = 64;
  std::vector<float> x = randomFloats(P * F, 51, -3, 3);
  std::string text =
      kernel(".tensor x input fp32 [64,64]\n.tensor y output fp32 [64,64]\n.tensor z output fp32 [64,64]\n",
             {load("x", P, F, 0)}, "pool",
             {"affine_select dst=" + sb(P, 0x400, "fp32", F) + " src=" + sb(P, 0, "fp32", F) +
                  " cmp=ge fill=-inf base=0 pstep=1 step0=-1",
              "affine_select dst=" + sb(0, P, 0x800, "fp32", "[[16,4],[1,16]]") + " src=" +
                  sb(0, P, 0, "fp32", "[[16,4],[1,16]]") + " cmp=gt fill=-7.5 base=-3 pstep=1 step0=-16 step1=-1"},
             {store("y", P, F, 0x400), store("z", P, F, 0x800)});
  SimulationResult r = run(text, {{"x", f32Array({P, F}, x)}});
  std::vector<float> y = floatsOf(r.outputs.at("y")), z = floatsOf(r.outputs.at("z"));
  for (int p = 0; p < P; ++p)
    for (int f = 0; f < F; ++f) {
      EXPECT_EQ(y[p * F + f], p - f >= 0 ? x[p * F + f] : -kInf) << p << "," << f;
      EXPECT_EQ(z[p * F + f], (-3 + p - f) > 0 ? x[p * F + f] : -7.5f) << p << "," << f;
    }
}

TEST(FunctionalMemset, ValueIsRoundedToTheDestinationDtype) {
  const int P = 4, F = 8;
  std::string text = kernel(".tensor a output fp32 [4,8]\n.tensor b output fp16 [4,16]\n.tensor c output int32 "
                            "[4,8]\n.tensor d output int8 [4,8]\n",
                            {}, "dve",
                            {"memset dst=" + sb(P, 0, "fp32", F) + " value=3.25",
                             "memset dst=" + sb(P, 0x100, "bf16", F) + " value=1.00390625",
                             "memset dst=" + sb(P, 0x110, "bf16", F) + " value=1.01171875",
                             "memset dst=" + sb(P, 0x200, "int32", F) + " value=-7.5",
                             "memset dst=" + sb(P, 0x300, "fp8e4m3", F) + " value=1000"},
                            {store("a", P, F, 0), store("b", P, 16, 0x100, "fp16"), store("c", P, F, 0x200, "int32"),
                             store("d", P, F, 0x300, "int8")});
  SimulationResult r = run(text, {});
  for (float v : floatsOf(r.outputs.at("a")))
    EXPECT_EQ(v, 3.25f);
  std::vector<uint16_t> b = bits16Of(r.outputs.at("b"));
  for (int p = 0; p < P; ++p)
    for (int f = 0; f < F; ++f) {
      EXPECT_EQ(b[p * 16 + f], 0x3f80);     // tie -> even (1.0)
      EXPECT_EQ(b[p * 16 + 8 + f], 0x3f82); // 1 + 3*2^-8 -> 1 + 2^-6
    }
  for (int32_t v : ints32Of(r.outputs.at("c")))
    EXPECT_EQ(v, -8);
  for (uint8_t v : bits8Of(r.outputs.at("d")))
    EXPECT_EQ(v, 0x7e); // 448, saturated
}

// ===========================================================================
// partition_reduce / partition_broadcast / bn_stats + bn_aggr
// ===========================================================================

TEST(FunctionalPartitionOps, ReduceInPartitionOrderAndBroadcast) {
  const int P = 64, F = 32;
  std::vector<float> x = randomFloats(P * F, 61, -100, 100);
  x[5] = kNaN; // column 5: max/min/add all NaN
  std::string text =
      kernel(".tensor x input fp32 [64,32]\n.tensor r output fp32 [1,96]\n.tensor b output fp32 [96,32]\n",
             {load("x", P, F, 0)}, "pool",
             {"partition_reduce dst=" + sb(1, 0x400, "fp32", F) + " src=" + sb(P, 0, "fp32", F) + " op=add",
              "partition_reduce dst=" + sb(1, 0x480, "fp32", F) + " src=" + sb(P, 0, "fp32", F) + " op=max",
              "partition_reduce dst=" + sb(1, 0x500, "fp32", F) + " src=" + sb(P, 0, "fp32", F) + " op=min",
              "partition_broadcast dst=" + sb(96, 0x800, "fp32", F) + " src=" + sb(0, 1, 0, "fp32", "[[1,32]]")},
             {store("r", 1, 96, 0x400), store("b", 96, F, 0x800)});
  SimulationResult r = run(text, {{"x", f32Array({P, F}, x)}});
  std::vector<float> want(96, 0);
  for (int f = 0; f < F; ++f) {
    float s = 0, mx = -kInf, mn = kInf;
    for (int p = 0; p < P; ++p) {
      s += x[p * F + f];
      mx = nanMax(mx, x[p * F + f]);
      mn = nanMin(mn, x[p * F + f]);
    }
    want[f] = s;
    want[32 + f] = mx;
    want[64 + f] = mn;
  }
  expectSameFloats(floatsOf(r.outputs.at("r")), want, "partition_reduce");
  std::vector<float> b = floatsOf(r.outputs.at("b"));
  for (int p = 0; p < 96; ++p)
    for (int f = 0; f < F; ++f)
      ASSERT_EQ(fBits(b[p * F + f]), fBits(x[f])) << p << "," << f; // partition 0
}

TEST(FunctionalBatchNorm, StatsAndAggregateGiveMeanAndPopulationVariance) {
  const int P = 32, F = 1024;
  std::vector<float> x = randomFloats(P * F, 71, -1, 1);
  for (int i = 0; i < P * F; ++i)
    x[i] = 3.0f + 2.0f * x[i] * (1 + (i / F) % 3);
  std::string text =
      kernel(".tensor x input fp32 [32,1024]\n.tensor s output fp32 [32,6]\n.tensor m output fp32 [32,2]\n",
             {load("x", P, F, 0)}, "dve",
             {"bn_stats dst=" + sb(P, 0x1000, "fp32", 3) + " src=" + sb(P, 0, "fp32", 512),
              "bn_stats dst=" + sb(P, 0x100c, "fp32", 3) + " src=" + sb(P, 2048, "fp32", 512),
              "bn_aggr dst=" + sb(P, 0x1100, "fp32", 2) + " src=" + sb(P, 0x1000, "fp32", 6)},
             {store("s", P, 6, 0x1000), store("m", P, 2, 0x1100)});
  SimulationResult r = run(text, {{"x", f32Array({P, F}, x)}});
  std::vector<float> s = floatsOf(r.outputs.at("s")), m = floatsOf(r.outputs.at("m"));
  for (int p = 0; p < P; ++p) {
    double tot = 0, tot2 = 0;
    for (int h = 0; h < 2; ++h) {
      double sum = 0;
      for (int f = 0; f < 512; ++f)
        sum += x[p * F + h * 512 + f];
      double mean = sum / 512, m2 = 0;
      for (int f = 0; f < 512; ++f)
        m2 += (x[p * F + h * 512 + f] - mean) * (x[p * F + h * 512 + f] - mean);
      EXPECT_EQ(s[p * 6 + h * 3], 512.0f);
      EXPECT_NEAR(s[p * 6 + h * 3 + 1], mean, 1e-5 * std::max(1.0, std::fabs(mean)));
      EXPECT_NEAR(s[p * 6 + h * 3 + 2], m2, 1e-4 * m2);
    }
    for (int f = 0; f < F; ++f) {
      tot += x[p * F + f];
      tot2 += static_cast<double>(x[p * F + f]) * x[p * F + f];
    }
    const double mean = tot / F, var = tot2 / F - mean * mean;
    EXPECT_NEAR(m[p * 2], mean, 1e-5 * std::max(1.0, std::fabs(mean))) << p;
    EXPECT_NEAR(m[p * 2 + 1], var, 1e-4 * var) << p; // population (divide by N), not N-1
  }
}

// ===========================================================================
// matmul / transpose
// ===========================================================================

namespace {
// dst[m, n] = sum_k st[k, m] * mv[k, n], fp32 products and sums, k in order.
std::vector<float> matmulRef(const std::vector<float> &st, const std::vector<float> &mv, int K, int M, int N) {
  std::vector<float> out(M * N);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      float acc = 0.0f;
      for (int k = 0; k < K; ++k) {
        float prod = st[k * M + m] * mv[k * N + n];
        acc = acc + prod;
      }
      out[m * N + n] = acc;
    }
  return out;
}
} // namespace

TEST(FunctionalMatmul, Bf16AndFp32OperandsAccumulateInFp32KInOrder) {
  const int K = 64, M = 32, N = 48;
  std::vector<float> a = randomFloats(K * M, 81, -1, 1), b = randomFloats(K * N, 82, -1, 1);
  for (const char *dt : {"bf16", "fp32"}) {
    SCOPED_TRACE(dt);
    const std::string d = dt;
    std::ostringstream os;
    os << ".target trn3\n.tensor a input " << d << " [64,32]\n.tensor b input " << d << " [64,48]\n"
       << ".tensor c output fp32 [32,48]\n.stream core=0 engine=q0\n  " << load("a", K, M, 0, d) << " signal=s0+1\n  "
       << load("b", K, N, 0x100, d) << " signal=s0+1\n.stream core=0 engine=pe\n  matmul dst=" << ps(M, 0, "fp32", N)
       << " stationary=" << sb(K, 0, d, M) << " moving=" << sb(K, 0x100, d, N) << " wait=s0>=2 signal=s1+1\n"
       << ".stream core=0 engine=dve\n  tensor_copy dst=" << sb(M, 0x1000, "fp32", N) << " src=" << ps(M, 0, "fp32", N)
       << " wait=s1>=1 signal=s2+1\n.stream core=0 engine=q1\n  " << store("c", M, N, 0x1000) << " wait=s2>=1\n";
    const std::string text = os.str();
    SimulationResult r = run(text, {{"a", f32Array({K, M}, a)}, {"b", f32Array({K, N}, b)}});
    std::vector<float> ar = a, br = b;
    if (d == "bf16") {
      for (float &v : ar)
        v = bf16Value(v);
      for (float &v : br)
        v = bf16Value(v);
    }
    expectSameFloats(floatsOf(r.outputs.at("c")), matmulRef(ar, br, K, M, N), "matmul");
  }
}

TEST(FunctionalMatmul, AccumulateFlagAddsOntoPsumAcrossSeveralMatmuls) {
  const int K = 32, M = 16, N = 64;
  std::vector<float> a = randomFloats(3 * K * M, 91, -1, 1), b = randomFloats(3 * K * N, 92, -1, 1);
  std::ostringstream os;
  os << ".target trn3\n.tensor a input fp32 [96,16]\n.tensor b input fp32 [96,64]\n.tensor c output fp32 [16,64]\n"
     << ".tensor d output fp32 [16,64]\n"
     << ".stream core=0 engine=q0\n";
  for (int i = 0; i < 3; ++i)
    os << "  dma_copy dst=" << sb(K, 0x100 * i, "fp32", M) << " src=hbm[a]+" << i * K * M * 4
       << ":fp32[[16,32],[1,16]] signal=s0+1\n"
       << "  dma_copy dst=" << sb(K, 0x400 + 0x100 * i, "fp32", N) << " src=hbm[b]+" << i * K * N * 4
       << ":fp32[[64,32],[1,64]] signal=s0+1\n";
  os << ".stream core=0 engine=pe\n  sem_wait wait=s0>=6\n";
  for (int i = 0; i < 3; ++i)
    os << "  matmul dst=" << ps(M, 0x800, "fp32", N) << " stationary=" << sb(K, 0x100 * i, "fp32", M)
       << " moving=" << sb(K, 0x400 + 0x100 * i, "fp32", N) << " acc=" << (i ? 1 : 0) << "\n";
  // A fourth matmul without acc into another bank overwrites (bank starts non-zero).
  os << "  matmul dst=" << ps(M, 0x1000, "fp32", N) << " stationary=" << sb(K, 0x100, "fp32", M)
     << " moving=" << sb(K, 0x500, "fp32", N) << " acc=1\n"
     << "  matmul dst=" << ps(M, 0x1000, "fp32", N) << " stationary=" << sb(K, 0, "fp32", M)
     << " moving=" << sb(K, 0x400, "fp32", N) << " signal=s1+1\n"
     << ".stream core=0 engine=act\n  tensor_copy dst=" << sb(M, 0x2000, "fp32", N)
     << " src=" << ps(M, 0x800, "fp32", N) << " wait=s1>=1\n  tensor_copy dst=" << sb(M, 0x2400, "fp32", N)
     << " src=" << ps(M, 0x1000, "fp32", N) << " signal=s2+1\n.stream core=0 engine=q1\n  " << store("c", M, N, 0x2000)
     << " wait=s2>=1\n  " << store("d", M, N, 0x2400) << "\n";
  SimulationResult r = run(os.str(), {{"a", f32Array({3 * K, M}, a)}, {"b", f32Array({3 * K, N}, b)}}, Mode::Both);
  std::vector<float> acc(M * N, 0.0f);
  for (int i = 0; i < 3; ++i) {
    std::vector<float> ai(a.begin() + i * K * M, a.begin() + (i + 1) * K * M);
    std::vector<float> bi(b.begin() + i * K * N, b.begin() + (i + 1) * K * N);
    std::vector<float> part = matmulRef(ai, bi, K, M, N);
    for (int j = 0; j < M * N; ++j)
      acc[j] = i == 0 ? part[j] : acc[j] + part[j]; // dst += sum_k(...)
  }
  expectSameFloats(floatsOf(r.outputs.at("c")), acc, "accumulated");
  std::vector<float> a0(a.begin(), a.begin() + K * M), b0(b.begin(), b.begin() + K * N);
  expectSameFloats(floatsOf(r.outputs.at("d")), matmulRef(a0, b0, K, M, N), "acc=0 overwrites");
}

TEST(FunctionalMatmul, Fp8DoubleRowUsesTwoRowsPerPartition) {
  // [P, 2, M] and [P, 2, N] fp8 operands, K = 2P. Values on a 0.5 grid so
  // every sum is exact whatever the order of k.
  const int P = 32, M = 24, N = 40;
  for (const char *dt : {"fp8e4m3", "fp8e5m2"}) {
    SCOPED_TRACE(dt);
    const std::string d = dt;
    std::vector<float> a = randomInts(P * 2 * M, 101, -4, 4), b = randomInts(P * 2 * N, 102, -4, 4);
    for (float &v : a)
      v *= 0.5f;
    for (float &v : b)
      v *= 0.5f;
    std::ostringstream os;
    os << ".target trn2\n.tensor a input " << d << " [32,48]\n.tensor b input " << d << " [32,80]\n"
       << ".tensor c output fp32 [24,40]\n.stream core=0 engine=q0\n  " << load("a", P, 2 * M, 0, d)
       << " signal=s0+1\n  " << load("b", P, 2 * N, 0x100, d) << " signal=s0+1\n"
       << ".stream core=0 engine=pe\n  matmul dst=" << ps(M, 0, "fp32", N)
       << " stationary=" << sb(0, P, 0, d, "[[24,2],[1,24]]") << " moving=" << sb(0, P, 0x100, d, "[[40,2],[1,40]]")
       << " mode=double_row wait=s0>=2 signal=s1+1\n"
       << ".stream core=0 engine=dve\n  tensor_copy dst=" << sb(M, 0x1000, "fp32", N) << " src=" << ps(M, 0, "fp32", N)
       << " wait=s1>=1 signal=s2+1\n.stream core=0 engine=q1\n  " << store("c", M, N, 0x1000) << " wait=s2>=1\n";
    // trn2: NC-v4 (trn3) has no double-row mode (G3: plain fp8 runs at the bf16 rate).
    SimulationResult r = run(os.str(), {{"a", f32Array({P, 2 * M}, a)}, {"b", f32Array({P, 2 * N}, b)}},
                             Mode::Functional, "trn2");
    std::vector<float> want(M * N, 0.0f);
    for (int p = 0; p < P; ++p)
      for (int row = 0; row < 2; ++row)
        for (int m = 0; m < M; ++m)
          for (int n = 0; n < N; ++n)
            want[m * N + n] += a[p * 2 * M + row * M + m] * b[p * 2 * N + row * N + n];
    expectSameFloats(floatsOf(r.outputs.at("c")), want, "double_row");
  }
}

TEST(FunctionalMatmul, Bf16PsumOutputRoundsOnTrn3) {
  const int K = 128, M = 64, N = 32;
  std::vector<float> a = randomFloats(K * M, 111, -1, 1), b = randomFloats(K * N, 112, -1, 1);
  std::ostringstream os;
  os << ".target trn3\n.tensor a input bf16 [128,64]\n.tensor b input bf16 [128,32]\n.tensor c output fp32 [64,32]\n"
     << ".tensor c16 output bf16 [64,32]\n.stream core=0 engine=q0\n  " << load("a", K, M, 0, "bf16")
     << " signal=s0+1\n  " << load("b", K, N, 0x100, "bf16") << " signal=s0+1\n"
     << ".stream core=0 engine=pe\n  matmul dst=" << ps(M, 0, "bf16", N) << " stationary=" << sb(K, 0, "bf16", M)
     << " moving=" << sb(K, 0x100, "bf16", N) << " wait=s0>=2 signal=s1+1\n"
     << ".stream core=0 engine=dve\n  tensor_copy dst=" << sb(M, 0x1000, "fp32", N) << " src=" << ps(M, 0, "bf16", N)
     << " wait=s1>=1\n  tensor_copy dst=" << sb(M, 0x1100, "bf16", N) << " src=" << ps(M, 0, "bf16", N)
     << " signal=s2+1\n.stream core=0 engine=q1\n  " << store("c", M, N, 0x1000) << " wait=s2>=1\n  "
     << store("c16", M, N, 0x1100, "bf16") << "\n";
  SimulationResult r = run(os.str(), {{"a", f32Array({K, M}, a)}, {"b", f32Array({K, N}, b)}});
  for (float &v : a)
    v = bf16Value(v);
  for (float &v : b)
    v = bf16Value(v);
  std::vector<float> want = matmulRef(a, b, K, M, N);
  for (float &v : want)
    v = bf16Value(v);
  expectSameFloats(floatsOf(r.outputs.at("c")), want, "bf16 psum via fp32 copy");
  expectSameFloats(floatsOf(r.outputs.at("c16")), want, "bf16 psum");
  // trn2 has no bf16 PSUM results.
  EXPECT_THAT(errorOf([&] {
                run(os.str(), {{"a", f32Array({K, M}, a)}, {"b", f32Array({K, N}, b)}}, Mode::Functional, "trn2");
              }),
              HasSubstr("matmul results of dtype bf16 are not supported"));
}

TEST(FunctionalTranspose, ExactForEveryValueIncludingNaNAndInf) {
  const int P = 32, F = 64;
  std::vector<uint32_t> x(P * F);
  std::mt19937 rng(121);
  const uint32_t specials[] = {0x7f800001, 0xffc00001, 0x7fc00000, 0x7f800000,
                               0xff800000, 0x80000000, 0x00000001, 0x807fffff};
  for (int i = 0; i < P * F; ++i)
    x[i] = (i % 5 == 0) ? specials[(i / 5) % 8] : static_cast<uint32_t>(rng());
  std::vector<uint16_t> h(P * F);
  const uint16_t specials16[] = {0x7f81, 0xffc1, 0x7fc0, 0x7f80, 0xff80, 0x8000, 0x0001, 0x807f};
  for (int i = 0; i < P * F; ++i)
    h[i] = (i % 3 == 0) ? specials16[(i / 3) % 8] : static_cast<uint16_t>(rng());
  std::ostringstream os;
  os << ".target trn3\n.tensor x input fp32 [32,64]\n.tensor h input int32 [32,32]\n"
     << ".tensor y output int32 [64,32]\n.tensor yh output fp16 [64,32]\n.tensor yw output int32 [64,32]\n"
     << ".stream core=0 engine=q0\n  " << load("x", P, F, 0) << " signal=s0+1\n  " << load("h", P, 32, 0x100, "int32")
     << " signal=s0+1\n.stream core=0 engine=pe\n  transpose dst=" << ps(F, 0, "fp32", P)
     << " src=" << sb(P, 0, "fp32", F) << " wait=s0>=2\n  transpose dst=" << ps(F, 0x800, "bf16", P)
     << " src=" << sb(P, 0x100, "bf16", F) << "\n  transpose dst=" << ps(F, 0x1000, "fp32", P)
     << " src=" << sb(P, 0x100, "bf16", F) << " signal=s1+1\n"
     << ".stream core=0 engine=dve\n  tensor_copy dst=" << sb(F, 0x1000, "fp32", P) << " src=" << ps(F, 0, "fp32", P)
     << " wait=s1>=1\n  tensor_copy dst=" << sb(F, 0x1100, "bf16", P) << " src=" << ps(F, 0x800, "bf16", P)
     << "\n  tensor_copy dst=" << sb(F, 0x1200, "fp32", P) << " src=" << ps(F, 0x1000, "fp32", P) << " signal=s2+1\n"
     << ".stream core=0 engine=q1\n  " << store("y", F, P, 0x1000, "int32") << " wait=s2>=1\n  "
     << store("yh", F, P, 0x1100, "fp16") << "\n  " << store("yw", F, P, 0x1200, "int32") << "\n";
  std::vector<int32_t> hw(P * 32);
  std::memcpy(hw.data(), h.data(), h.size() * 2);
  SimulationResult r = run(os.str(), {{"x", f32BitsArray({P, F}, x)}, {"h", i32Array({P, 32}, hw)}});
  std::vector<uint32_t> y = bits32Of(r.outputs.at("y")), yw = bits32Of(r.outputs.at("yw"));
  std::vector<uint16_t> yh = bits16Of(r.outputs.at("yh"));
  int bad = 0;
  for (int p = 0; p < P && bad < 10; ++p)
    for (int f = 0; f < F && bad < 10; ++f) {
      if (y[f * P + p] != x[p * F + f]) {
        ++bad;
        ADD_FAILURE() << "fp32 [" << p << "," << f << "]: 0x" << std::hex << y[f * P + p] << " != 0x" << x[p * F + f];
      }
      if (yh[f * P + p] != h[p * F + f]) {
        ++bad;
        ADD_FAILURE() << "bf16 [" << p << "," << f << "]: 0x" << std::hex << yh[f * P + p] << " != 0x" << h[p * F + f];
      }
      // bf16 -> fp32 widening keeps every bit.
      if (yw[f * P + p] != uint32_t(h[p * F + f]) << 16) {
        ++bad;
        ADD_FAILURE() << "bf16->fp32 [" << p << "," << f << "]: 0x" << std::hex << yw[f * P + p];
      }
    }
}

// ===========================================================================
// DMA
// ===========================================================================

TEST(FunctionalDma, StridedMultiDimPatternsBetweenHbmAndSbuf) {
  const int R = 8, J = 4, I = 16; // x[r][j][i]
  std::vector<float> x = randomFloats(R * J * I, 131, -1, 1), v = randomFloats(16, 132, -1, 1);
  std::ostringstream os;
  os << ".target trn3\n.tensor x input fp32 [8,4,16]\n.tensor v input fp32 [16]\n"
     << ".tensor t output fp32 [8,64]\n.tensor tt output fp32 [8,64]\n.tensor rev output fp32 [32,16]\n"
     << ".tensor s output fp32 [32,40]\n.tensor bc output fp32 [32,16]\n.tensor hh output fp32 [8,4,16]\n"
     << ".stream core=0 engine=q0\n"
     // Row r of the SBUF gets x[r] transposed: element (i, j) = x[r][j][i].
     << "  dma_copy dst=" << sb(R, 0, "fp32", 64)
     << " src=hbm[x]+0:fp32[[64,8],[1,16],[16,4]] signal=s0+1\n"
     // The DMA transpose unit moves the same data.
     << "  dma_copy dst=" << sb(R, 0x100, "fp32", 64)
     << " src=hbm[x]+0:fp32[[64,8],[1,16],[16,4]] transpose=1 signal=s0+1\n"
     // Row stride 0: every partition gets v.
     << "  dma_copy dst=" << sb(32, 0x200, "fp32", 16)
     << " src=hbm[v]+0:fp32[[0,32],[1,16]] signal=s0+1\n"
     // HBM -> HBM with a row offset.
     << "  dma_copy dst=hbm[hh]+0:fp32[[64,8],[1,64]] src=hbm[x]+0:fp32[[64,8],[1,64]] signal=s0+1\n"
     << ".stream core=0 engine=q1\n  sem_wait wait=s0>=4\n"
     << "  " << store("t", R, 64, 0) << "\n  " << store("tt", R, 64, 0x100) << "\n  " << store("bc", 32, 16, 0x200)
     << "\n"
     // SBUF -> SBUF: partitions 0..7 x 16 reversed (negative stride) into partitions 32..39.
     << "  dma_copy dst=" << sb(32, 40, 0x400, "fp32", "[[1,16]]") << " src=" << sb(0, 8, 60, "fp32", "[[-1,16]]")
     << "\n"
     << "  dma_copy dst=hbm[rev]+512:fp32[[16,8],[1,16]] src=" << sb(32, 40, 0x400, "fp32", "[[1,16]]")
     << "\n"
     // SBUF -> HBM into every other element of a [32,40] tensor, starting at element 1.
     << "  dma_copy dst=hbm[s]+4:fp32[[40,8],[2,16]] src=" << sb(R, 0, "fp32", 16) << "\n";
  SimulationResult r = run(os.str(), {{"x", f32Array({R, J, I}, x)}, {"v", f32Array({16}, v)}}, Mode::Both);
  std::vector<float> t = floatsOf(r.outputs.at("t")), tt = floatsOf(r.outputs.at("tt")),
                     bc = floatsOf(r.outputs.at("bc")), rev = floatsOf(r.outputs.at("rev")),
                     s = floatsOf(r.outputs.at("s")), hh = floatsOf(r.outputs.at("hh"));
  for (int rr = 0; rr < R; ++rr)
    for (int i = 0; i < I; ++i)
      for (int j = 0; j < J; ++j) {
        ASSERT_EQ(t[rr * 64 + i * 4 + j], x[rr * 64 + j * 16 + i]);
        ASSERT_EQ(tt[rr * 64 + i * 4 + j], x[rr * 64 + j * 16 + i]);
      }
  for (int p = 0; p < 32; ++p)
    for (int f = 0; f < 16; ++f)
      ASSERT_EQ(bc[p * 16 + f], v[f]);
  for (int rr = 0; rr < 32; ++rr)
    for (int f = 0; f < 16; ++f)
      ASSERT_EQ(rev[rr * 16 + f], rr >= 8 && rr < 16 ? t[(rr - 8) * 64 + 15 - f] : 0.0f) << rr << "," << f;
  for (int rr = 0; rr < 32; ++rr)
    for (int c = 0; c < 40; ++c) {
      float want = (rr < R && c % 2 == 1 && c / 2 < 16) ? t[rr * 64 + c / 2] : 0.0f;
      ASSERT_EQ(s[rr * 40 + c], want) << rr << "," << c;
    }
  EXPECT_EQ(hh, x);
}

TEST(FunctionalDma, GatherLooksUpEmbeddingRowsAndRejectsOutOfRangeIndices) {
  const int V = 50, D = 16, P = 32;
  std::vector<float> table = randomFloats(V * D, 141, -1, 1);
  std::vector<int32_t> idx(P);
  for (int p = 0; p < P; ++p)
    idx[p] = (p * 17 + 3) % 45;
  auto program = [&](const std::string &srcRows) {
    return ".target trn3\n.tensor t input fp32 [50,16]\n.tensor i input int32 [32,1]\n.tensor y output fp32 [32,16]\n"
           ".stream core=0 engine=q0\n  " +
           load("i", P, 1, 0x100, "int32") + "\n  dma_gather dst=" + sb(P, 0, "fp32", D) + " src=hbm[t]+" + srcRows +
           " index=" + sb(P, 0x100, "int32", 1) + " signal=s0+1\n.stream core=0 engine=q1\n  " + store("y", P, D, 0) +
           " wait=s0>=1\n";
  };
  // Whole table, then a view starting at row 5 (offset) with 45 rows.
  for (int first : {0, 5}) {
    SCOPED_TRACE(first);
    std::string rows = std::to_string(first * D * 4) + ":fp32[[16," + std::to_string(V - first) + "],[1,16]]";
    SimulationResult r = run(program(rows), {{"t", f32Array({V, D}, table)}, {"i", i32Array({P, 1}, idx)}});
    std::vector<float> y = floatsOf(r.outputs.at("y"));
    for (int p = 0; p < P; ++p)
      for (int d = 0; d < D; ++d)
        ASSERT_EQ(y[p * D + d], table[(first + idx[p]) * D + d]) << p << "," << d;
  }
  for (int badIndex : {50, -1}) {
    std::vector<int32_t> bad = idx;
    bad[7] = badIndex;
    for (Mode mode : {Mode::Functional, Mode::Both}) {
      std::string msg = errorOf([&] {
        run(program("0:fp32[[16,50],[1,16]]"), {{"t", f32Array({V, D}, table)}, {"i", i32Array({P, 1}, bad)}}, mode);
      });
      EXPECT_THAT(msg, HasSubstr("core 0 q0 #1 (dma_gather)"));
      EXPECT_THAT(msg, HasSubstr(std::to_string(badIndex)));
    }
  }
}

// ===========================================================================
// loops
// ===========================================================================

TEST(FunctionalLoops, OffsetAndWaitStepsWalkTilesInBothModes) {
  // 4 tiles of [32, 64] rows, loaded, squared plus the tile index (via a
  // nested 2x2 loop on DVE), stored: offsets step with i0 (and i1).
  const int T = 4, P = 32, F = 64;
  std::vector<float> x = randomFloats(T * P * F, 151, -2, 2);
  std::ostringstream os;
  os << ".target trn3\n.tensor x input fp32 [128,64]\n.tensor y output fp32 [128,64]\n.tensor z output fp32 [128,64]\n"
     << ".stream core=0 engine=q0\n  loop count=4\n"
     << "    dma_copy dst=sbuf[0:32]+0+256*i0:fp32[[1,64]] src=hbm[x]+0+8192*i0:fp32[[64,32],[1,64]] signal=s0+1\n"
     << "  endloop\n.stream core=0 engine=act\n  loop count=4\n"
     << "    activation dst=sbuf[0:32]+0x1000+256*i0:fp32[[1,64]] src=sbuf[0:32]+0+256*i0:fp32[[1,64]] func=square "
        "wait=s0>=1+1*i0 signal=s1+1\n  endloop\n"
     << ".stream core=0 engine=dve\n  loop count=2\n    loop count=2\n"
     << "      tensor_scalar dst=sbuf[0:32]+0x2000+512*i0+256*i1:fp32[[1,64]] "
        "src=sbuf[0:32]+0x1000+512*i0+256*i1:fp32[[1,64]] "
        "op0=add scalar0=1 wait=s1>=1+2*i0+1*i1 signal=s2+1\n    endloop\n  endloop\n"
     << ".stream core=0 engine=q1\n  loop count=4\n"
     << "    dma_copy dst=hbm[y]+0+8192*i0:fp32[[64,32],[1,64]] src=sbuf[0:32]+0x1000+256*i0:fp32[[1,64]] "
        "wait=s1>=1+1*i0\n"
     << "    dma_copy dst=hbm[z]+0+8192*i0:fp32[[64,32],[1,64]] src=sbuf[0:32]+0x2000+256*i0:fp32[[1,64]] "
        "wait=s2>=1+1*i0\n"
     << "  endloop\n";
  for (Mode mode : {Mode::Functional, Mode::Both}) {
    SimulationResult r = run(os.str(), {{"x", f32Array({T * P, F}, x)}}, mode);
    std::vector<float> y(T * P * F), z(T * P * F);
    for (int i = 0; i < T * P * F; ++i) {
      y[i] = x[i] * x[i];
      z[i] = y[i] + 1.0f;
    }
    expectSameFloats(floatsOf(r.outputs.at("y")), y, "loop y");
    expectSameFloats(floatsOf(r.outputs.at("z")), z, "loop z");
  }
}
