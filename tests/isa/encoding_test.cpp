// The .tnx encoding and the assembly text are lossless: for random programs
// built from the instruction table's field specs (every opcode, every field
// kind, edge-case floats and integers, loops, waits, signals, locations),
// decode(encode(p)) == p field by field, and print -> parse -> encode gives the
// same bytes. Plus hand-written round trips per opcode and a byte-exact check
// of the container layout documented in docs/isa.md.
#include "isa/AsmParser.h"
#include "isa/AsmPrinter.h"
#include "isa/Container.h"
#include "isa/FormatLimits.h"
#include "isa/Error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

using namespace trnx;

namespace {

uint32_t floatBits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

float bitsFloat(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// Random programs from the instruction table. Values stay inside what the
// assembler can express (offsets within +-2^62, at most 1024 cores, ...), so
// the same program also round-trips through text.
class Gen {
public:
  explicit Gen(uint32_t seed) : rng_(seed) {}

  uint64_t u64() { return (static_cast<uint64_t>(rng_()) << 32) | rng_(); }
  // Uniform integer in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(u64() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  int32_t i32() {
    switch (range(0, 5)) {
    case 0: return std::numeric_limits<int32_t>::min();
    case 1: return std::numeric_limits<int32_t>::max();
    case 2: return static_cast<int32_t>(range(-3, 3));
    case 3: return static_cast<int32_t>(range(-100000, 100000));
    default: return static_cast<int32_t>(static_cast<uint32_t>(rng_()));
    }
  }
  int32_t nonzeroI32() {
    int32_t v;
    do
      v = i32();
    while (v == 0);
    return v;
  }
  uint32_t u32() {
    switch (range(0, 3)) {
    case 0: return 0xffffffffu;
    case 1: return static_cast<uint32_t>(range(0, 3));
    case 2: return static_cast<uint32_t>(range(0, 5000));
    default: return rng_();
    }
  }

  float f32() {
    const uint32_t sign = chance(0.5) ? 0x80000000u : 0;
    switch (range(0, 10)) {
    case 0: return 0.0f;
    case 1: return -0.0f;
    case 2: return std::numeric_limits<float>::infinity();
    case 3: return -std::numeric_limits<float>::infinity();
    case 4: return bitsFloat(sign | 0x7fc00000u | static_cast<uint32_t>(range(0, 0x3fffff))); // quiet NaN, payload
    case 5: return bitsFloat(sign | 0x7f800000u | static_cast<uint32_t>(range(1, 0x3fffff))); // signalling NaN
    case 6: return bitsFloat(sign | static_cast<uint32_t>(range(1, 0x7fffff)));              // denormal
    case 7: return bitsFloat(sign | (chance(0.5) ? 0x7f7fffffu : 0x00800000u));              // max / min normal
    case 8: return static_cast<float>(range(-1000, 1000)) / 8.0f;
    default: {
      uint32_t b;
      do
        b = rng_();
      while ((b & 0x7f800000u) == 0x7f800000u);
      return bitsFloat(b);
    }
    }
  }

  std::string name() {
    static const char *plain[] = {"x", "w_1", "a.b", "_t", "Tensor9", "q0", "sbuf", "inf", "hbm"};
    switch (range(0, 4)) {
    case 0: return plain[range(0, 8)];
    case 1: return "";
    case 2: {
      // Anything: quotes, backslashes, spaces, control and non-ASCII bytes.
      std::string s;
      for (int64_t n = range(1, 12); n > 0; --n)
        s += static_cast<char>(range(1, 255));
      return s;
    }
    case 3: return "9lives";
    default: return "t" + std::to_string(range(0, 99999));
    }
  }

  AccessPattern ap(SpaceMask spaces, size_t numTensors) {
    std::vector<MemSpace> allowed;
    for (MemSpace s : {MemSpace::HBM, MemSpace::SBUF, MemSpace::PSUM})
      if (spaces & spaceBit(s))
        allowed.push_back(s);
    AccessPattern a;
    a.space = allowed[range(0, allowed.size() - 1)];
    a.dtype = static_cast<DType>(range(0, kNumDTypes - 1));
    a.numDims = static_cast<uint8_t>(chance(0.03) ? 0 : range(1, kMaxFreeDims));
    for (int d = 0; d < a.numDims; ++d) {
      a.dims[d].stride = chance(0.5) ? static_cast<int32_t>(range(-600, 600)) : i32();
      a.dims[d].count = chance(0.6) ? static_cast<uint32_t>(range(0, 600)) : u32();
    }
    if (a.space == MemSpace::HBM) {
      a.tensor = numTensors && chance(0.9) ? static_cast<uint32_t>(range(0, numTensors - 1)) : u32();
      a.partitionStride = i32();
      a.partitionCount = static_cast<uint16_t>(chance(0.5) ? range(0, 128) : range(0, 65535));
    } else {
      a.partitionStart = static_cast<uint16_t>(chance(0.7) ? 32 * range(0, 3) : range(0, 65535));
      const int64_t room = 65535 - a.partitionStart;
      a.partitionCount = static_cast<uint16_t>(chance(0.7) ? std::min<int64_t>(room, range(0, 128)) : range(0, room));
    }
    const int64_t maxOffset = std::numeric_limits<int64_t>::max() / 2;
    switch (range(0, 3)) {
    case 0: a.offset = range(0, 4096) * 4; break;
    case 1: a.offset = -range(0, 4096); break;
    case 2: a.offset = chance(0.5) ? maxOffset : -maxOffset; break;
    default: a.offset = range(-maxOffset, maxOffset); break;
    }
    for (int l = 0; l < kMaxLoopDepth; ++l)
      if (chance(0.3))
        a.offsetStep[l] = nonzeroI32();
    return a;
  }

  Instruction instruction(Opcode op, const Program &p) {
    Instruction inst = makeInstruction(op);
    for (const FieldSpec &f : inst.info().fields) {
      switch (f.kind) {
      case FieldKind::Ap: inst.ap[f.slot] = ap(f.spaces, p.tensors.size()); break;
      case FieldKind::OptAp:
        if (chance(0.5))
          inst.ap[f.slot] = ap(f.spaces, p.tensors.size());
        break;
      case FieldKind::Bool: inst.setFlag(f.slot, chance(0.5)); break;
      case FieldKind::Alu:
        if (chance(0.8))
          inst.enums[f.slot] = static_cast<uint8_t>(range(0, kNumAluOps - 1));
        break;
      case FieldKind::Act:
        if (chance(0.8))
          inst.enums[f.slot] = static_cast<uint8_t>(range(0, kNumActFuncs - 1));
        break;
      case FieldKind::Choice:
        inst.enums[f.slot] = static_cast<uint8_t>(range(0, choiceCount(f.choices) - 1));
        break;
      case FieldKind::F32:
        if (chance(0.85))
          inst.f32[f.slot] = f32();
        break;
      case FieldKind::I32:
        if (chance(0.85))
          inst.i32[f.slot] = i32();
        break;
      }
    }
    if (chance(0.4)) {
      inst.wait.sem = static_cast<uint16_t>(chance(0.5) ? range(0, 63) : range(0, kNoSemaphore - 1));
      inst.wait.value = u32();
      for (int l = 0; l < kMaxLoopDepth; ++l)
        if (chance(0.3))
          inst.wait.step[l] = nonzeroI32();
    }
    if (chance(0.4)) {
      inst.signal.sem = static_cast<uint16_t>(chance(0.5) ? range(0, 63) : range(0, kNoSemaphore - 1));
      inst.signal.increment = static_cast<uint16_t>(chance(0.5) ? range(0, 4) : range(0, 65535));
    }
    if (chance(0.3))
      inst.loc = !p.locs.empty() && chance(0.7) ? static_cast<uint32_t>(range(0, p.locs.size() - 1))
                                               : static_cast<uint32_t>(range(0, kNoLoc - 1));
    return inst;
  }

  // A program whose streams are mostly instructions of `focus`.
  Program program(Opcode focus, int instructionsPerStream) {
    Program p;
    p.target = chance(0.5) ? "trn3" : name();
    p.numCores = static_cast<uint16_t>(chance(0.8) ? range(1, 8) : range(1, 1024));
    std::set<std::string> names;
    for (int64_t n = range(0, 6); n > 0; --n) {
      TensorInfo t;
      do
        t.name = name();
      while (!names.insert(t.name).second);
      t.role = static_cast<TensorRole>(range(0, 3));
      t.dtype = static_cast<DType>(range(0, kNumDTypes - 1));
      // Any shape the format holds: dims up to 2^40, at most 2^50 bytes in all.
      do {
        t.shape.clear();
        for (int64_t r = range(0, 8); r > 0; --r)
          t.shape.push_back(chance(0.8) ? range(0, 600) : range(0, int64_t(1) << 40));
      } while (t.naturalSize() > FormatLimits::kMaxTensorBytes);
      t.hbmOffset = static_cast<uint64_t>(chance(0.5) ? range(0, 1 << 20) * 64 : range(0, int64_t(1) << 50));
      t.sizeBytes = chance(0.6) ? t.naturalSize() : static_cast<uint64_t>(range(0, int64_t(1) << 50));
      if (chance(0.4))
        for (int64_t b = range(1, 300); b > 0; --b)
          t.data.push_back(static_cast<uint8_t>(rng_()));
      p.tensors.push_back(std::move(t));
    }
    for (int64_t n = range(0, 4); n > 0; --n)
      p.locs.push_back(SourceLoc{name(), u32(), u32(), chance(0.3) ? "" : name()});
    std::set<std::pair<uint16_t, uint8_t>> used;
    for (int64_t n = range(1, 6); n > 0; --n) {
      uint16_t core = static_cast<uint16_t>(range(0, p.numCores - 1));
      EngineId engine = chance(0.5) ? EngineId{static_cast<EngineKind>(range(0, 4)), 0}
                                    : EngineId{EngineKind::DMA, static_cast<uint8_t>(range(0, kMaxDmaQueues - 1))};
      if (!used.insert({core, engine.code()}).second)
        continue;
      Stream s{core, engine, {}};
      int depth = 0;
      for (int i = 0; i < instructionsPerStream; ++i) {
        Opcode op = focus;
        if (chance(0.25)) {
          op = static_cast<Opcode>(range(0, kNumOpcodes - 1));
          if (op == Opcode::Loop && depth < kMaxLoopDepth)
            ++depth;
          else if (op == Opcode::EndLoop && depth > 0)
            --depth;
        }
        s.code.push_back(instruction(op, p));
      }
      p.streams.push_back(std::move(s));
    }
    return p;
  }

private:
  std::mt19937 rng_;
};

std::string hexDump(const std::vector<uint8_t> &b) {
  std::ostringstream os;
  for (uint8_t c : b)
    os << "0123456789abcdef"[c >> 4] << "0123456789abcdef"[c & 15];
  return os.str();
}

// Field-by-field comparison of two access patterns (only dims in use count).
void expectSameAp(const AccessPattern &a, const AccessPattern &b, const std::string &where) {
  EXPECT_EQ(a.space, b.space) << where;
  if (!a.present() && !b.present())
    return;
  EXPECT_EQ(a.dtype, b.dtype) << where;
  EXPECT_EQ(a.numDims, b.numDims) << where;
  EXPECT_EQ(a.partitionStart, b.partitionStart) << where;
  EXPECT_EQ(a.partitionCount, b.partitionCount) << where;
  EXPECT_EQ(a.tensor, b.tensor) << where;
  EXPECT_EQ(a.partitionStride, b.partitionStride) << where;
  EXPECT_EQ(a.offset, b.offset) << where;
  EXPECT_EQ(a.offsetStep, b.offsetStep) << where;
  for (int d = 0; d < a.numDims && d < kMaxFreeDims; ++d) {
    EXPECT_EQ(a.dims[d].stride, b.dims[d].stride) << where << " dim " << d;
    EXPECT_EQ(a.dims[d].count, b.dims[d].count) << where << " dim " << d;
  }
}

void expectSameInstruction(const Program &p, const Instruction &a, const Instruction &b, const std::string &where) {
  EXPECT_TRUE(a == b) << where << "\n  " << printInstruction(p, a) << "\n  " << printInstruction(p, b);
  EXPECT_EQ(a.opcode, b.opcode) << where;
  EXPECT_EQ(a.flags, b.flags) << where;
  EXPECT_EQ(a.enums, b.enums) << where;
  for (int i = 0; i < kMaxF32Slots; ++i)
    EXPECT_EQ(floatBits(a.f32[i]), floatBits(b.f32[i])) << where << " f32[" << i << "]";
  EXPECT_EQ(a.i32, b.i32) << where;
  for (int i = 0; i < kMaxApSlots; ++i)
    expectSameAp(a.ap[i], b.ap[i], where + " ap[" + std::to_string(i) + "]");
  EXPECT_EQ(a.wait.sem, b.wait.sem) << where;
  EXPECT_EQ(a.wait.value, b.wait.value) << where;
  EXPECT_EQ(a.wait.step, b.wait.step) << where;
  EXPECT_EQ(a.signal.sem, b.signal.sem) << where;
  EXPECT_EQ(a.signal.increment, b.signal.increment) << where;
  EXPECT_EQ(a.loc, b.loc) << where;
}

void expectSamePrograms(const Program &a, const Program &b) {
  EXPECT_EQ(a.target, b.target);
  EXPECT_EQ(a.numCores, b.numCores);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const TensorInfo &x = a.tensors[i], &y = b.tensors[i];
    EXPECT_EQ(x.name, y.name) << "tensor " << i;
    EXPECT_EQ(x.role, y.role) << "tensor " << i;
    EXPECT_EQ(x.dtype, y.dtype) << "tensor " << i;
    EXPECT_EQ(x.shape, y.shape) << "tensor " << i;
    EXPECT_EQ(x.hbmOffset, y.hbmOffset) << "tensor " << i;
    EXPECT_EQ(x.sizeBytes, y.sizeBytes) << "tensor " << i;
    EXPECT_EQ(x.data, y.data) << "tensor " << i;
  }
  EXPECT_EQ(a.numRanks, b.numRanks);
  EXPECT_TRUE(a.replicaGroups == b.replicaGroups);
  EXPECT_TRUE(a.rankData == b.rankData);
  ASSERT_EQ(a.locs.size(), b.locs.size());
  for (size_t i = 0; i < a.locs.size(); ++i)
    EXPECT_TRUE(a.locs[i] == b.locs[i]) << "loc " << i;
  ASSERT_EQ(a.streams.size(), b.streams.size());
  for (size_t s = 0; s < a.streams.size(); ++s) {
    const Stream &x = a.streams[s], &y = b.streams[s];
    EXPECT_EQ(x.core, y.core) << "stream " << s;
    EXPECT_EQ(x.engine, y.engine) << "stream " << s;
    ASSERT_EQ(x.code.size(), y.code.size()) << "stream " << s;
    for (size_t i = 0; i < x.code.size(); ++i)
      expectSameInstruction(a, x.code[i], y.code[i], describeInstruction(a, x, i));
  }
}

