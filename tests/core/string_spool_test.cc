#include "core/string_spool.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace mt {
namespace {

std::string Str(size_t i) { return std::string(i % 97, static_cast<char>('a' + i % 26)) + std::to_string(i); }

// Strings past the memory budget go to the temporary file; iterating gives
// every one back in order, those of the file and those still in memory,
// the empty ones and one longer than an iterator's read buffer too.
TEST(StringSpool, EveryStringComesBackInOrderFromTheFileAndFromMemory) {
  StringSpool spool(4096);
  std::vector<std::string> want;
  for (size_t i = 0; i < 5000; i++) {
    want.push_back(i % 1000 == 7 ? std::string() : i == 2500 ? std::string(200000, 'z') : Str(i));
    spool.push_back(want.back());
  }
  EXPECT_EQ(spool.size(), want.size());
  EXPECT_GT(spool.spilled(), 0u);
  EXPECT_EQ(spool.note(), "");
  EXPECT_EQ(spool.ToVector(), want);
  // Two iterations at once, each with its own buffer.
  auto a = spool.begin(), b = spool.begin();
  for (size_t i = 0; i < want.size(); i++, ++a) {
    ASSERT_EQ(*a, want[i]);
    if (i % 2 == 0) {
      ASSERT_EQ(*b, want[i / 2]);
      ++b;
    }
  }
  EXPECT_TRUE(a == spool.end());
  EXPECT_TRUE(spool.read_status().ok());
  // A copy is a list of its own; a moved list takes the file.
  StringSpool copy = spool;
  spool.push_back("after");
  EXPECT_EQ(copy.ToVector(), want);
  StringSpool moved = std::move(copy);
  EXPECT_EQ(moved.ToVector(), want);
  want.push_back("after");
  EXPECT_EQ(spool.ToVector(), want);
  spool.clear();
  EXPECT_TRUE(spool.empty());
  EXPECT_EQ(spool.spilled(), 0u);
  spool = {"x", "y"};
  EXPECT_EQ(spool.ToVector(), (std::vector<std::string>{"x", "y"}));
}

// Within the budget no file is made.
TEST(StringSpool, AListWithinItsBudgetStaysInMemory) {
  StringSpool spool;
  for (size_t i = 0; i < 1000; i++) spool.push_back(Str(i));
  EXPECT_EQ(spool.spilled(), 0u);
  EXPECT_EQ(spool.ToVector().size(), 1000u);
}

// Without a temporary file (TMPDIR missing) the strings stay in memory, and
// the note says why.
TEST(StringSpool, WithoutATemporaryFileTheStringsStayInMemoryAndSayWhy) {
  testing::ScopedTmpdir tmpdir("/nonexistent-mt-string-spool");
  StringSpool spool(1024);
  std::vector<std::string> want;
  for (size_t i = 0; i < 500; i++) {
    want.push_back(Str(i));
    spool.push_back(want.back());
  }
  EXPECT_EQ(spool.spilled(), 0u);
  EXPECT_EQ(spool.note(),
            "cannot create a temporary file in /nonexistent-mt-string-spool (No such file or directory; set TMPDIR to "
            "a writable directory with room): kept in memory");
  EXPECT_EQ(spool.ToVector(), want);
}

}  // namespace
}  // namespace mt
