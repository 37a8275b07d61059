// A multi-chip system: a chip (preset or YAML), how many, how they are joined
// (topology levels with per-chip link bandwidth and per-hop latency), the
// scale-out network between systems and the collective algorithm thresholds.
// Loaded from system YAML (simulator/presets/systems/*.yaml or a file);
// docs/multichip.md describes every key.
#pragma once

#include "simulator/config/ChipConfig.h"

#include <string>
#include <vector>

namespace trnx {

enum class TopologyKind { Torus, Ring, Switch };
std::string_view topologyKindName(TopologyKind k);

// One level of the scale-up network. Torus/ring: one dimension (a ring of
// `size` chips). Switch: `size` units of the level below meet in a switch.
struct TopologyLevel {
  int size = 1;
  double chip_bytes_per_second = 0; // one chip's bandwidth into this level (all its ports, one direction)
  double hop_latency_seconds = 0;   // per link (torus) or per chip-switch hop (switch)
};

// Scale-out (EFA) between `systems` copies of the scale-up domain.
struct ScaleOut {
  int systems = 1;
  double chip_bytes_per_second = 0;
  double latency_seconds = 0;
};

// Message-size thresholds that pick a collective algorithm (Neuron's rules,
// docs/multichip.md): mesh below mesh_max_bytes, recursive halving/doubling
// up to rdh_max_bytes, ring above.
struct CollectiveConfig {
  double mesh_max_bytes = 0;
  double rdh_max_bytes = 0;
};

struct SystemConfig {
  std::string name;
  std::string description;
  std::string chipName; // preset name or path, as written
  ChipConfig chip;
  TopologyKind topology = TopologyKind::Torus;
  std::vector<TopologyLevel> levels; // innermost first
  ScaleOut scaleOut;
  CollectiveConfig collectives;
  double switch_byte_joules = 0;    // energy per byte through a switch
  double scale_out_byte_joules = 0; // energy per byte over the scale-out network

  // Chips in one scale-up domain (product of level sizes) and in total.
  int chipsPerSystem() const;
  int chips() const;
};

SystemConfig loadSystem(const std::string &nameOrPath);
SystemConfig loadSystemFromText(const std::string &yamlText, const std::string &origin,
                                const std::string &dir = "");
std::vector<std::string> systemPresetNames();
const std::string *systemPresetText(const std::string &name); // nullptr if unknown
// The config as YAML (chip by name, every system key).
std::string systemToYaml(const SystemConfig &system);

} // namespace trnx
