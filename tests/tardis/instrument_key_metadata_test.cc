// The metadata-aware key path (KeyFromMetadata) and the Bybit symbol forms.
#include <gtest/gtest.h>

#include <cmath>

#include "tardis/instrument_key.h"
#include "tardis/metadata.h"

namespace mt::tardis {
namespace {

int64_t Us(const char* iso) { return *ParseIsoMicros(iso); }

TEST(KeyFromMetadata, RealRecordsAndTheIssueCases) {
  struct Case {
    const char* exchange;
    const char* symbol;
    SymbolFacts facts;
    const char* key;
  };
  const Case cases[] = {
      // fixtures/tardis/json records
      {"deribit", "BTC_USDC", {"spot", "BTC", "USDC"}, "DERIBIT:SPOT_PAIR:BTC-USDC"},
      {"deribit", "BTC-14FEB25", {"future", "BTC", "USD", Us("2025-02-14T08:00:00.000Z")},
       "DERIBIT:FUTURE:BTC-USD-250214"},
      {"deribit", "BTC-25APR25-200000-P", {"option", "BTC", "BTC", Us("2025-04-25T08:00:00.000Z"), 200000, "put"},
       "DERIBIT:OPTION:BTC-USD-250425-200000-PUT"},
      {"okex-futures", "BTC-USD_UM_XPERP-310404",
       {"future", "BTC", "USD_UM_XPERP", Us("2031-04-04T08:00:00.000Z")}, "OKX-FUTURES:FUTURE:BTC-USD-310404-XPERP"},
      {"bitmex", "XBTUSD", {"perpetual", "BTC", "USD"}, "BITMEX:PERPETUAL:BTC-USD"},
      // The defects of the existing system, with what Tardis metadata says.
      {"deribit", "BTC-PERPETUAL", {"perpetual", "BTC", "USD"}, "DERIBIT:PERPETUAL:BTC-USD"},
      {"deribit", "BTC_USDC-PERPETUAL", {"perpetual", "BTC", "USDC"}, "DERIBIT:PERPETUAL:BTC-USDC"},
      {"binance", "USDTTRY", {"spot", "USDT", "TRY"}, "BINANCE:SPOT_PAIR:USDT-TRY"},
      {"binance-futures", "1000PEPEUSDT", {"perpetual", "1000PEPE", "USDT"}, "BINANCE-FUTURES:PERPETUAL:1000PEPE-USDT"},
      // Linear USDC option with a fractional strike; the expiry day is UTC.
      {"deribit", "XRP_USDC-30JUN23-0d625-C", {"option", "XRP", "USDC", Us("2023-06-30T08:00:00Z"), 0.625, "call"},
       "DERIBIT:OPTION:XRP-USDC-230630-0.625-CALL"},
      // BitMEX dated future: the symbol alone cannot say its day; metadata can.
      {"bitmex", "XBTZ20", {"future", "BTC", "USD", Us("2020-12-25T12:00:00Z")}, "BITMEX:FUTURE:BTC-USD-201225"},
      // Bybit inverse future by month code.
      {"bybit", "BTCUSDH23", {"future", "BTC", "USD", Us("2023-03-31T08:00:00Z")}, "BYBIT:FUTURE:BTC-USD-230331"},
      {"upbit", "KRW-BTC", {"spot", "btc", "krw"}, "UPBIT:SPOT_PAIR:BTC-KRW"},
  };
  for (const auto& c : cases) {
    auto k = KeyFromMetadata(c.exchange, c.symbol, c.facts);
    ASSERT_TRUE(k.ok()) << c.exchange << " " << c.symbol << ": " << k.status().message();
    EXPECT_EQ(k->ToString(), c.key) << c.exchange << " " << c.symbol;
    auto back = ParseInstrumentKey(k->ToString());
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->ToString(), c.key);
  }
}

// A base currency Tardis names in another script (binance-futures
// 币安人生USDT) is keyed as named; a sign there is not.
TEST(KeyFromMetadata, CurrenciesInAnotherScript) {
  auto k = KeyFromMetadata("binance-futures", "币安人生USDT", {"perpetual", "币安人生", "USDT"});
  ASSERT_TRUE(k.ok()) << k.status().message();
  EXPECT_EQ(k->ToString(), "BINANCE-FUTURES:PERPETUAL:币安人生-USDT");
  EXPECT_FALSE(KeyFromMetadata("binance-futures", "X", {"perpetual", "A\u2215B", "USDT"}).ok());
}

TEST(KeyFromMetadata, WhatMetadataCannotKeyIsAnErrorWithAReason) {
  const std::pair<SymbolFacts, const char*> cases[] = {
      {{"swap", "BTC", "USD"}, "Tardis type 'swap' has no key type"},
      // Combos and prediction markets are keyed by the symbol, which must be plain.
      {{"combo", "BTC", "USD", Us("2025-03-28T08:00:00Z")}, "may hold only A-Z, 0-9"},
      {{"prediction", "X", "USD"}, "may hold only A-Z, 0-9"},
      {{"spot", "", "USD"}, "no usable baseCurrency/quoteCurrency"},
      {{"spot", "BTC-X", "USD"}, "no usable baseCurrency/quoteCurrency"},
      {{"future", "BTC", "USD"}, "no expiry for a future"},
      {{"option", "ETH", "USD", Us("2025-04-25T08:00:00Z"), std::nullopt, "put"}, "no positive strikePrice"},
      {{"option", "ETH", "USD", Us("2025-04-25T08:00:00Z"), 100.0, "straddle"}, "optionType 'straddle'"},
      // Quoted in its base, and the symbol does not name the strike currency.
      {{"option", "BTC", "BTC", Us("2025-04-25T08:00:00Z"), 1.0, "call"}, "strike currency cannot be read"},
  };
  for (const auto& [facts, want] : cases) {
    auto k = KeyFromMetadata("deribit", "WEIRD-SYMBOL/1", facts);
    ASSERT_FALSE(k.ok()) << facts.type << " -> " << k->ToString();
    EXPECT_NE(k.status().message().find(want), std::string::npos) << k.status().message();
    EXPECT_NE(k.status().message().find("cannot derive an instrument key"), std::string::npos);
  }
}

TEST(KeyFromMetadata, StrikesAreShortestPlainDecimals) {
  EXPECT_EQ(FormatStrike(30000), "30000");
  EXPECT_EQ(FormatStrike(0.625), "0.625");
  EXPECT_EQ(FormatStrike(0.0000125), "0.0000125");
  EXPECT_EQ(FormatStrike(1.1), "1.1");
  EXPECT_EQ(FormatStrike(123456.5), "123456.5");
  EXPECT_EQ(KeyTypeForTardisType("perpetual"), "PERPETUAL");
  EXPECT_EQ(KeyTypeForTardisType("combo"), "COMBO");
  EXPECT_EQ(KeyTypeForTardisType("prediction"), "PREDICTION");
  EXPECT_EQ(KeyTypeForTardisType("swap"), "");
}

TEST(KeyFromSymbol, BybitForms) {
  auto perp = KeyFromTardisSymbol("bybit", "BTCPERP");
  ASSERT_TRUE(perp.ok()) << perp.status().message();
  EXPECT_EQ(perp->ToString(), "BYBIT:PERPETUAL:BTC-USDC");
  EXPECT_EQ(KeyFromTardisSymbol("bybit", "1000PEPEUSDT")->ToString(), "BYBIT:PERPETUAL:1000PEPE-USDT");
  auto fut = KeyFromTardisSymbol("bybit", "BTCUSDH23");
  ASSERT_FALSE(fut.ok());
  EXPECT_NE(fut.status().message().find("month code 'H23'"), std::string::npos);
}

}  // namespace
}  // namespace mt::tardis
