#include "tardis/venues.h"

#include <algorithm>
#include <array>

namespace mt::tardis {

namespace {

constexpr VenueKind E = VenueKind::kExchange;
constexpr VenueKind P = VenueKind::kProtocol;
using M = Margining;

// Columns: id, kind (E exchange, P protocol), ccxt id, seed, spot-only,
// symbol rule, margining. FindVenue binary-searches by id.
constexpr std::array kVenues = {
    Venue{"ascendex",                 E, "",             false, false, false, M::kUnknown},
    Venue{"aster",                    E, "",             false, false, false, M::kUnknown},
    Venue{"aster-futures",            E, "",             false, false, false, M::kUnknown},
    Venue{"binance",                  E, "binance",      true,  false, true,  M::kUnknown},
    Venue{"binance-delivery",         E, "binancecoinm", true,  false, true,  M::kInverse},
    Venue{"binance-dex",              P, "",             false, false, false, M::kUnknown},
    Venue{"binance-european-options", E, "",             false, false, true,  M::kUnknown},
    Venue{"binance-futures",          E, "binanceusdm",  true,  false, true,  M::kLinear},
    Venue{"binance-jersey",           E, "",             false, false, false, M::kUnknown},
    Venue{"binance-options",          E, "",             false, false, true,  M::kUnknown},
    Venue{"binance-us",               E, "",             false, false, true,  M::kUnknown},
    Venue{"bitfinex",                 E, "",             false, true,  true,  M::kUnknown},
    Venue{"bitfinex-derivatives",     E, "",             false, false, false, M::kUnknown},
    Venue{"bitflyer",                 E, "",             false, false, false, M::kUnknown},
    Venue{"bitget",                   E, "",             false, false, false, M::kUnknown},
    Venue{"bitget-futures",           E, "",             false, false, false, M::kUnknown},
    Venue{"bitmex",                   E, "",             false, false, true,  M::kUnknown},
    Venue{"bitnomial",                E, "",             false, false, false, M::kUnknown},
    Venue{"bitstamp",                 E, "",             false, true,  true,  M::kUnknown},
    Venue{"blockchain-com",           E, "",             false, false, false, M::kUnknown},
    Venue{"bullish",                  E, "",             false, false, false, M::kUnknown},
    Venue{"bybit",                    E, "bybit",        true,  false, true,  M::kByQuote},
    Venue{"bybit-options",            E, "",             false, false, true,  M::kUnknown},
    Venue{"bybit-spot",               E, "bybit",        true,  false, true,  M::kUnknown},
    Venue{"coinbase",                 E, "",             false, true,  true,  M::kUnknown},
    Venue{"coinbase-international",   E, "",             false, false, false, M::kUnknown},
    Venue{"coinflex",                 E, "",             false, false, false, M::kUnknown},
    Venue{"crypto-com",               E, "",             false, false, false, M::kUnknown},
    Venue{"crypto-com-derivatives",   E, "",             false, false, false, M::kUnknown},
    Venue{"cryptofacilities",         E, "",             false, false, false, M::kUnknown},
    Venue{"delta",                    E, "",             false, false, false, M::kUnknown},
    Venue{"deribit",                  E, "deribit",      true,  false, true,  M::kByQuote},
    Venue{"dydx",                     P, "",             false, false, false, M::kUnknown},
    Venue{"dydx-v4",                  P, "",             false, false, false, M::kUnknown},
    Venue{"ftx",                      E, "",             false, false, false, M::kUnknown},
    Venue{"ftx-us",                   E, "",             false, false, false, M::kUnknown},
    Venue{"gate-io",                  E, "",             false, true,  true,  M::kUnknown},
    Venue{"gate-io-futures",          E, "",             false, false, false, M::kUnknown},
    Venue{"gemini",                   E, "",             false, true,  true,  M::kUnknown},
    Venue{"hitbtc",                   E, "",             false, false, false, M::kUnknown},
    Venue{"huobi",                    E, "",             false, true,  true,  M::kUnknown},
    Venue{"huobi-dm",                 E, "",             false, false, false, M::kUnknown},
    Venue{"huobi-dm-linear-swap",     E, "",             false, false, true,  M::kUnknown},
    Venue{"huobi-dm-options",         E, "",             false, false, false, M::kUnknown},
    Venue{"huobi-dm-swap",            E, "",             false, false, true,  M::kUnknown},
    Venue{"hyperliquid",              P, "",             false, false, false, M::kUnknown},
    Venue{"kraken",                   E, "",             false, true,  true,  M::kUnknown},
    Venue{"kucoin",                   E, "",             false, true,  true,  M::kUnknown},
    Venue{"kucoin-futures",           E, "",             false, false, false, M::kUnknown},
    Venue{"lighter",                  P, "",             false, false, false, M::kUnknown},
    Venue{"mango",                    P, "",             false, false, false, M::kUnknown},
    Venue{"mexc",                     E, "",             false, false, false, M::kUnknown},
    Venue{"mexc-futures",             E, "",             false, false, false, M::kUnknown},
    Venue{"okcoin",                   E, "",             false, true,  true,  M::kUnknown},
    Venue{"okex",                     E, "okx",          true,  false, true,  M::kUnknown},
    Venue{"okex-futures",             E, "okx",          true,  false, true,  M::kByQuote},
    Venue{"okex-options",             E, "okx",          true,  false, true,  M::kByQuote},
    Venue{"okex-spreads",             E, "",             false, false, true,  M::kUnknown},
    Venue{"okex-swap",                E, "okx",          true,  false, true,  M::kByQuote},
    Venue{"phemex",                   E, "",             false, false, false, M::kUnknown},
    Venue{"poloniex",                 E, "",             false, false, false, M::kUnknown},
    Venue{"polymarket",               P, "",             false, false, false, M::kUnknown},
    Venue{"serum",                    P, "",             false, false, false, M::kUnknown},
    Venue{"star-atlas",               P, "",             false, false, false, M::kUnknown},
    Venue{"upbit",                    E, "upbit",        true,  false, true,  M::kUnknown},
    Venue{"woo-x",                    E, "",             false, false, false, M::kUnknown},
};

constexpr bool ById(const Venue& a, const Venue& b) { return a.id < b.id; }
static_assert(std::is_sorted(kVenues.begin(), kVenues.end(), ById), "kVenues must be sorted by id");
static_assert(std::adjacent_find(kVenues.begin(), kVenues.end(),
                                 [](const Venue& a, const Venue& b) { return a.id == b.id; }) == kVenues.end(),
              "each id once");

}  // namespace

std::span<const Venue> Venues() { return kVenues; }

const Venue* FindVenue(std::string_view id) {
  const auto it = std::lower_bound(kVenues.begin(), kVenues.end(), id,
                                   [](const Venue& v, std::string_view key) { return v.id < key; });
  return it != kVenues.end() && it->id == id ? &*it : nullptr;
}

}  // namespace mt::tardis
