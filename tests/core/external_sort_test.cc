// ExternalSorter: records sorted in bounded memory through runs of a
// temporary file, merged; and SpillBytes, bytes read back by offset once
// they are in the temporary file.
#include "core/external_sort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/spill_vector.h"

namespace mt {
namespace {

// Records of varied lengths (empty ones and ones longer than a cursor's
// buffer among them), with repeats, in no order.
std::vector<std::string> Records(size_t n) {
  std::vector<std::string> v;
  for (size_t i = 0; i < n; i++) {
    const size_t k = (i * 7919) % (n / 3 + 1);
    std::string r = "r" + std::to_string(k * 2654435761u % 1000003);
    if (k % 97 == 0) r.clear();
    if (k % 1013 == 5) r += std::string(100000 + k, static_cast<char>('a' + k % 26));
    v.push_back(r);
  }
  return v;
}

TEST(ExternalSorter, PastItsBudgetSortsThroughRunsAsInMemory) {
  const std::vector<std::string> in = Records(60000);
  std::vector<std::string> want = in;
  std::sort(want.begin(), want.end());
  for (size_t budget : {size_t{64} << 10, size_t{1} << 20, size_t{1} << 30}) {
    SCOPED_TRACE(budget);
    ExternalSorter s([](std::string_view a, std::string_view b) { return a < b; }, budget);
    for (const std::string& r : in) s.Add(r);
    s.Finish();
    if (budget < (size_t{1} << 30)) {
      EXPECT_GT(s.runs(), 1u);
    } else {
      EXPECT_EQ(s.runs(), 0u);
    }
    EXPECT_EQ(s.size(), in.size());
    std::vector<std::string> got;
    std::string r;
    while (s.Next(&r)) got.push_back(r);
    EXPECT_TRUE(s.status().ok()) << s.status().ToString();
    EXPECT_TRUE(s.note().empty()) << s.note();
    ASSERT_EQ(got.size(), want.size());
    size_t differ = 0;
    for (size_t i = 0; i < got.size(); i++) differ += got[i] != want[i];
    EXPECT_EQ(differ, 0u);
  }
}

TEST(ExternalSorter, NothingAddedGivesNothing) {
  ExternalSorter s([](std::string_view a, std::string_view b) { return a < b; }, 1);
  std::string r = "x";
  EXPECT_FALSE(s.Next(&r));
  EXPECT_EQ(s.runs(), 0u);
}

TEST(SpillBytes, PiecesReadBackByOffsetInAndPastMemoryAndAfterTruncate) {
  SpillBytes b(4096);
  std::vector<std::pair<uint64_t, std::string>> pieces;
  std::string all;
  for (size_t i = 0; i < 3000; i++) {
    const std::string p = std::string(i % 700, static_cast<char>('A' + i % 50)) + std::to_string(i);
    pieces.emplace_back(b.Append(p), p);
    EXPECT_EQ(pieces.back().first, all.size());
    all += p;
  }
  EXPECT_EQ(b.size(), all.size());
  EXPECT_GT(b.spilled_pages(), 0u);
  size_t wrong = 0;
  for (size_t k = 0; k < pieces.size(); k++) {
    const auto& [at, p] = pieces[(k * 7919) % pieces.size()];
    std::string got = "prefix";
    b.Read(at, p.size(), &got);
    wrong += got != "prefix" + p;
  }
  EXPECT_EQ(wrong, 0u);
  // Cut in the middle of a page: what follows is appended from there.
  const uint64_t cut = pieces[1500].first + 3;
  b.Truncate(cut);
  EXPECT_EQ(b.size(), cut);
  EXPECT_EQ(b.Append("tail"), cut);
  std::string got;
  b.Read(pieces[1499].first, static_cast<size_t>(cut + 4 - pieces[1499].first), &got);
  EXPECT_EQ(got, all.substr(pieces[1499].first, cut - pieces[1499].first) + "tail");
  EXPECT_TRUE(b.status().ok());
}

}  // namespace
}  // namespace mt
