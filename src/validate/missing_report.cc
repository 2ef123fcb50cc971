#include "validate/missing_report.h"

#include <cstdint>
#include <vector>

namespace mt::validate {

Status WriteMissingReport(storage::ObjectStore* store, const Date& day, const ItemResults& items, size_t begin,
                          size_t end, int64_t checked_at, const std::string& created_by) {
  auto in_report = [&](size_t i) { return IsReported(items.status(i)) && items.day(i) == day; };
  // A failed read of the results (sticky once set) makes the rows zeros:
  // an empty or partial report that would replace a correct one, and that
  // download --from-report would plan nothing from. Checked after every
  // read of them, so nothing is committed once one failed.
  auto results_read = [&items, &day]() {
    if (items.io_status().ok()) return Status::OK();
    return items.io_status().WithContext("missing-data report of " + FormatDate(day) +
                                         " not written: the results of the checks");
  };
  MT_RETURN_IF_ERROR(results_read());
  size_t rows = 0;
  for (size_t i = begin; i < end; i++) rows += in_report(i);
  MT_RETURN_IF_ERROR(results_read());
  // Row groups come in order and each asks for its rows once per column:
  // the items of a row group are found once (from where the previous one
  // ended), and each column reads only those.
  std::vector<uint32_t> group;  // item indexes of the row group's rows
  size_t group_first = SIZE_MAX, next_item = begin;
  std::string object;
  auto column = [&](size_t c, size_t first, size_t n, const std::function<void(std::string_view)>& append) {
    if (first != group_first) {
      group.clear();
      for (; next_item < end && group.size() < n; next_item++) {
        if (in_report(next_item)) group.push_back(static_cast<uint32_t>(next_item));
      }
      group_first = first;
    }
    for (const size_t i : group) {
      switch (c) {
        case 0: append(FormatDate(items.day(i))); break;
        case 1: append(items.data_type(i)); break;
        case 2: append(items.instrument_key(i)); break;
        case 3: append(items.exchange(i)); break;
        case 4: append(items.symbol(i)); break;
        case 5: append(StatusName(items.status(i))); break;
        case 6: append(items.reason(i)); break;
        default: items.Object(i, &object); append(object);
      }
    }
    return results_read();
  };
  return pipeline::WriteMissingReportColumns(store, day, rows, column, checked_at, created_by);
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
