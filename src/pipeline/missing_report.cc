#include "pipeline/missing_report.h"

#include "parquet/file_reader.h"
#include "parquet/file_writer.h"
#include "storage/layout.h"

namespace mt::pipeline {

namespace {
const char* const kStringColumns[] = {"date",          "data_type", "instrument_key", "tardis_exchange",
                                      "tardis_symbol", "status",    "reason",         "object_name"};
}  // namespace

std::vector<columnar::ColumnSpec> MissingReportSchema() {
  std::vector<columnar::ColumnSpec> s;
  for (const char* n : kStringColumns) s.push_back({n, columnar::ColumnKind::kString, false});
  s.push_back({"checked_at", columnar::ColumnKind::kTimestampMicros, false});
  return s;
}

Status WriteMissingReportRows(storage::ObjectStore* store, const Date& day, const std::vector<MissingReportRow>& rows,
                              int64_t checked_at, const std::string& created_by) {
  size_t i = 0;
  return WriteMissingReportRows(
      store, day,
      [&](MissingReportRow* r) {
        if (i == rows.size()) return false;
        *r = rows[i++];
        return true;
      },
      checked_at, created_by);
}

Status WriteMissingReportRows(storage::ObjectStore* store, const Date& day,
                              const std::function<bool(MissingReportRow*)>& next, int64_t checked_at,
                              const std::string& created_by) {
  const auto schema = MissingReportSchema();
  columnar::RowGroupData rg = columnar::MakeRowGroup(schema);
  MissingReportRow r;
  while (next(&r)) {
    const std::string* values[] = {nullptr,   &r.data_type, &r.instrument_key, &r.exchange,
                                   &r.symbol, &r.status,    &r.reason,         &r.object_name};
    rg.columns[0].str.Append(FormatDate(r.day));
    for (size_t c = 1; c < 8; c++) rg.columns[c].str.Append(*values[c]);
    rg.columns[8].i64.push_back(checked_at);
    rg.num_rows++;
  }
  const std::string name = store->layout().MissingReportObjectName(day);
  MT_ASSIGN_OR_RETURN(auto obj, store->Create(name, /*overwrite=*/true));
  parquet::WriterOptions wo;
  wo.created_by = created_by;
  const int64_t n = static_cast<int64_t>(rg.num_rows);
  parquet::FileWriter w(obj.get(), schema, wo);
  Status st = w.WriteRowGroup(std::move(rg));
  if (st.ok()) {
    st = w.Finish({{"report", "missing_data"}, {"date", FormatDate(day)}, {"row_count", std::to_string(n)}});
  }
  if (st.ok()) st = obj->Commit();
  if (!st.ok()) {
    obj->Abort();
    return st.WithContext("writing " + store->Describe(name));
  }
  return Status::OK();
}

Result<std::vector<MissingReportRow>> ReadMissingReportRows(storage::ObjectStore* store, const Date& day) {
  MT_ASSIGN_OR_RETURN(auto file, parquet::FileReader::Open(store, store->layout().MissingReportObjectName(day)));
  std::vector<parquet::ColumnValues> cols;
  for (const char* n : kStringColumns) {
    MT_ASSIGN_OR_RETURN(parquet::ColumnValues v, file->ReadColumn(std::string(n)));
    cols.push_back(std::move(v));
  }
  std::vector<MissingReportRow> out;
  for (size_t r = 0; r < cols[0].num_rows; r++) {
    auto d = ParseDate(cols[0].strings[r]);
    if (!d) return Status::InvalidInput(file->label() + ": row " + std::to_string(r) + " has a bad date");
    out.push_back(MissingReportRow{*d, cols[1].strings[r], cols[2].strings[r], cols[3].strings[r],
                                   cols[4].strings[r], cols[5].strings[r], cols[6].strings[r], cols[7].strings[r]});
  }
  return out;
}

}  // namespace mt::pipeline
