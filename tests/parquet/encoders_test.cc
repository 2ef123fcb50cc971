// Round-trip property tests for every encoder, over these edge cases:
// 0, 1, 7, 8, 9 values, all equal, int64 extremes, NaN, -0.0,
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

// Every bit width 0..64 of the packed deltas: each miniblock gets deltas
// whose range needs exactly `width` bits (the fixed-width packers).
TEST(DeltaBinaryPacked, RoundTripsEveryWidth) {
  std::mt19937_64 rng(11);
  for (int width = 0; width <= 64; width++) {
    for (size_t n : {size_t{1}, size_t{2}, size_t{33}, size_t{129}, size_t{300}}) {
      std::vector<int64_t> v(n);
      uint64_t x = rng();
      for (size_t i = 0; i < n; i++) {
        v[i] = static_cast<int64_t>(x);
        uint64_t d = width == 0 ? 0 : (width == 64 ? rng() : rng() & ((1ULL << width) - 1));
        if (i % 32 == 5 && width > 0) d |= 1ULL << (width - 1);  // top bit set in every miniblock
        if (i % 32 == 6) d = 0;                                   // and the minimum
        x += d;
      }
      std::string buf;
      EncodeDeltaBinaryPacked(v.data(), v.size(), &buf);
      size_t end = 0;
      ASSERT_EQ(DecodeDeltaBinaryPacked(buf, 0, &end), v) << "width=" << width << " n=" << n;
      EXPECT_EQ(end, buf.size());
    }
  }
}

// The overload with statistics writes the same bytes and the true min/max.
TEST(DeltaBinaryPacked, StatisticsOverloadMatches) {
  for (const auto& v : Int64Cases()) {
    if (v.empty()) continue;
    std::string a, b;
    EncodeDeltaBinaryPacked(v.data(), v.size(), &a);
    int64_t mn = 0, mx = 0;
    EncodeDeltaBinaryPacked(v.data(), v.size(), &b, &mn, &mx);
    EXPECT_EQ(a, b) << "n=" << v.size();
    EXPECT_EQ(mn, *std::min_element(v.begin(), v.end())) << "n=" << v.size();
    EXPECT_EQ(mx, *std::max_element(v.begin(), v.end())) << "n=" << v.size();
  }
}

// 32-bit input (DELTA_BYTE_ARRAY lengths) writes the bytes of the values
// widened to 64 bits, and decodes back to them, INT32 extremes included.
TEST(DeltaBinaryPacked, Int32InputMatchesWidened) {
  std::vector<std::vector<int32_t>> cases = {
      {},
      {7},
      {0, 0, 0},
      {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(),
       std::numeric_limits<int32_t>::min(), 0, -1, 1}};
  std::vector<int32_t> lengths;  // id-like: 8, then 1-3 byte suffixes, some resets
  for (int i = 0; i < 1000; i++) lengths.push_back(i % 97 == 0 ? 10 : 1 + (i * 7) % 3);
  cases.push_back(lengths);
  for (const auto& v32 : cases) {
    const std::vector<int64_t> v64(v32.begin(), v32.end());
    std::string a, b;
    EncodeDeltaBinaryPacked(v32.data(), v32.size(), &a);
    EncodeDeltaBinaryPacked(v64.data(), v64.size(), &b);
    EXPECT_EQ(a, b) << "n=" << v32.size();
    size_t end = 0;
    EXPECT_EQ(DecodeDeltaBinaryPacked(a, 0, &end), v64) << "n=" << v32.size();
    EXPECT_EQ(end, a.size());
  }
}

// Appends after existing bytes (pages put levels first).
TEST(DeltaBinaryPacked, AppendsToExistingBytes) {
  std::vector<int64_t> v = {5, 7, 7, 100, -3, std::numeric_limits<int64_t>::max()};
  std::string buf = "xyz";
  EncodeDeltaBinaryPacked(v.data(), v.size(), &buf);
  ASSERT_EQ(buf.substr(0, 3), "xyz");
  size_t end = 0;
  EXPECT_EQ(DecodeDeltaBinaryPacked(buf, 3, &end), v);
  EXPECT_EQ(end, buf.size());
}

