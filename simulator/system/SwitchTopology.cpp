// Switched topology (NeuronSwitch): level l joins `size` units of level l-1
// in a switch. A chip has one port per level; a message between chips whose
// coordinates first differ at level L leaves through the source's level-L
// port and enters through the destination's, crossing 2(L+1) chip-switch and
// switch-switch hops (ASTRA-sim counts a one-level switch as 2 hops).
#include "simulator/system/Topology.h"

namespace trnx {
namespace {

class SwitchTopology : public Topology {
public:
  explicit SwitchTopology(const SystemConfig &system) : Topology(system) {
    const int levels = static_cast<int>(system.levels.size());
    for (int c = 0; c < chips(); ++c)
      for (int l = 0; l < levels; ++l) {
        // Latency of the way up to (and down from) the level-l switch.
        double climb = 0;
        for (int k = 0; k <= l; ++k)
          climb += system.levels[k].hop_latency_seconds;
        const double bw = system.levels[l].chip_bytes_per_second;
        const std::string base = "chip" + std::to_string(c) + ".l" + std::to_string(l);
        up_.push_back(addLink(base + "-up", bw, climb, l));
        down_.push_back(addLink(base + "-down", bw, climb, l));
      }
  }

protected:
  void routeInSystem(int system, int a, int b, Route &route) const override {
    if (a == b)
      return;
    const int first = system * perSystem_;
    const std::vector<int> from = coordinates(first + a), to = coordinates(first + b);
    int top = 0;
    for (size_t l = 0; l < from.size(); ++l)
      if (from[l] != to[l])
        top = static_cast<int>(l);
    const size_t levels = system_.levels.size();
    addLinkToRoute(route, up_[static_cast<size_t>(first + a) * levels + top]);
    addLinkToRoute(route, down_[static_cast<size_t>(first + b) * levels + top]);
    route.hops = 2 * (top + 1);
  }

private:
  std::vector<uint32_t> up_, down_;
};

} // namespace

std::unique_ptr<Topology> makeSwitchTopology(const SystemConfig &system) {
  return std::make_unique<SwitchTopology>(system);
}

} // namespace trnx
