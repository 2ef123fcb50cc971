// `market-tick derive`: flags into pipeline/derive_job.h's options, one
// call, each item's objects printed as it ends.
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "pipeline/derive_job.h"
#include "storage/open_store.h"

namespace mt::cli {

namespace {

// stdout, as each item ends: OUTCOME<TAB>ITEM<TAB>OBJECT per object written,
// and OUTCOME<TAB>ITEM<TAB>- for an item without a raw object (missing, or
// not_available when download recorded the source's 404). A grouped item
// some of whose objects are gone is missing, after a done line for each
// series of the others that it wrote.
void PrintDerived(const pipeline::ItemResult& r) {
  using pipeline::Outcome;
  if (r.outcome == Outcome::kDone || r.outcome == Outcome::kNoData || r.outcome == Outcome::kMissing) {
    const char* outcome = pipeline::OutcomeName(r.outcome == Outcome::kMissing ? Outcome::kDone : r.outcome);
    for (const auto& o : r.objects) std::printf("%s\t%s\t%s\n", outcome, r.item.Id().c_str(), o.c_str());
  }
  if (r.outcome == Outcome::kMissing || r.outcome == Outcome::kNotAvailable) {
    std::printf("%s\t%s\t-\n", pipeline::OutcomeName(r.outcome), r.item.Id().c_str());
  }
  FlushResultLines();
}

}  // namespace

int RunDerive(const ParsedArgs& args, Context& ctx) {
  auto fail = [](const Status& st) { return FailWith("derive", st); };
  auto options = DeriveOptionsFromArgs(args, ctx);
  if (!options.ok()) return fail(options.status());
  auto store = storage::OpenDataStore(options->output, options->store);
  if (!store.ok()) return fail(store.status());
  options->job.on_item = PrintDerived;
  auto report = pipeline::RunDeriveJob(store->get(), std::move(options->job));
  if (!report.ok()) return fail(report.status());
  return ExitCodeFor(report->status);
}

}  // namespace mt::cli
