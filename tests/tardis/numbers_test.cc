#include "tardis/numbers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

namespace mt::tardis {
namespace {

bool D(const std::string& s, double* out) { return ParseDouble(s.data(), s.data() + s.size(), out); }

TEST(ParseDouble, FastPathMatchesStrtodExactly) {
  // The fast path must give the correctly rounded double: compare bit for
  // bit with strtod (the reference path) on many Tardis-shaped numbers.
  std::mt19937_64 rng(1);
  for (int i = 0; i < 200000; i++) {
    const uint64_t mant = rng() % 1000000000000000ULL;
    const int frac = static_cast<int>(rng() % 17);
    std::string s = std::to_string(mant);
    if (frac > 0) {
      if (s.size() <= static_cast<size_t>(frac)) s.insert(0, frac - s.size() + 1, '0');
      s.insert(s.size() - frac, ".");
    }
    if (rng() % 4 == 0) s = "-" + s;
    double got, want = std::strtod(s.c_str(), nullptr);
    ASSERT_TRUE(D(s, &got)) << s;
    ASSERT_EQ(0, std::memcmp(&got, &want, 8)) << s;
  }
}

TEST(ParseDouble, SlowPathForms) {
  double v;
  ASSERT_TRUE(D("1e-7", &v));
  EXPECT_EQ(v, 1e-7);
  ASSERT_TRUE(D("0.0001035718476117", &v));  // 16 significant digits
  EXPECT_EQ(v, 0.0001035718476117);
  ASSERT_TRUE(D("-0", &v));
  EXPECT_TRUE(std::signbit(v) && v == 0.0);
  ASSERT_TRUE(D("123456789012345678901234567890", &v));
  EXPECT_EQ(v, 1.2345678901234568e29);
}

TEST(ParseDouble, LongAndExponentFormsMatchStrtodExactly) {
  // Forms past the fast path: 16 and 17 significant digits (JavaScript's
  // shortest round trip of sums such as 4645.400000000001), exponents, a
  // leading '+', values near the ends of the range. Bit for bit as strtod.
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> unit(0, 1);
  char buf[64];
  for (int i = 0; i < 200000; i++) {
    const double x = unit(rng) * std::pow(10.0, static_cast<int>(rng() % 40) - 20);
    const char* fmt = (i % 3 == 0) ? "%.17g" : (i % 3 == 1) ? "%.16g" : "%.15e";
    std::snprintf(buf, sizeof buf, fmt, (rng() & 1) ? -x : x);
    std::string s = buf;
    if (i % 7 == 0 && s[0] != '-') s = "+" + s;
    double got, want = std::strtod(s.c_str(), nullptr);
    ASSERT_TRUE(D(s, &got)) << s;
    ASSERT_EQ(0, std::memcmp(&got, &want, 8)) << s;
  }
  for (const char* s : {"4645.400000000001", "1839.3999999999999", "1.7976931348623157e308", "4.9e-324",
                        "2.2250738585072011e-308", "1e-400", "-1e-400", "1.", ".5", "1E+5", "+0.25",
                        "9007199254740993", "0.30000000000000004"}) {
    double got, want = std::strtod(s, nullptr);
    ASSERT_TRUE(D(s, &got)) << s;
    EXPECT_EQ(0, std::memcmp(&got, &want, 8)) << s;
  }
}

TEST(ParseDouble, RejectsNonNumbers) {
  double v;
  for (const char* s : {"", "-", ".", "12x.5", "1,5", "nan", "inf", "Infinity", "0x10", " 1", "1 ",
                        "1e", "--1", "1.2.3", "1e999", "-1e999", "+", "+-1", "-+1", "1e+", "1e5.5"}) {
    EXPECT_FALSE(D(s, &v)) << s;
  }
}

TEST(ParseInt64, Bounds) {
  int64_t v;
  auto I = [&](const std::string& s) { return ParseInt64(s.data(), s.data() + s.size(), &v); };
  ASSERT_TRUE(I("1582329602111000"));
  EXPECT_EQ(v, 1582329602111000);
  ASSERT_TRUE(I("9223372036854775807"));
  EXPECT_EQ(v, INT64_MAX);
  ASSERT_TRUE(I("-9223372036854775808"));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_FALSE(I("9223372036854775808"));
  EXPECT_FALSE(I("99999999999999999999"));
  EXPECT_FALSE(I(""));
  EXPECT_FALSE(I("-"));
  EXPECT_FALSE(I("12a"));
  EXPECT_FALSE(I("1.5"));
}

}  // namespace
}  // namespace mt::tardis
