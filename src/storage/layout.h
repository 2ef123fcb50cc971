// Object names of the storage layout (docs/STORAGE.md), built and parsed in one
// place so every component agrees on them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// The two layouts of a store (docs/STORAGE.md). by_date is the layout of
// buckets written before layouts existed and stays the default; hive names
// every partition `name=value`, so DuckDB's and BigQuery's Hive partitioning
// read the date, data type and exchange from the path.
enum class LayoutKind { kByDate, kHive };
// "by_date" or "hive".
const char* LayoutKindName(LayoutKind kind);
std::optional<LayoutKind> ParseLayoutKind(std::string_view name);

// The object at a store's root that records its layout (storage/layout_record.h).
inline constexpr const char* kStoreRecordName = "market-tick-store.json";

// The hive layout's name rule for a value taken from input (an instrument key
// as a file name, a data type or an exchange id as a partition value): the
// result has only A-Z a-z 0-9 '.' '_' '-' (no '=', so no reader takes a file
// name for a partition), and
//   ':' becomes '.', except first, last or after another ':' (it would make
//       a hidden name, "..", or "..parquet"), where it becomes _3A;
//   '_' stays, except before two of 0-9 A-F, where it becomes _5F;
//   any other byte outside A-Z a-z 0-9 '-' becomes _XX (upper-case hex).
// So BINANCE:SPOT_PAIR:BTC-USDT -> BINANCE.SPOT_PAIR.BTC-USDT and
// A:B.C -> A.B_2EC. A result longer than kMaxComponentBytes - 8 is cut and
// ends in '-' and 16 hex digits of a hash of `s`, as SafeNameComponent's.
std::string HiveNameComponent(std::string_view s);
// The inverse of HiveNameComponent (nullopt for a hashed or malformed name).
std::optional<std::string> UnescapeHiveNameComponent(std::string_view s);
// The hive layout's partition value (NAME=VALUE) of a data type, derived name
// or exchange id: `s` itself when it is made of A-Z a-z 0-9 '.' '_' '-' only,
// does not start with '.', has no "..", and is shorter than
// kMaxComponentBytes - 8 (every name of the data type, derived name and
// exchange grammars), so query engines show the name itself
// (data_type = 'book_snapshot_25'); anything else goes through
// HiveNameComponent. Names are parsed back verbatim (no unescaping).
std::string HivePartitionValue(std::string_view s);

struct TickObject {
  Date day;
  std::string data_type, instrument_key;
  std::string exchange;  // the Tardis exchange id (hive: its partition; by_date: empty, not in the name)
};

// Every object name of a store, in one of the two layouts. A store carries
// its layout (ObjectStore::layout(), set where the store is opened from the
// store's record: layout_record.h); components name objects only through it.
// by_date (the default):
//   raw_tick_data/by_date/day-YYYY-MM-DD/data_type-{data_type}/{instrument_key}.parquet
//   derived_data/by_date/day-YYYY-MM-DD/data_type-{derived_name}/{instrument_key}.parquet
//   instrument_availability/by_date/day-YYYY-MM-DD/instruments.parquet
//   instrument_availability/aggregate/instruments_YYYYMMDD_YYYYMMDD.parquet
//   missing_data_reports/by_date/day-YYYY-MM-DD/missing_data.parquet
//   raw_tick_data/by_date/day-YYYY-MM-DD/data_type-{data_type}/_items/{exchange}/{symbol}.json
// hive (partition values through HivePartitionValue, file names through HiveNameComponent):
//   raw_tick_data/data_type={data_type}/date=YYYY-MM-DD/exchange_id={exchange}/{instrument_key}.parquet
//   derived_data/data_type={derived_name}/date=YYYY-MM-DD/exchange_id={exchange}/{instrument_key}.parquet
//   instrument_availability/date=YYYY-MM-DD/instruments.parquet
//   instrument_availability_aggregate/instruments_YYYYMMDD_YYYYMMDD.parquet
//   missing_data_reports/date=YYYY-MM-DD/missing_data.parquet
//   raw_tick_data/data_type={data_type}/date=YYYY-MM-DD/exchange_id={exchange}/_items/{symbol}.json
// `exchange` is the Tardis exchange id (the files' `exchange` column); by_date
// does not use it in tick names. Its hive partition is named exchange_id, not
// exchange: BigQuery's Hive partitioning refuses partition keys that are also
// columns of the files. Hive stores recorded with format version 1 (written
// before that) keep the key `exchange` (kHiveExchangeV1), so one store never
// holds both names.
class Layout {
 public:
  // The hive layout's versions: 1 names the exchange partition `exchange`,
  // 2 (every new hive store) `exchange_id`.
  static constexpr int kHiveExchangeV1 = 1, kHiveCurrent = 2;
  Layout() = default;
  explicit Layout(LayoutKind kind, int hive_version = kHiveCurrent) : kind_(kind), hive_version_(hive_version) {}
  LayoutKind kind() const { return kind_; }
  const char* name() const { return LayoutKindName(kind_); }
  // The hive layout's version (kHiveExchangeV1 or kHiveCurrent); unused by by_date.
  int hive_version() const { return hive_version_; }
  // The name of the exchange's hive partition: "exchange_id", or "exchange"
  // in a version 1 hive store.
  const char* ExchangeKey() const { return hive_version_ == kHiveExchangeV1 ? "exchange" : "exchange_id"; }
  bool operator==(const Layout& o) const {
    return kind_ == o.kind_ && (kind_ != LayoutKind::kHive || hive_version_ == o.hive_version_);
  }

