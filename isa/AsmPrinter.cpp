// trnx assembly printer, driven by the instruction table's field lists.
#include "isa/AsmPrinter.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace trnx {
namespace {

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string quote(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void printSteps(std::ostream &os, const std::array<int32_t, kMaxLoopDepth> &steps) {
  for (int l = 0; l < kMaxLoopDepth; ++l) {
    if (!steps[l])
      continue;
    os << (steps[l] < 0 ? "-" : "+") << std::llabs(static_cast<long long>(steps[l])) << "*i" << l;
  }
}

} // namespace

std::string formatName(const std::string &name) {
  bool ident = !name.empty() && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (unsigned char c : name)
    ident = ident && (std::isalnum(c) || c == '_' || c == '.');
  return ident ? name : quote(name);
}

std::string formatFloat(float value) {
  if (std::isinf(value))
    return value < 0 ? "-inf" : "inf";
  if (!std::isnan(value)) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(value));
    float back = std::strtof(buf, nullptr);
    if (std::memcmp(&back, &value, 4) == 0)
      return buf;
  }
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  char buf[24];
  std::snprintf(buf, sizeof buf, "f32:0x%08x", bits);
  return buf;
}

std::string printAccessPattern(const Program &program, const AccessPattern &a) {
  std::ostringstream os;
  os << spaceName(a.space) << "[";
  if (a.space == MemSpace::HBM) {
    if (a.tensor < program.tensors.size())
      os << formatName(program.tensors[a.tensor].name);
    else
      os << "#" << a.tensor;
  } else {
    os << a.partitionStart << ":" << (a.partitionStart + a.partitionCount);
  }
  // Magnitude in unsigned arithmetic: -INT64_MIN overflows int64.
  const uint64_t magnitude = a.offset < 0 ? 0 - static_cast<uint64_t>(a.offset) : static_cast<uint64_t>(a.offset);
  os << "]" << (a.offset < 0 ? "-" : "+") << hex(magnitude);
  printSteps(os, a.offsetStep);
  os << ":" << dtypeName(a.dtype) << "[";
  bool first = true;
  if (a.space == MemSpace::HBM) {
    os << "[" << a.partitionStride << "," << a.partitionCount << "]";
    first = false;
  }
  for (int d = 0; d < a.numDims; ++d) {
    os << (first ? "" : ",") << "[" << a.dims[d].stride << "," << a.dims[d].count << "]";
    first = false;
  }
  os << "]";
  return os.str();
}

std::string printInstruction(const Program &program, const Instruction &inst) {
  const OpcodeInfo &info = inst.info();
  std::ostringstream os;
  os << info.mnemonic;
  for (const FieldSpec &f : info.fields) {
    switch (f.kind) {
    case FieldKind::Ap:
    case FieldKind::OptAp:
      if (inst.ap[f.slot].present())
        os << " " << f.name << "=" << printAccessPattern(program, inst.ap[f.slot]);
      break;
    case FieldKind::Bool:
      if (inst.flag(f.slot) != (f.defaultValue != 0))
        os << " " << f.name << "=" << (inst.flag(f.slot) ? 1 : 0);
      break;
    case FieldKind::Alu:
      if (f.required || inst.enums[f.slot] != f.defaultValue)
        os << " " << f.name << "=" << aluOpName(static_cast<AluOp>(inst.enums[f.slot]));
      break;
    case FieldKind::Act:
      if (f.required || inst.enums[f.slot] != f.defaultValue)
        os << " " << f.name << "=" << actFuncName(static_cast<ActFunc>(inst.enums[f.slot]));
      break;
    case FieldKind::Choice:
      if (f.required || inst.enums[f.slot] != f.defaultValue)
        os << " " << f.name << "=" << choiceName(f.choices, inst.enums[f.slot]);
      break;
    case FieldKind::F32: {
      float def = static_cast<float>(f.defaultValue);
      if (f.required || std::memcmp(&inst.f32[f.slot], &def, 4) != 0)
        os << " " << f.name << "=" << formatFloat(inst.f32[f.slot]);
      break;
    }
    case FieldKind::I32:
      if (f.required || inst.i32[f.slot] != static_cast<int32_t>(f.defaultValue))
        os << " " << f.name << "=" << inst.i32[f.slot];
      break;
    }
  }
  if (inst.wait.present()) {
    os << " wait=s" << inst.wait.sem << ">=" << inst.wait.value;
    printSteps(os, inst.wait.step);
  }
  if (inst.signal.present())
    os << " signal=s" << inst.signal.sem << "+" << inst.signal.increment;
  if (inst.loc != kNoLoc)
    os << " loc=" << inst.loc;
  return os.str();
}

