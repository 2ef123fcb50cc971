// Instrument definitions from metadata: a table of real symbols of all nine
// seed venues (spot, perpetual, future, option; inverse, linear, USDC;
// multipliers; odd expiries), each with its expected key and columns, built
// from the exchange listings of tests/fixtures/exchange_details without and
// with the real /v1/instruments records of fixtures/tardis/json.
#include "pipeline/instruments.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <deque>
#include <map>
#include <set>
#include <thread>

#include "pipeline/instruments_file.h"
#include "pipeline/instruments_format.h"
#include "pipeline/instruments_job.h"
#include "support/fixtures.h"

namespace mt::pipeline {
namespace {

using mt::testing::ReadFile;

const char* const kVenues[] = {"binance", "binance-futures", "deribit", "bybit", "bybit-spot",
                               "okex", "okex-futures", "okex-swap", "upbit"};

tardis::ExchangeDetails Details(const std::string& ex) {
  auto d = tardis::ParseExchangeDetails(
      ReadFile(std::string(MT_SOURCE_DIR) + "/tests/fixtures/exchange_details/" + ex + ".json"), ex);
  EXPECT_TRUE(d.ok()) << ex << ": " << d.status().message();
  return d.ok() ? *d : tardis::ExchangeDetails{};
}

// Every real /v1/instruments record of the fixtures.
std::vector<tardis::InstrumentInfo> RealInstruments() {
  std::vector<tardis::InstrumentInfo> all;
  for (const char* f : {"instrument_spot.json", "instrument_future.json", "instrument_option.json",
                        "instrument_combo.json", "instrument_perpetual.json",
                        "instrument_okex-futures_BTC-USD_UM_XPERP-310404.json"}) {
    auto r = tardis::ParseInstruments(ReadFile(std::string(MT_SOURCE_DIR) + "/fixtures/tardis/json/" + f));
    EXPECT_TRUE(r.ok()) << f;
    if (r.ok()) all.insert(all.end(), r->begin(), r->end());
  }
  return all;
}

Catalog Build(bool with_metadata, CatalogOptions opts = {}) {
  static const std::vector<tardis::InstrumentInfo> kInstruments = RealInstruments();
  Catalog c;
  for (const char* ex : kVenues) AddExchange(Details(ex), with_metadata ? &kInstruments : nullptr, opts, &c);
  FinishCatalog(&c);
  return c;
}

std::string Opt(const std::optional<std::string>& v) { return v ? *v : "-"; }
std::string Num(const std::optional<double>& v) {
  if (!v) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%g", *v);
  return b;
}
std::string Time(const std::optional<int64_t>& v) { return v ? FormatIsoMicros(*v).substr(0, 16) : "-"; }

// The checked columns of one definition on one line:
// key | symbol_type | base quote settle | inverse | contract_type | expiry | strike option_type |
// tick contract_size min_size | ccxt_symbol ccxt_exchange | underlying settlement_type
std::string Render(const InstrumentDefinition& d) {
  return d.instrument_key + " | " + d.symbol_type + " | " + d.base_asset + " " + d.quote_asset + " " +
         Opt(d.settle_asset) + " | " + (d.inverse ? (*d.inverse ? "inverse" : "linear") : "-") + " | " +
         Opt(d.contract_type) + " | " + Time(d.expiry_us) + " | " + Num(d.strike) + " " + Opt(d.option_type) +
         " | " + Num(d.tick_size) + " " + Num(d.contract_size) + " " + Num(d.min_size) + " | " + Opt(d.ccxt_symbol) +
         " " + Opt(d.ccxt_exchange) + " | " + Opt(d.underlying) + " " + Opt(d.settlement_type);
}

const InstrumentDefinition* Find(const Catalog& c, const std::string& ex, const std::string& sym) {
  for (const auto& e : c.entries) {
    // Entries hold their definitions packed: a decoded copy, kept for the test binary's run.
    static std::deque<InstrumentDefinition> found;
    if (e.tardis_exchange() == ex && e.tardis_symbol() == sym) return &found.emplace_back(e.base());
  }
  return nullptr;
}

struct Row {
  const char* exchange;
  const char* symbol;
  const char* expected;
};

// Without an API key: keys from the symbols, the listing's type checked,
// inverse and settle asset from venue conventions, sizes unknown.
const Row kWithoutMetadata[] = {
    {"binance", "BTCUSDT", "BINANCE:SPOT_PAIR:BTC-USDT | spot | BTC USDT - | linear | - | - | - - | - - - | BTC/USDT binance | - -"},
    {"binance", "ETHBTC", "BINANCE:SPOT_PAIR:ETH-BTC | spot | ETH BTC - | linear | - | - | - - | - - - | ETH/BTC binance | - -"},
    {"binance", "USDTTRY", "BINANCE:SPOT_PAIR:USDT-TRY | spot | USDT TRY - | linear | - | - | - - | - - - | USDT/TRY binance | - -"},
    {"binance", "BTCFDUSD", "BINANCE:SPOT_PAIR:BTC-FDUSD | spot | BTC FDUSD - | linear | - | - | - - | - - - | BTC/FDUSD binance | - -"},
    {"binance", "1000SATSUSDT", "BINANCE:SPOT_PAIR:1000SATS-USDT | spot | 1000SATS USDT - | linear | - | - | - - | - - - | 1000SATS/USDT binance | - -"},
    {"binance", "BTCBUSD", "BINANCE:SPOT_PAIR:BTC-BUSD | spot | BTC BUSD - | linear | - | - | - - | - - - | BTC/BUSD binance | - -"},
    {"binance-futures", "BTCUSDT", "BINANCE-FUTURES:PERPETUAL:BTC-USDT | perpetual | BTC USDT USDT | linear | linear_perpetual | - | - - | - - - | BTC/USDT:USDT binanceusdm | BTC-USDT cash"},
    {"binance-futures", "1000PEPEUSDT", "BINANCE-FUTURES:PERPETUAL:1000PEPE-USDT | perpetual | 1000PEPE USDT USDT | linear | linear_perpetual | - | - - | - - - | 1000PEPE/USDT:USDT binanceusdm | 1000PEPE-USDT cash"},
    {"binance-futures", "BTCUSDC", "BINANCE-FUTURES:PERPETUAL:BTC-USDC | perpetual | BTC USDC USDC | linear | linear_perpetual | - | - - | - - - | BTC/USDC:USDC binanceusdm | BTC-USDC cash"},
    {"binance-futures", "BTCUSDT_240329", "BINANCE-FUTURES:FUTURE:BTC-USDT-240329 | future | BTC USDT USDT | linear | linear_future | 2024-03-29T08:00 | - - | - - - | BTC/USDT:USDT-240329 binanceusdm | BTC-USDT cash"},
    {"deribit", "BTC-PERPETUAL", "DERIBIT:PERPETUAL:BTC-USD | perpetual | BTC USD BTC | inverse | inverse_perpetual | - | - - | - - - | BTC/USD:BTC deribit | BTC-USD cash"},
    {"deribit", "ETH-PERPETUAL", "DERIBIT:PERPETUAL:ETH-USD | perpetual | ETH USD ETH | inverse | inverse_perpetual | - | - - | - - - | ETH/USD:ETH deribit | ETH-USD cash"},
    {"deribit", "BTC_USDC-PERPETUAL", "DERIBIT:PERPETUAL:BTC-USDC | perpetual | BTC USDC USDC | linear | linear_perpetual | - | - - | - - - | BTC/USDC:USDC deribit | BTC-USDC cash"},
    {"deribit", "BTC-14FEB25", "DERIBIT:FUTURE:BTC-USD-250214 | future | BTC USD BTC | inverse | inverse_future | 2025-02-14T08:00 | - - | - - - | BTC/USD:BTC-250214 deribit | BTC-USD cash"},
    {"deribit", "ETH-26JUN20", "DERIBIT:FUTURE:ETH-USD-200626 | future | ETH USD ETH | inverse | inverse_future | 2020-06-26T08:00 | - - | - - - | ETH/USD:ETH-200626 deribit | ETH-USD cash"},
    {"deribit", "BTC-25APR25-200000-P", "DERIBIT:OPTION:BTC-USD-250425-200000-PUT | option | BTC USD BTC | inverse | put_option | 2025-04-25T08:00 | 200000 PUT | - - - | BTC/USD:BTC-250425-200000-P deribit | BTC-USD cash"},
    {"deribit", "BTC-9JUN20-9875-P", "DERIBIT:OPTION:BTC-USD-200609-9875-PUT | option | BTC USD BTC | inverse | put_option | 2020-06-09T08:00 | 9875 PUT | - - - | BTC/USD:BTC-200609-9875-P deribit | BTC-USD cash"},
    {"deribit", "XRP_USDC-30JUN23-0d625-C", "DERIBIT:OPTION:XRP-USDC-230630-0.625-CALL | option | XRP USDC USDC | linear | call_option | 2023-06-30T08:00 | 0.625 CALL | - - - | XRP/USDC:USDC-230630-0.625-C deribit | XRP-USDC cash"},
    {"deribit", "BTC_USDC", "DERIBIT:SPOT_PAIR:BTC-USDC | spot | BTC USDC - | linear | - | - | - - | - - - | BTC/USDC deribit | - -"},
    {"bybit", "BTCUSD", "BYBIT:PERPETUAL:BTC-USD | perpetual | BTC USD BTC | inverse | inverse_perpetual | - | - - | - - - | BTC/USD:BTC bybit | BTC-USD cash"},
    {"bybit", "ETHUSD", "BYBIT:PERPETUAL:ETH-USD | perpetual | ETH USD ETH | inverse | inverse_perpetual | - | - - | - - - | ETH/USD:ETH bybit | ETH-USD cash"},
    {"bybit", "BTCUSDT", "BYBIT:PERPETUAL:BTC-USDT | perpetual | BTC USDT USDT | linear | linear_perpetual | - | - - | - - - | BTC/USDT:USDT bybit | BTC-USDT cash"},
    {"bybit", "1000PEPEUSDT", "BYBIT:PERPETUAL:1000PEPE-USDT | perpetual | 1000PEPE USDT USDT | linear | linear_perpetual | - | - - | - - - | 1000PEPE/USDT:USDT bybit | 1000PEPE-USDT cash"},
    {"bybit", "BTCPERP", "BYBIT:PERPETUAL:BTC-USDC | perpetual | BTC USDC USDC | linear | linear_perpetual | - | - - | - - - | BTC/USDC:USDC bybit | BTC-USDC cash"},
    {"bybit-spot", "BTCUSDT", "BYBIT-SPOT:SPOT_PAIR:BTC-USDT | spot | BTC USDT - | linear | - | - | - - | - - - | BTC/USDT bybit | - -"},
    {"bybit-spot", "BTCUSDC", "BYBIT-SPOT:SPOT_PAIR:BTC-USDC | spot | BTC USDC - | linear | - | - | - - | - - - | BTC/USDC bybit | - -"},
    {"bybit-spot", "USDCUSDT", "BYBIT-SPOT:SPOT_PAIR:USDC-USDT | spot | USDC USDT - | linear | - | - | - - | - - - | USDC/USDT bybit | - -"},
    {"bybit-spot", "MNTUSDT", "BYBIT-SPOT:SPOT_PAIR:MNT-USDT | spot | MNT USDT - | linear | - | - | - - | - - - | MNT/USDT bybit | - -"},
    {"okex", "BTC-USDT", "OKX:SPOT_PAIR:BTC-USDT | spot | BTC USDT - | linear | - | - | - - | - - - | BTC/USDT okx | - -"},
    {"okex", "ETH-BTC", "OKX:SPOT_PAIR:ETH-BTC | spot | ETH BTC - | linear | - | - | - - | - - - | ETH/BTC okx | - -"},
    {"okex", "BTC-EUR", "OKX:SPOT_PAIR:BTC-EUR | spot | BTC EUR - | linear | - | - | - - | - - - | BTC/EUR okx | - -"},
    {"okex-futures", "BTC-USD-240329", "OKX-FUTURES:FUTURE:BTC-USD-240329 | future | BTC USD BTC | inverse | inverse_future | 2024-03-29T08:00 | - - | - - - | BTC/USD:BTC-240329 okx | BTC-USD cash"},
    {"okex-futures", "BTC-USDT-240329", "OKX-FUTURES:FUTURE:BTC-USDT-240329 | future | BTC USDT USDT | linear | linear_future | 2024-03-29T08:00 | - - | - - - | BTC/USDT:USDT-240329 okx | BTC-USDT cash"},
    // Margining of the XPERP product is not in its symbol: unknown, not guessed.
    {"okex-futures", "BTC-USD_UM_XPERP-310404", "OKX-FUTURES:FUTURE:BTC-USD-310404-XPERP | future | BTC USD - | - | - | 2031-04-04T08:00 | - - | - - - | - okx | BTC-USD cash"},
    {"okex-swap", "BTC-USDT-SWAP", "OKX-SWAP:PERPETUAL:BTC-USDT | perpetual | BTC USDT USDT | linear | linear_perpetual | - | - - | - - - | BTC/USDT:USDT okx | BTC-USDT cash"},
    {"okex-swap", "BTC-USD-SWAP", "OKX-SWAP:PERPETUAL:BTC-USD | perpetual | BTC USD BTC | inverse | inverse_perpetual | - | - - | - - - | BTC/USD:BTC okx | BTC-USD cash"},
    {"okex-swap", "BTC-USDC-SWAP", "OKX-SWAP:PERPETUAL:BTC-USDC | perpetual | BTC USDC USDC | linear | linear_perpetual | - | - - | - - - | BTC/USDC:USDC okx | BTC-USDC cash"},
    {"okex-swap", "PEPE-USDT-SWAP", "OKX-SWAP:PERPETUAL:PEPE-USDT | perpetual | PEPE USDT USDT | linear | linear_perpetual | - | - - | - - - | PEPE/USDT:USDT okx | PEPE-USDT cash"},
    {"upbit", "KRW-BTC", "UPBIT:SPOT_PAIR:BTC-KRW | spot | BTC KRW - | linear | - | - | - - | - - - | BTC/KRW upbit | - -"},
    {"upbit", "BTC-ETH", "UPBIT:SPOT_PAIR:ETH-BTC | spot | ETH BTC - | linear | - | - | - - | - - - | ETH/BTC upbit | - -"},
    {"upbit", "USDT-BTC", "UPBIT:SPOT_PAIR:BTC-USDT | spot | BTC USDT - | linear | - | - | - - | - - - | BTC/USDT upbit | - -"},
    {"upbit", "KRW-USDT", "UPBIT:SPOT_PAIR:USDT-KRW | spot | USDT KRW - | linear | - | - | - - | - - - | USDT/KRW upbit | - -"},
};

// With /v1/instruments: the real records of fixtures/tardis/json give the
// terms (current values), the exact expiry, the margining of XPERP.
const Row kWithMetadata[] = {
    {"deribit", "BTC_USDC", "DERIBIT:SPOT_PAIR:BTC-USDC | spot | BTC USDC - | linear | - | - | - - | 1 - 0.0001 | BTC/USDC deribit | - -"},
    {"deribit", "BTC-14FEB25", "DERIBIT:FUTURE:BTC-USD-250214 | future | BTC USD BTC | inverse | inverse_future | 2025-02-14T08:00 | - - | 2.5 1 10 | BTC/USD:BTC-250214 deribit | BTC-USD cash"},
    // quoteCurrency BTC (the premium); the key names the strike currency USD.
    {"deribit", "BTC-25APR25-200000-P", "DERIBIT:OPTION:BTC-USD-250425-200000-PUT | option | BTC USD BTC | inverse | put_option | 2025-04-25T08:00 | 200000 PUT | 0.0001 1 0.1 | BTC/USD:BTC-250425-200000-P deribit | BTC-USD cash"},
    {"okex-futures", "BTC-USD_UM_XPERP-310404", "OKX-FUTURES:FUTURE:BTC-USD-310404-XPERP | future | BTC USD USD | linear | linear_xperp | 2031-04-04T08:00 | - - | 0.1 0.0001 1 | BTC/USD:USD-310404 okx | BTC-USD cash"},
    // No record for these: as without metadata.
    {"deribit", "BTC-PERPETUAL", "DERIBIT:PERPETUAL:BTC-USD | perpetual | BTC USD BTC | inverse | inverse_perpetual | - | - - | - - - | BTC/USD:BTC deribit | BTC-USD cash"},
    {"binance", "USDTTRY", "BINANCE:SPOT_PAIR:USDT-TRY | spot | USDT TRY - | linear | - | - | - - | - - - | USDT/TRY binance | - -"},
};

void CheckRows(const Catalog& c, const Row* rows, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const InstrumentDefinition* d = Find(c, rows[i].exchange, rows[i].symbol);
    ASSERT_NE(d, nullptr) << rows[i].exchange << " " << rows[i].symbol << " has no definition";
    EXPECT_EQ(Render(*d), rows[i].expected) << rows[i].exchange << " " << rows[i].symbol;
    EXPECT_EQ(d->tardis_exchange, rows[i].exchange);
    EXPECT_EQ(d->data_provider, "tardis");
    EXPECT_EQ(d->venue_type, "exchange");
    EXPECT_EQ(d->asset_class, "crypto");
    // The key parses back into the columns.
    auto k = tardis::ParseInstrumentKey(d->instrument_key);
    ASSERT_TRUE(k.ok()) << d->instrument_key;
    EXPECT_EQ(k->venue, d->venue);
    EXPECT_EQ(k->type, d->instrument_type);
    EXPECT_EQ(k->base, d->base_asset);
    EXPECT_EQ(k->quote, d->quote_asset);
  }
}

TEST(Instruments, RealSymbolsOfAllNineVenuesWithoutMetadata) {
  const Catalog c = Build(false);
  CheckRows(c, kWithoutMetadata, std::size(kWithoutMetadata));
  // Every venue has instruments, and every listed symbol is an instrument, a
  // grouped symbol or a rejection: nothing dropped silently.
  std::map<std::string, size_t> accounted;
  for (const auto& e : c.entries) accounted[e.base().tardis_exchange]++;
  for (const auto& g : c.grouped) accounted[g.exchange]++;
  for (const auto& r : c.rejected) accounted[r.exchange]++;
  for (const char* ex : kVenues) EXPECT_EQ(accounted[ex], Details(ex).symbols.size()) << ex;
  // 48 instruments and the Deribit combo, keyed by its symbol.
  EXPECT_EQ(c.entries.size(), 49u);
  const InstrumentDefinition* combo = Find(c, "deribit", "BTC-FS-28MAR25_PERP");
  ASSERT_NE(combo, nullptr);
  EXPECT_EQ(combo->instrument_key, "DERIBIT:COMBO:BTC-FS-28MAR25_PERP");
  EXPECT_TRUE(c.warnings.empty());
}

TEST(Instruments, RealRecordsOfV1InstrumentsGiveTheTerms) {
  const Catalog c = Build(true);
  CheckRows(c, kWithMetadata, std::size(kWithMetadata));
  // Metadata and symbol agree on every key here.
  EXPECT_TRUE(c.warnings.empty()) << c.warnings.front();
  const InstrumentDefinition* opt = Find(c, "deribit", "BTC-25APR25-200000-P");
  ASSERT_NE(opt, nullptr);
  EXPECT_EQ(opt->exchange_raw_symbol, "BTC-25APR25-200000-P");
  EXPECT_EQ(opt->strike, 200000.0);
}

TEST(Instruments, UnreadableSymbolsAreRejectedWithReasons) {
  for (bool meta : {false, true}) {
    const Catalog c = Build(meta);
    std::map<std::string, std::string> why;
    for (const auto& r : c.rejected) why[r.exchange + " " + r.symbol] = r.reason;
    // The Deribit combo is keyed now (VENUE:COMBO:SYMBOL); the month-code
    // future still needs an expiry day.
    ASSERT_EQ(why.size(), 1u) << meta;
    EXPECT_NE(why["bybit BTCUSDH23"].find("month code 'H23'); its expiry day needs instrument metadata"),
              std::string::npos)
        << why["bybit BTCUSDH23"];
  }
}

TEST(Instruments, GroupedSymbolsAreKeptAsideWithTheirDataTypes) {
  const Catalog c = Build(false);
  std::map<std::string, std::string> grouped;
  for (const auto& g : c.grouped) {
    std::string dt;
    for (const auto& t : g.symbol.data_types) dt += (dt.empty() ? "" : ",") + t;
    grouped[g.exchange + " " + g.symbol.id] = g.symbol.type + " " + dt;
  }
  EXPECT_EQ(grouped.size(), 5u);
  EXPECT_EQ(grouped["deribit OPTIONS"],
            "option options_chain,trades,quotes,incremental_book_L2,book_snapshot_25,book_snapshot_5");
  EXPECT_EQ(grouped["deribit FUTURES"], "future trades,incremental_book_L2,quotes,derivative_ticker,liquidations");
  EXPECT_TRUE(grouped.count("deribit PERPETUALS"));
  EXPECT_EQ(grouped["okex-futures FUTURES"], "future trades,liquidations");
  EXPECT_EQ(grouped["okex-swap PERPETUALS"], "perpetual trades,liquidations");
  for (const auto& e : c.entries) EXPECT_FALSE(tardis::IsGroupedSymbol(e.base().tardis_symbol));
}

TEST(Instruments, DataTypesAreWhatTardisListsNotAGuess) {
  const Catalog c = Build(false);
  EXPECT_EQ(Find(c, "binance", "1000SATSUSDT")->data_types, "incremental_book_L2,quotes,trades");
  EXPECT_EQ(Find(c, "binance-futures", "BTCUSDC")->data_types,
            "book_ticker,derivative_ticker,incremental_book_L2,quotes,trades");  // no liquidations listed
  EXPECT_EQ(Find(c, "deribit", "BTC-9JUN20-9875-P")->data_types, "quotes,trades");
  EXPECT_EQ(Find(c, "upbit", "USDT-BTC")->data_types, "quotes,trades");
}

TEST(Instruments, AvailabilityWindowsMakeTheDays) {
  const Catalog c = Build(true);
  auto day_has = [&](const Date& d, const std::string& key) {
    for (const auto& def : DefinitionsForDay(c, d)) {
      if (def.instrument_key == key) return true;
    }
    return false;
  };
  // BTC-14FEB25: availableSince 2025-01-31, availableTo 2025-02-15 (exclusive).
  EXPECT_FALSE(day_has({2025, 1, 30}, "DERIBIT:FUTURE:BTC-USD-250214"));
  EXPECT_TRUE(day_has({2025, 1, 31}, "DERIBIT:FUTURE:BTC-USD-250214"));
  EXPECT_TRUE(day_has({2025, 2, 14}, "DERIBIT:FUTURE:BTC-USD-250214"));
  EXPECT_FALSE(day_has({2025, 2, 15}, "DERIBIT:FUTURE:BTC-USD-250214"));
  EXPECT_TRUE(day_has({2025, 2, 15}, "DERIBIT:PERPETUAL:BTC-USD"));  // no end
  EXPECT_FALSE(day_has({2019, 3, 29}, "DERIBIT:PERPETUAL:BTC-USD"));
  const auto d = DefinitionsForDay(c, {2025, 2, 14});
  EXPECT_TRUE(std::is_sorted(d.begin(), d.end(), [](const auto& a, const auto& b) {
    return a.instrument_key < b.instrument_key;
  }));
  const auto agg = DefinitionsForRange(c, {2025, 2, 14}, {2025, 2, 16});
  size_t expected = 0;
  for (const auto& e : c.entries) {
    if (OverlapsDay(e.base().available_from_us, e.base().available_to_us, {2025, 2, 14}) ||
        OverlapsDay(e.base().available_from_us, e.base().available_to_us, {2025, 2, 15}) ||
        OverlapsDay(e.base().available_from_us, e.base().available_to_us, {2025, 2, 16})) {
      expected++;
    }
  }
  EXPECT_EQ(agg.size(), expected);
}

TEST(Instruments, TermsOfEachDayFollowTheChanges) {
  const Catalog c = Build(true);
  auto tick_on = [&](const Date& day) -> std::optional<double> {
    for (const auto& def : DefinitionsForDay(c, day)) {
      if (def.instrument_key == "DERIBIT:SPOT_PAIR:BTC-USDC") return def.tick_size;
    }
    return std::nullopt;
  };
  // Real record: priceIncrement 1 now, 0.01 until 2024-04-02T12:10Z.
  EXPECT_EQ(tick_on({2023, 4, 24}), 0.01);
  EXPECT_EQ(tick_on({2024, 4, 2}), 0.01);  // terms at the start of the day
  EXPECT_EQ(tick_on({2024, 4, 3}), 1.0);
  // The aggregate takes the terms of the range's last day.
  auto agg = DefinitionsForRange(c, {2024, 3, 1}, {2024, 4, 1});
  for (const auto& d : agg) {
    if (d.instrument_key == "DERIBIT:SPOT_PAIR:BTC-USDC") {
      EXPECT_EQ(d.tick_size, 0.01);
    }
  }
}

TEST(Instruments, QuoteFilterKeepsOnlyWhatTheUserAsksFor) {
  CatalogOptions opts;
  opts.quotes = {"USDT"};
  const Catalog c = Build(false, opts);
  ASSERT_FALSE(c.entries.empty());
  for (const auto& e : c.entries) EXPECT_EQ(e.base().quote_asset, "USDT") << e.base().instrument_key;
  EXPECT_EQ(Find(c, "binance", "USDTTRY"), nullptr);  // USDT is its base, TRY its quote
  EXPECT_NE(Find(c, "upbit", "USDT-BTC"), nullptr);
  // Without the filter no quote is dropped.
  const Catalog all = Build(false);
  std::set<std::string> quotes;
  for (const auto& e : all.entries) quotes.insert(e.base().quote_asset);
  // "": the Deribit combo, whose currencies only metadata names.
  EXPECT_EQ(quotes, (std::set<std::string>{"", "BTC", "BUSD", "EUR", "FDUSD", "KRW", "TRY", "USD", "USDC", "USDT"}));
}

TEST(Instruments, ListingTypeDisagreeingWithTheSymbolIsRejected) {
  tardis::ExchangeDetails d;
  d.id = "binance-futures";
  d.symbols.push_back({"BTCUSDT", "future", 0, std::nullopt, {"trades"}});  // reads as a perpetual
  d.symbols.push_back({"ETHUSDT", "prediction", 0, std::nullopt, {"trades"}});
  Catalog c;
  AddExchange(d, nullptr, {}, &c);
  ASSERT_EQ(c.rejected.size(), 1u);
  EXPECT_NE(c.rejected[0].reason.find("reads as PERPETUAL but Tardis lists it as type 'future'"), std::string::npos);
  // A listed prediction market is keyed by its symbol on any venue.
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(c.entries[0].base().instrument_key, "BINANCE-FUTURES:PREDICTION:ETHUSDT");
}

// Without metadata BTCAEUR reads as BTCA-EUR by the rule (longest known
// quote); the rest of the listing names BTC and AEUR, and BTCA nowhere.
TEST(Instruments, ConcatenatedSpotSymbolTakesTheSplitTheListingConfirms) {
  tardis::ExchangeDetails d;
  d.id = "binance";
  // SUSDT stays S-USDT although SUSD and T are named: T is no quote.
  for (const char* s : {"BTCAEUR", "AEURUSDT", "BTCUSDT", "ETHBTC", "USDTTRY", "SUSDT", "SUSDUSDT", "TUSDT"}) {
    d.symbols.push_back({s, "spot", 0, std::nullopt, {"trades"}});
  }
  Catalog c;
  AddExchange(d, nullptr, {}, &c);
  FinishCatalog(&c);
  std::set<std::string> keys;
  for (const auto& e : c.entries) keys.insert(e.base().instrument_key);
  EXPECT_EQ(keys, (std::set<std::string>{"BINANCE:SPOT_PAIR:AEUR-USDT", "BINANCE:SPOT_PAIR:BTC-AEUR",
                                         "BINANCE:SPOT_PAIR:BTC-USDT", "BINANCE:SPOT_PAIR:ETH-BTC",
                                         "BINANCE:SPOT_PAIR:USDT-TRY", "BINANCE:SPOT_PAIR:S-USDT",
                                         "BINANCE:SPOT_PAIR:SUSD-USDT", "BINANCE:SPOT_PAIR:T-USDT"}));
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("BTCAEUR: the listing names BTC and AEUR"), std::string::npos) << c.warnings[0];
}

