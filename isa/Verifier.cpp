// Verifier implementation: one walk over each stream tracking the loop stack,
// per-opcode shape rules, then whole-program semaphore and barrier checks.
#include "isa/Verifier.h"

#include "isa/CheckedMath.h"
#include "isa/Error.h"
#include "isa/FormatLimits.h"
#include "isa/Semantics.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace trnx {
namespace {

struct LoopLevel {
  int64_t count;
};

// Operand extents and loop step ranges are computed in 128 bits: int32 steps
// times int32 loop counts over four levels, or int32 strides times uint32
// counts over four dims, overflow int64 (and a wrapped extent would let an
// out-of-bounds operand through).
__extension__ typedef __int128 Wide;

std::string wideString(Wide v) {
  if (v == 0)
    return "0";
  bool neg = v < 0;
  std::string digits;
  while (v != 0) {
    int d = static_cast<int>(v % 10);
    digits.insert(digits.begin(), static_cast<char>('0' + (d < 0 ? -d : d)));
    v /= 10;
  }
  return neg ? "-" + digits : digits;
}

// Range of sum(step[l] * i_l) over the iterations of the enclosing loops.
void stepRange(const std::array<int32_t, kMaxLoopDepth> &steps, const std::vector<LoopLevel> &loops,
               Wide &lo, Wide &hi) {
  lo = hi = 0;
  for (size_t l = 0; l < loops.size() && l < kMaxLoopDepth; ++l) {
    Wide reach = static_cast<Wide>(steps[l]) * (loops[l].count - 1);
    (reach < 0 ? lo : hi) += reach;
  }
}

// Lowest and highest element offsets of the free dims (AccessPattern::freeExtent
// without int64 overflow).
void freeExtentWide(const AccessPattern &a, Wide &lo, Wide &hi) {
  lo = hi = 0;
  for (int d = 0; d < a.numDims && d < kMaxFreeDims; ++d) {
    Wide reach = static_cast<Wide>(a.dims[d].stride) * (static_cast<Wide>(a.dims[d].count) - 1);
    (reach < 0 ? lo : hi) += reach;
  }
}

class StreamVerifier {
public:
  StreamVerifier(const Program &p, const Stream &s, const TargetLimits &limits)
      : p_(p), s_(s), limits_(limits) {}

  // Per-semaphore totals, filled while walking.
  std::map<uint16_t, uint64_t> increments;       // total increments
  std::vector<std::pair<size_t, uint64_t>> waits; // (instruction, max wait value)
  uint64_t coreBarriers = 0, chipBarriers = 0;

  void run() {
    if (s_.core >= p_.numCores)
      fail("stream core ", s_.core, " is outside the program's ", p_.numCores, " cores");
    if (s_.engine.kind == EngineKind::DMA && s_.engine.queue >= limits_.dmaQueues)
      fail("core ", s_.core, " ", s_.engine.name(), ": the chip has ", limits_.dmaQueues,
           " DMA queues per core");
    for (index_ = 0; index_ < s_.code.size(); ++index_)
      check(s_.code[index_]);
    if (!loops_.empty())
      fail("core ", s_.core, " ", s_.engine.name(), ": ", loops_.size(),
           " loop(s) not closed by endloop");
  }

private:
  [[noreturn]] void bad(const std::string &msg) const {
    fail(describeInstruction(p_, s_, index_), ": ", msg);
  }

  // Iterations of the enclosing loop nest (saturating: four int32 counts
  // overflow 64 bits).
  uint64_t tripProduct() const {
    uint64_t n = 1;
    for (const LoopLevel &l : loops_)
      n = saturatingMul(n, static_cast<uint64_t>(l.count));
    return n;
  }

  void checkSteps(const std::array<int32_t, kMaxLoopDepth> &steps, const char *what) const {
    for (size_t l = loops_.size(); l < kMaxLoopDepth; ++l)
      if (steps[l])
        bad(std::string(what) + " steps with loop level i" + std::to_string(l) +
            ", but only " + std::to_string(loops_.size()) + " loop(s) enclose it");
  }

  void check(const Instruction &inst) {
    const OpcodeInfo &info = inst.info();
    if (!(info.engines & engineBit(s_.engine.kind)))
      bad(std::string("'") + info.mnemonic + "' cannot run on engine " + s_.engine.name());
    checkSemaphores(inst);
    if (inst.loc != kNoLoc && inst.loc >= p_.locs.size())
      bad("location id " + std::to_string(inst.loc) + " is not in the location table");
    for (const FieldSpec &f : info.fields) {
      const AccessPattern &a = inst.ap[f.slot];
      if ((f.kind == FieldKind::Ap || (f.kind == FieldKind::OptAp && a.present())))
        checkAp(a, f);
      // Packed FP4 pairs are no scalar type: only moved by DMA or read by matmul_mx.
      if (a.present() && a.dtype == DType::FP4E2M1X2 && inst.opcode != Opcode::MatmulMx &&
          inst.opcode != Opcode::DmaCopy && inst.opcode != Opcode::DmaGather)
        bad(std::string("operand '") + f.name + "': fp4e2m1x2 is only moved by DMA and read by matmul_mx");
    }
    checkOpcode(inst);
  }

