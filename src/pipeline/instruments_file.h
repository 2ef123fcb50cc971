// instruments.parquet (docs/STORAGE.md, docs/INSTRUMENTS.md): one fixed, typed column set for every
// day file and every aggregate, written through the object store so a file
// appears only when complete.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "columnar/column_data.h"
#include "core/spilled_blobs.h"
#include "core/status.h"
#include "parquet/file_reader.h"
#include "parquet/file_writer.h"
#include "pipeline/instruments.h"
#include "storage/object_store.h"

namespace mt::pipeline {

// Column names, types and nullability, in file order (docs/INSTRUMENTS.md).
const std::vector<columnar::ColumnSpec>& InstrumentColumns();

// An empty row group of InstrumentColumns(), and one row appended to it.
columnar::RowGroupData EmptyInstrumentRowGroup();
void AppendInstrumentRow(const InstrumentDefinition& d, columnar::RowGroupData* rg);

// Rows of an instruments file held column by column, in blocks of rows, in
// a SpilledBlobs (most of them in a temporary file), not as columns in
// memory: a listing of hundreds of thousands of instruments live on one day
// makes a file of that many rows. Column(c) makes column c as
// AppendInstrumentRow of every row would have made it, for a writer that
// encodes and frees each column before the next
// (WriteInstrumentsObjectByColumn).
class SpilledInstrumentRows {
 public:
  SpilledInstrumentRows();
  void Append(const InstrumentDefinition& d);
  size_t num_rows() const { return rows_; }
  // Replaces *out with column c (an index into InstrumentColumns()) of
  // every row. A temporary file that cannot be read back is its error.
  Status Column(size_t c, columnar::ColumnData* out) const;
  // Why the rows stayed in memory ("" when they did not).
  const std::string& note() const { return blobs_->note(); }

 private:
  void Flush();
  std::unique_ptr<SpilledBlobs> blobs_;
  std::vector<std::string> block_;  // per column: the values of the rows not yet flushed, packed
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> chunks_;  // per column: where its blocks are
  size_t rows_ = 0, block_rows_ = 0;
  std::vector<size_t> values_, text_bytes_;  // per column: its values (not null) and their text's bytes
};

// The definitions as one row group, in the given order.
columnar::RowGroupData InstrumentRowGroup(const std::vector<InstrumentDefinition>& defs);

// Writes the rows as the object `name`. With overwrite=false an existing
// object is kept and kAlreadyExists returned. Returns the bytes written.
Result<uint64_t> WriteInstrumentsFile(storage::ObjectStore* store, const std::string& name,
                                      columnar::RowGroupData rows,
                                      const std::vector<std::pair<std::string, std::string>>& kv,
                                      const parquet::WriterOptions& opts, bool overwrite);
Result<uint64_t> WriteInstrumentsFile(storage::ObjectStore* store, const std::string& name,
                                      const std::vector<InstrumentDefinition>& defs,
                                      const std::vector<std::pair<std::string, std::string>>& kv,
                                      const parquet::WriterOptions& opts, bool overwrite);

// Writes the rows into `obj` (from ObjectStore::Create or CreateIfGeneration)
// and commits it; `label` names it in errors. Returns the bytes written; a
// failure aborts the object (nothing appears).
Result<uint64_t> WriteInstrumentsObject(storage::WritableObject* obj, const std::string& label,
                                        columnar::RowGroupData rows,
                                        const std::vector<std::pair<std::string, std::string>>& kv,
                                        const parquet::WriterOptions& opts);

// WriteInstrumentsObject of a row group of `num_rows` rows whose column c
// `fill(c, &column)` makes (replacing the column it is given), one column at
// a time, each encoded and freed before the next is made: the same bytes.
Result<uint64_t> WriteInstrumentsObjectByColumn(storage::WritableObject* obj, const std::string& label, size_t num_rows,
                                                const std::function<Status(size_t, columnar::ColumnData*)>& fill,
                                                const std::vector<std::pair<std::string, std::string>>& kv,
                                                const parquet::WriterOptions& opts);

// An instruments file read back: its rows as definitions, in file order, and
// its key-value metadata.
struct InstrumentsFileContents {
  std::vector<InstrumentDefinition> definitions;
  std::vector<std::pair<std::string, std::string>> kv;
  // The value of `key`, "" when absent.
  std::string Kv(const std::string& key) const;
};
// Every column of InstrumentColumns() must be there with its type; a file
// that lacks one is kInvalidInput naming the file and the column.
Result<InstrumentsFileContents> ReadInstrumentsFile(parquet::FileReader& file);

// A stored instruments file read one column at a time: a merge holds one
// decoded column of it beside the merged columns, not every row as
// definitions.
class StoredInstruments {
 public:
  // Checks what the footer tells: every column of InstrumentColumns() there
  // with its type (those added later may be missing: they read as null).
  // kInvalidInput naming the file and the column, as ReadInstrumentsFile.
  // `file` must outlive the result.
  static Result<StoredInstruments> Open(parquet::FileReader* file);

  size_t num_rows() const { return num_rows_; }
  const std::vector<std::pair<std::string, std::string>>& kv() const;
  // Whether the file has column `col` (an index into InstrumentColumns()).
  bool Has(size_t col) const { return leaf_[col] >= 0; }
  // The values of column `col`, every row. REQUIRES: Has(col). A column
  // whose row count differs from the file's is kInvalidInput.
  Result<parquet::ColumnValues> Read(size_t col) const;

 private:
  parquet::FileReader* file_ = nullptr;
  std::vector<int> leaf_;  // per column of InstrumentColumns(): its leaf, -1 when absent
  size_t num_rows_ = 0;
};

// Column indices of InstrumentColumns() a merge reads first.
inline constexpr size_t kInstrumentKeyColumn = 0;
inline constexpr size_t kTardisExchangeColumn = 11;

// Appends row `row` of a stored column (its values `v`; null when the file
// lacks the column) to `out`, the same value with the same
// operations as AppendInstrumentRow of the definition ReadInstrumentsFile
// reads back: the merged file comes out byte for byte as before.
void AppendStoredValue(const parquet::ColumnValues* v, size_t row, columnar::ColumnData* out);

// Appends row `row` of `src`, a column filled by AppendInstrumentRow, to
// `out` as AppendInstrumentRow appended it; `*value` is the index of the
// row's value among src's (values are dense: a null has none), advanced
// past it.
void AppendAddedValue(const columnar::ColumnData& src, size_t row, size_t* value, columnar::ColumnData* out);

}  // namespace mt::pipeline
