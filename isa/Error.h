// The single error type of trnx's C++ libraries: a message that tools print as
// "error: <message>" before exiting with status 1.
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

// Builds a message from streamable parts: fail("bad dtype '", name, "'").
template <typename... Parts> [[noreturn]] void fail(Parts &&...parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  throw Error(os.str());
}

} // namespace trnx
