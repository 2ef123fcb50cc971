// Streaming parser of Tardis CSV text into column batches. Push model: feed
// decompressed bytes in chunks of any size (lines may straddle chunks), then
// Finish(). The first line is the header and selects the schema. Errors name
// the source, line, byte column, CSV column and the raw text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "parquet/column_data.h"
#include "tardis/schema.h"

namespace mt::tardis {

class BatchSink {
 public:
  virtual ~BatchSink() = default;
  // Called once, after the header (or at Finish for headerless empty input
  // with a forced schema).
  virtual Status OnSchema(const DataTypeSchema& schema) = 0;
  // A full batch of rows, in input order.
  virtual Status OnBatch(parquet::RowGroupData batch) = 0;
};

struct ParserOptions {
  size_t batch_rows = 1'000'000;
  size_t batch_bytes = 64u << 20;  // flush earlier when a batch holds this much
  // Schema for input with no header line at all (an empty day), when the
  // data type is known from elsewhere (file name, URL).
  const DataTypeSchema* empty_input_schema = nullptr;
};

class CsvParser {
 public:
  // `forced` (may be null) is the data type the user named; the header must
  // then match it. `sink` must outlive the parser.
  CsvParser(std::string source, const DataTypeSchema* forced, BatchSink* sink,
            ParserOptions opts = {});

  Status Feed(const char* data, size_t n);
  Status Finish();

  const DataTypeSchema* schema() const { return schema_; }
  uint64_t rows() const { return rows_; }
  uint64_t first_local_timestamp() const { return first_local_ts_; }
  uint64_t last_local_timestamp() const { return last_local_ts_; }

 private:
  Status ProcessLine(const char* p, const char* e);
  Status ParseHeader(std::string_view line);
  Status ParseRow(const char* p, const char* e);
  Status Error(const char* line_begin, const char* line_end, const char* at, size_t col,
               const std::string& what) const;
  Status EmitBatch();
  void StartBatch();

  std::string source_;
  const DataTypeSchema* forced_;
  BatchSink* sink_;
  ParserOptions opts_;
  const DataTypeSchema* schema_ = nullptr;
  std::string carry_;
  uint64_t line_ = 0;  // 1-based number of the line being parsed
  uint64_t rows_ = 0;
  size_t last_batch_rows_ = 0;
  int64_t first_local_ts_ = 0, last_local_ts_ = 0;
  parquet::RowGroupData batch_;
  std::vector<bool> plain_hint_;
  // "exchange,symbol," of the previous row: rows of one file nearly always
  // repeat it, so a memcmp replaces two field scans and lookups.
  std::string prev_prefix_;
  Status status_;
};

}  // namespace mt::tardis
