// `market-tick download` and `market-tick plan` below the command line: the
// plan (plan.h PlanWorkItems), the shard, the run (Downloader) with its
// progress line, the summary (log line and --summary-json) and the verdict.
// The command parses flags into DownloadJobOptions, calls RunDownloadJob and
// maps the report's status through ExitCodeFor.
#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/spill_vector.h"
#include "core/status.h"
#include "pipeline/downloader.h"
#include "pipeline/estimate.h"
#include "pipeline/plan.h"
#include "storage/object_store.h"

namespace mt::pipeline {

// ---- results of a run (download and derive) ----
// The counts by outcome and the sums of a run's results: what the summary
// line, the verdict and the summary's head need.
struct ItemTotals {
  size_t items = 0;
  std::map<Outcome, int> counts;
  uint64_t bytes_in = 0, bytes_out = 0, rows = 0, unkeyed_rows = 0;
  void Add(const ItemResult& r);
};

// A run's results as they end, in memory that does not grow with the items
// or their objects (a grouped item lists thousands): the totals, and, when
// a summary is asked for, each item's --summary-json entry, already
// serialised and redacted, appended to an unnamed temporary file ($TMPDIR)
// with its place indexed by the item's position in the plan (a
// SpillVector), so the document lists the items in plan order whatever
// order they ended in.
// Not thread-safe: the run adds results under its on_item lock.
class RunResults {
 public:
  // `items`: the plan's size (indexes given to Add are below it).
  // `summary`: keep the entries; the temporary file is created here, and
  // status() says when it cannot be.
  RunResults(size_t items, bool summary);
  // Tests: the entries go to `fd` (closed by the destructor).
  RunResults(size_t items, int fd);
  ~RunResults();
  RunResults(const RunResults&) = delete;
  RunResults& operator=(const RunResults&) = delete;

  void Add(size_t index, const ItemResult& r);
  const ItemTotals& totals() const { return totals_; }
  // OK, or the first failure of the temporary file (kIOError: exit 3).
  const Status& status() const { return status_; }
  // The --summary-json document, streamed to `path` through
  // WriteFileAtomically: {"items","counts","bytes_in","bytes_out","rows",
  // "unkeyed_rows","seconds","results":[{"id","outcome","reason",
  // "requests","rows","bytes_in","bytes_out","objects","unkeyed_rows",
  // "unkeyed_symbols"}]} and a newline, secrets redacted, invalid UTF-8
  // replaced; the counts have "missing" (items without a raw object) when
  // `count_missing` (derive). A failure of the temporary file (now or while
  // the entries were added) or an item without a result fails it with
  // `path` left as it was: a summary is never wrong or partial.
  Status WriteSummaryJson(const std::string& path, double seconds, bool count_missing = false);

 private:
  struct Span {
    uint64_t offset = 0, length = 0;  // length 0: no entry yet
  };
  ItemTotals totals_;
  size_t size_;
  bool summary_;
  int fd_ = -1;
  uint64_t end_ = 0;  // the entries file's size
  SpillVector<Span> spans_;
  Status status_;
};

// ---- plan ----
struct PlanJobOptions {
  PlanRequest request;
  WorkPlanOptions source;
  Shard shard;
  uint32_t shard_sizes = 0;  // > 0: count the items of each of N shards
  std::vector<derive::DerivedSpec> derived;  // --derive: list the derived items too
  std::optional<EstimateOptions> estimate;   // --estimate: sample this shard's dataset sizes
};
struct PlanReport {
  std::vector<WorkItem> items;  // this shard's
  size_t plan_count = 0;        // the whole plan's
  Shard shard;
  std::vector<size_t> shard_sizes;  // empty unless asked for
  std::vector<DerivedItem> derived;  // this shard's items' derived items (--derive)
  std::optional<PlanEstimate> estimate;  // --estimate
  // {"count","plan_count","shard","items":[{day,data_type,exchange,symbol}],"shard_sizes"}
  // and a newline; with --derive also "derived_count" and
  // "derived":[{day,data_type,source_data_type,exchange,symbol}]. Streamed
  // item by item: a plan may hold millions. With --estimate, "estimate"
  // (PlanEstimate::Json).
  void WriteJson(std::FILE* out) const;
  // A table of the items, the count and the shard sizes' spread; the
  // estimate last.
  void WriteTable(std::FILE* out) const;
};
Result<PlanReport> RunPlanJob(storage::ObjectStore* store, const PlanJobOptions& options);

// ---- download ----
struct DownloadJobOptions {
  PlanRequest request;
  WorkPlanOptions source;
  Shard shard;
  DownloadOptions download;  // store, keys and cancel are set by the job
  int threads = 1;           // encoding threads shared by the files in flight
  // Parse buffers of all files in flight (DOWNLOAD_BUFFER_MB).
  size_t buffer_mb = 96;
  bool dry_run = false;        // plan only: the report lists the items
  std::optional<EstimateOptions> estimate;  // dry run: sample the dataset sizes too
  std::string summary_json;    // a file for the run summary; "" none
  bool no_redraw_progress = false;  // NO_COLOR_PROGRESS: plain progress lines even on a terminal
  // Set by SIGINT/SIGTERM (the process's flag): stops starting items,
  // abandons those in flight.
  const std::atomic<bool>* cancel = ProcessCancelFlag();
  // Called as each item ends (from worker threads, one call at a time), so
  // results reach stdout while the run goes on.
  std::function<void(const ItemResult&)> on_item;
};

struct DownloadReport {
  std::vector<WorkItem> items;        // the shard's plan (what a dry run lists)
  std::vector<DerivedItem> derived;   // the derived items of those (--derive)
  std::optional<PlanEstimate> estimate;  // dry run with an estimate
  // The run's totals (the summary line's); each item's result went to
  // on_item and, with summary_json, to that file, and is not kept.
  ItemTotals totals;
  double seconds = 0;
  // The verdict, already logged: OK; kCancelled when interrupted; the
  // fatal error (a refused key); kInvalidInput when items failed for good
  // or rows have no key; kUnavailable when only retryable failures remain;
  // a failure to write --summary-json when that is worse.
  Status status;
};

// An error is a failure before any download (bad request, no plan, an
// output that cannot be written); the report's status is the run's.
Result<DownloadReport> RunDownloadJob(storage::ObjectStore* store, DownloadJobOptions options);

// For download and derive alike (one item a line, one summary line):
// Logs an item that is not done: failures as errors, the source's 404s and
// items without a raw object as warnings (stdout has them too, from on_item).
void LogItemResult(const ItemResult& r);
// Logs the summary line of a run and the verdict's reason; returns the
// verdict: `fatal` when set; kCancelled when `cancelled`; kInvalidInput when
// items failed for good, rows have no key or items have no raw object
// (kMissing); kUnavailable when only retryable failures remain; else OK.
Status SummarizeItems(const ItemTotals& totals, double secs, const Status& fatal, bool cancelled);

// Writes the --summary-json file when `path` is set; a failure is logged and
// returned as the worse status with `status`.
Status WriteRunSummary(RunResults* results, const std::string& path, double seconds, bool count_missing, Status status);

}  // namespace mt::pipeline
