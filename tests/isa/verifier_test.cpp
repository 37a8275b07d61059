// The verifier (docs/isa.md "Verifier", isa/Verifier.cpp): for every opcode a
// valid instruction passes, and every rule rejects a program with a message
// that names the instruction ("core 0 pe #0 (matmul): ...") and the cause.
// Programs are written in assembly and checked against trn3- and trn2-like
// limits.
#include "support/TestSupport.h"
#include "isa/AsmParser.h"
#include "isa/Error.h"
#include "isa/Verifier.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace trnx;

namespace {

TargetLimits trn3Like() { return trnx::testing::trn3LikeLimits(); }

TargetLimits trn2Like() {
  TargetLimits l = trn3Like();
  l.matmulOutputTypes = dtypeBit(DType::FP32);
  l.mxfp8Packing = l.mxfp4Packing = 0; // NC-v3: no MX
  return l;
}

// Tensors every test program may use: x/y are [128,512] fp32 (256 KiB each),
// tab is a [1000,64] fp32 gather table, w a bf16 weight with data.
const char *kHeader =
    ".target trn3\n"
    ".cores 2\n"
    ".tensor x input fp32 [128,512]\n"
    ".tensor y output fp32 [128,512]\n"
    ".tensor tab input fp32 [1000,64]\n"
    ".tensor w weight bf16 [4]\n"
    ".data w 0000803f00000040\n";

// A program with one stream (core 0) holding `body`.
std::string prog(const std::string &engine, const std::string &body) {
  return std::string(kHeader) + ".stream core=0 engine=" + engine + "\n" + body + "\n";
}

// Verifier error of a program ("" when it is accepted).
std::string verifyError(const Program &p, const TargetLimits &limits) {
  try {
    verifyProgram(p, limits);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

std::string verifyText(const std::string &text, const TargetLimits &limits) {
  Program p = parseAssembly(text, "t.s");
  return verifyError(p, limits);
}

#define EXPECT_ACCEPTED(text, limits)                                                              \
  do {                                                                                             \
    std::string program_text_ = (text);                                                            \
    EXPECT_EQ(verifyText(program_text_, limits), "") << program_text_;                             \
  } while (0)

// The program is rejected; the message starts with `where` (followed by ": ")
// and contains `cause`.
void expectRejectedMsg(const std::string &msg, const std::string &text, const std::string &where,
                       const std::string &cause) {
  ASSERT_FALSE(msg.empty()) << "accepted, expected '" << cause << "':\n" << text;
  if (!where.empty()) {
    EXPECT_EQ(msg.rfind(where + ": ", 0), 0u) << "message: " << msg << "\nexpected prefix: " << where;
  }
  EXPECT_NE(msg.find(cause), std::string::npos) << "message: " << msg << "\nexpected cause: " << cause;
}

#define EXPECT_REJECTED(text, limits, where, cause)                                                \
  do {                                                                                             \
    std::string program_text_ = (text);                                                            \
    SCOPED_TRACE(program_text_);                                                                   \
    expectRejectedMsg(verifyText(program_text_, limits), program_text_, where, cause);             \
  } while (0)

const TargetLimits kTrn3 = trn3Like();
const TargetLimits kTrn2 = trn2Like();
// trn3's limits with an output-stationary PE array (pe_array.dataflow os).
TargetLimits osLike() {
  TargetLimits l = trn3Like();
  l.dataflow = Dataflow::OutputStationary;
  return l;
}
const TargetLimits kTrn3Os = osLike();

// One valid instruction per opcode (with its engine).
const std::string kMatmul = "matmul dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x0:bf16[[1,128]] "
                            "moving=sbuf[0:128]+0x100:bf16[[1,512]]";
const std::string kMatmulOs = "matmul_os dst=psum[0:128]+0x0:fp32[[1,128]] a=sbuf[0:128]+0x0:bf16[[1,512]] "
                              "b=sbuf[0:128]+0x400:bf16[[1,512]]";
const std::string kTranspose = "transpose dst=psum[0:64]+0x0:bf16[[1,128]] src=sbuf[0:128]+0x0:bf16[[1,64]]";
const std::string kActivation =
    "activation dst=sbuf[0:128]+0x0:fp32[[1,512]] src=psum[0:128]+0x0:fp32[[1,512]] func=gelu scale=2 "
    "bias_ap=sbuf[0:128]+0x800:fp32[[1,1]] reduce=max reduce_dst=sbuf[0:128]+0x804:fp32[[1,1]]";
const std::string kTensorTensor = "tensor_tensor dst=sbuf[0:128]+0x0:fp32[[1,512]] src0=sbuf[0:128]+0x800:fp32[[1,512]] "
                                  "src1=psum[0:128]+0x0:fp32[[1,512]] op=add";
const std::string kTensorScalar = "tensor_scalar dst=sbuf[0:128]+0x0:bf16[[1,512]] src=sbuf[0:128]+0x800:fp32[[1,512]] "
                                  "op0=mul scalar0=2 op1=add scalar1_ap=sbuf[0:128]+0x1000:fp32[[1,1]]";
const std::string kTensorReduce =
    "tensor_reduce dst=sbuf[0:128]+0x0:fp32[[1,8]] src=sbuf[0:128]+0x800:fp32[[64,8],[1,64]] op=max";
const std::string kTensorCopy = "tensor_copy dst=sbuf[0:128]+0x0:bf16[[1,512]] src=psum[0:128]+0x0:fp32[[1,512]]";
const std::string kSelect = "select dst=sbuf[0:128]+0x0:fp32[[1,64]] pred=sbuf[0:128]+0x100:fp32[[1,64]] "
                            "on_true=sbuf[0:128]+0x200:fp32[[1,64]] on_false=psum[0:128]+0x300:fp32[[1,64]]";
const std::string kIota = "iota dst=sbuf[0:128]+0x0:int32[[1,64]] base=1 pstep=64 step0=1";
const std::string kAffineSelect = "affine_select dst=sbuf[0:128]+0x0:fp32[[1,128]] src=sbuf[0:128]+0x200:fp32[[1,128]] "
                                  "cmp=ge fill=-inf pstep=1 step0=-1";
const std::string kMemset = "memset dst=sbuf[0:128]+0x0:bf16[[1,512]] value=0";
const std::string kPartitionReduce =
    "partition_reduce dst=sbuf[0:1]+0x0:fp32[[1,64]] src=sbuf[0:128]+0x100:fp32[[1,64]] op=add";
const std::string kPartitionBroadcast =
    "partition_broadcast dst=sbuf[0:128]+0x0:fp32[[1,64]] src=sbuf[0:1]+0x100:fp32[[1,64]]";
const std::string kBnStats = "bn_stats dst=sbuf[0:128]+0x0:fp32[[1,3]] src=sbuf[0:128]+0x100:fp32[[1,512]]";
const std::string kBnAggr = "bn_aggr dst=sbuf[0:128]+0x0:fp32[[1,2]] src=sbuf[0:128]+0x100:fp32[[1,6]]";
const std::string kDmaCopy = "dma_copy dst=sbuf[0:128]+0x0:fp32[[1,512]] src=hbm[x]+0x0:fp32[[512,128],[1,512]]";
const std::string kDmaGather = "dma_gather dst=sbuf[0:128]+0x0:fp32[[1,64]] src=hbm[tab]+0x0:fp32[[64,1000],[1,64]] "
                               "index=sbuf[0:128]+0x1000:int32[[1,1]]";
const std::string kMatmulMx =
    "matmul_mx dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x0:fp8e4m3[[128,4],[1,128]] "
    "moving=sbuf[0:128]+0x200:fp4e2m1x2[[256,4],[1,256]] stationary_scale=sbuf[0:16]+0x1000:e8m0[[1,128]] "
    "moving_scale=sbuf[0:16]+0x1100:e8m0[[1,512]] k_rows=4";
const std::string kQuantizeMx = "quantize_mx dst=sbuf[0:128]+0x0:fp8e4m3[[1,256]] src=sbuf[0:128]+0x400:bf16[[1,256]] "
                                "scale_dst=sbuf[0:128]+0x800:e8m0[[1,8]]";

// Multi-rank programs: 4 ranks, set 0 = one group of 4, set 1 = two groups of 2.
const std::string kRanks = ".ranks 4\n.replica_group 0 [0,1,2,3]\n.replica_group 1 [0,1] [2,3]\n";
const std::string kAllReduce = "all_reduce dst=hbm[y]+0x0:fp32[[512,128],[1,512]] src=hbm[x]+0x0:fp32[[512,128],[1,512]] "
                               "op=add groups=1 channels=2 wait=s0>=0 signal=s1+1";
const std::string kAllGather = "all_gather dst=hbm[y]+0x0:fp32[[512,128],[1,512]] src=sbuf[0:128]+0x0:fp32[[1,128]]";
const std::string kReduceScatter =
    "reduce_scatter dst=sbuf[0:128]+0x0:fp32[[1,256]] src=hbm[x]+0x0:fp32[[512,128],[1,512]] op=max groups=1";
const std::string kAllToAll = "all_to_all dst=sbuf[0:128]+0x0:fp32[[1,64]] src=sbuf[0:128]+0x100:fp32[[1,64]]";
const std::string kAllToAllV = "all_to_all_v dst=sbuf[0:128]+0x0:fp32[[1,64]] src=sbuf[0:128]+0x100:fp32[[1,64]] "
                               "meta=sbuf[0:1]+0x400:int32[[1,16]]";
const std::string kPermute =
    "permute dst=sbuf[0:128]+0x0:fp32[[1,64]] src=sbuf[0:128]+0x100:fp32[[1,64]] shift=-1 wrap=0 priority=3";

// Replaces the first occurrence of `from` (which must exist) with `to`.
std::string sub(std::string s, const std::string &from, const std::string &to) {
  size_t at = s.find(from);
  if (at == std::string::npos)
    throw std::logic_error("test bug: '" + from + "' not in '" + s + "'");
  return s.replace(at, from.size(), to);
}

} // namespace

// ---------------------------------------------------------------------------
// Every opcode: a valid instruction on each allowed engine passes, and every
// engine outside the opcode's set is rejected.

TEST(Verifier, EveryOpcodeHasAValidInstructionOnEachAllowedEngine) {
  struct Valid {
    const char *mnemonic;
    std::string text;
    std::vector<std::string> engines;
  };
  const std::vector<Valid> valid = {
      {"matmul", kMatmul, {"pe"}},
      {"transpose", kTranspose, {"pe"}},
      {"matmul_mx", kMatmulMx, {"pe"}}, // trn3-like only (no MX on trn2)
      {"quantize_mx", kQuantizeMx, {"dve"}}, // trn3-like only
      {"matmul_os", kMatmulOs, {"pe"}}, // output-stationary arrays only
      {"activation", kActivation, {"act"}},
      {"tensor_tensor", kTensorTensor, {"dve", "pool"}},
      {"tensor_scalar", kTensorScalar, {"act", "dve", "pool"}},
      {"tensor_reduce", kTensorReduce, {"dve", "pool"}},
      {"tensor_copy", kTensorCopy, {"act", "dve", "pool"}},
      {"select", kSelect, {"dve"}},
      {"iota", kIota, {"pool"}},
      {"affine_select", kAffineSelect, {"pool"}},
      {"memset", kMemset, {"act", "dve", "pool"}},
      {"partition_reduce", kPartitionReduce, {"pool"}},
      {"partition_broadcast", kPartitionBroadcast, {"pool"}},
      {"bn_stats", kBnStats, {"dve"}},
      {"bn_aggr", kBnAggr, {"dve"}},
      {"dma_copy", kDmaCopy, {"q0", "q15"}},
      {"dma_gather", kDmaGather, {"q0", "q7"}},
      {"sem_wait", "sem_signal signal=s0+1\nsem_wait wait=s0>=1", {"pe", "act", "dve", "pool", "sp", "q3"}},
      {"sem_signal", "sem_signal signal=s63+1", {"pe", "act", "dve", "pool", "sp", "q3"}},
      {"barrier", "barrier\nbarrier scope=chip", {"pe", "act", "dve", "pool", "sp", "q3"}},
      {"loop", "loop count=3\nloop count=1\nendloop\nendloop", {"pe", "act", "dve", "pool", "sp", "q3"}},
      {"endloop", "loop count=2\nendloop", {"pe", "act", "dve", "pool", "sp", "q3"}},
      {"all_reduce", kRanks + kAllReduce, {"q0", "q15"}},
      {"all_gather", kRanks + kAllGather, {"q0", "q15"}},
      {"reduce_scatter", kRanks + kReduceScatter, {"q0", "q15"}},
      {"all_to_all", kRanks + kAllToAll, {"q0", "q15"}},
      {"all_to_all_v", kRanks + kAllToAllV, {"q0", "q15"}},
      {"permute", kRanks + kPermute, {"q0", "q15"}},
      {"rank_id", kRanks + "rank_id dst=sbuf[0:128]+0x0:int32[[1,1]]\nrank_id dst=sbuf[0:128]+0x0:fp32[[1,4]] groups=1",
       {"pool"}},
  };
  std::vector<bool> covered(kNumOpcodes, false);
  for (const Valid &v : valid) {
    auto op = parseMnemonic(v.mnemonic);
    ASSERT_TRUE(op) << v.mnemonic;
    covered[static_cast<int>(*op)] = true;
    const bool osOnly = std::string(v.mnemonic) == "matmul_os";
    const TargetLimits &limits = osOnly ? kTrn3Os : kTrn3;
    for (const std::string &engine : v.engines) {
      EXPECT_ACCEPTED(prog(engine, v.text), limits);
      if (std::string(v.mnemonic) != "matmul_mx" && std::string(v.mnemonic) != "quantize_mx" && !osOnly)
        EXPECT_ACCEPTED(prog(engine, v.text), kTrn2);
    }
    // Every engine kind the opcode does not allow is rejected with the opcode's name.
    const OpcodeInfo &info = opcodeInfo(*op);
    for (const char *engine : {"pe", "act", "dve", "pool", "sp", "q0"}) {
      EngineKind kind = EngineId::parse(engine)->kind;
      if (info.engines & engineBit(kind))
        continue;
      std::string where = std::string("core 0 ") + engine + " #0 (" + v.mnemonic + ")";
      EXPECT_REJECTED(prog(engine, v.text), limits, where,
                      std::string("'") + v.mnemonic + "' cannot run on engine " + engine);
    }
  }
  for (int i = 0; i < kNumOpcodes; ++i)
    EXPECT_TRUE(covered[i]) << "no valid case for " << opcodeInfo(static_cast<Opcode>(i)).mnemonic;
}

TEST(Verifier, MessageNamesTheSourceLocation) {
  std::string text = std::string(kHeader) + ".loc 0 \"model.mlir\" 3 5 \"tosa.matmul\"\n" +
                     ".stream core=0 engine=pe\n" + kMatmul + "\n" +
                     sub(kMatmul, "psum[0:128]", "psum[0:64]") + " loc=0\n";
  EXPECT_REJECTED(text, kTrn3, "core 0 pe #1 (matmul) [model.mlir:3:5 tosa.matmul]", "dst must be [M=128, N=512]");
}

// ---------------------------------------------------------------------------
// Operands: memory spaces, free dims, partitions, capacity, bounds, alignment.

TEST(Verifier, OperandMemorySpacePerField) {
  EXPECT_REJECTED(prog("pe", sub(kMatmul, "dst=psum", "dst=sbuf")), kTrn3, "core 0 pe #0 (matmul)",
                  "operand 'dst' cannot be in sbuf");
  EXPECT_REJECTED(prog("pe", sub(kMatmul, "stationary=sbuf", "stationary=psum")), kTrn3, "core 0 pe #0 (matmul)",
                  "operand 'stationary' cannot be in psum");
  EXPECT_REJECTED(prog("pe", sub(kMatmul, "moving=sbuf[0:128]+0x100:bf16[[1,512]]", "moving=hbm[x]+0x0:bf16[[512,128],[1,512]]")),
                  kTrn3, "core 0 pe #0 (matmul)", "operand 'moving' cannot be in hbm");
  EXPECT_REJECTED(prog("pe", sub(kTranspose, "src=sbuf", "src=psum")), kTrn3, "core 0 pe #0 (transpose)",
                  "operand 'src' cannot be in psum");
  EXPECT_REJECTED(prog("act", sub(kActivation, "bias_ap=sbuf", "bias_ap=psum")), kTrn3, "core 0 act #0 (activation)",
                  "operand 'bias_ap' cannot be in psum");
  EXPECT_REJECTED(prog("act", sub(kActivation, "src=psum[0:128]+0x0:fp32[[1,512]]", "src=hbm[x]+0x0:fp32[[512,128],[1,512]]")),
                  kTrn3, "core 0 act #0 (activation)", "operand 'src' cannot be in hbm");
  EXPECT_REJECTED(prog("dve", sub(kBnStats, "dst=sbuf", "dst=psum")), kTrn3, "core 0 dve #0 (bn_stats)",
                  "operand 'dst' cannot be in psum");
  EXPECT_REJECTED(prog("dve", sub(kBnAggr, "src=sbuf", "src=psum")), kTrn3, "core 0 dve #0 (bn_aggr)",
                  "operand 'src' cannot be in psum");
  EXPECT_REJECTED(prog("q0", sub(kDmaCopy, "dst=sbuf", "dst=psum")), kTrn3, "core 0 q0 #0 (dma_copy)",
                  "operand 'dst' cannot be in psum");
  EXPECT_REJECTED(prog("q0", sub(kDmaGather, "src=hbm[tab]+0x0:fp32[[64,1000],[1,64]]", "src=sbuf[0:128]+0x400:fp32[[1,64]]")),
                  kTrn3, "core 0 q0 #0 (dma_gather)", "operand 'src' cannot be in sbuf");
  EXPECT_REJECTED(prog("q0", sub(kDmaGather, "index=sbuf[0:128]+0x1000:int32[[1,1]]", "index=hbm[x]+0x0:int32[[1,128],[1,1]]")),
                  kTrn3, "core 0 q0 #0 (dma_gather)", "operand 'index' cannot be in hbm");
  // dma_copy may move HBM -> HBM and SBUF -> SBUF.
  EXPECT_ACCEPTED(prog("q1", "dma_copy dst=hbm[y]+0x0:fp32[[512,128],[1,512]] src=hbm[x]+0x0:fp32[[512,128],[1,512]]"), kTrn3);
  EXPECT_ACCEPTED(prog("q1", "dma_copy dst=sbuf[0:128]+0x0:fp32[[1,512]] src=sbuf[0:128]+0x800:fp32[[1,512]]"), kTrn3);
}

TEST(Verifier, FreeDimsAndPartitionsMustBeNonEmpty) {
  EXPECT_REJECTED(prog("dve", "memset dst=sbuf[0:128]+0x0:fp32[]"), kTrn3, "core 0 dve #0 (memset)",
                  "operand 'dst' has no free dims");
  EXPECT_REJECTED(prog("dve", "memset dst=sbuf[0:128]+0x0:fp32[[1,4],[1,0]]"), kTrn3, "core 0 dve #0 (memset)",
                  "operand 'dst' has a zero-sized free dim");
  EXPECT_REJECTED(prog("dve", "memset dst=sbuf[32:32]+0x0:fp32[[1,4]]"), kTrn3, "core 0 dve #0 (memset)",
                  "operand 'dst' covers zero partitions/rows");
  EXPECT_REJECTED(prog("q0", sub(kDmaCopy, "[[512,128],[1,512]]", "[[512,0],[1,512]]")), kTrn3, "core 0 q0 #0 (dma_copy)",
                  "operand 'src' covers zero partitions/rows");
  EXPECT_REJECTED(prog("q0", "dma_copy dst=sbuf[0:128]+0x0:fp32[] src=hbm[x]+0x0:fp32[[512,128]]"), kTrn3,
                  "core 0 q0 #0 (dma_copy)", "operand 'dst' has no free dims");
}

TEST(Verifier, PartitionsWithinTheChip) {
  EXPECT_REJECTED(prog("q0", "dma_copy dst=sbuf[64:192]+0x0:fp32[[1,512]] src=hbm[x]+0x0:fp32[[512,128],[1,512]]"), kTrn3,
                  "core 0 q0 #0 (dma_copy)", "operand 'dst' covers partitions [64, 192), the chip has 128");
  EXPECT_REJECTED(prog("dve", "memset dst=psum[100:129]+0x0:fp32[[1,4]]"), kTrn3, "core 0 dve #0 (memset)",
                  "covers partitions [100, 129), the chip has 128");
}

TEST(Verifier, PartitionStartRuleForEngines) {
  // More than 64 partitions start at 0; 33-64 at 0 or 64; 1-32 at 0/32/64/96.
  for (const char *ok : {"sbuf[0:128]", "sbuf[0:65]", "sbuf[0:64]", "sbuf[64:128]", "sbuf[64:97]", "sbuf[0:32]",
                         "sbuf[32:64]", "sbuf[64:96]", "sbuf[96:128]", "sbuf[96:97]", "psum[32:33]"})
    EXPECT_ACCEPTED(prog("pool", std::string("memset dst=") + ok + "+0x0:fp32[[1,16]]"), kTrn3);
  struct Bad {
    const char *range;
    const char *cause;
  };
  for (const Bad &b : {Bad{"sbuf[32:128]", "starts at partition 32 with 96 partitions"},
                       Bad{"sbuf[1:66]", "starts at partition 1 with 65 partitions"},
                       Bad{"sbuf[32:96]", "starts at partition 32 with 64 partitions"},
                       Bad{"sbuf[16:48]", "starts at partition 16 with 32 partitions"},
                       Bad{"psum[120:121]", "starts at partition 120 with 1 partitions"},
                       Bad{"sbuf[48:80]", "starts at partition 48 with 32 partitions"}}) {
    std::string text = prog("act", std::string("memset dst=") + b.range + "+0x0:fp32[[1,16]]");
    EXPECT_REJECTED(text, kTrn3, "core 0 act #0 (memset)", b.cause);
    // The rule applies to compute engines only.
    TargetLimits relaxed = kTrn3;
    relaxed.enforcePartitionStarts = false;
    EXPECT_ACCEPTED(text, relaxed);
  }
  // DMA queues address any partition range.
  EXPECT_ACCEPTED(prog("q0", "dma_copy dst=sbuf[5:37]+0x0:fp32[[1,512]] src=hbm[x]+0x0:fp32[[512,32],[1,512]]"), kTrn3);
  // Every operand is checked, not only dst.
  EXPECT_REJECTED(prog("dve", kTensorTensor + "\nmemset dst=sbuf[32:64]+0x0:fp32[[1,1]]\n"
                              "tensor_copy dst=sbuf[0:32]+0x0:fp32[[1,4]] src=sbuf[16:48]+0x100:fp32[[1,4]]"),
                  kTrn3, "core 0 dve #2 (tensor_copy)", "operand 'src' starts at partition 16 with 32 partitions");
}

TEST(Verifier, SbufAndPsumCapacity) {
  // 256 KiB SBUF per partition: [0x3f800, 0x40000) fits exactly, 4 bytes more does not.
  EXPECT_ACCEPTED(prog("dve", "memset dst=sbuf[0:128]+0x3f800:fp32[[1,512]]"), kTrn3);
  EXPECT_REJECTED(prog("dve", "memset dst=sbuf[0:128]+0x3f804:fp32[[1,512]]"), kTrn3, "core 0 dve #0 (memset)",
                  "operand 'dst' reaches bytes [260100, 262148) of sbuf, which has 262144 bytes per partition");
  // 16 KiB PSUM.
  EXPECT_ACCEPTED(prog("act", "tensor_copy dst=psum[0:128]+0x3800:fp32[[1,512]] src=sbuf[0:128]+0x0:fp32[[1,512]]"), kTrn3);
  EXPECT_REJECTED(prog("act", "tensor_copy dst=psum[0:128]+0x3804:fp32[[1,512]] src=sbuf[0:128]+0x0:fp32[[1,512]]"), kTrn3,
                  "core 0 act #0 (tensor_copy)", "operand 'dst' reaches bytes [14340, 16388) of psum, which has 16384 bytes");
  // Source operands too, with multi-dim strides: 8 rows 0x1000 elements apart
  // reach 7*16 KiB + 64 B = 114752 bytes: at most offset 147392 fits.
  EXPECT_ACCEPTED(prog("act", "tensor_copy dst=sbuf[0:128]+0x0:fp32[[1,128]] src=sbuf[0:128]+0x23fc0:fp32[[4096,8],[1,16]]"), kTrn3);
  EXPECT_REJECTED(prog("act", "tensor_copy dst=sbuf[0:128]+0x0:fp32[[1,128]] src=sbuf[0:128]+0x23fc4:fp32[[4096,8],[1,16]]"),
                  kTrn3, "core 0 act #0 (tensor_copy)", "operand 'src' reaches bytes [147396, 262148) of sbuf");
  // Negative strides reach below the offset.
  EXPECT_ACCEPTED(prog("dve", "memset dst=sbuf[0:128]+0x7fc:fp32[[-1,512]]"), kTrn3);
  EXPECT_REJECTED(prog("dve", "memset dst=sbuf[0:128]+0x7f8:fp32[[-1,512]]"), kTrn3, "core 0 dve #0 (memset)",
                  "operand 'dst' reaches bytes [-4, 2044) of sbuf");
  EXPECT_REJECTED(prog("dve", "memset dst=sbuf[0:128]-0x4:fp32[[1,1]]"), kTrn3, "core 0 dve #0 (memset)",
                  "reaches bytes [-4, 0) of sbuf");
}

TEST(Verifier, CapacityOverflowOnTheLastLoopIteration) {
  // 64 KiB per iteration, 64 KiB apart: 4 iterations end exactly at 256 KiB.
  auto looped = [](int count, const std::string &offset) {
    return prog("dve", "loop count=" + std::to_string(count) + "\n  memset dst=sbuf[0:128]+" + offset +
                           ":fp32[[1,16384]]\nendloop");
  };
  EXPECT_ACCEPTED(looped(4, "0x0+65536*i0"), kTrn3);
  EXPECT_REJECTED(looped(5, "0x0+65536*i0"), kTrn3, "core 0 dve #1 (memset)",
                  "operand 'dst' reaches bytes [0, 327680) of sbuf");
  // Negative steps: the first iteration is highest, the last lowest.
  EXPECT_ACCEPTED(looped(4, "0x30000-65536*i0"), kTrn3);
  EXPECT_REJECTED(looped(5, "0x30000-65536*i0"), kTrn3, "core 0 dve #1 (memset)",
                  "operand 'dst' reaches bytes [-65536, 262144) of sbuf");
  // Nested loops: both levels add up on the last iteration.
  std::string nested = prog("dve", "loop count=2\nloop count=2\n  memset dst=sbuf[0:128]+0x0+131072*i0+65536*i1:fp32[[1,16384]]\n"
                                   "endloop\nendloop");
  EXPECT_ACCEPTED(nested, kTrn3);
  EXPECT_REJECTED(sub(nested, "131072*i0", "131076*i0"), kTrn3, "core 0 dve #2 (memset)",
                  "reaches bytes [0, 262148) of sbuf");
}

TEST(Verifier, HugeLoopsAndStridesDoNotWrapTheExtent) {
  // Four loops of 2^31-1 iterations with step 2^31-1 reach ~2^64 bytes: in
  // 64-bit arithmetic the highest offset wraps below the lowest one.
  std::string loops = "loop count=2147483647\nloop count=2147483647\nloop count=2147483647\nloop count=2147483647\n";
  std::string ends = "\nendloop\nendloop\nendloop\nendloop";
  EXPECT_REJECTED(prog("dve", loops +
                                  "memset dst=sbuf[0:128]+25769803768+2147483647*i0+2147483647*i1+2147483647*i2+"
                                  "2147483647*i3:fp32[[1,1]]" + ends),
                  kTrn3, "core 0 dve #4 (memset)", "operand 'dst' reaches bytes [25769803768, ");
  // Two free dims of 2^31+1 elements 2^30 apart reach 2^62 elements = 2^64 bytes.
  EXPECT_REJECTED(prog("dve", "memset dst=sbuf[0:128]+0x0:fp32[[1073741824,2147483649],[1073741824,2147483649]]"), kTrn3,
                  "core 0 dve #0 (memset)", "operand 'dst' reaches bytes [0, 18446744073709551620) of sbuf");
  EXPECT_REJECTED(prog("q0", "dma_copy dst=sbuf[0:1]+0x0:fp32[[0,2147483649],[0,2147483649]] "
                             "src=hbm[x]+0x0:fp32[[0,1],[1073741824,2147483649],[1073741824,2147483649]]"),
                  kTrn3, "core 0 q0 #0 (dma_copy)", "operand 'src' reaches bytes [0, 18446744073709551620) of tensor 'x'");
  // Loop counts whose product overflows 64 bits do not wrap the semaphore totals.
  EXPECT_ACCEPTED(prog("act", loops + "sem_signal signal=s0+1" + ends) + ".stream core=0 engine=dve\nsem_wait wait=s0>=4294967295\n",
                  kTrn3);
  // ... nor the barrier counts (saturated counts on both sides are equal).
  EXPECT_ACCEPTED(prog("act", loops + "barrier" + ends) + ".stream core=0 engine=dve\n" + loops + "barrier" + ends + "\n",
                  kTrn3);
}

TEST(Verifier, HbmOperandsStayInsideTheirTensor) {
  // x is 128 rows of 512 fp32 = 262144 bytes.
  EXPECT_REJECTED(prog("q0", sub(kDmaCopy, "hbm[x]+0x0", "hbm[x]+0x4")), kTrn3, "core 0 q0 #0 (dma_copy)",
                  "operand 'src' reaches bytes [4, 262148) of tensor 'x' (262144 bytes)");
  EXPECT_REJECTED(prog("q0", sub(kDmaCopy, "[[512,128],[1,512]]", "[[-512,128],[1,512]]")), kTrn3,
                  "core 0 q0 #0 (dma_copy)", "operand 'src' reaches bytes [-260096, 2048) of tensor 'x'");
  EXPECT_ACCEPTED(prog("q0", sub(sub(kDmaCopy, "[[512,128],[1,512]]", "[[-512,128],[1,512]]"), "hbm[x]+0x0", "hbm[x]+0x3f800")),
                  kTrn3);
  EXPECT_REJECTED(prog("q0", "dma_copy dst=hbm[y]+0x0:fp32[[512,128],[1,513]] src=sbuf[0:128]+0x0:fp32[[1,513]]"), kTrn3,
                  "core 0 q0 #0 (dma_copy)", "operand 'dst' reaches bytes [0, 262148) of tensor 'y'");
  EXPECT_REJECTED(prog("q0", "dma_copy dst=sbuf[0:128]+0x0:fp32[[1,4]] src=hbm[#9]+0x0:fp32[[4,128],[1,4]]"), kTrn3,
                  "core 0 q0 #0 (dma_copy)", "operand 'src' names tensor #9, not in the tensor table");
  // Loop steps: two halves of 64 rows fit, a third iteration runs past the end.
  std::string body = "loop count=2\n  dma_copy dst=sbuf[0:64]+0x0:fp32[[1,512]] src=hbm[x]+0x0+131072*i0:fp32[[512,64],[1,512]]\nendloop";
  EXPECT_ACCEPTED(prog("q2", body), kTrn3);
  EXPECT_REJECTED(prog("q2", sub(body, "count=2", "count=3")), kTrn3, "core 0 q2 #1 (dma_copy)",
                  "operand 'src' reaches bytes [0, 393216) of tensor 'x'");
  // Gather tables are checked over all their rows.
  EXPECT_REJECTED(prog("q0", sub(kDmaGather, "[[64,1000]", "[[64,1001]")), kTrn3, "core 0 q0 #0 (dma_gather)",
                  "operand 'src' reaches bytes [0, 256256) of tensor 'tab' (256000 bytes)");
}

TEST(Verifier, Alignment) {
  EXPECT_REJECTED(prog("dve", "memset dst=sbuf[0:128]+0x2:fp32[[1,4]]"), kTrn3, "core 0 dve #0 (memset)",
                  "operand 'dst' offset is not aligned to its 4-byte dtype");
  EXPECT_REJECTED(prog("dve", "memset dst=psum[0:128]+0x1:bf16[[1,4]]"), kTrn3, "core 0 dve #0 (memset)",
                  "offset is not aligned to its 2-byte dtype");
  EXPECT_ACCEPTED(prog("dve", "memset dst=sbuf[0:128]+0x3:fp8e4m3[[1,4]]"), kTrn3);
  EXPECT_ACCEPTED(prog("dve", "memset dst=sbuf[0:128]+0x2:bf16[[1,4]]"), kTrn3);
  // A loop step must keep every iteration aligned: +2 bytes per iteration of
  // a 3-iteration loop reaches offset 4 (aligned) but iteration 1 is at 2.
  EXPECT_REJECTED(prog("dve", "loop count=3\nmemset dst=sbuf[0:128]+0x0+2*i0:fp32[[1,4]]\nendloop"), kTrn3,
                  "core 0 dve #1 (memset)", "operand 'dst' offset is not aligned to its 4-byte dtype");
  EXPECT_REJECTED(prog("dve", "loop count=2\nloop count=2\nmemset dst=sbuf[0:128]+0x0+2*i0+2*i1:fp32[[1,4]]\nendloop\nendloop"),
                  kTrn3, "core 0 dve #2 (memset)", "not aligned");
  EXPECT_REJECTED(prog("act", "loop count=2\nactivation dst=sbuf[0:128]+0x0:fp32[[1,4]] src=sbuf[0:128]+0x100+6*i0:fp32[[1,4]]\nendloop"),
                  kTrn3, "core 0 act #1 (activation)", "operand 'src' offset is not aligned");
  EXPECT_ACCEPTED(prog("dve", "loop count=3\nmemset dst=sbuf[0:128]+0x0+8*i0:fp32[[1,4]]\nendloop"), kTrn3);
}

TEST(Verifier, LoopStepsOnlyForEnclosingLoops) {
  EXPECT_REJECTED(prog("dve", "memset dst=sbuf[0:128]+0x0+4*i0:fp32[[1,4]]"), kTrn3, "core 0 dve #0 (memset)",
                  "operand 'dst' offset steps with loop level i0, but only 0 loop(s) enclose it");
  EXPECT_REJECTED(prog("dve", "loop count=2\nmemset dst=sbuf[0:128]+0x0+4*i1:fp32[[1,4]]\nendloop"), kTrn3,
                  "core 0 dve #1 (memset)", "operand 'dst' offset steps with loop level i1, but only 1 loop(s) enclose it");
  EXPECT_REJECTED(prog("dve", "loop count=2\nendloop\nmemset dst=sbuf[0:128]+0x0+4*i0:fp32[[1,4]]"), kTrn3,
                  "core 0 dve #2 (memset)", "only 0 loop(s) enclose it");
  EXPECT_REJECTED(prog("sp", "sem_signal signal=s0+9\nloop count=2\nsem_wait wait=s0>=1+1*i2\nendloop"), kTrn3,
                  "core 0 sp #2 (sem_wait)", "wait value steps with loop level i2, but only 1 loop(s) enclose it");
  EXPECT_ACCEPTED(prog("sp", "sem_signal signal=s0+9\nloop count=2\nloop count=2\nsem_wait wait=s0>=1+1*i0+2*i1\nendloop\nendloop"),
                  kTrn3);
}

// ---------------------------------------------------------------------------
// Shapes and dtypes per opcode.

TEST(Verifier, MatmulShapeLimits) {
  const std::string w = "core 0 pe #0 (matmul)";
  EXPECT_REJECTED(prog("pe", sub(kMatmul, "moving=sbuf[0:128]", "moving=sbuf[0:64]")), kTrn3, w,
                  "stationary K=128 and moving K=64 partitions differ");
  TargetLimits small = kTrn3;
  small.peRows = 64;
  EXPECT_REJECTED(prog("pe", kMatmul), small, w, "K=128 partitions exceed the array's 64 rows");
  EXPECT_REJECTED(prog("pe", sub(kMatmul, "bf16[[1,128]]", "bf16[[1,129]]")), kTrn3, w,
                  "M=129 exceeds the array's 128 columns");
  EXPECT_REJECTED(prog("pe", sub(kMatmul, "bf16[[1,512]]", "bf16[[1,513]]")), kTrn3, w, "N=513 exceeds the moving limit 512");
  EXPECT_REJECTED(prog("pe", sub(kMatmul, "psum[0:128]", "psum[0:64]")), kTrn3, w, "dst must be [M=128, N=512]");
  EXPECT_REJECTED(prog("pe", sub(kMatmul, "fp32[[1,512]]", "fp32[[1,256]]")), kTrn3, w, "dst must be [M=128, N=512]");
  // M and N may be smaller; K may be less than the array.
  EXPECT_ACCEPTED(prog("pe", "matmul dst=psum[0:16]+0x0:fp32[[1,8]] stationary=sbuf[0:32]+0x0:fp32[[1,16]] "
                             "moving=sbuf[0:32]+0x40:fp32[[1,8]]"),
                  kTrn3);
  // dst has M partitions starting at 0.
  EXPECT_REJECTED(prog("pe", "matmul dst=psum[64:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x0:bf16[[1,64]] "
                             "moving=sbuf[0:128]+0x100:bf16[[1,512]]"),
                  kTrn3, w, "matmul dst must start at partition 0");
  EXPECT_REJECTED(prog("pe", sub(kMatmul, "fp32[[1,512]]", "fp32[[1,256],[256,2]]")), kTrn3, w,
                  "matmul dst must be contiguous in its partition");
  EXPECT_ACCEPTED(prog("pe", sub(kMatmul, "fp32[[1,512]]", "fp32[[256,2],[1,256]]")), kTrn3);
}

TEST(Verifier, MatmulDtypesPerTarget) {
  const std::string w = "core 0 pe #0 (matmul)";
  for (const char *dt : {"fp32", "bf16", "fp16", "fp8e4m3", "fp8e5m2"}) {
    std::string text = prog("pe", "matmul dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x0:" + std::string(dt) +
                                      "[[1,128]] moving=sbuf[0:128]+0x800:" + dt + "[[1,512]]");
    EXPECT_ACCEPTED(text, kTrn3);
    EXPECT_ACCEPTED(text, kTrn2);
  }
  for (const char *dt : {"int8", "int32"})
    EXPECT_REJECTED(prog("pe", "matmul dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x0:bf16[[1,128]] "
                               "moving=sbuf[0:128]+0x800:" + std::string(dt) + "[[1,512]]"),
                    kTrn3, w, "matmul operands of dtype " + std::string(dt) + " are not supported on this target");
  TargetLimits noFp32 = kTrn3;
  noFp32.matmulInputTypes &= ~dtypeBit(DType::FP32);
  EXPECT_REJECTED(prog("pe", "matmul dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x0:fp32[[1,128]] "
                             "moving=sbuf[0:128]+0x800:fp32[[1,512]]"),
                  noFp32, w, "matmul operands of dtype fp32 are not supported");
  // bf16 results: NC-v4 (trn3) yes, trn2 no; fp16 never.
  std::string bf16Out = prog("pe", sub(kMatmul, "dst=psum[0:128]+0x0:fp32", "dst=psum[0:128]+0x0:bf16"));
  EXPECT_ACCEPTED(bf16Out, kTrn3);
  EXPECT_REJECTED(bf16Out, kTrn2, w, "matmul results of dtype bf16 are not supported on this target");
  EXPECT_REJECTED(prog("pe", sub(kMatmul, "dst=psum[0:128]+0x0:fp32", "dst=psum[0:128]+0x0:fp16")), kTrn3, w,
                  "matmul results of dtype fp16 are not supported on this target");
}

TEST(Verifier, MatmulResultStaysInOnePsumBank) {
  const std::string w = "core 0 pe #0 (matmul)";
  // 2 KiB banks: 512 fp32 at 0x400 cross into the next bank.
  EXPECT_REJECTED(prog("pe", sub(kMatmul, "psum[0:128]+0x0", "psum[0:128]+0x400")), kTrn3, w,
                  "matmul result [1024, 3072) crosses a 2048-byte PSUM bank boundary");
  EXPECT_ACCEPTED(prog("pe", sub(kMatmul, "psum[0:128]+0x0", "psum[0:128]+0x3800")), kTrn3);
  // A bf16 result of 512 elements is 1 KiB and fits at 0x400.
  EXPECT_ACCEPTED(prog("pe", sub(kMatmul, "dst=psum[0:128]+0x0:fp32", "dst=psum[0:128]+0x400:bf16")), kTrn3);
  // Bank-aligned steps: every iteration starts a new bank.
  EXPECT_ACCEPTED(prog("pe", "loop count=8\n" + sub(kMatmul, "psum[0:128]+0x0", "psum[0:128]+0x0+2048*i0") + "\nendloop"), kTrn3);
  EXPECT_REJECTED(prog("pe", "loop count=4\n" + sub(kMatmul, "psum[0:128]+0x0", "psum[0:128]+0x200+2048*i0") + "\nendloop"),
                  kTrn3, "core 0 pe #1 (matmul)", "matmul result [512, 2560) crosses a 2048-byte PSUM bank boundary");
  // 1 KiB results 512 bytes apart: iterations 0-2 stay in bank 0, iteration 3 ([1536, 2560)) crosses.
  std::string half = "loop count=3\nmatmul dst=psum[0:128]+0x0+512*i0:fp32[[1,256]] stationary=sbuf[0:128]+0x0:bf16[[1,128]] "
                     "moving=sbuf[0:128]+0x100:bf16[[1,256]]\nendloop";
  EXPECT_ACCEPTED(prog("pe", half), kTrn3);
  EXPECT_REJECTED(prog("pe", sub(half, "count=3", "count=4")), kTrn3, "core 0 pe #1 (matmul)",
                  "matmul result crosses a PSUM bank boundary in some loop iteration");
  // Only an inner-loop iteration crosses: i0 steps whole banks, i1 steps 1 KiB.
  std::string nested = "loop count=4\nloop count=2\nmatmul dst=psum[0:128]+0x0+2048*i0+1024*i1:fp32[[1,256]] "
                       "stationary=sbuf[0:128]+0x0:bf16[[1,128]] moving=sbuf[0:128]+0x100:bf16[[1,256]]\nendloop\nendloop";
  EXPECT_ACCEPTED(prog("pe", nested), kTrn3);
  EXPECT_REJECTED(prog("pe", sub(nested, "+1024*i1", "+1028*i1")), kTrn3, "core 0 pe #2 (matmul)",
                  "crosses a PSUM bank boundary in some loop iteration");
}

TEST(Verifier, MatmulDoubleRow) {
  const std::string w = "core 0 pe #0 (matmul)";
  const std::string dr = "matmul dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x0:fp8e4m3[[128,2],[1,128]] "
                         "moving=sbuf[0:128]+0x100:fp8e5m2[[512,2],[1,512]] mode=double_row";
  EXPECT_ACCEPTED(prog("pe", dr), kTrn3);
  EXPECT_ACCEPTED(prog("pe", dr), kTrn2);
  TargetLimits noDr = kTrn3;
  noDr.doubleRow = false;
  EXPECT_REJECTED(prog("pe", dr), noDr, w, "double_row mode is not available on this target");
  EXPECT_REJECTED(prog("pe", sub(dr, "fp8e4m3", "bf16")), kTrn3, w, "double_row mode needs fp8 operands");
  EXPECT_REJECTED(prog("pe", sub(dr, "fp8e5m2", "fp16")), kTrn3, w, "double_row mode needs fp8 operands");
  EXPECT_REJECTED(prog("pe", sub(dr, "fp8e4m3[[128,2],[1,128]]", "fp8e4m3[[1,256]]")), kTrn3, w,
                  "double_row operands need an outermost free dim of 2");
  EXPECT_REJECTED(prog("pe", sub(dr, "fp8e5m2[[512,2],[1,512]]", "fp8e5m2[[256,4],[1,256]]")), kTrn3, w,
                  "double_row operands need an outermost free dim of 2");
  // M and N count one row of the pair: [P, 2, 129] is M = 129.
  EXPECT_REJECTED(prog("pe", sub(dr, "fp8e4m3[[128,2],[1,128]]", "fp8e4m3[[129,2],[1,129]]")), kTrn3, w,
                  "M=129 exceeds the array's 128 columns");
  // The same operands in normal mode are M = 256.
  EXPECT_REJECTED(prog("pe", sub(dr, " mode=double_row", "")), kTrn3, w, "M=256 exceeds the array's 128 columns");
}

TEST(Verifier, TransposeShapesAndDtypes) {
  const std::string w = "core 0 pe #0 (transpose)";
  EXPECT_ACCEPTED(prog("pe", sub(kTranspose, "dst=psum[0:64]+0x0:bf16", "dst=psum[0:64]+0x0:fp32")), kTrn3);
  EXPECT_ACCEPTED(prog("pe", "transpose dst=psum[0:128]+0x0:fp8e4m3[[1,128]] src=sbuf[0:128]+0x0:fp8e4m3[[1,128]]"), kTrn3);
  EXPECT_REJECTED(prog("pe", "transpose dst=psum[0:129]+0x0:bf16[[1,128]] src=sbuf[0:128]+0x0:bf16[[1,129]]"), kTrn3,
                  "", "covers partitions [0, 129)");
  TargetLimits narrow = kTrn3;
  narrow.peCols = 32;
  EXPECT_REJECTED(prog("pe", kTranspose), narrow, w, "transpose input is limited to [128, 32]");
  EXPECT_REJECTED(prog("pe", sub(kTranspose, "psum[0:64]", "psum[0:32]")), kTrn3, w, "transpose dst must be [64, 128]");
  EXPECT_REJECTED(prog("pe", sub(kTranspose, "bf16[[1,128]]", "bf16[[1,64]]")), kTrn3, w, "transpose dst must be [64, 128]");
  EXPECT_REJECTED(prog("pe", "transpose dst=psum[0:64]+0x0:int8[[1,128]] src=sbuf[0:128]+0x0:int8[[1,64]]"), kTrn3, w,
                  "transpose keeps its float dtype (or writes fp32)");
  EXPECT_REJECTED(prog("pe", sub(kTranspose, "dst=psum[0:64]+0x0:bf16", "dst=psum[0:64]+0x0:fp16")), kTrn3, w,
                  "transpose keeps its float dtype");
}

TEST(Verifier, ActivationRules) {
  const std::string w = "core 0 act #0 (activation)";
  EXPECT_REJECTED(prog("act", sub(kActivation, "src=psum[0:128]+0x0:fp32[[1,512]]", "src=psum[0:128]+0x0:fp32[[1,256]]")),
                  kTrn3, w, "operands 'dst' [128, 512] and 'src' [128, 256] differ in shape");
  EXPECT_REJECTED(prog("act", sub(kActivation, "src=psum[0:128]", "src=psum[0:64]")), kTrn3, w,
                  "operands 'dst' [128, 512] and 'src' [64, 512] differ in shape");
  // Same element count in a different layout is fine.
  EXPECT_ACCEPTED(prog("act", sub(kActivation, "src=psum[0:128]+0x0:fp32[[1,512]]", "src=psum[0:128]+0x0:fp32[[32,16],[1,32]]")),
                  kTrn3);
  EXPECT_REJECTED(prog("act", sub(kActivation, "bias_ap=sbuf[0:128]+0x800:fp32[[1,1]]", "bias_ap=sbuf[0:128]+0x800:fp32[[1,2]]")),
                  kTrn3, w, "operand 'bias_ap' must be [128, 1]");
  EXPECT_REJECTED(prog("act", sub(kActivation, " scale=2", " scale_ap=sbuf[0:64]+0x900:fp32[[1,1]]")), kTrn3, w,
                  "operand 'scale_ap' must be [128, 1]");
  EXPECT_REJECTED(prog("act", sub(kActivation, " scale=2", " scale=2 scale_ap=sbuf[0:128]+0x900:fp32[[1,1]]")), kTrn3, w,
                  "'scale' must stay 1 when 'scale_ap' is given");
  EXPECT_ACCEPTED(prog("act", sub(kActivation, " scale=2", " scale_ap=sbuf[0:128]+0x900:fp32[[1,1]]")), kTrn3);
  EXPECT_REJECTED(prog("act", sub(kActivation, " func=gelu", " func=gelu bias=0.5")), kTrn3, w,
                  "'bias' must stay 0 when 'bias_ap' is given");
  EXPECT_REJECTED(prog("act", sub(kActivation, "reduce=max", "reduce=mul")), kTrn3, w, "'reduce' must be add, max or min");
  EXPECT_REJECTED(prog("act", sub(kActivation, " reduce_dst=sbuf[0:128]+0x804:fp32[[1,1]]", "")), kTrn3, w,
                  "'reduce' needs 'reduce_dst'");
  EXPECT_REJECTED(prog("act", sub(kActivation, " reduce=max", "")), kTrn3, w, "'reduce_dst' given without 'reduce'");
  EXPECT_REJECTED(prog("act", sub(kActivation, "reduce_dst=sbuf[0:128]+0x804:fp32[[1,1]]", "reduce_dst=sbuf[0:128]+0x804:fp32[[1,4]]")),
                  kTrn3, w, "operand 'reduce_dst' must be [128, 1]");
  for (const char *op : {"add", "min"})
    EXPECT_ACCEPTED(prog("act", sub(kActivation, "reduce=max", std::string("reduce=") + op)), kTrn3);
}

TEST(Verifier, TensorTensorAndScalarRules) {
  const std::string tt = "core 0 dve #0 (tensor_tensor)";
  EXPECT_REJECTED(prog("dve", sub(kTensorTensor, "src0=sbuf[0:128]+0x800:fp32[[1,512]]", "src0=sbuf[0:128]+0x800:fp32[[1,511]]")),
                  kTrn3, tt, "operands 'dst' [128, 512] and 'src0' [128, 511] differ in shape");
  EXPECT_REJECTED(prog("dve", sub(kTensorTensor, "src1=psum[0:128]", "src1=psum[0:64]")), kTrn3, tt,
                  "operands 'dst' [128, 512] and 'src1' [64, 512] differ in shape");
  EXPECT_REJECTED(prog("dve", sub(kTensorTensor, "op=add", "op=none")), kTrn3, tt, "'op' must not be none");
  for (const char *op : {"sub", "rsub", "mul", "div", "rdiv", "max", "min", "pow", "eq", "ne", "lt", "le", "gt", "ge"})
    EXPECT_ACCEPTED(prog("pool", sub(kTensorTensor, "op=add", std::string("op=") + op)), kTrn3);

  const std::string ts = "core 0 pool #0 (tensor_scalar)";
  EXPECT_REJECTED(prog("pool", sub(kTensorScalar, "src=sbuf[0:128]", "src=sbuf[0:64]")), kTrn3, ts,
                  "operands 'dst' [128, 512] and 'src' [64, 512] differ in shape");
  EXPECT_REJECTED(prog("pool", sub(kTensorScalar, "op0=mul", "op0=none")), kTrn3, ts, "'op0' must not be none");
  EXPECT_REJECTED(prog("pool", sub(kTensorScalar, "scalar1_ap=sbuf[0:128]+0x1000:fp32[[1,1]]", "scalar1_ap=sbuf[0:128]+0x1000:fp32[[2,2]]")),
                  kTrn3, ts, "operand 'scalar1_ap' must be [128, 1]");
  EXPECT_REJECTED(prog("pool", sub(kTensorScalar, " scalar0=2", " scalar0_ap=sbuf[0:32]+0x1000:fp32[[1,1]]")), kTrn3, ts,
                  "operand 'scalar0_ap' must be [128, 1]");
  EXPECT_REJECTED(prog("pool", sub(kTensorScalar, " scalar0=2", " scalar0=2 scalar0_ap=sbuf[0:128]+0x1004:fp32[[1,1]]")), kTrn3,
                  ts, "'scalar0' must stay 0 when 'scalar0_ap' is given");
  EXPECT_REJECTED(prog("pool", sub(kTensorScalar, " op1=add", " op1=add scalar1=3")), kTrn3, ts,
                  "'scalar1' must stay 0 when 'scalar1_ap' is given");
  EXPECT_REJECTED(prog("pool", sub(kTensorScalar, " op1=add", "")), kTrn3, ts, "'scalar1' given without 'op1'");
  EXPECT_REJECTED(prog("pool", sub(sub(kTensorScalar, " op1=add", " scalar1=1"), " scalar1_ap=sbuf[0:128]+0x1000:fp32[[1,1]]", "")),
                  kTrn3, ts, "'scalar1' given without 'op1'");
  EXPECT_ACCEPTED(prog("act", sub(sub(kTensorScalar, " op1=add", ""), " scalar1_ap=sbuf[0:128]+0x1000:fp32[[1,1]]", "")), kTrn3);
}

TEST(Verifier, TensorReduceAxes) {
  const std::string w = "core 0 dve #0 (tensor_reduce)";
  EXPECT_REJECTED(prog("dve", sub(kTensorReduce, "op=max", "op=mul")), kTrn3, w, "'op' must be add, max or min");
  EXPECT_REJECTED(prog("dve", sub(kTensorReduce, "op=max", "op=none")), kTrn3, w, "'op' must be add, max or min");
  EXPECT_REJECTED(prog("dve", kTensorReduce + " axes=0"), kTrn3, w, "'axes' must be between 1 and the source's 2 free dims");
  EXPECT_REJECTED(prog("dve", kTensorReduce + " axes=3"), kTrn3, w, "'axes' must be between 1 and the source's 2 free dims");
  EXPECT_REJECTED(prog("dve", kTensorReduce + " axes=-1"), kTrn3, w, "'axes' must be between 1");
  // axes=2 reduces both dims: dst is [128, 1].
  EXPECT_REJECTED(prog("dve", kTensorReduce + " axes=2"), kTrn3, w, "dst must be [128, 1]");
  EXPECT_ACCEPTED(prog("dve", sub(kTensorReduce, "fp32[[1,8]]", "fp32[[1,1]]") + " axes=2"), kTrn3);
  EXPECT_REJECTED(prog("dve", sub(kTensorReduce, "fp32[[1,8]]", "fp32[[1,4]]")), kTrn3, w, "dst must be [128, 8]");
  EXPECT_REJECTED(prog("dve", sub(kTensorReduce, "dst=sbuf[0:128]", "dst=sbuf[0:64]")), kTrn3, w, "dst must be [128, 8]");
  // Three dims, reducing the innermost two: outer = 2.
  EXPECT_ACCEPTED(prog("pool", "tensor_reduce dst=psum[0:128]+0x0:fp32[[1,2]] src=sbuf[0:128]+0x0:bf16[[256,2],[16,16],[1,16]] "
                               "op=add axes=2"),
                  kTrn3);
}

TEST(Verifier, CopySelectAffineSelectShapes) {
  EXPECT_REJECTED(prog("act", sub(kTensorCopy, "src=psum[0:128]+0x0:fp32[[1,512]]", "src=psum[0:128]+0x0:fp32[[1,500]]")),
                  kTrn3, "core 0 act #0 (tensor_copy)", "operands 'dst' [128, 512] and 'src' [128, 500] differ in shape");
  const std::string sel = "core 0 dve #0 (select)";
  EXPECT_REJECTED(prog("dve", sub(kSelect, "pred=sbuf[0:128]", "pred=sbuf[0:64]")), kTrn3, sel,
                  "operands 'dst' [128, 64] and 'pred' [64, 64] differ in shape");
  EXPECT_REJECTED(prog("dve", sub(kSelect, "on_true=sbuf[0:128]+0x200:fp32[[1,64]]", "on_true=sbuf[0:128]+0x200:fp32[[1,63]]")),
                  kTrn3, sel, "operands 'dst' [128, 64] and 'on_true' [128, 63] differ in shape");
  EXPECT_REJECTED(prog("dve", kSelect + "\n" +
                              sub(kSelect, "on_false=psum[0:128]+0x300:fp32[[1,64]]", "on_false=psum[0:128]+0x300:fp32[[1,65]]")),
                  kTrn3, "core 0 dve #1 (select)", "operands 'dst' [128, 64] and 'on_false' [128, 65] differ in shape");
  const std::string as = "core 0 pool #0 (affine_select)";
  EXPECT_REJECTED(prog("pool", sub(kAffineSelect, "src=sbuf[0:128]", "src=sbuf[0:64]")), kTrn3, as,
                  "operands 'dst' [128, 128] and 'src' [64, 128] differ in shape");
  for (const char *bad : {"add", "max", "none"})
    EXPECT_REJECTED(prog("pool", sub(kAffineSelect, "cmp=ge", std::string("cmp=") + bad)), kTrn3, as,
                    "'cmp' must be eq, ne, lt, le, gt or ge");
  for (const char *ok : {"eq", "ne", "lt", "le", "gt"})
    EXPECT_ACCEPTED(prog("pool", sub(kAffineSelect, "cmp=ge", std::string("cmp=") + ok)), kTrn3);
}

TEST(Verifier, PartitionReduceAndBroadcast) {
  const std::string pr = "core 0 pool #0 (partition_reduce)";
  EXPECT_REJECTED(prog("pool", sub(kPartitionReduce, "op=add", "op=sub")), kTrn3, pr, "'op' must be add, max or min");
  EXPECT_REJECTED(prog("pool", sub(kPartitionReduce, "dst=sbuf[0:1]", "dst=sbuf[0:2]")), kTrn3, pr,
                  "dst must be one partition with the source's free size");
  EXPECT_REJECTED(prog("pool", sub(kPartitionReduce, "dst=sbuf[0:1]+0x0:fp32[[1,64]]", "dst=sbuf[0:1]+0x0:fp32[[1,32]]")),
                  kTrn3, pr, "dst must be one partition with the source's free size");
  const std::string pb = "core 0 pool #0 (partition_broadcast)";
  EXPECT_REJECTED(prog("pool", sub(kPartitionBroadcast, "src=sbuf[0:1]", "src=sbuf[0:2]")), kTrn3, pb,
                  "src must be one partition with dst's free size");
  EXPECT_REJECTED(prog("pool", sub(kPartitionBroadcast, "src=sbuf[0:1]+0x100:fp32[[1,64]]", "src=sbuf[0:1]+0x100:fp32[[1,16]]")),
                  kTrn3, pb, "src must be one partition with dst's free size");
}

TEST(Verifier, BatchNormStatsAndAggregate) {
  const std::string bs = "core 0 dve #0 (bn_stats)";
  EXPECT_REJECTED(prog("dve", sub(kBnStats, "dst=sbuf[0:128]+0x0:fp32", "dst=sbuf[0:128]+0x0:bf16")), kTrn3, bs,
                  "dst must be fp32 [P, 3]");
  EXPECT_REJECTED(prog("dve", sub(kBnStats, "fp32[[1,3]]", "fp32[[1,4]]")), kTrn3, bs, "dst must be fp32 [P, 3]");
  EXPECT_REJECTED(prog("dve", sub(kBnStats, "dst=sbuf[0:128]", "dst=sbuf[0:64]")), kTrn3, bs, "dst must be fp32 [P, 3]");
  EXPECT_REJECTED(prog("dve", sub(kBnStats, "fp32[[1,512]]", "fp32[[1,513]]")), kTrn3, bs,
                  "bn_stats reads at most 512 elements per partition");
  EXPECT_ACCEPTED(prog("dve", sub(kBnStats, "src=sbuf[0:128]+0x100:fp32[[1,512]]", "src=psum[0:128]+0x0:bf16[[1,512]]")), kTrn3);
  const std::string ba = "core 0 dve #0 (bn_aggr)";
  EXPECT_REJECTED(prog("dve", sub(kBnAggr, "dst=sbuf[0:128]+0x0:fp32", "dst=sbuf[0:128]+0x0:fp16")), kTrn3, ba,
                  "dst must be fp32 [P, 2]");
  EXPECT_REJECTED(prog("dve", sub(kBnAggr, "fp32[[1,2]]", "fp32[[1,3]]")), kTrn3, ba, "dst must be fp32 [P, 2]");
  EXPECT_REJECTED(prog("dve", sub(kBnAggr, "dst=sbuf[0:128]", "dst=sbuf[0:64]")), kTrn3, ba, "dst must be fp32 [P, 2]");
  EXPECT_REJECTED(prog("dve", sub(kBnAggr, "src=sbuf[0:128]+0x100:fp32", "src=sbuf[0:128]+0x100:bf16")), kTrn3, ba,
                  "src must be fp32 [P, 3*G]");
  EXPECT_REJECTED(prog("dve", sub(kBnAggr, "fp32[[1,6]]", "fp32[[1,7]]")), kTrn3, ba, "src must be fp32 [P, 3*G]");
  EXPECT_ACCEPTED(prog("dve", sub(kBnAggr, "fp32[[1,6]]", "fp32[[1,3]]")), kTrn3);
}

TEST(Verifier, DmaCopyRules) {
  const std::string w = "core 0 q0 #0 (dma_copy)";
  EXPECT_REJECTED(prog("q0", sub(kDmaCopy, "dst=sbuf[0:128]+0x0:fp32", "dst=sbuf[0:128]+0x0:bf16")), kTrn3, w,
                  "dma_copy does not convert dtypes (fp32 -> bf16)");
  EXPECT_REJECTED(prog("q0", sub(kDmaCopy, "dst=sbuf[0:128]+0x0:fp32[[1,512]]", "dst=sbuf[0:128]+0x0:fp32[[1,256]]")), kTrn3,
                  w, "operands 'dst' [128, 256] and 'src' [128, 512] differ in shape");
  EXPECT_REJECTED(prog("q0", sub(kDmaCopy, "dst=sbuf[0:128]", "dst=sbuf[0:64]")), kTrn3, w,
                  "operands 'dst' [64, 512] and 'src' [128, 512] differ in shape");
  EXPECT_ACCEPTED(prog("q0", kDmaCopy + " transpose=1"), kTrn3);
  EXPECT_ACCEPTED(prog("q0", "dma_copy dst=sbuf[0:128]+0x0:bf16[[1,4]] src=hbm[w]+0x0:bf16[[0,128],[1,4]] transpose=1"), kTrn3);
  EXPECT_REJECTED(prog("q0", "dma_copy dst=sbuf[0:128]+0x0:fp8e4m3[[1,8]] src=hbm[w]+0x0:fp8e4m3[[0,128],[1,8]] transpose=1"),
                  kTrn3, w, "the DMA transpose unit moves 2- or 4-byte elements");
  EXPECT_ACCEPTED(prog("q0", "dma_copy dst=sbuf[0:128]+0x0:fp8e4m3[[1,8]] src=hbm[w]+0x0:fp8e4m3[[0,128],[1,8]]"), kTrn3);
}

TEST(Verifier, DmaGatherRules) {
  const std::string w = "core 0 q0 #0 (dma_gather)";
  EXPECT_REJECTED(prog("q0", sub(kDmaGather, "index=sbuf[0:128]+0x1000:int32", "index=sbuf[0:128]+0x1000:fp32")), kTrn3, w,
                  "index must be int32 [128, 1]");
  EXPECT_REJECTED(prog("q0", sub(kDmaGather, "index=sbuf[0:128]+0x1000:int32", "index=sbuf[0:128]+0x1000:int8")), kTrn3, w,
                  "index must be int32 [128, 1]");
  EXPECT_REJECTED(prog("q0", sub(kDmaGather, "int32[[1,1]]", "int32[[1,2]]")), kTrn3, w, "index must be int32 [128, 1]");
  EXPECT_REJECTED(prog("q0", sub(kDmaGather, "index=sbuf[0:128]", "index=sbuf[0:64]")), kTrn3, w,
                  "index must be int32 [128, 1]");
  EXPECT_REJECTED(prog("q0", sub(kDmaGather, "dst=sbuf[0:128]+0x0:fp32[[1,64]]", "dst=sbuf[0:128]+0x0:fp32[[1,32]]")), kTrn3,
                  w, "a table row and a dst partition must hold the same dtype and element count");
  EXPECT_REJECTED(prog("q0", sub(kDmaGather, "src=hbm[tab]+0x0:fp32", "src=hbm[tab]+0x0:int32")), kTrn3, w,
                  "a table row and a dst partition must hold the same dtype and element count");
}

// ---------------------------------------------------------------------------
// Structure: loops, semaphores, barriers, streams, cores.

TEST(Verifier, LoopStructure) {
  EXPECT_REJECTED(prog("act", "loop count=0\nendloop"), kTrn3, "core 0 act #0 (loop)", "loop count must be at least 1");
  EXPECT_REJECTED(prog("act", "loop count=-3\nendloop"), kTrn3, "core 0 act #0 (loop)", "loop count must be at least 1");
  std::string four = "loop count=2\nloop count=2\nloop count=2\nloop count=2\nendloop\nendloop\nendloop\nendloop";
  EXPECT_ACCEPTED(prog("act", four), kTrn3);
  EXPECT_REJECTED(prog("act", "loop count=2\n" + four + "\nendloop"), kTrn3, "core 0 act #4 (loop)",
                  "loops nest at most 4 deep");
  EXPECT_REJECTED(prog("act", "loop count=2\nendloop\nendloop"), kTrn3, "core 0 act #2 (endloop)",
                  "endloop without a matching loop");
  EXPECT_REJECTED(prog("act", "endloop"), kTrn3, "core 0 act #0 (endloop)", "endloop without a matching loop");
  EXPECT_REJECTED(prog("act", "loop count=2\nloop count=2\nendloop"), kTrn3, "core 0 act",
                  "1 loop(s) not closed by endloop");
  // Sequential loops each start at depth 0 again.
  EXPECT_ACCEPTED(prog("act", four + "\n" + four), kTrn3);
}

TEST(Verifier, SemaphoreIdsAndRequiredWaitSignal) {
  EXPECT_REJECTED(prog("act", "sem_signal signal=s64+1"), kTrn3, "core 0 act #0 (sem_signal)",
                  "semaphore s64 exceeds the chip's 64 semaphores per core");
  EXPECT_REJECTED(prog("act", kMemset + " wait=s64>=0"), kTrn3, "core 0 act #0 (memset)",
                  "semaphore s64 exceeds the chip's 64 semaphores per core");
  EXPECT_REJECTED(prog("act", "sem_wait"), kTrn3, "core 0 act #0 (sem_wait)", "sem_wait needs wait=");
  EXPECT_REJECTED(prog("act", "sem_signal"), kTrn3, "core 0 act #0 (sem_signal)", "sem_signal needs signal=");
  EXPECT_REJECTED(prog("act", "sem_signal signal=s1+1\nsem_wait signal=s1+1"), kTrn3, "core 0 act #1 (sem_wait)",
                  "sem_wait needs wait=");
  EXPECT_REJECTED(prog("act", "sem_signal signal=s1+1\nsem_signal wait=s1>=1"), kTrn3, "core 0 act #1 (sem_signal)",
                  "sem_signal needs signal=");
  EXPECT_REJECTED(prog("act", kMemset + " loc=0"), kTrn3, "core 0 act #0 (memset)", "location id 0 is not in the location table");
}

TEST(Verifier, WaitValues) {
  // Negative in some iteration: 1 - 1*i0 with i0 = 2.
  std::string neg = "sem_signal signal=s0+5\nloop count=3\nsem_wait wait=s0>=1-1*i0\nendloop";
  EXPECT_REJECTED(prog("sp", neg), kTrn3, "core 0 sp #2 (sem_wait)", "wait value becomes negative in a loop iteration");
  EXPECT_ACCEPTED(prog("sp", sub(neg, "count=3", "count=2")), kTrn3);
  // Never satisfied: two increments of 1, a wait for 3.
  std::string two = "sem_signal signal=s0+1\nsem_signal signal=s0+1";
  EXPECT_ACCEPTED(prog("act", two) + ".stream core=0 engine=dve\nsem_wait wait=s0>=2\n", kTrn3);
  EXPECT_REJECTED(prog("act", two) + ".stream core=0 engine=dve\nsem_wait wait=s0>=3\n", kTrn3, "core 0 dve #0 (sem_wait)",
                  "waits for s0 >= 3, but the core's instructions increment it only 2 times in total");
  // Increments inside loops count once per iteration (count x trips, with the increment).
  std::string producer = "loop count=3\nloop count=2\nmemset dst=sbuf[0:128]+0x0:fp32[[1,4]] signal=s5+2\nendloop\nendloop";
  EXPECT_ACCEPTED(prog("pool", producer) + ".stream core=0 engine=dve\nmemset dst=sbuf[0:128]+0x0:fp32[[1,4]] wait=s5>=12\n", kTrn3);
  EXPECT_REJECTED(prog("pool", producer) + ".stream core=0 engine=dve\nmemset dst=sbuf[0:128]+0x0:fp32[[1,4]] wait=s5>=13\n",
                  kTrn3, "core 0 dve #0 (memset)", "waits for s5 >= 13, but the core's instructions increment it only 12 times");
  // Waits with steps: the last iteration waits for 1 + 3 + 2*1 = 6.
  std::string consumer = ".stream core=0 engine=dve\nloop count=4\nloop count=2\nsem_wait wait=s5>=1+1*i0+2*i1\nendloop\nendloop\n";
  std::string six = "loop count=3\nsem_signal signal=s5+2\nendloop";
  EXPECT_ACCEPTED(prog("pool", six) + consumer, kTrn3);
  EXPECT_REJECTED(prog("pool", sub(six, "s5+2", "s5+1")) + consumer, kTrn3, "core 0 dve #2 (sem_wait)",
                  "waits for s5 >= 6, but the core's instructions increment it only 3 times");
  // Increments of another core do not count.
  EXPECT_REJECTED(std::string(kHeader) + ".stream core=1 engine=act\nsem_signal signal=s0+4\n.stream core=0 engine=act\n"
                                         "sem_wait wait=s0>=1\n",
                  kTrn3, "core 0 act #0 (sem_wait)", "waits for s0 >= 1, but the core's instructions increment it only 0 times");
  // The same semaphore id on two cores is two semaphores.
  EXPECT_ACCEPTED(std::string(kHeader) + ".stream core=1 engine=act\nsem_signal signal=s0+1\nsem_wait wait=s0>=1\n"
                                         ".stream core=0 engine=act\nsem_signal signal=s0+1\nsem_wait wait=s0>=1\n",
                  kTrn3);
  // A wait for 0 never blocks.
  EXPECT_ACCEPTED(prog("act", "sem_wait wait=s9>=0"), kTrn3);
}

TEST(Verifier, Barriers) {
  EXPECT_ACCEPTED(prog("act", "barrier") + ".stream core=0 engine=q3\nbarrier\n", kTrn3);
  EXPECT_REJECTED(prog("act", "barrier") + ".stream core=0 engine=dve\nmemset dst=sbuf[0:128]+0x0:fp32[[1,4]]\n", kTrn3, "",
                  "core 0: stream dve reaches 0 core barrier(s), other streams 1: the barrier can never complete");
  // Barriers in loops count once per iteration.
  std::string looped = "loop count=2\nloop count=3\nbarrier\nendloop\nendloop";
  EXPECT_ACCEPTED(prog("act", looped) + ".stream core=0 engine=pe\nloop count=6\nbarrier\nendloop\n", kTrn3);
  EXPECT_REJECTED(prog("act", looped) + ".stream core=0 engine=pe\nloop count=5\nbarrier\nendloop\n", kTrn3, "",
                  "core 0: stream pe reaches 5 core barrier(s), other streams 6");
  // Core barriers of different cores are independent ...
  EXPECT_ACCEPTED(std::string(kHeader) + ".stream core=0 engine=act\nbarrier\n.stream core=1 engine=act\nsem_signal signal=s0+1\n",
                  kTrn3);
  // ... chip barriers are not.
  EXPECT_REJECTED(std::string(kHeader) + ".stream core=0 engine=act\nbarrier scope=chip\n.stream core=1 engine=act\n"
                                         "sem_signal signal=s0+1\n",
                  kTrn3, "", "core 1 act reaches 0 chip barrier(s), core 0 act reaches 1");
  EXPECT_ACCEPTED(std::string(kHeader) + ".stream core=0 engine=act\nbarrier scope=chip\n.stream core=1 engine=q0\n"
                                         "loop count=1\nbarrier scope=chip\nendloop\n",
                  kTrn3);
  // Chip and core barriers are counted separately.
  EXPECT_REJECTED(prog("act", "barrier scope=chip") + ".stream core=0 engine=dve\nbarrier\n", kTrn3, "",
                  "reaches 1 core barrier(s), other streams 0");
}

TEST(Verifier, StreamsCoresAndQueues) {
  EXPECT_ACCEPTED(prog("q15", kDmaCopy), kTrn3);
  EXPECT_REJECTED(prog("q16", kDmaCopy), kTrn3, "", "core 0 q16: the chip has 16 DMA queues per core");
  TargetLimits fewQueues = kTrn3;
  fewQueues.dmaQueues = 4;
  EXPECT_REJECTED(prog("q4", "sem_signal signal=s0+1"), fewQueues, "", "core 0 q4: the chip has 4 DMA queues per core");
  // Program cores beyond the chip.
  std::string nine = ".cores 9\n.stream core=8 engine=act\nsem_signal signal=s0+1\n";
  EXPECT_REJECTED(nine, kTrn3, "", "the program uses 9 cores; the chip has 8");
  EXPECT_ACCEPTED(".cores 8\n.stream core=7 engine=act\nsem_signal signal=s0+1\n", kTrn3);
  // A stream on a core the program does not declare (possible only in memory).
  Program p = parseAssembly(prog("act", "sem_signal signal=s0+1"), "t.s");
  p.streams[0].core = 2;
  expectRejectedMsg(verifyError(p, kTrn3), "stream on core 2", "", "stream core 2 is outside the program's 2 cores");
}

// ---------------------------------------------------------------------------
// Tensors.

TEST(Verifier, TensorTable) {
  EXPECT_ACCEPTED(std::string(kHeader), kTrn3);
  // Overlap, adjacent is fine.
  EXPECT_REJECTED(".tensor a input fp32 [16] hbm=0x0\n.tensor b input fp32 [16] hbm=0x3c\n", kTrn3, "",
                  "tensors 'a' and 'b' overlap in HBM");
  EXPECT_ACCEPTED(".tensor a input fp32 [16] hbm=0x0\n.tensor b input fp32 [16] hbm=0x40\n", kTrn3);
  // Listed out of order, still overlapping.
  EXPECT_REJECTED(".tensor b input fp32 [16] hbm=0x100\n.tensor a input fp32 [128] hbm=0x0\n", kTrn3, "",
                  "tensors 'a' and 'b' overlap in HBM");
  // A large tensor containing two others, with an empty tensor in between.
  EXPECT_REJECTED(".tensor a input fp32 [64] hbm=0x0\n.tensor z input fp32 [0] hbm=0x10\n.tensor c input fp32 [4] hbm=0x80\n",
                  kTrn3, "", "tensors 'a' and 'c' overlap in HBM");
  EXPECT_REJECTED(".tensor a input fp32 [64] hbm=0x0\n.tensor b input fp32 [4] hbm=0x10\n.tensor c input fp32 [4] hbm=0x80\n",
                  kTrn3, "", "tensors 'a' and 'b' overlap in HBM");
  // Empty tensors overlap nothing.
  EXPECT_ACCEPTED(".tensor a input fp32 [64] hbm=0x0\n.tensor z input fp32 [0] hbm=0x10\n", kTrn3);
  // Size smaller than the shape; larger is fine.
  EXPECT_REJECTED(".tensor x input fp32 [128] size=0x4\n", kTrn3, "", "tensor 'x' has 4 bytes, its shape needs 512");
  EXPECT_ACCEPTED(".tensor x input fp32 [128] size=0x1000\n", kTrn3);
  // Data only on weights and of the right size.
  EXPECT_REJECTED(".tensor w weight bf16 [4]\n.data w 0000803f\n", kTrn3, "", "tensor 'w' has 4 bytes of data for 8 bytes");
  EXPECT_REJECTED(".tensor w weight bf16 [4]\n.data w 0000803f00000040\n.data w 00\n", kTrn3, "",
                  "tensor 'w' has 9 bytes of data for 8 bytes");
  EXPECT_REJECTED(".tensor i input int8 [2]\n.data i 0102\n", kTrn3, "", "tensor 'i' has data but is not a weight");
  EXPECT_REJECTED(".tensor o output int8 [2]\n.data o 0102\n", kTrn3, "", "tensor 'o' has data but is not a weight");
  // HBM capacity.
  TargetLimits small = kTrn3;
  small.hbmBytes = 1 << 20;
  EXPECT_ACCEPTED(".tensor a input fp32 [1024] hbm=0xff000\n", small);
  EXPECT_REJECTED(".tensor a input fp32 [1024] hbm=0xff004\n", small, "",
                  "the program needs 1048580 bytes of HBM; the chip has 1048576");
  EXPECT_REJECTED(".tensor a input fp32 [4] hbm=0x1800000000\n", kTrn3, "", "bytes of HBM; the chip has 103079215104");
  // Duplicate and empty names (the assembler refuses them; a decoded program may have them).
  Program p = parseAssembly(".tensor a input fp32 [4]\n.tensor b input fp32 [4]\n", "t.s");
  p.tensors[1].name = "a";
  expectRejectedMsg(verifyError(p, kTrn3), "duplicate", "", "tensor name 'a' is used twice");
  p.tensors[1].name = "";
  expectRejectedMsg(verifyError(p, kTrn3), "empty", "", "tensor #1 has an empty name");
  // A tensor whose end would wrap around the 64-bit address space.
  Program q = parseAssembly(".tensor w weight fp32 [4] hbm=0x0\n.data w 00000000000000000000000000000000\n", "t.s");
  q.tensors[0].hbmOffset = ~0ull - 7;
  expectRejectedMsg(verifyError(q, kTrn3), "wrapping tensor", "",
                    "tensor 'w' is at HBM offset 18446744073709551608, beyond the 2^50-byte address space");
  // Shapes whose byte count overflows 64 bits (built in memory: the assembler
  // and the reader refuse them) or exceeds the 2^50-byte tensor limit.
  Program big = parseAssembly(".tensor y output fp32 [4]\n", "t.s");
  big.tensors[0].shape = {int64_t(1) << 40, int64_t(1) << 22}; // 2^62 elements, 2^64 bytes
  big.tensors[0].sizeBytes = 128;
  expectRejectedMsg(verifyError(big, kTrn3), "2^64-byte shape", "",
                    "tensor 'y' needs more than 2^64 bytes for its shape; a tensor has at most 2^50");
  big.tensors[0].shape = {int64_t(1) << 40, 1 << 9}; // 2^51 bytes
  expectRejectedMsg(verifyError(big, kTrn3), "2^51-byte shape", "",
                    "tensor 'y' needs 2251799813685248 bytes for its shape; a tensor has at most 2^50");
  big.tensors[0].shape = {int64_t(1) << 30, 1 << 10}; // 2^42 bytes: fits the format, not the chip
  big.tensors[0].sizeBytes = big.tensors[0].naturalSize();
  expectRejectedMsg(verifyError(big, kTrn3), "4 TiB tensor", "",
                    "the program needs 4398046511104 bytes of HBM; the chip has 103079215104");
}

TEST(Verifier, HbmOnlyFieldsOnOnChipOperands) {
  // Not expressible in assembly nor in the container (only built in memory).
  Program p = parseAssembly(prog("dve", kMemset), "t.s");
  p.streams[0].code[0].ap[0].partitionStride = 4;
  expectRejectedMsg(verifyError(p, kTrn3), "partitionStride", "core 0 dve #0 (memset)",
                    "operand 'dst' in sbuf has hbm-only fields set");
}

TEST(Verifier, ExamplePrograms) {
  for (const char *name : {"gemm_512", "softmax", "layernorm"}) {
    Program p = parseAssemblyFile(std::string(TRNX_SOURCE_DIR) + "/examples/asm/" + name + ".s");
    EXPECT_EQ(verifyError(p, kTrn3), "") << name;
    EXPECT_EQ(verifyError(p, kTrn2), "") << name;
  }
}

// matmul_mx: MX element formats per target, K = P * k_rows in 32-row blocks,
// values (not bytes) for M and N, e8m0 scales of [K/32, M] and [K/32, N].
TEST(Verifier, MatmulMx) {
  const std::string w = "core 0 pe #0 (matmul_mx)";
  const std::string mx = kMatmulMx;
  EXPECT_ACCEPTED(prog("pe", mx), kTrn3);
  EXPECT_REJECTED(prog("pe", mx), kTrn2, w,
                  "matmul_mx operands of dtype fp8e4m3 are not supported on this target (MX element types here: none)");
  TargetLimits noFp4 = kTrn3;
  noFp4.mxfp4Packing = 0;
  EXPECT_REJECTED(prog("pe", mx), noFp4, w,
                  "matmul_mx operands of dtype fp4e2m1x2 are not supported on this target (MX element types here: "
                  "fp8e4m3, fp8e5m2)");
  EXPECT_REJECTED(prog("pe", sub(mx, "stationary=sbuf[0:128]+0x0:fp8e4m3", "stationary=sbuf[0:128]+0x0:bf16")), kTrn3,
                  w, "matmul_mx operands of dtype bf16 are not supported");
  // k_rows beyond the packing, or not dividing the free size.
  EXPECT_REJECTED(prog("pe", sub(mx, "k_rows=4", "k_rows=8")), kTrn3, w,
                  "k_rows=8 must be between 1 and the chip's 4 rows per PE row for fp8e4m3");
  EXPECT_REJECTED(prog("pe", sub(mx, "fp8e4m3[[128,4],[1,128]]", "fp8e4m3[[1,510]]")), kTrn3, w,
                  "free size 510 is not a multiple of k_rows=4");
  // K = 16 * 1 is not a whole MX block.
  EXPECT_REJECTED(prog("pe", "matmul_mx dst=psum[0:64]+0x0:fp32[[1,64]] stationary=sbuf[0:16]+0x0:fp8e4m3[[1,64]] "
                             "moving=sbuf[0:16]+0x200:fp8e4m3[[1,64]] stationary_scale=sbuf[0:1]+0x1000:e8m0[[1,64]] "
                             "moving_scale=sbuf[0:1]+0x1100:e8m0[[1,64]]"),
                  kTrn3, w, "matmul_mx K=16 is not a multiple of the 32-row MX block");
  // fp4 columns count values: 256 bytes per row are N = 512; 257 bytes overflow the moving limit.
  EXPECT_REJECTED(prog("pe", sub(mx, "fp4e2m1x2[[256,4],[1,256]]", "fp4e2m1x2[[257,4],[1,257]]")), kTrn3, w,
                  "N=514 exceeds the moving limit 512");
  EXPECT_REJECTED(prog("pe", sub(mx, "moving_scale=sbuf[0:16]", "moving_scale=sbuf[0:32]")), kTrn3, w,
                  "'moving_scale' must be e8m0 [K/32=16, 512]");
  EXPECT_REJECTED(prog("pe", sub(mx, "e8m0[[1,128]]", "int8[[1,128]]")), kTrn3, w,
                  "'stationary_scale' must be e8m0 [K/32=16, 128]");
  EXPECT_REJECTED(prog("pe", sub(mx, "dst=psum[0:128]+0x0:fp32[[1,512]]", "dst=psum[0:128]+0x0:fp32[[1,256]]")), kTrn3,
                  w, "dst must be [M=128, N=512]");
  // Packed fp4 is no scalar type for the other engines.
  EXPECT_REJECTED(prog("dve", "tensor_copy dst=sbuf[0:128]+0x0:fp4e2m1x2[[1,64]] src=sbuf[0:128]+0x100:fp32[[1,64]]"),
                  kTrn3, "core 0 dve #0 (tensor_copy)",
                  "operand 'dst': fp4e2m1x2 is only moved by DMA and read by matmul_mx");
}

// quantize_mx: MXFP8 elements where the chip has MX matmul, float sources,
// blocks of 32 values block_stride apart, one e8m0 scale per block.
TEST(Verifier, QuantizeMx) {
  const std::string w = "core 0 dve #0 (quantize_mx)";
  const std::string q = kQuantizeMx;
  EXPECT_ACCEPTED(prog("dve", q), kTrn3);
  EXPECT_ACCEPTED(prog("dve", q + " block_stride=4"), kTrn3);
  EXPECT_REJECTED(prog("dve", q), kTrn2, w,
                  "quantize_mx dst of dtype fp8e4m3 is not supported on this target (MX element types here: none)");
  EXPECT_REJECTED(prog("dve", sub(q, "src=sbuf[0:128]+0x400:bf16", "src=sbuf[0:128]+0x400:fp8e5m2")), kTrn3, w,
                  "quantize_mx src must be fp32, bf16 or fp16, not fp8e5m2");
  EXPECT_REJECTED(prog("dve", q + " block_stride=3"), kTrn3, w,
                  "quantize_mx free size 256 is not a multiple of 32 x block_stride=3");
  EXPECT_REJECTED(prog("dve", sub(q, "e8m0[[1,8]]", "e8m0[[1,4]]")), kTrn3, w, "'scale_dst' must be e8m0 [128, 8]");
}

// ---------------------------------------------------------------------------
// The PE array's dataflow decides which matmul form is legal.

TEST(Verifier, MatmulFormFollowsTheDataflow) {
  EXPECT_REJECTED(prog("pe", kMatmulOs), kTrn3, "core 0 pe #0 (matmul_os)",
                  "matmul_os needs an output-stationary PE array; this target's is ws (pe_array.dataflow): use matmul");
  EXPECT_REJECTED(prog("pe", kMatmul), kTrn3Os, "core 0 pe #0 (matmul)",
                  "matmul needs a PE array that holds a stationary operand; this target's is output-stationary "
                  "(pe_array.dataflow os): use matmul_os");
  EXPECT_REJECTED(prog("pe", kMatmulMx), kTrn3Os, "core 0 pe #0 (matmul_mx)",
                  "matmul_mx needs a PE array that holds a stationary operand; this target's is output-stationary "
                  "(pe_array.dataflow os): use matmul_os");
  TargetLimits is = trn3Like();
  is.dataflow = Dataflow::InputStationary;
  EXPECT_ACCEPTED(prog("pe", kMatmul), is);
}

TEST(Verifier, MatmulOsShapeRules) {
  // M = a's partitions <= rows, N = b's partitions <= cols, K = both free sizes <= moving_free_max.
  EXPECT_REJECTED(prog("pe", sub(kMatmulOs, "b=sbuf[0:128]+0x400:bf16[[1,512]]", "b=sbuf[0:128]+0x400:bf16[[1,256]]")),
                  kTrn3Os, "core 0 pe #0 (matmul_os)", "a K=512 and b K=256 (free sizes) differ");
  TargetLimits narrow = osLike();
  narrow.peCols = 64;
  EXPECT_REJECTED(prog("pe", kMatmulOs), narrow, "core 0 pe #0 (matmul_os)",
                  "N=128 partitions of b exceed the array's 64 columns");
  TargetLimits shortK = osLike();
  shortK.movingFreeMax = 256;
  EXPECT_REJECTED(prog("pe", kMatmulOs), shortK, "core 0 pe #0 (matmul_os)",
                  "K=512 exceeds the streamed limit 256 (pe_array.moving_free_max)");
  EXPECT_REJECTED(prog("pe", sub(kMatmulOs, "dst=psum[0:128]+0x0:fp32[[1,128]]", "dst=psum[0:128]+0x0:fp32[[1,64]]")),
                  kTrn3Os, "core 0 pe #0 (matmul_os)", "dst must be [M=128, N=128]");
}

TEST(Verifier, PartitionStartRuleScalesWithThePartitionCount) {
  // G1's rule on 128 partitions: 1-32 from a multiple of 32. On 256: 1-64 from a multiple of 64.
  const std::string memset32 = "memset dst=sbuf[32:64]+0x0:fp32[[1,4]] value=0";
  const std::string memset64at32 = "memset dst=sbuf[32:96]+0x0:fp32[[1,4]] value=0";
  EXPECT_ACCEPTED(prog("dve", memset32), kTrn3);
  TargetLimits wide = trn3Like();
  wide.partitions = 256;
  EXPECT_REJECTED(prog("dve", memset32), wide, "core 0 dve #0 (memset)",
                  "operand 'dst' starts at partition 32 with 32 partitions: engines access 1-64 partitions from a multiple of 64, "
                  "65-128 from a multiple of 128, more from 0");
  EXPECT_REJECTED(prog("dve", memset64at32), kTrn3, "core 0 dve #0 (memset)",
                  "operand 'dst' starts at partition 32 with 64 partitions: engines access 1-32 partitions from a multiple of 32, "
                  "33-64 from a multiple of 64, more from 0");
}

TEST(Verifier, ReplicaGroupSetsPartitionTheRanksIntoEqualGroups) {
  auto with = [](const std::string &ranks) { return prog("q0", ranks + kAllGather); };
  EXPECT_ACCEPTED(with(".ranks 4\n.replica_group 0 [3,1,0,2]\n"), kTrn3);
  EXPECT_REJECTED(with(".ranks 4\n.replica_group 0 [0,1,2] [3]\n"), kTrn3, "replica-group set 0",
                  "group 1 has 1 ranks, group 0 has 3 (groups must be the same size)");
  EXPECT_REJECTED(with(".ranks 4\n.replica_group 0 [0,1] [1,2]\n"), kTrn3, "replica-group set 0",
                  "rank 1 is in groups 0 and 1 (each rank once)");
  EXPECT_REJECTED(with(".ranks 4\n.replica_group 0 [0,0,1,2]\n"), kTrn3, "replica-group set 0",
                  "rank 0 appears twice in group 0");
  EXPECT_REJECTED(with(".ranks 4\n.replica_group 0 [0,1] [2,5]\n"), kTrn3, "replica-group set 0",
                  "rank 5 in group 1 is outside the program's 4 ranks");
  EXPECT_REJECTED(with(".ranks 4\n.replica_group 0 [0,1] [2]\n"), kTrn3, "replica-group set 0",
                  "group 1 has 1 ranks, group 0 has 2");
  EXPECT_REJECTED(with(".ranks 6\n.replica_group 0 [0,1,2,3]\n"), kTrn3, "replica-group set 0",
                  "rank 4 is in no group (every rank must be in exactly one)");
  EXPECT_REJECTED(with(".ranks 4\n.replica_group 0 []\n"), kTrn3, "replica-group set 0",
                  "rank 0 is in no group");
}

TEST(Verifier, CollectiveShapesAgreeAcrossTheGroup) {
  const std::string q = "core 0 q0 #0 (";
  EXPECT_REJECTED(prog("q0", kAllGather), kTrn3, q + "all_gather)",
                  "replica-group set 0 is not defined (the program has 0; add .replica_group lines)");
  EXPECT_REJECTED(prog("q0", kRanks + kAllGather + " groups=2"), kTrn3, q + "all_gather)",
                  "replica-group set 2 is not defined (the program has 2");
  // all_gather: dst = G x src (G = 2 in set 1, 4 in set 0).
  EXPECT_REJECTED(prog("q0", kRanks + kAllGather + " groups=1"), kTrn3, q + "all_gather)",
                  "dst has 65536 elements and src 16384 in groups of 2: all_gather needs dst = G x src");
  EXPECT_REJECTED(prog("q0", kRanks + sub(kAllReduce, "src=hbm[x]+0x0:fp32[[512,128],[1,512]]",
                                           "src=sbuf[0:128]+0x0:fp32[[1,256]]")),
                  kTrn3, q + "all_reduce)", "all_reduce needs dst and src of the same size");
  EXPECT_REJECTED(prog("q0", kRanks + sub(kReduceScatter, "groups=1", "groups=0")), kTrn3, q + "reduce_scatter)",
                  "dst has 32768 elements and src 65536 in groups of 4: reduce_scatter needs src = G x dst");
  EXPECT_REJECTED(prog("q0", kRanks + sub(kAllToAll, "[[1,64]] src", "[[1,63]] src")), kTrn3, q + "all_to_all)",
                  "all_to_all needs dst and src of the same size, a multiple of G");
  EXPECT_REJECTED(prog("q0", kRanks + "all_to_all dst=sbuf[0:1]+0x0:fp32[[1,6]] src=sbuf[0:1]+0x100:fp32[[1,6]]"),
                  kTrn3, q + "all_to_all)", "dst has 6 elements and src 6 in groups of 4: all_to_all needs");
  EXPECT_REJECTED(prog("q0", kRanks + sub(kAllToAllV, "int32[[1,16]]", "int32[[1,8]]")), kTrn3, q + "all_to_all_v)",
                  "meta must be int32 with 4*G = 16 elements");
  EXPECT_REJECTED(prog("q0", kRanks + sub(kPermute, "shift=-1", "shift=4")), kTrn3, q + "permute)",
                  "shift 4 must satisfy |shift| < G = 4");
  EXPECT_REJECTED(prog("q0", kRanks + sub(kAllReduce, "op=add", "op=mul")), kTrn3, q + "all_reduce)",
                  "'op' must be add, max or min");
  EXPECT_REJECTED(prog("q0", kRanks + sub(kAllReduce, "channels=2", "channels=17")), kTrn3, q + "all_reduce)",
                  "channels must be 1-16 (one CC-Core each), not 17");
  EXPECT_REJECTED(prog("q0", kRanks + kAllGather + " priority=4"), kTrn3, q + "all_gather)",
                  "priority must be 0-3, not 4");
  EXPECT_REJECTED(prog("q0", kRanks + sub(kAllGather, "src=sbuf[0:128]+0x0:fp32", "src=sbuf[0:128]+0x0:int32")),
                  kTrn3, q + "all_gather)", "collectives do not convert dtypes (int32 -> fp32)");
  EXPECT_REJECTED(prog("q0", kRanks + "all_reduce dst=sbuf[0:1]+0x0:int8[[1,4]] src=sbuf[0:1]+0x10:int8[[1,4]] op=add"),
                  kTrn3, q + "all_reduce)", "reductions need a float or int32 dtype, not int8");
  // Collectives run on DMA queues only.
  EXPECT_REJECTED(prog("pe", kRanks + kAllGather), kTrn3, "core 0 pe #0 (all_gather)",
                  "'all_gather' cannot run on engine pe");
  EXPECT_REJECTED(prog("pool", kRanks + "rank_id dst=sbuf[0:128]+0x0:int32[[1,1]] groups=5"), kTrn3,
                  "core 0 pool #0 (rank_id)", "replica-group set 5 is not defined");
}

TEST(Verifier, RankDataHasTheTensorsSizeOnEveryRank) {
  const std::string body = kRanks + kAllGather;
  EXPECT_ACCEPTED(prog("q0", body + "\n.rank_data w 1 0000803f00000041\n.rank_data w 3 0000803f00000042"), kTrn3);
  EXPECT_REJECTED(prog("q0", body + "\n.rank_data w 1 0000803f"), kTrn3, "",
                  "tensor 'w' has 4 bytes of data on rank 1 for 8 bytes (shapes must agree across ranks)");
  EXPECT_REJECTED(prog("q0", body + "\n.rank_data w 4 0000803f00000041"), kTrn3, "",
                  "rank data of tensor 'w' is for rank 4; the program has 4 ranks");
  EXPECT_REJECTED(prog("q0", body + "\n.rank_data x 0 00"), kTrn3, "",
                  "tensor 'x' has rank data but is not a weight");
}
