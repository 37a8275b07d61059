// Replay driver: runs a fuzz target's LLVMFuzzerTestOneInput over files and
// directories (recursively) of inputs, so the targets build with any compiler
// and the seed corpus and every past finding run as ordinary tests under
// ctest. A crash, abort or non-Error exception fails the run.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  namespace fs = std::filesystem;
  size_t inputs = 0;
  auto run = [&](const fs::path &path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    ++inputs;
  };
  for (int i = 1; i < argc; ++i) {
    const fs::path p = argv[i];
    if (fs::is_directory(p)) {
      for (const fs::directory_entry &e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file())
          run(e.path());
    } else if (fs::is_regular_file(p)) {
      run(p);
    } else {
      std::fprintf(stderr, "error: %s: no such file or directory\n", argv[i]);
      return 1;
    }
  }
  if (inputs == 0) {
    std::fprintf(stderr, "error: no inputs replayed\n");
    return 1;
  }
  std::printf("replayed %zu inputs\n", inputs);
  return 0;
}
