#include "tardis/venues.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "pipeline/instruments.h"
#include "pipeline/plan.h"
#include "tardis/instrument_key.h"

namespace mt::tardis {
namespace {

// The ids pipeline::KnownExchanges listed before the venue table existed,
// copied as they stood (in that list's order): the table must keep them all.
const std::vector<std::string> kListedBefore = {
    "ascendex", "aster", "aster-futures", "binance", "binance-delivery", "binance-dex",
    "binance-european-options", "binance-futures", "binance-jersey", "binance-options", "binance-us",
    "bitfinex", "bitfinex-derivatives", "bitflyer", "bitget", "bitget-futures", "bitmex", "bitnomial",
    "bitstamp", "blockchain-com", "bullish", "bybit", "bybit-options", "bybit-spot", "coinbase",
    "coinbase-international", "coinflex", "crypto-com", "crypto-com-derivatives", "cryptofacilities",
    "delta", "deribit", "dydx", "dydx-v4", "ftx", "ftx-us", "gate-io", "gate-io-futures", "gemini",
    "hitbtc", "huobi", "huobi-dm", "huobi-dm-linear-swap", "huobi-dm-options", "huobi-dm-swap",
    "hyperliquid", "kraken", "kucoin", "kucoin-futures", "lighter", "mango", "mexc", "mexc-futures",
    "okcoin", "okex", "okex-futures", "okex-options", "okex-spreads", "okex-swap", "phemex", "polymarket",
    "poloniex", "serum", "star-atlas", "upbit", "woo-x"};

TEST(Venues, SortedByIdEachOnce) {
  const auto venues = Venues();
  ASSERT_FALSE(venues.empty());
  for (size_t i = 1; i < venues.size(); i++) {
    EXPECT_LT(venues[i - 1].id, venues[i].id) << "row " << i;
  }
}

TEST(Venues, KeepsEveryIdListedBefore) {
  for (const std::string& id : kListedBefore) {
    const Venue* v = FindVenue(id);
    ASSERT_NE(v, nullptr) << id;
    EXPECT_EQ(v->id, id);
  }
  EXPECT_EQ(Venues().size(), kListedBefore.size()) << "a new venue: add it to kListedBefore too";
  std::vector<std::string> sorted = kListedBefore;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(pipeline::KnownExchanges(), sorted);
}

TEST(Venues, UnknownIdHasNoRow) {
  EXPECT_EQ(FindVenue("binance-futurs"), nullptr);
  EXPECT_EQ(FindVenue(""), nullptr);
  EXPECT_EQ(FindVenue("Binance"), nullptr) << "ids are lower-case";
  EXPECT_EQ(FindVenue("zzz"), nullptr);
}

TEST(Venues, FactsPerColumn) {
  // kind
  EXPECT_EQ(FindVenue("dydx")->kind, VenueKind::kProtocol);
  EXPECT_EQ(FindVenue("hyperliquid")->kind, VenueKind::kProtocol);
  EXPECT_EQ(FindVenue("binance")->kind, VenueKind::kExchange);
  EXPECT_EQ(pipeline::VenueType("serum"), "protocol");
  EXPECT_EQ(pipeline::VenueType("deribit"), "exchange");
  EXPECT_EQ(pipeline::VenueType("not-a-venue"), "exchange");
  // ccxt
  EXPECT_EQ(FindVenue("binance-futures")->ccxt, "binanceusdm");
  EXPECT_EQ(FindVenue("binance-delivery")->ccxt, "binancecoinm");
  EXPECT_EQ(FindVenue("okex-swap")->ccxt, "okx");
  EXPECT_EQ(FindVenue("ftx")->ccxt, "");
  EXPECT_EQ(pipeline::CcxtExchange("bybit-spot"), "bybit");
  EXPECT_EQ(pipeline::CcxtExchange("coinbase"), "");
  EXPECT_EQ(pipeline::CcxtExchange("not-a-venue"), "");
  // seed: the venues with a ccxt id are exactly the seed venues
  size_t seeds = 0;
  for (const Venue& v : Venues()) {
    seeds += v.seed;
    EXPECT_EQ(v.seed, !v.ccxt.empty()) << v.id;
  }
  EXPECT_EQ(seeds, 11u);
  EXPECT_TRUE(FindVenue("upbit")->seed);
  EXPECT_FALSE(FindVenue("bitmex")->seed);
  // spot-only
  EXPECT_TRUE(FindVenue("coinbase")->spot_only);
  EXPECT_TRUE(IsSpotOnlyExchange("kraken"));
  EXPECT_FALSE(IsSpotOnlyExchange("binance"));
  EXPECT_FALSE(IsSpotOnlyExchange("coinbase-international"));
  EXPECT_FALSE(IsSpotOnlyExchange("not-a-venue"));
  // symbol rule
  EXPECT_TRUE(FindVenue("deribit")->symbol_rule);
  EXPECT_TRUE(HasSymbolRule("okex-spreads"));
  EXPECT_TRUE(HasSymbolRule("okex-something-new")) << "okex* ids share the OKX rule";
  EXPECT_FALSE(HasSymbolRule("dydx"));
  EXPECT_FALSE(HasSymbolRule("not-a-venue"));
  // margining
  EXPECT_EQ(FindVenue("binance-futures")->margining, Margining::kLinear);
  EXPECT_EQ(FindVenue("binance-delivery")->margining, Margining::kInverse);
  EXPECT_EQ(FindVenue("deribit")->margining, Margining::kByQuote);
  EXPECT_EQ(FindVenue("bitmex")->margining, Margining::kUnknown);
}

TEST(Venues, SpotOnlyVenuesHaveASymbolRule) {
  for (const Venue& v : Venues()) {
    if (v.spot_only) {
      EXPECT_TRUE(v.symbol_rule) << v.id;
    }
    if (v.margining != Margining::kUnknown) {
      EXPECT_TRUE(v.seed) << v.id;
    }
  }
}

}  // namespace
}  // namespace mt::tardis