void printProgram(std::ostream &os, const Program &p, const PrintOptions &options) {
  static const char *digits = "0123456789abcdef";
  auto hexLines = [&](const std::string &head, const std::vector<uint8_t> &data) {
    for (size_t at = 0; at < data.size(); at += 64) {
      os << head;
      for (size_t i = at; i < data.size() && i < at + 64; ++i)
        os << digits[data[i] >> 4] << digits[data[i] & 15];
      os << "\n";
    }
  };
  os << "; trnx assembly (container " << Program::kVersionMajor << "." << p.containerMinorVersion()
     << ")\n";
  os << ".target " << formatName(p.target) << "\n";
  os << ".cores " << p.numCores << "\n";
  if (p.isMultiRank())
    os << ".ranks " << p.numRanks << "\n";
  for (size_t i = 0; i < p.replicaGroups.size(); ++i) {
    os << ".replica_group " << i;
    for (const std::vector<uint16_t> &g : p.replicaGroups[i].groups) {
      os << " [";
      for (size_t k = 0; k < g.size(); ++k)
        os << (k ? "," : "") << g[k];
      os << "]";
    }
    os << "\n";
  }
  for (const TensorInfo &t : p.tensors) {
    os << ".tensor " << formatName(t.name) << " " << tensorRoleName(t.role) << " "
       << dtypeName(t.dtype) << " [";
    for (size_t i = 0; i < t.shape.size(); ++i)
      os << (i ? "," : "") << t.shape[i];
    os << "] hbm=" << hex(t.hbmOffset);
    if (t.sizeBytes != t.naturalSize())
      os << " size=" << hex(t.sizeBytes);
    os << "\n";
    if (!t.data.empty()) {
      if (!options.withData) {
        os << "; .data " << formatName(t.name) << " (" << t.data.size() << " bytes omitted)\n";
        continue;
      }
      hexLines(".data " + formatName(t.name) + " ", t.data);
    }
  }
  for (const RankData &d : p.rankData) {
    const std::string name = d.tensor < p.tensors.size() ? formatName(p.tensors[d.tensor].name)
                                                         : "#" + std::to_string(d.tensor);
    if (!options.withData) {
      os << "; .rank_data " << name << " " << d.rank << " (" << d.data.size() << " bytes omitted)\n";
      continue;
    }
    if (d.data.empty())
      os << ".rank_data " << name << " " << d.rank << "\n";
    hexLines(".rank_data " + name + " " + std::to_string(d.rank) + " ", d.data);
  }
  for (size_t i = 0; i < p.locs.size(); ++i) {
    const SourceLoc &l = p.locs[i];
    os << ".loc " << i << " " << quote(l.file) << " " << l.line << " " << l.column << " "
       << quote(l.op) << "\n";
  }
  for (const Stream &s : p.streams) {
    os << "\n.stream core=" << s.core << " engine=" << s.engine.name() << "\n";
    int depth = 0;
    for (const Instruction &inst : s.code) {
      if (inst.opcode == Opcode::EndLoop && depth > 0)
        --depth;
      os << std::string(2 + 2 * depth, ' ') << printInstruction(p, inst) << "\n";
      if (inst.opcode == Opcode::Loop)
        ++depth;
    }
  }
}

} // namespace trnx
