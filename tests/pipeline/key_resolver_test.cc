#include "pipeline/key_resolver.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "pipeline/instruments_file.h"
#include "storage/layout.h"
#include "storage/object_store.h"
#include "support/instrument_definitions.h"
#include "support/memory_store_double.h"

namespace mt::pipeline {
namespace {


const Date kDay{2024, 3, 1};

std::string KeyOf(const KeyResolver& r, const std::string& ex, const std::string& sym) {
  auto k = r.Resolve(ex, sym);
  return k.ok() ? k->ToString() : "error: " + k.status().message();
}

InstrumentDefinition Def(const std::string& ex, const std::string& sym, const std::string& key) {
  auto k = tardis::ParseInstrumentKey(key);
  EXPECT_TRUE(k.ok()) << key;
  InstrumentDefinition d = mt::testing::Definition(key, ex, sym, "trades", k->type);
  d.available_from_us = MicrosFromDate(Date{2020, 1, 1});
  d.base_asset = k->base;
  d.quote_asset = k->quote;
  d.symbol_type = "spot";
  return d;
}

// A day's definitions as `market-tick instruments` would write them with
// metadata: types and currencies from the metadata, not the symbols.
std::vector<InstrumentDefinition> Listing() {
  return {
      Def("dydx", "BTC-USD", "DYDX:PERPETUAL:BTC-USD"),
      Def("ftx", "BTC-PERP", "FTX:PERPETUAL:BTC-USD"),
      Def("binance", "BTCAEUR", "BINANCE:SPOT_PAIR:BTC-AEUR"),
      Def("binance", "AEURUSDT", "BINANCE:SPOT_PAIR:AEUR-USDT"),
      Def("binance", "ETHUSDT", "BINANCE:SPOT_PAIR:ETH-USDT"),
      Def("binance", "BTCUSDT", "BINANCE:SPOT_PAIR:BTC-USDT"),
  };
}

std::unique_ptr<DefinitionKeyResolver> FromDefs(const std::vector<InstrumentDefinition>& defs) {
  std::vector<DefinitionKeyResolver::Row> rows;
  for (const auto& d : defs) {
    rows.push_back({d.tardis_exchange, d.tardis_symbol, d.exchange_raw_symbol, d.instrument_key, d.base_asset,
                    d.quote_asset});
  }
  return std::make_unique<DefinitionKeyResolver>(kDay, rows);
}

TEST(KeyResolver, UnruledVenuesAreErrorsWithAHintNeverAGuessedType) {
  RuleKeyResolver rules;
  for (auto [ex, sym] : {std::pair{"dydx", "BTC-USD"}, std::pair{"ftx", "BTC-PERP"},
                         std::pair{"coinbase-international", "BTC-PERP"}}) {
    auto k = rules.Resolve(ex, sym);
    ASSERT_FALSE(k.ok()) << ex << " " << sym << " -> " << k->ToString();
    EXPECT_NE(k.status().message().find("cannot be read from the symbol"), std::string::npos) << k.status().message();
    EXPECT_NE(k.status().message().find("market-tick instruments"), std::string::npos) << k.status().message();
    EXPECT_NE(k.status().message().find("--output FILE.parquet"), std::string::npos) << k.status().message();
  }
  // Venues whose every symbol is a spot pair keep their keys.
  EXPECT_EQ(KeyOf(rules, "coinbase", "BTC-USD"), "COINBASE:SPOT_PAIR:BTC-USD");
  EXPECT_EQ(KeyOf(rules, "kraken", "XBT-EUR"), "KRAKEN:SPOT_PAIR:BTC-EUR");  // as its definitions name XBT
  // The rule of a seed venue is unchanged.
  EXPECT_EQ(KeyOf(rules, "binance", "BTCAEUR"), "BINANCE:SPOT_PAIR:BTCA-EUR");
  EXPECT_EQ(KeyOf(rules, "binance-futures", "BTCUSDT"), "BINANCE-FUTURES:PERPETUAL:BTC-USDT");
}

TEST(KeyResolver, ListedSpotSymbolsOfUnruledVenuesAreSpotPairs) {
  EXPECT_EQ(tardis::KeyFromListedSymbol("bitflyer", "BTC-JPY", "spot")->ToString(), "BITFLYER:SPOT_PAIR:BTC-JPY");
  // A venue without a symbol rule that writes its spot pairs BASE_QUOTE (crypto-com): listed as spot,
  // they are keyed; its other symbols still need the metadata.
  EXPECT_EQ(tardis::KeyFromListedSymbol("crypto-com", "BTC_USDT", "spot")->ToString(), "CRYPTO-COM:SPOT_PAIR:BTC-USDT");
  EXPECT_EQ(tardis::KeyFromListedSymbol("crypto-com", "BTC-USDT", "spot")->ToString(), "CRYPTO-COM:SPOT_PAIR:BTC-USDT");
  EXPECT_FALSE(tardis::KeyFromListedSymbol("crypto-com", "BTC_USDT", "perpetual").ok());
  EXPECT_FALSE(tardis::KeyFromListedSymbol("crypto-com", "A_B_C", "spot").ok());
  EXPECT_FALSE(tardis::KeyFromListedSymbol("crypto-com", "BTC_../X", "spot").ok());
  EXPECT_FALSE(tardis::KeyFromListedSymbol("dydx", "BTC-USD", "perpetual").ok());
  EXPECT_FALSE(tardis::KeyFromListedSymbol("ftx", "BTC-PERP", "perpetual").ok());
  EXPECT_EQ(tardis::KeyFromListedSymbol("deribit", "BTC-PERPETUAL", "perpetual")->ToString(),
            "DERIBIT:PERPETUAL:BTC-USD");
}

TEST(KeyResolver, DefinitionsKeyEverySymbolTheyList) {
  auto r = FromDefs(Listing());
  EXPECT_EQ(r->size(), 6u);
  EXPECT_EQ(KeyOf(*r, "dydx", "BTC-USD"), "DYDX:PERPETUAL:BTC-USD");
  EXPECT_EQ(KeyOf(*r, "ftx", "btc-perp"), "FTX:PERPETUAL:BTC-USD");  // rows may differ in case
  EXPECT_EQ(KeyOf(*r, "binance", "BTCAEUR"), "BINANCE:SPOT_PAIR:BTC-AEUR");
  // Not listed: the rule, where it tells the type.
  EXPECT_EQ(KeyOf(*r, "binance-futures", "ETHUSDT"), "BINANCE-FUTURES:PERPETUAL:ETH-USDT");
  const std::string unlisted = KeyOf(*r, "dydx", "ETH-USD");
  EXPECT_NE(unlisted.find("error: "), std::string::npos) << unlisted;
  EXPECT_NE(unlisted.find("do not list it"), std::string::npos) << unlisted;
  EXPECT_NE(unlisted.find("2024-03-01"), std::string::npos) << unlisted;
}

// Rows spell some symbols as the exchange does (ascendex `BTC/USDT`, bitfinex-derivatives
// `BTCF0:USTF0`); a listing without /v1/instruments records has only the dataset symbol.
TEST(KeyResolver, RowSymbolsTakeTheKeyOfTheDatasetSymbolTheyNameAFileBy) {
  auto r = FromDefs({Def("ascendex", "BTC-USDT", "ASCENDEX:SPOT_PAIR:BTC-USDT"),
                     Def("bitfinex-derivatives", "BTCF0-USTF0", "BITFINEX-DERIVATIVES:PERPETUAL:BTC-USDT")});
  EXPECT_EQ(KeyOf(*r, "ascendex", "BTC/USDT"), "ASCENDEX:SPOT_PAIR:BTC-USDT");
  EXPECT_EQ(KeyOf(*r, "ascendex", "btc/usdt"), "ASCENDEX:SPOT_PAIR:BTC-USDT");
  EXPECT_EQ(KeyOf(*r, "bitfinex-derivatives", "BTCF0:USTF0"), "BITFINEX-DERIVATIVES:PERPETUAL:BTC-USDT");
  const std::string other = KeyOf(*r, "ascendex", "ETH/USDT");
  EXPECT_NE(other.find("do not list it"), std::string::npos) << other;
}

// The other way round: a listing that spells the symbol as the exchange does
// (BTCF0:USTF0), and an item pinned on the command line by its dataset symbol
// (BTCF0-USTF0, the file's name): the same instrument.
TEST(KeyResolver, DatasetSymbolsTakeTheKeyOfTheListedSymbolTheyName) {
  auto r = FromDefs({Def("bitfinex-derivatives", "BTCF0:USTF0", "BITFINEX-DERIVATIVES:PERPETUAL:BTC-USDT"),
                     Def("kraken", "XBT/USD", "KRAKEN:SPOT_PAIR:BTC-USD")});
  EXPECT_EQ(KeyOf(*r, "bitfinex-derivatives", "BTCF0-USTF0"), "BITFINEX-DERIVATIVES:PERPETUAL:BTC-USDT");
  EXPECT_EQ(KeyOf(*r, "bitfinex-derivatives", "BTCF0:USTF0"), "BITFINEX-DERIVATIVES:PERPETUAL:BTC-USDT");
  EXPECT_EQ(KeyOf(*r, "kraken", "XBT-USD"), "KRAKEN:SPOT_PAIR:BTC-USD");
}

TEST(KeyResolver, ConcatenatedSpotSymbolsTakeTheSplitTheListingConfirms) {
  auto r = FromDefs(Listing());
  // ETHAEUR is not listed; the rule would read ETHA-EUR. ETH and AEUR are
  // both currencies of the venue's instruments, ETHA is none.
  EXPECT_EQ(KeyOf(*r, "binance", "ETHAEUR"), "BINANCE:SPOT_PAIR:ETH-AEUR");
  // The rule's split stands when the venue knows its currencies (or no
  // other split is known either).
  EXPECT_EQ(KeyOf(*r, "binance", "ETHBTC"), "BINANCE:SPOT_PAIR:ETH-BTC");
  EXPECT_EQ(KeyOf(*r, "binance", "XYZEUR"), "BINANCE:SPOT_PAIR:XYZ-EUR");
  // Without definitions the rule alone.
  EXPECT_EQ(KeyOf(RuleKeyResolver(), "binance", "ETHAEUR"), "BINANCE:SPOT_PAIR:ETHA-EUR");
}

class StoreKeyResolversTest : public ::testing::Test {
 protected:
  // The resolvers read objects only: an in-memory store (no temporary
  // directory).
  std::unique_ptr<mt::testing::MemoryStoreDouble> store_ = std::make_unique<mt::testing::MemoryStoreDouble>();
};

TEST_F(StoreKeyResolversTest, TheDayDefinitionsWhenStoredElseTheRules) {
  ASSERT_TRUE(WriteInstrumentsFile(store_.get(), storage::Layout().InstrumentsObjectName(kDay), Listing(), {}, {}, true).ok());
  StoreKeyResolvers keys(store_.get());
  auto with = keys.ForDay(kDay);
  ASSERT_TRUE(with.ok()) << with.status().message();
  EXPECT_EQ(KeyOf(**with, "dydx", "BTC-USD"), "DYDX:PERPETUAL:BTC-USD");
  EXPECT_EQ(KeyOf(**with, "binance", "BTCAEUR"), "BINANCE:SPOT_PAIR:BTC-AEUR");
  auto again = keys.ForDay(kDay);
  EXPECT_EQ(*again, *with);  // loaded once
  auto without = keys.ForDay(AddDays(kDay, 1));
  ASSERT_TRUE(without.ok());
  EXPECT_NE(KeyOf(**without, "dydx", "BTC-USD").find("cannot be read from the symbol"), std::string::npos);
  EXPECT_EQ(KeyOf(**without, "binance", "BTCAEUR"), "BINANCE:SPOT_PAIR:BTCA-EUR");
  StoreKeyResolvers no_store(nullptr);
  EXPECT_EQ(KeyOf(**no_store.ForDay(kDay), "binance", "BTCAEUR"), "BINANCE:SPOT_PAIR:BTCA-EUR");
}

TEST_F(StoreKeyResolversTest, UnreadableDefinitionsAreAnErrorNotTheRules) {
  const Date day{2024, 3, 2};
  store_->Put(storage::Layout().InstrumentsObjectName(day), "not parquet at all, and long enough to have a tail");
  StoreKeyResolvers keys(store_.get());
  auto r = keys.ForDay(day);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("instrument definitions of 2024-03-02"), std::string::npos)
      << r.status().message();
}

// The cache holds a few days, least recently used out first, so a long date
// range does not keep every day's definitions; a resolver handed out stays
// valid after its day is dropped.
TEST_F(StoreKeyResolversTest, KeepsAFewDaysLeastRecentlyUsedOut) {
  ASSERT_TRUE(WriteInstrumentsFile(store_.get(), storage::Layout().InstrumentsObjectName(kDay), Listing(), {}, {}, true).ok());
  StoreKeyResolvers keys(store_.get(), 2);
  const Date d1 = AddDays(kDay, 1), d2 = AddDays(kDay, 2), d3 = AddDays(kDay, 3);
  auto held = keys.ForDay(kDay);
  ASSERT_TRUE(held.ok()) << held.status().message();
  ASSERT_TRUE(keys.ForDay(d1).ok());
  ASSERT_TRUE(keys.ForDay(kDay).ok());  // kDay used last: d1 is the oldest
  EXPECT_EQ(keys.loads(), 2u);
  ASSERT_TRUE(keys.ForDay(d2).ok());
  EXPECT_EQ(keys.loads(), 3u);
  EXPECT_EQ(keys.evictions(), 1u);
  ASSERT_TRUE(keys.ForDay(kDay).ok());  // still cached
  EXPECT_EQ(keys.loads(), 3u);
  ASSERT_TRUE(keys.ForDay(d1).ok());  // dropped before: read again, d2 goes
  EXPECT_EQ(keys.loads(), 4u);
  EXPECT_EQ(keys.evictions(), 2u);
  // A run over 30 days reads each once and never holds more than two.
  for (int i = 0; i < 30; i++) ASSERT_TRUE(keys.ForDay(AddDays(d3, i)).ok());
  EXPECT_EQ(keys.loads(), 34u);
  EXPECT_EQ(keys.evictions(), 32u);
  // kDay is long gone from the cache; the resolver held keys as before.
  EXPECT_EQ(KeyOf(**held, "dydx", "BTC-USD"), "DYDX:PERPETUAL:BTC-USD");
}

// A listing of `n` spot pairs, each symbol and key too long to be stored
// inline in a string.
std::vector<InstrumentDefinition> LongListing(int n) {
  std::vector<InstrumentDefinition> defs;
  for (int i = 0; i < n; i++) {
    const std::string base = "LONGCOINNAME" + std::to_string(100000 + i);
    defs.push_back(Def("binance", base + "USDT", "BINANCE:SPOT_PAIR:" + base + "-USDT"));
  }
  return defs;
}

// Days of large listings are dropped beyond the byte budget even when the
// day count would keep them; days without definitions cost nothing.
TEST_F(StoreKeyResolversTest, DropsDaysBeyondTheByteBudget) {
  const Date d1 = AddDays(kDay, 1), d2 = AddDays(kDay, 2), bare = AddDays(kDay, 3);
  for (Date d : {kDay, d1, d2}) {
    ASSERT_TRUE(
        WriteInstrumentsFile(store_.get(), storage::Layout().InstrumentsObjectName(d), LongListing(2000), {}, {}, true)
            .ok());
  }
  // The estimate: at least a map node and the long strings per instrument,
  // and it grows with the listing.
  auto small = FromDefs(LongListing(1000));
  auto large = FromDefs(LongListing(2000));
  EXPECT_GT(small->MemoryBytes(), 1000u * 200);
  EXPECT_GT(large->MemoryBytes(), small->MemoryBytes() * 19 / 10);
  EXPECT_LT(large->MemoryBytes(), small->MemoryBytes() * 21 / 10);

  const size_t day_bytes = large->MemoryBytes();
  StoreKeyResolvers keys(store_.get(), 10, day_bytes * 3 / 2);  // room for one such day, not two
  auto held = keys.ForDay(kDay);
  ASSERT_TRUE(held.ok()) << held.status().message();
  EXPECT_EQ(keys.cached_bytes(), day_bytes);
  ASSERT_TRUE(keys.ForDay(bare).ok());  // no definitions: free, nothing dropped
  EXPECT_EQ(keys.evictions(), 0u);
  EXPECT_EQ(keys.cached_bytes(), day_bytes);
  ASSERT_TRUE(keys.ForDay(d1).ok());  // kDay goes
  EXPECT_EQ(keys.loads(), 3u);
  EXPECT_EQ(keys.evictions(), 1u);
  EXPECT_EQ(keys.cached_bytes(), day_bytes);
  ASSERT_TRUE(keys.ForDay(d2).ok());  // d1 goes; bare, older, stays (it costs nothing)
  EXPECT_EQ(keys.evictions(), 2u);
  ASSERT_TRUE(keys.ForDay(bare).ok());
  EXPECT_EQ(keys.loads(), 4u);
  ASSERT_TRUE(keys.ForDay(kDay).ok());  // read again
  EXPECT_EQ(keys.loads(), 5u);
  EXPECT_EQ(keys.evictions(), 3u);
  EXPECT_EQ(keys.cached_bytes(), day_bytes);
  // A day larger than the whole budget is still kept while it is the last
  // one loaded.
  StoreKeyResolvers tight(store_.get(), 10, 1);
  ASSERT_TRUE(tight.ForDay(kDay).ok());
  ASSERT_TRUE(tight.ForDay(kDay).ok());
  EXPECT_EQ(tight.loads(), 1u);
  ASSERT_TRUE(tight.ForDay(d1).ok());
  EXPECT_EQ(tight.evictions(), 1u);
  // The resolver handed out keys as before.
  EXPECT_EQ(KeyOf(**held, "binance", "LONGCOINNAME100007USDT"), "BINANCE:SPOT_PAIR:LONGCOINNAME100007-USDT");
}

TEST_F(StoreKeyResolversTest, ManyWorkersOnOneDayReadItOnce) {
  ASSERT_TRUE(WriteInstrumentsFile(store_.get(), storage::Layout().InstrumentsObjectName(kDay), Listing(), {}, {}, true).ok());
  StoreKeyResolvers keys(store_.get());
  std::vector<std::thread> threads;
  std::vector<std::string> got(8);
  for (size_t t = 0; t < got.size(); t++) {
    threads.emplace_back([&, t] {
      auto r = keys.ForDay(kDay);
      got[t] = r.ok() ? KeyOf(**r, "dydx", "BTC-USD") : r.status().message();
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& g : got) EXPECT_EQ(g, "DYDX:PERPETUAL:BTC-USD");
  EXPECT_EQ(keys.loads(), 1u);
}

// A file whose name gives no day is keyed by each row's day.
TEST_F(StoreKeyResolversTest, RowDayResolverKeysByTheRowsDay) {
  ASSERT_TRUE(WriteInstrumentsFile(store_.get(), storage::Layout().InstrumentsObjectName(kDay), Listing(), {}, {}, true).ok());
  StoreKeyResolvers keys(store_.get());
  const RowDayKeyResolver by_row(&keys);
  auto on = by_row.ResolveOn(kDay, "dydx", "BTC-USD");
  ASSERT_TRUE(on.ok()) << on.status().message();
  EXPECT_EQ(on->ToString(), "DYDX:PERPETUAL:BTC-USD");
  auto other = by_row.ResolveOn(AddDays(kDay, 1), "dydx", "BTC-USD");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("no symbol rule"), std::string::npos) << other.status().message();
  EXPECT_FALSE(by_row.Resolve("dydx", "BTC-USD").ok()) << "no day: an error, never a guess";
}

}  // namespace
}  // namespace mt::pipeline
