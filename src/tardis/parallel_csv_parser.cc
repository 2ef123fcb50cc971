#include "tardis/parallel_csv_parser.h"

#include <algorithm>
#include <cstring>
#include <exception>

namespace mt::tardis {

namespace {
// n, or at most `cap` when cap > 0 (and at least one).
size_t Cap(size_t n, size_t cap) { return cap > 0 ? std::max<size_t>(1, std::min(n, cap)) : n; }
// Pool threads that parse blocks at once, whatever the pool's size. Each
// block in flight holds its text and its parsed columns, so on a VM of many
// cores (the default --threads) a block per thread grew memory with the core
// count past the bound; the parsed blocks are joined in input order on one
// thread at a time, which this many parsing threads already outrun, and the
// other threads of a big pool encode.
constexpr size_t kMaxParsingThreads = 16;
}  // namespace

struct ParallelCsvParser::Block {
  explicit Block(const std::string& source) : parser(source, nullptr, nullptr) {}
  Buf text;
  CsvParser parser;
  Status status;
  bool parsed = false;  // guarded by mu_
  bool last = false;    // the input's last block (dispatched by Finish)
};

ParallelCsvParser::ParallelCsvParser(std::string source, const DataTypeSchema* forced,
                                     BatchSink* sink, ParserOptions opts, ThreadPool* pool)
    : source_(source),
      sink_(sink),
      opts_(opts),
      pool_(pool),
      main_(std::move(source), forced, sink, opts),
      block_bytes_(std::max<size_t>(1, opts.block_bytes)),
      // Blocks dispatched and not yet joined: one per pool thread and two
      // more (the caller parses too, see WaitJoined). More only hold more
      // text and fragments in memory, for no speed.
      max_in_flight_(pool ? Cap(std::min<size_t>(pool->size(), kMaxParsingThreads) + 2, opts.max_unjoined_blocks)
                          : 0),
      // Joins go in input order, so a block parsed on a slow core (a busy
      // neighbour on a shared host) holds up every block behind it. Rather
      // than sleep then, with nothing left to run, the caller inflates up to
      // seven blocks more: a few MB of memory, taken only when it would
      // otherwise wait, so idle cores see no difference. (Measurements:
      // bench/README.md.)
      max_ahead_(Cap(max_in_flight_ + 7, opts.max_unjoined_blocks)) {
  // The caller sleeps on cv_ when it has read ahead as far as it may; a task
  // queued meanwhile (the sink's work shared out by the joining thread, see
  // HelpedFor) wakes it to run that task rather than leave its core idle.
  if (pool_) pool_->AddWaiter(&mu_, &cv_);
}

ParallelCsvParser::~ParallelCsvParser() {
  Stop();
  if (pool_) pool_->RemoveWaiter(&cv_);
}

void ParallelCsvParser::Stop() {
  std::unique_lock<std::mutex> l(mu_);
  stopped_ = true;
  cv_.wait(l, [&] { return tasks_ == 0; });
}

void ParallelCsvParser::Buf::Reserve(size_t n) {
  if (n <= cap) return;
  std::unique_ptr<char[]> bigger(new char[n]);
  if (size) std::memcpy(bigger.get(), data.get(), size);
  data = std::move(bigger);
  cap = n;
}

char* ParallelCsvParser::OutputBuffer(size_t* capacity) {
  if (!pool_ || !in_blocks_ || !status_.ok()) {
    *capacity = 0;
    return nullptr;
  }
  if (cur_.cap - cur_.size < (64u << 10)) cur_.Reserve(std::max(cur_.cap * 2, block_bytes_ + (256u << 10)));
  // At most a block's worth per write, however far cur_ grew for a long
  // line: a line that starts and ends within one write is then shorter than
  // that, so only the line carried in cur_ can be long, and FeedBlocks checks
  // it against kMaxLineBytes on every write. (A write as big as the room a
  // long line made let a line of any length through unchecked, into a block
  // whose parse held several copies of it.)
  *capacity = std::min(cur_.cap - cur_.size, block_bytes_ + (256u << 10));
  return cur_.data.get() + cur_.size;
}

Status ParallelCsvParser::Feed(const char* data, size_t n) {
  if (!pool_) return main_.Feed(data, n);
  if (!status_.ok()) return status_;
  if (!in_blocks_) {
    // The header goes to the sequential parser, which names the schema.
    const char* nl = static_cast<const char*>(std::memchr(data, '\n', n));
    if (!nl) return status_ = main_.Feed(data, n);
    const size_t head = static_cast<size_t>(nl - data) + 1;
    MT_RETURN_IF_ERROR(status_ = main_.Feed(data, head));
    in_blocks_ = true;
    const DataTypeSchema& schema = *main_.schema();
    batch_ = columnar::MakeRowGroup(schema.ParquetSchema());
    plain_hint_.assign(schema.columns.size(), false);
    dispatch_hint_ = plain_hint_;
    data += head;
    n -= head;
  }
  return status_ = FeedBlocks(data, n);
}

Status ParallelCsvParser::FeedBlocks(const char* data, size_t n) {
  if (data == cur_.data.get() + cur_.size && n <= cur_.cap - cur_.size) {
    cur_.size += n;  // decompressed in place (OutputBuffer)
  } else {
    if (cur_.cap - cur_.size < n) cur_.Reserve(std::max(cur_.size + n, block_bytes_ + (256u << 10)));
    if (n) std::memcpy(cur_.data.get() + cur_.size, data, n);
    cur_.size += n;
  }
  if (cur_.size < block_bytes_) return Status::OK();
  const void* last = memrchr(cur_.data.get(), '\n', cur_.size);
  // The line carried from earlier writes (cur_'s first), whether or not it
  // ended in this one; lines within the write are no longer than the write.
  const void* first = last ? std::memchr(cur_.data.get(), '\n', cur_.size) : nullptr;
  const size_t carried = last ? static_cast<size_t>(static_cast<const char*>(first) - cur_.data.get()) : cur_.size;
  if (carried > kMaxLineBytes) {
    MT_RETURN_IF_ERROR(WaitJoined(0));  // so joined_lines_ counts every line before
    return LineTooLong(source_, joined_lines_ + 1);
  }
  if (!last) return Status::OK();  // a very long line: keep reading
  MT_RETURN_IF_ERROR(Dispatch(static_cast<size_t>(static_cast<const char*>(last) - cur_.data.get()) + 1));
  return WaitJoined(max_in_flight_);
}

// Hands cur_[0, len) to a pool thread; the rest stays in cur_.
Status ParallelCsvParser::Dispatch(size_t len, bool last) {
  std::unique_ptr<Block> b;
  std::vector<bool> hint;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!join_status_.ok()) return join_status_;
    if (!free_.empty()) {
      b = std::move(free_.back());
      free_.pop_back();
    }
    hint = dispatch_hint_;
  }
  if (!b) b = std::make_unique<Block>(source_);
  std::swap(b->text, cur_);
  cur_.size = 0;
  cur_.Reserve(block_bytes_ + (256u << 10));
  const size_t tail = b->text.size - len;
  if (tail) {
    cur_.Reserve(tail + (256u << 10));
    std::memcpy(cur_.data.get(), b->text.data.get() + len, tail);
  }
  cur_.size = tail;
  b->text.size = len;
  b->parsed = false;
  b->last = last;
  const DataTypeSchema* schema = main_.schema();
  const size_t reserve = len / 48 + 16;
  Block* raw = b.get();
  {
    std::lock_guard<std::mutex> l(mu_);
    blocks_.push_back(std::move(b));  // before the task can finish
    tasks_++;
  }
  pool_->Submit([this, raw, schema, hint = std::move(hint), reserve] {
    try {
      raw->status = raw->parser.ParseBlock(*schema, hint, reserve, raw->text.data.get(), raw->text.size);
    } catch (const std::exception& e) {  // out of memory: an error, not a hang in Stop()
      raw->status = Status::Internal(source_ + ": parsing a block failed: " + e.what());
    }
    Parsed(raw);
  });
  return Status::OK();
}

