#include "tardis/instrument_key.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <tuple>

#include "pipeline/plan.h"
#include "storage/layout.h"
#include "tardis/file_name.h"

namespace mt::tardis {
namespace {

struct Case {
  const char* exchange;
  const char* symbol;
  const char* key;
};

TEST(InstrumentKey, RealSymbolsOfTheSeedVenues) {
  const Case cases[] = {
      {"binance-futures", "BTCUSDT", "BINANCE-FUTURES:PERPETUAL:BTC-USDT"},
      {"binance-futures", "1000PEPEUSDT", "BINANCE-FUTURES:PERPETUAL:1000PEPE-USDT"},
      {"binance-futures", "BTCUSDT_230929", "BINANCE-FUTURES:FUTURE:BTC-USDT-230929"},
      {"binance-delivery", "BTCUSD_PERP", "BINANCE-DELIVERY:PERPETUAL:BTC-USD"},
      {"binance-delivery", "ETHUSD_231229", "BINANCE-DELIVERY:FUTURE:ETH-USD-231229"},
      {"binance", "USDTTRY", "BINANCE:SPOT_PAIR:USDT-TRY"},
      {"binance", "ETHBTC", "BINANCE:SPOT_PAIR:ETH-BTC"},
      {"binance", "btcusdt", "BINANCE:SPOT_PAIR:BTC-USDT"},
      {"bybit-spot", "BTCUSDC", "BYBIT-SPOT:SPOT_PAIR:BTC-USDC"},
      {"bybit", "BTCUSD", "BYBIT:PERPETUAL:BTC-USD"},
      {"bitmex", "XBTUSD", "BITMEX:PERPETUAL:BTC-USD"},
      {"bitmex", "ETHUSDT", "BITMEX:PERPETUAL:ETH-USDT"},
      {"deribit", "BTC-PERPETUAL", "DERIBIT:PERPETUAL:BTC-USD"},
      {"deribit", "BTC_USDC-PERPETUAL", "DERIBIT:PERPETUAL:BTC-USDC"},
      {"deribit", "ETH-26JUN20", "DERIBIT:FUTURE:ETH-USD-200626"},
      {"deribit", "BTC-9JUN20-9875-P", "DERIBIT:OPTION:BTC-USD-200609-9875-PUT"},
      {"deribit", "BTC-26MAY23-30000-C", "DERIBIT:OPTION:BTC-USD-230526-30000-CALL"},
      {"deribit", "XRP_USDC-30JUN23-0d625-C", "DERIBIT:OPTION:XRP-USDC-230630-0.625-CALL"},
      {"deribit", "BTC_USDC", "DERIBIT:SPOT_PAIR:BTC-USDC"},
      {"okex-swap", "BTC-USDT-SWAP", "OKX-SWAP:PERPETUAL:BTC-USDT"},
      {"okex-swap", "BTC-USDC-SWAP", "OKX-SWAP:PERPETUAL:BTC-USDC"},
      {"okex-futures", "BTC-USD-200925", "OKX-FUTURES:FUTURE:BTC-USD-200925"},
      {"okex-futures", "BTC-USD_UM_XPERP-310404", "OKX-FUTURES:FUTURE:BTC-USD-310404-XPERP"},
      {"okex-options", "BTC-USD-230929-30000-C", "OKX-OPTIONS:OPTION:BTC-USD-230929-30000-CALL"},
      // A product suffix stays in option keys: both instruments trade side by side.
      {"okex-options", "BTC-USD_UM-260626-100000-C", "OKX-OPTIONS:OPTION:BTC-USD_UM-260626-100000-CALL"},
      {"binance-european-options", "BTC-240329-70000-C", "BINANCE-EUROPEAN-OPTIONS:OPTION:BTC-USDT-240329-70000-CALL"},
      {"binance-european-options", "DOGE-240329-0.165-P", "BINANCE-EUROPEAN-OPTIONS:OPTION:DOGE-USDT-240329-0.165-PUT"},
      {"bybit-options", "BTC-29MAR24-70000-C", "BYBIT-OPTIONS:OPTION:BTC-USDC-240329-70000-CALL"},
      {"bybit-options", "ETH-5APR24-3500-P-USDT", "BYBIT-OPTIONS:OPTION:ETH-USDT-240405-3500-PUT"},
      {"okex", "BTC-USDT", "OKX:SPOT_PAIR:BTC-USDT"},
      {"huobi-dm-swap", "BTC-USD", "HUOBI-DM-SWAP:PERPETUAL:BTC-USD"},
      {"upbit", "KRW-BTC", "UPBIT:SPOT_PAIR:BTC-KRW"},
  };
  for (const auto& c : cases) {
    auto k = KeyFromTardisSymbol(c.exchange, c.symbol);
    ASSERT_TRUE(k.ok()) << c.exchange << " " << c.symbol << ": " << k.status().message();
    EXPECT_EQ(k->ToString(), c.key) << c.exchange << " " << c.symbol;
    // The key parses back into the same parts.
    auto back = ParseInstrumentKey(k->ToString());
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->ToString(), c.key);
    EXPECT_EQ(back->base, k->base);
    EXPECT_EQ(back->quote, k->quote);
  }
}

// Rows of spot venues may spell the pair as the exchange does (Kraken
// XBT/USD) while the dataset symbol, which download keys, is the official
// clients' spelling (XBT-USD): convert and download must give one key. It
// failed with "expected BASE-QUOTE" for the row's spelling.
TEST(InstrumentKey, APairSpelledWithASlashIsTheSameKeyAsItsDatasetSymbol) {
  const Case cases[] = {
      {"kraken", "XBT/USD", "KRAKEN:SPOT_PAIR:BTC-USD"},
      {"kraken", "XBT-USD", "KRAKEN:SPOT_PAIR:BTC-USD"},
      {"coinbase", "btc/usd", "COINBASE:SPOT_PAIR:BTC-USD"},
      {"upbit", "KRW/BTC", "UPBIT:SPOT_PAIR:BTC-KRW"},
  };
  for (const auto& c : cases) {
    auto k = KeyFromTardisSymbol(c.exchange, c.symbol);
    ASSERT_TRUE(k.ok()) << c.exchange << " " << c.symbol << ": " << k.status().message();
    EXPECT_EQ(k->ToString(), c.key);
  }
  // Still two parts, each alphanumeric: nothing else becomes a key.
  for (const char* bad : {"XBT/USD/EUR", "XBT/", "/USD", "XBT/US.D", "XBT/../USD"}) {
    EXPECT_FALSE(KeyFromTardisSymbol("kraken", bad).ok()) << bad;
  }
}

// Issue: without instrument definitions Kraken's XBT/USD was keyed
// XBT-USD, with them (Tardis gives the base currency BTC) BTC-USD, so one
// store could hold two objects of one instrument. Kraken's own names of a
// currency are keyed by the code its definitions give, from the symbol and
// from the definitions alike, whichever name the definitions use.
TEST(InstrumentKey, KrakenCurrencyNamesAreKeyedAsTheDefinitionsNameThem) {
  const Case cases[] = {
      {"kraken", "XBT/USD", "KRAKEN:SPOT_PAIR:BTC-USD"},     {"kraken", "XBT-EUR", "KRAKEN:SPOT_PAIR:BTC-EUR"},
      {"kraken", "ETH/XBT", "KRAKEN:SPOT_PAIR:ETH-BTC"},     {"kraken", "XDG/USD", "KRAKEN:SPOT_PAIR:DOGE-USD"},
      {"kraken", "XDG-XBT", "KRAKEN:SPOT_PAIR:DOGE-BTC"},    {"kraken", "BTC/USD", "KRAKEN:SPOT_PAIR:BTC-USD"},
      {"kraken", "XTZ/USD", "KRAKEN:SPOT_PAIR:XTZ-USD"},     {"kraken", "XBTC-USD", "KRAKEN:SPOT_PAIR:XBTC-USD"},
      {"coinbase", "XBT-USD", "COINBASE:SPOT_PAIR:XBT-USD"},  // another venue's XBT is its own
  };
  for (const auto& c : cases) {
    auto k = KeyFromTardisSymbol(c.exchange, c.symbol);
    ASSERT_TRUE(k.ok()) << c.exchange << " " << c.symbol << ": " << k.status().message();
    EXPECT_EQ(k->ToString(), c.key) << c.exchange << " " << c.symbol;
  }
  // The definitions' record, with either name of the currency.
  for (const auto& [base, quote, key] :
       {std::tuple{"BTC", "USD", "KRAKEN:SPOT_PAIR:BTC-USD"}, std::tuple{"XBT", "USD", "KRAKEN:SPOT_PAIR:BTC-USD"},
        std::tuple{"DOGE", "USD", "KRAKEN:SPOT_PAIR:DOGE-USD"}, std::tuple{"XDG", "USD", "KRAKEN:SPOT_PAIR:DOGE-USD"},
        std::tuple{"ETH", "XBT", "KRAKEN:SPOT_PAIR:ETH-BTC"}}) {
    auto k = KeyFromMetadata("kraken", "XBT-USD", {"spot", base, quote});
    ASSERT_TRUE(k.ok()) << base << "/" << quote << ": " << k.status().message();
    EXPECT_EQ(k->ToString(), key);
  }
  EXPECT_EQ(KeyFromMetadata("coinbase", "XBT-USD", {"spot", "XBT", "USD"})->ToString(), "COINBASE:SPOT_PAIR:XBT-USD");
}

// Spot-only venues whose pairs are not BASE-QUOTE: every symbol was rejected
// ("expected BASE-QUOTE") by instruments without a key, convert and
// download, so these venues could not be stored at all without /v1/instruments.
TEST(InstrumentKey, SpotOnlyVenuesReadTheirPairsWhateverTheSeparator) {
  const Case cases[] = {
      {"bitstamp", "BTCUSD", "BITSTAMP:SPOT_PAIR:BTC-USD"},
      {"gemini", "ETHUSD", "GEMINI:SPOT_PAIR:ETH-USD"},
      // Stablecoin quotes ending in USD are the quote, not USD after a longer base.
      {"gemini", "BTCGUSD", "GEMINI:SPOT_PAIR:BTC-GUSD"},
      {"gemini", "ETHRLUSD", "GEMINI:SPOT_PAIR:ETH-RLUSD"},
      {"bitstamp", "BTCPYUSD", "BITSTAMP:SPOT_PAIR:BTC-PYUSD"},
      {"gemini", "MOGUSD", "GEMINI:SPOT_PAIR:MOG-USD"},  // not MO-GUSD: a base of two letters
      {"bitfinex", "BTCUSD", "BITFINEX:SPOT_PAIR:BTC-USD"},
      {"bitfinex", "DOGE:USD", "BITFINEX:SPOT_PAIR:DOGE-USD"},
      {"huobi", "BTCUSDT", "HUOBI:SPOT_PAIR:BTC-USDT"},
      {"huobi", "btcusdt", "HUOBI:SPOT_PAIR:BTC-USDT"},
      {"gate-io", "BTC_USDT", "GATE-IO:SPOT_PAIR:BTC-USDT"},
      {"kucoin", "BTC-USDT", "KUCOIN:SPOT_PAIR:BTC-USDT"},
  };
  for (const auto& c : cases) {
    auto k = KeyFromTardisSymbol(c.exchange, c.symbol);
    ASSERT_TRUE(k.ok()) << c.exchange << " " << c.symbol << ": " << k.status().message();
    EXPECT_EQ(k->ToString(), c.key);
    // The listing's spot type is the rule's: instruments keys it without metadata.
    auto listed = KeyFromListedSymbol(c.exchange, c.symbol, "spot");
    ASSERT_TRUE(listed.ok()) << listed.status().message();
    EXPECT_EQ(listed->ToString(), c.key);
  }
  for (const char* bad : {"FOOBAR", "BTC_USDT_X", "USD", "BTC.USD", "BTC__USDT", "BTCUSDT"}) {
    auto k = KeyFromTardisSymbol("gate-io", bad);
    EXPECT_FALSE(k.ok()) << bad << " -> " << (k.ok() ? k->ToString() : "");
  }
  // Only the venue's own spelling: a bare symbol is not paired with venues that write pairs otherwise.
  for (const auto& [ex, bad] : std::vector<std::pair<const char*, const char*>>{
           {"bitstamp", "BTC_USD"}, {"coinbase", "BTCUSD"}, {"kraken", "XBTUSD"}, {"huobi", "FOOBAR"}}) {
    auto k = KeyFromTardisSymbol(ex, bad);
    EXPECT_FALSE(k.ok()) << ex << " " << bad << " -> " << (k.ok() ? k->ToString() : "");
  }
}

// Binance lists coins named in another script (the binance-futures perpetual
// 币安人生USDT): the base is those letters, as Tardis's metadata names it.
// Signs, spaces and marks outside ASCII are no letters: a slash look-alike,
// an ideographic space, a right-to-left override or a broken sequence never
// ends up in a key.
TEST(InstrumentKey, BasesInAnotherScriptAreLetters) {
  auto k = KeyFromTardisSymbol("binance-futures", "币安人生USDT");
  ASSERT_TRUE(k.ok()) << k.status().message();
  EXPECT_EQ(k->ToString(), "BINANCE-FUTURES:PERPETUAL:币安人生-USDT");
  auto spot = KeyFromTardisSymbol("binance", "币安人生USDT");
  ASSERT_TRUE(spot.ok()) << spot.status().message();
  EXPECT_EQ(spot->ToString(), "BINANCE:SPOT_PAIR:币安人生-USDT");
  auto parsed = ParseInstrumentKey(k->ToString());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->base, "币安人生");
  // Nor do invisible ones that pass for letters: a format character (the
  // Mongolian vowel separator, a zero-width space, a tag), a combining mark
  // on nothing (the grapheme joiner, an accent), a filler, an Ogham space.
  for (const char* sym : {"A\u2215BUSDT", "A\u3000BUSDT", "A\u202EBUSDT", "A\xC3USDT", "\u00A0USDT", "A\uFEFFUSDT",
                          "\u180EUSDT", "A\u034FBUSDT", "\u3164USDT", "A\u0301USDT", "A\u200BBUSDT", "A\U000E0041USDT",
                          "A\u1680BUSDT", "\uFFA0USDT", "A\u0600USDT", "A\U000E0100USDT"}) {
    auto bad = KeyFromTardisSymbol("binance-futures", sym);
    EXPECT_FALSE(bad.ok()) << sym << " -> " << bad->ToString();
  }
}

