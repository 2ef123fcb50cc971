#include "pipeline/derive_job.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include "core/atomic_file.h"
#include "core/exit_code.h"
#include "core/external_sort.h"
#include "core/log.h"
#include "core/open_files.h"
#include "core/parallel.h"
#include "core/string_spool.h"
#include "core/thread_pool.h"
#include "pipeline/download_job.h"
#include "pipeline/item_record.h"
#include "pipeline/key_resolver.h"
#include "pipeline/stored_derive.h"
#include "storage/layout.h"
#include "tardis/instrument_key.h"
#include "tardis/schema.h"

namespace mt::pipeline {

namespace {

bool FiltersInstruments(const InstrumentFilter& f) {
  return !f.types.empty() || !f.bases.empty() || !f.quotes.empty() || f.max_instruments != SIZE_MAX ||
         f.max_days_to_expiry >= 0;
}

bool Bytewise(std::string_view a, std::string_view b) { return a < b; }

// The stored raw objects of the request's days and data types, as items
// named by their instrument key, of the request's exchanges (all when none),
// each given to `each` in item order, filtered by the instrument filters.
// Neither the listing nor the items are held: the items are sorted in
// bounded memory (ExternalSorter; a day of a grouped venue stores millions
// of objects).
Status ListStored(storage::ObjectStore* store, const PlanRequest& req,
                  const std::function<void(const WorkItem&)>& each) {
  // A venue (the key's first part) back to its Tardis exchange id.
  std::map<std::string, std::string> exchange_of_venue;
  if (!req.exchanges.empty()) {
    MT_RETURN_IF_ERROR(CheckExchanges(req.exchanges));
    for (const auto& e : req.exchanges) exchange_of_venue.emplace(tardis::VenueForExchange(e), e);
  } else {
    for (const auto& e : KnownExchanges()) exchange_of_venue.emplace(tardis::VenueForExchange(e), e);
  }
  ExternalSorter sorted(Bytewise);  // EncodeWorkItem of each item: they sort as the items do
  for (Date day = req.from; day <= req.to; day = AddDays(day, 1)) {
    for (const std::string& type : req.data_types) {
      // The day's objects as the store lists them, not gathered: only the
      // items they become are kept.
      MT_RETURN_IF_ERROR(store->ListEach(store->layout().TickObjectPrefix(day, type), [&](storage::ObjectInfo&& o) {
        const auto parsed = store->layout().ParseTickObjectName(o.name);
        // Item records, stray files.
        if (!parsed || parsed->day != day || parsed->data_type != type) return Status::OK();
        const std::string& key = parsed->instrument_key;
        // Rows kept without an instrument key (VENUE:UNKEYED:SYMBOL) get no
        // derived series, as convert --derive and download --derive skip them.
        if (tardis::IsUnkeyedKey(key)) return Status::OK();
        // The exchange: the hive layout names it; by_date, from the key's venue.
        std::string exchange = parsed->exchange;
        if (!exchange.empty()) {
          if (!req.exchanges.empty() &&
              std::find(req.exchanges.begin(), req.exchanges.end(), exchange) == req.exchanges.end()) {
            return Status::OK();
          }
        } else {
          const std::string venue = key.substr(0, key.find(':'));
          if (auto it = exchange_of_venue.find(venue); it != exchange_of_venue.end()) {
            exchange = it->second;
          } else if (req.exchanges.empty()) {
            exchange = venue;  // a venue this build does not know: kept, named as stored
          } else {
            return Status::OK();
          }
        }
        // Only what TickObjectName gives back: a name it would not build
        // (a file someone put there) is not an item.
        if (store->layout().TickObjectName(day, type, exchange, key) != o.name) return Status::OK();
        sorted.Add(EncodeWorkItem(WorkItem{day, type, exchange, key, key}));
        return Status::OK();
      }));
    }
  }
  sorted.Finish();
  if (!sorted.note().empty()) log::Warn("the items of the stored objects: " + sorted.note());
  const bool filters = FiltersInstruments(req.instruments);
  InstrumentFilterer filter(req.instruments);
  std::string bytes;
  WorkItem item;
  while (sorted.Next(&bytes)) {
    if (!DecodeWorkItem(bytes, &item)) return Status::Internal("an item of the stored objects does not decode");
    if (!filters || filter.Keep(item)) each(item);
  }
  return sorted.status();
}

// Nothing stored at all for the selection: most likely a mistyped --output
// or day, which no rerun fixes (with --symbols each item says `missing`
// instead).
Status NothingStored(storage::ObjectStore* store, const PlanRequest& request) {
  std::string types;
  for (const std::string& t : request.data_types) types += (types.empty() ? "" : ",") + t;
  std::string exchanges;
  for (const std::string& e : request.exchanges) exchanges += (exchanges.empty() ? "" : ",") + e;
  return Status::Usage("no raw objects of " + types + " from " + FormatDate(request.from) + " to " +
                       FormatDate(request.to) + (exchanges.empty() ? "" : " of " + exchanges) + " in " +
                       store->Describe("") + " (a " + store->layout().name() +
                       " store) to derive from: check --output, --from/--to and --exchanges, or download or "
                       "convert the data first");
}

// One raw object of an item and the instrument key its derived objects get.
struct RawObject {
  std::string name, key;
};

// The raw objects of an item, in order, in bounded memory: a grouped item's
// record lists one per instrument, a million for a large day of options.
struct RawObjects {
  StringSpool names, keys;  // keys[i] is that of names[i]
  void Add(const std::string& name, const std::string& key) {
    names.push_back(name);
    keys.push_back(key);
  }
  void Clear() {
    names.clear();
    keys.clear();
  }
};

class DeriveRunner {
 public:
  DeriveRunner(storage::ObjectStore* store, const DeriveJobOptions& o) : store_(store), o_(o), keys_(store) {}

