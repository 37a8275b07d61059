// Torus and ring topologies: each level is a ring of `size` chips; a chip has
// a + and a - link per ring (one link for a ring of 2). Routes go dimension by
// dimension, innermost first, the shorter way round (ties go +).
#include "simulator/system/Topology.h"

namespace trnx {
namespace {

class TorusTopology : public Topology {
public:
  explicit TorusTopology(const SystemConfig &system) : Topology(system) {
    const int levels = static_cast<int>(system.levels.size());
    plus_.assign(static_cast<size_t>(chips()) * levels, 0);
    minus_ = plus_;
    for (int c = 0; c < chips(); ++c)
      for (int l = 0; l < levels; ++l) {
        const TopologyLevel &lv = system.levels[l];
        if (lv.size < 2)
          continue;
        // The chip's bandwidth into the ring is split over its ports there
        // (assumption: links of one dimension are equal; [S] gives per-chip totals).
        const int ports = lv.size == 2 ? 1 : 2;
        const double bw = lv.chip_bytes_per_second / ports;
        const std::string base = "chip" + std::to_string(c) + ".d" + std::to_string(l);
        plus_[index(c, l)] = addLink(base + "+", bw, lv.hop_latency_seconds, l);
        minus_[index(c, l)] = ports == 2 ? addLink(base + "-", bw, lv.hop_latency_seconds, l) : plus_[index(c, l)];
      }
  }

protected:
  void routeInSystem(int system, int a, int b, Route &route) const override {
    const int first = system * perSystem_;
    std::vector<int> at = coordinates(first + a), to = coordinates(first + b);
    for (size_t l = 0; l < system_.levels.size(); ++l) {
      const int n = system_.levels[l].size;
      const int forward = ((to[l] - at[l]) % n + n) % n;
      const bool plus = forward <= n - forward;
      const int steps = plus ? forward : n - forward;
      for (int s = 0; s < steps; ++s) {
        const int chip = first + chipAt(at);
        addLinkToRoute(route, plus ? plus_[index(chip, static_cast<int>(l))] : minus_[index(chip, static_cast<int>(l))]);
        at[l] = ((at[l] + (plus ? 1 : -1)) % n + n) % n;
      }
    }
  }

private:
  size_t index(int chip, int level) const {
    return static_cast<size_t>(chip) * system_.levels.size() + static_cast<size_t>(level);
  }
  int chipAt(const std::vector<int> &coords) const {
    int chip = 0, stride = 1;
    for (size_t l = 0; l < coords.size(); ++l) {
      chip += coords[l] * stride;
      stride *= system_.levels[l].size;
    }
    return chip;
  }
  std::vector<uint32_t> plus_, minus_;
};

} // namespace

std::unique_ptr<Topology> makeTorusTopology(const SystemConfig &system) {
  return std::make_unique<TorusTopology>(system);
}

} // namespace trnx
