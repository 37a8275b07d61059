// The .tnx decoder on corrupt input: truncations, random mutations, random
// byte strings and hostile headers must end in a trnx::Error (never a crash,
// never another exception type); whatever decodes is canonical (re-encodes to
// the same bytes) and either passes or fails the verifier with an Error.
// Seeds are fixed so failures reproduce.
#include "support/TestSupport.h"
#include "isa/AsmParser.h"
#include "isa/AsmPrinter.h"
#include "isa/Container.h"
#include "isa/Error.h"
#include "isa/Verifier.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace trnx;

namespace {

TargetLimits trn3Like() { return trnx::testing::trn3LikeLimits(); }

// A valid program with every opcode, so mutations reach every decoder path
// and, when they decode, the verifier's per-opcode rules.
const char *kEveryOpcode = R"(.target trn3
.cores 2
.tensor x input fp32 [128,512]
.tensor tab input fp32 [1000,64]
.tensor w weight bf16 [4]
.data w 0000803f00000040
.loc 0 "model.mlir" 3 5 "tosa.matmul"
.stream core=0 engine=q0
  dma_copy dst=sbuf[0:128]+0x0:fp32[[1,512]] src=hbm[x]+0x0:fp32[[512,128],[1,512]] signal=s0+1
  dma_gather dst=sbuf[0:128]+0x800:fp32[[1,64]] src=hbm[tab]+0x0:fp32[[64,1000],[1,64]] index=sbuf[0:128]+0x1000:int32[[1,1]]
  barrier
.stream core=0 engine=pe
  loop count=2
    matmul dst=psum[0:128]+0x0+2048*i0:fp32[[1,512]] stationary=sbuf[0:128]+0x0:bf16[[1,128]] moving=sbuf[0:128]+0x100:bf16[[1,512]] wait=s0>=1 loc=0
    matmul dst=psum[0:128]+0x1000:fp32[[1,512]] stationary=sbuf[0:128]+0x0:fp8e4m3[[128,2],[1,128]] moving=sbuf[0:128]+0x100:fp8e5m2[[512,2],[1,512]] mode=double_row acc=1
  endloop
  transpose dst=psum[0:64]+0x2000:bf16[[1,128]] src=sbuf[0:128]+0x0:bf16[[1,64]]
  matmul_mx dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x0:fp8e4m3[[128,4],[1,128]] moving=sbuf[0:128]+0x200:fp4e2m1x2[[256,4],[1,256]] stationary_scale=sbuf[0:16]+0x1000:e8m0[[1,128]] moving_scale=sbuf[0:16]+0x1100:e8m0[[1,512]] k_rows=4 acc=1
  barrier
.stream core=0 engine=act
  activation dst=sbuf[0:128]+0x0:fp32[[1,512]] src=psum[0:128]+0x0:fp32[[1,512]] func=gelu scale=2 bias_ap=sbuf[0:128]+0x800:fp32[[1,1]] reduce=max reduce_dst=sbuf[0:128]+0x804:fp32[[1,1]]
  tensor_scalar dst=sbuf[0:128]+0x0:bf16[[1,512]] src=sbuf[0:128]+0x800:fp32[[1,512]] op0=mul scalar0=2 op1=add scalar1_ap=sbuf[0:128]+0x1000:fp32[[1,1]]
  barrier
.stream core=0 engine=dve
  tensor_tensor dst=sbuf[0:128]+0x0:fp32[[1,512]] src0=sbuf[0:128]+0x800:fp32[[1,512]] src1=psum[0:128]+0x0:fp32[[1,512]] op=add
  tensor_reduce dst=sbuf[0:128]+0x0:fp32[[1,8]] src=sbuf[0:128]+0x800:fp32[[64,8],[1,64]] op=max
  tensor_copy dst=sbuf[0:128]+0x0:bf16[[1,512]] src=psum[0:128]+0x0:fp32[[1,512]]
  select dst=sbuf[0:128]+0x0:fp32[[1,64]] pred=sbuf[0:128]+0x100:fp32[[1,64]] on_true=sbuf[0:128]+0x200:fp32[[1,64]] on_false=psum[0:128]+0x300:fp32[[1,64]]
  bn_stats dst=sbuf[0:128]+0x0:fp32[[1,3]] src=sbuf[0:128]+0x100:fp32[[1,512]]
  bn_aggr dst=sbuf[0:128]+0x0:fp32[[1,2]] src=sbuf[0:128]+0x100:fp32[[1,6]]
  memset dst=sbuf[0:128]+0x0:bf16[[1,512]] value=f32:0x7fc00001
  barrier
.stream core=0 engine=pool
  iota dst=sbuf[0:128]+0x0:int32[[1,64]] base=1 pstep=64 step0=1
  affine_select dst=sbuf[0:128]+0x0:fp32[[1,128]] src=sbuf[0:128]+0x200:fp32[[1,128]] cmp=ge fill=-inf pstep=1 step0=-1
  partition_reduce dst=sbuf[0:1]+0x0:fp32[[1,64]] src=sbuf[0:128]+0x100:fp32[[1,64]] op=add
  partition_broadcast dst=sbuf[0:128]+0x0:fp32[[1,64]] src=sbuf[0:1]+0x100:fp32[[1,64]]
  barrier
)";

std::vector<uint8_t> assembleFile(const std::string &path) { return encodeProgram(parseAssemblyFile(path)); }

struct Seed {
  std::string name;
  std::vector<uint8_t> bytes;
};

