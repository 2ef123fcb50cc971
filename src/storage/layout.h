// Object names of the storage layout (DESIGN §4), built and parsed in one
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

struct TickObject {
  Date day;
  std::string data_type, instrument_key;
};
std::optional<TickObject> ParseTickObjectName(std::string_view name);

}  // namespace mt::storage
