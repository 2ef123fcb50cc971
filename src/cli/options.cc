#include "cli/options.h"

#include <algorithm>
#include <cstring>
#include <regex>

#include "cli/settings.h"
#include "net/gcs_auth.h"
#include "derive/names.h"
#include "pipeline/plan.h"
#include "tardis/file_name.h"
#include "tardis/instrument_key.h"

namespace mt::cli {

namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// --derive LIST: a name that does not parse is a usage error.
Result<std::vector<derive::DerivedSpec>> DeriveFromArgs(const ParsedArgs& args) {
  if (!args.Has("derive")) return std::vector<derive::DerivedSpec>{};
  auto list = derive::ParseDerivedList(args.Get("derive"));
  if (!list.ok()) return Status::Usage("--derive: " + list.status().message());
  return std::move(*list);
}

// --data-types of validate and derive: Tardis data types in `raw`, derived
// names (book_snapshot_10_1s) parsed into `derived`. An entry that is
// neither keeps its text in `raw` (the caller says what is wrong with it).
void SplitDataTypes(const std::vector<std::string>& types, std::vector<std::string>* raw,
                    std::vector<derive::DerivedSpec>* derived) {
  for (const std::string& t : types) {
    auto d = tardis::FindSchema(t) ? Result<derive::DerivedSpec>(Status::NotFound(t)) : derive::ParseDerivedName(t);
    if (d.ok()) {
      derived->push_back(std::move(*d));
    } else {
      raw->push_back(t);
    }
  }
}

// The names of validate's and derive's --data-types and --derive: the
// Tardis data types (and unknown entries) of `types`, the derived names
// among `types`, and every derived name of both, each once, in that order.
struct NamedTypes {
  std::vector<std::string> raw;
  std::vector<derive::DerivedSpec> in_data_types;
  std::vector<derive::DerivedSpec> derived;
};

Result<NamedTypes> NamedTypesFromArgs(const ParsedArgs& args, const std::vector<std::string>& types) {
  NamedTypes out;
  SplitDataTypes(types, &out.raw, &out.in_data_types);
  MT_ASSIGN_OR_RETURN(std::vector<derive::DerivedSpec> listed, DeriveFromArgs(args));
  for (const std::vector<derive::DerivedSpec>* from : {&out.in_data_types, &listed}) {
    for (const derive::DerivedSpec& d : *from) {
      const bool dup =
          std::any_of(out.derived.begin(), out.derived.end(), [&](const auto& x) { return x.name == d.name; });
      if (!dup) out.derived.push_back(d);
    }
  }
  return out;
}

// A flag that names a file (--summary-json, --report): "" when not given,
// given empty is a usage error.
Result<std::string> FileNameFlag(const ParsedArgs& args, const std::string& flag) {
  std::string name = args.Get(flag);
  if (args.Has(flag) && name.empty()) return Status::Usage("--" + flag + " needs a file name");
  // The run summary is a local file: a URL (gs://bucket/summary.json) could
  // only fail once the whole run was done, after hours of a fleet task.
  if (flag == "summary-json" && name.find("://") != std::string::npos) {
    return Status::Usage("--summary-json " + name + ": the summary is written to a local file, not to a URL");
  }
  return name;
}

// --output given with an empty value (`--output "$OUT"` with OUT unset) is a
// usage error: it would otherwise mean the default, ./data (or GCS_BUCKET),
// and a run meant for a bucket would write into a local folder and exit 0.
// An empty OUTPUT_URI in the environment stays "not set", as for every
// variable.
Status OutputFlagNotEmpty(const ParsedArgs& args) {
  if (args.Has("output") && args.Get("output").empty()) {
    return Status::Usage(
        "--output is empty: give a directory, gs://BUCKET[/PREFIX] or (convert) FILE.parquet, or leave "
        "the flag out for the default");
  }
  return Status::OK();
}

// OutputUri resolved (a bad URI is a usage error before any I/O) and the
// store's settings.
Status ResolveOutput(const ParsedArgs& args, const Context& ctx, OutputStore* out) {
  MT_ASSIGN_OR_RETURN(out->output, OutputUri(args, ctx));
  MT_RETURN_IF_ERROR(storage::ResolveStoreUri(out->output).status());
  MT_ASSIGN_OR_RETURN(out->store, StoreConfigFromContext(ctx));
  MT_ASSIGN_OR_RETURN(out->store.layout, LayoutFromArgs(args, ctx));
  return Status::OK();
}

// Tardis exchange ids: lower case, unique, in the order given.
Result<std::vector<std::string>> ExchangeIds(const std::string& list) {
  static const std::regex kId("^[a-z0-9][a-z0-9-]*$");
  std::vector<std::string> out;
  for (const auto& e : pipeline::SplitList(list)) {
    if (!std::regex_match(e, kId)) {
      const std::string best = pipeline::SuggestExchange(e);
      return Status::Usage("--exchanges: '" + e + "' is not a Tardis exchange id" +
                           (best.empty() ? "" : " (did you mean " + best + "?)") + " (lower-case, e.g. binance-futures)");
    }
    if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  }
  if (out.empty()) return Status::Usage("--exchanges is empty");
  return out;
}

// --shard I/N, else SHARD_INDEX/SHARD_COUNT, BATCH_TASK_INDEX/BATCH_TASK_COUNT
// (Cloud Batch), JOB_COMPLETION_INDEX with --shards N or SHARD_COUNT
// (Kubernetes).
Result<pipeline::Shard> ShardFromArgs(const ParsedArgs& args, const Context& ctx) {
  if (args.Has("shard")) return pipeline::ParseShard(args.Get("shard"));
  const bool indexed_job = ctx.config.Get("JOB_COMPLETION_INDEX").has_value();
  // An index without its count would silently run the whole plan on every
  // task: that is a configuration error. (SHARD_COUNT beside
  // JOB_COMPLETION_INDEX is that index's count.)
  for (auto [i, n] : {std::pair{"SHARD_INDEX", "SHARD_COUNT"}, std::pair{"BATCH_TASK_INDEX", "BATCH_TASK_COUNT"}}) {
    auto a = ctx.config.Get(i), b = ctx.config.Get(n);
    if (a && b) return pipeline::ParseShard(*a + "/" + *b);
    if (!a && b && indexed_job && std::string(n) == "SHARD_COUNT") continue;
    if (a || b) {
      return Status::Usage(std::string(a ? i : n) + " is set but " + (a ? n : i) +
                           " is not: set both, or pass --shard I/N");
    }
  }
  if (indexed_job) {
    const std::string n = args.Value("shards", ctx.config);
    if (n.empty()) return Status::Usage("JOB_COMPLETION_INDEX is set but the shard count is not: pass --shards N");
    return pipeline::ParseShard(*ctx.config.Get("JOB_COMPLETION_INDEX") + "/" + n);
  }
  return pipeline::Shard{};
}

// The shard a run takes (download, derive): ShardFromArgs, where --shards
// is only the count of an indexed job (JOB_COMPLETION_INDEX); alone it
// would leave every task running the whole plan.
Result<pipeline::Shard> RunShardFromArgs(const ParsedArgs& args, const Context& ctx) {
  if (args.Has("shards") && !ctx.config.Get("JOB_COMPLETION_INDEX")) {
    return Status::Usage("--shards N needs JOB_COMPLETION_INDEX (a Kubernetes indexed job); pass --shard I/N "
                         "to run one shard");
  }
  return ShardFromArgs(args, ctx);
}

}  // namespace

