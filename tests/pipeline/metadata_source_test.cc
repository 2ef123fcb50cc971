// MetadataSource with the scripted HTTP double and a fake retry clock: one request per URL per run,
// the retry rules of downloads, and the messages for refused requests. Real
// sockets and the test server are exercised by tests/js/instruments.test.mjs.
#include "pipeline/metadata_source.h"

#include <gtest/gtest.h>

#include "support/fake_retry_clock.h"
#include "support/fixtures.h"
#include "support/scripted_http.h"
#include "support/temp_dir.h"

namespace mt::pipeline {
namespace {

const char* kUrl = "http://tardis.test";

std::string Listing(const std::string& ex) {
  return R"({"id":")" + ex + R"(","name":"X","availableSince":"2019-03-30T00:00:00.000Z","datasets":{"formats":["csv"],
    "exportedFrom":"2019-03-30T00:00:00.000Z","exportedUntil":"2026-01-01T00:00:00.000Z","symbols":[
    {"id":"BTC-PERPETUAL","type":"perpetual","availableSince":"2019-03-30T00:00:00.000Z","dataTypes":["trades"]}]}})";
}

struct Harness {
  testing::ScriptedHttp http;
  testing::FakeRetryClock clock;
  MetadataSource Make(const std::string& key) {
    MetadataOptions o;
    o.api_url = std::string(kUrl) + "/";
    o.api_key = key;
    o.retry.base_delay_s = 1;
    o.retry.max_delay_s = 60;
    o.retry.max_attempts = 4;
    o.http_factory = [this] { return http.Client(); };
    o.clock = &clock;
    return MetadataSource(o);
  }
};

// A 404 for an exchange id: a typo gets the id it resembles; an id this build
// knows (the server or TARDIS_API_URL is at fault) is said as such, never
// "did you mean" itself.
TEST(MetadataSource, A404ForAnExchangeNamesATypoOrAKnownIdAsSuch) {
  Harness h;
  h.http.Script(std::string(kUrl) + "/v1/exchanges/derbit", {{404, R"({"code":404})"}});
  h.http.Script(std::string(kUrl) + "/v1/exchanges/dydx", {{404, R"({"code":404})"}});
  MetadataSource src = h.Make("");
  auto typo = src.Get("derbit");
  ASSERT_EQ(typo.status().code(), Status::Code::kUsage);
  EXPECT_NE(typo.status().message().find("unknown exchange 'derbit' (did you mean deribit?)"), std::string::npos)
      << typo.status().message();
  auto known = src.Get("dydx");
  ASSERT_EQ(known.status().code(), Status::Code::kUsage);
  EXPECT_EQ(known.status().message().find("did you mean"), std::string::npos) << known.status().message();
  EXPECT_NE(known.status().message().find("'dydx' is a Tardis exchange id"), std::string::npos)
      << known.status().message();
  EXPECT_NE(known.status().message().find("TARDIS_API_URL"), std::string::npos) << known.status().message();
}

TEST(MetadataSource, OneRequestPerEndpointAndRunCached) {
  Harness h;
  h.http.Script(std::string(kUrl) + "/v1/exchanges/deribit", {{200, Listing("deribit")}});
  h.http.Script(std::string(kUrl) + "/v1/instruments/deribit", {
      {200, std::string("[").append(mt::testing::ReadFile(std::string(MT_SOURCE_DIR) +
                                                          "/fixtures/tardis/json/instrument_future.json")).append("]")}});
  MetadataSource src = h.Make("KEY123456");
  auto a = src.Get("deribit");
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto b = src.Get("deribit");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(src.requests(), 2);
  ASSERT_EQ(h.http.seen().size(), 2u);
  EXPECT_EQ(h.http.seen()[0].url, std::string(kUrl) + "/v1/exchanges/deribit");
  EXPECT_EQ(h.http.seen()[1].url, std::string(kUrl) + "/v1/instruments/deribit");
  bool auth = false;
  const auto seen = h.http.seen();
  for (const auto& [k, v] : seen[1].headers) auth |= k == "Authorization" && v == "Bearer KEY123456";
  EXPECT_TRUE(auth);
  EXPECT_TRUE((*a)->have_instruments);
  ASSERT_EQ((*a)->instruments.size(), 1u);
  EXPECT_EQ((*a)->instruments.Get(0).id, "BTC-14FEB25");
  EXPECT_EQ((*a)->details.symbols.size(), 1u);
}

