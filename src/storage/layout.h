// Object names of the storage layout (docs/STORAGE.md), built and parsed in one
// place so every component agrees on them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/time_util.h"

namespace mt::storage {

// raw_tick_data/by_date/day-YYYY-MM-DD/data_type-{data_type}/{instrument_key}.parquet
std::string TickObjectName(const Date& day, std::string_view data_type,
                           std::string_view instrument_key);
// derived_data/by_date/day-YYYY-MM-DD/data_type-{derived_name}/{instrument_key}.parquet
std::string DerivedObjectName(const Date& day, std::string_view derived_name,
                              std::string_view instrument_key);
// instrument_availability/by_date/day-YYYY-MM-DD/instruments.parquet
std::string InstrumentsObjectName(const Date& day);
// instrument_availability/aggregate/instruments_YYYYMMDD_YYYYMMDD.parquet
std::string InstrumentsAggregateName(const Date& from, const Date& to);
// missing_data_reports/by_date/day-YYYY-MM-DD/missing_data.parquet
std::string MissingReportObjectName(const Date& day);

// The completion record of one work item (day, data type, Tardis exchange,
// Tardis symbol), a small JSON object written after the item's objects:
// raw_tick_data/by_date/day-YYYY-MM-DD/data_type-{data_type}/_items/{exchange}/{symbol}.json
// It sits under the day's prefix so validate's one listing of the day sees
// it, and its path never parses as a tick object. Exchange and symbol come
// from input (flags, listings), so they pass through RecordNameComponent.
std::string ItemRecordName(const Date& day, std::string_view data_type, std::string_view exchange,
                           std::string_view symbol);
// One path segment from arbitrary bytes: [A-Za-z0-9_-] and inner dots kept,
// every other byte %XX-escaped (a leading dot too, so never "." or ".."),
// and more than 120 bytes cut to 100 plus a 16-hex-digit hash of the whole.
// Printable, no separator, at most 120 bytes; distinct inputs stay distinct
// up to the hash.
std::string RecordNameComponent(std::string_view raw);

struct TickObject {
  Date day;
  std::string data_type, instrument_key;
};
std::optional<TickObject> ParseTickObjectName(std::string_view name);

}  // namespace mt::storage
