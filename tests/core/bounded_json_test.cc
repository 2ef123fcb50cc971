#include "core/bounded_json.h"

#include <gtest/gtest.h>

#include <string>

#include "tardis/metadata.h"

namespace mt {
namespace {

std::string Nested(size_t levels, const std::string& open = "[", const std::string& close = "]") {
  std::string s;
  for (size_t i = 0; i < levels; i++) s += open;
  s += "1";
  for (size_t i = 0; i < levels; i++) s += close;
  return s;
}

TEST(BoundedJson, DepthIsCountedOutsideStrings) {
  const JsonLimits lim{1 << 20, 3};
  EXPECT_TRUE(CheckJsonBounds(Nested(3), "u", lim).ok());
  const Status st = CheckJsonBounds(Nested(4), "https://api.example/v1/x", lim);
  EXPECT_EQ(st.code(), Status::Code::kInvalidInput);
  EXPECT_EQ(st.message(),
            "https://api.example/v1/x: the JSON answer nests arrays and objects deeper than 3 levels (at byte 3); "
            "it is not the document expected, so it is not parsed");
  // Brackets in strings, escaped quotes and escaped backslashes before a quote.
  EXPECT_TRUE(CheckJsonBounds(R"({"a":"[[[[[[","b":"\"[[[[[","c":"\\","d":[["{{{{"]]})", "u", lim).ok());
  EXPECT_FALSE(CheckJsonBounds(R"({"c":"\\","d":[[[1]]]})", "u", lim).ok());
  // Closing brackets never go below zero.
  EXPECT_FALSE(CheckJsonBounds("]]]]" + Nested(4), "u", lim).ok());
  EXPECT_TRUE(CheckJsonBounds("[[[1]]][[[2]]]", "u", lim).ok());
}

TEST(BoundedJson, SizeIsBounded) {
  const JsonLimits lim{10, 64};
  EXPECT_TRUE(CheckJsonBounds("[1,2,3,45]", "u", lim).ok());
  const Status st = CheckJsonBounds("[1,2,3,456]", "gs://b/o", lim);
  EXPECT_EQ(st.message(), "gs://b/o: the JSON answer is 11 bytes, more than the 10 this document may have; it is "
                          "not the document expected");
}

TEST(BoundedJson, ParseGivesTheValueOrADiscardedOne) {
  auto ok = ParseBoundedJson(R"({"a":[1,{"b":"x"}]})", "u");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value()["a"][1]["b"], "x");
  auto bad = ParseBoundedJson(R"({"a":)", "u");
  ASSERT_TRUE(bad.ok());
  EXPECT_TRUE(bad.value().is_discarded());
  EXPECT_FALSE(ParseBoundedJson(Nested(100000), "u").ok());
  EXPECT_TRUE(ParseBoundedJson(Nested(64), "u").ok());
}

// The crash of the issue: an /v1/exchanges/{id} answer 100,000 levels deep
// in a field that is then quoted in the error (printing it recursed per
// level and overflowed the stack). Now an error before parsing.
TEST(BoundedJson, DeepTardisMetadataIsAnErrorNotACrash) {
  const std::string deep = "{\"id\":" + Nested(100000) + "}";
  auto d = tardis::ParseExchangeDetails(deep, "binance");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("/v1/exchanges/binance: the JSON answer nests arrays and objects deeper than 64"),
            std::string::npos)
      << d.status().message();
  auto i = tardis::ParseInstruments("[" + Nested(100000, "{\"a\":", "}") + "]");
  ASSERT_FALSE(i.ok());
  EXPECT_NE(i.status().message().find("/v1/instruments: the JSON answer nests"), std::string::npos)
      << i.status().message();
}

}  // namespace
}  // namespace mt
