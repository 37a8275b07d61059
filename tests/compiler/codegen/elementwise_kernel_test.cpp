// The elementwise kernel generator: broadcasting, per-row scalars, fused
// chains, dtypes, strided views, and HBM efficiency on a large add.
#include "ChipVariants.h"
#include "KernelTestSupport.h"
#include "compiler/codegen/kernels/Kernels.h"
#include "isa/Semantics.h"

#include <gtest/gtest.h>

using namespace trnx;
using namespace trnx::cg;
using namespace trnx::cg::test;

namespace {

// Element index into a row-major array of `shape` for a broadcast operand.
int64_t broadcastIndex(const std::vector<int64_t> &out, const std::vector<int64_t> &in, int64_t flat) {
  int64_t idx = 0, stride = 1;
  for (int d = static_cast<int>(out.size()) - 1, e = static_cast<int>(in.size()) - 1; d >= 0; --d, --e) {
    int64_t coord = flat % out[d];
    flat /= out[d];
    if (e >= 0) {
      if (in[e] != 1)
        idx += coord * stride;
      stride *= in[e];
    }
  }
  return idx;
}

struct Operand {
  std::vector<int64_t> shape;
  DType dtype = DType::FP32;
};

// Runs out = program(inputs) and compares with the scalar semantics.
double check(const std::vector<Operand> &ins, const std::vector<int64_t> &outShape, DType outType,
             const EwProgram &prog, const ChipConfig &chip = loadChip("trn3")) {
  ProgramBuilder pb(targetFor(chip));
  ElementwiseSpec spec;
  std::map<std::string, HostArray> arrays;
  std::vector<std::vector<float>> vals;
  for (size_t i = 0; i < ins.size(); ++i) {
    std::string name = "in" + std::to_string(i);
    uint32_t t = pb.addTensor(name, TensorRole::Input, ins[i].dtype, ins[i].shape);
    spec.inputs.push_back(HbmView::contiguous(t, ins[i].dtype, ins[i].shape).broadcastTo(outShape));
    int64_t n = 1;
    for (int64_t d : ins[i].shape)
      n *= d;
    vals.push_back(randomValues(n, 10 + static_cast<uint32_t>(i)));
    arrays[name] = array(ins[i].shape, vals.back());
    vals.back() = rounded(vals.back(), ins[i].dtype);
  }
  uint32_t out = pb.addTensor("out", TensorRole::Output, outType, outShape);
  spec.out = HbmView::contiguous(out, outType, outShape);
  spec.program = prog;
  emitElementwise(pb, spec, kNoLoc);
  Program p = pb.finish();
  SimulationResult r = run(p, chip, arrays);
  int64_t n = 1;
  for (int64_t d : outShape)
    n *= d;
  std::vector<double> ref(n);
  for (int64_t f = 0; f < n; ++f) {
    std::vector<float> v;
    for (size_t i = 0; i < ins.size(); ++i)
      v.push_back(vals[i][broadcastIndex(outShape, ins[i].shape, f)]);
    for (const EwOp &op : prog.ops) {
      float x = 0;
      switch (op.kind) {
      case EwOp::Kind::Act: x = applyActivation(op.func, v[op.a] * op.scale + op.bias); break;
      case EwOp::Kind::Binary: x = applyAlu(op.alu, v[op.a], v[op.b]); break;
      case EwOp::Kind::Scalar:
        x = applyAlu(op.alu, v[op.a], op.imm);
        if (op.alu2 != AluOp::None)
          x = applyAlu(op.alu2, x, op.imm2);
        break;
      case EwOp::Kind::Select: x = v[op.a] != 0 ? v[op.b] : v[op.c]; break;
      case EwOp::Kind::Const: x = static_cast<float>(op.imm); break;
      }
      v.push_back(x);
    }
    ref[f] = roundTo(outType, v[prog.result]);
  }
  std::vector<float> got(n);
  const HostArray &o = r.outputs.at("out");
  for (int64_t i = 0; i < n; ++i)
    got[i] = o.descr == "<f2" ? decode(DType::FP16, reinterpret_cast<const uint16_t *>(o.data.data())[i])
                              : reinterpret_cast<const float *>(o.data.data())[i];
  return relativeError(got, ref);
}

EwProgram binary(AluOp op) {
  EwProgram p;
  p.numInputs = 2;
  p.result = p.add(EwOp::binary(op, 0, 1));
  return p;
}

} // namespace

TEST(ElementwiseKernel, SameShapeAndRaggedSizes) {
  for (std::vector<int64_t> shape : {std::vector<int64_t>{1000}, {37}, {128, 512}, {3, 130, 70}, {5000, 3}, {70000}})
    EXPECT_EQ(check({{shape}, {shape}}, shape, DType::FP32, binary(AluOp::Add)), 0.0) << shape.size();
}

TEST(ElementwiseKernel, Broadcasts) {
  EXPECT_EQ(check({{{300, 200}}, {{200}}}, {300, 200}, DType::FP32, binary(AluOp::Sub)), 0.0);     // row vector
  EXPECT_EQ(check({{{300, 200}}, {{300, 1}}}, {300, 200}, DType::FP32, binary(AluOp::Div)), 0.0);  // per-row scalar
  EXPECT_EQ(check({{{300, 1}}, {{300, 200}}}, {300, 200}, DType::FP32, binary(AluOp::Sub)), 0.0);  // reversed
  EXPECT_EQ(check({{{4, 1, 64}}, {{4, 33, 1}}}, {4, 33, 64}, DType::FP32, binary(AluOp::Mul)), 0.0);
  EXPECT_EQ(check({{{1}}, {{9000}}}, {9000}, DType::FP32, binary(AluOp::Max)), 0.0);
  // A middle-dim broadcast (decode RoPE tables over each sequence's heads):
  // many one-tile blocks spread over the cores.
  EXPECT_EQ(check({{{21, 6, 40}}, {{21, 1, 40}}}, {21, 6, 40}, DType::FP32, binary(AluOp::Mul)), 0.0);
}