std::string print(const Program &p) {
  std::ostringstream os;
  printProgram(os, p);
  return os.str();
}

// decode(encode(p)) == p; encode(decode(bytes)) == bytes; print -> parse -> encode == bytes.
void checkRoundTrips(const Program &p) {
  std::vector<uint8_t> bytes = encodeProgram(p);
  Program decoded;
  try {
    decoded = decodeProgram(bytes.data(), bytes.size());
  } catch (const Error &e) {
    FAIL() << "decode failed: " << e.what() << "\n" << print(p);
  }
  expectSamePrograms(p, decoded);
  EXPECT_EQ(encodeProgram(decoded), bytes);
  std::string text = print(p);
  Program parsed;
  try {
    parsed = parseAssembly(text, "printed.s");
  } catch (const Error &e) {
    FAIL() << "printed program does not parse: " << e.what() << "\n" << text;
  }
  std::vector<uint8_t> again = encodeProgram(parsed);
  EXPECT_TRUE(again == bytes) << text;
  if (again != bytes)
    expectSamePrograms(p, parsed);
  // Printing is deterministic and a fixed point.
  EXPECT_EQ(print(parsed), text);
}

} // namespace

TEST(Encoding, RandomProgramsOfEveryOpcodeRoundTrip) {
  Gen gen(0x7e57c0de);
  std::vector<int> generated(kNumOpcodes, 0);
  for (const OpcodeInfo &info : instructionTable()) {
    SCOPED_TRACE(info.mnemonic);
    for (int n = 0; n < 40; ++n) {
      Program p = gen.program(info.opcode, 40);
      for (const Stream &s : p.streams)
        for (const Instruction &inst : s.code)
          ++generated[static_cast<int>(inst.opcode)];
      checkRoundTrips(p);
      if (::testing::Test::HasFailure())
        return; // one failing program is enough to debug
    }
  }
  for (int i = 0; i < kNumOpcodes; ++i)
    EXPECT_GT(generated[i], 500) << opcodeInfo(static_cast<Opcode>(i)).mnemonic;
}