  void checkSemaphores(const Instruction &inst) {
    if (inst.wait.present()) {
      if (inst.wait.sem >= limits_.semaphores)
        bad("semaphore s" + std::to_string(inst.wait.sem) + " exceeds the chip's " +
            std::to_string(limits_.semaphores) + " semaphores per core");
      checkSteps(inst.wait.step, "wait value");
      Wide lo, hi;
      stepRange(inst.wait.step, loops_, lo, hi);
      if (static_cast<Wide>(inst.wait.value) + lo < 0)
        bad("wait value becomes negative in a loop iteration");
      Wide most = static_cast<Wide>(inst.wait.value) + hi;
      waits.emplace_back(index_, most > static_cast<Wide>(UINT64_MAX) ? UINT64_MAX
                                                                       : static_cast<uint64_t>(most));
    }
    if (inst.signal.present()) {
      if (inst.signal.sem >= limits_.semaphores)
        bad("semaphore s" + std::to_string(inst.signal.sem) + " exceeds the chip's " +
            std::to_string(limits_.semaphores) + " semaphores per core");
      uint64_t &total = increments[inst.signal.sem];
      total = saturatingAdd(total, saturatingMul(inst.signal.increment, tripProduct()));
    }
  }

  bool isComputeEngine() const { return s_.engine.kind != EngineKind::DMA; }

  void checkAp(const AccessPattern &a, const FieldSpec &f) {
    std::string name = std::string("operand '") + f.name + "'";
    if (!(f.spaces & spaceBit(a.space)))
      bad(name + " cannot be in " + std::string(spaceName(a.space)));
    if (a.numDims == 0)
      bad(name + " has no free dims");
    for (int d = 0; d < a.numDims; ++d)
      if (a.dims[d].count == 0)
        bad(name + " has a zero-sized free dim");
    if (a.partitionCount == 0)
      bad(name + " covers zero partitions/rows");
    checkSteps(a.offsetStep, (name + " offset").c_str());
    Wide stepLo, stepHi, elemLo, elemHi;
    stepRange(a.offsetStep, loops_, stepLo, stepHi);
    freeExtentWide(a, elemLo, elemHi);
    const int64_t esize = dtypeSize(a.dtype);
    if (a.space == MemSpace::HBM) {
      if (a.tensor >= p_.tensors.size())
        bad(name + " names tensor #" + std::to_string(a.tensor) + ", not in the tensor table");
      const TensorInfo &t = p_.tensors[a.tensor];
      Wide rowReach = static_cast<Wide>(a.partitionStride) * (a.partitionCount - 1);
      Wide lo = a.offset + stepLo + (elemLo + std::min<Wide>(0, rowReach)) * esize;
      Wide hi = a.offset + stepHi + (elemHi + std::max<Wide>(0, rowReach)) * esize + esize;
      if (lo < 0 || hi > static_cast<Wide>(t.sizeBytes))
        bad(name + " reaches bytes [" + wideString(lo) + ", " + wideString(hi) +
            ") of tensor '" + t.name + "' (" + std::to_string(t.sizeBytes) + " bytes)");
      return;
    }
    if (a.partitionStride != 0 || a.tensor != 0)
      bad(name + " in " + std::string(spaceName(a.space)) + " has hbm-only fields set");
    if (a.partitionStart + a.partitionCount > limits_.partitions)
      bad(name + " covers partitions [" + std::to_string(a.partitionStart) + ", " +
          std::to_string(a.partitionStart + a.partitionCount) + "), the chip has " +
          std::to_string(limits_.partitions));
    if (isComputeEngine() && limits_.enforcePartitionStarts) {
      // G1's quadrant rule for 128 partitions (1-32 from 0/32/64/96, 33-64
      // from 0/64, more from 0), scaled to the chip's partition count.
      const int start = a.partitionStart, count = a.partitionCount;
      const int half = std::max(1, limits_.partitions / 2), quarter = std::max(1, limits_.partitions / 4);
      const bool ok = count > half ? start == 0 : count > quarter ? (start % half == 0) : (start % quarter == 0);
      if (!ok)
        bad(name + " starts at partition " + std::to_string(start) + " with " + std::to_string(count) +
            " partitions: engines access 1-" + std::to_string(quarter) + " partitions from a multiple of " +
            std::to_string(quarter) + ", " + std::to_string(quarter + 1) + "-" + std::to_string(half) +
            " from a multiple of " + std::to_string(half) + ", more from 0");
    }
    uint64_t capacity =
        a.space == MemSpace::SBUF ? limits_.sbufBytesPerPartition : limits_.psumBytesPerPartition;
    Wide lo = a.offset + stepLo + elemLo * esize;
    Wide hi = a.offset + stepHi + elemHi * esize + esize;
    if (lo < 0 || hi > static_cast<Wide>(capacity))
      bad(name + " reaches bytes [" + wideString(lo) + ", " + wideString(hi) + ") of " +
          std::string(spaceName(a.space)) + ", which has " + std::to_string(capacity) +
          " bytes per partition");
    // Every iteration's offset must be aligned, so each step on its own (a sum
    // of steps can be aligned while a single iteration is not).
    bool aligned = a.offset % esize == 0;
    for (size_t l = 0; l < loops_.size() && l < kMaxLoopDepth; ++l)
      aligned = aligned && (loops_[l].count == 1 || a.offsetStep[l] % esize == 0);
    if (!aligned)
      bad(name + " offset is not aligned to its " + std::to_string(esize) + "-byte dtype");
  }

  std::string mxTypeList() const {
    std::string out;
    for (DType t : {DType::FP8E4M3, DType::FP8E5M2, DType::FP4E2M1X2})
      if (limits_.mxPacking(t) > 0)
        out += (out.empty() ? "" : ", ") + std::string(dtypeName(t));
    return out.empty() ? "none" : out;
  }

