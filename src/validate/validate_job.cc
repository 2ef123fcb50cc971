#include "validate/validate_job.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/exit_code.h"
#include "core/heap.h"
#include "core/log.h"
#include "core/open_files.h"
#include "core/redact.h"
#include "core/time_util.h"
#include "core/utf8.h"
#include "pipeline/key_resolver.h"
#include "pipeline/plan.h"
#include "storage/layout_record.h"
#include "tardis/schema.h"
#include "validate/html_report.h"
#include "validate/incidents.h"
#include "validate/missing_report.h"
#include "validate/validator.h"

namespace mt::validate {

namespace {

constexpr size_t kMaxPrintedProblems = 200;
// At most this much of one field of a printed problem line.
constexpr size_t kPrintedFieldBytes = 4096;  // above a reason's own bound (file_check.cc)

// `width`: the data_type column's, wide enough for the longest name (derived
// names such as book_snapshot_25_grouped0.5_100ms are longer than 22).
std::string Row(const std::string& label, int width, const std::array<size_t, kNumStatuses>& c, int64_t rows,
                bool deep) {
  size_t total = 0;
  for (size_t v : c) total += v;
  auto n = [&c](ItemStatus s) { return c[static_cast<int>(s)]; };
  char line[160];
  std::snprintf(line, sizeof line, " %9zu %9zu %9zu %13zu %16zu %9zu %9zu %14s\n", total, n(ItemStatus::kDone),
                n(ItemStatus::kNoData), n(ItemStatus::kNotAvailable), n(ItemStatus::kNoDataIncident),
                n(ItemStatus::kMissing), n(ItemStatus::kCorrupt), deep ? std::to_string(rows).c_str() : "-");
  return label + std::string(static_cast<size_t>(std::max(0, width - static_cast<int>(label.size()))), ' ') + line;
}

// The exchanges of ExpectedSet::unlisted_exchanges (each text starts with
// its exchange and ": "), each once.
std::vector<std::string> ExchangesOf(const std::vector<std::pair<Date, std::string>>& unlisted) {
  std::set<std::string> out;
  for (const auto& [d, text] : unlisted) out.insert(text.substr(0, text.find(':')));
  return {out.begin(), out.end()};
}

// The stdout text: the table per data type, the problems, the verdict.
std::string SummaryText(const ValidateJobOptions& o, const ExpectedSet& expected, const ValidationResult& res,
                        const std::vector<DayRun>& def_runs, bool ok, double secs) {
  std::map<std::string, std::array<size_t, kNumStatuses>> counts;
  std::map<std::string, int64_t> rows;
  std::array<size_t, kNumStatuses> total{};
  int64_t total_rows = 0;
  for (const auto& r : res.items) {
    counts[r.item.data_type][static_cast<int>(r.status)]++;
    total[static_cast<int>(r.status)]++;
    if (r.rows > 0) {
      rows[r.item.data_type] += r.rows;
      total_rows += r.rows;
    }
  }
  std::string out = "validate " + FormatDate(o.selection.from) + " .. " + FormatDate(o.selection.to) +
                    ": expected from " + expected.source + ", " + (o.deep ? "footers checked" : "existence only") +
                    "\n";
  int width = 22;
  for (const auto& [dt, cnt] : counts) width = std::max(width, static_cast<int>(dt.size()));
  char head[160];
  std::snprintf(head, sizeof head, " %9s %9s %9s %13s %16s %9s %9s %14s\n", "expected", "done", "no_data",
                "not_available", "no_data_incident", "missing", "corrupt", "rows");
  out += "data_type" + std::string(static_cast<size_t>(width) - 9, ' ') + head;
  for (const auto& [dt, cnt] : counts) out += Row(dt, width, cnt, rows[dt], o.deep);
  out += Row("total", width, total, total_rows, o.deep);
  size_t printed = 0;
  for (const auto& r : res.items) {
    if (!IsReported(r.status)) continue;
    if (printed++ >= kMaxPrintedProblems) continue;
    // Keys and reasons may quote a damaged file's bytes: one line of valid
    // UTF-8 each, so no field can forge a line or a column.
    out += std::string(StatusName(r.status)) + "\t" + FormatDate(r.item.day) + "\t" +
           EscapeOutsideText(r.item.data_type, kPrintedFieldBytes) + "\t" +
           EscapeOutsideText(r.item.instrument_key, kPrintedFieldBytes) +
           (r.status == ItemStatus::kMissing ? "" : "\t" + EscapeOutsideText(r.reason, kPrintedFieldBytes)) + "\n";
  }
  if (printed > kMaxPrintedProblems) {
    out += "... and " + std::to_string(printed - kMaxPrintedProblems) +
           " more (all in the missing-data reports and --report)\n";
  }
  for (const auto& run : def_runs) out += "no_definitions\t" + run.Days() + "\t" + run.text + "\n";
  if (res.unexpected_objects) {
    out += "unexpected objects (present, not expected): " + std::to_string(res.unexpected_objects) + "\n";
  }
  // Exchanges some day's definitions do not list fail the run too: the
  // verdict counts them when there are any.
  const size_t unlisted = ExchangesOf(expected.unlisted_exchanges).size();
  char verdict[320];
  std::snprintf(verdict, sizeof verdict,
                "result: %s: %zu missing, %zu corrupt, %zu not available at source, %zu no data (incident), %zu days "
                "without definitions%s (%.1f s)\n",
                ok ? "complete" : "INCOMPLETE", total[static_cast<int>(ItemStatus::kMissing)],
                total[static_cast<int>(ItemStatus::kCorrupt)], total[static_cast<int>(ItemStatus::kNotAvailable)],
                total[static_cast<int>(ItemStatus::kNoDataIncident)], expected.definition_problems.size(),
                unlisted ? (", " + std::to_string(unlisted) + (unlisted > 1 ? " exchanges" : " exchange") +
                            " without definitions on some day")
                               .c_str()
                         : "",
                secs);
  out += verdict;
  return out;
}

// Reads and merges of one day's missing-data report before a run gives up
// (exit 3): each retry follows another run's write of that report.
constexpr int kMaxReportAttempts = 40;

// The --summary-json document: counts by status name (every status, zero
// included) in total and per data type, so a script never parses the table.
std::string SummaryJson(const ValidateJobOptions& o, const ExpectedSet& expected, const ValidationResult& res,
                        bool ok) {
  using J = nlohmann::ordered_json;
  auto zero = [] {
    J c = J::object();
    c["expected"] = 0;
    for (int i = 0; i < kNumStatuses; i++) c[StatusName(static_cast<ItemStatus>(i))] = 0;
    return c;
  };
  J total = zero();
  J by_type = J::object();
  for (const auto& r : res.items) {
    if (!by_type.contains(r.item.data_type)) by_type[r.item.data_type] = zero();
    for (J* c : {&total, &by_type[r.item.data_type]}) {
      (*c)["expected"] = (*c)["expected"].get<size_t>() + 1;
      (*c)[StatusName(r.status)] = (*c)[StatusName(r.status)].get<size_t>() + 1;
    }
  }
  J doc = {{"from", FormatDate(o.selection.from)},
           {"to", FormatDate(o.selection.to)},
           {"expected_from", expected.source},
           {"deep", o.deep},
           {"complete", ok},
           {"counts", total},
           {"by_data_type", by_type},
           {"days_without_definitions", expected.definition_problems.size()},
           {"exchanges_without_definitions", ExchangesOf(expected.unlisted_exchanges)},
           {"unexpected_objects", res.unexpected_objects}};
  return RedactSecrets(doc.dump(-1, ' ', false, J::error_handler_t::replace) + "\n");
}

// Missing-data reports, one per day (not for days without definitions:
// nothing is known about them). The log line says how many were written;
// the first failure is returned. Results that failed to read back from
// their temporary file stop the writing there: every later report would be
// made of zeros (WriteMissingReport refuses each; one stop says it once),
// and the reports already in the store stay as they are.
Status WriteReports(storage::ObjectStore* store, const ValidateJobOptions& o, const ExpectedSet& expected,
                    const ValidationResult& res) {
  // The span of each day's items ([first, end) of the results; they are in
  // day order, so a report reads its day's items and no others).
  std::map<Date, std::pair<size_t, size_t>> by_day;
  for (Date d = o.selection.from; d <= o.selection.to; d = AddDays(d, 1)) by_day[d];
  for (const auto& [d, why] : expected.definition_problems) by_day.erase(d);
  // Derived items too (data_type the derived name): download and derive
  // --from-report plan them back from their source item (PlanFromReports).
  for (size_t i = 0; i < res.items.size(); i++) {
    auto day = by_day.find(res.items.day(i));
    if (day == by_day.end()) continue;
    auto& [first, end] = day->second;
    if (end == 0) first = i;
    end = i + 1;
  }
  if (by_day.empty()) return Status::OK();
  // The store's first objects may be these reports: its layout goes first.
  MT_RETURN_IF_ERROR(storage::RecordStoreLayout(store));
  const int64_t now = NowMicros();
  size_t written = 0;
  Status first;
  for (const auto& [d, span] : by_day) {
    // Rows of items this run did not check (another exchange's or data
    // type's, reported by an earlier run, or by a run at the same time:
    // the report is replaced only as read, else read and merged again)
    // stay in the day's report.
    // An interrupt stops the writing between reports (and within one,
    // which is then not committed): each report is whole or as it was.
    auto interrupted = [&](const Status& st) {
      log::Warn("interrupted: wrote " + std::to_string(written) + " of " + std::to_string(by_day.size()) +
                " missing-data reports (each whole; the others as they were)");
      return st;
    };
    Status st;
    for (int attempt = 1;; attempt++) {
      if (o.cancel && o.cancel->load()) return interrupted(Status::Cancelled("interrupted"));
      std::optional<int64_t> generation;
      auto earlier = EarlierRowsToKeep(store, d, res.items, span.first, span.second,
                                       pipeline::kMissingReportRowGroupRows, o.cancel, &generation);
      st = earlier.status();
      if (!st.ok()) break;
      const size_t kept = earlier->size();
      st = WriteMissingReport(store, d, res.items, span.first, span.second, now,
                              "market-tick version " + o.tool_version, &*earlier, o.cancel,
                              generation ? &*generation : nullptr);
      if (st.ok() && kept > 0) {
        log::Info("missing-data report of " + FormatDate(d) + ": kept " + std::to_string(kept) +
                  " rows of an earlier run for items this run did not check");
      }
      if (st.code() != Status::Code::kAlreadyExists) break;
      if (attempt >= kMaxReportAttempts) {
        st = Status::Unavailable("missing-data report of " + FormatDate(d) + ": other runs replaced it " +
                                 std::to_string(attempt) + " times while this run merged into it; run again");
        break;
      }
      log::Debug("missing-data report of " + FormatDate(d) + ": replaced by another run while merging; attempt " +
                 std::to_string(attempt + 1));
      static thread_local std::mt19937 rng{std::random_device{}()};
      const int ms = std::uniform_int_distribution<int>(5, 20 * std::min(attempt, 10))(rng);
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    if (st.ok()) {
      written++;
      continue;
    }
    if (st.code() == Status::Code::kCancelled) return interrupted(st);
    log::Error(st.message());
    if (first.ok()) first = st;
    if (!res.items.io_status().ok()) break;
  }
  const std::string where = store->Describe(store->layout().MissingReportsPrefix());
  if (written == by_day.size()) {
    log::Info("wrote " + std::to_string(written) + " missing-data reports under " + where);
  } else {
    log::Error("wrote " + std::to_string(written) + " of " + std::to_string(by_day.size()) +
               " missing-data reports under " + where);
  }
  return first;
}

Status WriteHtml(const ValidateJobOptions& o, const std::string& store, const ExpectedSet& expected,
                 const ValidationResult& res) {
  ReportInfo info;
  info.from = o.selection.from;
  info.to = o.selection.to;
  info.deep = o.deep;
  info.store = store;
  info.expected_from = expected.source;
  info.generated_at = FormatIsoSeconds(NowMicros());
  info.tool_version = o.tool_version;
  info.unexpected_objects = res.unexpected_objects;
  info.definition_problems = expected.definition_problems;
  info.definition_problems.insert(info.definition_problems.end(), expected.unlisted_exchanges.begin(),
                                  expected.unlisted_exchanges.end());
  Status sorted;
  const std::string html = RedactSecrets(RenderHtmlReport(info, res.items, &sorted));
  MT_RETURN_IF_ERROR(sorted.WithContext("--report: counting the instruments"));
  if (o.report_store) {
    // Visible only once whole (GcsStore commits the object with its CRC32C
    // checked); a failure leaves the previous report, if any.
    auto obj = o.report_store->Create(o.report_object, true);
    Status st = obj.ok() ? (*obj)->Append(html) : obj.status();
    if (st.ok()) st = (*obj)->Commit();
    if (!st.ok() && obj.ok()) (*obj)->Abort();
    MT_RETURN_IF_ERROR(st.WithContext("--report " + o.report_path));
  } else {
    MT_RETURN_IF_ERROR(WriteFileAtomically(o.report_path, html).WithContext("--report"));
  }
  log::Info("wrote " + o.report_path + " (" + std::to_string(html.size() / 1024) + " KiB)");
  return Status::OK();
}

}  // namespace

Result<ValidateReport> RunValidateJob(storage::ObjectStore* store, const ValidateJobOptions& options) {
  const ValidateJobOptions& o = options;
  const auto t0 = std::chrono::steady_clock::now();
  Selection sel = o.selection;
  sel.cancel = o.cancel;  // planning a year of days takes seconds
  pipeline::StoreKeyResolvers keys(store);
  pipeline::KnownSymbols known;  // pairs bare --symbols with exchanges
  MT_RETURN_IF_ERROR(pipeline::LoadKnownSymbolsFor(store, &sel, &known).WithContext("reading instrument definitions"));
  MT_ASSIGN_OR_RETURN(ExpectedSet expected,
                      sel.symbols.empty() ? ExpectedFromDefinitions(store, sel) : ExpectedFromPlan(sel, &keys, store));
  AddDerivedItems(&expected, o.derived, o.unasked_sources);
  // One line per run of days with the same problem, not one per day; an
  // exchange the definitions do not list as an error line of its days, not
  // also as a note.
  std::vector<DayRun> def_runs = CollapseDays(expected.definition_problems);
  const std::vector<DayRun> unlisted_runs = CollapseDays(expected.unlisted_exchanges);
  std::set<std::string> unlisted_texts;
  for (const auto& run : unlisted_runs) unlisted_texts.insert(run.text);
  for (const auto& n : expected.notes) {
    if (!unlisted_texts.count(n)) log::Warn(n);
  }
  if (!expected.items.note().empty()) log::Warn("the expected items: " + expected.items.note());
  def_runs.insert(def_runs.end(), unlisted_runs.begin(), unlisted_runs.end());
  for (const auto& run : def_runs) log::Error(run.Days() + ": " + run.text);
  log::Info("validating " + std::to_string(expected.items.size()) + " expected items (from " + expected.source +
            ") in " + store->Describe("") + (o.deep ? ", reading every footer" : ", existence only"));

  // Signals stop the checks (o.cancel); nothing is written then.
  ValidateOptions vo;
  vo.deep = o.deep;
  // A check at once holds a descriptor (a local object read, a connection
  // to the store) and, reading a footer, maybe a temporary file beside it:
  // more at once than the open-file limit leaves room for failed checks at
  // random with EMFILE, each retried as if the store were unreachable.
  vo.concurrency = CapToOpenFileLimit(o.concurrency, o.deep ? 2 : 1, "--concurrency", "checks at once");
  vo.cancel = o.cancel;
  auto last = std::make_shared<std::atomic<int64_t>>(0);
  vo.progress = [last](size_t done, size_t total) {
    const int64_t now = NowMicros();
    int64_t prev = last->load();
    if ((now - prev > 5'000'000 || done == total) && last->compare_exchange_strong(prev, now)) {
      log::Info("checked " + std::to_string(done) + "/" + std::to_string(total) + " footers");
    }
  };
  // Each result holds its item: the expected items are not read again
  // (only the set's source and days without definitions are).
  ValidationResult res = ValidateReleasing(store, &expected, vo);
  ReturnFreeHeap();
  if (!res.items.note().empty()) log::Warn("the results of the checks: " + res.items.note());
  if (!res.listing_note.empty()) log::Warn("the names merged with the listings: " + res.listing_note);
  if (res.store_error.ok() && !res.cancelled) {
    // Absent items on days a Tardis incident of their exchange overlaps:
    // the source reported the gap (validate/incidents.h).
    auto marked = MarkIncidents(store, &res.items);
    if (!marked.ok()) {
      res.store_error = marked.status();
    } else if (*marked > 0) {
      log::Info(std::to_string(*marked) + " absent items fall on days of known Tardis incidents: no_data_incident");
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ValidateReport report;
  if (res.cancelled || (o.cancel && o.cancel->load())) {
    log::Warn("interrupted: no reports written");
    report.status = Status::Cancelled("interrupted");
    return report;
  }
  if (!res.store_error.ok()) {
    log::Error("store: " + res.store_error.message());
    if (res.items.empty() || res.store_error.retryable()) {
      report.status = res.store_error;
      return report;
    }
  }
  const bool ok = Complete(expected, res);
  report.text = SummaryText(o, expected, res, def_runs, ok, secs);
  // The results are read back from their temporary file: a failed read
  // makes whatever was built from them wrong, so nothing is printed or
  // written then; one while the reports are written fails the run the same
  // way (retryable: a rerun writes them again).
  auto results_lost = [&res, &report]() {
    if (res.items.io_status().ok()) return false;
    log::Error("the results of the checks: " + res.items.io_status().message() +
               ": nothing made of them after that is printed or written; run validate again");
    report.text.clear();
    report.status = res.items.io_status();
    return true;
  };
  if (results_lost()) return report;
  if (!ok) report.status = Status::InvalidInput("incomplete: items missing or corrupt, or days without definitions");
  if (!o.read_only) {
    const Status written = WriteReports(store, o, expected, res);
    if (written.code() == Status::Code::kCancelled) {
      // Interrupted: nothing more is printed or written.
      report.text.clear();
      report.status = written;
      return report;
    }
    report.status = WorseStatus(report.status, written);
  }
  // Lost while the reports were written: the summary and the HTML report
  // would be made of what the results then read as (a previous one stays).
  if (results_lost()) return report;
  if (!o.summary_json.empty()) {
    Status st = WriteFileAtomically(o.summary_json, SummaryJson(o, expected, res, ok)).WithContext("--summary-json");
    if (!st.ok()) log::Error(st.message());
    report.status = WorseStatus(report.status, st);
  }
  if (!o.report_path.empty()) {
    const Status st = WriteHtml(o, store->Describe(""), expected, res);
    if (!st.ok()) log::Error(st.message());
    report.status = WorseStatus(report.status, st);
  }
  results_lost();
  return report;
}

}  // namespace mt::validate