// Random small programs: random opcodes and fields, moderate values.
std::vector<uint8_t> randomProgram(std::mt19937 &rng) {
  auto range = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  Program p;
  p.numCores = static_cast<uint16_t>(range(1, 3));
  for (int t = 0, n = static_cast<int>(range(0, 3)); t < n; ++t) {
    TensorInfo info{"t" + std::to_string(t), static_cast<TensorRole>(range(0, 3)), DType::FP32,
                    {range(1, 64), range(1, 64)}, static_cast<uint64_t>(t) << 16, 0, {}};
    info.sizeBytes = info.naturalSize();
    if (info.role == TensorRole::Weight && range(0, 1))
      info.data.assign(info.sizeBytes, static_cast<uint8_t>(range(0, 255)));
    p.tensors.push_back(info);
  }
  p.locs.push_back(SourceLoc{"f.mlir", 1, 2, "op"});
  for (int s = 0, n = static_cast<int>(range(1, 4)); s < n; ++s) {
    EngineId engine = s == 3 ? EngineId{EngineKind::DMA, static_cast<uint8_t>(range(0, 3))}
                             : EngineId{static_cast<EngineKind>(s), 0};
    Stream stream{0, engine, {}};
    for (int i = 0, m = static_cast<int>(range(1, 12)); i < m; ++i) {
      Instruction inst = makeInstruction(static_cast<Opcode>(range(0, kNumOpcodes - 1)));
      for (const FieldSpec &f : inst.info().fields) {
        if (f.kind == FieldKind::Ap || (f.kind == FieldKind::OptAp && range(0, 1))) {
          AccessPattern &a = inst.ap[f.slot];
          a.space = (f.spaces & spaceBit(MemSpace::SBUF)) ? MemSpace::SBUF
                    : (f.spaces & spaceBit(MemSpace::PSUM)) ? MemSpace::PSUM
                                                             : MemSpace::HBM;
          a.dtype = static_cast<DType>(range(0, kNumDTypes - 1));
          a.numDims = static_cast<uint8_t>(range(1, 2));
          for (int d = 0; d < a.numDims; ++d)
            a.dims[d] = Dim{static_cast<int32_t>(range(-2, 64)), static_cast<uint32_t>(range(1, 64))};
          a.partitionCount = static_cast<uint16_t>(range(1, 128));
          a.offset = range(0, 1024) * 4;
          if (a.space == MemSpace::HBM)
            a.partitionStride = static_cast<int32_t>(range(0, 64));
        } else if (f.kind == FieldKind::I32) {
          inst.i32[f.slot] = static_cast<int32_t>(range(-3, 5));
        } else if (f.kind == FieldKind::F32) {
          inst.f32[f.slot] = static_cast<float>(range(-8, 8)) / 2;
        }
      }
      if (range(0, 3) == 0)
        inst.wait = SemWait{static_cast<uint16_t>(range(0, 3)), static_cast<uint32_t>(range(0, 2)), {}};
      if (range(0, 3) == 0)
        inst.signal = SemSignal{static_cast<uint16_t>(range(0, 3)), 1};
      if (range(0, 3) == 0)
        inst.loc = 0;
      stream.code.push_back(inst);
    }
    p.streams.push_back(stream);
  }
  return encodeProgram(p);
}

const std::vector<Seed> &seeds() {
  static const std::vector<Seed> all = [] {
    std::vector<Seed> v;
    for (const char *name : {"gemm_512", "softmax", "layernorm"})
      v.push_back({name, assembleFile(std::string(TRNX_SOURCE_DIR) + "/examples/asm/" + name + ".s")});
    v.push_back({"every-opcode", encodeProgram(parseAssembly(kEveryOpcode, "every.s"))});
    std::mt19937 rng(1234);
    for (int i = 0; i < 4; ++i)
      v.push_back({"random-" + std::to_string(i), randomProgram(rng)});
    return v;
  }();
  return all;
}

enum class Outcome { DecodeError, VerifyError, Verified };

// Decodes, checks canonical re-encoding and text round trip, verifies.
// Any exception other than trnx::Error fails the test.
Outcome probe(const std::vector<uint8_t> &bytes, bool checksum, const std::string &what) {
  Program p;
  try {
    p = decodeProgram(bytes.data(), bytes.size(), DecodeOptions{checksum});
  } catch (const Error &) {
    return Outcome::DecodeError;
  } catch (const std::exception &e) {
    ADD_FAILURE() << what << ": decoder threw a non-Error exception: " << e.what();
    return Outcome::DecodeError;
  }
  // The encoding is canonical: what decodes re-encodes to the same bytes
  // (except the checksum, which the decoder was told to ignore).
  std::vector<uint8_t> again = encodeProgram(p);
  std::vector<uint8_t> expected = bytes;
  if (!checksum && expected.size() >= 24)
    std::memcpy(expected.data() + 16, again.data() + 16, 4);
  EXPECT_TRUE(again == expected) << what << ": decoded program re-encodes differently";
  Outcome outcome = Outcome::Verified;
  try {
    verifyProgram(p, trn3Like());
  } catch (const Error &) {
    outcome = Outcome::VerifyError;
  } catch (const std::exception &e) {
    ADD_FAILURE() << what << ": verifier threw a non-Error exception: " << e.what();
    outcome = Outcome::VerifyError;
  }
  // Printing never fails, and every container that decodes (trnx-objdump
  // lists it without verifying) disassembles to text that re-assembles to the
  // same bytes: the reader enforces the assembler's value ranges
  // (isa/FormatLimits.h) and unique tensor names.
  std::ostringstream text;
  printProgram(text, p);
  try {
    Program parsed = parseAssembly(text.str(), "fuzz.s");
    EXPECT_TRUE(encodeProgram(parsed) == again) << what << ": text round trip differs\n" << text.str();
  } catch (const Error &e) {
    ADD_FAILURE() << what << ": the listing of a decoded container does not re-assemble: " << e.what();
  } catch (const std::exception &e) {
    ADD_FAILURE() << what << ": parser threw a non-Error exception: " << e.what();
  }
  return outcome;
}

