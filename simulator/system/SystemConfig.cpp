// System YAML -> SystemConfig (yaml-cpp). A file may start from another
// system with `base: NAME|PATH`; `levels` then replaces the base's list.
// Errors name the file, line and key.
#include "simulator/system/SystemConfig.h"

#include "isa/Error.h"
#include "simulator/config/ConfigLoader.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace trnx {

// Generated at build time from simulator/presets/systems/*.yaml.
const std::map<std::string, std::string> &embeddedSystemPresets();

std::string_view topologyKindName(TopologyKind k) {
  switch (k) {
  case TopologyKind::Torus: return "torus";
  case TopologyKind::Ring: return "ring";
  case TopologyKind::Switch: return "switch";
  }
  return "?";
}

int SystemConfig::chipsPerSystem() const {
  long long n = 1;
  for (const TopologyLevel &l : levels)
    n *= l.size;
  return static_cast<int>(n);
}

int SystemConfig::chips() const { return chipsPerSystem() * scaleOut.systems; }

namespace {

constexpr int kMaxBaseDepth = 16;
constexpr int kMaxChips = 65536; // ranks are uint16 in the container

std::string where(const std::string &origin, const YAML::Node &node) {
  std::ostringstream os;
  os << origin;
  if (node.Mark().line >= 0)
    os << ":" << node.Mark().line + 1;
  return os.str();
}

class Reader {
public:
  Reader(const std::string &origin) : origin_(origin) {}

  double number(const YAML::Node &v, const std::string &key, double lo, double hi) const {
    if (!v.IsScalar())
      fail(where(origin_, v), ": key '", key, "': expected a number");
    const std::string &text = v.Scalar();
    char *end = nullptr;
    double x = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(x))
      fail(where(origin_, v), ": key '", key, "': '", text, "' is not a number");
    if (x < lo || x > hi)
      fail(where(origin_, v), ": key '", key, "': ", text, " is outside [", lo, ", ", hi, "]");
    return x;
  }
  int integer(const YAML::Node &v, const std::string &key, int lo, int hi) const {
    double x = number(v, key, lo, hi);
    if (x != std::floor(x))
      fail(where(origin_, v), ": key '", key, "': expected an integer, not ", v.Scalar());
    return static_cast<int>(x);
  }
  std::string text(const YAML::Node &v, const std::string &key) const {
    if (!v.IsScalar())
      fail(where(origin_, v), ": key '", key, "': expected a string");
    return v.Scalar();
  }
  YAML::Node map(const YAML::Node &v, const std::string &key) const {
    if (!v.IsMap())
      fail(where(origin_, v), ": key '", key, "': expected a map of keys");
    return v;
  }
  [[noreturn]] void unknown(const YAML::Node &k, const std::string &key, const char *known) const {
    fail(where(origin_, k), ": unknown key '", key, "' (", known, ")");
  }

private:
  const std::string &origin_;
};

void apply(SystemConfig &s, const std::string &text, const std::string &origin,
           const std::filesystem::path &dir, int depth);

