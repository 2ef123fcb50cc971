// The gcs tool's URL patterns (? * **), the listing prefix they need, the
// URL parser, and which object names may become local paths.
#include <gtest/gtest.h>

#include <string>

#include "storage/gcs_copy.h"
#include "storage/gcs_tool.h"
#include "storage/gcs_wildcard.h"

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

TEST(GcsWildcard, HumanBytes) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1024), "1.00 KiB");
  EXPECT_EQ(HumanBytes(3 * 1024 * 1024 + 512 * 1024), "3.50 MiB");
}

}  // namespace
}  // namespace mt::storage
