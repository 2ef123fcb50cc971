#include "pipeline/instruments_job.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/atomic_file.h"
#include "core/exit_code.h"
#include "core/log.h"
#include "core/open_files.h"
#include "core/parallel.h"
#include "core/redact.h"
#include "core/utf8.h"
#include "net/http_client.h"
#include "parquet/file_reader.h"
#include "pipeline/instruments_file.h"
#include "pipeline/instruments_format.h"
#include "pipeline/instruments_merge.h"
#include "storage/layout.h"
#include "storage/layout_record.h"

namespace mt::pipeline {

namespace {

using ojson = nlohmann::ordered_json;

// Rejections and warnings logged per exchange; the rest go to the summary.
constexpr size_t kMaxLoggedPerExchange = 25;
// Enough for a handful of runs merging into the same files at once.
constexpr int kMaxMergeAttempts = 40;
// Files written at once: each commit waits for the disk (fsync).
constexpr int kFileWorkers = 8;
// Rows of all files in flight together (InstrumentsFileWorkers).
constexpr size_t kRowsInFlight = 200000;

std::string JoinList(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// Requested exchanges a file holds for good (a run without --force keeps
// their rows) that were written with another --quote than this run's: the
// run would look done while the file holds what the other filter kept.
// Gathered from the files (several at once), said once per exchange.
class QuoteFilterNotes {
 public:
  explicit QuoteFilterNotes(const std::vector<std::string>& quotes) : quotes_(JoinList(quotes)) {}
  void Note(const InstrumentsFileState& state, const std::vector<std::string>& requested) {
    for (const ExchangeSource& src : state.sources) {
      if (src.quote_filter == quotes_ || state.provisional.count(src.exchange)) continue;
      if (std::find(requested.begin(), requested.end(), src.exchange) == requested.end()) continue;
      std::lock_guard<std::mutex> l(mu_);
      stored_.emplace(src.exchange, src.quote_filter);
    }
  }
  void Warn() const {
    auto said = [](const std::string& q) { return q.empty() ? std::string("every quote asset") : "--quote " + q; };
    for (const auto& [exchange, stored] : stored_) {
      log::Warn(exchange + ": its stored instrument definitions were written with " + said(stored) +
                " and this run asks for " + said(quotes_) +
                ": they are kept as stored (a run without --force adds only exchanges a file lacks); rerun with "
                "--force to rewrite them with this run's filter");
    }
  }

 private:
  const std::string quotes_;
  std::mutex mu_;
  std::map<std::string, std::string> stored_;  // exchange -> its stored filter
};

struct Fetched {
  std::string exchange;
  Result<const ExchangeMetadata*> meta = Status::Internal("not fetched");
};

// A thread per exchange (the responses are independent and some are
// large), as many as the open-file limit leaves room for: each holds a
// connection (its socket and curl's wakeup pair) and its response's
// temporary file.
std::vector<Fetched> FetchAll(MetadataSource* source, const std::vector<std::string>& exchanges) {
  std::vector<Fetched> out(exchanges.size());
  constexpr int kDescriptorsPerFetch = 4;
  const int workers = CapToOpenFileLimit(static_cast<int>(exchanges.size()), kDescriptorsPerFetch, "--exchanges",
                                         "exchanges fetched at once");
  ParallelFor(exchanges.size(), ParallelOptions{workers, nullptr}, [&](size_t i) {
    out[i].exchange = exchanges[i];
    out[i].meta = source->Get(exchanges[i]);
    return Status::OK();
  });
  return out;
}

// `only`: the exchanges to include (null: all).
ojson GroupedJson(const std::vector<GroupedSymbol>& grouped, const std::optional<Date>& day,
                  const std::set<std::string>* only = nullptr) {
  ojson arr = ojson::array();
  for (const auto& g : grouped) {
    if (only && !only->count(g.exchange)) continue;
    if (day && !OverlapsDay(g.symbol.available_since_us, g.symbol.available_to_us, *day)) continue;
    ojson o = {{"exchange", g.exchange}, {"symbol", g.symbol.id}, {"type", g.symbol.type},
               {"data_types", g.symbol.data_types}};
    arr.push_back(std::move(o));
  }
  return arr;
}

// Whether every file of `names` exists and holds each of `exchanges` as
// final. Footers are read a few at a time; the first file that does not
// stops the check.
bool AllHold(storage::ObjectStore* store, const std::vector<std::string>& names,
             const std::vector<std::string>& exchanges, bool with_key, QuoteFilterNotes* quotes) {
  // A footer read holds a connection (three descriptors on gs://): no more
  // at once than the open-file limit leaves room for (said by the merges).
  const int workers = std::min(kFileWorkers, OpenFileRoom(3));
  const Status all = ParallelFor(names.size(), ParallelOptions{workers, nullptr}, [&](size_t i) {
    auto file = parquet::FileReader::Open(store, names[i]);
    if (!file.ok()) return Status::NotFound(names[i] + " does not hold every exchange");  // stops the check
    const InstrumentsFileState state = StateOf((*file)->metadata().key_value);
    if (!ExchangesToWrite(state, exchanges, false, with_key).empty()) {
      return Status::NotFound(names[i] + " does not hold every exchange");
    }
    quotes->Note(state, exchanges);
    return Status::OK();
  });
  return all.ok();
}

// The metadata of every exchange, or the worst of their errors (interrupted
// beats a permanent failure, which beats a retryable one), each logged.
Result<std::map<std::string, const ExchangeMetadata*>> FetchMetadata(MetadataSource* source,
                                                                    const std::vector<std::string>& exchanges,
                                                                    const std::string& api_key) {
  const std::vector<Fetched> fetched = FetchAll(source, exchanges);
  std::optional<Status> worst;
  for (const auto& f : fetched) {
    if (f.meta.ok()) continue;
    if (!worst || WorseExitCode(ExitCodeFor(*worst), ExitCodeFor(f.meta.status())) != ExitCodeFor(*worst)) {
      worst = f.meta.status();
    }
  }
  // Interrupted: the caller says so once; the fetches it stopped are not errors.
  if (worst && worst->code() == Status::Code::kCancelled) return Status::Cancelled("interrupted");
  for (const auto& f : fetched) {
    if (!f.meta.ok()) log::Error(f.exchange + ": " + net::Redact(f.meta.status().message(), api_key));
  }
  if (worst) {
    // Day files hold every exchange: with one missing they would be wrong,
    // and create-only would keep them wrong. Nothing is written.
    log::Error("instruments: metadata incomplete after " + std::to_string(source->requests()) +
               " requests; no files written");
    return *worst;
  }
  std::map<std::string, const ExchangeMetadata*> out;
  for (const auto& f : fetched) out[f.exchange] = f.meta.value();
  return out;
}

// The metadata as a catalog, with a per-exchange report logged; each
// exchange's /v1/instruments records are released once the catalog has them.
Catalog BuildCatalog(MetadataSource* source, const std::vector<std::string>& exchanges,
                     const std::map<std::string, const ExchangeMetadata*>& meta_of,
                     const std::vector<std::string>& quotes, bool without_key, const std::atomic<bool>* cancel,
                     Status* read_error) {
  Catalog catalog;
  CatalogOptions copts;
  copts.quotes = quotes;
  copts.without_key = without_key;
  copts.stop = cancel;  // the catalog is then dropped (RunInstrumentsJob)
  // Room for every exchange's entries at once (AddExchange would otherwise
  // grow the vector per exchange, holding the old and the new array).
  size_t symbols = 0;
  for (const auto& ex : exchanges) symbols += meta_of.at(ex)->details.symbols.size();
  catalog.entries.reserve(symbols);
  for (const auto& ex : exchanges) {
    const ExchangeMetadata& m = *meta_of.at(ex);
    if (!m.details.has_datasets) log::Warn(ex + ": /v1/exchanges gave no datasets listing: no instruments");
    AddExchange(m.details, m.have_instruments ? &m.instruments : nullptr, copts, &catalog);
    // A record or symbol that could not be read back from its temporary
    // file would have left its symbol out or keyed it from the symbol
    // alone: nothing is written.
    if (const Status st = m.instruments.status(); !st.ok() && read_error->ok()) {
      *read_error = st.WithContext("/v1/instruments/" + ex);
    }
    if (const Status st = m.details.symbols.status(); !st.ok() && read_error->ok()) {
      *read_error = st.WithContext("/v1/exchanges/" + ex);
    }
    // The catalog holds what it needs of the records (a copy of those with
    // changes) and of the listing (the grouped symbols copied): the run
    // needs them no more.
    source->ReleaseInstruments(ex);
    source->ReleaseSymbols(ex);
  }
  if (cancel && cancel->load()) return catalog;  // not all there: dropped, and not reported
  FinishCatalog(&catalog);
  if (const Status st = catalog.blobs->status(); !st.ok() && read_error->ok()) *read_error = st.WithContext("the catalog");
  if (!catalog.blobs->note().empty()) log::Warn("the instrument catalog: " + catalog.blobs->note());
  std::map<std::string, std::vector<const RejectedSymbol*>> rejected_by;
  for (const auto& r : catalog.rejected) rejected_by[r.exchange].push_back(&r);
  std::map<std::string, size_t> instruments_by, grouped_by;
  for (const auto& e : catalog.entries) instruments_by[std::string(e.tardis_exchange())]++;
  for (const auto& g : catalog.grouped) grouped_by[g.exchange]++;
  for (const auto& ex : exchanges) {
    const ExchangeMetadata& m = *meta_of.at(ex);
    const auto& rj = rejected_by[ex];
    log::Info(ex + ": " + std::to_string(m.dataset_symbols) +
              " dataset symbols: " + std::to_string(instruments_by[ex]) + " instruments, " +
              std::to_string(grouped_by[ex]) + " grouped, " + std::to_string(rj.size()) + " rejected; " +
              (m.have_instruments ? std::to_string(m.instrument_records) + " /v1/instruments records"
                                  : "no instrument metadata (" + m.instruments_note.substr(0, 60) + ")"));
    for (size_t i = 0; i < rj.size() && i < kMaxLoggedPerExchange; i++) {
      log::Warn("rejected " + ex + " " + EscapeOutsideText(rj[i]->symbol, 80) + ": " + rj[i]->reason);
    }
    if (rj.size() > kMaxLoggedPerExchange) {
      log::Warn("... and " + std::to_string(rj.size() - kMaxLoggedPerExchange) + " more rejected " + ex +
                " symbols (all are in --summary-json)");
    }
  }
  for (size_t i = 0; i < catalog.warnings.size() && i < kMaxLoggedPerExchange; i++) log::Warn(catalog.warnings[i]);
  for (const auto& ex : catalog.need_metadata) {
    log::Warn(ex + ": symbols were rejected without instrument metadata, which needs TARDIS_API_KEY to be set; the "
                   "files record that, and the next run of instruments with a key rewrites " + ex +
              " in them (no --force needed)");
  }
  return catalog;
}

// One file to merge into: a day file or the range's aggregate.
struct FileJob {
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

// Merges this run's exchanges into the files as stored: read, merge, write
// if unchanged, else again.
class FileMerger {
 public:
  FileMerger(const InstrumentsJobOptions& opts, storage::ObjectStore* store, const Catalog& catalog,
             const std::map<std::string, const ExchangeMetadata*>& meta_of, const std::atomic<bool>* cancel)
      : opts_(opts), store_(store), catalog_(catalog), meta_of_(meta_of), cancel_(cancel) {
    wopts_.created_by = "market-tick version " + opts.tool_version;
    created_at_ = FormatIsoMicros(CreatedAtMicros());
    quotes_csv_ = JoinList(opts.quotes);
  }

  // Files are independent, so a few are merged at once; the first failure
  // stops the others from starting.
  void RunAll(std::vector<FileJob>* jobs) {
    // Each merge holds a day file read back and one being written (on
    // gs://, a connection each, three descriptors apiece; the writer's
    // footer spill).
    constexpr int kDescriptorsPerMerge = 7;
    const int workers = CapToOpenFileLimit(InstrumentsFileWorkers(catalog_.entries.size()), kDescriptorsPerMerge,
                                           "instruments", "day files merged at once");
    ParallelFor(jobs->size(), ParallelOptions{workers, cancel_}, [&](size_t i) {
      FileJob& job = (*jobs)[i];
      const Status st = Merge(job);
      if (st.ok() || st.code() == Status::Code::kCancelled) return Status::OK();
      job.outcome = FileJob::kFailed;
      job.status = st;
      return st;
    });
  }

  const std::string& created_at() const { return created_at_; }
  const QuoteFilterNotes& quote_notes() const { return quote_notes_; }

 private:
  // Where one exchange's rows of a file come from, and whether Tardis had
  // exported the file's last day: if not, the listing may still change
  // (symbols added that day) and the file says so, for a later run to redo.
  ExchangeSource SourceFor(const std::string& ex, const Date& first, const Date& last) const {
    const ExchangeMetadata& m = *meta_of_.at(ex);
    ExchangeSource src;
    src.exchange = ex;
    for (const auto& u : m.urls) src.source += (src.source.empty() ? "" : " ") + u;
    src.source_bytes = m.source_bytes;
    src.created_at = created_at_;
    src.quote_filter = quotes_csv_;
    src.exported_until_us = m.details.exported_until_us;
    src.final = ExportedThrough(src.exported_until_us, last);
    src.needs_key = catalog_.need_metadata.count(ex) > 0;
    // The incidents that touch the file's days travel with its definitions.
    const int64_t start = MicrosFromDate(first), end = MicrosFromDate(AddDays(last, 1));
    for (const auto& i : m.details.incidents) {
      if (i.from_us < end && i.to_us > start) src.incidents.push_back(i);
    }
    return src;
  }

  // The stored file, open (its footer read: key-value metadata, schema and
  // row count) for a merge that reads its columns one at a time, and its
  // state; no file when there is none (or, with --force, an unreadable one
  // that is replaced).
  Status ReadStored(const FileJob& job, storage::ObjectStore::Versioned stored,
                    std::unique_ptr<parquet::FileReader>* file, std::optional<StoredInstruments>* existing,
                    InstrumentsFileState* state) const {
    if (stored.generation == 0) return Status::OK();
    const std::string where = store_->Describe(job.name);
    state->exists = true;
    auto opened = parquet::FileReader::OpenBuffer(std::move(stored.bytes), where);
    Result<StoredInstruments> contents =
        opened.ok() ? StoredInstruments::Open(opened->get()) : Result<StoredInstruments>(opened.status());
    if (contents.ok()) {
      *file = std::move(opened).value();
      *existing = std::move(contents).value();
      *state = StateOf((*existing)->kv());
      // A file from before finality was recorded: what Tardis has not
      // exported yet cannot have been final.
      if (state->legacy) {
        for (const auto& e : state->exchanges) {
          auto it = meta_of_.find(e);
          if (it != meta_of_.end() && !ExportedThrough(it->second->details.exported_until_us, job.last)) {
            state->provisional.insert(e);
          }
        }
      }
      return Status::OK();
    }
    return Unreadable(where, contents.status());
  }

  // A stored file that is not a readable instruments file: an error, or
  // with --force a warning (the file is replaced by the requested exchanges
  // only).
  Status Unreadable(const std::string& where, const Status& why) const {
    if (!opts_.force) {
      return Status::InvalidInput(where + " is not a readable instruments file (" + why.message() +
                                  "): move it away, or rerun with --force to replace it");
    }
    log::Warn(where + " is not a readable instruments file (" + why.message() +
              "); --force replaces it with the requested exchanges only");
    return Status::OK();
  }

  Status Merge(FileJob& job) const {
    const std::string where = store_->Describe(job.name);
    for (int attempt = 1;; attempt++) {
      if (*cancel_) return Status::Cancelled(where + ": interrupted");
      job.attempts = attempt;
      MT_ASSIGN_OR_RETURN(storage::ObjectStore::Versioned stored, store_->ReadVersioned(job.name));
      const int64_t generation = stored.generation;
      std::unique_ptr<parquet::FileReader> file;
      std::optional<StoredInstruments> existing;
      InstrumentsFileState state;
      MT_RETURN_IF_ERROR(ReadStored(job, std::move(stored), &file, &existing, &state));
      const std::vector<std::string> to_write =
          ExchangesToWrite(state, opts_.exchanges, opts_.force, !opts_.metadata.api_key.empty());
      if (!opts_.force) quote_notes_.Note(state, opts_.exchanges);
      if (to_write.empty()) {
        job.outcome = FileJob::kSkipped;
        return Status::OK();
      }
      MergeInput in;
      in.replaced.insert(to_write.begin(), to_write.end());
      for (const auto& e : to_write) in.sources.push_back(SourceFor(e, job.first, job.last));
      in.grouped_json =
          GroupedJson(catalog_.grouped, job.is_day ? std::optional<Date>(job.first) : std::nullopt, &in.replaced)
              .dump();
      in.first = job.first;
      in.last = job.last;
      in.created_at = created_at_;
      in.tool_version = opts_.tool_version;
      const AddedRows added = [&](const DefinitionFn& fn) {
        if (job.is_day) {
          ForEachOnDay(catalog_, job.first, fn);
        } else {
          ForEachInRange(catalog_, job.first, job.last, fn);
        }
      };
      // The file's rows are held from here until it is written: it waits
      // for room among the files in flight.
      RowBudget::Hold hold(&budget_, MergeRowsEstimate(existing ? existing->num_rows() : 0, catalog_.entries.size()));
      // An interrupt while it waited stops it here, before anything is written.
      if (*cancel_) return Status::Cancelled(where + ": interrupted");
      Result<uint64_t> bytes = Status::Internal("not written");
      size_t row_count = 0;
      std::vector<std::string> provisional;
      std::optional<Status> unreadable;
      if (existing) {
        // The stored file merged a column at a time; a column that does not
        // decode makes it unreadable, found while writing (nothing appears).
        Result<StoredMerge> plan = StoredMerge::Plan(in, &*existing, added);
        // This run's rows were decoded from the catalog's temporary file: one
        // that could not be read back is not written.
        MT_RETURN_IF_ERROR(catalog_.blobs->status().WithContext(where));
        if (plan.ok()) {
          WarnRowsNote(plan->rows_note());
          MT_ASSIGN_OR_RETURN(std::unique_ptr<storage::WritableObject> obj,
                              store_->CreateIfGeneration(job.name, generation));
          row_count = plan->num_rows();
          provisional = plan->merged().provisional;
          bytes = WriteInstrumentsObjectByColumn(
              obj.get(), where, row_count,
              [&](size_t c, columnar::ColumnData* col) { return plan->FillColumn(c, col); }, plan->merged().kv, wopts_);
          if (!bytes.ok() && plan->read_error()) unreadable = *plan->read_error();
        } else {
          unreadable = plan.status();
        }
        if (unreadable) MT_RETURN_IF_ERROR(Unreadable(where, *unreadable));
      }
      if (!existing || unreadable) {
        // This run's rows alone, made a column at a time from a temporary
        // file: the bytes of MergeInstruments written whole.
        SpilledMerge merged = MergeInstrumentsSpilled(in, added);
        MT_RETURN_IF_ERROR(catalog_.blobs->status().WithContext(where));
        existing.reset();
        file.reset();
        MT_ASSIGN_OR_RETURN(std::unique_ptr<storage::WritableObject> obj,
                            store_->CreateIfGeneration(job.name, generation));
        WarnRowsNote(merged.rows->note());
        row_count = merged.rows->num_rows();
        provisional = merged.merged.provisional;
        columnar::RowGroupData empty = EmptyInstrumentRowGroup();
        bytes = WriteInstrumentsObjectByColumn(
            obj.get(), where, row_count,
            [&](size_t c, columnar::ColumnData* col) {
              *col = std::move(empty.columns[c]);
              return merged.rows->Column(c, col);
            },
            merged.merged.kv, wopts_);
      }
      if (bytes.ok()) {
        job.outcome = FileJob::kDone;
        job.rows = row_count;
        job.bytes = *bytes;
        job.written = to_write;
        job.provisional = provisional;
        return Status::OK();
      }
      if (bytes.status().code() != Status::Code::kAlreadyExists) return bytes.status();
      // Another run wrote the file since we read it: read its version and merge again.
      if (attempt >= kMaxMergeAttempts) {
        return Status::Unavailable(where + ": other runs changed it " + std::to_string(attempt) +
                                   " times while this run merged into it; run again");
      }
      hold.Release();
      log::Debug(where + ": changed by another run while merging; attempt " + std::to_string(attempt + 1));
      static thread_local std::mt19937 rng{std::random_device{}()};
      const int ms = std::uniform_int_distribution<int>(5, 20 * std::min(attempt, 10))(rng);
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
  }

  const InstrumentsJobOptions& opts_;
  storage::ObjectStore* store_;
  const Catalog& catalog_;
  const std::map<std::string, const ExchangeMetadata*>& meta_of_;
  // Rows that stayed in memory for want of a temporary file: said once a run.
  void WarnRowsNote(const std::string& note) const {
    if (!note.empty() && !rows_note_said_.exchange(true)) log::Warn("instruments: the rows of a file: " + note);
  }

  const std::atomic<bool>* cancel_;
  mutable std::atomic<bool> rows_note_said_{false};
  parquet::WriterOptions wopts_;
  std::string created_at_, quotes_csv_;
  mutable QuoteFilterNotes quote_notes_{opts_.quotes};  // noted by Merge, said after RunAll
  mutable RowBudget budget_{kRowsInFlight};
};

// Days not yet fully exported, per exchange: their rows were written as
// provisional (or are already so) and a later run rewrites them.
std::map<std::string, std::vector<Date>> ProvisionalDays(const InstrumentsJobOptions& opts,
                                                         const std::map<std::string, const ExchangeMetadata*>& meta_of) {
  std::map<std::string, std::vector<Date>> out;
  for (const auto& ex : opts.exchanges) {
    for (Date d = opts.from; d <= opts.to; d = AddDays(d, 1)) {
      if (!ExportedThrough(meta_of.at(ex)->details.exported_until_us, d)) out[ex].push_back(d);
    }
  }
  for (const auto& [ex, ds] : out) {
    log::Warn(ex + ": Tardis has exported its data until " +
              FormatIsoMicros(*meta_of.at(ex)->details.exported_until_us) +
              " (datasets.exportedUntil), so its listing for " +
              (ds.size() == 1 ? FormatDate(ds[0]) : FormatDate(ds.front()) + " .. " + FormatDate(ds.back())) +
              " is provisional: those day files (and the aggregate) mark it so, and the next run of instruments "
              "for these days rewrites it");
  }
  return out;
}

struct RunTotals {
  size_t days = 0, written = 0, skipped = 0, rows = 0, aggregate_rows = 0, merge_retries = 0;
  uint64_t bytes = 0;
  int requests = 0;
  double seconds = 0;
};

// What a run read from Tardis, for the summary: none when every file
// already held every requested exchange for good (no request was made).
struct RunMetadata {
  const Catalog& catalog;
  const std::map<std::string, const ExchangeMetadata*>& meta_of;
  const std::map<std::string, std::vector<Date>>& provisional_days;
};

// The --summary-json of a run. Without `run` (up to date: no request, so
// nothing to report per exchange but its name, only the files checked) the
// aggregate's row count, the metadata per exchange and the warnings are
// left out.
std::string SummaryJson(const InstrumentsJobOptions& opts, const storage::Layout& layout, const RunTotals& t,
                        const RunMetadata* run) {
  ojson s = ojson::object();
  s["from"] = FormatDate(opts.from);
  s["to"] = FormatDate(opts.to);
  s["days"] = t.days;
  s["files_written"] = t.written;
  s["files_skipped"] = t.skipped;
  s["rows_written"] = t.rows;
  s["bytes_written"] = t.bytes;
  s["aggregate"] = layout.InstrumentsAggregateName(opts.from, opts.to);
  if (run) s["aggregate_rows"] = t.aggregate_rows;
  s["metadata_requests"] = t.requests;
  s["merge_retries"] = t.merge_retries;  // files read again because another run changed them meanwhile
  s["seconds"] = t.seconds;
  s["up_to_date"] = run == nullptr;
  ojson exs = ojson::array();
  ojson warnings = ojson::array();
  if (!run) {
    for (const auto& ex : opts.exchanges) exs.push_back({{"exchange", ex}});
    s["exchanges"] = exs;
    s["warnings"] = warnings;
    return RedactSecrets(s.dump(1));
  }
  const Catalog& catalog = run->catalog;
  std::map<std::string, size_t> instruments_by;
  for (const auto& e : catalog.entries) instruments_by[std::string(e.tardis_exchange())]++;
  for (const auto& ex : opts.exchanges) {
    const ExchangeMetadata& m = *run->meta_of.at(ex);
    ojson rj = ojson::array();
    for (const auto& r : catalog.rejected) {
      if (r.exchange == ex) rj.push_back({{"symbol", r.symbol}, {"reason", RedactSecrets(r.reason)}});
    }
    ojson gr = ojson::array();
    for (const auto& g : catalog.grouped) {
      if (g.exchange == ex) gr.push_back({{"symbol", g.symbol.id}, {"type", g.symbol.type}, {"data_types", g.symbol.data_types}});
    }
    exs.push_back({{"exchange", ex},
                   {"dataset_symbols", m.dataset_symbols},
                   {"instruments", instruments_by[ex]},
                   {"instrument_metadata", m.have_instruments},
                   {"instrument_metadata_records", m.instrument_records},
                   {"instrument_metadata_note", RedactSecrets(m.instruments_note)},
                   {"grouped", gr},
                   {"rejected", rj}});
    exs.back()["exported_until"] =
        m.details.exported_until_us ? ojson(FormatIsoMicros(*m.details.exported_until_us)) : ojson(nullptr);
    ojson pd = ojson::array();
    if (auto it = run->provisional_days.find(ex); it != run->provisional_days.end()) {
      for (const Date& d : it->second) pd.push_back(FormatDate(d));
    }
    exs.back()["provisional_days"] = pd;
  }
  s["exchanges"] = exs;
  // Free text is redacted before the JSON escapes it (a credential pattern
  // is found in the raw text), the whole again below.
  for (const auto& w : catalog.warnings) warnings.push_back(RedactSecrets(w));
  s["warnings"] = warnings;
  return RedactSecrets(s.dump(1));
}

}  // namespace

size_t RowBudget::Acquire(size_t rows) {
  const size_t take = std::min(rows, cap_);
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return used_ + take <= cap_; });
  used_ += take;
  peak_ = std::max(peak_, used_);
  return take;
}

void RowBudget::Release(size_t taken) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    used_ -= taken;
  }
  cv_.notify_all();
}

