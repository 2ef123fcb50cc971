// missing_data_reports/by_date/day-D/missing_data.parquet (docs/VALIDATE.md): the
// day's missing, corrupt, not-available and no_data_incident items, one row each, written by validate and
// read back by whatever re-downloads them. A day with nothing missing gets
// a zero-row file, so "validated, complete" and "never validated" differ.
// Columns (all REQUIRED): date (YYYY-MM-DD), data_type, instrument_key,
// tardis_exchange, tardis_symbol, status (missing | corrupt | not_available | no_data_incident), reason,
// object_name (STRING); checked_at (TIMESTAMP(MICROS,UTC)).
#pragma once

#include <optional>
#include <string>
#include <vector>

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
// not check: EarlierRowsToKeep) follow this run's, as they were. With
// `if_generation` (the one EarlierRowsToKeep read them from), a report
// another run wrote since is not replaced: kAlreadyExists, read again.
Status WriteMissingReport(storage::ObjectStore* store, const Date& day, const ItemResults& items, size_t begin,
                          size_t end, int64_t checked_at, const std::string& created_by,
                          const std::vector<pipeline::MissingReportRow>& earlier = {},
                          const int64_t* if_generation = nullptr);

// The rows of the day's stored report (none when there is none) whose item
// is not among the items [begin, end) of `items` (the run's items of that
// day, checked or not): a run over one exchange or data type must not drop
// what a run over another reported, or a --from-report round after both
// would miss it. Of a grouped file, the row of the whole file goes when
// the run checked any object of it, its objects' rows when the run checked
// the whole file (GroupedItemKey).
// A report that cannot be read, or of more rows than
// pipeline::kMissingReportRowGroupRows (kept in memory otherwise), keeps
// nothing (the run's own report replaces it), with a warning; a store that
// failed to answer is the error, retryable.
// With `generation`, the rows come from one version of the report, whose
// generation it receives (0: there was none; left empty for a report too
// big to read, which is replaced as before), for WriteMissingReport's
// conditional write: runs over other exchanges at the same time then each
// keep the others' rows.
Result<std::vector<pipeline::MissingReportRow>> EarlierRowsToKeep(storage::ObjectStore* store, const Date& day,
                                                                  const ItemResults& items, size_t begin, size_t end,
                                                                  std::optional<int64_t>* generation = nullptr);

struct ReportedItem {
  ExpectedItem item;
  ItemStatus status = ItemStatus::kMissing;
  std::string reason;
};
// Reads a day's report; kNotFound when the day was never validated.
Result<std::vector<ReportedItem>> ReadMissingReport(storage::ObjectStore* store, const Date& day);

}  // namespace mt::validate
