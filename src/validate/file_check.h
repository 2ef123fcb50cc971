// Checks one present tick file from its Parquet footer alone (no data pages
// are read, so a year of files validates in minutes): the footer parses and
// the file is not truncated, the schema is exactly the data type's
// (tardis::DataTypeSchema::ParquetSchema: names, physical types,
// repetition, logical types), the row counts agree with the key-value
// metadata, the file's data_type / instrument_key metadata (when present)
// name this object, local_timestamp (Tardis splits days by it) lies
// inside the day and rises from row group to row group, and the rows are
// this item's (the exchange and symbol columns, or an options chain's
// instrument_key column), per the column statistics.
#pragma once

#include <optional>
#include <string>

#include "derive/names.h"
#include "parquet/metadata.h"
#include "storage/object_store.h"
#include "tardis/schema.h"
#include "validate/item.h"

namespace mt::validate {

struct FileCheck {
  ItemStatus status = ItemStatus::kDone;  // kDone, kNoData or kCorrupt
  std::string reason;                     // for kCorrupt
  int64_t rows = 0;
  std::optional<int64_t> first_local_ts, last_local_ts;
};


// The footer checks. `instrument_key` may be empty (not checked).
// `exchange` and `symbol` are the item's Tardis exchange id and symbol (empty:
// not checked): with statistics, every row group's exchange column must hold
// that exchange only; its symbol column one symbol, the item's (as file names
// spell it, tardis::FileNameSymbol) unless the item is a grouped file's
// (OPTIONS, ...: one symbol, the same in every row group); an options chain's
// instrument_key column only options of the chain's underlying. A file whose
// rows are another instrument's (a swapped or mislabelled file) is kCorrupt.
FileCheck CheckFooter(const parquet::FileMetaData& md, const tardis::DataTypeSchema& schema, const Date& day,
                      const std::string& instrument_key, const std::string& exchange = "",
                      const std::string& symbol = "");

// The same checks of a derived file (docs/DERIVED.md): its columns are
// derive::DerivedParquetSchema(spec), its data_type metadata the spec's name.
FileCheck CheckDerivedFooter(const parquet::FileMetaData& md, const derive::DerivedSpec& spec, const Date& day,
                             const std::string& instrument_key, const std::string& exchange = "",
                             const std::string& symbol = "");

// Opens `name`'s footer through the store and checks it. A read failure is
// kCorrupt with the error as the reason; *read_error is set when the
// failure was the store's (retryable I/O), not the file's.
FileCheck CheckObject(storage::ObjectStore* store, const std::string& name, const tardis::DataTypeSchema& schema,
                      const Date& day, const std::string& instrument_key, Status* read_error = nullptr,
                      const std::string& exchange = "", const std::string& symbol = "");

// CheckObject of a derived object.
FileCheck CheckDerivedObject(storage::ObjectStore* store, const std::string& name, const derive::DerivedSpec& spec,
                             const Date& day, const std::string& instrument_key, Status* read_error = nullptr,
                             const std::string& exchange = "", const std::string& symbol = "");

}  // namespace mt::validate
