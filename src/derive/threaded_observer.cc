#include "derive/threaded_observer.h"

#include <algorithm>
#include <chrono>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace mt::derive {

namespace {

// Rows gathered before a chunk is queued: the parser passes a block of a few
// thousand rows at a time (or what one read inflated); fewer, bigger
// hand-offs cost less locking and waking.
constexpr size_t kChunkRows = 16384;

// Appends rows [begin, end) of the columns of `src` marked in `read` to
// `dst`, as columnar::AppendRows does for all of them (the others stay
// empty). `cursor[c]` is the index of row begin's first value in column c.
void AppendColumns(const columnar::RowGroupData& src, size_t begin, size_t end, const std::vector<bool>& read,
                   std::vector<size_t>* cursor, columnar::RowGroupData* dst) {
  const size_t nrows = end - begin;
  for (size_t c = 0; c < src.columns.size(); c++) {
    if (!read[c]) continue;
    const columnar::ColumnData& s = src.columns[c];
    columnar::ColumnData& d = dst->columns[c];
    size_t nvalues = nrows;
    if (!s.defined.empty()) {
      const uint8_t* first = s.defined.data() + begin;
      nvalues = static_cast<size_t>(std::count(first, first + nrows, uint8_t{1}));
      if (nvalues < nrows || !d.defined.empty()) {
        if (d.defined.empty()) d.defined.assign(dst->num_rows, 1);
        d.defined.append(first, first + nrows);
      }
      d.null_count += nrows - nvalues;
    } else if (!d.defined.empty()) {
      d.defined.append(nrows, 1);
    }
    const size_t v0 = (*cursor)[c], v1 = v0 + nvalues;
    switch (s.kind) {
      case columnar::ColumnKind::kTimestampMicros: d.i64.append(s.i64.data() + v0, s.i64.data() + v1); break;
      case columnar::ColumnKind::kDouble: d.f64.append(s.f64.data() + v0, s.f64.data() + v1); break;
      case columnar::ColumnKind::kBool: d.b.append(s.b.data() + v0, s.b.data() + v1); break;
      case columnar::ColumnKind::kString: d.str.AppendRange(s.str, v0, v1); break;
    }
    (*cursor)[c] = v1;
  }
  dst->num_rows += nrows;
}

}  // namespace

ThreadedObserver::ThreadedObserver(BatchObserver* inner, size_t max_queued_bytes, const std::atomic<bool>* cancel,
                                   int nice)
    : inner_(inner), max_queued_bytes_(max_queued_bytes), cancel_(cancel), nice_(nice) {}

ThreadedObserver::~ThreadedObserver() { Stop(); }

Status ThreadedObserver::OnSchema(const tardis::DataTypeSchema& schema) {
  MT_RETURN_IF_ERROR(inner_->OnSchema(schema));
  schema_ = schema.ParquetSchema();
  read_.assign(schema_.size(), false);
  for (size_t c = 0; c < schema_.size(); c++) read_[c] = inner_->ReadsColumn(schema, c);
  cursor_.assign(schema_.size(), 0);
  thread_ = std::thread([this] {
    if (nice_ > 0) setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), nice_);
    Run();
  });
  return Status::OK();
}

size_t ThreadedObserver::ChunkBytes(const Chunk& c) { return c.rows.MemoryBytes() + 64; }

Status ThreadedObserver::Check() {
  std::lock_guard<std::mutex> l(mu_);
  return status_;
}

