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
#include "core/log.h"
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
  for (const auto& [day, why] : expected.definition_problems) {
    return Status::NotFound("no instrument definitions for " + FormatDate(day) + " (" + why +
                            "): run `market-tick instruments --from " + FormatDate(req.from) + " --to " +
                            FormatDate(req.to) + "` first, or name --symbols");
  }
  std::set<std::string> types;
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
  const std::set<std::string> bases = upper_set("base", "BASE_ASSETS"), quotes = upper_set("quote", "QUOTE_ASSETS");
  size_t max_instruments = SIZE_MAX;
  if (const std::string m = args.Get("max-instruments", ctx.config.GetOr("MAX_INSTRUMENTS", "")); !m.empty()) {
    MT_ASSIGN_OR_RETURN(max_instruments, PositiveInt("--max-instruments", m, 1, 100'000'000));
  }
  // Expiry window: futures and options expiring within N days of the day.
  int64_t max_days_to_expiry = -1;
  if (const std::string m = args.Get("max-days-to-expiry", ""); !m.empty()) {
    MT_ASSIGN_OR_RETURN(size_t n, PositiveInt("--max-days-to-expiry", m, 0, 100000));
    max_days_to_expiry = static_cast<int64_t>(n);
  }
  std::vector<pipeline::WorkItem> items;
  std::map<Date, std::set<std::string>> kept;  // instruments kept per day
  for (const auto& e : expected.items) {
    auto k = tardis::ParseInstrumentKey(e.instrument_key);
    if (!k.ok()) continue;
    if (!types.empty() && !types.count(k->type)) continue;
    if (!bases.empty() && !bases.count(k->base)) continue;
    if (!quotes.empty() && !quotes.count(k->quote)) continue;
    if (max_days_to_expiry >= 0 && k->expiry.size() == 6) {
      const auto exp = ParseDate("20" + k->expiry.substr(0, 2) + "-" + k->expiry.substr(2, 2) + "-" + k->expiry.substr(4, 2));
      if (!exp) continue;
      const int64_t to_expiry = DaysFromCivil(exp->year, exp->month, exp->day) -
                                DaysFromCivil(e.day.year, e.day.month, e.day.day);
      if (to_expiry < 0 || to_expiry > max_days_to_expiry) continue;
    }
    auto& day_keys = kept[e.day];
    if (!day_keys.count(e.instrument_key)) {
      if (day_keys.size() >= max_instruments) continue;
      day_keys.insert(e.instrument_key);
    }
    items.push_back(pipeline::WorkItem{e.day, e.data_type, e.exchange, e.symbol, e.instrument_key});
  }
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
    auto file = parquet::FileReader::Open(store, storage::InstrumentsObjectName(day));
    if (!file.ok()) continue;  // reported above as a definitions problem
    for (const auto& [k, v] : (*file)->metadata().key_value) {
      if (k != "grouped_symbols") continue;
      const auto groups = nlohmann::json::parse(v, nullptr, false);
      if (!groups.is_array()) continue;
      for (const auto& g : groups) {
        const std::string ex = g.value("exchange", ""), sym = g.value("symbol", ""), type = g.value("type", "");
        if (ex.empty() || sym.empty() || (!wanted_ex.empty() && !wanted_ex.count(ex))) continue;
        std::string key_type = type == "spot" ? "SPOT_PAIR" : type;
        for (char& c : key_type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (!types.empty() && !types.count(key_type)) continue;
        if (!g.contains("data_types") || !g["data_types"].is_array()) continue;
        for (const auto& d : g["data_types"]) {
          if (!d.is_string()) continue;
          const std::string dt = d.get<std::string>();
          if (!tardis::FindSchema(dt) || (!wanted_dt.empty() && !wanted_dt.count(dt))) continue;
          if (per_instrument.count({day, ex, dt})) continue;
          items.push_back(pipeline::WorkItem{day, dt, ex, sym, {}});
        }
      }
    }
  }
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  return items;
}

Result<std::vector<pipeline::WorkItem>> MakePlan(const pipeline::PlanRequest& req, const ParsedArgs& args,
                                                 const Context& ctx) {
  if (!req.symbols.empty()) return pipeline::BuildPlan(req);
  MT_ASSIGN_OR_RETURN(auto store, OpenOutputStore(args, ctx));
  return PlanFromDefinitions(store.get(), req, args, ctx);
}

