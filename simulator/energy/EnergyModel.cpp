// Action-count energy model, power levels and the power timeline.
#include "simulator/energy/EnergyModel.h"

#include <algorithm>
#include <cmath>

namespace trnx {

EnergyBreakdown dynamicEnergy(const ActionCounts &a, const EnergyConfig &e) {
  EnergyBreakdown b;
  // PE transposes are identity matmuls on the bf16 datapath. MX MACs (MXFP8
  // and MXFP4 matmul_mx) are charged at pe_mac_fp4_joules. Link bytes are
  // the bytes collectives put on this chip's scale-up links, per link
  // traversal (system timing runs; switch and scale-out energy are system
  // keys, simulator/system/SystemTiming.cpp).
  b.pe_joules = a.macs_fp32 * e.pe_mac_fp32_joules + a.macs_bf16 * e.pe_mac_bf16_joules +
                a.macs_fp8 * e.pe_mac_fp8_joules + a.macs_mx * e.pe_mac_fp4_joules + a.transpose_macs * e.pe_mac_bf16_joules;
  b.act_joules = a.act_elements * e.act_element_joules;
  b.dve_joules = a.dve_elements * e.dve_element_joules;
  b.pool_joules = a.pool_elements * e.pool_element_joules;
  b.sbuf_joules = a.sbuf_bytes * e.sbuf_byte_joules;
  b.psum_joules = a.psum_bytes * e.psum_byte_joules;
  b.hbm_joules = a.hbm_bytes * e.hbm_byte_joules;
  b.link_joules = a.link_bytes * e.link_byte_joules;
  return b;
}

EnergyBreakdown computeEnergy(const ActionCounts &a, double seconds, const ChipConfig &chip) {
  EnergyBreakdown b = dynamicEnergy(a, chip.energy);
  b.static_joules = chip.energy.static_watts * seconds;
  return b;
}

EnergyLevels computeEnergyLevels(const ActionCounts &a, double seconds, const ChipConfig &chip) {
  EnergyLevels l;
  l.chip = computeEnergy(a, seconds, chip);
  l.seconds = seconds;
  l.chip_joules = l.chip.total();
  l.host_joules = chip.power.host_watts_per_chip * seconds;
  l.network_joules = chip.power.network_watts_per_chip * seconds;
  l.node_joules = l.chip_joules + l.host_joules + l.network_joules;
  l.facility_joules = l.node_joules * chip.power.pue;
  return l;
}

double provisionedFacilityWatts(const ChipConfig &chip) {
  return (chip.power.tdp_watts + chip.power.host_watts_per_chip + chip.power.network_watts_per_chip) *
         chip.power.pue;
}

std::vector<std::vector<double>> instructionEnergy(const Program &program, const ChipConfig &chip) {
  std::vector<std::vector<double>> out(program.streams.size());
  for (size_t s = 0; s < program.streams.size(); ++s) {
    const Stream &st = program.streams[s];
    out[s].reserve(st.code.size());
    for (const Instruction &inst : st.code)
      // Collectives are priced by the system model (their link and HBM
      // energy is in the run's totals, not per instruction here).
      out[s].push_back(inst.info().cost == CostKind::Collective
                           ? 0.0
                           : dynamicEnergy(costOf(inst, st.engine.kind, chip).actions, chip.energy).dynamic());
  }
  return out;
}

std::vector<PowerSample> powerTimeline(const Program &program, const ChipConfig &chip, const RunStats &stats,
                                       int bins) {
  std::vector<PowerSample> out;
  if (stats.end <= 0 || bins <= 0)
    return out;
  const std::vector<std::vector<double>> energy = instructionEnergy(program, chip);
  const double end = static_cast<double>(stats.end);
  const double width = end / bins; // femtoseconds
  std::vector<double> joules(static_cast<size_t>(bins), 0.0);
  auto binOf = [&](double t) {
    return std::clamp(static_cast<int>(std::floor(t / width)), 0, bins - 1);
  };
  for (const TraceSlice &s : stats.slices) {
    const double e = energy[s.stream][s.pc];
    if (e == 0)
      continue;
    const double start = static_cast<double>(s.start), dur = static_cast<double>(s.duration);
    if (dur <= 0) {
      joules[binOf(start)] += e;
      continue;
    }
    const double stop = start + dur;
    for (int b = binOf(start); b < bins && b * width < stop; ++b) {
      const double lo = std::max(start, b * width), hi = std::min(stop, (b + 1) * width);
      if (hi > lo)
        joules[b] += e * (hi - lo) / dur;
    }
  }
  const double binSeconds = width / kFemtosecondsPerSecond;
  out.reserve(joules.size());
  for (int b = 0; b < bins; ++b)
    out.push_back(PowerSample{b * binSeconds, joules[b] / binSeconds + chip.energy.static_watts});
  return out;
}

} // namespace trnx
