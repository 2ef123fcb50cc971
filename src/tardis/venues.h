#pragma once

#include <span>
#include <string_view>

namespace mt::tardis {

// What a venue is: a company's exchange, or an on-chain protocol (dYdX, Serum, ...).
enum class VenueKind { kExchange, kProtocol };

// How a venue's derivatives are margined when no metadata says so.
enum class Margining {
  kUnknown,  // no convention known: the column stays empty
  kByQuote,  // quoted in USD: inverse, settles in the base coin; any other quote: linear, settles in it
  kLinear,   // settles in the quote
  kInverse,  // settles in the base coin
};

// The static facts about one Tardis exchange id. Code that differs per venue
// (how a symbol is parsed, instrument_key.cc) stays code; which venues it
// covers is read from here so the lists cannot drift apart.
struct Venue {
  std::string_view id;         // Tardis exchange id, lower-case
  VenueKind kind;
  std::string_view ccxt;       // the ccxt exchange id; "" where no mapping is known
  bool seed;                   // a seed venue (docs/INSTRUMENTS.md): its conventions (expiry 08:00 UTC,
                               // cash settlement) are known
  bool spot_only;              // every symbol is a BASE-QUOTE spot pair (the venue's derivatives are
                               // filed under another id)
  bool symbol_rule;            // KeyFromTardisSymbol can read the instrument type from its symbols
  Margining margining;
};

// Every Tardis exchange id (the datasets API's /v1/exchanges with the
// delisted venues, and the official clients' lists), sorted by id, each once.
std::span<const Venue> Venues();

// The row of `id`, or nullptr for an id Tardis does not list.
const Venue* FindVenue(std::string_view id);

}  // namespace mt::tardis