Result<std::optional<storage::LayoutKind>> LayoutFromArgs(const ParsedArgs& args, const Context& ctx) {
  if (!args.Given("layout", ctx.config)) return std::optional<storage::LayoutKind>();
  const std::string v = args.Value("layout", ctx.config);
  auto kind = storage::ParseLayoutKind(v);
  if (!kind) return Status::Usage("--layout/OUTPUT_LAYOUT must be by_date or hive, not '" + v + "'");
  return kind;
}

Result<std::string> OutputUri(const ParsedArgs& args, const Context& ctx) {
  MT_RETURN_IF_ERROR(OutputFlagNotEmpty(args));
  std::string output = args.Get("output", ctx.config.GetOr("OUTPUT_URI", ""));
  if (output.empty()) {
    if (auto bucket = ctx.config.Get("GCS_BUCKET")) output = "gs://" + *bucket;
  }
  return output.empty() ? "./data" : output;
}

Result<storage::StoreConfig> StoreConfigFromContext(const Context& ctx) {
  storage::StoreConfig c;
  storage::GcsSettings& g = c.gcs;
  g.emulator_host = ctx.config.GetOr("STORAGE_EMULATOR_HOST", "");
  g.endpoint = ctx.config.GetOr("GCS_ENDPOINT", "");
  g.credentials_file = ctx.config.GetOr("GOOGLE_APPLICATION_CREDENTIALS", "");
  // Where gcloud's application-default login writes its file (CLOUDSDK_CONFIG
  // moves gcloud's whole configuration directory).
  g.adc_file = net::GcloudAdcFile(ctx.config.GetOr("CLOUDSDK_CONFIG", ""), ctx.config.GetOr("HOME", ""));
  g.token_uri = ctx.config.GetOr("GCS_TOKEN_URI", "");
  g.metadata_host = ctx.config.GetOr("GCE_METADATA_HOST", "");
  if (auto v = ctx.config.Get("GCS_CHUNK_SIZE")) {
    MT_ASSIGN_OR_RETURN(g.chunk_size, ByteSize("GCS_CHUNK_SIZE", *v));
    if (*g.chunk_size % storage::kGcsChunkQuantum != 0) {
      return Status::Usage("GCS_CHUNK_SIZE must be a multiple of 256 KiB (262144 bytes), got " + *v);
    }
  }
  if (auto v = ctx.config.Get("GCS_RESUMABLE_THRESHOLD")) {
    MT_ASSIGN_OR_RETURN(g.resumable_threshold, ByteSize("GCS_RESUMABLE_THRESHOLD", *v));
  }
  if (auto v = ctx.config.Get("GCS_LIST_PAGE_SIZE")) {
    MT_ASSIGN_OR_RETURN(size_t n, PositiveInt("GCS_LIST_PAGE_SIZE", *v, 1, 1000));
    g.list_page_size = static_cast<int>(n);
  }
  MT_ASSIGN_OR_RETURN(g.retry, RetryFromConfig(ctx));
  return c;
}

