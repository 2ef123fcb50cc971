// Parsing of Tardis metadata responses: every real /v1/instruments record in
// fixtures/tardis/json with each field asserted, the exchange listings of
// tests/fixtures/exchange_details, timestamps, and each kind of bad input.
#include "tardis/metadata.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "support/fixtures.h"

namespace mt::tardis {
namespace {

using mt::testing::ReadFile;

std::string Json(const std::string& name) { return ReadFile(std::string(MT_SOURCE_DIR) + "/fixtures/tardis/json/" + name); }
std::string Details(const std::string& ex) {
  return ReadFile(std::string(MT_SOURCE_DIR) + "/tests/fixtures/exchange_details/" + ex + ".json");
}
int64_t Us(const char* iso) { return *ParseIsoMicros(iso); }

TEST(Metadata, IsoTimestamps) {
  EXPECT_EQ(ParseIsoMicros("1970-01-01T00:00:00.000Z"), 0);
  EXPECT_EQ(ParseIsoMicros("2019-03-30T00:00:00.000Z"), 1553904000000000);
  EXPECT_EQ(ParseIsoMicros("2026-03-30T04:30:00.428Z"), 1774845000428000);
  EXPECT_EQ(ParseIsoMicros("2026-03-30T04:30:00.428123Z"), 1774845000428123);
  EXPECT_EQ(ParseIsoMicros("2026-03-30T04:30:00.4281239Z"), 1774845000428123);  // truncated to µs
  EXPECT_EQ(ParseIsoMicros("2026-03-30T04:30:00Z"), 1774845000000000);
  EXPECT_EQ(ParseIsoMicros("2026-03-30T04:30Z"), 1774845000000000);
  EXPECT_EQ(ParseIsoMicros("2026-03-30T06:30:00+02:00"), 1774845000000000);
  EXPECT_EQ(ParseIsoMicros("2026-03-30T04:30:00"), 1774845000000000);  // no zone: UTC
  EXPECT_EQ(ParseIsoMicros("2026-03-30"), 1774828800000000);
  EXPECT_EQ(ParseIsoMicros("1969-12-31T23:59:59.999999Z"), -1);
  for (const char* bad : {"", "2026-02-30T00:00:00Z", "2026-3-30", "2026-03-30T25:00:00Z", "2026-03-30T04:30:00.Z",
                          "2026-03-30T04:30:00.000Zx", "20260330", "2026-03-30T04:30:00.000+0200", "yesterday"}) {
    EXPECT_FALSE(ParseIsoMicros(bad).has_value()) << bad;
  }
}

TEST(Metadata, DatasetSymbolNormalisation) {
  EXPECT_EQ(NormalizeDatasetSymbol("btcusdt"), "BTCUSDT");
  EXPECT_EQ(NormalizeDatasetSymbol("btc/usd:perp"), "BTC-USD-PERP");
  EXPECT_EQ(NormalizeDatasetSymbol("BTC-PERPETUAL"), "BTC-PERPETUAL");
}

// The records of a listing are allocated once, in room for all of them: a
// record is large, and a venue of many options has hundreds of thousands.
// A vector grown by doubling would hold room for 8 here. Brackets and braces
// inside strings are no records.
TEST(Metadata, InstrumentRecordsAreAllocatedOnceForTheWholeListing) {
  std::string opt = Json("instrument_option.json");
  while (!opt.empty() && (opt.back() == '\n' || opt.back() == ' ')) opt.pop_back();
  std::string body = "[";
  for (int i = 0; i < 5; i++) body += (i ? "," : "") + opt;
  body += "]";
  auto r = ParseInstruments(body);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ(r->capacity(), 5u);

  const std::string rec = R"({"id":"A{[","exchange":"x","type":"spot","underlyingType":"{\"{"})";
  auto q = ParseInstruments("[" + rec + "," + rec + "," + rec + "]");
  ASSERT_TRUE(q.ok()) << q.status().message();
  ASSERT_EQ(q->size(), 3u);
  EXPECT_EQ(q->capacity(), 3u);
  EXPECT_EQ((*q)[2].id, "A{[");
}

// Packed records give back every field, changes included, in the order
// given; the exchange and dataset symbol read without decoding.
TEST(Metadata, PackedInstrumentsGiveBackEveryRecord) {
  std::string body = "[";
  for (const char* f : {"instrument_perpetual.json", "instrument_option.json", "instrument_combo.json"}) {
    std::string j = Json(f);
    while (!j.empty() && (j.back() == '\n' || j.back() == ' ')) j.pop_back();
    body += (body.size() > 1 ? "," : "") + j;
  }
  body += "]";
  auto plain = ParseInstruments(body);
  auto packed = ParseInstrumentsPacked(body);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  ASSERT_TRUE(packed.ok()) << packed.status().message();
  ASSERT_EQ(packed->size(), 3u);
  EXPECT_EQ(packed->capacity(), 3u);
  ASSERT_FALSE((*plain)[0].changes.empty());
  auto same_terms = [](const InstrumentTerms& a, const InstrumentTerms& b) {
    return a.price_increment == b.price_increment && a.amount_increment == b.amount_increment &&
           a.min_trade_amount == b.min_trade_amount && a.contract_multiplier == b.contract_multiplier &&
           a.min_notional == b.min_notional && a.inverse == b.inverse && a.quanto == b.quanto &&
           a.settlement_currency == b.settlement_currency && a.contract_type == b.contract_type &&
           a.underlying_index == b.underlying_index && a.quote_currency == b.quote_currency && a.type == b.type &&
           a.alias_for == b.alias_for && a.expiry_us == b.expiry_us;
  };
  InstrumentInfo reused = packed->Get(0);  // decoded over a record with changes
  for (size_t i = 0; i < 3; i++) {
    const InstrumentInfo& a = (*plain)[i];
    packed->Get(i, &reused);
    for (const InstrumentInfo& b : {packed->Get(i), reused}) {
      EXPECT_EQ(b.id, a.id);
      EXPECT_EQ(b.dataset_id, a.dataset_id);
      EXPECT_EQ(b.exchange, a.exchange);
      EXPECT_EQ(b.base_currency, a.base_currency);
      EXPECT_EQ(b.quote_currency, a.quote_currency);
      EXPECT_EQ(b.type, a.type);
      EXPECT_EQ(b.active, a.active);
      EXPECT_EQ(b.available_since_us, a.available_since_us);
      EXPECT_EQ(b.available_to_us, a.available_to_us);
      EXPECT_EQ(b.listing_us, a.listing_us);
      EXPECT_EQ(b.strike_price, a.strike_price);
      EXPECT_EQ(b.option_type, a.option_type);
      EXPECT_EQ(b.underlying_type, a.underlying_type);
      EXPECT_EQ(b.expiration_type, a.expiration_type);
      EXPECT_TRUE(same_terms(b.terms, a.terms)) << a.id;
      ASSERT_EQ(b.changes.size(), a.changes.size()) << a.id;
      for (size_t c = 0; c < a.changes.size(); c++) {
        EXPECT_EQ(b.changes[c].until_us, a.changes[c].until_us);
        EXPECT_TRUE(same_terms(b.changes[c].terms, a.changes[c].terms)) << a.id << " change " << c;
      }
    }
    EXPECT_EQ(packed->exchange(i), a.exchange);
    EXPECT_EQ(packed->DatasetSymbolId(i), a.DatasetSymbolId());
  }
  EXPECT_EQ(packed->Get(0).TermsAt(0).price_increment, (*plain)[0].TermsAt(0).price_increment);
}

TEST(Metadata, RealPerpetualRecordWithChanges) {
  auto r = ParseInstruments(Json("instrument_perpetual.json"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  const InstrumentInfo& i = (*r)[0];
  EXPECT_EQ(i.id, "XBTUSD");
  EXPECT_EQ(i.dataset_id, "XBTUSD");
  EXPECT_EQ(i.exchange, "bitmex");
  EXPECT_EQ(i.base_currency, "BTC");
  EXPECT_EQ(i.quote_currency, "USD");
  EXPECT_EQ(i.type, "perpetual");
  EXPECT_TRUE(i.active);
  EXPECT_EQ(i.available_since_us, Us("2019-03-30T00:00:00.000Z"));
  EXPECT_FALSE(i.available_to_us.has_value());
  EXPECT_FALSE(i.listing_us.has_value());
  EXPECT_FALSE(i.strike_price.has_value());
  EXPECT_EQ(i.terms.settlement_currency, "BTC");
  EXPECT_EQ(i.terms.price_increment, 0.1);
  EXPECT_EQ(i.terms.amount_increment, 100);
  EXPECT_EQ(i.terms.min_trade_amount, 100);
  EXPECT_EQ(i.terms.inverse, true);
  EXPECT_EQ(i.terms.contract_type, "inverse_perpetual");
  EXPECT_EQ(i.terms.contract_multiplier, 1);
  EXPECT_EQ(i.terms.underlying_index, ".BXBT");
  EXPECT_FALSE(i.terms.expiry_us.has_value());
  ASSERT_EQ(i.changes.size(), 3u);
  EXPECT_EQ(i.changes[0].until_us, Us("2021-06-08T04:30:00.000Z"));
  EXPECT_EQ(i.changes[0].terms.amount_increment, 1);
  EXPECT_EQ(i.changes[0].terms.min_trade_amount, 1);
  EXPECT_FALSE(i.changes[0].terms.price_increment.has_value());
  EXPECT_EQ(i.changes[1].terms.price_increment, 0.5);

  // Terms in force: before 2021-06-08 amounts were 1 and the tick 0.5; the
  // tick became 0.1 on 2024-07-31.
  auto t2020 = i.TermsAt(Us("2020-01-01T00:00:00Z"));
  EXPECT_EQ(t2020.amount_increment, 1);
  EXPECT_EQ(t2020.min_trade_amount, 1);
  EXPECT_EQ(t2020.price_increment, 0.5);
  EXPECT_EQ(t2020.contract_multiplier, 1);
  auto t2022 = i.TermsAt(Us("2022-01-01T00:00:00Z"));
  EXPECT_EQ(t2022.amount_increment, 100);
  EXPECT_EQ(t2022.price_increment, 0.5);
  auto at_change = i.TermsAt(Us("2024-07-31T04:00:00.000Z"));  // `until` itself: the new value
  EXPECT_EQ(at_change.price_increment, 0.1);
  auto t2025 = i.TermsAt(Us("2025-01-01T00:00:00Z"));
  EXPECT_EQ(t2025.price_increment, 0.1);
  EXPECT_EQ(t2025.amount_increment, 100);
}

TEST(Metadata, RealDeribitRecords) {
  auto spot = ParseInstruments(Json("instrument_spot.json"));
  ASSERT_TRUE(spot.ok()) << spot.status().message();
  const InstrumentInfo& s = (*spot)[0];
  EXPECT_EQ(s.id, "BTC_USDC");
  EXPECT_EQ(s.DatasetSymbolId(), "BTC_USDC");
  EXPECT_EQ(s.type, "spot");
  EXPECT_EQ(s.quote_currency, "USDC");
  EXPECT_EQ(s.listing_us, Us("2023-04-24T13:00:02.000Z"));
  EXPECT_FALSE(s.terms.inverse.has_value());
  EXPECT_EQ(s.terms.amount_increment, 0.0001);
  EXPECT_EQ(s.TermsAt(Us("2024-04-01T00:00:00Z")).price_increment, 0.01);
  EXPECT_EQ(s.TermsAt(Us("2024-04-03T00:00:00Z")).price_increment, 1);

  auto fut = ParseInstruments(Json("instrument_future.json"));
  ASSERT_TRUE(fut.ok());
  const InstrumentInfo& f = (*fut)[0];
  EXPECT_EQ(f.id, "BTC-14FEB25");
  EXPECT_EQ(f.type, "future");
  EXPECT_EQ(f.terms.expiry_us, Us("2025-02-14T08:00:00.000Z"));
  EXPECT_EQ(f.terms.price_increment, 2.5);
  EXPECT_EQ(f.terms.amount_increment, 10);
  EXPECT_EQ(f.terms.inverse, true);
  EXPECT_EQ(f.terms.contract_type, "inverse_future");
  EXPECT_EQ(f.terms.underlying_index, "btc_usd");

  auto opt = ParseInstruments(Json("instrument_option.json"));
  ASSERT_TRUE(opt.ok());
  const InstrumentInfo& o = (*opt)[0];
  EXPECT_EQ(o.id, "BTC-25APR25-200000-P");
  EXPECT_EQ(o.quote_currency, "BTC");  // premium in BTC
  EXPECT_EQ(o.strike_price, 200000);
  EXPECT_EQ(o.option_type, "put");
  EXPECT_EQ(o.terms.contract_type, "put_option");
  EXPECT_EQ(o.terms.expiry_us, Us("2025-04-25T08:00:00.000Z"));
  EXPECT_EQ(o.terms.price_increment, 0.0001);

  auto combo = ParseInstruments(Json("instrument_combo.json"));
  ASSERT_TRUE(combo.ok());
  EXPECT_EQ((*combo)[0].type, "combo");
  EXPECT_EQ((*combo)[0].terms.contract_type, "spread");

  auto xperp = ParseInstruments(Json("instrument_okex-futures_BTC-USD_UM_XPERP-310404.json"));
  ASSERT_TRUE(xperp.ok());
  const InstrumentInfo& x = (*xperp)[0];
  EXPECT_EQ(x.exchange, "okex-futures");
  EXPECT_EQ(x.quote_currency, "USD_UM_XPERP");
  EXPECT_EQ(x.terms.inverse, false);
  EXPECT_EQ(x.terms.contract_type, "linear_xperp");
  EXPECT_EQ(x.terms.contract_multiplier, 0.0001);
  EXPECT_EQ(x.terms.expiry_us, Us("2031-04-04T08:00:00.000Z"));
  EXPECT_EQ(x.underlying_type, "native");
}

TEST(Metadata, ArrayOfRecordsAndQuirks) {
  // The list form, a record without datasetId (matched by its normalised
  // id), numbers as strings, an unknown field.
  const std::string body = "[" + Json("instrument_spot.json") + "," + Json("instrument_option.json") + R"(,
    {"id":"btcusdt","exchange":"binance","baseCurrency":"BTC","quoteCurrency":"USDT","type":"spot",
     "active":true,"availableSince":"2019-03-30T00:00:00.000Z","priceIncrement":"0.01",
     "amountIncrement":"0.00001","minTradeAmount":0.00001,"someNewField":{"a":[1,2]}}])";
  auto r = ParseInstruments(body);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[1].id, "BTC-25APR25-200000-P");
  EXPECT_EQ((*r)[2].DatasetSymbolId(), "BTCUSDT");
  EXPECT_EQ((*r)[2].terms.price_increment, 0.01);
  EXPECT_EQ((*r)[2].terms.amount_increment, 0.00001);
  EXPECT_TRUE(ParseInstruments("[]").ok());
}

TEST(Metadata, BadInstrumentsAreErrorsThatNameTheRecord) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not valid JSON"},
      {"[{\"id\":\"A\"", "not valid JSON"},
      {"42", "expected a JSON array"},
      {"[1]", "non-object"},
      {R"([{"id":"A","exchange":"x"}])", "record 0 (id 'A'): field 'type' is required"},
      {R"([{"id":"A","exchange":"x","type":"spot","expiry":"soon"}])", "field 'expiry' must be an ISO-8601"},
      {R"([{"id":"A","exchange":"x","type":"spot","priceIncrement":"abc"}])", "field 'priceIncrement' must be a number"},
      {R"([{"id":"A","exchange":"x","type":"spot","inverse":1}])", "field 'inverse' must be a boolean"},
      {R"([{"id":"A","exchange":"x","type":"spot","changes":[{"priceIncrement":1}]}])", "changes[0]: field 'until' is required"},
  };
  for (const auto& [body, want] : cases) {
    auto r = ParseInstruments(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_NE(r.status().message().find(want), std::string::npos) << body << " -> " << r.status().message();
  }
}

TEST(Metadata, ExchangeDetailsListing) {
  auto d = ParseExchangeDetails(Details("deribit"), "deribit");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->id, "deribit");
  EXPECT_EQ(d->name, "Deribit");
  EXPECT_TRUE(d->enabled);
  EXPECT_FALSE(d->delisted);
  EXPECT_TRUE(d->has_datasets);
  EXPECT_EQ(d->available_since_us, Us("2019-03-30T00:00:00.000Z"));
  EXPECT_EQ(d->exported_until_us, Us("2026-08-22T00:00:00.000Z"));
  ASSERT_EQ(d->symbols.size(), 13u);
  const DatasetSymbol& s = d->symbols[0];
  EXPECT_EQ(s.id, "BTC-PERPETUAL");
  EXPECT_EQ(s.type, "perpetual");
  EXPECT_FALSE(s.available_to_us.has_value());
  EXPECT_EQ(s.data_types.size(), 7u);
  const DatasetSymbol& f = d->symbols[3];
  EXPECT_EQ(f.id, "BTC-14FEB25");
  EXPECT_EQ(f.available_to_us, Us("2025-02-15T00:00:00.000Z"));

