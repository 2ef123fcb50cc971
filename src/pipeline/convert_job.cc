#include "pipeline/convert_job.h"

#include <fcntl.h>
#include <sys/stat.h>
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
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>

#include "core/exit_code.h"
#include "core/log.h"
#include "core/open_files.h"
#include "core/parallel.h"
#include "core/thread_pool.h"
#include "core/time_util.h"
#include "core/utf8.h"
#include "derive/engine.h"
#include "pipeline/item_record.h"
#include "pipeline/key_resolver.h"
#include "pipeline/plan.h"
#include "pipeline/stored_derive.h"
#include "tardis/file_name.h"
#include "tardis/instrument_key.h"

namespace mt::pipeline {

namespace {

// Files converted side by side (RunConvertJob): their shared parse-buffer
// budget, the least batch each gets from it, and how many go at once.
constexpr size_t kSideBySideBatchBytes = 64u << 20;
constexpr size_t kMinSideBySideBatchBytes = 8u << 20;
constexpr size_t kMaxFilesSideBySide = 8;

// Instruments whose series one pass computes beside the parse (each holds an
// open object per series); more, and they are computed from the raw objects
// afterwards (DeriveEngine::overflowed).
constexpr size_t kMaxInstrumentsDerivedInOnePass = 8;

OutputFile AsOutputFile(const derive::DerivedOutput& d) {
  OutputFile o;
  o.name = d.name;
  o.instrument_key = d.instrument_key;
  o.rows = d.rows;
  o.bytes = d.bytes;
  return o;
}

// The object each one-instrument input of the run commits, with the
// instrument of its rows. Two symbols can give one key (Deribit's
// `XRP_USDC-30JUN23-0d5-C` and `…-0.5-C`): a later input of the other symbol
// would replace the first one's object, silently, so it fails instead,
// naming both files (a grouped file refuses two such symbols among its own
// rows). Two inputs of one instrument are one item named twice, which
// SameItemInputs stops before either is read. Held only for inputs named as
// one instrument (one object each), by hashes and the input's path as the
// run holds it, not per object of a grouped file: those grow with its
// instruments.
class ObjectClaims {
 public:
  // Claims `object` for the rows of (exchange, symbol) of input `path`
  // (which outlives the run's claims), or says which input holds it for
  // another instrument.
  Status Claim(const std::string& object, std::string_view exchange, std::string_view symbol,
               const std::string* path) {
    const uint64_t instrument = InstrumentHash(exchange, symbol);
    std::lock_guard<std::mutex> l(mu_);
    auto [it, added] = held_.try_emplace(std::hash<std::string>()(object), Holder{instrument, path});
    if (added || it->second.instrument == instrument) return Status::OK();
    return Status::InvalidInput(*path + ": symbol '" + EscapeOutsideText(symbol, 80) + "' (exchange " +
                                EscapeOutsideText(exchange, 80) + ") gives object " + object + ", which " +
                                *it->second.path +
                                " wrote in this run from another symbol; two instruments are never merged into "
                                "one file, so nothing of this file was written (check the two files' names and "
                                "rows, or convert them into different outputs)");
  }
  // The commit of `object` by `path` failed: another input may take it.
  void Release(const std::string& object, const std::string* path) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = held_.find(std::hash<std::string>()(object));
    if (it != held_.end() && it->second.path == path) held_.erase(it);
  }

