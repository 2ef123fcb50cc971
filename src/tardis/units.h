// The unit of every numeric column, per venue: one table (units.cc) that
// docs/SCHEMAS.md ("Units per venue") and `market-tick schemas --exchange X`
// are generated from. Tardis passes the exchanges' numbers through as the
// venue sends them, so the same column means different things on different
// venues (BitMEX XBTUSD amounts are 1-USD contracts, Binance USDT-M amounts
// are coins); docs/TARDIS-DATA.md says where each fact comes from.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mt::tardis {

// What a numeric column measures. Its unit then depends on the venue and
// the kind of instrument (see UnitFact).
enum class Quantity {
  kPrice,            // price of the row's instrument: trades, quotes, book levels, last/mark price; an option's premium
  kAmount,           // size: trade, liquidation, book level (incremental_book_L2, book_snapshot_N *_volume_N), quote
  kOpenInterest,
  kFundingRate,      // funding_rate, predicted_funding_rate
  kReferencePrice,   // index_price; options_chain underlying_price and strike_price
  kImpliedVolatility,
  kGreek,            // delta, gamma, vega, theta, rho
};
std::string_view QuantityName(Quantity q);

// The quantity of a numeric (DOUBLE) column of a raw data type's schema;
// false for a column that is not numeric or not known.
bool QuantityOf(std::string_view data_type, std::string_view column, Quantity* out);

// Which instruments of a venue a fact applies to.
enum class Instruments {
  kAll,
  kSpot,
  kLinear,   // linear futures and perpetuals (margined and settled in the quote, e.g. USDT)
  kInverse,  // inverse futures and perpetuals (quoted in USD, margined and settled in the coin)
  kOption,
};
std::string_view InstrumentsName(Instruments i);

struct UnitFact {
  std::string_view exchanges;  // Tardis ids, comma separated; "*" = every venue without a fact of its own
  Instruments instruments;
  Quantity quantity;
  std::string_view unit;
  // Where it is stated (tardis-node source, real files in fixtures/, the
  // venue's documentation), or "not stated by any source: ..." with the
  // reason for the choice.
  std::string_view source;
};

// Every fact, in table order (venue-specific rows, then the "*" defaults).
const std::vector<UnitFact>& UnitFacts();

// The facts that apply to `exchange`: its own rows, then each "*" row whose
// (instruments, quantity) none of its own rows covers.
std::vector<const UnitFact*> UnitsForExchange(std::string_view exchange);

// Markdown: the column -> quantity table and the facts table (all venues
// when `exchange` is empty, else UnitsForExchange).
std::string UnitsMarkdown(std::string_view exchange);

}  // namespace mt::tardis
