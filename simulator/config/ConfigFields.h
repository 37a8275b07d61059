// The registry of chip-config keys: dotted YAML path, type, valid range and
// meaning of every field of ChipConfig. The YAML loader, error messages,
// the Python `trnx.chips` API and sweeps all go through it.
#pragma once

#include "simulator/config/ChipConfig.h"

#include <string>
#include <string_view>
#include <vector>

namespace trnx {

enum class FieldType { Int, Double, Bool, String, DTypeList };

// What a key affects (tested for every key by chip_key_audit_test):
// codegen = the target limits the compiler and verifier use (tile shapes,
// dataflow, capacities); timing = simulated time; energy = chip energy
// (dynamic or static); power = the node, facility and provisioned figures.
// 0 = no effect, with the reason in the key's doc.
enum KeyUse : unsigned { kKeyCodegen = 1, kKeyTiming = 2, kKeyEnergy = 4, kKeyPower = 8 };
// "codegen, timing", or "no effect".
std::string keyUseNames(unsigned uses);

struct ConfigField {
  std::string key;   // e.g. "pe.clock_hz"
  FieldType type;
  double min, max;   // inclusive range for numbers
  std::string doc;
  void *(*access)(ChipConfig &);
  unsigned uses = 0; // KeyUse bits

  // Value as text, and setting from text (throws Error with a reason).
  std::string get(const ChipConfig &c) const;
  void set(ChipConfig &c, std::string_view text) const;
  // Numeric fields only.
  double getNumber(const ChipConfig &c) const;
  void setNumber(ChipConfig &c, double v) const;
};

const std::vector<ConfigField> &configFields();
const ConfigField *findConfigField(std::string_view key);

} // namespace trnx