  // Every listing of the test inputs parses.
  for (const char* ex : {"binance", "binance-futures", "deribit", "bybit", "bybit-spot", "okex", "okex-futures",
                         "okex-swap", "upbit"}) {
    auto e = ParseExchangeDetails(Details(ex), ex);
    ASSERT_TRUE(e.ok()) << ex << ": " << e.status().message();
    EXPECT_GE(e->symbols.size(), 4u) << ex;
  }
}

TEST(Metadata, BadExchangeDetails) {
  EXPECT_FALSE(ParseExchangeDetails(Details("deribit"), "binance").ok());  // another exchange's answer
  EXPECT_FALSE(ParseExchangeDetails("[]", "x").ok());
  EXPECT_FALSE(ParseExchangeDetails("{", "x").ok());
  auto no_datasets = ParseExchangeDetails(R"({"id":"x","name":"X","availableSymbols":[{"id":"A"}]})", "x");
  ASSERT_TRUE(no_datasets.ok());
  EXPECT_FALSE(no_datasets->has_datasets);
  auto bad_since = ParseExchangeDetails(
      R"({"id":"x","datasets":{"symbols":[{"id":"A","type":"spot","dataTypes":["trades"]}]}})", "x");
  ASSERT_FALSE(bad_since.ok());
  EXPECT_NE(bad_since.status().message().find("datasets.symbols[0] (id 'A'): field 'availableSince' is required"),
            std::string::npos)
      << bad_since.status().message();
}