std::string decodeError(const std::vector<uint8_t> &bytes, bool checksum = true) {
  try {
    decodeProgram(bytes.data(), bytes.size(), DecodeOptions{checksum});
  } catch (const Error &e) {
    return e.what();
  } catch (const std::exception &e) {
    return std::string("NON-ERROR EXCEPTION: ") + e.what();
  }
  return "";
}

} // namespace

TEST(ContainerFuzz, SeedsDecodeAndVerify) {
  ASSERT_EQ(seeds().size(), 8u);
  for (const Seed &s : seeds()) {
    Outcome o = probe(s.bytes, true, s.name);
    if (s.name.rfind("random", 0) != 0)
      EXPECT_EQ(o, Outcome::Verified) << s.name;
    else
      EXPECT_NE(o, Outcome::DecodeError) << s.name;
  }
}

TEST(ContainerFuzz, EveryTruncationIsAnError) {
  for (const Seed &s : seeds()) {
    for (size_t n = 0; n < s.bytes.size(); ++n) {
      std::vector<uint8_t> cut(s.bytes.begin(), s.bytes.begin() + static_cast<std::ptrdiff_t>(n));
      for (bool checksum : {true, false}) {
        std::string e = decodeError(cut, checksum);
        ASSERT_FALSE(e.empty()) << s.name << " truncated to " << n << " bytes decodes";
        ASSERT_EQ(e.find("NON-ERROR"), std::string::npos) << s.name << " truncated to " << n << ": " << e;
      }
    }
  }
  // The messages say where and what.
  const std::vector<uint8_t> &b = seeds()[1].bytes;
  EXPECT_EQ(decodeError(std::vector<uint8_t>(b.begin(), b.begin() + 10)),
            "file is 10 bytes, shorter than the 24-byte header");
  EXPECT_EQ(decodeError(std::vector<uint8_t>(b.begin(), b.begin() + 30), false),
            "offset 28: truncated value (need 8 bytes, 2 left)");
  EXPECT_EQ(decodeError(std::vector<uint8_t>(b.begin(), b.begin() + 40)), "checksum mismatch: the file is corrupted");
}

TEST(ContainerFuzz, RandomMutationsEndInErrorOrAValidProgram) {
  std::mt19937 rng(0xf022);
  auto range = [&](size_t lo, size_t hi) { return lo + rng() % (hi - lo + 1); };
  const uint64_t interesting[] = {0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0xffff, 0x8000, 0x7fffffff, 0x80000000, 0xffffffff,
                                  0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, 128, 512, 1024, 65535};
  int outcomes[3] = {0, 0, 0};
  for (const Seed &s : seeds()) {
    const int rounds = s.bytes.size() > 2000 ? 6000 : 4000;
    for (int round = 0; round < rounds; ++round) {
      std::vector<uint8_t> b = s.bytes;
      std::ostringstream what;
      what << s.name << " round " << round << ":";
      for (size_t m = 0, n = range(1, 4); m < n; ++m) {
        // Keep the magic and version mostly intact so mutations reach the sections.
        size_t at = b.size() > 24 && rng() % 8 ? range(24, b.size() - 1) : range(0, b.size() - 1);
        switch (rng() % 6) {
        case 0:
          b[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
          what << " flip@" << at;
          break;
        case 1:
          b[at] = static_cast<uint8_t>(rng());
          what << " byte@" << at;
          break;
        case 2:
        case 3: {
          const size_t width = size_t(1) << (rng() % 4); // 1, 2, 4 or 8 bytes
          uint64_t v = interesting[rng() % (sizeof interesting / sizeof interesting[0])];
          for (size_t i = 0; i < width && at + i < b.size(); ++i)
            b[at + i] = static_cast<uint8_t>(v >> (8 * i));
          what << " int" << width * 8 << "@" << at << "=" << v;
          break;
        }
        case 4:
          b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), static_cast<uint8_t>(rng()));
          what << " insert@" << at;
          break;
        default:
          if (b.size() > 1) {
            b.erase(b.begin() + static_cast<std::ptrdiff_t>(at));
            what << " erase@" << at;
          }
          break;
        }
      }
      ++outcomes[static_cast<int>(probe(b, false, what.str()))];
      if (::testing::Test::HasFailure())
        return;
    }
  }
  std::printf("mutations: %d decode errors, %d verifier errors, %d verified\n", outcomes[0], outcomes[1], outcomes[2]);
  // The fuzzing gets past the decoder often enough to exercise the verifier.
  EXPECT_GT(outcomes[1] + outcomes[2], 1000) << outcomes[0] << " " << outcomes[1] << " " << outcomes[2];
  EXPECT_GT(outcomes[2], 100) << outcomes[0] << " " << outcomes[1] << " " << outcomes[2];
  EXPECT_GT(outcomes[0], 3000);
}

