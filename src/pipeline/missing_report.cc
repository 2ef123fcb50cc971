#include "pipeline/missing_report.h"

#include <algorithm>
#include <iterator>

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
                                 size_t row_group_rows, const MissingReportCheckedAt& checked_at_of,
                                 const int64_t* if_generation) {
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
        return checked_at_of ? checked_at_of(first, n, data->i64.data()) : Status::OK();
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
  MT_ASSIGN_OR_RETURN(auto reader, MissingReportReader::Open(store, day));
  std::vector<MissingReportRow> out, group;
  out.reserve(reader->rows());
  for (size_t g = 0; g < reader->row_groups(); g++) {
    MT_RETURN_IF_ERROR(reader->ReadRowGroup(g, &group));
    std::move(group.begin(), group.end(), std::back_inserter(out));
  }
  return out;
}

Result<std::unique_ptr<MissingReportReader>> MissingReportReader::Open(storage::ObjectStore* store, const Date& day) {
  MT_ASSIGN_OR_RETURN(auto file, parquet::FileReader::Open(store, store->layout().MissingReportObjectName(day)));
  return Open(std::move(file));
}

Result<std::unique_ptr<MissingReportReader>> MissingReportReader::Open(std::unique_ptr<parquet::FileReader> file) {
  std::unique_ptr<MissingReportReader> r(new MissingReportReader(std::move(file)));
  for (const char* n : kStringColumns) {
    const int leaf = r->file_->metadata().FindLeaf(n);
    if (leaf < 0) return Status::InvalidInput(r->file_->label() + ": no column '" + n + "'");
    r->leaves_.push_back(static_cast<size_t>(leaf));
  }
  const int checked = r->file_->metadata().FindLeaf("checked_at");
  if (checked < 0) return Status::InvalidInput(r->file_->label() + ": no column 'checked_at'");
  r->leaves_.push_back(static_cast<size_t>(checked));
  return r;
}

size_t MissingReportReader::rows() const { return static_cast<size_t>(file_->metadata().num_rows); }
size_t MissingReportReader::row_groups() const { return file_->metadata().row_groups.size(); }
const std::string& MissingReportReader::label() const { return file_->label(); }

Status MissingReportReader::ReadRowGroup(size_t g, std::vector<MissingReportRow>* out, bool ids_only) {
  out->clear();
  std::vector<parquet::ColumnValues> cols(std::size(kStringColumns));
  for (size_t c = 0; c < cols.size(); c++) {
    if (ids_only && c > 4) continue;
    MT_ASSIGN_OR_RETURN(cols[c], file_->ReadColumn(g, leaves_[c]));
  }
  const size_t n = cols[0].num_rows;
  for (size_t c = 0; c < cols.size(); c++) {
    if (ids_only && c > 4) continue;
    if (cols[c].strings.size() != n) {
      return Status::InvalidInput(file_->label() + ": column " + kStringColumns[c] + " is not one string per row");
    }
  }
  parquet::ColumnValues checked;
  if (!ids_only) {
    MT_ASSIGN_OR_RETURN(checked, file_->ReadColumn(g, leaves_.back()));
    if (checked.ints.size() != n) {
      return Status::InvalidInput(file_->label() + ": column checked_at is not one timestamp per row");
    }
  }
  out->reserve(n);
  for (size_t r = 0; r < n; r++) {
    auto d = ParseDate(cols[0].strings[r]);
    if (!d) return Status::InvalidInput(file_->label() + ": row " + std::to_string(r) + " of row group " +
                                        std::to_string(g) + " has a bad date");
    MissingReportRow row;
    row.day = *d;
    row.data_type = std::move(cols[1].strings[r]);
    row.instrument_key = std::move(cols[2].strings[r]);
    row.exchange = std::move(cols[3].strings[r]);
    row.symbol = std::move(cols[4].strings[r]);
    if (!ids_only) {
      row.status = std::move(cols[5].strings[r]);
      row.reason = std::move(cols[6].strings[r]);
      row.object_name = std::move(cols[7].strings[r]);
      row.checked_at = checked.ints[r];
    }
    out->push_back(std::move(row));
  }
  return Status::OK();
}

}  // namespace mt::pipeline
