// Copy, fill, gather and row-operation kernels against direct references.
#include "ChipVariants.h"
#include "KernelTestSupport.h"
#include "compiler/codegen/kernels/Kernels.h"

#include <gtest/gtest.h>

#include <numeric>

using namespace trnx;
using namespace trnx::cg;
using namespace trnx::cg::test;

namespace {

ChipConfig &chip() {
  static ChipConfig c = loadChip("trn3");
  return c;
}

int64_t count(const std::vector<int64_t> &s) {
  return std::accumulate(s.begin(), s.end(), int64_t(1), std::multiplies<int64_t>());
}

// Reads element `idx` of a row-major array through a view's strides.
double at(const std::vector<float> &data, const HbmView &v, int64_t flat) {
  int64_t off = v.offset;
  for (int d = v.rank() - 1; d >= 0; --d) {
    off += (flat % v.shape[d]) * v.strides[d];
    flat /= v.shape[d];
  }
  return data[off];
}

// dst = copy of a view of x; checks against reading the view directly.
void checkCopy(const std::vector<int64_t> &xShape, const std::function<HbmView(const HbmView &)> &view,
               const ChipConfig &target = chip()) {
  ProgramBuilder pb(targetFor(target));
  uint32_t x = pb.addTensor("x", TensorRole::Input, DType::FP32, xShape);
  HbmView src = view(HbmView::contiguous(x, DType::FP32, xShape));
  uint32_t y = pb.addTensor("y", TensorRole::Output, DType::FP32, src.shape);
  emitCopy(pb, src, HbmView::contiguous(y, DType::FP32, src.shape), kNoLoc);
  auto xv = randomValues(count(xShape), 7);
  SimulationResult r = run(pb.finish(), target, {{"x", array(xShape, xv)}});
  std::vector<float> got = values(r.outputs.at("y"));
  std::vector<double> ref(got.size());
  for (size_t i = 0; i < ref.size(); ++i)
    ref[i] = at(xv, src, static_cast<int64_t>(i));
  EXPECT_EQ(relativeError(got, ref), 0.0);
}

} // namespace

TEST(CopyKernel, ContiguousTransposedSlicedAndBroadcastViews) {
  checkCopy({100000}, [](const HbmView &v) { return v; });
  checkCopy({300, 200}, [](const HbmView &v) { return v.transposed({1, 0}); });
  checkCopy({4, 64, 6, 32}, [](const HbmView &v) { return v.transposed({0, 2, 1, 3}); });  // heads split
  checkCopy({2, 3, 4, 5, 6, 7}, [](const HbmView &v) { return v.transposed({5, 4, 3, 2, 1, 0}); });
  checkCopy({50, 80}, [](const HbmView &v) { return v.sliced({3, 10}, {40, 33}, {1, 2}); });
  checkCopy({1, 300}, [](const HbmView &v) { return v.broadcastTo({130, 300}); });
}

// A concatenation's parts as one kernel (emitCopies): strided slices of a
// padded image (conv im2col) side by side in one destination.
TEST(CopyKernel, SeveralCopiesShareOneKernel) {
  ProgramBuilder pb(targetFor(chip()));
  const std::vector<int64_t> xs = {8, 20, 20};
  uint32_t x = pb.addTensor("x", TensorRole::Input, DType::FP32, xs);
  uint32_t y = pb.addTensor("y", TensorRole::Output, DType::FP32, {8, 9, 18, 18});
  HbmView in = HbmView::contiguous(x, DType::FP32, xs), out = HbmView::contiguous(y, DType::FP32, {8, 9, 18, 18});
  std::vector<std::pair<HbmView, HbmView>> copies;
  for (int64_t i = 0; i < 9; ++i) {
    HbmView piece = in.sliced({0, i / 3, i % 3}, {8, 18, 18}, {1, 1, 1});
    copies.emplace_back(*piece.reshapedInPlace({8, 1, 18, 18}), out.sliced({0, i, 0, 0}, {8, 1, 18, 18}, {1, 1, 1, 1}));
  }
  emitCopies(pb, copies, kNoLoc);
  EXPECT_EQ(pb.kernelCount(), 1u);
  auto xv = randomValues(count(xs), 9);
  SimulationResult r = run(pb.finish(), chip(), {{"x", array(xs, xv)}});
  std::vector<float> got = values(r.outputs.at("y"));
  for (int64_t c = 0; c < 8; ++c)
    for (int64_t i = 0; i < 9; ++i)
      for (int64_t h = 0; h < 18; ++h)
        for (int64_t w = 0; w < 18; ++w)
          ASSERT_EQ(got[((c * 9 + i) * 18 + h) * 18 + w], xv[(c * 20 + h + i / 3) * 20 + w + i % 3]) << c << i << h << w;
}

