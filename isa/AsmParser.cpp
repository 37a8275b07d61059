// trnx assembly parser: a line-oriented recursive-descent reader. Directives
// (.target, .cores, .tensor, .data, .loc, .stream, and for multi-rank
// programs .ranks, .replica_group, .rank_data) set up the program;
// other lines are instructions whose `key=value` fields follow the
// instruction table.
#include "isa/AsmParser.h"

#include "isa/Error.h"
#include "isa/FormatLimits.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

namespace trnx {
namespace {

class LineParser {
public:
  LineParser(std::string_view line, const std::string &file, int lineNo)
      : s_(line), file_(file), line_(lineNo) {}

  [[noreturn]] void error(const std::string &msg) const { errorAt(pos_, msg); }
  [[noreturn]] void errorAt(size_t col, const std::string &msg) const {
    fail(file_, ":", line_, ":", col + 1, ": ", msg);
  }

  size_t pos() const { return pos_; }
  void skipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool atEnd() {
    skipSpace();
    return pos_ >= s_.size() || s_[pos_] == ';' || s_[pos_] == '#';
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool accept(char c) {
    if (peek() == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c, const char *what) {
    if (!accept(c))
      error(std::string("expected '") + c + "' " + what);
  }

  std::string_view ident() {
    size_t start = pos_;
    while (pos_ < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' || s_[pos_] == '.'))
      ++pos_;
    if (start == pos_)
      error("expected a name");
    return s_.substr(start, pos_ - start);
  }

  // A bare identifier or a quoted string.
  std::string name() {
    if (peek() == '"')
      return quoted();
    return std::string(ident());
  }

  std::string quoted() {
    expect('"', "to open a string");
    std::string out;
    while (true) {
      if (pos_ >= s_.size())
        error("unterminated string");
      char c = s_[pos_++];
      if (c == '"')
        return out;
      if (c == '\\') {
        char e = peek();
        if (e == '"' || e == '\\') {
          out += e;
          ++pos_;
        } else if (e == 'x' && pos_ + 2 < s_.size() + 0 && std::isxdigit(static_cast<unsigned char>(s_[pos_ + 1])) &&
                   std::isxdigit(static_cast<unsigned char>(s_[pos_ + 2]))) {
          out += static_cast<char>(std::stoi(std::string(s_.substr(pos_ + 1, 2)), nullptr, 16));
          pos_ += 3;
        } else {
          error("invalid escape in string");
        }
      } else {
        out += c;
      }
    }
  }

  // Signed integer, decimal or 0x hex, range-checked.
  int64_t integer(int64_t lo, int64_t hi, const char *what) {
    size_t start = pos_;
    bool neg = accept('-');
    if (!neg)
      accept('+');
    size_t digitsAt = pos_;
    int base = 10;
    if (peek() == '0' && pos_ + 1 < s_.size() && (s_[pos_ + 1] == 'x' || s_[pos_ + 1] == 'X')) {
      base = 16;
      pos_ += 2;
      digitsAt = pos_;
    }
    while (pos_ < s_.size() && (base == 16 ? std::isxdigit(static_cast<unsigned char>(s_[pos_]))
                                           : std::isdigit(static_cast<unsigned char>(s_[pos_]))))
      ++pos_;
    if (digitsAt == pos_)
      errorAt(start, std::string("expected an integer for ") + what);
    std::string digits(s_.substr(digitsAt, pos_ - digitsAt));
    errno = 0;
    unsigned long long mag = std::strtoull(digits.c_str(), nullptr, base);
    if (errno == ERANGE || mag > (1ull << 63))
      errorAt(start, std::string(what) + " is out of range");
    long double v = neg ? -static_cast<long double>(mag) : static_cast<long double>(mag);
    if (v < lo || v > hi)
      errorAt(start, std::string(what) + " " + std::string(s_.substr(start, pos_ - start)) +
                         " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return neg ? -static_cast<int64_t>(mag) : static_cast<int64_t>(mag);
  }

  float floating() {
    size_t start = pos_;
    if (s_.substr(pos_, 6) == "f32:0x") {
      pos_ += 4;
      int64_t bits = integer(0, 0xffffffffll, "float bits");
      uint32_t b = static_cast<uint32_t>(bits);
      float f;
      std::memcpy(&f, &b, 4);
      return f;
    }
    while (pos_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[pos_])) && s_[pos_] != ';')
      ++pos_;
    std::string text(s_.substr(start, pos_ - start));
    if (text == "inf" || text == "+inf")
      return std::numeric_limits<float>::infinity();
    if (text == "-inf")
      return -std::numeric_limits<float>::infinity();
    if (text == "nan")
      return std::numeric_limits<float>::quiet_NaN();
    char *end = nullptr;
    errno = 0;
    float f = std::strtof(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() ||
        (text.find_first_of("xXnN") != std::string::npos))
      errorAt(start, "expected a number, found '" + text + "'");
    if (errno == ERANGE && std::isinf(f))
      errorAt(start, "number '" + text + "' overflows fp32");
    return f;
  }

  // "+int", "-int", "+int*iL" terms; returns the constant and fills steps.
  int64_t affineTerms(std::array<int32_t, kMaxLoopDepth> &steps, int64_t base, const char *what) {
    int64_t constant = base;
    while (peek() == '+' || peek() == '-') {
      size_t at = pos_;
      bool neg = peek() == '-';
      ++pos_;
      int64_t v = integer(0, FormatLimits::kMaxApOffset, what);
      if (accept('*')) {
        if (!accept('i'))
          error("expected a loop index i0..i3 after '*'");
        int64_t level = integer(0, kMaxLoopDepth - 1, "loop level");
        int64_t step = steps[level] + (neg ? -v : v);
        if (step < std::numeric_limits<int32_t>::min() || step > std::numeric_limits<int32_t>::max())
          errorAt(at, "loop step is out of the int32 range");
        steps[level] = static_cast<int32_t>(step);
      } else {
        constant += neg ? -v : v;
        // Terms are at most 2^62 each: bounding the sum keeps it in int64.
        if (constant > FormatLimits::kMaxApOffset || constant < -FormatLimits::kMaxApOffset)
          errorAt(at, std::string(what) + " is out of range");
      }
    }
    return constant;
  }

private:
  std::string_view s_;
  const std::string &file_;
  int line_;
  size_t pos_ = 0;
};

class AsmReader {
public:
  AsmReader(const std::string &file) : file_(file) { program_.numCores = 0; }

  void parseLine(std::string_view text, int lineNo) {
    LineParser p(text, file_, lineNo);
    if (p.atEnd())
      return;
    if (p.peek() == '.') {
      size_t at = p.pos();
      std::string_view directive = p.ident();
      directive.remove_prefix(1);
      if (directive == "target") {
        p.skipSpace();
        program_.target = p.name();
      } else if (directive == "cores") {
        p.skipSpace();
        program_.numCores = static_cast<uint16_t>(p.integer(1, FormatLimits::kMaxCores, "core count"));
      } else if (directive == "tensor") {
        parseTensor(p);
      } else if (directive == "data") {
        parseData(p);
      } else if (directive == "loc") {
        parseLoc(p);
      } else if (directive == "stream") {
        parseStream(p, at, lineNo);
      } else if (directive == "ranks") {
        p.skipSpace();
        program_.numRanks = static_cast<uint16_t>(p.integer(1, 65535, "rank count"));
      } else if (directive == "replica_group") {
        parseReplicaGroup(p);
      } else if (directive == "rank_data") {
        parseRankData(p);
      } else {
        p.errorAt(at, "unknown directive '." + std::string(directive) + "'");
      }
    } else {
      if (!stream_)
        p.error("instruction before any .stream directive");
      stream_->code.push_back(parseInstruction(p));
    }
    if (!p.atEnd())
      p.error("unexpected text at the end of the line");
  }

  Program finish() {
    if (program_.numCores == 0)
      program_.numCores = 1;
    for (size_t i = 0; i < program_.streams.size(); ++i)
      if (program_.streams[i].core >= program_.numCores)
        fail(file_, ":", streamCoreAt_[i].first, ":", streamCoreAt_[i].second, ": stream for core ",
             program_.streams[i].core, " but .cores is ", program_.numCores);
    return std::move(program_);
  }

private:
  void parseTensor(LineParser &p) {
    TensorInfo t;
    p.skipSpace();
    size_t at = p.pos();
    t.name = p.name();
    if (program_.findTensor(t.name) >= 0)
      p.errorAt(at, "tensor '" + t.name + "' is already defined");
    p.skipSpace();
    at = p.pos();
    auto role = parseTensorRole(p.ident());
    if (!role)
      p.errorAt(at, "expected a tensor role (input, output, weight, scratch)");
    t.role = *role;
    p.skipSpace();
    t.dtype = parseDTypeAt(p);
    p.skipSpace();
    const size_t shapeAt = p.pos();
    p.expect('[', "to open the tensor shape");
    while (!p.accept(']')) {
      if (!t.shape.empty())
        p.expect(',', "between dimensions");
      t.shape.push_back(p.integer(0, FormatLimits::kMaxTensorDim, "dimension"));
      if (t.shape.size() > FormatLimits::kMaxTensorRank)
        p.error("tensor rank exceeds 8");
    }
    // naturalSize() saturates, so a byte count that overflows 64 bits fails here too.
    t.sizeBytes = t.naturalSize();
    if (t.sizeBytes > FormatLimits::kMaxTensorBytes)
      p.errorAt(shapeAt, "tensor '" + t.name + "' needs " +
                             (t.sizeBytes == UINT64_MAX ? std::string("more than 2^64")
                                                        : std::to_string(t.sizeBytes)) +
                             " bytes for its shape; a tensor has at most 2^50 (1 PiB)");
    bool haveOffset = false;
    while (!p.atEnd()) {
      at = p.pos();
      std::string_view key = p.ident();
      p.expect('=', "after the key");
      if (key == "hbm") {
        t.hbmOffset = static_cast<uint64_t>(p.integer(0, static_cast<int64_t>(FormatLimits::kMaxHbmOffset), "hbm offset"));
        haveOffset = true;
      } else if (key == "size") {
        t.sizeBytes = static_cast<uint64_t>(p.integer(0, static_cast<int64_t>(FormatLimits::kMaxTensorBytes), "size"));
      } else {
        p.errorAt(at, "unknown tensor key '" + std::string(key) + "' (hbm, size)");
      }
    }
    if (!haveOffset) {
      // Tensors are at most 2^50 bytes at offsets of at most 2^50: no overflow.
      t.hbmOffset = (program_.hbmExtent() + 63) / 64 * 64;
      if (t.hbmOffset > FormatLimits::kMaxHbmOffset)
        p.errorAt(shapeAt, "tensor '" + t.name + "' would start at HBM offset " + std::to_string(t.hbmOffset) +
                               ", beyond the 2^50-byte address space");
    }
    program_.tensors.push_back(std::move(t));
  }

  void parseData(LineParser &p) {
    p.skipSpace();
    size_t at = p.pos();
    std::string name = p.name();
    int index = program_.findTensor(name);
    if (index < 0)
      p.errorAt(at, "unknown tensor '" + name + "'");
    p.skipSpace();
    parseHex(p, program_.tensors[index].data);
  }

  // .replica_group ID [r,r,...] [r,...] ...: set ID (numbered 0, 1, ... in order).
  void parseReplicaGroup(LineParser &p) {
    p.skipSpace();
    size_t at = p.pos();
    int64_t id = p.integer(0, std::numeric_limits<int32_t>::max(), "replica-group set id");
    if (static_cast<size_t>(id) != program_.replicaGroups.size())
      p.errorAt(at, "replica-group set ids must be numbered 0, 1, 2, ... in order; expected " +
                        std::to_string(program_.replicaGroups.size()));
    ReplicaGroupSet set;
    while (!p.atEnd()) {
      p.expect('[', "to open a replica group");
      std::vector<uint16_t> group;
      while (!p.accept(']')) {
        if (!group.empty())
          p.expect(',', "between ranks");
        group.push_back(static_cast<uint16_t>(p.integer(0, 65535, "rank")));
      }
      set.groups.push_back(std::move(group));
    }
    if (set.groups.empty())
      p.error(".replica_group needs at least one [rank,...] group");
    program_.replicaGroups.push_back(std::move(set));
  }

  // .rank_data TENSOR RANK HEX: bytes of TENSOR on rank RANK (lines append).
  void parseRankData(LineParser &p) {
    p.skipSpace();
    size_t at = p.pos();
    int64_t index;
    if (p.accept('#')) {
      index = p.integer(0, std::numeric_limits<uint32_t>::max(), "tensor index");
    } else {
      std::string name = p.name();
      index = program_.findTensor(name);
      if (index < 0)
        p.errorAt(at, "unknown tensor '" + name + "'");
    }
    p.skipSpace();
    uint16_t rank = static_cast<uint16_t>(p.integer(0, 65535, "rank"));
    RankData *entry = nullptr;
    for (RankData &d : program_.rankData)
      if (d.tensor == static_cast<uint32_t>(index) && d.rank == rank)
        entry = &d;
    if (!entry) {
      program_.rankData.push_back(RankData{static_cast<uint32_t>(index), rank, {}});
      entry = &program_.rankData.back();
    }
    p.skipSpace();
    parseHex(p, entry->data);
  }

  void parseHex(LineParser &p, std::vector<uint8_t> &data) {
    while (std::isxdigit(static_cast<unsigned char>(p.peek()))) {
      auto nibble = [&]() {
        char c = p.peek();
        if (!std::isxdigit(static_cast<unsigned char>(c)))
          p.error("expected an even number of hex digits");
        p.accept(c);
        return static_cast<uint8_t>(std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                                                                                 : (std::tolower(c) - 'a' + 10));
      };
      uint8_t hi = nibble();
      uint8_t lo = nibble();
      data.push_back(static_cast<uint8_t>(hi << 4 | lo));
    }
  }

  void parseLoc(LineParser &p) {
    p.skipSpace();
    size_t at = p.pos();
    int64_t id = p.integer(0, std::numeric_limits<uint32_t>::max() - 1, "location id");
    if (static_cast<size_t>(id) != program_.locs.size())
      p.errorAt(at, "location ids must be numbered 0, 1, 2, ... in order; expected " +
                        std::to_string(program_.locs.size()));
    SourceLoc l;
    p.skipSpace();
    l.file = p.quoted();
    p.skipSpace();
    l.line = static_cast<uint32_t>(p.integer(0, std::numeric_limits<uint32_t>::max(), "line"));
    p.skipSpace();
    l.column = static_cast<uint32_t>(p.integer(0, std::numeric_limits<uint32_t>::max(), "column"));
    p.skipSpace();
    l.op = p.quoted();
    program_.locs.push_back(std::move(l));
  }

  void parseStream(LineParser &p, size_t directiveAt, int lineNo) {
    int64_t core = -1;
    size_t coreAt = directiveAt;
    std::optional<EngineId> engine;
    while (!p.atEnd()) {
      size_t at = p.pos();
      std::string_view key = p.ident();
      p.expect('=', "after the key");
      if (key == "core") {
        coreAt = p.pos();
        core = p.integer(0, FormatLimits::kMaxCores - 1, "core");
      } else if (key == "engine") {
        size_t eat = p.pos();
        std::string_view name = p.ident();
        engine = EngineId::parse(name);
        if (!engine)
          p.errorAt(eat, "unknown engine '" + std::string(name) + "' (pe, act, dve, pool, sp, q0..q63)");
      } else {
        p.errorAt(at, "unknown stream key '" + std::string(key) + "' (core, engine)");
      }
    }
    if (core < 0 || !engine)
      p.error(".stream needs core= and engine=");
    for (const Stream &s : program_.streams)
      if (s.core == core && s.engine == *engine)
        p.errorAt(directiveAt, "stream core=" + std::to_string(core) + " engine=" + engine->name() +
                                   " is already defined");
    program_.streams.push_back(Stream{static_cast<uint16_t>(core), *engine, {}});
    streamCoreAt_.emplace_back(lineNo, coreAt + 1);
    stream_ = &program_.streams.back();
  }

  DType parseDTypeAt(LineParser &p) {
    size_t at = p.pos();
    std::string_view name = p.ident();
    auto dt = parseDType(name);
    if (!dt)
      p.errorAt(at, "unknown dtype '" + std::string(name) + "'");
    return *dt;
  }

  AccessPattern parseAp(LineParser &p) {
    AccessPattern a;
    size_t at = p.pos();
    std::string_view space = p.ident();
    if (space == "sbuf")
      a.space = MemSpace::SBUF;
    else if (space == "psum")
      a.space = MemSpace::PSUM;
    else if (space == "hbm")
      a.space = MemSpace::HBM;
    else
      p.errorAt(at, "unknown memory space '" + std::string(space) + "' (sbuf, psum, hbm)");
    p.expect('[', "after the memory space");
    if (a.space == MemSpace::HBM) {
      at = p.pos();
      if (p.accept('#')) {
        a.tensor = static_cast<uint32_t>(p.integer(0, std::numeric_limits<uint32_t>::max(), "tensor index"));
      } else {
        std::string name = p.name();
        int index = program_.findTensor(name);
        if (index < 0)
          p.errorAt(at, "unknown tensor '" + name + "'");
        a.tensor = static_cast<uint32_t>(index);
      }
    } else {
      int64_t start = p.integer(0, FormatLimits::kMaxPartitionEnd, "partition start");
      p.expect(':', "between partition start and end");
      at = p.pos();
      int64_t end = p.integer(0, FormatLimits::kMaxPartitionEnd, "partition end");
      if (end < start)
        p.errorAt(at, "partition end is before its start");
      a.partitionStart = static_cast<uint16_t>(start);
      a.partitionCount = static_cast<uint16_t>(end - start);
    }
    p.expect(']', "to close the partition range");
    a.offset = p.affineTerms(a.offsetStep, 0, "offset");
    p.expect(':', "before the operand dtype");
    a.dtype = parseDTypeAt(p);
    p.expect('[', "to open the [stride,count] list");
    std::vector<std::pair<int64_t, int64_t>> pairs;
    while (!p.accept(']')) {
      if (!pairs.empty())
        p.expect(',', "between [stride,count] pairs");
      p.expect('[', "to open a [stride,count] pair");
      int64_t stride = p.integer(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), "stride");
      p.expect(',', "between stride and count");
      int64_t count = p.integer(0, std::numeric_limits<uint32_t>::max(), "count");
      p.expect(']', "to close the pair");
      pairs.emplace_back(stride, count);
    }
    size_t first = 0;
    if (a.space == MemSpace::HBM) {
      if (pairs.empty())
        p.error("an hbm operand needs a [row_stride,rows] pair first");
      if (pairs[0].second > 65535)
        p.error("hbm row count exceeds 65535");
      a.partitionStride = static_cast<int32_t>(pairs[0].first);
      a.partitionCount = static_cast<uint16_t>(pairs[0].second);
      first = 1;
    }
    if (pairs.size() - first > kMaxFreeDims)
      p.error("more than 4 free dims");
    for (size_t i = first; i < pairs.size(); ++i)
      a.dims[a.numDims++] = Dim{static_cast<int32_t>(pairs[i].first), static_cast<uint32_t>(pairs[i].second)};
    return a;
  }

  Instruction parseInstruction(LineParser &p) {
    size_t at = p.pos();
    std::string_view mnemonic = p.ident();
    auto op = parseMnemonic(mnemonic);
    if (!op)
      p.errorAt(at, "unknown instruction '" + std::string(mnemonic) + "'");
    Instruction inst = makeInstruction(*op);
    const OpcodeInfo &info = inst.info();
    std::vector<bool> seen(info.fields.size(), false);
    bool seenWait = false, seenSignal = false, seenLoc = false;
    while (!p.atEnd()) {
      at = p.pos();
      std::string_view key = p.ident();
      p.expect('=', "after the field name");
      auto once = [&](bool &flagSeen) {
        if (flagSeen)
          p.errorAt(at, "field '" + std::string(key) + "' given twice");
        flagSeen = true;
      };
      if (key == "wait") {
        once(seenWait);
        p.expect('s', "to name a semaphore (s0, s1, ...)");
        inst.wait.sem = static_cast<uint16_t>(p.integer(0, kNoSemaphore - 1, "semaphore"));
        p.expect('>', "in 'sN>=value'");
        p.expect('=', "in 'sN>=value'");
        int64_t v = p.integer(0, std::numeric_limits<uint32_t>::max(), "wait value");
        int64_t total = p.affineTerms(inst.wait.step, v, "wait value");
        if (total < 0 || total > std::numeric_limits<uint32_t>::max())
          p.errorAt(at, "wait value is out of range");
        inst.wait.value = static_cast<uint32_t>(total);
        continue;
      }
      if (key == "signal") {
        once(seenSignal);
        p.expect('s', "to name a semaphore (s0, s1, ...)");
        inst.signal.sem = static_cast<uint16_t>(p.integer(0, kNoSemaphore - 1, "semaphore"));
        p.expect('+', "in 'sN+increment'");
        inst.signal.increment = static_cast<uint16_t>(p.integer(0, 65535, "increment"));
        continue;
      }
      if (key == "loc") {
        once(seenLoc);
        inst.loc = static_cast<uint32_t>(p.integer(0, kNoLoc - 1, "location id"));
        continue;
      }
      const FieldSpec *f = findField(info, key);
      if (!f) {
        std::string names;
        for (const FieldSpec &g : info.fields)
          names += std::string(names.empty() ? "" : ", ") + g.name;
        p.errorAt(at, "'" + std::string(info.mnemonic) + "' has no field '" + std::string(key) +
                          "'" + (names.empty() ? "" : " (fields: " + names + ")"));
      }
      size_t index = static_cast<size_t>(f - info.fields.data());
      if (seen[index])
        p.errorAt(at, "field '" + std::string(key) + "' given twice");
      seen[index] = true;
      parseField(p, *f, inst);
    }
    for (size_t i = 0; i < info.fields.size(); ++i) {
      const FieldSpec &f = info.fields[i];
      bool requiredHere = f.kind == FieldKind::Ap || (f.required && f.kind != FieldKind::OptAp);
      if (requiredHere && !seen[i])
        p.error("'" + std::string(info.mnemonic) + "' needs field '" + f.name + "'");
    }
    return inst;
  }

  void parseField(LineParser &p, const FieldSpec &f, Instruction &inst) {
    size_t at = p.pos();
    switch (f.kind) {
    case FieldKind::Ap:
    case FieldKind::OptAp:
      inst.ap[f.slot] = parseAp(p);
      break;
    case FieldKind::Bool:
      inst.setFlag(f.slot, p.integer(0, 1, f.name) != 0);
      break;
    case FieldKind::Alu: {
      std::string_view name = p.ident();
      auto v = parseAluOp(name);
      if (!v)
        p.errorAt(at, "unknown operator '" + std::string(name) + "'");
      inst.enums[f.slot] = static_cast<uint8_t>(*v);
      break;
    }
    case FieldKind::Act: {
      std::string_view name = p.ident();
      auto v = parseActFunc(name);
      if (!v)
        p.errorAt(at, "unknown activation function '" + std::string(name) + "'");
      inst.enums[f.slot] = static_cast<uint8_t>(*v);
      break;
    }
    case FieldKind::Choice: {
      std::string_view name = p.ident();
      auto v = parseChoice(f.choices, name);
      if (!v)
        p.errorAt(at, "'" + std::string(name) + "' is not one of " + f.choices);
      inst.enums[f.slot] = static_cast<uint8_t>(*v);
      break;
    }
    case FieldKind::F32:
      inst.f32[f.slot] = p.floating();
      break;
    case FieldKind::I32:
      inst.i32[f.slot] = static_cast<int32_t>(
          p.integer(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), f.name));
      break;
    }
  }

  const std::string &file_;
  Program program_;
  Stream *stream_ = nullptr;
  std::vector<std::pair<int, size_t>> streamCoreAt_; // line and column of each stream's core=
};

} // namespace

Program parseAssembly(std::string_view text, const std::string &fileName) {
  AsmReader reader(fileName);
  int lineNo = 1;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos)
      end = text.size();
    reader.parseLine(text.substr(start, end - start), lineNo++);
    start = end + 1;
  }
  return reader.finish();
}

Program parseAssemblyFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail(path, ": cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parseAssembly(ss.str(), path);
}

} // namespace trnx
