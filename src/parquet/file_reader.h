// Reads Parquet files: the footer first (one read of the file's tail: the
// last 8 bytes give the footer length, and a 64 KiB tail usually holds the
// whole footer; a second ranged read fetches a longer one), then, on
// request, the values of flat columns. A file opens through an ObjectStore
// (local or gs://), a local path, or bytes in memory.
//
// Opening checks what a footer can prove without reading the data: the
// trailing "PAR1", a footer length that fits the file, a well-formed Thrift
// FileMetaData, one column chunk per schema leaf, row counts that add up,
// and column chunks that lie inside the file before the footer (a file cut
// short and given another footer fails here). Every failure is a Status
// (kInvalidInput for a bad file, kNotFound / kIOError for the store); no
// input crashes the reader.
//
// Column values: flat columns (REQUIRED or OPTIONAL leaves of the root) of
// BOOLEAN, INT32, INT64, FLOAT, DOUBLE, BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY,
// in PLAIN, RLE_DICTIONARY/PLAIN_DICTIONARY, DELTA_BINARY_PACKED,
// DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT and RLE
// (booleans), data pages v1 and v2, compressed with ZSTD, SNAPPY, GZIP or
// none.
// Thread-safety: a FileReader is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "parquet/metadata.h"
#include "storage/object_store.h"

namespace mt::parquet {

// The values of one column, one entry per row: the vector that matches the
// physical type is filled (others stay empty); a null row has defined[row]
// == 0 and a zero value ("" for strings).
struct ColumnValues {
  PhysicalType type = PhysicalType::kByteArray;
  size_t num_rows = 0;
  std::vector<uint8_t> defined;       // per row, 1 = has a value
  std::vector<int64_t> ints;          // INT32, INT64 (timestamps too)
  std::vector<double> doubles;        // FLOAT, DOUBLE
  std::vector<uint8_t> bools;         // BOOLEAN
  std::vector<std::string> strings;   // BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY
  bool IsNull(size_t row) const { return defined[row] == 0; }
};

class FileReader {
 public:
  // Tail read on open; a longer footer costs a second read.
  static constexpr uint64_t kTailReadBytes = 64 * 1024;

  // The store's tail read reports the object's size, so no listing is needed.
  static Result<std::unique_ptr<FileReader>> Open(storage::ObjectStore* store, const std::string& name);
  static Result<std::unique_ptr<FileReader>> OpenLocal(const std::string& path);
  static Result<std::unique_ptr<FileReader>> OpenBuffer(std::string bytes, std::string label = "buffer");

  ~FileReader();

  const FileMetaData& metadata() const { return md_; }
  uint64_t file_size() const { return size_; }
  // Bytes of the serialized footer (without length and magic).
  uint64_t footer_size() const { return footer_size_; }
  // How many reads opening took (1 or 2): for tests and benchmarks.
  int open_reads() const { return open_reads_; }
  const std::string& label() const { return label_; }

  // The values of leaf column `leaf` (index into metadata().leaves) in row
  // group `row_group`, or in all row groups concatenated. Every page whose
  // header has a CRC-32 is checked against it; a chunk with a page that
  // fails is kDataLoss (Status::Detail::kChecksumMismatch), after
  // kChunkReads reads in all when it came over a network
  // (ObjectStore::ReadsOverNetwork: the damage may have been on the way).
  static constexpr int kChunkReads = 3;
  Result<ColumnValues> ReadColumn(size_t row_group, size_t leaf);
  Result<ColumnValues> ReadColumn(size_t leaf);
  // By top-level column name; kNotFound when there is no such column.
  Result<ColumnValues> ReadColumn(const std::string& name);

  class Source;  // where the bytes come from (store, local file, memory)

 private:
  FileReader(std::unique_ptr<Source> src, std::string label);
  Status Init();

  std::unique_ptr<Source> src_;
  std::string label_;
  FileMetaData md_;
  uint64_t size_ = 0;
  uint64_t footer_size_ = 0;
  int open_reads_ = 0;
};

}  // namespace mt::parquet
