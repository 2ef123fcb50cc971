#include "derive/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>

#include "storage/layout.h"

namespace mt::derive {

using columnar::ColumnData;
using columnar::RowGroupData;

namespace {

// Reads one column of a batch row by row; nulls have no value (values are
// dense), so a cursor follows the defined rows.
template <typename T>
class Cursor {
 public:
  Cursor(const ColumnData& c, const columnar::PodVector<T>& values) : c_(c), v_(values) {}
  // The value of row r (rows are read in order), or false when null.
  bool Next(size_t r, T* out) {
    if (!c_.IsDefined(r)) return false;
    *out = v_[i_++];
    return true;
  }

 private:
  const ColumnData& c_;
  const columnar::PodVector<T>& v_;
  size_t i_ = 0;
};

constexpr size_t kFooterMemoryBytes = 4u << 20;
// A series gets at least 1/kMinShare of the row buffer (see MaxRows).
constexpr size_t kMinShare = 4;
// A series that holds its rows makes room for them in this many steps of
// its row group (see MakeRoom).
constexpr size_t kRoomSteps = 64;
// The book logs may pass the buffer, beside the rows held, by
// 1/kLogSlackShares of it (see FlushLargest).
constexpr size_t kLogSlackShares = 8;
// Book snapshots deeper than this are replayed once more open series than
// kMinShare would each hold a share (see ReplayEligible).
constexpr int kReplayMinDepth = 25;
// A replayed series stops replaying once the log it needs costs this much
// more than the rows it stands for.
constexpr size_t kReplayLogSlackBytes = 64u << 10;
// Rows between two looks at the cancel flag (a mask: 4096 rows, tens of
// milliseconds at most, with a depth-1000 snapshot after every row).
constexpr size_t kCancelPollRows = 4095;

int64_t Bits(double v) {
  int64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
double FromBits(int64_t b) {
  double v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

int ColumnIndex(const tardis::DataTypeSchema& s, std::string_view name) {
  for (size_t i = 0; i < s.columns.size(); i++) {
    if (s.columns[i].parquet_name == name) return static_cast<int>(i);
  }
  return -1;
}

// Room for `rows` rows in the columns of `rg` that have values (every
// column while it has no rows), and in their definition levels where they
// have nulls. A column that stays null (levels past a shallow book's end)
// gets none. Strings, the instrument's names, grow as they do: a dictionary
// entry and an index a row.
void RoomFor(RowGroupData* rg, size_t rows) {
  const bool all = rg->num_rows == 0;
  for (ColumnData& c : rg->columns) {
    switch (c.kind) {
      case columnar::ColumnKind::kTimestampMicros:
        if (all || !c.i64.empty()) c.i64.reserve(rows);
        break;
      case columnar::ColumnKind::kDouble:
        if (all || !c.f64.empty()) c.f64.reserve(rows);
        break;
      case columnar::ColumnKind::kBool:
        if (all || !c.b.empty()) c.b.reserve(rows);
        break;
      case columnar::ColumnKind::kString: break;
    }
    if (!c.defined.empty()) c.defined.reserve(rows);
  }
}

// The steps of an instrument's book as the engine applied it: a book change
// begins (timestamps, and whether its snapshot rows reset the book) or a
// level is set. Replaying them on a copy of the book gives its states again.
// Steps are numbered from the first one logged; the log holds those from
// begin() to end(). It is kept in fixed-size chunks of columns (no padding
// per step), so it grows without copying or doubling its room, and the
// steps dropped from its front give back their chunks.
class BookLog {
 public:
  enum Op : uint8_t { kBidLevel = kBid, kAskLevel = kAsk, kChange, kChangeReset };
  // What one step costs in memory.
  static constexpr size_t kStepBytes = 2 * sizeof(int64_t) + sizeof(uint8_t);

  uint64_t begin() const { return first_; }
  uint64_t end() const { return end_; }
  size_t size() const { return static_cast<size_t>(end_ - first_); }
  size_t bytes() const { return size() * kStepBytes; }

  // a, b: a level's price and amount bits; a change's ts and local_timestamp.
  void Push(int64_t a, int64_t b, Op op) {
    const uint64_t i = end_ - chunk0_;
    if (i == chunks_.size() * kChunkSteps) {
      chunks_.push_back(spare_ ? std::move(spare_) : std::unique_ptr<Chunk>(new Chunk));
    }
    Chunk& c = *chunks_[i / kChunkSteps];
    c.a[i % kChunkSteps] = a;
    c.b[i % kChunkSteps] = b;
    c.op[i % kChunkSteps] = op;
    end_++;
  }
  void PushLevel(Side side, double price, double amount) {
    Push(Bits(price), Bits(amount), side == kBid ? kBidLevel : kAskLevel);
  }
  // REQUIRES: begin() <= step < end().
  Op op(uint64_t step) const { return static_cast<Op>(At(step).op[(step - chunk0_) % kChunkSteps]); }
  int64_t a(uint64_t step) const { return At(step).a[(step - chunk0_) % kChunkSteps]; }
  int64_t b(uint64_t step) const { return At(step).b[(step - chunk0_) % kChunkSteps]; }

  // Forgets the steps before `step` (REQUIRES: begin() <= step <= end());
  // `keep_room`: one chunk stays for the steps to come.
  void DropBefore(uint64_t step, bool keep_room) {
    first_ = step;
    while (!chunks_.empty() && first_ - chunk0_ >= kChunkSteps) {
      if (!spare_) spare_ = std::move(chunks_.front());
      chunks_.pop_front();
      chunk0_ += kChunkSteps;
    }
    if (first_ == end_) {
      if (!spare_ && !chunks_.empty()) spare_ = std::move(chunks_.front());
      chunks_.clear();
      chunk0_ = end_;
    }
    if (!keep_room) spare_.reset();
  }

 private:
  static constexpr size_t kChunkSteps = 4096;
  struct Chunk {
    int64_t a[kChunkSteps], b[kChunkSteps];
    uint8_t op[kChunkSteps];
  };
  const Chunk& At(uint64_t step) const { return *chunks_[(step - chunk0_) / kChunkSteps]; }

  std::deque<std::unique_ptr<Chunk>> chunks_;
  std::unique_ptr<Chunk> spare_;  // a chunk emptied, for the next one needed
  uint64_t first_ = 0, end_ = 0;
  uint64_t chunk0_ = 0;  // the step number of chunks_[0]'s first slot
};

// Applies the levels of steps [from, to) to `book` (a change with snapshot
// rows after updates resets it), as the engine applied them to the
// instrument's book.
void ApplySteps(const BookLog& log, uint64_t from, uint64_t to, OrderBook* book) {
  for (uint64_t i = from; i < to; i++) {
    const BookLog::Op op = log.op(i);
    if (op == BookLog::kBidLevel || op == BookLog::kAskLevel) {
      book->Apply(static_cast<Side>(op), FromBits(log.a(i)), FromBits(log.b(i)));
    } else if (op == BookLog::kChangeReset) {
      book->Reset();
    }
  }
}

}  // namespace


struct DeriveEngine::Series {
  const DerivedSpec* spec;
  const std::vector<columnar::ColumnSpec>* schema;  // the spec's, one for all instruments
  std::unique_ptr<BookSnapshotter> book;
  std::unique_ptr<TradeBarBuilder> bars;
  std::unique_ptr<storage::WritableObject> object;  // null: exists already (create-only)
  std::unique_ptr<parquet::FileWriter> writer;
  RowGroupData pending;
  size_t row_bytes = 0;  // approximate bytes one row holds in memory
  // Rows the columns of `pending` have room for: the engine makes the room
  // (see MakeRoom), so that the columns hold about the rows counted, not up
  // to twice that as columns growing by doubling would.
  size_t room_rows = 0;
  size_t held = 0;  // bytes of `pending` counted in held_bytes_
  // Replayed (a deep book snapshot series once many series are open): its
  // rows are counted, not written, as the book changes; Flush() writes them
  // from the book and the snapshotter as they were when its row group began
  // (the instrument's checkpoint and log up to log_start, and start_snap)
  // and the book's log since then, so a row group costs the log and a book,
  // not rows of thousands of columns.
  bool replay = false;
  std::unique_ptr<BookSnapshotter> start_snap;
  uint64_t log_start = 0;
  DerivedOutput info;
  int64_t first_ts = 0, last_ts = 0;
};

struct DeriveEngine::Instrument {
  std::string exchange, symbol, key, source_object;
  OrderBook book;
  bool last_was_snapshot = false;  // the previous book change was snapshot rows
  std::vector<std::unique_ptr<Series>> series;
  // The book's steps since the oldest start of a replayed series' row group
  // (kept only while one replays).
  BookLog log;
  // The book as of log.begin(), while a series replays: one copy of the book
  // for all the instrument's replayed series, whose row groups begin where
  // they will (the book at a series' start is this one and the log up to it).
  std::unique_ptr<OrderBook> checkpoint;
  size_t log_bytes = 0;  // the log's bytes as counted in log_bytes_
  size_t replaying = 0;  // series with `replay` set
  // Its book change in progress: the rows of one local_timestamp (snapshot
  // rows or updates), ended by its next row of another, or at the input's
  // end (rows of other instruments in between leave it open).
  bool in_change = false;
  int64_t change_ts = 0, change_local = 0;
  bool change_snapshot = false;
  RowIdent ident() const { return {exchange, symbol}; }
};

DeriveEngine::DeriveEngine(EngineOptions opts) : opts_(std::move(opts)) {}
DeriveEngine::~DeriveEngine() { Abort(); }

Status DeriveEngine::OnSchema(const tardis::DataTypeSchema& schema) {
  schema_ = &schema;
  for (const DerivedSpec& s : opts_.specs) {
    if (schema.name == s.source_data_type()) {
      active_.push_back(s);
      schemas_.push_back(DerivedParquetSchema(s));
    } else {
      skipped_.push_back(s.name);
    }
  }
  // Deep series have thousands of columns: the footer metadata of their row
  // groups would grow with the rows; past a few MiB per file it waits on disk
  // (the file's bytes are the same). More files than kMinShare share what
  // kMinShare of them would hold, so it grows neither with the number of
  // series nor with that of instruments: every series of every instrument the
  // pass may open (one where the file's name gives it, else up to
  // max_instruments) is a file.
  if (opts_.writer.footer_memory_bytes == 0) {
    const size_t instruments = opts_.symbol.empty() ? std::max<size_t>(1, opts_.max_instruments) : 1;
    const size_t files = active_.size() * instruments;
    opts_.writer.footer_memory_bytes =
        files <= kMinShare ? kFooterMemoryBytes
                           : std::max<size_t>(kFooterMemoryBytes * kMinShare / files, 256u << 10);
  }
  return Status::OK();
}

Result<DeriveEngine::Instrument*> DeriveEngine::InstrumentFor(std::string_view exchange, std::string_view symbol,
                                                              int64_t local_us) {
  if (last_ && last_->symbol == symbol && last_->exchange == exchange) return last_;
  std::string id = std::string(exchange) + '\x1f' + std::string(symbol);
  auto it = instruments_.find(id);
  if (it != instruments_.end()) return last_ = it->second.get();
  if (opts_.max_instruments && instruments_.size() >= opts_.max_instruments) {
    overflowed_ = true;
    return Status::Cancelled("more instruments than one pass derives");  // OnBatch turns it into overflowed_
  }
  auto in = std::make_unique<Instrument>();
  in->exchange = std::string(exchange);
  in->symbol = std::string(symbol);
  const Date day = opts_.day ? *opts_.day : DateFromMicros(local_us);
  auto key = opts_.key(day, in->exchange, in->symbol);
  if (!key.ok()) {
    // Definitions that could not be read stay retryable; a symbol without a key does not.
    if (key.status().retryable()) return key.status().WithContext(opts_.source);
    return Status::InvalidInput(opts_.source + ": " + key.status().message());
  }
  in->key = *key;
  in->source_object = opts_.store->layout().TickObjectName(day, schema_->name, in->exchange, in->key);
  for (size_t i = 0; i < active_.size(); i++) {
    const DerivedSpec& spec = active_[i];
    auto s = std::make_unique<Series>();
    s->spec = &spec;
    s->schema = &schemas_[i];
    s->row_bytes = s->schema->size() * 9 + 16;
    if (spec.kind == DerivedKind::kBookSnapshot) {
      s->book = std::make_unique<BookSnapshotter>(spec);
    } else {
      s->bars = std::make_unique<TradeBarBuilder>(spec);
    }
    const std::string name = opts_.store->layout().DerivedObjectName(day, spec.name, in->exchange, in->key);
    s->info.name = opts_.store->Describe(name);
    s->info.data_type = spec.name;
    s->info.instrument_key = in->key;
    auto obj = opts_.store->Create(name, opts_.overwrite);
    if (!obj.ok() && obj.status().code() != Status::Code::kAlreadyExists) return obj.status();
    if (obj.ok()) {
      s->object = std::move(obj).value();
      s->writer = std::make_unique<parquet::FileWriter>(s->object.get(), *s->schema, opts_.writer);
    }
    in->series.push_back(std::move(s));
    open_series_++;
  }
  Instrument* raw = in.get();
  instruments_.emplace(std::move(id), std::move(in));
  return last_ = raw;
}

Status DeriveEngine::CheckCancel() const {
  if (opts_.cancel && opts_.cancel->load(std::memory_order_relaxed)) {
    return Status::Cancelled(opts_.source + ": interrupted while computing derived data");
  }
  return Status::OK();
}

Status DeriveEngine::OnBatch(const RowGroupData& batch) {
  if (overflowed_ || !status_.ok() || active_.empty() || batch.num_rows == 0) return status_;
  status_ = CheckCancel();
  if (status_.ok()) status_ = schema_->name == "trades" ? TradeBatch(batch) : BookBatch(batch);
  if (overflowed_) {
    Abort();
    status_ = Status::OK();
  }
  return status_;
}

namespace {

// A book row's side: 0 bid, 1 ask (Side), 2 neither (the row changes no
// level, as in the official client's book: `buy` is not a side of a book).
int SideCode(std::string_view side) { return side == "bid" ? 0 : side == "ask" ? 1 : 2; }

}  // namespace

inline bool DeriveEngine::Continues(const Instrument& in, int64_t local_us, bool snapshot_rows) {
  return in.in_change && local_us == in.change_local && snapshot_rows == in.change_snapshot;
}

// A book change: the maximal run of an instrument's rows with the same
// local_timestamp and is_snapshot, counted among its own rows (rows of other
// instruments in between do not end it). Its exchange timestamp is its first
// row's.
Status DeriveEngine::BookBatch(const RowGroupData& batch) {
  const int c_ts = ColumnIndex(*schema_, "timestamp"), c_local = ColumnIndex(*schema_, "local_timestamp"),
            c_snap = ColumnIndex(*schema_, "is_snapshot"), c_side = ColumnIndex(*schema_, "side"),
            c_price = ColumnIndex(*schema_, "price"), c_amount = ColumnIndex(*schema_, "amount");
  const auto& ex = batch.columns[tardis::kExchangeColumn].str;
  const auto& sym = batch.columns[tardis::kSymbolColumn].str;
  const auto& ts = batch.columns[c_ts].i64;
  const auto& local = batch.columns[c_local].i64;
  Cursor<uint8_t> snap(batch.columns[c_snap], batch.columns[c_snap].b);
  const auto& side_col = batch.columns[c_side];
  Cursor<double> price(batch.columns[c_price], batch.columns[c_price].f64);
  Cursor<double> amount(batch.columns[c_amount], batch.columns[c_amount].f64);
  const bool one_instrument =
      ex.dict_mode() && sym.dict_mode() && ex.dict().size() == 1 && sym.dict().size() == 1;
  if (one_instrument && batch.columns[c_snap].defined.empty() && side_col.defined.empty() &&
      side_col.str.dict_mode() && batch.columns[c_price].defined.empty() && batch.columns[c_amount].defined.empty()) {
    return BookBatchDense(batch, c_snap, c_side, c_price, c_amount, ts, local);
  }
  size_t side_i = 0;
  Instrument* in = nullptr;
  for (size_t r = 0; r < batch.num_rows; r++) {
    if ((r & kCancelPollRows) == kCancelPollRows) MT_RETURN_IF_ERROR(CheckCancel());
    uint8_t is_snap = 0;
    snap.Next(r, &is_snap);
    double p = NAN, a = NAN;
    const bool has_p = price.Next(r, &p), has_a = amount.Next(r, &a);
    std::string_view side;
    if (side_col.IsDefined(r)) side = side_col.str.Get(side_i++);
    // A batch of one instrument (one dictionary entry each) looks it up at its first row only.
    if (!one_instrument || r == 0) {
      MT_ASSIGN_OR_RETURN(in, InstrumentFor(ex.Get(r), sym.Get(r), local[r]));
    }
    if (!Continues(*in, local[r], is_snap != 0)) MT_RETURN_IF_ERROR(BeginChange(in, ts[r], local[r], is_snap != 0));
    // A row without a usable price, amount or side changes no level.
    if (!has_p || !has_a || std::isnan(p) || std::isnan(a)) continue;
    const int code = SideCode(side);
    if (code > 1) continue;
    const Side sd = static_cast<Side>(code);
    in->book.Apply(sd, p, a);
    if (in->replaying) in->log.PushLevel(sd, p, a);
  }
  return Status::OK();
}

// BookBatch for the common batch (one instrument, no nulls in the columns
// read, sides dictionary-coded): the same steps on the raw arrays, with the
// side of each dictionary entry decided once, not per row.
Status DeriveEngine::BookBatchDense(const RowGroupData& batch, int c_snap, int c_side, int c_price, int c_amount,
                                    const columnar::PodVector<int64_t>& ts, const columnar::PodVector<int64_t>& local) {
  const auto& ex = batch.columns[tardis::kExchangeColumn].str;
  const auto& sym = batch.columns[tardis::kSymbolColumn].str;
  const auto& side = batch.columns[c_side].str;
  // 0 bid, 1 ask, 2 neither (a row that changes no level).
  uint8_t code[4] = {2, 2, 2, 2};
  std::vector<uint8_t> codes;
  const size_t nd = side.dict().size();
  uint8_t* side_code = nd <= 4 ? code : (codes.assign(nd, 2), codes.data());
  for (size_t d = 0; d < nd; d++) side_code[d] = static_cast<uint8_t>(SideCode(side.dict()[d]));
  const uint32_t* side_idx = side.constant() ? nullptr : side.indices().data();
  const uint8_t constant_code = nd ? side_code[0] : 2;
  const uint8_t* snap = batch.columns[c_snap].b.data();
  const double* price = batch.columns[c_price].f64.data();
  const double* amount = batch.columns[c_amount].f64.data();
  const int64_t* loc = local.data();
  if (batch.num_rows == 0) return Status::OK();
  MT_ASSIGN_OR_RETURN(Instrument * in, InstrumentFor(ex.Get(0), sym.Get(0), loc[0]));
  OrderBook* book = &in->book;
  BookLog* log = in->replaying ? &in->log : nullptr;
  for (size_t r = 0; r < batch.num_rows; r++) {
    if ((r & kCancelPollRows) == kCancelPollRows) MT_RETURN_IF_ERROR(CheckCancel());
    const bool is_snap = snap[r] != 0;
    if (!Continues(*in, loc[r], is_snap)) {
      MT_RETURN_IF_ERROR(BeginChange(in, ts[r], loc[r], is_snap));
      log = in->replaying ? &in->log : nullptr;
    }
    const uint8_t c = side_idx ? side_code[side_idx[r]] : constant_code;
    const double p = price[r], a = amount[r];
    if (c > 1 || std::isnan(p) || std::isnan(a)) continue;
    book->Apply(static_cast<Side>(c), p, a);
    if (log) log->PushLevel(static_cast<Side>(c), p, a);
  }
  return Status::OK();
}

Status DeriveEngine::BeginChange(Instrument* in, int64_t ts_us, int64_t local_us, bool snapshot_rows) {
  // The changes this row closes: every open one when it is later than all of
  // them, else its instrument's.
  if (!open_changes_.empty() && local_us > open_latest_local_) MT_RETURN_IF_ERROR(EndChanges());
  MT_RETURN_IF_ERROR(EndChange(in));
  in->in_change = true;
  in->change_ts = ts_us;
  in->change_local = local_us;
  in->change_snapshot = snapshot_rows;
  open_latest_local_ = open_changes_.empty() ? local_us : std::max(open_latest_local_, local_us);
  open_changes_.push_back(in);
  // A series starts replaying at the start of a row group, before a change.
  for (auto& s : in->series) {
    if (!s->replay && s->pending.num_rows == 0 && ReplayEligible(*s)) StartReplay(in, s.get());
    if (!s->replay) MakeRoom(s.get());
  }
  // Snapshot rows after updates (or first in the file) start a new book;
  // snapshot rows right after snapshot rows continue the same snapshot.
  const bool reset = snapshot_rows && !in->last_was_snapshot;
  if (in->replaying) {
    in->log.Push(ts_us, local_us, reset ? BookLog::kChangeReset : BookLog::kChange);
  }
  for (auto& s : in->series) s->book->Before(ts_us, local_us, in->ident(), s->replay ? nullptr : &s->pending);
  if (reset) in->book.Reset();
  in->last_was_snapshot = snapshot_rows;
  return Status::OK();
}

Status DeriveEngine::EndChanges() {
  // In the order they began (each ends with a flush that may pick any series
  // but those of a change still open).
  while (!open_changes_.empty()) MT_RETURN_IF_ERROR(EndChange(open_changes_.front()));
  return Status::OK();
}

Status DeriveEngine::EndChange(Instrument* in) {
  if (!in->in_change) return Status::OK();
  in->in_change = false;
  open_changes_.erase(std::find(open_changes_.begin(), open_changes_.end(), in));
  for (auto& s : in->series) {
    s->book->After(in->book, in->change_ts, in->change_local, in->ident(), s->replay ? nullptr : &s->pending);
    MT_RETURN_IF_ERROR(MaybeFlush(in, s.get()));
  }
  in->book.ClearTouched();
  // Every series has its rows of the change now, so a replayed one can
  // write its row group (see FlushLargest).
  return FlushLargest(true);
}

Status DeriveEngine::TradeBatch(const RowGroupData& batch) {
  const int c_ts = ColumnIndex(*schema_, "timestamp"), c_local = ColumnIndex(*schema_, "local_timestamp"),
            c_side = ColumnIndex(*schema_, "side"), c_price = ColumnIndex(*schema_, "price"),
            c_amount = ColumnIndex(*schema_, "amount");
  const auto& ex = batch.columns[tardis::kExchangeColumn].str;
  const auto& sym = batch.columns[tardis::kSymbolColumn].str;
  const auto& ts = batch.columns[c_ts].i64;
  const auto& local = batch.columns[c_local].i64;
  const auto& side_col = batch.columns[c_side];
  Cursor<double> price(batch.columns[c_price], batch.columns[c_price].f64);
  Cursor<double> amount(batch.columns[c_amount], batch.columns[c_amount].f64);
  size_t side_i = 0;
  for (size_t r = 0; r < batch.num_rows; r++) {
    if ((r & kCancelPollRows) == kCancelPollRows) MT_RETURN_IF_ERROR(CheckCancel());
    double p = NAN, a = NAN;
    const bool has_p = price.Next(r, &p), has_a = amount.Next(r, &a);
    char side = 'u';
    if (side_col.IsDefined(r)) {
      const std::string_view s = side_col.str.Get(side_i++);
      side = s == "buy" ? 'b' : s == "sell" ? 's' : 'u';
    }
    // The instrument as of its first row, priced or not: a day taken from
    // the rows is that row's, as the converter names the raw object.
    MT_ASSIGN_OR_RETURN(Instrument * in, InstrumentFor(ex.Get(r), sym.Get(r), local[r]));
    // A trade without price or amount is not a trade a bar can count.
    if (!has_p || !has_a || std::isnan(p) || std::isnan(a)) continue;
    for (auto& s : in->series) {
      MakeRoom(s.get());
      s->bars->OnTrade(ts[r], local[r], p, a, side, in->ident(), &s->pending);
      if (s->pending.num_rows) MT_RETURN_IF_ERROR(MaybeFlush(in, s.get()));
    }
  }
  return Status::OK();
}

// Open series share the buffer, so a grouped file's many instruments stay
// within it too (with smaller row groups); a series gets at least a quarter
// of it, since each row group costs footer metadata per column (many for
// deep snapshots) until the file is finished. Past kMinShare open series
// those shares add up to more than the buffer: deep book snapshots then
// replay (they hold no rows), and whenever the rows held by all series pass
// the buffer, the series holding the most writes its row group early.
Status DeriveEngine::MaybeFlush(Instrument* in, Series* s) {
  CountLog(in);
  if (s->replay) {
    const uint64_t rows = s->book->emitted() - s->start_snap->emitted();
    if (rows >= MaxRows(*s)) return Flush(in, s);
    // The log since the row group began against the rows it stands for: a
    // series whose rows are rare (long intervals, changes deeper than its
    // depth) holds its rows instead.
    const uint64_t log_bytes = (in->log.end() - s->log_start) * BookLog::kStepBytes;
    if (log_bytes <= rows * s->row_bytes + kReplayLogSlackBytes) return Status::OK();
    MT_RETURN_IF_ERROR(StopReplay(in, s));
  }
  CountHeld(s);
  if (s->pending.num_rows >= MaxRows(*s)) MT_RETURN_IF_ERROR(Flush(in, s));
  return FlushLargest(false);
}

size_t DeriveEngine::MaxRows(const Series& s) const {
  const size_t budget =
      std::max(opts_.buffer_bytes / std::max<size_t>(1, open_series_), opts_.buffer_bytes / kMinShare);
  return std::clamp<size_t>(budget / s.row_bytes, 64, 1u << 17);
}

// The shares of at most kMinShare series fit in the buffer, and so do their
// rows: only more series can pass it. Once the rows held pass it, the
// series holding the most writes its row group early. The book logs of
// replayed series count against the same buffer, beside the rows held, with
// an eighth of it more (so that a log of a few steps beside a full buffer of
// rows changes no row group): past that, between two book changes
// (`logs`: within one the series after the one changing have not seen it
// yet), the instrument with the biggest log has its replayed series whose
// row group began first write it early, which frees the log up to the start
// of the next oldest one. A log stands for at most a share's worth of rows
// of its instrument (see MaybeFlush), so logs pass it only with several
// instruments replaying at once (a file of many instruments) or beside many
// rows held.
Status DeriveEngine::FlushLargest(bool logs) {
  const size_t budget = opts_.buffer_bytes + opts_.buffer_bytes / kLogSlackShares;
  for (size_t n = 0; n <= open_series_; n++) {
    Instrument* owner = nullptr;
    Series* largest = nullptr;
    if (held_bytes_ > opts_.buffer_bytes) {
      for (auto& [id, in] : instruments_) {
        for (auto& s : in->series) {
          if (s->held > (largest ? largest->held : 0)) {
            owner = in.get();
            largest = s.get();
          }
        }
      }
    } else if (logs && held_bytes_ + log_bytes_ > budget) {
      size_t most = 0;
      for (auto& [id, in] : instruments_) {
        // A replayed series is written up to its book's last change: not
        // while one is half applied.
        if (in->log_bytes <= most || in->in_change) continue;
        for (auto& s : in->series) {
          if (s->replay && (owner != in.get() || s->log_start < largest->log_start)) {
            owner = in.get();
            largest = s.get();
            most = in->log_bytes;
          }
        }
      }
    }
    if (!largest) break;
    MT_RETURN_IF_ERROR(Flush(owner, largest));
  }
  peak_held_bytes_ = std::max(peak_held_bytes_, held_bytes_ + log_bytes_);
  return Status::OK();
}

// The bytes of a series' rows as counted (its rows times a row's bytes; the
// room of its columns is made to match, see MakeRoom).
void DeriveEngine::CountHeld(Series* s) {
  const size_t now = s->replay ? 0 : s->pending.num_rows * s->row_bytes;
  held_bytes_ = held_bytes_ - s->held + now;
  s->held = now;
}

// Before a book change or a trade: room for the rows it may add to a series
// that holds its rows (two: one closing an interval, one of the change). The
// room grows by 1/kRoomSteps of a row group at a time (at least 8 rows), up
// to the row group, so the columns hold about what CountHeld counts: room
// left over is counted nowhere, and many series hold some. Doubling would
// hold up to twice the rows counted, and so up to twice the buffer.
void DeriveEngine::MakeRoom(Series* s) {
  RowGroupData& rg = Rows(s);
  const size_t need = rg.num_rows + 2;
  if (need <= s->room_rows) return;
  const size_t max_rows = MaxRows(*s);
  s->room_rows = std::max(need, std::min(s->room_rows + std::max<size_t>(max_rows / kRoomSteps, 8), max_rows + 1));
  RoomFor(&rg, s->room_rows);
}

// The log's bytes as counted (the instrument changing adds steps between two counts).
void DeriveEngine::CountLog(Instrument* in) {
  const size_t now = in->log.bytes();
  log_bytes_ = log_bytes_ - in->log_bytes + now;
  in->log_bytes = now;
}

// Replaying costs a second pass over the book's changes for each such series
// at each row group: worth it only where rows are wide and their shares
// would not fit the buffer (with at most kMinShare series nothing changes).
bool DeriveEngine::ReplayEligible(const Series& s) const {
  return s.book && s.spec->depth > kReplayMinDepth && open_series_ > kMinShare;
}

void DeriveEngine::StartReplay(Instrument* in, Series* s) {
  s->replay = true;
  in->replaying++;
  s->pending = RowGroupData();  // it holds no rows (REQUIRES: none held)
  s->room_rows = 0;
  if (!in->checkpoint) in->checkpoint = std::make_unique<OrderBook>(in->book);  // the log is empty
  s->start_snap = std::make_unique<BookSnapshotter>(*s->book);
  s->log_start = in->log.end();
}

// Writes the rows the series counted since its row group began into `out`:
// the same snapshotter steps on the same book states, so the same rows.
Status DeriveEngine::Replay(Instrument* in, Series* s, RowGroupData* out) {
  if (out->columns.empty()) *out = columnar::MakeRowGroup(*s->schema);
  const uint64_t rows = s->book->emitted() - s->start_snap->emitted();
  for (size_t c = kLocalTimestampColumn + 1; c < s->schema->size(); c++) {
    if (out->columns[c].kind == columnar::ColumnKind::kDouble) out->columns[c].f64.reserve(rows);
  }
  OrderBook book = *in->checkpoint;
  ApplySteps(in->log, in->log.begin(), s->log_start, &book);
  book.ClearTouched();
  BookSnapshotter snap = *s->start_snap;
  const RowIdent id = in->ident();
  bool open = false;
  int64_t ts = 0, local = 0;
  const BookLog& log = in->log;
  for (uint64_t i = s->log_start; i < log.end(); i++) {
    if ((i & kCancelPollRows) == kCancelPollRows) MT_RETURN_IF_ERROR(CheckCancel());
    const BookLog::Op op = log.op(i);
    if (op == BookLog::kBidLevel || op == BookLog::kAskLevel) {
      book.Apply(static_cast<Side>(op), FromBits(log.a(i)), FromBits(log.b(i)));
      continue;
    }
    if (open) {
      snap.After(book, ts, local, id, out);
      book.ClearTouched();
    }
    open = true;
    ts = log.a(i);
    local = log.b(i);
    snap.Before(ts, local, id, out);
    if (op == BookLog::kChangeReset) book.Reset();
  }
  if (open) snap.After(book, ts, local, id, out);
  if (out->num_rows != rows || snap.emitted() != s->book->emitted()) {
    return Status::Internal(opts_.source + ": " + s->spec->name + ": replay gave " + std::to_string(out->num_rows) +
                            " rows, not " + std::to_string(rows));
  }
  return Status::OK();
}

// The series holds its rows from now on: those counted so far are written
// into `pending` and later ones are added as they come.
Status DeriveEngine::StopReplay(Instrument* in, Series* s) {
  MT_RETURN_IF_ERROR(Replay(in, s, &s->pending));
  s->replay = false;
  in->replaying--;
  s->room_rows = s->pending.num_rows;  // Replay made room for the rows
  s->start_snap.reset();
  TrimLog(in);
  return Status::OK();
}

// Drops the steps no replayed series needs any more (all of them, and the
// checkpoint, once none replays); the checkpoint moves on over the steps
// dropped.
void DeriveEngine::TrimLog(Instrument* in) {
  uint64_t keep = in->log.end();
  for (auto& s : in->series) {
    if (s->replay) keep = std::min(keep, s->log_start);
  }
  if (in->replaying) {
    ApplySteps(in->log, in->log.begin(), keep, in->checkpoint.get());
  } else {
    in->checkpoint.reset();
  }
  in->log.DropBefore(keep, in->replaying > 0);
  CountLog(in);
}

RowGroupData& DeriveEngine::Rows(Series* s) {
  if (s->pending.columns.empty()) s->pending = columnar::MakeRowGroup(*s->schema);
  return s->pending;
}

Status DeriveEngine::Flush(Instrument* in, Series* s) {
  if (s->replay) {
    // No rows counted: nothing to write, but the row group may as well
    // start from here, so the log before it can go.
    if (s->book->emitted() != s->start_snap->emitted()) {
      MT_RETURN_IF_ERROR(CheckCancel());
      MT_RETURN_IF_ERROR(Replay(in, s, &s->pending));
    }
    // The next row group starts from here.
    s->start_snap = std::make_unique<BookSnapshotter>(*s->book);
    s->log_start = in->log.end();
    TrimLog(in);
  }
  if (s->pending.num_rows == 0) return Status::OK();
  MT_RETURN_IF_ERROR(CheckCancel());
  RowGroupData rg = std::move(s->pending);
  // A replayed series holds no rows: its columns (thousands for a deep
  // book) are made when it writes them.
  s->pending = RowGroupData();
  s->room_rows = 0;
  if (!s->replay) Rows(s);
  const size_t rows = rg.num_rows;
  const auto& ts = rg.columns[kLocalTimestampColumn].i64;
  if (s->info.rows == 0) s->first_ts = ts.front();
  s->last_ts = ts.back();
  s->info.rows += rows;
  if (s->writer) MT_RETURN_IF_ERROR(s->writer->WriteRowGroup(std::move(rg)));
  rg = RowGroupData();
  // A series that filled a row group most likely fills the next: room for
  // it at once, instead of growing it step by step (copies, and fresh memory
  // faulted in). Made once the full one is written and freed, so the next
  // reuses its memory: a deep series' row group is tens of MB, and on huge
  // pages reserved room is touched room. Only while the shares fit the
  // buffer: past kMinShare series a full share of room each would pass it.
  // A replayed series makes room when it replays.
  if (rows >= MaxRows(*s) && !s->replay && open_series_ <= kMinShare) {
    for (size_t c = kLocalTimestampColumn + 1; c < s->schema->size(); c++) {
      columnar::ColumnData& col = s->pending.columns[c];
      if (col.kind == columnar::ColumnKind::kDouble) col.f64.reserve(rows);
    }
    s->room_rows = rows;
  }
  CountHeld(s);
  return Status::OK();
}

Status DeriveEngine::CompleteSeries(Instrument* in, Series* s) {
  if (s->bars) s->bars->Finish(in->ident(), &Rows(s));
  MT_RETURN_IF_ERROR(Flush(in, s));
  if (!s->writer) return Status::OK();
  std::vector<std::pair<std::string, std::string>> kv = {
      {"source", opts_.source},
      {"row_count", std::to_string(s->info.rows)},
      {"first_timestamp", s->info.rows ? FormatIsoMicros(s->first_ts) : ""},
      {"last_timestamp", s->info.rows ? FormatIsoMicros(s->last_ts) : ""},
      {"tool_version", opts_.tool_version},
      {"created_at", FormatIsoMicros(CreatedAtMicros())},
      {"data_type", s->spec->name},
      {"exchange", in->exchange},
      {"symbol", in->symbol},
      {"instrument_key", in->key},
      {"derived_from", schema_->name},
      {"source_object", in->source_object},
  };
  MT_RETURN_IF_ERROR(s->writer->Finish(kv));
  s->info.bytes = s->object->bytes_written();
  return Status::OK();
}

bool DeriveEngine::ReadsColumn(const tardis::DataTypeSchema& schema, size_t index) const {
  if (index == tardis::kExchangeColumn || index == tardis::kSymbolColumn) return true;
  const std::string& name = schema.columns[index].parquet_name;
  return name == "timestamp" || name == "local_timestamp" || name == "side" || name == "price" ||
         name == "amount" || (schema.name != "trades" && name == "is_snapshot");
}

Status DeriveEngine::EndOfInput() {
  if (overflowed_ || completed_) return status_;
  completed_ = true;
  if (status_.ok()) status_ = EndChanges();
  if (status_.ok() && instruments_.empty() && schema_ && !active_.empty() && opts_.day && !opts_.exchange.empty() &&
      !opts_.symbol.empty()) {
    status_ = InstrumentFor(opts_.exchange, opts_.symbol, 0).status();
  }
  for (auto& [id, in] : instruments_) {
    for (auto& s : in->series) {
      if (!status_.ok()) break;
      status_ = CompleteSeries(in.get(), s.get());
    }
  }
  if (!status_.ok()) Abort();
  return status_;
}

Status DeriveEngine::Finish() {
  if (overflowed_) return Status::OK();
  if (!completed_) status_ = EndOfInput();
  for (auto& [id, in] : instruments_) {
    for (auto& s : in->series) {
      if (!status_.ok()) break;
      if (!s->writer) continue;
      Status st = s->object->Commit();
      if (st.code() == Status::Code::kAlreadyExists) continue;  // a concurrent run's is kept
      status_ = st;
      if (st.ok()) outputs_.push_back(s->info);
    }
  }
  if (!status_.ok()) {
    Abort();
    return status_;
  }
  instruments_.clear();
  std::sort(outputs_.begin(), outputs_.end(), [](const DerivedOutput& a, const DerivedOutput& b) { return a.name < b.name; });
  return Status::OK();
}

void DeriveEngine::Abort() {
  for (auto& [id, in] : instruments_) {
    for (auto& s : in->series) {
      s->writer.reset();
      if (s->object) s->object->Abort();
    }
  }
  instruments_.clear();
  open_changes_.clear();
  last_ = nullptr;
}

}  // namespace mt::derive