// Venues without a symbol rule: a listed spot pair is keyed, a perpetual
// needs metadata (its type would be a guess from the symbol).
TEST(Instruments, UnruledVenueKeysListedSpotPairsOnly) {
  tardis::ExchangeDetails d;
  d.id = "bitflyer";
  d.symbols.push_back({"BTC-JPY", "spot", 0, std::nullopt, {"trades"}});
  d.symbols.push_back({"FX-BTC", "perpetual", 0, std::nullopt, {"trades"}});
  Catalog c;
  AddExchange(d, nullptr, {}, &c);
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(c.entries[0].base().instrument_key, "BITFLYER:SPOT_PAIR:BTC-JPY");
  ASSERT_EQ(c.rejected.size(), 1u);
  EXPECT_NE(c.rejected[0].reason.find("type 'perpetual'"), std::string::npos) << c.rejected[0].reason;
  EXPECT_NE(c.rejected[0].reason.find("needs instrument metadata (set TARDIS_API_KEY)"), std::string::npos)
      << c.rejected[0].reason;
  // With a key (the records fetched) the record is what is missing, not the key.
  const std::vector<tardis::InstrumentInfo> none;
  Catalog with_key;
  AddExchange(d, &none, {}, &with_key);
  ASSERT_EQ(with_key.rejected.size(), 1u);
  EXPECT_NE(with_key.rejected[0].reason.find("needs instrument metadata (/v1/instruments/bitflyer has no record of "
                                             "this symbol)"),
            std::string::npos)
      << with_key.rejected[0].reason;
}