void loadInto(SystemConfig &s, const std::string &nameOrPath, const std::filesystem::path &dir, int depth,
              const std::string &from) {
  if (depth > kMaxBaseDepth)
    fail(from, ": 'base' chain is deeper than ", kMaxBaseDepth, " (a cycle?)");
  if (const std::string *preset = systemPresetText(nameOrPath)) {
    apply(s, *preset, "system preset " + nameOrPath, {}, depth);
    return;
  }
  std::filesystem::path path(nameOrPath);
  if (path.is_relative() && !dir.empty())
    path = dir / path;
  std::ifstream in(path);
  if (!in) {
    std::string names;
    for (const std::string &n : systemPresetNames())
      names += (names.empty() ? "" : ", ") + n;
    fail(from.empty() ? "" : from + ": ", "'", nameOrPath, "' is neither a system preset (", names,
         ") nor a readable YAML file");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  apply(s, ss.str(), path.string(), path.parent_path(), depth);
}

void apply(SystemConfig &s, const std::string &text, const std::string &origin,
           const std::filesystem::path &dir, int depth) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception &e) {
    fail(origin, ":", e.mark.line + 1, ":", e.mark.column + 1, ": invalid YAML: ", e.msg);
  }
  if (!root.IsMap())
    fail(origin, ": a system config must be a YAML map of keys");
  Reader r(origin);
  if (root["base"])
    loadInto(s, r.text(root["base"], "base"), dir, depth + 1, where(origin, root["base"]));
  YAML::Node chipsNode; // checked once the whole file is read
  bool haveChips = false;
  for (const auto &kv : root) {
    if (!kv.first.IsScalar())
      fail(where(origin, kv.first), ": keys must be plain names");
    const std::string key = kv.first.Scalar();
    const YAML::Node &v = kv.second;
    if (key == "base") {
    } else if (key == "name") {
      s.name = r.text(v, key);
    } else if (key == "description") {
      s.description = r.text(v, key);
    } else if (key == "chip") {
      s.chipName = r.text(v, key);
      std::filesystem::path chipPath(s.chipName);
      std::string chipRef = s.chipName;
      if (!presetText(s.chipName) && chipPath.is_relative() && !dir.empty())
        chipRef = (dir / chipPath).string();
      try {
        s.chip = loadChip(chipRef);
      } catch (const Error &e) {
        fail(where(origin, v), ": key 'chip': ", e.what());
      }
    } else if (key == "chips") {
      chipsNode = v;
      haveChips = true;
    } else if (key == "topology") {
      const std::string kind = r.text(v, key);
      if (kind == "torus")
        s.topology = TopologyKind::Torus;
      else if (kind == "ring")
        s.topology = TopologyKind::Ring;
      else if (kind == "switch")
        s.topology = TopologyKind::Switch;
      else
        fail(where(origin, v), ": key 'topology': '", kind, "' is not torus, ring or switch");
    } else if (key == "levels") {
      if (!v.IsSequence() || v.size() == 0)
        fail(where(origin, v), ": key 'levels': expected a non-empty list of levels");
      s.levels.clear();
      for (size_t i = 0; i < v.size(); ++i) {
        const YAML::Node lv = r.map(v[i], "levels");
        TopologyLevel level;
        bool haveSize = false, haveBw = false, haveLat = false;
        for (const auto &f : lv) {
          const std::string k = "levels[" + std::to_string(i) + "]." + f.first.Scalar();
          const std::string leaf = f.first.Scalar();
          if (leaf == "size") {
            level.size = r.integer(f.second, k, 1, kMaxChips);
            haveSize = true;
          } else if (leaf == "chip_bytes_per_second") {
            level.chip_bytes_per_second = r.number(f.second, k, 1, 1e16);
            haveBw = true;
          } else if (leaf == "hop_latency_seconds") {
            level.hop_latency_seconds = r.number(f.second, k, 0, 1);
            haveLat = true;
          } else {
            r.unknown(f.first, k, "size, chip_bytes_per_second, hop_latency_seconds");
          }
        }
        if (!haveSize || !haveBw || !haveLat)
          fail(where(origin, lv), ": levels[", i, "] needs size, chip_bytes_per_second and hop_latency_seconds");
        s.levels.push_back(level);
      }
    } else if (key == "scale_out") {
      for (const auto &f : r.map(v, key)) {
        const std::string k = "scale_out." + f.first.Scalar();
        const std::string leaf = f.first.Scalar();
        if (leaf == "systems")
          s.scaleOut.systems = r.integer(f.second, k, 1, kMaxChips);
        else if (leaf == "chip_bytes_per_second")
          s.scaleOut.chip_bytes_per_second = r.number(f.second, k, 1, 1e16);
        else if (leaf == "latency_seconds")
          s.scaleOut.latency_seconds = r.number(f.second, k, 0, 1);
        else
          r.unknown(f.first, k, "systems, chip_bytes_per_second, latency_seconds");
      }
    } else if (key == "collectives") {
      for (const auto &f : r.map(v, key)) {
        const std::string k = "collectives." + f.first.Scalar();
        const std::string leaf = f.first.Scalar();
        if (leaf == "mesh_max_bytes")
          s.collectives.mesh_max_bytes = r.number(f.second, k, 0, 1e18);
        else if (leaf == "rdh_max_bytes")
          s.collectives.rdh_max_bytes = r.number(f.second, k, 0, 1e18);
        else
          r.unknown(f.first, k, "mesh_max_bytes, rdh_max_bytes");
      }
    } else if (key == "energy") {
      for (const auto &f : r.map(v, key)) {
        const std::string k = "energy." + f.first.Scalar();
        if (f.first.Scalar() == "switch_byte_joules")
          s.switch_byte_joules = r.number(f.second, k, 0, 1);
        else if (f.first.Scalar() == "scale_out_byte_joules")
          s.scale_out_byte_joules = r.number(f.second, k, 0, 1);
        else
          r.unknown(f.first, k, "switch_byte_joules, scale_out_byte_joules");
      }
    } else {
      r.unknown(kv.first, key,
                "base, name, description, chip, chips, topology, levels, scale_out, collectives, energy");
    }
  }
  // `chips` states the total and is checked against the levels (after the
  // whole file, whatever the key order).
  if (haveChips) {
    const int chips = r.integer(chipsNode, "chips", 1, kMaxChips);
    if (!s.levels.empty() && chips != static_cast<long long>(s.chipsPerSystem()) * s.scaleOut.systems)
      fail(where(origin, chipsNode), ": key 'chips': ", chips, " but the levels give ", s.chipsPerSystem(),
           " per system x ", s.scaleOut.systems, " system(s)");
  }
}

