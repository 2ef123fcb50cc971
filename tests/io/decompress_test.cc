#include "io/decompress.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "support/fixtures.h"
#include "support/gzip.h"

namespace mt::io {
namespace {

class StringSink : public ChunkSink {
 public:
  Status OnData(const char* d, size_t n) override {
    out.append(d, n);
    return Status::OK();
  }
  std::string out;
};

using testing::Gzip;

Result<std::string> Inflate(const std::string& in, GzipEngine e, size_t chunk = 4096) {
  StringSink sink;
  auto d = NewDecompressor("f.gz", &sink, e);
  for (size_t i = 0; i < in.size(); i += chunk) {
    MT_RETURN_IF_ERROR(d->Write(reinterpret_cast<const uint8_t*>(in.data()) + i,
                                std::min(chunk, in.size() - i)));
  }
  MT_RETURN_IF_ERROR(d->Finish());
  return sink.out;
}

class EngineTest : public ::testing::TestWithParam<GzipEngine> {};

TEST_P(EngineTest, InflatesFixtureLikeZlib) {
  const std::string gz = testing::ReadFile(testing::FixturePath("binance-futures_trades_2020-02-22_BTCUSDT.csv.gz"));
  for (size_t chunk : {1, 1000, 1 << 20}) {
    auto out = Inflate(gz, GetParam(), chunk);
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(out->size(), 845298u);  // zcat | wc -c
    EXPECT_EQ(out->substr(0, 9), "exchange,");
  }
}

TEST_P(EngineTest, ConcatenatedMembersAndEmptyGzip) {
  auto out = Inflate(Gzip("a,b\n") + Gzip("c,d\n"), GetParam());
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, "a,b\nc,d\n");
  auto empty = Inflate(Gzip(""), GetParam());
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST_P(EngineTest, TruncatedGzipIsAnError) {
  const std::string gz = testing::ReadFile(testing::FixturePath("binance-futures_quotes_2020-02-22_BTCUSDT.csv.gz"));
  auto out = Inflate(gz.substr(0, gz.size() / 2), GetParam());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("truncated gzip"), std::string::npos) << out.status().message();
  // Cut inside the 8-byte trailer: the data is all there but unverified.
  auto out2 = Inflate(gz.substr(0, gz.size() - 3), GetParam());
  ASSERT_FALSE(out2.ok());
}

TEST_P(EngineTest, CorruptGzipIsAnError) {
  std::string gz = testing::ReadFile(testing::FixturePath("binance-futures_quotes_2020-02-22_BTCUSDT.csv.gz"));
  for (size_t i = gz.size() / 2; i < gz.size() / 2 + 64; i++) gz[i] = static_cast<char>(gz[i] ^ 0x5A);
  auto out = Inflate(gz, GetParam());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("corrupt gzip"), std::string::npos) << out.status().message();
}

TEST_P(EngineTest, TrailingGarbageIsAnError) {
  auto out = Inflate(Gzip("a\n") + "xyz", GetParam());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("after the end of the gzip stream"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineTest, ::testing::Values(GzipEngine::kAuto, GzipEngine::kZlib));

TEST(Decompress, PlainTextPassesThrough) {
  auto out = Inflate("exchange,symbol\n", GzipEngine::kAuto, 1);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "exchange,symbol\n");
}

TEST(Decompress, IsalIsBuiltIn) { EXPECT_TRUE(HaveIsal()); }

}  // namespace
}  // namespace mt::io
