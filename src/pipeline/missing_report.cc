#include "pipeline/missing_report.h"

#include <algorithm>

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
  auto column = [&rows](size_t c, size_t first, size_t n, const std::function<void(std::string_view)>& append) {
    for (size_t i = first; i < first + n; i++) {
      const MissingReportRow& r = rows[i];
      const std::string* values[] = {nullptr,   &r.data_type, &r.instrument_key, &r.exchange,
                                     &r.symbol, &r.status,    &r.reason,         &r.object_name};
      append(c == 0 ? std::string_view(FormatDate(r.day)) : std::string_view(*values[c]));
    }
    return Status::OK();
  };
  return WriteMissingReportColumns(store, day, rows.size(), column, checked_at, created_by);
}

Status WriteMissingReportColumns(storage::ObjectStore* store, const Date& day, size_t rows,
                                 const MissingReportColumn& column, int64_t checked_at, const std::string& created_by,
                                 size_t row_group_rows, const std::vector<int64_t>* tail_checked_at,
                                 const int64_t* if_generation) {
  const size_t tail = tail_checked_at ? tail_checked_at->size() : 0;
  if (tail > rows) return Status::Internal("missing-data report: more earlier rows than rows");
  const auto schema = MissingReportSchema();
  const std::string name = store->layout().MissingReportObjectName(day);
  MT_ASSIGN_OR_RETURN(auto obj, if_generation ? store->CreateIfGeneration(name, *if_generation)
                                              : store->Create(name, /*overwrite=*/true));
  parquet::WriterOptions wo;
  wo.created_by = created_by;
  parquet::FileWriter w(obj.get(), schema, wo);
  Status st;
  for (size_t first = 0; st.ok() && first < rows; first += row_group_rows) {
    const size_t n = std::min(row_group_rows, rows - first);
    st = w.WriteRowGroupByColumn(n, [&](size_t c, columnar::ColumnData* data) {
      if (c == 8) {  // checked_at
        data->i64.assign(n, checked_at);
        for (size_t r = std::max(first, rows - tail); r < first + n; r++) {
          data->i64[r - first] = (*tail_checked_at)[r - (rows - tail)];
        }
        return Status::OK();
      }
      // The column's text is measured first: once the column turns plain
      // (its values too distinct for a dictionary) it takes its whole room
      // at once, not in doublings that leave the smaller buffers behind.
      size_t bytes = 0, given = 0;
      MT_RETURN_IF_ERROR(column(c, first, n, [&](std::string_view v) { bytes += v.size(); }));
      bool reserved = false;
      MT_RETURN_IF_ERROR(column(c, first, n, [&](std::string_view v) {
        data->str.Append(v);
        given++;
        if (!reserved && !data->str.dict_mode()) {
          data->str.Reserve(n, bytes);
          reserved = true;
        }
      }));
      if (given != n) {
        return Status::Internal("missing-data report: column " + std::to_string(c) + " has " +
                                std::to_string(given) + " rows of " + std::to_string(n) + " from row " +
                                std::to_string(first));
      }
      return Status::OK();
    });
  }
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

Result<std::vector<MissingReportRow>> ReadMissingReportRows(storage::ObjectStore* store, const Date& day) {
  MT_ASSIGN_OR_RETURN(auto file, parquet::FileReader::Open(store, store->layout().MissingReportObjectName(day)));
  return ReadMissingReportRows(*file);
}

Result<std::vector<MissingReportRow>> ReadMissingReportRows(parquet::FileReader& f) {
  parquet::FileReader* file = &f;
  std::vector<parquet::ColumnValues> cols;
  for (const char* n : kStringColumns) {
    MT_ASSIGN_OR_RETURN(parquet::ColumnValues v, file->ReadColumn(std::string(n)));
    cols.push_back(std::move(v));
  }
  MT_ASSIGN_OR_RETURN(parquet::ColumnValues checked, file->ReadColumn("checked_at"));
  if (checked.ints.size() != cols[0].num_rows) {
    return Status::InvalidInput(file->label() + ": column checked_at is not one timestamp per row");
  }
  std::vector<MissingReportRow> out;
  for (size_t r = 0; r < cols[0].num_rows; r++) {
    auto d = ParseDate(cols[0].strings[r]);
    if (!d) return Status::InvalidInput(file->label() + ": row " + std::to_string(r) + " has a bad date");
    out.push_back(MissingReportRow{*d, cols[1].strings[r], cols[2].strings[r], cols[3].strings[r], cols[4].strings[r],
                                   cols[5].strings[r], cols[6].strings[r], cols[7].strings[r], checked.ints[r]});
  }
  return out;
}

}  // namespace mt::pipeline