  ItemResult Run(const WorkItem& item) {
    ItemResult res;
    res.item = item;
    const tardis::DataTypeSchema* schema = tardis::FindSchema(item.data_type);
    std::vector<derive::DerivedSpec> specs;
    bool book = false;
    for (const auto& s : o_.derived) {
      if (s.source_data_type() != item.data_type) continue;
      specs.push_back(s);
      book |= s.kind == derive::DerivedKind::kBookSnapshot;
    }
    const bool force = o_.force;
    RawObjects raws;
    if (const Status st = RawObjectsOf(item, &raws, &res); !st.ok()) return Failed(std::move(res), st);
    if (raws.names.empty()) return res;  // its outcome says why
    // Items with book snapshot series run one at a time (the others keep
    // running beside them): each holds its books and up to convert's budget
    // of derived rows, as download runs its items with series.
    std::unique_lock<std::mutex> slot(book_mu_, std::defer_lock);
    if (book) slot.lock();
    bool computed = false;
    StringSpool present;  // derived objects that were there: listed only when the item is skipped
    std::vector<std::string> found;
    RawObject raw;
    const bool grouped = tardis::IsGroupedSymbol(item.symbol);
    size_t absent = 0;  // recorded objects of a grouped item that are gone
    std::string first_absent;
    // The two lists are as long, but either may end early on a failed read
    // (then looked at below): the walk ends with the first to end, so no
    // name is taken with another's key or none.
    auto key_at = raws.keys.begin();
    for (auto name_at = raws.names.begin(); name_at != raws.names.end() && key_at != raws.keys.end();
         ++name_at, ++key_at) {
      raw.name = *name_at;
      raw.key = *key_at;
      if (o_.cancel && o_.cancel->load()) return Cancelled(std::move(res));
      auto exists = store_->Exists(raw.name);
      if (!exists.ok()) return Failed(std::move(res), exists.status());
      if (!*exists && !grouped) return NoRawObject(item, raw, std::move(res));
      // A grouped item's object that is gone: the others' series are still
      // computed; the item ends missing, naming it (below).
      if (!*exists) {
        if (absent++ == 0) first_absent = raw.name;
        continue;
      }
      found.clear();
      // A series the reports call corrupt is there, yet computed again:
      // only that one of the object's (and of a grouped item's objects);
      // the others only where missing.
      std::vector<derive::DerivedSpec> replaced, rest;
      for (const derive::DerivedSpec& s : specs) {
        const bool corrupt = !force && o_.replace_series.count(DerivedSeriesId(item, raw.key, s.name)) > 0;
        (corrupt ? replaced : rest).push_back(s);
      }
      std::vector<derive::DerivedSpec> missing =
          force ? specs : MissingDerived(store_, item.day, item.exchange, raw.key, rest, &found);
      missing.insert(missing.end(), replaced.begin(), replaced.end());
      const bool replaces = force || !replaced.empty();
      for (const std::string& f : found) present.push_back(store_->Describe(f));
      if (missing.empty()) continue;
      StoredDeriveRequest sd;
      sd.store = store_;
      sd.raw_object = raw.name;
      sd.schema = schema;
      sd.specs = std::move(missing);
      sd.day = item.day;
      sd.key = raw.key;
      // Items of the plan spell their symbol as the rows do (as download);
      // listed ones and a grouped file's objects take it from the footer.
      if (item.symbol != item.instrument_key && !tardis::IsGroupedSymbol(item.symbol)) {
        sd.exchange = item.exchange;
        sd.symbol = item.symbol;
      }
      sd.overwrite = replaces;
      sd.writer = o_.writer;
      sd.tool_version = o_.tool_version;
      sd.cancel = o_.cancel;
      auto r = DeriveFromStoredObject(sd);
      if (!r.ok()) {
        if (r.status().code() == Status::Code::kCancelled) return Cancelled(std::move(res));
        return Failed(std::move(res), r.status().WithContext("computing derived data from " +
                                                             store_->Describe(raw.name)));
      }
      res.rows += r->rows;
      res.bytes_in += r->bytes_in;
      for (const auto& d : r->outputs) {
        res.bytes_out += d.bytes;
        res.objects.push_back(d.name);
        computed = true;
      }
    }
    // Done when this run wrote something (no data when the raw rows were
    // none), skipped when every derived object was there.
    // A temporary file that could not be read back: not every raw object
    // was looked at.
    for (const Status* st : {&raws.names.read_status(), &raws.keys.read_status(), &present.read_status()}) {
      if (!st->ok()) return Failed(std::move(res), st->WithContext("reading back the item's raw objects"));
    }
    if (absent) {
      res.outcome = Outcome::kMissing;
      res.reason = std::to_string(absent) + " of the objects its completion record lists " +
                   (absent > 1 ? "are" : "is") + " gone (" + store_->Describe(first_absent) +
                   (absent > 1 ? " first" : "") + "): no series of " + (absent > 1 ? "them" : "it") +
                   " computed, those of the others are (validate, then download --from-report, fetches the item "
                   "again)";
      return res;
    }
    res.outcome = !computed ? Outcome::kSkipped : res.rows == 0 ? Outcome::kNoData : Outcome::kDone;
    if (!computed) res.objects.Append(present);
    return res;
  }

