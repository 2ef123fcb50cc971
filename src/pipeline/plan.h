// Work items and sharding (docs/DEPLOYMENT.md). A work item is one Tardis file:
// (day, data type, exchange, symbol). The plan is sorted, so every machine
// computes the same list; shard I of N takes the items whose stable hash is
// I mod N, so shards never overlap and their union is the plan.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string_view>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"
#include "core/time_util.h"
#include "derive/names.h"
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

// One derived series of `source` (its object of instrument `key`), `name`
// its derived data type: a key of ReportPlan::replace_series.
std::string DerivedSeriesId(const WorkItem& source, const std::string& key, const std::string& name);

// One derived object a download --derive writes: a name computed from a
// source item (a Tardis file of one instrument).
struct DerivedItem {
  WorkItem source;
  std::string name;  // the derived data type, in its stored form
  // 2020-04-01/book_snapshot_10_1s/deribit/BTC-PERPETUAL
  std::string Id() const;
};

// The instrument filters of a plan from definitions (--instrument-types,
// --base, --quote, --max-instruments, --max-days-to-expiry), the same for
// download, plan and validate. Empty sets and the defaults keep everything.
struct InstrumentFilter {
  std::set<std::string> types;  // key types (SPOT_PAIR, PERPETUAL, FUTURE, OPTION)
  std::set<std::string> bases, quotes;
  size_t max_instruments = SIZE_MAX;  // per day: the first N keys met, in item order
  int64_t max_days_to_expiry = -1;    // futures and options expiring within N days of the day
};
// The selection of a plan, one struct for every source of items
// (symbols, definitions, missing-data reports) and every command.
struct PlanRequest {
  Date from, to;  // inclusive
  std::vector<std::string> exchanges;
  std::vector<std::string> data_types;
  // Symbols; "exchange:SYMBOL" pins a symbol to one exchange. A bare
  // symbol goes to the exchanges that know it: those with definitions in
  // `known` that list it, and those without definitions whose symbol rules
  // read it (tardis::KeyFromTardisSymbol). An exchange that gets no symbol
  // is a usage error (a typo would otherwise fail on every fleet task).
  // An instrument key (VENUE:TYPE:SYMBOL, as objects are named: its venue
  // part upper case, which no exchange id is) names the instrument the
  // stored definitions give that key: it is planned as exchange:SYMBOL.
  std::vector<std::string> symbols;
  const struct KnownSymbols* known = nullptr;  // not owned; null: rules only
  // --exchanges was not given: `exchanges` are those the pins name, and an
  // instrument key adds its own.
  bool exchanges_from_symbols = false;
  // Applied to items from definitions (not to --symbols, which name them).
  InstrumentFilter instruments;
  // Looked at before each day is planned (BuildPlan, PlanFromDefinitions):
  // once set, the plan ends there, kCancelled. A year of days is millions
  // of items and seconds of work; an interrupt must not wait for them.
  const std::atomic<bool>* cancel = ProcessCancelFlag();
};

// The filter from its flags' text: `types` a list of spot, perpetual,
// future, option (any case; spot is SPOT_PAIR), `bases`/`quotes` lists of
// assets (any case), `max_instruments` and `max_days_to_expiry` integers
// ("" = no bound). A bad number is a usage error naming its flag.
Result<InstrumentFilter> ParseInstrumentFilter(const std::string& types, const std::string& bases,
                                               const std::string& quotes, const std::string& max_instruments,
                                               const std::string& max_days_to_expiry);

Result<std::vector<WorkItem>> BuildPlan(const PlanRequest& req);
// The same items, in the same order, each given to `sink` as it is made
// instead of listed (a plan of every symbol of a year is millions of
// items); the first error of `sink` ends the plan and is returned.
using WorkItemSink = std::function<Status(WorkItem&&)>;
Status BuildPlan(const PlanRequest& req, const WorkItemSink& sink);

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

