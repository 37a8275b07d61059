// Command-line arguments of the hand-written tools (trnx-as, trnx-objdump,
// trnx-sim, trnx-isa-doc) with LLVM's two spellings of a valued option:
// "--name VALUE" and "--name=VALUE" both reach the tool as "--name", "VALUE".
// A value given with '=' to an option that takes none is an error, not a
// stray positional argument (checkAttached).
#pragma once

#include "isa/Error.h"

#include <string>
#include <vector>

namespace trnx {

class ToolArgs {
public:
  ToolArgs(int argc, char **argv) {
    for (int i = 0; i < argc; ++i) {
      std::string a = argv[i];
      size_t eq = a.find('=');
      if (i > 0 && a.size() > 2 && a[0] == '-' && a[1] == '-' && eq != std::string::npos && eq > 2) {
        push(a.substr(0, eq), false);
        push(a.substr(eq + 1), true);
      } else {
        push(a, false);
      }
    }
  }
  int size() const { return static_cast<int>(args_.size()); }
  const std::string &operator[](int i) const { return args_[static_cast<size_t>(i)]; }
  // Argument i came from "--name=VALUE" (the option before it took no value).
  void checkAttached(int i) const {
    if (attached_[static_cast<size_t>(i)])
      fail("option '", args_[static_cast<size_t>(i) - 1], "' takes no value (given '=", args_[static_cast<size_t>(i)],
           "'; see --help)");
  }

private:
  void push(std::string a, bool attached) {
    args_.push_back(std::move(a));
    attached_.push_back(attached);
  }
  std::vector<std::string> args_;
  std::vector<bool> attached_;
};

} // namespace trnx