// The disassembly round trip on inflated fields: little-endian integers of
// every width overwritten with boundary values (the mutation that found
// listings like "offset 0x4000000000002000 is out of range"). Every mutant
// that decodes must print, parse and encode to the same bytes (probe()
// asserts it), verified or not.
TEST(ContainerFuzz, DecodedMutantsOfTheExamplesRoundTripThroughText) {
  std::mt19937 rng(0x17);
  const uint64_t boundary[] = {0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000,
                               0xffffffff, 0x100000000ull, uint64_t(1) << 40, (uint64_t(1) << 40) + 1,
                               uint64_t(1) << 50, (uint64_t(1) << 50) + 1, 0x3fffffffffffffffull,
                               0x4000000000000000ull, 0x4000000000002000ull, 0x7fffffffffffffffull,
                               0x8000000000000000ull, 0xc000000000000000ull, ~0ull};
  int verified = 0, decoded = 0, probes = 0;
  for (const Seed &s : seeds()) {
    for (size_t at = 24; at + 1 < s.bytes.size(); ++at) {
      for (int k = 0; k < 3; ++k) {
        std::vector<uint8_t> b = s.bytes;
        const size_t width = size_t(1) << (rng() % 4);
        const uint64_t v = boundary[rng() % (sizeof boundary / sizeof boundary[0])];
        for (size_t i = 0; i < width && at + i < b.size(); ++i)
          b[at + i] = static_cast<uint8_t>(v >> (8 * i));
        if (b == s.bytes)
          continue;
        ++probes;
        const Outcome o = probe(b, false, s.name + " int" + std::to_string(width * 8) + "@" + std::to_string(at) +
                                              "=" + std::to_string(v));
        verified += o == Outcome::Verified;
        decoded += o != Outcome::DecodeError;
        if (::testing::Test::HasFailure())
          return;
      }
    }
  }
  std::printf("inflated fields: %d mutants, %d decoded and round-tripped, %d of them verified\n", probes, decoded,
              verified);
  EXPECT_GT(decoded, 2000);
  EXPECT_GT(verified, 500);
}

TEST(ContainerFuzz, ChecksumDetectsEveryChangeAfterTheHeader) {
  std::mt19937 rng(77);
  for (const Seed &s : seeds()) {
    const std::vector<uint8_t> &orig = s.bytes;
    // Every single-byte change of every body byte is detected (CRC-32 detects
    // all bursts of up to 32 bits); sample positions to bound the runtime.
    for (size_t at = 24; at < orig.size(); at += 1 + rng() % 3) {
      std::vector<uint8_t> b = orig;
      b[at] ^= static_cast<uint8_t>(1 + rng() % 255);
      ASSERT_EQ(decodeError(b), "checksum mismatch: the file is corrupted") << s.name << " byte " << at;
    }
    // Bursts of up to 4 bytes and random multi-byte changes.
    for (int round = 0; round < 300; ++round) {
      std::vector<uint8_t> b = orig;
      size_t at = 24 + rng() % (orig.size() - 24);
      if (round % 2) {
        for (size_t i = 0; i < 4 && at + i < b.size(); ++i)
          b[at + i] = static_cast<uint8_t>(rng());
        b[at] = static_cast<uint8_t>(orig[at] ^ (1 + rng() % 255));
      } else {
        for (int k = 0; k < 5; ++k)
          b[24 + rng() % (orig.size() - 24)] ^= static_cast<uint8_t>(1 + rng() % 255);
        if (b == orig)
          continue;
      }
      ASSERT_EQ(decodeError(b), "checksum mismatch: the file is corrupted") << s.name << " round " << round;
    }
    // Appended or removed bytes.
    std::vector<uint8_t> longer = orig;
    longer.push_back(0);
    EXPECT_EQ(decodeError(longer), "checksum mismatch: the file is corrupted");
    EXPECT_EQ(decodeError(longer, false),
              "offset " + std::to_string(orig.size()) + ": trailing bytes after the last section");
    // A changed checksum field itself.
    std::vector<uint8_t> crc = orig;
    crc[17] ^= 0x40;
    EXPECT_EQ(decodeError(crc), "checksum mismatch: the file is corrupted");
    EXPECT_EQ(decodeError(crc, false), "");
  }
}

TEST(ContainerFuzz, RandomByteStrings) {
  std::mt19937 rng(99);
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> b(rng() % 300);
    for (uint8_t &c : b)
      c = static_cast<uint8_t>(rng());
    if (round % 2 && b.size() >= 24) {
      // A valid header in front of random sections.
      std::memcpy(b.data(), "TRNXPROG\x01\x00\x00\x00\x04\x00\x00\x00", 16);
      std::memset(b.data() + 20, 0, 4);
      uint32_t crc = crc32(b.data() + 24, b.size() - 24);
      std::memcpy(b.data() + 16, &crc, 4);
      // Sometimes a plausible META section start too.
      if (round % 4 == 1 && b.size() >= 36) {
        const uint8_t meta[] = {1, 0, 0, 0, static_cast<uint8_t>(rng() % 40), 0, 0, 0, 0, 0, 0, 0};
        std::memcpy(b.data() + 24, meta, sizeof meta);
        crc = crc32(b.data() + 24, b.size() - 24);
        std::memcpy(b.data() + 16, &crc, 4);
      }
    }
    for (bool checksum : {true, false}) {
      std::string e = decodeError(b, checksum);
      ASSERT_FALSE(e.empty()) << "random bytes decode (round " << round << ")";
      ASSERT_EQ(e.find("NON-ERROR"), std::string::npos) << e;
    }
  }
  EXPECT_EQ(decodeError({}), "file is 0 bytes, shorter than the 24-byte header");
}

