// Test helpers for kernel generators: a target from a chip preset, random
// inputs, running a built program in the simulator, reference matmuls.
#pragma once

#include "compiler/codegen/ProgramBuilder.h"
#include "isa/Verifier.h"
#include "simulator/Simulator.h"
#include "simulator/config/ConfigLoader.h"

#include <cstring>
#include <random>
#include <vector>

namespace trnx::cg::test {

inline Target targetFor(const ChipConfig &chip) {
  Target t;
  t.name = chip.name;
  t.limits = chip.limits();
  return t;
}

inline HostArray array(const std::vector<int64_t> &shape, const std::vector<float> &values) {
  HostArray a;
  a.descr = "<f4";
  a.shape = shape;
  a.data.resize(values.size() * 4);
  std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

inline std::vector<float> values(const HostArray &a) {
  std::vector<float> v(a.elementCount());
  if (a.descr == "<f4")
    std::memcpy(v.data(), a.data.data(), a.data.size());
  return v;
}

inline std::vector<float> randomValues(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

// Rounds like the hardware's fp32 -> dtype conversion.
inline std::vector<float> rounded(std::vector<float> v, DType t) {
  for (float &x : v)
    x = roundTo(t, x);
  return v;
}

// max |got - ref| / max |ref|
inline double relativeError(const std::vector<float> &got, const std::vector<double> &ref) {
  double err = 0, scale = 1e-30;
  for (size_t i = 0; i < ref.size(); ++i) {
    err = std::max(err, std::fabs(got[i] - ref[i]));
    scale = std::max(scale, std::fabs(ref[i]));
  }
  return err / scale;
}

inline SimulationResult run(const Program &p, const ChipConfig &chip,
                            const std::map<std::string, HostArray> &inputs, bool functional = true,
                            bool timing = true) {
  MachineOptions o;
  o.functional = functional;
  o.timing = timing;
  return simulate(p, chip, functional ? inputs : std::map<std::string, HostArray>{}, o);
}

} // namespace trnx::cg::test
