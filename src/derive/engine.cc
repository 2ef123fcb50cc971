#include "derive/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>

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

// One step of an instrument's book as the engine applied it: a book change
// begins (timestamps, and whether its snapshot rows reset the book) or a
// level is set. Replaying them on a copy of the book gives its states again.
struct BookLogEntry {
  enum Op : uint8_t { kBidLevel = kBid, kAskLevel = kAsk, kChange, kChangeReset };
  int64_t a, b;  // level: the bits of price and amount; change: ts and local_timestamp
  Op op;
};

BookLogEntry LevelEntry(Side side, double price, double amount) {
  return {Bits(price), Bits(amount), side == kBid ? BookLogEntry::kBidLevel : BookLogEntry::kAskLevel};
}

}  // namespace


struct DeriveEngine::Series {
  const DerivedSpec* spec;
  std::vector<columnar::ColumnSpec> schema;
  std::unique_ptr<BookSnapshotter> book;
  std::unique_ptr<TradeBarBuilder> bars;
  std::unique_ptr<storage::WritableObject> object;  // null: exists already (create-only)
  std::unique_ptr<parquet::FileWriter> writer;
  RowGroupData pending;
  size_t row_bytes = 0;  // approximate bytes one row holds in memory
  size_t held_rows = 0;  // rows of `pending` counted in held_bytes_
  // Replayed (a deep book snapshot series once many series are open): its
  // rows are counted, not written, as the book changes; Flush() writes them
  // from the book and the snapshotter as they were when its row group began
  // (start_book, start_snap) and the book's log since then (from log_start),
  // so a row group costs the log and a book, not rows of thousands of columns.
  bool replay = false;
  std::unique_ptr<OrderBook> start_book;
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
  // (kept only while one replays); log[0] is step number log_base.
  std::vector<BookLogEntry> log;
  uint64_t log_base = 0;
  size_t replaying = 0;  // series with `replay` set
  uint64_t log_end() const { return log_base + log.size(); }
  RowIdent ident() const { return {exchange, symbol}; }
};

DeriveEngine::DeriveEngine(EngineOptions opts) : opts_(std::move(opts)) {}
DeriveEngine::~DeriveEngine() { Abort(); }

