// `market-tick validate`: flags into validate/validate_job.h's options, one
// call, the report printed. Exit 0 when nothing expected is missing or
// corrupt, 1 otherwise (docs/VALIDATE.md).
#include <cstdio>

#include "cli/commands.h"
#include "cli/settings.h"
#include "validate/validate_job.h"

namespace mt::cli {

namespace {

Result<validate::ValidateJobOptions> ValidateOptionsFromArgs(const ParsedArgs& args, const Context& ctx) {
  validate::ValidateJobOptions o;
  MT_ASSIGN_OR_RETURN(o.selection, PlanRequestFromArgs(args, ctx));
  MT_ASSIGN_OR_RETURN(size_t c, PositiveInt("--concurrency", args.Get("concurrency", "16"), 1, 1024));
  o.concurrency = static_cast<int>(c);
  o.deep = args.Has("deep");
  o.read_only = args.Has("read-only");
  o.report_path = args.Get("report");
  if (args.Has("report") && o.report_path.empty()) return Status::Usage("--report needs a file name");
  o.tool_version = kVersion;
  return o;
}

}  // namespace

int RunValidate(const ParsedArgs& args, Context& ctx) {
  auto fail = [](const Status& st) { return FailWith("validate", st); };
  auto options = ValidateOptionsFromArgs(args, ctx);
  if (!options.ok()) return fail(options.status());
  auto store = OpenOutputStore(args, ctx);
  if (!store.ok()) return fail(store.status());
  auto report = validate::RunValidateJob(store->get(), *options);
  if (!report.ok()) return fail(report.status());
  std::fputs(report->text.c_str(), stdout);
  std::fflush(stdout);
  return ExitCodeFor(report->status);
}

}  // namespace mt::cli