// A listed symbol goes into URLs, object names and stdout lines: one with a
// line break or ESC (a hostile or broken server) fails the listing, quoted
// escaped.
TEST(Metadata, ListedSymbolWithAControlCharacterIsAnError) {
  auto d = ParseExchangeDetails(
      R"({"id":"x","datasets":{"symbols":[{"id":"A\n[ERROR] forged\u001b[2J","type":"spot",)"
      R"("availableSince":"2020-01-01T00:00:00.000Z","dataTypes":["trades"]}]}})",
      "x");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find(
                R"(datasets.symbols[0] (id 'A\n[ERROR] forged\x1b[2J'): field 'id' holds a control character)"),
            std::string::npos)
      << d.status().message();
}

// A body read piece by piece in pieces of `piece` bytes (a spooled body is
// read in larger ones; the small ones cut every token somewhere).
class SmallPieces : public JsonBody {
 public:
  SmallPieces(std::string text, size_t piece) : text_(std::move(text)), piece_(piece) {}
  uint64_t size() const override { return text_.size(); }
  Result<std::string> ReadAt(uint64_t at, size_t n) const override {
    if (at >= text_.size()) return std::string();
    return text_.substr(static_cast<size_t>(at), std::min(n, piece_));
  }

 private:
  std::string text_;
  size_t piece_;
};

