// Computes derived data types (book snapshots, trade bars) from the parsed
// batches of one raw file and writes each series of each instrument as its
// own Parquet object (storage::DerivedObjectName). Memory is bounded by the
// book and a row-group budget, not by the input: rows go out in row groups.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/time_util.h"
#include "derive/computables.h"
#include "derive/names.h"
#include "derive/order_book.h"
#include "parquet/file_writer.h"
#include "derive/batch_observer.h"
#include "storage/object_store.h"
#include "tardis/schema.h"

namespace mt::derive {

struct DerivedOutput {
  std::string name;  // as the store describes it
  std::string data_type, instrument_key;
  uint64_t rows = 0, bytes = 0;
};

struct EngineOptions {
  std::vector<DerivedSpec> specs;  // those whose source is not the file's data type are skipped
  storage::ObjectStore* store = nullptr;
  bool overwrite = true;           // false: an existing object is kept (its series not written)
  parquet::WriterOptions writer;
  std::string source;              // the input, for messages and metadata
  std::optional<Date> day;         // the file's day; else the day of its first row
  // The instrument of a one-instrument file (exchange and symbol as its rows
  // spell them): with `day`, a file without rows still gets its (zero-row)
  // series, as it gets a zero-row raw object, so every raw object has its
  // derived ones (validate expects them; a rerun skips them). Empty: none.
  std::string exchange, symbol;
  // The instrument key of a row's exchange and symbol (as the raw objects are keyed).
  // `day` is the day the raw rows are filed under (the file name's, else the
  // row's), so definitions of that day key them, as the raw objects.
  std::function<Result<std::string>(const Date& day, const std::string& exchange, const std::string& symbol)> key;
  std::string tool_version;
  // Rows held by all open series before their row groups go out: a series'
  // row group holds its share of it, at least a quarter; past four series
  // deep book snapshots replay (they hold none) and, past the buffer, the
  // series holding the most writes its row group early. The book logs of
  // replayed series (all instruments together) count against it too, beside
  // the rows, with an eighth of it more.
  size_t buffer_bytes = 64u << 20;
  // Polled while computing (every few thousand rows, before each row group
  // and each series written): once set, the engine stops with a kCancelled
  // status and the caller aborts it, so nothing it began becomes visible.
  const std::atomic<bool>* cancel = ProcessCancelFlag();
  // More instruments than this in the input (0: no limit) and the engine
  // gives up in the same pass: what it began is aborted, later batches are
  // ignored, and overflowed() tells the caller to compute the series from
  // the raw objects afterwards, one instrument at a time. Each instrument
  // holds an open object per series, so this bounds descriptors and memory
  // for a file of many instruments whose name does not say so.
  size_t max_instruments = 0;
};

class DeriveEngine : public BatchObserver {
 public:
  explicit DeriveEngine(EngineOptions opts);
  ~DeriveEngine() override;

  Status OnSchema(const tardis::DataTypeSchema& schema) override;
  Status OnBatch(const columnar::RowGroupData& batch) override;
  bool ReadsColumn(const tardis::DataTypeSchema& schema, size_t index) const override;
  // Ends the open book changes and writes every series' last row group and
  // footer; Finish() then commits them.
  Status EndOfInput() override;
  Status Finish() override;
  void Abort() override;

  // Derived names skipped because the file holds another data type.
  const std::vector<std::string>& skipped() const { return skipped_; }
  // After Finish(): the objects written, ordered by name.
  const std::vector<DerivedOutput>& outputs() const { return outputs_; }
  // The input held more than EngineOptions::max_instruments instruments:
  // nothing was written (see there).
  bool overflowed() const { return overflowed_; }
  // The most bytes held at once by rows waiting for their row group and by
  // the book logs of all instruments, between two book changes or trades
  // (the row group being written aside): at most EngineOptions::buffer_bytes
  // and an eighth (and the steps of the open book changes).
  size_t peak_held_bytes() const { return peak_held_bytes_; }

 private:
  struct Series;
  struct Instrument;

  Result<Instrument*> InstrumentFor(std::string_view exchange, std::string_view symbol, int64_t local_us);
  Status BookBatch(const columnar::RowGroupData& batch);
  Status BookBatchDense(const columnar::RowGroupData& batch, int c_snap, int c_side, int c_price, int c_amount,
                        const columnar::PodVector<int64_t>& ts, const columnar::PodVector<int64_t>& local);
  Status TradeBatch(const columnar::RowGroupData& batch);
  // Whether a row of `in` (local_timestamp, snapshot or not) adds to its
  // open change; no change ends before such a row (its time is no later
  // than every open one's).
  static bool Continues(const Instrument& in, int64_t local_us, bool snapshot_rows);
  // A row of `in` that does not: ends the changes it closes, then begins
  // `in`'s.
  Status BeginChange(Instrument* in, int64_t ts_us, int64_t local_us, bool snapshot_rows);
  // Ends the book change `in` has open, if any.
  Status EndChange(Instrument* in);
  // Ends every open book change.
  Status EndChanges();
  Status MaybeFlush(Instrument* in, Series* s);
  size_t MaxRows(const Series& s) const;
  Status Flush(Instrument* in, Series* s);
  Status FlushLargest(bool logs);
  void CountHeld(Series* s);
  void MakeRoom(Series* s);
  void CountLog(Instrument* in);
  columnar::RowGroupData& Rows(Series* s);
  bool ReplayEligible(const Series& s) const;
  void StartReplay(Instrument* in, Series* s);
  Status Replay(Instrument* in, Series* s, columnar::RowGroupData* out);
  Status StopReplay(Instrument* in, Series* s);
  void TrimLog(Instrument* in);
  Status CompleteSeries(Instrument* in, Series* s);
  Status CheckCancel() const;

  EngineOptions opts_;
  const tardis::DataTypeSchema* schema_ = nullptr;
  std::vector<DerivedSpec> active_;
  std::vector<std::vector<columnar::ColumnSpec>> schemas_;  // DerivedParquetSchema of each of active_
  std::vector<std::string> skipped_;
  std::map<std::string, std::unique_ptr<Instrument>> instruments_;  // by exchange + symbol
  Instrument* last_ = nullptr;  // the previous row's (most files hold one)
  size_t open_series_ = 0;
  // Bytes of the rows held by the series that write their rows as they come
  // (replayed series hold none), at most EngineOptions::buffer_bytes.
  size_t held_bytes_ = 0;
  // Bytes of the book logs of all instruments: with held_bytes_, at most an
  // eighth more than the buffer (see FlushLargest).
  size_t log_bytes_ = 0;
  size_t peak_held_bytes_ = 0;
  // The instruments with a book change in progress (incremental_book_L2):
  // one per instrument, so rows of other instruments in between (a file of
  // a few instruments, interleaved at one local_timestamp) do not split it.
  // A row later than all of them ends them all (Tardis files are in
  // local_timestamp order: none of them has a row to come), so those open
  // are the current timestamp's, and the others' series can be flushed.
  std::vector<Instrument*> open_changes_;
  int64_t open_latest_local_ = 0;  // the latest local_timestamp of open_changes_
  std::vector<DerivedOutput> outputs_;
  bool overflowed_ = false;
  bool completed_ = false;  // EndOfInput() ran
  Status status_;
};

}  // namespace mt::derive
