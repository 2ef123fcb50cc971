// `market-tick download` and `market-tick plan`.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "cli/commands.h"
#include "cli/settings.h"
#include "core/bounded_json.h"
#include "core/log.h"
#include "core/redact.h"
#include "pipeline/downloader.h"
#include "pipeline/plan.h"
#include "storage/object_store.h"
#include <nlohmann/json.hpp>

#include "parquet/file_reader.h"
#include "storage/layout.h"
#include "tardis/instrument_key.h"
#include "tardis/schema.h"
#include "validate/expected.h"
#include "validate/report_plan.h"

namespace mt::cli {

namespace {

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

std::string HumanBytes(double b) {
  char buf[32];
  if (b >= 1e9) std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  else if (b >= 1e6) std::snprintf(buf, sizeof buf, "%.1f MB", b / 1e6);
  else std::snprintf(buf, sizeof buf, "%.0f KB", b / 1e3);
  return buf;
}

// Progress on stderr: one redrawn line on a terminal, a plain line every 10 s
// otherwise.
class ProgressLine {
 public:
  explicit ProgressLine(const pipeline::Progress& p) : p_(p), tty_(isatty(2) && !std::getenv("NO_COLOR_PROGRESS")) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ProgressLine() {
    stop_ = true;
    thread_.join();
    if (tty_ && drew_) std::fputs("\n", stderr);
  }