 private:
  static uint64_t InstrumentHash(std::string_view exchange, std::string_view symbol) {
    return std::hash<std::string>()(std::string(exchange) + '\x1f' + std::string(symbol));
  }
  struct Holder {
    uint64_t instrument;
    const std::string* path;
  };
  std::mutex mu_;
  std::unordered_map<uint64_t, Holder> held_;
};

// Derived names skipped (their source is another data type), said once each.
struct DeriveSkips {
  std::mutex mu;
  std::set<std::string> said;
};

// The completion record of a grouped item that another run wrote while this
// one committed the item's objects (both removed the earlier record before
// their first commit, and the other one finished first): settled as
// SettleRecordRace says. The same objects with the same rows: each object
// is complete either way, and that record stays. Other ones (another
// version of the file): which run wrote an object last decides what it
// holds, so the item is a mix under a record of one of them; this file
// fails as retryable (exit 3): run again, it replaces the item whole (that
// record's objects this file lacks go too).
Status SettleConvertRace(storage::ObjectStore* store, const WorkItem& item, const ItemRecord& ours,
                         const std::string& path) {
  MT_ASSIGN_OR_RETURN(const RecordRace settled, SettleRecordRace(store, item, ours));
  if (settled.kind == RecordRace::kSame) {
    log::Info(path + ": another run completed its item at the same time with the same objects and rows; its "
                     "completion record stays");
  } else if (settled.kind == RecordRace::kDifferent) {
    return Status::Unavailable("another run converted the same item (" + item.Id() + ") at the same time from other "
                               "contents (" + settled.difference + "), so its objects may hold either run's rows "
                               "under that run's completion record: convert this file again, and it replaces the "
                               "item whole");
  }
  return Status::OK();
}

Result<ConvertFileResult> ConvertOne(const std::string& path, const ConvertSettings& settings,
                                     const ConvertTarget& target_in, const tardis::DataTypeSchema* forced,
                                     StoreKeyResolvers* keys, const std::vector<derive::DerivedSpec>& derived,
                                     DeriveSkips* skips, ObjectClaims* claims, const std::atomic<bool>* cancel) {
  // A store that refuses writes (its layout record was lost to another
  // layout's run): every later file would fail the same way; none starts.
  if (target_in.store) MT_RETURN_IF_ERROR(target_in.store->WriteRefusal().WithContext(path));
  ConvertTarget target = target_in;
  SourceHints hints;
  hints.source = path;
  hints.data_type = forced;
  ConvertSettings cs = settings;
  cs.list_kept = !derived.empty() && !target_in.overwrite;
  cs.parser.data_type_origin = "--data-type";
  // Neither --data-type nor the name: the header must name one type.
  cs.parser.ambiguous_header_is_error = true;
  if (auto parts = tardis::ParseFileName(path)) {
    hints.day = parts->date;
    hints.exchange = parts->exchange;
    // As the official clients spell symbols in file names (..._options is
    // OPTIONS, ..._btcusdt BTCUSDT): every check of the file (grouped or of
    // one instrument, its rows' exchange, its completion record) reads this.
    hints.symbol = NormalizeSymbol(parts->symbol);
    // The data type is the file's (its name), not the header's: liquidations
    // share the trades header and book_ticker the quotes header.
    const tardis::DataTypeSchema* named = tardis::FindSchema(parts->data_type);
    if (forced && named && named != forced) {
      log::Warn(path + ": --data-type " + forced->name + " overrides the file name's data type " + named->name);
    }
    if (!forced && named) {
      hints.data_type = named;
      cs.parser.data_type_origin = "the file name";
    }
    cs.parser.empty_input_schema = hints.data_type;
  } else if (const std::string bad = tardis::NotADateInFileName(path); !bad.empty()) {
    log::Warn(path + ": " + bad +
              " in the file name is not a date, so the name gives no day, data type or symbol (official names: "
              "EXCHANGE_DATATYPE_YYYY-MM-DD_SYMBOL.csv.gz)");
  }
  // Into a store, rows are keyed as that day's instrument definitions in it
  // say (the symbol rules where it has none), as download and validate do;
  // with no day in the name, by the definitions of the day each row is
  // filed under.
  std::shared_ptr<const KeyResolver> day_keys;
  const RowDayKeyResolver by_row_day(keys);
  if (target.store && hints.day) {
    MT_ASSIGN_OR_RETURN(day_keys, keys->ForDay(*hints.day));
    target.keys = day_keys.get();
  } else if (target.store) {
    target.keys = &by_row_day;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::NotFound(path + ": cannot open (" + std::strerror(errno) + ")");
  }
  // A folder named as an input is a mistake no rerun fixes, not a failed
  // read (which is retryable: exit 3, and a fleet would run it forever).
  struct stat st_in;
  if (::fstat(fd, &st_in) == 0 && S_ISDIR(st_in.st_mode)) {
    ::close(fd);
    return Status::InvalidInput(path + ": is a directory, not a Tardis file; name its files (DIR/*.csv.gz)");
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  // Derived series read the same batches (declared before the converter,
  // which finishes or aborts them).
  std::unique_ptr<derive::DeriveEngine> derived_engine;
  // A grouped file (OPTIONS, PERPETUALS) would need an open derived object
  // per instrument and series in the same pass: its series are computed
  // after the split instead, from each instrument's object read back in
  // turn (DeriveEachObject), which keeps the bounds on open files and
  // memory the raw split keeps.
  const bool derive_split = !derived.empty() && tardis::IsGroupedSymbol(hints.symbol) && target.store && hints.day;
  if (!derived.empty() && !derive_split) {
    derive::EngineOptions eo = DeriveEngineOptions(derived, target.store, target.overwrite, hints, cs);
    // A file whose name does not say it is grouped may still hold many
    // instruments: past a few, their series are computed after the split.
    if (target.store) eo.max_instruments = kMaxInstrumentsDerivedInOnePass;
    const KeyResolver* resolver = target.keys;
    eo.key = [resolver](const Date& day, const std::string& exchange,
                        const std::string& symbol) -> Result<std::string> {
      auto key = resolver ? resolver->ResolveOn(day, exchange, symbol) : tardis::KeyFromTardisSymbol(exchange, symbol);
      if (!key.ok()) return key.status();
      return key->ToString();
    };
    derived_engine = std::make_unique<derive::DeriveEngine>(std::move(eo));
    target.observers.push_back(derived_engine.get());
  }
  // A grouped file converted whole into a store replaces its item's objects
  // and then writes the item's completion record (below). The record of an
  // earlier conversion goes right before the first object is committed: a
  // run stopped while it commits (thousands of objects) would otherwise
  // leave that record over a mix of the two files' objects, which validate
  // calls complete and download skips; a file that fails before keeps it.
  const bool grouped_item = target.store && target.overwrite && hints.day && hints.data_type &&
                            !hints.exchange.empty() && tardis::IsGroupedSymbol(hints.symbol);
  // The objects of the record it replaces: those this file does not write
  // again go before its own record is written.
  auto replaced = std::make_shared<ReplacedObjects>();
  if (grouped_item) {
    replaced->TakeAgainAtRemoval();
    const WorkItem item{*hints.day, hints.data_type->name, hints.exchange, hints.symbol};
    if (Status st = replaced->Load(target.store, item); !st.ok()) {
      ::close(fd);
      return st.WithContext(path + ": the completion record it replaces");
    }
    target.before_commit = [store = target.store, item, path, replaced]() {
      return replaced->RemoveRecord(store, item).WithContext(path + ": the completion record of the objects it replaces");
    };
  }
  // Into a store that keeps existing objects (--no-force) the first input's
  // object stays whatever the order: nothing to claim.
  if (target.store && target.overwrite && !hints.symbol.empty() && !tardis::IsGroupedSymbol(hints.symbol)) {
    target.claim = [claims, &path](const std::string& object, std::string_view exchange, std::string_view symbol) {
      return claims->Claim(object, exchange, symbol, &path);
    };
    target.release = [claims, &path](const std::string& object) { claims->Release(object, &path); };
  }
  TickConverter conv(hints, target, cs);
  std::vector<uint8_t> buf(1 << 20);
  Status st;
  while (st.ok()) {
    if (cancel && cancel->load()) {
      st = Status::Cancelled("interrupted");
      break;
    }
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      st = Status::IOError(path + ": read failed (" + std::strerror(errno) + ")");
      break;
    }
    if (n == 0) break;
    st = conv.Write(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  if (st.ok() && conv.bytes_in() == 0) {
    st = Status::InvalidInput(path + ": empty file (0 bytes); a Tardis file is gzip or CSV with a "
                                     "header line");
  }
  if (!st.ok()) {
    conv.Abort();
    return st;
  }
  ConvertFileResult r;
  MT_ASSIGN_OR_RETURN(r.outputs, conv.Finish());
  if (derived_engine) {
    for (const auto& d : derived_engine->outputs()) r.derived.push_back(AsOutputFile(d));
    std::lock_guard<std::mutex> l(skips->mu);
    for (const std::string& name : derived_engine->skipped()) {
      if (skips->said.insert(name).second) {
        log::Warn("--derive " + name + ": skipped for " + path + " and any other input that is not " +
                  derive::ParseDerivedName(name)->source_data_type() + " (it is computed from that data type)");
      }
    }
  }
  // Series computed after the split, from each instrument's raw object read
  // back in turn: a grouped file, or a file whose rows turned out to hold
  // more instruments than one pass derives (the engine gave up, wrote
  // nothing). The objects are those just written, named as the store's
  // layout names them.
  const bool after_split = derive_split || (derived_engine && derived_engine->overflowed());
  if (after_split && target.store) {
    const std::string prefix = target.store->Describe("");
    std::set<std::string> derived_types;
    // The objects written and, into a create-only store, those kept as they
    // were: a kept object's missing series are computed too (create-only).
    auto each_object = [&](const std::function<Status(const OutputFile&, bool kept)>& fn) -> Status {
      for (const auto& o : r.outputs) MT_RETURN_IF_ERROR(fn(o, false));
      for (const auto& o : conv.kept_outputs()) MT_RETURN_IF_ERROR(fn(o, true));
      return conv.kept_outputs().read_status();
    };
    MT_RETURN_IF_ERROR(each_object([&](const OutputFile& o, bool kept) -> Status {
      if (o.unkeyed || o.instrument_key.empty() || o.name.rfind(prefix, 0) != 0) return Status::OK();
      const std::string object = o.name.substr(prefix.size());
      const auto parsed = target.store->layout().ParseTickObjectName(object);
      if (!parsed) return Status::OK();
      StoredDeriveRequest sd;
      sd.store = target.store;
      sd.schema = tardis::FindSchema(parsed->data_type);
      if (!sd.schema) return Status::OK();
      for (const derive::DerivedSpec& d : derived) {
        if (d.source_data_type() == parsed->data_type) sd.specs.push_back(d);
      }
      // A kept object's series not there yet only (often all are), so a raw
      // object is not read back for none.
      if (kept) {
        const std::string& exchange = parsed->exchange.empty() ? hints.exchange : parsed->exchange;
        sd.specs = MissingDerived(target.store, parsed->day, exchange, o.instrument_key, sd.specs, nullptr);
      }
      if (sd.specs.empty()) return Status::OK();
      derived_types.insert(parsed->data_type);
      sd.raw_object = object;
      sd.day = parsed->day;
      sd.key = o.instrument_key;
      sd.overwrite = target.overwrite;
      sd.writer = cs.writer;
      sd.tool_version = cs.tool_version;
      sd.cancel = cancel;
      MT_ASSIGN_OR_RETURN(StoredDeriveResult one, DeriveFromStoredObject(sd));
      for (const auto& d : one.outputs) r.derived.push_back(AsOutputFile(d));
      return Status::OK();
    }));
    if (derive_split && hints.data_type) {
      std::lock_guard<std::mutex> l(skips->mu);
      for (const derive::DerivedSpec& d : derived) {
        if (d.source_data_type() != hints.data_type->name && skips->said.insert(d.name).second) {
          log::Warn("--derive " + d.name + ": skipped for " + path + " and any other input that is not " +
                    d.source_data_type() + " (it is computed from that data type)");
        }
      }
    }
  }
  // A mislabelled file (rows of another day under this day's name) is
  // written as asked, but said now, by the rule validate --deep applies.
  // One line for the file, however many objects it became.
  if (hints.day) {
    OutsideDayObjects outside(*hints.day);
    for (const auto& o : r.outputs) outside.Add(o.name, o.rows, o.min_local_ts, o.max_local_ts);
    if (const std::string problem = outside.Message(); !problem.empty()) {
      log::Warn(path + ": rows outside the file's day " + FormatDate(*hints.day) + " (from its name): " + problem +
                " will be reported corrupt by validate --deep; check the file name");
    }
  }
  // A file whose name gives no day files each instrument's rows under the
  // day of its first row: rows of other days (days concatenated into one
  // file) are said the same way, by the day each object is filed under.
  if (!hints.day && target.store) {
    const std::string prefix = target.store->Describe("");
    std::map<Date, OutsideDayObjects> by_day;
    for (const auto& o : r.outputs) {
      if (o.name.rfind(prefix, 0) != 0) continue;
      const auto parsed = target.store->layout().ParseTickObjectName(o.name.substr(prefix.size()));
      if (!parsed) continue;
      by_day.try_emplace(parsed->day, parsed->day).first->second.Add(o.name, o.rows, o.min_local_ts, o.max_local_ts);
    }
    for (const auto& [day, outside] : by_day) {
      if (const std::string problem = outside.Message(); !problem.empty()) {
        log::Warn(path + ": rows outside the day their object is filed under, " + FormatDate(day) +
                  " (the file's name gives no day, so each instrument's rows go under the day of its first row): " +
                  problem + " will be reported corrupt by validate --deep; convert one file per day, named as "
                  "Tardis names them (EXCHANGE_DATATYPE_YYYY-MM-DD_SYMBOL.csv.gz)");
        break;  // one line for the file
      }
    }
  }
  // Every loop above saw every object, or the file fails (its objects are
  // written; no record says it complete).
  if (!r.outputs.read_status().ok()) {
    return r.outputs.read_status().WithContext(path + ": its objects are written, but their list could not be read "
                                                      "back (run convert again)");
  }
  r.rows = conv.rows();
  r.csv_bytes = conv.bytes_out_csv();
  r.kept = conv.kept();
  // A grouped file named as the official clients name it, converted whole
  // into a store, is the grouped item download would have fetched: its
  // completion record (written last, as download writes it) makes validate
  // know the item complete and a later download skip it without a request.
  // Without it validate called the item missing forever and download
  // fetched the whole file again (GBs a day for an options chain).
  // With --no-force the objects that existed were kept and are not among the
  // outputs, so no record is written then (it would not list them).
  if (grouped_item) {
    const WorkItem item{*hints.day, hints.data_type->name, hints.exchange, hints.symbol};
    auto removed = replaced->Finish(target.store, item, r.outputs);
    if (!removed.ok()) {
      return removed.status().WithContext(path + ": its objects are written, but not its completion record (run "
                                                 "convert again)");
    }
    if (*removed) {
      log::Info(path + ": removed " + std::to_string(*removed) +
                " objects of the earlier conversion of its item that this file does not have");
    }
    // Create-only once this run removed the earlier record: one there now
    // was written by another run of the item that committed its objects
    // while this one did (SettleConvertRace).
    const std::string created_at = FormatIsoSeconds(CreatedAtMicros());
    const bool record_removed = replaced->record_removed();
    Status st = WriteGroupedItemRecord(target.store, item, r.outputs, r.rows, path, cs.tool_version, created_at,
                                       !record_removed);
    if (st.code() == Status::Code::kAlreadyExists && record_removed) {
      st = SettleConvertRace(target.store, item,
                             GroupedItemRecord(target.store, item, r.outputs, r.rows, path, cs.tool_version, created_at),
                             path);
    }
    if (!st.ok()) {
      return st.WithContext(path + ": its objects are written, but not its completion record (run convert again)");
    }
  } else if (target.store && !target.overwrite && hints.day && hints.data_type && !hints.exchange.empty() &&
             tardis::IsGroupedSymbol(hints.symbol)) {
    log::Warn(path +
              ": --no-force writes no completion record for its item (the objects that existed were kept, "
              "and a record would not list them): validate reports the item missing until convert without "
              "--no-force, or download, completes it");
  }
  return r;
}

// Counts, logs and hands on each file's result, in input order.
class Reporter {
 public:
  Reporter(ConvertSummary* summary, const std::function<void(const ConvertFileResult&)>& on_file)
      : s_(summary), on_file_(on_file) {}

  void Add(Result<ConvertFileResult> r) {
    if (!r.ok()) {
      if (r.status().code() == Status::Code::kCancelled) {
        cancelled_ = true;
        // A file stopped while its objects were written says which of them
        // stay (a grouped file past the cap, gs://: those committed before).
        if (r.status().message() != "interrupted") log::Warn(r.status().message());
        return;
      }
      s_->failed++;
      failure_ = WorseStatus(failure_, r.status());
      log::Error(r.status().message());
      return;
    }
    s_->converted++;
    s_->rows += r->rows;
    s_->csv_bytes += r->csv_bytes;
    s_->output_files += r->derived.size() + r->outputs.size();
    s_->kept_files += r->kept;
    for (const auto& o : r->outputs) {
      if (!o.unkeyed) continue;
      // Kept, but not under an instrument key: say which symbol and why.
      s_->unkeyed_files++;
      s_->unkeyed_rows += o.rows;
      log::Warn(o.name + ": " + std::to_string(o.rows) + " rows of symbol '" + EscapeOutsideText(o.symbol, 80) +
                "' kept under a fallback name (no instrument key: " + o.note + ")");
    }
    if (on_file_) on_file_(*r);
  }
  bool cancelled() const { return cancelled_; }
  const Status& failure() const { return failure_; }

 private:
  ConvertSummary* s_;
  const std::function<void(const ConvertFileResult&)>& on_file_;
  bool cancelled_ = false;
  Status failure_;
};

std::vector<uint64_t> FileSizes(const std::vector<std::string>& inputs) {
  std::vector<uint64_t> sizes(inputs.size(), 0);
  for (size_t i = 0; i < inputs.size(); i++) {
    struct stat st;
    if (::stat(inputs[i].c_str(), &st) == 0 && S_ISREG(st.st_mode)) sizes[i] = static_cast<uint64_t>(st.st_size);
  }
  return sizes;
}

// The inputs once each: a file named twice (the same path, or another path
// to the same file: `./a` and `a`, a link) would be converted twice, its
// objects written again and its rows counted twice; it goes once, with a
// warning.
std::vector<std::string> DistinctInputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> out;
  // What a path opens (device and inode), or a path that does not stat
  // (it fails, once): its index in `out`.
  std::map<std::string, size_t> seen;
  for (const std::string& path : inputs) {
    struct stat st;
    const std::string id = ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)
                               ? "file " + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)
                               : "path " + path;
    const auto [it, added] = seen.try_emplace(id, out.size());
    if (!added) {
      log::Warn(path + ": the same file as " + out[it->second] + ", given twice; converted once");
      continue;
    }
    out.push_back(path);
  }
  return out;
}