Result<InstrumentsOptions> InstrumentsOptionsFromArgs(const ParsedArgs& args, const Context& ctx) {
  InstrumentsOptions o;
  pipeline::InstrumentsJobOptions& job = o.job;
  MT_ASSIGN_OR_RETURN(const DateRange range, DateRangeFromArgs(args));
  job.from = range.from;
  job.to = range.to;
  MT_RETURN_IF_ERROR(ListFlagsNotEmpty(args, {"exchanges", "quote"}));
  std::string ex = args.Value("exchanges", ctx.config);
  if (ex.empty()) ex = pipeline::kDefaultInstrumentExchanges;  // EXCHANGES= (empty) means the default too
  MT_ASSIGN_OR_RETURN(job.exchanges, ExchangeIds(ex));
  for (const auto& q : pipeline::SplitList(args.Get("quote"))) job.quotes.push_back(tardis::AsciiUpper(q));
  o.format = args.Get("format");
  if (args.Has("format") && o.format != "table" && o.format != "csv" && o.format != "json") {
    return Status::Usage("--format must be table, csv or json");
  }
  job.force = args.Has("force");
  MT_ASSIGN_OR_RETURN(job.summary_json, FileNameFlag(args, "summary-json"));
  MT_ASSIGN_OR_RETURN(job.metadata.api_key, ApiKey(ctx));
  MT_ASSIGN_OR_RETURN(job.metadata.retry, RetryFromConfig(ctx));
  job.metadata.api_url = ctx.config.GetOr("TARDIS_API_URL", "https://api.tardis.dev");
  job.metadata.user_agent = std::string("market-tick/") + kVersion;
  job.tool_version = kVersion;
  if (!o.format.empty()) job.format = o.format;
  if (o.format.empty()) MT_RETURN_IF_ERROR(ResolveOutput(args, ctx, &o));
  return o;
}

