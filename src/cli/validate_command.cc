// `market-tick validate`: expected items (instrument definitions, or the
// download plan with --symbols) against the store; with --deep every
// present file's footer is checked. Writes the per-day missing-data reports,
// prints a summary table on stdout, optionally an HTML coverage report.
// Exit 0 when nothing expected is missing or corrupt, 1 otherwise.
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "cli/commands.h"
#include "cli/settings.h"
#include "core/log.h"
#include "core/redact.h"
#include "pipeline/key_resolver.h"
#include "pipeline/plan.h"
#include "storage/layout.h"
#include "validate/expected.h"
#include "validate/html_report.h"
#include "validate/missing_report.h"
#include "validate/validator.h"

namespace mt::cli {

namespace {

using validate::ItemStatus;

constexpr size_t kMaxPrintedProblems = 200;

std::string Row(const std::string& label, const std::array<size_t, validate::kNumStatuses>& c, int64_t rows,
                bool deep) {
  size_t total = 0;
  for (size_t v : c) total += v;
  auto n = [&c](ItemStatus s) { return c[static_cast<int>(s)]; };
  char line[256];
  std::snprintf(line, sizeof line, "%-22s %9zu %9zu %9zu %13zu %9zu %9zu %14s\n", label.c_str(), total,
                n(ItemStatus::kDone), n(ItemStatus::kNoData), n(ItemStatus::kNotAvailable), n(ItemStatus::kMissing),
                n(ItemStatus::kCorrupt), deep ? std::to_string(rows).c_str() : "-");
  return line;
}

}  // namespace

int RunValidate(const ParsedArgs& args, Context& ctx) {
  auto usage = [](const Status& st) { return FailWith("validate", st); };
  auto sel = PlanRequestFromArgs(args, ctx);
  if (!sel.ok()) return usage(sel.status());
  auto store = OpenOutputStore(args, ctx);
  if (!store.ok()) return usage(store.status());
  const std::string conc = args.Get("concurrency", "16");
  auto c = PositiveInt("--concurrency", conc, 1, 1024);
  if (!c.ok()) return usage(c.status());
  const bool deep = args.Has("deep");
  const std::string report_path = args.Get("report");
  if (args.Has("report") && report_path.empty()) return usage(Status::Usage("--report needs a file name"));

  const auto t0 = std::chrono::steady_clock::now();
  pipeline::StoreKeyResolvers keys(store->get());
  pipeline::KnownSymbols known;  // pairs bare --symbols with exchanges
  if (Status st = pipeline::LoadKnownSymbolsFor(store->get(), &*sel, &known); !st.ok()) {
    log::Error("validate: reading instrument definitions: " + st.message());
    return ExitCodeFor(st);
  }
  Result<validate::ExpectedSet> expected = sel->symbols.empty()
                                               ? validate::ExpectedFromDefinitions(store->get(), *sel)
                                               : validate::ExpectedFromPlan(*sel, &keys);
  if (!expected.ok()) {
    const Status& st = expected.status();
    if (st.code() == Status::Code::kUsage) return usage(st);
    log::Error("validate: " + st.message());
    return ExitCodeFor(st);
  }
  for (const auto& n : expected->notes) log::Warn(n);
  // One line per run of days with the same problem, not one per day.
  const std::vector<validate::DayRun> def_runs = validate::CollapseDays(expected->definition_problems);
  for (const auto& run : def_runs) log::Error(run.Days() + ": " + run.text);
  log::Info("validating " + std::to_string(expected->items.size()) + " expected items (from " + expected->source +
            ") in " + (*store)->Describe("") + (deep ? ", reading every footer" : ", existence only"));

  // Signals stop the checks; nothing is written then.
  std::atomic<bool> cancel{false}, watching{true};
  std::thread watcher([&] {
    while (watching) {
      if (Interrupted()) cancel = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  validate::ValidateOptions vo;
  vo.deep = deep;
  vo.concurrency = static_cast<int>(*c);
  vo.cancel = &cancel;
  auto last = std::make_shared<std::atomic<int64_t>>(0);
  vo.progress = [last](size_t done, size_t total) {
    const int64_t now = NowMicros();
    int64_t prev = last->load();
    if ((now - prev > 5'000'000 || done == total) && last->compare_exchange_strong(prev, now)) {
      log::Info("checked " + std::to_string(done) + "/" + std::to_string(total) + " footers");
    }
  };
  validate::ValidationResult res = validate::Validate(store->get(), *expected, vo);
  watching = false;
  watcher.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (res.cancelled || Interrupted()) {
    log::Warn("interrupted: no reports written");
    return kExitInterrupted;
  }
  if (!res.store_error.ok()) {
    log::Error("store: " + res.store_error.message());
    if (res.items.empty() || res.store_error.retryable()) {
      return ExitCodeFor(res.store_error);
    }
  }

  // Summary table.
  std::map<std::string, std::array<size_t, validate::kNumStatuses>> counts;
  std::map<std::string, int64_t> rows;
  std::array<size_t, validate::kNumStatuses> total{};
  int64_t total_rows = 0;
  for (const auto& r : res.items) {
    counts[r.item.data_type][static_cast<int>(r.status)]++;
    total[static_cast<int>(r.status)]++;
    if (r.rows > 0) {
      rows[r.item.data_type] += r.rows;
      total_rows += r.rows;
    }
  }
  std::string out = "validate " + FormatDate(sel->from) + " .. " + FormatDate(sel->to) + ": expected from " +
                    expected->source + ", " + (deep ? "footers checked" : "existence only") + "\n";
  char head[256];
  std::snprintf(head, sizeof head, "%-22s %9s %9s %9s %13s %9s %9s %14s\n", "data_type", "expected", "done",
                "no_data", "not_available", "missing", "corrupt", "rows");
  out += head;
  for (const auto& [dt, cnt] : counts) out += Row(dt, cnt, rows[dt], deep);
  out += Row("total", total, total_rows, deep);
  size_t printed = 0;
  for (const auto& r : res.items) {
    if (!validate::IsProblem(r.status) && r.status != ItemStatus::kNotAvailable) continue;
    if (printed++ >= kMaxPrintedProblems) continue;
    out += std::string(validate::StatusName(r.status)) + "\t" + FormatDate(r.item.day) + "\t" + r.item.data_type +
           "\t" + r.item.instrument_key + (r.status == ItemStatus::kMissing ? "" : "\t" + r.reason) + "\n";
  }
  if (printed > kMaxPrintedProblems) {
    out += "... and " + std::to_string(printed - kMaxPrintedProblems) +
           " more (all in the missing-data reports and --report)\n";
  }
  for (const auto& run : def_runs) out += "no_definitions\t" + run.Days() + "\t" + run.text + "\n";
  if (res.unexpected_objects) out += "unexpected objects (present, not expected): " + std::to_string(res.unexpected_objects) + "\n";
  const bool ok = validate::Complete(*expected, res);
  char verdict[200];
  std::snprintf(verdict, sizeof verdict,
                "result: %s: %zu missing, %zu corrupt, %zu not available at source, %zu days without definitions "
                "(%.1f s)\n",
                ok ? "complete" : "INCOMPLETE", total[static_cast<int>(ItemStatus::kMissing)],
                total[static_cast<int>(ItemStatus::kCorrupt)], total[static_cast<int>(ItemStatus::kNotAvailable)],
                expected->definition_problems.size(), secs);
  out += verdict;
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);

  int code = ok ? kExitOk : kExitFailed;
  // Missing-data reports, one per day (not for days without definitions:
  // nothing is known about them).
  if (!args.Has("read-only")) {
    std::map<Date, std::vector<const validate::ItemResult*>> by_day;
    for (Date d = sel->from; d <= sel->to; d = AddDays(d, 1)) by_day[d];
    for (const auto& [d, why] : expected->definition_problems) by_day.erase(d);
    for (const auto& r : res.items) {
      if (by_day.count(r.item.day)) by_day[r.item.day].push_back(&r);
    }
    const int64_t now = NowMicros();
    for (const auto& [d, list] : by_day) {
      Status st = validate::WriteMissingReport(store->get(), d, list, now, std::string("market-tick version ") + kVersion);
      if (!st.ok()) {
        log::Error(st.message());
        code = kExitFailed;
      }
    }
    log::Info("wrote " + std::to_string(by_day.size()) + " missing-data reports under " +
              (*store)->Describe("missing_data_reports/by_date/"));
  }
  if (!report_path.empty()) {
    validate::ReportInfo info;
    info.from = sel->from;
    info.to = sel->to;
    info.deep = deep;
    info.store = (*store)->Describe("");
    info.expected_from = expected->source;
    info.generated_at = FormatIsoSeconds(NowMicros());
    info.tool_version = kVersion;
    info.unexpected_objects = res.unexpected_objects;
    info.definition_problems = expected->definition_problems;
    const std::string html = RedactSecrets(validate::RenderHtmlReport(info, res.items));
    const std::string tmp = report_path + ".tmp";
    std::ofstream f(tmp, std::ios::binary);
    f << html;
    f.close();
    if (!f || std::rename(tmp.c_str(), report_path.c_str()) != 0) {
      std::remove(tmp.c_str());
      log::Error("cannot write --report " + report_path);
      return kExitFailed;
    }
    log::Info("wrote " + report_path + " (" + std::to_string(html.size() / 1024) + " KiB)");
  }
  return code;
}

}  // namespace mt::cli