// The item an input's name gives (official naming), with `forced_type`
// (--data-type) for the name's data type: "exchange type day" and the
// symbol as the clients spell it in file names (..._btcusdt is BTCUSDT).
struct NamedItem {
  std::string day;  // "exchange data_type YYYY-MM-DD"
  std::string symbol;
  std::string named_type;  // the data type of the name itself
  std::string Text() const { return day + ' ' + symbol; }
};
std::optional<NamedItem> NamedItemOf(const std::string& path, const std::string& forced_type) {
  const auto parts = tardis::ParseFileName(path);
  if (!parts) return std::nullopt;
  const std::string type = forced_type.empty() ? parts->data_type : forced_type;
  return NamedItem{parts->exchange + ' ' + type + ' ' + FormatDate(parts->date), NormalizeSymbol(parts->symbol),
                   parts->data_type};
}

// Per input, why it is not converted, or empty: a later input named as the
// same item (exchange, data type, day, symbol) as an earlier one would
// write that item's objects again (every instrument's, for a grouped file),
// replacing the first file's rows; it fails before it is read.
std::vector<std::string> SameItemInputs(const std::vector<std::string>& inputs, const std::string& forced_type) {
  std::vector<std::string> why(inputs.size());
  std::map<std::string, size_t> first;
  for (size_t i = 0; i < inputs.size(); i++) {
    const auto named = NamedItemOf(inputs[i], forced_type);
    if (!named) continue;
    const std::string item = named->Text();
    const auto [it, added] = first.try_emplace(item, i);
    if (added) continue;
    const auto earlier = NamedItemOf(inputs[it->second], forced_type);
    const bool forced = !forced_type.empty() && earlier && earlier->named_type != named->named_type;
    why[i] = inputs[i] + ": the same item (" + item + ") as " + inputs[it->second] + ", given earlier in this run" +
             (forced ? " (--data-type " + forced_type + " is forced onto both, a " + earlier->named_type + " and a " +
                           named->named_type + " file)"
                     : "") +
             "; its objects are written once per run, so this file was not converted (convert it in another run, "
             "into another output)";
  }
  return why;
}

}  // namespace

