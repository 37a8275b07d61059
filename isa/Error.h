// The single error type of trnx's C++ libraries: a message that tools print as
// one diagnostic line (diagnosticLine) before exiting with status 1. A message
// that starts with its place ("file:line:col: what", "file:line: what") is
// printed in MLIR's and clang's form, "file:line:col: error: what".
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace trnx {

class Error : public std::runtime_error {
public:
  explicit Error(const std::string &message) : std::runtime_error(message) {}
};

// "file:line[:col]: " at the start of message: its length, or 0 when there is none.
inline size_t locationPrefixLength(const std::string &message) {
  const size_t colon = message.find(": ");
  if (colon == std::string::npos || message.find(' ') < colon)
    return 0; // no place, or text with spaces before the first ": "
  // The place must end in ":<line>" or ":<line>:<col>" after a non-empty file.
  size_t end = colon;
  for (int run = 0; run < 2; ++run) {
    size_t start = end;
    while (start > 0 && message[start - 1] >= '0' && message[start - 1] <= '9')
      --start;
    if (start == end || start < 2 || message[start - 1] != ':')
      return run == 0 ? 0 : colon + 2;
    end = start - 1;
  }
  return colon + 2;
}

// One diagnostic line without the newline: severity is "error", "warning" or "note".
inline std::string diagnosticLine(const std::string &severity, const std::string &message) {
  size_t n = locationPrefixLength(message);
  if (n == 0)
    return severity + ": " + message;
  return message.substr(0, n) + severity + ": " + message.substr(n);
}

// Builds a message from streamable parts: fail("bad dtype '", name, "'").
template <typename... Parts> [[noreturn]] void fail(Parts &&...parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  throw Error(os.str());
}

} // namespace trnx