// The items of `items` (with instrument keys, sorted by day) that pass. An
// options chain (VENUE:OPTIONS:BASE-QUOTE) is its options' data: it counts
// as OPTION with its base and quote, and has no expiry of its own. Items
// whose key does not parse are dropped.
std::vector<WorkItem> FilterInstruments(const std::vector<WorkItem>& items, const InstrumentFilter& filter);
// FilterInstruments one item at a time, for items that are not held as a
// vector: Keep(item) for each item in turn, in the order FilterInstruments
// takes them. What it holds is the keys kept of each day under
// --max-instruments (none without it).
class InstrumentFilterer {
 public:
  explicit InstrumentFilterer(const InstrumentFilter& filter) : filter_(filter) {}
  bool Keep(const WorkItem& item);

 private:
  const InstrumentFilter& filter_;
  std::map<Date, std::set<std::string>> kept_;  // instruments kept per day
};

// ---- which exchanges and symbols exist ----
// Tardis exchange ids this build knows (the datasets API's /v1/exchanges
// list, delisted venues included): the ids of tardis::Venues(), sorted.
const std::vector<std::string>& KnownExchanges();
// Whether `id` is one of KnownExchanges().
bool IsKnownExchange(std::string_view id);
// OK when every id of `exchanges` is a Tardis exchange id this build knows
// or one of `also_known` (exchanges of stored definitions); else a usage
// error "unknown exchange 'binance-futurs' (did you mean binance-futures?)".
Status CheckExchanges(const std::vector<std::string>& exchanges, const std::vector<std::string>& also_known = {});
// kUsage naming the first data type that is not a Tardis one; a derived name
// (trade_bar_1m) is told to go in --derive.
Status CheckDataTypes(const std::vector<std::string>& data_types);
// The Tardis id of a venue known by another name (kraken-futures:
// cryptofacilities), else the closest known id within a small edit
// distance, or "".
std::string SuggestExchange(std::string_view id, const std::vector<std::string>& also_known = {});

// Symbols the stored definitions list, per exchange (dataset symbols and
// grouped symbols), for pairing bare --symbols with exchanges.
struct KnownSymbols {
  std::map<std::string, std::set<std::string>> by_exchange;
  // Instrument key -> the exchange and Tardis symbol of the first day's row
  // that has it (the days are read in parallel: the earliest day decides,
  // so a key renamed within the range names the same symbol every run).
  struct Named {
    Date day;
    std::string exchange, symbol;
  };
  std::map<std::string, Named> by_key;
};

// Whether a --symbols entry is written as an instrument key
// (DERIBIT:PERPETUAL:BTC-USD): three parts or more, the first with an
// upper-case letter and no lower-case one, which no Tardis exchange id is
// (BINANCE-FUTURES:BTCUSDT stays a pin, whose exchange id gets its
// suggestion).
bool IsKeyForm(std::string_view s);

// ---- instrument definitions in the store (plan_definitions.cc) ----
// The dataset and grouped symbols of every day of [from, to] that has
// definitions (read on a few threads); days without any are skipped, so an
// exchange absent from the result has no definitions: its rules decide.
Result<KnownSymbols> ReadKnownSymbols(storage::ObjectStore* store, const Date& from, const Date& to);
// When `req` has a bare symbol, or a pinned one of a venue without a symbol
// rule, fills `known` from the store's definitions of the request's
// days and points req->known at it (which must outlive the plan); else does
// nothing.
Status LoadKnownSymbolsFor(storage::ObjectStore* store, PlanRequest* req, KnownSymbols* known);
// Whether `symbols` pin one (not a grouped file) to a venue without a symbol
// rule, whose key then comes from the stored definitions alone.
bool PinsAVenueWithoutARule(const std::vector<std::string>& symbols);

// ---- a plan from instrument definitions (plan_definitions.cc) ----
// Days with one problem shown as one line per run of consecutive days
// (193 days without definitions are one line, not 193).
struct DayRun {
  Date from, to;
  size_t days = 0;
  std::string text;
  // "2024-01-01" or "2024-01-01 .. 2024-07-11 (193 days)".
  std::string Days() const;
};
// `lines` sorted by day; a run breaks at a gap of days or a new text.
std::vector<DayRun> CollapseDays(const std::vector<std::pair<Date, std::string>>& lines);

