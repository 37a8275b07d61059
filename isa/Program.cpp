// Program helpers: tensor lookup, stream creation, diagnostics naming.
#include "isa/Program.h"

#include "isa/CheckedMath.h"

#include <algorithm>
#include <sstream>

namespace trnx {

std::string_view tensorRoleName(TensorRole r) {
  switch (r) {
  case TensorRole::Input: return "input";
  case TensorRole::Output: return "output";
  case TensorRole::Weight: return "weight";
  case TensorRole::Scratch: return "scratch";
  }
  return "?";
}

std::optional<TensorRole> parseTensorRole(std::string_view name) {
  for (int i = 0; i < 4; ++i)
    if (tensorRoleName(static_cast<TensorRole>(i)) == name)
      return static_cast<TensorRole>(i);
  return std::nullopt;
}

uint64_t TensorInfo::elementCount() const {
  uint64_t n = 1;
  for (int64_t d : shape)
    n = saturatingMul(n, static_cast<uint64_t>(d));
  return n;
}

uint64_t TensorInfo::naturalSize() const { return saturatingMul(elementCount(), dtypeSize(dtype)); }

uint64_t Program::hbmExtent() const {
  uint64_t end = 0;
  for (const TensorInfo &t : tensors)
    end = std::max(end, saturatingAdd(t.hbmOffset, t.sizeBytes));
  return end;
}

int Program::findTensor(std::string_view name) const {
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].name == name)
      return static_cast<int>(i);
  return -1;
}

Stream &Program::stream(uint16_t core, EngineId engine) {
  for (Stream &s : streams)
    if (s.core == core && s.engine == engine)
      return s;
  streams.push_back(Stream{core, engine, {}});
  return streams.back();
}

const std::vector<uint8_t> &Program::tensorData(uint32_t tensor, uint16_t rank) const {
  for (const RankData &d : rankData)
    if (d.tensor == tensor && d.rank == rank)
      return d.data;
  return tensors[tensor].data;
}

size_t Program::instructionCount() const {
  size_t n = 0;
  for (const Stream &s : streams)
    n += s.code.size();
  return n;
}

std::string describeInstruction(const Program &p, const Stream &s, size_t index) {
  std::ostringstream os;
  os << "core " << s.core << " " << s.engine.name() << " #" << index;
  if (index < s.code.size()) {
    const Instruction &inst = s.code[index];
    os << " (" << inst.info().mnemonic << ")";
    if (inst.loc < p.locs.size()) {
      const SourceLoc &l = p.locs[inst.loc];
      os << " [" << l.file << ":" << l.line << ":" << l.column;
      if (!l.op.empty())
        os << " " << l.op;
      os << "]";
    }
  }
  return os.str();
}

} // namespace trnx