// The records are freed once the catalog has them; their count stays for
// the run's report, and nothing is requested again.
TEST(MetadataSource, ReleasedInstrumentsKeepTheirCount) {
  Harness h;
  h.http.Script(std::string(kUrl) + "/v1/exchanges/deribit", {{200, Listing("deribit")}});
  const std::string record =
      mt::testing::ReadFile(std::string(MT_SOURCE_DIR) + "/fixtures/tardis/json/instrument_future.json");
  h.http.Script(std::string(kUrl) + "/v1/instruments/deribit", {{200, "[" + record + "," + record + "]"}});
  MetadataSource src = h.Make("KEY123456");
  auto a = src.Get("deribit");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ((*a)->instruments.size(), 2u);
  EXPECT_EQ((*a)->instrument_records, 2u);
  src.ReleaseInstruments("deribit");
  src.ReleaseInstruments("binance");  // not fetched: nothing to do
  auto b = src.Get("deribit");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, *a);
  EXPECT_TRUE((*b)->instruments.empty());
  EXPECT_EQ((*b)->instruments.capacity(), 0u);
  EXPECT_EQ((*b)->instrument_records, 2u);
  EXPECT_TRUE((*b)->have_instruments);
  EXPECT_EQ(src.requests(), 2);
}

TEST(MetadataSource, WithoutAKeyInstrumentsAreNotRequested) {
  Harness h;
  h.http.Script(std::string(kUrl) + "/v1/exchanges/deribit", {{200, Listing("deribit")}});
  MetadataSource src = h.Make("");
  auto a = src.Get("deribit");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE((*a)->have_instruments);
  EXPECT_EQ(src.requests(), 1);
  const auto seen = h.http.seen();
  for (const auto& [k, v] : seen[0].headers) EXPECT_NE(k, "Authorization");
}

TEST(MetadataSource, RetriesTransientFailuresWithBackoffAndRetryAfter) {
  Harness h;
  h.http.Script(std::string(kUrl) + "/v1/exchanges/okex", {
      {503, "busy"}, {429, "slow down", {{"retry-after", "7"}}}, {0, "", {}, Status::IOError("connection reset")},
      {200, Listing("okex")}});
  MetadataSource src = h.Make("");
  auto a = src.Get("okex");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(src.requests(), 4);
  ASSERT_EQ(h.clock.sleeps().size(), 3u);
  EXPECT_GE(h.clock.sleeps()[0], 0.5);  // 1 s base with jitter 0.5..1
  EXPECT_LE(h.clock.sleeps()[0], 1.0);
  EXPECT_EQ(h.clock.sleeps()[1], 7.0);  // Retry-After
  EXPECT_GE(h.clock.sleeps()[2], 2.0);  // 4 s with jitter
  EXPECT_LE(h.clock.sleeps()[2], 4.0);
  EXPECT_EQ(h.http.seen()[1].url, std::string(kUrl) + "/v1/exchanges/okex?retryAttempt=1");
}

TEST(MetadataSource, GivesUpAsRetryable) {
  Harness h;
  h.http.Script(std::string(kUrl) + "/v1/exchanges/okex", {{500, "x"}});
  MetadataSource src = h.Make("");
  auto a = src.Get("okex");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kUnavailable);
  EXPECT_TRUE(a.status().retryable());
  EXPECT_NE(a.status().message().find("gave up after 4 requests; last error: HTTP 500"), std::string::npos);
  // Four requests, three waits between them: none after the last one.
  EXPECT_EQ(h.clock.sleeps().size(), 3u);
}

TEST(MetadataSource, RefusedRequestsSayWhatTheFreeTierGives) {
  Harness h;
  h.http.Script(std::string(kUrl) + "/v1/exchanges/deribit", {{401, R"({"code":401})"}});
  MetadataSource nokey = h.Make("");
  auto a = nokey.Get("deribit");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kPermission);
  EXPECT_NE(a.status().message().find("without an API key"), std::string::npos);
  EXPECT_NE(a.status().message().find("first day of each month"), std::string::npos);
  EXPECT_EQ(nokey.requests(), 1);  // a 401 is final

  // A key refused by /v1/instruments: the listing still counts.
  Harness k;
  k.http.Script(std::string(kUrl) + "/v1/exchanges/deribit", {{200, Listing("deribit")}});
  k.http.Script(std::string(kUrl) + "/v1/instruments/deribit", {{403, R"({"code":403})"}});
  MetadataSource keyed = k.Make("SECRETKEY99");
  auto b = keyed.Get("deribit");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE((*b)->have_instruments);
  EXPECT_NE((*b)->instruments_note.find("pro or business subscription"), std::string::npos);
  EXPECT_EQ((*b)->instruments_note.find("SECRETKEY99"), std::string::npos);

  Harness u;
  MetadataSource unknown = u.Make("");
  auto c = unknown.Get("nope");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kUsage);
  EXPECT_NE(c.status().message().find("unknown exchange 'nope'"), std::string::npos);
  EXPECT_NE(c.status().message().find("Tardis does not know exchange 'nope'"), std::string::npos);
}

