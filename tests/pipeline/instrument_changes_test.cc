// changes[] applied per day: the terms (and so the key) in force on each day,
// aliasFor kept; and the columns added with the contract terms. Records are
// the hand-written huobi-dm aliases of tests/fixtures/handwritten (no real
// public record has changes[] that move an expiry) and the real records of
// fixtures/tardis/json.
#include <gtest/gtest.h>

#include <deque>
#include <map>

#include "pipeline/instruments.h"
#include "pipeline/instruments_merge.h"
#include "support/fixtures.h"
#include "tardis/metadata.h"

namespace mt::pipeline {
namespace {

using mt::testing::ReadFile;

Catalog HuobiAliases() {
  auto records = tardis::ParseInstruments(
      ReadFile(std::string(MT_SOURCE_DIR) + "/tests/fixtures/handwritten/huobi-dm_instruments.json"));
  EXPECT_TRUE(records.ok()) << records.status().message();
  tardis::ExchangeDetails d;
  d.id = "huobi-dm";
  for (const char* s : {"BTC_CQ", "BTC_NW"}) {
    d.symbols.push_back({s, "future", *tardis::ParseIsoMicros("2019-11-19"), std::nullopt, {"trades"}});
  }
  Catalog c;
  AddExchange(d, &*records, {}, &c);
  FinishCatalog(&c);
  EXPECT_TRUE(c.rejected.empty());
  return c;
}

const InstrumentDefinition* BySymbol(const std::vector<InstrumentDefinition>& v, const std::string& sym) {
  for (const auto& d : v) {
    if (d.tardis_symbol == sym) return &d;
  }
  return nullptr;
}

TEST(InstrumentChanges, RollingAliasGetsTheExpiryOfEachDay) {
  const Catalog c = HuobiAliases();
  const auto dec1 = DefinitionsForDay(c, *ParseDate("2020-12-01"));
  const InstrumentDefinition* cq = BySymbol(dec1, "BTC_CQ");
  ASSERT_NE(cq, nullptr);
  EXPECT_EQ(cq->instrument_key, "HUOBI-DM:FUTURE:BTC-USD-201225");
  EXPECT_EQ(FormatIsoMicros(*cq->expiry_us).substr(0, 10), "2020-12-25");
  EXPECT_EQ(cq->alias_for.value_or("-"), "BTC201225");  // from the change entry
  EXPECT_EQ(cq->tick_size.value_or(0), 0.1);          // the later change's value still in force
  const InstrumentDefinition* nw = BySymbol(dec1, "BTC_NW");
  ASSERT_NE(nw, nullptr);
  EXPECT_EQ(nw->instrument_key, "HUOBI-DM:FUTURE:BTC-USD-201211");
  EXPECT_FALSE(nw->alias_for.has_value());
  // Sorted by the day's keys.
  for (size_t i = 1; i < dec1.size(); i++) EXPECT_LT(dec1[i - 1].instrument_key, dec1[i].instrument_key);

  const auto jan = DefinitionsForDay(c, *ParseDate("2021-01-05"));
  ASSERT_NE(BySymbol(jan, "BTC_CQ"), nullptr);
  EXPECT_EQ(BySymbol(jan, "BTC_CQ")->instrument_key, "HUOBI-DM:FUTURE:BTC-USD-210326");
  EXPECT_EQ(BySymbol(jan, "BTC_CQ")->tick_size.value_or(0), 0.1);
  // Today's terms after the last change: the current record.
  const auto now = DefinitionsForDay(c, *ParseDate("2026-01-05"));
  ASSERT_NE(BySymbol(now, "BTC_CQ"), nullptr);
  EXPECT_EQ(BySymbol(now, "BTC_CQ")->instrument_key, "HUOBI-DM:FUTURE:BTC-USD-261225");
  EXPECT_EQ(BySymbol(now, "BTC_CQ")->alias_for.value_or("-"), "BTC261225");
  EXPECT_EQ(BySymbol(now, "BTC_CQ")->tick_size.value_or(0), 0.01);
  EXPECT_EQ(BySymbol(now, "BTC_CQ")->expiration_type.value_or("-"), "quarter");
}

TEST(InstrumentChanges, TwoAliasesOfOneContractOnADayKeepOneKey) {
  // On 2020-12-07 BTC_NW and BTC_CQ both name the contract expiring
  // 2020-12-25: one row (the first symbol), never a duplicate key.
  const Catalog c = HuobiAliases();
  const auto day = DefinitionsForDay(c, *ParseDate("2020-12-07"));
  ASSERT_EQ(day.size(), 1u);
  EXPECT_EQ(day[0].instrument_key, "HUOBI-DM:FUTURE:BTC-USD-201225");
  EXPECT_EQ(day[0].tardis_symbol, "BTC_CQ");
}

TEST(InstrumentChanges, RangeTakesTheKeyOfTheLastDay) {
  const Catalog c = HuobiAliases();
  const auto r = DefinitionsForRange(c, *ParseDate("2020-11-01"), *ParseDate("2020-12-01"));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(BySymbol(r, "BTC_CQ")->instrument_key, "HUOBI-DM:FUTURE:BTC-USD-201225");
}

TEST(InstrumentChanges, NewColumnsFromTheRealRecords) {
  std::vector<tardis::InstrumentInfo> all;
  for (const char* f : {"instrument_option.json", "instrument_combo.json", "instrument_perpetual.json",
                        "instrument_okex-futures_BTC-USD_UM_XPERP-310404.json"}) {
    auto r = tardis::ParseInstruments(ReadFile(std::string(MT_SOURCE_DIR) + "/fixtures/tardis/json/" + f));
    ASSERT_TRUE(r.ok()) << f;
    all.insert(all.end(), r->begin(), r->end());
  }
  Catalog c;
  for (const std::string ex : {"deribit", "okex-futures"}) {
    auto d = tardis::ParseExchangeDetails(
        ReadFile(std::string(MT_SOURCE_DIR) + "/tests/fixtures/exchange_details/" + ex + ".json"), ex);
    ASSERT_TRUE(d.ok());
    AddExchange(*d, &all, {}, &c);
  }
  FinishCatalog(&c);
  auto find = [&](const std::string& sym) -> const InstrumentDefinition* {
    for (const auto& e : c.entries) {
      // Entries hold their definitions packed: a decoded copy, kept for the test's run.
      static std::deque<InstrumentDefinition> found;
      if (e.tardis_symbol() == sym) return &found.emplace_back(e.base());
    }
    return nullptr;
  };
  // Deribit inverse option: premium in BTC although the key's quote is USD.
  const InstrumentDefinition* opt = find("BTC-25APR25-200000-P");
  ASSERT_NE(opt, nullptr);
  EXPECT_EQ(opt->quote_asset, "USD");
  EXPECT_EQ(opt->price_currency.value_or("-"), "BTC");
  EXPECT_EQ(opt->amount_unit.value_or("-"), "base");
  EXPECT_TRUE(opt->active.has_value());
  // The combo: keyed by its symbol, terms from its record.
  const InstrumentDefinition* combo = find("BTC-FS-28MAR25_PERP");
  ASSERT_NE(combo, nullptr);
  EXPECT_EQ(combo->instrument_type, "COMBO");
  EXPECT_EQ(combo->amount_increment.value_or(0), 10);
  EXPECT_EQ(combo->min_trade_amount.value_or(0), 10);
  EXPECT_EQ(combo->underlying_index.value_or("-"), "btc_usd");
  EXPECT_EQ(FormatIsoMicros(combo->listing_us.value_or(0)).substr(0, 19), "2024-03-29T08:48:59");
  EXPECT_EQ(combo->price_currency.value_or("-"), "USD");
  // The OKX X-perp: contracts, linear, its own contract type.
  const InstrumentDefinition* xperp = find("BTC-USD_UM_XPERP-310404");
  ASSERT_NE(xperp, nullptr);
  EXPECT_EQ(xperp->instrument_key, "OKX-FUTURES:FUTURE:BTC-USD-310404-XPERP");
  EXPECT_EQ(xperp->contract_type.value_or("-"), "linear_xperp");
  EXPECT_EQ(xperp->amount_unit.value_or("-"), "contracts");
  EXPECT_EQ(xperp->contract_size.value_or(0), 0.0001);
  EXPECT_EQ(xperp->underlying_index.value_or("-"), "BTC-USD");
}

TEST(InstrumentChanges, FixedVenueRulesWithoutMetadata) {
  auto d = tardis::ParseExchangeDetails(
      ReadFile(std::string(MT_SOURCE_DIR) + "/tests/fixtures/exchange_details/deribit.json"), "deribit");
  ASSERT_TRUE(d.ok());
  Catalog c;
  AddExchange(*d, nullptr, {}, &c);
  FinishCatalog(&c);
  std::map<std::string, std::pair<std::string, std::string>> got;  // symbol -> amount unit, price currency
  for (const auto& e : c.entries) {
    got[e.base().tardis_symbol] = {e.base().amount_unit.value_or("-"), e.base().price_currency.value_or("-")};
  }
  EXPECT_EQ(got["BTC-PERPETUAL"], std::make_pair(std::string("quote"), std::string("USD")));
  EXPECT_EQ(got["BTC_USDC-PERPETUAL"], std::make_pair(std::string("base"), std::string("USDC")));
  EXPECT_EQ(got["BTC-25APR25-200000-P"], std::make_pair(std::string("base"), std::string("BTC")));
  EXPECT_EQ(got["XRP_USDC-30JUN23-0d625-C"], std::make_pair(std::string("base"), std::string("USDC")));
  EXPECT_EQ(got["BTC_USDC"], std::make_pair(std::string("base"), std::string("USDC")));
  // No fixed rule for a combo: unknown, not guessed.
  EXPECT_EQ(got["BTC-FS-28MAR25_PERP"], std::make_pair(std::string("-"), std::string("-")));
}


TEST(InstrumentChanges, IncidentReportsAreKeptAndTravelWithTheDefinitions) {
  // A listing in the documented shape with two incidents (test data written
  // here: no real /v1/exchanges/{exchange} detail response is public).
  const std::string listing = R"({"id":"deribit","name":"Deribit","availableSince":"2019-03-30T00:00:00.000Z",
    "incidentReports":[
      {"from":"2020-03-12T10:00:00.000Z","to":"2020-03-12T14:30:00.000Z","status":"resolved","details":"feed outage"},
      {"from":"2021-05-19T00:00:00.000Z","to":"2021-05-20T00:00:00.000Z","status":"wontfix","details":"exchange API down"}],
    "datasets":{"formats":["csv"],"exportedFrom":"2019-03-30T00:00:00.000Z","exportedUntil":"2026-01-01T00:00:00.000Z",
      "symbols":[]}})";
  auto d = tardis::ParseExchangeDetails(listing, "deribit");
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ(d->incidents.size(), 2u);
  EXPECT_EQ(FormatIsoMicros(d->incidents[0].from_us).substr(0, 16), "2020-03-12T10:00");
  EXPECT_EQ(FormatIsoMicros(d->incidents[0].to_us).substr(0, 16), "2020-03-12T14:30");
  EXPECT_EQ(d->incidents[1].status, "wontfix");
  EXPECT_EQ(d->incidents[1].details, "exchange API down");
  // A malformed entry is an error naming it.
  auto bad = tardis::ParseExchangeDetails(R"({"id":"deribit","incidentReports":[{"from":"x","to":"y"}]})", "deribit");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("incidentReports[0]"), std::string::npos) << bad.status().message();

  // Written into the file's exchange_sources and read back by the next run.
  ExchangeSource src{"deribit", "http://t/v1/exchanges/deribit", 1, "", "", std::nullopt, true, {d->incidents[0]}};
  MergeInput in;
  in.replaced = {"deribit"};
  in.sources = {src};
  in.first = in.last = *ParseDate("2020-03-12");
  const MergedInstruments m = MergeInstruments(in, [](const DefinitionFn&) {});
  const InstrumentsFileState st = StateOf(m.kv);
  ASSERT_EQ(st.sources.size(), 1u);
  ASSERT_EQ(st.sources[0].incidents.size(), 1u);
  EXPECT_EQ(st.sources[0].incidents[0].from_us, d->incidents[0].from_us);
  EXPECT_EQ(st.sources[0].incidents[0].to_us, d->incidents[0].to_us);
  EXPECT_EQ(st.sources[0].incidents[0].details, "feed outage");
}

}  // namespace
}  // namespace mt::pipeline