TEST(Encoding, EdgeCaseProgramsRoundTrip) {
  // Empty program, rank-0 tensor with an empty name, a stream with no code,
  // names that need every kind of quoting.
  Program p;
  p.target = "";
  p.numCores = 1024;
  p.tensors.push_back(TensorInfo{"", TensorRole::Scratch, DType::INT8, {}, 0, 1, {}});
  p.tensors.push_back(TensorInfo{"q\"\\\x01\x7f\xff ;#", TensorRole::Weight, DType::FP8E5M2, {0, 3}, 64, 0, {1, 2, 3}});
  p.locs.push_back(SourceLoc{"", 0, 0, ""});
  p.locs.push_back(SourceLoc{"a \"b\"", 0xffffffffu, 0xffffffffu, "op;#"});
  p.streams.push_back(Stream{1023, EngineId{EngineKind::DMA, 63}, {}});
  Instruction m = makeInstruction(Opcode::Memset);
  m.ap[0].space = MemSpace::PSUM;
  m.ap[0].partitionStart = 65535;
  m.ap[0].partitionCount = 0;
  m.ap[0].numDims = 4;
  m.ap[0].offset = -std::numeric_limits<int64_t>::max() / 2;
  m.ap[0].offsetStep = {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), -1, 1};
  for (int d = 0; d < 4; ++d)
    m.ap[0].dims[d] = Dim{d % 2 ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int32_t>::max(), 0xffffffffu};
  m.f32[0] = bitsFloat(0xffffffffu);
  m.wait = SemWait{kNoSemaphore - 1, 0xffffffffu, {std::numeric_limits<int32_t>::min(), 0, 0, -1}};
  m.signal = SemSignal{0, 0};
  m.loc = kNoLoc - 1;
  p.streams.push_back(Stream{0, EngineId{EngineKind::SP, 0}, {m}});
  Instruction g = makeInstruction(Opcode::DmaGather);
  for (int i = 0; i < 3; ++i) {
    g.ap[i].space = MemSpace::HBM;
    g.ap[i].tensor = i == 0 ? 1 : 0xffffffffu;
    g.ap[i].partitionCount = 65535;
    g.ap[i].partitionStride = -1;
    g.ap[i].numDims = 0;
  }
  p.streams.back().code.push_back(g);
  checkRoundTrips(p);
  checkRoundTrips(Program{});
  // The smallest tensor record (empty name, rank 0: 31 bytes) alone in its section.
  Program one;
  one.tensors.push_back(TensorInfo{"", TensorRole::Input, DType::FP32, {}, 0, 4, {}});
  checkRoundTrips(one);
  Program two = one;
  two.tensors.push_back(TensorInfo{"\"\"", TensorRole::Input, DType::FP32, {}, 64, 4, {}});
  checkRoundTrips(two);
}