  void sameShape(const AccessPattern &a, const char *an, const AccessPattern &b, const char *bn) const {
    if (a.partitionCount != b.partitionCount || a.freeSize() != b.freeSize())
      bad(std::string("operands '") + an + "' [" + std::to_string(a.partitionCount) + ", " +
          std::to_string(a.freeSize()) + "] and '" + bn + "' [" + std::to_string(b.partitionCount) +
          ", " + std::to_string(b.freeSize()) + "] differ in shape");
  }

  void perPartitionScalar(const Instruction &inst, int slot, const char *name, const AccessPattern &dst) const {
    const AccessPattern &a = inst.ap[slot];
    if (!a.present())
      return;
    if (a.freeSize() != 1 || a.partitionCount != dst.partitionCount)
      bad(std::string("operand '") + name + "' must be [" + std::to_string(dst.partitionCount) + ", 1]");
  }

  void requireReduceOp(AluOp op, const char *field) const {
    if (!isReduceOp(op))
      bad(std::string("'") + field + "' must be add, max or min");
  }

  void requireStationaryArray(const char *mnemonic) const {
    if (!holdsStationary(limits_.dataflow))
      bad(std::string(mnemonic) + " needs a PE array that holds a stationary operand; this target's is "
          "output-stationary (pe_array.dataflow os): use matmul_os");
  }

  void checkBankLocal(const AccessPattern &dst) const {
    const int64_t bank = static_cast<int64_t>(limits_.psumBankBytes());
    if (bank <= 0)
      return;
    const int64_t len = static_cast<int64_t>(dst.freeSize() * dtypeSize(dst.dtype));
    auto fits = [&](int64_t off) { return off % bank + len <= bank; };
    bool stepsAligned = true;
    for (int32_t s : dst.offsetStep)
      stepsAligned = stepsAligned && s % bank == 0;
    if (stepsAligned) {
      if (!fits(dst.offset))
        bad("matmul result [" + std::to_string(dst.offset) + ", " + std::to_string(dst.offset + len) +
            ") crosses a " + std::to_string(bank) + "-byte PSUM bank boundary");
      return;
    }
    uint64_t iterations = tripProduct();
    if (iterations > 65536)
      bad("matmul result offset steps are not multiples of the PSUM bank size and the loop "
          "nest is too large to check every iteration");
    std::vector<int64_t> idx(loops_.size(), 0);
    for (uint64_t it = 0; it < iterations; ++it) {
      int64_t off = dst.offset;
      for (size_t l = 0; l < loops_.size(); ++l)
        off += dst.offsetStep[l] * idx[l];
      if (!fits(off))
        bad("matmul result crosses a PSUM bank boundary in some loop iteration");
      for (size_t l = loops_.size(); l-- > 0;) {
        if (++idx[l] < loops_[l].count)
          break;
        idx[l] = 0;
      }
    }
  }

