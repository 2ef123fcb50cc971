// The `convert` job: local Tardis CSV(.gz) files -> Parquet, in a store (the
// storage layout, rows keyed as the day's instrument definitions there say)
// or one FILE.parquet, with derived series computed in the same pass. The
// command only parses flags into ConvertJobOptions and prints what each
// file wrote.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"
#include "derive/names.h"
#include "pipeline/tick_converter.h"
#include "tardis/schema.h"

namespace mt::pipeline {

struct ConvertJobOptions {
  std::vector<std::string> inputs;  // paths, in the order results are reported
  ConvertSettings convert;          // its writer.pool is the job's own
  int threads = 1;                  // in all: the caller plus threads - 1 pool workers
  const tardis::DataTypeSchema* data_type = nullptr;  // --data-type; null: from each file name or header
  // A store or a single file (then exactly one input); `keys` and
  // `observers` are the job's own.
  ConvertTarget target;
  std::vector<derive::DerivedSpec> derived;  // into target.store
  // Set by SIGINT/SIGTERM (the process's flag); polled between reads: set,
  // the file in progress is abandoned.
  const std::atomic<bool>* cancel = ProcessCancelFlag();
};

// What one input file wrote.
struct ConvertFileResult {
  OutputList outputs;  // the raw objects
  std::vector<OutputFile> derived;  // committed after the raw outputs
  uint64_t rows = 0, csv_bytes = 0;
  uint64_t kept = 0;  // objects that existed (--no-force), kept as they were
};

struct ConvertSummary {
  size_t inputs = 0, converted = 0, failed = 0;
  uint64_t output_files = 0, rows = 0, csv_bytes = 0;
  uint64_t kept_files = 0;  // objects that existed (--no-force), not written
  uint64_t unkeyed_files = 0, unkeyed_rows = 0;
  double seconds = 0;
  // OK; kCancelled when interrupted; else the most serious failure
  // (ExitCodeFor order), or kInvalidInput when rows were kept without an
  // instrument key (a data condition no rerun changes). Logged already.
  Status status;
};

// Converts every input once (a file named twice goes once, with a warning;
// a later file named as an earlier one's item fails unread: an object is
// written once per run); `on_file` sees each converted file's result in
// input order, whatever order files finish in (after an interrupt too, every
// file written is reported). Failures are logged and counted; a failed file
// writes nothing and the others go on.
//
// Several files run side by side (a file each on SideBySide().files
// workers, biggest first, parsed on its worker and encoded on the shared
// pool) when no two inputs can write the same object (DistinctOutputs) and
// no file is more than its share of the bytes; otherwise one after another,
// each parsed on every core.
ConvertSummary RunConvertJob(const ConvertJobOptions& opts,
                             const std::function<void(const ConvertFileResult&)>& on_file);

// True when every input is named as the official clients name files
// ({exchange}_{data_type}_{YYYY-MM-DD}_{SYMBOL}.csv[.gz]) and no two name
// the same exchange, data type (`forced_type` when not empty), day and
// symbol: then their outputs cannot collide, and the order they finish in
// cannot decide which file's rows an object holds.
bool DistinctOutputs(const std::vector<std::string>& inputs, const std::string& forced_type);

// How files go side by side with `threads` threads: how many at once, and
// the parse batch (ParserOptions::batch_bytes) each gets, out of one budget
// they share, so memory does not grow with the thread count. `batch_bytes`
// is the batch a file gets alone (the most it gets).
struct SideBySidePlan {
  size_t files = 1;
  size_t batch_bytes = 0;
};
SideBySidePlan SideBySide(int threads, size_t nfiles, size_t batch_bytes);

}  // namespace mt::pipeline