TEST(MetadataSource, ABadBodyIsAnError) {
  Harness h;
  h.http.Script(std::string(kUrl) + "/v1/exchanges/deribit", {{200, "<html>maintenance</html>"}});
  MetadataSource src = h.Make("");
  auto a = src.Get("deribit");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(a.status().message().find("is not valid JSON"), std::string::npos);
}

// A /v1/instruments body of more than a MiB of option records, and the
// same records parsed from it in memory.
std::string ManyOptions(size_t n) {
  std::string body = "[";
  for (size_t i = 0; i < n; i++) {
    body += std::string(i ? "," : "") + R"({"id":"BTC-29MAR24-)" + std::to_string(20000 + i) +
            R"(-C","datasetId":"BTC-29MAR24-)" + std::to_string(20000 + i) +
            R"(-C","exchange":"deribit","baseCurrency":"BTC","quoteCurrency":"BTC","type":"option",)"
            R"("active":true,"availableSince":"2023-12-01T00:00:00.000Z","expiry":"2024-03-29T08:00:00.000Z",)"
            R"("priceIncrement":0.0001,"amountIncrement":0.1,"strikePrice":)" + std::to_string(20000 + i) +
            R"(,"optionType":"call","underlyingIndex":"\u00e9\"[","changes":[{"until":"2024-01-01T00:00:00.000Z",)"
            R"("priceIncrement":0.0005}]})";
  }
  return body + "]";
}

std::string Packed(const tardis::InstrumentInfo& info) {
  std::string out;
  tardis::PackInstrument(info, &out);
  return out;
}

// A large body goes to a temporary file as it comes and is parsed from
// there: every record as the body in memory gives, also after an attempt
// cut short (its file dropped with it), and no warning.
TEST(MetadataSource, ALargeBodyIsReadFromATemporaryFileAsFromMemory) {
  Harness h;
  const std::string body = ManyOptions(5000);
  ASSERT_GT(body.size(), size_t{1} << 21);
  h.http.Script(std::string(kUrl) + "/v1/exchanges/deribit", {{200, Listing("deribit")}});
  h.http.Script(std::string(kUrl) + "/v1/instruments/deribit",
                {{200, body.substr(0, body.size() / 2), {}, Status::Unavailable("connection reset")}, {200, body}});
  MetadataSource src = h.Make("KEY123456");
  ::testing::internal::CaptureStderr();
  auto a = src.Get("deribit");
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(err, "");
  EXPECT_EQ(src.requests(), 3);
  auto memory = tardis::ParseInstrumentsPacked(body);
  ASSERT_TRUE(memory.ok());
  ASSERT_EQ((*a)->instruments.size(), 5000u);
  EXPECT_EQ((*a)->source_bytes, Listing("deribit").size() + body.size());
  for (size_t i = 0; i < 5000; i += 499) EXPECT_EQ(Packed((*a)->instruments.Get(i)), Packed(memory->Get(i))) << i;
  EXPECT_EQ((*a)->instruments.Get(4999).id, "BTC-29MAR24-24999-C");
}