  void checkOpcode(const Instruction &inst) {
    const AccessPattern &dst = inst.ap[0];
    switch (inst.opcode) {
    case Opcode::Matmul: {
      const AccessPattern &st = inst.ap[1], &mv = inst.ap[2];
      requireStationaryArray("matmul");
      const bool doubleRow = inst.enums[0] == 1;
      // In double_row mode each partition carries two K rows as the outermost
      // free dim of both operands: [P, 2, M] and [P, 2, N], K = 2P.
      const uint64_t rowsPerPartition = doubleRow ? 2 : 1;
      if (st.partitionCount != mv.partitionCount)
        bad("stationary K=" + std::to_string(st.partitionCount) + " and moving K=" +
            std::to_string(mv.partitionCount) + " partitions differ");
      if (doubleRow) {
        if (!limits_.doubleRow)
          bad("double_row mode is not available on this target");
        if (!isFP8(st.dtype) || !isFP8(mv.dtype))
          bad("double_row mode needs fp8 operands");
        if (st.numDims < 2 || st.dims[0].count != 2 || mv.numDims < 2 || mv.dims[0].count != 2)
          bad("double_row operands need an outermost free dim of 2 ([P, 2, M] and [P, 2, N])");
      }
      const uint64_t m = st.freeSize() / rowsPerPartition, n = mv.freeSize() / rowsPerPartition;
      if (st.partitionCount > limits_.peRows)
        bad("K=" + std::to_string(st.partitionCount) + " partitions exceed the array's " +
            std::to_string(limits_.peRows) + " rows");
      if (m > static_cast<uint64_t>(limits_.peCols))
        bad("M=" + std::to_string(m) + " exceeds the array's " + std::to_string(limits_.peCols) +
            " columns");
      if (n > static_cast<uint64_t>(limits_.movingFreeMax))
        bad("N=" + std::to_string(n) + " exceeds the moving limit " +
            std::to_string(limits_.movingFreeMax));
      if (dst.partitionCount != m || dst.freeSize() != n)
        bad("dst must be [M=" + std::to_string(m) + ", N=" + std::to_string(n) + "]");
      if (dst.partitionStart != 0)
        bad("matmul dst must start at partition 0 (it starts at " +
            std::to_string(dst.partitionStart) + ")");
      for (const AccessPattern *a : {&st, &mv})
        if (!(limits_.matmulInputTypes & dtypeBit(a->dtype)))
          bad("matmul operands of dtype " + std::string(dtypeName(a->dtype)) +
              " are not supported on this target");
      if (!(limits_.matmulOutputTypes & dtypeBit(dst.dtype)))
        bad("matmul results of dtype " + std::string(dtypeName(dst.dtype)) +
            " are not supported on this target");
      if (!dst.contiguousFree())
        bad("matmul dst must be contiguous in its partition");
      checkBankLocal(dst);
      break;
    }
    case Opcode::MatmulOs: {
      const AccessPattern &a = inst.ap[1], &b = inst.ap[2];
      if (limits_.dataflow != Dataflow::OutputStationary)
        bad(std::string("matmul_os needs an output-stationary PE array; this target's is ") +
            dataflowName(limits_.dataflow) + " (pe_array.dataflow): use matmul");
      const uint64_t m = a.partitionCount, n = b.partitionCount, k = a.freeSize();
      if (b.freeSize() != k)
        bad("a K=" + std::to_string(k) + " and b K=" + std::to_string(b.freeSize()) + " (free sizes) differ");
      if (m > static_cast<uint64_t>(limits_.peRows))
        bad("M=" + std::to_string(m) + " partitions of a exceed the array's " + std::to_string(limits_.peRows) +
            " rows");
      if (n > static_cast<uint64_t>(limits_.peCols))
        bad("N=" + std::to_string(n) + " partitions of b exceed the array's " + std::to_string(limits_.peCols) +
            " columns");
      if (k > static_cast<uint64_t>(limits_.movingFreeMax))
        bad("K=" + std::to_string(k) + " exceeds the streamed limit " + std::to_string(limits_.movingFreeMax) +
            " (pe_array.moving_free_max)");
      for (const AccessPattern *x : {&a, &b})
        if (!(limits_.matmulInputTypes & dtypeBit(x->dtype)))
          bad("matmul operands of dtype " + std::string(dtypeName(x->dtype)) + " are not supported on this target");
      if (dst.partitionCount != m || dst.freeSize() != n)
        bad("dst must be [M=" + std::to_string(m) + ", N=" + std::to_string(n) + "]");
      if (dst.partitionStart != 0)
        bad("matmul_os dst must start at partition 0 (it starts at " + std::to_string(dst.partitionStart) + ")");
      if (!(limits_.matmulOutputTypes & dtypeBit(dst.dtype)))
        bad("matmul results of dtype " + std::string(dtypeName(dst.dtype)) + " are not supported on this target");
      if (!dst.contiguousFree())
        bad("matmul dst must be contiguous in its partition");
      checkBankLocal(dst);
      break;
    }
    case Opcode::MatmulMx: {
      const AccessPattern &st = inst.ap[1], &mv = inst.ap[2], &ss = inst.ap[3], &ms = inst.ap[4];
      requireStationaryArray("matmul_mx");
      const int64_t r = inst.i32[0];
      for (const AccessPattern *a : {&st, &mv}) {
        if (!isMxElement(a->dtype) || limits_.mxPacking(a->dtype) < 1)
          bad("matmul_mx operands of dtype " + std::string(dtypeName(a->dtype)) +
              " are not supported on this target (MX element types here: " + mxTypeList() + ")");
        if (r < 1 || r > limits_.mxPacking(a->dtype))
          bad("k_rows=" + std::to_string(r) + " must be between 1 and the chip's " +
              std::to_string(limits_.mxPacking(a->dtype)) + " rows per PE row for " +
              std::string(dtypeName(a->dtype)));
        if (a->freeSize() % static_cast<uint64_t>(r) != 0)
          bad("matmul_mx operand free size " + std::to_string(a->freeSize()) +
              " is not a multiple of k_rows=" + std::to_string(r));
      }
      const uint64_t p = st.partitionCount;
      if (p != mv.partitionCount)
        bad("stationary P=" + std::to_string(p) + " and moving P=" + std::to_string(mv.partitionCount) +
            " partitions differ");
      if (p > static_cast<uint64_t>(limits_.peRows))
        bad("P=" + std::to_string(p) + " partitions exceed the array's " + std::to_string(limits_.peRows) +
            " rows");
      const uint64_t k = p * static_cast<uint64_t>(r);
      if (k % 32 != 0)
        bad("matmul_mx K=" + std::to_string(k) + " is not a multiple of the 32-row MX block");
      const uint64_t m = st.freeSize() / r * valuesPerElement(st.dtype);
      const uint64_t n = mv.freeSize() / r * valuesPerElement(mv.dtype);
      if (m > static_cast<uint64_t>(limits_.peCols))
        bad("M=" + std::to_string(m) + " exceeds the array's " + std::to_string(limits_.peCols) + " columns");
      if (n > static_cast<uint64_t>(limits_.movingFreeMax))
        bad("N=" + std::to_string(n) + " exceeds the moving limit " + std::to_string(limits_.movingFreeMax));
      const uint64_t blocks = k / 32;
      auto scaleShape = [&](const AccessPattern &a, const char *name, uint64_t cols) {
        if (a.dtype != DType::E8M0 || a.partitionCount != blocks || a.freeSize() != cols)
          bad(std::string("'") + name + "' must be e8m0 [K/32=" + std::to_string(blocks) + ", " +
              std::to_string(cols) + "]");
      };
      scaleShape(ss, "stationary_scale", m);
      scaleShape(ms, "moving_scale", n);
      if (dst.partitionCount != m || dst.freeSize() != n)
        bad("dst must be [M=" + std::to_string(m) + ", N=" + std::to_string(n) + "]");
      if (dst.partitionStart != 0)
        bad("matmul_mx dst must start at partition 0 (it starts at " + std::to_string(dst.partitionStart) + ")");
      if (!(limits_.matmulOutputTypes & dtypeBit(dst.dtype)))
        bad("matmul results of dtype " + std::string(dtypeName(dst.dtype)) + " are not supported on this target");
      if (!dst.contiguousFree())
        bad("matmul dst must be contiguous in its partition");
      checkBankLocal(dst);
      break;
    }
    case Opcode::Transpose: {
      const AccessPattern &src = inst.ap[1];
      // A stationary array holds the identity-multiplied input [P <= rows, F <= cols];
      // an output-stationary one streams it against the identity: P <= cols, F <= rows.
      const bool os = limits_.dataflow == Dataflow::OutputStationary;
      const int maxP = os ? limits_.peCols : limits_.peRows, maxF = os ? limits_.peRows : limits_.peCols;
      if (src.partitionCount > maxP || src.freeSize() > static_cast<uint64_t>(maxF))
        bad("transpose input is limited to [" + std::to_string(maxP) + ", " + std::to_string(maxF) + "]");
      if (dst.partitionCount != src.freeSize() || dst.freeSize() != src.partitionCount)
        bad("transpose dst must be [" + std::to_string(src.freeSize()) + ", " +
            std::to_string(src.partitionCount) + "]");
      if (!isFloat(src.dtype) || (dst.dtype != src.dtype && dst.dtype != DType::FP32))
        bad("transpose keeps its float dtype (or writes fp32)");
      break;
    }
    case Opcode::Activation: {
      sameShape(dst, "dst", inst.ap[1], "src");
      perPartitionScalar(inst, 2, "scale_ap", dst);
      perPartitionScalar(inst, 3, "bias_ap", dst);
      if (inst.ap[2].present() && inst.f32[0] != 1.0f)
        bad("'scale' must stay 1 when 'scale_ap' is given");
      if (inst.ap[3].present() && inst.f32[1] != 0.0f)
        bad("'bias' must stay 0 when 'bias_ap' is given");
      AluOp reduce = static_cast<AluOp>(inst.enums[1]);
      if (reduce != AluOp::None) {
        requireReduceOp(reduce, "reduce");
        if (!inst.ap[4].present())
          bad("'reduce' needs 'reduce_dst'");
        perPartitionScalar(inst, 4, "reduce_dst", dst);
      } else if (inst.ap[4].present()) {
        bad("'reduce_dst' given without 'reduce'");
      }
      break;
    }
    case Opcode::TensorTensor:
      sameShape(dst, "dst", inst.ap[1], "src0");
      sameShape(dst, "dst", inst.ap[2], "src1");
      if (static_cast<AluOp>(inst.enums[0]) == AluOp::None)
        bad("'op' must not be none");
      break;
    case Opcode::TensorScalar:
      sameShape(dst, "dst", inst.ap[1], "src");
      perPartitionScalar(inst, 2, "scalar0_ap", dst);
      perPartitionScalar(inst, 3, "scalar1_ap", dst);
      if (static_cast<AluOp>(inst.enums[0]) == AluOp::None)
        bad("'op0' must not be none");
      if (inst.ap[2].present() && inst.f32[0] != 0.0f)
        bad("'scalar0' must stay 0 when 'scalar0_ap' is given");
      if (inst.ap[3].present() && inst.f32[1] != 0.0f)
        bad("'scalar1' must stay 0 when 'scalar1_ap' is given");
      if (static_cast<AluOp>(inst.enums[1]) == AluOp::None && (inst.ap[3].present() || inst.f32[1] != 0.0f))
        bad("'scalar1' given without 'op1'");
      break;
    case Opcode::TensorReduce: {
      const AccessPattern &src = inst.ap[1];
      requireReduceOp(static_cast<AluOp>(inst.enums[0]), "op");
      int axes = inst.i32[0];
      if (axes < 1 || axes > src.numDims)
        bad("'axes' must be between 1 and the source's " + std::to_string(src.numDims) + " free dims");
      uint64_t outer = 1;
      for (int d = 0; d < src.numDims - axes; ++d)
        outer *= src.dims[d].count;
      if (dst.partitionCount != src.partitionCount || dst.freeSize() != outer)
        bad("dst must be [" + std::to_string(src.partitionCount) + ", " + std::to_string(outer) + "]");
      break;
    }
    case Opcode::TensorCopy:
      sameShape(dst, "dst", inst.ap[1], "src");
      break;
    case Opcode::QuantizeMx: {
      const AccessPattern &src = inst.ap[1], &scale = inst.ap[2];
      if (!isFP8(dst.dtype) || limits_.mxPacking(dst.dtype) < 1)
        bad("quantize_mx dst of dtype " + std::string(dtypeName(dst.dtype)) +
            " is not supported on this target (MX element types here: " + mxTypeList() + ")");
      if (!isFloat(src.dtype) || isMxElement(src.dtype) || src.dtype == DType::E8M0)
        bad("quantize_mx src must be fp32, bf16 or fp16, not " + std::string(dtypeName(src.dtype)));
      sameShape(dst, "dst", src, "src");
      const int64_t c = inst.i32[0];
      if (c < 1 || src.freeSize() % (32 * static_cast<uint64_t>(c)) != 0)
        bad("quantize_mx free size " + std::to_string(src.freeSize()) + " is not a multiple of 32 x block_stride=" +
            std::to_string(c));
      if (scale.dtype != DType::E8M0 || scale.partitionCount != src.partitionCount ||
          scale.freeSize() * 32 != src.freeSize())
        bad("'scale_dst' must be e8m0 [" + std::to_string(src.partitionCount) + ", " +
            std::to_string(src.freeSize() / 32) + "]");
      break;
    }
    case Opcode::Select:
      sameShape(dst, "dst", inst.ap[1], "pred");
      sameShape(dst, "dst", inst.ap[2], "on_true");
      sameShape(dst, "dst", inst.ap[3], "on_false");
      break;
    case Opcode::Iota:
      break;
    case Opcode::AffineSelect:
      sameShape(dst, "dst", inst.ap[1], "src");
      if (!isCompareOp(static_cast<AluOp>(inst.enums[0])))
        bad("'cmp' must be eq, ne, lt, le, gt or ge");
      break;
    case Opcode::Memset:
      break;
    case Opcode::PartitionReduce:
      requireReduceOp(static_cast<AluOp>(inst.enums[0]), "op");
      if (dst.partitionCount != 1 || dst.freeSize() != inst.ap[1].freeSize())
        bad("dst must be one partition with the source's free size");
      break;
    case Opcode::PartitionBroadcast:
      if (inst.ap[1].partitionCount != 1 || dst.freeSize() != inst.ap[1].freeSize())
        bad("src must be one partition with dst's free size");
      break;
    case Opcode::BnStats:
      if (dst.dtype != DType::FP32 || dst.freeSize() != 3 || dst.partitionCount != inst.ap[1].partitionCount)
        bad("dst must be fp32 [P, 3]");
      if (inst.ap[1].freeSize() > static_cast<uint64_t>(limits_.bnStatsFreeMax))
        bad("bn_stats reads at most " + std::to_string(limits_.bnStatsFreeMax) + " elements per partition");
      break;
    case Opcode::BnAggr:
      if (dst.dtype != DType::FP32 || dst.freeSize() != 2 || dst.partitionCount != inst.ap[1].partitionCount)
        bad("dst must be fp32 [P, 2]");
      if (inst.ap[1].dtype != DType::FP32 || inst.ap[1].freeSize() % 3 != 0)
        bad("src must be fp32 [P, 3*G]");
      break;
    case Opcode::DmaCopy:
      if (dst.dtype != inst.ap[1].dtype)
        bad("dma_copy does not convert dtypes (" + std::string(dtypeName(inst.ap[1].dtype)) + " -> " +
            std::string(dtypeName(dst.dtype)) + ")");
      sameShape(dst, "dst", inst.ap[1], "src");
      if (inst.flag(0) && dtypeSize(dst.dtype) != 2 && dtypeSize(dst.dtype) != 4)
        bad("the DMA transpose unit moves 2- or 4-byte elements");
      break;
    case Opcode::DmaGather: {
      const AccessPattern &src = inst.ap[1], &index = inst.ap[2];
      if (index.dtype != DType::INT32 || index.freeSize() != 1 || index.partitionCount != dst.partitionCount)
        bad("index must be int32 [" + std::to_string(dst.partitionCount) + ", 1]");
      if (src.dtype != dst.dtype || src.freeSize() != dst.freeSize())
        bad("a table row and a dst partition must hold the same dtype and element count");
      break;
    }
    case Opcode::SemWait:
      if (!inst.wait.present())
        bad("sem_wait needs wait=");
      break;
    case Opcode::SemSignal:
      if (!inst.signal.present())
        bad("sem_signal needs signal=");
      break;
    case Opcode::Barrier: {
      uint64_t &n = inst.enums[0] == 0 ? coreBarriers : chipBarriers;
      n = saturatingAdd(n, tripProduct());
      break;
    }
    case Opcode::Loop:
      if (inst.i32[0] < 1)
        bad("loop count must be at least 1");
      if (loops_.size() == kMaxLoopDepth)
        bad("loops nest at most " + std::to_string(kMaxLoopDepth) + " deep");
      loops_.push_back({inst.i32[0]});
      break;
    case Opcode::EndLoop:
      if (loops_.empty())
        bad("endloop without a matching loop");
      loops_.pop_back();
      break;
    case Opcode::AllReduce:
    case Opcode::AllGather:
    case Opcode::ReduceScatter:
    case Opcode::AllToAll:
    case Opcode::AllToAllV:
    case Opcode::Permute:
      checkCollective(inst);
      break;
    case Opcode::RankId:
      if (inst.i32[0] != -1)
        groupSize(inst.i32[0]);
      break;
    }
  }