Result<ConvertOptions> ConvertOptionsFromArgs(const ParsedArgs& args, const Context& ctx) {
  ConvertOptions o;
  pipeline::ConvertJobOptions& job = o.job;
  if (args.positional.empty()) return Status::Usage("no input files (usage: market-tick convert FILE...)");
  job.inputs = args.positional;
  MT_ASSIGN_OR_RETURN(EngineSettings engine, ConvertSettingsFromArgs(args, ctx));
  job.convert = engine.convert;
  job.threads = engine.threads;
  if (args.Has("data-type")) {
    job.data_type = tardis::FindSchema(args.Get("data-type"));
    if (!job.data_type) {
      return Status::Usage("unknown --data-type '" + args.Get("data-type") + "' (one of: " +
                           tardis::SupportedDataTypes() + ")");
    }
  }
  // A file named as the official clients name them gives its exchange; a
  // typo there would key a zero-row day under a venue that does not exist.
  for (const auto& path : job.inputs) {
    auto parts = tardis::ParseFileName(path);
    if (!parts) continue;
    if (Status st = pipeline::CheckExchanges({parts->exchange}); !st.ok()) {
      return Status::Usage(path + ": " + st.message() + " (in the file name)");
    }
  }
  // --force (the default) or --no-force; --overwrite true|false is their
  // old spelling, still read.
  if (args.Has("force") && args.Has("no-force")) return Status::Usage("--force and --no-force contradict each other");
  job.target.overwrite = !args.Has("no-force");
  if (args.Has("overwrite")) {
    const std::string ow = args.Get("overwrite");
    if (ow != "true" && ow != "false") return Status::Usage("--overwrite must be true or false (now spelled --force / --no-force)");
    if ((args.Has("force") && ow == "false") || (args.Has("no-force") && ow == "true")) {
      return Status::Usage("--overwrite " + ow + " contradicts --" + (args.Has("force") ? "force" : "no-force"));
    }
    job.target.overwrite = ow == "true";
  }
  MT_ASSIGN_OR_RETURN(job.derived, DeriveFromArgs(args));
  // Convert's default output is local even when GCS_BUCKET is set: it reads
  // local files, and a bucket is asked for by name.
  MT_RETURN_IF_ERROR(OutputFlagNotEmpty(args));
  o.output = args.Value("output", ctx.config);
  MT_ASSIGN_OR_RETURN(const storage::StoreLocation where, storage::ResolveStoreUri(o.output));
  if (where.kind == storage::StoreKind::kLocal && EndsWith(where.location, ".parquet")) {
    if (!job.derived.empty()) {
      return Status::Usage("--derive writes into a store: give --output DIR or gs://BUCKET, not one FILE.parquet");
    }
    if (job.inputs.size() != 1) {
      return Status::Usage("--output FILE.parquet takes exactly one input file; give a directory for several");
    }
    job.target.single_file = where.location;
  } else {
    MT_ASSIGN_OR_RETURN(o.store, StoreConfigFromContext(ctx));
    MT_ASSIGN_OR_RETURN(o.store.layout, LayoutFromArgs(args, ctx));
  }
  return o;
}