namespace {

// Little-endian builder for hand-made containers.
struct Bytes {
  std::vector<uint8_t> b;
  Bytes &le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
      b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Bytes &u8(uint64_t v) { return le(v, 1); }
  Bytes &u16(uint64_t v) { return le(v, 2); }
  Bytes &u32(uint64_t v) { return le(v, 4); }
  Bytes &u64(uint64_t v) { return le(v, 8); }
  Bytes &str(const std::string &s) {
    u32(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes &raw(const Bytes &o) {
    b.insert(b.end(), o.b.begin(), o.b.end());
    return *this;
  }
  size_t size() const { return b.size(); }
};

struct Container {
  Bytes meta, tensors, locs, streams;
  uint16_t major = 1, minor = 0;
  uint32_t sections = 4, reserved = 0;
  char magic[9] = "TRNXPROG";

  Container() {
    meta.str("t").u16(1);
    tensors.u32(0);
    locs.u32(0);
  }
  // File offset of byte `i` of the streams payload.
  size_t streamsOffset(size_t i) const { return 24 + 12 * 4 + meta.size() + tensors.size() + locs.size() + i; }
  size_t tensorsOffset(size_t i) const { return 24 + 12 * 2 + meta.size() + i; }
  std::vector<uint8_t> bytes() const {
    Bytes body;
    const Bytes *parts[] = {&meta, &tensors, &locs, &streams};
    for (uint32_t k = 0; k < 4; ++k)
      body.u32(k + 1).u64(parts[k]->size()).raw(*parts[k]);
    Bytes out;
    for (int i = 0; i < 8; ++i)
      out.u8(static_cast<uint8_t>(magic[i]));
    out.u16(major).u16(minor).u32(sections).u32(crc32(body.b.data(), body.size())).u32(reserved).raw(body);
    return out.b;
  }
};

// sbuf[0:128]+0x0:fp32[[1,4]]
Bytes sbufAp() {
  Bytes a;
  a.u8(2).u8(0).u8(1).u16(0).u16(128).u64(0).u8(0).u32(1).u32(4);
  return a;
}

// One stream (core 0 pe) holding one instruction.
Container withInstruction(const Bytes &inst) {
  Container c;
  c.streams.u32(1).u16(0).u8(0).u32(1).raw(inst);
  return c;
}

} // namespace

TEST(ContainerFuzz, HandMadeContainersDecode) {
  Bytes memset;
  memset.u8(10).u8(0).raw(sbufAp()).u32(0x3f800000);
  Program p = decodeProgram(withInstruction(memset).bytes().data(), withInstruction(memset).bytes().size());
  ASSERT_EQ(p.streams.size(), 1u);
  EXPECT_EQ(printInstruction(p, p.streams[0].code[0]), "memset dst=sbuf[0:128]+0x0:fp32[[1,4]] value=1");
}

TEST(ContainerFuzz, HostileHeadersAndFields) {
  auto expectError = [](const std::vector<uint8_t> &bytes, const std::string &expected) {
    std::string e = decodeError(bytes);
    EXPECT_EQ(e, expected);
  };
  Bytes memset;
  memset.u8(10).u8(0).raw(sbufAp()).u32(0);

  {
    Container c;
    std::memcpy(c.magic, "TRNXPROH", 8);
    expectError(c.bytes(), "not a trnx program (bad magic)");
  }
  for (auto [major, minor] : {std::pair<int, int>{2, 0}, {1, 2}, {0, 0}, {0xffff, 0xffff}}) {
    Container c;
    c.major = static_cast<uint16_t>(major);
    c.minor = static_cast<uint16_t>(minor);
    expectError(c.bytes(), "container version " + std::to_string(major) + "." + std::to_string(minor) +
                               " is not supported (this build reads 1.0 to 1.1)");
  }
  {
    Container c;
    c.sections = 5;
    expectError(c.bytes(), "offset 12: container 1.0 has 4 sections, found 5");
    c.sections = 0xffffffff;
    expectError(c.bytes(), "offset 12: container 1.0 has 4 sections, found 4294967295");
    c.minor = 1;
    c.sections = 4;
    expectError(c.bytes(), "offset 12: container 1.1 has 5 sections, found 4");
  }
  {
    Container c;
    c.reserved = 1;
    expectError(c.bytes(), "offset 20: reserved header field is not zero");
  }
  {
    // Section length of 2^64-1 bytes.
    std::vector<uint8_t> b = Container().bytes();
    std::memset(b.data() + 28, 0xff, 8);
    uint32_t crc = crc32(b.data() + 24, b.size() - 24);
    std::memcpy(b.data() + 16, &crc, 4);
    expectError(b, "offset 28: section length 18446744073709551615 exceeds the file");
    // Section kinds out of order.
    b = Container().bytes();
    b[24] = 2;
    crc = crc32(b.data() + 24, b.size() - 24);
    std::memcpy(b.data() + 16, &crc, 4);
    expectError(b, "offset 24: expected section 1, found 2");
  }
  {
    Container c;
    c.meta = Bytes();
    c.meta.u32(0xffffffff).u16(1);
    expectError(c.bytes(), "offset 40: truncated target name (need 4294967295 bytes, 2 left)");
    c.meta = Bytes();
    c.meta.str("t").u16(0);
    expectError(c.bytes(), "offset 41: program has zero cores");
    c.meta = Bytes();
    c.meta.str("t").u16(1).u8(0);
    expectError(c.bytes(), "offset 43: 1 unexpected bytes at the end of section 1");
  }
  {
    // Tensor table: huge counts and lengths, bad enums.
    Container c;
    c.tensors = Bytes();
    c.tensors.u32(0xffffffff);
    expectError(c.bytes(), "offset " + std::to_string(c.tensorsOffset(0)) +
                               ": tensor count 4294967295 exceeds the data that follows");
    auto tensor = [](uint64_t role, uint64_t dtype, uint64_t rank, int64_t dim, uint64_t dataLen) {
      Bytes t;
      t.u32(1).str("x").u8(role).u8(dtype).u8(rank);
      for (uint64_t i = 0; i < rank && i < 16; ++i)
        t.u64(static_cast<uint64_t>(dim));
      t.u64(0).u64(16).u64(dataLen);
      return t;
    };
    c.tensors = tensor(4, 0, 1, 4, 0);
    expectError(c.bytes(), "offset " + std::to_string(c.tensorsOffset(9)) + ": invalid tensor role 4");
    c.tensors = tensor(0, 9, 1, 4, 0);
    expectError(c.bytes(), "offset " + std::to_string(c.tensorsOffset(10)) + ": invalid tensor dtype 9");
    c.tensors = tensor(0, 0, 9, 4, 0);
    expectError(c.bytes(), "offset " + std::to_string(c.tensorsOffset(11)) + ": tensor rank 9 exceeds 8");
    c.tensors = tensor(0, 0, 2, -1, 0);
    expectError(c.bytes(), "offset " + std::to_string(c.tensorsOffset(12)) + ": invalid tensor dimension -1");
    c.tensors = tensor(0, 0, 1, (int64_t(1) << 40) + 1, 0);
    expectError(c.bytes(), "offset " + std::to_string(c.tensorsOffset(12)) + ": invalid tensor dimension 1099511627777");
    // Shapes whose byte count wraps 64 bits or exceeds the 2^50-byte limit.
    Bytes wraps;
    wraps.u32(1).str("y").u8(1).u8(0).u8(2).u64(uint64_t(1) << 40).u64(uint64_t(1) << 22).u64(0).u64(0).u64(0);
    c.tensors = wraps;
    expectError(c.bytes(), "offset " + std::to_string(c.tensorsOffset(12)) +
                               ": tensor 'y' needs more than 2^64 bytes for its shape; a tensor has at most 2^50");
    Bytes large;
    large.u32(1).str("y").u8(1).u8(0).u8(2).u64(uint64_t(1) << 40).u64(512).u64(0).u64(0).u64(0);
    c.tensors = large;
    expectError(c.bytes(), "offset " + std::to_string(c.tensorsOffset(12)) +
                               ": tensor 'y' needs 2251799813685248 bytes for its shape; a tensor has at most 2^50");
    // HBM offset and size beyond what the assembler writes (hbm=, size= <= 2^50).
    Bytes far;
    far.u32(1).str("x").u8(0).u8(0).u8(1).u64(4).u64((uint64_t(1) << 50) + 1).u64(16).u64(0);
    c.tensors = far;
    expectError(c.bytes(), "offset " + std::to_string(c.tensorsOffset(20)) +
                               ": tensor HBM offset 1125899906842625 is beyond the 2^50-byte address space");
    Bytes huge;
    huge.u32(1).str("x").u8(0).u8(0).u8(1).u64(4).u64(0).u64(~0ull).u64(0);
    c.tensors = huge;
    expectError(c.bytes(), "offset " + std::to_string(c.tensorsOffset(28)) +
                               ": tensor size 18446744073709551615 exceeds 2^50 bytes");
    // Tensor names are unique (a listing naming one twice would not re-assemble).
    Bytes twice;
    twice.u32(2).str("x").u8(0).u8(0).u8(1).u64(4).u64(0).u64(16).u64(0);
    const size_t second = twice.size();
    twice.str("x").u8(0).u8(0).u8(1).u64(4).u64(64).u64(16).u64(0);
    c.tensors = twice;
    expectError(c.bytes(), "offset " + std::to_string(c.tensorsOffset(second)) + ": tensor name 'x' is used twice");
    c.tensors = tensor(2, 0, 1, 4, ~0ull);
    expectError(c.bytes(), "offset " + std::to_string(c.tensorsOffset(36)) +
                               ": tensor data of 18446744073709551615 bytes exceeds the file");
    c.tensors = tensor(2, 0, 1, 4, 3);
    expectError(c.bytes(), "offset " + std::to_string(c.tensorsOffset(36)) +
                               ": tensor data of 3 bytes exceeds the file");
  }
  {
    Container c;
    c.locs = Bytes();
    c.locs.u32(2).str("f").u32(1).u32(2).str("op");
    expectError(c.bytes(), "offset " + std::to_string(24 + 36 + c.meta.size() + c.tensors.size()) +
                               ": location count 2 exceeds the data that follows");
    c.locs = Bytes();
    c.locs.u32(1).str("f").u32(1).u32(2).u32(0x7fffffff);
    expectError(c.bytes(), "offset " + std::to_string(24 + 36 + c.meta.size() + c.tensors.size() + 21) +
                               ": truncated location op (need 2147483647 bytes, 0 left)");
  }
  {
    Container c;
    c.streams.u32(0x10000000);
    expectError(c.bytes(), "offset " + std::to_string(c.streamsOffset(0)) + ": stream count 268435456 exceeds the data that follows");
    c.streams = Bytes();
    c.streams.u32(1).u16(0).u8(0).u32(0xffffffff);
    expectError(c.bytes(), "offset " + std::to_string(c.streamsOffset(7)) +
                               ": instruction count 4294967295 exceeds the data that follows");
    c.streams = Bytes();
    c.streams.u32(1).u16(1).u8(0).u32(0);
    expectError(c.bytes(), "offset " + std::to_string(c.streamsOffset(4)) + ": stream core 1 >= program cores 1");
    for (uint64_t code : {5, 15, 80, 255}) {
      c.streams = Bytes();
      c.streams.u32(1).u16(0).u8(code).u32(0);
      expectError(c.bytes(), "offset " + std::to_string(c.streamsOffset(6)) + ": invalid engine code");
    }
    c.streams = Bytes();
    c.streams.u32(2).u16(0).u8(17).u32(0).u16(0).u8(17).u32(0);
    expectError(c.bytes(), "duplicate stream for core 0 q1");
    c.streams = Bytes();
    c.streams.u32(1).u16(0).u8(0).u32(0).u8(0);
    expectError(c.bytes(), "offset " + std::to_string(c.streamsOffset(11)) + ": 1 unexpected bytes at the end of section 4");
  }
  {
    // Trailing bytes after the last section.
    std::vector<uint8_t> b = withInstruction(memset).bytes();
    b.push_back(0);
    uint32_t crc = crc32(b.data() + 24, b.size() - 24);
    std::memcpy(b.data() + 16, &crc, 4);
    expectError(b, "offset " + std::to_string(b.size() - 1) + ": trailing bytes after the last section");
  }
  // Instructions: opcode, presence bits, reserved ids, operand fields, enums.
  const size_t inst = 11; // first instruction byte within the streams payload
  auto at = [&](size_t i) { return "offset " + std::to_string(withInstruction(memset).streamsOffset(inst + i)) + ": "; };
  auto instError = [&](const Bytes &b, const std::string &expected) { expectError(withInstruction(b).bytes(), expected); };
  instError(Bytes().u8(kNumOpcodes).u8(0), at(0) + "unknown opcode " + std::to_string(kNumOpcodes));
  instError(Bytes().u8(255).u8(0), at(0) + "unknown opcode 255");
  instError(Bytes().u8(17).u8(8), at(1) + "invalid instruction presence bits");
  instError(Bytes().u8(17).u8(1).u16(0xffff).u32(1).u8(0), at(2) + "reserved semaphore id 65535");
  instError(Bytes().u8(18).u8(2).u16(0xffff).u16(1), at(2) + "reserved semaphore id 65535");
  instError(Bytes().u8(18).u8(4).u32(0xffffffff), at(2) + "reserved location id");
  instError(Bytes().u8(17).u8(1).u16(0).u32(1).u8(0x10), at(8) + "loop step mask 0x10 names a level >= 4");
  instError(Bytes().u8(17).u8(1).u16(0).u32(1).u8(0x3).u32(5).u32(0), at(13) + "zero loop step is not canonical");
  instError(Bytes().u8(17).u8(1).u16(0).u32(1).u8(0x1), at(9) + "truncated value (need 4 bytes, 0 left)");
  auto memsetWith = [](const Bytes &ap) { return Bytes().u8(10).u8(0).raw(ap).u32(0); };
  instError(memsetWith(Bytes().u8(0).u8(0).u8(1).u16(0).u16(1).u64(0).u8(0).u32(1).u32(1)), at(2) + "invalid memory space 0");
  instError(memsetWith(Bytes().u8(4).u8(0).u8(1).u16(0).u16(1).u64(0).u8(0).u32(1).u32(1)), at(2) + "invalid memory space 4");
  instError(memsetWith(Bytes().u8(2).u8(9).u8(1).u16(0).u16(1).u64(0).u8(0).u32(1).u32(1)), at(3) + "invalid dtype 9");
  instError(memsetWith(Bytes().u8(2).u8(0).u8(5).u16(0).u16(1).u64(0).u8(0)), at(4) + "access pattern has 5 free dims (max 4)");
  instError(memsetWith(Bytes().u8(2).u8(0).u8(1).u16(0).u16(1).u64(0).u8(0x80).u32(1).u32(1)),
            at(17) + "loop step mask 0x80 names a level >= 4");
  // Operand offsets beyond what assembly writes (|offset| <= 2^62 - 1), and
  // partition ranges ending beyond 65535.
  instError(memsetWith(Bytes().u8(2).u8(0).u8(1).u16(0).u16(1).u64(0x4000000000002000ull).u8(0).u32(1).u32(1)),
            at(9) + "operand offset 4611686018427396096 is out of range (|offset| < 2^62)");
  instError(memsetWith(Bytes().u8(2).u8(0).u8(1).u16(0).u16(1).u64(0x8000000000000000ull).u8(0).u32(1).u32(1)),
            at(9) + "operand offset -9223372036854775808 is out of range (|offset| < 2^62)");
  instError(memsetWith(Bytes().u8(2).u8(0).u8(1).u16(65000).u16(1000).u64(0).u8(0).u32(1).u32(1)),
            at(5) + "partition range [65000, 66000) ends beyond partition 65535");
  // An hbm operand with a partition start.
  Bytes copy;
  copy.u8(15).u8(0).raw(sbufAp()).u8(1).u8(0).u8(1).u16(3).u16(128).u32(0).u32(0).u64(0).u8(0).u32(1).u32(4).u8(0);
  instError(copy, at(2 + sbufAp().size() + 3) + "hbm access pattern has a partition start");
  // Optional operand presence byte, flags and enums.
  Bytes act;
  act.u8(2).u8(0).raw(sbufAp()).raw(sbufAp());
  instError(Bytes(act).u8(15), at(2 + 2 * sbufAp().size()) + "invalid value 15 of 'func'");
  instError(Bytes(act).u8(0).u32(0).u8(2), at(2 + 2 * sbufAp().size() + 5) + "invalid presence byte of operand 'scale_ap'");
  instError(Bytes(act).u8(0).u32(0).u8(0).u32(0).u8(0).u8(16),
            at(2 + 2 * sbufAp().size() + 11) + "invalid value 16 of 'reduce'");
  Bytes mm;
  mm.u8(0).u8(0).raw(sbufAp()).raw(sbufAp()).raw(sbufAp());
  instError(Bytes(mm).u8(2).u8(0), at(2 + 3 * sbufAp().size()) + "invalid flag 'acc'");
  instError(Bytes(mm).u8(0).u8(2), at(3 + 3 * sbufAp().size()) + "invalid value 2 of 'mode'");
  instError(Bytes().u8(19).u8(0).u8(2), at(2) + "invalid value 2 of 'scope'");
  instError(Bytes().u8(3).u8(0).raw(sbufAp()).raw(sbufAp()).raw(sbufAp()).u8(16),
            at(2 + 3 * sbufAp().size()) + "invalid value 16 of 'op'");
  // A valid instruction for contrast.
  instError(memset, "");
}

TEST(ContainerFuzz, DecoderFindsTheFirstProblemOfRealFiles) {
  // A gemm binary with its first instruction's opcode replaced: the error
  // names the byte offset of that opcode.
  const std::vector<uint8_t> &orig = seeds()[0].bytes;
  Program p = decodeProgram(orig.data(), orig.size());
  ASSERT_FALSE(p.streams.empty());
  // Find the streams section: skip the first three sections by their lengths.
  size_t pos = 24;
  for (int k = 0; k < 3; ++k) {
    uint64_t len;
    std::memcpy(&len, orig.data() + pos + 4, 8);
    pos += 12 + len;
  }
  const size_t firstOpcode = pos + 12 + 4 + 7;
  ASSERT_EQ(orig[firstOpcode], static_cast<uint8_t>(p.streams[0].code[0].opcode));
  std::vector<uint8_t> b = orig;
  b[firstOpcode] = 0x40;
  EXPECT_EQ(decodeError(b, false), "offset " + std::to_string(firstOpcode) + ": unknown opcode 64");
  EXPECT_EQ(decodeError(b, true), "checksum mismatch: the file is corrupted");
}

// The ranks section (container 1.1): every truncation and bad field is an
// error at its offset, and a ranks section that says nothing (one rank, no
// groups, no data) is rejected as not canonical, so re-encoding any accepted
// file gives back its bytes.
TEST(ContainerFuzz, RanksSectionErrors) {
  Program p = parseAssembly(".ranks 2\n.replica_group 0 [0,1]\n.tensor w weight fp32 [1]\n.rank_data w 1 0000803f\n", "r.s");
  const std::vector<uint8_t> good = encodeProgram(p);
  // Payload: u16 ranks, u32 sets, u32 groups, u32 members, 2 x u16, u32 data entries, u32 tensor, u16 rank, u64 bytes, 4 bytes.
  const size_t payload = 2 + 4 + 4 + 4 + 2 * 2 + 4 + 4 + 2 + 8 + 4;
  const size_t start = good.size() - payload;
  EXPECT_EQ(decodeError(good), "");
  for (size_t n = 24; n < good.size(); ++n) {
    std::string e = decodeError(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)), false);
    ASSERT_FALSE(e.empty()) << "truncated to " << n;
    ASSERT_EQ(e.find("NON-ERROR"), std::string::npos) << e;
  }
  auto patched = [&](size_t at, uint16_t v) {
    std::vector<uint8_t> b = good;
    std::memcpy(b.data() + start + at, &v, 2);
    return b;
  };
  EXPECT_EQ(decodeError(patched(0, 0), false), "offset " + std::to_string(start) + ": program has zero ranks");
  EXPECT_EQ(decodeError(patched(6, 0xffff), false),
            "offset " + std::to_string(start + 6) + ": replica group count 65535 exceeds the data that follows");
  Program single = parseAssembly(".tensor w weight fp32 [1]\n", "s.s");
  single.numRanks = 1;
  std::vector<uint8_t> bytes = encodeProgram(single); // 1.0, four sections
  // Append an empty ranks section and claim 1.1: nothing in it needs 1.1.
  const uint8_t empty[] = {5, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  bytes.insert(bytes.end(), empty, empty + sizeof empty);
  bytes[10] = 1;
  bytes[12] = 5;
  EXPECT_EQ(decodeError(bytes, false), "offset " + std::to_string(bytes.size() - 10) +
                                           ": a ranks section for a single-rank program is not canonical (write container 1.0)");
}