TEST(Instruments, TwoSymbolsWithOneKeyAreAmbiguous) {
  tardis::ExchangeDetails d;
  d.id = "binance";
  d.symbols.push_back({"BTCUSDT", "spot", 0, std::nullopt, {"trades"}});
  d.symbols.push_back({"btcusdt", "spot", 0, std::nullopt, {"trades"}});
  Catalog c;
  AddExchange(d, nullptr, {}, &c);
  FinishCatalog(&c);
  ASSERT_EQ(c.entries.size(), 1u);
  ASSERT_EQ(c.rejected.size(), 1u);
  EXPECT_EQ(c.rejected[0].symbol, "btcusdt");
  EXPECT_NE(c.rejected[0].reason.find("derives key BINANCE:SPOT_PAIR:BTC-USDT, as symbol BTCUSDT does"),
            std::string::npos);
}

// FinishCatalog sorts by key, then dataset symbol, keeping the order of
// entries equal in both (stable), and keeps the first of a key.
TEST(Instruments, FinishCatalogSortsStablyAndKeepsTheFirstOfAKey) {
  Catalog c;
  auto add = [&](const std::string& key, const std::string& sym, const std::string& ex) {
    InstrumentDefinition d;
    d.instrument_key = key;
    d.tardis_symbol = sym;
    d.tardis_exchange = ex;
    c.entries.emplace_back(tardis::InstrumentKey(), d);
  };
  // Keys in an order of several permutation cycles.
  const int kN = 50;
  for (int i = 0; i < kN; i++) {
    const int k = (i * 17) % kN;
    add("K" + std::to_string(100 + k), "S" + std::to_string(100 + k), "ex");
  }
  add("K105", "A", "first");  // same key, an earlier symbol: kept, S105 rejected
  add("K110", "S110", "second");  // same key and symbol: the earlier entry is kept
  add("K110", "S110", "third");
  FinishCatalog(&c);
  ASSERT_EQ(c.entries.size(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; i++) EXPECT_EQ(c.entries[i].base().instrument_key, "K" + std::to_string(100 + i));
  EXPECT_EQ(c.entries[5].base().tardis_symbol, "A");
  EXPECT_EQ(c.entries[10].base().tardis_exchange, "ex");
  ASSERT_EQ(c.rejected.size(), 3u);
  EXPECT_EQ(c.rejected[0].symbol, "S105");
  EXPECT_EQ(c.rejected[0].reason, "derives key K105, as symbol A does; the key would be ambiguous");
  EXPECT_EQ(c.rejected[1].exchange, "second");
  EXPECT_EQ(c.rejected[2].exchange, "third");
}

// Kraken Futures lists inverse contracts (PI_, FI_) and linear ones (PF_,
// FF_) of the same base, quote and expiry. Both are kept: the first by
// dataset symbol keeps the plain key it had before, the second takes the tag
// of its kind (INVERSE or LINEAR), on every day (also before it or its twin
// was listed, so a contract has one key); a contract without a twin keeps its
// plain key, and two of one kind, or a quanto, still clash as before.
// Before, the inverse perpetual PI_XBTUSD was rejected as ambiguous on every
// day. The listing is generated (real symbol names, and PV_ADAUSD, PQ_LTCUSD
// made up for the orders and kinds Kraken's own symbols do not give).
TEST(Instruments, AnInverseAndALinearContractOfTheSameTermsBothGetKeys) {
  auto details = tardis::ParseExchangeDetails(R"({"id":"cryptofacilities","datasets":{"symbols":[
    {"id":"PI_XBTUSD","type":"perpetual","availableSince":"2019-03-30T00:00:00.000Z","dataTypes":["trades"]},
    {"id":"PF_XBTUSD","type":"perpetual","availableSince":"2022-04-26T00:00:00.000Z","dataTypes":["trades"]},
    {"id":"FI_XBTUSD_240329","type":"future","availableSince":"2023-09-01T00:00:00.000Z","availableTo":"2024-03-29T16:00:00.000Z","dataTypes":["trades"]},
    {"id":"FF_XBTUSD_240329","type":"future","availableSince":"2023-09-01T00:00:00.000Z","availableTo":"2024-03-29T16:00:00.000Z","dataTypes":["trades"]},
    {"id":"PI_ETHUSD","type":"perpetual","availableSince":"2019-03-30T00:00:00.000Z","dataTypes":["trades"]},
    {"id":"PF_SOLUSD","type":"perpetual","availableSince":"2022-04-26T00:00:00.000Z","dataTypes":["trades"]},
    {"id":"PF_SOLUSD2","type":"perpetual","availableSince":"2022-04-26T00:00:00.000Z","dataTypes":["trades"]},
    {"id":"PI_ADAUSD","type":"perpetual","availableSince":"2019-03-30T00:00:00.000Z","dataTypes":["trades"]},
    {"id":"PV_ADAUSD","type":"perpetual","availableSince":"2022-04-26T00:00:00.000Z","dataTypes":["trades"]},
    {"id":"PI_LTCUSD","type":"perpetual","availableSince":"2019-03-30T00:00:00.000Z","dataTypes":["trades"]},
    {"id":"PQ_LTCUSD","type":"perpetual","availableSince":"2022-04-26T00:00:00.000Z","dataTypes":["trades"]}]}})",
                                              "cryptofacilities");
  ASSERT_TRUE(details.ok()) << details.status().message();
  auto record = [](const std::string& id, const std::string& base, bool inverse, const std::string& type,
                   const std::string& expiry, bool quanto = false) {
    return R"({"id":")" + id + R"(","datasetId":")" + id + R"(","exchange":"cryptofacilities","baseCurrency":")" +
           base + R"(","quoteCurrency":"USD","type":")" + type + R"(","active":true,)" +
           R"("availableSince":"2019-03-30T00:00:00.000Z","inverse":)" + (inverse ? "true" : "false") +
           R"(,"contractType":")" + (inverse ? "inverse_" : "linear_") + type + R"(","contractMultiplier":1,)" +
           R"("priceIncrement":0.5,"amountIncrement":1,"minTradeAmount":1)" +
           (expiry.empty() ? "" : R"(,"expiry":")" + expiry + "\"") + (quanto ? R"(,"quanto":true)" : "") + "}";
  };
  const std::string json = "[" + record("PI_XBTUSD", "BTC", true, "perpetual", "") + "," +
                           record("PF_XBTUSD", "BTC", false, "perpetual", "") + "," +
                           record("FI_XBTUSD_240329", "BTC", true, "future", "2024-03-29T16:00:00.000Z") + "," +
                           record("FF_XBTUSD_240329", "BTC", false, "future", "2024-03-29T16:00:00.000Z") + "," +
                           record("PI_ETHUSD", "ETH", true, "perpetual", "") + "," +
                           record("PF_SOLUSD", "SOL", false, "perpetual", "") + "," +
                           record("PF_SOLUSD2", "SOL", false, "perpetual", "") + "," +
                           record("PI_ADAUSD", "ADA", true, "perpetual", "") + "," +
                           record("PV_ADAUSD", "ADA", false, "perpetual", "") + "," +
                           record("PI_LTCUSD", "LTC", true, "perpetual", "") + "," +
                           record("PQ_LTCUSD", "LTC", false, "perpetual", "", true) + "]";
  auto records = tardis::ParseInstruments(json);
  ASSERT_TRUE(records.ok()) << records.status().message();
  Catalog c;
  AddExchange(*details, &*records, {}, &c);
  FinishCatalog(&c);
  std::map<std::string, std::string> key_of;
  for (const auto& e : c.entries) key_of[e.tardis_symbol()] = e.instrument_key();
  EXPECT_EQ(key_of["PF_XBTUSD"], "CRYPTOFACILITIES:PERPETUAL:BTC-USD");
  EXPECT_EQ(key_of["PI_XBTUSD"], "CRYPTOFACILITIES:PERPETUAL:BTC-USD-INVERSE");
  EXPECT_EQ(key_of["FF_XBTUSD_240329"], "CRYPTOFACILITIES:FUTURE:BTC-USD-240329");
  EXPECT_EQ(key_of["FI_XBTUSD_240329"], "CRYPTOFACILITIES:FUTURE:BTC-USD-240329-INVERSE");
  EXPECT_EQ(key_of["PI_ETHUSD"], "CRYPTOFACILITIES:PERPETUAL:ETH-USD");
  EXPECT_EQ(key_of["PF_SOLUSD"], "CRYPTOFACILITIES:PERPETUAL:SOL-USD");
  EXPECT_EQ(key_of.count("PF_SOLUSD2"), 0u);
  // The inverse one first: it keeps the plain key, the linear one is tagged.
  EXPECT_EQ(key_of["PI_ADAUSD"], "CRYPTOFACILITIES:PERPETUAL:ADA-USD");
  EXPECT_EQ(key_of["PV_ADAUSD"], "CRYPTOFACILITIES:PERPETUAL:ADA-USD-LINEAR");
  EXPECT_EQ(key_of["PI_LTCUSD"], "CRYPTOFACILITIES:PERPETUAL:LTC-USD");
  EXPECT_EQ(key_of.count("PQ_LTCUSD"), 0u) << "a quanto is not the linear twin";
  std::set<std::string> rejected;
  for (const auto& r : c.rejected) {
    rejected.insert(r.symbol);
    EXPECT_NE(r.reason.find("the key would be ambiguous"), std::string::npos) << r.reason;
  }
  EXPECT_EQ(rejected, (std::set<std::string>{"PF_SOLUSD2", "PQ_LTCUSD"}));
  ASSERT_EQ(c.warnings.size(), 3u);
  EXPECT_EQ(c.warnings[1], "cryptofacilities PV_ADAUSD: linear, beside the inverse PI_ADAUSD of the same terms; keyed "
                           "CRYPTOFACILITIES:PERPETUAL:ADA-USD-LINEAR");
  EXPECT_EQ(c.warnings[2], "cryptofacilities PI_XBTUSD: inverse, beside the linear PF_XBTUSD of the same terms; keyed "
                           "CRYPTOFACILITIES:PERPETUAL:BTC-USD-INVERSE");
  for (size_t i = 1; i < c.entries.size(); i++) {
    EXPECT_LT(c.entries[i - 1].instrument_key(), c.entries[i].instrument_key()) << "sorted by key";
  }
  // Before PF_XBTUSD was listed: the inverse perpetual is there, tagged.
  std::map<std::string, std::string> on_day;
  ForEachOnDay(c, Date{2021, 6, 1}, [&](const InstrumentDefinition& d) {
    on_day[d.tardis_symbol] = d.instrument_key;
    EXPECT_EQ(d.inverse, std::optional<bool>(d.tardis_symbol[1] == 'I')) << d.tardis_symbol;
  });
  EXPECT_EQ(on_day, (std::map<std::string, std::string>{{"PI_ADAUSD", "CRYPTOFACILITIES:PERPETUAL:ADA-USD"},
                                                        {"PI_ETHUSD", "CRYPTOFACILITIES:PERPETUAL:ETH-USD"},
                                                        {"PI_LTCUSD", "CRYPTOFACILITIES:PERPETUAL:LTC-USD"},
                                                        {"PI_XBTUSD", "CRYPTOFACILITIES:PERPETUAL:BTC-USD-INVERSE"}}));
  auto parsed = tardis::ParseInstrumentKey("CRYPTOFACILITIES:FUTURE:BTC-USD-240329-INVERSE");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->variant, "INVERSE");
  EXPECT_EQ(parsed->expiry, "240329");
  // Without a key nothing keys a venue without a symbol rule: the exchange's
  // rows are provisional (need_metadata), so the run with a key redoes them.
  // With a key whose records did not come (refused, or none for the venue),
  // a rerun could not do better: final.
  for (const bool without_key : {true, false}) {
    Catalog bare;
    CatalogOptions opts;
    opts.without_key = without_key;
    AddExchange(*details, nullptr, opts, &bare);
    FinishCatalog(&bare);
    EXPECT_TRUE(bare.entries.empty());
    EXPECT_EQ(bare.rejected.size(), 11u);
    EXPECT_EQ(bare.need_metadata, without_key ? std::set<std::string>{"cryptofacilities"} : std::set<std::string>{});
  }
}

