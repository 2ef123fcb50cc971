// The production decoders against our encoders (round trips over the edge
// cases of encoders_test.cc) and against hostile input (cut short, impossible
// headers): every case returns a value or an error, never reads past the end.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>

#include "parquet/decoders/decoders.h"
#include "parquet/encoders/byte_stream_split.h"
#include "parquet/encoders/delta_binary_packed.h"
#include "parquet/encoders/delta_byte_array.h"
#include "parquet/encoders/plain.h"
#include "parquet/encoders/rle_hybrid.h"

namespace mt::parquet {
namespace {

const size_t kSizes[] = {0, 1, 7, 8, 9, 31, 32, 33, 127, 128, 129, 1000, 4097};

TEST(DecodeDeltaBinaryPacked, RoundTripsEdgeCases) {
  std::mt19937_64 rng(1);
  for (size_t n : kSizes) {
    for (int pattern = 0; pattern < 4; pattern++) {
      std::vector<int64_t> v(n);
      int64_t t = 1582329602111000;
      for (size_t i = 0; i < n; i++) {
        if (pattern == 0) v[i] = static_cast<int64_t>(rng());
        if (pattern == 1) v[i] = 7;
        if (pattern == 2) v[i] = i % 2 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
        if (pattern == 3) v[i] = t += static_cast<int64_t>(rng() % 5000);
      }
      std::string buf;
      EncodeDeltaBinaryPacked(v.data(), n, &buf);
      ByteCursor in(buf);
      std::vector<int64_t> got;
      ASSERT_TRUE(DecodeDeltaBinaryPacked(&in, n, &got).ok());
      EXPECT_EQ(got, v) << "n=" << n << " pattern=" << pattern;
      EXPECT_EQ(in.remaining(), 0u);
      // Every prefix of the encoding is an error, or (cut inside the last
      // miniblock's padding) the same values; never a crash.
      for (size_t cut = 0; cut < buf.size(); cut += 1 + buf.size() / 50) {
        ByteCursor c(reinterpret_cast<const uint8_t*>(buf.data()), cut);
        std::vector<int64_t> g;
        const Status st = DecodeDeltaBinaryPacked(&c, n, &g);
        if (st.ok()) {
          EXPECT_EQ(g, v) << "cut=" << cut << " n=" << n;
        }
      }
    }
  }
}

TEST(DecodeDeltaBinaryPacked, RejectsMoreValuesThanThePageHolds) {
  std::vector<int64_t> v(100, 5);
  std::string buf;
  EncodeDeltaBinaryPacked(v.data(), v.size(), &buf);
  ByteCursor in(buf);
  std::vector<int64_t> got;
  EXPECT_FALSE(DecodeDeltaBinaryPacked(&in, 99, &got).ok());
}

TEST(DecodeRleHybrid, RoundTripsAllWidths) {
  std::mt19937 rng(7);
  for (int width = 0; width <= 32; width++) {
    for (size_t n : kSizes) {
      std::vector<uint32_t> v(n);
      const uint32_t mask = width == 0 ? 0 : (width == 32 ? ~0u : ((1u << width) - 1));
      for (size_t i = 0; i < n; i++) v[i] = ((i / 11) % 2 ? rng() : 3) & mask;
      std::string buf;
      EncodeRleHybrid(v.data(), v.size(), width, &buf);
      ByteCursor in(buf);
      std::vector<uint32_t> got;
      ASSERT_TRUE(DecodeRleHybrid(&in, width, n, &got).ok()) << width << " " << n;
      EXPECT_EQ(got, v) << "width=" << width << " n=" << n;
    }
  }
}

TEST(DecodeRleHybrid, RejectsHostileRuns) {
  std::vector<uint32_t> out;
  const std::string empty_run("\x00", 1), zero_groups("\x01", 1), wide_value("\x10\xFF", 2);
  ByteCursor a(empty_run), b(zero_groups), c(wide_value);
  EXPECT_FALSE(DecodeRleHybrid(&a, 1, 5, &out).ok());
  EXPECT_FALSE(DecodeRleHybrid(&b, 1, 5, &out).ok());
  EXPECT_FALSE(DecodeRleHybrid(&c, 1, 5, &out).ok());  // value 255 in 1 bit
  ByteCursor d(nullptr, 0);
  EXPECT_FALSE(DecodeRleHybrid(&d, 3, 1, &out).ok());
  EXPECT_FALSE(DecodeRleHybrid(&d, 33, 1, &out).ok());
}

TEST(DecodeStrings, PlainAndDeltaRoundTrip) {
  std::vector<std::vector<std::string>> cases = {
      {}, {""}, {"", "", ""}, {"42377944", "42377945", "42377946", "423779", ""},
      {"BINANCE:SPOT_PAIR:BTC-USDT", "BINANCE:SPOT_PAIR:ETH-USDT", std::string(300, 'x')}};
  for (const auto& v : cases) {
    std::string plain, delta;
    for (const auto& s : v) EncodePlainByteArray(s, &plain);
    EncodeDeltaByteArray(v.size(), [&](size_t i) { return std::string_view(v[i]); }, &delta);
    std::vector<std::string> a, b;
    ByteCursor pa(plain), pd(delta);
    ASSERT_TRUE(DecodePlainByteArray(&pa, v.size(), &a).ok());
    ASSERT_TRUE(DecodeDeltaByteArray(&pd, v.size(), &b).ok());
    EXPECT_EQ(a, v);
    EXPECT_EQ(b, v);
    if (!v.empty()) {
      ByteCursor cut(reinterpret_cast<const uint8_t*>(plain.data()), plain.size() - 1);
      std::vector<std::string> c;
      EXPECT_FALSE(DecodePlainByteArray(&cut, v.size(), &c).ok());
    }
  }
}

TEST(DecodeFixed, BooleansDoublesAndByteStreamSplit) {
  std::vector<uint8_t> bools = {1, 0, 0, 1, 1, 1, 0, 1, 1};
  std::string b;
  EncodePlainBool(bools.data(), bools.size(), &b);
  ByteCursor bc(b);
  std::vector<uint8_t> gb;
  ASSERT_TRUE(DecodePlainBool(&bc, bools.size(), &gb).ok());
  EXPECT_EQ(gb, bools);

  std::vector<double> d = {-0.0, 1.5, std::numeric_limits<double>::infinity(), 9682.12, -1e300};
  std::string bss;
  EncodeByteStreamSplit(d.data(), d.size(), &bss);
  ByteCursor sc(bss);
  std::string raw;
  ASSERT_TRUE(DecodeByteStreamSplit(&sc, d.size(), 8, &raw).ok());
  ASSERT_EQ(raw.size(), d.size() * 8);
  EXPECT_EQ(0, std::memcmp(raw.data(), d.data(), raw.size()));
  ByteCursor short_bss(reinterpret_cast<const uint8_t*>(bss.data()), bss.size() - 1);
  EXPECT_FALSE(DecodeByteStreamSplit(&short_bss, d.size(), 8, &raw).ok());
}

}  // namespace
}  // namespace mt::parquet
