// Pieces the matmul schedules share (internal to the matmul generators):
// per-core jobs, batch offsets, the tile shapes a target allows, and the
// evacuation of a PSUM tile through the epilogue to HBM.
#pragma once

#include "compiler/codegen/kernels/Kernels.h"
#include "compiler/codegen/kernels/KernelSupport.h"

#include <functional>
#include <vector>

namespace trnx::cg {


// One core's piece of the product: element offsets of the batch element in
// a, b, c and each epilogue input, and the rows/columns of c it computes.
struct MatmulJob {
  int64_t aOff, bOff, cOff;
  std::vector<int64_t> extraOff;
  int64_t m0, m, n0, n;
};

// Batch element offsets of view `v` for each flattened batch index.
std::vector<int64_t> batchOffsets(const HbmView &v, const std::vector<int64_t> &batchShape);

// Each core's jobs: split by batch, then over a grid of cores in rows and
// columns (the grid moving the fewest HBM bytes per core when the schedule
// keeps `chunkCols` columns of b resident): rows in multiples of `rowAlign`
// (the schedule's row tile), columns in multiples of `colAlign` (its column
// slice) when there are enough, else of the smaller of the two.
std::vector<std::vector<MatmulJob>> matmulCoreJobs(const MatmulSpec &spec, int cores, int64_t rowAlign,
                                                   int64_t colAlign, int64_t chunkCols);

// Writes result tiles of c: the epilogue over a PSUM bank [m x w] (plus the
// epilogue inputs, loaded per tile) into an SBUF tile, then the store. c and
// the epilogue inputs may be transposed views (a ws schedule computes C^T):
// DMAs use the transpose unit where a tile's rows walk contiguous elements,
// and an input constant along the tile's columns loads as [m, 1].
class MatmulEvacuator {
public:
  MatmulEvacuator(CoreKernel &k, const MatmulSpec &s, QueueRotor &loadExtra, QueueRotor &store);

  // Buffers for one tile of up to `cols` columns: the SBUF output tile and
  // one tile per epilogue input.
  struct Tile {
    OnChip out;
    std::vector<OnChip> extras;
  };
  Tile allocTile(int64_t cols);
  // Epilogue of `bank` [m x w] for c rows m0.. and columns n0.., job offsets j.
  void evacuate(const MatmulJob &j, const Affine &m0, int64_t m, const Affine &n0, int64_t w, const OnChip &bank,
                const Tile &tile);
  // The same for `tiles` row tiles side by side in the bank, [m x tiles x w]:
  // tile t holds c rows m0 + t * rowStep.. (one epilogue pass and one store
  // for them all; the Tile must hold tiles x w columns).
  void evacuateTiles(const MatmulJob &j, const Affine &m0, int64_t m, int64_t tiles, int64_t rowStep,
                     const Affine &n0, int64_t w, const OnChip &bank, const Tile &tile);

private:
  bool columnConstant(size_t e) const; // epilogue input e does not vary along c's columns
  CoreKernel &k_;
  const MatmulSpec &s_;
  QueueRotor &loadExtra_, &store_;
  EwProgram epilogue_;
  std::vector<OnChip> temps_;
  int64_t tempCols_ = 0;
  EngineBalancer balance_;
};

// A whole-K matmul kernel of one schedule: emits it and returns true, or
// returns false (emitting nothing) when some core's working set does not fit
// SBUF; with dryRun only the check is made.
using WholeKEmitter = std::function<bool(ProgramBuilder &, const MatmulSpec &, uint32_t loc, bool dryRun)>;

// The product with K split into segments (an fp32 partial product in HBM
// scratch) when `wholeK` does not fit SBUF at once; segments are multiples
// of `kAlign` rows.
void emitKSegments(ProgramBuilder &pb, const MatmulSpec &spec, uint32_t loc, int64_t kAlign,
                   const WholeKEmitter &wholeK);

// The stationary-array schedules (ws/is arrays; MatmulStationary.cpp): the
// spec's a operand is held in the array (A^T tiles), b streams. A ws chip
// passes the transposed problem C^T = B^T A^T.
bool emitStationaryWholeK(ProgramBuilder &pb, const MatmulSpec &spec, uint32_t loc, bool dryRun);
// The output-stationary schedule (os arrays; MatmulOs.cpp).
bool emitOsWholeK(ProgramBuilder &pb, const MatmulSpec &spec, uint32_t loc, bool dryRun);

} // namespace trnx::cg
