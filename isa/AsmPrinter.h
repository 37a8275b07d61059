// Prints a Program as trnx assembly (the syntax trnx-as reads). The output is
// lossless: assembling it gives back the same binary, byte for byte.
#pragma once

#include "isa/Program.h"

#include <ostream>
#include <string>

namespace trnx {

struct PrintOptions {
  bool withData = true; // print constant tensor bytes (.data lines)
};

void printProgram(std::ostream &os, const Program &program, const PrintOptions &options = {});
std::string printInstruction(const Program &program, const Instruction &inst);
std::string printAccessPattern(const Program &program, const AccessPattern &ap);
// A float immediate in a form that parses back to the same bits.
std::string formatFloat(float value);
// A name as written in assembly: bare when it is an identifier, else quoted.
std::string formatName(const std::string &name);

} // namespace trnx