// The body in an unnamed temporary file, as MetadataSource spools it.
std::unique_ptr<FileJsonBody> InFile(const std::string& text) {
  FILE* f = std::tmpfile();
  EXPECT_NE(f, nullptr);
  const int fd = ::dup(::fileno(f));
  EXPECT_EQ(std::fwrite(text.data(), 1, text.size(), f), text.size());
  std::fclose(f);
  return std::make_unique<FileJsonBody>(fd, text.size());
}

std::string Packed(const InstrumentInfo& info) {
  std::string out;
  PackInstrument(info, &out);
  return out;
}

// A body with every kind of record (changes, escapes, letters of other
// scripts, a string holding brackets and quotes): parsed from a temporary
// file, and in small pieces, it gives every record as the body in memory
// does, field for field, with the room reserved once.
TEST(Metadata, ASpooledBodyGivesTheRecordsOfTheBodyInMemory) {
  std::string body = "[";
  for (const char* f : {"instrument_perpetual.json", "instrument_option.json", "instrument_combo.json",
                        "instrument_future.json", "instrument_spot.json"}) {
    std::string j = Json(f);
    while (!j.empty() && (j.back() == '\n' || j.back() == ' ')) j.pop_back();
    body += (body.size() > 1 ? ",\n" : "") + j;
  }
  body += R"(, {"id":"\u5e01\u5b89\u4eba\u751fUSDT","exchange":"binance-futures","baseCurrency":"币安人生",)"
          R"("quoteCurrency":"USDT","type":"perpetual","underlyingIndex":"a\"[{\\\"}]\/\t\u00e9",)"
          R"("availableSince":"2025-10-08T00:00:00.000Z","priceIncrement":"0.00001",)"
          R"("changes":[{"until":"2025-11-01T00:00:00.000Z","priceIncrement":0.0001,"contractType":"linear_\u0078perp"}]}])";
  auto memory = ParseInstrumentsPacked(body);
  ASSERT_TRUE(memory.ok()) << memory.status().message();
  ASSERT_EQ(memory->size(), 6u);
  EXPECT_EQ(memory->Get(5).id, "币安人生USDT");
  EXPECT_EQ(*memory->Get(5).terms.underlying_index, "a\"[{\\\"}]/\t\u00e9");
  ASSERT_EQ(memory->Get(5).changes.size(), 1u);
  EXPECT_EQ(*memory->Get(5).changes[0].terms.contract_type, "linear_xperp");
  const auto file = InFile(body);
  for (const JsonBody* b : std::initializer_list<const JsonBody*>{file.get(), new SmallPieces(body, 3)}) {
    std::unique_ptr<const JsonBody> owned(b == file.get() ? nullptr : b);
    auto spooled = ParseInstrumentsPacked(*b);
    ASSERT_TRUE(spooled.ok()) << spooled.status().message();
    ASSERT_EQ(spooled->size(), memory->size());
    EXPECT_EQ(spooled->capacity(), memory->size());
    for (size_t i = 0; i < memory->size(); i++) {
      EXPECT_EQ(Packed(spooled->Get(i)), Packed(memory->Get(i))) << i;
      EXPECT_EQ(spooled->DatasetSymbolId(i), memory->DatasetSymbolId(i));
    }
  }
  // The listing too: every symbol as in memory.
  const std::string listing = Details("deribit");
  auto d_memory = ParseExchangeDetails(listing, "deribit");
  auto d_file = ParseExchangeDetails(*InFile(listing), "deribit");
  auto d_pieces = ParseExchangeDetails(SmallPieces(listing, 5), "deribit");
  ASSERT_TRUE(d_memory.ok() && d_file.ok() && d_pieces.ok());
  for (const auto* d : {&*d_file, &*d_pieces}) {
    EXPECT_EQ(d->exported_until_us, d_memory->exported_until_us);
    EXPECT_EQ(d->incidents.size(), d_memory->incidents.size());
    ASSERT_EQ(d->symbols.size(), d_memory->symbols.size());
    for (size_t i = 0; i < d->symbols.size(); i++) {
      EXPECT_EQ(d->symbols[i].id, d_memory->symbols[i].id);
      EXPECT_EQ(d->symbols[i].type, d_memory->symbols[i].type);
      EXPECT_EQ(d->symbols[i].available_since_us, d_memory->symbols[i].available_since_us);
      EXPECT_EQ(d->symbols[i].available_to_us, d_memory->symbols[i].available_to_us);
      EXPECT_EQ(d->symbols[i].data_types, d_memory->symbols[i].data_types);
    }
  }
}