size_t RowBudget::peak() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_;
}

size_t MergeRowsEstimate(size_t stored_rows, size_t instruments) { return std::max(stored_rows, instruments); }

int InstrumentsFileWorkers(size_t instruments) {
  const size_t fit = kRowsInFlight / std::max<size_t>(instruments, 1);
  return static_cast<int>(std::clamp<size_t>(fit, 1, kFileWorkers));
}

InstrumentsReport RunInstrumentsJob(const InstrumentsJobOptions& opts, storage::ObjectStore* store) {
  InstrumentsReport report;
  const auto started = std::chrono::steady_clock::now();
  // Without a store (--format) the names are not used.
  const storage::Layout layout = store ? store->layout() : storage::Layout();
  std::vector<FileJob> jobs;
  for (Date d = opts.from; d <= opts.to; d = AddDays(d, 1)) {
    FileJob job;
    job.name = layout.InstrumentsObjectName(d);
    job.first = job.last = d;
    jobs.push_back(std::move(job));
  }
  const size_t days = jobs.size();
  FileJob aggregate;
  aggregate.name = layout.InstrumentsAggregateName(opts.from, opts.to);
  aggregate.is_day = false;
  aggregate.first = opts.from;
  aggregate.last = opts.to;
  jobs.push_back(std::move(aggregate));
  if (store && !opts.force) {
    // Every file already holds every requested exchange as final: done
    // without a request to Tardis (one footer read per file).
    std::vector<std::string> names;
    for (const auto& j : jobs) names.push_back(j.name);
    QuoteFilterNotes quotes(opts.quotes);
    if (AllHold(store, names, opts.exchanges, !opts.metadata.api_key.empty(), &quotes)) {
      quotes.Warn();
      log::Info("instruments: all " + std::to_string(days) + " day files and the aggregate in " +
                store->Describe("") + " hold " + JoinList(opts.exchanges) +
                "; nothing to do (--force rewrites those exchanges)");
      report.up_to_date = true;
      if (!opts.summary_json.empty()) {
        // Written here too: a pipeline reading the file after the run must
        // find this run's, not a missing or an earlier run's.
        RunTotals t;
        t.days = days;
        t.skipped = days + 1;  // the day files and the aggregate
        t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const Status w = WriteFileAtomically(opts.summary_json, SummaryJson(opts, layout, t, nullptr) + "\n");
        if (!w.ok()) {
          log::Error("--summary-json: " + w.message());
          report.status = w;
        }
      }
      return report;
    }
  }

  const auto t0 = std::chrono::steady_clock::now();
  MetadataOptions mopts = opts.metadata;
  mopts.cancel = opts.cancel;
  MetadataSource source(mopts);
  auto fetched = FetchMetadata(&source, opts.exchanges, mopts.api_key);
  if (!fetched.ok()) {
    if (fetched.status().code() == Status::Code::kCancelled) {
      log::Warn("instruments: interrupted while reading metadata; no files written");
    }
    report.status = fetched.status();
    return report;
  }
  const auto& meta_of = *fetched;
  Status catalog_error;
  const Catalog catalog = BuildCatalog(&source, opts.exchanges, meta_of, opts.quotes, mopts.api_key.empty(),
                                       opts.cancel, &catalog_error);
  if (opts.cancel && opts.cancel->load()) {
    // The catalog may lack instruments: nothing is made of it.
    log::Warn(std::string("instruments: interrupted while building the instrument catalog; ") +
              (store ? "no files written" : "nothing printed"));
    report.status = Status::Cancelled("interrupted");
    return report;
  }
  if (catalog_error.ok() && !store) {
    // Formatted a definition at a time into a temporary file, and given
    // to the command only when every definition was read from the catalog:
    // printed whole or not at all, without holding the range's definitions.
    // An interrupt stops the formatting at the next definition: the text
    // is then not all there, and nothing is printed.
    report.text = std::make_unique<SpilledBlobs>();
    SpilledBlobs* text = report.text.get();
    FormatDefinitions(
        [&](const DefinitionFn& fn) { ForEachInRange(catalog, opts.from, opts.to, fn, opts.cancel); }, opts.format,
        [text](std::string_view piece) { text->Append(piece); });
    if (!text->note().empty()) log::Warn("instruments: the formatted definitions: " + text->note());
    catalog_error = catalog.blobs->status().WithContext("the catalog");
    if (catalog_error.ok() && opts.cancel && opts.cancel->load()) {
      log::Warn("instruments: interrupted while formatting the definitions; nothing printed");
      report.text.reset();
      report.status = Status::Cancelled("interrupted");
      return report;
    }
    if (catalog_error.ok()) return report;
    report.text.reset();
  }
  if (!catalog_error.ok()) {
    log::Error("instruments: " + catalog_error.message() + "; no files written");
    report.status = catalog_error;
    return report;
  }

  // The store's layout is recorded before its first object (storage/layout_record.h).
  if (Status st = storage::RecordStoreLayout(store); !st.ok()) {
    log::Error(st.message());
    report.status = st;
    return report;
  }
  FileMerger merger(opts, store, catalog, meta_of, opts.cancel);
  merger.RunAll(&jobs);
  merger.quote_notes().Warn();
  RunTotals t;
  t.days = days;
  Status st;
  for (const FileJob& job : jobs) {
    if (job.attempts > 1) t.merge_retries += static_cast<size_t>(job.attempts - 1);
    if (job.outcome == FileJob::kDone || job.outcome == FileJob::kSkipped) {
      InstrumentsFileResult r;
      r.name = job.name;
      r.written = job.outcome == FileJob::kDone;
      r.rows = job.rows;
      r.bytes = job.bytes;
      r.provisional = job.provisional;
      (r.written ? t.written : t.skipped)++;
      t.rows += job.rows;
      t.bytes += job.bytes;
      report.files.push_back(std::move(r));
    } else if (job.outcome == FileJob::kFailed && st.ok()) {
      st = job.status;
    }
  }
  const auto provisional_days = ProvisionalDays(opts, meta_of);
  ForEachInRange(catalog, opts.from, opts.to, [&](const InstrumentDefinition&) { t.aggregate_rows++; });
  if (st.ok() && opts.cancel && opts.cancel->load()) {
    log::Warn("instruments: interrupted; the files listed as done are complete, the others were not written");
    st = Status::Cancelled("interrupted");
  }
  if (!st.ok()) {
    if (st.code() != Status::Code::kCancelled) log::Error("instruments: " + st.message());
    report.status = st;  // the files listed are complete all the same
    return report;
  }
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  t.requests = source.requests();
  char line[400];
  std::snprintf(line, sizeof line,
                "instruments: %zu days, %zu files written, %zu skipped; %zu instruments in the range, %zu rejected "
                "symbols, %zu grouped; %d metadata requests; %.2f s",
                t.days, t.written, t.skipped, t.aggregate_rows, catalog.rejected.size(), catalog.grouped.size(),
                t.requests, t.seconds);
  log::Info(line);
  if (!opts.summary_json.empty()) {
    // Whole or not at all: a pipeline reading it must not take a half
    // written or stale file for this run's.
    const RunMetadata run{catalog, meta_of, provisional_days};
    const Status w = WriteFileAtomically(opts.summary_json, SummaryJson(opts, layout, t, &run) + "\n");
    if (!w.ok()) {
      log::Error("--summary-json: " + w.message());
      report.status = w;
    }
  }
  return report;
}

}  // namespace mt::pipeline