// Reshapes of strided views that need no copy (numpy's rule) and those that do.
TEST(HbmView, ReshapeInPlaceWhereTheStridesAllow) {
  const HbmView x = HbmView::contiguous(0, DType::FP32, {4, 6, 10});
  const HbmView s = x.sliced({0, 0, 2}, {4, 6, 5}, {1, 1, 1}); // rows of 5 of 10
  auto u = s.reshapedInPlace({4, 1, 6, 5});                  // a unit dim inserted
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->strides[0], 60);
  EXPECT_EQ(u->strides[2], 10);
  EXPECT_EQ(u->strides[3], 1);
  EXPECT_EQ(u->offset, 2);
  auto merged = s.reshapedInPlace({24, 5}); // dims 0 and 1 are contiguous with each other
  ASSERT_TRUE(merged.has_value());
  EXPECT_EQ(merged->strides, (std::vector<int64_t>{10, 1}));
  auto split = s.reshapedInPlace({2, 2, 6, 5});
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->strides, (std::vector<int64_t>{120, 60, 10, 1}));
  EXPECT_FALSE(s.reshapedInPlace({4, 30}).has_value()); // rows of 5 are not contiguous with each other
  EXPECT_FALSE(x.transposed({2, 1, 0}).reshapedInPlace({240}).has_value());
  EXPECT_TRUE(x.reshapedInPlace({24, 10}).has_value()); // contiguous
}

TEST(CopyKernel, FillThenCopyIntoPaddedInterior) {
  ProgramBuilder pb(targetFor(chip()));
  uint32_t x = pb.addTensor("x", TensorRole::Input, DType::FP32, {30, 40});
  uint32_t y = pb.addTensor("y", TensorRole::Output, DType::FP32, {33, 45});
  HbmView out = HbmView::contiguous(y, DType::FP32, {33, 45});
  emitFill(pb, out, -1.5f, kNoLoc);
  emitCopy(pb, HbmView::contiguous(x, DType::FP32, {30, 40}), out.sliced({1, 2}, {30, 40}, {1, 1}), kNoLoc);
  auto xv = randomValues(1200, 8);
  std::vector<float> got = values(run(pb.finish(), chip(), {{"x", array({30, 40}, xv)}}).outputs.at("y"));
  for (int i = 0; i < 33; ++i)
    for (int j = 0; j < 45; ++j) {
      bool inside = i >= 1 && i < 31 && j >= 2 && j < 42;
      ASSERT_EQ(got[i * 45 + j], inside ? xv[(i - 1) * 40 + (j - 2)] : -1.5f) << i << "," << j;
    }
}

