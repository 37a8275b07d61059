// Functional simulation of multi-rank programs (simulator/system/SpmdFunctional.h):
// every collective's numerics across ranks against a direct computation,
// compute overlapping communication through start/done semaphores, rank_id,
// per-rank data, and deadlocks reported by rank.
#include "support/TestSupport.h"
#include "isa/AsmParser.h"
#include "isa/Error.h"
#include "isa/Verifier.h"
#include "simulator/config/ConfigLoader.h"
#include "simulator/system/SpmdFunctional.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

using namespace trnx;
using trnx::testing::errorOf;
using ::testing::HasSubstr;

namespace {

const ChipConfig &chip() {
  static const ChipConfig c = loadChip("trn3");
  return c;
}

// A program of `ranks` ranks with fp32 tensors x (input) and y (output), each
// of `xElems`/`yElems` elements in one HBM row, and one q0 stream `body`.
Program spmd(int ranks, const std::string &groups, int xElems, int yElems, const std::string &body) {
  std::string text = ".target trn3\n.ranks " + std::to_string(ranks) + "\n" + groups + ".tensor x input fp32 [" +
                     std::to_string(xElems) + "]\n.tensor y output fp32 [" + std::to_string(yElems) + "]\n" + body;
  Program p = parseAssembly(text, "spmd.s");
  verifyProgram(p, chip().limits());
  return p;
}

std::string worldGroup(int ranks) {
  std::string g = ".replica_group 0 [";
  for (int r = 0; r < ranks; ++r)
    g += (r ? "," : "") + std::to_string(r);
  return g + "]\n";
}

std::string row(const char *tensor, int elems) {
  return std::string("hbm[") + tensor + "]+0x0:fp32[[0,1],[1," + std::to_string(elems) + "]]";
}

void setX(SpmdFunctional &run, const Program &p, int rank, const std::vector<float> &v) {
  std::memcpy(run.memory(rank).hbm() + p.tensors[p.findTensor("x")].hbmOffset, v.data(), v.size() * 4);
}

std::vector<float> getY(SpmdFunctional &run, const Program &p, int rank) {
  const TensorInfo &t = p.tensors[p.findTensor("y")];
  std::vector<float> v(t.elementCount());
  std::memcpy(v.data(), run.memory(rank).hbm() + t.hbmOffset, v.size() * 4);
  return v;
}

float value(int rank, int i) { return static_cast<float>((rank * 7 + i * 3) % 11) - 5.0f + 0.25f * rank; }

} // namespace

TEST(SpmdFunctional, AllReduceSumAndMaxOverTwoToSixtyFourRanks) {
  for (int ranks : {2, 3, 8, 64}) {
    for (const char *op : {"add", "max"}) {
      SCOPED_TRACE(std::to_string(ranks) + " ranks, " + op);
      const int n = 16;
      Program p = spmd(ranks, worldGroup(ranks), n, n,
                       ".stream core=0 engine=q0\n  all_reduce dst=" + row("y", n) + " src=" + row("x", n) +
                           " op=" + op + "\n");
      SpmdFunctional run(p, chip());
      for (int r = 0; r < ranks; ++r) {
        std::vector<float> x(n);
        for (int i = 0; i < n; ++i)
          x[i] = value(r, i);
        setX(run, p, r, x);
      }
      run.run();
      for (int i = 0; i < n; ++i) {
        float want = value(0, i);
        for (int r = 1; r < ranks; ++r)
          want = std::string(op) == "add" ? want + value(r, i) : std::max(want, value(r, i));
        for (int r = 0; r < ranks; ++r)
          ASSERT_EQ(getY(run, p, r)[i], want) << "rank " << r << " element " << i;
      }
    }
  }
}

