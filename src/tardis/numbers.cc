#include "tardis/numbers.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <string>

namespace mt::tardis {

bool ParseDoubleSlow(const char* p, const char* end, double* out) {
  const size_t n = static_cast<size_t>(end - p);
  if (n == 0 || n > 400) return false;
  // Only decimal syntax: digits, sign, point, exponent. strtod alone would
  // also take "inf", "nan", hex floats and leading spaces.
  for (const char* c = p; c < end; c++) {
    const char ch = *c;
    if (!((ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '.' || ch == 'e' ||
          ch == 'E')) {
      return false;
    }
  }
  // std::from_chars gives the correctly rounded double as strtod does, in
  // a fraction of its time (no locale, no copy). It takes no leading '+'
  // (skipped here) and gives no value out of range, where strtod keeps an
  // underflow's zero or denormal: those values still come from strtod.
  const char* s = p;
  if (*s == '+' && n > 1 && s[1] != '+' && s[1] != '-') s++;
  double v = 0;
  const std::from_chars_result r = std::from_chars(s, end, v, std::chars_format::general);
  if (r.ec == std::errc() && r.ptr == end) {
    *out = v;
    return true;
  }
  if (r.ec != std::errc::result_out_of_range) return false;
  char buf[408];
  std::memcpy(buf, p, n);
  buf[n] = '\0';
  char* stop = nullptr;
  errno = 0;
  v = std::strtod(buf, &stop);
  if (stop != buf + n) return false;
  if (errno == ERANGE && std::isinf(v)) return false;
  *out = v;
  return true;
}

}  // namespace mt::tardis
