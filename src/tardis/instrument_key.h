// Instrument keys VENUE:TYPE:SYMBOL (DESIGN §5), derived from a Tardis
// exchange id and symbol. This module builds keys and parses them back.
// Derivation from the symbol alone covers the seed's venues; a symbol it
// cannot read gets an error with the reason, never a guessed key.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace mt::tardis {

struct InstrumentKey {
  std::string venue;  // BINANCE-FUTURES, OKX-SWAP, ...
  std::string type;   // SPOT_PAIR, PERPETUAL, FUTURE, OPTION
  std::string base, quote;
  std::string expiry;       // YYMMDD for futures and options
  std::string strike;       // options
  std::string option_type;  // CALL or PUT

  std::string Symbol() const;    // BTC-USD-230526-30000-CALL
  std::string ToString() const;  // DERIBIT:OPTION:BTC-USD-230526-30000-CALL
};

// Venue name for a Tardis exchange id (okex -> OKX, others upper-cased).
std::string VenueForExchange(std::string_view exchange);

// Grouped Tardis symbols (OPTIONS, PERPETUALS, FUTURES, SPOT, COMBOS) name
// whole files of many instruments, never one instrument.
bool IsGroupedSymbol(std::string_view symbol);

Result<InstrumentKey> KeyFromTardisSymbol(std::string_view exchange, std::string_view symbol);

// Parses "VENUE:TYPE:SYMBOL" back into its parts.
Result<InstrumentKey> ParseInstrumentKey(std::string_view key);

}  // namespace mt::tardis