namespace {

void checkGather(const ChipConfig &target) {
  ProgramBuilder pb(targetFor(target));
  const int64_t V = 1000, D = 96, N = 300;
  uint32_t table = pb.addTensor("table", TensorRole::Input, DType::FP32, {V, D});
  uint32_t ids = pb.addTensor("ids", TensorRole::Input, DType::INT32, {3, 100});
  uint32_t out = pb.addTensor("out", TensorRole::Output, DType::FP32, {3, 100, D});
  emitGather(pb, HbmView::contiguous(table, DType::FP32, {V, D}), HbmView::contiguous(ids, DType::INT32, {3, 100}),
             HbmView::contiguous(out, DType::FP32, {3, 100, D}), kNoLoc);
  auto tv = randomValues(V * D, 9);
  std::vector<float> idv(N);
  for (int64_t i = 0; i < N; ++i)
    idv[i] = static_cast<float>((i * 37 + 11) % V);
  HostArray idArray = array({3, 100}, idv);
  SimulationResult r = run(pb.finish(), target, {{"table", array({V, D}, tv)}, {"ids", idArray}});
  std::vector<float> got = values(r.outputs.at("out"));
  for (int64_t i = 0; i < N; ++i)
    for (int64_t d = 0; d < D; ++d)
      ASSERT_EQ(got[i * D + d], tv[static_cast<int64_t>(idv[i]) * D + d]);
}

} // namespace

TEST(GatherKernel, EmbeddingLookup) { checkGather(chip()); }

namespace {

std::vector<float> rowOp(RowSpec::Kind kind, const std::vector<int64_t> &shape, std::vector<float> &xv,
                         std::vector<float> &gv, std::vector<float> &bv, bool affine, const ChipConfig &target) {
  ProgramBuilder pb(targetFor(target));
  const int64_t D = shape.back();
  bool reduce = kind == RowSpec::Kind::ReduceSum || kind == RowSpec::Kind::ReduceMax || kind == RowSpec::Kind::ReduceMin;
  std::vector<int64_t> outShape = shape;
  if (reduce)
    outShape.back() = 1;
  RowSpec s;
  s.kind = kind;
  s.x = HbmView::contiguous(pb.addTensor("x", TensorRole::Input, DType::FP32, shape), DType::FP32, shape);
  s.out = HbmView::contiguous(pb.addTensor("y", TensorRole::Output, DType::FP32, outShape), DType::FP32, outShape);
  s.gamma.tensor = s.beta.tensor = kNoTensor;
  std::map<std::string, HostArray> in;
  xv = randomValues(count(shape), 21, 2.0f);
  in["x"] = array(shape, xv);
  if (affine) {
    s.gamma = HbmView::contiguous(pb.addTensor("g", TensorRole::Input, DType::FP32, {D}), DType::FP32, {D});
    gv = randomValues(D, 22);
    in["g"] = array({D}, gv);
    if (kind == RowSpec::Kind::LayerNorm) {
      s.beta = HbmView::contiguous(pb.addTensor("b", TensorRole::Input, DType::FP32, {D}), DType::FP32, {D});
      bv = randomValues(D, 23);
      in["b"] = array({D}, bv);
    }
  }
  emitRowOp(pb, s, kNoLoc);
  return values(run(pb.finish(), target, in).outputs.at("y"));
}

// Every kind of row op on each shape against a float64 reference.
void checkRowOps(const ChipConfig &target, const std::vector<std::vector<int64_t>> &shapes) {
  using K = RowSpec::Kind;
  for (K kind : {K::ReduceSum, K::ReduceMax, K::ReduceMin, K::Softmax, K::LogSoftmax, K::LayerNorm, K::RmsNorm}) {
    for (const std::vector<int64_t> &shape : shapes) {
      std::vector<float> xv, gv, bv;
      const bool affine = kind == K::LayerNorm || kind == K::RmsNorm;
      std::vector<float> got = rowOp(kind, shape, xv, gv, bv, affine, target);
      const int64_t D = shape.back(), rows = count(shape) / D;
      std::vector<double> ref;
      for (int64_t r = 0; r < rows; ++r) {
        const float *x = xv.data() + r * D;
        double sum = 0, mx = -1e30, mn = 1e30, sq = 0;
        for (int64_t i = 0; i < D; ++i) {
          sum += x[i];
          mx = std::max<double>(mx, x[i]);
          mn = std::min<double>(mn, x[i]);
          sq += double(x[i]) * x[i];
        }
        double mean = sum / D, var = 0, es = 0;
        for (int64_t i = 0; i < D; ++i) {
          var += (x[i] - mean) * (x[i] - mean);
          es += std::exp(x[i] - mx);
        }
        var /= D;
        switch (kind) {
        case K::ReduceSum: ref.push_back(sum); break;
        case K::ReduceMax: ref.push_back(mx); break;
        case K::ReduceMin: ref.push_back(mn); break;
        case K::Softmax: for (int64_t i = 0; i < D; ++i) ref.push_back(std::exp(x[i] - mx) / es); break;
        case K::LogSoftmax: for (int64_t i = 0; i < D; ++i) ref.push_back(x[i] - mx - std::log(es)); break;
        case K::LayerNorm: for (int64_t i = 0; i < D; ++i) ref.push_back((x[i] - mean) / std::sqrt(var + 1e-5) * gv[i] + bv[i]); break;
        case K::RmsNorm: for (int64_t i = 0; i < D; ++i) ref.push_back(x[i] / std::sqrt(sq / D + 1e-5) * gv[i]); break;
        }
      }
      EXPECT_LT(relativeError(got, ref), 1e-5) << static_cast<int>(kind) << " rank " << shape.size();
    }
  }
}

} // namespace

