// trnx-as: assembles trnx assembly (.s) into a .tnx program container.
#include "isa/AsmParser.h"
#include "isa/Container.h"
#include "isa/OutputFile.h"
#include "isa/ToolArgs.h"
#include "isa/ToolMain.h"
#include "isa/Version.h"

#include <cstring>
#include <iostream>
#include <string>

static const char *kUsage =
    "usage: trnx-as INPUT.s -o OUTPUT.tnx\n"
    "Assembles trnx assembly into a program container (see docs/isa.md).\n"
    "  --version   print trnx's version and exit\n";

int main(int argc, char **argv) {
  return trnx::runTool([&]() {
    const trnx::ToolArgs args(argc, argv);
    std::string input, output;
    for (int i = 1; i < args.size(); ++i) {
      args.checkAttached(i);
      std::string a = args[i];
      if (a == "-h" || a == "--help") {
        std::cout << kUsage;
        return 0;
      } else if (a == "--version") {
        std::cout << trnx::toolVersionLine("trnx-as") << "\n";
        return 0;
      } else if (a == "-o") {
        if (++i >= args.size())
          trnx::fail("-o needs a file name");
        output = args[i];
      } else if (!a.empty() && a[0] == '-' && a != "-") {
        trnx::fail("unknown option '", a, "' (see --help)");
      } else if (input.empty()) {
        input = a;
      } else {
        trnx::fail("more than one input file");
      }
    }
    if (input.empty())
      trnx::fail("no input file (see --help)");
    if (output.empty())
      trnx::fail("no output file: pass -o OUTPUT.tnx");
    trnx::refuseInputAsOutput(output, {input});
    trnx::Program program = trnx::parseAssemblyFile(input);
    trnx::writeProgramFile(output, program);
    return 0;
  });
}
