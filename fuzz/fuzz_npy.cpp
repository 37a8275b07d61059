// Fuzz target: the .npy reader. Errors are fine; a parsed array must
// serialize and parse back to the same dtype, shape and bytes.
#include "fuzz/FuzzCheck.h"
#include "isa/Error.h"
#include "simulator/io/Npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  trnx::HostArray a;
  try {
    a = trnx::parseNpy(std::vector<uint8_t>(data, data + size), "fuzz.npy");
  } catch (const trnx::Error &) {
    return 0;
  }
  FUZZ_CHECK(a.data.size() == a.elementCount() * a.itemSize(), "data size differs from the header's");
  trnx::HostArray b;
  try {
    b = trnx::parseNpy(trnx::serializeNpy(a), "again.npy");
  } catch (const trnx::Error &) {
    FUZZ_CHECK(false, "a serialized array does not parse");
  }
  FUZZ_CHECK(a.descr == b.descr && a.shape == b.shape && a.data == b.data, "npy round trip differs");
  return 0;
}