TEST(SpmdFunctional, GatherAndScatterFollowTheGroupsPositionOrder) {
  // Set 0 lists the ranks out of order: position g of [2,0,3,1] is rank list[g].
  const std::vector<int> order{2, 0, 3, 1};
  Program gather = spmd(4, ".replica_group 0 [2,0,3,1]\n", 3, 12,
                        ".stream core=0 engine=q0\n  all_gather dst=" + row("y", 12) + " src=" + row("x", 3) + "\n");
  SpmdFunctional g(gather, chip());
  for (int r = 0; r < 4; ++r)
    setX(g, gather, r, {float(r), float(10 * r), float(100 * r)});
  g.run();
  for (int r = 0; r < 4; ++r) {
    std::vector<float> want;
    for (int pos = 0; pos < 4; ++pos)
      for (float f : {1.0f, 10.0f, 100.0f})
        want.push_back(f * order[pos]);
    EXPECT_EQ(getY(g, gather, r), want) << "rank " << r;
  }

  // reduce_scatter in two groups of two: position g of each group gets chunk g summed.
  Program scatter = spmd(4, ".replica_group 0 [0,3] [2,1]\n", 4, 2,
                         ".stream core=0 engine=q0\n  reduce_scatter dst=" + row("y", 2) + " src=" + row("x", 4) +
                             " op=add\n");
  SpmdFunctional s(scatter, chip());
  for (int r = 0; r < 4; ++r)
    setX(s, scatter, r, {float(r), float(r + 1), float(r * r), float(-r)});
  s.run();
  EXPECT_EQ(getY(s, scatter, 0), (std::vector<float>{0 + 3, 1 + 4}));      // rank 0 = position 0 of [0,3]
  EXPECT_EQ(getY(s, scatter, 3), (std::vector<float>{0 + 9, 0 - 3}));      // position 1
  EXPECT_EQ(getY(s, scatter, 2), (std::vector<float>{2 + 1, 3 + 2}));      // position 0 of [2,1]
  EXPECT_EQ(getY(s, scatter, 1), (std::vector<float>{4 + 1, -2 - 1}));     // position 1
}

TEST(SpmdFunctional, AllToAllAndAllToAllV) {
  Program p = spmd(3, worldGroup(3), 6, 6,
                   ".stream core=0 engine=q0\n  all_to_all dst=" + row("y", 6) + " src=" + row("x", 6) + "\n");
  SpmdFunctional run(p, chip());
  for (int r = 0; r < 3; ++r) {
    std::vector<float> x;
    for (int i = 0; i < 6; ++i)
      x.push_back(float(10 * r + i));
    setX(run, p, r, x);
  }
  run.run();
  // Chunk j (2 elements) of rank i lands in chunk i of rank j.
  for (int j = 0; j < 3; ++j) {
    std::vector<float> want;
    for (int i = 0; i < 3; ++i)
      want.insert(want.end(), {float(10 * i + 2 * j), float(10 * i + 2 * j + 1)});
    EXPECT_EQ(getY(run, p, j), want) << "rank " << j;
  }

  // all_to_all_v over 2 ranks: rank 0 sends 1 element to itself and 3 to rank 1;
  // rank 1 sends 2 to rank 0 and none to itself. meta = counts, displs, recv counts, recv displs.
  const std::string body = ".tensor m0 weight int32 [8]\n"
                           ".data m0 0100000003000000000000000100000001000000020000000000000001000000\n"
                           ".stream core=0 engine=q0\n"
                           "  all_to_all_v dst=" + row("y", 6) + " src=" + row("x", 4) +
                           " meta=hbm[m0]+0x0:int32[[0,1],[1,8]]\n";
  Program v = parseAssembly(".target trn3\n.ranks 2\n" + worldGroup(2) +
                                ".tensor x input fp32 [4]\n.tensor y output fp32 [6]\n" + body +
                                ".rank_data m0 1 0200000000000000000000000200000003000000000000000000000000000000\n",
                            "v.s");
  verifyProgram(v, chip().limits());
  SpmdFunctional vr(v, chip());
  setX(vr, v, 0, {1, 2, 3, 4});
  setX(vr, v, 1, {5, 6, 7, 8});
  for (int r = 0; r < 2; ++r) {
    std::vector<float> fill(6, -1.0f);
    std::memcpy(vr.memory(r).hbm() + v.tensors[v.findTensor("y")].hbmOffset, fill.data(), 24);
  }
  vr.run();
  // Rank 0 receives its own x[0] at 0 and rank 1's x[0..2) at 1; the rest keeps -1.
  EXPECT_EQ(getY(vr, v, 0), (std::vector<float>{1, 5, 6, -1, -1, -1}));
  // Rank 1 receives rank 0's x[1..4) at 0.
  EXPECT_EQ(getY(vr, v, 1), (std::vector<float>{2, 3, 4, -1, -1, -1}));
}

