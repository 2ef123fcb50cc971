#include "pipeline/download_job.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/exit_code.h"
#include "core/log.h"
#include "core/open_files.h"
#include "core/redact.h"
#include "core/thread_pool.h"
#include "tardis/instrument_key.h"

namespace mt::pipeline {

namespace {

std::string HumanBytes(double b) {
  char buf[32];
  if (b >= 1e9) std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  else if (b >= 1e6) std::snprintf(buf, sizeof buf, "%.1f MB", b / 1e6);
  else std::snprintf(buf, sizeof buf, "%.0f KB", b / 1e3);
  return buf;
}

// Progress on stderr: one redrawn line on a terminal, a plain line every 10 s
// otherwise, or when NO_COLOR_PROGRESS is set (`no_redraw`).
class ProgressLine {
 public:
  ProgressLine(const pipeline::Progress& p, bool no_redraw) : p_(p), tty_(isatty(2) && !no_redraw) {
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

constexpr Outcome kOutcomes[] = {Outcome::kDone,   Outcome::kSkipped,   Outcome::kNoData,    Outcome::kNotAvailable,
                                 Outcome::kFailed, Outcome::kRetryable, Outcome::kCancelled, Outcome::kMissing};

}  // namespace

void LogItemResult(const ItemResult& r) {
  if (r.outcome == Outcome::kFailed || r.outcome == Outcome::kRetryable) {
    log::Error(std::string(OutcomeName(r.outcome)) + " " + r.item.Id() + ": " + r.reason);
  } else if (r.outcome == Outcome::kNotAvailable || r.outcome == Outcome::kMissing) {
    log::Warn(std::string(OutcomeName(r.outcome)) + " " + r.item.Id() + ": " + r.reason);
  }
}

Status SummarizeItems(const ItemTotals& totals, double secs, const Status& fatal, bool cancelled) {
  ItemTotals t = totals;
  // "missing" only where it happens (derive), so download's line is as it was.
  const std::string missing =
      t.counts[Outcome::kMissing] ? ", " + std::to_string(t.counts[Outcome::kMissing]) + " missing" : "";
  char line[512];
  std::snprintf(line, sizeof line,
                "summary: %zu items: %d done, %d skipped, %d no data, %d not available, %d failed, %d failed "
                "(retryable), %d cancelled%s; %s in, %s out, %llu rows in %.1f s",
                t.items, t.counts[Outcome::kDone], t.counts[Outcome::kSkipped], t.counts[Outcome::kNoData],
                t.counts[Outcome::kNotAvailable], t.counts[Outcome::kFailed], t.counts[Outcome::kRetryable],
                t.counts[Outcome::kCancelled], missing.c_str(), HumanBytes(t.bytes_in).c_str(),
                HumanBytes(t.bytes_out).c_str(), static_cast<unsigned long long>(t.rows), secs);
  log::Info(line);
  if (!fatal.ok()) {
    log::Error(fatal.message());
    return fatal;
  }
  if (cancelled) {
    log::Warn("interrupted: items in flight were abandoned (no partial file written; a grouped item stopped before "
              "its record is not complete and is done again); run again to finish");
    return Status::Cancelled("interrupted");
  }
  if (t.unkeyed_rows > 0) {
    log::Warn(std::to_string(t.unkeyed_rows) + " rows have no instrument key and were kept under "
              "{VENUE}:UNKEYED:{symbol} names (see above); exit code 1: a rerun alone does not key them (it skips "
              "the item, says so again and exits 0)");
  }
  if (t.counts[Outcome::kFailed] > 0 || t.unkeyed_rows > 0) {
    return Status::InvalidInput(std::to_string(t.counts[Outcome::kFailed]) + " items failed");
  }
  // No raw object to compute from: a rerun cannot change that (download it first).
  if (t.counts[Outcome::kMissing] > 0) {
    return Status::InvalidInput(std::to_string(t.counts[Outcome::kMissing]) +
                                " items have no raw object in the store (download them first)");
  }
  if (t.counts[Outcome::kRetryable] > 0) {
    return Status::Unavailable(std::to_string(t.counts[Outcome::kRetryable]) + " items failed (retryable)");
  }
  return Status::OK();
}

namespace {

// Derived names not computed for some items, said once per name for the run
// (as convert says it once): items of another data type.
void SayDerivedSkips(const std::vector<WorkItem>& items, const std::vector<derive::DerivedSpec>& specs) {
  for (const derive::DerivedSpec& s : specs) {
    size_t other = 0;
    for (const auto& it : items) other += it.data_type != s.source_data_type() ? 1 : 0;
    if (other) {
      log::Warn("--derive " + s.name + ": skipped for " + std::to_string(other) + " items that are not " +
                s.source_data_type() + " (it is computed from that data type)");
    }
  }
}

}  // namespace

void ItemTotals::Add(const ItemResult& r) {
  items++;
  counts[r.outcome]++;
  bytes_in += r.bytes_in;
  bytes_out += r.bytes_out;
  rows += r.rows;
  // This run's rows: those a skipped item's record lists are in its own
  // entry only (said again, but no failure of this run: exit 0).
  if (!r.unkeyed_from_record) unkeyed_rows += r.unkeyed_rows;
}

RunResults::RunResults(size_t items, bool summary) : size_(items), summary_(summary) {
  if (summary_) {
    std::string dir;
    fd_ = OpenUnnamedTempFile("", "summary", &dir);
    if (fd_ < 0) {
      status_ = TempFileError(dir, "the summary's entries", -fd_, "set TMPDIR to a writable directory with room");
      fd_ = -1;
    }
  }
  if (summary_) {
    for (size_t i = 0; i < size_; i++) spans_.push_back(Span{});
  }
}

RunResults::RunResults(size_t items, int fd) : size_(items), summary_(true), fd_(fd) {
  for (size_t i = 0; i < size_; i++) spans_.push_back(Span{});
}

RunResults::~RunResults() {
  if (fd_ >= 0) ::close(fd_);
}

void RunResults::Add(size_t index, const ItemResult& r) {
  totals_.Add(r);
  if (!summary_ || !status_.ok()) return;
  // Reasons may quote a server's answer: each is redacted before it is
  // escaped (a credential pattern is found in the raw text), the entry
  // again after for registered secrets in any form. Server text may hold
  // invalid UTF-8: replaced, never a throw.
  const nlohmann::ordered_json entry = {{"id", r.item.Id()},
                                        {"outcome", OutcomeName(r.outcome)},
                                        {"reason", RedactSecrets(r.reason)},
                                        {"requests", r.requests},
                                        {"rows", r.rows},
                                        {"bytes_in", r.bytes_in},
                                        {"bytes_out", r.bytes_out},
                                        {"objects", r.objects},
                                        {"unkeyed_rows", r.unkeyed_rows},
                                        {"unkeyed_symbols", r.unkeyed_symbols}};
  const std::string text = RedactSecrets(entry.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  // The objects past their memory budget are read back from a temporary
  // file: an entry that lacks some is not written.
  if (!r.objects.read_status().ok()) {
    status_ = r.objects.read_status().WithContext("the objects of " + r.item.Id() + " for the summary");
    return;
  }
  if (index >= size_) {
    status_ = Status::Internal("a result for item " + std::to_string(index) + " of a plan of " + std::to_string(size_));
    return;
  }
  if (const int err = WriteAll(fd_, text)) {
    status_ = Status::IOError(std::string("cannot write the summary's entries to a temporary file (") +
                              std::strerror(err) + "; set TMPDIR to a directory with room)");
    return;
  }
  spans_.Set(index, Span{end_, text.size()});
  end_ += text.size();
  if (!spans_.status().ok()) status_ = spans_.status();
}

Status RunResults::WriteSummaryJson(const std::string& path, double seconds, bool count_missing) {
  MT_RETURN_IF_ERROR(status_);
  ItemTotals t = totals_;
  nlohmann::ordered_json by_outcome = nlohmann::ordered_json::object();
  for (Outcome o : kOutcomes) {
    if (o != Outcome::kMissing || count_missing) by_outcome[OutcomeName(o)] = t.counts[o];
  }
  // The head as one document with no results, so its bytes are nlohmann's;
  // the entries go between the brackets of its empty "results".
  const nlohmann::ordered_json head = {{"items", t.items},       {"counts", by_outcome},
                                       {"bytes_in", t.bytes_in}, {"bytes_out", t.bytes_out},
                                       {"rows", t.rows},         {"unkeyed_rows", t.unkeyed_rows},
                                       {"seconds", seconds},     {"results", nlohmann::ordered_json::array()}};
  std::string text = RedactSecrets(head.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  constexpr std::string_view kEmptyTail = "[]}";
  if (text.size() < kEmptyTail.size() ||
      text.compare(text.size() - kEmptyTail.size(), kEmptyTail.size(), kEmptyTail) != 0) {
    return Status::Internal("the summary's head does not end with an empty results array: " + text);
  }
  text.resize(text.size() - 2);  // keeps the '['
  return WriteFileAtomically(path, [&](const AtomicWrite& write) -> Status {
    constexpr size_t kFlushBytes = size_t{1} << 20;
    std::string entry;
    for (size_t i = 0; i < size_; i++) {
      const Span span = spans_.Get(i);
      if (!spans_.status().ok()) return spans_.status();
      if (span.length == 0) {
        return Status::Internal("item " + std::to_string(i) + " of the plan has no result");
      }
      entry.resize(span.length);
      for (size_t done = 0; done < entry.size();) {
        const ssize_t n =
            ::pread(fd_, entry.data() + done, entry.size() - done, static_cast<off_t>(span.offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          return Status::IOError(std::string("cannot read back the summary's entries from a temporary file (") +
                                 (n < 0 ? std::strerror(errno) : "the file is shorter than written") + ")");
        }
        done += static_cast<size_t>(n);
      }
      if (i > 0) text += ',';
      text += entry;
      if (text.size() >= kFlushBytes) {
        if (!write(text)) return Status::OK();
        text.clear();
      }
    }
    text += "]}\n";
    write(text);
    return Status::OK();
  });
}

Status WriteRunSummary(RunResults* results, const std::string& path, double seconds, bool count_missing,
                       Status status) {
  if (path.empty()) return status;
  // Written whole or not at all; a summary that cannot be written fails
  // the run (a pipeline reading it must not take an empty file for one).
  const Status st = results->WriteSummaryJson(path, seconds, count_missing);
  if (!st.ok()) {
    log::Error("--summary-json: " + st.message() + "; " + path + " is not written");
    return WorseStatus(status, st);
  }
  return status;
}

namespace {

// The network is needed only here: a missing libcurl is said once, not per sample.
Result<PlanEstimate> RunEstimate(const std::vector<WorkItem>& items, size_t derived, const EstimateOptions& opts) {
  MT_RETURN_IF_ERROR(net::LoadHttpLibrary());
  auto http = net::NewCurlClient();
  return EstimatePlan(items, derived, opts, http.get());
}

}  // namespace

Result<PlanReport> RunPlanJob(storage::ObjectStore* store, const PlanJobOptions& options) {
  MT_ASSIGN_OR_RETURN(std::vector<WorkItem> plan, PlanWorkItems(store, options.request, options.source));
  PlanReport report;
  report.plan_count = plan.size();
  report.shard = options.shard;
  report.shard_sizes.assign(options.shard_sizes, 0);
  for (const auto& it : plan) {
    if (options.shard_sizes) report.shard_sizes[StableHash(it) % options.shard_sizes]++;
  }
  // Unsharded, the plan is the report's (a million items are not copied).
  report.items = options.shard.count > 1 ? SelectShard(plan, options.shard) : std::move(plan);
  report.derived = DerivedItems(report.items, options.derived);
  SayDerivedSkips(report.items, options.derived);
  if (options.estimate) {
    MT_ASSIGN_OR_RETURN(report.estimate, RunEstimate(report.items, report.derived.size(), *options.estimate));
  }
  return report;
}

void PlanReport::WriteJson(std::FILE* out) const {
  // Each value is serialised by nlohmann; only the frame is written here,
  // so a plan of millions of items is never one document in memory.
  auto str = [](const std::string& s) {
    return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  std::fprintf(out, "{\"count\":%zu,\"plan_count\":%zu,\"shard\":\"%u/%u\",\"items\":[", items.size(), plan_count,
               shard.index, shard.count);
  for (size_t i = 0; i < items.size(); i++) {
    const WorkItem& it = items[i];
    std::fprintf(out, "%s{\"day\":\"%s\",\"data_type\":%s,\"exchange\":%s,\"symbol\":%s}", i ? "," : "",
                 FormatDate(it.day).c_str(), str(it.data_type).c_str(), str(it.exchange).c_str(), str(it.symbol).c_str());
  }
  std::fputs("]", out);
  if (!derived.empty()) {
    std::fprintf(out, ",\"derived_count\":%zu,\"derived\":[", derived.size());
    for (size_t i = 0; i < derived.size(); i++) {
      const DerivedItem& d = derived[i];
      std::fprintf(out, "%s{\"day\":\"%s\",\"data_type\":%s,\"source_data_type\":%s,\"exchange\":%s,\"symbol\":%s}",
                   i ? "," : "", FormatDate(d.source.day).c_str(), str(d.name).c_str(), str(d.source.data_type).c_str(),
                   str(d.source.exchange).c_str(), str(d.source.symbol).c_str());
    }
    std::fputs("]", out);
  }
  if (!shard_sizes.empty()) std::fprintf(out, ",\"shard_sizes\":%s", nlohmann::json(shard_sizes).dump().c_str());
  if (estimate) std::fprintf(out, ",\"estimate\":%s", estimate->Json().c_str());
  std::fputs("}\n", out);
}

void PlanReport::WriteTable(std::FILE* out) const {
  std::fprintf(out, "%-10s  %-20s  %-18s  %s\n", "day", "data_type", "exchange", "symbol");
  for (const auto& it : items) {
    std::fprintf(out, "%-10s  %-20s  %-18s  %s\n", FormatDate(it.day).c_str(), it.data_type.c_str(),
                 it.exchange.c_str(), it.symbol.c_str());
  }
  // Derived items in a table of their own, so the first stays one row per
  // Tardis file.
  // The name column widens to the longest name (book_snapshot_25_grouped0.5_100ms).
  if (!derived.empty()) {
    int width = 28;
    for (const auto& d : derived) width = std::max(width, static_cast<int>(d.name.size()));
    std::fprintf(out, "\n%-10s  %-*s  %-20s  %-18s  %s\n", "day", width, "derived", "from", "exchange", "symbol");
    for (const auto& d : derived) {
      std::fprintf(out, "%-10s  %-*s  %-20s  %-18s  %s\n", FormatDate(d.source.day).c_str(), width, d.name.c_str(),
                   d.source.data_type.c_str(), d.source.exchange.c_str(), d.source.symbol.c_str());
    }
  }
  std::fprintf(out, "%zu items", items.size());
  if (!derived.empty()) std::fprintf(out, " and %zu derived items", derived.size());
  if (shard.count > 1) std::fprintf(out, " in shard %u/%u (plan: %zu)", shard.index, shard.count, plan_count);
  std::fputs("\n", out);
  if (!shard_sizes.empty()) {
    const size_t n = shard_sizes.size();
    const size_t mn = *std::min_element(shard_sizes.begin(), shard_sizes.end());
    const size_t mx = *std::max_element(shard_sizes.begin(), shard_sizes.end());
    const double mean = static_cast<double>(plan_count) / static_cast<double>(n);
    std::fprintf(out, "%zu shards: min %zu, max %zu, mean %.2f items (max %+.1f%% of the mean)\n", n, mn, mx, mean,
                 mean > 0 ? (static_cast<double>(mx) / mean - 1) * 100 : 0.0);
    std::fputs("shard sizes:", out);
    for (size_t i = 0; i < n; i++) std::fprintf(out, " %zu:%zu", i, shard_sizes[i]);
    std::fputs("\n", out);
  }
  if (estimate) estimate->WriteText(out);
}

Result<DownloadReport> RunDownloadJob(storage::ObjectStore* store, DownloadJobOptions options) {
  DownloadReport report;
  std::vector<WorkItem> plan;
  options.request.cancel = options.cancel;  // planning a year of days takes seconds
  if (options.source.from_report) {
    // The reports' items, those with a corrupt object redone; their derived
    // rows add their names (computed from the stored raw object when it is
    // there, else with the download).
    MT_ASSIGN_OR_RETURN(ReportPlan rp, PlanFromRequestReports(store, options.request, options.source.report_data_types));
    plan = std::move(rp.items);
    options.download.replace = std::move(rp.replace);
    options.download.recheck = std::move(rp.recheck);
    for (derive::DerivedSpec& d : rp.derived) {
      auto& list = options.download.derived;
      const bool dup = std::any_of(list.begin(), list.end(), [&](const auto& x) { return x.name == d.name; });
      if (!dup) list.push_back(std::move(d));
    }
  } else {
    MT_ASSIGN_OR_RETURN(plan, PlanWorkItems(store, options.request, options.source));
  }
  report.items = options.shard.count > 1 ? SelectShard(plan, options.shard) : std::move(plan);
  report.derived = DerivedItems(report.items, options.download.derived);
  SayDerivedSkips(report.items, options.download.derived);
  if (options.dry_run) {
    if (options.estimate) {
      MT_ASSIGN_OR_RETURN(report.estimate, RunEstimate(report.items, report.derived.size(), *options.estimate));
    }
    return report;
  }

  // A write error on the output (permission denied, not a directory, a
  // read-only file system) would fail every item and no rerun can fix it:
  // found here, before any download, as a configuration error.
  MT_RETURN_IF_ERROR(store->CheckWritable());

  DownloadOptions& opts = options.download;
  opts.store = store;
  StoreKeyResolvers keys(store);
  opts.keys = &keys;
  opts.cancel = options.cancel;
  std::unique_ptr<ThreadPool> pool;
  if (options.threads > 1) pool = std::make_unique<ThreadPool>(options.threads);
  opts.convert.writer.pool = pool.get();
  // Each file in flight holds its download's connection and the HTTP
  // library's wake-up pair (its worker keeps them for the run) and, for its
  // object and each derived one, what the store holds per object written
  // (a file; on GCS an upload client). The one grouped file being split
  // holds more beside them: its spill and the spill's piece index (twice past
  // the cap of routed instruments: the partitions have their own), the list
  // of objects written and, on
  // each thread that writes its objects (the pool's and its own), an object
  // and its footer spill. Counting less let the files in flight reach the
  // limit, and a download, an upload or a temporary file failed with EMFILE.
  constexpr int kDownloadDescriptors = 3;
  const int writes = 1 + static_cast<int>(opts.derived.size());
  const int per_file = kDownloadDescriptors + writes * store->DescriptorsPerWrite();
  const bool any_grouped = std::any_of(report.items.begin(), report.items.end(),
                                       [](const WorkItem& w) { return tardis::IsGroupedSymbol(w.symbol); });
  // The threads that write a grouped file's objects, as many as fit the
  // limit beside its spill, its list and one file in flight: more each
  // opened an object and a footer spill, and the file failed with EMFILE
  // now and then (--threads 64 under ulimit -n 64).
  const int per_writer = writes * (store->DescriptorsPerWrite() + 1);
  int writer_threads = std::max(1, options.threads) + 1;  // the pool's and the item's own
  if (any_grouped) {
    writer_threads = 1 + CapToOpenFileLimit(writer_threads - 1, per_writer, "--threads",
                                            "threads writing a grouped file's objects", 5 + per_file + per_writer);
    opts.convert.max_assembly_threads = writer_threads;
  }
  const int grouped_reserve = any_grouped ? 5 + writer_threads * per_writer : 0;
  opts.concurrency =
      CapToOpenFileLimit(opts.concurrency, per_file, "--concurrency", "files in flight", grouped_reserve);
  // Files in flight share a parse-buffer budget (DOWNLOAD_BUFFER_MB, default
  // 96): each gets budget/N, at least 4 MiB and at most the convert default
  // of 64 MiB. A file in flight holds a small multiple of its share (the
  // batch being parsed, the row group being encoded, vector slack), so peak
  // RSS does not grow with N up to budget / 4 MiB files in flight
  // (bench/README.md, download and "Memory against the thread count").
  // Row groups shrink accordingly (8 in flight: ~12 MiB of values each).
  const size_t share = (options.buffer_mb << 20) / static_cast<size_t>(std::max(1, opts.concurrency));
  opts.convert.parser.batch_bytes = std::clamp<size_t>(share, 4u << 20, opts.convert.parser.batch_bytes);
  std::function<void(const ItemResult&)> on_item = options.on_item;
  // The store records its layout before the run's first object
  // (storage::RecordLayoutOnFirstWrite), so a run that writes nothing (a
  // refused key, a dead server) leaves the store as it was.
  opts.on_item = [on_item](const ItemResult& r) {
    if (on_item) on_item(r);
    LogItemResult(r);
  };
  log::Info("downloading " + std::to_string(report.items.size()) + " items (shard " +
            std::to_string(options.shard.index) + "/" + std::to_string(options.shard.count) + ", " +
            std::to_string(opts.concurrency) + " in flight) to " + store->Describe(""));

  // Signals (options.cancel): stop starting items, abandon those in flight
  // (nothing partial).
  const auto t0 = std::chrono::steady_clock::now();
  Downloader dl(opts);
  RunResults results(report.items.size(), !options.summary_json.empty());
  // A summary that could not be kept is found before any download.
  MT_RETURN_IF_ERROR(results.status());
  {
    ProgressLine progress(dl.progress(), options.no_redraw_progress);
    dl.RunEach(report.items, [&results](size_t i, const ItemResult& r) { results.Add(i, r); });
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report.totals = results.totals();

  report.status =
      SummarizeItems(report.totals, report.seconds, dl.fatal_error(), options.cancel && options.cancel->load());
  // The store's layout record went to a run of the other layout: exit 2.
  report.status = WorseStatus(report.status, store->WriteRefusal());
  report.status = WriteRunSummary(&results, options.summary_json, report.seconds, false, report.status);
  return report;
}

}  // namespace mt::pipeline
