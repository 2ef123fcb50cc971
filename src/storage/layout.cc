#include "storage/layout.h"

#include <cstdint>
#include <cstdio>

namespace mt::storage {

namespace {

bool PlainByte(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == ':' || c == '.';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Compact(const Date& d) {
  std::string s = FormatDate(d);
  return s.substr(0, 4) + s.substr(5, 2) + s.substr(8, 2);
}
}  // namespace

std::string SafeNameComponent(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const bool dot_escape = c == '.' && (out.empty() || out.back() == '.');
    if (PlainByte(c) && !dot_escape) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  // A trailing '.' would make "..parquet" once the extension follows.
  if (!out.empty() && out.back() == '.') {
    out.pop_back();
    out += "%2E";
  }
  if (out.empty()) out = "%";  // never an empty component (an empty input has no %XX of its own)
  // Room for an extension (".parquet"): the file name stays within the bound.
  constexpr size_t kMax = kMaxComponentBytes - 8;
  if (out.size() > kMax) {
    uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    char buf[20];
    std::snprintf(buf, sizeof buf, "~%016llx", static_cast<unsigned long long>(h));
    size_t keep = kMax - 17;
    // Do not cut an escape in half.
    if (keep >= 1 && out[keep - 1] == '%') keep -= 1;
    else if (keep >= 2 && out[keep - 2] == '%') keep -= 2;
    out = out.substr(0, keep) + buf;
  }
  return out;
}

std::optional<std::string> UnescapeNameComponent(std::string_view s) {
  if (s == "%") return std::string();
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '~') return std::nullopt;  // hashed: the original is not in the name
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

bool IsSafeObjectName(std::string_view name) {
  if (name.empty()) return false;
  size_t start = 0;
  while (true) {
    const size_t slash = name.find('/', start);
    const std::string_view part = name.substr(start, slash == std::string_view::npos ? std::string_view::npos
                                                                                   : slash - start);
    if (part.empty() || part.size() > kMaxComponentBytes || part == "." || part == "..") return false;
    for (char ch : part) {
      const unsigned char c = static_cast<unsigned char>(ch);
      if (c < 0x21 || c > 0x7E || c == '\\') return false;
    }
    if (part.find("..") != std::string_view::npos) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

std::string TickObjectName(const Date& day, std::string_view data_type,
                           std::string_view instrument_key) {
  return "raw_tick_data/by_date/day-" + FormatDate(day) + "/data_type-" + SafeNameComponent(data_type) + "/" +
         SafeNameComponent(instrument_key) + ".parquet";
}

std::string TickObjectPrefix(const Date& day, std::string_view data_type) {
  return "raw_tick_data/by_date/day-" + FormatDate(day) + "/data_type-" + SafeNameComponent(data_type) + "/";
}

std::string DerivedObjectName(const Date& day, std::string_view derived_name,
                              std::string_view instrument_key) {
  return "derived_data/by_date/day-" + FormatDate(day) + "/data_type-" + SafeNameComponent(derived_name) + "/" +
         SafeNameComponent(instrument_key) + ".parquet";
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

std::string ItemRecordName(const Date& day, std::string_view data_type, std::string_view exchange,
                           std::string_view symbol) {
  return "raw_tick_data/by_date/day-" + FormatDate(day) + "/data_type-" + SafeNameComponent(data_type) +
         "/_items/" + SafeNameComponent(exchange) + "/" + SafeNameComponent(symbol) + ".json";
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
  const std::string_view stem = file.substr(0, file.size() - kExt.size());
  const auto key = UnescapeNameComponent(stem);
  const auto dt = UnescapeNameComponent(name.substr(0, slash));
  return TickObject{*day, dt ? *dt : std::string(name.substr(0, slash)), key ? *key : std::string(stem)};
}

}  // namespace mt::storage
