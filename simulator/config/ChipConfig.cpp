// Derived quantities of a chip config: verifier limits and peak rates.
#include "simulator/config/ChipConfig.h"

#include "isa/Engine.h"

#include <algorithm>

namespace trnx {

const EngineConfig &ChipConfig::engine(int kind) const {
  switch (static_cast<EngineKind>(kind)) {
  case EngineKind::PE: return pe;
  case EngineKind::ACT: return act;
  case EngineKind::DVE: return dve;
  case EngineKind::POOL: return pool;
  default: return sp; // SP and DMA queues sequence at the SP clock
  }
}

TargetLimits ChipConfig::limits() const {
  TargetLimits l;
  l.cores = cores;
  l.partitions = partitions;
  l.sbufBytesPerPartition = static_cast<uint64_t>(sbuf_bytes_per_partition);
  l.psumBytesPerPartition = static_cast<uint64_t>(psum_bytes_per_partition);
  l.psumBanks = psum_banks;
  l.dmaQueues = dma_queues_per_core;
  l.semaphores = semaphores_per_core;
  l.peRows = pe_array.rows;
  l.peCols = pe_array.cols;
  l.movingFreeMax = pe_array.moving_free_max;
  l.dataflow = parseDataflowName(pe_array.dataflow).value_or(Dataflow::WeightStationary);
  l.bnStatsFreeMax = bn_stats_free_max;
  l.matmulInputTypes = pe_array.input_dtypes;
  l.matmulOutputTypes = pe_array.output_dtypes;
  l.doubleRow = pe_array.double_row;
  l.mxfp8Packing = static_cast<int>(pe_array.mxfp8_rate_multiplier);
  l.mxfp4Packing = static_cast<int>(pe_array.mxfp4_rate_multiplier);
  l.hbmBytes = static_cast<uint64_t>(hbm.capacity_bytes);
  return l;
}

double ChipConfig::peakFlopsPerSecond(DType input, bool doubleRow) const {
  double macsPerCycle = static_cast<double>(pe_array.rows) * pe_array.cols;
  if (input == DType::FP32)
    macsPerCycle /= pe_array.fp32_ii_multiplier;
  if (doubleRow)
    macsPerCycle *= 2;
  return 2.0 * macsPerCycle * pe.clock_hz * cores;
}

double ChipConfig::mxRateMultiplier(DType element) const {
  if (isFP8(element))
    return pe_array.mxfp8_rate_multiplier;
  return element == DType::FP4E2M1X2 ? pe_array.mxfp4_rate_multiplier : 0.0;
}

double ChipConfig::mxPeakFlopsPerSecond(DType stationary, DType moving) const {
  const double rate = std::min(mxRateMultiplier(stationary), mxRateMultiplier(moving));
  return peakFlopsPerSecond(DType::BF16) * rate;
}

} // namespace trnx
