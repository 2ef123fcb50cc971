// Round-trip property tests for every encoder, over the edge cases of
// STYLE.md: 0, 1, 7, 8, 9 values, all equal, int64 extremes, NaN, -0.0,
// empty strings.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "parquet/encoders/byte_stream_split.h"
#include "parquet/encoders/delta_binary_packed.h"
#include "parquet/encoders/delta_byte_array.h"
#include "parquet/encoders/plain.h"
#include "parquet/encoders/rle_hybrid.h"
#include "support/decoders.h"

namespace mt::parquet {
namespace {

using mt::testing::DecodeByteStreamSplit;
using mt::testing::DecodeDeltaBinaryPacked;
using mt::testing::DecodeDeltaByteArray;
using mt::testing::DecodeRleHybrid;

const size_t kSizes[] = {0, 1, 7, 8, 9, 31, 32, 33, 127, 128, 129, 1000, 4097};

std::vector<std::vector<int64_t>> Int64Cases() {
  std::vector<std::vector<int64_t>> cases;
  std::mt19937_64 rng(42);
  for (size_t n : kSizes) {
    std::vector<int64_t> seq(n), eq(n, 1598918403696000), rnd(n), ext(n), ts(n);
    int64_t t = 1582329602111000;
    for (size_t i = 0; i < n; i++) {
      seq[i] = 4180000000 + static_cast<int64_t>(i);
      rnd[i] = static_cast<int64_t>(rng());
      ext[i] = (i % 3 == 0) ? std::numeric_limits<int64_t>::min()
               : (i % 3 == 1) ? std::numeric_limits<int64_t>::max() : 0;
      t += (rng() % 3 == 0) ? 0 : static_cast<int64_t>(rng() % 5000);
      ts[i] = t;
    }
    cases.insert(cases.end(), {seq, eq, rnd, ext, ts});
  }
  return cases;
}

TEST(DeltaBinaryPacked, RoundTripsEdgeCases) {
  for (const auto& v : Int64Cases()) {
    std::string buf;
    EncodeDeltaBinaryPacked(v.data(), v.size(), &buf);
    size_t end = 0;
    const auto got = DecodeDeltaBinaryPacked(buf, 0, &end);
    ASSERT_EQ(got, v) << "n=" << v.size();
    EXPECT_EQ(end, buf.size()) << "trailing bytes for n=" << v.size();
  }
}

TEST(DeltaBinaryPacked, EqualValuesCostAlmostNothing) {
  std::vector<int64_t> v(100000, 1598918403696000);
  std::string buf;
  EncodeDeltaBinaryPacked(v.data(), v.size(), &buf);
  // Per 128-value block: 1 byte min delta + 4 width bytes, no bodies.
  EXPECT_LT(buf.size(), 100000 / 128 * 6 + 32);
}

TEST(RleHybrid, RoundTripsAllWidths) {
  std::mt19937 rng(7);
  for (int width = 0; width <= 20; width++) {
    for (size_t n : kSizes) {
      for (int pattern = 0; pattern < 3; pattern++) {
        std::vector<uint32_t> v(n);
        const uint32_t mask = width == 0 ? 0 : (width == 32 ? ~0u : ((1u << width) - 1));
        for (size_t i = 0; i < n; i++) {
          if (pattern == 0) v[i] = rng() & mask;                   // random
          if (pattern == 1) v[i] = static_cast<uint32_t>(mask);    // all equal
          if (pattern == 2) v[i] = ((i / 11) % 2 ? rng() : 3) & mask;  // runs and noise
        }
        std::string buf;
        EncodeRleHybrid(v.data(), v.size(), width, &buf);
        size_t end = 0;
        ASSERT_EQ(DecodeRleHybrid(buf, 0, n, width, &end), v)
            << "width=" << width << " n=" << n << " pattern=" << pattern;
        EXPECT_EQ(end, buf.size());
      }
    }
  }
}

TEST(RleHybrid, DefinitionLevelsCarryTheirLength) {
  std::vector<uint8_t> def = {1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  std::string buf;
  EncodeDefinitionLevels(def.data(), def.size(), &buf);
  uint32_t len;
  std::memcpy(&len, buf.data(), 4);
  EXPECT_EQ(len, buf.size() - 4);
  const auto got = DecodeRleHybrid(buf, 4, def.size(), 1);
  EXPECT_EQ(std::vector<uint32_t>(def.begin(), def.end()), got);
}

TEST(ByteStreamSplit, RoundTripsSpecialDoubles) {
  for (size_t n : kSizes) {
    std::vector<double> v(n);
    for (size_t i = 0; i < n; i++) {
      switch (i % 6) {
        case 0: v[i] = -0.0; break;
        case 1: v[i] = std::numeric_limits<double>::quiet_NaN(); break;
        case 2: v[i] = 9682.0 + 0.01 * static_cast<double>(i); break;
        case 3: v[i] = std::numeric_limits<double>::infinity(); break;
        case 4: v[i] = std::numeric_limits<double>::denorm_min(); break;
        default: v[i] = -1.7976931348623157e308;
      }
    }
    std::string buf;
    EncodeByteStreamSplit(v.data(), v.size(), &buf);
    ASSERT_EQ(buf.size(), n * 8);
    const auto got = DecodeByteStreamSplit(buf, 0, n);
    if (n > 0) ASSERT_EQ(0, std::memcmp(got.data(), v.data(), n * 8)) << "n=" << n;  // bit-exact
  }
}

TEST(DeltaByteArray, RoundTripsStrings) {
  std::vector<std::vector<std::string>> cases = {
      {},
      {""},
      {"", "", ""},
      {"42377944", "42377945", "42377946", "42377950", "423779", ""},
      {"ccc3c1fa-212c-e8b0-1706-9b9c4f3d5ecf", "b46c84da-6942-b404-ab94-18a9ad497fdd"},
  };
  std::vector<std::string> many;
  for (int i = 0; i < 1000; i++) many.push_back(std::to_string(4180000000LL + i * 7));
  cases.push_back(many);
  for (const auto& v : cases) {
    std::string buf;
    EncodeDeltaByteArray(v.size(), [&](size_t i) { return std::string_view(v[i]); }, &buf);
    EXPECT_EQ(DecodeDeltaByteArray(buf, 0, v.size()), v);
  }
}

TEST(Plain, BooleansPackLsbFirst) {
  std::vector<uint8_t> v = {1, 0, 0, 0, 0, 0, 0, 1, 1};
  std::string buf;
  EncodePlainBool(v.data(), v.size(), &buf);
  ASSERT_EQ(buf.size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>(buf[0]), 0x81);
  EXPECT_EQ(static_cast<uint8_t>(buf[1]), 0x01);
}

TEST(Plain, ByteArraysArePrefixedWithLength) {
  std::string buf;
  EncodePlainByteArray("", &buf);
  EncodePlainByteArray("buy", &buf);
  EXPECT_EQ(buf, std::string("\0\0\0\0\3\0\0\0buy", 11));
}

}  // namespace
}  // namespace mt::parquet
