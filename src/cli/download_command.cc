// `market-tick download` and `market-tick plan`: flags into the options of
// pipeline/download_job.h, one call, the report printed.
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "pipeline/download_job.h"
#include "storage/open_store.h"

namespace mt::cli {

namespace {

// stdout, as each item ends (a pipeline can follow the run):
// OUTCOME<TAB>ITEM<TAB>OBJECT per object written, and the source's 404s
// (a result: recorded, validate reports them as not_available).
void PrintOutcome(const pipeline::ItemResult& r) {
  if (r.outcome == pipeline::Outcome::kDone || r.outcome == pipeline::Outcome::kNoData) {
    for (const auto& o : r.objects) {
      std::printf("%s\t%s\t%s\n", pipeline::OutcomeName(r.outcome), r.item.Id().c_str(), o.c_str());
    }
  } else if (r.outcome == pipeline::Outcome::kNotAvailable) {
    std::printf("%s\t%s\t-\n", pipeline::OutcomeName(r.outcome), r.item.Id().c_str());
  }
  FlushResultLines();
}

}  // namespace

int RunPlan(const ParsedArgs& args, Context& ctx) {
  auto options = PlanOptionsFromArgs(args, ctx);
  if (!options.ok()) return FailWith("plan", options.status());
  // A store that cannot be opened is an error only where definitions are
  // needed (no --symbols); else the job warns and pairs by symbol rules.
  auto store = storage::OpenDataStore(options->output, options->store);
  // A --layout the store's record contradicts is a usage error either way.
  if (!store.ok() && (options->job.request.symbols.empty() || store.status().code() == Status::Code::kUsage)) {
    return FailWith("plan", store.status());
  }
  if (!store.ok()) options->job.source.store_error = store.status();
  auto report = pipeline::RunPlanJob(store.ok() ? store->get() : nullptr, options->job);
  if (!report.ok()) return FailWith("plan", report.status());
  if (options->json) {
    report->WriteJson(stdout);
  } else {
    report->WriteTable(stdout);
  }
  return kExitOk;
}

int RunDownload(const ParsedArgs& args, Context& ctx) {
  // An early failure's exit code comes from its Status (ExitCodeFor): a bad
  // flag is 2, a store or token endpoint that did not answer 3.
  auto fail = [](const Status& st) { return FailWith("download", st); };
  auto options = DownloadOptionsFromArgs(args, ctx);
  if (!options.ok()) return fail(options.status());
  auto out = storage::OpenDataStore(options->output, options->store);
  if (!out.ok()) return fail(out.status());
  pipeline::DownloadJobOptions& job = options->job;
  job.on_item = PrintOutcome;
  const std::string datasets_url = job.download.datasets_url;
  const bool dry_run = job.dry_run;
  auto report = pipeline::RunDownloadJob(out->get(), std::move(job));
  if (!report.ok()) return fail(report.status());
  if (dry_run) {
    for (const auto& it : report->items) std::printf("%s\n", pipeline::DatasetUrl(datasets_url, it).c_str());
    // Derived items after the URLs, tab-separated so a pipeline reading URLs
    // can tell them apart: derived<TAB>ITEM_ID<TAB>SOURCE_ITEM_ID.
    for (const auto& d : report->derived) {
      std::printf("derived\t%s\t%s\n", d.Id().c_str(), d.source.Id().c_str());
    }
    std::fprintf(stderr, "%zu items%s (dry run: nothing downloaded)\n", report->items.size(),
                 report->derived.empty() ? "" : (" and " + std::to_string(report->derived.size()) + " derived items").c_str());
    if (report->estimate) report->estimate->WriteText(stderr);
    return kExitOk;
  }
  return ExitCodeFor(report->status);
}

}  // namespace mt::cli
