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

// `lead` followed by 16 hex digits of the FNV-1a 64 hash of `s`: the tail
// of a name cut to fit, so two long inputs that share a head stay distinct.
std::string HashTail(char lead, std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[20];
  std::snprintf(buf, sizeof buf, "%c%016llx", lead, static_cast<unsigned long long>(h));
  return buf;
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
    size_t keep = kMax - 17;
    // Do not cut an escape in half.
    if (keep >= 1 && out[keep - 1] == '%') keep -= 1;
    else if (keep >= 2 && out[keep - 2] == '%') keep -= 2;
    out = out.substr(0, keep) + HashTail('~', s);
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

const char* LayoutKindName(LayoutKind kind) { return kind == LayoutKind::kHive ? "hive" : "by_date"; }

std::optional<LayoutKind> ParseLayoutKind(std::string_view name) {
  if (name == "by_date") return LayoutKind::kByDate;
  if (name == "hive") return LayoutKind::kHive;
  return std::nullopt;
}

namespace {

bool HexDigit(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); }

bool HivePlain(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

void AppendEscape(std::string* out, unsigned char c) {
  char buf[4];
  std::snprintf(buf, sizeof buf, "_%02X", c);
  *out += buf;
}

// A name of exactly this length is hashed; unhashed names are shorter, so
// the two never look alike.
constexpr size_t kHiveMax = kMaxComponentBytes - 8;

std::string Hive(std::string_view s) { return HiveNameComponent(s); }

}  // namespace

std::string HivePartitionValue(std::string_view s) {
  bool verbatim = !s.empty() && s.size() < kHiveMax && s.front() != '.' && s.find("..") == std::string_view::npos;
  for (size_t i = 0; verbatim && i < s.size(); i++) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    verbatim = HivePlain(c) || c == '.' || c == '_';
  }
  return verbatim ? std::string(s) : HiveNameComponent(s);
}

namespace {
std::string Part(std::string_view s) { return HivePartitionValue(s); }
}  // namespace

std::string HiveNameComponent(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (HivePlain(c)) {
      out.push_back(static_cast<char>(c));
    } else if (c == ':') {
      const bool dot_ok = i > 0 && i + 1 < s.size() && s[i - 1] != ':';
      if (dot_ok) {
        out.push_back('.');
      } else {
        AppendEscape(&out, c);
      }
    } else if (c == '_') {
      if (i + 2 < s.size() && HexDigit(s[i + 1]) && HexDigit(s[i + 2])) {
        AppendEscape(&out, c);
      } else {
        out.push_back('_');
      }
    } else {
      AppendEscape(&out, c);
    }
  }
  // Never an empty component: "" is "_", so a lone "_" is escaped.
  if (out.empty()) out = "_";
  else if (out == "_") out = "_5F";
  if (out.size() >= kHiveMax) {
    size_t keep = kHiveMax - 17;
    // Do not cut an escape in half.
    if (keep >= 1 && out[keep - 1] == '_') keep -= 1;
    else if (keep >= 2 && out[keep - 2] == '_' && HexDigit(out[keep - 1])) keep -= 2;
    out = out.substr(0, keep);
    // A cut escape was removed whole; '.' never ends a name.
    while (!out.empty() && out.back() == '.') out.pop_back();
    out.append(kHiveMax - 17 - out.size(), '-');
    out += HashTail('-', s);
  }
  return out;
}

