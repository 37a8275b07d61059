// Output files (isa/OutputFile.h): a write that fails halfway leaves the old
// file untouched and no temporary behind; an output naming an input is refused.
#include "isa/Error.h"
#include "isa/OutputFile.h"

#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/resource.h>

using namespace trnx;
namespace fs = std::filesystem;

namespace {

fs::path freshDir(const std::string &name) {
  fs::path d = fs::temp_directory_path() / ("trnx_output_file_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string errorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST(OutputFile, WritesAndReplacesWhole) {
  const fs::path d = freshDir("replace");
  const std::string path = (d / "out.bin").string();
  writeFileAtomically(path, "first");
  EXPECT_EQ(slurp(path), "first");
  writeFileAtomically(path, "second, longer");
  EXPECT_EQ(slurp(path), "second, longer");
  EXPECT_EQ(std::distance(fs::directory_iterator(d), fs::directory_iterator()), 1); // no temporary left
  fs::remove_all(d);
}

TEST(OutputFile, AFailedWriteLeavesTheOldFileAndNoTemporary) {
  const fs::path d = freshDir("fail");
  const std::string path = (d / "out.bin").string();
  writeFileAtomically(path, "the old result");
  // Files may grow to 4 KiB only: the 1 MiB write fails halfway (EFBIG).
  struct rlimit old;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto previous = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  const std::string msg = errorOf([&] { writeFileAtomically(path, std::string(1 << 20, 'x')); });
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, previous);
  EXPECT_EQ(msg, path + ": write failed (nothing written)");
  EXPECT_EQ(slurp(path), "the old result");
  EXPECT_EQ(std::distance(fs::directory_iterator(d), fs::directory_iterator()), 1);
  fs::remove_all(d);
}

TEST(OutputFile, MissingDirectoriesAndDirectoriesAreErrors) {
  const fs::path d = freshDir("dirs");
  const std::string missing = (d / "no" / "x.bin").string();
  EXPECT_EQ(errorOf([&] { writeFileAtomically(missing, "x"); }),
            missing + ": cannot open file for writing (no directory '" + (d / "no").string() + "')");
  EXPECT_EQ(errorOf([&] { writeFileAtomically(d.string(), "x"); }),
            d.string() + ": cannot open file for writing (it is a directory)");
  fs::remove_all(d);
}

TEST(OutputFile, AnOutputThatIsAnInputIsRefused) {
  const fs::path d = freshDir("input");
  const std::string in = (d / "p.s").string();
  writeFileAtomically(in, "x");
  fs::create_symlink(in, d / "alias.s");
  EXPECT_EQ(errorOf([&] { refuseInputAsOutput(in, {in}); }),
            in + ": is also an input ('" + in + "'); refusing to overwrite it: choose another output path");
  EXPECT_NE(errorOf([&] { refuseInputAsOutput((d / "alias.s").string(), {in}); }), "");
  EXPECT_NE(errorOf([&] { refuseInputAsOutput((d / "." / "p.s").string(), {"x", in}); }), "");
  EXPECT_EQ(errorOf([&] { refuseInputAsOutput((d / "new.tnx").string(), {in}); }), ""); // does not exist yet
  EXPECT_EQ(errorOf([&] { refuseInputAsOutput((d / "alias.s").string(), {(d / "other").string()}); }), "");
  fs::remove_all(d);
}
