// Limits on the work of one simulation run, so a hostile or mistaken program
// (huge loop counts, huge operands) ends in an error naming the limit instead
// of running for hours or exhausting the host's memory, plus a progress line
// on stderr for long runs. RunGuard is what the machine calls while running.
#pragma once

#include "isa/Error.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace trnx {

struct RunLimits {
  // Defaults far above every program of the suite (the largest runs execute
  // ~10^7 instructions and simulate well under a second).
  static constexpr uint64_t kDefaultMaxInstructions = 10'000'000'000ull;
  static constexpr double kDefaultMaxSimulatedSeconds = 3600;
  // The femtosecond int64 clock holds 9223 s; the limit stays well inside it.
  static constexpr double kMaxSimulatedSecondsLimit = 4000;

  uint64_t maxInstructions = kDefaultMaxInstructions; // executed instructions, all streams
  double maxSimulatedSeconds = kDefaultMaxSimulatedSeconds; // timing runs: simulated time
  // Host bytes one functional instruction may use for its operands (0: the
  // host's physical memory). Checked before allocating.
  uint64_t maxHostBytes = 0;
  // Wall-clock seconds between progress lines on stderr (0: none).
  double progressIntervalSeconds = 10;
};

// "N" of a limit in the flag's own spelling, e.g. 1e+10 -> "10000000000".
inline std::string limitText(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

// The host-memory budget of a functional run: maxHostBytes, or the host's
// physical memory when it is 0.
inline uint64_t hostMemoryLimit(const RunLimits &limits) {
  if (limits.maxHostBytes)
    return limits.maxHostBytes;
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : UINT64_MAX;
}

class RunGuard {
public:
  explicit RunGuard(const RunLimits &limits) : limits_(limits), start_(Clock::now()), lastProgress_(start_) {
    check(limits);
  }

  // Refuses limits the simulator cannot honour (a bad flag value).
  static void check(const RunLimits &limits) {
    if (limits.maxInstructions == 0)
      fail("--max-instructions must be at least 1");
    if (!(limits.maxSimulatedSeconds > 0) || limits.maxSimulatedSeconds > RunLimits::kMaxSimulatedSecondsLimit)
      fail("--max-simulated-seconds must be above 0 and at most ", limitText(RunLimits::kMaxSimulatedSecondsLimit),
           " (the simulator's femtosecond clock), not ", limitText(limits.maxSimulatedSeconds));
  }

  // One more instruction executed at simulated time `seconds` (timing runs;
  // pass a negative time in functional-only runs).
  void instruction(double seconds) {
    if (++instructions_ > limits_.maxInstructions)
      fail("the run executed more than ", limits_.maxInstructions,
           " instructions (limit --max-instructions; raise it with --max-instructions N, or "
           "simulate(max_instructions=N) in Python)");
    simulated(seconds);
    if ((instructions_ & 0xffff) == 0)
      maybeProgress(seconds);
  }

  void simulated(double seconds) {
    if (seconds > limits_.maxSimulatedSeconds)
      fail("the run passed ", limitText(limits_.maxSimulatedSeconds),
           " s of simulated time (limit --max-simulated-seconds; raise it with --max-simulated-seconds S, or "
           "simulate(max_simulated_seconds=S) in Python)");
  }

  uint64_t instructions() const { return instructions_; }

private:
  using Clock = std::chrono::steady_clock;
  void maybeProgress(double seconds) {
    if (limits_.progressIntervalSeconds <= 0)
      return;
    const Clock::time_point now = Clock::now();
    if (std::chrono::duration<double>(now - lastProgress_).count() < limits_.progressIntervalSeconds)
      return;
    lastProgress_ = now;
    const double wall = std::chrono::duration<double>(now - start_).count();
    if (seconds >= 0)
      std::fprintf(stderr, "note: still simulating: %llu instructions, %.6g s simulated, %.0f s wall time\n",
                   static_cast<unsigned long long>(instructions_), seconds, wall);
    else
      std::fprintf(stderr, "note: still simulating: %llu instructions, %.0f s wall time\n",
                   static_cast<unsigned long long>(instructions_), wall);
  }

  RunLimits limits_;
  uint64_t instructions_ = 0;
  Clock::time_point start_, lastProgress_;
};

} // namespace trnx
