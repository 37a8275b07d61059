// Every chip key does what the registry says and nothing else: perturbing it
// changes the compiler's target limits exactly when the key is marked
// `codegen`, the timing of a probe suite (every instruction family) exactly
// when marked `timing`, the dynamic or static chip energy when `energy`, and
// the node / facility / provisioned figures when `power`. A key marked with
// no effect must change none of them (simulator/config/ConfigFields.cpp).
#include "KernelTestSupport.h"
#include "compiler/codegen/kernels/Kernels.h"
#include "isa/AsmParser.h"
#include "isa/Container.h"
#include "isa/Error.h"
#include "simulator/config/ConfigFields.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

using namespace trnx;
using namespace trnx::cg;
using namespace trnx::cg::test;

namespace {

// ---- the probe suite ---------------------------------------------------------

Program matmulProbe(const ChipConfig &chip, int64_t m, int64_t k, int64_t n, DType in, DType op) {
  ProgramBuilder pb(targetFor(chip));
  uint32_t a = pb.addTensor("a", TensorRole::Input, in, {m, k});
  uint32_t b = pb.addTensor("b", TensorRole::Input, in, {k, n});
  uint32_t c = pb.addTensor("c", TensorRole::Output, DType::BF16, {m, n});
  MatmulSpec s;
  s.a = HbmView::contiguous(a, in, {m, k});
  s.b = HbmView::contiguous(b, in, {k, n});
  s.c = HbmView::contiguous(c, DType::BF16, {m, n});
  s.operandType = op;
  emitMatmul(pb, s, kNoLoc);
  return pb.finish();
}

Program mxProbe(const ChipConfig &chip, DType t) {
  ProgramBuilder pb(targetFor(chip));
  MxMatmulSpec s;
  s.aType = s.bType = t;
  s.m = s.n = 256;
  s.k = 1024;
  const int64_t v = valuesPerElement(t);
  s.aT = pb.addTensor("a", TensorRole::Input, t, {s.k, s.m / v});
  s.aScale = pb.addTensor("as", TensorRole::Input, DType::E8M0, {s.k / 32, s.m});
  s.b = pb.addTensor("b", TensorRole::Input, t, {s.k, s.n / v});
  s.bScale = pb.addTensor("bs", TensorRole::Input, DType::E8M0, {s.k / 32, s.n});
  s.c = pb.addTensor("c", TensorRole::Output, DType::FP32, {s.m, s.n});
  emitMatmulMx(pb, s, kNoLoc);
  return pb.finish();
}

Program rowProbe(const ChipConfig &chip, RowSpec::Kind kind) {
  ProgramBuilder pb(targetFor(chip));
  RowSpec s;
  s.kind = kind;
  s.x = HbmView::contiguous(pb.addTensor("x", TensorRole::Input, DType::BF16, {512, 1536}), DType::BF16, {512, 1536});
  s.out = HbmView::contiguous(pb.addTensor("y", TensorRole::Output, DType::BF16, {512, 1536}), DType::BF16, {512, 1536});
  s.gamma = HbmView::contiguous(pb.addTensor("g", TensorRole::Input, DType::FP32, {1536}), DType::FP32, {1536});
  s.beta = s.gamma;
  if (kind != RowSpec::Kind::LayerNorm)
    s.beta.tensor = kNoTensor;
  if (kind == RowSpec::Kind::Softmax)
    s.gamma.tensor = kNoTensor;
  emitRowOp(pb, s, kNoLoc);
  return pb.finish();
}

Program elementwiseProbe(const ChipConfig &chip, DType t) {
  ProgramBuilder pb(targetFor(chip));
  ElementwiseSpec s;
  const std::vector<int64_t> shape = {1024, 2048};
  s.inputs.push_back(HbmView::contiguous(pb.addTensor("x", TensorRole::Input, t, shape), t, shape));
  s.inputs.push_back(HbmView::contiguous(pb.addTensor("y", TensorRole::Input, t, shape), t, shape));
  s.out = HbmView::contiguous(pb.addTensor("z", TensorRole::Output, t, shape), t, shape);
  s.program.numInputs = 2;
  const int sum = s.program.add(EwOp::binary(AluOp::Add, 0, 1));
  s.program.result = s.program.add(EwOp::act(ActFunc::Gelu, sum));
  emitElementwise(pb, s, kNoLoc);
  return pb.finish();
}

Program dataMovementProbe(const ChipConfig &chip) {
  ProgramBuilder pb(targetFor(chip));
  const uint32_t x = pb.addTensor("x", TensorRole::Input, DType::BF16, {1024, 768});
  const uint32_t xt = pb.addTensor("xt", TensorRole::Output, DType::BF16, {768, 1024});
  emitCopy(pb, HbmView::contiguous(x, DType::BF16, {1024, 768}).transposed({1, 0}),
           HbmView::contiguous(xt, DType::BF16, {768, 1024}), kNoLoc);
  const uint32_t table = pb.addTensor("table", TensorRole::Input, DType::BF16, {70000, 256});
  const uint32_t ids = pb.addTensor("ids", TensorRole::Input, DType::INT32, {300});
  const uint32_t rows = pb.addTensor("rows", TensorRole::Output, DType::BF16, {300, 256});
  emitGather(pb, HbmView::contiguous(table, DType::BF16, {70000, 256}), HbmView::contiguous(ids, DType::INT32, {300}),
             HbmView::contiguous(rows, DType::BF16, {300, 256}), kNoLoc);
  return pb.finish();
}

// What the generators never emit: GpSimd's affine and cross-partition ops,
// 16-bit ACT work, ACT and DVE reading one PSUM bank at once (a bank
// conflict), DVE and GpSimd on SBUF at once (NC-v2 port exclusion), SP
// control, barriers, an SBUF->SBUF DMA and a fp32 PE transpose.
Program assemblyProbe() {
  return parseAssembly(R"(.cores 2
.stream core=0 engine=pool
  memset dst=sbuf[0:128]+0x10000:fp32[[1,2048]] value=2
  iota dst=sbuf[0:128]+0x0:fp32[[1,512]] base=1 pstep=1 step0=1
  affine_select dst=sbuf[0:128]+0x800:fp32[[1,512]] src=sbuf[0:128]+0x0:fp32[[1,512]] cmp=ge base=0 pstep=1 step0=-1 fill=-1
  partition_reduce dst=sbuf[0:1]+0x1000:fp32[[1,512]] src=sbuf[0:128]+0x0:fp32[[1,512]] op=add
  partition_broadcast dst=sbuf[0:128]+0x1800:fp32[[1,512]] src=sbuf[0:1]+0x1000:fp32[[1,512]]
  memset dst=sbuf[0:128]+0x2000:bf16[[1,4096]] value=0 signal=s0+1
  barrier scope=chip
.stream core=0 engine=act
  sem_wait wait=s0>=1
  tensor_copy dst=sbuf[0:128]+0x4000:bf16[[1,4096]] src=sbuf[0:128]+0x2000:bf16[[1,4096]]
  activation dst=sbuf[0:128]+0x6000:bf16[[1,2048]] src=sbuf[0:128]+0x4000:bf16[[1,2048]] func=exp
  activation dst=sbuf[0:128]+0x7000:fp32[[1,64]] src=sbuf[0:128]+0x0:fp32[[1,64]] func=exp signal=s1+1
  sem_wait wait=s3>=1
  activation dst=sbuf[0:128]+0x14000:fp32[[1,512]] src=psum[0:128]+0x0:fp32[[1,512]] func=exp
  barrier scope=chip
.stream core=0 engine=dve
  sem_wait wait=s5>=1
  tensor_copy dst=sbuf[0:128]+0x12000:fp32[[1,2048]] src=sbuf[0:128]+0x10000:fp32[[1,2048]]
  sem_wait wait=s1>=1
  tensor_copy dst=sbuf[0:128]+0x8000:bf16[[1,4096]] src=sbuf[0:128]+0x4000:bf16[[1,4096]]
  tensor_tensor dst=sbuf[0:128]+0xa000:fp32[[1,512]] src0=sbuf[0:128]+0x0:fp32[[1,512]] src1=sbuf[0:128]+0x800:fp32[[1,512]] op=mul signal=s2+1
  sem_wait wait=s3>=1
  memset dst=sbuf[0:128]+0x16000:fp32[[1,64]] value=0
  tensor_copy dst=sbuf[0:128]+0x15000:fp32[[1,128]] src=psum[0:128]+0x0:fp32[[1,128]]
  barrier scope=chip
.stream core=0 engine=pe
  sem_wait wait=s2>=1
  transpose dst=psum[0:128]+0x0:fp32[[1,128]] src=sbuf[0:128]+0xa000:fp32[[1,128]] signal=s3+3
  transpose dst=psum[0:128]+0x200:fp32[[1,128]] src=sbuf[0:128]+0xa200:fp32[[1,128]]
  barrier scope=chip
.stream core=0 engine=q0
  sem_wait wait=s3>=1
  dma_copy dst=sbuf[0:128]+0xc000:fp32[[1,512]] src=sbuf[0:128]+0xa000:fp32[[1,512]]
  barrier scope=chip
.stream core=0 engine=sp
  sem_signal signal=s5+1
  barrier scope=chip
.stream core=1 engine=sp
  barrier scope=chip
)",
                       "probe.s");
}

