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

struct ConfigField {
  std::string key;   // e.g. "pe.clock_hz"
  FieldType type;
  double min, max;   // inclusive range for numbers
  std::string doc;
  void *(*access)(ChipConfig &);

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
