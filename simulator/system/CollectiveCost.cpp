// Collective closed forms. Ring: every step moves D/N to the next position,
// so all-reduce = 2(N-1)(L + D/(N B)) and reduce-scatter, all-gather and
// all-to-all (N-1)(L + D/(N B)), with L the slowest neighbour route's latency
// and B its bottleneck. Mesh: one direct step per phase, each rank pushing
// (N-1) chunks through its injection bandwidth. Recursive halving/doubling:
// ceil(log2 N) steps per phase moving D(N-1)/N in total. Hierarchical (a
// group spanning systems, Neuron's internode rule): reduce-scatter inside
// each system, all-reduce of D/n across systems, all-gather inside again.
#include "simulator/system/CollectiveCost.h"

#include "isa/Error.h"

#include <algorithm>
#include <cmath>

namespace trnx {
namespace {

struct StepLink {
  double latency = 0;
  double bandwidth = 0;
};

// The slowest route between consecutive positions of the ring through `group`.
StepLink ringStep(const Topology &t, const std::vector<int> &group) {
  StepLink s{0, 0};
  for (size_t i = 0; i < group.size(); ++i) {
    Route r = t.route(group[i], group[(i + 1) % group.size()]);
    if (r.hops == 0)
      continue;
    s.latency = std::max(s.latency, r.latency_seconds);
    s.bandwidth = s.bandwidth == 0 ? r.bottleneck_bytes_per_second : std::min(s.bandwidth, r.bottleneck_bytes_per_second);
  }
  return s;
}

// The slowest route between any two members (mesh and halving/doubling talk to everyone).
StepLink anyStep(const Topology &t, const std::vector<int> &group) {
  StepLink s{0, 0};
  for (int a : group)
    for (int b : group) {
      if (a == b)
        continue;
      Route r = t.route(a, b);
      s.latency = std::max(s.latency, r.latency_seconds);
      s.bandwidth = s.bandwidth == 0 ? r.bottleneck_bytes_per_second : std::min(s.bandwidth, r.bottleneck_bytes_per_second);
    }
  return s;
}

// A chip's injection bandwidth toward the group: its bandwidth at the highest
// level the group spans (all of its ports there).
double injection(const SystemConfig &system, const Topology &t, const std::vector<int> &group) {
  int top = -1;
  for (int b : group) {
    if (b == group[0])
      continue;
    if (b / system.chipsPerSystem() != group[0] / system.chipsPerSystem())
      return system.scaleOut.chip_bytes_per_second;
    std::vector<int> x = t.coordinates(group[0]), y = t.coordinates(b);
    for (size_t l = 0; l < x.size(); ++l)
      if (x[l] != y[l])
        top = std::max(top, static_cast<int>(l));
  }
  return top < 0 ? 0 : system.levels[top].chip_bytes_per_second;
}

// Phases of one step sequence (reduce-scatter or all-gather) an opcode needs.
int phases(Opcode op) { return op == Opcode::AllReduce ? 2 : 1; }

CollectiveCost ring(const Topology &t, Opcode op, const std::vector<int> &group, double bytes) {
  const double n = static_cast<double>(group.size());
  CollectiveCost c{CollectiveAlgorithm::Ring, 0, 0};
  if (group.size() < 2)
    return c;
  const StepLink s = ringStep(t, group);
  if (op == Opcode::Permute) {
    c.steps = 1;
    c.latency_seconds = s.latency;
    c.bandwidth_seconds = bytes / s.bandwidth;
    c.link_bytes = bytes;
    c.seconds = c.latency_seconds + c.bandwidth_seconds;
    return c;
  }
  c.steps = phases(op) * static_cast<int>(group.size() - 1);
  c.latency_seconds = c.steps * s.latency;
  c.bandwidth_seconds = c.steps * bytes / (n * s.bandwidth);
  c.link_bytes = c.steps * bytes / n;
  c.seconds = c.steps * (s.latency + bytes / (n * s.bandwidth));
  return c;
}

CollectiveCost mesh(const SystemConfig &system, const Topology &t, Opcode op, const std::vector<int> &group,
                    double bytes) {
  const double n = static_cast<double>(group.size());
  CollectiveCost c{CollectiveAlgorithm::Mesh, 0, 0};
  if (group.size() < 2)
    return c;
  const StepLink s = anyStep(t, group);
  const double inject = std::min(injection(system, t, group), s.bandwidth * (n - 1));
  c.steps = phases(op);
  c.latency_seconds = c.steps * s.latency;
  c.bandwidth_seconds = c.steps * (n - 1) * bytes / n / inject;
  c.link_bytes = c.steps * (n - 1) * bytes / n;
  c.seconds = c.steps * (s.latency + (n - 1) * bytes / n / inject);
  return c;
}

CollectiveCost halvingDoubling(const Topology &t, Opcode op, const std::vector<int> &group, double bytes) {
  const double n = static_cast<double>(group.size());
  CollectiveCost c{CollectiveAlgorithm::RecursiveHalvingDoubling, 0, 0};
  if (group.size() < 2)
    return c;
  const StepLink s = anyStep(t, group);
  const int rounds = static_cast<int>(std::ceil(std::log2(n)));
  c.steps = phases(op) * rounds;
  c.latency_seconds = phases(op) * rounds * s.latency;
  c.bandwidth_seconds = phases(op) * (n - 1) / n * bytes / s.bandwidth;
  c.link_bytes = phases(op) * (n - 1) / n * bytes;
  c.seconds = phases(op) * (rounds * s.latency + (n - 1) / n * bytes / s.bandwidth);
  return c;
}

// Members grouped by the system (scale-up domain) that holds them.
std::vector<std::vector<int>> units(const SystemConfig &system, const std::vector<int> &group) {
  std::vector<std::vector<int>> out;
  std::vector<int> keys;
  const int unit = system.chipsPerSystem();
  for (int chip : group) {
    const int key = chip / unit;
    auto it = std::find(keys.begin(), keys.end(), key);
    if (it == keys.end()) {
      keys.push_back(key);
      out.push_back({chip});
    } else {
      out[static_cast<size_t>(it - keys.begin())].push_back(chip);
    }
  }
  return out;
}

} // namespace

std::string_view collectiveAlgorithmName(CollectiveAlgorithm a) {
  switch (a) {
  case CollectiveAlgorithm::Ring: return "ring";
  case CollectiveAlgorithm::Mesh: return "mesh";
  case CollectiveAlgorithm::RecursiveHalvingDoubling: return "rdh";
  case CollectiveAlgorithm::Hierarchical: return "hierarchical";
  }
  return "?";
}

CollectiveCost collectiveCostWith(CollectiveAlgorithm algorithm, const SystemConfig &system, const Topology &topology,
                                  Opcode op, const std::vector<int> &group, double bytes) {
  if (opcodeInfo(op).cost != CostKind::Collective)
    fail("internal: '", opcodeInfo(op).mnemonic, "' is not a collective");
  switch (algorithm) {
  case CollectiveAlgorithm::Ring: return ring(topology, op, group, bytes);
  case CollectiveAlgorithm::Mesh: return mesh(system, topology, op, group, bytes);
  case CollectiveAlgorithm::RecursiveHalvingDoubling: return halvingDoubling(topology, op, group, bytes);
  case CollectiveAlgorithm::Hierarchical: {
    std::vector<std::vector<int>> u = units(system, group);
    const size_t inner = u[0].size();
    for (const std::vector<int> &members : u)
      if (members.size() != inner)
        fail("hierarchical collective: the group's units hold different numbers of chips");
    if (op != Opcode::AllReduce || u.size() < 2 || inner < 2)
      return ring(topology, op, group, bytes);
    CollectiveCost c{CollectiveAlgorithm::Hierarchical, 0, 0};
    const CollectiveCost in = ring(topology, Opcode::ReduceScatter, u[0], bytes);
    std::vector<int> across;
    for (const std::vector<int> &members : u)
      across.push_back(members[0]);
    const CollectiveCost out = ring(topology, Opcode::AllReduce, across, bytes / static_cast<double>(inner));
    c.steps = 2 * in.steps + out.steps;
    c.seconds = 2 * in.seconds + out.seconds;
    c.latency_seconds = 2 * in.latency_seconds + out.latency_seconds;
    c.bandwidth_seconds = 2 * in.bandwidth_seconds + out.bandwidth_seconds;
    c.link_bytes = 2 * in.link_bytes + out.link_bytes;
    return c;
  }
  }
  return {};
}

CollectiveAlgorithm chooseCollectiveAlgorithm(const SystemConfig &system, const Topology &topology, Opcode op,
                                              const std::vector<int> &group, double bytes) {
  (void)topology;
  if (op == Opcode::Permute)
    return CollectiveAlgorithm::Ring;
  if (op == Opcode::AllReduce && units(system, group).size() > 1 && units(system, group)[0].size() > 1)
    return CollectiveAlgorithm::Hierarchical;
  if (bytes < system.collectives.mesh_max_bytes)
    return CollectiveAlgorithm::Mesh;
  if (bytes <= system.collectives.rdh_max_bytes)
    return CollectiveAlgorithm::RecursiveHalvingDoubling;
  return CollectiveAlgorithm::Ring;
}

CollectiveCost collectiveCost(const SystemConfig &system, const Topology &topology, Opcode op,
                              const std::vector<int> &group, double bytes) {
  return collectiveCostWith(chooseCollectiveAlgorithm(system, topology, op, group, bytes), system, topology, op, group,
                            bytes);
}

} // namespace trnx