bool DistinctOutputs(const std::vector<std::string>& inputs, const std::string& forced_type) {
  std::set<std::string> keys;
  // (exchange, data type, day) of every input, and of the grouped ones: a
  // grouped file (PERPETUALS) writes the objects of the instruments its rows
  // name, so it may write the object of another input of that day and type
  // (XBTUSD); side by side, which one stayed depended on which finished last.
  std::set<std::string> days, grouped_days;
  for (const auto& path : inputs) {
    const auto named = NamedItemOf(path, forced_type);
    if (!named) return false;
    const bool grouped = tardis::IsGroupedSymbol(named->symbol);
    if (grouped_days.count(named->day) || (grouped && days.count(named->day))) return false;
    if (grouped) grouped_days.insert(named->day);
    days.insert(named->day);
    if (!keys.insert(named->Text()).second) return false;
  }
  return true;
}

// Files side by side share one parse-buffer budget, as download's items in
// flight do: a file holds a small multiple of its batch (the batch being
// parsed, the row group being encoded), so each file with a whole batch of
// its own made memory grow with the thread count (bench/README.md, "Memory
// against the thread count"). Each gets kSideBySideBatchBytes / N, at least
// kMinSideBySideBatchBytes, and at most kMaxFilesSideBySide go at once (the
// pool's other threads encode for them). Their row groups are smaller.
SideBySidePlan SideBySide(int threads, size_t nfiles, size_t batch_bytes) {
  SideBySidePlan p;
  p.files = std::max<size_t>(1, std::min<size_t>({static_cast<size_t>(std::max(1, threads)), nfiles, kMaxFilesSideBySide}));
  p.batch_bytes = std::min(batch_bytes, std::max(kSideBySideBatchBytes / p.files, kMinSideBySideBatchBytes));
  return p;
}

