// Engines (instruction streams) and memory spaces of a NeuronCore-like core.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace trnx {

// Compute engines have one stream each; DMA queues are numbered q0, q1, ...
enum class EngineKind : uint8_t { PE = 0, ACT = 1, DVE = 2, POOL = 3, SP = 4, DMA = 5 };
constexpr int kNumEngineKinds = 6;
constexpr int kMaxDmaQueues = 64;

// One instruction stream of a core: an engine kind plus, for DMA, a queue.
struct EngineId {
  EngineKind kind = EngineKind::PE;
  uint8_t queue = 0; // DMA queue index; 0 for compute engines

  // Dense code used in the container: 0-4 compute engines, 16+q DMA queue q.
  uint8_t code() const {
    return kind == EngineKind::DMA ? static_cast<uint8_t>(16 + queue)
                                   : static_cast<uint8_t>(kind);
  }
  static std::optional<EngineId> fromCode(uint8_t code);
  static std::optional<EngineId> parse(std::string_view name); // "pe", "q3"
  std::string name() const;

  bool operator==(const EngineId &o) const { return kind == o.kind && queue == o.queue; }
  bool operator!=(const EngineId &o) const { return !(*this == o); }
  bool operator<(const EngineId &o) const { return code() < o.code(); }
};

// A set of engine kinds, one bit per kind.
using EngineMask = uint8_t;
constexpr EngineMask engineBit(EngineKind k) { return 1u << static_cast<unsigned>(k); }
constexpr EngineMask kAnyEngine = 0x3f;

std::string_view engineKindName(EngineKind k);

enum class MemSpace : uint8_t { None = 0, HBM = 1, SBUF = 2, PSUM = 3 };
using SpaceMask = uint8_t;
constexpr SpaceMask spaceBit(MemSpace s) { return 1u << static_cast<unsigned>(s); }
std::string_view spaceName(MemSpace s);

} // namespace trnx
