// One instruments file (a day file or an aggregate) holds the instruments of
// every exchange any run added to it, so runs for different exchanges add up
// instead of the first one deciding the file for good. A run reads the file
// as stored, keeps the rows of the exchanges it does not rewrite, puts its
// own rows for the exchanges it does, and writes the result back only if the
// file did not change meanwhile (ObjectStore::CreateIfGeneration); the
// caller retries from the read when it did. Pure functions: no I/O.
//
// Key-value metadata of a merged file (docs/INSTRUMENTS.md):
//   exchanges              every exchange the file holds, sorted, comma separated
//                          (an exchange with no instrument that day is still listed)
//   provisional_exchanges  those of them whose rows were written before Tardis
//                          finished exporting the file's last day (after its
//                          datasets.exportedUntil): a later run rewrites them
//   exchange_sources       JSON array, one object per exchange: exchange, source,
//                          source_bytes, created_at, quote_filter, exported_until, final,
//                          needs_key (only when true: see ExchangeSource)
//   source, source_bytes, quote_filter, grouped_symbols, row_count, first_timestamp,
//   last_timestamp, tool_version, created_at: over the whole file, as before.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/time_util.h"
#include "pipeline/instruments.h"
#include "pipeline/instruments_file.h"

namespace mt::pipeline {

// Where the rows of one exchange in one file came from.
struct ExchangeSource {
  std::string exchange;
  std::string source;  // metadata URLs, space separated (no secrets in them)
  uint64_t source_bytes = 0;
  std::string created_at;
  std::string quote_filter;                  // comma separated; "" = every quote asset
  std::optional<int64_t> exported_until_us;  // datasets.exportedUntil when written
  bool final = true;  // false: the file's last day was not fully exported yet
  // The exchange's incidentReports that overlap the file's days, as Tardis
  // listed them when the rows were written. Initialised here so aggregate
  // initialisers may leave it out.
  std::vector<tardis::IncidentReport> incidents = {};
  // Written by a run without TARDIS_API_KEY that rejected some of the
  // exchange's symbols (most for want of the metadata a key gives): a run
  // with a key rewrites it.
  bool needs_key = false;
};

// Whether Tardis had exported all of `last_day` when its listing said
// `exported_until_us` (an exclusive end). No value: nothing says otherwise,
// so final.
bool ExportedThrough(const std::optional<int64_t>& exported_until_us, const Date& last_day);

// What a stored file says about its exchanges.
struct InstrumentsFileState {
  bool exists = false;
  bool legacy = false;  // written before exchange_sources existed: no finality recorded
  std::set<std::string> exchanges;
  std::set<std::string> provisional;
  std::set<std::string> needs_key;  // ExchangeSource::needs_key
  std::vector<ExchangeSource> sources;  // one per exchange (legacy: derived from `source`)
};
InstrumentsFileState StateOf(const std::vector<std::pair<std::string, std::string>>& kv);

// The requested exchanges this run has to (re)write into a file in `state`:
// all of them with `force`, else those the file lacks or holds provisionally,
// and, for a run `with_key`, those a run without one wrote with symbols
// rejected.
std::vector<std::string> ExchangesToWrite(const InstrumentsFileState& state, const std::vector<std::string>& requested,
                                          bool force, bool with_key);

struct MergeInput {
  const InstrumentsFileContents* existing = nullptr;  // null: no file yet
  std::set<std::string> replaced;                     // exchanges whose rows this run writes
  std::vector<ExchangeSource> sources;                // one per replaced exchange
  std::string grouped_json = "[]";                    // JSON array of their grouped symbols
  Date first, last;                                   // the days the file covers
  std::string created_at, tool_version;
};

// Hands this run's rows to the callback, in instrument_key order (as
// ForEachOnDay / ForEachInRange do); rows of exchanges not in `replaced`
// are ignored.
using AddedRows = std::function<void(const DefinitionFn&)>;

struct MergedInstruments {
  columnar::RowGroupData rows;  // InstrumentColumns(), sorted by instrument_key
  std::vector<std::pair<std::string, std::string>> kv;
  std::vector<std::string> exchanges, provisional;
};
// REQUIRES: `added` yields rows in key order (the stored rows may be in any).
MergedInstruments MergeInstruments(const MergeInput& in, const AddedRows& added);

// MergeInstruments of this run's rows alone (in.existing not used: no
// stored file, or one replaced whole), the rows held column by column in a
// temporary file (SpilledInstrumentRows) for WriteInstrumentsObjectByColumn:
// the same rows and metadata, `merged.rows` left empty.
struct SpilledMerge {
  MergedInstruments merged;
  std::unique_ptr<SpilledInstrumentRows> rows;
};
SpilledMerge MergeInstrumentsSpilled(const MergeInput& in, const AddedRows& added);

// The same merge into a stored file read a column at a time (in.existing
// is not used): the rows and metadata MergeInstruments gives for the
// contents ReadInstrumentsFile reads from it, without decoding its rows as
// definitions or holding them merged. Planned on the stored file's exchange
// and key columns; the merged columns are then made one at a time, for a
// writer that encodes and frees each before the next
// (WriteInstrumentsObjectByColumn). Held meanwhile: the stored file, the
// kept rows' positions, this run's rows (SpilledInstrumentRows: in a
// temporary file, one column of them in memory at a time), one decoded
// column of the file and one merged column.
class StoredMerge {
 public:
  // REQUIRES: `added` yields rows in key order. `stored` must outlive the
  // result. A column that does not decode is its error.
  static Result<StoredMerge> Plan(const MergeInput& in, const StoredInstruments* stored, const AddedRows& added);

  // The merged file's metadata, exchanges and provisional ones (its `rows`
  // stay empty: FillColumn makes them).
  const MergedInstruments& merged() const { return merged_; }
  size_t num_rows() const { return num_rows_; }
  // Replaces *out with merged column `col` (an index into
  // InstrumentColumns()), columns in any order, each once. A stored column
  // that does not decode is its error, also kept in read_error().
  Status FillColumn(size_t col, columnar::ColumnData* out);
  const std::optional<Status>& read_error() const { return read_error_; }
  // Why this run's rows stayed in memory ("" when they did not).
  const std::string& rows_note() const { return added_->note(); }

 private:
  const StoredInstruments* stored_ = nullptr;
  MergedInstruments merged_;
  size_t num_rows_ = 0;
  std::vector<uint32_t> kept_;       // stored rows kept, in merged order
  std::vector<uint8_t> from_added_;  // per merged row: 1 this run's next row, 0 the next kept one
  std::unique_ptr<SpilledInstrumentRows> added_;  // this run's rows
  columnar::RowGroupData empty_;     // the merged columns, empty, as EmptyInstrumentRowGroup makes them
  std::optional<Status> read_error_;
};

}  // namespace mt::pipeline
