// Names and codes of engines and memory spaces.
#include "isa/Engine.h"

#include <charconv>

namespace trnx {

std::string_view engineKindName(EngineKind k) {
  switch (k) {
  case EngineKind::PE: return "pe";
  case EngineKind::ACT: return "act";
  case EngineKind::DVE: return "dve";
  case EngineKind::POOL: return "pool";
  case EngineKind::SP: return "sp";
  case EngineKind::DMA: return "dma";
  }
  return "?";
}

std::optional<EngineId> EngineId::fromCode(uint8_t code) {
  if (code < 5)
    return EngineId{static_cast<EngineKind>(code), 0};
  if (code >= 16 && code < 16 + kMaxDmaQueues)
    return EngineId{EngineKind::DMA, static_cast<uint8_t>(code - 16)};
  return std::nullopt;
}

std::optional<EngineId> EngineId::parse(std::string_view name) {
  for (int k = 0; k < 5; ++k)
    if (engineKindName(static_cast<EngineKind>(k)) == name)
      return EngineId{static_cast<EngineKind>(k), 0};
  if (name.size() >= 2 && name[0] == 'q') {
    unsigned q = 0;
    auto [ptr, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), q);
    if (ec == std::errc() && ptr == name.data() + name.size() && q < kMaxDmaQueues)
      return EngineId{EngineKind::DMA, static_cast<uint8_t>(q)};
  }
  return std::nullopt;
}

std::string EngineId::name() const {
  if (kind == EngineKind::DMA)
    return "q" + std::to_string(queue);
  return std::string(engineKindName(kind));
}

std::string_view spaceName(MemSpace s) {
  switch (s) {
  case MemSpace::None: return "none";
  case MemSpace::HBM: return "hbm";
  case MemSpace::SBUF: return "sbuf";
  case MemSpace::PSUM: return "psum";
  }
  return "?";
}

} // namespace trnx