// Multi-rank programs (container 1.1): the ranks section keeps the rank count,
// replica-group sets and per-rank data, and the listing round-trips byte for
// byte. A single-rank program is still written as 1.0 with four sections.
TEST(Encoding, MultiRankProgramsRoundTrip) {
  const std::string text = ".target trn3\n.cores 1\n.ranks 4\n.replica_group 0 [0,1,2,3]\n"
                           ".replica_group 1 [0,2] [1,3]\n.tensor w weight fp32 [2] hbm=0x0\n"
                           ".data w 0000803f00000040\n.tensor x input fp32 [128,64] hbm=0x40\n"
                           ".rank_data w 2 000040400000803f\n.rank_data w 1 \n.rank_data w 1 0000a040\n"
                           ".rank_data w 1 0000c040\n"
                           ".stream core=0 engine=q0\n"
                           "  all_reduce dst=hbm[x]+0x0:fp32[[64,128],[1,64]] src=hbm[x]+0x0:fp32[[64,128],[1,64]] "
                           "op=add groups=1\n";
  Program p = parseAssembly(text, "ranks.s");
  EXPECT_EQ(p.numRanks, 4);
  ASSERT_EQ(p.replicaGroups.size(), 2u);
  EXPECT_EQ(p.replicaGroups[1].groups, (std::vector<std::vector<uint16_t>>{{0, 2}, {1, 3}}));
  ASSERT_EQ(p.rankData.size(), 2u); // rank 1's lines append to one entry
  EXPECT_EQ(p.rankData[1].rank, 1);
  EXPECT_EQ(p.rankData[1].data.size(), 8u);
  EXPECT_EQ(p.tensorData(0, 1), p.rankData[1].data);
  EXPECT_EQ(p.tensorData(0, 3), p.tensors[0].data);
  std::vector<uint8_t> bytes = encodeProgram(p);
  EXPECT_EQ(bytes[10] | bytes[11] << 8, 1); // minor version
  EXPECT_EQ(bytes[12], 5);                  // five sections
  checkRoundTrips(p);
  EXPECT_NE(print(p).find("; trnx assembly (container 1.1)\n"), std::string::npos);
  EXPECT_NE(print(p).find(".ranks 4\n.replica_group 0 [0,1,2,3]\n.replica_group 1 [0,2] [1,3]\n"), std::string::npos);

  Program single = parseAssembly(".tensor x input fp32 [4]\n", "one.s");
  std::vector<uint8_t> old = encodeProgram(single);
  EXPECT_EQ(old[10] | old[11] << 8, 0);
  EXPECT_EQ(old[12], 4);
  EXPECT_NE(print(single).find("(container 1.0)"), std::string::npos);
  // Groups alone (one rank) still need the ranks section.
  Program grouped = parseAssembly(".replica_group 0 [0]\n", "g.s");
  EXPECT_EQ(grouped.containerMinorVersion(), 1);
  checkRoundTrips(grouped);
}

