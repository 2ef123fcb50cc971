// `market-tick download` and `market-tick plan`: flags into the options of
// pipeline/download_job.h, one call, the report printed.
#include <cstdio>

#include "cli/commands.h"
#include "cli/settings.h"
#include "derive/names.h"
#include "pipeline/download_job.h"
#include "pipeline/plan.h"
#include "storage/object_store.h"

namespace mt::cli {

namespace {

// --derive LIST (as convert's): a name that does not parse is a usage error.
Result<std::vector<derive::DerivedSpec>> DeriveFromArgs(const ParsedArgs& args) {
  if (!args.Has("derive")) return std::vector<derive::DerivedSpec>{};
  auto list = derive::ParseDerivedList(args.Get("derive"));
  if (!list.ok()) return Status::Usage("--derive: " + list.status().message());
  return std::move(*list);
}

// --shard I/N, else SHARD_INDEX/SHARD_COUNT, BATCH_TASK_INDEX/BATCH_TASK_COUNT
// (Cloud Batch), JOB_COMPLETION_INDEX with --shards N (Kubernetes).
Result<pipeline::Shard> ShardFromArgs(const ParsedArgs& args, const Context& ctx) {
  if (args.Has("shard")) return pipeline::ParseShard(args.Get("shard"));
  // An index without its count would silently run the whole plan on every
  // task: that is a configuration error.
  for (auto [i, n] : {std::pair{"SHARD_INDEX", "SHARD_COUNT"}, std::pair{"BATCH_TASK_INDEX", "BATCH_TASK_COUNT"}}) {
    auto a = ctx.config.Get(i), b = ctx.config.Get(n);
    if (a && b) return pipeline::ParseShard(*a + "/" + *b);
    if (a || b) {
      return Status::Usage(std::string(a ? i : n) + " is set but " + (a ? n : i) +
                           " is not: set both, or pass --shard I/N");
    }
  }
  if (auto i = ctx.config.Get("JOB_COMPLETION_INDEX")) {
    const std::string n = args.Get("shards", ctx.config.GetOr("SHARD_COUNT", ""));
    if (n.empty()) return Status::Usage("JOB_COMPLETION_INDEX is set but the shard count is not: pass --shards N");
    return pipeline::ParseShard(*i + "/" + n);
  }
  return pipeline::Shard{};
}

// download's flags, checked before any I/O (but the key file).
Result<pipeline::DownloadJobOptions> DownloadOptionsFromArgs(const ParsedArgs& args, const Context& ctx) {
  pipeline::DownloadJobOptions o;
  MT_ASSIGN_OR_RETURN(o.request, PlanRequestFromArgs(args, ctx));
  // --from-report: exactly the missing and corrupt items of the days'
  // missing-data reports (written by validate); all their data types unless
  // --data-types / DATA_TYPES narrows them.
  o.source.from_report = args.Has("from-report");
  o.source.report_data_types = args.Has("data-types") || ctx.config.Get("DATA_TYPES").has_value();
  MT_ASSIGN_OR_RETURN(o.shard, ShardFromArgs(args, ctx));
  MT_ASSIGN_OR_RETURN(EngineSettings settings, ConvertSettingsFromArgs(args, ctx));
  o.download.convert = settings.convert;
  o.threads = settings.threads;
  o.download.datasets_url = ctx.config.GetOr("TARDIS_DATASETS_URL", "https://datasets.tardis.dev");
  MT_ASSIGN_OR_RETURN(o.download.api_key, ApiKey(ctx));
  o.download.force = args.Has("force") || args.Has("from-report");  // corrupt objects are replaced
  const std::string conc = args.Get("concurrency", ctx.config.GetOr("MAX_CONCURRENT_REQUESTS", "8"));
  MT_ASSIGN_OR_RETURN(size_t c, PositiveInt("--concurrency/MAX_CONCURRENT_REQUESTS", conc, 1, 256));
  o.download.concurrency = static_cast<int>(c);
  MT_ASSIGN_OR_RETURN(o.download.retry, RetryFromConfig(ctx));
  MT_RETURN_IF_ERROR(ItemBoundsFromConfig(ctx, &o.download));
  MT_ASSIGN_OR_RETURN(o.buffer_mb,
                      PositiveInt("DOWNLOAD_BUFFER_MB", ctx.config.GetOr("DOWNLOAD_BUFFER_MB", "128"), 16, 1 << 20));
  MT_ASSIGN_OR_RETURN(o.download.derived, DeriveFromArgs(args));
  o.dry_run = args.Has("dry-run");
  o.no_redraw_progress = ctx.config.Get("NO_COLOR_PROGRESS").has_value();
  o.summary_json = args.Get("summary-json");
  if (args.Has("summary-json") && o.summary_json.empty()) return Status::Usage("--summary-json needs a file name");
  return o;
}

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
  std::fflush(stdout);
}

}  // namespace

int RunPlan(const ParsedArgs& args, Context& ctx) {
  auto fail = [](const Status& st) { return FailWith("plan", st); };
  pipeline::PlanJobOptions o;
  auto req = PlanRequestFromArgs(args, ctx);
  if (!req.ok()) return fail(req.status());
  o.request = *req;
  auto shard = ShardFromArgs(args, ctx);
  if (!shard.ok()) return fail(shard.status());
  o.shard = *shard;
  auto derived = DeriveFromArgs(args);
  if (!derived.ok()) return fail(derived.status());
  o.derived = std::move(*derived);
  if (args.Has("shards")) {
    auto s = pipeline::ParseShard("0/" + args.Get("shards"));
    if (!s.ok()) return fail(Status::Usage("--shards must be a positive integer"));
    o.shard_sizes = s->count;
  }
  // Without a store, bare --symbols are paired by the symbol rules.
  o.source.definitions_optional = true;
  auto store = OpenOutputStore(args, ctx);
  if (!store.ok() && req->symbols.empty()) return fail(store.status());
  if (!store.ok()) o.source.store_error = store.status();
  auto report = pipeline::RunPlanJob(store.ok() ? store->get() : nullptr, o);
  if (!report.ok()) return fail(report.status());
  if (args.Has("json")) {
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
  auto out = OpenOutputStore(args, ctx);
  if (!out.ok()) return fail(out.status());
  options->on_item = PrintOutcome;
  const std::string datasets_url = options->download.datasets_url;
  auto report = pipeline::RunDownloadJob(out->get(), std::move(*options));
  if (!report.ok()) return fail(report.status());
  if (args.Has("dry-run")) {
    for (const auto& it : report->items) std::printf("%s\n", pipeline::DatasetUrl(datasets_url, it).c_str());
    // Derived items after the URLs, tab-separated so a pipeline reading URLs
    // can tell them apart: derived<TAB>ITEM_ID<TAB>SOURCE_ITEM_ID.
    for (const auto& d : report->derived) {
      std::printf("derived\t%s\t%s\n", d.Id().c_str(), d.source.Id().c_str());
    }
    std::fprintf(stderr, "%zu items%s (dry run: nothing downloaded)\n", report->items.size(),
                 report->derived.empty() ? "" : (" and " + std::to_string(report->derived.size()) + " derived items").c_str());
    return kExitOk;
  }
  return ExitCodeFor(report->status);
}

}  // namespace mt::cli