Result<GcsOptions> GcsOptionsFromArgs(const ParsedArgs& args, const Context& ctx) {
  GcsOptions o;
  const auto& pos = args.positional;
  o.sub = pos.empty() ? "" : pos[0];
  const std::vector<std::string> rest(pos.begin() + (pos.empty() ? 0 : 1), pos.end());
  static const char* kUsage =
      "usage: market-tick gcs ls [-l] [-r] gs://BUCKET[/PATTERN]...\n"
      "       market-tick gcs du [-s] [-c] gs://BUCKET[/PATTERN]...\n"
      "       market-tick gcs cp [-r] [-n] [--jobs N] SOURCE... DESTINATION  (local to gs:// or gs:// to local)\n"
      "       market-tick gcs rm [-r] [--yes] gs://BUCKET/PATTERN...\n"
      "       market-tick gcs stat gs://BUCKET/OBJECT\n"
      "       market-tick gcs cat gs://BUCKET/OBJECT [--offset N] [--length N]\n"
      "       market-tick gcs put FILE|- gs://BUCKET/OBJECT [--force]";
  const bool put = o.sub == "put", cp = o.sub == "cp";
  const bool many = o.sub == "ls" || o.sub == "du" || o.sub == "rm";
  const bool one = o.sub == "stat" || o.sub == "cat";
  if (!(many || one || put || cp) || (many && rest.empty()) || (one && rest.size() != 1) || (put && rest.size() != 2) ||
      (cp && rest.size() < 2)) {
    return Status::Usage(kUsage);
  }
  // Each flag belongs to some subcommands; elsewhere it is a mistake, said so.
  const std::vector<std::pair<const char*, std::vector<std::string>>> kWhere = {
      {"l", {"ls"}},           {"r", {"ls", "cp", "rm"}}, {"R", {"ls", "cp", "rm"}}, {"s", {"du"}},
      {"c", {"du"}},           {"n", {"cp"}},             {"yes", {"rm"}},           {"jobs", {"cp", "rm"}},
      {"offset", {"cat"}},     {"length", {"cat"}},       {"force", {"put"}}, {"overwrite", {"put"}},
  };
  for (const auto& [flag, subs] : kWhere) {
    if (args.Has(flag) && std::find(subs.begin(), subs.end(), o.sub) == subs.end()) {
      return Status::Usage(std::string(std::strlen(flag) == 1 ? "-" : "--") + flag + " does not apply to gcs " + o.sub);
    }
  }
  o.long_form = args.Has("l");
  o.recursive = args.Has("r") || args.Has("R");
  o.summarize = args.Has("s");
  o.grand_total = args.Has("c");
  o.yes = args.Has("yes");
  MT_ASSIGN_OR_RETURN(size_t jobs, PositiveInt("--jobs/GCS_JOBS", args.Value("jobs", ctx.config), 1, 16));
  o.jobs = static_cast<int>(jobs);
  if (many) {
    for (const auto& u : rest) {
      MT_ASSIGN_OR_RETURN(storage::GcsUrl url, storage::ParseGcsUrl(u));
      if (o.sub == "rm" && url.object.empty() && !o.recursive) {
        return Status::Usage("no object name in " + u + " (rm -r gs://BUCKET removes every object in the bucket)");
      }
      o.urls.push_back(std::move(url));
    }
  } else if (cp) {
    o.copy.sources.assign(rest.begin(), rest.end() - 1);
    o.copy.destination = rest.back();
    const bool upload = o.copy.destination.rfind("gs://", 0) == 0;
    for (const auto& s : o.copy.sources) {
      const bool gs = s.rfind("gs://", 0) == 0;
      if (gs == upload) {
        return Status::Usage(upload ? "gcs cp copies local files to gs:// or gs:// objects to local files; copies "
                                      "between buckets are not supported ('" + s + "')"
                                    : "gcs cp: '" + s + "' and '" + o.copy.destination + "' are both local");
      }
      if (gs) MT_RETURN_IF_ERROR(storage::ParseGcsUrl(s).status());
    }
    if (upload) MT_RETURN_IF_ERROR(storage::ParseGcsUrl(o.copy.destination).status());
    o.copy.recursive = o.recursive;
    o.copy.no_clobber = args.Has("n");
    o.copy.jobs = o.jobs;
  } else {
    // gs://bucket/rest with `rest` kept verbatim (trailing '/' included), so
    // any object name can be given.
    MT_ASSIGN_OR_RETURN(storage::GcsUrl url, storage::ParseGcsUrl(rest.back()));
    o.bucket = "gs://" + url.bucket;
    o.object = url.object;
    if (o.object.empty()) return Status::Usage("no object name in " + rest.back());
    if (put) o.source = rest[0];
  }
  if (args.Has("offset")) {
    MT_ASSIGN_OR_RETURN(o.offset, PositiveInt("--offset", args.Get("offset"), 0, SIZE_MAX));
  }
  if (args.Has("length")) {
    MT_ASSIGN_OR_RETURN(size_t n, PositiveInt("--length", args.Get("length"), 0, INT64_MAX));
    o.length = static_cast<int64_t>(n);
  }
  o.overwrite = args.Has("force") || args.Has("overwrite");  // --overwrite: the old spelling
  MT_ASSIGN_OR_RETURN(storage::StoreConfig store, StoreConfigFromContext(ctx));
  o.gcs = std::move(store.gcs);
  return o;
}