struct ProbeRun {
  std::vector<uint8_t> program;
  double seconds = 0, dynamicJoules = 0, staticJoules = 0, nodeJoules = 0, facilityJoules = 0, provisioned = 0;
  std::vector<double> busy; // per stream: busy and conflict-stall femtoseconds
};

std::vector<Program> buildProbes(const ChipConfig &chip) {
  std::vector<Program> p;
  p.push_back(matmulProbe(chip, 512, 512, 1024, DType::BF16, DType::BF16));
  p.push_back(matmulProbe(chip, 4, 1024, 2048, DType::BF16, DType::BF16));
  p.push_back(matmulProbe(chip, 256, 256, 384, DType::FP32, DType::FP32));
  p.push_back(matmulProbe(chip, 512, 1024, 512, DType::FP8E4M3, DType::FP8E4M3));
  p.push_back(mxProbe(chip, DType::FP8E4M3));
  p.push_back(mxProbe(chip, DType::FP4E2M1X2));
  p.push_back(rowProbe(chip, RowSpec::Kind::Softmax));
  p.push_back(rowProbe(chip, RowSpec::Kind::LayerNorm));
  p.push_back(rowProbe(chip, RowSpec::Kind::RmsNorm));
  p.push_back(elementwiseProbe(chip, DType::FP32));
  p.push_back(elementwiseProbe(chip, DType::BF16));
  p.push_back(dataMovementProbe(chip));
  p.push_back(assemblyProbe());
  return p;
}

