// Atomic output files and the output-is-an-input check.
#include "isa/OutputFile.h"

#include "isa/Error.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <unistd.h>

namespace trnx {

void writeFileAtomically(const std::string &path, std::string_view bytes) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    fail(path, ": cannot open file for writing (no directory '", dir.string(), "')");
  if (fs::is_directory(target, ec))
    fail(path, ": cannot open file for writing (it is a directory)");
  // Hidden, unique per process, in the target's directory (so rename is atomic).
  const fs::path temp = dir / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()));
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out)
      fail(path, ": cannot open file for writing");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      fs::remove(temp, ec);
      fail(path, ": write failed (nothing written)");
    }
  }
  fs::rename(temp, target, ec);
  if (ec) {
    fs::remove(temp, ec);
    fail(path, ": cannot replace the file: ", ec.message());
  }
}

void refuseInputAsOutput(const std::string &output, const std::vector<std::string> &inputs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(output, ec))
    return;
  for (const std::string &in : inputs)
    if (fs::equivalent(output, in, ec))
      fail(output, ": is also an input ('", in, "'); refusing to overwrite it: choose another output path");
}

} // namespace trnx
