// _trnx: the C++ side of the Python package. Thin bindings over the compile
// driver, programs, chip configs and the simulator; everything user-facing
// (Result, Report, pandas tables, plots) lives in the pure-Python package
// python/trnx/. trnx::Error becomes the Python exception trnx.TrnxError with
// the message the CLI tools print after "error: ".
#include "trnx/Driver/Compile.h"

#include "isa/AsmParser.h"
#include "isa/AsmPrinter.h"
#include "isa/Container.h"
#include "isa/Error.h"
#include "isa/Version.h"
#include "simulator/Simulator.h"
#include "simulator/config/ConfigFields.h"
#include "simulator/config/ConfigLoader.h"
#include "simulator/report/Report.h"
#include "simulator/system/SpmdFunctional.h"
#include "simulator/system/SystemConfig.h"
#include "simulator/system/SystemTiming.h"
#include "simulator/system/Topology.h"
#include "simulator/trace/TraceWriter.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <sstream>

namespace py = pybind11;
using namespace trnx;

namespace {

CompileOptions compileOptions(const std::string &target, const ChipConfig *chip, const std::string &autoCast,
                              const std::string &autoCastType, const std::string &entry,
                              const std::map<std::string, std::vector<int64_t>> &shapes, bool weightsAsArgs) {
  CompileOptions o;
  o.target = target;
  if (chip)
    o.chip = *chip;
  o.autoCast = autoCast;
  o.autoCastType = autoCastType;
  o.entry = entry;
  o.shapes = shapes;
  o.weightsAsArguments = weightsAsArgs;
  o.pythonNames = true; // errors speak trnx.compile's keywords
  return o;
}

// numpy -> the host array the simulator reads (C order, the array's own dtype).
HostArray toHostArray(const std::string &name, const py::array &in) {
  py::array a = py::array::ensure(in, py::array::c_style);
  if (!a)
    fail("input '", name, "' is not convertible to a C-ordered array");
  HostArray h;
  std::string descr = py::str(a.dtype().attr("str"));
  if (descr.size() == 3 && descr[0] == '=')
    descr[0] = '<';
  h.descr = descr;
  for (py::ssize_t i = 0; i < a.ndim(); ++i)
    h.shape.push_back(a.shape(i));
  h.data.resize(static_cast<size_t>(a.nbytes()));
  if (!h.data.empty())
    std::memcpy(h.data.data(), a.data(), h.data.size());
  return h;
}

py::array toNumpy(const HostArray &h) {
  py::dtype dtype(h.descr);
  std::vector<py::ssize_t> shape(h.shape.begin(), h.shape.end());
  py::array out(dtype, shape);
  if (!h.data.empty())
    std::memcpy(out.mutable_data(), h.data.data(), h.data.size());
  return out;
}

py::object fieldValue(const ConfigField &f, const ChipConfig &c) {
  switch (f.type) {
  case FieldType::Int: return py::int_(static_cast<long long>(f.getNumber(c)));
  case FieldType::Double: return py::float_(f.getNumber(c));
  case FieldType::Bool: return py::bool_(f.getNumber(c) != 0);
  case FieldType::String:
  case FieldType::DTypeList: return py::str(f.get(c));
  }
  return py::none();
}

const ConfigField &field(const std::string &key) {
  const ConfigField *f = findConfigField(key);
  if (!f)
    fail("unknown chip key '", key, "'");
  return *f;
}

void setField(ChipConfig &c, const std::string &key, const py::object &value) {
  const ConfigField &f = field(key);
  if (py::isinstance<py::bool_>(value)) {
    f.set(c, value.cast<bool>() ? "true" : "false");
  } else if (f.type == FieldType::Int || f.type == FieldType::Double) {
    if (!py::isinstance<py::int_>(value) && !py::isinstance<py::float_>(value))
      fail("chip key '", key, "' takes a number, not ", std::string(py::str(value.get_type().attr("__name__"))));
    f.set(c, std::string(py::str(value)));
  } else {
    f.set(c, std::string(py::str(value)));
  }
}

std::string fieldTypeName(FieldType t) {
  switch (t) {
  case FieldType::Int: return "int";
  case FieldType::Double: return "float";
  case FieldType::Bool: return "bool";
  case FieldType::String: return "str";
  case FieldType::DTypeList: return "dtype list";
  }
  return "?";
}

// The run limits of simulate(max_instructions=, max_simulated_seconds=):
// 0 keeps the default (simulate.py validates the values).
RunLimits runLimits(uint64_t maxInstructions, double maxSimulatedSeconds) {
  RunLimits limits;
  if (maxInstructions)
    limits.maxInstructions = maxInstructions;
  if (maxSimulatedSeconds != 0)
    limits.maxSimulatedSeconds = maxSimulatedSeconds;
  return limits;
}

} // namespace