TEST(Encoding, FloatImmediatesKeepTheirBits) {
  const uint32_t patterns[] = {0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fc00001,
                               0x7f800001, 0xffbfffff, 0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff, 0x3f800000,
                               0x3dcccccd, 0xc0490fdb, 0x4b800001, 0x33800000};
  for (uint32_t bits : patterns) {
    Program p;
    Instruction inst = makeInstruction(Opcode::AffineSelect);
    inst.ap[0] = AccessPattern{MemSpace::SBUF, DType::FP32, 1};
    inst.ap[1] = inst.ap[0];
    inst.f32[0] = bitsFloat(bits);
    p.streams.push_back(Stream{0, EngineId{EngineKind::POOL, 0}, {inst}});
    // The printed immediate reads back to the same bits.
    std::string text = formatFloat(bitsFloat(bits));
    Program parsed = parseAssembly(".stream core=0 engine=pool\naffine_select dst=sbuf[0:1]+0x0:fp32[[1,1]] "
                                   "src=sbuf[0:1]+0x0:fp32[[1,1]] cmp=ge fill=" + text + "\n",
                                   "t.s");
    EXPECT_EQ(floatBits(parsed.streams[0].code[0].f32[0]), bits) << text;
    // NaNs print as raw bits, everything else as a decimal.
    EXPECT_EQ(text.rfind("f32:0x", 0) == 0, std::isnan(bitsFloat(bits))) << text;
    checkRoundTrips(p);
  }
  EXPECT_EQ(formatFloat(-0.0f), "-0");
  EXPECT_EQ(formatFloat(0.1f), "0.100000001");
  EXPECT_EQ(formatFloat(bitsFloat(0x7fc00001)), "f32:0x7fc00001");
  EXPECT_EQ(formatFloat(-std::numeric_limits<float>::infinity()), "-inf");
}

TEST(Encoding, InstructionEqualityIsBitExact) {
  Instruction a = makeInstruction(Opcode::Memset);
  Instruction b = a;
  EXPECT_TRUE(a == b);
  b.f32[0] = -0.0f;
  EXPECT_FALSE(a == b); // +0 vs -0
  a.f32[0] = bitsFloat(0x7fc00000);
  b.f32[0] = bitsFloat(0x7fc00001);
  EXPECT_FALSE(a == b); // NaN payloads differ
  b.f32[0] = a.f32[0];
  EXPECT_TRUE(a == b); // equal NaN bits compare equal
  // Dims beyond numDims do not take part.
  a.ap[0].numDims = 1;
  b.ap[0].numDims = 1;
  b.ap[0].dims[2] = Dim{7, 7};
  EXPECT_TRUE(a == b);
  b.ap[0].dims[0] = Dim{7, 7};
  EXPECT_FALSE(a == b);
  b = a;
  b.wait.step[3] = 1;
  EXPECT_FALSE(a == b);
  b = a;
  b.ap[4].offsetStep[0] = 1;
  EXPECT_FALSE(a == b);
}