struct DefinitionsPlan {
  // One item per object the definitions expect: each instrument of the day
  // (instrument_key set) x the data types it lists, options_chain once per
  // exchange and underlying (symbol: the grouped file, e.g. OPTIONS), all
  // filtered by the request's exchanges, data types and instrument filters;
  // plus, with instrument_key empty, the grouped files (OPTIONS,
  // PERPETUALS) of data types no instrument of their exchange has that day
  // (their objects only the file can name). Sorted by (day, data type,
  // exchange, symbol, instrument key); unique.
  std::vector<WorkItem> items;
  // Days whose definitions file is missing or unreadable, with the reason
  // (the same text for every day with the same problem, so CollapseDays can
  // join them): nothing is known to be expected there.
  std::vector<std::pair<Date, std::string>> definition_problems;
  // Days with a definitions file that no instruments run wrote an exchange
  // of the request into (it neither lists an instrument of it nor records
  // it as written), with the same text for every day of one exchange:
  // nothing is known to be expected of that exchange there. Ordered by
  // exchange, then day, so CollapseDays joins each exchange's runs.
  std::vector<std::pair<Date, std::string>> unlisted_exchanges;
  // Notes for the log (data types the schema tables do not know, exchanges
  // the definitions do not list).
  std::vector<std::string> notes;
  // Exchanges of the request that no instruments run wrote into any day's
  // definitions, each with its note's text (also in `notes`): a plan to
  // download them has nothing of theirs, for a step not taken.
  std::vector<std::string> exchanges_without_instruments;
};
// Reads each day's instrument_availability/by_date/day-D/instruments.parquet
// (written by `market-tick instruments`). Data types the schema tables do
// not know are skipped (a note counts them). An exchange id neither Tardis
// nor the definitions know is a usage error with a suggestion; a store
// failure that a retry may fix is returned as is.
Result<DefinitionsPlan> PlanFromDefinitions(storage::ObjectStore* store, const PlanRequest& req);
// The same, the items given to `sink` a day at a time as each day's
// definitions are read (in the same order: a day's items sorted and unique,
// days in order), not listed in `items` (left empty): a year of
// definitions lists millions. The first error of `sink` ends the plan.
Result<DefinitionsPlan> PlanFromDefinitions(storage::ObjectStore* store, const PlanRequest& req,
                                            const WorkItemSink& sink);

// ---- a plan from missing-data reports (plan_report.cc) ----
// `download --from-report`: the missing and corrupt items of each day's
// missing_data_reports/by_date/day-D/missing_data.parquet (written by
// validate, missing_report.h), filtered by the request's exchanges and data
// types (empty: all); not the not_available ones (the source has no file).
// no_data_incident rows are planned (see ReportPlan::incident).
// Corrupt objects exist, so the download must overwrite them (force).
// A derived item's row (data_type a derived name, docs/DERIVED.md) plans its
// source item (the raw data type of the same instrument) and adds its name
// to `derived`: download --derive and derive recompute it from there.
struct ReportPlan {
  std::vector<WorkItem> items;  // sorted, unique
  // The derived names of the derived rows (canonical, sorted, unique).
  std::vector<derive::DerivedSpec> derived;
  // The derived rows themselves: each name and its source item (in `items`).
  std::vector<DerivedItem> derived_items;
  // Ids of the items to redo even where objects exist: those with a corrupt
  // row, raw or derived. An item reported missing is not in it: a report
  // may be older than the store (another run, or an earlier round, has
  // written the item since), and what exists now is skipped as by any run.
  // Items planned only for missing derived objects keep their raw object,
  // which is read.
  std::set<std::string> replace;
  // Ids of the grouped items reported missing: a record may call one
  // complete while recorded objects are gone (removed, or lost by the
  // store), which a rerun that reads the record alone would skip for good;
  // the download checks that every recorded object is there.
  std::set<std::string> recheck;
  // The corrupt derived objects, each as DerivedSeriesId(source item, its
  // object's instrument key, derived name): derive recomputes those series
  // alone (a grouped item's thousands of others are kept).
  std::set<std::string> replace_series;
  size_t missing = 0, corrupt = 0;
  size_t not_available = 0;  // listed, not planned: the source has no file
  // no_data_incident rows, planned: a Tardis incident report covers a time
  // range, not necessarily the whole day, so the day's file may well exist;
  // one request settles it (the object arrives, or a 404 is recorded and
  // the item becomes not_available), so rounds of --from-report converge.
  size_t incident = 0;
  std::vector<Date> days_without_report;  // never validated: nothing to take from them
};
// REQUIRES: from <= to.
Result<ReportPlan> PlanFromReports(storage::ObjectStore* store, const Date& from, const Date& to,
                                   const std::vector<std::string>& exchanges,
                                   const std::vector<std::string>& data_types);

