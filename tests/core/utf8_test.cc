#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>

#include "core/log.h"
#include "core/redact.h"

namespace mt {
namespace {

// The fast block test against the plain definition, at every length and
// alignment around the 16- and 64-byte steps, with one bad byte anywhere.
TEST(Utf8, AsciiWithoutNulMatchesTheBytewiseDefinition) {
  for (size_t n = 0; n <= 140; n++) {
    std::string s(n + 3, 'a');
    for (size_t off = 0; off < 3; off++) {
      EXPECT_TRUE(AsciiWithoutNul(s.data() + off, n)) << n;
      for (size_t k = 0; k < n; k++) {
        for (unsigned char bad : {0x00, 0x80, 0xC3, 0xFF}) {
          std::string t = s;
          t[off + k] = static_cast<char>(bad);
          EXPECT_FALSE(AsciiWithoutNul(t.data() + off, n)) << n << " " << k << " " << int(bad);
        }
        std::string t = s;
        t[off + k] = 0x7F;  // DEL and 0x01 are ASCII
        t[off + (k + 1) % n] = 0x01;
        EXPECT_TRUE(AsciiWithoutNul(t.data() + off, n));
      }
    }
  }
}

TEST(Utf8, InvalidOffsetFollowsTable3_7) {
  auto off = [](const std::string& s) { return Utf8InvalidOffset(s.data(), s.size()); };
  EXPECT_EQ(off(""), 0u);
  EXPECT_EQ(off("BTCUSDT"), 7u);
  EXPECT_EQ(off("\xC3\xA9\xE6\xB5\x8B\xF0\x9F\x9A\x80"), 9u);  // é, 测, U+1F680
  EXPECT_EQ(off("\xF4\x8F\xBF\xBF"), 4u);                      // U+10FFFF
  EXPECT_EQ(off("\xEF\xBF\xBD"), 3u);                          // U+FFFD
  EXPECT_EQ(off("ab\x80"), 2u);          // lone continuation byte
  EXPECT_EQ(off("ab\xC3"), 2u);          // truncated at the end
  EXPECT_EQ(off("\xC3("), 0u);           // bad continuation
  EXPECT_EQ(off("\xC0\xAF"), 0u);        // overlong '/'
  EXPECT_EQ(off("\xC1\xBF"), 0u);        // overlong
  EXPECT_EQ(off("\xE0\x80\xAF"), 0u);    // overlong
  EXPECT_EQ(off("\xED\xA0\x80"), 0u);    // surrogate D800
  EXPECT_EQ(off("\xF0\x80\x80\xAF"), 0u);  // overlong
  EXPECT_EQ(off("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(off("\xF5\x80\x80\x80"), 0u);
  EXPECT_EQ(off("x\xE2\x82"), 1u);
}

TEST(Utf8, PrintableKeepsCharactersAndReplacesTheRest) {
  EXPECT_EQ(Utf8Printable("a\xC3\xA9z"), "a\xC3\xA9z");
  // (Two literals: "??(" in one would read as a trigraph.)
  EXPECT_EQ(Utf8Printable(std::string("BTC\0U\x01\x7F\xC3(\xFF", 10)), "BTC?U??" "?(?");
  EXPECT_EQ(Utf8Printable("\xE2\x82"), "??");
}

// A log line quoting bytes from a corrupt file stays valid JSON (UTF-8).
TEST(Utf8, JsonEscapeReplacesIllFormedBytes) {
  EXPECT_EQ(log::JsonEscape("BTC\xC3USDT"), "BTC\\ufffdUSDT");
  EXPECT_EQ(log::JsonEscape("caf\xC3\xA9 \"q\"\n"), "caf\xC3\xA9 \\\"q\\\"\\n");
  EXPECT_EQ(log::JsonEscape("\xF0\x9F\x9A\x80\xF0\x9F"), "\xF0\x9F\x9A\x80\\ufffd\\ufffd");
  const std::string escaped = log::JsonEscape(std::string("\xFF\x00\xED\xA0\x80", 5));
  EXPECT_EQ(escaped, "\\ufffd\\u0000\\ufffd\\ufffd\\ufffd");
  EXPECT_EQ(Utf8InvalidOffset(escaped.data(), escaped.size()), escaped.size());
}

// Issue 22 item 7: text from outside (an error body, a symbol) is escaped
// before it reaches a log line, an error or a report.
TEST(Utf8, EscapeOutsideTextMakesOneSafeLine) {
  EXPECT_EQ(EscapeOutsideText("Bad Request: unknown symbol BTCUSDT"), "Bad Request: unknown symbol BTCUSDT");
  EXPECT_EQ(EscapeOutsideText("denied\n[ERROR] forged\r\tx"), "denied\\n[ERROR] forged\\r\\tx");
  EXPECT_EQ(EscapeOutsideText("\x1b[2J\x1b]0;t\x07\x7f"), "\\x1b[2J\\x1b]0;t\\x07\\x7f");
  EXPECT_EQ(EscapeOutsideText(std::string("a\0b", 3)), "a\\x00b");
  // C1 controls as UTF-8 (U+009B is CSI), a lone C1 byte, bidi overrides, line separators.
  EXPECT_EQ(EscapeOutsideText("\xC2\x9B" "2J|\x9B|\xE2\x80\xAE|\xE2\x80\xA8"), "\\u009b2J|\\x9b|\\u202e|\\u2028");
  // Valid characters stay; ill-formed bytes become \xNN.
  EXPECT_EQ(EscapeOutsideText("caf\xC3\xA9 \xE6\xB5\x8B \xC3("), "caf\xC3\xA9 \xE6\xB5\x8B \\xc3(");
  // A backslash is kept as it is (Windows paths, JSON text).
  EXPECT_EQ(EscapeOutsideText("a\\b"), "a\\b");
}

TEST(Utf8, EscapeOutsideTextCapsTheLengthAtACharacterBoundary) {
  const std::string body(1000, 'a');
  EXPECT_EQ(EscapeOutsideText(body), std::string(300, 'a') + "\xE2\x80\xA6 (1000 bytes in all)");
  EXPECT_EQ(EscapeOutsideText(body, 10), "aaaaaaaaaa\xE2\x80\xA6 (1000 bytes in all)");
  EXPECT_EQ(EscapeOutsideText(std::string(10, 'a'), 10), std::string(10, 'a'));
  // A character or an escape is never cut in half.
  EXPECT_EQ(EscapeOutsideText("aaaa\xC3\xA9", 5), "aaaa\xE2\x80\xA6 (6 bytes in all)");
  EXPECT_EQ(EscapeOutsideText("aa\x1b", 5), "aa\xE2\x80\xA6 (3 bytes in all)");
  // The caller kept only the start of a longer body: its length is said.
  EXPECT_EQ(EscapeOutsideText("short", 300, 5000), "short\xE2\x80\xA6 (5000 bytes in all)");
  const std::string out = EscapeOutsideText(std::string(5000, '\x1b'));
  EXPECT_LE(out.size(), 300u + 40u);
  EXPECT_EQ(Utf8InvalidOffset(out.data(), out.size()), out.size());
}

TEST(Utf8, EscapeOutsideTextRedactsBeforeTheCut) {
  ClearSecretsForTest();
  RegisterSecret("tardis-key-0123456789");
  // The cut falls inside the key: a later redaction would not know the piece.
  const std::string out = EscapeOutsideText(std::string(290, 'x') + "tardis-key-0123456789 and more");
  EXPECT_EQ(out.find("tardis-key"), std::string::npos) << out;
  EXPECT_NE(out.find("[REDACTED]"), std::string::npos) << out;
  ClearSecretsForTest();
}

TEST(Utf8, EscapeControlCharsKeepsTheProjectsContinuationLines) {
  EXPECT_EQ(EscapeControlChars("f.csv:3:12: bad value\n  line 3: a,b"), "f.csv:3:12: bad value\n  line 3: a,b");
  EXPECT_EQ(EscapeControlChars("a\tb"), "a\tb");
  EXPECT_EQ(EscapeControlChars("x\n[ERROR] forged\n \x1b[2J\r"), "x\\n[ERROR] forged\\n \\x1b[2J\\r");
  EXPECT_EQ(EscapeControlChars(std::string(100000, 'a') + "\n"), std::string(100000, 'a') + "\\n");  // no cap
}

// JSON logs stay valid JSON, and a terminal that shows them is not commanded.
TEST(Utf8, JsonEscapeEscapesDelAndC1Controls) {
  EXPECT_EQ(log::JsonEscape("a\x7f\xC2\x9B" "2J\x1b\xE2\x80\xAEz"), "a\\u007f\\u009b2J\\u001b\\u202ez");
}

}  // namespace
}  // namespace mt
