#include "parquet/column_data.h"

namespace mt::parquet {

RowGroupData MakeRowGroup(const std::vector<ColumnSpec>& schema,
                          const std::vector<bool>* plain_strings) {
  RowGroupData rg;
  rg.columns.reserve(schema.size());
  for (size_t i = 0; i < schema.size(); i++) {
    const bool plain = plain_strings && i < plain_strings->size() && (*plain_strings)[i];
    ColumnData c{.kind = schema[i].kind, .nullable = schema[i].nullable, .str = StringColumn(!plain)};
    rg.columns.push_back(std::move(c));
  }
  return rg;
}

}  // namespace mt::parquet
