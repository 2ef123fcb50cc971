// What `market-tick validate` expects and finds, item by item: one item is
// one object of the storage layout (docs/STORAGE.md), a (day, data type,
// instrument) triple.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/time_util.h"

namespace mt::validate {

// Ordered by severity: a venue cell of the heatmap shows its worst item.
enum class ItemStatus : uint8_t {
  kDone = 0,          // present (with --deep: a sound file with rows)
  kNoData = 1,        // present with zero rows, or a complete grouped item without
                      // rows for this instrument: Tardis has no data that day
  kNotAvailable = 2,  // no object; the download recorded HTTP 404 at the source
  // No object (and no 404 record), but the exchange has a Tardis incident
  // report overlapping the day in the day's instrument definitions
  // (exchange_sources[].incidents): the source reported the data missing or
  // degraded, so the gap is expected. Tardis incidents name no symbol or
  // data type, so one covers every item of its exchange that day.
  kNoDataIncident = 3,
  kMissing = 4,       // expected, no object (or a grouped item without its record)
  kCorrupt = 5,       // present but unreadable, truncated, wrong schema or day
};
inline constexpr int kNumStatuses = 6;

// Whether an item needs a download: missing or corrupt. not_available,
// no_data and no_data_incident are what the source has or reported; they do
// not make a run incomplete.
inline bool IsProblem(ItemStatus s) { return s == ItemStatus::kMissing || s == ItemStatus::kCorrupt; }

// Whether the item is listed in the missing-data reports and the stdout
// problem lines: the problems and the absences the source explains.
inline bool IsReported(ItemStatus s) {
  return IsProblem(s) || s == ItemStatus::kNotAvailable || s == ItemStatus::kNoDataIncident;
}

// "done", "no_data", "not_available", "no_data_incident" (docs: no_data
// (incident)), "missing", "corrupt" (also the HTML data-status values and
// the missing-data reports' status column).
const char* StatusName(ItemStatus s);

struct ExpectedItem {
  Date day;
  std::string data_type;
  std::string instrument_key;  // VENUE:TYPE:SYMBOL
  std::string exchange;        // Tardis exchange id
  std::string symbol;          // Tardis symbol
  // The object's name when its key cannot give it (rows a grouped file kept
  // under VENUE:UNKEYED:SYMBOL whose name was cut to fit and hashed: the
  // name is the record's, the key above its readable head); else empty.
  std::string object = {};
};

struct ItemResult {
  ExpectedItem item;
  ItemStatus status = ItemStatus::kMissing;
  std::string object;   // object name in the store
  std::string reason;   // why missing or corrupt
  // No object of this name in the listing (missing, not_available, or
  // no_data_incident): what an incident may explain.
  bool absent = false;
  uint64_t bytes = 0;
  int64_t rows = -1;    // -1: unknown (footers not read)
  std::optional<int64_t> first_local_ts, last_local_ts;
};

// The venue part of an instrument key ("BINANCE-FUTURES" of
// "BINANCE-FUTURES:PERPETUAL:BTC-USDT").
std::string VenueOfKey(const std::string& key);

}  // namespace mt::validate
