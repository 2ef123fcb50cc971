#include "validate/missing_report.h"

namespace mt::validate {

Status WriteMissingReport(storage::ObjectStore* store, const Date& day, const ItemResults& items,
                          const std::vector<size_t>& indexes, int64_t checked_at, const std::string& created_by) {
  size_t k = 0;
  auto next = [&](pipeline::MissingReportRow* row) {
    while (k < indexes.size() && !IsReported(items.status(indexes[k]))) k++;
    if (k == indexes.size()) return false;
    ItemResult r = items[indexes[k++]];
    *row = pipeline::MissingReportRow{r.item.day,
                                      std::move(r.item.data_type),
                                      std::move(r.item.instrument_key),
                                      std::move(r.item.exchange),
                                      std::move(r.item.symbol),
                                      StatusName(r.status),
                                      std::move(r.reason),
                                      std::move(r.object)};
    return true;
  };
  return pipeline::WriteMissingReportRows(store, day, next, checked_at, created_by);
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