// A body that does not parse (cut short, not JSON, too deep, a bad record)
// fails with the error, word for word, of the same body in memory.
TEST(Metadata, ASpooledBodyFailsWithTheErrorOfTheBodyInMemory) {
  std::string option = Json("instrument_option.json");
  const std::string whole = "[" + option + "," + option + "]";
  std::string deep(100, '[');
  for (const std::string& body :
       {whole.substr(0, whole.size() / 2), whole.substr(0, whole.size() - 1), std::string("{\"id\":"), std::string(""),
        std::string("42"), std::string("[1]"), deep, "[" + option + R"(,{"id":"A","exchange":"x"}])"}) {
    auto memory = ParseInstrumentsPacked(body);
    ASSERT_FALSE(memory.ok()) << body;
    for (const auto& b : {ParseInstrumentsPacked(*InFile(body)), ParseInstrumentsPacked(SmallPieces(body, 7))}) {
      ASSERT_FALSE(b.ok()) << body;
      EXPECT_EQ(b.status().code(), memory.status().code()) << body;
      EXPECT_EQ(b.status().message(), memory.status().message()) << body;
    }
    auto details = ParseExchangeDetails(body, "x");
    auto details_file = ParseExchangeDetails(*InFile(body), "x");
    ASSERT_FALSE(details.ok());
    EXPECT_EQ(details_file.status().message(), details.status().message()) << body;
  }
  EXPECT_NE(ParseInstrumentsPacked(*InFile(whole.substr(0, 50))).status().message().find(
                "/v1/instruments is not valid JSON (50 bytes, starting '["),
            std::string::npos);
}