// Where no temporary file can be made (TMPDIR missing) a large body is
// held in memory, as before, with a warning that says why; the records are
// the same.
TEST(MetadataSource, WithoutATemporaryFileALargeBodyIsHeldInMemoryWithAWarning) {
  Harness h;
  const std::string body = ManyOptions(10000);
  h.http.Script(std::string(kUrl) + "/v1/exchanges/deribit", {{200, Listing("deribit")}});
  h.http.Script(std::string(kUrl) + "/v1/instruments/deribit", {{200, body}});
  MetadataSource src = h.Make("KEY123456");
  testing::ScopedTmpdir tmpdir("/nonexistent-mt-metadata-spool");
  ::testing::internal::CaptureStderr();
  auto a = src.Get("deribit");
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_NE(err.find("GET " + std::string(kUrl) + "/v1/instruments/deribit: cannot create a temporary file in "
                     "/nonexistent-mt-metadata-spool (No such file or directory; set TMPDIR to a writable directory "
                     "with room): the response is held in memory"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("/v1/instruments/deribit: the records: cannot create a temporary file in "
                     "/nonexistent-mt-metadata-spool"),
            std::string::npos)
      << err;
  ASSERT_EQ((*a)->instruments.size(), 10000u);
  auto memory = tardis::ParseInstrumentsPacked(body);
  ASSERT_TRUE(memory.ok());
  for (size_t i = 0; i < 10000; i += 999) EXPECT_EQ(Packed((*a)->instruments.Get(i)), Packed(memory->Get(i))) << i;
}

// Another 2xx answer than 200 is not a listing: the error quotes its body,
// a large one too (it went to a temporary file).
TEST(MetadataSource, Another2xxAnswerQuotesItsBody) {
  Harness h;
  const std::string big = "{\"note\":\"" + std::string(size_t{3} << 20, 'n') + "\"}";
  h.http.Script(std::string(kUrl) + "/v1/exchanges/deribit", {{200, Listing("deribit")}});
  h.http.Script(std::string(kUrl) + "/v1/instruments/deribit", {{203, big}});
  MetadataSource src = h.Make("KEY123456");
  auto a = src.Get("deribit");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kInvalidInput);
  const std::string& m = a.status().message();
  EXPECT_EQ(m.rfind("HTTP 203 for " + std::string(kUrl) + "/v1/instruments/deribit: {\"note\":\"nnn", 0), 0u)
      << m.substr(0, 200);
}

// A body cut short on its last attempt is the parse error of that body,
// as in memory.
TEST(MetadataSource, ALargeBodyCutShortFailsAsInMemory) {
  Harness h;
  const std::string body = ManyOptions(5000);
  const std::string cut = body.substr(0, body.size() - 10);
  h.http.Script(std::string(kUrl) + "/v1/exchanges/deribit", {{200, Listing("deribit")}});
  h.http.Script(std::string(kUrl) + "/v1/instruments/deribit", {{200, cut}});
  MetadataSource src = h.Make("KEY123456");
  auto a = src.Get("deribit");
  ASSERT_FALSE(a.ok());
  // A document that ends early is a cut transfer: fetched again, then
  // retryable, with the parser's message for the spooled body as for one in
  // memory.
  EXPECT_EQ(a.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(a.status().message().find(std::string("GET ") + kUrl + "/v1/instruments/deribit: gave up after "),
            std::string::npos)
      << a.status().message();
  EXPECT_NE(a.status().message().find("the JSON answer ends early, after " + std::to_string(cut.size()) + " bytes"),
            std::string::npos)
      << a.status().message();
  EXPECT_NE(a.status().message().find(tardis::ParseInstrumentsPacked(cut).status().message()), std::string::npos)
      << a.status().message();
}

// A listing cut short once is fetched again and read from its whole copy;
// whole JSON of the wrong shape is the server's answer: one request, a data
// error naming the URL.
TEST(MetadataSource, AListingCutShortIsFetchedAgainAWrongShapeIsNot) {
  Harness h;
  const std::string listing = Listing("deribit");
  h.http.Script(std::string(kUrl) + "/v1/exchanges/deribit",
                {{200, listing.substr(0, listing.size() / 2)}, {200, listing}});
  MetadataSource src = h.Make("");
  auto a = src.Get("deribit");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(src.requests(), 2);
  EXPECT_GT((*a)->dataset_symbols, 0u);

  Harness w;
  w.http.Script(std::string(kUrl) + "/v1/exchanges/deribit", {{200, "[1,2,3]"}, {200, listing}});
  MetadataSource wrong = w.Make("");
  auto b = wrong.Get("deribit");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Status::Code::kInvalidInput);
  EXPECT_EQ(b.status().message().rfind(std::string("GET ") + kUrl + "/v1/exchanges/deribit: ", 0), 0u)
      << b.status().message();
  EXPECT_EQ(wrong.requests(), 1);
}

}  // namespace
}  // namespace mt::pipeline
