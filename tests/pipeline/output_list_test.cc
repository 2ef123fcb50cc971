// OutputList: the objects of a converted file, listed in bounded memory.
#include "pipeline/output_list.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace mt::pipeline {
namespace {

size_t OpenDescriptors() {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) n += e.exists() ? 1 : 0;
  return n;
}

OutputFile Entry(int i) {
  OutputFile o;
  o.name = "/store/raw_tick_data/by_date/day-2024-03-01/data_type-trades/DERIBIT:OPTION:BTC-240329-" +
           std::to_string(20000 + i) + "-CALL.parquet";
  o.instrument_key = "DERIBIT:OPTION:BTC-240329-" + std::to_string(20000 + i) + "-CALL";
  o.rows = static_cast<uint64_t>(i) * 3 + 1;
  o.bytes = 1000 + static_cast<uint64_t>(i);
  o.min_local_ts = -5 - i;  // negative values survive too
  o.max_local_ts = 1709251200000000LL + i;
  o.first_local_ts = 1709251200000001LL + i;
  o.last_local_ts = 1709337599999999LL - i;
  if (i % 1000 == 7) {
    o.unkeyed = true;
    o.instrument_key.clear();
    o.symbol = "BTC-FS-" + std::to_string(i) + std::string("\0\n\xff", 3);
    o.note = "no key rule for '" + o.symbol + "'";
  }
  return o;
}

void ExpectSame(const OutputFile& a, const OutputFile& b, int i) {
  EXPECT_EQ(a.name, b.name) << i;
  EXPECT_EQ(a.instrument_key, b.instrument_key) << i;
  EXPECT_EQ(a.rows, b.rows) << i;
  EXPECT_EQ(a.bytes, b.bytes) << i;
  EXPECT_EQ(a.min_local_ts, b.min_local_ts) << i;
  EXPECT_EQ(a.max_local_ts, b.max_local_ts) << i;
  EXPECT_EQ(a.first_local_ts, b.first_local_ts) << i;
  EXPECT_EQ(a.last_local_ts, b.last_local_ts) << i;
  EXPECT_EQ(a.unkeyed, b.unkeyed) << i;
  EXPECT_EQ(a.symbol, b.symbol) << i;
  EXPECT_EQ(a.note, b.note) << i;
}

// More entries than fit in memory: the list moves them to a temporary file
// (one descriptor more, opened once), and every entry reads back in order,
// through two iterations at once, after a move, and appended to another list.
TEST(OutputList, EntriesBeyondItsMemoryGoToAFileAndReadBackInOrder) {
  constexpr int kEntries = 60000;  // about 9 MB serialized: twice past kMemoryBytes
  const size_t before = OpenDescriptors();
  OutputList list;
  for (int i = 0; i < kEntries; i++) {
    ASSERT_TRUE(list.Add(Entry(i)).ok());
    if (i == 100) {
      EXPECT_EQ(OpenDescriptors(), before);  // still in memory
    }
  }
  EXPECT_EQ(OpenDescriptors(), before + 1);
  ASSERT_EQ(list.size(), static_cast<size_t>(kEntries));

  OutputList moved = std::move(list);
  EXPECT_EQ(list.size(), 0u);
  EXPECT_TRUE(list.begin() == list.end());
  int i = 0, j = 0;
  auto other = moved.begin();
  for (const OutputFile& o : moved) {
    ExpectSame(o, Entry(i), i);
    ASSERT_TRUE(other != moved.end());
    ExpectSame(*other, Entry(j), j);
    if (i % 2 == 0) {  // the second iteration runs behind, at half the pace
      ++other;
      j++;
    }
    i++;
  }
  EXPECT_EQ(i, kEntries);
  EXPECT_EQ(j, kEntries / 2);
  EXPECT_TRUE(moved.read_status().ok());

  OutputList all;
  ASSERT_TRUE(all.Add(Entry(-1)).ok());
  ASSERT_TRUE(all.AddAll(moved).ok());
  auto v = all.ToVector();
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->size(), static_cast<size_t>(kEntries) + 1);
  ExpectSame((*v)[0], Entry(-1), -1);
  ExpectSame((*v)[kEntries], Entry(kEntries - 1), kEntries - 1);
  all = OutputList();
  moved = OutputList();
  EXPECT_EQ(OpenDescriptors(), before);  // the files went with their lists
}

// A read of the temporary file that fails (its descriptor made write-only
// here, as an I/O error would) ends the iteration early and says so in
// read_status(); ToVector() and AddAll() return that error rather than a
// shorter list.
TEST(OutputList, AFailedReadEndsTheIterationAndIsReported) {
  OutputList list;
  constexpr int kEntries = 40000;  // past kMemoryBytes: the first ones go to the file
  for (int i = 0; i < kEntries; i++) ASSERT_TRUE(list.Add(Entry(i)).ok());
  int fd = -1;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const std::string target = std::filesystem::read_symlink(e.path(), ec).string();
    if (target.find("(deleted)") != std::string::npos) {
      fd = std::stoi(e.path().filename().string());  // the unnamed temporary file
    }
  }
  ASSERT_GE(fd, 0);
  const int wronly = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(wronly, 0);
  ASSERT_EQ(::dup2(wronly, fd), fd);
  ::close(wronly);
  size_t seen = 0;
  for (const OutputFile& o : list) {
    (void)o;
    seen++;
  }
  EXPECT_LT(seen, static_cast<size_t>(kEntries));
  EXPECT_FALSE(list.read_status().ok());
  EXPECT_NE(list.read_status().message().find("cannot read the temporary list of objects"), std::string::npos)
      << list.read_status().message();
  EXPECT_FALSE(list.ToVector().ok());
  OutputList other;
  EXPECT_FALSE(other.AddAll(list).ok());
}

// Entries bigger than the iterator's read buffer (64 KB), in the file and
// in memory, between small ones: each reads back whole.
TEST(OutputList, EntriesBiggerThanTheReadBufferReadBackWhole) {
  const size_t before = OpenDescriptors();
  OutputList list;
  std::vector<OutputFile> added;
  for (int i = 0; i < 120; i++) {
    OutputFile o = Entry(i);
    if (i % 3 == 1) o.note = std::string(60000 + 1000 * static_cast<size_t>(i), static_cast<char>('a' + i % 26));
    ASSERT_TRUE(list.Add(o).ok());
    added.push_back(o);
  }
  // 40 entries of 61-178 KB: some 4.8 MB, so the first ones are in the file.
  EXPECT_EQ(OpenDescriptors(), before + 1);
  size_t i = 0;
  for (const OutputFile& o : list) {
    ASSERT_LT(i, added.size());
    ExpectSame(o, added[i], static_cast<int>(i));
    i++;
  }
  EXPECT_EQ(i, added.size());
  EXPECT_TRUE(list.read_status().ok());
}

TEST(OutputList, AnEmptyListHasNoEntries) {
  OutputList list;
  EXPECT_TRUE(list.empty());
  EXPECT_TRUE(list.begin() == list.end());
  auto v = list.ToVector();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->empty());
}

}  // namespace
}  // namespace mt::pipeline