TEST(SpmdFunctional, PermuteRingAndPipelineStages) {
  for (bool wrap : {true, false}) {
    Program p = spmd(4, worldGroup(4), 2, 2,
                     ".stream core=0 engine=q0\n  permute dst=" + row("y", 2) + " src=" + row("x", 2) +
                         (wrap ? "" : " wrap=0") + "\n");
    SpmdFunctional run(p, chip());
    for (int r = 0; r < 4; ++r) {
      setX(run, p, r, {float(r), float(r) + 0.5f});
      std::vector<float> fill{-9, -9};
      std::memcpy(run.memory(r).hbm() + p.tensors[p.findTensor("y")].hbmOffset, fill.data(), 8);
    }
    run.run();
    for (int r = 0; r < 4; ++r) {
      const int from = (r + 3) % 4;
      std::vector<float> want = (!wrap && r == 0) ? std::vector<float>{-9, -9}
                                                   : std::vector<float>{float(from), float(from) + 0.5f};
      EXPECT_EQ(getY(run, p, r), want) << "rank " << r << (wrap ? " ring" : " stages");
    }
  }
}

TEST(SpmdFunctional, ComputeOverlapsTheCollectiveThroughStartAndDoneSemaphores) {
  // Each rank scales its row by (rank id + 1) on ACT (start semaphore s0), the
  // all-reduce sums the rows (done semaphore s1), and q1 stores the result.
  const std::string body =
      ".replica_group 1 [1,0] [3,2]\n"
      ".stream core=0 engine=q2\n"
      "  dma_copy dst=sbuf[0:1]+0x0:fp32[[1,4]] src=" + row("x", 4) + " signal=s2+1\n"
      ".stream core=0 engine=pool\n"
      "  rank_id dst=sbuf[0:1]+0x100:fp32[[1,1]] signal=s3+1\n"
      "  rank_id dst=sbuf[0:1]+0x104:fp32[[1,1]] groups=1 signal=s3+1\n"
      ".stream core=0 engine=act\n"
      "  tensor_scalar dst=sbuf[0:1]+0x0:fp32[[1,4]] src=sbuf[0:1]+0x0:fp32[[1,4]] op0=mul "
      "scalar0_ap=sbuf[0:1]+0x100:fp32[[1,1]] op1=add scalar1=1 wait=s2>=1 signal=s0+1\n"
      "  activation dst=sbuf[0:1]+0x200:fp32[[1,4]] src=sbuf[0:1]+0x104:fp32[[0,4]] wait=s3>=2\n"
      ".stream core=0 engine=q0\n"
      "  all_reduce dst=sbuf[0:1]+0x80:fp32[[1,4]] src=sbuf[0:1]+0x0:fp32[[1,4]] op=add wait=s0>=1 signal=s1+1\n"
      ".stream core=0 engine=q1\n"
      "  dma_copy dst=" + row("y", 4) + " src=sbuf[0:1]+0x80:fp32[[1,4]] wait=s1>=1\n";
  Program p = spmd(4, worldGroup(4), 4, 4, body);
  SpmdFunctional run(p, chip());
  for (int r = 0; r < 4; ++r)
    setX(run, p, r, {1, 2, 3, float(r)});
  run.run();
  // sum over r of x * r + 1
  std::vector<float> want{0 + 1 + 2 + 3 + 4, 2 * 6 + 4.0f, 3 * 6 + 4.0f, 0 + 1 + 4 + 9 + 4.0f};
  for (int r = 0; r < 4; ++r)
    EXPECT_EQ(getY(run, p, r), want) << "rank " << r;
  // rank_id with groups=1 is the position: rank 1 is position 0 of [1,0], rank 2 position 1 of [3,2].
  float pos;
  std::memcpy(&pos, run.memory(1).sbuf(0) + 0x200, 4);
  EXPECT_EQ(pos, 0.0f);
  std::memcpy(&pos, run.memory(2).sbuf(0) + 0x200, 4);
  EXPECT_EQ(pos, 1.0f);
  EXPECT_EQ(run.instructionsExecuted(), 4u * 7); // seven instructions on each rank
}

