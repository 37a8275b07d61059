// YAML -> ChipConfig through the field registry (yaml-cpp).
#include "simulator/config/ConfigLoader.h"

#include "isa/Error.h"
#include "simulator/config/ConfigFields.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace trnx {

// Generated at build time from simulator/presets/*.yaml (PresetData.cpp).
const std::map<std::string, std::string> &embeddedPresets();

namespace {

constexpr int kMaxBaseDepth = 16;

std::string where(const std::string &origin, const YAML::Node &node) {
  std::ostringstream os;
  os << origin;
  if (node.Mark().line >= 0)
    os << ":" << node.Mark().line + 1;
  return os.str();
}

bool isPrefixOfField(const std::string &prefix) {
  for (const ConfigField &f : configFields())
    if (f.key.compare(0, prefix.size() + 1, prefix + ".") == 0)
      return true;
  return false;
}

void applyYaml(ChipConfig &chip, const std::string &text, const std::string &origin,
               const std::filesystem::path &dir, int depth);

void loadInto(ChipConfig &chip, const std::string &nameOrPath, const std::filesystem::path &dir,
              int depth, const std::string &from) {
  if (depth > kMaxBaseDepth)
    fail(from, ": 'base' chain is deeper than ", kMaxBaseDepth, " (a cycle?)");
  if (const std::string *preset = presetText(nameOrPath)) {
    applyYaml(chip, *preset, "preset " + nameOrPath, {}, depth);
    return;
  }
  std::filesystem::path path(nameOrPath);
  if (path.is_relative() && !dir.empty())
    path = dir / path;
  std::ifstream in(path);
  if (!in) {
    std::string names;
    for (const std::string &n : presetNames())
      names += (names.empty() ? "" : ", ") + n;
    fail(from.empty() ? "" : from + ": ", "'", nameOrPath, "' is neither a chip preset (", names,
         ") nor a readable YAML file");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  applyYaml(chip, ss.str(), path.string(), path.parent_path(), depth);
}

void walk(ChipConfig &chip, const YAML::Node &map, const std::string &prefix,
          const std::string &origin) {
  for (const auto &kv : map) {
    const YAML::Node &keyNode = kv.first;
    const YAML::Node &value = kv.second;
    if (!keyNode.IsScalar())
      fail(where(origin, keyNode), ": keys must be plain names");
    std::string key = prefix.empty() ? keyNode.Scalar() : prefix + "." + keyNode.Scalar();
    if (key == "base" && prefix.empty())
      continue;
    const ConfigField *field = findConfigField(key);
    if (!field) {
      if (value.IsMap() && isPrefixOfField(key)) {
        walk(chip, value, key, origin);
        continue;
      }
      fail(where(origin, keyNode), ": unknown key '", key, "'");
    }
    try {
      if (field->type == FieldType::DTypeList) {
        std::string joined;
        if (value.IsSequence()) {
          for (const auto &item : value) {
            if (!item.IsScalar())
              fail("expected a list of dtype names");
            joined += item.Scalar() + " ";
          }
        } else if (value.IsScalar()) {
          joined = value.Scalar();
        } else {
          fail("expected a list of dtype names");
        }
        field->set(chip, joined);
      } else {
        if (!value.IsScalar())
          fail("expected a single value, got a ", value.IsMap() ? "map" : value.IsSequence() ? "list" : "null");
        field->set(chip, value.Scalar());
      }
    } catch (const Error &e) {
      fail(where(origin, value), ": key '", key, "': ", e.what());
    }
  }
}

void applyYaml(ChipConfig &chip, const std::string &text, const std::string &origin,
               const std::filesystem::path &dir, int depth) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception &e) {
    fail(origin, ":", e.mark.line + 1, ":", e.mark.column + 1, ": invalid YAML: ", e.msg);
  }
  if (!root.IsMap())
    fail(origin, ": a chip config must be a YAML map of keys");
  if (root["base"]) {
    const YAML::Node base = root["base"];
    if (!base.IsScalar())
      fail(where(origin, base), ": 'base' must name a preset or a file");
    loadInto(chip, base.Scalar(), dir, depth + 1, where(origin, base));
  }
  walk(chip, root, "", origin);
}

} // namespace

std::vector<std::string> presetNames() {
  std::vector<std::string> names;
  for (const auto &kv : embeddedPresets())
    names.push_back(kv.first);
  return names;
}