  std::string TickObjectName(const Date& day, std::string_view data_type, std::string_view exchange,
                             std::string_view instrument_key) const;
  std::string DerivedObjectName(const Date& day, std::string_view derived_name, std::string_view exchange,
                                std::string_view instrument_key) const;
  std::string InstrumentsObjectName(const Date& day) const;
  std::string InstrumentsAggregateName(const Date& from, const Date& to) const;
  // Every day's InstrumentsObjectName, with '*' for the day (for messages and views).
  std::string InstrumentsGlob() const;
  std::string MissingReportObjectName(const Date& day) const;
  // The folder of every day's missing-data report (for messages).
  std::string MissingReportsPrefix() const;
  // The completion record of one work item (day, data type, Tardis exchange,
  // Tardis symbol), a small JSON object written after the item's objects.
  // It sits under DayListPrefix(day, data_type) so validate's listing sees
  // it, and it never parses as a tick object.
  std::string ItemRecordName(const Date& day, std::string_view data_type, std::string_view exchange,
                             std::string_view symbol) const;
  // The prefix every TickObjectName(day, data_type, *, *) starts with: a
  // listing of it gives the day's stored objects of that type (and item
  // records, which ParseTickObjectName refuses).
  std::string TickObjectPrefix(const Date& day, std::string_view data_type) const;
  // A prefix whose listing holds every object and record of (day, data type)
  // (by_date: the whole day, all data types; hive: the data type's day).
  std::string DayListPrefix(const Date& day, std::string_view data_type, bool derived) const;
  // The tick object a name is (raw_tick_data only; records and other objects: nullopt).
  std::optional<TickObject> ParseTickObjectName(std::string_view name) const;
  // Relative glob of every file of one data type (for query engines' views):
  // by_date: raw_tick_data/by_date/day-*/data_type-trades/*.parquet,
  // hive: raw_tick_data/data_type=trades/*/*/*.parquet.
  std::string DataTypeGlob(std::string_view data_type, bool derived) const;
  // The prefix under which one data type's files lie (hive: its Hive
  // partition root, raw_tick_data/data_type=trades/).
  std::string DataTypePrefix(std::string_view data_type, bool derived) const;
  // The data type a listed name of raw_tick_data/ or derived_data/ belongs
  // to (*derived says which), or nullopt for any other name.
  std::optional<std::string> DataTypeOfName(std::string_view name, bool* derived) const;
  // Prefixes that hold data only in this layout, cheapest listing first (the
  // layout of a store without a record: layout_record.cc).
  std::vector<std::string> ProbePrefixes() const;
  // The hive layout's prefixes of tick and derived objects, the folders that
  // name an exchange partition.
  static std::vector<std::string> HiveDataPrefixes();
  // The hive version of a store holding the tick or derived object `name`:
  // kHiveExchangeV1 when it is in an `exchange=` folder, kHiveCurrent in an
  // `exchange_id=` one, 0 when it names no exchange partition (a file of
  // another tool in the folders, a folder placeholder): it tells nothing.
  static int HiveVersionOfName(std::string_view name);

 private:
  LayoutKind kind_ = LayoutKind::kByDate;
  int hive_version_ = kHiveCurrent;
};

}  // namespace mt::storage
