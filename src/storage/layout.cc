#include "storage/layout.h"

#include <cstdint>

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

std::string RecordNameComponent(std::string_view raw) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < raw.size(); i++) {
    const unsigned char c = static_cast<unsigned char>(raw[i]);
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                       c == '-' || (c == '.' && i > 0);
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (out.empty()) return "%";  // "" must still name a file
  if (out.size() > 120) {
    uint64_t h = 1469598103934665603ULL;  // FNV-1a 64 of the raw bytes
    for (unsigned char c : raw) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    out.resize(100);
    // Never cut an escape in half: drop a trailing partial "%" or "%X".
    if (out.back() == '%') out.pop_back();
    else if (out[out.size() - 2] == '%') out.resize(out.size() - 2);
    out += '~';
    for (int shift = 60; shift >= 0; shift -= 4) out += kHex[(h >> shift) & 15];
  }
  return out;
}

std::string ItemRecordName(const Date& day, std::string_view data_type, std::string_view exchange,
                           std::string_view symbol) {
  return "raw_tick_data/by_date/day-" + FormatDate(day) + "/data_type-" + RecordNameComponent(data_type) +
         "/_items/" + RecordNameComponent(exchange) + "/" + RecordNameComponent(symbol) + ".json";
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