TEST(ElementwiseKernel, FusedChainsSelectAndDtypes) {
  EwProgram gelu; // gelu(2x + 1) * y
  gelu.numInputs = 2;
  int s = gelu.add(EwOp::scalar(AluOp::Mul, 0, 2.0f));
  int t = gelu.add(EwOp::scalar(AluOp::Add, s, 1.0f));
  int g = gelu.add(EwOp::act(ActFunc::Gelu, t));
  gelu.result = gelu.add(EwOp::binary(AluOp::Mul, g, 1));
  EXPECT_LT(check({{{257, 300}}, {{257, 300}}}, {257, 300}, DType::FP32, gelu), 1e-6);
  EXPECT_LT(check({{{257, 300}, DType::BF16}, {{300}, DType::BF16}}, {257, 300}, DType::BF16, gelu), 1e-6);

  EwProgram sel; // x > y ? x : y * 3
  sel.numInputs = 2;
  int gt = sel.add(EwOp::binary(AluOp::Gt, 0, 1));
  int y3 = sel.add(EwOp::scalar(AluOp::Mul, 1, 3.0f));
  sel.result = sel.add(EwOp::select(gt, 0, y3));
  EXPECT_EQ(check({{{100, 77}}, {{100, 1}}}, {100, 77}, DType::FP32, sel), 0.0);
  EXPECT_EQ(check({{{2049}}, {{2049}}}, {2049}, DType::FP16, binary(AluOp::Add)), 0.0);
}

TEST(ElementwiseKernel, TransposedInputView) {
  ChipConfig chip = loadChip("trn3");
  ProgramBuilder pb(targetFor(chip));
  uint32_t x = pb.addTensor("x", TensorRole::Input, DType::FP32, {96, 200});
  uint32_t y = pb.addTensor("y", TensorRole::Output, DType::FP32, {200, 96});
  ElementwiseSpec spec;
  spec.inputs.push_back(HbmView::contiguous(x, DType::FP32, {96, 200}).transposed({1, 0}));
  spec.out = HbmView::contiguous(y, DType::FP32, {200, 96});
  spec.program.numInputs = 1;
  spec.program.result = spec.program.add(EwOp::act(ActFunc::Exp, 0));
  emitElementwise(pb, spec, kNoLoc);
  auto xv = randomValues(96 * 200, 5);
  SimulationResult r = run(pb.finish(), chip, {{"x", array({96, 200}, xv)}});
  std::vector<double> ref(200 * 96);
  for (int i = 0; i < 96; ++i)
    for (int j = 0; j < 200; ++j)
      ref[j * 96 + i] = std::exp(xv[i * 200 + j]);
  EXPECT_LT(relativeError(values(r.outputs.at("y")), ref), 1e-6);
}

// Simulated efficiency (deterministic): a large add is HBM-bound.
TEST(ElementwiseKernel, LargeAddReachesHbmBandwidth) {
  ChipConfig chip = loadChip("trn3");
  ProgramBuilder pb(targetFor(chip));
  const int64_t n = int64_t(1) << 25; // 32 M fp32 elements, 128 MiB per tensor
  uint32_t a = pb.addTensor("a", TensorRole::Input, DType::FP32, {n});
  uint32_t b = pb.addTensor("b", TensorRole::Input, DType::FP32, {n});
  uint32_t c = pb.addTensor("c", TensorRole::Output, DType::FP32, {n});
  ElementwiseSpec spec;
  spec.inputs = {HbmView::contiguous(a, DType::FP32, {n}), HbmView::contiguous(b, DType::FP32, {n})};
  spec.out = HbmView::contiguous(c, DType::FP32, {n});
  spec.program = binary(AluOp::Add);
  emitElementwise(pb, spec, kNoLoc);
  Report rep = run(pb.finish(), chip, {}, false, true).report;
  EXPECT_DOUBLE_EQ(rep.hbm_bytes, 3.0 * n * 4);
  double fraction = rep.achieved_hbm_bytes_per_second / rep.peak_hbm_bytes_per_second;
  EXPECT_GE(fraction, 0.80) << rep.seconds;
  RecordProperty("hbm_fraction", std::to_string(fraction));
  EXPECT_LE(fraction, 1.0);
}

// Every chip variant (tests/compiler/codegen/ChipVariants.h): tiles follow
// its partitions, queues and cores.
class ElementwiseOnChips : public ::testing::TestWithParam<ChipVariant> {};

TEST_P(ElementwiseOnChips, RaggedShapesAndBroadcasts) {
  const ChipConfig chip = GetParam().chip();
  EXPECT_EQ(check({{{3, 130, 70}}, {{3, 130, 70}}}, {3, 130, 70}, DType::FP32, binary(AluOp::Add), chip), 0.0);
  EXPECT_EQ(check({{{70000}}, {{70000}}}, {70000}, DType::FP32, binary(AluOp::Mul), chip), 0.0);
  EXPECT_EQ(check({{{300, 200}}, {{300, 1}}}, {300, 200}, DType::FP32, binary(AluOp::Div), chip), 0.0);
  EXPECT_EQ(check({{{21, 6, 40}}, {{21, 1, 40}}}, {21, 6, 40}, DType::FP32, binary(AluOp::Mul), chip), 0.0);
}

INSTANTIATE_TEST_SUITE_P(Architectures, ElementwiseOnChips, ::testing::ValuesIn(chipVariants()), variantName);