  // Members per group of replica-group set `set` (sets are checked well formed
  // before the streams).
  uint64_t groupSize(int32_t set) const {
    if (set < 0 || static_cast<size_t>(set) >= p_.replicaGroups.size())
      bad("replica-group set " + std::to_string(set) + " is not defined (the program has " +
          std::to_string(p_.replicaGroups.size()) + "; add .replica_group lines)");
    return p_.replicaGroups[set].groups[0].size();
  }

  void checkCollective(const Instruction &inst) {
    const AccessPattern &dst = inst.ap[0], &src = inst.ap[1];
    const uint64_t g = groupSize(inst.i32[0]);
    if (inst.i32[1] < 1 || inst.i32[1] > 16)
      bad("channels must be 1-16 (one CC-Core each), not " + std::to_string(inst.i32[1]));
    if (inst.i32[2] < 0 || inst.i32[2] > 3)
      bad("priority must be 0-3, not " + std::to_string(inst.i32[2]));
    if (dst.dtype != src.dtype)
      bad(std::string("collectives do not convert dtypes (") + std::string(dtypeName(src.dtype)) + " -> " +
          std::string(dtypeName(dst.dtype)) + ")");
    const uint64_t d = dst.elementCount(), n = src.elementCount();
    auto sizes = [&](const std::string &rule) {
      bad("dst has " + std::to_string(d) + " elements and src " + std::to_string(n) + " in groups of " +
          std::to_string(g) + ": " + rule);
    };
    const bool reduces = inst.opcode == Opcode::AllReduce || inst.opcode == Opcode::ReduceScatter;
    if (reduces) {
      requireReduceOp(static_cast<AluOp>(inst.enums[0]), "op");
      if (!isFloat(dst.dtype) && dst.dtype != DType::INT32)
        bad(std::string("reductions need a float or int32 dtype, not ") + std::string(dtypeName(dst.dtype)));
    }
    switch (inst.opcode) {
    case Opcode::AllReduce:
      if (d != n)
        sizes("all_reduce needs dst and src of the same size");
      break;
    case Opcode::AllGather:
      if (d != n * g)
        sizes("all_gather needs dst = G x src");
      break;
    case Opcode::ReduceScatter:
      if (n != d * g)
        sizes("reduce_scatter needs src = G x dst");
      break;
    case Opcode::AllToAll:
      if (d != n || n % g != 0)
        sizes("all_to_all needs dst and src of the same size, a multiple of G");
      break;
    case Opcode::AllToAllV:
      if (inst.ap[2].dtype != DType::INT32 || inst.ap[2].elementCount() != 4 * g)
        bad("meta must be int32 with 4*G = " + std::to_string(4 * g) +
            " elements (send counts, send displacements, receive counts, receive displacements)");
      break;
    case Opcode::Permute:
      if (d != n)
        sizes("permute needs dst and src of the same size");
      if (static_cast<uint64_t>(std::abs(static_cast<int64_t>(inst.i32[3]))) >= std::max<uint64_t>(g, 1) &&
          !(g == 1 && inst.i32[3] == 0))
        bad("shift " + std::to_string(inst.i32[3]) + " must satisfy |shift| < G = " + std::to_string(g));
      break;
    default:
      break;
    }
  }