ConvertSummary RunConvertJob(const ConvertJobOptions& opts,
                             const std::function<void(const ConvertFileResult&)>& on_file) {
  ConvertSummary summary;
  const std::vector<std::string> inputs = DistinctInputs(opts.inputs);
  const std::string forced_type = opts.data_type ? opts.data_type->name : "";
  // Into a create-only store (--no-force) a later file of one item replaces
  // nothing: its objects are kept as the first one wrote them.
  const std::vector<std::string> same_item =
      opts.target.overwrite ? SameItemInputs(inputs, forced_type) : std::vector<std::string>(inputs.size());
  const size_t nfiles = inputs.size();
  summary.inputs = nfiles;
  const auto t0 = std::chrono::steady_clock::now();
  const auto interrupted = [&] { return opts.cancel && opts.cancel->load(); };
  DeriveSkips skips;
  ObjectClaims claims;
  StoreKeyResolvers key_source(opts.target.store);
  ConvertSettings settings = opts.convert;
  // threads N: N-1 pool threads and the caller, which inflates and, when it
  // would wait for the pool, runs the pool's queued tasks itself (see
  // ParallelCsvParser): a pool of N beside a busy caller oversubscribes the
  // cores, and a parse preempted by the caller holds up every block behind
  // it. Pool threads run below the caller's priority, so inflating, which
  // no other thread can do, goes first (bench/README.md has the figures).
  constexpr int kPoolNice = 5;
  std::unique_ptr<ThreadPool> pool;
  if (opts.threads > 1) pool = std::make_unique<ThreadPool>(opts.threads - 1, kPoolNice);
  settings.writer.pool = pool.get();
  Reporter reporter(&summary, on_file);

  // A file of one row group cannot overlap its parsing with its encoding,
  // so one file after another leaves a core idle; files side by side do
  // not. When one file is more than its share of the bytes, it would finish
  // alone on one core: then files go one at a time, each parsed on every core.
  const std::vector<uint64_t> sizes = FileSizes(inputs);
  uint64_t total = 0, largest = 0;
  for (uint64_t s : sizes) {
    total += s;
    largest = std::max(largest, s);
  }
  // Derived series hold their own row groups and order book per file (a
  // depth-100 or depth-1000 series tens to hundreds of MB): files with them
  // go one at a time, so memory is that of one file whatever their number.
  const SideBySidePlan side = SideBySide(opts.threads, nfiles, settings.parser.batch_bytes);
  const size_t workers = side.files;
  const bool by_file =
      pool && workers > 1 && opts.derived.empty() && DistinctOutputs(inputs, forced_type) && largest * workers <= total;
  // A grouped file into a store writes its objects on up to every thread,
  // each holding an object and its footer spill open: as many as fit the
  // open-file limit beside the files' inputs, spills with their piece
  // indexes (and the partitions' past the cap) and lists (more failed
  // with EMFILE now and then: --threads 64 under ulimit -n 64).
  const bool any_grouped = opts.target.store && std::any_of(inputs.begin(), inputs.end(), [](const std::string& p) {
                             const auto parts = tardis::ParseFileName(p);
                             return parts && tardis::IsGroupedSymbol(NormalizeSymbol(parts->symbol));
                           });
  if (any_grouped && opts.threads > 1) {
    const int at_once = by_file ? static_cast<int>(workers) : 1;
    const int writes = 1 + static_cast<int>(opts.derived.size());
    const int per_writer = writes * (opts.target.store->DescriptorsPerWrite() + 1);
    settings.max_assembly_threads =
        CapToOpenFileLimit(opts.threads, per_writer * at_once, "--threads", "threads writing a grouped file's objects",
                           at_once * (6 + writes * opts.target.store->DescriptorsPerWrite()));
  }
  if (!by_file) {
    for (size_t i = 0; i < nfiles; i++) {
      if (interrupted() || reporter.cancelled()) break;
      reporter.Add(!same_item[i].empty() ? Result<ConvertFileResult>(Status::InvalidInput(same_item[i]))
                                         : ConvertOne(inputs[i], settings, opts.target, opts.data_type, &key_source,
                                                      opts.derived, &skips, &claims, opts.cancel));
    }
  } else {
    ConvertSettings per_file = settings;
    per_file.parallel_parse = false;
    per_file.parser.batch_bytes = side.batch_bytes;
    std::vector<size_t> order(nfiles);
    for (size_t i = 0; i < nfiles; i++) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sizes[a] > sizes[b]; });
    // Results are reported in input order as soon as they can be: the worker
    // that completes the prefix of finished files reports it.
    std::vector<std::optional<Result<ConvertFileResult>>> results(nfiles);
    std::mutex mu;
    size_t reported = 0;
    ParallelFor(nfiles, ParallelOptions{static_cast<int>(workers), nullptr}, [&](size_t k) {
      const size_t i = order[k];
      Result<ConvertFileResult> r = interrupted() ? Result<ConvertFileResult>(Status::Cancelled("interrupted"))
                                    : !same_item[i].empty()
                                        ? Result<ConvertFileResult>(Status::InvalidInput(same_item[i]))
                                        : ConvertOne(inputs[i], per_file, opts.target, opts.data_type, &key_source,
                                                     opts.derived, &skips, &claims, opts.cancel);
      std::lock_guard<std::mutex> l(mu);
      results[i].emplace(std::move(r));
      for (; reported < nfiles && results[reported].has_value(); reported++) {
        reporter.Add(std::move(*results[reported]));
        results[reported].reset();
      }
      return Status::OK();
    });
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  char line[256];
  std::snprintf(line, sizeof line,
                "converted %zu of %zu input files into %llu Parquet files%s: %llu rows, %.1f MB of CSV "
                "in %.2f s (%.0f MB/s)%s",
                summary.converted, nfiles, static_cast<unsigned long long>(summary.output_files),
                summary.kept_files ? (" (" + std::to_string(summary.kept_files) +
                                      " already there, kept as they were)")
                                         .c_str()
                                   : "",
                static_cast<unsigned long long>(summary.rows), summary.csv_bytes / 1e6, summary.seconds,
                summary.seconds > 0 ? summary.csv_bytes / 1e6 / summary.seconds : 0.0,
                summary.failed ? (", " + std::to_string(summary.failed) + " failed").c_str() : "");
  log::Info(line);
  if (summary.unkeyed_files) {
    log::Warn(std::to_string(summary.unkeyed_rows) + " rows of " + std::to_string(summary.unkeyed_files) +
              " symbols have no instrument key and were kept under {VENUE}:UNKEYED:{symbol} names; exit code 1");
  }
  // Interrupted: said only when a file was abandoned or not started. A
  // signal that arrives once every file is written (a grouped file's objects
  // are committed as one step at its end) leaves a complete run.
  if (reporter.cancelled() || (interrupted() && summary.converted + summary.failed < nfiles)) {
    log::Warn("interrupted: " + std::to_string(summary.converted) + " of " + std::to_string(nfiles) +
              " input files were converted; the file in progress was abandoned (no object was half written; a "
              "grouped file's objects committed before the signal stay, without its completion record until the "
              "file is converted again), the others were not started");
    summary.status = Status::Cancelled("interrupted");
    return summary;
  }
  summary.status = reporter.failure();
  // Rows without a key are kept but not where validate and readers look for
  // them: a permanent data condition (a rerun cannot change it), so exit 1.
  if (summary.unkeyed_files) {
    summary.status = WorseStatus(summary.status, Status::InvalidInput(std::to_string(summary.unkeyed_rows) +
                                                                " rows have no instrument key"));
  }
  return summary;
}

}  // namespace mt::pipeline
