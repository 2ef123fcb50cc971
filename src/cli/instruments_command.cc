// `market-tick instruments`: Tardis metadata -> canonical instrument
// definitions per day (docs/INSTRUMENTS.md), written as
// instrument_availability/by_date/day-D/instruments.parquet plus the
// aggregate for the range, or printed with --format.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "cli/commands.h"
#include "cli/settings.h"
#include "core/log.h"
#include "core/redact.h"
#include "parquet/file_reader.h"
#include "pipeline/instruments.h"
#include "pipeline/instruments_file.h"
#include "pipeline/instruments_merge.h"
#include "pipeline/metadata_source.h"
#include "pipeline/plan.h"
#include "storage/layout.h"

namespace mt::cli {

namespace {

using ojson = nlohmann::ordered_json;

// The seed's venues (docs/INSTRUMENTS.md names them; upbit is not a default).
const char* const kDefaultExchanges =
    "binance,binance-futures,deribit,bybit,bybit-spot,okex,okex-futures,okex-swap";  // the seed's eight

// Rejections and warnings printed per exchange; the rest go to --summary-json.
constexpr size_t kMaxLoggedPerExchange = 25;

std::atomic<bool> g_cancel{false};

struct Options {
  Date from, to;
  std::vector<std::string> exchanges;
  std::vector<std::string> quotes;
  std::string format;  // "" = write files
  bool force = false;
  std::string summary_json;
};

Result<Options> OptionsFromArgs(const ParsedArgs& args, const Context& ctx) {
  Options o;
  MT_ASSIGN_OR_RETURN(const DateRange range, DateRangeFromArgs(args));
  o.from = range.from;
  o.to = range.to;
  std::string ex = args.Get("exchanges", ctx.config.GetOr("EXCHANGES", ""));
  if (ex.empty()) ex = kDefaultExchanges;
  o.exchanges = pipeline::SplitList(ex);
  static const std::regex kId("^[a-z0-9][a-z0-9-]*$");
  std::vector<std::string> unique;
  for (const auto& e : o.exchanges) {
    if (!std::regex_match(e, kId)) {
      return Status::Usage("--exchanges: '" + e + "' is not a Tardis exchange id (lower-case, e.g. binance-futures)");
    }
    if (std::find(unique.begin(), unique.end(), e) == unique.end()) unique.push_back(e);
  }
  o.exchanges = unique;
  if (o.exchanges.empty()) return Status::Usage("--exchanges is empty");
  for (auto q : pipeline::SplitList(args.Get("quote"))) {
    for (char& c : q) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    o.quotes.push_back(q);
  }
  o.format = args.Get("format");
  if (args.Has("format") && o.format != "table" && o.format != "csv" && o.format != "json") {
    return Status::Usage("--format must be table, csv or json");
  }
  o.force = args.Has("force");
  o.summary_json = args.Get("summary-json");
  return o;
}

std::string Shortest(double v) {
  char buf[40];
  for (int p = 1; p <= 17; p++) {
    std::snprintf(buf, sizeof buf, "%.*g", p, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// ---- printing (--format)

// Each column as text; null is nullopt.
std::vector<std::optional<std::string>> Cells(const pipeline::InstrumentDefinition& d) {
  using S = std::optional<std::string>;
  auto ts = [](const std::optional<int64_t>& v) { return v ? S(FormatIsoMicros(*v)) : S(); };
  auto num = [](const std::optional<double>& v) { return v ? S(Shortest(*v)) : S(); };
  auto b = [](const std::optional<bool>& v) { return v ? S(*v ? "true" : "false") : S(); };
  return {d.instrument_key, d.venue, d.instrument_type, ts(d.available_from_us), ts(d.available_to_us),
          d.data_types, d.base_asset, d.quote_asset, d.settle_asset, d.exchange_raw_symbol, d.tardis_symbol,
          d.tardis_exchange, d.data_provider, d.venue_type, d.asset_class, b(d.inverse), d.symbol_type,
          d.contract_type, num(d.strike), d.option_type, ts(d.expiry_us), num(d.contract_size),
          num(d.tick_size), d.settlement_type, d.underlying, num(d.min_size), d.ccxt_symbol, d.ccxt_exchange};
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void PrintCsv(const std::vector<pipeline::InstrumentDefinition>& defs) {
  const auto& cols = pipeline::InstrumentColumns();
  std::string line;
  for (size_t i = 0; i < cols.size(); i++) line += (i ? "," : "") + cols[i].name;
  std::printf("%s\n", line.c_str());
  for (const auto& d : defs) {
    line.clear();
    const auto cells = Cells(d);
    for (size_t i = 0; i < cells.size(); i++) {
      if (i) line += ',';
      if (cells[i]) line += CsvField(*cells[i]);
    }
    std::printf("%s\n", line.c_str());
  }
}

void PrintJson(const std::vector<pipeline::InstrumentDefinition>& defs) {
  const auto& cols = pipeline::InstrumentColumns();
  ojson arr = ojson::array();
  for (const auto& d : defs) {
    const auto cells = Cells(d);
    ojson o = ojson::object();
    for (size_t i = 0; i < cols.size(); i++) {
      if (!cells[i]) {
        o[cols[i].name] = nullptr;
      } else if (cols[i].kind == columnar::ColumnKind::kDouble) {
        o[cols[i].name] = std::strtod(cells[i]->c_str(), nullptr);
      } else if (cols[i].kind == columnar::ColumnKind::kBool) {
        o[cols[i].name] = *cells[i] == "true";
      } else {
        o[cols[i].name] = *cells[i];
      }
    }
    arr.push_back(std::move(o));
  }
  std::printf("%s\n", arr.dump(1).c_str());
}

void PrintTable(const std::vector<pipeline::InstrumentDefinition>& defs) {
  // A readable subset; csv and json carry every column.
  const std::vector<std::pair<const char*, size_t>> shown = {
      {"instrument_key", 0}, {"tardis_symbol", 10}, {"available_from_datetime", 3}, {"available_to_datetime", 4},
      {"settle_asset", 8},   {"inverse", 15},      {"tick_size", 22},              {"contract_size", 21},
      {"data_types", 5}};
  std::vector<std::vector<std::string>> rows;
  rows.push_back({});
  for (const auto& s : shown) rows[0].push_back(s.first);
  for (const auto& d : defs) {
    const auto cells = Cells(d);
    std::vector<std::string> r;
    for (const auto& s : shown) {
      std::string v = cells[s.second].value_or("-");
      if (s.second == 3 || s.second == 4) v = v.substr(0, std::min<size_t>(v.size(), 10));  // the day
      r.push_back(v);
    }
    rows.push_back(std::move(r));
  }
  std::vector<size_t> w(shown.size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); i++) w[i] = std::max(w[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); i++) {
      std::string c = r[i];
      if (i + 1 < r.size()) c.resize(w[i] + 2, ' ');
      line += c;
    }
    std::printf("%s\n", line.c_str());
  }
  std::printf("%zu instruments\n", defs.size());
}

// ---- metadata

struct Fetched {
  std::string exchange;
  Result<const pipeline::ExchangeMetadata*> meta = Status::Internal("not fetched");
};

// One thread per exchange: the responses are independent and some are large.
std::vector<Fetched> FetchAll(pipeline::MetadataSource* source, const std::vector<std::string>& exchanges) {
  std::vector<Fetched> out(exchanges.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < exchanges.size(); i++) {
    out[i].exchange = exchanges[i];
    threads.emplace_back([&, i] { out[i].meta = source->Get(exchanges[i]); });
  }
  for (auto& t : threads) t.join();
  return out;
}

// `only`: the exchanges to include (null: all).
ojson GroupedJson(const std::vector<pipeline::GroupedSymbol>& grouped, const std::optional<Date>& day,
                  const std::set<std::string>* only = nullptr) {
  ojson arr = ojson::array();
  for (const auto& g : grouped) {
    if (only && !only->count(g.exchange)) continue;
    if (day && !pipeline::OverlapsDay(g.symbol.available_since_us, g.symbol.available_to_us, *day)) continue;
    ojson o = {{"exchange", g.exchange}, {"symbol", g.symbol.id}, {"type", g.symbol.type},
               {"data_types", g.symbol.data_types}};
    arr.push_back(std::move(o));
  }
  return arr;
}

std::string JoinList(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// Whether every file of `names` exists and holds each of `exchanges` as
// final. Footers are read a few at a time; the first file that does not
// stops the check.
bool AllHold(storage::ObjectStore* store, const std::vector<std::string>& names,
             const std::vector<std::string>& exchanges) {
  std::atomic<size_t> next{0};
  std::atomic<bool> all{true};
  auto worker = [&] {
    while (all) {
      const size_t i = next++;
      if (i >= names.size()) return;
      auto file = parquet::FileReader::Open(store, names[i]);
      if (!file.ok() ||
          !pipeline::ExchangesToWrite(pipeline::StateOf((*file)->metadata().key_value), exchanges, false).empty()) {
        all = false;
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 0; t < std::min<size_t>(8, names.size()); t++) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  return all;
}

}  // namespace

int RunInstruments(const ParsedArgs& args, Context& ctx) {
  auto usage = [](const Status& st) { return FailWith("instruments", st); };
  auto opts = OptionsFromArgs(args, ctx);
  if (!opts.ok()) return usage(opts.status());
  auto key = ApiKey(ctx);
  if (!key.ok()) return usage(key.status());
  auto retry = RetryFromConfig(ctx);
  if (!retry.ok()) return usage(retry.status());
  const bool to_files = opts->format.empty();

  std::vector<Date> days;
  for (Date d = opts->from; d <= opts->to; d = AddDays(d, 1)) days.push_back(d);
  const std::string aggregate = storage::InstrumentsAggregateName(opts->from, opts->to);

  std::unique_ptr<storage::ObjectStore> store;
  if (to_files) {
    auto out = OpenOutputStore(args, ctx);
    if (!out.ok()) return usage(out.status());
    store = std::move(*out);
    if (!opts->force) {
      // Every file already holds every requested exchange as final: done
      // without a request to Tardis (one footer read per file).
      std::vector<std::string> names;
      for (const Date& d : days) names.push_back(storage::InstrumentsObjectName(d));
      names.push_back(aggregate);
      if (AllHold(store.get(), names, opts->exchanges)) {
        log::Info("instruments: all " + std::to_string(days.size()) + " day files and the aggregate in " +
                  store->Describe("") + " hold " + JoinList(opts->exchanges) +
                  "; nothing to do (--force rewrites those exchanges)");
        return kExitOk;
      }
    }
  }

  std::atomic<bool> watching{true};
  std::thread watcher([&] {
    while (watching) {
      if (Interrupted()) g_cancel = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  struct StopWatcher {
    std::atomic<bool>& w;
    std::thread& t;
    ~StopWatcher() {
      w = false;
      t.join();
    }
  } stop_watcher{watching, watcher};

  const auto t0 = std::chrono::steady_clock::now();
  pipeline::MetadataOptions mopts;
  mopts.api_url = ctx.config.GetOr("TARDIS_API_URL", "https://api.tardis.dev");
  mopts.api_key = *key;
  mopts.retry = *retry;
  mopts.user_agent = std::string("market-tick/") + kVersion;
  mopts.cancel = &g_cancel;
  pipeline::MetadataSource source(mopts);
  const std::vector<Fetched> fetched = FetchAll(&source, opts->exchanges);

  int fail_code = kExitOk;
  for (const auto& f : fetched) {
    if (f.meta.ok()) continue;
    log::Error(f.exchange + ": " + net::Redact(f.meta.status().message(), *key));
    // Interrupted beats a permanent failure, which beats a retryable one.
    fail_code = WorseExitCode(fail_code, ExitCodeFor(f.meta.status()));
  }
  if (fail_code != kExitOk) {
    // Day files hold every exchange: with one missing they would be wrong,
    // and create-only would keep them wrong. Nothing is written.
    log::Error("instruments: metadata incomplete after " + std::to_string(source.requests()) +
               " requests; no files written");
    return fail_code;
  }

  pipeline::Catalog catalog;
  pipeline::CatalogOptions copts;
  copts.quotes = opts->quotes;
  for (const auto& f : fetched) {
    const pipeline::ExchangeMetadata& m = *f.meta.value();
    if (!m.details.has_datasets) log::Warn(f.exchange + ": /v1/exchanges gave no datasets listing: no instruments");
    pipeline::AddExchange(m.details, m.have_instruments ? &m.instruments : nullptr, copts, &catalog);
  }
  pipeline::FinishCatalog(&catalog);

  // Per-exchange report on stderr.
  std::map<std::string, std::vector<const pipeline::RejectedSymbol*>> rejected_by;
  for (const auto& r : catalog.rejected) rejected_by[r.exchange].push_back(&r);
  std::map<std::string, size_t> instruments_by, grouped_by;
  for (const auto& e : catalog.entries) instruments_by[e.base.tardis_exchange]++;
  for (const auto& g : catalog.grouped) grouped_by[g.exchange]++;
  for (const auto& f : fetched) {
    const pipeline::ExchangeMetadata& m = *f.meta.value();
    const auto& rj = rejected_by[f.exchange];
    log::Info(f.exchange + ": " + std::to_string(m.details.symbols.size()) + " dataset symbols: " +
              std::to_string(instruments_by[f.exchange]) + " instruments, " + std::to_string(grouped_by[f.exchange]) +
              " grouped, " + std::to_string(rj.size()) + " rejected; " +
              (m.have_instruments ? std::to_string(m.instruments.size()) + " /v1/instruments records"
                                  : "no instrument metadata (" + m.instruments_note.substr(0, 60) + ")"));
    for (size_t i = 0; i < rj.size() && i < kMaxLoggedPerExchange; i++) {
      log::Warn("rejected " + f.exchange + " " + rj[i]->symbol + ": " + rj[i]->reason);
    }
    if (rj.size() > kMaxLoggedPerExchange) {
      log::Warn("... and " + std::to_string(rj.size() - kMaxLoggedPerExchange) + " more rejected " + f.exchange +
                " symbols (all are in --summary-json)");
    }
  }
  for (size_t i = 0; i < catalog.warnings.size() && i < kMaxLoggedPerExchange; i++) log::Warn(catalog.warnings[i]);

  if (!to_files) {
    const auto defs = pipeline::DefinitionsForRange(catalog, opts->from, opts->to);
    if (opts->format == "csv") PrintCsv(defs);
    else if (opts->format == "json") PrintJson(defs);
    else PrintTable(defs);
    return kExitOk;
  }

  parquet::WriterOptions wopts;
  wopts.created_by = std::string("market-tick version ") + kVersion;
  const std::string created_at = FormatIsoMicros(CreatedAtMicros());
  const std::string quotes_csv = JoinList(opts->quotes);
  std::map<std::string, const pipeline::ExchangeMetadata*> meta_of;
  for (const auto& f : fetched) meta_of[f.exchange] = f.meta.value();
  // Where one exchange's rows of a file come from, and whether Tardis had
  // exported the file's last day: if not, the listing may still change
  // (symbols added that day) and the file says so, for a later run to redo.
  auto source_for = [&](const std::string& ex, const Date& last) {
    const pipeline::ExchangeMetadata& m = *meta_of.at(ex);
    pipeline::ExchangeSource src;
    src.exchange = ex;
    for (const auto& u : m.urls) src.source += (src.source.empty() ? "" : " ") + u;
    src.source_bytes = m.source_bytes;
    src.created_at = created_at;
    src.quote_filter = quotes_csv;
    src.exported_until_us = m.details.exported_until_us;
    src.final = pipeline::ExportedThrough(src.exported_until_us, last);
    return src;
  };

  // One job per day plus the aggregate. Each merges this run's exchanges
  // into the file as stored (read, merge, write if unchanged, else again):
  // runs for other exchanges at the same time lose nothing. Files are
  // independent and each commit waits for the disk (fsync), so a few are
  // written at once; results are reported in day order.
  struct Job {
    std::string name;
    bool is_day = true;
    Date first, last;
    enum { kPending, kDone, kSkipped, kFailed } outcome = kPending;
    size_t rows = 0;
    uint64_t bytes = 0;
    int attempts = 0;
    std::vector<std::string> written, provisional;
    Status status;
  };
  std::vector<Job> jobs(days.size() + 1);
  for (size_t i = 0; i < days.size(); i++) {
    jobs[i].name = storage::InstrumentsObjectName(days[i]);
    jobs[i].first = jobs[i].last = days[i];
  }
  jobs.back().name = aggregate;
  jobs.back().is_day = false;
  jobs.back().first = opts->from;
  jobs.back().last = opts->to;
  // Enough for a handful of runs merging into the same files at once.
  constexpr int kMaxMergeAttempts = 40;
  auto merge_into = [&](Job& job) -> Status {
    const std::string where = store->Describe(job.name);
    for (int attempt = 1;; attempt++) {
      if (g_cancel) return Status::Cancelled(where + ": interrupted");
      job.attempts = attempt;
      MT_ASSIGN_OR_RETURN(storage::ObjectStore::Versioned stored, store->ReadVersioned(job.name));
      std::optional<pipeline::InstrumentsFileContents> existing;
      pipeline::InstrumentsFileState state;
      if (stored.generation != 0) {
        state.exists = true;
        auto file = parquet::FileReader::OpenBuffer(std::move(stored.bytes), where);
        Result<pipeline::InstrumentsFileContents> contents =
            file.ok() ? pipeline::ReadInstrumentsFile(**file) : Result<pipeline::InstrumentsFileContents>(file.status());
        if (contents.ok()) {
          existing = std::move(contents).value();
          state = pipeline::StateOf(existing->kv);
          // A file from before finality was recorded: what Tardis has not
          // exported yet cannot have been final.
          if (state.legacy) {
            for (const auto& e : state.exchanges) {
              auto it = meta_of.find(e);
              if (it != meta_of.end() && !pipeline::ExportedThrough(it->second->details.exported_until_us, job.last)) {
                state.provisional.insert(e);
              }
            }
          }
        } else if (!opts->force) {
          return Status::InvalidInput(where + " is not a readable instruments file (" + contents.status().message() +
                                      "): move it away, or rerun with --force to replace it");
        } else {
          log::Warn(where + " is not a readable instruments file (" + contents.status().message() +
                    "); --force replaces it with the requested exchanges only");
        }
      }
      const std::vector<std::string> to_write = pipeline::ExchangesToWrite(state, opts->exchanges, opts->force);
      if (to_write.empty()) {
        job.outcome = Job::kSkipped;
        return Status::OK();
      }
      pipeline::MergeInput in;
      in.existing = existing ? &*existing : nullptr;
      in.replaced.insert(to_write.begin(), to_write.end());
      for (const auto& e : to_write) in.sources.push_back(source_for(e, job.last));
      in.grouped_json =
          GroupedJson(catalog.grouped, job.is_day ? std::optional<Date>(job.first) : std::nullopt, &in.replaced).dump();
      in.first = job.first;
      in.last = job.last;
      in.created_at = created_at;
      in.tool_version = kVersion;
      pipeline::MergedInstruments merged = pipeline::MergeInstruments(in, [&](const pipeline::DefinitionFn& fn) {
        if (job.is_day) {
          pipeline::ForEachOnDay(catalog, job.first, fn);
        } else {
          pipeline::ForEachInRange(catalog, job.first, job.last, fn);
        }
      });
      existing.reset();
      const size_t row_count = merged.rows.num_rows;
      MT_ASSIGN_OR_RETURN(std::unique_ptr<storage::WritableObject> obj,
                          store->CreateIfGeneration(job.name, stored.generation));
      auto bytes = pipeline::WriteInstrumentsObject(obj.get(), where, std::move(merged.rows), merged.kv, wopts);
      if (bytes.ok()) {
        job.outcome = Job::kDone;
        job.rows = row_count;
        job.bytes = *bytes;
        job.written = to_write;
        job.provisional = merged.provisional;
        return Status::OK();
      }
      if (bytes.status().code() != Status::Code::kAlreadyExists) return bytes.status();
      // Another run wrote the file since we read it: read its version and merge again.
      if (attempt >= kMaxMergeAttempts) {
        return Status::Unavailable(where + ": other runs changed it " + std::to_string(attempt) +
                                   " times while this run merged into it; run again");
      }
      log::Debug(where + ": changed by another run while merging; attempt " + std::to_string(attempt + 1));
      static thread_local std::mt19937 rng{std::random_device{}()};
      const int ms = std::uniform_int_distribution<int>(5, 20 * std::min(attempt, 10))(rng);
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
  };
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto worker = [&] {
    while (true) {
      const size_t i = next++;
      if (i >= jobs.size() || failed || g_cancel) return;
      Job& job = jobs[i];
      const Status st = merge_into(job);
      if (!st.ok() && st.code() != Status::Code::kCancelled) {
        job.outcome = Job::kFailed;
        job.status = st;
        failed = true;
      }
    }
  };
  {
    const size_t n = std::min<size_t>(8, jobs.size());
    std::vector<std::thread> threads;
    for (size_t t = 0; t < n; t++) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
  }
  size_t written = 0, skipped = 0, rows_total = 0, merge_retries = 0;
  uint64_t bytes_total = 0;
  Status st;
  for (const Job& job : jobs) {
    if (job.attempts > 1) merge_retries += static_cast<size_t>(job.attempts - 1);
    if (job.outcome == Job::kDone) {
      written++;
      rows_total += job.rows;
      bytes_total += job.bytes;
      std::string line = "done\t" + job.name + "\t" + std::to_string(job.rows);
      if (!job.provisional.empty()) line += "\tprovisional:" + JoinList(job.provisional);
      std::printf("%s\n", line.c_str());
    } else if (job.outcome == Job::kSkipped) {
      skipped++;
      std::printf("skipped\t%s\n", job.name.c_str());
    } else if (job.outcome == Job::kFailed && st.ok()) {
      st = job.status;
    }
  }
  // Days not yet fully exported, per exchange: their rows were written as
  // provisional (or are already so) and a later run rewrites them.
  std::map<std::string, std::vector<Date>> provisional_days;
  for (const auto& f : fetched) {
    for (const Date& d : days) {
      if (!pipeline::ExportedThrough(meta_of[f.exchange]->details.exported_until_us, d)) {
        provisional_days[f.exchange].push_back(d);
      }
    }
  }
  for (const auto& [ex, ds] : provisional_days) {
    log::Warn(ex + ": Tardis has exported its data until " +
              FormatIsoMicros(*meta_of[ex]->details.exported_until_us) + " (datasets.exportedUntil), so its listing for " +
              (ds.size() == 1 ? FormatDate(ds[0]) : FormatDate(ds.front()) + " .. " + FormatDate(ds.back())) +
              " is provisional: those day files (and the aggregate) mark it so, and the next run of instruments "
              "for these days rewrites it");
  }
  size_t aggregate_rows = 0;
  pipeline::ForEachInRange(catalog, opts->from, opts->to, [&](const pipeline::InstrumentDefinition&) { aggregate_rows++; });
  if (st.ok() && g_cancel) {
    log::Warn("instruments: interrupted; the files listed as done are complete, the others were not written");
    return kExitInterrupted;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!st.ok()) {
    log::Error("instruments: " + st.message());
    return ExitCodeFor(st);
  }
  char line[400];
  std::snprintf(line, sizeof line,
                "instruments: %zu days, %zu files written, %zu skipped; %zu instruments in the range, %zu rejected "
                "symbols, %zu grouped; %d metadata requests; %.2f s",
                days.size(), written, skipped, aggregate_rows, catalog.rejected.size(), catalog.grouped.size(),
                source.requests(), secs);
  log::Info(line);

  if (!opts->summary_json.empty()) {
    ojson s = ojson::object();
    s["from"] = FormatDate(opts->from);
    s["to"] = FormatDate(opts->to);
    s["days"] = days.size();
    s["files_written"] = written;
    s["files_skipped"] = skipped;
    s["rows_written"] = rows_total;
    s["bytes_written"] = bytes_total;
    s["aggregate"] = aggregate;
    s["aggregate_rows"] = aggregate_rows;
    s["metadata_requests"] = source.requests();
    s["merge_retries"] = merge_retries;  // files read again because another run changed them meanwhile
    s["seconds"] = secs;
    ojson exs = ojson::array();
    for (const auto& f : fetched) {
      const pipeline::ExchangeMetadata& m = *f.meta.value();
      ojson rj = ojson::array();
      for (const auto* r : rejected_by[f.exchange]) rj.push_back({{"symbol", r->symbol}, {"reason", RedactSecrets(r->reason)}});
      ojson gr = ojson::array();
      for (const auto& g : catalog.grouped) {
        if (g.exchange == f.exchange) gr.push_back({{"symbol", g.symbol.id}, {"type", g.symbol.type}, {"data_types", g.symbol.data_types}});
      }
      exs.push_back({{"exchange", f.exchange},
                     {"dataset_symbols", m.details.symbols.size()},
                     {"instruments", instruments_by[f.exchange]},
                     {"instrument_metadata", m.have_instruments},
                     {"instrument_metadata_records", m.instruments.size()},
                     {"instrument_metadata_note", RedactSecrets(m.instruments_note)},
                     {"grouped", gr},
                     {"rejected", rj}});
      exs.back()["exported_until"] =
          m.details.exported_until_us ? ojson(FormatIsoMicros(*m.details.exported_until_us)) : ojson(nullptr);
      ojson pd = ojson::array();
      for (const Date& d : provisional_days[f.exchange]) pd.push_back(FormatDate(d));
      exs.back()["provisional_days"] = pd;
    }
    s["exchanges"] = exs;
    // Free text is redacted before the JSON escapes it (a credential
    // pattern is found in the raw text), the whole again below.
    ojson warnings = ojson::array();
    for (const auto& w : catalog.warnings) warnings.push_back(RedactSecrets(w));
    s["warnings"] = warnings;
    std::ofstream out(opts->summary_json);
    out << RedactSecrets(s.dump(1)) << "\n";
    if (!out) log::Error("cannot write --summary-json " + opts->summary_json);
  }
  return kExitOk;
}

}  // namespace mt::cli
