#include "core/time_util.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace mt {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's civil algorithm).
int64_t DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

Date CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return Date{static_cast<int>(y + (m <= 2)), static_cast<int>(m), static_cast<int>(d)};
}

static int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Date DateFromMicros(int64_t us) { return CivilFromDays(FloorDiv(us, 86400LL * 1000000)); }

int64_t MicrosFromDate(const Date& d) {
  return DaysFromCivil(d.year, d.month, d.day) * 86400LL * 1000000;
}

std::optional<Date> ParseDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto num = [&](size_t pos, size_t len, int* out) {
    int v = 0;
    for (size_t i = pos; i < pos + len; i++) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  Date d;
  if (!num(0, 4, &d.year) || !num(5, 2, &d.month) || !num(8, 2, &d.day)) return std::nullopt;
  if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > 31) return std::nullopt;
  if (CivilFromDays(DaysFromCivil(d.year, d.month, d.day)) != d) return std::nullopt;
  return d;
}

std::string FormatDate(const Date& d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year, d.month, d.day);
  return buf;
}

std::string FormatIsoMicros(int64_t us) {
  const int64_t day_us = 86400LL * 1000000;
  const int64_t days = FloorDiv(us, day_us);
  int64_t rem = us - days * day_us;
  const Date d = CivilFromDays(days);
  const int hh = static_cast<int>(rem / 3600000000LL);
  rem %= 3600000000LL;
  const int mm = static_cast<int>(rem / 60000000LL);
  rem %= 60000000LL;
  const int ss = static_cast<int>(rem / 1000000);
  const int frac = static_cast<int>(rem % 1000000);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", d.year, d.month, d.day, hh,
                mm, ss, frac);
  return buf;
}

Date AddDays(const Date& d, int64_t n) {
  return CivilFromDays(DaysFromCivil(d.year, d.month, d.day) + n);
}

double MonotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string OutsideDay(int64_t first_local_ts, int64_t last_local_ts, const Date& day) {
  const int64_t lo = MicrosFromDate(day), hi = MicrosFromDate(AddDays(day, 1));
  if (first_local_ts >= lo && last_local_ts < hi) return "";
  return "local_timestamp runs " + FormatIsoMicros(first_local_ts) + " .. " + FormatIsoMicros(last_local_ts) +
         ", outside " + FormatDate(day);
}

void OutsideDayObjects::Add(const std::string& name, uint64_t rows, int64_t first_local_ts, int64_t last_local_ts) {
  objects_++;
  if (rows == 0 || OutsideDay(first_local_ts, last_local_ts, day_).empty()) return;
  if (outside_++ == 0) {
    first_ = first_local_ts;
    last_ = last_local_ts;
    name_ = name;
    return;
  }
  first_ = std::min(first_, first_local_ts);
  last_ = std::max(last_, last_local_ts);
}

std::string OutsideDayObjects::Message() const {
  if (outside_ == 0) return "";
  const std::string range = OutsideDay(first_, last_, day_);
  if (outside_ == 1) return range + "; " + name_;
  return range + " (over " + std::to_string(outside_) + " of its " + std::to_string(objects_) + " objects); " + name_ +
         " and the " + std::to_string(outside_ - 1) + " others";
}

namespace {
std::optional<int64_t> g_pinned_created_at;  // microseconds
}  // namespace

void PinCreatedAt(std::optional<int64_t> epoch_seconds) {
  g_pinned_created_at = epoch_seconds ? std::optional<int64_t>(*epoch_seconds * 1000000) : std::nullopt;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t CreatedAtMicros() { return g_pinned_created_at ? *g_pinned_created_at : NowMicros(); }

std::string FormatIsoSeconds(int64_t us) { return FormatIsoMicros(us).substr(0, 19) + "Z"; }

}  // namespace mt
