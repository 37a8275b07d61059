// matmul_mx (OCP MX v1.0 block-scaled matmul, docs/isa.md): numerics against
// values decoded by hand here (FP4 E2M1 table, fp8 inputs chosen exactly
// representable, E8M0 = 2^(e-127)), independently of isa/DType.cpp; and the
// timing and peak FLOP/s of the MX modes from the chip presets.
#include "isa/AsmParser.h"
#include "isa/Error.h"
#include "simulator/Simulator.h"
#include "simulator/config/ConfigLoader.h"
#include "simulator/io/Npy.h"
#include "simulator/report/Report.h"
#include "simulator/timing/InstructionCost.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

using namespace trnx;

namespace {

// FP4 E2M1 codes 0..7 (sign in bit 3), from the OCP MX spec's table.
const double kFp4[8] = {0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0};
double fp4(uint8_t code) { return (code & 8 ? -1.0 : 1.0) * kFp4[code & 7]; }
double e8m0(uint8_t e) { return e == 0xff ? std::nan("") : std::ldexp(1.0, e - 127); }

HostArray bytesArray(std::vector<int64_t> shape, const std::vector<uint8_t> &bytes) {
  HostArray a;
  a.descr = "|u1";
  a.shape = std::move(shape);
  a.data = bytes;
  return a;
}

HostArray floatArray(std::vector<int64_t> shape, const std::vector<float> &v) {
  HostArray a;
  a.descr = "<f4";
  a.shape = std::move(shape);
  a.data.resize(v.size() * 4);
  std::memcpy(a.data.data(), v.data(), a.data.size());
  return a;
}

std::vector<float> floatsOf(const HostArray &a) {
  std::vector<float> v(a.elementCount());
  std::memcpy(v.data(), a.data.data(), v.size() * 4);
  return v;
}

// One matmul_mx from HBM tensors a [K, M/va] (stationary), as [K/32, M],
// b [K, N/vb], bs [K/32, N] into c [M, N] fp32, with R rows of K per partition.
std::string mxProgram(int K, int M, int N, int R, const std::string &at, const std::string &bt) {
  const int va = at == "fp4e2m1x2" ? 2 : 1, vb = bt == "fp4e2m1x2" ? 2 : 1;
  const int P = K / R, ma = M / va, nb = N / vb, blocks = K / 32;
  std::ostringstream os;
  os << ".target trn3\n.cores 1\n"
     << ".tensor a input " << at << " [" << K << "," << ma << "] hbm=0x0\n"
     << ".tensor as input e8m0 [" << blocks << "," << M << "] hbm=0x100000\n"
     << ".tensor b input " << bt << " [" << K << "," << nb << "] hbm=0x200000\n"
     << ".tensor bs input e8m0 [" << blocks << "," << N << "] hbm=0x300000\n"
     << ".tensor c output fp32 [" << M << "," << N << "] hbm=0x400000\n"
     << ".stream core=0 engine=q0\n"
     // Partition p holds rows p*R .. p*R+R-1 (contiguous in HBM).
     << "  dma_copy dst=sbuf[0:" << P << "]+0x0:" << at << "[[1," << R * ma << "]] src=hbm[a]+0x0:" << at << "[["
     << R * ma << "," << P << "],[1," << R * ma << "]] signal=s0+1\n"
     << "  dma_copy dst=sbuf[0:" << P << "]+0x4000:" << bt << "[[1," << R * nb << "]] src=hbm[b]+0x0:" << bt << "[["
     << R * nb << "," << P << "],[1," << R * nb << "]] signal=s0+1\n"
     << "  dma_copy dst=sbuf[0:" << blocks << "]+0x8000:e8m0[[1," << M << "]] src=hbm[as]+0x0:e8m0[[" << M << ","
     << blocks << "],[1," << M << "]] signal=s0+1\n"
     << "  dma_copy dst=sbuf[0:" << blocks << "]+0x9000:e8m0[[1," << N << "]] src=hbm[bs]+0x0:e8m0[[" << N << ","
     << blocks << "],[1," << N << "]] signal=s0+1\n"
     << ".stream core=0 engine=pe\n  sem_wait wait=s0>=4\n"
     << "  matmul_mx dst=psum[0:" << M << "]+0x0:fp32[[1," << N << "]] stationary=sbuf[0:" << P << "]+0x0:" << at
     << "[[" << ma << "," << R << "],[1," << ma << "]] moving=sbuf[0:" << P << "]+0x4000:" << bt << "[[" << nb << ","
     << R << "],[1," << nb << "]] stationary_scale=sbuf[0:" << blocks << "]+0x8000:e8m0[[1," << M
     << "]] moving_scale=sbuf[0:" << blocks << "]+0x9000:e8m0[[1," << N << "]] k_rows=" << R << "\n"
     << ".stream core=0 engine=act\n"
     << "  activation dst=sbuf[0:" << M << "]+0xa000:fp32[[1," << N << "]] src=psum[0:" << M << "]+0x0:fp32[[1," << N
     << "]] wait=s1>=1 signal=s2+1\n"
     << ".stream core=0 engine=q1\n  dma_copy dst=hbm[c]+0x0:fp32[[" << N << "," << M << "],[1," << N
     << "]] src=sbuf[0:" << M << "]+0xa000:fp32[[1," << N << "]] wait=s2>=1\n";
  std::string text = os.str();
  // The PE signals s1 when the matmul completes.
  size_t at_ = text.find(" k_rows=");
  text.insert(text.find('\n', at_), " signal=s1+1");
  return text;
}

std::map<std::string, HostArray> runProgram(const std::string &text, const std::map<std::string, HostArray> &in,
                                            const std::string &chipName = "trn3") {
  Program p = parseAssembly(text, "mx.s");
  MachineOptions o;
  o.functional = true;
  o.timing = true;
  return simulate(p, loadChip(chipName), in, o).outputs;
}

} // namespace

