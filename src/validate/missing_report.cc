#include "validate/missing_report.h"

#include "parquet/file_reader.h"
#include "parquet/file_writer.h"
#include "storage/layout.h"

namespace mt::validate {

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

Status WriteMissingReport(storage::ObjectStore* store, const Date& day, const std::vector<const ItemResult*>& items,
                          int64_t checked_at, const std::string& created_by) {
  const auto schema = MissingReportSchema();
  columnar::RowGroupData rg = columnar::MakeRowGroup(schema);
  for (const ItemResult* r : items) {
    if (!IsProblem(r->status) && r->status != ItemStatus::kNotAvailable) continue;
    const std::string values[] = {FormatDate(r->item.day), r->item.data_type, r->item.instrument_key,
                                  r->item.exchange,        r->item.symbol,    StatusName(r->status),
                                  r->reason,               r->object};
    for (size_t c = 0; c < 8; c++) rg.columns[c].str.Append(values[c]);
    rg.columns[8].i64.push_back(checked_at);
    rg.num_rows++;
  }
  const std::string name = storage::MissingReportObjectName(day);
  MT_ASSIGN_OR_RETURN(auto obj, store->Create(name, /*overwrite=*/true));
  parquet::WriterOptions wo;
  wo.created_by = created_by;
  const int64_t rows = static_cast<int64_t>(rg.num_rows);
  parquet::FileWriter w(obj.get(), schema, wo);
  Status st = w.WriteRowGroup(std::move(rg));
  if (st.ok()) {
    st = w.Finish({{"report", "missing_data"}, {"date", FormatDate(day)}, {"row_count", std::to_string(rows)}});
  }
  if (st.ok()) st = obj->Commit();
  if (!st.ok()) {
    obj->Abort();
    return st.WithContext("writing " + store->Describe(name));
  }
  return Status::OK();
}

Result<std::vector<ReportedItem>> ReadMissingReport(storage::ObjectStore* store, const Date& day) {
  MT_ASSIGN_OR_RETURN(auto file, parquet::FileReader::Open(store, storage::MissingReportObjectName(day)));
  std::vector<parquet::ColumnValues> cols;
  for (const char* n : kStringColumns) {
    MT_ASSIGN_OR_RETURN(parquet::ColumnValues v, file->ReadColumn(std::string(n)));
    cols.push_back(std::move(v));
  }
  std::vector<ReportedItem> out;
  for (size_t r = 0; r < cols[0].num_rows; r++) {
    ReportedItem it;
    auto d = ParseDate(cols[0].strings[r]);
    if (!d) return Status::InvalidInput(file->label() + ": row " + std::to_string(r) + " has a bad date");
    it.item = ExpectedItem{*d, cols[1].strings[r], cols[2].strings[r], cols[3].strings[r], cols[4].strings[r]};
    const std::string& st = cols[5].strings[r];
    it.status = st == "corrupt"         ? ItemStatus::kCorrupt
                : st == "not_available" ? ItemStatus::kNotAvailable
                                        : ItemStatus::kMissing;
    it.reason = cols[6].strings[r];
    out.push_back(std::move(it));
  }
  return out;
}

}  // namespace mt::validate
