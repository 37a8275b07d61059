// What a fuzz target may do with an input: throw trnx::Error (bad input,
// reported as one error line by the tools) or succeed. Anything else -- a
// crash, a sanitizer report, another exception type, or a broken invariant
// checked with FUZZ_CHECK -- is a finding. Shared by the libFuzzer build and
// the replay main (ReplayMain.cpp).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                                     \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "fuzz invariant broken: %s (%s:%d)\n", what, __FILE__, __LINE__);       \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)