// A catalog entry holds its definition packed and gives back every member
// as it was (the files written from it are those of the definition), with
// every optional member set and with none set; the packed entry is a small
// part of the definition's own size, for a listing of every option a venue
// ever listed.
TEST(Instruments, CatalogEntryPacksEveryMemberOfItsDefinition) {
  InstrumentDefinition full;
  full.instrument_key = "DERIBIT:OPTION:BTC-USD-240329-20000-C";
  full.venue = "DERIBIT";
  full.instrument_type = "OPTION";
  full.available_from_us = -1;
  full.available_to_us = 1711699200000000;
  full.data_types = std::string(300, 'd');  // a length of two varint bytes
  full.base_asset = "BTC";
  full.quote_asset = "USD";
  full.settle_asset = "BTC";
  full.exchange_raw_symbol = "BTC-29MAR24-20000-C";
  full.tardis_symbol = "BTC-29MAR24-20000-C";
  full.tardis_exchange = "deribit";
  full.data_provider = "tardis";
  full.venue_type = "exchange";
  full.asset_class = "crypto";
  full.inverse = false;
  full.symbol_type = "option";
  full.contract_type = "call_option";
  full.strike = 20000.5;
  full.option_type = "CALL";
  full.expiry_us = 1711699200000001;
  full.contract_size = 1;
  full.tick_size = 0.0001;
  full.settlement_type = "cash";
  full.underlying = "BTC-USD";
  full.min_size = 0.1;
  full.ccxt_symbol = "BTC/USD:BTC-240329-20000-C";
  full.ccxt_exchange = "deribit";
  full.price_currency = "BTC";
  full.amount_unit = "base";
  full.amount_increment = 0.1;
  full.min_trade_amount = 0.2;
  full.min_notional = -3.5;
  full.quanto = true;
  full.underlying_index = "btc_usd";
  full.expiration_type = "";
  full.active = false;
  full.listing_us = 1701388800000000;
  full.alias_for = "BTC-X";
  InstrumentDefinition bare;
  bare.instrument_key = "K";
  for (const InstrumentDefinition& d : {full, bare}) {
    const CatalogEntry e(tardis::InstrumentKey(), d);
    EXPECT_EQ(e.instrument_key(), d.instrument_key);
    EXPECT_EQ(e.tardis_symbol(), d.tardis_symbol);
    EXPECT_EQ(e.tardis_exchange(), d.tardis_exchange);
    EXPECT_EQ(e.available_from_us(), d.available_from_us);
    EXPECT_EQ(e.available_to_us(), d.available_to_us);
    EXPECT_EQ(FormatDefinitions({e.base()}, "json"), FormatDefinitions({d}, "json"));
    // Reused storage: a definition decoded over another one is this one.
    InstrumentDefinition over = d.instrument_key == "K" ? full : bare;
    e.DecodeBase(&over);
    EXPECT_EQ(FormatDefinitions({over}, "json"), FormatDefinitions({d}, "json"));
  }
  EXPECT_EQ(FormatDefinitions({CatalogEntry().base()}, "json"), FormatDefinitions({InstrumentDefinition()}, "json"));
  const CatalogEntry e(tardis::InstrumentKey(), full);
  const InstrumentDefinition back = e.base();
  EXPECT_EQ(back.strike, 20000.5);
  EXPECT_EQ(back.min_notional, -3.5);
  EXPECT_EQ(back.tick_size, 0.0001);
  EXPECT_EQ(back.inverse, false);
  EXPECT_EQ(back.quanto, true);
  EXPECT_EQ(back.active, false);
  EXPECT_EQ(back.expiration_type, "");
  EXPECT_EQ(back.data_types.size(), 300u);
  EXPECT_LE(sizeof(CatalogEntry), sizeof(InstrumentDefinition) / 8);
  EXPECT_LE(sizeof(CatalogEntry) + e.packed_bytes(), sizeof(InstrumentDefinition) / 2 + 300);
}