const std::string *presetText(const std::string &name) {
  auto it = embeddedPresets().find(name);
  return it == embeddedPresets().end() ? nullptr : &it->second;
}

void validateChip(const ChipConfig &c, const std::string &origin) {
  for (const ConfigField &f : configFields()) {
    if (f.type != FieldType::Int && f.type != FieldType::Double)
      continue;
    double v = f.getNumber(c);
    if (!(v >= f.min && v <= f.max))
      fail(origin, ": key '", f.key, "' = ", f.get(c), " is out of range (missing from the file?)");
  }
  auto bad = [&](const std::string &msg) { fail(origin, ": ", msg); };
  if (c.name.empty())
    bad("key 'name' is missing");
  if (static_cast<long long>(c.psum_bytes_per_partition) % c.psum_banks != 0)
    bad("psum_bytes_per_partition must divide evenly into psum_banks");
  if (!parseDataflowName(c.pe_array.dataflow))
    bad("pe_array.dataflow must be ws, os or is, not '" + c.pe_array.dataflow + "'");
  // A pass's fp32 results fill one PSUM bank: N = moving_free_max columns on
  // a stationary array, N = cols on an output-stationary one (K streams).
  const bool outputStationary = c.pe_array.dataflow == "os";
  if ((outputStationary ? c.pe_array.cols : c.pe_array.moving_free_max) * 4.0 > c.psum_bytes_per_partition / c.psum_banks)
    bad(outputStationary ? "pe_array.cols fp32 results (an os pass) do not fit one PSUM bank"
                         : "pe_array.moving_free_max fp32 results do not fit one PSUM bank");
  if (c.pe_array.rows > c.partitions || c.pe_array.cols > c.partitions)
    bad("pe_array.rows and pe_array.cols cannot exceed partitions");
  if (!c.pe_array.input_dtypes)
    bad("pe_array.input_dtypes is empty");
  if (!c.pe_array.output_dtypes)
    bad("pe_array.output_dtypes is empty");
  if (c.pe_array.output_dtypes & ~(dtypeBit(DType::FP32) | dtypeBit(DType::BF16)))
    bad("pe_array.output_dtypes may hold only fp32 and bf16");
  if (c.pe_array.double_row && !(c.pe_array.input_dtypes & (dtypeBit(DType::FP8E4M3) | dtypeBit(DType::FP8E5M2))))
    bad("pe_array.double_row needs an fp8 input dtype");
  if (c.dma_queues_per_core > 64)
    bad("dma_queues_per_core is limited to 64 by the container format");
}

ChipConfig loadChipFromText(const std::string &yamlText, const std::string &origin) {
  ChipConfig chip;
  applyYaml(chip, yamlText, origin, std::filesystem::path(origin).parent_path(), 0);
  validateChip(chip, origin);
  return chip;
}

ChipConfig loadChip(const std::string &nameOrPath) {
  ChipConfig chip;
  loadInto(chip, nameOrPath, {}, 0, "");
  validateChip(chip, presetText(nameOrPath) ? "preset " + nameOrPath : nameOrPath);
  return chip;
}

// Every key with its value, and a comment saying what it affects: codegen
// (the compiler's target limits), timing, energy, power, or no effect.
std::string chipToYaml(const ChipConfig &chip) {
  std::ostringstream os;
  std::string section;
  for (const ConfigField &f : configFields()) {
    size_t dot = f.key.find('.');
    std::string head = dot == std::string::npos ? "" : f.key.substr(0, dot);
    std::string leaf = dot == std::string::npos ? f.key : f.key.substr(dot + 1);
    if (head != section) {
      if (!head.empty())
        os << head << ":\n";
      section = head;
    }
    std::string value = f.get(chip);
    if (f.type == FieldType::String) {
      YAML::Emitter e;
      e << value;
      value = e.c_str();
    }
    // What the key affects (ConfigFields.h KeyUse), aligned as a comment.
    std::string line = (head.empty() ? "" : "  ") + leaf + ": " + value;
    line.resize(std::max<size_t>(line.size() + 1, 52), ' ');
    const bool identity = f.key == "name" || f.key == "description";
    os << line << "# " << (identity ? "identity" : keyUseNames(f.uses)) << "\n";
  }
  return os.str();
}

} // namespace trnx