int RunPlan(const ParsedArgs& args, Context& ctx) {
  auto req = PlanRequestFromArgs(args, ctx);
  if (!req.ok()) {
    std::fprintf(stderr, "market-tick plan: %s\n", req.status().message().c_str());
    return kExitUsage;
  }
  auto plan = MakePlan(*req, args, ctx);
  if (!plan.ok()) {
    std::fprintf(stderr, "market-tick plan: %s\n", plan.status().message().c_str());
    return plan.status().code() == Status::Code::kUsage ? kExitUsage : kExitFailed;
  }
  auto shard = ShardFromArgs(args, ctx);
  if (!shard.ok()) {
    std::fprintf(stderr, "market-tick plan: %s\n", shard.status().message().c_str());
    return kExitUsage;
  }
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
  auto fail_usage = [](const Status& st) {
    std::fprintf(stderr, "market-tick download: %s\n", st.message().c_str());
    return kExitUsage;
  };
  auto req = PlanRequestFromArgs(args, ctx);
  if (!req.ok()) return fail_usage(req.status());
  auto out = OpenOutputStore(args, ctx);
  if (!out.ok()) return fail_usage(out.status());
  // --from-report: exactly the missing and corrupt items of the days'
  // missing-data reports (written by validate); all their data types unless
  // --data-types / DATA_TYPES narrows them.
  Result<std::vector<pipeline::WorkItem>> plan = std::vector<pipeline::WorkItem>();
  if (args.Has("from-report")) {
    const bool typed = args.Has("data-types") || ctx.config.Get("DATA_TYPES").has_value();
    auto rp = validate::PlanFromReports(out->get(), req->from, req->to, req->exchanges,
                                        typed ? req->data_types : std::vector<std::string>());
    if (!rp.ok()) {
      log::Error("--from-report: " + rp.status().message());
      return rp.status().retryable() ? kExitRetryable : kExitFailed;
    }
    for (const Date& d : rp->days_without_report) {
      log::Warn("--from-report: " + FormatDate(d) + " has no missing-data report (run market-tick validate first)");
    }
    log::Info("--from-report: " + std::to_string(rp->missing) + " missing and " + std::to_string(rp->corrupt) +
              " corrupt items");
    plan = std::move(rp->items);
  } else if (!req->symbols.empty()) {
    plan = pipeline::BuildPlan(*req);
  } else {
    plan = PlanFromDefinitions(out->get(), *req, args, ctx);
    if (!plan.ok() && plan.status().code() != Status::Code::kUsage) {
      log::Error(plan.status().message());
      return kExitFailed;
    }
  }
  if (!plan.ok()) return fail_usage(plan.status());
  auto shard = ShardFromArgs(args, ctx);
  if (!shard.ok()) return fail_usage(shard.status());
  const auto items = pipeline::SelectShard(*plan, *shard);

  auto settings = ConvertSettingsFromArgs(args, ctx);
  if (!settings.ok()) return fail_usage(settings.status());

  pipeline::DownloadOptions opts;
  opts.store = out->get();
  opts.convert = settings->convert;
  opts.datasets_url = ctx.config.GetOr("TARDIS_DATASETS_URL", "https://datasets.tardis.dev");
  auto key = ApiKey(ctx);
  if (!key.ok()) return fail_usage(key.status());
  opts.api_key = *key;
  opts.force = args.Has("force") || args.Has("from-report");  // corrupt objects are replaced
  const std::string conc = args.Get("concurrency", ctx.config.GetOr("MAX_CONCURRENT_REQUESTS", "8"));
  auto c = PositiveInt("--concurrency/MAX_CONCURRENT_REQUESTS", conc, 1, 256);
  if (!c.ok()) return fail_usage(c.status());
  opts.concurrency = static_cast<int>(*c);
  auto retry = RetryFromConfig(ctx);
  if (!retry.ok()) return fail_usage(retry.status());
  opts.retry = *retry;
  opts.cancel = &g_cancel;

  if (args.Has("dry-run")) {
    for (const auto& it : items) std::printf("%s\n", pipeline::DatasetUrl(opts.datasets_url, it).c_str());
    std::fprintf(stderr, "%zu items (dry run: nothing downloaded)\n", items.size());
    return kExitOk;
  }

  std::unique_ptr<ThreadPool> pool;
  if (settings->threads > 1) pool = std::make_unique<ThreadPool>(settings->threads);
  opts.convert.writer.pool = pool.get();
  // Files in flight share a parse-buffer budget (DOWNLOAD_BUFFER_MB, default
  // 128): each gets budget/N, at most the convert default of 64 MiB. A file in
  // flight holds about 2.3x its share (the batch being parsed, the row group
  // being encoded, vector slack), so peak RSS stays near 300 MB for any N.
  // Row groups shrink accordingly (8 in flight: ~16 MiB of values each).
  {
    auto mb = PositiveInt("DOWNLOAD_BUFFER_MB", ctx.config.GetOr("DOWNLOAD_BUFFER_MB", "128"), 16, 1 << 20);
    if (!mb.ok()) return fail_usage(mb.status());
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
  for (const auto& r : results) {
    if (r.outcome == pipeline::Outcome::kFailed || r.outcome == pipeline::Outcome::kRetryable) {
      log::Error(std::string(pipeline::OutcomeName(r.outcome)) + " " + r.item.Id() + ": " + r.reason);
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
            pipeline::OutcomeName(r.outcome) + "\",\"reason\":\"" + log::JsonEscape(r.reason) +
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
    f << js;
    if (!f) log::Error("cannot write --summary-json " + args.Get("summary-json"));
  }
  if (!dl.fatal_error().ok()) {
    log::Error(dl.fatal_error().message());
    return kExitFailed;
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
