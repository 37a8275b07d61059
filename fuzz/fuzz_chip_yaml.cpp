// Fuzz target: the chip YAML loader (one file; `base:` names presets only, as
// a file path would read the disk). Errors are fine; a loaded config must
// print as YAML that loads to the same config.
#include "fuzz/FuzzCheck.h"
#include "isa/Error.h"
#include "simulator/config/ConfigLoader.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  if (text.find("base:") != std::string::npos && text.find('/') != std::string::npos)
    return 0; // no file system access from the fuzzer
  trnx::ChipConfig chip;
  try {
    chip = trnx::loadChipFromText(text, "fuzz.yaml");
  } catch (const trnx::Error &) {
    return 0;
  }
  const std::string yaml = trnx::chipToYaml(chip);
  try {
    FUZZ_CHECK(trnx::chipToYaml(trnx::loadChipFromText(yaml, "printed.yaml")) == yaml,
               "a printed chip config loads differently");
  } catch (const trnx::Error &) {
    FUZZ_CHECK(false, "a printed chip config does not load");
  }
  return 0;
}