TEST(InstrumentKey, UnreadableSymbolsAreErrorsWithReasons) {
  const std::pair<const char*, const char*> cases[] = {
      {"deribit", "OPTIONS"},        // grouped file
      {"bitmex", "XBTZ20"},          // dated future: needs metadata
      {"binance-futures", "FOOBAR"}, // no known quote
      {"deribit", "BTC-XYZ"},
      {"okex-futures", "BTC-USD"},   // future without expiry
      {"okex-swap", "BTC-USDT"},     // a swap without its -SWAP
      {"binance", ""},
      {"deribit", "BTC-9JUN20-../../ESC-C"},  // strikes are numbers: nothing else becomes a key
      {"deribit", "BTC-9JUN20-1/2-C"},
      {"okex-options", "BTC-USD-230929-3 0-C"},
      {"binance-european-options", "BTC-240329-70000"},
      {"bybit-options", "BTC-29MAR24-x-C"},
  };
  for (const auto& [ex, sym] : cases) {
    auto k = KeyFromTardisSymbol(ex, sym);
    ASSERT_FALSE(k.ok()) << ex << " " << sym << " -> " << (k.ok() ? k->ToString() : "");
    EXPECT_NE(k.status().message().find("cannot derive an instrument key"), std::string::npos);
  }
  // Hostile symbols never become keys with an empty, non-alphanumeric or
  // ':'-holding currency (a ':' breaks VENUE:TYPE:SYMBOL); Deribit's spot,
  // perpetual and future forms took any text around their '_' and '-'.
  const char* const hostile[] = {"../../X_Y", "A:B_C",          "Q\x1bQ_Q",     "BTC_",        "_USDC",
                                 "X:Y-PERPETUAL", "../X-PERPETUAL", "BTC_-PERPETUAL", "A B-29DEC23", ".._PERP",
                                 "..USDT",     "X\x1bUSDT",      "A..-B",         "KRW-..",      "A B-USD-SWAP"};
  for (const char* ex : {"deribit", "binance-futures", "binance", "bybit", "okex-swap", "okex", "bitmex",
                         "huobi-dm-swap", "upbit", "coinbase", "bitstamp", "gate-io", "binance-delivery"}) {
    for (const char* sym : hostile) {
      auto k = KeyFromTardisSymbol(ex, sym);
      if (!k.ok()) continue;
      for (const std::string& part : {k->base, k->quote}) {
        const bool alnum = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) != 0;
        });
        EXPECT_TRUE(alnum) << ex << " '" << sym << "' -> " << k->ToString();
      }
    }
  }
  // BitMEX symbols the rule does not read (a spot pair XBT_USDT, an up/down
  // contract XBT7D_U105) are named as given, not as the rule rewrote them
  // (BTC_USDT), and say that their key needs the instrument metadata.
  for (const char* sym : {"XBT_USDT", "XBT7D_U105"}) {
    auto k = KeyFromTardisSymbol("bitmex", sym);
    ASSERT_FALSE(k.ok()) << sym << " -> " << k->ToString();
    EXPECT_NE(k.status().message().find(std::string("symbol '") + sym + "' of exchange 'bitmex'"), std::string::npos)
        << k.status().message();
    EXPECT_EQ(k.status().message().find("BTC_"), std::string::npos) << k.status().message();
    EXPECT_NE(k.status().message().find("market-tick instruments"), std::string::npos) << k.status().message();
  }
}

