// Parses one Tardis CSV stream on several threads. The caller's thread cuts
// the decompressed text into newline-aligned blocks (a few MiB), pool threads
// parse each block into its own column fragment, and the caller joins the
// fragments in input order into row groups of exactly `batch_rows` rows, so
// the output is the one a single-threaded parse gives, byte for byte. Errors
// too: a bad row is reported with its line number in the whole file, and
// nothing after it is passed on.
#pragma once

#include <cstdint>
#include <deque>
#include <future>
#include <memory>
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
  // Where the next Feed() bytes may be written in place (see
  // io::ChunkSink::OutputBuffer); null before the header and without a pool.
  char* OutputBuffer(size_t* capacity);

  const DataTypeSchema* schema() const { return main_.schema(); }
  uint64_t rows() const { return pool_ ? rows_ : main_.rows(); }
  uint64_t first_local_timestamp() const { return pool_ ? first_local_ts_ : main_.first_local_timestamp(); }
  uint64_t last_local_timestamp() const { return pool_ ? last_local_ts_ : main_.last_local_timestamp(); }

  static constexpr size_t kMaxLineBytes = 64u << 20;

 private:
  struct Block;
  // A text buffer that is never zero-filled (std::string would be).
  struct Buf {
    std::unique_ptr<char[]> data;
    size_t size = 0, cap = 0;
    void Reserve(size_t n);
  };

  Status FeedBlocks(const char* data, size_t n);
  Status Dispatch(size_t len);
  // Joins finished blocks in order; with `wait`, until at most `keep` remain.
  Status Drain(bool wait, size_t keep);
  Status Join(Block* b);
  Status Emit();
  void ReserveBatch(size_t rows, const std::vector<size_t>& text_bytes);
  void WaitAll();

  std::string source_;
  BatchSink* sink_;
  ParserOptions opts_;
  ThreadPool* pool_;
  CsvParser main_;  // the header (and everything, without a pool)
  const size_t block_bytes_;
  bool in_blocks_ = false;
  Buf cur_;  // text of the block being filled
  std::deque<std::unique_ptr<Block>> blocks_;  // dispatched, in input order
  std::vector<std::unique_ptr<Block>> free_;   // joined, memory kept for reuse
  size_t max_in_flight_;
  parquet::RowGroupData batch_;
  std::vector<bool> plain_hint_;
  std::vector<size_t> cursor_;
  uint64_t rows_ = 0;
  uint64_t lines_ = 1;  // lines before the next block to join (the header)
  int64_t first_local_ts_ = 0, last_local_ts_ = 0;
  Status status_;
};

}  // namespace mt::tardis