TEST(SpmdFunctional, PerRankWeightsAndEndToEndOutputs) {
  Program p = parseAssembly(".target trn3\n.ranks 2\n" + worldGroup(2) +
                                ".tensor w weight fp32 [2]\n.data w 0000803f00000040\n.rank_data w 1 0000404000008040\n"
                                ".tensor y output fp32 [4]\n.stream core=0 engine=q0\n"
                                "  all_gather dst=" + row("y", 4) + " src=" + row("w", 2) + "\n",
                            "w.s");
  auto outputs = simulateSpmdFunctional(p, chip(), {});
  ASSERT_EQ(outputs.size(), 2u);
  for (int r = 0; r < 2; ++r) {
    const HostArray &y = outputs[r].at("y");
    std::vector<float> v(4);
    std::memcpy(v.data(), y.data.data(), 16);
    EXPECT_EQ(v, (std::vector<float>{1, 2, 3, 4})) << "rank " << r;
  }
  EXPECT_EQ(errorOf([&] { simulateSpmdFunctional(p, chip(), {{"x", HostArray{}}}); }),
            "'x' is not an input of the program");
}

TEST(SpmdFunctional, DeadlocksNameTheBlockedRanks) {
  // Every rank waits for s0, which only a later instruction of the same stream
  // signals: a deadlock the verifier cannot see.
  Program p = spmd(2, worldGroup(2), 4, 4,
                   ".stream core=0 engine=q0\n  all_reduce dst=" + row("y", 4) + " src=" + row("x", 4) +
                       " op=add wait=s0>=1\n  sem_signal signal=s0+1\n");
  SpmdFunctional run(p, chip());
  EXPECT_THAT(errorOf([&] { run.run(); }),
              HasSubstr("deadlock: no rank can make progress; rank 0 core 0 q0 #0 (all_reduce) waits for s0 >= 1;"));
  // Two collectives in a row, the second behind a semaphore another stream sets: no deadlock.
  Program q = spmd(2, worldGroup(2), 4, 4,
                   ".stream core=0 engine=q0\n  all_reduce dst=" + row("y", 4) + " src=" + row("x", 4) +
                       " op=add\n  all_reduce dst=" + row("y", 4) + " src=" + row("x", 4) + " op=add wait=s5>=1\n"
                       ".stream core=0 engine=sp\n  sem_signal signal=s5+1\n");
  SpmdFunctional ok(q, chip());
  ok.run(); // both ranks signal s5 themselves: no deadlock
}

// Run limits (RunLimits.h) hold in multi-rank functional runs too: the
// instruction count over all ranks and the host memory of the ranks' HBM images.
TEST(SpmdFunctional, RunLimitsHold) {
  Program p = parseAssembly(".target trn3\n.ranks 4\n.tensor s scratch fp32 [65536]\n.stream core=0 engine=dve\n"
                            "  loop count=2147483647\n    memset dst=sbuf[0:1]+0x0:fp32[[1,1]] value=1\n  endloop\n",
                            "runaway.s");
  RunLimits limits;
  limits.maxInstructions = 1000;
  EXPECT_EQ(errorOf([&] { simulateSpmdFunctional(p, chip(), {}, limits); }),
            "the run executed more than 1000 instructions (limit --max-instructions; raise it with "
            "--max-instructions N, or simulate(max_instructions=N) in Python)");
  limits.maxHostBytes = 1 << 20; // 4 ranks x 256 KiB fit exactly; 3 x 256 KiB would not
  EXPECT_THAT(errorOf([&] { simulateSpmdFunctional(p, chip(), {}, limits); }), HasSubstr("more than 1000"));
  limits.maxHostBytes = (1 << 20) - 1;
  EXPECT_EQ(errorOf([&] { simulateSpmdFunctional(p, chip(), {}, limits); }),
            "functional simulation of 4 ranks needs 1048576 bytes of HBM images; the limit is 1048575 bytes of host "
            "memory");
}