void ParallelCsvParser::Parsed(Block* b) {
  std::unique_lock<std::mutex> l(mu_);
  b->parsed = true;
  if (!joining_) {
    joining_ = true;
    while (!blocks_.empty() && blocks_.front()->parsed && join_status_.ok() && !stopped_) {
      std::unique_ptr<Block> next = std::move(blocks_.front());
      blocks_.pop_front();
      l.unlock();
      Status st;
      try {
        st = Join(next.get());
      } catch (const std::exception& e) {
        st = Status::Internal(source_ + ": joining parsed rows failed: " + e.what());
      }
      std::vector<bool> hint = plain_hint_;
      l.lock();
      if (!st.ok() && join_status_.ok()) join_status_ = st;
      dispatch_hint_ = std::move(hint);
      free_.push_back(std::move(next));
      cv_.notify_all();
    }
    joining_ = false;
  }
  tasks_--;
  cv_.notify_all();
}

Status ParallelCsvParser::WaitJoined(size_t keep) {
  std::unique_lock<std::mutex> l(mu_);
  const auto done = [&] {
    return !join_status_.ok() || (blocks_.size() <= keep && (keep > 0 || (!joining_ && tasks_ == 0)));
  };
  while (!done()) {
    // The caller is one of the threads that do the work: rather than sleep
    // while blocks wait to be parsed or a row group to be encoded, it runs
    // the oldest queued task itself. (Sleeping left a core idle whenever the
    // pool's threads were waiting for a block it had not inflated yet.)
    const uint64_t queued = pool_->queued();
    l.unlock();
    const bool ran = pool_->RunPendingTask();
    l.lock();
    if (!ran && !done()) {
      if (keep > 0 && blocks_.size() < max_ahead_) return join_status_;  // read ahead
      // A task queued since `queued` was read may have notified before this
      // thread sleeps: look for it again instead.
      if (pool_->queued() == queued) cv_.wait(l);
    }
  }
  return join_status_;
}

