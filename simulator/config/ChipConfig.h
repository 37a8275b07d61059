// The chip description the simulator runs on. Every physical number comes
// from a chip YAML (simulator/presets/*.yaml or a user file); nothing here
// hard-codes a chip. Field names carry units.
#pragma once

#include "isa/DType.h"
#include "isa/TargetLimits.h"

#include <string>

namespace trnx {

// A compute engine's sequencer and datapath. Throughputs are elements per
// cycle per partition.
struct EngineConfig {
  double clock_hz = 1e9;
  double min_ii_cycles = 64;     // minimum initiation interval of a data instruction
  double latency_cycles = 0;     // completion to result-visible (semaphore) delay
  double control_cycles = 8;     // sem_wait / sem_signal / barrier cost
  double elements_per_cycle = 1;          // fp32 and integer data
  double elements_per_cycle_16bit = 1;    // bf16 / fp16 / fp8 data
  double fast_copy_elements_per_cycle = 1; // DVE perf mode: 16-bit SBUF->SBUF copy/tensor_scalar
  double fixed_cycles = 0;       // per-instruction start-up (GpSimd)
  double partitions_per_cycle = 128; // cross-partition ops (GpSimd)
};

// The PE as a systolic array (simulator/timing/SystolicModel.h, docs/timing.md).
struct PeArrayConfig {
  int rows = 128;
  int cols = 128;
  int moving_free_max = 512;     // streamed vectors per pass (N of a matmul)
  double fp32_ii_multiplier = 4;
  bool double_row = false;
  DTypeMask input_dtypes = 0;
  DTypeMask output_dtypes = 0;
  std::string dataflow = "ws";   // ws | os | is (SCALE-Sim's names)
  double min_ii_cycles = 64;     // floor of one pass's streaming time
  double fill_drain_cycles = 254; // skew fill + drain of one pass; (rows-1)+(cols-1)
  bool weight_load_overlap = true; // background stationary load, pipelined passes
  double weight_load_rows_per_cycle = 1; // stationary rows loaded per cycle (fast LS: 4)
  double mxfp8_rate_multiplier = 0; // MX MACs per PE per cycle vs bf16 (0: no MX)
  double mxfp4_rate_multiplier = 0;
};

struct DmaConfig {
  int engines_per_core = 16;
  double engine_bytes_per_second = 0;
  double issue_overhead_seconds = 0;
  double descriptor_overhead_bytes = 0;
  double transpose_efficiency = 1;
};

struct HbmConfig {
  double capacity_bytes = 0;
  double bytes_per_second = 0;
  double latency_seconds = 0;
  double max_utilization = 1;
};

// Energy per action and static power (first-cut model; see docs/energy.md).
struct EnergyConfig {
  double pe_mac_fp32_joules = 0;
  double pe_mac_bf16_joules = 0;
  double pe_mac_fp8_joules = 0;
  double act_element_joules = 0;
  double dve_element_joules = 0;
  double pool_element_joules = 0;
  double sbuf_byte_joules = 0;
  double psum_byte_joules = 0;
  double hbm_byte_joules = 0;
  double pe_mac_fp4_joules = 0;  // MX fp4 MACs, once the ISA has them
  double link_byte_joules = 0;   // chip-to-chip link bytes, once the ISA has collectives
  double static_watts = 0;
};

// Power levels above the chip energy table: the chip's assumed power (the
// calibration target), its share of host and network power in a node, and the
// facility overhead (docs/energy.md).
struct PowerConfig {
  double tdp_watts = 0;               // chip power a peak-rate GEMM loop is calibrated to
  double host_watts_per_chip = 0;     // host CPU, DRAM, NICs, fans: per-chip share
  double network_watts_per_chip = 0;  // switches and optics: per-chip share
  double pue = 0;                     // facility power / IT power
};

struct ChipConfig {
  std::string name;
  std::string description;
  int cores = 1;
  int partitions = 128;
  double sbuf_bytes_per_partition = 0;
  double psum_bytes_per_partition = 0;
  int psum_banks = 8;
  int semaphores_per_core = 64;
  double semaphore_latency_seconds = 0; // increment to visible at the waiting engine
  bool psum_bank_conflicts = false;     // engines serialise on a shared PSUM bank
  bool engine_port_exclusion = false;   // NC-v2: DVE/GpSimd on SBUF, ACT/DVE on PSUM, never at once
  int dma_queues_per_core = 16;
  int bn_stats_free_max = 512;

  EngineConfig pe, act, dve, pool, sp;
  PeArrayConfig pe_array;
  DmaConfig dma;
  HbmConfig hbm;
  EnergyConfig energy;
  PowerConfig power;

  const EngineConfig &engine(int kind) const;
  TargetLimits limits() const;
  // Dense peak of the PE arrays of all cores for a matmul input dtype, FLOP/s.
  double peakFlopsPerSecond(DType input, bool doubleRow = false) const;
  // MX mode of an element dtype: rate vs bf16 (0 when the chip lacks it), and
  // the dense peak of matmul_mx with these element dtypes (the slower format).
  double mxRateMultiplier(DType element) const;
  double mxPeakFlopsPerSecond(DType stationary, DType moving) const;
};

} // namespace trnx