 private:
  static ItemResult Cancelled(ItemResult res) {
    res.outcome = Outcome::kCancelled;
    res.reason = "interrupted";
    return res;
  }
  // A store read stopped by a signal cancels the item; it did not fail.
  static ItemResult Failed(ItemResult res, const Status& st) {
    res.outcome = st.code() == Status::Code::kCancelled ? Outcome::kCancelled
                  : st.retryable()                      ? Outcome::kRetryable
                                                        : Outcome::kFailed;
    res.reason = st.message();
    return res;
  }

  // The completion record of `item`, read again when another run's commit
  // replaced it between two of its pieces or its pieces fail its CRC32C, as
  // download and validate read it (each read's objects replace the last's).
  // With `raws`, the objects of the record's data type that have a key go
  // there, not into the record.
  Result<ItemRecord> ReadRecord(const WorkItem& item, RawObjects* raws = nullptr) {
    std::function<void()> on_read;
    std::function<void(RecordedObject&&)> on_object;
    if (raws) {
      on_read = [raws] { raws->Clear(); };  // what a failed read took of its version
      on_object = [this, raws, &item](RecordedObject&& o) {
        // Rows kept without a key (UNKEYED) get no series, as in download,
        // convert and derive without --symbols (validate expects none).
        if (o.instrument_key.empty()) return;
        const auto parsed = store_->layout().ParseTickObjectName(o.name);
        if (!parsed || parsed->data_type != item.data_type) return;
        raws->Add(o.name, o.instrument_key);
      };
    }
    return ReadItemRecordAgainIfTorn(store_, ItemRecordObjectName(store_->layout(), item), net::RetryPolicy{}, nullptr,
                                     StopFlags{o_.cancel}, on_read, on_object);
  }

