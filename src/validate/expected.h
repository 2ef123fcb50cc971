// The expected items of a validation: instrument definitions of each day
// (instrument_availability/by_date/day-D/instruments.parquet, written by
// `market-tick instruments`) × the data types each instrument lists, or,
// with --symbols, the download plan (pipeline::BuildPlan) keyed as download
// keys it (pipeline::StoreKeyResolvers): the items of the plans download
// runs (pipeline/plan.h), so both always agree. options_chain items are one
// per exchange and underlying, their symbol the grouped file they come from.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "derive/names.h"
#include "pipeline/key_resolver.h"
#include "pipeline/plan.h"
#include "storage/object_store.h"
#include "validate/expected_items.h"
#include "validate/item.h"

namespace mt::validate {

// What to validate: the selection flags of download, read as validate reads
// them. From instrument definitions, empty exchanges or data_types mean all
// the definitions list, and symbols are not used; non-empty symbols make the
// expected items come from the plan instead (data_types then required).
using Selection = pipeline::PlanRequest;

struct ExpectedSet {
  ExpectedItems items;  // sorted by day, data type, instrument key; no duplicates
  // Days whose definitions file is missing or unreadable, with the reason
  // (the same text for every day with the same problem, so CollapseDays can
  // join them): nothing is known to be expected there, which is itself a
  // failure.
  std::vector<std::pair<Date, std::string>> definition_problems;
  // Days with definitions that do not list an exchange the selection names
  // (pipeline::DefinitionsPlan::unlisted_exchanges): nothing is known to be
  // expected of it there, a failure too, never "nothing expected, complete".
  std::vector<std::pair<Date, std::string>> unlisted_exchanges;
  // Notes for the log (skipped unknown data types, grouped symbols).
  std::vector<std::string> notes;
  std::string source;  // "instrument definitions" or "--symbols"
};

// Days with one problem as one line per run of days (pipeline's).
using pipeline::CollapseDays;
using pipeline::DayRun;

// Keys from `keys` (the day's instrument definitions in the store, else the
// symbol rules, as download and convert key them); null: the symbol rules.
// A grouped item of the plan (`deribit OPTIONS`) expects, with `store`, the
// objects its completion record lists (download writes it last), each as an
// item of that record's key; without a record (or with a 404 record, or
// one of no objects), one item of the whole file (GroupedItemKey), which
// the validator reports missing, not_available or no_data from the record.
// Without `store`, grouped items expect nothing (a note says so).
Result<ExpectedSet> ExpectedFromPlan(const Selection& sel, pipeline::StoreKeyResolvers* keys = nullptr,
                                     storage::ObjectStore* store = nullptr);
// The key of an expected item that stands for a whole grouped file:
// VENUE:SYMBOL (DERIBIT:OPTIONS), two parts, so no instrument has it.
std::string GroupedItemKey(const std::string& exchange, const std::string& symbol);
bool IsGroupedItemKey(const std::string& key);
// The objects pipeline::PlanFromDefinitions plans (with every filter of
// `sel`, instrument filters included); a grouped file it plans without a key
// (a data type no instrument lists: its objects only the file names) expects
// what its completion record lists, as a grouped item of ExpectedFromPlan.
Result<ExpectedSet> ExpectedFromDefinitions(storage::ObjectStore* store, const Selection& sel);

// Adds, beside each item whose data type is a source of `specs` (but the
// item of a whole grouped file, GroupedItemKey), one item per such spec (data_type: the
// derived name; same day, key, exchange and symbol); then drops the items of
// `unasked_sources`. Keeps `set->items` sorted and unique. A spec with no
// such item gets a note in `set->notes`.
void AddDerivedItems(ExpectedSet* set, const std::vector<derive::DerivedSpec>& specs,
                     const std::set<std::string>& unasked_sources);

}  // namespace mt::validate
