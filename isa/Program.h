// A whole program as held in a .tnx container: target, cores, tensor table
// (HBM layout), source locations and one instruction stream per engine.
#pragma once

#include "isa/Instruction.h"

#include <cstdint>
#include <string>
#include <vector>

namespace trnx {

enum class TensorRole : uint8_t { Input = 0, Output = 1, Weight = 2, Scratch = 3 };
std::string_view tensorRoleName(TensorRole r);
std::optional<TensorRole> parseTensorRole(std::string_view name);

// A named region of HBM. Weights may carry their bytes; inputs are supplied at
// run time; outputs are read back after the run.
struct TensorInfo {
  std::string name;
  TensorRole role = TensorRole::Scratch;
  DType dtype = DType::FP32;
  std::vector<int64_t> shape;
  uint64_t hbmOffset = 0;
  uint64_t sizeBytes = 0;
  std::vector<uint8_t> data; // empty: no constant data

  // Saturating at UINT64_MAX (isa/CheckedMath.h): a shape whose size does
  // not fit 64 bits compares above every limit instead of wrapping.
  uint64_t elementCount() const;
  uint64_t naturalSize() const;
};

// Where an instruction came from: a model file position and op name.
struct SourceLoc {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
  std::string op;
  bool operator==(const SourceLoc &o) const {
    return file == o.file && line == o.line && column == o.column && op == o.op;
  }
};

struct Stream {
  uint16_t core = 0;
  EngineId engine;
  std::vector<Instruction> code;
};

// SPMD multi-rank programs: every rank (chip) runs the same streams; ranks
// differ by rank_id and by per-rank tensor data (e.g. weight shards).
// A replica-group set partitions the ranks into equal groups; a collective's
// `groups=` field names a set.
struct ReplicaGroupSet {
  std::vector<std::vector<uint16_t>> groups;
  bool operator==(const ReplicaGroupSet &o) const { return groups == o.groups; }
};

// Bytes of a tensor that replace its .data on one rank.
struct RankData {
  uint32_t tensor = 0;
  uint16_t rank = 0;
  std::vector<uint8_t> data;
  bool operator==(const RankData &o) const {
    return tensor == o.tensor && rank == o.rank && data == o.data;
  }
};

struct Program {
  static constexpr uint16_t kVersionMajor = 1;
  // 1.1 added the ranks section; a program without ranks is still written as 1.0.
  static constexpr uint16_t kVersionMinor = 1;

  std::string target = "trn3";
  uint16_t numCores = 1;
  std::vector<TensorInfo> tensors;
  std::vector<SourceLoc> locs;
  std::vector<Stream> streams;
  uint16_t numRanks = 1;
  std::vector<ReplicaGroupSet> replicaGroups;
  std::vector<RankData> rankData;

  // True when the program needs the ranks section (container 1.1).
  bool isMultiRank() const { return numRanks != 1 || !replicaGroups.empty() || !rankData.empty(); }
  uint16_t containerMinorVersion() const { return isMultiRank() ? 1 : 0; }
  // Tensor bytes rank `rank` starts with: its RankData, else the tensor's data.
  const std::vector<uint8_t> &tensorData(uint32_t tensor, uint16_t rank) const;

  // HBM bytes spanned by the tensor table (saturating at UINT64_MAX).
  uint64_t hbmExtent() const;
  int findTensor(std::string_view name) const; // -1 if absent
  Stream &stream(uint16_t core, EngineId engine); // created on first use
  size_t instructionCount() const;
};

// Human-readable name of instruction `index` of a stream, for diagnostics:
// "core 0 pe #12 (matmul) [model.mlir:3:5 tosa.matmul]".
std::string describeInstruction(const Program &p, const Stream &s, size_t index);

} // namespace trnx
