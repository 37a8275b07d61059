// Action-count energy model.
#include "simulator/energy/EnergyModel.h"

namespace trnx {

EnergyBreakdown computeEnergy(const ActionCounts &a, double seconds, const ChipConfig &chip) {
  const EnergyConfig &e = chip.energy;
  EnergyBreakdown b;
  b.pe_joules = a.macs_fp32 * e.pe_mac_fp32_joules + a.macs_bf16 * e.pe_mac_bf16_joules +
                a.macs_fp8 * e.pe_mac_fp8_joules + a.transpose_macs * e.pe_mac_bf16_joules;
  b.act_joules = a.act_elements * e.act_element_joules;
  b.dve_joules = a.dve_elements * e.dve_element_joules;
  b.pool_joules = a.pool_elements * e.pool_element_joules;
  b.sbuf_joules = a.sbuf_bytes * e.sbuf_byte_joules;
  b.psum_joules = a.psum_bytes * e.psum_byte_joules;
  b.hbm_joules = a.hbm_bytes * e.hbm_byte_joules;
  b.static_joules = e.static_watts * seconds;
  return b;
}

} // namespace trnx