  const Program &p_;
  const Stream &s_;
  const TargetLimits &limits_;
  std::vector<LoopLevel> loops_;
  size_t index_ = 0;
};

// A byte count for messages: "more than 2^64" for one that saturated.
std::string sizeText(uint64_t n) {
  return n == UINT64_MAX ? std::string("more than 2^64") : std::to_string(n);
}

void verifyTensors(const Program &p, const TargetLimits &limits) {
  std::vector<size_t> order(p.tensors.size());
  std::iota(order.begin(), order.end(), 0);
  for (size_t i = 0; i < p.tensors.size(); ++i) {
    const TensorInfo &t = p.tensors[i];
    if (t.name.empty())
      fail("tensor #", i, " has an empty name");
    for (size_t j = 0; j < i; ++j)
      if (p.tensors[j].name == t.name)
        fail("tensor name '", t.name, "' is used twice");
    if (t.shape.size() > FormatLimits::kMaxTensorRank)
      fail("tensor '", t.name, "' has rank ", t.shape.size(), " (at most ", FormatLimits::kMaxTensorRank, ")");
    for (int64_t d : t.shape)
      if (d < 0 || d > FormatLimits::kMaxTensorDim)
        fail("tensor '", t.name, "' has dimension ", d, " (0 to 2^40)");
    // naturalSize() saturates: a shape whose byte count overflows 64 bits
    // reads as UINT64_MAX, above the limit.
    if (t.naturalSize() > FormatLimits::kMaxTensorBytes)
      fail("tensor '", t.name, "' needs ", sizeText(t.naturalSize()), " bytes for its shape; a tensor has at most 2^50");
    if (t.sizeBytes > FormatLimits::kMaxTensorBytes)
      fail("tensor '", t.name, "' has ", t.sizeBytes, " bytes; a tensor has at most 2^50");
    if (t.hbmOffset > FormatLimits::kMaxHbmOffset)
      fail("tensor '", t.name, "' is at HBM offset ", t.hbmOffset, ", beyond the 2^50-byte address space");
    if (t.sizeBytes < t.naturalSize())
      fail("tensor '", t.name, "' has ", t.sizeBytes, " bytes, its shape needs ", t.naturalSize());
    if (!t.data.empty() && t.data.size() != t.sizeBytes)
      fail("tensor '", t.name, "' has ", t.data.size(), " bytes of data for ", t.sizeBytes, " bytes");
    if (!t.data.empty() && t.role != TensorRole::Weight)
      fail("tensor '", t.name, "' has data but is not a weight");
  }
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return p.tensors[a].hbmOffset < p.tensors[b].hbmOffset; });
  // Compare each tensor with the one reaching furthest among those before it
  // (not just its neighbour: an empty tensor in between must not hide an overlap).
  const TensorInfo *reach = nullptr;
  for (size_t k = 0; k < order.size(); ++k) {
    const TensorInfo &b = p.tensors[order[k]];
    if (!b.sizeBytes)
      continue;
    if (reach && reach->hbmOffset + reach->sizeBytes > b.hbmOffset)
      fail("tensors '", reach->name, "' and '", b.name, "' overlap in HBM");
    if (!reach || b.hbmOffset + b.sizeBytes > reach->hbmOffset + reach->sizeBytes)
      reach = &b;
  }
  if (limits.hbmBytes && p.hbmExtent() > limits.hbmBytes)
    fail("the program needs ", p.hbmExtent(), " bytes of HBM; the chip has ", limits.hbmBytes);
}

