// The `instruments` job: Tardis metadata of some exchanges -> canonical
// instrument definitions per day (docs/INSTRUMENTS.md), merged into
// instrument_availability/by_date/day-D/instruments.parquet and the range's
// aggregate, or returned for printing. The command only parses flags into
// InstrumentsJobOptions and prints the report.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/spilled_blobs.h"
#include "core/status.h"
#include "core/time_util.h"
#include "pipeline/instruments.h"
#include "pipeline/metadata_source.h"
#include "storage/object_store.h"

namespace mt::pipeline {

// The seed's venues, the default of --exchanges (docs/INSTRUMENTS.md names
// them; upbit is not a default).
inline constexpr const char* kDefaultInstrumentExchanges =
    "binance,binance-futures,deribit,bybit,bybit-spot,okex,okex-futures,okex-swap";

struct InstrumentsJobOptions {
  Date from, to;                       // inclusive
  std::vector<std::string> exchanges;  // Tardis ids, unique, non-empty
  std::vector<std::string> quotes;     // upper case; empty: every quote asset
  // Rewrite the requested exchanges in files that hold them (other
  // exchanges' rows are kept); without it only exchanges a file lacks or
  // holds provisionally are written.
  bool force = false;
  MetadataOptions metadata;  // its `cancel` is the job's own
  // Print mode (no store): table, csv or json (FormatDefinitions).
  std::string format = "table";
  std::string tool_version;  // written into every file
  // A local file for the run summary (rejected symbols with reasons), written
  // whole or not at all by a run that wrote or checked files; one that cannot
  // be written fails the run. "": none.
  std::string summary_json;
  // Set by SIGINT/SIGTERM (the process's flag); once set the job ends
  // (kCancelled) with the files already committed kept and nothing partial
  // written.
  const std::atomic<bool>* cancel = ProcessCancelFlag();
};

struct InstrumentsFileResult {
  std::string name;
  bool written = false;  // false: skipped (it held the exchanges already)
  size_t rows = 0;
  uint64_t bytes = 0;
  std::vector<std::string> provisional;  // exchanges written as provisional
};

struct InstrumentsReport {
  // Every day file and the aggregate held every requested exchange as
  // final: nothing was fetched or written.
  bool up_to_date = false;
  // Print mode: the range's definitions formatted, in a temporary file
  // (SpilledBlobs) as they were made; null when the job failed.
  std::unique_ptr<SpilledBlobs> text;
  std::vector<InstrumentsFileResult> files;       // write mode: day order, then the aggregate
  // Not OK: the worst of the exchanges' metadata errors (nothing is written
  // when one exchange's metadata is missing: day files hold every
  // exchange), the first file that could not be written, kCancelled, or
  // the summary file that could not be written; logged already. `files` still lists what was committed.
  Status status;
};

// Print mode (store == nullptr): fetches the metadata and returns the
// definitions of the range, formatted (only once every definition was
// read). Write mode: merges them into the store's files, a few at a time;
// runs for other exchanges at the same time lose nothing. Progress,
// rejected symbols, warnings and errors are logged.
InstrumentsReport RunInstrumentsJob(const InstrumentsJobOptions& opts, storage::ObjectStore* store);

// Files merged at once for a catalog of `instruments` entries: up to 8 (each
// commit waits for the disk), fewer as the catalog grows, since every file in
// flight holds its rows' columns (up to one row per instrument) beside the
// catalog; at least 1.
int InstrumentsFileWorkers(size_t instruments);

// Rows of the files merged at once, against a cap (the job's is the rows
// InstrumentsFileWorkers allows in flight): a file waits until its rows fit
// beside those of the files in flight, and one of more rows than the cap
// until it is alone. So the files merged together hold a bounded number of
// rows, whatever their sizes.
class RowBudget {
 public:
  explicit RowBudget(size_t cap) : cap_(std::max<size_t>(cap, 1)) {}
  // Waits until `rows` (at most the cap) fit; returns the rows taken.
  size_t Acquire(size_t rows);
  void Release(size_t taken);
  // The most rows taken at once so far.
  size_t peak() const;

  // Rows taken for a scope (or until Release()).
  class Hold {
   public:
    Hold(RowBudget* budget, size_t rows) : budget_(budget), taken_(budget->Acquire(rows)) {}
    ~Hold() { Release(); }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    void Release() {
      if (budget_) budget_->Release(taken_);
      budget_ = nullptr;
    }

   private:
    RowBudget* budget_;
    size_t taken_;
  };

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  const size_t cap_;
  size_t used_ = 0, peak_ = 0;
};

// The rows a merge into a file of `stored_rows` holds, for RowBudget, with a
// catalog of `instruments` entries: its merged columns take about the rows
// of the larger of the two (the stored file's rows of the exchanges not
// rewritten and this run's rows of the file's days, at most one per entry).
size_t MergeRowsEstimate(size_t stored_rows, size_t instruments);

}  // namespace mt::pipeline
