#include "validate/report_plan.h"

#include <algorithm>

#include "validate/missing_report.h"

namespace mt::validate {

Result<ReportPlan> PlanFromReports(storage::ObjectStore* store, const Date& from, const Date& to,
                                   const std::vector<std::string>& exchanges,
                                   const std::vector<std::string>& data_types) {
  auto keep = [](const std::vector<std::string>& filter, const std::string& v) {
    return filter.empty() || std::find(filter.begin(), filter.end(), v) != filter.end();
  };
  ReportPlan plan;
  for (Date d = from; d <= to; d = AddDays(d, 1)) {
    auto items = ReadMissingReport(store, d);
    if (!items.ok()) {
      if (items.status().code() == Status::Code::kNotFound) {
        plan.days_without_report.push_back(d);
        continue;
      }
      return items.status();
    }
    for (const ReportedItem& r : *items) {
      // The source answered 404: asking again every round cannot help.
      if (r.status == ItemStatus::kNotAvailable) {
        plan.not_available++;
        continue;
      }
      if (!keep(exchanges, r.item.exchange) || !keep(data_types, r.item.data_type)) continue;
      plan.items.push_back(pipeline::WorkItem{r.item.day, r.item.data_type, r.item.exchange, r.item.symbol});
      (r.status == ItemStatus::kCorrupt ? plan.corrupt : plan.missing)++;
    }
  }
  std::sort(plan.items.begin(), plan.items.end());
  plan.items.erase(std::unique(plan.items.begin(), plan.items.end()), plan.items.end());
  return plan;
}

}  // namespace mt::validate