PYBIND11_MODULE(_trnx, m) {
  m.doc() = "trnx C++ core: compiler driver, programs, chip configs, simulator";
  py::register_exception<Error>(m, "TrnxError", PyExc_RuntimeError);
  m.attr("version") = version();
  m.attr("git_revision") = gitRevision();
  m.attr("version_string") = versionString();
  // "file:line:col: error: what" or "error: what", as the C++ tools print (isa/Error.h).
  m.def("diagnostic_line", &diagnosticLine, py::arg("severity"), py::arg("message"));

  py::class_<ChipConfig>(m, "ChipConfig")
      .def_readonly("name", &ChipConfig::name)
      .def("get", [](const ChipConfig &c, const std::string &key) { return fieldValue(field(key), c); })
      .def("set", &setField)
      .def("copy", [](const ChipConfig &c) { return ChipConfig(c); })
      .def("validate", [](const ChipConfig &c, const std::string &origin) { validateChip(c, origin); })
      .def("to_yaml", [](const ChipConfig &c) { return chipToYaml(c); })
      .def("peak_flops_per_second",
           [](const ChipConfig &c, const std::string &dtype) {
             auto t = parseDType(dtype);
             if (!t)
               fail("unknown dtype '", dtype, "'");
             return c.peakFlopsPerSecond(*t);
           });
  m.def("load_chip", &loadChip, py::arg("name_or_path"));
  m.def("chip_from_yaml", &loadChipFromText, py::arg("text"), py::arg("origin"));
  m.def("preset_names", &presetNames);
  m.def("chip_fields", [] {
    py::list out;
    for (const ConfigField &f : configFields()) {
      py::dict d;
      d["key"] = f.key;
      d["type"] = fieldTypeName(f.type);
      d["min"] = f.min;
      d["max"] = f.max;
      d["doc"] = f.doc;
      d["uses"] = keyUseNames(f.uses); // what it affects: codegen, timing, energy, power or no effect
      out.append(d);
    }
    return out;
  });

  py::class_<Program>(m, "Program")
      .def_readonly("target", &Program::target)
      .def_readonly("num_cores", &Program::numCores)
      .def_readonly("num_ranks", &Program::numRanks)
      .def("instruction_count", &Program::instructionCount)
      .def("hbm_extent", &Program::hbmExtent)
      .def("to_bytes",
           [](const Program &p) {
             std::vector<uint8_t> bytes = encodeProgram(p);
             return py::bytes(reinterpret_cast<const char *>(bytes.data()), bytes.size());
           })
      .def("save", [](const Program &p, const std::string &path) { writeProgramFile(path, p); })
      .def("asm",
           [](const Program &p, bool withData) {
             std::ostringstream os;
             PrintOptions options;
             options.withData = withData;
             printProgram(os, p, options);
             return os.str();
           },
           py::arg("with_data") = false)
      .def("tensors", [](const Program &p) {
        py::list out;
        for (const TensorInfo &t : p.tensors) {
          py::dict d;
          d["name"] = t.name;
          d["role"] = std::string(tensorRoleName(t.role));
          d["dtype"] = std::string(dtypeName(t.dtype));
          d["shape"] = py::tuple(py::cast(t.shape));
          d["bytes"] = t.sizeBytes;
          d["has_data"] = !t.data.empty();
          out.append(d);
        }
        return out;
      })
      .def("streams", [](const Program &p) {
        py::list out;
        for (const Stream &s : p.streams) {
          py::dict d;
          d["core"] = s.core;
          d["engine"] = s.engine.name();
          d["instructions"] = s.code.size();
          out.append(d);
        }
        return out;
      });
  m.def("program_from_bytes", [](const py::bytes &b) {
    std::string s = b;
    return decodeProgram(reinterpret_cast<const uint8_t *>(s.data()), s.size());
  });
  m.def("load_program", [](const std::string &path) { return readProgramFile(path); }, py::arg("path"));
  // Assembly text to a program (trnx-as without the file; trnx.parallel builds
  // multi-rank programs from compiled ones this way).
  m.def("assemble", [](const std::string &text, const std::string &origin) { return parseAssembly(text, origin); },
        py::arg("text"), py::arg("origin"));

  m.def(
      "compile_file",
      [](const std::string &path, const std::string &target, const ChipConfig *chip, const std::string &autoCast,
         const std::string &autoCastType, const std::string &entry,
         const std::map<std::string, std::vector<int64_t>> &shapes, bool weightsAsArgs) {
        CompileOptions o = compileOptions(target, chip, autoCast, autoCastType, entry, shapes, weightsAsArgs);
        py::gil_scoped_release release;
        return compileFile(path, o);
      },
      py::arg("path"), py::arg("target"), py::arg("chip"), py::arg("auto_cast"), py::arg("auto_cast_type"),
      py::arg("entry"), py::arg("shapes"), py::arg("weights_as_args"));
  m.def(
      "compile_source",
      [](const std::string &text, const std::string &name, const std::string &target, const ChipConfig *chip,
         const std::string &autoCast, const std::string &autoCastType, const std::string &entry) {
        CompileOptions o = compileOptions(target, chip, autoCast, autoCastType, entry, {}, false);
        py::gil_scoped_release release;
        return compileSource(text, name, o);
      },
      py::arg("text"), py::arg("name"), py::arg("target"), py::arg("chip"), py::arg("auto_cast"),
      py::arg("auto_cast_type"), py::arg("entry"));

  m.def(
      "simulate",
      [](const Program &program, const ChipConfig &chip, const py::dict &inputs, bool functional, bool timing,
         bool trace, const std::string &name, bool attributeOps, double tokens, uint64_t maxInstructions,
         double maxSimulatedSeconds) {
        std::map<std::string, HostArray> arrays;
        for (auto item : inputs) {
          std::string key = py::str(item.first);
          arrays[key] = toHostArray(key, py::array::ensure(item.second));
        }
        MachineOptions options;
        options.functional = functional;
        options.timing = timing;
        options.trace = trace;
        options.limits = runLimits(maxInstructions, maxSimulatedSeconds);
        SimulationResult result;
        std::string traceJson;
        {
          py::gil_scoped_release release;
          result = simulate(program, chip, arrays, options, name, attributeOps);
          if (tokens > 0 && timing)
            applyWorkload(result.report, tokens);
          if (trace)
            traceJson = traceToJson(program, result.stats, &chip,
                                    result.report.has_bottleneck ? &result.report.bottleneck : nullptr);
        }
        py::dict out;
        py::dict outputs;
        for (const auto &kv : result.outputs)
          outputs[py::str(kv.first)] = toNumpy(kv.second);
        out["outputs"] = outputs;
        out["report_json"] = reportToJson(result.report);
        out["trace_json"] = trace ? py::object(py::str(traceJson)) : py::object(py::none());
        return out;
      },
      py::arg("program"), py::arg("chip"), py::arg("inputs"), py::arg("functional"), py::arg("timing"),
      py::arg("trace"), py::arg("name"), py::arg("attribute_ops"), py::arg("tokens"),
      py::arg("max_instructions") = 0, py::arg("max_simulated_seconds") = 0.0);

  // Multi-chip systems (docs/multichip.md): presets, the resolved YAML, routes
  // and the functional multi-rank run.
  m.def("system_preset_names", &systemPresetNames);
  m.def("system_yaml", [](const std::string &nameOrPath) { return systemToYaml(loadSystem(nameOrPath)); },
        py::arg("name_or_path"));
  m.def(
      "system_route",
      [](const std::string &nameOrPath, int from, int to) {
        SystemConfig system = loadSystem(nameOrPath);
        std::unique_ptr<Topology> topology = makeTopology(system);
        Route r = topology->route(from, to);
        py::list links;
        for (uint32_t l : r.links)
          links.append(topology->links()[l].name);
        py::dict out;
        out["hops"] = r.hops;
        out["latency_seconds"] = r.latency_seconds;
        out["bottleneck_bytes_per_second"] = r.bottleneck_bytes_per_second;
        out["links"] = links;
        return out;
      },
      py::arg("name_or_path"), py::arg("from_chip"), py::arg("to_chip"));
  m.def(
      "simulate_system",
      [](const Program &program, const std::string &systemName, const py::dict &inputs, uint64_t maxInstructions,
         double maxSimulatedSeconds) {
        std::map<std::string, HostArray> arrays;
        for (auto item : inputs) {
          std::string key = py::str(item.first);
          arrays[key] = toHostArray(key, py::array::ensure(item.second));
        }
        SystemConfig system = loadSystem(systemName);
        if (program.numRanks != system.chips())
          fail("the program has ", program.numRanks, " ranks, system ", system.name, " has ", system.chips(),
               " chips");
        std::vector<std::map<std::string, HostArray>> outputs;
        {
          py::gil_scoped_release release;
          outputs = simulateSpmdFunctional(program, system.chip, arrays, runLimits(maxInstructions, maxSimulatedSeconds));
        }
        py::list ranks;
        for (const auto &rank : outputs) {
          py::dict d;
          for (const auto &kv : rank)
            d[py::str(kv.first)] = toNumpy(kv.second);
          ranks.append(d);
        }
        return ranks;
      },
      py::arg("program"), py::arg("system"), py::arg("inputs"), py::arg("max_instructions") = 0,
      py::arg("max_simulated_seconds") = 0.0);
  // System timing (one rank simulated and replicated): the rank's report and
  // the system section as JSON, and the trace when asked.
  m.def(
      "simulate_system_timing",
      [](const Program &program, const std::string &systemName, bool trace, const std::string &name,
         uint64_t maxInstructions, double maxSimulatedSeconds, double tokens) {
        SystemConfig system = loadSystem(systemName);
        SystemTimingResult r;
        std::string traceJson;
        {
          py::gil_scoped_release release;
          r = simulateSystemTiming(program, system, trace, name, runLimits(maxInstructions, maxSimulatedSeconds));
          if (trace)
            traceJson = systemTraceToJson(program, r, system.chip);
        }
        if (tokens > 0) // tokens of the whole system (trnx-sim --system --tokens)
          applySystemWorkload(r.system, tokens);
        py::dict out;
        out["report_json"] = reportToJson(r.rank.report);
        out["system_json"] = systemSummaryToJson(r.system);
        out["trace_json"] = trace ? py::object(py::str(traceJson)) : py::object(py::none());
        return out;
      },
      py::arg("program"), py::arg("system"), py::arg("trace"), py::arg("name"), py::arg("max_instructions") = 0,
      py::arg("max_simulated_seconds") = 0.0, py::arg("tokens") = 0.0);
}