// K = 32 (one block), M = N = 2: FP4 stationary x FP8 E4M3 moving, every value
// decoded by hand. Column 1 of the moving side has a NaN scale.
TEST(MatmulMx, HandDecodedFp4TimesFp8) {
  // a^T [32, 2] fp4, one byte per row: low nibble column 0, high nibble column 1.
  std::vector<uint8_t> a(32, 0x00);
  a[0] = 0xF1; // col0 0.5 (code 1, the subnormal), col1 -6 (code 0xF, -max)
  a[1] = 0x07; // col0 6.0 (max)
  a[2] = 0x0B; // col0 -1.5
  a[3] = 0x80; // col1 -0
  a[5] = 0x50; // col1 3.0
  std::vector<uint8_t> as = {128, 125}; // col0 x2, col1 x2^-2
  std::vector<float> b(32 * 2, 0.0f);    // fp8e4m3, exactly representable values
  b[0 * 2 + 0] = 1.0f;
  b[1 * 2 + 0] = 0.25f;
  b[2 * 2 + 0] = 2.0f;
  b[5 * 2 + 0] = 4.0f;
  b[0 * 2 + 1] = -0.5f;
  b[1 * 2 + 1] = 448.0f;
  std::vector<uint8_t> bs = {127, 0xFF}; // col0 x1, col1 NaN
  auto out = runProgram(mxProgram(32, 2, 2, 1, "fp4e2m1x2", "fp8e4m3"),
                        {{"a", bytesArray({32, 1}, a)},
                         {"as", bytesArray({1, 2}, as)},
                         {"b", floatArray({32, 2}, b)},
                         {"bs", bytesArray({1, 2}, bs)}});
  std::vector<float> c = floatsOf(out.at("c")); // [M=2, N=2]
  // c[0][0] = 2 * (0.5*1 + 6*0.25 - 1.5*2) = -2; c[1][0] = 2^-2 * (-6*1 + 3*4) = 1.5.
  EXPECT_EQ(c[0 * 2 + 0], -2.0f);
  EXPECT_EQ(c[1 * 2 + 0], 1.5f);
  EXPECT_TRUE(std::isnan(c[0 * 2 + 1])); // NaN scale: the whole block is NaN, even times zero
  EXPECT_TRUE(std::isnan(c[1 * 2 + 1]));
}

// K = 512 in one instruction (128 partitions x 4 rows, trn3's MX packing),
// M = 128 fp4 values, N = 64 fp8 E5M2 values, 16 scale blocks: against a
// reference that decodes by hand and accumulates in fp32 in k order.
TEST(MatmulMx, PackedRowsAndBlocksMatchReference) {
  const int K = 512, M = 128, N = 64, R = 4, blocks = K / 32;
  std::mt19937 rng(7);
  std::vector<uint8_t> a(K * M / 2), as(blocks * M), bs(blocks * N);
  for (uint8_t &x : a)
    x = static_cast<uint8_t>(rng() & 0xff);
  for (uint8_t &x : as)
    x = static_cast<uint8_t>(120 + rng() % 15);
  for (uint8_t &x : bs)
    x = static_cast<uint8_t>(120 + rng() % 15);
  // E5M2 values with 3 significant bits at most: m/4 * 2^e, exactly representable.
  std::vector<float> b(K * N);
  for (float &x : b)
    x = std::ldexp(static_cast<float>(static_cast<int>(rng() % 9) - 4), static_cast<int>(rng() % 7) - 5);
  auto out = runProgram(mxProgram(K, M, N, R, "fp4e2m1x2", "fp8e5m2"),
                        {{"a", bytesArray({K, M / 2}, a)},
                         {"as", bytesArray({blocks, M}, as)},
                         {"b", floatArray({K, N}, b)},
                         {"bs", bytesArray({blocks, N}, bs)}});
  std::vector<float> c = floatsOf(out.at("c"));
  int bad = 0;
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      float acc = 0.0f;
      for (int k = 0; k < K; ++k) {
        const uint8_t byte = a[k * (M / 2) + m / 2];
        const double av = fp4(m % 2 ? byte >> 4 : byte & 0xf) * e8m0(as[(k / 32) * M + m]);
        acc += static_cast<float>(av * b[k * N + n] * e8m0(bs[(k / 32) * N + n]));
      }
      if (c[m * N + n] != acc && bad++ < 5)
        ADD_FAILURE() << "c[" << m << "][" << n << "] = " << c[m * N + n] << ", want " << acc;
    }
  EXPECT_EQ(bad, 0);
}