  // An item whose raw object is not stored: not_available when a download
  // recorded the source's 404 for it, else missing.
  ItemResult NoRawObject(const WorkItem& item, const RawObject& raw, ItemResult res) {
    auto record = ReadRecord(item);
    if (record.ok() && record->outcome == "not_available") {
      res.outcome = Outcome::kNotAvailable;
      res.reason = "not available at the source (recorded by download: " + record->reason + ")";
      return res;
    }
    if (!record.ok() && record.status().code() != Status::Code::kNotFound) return Failed(std::move(res), record.status());
    res.outcome = Outcome::kMissing;
    res.reason = "no raw object " + store_->Describe(raw.name) + " to compute from (download it first)";
    return res;
  }

  // The raw objects of an item: one for an instrument's file, those its
  // completion record lists for a grouped file (deribit OPTIONS: one per
  // instrument). None, with res's outcome and reason set, when a grouped
  // file has no record or a recorded 404.
  Status RawObjectsOf(const WorkItem& item, RawObjects* out, ItemResult* res) {
    if (tardis::IsGroupedSymbol(item.symbol)) {
      auto record = ReadRecord(item, out);
      if (!record.ok() && record.status().code() != Status::Code::kNotFound) return record.status();
      if (!record.ok() || record->outcome == "not_available") {
        out->Clear();
        res->outcome = record.ok() ? Outcome::kNotAvailable : Outcome::kMissing;
        res->reason = record.ok() ? "not available at the source (recorded by download: " + record->reason + ")"
                                  : "the grouped file has no completion record in the store (download it first)";
        return Status::OK();
      }
      res->outcome = Outcome::kSkipped;  // a record without objects of this type: nothing to compute
      return Status::OK();
    }
    std::string key = item.instrument_key;
    if (key.empty()) {
      MT_ASSIGN_OR_RETURN(std::shared_ptr<const KeyResolver> resolver, keys_.ForDay(item.day));
      MT_ASSIGN_OR_RETURN(tardis::InstrumentKey k, resolver->Resolve(item.exchange, item.symbol));
      key = k.ToString();
    }
    out->Add(store_->layout().TickObjectName(item.day, item.data_type, item.exchange, key), key);
    return Status::OK();
  }

