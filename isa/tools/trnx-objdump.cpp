// trnx-objdump: prints a .tnx program: -d as assembly (which trnx-as reads
// back to the same bytes), -h as a summary of its header, tensors and streams.
#include "isa/AsmPrinter.h"
#include "isa/Container.h"
#include "isa/OutputFile.h"
#include "isa/ToolArgs.h"
#include "isa/ToolMain.h"
#include "isa/Version.h"

#include <fstream>
#include <sstream>
#include <iostream>
#include <string>

static const char *kUsage =
    "usage: trnx-objdump [-d] [-h] [--no-data] [-o OUTPUT.s] PROGRAM.tnx\n"
    "  -d          disassemble the whole program (default)\n"
    "  -h          print the header, tensor table and stream sizes\n"
    "  --no-data   leave constant tensor bytes out of the listing\n"
    "  -o FILE     write to FILE instead of standard output\n"
    "  --version   print trnx's version and exit\n";

static void printSummary(std::ostream &os, const trnx::Program &p) {
  os << "target: " << p.target << "\ncores: " << p.numCores << "\n";
  if (p.isMultiRank())
    os << "ranks: " << p.numRanks << " (" << p.replicaGroups.size() << " replica-group sets, "
       << p.rankData.size() << " per-rank tensor data)\n";
  os << "tensors: " << p.tensors.size() << " (" << p.hbmExtent() << " bytes of HBM)\n";
  for (const trnx::TensorInfo &t : p.tensors) {
    os << "  " << trnx::formatName(t.name) << " " << trnx::tensorRoleName(t.role) << " "
       << trnx::dtypeName(t.dtype) << " [";
    for (size_t i = 0; i < t.shape.size(); ++i)
      os << (i ? "," : "") << t.shape[i];
    os << "] at " << t.hbmOffset << ", " << t.sizeBytes << " bytes"
       << (t.data.empty() ? "" : ", with data") << "\n";
  }
  os << "streams: " << p.streams.size() << " (" << p.instructionCount() << " instructions)\n";
  for (const trnx::Stream &s : p.streams)
    os << "  core " << s.core << " " << s.engine.name() << ": " << s.code.size() << "\n";
}

int main(int argc, char **argv) {
  return trnx::runTool([&]() {
    const trnx::ToolArgs args(argc, argv);
    bool disassemble = false, summary = false;
    trnx::PrintOptions options;
    std::string input, output;
    for (int i = 1; i < args.size(); ++i) {
      args.checkAttached(i);
      std::string a = args[i];
      if (a == "--help") {
        std::cout << kUsage;
        return 0;
      } else if (a == "--version") {
        std::cout << trnx::toolVersionLine("trnx-objdump") << "\n";
        return 0;
      } else if (a == "-d") {
        disassemble = true;
      } else if (a == "-h") {
        summary = true;
      } else if (a == "--no-data") {
        options.withData = false;
      } else if (a == "-o") {
        if (++i >= args.size())
          trnx::fail("-o needs a file name");
        output = args[i];
      } else if (!a.empty() && a[0] == '-') {
        trnx::fail("unknown option '", a, "' (see --help)");
      } else if (input.empty()) {
        input = a;
      } else {
        trnx::fail("more than one input file");
      }
    }
    if (input.empty())
      trnx::fail("no input file (see --help)");
    if (!disassemble && !summary)
      disassemble = true;
    if (!output.empty())
      trnx::refuseInputAsOutput(output, {input});
    trnx::Program program = trnx::readProgramFile(input);
    // A listing file is written whole or not at all (isa/OutputFile.h).
    std::ostringstream text;
    std::ostream &os = output.empty() ? std::cout : text;
    if (summary)
      printSummary(os, program);
    if (disassemble)
      trnx::printProgram(os, program, options);
    if (!output.empty())
      trnx::writeFileAtomically(output, text.str());
    return 0;
  });
}