// The report plan of a request (its days and exchanges; its data types only
// when `typed`: a derived name selects its rows, a raw type the rows of that
// type and the derived rows computed from it), its notes logged.
Result<ReportPlan> PlanFromRequestReports(storage::ObjectStore* store, const PlanRequest& req, bool typed);

// ---- the work items of download and plan (plan_items.cc) ----
struct WorkPlanOptions {
  // --from-report: the reports' missing and corrupt items; the request's
  // data types narrow them only when given explicitly (report_data_types).
  bool from_report = false;
  bool report_data_types = false;
  // `plan` shows what it can: with bare symbols and no readable definitions
  // it pairs them by the symbol rules (with a warning); `download` stops.
  bool definitions_optional = false;
  Status store_error;  // why `store` is null (definitions_optional), for the warning
};
// One entry for "which items": from --symbols (BuildPlan, bare symbols
// paired through the store's definitions), from the definitions
// (PlanFromDefinitions with every filter; a day without definitions is an
// error naming the days and what to run), or from missing-data reports.
// One item per Tardis file, sorted. `store` may be null only with symbols
// and definitions_optional (then the symbol rules pair them). Notes and
// counts go to the log.
Result<std::vector<WorkItem>> PlanWorkItems(storage::ObjectStore* store, PlanRequest req,
                                            const WorkPlanOptions& options);

// ---- derived items (docs/DERIVED.md) ----
// For each item (in order) the names of `specs` whose source data type is
// the item's, in list order. Grouped items (OPTIONS, PERPETUALS) get none:
// derived series are computed for single-instrument files only.
std::vector<DerivedItem> DerivedItems(const std::vector<WorkItem>& items,
                                      const std::vector<derive::DerivedSpec>& specs);

// The work items of a plan: one per Tardis file (unique Id). Items of one
// file (the options_chain objects of one OPTIONS file) collapse to the
// first. `items` sorted by WorkItem order.
std::vector<WorkItem> UniqueFiles(std::vector<WorkItem> items);

// FNV-1a 64 of Id(): stable across machines, builds and runs.
uint64_t StableHash(const WorkItem& item);

struct Shard {
  uint32_t index = 0, count = 1;
};
// "I/N" with 0 <= I < N.
Result<Shard> ParseShard(const std::string& text);
std::vector<WorkItem> SelectShard(const std::vector<WorkItem>& plan, const Shard& shard);

// A work item as bytes that sort as the items do (WorkItem::operator<,
// compared byte by byte, unsigned), with its instrument key: for plans kept
// in temporary files (core/external_sort.h, core/string_spool.h) rather
// than as vectors of items. The fields are separated by a zero byte, which
// names, types and symbols do not hold.
std::string EncodeWorkItem(const WorkItem& item);
// The item EncodeWorkItem gave `bytes`; false for bytes it did not give.
bool DecodeWorkItem(std::string_view bytes, WorkItem* item);

// Tardis dataset URL of an item: {base}/v1/{exchange}/{type}/{YYYY}/{MM}/{DD}/{symbol}.csv.gz
std::string DatasetUrl(const std::string& base, const WorkItem& item);

std::vector<std::string> SplitList(const std::string& csv);

// A dataset symbol as URLs and plans write it (the official clients'
// normalisation): '/' and ':' become '-', upper case.
std::string NormalizeSymbol(std::string symbol);

}  // namespace mt::pipeline