// A body whose file cannot be read back is an error, not fewer records.
TEST(Metadata, ASpooledBodyThatCannotBeReadIsAnError) {
  const std::string body = "[" + Json("instrument_option.json") + "]";
  FileJsonBody closed(-1, body.size());
  auto r = ParseInstrumentsPacked(closed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_NE(r.status().message().find("cannot read a response body back from its temporary file"), std::string::npos)
      << r.status().message();
}

// A listing's symbols held packed in a temporary file: each reads back as
// listed, by index and in order (through the iterator's window, symbols
// of any length across its edges).
TEST(Metadata, DatasetSymbolsGiveBackEverySymbol) {
  std::vector<DatasetSymbol> listed;
  for (int i = 0; i < 20000; i++) {
    DatasetSymbol s{"BTC-29MAR24-" + std::to_string(i) + std::string(i % 300, 'x'), i % 2 ? "option" : "future",
                    i * 1000LL, std::nullopt, {}};
    if (i % 3) s.available_to_us = i * 2000LL;
    for (int t = 0; t < i % 5; t++) s.data_types.push_back("type" + std::to_string(t));
    listed.push_back(s);
  }
  DatasetSymbols symbols;
  for (const auto& s : listed) symbols.push_back(s);
  ASSERT_EQ(symbols.size(), listed.size());
  auto same = [](const DatasetSymbol& a, const DatasetSymbol& b) {
    return a.id == b.id && a.type == b.type && a.available_since_us == b.available_since_us &&
           a.available_to_us == b.available_to_us && a.data_types == b.data_types;
  };
  size_t i = 0;
  for (const DatasetSymbol& s : symbols) EXPECT_TRUE(same(s, listed[i++])) << i;
  EXPECT_EQ(i, listed.size());
  for (size_t j = 0; j < listed.size(); j += 997) EXPECT_TRUE(same(symbols[j], listed[j])) << j;
  EXPECT_TRUE(symbols.status().ok());
  symbols.Clear();
  EXPECT_TRUE(symbols.empty());
  EXPECT_EQ(symbols.begin(), symbols.end());
}

}  // namespace
}  // namespace mt::tardis
