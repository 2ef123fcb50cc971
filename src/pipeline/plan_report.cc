// Plans from missing-data reports (`download --from-report`).
#include <algorithm>

#include "pipeline/missing_report.h"
#include "pipeline/plan.h"

namespace mt::pipeline {

Result<ReportPlan> PlanFromReports(storage::ObjectStore* store, const Date& from, const Date& to,
                                   const std::vector<std::string>& exchanges,
                                   const std::vector<std::string>& data_types) {
  auto keep = [](const std::vector<std::string>& filter, const std::string& v) {
    return filter.empty() || std::find(filter.begin(), filter.end(), v) != filter.end();
  };
  ReportPlan plan;
  for (Date d = from; d <= to; d = AddDays(d, 1)) {
    auto rows = ReadMissingReportRows(store, d);
    if (!rows.ok()) {
      if (rows.status().code() == Status::Code::kNotFound) {
        plan.days_without_report.push_back(d);
        continue;
      }
      return rows.status();
    }
    for (const MissingReportRow& r : *rows) {
      // The source answered 404: asking again every round cannot help.
      if (r.status == "not_available") {
        plan.not_available++;
        continue;
      }
      if (!keep(exchanges, r.exchange) || !keep(data_types, r.data_type)) continue;
      plan.items.push_back(WorkItem{r.day, r.data_type, r.exchange, r.symbol, {}});
      (r.status == "corrupt" ? plan.corrupt : plan.missing)++;
    }
  }
  std::sort(plan.items.begin(), plan.items.end());
  plan.items.erase(std::unique(plan.items.begin(), plan.items.end()), plan.items.end());
  return plan;
}

}  // namespace mt::pipeline