TEST(Layout, TickObjectNamesRoundTrip) {
  const Date d{2020, 6, 8};
  const std::string name =
      storage::Layout().TickObjectName(d, "options_chain", "deribit", "DERIBIT:OPTION:BTC-USD-200609-9875-PUT");
  EXPECT_EQ(name,
            "raw_tick_data/by_date/day-2020-06-08/data_type-options_chain/"
            "DERIBIT:OPTION:BTC-USD-200609-9875-PUT.parquet");
  auto back = storage::Layout().ParseTickObjectName(name);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->day, d);
  EXPECT_EQ(back->data_type, "options_chain");
  EXPECT_EQ(back->instrument_key, "DERIBIT:OPTION:BTC-USD-200609-9875-PUT");
  EXPECT_FALSE(storage::Layout().ParseTickObjectName("raw_tick_data/by_date/day-2020-13-01/data_type-x/K.parquet"));
  EXPECT_FALSE(storage::Layout().ParseTickObjectName("raw_tick_data/by_date/day-2020-01-01/data_type-x/K.csv"));
  EXPECT_EQ(storage::Layout().InstrumentsObjectName(d),
            "instrument_availability/by_date/day-2020-06-08/instruments.parquet");
  EXPECT_EQ(storage::Layout().InstrumentsAggregateName(d, Date{2020, 7, 1}),
            "instrument_availability/aggregate/instruments_20200608_20200701.parquet");
  EXPECT_EQ(storage::Layout().MissingReportObjectName(d),
            "missing_data_reports/by_date/day-2020-06-08/missing_data.parquet");
}

