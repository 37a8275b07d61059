// GEMM layers through the compiler and the timing simulator (GemmLayers.h).
// A is laid out K-major (A^T in HBM, as the PE's stationary operand is on
// Trainium), B row-major; the compiler picks tiling, core split and
// double buffering exactly as for any model. MX dtypes (mxfp8, mxfp4) have no
// MLIR 19 element type: those layers skip the front end and are built by the
// compiler's MX matmul kernel generator (emitMatmulMx) directly.
#include "simulator/tools/GemmLayers.h"

#include "compiler/codegen/ProgramBuilder.h"
#include "compiler/codegen/kernels/Kernels.h"

#include "isa/Error.h"
#include "isa/Version.h"
#include "isa/Verifier.h"
#include "simulator/Simulator.h"
#include "simulator/report/Json.h"
#include "simulator/trace/TraceWriter.h"
#include "trnx/Driver/Compile.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace trnx {
namespace {

std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

int64_t positive(const std::string &text, const std::string &what, const std::string &where) {
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

std::string mlirType(const std::string &dtype) {
  if (dtype == "fp32")
    return "f32";
  if (dtype == "bf16")
    return "bf16";
  if (dtype == "fp8e4m3")
    return "f8E4M3FN";
  if (dtype == "fp8e5m2")
    return "f8E5M2";
  fail("--dtype must be fp32, bf16, fp8e4m3, fp8e5m2, mxfp8 or mxfp4, not '", dtype, "'");
}

constexpr int64_t kMxBlock = 32; // elements of K per e8m0 scale (OCP MX v1.0)

bool isMxDtype(const std::string &dtype) { return dtype == "mxfp8" || dtype == "mxfp4"; }

// An MX layer: A^T [K, M] and B [K, N] in MX elements (fp8e4m3, or fp4 packed
// two per byte), e8m0 scales per 32 rows of K, fp32 C; no MLIR front end.
Program mxGemmProgram(const GemmLayer &l, const std::string &dtype, const ChipConfig &chip) {
  cg::Target target;
  target.name = chip.name;
  target.limits = chip.limits();
  cg::ProgramBuilder pb(target);
  cg::MxMatmulSpec s;
  s.aType = s.bType = dtype == "mxfp4" ? DType::FP4E2M1X2 : DType::FP8E4M3;
  s.cType = DType::FP32;
  s.m = l.m;
  s.n = l.n;
  // K up to whole MX blocks: the padding rows hold zero elements (and unit
  // scales), whose products add exactly zero to C, so the numerics of the
  // K = l.k product are unchanged; the timing includes the padded block.
  s.k = (l.k + kMxBlock - 1) / kMxBlock * kMxBlock;
  const int64_t v = valuesPerElement(s.aType);
  if (l.m % v || l.n % v)
    fail("mxfp4 needs even M and N (two fp4 values per byte)");
  s.aT = pb.addTensor("a_t", TensorRole::Input, s.aType, {s.k, l.m / v});
  s.aScale = pb.addTensor("a_t_scale", TensorRole::Input, DType::E8M0, {s.k / kMxBlock, l.m});
  s.b = pb.addTensor("b", TensorRole::Input, s.bType, {s.k, l.n / v});
  s.bScale = pb.addTensor("b_scale", TensorRole::Input, DType::E8M0, {s.k / kMxBlock, l.n});
  s.c = pb.addTensor("c", TensorRole::Output, DType::FP32, {l.m, l.n});
  cg::emitMatmulMx(pb, s, kNoLoc);
  return pb.finish();
}

} // namespace

GemmLayer parseGemmShape(const std::string &text) {
  std::vector<std::string> cells = splitCsv(text);
  if (cells.size() != 3)
    fail("--gemm ", text, ": expected M,N,K");
  GemmLayer layer;
  layer.m = positive(cells[0], "M", "--gemm " + text);
  layer.n = positive(cells[1], "N", "--gemm " + text);
  layer.k = positive(cells[2], "K", "--gemm " + text);
  layer.name = "gemm_" + cells[0] + "x" + cells[1] + "x" + cells[2];
  return layer;
}

std::vector<GemmLayer> readGemmTopology(const std::string &path, std::vector<std::string> *badRows) {
  std::ifstream in(path);
  if (!in)
    fail(path, ": cannot open file");
  std::vector<GemmLayer> layers;
  std::string line;
  int lineNo = 0;
  bool header = false;
  while (std::getline(in, line)) {
    ++lineNo;
    std::vector<std::string> cells = splitCsv(line);
    if (cells.empty() || cells[0].rfind('#', 0) == 0)
      continue;
    const std::string where = path + ":" + std::to_string(lineNo);
    if (!header) {
      header = true;
      if (cells.size() < 4 || cells[1] != "M" || cells[2] != "N" || cells[3] != "K")
        fail(where, ": expected the SCALE-Sim GEMM header 'Layer, M, N, K,'");
      continue;
    }
    try {
      if (cells.size() != 4)
        fail(where, ": expected 'name, M, N, K' (", cells.size(), " fields)");
      GemmLayer layer;
      layer.name = cells[0];
      layer.m = positive(cells[1], "M", where);
      layer.n = positive(cells[2], "N", where);
      layer.k = positive(cells[3], "K", where);
      layers.push_back(layer);
    } catch (const Error &e) {
      if (!badRows)
        throw;
      badRows->push_back(e.what());
    }
  }
  if (layers.empty() && (!badRows || badRows->empty()))
    fail(path, ": no layers (expected a 'Layer, M, N, K,' header and rows)");
  return layers;
}

std::string gemmLayerMlir(const GemmLayer &l, const std::string &dtype) {
  const std::string t = mlirType(dtype);
  const std::string a = "tensor<" + std::to_string(l.k) + "x" + std::to_string(l.m) + "x" + t + ">";
  const std::string b = "tensor<" + std::to_string(l.k) + "x" + std::to_string(l.n) + "x" + t + ">";
  const std::string c = "tensor<" + std::to_string(l.m) + "x" + std::to_string(l.n) + "xf32>";
  std::ostringstream os;
  os << "func.func @main(%a: " << a << " {trnx.name = \"a_t\"}, %b: " << b << " {trnx.name = \"b\"}) -> (" << c
     << " {trnx.name = \"c\"}) {\n"
     << "  %zero = arith.constant 0.0 : f32\n"
     << "  %empty = tensor.empty() : " << c << "\n"
     << "  %init = linalg.fill ins(%zero : f32) outs(%empty : " << c << ") -> " << c << "\n"
     << "  %c = linalg.matmul_transpose_a ins(%a, %b : " << a << ", " << b << ") outs(%init : " << c << ") -> " << c
     << "\n"
     << "  return %c : " << c << "\n}\n";
  return os.str();
}

GemmLayerResult runGemmLayer(const GemmLayer &layer, const std::string &dtype, const ChipConfig &chip,
                             std::string *traceJson) {
  CompileOptions options;
  options.chip = chip;
  options.autoCast = "none"; // the operands already have the requested dtype
  Program program;
  try {
    program = isMxDtype(dtype) ? mxGemmProgram(layer, dtype, chip)
                               : compileSource(gemmLayerMlir(layer, dtype), layer.name + ".mlir", options);
    if (isMxDtype(dtype))
      verifyProgram(program, chip.limits());
  } catch (const Error &e) {
    // compileSource names the layer's MLIR buffer ("NAME.mlir:L:C: ..."); the
    // caller adds "layer NAME: ", so drop the buffer name to avoid saying it twice.
    std::string what = e.what();
    const std::string buffer = layer.name + ".mlir:";
    if (what.rfind(buffer, 0) == 0)
      what = what.substr(what.find(": ") + 2);
    fail(what);
  }
  MachineOptions machine;
  machine.functional = false;
  machine.timing = true;
  machine.trace = traceJson != nullptr;
  GemmLayerResult result;
  result.layer = layer;
  result.instructions = program.instructionCount();
  SimulationResult run = simulate(program, chip, {}, machine, layer.name);
  result.report = std::move(run.report);
  if (traceJson)
    *traceJson = traceToJson(program, run.stats, &chip,
                             result.report.has_bottleneck ? &result.report.bottleneck : nullptr);
  return result;
}

namespace {
double peBusyFraction(const Report &r) {
  for (const EngineUsage &e : r.engines)
    if (e.name == "pe")
      return e.busy_fraction;
  return 0;
}
} // namespace

void printGemmTable(const std::vector<GemmLayerResult> &results, const std::string &dtype, const ChipConfig &chip) {
  std::printf("GEMM layers on %s, %s operands, fp32 accumulation (compiled with trnx-compile's pipeline)\n",
              chip.name.c_str(), dtype.c_str());
  std::printf("%-20s %7s %7s %7s %14s %11s %9s %8s %12s %11s  %s\n", "layer", "M", "N", "K", "pe_cycles", "time_us",
              "pe_util", "pe_busy", "hbm_MB", "energy_mJ", "bound_by");
  double cycles = 0, seconds = 0, flops = 0, bytes = 0, joules = 0, peak = 0;
  for (const GemmLayerResult &r : results) {
    const Report &p = r.report;
    std::printf("%-20s %7lld %7lld %7lld %14.0f %11.3f %8.1f%% %7.1f%% %12.3f %11.4f  %s %.0f%%\n",
                r.layer.name.c_str(), static_cast<long long>(r.layer.m), static_cast<long long>(r.layer.n),
                static_cast<long long>(r.layer.k), p.cycles, p.seconds * 1e6,
                100 * p.achieved_flops_per_second / p.peak_flops_per_second, 100 * peBusyFraction(p),
                p.hbm_bytes / 1e6, p.energy_joules * 1e3, p.bottleneck.bound_by.c_str(),
                100 * p.bottleneck.bound_fraction);
    cycles += p.cycles;
    seconds += p.seconds;
    flops += p.flops;
    bytes += p.hbm_bytes;
    joules += p.energy_joules;
    peak = p.peak_flops_per_second;
  }
  if (results.size() > 1)
    std::printf("%-20s %7s %7s %7s %14.0f %11.3f %8.1f%% %8s %12.3f %11.4f\n", "total", "", "", "", cycles,
                seconds * 1e6, seconds > 0 ? 100 * flops / seconds / peak : 0.0, "", bytes / 1e6, joules * 1e3);
  std::printf("pe_util: achieved FLOP/s over the chip's %s peak (%.1f TFLOP/s); pe_busy: PE busy time share;\n"
              "bound_by: the resource holding up most of the critical path, and its share (docs/report.md)\n",
              dtype.c_str(), peak / 1e12);
}

std::string gemmResultsToJson(const std::vector<GemmLayerResult> &results, const std::string &dtype,
                              const ChipConfig &chip) {
  std::ostringstream os;
  JsonWriter w(os);
  w.beginObject();
  w.field("schema_version", 1).field("trnx_version", versionString()).field("chip", chip.name).field("dtype", dtype);
  double seconds = 0, flops = 0, bytes = 0, joules = 0;
  w.key("layers").beginArray();
  for (const GemmLayerResult &r : results) {
    const Report &p = r.report;
    w.beginObject();
    w.field("name", r.layer.name).field("m", r.layer.m).field("n", r.layer.n).field("k", r.layer.k);
    w.field("instructions", r.instructions);
    w.field("cycles", wholeCycles(p.cycles)).field("seconds", p.seconds).field("flops", p.flops);
    w.field("achieved_flops_per_second", p.achieved_flops_per_second);
    w.field("peak_flops_per_second", p.peak_flops_per_second);
    w.field("pe_utilization", p.achieved_flops_per_second / p.peak_flops_per_second);
    w.field("pe_busy_fraction", peBusyFraction(p));
    w.field("hbm_bytes", p.hbm_bytes).field("achieved_hbm_bytes_per_second", p.achieved_hbm_bytes_per_second);
    w.field("energy_joules", p.energy_joules);
    w.key("bottleneck");
    writeBottleneck(w, p.bottleneck);
    w.endObject();
    seconds += p.seconds;
    flops += p.flops;
    bytes += p.hbm_bytes;
    joules += p.energy_joules;
  }
  w.endArray();
  w.key("total").beginObject();
  w.field("seconds", seconds).field("flops", flops).field("hbm_bytes", bytes).field("energy_joules", joules);
  w.field("achieved_flops_per_second", seconds > 0 ? flops / seconds : 0.0);
  w.endObject();
  w.endObject();
  os << "\n";
  return os.str();
}

} // namespace trnx
