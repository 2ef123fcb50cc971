// instruments --format's printing of its text (PrintSpilledText): whole
// when not interrupted; interrupted, a regular file it printed to holds no
// part of the text, what it held before kept, whether opened to append or
// at its end.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "core/spilled_blobs.h"
#include "support/temp_dir.h"

namespace mt::cli {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Text of several pieces (a MiB each) and a bit.
std::string Text() {
  std::string s;
  for (int i = 0; s.size() < (size_t{3} << 20) + 12345; i++) s += "row " + std::to_string(i) + ",a,b,c\n";
  return s;
}

TEST(PrintSpilledText, AnInterruptLeavesNoPartOfTheTextInAFile) {
  testing::TempDir dir{"mt-print-text-"};
  const std::string text = Text();
  SpilledBlobs blobs(size_t{1} << 16);
  blobs.Append(text);
  for (const char* mode : {"a", "r+"}) {
    SCOPED_TRACE(mode);
    const std::string path = dir.path() + "/out-" + (mode[0] == 'a' ? "append" : "at-end") + ".txt";
    std::ofstream(path, std::ios::binary) << "held before\n";
    // Not interrupted: the whole text after what the file held.
    std::FILE* f = std::fopen(path.c_str(), mode);
    ASSERT_NE(f, nullptr);
    if (mode[0] == 'r') std::fseek(f, 0, SEEK_END);
    int asked = 0;
    Status st = PrintSpilledText(blobs, f, [&] { return ++asked > 1000; });
    std::fclose(f);
    EXPECT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(asked, 4);  // once per piece
    EXPECT_TRUE(ReadAll(path) == "held before\n" + text);
    // Interrupted after two pieces: what the file held, nothing more.
    std::ofstream(path, std::ios::binary | std::ios::trunc) << "held before\n";
    f = std::fopen(path.c_str(), mode);
    ASSERT_NE(f, nullptr);
    if (mode[0] == 'r') std::fseek(f, 0, SEEK_END);
    asked = 0;
    st = PrintSpilledText(blobs, f, [&] { return ++asked > 2; });
    std::fclose(f);
    EXPECT_EQ(st.code(), Status::Code::kCancelled) << st.ToString();
    EXPECT_EQ(asked, 3);
    const std::string left = ReadAll(path);
    EXPECT_EQ(left.size(), 12u);
    EXPECT_TRUE(left == "held before\n") << left.substr(0, 40);
  }
}

// A file written over from its start (opened read-write, not at its end):
// cutting it back to where the text started would drop what it held past
// the text's bytes, so it is left as it is.
TEST(PrintSpilledText, AnInterruptDoesNotCutAFileWrittenOverFromItsStart) {
  testing::TempDir dir{"mt-print-text-"};
  const std::string text = Text();
  SpilledBlobs blobs(size_t{1} << 16);
  blobs.Append(text);
  const std::string path = dir.path() + "/over.txt";
  const std::string held(size_t{5} << 20, 'h');
  std::ofstream(path, std::ios::binary) << held;
  std::FILE* f = std::fopen(path.c_str(), "r+");
  ASSERT_NE(f, nullptr);
  int asked = 0;
  const Status st = PrintSpilledText(blobs, f, [&] { return ++asked > 2; });
  std::fclose(f);
  EXPECT_EQ(st.code(), Status::Code::kCancelled) << st.ToString();
  const std::string left = ReadAll(path);
  ASSERT_EQ(left.size(), held.size());
  EXPECT_TRUE(left.compare(0, size_t{2} << 20, text, 0, size_t{2} << 20) == 0);
  EXPECT_TRUE(left.compare(size_t{2} << 20, std::string::npos, held, size_t{2} << 20, std::string::npos) == 0);
}

// Another writer appending to the same file while the text is printed:
// its lines are not cut away with the text's.
TEST(PrintSpilledText, AnInterruptKeepsWhatAnotherWriterAppended) {
  testing::TempDir dir{"mt-print-text-"};
  const std::string text = Text();
  SpilledBlobs blobs(size_t{1} << 16);
  blobs.Append(text);
  const std::string path = dir.path() + "/shared.log";
  std::ofstream(path, std::ios::binary) << "held before\n";
  std::FILE* f = std::fopen(path.c_str(), "a");
  ASSERT_NE(f, nullptr);
  int asked = 0;
  const Status st = PrintSpilledText(blobs, f, [&] {
    if (++asked == 2) std::ofstream(path, std::ios::binary | std::ios::app) << "another writer\n";
    return asked > 2;
  });
  std::fclose(f);
  EXPECT_EQ(st.code(), Status::Code::kCancelled) << st.ToString();
  const std::string left = ReadAll(path);
  ASSERT_GE(left.size(), 12u + 15u);
  EXPECT_EQ(left.substr(0, 12), "held before\n");
  EXPECT_NE(left.find("another writer\n"), std::string::npos);
}

}  // namespace
}  // namespace mt::cli
