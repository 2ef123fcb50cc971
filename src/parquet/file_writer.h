// Writes one Parquet file: "PAR1", row groups, Thrift footer, "PAR1".
// Row groups are encoded on the pool when one is given (each column a task,
// the waiting caller helping) and appended in order. WriteRowGroup() returns
// once the row group is encoded, written and its values freed, so the
// caller's next row group reuses that memory: one row group's values in
// memory instead of two, which matters where fresh memory is costly to fault
// in (virtual machines; bench/README.md). Sticky errors: after a failure
// every call is a no-op and Finish() returns the first error; the caller
// then aborts the destination object, so no half-written file becomes
// visible.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "columnar/column_data.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "parquet/column_writer.h"
#include "storage/object_store.h"

namespace mt::parquet {

struct WriterOptions {
  Codec codec = Codec::kZstd;
  int zstd_level = 3;
  EncodeOptions encode;
  ThreadPool* pool = nullptr;  // nullptr: encode on the calling thread
  std::string created_by = "market-tick";
  // FileWriter: once the footer-to-be of the row groups written so far holds
  // more than this many bytes, it moves to an anonymous temporary file in
  // `footer_spill_dir` ($TMPDIR, else /tmp, when empty) and Finish() streams
  // the footer from there, so memory does not grow with the number of row
  // groups times columns (deep book snapshots). 0: always in memory. The
  // file's bytes are the same either way.
  size_t footer_memory_bytes = 0;
  std::string footer_spill_dir;
};

// One row group as written: where it starts, and its ColumnChunk structs
// already in the footer's Thrift form: a few dozen bytes per column chunk
// instead of an EncodedChunk, so files of many row groups of many columns
// (deep book snapshots, thousands of spilled instruments) keep their
// footers-to-be small in memory.
struct RowGroupMeta {
  int64_t num_rows = 0, file_offset = 0, total_uncompressed = 0, total_compressed = 0;
  std::string columns_thrift;
  uint32_t num_columns = 0;
  // Where columns_thrift lies in FileWriter's footer spill once moved there
  // (columns_thrift is then empty); -1: in columns_thrift.
  int64_t spilled_at = -1;
  uint32_t spilled_len = 0;
};

// Appends the ColumnChunk structs of `chunks` (chunk c at file offset
// offsets[c]) to `out`. Thrift compact list elements are whole structs whose
// bytes do not depend on what was written before them, so they can be
// serialized when the row group is written and copied into the footer later.
void SerializeColumnChunks(const std::vector<columnar::ColumnSpec>& schema,
                           const std::vector<EncodedChunk>& chunks, const std::vector<int64_t>& offsets,
                           std::string* out);

// Encodes one column chunk with this thread's compressors (created once per
// thread and reused: ZSTD contexts are costly to create).
Result<EncodedChunk> EncodeChunkOnThisThread(const columnar::ColumnData& col, size_t rows, const WriterOptions& opts);

// Starts encoding `rg`: each column a task on opts.pool (biggest first), or
// encoded now without a pool. The futures are in schema order. When given,
// plain_hint[c] records whether string column c was plain.
std::vector<std::future<Result<EncodedChunk>>> SubmitRowGroup(const std::vector<columnar::ColumnSpec>& schema,
                                                              columnar::RowGroupData rg, const WriterOptions& opts,
                                                              std::vector<bool>* plain_hint);
// The same for a row group the caller keeps: its values are read, not freed,
// so `*rg` must outlive every future (ForEachEncodedChunk drains them all).
std::vector<std::future<Result<EncodedChunk>>> SubmitRowGroupRef(const std::vector<columnar::ColumnSpec>& schema,
                                                                 const columnar::RowGroupData* rg,
                                                                 const WriterOptions& opts, std::vector<bool>* plain_hint);

// Waits for each column's encoding, in schema order, and hands each chunk to
// `each`. The waiting thread runs queued pool tasks meanwhile (it may be one
// of the pool's workers). After the first error the remaining futures are
// still drained, since their tasks hold the row group, and that error is
// returned.
Status ForEachEncodedChunk(std::vector<std::future<Result<EncodedChunk>>>* columns, ThreadPool* pool,
                           const std::function<Status(EncodedChunk&)>& each);

// The Thrift FileMetaData of a file of `row_groups` (Parquet format,
// parquet.thrift), without the length and magic that follow it.
std::string SerializeFileFooter(const std::vector<columnar::ColumnSpec>& schema, const WriterOptions& opts,
                                const std::vector<RowGroupMeta>& row_groups, int64_t num_rows,
                                const std::vector<std::pair<std::string, std::string>>& kv);

// The same bytes handed to `emit` in pieces: `columns_of(i, out)` appends row
// group i's ColumnChunk structs to `out` (so they need not all be in memory).
Status StreamFileFooter(const std::vector<columnar::ColumnSpec>& schema, const WriterOptions& opts,
                        const std::vector<RowGroupMeta>& row_groups, int64_t num_rows,
                        const std::vector<std::pair<std::string, std::string>>& kv,
                        const std::function<Status(size_t, std::string*)>& columns_of,
                        const std::function<Status(std::string_view)>& emit);

class FileWriter {
 public:
  // `sink` must outlive the writer.
  FileWriter(storage::WritableObject* sink, std::vector<columnar::ColumnSpec> schema, WriterOptions opts);
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  // Encodes a row group and appends it; returns once it is written and its
  // values freed. An empty row group is ignored.
  Status WriteRowGroup(columnar::RowGroupData rg);
  // The same bytes as WriteRowGroup(*rg), but `rg` keeps its values (and
  // their memory): a caller that encodes many row groups one after another
  // (the objects of a grouped file) clears and refills one instead of
  // allocating and faulting in a fresh one each time.
  Status WriteRowGroupFrom(const columnar::RowGroupData& rg);
  // The same bytes as WriteRowGroup of a row group of `num_rows` rows whose
  // column c `fill(c, &column)` fills (column as MakeRowGroup makes it,
  // empty), made one column at a time, each encoded and freed before the
  // next is filled: what is held is one column's values, not the row
  // group's. Without a pool of threads.
  Status WriteRowGroupByColumn(size_t num_rows, const std::function<Status(size_t, columnar::ColumnData*)>& fill);
  // Writes the footer. Does not commit the sink.
  Status Finish(const std::vector<std::pair<std::string, std::string>>& kv_metadata);