// Only a record with changes is kept beside the entry: without changes the
// base definition is every day's.
TEST(Instruments, EntriesHoldOnlyRecordsWithChanges) {
  const Catalog c = Build(true);
  size_t with_record = 0;
  for (const auto& e : c.entries) {
    if (!e.has_record()) continue;
    with_record++;
    InstrumentDefinition d;
    tardis::InstrumentKey key;
    tardis::InstrumentInfo record;
    e.Decode(&d, &key, &record);
    EXPECT_FALSE(record.changes.empty()) << d.instrument_key;
    EXPECT_EQ(key.ToString(), d.instrument_key);
    EXPECT_EQ(record.DatasetSymbolId(), d.tardis_symbol);
  }
  EXPECT_GT(with_record, 0u);
  EXPECT_LT(with_record, c.entries.size());
}

// Files merged at once: all eight for a usual catalog, fewer for one of
// tens of thousands of options, never none.
TEST(Instruments, FewerFilesInFlightForALargeCatalog) {
  EXPECT_EQ(InstrumentsFileWorkers(0), 8);
  EXPECT_EQ(InstrumentsFileWorkers(5000), 8);
  EXPECT_EQ(InstrumentsFileWorkers(25000), 8);
  EXPECT_EQ(InstrumentsFileWorkers(50000), 4);
  EXPECT_EQ(InstrumentsFileWorkers(100000), 2);
  EXPECT_EQ(InstrumentsFileWorkers(1000000), 1);
}

