// The file format of missing_data_reports/by_date/day-D/missing_data.parquet
// (docs/VALIDATE.md): one row per missing, corrupt or not-available item of
// the day. `validate` writes it; `download --from-report` plans from it
// (PlanFromReports in plan.h). A day with nothing missing has a zero-row
// file, so "validated, complete" and "never validated" differ.
// Columns (all REQUIRED): date (YYYY-MM-DD), data_type, instrument_key,
// tardis_exchange, tardis_symbol, status (missing | corrupt |
// not_available | no_data_incident), reason, object_name (STRING); checked_at
// (TIMESTAMP(MICROS,UTC)).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/time_util.h"
#include "columnar/column_data.h"
#include "parquet/file_reader.h"
#include "storage/object_store.h"

namespace mt::pipeline {

std::vector<columnar::ColumnSpec> MissingReportSchema();

struct MissingReportRow {
  Date day;
  std::string data_type, instrument_key, exchange, symbol;
  std::string status;  // "missing", "corrupt", "not_available" or "no_data_incident"
  std::string reason, object_name;
  int64_t checked_at = 0;  // microseconds since the epoch (ReadMissingReportRows fills it)
};

// Writes (replacing) the day's report. `checked_at` in microseconds since
// the epoch.
Status WriteMissingReportRows(storage::ObjectStore* store, const Date& day, const std::vector<MissingReportRow>& rows,
                              int64_t checked_at, const std::string& created_by);
// Reports of up to this many rows are one row group; a larger one is
// written in row groups of this many rows (the last one shorter), so what
// is held while writing is one column of one row group, whatever the
// report's size.
inline constexpr size_t kMissingReportRowGroupRows = size_t{1} << 16;
// The same, the `rows` rows given column by column: `column(c, first, n,
// append)` calls append once per row of rows [first, first + n), in order,
// with the row's value of string column c (0 date, 1 data_type,
// 2 instrument_key, 3 tardis_exchange, 4 tardis_symbol, 5 status,
// 6 reason, 7 object_name). Row groups are written in order, each column
// of one built, encoded and freed before the next; `row_group_rows` (tests
// give fewer) bounds a row group. A call that returns an error (the values
// it gave are not the rows': a source that failed to read) aborts the
// report: nothing is committed, a previous report of the day stays.
// Every row's checked_at is `checked_at`, but where `checked_at_of` (when
// given) changes it: `checked_at_of(first, n, values)` is called once per
// row group, values[0, n) of rows [first, first + n) set to `checked_at`
// (rows an earlier run checked keep theirs); an error aborts the report as
// above.
// With `if_generation`, the report replaces only the version of that
// generation (0: only if there is none; ObjectStore::CreateIfGeneration):
// another run's report written since it was read makes Commit fail with
// kAlreadyExists, that report kept.
using MissingReportColumn = std::function<Status(size_t, size_t, size_t, const std::function<void(std::string_view)>&)>;
using MissingReportCheckedAt = std::function<Status(size_t, size_t, int64_t*)>;
Status WriteMissingReportColumns(storage::ObjectStore* store, const Date& day, size_t rows,
                                 const MissingReportColumn& column, int64_t checked_at, const std::string& created_by,
                                 size_t row_group_rows = kMissingReportRowGroupRows,
                                 const MissingReportCheckedAt& checked_at_of = nullptr,
                                 const int64_t* if_generation = nullptr);
// Reads a day's report; kNotFound when the day was never validated.
Result<std::vector<MissingReportRow>> ReadMissingReportRows(storage::ObjectStore* store, const Date& day);

// A day's report read a row group at a time, so what is held is one row
// group's rows whatever the report's size (reports written here have row
// groups of at most kMissingReportRowGroupRows rows).
class MissingReportReader {
 public:
  // kNotFound when the day was never validated; kInvalidInput when the
  // file is not a report (a column missing).
  static Result<std::unique_ptr<MissingReportReader>> Open(storage::ObjectStore* store, const Date& day);
  // The same over a report file already open (the bytes of one version).
  static Result<std::unique_ptr<MissingReportReader>> Open(std::unique_ptr<parquet::FileReader> file);
  size_t rows() const;
  size_t row_groups() const;
  // Rows of row group g (< row_groups()) into *out (replaced): every column,
  // or, with ids_only, the date, data_type, instrument_key, exchange and
  // symbol only (the others left empty or zero).
  Status ReadRowGroup(size_t g, std::vector<MissingReportRow>* out, bool ids_only = false);
  const std::string& label() const;

 private:
  explicit MissingReportReader(std::unique_ptr<parquet::FileReader> file) : file_(std::move(file)) {}
  std::unique_ptr<parquet::FileReader> file_;
  std::vector<size_t> leaves_;  // of the string columns, then checked_at
};

}  // namespace mt::pipeline