TEST(RowKernel, ReductionsSoftmaxAndNorms) { checkRowOps(chip(), {{300, 700}, {2, 130, 64}, {1, 1300}}); }

// Few long rows are folded over many partitions (decode's RMSNorm and its
// softmax over the KV cache): numerics of every kind, and the fold itself.
TEST(RowKernel, FewLongRowsFoldAcrossPartitions) {
  checkRowOps(chip(), {{1, 4096}, {8, 4, 2048}, {5, 1000}, {2, 3, 96}, {1, 17}});
  ProgramBuilder pb(targetFor(chip()));
  RowSpec s;
  s.kind = RowSpec::Kind::RmsNorm;
  s.x = HbmView::contiguous(pb.addTensor("x", TensorRole::Input, DType::FP32, {1, 4096}), DType::FP32, {1, 4096});
  s.out = HbmView::contiguous(pb.addTensor("y", TensorRole::Output, DType::FP32, {1, 4096}), DType::FP32, {1, 4096});
  s.gamma.tensor = s.beta.tensor = kNoTensor;
  emitRowOp(pb, s, kNoLoc);
  const Program program = pb.finish();
  int widestLoad = 0, transposes = 0;
  for (const Stream &st : program.streams)
    for (const Instruction &i : st.code) {
      if (i.opcode == Opcode::DmaCopy && i.ap[1].space == MemSpace::HBM)
        widestLoad = std::max<int>(widestLoad, i.ap[0].partitionCount);
      transposes += i.opcode == Opcode::Transpose;
    }
  EXPECT_EQ(widestLoad, 128); // one row of 4096 over all 128 partitions, 32 columns each
  EXPECT_EQ(transposes, 2);   // sum of squares combined: one transpose each way
}

// Every chip variant (ChipVariants.h): row tiles follow the partition count,
// copies and gathers the queues and cores.
class DataMovementAndRowsOnChips : public ::testing::TestWithParam<ChipVariant> {};

TEST_P(DataMovementAndRowsOnChips, CopiesGathersAndRowOps) {
  const ChipConfig target = GetParam().chip();
  checkCopy({300, 200}, [](const HbmView &v) { return v.transposed({1, 0}); }, target);
  checkCopy({4, 64, 6, 32}, [](const HbmView &v) { return v.transposed({0, 2, 1, 3}); }, target);
  checkGather(target);
  checkRowOps(target, {{300, 700}, {2, 130, 64}, {3, 1000}});
}

INSTANTIATE_TEST_SUITE_P(Architectures, DataMovementAndRowsOnChips, ::testing::ValuesIn(chipVariants()), variantName);