// The files merged at once share a budget of rows: one waits while its rows
// do not fit beside those in flight, one bigger than the cap takes the cap
// (and so waits to be alone), and what is held never exceeds the cap.
TEST(Instruments, FilesInFlightShareABudgetOfRows) {
  RowBudget budget(100);
  EXPECT_EQ(budget.Acquire(60), 60u);
  std::atomic<bool> second{false};
  std::thread t([&] {
    RowBudget::Hold h(&budget, 60);
    second = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(second.load()) << "60 more rows beside 60 in flight, under a cap of 100";
  budget.Release(60);
  t.join();
  EXPECT_TRUE(second.load());
  EXPECT_EQ(budget.peak(), 60u);
  EXPECT_EQ(budget.Acquire(1000), 100u);  // a file bigger than the cap: alone
  budget.Release(100);
  // Many files of mixed sizes from several threads: never more than the cap at once.
  std::atomic<size_t> held{0}, most{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; i++) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 50; k++) {
        const size_t rows = static_cast<size_t>(20 + 10 * ((i + k) % 7));  // 20 to 80
        RowBudget::Hold h(&budget, rows);
        const size_t now = held.fetch_add(rows) + rows;
        size_t m = most.load();
        while (now > m && !most.compare_exchange_weak(m, now)) {
        }
        held.fetch_sub(rows);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(most.load(), 100u);
  EXPECT_LE(budget.peak(), 100u);
  // A merge holds about the rows of the larger of the stored file and the catalog.
  EXPECT_EQ(MergeRowsEstimate(50000, 2000), 50000u);
  EXPECT_EQ(MergeRowsEstimate(0, 50000), 50000u);
}

TEST(Instruments, MetadataWinsOverTheSymbolAndSaysSo) {
  tardis::ExchangeDetails d;
  d.id = "binance-futures";
  d.symbols.push_back({"BTCUSDT", "perpetual", 0, std::nullopt, {"trades"}});
  tardis::InstrumentInfo info;
  info.id = "btcusdt";
  info.exchange = "binance-futures";
  info.base_currency = "BTC";
  info.quote_currency = "USDC";  // disagrees with the symbol
  info.type = "perpetual";
  info.terms.inverse = false;
  const std::vector<tardis::InstrumentInfo> infos = {info};
  Catalog c;
  AddExchange(d, &infos, {}, &c);
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(c.entries[0].base().instrument_key, "BINANCE-FUTURES:PERPETUAL:BTC-USDC");
  EXPECT_EQ(c.entries[0].base().exchange_raw_symbol, "btcusdt");  // the exchange-native id
  EXPECT_EQ(c.entries[0].base().settle_asset, "USDC");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("the symbol alone BINANCE-FUTURES:PERPETUAL:BTC-USDT; using the metadata"),
            std::string::npos);
}

// A venue whose listing names its options only as OPTIONS (no symbol rule):
// the options /v1/instruments has are its instruments, keyed by their
// records, available as the records say, with no data type of their own
// (their rows come in the grouped file). A listing that names options one by
// one keeps to them: a record it does not name adds nothing.
TEST(Instruments, OptionsListedOnlyAsAGroupedSymbolComeFromTheirRecords) {
  tardis::InstrumentInfo call;
  call.id = "BTC-USDT-240329-C-70000";
  call.exchange = "huobi-dm-options";
  call.base_currency = "BTC";
  call.quote_currency = "USDT";
  call.type = "option";
  call.strike_price = 70000;
  call.option_type = "call";
  call.terms.expiry_us = 1711699200000000;  // 2024-03-29T08:00Z
  call.available_since_us = 1706745600000000;  // 2024-02-01
  tardis::InstrumentInfo other = call;
  other.exchange = "deribit";  // another venue's record: not this one's
  const std::vector<tardis::InstrumentInfo> infos = {call, other};

  tardis::ExchangeDetails d;
  d.id = "huobi-dm-options";
  d.symbols.push_back({"OPTIONS", "option", 0, std::nullopt, {"trades", "quotes"}});
  Catalog c;
  AddExchange(d, &infos, {}, &c);
  ASSERT_EQ(c.entries.size(), 1u);
  const InstrumentDefinition& e = c.entries[0].base();
  EXPECT_EQ(e.instrument_key, "HUOBI-DM-OPTIONS:OPTION:BTC-USDT-240329-70000-CALL");
  EXPECT_EQ(e.tardis_symbol, "BTC-USDT-240329-C-70000");
  EXPECT_EQ(e.data_types, "");
  EXPECT_EQ(e.available_from_us, call.available_since_us);
  ASSERT_EQ(c.grouped.size(), 1u);
  EXPECT_EQ(c.grouped[0].symbol.id, "OPTIONS");

  // Without records, nothing: the symbols of this venue do not tell their type.
  Catalog none;
  AddExchange(d, static_cast<const std::vector<tardis::InstrumentInfo>*>(nullptr), {}, &none);
  EXPECT_TRUE(none.entries.empty());

  // A listing naming an option itself: only that one (a record it does not name is not an instrument here).
  d.symbols.push_back({"ETH-USDT-240329-P-3500", "option", 0, std::nullopt, {"trades"}});
  tardis::InstrumentInfo put = call;
  put.id = "ETH-USDT-240329-P-3500";
  put.base_currency = "ETH";
  put.strike_price = 3500;
  put.option_type = "put";
  const std::vector<tardis::InstrumentInfo> both = {call, put};
  Catalog listed;
  AddExchange(d, &both, {}, &listed);
  ASSERT_EQ(listed.entries.size(), 1u);
  EXPECT_EQ(listed.entries[0].base().instrument_key, "HUOBI-DM-OPTIONS:OPTION:ETH-USDT-240329-3500-PUT");
  EXPECT_EQ(listed.entries[0].base().data_types, "trades");
}

TEST(Instruments, OneFixedTypedColumnSet) {
  const auto& cols = InstrumentColumns();
  const char* names[] = {"instrument_key", "venue", "instrument_type", "available_from_datetime",
                         "available_to_datetime", "data_types", "base_asset", "quote_asset", "settle_asset",
                         "exchange_raw_symbol", "tardis_symbol", "tardis_exchange", "data_provider", "venue_type",
                         "asset_class", "inverse", "symbol_type", "contract_type", "strike", "option_type", "expiry",
                         "contract_size", "tick_size", "settlement_type", "underlying", "min_size", "ccxt_symbol",
                         "ccxt_exchange", "price_currency", "amount_unit", "amount_increment", "min_trade_amount",
                         "min_notional", "quanto", "underlying_index", "expiration_type", "active", "listing",
                         "alias_for"};
  ASSERT_EQ(cols.size(), std::size(names));
  for (size_t i = 0; i < cols.size(); i++) EXPECT_EQ(cols[i].name, names[i]);
  // The row group of any day, even an empty one, has every column in its type.
  const Catalog c = Build(true);
  for (const Date& d : {Date{2010, 1, 1}, Date{2025, 2, 14}}) {
    const auto defs = DefinitionsForDay(c, d);
    const auto rg = InstrumentRowGroup(defs);
    ASSERT_EQ(rg.columns.size(), cols.size());
    EXPECT_EQ(rg.num_rows, defs.size());
    for (size_t i = 0; i < cols.size(); i++) {
      EXPECT_EQ(rg.columns[i].kind, cols[i].kind);
      if (cols[i].nullable) {
        EXPECT_EQ(rg.columns[i].defined.size(), defs.size()) << cols[i].name;
        EXPECT_EQ(rg.columns[i].num_values() + rg.columns[i].null_count, defs.size()) << cols[i].name;
      } else {
        EXPECT_EQ(rg.columns[i].num_values(), defs.size()) << cols[i].name;
      }
    }
  }
}

}  // namespace
}  // namespace mt::pipeline

namespace mt::pipeline {
namespace {

// A stop flag set while an exchange's instruments are added ends the adding
// at the next symbol (a listing of many options takes seconds); unset, every
// instrument is added. (The flag was once not looked at.)
TEST(Instruments, AddExchangeStopsAtTheNextSymbolOnceTheStopIsSet) {
  tardis::ExchangeDetails d;
  d.id = "binance-futures";
  for (int i = 0; i < 1000; i++)
    d.symbols.push_back({"X" + std::to_string(i) + "USDT", "perpetual", 0, std::nullopt, {"trades"}});
  std::atomic<bool> stop{false};
  CatalogOptions opts;
  opts.stop = &stop;
  Catalog all;
  AddExchange(d, nullptr, opts, &all);
  EXPECT_EQ(all.entries.size(), 1000u);
  stop.store(true);
  Catalog none;
  AddExchange(d, nullptr, opts, &none);
  EXPECT_EQ(none.entries.size(), 0u);
}

}  // namespace
}  // namespace mt::pipeline