// Timing: a full MX pass (K = rows x packing, N = 512) occupies the PE as long
// as a bf16 pass of K = 128, so MX is `multiplier` times the bf16 rate; the
// peak FLOP/s of an MX program is the MX peak.
TEST(MatmulMx, PassCostAndPeakFollowThePreset) {
  for (const char *name : {"trn3", "trn4"}) {
    SCOPED_TRACE(name);
    ChipConfig chip = loadChip(name);
    const int R = static_cast<int>(chip.pe_array.mxfp4_rate_multiplier);
    std::string text = mxProgram(128 * R, 128, 512, R, "fp4e2m1x2", "fp4e2m1x2");
    Program p = parseAssembly(text, "mx.s");
    const Instruction *mx = nullptr;
    for (const Stream &s : p.streams)
      for (const Instruction &inst : s.code)
        if (inst.opcode == Opcode::MatmulMx)
          mx = &inst;
    ASSERT_NE(mx, nullptr);
    Instruction bf16 = makeInstruction(Opcode::Matmul);
    bf16.ap[0] = mx->ap[0];
    bf16.ap[1] = mx->ap[1];
    bf16.ap[2] = mx->ap[2];
    for (int i : {1, 2}) {
      bf16.ap[i].dtype = DType::BF16;
      bf16.ap[i].numDims = 1;
      bf16.ap[i].dims[0] = Dim{1, i == 1 ? 128u : 512u};
    }
    InstructionCost mxCost = costOf(*mx, EngineKind::PE, chip), bfCost = costOf(bf16, EngineKind::PE, chip);
    EXPECT_DOUBLE_EQ(mxCost.actions.macs_mx, 128.0 * R * 128 * 512);
    EXPECT_DOUBLE_EQ(mxCost.actions.flops() / mxCost.busy_cycles,
                     R * bfCost.actions.flops() / bfCost.busy_cycles);
    EXPECT_DOUBLE_EQ(programPeakFlops(p, chip), R * chip.peakFlopsPerSecond(DType::BF16));
  }
  // The presets' ratio: Trn4 has 6x Trn3's FP4 rate (trainium.md 3).
  EXPECT_DOUBLE_EQ(loadChip("trn4").mxPeakFlopsPerSecond(DType::FP4E2M1X2, DType::FP4E2M1X2) /
                       loadChip("trn3").mxPeakFlopsPerSecond(DType::FP4E2M1X2, DType::FP4E2M1X2),
                   6.0);
}

// .npy I/O of MX storage: packed fp4 pairs travel as raw uint8 bytes both
// ways; e8m0 accepts raw bytes or floats (rounded to a power of two).
TEST(MatmulMx, NpyCarriesRawMxBytes) {
  TensorInfo fp4;
  fp4.name = "w";
  fp4.dtype = DType::FP4E2M1X2;
  fp4.shape = {2, 2};
  fp4.sizeBytes = 4;
  std::vector<uint8_t> raw = {0x71, 0xF8, 0x00, 0x5B};
  EXPECT_EQ(arrayToTensorBytes(bytesArray({2, 2}, raw), fp4), raw);
  HostArray back = tensorBytesToArray(raw.data(), fp4);
  EXPECT_EQ(back.descr, "|u1");
  EXPECT_EQ(back.data, raw);
  EXPECT_THROW(arrayToTensorBytes(floatArray({2, 2}, {1, 2, 3, 4}), fp4), Error);
  TensorInfo scale = fp4;
  scale.dtype = DType::E8M0;
  EXPECT_EQ(arrayToTensorBytes(bytesArray({2, 2}, {0, 127, 254, 255}), scale), (std::vector<uint8_t>{0, 127, 254, 255}));
  EXPECT_EQ(arrayToTensorBytes(floatArray({2, 2}, {1.0f, 0.25f, 3.0f, 0.0f}), scale),
            (std::vector<uint8_t>{127, 125, 129, 255}));
}
