// The work items download runs and plan prints, from whichever source the
// request names.
#include "core/log.h"
#include "pipeline/plan.h"
#include "tardis/instrument_key.h"

namespace mt::pipeline {

Result<ReportPlan> PlanFromRequestReports(storage::ObjectStore* store, const PlanRequest& req, bool typed) {
  MT_RETURN_IF_ERROR(CheckExchanges(req.exchanges));
  auto rp = PlanFromReports(store, req.from, req.to, req.exchanges,
                            typed ? req.data_types : std::vector<std::string>());
  if (!rp.ok()) return rp.status().WithContext("--from-report");
  std::vector<std::pair<Date, std::string>> unreported;
  for (const Date& d : rp->days_without_report) unreported.emplace_back(d, "");
  const std::vector<DayRun> runs = CollapseDays(unreported);
  // No day of the range validated (another --output, other days): a rerun
  // cannot change that, and "nothing to do" would read as a store complete.
  if (!runs.empty() && runs.front().from == req.from && runs.front().to == req.to) {
    return Status::Usage("--from-report: no missing-data report for " + runs.front().Days() + " in " +
                         store->Describe(store->layout().MissingReportsPrefix()) +
                         ": run market-tick validate for these days (with this --output) first");
  }
  for (const DayRun& run : runs) {
    log::Warn("--from-report: " + run.Days() + " " + (run.days > 1 ? "have" : "has") +
              " no missing-data report (run market-tick validate first)");
  }
  log::Info("--from-report: " + std::to_string(rp->missing) + " missing and " + std::to_string(rp->corrupt) +
            " corrupt items (" + std::to_string(rp->not_available) +
            " not available at the source are not asked for again)");
  if (rp->incident > 0) {
    log::Info("--from-report: " + std::to_string(rp->incident) +
              " no_data_incident items asked for once more (a Tardis incident may cover part of the day)");
  }
  return rp;
}

namespace {

Result<std::vector<WorkItem>> FromDefinitions(storage::ObjectStore* store, const PlanRequest& req) {
  MT_ASSIGN_OR_RETURN(DefinitionsPlan plan, PlanFromDefinitions(store, req));
  // An exchange asked for by name that no instruments run wrote into the
  // days' definitions would plan nothing and end "done" (exit 0) on every
  // fleet task: a step not taken (instruments for it), so a usage error.
  if (!plan.exchanges_without_instruments.empty() && plan.definition_problems.empty()) {
    std::string msg;
    for (const std::string& e : plan.exchanges_without_instruments) msg += (msg.empty() ? "" : "; ") + e;
    const bool many = plan.exchanges_without_instruments.size() > 1;
    const std::string them = many ? "them" : "it";
    return Status::Usage(msg + " (no item of " + (many ? "these exchanges" : "this exchange") +
                         " is planned, so nothing of " + them + " would be downloaded; or leave " + them +
                         " out of --exchanges)");
  }
  for (const auto& n : plan.notes) log::Warn(n);
  if (!plan.definition_problems.empty()) {
    // The first run of days with one problem (a month without definitions
    // is one message, not thirty).
    const DayRun first = CollapseDays(plan.definition_problems).front();
    const bool absent = first.text.rfind("no instrument definitions", 0) == 0;
    // Absent definitions are a step not taken (or another --output): a
    // usage error, which no rerun alone fixes; an unreadable file is data.
    // A file that is there but unreadable is replaced only with --force
    // (instruments refuses to merge into it otherwise): the hint says so.
    std::string msg = "no instrument definitions for " + first.Days() + (absent ? "" : " (" + first.text + ")") +
                      ": run `market-tick instruments --from " + FormatDate(req.from) + " --to " + FormatDate(req.to) +
                      (absent ? "` first, or name --symbols" : " --force` to replace it, or name --symbols");
    return absent ? Status::Usage(std::move(msg)) : Status::NotFound(std::move(msg));
  }
  return UniqueFiles(std::move(plan.items));
}

}  // namespace

Result<std::vector<WorkItem>> PlanWorkItems(storage::ObjectStore* store, PlanRequest req,
                                            const WorkPlanOptions& options) {
  if (options.from_report) {
    MT_ASSIGN_OR_RETURN(ReportPlan rp, PlanFromRequestReports(store, req, options.report_data_types));
    return std::move(rp.items);
  }
  if (req.symbols.empty()) return FromDefinitions(store, req);
  // Definitions (when the store has them) say which exchange has a bare
  // symbol.
  KnownSymbols known;
  Status st = store ? LoadKnownSymbolsFor(store, &req, &known) : options.store_error;
  if (!st.ok()) {
    // A pin of a venue without a symbol rule has no key but the definitions,
    // and an instrument key no instrument but theirs: a store that could not
    // be read is its error (retryable or not as the
    // store says), not "the store lists none of its instruments".
    if (!options.definitions_optional || PinsAVenueWithoutARule(req.symbols) ||
        std::any_of(req.symbols.begin(), req.symbols.end(), IsKeyForm)) {
      return st.WithContext("reading instrument definitions");
    }
    log::Warn("instrument definitions not read (" + st.message() + "); pairing symbols by symbol rules");
  }
  return BuildPlan(req);
}

std::string DerivedItem::Id() const {
  return FormatDate(source.day) + "/" + name + "/" + source.exchange + "/" + source.symbol;
}

std::vector<DerivedItem> DerivedItems(const std::vector<WorkItem>& items,
                                      const std::vector<derive::DerivedSpec>& specs) {
  std::vector<DerivedItem> out;
  if (specs.empty()) return out;
  for (const WorkItem& it : items) {
    if (tardis::IsGroupedSymbol(it.symbol)) continue;
    for (const derive::DerivedSpec& s : specs) {
      if (s.source_data_type() == it.data_type) out.push_back(DerivedItem{it, s.name});
    }
  }
  return out;
}

}  // namespace mt::pipeline
