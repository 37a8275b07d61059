// PSUM bank conflicts between engines (chip key psum_bank_conflicts): on
// NC-v3/v4 engines reach PSUM in parallel only on different banks
// (trainium.md 1.4, G2), so an instruction that touches a bank another
// stream's instruction is using waits until that use ends. Only uses that
// began strictly earlier count, so two instructions starting at the same
// instant both proceed and the outcome does not depend on event order.
#pragma once

#include "isa/Instruction.h"
#include "simulator/memory/DeviceMemory.h"
#include "simulator/timing/DmaModel.h" // SimTime

#include <algorithm>
#include <cstdint>
#include <vector>

namespace trnx {

class PsumBanks {
public:
  PsumBanks(int cores, int banks, double bytesPerPartition)
      : banks_(std::max(1, banks)), bankBytes_(std::max<int64_t>(1, static_cast<int64_t>(bytesPerPartition) /
                                                                         std::max(1, banks))),
        uses_(static_cast<size_t>(cores) * banks_) {}

  // Banks (bit b % 64) of the PSUM operands of `inst` at loop indices `iv`.
  uint64_t banksOf(const Instruction &inst, const LoopIndices &iv) const {
    uint64_t mask = 0;
    for (const FieldSpec &f : inst.info().fields) {
      if (f.kind != FieldKind::Ap && f.kind != FieldKind::OptAp)
        continue;
      const AccessPattern &ap = inst.ap[f.slot];
      if (ap.space != MemSpace::PSUM)
        continue;
      int64_t lo = 0, hi = 0;
      ap.freeExtent(lo, hi);
      const int64_t base = ap.offset + loopOffset(ap.offsetStep, iv), size = dtypeSize(ap.dtype);
      const int64_t first = (base + lo * size) / bankBytes_, last = (base + hi * size + size - 1) / bankBytes_;
      for (int64_t b = std::max<int64_t>(0, first); b <= last && b < banks_; ++b)
        mask |= uint64_t(1) << (b % 64);
    }
    return mask;
  }

  // When `stream` may start using `mask` at `now`: the latest end of another
  // stream's use that started before `now` and is still running.
  SimTime freeAt(int core, uint64_t mask, uint32_t stream, SimTime now) {
    SimTime t = now;
    for (uint64_t m = mask; m; m &= m - 1) {
      std::vector<Use> &uses = uses_[static_cast<size_t>(core) * banks_ + __builtin_ctzll(m)];
      size_t kept = 0;
      for (const Use &u : uses) {
        if (u.end <= now)
          continue; // over: no later request can see it
        if (u.stream != stream && u.start < now)
          t = std::max(t, u.end);
        uses[kept++] = u;
      }
      uses.resize(kept);
    }
    return t;
  }

  void use(int core, uint64_t mask, uint32_t stream, SimTime start, SimTime end) {
    if (end <= start)
      return;
    for (uint64_t m = mask; m; m &= m - 1)
      uses_[static_cast<size_t>(core) * banks_ + __builtin_ctzll(m)].push_back(Use{start, end, stream});
  }

private:
  struct Use {
    SimTime start, end;
    uint32_t stream;
  };
  int banks_;
  int64_t bankBytes_;
  std::vector<std::vector<Use>> uses_; // [core * banks + bank]
};

} // namespace trnx
