// missing_data_reports/by_date/day-D/missing_data.parquet (docs/VALIDATE.md): the
// day's missing, corrupt, not-available and no_data_incident items, one row each, written by validate and
// read back by whatever re-downloads them. A day with nothing missing gets
// a zero-row file, so "validated, complete" and "never validated" differ.
// Columns (all REQUIRED): date (YYYY-MM-DD), data_type, instrument_key,
// tardis_exchange, tardis_symbol, status (missing | corrupt | not_available | no_data_incident), reason,
// object_name (STRING); checked_at (TIMESTAMP(MICROS,UTC)).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/external_sort.h"
#include "core/status.h"
#include "pipeline/missing_report.h"
#include "storage/object_store.h"
#include "validate/item.h"
#include "validate/item_results.h"

namespace mt::validate {

// The format (schema, reading and writing rows) is pipeline's: download
// plans from these reports without depending on validate.
using pipeline::MissingReportSchema;

// Writes (replacing) the day's report from the items of [begin, end) whose
// day is `day` (only missing, corrupt, not_available and no_data_incident
// ones are written), in order, each read as its row is made: nothing is
// held per item, so a report of any size is written in bounded memory (in
// row groups past pipeline::kMissingReportRowGroupRows rows).
// `checked_at` in microseconds since the epoch. Results that fail to read
// back from their temporary file (items.io_status()) read as zeros: the
// report is then not written (nothing committed, a previous report of the
// day stays) and that error is returned, retryable.
// `earlier` rows (of an earlier report of the day, for items this run did
// not check: EarlierRowsToKeep) follow this run's, as they were; they are
// read from it as the row groups are written (an error reading them aborts
// the report as above). A `cancel` flag (when given) set before a row
// group is begun aborts the report the same way (kCancelled). With
// `if_generation` (the one EarlierRowsToKeep read them from), a report
// another run wrote since is not replaced: kAlreadyExists, read again.
class EarlierRows;
Status WriteMissingReport(storage::ObjectStore* store, const Date& day, const ItemResults& items, size_t begin,
                          size_t end, int64_t checked_at, const std::string& created_by,
                          EarlierRows* earlier = nullptr, const std::atomic<bool>* cancel = nullptr,
                          const int64_t* if_generation = nullptr);

// The rows of a day's stored report that a run keeps, in the stored
// report's order, given a row group's worth at a time: held in memory for
// a report of up to the cap EarlierRowsToKeep is given; past it, the
// indexes of the kept rows are sorted in a temporary file and the rows are
// read again from the stored report as they are asked for, so what is held
// does not grow with the report.
class EarlierRows {
 public:
  EarlierRows();
  ~EarlierRows();
  EarlierRows(EarlierRows&&) noexcept;
  EarlierRows& operator=(EarlierRows&&) noexcept;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Whether the report was past the cap (its kept rows chosen by sorting).
  bool sorted() const { return file_ != nullptr; }
  // The next n kept rows (n <= size() - rows given so far) into *out
  // (replaced), in order.
  Status Next(size_t n, std::vector<pipeline::MissingReportRow>* out);

 private:
  friend Result<EarlierRows> EarlierRowsToKeep(storage::ObjectStore*, const Date&, const ItemResults&, size_t,
                                               size_t, size_t, const std::atomic<bool>*, std::optional<int64_t>*);
  size_t size_ = 0, given_ = 0;
  std::vector<pipeline::MissingReportRow> held_;  // within the cap: the rows
  // Past the cap: the stored report, the kept rows' indexes (8 bytes,
  // big-endian, so in row order), the row group read last and its first row.
  std::unique_ptr<pipeline::MissingReportReader> file_;
  std::unique_ptr<ExternalSorter> kept_;
  size_t group_ = 0, group_first_ = 0;
  std::vector<pipeline::MissingReportRow> group_rows_;
};

// The rows of the day's stored report (none when there is none) whose item
// is not among the items [begin, end) of `items` (the run's items of that
// day, checked or not): a run over one exchange or data type must not drop
// what a run over another reported, or a --from-report round after both
// would miss it. Of a grouped file, the row of the whole file goes when
// the run checked any object of it, its objects' rows when the run checked
// the whole file (GroupedItemKey). Rows of another day go, and of rows of
// one item the first only stays.
// A report of up to `held_rows` rows is read whole and held; a larger one
// is matched against the run's items by sorting both in temporary files
// (core/external_sort.h), the same rows kept whatever its size.
// A report that cannot be read keeps nothing (the run's own report
// replaces it), with a warning; a store or temporary file that failed to
// answer is the error, retryable. A `cancel` flag (when given) is looked at
// between the stored report's row groups: once set, the result is
// kCancelled.
// With `generation`, a report of up to `held_rows` rows is read as one
// version, whose generation it receives (0: there was none), for
// WriteMissingReport's conditional write: runs over other exchanges at the
// same time then each keep the others' rows. It is left empty for a larger
// report (read a row group at a time, not as one version) and for one that
// cannot be read: those are replaced as they are.
Result<EarlierRows> EarlierRowsToKeep(storage::ObjectStore* store, const Date& day, const ItemResults& items,
                                      size_t begin, size_t end,
                                      size_t held_rows = pipeline::kMissingReportRowGroupRows,
                                      const std::atomic<bool>* cancel = nullptr,
                                      std::optional<int64_t>* generation = nullptr);

struct ReportedItem {
  ExpectedItem item;
  ItemStatus status = ItemStatus::kMissing;
  std::string reason;
};
// Reads a day's report; kNotFound when the day was never validated.
Result<std::vector<ReportedItem>> ReadMissingReport(storage::ObjectStore* store, const Date& day);

}  // namespace mt::validate