// Hand-written instructions of every opcode: the printer gives back exactly
// the canonical text, and encode/decode keeps every field.
TEST(Encoding, HandWrittenInstructionsOfEveryOpcode) {
  const std::vector<std::pair<const char *, std::string>> lines = {
      {"pe", "matmul dst=psum[0:128]+0x800:bf16[[1,512]] stationary=sbuf[0:128]+0x0:fp8e4m3[[128,2],[1,128]] "
             "moving=sbuf[0:128]+0x100+256*i0:fp8e5m2[[512,2],[1,512]] acc=1 mode=double_row wait=s1>=2+3*i0 "
             "signal=s2+1 loc=0"},
      {"pe", "transpose dst=psum[0:64]+0x0-2048*i0:fp32[[1,128]] src=sbuf[0:128]+0x40:bf16[[1,64]]"},
      {"pe", "matmul_os dst=psum[0:128]+0x0:fp32[[1,128]] a=sbuf[0:128]+0x0:bf16[[1,512]] b=sbuf[0:64]+0x400:bf16[[1,512]] acc=1"},
      {"pe", "matmul_mx dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x0:fp4e2m1x2[[64,4],[1,64]] "
             "moving=sbuf[0:128]+0x100+256*i0:fp8e5m2[[512,4],[1,512]] stationary_scale=sbuf[0:16]+0x1000:e8m0[[1,128]] "
             "moving_scale=sbuf[0:16]+0x1100:e8m0[[1,512]] k_rows=4 acc=1 signal=s2+1"},
      {"dve", "quantize_mx dst=sbuf[0:128]+0x0:fp8e5m2[[1,256]] src=psum[0:128]+0x0:fp32[[1,256]] "
              "scale_dst=sbuf[0:128]+0x800:e8m0[[1,8]] block_stride=4"},
      {"act", "activation dst=sbuf[0:128]+0x0:fp32[[1,512]] src=psum[0:128]+0x0:fp32[[1,512]] func=gelu_tanh "
              "scale=f32:0x7fc00001 bias=-0 reduce=max reduce_dst=sbuf[0:128]+0x804:fp32[[1,1]]"},
      {"act", "activation dst=sbuf[0:128]+0x0:fp32[[1,512]] src=psum[0:128]+0x0:fp32[[1,512]] "
              "scale_ap=sbuf[0:128]+0x800:fp32[[1,1]] bias_ap=sbuf[0:128]+0x808:fp32[[1,1]]"},
      {"dve", "tensor_tensor dst=sbuf[0:128]+0x0:fp32[[-1,512]] src0=sbuf[0:128]+0x800:fp32[[1,512]] "
              "src1=psum[0:128]+0x0:fp32[[1,512]] op=rdiv"},
      {"pool", "tensor_scalar dst=sbuf[0:128]+0x0:bf16[[1,512]] src=sbuf[0:128]+0x800:fp32[[1,512]] op0=pow "
               "scalar0=1.5 op1=ge scalar1_ap=sbuf[0:128]+0x1000:fp32[[1,1]]"},
      {"pool", "tensor_scalar dst=sbuf[0:128]+0x0:bf16[[1,512]] src=sbuf[0:128]+0x800:fp32[[1,512]] op0=none"},
      {"dve", "tensor_reduce dst=sbuf[0:128]+0x0:fp32[[1,8]] src=sbuf[0:128]+0x800:fp32[[64,8],[1,64]] op=min axes=-7"},
      {"act", "tensor_copy dst=sbuf[0:128]+0x0:int8[[1,512]] src=psum[0:128]+0x0:int32[[1,512]]"},
      {"dve", "select dst=sbuf[0:128]+0x0:fp32[[1,64]] pred=sbuf[0:128]+0x100:fp32[[1,64]] "
              "on_true=sbuf[0:128]+0x200:fp32[[1,64]] on_false=psum[0:128]+0x300:fp32[[1,64]] wait=s0>=4294967295"},
      {"pool", "iota dst=sbuf[0:128]+0x0:int32[[1,64],[64,2],[0,3],[5,4]] base=-2147483648 pstep=64 step0=1 step1=2 "
               "step2=3 step3=2147483647"},
      {"pool", "affine_select dst=sbuf[0:128]+0x0:fp32[[1,128]] src=sbuf[0:128]+0x200:fp32[[1,128]] cmp=eq fill=-inf "
               "pstep=1 step0=-1"},
      {"dve", "memset dst=sbuf[96:128]+0x0:bf16[[1,512]] value=1.40129846e-45"},
      {"pool", "partition_reduce dst=sbuf[0:1]+0x0:fp32[[1,64]] src=sbuf[0:128]+0x100:fp32[[1,64]] op=add"},
      {"pool", "partition_broadcast dst=sbuf[0:128]+0x0:fp32[[1,64]] src=sbuf[0:1]+0x100:fp32[[1,64]]"},
      {"dve", "bn_stats dst=sbuf[0:128]+0x0:fp32[[1,3]] src=sbuf[0:128]+0x100:fp16[[1,512]]"},
      {"dve", "bn_aggr dst=sbuf[0:128]+0x0:fp32[[1,2]] src=sbuf[0:128]+0x100:fp32[[1,6]]"},
      {"q3", "dma_copy dst=sbuf[0:128]+0x0:bf16[[128,4],[1,128]] src=hbm[a]+0x0+262144*i0:bf16[[1,128],[128,4],[512,128]] "
             "transpose=1 wait=s2>=1+2*i0 signal=s1+1"},
      {"q63", "dma_gather dst=sbuf[0:128]+0x0:fp32[[1,64]] src=hbm[#7]-0x10:fp32[[64,1000],[1,64]] "
              "index=sbuf[0:128]+0x1000:int32[[1,1]]"},
      {"sp", "sem_wait wait=s63>=0-1*i0+2*i1-3*i2+4*i3"},
      {"sp", "sem_signal signal=s65534+65535"},
      {"sp", "barrier scope=chip"},
      {"sp", "barrier"},
      {"sp", "loop count=-5"},
      {"sp", "endloop loc=4294967294"},
      {"q0", "all_reduce dst=hbm[a]+0x0:bf16[[512,512],[1,512]] src=sbuf[0:128]+0x0:bf16[[1,64]] op=max groups=3 "
             "channels=4 priority=2 wait=s1>=1 signal=s2+1"},
      {"q1", "all_gather dst=sbuf[0:128]+0x0:fp32[[1,256]] src=sbuf[0:128]+0x400:fp32[[1,64]] channels=-1"},
      {"q2", "reduce_scatter dst=sbuf[0:128]+0x0:fp32[[1,64]] src=hbm[a]+0x0+4*i0:fp32[[512,512],[1,512]] op=add"},
      {"q3", "all_to_all dst=sbuf[0:128]+0x0:fp8e4m3[[1,64]] src=sbuf[0:128]+0x400:fp8e4m3[[1,64]] groups=1"},
      {"q4", "all_to_all_v dst=sbuf[0:128]+0x0:fp32[[1,64]] src=sbuf[0:128]+0x400:fp32[[1,64]] "
             "meta=hbm[a]+0x0:int32[[0,1],[1,16]] priority=-3"},
      {"q5", "permute dst=sbuf[0:128]+0x0:fp32[[1,64]] src=sbuf[0:128]+0x400:fp32[[1,64]] shift=-2147483648 wrap=0"},
      {"q6", "permute dst=sbuf[0:128]+0x0:fp32[[1,64]] src=sbuf[0:128]+0x400:fp32[[1,64]]"},
      {"pool", "rank_id dst=sbuf[0:128]+0x0:int32[[1,1]] groups=0"},
  };
  std::vector<bool> covered(kNumOpcodes, false);
  for (const auto &[engine, line] : lines) {
    SCOPED_TRACE(line);
    std::string text = ".cores 1\n.tensor a input bf16 [512,512]\n.loc 0 \"m.mlir\" 1 2 \"op\"\n.stream core=0 engine=" +
                       std::string(engine) + "\n" + line + "\n";
    Program p = parseAssembly(text, "t.s");
    ASSERT_EQ(p.streams.size(), 1u);
    ASSERT_EQ(p.streams[0].code.size(), 1u);
    const Instruction &inst = p.streams[0].code[0];
    covered[static_cast<int>(inst.opcode)] = true;
    EXPECT_EQ(printInstruction(p, inst), line);
    checkRoundTrips(p);
  }
  for (int i = 0; i < kNumOpcodes; ++i)
    EXPECT_TRUE(covered[i]) << opcodeInfo(static_cast<Opcode>(i)).mnemonic;
}

