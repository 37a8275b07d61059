// simulate(): verification, inputs, the machine run, outputs and report.
#include "simulator/Simulator.h"

#include "isa/Error.h"
#include "isa/Verifier.h"

#include <cstring>

namespace trnx {

SimulationResult simulate(const Program &program, const ChipConfig &chip,
                          const std::map<std::string, HostArray> &inputs,
                          const MachineOptions &options, const std::string &programName,
                          bool attributeOps) {
  const std::string who = programName.empty() ? "program" : programName;
  try {
    verifyProgram(program, chip.limits());
  } catch (const Error &e) {
    fail(who, ": ", e.what());
  }
  // Multi-rank programs and collectives need the system simulation
  // (docs/multichip.md), which this single-chip run does not do.
  if (program.numRanks > 1)
    fail(who, ": a program of ", program.numRanks, " ranks needs a system simulation (trnx-sim --system, "
         "functional only so far; docs/multichip.md)");
  for (const Stream &s : program.streams)
    for (size_t i = 0; i < s.code.size(); ++i)
      if (s.code[i].info().cost == CostKind::Collective)
        fail(who, ": ", describeInstruction(program, s, i), ": collectives run in a system simulation "
             "(trnx-sim --system, functional only so far; docs/multichip.md)");
  std::string inputNames;
  for (const TensorInfo &t : program.tensors)
    if (t.role == TensorRole::Input)
      inputNames += (inputNames.empty() ? "" : ", ") + t.name;
  for (const auto &kv : inputs) {
    int i = program.findTensor(kv.first);
    if (i < 0 || program.tensors[i].role != TensorRole::Input)
      fail("'", kv.first, "' is not an input of ", who, " (inputs: ",
           inputNames.empty() ? "none" : inputNames, ")");
  }

  std::unique_ptr<DeviceMemory> memory;
  RunGuard::check(options.limits);
  if (options.functional) {
    // The HBM image is allocated whole: checked against the host first.
    const uint64_t host = hostMemoryLimit(options.limits);
    if (program.hbmExtent() > host)
      fail(who, ": functional simulation needs a ", program.hbmExtent(), "-byte HBM image; the limit is ", host,
           " bytes of host memory: simulate it with --mode timing");
    memory = std::make_unique<DeviceMemory>(program, chip);
    for (const TensorInfo &t : program.tensors) {
      if (t.role != TensorRole::Input)
        continue;
      auto it = inputs.find(t.name);
      if (it == inputs.end())
        fail("input '", t.name, "' of ", who, " was not given (--input ", t.name, "=FILE.npy)");
      std::vector<uint8_t> bytes = arrayToTensorBytes(it->second, t);
      if (!bytes.empty()) // a zero-size tensor has no bytes (and memcpy no null pointers)
        std::memcpy(memory->hbm() + t.hbmOffset, bytes.data(), bytes.size());
    }
  }

  // The report attributes time and energy to source ops from the executed
  // instructions (the trace slices); they are dropped again unless the caller
  // asked for a trace.
  MachineOptions machineOptions = options;
  machineOptions.trace = options.trace || attributeOps;
  Machine machine(program, chip, machineOptions, memory.get());
  SimulationResult result;
  result.stats = machine.run();
  result.report = buildReport(program, chip, result.stats, options, programName);
  if (!options.trace) {
    result.stats.slices = {};
    result.stats.hbmRate = {};
  }
  if (memory)
    for (const TensorInfo &t : program.tensors)
      if (t.role == TensorRole::Output)
        result.outputs[t.name] = tensorBytesToArray(memory->hbm() + t.hbmOffset, t);
  return result;
}

} // namespace trnx
