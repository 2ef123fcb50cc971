// instruments.parquet (docs/STORAGE.md, docs/INSTRUMENTS.md): one fixed, typed column set for every
// day file and every aggregate, written through the object store so a file
// appears only when complete.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "columnar/column_data.h"
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

}  // namespace mt::pipeline