TEST(Encoding, HandWrittenFieldsDecodeToTheirSlots) {
  Program p = parseAssembly(
      ".tensor a input bf16 [512,512]\n.loc 0 \"m.mlir\" 1 2 \"op\"\n.stream core=0 engine=pe\n"
      "matmul dst=psum[0:128]+0x800:bf16[[1,512]] stationary=sbuf[0:128]+0x0:fp8e4m3[[128,2],[1,128]] "
      "moving=sbuf[0:128]+0x100+256*i0:fp8e5m2[[512,2],[1,512]] acc=1 mode=double_row wait=s1>=2+3*i0 signal=s2+1 loc=0\n"
      ".stream core=0 engine=act\n"
      "activation dst=sbuf[0:128]+0x0:fp32[[1,512]] src=psum[0:128]+0x0:fp32[[1,512]] func=gelu_tanh "
      "scale=f32:0x7fc00001 bias=-0 reduce=max reduce_dst=sbuf[0:128]+0x804:fp32[[1,1]]\n",
      "t.s");
  std::vector<uint8_t> bytes = encodeProgram(p);
  Program q = decodeProgram(bytes.data(), bytes.size());
  const Instruction &mm = q.streams[0].code[0];
  EXPECT_EQ(mm.opcode, Opcode::Matmul);
  EXPECT_TRUE(mm.flag(0));
  EXPECT_EQ(mm.enums[0], 1);
  EXPECT_EQ(mm.ap[0].space, MemSpace::PSUM);
  EXPECT_EQ(mm.ap[0].dtype, DType::BF16);
  EXPECT_EQ(mm.ap[0].offset, 0x800);
  EXPECT_EQ(mm.ap[1].dims[0].stride, 128);
  EXPECT_EQ(mm.ap[1].dims[0].count, 2u);
  EXPECT_EQ(mm.ap[2].offsetStep[0], 256);
  EXPECT_EQ(mm.ap[2].dtype, DType::FP8E5M2);
  EXPECT_EQ(mm.wait.sem, 1);
  EXPECT_EQ(mm.wait.value, 2u);
  EXPECT_EQ(mm.wait.step[0], 3);
  EXPECT_EQ(mm.signal.sem, 2);
  EXPECT_EQ(mm.signal.increment, 1);
  EXPECT_EQ(mm.loc, 0u);
  const Instruction &act = q.streams[1].code[0];
  EXPECT_EQ(act.enums[0], static_cast<uint8_t>(ActFunc::GeluTanh));
  EXPECT_EQ(act.enums[1], static_cast<uint8_t>(AluOp::Max));
  EXPECT_EQ(floatBits(act.f32[0]), 0x7fc00001u);
  EXPECT_EQ(floatBits(act.f32[1]), 0x80000000u);
  EXPECT_FALSE(act.ap[2].present());
  EXPECT_FALSE(act.ap[3].present());
  EXPECT_TRUE(act.ap[4].present());
}

