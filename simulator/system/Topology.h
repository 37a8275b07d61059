// Scale-up and scale-out networks of a system: the directed links, and the
// route (hops, latency, links in order) between any two chips. Torus and
// ring (TorusTopology.cpp) and switch (SwitchTopology.cpp) implement it;
// makeTopology picks one from the SystemConfig. Scale-out (EFA) joins the
// systems the same way for every implementation: one hop out of the source
// chip's NIC and into the destination's.
#pragma once

#include "simulator/system/SystemConfig.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace trnx {

struct Link {
  std::string name;           // "chip3.x+", "chip5.up1", "chip0.efa-out"
  double bytes_per_second = 0; // one direction
  double latency_seconds = 0;  // per traversal
  int level = 0;               // topology level; levels.size() = scale-out
};

struct Route {
  int hops = 0;
  double latency_seconds = 0;
  std::vector<uint32_t> links; // indices into Topology::links(), in path order
  // The slowest link on the path (bytes per second), 0 for a chip to itself.
  double bottleneck_bytes_per_second = 0;
};

class Topology {
public:
  virtual ~Topology() = default;
  int chips() const { return chips_; }
  const std::vector<Link> &links() const { return links_; }
  // Route from chip `from` to chip `to` (both < chips()).
  Route route(int from, int to) const;
  int hops(int from, int to) const { return route(from, to).hops; }
  // Scale-up coordinate of a chip at each level (innermost first).
  std::vector<int> coordinates(int chip) const;

protected:
  Topology(const SystemConfig &system);
  // Route inside one system between chips at in-system indices a and b.
  virtual void routeInSystem(int system, int a, int b, Route &route) const = 0;
  uint32_t addLink(std::string name, double bytes_per_second, double latency_seconds, int level);
  void addLinkToRoute(Route &route, uint32_t link) const;

  const SystemConfig system_;
  int perSystem_ = 1;

private:
  int chips_ = 1;
  std::vector<Link> links_;
  std::vector<uint32_t> efaOut_, efaIn_; // per chip, when systems > 1
  bool scaleOutBuilt_ = false;
  friend std::unique_ptr<Topology> makeTopology(const SystemConfig &system);
  void buildScaleOut();
};

std::unique_ptr<Topology> makeTopology(const SystemConfig &system);

// Implementations (one file each).
std::unique_ptr<Topology> makeTorusTopology(const SystemConfig &system);
std::unique_ptr<Topology> makeSwitchTopology(const SystemConfig &system);

} // namespace trnx
