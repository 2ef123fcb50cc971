// `market-tick validate` below the command line: the expected items (the
// plan of pipeline/plan.h, from definitions or --symbols), the checks
// (validator.h), the summary text, the per-day missing-data reports and the
// HTML coverage report. The command parses flags into ValidateJobOptions,
// calls RunValidateJob, prints the report's text and maps its status through
// ExitCodeFor.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "core/cancel.h"
#include "core/status.h"
#include "storage/object_store.h"
#include "derive/names.h"
#include "validate/expected.h"

namespace mt::validate {

struct ValidateJobOptions {
  Selection selection;  // data types: raw ones only (derived names go below)
  // Derived items expected beside each expected item of their source data
  // type (--derive, and derived names given in --data-types).
  std::vector<derive::DerivedSpec> derived;
  // Source data types added to the selection only so that their derived
  // items are expected (--data-types named a derived name, not its source):
  // their raw items are not expected.
  std::set<std::string> unasked_sources;
  bool deep = false;
  int concurrency = 16;
  bool read_only = false;    // no missing_data_reports/ objects
  std::string report_path;   // --report FILE.html or gs://BUCKET/NAME.html; "" none
  // With a gs:// report: the store of its bucket and the object's name there
  // (written whole, replacing an older report, or not at all).
  storage::ObjectStore* report_store = nullptr;
  std::string report_object;
  // --summary-json FILE: the counts per status (total and per data type),
  // the verdict and the days without definitions as JSON, written whole
  // or not at all; "" none.
  std::string summary_json;
  std::string tool_version;
  // Set by SIGINT/SIGTERM (the process's flag): stops the checks; nothing
  // is written then.
  const std::atomic<bool>* cancel = ProcessCancelFlag();
};

struct ValidateReport {
  // For stdout: a table per data type, one line per missing, corrupt or
  // not-available item (the first 200), the runs of days without
  // definitions, and the `result:` line. Empty when interrupted.
  std::string text;
  // The verdict, already logged: OK when nothing expected is missing or
  // corrupt and every day has definitions; kInvalidInput when something
  // is; kCancelled when interrupted; a report that could not be written
  // when that is worse.
  Status status;
};

// An error: nothing was checked (bad selection, unreadable definitions, a
// store that failed).
Result<ValidateReport> RunValidateJob(storage::ObjectStore* store, const ValidateJobOptions& options);

}  // namespace mt::validate
