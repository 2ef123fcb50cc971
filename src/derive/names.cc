#include "derive/names.h"

#include <charconv>
#include <cmath>
#include <set>

namespace mt::derive {

using columnar::ColumnKind;
using columnar::ColumnSpec;

namespace {

bool ConsumePrefix(std::string_view* s, std::string_view prefix) {
  if (s->substr(0, prefix.size()) != prefix) return false;
  s->remove_prefix(prefix.size());
  return true;
}
bool ConsumeSuffix(std::string_view* s, std::string_view suffix) {
  if (s->size() < suffix.size() || s->substr(s->size() - suffix.size()) != suffix) return false;
  s->remove_suffix(suffix.size());
  return true;
}

// Digits only, no sign, no leading zero unless "0"; at most 12 digits.
bool ParseCount(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 12 || (s.size() > 1 && s[0] == '0')) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// A positive decimal: digits with at most one '.', no sign or exponent, at
// most kMaxDecimalChars characters (so that its canonical form, the name's,
// is short too: 1e-300 written out would be a 300-character name).
constexpr size_t kMaxDecimalChars = 24;
bool ParsePositiveDecimal(std::string_view s, double* out) {
  if (s.empty() || s.size() > kMaxDecimalChars || s.front() == '.' || s.back() == '.') return false;
  int dots = 0;
  for (char c : s) {
    if (c == '.') {
      dots++;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  if (dots > 1) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && *out > 0 && std::isfinite(*out);
}

// Room for any double written out in fixed notation (the smallest subnormal
// takes about 330 characters), so to_chars never runs out of buffer.
std::string ShortestDecimal(double v) {
  char buf[400];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (r.ec != std::errc()) return std::to_string(v);
  return std::string(buf, r.ptr);
}

// Intervals up to 10^15 ms (about 31,700 years): n * unit stays far inside
// int64 microseconds, and so does the end of any interval of a day's rows
// ((bucket + 1) * interval). A 12-digit count of minutes would overflow.
constexpr int64_t kMaxIntervalMs = 1'000'000'000'000'000;

// "{n}ms", "{n}s" or "{n}m" -> microseconds; false when not of that form or
// longer than kMaxIntervalMs.
bool ParseInterval(std::string_view s, int64_t* us) {
  int64_t n = 0, unit_ms = 0;
  if (ConsumeSuffix(&s, "ms")) {
    unit_ms = 1;
  } else if (ConsumeSuffix(&s, "s")) {
    unit_ms = 1000;
  } else if (ConsumeSuffix(&s, "m")) {
    unit_ms = 60000;
  } else {
    return false;
  }
  if (!ParseCount(s, &n) || n > kMaxIntervalMs / unit_ms) return false;
  *us = n * unit_ms * 1000;
  return true;
}

std::string IntervalName(int64_t us) {
  const int64_t ms = us / 1000;
  if (ms != 0 && ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

Status Invalid(std::string_view name, const std::string& why) {
  return Status::Usage("derived data type '" + std::string(name) + "': " + why +
                                 "; accepted forms: " + AcceptedDerivedForms());
}

}  // namespace

std::string AcceptedDerivedForms() {
  return "book_snapshot_{depth}_{interval}, book_snapshot_{depth}_grouped{step}_{interval}, "
         "trade_bar_{interval}, trade_bar_{n}ticks, trade_bar_{volume}vol (depth 1 to " +
         std::to_string(kMaxDepth) +
         ", interval {n}ms, {n}s or {n}m, 0ms = every change of the top levels; e.g. "
         "book_snapshot_10_1s, book_snapshot_25_grouped0.5_100ms, trade_bar_1m, trade_bar_100ticks)";
}

Result<DerivedSpec> ParseDerivedName(std::string_view name) {
  DerivedSpec spec;
  std::string_view s = name;
  if (ConsumePrefix(&s, "book_snapshot_")) {
    spec.kind = DerivedKind::kBookSnapshot;
    const size_t us = s.find('_');
    if (us == std::string_view::npos) return Invalid(name, "no interval");
    int64_t depth = 0;
    if (!ParseCount(s.substr(0, us), &depth) || depth == 0) {
      return Invalid(name, "the depth is not a whole number of levels from 1");
    }
    if (depth > kMaxDepth) {
      return Invalid(name, "depth " + std::to_string(depth) + " is over the maximum " + std::to_string(kMaxDepth));
    }
    spec.depth = static_cast<int>(depth);
    s.remove_prefix(us + 1);
    if (ConsumePrefix(&s, "grouped")) {
      const size_t end = s.find('_');
      if (end == std::string_view::npos || !ParsePositiveDecimal(s.substr(0, end), &spec.grouping)) {
        return Invalid(name, "the grouping step is not a positive decimal number of at most " +
                                  std::to_string(kMaxDecimalChars) + " characters");
      }
      spec.grouped = true;
      s.remove_prefix(end + 1);
    }
    if (!ParseInterval(s, &spec.interval_us)) {
      return Invalid(name, "the interval is not {n}ms, {n}s or {n}m (n of at most 12 digits, at most 10^15 ms)");
    }
    spec.name = "book_snapshot_" + std::to_string(spec.depth) +
                (spec.grouped ? "_grouped" + ShortestDecimal(spec.grouping) : "") + "_" +
                IntervalName(spec.interval_us);
    return spec;
  }
  if (ConsumePrefix(&s, "trade_bar_")) {
    spec.kind = DerivedKind::kTradeBar;
    int64_t n = 0;
    if (ConsumeSuffix(&s, "ticks")) {
      if (!ParseCount(s, &n) || n == 0) return Invalid(name, "the tick count is not a whole number from 1");
      spec.bar = BarKind::kTicks;
      spec.bar_size = static_cast<double>(n);
      spec.name = "trade_bar_" + std::to_string(n) + "ticks";
      return spec;
    }
    if (ConsumeSuffix(&s, "vol")) {
      if (!ParsePositiveDecimal(s, &spec.bar_size)) return Invalid(name, "the volume is not a positive decimal number of at most " +
                                                                    std::to_string(kMaxDecimalChars) + " characters");
      spec.bar = BarKind::kVolume;
      spec.name = "trade_bar_" + ShortestDecimal(spec.bar_size) + "vol";
      return spec;
    }
    spec.bar = BarKind::kTime;
    if (!ParseInterval(s, &spec.interval_us)) {
      return Invalid(name, "not {n}ms, {n}s, {n}m (n of at most 12 digits, at most 10^15 ms), {n}ticks or {n}vol");
    }
    if (spec.interval_us == 0) return Invalid(name, "a time bar needs an interval over 0");
    spec.name = "trade_bar_" + IntervalName(spec.interval_us);
    return spec;
  }
  return Invalid(name, "unknown derived data type");
}

Result<std::vector<DerivedSpec>> ParseDerivedList(std::string_view list) {
  std::vector<DerivedSpec> out;
  std::set<std::string> seen;
  while (true) {
    const size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      MT_ASSIGN_OR_RETURN(DerivedSpec spec, ParseDerivedName(item));
      if (seen.insert(spec.name).second) out.push_back(std::move(spec));
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  if (out.empty()) return Status::Usage("no derived data type given; accepted forms: " + AcceptedDerivedForms());
  return out;
}

namespace {
std::vector<ColumnSpec> CommonColumns() {
  return {{"exchange", ColumnKind::kString, false},
          {"symbol", ColumnKind::kString, false},
          {"timestamp", ColumnKind::kTimestampMicros, false},
          {"local_timestamp", ColumnKind::kTimestampMicros, false}};
}
const char* kBarColumns[] = {"open", "high", "low", "close", "volume", "buy_volume", "sell_volume", "trades", "vwap"};
}  // namespace

std::vector<ColumnSpec> DerivedParquetSchema(const DerivedSpec& spec) {
  std::vector<ColumnSpec> cols = CommonColumns();
  if (spec.kind == DerivedKind::kBookSnapshot) {
    for (int i = 1; i <= spec.depth; i++) {
      const std::string n = std::to_string(i);
      cols.push_back({"ask_price_" + n, ColumnKind::kDouble, true});
      cols.push_back({"ask_volume_" + n, ColumnKind::kDouble, true});
      cols.push_back({"bid_price_" + n, ColumnKind::kDouble, true});
      cols.push_back({"bid_volume_" + n, ColumnKind::kDouble, true});
    }
    return cols;
  }
  for (const char* c : kBarColumns) cols.push_back({c, ColumnKind::kDouble, false});
  cols.push_back({"open_timestamp", ColumnKind::kTimestampMicros, false});
  cols.push_back({"close_timestamp", ColumnKind::kTimestampMicros, false});
  return cols;
}

std::vector<DerivedKindDoc> DerivedDocs() {
  const std::vector<DerivedColumnDoc> common = {
      {"exchange", ColumnKind::kString, false, "Tardis exchange id"},
      {"symbol", ColumnKind::kString, false, "instrument symbol, as in the source rows"},
  };
  DerivedKindDoc book{
      "book_snapshot_{depth}_{interval}, book_snapshot_{depth}_grouped{step}_{interval}",
      "from incremental_book_L2: the top `depth` price levels of each side (grouped: levels merged "
      "into price buckets of `step`), once per interval or, with `0ms`, whenever they change",
      common};
  book.columns.push_back({"timestamp", ColumnKind::kTimestampMicros, false,
                          "end of the interval (0ms, and the first snapshot of an interval series: exchange time of the "
                          "change that made the snapshot)"});
  book.columns.push_back({"local_timestamp", ColumnKind::kTimestampMicros, false,
                          "arrival time of the book change that made the snapshot"});
  book.columns.push_back({"ask_price_{i}", ColumnKind::kDouble, true, "ask price at level i (1 = best); null where the book has fewer levels"});
  book.columns.push_back({"ask_volume_{i}", ColumnKind::kDouble, true, "ask amount at level i"});
  book.columns.push_back({"bid_price_{i}", ColumnKind::kDouble, true, "bid price at level i (1 = best)"});
  book.columns.push_back({"bid_volume_{i}", ColumnKind::kDouble, true, "bid amount at level i"});
  DerivedKindDoc bar{"trade_bar_{interval}, trade_bar_{n}ticks, trade_bar_{volume}vol",
                     "from trades: OHLC bars per time interval (bucketed on the exchange timestamp), "
                     "per n trades, or per traded volume",
                     common};
  bar.columns.push_back({"timestamp", ColumnKind::kTimestampMicros, false,
                         "time bars: end of the interval; tick and volume bars: exchange time of the bar's last trade"});
  bar.columns.push_back({"local_timestamp", ColumnKind::kTimestampMicros, false,
                         "arrival time of the trade that closed the bar (the day's last bar: of its last trade)"});
  bar.columns.push_back({"open", ColumnKind::kDouble, false, "price of the first trade"});
  bar.columns.push_back({"high", ColumnKind::kDouble, false, "highest price"});
  bar.columns.push_back({"low", ColumnKind::kDouble, false, "lowest price"});
  bar.columns.push_back({"close", ColumnKind::kDouble, false, "price of the last trade in exchange-time order"});
  bar.columns.push_back({"volume", ColumnKind::kDouble, false, "sum of amounts"});
  bar.columns.push_back({"buy_volume", ColumnKind::kDouble, false, "sum of amounts of buyer-initiated trades"});
  bar.columns.push_back({"sell_volume", ColumnKind::kDouble, false, "sum of amounts of seller-initiated trades"});
  bar.columns.push_back({"trades", ColumnKind::kDouble, false, "number of trades (a whole number)"});
  bar.columns.push_back({"vwap", ColumnKind::kDouble, false, "volume-weighted average price"});
  bar.columns.push_back({"open_timestamp", ColumnKind::kTimestampMicros, false, "exchange time of the first trade"});
  bar.columns.push_back({"close_timestamp", ColumnKind::kTimestampMicros, false, "exchange time of the close trade"});
  return {book, bar};
}

}  // namespace mt::derive
