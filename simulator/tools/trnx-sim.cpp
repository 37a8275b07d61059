// trnx-sim: runs a .tnx program on a chip (functional and/or timing) and
// writes outputs (.npy), a report (.json) and a trace (Perfetto .json).
#include "isa/Container.h"
#include "isa/OutputFile.h"
#include "isa/ToolArgs.h"
#include "isa/ToolMain.h"
#include "isa/Verifier.h"
#include "isa/Version.h"
#include "simulator/Simulator.h"
#include "simulator/config/ConfigLoader.h"
#include "simulator/system/SpmdFunctional.h"
#include "simulator/system/SystemConfig.h"
#include "simulator/system/SystemTiming.h"
#include "simulator/trace/TraceWriter.h"
#ifdef TRNX_HAVE_COMPILER
#include "simulator/tools/GemmLayers.h"
#include "simulator/tools/ScaleSim.h"
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace {

const char *kUsage =
    "usage: trnx-sim PROGRAM.tnx [options]\n"
    "       trnx-sim --gemm M,N,K | --topology FILE.csv [--dtype T] [--chip C] [--report FILE.json]\n"
    "                [--trace FILE.json (--gemm only)]\n"
    "  --chip NAME|FILE.yaml     chip preset (trn2, trn3, trn4) or YAML file; default: the\n"
    "                            program's target\n"
    "  --input NAME=FILE.npy     value of an input tensor (repeatable)\n"
    "  --input FILE.npy          the next input tensor in table order\n"
    "  --mode functional|timing|both   what to simulate (default both)\n"
    "  --output-dir DIR          write each output tensor to DIR/NAME.npy\n"
    "  --report FILE.json        write the report ('-' for standard output)\n"
    "  --trace FILE.json         write a Perfetto/Chrome trace\n"
    "  --tokens N                the run produced N tokens: adds tokens/s, tokens/J and\n"
    "                            tokens/s per MW to the report (docs/report.md); with\n"
    "                            --system, N tokens of the whole system (report.system.workload)\n"
    "  --print-chip              print the resolved chip config as YAML and exit\n"
    "  --system NAME|FILE.yaml   run a multi-rank program on a system (docs/multichip.md):\n"
    "                            outputs go to DIR/rankR/NAME.npy; timing simulates one rank\n"
    "                            and replicates it, the report gains a \"system\" section\n"
    "  --gemm M,N,K              compile C[M,N] = A[M,K] B[K,N] with the compiler and simulate\n"
    "                            it (timing); prints cycles, PE utilisation and bytes\n"
    "  --topology FILE.csv       the same for every layer of a SCALE-Sim GEMM topology CSV\n"
    "                            ('Layer, M, N, K,' header)\n"
    "  --dtype fp32|bf16|fp8e4m3|fp8e5m2|mxfp8|mxfp4   GEMM operand type (default bf16);\n"
    "                            mxfp8/mxfp4 (block 32, e8m0 scales; trn3/trn4) skip the MLIR\n"
    "                            front end (MLIR 19 has no MX types) and use the MX matmul\n"
    "                            kernel generator directly\n"
    "  --scalesim CONFIG.cfg     with --topology (SCALE-Sim GEMM or conv CSV): SCALE-Sim v3's\n"
    "                            stall-free compute cycles (parity) beside the compiled program\n"
    "                            on --chip; writes OUTPUT_DIR/run_name/COMPUTE_REPORT.csv\n"
    "                            (--output-dir, default .) in SCALE-Sim's columns (docs/timing.md)\n"
    "  --max-instructions N      stop with an error after N executed instructions\n"
    "                            (default 1e10)\n"
    "  --max-simulated-seconds S stop with an error past S seconds of simulated time\n"
    "                            (default 3600, at most 4000); runs longer than 10 s\n"
    "                            of wall time print a progress note on stderr\n"
    "  -q, --quiet               no summary on standard output\n"
    "  --version                 print trnx's version and exit\n"
    "Valued options take --name VALUE or --name=VALUE.\n";

std::string safeFileName(const std::string &name) {
  std::string out;
  for (char c : name)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.') ? c : '_';
  if (out.empty() || out[0] == '.')
    out = "_" + out;
  return out;
}

void writeText(const std::string &path, const std::string &text) {
  if (path == "-") {
    std::cout << text;
    return;
  }
  trnx::writeFileAtomically(path, text); // whole or not at all
}

std::string engineline(const trnx::Report &r) {
  std::string s;
  char buf[64];
  for (const trnx::EngineUsage &u : r.engines) {
    std::snprintf(buf, sizeof buf, "%s %.1f%%  ", u.name.c_str(), 100 * u.busy_fraction);
    s += buf;
  }
  return s;
}

// The top source ops by busy time, as a profiler lists them.
void printOps(const trnx::Report &r) {
  if (r.ops.empty())
    return;
  const size_t shown = std::min<size_t>(r.ops.size(), 10);
  std::printf("  top ops   (%zu of %zu; busy us summed over streams)\n", shown, r.ops.size());
  std::printf("    %-36s %6s %6s %9s %9s %9s %9s %9s %8s\n", "op", "time%", "energy", "pe us", "act us",
              "dve us", "pool us", "dma us", "mJ");
  for (size_t i = 0; i < shown; ++i) {
    const trnx::OpUsage &u = r.ops[i];
    std::string name = u.op;
    if (!u.loc.empty()) {
      size_t slash = u.loc.rfind('/');
      name += " @" + (slash == std::string::npos ? u.loc : u.loc.substr(slash + 1));
    }
    if (name.size() > 36)
      name = name.substr(0, 33) + "...";
    double us[trnx::kNumEngineKinds] = {};
    for (const trnx::EngineUsage &e : r.engines)
      for (int k = 0; k < trnx::kNumEngineKinds; ++k)
        if (e.name == trnx::engineKindName(static_cast<trnx::EngineKind>(k)) && e.clock_hz > 0)
          us[k] = u.busy_cycles[k] / e.clock_hz * 1e6;
    std::printf("    %-36s %5.1f%% %5.1f%% %9.3f %9.3f %9.3f %9.3f %9.3f %8.4f\n", name.c_str(),
                100 * u.time_share, 100 * u.energy_share, us[0], us[1], us[2], us[3], us[5],
                u.energy_joules * 1e3);
  }
}

void printSummary(const trnx::Report &r, const trnx::MachineOptions &options) {
  std::printf("trnx-sim: %s on %s (mode %s, %d core%s, %llu instructions)\n", r.program.c_str(),
              r.chip.c_str(), r.mode.c_str(), r.cores_used, r.cores_used == 1 ? "" : "s",
              static_cast<unsigned long long>(r.instructions));
  if (!options.timing)
    return;
  std::printf("  time      %.3f us (%.0f PE cycles at %.2f GHz)\n", r.seconds * 1e6, r.cycles,
              r.pe_clock_hz / 1e9);
  std::printf("  compute   %.3f TFLOP/s of %.1f peak (%.1f%%)\n", r.achieved_flops_per_second / 1e12,
              r.peak_flops_per_second / 1e12,
              100 * r.achieved_flops_per_second / r.peak_flops_per_second);
  std::printf("  hbm       %.1f GB/s of %.1f peak (%.1f%%), %.0f bytes\n",
              r.achieved_hbm_bytes_per_second / 1e9, r.peak_hbm_bytes_per_second / 1e9,
              100 * r.achieved_hbm_bytes_per_second / r.peak_hbm_bytes_per_second, r.hbm_bytes);
  const trnx::EnergyLevels &l = r.levels;
  std::printf("  energy    chip %.3f mJ (%.1f W), node %.3f mJ (%.1f W), facility %.3f mJ (%.1f W)\n",
              l.chip_joules * 1e3, l.chipWatts(), l.node_joules * 1e3, l.nodeWatts(),
              l.facility_joules * 1e3, l.facilityWatts());
  std::printf("  engines   %s\n", engineline(r).c_str());
  if (r.has_bottleneck)
    std::printf("  bound     %s\n", r.bottleneck.summary.c_str());
  if (r.has_workload) {
    const trnx::Workload &w = r.workload;
    std::printf("  tokens    %.6g in %.3f us: %.6g tokens/s, %.4g tokens/J chip, %.4g tokens/J facility\n",
                w.tokens, r.seconds * 1e6, w.tokens_per_second, w.tokens_per_joule_chip,
                w.tokens_per_joule_facility);
    std::printf("  per MW    %.4g tokens/s at chip power, %.4g all-in facility, %.4g provisioned\n",
                w.tokens_per_second_per_megawatt_chip, w.tokens_per_second_per_megawatt_facility,
                w.tokens_per_second_per_megawatt_provisioned);
  }
  printOps(r);
}

// --gemm / --topology: each layer compiled and simulated (GemmLayers.h).
int runGemmLayers(const std::string &shape, const std::string &topology, const std::string &dtype,
                  const std::string &chipName, const std::string &programPath, const std::string &reportPath,
                  const std::string &tracePath, bool quiet) {
  if (!programPath.empty())
    trnx::fail("--gemm/--topology take no program ('", programPath, "')");
  if (!shape.empty() && !topology.empty())
    trnx::fail("give --gemm or --topology, not both");
  if (!tracePath.empty() && shape.empty())
    trnx::fail("--trace records one GEMM layer: use --gemm M,N,K");
#ifdef TRNX_HAVE_COMPILER
  trnx::ChipConfig chip = trnx::loadChip(chipName.empty() ? "trn3" : chipName);
  // A bad topology row or layer is reported (one error line each) and the
  // others still run; the exit status is 1 if any failed.
  std::vector<std::string> bad;
  std::vector<trnx::GemmLayer> layers = shape.empty() ? trnx::readGemmTopology(topology, &bad)
                                                      : std::vector<trnx::GemmLayer>{trnx::parseGemmShape(shape)};
  for (const std::string &message : bad)
    std::fprintf(stderr, "%s\n", trnx::diagnosticLine("error", message).c_str());
  std::vector<trnx::GemmLayerResult> results;
  std::string trace;
  for (const trnx::GemmLayer &layer : layers) {
    try {
      results.push_back(trnx::runGemmLayer(layer, dtype, chip, tracePath.empty() ? nullptr : &trace));
    } catch (const trnx::Error &e) {
      if (shape.empty())
        std::fprintf(stderr, "%s\n", trnx::diagnosticLine("error", "layer " + layer.name + ": " + e.what()).c_str());
      else
        trnx::fail(e.what());
      bad.push_back(e.what());
    }
  }
  if (results.empty())
    return 1;
  if (!tracePath.empty())
    writeText(tracePath, trace);
  if (!reportPath.empty())
    writeText(reportPath, trnx::gemmResultsToJson(results, dtype, chip));
  if (!quiet && reportPath != "-")
    trnx::printGemmTable(results, dtype, chip);
  return bad.empty() ? 0 : 1;
#else
  (void)dtype, (void)chipName, (void)reportPath, (void)tracePath, (void)quiet;
  trnx::fail("--gemm/--topology need the compiler (this trnx-sim was built with TRNX_BUILD_COMPILER=OFF)");
#endif
}

// --system: a multi-rank program, one rank per chip of the system: numerics
// of every rank (functional) and the system timing model (timing; one rank
// simulated and replicated, simulator/system/SystemTiming.h).
int runSystem(const trnx::Program &program, const std::string &programPath, const std::string &systemName,
              const std::string &chipName, const std::map<std::string, trnx::HostArray> &inputs,
              const trnx::MachineOptions &options, const std::string &outputDir, const std::string &reportPath,
              const std::string &tracePath, bool quiet, const trnx::ChipConfig &targetChip, double tokens) {
  if (systemName.empty()) {
    try { // a broken program says so before it asks for a system
      trnx::verifyProgram(program, targetChip.limits());
    } catch (const trnx::Error &e) {
      trnx::fail(programPath, ": ", e.what());
    }
    trnx::fail(programPath, ": a program of ", program.numRanks, " ranks runs on a system: pass --system NAME|FILE.yaml");
  }
  trnx::SystemConfig system = trnx::loadSystem(systemName);
  if (!chipName.empty())
    trnx::fail("--chip and --system both name the chip: the system's is ", system.chipName);
  if (!options.timing && (!reportPath.empty() || !tracePath.empty() || tokens > 0))
    trnx::fail("--report, --trace and --tokens need timing (--mode timing or both)");
  if (program.numRanks != system.chips())
    trnx::fail(programPath, ": the program has ", program.numRanks, " ranks, system ", system.name, " has ",
               system.chips(), " chips");
  std::vector<std::map<std::string, trnx::HostArray>> outputs;
  if (options.functional) {
    try {
      outputs = trnx::simulateSpmdFunctional(program, system.chip, inputs, options.limits);
    } catch (const trnx::Error &e) {
      trnx::fail(programPath, ": ", e.what());
    }
  }
  if (options.timing) {
    trnx::SystemTimingResult timed = trnx::simulateSystemTiming(program, system, !tracePath.empty(), programPath,
                                                                   options.limits);
    if (tokens > 0) // tokens made by the whole system (every rank), per system power
      trnx::applySystemWorkload(timed.system, tokens);
    if (!reportPath.empty()) {
      std::string json = trnx::reportToJson(timed.rank.report);
      const size_t close = json.rfind('}');
      json = json.substr(0, close) + ",\n  \"system\": " + trnx::systemSummaryToJson(timed.system) + "\n}\n";
      writeText(reportPath, json);
    }
    if (!tracePath.empty())
      writeText(tracePath, trnx::systemTraceToJson(program, timed, system.chip));
    if (!quiet && reportPath != "-") {
      trnx::MachineOptions shown = options;
      shown.functional = false;
      printSummary(timed.rank.report, shown);
      std::fputs(trnx::systemSummaryText(timed.system).c_str(), stdout);
    }
  }
  if (!outputDir.empty())
    for (size_t r = 0; r < outputs.size(); ++r) {
      const std::filesystem::path dir = std::filesystem::path(outputDir) / ("rank" + std::to_string(r));
      std::filesystem::create_directories(dir);
      for (const auto &[name, array] : outputs[r])
        trnx::writeNpy((dir / (safeFileName(name) + ".npy")).string(), array);
    }
  if (!quiet && options.functional)
    std::printf("trnx-sim: %s on %s (%d x %s, mode functional)%s\n", programPath.c_str(), system.name.c_str(),
                system.chips(), system.chip.name.c_str(),
                outputDir.empty() ? "; outputs not written: pass --output-dir"
                                  : ("; outputs in " + outputDir + "/rankR/").c_str());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  return trnx::runTool([&]() {
    const trnx::ToolArgs args(argc, argv);
    std::string programPath, chipName, outputDir, reportPath, tracePath, systemName;
    std::vector<std::pair<std::string, std::string>> inputArgs;
    trnx::MachineOptions options;
    bool quiet = false, printChip = false;
    double tokens = 0;
    std::string gemmShape, topologyPath, gemmDtype = "bf16", scaleSimCfg;
    auto needValue = [&](int &i, const std::string &flag) -> std::string {
      if (i + 1 >= args.size())
        trnx::fail(flag, " needs a value (see --help)");
      return args[++i];
    };
    for (int i = 1; i < args.size(); ++i) {
      args.checkAttached(i);
      std::string a = args[i];
      if (a == "-h" || a == "--help") {
        std::cout << kUsage;
        return 0;
      } else if (a == "--version") {
        std::cout << trnx::toolVersionLine("trnx-sim") << "\n";
        return 0;
      } else if (a == "--chip") {
        chipName = needValue(i, a);
      } else if (a == "--input") {
        std::string v = needValue(i, a);
        size_t eq = v.find('=');
        if (eq == std::string::npos)
          inputArgs.emplace_back("", v);
        else
          inputArgs.emplace_back(v.substr(0, eq), v.substr(eq + 1));
      } else if (a == "--mode") {
        std::string m = needValue(i, a);
        if (m == "functional")
          options.timing = false;
        else if (m == "timing")
          options.functional = false;
        else if (m != "both")
          trnx::fail("--mode must be functional, timing or both, not '", m, "'");
      } else if (a == "--output-dir") {
        outputDir = needValue(i, a);
      } else if (a == "--report") {
        reportPath = needValue(i, a);
      } else if (a == "--trace") {
        tracePath = needValue(i, a);
      } else if (a == "--tokens") {
        std::string v = needValue(i, a);
        char *end = nullptr;
        tokens = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !std::isfinite(tokens) || tokens <= 0)
          trnx::fail("--tokens must be a positive number, not '", v, "'");
      } else if (a == "--max-instructions") {
        std::string v = needValue(i, a);
        char *end = nullptr;
        const double n = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(n >= 1) || n > 1.8e19 || n != std::floor(n))
          trnx::fail("--max-instructions must be a whole number of at least 1, not '", v, "'");
        options.limits.maxInstructions = static_cast<uint64_t>(n);
      } else if (a == "--max-simulated-seconds") {
        std::string v = needValue(i, a);
        char *end = nullptr;
        options.limits.maxSimulatedSeconds = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0')
          trnx::fail("--max-simulated-seconds must be a number of seconds, not '", v, "'");
        trnx::RunGuard::check(options.limits);
      } else if (a == "--gemm") {
        gemmShape = needValue(i, a);
      } else if (a == "--topology") {
        topologyPath = needValue(i, a);
      } else if (a == "--scalesim") {
        scaleSimCfg = needValue(i, a);
      } else if (a == "--dtype") {
        gemmDtype = needValue(i, a);
      } else if (a == "--system") {
        systemName = needValue(i, a);
      } else if (a == "--print-chip") {
        printChip = true;
      } else if (a == "-q" || a == "--quiet") {
        quiet = true;
      } else if (!a.empty() && a[0] == '-') {
        trnx::fail("unknown option '", a, "' (see --help)");
      } else if (programPath.empty()) {
        programPath = a;
      } else {
        trnx::fail("more than one program given ('", programPath, "' and '", a, "')");
      }
    }
    if (printChip) {
      std::cout << trnx::chipToYaml(trnx::loadChip(chipName.empty() ? "trn3" : chipName));
      return 0;
    }
    if (!scaleSimCfg.empty()) {
#ifdef TRNX_HAVE_COMPILER
      if (!programPath.empty() || !gemmShape.empty() || !inputArgs.empty() || !tracePath.empty() || tokens > 0)
        trnx::fail("--scalesim takes --topology, --chip, --output-dir, --report and -q only");
      return trnx::runScaleSim(scaleSimCfg, topologyPath, chipName, outputDir, reportPath, quiet);
#else
      trnx::fail("--scalesim needs the compiler (this trnx-sim was built with TRNX_BUILD_COMPILER=OFF)");
#endif
    }
    if (!gemmShape.empty() || !topologyPath.empty()) {
      // Layers run timing-only with their own generated inputs.
      const char *unused = !outputDir.empty()    ? "--output-dir"
                           : !inputArgs.empty()  ? "--input"
                           : tokens > 0          ? "--tokens"
                           : !options.functional || !options.timing ? "--mode"
                                                                    : nullptr;
      if (unused)
        trnx::fail(unused, " does not apply to --gemm/--topology (they simulate timing only; compile the layer with "
                           "trnx-compile and run trnx-sim on the program for numerics)");
      return runGemmLayers(gemmShape, topologyPath, gemmDtype, chipName, programPath, reportPath, tracePath, quiet);
    }
    if (programPath.empty())
      trnx::fail("no program given (see --help)");
    if (!tracePath.empty() && !options.timing)
      trnx::fail("--trace needs timing (--mode timing or both)");
    // No output may overwrite an input (the program, an input array, a chip file).
    std::vector<std::string> inputFiles{programPath};
    for (const auto &kv : inputArgs)
      inputFiles.push_back(kv.second);
    if (!chipName.empty())
      inputFiles.push_back(chipName);
    for (const std::string &out : {reportPath, tracePath})
      if (!out.empty() && out != "-")
        trnx::refuseInputAsOutput(out, inputFiles);
    trnx::Program program = trnx::readProgramFile(programPath);
    if (!outputDir.empty())
      for (const trnx::TensorInfo &t : program.tensors)
        if (t.role == trnx::TensorRole::Output)
          trnx::refuseInputAsOutput((std::filesystem::path(outputDir) / (safeFileName(t.name) + ".npy")).string(),
                                    inputFiles);
    trnx::ChipConfig chip = trnx::loadChip(chipName.empty() ? program.target : chipName);

    std::map<std::string, trnx::HostArray> inputs;
    size_t nextPositional = 0;
    std::vector<std::string> inputOrder;
    for (const trnx::TensorInfo &t : program.tensors)
      if (t.role == trnx::TensorRole::Input)
        inputOrder.push_back(t.name);
    for (auto &[name, path] : inputArgs) {
      std::string tensor = name;
      if (tensor.empty()) {
        if (nextPositional >= inputOrder.size())
          trnx::fail("--input ", path, ": the program has only ", inputOrder.size(), " input(s)");
        tensor = inputOrder[nextPositional++];
      }
      if (inputs.count(tensor))
        trnx::fail("input '", tensor, "' given twice");
      inputs[tensor] = trnx::readNpy(path);
    }
    if (!systemName.empty() || program.numRanks > 1)
      return runSystem(program, programPath, systemName, chipName, inputs, options, outputDir, reportPath, tracePath,
                       quiet, chip, tokens);
    options.trace = !tracePath.empty();
    trnx::SimulationResult result = trnx::simulate(program, chip, inputs, options, programPath,
                                                   /*attributeOps=*/true);
    if (tokens > 0)
      trnx::applyWorkload(result.report, tokens);

    if (!outputDir.empty() && options.functional) {
      std::filesystem::create_directories(outputDir);
      for (const auto &[name, array] : result.outputs)
        trnx::writeNpy((std::filesystem::path(outputDir) / (safeFileName(name) + ".npy")).string(), array);
    }
    if (!reportPath.empty())
      writeText(reportPath, trnx::reportToJson(result.report));
    if (!tracePath.empty())
      writeText(tracePath, trnx::traceToJson(program, result.stats, &chip,
                                            result.report.has_bottleneck ? &result.report.bottleneck : nullptr));
    if (!quiet && reportPath != "-") {
      printSummary(result.report, options);
      if (options.functional) {
        for (const auto &kv : result.outputs)
          std::printf("  output    %s%s\n", kv.first.c_str(),
                      outputDir.empty() ? " (not written: pass --output-dir)"
                                        : (" -> " + outputDir + "/" + safeFileName(kv.first) + ".npy").c_str());
      }
    }
    return 0;
  });
}
