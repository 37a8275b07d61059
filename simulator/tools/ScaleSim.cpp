// SCALE-Sim compatibility (ScaleSim.h). The closed forms and file formats
// follow scalesim-project/scale-sim-v3: scalesim/scale_config.py (the .cfg),
// scalesim/topology_utils.py (load_arrays_gemm / load_arrays_conv,
// topo_calc_hyperparams, calc_spatio_temporal_params),
// scalesim/compute/systolic_compute_{ws,os,is}.py (demand matrices, per-fold
// mapping efficiency and compute utilisation),
// scalesim/memory/double_buffered_scratchpad_mem.py (total cycles = the
// largest 0-based ofmap service cycle) and scalesim/simulator.py
// (COMPUTE_REPORT.csv).
#include "simulator/tools/ScaleSim.h"

#include "isa/Error.h"
#include "simulator/config/ConfigLoader.h"
#include "simulator/tools/GemmLayers.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace trnx {
namespace {

std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
  for (char &c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int64_t positiveInt(const std::string &text, const std::string &what, const std::string &where) {
  char *end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end || v <= 0 || v > (int64_t(1) << 31))
    fail(where, ": ", what, " '", text, "' is not a positive integer");
  return v;
}

std::vector<std::string> splitCsv(const std::string &line) {
  std::vector<std::string> cells;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ','))
    cells.push_back(trim(cell));
  while (!cells.empty() && cells.back().empty())
    cells.pop_back(); // SCALE-Sim rows end with a comma
  return cells;
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

} // namespace

int64_t ScaleSimLayer::m() const {
  // topo_calc_hyperparams: ofmap = ceil((ifmap - filter + stride) / stride).
  const int64_t oh = ceilDiv(ifmapH - filterH + strideH, strideH);
  const int64_t ow = ceilDiv(ifmapW - filterW + strideW, strideW);
  return oh * ow;
}

ScaleSimConfig readScaleSimConfig(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    fail(path, ": cannot open file");
  std::map<std::string, std::pair<std::string, int>> arch; // key -> value, line
  std::string section, line, runName;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';')
      continue;
    if (t[0] == '[') {
      if (t.back() != ']')
        fail(path, ":", lineNo, ": unterminated section header '", t, "'");
      section = lower(trim(t.substr(1, t.size() - 2)));
      continue;
    }
    size_t sep = t.find_first_of(":=");
    if (sep == std::string::npos)
      fail(path, ":", lineNo, ": expected 'key: value' or 'key = value', not '", t, "'");
    std::string key = lower(trim(t.substr(0, sep))), value = trim(t.substr(sep + 1));
    if (section == "general" && key == "run_name")
      runName = value;
    else if (section == "architecture_presets")
      arch[key] = {value, lineNo};
  }
  ScaleSimConfig cfg;
  cfg.runName = runName.empty() ? std::filesystem::path(path).stem().string() : runName;
  auto need = [&](const std::string &key, const char *name) -> std::pair<std::string, std::string> {
    auto it = arch.find(key);
    if (it == arch.end())
      fail(path, ": [architecture_presets] has no ", name);
    return {it->second.first, path + ":" + std::to_string(it->second.second)};
  };
  auto integer = [&](const std::string &key, const char *name) {
    auto [v, where] = need(key, name);
    return positiveInt(v, name, where);
  };
  cfg.rows = integer("arrayheight", "ArrayHeight");
  cfg.cols = integer("arraywidth", "ArrayWidth");
  cfg.ifmapSramKb = integer("ifmapsramszkb", "IfmapSramSzkB");
  cfg.filterSramKb = integer("filtersramszkb", "FilterSramSzkB");
  cfg.ofmapSramKb = integer("ofmapsramszkb", "OfmapSramSzkB");
  auto [df, dfWhere] = need("dataflow", "Dataflow");
  cfg.dataflow = lower(df);
  if (cfg.dataflow != "ws" && cfg.dataflow != "os" && cfg.dataflow != "is")
    fail(dfWhere, ": Dataflow must be ws, os or is, not '", df, "'");
  if (arch.count("bandwidth")) {
    auto [bw, bwWhere] = need("bandwidth", "Bandwidth");
    for (const std::string &cell : splitCsv(bw)) {
      char *end = nullptr;
      double v = std::strtod(cell.c_str(), &end);
      if (cell.empty() || *end || !(v > 0) || !std::isfinite(v))
        fail(bwWhere, ": Bandwidth '", cell, "' is not a positive number");
      cfg.bandwidth.push_back(v);
    }
  }
  return cfg;
}

