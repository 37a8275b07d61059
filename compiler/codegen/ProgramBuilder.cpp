// Program assembly: tensors, scratch arena, kernel streams and barriers.
#include "compiler/codegen/ProgramBuilder.h"

#include "isa/Error.h"

#include <set>

namespace trnx::cg {
namespace {
constexpr int64_t kAlign = 256;
int64_t alignUp(int64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }
} // namespace

ProgramBuilder::ProgramBuilder(Target target) : target_(std::move(target)) {
  program_.target = target_.name;
  program_.numCores = 1;
  semaphores_.resize(target_.limits.cores);
}

uint32_t ProgramBuilder::addTensor(const std::string &name, TensorRole role, DType dtype,
                                   std::vector<int64_t> shape, std::vector<uint8_t> data) {
  TensorInfo t;
  t.name = name;
  t.role = role;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.sizeBytes = t.naturalSize();
  t.data = std::move(data);
  if (program_.findTensor(t.name) >= 0)
    fail("internal: duplicate tensor name '", t.name, "'");
  program_.tensors.push_back(std::move(t));
  return static_cast<uint32_t>(program_.tensors.size() - 1);
}

uint32_t ProgramBuilder::scratchTensor() {
  if (scratchId_ < 0) {
    std::string name = "scratch";
    while (program_.findTensor(name) >= 0)
      name += "_";
    scratchId_ = static_cast<int>(addTensor(name, TensorRole::Scratch, DType::INT8, {0}));
  }
  return static_cast<uint32_t>(scratchId_);
}

int64_t ProgramBuilder::allocScratch(int64_t bytes) {
  scratchTensor();
  bytes = alignUp(std::max<int64_t>(bytes, 1));
  int64_t at = 0;
  for (const auto &[offset, size] : scratchUsed_) {
    if (offset - at >= bytes)
      break;
    at = std::max(at, alignUp(offset + size));
  }
  scratchUsed_[at] = bytes;
  scratchPeak_ = std::max(scratchPeak_, at + bytes);
  return at;
}

void ProgramBuilder::releaseScratch(int64_t offset) { scratchUsed_.erase(offset); }

uint32_t ProgramBuilder::addLoc(const SourceLoc &loc) {
  for (size_t i = 0; i < program_.locs.size(); ++i)
    if (program_.locs[i] == loc)
      return static_cast<uint32_t>(i);
  program_.locs.push_back(loc);
  return static_cast<uint32_t>(program_.locs.size() - 1);
}

std::vector<CoreKernel> ProgramBuilder::newKernel(int cores) const {
  std::vector<CoreKernel> out;
  for (int c = 0; c < cores; ++c)
    out.emplace_back(target_, static_cast<uint16_t>(c));
  return out;
}

void ProgramBuilder::addKernel(const std::vector<CoreKernel> &cores, uint32_t loc) {
  std::map<std::pair<uint16_t, EngineId>, std::vector<Instruction>> streams;
  for (const CoreKernel &k : cores) {
    if (k.instructionCount() == 0)
      continue;
    for (auto &[engine, code] : insertSync(k, semaphores_[k.core()], loc))
      streams[{k.core(), engine}] = std::move(code);
    program_.numCores = std::max<uint16_t>(program_.numCores, k.core() + 1);
  }
  if (!streams.empty())
    kernels_.push_back(std::move(streams));
}

Program ProgramBuilder::finish() {
  // HBM layout: every tensor in table order, the scratch arena sized to its peak.
  if (scratchId_ >= 0) {
    TensorInfo &s = program_.tensors[scratchId_];
    s.shape = {std::max<int64_t>(scratchPeak_, 1)};
    s.sizeBytes = static_cast<uint64_t>(s.shape[0]);
  }
  uint64_t at = 0;
  for (TensorInfo &t : program_.tensors) {
    t.hbmOffset = at;
    at = static_cast<uint64_t>(alignUp(static_cast<int64_t>(at + t.sizeBytes)));
  }
  std::set<std::pair<uint16_t, EngineId>> all;
  for (const auto &k : kernels_)
    for (const auto &kv : k)
      all.insert(kv.first);
  for (const auto &key : all) {
    Stream &s = program_.stream(key.first, key.second);
    for (size_t i = 0; i < kernels_.size(); ++i) {
      auto it = kernels_[i].find(key);
      if (it != kernels_[i].end())
        s.code.insert(s.code.end(), it->second.begin(), it->second.end());
      if (i + 1 < kernels_.size()) {
        Instruction b = makeInstruction(Opcode::Barrier);
        b.enums[0] = 1; // chip scope
        s.code.push_back(b);
      }
    }
  }
  return std::move(program_);
}

} // namespace trnx::cg
