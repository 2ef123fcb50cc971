// `market-tick validate`: flags into validate/validate_job.h's options, one
// call, the report printed. Exit 0 when nothing expected is missing or
// corrupt, 1 otherwise (docs/VALIDATE.md).
#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "cli/settings.h"
#include "derive/names.h"
#include "tardis/schema.h"
#include "validate/validate_job.h"

namespace mt::cli {

namespace {

Result<validate::ValidateJobOptions> ValidateOptionsFromArgs(const ParsedArgs& args, const Context& ctx) {
  validate::ValidateJobOptions o;
  MT_ASSIGN_OR_RETURN(o.selection, PlanRequestFromArgs(args, ctx));
  // Derived names among the data types: expected where their source is; the
  // source type joins the selection (to plan where) without its own files
  // being expected unless it is listed too.
  std::vector<std::string> raw;
  std::vector<derive::DerivedSpec> named;
  for (const std::string& t : o.selection.data_types) {
    auto d = tardis::FindSchema(t) ? Result<derive::DerivedSpec>(Status::NotFound(t)) : derive::ParseDerivedName(t);
    if (d.ok()) {
      named.push_back(std::move(*d));
    } else {
      raw.push_back(t);
    }
  }
  for (const derive::DerivedSpec& d : named) {
    const std::string src = d.source_data_type();
    if (std::find(raw.begin(), raw.end(), src) == raw.end()) {
      raw.push_back(src);
      o.unasked_sources.insert(src);
    }
    o.derived.push_back(d);
  }
  o.selection.data_types = std::move(raw);
  if (args.Has("derive")) {
    auto list = derive::ParseDerivedList(args.Get("derive"));
    if (!list.ok()) return Status::Usage("--derive: " + list.status().message());
    for (auto& d : *list) o.derived.push_back(std::move(d));
  }
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
