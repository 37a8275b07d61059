// Fluid DMA/HBM bandwidth model.
#include "simulator/timing/DmaModel.h"

#include <algorithm>
#include <cmath>

namespace trnx {

DmaModel::DmaModel(const ChipConfig &chip) : chip_(chip), freeEngines_(chip.cores, 0) {}

void DmaModel::progress(SimTime now) {
  if (now <= last_)
    return;
  const SimTime elapsed = now - last_;
  const double dt = static_cast<double>(elapsed) / kFemtosecondsPerSecond;
  for (Transfer &t : transfers_) {
    t.remaining -= std::min(t.remaining, t.rate * dt);
    (t.hbmCapped ? t.hbmTime : t.engineTime) += elapsed;
    engineSeconds_ += t.engines * dt;
  }
  if (capped_ && !transfers_.empty())
    hbmCappedSeconds_ += dt;
  last_ = now;
}

void DmaModel::recomputeRates() {
  // transfers_ is in start order: the oldest transfer of a core goes first.
  std::fill(freeEngines_.begin(), freeEngines_.end(), chip_.dma.engines_per_core);
  double hbmDemand = 0;
  if (collectives_ > 0)
    for (const Transfer &t : transfers_)
      if (t.collective && t.links)
        for (uint32_t l : *t.links) {
          if (l >= linkUse_.size())
            linkUse_.resize(l + 1, 0);
          ++linkUse_[l];
        }
  for (Transfer &t : transfers_) {
    if (t.collective) {
      int share = 1;
      if (t.links)
        for (uint32_t l : *t.links)
          share = std::max(share, linkUse_[l]);
      t.engines = 0;
      t.rate = t.linkRate / share;
      t.hbmCapped = false;
      hbmDemand += t.rate * t.hbmSides;
      continue;
    }
    const int engines = std::min(t.rows, freeEngines_[t.core]);
    freeEngines_[t.core] -= engines;
    t.engines = engines;
    t.rate = engines * chip_.dma.engine_bytes_per_second * t.efficiency;
    t.hbmCapped = false;
    hbmDemand += t.rate * t.hbmSides;
  }
  if (collectives_ > 0)
    std::fill(linkUse_.begin(), linkUse_.end(), 0);
  const double hbmCap = chip_.hbm.bytes_per_second * chip_.hbm.max_utilization;
  capped_ = hbmDemand > hbmCap;
  if (capped_) {
    const double scale = hbmCap / hbmDemand;
    for (Transfer &t : transfers_)
      if (t.hbmSides) {
        t.rate *= scale;
        t.hbmCapped = true;
      }
  }
}

void DmaModel::start(SimTime now, int core, const DmaShape &shape, uint32_t owner) {
  progress(now);
  transfers_.push_back(
      Transfer{core, shape.payload_bytes, shape.efficiency, shape.hbm_sides, std::max(1, shape.rows), 0, owner});
  recomputeRates();
}

void DmaModel::startCollective(SimTime now, int core, double bytes, double linkRate, int hbmSides,
                               const std::vector<uint32_t> *links, uint32_t owner) {
  progress(now);
  Transfer t{core, bytes, 1.0, hbmSides, 1, 0, owner};
  t.collective = true;
  t.linkRate = linkRate;
  t.links = links;
  transfers_.push_back(t);
  ++collectives_;
  recomputeRates();
}

std::vector<DmaCompletion> DmaModel::advance(SimTime now) {
  progress(now);
  std::vector<DmaCompletion> done;
  // A transfer within a femtosecond of its end counts as finished (rounding).
  auto finished = [&](const Transfer &t) {
    return t.remaining <= 0 || (t.rate > 0 && t.remaining <= t.rate / kFemtosecondsPerSecond);
  };
  for (const Transfer &t : transfers_)
    if (finished(t))
      done.push_back(DmaCompletion{t.owner, t.engineTime, t.hbmTime});
  if (!done.empty()) {
    for (const Transfer &t : transfers_)
      if (t.collective && finished(t))
        --collectives_;
    transfers_.erase(std::remove_if(transfers_.begin(), transfers_.end(), finished), transfers_.end());
    recomputeRates();
  }
  return done;
}

SimTime DmaModel::nextCompletion() const {
  SimTime best = -1;
  for (const Transfer &t : transfers_) {
    if (t.rate <= 0)
      continue; // waiting for an engine
    double seconds = t.remaining / t.rate;
    // A step longer than kMaxSimStep is taken in parts (advance() keeps what remains).
    const double fs = std::ceil(seconds * kFemtosecondsPerSecond);
    SimTime at = last_ + (fs >= static_cast<double>(kMaxSimStep) ? kMaxSimStep : static_cast<SimTime>(fs));
    if (best < 0 || at < best)
      best = at;
  }
  return best;
}

double DmaModel::hbmRate() const {
  double r = 0;
  for (const Transfer &t : transfers_)
    r += t.rate * t.hbmSides;
  return r;
}

} // namespace trnx
