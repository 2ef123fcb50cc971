#include "core/utf8.h"

#include <algorithm>
#include <cstdio>

#include "core/redact.h"

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

bool IsUnsafeCodePoint(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

uint32_t DecodeUtf8(const char* p, size_t len) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  if (len == 1) return u[0];
  uint32_t cp = u[0] & (0x7F >> len);
  for (size_t k = 1; k < len; k++) cp = cp << 6 | (u[k] & 0x3F);
  return cp;
}

namespace {

// Appends the escape of unsafe code point `cp` (see EscapeOutsideText).
void AppendEscape(uint32_t cp, std::string* out) {
  char buf[8];
  switch (cp) {
    case '\n': *out += "\\n"; return;
    case '\r': *out += "\\r"; return;
    case '\t': *out += "\\t"; return;
    default: break;
  }
  if (cp <= 0x7F) {
    std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
  } else {
    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
  }
  *out += buf;
}

// Escapes `text` into `out` until `out` would pass `max_bytes`; returns the
// bytes of `text` consumed. `in_line`: a tab and "\n  " stay as they are.
size_t Escape(std::string_view text, size_t max_bytes, bool in_line, std::string* out) {
  const auto* u = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  std::string piece;
  while (i < n) {
    const unsigned char c = u[i];
    size_t len = 1;
    piece.clear();
    if (c >= 0x20 && c < 0x7F) {
      piece += static_cast<char>(c);
    } else if (in_line && (c == '\t' || (c == '\n' && i + 2 < n && u[i + 1] == ' ' && u[i + 2] == ' '))) {
      piece += static_cast<char>(c);
    } else if (c < 0x80) {
      AppendEscape(c, &piece);
    } else {
      len = SequenceLength(u + i, n - i);
      if (len == 0) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
        piece += buf;
        len = 1;
      } else {
        const uint32_t cp = DecodeUtf8(text.data() + i, len);
        if (IsUnsafeCodePoint(cp)) {
          AppendEscape(cp, &piece);
        } else {
          piece.append(text.data() + i, len);
        }
      }
    }
    if (out->size() + piece.size() > max_bytes) break;
    *out += piece;
    i += len;
  }
  return i;
}

bool AllPrintableAscii(std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F) return false;
  }
  return true;
}

}  // namespace

std::string EscapeOutsideText(std::string_view raw, size_t max_bytes, size_t whole_bytes) {
  // Redacted before the cut, which could leave part of a secret that no
  // later RedactSecrets recognises.
  const std::string text = RedactSecrets(raw);
  const bool cut = whole_bytes > raw.size();  // the caller kept only the start
  if (!cut && text.size() <= max_bytes && AllPrintableAscii(text)) return text;
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 32);
  const size_t used = Escape(text, max_bytes, false, &out);
  if (used < text.size() || cut) {
    out += "\xE2\x80\xA6 (" + std::to_string(cut ? whole_bytes : text.size()) + " bytes in all)";
  }
  return out;
}

std::string EscapeControlChars(std::string_view text) {
  if (AllPrintableAscii(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 16);
  Escape(text, static_cast<size_t>(-1), true, &out);
  return out;
}

}  // namespace mt