 private:
  void Loop() {
    const auto t0 = std::chrono::steady_clock::now();
    auto last_print = t0;
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const auto now = std::chrono::steady_clock::now();
      const double interval = tty_ ? 1.0 : 10.0;
      if (std::chrono::duration<double>(now - last_print).count() < interval) continue;
      last_print = now;
      const double secs = std::chrono::duration<double>(now - t0).count();
      const double done = p_.items_finished, total = p_.items_total;
      const double mbs = p_.bytes_in / 1e6 / secs, rows = p_.rows / secs;
      const double eta = done > 0 ? secs * (total - done) / done : 0;
      char line[256];
      std::snprintf(line, sizeof line, "items %.0f/%.0f  %.1f MB/s  %.0f rows/s  ETA %.0f s", done, total,
                    mbs, rows, eta);
      if (tty_) {
        std::fprintf(stderr, "\r\033[K%s", line);
        drew_ = true;
      } else {
        log::Info(line);
      }
    }
  }
  const pipeline::Progress& p_;
  bool tty_;
  bool drew_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::atomic<bool> g_cancel{false};

}  // namespace

// Work items from the instrument definitions in storage (written by
// `market-tick instruments`): each instrument of the day x the data types it
// really has, filtered by --instrument-types, --base, --quote and
// --max-instruments (the first N instrument keys of the day, in key order).
Result<std::vector<pipeline::WorkItem>> PlanFromDefinitions(storage::ObjectStore* store,
                                                            const pipeline::PlanRequest& req,
                                                            const ParsedArgs& args, const Context& ctx) {
  MT_ASSIGN_OR_RETURN(validate::ExpectedSet expected, validate::ExpectedFromDefinitions(store, req));
  for (const auto& n : expected.notes) log::Warn(n);
  if (!expected.definition_problems.empty()) {
    // The first run of days with one problem (a month without definitions
    // is one message, not thirty).
    const validate::DayRun first = validate::CollapseDays(expected.definition_problems).front();
    const bool absent = first.text.rfind("no instrument definitions", 0) == 0;
    return Status::NotFound("no instrument definitions for " + first.Days() + (absent ? "" : " (" + first.text + ")") +
                            ": run `market-tick instruments --from " + FormatDate(req.from) + " --to " +
                            FormatDate(req.to) + "` first, or name --symbols");
  }
  pipeline::InstrumentFilter filter;
  std::set<std::string>& types = filter.types;
  for (std::string t : pipeline::SplitList(args.Get("instrument-types", ctx.config.GetOr("INSTRUMENT_TYPES", "")))) {
    for (char& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    types.insert(t == "SPOT" ? "SPOT_PAIR" : t);
  }
  auto upper_set = [&](const std::string& flag, const std::string& env) {
    std::set<std::string> out;
    for (std::string v : pipeline::SplitList(args.Get(flag, ctx.config.GetOr(env, "")))) {
      for (char& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.insert(v);
    }
    return out;
  };
  filter.bases = upper_set("base", "BASE_ASSETS");
  filter.quotes = upper_set("quote", "QUOTE_ASSETS");
  if (const std::string m = args.Get("max-instruments", ctx.config.GetOr("MAX_INSTRUMENTS", "")); !m.empty()) {
    MT_ASSIGN_OR_RETURN(filter.max_instruments, PositiveInt("--max-instruments", m, 1, 100'000'000));
  }
  // Expiry window: futures and options expiring within N days of the day.
  if (const std::string m = args.Get("max-days-to-expiry", ""); !m.empty()) {
    MT_ASSIGN_OR_RETURN(size_t n, PositiveInt("--max-days-to-expiry", m, 0, 100000));
    filter.max_days_to_expiry = static_cast<int64_t>(n);
  }
  std::vector<pipeline::WorkItem> defined;
  defined.reserve(expected.items.size());
  for (const auto& e : expected.items) {
    defined.push_back(pipeline::WorkItem{e.day, e.data_type, e.exchange, e.symbol, e.instrument_key});
  }
  std::vector<pipeline::WorkItem> items = pipeline::FilterInstruments(defined, filter);
  // Data types that exist only as grouped files (deribit options_chain under
  // OPTIONS): the instruments files list grouped symbols in their
  // `grouped_symbols` metadata. A grouped file is added for a data type no
  // instrument of that exchange has on the day (else both would be fetched);
  // the instrument filters cannot apply inside it.
  // Coverage counts every instrument of the definitions, before the filters:
  // a filter that drops all options must not bring their trades back through
  // the grouped file.
  std::set<std::tuple<Date, std::string, std::string>> per_instrument;  // day, exchange, data type
  for (const auto& e : expected.items) per_instrument.insert({e.day, e.exchange, e.data_type});
  const std::set<std::string> wanted_ex(req.exchanges.begin(), req.exchanges.end());
  const std::set<std::string> wanted_dt(req.data_types.begin(), req.data_types.end());
  for (Date day = req.from; !(req.to < day); day = AddDays(day, 1)) {
    auto grouped = pipeline::ReadGroupedSymbols(store, day);
    if (!grouped.ok()) continue;  // reported above as a definitions problem
    for (const auto& g : *grouped) {
      const std::string& ex = g.exchange;
      if (!wanted_ex.empty() && !wanted_ex.count(ex)) continue;
      std::string key_type = g.type == "spot" ? "SPOT_PAIR" : g.type;
      for (char& c : key_type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (!types.empty() && !types.count(key_type)) continue;
      for (const auto& dt : g.data_types) {
        if (!tardis::FindSchema(dt) || (!wanted_dt.empty() && !wanted_dt.count(dt))) continue;
        if (per_instrument.count({day, ex, dt})) continue;
        items.push_back(pipeline::WorkItem{day, dt, ex, g.symbol, {}});
      }
    }
  }
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  return items;
}

Result<std::vector<pipeline::WorkItem>> MakePlan(pipeline::PlanRequest req, const ParsedArgs& args,
                                                 const Context& ctx) {
  if (!req.symbols.empty()) {
    // Definitions (when the store has them) say which exchange has a bare
    // symbol; without a readable store the symbol rules do.
    pipeline::KnownSymbols known;
    auto store = OpenOutputStore(args, ctx);
    Status st = store.ok() ? pipeline::LoadKnownSymbolsFor(store->get(), &req, &known) : store.status();
    if (!st.ok()) log::Warn("instrument definitions not read (" + st.message() + "); pairing symbols by symbol rules");
    return pipeline::BuildPlan(req);
  }
  MT_ASSIGN_OR_RETURN(auto store, OpenOutputStore(args, ctx));
  return PlanFromDefinitions(store.get(), req, args, ctx);
}

int RunPlan(const ParsedArgs& args, Context& ctx) {
  auto req = PlanRequestFromArgs(args, ctx);
  if (!req.ok()) return FailWith("plan", req.status());
  auto plan = MakePlan(*req, args, ctx);
  if (!plan.ok()) return FailWith("plan", plan.status());
  auto shard = ShardFromArgs(args, ctx);
  if (!shard.ok()) return FailWith("plan", shard.status());
  const auto items = pipeline::SelectShard(*plan, *shard);
  uint32_t shards = 0;
  if (args.Has("shards")) {
    auto s = pipeline::ParseShard("0/" + args.Get("shards"));
    if (!s.ok()) {
      std::fprintf(stderr, "market-tick plan: --shards must be a positive integer\n");
      return kExitUsage;
    }
    shards = s->count;
  }
  std::vector<size_t> sizes(shards, 0);
  for (const auto& it : *plan) {
    if (shards) sizes[pipeline::StableHash(it) % shards]++;
  }
  if (args.Has("json")) {
    std::printf("{\"count\":%zu,\"plan_count\":%zu,\"shard\":\"%u/%u\",\"items\":[", items.size(),
                plan->size(), shard->index, shard->count);
    for (size_t i = 0; i < items.size(); i++) {
      const auto& it = items[i];
      std::printf("%s{\"day\":\"%s\",\"data_type\":\"%s\",\"exchange\":\"%s\",\"symbol\":\"%s\"}", i ? "," : "",
                  FormatDate(it.day).c_str(), it.data_type.c_str(), log::JsonEscape(it.exchange).c_str(),
                  log::JsonEscape(it.symbol).c_str());
    }
    std::printf("]");
    if (shards) {
      std::printf(",\"shard_sizes\":[");
      for (uint32_t i = 0; i < shards; i++) std::printf("%s%zu", i ? "," : "", sizes[i]);
      std::printf("]");
    }
    std::printf("}\n");
  } else {
    std::printf("%-10s  %-20s  %-18s  %s\n", "day", "data_type", "exchange", "symbol");
    for (const auto& it : items) {
      std::printf("%-10s  %-20s  %-18s  %s\n", FormatDate(it.day).c_str(), it.data_type.c_str(),
                  it.exchange.c_str(), it.symbol.c_str());
    }
    std::printf("%zu items", items.size());
    if (shard->count > 1) std::printf(" in shard %u/%u (plan: %zu)", shard->index, shard->count, plan->size());
    std::printf("\n");
    if (shards) {
      size_t mn = SIZE_MAX, mx = 0;
      for (size_t s : sizes) {
        mn = std::min(mn, s);
        mx = std::max(mx, s);
      }
      const double mean = static_cast<double>(plan->size()) / shards;
      std::printf("%u shards: min %zu, max %zu, mean %.2f items (max %+.1f%% of the mean)\n", shards, mn, mx,
                  mean, mean > 0 ? (static_cast<double>(mx) / mean - 1) * 100 : 0.0);
      std::printf("shard sizes:");
      for (uint32_t i = 0; i < shards; i++) std::printf(" %u:%zu", i, sizes[i]);
      std::printf("\n");
    }
  }
  return kExitOk;
}

int RunDownload(const ParsedArgs& args, Context& ctx) {
  // An early failure's exit code comes from its Status (ExitCodeFor): a bad
  // flag is 2, a store or token endpoint that did not answer 3.
  auto fail = [](const Status& st) { return FailWith("download", st); };
  auto req = PlanRequestFromArgs(args, ctx);
  if (!req.ok()) return fail(req.status());
  auto out = OpenOutputStore(args, ctx);
  if (!out.ok()) return fail(out.status());
  // --from-report: exactly the missing and corrupt items of the days'
  // missing-data reports (written by validate); all their data types unless
  // --data-types / DATA_TYPES narrows them.
  Result<std::vector<pipeline::WorkItem>> plan = std::vector<pipeline::WorkItem>();
  pipeline::KnownSymbols known;
  if (args.Has("from-report")) {
    if (Status st = pipeline::CheckExchanges(req->exchanges); !st.ok()) return fail(st);
    const bool typed = args.Has("data-types") || ctx.config.Get("DATA_TYPES").has_value();
    auto rp = validate::PlanFromReports(out->get(), req->from, req->to, req->exchanges,
                                        typed ? req->data_types : std::vector<std::string>());
    if (!rp.ok()) return fail(rp.status().WithContext("--from-report"));
    for (const Date& d : rp->days_without_report) {
      log::Warn("--from-report: " + FormatDate(d) + " has no missing-data report (run market-tick validate first)");
    }
    log::Info("--from-report: " + std::to_string(rp->missing) + " missing and " + std::to_string(rp->corrupt) +
              " corrupt items (" + std::to_string(rp->not_available) +
              " not available at the source are not asked for again)");
    plan = std::move(rp->items);
  } else if (!req->symbols.empty()) {
    if (Status st = pipeline::LoadKnownSymbolsFor(out->get(), &*req, &known); !st.ok()) {
      log::Error("reading instrument definitions: " + st.message());
      return ExitCodeFor(st);
    }
    plan = pipeline::BuildPlan(*req);
  } else {
    plan = PlanFromDefinitions(out->get(), *req, args, ctx);
  }
  if (!plan.ok()) return fail(plan.status());
  auto shard = ShardFromArgs(args, ctx);
  if (!shard.ok()) return fail(shard.status());
  const auto items = pipeline::SelectShard(*plan, *shard);

  auto settings = ConvertSettingsFromArgs(args, ctx);
  if (!settings.ok()) return fail(settings.status());

  pipeline::DownloadOptions opts;
  opts.store = out->get();
  pipeline::StoreKeyResolvers keys(out->get());
  opts.keys = &keys;
  opts.convert = settings->convert;
  opts.datasets_url = ctx.config.GetOr("TARDIS_DATASETS_URL", "https://datasets.tardis.dev");
  auto key = ApiKey(ctx);
  if (!key.ok()) return fail(key.status());
  opts.api_key = *key;
  opts.force = args.Has("force") || args.Has("from-report");  // corrupt objects are replaced
  const std::string conc = args.Get("concurrency", ctx.config.GetOr("MAX_CONCURRENT_REQUESTS", "8"));
  auto c = PositiveInt("--concurrency/MAX_CONCURRENT_REQUESTS", conc, 1, 256);
  if (!c.ok()) return fail(c.status());
  opts.concurrency = static_cast<int>(*c);
  auto retry = RetryFromConfig(ctx);
  if (!retry.ok()) return fail(retry.status());
  opts.retry = *retry;
  opts.cancel = &g_cancel;
  if (const Status st = ItemBoundsFromConfig(ctx, &opts); !st.ok()) return fail(st);

  if (args.Has("dry-run")) {
    for (const auto& it : items) std::printf("%s\n", pipeline::DatasetUrl(opts.datasets_url, it).c_str());
    std::fprintf(stderr, "%zu items (dry run: nothing downloaded)\n", items.size());
    return kExitOk;
  }

  // A write error on the output (permission denied, not a directory, a
  // read-only file system) would fail every item and no rerun can fix it:
  // found here, before any download, as a configuration error.
  if (const Status st = (*out)->CheckWritable(); !st.ok()) return fail(st);

  std::unique_ptr<ThreadPool> pool;
  if (settings->threads > 1) pool = std::make_unique<ThreadPool>(settings->threads);
  opts.convert.writer.pool = pool.get();
  // Files in flight share a parse-buffer budget (DOWNLOAD_BUFFER_MB, default
  // 128): each gets budget/N, at most the convert default of 64 MiB. A file in
  // flight holds a small multiple of its share (the batch being parsed, the
  // row group being encoded, vector slack), so peak RSS does not grow with N
  // (bench/README.md, download).
  // Row groups shrink accordingly (8 in flight: ~16 MiB of values each).
  {
    auto mb = PositiveInt("DOWNLOAD_BUFFER_MB", ctx.config.GetOr("DOWNLOAD_BUFFER_MB", "128"), 16, 1 << 20);
    if (!mb.ok()) return fail(mb.status());
    const size_t share = (*mb << 20) / static_cast<size_t>(opts.concurrency);
    opts.convert.parser.batch_bytes = std::clamp<size_t>(share, 8u << 20, opts.convert.parser.batch_bytes);
  }
  log::Info("downloading " + std::to_string(items.size()) + " items (shard " + std::to_string(shard->index) +
            "/" + std::to_string(shard->count) + ", " + std::to_string(opts.concurrency) +
            " in flight) to " + (*out)->Describe(""));

  // Signals: stop starting items, abandon those in flight (nothing partial).
  std::atomic<bool> watching{true};
  std::thread watcher([&] {
    while (watching) {
      if (Interrupted()) g_cancel = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  pipeline::Downloader dl(opts);
  std::vector<pipeline::ItemResult> results;
  {
    ProgressLine progress(dl.progress());
    results = dl.Run(items);
  }
  watching = false;
  watcher.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::map<pipeline::Outcome, int> counts;
  uint64_t bytes_in = 0, bytes_out = 0, rows = 0, unkeyed_rows = 0;
  for (const auto& r : results) {
    counts[r.outcome]++;
    unkeyed_rows += r.unkeyed_rows;
    bytes_in += r.bytes_in;
    bytes_out += r.bytes_out;
    rows += r.rows;
    for (const auto& o : r.objects) {
      if (r.outcome == pipeline::Outcome::kDone || r.outcome == pipeline::Outcome::kNoData) {
        std::printf("%s\t%s\t%s\n", pipeline::OutcomeName(r.outcome), r.item.Id().c_str(), o.c_str());
      }
    }
  }
  // One line per item that is not done: failures on stderr as errors, the
  // source's 404s on stdout (a result: recorded, validate reports them as
  // not_available) and as a warning.
  for (const auto& r : results) {
    if (r.outcome == pipeline::Outcome::kFailed || r.outcome == pipeline::Outcome::kRetryable) {
      log::Error(std::string(pipeline::OutcomeName(r.outcome)) + " " + r.item.Id() + ": " + r.reason);
    } else if (r.outcome == pipeline::Outcome::kNotAvailable) {
      std::printf("%s\t%s\t-\n", pipeline::OutcomeName(r.outcome), r.item.Id().c_str());
      log::Warn(std::string(pipeline::OutcomeName(r.outcome)) + " " + r.item.Id() + ": " + r.reason);
    }
  }
  char line[512];
  std::snprintf(line, sizeof line,
                "summary: %zu items: %d done, %d skipped, %d no data, %d not available, %d failed, %d failed "
                "(retryable), %d cancelled; %s in, %s out, %llu rows in %.1f s",
                results.size(), counts[pipeline::Outcome::kDone], counts[pipeline::Outcome::kSkipped],
                counts[pipeline::Outcome::kNoData], counts[pipeline::Outcome::kNotAvailable],
                counts[pipeline::Outcome::kFailed], counts[pipeline::Outcome::kRetryable],
                counts[pipeline::Outcome::kCancelled], HumanBytes(bytes_in).c_str(),
                HumanBytes(bytes_out).c_str(), static_cast<unsigned long long>(rows), secs);
  log::Info(line);
  if (args.Has("summary-json")) {
    std::string js = "{\"items\":" + std::to_string(results.size()) + ",\"counts\":{";
    bool first = true;
    for (auto o : {pipeline::Outcome::kDone, pipeline::Outcome::kSkipped, pipeline::Outcome::kNoData,
                   pipeline::Outcome::kNotAvailable, pipeline::Outcome::kFailed, pipeline::Outcome::kRetryable,
                   pipeline::Outcome::kCancelled}) {
      js += std::string(first ? "" : ",") + "\"" + pipeline::OutcomeName(o) + "\":" + std::to_string(counts[o]);
      first = false;
    }
    js += "},\"bytes_in\":" + std::to_string(bytes_in) + ",\"bytes_out\":" + std::to_string(bytes_out) +
          ",\"rows\":" + std::to_string(rows) + ",\"unkeyed_rows\":" + std::to_string(unkeyed_rows) +
          ",\"seconds\":" + std::to_string(secs) + ",\"results\":[";
    for (size_t i = 0; i < results.size(); i++) {
      const auto& r = results[i];
      js += std::string(i ? "," : "") + "{\"id\":\"" + log::JsonEscape(r.item.Id()) + "\",\"outcome\":\"" +
            pipeline::OutcomeName(r.outcome) + "\",\"reason\":\"" + log::JsonEscape(RedactSecrets(r.reason)) +
            "\",\"requests\":" + std::to_string(r.requests) + ",\"rows\":" + std::to_string(r.rows) +
            ",\"bytes_in\":" + std::to_string(r.bytes_in) + ",\"bytes_out\":" + std::to_string(r.bytes_out) +
            ",\"objects\":[";
      for (size_t j = 0; j < r.objects.size(); j++) {
        js += std::string(j ? "," : "") + "\"" + log::JsonEscape(r.objects[j]) + "\"";
      }
      js += "],\"unkeyed_rows\":" + std::to_string(r.unkeyed_rows) + ",\"unkeyed_symbols\":[";
      for (size_t j = 0; j < r.unkeyed_symbols.size(); j++) {
        js += std::string(j ? "," : "") + "\"" + log::JsonEscape(r.unkeyed_symbols[j]) + "\"";
      }
      js += "]}";
    }
    js += "]}\n";
    std::ofstream f(args.Get("summary-json"));
    // Reasons may quote a server's answer: each is redacted before it is
    // escaped (a credential pattern is found in the raw text), the whole
    // again for registered secrets in any form.
    f << RedactSecrets(js);
    if (!f) log::Error("cannot write --summary-json " + args.Get("summary-json"));
  }
  if (!dl.fatal_error().ok()) {
    log::Error(dl.fatal_error().message());
    return ExitCodeFor(dl.fatal_error());
  }
  if (g_cancel) {
    log::Warn("interrupted: items in flight were abandoned (nothing partial written); run again to finish");
    return kExitInterrupted;
  }
  if (unkeyed_rows > 0) {
    log::Warn(std::to_string(unkeyed_rows) + " rows have no instrument key and were kept under "
              "{VENUE}:UNKEYED:{symbol} names (see above); exit code 1: a rerun cannot change it");
  }
  if (counts[pipeline::Outcome::kFailed] > 0 || unkeyed_rows > 0) return kExitFailed;
  if (counts[pipeline::Outcome::kRetryable] > 0) return kExitRetryable;
  return kExitOk;
}

}  // namespace mt::cli
