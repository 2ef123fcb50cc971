// Object names of the storage layout (docs/STORAGE.md), built and parsed in one
// place so every component agrees on them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/time_util.h"

namespace mt::storage {

// Every name below passes its variable parts through SafeNameComponent, so
// nothing taken from input (a row's symbol or exchange, a listing) can put a
// path separator, "..", a control character, a backslash, invalid UTF-8 or
// more than kMaxComponentBytes bytes into an object name. Stores refuse
// names that IsSafeObjectName rejects, so no caller can bypass it.
inline constexpr size_t kMaxComponentBytes = 200;

// `s` unchanged when it is made of A-Z a-z 0-9 '-' '_' ':' '.' only, does
// not start with '.', has no "..", and is 1 to kMaxComponentBytes - 8 bytes
// (every instrument key the symbol and metadata rules build; 8 bytes are
// left for an extension). Otherwise each other byte becomes %XX (upper-case hex; '%' itself too), a '.' that
// starts or ends the name or follows a '.' becomes %2E, an empty one "%", and a result longer than
// kMaxComponentBytes - 8 keeps its first 175 bytes plus '~' and 16 hex digits of
// a hash of `s` (FNV-1a 64). Distinct inputs give distinct names (up to
// the hash, for the long ones).
std::string SafeNameComponent(std::string_view s);
// The inverse of SafeNameComponent for names without a hash; nullopt for a
// hashed or malformed name.
std::optional<std::string> UnescapeNameComponent(std::string_view s);
// '/'-separated components, each non-empty, printable ASCII, no "." or ".."
// component, no backslash, at most kMaxComponentBytes bytes each.
bool IsSafeObjectName(std::string_view name);

// raw_tick_data/by_date/day-YYYY-MM-DD/data_type-{data_type}/{instrument_key}.parquet
std::string TickObjectName(const Date& day, std::string_view data_type,
                           std::string_view instrument_key);
// The prefix every TickObjectName(day, data_type, *) starts with: a listing
// of it gives the day's stored objects of that type (and the item records
// below it, which ParseTickObjectName refuses).
std::string TickObjectPrefix(const Date& day, std::string_view data_type);
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
// from input (flags, listings), so they pass through SafeNameComponent.
std::string ItemRecordName(const Date& day, std::string_view data_type, std::string_view exchange,
                           std::string_view symbol);

struct TickObject {
  Date day;
  std::string data_type, instrument_key;
};
std::optional<TickObject> ParseTickObjectName(std::string_view name);

}  // namespace mt::storage
