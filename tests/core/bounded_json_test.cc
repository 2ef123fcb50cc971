#include "core/bounded_json.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

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

// The text in pieces of `piece` bytes, then an empty piece.
std::function<Result<std::string>()> PiecesOf(const std::string& text, size_t piece, size_t* reads = nullptr) {
  auto at = std::make_shared<size_t>(0);
  return [text, piece, at, reads]() -> Result<std::string> {
    if (reads) ++*reads;
    const std::string out = text.substr(std::min(*at, text.size()), piece);
    *at += out.size();
    return out;
  };
}

// A document read piece by piece is parsed as the whole text is, with the
// same bounds and messages, whatever the pieces' size (a bracket or an
// escape split between two pieces included).
TEST(BoundedJson, PiecesParseAsTheWholeText) {
  const JsonLimits lim{200, 4};
  const std::vector<std::string> texts = {
      R"({"a":[1,{"b":"x\\"}],"c":"[[[[[[\"{{{{","d":[[["e"]]]})",
      "  [1, 2, 3]  ",
      R"({"a":)",                         // malformed: discarded
      "[[[[[1]]]]]",                      // too deep at byte 4
      R"({"s":"\\\\","d":[[[[1]]]]})",    // escaped backslashes, then too deep
      R"([1,2] [3])",                     // trailing value: discarded
      "[" + std::string(300, ' ') + "]",  // too large
      "[1,]" + Nested(6),                 // malformed and too deep: the bound is said
      "",
  };
  for (const std::string& text : texts) {
    auto whole = ParseBoundedJson(text, "src", nullptr, lim);
    for (size_t piece : {1, 2, 3, 5, 64, 1000}) {
      SCOPED_TRACE("text " + text + ", pieces of " + std::to_string(piece));
      auto pieces = ParseBoundedJsonPieces(PiecesOf(text, piece), "src", nullptr, lim);
      ASSERT_EQ(pieces.ok(), whole.ok()) << pieces.status().ToString() << " / " << whole.status().ToString();
      if (!whole.ok()) {
        EXPECT_EQ(pieces.status().message(), whole.status().message());
        continue;
      }
      EXPECT_EQ(pieces->is_discarded(), whole->is_discarded());
      if (!whole->is_discarded()) {
        EXPECT_EQ(pieces->dump(), whole->dump());
      }
    }
  }
  // A callback sees what it sees on the whole text.
  std::vector<std::string> seen;
  auto keys = [&seen](int, nlohmann::json::parse_event_t e, nlohmann::json& v) {
    if (e == nlohmann::json::parse_event_t::key) seen.push_back(v.get<std::string>());
    return true;
  };
  auto with_keys = ParseBoundedJsonPieces(PiecesOf(texts[0], 2), "src", keys, lim);
  ASSERT_TRUE(with_keys.ok()) << with_keys.status().ToString();
  EXPECT_FALSE(with_keys->is_discarded());
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST(BoundedJson, PiecesAreReadToTheEndAndAReadErrorIsReturned) {
  // Too large: read to its end for the size the message states, as few
  // pieces as that takes.
  size_t reads = 0;
  const std::string big = "[" + std::string(299, ' ') + "]";
  auto st = ParseBoundedJsonPieces(PiecesOf(big, 100, &reads), "src", nullptr, JsonLimits{200, 4});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().message(),
            "src: the JSON answer is 301 bytes, more than the 200 this document may have; it is not the document "
            "expected");
  EXPECT_EQ(reads, 5u);  // four pieces and the empty one
  int calls = 0;
  auto failing = [&calls]() -> Result<std::string> {
    if (calls++ == 0) return std::string("[1,");
    return Status::Unavailable("connection reset");
  };
  auto err = ParseBoundedJsonPieces(failing, "src");
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(err.status().message(), "connection reset");
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

// A document cut at any byte ends early; what was sent whole (valid, or
// wrong at a byte that is there) does not.
TEST(BoundedJson, EndsEarlyOnlyWhenTheTextStopsInsideADocument) {
  const std::string doc = R"({"id":"x","n":[1,2.5,true,null,"a\"b"],"o":{}})";
  for (size_t cut = 0; cut < doc.size(); cut++) {
    for (size_t piece : {size_t{1}, size_t{7}}) {
      auto early = JsonEndsEarly(PiecesOf(doc.substr(0, cut), piece));
      ASSERT_TRUE(early.ok());
      EXPECT_TRUE(*early) << "cut at " << cut << ": '" << doc.substr(0, cut) << "'";
    }
  }
  for (const std::string& whole : {doc, std::string("[]"), std::string("{}x"), std::string("{\"a\":}"),
                                   std::string("<html>502</html>"), std::string("[1,]")}) {
    auto early = JsonEndsEarly(PiecesOf(whole, 3));
    ASSERT_TRUE(early.ok());
    EXPECT_FALSE(*early) << whole;
  }
  auto failing = [] { return Result<std::string>(Status::IOError("disk")); };
  EXPECT_EQ(JsonEndsEarly(failing).status().code(), Status::Code::kIOError);
}

}  // namespace
}  // namespace mt
