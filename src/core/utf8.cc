#include "core/utf8.h"

namespace mt {

namespace {

// The length of the well-formed sequence at p[0..n), or 0 when it is not one.
size_t SequenceLength(const unsigned char* p, size_t n) {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // a continuation byte, C0, C1 or F5..FF
  }
  if (n < len || p[1] < lo || p[1] > hi) return 0;
  for (size_t k = 2; k < len; k++) {
    if (p[k] < 0x80 || p[k] > 0xBF) return 0;
  }
  return len;
}

}  // namespace

size_t Utf8SequenceLength(const char* p, size_t n) {
  return SequenceLength(reinterpret_cast<const unsigned char*>(p), n);
}

size_t Utf8InvalidOffset(const char* p, size_t n) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  size_t i = 0;
  while (i < n) {
    if (u[i] < 0x80) {
      i++;
      continue;
    }
    const size_t len = SequenceLength(u + i, n - i);
    if (len == 0) return i;
    i += len;
  }
  return n;
}

std::string Utf8Printable(std::string_view s, char replacement) {
  std::string out;
  out.reserve(s.size());
  const auto* u = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = u[i];
    if (c < 0x80) {
      out += c < 0x20 || c == 0x7F ? replacement : static_cast<char>(c);
      i++;
      continue;
    }
    const size_t len = SequenceLength(u + i, s.size() - i);
    if (len == 0) {
      out += replacement;
      i++;
    } else {
      out.append(s.data() + i, len);
      i += len;
    }
  }
  return out;
}

}  // namespace mt
