// `market-tick download` and `market-tick plan` below the command line: the
// plan (plan.h PlanWorkItems), the shard, the run (Downloader) with its
// progress line, the summary (log line and --summary-json) and the verdict.
// The command parses flags into DownloadJobOptions, calls RunDownloadJob and
// maps the report's status through ExitCodeFor.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"
#include "pipeline/downloader.h"
#include "pipeline/estimate.h"
#include "pipeline/plan.h"
#include "storage/object_store.h"

namespace mt::pipeline {

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
  std::vector<ItemResult> results;    // one per item, in plan order; empty for a dry run
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
Status SummarizeItems(const std::vector<ItemResult>& results, double secs, const Status& fatal, bool cancelled);

// The --summary-json document of `results` (secrets redacted); the counts
// have "missing" (items without a raw object) when `count_missing` (derive).
std::string DownloadSummaryJson(const std::vector<ItemResult>& results, double seconds, bool count_missing = false);

}  // namespace mt::pipeline
