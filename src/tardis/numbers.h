// Number parsing for Tardis CSV fields. Tardis writes numbers in shortest
// decimal form ("8531.5", "0.00000459"); those take a fast exact path, and
// anything else (exponents, more than 15 significant digits, as in
// "4645.400000000001") an exact general one.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace mt::tardis {

// Parses an int64 in [p, end). Returns false on any non-digit, empty input or
// overflow.
inline bool ParseInt64(const char* p, const char* end, int64_t* out) {
  bool neg = false;
  if (p < end && *p == '-') {
    neg = true;
    p++;
  }
  if (p == end || end - p > 19) return false;  // 19 digits fit in uint64; more never fit int64
  uint64_t v = 0;
  for (; p < end; p++) {
    const unsigned d = static_cast<unsigned>(*p - '0');
    if (d > 9) return false;
    v = v * 10 + d;
  }
  if (neg) {
    if (v > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    *out = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(v);
  }
  return true;
}

// The general path: the correctly rounded double of any decimal text strtod
// accepts (std::from_chars; strtod itself for a leading '+' and values out
// of range). Accepts what JavaScript's number-to-string can produce
// (exponents; "Infinity" is rejected).
bool ParseDoubleSlow(const char* p, const char* end, double* out);

// Parses a double in [p, end). Exact: the result is the correctly rounded
// double of the decimal text.
inline bool ParseDouble(const char* p, const char* end, double* out) {
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const char* s = p;
  bool neg = false;
  if (s < end && *s == '-') {
    neg = true;
    s++;
  }
  uint64_t mant = 0;
  int digits = 0, frac = 0;
  const char* d0 = s;
  while (s < end && static_cast<unsigned>(*s - '0') <= 9) {
    mant = mant * 10 + static_cast<unsigned>(*s - '0');
    digits += (mant != 0);
    s++;
  }
  const bool int_part = s > d0;
  bool frac_part = false;
  if (s < end && *s == '.') {
    s++;
    const char* f0 = s;
    while (s < end && static_cast<unsigned>(*s - '0') <= 9) {
      mant = mant * 10 + static_cast<unsigned>(*s - '0');
      digits += (mant != 0);
      frac++;
      s++;
    }
    frac_part = s > f0;
  }
  // Fast path (Clinger): mantissa and 10^frac are exact doubles, so one
  // IEEE division gives the correctly rounded result.
  if (s == end && (int_part || frac_part) && digits <= 15 && frac <= 22) {
    const double v = static_cast<double>(mant) / kPow10[frac];
    *out = neg ? -v : v;
    return true;
  }
  return ParseDoubleSlow(p, end, out);
}

}  // namespace mt::tardis
