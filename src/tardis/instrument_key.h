// Instrument keys VENUE:TYPE:SYMBOL (docs/INSTRUMENTS.md, Keys), derived from a Tardis
// exchange id and symbol. This module builds keys and parses them back.
// Derivation from the symbol alone covers the seed's venues; with Tardis
// instrument metadata (KeyFromMetadata) base, quote, expiry, strike and
// option type come from the metadata instead. A symbol that cannot be read
// gets an error with the reason, never a guessed key.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace mt::tardis {

struct InstrumentKey {
  std::string venue;  // BINANCE-FUTURES, OKX-SWAP, ...
  std::string type;   // SPOT_PAIR, PERPETUAL, FUTURE, OPTION, COMBO, PREDICTION;
                      // OPTIONS names an options chain (every option of one
                      // underlying: BASE-QUOTE)
  std::string base, quote;
  std::string expiry;       // YYMMDD for futures and options
  std::string strike;       // options
  std::string option_type;  // CALL or PUT
  // A contract-type variant that trades beside the plain contract with the
  // same terms (MOVE, MOVEWK, MOVEQ, TURBO, XPERP,
  // IXPERP, IRS, REPO, INDEX, SPREAD; INVERSE or LINEAR for the second of an
  // inverse and a linear contract of the same terms, given by the listing):
  // the last part of the symbol. Empty for the plain contract.
  std::string variant;
  // COMBO and PREDICTION: the venue's own symbol (upper case, [A-Z0-9._-]),
  // which alone names the legs or the market; base and quote stay empty.
  std::string native;

  std::string Symbol() const;    // BTC-USD-230526-30000-CALL
  std::string ToString() const;  // DERIBIT:OPTION:BTC-USD-230526-30000-CALL
};

// Venue name for a Tardis exchange id (okex -> OKX, others upper-cased).
std::string VenueForExchange(std::string_view exchange);

// Grouped Tardis symbols (OPTIONS, PERPETUALS, FUTURES, SPOT, COMBOS) name
// whole files of many instruments, never one instrument.
bool IsGroupedSymbol(std::string_view symbol);

// The key the venue's symbol rule gives. Venues without a rule that tells
// the instrument type from the symbol (dydx, ftx, coinbase-international,
// ...) get an error whose hint is to key from instrument definitions
// (`market-tick instruments`) instead: a type is never guessed.
Result<InstrumentKey> KeyFromTardisSymbol(std::string_view exchange, std::string_view symbol);

// `s` with ASCII letters upper-cased: how symbols are compared and keyed.
std::string AsciiUpper(std::string_view s);

// Exchanges whose Tardis symbols are all spot pairs (BASE-QUOTE): the
// venue table's spot-only column (tardis/venues.h).
bool IsSpotOnlyExchange(std::string_view exchange);
// Exchanges whose symbol scheme KeyFromTardisSymbol knows (the seed venues,
// bitmex, huobi-dm swaps, binance-us, the spot-only ones): the venue table's
// symbol-rule column; an id the table lacks has a rule only if it is okex*.
bool HasSymbolRule(std::string_view exchange);

// Whether `key` names rows a grouped file held under a symbol without a key
// (`VENUE:UNKEYED:SYMBOL`, the fallback the converter writes them under):
// no instrument, so no derived series and no instrument_key in its rows.
bool IsUnkeyedKey(std::string_view key);

// KeyFromTardisSymbol for a symbol a venue's listing names with its Tardis
// type (`spot`, `perpetual`, ...): on a venue without a symbol rule a
// BASE-QUOTE symbol listed as spot is a spot pair.
Result<InstrumentKey> KeyFromListedSymbol(std::string_view exchange, std::string_view symbol,
                                          std::string_view listed_type);

// A concatenated spot symbol (Binance BTCAEUR) can be split more than one
// way; the rule takes the longest quote it knows (BTCA-EUR). When the rule's
// base or quote is not a currency `known` accepts (the venue's listing names
// it elsewhere) and exactly one split with a longer quote ending in the
// rule's has both parts known, that split's key (BTC-AEUR); else nullopt
// (the rule's key stands).
std::optional<InstrumentKey> ConfirmedSplit(const InstrumentKey& rule_key, std::string_view symbol,
                                            const std::function<bool(const std::string&)>& known);

// What Tardis instrument metadata (GET /v1/instruments/{exchange}) says about
// one symbol. Empty strings and empty optionals are unknown.
struct SymbolFacts {
  std::string type;         // spot | perpetual | future | option | combo | prediction (Tardis `type`)
  std::string base, quote;  // baseCurrency, quoteCurrency
  // Initialised here so that aggregate initialisers may leave them out.
  std::optional<int64_t> expiry_us = std::nullopt;  // futures and options
  std::optional<double> strike = std::nullopt;      // options
  std::string option_type = {};                     // call | put
  std::string contract_type = {};                   // Tardis contractType (move, turbo_call_option, ...)
  std::string expiration_type = {};                 // Tardis expirationType (daily, weekly, quarter, ...)
};

// The variant tag a Tardis contractType adds to the key ("" for the plain
// linear/inverse/quanto contracts and options). `symbol` tells FTX's weekly
// and quarterly MOVE contracts from the daily ones when the metadata has no
// expirationType; an OKX USDT-margined X-perp (`_UM_XPERP-` in the symbol)
// is XPERP whatever the metadata says.
std::string VariantForContractType(std::string_view exchange, std::string_view symbol,
                                   std::string_view contract_type, std::string_view expiration_type);

// Whether `tag` is a variant tag keys may end with.
bool IsKeyVariant(std::string_view tag);

// The key from metadata (base and quote come from the metadata when
// available). Currencies with a product suffix keep the currency code
// (okex-futures quote USD_UM_XPERP -> USD). Options quoted in their own base
// currency (Deribit's inverse BTC options have quoteCurrency BTC) name the
// strike currency, which only the symbol carries (BTC-... -> USD,
// BTC_USDC-... -> USDC). Expiry is the UTC day of `expiry_us`.
Result<InstrumentKey> KeyFromMetadata(std::string_view exchange, std::string_view symbol,
                                      const SymbolFacts& facts);

// SPOT_PAIR, PERPETUAL, FUTURE, OPTION, COMBO or PREDICTION for a Tardis
// type; "" for a type keys do not know.
std::string KeyTypeForTardisType(std::string_view type);

// A strike as keys write it: the shortest plain decimal that reads back as
// the same double (30000, 0.625), never an exponent.
std::string FormatStrike(double strike);

// The key of the options chain `option` belongs to: VENUE:OPTIONS:BASE-QUOTE.
std::string ChainKey(const InstrumentKey& option);

// The COMBO or PREDICTION key of a venue symbol: VENUE:COMBO:SYMBOL. The
// symbol, upper-cased, must be 1-160 characters of [A-Z0-9._-] (it is an
// object name); else an error with the reason.
Result<InstrumentKey> NativeKey(std::string_view exchange, std::string_view symbol, std::string_view key_type);

// Parses "VENUE:TYPE:SYMBOL" back into its parts.
Result<InstrumentKey> ParseInstrumentKey(std::string_view key);

}  // namespace mt::tardis