Status ParallelCsvParser::Join(Block* b) {
  if (!b->status.ok()) {
    if (b->status.code() != Status::Code::kInvalidInput) return b->status;
    // Renumber the block's row error with the lines of the blocks before it.
    return Status::InvalidInput(b->parser.FormatError(joined_lines_));
  }
  const columnar::RowGroupData& frag = b->parser.batch();
  const size_t n = frag.num_rows;
  if (n == 0) return Status::OK();
  if (rows_.load(std::memory_order_relaxed) == 0) {
    // Size the first batch from the first block's rows, as later batches are
    // sized from the one before: no regrowing, no doubled capacity.
    size_t row_bytes = 1;
    for (const auto& c : frag.columns) {
      row_bytes += c.nullable + columnar::FixedValueBytes(c.kind);
      if (c.kind == columnar::ColumnKind::kString) row_bytes += c.str.ValueBytes() / n;
    }
    // Twice the estimate: untouched capacity costs address space, not memory.
    // A file whose first block is its last (a small file) holds just that
    // block's rows: reserving a full batch there touched a huge page per
    // column (book_snapshot_25 has 104) for a few rows.
    const size_t rows =
        b->last ? n : std::min(opts_.batch_rows, 2 * (opts_.batch_bytes / row_bytes + 1));
    std::vector<size_t> text_bytes(frag.columns.size(), 0);
    for (size_t i = 0; i < frag.columns.size(); i++) {
      text_bytes[i] = frag.columns[i].str.ValueBytes() * (rows / n + 1);
    }
    ReserveBatch(rows, text_bytes);
  }
  // The sink sees the block's rows while they are in cache, before they join a batch.
  MT_RETURN_IF_ERROR(sink_->OnRows(frag, 0, n));
  rows_.store(rows_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  joined_lines_ += b->parser.lines();
  std::vector<size_t> cursor(frag.columns.size(), 0);
  size_t r = 0;
  while (r < n) {
    const size_t take = std::min(n - r, opts_.batch_rows - batch_.num_rows);
    columnar::AppendRows(frag, r, r + take, &cursor, &batch_);
    r += take;
    if (batch_.num_rows >= opts_.batch_rows || batch_.MemoryBytes() >= opts_.batch_bytes) {
      MT_RETURN_IF_ERROR(Emit());
    }
  }
  // A string column that stopped paying for its dictionary: blocks dispatched
  // from now on skip the dictionary too (the joining thread passes it on).
  for (size_t i = 0; i < batch_.columns.size(); i++) {
    if (batch_.columns[i].kind == columnar::ColumnKind::kString && !batch_.columns[i].str.dict_mode()) {
      plain_hint_[i] = true;
    }
  }
  return Status::OK();
}

Status ParallelCsvParser::Emit() {
  for (size_t i = 0; i < batch_.columns.size(); i++) {
    if (batch_.columns[i].kind == columnar::ColumnKind::kString) {
      plain_hint_[i] = !batch_.columns[i].str.dict_mode();
    }
  }
  columnar::RowGroupData out = std::move(batch_);
  const size_t rows = out.num_rows;
  std::vector<size_t> text_bytes = columnar::PlainTextBytes(out);
  // The writer may wait here for the previous row group to be encoded; the
  // next batch is allocated after that, so it can reuse that one's memory.
  MT_RETURN_IF_ERROR(sink_->OnBatch(std::move(out)));
  batch_ = columnar::MakeRowGroup(main_.schema()->ParquetSchema(), &plain_hint_);
  // Room for a batch like the last one: no regrowing (and copying) later.
  ReserveBatch(rows, text_bytes);
  return Status::OK();
}

// Reserves `rows` rows in batch_, and text_bytes[i] bytes of text (and a
// sixteenth more) for string column i when it is plain.
void ParallelCsvParser::ReserveBatch(size_t rows, std::vector<size_t> text_bytes) {
  for (size_t& b : text_bytes) b += b / 16;
  columnar::ReserveRows(&batch_, rows, &text_bytes);
}

Status ParallelCsvParser::Finish() {
  if (!pool_ || !in_blocks_) {
    if (!status_.ok()) return status_;
    return status_ = main_.Finish();
  }
  if (!status_.ok()) return status_;
  if (cur_.size) MT_RETURN_IF_ERROR(status_ = Dispatch(cur_.size, /*last=*/true));
  MT_RETURN_IF_ERROR(status_ = WaitJoined(0));
  // Every block is joined and no pool thread works for us: the last batch
  // goes from this thread.
  if (batch_.num_rows > 0) MT_RETURN_IF_ERROR(status_ = Emit());
  return Status::OK();
}

}  // namespace mt::tardis