std::vector<ProbeRun> runProbes(const std::vector<Program> &programs, const ChipConfig &chip) {
  std::vector<ProbeRun> out;
  for (const Program &p : programs) {
    verifyProgram(p, chip.limits());
    SimulationResult r = run(p, chip, {}, false, true);
    ProbeRun pr;
    pr.program = encodeProgram(p);
    pr.seconds = r.report.seconds;
    pr.dynamicJoules = r.report.energy.dynamic();
    pr.staticJoules = r.report.energy.static_joules;
    pr.nodeJoules = r.report.levels.node_joules;
    pr.facilityJoules = r.report.levels.facility_joules;
    pr.provisioned = r.report.provisioned_facility_watts;
    for (const StreamStats &st : r.stats.streams) {
      pr.busy.push_back(static_cast<double>(st.busy));
      pr.busy.push_back(static_cast<double>(st.psumConflictStall + st.portConflictStall));
    }
    out.push_back(pr);
  }
  return out;
}

bool sameLimits(const TargetLimits &a, const TargetLimits &b) {
  return a.cores == b.cores && a.partitions == b.partitions && a.sbufBytesPerPartition == b.sbufBytesPerPartition &&
         a.psumBytesPerPartition == b.psumBytesPerPartition && a.psumBanks == b.psumBanks && a.dmaQueues == b.dmaQueues &&
         a.semaphores == b.semaphores && a.peRows == b.peRows && a.peCols == b.peCols &&
         a.movingFreeMax == b.movingFreeMax && a.dataflow == b.dataflow && a.bnStatsFreeMax == b.bnStatsFreeMax &&
         a.matmulInputTypes == b.matmulInputTypes && a.matmulOutputTypes == b.matmulOutputTypes &&
         a.doubleRow == b.doubleRow && a.mxfp8Packing == b.mxfp8Packing && a.mxfp4Packing == b.mxfp4Packing &&
         a.hbmBytes == b.hbmBytes && a.enforcePartitionStarts == b.enforcePartitionStarts;
}

bool differ(double a, double b) { return std::fabs(a - b) > 1e-12 * std::max(std::fabs(a), std::fabs(b)); }

