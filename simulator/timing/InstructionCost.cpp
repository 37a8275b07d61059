// Per-instruction cost formulas (docs/isa.md "Cost") and action counts.
#include "simulator/timing/InstructionCost.h"

#include "isa/Error.h"
#include "simulator/timing/SystolicModel.h"

#include <algorithm>
#include <cmath>

namespace trnx {
namespace {

bool is16Bit(DType t) { return dtypeSize(t) <= 2 && isFloat(t); }

// Elements per cycle of an engine for the operands of an instruction: the
// 16-bit rate applies when every operand is a 16-bit-or-narrower float.
double rateFor(const EngineConfig &e, std::initializer_list<const AccessPattern *> operands) {
  bool narrow = true;
  for (const AccessPattern *a : operands)
    if (a->present() && !is16Bit(a->dtype))
      narrow = false;
  return narrow ? e.elements_per_cycle_16bit : e.elements_per_cycle;
}

void countAccess(ActionCounts &c, const AccessPattern &a) {
  if (!a.present())
    return;
  double bytes = static_cast<double>(a.bytes());
  if (a.space == MemSpace::SBUF)
    c.sbuf_bytes += bytes;
  else if (a.space == MemSpace::PSUM)
    c.psum_bytes += bytes;
  else if (a.space == MemSpace::HBM)
    c.hbm_bytes += bytes;
}

void countOperands(ActionCounts &c, const Instruction &inst) {
  for (const FieldSpec &f : inst.info().fields)
    if (f.kind == FieldKind::Ap || f.kind == FieldKind::OptAp)
      countAccess(c, inst.ap[f.slot]);
}

double &engineElements(ActionCounts &c, EngineKind k) {
  switch (k) {
  case EngineKind::ACT: return c.act_elements;
  case EngineKind::POOL: return c.pool_elements;
  default: return c.dve_elements;
  }
}

} // namespace

ActionCounts &ActionCounts::operator+=(const ActionCounts &o) {
  macs_fp32 += o.macs_fp32;
  macs_bf16 += o.macs_bf16;
  macs_fp8 += o.macs_fp8;
  macs_mx += o.macs_mx;
  transpose_macs += o.transpose_macs;
  act_elements += o.act_elements;
  dve_elements += o.dve_elements;
  pool_elements += o.pool_elements;
  sbuf_bytes += o.sbuf_bytes;
  psum_bytes += o.psum_bytes;
  hbm_bytes += o.hbm_bytes;
  link_bytes += o.link_bytes;
  return *this;
}

ActionCounts ActionCounts::scaled(double k) const {
  ActionCounts c = *this;
  for (double *v : {&c.macs_fp32, &c.macs_bf16, &c.macs_fp8, &c.macs_mx, &c.transpose_macs, &c.act_elements,
                    &c.dve_elements, &c.pool_elements, &c.sbuf_bytes, &c.psum_bytes, &c.hbm_bytes, &c.link_bytes})
    *v *= k;
  return c;
}

double dmaEfficiency(double runBytes, const ChipConfig &chip) {
  return runBytes / (runBytes + chip.dma.descriptor_overhead_bytes);
}

InstructionCost costOf(const Instruction &inst, EngineKind engine, const ChipConfig &chip) {
  InstructionCost cost;
  const EngineConfig &e = chip.engine(static_cast<int>(engine));
  const AccessPattern &dst = inst.ap[0];
  const double N = static_cast<double>(dst.freeSize());
  const double rows = static_cast<double>(dst.partitionCount);
  cost.latency_cycles = e.latency_cycles;
  auto floorII = [&](double cycles) { return std::max(e.min_ii_cycles, cycles); };

  switch (inst.info().cost) {
  case CostKind::Matmul: {
    const AccessPattern &st = inst.ap[1], &mv = inst.ap[2];
    const bool doubleRow = inst.enums[0] == 1;
    const double k = static_cast<double>(st.partitionCount) * (doubleRow ? 2 : 1);
    const double m = static_cast<double>(st.freeSize()) / (doubleRow ? 2 : 1);
    const double n = static_cast<double>(mv.freeSize()) / (doubleRow ? 2 : 1);
    const bool fp32 = st.dtype == DType::FP32 || mv.dtype == DType::FP32;
    const PeMode mode = fp32 ? PeMode::Fp32 : doubleRow ? PeMode::Fp8DoubleRow : PeMode::Bf16;
    const SystolicCost sc = matmulCost(chip.pe_array, static_cast<int64_t>(k), static_cast<int64_t>(m),
                                       static_cast<int64_t>(n), mode);
    cost.busy_cycles = sc.busy_cycles;
    cost.latency_cycles += sc.latency_cycles; // fill/drain of a pipelined pass
    const double macs = k * m * n;
    if (fp32)
      cost.actions.macs_fp32 = macs;
    else if (isFP8(st.dtype) && isFP8(mv.dtype))
      cost.actions.macs_fp8 = macs;
    else
      cost.actions.macs_bf16 = macs;
    countOperands(cost.actions, inst);
    if (inst.flag(0))
      countAccess(cost.actions, dst); // read-accumulate-write
    return cost;
  }
  case CostKind::MatmulOs: {
    const AccessPattern &a = inst.ap[1], &b = inst.ap[2];
    const int64_t m = a.partitionCount, n = b.partitionCount, k = static_cast<int64_t>(a.freeSize());
    const bool fp32 = a.dtype == DType::FP32 || b.dtype == DType::FP32;
    const SystolicCost sc = matmulOsCost(chip.pe_array, m, n, k, fp32 ? PeMode::Fp32 : PeMode::Bf16);
    cost.busy_cycles = sc.busy_cycles;
    cost.latency_cycles += sc.latency_cycles;
    const double macs = static_cast<double>(k) * m * n;
    if (fp32)
      cost.actions.macs_fp32 = macs;
    else if (isFP8(a.dtype) && isFP8(b.dtype))
      cost.actions.macs_fp8 = macs;
    else
      cost.actions.macs_bf16 = macs;
    countOperands(cost.actions, inst);
    if (inst.flag(0))
      countAccess(cost.actions, dst); // read-accumulate-write
    return cost;
  }
  case CostKind::MatmulMx: {
    const AccessPattern &st = inst.ap[1], &mv = inst.ap[2];
    const int64_t r = inst.i32[0];
    const int64_t k = static_cast<int64_t>(st.partitionCount) * r;
    const int64_t m = static_cast<int64_t>(st.freeSize()) / r * valuesPerElement(st.dtype);
    const int64_t n = static_cast<int64_t>(mv.freeSize()) / r * valuesPerElement(mv.dtype);
    // The slower format of the two operands sets the packing of the pass.
    const PeMode mode = chip.mxRateMultiplier(st.dtype) <= chip.mxRateMultiplier(mv.dtype)
                            ? (isFP8(st.dtype) ? PeMode::MxFp8 : PeMode::MxFp4)
                            : (isFP8(mv.dtype) ? PeMode::MxFp8 : PeMode::MxFp4);
    const SystolicCost sc = matmulCost(chip.pe_array, k, m, n, mode);
    cost.busy_cycles = sc.busy_cycles;
    cost.latency_cycles += sc.latency_cycles;
    cost.actions.macs_mx = static_cast<double>(k) * m * n;
    countOperands(cost.actions, inst);
    if (inst.flag(0))
      countAccess(cost.actions, dst); // read-accumulate-write
    return cost;
  }
  case CostKind::PeTranspose: {
    const AccessPattern &src = inst.ap[1];
    const double p = src.partitionCount, f = static_cast<double>(src.freeSize());
    const SystolicCost sc = transposeCost(chip.pe_array, src.partitionCount, static_cast<int64_t>(f));
    cost.busy_cycles = sc.busy_cycles;
    cost.latency_cycles += sc.latency_cycles;
    cost.actions.transpose_macs = p * p * f;
    countOperands(cost.actions, inst);
    return cost;
  }
  case CostKind::Activation: {
    double cycles = N / rateFor(e, {&dst, &inst.ap[1]});
    cost.busy_cycles = floorII(cycles) + (inst.enums[1] ? e.min_ii_cycles : 0);
    break;
  }
  case CostKind::TensorTensor: {
    const AccessPattern &a = inst.ap[1], &b = inst.ap[2];
    const bool psumInput = a.space == MemSpace::PSUM || b.space == MemSpace::PSUM;
    const auto op = static_cast<AluOp>(inst.enums[0]);
    const bool fastOp = op == AluOp::Add || op == AluOp::Sub || op == AluOp::Mul;
    const bool contiguous = a.contiguousFree() && b.contiguousFree();
    double rate = (fastOp && contiguous) ? rateFor(e, {&dst, &a, &b}) : e.elements_per_cycle;
    cost.busy_cycles = floorII((psumInput ? N : 2 * N) / rate);
    break;
  }
  case CostKind::TensorScalar:
  case CostKind::TensorCopy: {
    const AccessPattern &src = inst.ap[1];
    double rate = rateFor(e, {&dst, &src});
    if (engine == EngineKind::DVE && is16Bit(dst.dtype) && is16Bit(src.dtype) &&
        dst.space == MemSpace::SBUF && src.space == MemSpace::SBUF && dst.contiguousFree() &&
        src.contiguousFree())
      rate = e.fast_copy_elements_per_cycle;
    else if (engine == EngineKind::ACT && is16Bit(dst.dtype) && is16Bit(src.dtype))
      rate = e.fast_copy_elements_per_cycle;
    cost.busy_cycles = floorII(N / rate);
    break;
  }
  case CostKind::QuantizeMx: // G3: NC-v4's quantize_mx, 4 elements/partition/cycle (the 4x perf mode)
    cost.busy_cycles = floorII(N / e.fast_copy_elements_per_cycle);
    break;
  case CostKind::TensorReduce: {
    const AccessPattern &src = inst.ap[1];
    const auto op = static_cast<AluOp>(inst.enums[0]);
    double n = static_cast<double>(src.freeSize());
    double rate = (op == AluOp::Add || op == AluOp::Max) ? rateFor(e, {&src}) : e.elements_per_cycle;
    cost.busy_cycles = floorII(n / rate);
    engineElements(cost.actions, engine) = rows * n;
    countOperands(cost.actions, inst);
    return cost;
  }
  case CostKind::Select:
    cost.busy_cycles = floorII(2 * N / e.elements_per_cycle);
    break;
  case CostKind::PoolAffine:
    cost.busy_cycles = e.fixed_cycles + N / rateFor(e, {&dst});
    break;
  case CostKind::Memset: {
    double rate = (inst.f32[0] == 0.0f) ? rateFor(e, {&dst}) : e.elements_per_cycle;
    cost.busy_cycles = floorII(N / rate);
    break;
  }
  case CostKind::PartitionOp: {
    const AccessPattern &src = inst.ap[1];
    double p = std::max<double>(src.partitionCount, dst.partitionCount);
    double f = static_cast<double>(std::max(src.freeSize(), dst.freeSize()));
    cost.busy_cycles = e.fixed_cycles + f * std::ceil(p / e.partitions_per_cycle);
    engineElements(cost.actions, engine) = p * f;
    countOperands(cost.actions, inst);
    return cost;
  }
  case CostKind::BnStats:
    cost.busy_cycles = floorII(static_cast<double>(inst.ap[1].freeSize()));
    engineElements(cost.actions, engine) = 2 * rows * static_cast<double>(inst.ap[1].freeSize());
    countOperands(cost.actions, inst);
    return cost;
  case CostKind::BnAggr:
    cost.busy_cycles = floorII(13.0 * static_cast<double>(inst.ap[1].freeSize()) / 3.0);
    break;
  case CostKind::Dma: {
    const AccessPattern &src = inst.ap[1];
    cost.is_dma = true;
    cost.latency_cycles = 0;
    cost.dma.payload_bytes = static_cast<double>(dst.bytes());
    // A descriptor moves one contiguous run: the shorter of the two sides'.
    const double run = static_cast<double>(std::min(dst.contiguousRunBytes(), src.contiguousRunBytes()));
    cost.dma.efficiency = (inst.opcode == Opcode::DmaCopy && inst.flag(0))
                              ? chip.dma.transpose_efficiency
                              : dmaEfficiency(run, chip);
    cost.dma.hbm_sides = (dst.space == MemSpace::HBM) + (src.space == MemSpace::HBM);
    cost.dma.rows = dst.partitionCount;
    countAccess(cost.actions, dst);
    if (inst.opcode == Opcode::DmaGather) {
      // Only the gathered rows of the table are read, not the whole table.
      AccessPattern rowsRead = src;
      rowsRead.partitionCount = dst.partitionCount;
      countAccess(cost.actions, rowsRead);
      countAccess(cost.actions, inst.ap[2]);
    } else {
      countAccess(cost.actions, src);
    }
    return cost;
  }
  case CostKind::Collective:
    // Priced by the system model (simulator/system/SystemTiming.cpp), which
    // the machine asks instead of this function.
    fail("internal: '", inst.info().mnemonic, "' reached the single-chip cost model");
  case CostKind::Control:
    cost.busy_cycles = (inst.opcode == Opcode::Loop || inst.opcode == Opcode::EndLoop) ? 0 : e.control_cycles;
    cost.latency_cycles = 0;
    return cost;
  }
  // Elementwise engine work: one element-op per output element.
  engineElements(cost.actions, engine) = rows * N;
  countOperands(cost.actions, inst);
  return cost;
}

} // namespace trnx