std::vector<ScaleSimLayer> readScaleSimTopology(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    fail(path, ": cannot open file");
  std::vector<ScaleSimLayer> layers;
  std::string line;
  int lineNo = 0;
  int format = 0; // 1 GEMM, 2 conv
  while (std::getline(in, line)) {
    ++lineNo;
    std::vector<std::string> cells = splitCsv(line);
    if (cells.empty() || cells[0].rfind('#', 0) == 0)
      continue;
    const std::string where = path + ":" + std::to_string(lineNo);
    if (!format) {
      if (cells.size() >= 4 && cells[1] == "M" && cells[2] == "N" && cells[3] == "K")
        format = 1;
      else if (cells.size() >= 8 && lower(cells[1]) == "ifmap height" && lower(cells[3]) == "filter height")
        format = 2;
      else
        fail(where, ": expected a SCALE-Sim topology header: 'Layer, M, N, K,' (GEMM) or 'Layer name, IFMAP "
                    "Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,' (conv)");
      continue;
    }
    ScaleSimLayer l;
    l.name = cells[0];
    if (format == 1) {
      // load_arrays_gemm: a 5th field is an N:M sparsity ratio, ignored when dense.
      if (cells.size() != 4 && !(cells.size() == 5 && cells[4] == "1:1"))
        fail(where, ": expected 'name, M, N, K' (", cells.size(), " fields)");
      l.gemm = true;
      l.ifmapH = positiveInt(cells[1], "M", where);
      l.filters = positiveInt(cells[2], "N", where);
      l.ifmapW = l.filterW = positiveInt(cells[3], "K", where);
      l.filterH = l.channels = 1;
      layers.push_back(l);
      continue;
    }
    if (cells.size() != 8 && !(cells.size() == 9 && cells[8] == "1:1"))
      fail(where, ": expected 'name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                  "Strides' (", cells.size(), " fields)");
    l.ifmapH = positiveInt(cells[1], "IFMAP Height", where);
    l.ifmapW = positiveInt(cells[2], "IFMAP Width", where);
    l.filterH = positiveInt(cells[3], "Filter Height", where);
    l.filterW = positiveInt(cells[4], "Filter Width", where);
    l.channels = positiveInt(cells[5], "Channels", where);
    l.filters = positiveInt(cells[6], "Num Filter", where);
    l.strideH = l.strideW = positiveInt(cells[7], "Strides", where);
    if (l.filterH > l.ifmapH)
      fail(where, ": Filter Height ", l.filterH, " is larger than IFMAP Height ", l.ifmapH);
    if (l.filterW > l.ifmapW)
      fail(where, ": Filter Width ", l.filterW, " is larger than IFMAP Width ", l.ifmapW);
    if (l.name.find("DP") != std::string::npos) {
      // Depth-wise: one single-channel layer per channel (load_arrays_conv).
      const int64_t ch = l.channels;
      l.channels = 1;
      for (int64_t c = 0; c < ch; ++c) {
        ScaleSimLayer d = l;
        d.name = l.name + "Channel_" + std::to_string(c);
        layers.push_back(d);
      }
    } else {
      layers.push_back(l);
    }
  }
  if (layers.empty())
    fail(path, ": no layers (expected a SCALE-Sim topology header and rows)");
  return layers;
}

ScaleSimCompute scaleSimCompute(const ScaleSimConfig &cfg, const ScaleSimLayer &layer) {
  ScaleSimCompute c;
  const int64_t R = cfg.rows, C = cfg.cols;
  const int64_t ofmap = layer.m(), filters = layer.n(), window = layer.k();
  if (cfg.dataflow == "os")
    c.sr = ofmap, c.sc = filters, c.t = window;
  else if (cfg.dataflow == "ws")
    c.sr = window, c.sc = filters, c.t = ofmap;
  else
    c.sr = window, c.sc = ofmap, c.t = filters;
  const int64_t rowFolds = ceilDiv(c.sr, R), colFolds = ceilDiv(c.sc, C);
  c.folds = rowFolds * colFolds;
  const int64_t preload = cfg.dataflow == "os" ? 0 : R;
  c.demandRows = c.folds * (preload + R + C - 2 + c.t);
  c.totalCycles = c.demandRows - 1;
  // Per-fold figures in SCALE-Sim's loop order (column folds outer). The
  // cycles_this_fold of the compute classes is rows + cols - 1 of the fold's
  // (unskewed) filter (ws), ofmap (os) or ifmap (is) demand block.
  const int64_t foldCycles = cfg.dataflow == "os" ? (c.t - 1 + R) + C - 1 : (R + R + C + c.t - 2) + C - 1;
  double mapSum = 0, utilSum = 0;
  for (int64_t fc = 0; fc < colFolds; ++fc)
    for (int64_t fr = 0; fr < rowFolds; ++fr) {
      const int64_t rowUsed = std::min(R, c.sr - fr * R), colUsed = std::min(C, c.sc - fc * C);
      const int64_t macUsed = rowUsed * colUsed;
      mapSum += static_cast<double>(macUsed) / static_cast<double>(R * C);
      utilSum += static_cast<double>(macUsed * c.t) / static_cast<double>(R * C * foldCycles);
    }
  c.mappingEfficiency = mapSum / static_cast<double>(c.folds) * 100;
  c.computeUtil = utilSum / static_cast<double>(c.folds) * 100;
  const int64_t macs = ofmap * filters * window;
  c.overallUtil = static_cast<double>(macs * 100) / static_cast<double>(c.totalCycles * R * C);
  return c;
}

ChipConfig scaleSimParityChip(const ChipConfig &base, const ScaleSimConfig &cfg, const ScaleSimLayer &layer) {
  ChipConfig chip = base;
  chip.name = base.name + "-scalesim-" + std::to_string(cfg.rows) + "x" + std::to_string(cfg.cols) + "-" +
              cfg.dataflow;
  const ScaleSimCompute c = scaleSimCompute(cfg, layer);
  chip.cores = 1;
  chip.partitions = static_cast<int>(std::max(cfg.rows, cfg.cols));
  PeArrayConfig &pe = chip.pe_array;
  pe.rows = static_cast<int>(cfg.rows);
  pe.cols = static_cast<int>(cfg.cols);
  pe.dataflow = cfg.dataflow;
  pe.weight_load_overlap = false;
  pe.min_ii_cycles = 0;
  pe.weight_load_rows_per_cycle = 1;
  pe.fill_drain_cycles = static_cast<double>(cfg.rows + cfg.cols - 2);
  pe.double_row = false;
  pe.mxfp8_rate_multiplier = pe.mxfp4_rate_multiplier = 0;
  // One pass per fold: T vectors stream at once, and a PSUM bank holds them.
  const int64_t stream = std::max<int64_t>(512, c.t);
  pe.moving_free_max = static_cast<int>(stream);
  chip.psum_bytes_per_partition = static_cast<double>(stream * 4 * chip.psum_banks);
  // SRAM sizes only cause stalls in SCALE-Sim, and parity is stall-free: give
  // SBUF room for all three operands (fp32, twice over) so any layer compiles.
  const double m = static_cast<double>(layer.m()), n = static_cast<double>(layer.n()),
               k = static_cast<double>(layer.k());
  chip.sbuf_bytes_per_partition =
      std::max(chip.sbuf_bytes_per_partition, std::ceil(8 * (m * k + k * n + m * n) / chip.partitions / 4096) * 4096);
  // SCALE-Sim has no synchronisation cost and no result latency beyond the
  // drain (the C - 1 skew of its ofmap demand): PE control instructions
  // (semaphore waits/signals) and the PSUM write latency would add cycles.
  chip.pe.control_cycles = 0;
  chip.pe.latency_cycles = 0;
  chip.pe.min_ii_cycles = 0;
  validateChip(chip, "the SCALE-Sim parity chip (" + chip.name + ")");
  return chip;
}

std::string pythonFloat(double v) {
  if (std::isnan(v))
    return "nan";
  if (std::isinf(v))
    return v > 0 ? "inf" : "-inf";
  char buf[64];
  for (int p = 1; p <= 17; ++p) {
    std::snprintf(buf, sizeof buf, "%.*g", p, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  std::string s = buf;
  // Python uses exponent notation below 1e-4 and from 1e16.
  const double a = std::fabs(v);
  if (a != 0 && (a < 1e-4 || a >= 1e16)) {
    size_t e = s.find('e');
    if (e == std::string::npos) {
      std::snprintf(buf, sizeof buf, "%.17e", v);
      s = buf;
      e = s.find('e');
    }
    std::string mant = s.substr(0, e), exp = s.substr(e + 1);
    int x = std::atoi(exp.c_str());
    std::snprintf(buf, sizeof buf, "%se%c%02d", mant.c_str(), x < 0 ? '-' : '+', std::abs(x));
    return buf;
  }
  if (s.find('e') != std::string::npos) { // %g chose exponent form: write it out
    std::snprintf(buf, sizeof buf, "%.1f", v);
    s = buf;
  }
  if (s.find('.') == std::string::npos)
    s += ".0";
  return s;
}

std::string scaleSimComputeReport(const std::vector<ScaleSimCompute> &layers) {
  std::string out = "LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, Overall Util %, Mapping "
                    "Efficiency %, Compute Util %,\n";
  for (size_t i = 0; i < layers.size(); ++i) {
    const ScaleSimCompute &c = layers[i];
    out += std::to_string(i) + ", " + std::to_string(c.totalCycles) + ", " + std::to_string(c.totalCycles) + ", 0, " +
           pythonFloat(c.overallUtil) + ", " + pythonFloat(c.mappingEfficiency) + ", " + pythonFloat(c.computeUtil) +
           ",\n";
  }
  return out;
}

int runScaleSim(const std::string &cfgPath, const std::string &topologyPath, const std::string &chipName,
                const std::string &outDir, const std::string &reportPath, bool quiet) {
  if (topologyPath.empty())
    fail("--scalesim needs --topology FILE.csv (a SCALE-Sim GEMM or conv topology)");
  const ScaleSimConfig cfg = readScaleSimConfig(cfgPath);
  const std::vector<ScaleSimLayer> layers = readScaleSimTopology(topologyPath);
  const ChipConfig chip = loadChip(chipName.empty() ? "trn3" : chipName);
  std::vector<ScaleSimCompute> computes;
  std::vector<double> parityCycles;
  std::vector<GemmLayerResult> realistic;
  for (const ScaleSimLayer &l : layers) {
    computes.push_back(scaleSimCompute(cfg, l));
    GemmLayer g;
    g.name = l.name;
    g.m = l.m();
    g.n = l.n();
    g.k = l.k();
    // Parity: the compiled bf16 program on SCALE-Sim's array; its PE busy
    // cycles are the demand rows of SCALE-Sim's folds.
    const ChipConfig parity = scaleSimParityChip(chip, cfg, l);
    GemmLayerResult p = runGemmLayer(g, "bf16", parity);
    double pe = 0;
    for (const EngineUsage &e : p.report.engines)
      if (e.name == "pe")
        pe = e.busy_cycles;
    parityCycles.push_back(pe);
    realistic.push_back(runGemmLayer(g, "bf16", chip));
  }
  // SCALE-Sim writes <log dir>/<run_name>/COMPUTE_REPORT.csv.
  const std::string dir = (std::filesystem::path(outDir.empty() ? "." : outDir) / cfg.runName).string();
  std::filesystem::create_directories(dir);
  const std::string csvPath = (std::filesystem::path(dir) / "COMPUTE_REPORT.csv").string();
  {
    std::ofstream out(csvPath);
    if (!out || !(out << scaleSimComputeReport(computes)))
      fail(csvPath, ": cannot write file");
  }
  if (!reportPath.empty()) {
    std::ofstream out(reportPath);
    if (!out || !(out << gemmResultsToJson(realistic, "bf16", chip)))
      fail(reportPath, ": cannot write file");
  }
  if (quiet)
    return 0;
  std::printf("SCALE-Sim run '%s': %lldx%lld %s array (%s); trnx realistic mode on %s, bf16\n", cfg.runName.c_str(),
              static_cast<long long>(cfg.rows), static_cast<long long>(cfg.cols), cfg.dataflow.c_str(),
              cfgPath.c_str(), chip.name.c_str());
  std::printf("%-20s %7s %7s %7s %6s %14s %14s %14s %12s %9s\n", "layer", "M", "N", "K", "folds",
              "scalesim_v3", "parity", "trnx_cycles", "trnx_us", "trnx_util");
  for (size_t i = 0; i < layers.size(); ++i) {
    const ScaleSimCompute &c = computes[i];
    const Report &r = realistic[i].report;
    std::printf("%-20s %7lld %7lld %7lld %6lld %14lld %14.0f %14.0f %12.3f %8.1f%%\n", layers[i].name.c_str(),
                static_cast<long long>(layers[i].m()), static_cast<long long>(layers[i].n()),
                static_cast<long long>(layers[i].k()), static_cast<long long>(c.folds),
                static_cast<long long>(c.totalCycles), parityCycles[i] - 1, r.cycles, r.seconds * 1e6,
                100 * r.achieved_flops_per_second / r.peak_flops_per_second);
  }
  std::printf("scalesim_v3: SCALE-Sim v3's stall-free Total Cycles (closed form, docs/timing.md), written to %s;\n"
              "parity: PE busy cycles of the compiled program on SCALE-Sim's array, minus 1 (v3 reports the 0-based\n"
              "cycle of the last output, one less than the demand rows the PE is busy for);\n"
              "trnx_cycles/us/util: the compiled program on %s (PE cycles at %.2f GHz, PE utilisation)\n",
              csvPath.c_str(), chip.name.c_str(), chip.pe.clock_hz / 1e9);
  return 0;
}

} // namespace trnx