namespace {

// Little-endian byte builder, independent of the encoder.
struct Bytes {
  std::vector<uint8_t> b;
  Bytes &u8(uint8_t v) {
    b.push_back(v);
    return *this;
  }
  Bytes &le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
      b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Bytes &u16(uint16_t v) { return le(v, 2); }
  Bytes &u32(uint32_t v) { return le(v, 4); }
  Bytes &u64(uint64_t v) { return le(v, 8); }
  Bytes &str(const std::string &s) {
    u32(static_cast<uint32_t>(s.size()));
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Bytes &raw(const std::vector<uint8_t> &v) {
    b.insert(b.end(), v.begin(), v.end());
    return *this;
  }
  Bytes &section(uint32_t kind, const Bytes &payload) {
    u32(kind);
    u64(payload.b.size());
    return raw(payload.b);
  }
};

// Bitwise CRC-32 (IEEE, reflected), as a reference for the table-driven one.
uint32_t referenceCrc(const std::vector<uint8_t> &data, size_t from) {
  uint32_t c = 0xffffffffu;
  for (size_t i = from; i < data.size(); ++i) {
    c ^= data[i];
    for (int k = 0; k < 8; ++k)
      c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

std::vector<uint8_t> withHeader(const Bytes &body) {
  Bytes out;
  for (char c : std::string("TRNXPROG"))
    out.u8(static_cast<uint8_t>(c));
  out.u16(1).u16(0).u32(4).u32(0).u32(0);
  out.raw(body.b);
  uint32_t crc = referenceCrc(out.b, 24);
  for (int i = 0; i < 4; ++i)
    out.b[16 + i] = static_cast<uint8_t>(crc >> (8 * i));
  return out.b;
}

} // namespace

TEST(Encoding, ContainerLayoutMatchesTheDocument) {
  const std::string text = ".target t\n.cores 1\n.tensor x weight int8 [2] hbm=0x40\n.data x abcd\n"
                           ".loc 0 \"f\" 7 9 \"op\"\n.stream core=0 engine=q2\n"
                           "  dma_copy dst=sbuf[3:5]+0x10+8*i1:int8[[1,2]] src=hbm[x]+0x0:int8[[0,2],[-1,2]] "
                           "wait=s1>=2-3*i0 signal=s4+5 loc=0\n"
                           ".stream core=0 engine=act\n  memset dst=psum[0:1]+0x0:fp32[[1,1]] value=f32:0x7f800001\n";
  Bytes meta, tensors, locs, streams;
  meta.str("t").u16(1);
  tensors.u32(1).str("x").u8(2).u8(5).u8(1).u64(2).u64(0x40).u64(2).u64(2).u8(0xab).u8(0xcd);
  locs.u32(1).str("f").u32(7).u32(9).str("op");
  streams.u32(2);
  streams.u16(0).u8(16 + 2).u32(1);
  streams.u8(15).u8(1 | 2 | 4);                        // dma_copy; wait, signal, loc present
  streams.u16(1).u32(2).u8(0x1).u32(static_cast<uint32_t>(-3)); // wait s1 >= 2 - 3*i0
  streams.u16(4).u16(5);                               // signal s4 + 5
  streams.u32(0);                                      // loc 0
  // dst: sbuf, int8, 1 dim, partitions 3 + 2, offset 16, step 8 at level 1, [1, 2]
  streams.u8(2).u8(5).u8(1).u16(3).u16(2).u64(16).u8(0x2).u32(8).u32(1).u32(2);
  // src: hbm, int8, 1 dim, start 0, 2 rows, tensor 0, row stride 0, offset 0, no steps, [-1, 2]
  streams.u8(1).u8(5).u8(1).u16(0).u16(2).u32(0).u32(0).u64(0).u8(0).u32(static_cast<uint32_t>(-1)).u32(2);
  streams.u8(0); // transpose = 0
  streams.u16(0).u8(1).u32(1);
  streams.u8(10).u8(0); // memset, nothing present
  streams.u8(3).u8(0).u8(1).u16(0).u16(1).u64(0).u8(0).u32(1).u32(1);
  streams.u32(0x7f800001); // value
  Bytes body;
  body.section(1, meta).section(2, tensors).section(3, locs).section(4, streams);
  std::vector<uint8_t> expected = withHeader(body);

  Program p = parseAssembly(text, "t.s");
  std::vector<uint8_t> got = encodeProgram(p);
  EXPECT_EQ(hexDump(got), hexDump(expected));
  Program q = decodeProgram(expected.data(), expected.size());
  expectSamePrograms(p, q);
  EXPECT_EQ(crc32(expected.data() + 24, expected.size() - 24), referenceCrc(expected, 24));
}

TEST(Encoding, Crc32CheckValue) {
  const std::string s = "123456789";
  EXPECT_EQ(crc32(reinterpret_cast<const uint8_t *>(s.data()), s.size()), 0xcbf43926u);
  EXPECT_EQ(crc32(nullptr, 0), 0u);
}

TEST(Encoding, ExampleProgramsRoundTrip) {
  for (const char *name : {"gemm_512", "softmax", "layernorm"}) {
    SCOPED_TRACE(name);
    Program p = parseAssemblyFile(std::string(TRNX_SOURCE_DIR) + "/examples/asm/" + name + ".s");
    EXPECT_GT(p.instructionCount(), 10u);
    checkRoundTrips(p);
  }
}

TEST(Encoding, FileHelpers) {
  char dir[] = "/tmp/trnx_encoding_testXXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/p.tnx";
  Program p = parseAssemblyFile(std::string(TRNX_SOURCE_DIR) + "/examples/asm/softmax.s");
  writeProgramFile(path, p);
  EXPECT_EQ(readFileBytes(path), encodeProgram(p));
  expectSamePrograms(p, readProgramFile(path));
  writeFileBytes(path, {'T', 'R', 'N'});
  try {
    readProgramFile(path);
    ADD_FAILURE() << "no error";
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()), path + ": file is 3 bytes, shorter than the 24-byte header");
  }
  std::remove(path.c_str());
  try {
    readProgramFile(path);
    ADD_FAILURE() << "no error";
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot open file");
  }
  rmdir(dir);
}