void validate(const SystemConfig &s, const std::string &origin) {
  auto bad = [&](const std::string &msg) { fail(origin, ": ", msg); };
  if (s.name.empty())
    bad("key 'name' is missing");
  if (s.chipName.empty())
    bad("key 'chip' is missing (a chip preset or chip YAML file)");
  if (s.levels.empty())
    bad("key 'levels' is missing");
  if (s.topology == TopologyKind::Ring && s.levels.size() != 1)
    bad("a ring has exactly one level");
  if (s.topology == TopologyKind::Torus && s.levels.size() > 3)
    bad("a torus has at most 3 levels (dimensions)");
  long long chips = 1;
  for (const TopologyLevel &l : s.levels)
    chips *= l.size;
  if (chips * s.scaleOut.systems > kMaxChips)
    bad("the system has more than 65536 chips");
  if (s.scaleOut.systems > 1 && (s.scaleOut.chip_bytes_per_second <= 0))
    bad("scale_out.systems > 1 needs scale_out.chip_bytes_per_second");
  if (s.collectives.mesh_max_bytes > s.collectives.rdh_max_bytes)
    bad("collectives.mesh_max_bytes exceeds collectives.rdh_max_bytes");
}

} // namespace

std::vector<std::string> systemPresetNames() {
  std::vector<std::string> names;
  for (const auto &kv : embeddedSystemPresets())
    names.push_back(kv.first);
  return names;
}

const std::string *systemPresetText(const std::string &name) {
  auto it = embeddedSystemPresets().find(name);
  return it == embeddedSystemPresets().end() ? nullptr : &it->second;
}

SystemConfig loadSystemFromText(const std::string &yamlText, const std::string &origin, const std::string &dir) {
  SystemConfig s;
  apply(s, yamlText, origin, dir, 0);
  validate(s, origin);
  return s;
}

SystemConfig loadSystem(const std::string &nameOrPath) {
  SystemConfig s;
  loadInto(s, nameOrPath, {}, 0, "");
  validate(s, systemPresetText(nameOrPath) ? "system preset " + nameOrPath : nameOrPath);
  return s;
}

std::string systemToYaml(const SystemConfig &s) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value << s.name;
  e << YAML::Key << "description" << YAML::Value << s.description;
  e << YAML::Key << "chip" << YAML::Value << s.chipName;
  e << YAML::Key << "chips" << YAML::Value << s.chips();
  e << YAML::Key << "topology" << YAML::Value << std::string(topologyKindName(s.topology));
  e << YAML::Key << "levels" << YAML::Value << YAML::BeginSeq;
  for (const TopologyLevel &l : s.levels)
    e << YAML::Flow << YAML::BeginMap << YAML::Key << "size" << YAML::Value << l.size << YAML::Key
      << "chip_bytes_per_second" << YAML::Value << l.chip_bytes_per_second << YAML::Key << "hop_latency_seconds"
      << YAML::Value << l.hop_latency_seconds << YAML::EndMap;
  e << YAML::EndSeq;
  e << YAML::Key << "scale_out" << YAML::Value << YAML::BeginMap << YAML::Key << "systems" << YAML::Value
    << s.scaleOut.systems << YAML::Key << "chip_bytes_per_second" << YAML::Value << s.scaleOut.chip_bytes_per_second
    << YAML::Key << "latency_seconds" << YAML::Value << s.scaleOut.latency_seconds << YAML::EndMap;
  e << YAML::Key << "collectives" << YAML::Value << YAML::BeginMap << YAML::Key << "mesh_max_bytes" << YAML::Value
    << s.collectives.mesh_max_bytes << YAML::Key << "rdh_max_bytes" << YAML::Value << s.collectives.rdh_max_bytes
    << YAML::EndMap;
  e << YAML::Key << "energy" << YAML::Value << YAML::BeginMap << YAML::Key << "switch_byte_joules" << YAML::Value
    << s.switch_byte_joules << YAML::Key << "scale_out_byte_joules" << YAML::Value << s.scale_out_byte_joules
    << YAML::EndMap;
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

} // namespace trnx
