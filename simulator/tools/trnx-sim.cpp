// trnx-sim: runs a .tnx program on a chip (functional and/or timing) and
// writes outputs (.npy), a report (.json) and a trace (Perfetto .json).
#include "isa/Container.h"
#include "isa/ToolMain.h"
#include "simulator/Simulator.h"
#include "simulator/config/ConfigLoader.h"
#include "simulator/trace/TraceWriter.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace {

const char *kUsage =
    "usage: trnx-sim PROGRAM.tnx [options]\n"
    "  --chip NAME|FILE.yaml     chip preset (trn2, trn3, trn4) or YAML file; default: the\n"
    "                            program's target\n"
    "  --input NAME=FILE.npy     value of an input tensor (repeatable)\n"
    "  --input FILE.npy          the next input tensor in table order\n"
    "  --mode functional|timing|both   what to simulate (default both)\n"
    "  --output-dir DIR          write each output tensor to DIR/NAME.npy\n"
    "  --report FILE.json        write the report ('-' for standard output)\n"
    "  --trace FILE.json         write a Perfetto/Chrome trace\n"
    "  --print-chip              print the resolved chip config as YAML and exit\n"
    "  -q, --quiet               no summary on standard output\n";

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
  std::ofstream out(path);
  if (!out || !(out << text))
    trnx::fail(path, ": cannot write file");
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
  std::printf("  energy    %.3f mJ, average %.1f W\n", r.energy_joules * 1e3, r.average_power_watts);
  std::printf("  engines   %s\n", engineline(r).c_str());
}

} // namespace

int main(int argc, char **argv) {
  return trnx::runTool([&]() {
    std::string programPath, chipName, outputDir, reportPath, tracePath;
    std::vector<std::pair<std::string, std::string>> inputArgs;
    trnx::MachineOptions options;
    bool quiet = false, printChip = false;
    auto needValue = [&](int &i, const std::string &flag) -> std::string {
      if (i + 1 >= argc)
        trnx::fail(flag, " needs a value (see --help)");
      return argv[++i];
    };
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "-h" || a == "--help") {
        std::cout << kUsage;
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
    if (programPath.empty())
      trnx::fail("no program given (see --help)");
    if (!tracePath.empty() && !options.timing)
      trnx::fail("--trace needs timing (--mode timing or both)");
    trnx::Program program = trnx::readProgramFile(programPath);
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
    options.trace = !tracePath.empty();
    trnx::SimulationResult result = trnx::simulate(program, chip, inputs, options, programPath);

    if (!outputDir.empty() && options.functional) {
      std::filesystem::create_directories(outputDir);
      for (const auto &[name, array] : result.outputs)
        trnx::writeNpy((std::filesystem::path(outputDir) / (safeFileName(name) + ".npy")).string(), array);
    }
    if (!reportPath.empty())
      writeText(reportPath, trnx::reportToJson(result.report));
    if (!tracePath.empty())
      writeText(tracePath, trnx::traceToJson(program, result.stats));
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
