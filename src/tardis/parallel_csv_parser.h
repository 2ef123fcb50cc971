// Parses one Tardis CSV stream on several threads. The caller's thread cuts
// the decompressed text into newline-aligned blocks (1 MiB), pool threads
// parse each block into its own column fragment, and the fragments are joined
// in input order into row groups of exactly `batch_rows` rows, so the output
// is the one a single-threaded parse gives, byte for byte. Errors too: a bad
// row is reported with its line number in the whole file, and nothing after
// it is passed on.
//
// Joining is done by whichever thread finishes parsing the oldest unjoined
// block: it joins that block and every later block already parsed, while the
// fragment is still in its cache. One thread joins at a time; a thread that
// finds another joining leaves its block to it. The caller inflates (the one
// step that cannot be split), and whenever it would wait for the pool it runs
// queued pool tasks instead (parsing, and the writer's encoding), so with a
// pool of N-1 threads N cores stay busy. So the sink's OnBatch() runs on a
// pool thread or on the caller's thread inside Feed() or Finish(), one call
// at a time, and never after Finish() or Stop() returned.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "tardis/csv_parser.h"

namespace mt::tardis {

class ParallelCsvParser {
 public:
  // `pool` null: everything runs on the caller's thread (a plain CsvParser).
  ParallelCsvParser(std::string source, const DataTypeSchema* forced, BatchSink* sink,
                    ParserOptions opts, ThreadPool* pool);
  ~ParallelCsvParser();  // waits for blocks still being parsed

  Status Feed(const char* data, size_t n);
  Status Finish();
  // Stops: blocks not yet joined are dropped; returns once no pool thread
  // works for this parser any more (so the sink may be torn down).
  void Stop();
  // Where the next Feed() bytes may be written in place (see
  // io::ChunkSink::OutputBuffer); null before the header and without a pool.
  char* OutputBuffer(size_t* capacity);

  const DataTypeSchema* schema() const { return main_.schema(); }
  uint64_t rows() const { return pool_ ? rows_.load(std::memory_order_relaxed) : main_.rows(); }

 private:
  struct Block;
  // A text buffer that is never zero-filled (std::string would be).
  struct Buf {
    std::unique_ptr<char[]> data;
    size_t size = 0, cap = 0;
    void Reserve(size_t n);
  };

  Status FeedBlocks(const char* data, size_t n);
  Status Dispatch(size_t len, bool last = false);
  // Run on a pool thread once block b is parsed.
  void Parsed(Block* b);
  // Waits (caller) until at most `keep` blocks are unjoined and no join
  // runs, running queued pool tasks meanwhile; the first join error, if any.
  // With keep > 0 it also returns when it finds no task to run and fewer
  // than max_ahead_ blocks are unjoined (the caller reads ahead).
  Status WaitJoined(size_t keep);
  Status Join(Block* b);
  Status Emit();
  void ReserveBatch(size_t rows, std::vector<size_t> text_bytes);

  std::string source_;
  BatchSink* sink_;
  ParserOptions opts_;
  ThreadPool* pool_;
  CsvParser main_;  // the header (and everything, without a pool)
  const size_t block_bytes_;
  const size_t max_in_flight_;  // unjoined blocks before the caller helps the pool
  const size_t max_ahead_;      // before it sleeps
  bool in_blocks_ = false;
  Buf cur_;  // text of the block being filled (caller only)
  Status status_;  // the caller's

  std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_:
  std::deque<std::unique_ptr<Block>> blocks_;  // dispatched, unjoined, in input order
  std::vector<std::unique_ptr<Block>> free_;   // joined, memory kept for reuse
  size_t tasks_ = 0;                           // pool tasks not yet returned
  bool joining_ = false;                       // a pool thread runs the join loop
  bool stopped_ = false;
  Status join_status_;                         // the first error of a join
  std::vector<bool> dispatch_hint_;            // string columns to start plain

  // Used by the joining thread only (one at a time), and by the caller once
  // every join is done:
  columnar::RowGroupData batch_;
  std::vector<bool> plain_hint_;
  std::atomic<uint64_t> rows_{0};
  uint64_t joined_lines_ = 1;  // lines before the next block to join (the header)
};

}  // namespace mt::tardis
