// Writes one Parquet file: "PAR1", row groups, Thrift footer, "PAR1".
// Row groups are encoded on the pool when one is given (each column a task,
// the waiting caller helping) and appended in order; at most
// `max_pending_row_groups` are left encoding when WriteRowGroup() returns.
// With 0 (the default) it returns once the row group is encoded, written and
// its values freed, so the caller's next row group reuses that memory: one
// row group's values in memory instead of two (trades, two threads: peak
// RSS 215 -> ~130 MB), which matters where fresh memory is costly to fault
// in (virtual machines). Sticky errors: after a failure every call
// is a no-op and Finish() returns the first error; the caller then aborts
// the destination object, so no half-written file becomes visible.
#pragma once

#include <deque>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "parquet/column_data.h"
#include "parquet/column_writer.h"
#include "storage/object_store.h"

namespace mt::parquet {

struct WriterOptions {
  Codec codec = Codec::kZstd;
  int zstd_level = 3;
  EncodeOptions encode;
  ThreadPool* pool = nullptr;  // nullptr: encode on the calling thread
  size_t max_pending_row_groups = 0;
  std::string created_by = "market-tick";
};

class FileWriter {
 public:
  // `sink` must outlive the writer.
  FileWriter(storage::WritableObject* sink, std::vector<ColumnSpec> schema, WriterOptions opts);
  ~FileWriter();

  // Queues a row group for encoding. An empty row group is ignored.
  Status WriteRowGroup(RowGroupData rg);
  // Waits for pending row groups, writes the footer. Does not commit the sink.
  Status Finish(const std::vector<std::pair<std::string, std::string>>& kv_metadata);

  int64_t num_rows() const { return num_rows_; }
  // Whether string column i fell back to plain in the last encoded row group
  // (so the next one can start plain and skip the dictionary attempt).
  const std::vector<bool>& plain_string_hint() const { return plain_hint_; }

 private:
  struct PendingRowGroup {
    int64_t num_rows = 0;
    std::vector<std::future<Result<EncodedChunk>>> columns;
  };
  struct RowGroupMeta {
    int64_t num_rows, file_offset, total_uncompressed, total_compressed;
    // The row group's ColumnChunk structs, already in the footer's Thrift
    // form: a few dozen bytes per column chunk instead of an EncodedChunk, so
    // files of many row groups of many columns (deep book snapshots) keep
    // their footer-to-be small in memory.
    std::string columns_thrift;
    uint32_t num_columns = 0;
  };

  Status FlushOne();
  void SerializeColumnChunks(const std::vector<EncodedChunk>& chunks, const std::vector<int64_t>& offsets,
                             std::string* out) const;
  Status Append(std::string_view bytes);
  // Moves each row group's column chunks into the footer (freeing them as it goes).
  std::string SerializeFooter(const std::vector<std::pair<std::string, std::string>>& kv);

  storage::WritableObject* sink_;
  std::vector<ColumnSpec> schema_;
  WriterOptions opts_;
  Status status_;
  int64_t offset_ = 0;
  int64_t num_rows_ = 0;
  std::deque<PendingRowGroup> pending_;
  std::vector<RowGroupMeta> row_groups_;
  std::vector<bool> plain_hint_;
  std::unique_ptr<Compressor> local_compressor_;
};

}  // namespace mt::parquet