namespace {

// What download and plan select: the plan request (its data types checked
// before any I/O: a derived name belongs in --derive) and the shard.
Status SelectionFromArgs(const ParsedArgs& args, const Context& ctx, pipeline::PlanRequest* request,
                         pipeline::Shard* shard) {
  MT_ASSIGN_OR_RETURN(*request, PlanRequestFromArgs(args, ctx));
  MT_RETURN_IF_ERROR(pipeline::CheckDataTypes(request->data_types));
  MT_ASSIGN_OR_RETURN(*shard, ShardFromArgs(args, ctx));
  return Status::OK();
}

// --estimate and its settings; nullopt without the flag. The samples' retries
// are bounded (3 attempts, 60 s each) so an unreachable server costs seconds,
// not the download's retry budget per sample.
Result<std::optional<pipeline::EstimateOptions>> EstimateFromArgs(const ParsedArgs& args, const Context& ctx) {
  if (!args.Has("estimate")) return std::optional<pipeline::EstimateOptions>{};
  pipeline::EstimateOptions e;
  MT_ASSIGN_OR_RETURN(e.max_requests, PositiveInt("--estimate-samples/ESTIMATE_SAMPLES",
                                                  args.Value("estimate-samples", ctx.config), 1, 10000));
  MT_ASSIGN_OR_RETURN(e.mb_per_second, PositiveDouble("--estimate-mb-per-second/ESTIMATE_MB_PER_SECOND",
                                                      args.Value("estimate-mb-per-second", ctx.config)));
  if (!(e.mb_per_second > 0)) return Status::Usage("--estimate-mb-per-second/ESTIMATE_MB_PER_SECOND must be above 0");
  e.datasets_url = ctx.config.GetOr("TARDIS_DATASETS_URL", "https://datasets.tardis.dev");
  MT_ASSIGN_OR_RETURN(e.api_key, ApiKey(ctx));
  MT_ASSIGN_OR_RETURN(e.retry, RetryFromConfig(ctx));
  e.retry.max_attempts = std::min(e.retry.max_attempts, 3);
  e.retry.max_total_s = std::min(e.retry.max_total_s, 60.0);
  e.user_agent = std::string("market-tick/") + kVersion;
  return std::optional<pipeline::EstimateOptions>(std::move(e));
}

}  // namespace

