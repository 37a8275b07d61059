// Same-engine read-after-write latency. An engine pipelines independent
// instructions at their cost, but an instruction that reads on-chip data its
// own engine wrote in a recent instruction starts only when that result is
// visible: the writer's end plus the engine's latency_cycles, the delay a
// dependent instruction on another engine sees through its semaphore (P1:
// back-to-back dependent one-element ACT instructions take ~264 cycles each,
// reference M3). Operands are compared as boxes: a partition range and the
// byte range the free dims reach at the current loop indices.
#pragma once

#include "isa/Instruction.h"
#include "isa/InstructionSet.h"
#include "simulator/memory/DeviceMemory.h"
#include "simulator/machine/CriticalPath.h" // SimTime

#include <array>
#include <cstdint>

namespace trnx {

// One SBUF/PSUM operand of an instruction: its box at loop indices zero and
// the bytes its offset moves per loop level.
struct OperandBox {
  MemSpace space = MemSpace::None;
  bool write = false;
  uint16_t pLo = 0, pHi = 0;
  int64_t lo = 0, hi = 0; // bytes within a partition, [lo, hi)
  std::array<int32_t, kMaxLoopDepth> step{};

  void at(const LoopIndices &iv, int64_t &l, int64_t &h) const {
    int64_t shift = 0;
    for (int i = 0; i < kMaxLoopDepth; ++i)
      shift += static_cast<int64_t>(step[i]) * iv[i];
    l = lo + shift;
    h = hi + shift;
  }
};

// The on-chip operands of an instruction (written or read: isWriteField);
// HBM operands are DMA's and not tracked here.
struct OperandBoxes {
  std::array<OperandBox, kMaxApSlots> box{};
  uint8_t count = 0;
  bool anyWrite = false, anyRead = false;

  static OperandBoxes of(const Instruction &inst) {
    OperandBoxes b;
    for (const FieldSpec &f : inst.info().fields) {
      if (f.kind != FieldKind::Ap && f.kind != FieldKind::OptAp)
        continue;
      const AccessPattern &a = inst.ap[f.slot];
      if (a.space != MemSpace::SBUF && a.space != MemSpace::PSUM)
        continue;
      OperandBox &o = b.box[b.count++];
      o.space = a.space;
      o.write = isWriteField(f);
      o.pLo = a.partitionStart;
      o.pHi = static_cast<uint16_t>(a.partitionStart + a.partitionCount);
      int64_t eLo, eHi;
      a.freeExtent(eLo, eHi);
      const int64_t es = dtypeSize(a.dtype);
      o.lo = a.offset + eLo * es;
      o.hi = a.offset + eHi * es + es;
      o.step = a.offsetStep;
      (o.write ? b.anyWrite : b.anyRead) = true;
    }
    return b;
  }
};

// The results an engine wrote recently and when each becomes visible. Older
// entries are overwritten: an engine that issued kDepth instructions since a
// write has spent at least kDepth x MIN_II on them, past any latency.
class RecentWrites {
public:
  // The time `reads` (at loop indices iv) may start: the latest visibility
  // of a recent write they overlap, or `now`.
  SimTime readyFor(const OperandBoxes &ops, const LoopIndices &iv, SimTime now) const {
    SimTime ready = now;
    for (const Entry &w : entries_) {
      if (w.visible <= ready)
        continue;
      for (uint8_t i = 0; i < ops.count; ++i) {
        const OperandBox &r = ops.box[i];
        if (r.write || r.space != w.space || r.pHi <= w.pLo || w.pHi <= r.pLo)
          continue;
        int64_t lo, hi;
        r.at(iv, lo, hi);
        if (hi > w.lo && w.hi > lo) {
          ready = w.visible;
          break;
        }
      }
    }
    return ready;
  }
  void record(const OperandBoxes &ops, const LoopIndices &iv, SimTime visible) {
    for (uint8_t i = 0; i < ops.count; ++i) {
      const OperandBox &o = ops.box[i];
      if (!o.write)
        continue;
      Entry &e = entries_[next_];
      next_ = (next_ + 1) % kDepth;
      e.space = o.space;
      e.pLo = o.pLo;
      e.pHi = o.pHi;
      o.at(iv, e.lo, e.hi);
      e.visible = visible;
    }
  }

private:
  static constexpr int kDepth = 8;
  struct Entry {
    MemSpace space = MemSpace::None;
    uint16_t pLo = 0, pHi = 0;
    int64_t lo = 0, hi = 0;
    SimTime visible = 0;
  };
  std::array<Entry, kDepth> entries_{};
  int next_ = 0;
};

} // namespace trnx
