// Wall time of a system timing run (simulator/system/SystemTiming.h): a
// decode-like tensor-parallel step on all 144 chips of trn3-ultraserver.
// Per layer and rank, two halves (attention-like and MLP-like), each
// streaming 4 MiB of weight shards from HBM through 128 small-batch matmuls
// (batch 8) and ending in an all-reduce of the 8 x 8192 bf16 activations
// over all 144 ranks (Megatron TP: 2 all-reduces per layer); the next half's
// weights wait for the all-reduce to be consumed. The target (issue 14):
// under 10 s for the step; the run fails if it takes longer.
#include "isa/AsmParser.h"
#include "simulator/system/SystemTiming.h"

#include <benchmark/benchmark.h>

#include <chrono>
#include <sstream>

namespace {

trnx::Program decodeStep(int ranks, int layers) {
  std::ostringstream s;
  s << ".target trn3\n.ranks " << ranks << "\n.replica_group 0 [";
  for (int r = 0; r < ranks; ++r)
    s << (r ? "," : "") << r;
  s << "]\n.tensor w input bf16 [128,4096]\n"
    // Weights: 4 chunks of 1 MiB per half; the first waits for the previous half's all-reduce result.
    << ".stream core=0 engine=q0\n  loop count=" << layers << "\n    loop count=2\n"
    << "      dma_copy dst=sbuf[0:128]+0x0:bf16[[1,4096]] src=hbm[w]+0x0:bf16[[4096,128],[1,4096]] "
       "wait=s3>=0+2*i0+1*i1 signal=s0+1\n"
    << "      loop count=3\n"
    << "        dma_copy dst=sbuf[0:128]+0x0:bf16[[1,4096]] src=hbm[w]+0x0:bf16[[4096,128],[1,4096]] signal=s0+1\n"
    << "      endloop\n    endloop\n  endloop\n"
    // 32 matmuls (128x128 weights x 8 tokens) per chunk.
    << ".stream core=0 engine=pe\n  loop count=" << layers << "\n    loop count=2\n      loop count=4\n"
    << "        loop count=32\n"
    << "          matmul dst=psum[0:128]+0x0:fp32[[1,8]] stationary=sbuf[0:128]+0x0+256*i3:bf16[[1,128]] "
       "moving=sbuf[0:128]+0x2000:bf16[[1,8]] wait=s0>=1+8*i0+4*i1+1*i2 signal=s1+1\n"
    << "        endloop\n      endloop\n    endloop\n  endloop\n"
    // The partial sums of 8 tokens x 8192 features (128 KiB bf16): mesh all-reduce.
    << ".stream core=0 engine=q1\n  loop count=" << layers << "\n    loop count=2\n"
    << "      all_reduce dst=sbuf[0:8]+0xc000:bf16[[1,8192]] src=sbuf[0:8]+0x8000:bf16[[1,8192]] op=add "
       "wait=s1>=128+256*i0+128*i1 signal=s2+1\n"
    << "    endloop\n  endloop\n"
    << ".stream core=0 engine=act\n  loop count=" << layers << "\n    loop count=2\n"
    << "      activation dst=sbuf[0:8]+0x2000:bf16[[1,8192]] src=sbuf[0:8]+0xc000:bf16[[1,8192]] "
       "wait=s2>=1+2*i0+1*i1 signal=s3+1\n"
    << "    endloop\n  endloop\n";
  return trnx::parseAssembly(s.str(), "decode_step.s");
}

void BM_Trn3UltraServerDecodeStep(benchmark::State &state) {
  const int layers = static_cast<int>(state.range(0));
  const trnx::SystemConfig system = trnx::loadSystem("trn3-ultraserver");
  const trnx::Program program = decodeStep(system.chips(), layers);
  double simulated = 0, exposed = 0, worst = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    trnx::SystemTimingResult r = trnx::simulateSystemTiming(program, system, false);
    worst = std::max(worst, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    simulated = r.system.seconds;
    exposed = r.system.exposed_communication_seconds;
    if (r.system.collectives.at(0).executions != static_cast<uint64_t>(2 * layers))
      state.SkipWithError("unexpected collective count");
  }
  if (worst >= 10.0)
    state.SkipWithError("a 144-rank decode step took 10 s or more to simulate");
  state.counters["simulated_ms"] = simulated * 1e3;
  state.counters["exposed_comm_ms"] = exposed * 1e3;
  state.counters["ranks"] = system.chips();
}

BENCHMARK(BM_Trn3UltraServerDecodeStep)->Arg(80)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