Result<DownloadOptions> DownloadOptionsFromArgs(const ParsedArgs& args, const Context& ctx) {
  DownloadOptions out;
  pipeline::DownloadJobOptions& o = out.job;
  MT_RETURN_IF_ERROR(SelectionFromArgs(args, ctx, &o.request, &o.shard));
  // --from-report: exactly the missing and corrupt items of the days'
  // missing-data reports (written by validate); all their data types unless
  // --data-types / DATA_TYPES narrows them.
  o.source.from_report = args.Has("from-report");
  o.source.report_data_types = args.Given("data-types", ctx.config);
  MT_ASSIGN_OR_RETURN(EngineSettings settings, ConvertSettingsFromArgs(args, ctx));
  o.download.convert = settings.convert;
  o.threads = settings.threads;
  o.download.datasets_url = ctx.config.GetOr("TARDIS_DATASETS_URL", "https://datasets.tardis.dev");
  MT_ASSIGN_OR_RETURN(o.download.api_key, ApiKey(ctx));
  // --from-report: items with a corrupt object are redone (DownloadOptions::replace).
  o.download.force = args.Has("force");
  MT_ASSIGN_OR_RETURN(size_t c, PositiveInt("--concurrency/MAX_CONCURRENT_REQUESTS",
                                            args.Value("concurrency", ctx.config), 1, 256));
  o.download.concurrency = static_cast<int>(c);
  MT_ASSIGN_OR_RETURN(o.download.retry, RetryFromConfig(ctx));
  MT_RETURN_IF_ERROR(ItemBoundsFromConfig(ctx, &o.download));
  MT_ASSIGN_OR_RETURN(o.buffer_mb,
                      PositiveInt("DOWNLOAD_BUFFER_MB", ctx.config.GetOr("DOWNLOAD_BUFFER_MB", "96"), 16, 1 << 20));
  MT_ASSIGN_OR_RETURN(o.download.derived, DeriveFromArgs(args));
  MT_ASSIGN_OR_RETURN(o.shard, RunShardFromArgs(args, ctx));
  o.dry_run = args.Has("dry-run");
  MT_ASSIGN_OR_RETURN(o.estimate, EstimateFromArgs(args, ctx));
  if (o.estimate && !o.dry_run) {
    return Status::Usage("--estimate goes with --dry-run (or use market-tick plan --estimate)");
  }
  o.no_redraw_progress = ctx.config.Get("NO_COLOR_PROGRESS").has_value();
  MT_ASSIGN_OR_RETURN(o.summary_json, FileNameFlag(args, "summary-json"));
  if (o.dry_run && !o.summary_json.empty()) {
    return Status::Usage("--summary-json describes a run; a --dry-run downloads nothing (drop one of them)");
  }
  MT_RETURN_IF_ERROR(ResolveOutput(args, ctx, &out));
  return out;
}

Result<DeriveOptions> DeriveOptionsFromArgs(const ParsedArgs& args, const Context& ctx) {
  DeriveOptions out;
  pipeline::DeriveJobOptions& o = out.job;
  MT_ASSIGN_OR_RETURN(o.request, PlanRequestFromArgs(args, ctx));
  // The names to compute: --derive, and derived names in --data-types (as
  // validate takes them). Tardis data types there narrow nothing but must
  // be the source of a name (derive reads nothing else).
  MT_ASSIGN_OR_RETURN(NamedTypes names,
                      NamedTypesFromArgs(args, args.Given("data-types", ctx.config) ? o.request.data_types
                                                                                    : std::vector<std::string>()));
  std::vector<std::string> raw = std::move(names.raw);
  o.derived = std::move(names.derived);
  // --from-report: the reports' derived items (of the names given, if any).
  o.from_report = args.Has("from-report");
  if (o.derived.empty() && !o.from_report) {
    return Status::Usage("name the derived data types to compute: --derive LIST, or derived names in --data-types (" +
                         derive::AcceptedDerivedForms() + ")");
  }
  std::vector<std::string> sources;
  for (const auto& d : o.derived) {
    if (std::find(sources.begin(), sources.end(), d.source_data_type()) == sources.end()) {
      sources.push_back(d.source_data_type());
    }
  }
  for (const std::string& t : raw) {
    if (!tardis::FindSchema(t)) {
      return Status::Usage("--data-types: '" + t + "' is neither a Tardis data type nor a derived name (" +
                           derive::AcceptedDerivedForms() + ")");
    }
    if (std::find(sources.begin(), sources.end(), t) == sources.end()) {
      return Status::Usage("--data-types: no derived name given is computed from " + t +
                           " (book snapshots come from incremental_book_L2, trade bars from trades)");
    }
  }
  std::sort(sources.begin(), sources.end());
  o.request.data_types = std::move(sources);
  MT_ASSIGN_OR_RETURN(o.shard, RunShardFromArgs(args, ctx));
  o.force = args.Has("force");
  MT_ASSIGN_OR_RETURN(size_t c, PositiveInt("--concurrency", args.Value("concurrency", ctx.config), 1, 256));
  o.concurrency = static_cast<int>(c);
  MT_ASSIGN_OR_RETURN(EngineSettings settings, WriterSettingsFromArgs(args, ctx));
  o.writer = settings.convert.writer;
  o.threads = settings.threads;
  o.tool_version = settings.convert.tool_version;
  MT_ASSIGN_OR_RETURN(o.summary_json, FileNameFlag(args, "summary-json"));
  MT_RETURN_IF_ERROR(ResolveOutput(args, ctx, &out));
  return out;
}

