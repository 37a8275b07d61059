// Writing the tools' output files safely: a write goes to a temporary file
// beside the target and is renamed over it only when complete, so a failed
// or interrupted write never leaves a truncated file that looks like a
// result; and an output path that names one of the run's inputs is refused
// before anything is read or written.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace trnx {

// Writes `bytes` to `path` atomically (temporary file + rename). Throws
// Error("PATH: cannot open file for writing") when the directory does not
// exist or is not writable, Error("PATH: write failed") when writing fails.
void writeFileAtomically(const std::string &path, std::string_view bytes);

// Throws Error("PATH: is also an input (...)") when `output` is the same file
// as one of `inputs` (same path, or another name for it).
void refuseInputAsOutput(const std::string &output, const std::vector<std::string> &inputs);

} // namespace trnx