TEST(FileName, OfficialClientNames) {
  auto p = ParseFileName("/x/okex-futures_derivative_ticker_2026-08-10_BTC-USD_UM_XPERP-310404.csv.gz");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->exchange, "okex-futures");
  EXPECT_EQ(p->data_type, "derivative_ticker");
  EXPECT_EQ(p->symbol, "BTC-USD_UM_XPERP-310404");
  EXPECT_EQ(p->date, (Date{2026, 8, 10}));
  auto q = ParseFileName("binance-futures_book_snapshot_25_2020-09-01_BTCUSDT.csv");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->data_type, "book_snapshot_25");
  EXPECT_FALSE(ParseFileName("trades.csv.gz").has_value());
  EXPECT_FALSE(ParseFileName("deribit_trades_2020-02-30_X.csv.gz").has_value());
  // What keeps such a name from parsing is said.
  EXPECT_EQ(NotADateInFileName("/d/deribit_trades_2020-02-30_X.csv.gz"), "2020-02-30");
  EXPECT_EQ(NotADateInFileName("deribit_trades_2020-02-29_X.csv.gz"), "");  // a day
  EXPECT_EQ(NotADateInFileName("trades.csv.gz"), "");
  EXPECT_EQ(NotADateInFileName("deribit_trades_2020-1-300_X.csv"), "");  // not date-shaped
}

