// The expected items of a validation: instrument definitions of each day
// (instrument_availability/by_date/day-D/instruments.parquet, written by
// `market-tick instruments`) × the data types each instrument lists, or,
// with --symbols, the download plan (pipeline::BuildPlan) keyed as download
// keys it (pipeline::StoreKeyResolvers). Filters work as for download.
// options_chain items are one per exchange and underlying
// (pipeline::ChainItems), their symbol the grouped file they come from.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "parquet/file_reader.h"
#include "pipeline/key_resolver.h"
#include "pipeline/plan.h"
#include "storage/object_store.h"
#include "validate/item.h"

namespace mt::validate {

// What to validate: the selection flags of download, read as validate reads
// them. From instrument definitions, empty exchanges or data_types mean all
// the definitions list, and symbols are not used; non-empty symbols make the
// expected items come from the plan instead (data_types then required).
using Selection = pipeline::PlanRequest;

struct ExpectedSet {
  std::vector<ExpectedItem> items;  // sorted by day, data type, instrument key; no duplicates
  // Days whose definitions file is missing or unreadable, with the reason
  // (the same text for every day with the same problem, so CollapseDays can
  // join them): nothing is known to be expected there, which is itself a
  // failure.
  std::vector<std::pair<Date, std::string>> definition_problems;
  // Notes for the log (skipped unknown data types, grouped symbols).
  std::vector<std::string> notes;
  std::string source;  // "instrument definitions" or "--symbols"
};

// Lines that repeat day after day (193 days without definitions) shown as
// one line per run of consecutive days with the same text.
struct DayRun {
  Date from, to;
  size_t days = 0;
  std::string text;
  // "2024-01-01" or "2024-01-01 .. 2024-07-11 (193 days)".
  std::string Days() const;
};
// `lines` sorted by day; a run breaks at a gap of days or a new text.
std::vector<DayRun> CollapseDays(const std::vector<std::pair<Date, std::string>>& lines);

// Keys from `keys` (the day's instrument definitions in the store, else the
// symbol rules, as download and convert key them); null: the symbol rules.
Result<ExpectedSet> ExpectedFromPlan(const Selection& sel, pipeline::StoreKeyResolvers* keys = nullptr);
Result<ExpectedSet> ExpectedFromDefinitions(storage::ObjectStore* store, const Selection& sel);

// The items of one day's definitions file (columns instrument_key,
// data_types, tardis_exchange, tardis_symbol), filtered by `sel`.
// Data types the schema tables do not know are skipped and counted in
// *unknown_types.
// Every exchange of the file is added to *exchanges when it is not null.
Result<std::vector<ExpectedItem>> ItemsFromDefinitions(parquet::FileReader& file, const Date& day,
                                                       const Selection& sel, size_t* unknown_types,
                                                       std::set<std::string>* exchanges = nullptr);

}  // namespace mt::validate