// Changed copies of the chip that still validate: for a number one larger
// and one smaller value (an effect may show in one direction only, e.g. a
// ceil), for others one or two other values; none when nothing validates.
std::vector<ChipConfig> perturbations(const ChipConfig &base, const ConfigField &f) {
  std::vector<std::vector<std::string>> groups; // at most one chip from each group
  switch (f.type) {
  case FieldType::Bool: groups = {{f.get(base) == "true" ? "false" : "true"}}; break;
  case FieldType::String:
    if (f.key == "pe_array.dataflow")
      groups = {{"is"}, {"os"}};
    break;
  case FieldType::DTypeList: groups = {{"[fp32, bf16, fp8e4m3]", "[fp32, bf16]", "[fp32]"}}; break;
  case FieldType::Int:
  case FieldType::Double: {
    const double v = f.getNumber(base);
    std::vector<std::string> up, down;
    auto add = [&](std::vector<std::string> &to, double c) {
      if (f.type == FieldType::Int)
        c = std::round(c);
      if (c >= f.min && c <= f.max && c != v) {
        std::ostringstream os;
        os.precision(17);
        os << c;
        to.push_back(os.str());
      }
    };
    for (double c : {v * 2, v + 1, v == 0 ? 1.0 : v * 1.5})
      add(up, c);
    for (double c : {v / 4, v / 2, v - 1, v * 0.75})
      add(down, c);
    groups = {up, down};
    break;
  }
  }
  std::vector<ChipConfig> out;
  for (const std::vector<std::string> &group : groups)
    for (const std::string &text : group) {
      ChipConfig c = base;
      try {
        f.set(c, text);
        if (f.get(c) == f.get(base))
          continue;
        validateChip(c, "perturbed");
        out.push_back(c);
        break;
      } catch (const Error &) {
      }
    }
  return out;
}

} // namespace

TEST(ChipKeyAudit, EveryKeyAffectsWhatTheRegistrySays) {
  const ChipConfig base = loadChip("trn3");
  const std::vector<Program> baseProbes = buildProbes(base);
  const std::vector<ProbeRun> baseRuns = runProbes(baseProbes, base);
  int audited = 0;
  for (const ConfigField &f : configFields()) {
    if (f.key == "name" || f.key == "description")
      continue; // identity, not physics
    SCOPED_TRACE(f.key);
    const std::vector<ChipConfig> changed = perturbations(base, f);
    ASSERT_FALSE(changed.empty()) << "no valid perturbation for " << f.key;
    unsigned observed = 0;
    bool timingChecked = false;
    for (const ChipConfig &c : changed) {
      if (!sameLimits(base.limits(), c.limits()))
        observed |= kKeyCodegen;
      // The base programs on the changed chip, when they stay legal there; a
      // codegen key that makes them illegal is checked for codegen only.
      bool legal = true;
      try {
        for (const Program &p : baseProbes)
          verifyProgram(p, c.limits());
      } catch (const Error &) {
        legal = false;
      }
      if (!legal) {
        EXPECT_TRUE(observed & kKeyCodegen) << "base programs became illegal but the limits did not change";
        continue;
      }
      timingChecked = true;
      std::vector<ProbeRun> runs = runProbes(baseProbes, c);
      for (size_t i = 0; i < runs.size(); ++i) {
        const ProbeRun &a = baseRuns[i], &b = runs[i];
        if (differ(a.seconds, b.seconds) || a.busy != b.busy)
          observed |= kKeyTiming;
        // (Timing keys move static energy with the run time only: not an energy use.)
        if (differ(a.dynamicJoules, b.dynamicJoules) || differ(a.staticJoules / a.seconds, b.staticJoules / b.seconds))
          observed |= kKeyEnergy;
        // Host + network watts, the PUE and the provisioned watts: independent of the run time.
        auto hostWatts = [](const ProbeRun &r) { return (r.nodeJoules - r.dynamicJoules - r.staticJoules) / r.seconds; };
        if (differ(hostWatts(a), hostWatts(b)) ||
            differ(a.facilityJoules / a.nodeJoules, b.facilityJoules / b.nodeJoules) ||
            differ(a.provisioned, b.provisioned))
          observed |= kKeyPower;
      }
    }
    EXPECT_EQ((observed & kKeyCodegen) != 0, (f.uses & kKeyCodegen) != 0)
        << f.key << ": observed " << keyUseNames(observed) << ", registry says " << keyUseNames(f.uses);
    if (timingChecked) {
      EXPECT_EQ(observed & ~kKeyCodegen, f.uses & ~kKeyCodegen)
          << f.key << ": observed " << keyUseNames(observed) << ", registry says " << keyUseNames(f.uses);
    }
    ++audited;
  }
  EXPECT_GT(audited, 80);
}
