// Plans from missing-data reports (`download --from-report`).
#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pipeline/missing_report.h"
#include "pipeline/plan.h"
#include "tardis/instrument_key.h"
#include "tardis/schema.h"

namespace mt::pipeline {

Result<ReportPlan> PlanFromReports(storage::ObjectStore* store, const Date& from, const Date& to,
                                   const std::vector<std::string>& exchanges,
                                   const std::vector<std::string>& data_types) {
  auto keep = [](const std::vector<std::string>& filter, const std::string& v) {
    return filter.empty() || std::find(filter.begin(), filter.end(), v) != filter.end();
  };
  ReportPlan plan;
  // A report is read a row group at a time, and an item is listed once
  // however many of its rows there are (a grouped file's missing objects
  // are one item): what is held grows with the items, not the rows.
  std::set<std::string> listed;  // Id() of plan.items
  std::vector<MissingReportRow> rows;
  for (Date d = from; d <= to; d = AddDays(d, 1)) {
    auto reader = MissingReportReader::Open(store, d);
    if (!reader.ok()) {
      if (reader.status().code() == Status::Code::kNotFound) {
        plan.days_without_report.push_back(d);
        continue;
      }
      return reader.status();
    }
    for (size_t g = 0; g < (*reader)->row_groups(); g++) {
      MT_RETURN_IF_ERROR((*reader)->ReadRowGroup(g, &rows));
      for (const MissingReportRow& r : rows) {
        // The source answered 404: asking again every round cannot help.
        if (r.status == "not_available") {
          plan.not_available++;
          continue;
        }
        if (!keep(exchanges, r.exchange)) continue;
        // A derived item's row: its source item, its name (a derived name
        // is never a Tardis data type's).
        std::optional<derive::DerivedSpec> spec;
        if (!tardis::FindSchema(r.data_type)) {
          if (auto d = derive::ParseDerivedName(r.data_type); d.ok()) spec = std::move(*d);
        }
        if (!keep(data_types, r.data_type) && !(spec && keep(data_types, spec->source_data_type()))) continue;
        // A derived row keeps its instrument key (its source's object); a raw
        // row's item is keyed as download keys it.
        WorkItem item{r.day, spec ? spec->source_data_type() : r.data_type, r.exchange, r.symbol,
                      spec ? r.instrument_key : std::string()};
        if (r.status == "corrupt") {
          plan.replace.insert(item.Id());
          if (spec) plan.replace_series.insert(DerivedSeriesId(item, item.instrument_key, spec->name));
        } else if (!spec && tardis::IsGroupedSymbol(item.symbol)) {
          plan.recheck.insert(item.Id());
        }
        if (spec && std::none_of(plan.derived.begin(), plan.derived.end(),
                                 [&](const derive::DerivedSpec& d) { return d.name == spec->name; })) {
          plan.derived.push_back(*spec);
        }
        if (spec) plan.derived_items.push_back(DerivedItem{item, spec->name});
        if (listed.insert(item.Id()).second) plan.items.push_back(std::move(item));
        (r.status == "corrupt" ? plan.corrupt : r.status == "no_data_incident" ? plan.incident : plan.missing)++;
      }
    }
  }
  std::sort(plan.items.begin(), plan.items.end());
  plan.items.erase(std::unique(plan.items.begin(), plan.items.end()), plan.items.end());
  std::sort(plan.derived.begin(), plan.derived.end(),
            [](const derive::DerivedSpec& a, const derive::DerivedSpec& b) { return a.name < b.name; });
  return plan;
}

}  // namespace mt::pipeline
