// Many Parquet files written at once with bounded resources: the files of a
// grouped Tardis file (thousands of instruments, one output each).
//
// Each row group is encoded once, as FileWriter would encode it, and its
// column-chunk bytes are appended to ONE anonymous temporary file (the
// spill), followed by a compact record of the chunks' metadata. Memory keeps
// only ~40 bytes per spilled row group. WriteFile() then assembles one
// output: "PAR1", that file's chunk bytes copied from the spill in order,
// the footer with every offset relocated. The result is byte for byte the
// file a FileWriter given the same row groups writes.
//
// Resources: one descriptor (the spill, unlinked from the start, so nothing
// is left behind by a crash or Abort) plus whatever sink WriteFile() is given;
// memory: the row groups queued for encoding (at most `max_queued`) and a
// copy buffer. Sticky errors as in FileWriter. Not thread-safe: one caller.
#pragma once

#include <cstdint>
#include <deque>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "parquet/file_writer.h"

namespace mt::parquet {

class SpillWriter {
 public:
  // At most `max_queued` row groups, and no more than `max_queued_bytes` of
  // their values, wait for encoding (beyond that WriteRowGroup waits).
  SpillWriter(std::vector<columnar::ColumnSpec> schema, WriterOptions opts, size_t max_queued = 32,
              size_t max_queued_bytes = 16u << 20);
  ~SpillWriter();
  SpillWriter(const SpillWriter&) = delete;
  SpillWriter& operator=(const SpillWriter&) = delete;

  // Creates the spill in `dir` (O_TMPFILE, else a temporary name unlinked at
  // once); an empty dir means $TMPDIR, else /tmp.
  Status Open(const std::string& dir);
  // A new output file; returns its id for WriteRowGroup/WriteFile.
  uint32_t AddFile();
  // Queues `rg` (non-empty) of file `file` for encoding on the pool.
  Status WriteRowGroup(uint32_t file, columnar::RowGroupData rg);
  // Waits until every queued row group is in the spill.
  Status Drain();
  // Writes file `file` to `sink`: magic, chunks, footer with `kv`.
  // REQUIRES: Drain() succeeded since the last WriteRowGroup().
  Status WriteFile(uint32_t file, storage::WritableObject* sink,
                   const std::vector<std::pair<std::string, std::string>>& kv);

  int64_t num_rows(uint32_t file) const { return files_[file].num_rows; }
  uint64_t spill_bytes() const { return spill_size_; }
  const std::vector<bool>& plain_string_hint() const { return plain_hint_; }

 private:
  struct Queued {
    uint32_t file;
    int64_t num_rows;
    size_t bytes;  // values, for the queue's bound
    std::vector<std::future<Result<EncodedChunk>>> columns;
  };
  // Where one row group lies in the spill: its chunks' bytes, then the
  // record of their metadata.
  struct Spilled {
    uint64_t offset;
    uint64_t data_len;
    uint32_t meta_len;
    int64_t num_rows;
  };
  struct File {
    int64_t num_rows = 0;
    std::vector<Spilled> groups;
  };

  Status FlushOne();
  Status SpillAppend(std::string_view bytes);
  Status FlushBuffer();
  Status ReadSpill(uint64_t offset, size_t n, char* out);

  std::vector<columnar::ColumnSpec> schema_;
  WriterOptions opts_;
  size_t max_queued_;
  size_t max_queued_bytes_;
  size_t queued_bytes_ = 0;
  Status status_;
  int fd_ = -1;
  std::string path_;        // for messages
  uint64_t spill_size_ = 0;  // bytes appended, buffered ones included
  std::string buffer_;       // appended bytes not yet written
  std::deque<Queued> queue_;
  std::vector<File> files_;
  std::vector<bool> plain_hint_;
};

}  // namespace mt::parquet
