// Runs a BatchObserver (the derive engine) on a thread of its own, beside
// the parse and the raw file's encoding: the rows it reads are copied as the
// parser passes them on (OnRows), in chunks, through a queue bounded in
// bytes, and the observer computes on them while later rows are parsed.
//
// The observer sees the same rows in the same order as through OnBatch()
// (in smaller batches: it must not depend on where batches end; the derive
// engine does not), so its output is the same.
//
// Thread-safety: the BatchObserver calls come from the converter one at a
// time (OnRows and OnBatch possibly from a pool thread, as the parser's);
// the wrapped observer is called on the own thread only, except Finish()
// and Abort(), which run on the caller's once that thread is done. An error
// of the wrapped observer is returned by the next OnRows, OnBatch,
// EndOfInput or Finish; cancel (the flag) stops a wait for queue room.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/cancel.h"
#include "derive/batch_observer.h"

namespace mt::derive {

class ThreadedObserver : public BatchObserver {
 public:
  // Bytes of copied rows queued before OnRows waits for the thread: the
  // bound on the memory this adds, whatever the observer's speed (a
  // depth-1000 series computes far slower than rows are parsed).
  static constexpr size_t kDefaultMaxQueuedBytes = 8u << 20;

  // `inner` is not owned and must outlive this object. `nice` > 0 lowers
  // the thread's scheduling priority (as core/thread_pool.h's workers).
  explicit ThreadedObserver(BatchObserver* inner, size_t max_queued_bytes = kDefaultMaxQueuedBytes,
                            const std::atomic<bool>* cancel = ProcessCancelFlag(), int nice = 0);
  ~ThreadedObserver() override;  // stops and joins the thread; the owner Abort()s the inner observer
  ThreadedObserver(const ThreadedObserver&) = delete;
  ThreadedObserver& operator=(const ThreadedObserver&) = delete;

  // Calls inner's OnSchema() on this thread, then starts the own thread.
  Status OnSchema(const tardis::DataTypeSchema& schema) override;
  // Copies the columns the inner observer reads of rows [begin, end).
  Status OnRows(const columnar::RowGroupData& rows, size_t begin, size_t end) override;
  // The rows came through OnRows(): only reports an error of the thread.
  Status OnBatch(const columnar::RowGroupData& batch) override;
  // Queues the rows still held and the end of input: the thread completes
  // the inner observer's outputs (its EndOfInput) while the raw ones are
  // finished.
  Status EndOfInput() override;
  // Waits for the thread, then calls inner's Finish() on this thread.
  Status Finish() override;
  void Abort() override;

 private:
  struct Chunk {
    columnar::RowGroupData rows;
    bool end = false;  // no rows: the end of input
  };
  static size_t ChunkBytes(const Chunk& c);
  Status Push(std::unique_ptr<Chunk> c);
  Status PushHeld();
  Status Check();
  void Run();
  void Stop();

  BatchObserver* inner_;
  const size_t max_queued_bytes_;
  const std::atomic<bool>* cancel_;
  const int nice_;
  std::vector<bool> read_;                 // the columns inner reads
  std::vector<columnar::ColumnSpec> schema_;  // of the parser's batches
  // The chunk being filled (the producer's), and where the last OnRows ended
  // (a next call that continues the same rows starts from its value cursor).
  std::unique_ptr<Chunk> held_;
  const columnar::RowGroupData* last_rows_ = nullptr;
  size_t last_end_ = 0;
  std::vector<size_t> cursor_;
  bool ended_ = false;  // EndOfInput() queued

  std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_:
  std::deque<std::unique_ptr<Chunk>> queue_;
  std::vector<std::unique_ptr<Chunk>> free_;  // consumed, memory kept for reuse
  size_t queued_bytes_ = 0;
  bool stop_ = false;      // Abort(): the thread drops what is queued
  bool done_ = false;      // the thread consumed the end of input, or failed
  Status status_;          // the inner observer's first error
  std::thread thread_;
};

}  // namespace mt::derive