// Multi-rank programs: every replica-group set partitions the ranks into equal
// groups, and per-rank tensor data has the tensor's size on every rank.
void verifyRanks(const Program &p) {
  if (p.numRanks == 0)
    fail("the program has zero ranks");
  for (size_t i = 0; i < p.replicaGroups.size(); ++i) {
    const ReplicaGroupSet &set = p.replicaGroups[i];
    const std::string where = "replica-group set " + std::to_string(i);
    if (set.groups.empty())
      fail(where, " has no groups");
    std::vector<int> seen(p.numRanks, -1);
    for (size_t k = 0; k < set.groups.size(); ++k) {
      const std::vector<uint16_t> &g = set.groups[k];
      if (g.size() != set.groups[0].size())
        fail(where, ": group ", k, " has ", g.size(), " ranks, group 0 has ", set.groups[0].size(),
             " (groups must be the same size)");
      for (uint16_t r : g) {
        if (r >= p.numRanks)
          fail(where, ": rank ", r, " in group ", k, " is outside the program's ", p.numRanks, " ranks");
        if (seen[r] == static_cast<int>(k))
          fail(where, ": rank ", r, " appears twice in group ", k);
        if (seen[r] >= 0)
          fail(where, ": rank ", r, " is in groups ", seen[r], " and ", k, " (each rank once)");
        seen[r] = static_cast<int>(k);
      }
    }
    for (uint16_t r = 0; r < p.numRanks; ++r)
      if (seen[r] < 0)
        fail(where, ": rank ", r, " is in no group (every rank must be in exactly one)");
  }
  for (size_t i = 0; i < p.rankData.size(); ++i) {
    const RankData &d = p.rankData[i];
    if (d.tensor >= p.tensors.size())
      fail("rank data #", i, " names tensor #", d.tensor, ", not in the tensor table");
    const TensorInfo &t = p.tensors[d.tensor];
    if (d.rank >= p.numRanks)
      fail("rank data of tensor '", t.name, "' is for rank ", d.rank, "; the program has ", p.numRanks,
           " ranks");
    if (t.role != TensorRole::Weight)
      fail("tensor '", t.name, "' has rank data but is not a weight");
    if (d.data.size() != t.sizeBytes)
      fail("tensor '", t.name, "' has ", d.data.size(), " bytes of data on rank ", d.rank, " for ",
           t.sizeBytes, " bytes (shapes must agree across ranks)");
    for (size_t j = 0; j < i; ++j)
      if (p.rankData[j].tensor == d.tensor && p.rankData[j].rank == d.rank)
        fail("tensor '", t.name, "' has rank data for rank ", d.rank, " twice");
  }
}

} // namespace

