// UTC calendar helpers for microsecond Unix timestamps (Tardis' unit).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mt {

struct Date {
  int year = 1970, month = 1, day = 1;
  bool operator==(const Date&) const = default;
  auto operator<=>(const Date&) const = default;
};

int64_t DaysFromCivil(int y, int m, int d);
Date CivilFromDays(int64_t days);
Date DateFromMicros(int64_t us);
int64_t MicrosFromDate(const Date& d);
// "YYYY-MM-DD"; nullopt when malformed or not a real calendar day.
std::optional<Date> ParseDate(std::string_view s);
std::string FormatDate(const Date& d);               // 2020-02-22
std::string FormatIsoMicros(int64_t us);             // 2020-02-22T00:00:02.418379Z
std::string FormatIsoSeconds(int64_t us);            // 2020-02-22T00:00:02Z (truncated to the second)
Date AddDays(const Date& d, int64_t n);
// Seconds on the monotonic clock, for timeouts and backoff.
double MonotonicSeconds();

// The day rule of tick files (convert's and download's warning, validate
// --deep's check): a file of day `day` holds rows whose local_timestamp
// (Tardis splits days by it) lies in [day, day + 1). Empty when [first,
// last] does; else a message naming the range.
std::string OutsideDay(int64_t first_local_ts, int64_t last_local_ts, const Date& day);

// The objects of one input (a file, a download item) whose rows break the
// day rule, said as one warning however many there are: a grouped file of
// thousands of instruments under another day's name gave a line per object.
class OutsideDayObjects {
 public:
  explicit OutsideDayObjects(const Date& day) : day_(day) {}
  // One object written from the input, with its rows' local_timestamp range.
  void Add(const std::string& name, uint64_t rows, int64_t first_local_ts, int64_t last_local_ts);
  // "" when every object keeps the rule; for one object OutsideDay's
  // message, then "; NAME"; for several, how many of them and the range over
  // them, then the first one's name.
  std::string Message() const;

 private:
  Date day_;
  size_t objects_ = 0, outside_ = 0;
  int64_t first_ = 0, last_ = 0;
  std::string name_;
};

// The wall clock, in microseconds since the epoch.
int64_t NowMicros();

// Now, in microseconds since the epoch, unless PinCreatedAt pinned it: the
// created_at of every file and record, so two runs over the same input give
// identical bytes.
int64_t CreatedAtMicros();

// Pins CreatedAtMicros to `epoch_seconds` (the reproducible-builds
// SOURCE_DATE_EPOCH, which the configuration loader reads, so a .env value
// applies too); nullopt unpins. Called once at start-up, before any thread.
void PinCreatedAt(std::optional<int64_t> epoch_seconds);

}  // namespace mt
