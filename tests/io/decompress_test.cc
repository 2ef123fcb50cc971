#include "io/decompress.h"

#include <gtest/gtest.h>
#include <zlib.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

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

#if defined(__x86_64__)
// XGETBV with ECX=1 reads XINUSE, the register state components in use:
// bit 2 the upper halves of YMM0-15, bit 6 the upper halves of ZMM0-15.
// False when the processor cannot tell (no XSAVE, or no XGETBV 1).
bool CanReadXinuse() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return false;
  if (!__get_cpuid_count(0xD, 1, &a, &b, &c, &d)) return false;
  return (a & (1u << 2)) != 0;
}

uint64_t Xinuse() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

// The sink (the CSV parser, built for baseline x86-64: legacy SSE) runs
// with no upper vector state in use, whatever the inflating library's
// vector code left: with it, each switch between that code and the C
// library's VEX string functions costs a state transition.
TEST(Decompress, TheSinkRunsWithoutUpperVectorStateInUse) {
  if (!CanReadXinuse()) GTEST_SKIP() << "this processor does not report the vector state in use";
  struct StateSink : ChunkSink {
    Status OnData(const char*, size_t n) override {
      in_use |= Xinuse() & ((1u << 2) | (1u << 6));
      bytes += n;
      calls++;
      return Status::OK();
    }
    uint64_t in_use = 0, bytes = 0, calls = 0;
  } sink;
  const std::string gz = testing::ReadFile(testing::FixturePath("binance-futures_trades_2020-02-22_BTCUSDT.csv.gz"));
  auto d = NewDecompressor("f.gz", &sink);
  ASSERT_TRUE(d->Write(reinterpret_cast<const uint8_t*>(gz.data()), gz.size()).ok());
  ASSERT_TRUE(d->Finish().ok());
  EXPECT_EQ(sink.bytes, 845298u);
  EXPECT_GT(sink.calls, 1u);
  EXPECT_EQ(sink.in_use, 0u);
}
#endif

}  // namespace
}  // namespace mt::io
