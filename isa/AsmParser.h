// Parses trnx assembly into a Program. Errors are reported as
// "FILE:LINE:COL: message" (an Error), the first error only.
#pragma once

#include "isa/Program.h"

#include <string>
#include <string_view>

namespace trnx {

Program parseAssembly(std::string_view text, const std::string &fileName);
Program parseAssemblyFile(const std::string &path);

} // namespace trnx