Status ThreadedObserver::OnRows(const columnar::RowGroupData& rows, size_t begin, size_t end) {
  if (begin >= end) return Check();
  if (!held_) {
    {
      std::lock_guard<std::mutex> l(mu_);
      MT_RETURN_IF_ERROR(status_);
      if (!free_.empty()) {
        held_ = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (held_) {
      columnar::ClearRowGroup(&held_->rows, {});
    } else {
      held_ = std::make_unique<Chunk>();
      held_->rows = columnar::MakeRowGroup(schema_);
    }
  }
  // Where row `begin`'s values start: where the last call ended when it
  // continues the same rows, else counted (only columns with nulls differ
  // from the row index).
  if (&rows != last_rows_ || begin != last_end_) {
    for (size_t c = 0; c < rows.columns.size(); c++) {
      const auto& d = rows.columns[c].defined;
      cursor_[c] = d.empty() ? begin : static_cast<size_t>(std::count(d.data(), d.data() + begin, uint8_t{1}));
    }
  }
  AppendColumns(rows, begin, end, read_, &cursor_, &held_->rows);
  last_rows_ = &rows;
  last_end_ = end;
  if (held_->rows.num_rows < kChunkRows) return Status::OK();
  return PushHeld();
}

Status ThreadedObserver::PushHeld() {
  if (!held_ || held_->rows.num_rows == 0) return Check();
  return Push(std::move(held_));
}

Status ThreadedObserver::Push(std::unique_ptr<Chunk> c) {
  // The own thread waiting for room it alone makes would never return (an
  // observer that runs pool tasks which parse, say): an error instead.
  if (std::this_thread::get_id() == thread_.get_id()) {
    return Status::Internal("derived data: rows handed to the thread that computes them");
  }
  const size_t bytes = ChunkBytes(*c);
  std::unique_lock<std::mutex> l(mu_);
  // Room: the queue holds at most max_queued_bytes_ (or one chunk).
  while (status_.ok() && !queue_.empty() && queued_bytes_ + bytes > max_queued_bytes_) {
    if (cancel_ && cancel_->load(std::memory_order_relaxed)) {
      return Status::Cancelled("interrupted while computing derived data");
    }
    cv_.wait_for(l, std::chrono::milliseconds(20));
  }
  MT_RETURN_IF_ERROR(status_);
  queued_bytes_ += bytes;
  queue_.push_back(std::move(c));
  cv_.notify_all();
  return Status::OK();
}

Status ThreadedObserver::OnBatch(const columnar::RowGroupData&) { return Check(); }

Status ThreadedObserver::EndOfInput() {
  if (ended_ || !thread_.joinable()) return Check();
  if (cancel_ && cancel_->load(std::memory_order_relaxed)) {
    return Status::Cancelled("interrupted while computing derived data");
  }
  MT_RETURN_IF_ERROR(PushHeld());
  auto end = std::make_unique<Chunk>();
  end->end = true;
  MT_RETURN_IF_ERROR(Push(std::move(end)));
  // Only once the end marker is queued: Finish() then waits for the thread
  // to reach it, which it always does.
  ended_ = true;
  return Status::OK();
}

Status ThreadedObserver::Finish() {
  if (thread_.joinable()) {
    Status st = EndOfInput();
    if (st.ok()) {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return done_; });
    }
    Stop();
    if (!st.ok()) {
      inner_->Abort();
      return st;
    }
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!status_.ok()) {
      inner_->Abort();
      return status_;
    }
  }
  return inner_->Finish();
}

void ThreadedObserver::Abort() {
  Stop();
  inner_->Abort();
}

void ThreadedObserver::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ThreadedObserver::Run() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
    if (stop_ || done_) return;
    std::unique_ptr<Chunk> c = std::move(queue_.front());
    queue_.pop_front();
    l.unlock();
    const Status st = c->end ? inner_->EndOfInput() : inner_->OnBatch(c->rows);
    l.lock();
    queued_bytes_ -= ChunkBytes(*c);
    if (!st.ok() && status_.ok()) status_ = st;
    if (c->end || !st.ok()) {
      done_ = true;  // after an error nothing more is computed; the queue is dropped
      queue_.clear();
      queued_bytes_ = 0;
    } else if (free_.size() < 4) {
      free_.push_back(std::move(c));
    }
    cv_.notify_all();
  }
}

}  // namespace mt::derive
