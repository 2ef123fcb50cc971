// Work items and sharding (docs/DEPLOYMENT.md). A work item is one Tardis file:
// (day, data type, exchange, symbol). The plan is sorted, so every machine
// computes the same list; shard I of N takes the items whose stable hash is
// I mod N, so shards never overlap and their union is the plan.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string_view>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/time_util.h"
#include "storage/object_store.h"

namespace mt::pipeline {

struct WorkItem {
  Date day;
  std::string data_type;
  std::string exchange;
  std::string symbol;
  // The object's instrument key when the plan comes from instrument
  // definitions (metadata may key a symbol differently from its spelling);
  // empty: derived from (exchange, symbol). Not part of the identity.
  // (Initialised here so that aggregate initialisers may leave it out.)
  std::string instrument_key = {};

  std::string Id() const;  // 2020-02-22/trades/binance-futures/BTCUSDT
  bool operator<(const WorkItem& o) const;
  bool operator==(const WorkItem& o) const { return Id() == o.Id(); }
};

struct PlanRequest {
  Date from, to;  // inclusive
  std::vector<std::string> exchanges;
  std::vector<std::string> data_types;
  // Symbols; "exchange:SYMBOL" pins a symbol to one exchange. A bare
  // symbol goes to the exchanges that know it: those with definitions in
  // `known` that list it, and those without definitions whose symbol rules
  // read it (tardis::KeyFromTardisSymbol). An exchange that gets no symbol
  // is a usage error (a typo would otherwise fail on every fleet task).
  std::vector<std::string> symbols;
  const struct KnownSymbols* known = nullptr;  // not owned; null: rules only
};

Result<std::vector<WorkItem>> BuildPlan(const PlanRequest& req);

// ---- options chains ----
// An options_chain file (one per exchange and day: deribit OPTIONS) is
// stored one object per underlying, keyed VENUE:OPTIONS:BASE-QUOTE with the
// base and quote of the option keys (DERIBIT:OPTION:BTC-USD-230526-30000-CALL
// -> DERIBIT:OPTIONS:BTC-USD). Other data types of grouped files are stored
// per instrument.
inline constexpr const char* kOptionsChain = "options_chain";
inline constexpr const char* kChainKeyType = "OPTIONS";
// The chain key of an option's key; "" when `option_key` is not an option's.
std::string ChainKeyOfOption(std::string_view option_key);
// Base and quote of a chain key ("DERIBIT:OPTIONS:BTC-USD" -> BTC, USD);
// false when `key` is not a chain key.
bool ParseChainKey(std::string_view key, std::string* base, std::string* quote);

// One instrument of a day's definitions (instrument_availability/...).
struct DefinitionRow {
  std::string instrument_key, exchange, symbol;
  std::vector<std::string> data_types;
};
// A grouped Tardis symbol of a day's definitions (the `grouped_symbols`
// metadata of the instruments file).
struct GroupedDefinition {
  std::string exchange, symbol, type;
  std::vector<std::string> data_types;
};
// The `grouped_symbols` JSON; malformed entries are skipped.
std::vector<GroupedDefinition> ParseGroupedSymbols(std::string_view json);

// The options_chain items of one day: for each exchange whose grouped
// symbols carry options_chain (or whose options list it), one item per
// underlying of that exchange's options on the day, with symbol = the
// grouped symbol (the one file to download) and instrument_key = the chain
// key (the object). Filtered by `filter.exchanges` and `filter.data_types`
// (empty = all). Sorted by exchange, then key.
std::vector<WorkItem> ChainItems(const Date& day, const std::vector<DefinitionRow>& rows,
                                 const std::vector<GroupedDefinition>& grouped, const PlanRequest& filter);

// ---- filters of a plan from definitions ----
// download/plan --instrument-types, --base, --quote, --max-instruments,
// --max-days-to-expiry. Empty sets and the defaults keep everything.
struct InstrumentFilter {
  std::set<std::string> types;  // key types (SPOT_PAIR, PERPETUAL, FUTURE, OPTION)
  std::set<std::string> bases, quotes;
  size_t max_instruments = SIZE_MAX;  // per day: the first N keys met, in item order
  int64_t max_days_to_expiry = -1;    // futures and options expiring within N days of the day
};
// The items of `items` (with instrument keys, sorted by day) that pass. An
// options chain (VENUE:OPTIONS:BASE-QUOTE) is its options' data: it counts
// as OPTION with its base and quote, and has no expiry of its own. Items
// whose key does not parse are dropped.
std::vector<WorkItem> FilterInstruments(const std::vector<WorkItem>& items, const InstrumentFilter& filter);

// ---- which exchanges and symbols exist ----
// Tardis exchange ids this build knows (the datasets API's /v1/exchanges
// list, delisted venues included).
const std::vector<std::string>& KnownExchanges();
// OK when every id of `exchanges` is a Tardis exchange id this build knows
// or one of `also_known` (exchanges of stored definitions); else a usage
// error "unknown exchange 'binance-futurs' (did you mean binance-futures?)".
Status CheckExchanges(const std::vector<std::string>& exchanges, const std::vector<std::string>& also_known = {});
// The closest known id within a small edit distance, or "".
std::string SuggestExchange(std::string_view id, const std::vector<std::string>& also_known = {});

// Symbols the stored definitions list, per exchange (dataset symbols and
// grouped symbols), for pairing bare --symbols with exchanges.
struct KnownSymbols {
  std::map<std::string, std::set<std::string>> by_exchange;
};

// ---- instrument definitions in the store (plan_definitions.cc) ----
// The grouped symbols of the day's instrument_availability/by_date/day-D/
// instruments.parquet (written by `market-tick instruments`), from its
// footer; kNotFound when the day has no definitions.
Result<std::vector<GroupedDefinition>> ReadGroupedSymbols(storage::ObjectStore* store, const Date& day);
// The dataset and grouped symbols of every day of [from, to] that has
// definitions (read on a few threads); days without any are skipped, so an
// exchange absent from the result has no definitions: its rules decide.
Result<KnownSymbols> ReadKnownSymbols(storage::ObjectStore* store, const Date& from, const Date& to);
// When `req` has a bare symbol, fills `known` from the store's definitions
// of the request's days and points req->known at it (which must outlive
// the plan); else does nothing.
Status LoadKnownSymbolsFor(storage::ObjectStore* store, PlanRequest* req, KnownSymbols* known);

// FNV-1a 64 of Id(): stable across machines, builds and runs.
uint64_t StableHash(const WorkItem& item);

struct Shard {
  uint32_t index = 0, count = 1;
};
// "I/N" with 0 <= I < N.
Result<Shard> ParseShard(const std::string& text);
std::vector<WorkItem> SelectShard(const std::vector<WorkItem>& plan, const Shard& shard);

// Tardis dataset URL of an item: {base}/v1/{exchange}/{type}/{YYYY}/{MM}/{DD}/{symbol}.csv.gz
std::string DatasetUrl(const std::string& base, const WorkItem& item);

std::vector<std::string> SplitList(const std::string& csv);

// A dataset symbol as URLs and plans write it (the official clients'
// normalisation): '/' and ':' become '-', upper case.
std::string NormalizeSymbol(std::string symbol);

}  // namespace mt::pipeline
