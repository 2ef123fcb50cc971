// One table per Tardis data type drives the CSV parser, the Parquet writer
// and docs/SCHEMAS.md. Column order is Tardis' CSV order.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "columnar/column_data.h"

namespace mt::tardis {

struct Column {
  std::string csv_name;      // header name in the Tardis CSV
  std::string parquet_name;  // output column name
  columnar::ColumnKind kind;
  bool nullable;
  std::string doc;           // one line for docs/SCHEMAS.md
};

struct DataTypeSchema {
  std::string name;  // trades, incremental_book_L2, ...
  std::vector<Column> columns;
  // One file holds many instruments (options_chain: one file per
  // underlying), so each row's `instrument_key` is its own instrument's key
  // (VENUE:OPTION:...), not the file's (VENUE:OPTIONS:...).
  bool row_keys = false;

  // The parsed columns (CSV order): what the CSV parser fills.
  std::vector<columnar::ColumnSpec> ParquetSchema() const;
  // The columns of the files written: ParquetSchema() plus `instrument_key`
  // (nullable string, not in the CSV) at kInstrumentKeyColumn, right after
  // `symbol`: every tick file names its instrument in its rows, so nothing is
  // lost when files are renamed, moved or read through a glob. Files written
  // before the column existed have ParquetSchema() (validate accepts both).
  std::vector<columnar::ColumnSpec> OutputSchema() const;
  // Output columns for docs: columns plus the instrument_key column.
  std::vector<Column> OutputColumns() const;
  std::string CsvHeader() const;  // comma-joined csv_names
};

// Every data type's columns start with exchange and symbol.
inline constexpr size_t kExchangeColumn = 0;
inline constexpr size_t kSymbolColumn = 1;
inline constexpr size_t kInstrumentKeyColumn = 2;  // after exchange, symbol

// Inserts the instrument_key column of a file of one instrument into `rg`
// (rows of ParquetSchema() columns) at kInstrumentKeyColumn: `key` in every
// row, null when empty (rows kept without a key). One dictionary entry and
// a row count (StringColumn's constant run): the writer stores it as one
// dictionary value and one RLE run per page, whatever the row count.
void InsertFileKeyColumn(columnar::RowGroupData* rg, std::string_view key);

// Every supported data type, in a stable order.
const std::vector<DataTypeSchema>& AllSchemas();
const DataTypeSchema* FindSchema(std::string_view data_type);
// Every schema whose CSV header equals `header` exactly (no trailing CR). A header does not always
// name its data type: liquidations share the trades header and book_ticker
// the quotes header, so the type comes from the file name or work item and
// the header only confirms it.
std::vector<const DataTypeSchema*> SchemasForHeader(std::string_view header);
// Comma-separated list of supported data type names, for messages.
std::string SupportedDataTypes();

}  // namespace mt::tardis
