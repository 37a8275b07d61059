// trnx's version: the CMake project version, and the git revision of the
// checkout it was built from ("" when built outside git). Every tool's
// --version, trnx.__version__, reports, traces and sweep rows carry it.
#pragma once

#include <string>

namespace trnx {

const char *version();     // "0.1.0" (CMakeLists.txt project VERSION)
const char *gitRevision(); // "b19acae1234f-dirty" or ""

// "0.1.0 (git b19acae1234f)" or "0.1.0".
inline std::string versionString() {
  std::string s = version();
  if (*gitRevision())
    s += std::string(" (git ") + gitRevision() + ")";
  return s;
}

// What `TOOL --version` prints: "TOOL (trnx) 0.1.0 (git ...)".
inline std::string toolVersionLine(const std::string &tool) { return tool + " (trnx) " + versionString(); }

} // namespace trnx
