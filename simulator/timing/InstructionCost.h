// Cost of one instruction on its engine, from the formulas of docs/isa.md
// (reference/trainium.md 1.3-1.5, 2.2) and the chip config, plus the action
// counts the energy model multiplies by energy per action.
#pragma once

#include "isa/Instruction.h"
#include "simulator/config/ChipConfig.h"

#include <cstdint>

namespace trnx {

// Things that cost energy, counted per instruction.
struct ActionCounts {
  double macs_fp32 = 0, macs_bf16 = 0, macs_fp8 = 0; // matmul MACs (energy and FLOPs)
  double macs_mx = 0;         // matmul_mx MACs, MXFP8 and MXFP4 (energy: pe_mac_fp4_joules)
  double transpose_macs = 0;  // PE identity-matmul work of transposes (energy only)
  double act_elements = 0, dve_elements = 0, pool_elements = 0;
  double sbuf_bytes = 0, psum_bytes = 0, hbm_bytes = 0;
  double link_bytes = 0;      // bytes over this chip's scale-up links, per link traversal (collectives)

  ActionCounts &operator+=(const ActionCounts &o);
  ActionCounts scaled(double k) const;
  double flops() const { return 2.0 * (macs_fp32 + macs_bf16 + macs_fp8 + macs_mx); }
};

// A DMA transfer's shape as the DMA model sees it.
struct DmaShape {
  double payload_bytes = 0;   // bytes delivered
  double efficiency = 1;      // payload / DMA-engine byte time
  int hbm_sides = 0;          // 0, 1 or 2 ends in HBM
  int rows = 1;               // descriptor streams: one per partition / HBM row
};

struct InstructionCost {
  double busy_cycles = 0;     // engine occupancy, in the engine's cycles
  double latency_cycles = 0;  // extra delay before the result is visible
  bool is_dma = false;
  DmaShape dma;
  ActionCounts actions;
};

InstructionCost costOf(const Instruction &inst, EngineKind engine, const ChipConfig &chip);

// Descriptor efficiency of a contiguous run of `runBytes` (docs/isa.md dma_copy).
double dmaEfficiency(double runBytes, const ChipConfig &chip);

} // namespace trnx
