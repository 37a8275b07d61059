// Encoder and decoder of the .tnx container. Every instruction is encoded by
// walking its opcode's field list from the instruction table, so the format
// follows the table without per-opcode code.
#include "isa/Container.h"

#include "isa/CheckedMath.h"
#include "isa/Error.h"
#include "isa/FormatLimits.h"
#include "isa/OutputFile.h"

#include <array>
#include <cstring>
#include <fstream>
#include <unordered_set>

namespace trnx {
namespace {

constexpr char kMagic[8] = {'T', 'R', 'N', 'X', 'P', 'R', 'O', 'G'};
constexpr size_t kHeaderBytes = 24;
enum SectionKind : uint32_t { kMeta = 1, kTensors = 2, kLocs = 3, kStreams = 4, kRanks = 5 };

// Instruction presence bits.
constexpr uint8_t kHasWait = 1, kHasSignal = 2, kHasLoc = 4;

class Writer {
public:
  std::vector<uint8_t> bytes;
  template <typename T> void put(T v) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    bytes.insert(bytes.end(), b, b + sizeof(T));
  }
  void putString(const std::string &s) {
    put<uint32_t>(static_cast<uint32_t>(s.size()));
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void putSteps(const std::array<int32_t, kMaxLoopDepth> &steps) {
    uint8_t mask = 0;
    for (int l = 0; l < kMaxLoopDepth; ++l)
      if (steps[l])
        mask |= 1u << l;
    put<uint8_t>(mask);
    for (int l = 0; l < kMaxLoopDepth; ++l)
      if (steps[l])
        put<int32_t>(steps[l]);
  }
};

class Reader {
public:
  Reader(const uint8_t *data, size_t size, size_t base) : p_(data), size_(size), base_(base) {}
  size_t pos() const { return base_ + at_; }
  size_t remaining() const { return size_ - at_; }
  bool done() const { return at_ == size_; }