Status DeriveEngine::OnSchema(const tardis::DataTypeSchema& schema) {
  schema_ = &schema;
  for (const DerivedSpec& s : opts_.specs) {
    if (schema.name == s.source_data_type()) {
      active_.push_back(s);
    } else {
      skipped_.push_back(s.name);
    }
  }
  // Deep series have thousands of columns: the footer metadata of their row
  // groups would grow with the rows; past a few MiB per file it waits on disk
  // (the file's bytes are the same). More series than kMinShare share what
  // kMinShare of them would hold, so it does not grow with their number.
  if (opts_.writer.footer_memory_bytes == 0) {
    opts_.writer.footer_memory_bytes =
        active_.size() <= kMinShare ? kFooterMemoryBytes
                                    : std::max<size_t>(kFooterMemoryBytes * kMinShare / active_.size(), 256u << 10);
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
  for (const DerivedSpec& spec : active_) {
    auto s = std::make_unique<Series>();
    s->spec = &spec;
    s->schema = DerivedParquetSchema(spec);
    s->row_bytes = s->schema.size() * 9 + 16;
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
      s->writer = std::make_unique<parquet::FileWriter>(s->object.get(), s->schema, opts_.writer);
    }
    s->pending = columnar::MakeRowGroup(s->schema);
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

// A book change: the maximal run of consecutive rows with the same symbol,
// local_timestamp and is_snapshot. Its exchange timestamp is its first row's.
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
  for (size_t r = 0; r < batch.num_rows; r++) {
    if ((r & kCancelPollRows) == kCancelPollRows) MT_RETURN_IF_ERROR(CheckCancel());
    uint8_t is_snap = 0;
    snap.Next(r, &is_snap);
    double p = NAN, a = NAN;
    const bool has_p = price.Next(r, &p), has_a = amount.Next(r, &a);
    std::string_view side;
    if (side_col.IsDefined(r)) side = side_col.str.Get(side_i++);
    bool new_change = !change_ || local[r] != change_local_ || (is_snap != 0) != change_snapshot_;
    // A batch of one instrument (one dictionary entry each) compares names at its first row only.
    if (!new_change && (!one_instrument || r == 0)) {
      new_change = sym.Get(r) != change_->symbol || ex.Get(r) != change_->exchange;
    }
    if (new_change) {
      MT_RETURN_IF_ERROR(EndChange());
      MT_ASSIGN_OR_RETURN(Instrument * in, InstrumentFor(ex.Get(r), sym.Get(r), local[r]));
      BeginChange(in, ts[r], local[r], is_snap != 0);
    }
    // A row without a usable price, amount or side changes no level.
    if (!has_p || !has_a || std::isnan(p) || std::isnan(a) || side.empty()) continue;
    if (side[0] != 'b' && side[0] != 'a') continue;
    const Side sd = side[0] == 'b' ? kBid : kAsk;
    change_->book.Apply(sd, p, a);
    if (change_->replaying) change_->log.push_back(LevelEntry(sd, p, a));
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
  for (size_t d = 0; d < nd; d++) {
    const std::string& v = side.dict()[d];
    side_code[d] = v.empty() ? 2 : v[0] == 'b' ? 0 : v[0] == 'a' ? 1 : 2;
  }
  const uint32_t* side_idx = side.constant() ? nullptr : side.indices().data();
  const uint8_t constant_code = nd ? side_code[0] : 2;
  const uint8_t* snap = batch.columns[c_snap].b.data();
  const double* price = batch.columns[c_price].f64.data();
  const double* amount = batch.columns[c_amount].f64.data();
  const int64_t* loc = local.data();
  OrderBook* book = change_ ? &change_->book : nullptr;
  std::vector<BookLogEntry>* log = change_ && change_->replaying ? &change_->log : nullptr;
  for (size_t r = 0; r < batch.num_rows; r++) {
    if ((r & kCancelPollRows) == kCancelPollRows) MT_RETURN_IF_ERROR(CheckCancel());
    const bool is_snap = snap[r] != 0;
    bool new_change = !change_ || loc[r] != change_local_ || is_snap != change_snapshot_;
    if (!new_change && r == 0) new_change = sym.Get(0) != change_->symbol || ex.Get(0) != change_->exchange;
    if (new_change) {
      MT_RETURN_IF_ERROR(EndChange());
      MT_ASSIGN_OR_RETURN(Instrument * in, InstrumentFor(ex.Get(r), sym.Get(r), loc[r]));
      BeginChange(in, ts[r], loc[r], is_snap);
      book = &in->book;
      log = in->replaying ? &in->log : nullptr;
    }
    const uint8_t c = side_idx ? side_code[side_idx[r]] : constant_code;
    const double p = price[r], a = amount[r];
    if (c > 1 || std::isnan(p) || std::isnan(a)) continue;
    book->Apply(static_cast<Side>(c), p, a);
    if (log) log->push_back(LevelEntry(static_cast<Side>(c), p, a));
  }
  return Status::OK();
}

void DeriveEngine::BeginChange(Instrument* in, int64_t ts_us, int64_t local_us, bool snapshot_rows) {
  change_ = in;
  change_ts_ = ts_us;
  change_local_ = local_us;
  change_snapshot_ = snapshot_rows;
  // A series starts replaying at the start of a row group, before a change.
  for (auto& s : in->series) {
    if (!s->replay && s->pending.num_rows == 0 && ReplayEligible(*s)) StartReplay(in, s.get());
  }
  // Snapshot rows after updates (or first in the file) start a new book;
  // snapshot rows right after snapshot rows continue the same snapshot.
  const bool reset = snapshot_rows && !in->last_was_snapshot;
  if (in->replaying) {
    in->log.push_back({ts_us, local_us, reset ? BookLogEntry::kChangeReset : BookLogEntry::kChange});
  }
  for (auto& s : in->series) s->book->Before(ts_us, local_us, in->ident(), s->replay ? nullptr : &s->pending);
  if (reset) in->book.Reset();
  in->last_was_snapshot = snapshot_rows;
}

Status DeriveEngine::EndChange() {
  Instrument* in = change_;
  if (!in) return Status::OK();
  change_ = nullptr;
  for (auto& s : in->series) {
    s->book->After(in->book, change_ts_, change_local_, in->ident(), s->replay ? nullptr : &s->pending);
    MT_RETURN_IF_ERROR(MaybeFlush(in, s.get()));
  }
  in->book.ClearTouched();
  return Status::OK();
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
  const size_t log_bytes_now = in->log.size() * sizeof(BookLogEntry);
  if (s->replay) {
    peak_held_bytes_ = std::max(peak_held_bytes_, held_bytes_ + log_bytes_now);
    const uint64_t rows = s->book->emitted() - s->start_snap->emitted();
    if (rows >= MaxRows(*s)) return Flush(in, s);
    // The log since the row group began against the rows it stands for: a
    // series whose rows are rare (long intervals, changes deeper than its
    // depth) holds its rows instead.
    const uint64_t log_bytes = (in->log_end() - s->log_start) * sizeof(BookLogEntry);
    if (log_bytes <= rows * s->row_bytes + kReplayLogSlackBytes) return Status::OK();
    MT_RETURN_IF_ERROR(StopReplay(in, s));
  }
  held_bytes_ += (s->pending.num_rows - s->held_rows) * s->row_bytes;
  s->held_rows = s->pending.num_rows;
  peak_held_bytes_ = std::max(peak_held_bytes_, held_bytes_ + log_bytes_now);
  if (s->pending.num_rows >= MaxRows(*s)) MT_RETURN_IF_ERROR(Flush(in, s));
  return FlushLargest();
}

size_t DeriveEngine::MaxRows(const Series& s) const {
  const size_t budget =
      std::max(opts_.buffer_bytes / std::max<size_t>(1, open_series_), opts_.buffer_bytes / kMinShare);
  return std::clamp<size_t>(budget / s.row_bytes, 64, 1u << 17);
}

// The shares of at most kMinShare series fit in the buffer, and so do their
// rows: only more series can pass it.
Status DeriveEngine::FlushLargest() {
  while (held_bytes_ > opts_.buffer_bytes) {
    Instrument* owner = nullptr;
    Series* largest = nullptr;
    for (auto& [id, in] : instruments_) {
      for (auto& s : in->series) {
        if (!largest || s->held_rows * s->row_bytes > largest->held_rows * largest->row_bytes) {
          owner = in.get();
          largest = s.get();
        }
      }
    }
    if (!largest || largest->held_rows == 0) break;
    MT_RETURN_IF_ERROR(Flush(owner, largest));
  }
  return Status::OK();
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
  s->start_book = std::make_unique<OrderBook>(in->book);
  s->start_book->ClearTouched();
  s->start_snap = std::make_unique<BookSnapshotter>(*s->book);
  s->log_start = in->log_end();
}

// Writes the rows the series counted since its row group began into `out`:
// the same snapshotter steps on the same book states, so the same rows.
Status DeriveEngine::Replay(Instrument* in, Series* s, RowGroupData* out) {
  const uint64_t rows = s->book->emitted() - s->start_snap->emitted();
  for (size_t c = kLocalTimestampColumn + 1; c < s->schema.size(); c++) {
    if (out->columns[c].kind == columnar::ColumnKind::kDouble) out->columns[c].f64.reserve(rows);
  }
  OrderBook book = *s->start_book;
  BookSnapshotter snap = *s->start_snap;
  const RowIdent id = in->ident();
  bool open = false;
  int64_t ts = 0, local = 0;
  for (uint64_t i = s->log_start - in->log_base; i < in->log.size(); i++) {
    if ((i & kCancelPollRows) == kCancelPollRows) MT_RETURN_IF_ERROR(CheckCancel());
    const BookLogEntry& e = in->log[i];
    if (e.op == BookLogEntry::kBidLevel || e.op == BookLogEntry::kAskLevel) {
      book.Apply(static_cast<Side>(e.op), FromBits(e.a), FromBits(e.b));
      continue;
    }
    if (open) {
      snap.After(book, ts, local, id, out);
      book.ClearTouched();
    }
    open = true;
    ts = e.a;
    local = e.b;
    snap.Before(ts, local, id, out);
    if (e.op == BookLogEntry::kChangeReset) book.Reset();
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
  s->start_book.reset();
  s->start_snap.reset();
  TrimLog(in);
  return Status::OK();
}

// Drops the steps no replayed series needs any more (all of them once none
// replays); the front goes once it is half the log, so each step moves at
// most once on average.
void DeriveEngine::TrimLog(Instrument* in) {
  uint64_t keep = in->log_end();
  for (auto& s : in->series) {
    if (s->replay) keep = std::min(keep, s->log_start);
  }
  const size_t drop = static_cast<size_t>(keep - in->log_base);
  if (drop == in->log.size()) {
    in->log.clear();
    if (!in->replaying) in->log.shrink_to_fit();
  } else if (drop > in->log.size() / 2) {
    in->log.erase(in->log.begin(), in->log.begin() + static_cast<std::ptrdiff_t>(drop));
  } else {
    return;
  }
  in->log_base = keep;
}

Status DeriveEngine::Flush(Instrument* in, Series* s) {
  if (s->replay) {
    if (s->book->emitted() == s->start_snap->emitted()) return Status::OK();
    MT_RETURN_IF_ERROR(CheckCancel());
    MT_RETURN_IF_ERROR(Replay(in, s, &s->pending));
    // The next row group starts from here.
    *s->start_book = in->book;
    s->start_book->ClearTouched();
    s->start_snap = std::make_unique<BookSnapshotter>(*s->book);
    s->log_start = in->log_end();
    TrimLog(in);
  }
  if (s->pending.num_rows == 0) return Status::OK();
  MT_RETURN_IF_ERROR(CheckCancel());
  held_bytes_ -= s->held_rows * s->row_bytes;
  s->held_rows = 0;
  RowGroupData rg = std::move(s->pending);
  s->pending = columnar::MakeRowGroup(s->schema);
  const size_t rows = rg.num_rows;
  const auto& ts = rg.columns[kLocalTimestampColumn].i64;
  if (s->info.rows == 0) s->first_ts = ts.front();
  s->last_ts = ts.back();
  s->info.rows += rows;
  if (s->writer) MT_RETURN_IF_ERROR(s->writer->WriteRowGroup(std::move(rg)));
  rg = RowGroupData();
  // A series that filled a row group most likely fills the next: room for
  // it at once, instead of growing each column by doubling (copies, and
  // fresh memory faulted in). Made once the full one is written and freed,
  // so the next reuses its memory: a deep series' row group is tens of MB,
  // and on huge pages reserved room is touched room. A replayed series
  // reserves when it replays.
  if (rows >= MaxRows(*s) && !s->replay) {
    for (size_t c = kLocalTimestampColumn + 1; c < s->schema.size(); c++) {
      columnar::ColumnData& col = s->pending.columns[c];
      if (col.kind == columnar::ColumnKind::kDouble) col.f64.reserve(rows);
    }
  }
  return Status::OK();
}

Status DeriveEngine::CompleteSeries(Instrument* in, Series* s) {
  if (s->bars) s->bars->Finish(in->ident(), &s->pending);
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
  if (status_.ok()) status_ = EndChange();
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
  last_ = change_ = nullptr;
}

}  // namespace mt::derive
