// One table per Tardis data type drives the CSV parser, the Parquet writer
// and docs/SCHEMAS.md. Column order is Tardis' CSV order.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parquet/column_data.h"

namespace mt::tardis {

struct Column {
  std::string csv_name;      // header name in the Tardis CSV
  std::string parquet_name;  // output column name
  parquet::ColumnKind kind;
  bool nullable;
  std::string doc;           // one line for docs/SCHEMAS.md
};

struct DataTypeSchema {
  std::string name;  // trades, incremental_book_L2, ...
  std::vector<Column> columns;

  std::vector<parquet::ColumnSpec> ParquetSchema() const;
  std::string CsvHeader() const;  // comma-joined csv_names
};

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
