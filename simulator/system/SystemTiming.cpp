// System timing (SystemTiming.h): collective plans from the closed forms and
// the routes of each algorithm's messages, one machine run of the
// representative rank, and the system section (bytes per link class, link,
// switch and scale-out energy, power with hosts, network and PUE).
#include "simulator/system/SystemTiming.h"

#include "isa/Error.h"
#include "isa/Verifier.h"
#include "simulator/report/Json.h"
#include "simulator/trace/TraceWriter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

namespace trnx {
namespace {

struct Flow {
  int from, to;
  double bytes;
};

// The messages of one group's collective: who sends how many bytes to whom
// (over the whole collective). Ring: to the next position; mesh and
// recursive halving/doubling: an equal share to every other member (for
// halving/doubling an approximation: the real exchange pairs partners
// 2^k apart); hierarchical: rings inside each system and one ring per
// in-system position across systems; permute: to position g + shift.
void groupFlows(const SystemConfig &system, const CollectiveCost &c, const Instruction &inst,
                const std::vector<int> &group, std::vector<Flow> &out) {
  const size_t n = group.size();
  if (n < 2)
    return;
  if (inst.opcode == Opcode::Permute) {
    const int64_t shift = inst.i32[3];
    for (size_t g = 0; g < n; ++g) {
      int64_t t = static_cast<int64_t>(g) + shift;
      if (inst.flag(0))
        t = ((t % static_cast<int64_t>(n)) + static_cast<int64_t>(n)) % static_cast<int64_t>(n);
      else if (t < 0 || t >= static_cast<int64_t>(n))
        continue;
      if (static_cast<size_t>(t) != g)
        out.push_back(Flow{group[g], group[static_cast<size_t>(t)], c.link_bytes});
    }
    return;
  }
  switch (c.algorithm) {
  case CollectiveAlgorithm::Ring:
    for (size_t g = 0; g < n; ++g)
      out.push_back(Flow{group[g], group[(g + 1) % n], c.link_bytes});
    return;
  case CollectiveAlgorithm::Mesh:
  case CollectiveAlgorithm::RecursiveHalvingDoubling:
    for (size_t a = 0; a < n; ++a)
      for (size_t b = 0; b < n; ++b)
        if (a != b)
          out.push_back(Flow{group[a], group[b], c.link_bytes / static_cast<double>(n - 1)});
    return;
  case CollectiveAlgorithm::Hierarchical: {
    std::map<int, std::vector<int>> units;
    for (int chip : group)
      units[chip / system.chipsPerSystem()].push_back(chip);
    const size_t inner = units.begin()->second.size(), outer = units.size();
    const double d = c.link_bytes; // per rank: 2 (inner-1)/inner D + 2 (outer-1)/outer D/inner
    const double innerBytes = 2.0 * static_cast<double>(inner - 1) / static_cast<double>(inner);
    const double outerBytes = 2.0 * static_cast<double>(outer - 1) / static_cast<double>(outer) / static_cast<double>(inner);
    const double fullD = d / (innerBytes + outerBytes);
    for (const auto &[key, members] : units)
      for (size_t g = 0; g < members.size(); ++g)
        out.push_back(Flow{members[g], members[(g + 1) % members.size()], fullD * innerBytes});
    std::vector<std::vector<int>> byPosition(inner);
    for (const auto &[key, members] : units)
      for (size_t g = 0; g < members.size(); ++g)
        byPosition[g].push_back(members[g]);
    for (const std::vector<int> &ring : byPosition)
      for (size_t g = 0; g < ring.size(); ++g)
        out.push_back(Flow{ring[g], ring[(g + 1) % ring.size()], fullD * outerBytes});
    return;
  }
  }
}

double collectiveBytes(const Instruction &inst) {
  // CollectiveCost.h: all_gather is sized by its dst, the others by src.
  return static_cast<double>(inst.opcode == Opcode::AllGather ? inst.ap[0].bytes() : inst.ap[1].bytes());
}

class PlanTimer : public CollectiveTimer {
public:
  PlanTimer(const std::vector<CollectivePlan> &plans, int chips, int scaleUpLevels)
      : plans_(plans), chips_(chips), levels_(scaleUpLevels) {
    for (size_t i = 0; i < plans.size(); ++i)
      index_[{plans[i].stream, plans[i].pc}] = i;
  }
  CollectiveTiming timing(uint32_t stream, uint32_t pc) const override {
    auto it = index_.find({stream, pc});
    if (it == index_.end())
      fail("internal: no collective plan for stream ", stream, " pc ", pc);
    const CollectivePlan &p = plans_[it->second];
    CollectiveTiming t;
    t.latency_seconds = p.cost.latency_seconds;
    t.link_bytes = p.cost.link_bytes;
    // A collective that moves nothing (a group of one) completes at once.
    t.link_bytes_per_second = p.cost.bandwidth_seconds > 0 ? p.cost.link_bytes / p.cost.bandwidth_seconds : 1.0;
    t.hbm_sides = p.hbm_sides;
    t.links = &p.links;
    double scaleUp = 0;
    for (int l = 0; l < levels_; ++l)
      scaleUp += p.bytes_by_level[static_cast<size_t>(l)];
    t.chip_link_bytes = scaleUp / chips_;
    return t;
  }

private:
  const std::vector<CollectivePlan> &plans_;
  int chips_, levels_;
  std::map<std::pair<uint32_t, uint32_t>, size_t> index_;
};

std::string fmt(const char *format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

} // namespace

std::vector<std::string> linkClassNames(const SystemConfig &system) {
  std::vector<std::string> names;
  for (size_t l = 0; l < system.levels.size(); ++l)
    names.push_back("level" + std::to_string(l));
  names.push_back("scale_out");
  return names;
}

std::vector<CollectivePlan> planCollectives(const Program &program, const SystemConfig &system,
                                            const Topology &topology) {
  std::vector<CollectivePlan> plans;
  const size_t classes = system.levels.size() + 1;
  // Instructions of the same set, opcode, size and operands share one plan's numbers.
  std::map<std::tuple<int32_t, int, double, int64_t, bool>, size_t> seen;
  for (uint32_t s = 0; s < program.streams.size(); ++s) {
    const Stream &st = program.streams[s];
    for (uint32_t pc = 0; pc < st.code.size(); ++pc) {
      const Instruction &inst = st.code[pc];
      if (inst.info().cost != CostKind::Collective)
        continue;
      CollectivePlan p;
      p.stream = s;
      p.pc = pc;
      p.opcode = inst.opcode;
      p.bytes = collectiveBytes(inst);
      p.hbm_sides = (inst.ap[0].space == MemSpace::HBM) + (inst.ap[1].space == MemSpace::HBM);
      const int32_t set = inst.i32[0];
      const int64_t shift = inst.opcode == Opcode::Permute ? inst.i32[3] : 0;
      const auto key = std::make_tuple(set, static_cast<int>(inst.opcode), p.bytes, shift,
                                       inst.opcode == Opcode::Permute && inst.flag(0));
      auto it = seen.find(key);
      if (it != seen.end()) {
        const CollectivePlan &q = plans[it->second];
        p.group_size = q.group_size;
        p.cost = q.cost;
        p.groups_differ = q.groups_differ;
        p.links = q.links;
        p.bytes_by_level = q.bytes_by_level;
        p.switch_bytes = q.switch_bytes;
        plans.push_back(std::move(p));
        continue;
      }
      std::vector<std::vector<int>> groups;
      if (set >= 0 && static_cast<size_t>(set) < program.replicaGroups.size())
        for (const std::vector<uint16_t> &g : program.replicaGroups[static_cast<size_t>(set)].groups)
          groups.emplace_back(g.begin(), g.end());
      else {
        groups.emplace_back();
        for (int r = 0; r < program.numRanks; ++r)
          groups.back().push_back(r);
      }
      p.group_size = static_cast<int>(groups[0].size());
      bool first = true;
      std::vector<Flow> flows;
      for (const std::vector<int> &g : groups) {
        const CollectiveCost c = collectiveCost(system, topology, inst.opcode, g, p.bytes);
        if (first || c.seconds > p.cost.seconds)
          p.cost = c;
        if (!first && std::fabs(c.seconds - p.cost.seconds) > 1e-9 * std::max(c.seconds, p.cost.seconds))
          p.groups_differ = true;
        first = false;
        groupFlows(system, c, inst, g, flows);
      }
      p.bytes_by_level.assign(classes, 0.0);
      std::set<uint32_t> links;
      for (const Flow &f : flows) {
        const Route r = topology.route(f.from, f.to);
        bool scaleOut = false;
        for (uint32_t l : r.links) {
          links.insert(l);
          const int level = topology.links()[l].level;
          p.bytes_by_level[static_cast<size_t>(std::min<int>(level, static_cast<int>(classes) - 1))] += f.bytes;
          scaleOut = scaleOut || level >= static_cast<int>(system.levels.size());
        }
        if (system.topology == TopologyKind::Switch && !scaleOut && r.hops > 1)
          p.switch_bytes += f.bytes * (r.hops - 1);
      }
      p.links.assign(links.begin(), links.end());
      seen[key] = plans.size();
      plans.push_back(std::move(p));
    }
  }
  return plans;
}

SystemTimingResult simulateSystemTiming(const Program &program, const SystemConfig &system, bool trace,
                                        const std::string &programName, const RunLimits &limits) {
  const ChipConfig &chip = system.chip;
  const std::string who = programName.empty() ? "program" : programName;
  try {
    verifyProgram(program, chip.limits());
  } catch (const Error &e) {
    fail(who, ": ", e.what());
  }
  if (program.numRanks != system.chips())
    fail(who, ": the program has ", program.numRanks, " ranks, system ", system.name, " has ", system.chips(),
         " chips");
  std::unique_ptr<Topology> topology = makeTopology(system);
  SystemTimingResult out;
  SystemSummary &s = out.system;
  s.collectives = planCollectives(program, system, *topology);
  PlanTimer timer(s.collectives, system.chips(), static_cast<int>(system.levels.size()));

  MachineOptions options;
  options.functional = false;
  options.timing = true;
  options.trace = trace;
  options.collectives = &timer;
  options.limits = limits;
  Machine machine(program, chip, options, nullptr);
  out.rank.stats = machine.run();
  out.rank.report = buildReport(program, chip, out.rank.stats, options, programName);

  const RunStats &st = out.rank.stats;
  const int n = system.chips();
  s.system = system.name;
  s.chips = n;
  s.ranks_simulated = 1;
  s.ranks_replicated = n - 1;
  bool differ = false, variable = false;
  for (const CollectivePlan &p : s.collectives) {
    differ = differ || p.groups_differ;
    variable = variable || p.opcode == Opcode::AllToAllV;
  }
  s.replication_note = "every rank runs the same streams and timing does not depend on data: rank 0 simulated, "
                       "its timing replicated to the other " + std::to_string(n - 1) + " ranks";
  if (differ)
    s.replication_note += "; the groups of some replica-group set sit on the topology unequally, so each such "
                          "collective is priced at its slowest group (an upper bound for the others)";
  if (variable)
    s.replication_note += "; all_to_all_v is priced at its full src buffer (counts are data; an upper bound)";
  s.seconds = out.rank.report.seconds;
  s.link_classes = linkClassNames(system);
  s.bytes_by_link_class.assign(s.link_classes.size(), 0.0);
  std::map<std::pair<uint32_t, uint32_t>, size_t> index;
  for (size_t i = 0; i < s.collectives.size(); ++i)
    index[{s.collectives[i].stream, s.collectives[i].pc}] = i;
  std::vector<std::pair<SimTime, SimTime>> spans;
  for (const CollectiveSlice &c : st.collectives) {
    CollectivePlan &p = s.collectives[index.at({c.stream, c.pc})];
    ++p.executions;
    for (size_t l = 0; l < p.bytes_by_level.size(); ++l)
      s.bytes_by_link_class[l] += p.bytes_by_level[l];
    s.switch_bytes += p.switch_bytes;
    spans.emplace_back(c.issue, c.end);
  }
  std::sort(spans.begin(), spans.end());
  SimTime covered = 0, reach = 0;
  for (const auto &[a, b] : spans) {
    const SimTime from = std::max(a, reach);
    if (b > from)
      covered += b - from;
    reach = std::max(reach, b);
  }
  s.collective_seconds = static_cast<double>(covered) / kFemtosecondsPerSecond;
  s.exposed_communication_seconds =
      static_cast<double>(st.criticalPath.time[static_cast<int>(PathCause::Link)]) / kFemtosecondsPerSecond;

  const EnergyBreakdown &e = out.rank.report.levels.chip;
  s.chip_link_joules = n * e.link_joules;
  s.switch_joules = s.switch_bytes * system.switch_byte_joules;
  s.scale_out_joules = s.bytes_by_link_class.back() * system.scale_out_byte_joules;
  SystemPower &w = s.power;
  if (s.seconds > 0) {
    w.chips_watts = n * (e.total() - e.link_joules) / s.seconds;
    w.links_switches_watts = (s.chip_link_joules + s.switch_joules + s.scale_out_joules) / s.seconds;
  }
  w.hosts_watts = n * chip.power.host_watts_per_chip;
  w.network_watts = n * chip.power.network_watts_per_chip;
  w.it_watts = w.chips_watts + w.links_switches_watts + w.hosts_watts + w.network_watts;
  w.pue = chip.power.pue;
  w.facility_watts = w.it_watts * w.pue;
  const std::string chipFile = "chip " + chip.name + " (simulator/presets/" + chip.name + ".yaml names the source)";
  const std::string sysFile = "system " + system.name + " (simulator/presets/systems/" + system.name +
                              ".yaml names the source, or the system file)";
  s.power_sources = {
      "energy.link_byte_joules = " + fmt("%g", chip.energy.link_byte_joules) + " J/B per link traversal: " + chipFile,
      "energy.switch_byte_joules = " + fmt("%g", system.switch_byte_joules) + " J/B per switch crossed: " + sysFile,
      "energy.scale_out_byte_joules = " + fmt("%g", system.scale_out_byte_joules) + " J/B over EFA: " + sysFile,
      "power.host_watts_per_chip = " + fmt("%g", chip.power.host_watts_per_chip) + " W: " + chipFile,
      "power.network_watts_per_chip = " + fmt("%g", chip.power.network_watts_per_chip) + " W: " + chipFile,
      "power.pue = " + fmt("%g", chip.power.pue) + ": " + chipFile,
  };
  return out;
}

void applySystemWorkload(SystemSummary &s, double tokens) {
  SystemWorkload &w = s.workload;
  w = SystemWorkload{};
  w.tokens = tokens;
  if (s.seconds > 0) {
    w.tokens_per_second = tokens / s.seconds;
    w.seconds_per_token = s.seconds / tokens;
  }
  // Joules = watts x seconds, so tokens/J = tokens/s per watt.
  if (s.power.it_watts > 0)
    w.tokens_per_joule_it = w.tokens_per_second / s.power.it_watts;
  if (s.power.facility_watts > 0)
    w.tokens_per_joule_facility = w.tokens_per_second / s.power.facility_watts;
  w.tokens_per_second_per_megawatt_it = 1e6 * w.tokens_per_joule_it;
  w.tokens_per_second_per_megawatt_facility = 1e6 * w.tokens_per_joule_facility;
  s.has_workload = true;
}

std::string systemSummaryToJson(const SystemSummary &s) {
  std::ostringstream os;
  JsonWriter w(os);
  w.beginObject();
  w.field("system", s.system).field("chips", s.chips);
  w.field("ranks_simulated", s.ranks_simulated).field("ranks_replicated", s.ranks_replicated);
  w.field("replication", s.replication_note);
  w.field("seconds", s.seconds);
  w.field("collective_seconds", s.collective_seconds);
  w.field("exposed_communication_seconds", s.exposed_communication_seconds);
  w.key("bytes_by_link_class").beginObject();
  for (size_t i = 0; i < s.link_classes.size(); ++i)
    w.field(s.link_classes[i], s.bytes_by_link_class[i]);
  w.endObject();
  w.field("switch_byte_crossings", s.switch_bytes);
  w.key("energy_joules").beginObject();
  w.field("chip_links", s.chip_link_joules).field("switches", s.switch_joules).field("scale_out", s.scale_out_joules);
  w.endObject();
  w.key("power_watts").beginObject();
  w.field("chips", s.power.chips_watts).field("links_switches", s.power.links_switches_watts);
  w.field("hosts", s.power.hosts_watts).field("network", s.power.network_watts);
  w.field("it", s.power.it_watts).field("pue", s.power.pue).field("facility", s.power.facility_watts);
  w.endObject();
  w.key("power_sources").beginArray();
  for (const std::string &line : s.power_sources)
    w.value(line);
  w.endArray();
  if (s.has_workload) {
    const SystemWorkload &t = s.workload;
    w.key("workload").beginObject();
    w.field("tokens", t.tokens).field("tokens_per_second", t.tokens_per_second);
    w.field("seconds_per_token", t.seconds_per_token);
    w.field("tokens_per_joule_it", t.tokens_per_joule_it).field("tokens_per_joule_facility", t.tokens_per_joule_facility);
    w.field("tokens_per_second_per_megawatt_it", t.tokens_per_second_per_megawatt_it);
    w.field("tokens_per_second_per_megawatt_facility", t.tokens_per_second_per_megawatt_facility);
    w.endObject();
  }
  w.key("collectives").beginArray();
  for (const CollectivePlan &p : s.collectives) {
    w.beginObject();
    w.field("stream", static_cast<int>(p.stream)).field("pc", static_cast<int>(p.pc));
    w.field("op", std::string(opcodeInfo(p.opcode).mnemonic)).field("group_size", p.group_size);
    w.field("bytes", p.bytes).field("algorithm", std::string(collectiveAlgorithmName(p.cost.algorithm)));
    w.field("steps", p.cost.steps).field("closed_form_seconds", p.cost.seconds);
    w.field("latency_seconds", p.cost.latency_seconds).field("bandwidth_seconds", p.cost.bandwidth_seconds);
    w.field("link_bytes_per_rank", p.cost.link_bytes).field("groups_differ", p.groups_differ);
    w.field("executions", p.executions);
    w.endObject();
  }
  w.endArray();
  w.endObject();
  return os.str();
}

std::string systemSummaryText(const SystemSummary &s) {
  std::ostringstream os;
  char buf[256];
  std::snprintf(buf, sizeof buf, "  system    %s: %d chips, %d rank simulated, %d replicated\n", s.system.c_str(),
                s.chips, s.ranks_simulated, s.ranks_replicated);
  os << buf << "            (" << s.replication_note << ")\n";
  std::snprintf(buf, sizeof buf, "  comm      collectives in flight %.3f us, exposed (critical path) %.3f us of %.3f us\n",
                s.collective_seconds * 1e6, s.exposed_communication_seconds * 1e6, s.seconds * 1e6);
  os << buf;
  os << "  links    ";
  for (size_t i = 0; i < s.link_classes.size(); ++i) {
    std::snprintf(buf, sizeof buf, " %s %.4g MB", s.link_classes[i].c_str(), s.bytes_by_link_class[i] / 1e6);
    os << buf;
  }
  std::snprintf(buf, sizeof buf, "; energy chip links %.4g J, switches %.4g J, scale-out %.4g J\n", s.chip_link_joules,
                s.switch_joules, s.scale_out_joules);
  os << buf;
  std::snprintf(buf, sizeof buf,
                "  power     chips %.4g W + links/switches %.4g W + hosts %.4g W + network %.4g W = IT %.4g W; x PUE "
                "%.3g = %.4g W\n",
                s.power.chips_watts, s.power.links_switches_watts, s.power.hosts_watts, s.power.network_watts,
                s.power.it_watts, s.power.pue, s.power.facility_watts);
  os << buf;
  if (s.has_workload) {
    std::snprintf(buf, sizeof buf,
                  "  tokens    %.6g in %.3f us: %.6g tokens/s, %.4g tokens/J (IT), %.4g tokens/s per MW facility\n",
                  s.workload.tokens, s.seconds * 1e6, s.workload.tokens_per_second, s.workload.tokens_per_joule_it,
                  s.workload.tokens_per_second_per_megawatt_facility);
    os << buf;
  }
  for (const CollectivePlan &p : s.collectives) {
    std::snprintf(buf, sizeof buf, "  coll      stream %u pc %u %s x%llu: %d ranks, %.4g B, %s, %.3f us each\n", p.stream,
                  p.pc, std::string(opcodeInfo(p.opcode).mnemonic).c_str(),
                  static_cast<unsigned long long>(p.executions), p.group_size, p.bytes,
                  std::string(collectiveAlgorithmName(p.cost.algorithm)).c_str(), p.cost.seconds * 1e6);
    os << buf;
  }
  return os.str();
}

std::string systemTraceToJson(const Program &program, const SystemTimingResult &r, const ChipConfig &chip) {
  std::string base = traceToJson(program, r.rank.stats, &chip,
                                 r.rank.report.has_bottleneck ? &r.rank.report.bottleneck : nullptr);
  const size_t close = base.rfind(']');
  if (close == std::string::npos)
    fail("internal: trace without an event array");
  std::ostringstream os;
  JsonWriter w(os, false);
  constexpr int kSystemPid = 1000000;
  auto micros = [](SimTime t) { return static_cast<double>(t) / 1e9; };
  w.beginArray();
  w.beginObject().field("name", "process_name").field("ph", "M").field("pid", kSystemPid)
      .key("args").beginObject().field("name", "system " + r.system.system + " (rank 0)").endObject().endObject();
  std::map<std::pair<uint32_t, uint32_t>, const CollectivePlan *> index;
  std::set<uint32_t> streams;
  for (const CollectivePlan &p : r.system.collectives) {
    index[{p.stream, p.pc}] = &p;
    streams.insert(p.stream);
  }
  for (uint32_t s : streams)
    w.beginObject().field("name", "thread_name").field("ph", "M").field("pid", kSystemPid)
        .field("tid", static_cast<int>(s))
        .key("args").beginObject().field("name", "collectives of " + program.streams[s].engine.name()).endObject()
        .endObject();
  // Link-class bandwidth: each collective's bytes spread over its transfer.
  std::vector<std::pair<SimTime, std::vector<double>>> steps;
  const size_t classes = r.system.link_classes.size();
  for (const CollectiveSlice &c : r.rank.stats.collectives) {
    const CollectivePlan &p = *index.at({c.stream, c.pc});
    w.beginObject()
        .field("name", std::string(opcodeInfo(p.opcode).mnemonic) + " (" +
                           std::string(collectiveAlgorithmName(p.cost.algorithm)) + ")")
        .field("cat", "collective").field("ph", "X").field("ts", micros(c.issue))
        .field("dur", micros(c.end - c.issue)).field("pid", kSystemPid).field("tid", static_cast<int>(c.stream));
    w.key("args").beginObject().field("pc", static_cast<int>(c.pc)).field("bytes", p.bytes)
        .field("group_size", p.group_size).field("latency_us", micros(c.start - c.issue))
        .field("transfer_us", micros(c.end - c.start)).endObject();
    w.endObject();
    const double dt = static_cast<double>(c.end - c.start) / kFemtosecondsPerSecond;
    if (dt <= 0)
      continue;
    std::vector<double> up(classes), down(classes);
    for (size_t l = 0; l < classes; ++l) {
      up[l] = p.bytes_by_level[l] / dt;
      down[l] = -up[l];
    }
    steps.emplace_back(c.start, up);
    steps.emplace_back(c.end, down);
  }
  std::stable_sort(steps.begin(), steps.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
  std::vector<double> rate(classes, 0.0);
  for (const auto &[t, delta] : steps) {
    for (size_t l = 0; l < classes; ++l)
      rate[l] = std::max(0.0, rate[l] + delta[l]);
    for (size_t l = 0; l < classes; ++l)
      w.beginObject().field("name", "link GB/s " + r.system.link_classes[l] + " (system)").field("ph", "C")
          .field("ts", micros(t)).field("pid", kSystemPid)
          .key("args").beginObject().field("GB/s", rate[l] / 1e9).endObject().endObject();
  }
  w.endArray();
  std::string extra = os.str(); // "[...]"
  extra = extra.substr(1, extra.size() - 2);
  if (extra.empty())
    return base;
  const bool emptyBase = base.find_last_not_of(" \n\t", close - 1) == base.rfind('[', close);
  return base.substr(0, close) + (emptyBase ? "" : ",") + extra + base.substr(close);
}

} // namespace trnx