TEST(TimeUtil, IsoMicrosAndDays) {
  EXPECT_EQ(FormatIsoMicros(1582329602418379), "2020-02-22T00:00:02.418379Z");
  EXPECT_EQ(FormatIsoMicros(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(DateFromMicros(1591574399413000), (Date{2020, 6, 7}));
  EXPECT_EQ(MicrosFromDate(Date{2020, 6, 8}), 1591574400000000);
  EXPECT_EQ(AddDays(Date{2024, 2, 28}, 1), (Date{2024, 2, 29}));
}

// HasSymbolRule reads the venue table's symbol-rule column, KeyFromTardisSymbol
// has the rules as code: over every Tardis exchange id, a ruled venue never answers
// "no symbol rule" and any other one always does, so the two cannot drift.
TEST(InstrumentKey, HasSymbolRuleMatchesTheRules) {
  const char* const samples[] = {"BTC-USD", "BTCUSDT", "BTC-PERPETUAL", "KRW-BTC", "BTC-USD-SWAP", "XBTUSD"};
  size_t ruled = 0;
  for (const std::string& ex : pipeline::KnownExchanges()) {
    const bool has = HasSymbolRule(ex);
    ruled += has;
    for (const char* sym : samples) {
      auto k = KeyFromTardisSymbol(ex, sym);
      const bool no_rule = !k.ok() && k.status().message().find("(no symbol rule)") != std::string::npos;
      EXPECT_EQ(no_rule, !has) << ex << " " << sym << ": " << (k.ok() ? k->ToString() : k.status().message());
    }
  }
  EXPECT_GE(ruled, 11u) << "the seed venues at least";
}

}  // namespace
}  // namespace mt::tardis
