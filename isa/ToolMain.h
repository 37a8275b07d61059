// Shared entry wrapper of the command-line tools: runs the tool body and turns
// any failure into one error line on stderr ("error: what", or
// "file:line:col: error: what" when the message starts with its place) and
// exit status 1.
#pragma once

#include "isa/Error.h"

#include <cstdio>
#include <exception>
#include <functional>
#include <new>

namespace trnx {

inline int runTool(const std::function<int()> &body) {
  try {
    return body();
  } catch (const Error &e) {
    std::fprintf(stderr, "%s\n", diagnosticLine("error", e.what()).c_str());
  } catch (const std::bad_alloc &) {
    std::fprintf(stderr, "error: out of memory\n");
  } catch (const std::exception &e) {
    std::fprintf(stderr, "%s\n", diagnosticLine("error", e.what()).c_str());
  }
  return 1;
}

} // namespace trnx
