// UTF-8 checks for text that comes from outside (CSV cells end up in Parquet
// UTF8 columns, which readers refuse when a value is not valid UTF-8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mt {

// True when every byte of [p, p + n) is in 0x01..0x7F: ASCII text with no
// NUL, which needs no further check. Nearly all of a Tardis file is such
// text, so one pass over a whole block (a few % of a parse) spares the
// per-field check. SSE2: 64 bytes per step, one test at the end.
inline bool AsciiWithoutNul(const char* p, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  // (byte - 1) as unsigned is >= 0x7F exactly for 0x00 and 0x80..0xFF; the
  // running unsigned maximum of it stays below 0x7F while all are good.
  const __m128i one = _mm_set1_epi8(1);
  __m128i m = _mm_setzero_si128();
  const auto at = [&](size_t k) {
    return _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k)), one);
  };
  for (; i + 64 <= n; i += 64) {
    m = _mm_max_epu8(m, _mm_max_epu8(_mm_max_epu8(at(i), at(i + 16)), _mm_max_epu8(at(i + 32), at(i + 48))));
  }
  for (; i + 16 <= n; i += 16) m = _mm_max_epu8(m, at(i));
  const __m128i limit = _mm_set1_epi8(0x7E);  // every lane of m <= 0x7E: max(m, 0x7E) == 0x7E
  if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(m, limit), limit)) != 0xFFFF) return false;
#endif
  for (; i < n; i++) {
    const unsigned char c = static_cast<unsigned char>(p[i]);
    if (c == 0 || c >= 0x80) return false;
  }
  return true;
}

// The length (1-4) of the well-formed UTF-8 sequence that starts at p[0]
// (n >= 1 bytes readable), or 0 when the bytes there are not one.
size_t Utf8SequenceLength(const char* p, size_t n);

// The offset of the first byte of [p, p + n) that does not belong to a
// well-formed UTF-8 sequence (Unicode 15, Table 3-7: no overlong forms, no
// surrogates, nothing above U+10FFFF), or n when the text is valid.
size_t Utf8InvalidOffset(const char* p, size_t n);

// `s` with every byte of an ill-formed UTF-8 sequence, and every control
// byte (below 0x20, and 0x7F), replaced by `replacement`: safe to print and
// to quote in JSON. Valid multi-byte characters are kept.
std::string Utf8Printable(std::string_view s, char replacement = '?');

// Whether code point `cp` must not reach a terminal or a log line as it is:
// the C0 controls (line breaks, ESC, ...), DEL, the C1 controls (U+0080 to
// U+009F; U+009B starts a terminal command as ESC [ does), the line and
// paragraph separators, and the bidirectional formatting marks (they reorder
// how the text around them is shown).
bool IsUnsafeCodePoint(uint32_t cp);

// The code point of the well-formed sequence of `len` (1-4) bytes at p
// (REQUIRES: Utf8SequenceLength(p, ...) == len).
uint32_t DecodeUtf8(const char* p, size_t len);

// How many bytes of outside text EscapeOutsideText keeps by default: enough
// for a server's error message or a CSV row, short enough for a log line.
inline constexpr size_t kOutsideTextMaxBytes = 300;

// Text that came from outside the process (an HTTP error body, a server's
// message, a symbol, a cell or row of a file) made safe to quote in a log
// line, an error message, a progress line or a report: one line of valid
// UTF-8 that cannot forge a log line or send a terminal command. Each unsafe
// code point (IsUnsafeCodePoint) is written as a visible escape (\n, \r,
// \t, \x1b for the other C0 controls and DEL, \u009b for the others), each
// byte of an ill-formed UTF-8 sequence as \xNN; a backslash stays as it is.
// Text longer than `max_bytes` (escaped) is cut there at a character
// boundary and "… (N bytes in all)" appended, N the length of the whole text
// (`whole_bytes` when the caller kept only the start of a longer text).
// Secrets are removed first (RedactSecrets, core/redact.h), so the cut never
// leaves a piece of one that later redaction would not recognise.
std::string EscapeOutsideText(std::string_view text, size_t max_bytes = kOutsideTextMaxBytes,
                              size_t whole_bytes = 0);

// The same escapes without the length cap, for the last step before a line
// is written (log lines, command errors): a message is one line whatever
// text it quotes. A tab, and a line break followed by two spaces, are kept:
// the project's own continuation lines (a CSV error's "\n  line 3: ..."),
// which cannot pass for the start of a log line.
std::string EscapeControlChars(std::string_view text);

}  // namespace mt
