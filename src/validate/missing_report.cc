#include "validate/missing_report.h"

namespace mt::validate {

Status WriteMissingReport(storage::ObjectStore* store, const Date& day, const std::vector<const ItemResult*>& items,
                          int64_t checked_at, const std::string& created_by) {
  std::vector<pipeline::MissingReportRow> rows;
  for (const ItemResult* r : items) {
    if (!IsReported(r->status)) continue;
    rows.push_back(pipeline::MissingReportRow{r->item.day, r->item.data_type, r->item.instrument_key,
                                              r->item.exchange, r->item.symbol, StatusName(r->status), r->reason,
                                              r->object});
  }
  return pipeline::WriteMissingReportRows(store, day, rows, checked_at, created_by);
}

Result<std::vector<ReportedItem>> ReadMissingReport(storage::ObjectStore* store, const Date& day) {
  MT_ASSIGN_OR_RETURN(std::vector<pipeline::MissingReportRow> rows, pipeline::ReadMissingReportRows(store, day));
  std::vector<ReportedItem> out;
  out.reserve(rows.size());
  for (auto& r : rows) {
    ReportedItem it;
    it.item = ExpectedItem{r.day, std::move(r.data_type), std::move(r.instrument_key), std::move(r.exchange),
                           std::move(r.symbol)};
    it.status = r.status == "corrupt"         ? ItemStatus::kCorrupt
                : r.status == "not_available" ? ItemStatus::kNotAvailable
                : r.status == "no_data_incident" ? ItemStatus::kNoDataIncident
                                              : ItemStatus::kMissing;
    it.reason = std::move(r.reason);
    out.push_back(std::move(it));
  }
  return out;
}

}  // namespace mt::validate
