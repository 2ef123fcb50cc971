#include "core/atomic_file.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace mt {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AtomicFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mt_atomic_file_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  size_t Entries() const { return static_cast<size_t>(std::distance(fs::directory_iterator(dir_), {})); }
  fs::path dir_;
};

TEST_F(AtomicFile, WritesAndReplacesWhole) {
  const fs::path p = dir_ / "summary.json";
  ASSERT_TRUE(WriteFileAtomically(p.string(), "{\"a\":1}\n").ok());
  EXPECT_EQ(ReadAll(p), "{\"a\":1}\n");
  ASSERT_TRUE(WriteFileAtomically(p.string(), "").ok());
  EXPECT_EQ(ReadAll(p), "");
  EXPECT_EQ(Entries(), 1u);  // no temporary file left
}

TEST_F(AtomicFile, AnUnwritablePathIsAUsageErrorAndLeavesNothing) {
  const fs::path folder = dir_ / "a-folder";
  fs::create_directories(folder / "inside");
  Status st = WriteFileAtomically(folder.string(), "x");
  EXPECT_EQ(st.code(), Status::Code::kUsage);
  EXPECT_NE(st.message().find("cannot write " + folder.string()), std::string::npos) << st.message();
  EXPECT_TRUE(fs::is_directory(folder / "inside"));
  st = WriteFileAtomically((dir_ / "no-such-parent" / "f.json").string(), "x");
  EXPECT_EQ(st.code(), Status::Code::kUsage);
  EXPECT_EQ(Entries(), 1u);  // the folder alone: no temporary file left
}

}  // namespace
}  // namespace mt
