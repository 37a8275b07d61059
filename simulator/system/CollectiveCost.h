// Closed-form cost of one collective on a system (congestion-unaware, as
// ASTRA-sim's analytical backend and docs/multichip.md): the algorithm chosen
// by message size from the system's thresholds (Neuron's rule: mesh below
// collectives.mesh_max_bytes, recursive halving/doubling up to rdh_max_bytes,
// ring above; hierarchical for an all-reduce whose group spans systems), with
// per-step latency and bandwidth taken from the routes between the group's
// chips. simulator/system/SystemTiming.cpp drives them in timing runs.
#pragma once

#include "isa/InstructionSet.h"
#include "simulator/system/Topology.h"

#include <string_view>
#include <vector>

namespace trnx {

enum class CollectiveAlgorithm { Ring, Mesh, RecursiveHalvingDoubling, Hierarchical };
std::string_view collectiveAlgorithmName(CollectiveAlgorithm a);

struct CollectiveCost {
  CollectiveAlgorithm algorithm = CollectiveAlgorithm::Ring;
  int steps = 0;
  double seconds = 0;           // latency_seconds + bandwidth_seconds
  double latency_seconds = 0;   // the per-step route latencies
  double bandwidth_seconds = 0; // the bytes over the bottleneck bandwidth
  double link_bytes = 0;        // bytes each rank sends over links in all steps
};

// `bytes` is the collective's full buffer on one rank: all_reduce and
// all_to_all its src (= dst), all_gather its dst, reduce_scatter its src;
// permute the bytes each rank sends. `group` lists the chips in position order.
CollectiveAlgorithm chooseCollectiveAlgorithm(const SystemConfig &system, const Topology &topology, Opcode op,
                                              const std::vector<int> &group, double bytes);
CollectiveCost collectiveCost(const SystemConfig &system, const Topology &topology, Opcode op,
                              const std::vector<int> &group, double bytes);
// The same with the algorithm forced (the closed forms of each).
CollectiveCost collectiveCostWith(CollectiveAlgorithm algorithm, const SystemConfig &system, const Topology &topology,
                                  Opcode op, const std::vector<int> &group, double bytes);

} // namespace trnx