std::optional<std::string> UnescapeHiveNameComponent(std::string_view s) {
  if (s.size() >= kHiveMax || s.empty()) return std::nullopt;  // hashed: the original is not in the name
  if (s == "_") return std::string();
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    const char c = s[i];
    if (c == '.') {
      out.push_back(':');
    } else if (c == '_' && i + 2 < s.size() && HexDigit(s[i + 1]) && HexDigit(s[i + 2])) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else if (HivePlain(static_cast<unsigned char>(c)) || c == '_') {
      out.push_back(c);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::string Layout::TickObjectName(const Date& day, std::string_view data_type, std::string_view exchange,
                                   std::string_view instrument_key) const {
  if (kind_ == LayoutKind::kHive) {
    return "raw_tick_data/data_type=" + Part(data_type) + "/date=" + FormatDate(day) + "/" + ExchangeKey() + "=" +
           Part(exchange) + "/" + Hive(instrument_key) + ".parquet";
  }
  return "raw_tick_data/by_date/day-" + FormatDate(day) + "/data_type-" + SafeNameComponent(data_type) + "/" +
         SafeNameComponent(instrument_key) + ".parquet";
}

std::string Layout::TickObjectPrefix(const Date& day, std::string_view data_type) const {
  if (kind_ == LayoutKind::kHive) return DayListPrefix(day, data_type, false);
  return "raw_tick_data/by_date/day-" + FormatDate(day) + "/data_type-" + SafeNameComponent(data_type) + "/";
}

std::string Layout::DerivedObjectName(const Date& day, std::string_view derived_name, std::string_view exchange,
                                      std::string_view instrument_key) const {
  if (kind_ == LayoutKind::kHive) {
    return "derived_data/data_type=" + Part(derived_name) + "/date=" + FormatDate(day) + "/" + ExchangeKey() +
           "=" + Part(exchange) + "/" + Hive(instrument_key) + ".parquet";
  }
  return "derived_data/by_date/day-" + FormatDate(day) + "/data_type-" + SafeNameComponent(derived_name) + "/" +
         SafeNameComponent(instrument_key) + ".parquet";
}

std::string Layout::InstrumentsObjectName(const Date& day) const {
  if (kind_ == LayoutKind::kHive) return "instrument_availability/date=" + FormatDate(day) + "/instruments.parquet";
  return "instrument_availability/by_date/day-" + FormatDate(day) + "/instruments.parquet";
}

std::string Layout::InstrumentsGlob() const {
  if (kind_ == LayoutKind::kHive) return "instrument_availability/date=*/instruments.parquet";
  return "instrument_availability/by_date/day-*/instruments.parquet";
}

std::string Layout::InstrumentsAggregateName(const Date& from, const Date& to) const {
  // hive: beside the daily files, not below them: a glob over
  // instrument_availability/ reads days only, each with its date partition.
  return std::string(kind_ == LayoutKind::kHive ? "instrument_availability_aggregate/"
                                                : "instrument_availability/aggregate/") +
         "instruments_" + Compact(from) + "_" + Compact(to) + ".parquet";
}

std::string Layout::MissingReportObjectName(const Date& day) const {
  if (kind_ == LayoutKind::kHive) return "missing_data_reports/date=" + FormatDate(day) + "/missing_data.parquet";
  return "missing_data_reports/by_date/day-" + FormatDate(day) + "/missing_data.parquet";
}

std::string Layout::MissingReportsPrefix() const {
  return kind_ == LayoutKind::kHive ? "missing_data_reports/" : "missing_data_reports/by_date/";
}

std::string Layout::ItemRecordName(const Date& day, std::string_view data_type, std::string_view exchange,
                                   std::string_view symbol) const {
  if (kind_ == LayoutKind::kHive) {
    return "raw_tick_data/data_type=" + Part(data_type) + "/date=" + FormatDate(day) + "/" + ExchangeKey() + "=" +
           Part(exchange) + "/_items/" + Hive(symbol) + ".json";
  }
  return "raw_tick_data/by_date/day-" + FormatDate(day) + "/data_type-" + SafeNameComponent(data_type) +
         "/_items/" + SafeNameComponent(exchange) + "/" + SafeNameComponent(symbol) + ".json";
}

std::string Layout::DayListPrefix(const Date& day, std::string_view data_type, bool derived) const {
  const std::string root = derived ? "derived_data/" : "raw_tick_data/";
  if (kind_ == LayoutKind::kHive) return root + "data_type=" + Part(data_type) + "/date=" + FormatDate(day) + "/";
  return root + "by_date/day-" + FormatDate(day) + "/";
}

std::string Layout::DataTypePrefix(std::string_view data_type, bool derived) const {
  const std::string root = derived ? "derived_data/" : "raw_tick_data/";
  if (kind_ == LayoutKind::kHive) return root + "data_type=" + Part(data_type) + "/";
  return root + "by_date/";
}

std::string Layout::DataTypeGlob(std::string_view data_type, bool derived) const {
  if (kind_ == LayoutKind::kHive) return DataTypePrefix(data_type, derived) + "*/*/*.parquet";
  return DataTypePrefix(data_type, derived) + "day-*/data_type-" + SafeNameComponent(data_type) + "/*.parquet";
}

std::optional<std::string> Layout::DataTypeOfName(std::string_view name, bool* derived) const {
  constexpr std::string_view kRaw = "raw_tick_data/", kDerived = "derived_data/";
  if (name.substr(0, kRaw.size()) == kRaw) {
    *derived = false;
    name.remove_prefix(kRaw.size());
  } else if (name.substr(0, kDerived.size()) == kDerived) {
    *derived = true;
    name.remove_prefix(kDerived.size());
  } else {
    return std::nullopt;
  }
  constexpr std::string_view kExt = ".parquet";
  if (name.size() <= kExt.size() || name.substr(name.size() - kExt.size()) != kExt) return std::nullopt;
  if (kind_ == LayoutKind::kHive) {
    constexpr std::string_view kDt = "data_type=";
    if (name.substr(0, kDt.size()) != kDt) return std::nullopt;
    const size_t slash = name.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    if (slash == kDt.size()) return std::nullopt;
    return std::string(name.substr(kDt.size(), slash - kDt.size()));  // partition values are verbatim
  }
  // by_date/day-YYYY-MM-DD/data_type-X/FILE.parquet
  constexpr std::string_view kDay = "by_date/day-";
  if (name.substr(0, kDay.size()) != kDay || name.size() < kDay.size() + 11) return std::nullopt;
  name.remove_prefix(kDay.size() + 11);
  constexpr std::string_view kDt = "data_type-";
  if (name.substr(0, kDt.size()) != kDt) return std::nullopt;
  const size_t slash = name.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return UnescapeNameComponent(name.substr(kDt.size(), slash - kDt.size()));
}

std::vector<std::string> Layout::HiveDataPrefixes() { return {"raw_tick_data/data_type=", "derived_data/data_type="}; }

int Layout::HiveVersionOfName(std::string_view name) {
  if (name.find("/exchange=") != std::string_view::npos) return kHiveExchangeV1;
  if (name.find("/exchange_id=") != std::string_view::npos) return kHiveCurrent;
  return 0;
}

std::vector<std::string> Layout::ProbePrefixes() const {
  if (kind_ == LayoutKind::kHive) {
    return {"instrument_availability/date=", "missing_data_reports/date=", "derived_data/data_type=",
            "raw_tick_data/data_type="};
  }
  // Day files and reports first: a store has few of them, and they are
  // listed only until one is found.
  return {"instrument_availability/by_date/", "instrument_availability/aggregate/", "missing_data_reports/by_date/", "derived_data/by_date/",
          "raw_tick_data/by_date/"};
}

namespace {

// "NAME/" with NAME of `key=`: the value as it is written (HivePartitionValue
// writes the names of the grammars verbatim), nullopt otherwise.
std::optional<std::string> TakePartition(std::string_view* name, std::string_view key) {
  if (name->substr(0, key.size()) != key) return std::nullopt;
  const size_t slash = name->find('/', key.size());
  if (slash == std::string_view::npos || slash == key.size()) return std::nullopt;
  std::string v(name->substr(key.size(), slash - key.size()));
  name->remove_prefix(slash + 1);
  return v;
}

}  // namespace

std::optional<TickObject> Layout::ParseTickObjectName(std::string_view name) const {
  constexpr std::string_view kExt = ".parquet";
  if (kind_ == LayoutKind::kHive) {
    constexpr std::string_view kRoot = "raw_tick_data/";
    if (name.substr(0, kRoot.size()) != kRoot) return std::nullopt;
    name.remove_prefix(kRoot.size());
    auto dt = TakePartition(&name, "data_type=");
    auto date = dt ? TakePartition(&name, "date=") : std::nullopt;
    auto exchange = date ? TakePartition(&name, std::string(ExchangeKey()) + "=") : std::nullopt;
    if (!exchange) return std::nullopt;
    const auto day = ParseDate(*date);
    if (!day || name.size() <= kExt.size() || name.substr(name.size() - kExt.size()) != kExt ||
        name.find('/') != std::string_view::npos) {
      return std::nullopt;
    }
    const std::string_view stem = name.substr(0, name.size() - kExt.size());
    const auto key = UnescapeHiveNameComponent(stem);
    return TickObject{*day, *dt, key ? *key : std::string(stem), *exchange};
  }
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
  if (file.size() <= kExt.size() || file.substr(file.size() - kExt.size()) != kExt ||
      file.find('/') != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view stem = file.substr(0, file.size() - kExt.size());
  const auto key = UnescapeNameComponent(stem);
  const auto dt = UnescapeNameComponent(name.substr(0, slash));
  return TickObject{*day, dt ? *dt : std::string(name.substr(0, slash)), key ? *key : std::string(stem), ""};
}

}  // namespace mt::storage
