// Loads chip configs from YAML: a preset name (trn2, trn3, trn4) or a file.
// A file may start from another with `base: NAME|PATH` and override keys.
// Unknown keys, wrong types and impossible values are errors naming the key
// and the file (and line).
#pragma once

#include "simulator/config/ChipConfig.h"

#include <string>
#include <vector>

namespace trnx {

ChipConfig loadChip(const std::string &nameOrPath);
ChipConfig loadChipFromText(const std::string &yamlText, const std::string &origin);
std::vector<std::string> presetNames();
const std::string *presetText(const std::string &name); // nullptr if unknown
// Cross-field and range checks on a complete config; origin names the source.
void validateChip(const ChipConfig &chip, const std::string &origin);
// Writes every field as YAML (the config after inheritance).
std::string chipToYaml(const ChipConfig &chip);

} // namespace trnx
