// Work items that re-download exactly what missing-data reports list
// (`download --from-report`): the missing and corrupt items of
// missing_data_reports/by_date/day-D/missing_data.parquet for each day of
// the range, filtered by exchanges and data types; not the not_available
// ones (the source has no file). Corrupt objects exist, so the download
// must overwrite them (force).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/plan.h"
#include "storage/object_store.h"

namespace mt::validate {

struct ReportPlan {
  std::vector<pipeline::WorkItem> items;  // sorted, unique
  size_t missing = 0, corrupt = 0;
  size_t not_available = 0;  // listed, not planned: the source has no file
  std::vector<Date> days_without_report;  // never validated: nothing to take from them
};

// REQUIRES: from <= to. Empty filters select everything.
Result<ReportPlan> PlanFromReports(storage::ObjectStore* store, const Date& from, const Date& to,
                                   const std::vector<std::string>& exchanges,
                                   const std::vector<std::string>& data_types);

}  // namespace mt::validate
