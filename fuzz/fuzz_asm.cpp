// Fuzz target: the assembler. Text either fails with an Error or assembles to
// a container that decodes back to the same bytes and whose listing
// re-assembles to them too.
#include "fuzz/FuzzCheck.h"
#include "isa/AsmParser.h"
#include "isa/AsmPrinter.h"
#include "isa/Container.h"
#include "isa/Error.h"

#include <sstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  std::vector<uint8_t> bytes;
  try {
    bytes = trnx::encodeProgram(trnx::parseAssembly(text, "fuzz.s"));
  } catch (const trnx::Error &) {
    return 0;
  }
  trnx::Program decoded;
  try {
    decoded = trnx::decodeProgram(bytes.data(), bytes.size());
  } catch (const trnx::Error &) {
    FUZZ_CHECK(false, "an assembled program does not decode");
  }
  FUZZ_CHECK(trnx::encodeProgram(decoded) == bytes, "an assembled program re-encodes differently");
  std::ostringstream listing;
  trnx::printProgram(listing, decoded);
  try {
    FUZZ_CHECK(trnx::encodeProgram(trnx::parseAssembly(listing.str(), "listing.s")) == bytes,
               "the listing of an assembled program re-assembles differently");
  } catch (const trnx::Error &) {
    FUZZ_CHECK(false, "the listing of an assembled program does not re-assemble");
  }
  return 0;
}