Result<PlanOptions> PlanOptionsFromArgs(const ParsedArgs& args, const Context& ctx) {
  PlanOptions out;
  pipeline::PlanJobOptions& o = out.job;
  MT_RETURN_IF_ERROR(SelectionFromArgs(args, ctx, &o.request, &o.shard));
  // --shards N alone (not SHARD_COUNT): print the sizes of N shards.
  if (args.Has("shards")) {
    auto s = pipeline::ParseShard("0/" + args.Get("shards"));
    if (!s.ok()) return Status::Usage("--shards must be a positive integer");
    o.shard_sizes = s->count;
  }
  MT_ASSIGN_OR_RETURN(o.derived, DeriveFromArgs(args));
  MT_ASSIGN_OR_RETURN(o.estimate, EstimateFromArgs(args, ctx));
  // Without a store, bare --symbols are paired by the symbol rules.
  o.source.definitions_optional = true;
  out.json = args.Has("json");
  MT_RETURN_IF_ERROR(ResolveOutput(args, ctx, &out));
  return out;
}

Result<ValidateOptions> ValidateOptionsFromArgs(const ParsedArgs& args, const Context& ctx) {
  ValidateOptions out;
  validate::ValidateJobOptions& o = out.job;
  MT_ASSIGN_OR_RETURN(o.selection, PlanRequestFromArgs(args, ctx));
  // Derived names among the data types: expected where their source is; the
  // source type joins the selection (to plan where) without its own files
  // being expected unless it is listed too.
  MT_ASSIGN_OR_RETURN(NamedTypes names, NamedTypesFromArgs(args, o.selection.data_types));
  std::vector<std::string> raw = std::move(names.raw);
  for (const derive::DerivedSpec& d : names.in_data_types) {
    const std::string src = d.source_data_type();
    if (std::find(raw.begin(), raw.end(), src) == raw.end()) {
      raw.push_back(src);
      o.unasked_sources.insert(src);
    }
  }
  o.selection.data_types = std::move(raw);
  o.derived = std::move(names.derived);
  MT_ASSIGN_OR_RETURN(size_t c, PositiveInt("--concurrency", args.Value("concurrency", ctx.config), 1, 1024));
  o.concurrency = static_cast<int>(c);
  o.deep = args.Has("deep");
  o.read_only = args.Has("read-only");
  MT_ASSIGN_OR_RETURN(o.report_path, FileNameFlag(args, "report"));
  MT_ASSIGN_OR_RETURN(o.summary_json, FileNameFlag(args, "summary-json"));
  // --report gs://BUCKET/NAME.html: an object, named exactly (the command
  // opens its bucket before checking anything, so a missing credential fails
  // first).
  if (o.report_path.rfind("gs://", 0) == 0) {
    MT_ASSIGN_OR_RETURN(const storage::GcsUrl url, storage::ParseGcsUrl(o.report_path));
    if (url.object.empty() || url.object.back() == '/' || storage::HasWildcard(url.object)) {
      return Status::Usage("--report " + o.report_path + " names no object: give gs://BUCKET/NAME.html");
    }
    out.report_bucket = "gs://" + url.bucket;
    o.report_object = url.object;
  }
  o.tool_version = kVersion;
  MT_RETURN_IF_ERROR(ResolveOutput(args, ctx, &out));
  return out;
}

}  // namespace mt::cli
