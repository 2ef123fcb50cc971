// `market-tick validate`: flags into validate/validate_job.h's options, one
// call, the report printed. Exit 0 when nothing expected is missing or
// corrupt, 1 otherwise (docs/VALIDATE.md).
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "validate/validate_job.h"

namespace mt::cli {

int RunValidate(const ParsedArgs& args, Context& ctx) {
  auto fail = [](const Status& st) { return FailWith("validate", st); };
  auto options = ValidateOptionsFromArgs(args, ctx);
  if (!options.ok()) return fail(options.status());
  auto store = storage::OpenDataStore(options->output, options->store);
  if (!store.ok()) return fail(store.status());
  // The missing-data reports go into the store: one that cannot be written
  // (a read-only mount, no permission, a file where the folder goes) is a
  // configuration error found before the checks, not a failed report after
  // them (exit 1, as if data were bad); --read-only writes none.
  if (!options->job.read_only) {
    if (const Status st = (*store)->CheckWritable(); !st.ok()) {
      if (st.code() != Status::Code::kUsage) return fail(st);
      return fail(Status::Usage(st.message() +
                                "; validate writes its missing-data reports there: --read-only checks the store "
                                "without writing them"));
    }
  }
  std::unique_ptr<storage::GcsStore> report_store;
  if (!options->report_bucket.empty()) {
    auto opened = storage::OpenGcsStore(options->report_bucket, options->store.gcs);
    if (!opened.ok()) return fail(opened.status().WithContext("--report " + options->job.report_path));
    report_store = std::move(*opened);
    options->job.report_store = report_store.get();
  }
  auto report = validate::RunValidateJob(store->get(), options->job);
  if (!report.ok()) return fail(report.status());
  std::fputs(report->text.c_str(), stdout);
  std::fflush(stdout);
  return ExitCodeFor(report->status);
}

}  // namespace mt::cli
