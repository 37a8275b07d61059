// Simulated instructions per second of trnx-sim's machine, in timing-only and
// functional modes, on programs shaped like compiler output: a PE stream of
// matmuls, ACT evacuations, DVE elementwise work and DMA queues, chained by
// semaphores, on 1 and 8 cores.
#include "isa/AsmParser.h"
#include "simulator/Simulator.h"
#include "simulator/config/ConfigLoader.h"

#include <benchmark/benchmark.h>

#include <sstream>

namespace {

// One core's streams: per iteration 4 matmuls -> 1 ACT copy -> 2 DVE ops,
// plus a load and a store DMA every iteration. `iterations` loop trips.
std::string coreStreams(int core, int iterations) {
  std::ostringstream s;
  s << ".stream core=" << core << " engine=q0\n"
    << "  loop count=" << iterations << "\n"
    << "    dma_copy dst=sbuf[0:128]+0x0:bf16[[1,512]] src=hbm[x]+0x0:bf16[[512,128],[1,512]] signal=s0+1\n"
    << "  endloop\n"
    << ".stream core=" << core << " engine=pe\n"
    << "  loop count=" << iterations << "\n"
    << "    matmul dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x0:bf16[[1,128]] moving=sbuf[0:128]+0x0:bf16[[1,512]] wait=s0>=1+1*i0\n"
    << "    matmul dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x100:bf16[[1,128]] moving=sbuf[0:128]+0x0:bf16[[1,512]] acc=1\n"
    << "    matmul dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x200:bf16[[1,128]] moving=sbuf[0:128]+0x0:bf16[[1,512]] acc=1\n"
    << "    matmul dst=psum[0:128]+0x0:fp32[[1,512]] stationary=sbuf[0:128]+0x300:bf16[[1,128]] moving=sbuf[0:128]+0x0:bf16[[1,512]] acc=1 signal=s1+1\n"
    << "  endloop\n"
    << ".stream core=" << core << " engine=act\n"
    << "  loop count=" << iterations << "\n"
    << "    activation dst=sbuf[0:128]+0x1000:fp32[[1,512]] src=psum[0:128]+0x0:fp32[[1,512]] wait=s1>=1+1*i0 signal=s2+1\n"
    << "  endloop\n"
    << ".stream core=" << core << " engine=dve\n"
    << "  loop count=" << iterations << "\n"
    << "    tensor_scalar dst=sbuf[0:128]+0x1800:fp32[[1,512]] src=sbuf[0:128]+0x1000:fp32[[1,512]] op0=mul scalar0=2 wait=s2>=1+1*i0\n"
    << "    tensor_tensor dst=sbuf[0:128]+0x1800:fp32[[1,512]] src0=sbuf[0:128]+0x1800:fp32[[1,512]] src1=sbuf[0:128]+0x1000:fp32[[1,512]] op=add signal=s3+1\n"
    << "  endloop\n"
    << ".stream core=" << core << " engine=q1\n"
    << "  loop count=" << iterations << "\n"
    << "    dma_copy dst=hbm[y]+0x0:fp32[[512,128],[1,512]] src=sbuf[0:128]+0x1800:fp32[[1,512]] wait=s3>=1+1*i0\n"
    << "  endloop\n";
  return s.str();
}

trnx::Program makeProgram(int cores, int iterations) {
  std::ostringstream s;
  s << ".target trn3\n.cores " << cores << "\n"
    << ".tensor x input bf16 [128,512]\n.tensor y output fp32 [128,512]\n";
  for (int c = 0; c < cores; ++c)
    s << coreStreams(c, iterations);
  return trnx::parseAssembly(s.str(), "benchmark.s");
}

// Dynamic instructions per iteration per core: 1+4+1+2+1.
constexpr int kPerIteration = 9;

void run(benchmark::State &state, bool functional, bool timing) {
  const int cores = static_cast<int>(state.range(0));
  const int iterations = static_cast<int>(state.range(1));
  trnx::Program program = makeProgram(cores, iterations);
  trnx::ChipConfig chip = trnx::loadChip("trn3");
  std::map<std::string, trnx::HostArray> inputs;
  trnx::HostArray x;
  x.descr = "<f4";
  x.shape = {128, 512};
  x.data.assign(128 * 512 * 4, 0);
  inputs["x"] = x;
  trnx::MachineOptions options;
  options.functional = functional;
  options.timing = timing;
  uint64_t instructions = 0;
  for (auto _ : state) {
    trnx::SimulationResult r = trnx::simulate(program, chip, functional ? inputs : decltype(inputs){}, options);
    instructions += r.report.instructions;
    benchmark::DoNotOptimize(r.report.cycles);
  }
  if (instructions != static_cast<uint64_t>(state.iterations()) * cores * iterations * kPerIteration)
    state.SkipWithError("unexpected instruction count");
  state.counters["instructions_per_second"] =
      benchmark::Counter(static_cast<double>(instructions), benchmark::Counter::kIsRate);
}

void BM_TimingOnly(benchmark::State &state) { run(state, false, true); }
void BM_FunctionalOnly(benchmark::State &state) { run(state, true, false); }
void BM_FunctionalAndTiming(benchmark::State &state) { run(state, true, true); }

BENCHMARK(BM_TimingOnly)->Args({1, 20000})->Args({8, 20000})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FunctionalOnly)->Args({1, 200})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FunctionalAndTiming)->Args({1, 200})->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