void verifyProgram(const Program &p, const TargetLimits &limits) {
  if (p.numCores > limits.cores)
    fail("the program uses ", p.numCores, " cores; the chip has ", limits.cores);
  verifyTensors(p, limits);
  verifyRanks(p);

  std::vector<StreamVerifier> verifiers;
  verifiers.reserve(p.streams.size());
  for (const Stream &s : p.streams) {
    verifiers.emplace_back(p, s, limits);
    verifiers.back().run();
  }

  // Semaphores are per core: a wait must be reachable by the increments of its core.
  for (uint16_t core = 0; core < p.numCores; ++core) {
    std::map<uint16_t, uint64_t> total;
    for (size_t i = 0; i < p.streams.size(); ++i)
      if (p.streams[i].core == core)
        for (auto [sem, n] : verifiers[i].increments)
          total[sem] += n;
    for (size_t i = 0; i < p.streams.size(); ++i) {
      if (p.streams[i].core != core)
        continue;
      for (auto [index, value] : verifiers[i].waits) {
        uint16_t sem = p.streams[i].code[index].wait.sem;
        uint64_t have = total.count(sem) ? total[sem] : 0;
        if (value > have)
          fail(describeInstruction(p, p.streams[i], index), ": waits for s", sem, " >= ", value,
               ", but the core's instructions increment it only ", have, " times in total");
      }
    }
    uint64_t expected = UINT64_MAX;
    for (size_t i = 0; i < p.streams.size(); ++i) {
      if (p.streams[i].core != core)
        continue;
      uint64_t n = verifiers[i].coreBarriers;
      if (expected == UINT64_MAX)
        expected = n;
      else if (n != expected)
        fail("core ", core, ": stream ", p.streams[i].engine.name(), " reaches ", n,
             " core barrier(s), other streams ", expected, ": the barrier can never complete");
    }
  }
  for (size_t i = 1; i < verifiers.size(); ++i)
    if (verifiers[i].chipBarriers != verifiers[0].chipBarriers)
      fail("core ", p.streams[i].core, " ", p.streams[i].engine.name(), " reaches ",
           verifiers[i].chipBarriers, " chip barrier(s), core ", p.streams[0].core, " ",
           p.streams[0].engine.name(), " reaches ", verifiers[0].chipBarriers,
           ": the barrier can never complete");
}

} // namespace trnx