  int64_t num_rows() const { return num_rows_; }
  // Whether string column i fell back to plain in the last encoded row group
  // (so the next one can start plain and skip the dictionary attempt).
  const std::vector<bool>& plain_string_hint() const { return plain_hint_; }
  // Bytes of footer-to-be held in memory (see WriterOptions::footer_memory_bytes).
  size_t footer_bytes_in_memory() const { return footer_held_; }

 private:
  // Appends the chunks of a row group of `num_rows` as they finish encoding,
  // in schema order, and records its metadata for the footer.
  Status AppendRowGroup(int64_t num_rows, std::vector<std::future<Result<EncodedChunk>>>* columns);
  // Without a pool: column c encoded by `encode(c, &chunk)` on this thread
  // and appended before column c + 1 is encoded. No future per column (each
  // promise's set_value is a system call to wake waiters that a lone thread
  // never has) and one encoded chunk held at a time.
  Status AppendEncodedInline(int64_t num_rows, const std::function<Status(size_t, EncodedChunk*)>& encode);
  // Encodes `col` (column c, `rows` rows), noting in plain_hint_ whether it
  // went plain.
  Status EncodeHinted(const columnar::ColumnData& col, size_t c, size_t rows, EncodedChunk* out);
  // What both share: `chunks_in_order` hands each column's chunk, in schema
  // order, to the callback, which appends it and records its metadata.
  Status FinishRowGroup(int64_t num_rows,
                        const std::function<Status(const std::function<Status(EncodedChunk&)>&)>& chunks_in_order);
  Status Append(std::string_view bytes);
  // Moves the footer-to-be of the row groups written so far to the spill.
  Status SpillFooter();

  storage::WritableObject* sink_;
  std::vector<columnar::ColumnSpec> schema_;
  WriterOptions opts_;
  Status status_;
  int64_t offset_ = 0;
  int64_t num_rows_ = 0;
  std::vector<RowGroupMeta> row_groups_;
  std::vector<bool> plain_hint_;
  size_t footer_held_ = 0;    // bytes of columns_thrift in row_groups_
  int footer_fd_ = -1;        // the footer spill (anonymous), once opened
  int64_t footer_spilled_ = 0;
};

}  // namespace mt::parquet