TEST(RleHybrid, RoundTripsAllWidths) {
  std::mt19937 rng(7);
  for (int width = 0; width <= 32; width++) {
    for (size_t n : kSizes) {
      for (int pattern = 0; pattern < 3; pattern++) {
        std::vector<uint32_t> v(n);
        const uint32_t mask = width == 0 ? 0 : (width == 32 ? ~0u : ((1u << width) - 1));
        for (size_t i = 0; i < n; i++) {
          if (pattern == 0) v[i] = rng() & mask;                   // random
          if (pattern == 1) v[i] = static_cast<uint32_t>(mask);    // all equal
          if (pattern == 2) v[i] = ((i / 11) % 2 ? rng() : 3) & mask;  // runs and noise
          if (pattern == 0 && i % 16 == 3) v[i] = mask;                // extremes
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

// Byte levels: runs of every length 0..40 around the 8-byte steps of the run
// scan, ending in a different value at every offset.
TEST(RleHybrid, ByteRunsOfEveryLength) {
  for (size_t lead = 0; lead < 10; lead++) {
    for (size_t run = 0; run <= 40; run++) {
      for (int tail = 0; tail < 3; tail++) {
        std::vector<uint8_t> v;
        for (size_t i = 0; i < lead; i++) v.push_back(i % 2);
        v.insert(v.end(), run, 1);
        if (tail == 1) v.push_back(0);
        if (tail == 2) v.insert(v.end(), {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1});
        std::string buf;
        EncodeRleHybrid(v.data(), v.size(), 1, &buf);
        size_t end = 0;
        ASSERT_EQ(DecodeRleHybrid(buf, 0, v.size(), 1, &end), std::vector<uint32_t>(v.begin(), v.end()))
            << "lead=" << lead << " run=" << run << " tail=" << tail;
        EXPECT_EQ(end, buf.size());
      }
    }
  }
  std::vector<uint8_t> ones(1000003, 1);  // a column without nulls: one run
  std::string buf;
  EncodeRleHybrid(ones.data(), ones.size(), 1, &buf);
  EXPECT_EQ(buf.size(), 4u);  // ULEB128 of the run length << 1 (3 bytes) + the value
  EXPECT_EQ(DecodeRleHybrid(buf, 0, ones.size(), 1), std::vector<uint32_t>(ones.size(), 1));
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
    if (n > 0) {
      ASSERT_EQ(0, std::memcmp(got.data(), v.data(), n * 8)) << "n=" << n;  // bit-exact
    }
  }
}

// Every bit pattern lands in its stream, across the eight-value blocks
// and the values after the last whole block.
TEST(ByteStreamSplit, RoundTripsArbitraryBits) {
  uint64_t x = 88172645463325252ULL;
  for (size_t n : kSizes) {
    std::vector<double> v(n);
    for (double& d : v) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      std::memcpy(&d, &x, 8);
    }
    std::string buf = "head";  // appended after what *out holds
    EncodeByteStreamSplit(v.data(), v.size(), &buf);
    ASSERT_EQ(buf.size(), 4 + n * 8);
    for (size_t i = 0; i < n; i++) {
      unsigned char b[8];
      std::memcpy(b, &v[i], 8);
      for (size_t k = 0; k < 8; k++) {
        ASSERT_EQ(static_cast<unsigned char>(buf[4 + k * n + i]), b[k]) << "n=" << n << " value " << i << " byte " << k;
      }
    }
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
  // Shared prefixes of every length around the 8-byte compare steps.
  std::vector<std::string> prefixes;
  const std::string base = "0123456789abcdefghijklmnopqrstuvwxyz";
  for (size_t p = 0; p <= 30; p++) {
    prefixes.push_back(base.substr(0, p) + "X" + base.substr(p));
    prefixes.push_back(base.substr(0, p));
    prefixes.push_back(base.substr(0, p) + std::string(1, '\xff'));
    prefixes.push_back(base);
  }
  cases.push_back(prefixes);
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
