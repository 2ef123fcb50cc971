// The gcs tool's URL patterns (? * **), the listing prefix they need, the
// URL parser, and which object names may become local paths.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "core/crc32c.h"

#include "storage/gcs_copy.h"
#include "storage/gcs_tool.h"
#include "storage/gcs_wildcard.h"
#include "support/memory_store_double.h"

namespace mt::storage {
namespace {

TEST(GcsWildcard, MatchesLikeGsutil) {
  struct Case {
    const char* pattern;
    const char* name;
    bool match;
  };
  const Case cases[] = {
      {"a/b.parquet", "a/b.parquet", true},
      {"a/b.parquet", "a/b.parquetx", false},
      {"a/*.parquet", "a/b.parquet", true},
      {"a/*.parquet", "a/.parquet", true},  // '*' may match nothing
      {"a/*.parquet", "a/x/b.parquet", false},  // ... but never a '/'
      {"a/**.parquet", "a/x/y/b.parquet", true},
      {"a/**", "a/", true},
      {"a/**", "b/x", false},
      {"**", "anything/at/all", true},
      {"a/?.bin", "a/1.bin", true},
      {"a/?.bin", "a/12.bin", false},
      {"a?b", "a/b", false},  // '?' is not '/'
      {"*", "", true},
      {"day-*/trades/*", "day-2024-01-01/trades/BTC.parquet", true},
      {"day-*/trades/*", "day-2024-01-01/quotes/BTC.parquet", false},
      {"*:*", "BINANCE:PERPETUAL", true},
      {"[ab]", "[ab]", true},  // brackets are plain characters
      {"[ab]", "a", false},
      {"***", "x/y", true},  // runs of stars are '**'
  };
  for (const auto& c : cases) {
    EXPECT_EQ(WildcardMatch(c.pattern, c.name), c.match) << c.pattern << " vs " << c.name;
  }
  // Many stars stay linear: this would take ages with plain backtracking.
  const std::string name(2000, 'a');
  EXPECT_FALSE(WildcardMatch("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", name));
  EXPECT_TRUE(WildcardMatch("**a**a**a**a**a**a**a**a**a**a", name));
}

TEST(GcsWildcard, LiteralPrefixAndDetection) {
  EXPECT_EQ(LiteralPrefix("raw/day-*/x"), "raw/day-");
  EXPECT_EQ(LiteralPrefix("raw/?"), "raw/");
  EXPECT_EQ(LiteralPrefix("**"), "");
  EXPECT_EQ(LiteralPrefix("plain"), "plain");
  EXPECT_TRUE(HasWildcard("a*"));
  EXPECT_TRUE(HasWildcard("a?"));
  EXPECT_FALSE(HasWildcard("a[b]"));
}

TEST(GcsWildcard, ParsesUrlsKeepingTheObjectPartVerbatim) {
  auto u = ParseGcsUrl("gs://bkt/a/b/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->bucket, "bkt");
  EXPECT_EQ(u->object, "a/b/");
  EXPECT_EQ(u->Text(), "gs://bkt/a/b/");
  auto root = ParseGcsUrl("gs://bkt");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->object, "");
  EXPECT_EQ(root->Text(), "gs://bkt");
  for (const char* bad : {"s3://bkt/a", "gs://", "gs://Bkt/a", "gs://b*t/a", "/local/path"}) {
    auto r = ParseGcsUrl(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kUsage) << bad;
  }
}

TEST(GcsWildcard, OnlySafeRelativeNamesBecomeLocalPaths) {
  for (const char* ok : {"a", "a/b.parquet", "with space/x:y", "..a/b..", ".hidden"}) {
    EXPECT_TRUE(SafeRelativePath(ok)) << ok;
  }
  for (const std::string& bad : {std::string(""), std::string("/abs"), std::string("a//b"), std::string("a/../b"),
                                std::string(".."), std::string("./a"), std::string("a/."), std::string("a/"),
                                std::string("a\0b", 3)}) {
    EXPECT_FALSE(SafeRelativePath(bad)) << bad;
  }
}

// The one loop gcs cp and gcs put stream a file through: every byte in
// order (more than one 1 MiB piece), the CRC32C of what was read, and a set
// cancel flag stops it before anything is appended.
TEST(GcsCopy, StreamFileToAppendsEveryByteWithItsCrc32c) {
  std::string data(2 * 1024 * 1024 + 12345, '\0');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>((i * 131) ^ (i >> 9));
  FILE* in = std::tmpfile();
  ASSERT_NE(in, nullptr);
  ASSERT_EQ(std::fwrite(data.data(), 1, data.size(), in), data.size());
  std::rewind(in);
  mt::testing::MemoryStoreDouble store;
  auto obj = store.Create("a/b.bin", true);
  ASSERT_TRUE(obj.ok());
  std::atomic<bool> cancel{false};
  uint32_t crc = 0;
  ASSERT_TRUE(StreamFileTo(in, "the file", **obj, &cancel, &crc).ok());
  ASSERT_TRUE((*obj)->Commit().ok());
  EXPECT_EQ(crc, Crc32c(data));
  EXPECT_EQ(*store.Read("a/b.bin"), data);

  std::rewind(in);
  cancel = true;
  auto stopped = store.Create("a/c.bin", true);
  ASSERT_TRUE(stopped.ok());
  const Status st = StreamFileTo(in, "the file", **stopped, &cancel, &crc);
  EXPECT_EQ(st.code(), Status::Code::kCancelled);
  EXPECT_EQ((*stopped)->bytes_written(), 0u);
  (*stopped)->Abort();
  EXPECT_FALSE(*store.Exists("a/c.bin"));
  std::fclose(in);
}

TEST(GcsWildcard, HumanBytes) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1024), "1.00 KiB");
  EXPECT_EQ(HumanBytes(3 * 1024 * 1024 + 512 * 1024), "3.50 MiB");
}

}  // namespace
}  // namespace mt::storage