  template <typename T> T get() {
    need(sizeof(T), "value");
    T v;
    std::memcpy(&v, p_ + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  std::string getString(const char *what) {
    uint32_t n = get<uint32_t>();
    need(n, what);
    std::string s(reinterpret_cast<const char *>(p_ + at_), n);
    at_ += n;
    return s;
  }
  const uint8_t *getBytes(size_t n, const char *what) {
    need(n, what);
    const uint8_t *r = p_ + at_;
    at_ += n;
    return r;
  }
  // A count of items of at least `minItemBytes` each: rejects counts the
  // remaining bytes cannot hold, so corrupt counts never allocate.
  uint32_t getCount(size_t minItemBytes, const char *what) {
    size_t at = pos();
    uint32_t n = get<uint32_t>();
    if (minItemBytes && n > remaining() / minItemBytes)
      fail("offset ", at, ": ", what, " count ", n, " exceeds the data that follows");
    return n;
  }
  std::array<int32_t, kMaxLoopDepth> getSteps() {
    std::array<int32_t, kMaxLoopDepth> steps{};
    size_t at = pos();
    uint8_t mask = get<uint8_t>();
    if (mask >> kMaxLoopDepth)
      fail("offset ", at, ": loop step mask 0x", std::hex, unsigned(mask), " names a level >= ",
           std::dec, kMaxLoopDepth);
    for (int l = 0; l < kMaxLoopDepth; ++l)
      if (mask & (1u << l)) {
        steps[l] = get<int32_t>();
        if (steps[l] == 0)
          fail("offset ", pos() - 4, ": zero loop step is not canonical");
      }
    return steps;
  }
  [[noreturn]] void bad(size_t at, const std::string &what) { fail("offset ", at, ": ", what); }

private:
  void need(size_t n, const char *what) {
    if (n > remaining())
      fail("offset ", pos(), ": truncated ", what, " (need ", n, " bytes, ", remaining(),
           " left)");
  }
  const uint8_t *p_;
  size_t size_;
  size_t base_;
  size_t at_ = 0;
};

void encodeAp(Writer &w, const AccessPattern &a) {
  w.put<uint8_t>(static_cast<uint8_t>(a.space));
  w.put<uint8_t>(static_cast<uint8_t>(a.dtype));
  w.put<uint8_t>(a.numDims);
  w.put<uint16_t>(a.partitionStart);
  w.put<uint16_t>(a.partitionCount);
  if (a.space == MemSpace::HBM) {
    w.put<uint32_t>(a.tensor);
    w.put<int32_t>(a.partitionStride);
  }
  w.put<int64_t>(a.offset);
  w.putSteps(a.offsetStep);
  for (int d = 0; d < a.numDims; ++d) {
    w.put<int32_t>(a.dims[d].stride);
    w.put<uint32_t>(a.dims[d].count);
  }
}

AccessPattern decodeAp(Reader &r) {
  AccessPattern a;
  size_t at = r.pos();
  uint8_t space = r.get<uint8_t>();
  if (space < 1 || space > 3)
    r.bad(at, "invalid memory space " + std::to_string(space));
  a.space = static_cast<MemSpace>(space);
  at = r.pos();
  uint8_t dt = r.get<uint8_t>();
  if (!isValidDType(dt))
    r.bad(at, "invalid dtype " + std::to_string(dt));
  a.dtype = static_cast<DType>(dt);
  at = r.pos();
  a.numDims = r.get<uint8_t>();
  if (a.numDims > kMaxFreeDims)
    r.bad(at, "access pattern has " + std::to_string(a.numDims) + " free dims (max 4)");
  at = r.pos();
  a.partitionStart = r.get<uint16_t>();
  a.partitionCount = r.get<uint16_t>();
  if (a.partitionStart + a.partitionCount > FormatLimits::kMaxPartitionEnd)
    r.bad(at, "partition range [" + std::to_string(a.partitionStart) + ", " +
                  std::to_string(a.partitionStart + a.partitionCount) + ") ends beyond partition " +
                  std::to_string(FormatLimits::kMaxPartitionEnd));
  if (a.space == MemSpace::HBM) {
    if (a.partitionStart != 0)
      r.bad(at, "hbm access pattern has a partition start");
    a.tensor = r.get<uint32_t>();
    a.partitionStride = r.get<int32_t>();
  }
  at = r.pos();
  a.offset = r.get<int64_t>();
  if (a.offset > FormatLimits::kMaxApOffset || a.offset < -FormatLimits::kMaxApOffset)
    r.bad(at, "operand offset " + std::to_string(a.offset) + " is out of range (|offset| < 2^62)");
  a.offsetStep = r.getSteps();
  for (int d = 0; d < a.numDims; ++d) {
    a.dims[d].stride = r.get<int32_t>();
    a.dims[d].count = r.get<uint32_t>();
  }
  return a;
}

void encodeInstruction(Writer &w, const Instruction &inst) {
  w.put<uint8_t>(static_cast<uint8_t>(inst.opcode));
  uint8_t presence = (inst.wait.present() ? kHasWait : 0) |
                     (inst.signal.present() ? kHasSignal : 0) |
                     (inst.loc != kNoLoc ? kHasLoc : 0);
  w.put<uint8_t>(presence);
  if (inst.wait.present()) {
    w.put<uint16_t>(inst.wait.sem);
    w.put<uint32_t>(inst.wait.value);
    w.putSteps(inst.wait.step);
  }
  if (inst.signal.present()) {
    w.put<uint16_t>(inst.signal.sem);
    w.put<uint16_t>(inst.signal.increment);
  }
  if (inst.loc != kNoLoc)
    w.put<uint32_t>(inst.loc);
  for (const FieldSpec &f : inst.info().fields) {
    switch (f.kind) {
    case FieldKind::Ap:
      encodeAp(w, inst.ap[f.slot]);
      break;
    case FieldKind::OptAp:
      w.put<uint8_t>(inst.ap[f.slot].present() ? 1 : 0);
      if (inst.ap[f.slot].present())
        encodeAp(w, inst.ap[f.slot]);
      break;
    case FieldKind::Bool:
      w.put<uint8_t>(inst.flag(f.slot) ? 1 : 0);
      break;
    case FieldKind::Alu:
    case FieldKind::Act:
    case FieldKind::Choice:
      w.put<uint8_t>(inst.enums[f.slot]);
      break;
    case FieldKind::F32:
      w.put<float>(inst.f32[f.slot]);
      break;
    case FieldKind::I32:
      w.put<int32_t>(inst.i32[f.slot]);
      break;
    }
  }
}

Instruction decodeInstruction(Reader &r) {
  size_t at = r.pos();
  uint8_t raw = r.get<uint8_t>();
  if (!isValidOpcode(raw))
    r.bad(at, "unknown opcode " + std::to_string(raw));
  Instruction inst = makeInstruction(static_cast<Opcode>(raw));
  at = r.pos();
  uint8_t presence = r.get<uint8_t>();
  if (presence & ~(kHasWait | kHasSignal | kHasLoc))
    r.bad(at, "invalid instruction presence bits");
  if (presence & kHasWait) {
    at = r.pos();
    inst.wait.sem = r.get<uint16_t>();
    if (inst.wait.sem == kNoSemaphore)
      r.bad(at, "reserved semaphore id 65535");
    inst.wait.value = r.get<uint32_t>();
    inst.wait.step = r.getSteps();
  }
  if (presence & kHasSignal) {
    at = r.pos();
    inst.signal.sem = r.get<uint16_t>();
    if (inst.signal.sem == kNoSemaphore)
      r.bad(at, "reserved semaphore id 65535");
    inst.signal.increment = r.get<uint16_t>();
  }
  if (presence & kHasLoc) {
    at = r.pos();
    inst.loc = r.get<uint32_t>();
    if (inst.loc == kNoLoc)
      r.bad(at, "reserved location id");
  }
  for (const FieldSpec &f : inst.info().fields) {
    at = r.pos();
    switch (f.kind) {
    case FieldKind::Ap:
      inst.ap[f.slot] = decodeAp(r);
      break;
    case FieldKind::OptAp: {
      uint8_t has = r.get<uint8_t>();
      if (has > 1)
        r.bad(at, std::string("invalid presence byte of operand '") + f.name + "'");
      if (has)
        inst.ap[f.slot] = decodeAp(r);
      break;
    }
    case FieldKind::Bool: {
      uint8_t v = r.get<uint8_t>();
      if (v > 1)
        r.bad(at, std::string("invalid flag '") + f.name + "'");
      inst.setFlag(f.slot, v);
      break;
    }
    case FieldKind::Alu:
    case FieldKind::Act:
    case FieldKind::Choice: {
      uint8_t v = r.get<uint8_t>();
      int limit = f.kind == FieldKind::Alu   ? kNumAluOps
                  : f.kind == FieldKind::Act ? kNumActFuncs
                                             : choiceCount(f.choices);
      if (v >= limit)
        r.bad(at, std::string("invalid value ") + std::to_string(v) + " of '" + f.name + "'");
      inst.enums[f.slot] = v;
      break;
    }
    case FieldKind::F32:
      inst.f32[f.slot] = r.get<float>();
      break;
    case FieldKind::I32:
      inst.i32[f.slot] = r.get<int32_t>();
      break;
    }
  }
  return inst;
}

void encodeMeta(Writer &w, const Program &p) {
  w.putString(p.target);
  w.put<uint16_t>(p.numCores);
}

void encodeTensors(Writer &w, const Program &p) {
  w.put<uint32_t>(static_cast<uint32_t>(p.tensors.size()));
  for (const TensorInfo &t : p.tensors) {
    w.putString(t.name);
    w.put<uint8_t>(static_cast<uint8_t>(t.role));
    w.put<uint8_t>(static_cast<uint8_t>(t.dtype));
    w.put<uint8_t>(static_cast<uint8_t>(t.shape.size()));
    for (int64_t d : t.shape)
      w.put<int64_t>(d);
    w.put<uint64_t>(t.hbmOffset);
    w.put<uint64_t>(t.sizeBytes);
    w.put<uint64_t>(t.data.size());
    w.bytes.insert(w.bytes.end(), t.data.begin(), t.data.end());
  }
}

void encodeLocs(Writer &w, const Program &p) {
  w.put<uint32_t>(static_cast<uint32_t>(p.locs.size()));
  for (const SourceLoc &l : p.locs) {
    w.putString(l.file);
    w.put<uint32_t>(l.line);
    w.put<uint32_t>(l.column);
    w.putString(l.op);
  }
}

void encodeStreams(Writer &w, const Program &p) {
  w.put<uint32_t>(static_cast<uint32_t>(p.streams.size()));
  for (const Stream &s : p.streams) {
    w.put<uint16_t>(s.core);
    w.put<uint8_t>(s.engine.code());
    w.put<uint32_t>(static_cast<uint32_t>(s.code.size()));
    for (const Instruction &inst : s.code)
      encodeInstruction(w, inst);
  }
}

// Ranks section (1.1): rank count, replica-group sets, per-rank tensor data.
void encodeRanks(Writer &w, const Program &p) {
  w.put<uint16_t>(p.numRanks);
  w.put<uint32_t>(static_cast<uint32_t>(p.replicaGroups.size()));
  for (const ReplicaGroupSet &set : p.replicaGroups) {
    w.put<uint32_t>(static_cast<uint32_t>(set.groups.size()));
    for (const std::vector<uint16_t> &g : set.groups) {
      w.put<uint32_t>(static_cast<uint32_t>(g.size()));
      for (uint16_t rank : g)
        w.put<uint16_t>(rank);
    }
  }
  w.put<uint32_t>(static_cast<uint32_t>(p.rankData.size()));
  for (const RankData &d : p.rankData) {
    w.put<uint32_t>(d.tensor);
    w.put<uint16_t>(d.rank);
    w.put<uint64_t>(d.data.size());
    w.bytes.insert(w.bytes.end(), d.data.begin(), d.data.end());
  }
}

void decodeRanks(Reader &r, Program &p) {
  const size_t sectionAt = r.pos();
  size_t at = sectionAt;
  p.numRanks = r.get<uint16_t>();
  if (p.numRanks == 0)
    r.bad(at, "program has zero ranks");
  p.replicaGroups.resize(r.getCount(4, "replica-group set"));
  for (ReplicaGroupSet &set : p.replicaGroups) {
    set.groups.resize(r.getCount(4, "replica group"));
    for (std::vector<uint16_t> &g : set.groups) {
      g.resize(r.getCount(2, "group member"));
      for (uint16_t &rank : g)
        rank = r.get<uint16_t>();
    }
  }
  p.rankData.resize(r.getCount(14, "rank data"));
  for (RankData &d : p.rankData) {
    d.tensor = r.get<uint32_t>();
    d.rank = r.get<uint16_t>();
    at = r.pos();
    uint64_t n = r.get<uint64_t>();
    if (n > r.remaining())
      r.bad(at, "rank data of " + std::to_string(n) + " bytes exceeds the section");
    const uint8_t *b = r.getBytes(n, "rank data");
    d.data.assign(b, b + n);
  }
  if (!p.isMultiRank())
    r.bad(sectionAt, "a ranks section for a single-rank program is not canonical (write container 1.0)");
}

void decodeMeta(Reader &r, Program &p) {
  p.target = r.getString("target name");
  size_t at = r.pos();
  p.numCores = r.get<uint16_t>();
  if (p.numCores == 0)
    r.bad(at, "program has zero cores");
  if (p.numCores > FormatLimits::kMaxCores)
    r.bad(at, "program has " + std::to_string(p.numCores) + " cores (at most " +
                  std::to_string(FormatLimits::kMaxCores) + ")");
}

void decodeTensors(Reader &r, Program &p) {
  // Smallest tensor: empty name (4), role, dtype, rank (3), offset, size and
  // data length (24) = 31 bytes.
  uint32_t n = r.getCount(31, "tensor");
  p.tensors.resize(n);
  // Names are unique, as the assembler requires: a listing that names one
  // tensor twice would not re-assemble.
  std::unordered_set<std::string> names;
  for (TensorInfo &t : p.tensors) {
    size_t nameAt = r.pos();
    t.name = r.getString("tensor name");
    if (!names.insert(t.name).second)
      r.bad(nameAt, "tensor name '" + t.name + "' is used twice");
    size_t at = r.pos();
    uint8_t role = r.get<uint8_t>();
    if (role > 3)
      r.bad(at, "invalid tensor role " + std::to_string(role));
    t.role = static_cast<TensorRole>(role);
    at = r.pos();
    uint8_t dt = r.get<uint8_t>();
    if (!isValidDType(dt))
      r.bad(at, "invalid tensor dtype " + std::to_string(dt));
    t.dtype = static_cast<DType>(dt);
    at = r.pos();
    uint8_t rank = r.get<uint8_t>();
    if (rank > FormatLimits::kMaxTensorRank)
      r.bad(at, "tensor rank " + std::to_string(rank) + " exceeds 8");
    const size_t shapeAt = r.pos();
    for (uint8_t i = 0; i < rank; ++i) {
      at = r.pos();
      int64_t d = r.get<int64_t>();
      if (d < 0 || d > FormatLimits::kMaxTensorDim)
        r.bad(at, "invalid tensor dimension " + std::to_string(d));
      t.shape.push_back(d);
    }
    // naturalSize() saturates: an overflowing shape reads as UINT64_MAX.
    if (t.naturalSize() > FormatLimits::kMaxTensorBytes)
      r.bad(shapeAt, "tensor '" + t.name + "' needs " +
                         (t.naturalSize() == UINT64_MAX ? std::string("more than 2^64")
                                                        : std::to_string(t.naturalSize())) +
                         " bytes for its shape; a tensor has at most 2^50");
    at = r.pos();
    t.hbmOffset = r.get<uint64_t>();
    if (t.hbmOffset > FormatLimits::kMaxHbmOffset)
      r.bad(at, "tensor HBM offset " + std::to_string(t.hbmOffset) + " is beyond the 2^50-byte address space");
    at = r.pos();
    t.sizeBytes = r.get<uint64_t>();
    if (t.sizeBytes > FormatLimits::kMaxTensorBytes)
      r.bad(at, "tensor size " + std::to_string(t.sizeBytes) + " exceeds 2^50 bytes");
    at = r.pos();
    uint64_t dataBytes = r.get<uint64_t>();
    if (dataBytes > r.remaining())
      r.bad(at, "tensor data of " + std::to_string(dataBytes) + " bytes exceeds the file");
    const uint8_t *d = r.getBytes(dataBytes, "tensor data");
    t.data.assign(d, d + dataBytes);
  }
}

void decodeLocs(Reader &r, Program &p) {
  uint32_t n = r.getCount(16, "location");
  p.locs.resize(n);
  for (SourceLoc &l : p.locs) {
    l.file = r.getString("location file");
    l.line = r.get<uint32_t>();
    l.column = r.get<uint32_t>();
    l.op = r.getString("location op");
  }
}

void decodeStreams(Reader &r, Program &p) {
  uint32_t n = r.getCount(7, "stream");
  p.streams.resize(n);
  for (Stream &s : p.streams) {
    size_t at = r.pos();
    s.core = r.get<uint16_t>();
    if (s.core >= p.numCores)
      r.bad(at, "stream core " + std::to_string(s.core) + " >= program cores " +
                    std::to_string(p.numCores));
    at = r.pos();
    auto engine = EngineId::fromCode(r.get<uint8_t>());
    if (!engine)
      r.bad(at, "invalid engine code");
    s.engine = *engine;
    uint32_t count = r.getCount(2, "instruction");
    s.code.reserve(count);
    for (uint32_t i = 0; i < count; ++i)
      s.code.push_back(decodeInstruction(r));
  }
  for (size_t i = 0; i < p.streams.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (p.streams[i].core == p.streams[j].core && p.streams[i].engine == p.streams[j].engine)
        fail("duplicate stream for core ", p.streams[i].core, " ", p.streams[i].engine.name());
}

} // namespace

uint32_t crc32(const uint8_t *data, size_t size) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < size; ++i)
    c = table[(c ^ data[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

std::vector<uint8_t> encodeProgram(const Program &program) {
  Writer body;
  auto section = [&](uint32_t kind, void (*fn)(Writer &, const Program &)) {
    Writer s;
    fn(s, program);
    body.put<uint32_t>(kind);
    body.put<uint64_t>(s.bytes.size());
    body.bytes.insert(body.bytes.end(), s.bytes.begin(), s.bytes.end());
  };
  section(kMeta, encodeMeta);
  section(kTensors, encodeTensors);
  section(kLocs, encodeLocs);
  section(kStreams, encodeStreams);
  // Single-rank programs stay in the 1.0 layout, so older readers read them.
  const bool ranks = program.isMultiRank();
  if (ranks)
    section(kRanks, encodeRanks);

  Writer out;
  out.bytes.insert(out.bytes.end(), kMagic, kMagic + 8);
  out.put<uint16_t>(Program::kVersionMajor);
  out.put<uint16_t>(program.containerMinorVersion());
  out.put<uint32_t>(ranks ? 5 : 4);
  out.put<uint32_t>(crc32(body.bytes.data(), body.bytes.size()));
  out.put<uint32_t>(0);
  out.bytes.insert(out.bytes.end(), body.bytes.begin(), body.bytes.end());
  return out.bytes;
}

Program decodeProgram(const uint8_t *data, size_t size, const DecodeOptions &options) {
  if (size < kHeaderBytes)
    fail("file is ", size, " bytes, shorter than the ", kHeaderBytes, "-byte header");
  if (std::memcmp(data, kMagic, 8) != 0)
    fail("not a trnx program (bad magic)");
  Reader header(data + 8, kHeaderBytes - 8, 8);
  uint16_t major = header.get<uint16_t>();
  uint16_t minor = header.get<uint16_t>();
  if (major != Program::kVersionMajor || minor > Program::kVersionMinor)
    fail("container version ", major, ".", minor, " is not supported (this build reads ",
         Program::kVersionMajor, ".0 to ", Program::kVersionMajor, ".", Program::kVersionMinor,
         ")");
  uint32_t sectionCount = header.get<uint32_t>();
  uint32_t checksum = header.get<uint32_t>();
  uint32_t reserved = header.get<uint32_t>();
  if (reserved != 0)
    fail("offset 20: reserved header field is not zero");
  if (options.verifyChecksum && crc32(data + kHeaderBytes, size - kHeaderBytes) != checksum)
    fail("checksum mismatch: the file is corrupted");

  Program p;
  p.numCores = 0;
  Reader r(data + kHeaderBytes, size - kHeaderBytes, kHeaderBytes);
  const SectionKind order[] = {kMeta, kTensors, kLocs, kStreams, kRanks};
  // 1.0 has the first four sections; 1.1 adds the ranks section, written only
  // for multi-rank programs.
  if (sectionCount != (minor >= 1 ? 5u : 4u))
    fail("offset 12: container ", major, ".", minor, " has ", minor >= 1 ? 5 : 4, " sections, found ",
         sectionCount);
  for (uint32_t k = 0; k < sectionCount; ++k) {
    const SectionKind expected = order[k];
    size_t at = r.pos();
    uint32_t kind = r.get<uint32_t>();
    if (kind != expected)
      r.bad(at, "expected section " + std::to_string(expected) + ", found " +
                    std::to_string(kind));
    at = r.pos();
    uint64_t length = r.get<uint64_t>();
    if (length > r.remaining())
      r.bad(at, "section length " + std::to_string(length) + " exceeds the file");
    size_t start = r.pos();
    Reader s(r.getBytes(length, "section"), length, start);
    switch (expected) {
    case kMeta: decodeMeta(s, p); break;
    case kTensors: decodeTensors(s, p); break;
    case kLocs: decodeLocs(s, p); break;
    case kStreams: decodeStreams(s, p); break;
    case kRanks: decodeRanks(s, p); break;
    }
    if (!s.done())
      fail("offset ", s.pos(), ": ", s.remaining(), " unexpected bytes at the end of section ",
           expected);
  }
  if (!r.done())
    fail("offset ", r.pos(), ": trailing bytes after the last section");
  return p;
}

std::vector<uint8_t> readFileBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail(path, ": cannot open file");
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size < 0)
    fail(path, ": cannot read file");
  in.seekg(0);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (size && !in.read(reinterpret_cast<char *>(bytes.data()), size))
    fail(path, ": cannot read file");
  return bytes;
}

void writeFileBytes(const std::string &path, const std::vector<uint8_t> &bytes) {
  writeFileAtomically(path, std::string_view(reinterpret_cast<const char *>(bytes.data()), bytes.size()));
}

Program readProgramFile(const std::string &path, const DecodeOptions &options) {
  std::vector<uint8_t> bytes = readFileBytes(path);
  try {
    return decodeProgram(bytes.data(), bytes.size(), options);
  } catch (const Error &e) {
    fail(path, ": ", e.what());
  }
}

void writeProgramFile(const std::string &path, const Program &program) {
  writeFileBytes(path, encodeProgram(program));
}

} // namespace trnx
