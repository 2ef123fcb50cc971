#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>

#include "core/log.h"

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

}  // namespace
}  // namespace mt
