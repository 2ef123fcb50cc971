// `market-tick derive` below the command line: derived series (book
// snapshots, trade bars) computed from raw Parquet already in the store,
// never downloading (docs/DERIVED.md). The items are the raw objects to
// compute from: with symbols, the plan of download (plan.h BuildPlan, bare
// symbols paired through the stored definitions); without, every raw object
// of the source data types stored under each day (the store's listing), so
// `derive --exchanges deribit` covers whatever is stored. Idempotent and
// sharded as download: an item whose derived objects all exist is skipped
// (force: recomputed), shard I of N takes the items whose stable hash is I
// mod N. Summary line and --summary-json are download's.
#pragma once

#include <atomic>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"
#include "derive/names.h"
#include "parquet/file_writer.h"
#include "pipeline/download_job.h"
#include "pipeline/downloader.h"
#include "pipeline/plan.h"
#include "storage/object_store.h"

namespace mt::pipeline {

struct DeriveJobOptions {
  // Days, exchanges, symbols and instrument filters; data_types are the
  // source data types to read (those of `derived`).
  PlanRequest request;
  Shard shard;
  std::vector<derive::DerivedSpec> derived;  // at least one, unless from_report
  bool force = false;                        // recompute derived objects that exist
  // --from-report: the derived rows of the days' missing-data reports
  // (written by validate): their source items, their names added to
  // `derived` (only those of `derived` when it is given), items with a
  // corrupt derived object recomputed as with force. The reports' raw rows
  // are download --from-report's.
  bool from_report = false;
  // The series recomputed as with force, by DerivedSeriesId (set by the job
  // from the reports' corrupt derived rows): only those of an item.
  std::set<std::string> replace_series;
  int concurrency = 2;                       // items at once (book snapshot items run one at a time)
  int threads = 1;                           // encoding threads shared by the items
  parquet::WriterOptions writer;             // pool set by the job
  std::string tool_version;
  std::string summary_json;  // a file for the run summary; "" none
  const std::atomic<bool>* cancel = ProcessCancelFlag();
  // Called as each item ends (from worker threads, one call at a time).
  std::function<void(const ItemResult&)> on_item;
};

struct DeriveReport {
  size_t items = 0;                 // this shard's items (run in plan order, not kept)
  ItemTotals totals;                // the results went to on_item and summary_json, and are not kept
  double seconds = 0;
  // The verdict, already logged (SummarizeItems): kInvalidInput when items
  // failed (a raw object that cannot be read) or have no raw object.
  Status status;
};

// The items of a derive run (before sharding): with symbols, the plan; else
// the stored raw objects of the request's data types, days and exchanges
// (items named by their instrument key: symbol = instrument_key = the key),
// filtered by the instrument filters, without VENUE:UNKEYED:SYMBOL objects
// (rows kept without a key get no series). Sorted. Listing none at all is
// kUsage naming the store, days, data types and exchanges (a mistyped
// --output, most likely).
Result<std::vector<WorkItem>> DeriveItems(storage::ObjectStore* store, const PlanRequest& request);

// An error is a failure before any item runs (bad request, a listing that
// failed); the report's status is the run's.
Result<DeriveReport> RunDeriveJob(storage::ObjectStore* store, DeriveJobOptions options);

}  // namespace mt::pipeline
