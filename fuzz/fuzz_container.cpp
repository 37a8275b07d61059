// Fuzz target: the .tnx reader and the verifier. Whatever decodes must
// re-encode to the same bytes (checksum aside), print to assembly that
// re-assembles to those bytes, and verify or fail with an Error.
#include "fuzz/FuzzCheck.h"
#include "isa/AsmParser.h"
#include "isa/AsmPrinter.h"
#include "isa/Container.h"
#include "isa/Error.h"
#include "isa/Verifier.h"
#include "simulator/config/ConfigLoader.h"

#include <cstring>
#include <sstream>

namespace {

// The real trn3 limits, from the embedded preset.
const trnx::TargetLimits &trn3Limits() {
  static const trnx::TargetLimits limits = trnx::loadChip("trn3").limits();
  return limits;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  trnx::Program p;
  try {
    p = trnx::decodeProgram(data, size, trnx::DecodeOptions{false});
  } catch (const trnx::Error &) {
    return 0;
  }
  std::vector<uint8_t> again = trnx::encodeProgram(p);
  FUZZ_CHECK(again.size() == size && std::memcmp(again.data(), data, 16) == 0 &&
                 std::memcmp(again.data() + 20, data + 20, size - 20) == 0,
             "a decoded container re-encodes to different bytes");
  std::ostringstream text;
  trnx::printProgram(text, p);
  try {
    FUZZ_CHECK(trnx::encodeProgram(trnx::parseAssembly(text.str(), "fuzz.s")) == again,
               "the listing re-assembles to different bytes");
  } catch (const trnx::Error &) {
    FUZZ_CHECK(false, "the listing of a decoded container does not re-assemble");
  }
  try {
    trnx::verifyProgram(p, trn3Limits());
  } catch (const trnx::Error &) {
  }
  return 0;
}
