#include "storage/layout.h"

namespace mt::storage {

namespace {
std::string Compact(const Date& d) {
  std::string s = FormatDate(d);
  return s.substr(0, 4) + s.substr(5, 2) + s.substr(8, 2);
}
}  // namespace

std::string TickObjectName(const Date& day, std::string_view data_type,
                           std::string_view instrument_key) {
  return "raw_tick_data/by_date/day-" + FormatDate(day) + "/data_type-" + std::string(data_type) +
         "/" + std::string(instrument_key) + ".parquet";
}

std::string DerivedObjectName(const Date& day, std::string_view derived_name,
                              std::string_view instrument_key) {
  return "derived_data/by_date/day-" + FormatDate(day) + "/data_type-" + std::string(derived_name) +
         "/" + std::string(instrument_key) + ".parquet";
}

std::string InstrumentsObjectName(const Date& day) {
  return "instrument_availability/by_date/day-" + FormatDate(day) + "/instruments.parquet";
}

std::string InstrumentsAggregateName(const Date& from, const Date& to) {
  return "instrument_availability/aggregate/instruments_" + Compact(from) + "_" + Compact(to) +
         ".parquet";
}

std::string MissingReportObjectName(const Date& day) {
  return "missing_data_reports/by_date/day-" + FormatDate(day) + "/missing_data.parquet";
}

std::optional<TickObject> ParseTickObjectName(std::string_view name) {
  constexpr std::string_view kPrefix = "raw_tick_data/by_date/day-";
  if (name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  name.remove_prefix(kPrefix.size());
  if (name.size() < 11 || name[10] != '/') return std::nullopt;
  const auto day = ParseDate(name.substr(0, 10));
  if (!day) return std::nullopt;
  name.remove_prefix(11);
  constexpr std::string_view kDt = "data_type-";
  if (name.substr(0, kDt.size()) != kDt) return std::nullopt;
  name.remove_prefix(kDt.size());
  const size_t slash = name.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  std::string_view file = name.substr(slash + 1);
  constexpr std::string_view kExt = ".parquet";
  if (file.size() <= kExt.size() || file.substr(file.size() - kExt.size()) != kExt ||
      file.find('/') != std::string_view::npos) {
    return std::nullopt;
  }
  return TickObject{*day, std::string(name.substr(0, slash)),
                    std::string(file.substr(0, file.size() - kExt.size()))};
}

}  // namespace mt::storage
