#include "tardis/numbers.h"

#include <cerrno>
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
  char buf[408];
  std::memcpy(buf, p, n);
  buf[n] = '\0';
  char* stop = nullptr;
  errno = 0;
  const double v = std::strtod(buf, &stop);
  if (stop != buf + n) return false;
  if (errno == ERANGE && std::isinf(v)) return false;
  *out = v;
  return true;
}

}  // namespace mt::tardis