  storage::ObjectStore* store_;
  const DeriveJobOptions& o_;
  StoreKeyResolvers keys_;
  std::mutex book_mu_;
};

}  // namespace

Result<std::vector<WorkItem>> DeriveItems(storage::ObjectStore* store, const PlanRequest& request) {
  if (!request.symbols.empty()) return PlanWorkItems(store, request, WorkPlanOptions{});
  std::vector<WorkItem> items;
  MT_RETURN_IF_ERROR(ListStored(store, request, [&](const WorkItem& item) { items.push_back(item); }));
  if (items.empty()) return NothingStored(store, request);
  return items;
}

namespace {

// The items of the reports' derived rows (of the names asked for, when
// some are), with `options` completed: the reports' names, the items to
// recompute.
Result<std::vector<WorkItem>> ReportItems(storage::ObjectStore* store, DeriveJobOptions* options) {
  MT_ASSIGN_OR_RETURN(ReportPlan rp, PlanFromRequestReports(store, options->request, false));
  const bool named = !options->derived.empty();
  auto asked = [&](const std::string& name) {
    return std::any_of(options->derived.begin(), options->derived.end(), [&](const auto& d) { return d.name == name; });
  };
  std::vector<WorkItem> items;
  for (const DerivedItem& d : rp.derived_items) {
    if (!named || asked(d.name)) items.push_back(d.source);
  }
  if (!named) {
    options->derived = rp.derived;
  }
  if (rp.derived_items.empty()) log::Info("--from-report: the reports list no derived items");
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  options->replace_series = std::move(rp.replace_series);
  return items;
}

}  // namespace

Result<DeriveReport> RunDeriveJob(storage::ObjectStore* store, DeriveJobOptions options) {
  DeriveReport report;
  // This shard's items (EncodeWorkItem), in plan order, in bounded memory:
  // the items of a day's listing are as many as its objects.
  StringSpool plan;
  size_t planned = 0;  // before sharding
  auto add = [&](const WorkItem& item) {
    planned++;
    if (options.shard.count <= 1 || StableHash(item) % options.shard.count == options.shard.index) {
      plan.push_back(EncodeWorkItem(item));
    }
  };
  if (options.from_report) {
    MT_ASSIGN_OR_RETURN(std::vector<WorkItem> items, ReportItems(store, &options));
    for (const WorkItem& item : items) add(item);
  } else {
    if (options.derived.empty()) return Status::Usage("no derived data types to compute");
    if (!options.request.symbols.empty()) {
      MT_ASSIGN_OR_RETURN(std::vector<WorkItem> items, DeriveItems(store, options.request));
      for (const WorkItem& item : items) add(item);
    } else {
      MT_RETURN_IF_ERROR(ListStored(store, options.request, add));
      if (planned == 0) return NothingStored(store, options.request);
    }
  }
  report.items = plan.size();
  if (!plan.note().empty()) log::Warn("the plan's items: " + plan.note());
  // A write error on the output would fail every item: a configuration
  // error, found before any item.
  MT_RETURN_IF_ERROR(store->CheckWritable());
  std::unique_ptr<ThreadPool> pool;
  if (options.threads > 1) pool = std::make_unique<ThreadPool>(options.threads);
  options.writer.pool = pool.get();
  // An item at once holds its raw object open and, per derived name, the
  // object being written and its footer spill: more items at once than the
  // open-file limit leaves room for failed items at random with EMFILE.
  const int descriptors_per_item = 1 + 2 * static_cast<int>(std::max<size_t>(1, options.derived.size()));
  options.concurrency = CapToOpenFileLimit(options.concurrency, descriptors_per_item, "--concurrency", "items at once");
  log::Info("deriving " + std::to_string(report.items) + " items (shard " + std::to_string(options.shard.index) + "/" +
            std::to_string(options.shard.count) + ", " + std::to_string(options.concurrency) + " at once) in " +
            store->Describe(""));

  const auto t0 = std::chrono::steady_clock::now();
  DeriveRunner runner(store, options);
  RunResults results(report.items, !options.summary_json.empty());
  MT_RETURN_IF_ERROR(results.status());
  std::mutex on_item_mu;
  // The items are read from the plan in order, each by the worker that runs
  // it (a call of the loop's function each, so every item is taken once).
  std::mutex plan_mu;
  StringSpool::Iterator next = plan.begin();
  size_t taken = 0;
  // Every item gets a result: after an interrupt the rest are reported as
  // not started, so no cancel flag is given to the loop.
  const int n = std::max(1, std::min<int>(options.concurrency, static_cast<int>(report.items)));
  ParallelForWorkers(report.items, ParallelOptions{n, nullptr}, [&](size_t, size_t) {
    ItemResult r;
    size_t i = 0;
    bool decoded = false;
    {
      std::lock_guard<std::mutex> l(plan_mu);
      i = taken++;
      if (next != plan.end()) {
        decoded = DecodeWorkItem(*next, &r.item);
        ++next;
      }
    }
    // A store that refuses writes (its layout record went to a run of the
    // other layout: storage::RecordLayoutOnFirstWrite) fails every item.
    const Status refused = store->WriteRefusal();
    if (!decoded) {
      r.outcome = Outcome::kFailed;
      r.reason = "reading back the plan: " +
                 (plan.read_status().ok() ? std::string("an item does not decode") : plan.read_status().message());
    } else if ((options.cancel && options.cancel->load()) || !refused.ok()) {
      r.outcome = Outcome::kCancelled;
      r.reason = refused.ok() ? "not started: interrupted" : "not started: " + refused.message();
    } else {
      const WorkItem item = std::move(r.item);
      r = runner.Run(item);
    }
    std::lock_guard<std::mutex> l(on_item_mu);
    if (options.on_item) options.on_item(r);
    LogItemResult(r);
    results.Add(i, r);
    return Status::OK();
  });
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report.totals = results.totals();
  report.status = SummarizeItems(report.totals, report.seconds, Status::OK(), options.cancel && options.cancel->load());
  report.status = WorseStatus(report.status, store->WriteRefusal());
  report.status = WriteRunSummary(&results, options.summary_json, report.seconds, true, report.status);
  return report;
}

}  // namespace mt::pipeline
