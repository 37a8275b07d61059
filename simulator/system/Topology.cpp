// The topology interface: chip coordinates, scale-out links and routes that
// cross systems; the scale-up part of a route comes from the implementation.
#include "simulator/system/Topology.h"

#include "isa/Error.h"

#include <algorithm>

namespace trnx {

Topology::Topology(const SystemConfig &system)
    : system_(system), perSystem_(system.chipsPerSystem()), chips_(system.chips()) {}

uint32_t Topology::addLink(std::string name, double bytes_per_second, double latency_seconds, int level) {
  links_.push_back(Link{std::move(name), bytes_per_second, latency_seconds, level});
  return static_cast<uint32_t>(links_.size() - 1);
}

void Topology::addLinkToRoute(Route &route, uint32_t link) const {
  const Link &l = links_[link];
  route.links.push_back(link);
  route.hops += 1;
  route.latency_seconds += l.latency_seconds;
  route.bottleneck_bytes_per_second = route.bottleneck_bytes_per_second == 0
                                          ? l.bytes_per_second
                                          : std::min(route.bottleneck_bytes_per_second, l.bytes_per_second);
}

void Topology::buildScaleOut() {
  if (system_.scaleOut.systems <= 1 || scaleOutBuilt_)
    return;
  scaleOutBuilt_ = true;
  const int level = static_cast<int>(system_.levels.size());
  // A chip's NIC bandwidth is shared by its sends (out) and receives (in); the
  // network between the NICs is taken as non-blocking (assumption: EFA's
  // fabric is provisioned for every NIC at line rate).
  for (int c = 0; c < chips_; ++c) {
    efaOut_.push_back(addLink("chip" + std::to_string(c) + ".efa-out", system_.scaleOut.chip_bytes_per_second,
                              system_.scaleOut.latency_seconds, level));
    efaIn_.push_back(addLink("chip" + std::to_string(c) + ".efa-in", system_.scaleOut.chip_bytes_per_second, 0,
                             level));
  }
}

std::vector<int> Topology::coordinates(int chip) const {
  std::vector<int> c;
  int rest = chip % perSystem_;
  for (const TopologyLevel &l : system_.levels) {
    c.push_back(rest % l.size);
    rest /= l.size;
  }
  return c;
}

Route Topology::route(int from, int to) const {
  if (from < 0 || to < 0 || from >= chips_ || to >= chips_)
    fail("route from chip ", from, " to chip ", to, ": the system has ", chips_, " chips");
  Route r;
  const int sysFrom = from / perSystem_, sysTo = to / perSystem_;
  if (sysFrom == sysTo) {
    routeInSystem(sysFrom, from % perSystem_, to % perSystem_, r);
    return r;
  }
  // Across systems: straight out of the source's NIC into the destination's
  // (assumption: every chip has its own EFA NIC share, [S] 200 Gbps per chip).
  addLinkToRoute(r, efaOut_[from]);
  addLinkToRoute(r, efaIn_[to]);
  r.hops = 1; // one network traversal; the in-link carries no extra latency
  return r;
}

std::unique_ptr<Topology> makeTopology(const SystemConfig &system) {
  std::unique_ptr<Topology> t = system.topology == TopologyKind::Switch ? makeSwitchTopology(system)
                                                                         : makeTorusTopology(system);
  t->buildScaleOut();
  return t;
}

} // namespace trnx
