#include "pipeline/downloader.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "core/crc32c.h"
#include "core/external_sort.h"
#include "core/log.h"
#include "core/parallel.h"
#include "core/redact.h"
#include "core/utf8.h"
#include "derive/engine.h"
#include "pipeline/item_record.h"
#include "pipeline/stored_derive.h"
#include "storage/layout.h"
#include "tardis/instrument_key.h"
#include "tardis/schema.h"

namespace mt::pipeline {

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kDone: return "done";
    case Outcome::kSkipped: return "skipped";
    case Outcome::kNoData: return "no_data";
    case Outcome::kNotAvailable: return "not_available";
    case Outcome::kFailed: return "failed";
    case Outcome::kRetryable: return "failed_retryable";
    case Outcome::kCancelled: return "cancelled";
    case Outcome::kMissing: return "missing";
  }
  return "?";
}

namespace {

// The outcome of an item that `st` failed; a configuration error (kUsage:
// the open-file limit, a TMPDIR that cannot hold a temporary file) is noted
// on *res, for the run's exit code. A store read stopped by a signal (the
// day's definitions, a completion record, a listing) is the interrupt's,
// not a failure of the item: it is cancelled, as one stopped mid-transfer.
Outcome FailedBy(const Status& st, ItemResult* res) {
  if (st.code() == Status::Code::kCancelled) return Outcome::kCancelled;
  if (st.code() == Status::Code::kUsage) res->config_error = true;
  if (st.detail() == Status::Detail::kCredentials) res->permission_denied = true;
  return st.retryable() ? Outcome::kRetryable : Outcome::kFailed;
}

// created_at of item records, to the second (CreatedAtMicros, as for the
// Parquet metadata).
std::string RecordTime() { return FormatIsoSeconds(CreatedAtMicros()); }

// The completion record of `item` without its objects, whose names go to
// *names (and their instrument keys to *keys, when given: empty for rows
// kept without a key): a record of hundreds of thousands of objects is not held as
// entries besides them. A read torn by another run's commit or failing the
// record's CRC32C is made again (ReadItemRecordAgainIfTorn) before the
// caller gives up on the record and downloads the item again (a grouped
// file is the biggest download of its day).
// With `unkeyed`, the rows and symbols of the listed objects kept without a
// key (the symbol as the object's name escapes it) are added to it.
Result<ItemRecord> ReadRecordNames(const DownloadOptions& opts, StopFlags stop, const WorkItem& item,
                                   StringSpool* names, StringSpool* keys = nullptr, ItemResult* unkeyed = nullptr) {
  return ReadItemRecordAgainIfTorn(
      opts.store, ItemRecordObjectName(opts.store->layout(), item), opts.retry, opts.clock, stop,
      [names, keys, unkeyed] {
        names->clear();  // what a failed read took of its version
        if (keys) keys->clear();
        if (unkeyed) {
          unkeyed->unkeyed_rows = 0;
          unkeyed->unkeyed_symbols.clear();
        }
      },
      [names, keys, unkeyed, &opts](RecordedObject&& o) {
        if (unkeyed && o.instrument_key.empty()) {
          // The symbol as the first run reported it: the object's name
          // unescaped ({VENUE}:UNKEYED:{symbol}), else the name itself.
          constexpr std::string_view kUnkeyed = ":UNKEYED:";
          const auto tick = opts.store->layout().ParseTickObjectName(o.name);
          std::string symbol = tick ? tick->instrument_key : o.name;
          if (const size_t at = symbol.find(kUnkeyed); tick && at != std::string::npos) {
            symbol.erase(0, at + kUnkeyed.size());
          }
          unkeyed->unkeyed_rows += o.rows;
          unkeyed->unkeyed_symbols.push_back(std::move(symbol));
        }
        names->push_back(o.name);
        if (keys) keys->push_back(o.instrument_key);
      });
}

// A grouped item skipped on its completion record: the rows the run that
// wrote it kept without a key (`recorded`, from ReadRecordNames) are still
// so, and are said again and put in the item's summary entry, but not in
// this run's total nor its exit code: this run wrote none of them, and a
// fleet rerunning a range must be able to finish it.
void SayRecordedUnkeyed(const WorkItem& item, ItemResult* recorded, ItemResult* res) {
  if (recorded->unkeyed_rows == 0) return;
  res->unkeyed_rows = recorded->unkeyed_rows;
  res->unkeyed_symbols = std::move(recorded->unkeyed_symbols);
  res->unkeyed_from_record = true;
  log::Warn(item.Id() + ": its record lists " + std::to_string(res->unkeyed_rows) + " rows of " +
            std::to_string(res->unkeyed_symbols.size()) +
            " symbols kept without an instrument key (UNKEYED objects, exit 1 when they were written); "
            "once the store's instrument definitions key them, download the item again with --force");
}

// The bytes of one copy of a file as received, from its first byte: the
// CRC32C of each kDamageBlock-byte block at fixed offsets of the file, and
// of the partial block after the last whole one. Two damaged copies are told
// apart by their bytes whatever pieces the network cut them into.
constexpr uint64_t kDamageBlock = 64 * 1024;
struct ReceivedBytes {
  std::vector<uint32_t> blocks;  // whole blocks, in file order
  uint32_t tail = 0;             // the partial block after them
  uint64_t tail_bytes = 0;

  uint64_t size() const { return blocks.size() * kDamageBlock + tail_bytes; }
  void Clear() {
    blocks.clear();
    tail = 0;
    tail_bytes = 0;
  }
  void Add(const char* d, size_t n) {
    while (n > 0) {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(n, kDamageBlock - tail_bytes));
      tail = Crc32cExtend(tail, d, take);
      tail_bytes += take;
      d += take;
      n -= take;
      if (tail_bytes == kDamageBlock) {
        blocks.push_back(tail);
        tail = 0;
        tail_bytes = 0;
      }
    }
  }
  // Whether the two copies hold the same bytes over the range both have.
  // That range is enough: each copy was read past the bytes its decoder
  // failed at, and the decoder fails at the same byte of the same bytes. A
  // partial block is compared only with one of the same length: when one
  // copy's partial block lies where the other has a whole block, those bytes
  // cannot be compared and the copies do not count as the same.
  bool SameAs(const ReceivedBytes& o) const {
    const size_t n = std::min(blocks.size(), o.blocks.size());
    if (!std::equal(blocks.begin(), blocks.begin() + static_cast<std::ptrdiff_t>(n), o.blocks.begin())) return false;
    if (blocks.size() != o.blocks.size()) {
      return (blocks.size() < o.blocks.size() ? tail_bytes : o.tail_bytes) == 0;
    }
    return tail_bytes == 0 || o.tail_bytes == 0 || (tail_bytes == o.tail_bytes && tail == o.tail);
  }
};

// Whether every one of `names` (a grouped item's recorded objects) in the
// item's `folder` is in the store, in bounded memory whatever their number:
// the names sorted (ExternalSorter) and merged with the listing of the
// folder, which the store gives in name order; one listing, not a request
// per name. A name elsewhere (a record edited by hand) is not looked for:
// downloading the item again would not write it either.
Result<bool> EveryNameStored(storage::ObjectStore* store, const std::string& folder, const StringSpool& names) {
  ExternalSorter sorted([](std::string_view a, std::string_view b) { return a < b; }, size_t{4} << 20);
  for (const std::string& name : names) {
    if (name.compare(0, folder.size(), folder) == 0 && storage::IsSafeObjectName(name)) sorted.Add(name);
  }
  MT_RETURN_IF_ERROR(names.read_status());
  sorted.Finish();
  std::string cur;
  bool more = sorted.Next(&cur);
  if (!more) return sorted.status().ok() ? Result<bool>(true) : Result<bool>(sorted.status());
  bool gone = false;
  const Status listed = store->ListEach(folder, [&](storage::ObjectInfo&& o) {
    if (more && cur < o.name) gone = true;  // a recorded name the listing passed without a hit
    while (more && cur < o.name) more = sorted.Next(&cur);
    while (more && cur == o.name) more = sorted.Next(&cur);
    if (more && !gone) return Status::OK();
    return Status::Cancelled("every recorded name was passed");
  });
  MT_RETURN_IF_ERROR(sorted.status());
  if (!more && !gone) return true;  // the listing stopped once every name was found
  if (gone) return false;
  MT_RETURN_IF_ERROR(listed);
  return false;  // names after the folder's last object
}

// Which series of a grouped item's recorded objects are stored, in bounded
// memory whatever the number of objects: for each series, the names its
// objects' series get (one per recorded key, with the object's position)
// are sorted (ExternalSorter) and merged with the listing of the series'
// day folder, which the store gives in name order (ObjectStore::ListEach);
// the folder holds the series of every item of the day, so it is read, not
// gathered. The hits are sorted again by position, and taken in record
// order. Neither the item's names nor the folder's are held: what this
// holds is the sorters' budgets.
class StoredSeries {
 public:
  // Lists the folder of each of `specs`; keys[i] is the key of the record's
  // object i ("" for rows kept without a key: no series).
  Status Find(storage::ObjectStore* store, const WorkItem& item, const std::vector<derive::DerivedSpec>& specs,
              const StringSpool& keys) {
    const storage::Layout& layout = store->layout();
    for (size_t s = 0; s < specs.size(); s++) {
      ExternalSorter expected(Bytewise, kSortBytes);
      size_t i = 0;
      for (const std::string& key : keys) {
        if (!key.empty()) {
          std::string r = layout.DerivedObjectName(item.day, specs[s].name, item.exchange, key);
          r.push_back('\0');  // names hold none: a name sorts before every longer one it starts
          PutBigEndian(i, 8, &r);
          expected.Add(r);
        }
        i++;
      }
      MT_RETURN_IF_ERROR(keys.read_status());
      expected.Finish();
      std::string cur;
      bool more = expected.Next(&cur);
      auto name = [&cur] { return std::string_view(cur).substr(0, cur.size() - 9); };
      const std::string any = layout.DerivedObjectName(item.day, specs[s].name, item.exchange, "X");
      bool stopped = false;  // every expected name was passed: the rest of the folder is not read
      const Status listed = store->ListEach(any.substr(0, any.rfind('/') + 1), [&](storage::ObjectInfo&& o) {
        while (more && name() < o.name) more = expected.Next(&cur);
        while (more && name() == o.name) {
          std::string hit;
          PutBigEndian(GetBigEndian(std::string_view(cur).substr(cur.size() - 8)), 8, &hit);
          PutBigEndian(s, 4, &hit);
          hits_.Add(hit);
          more = expected.Next(&cur);
        }
        if (more || !expected.status().ok()) return Status::OK();
        stopped = true;
        return Status::Cancelled("every name looked up was passed");
      });
      MT_RETURN_IF_ERROR(expected.status());
      if (!stopped) MT_RETURN_IF_ERROR(listed);
    }
    hits_.Finish();
    more_ = hits_.Next(&next_);
    return hits_.status();
  }
  // Whether series s of object i is stored; asked in increasing (i, s).
  bool Stored(size_t i, size_t s) {
    std::string want;
    PutBigEndian(i, 8, &want);
    PutBigEndian(s, 4, &want);
    while (more_ && next_ < want) more_ = hits_.Next(&next_);
    return more_ && next_ == want;
  }
  // OK, or what a read of the sorter's temporary file met.
  const Status& status() const { return hits_.status(); }

 private:
  // Of each of the two sorters, which are held at once.
  static constexpr size_t kSortBytes = size_t{4} << 20;
  static bool Bytewise(std::string_view a, std::string_view b) { return a < b; }
  static void PutBigEndian(uint64_t v, int bytes, std::string* out) {
    for (int b = bytes - 1; b >= 0; b--) out->push_back(static_cast<char>((v >> (8 * b)) & 0xff));
  }
  static uint64_t GetBigEndian(std::string_view s) {
    uint64_t v = 0;
    for (char c : s) v = v << 8 | static_cast<unsigned char>(c);
    return v;
  }
  ExternalSorter hits_{Bytewise, kSortBytes};  // (position, series) of each stored series, 12 bytes big-endian
  std::string next_;
  bool more_ = false;
};

// Receives one HTTP response: a 200/206 body goes to the converter, any
// other body is kept (2 KiB) for the error message.
class ItemSink : public net::HttpBodySink {
 public:
  TickConverter* conv = nullptr;
  uint64_t offset = 0;           // body bytes of the file the converter has seen
  bool restart_needed = false;   // server ignored our Range: start over
  bool accepting = false;
  int status = 0;
  std::string etag;
  std::string error_body;
  std::string url;  // the item's file: the bounds' messages name it
  std::function<void()> on_restart;
  std::atomic<uint64_t>* bytes_counter = nullptr;
  // Bytes of the file received over every request of the item: copies
  // damaged, cut or thrown away included (what the item cost in transfer).
  uint64_t transferred = 0;
  // The copy's bytes received so far (the file's first `bytes.size()`).
  // Damaged bytes (the converter's kDataLoss) stop the conversion, but the
  // body is still read, without converting, up to the next kDamageBlock
  // boundary (or the end of the file), so the bytes that made the decoder
  // fail are in `bytes` however the network cut the body: `damage` is then
  // the sink's error. Cleared by an answer from byte 0 (a new copy).
  ReceivedBytes bytes;
  Status damage;
  uint64_t damage_until = 0;       // where reading a damaged copy stops
  uint64_t file_end = UINT64_MAX;  // the file's length by this answer's head
  // Bounds (DownloadOptions): when the item started, its time and byte
  // limits, the bytes of this attempt (the resumed prefix of the file plus
  // this response's body: failed attempts and error bodies do not count
  // towards the size bound, so retries cannot exhaust it), and this
  // response's announced length (-1: none) and bytes.
  double started = 0, timeout_s = 0;
  uint64_t max_bytes = 0, received = 0, response_bytes = 0;
  int64_t content_length = -1;

  // Before each request: a request that gets no answer at all (connection
  // refused or reset before the head) calls no method of the sink, so the
  // last answer's status must not pass for the new one's (a cut 200 would make it look
  // like progress, resumed at once without a wait).
  void BeginRequest() {
    damage = Status::OK();  // a damaged copy is never resumed: the next starts at byte 0
    status = 0;
    accepting = false;
    error_body.clear();
    response_bytes = 0;
    content_length = -1;
  }
  Status OnHead(const net::HttpResponseHead& h) override {
    status = h.status;
    accepting = false;
    error_body.clear();
    response_bytes = 0;
    const std::string cl = h.Header("content-length");
    content_length = cl.empty() ? -1 : static_cast<int64_t>(std::strtoull(cl.c_str(), nullptr, 10));
    if (h.status == 200) {
      if (offset > 0) on_restart();  // full body again: the old state is void
      offset = 0;
      etag = h.Header("etag");
      accepting = true;
    } else if (h.status == 206) {
      // Content-Range: bytes START-END/TOTAL must start where we stopped.
      const std::string cr = h.Header("content-range");
      unsigned long long start = 0;
      if (std::sscanf(cr.c_str(), "bytes %llu-", &start) != 1 || start != offset) {
        restart_needed = true;
        return Status::Unavailable("206 with Content-Range '" + EscapeOutsideText(cr, 100) + "' at offset " +
                                   std::to_string(offset));
      }
      accepting = true;
    }
    received = accepting ? offset : 0;
    if (accepting && offset == 0) bytes.Clear();  // a new copy
    file_end = accepting && content_length >= 0 ? offset + static_cast<uint64_t>(content_length) : UINT64_MAX;
    return Status::OK();
  }
  Status OnBody(const char* d, size_t n) override {
    response_bytes += n;
    received += n;
    MT_RETURN_IF_ERROR(CheckBounds());
    if (!accepting) {
      if (error_body.size() < 2048) error_body.append(d, std::min(n, 2048 - error_body.size()));
      return Status::OK();
    }
    if (!damage.ok()) {
      // Read on past the damage up to damage_until, the bytes only.
      const size_t take = static_cast<size_t>(std::min<uint64_t>(n, damage_until - bytes.size()));
      bytes.Add(d, take);
      transferred += take;
      if (bytes_counter) *bytes_counter += take;
      return bytes.size() >= damage_until ? damage : Status::OK();
    }
    bytes.Add(d, n);
    transferred += n;
    if (Status st = conv->Write(reinterpret_cast<const uint8_t*>(d), n); !st.ok()) {
      if (st.code() != Status::Code::kDataLoss) return st;
      damage = std::move(st);
      damage_until = std::min(file_end, (bytes.size() + kDamageBlock - 1) / kDamageBlock * kDamageBlock);
      return bytes.size() >= damage_until ? damage : Status::OK();
    }
    offset += n;
    if (bytes_counter) *bytes_counter += n;
    return Status::OK();
  }

  // Which bound, if any, stops the transfer now. The byte bounds are
  // permanent (the same server would send the same), the time bound is not.
  Status CheckBounds() const {
    if (content_length >= 0 && response_bytes > static_cast<uint64_t>(content_length)) {
      return Status::InvalidInput(url + ": stopped by the Content-Length bound: the server sent more than the " +
                                  std::to_string(content_length) + " bytes it announced");
    }
    if (received > max_bytes) {
      return Status::InvalidInput(url + ": stopped by the size bound: more than " + std::to_string(max_bytes) +
                                  " bytes for this item in one attempt (ITEM_MAX_SIZE)");
    }
    if (MonotonicSeconds() - started > timeout_s) {
      return Status::Unavailable(url + ": stopped by the time bound: the item took longer than " +
                                 std::to_string(static_cast<int64_t>(timeout_s)) + " s (ITEM_TIMEOUT_HOURS)");
    }
    return Status::OK();
  }
};

}  // namespace

Downloader::Downloader(DownloadOptions opts) : opts_(std::move(opts)) {
  if (!opts_.http_factory) opts_.http_factory = [] { return net::NewCurlClient(); };
}

std::vector<ItemResult> Downloader::Run(const std::vector<WorkItem>& items) {
  std::vector<ItemResult> results(items.size());
  RunEach(items, [&results](size_t i, const ItemResult& r) { results[i] = r; });
  return results;
}

void Downloader::RunEach(const std::vector<WorkItem>& items,
                         const std::function<void(size_t, const ItemResult&)>& done) {
  progress_.items_total = items.size();
  std::mutex on_item_mu;
  const int n = std::max(1, std::min<int>(opts_.concurrency, static_cast<int>(items.size())));
  std::vector<std::unique_ptr<net::HttpClient>> clients(static_cast<size_t>(n));
  // Which item a worker takes next. Grouped items are converted one at a
  // time (RunItem's grouped slot), so a worker that took one while another
  // is converting would only wait: while one is, the others take items of
  // one instrument, in plan order, and the next grouped item once none is
  // left. A grouped item starts as soon as none is converting, also while
  // the one before commits (it gave up the slot): they are the run's longest
  // chain. Every item is taken once, whatever the order.
  std::deque<size_t> grouped_items, other_items;
  for (size_t i = 0; i < items.size(); i++) {
    (tardis::IsGroupedSymbol(items[i].symbol) ? grouped_items : other_items).push_back(i);
  }
  auto take = [&]() -> std::pair<size_t, bool> {
    std::lock_guard<std::mutex> l(pick_mu_);
    const bool grouped = !grouped_items.empty() && (grouped_converting_ == 0 || other_items.empty());
    std::deque<size_t>& from = grouped ? grouped_items : other_items;
    const size_t i = from.front();
    from.pop_front();
    if (grouped) grouped_converting_++;
    return {i, grouped};
  };
  // Every item gets a result: after a stop or an interrupt the rest are
  // reported as not started, so no cancel flag is given to the loop.
  ParallelForWorkers(items.size(), ParallelOptions{n, nullptr}, [&](size_t, size_t worker) {
    const auto [i, grouped] = take();
    ItemResult result;
    bool converting = grouped;
    auto& http = clients[worker];
    if (!http) http = opts_.http_factory();
    // A store that refuses writes (its layout record went to a run of the
    // other layout) fails every item: the rest are not started.
    const Status refused = opts_.store ? opts_.store->WriteRefusal() : Status::OK();
    if (stop_ || (opts_.cancel && opts_.cancel->load()) || !refused.ok()) {
      result.item = items[i];
      result.outcome = Outcome::kCancelled;
      result.reason = stop_           ? "not started: " + fatal_.message()
                      : !refused.ok() ? "not started: " + refused.message()
                                      : "not started: interrupted";
    } else {
      result = RunItem(items[i], http.get(), grouped ? &converting : nullptr);
      if (result.config_error) {
        std::lock_guard<std::mutex> l(fatal_mu_);
        if (fatal_.ok()) fatal_ = Status::Usage(items[i].Id() + ": " + result.reason);
      }
      if (result.permission_denied) {
        {
          std::lock_guard<std::mutex> l(fatal_mu_);
          if (fatal_.ok()) {
            fatal_ = Status::Permission(items[i].Id() + ": " + result.reason +
                                        " (the run stops: check the credentials' access to the output)");
          }
        }
        stop_ = true;
      }
      progress_.items_finished++;
      progress_.rows += result.rows;
    }
    LeaveConverting(&converting);
    std::lock_guard<std::mutex> l(on_item_mu);
    if (opts_.on_item) opts_.on_item(result);
    if (done) done(i, result);
    return Status::OK();
  });
}

void Downloader::EnterConverting(bool* converting) {
  std::lock_guard<std::mutex> l(pick_mu_);
  if (!*converting) grouped_converting_++;
  *converting = true;
}

void Downloader::LeaveConverting(bool* converting) {
  std::lock_guard<std::mutex> l(pick_mu_);
  if (*converting) grouped_converting_--;
  *converting = false;
}

namespace {

// Object names as a result lists them, skipped or done alike: the store's
// description of each (the path under the output, gs://bucket/...), which is
// what the converter names the objects it writes.
StringSpool Described(const storage::ObjectStore* store, const StringSpool& names) {
  StringSpool out;
  for (const std::string& name : names) out.push_back(store->Describe(name));
  return out;
}

// An item whose object another run created while this one worked on it.
ItemResult Skipped(ItemResult res, const storage::ObjectStore* store, const std::string& object) {
  res.outcome = Outcome::kSkipped;
  res.reason = "created meanwhile by another run (create-only)";
  res.objects.clear();
  if (!object.empty()) res.objects.push_back(store->Describe(object));
  return res;
}

// A grouped item whose create-only completion record found another run's
// (pipeline::SettleRecordRace): skipped when that record lists the objects
// this run wrote with the same rows; failed when it lists others.
// `series`: the derived objects this run computed from its objects; they
// stay listed when it is skipped (the record lists raw objects only; the
// series were computed from objects with the record's rows).
void SettleRace(storage::ObjectStore* store, const WorkItem& item, const ItemRecord& ours,
                const std::vector<std::string>& series, ItemResult* res) {
  auto settled = SettleRecordRace(store, item, ours);
  if (!settled.ok()) {
    res->outcome = FailedBy(settled.status(), res);
    res->reason = settled.status().message();
    return;
  }
  switch (settled->kind) {
    case RecordRace::kOursWritten:
      return;
    case RecordRace::kDifferent:
      // Each object is whole, but which run wrote it last decides what it
      // holds, and the record describes the other run's. No rerun fixes that
      // by itself (it skips on the record): --force rewrites the item.
      res->outcome = Outcome::kFailed;
      res->reason = "another run completed this item at the same time with other contents (" + settled->difference +
                    "; a changed source file or other instrument definitions); its objects may be from either run: "
                    "download the item again with --force";
      return;
    case RecordRace::kSame:
      res->outcome = Outcome::kSkipped;
      res->reason = "completed at the same time by another run (its completion record was written first; it lists "
                    "the objects this run wrote, with the same rows)";
      res->objects.clear();
      for (const std::string& name : settled->objects) res->objects.push_back(store->Describe(name));
      for (const std::string& s : series) res->objects.push_back(s);
      return;
  }
}

}  // namespace

ItemResult Downloader::RunItem(const WorkItem& item, net::HttpClient* http, bool* converting) {
  bool again = false;
  ItemResult first = RunItemOnce(item, http, converting, &again);
  if (!again) return first;
  // Another run completed the item while this one read the file, and this
  // run computes series of its data type: the item is taken from that
  // record as by a run that starts now (series missing beside the recorded
  // objects computed from them, those present listed), without a request.
  // (The count is left only once a grouped item's objects are written,
  // which this item's first try did not reach.)
  if (converting) EnterConverting(converting);
  ItemResult res = RunItemOnce(item, http, converting, nullptr);
  res.bytes_in += first.bytes_in;
  res.requests += first.requests;
  if (res.outcome == Outcome::kSkipped && res.reason.empty()) res.reason = first.reason;
  return res;
}

ItemResult Downloader::RunItemOnce(const WorkItem& item, net::HttpClient* http, bool* converting, bool* again) {
  ItemResult res;
  res.item = item;
  // --force, or an item a missing-data report says to redo (a corrupt object).
  const bool force = opts_.force || opts_.replace.count(item.Id()) > 0;
  const tardis::DataTypeSchema* schema = tardis::FindSchema(item.data_type);
  const bool grouped = tardis::IsGroupedSymbol(item.symbol);
  std::string object, key;
  std::vector<derive::DerivedSpec> derived;  // this item's series (not for grouped items)
  // The series of the item's data type, whatever its symbol (a grouped
  // item's are computed from its objects once they are committed).
  std::vector<derive::DerivedSpec> item_series;
  for (const derive::DerivedSpec& spec : opts_.derived) {
    if (spec.source_data_type() == item.data_type) item_series.push_back(spec);
  }
  // One key source with convert and validate: the day's definitions in the
  // store, else the symbol rules. An item planned with its key needs none
  // for its key (an item skipped below reads no definitions at all). A
  // grouped item loads them only once it holds the grouped slot (below):
  // items waiting for the slot would each hold a day's definitions, tens of
  // MB for a day of many options, as many days as items wait.
  std::shared_ptr<const KeyResolver> resolver;
  auto load_definitions = [&]() -> bool {
    if (resolver || !opts_.keys) return true;
    auto r = opts_.keys->ForDay(item.day);
    if (!r.ok()) {
      res.outcome = FailedBy(r.status(), &res);
      res.reason = r.status().message();
      return false;
    }
    resolver = *r;
    return true;
  };
  if (!grouped && item.instrument_key.empty() && !load_definitions()) return res;
  if (!grouped) {
    if (!item.instrument_key.empty()) {
      key = item.instrument_key;  // planned from the same definitions
    } else {
      auto k = resolver ? resolver->Resolve(item.exchange, item.symbol)
                        : tardis::KeyFromTardisSymbol(item.exchange, item.symbol);
      if (!k.ok()) {
        res.reason = k.status().message();
        return res;
      }
      key = k->ToString();
    }
    object = opts_.store->layout().TickObjectName(item.day, item.data_type, item.exchange, key);
    derived = item_series;
  }
  // Items with derived series run one at a time (items without keep running
  // beside them): each holds its series' books and up to convert's budget of
  // derived rows, so several at once would pass the memory bound.
  std::unique_lock<std::mutex> derive_slot(derive_mu_, std::defer_lock);
  if (!derived.empty()) derive_slot.lock();
  if (!grouped) {
    if (!force) {
      auto exists = opts_.store->Exists(object);
      if (!exists.ok()) {
        // Not known to be missing: downloading would spend a transfer on an
        // object that may be there (its create-only write then refused, and
        // the item called skipped for another run's object); the store's
        // failure is the item's.
        res.outcome = FailedBy(exists.status(), &res);
        res.reason = "checking whether " + opts_.store->Describe(object) + " exists: " + exists.status().message();
        return res;
      }
      if (*exists) {
        // A killed --force run may have left a temporary file beside it.
        opts_.store->RemoveStaleTemporaries(object);
        // Derived objects missing beside an existing raw one (a first run
        // without --derive, or a new name): computed from the stored raw
        // object, read row group by row group, without a request.
        std::vector<std::string> present;
        std::vector<derive::DerivedSpec> missing = MissingDerived(opts_.store, item.day, item.exchange, key, derived, &present);
        if (missing.empty()) {
          res.outcome = Outcome::kSkipped;
          res.objects.push_back(opts_.store->Describe(object));
          for (const auto& name : present) res.objects.push_back(opts_.store->Describe(name));
          return res;
        }
        StoredDeriveRequest sd;
        sd.store = opts_.store;
        sd.raw_object = object;
        sd.schema = schema;
        sd.specs = missing;
        sd.day = item.day;
        sd.key = key;
        sd.exchange = item.exchange;
        sd.symbol = item.symbol;
        sd.overwrite = false;
        sd.writer = opts_.convert.writer;
        sd.tool_version = opts_.convert.tool_version;
        sd.cancel = opts_.cancel;
        auto computed = DeriveFromStoredObject(sd);
        if (computed.ok()) {
          // As market-tick derive counts it: the raw rows read, and no_data
          // for a raw object without rows (the outcome its download had).
          res.rows = computed->rows;
          res.outcome = computed->rows == 0 ? Outcome::kNoData : Outcome::kDone;
          for (const auto& d : computed->outputs) {
            res.bytes_out += d.bytes;
            res.objects.push_back(d.name);
          }
          // Created meanwhile by another run: nothing of ours was written.
          if (res.objects.empty()) res.outcome = Outcome::kSkipped;
          return res;
        }
        const Status& st = computed.status();
        if (st.code() == Status::Code::kCancelled) {
          res.outcome = Outcome::kCancelled;
          res.reason = "interrupted";
          return res;
        }
        // kDataLoss: a page failing its CRC (the object damaged where it is
        // kept) is a file that cannot be read, as bad bytes were before.
        if (st.code() != Status::Code::kInvalidInput && st.code() != Status::Code::kDataLoss) {
          res.outcome = FailedBy(st, &res);
          res.reason = "computing derived data from " + opts_.store->Describe(object) + ": " + st.message();
          return res;
        }
        // The stored object cannot be read as this data type: the file is
        // downloaded again for the derived series (the raw object is kept as
        // it is; validate --deep reports it, --force replaces it).
        log::Warn(item.Id() + ": " + st.message() + "; downloading the file again to compute " +
                  std::to_string(missing.size()) + " derived objects (the raw object is kept)");
        derived = std::move(missing);  // the raw object: create-only, so kept
      }
    }
  }
  // A grouped item is complete when its record is (item_record.h): a rerun
  // skips it on one store read, without a request to Tardis.
  bool replace_record = force;
  // A complete record this run replaces: --force, or a recorded object that
  // could not be read back (below); its objects are handled as --force's.
  bool replaces_done_record = grouped && force;
  // The objects of the record this run replaces: those the new file does
  // not write again go before the new record is written.
  auto replaced = std::make_shared<ReplacedObjects>();
  // Grouped items are downloaded and split one at a time (items of one
  // instrument keep running beside them): each holds the state of its
  // thousands of instruments and the buffers of its spill, whatever its
  // share of the parse budget, so several at once would pass the memory
  // bound as derived series would. One complete by its record is skipped
  // below, without waiting. Under --force none is skipped, and the names of
  // the record it replaces are kept from its read to its conversion: taken
  // in the slot, so one item holds them at a time. The slot goes once that
  // memory is freed (see settings.on_written below).
  std::unique_lock<std::mutex> grouped_slot(grouped_mu_, std::defer_lock);
  if (replaces_done_record) grouped_slot.lock();
  if (grouped) {
    StringSpool names, keys;
    // The item's series, computed beside each recorded object.
    const std::vector<derive::DerivedSpec> specs = schema ? item_series : std::vector<derive::DerivedSpec>();
    ItemResult unkeyed;
    auto rec = ReadRecordNames(opts_, StopFlags{opts_.cancel, &stop_}, item, &names, specs.empty() ? nullptr : &keys,
                               &unkeyed);
    bool read_again = false;  // a recorded object the series cannot read: the file is downloaded again
    // A grouped item a report calls missing: its record is taken as complete
    // only while every object it lists is stored.
    bool objects_gone = false;
    if (rec.ok() && rec->outcome != "not_available" && !force && opts_.recheck.count(item.Id()) > 0) {
      // In the grouped slot: one check at a time (its sorter and listing
      // are not counted in what an item in flight holds), kept for the
      // download when an object is gone.
      grouped_slot.lock();
      const std::string probe = opts_.store->layout().TickObjectName(item.day, item.data_type, item.exchange, "X");
      auto all = EveryNameStored(opts_.store, probe.substr(0, probe.rfind('/') + 1), names);
      if (!all.ok()) {
        res.outcome = FailedBy(all.status(), &res);
        res.reason = "checking that the recorded objects are stored: " + all.status().message();
        return res;
      }
      if (*all) {
        grouped_slot.unlock();
      } else {
        log::Info(item.Id() + ": objects its completion record lists are gone; downloading the item again");
        objects_gone = true;
        replaces_done_record = true;
      }
    }
    if (rec.ok() && rec->outcome != "not_available" && !force && !objects_gone) {
      res.outcome = Outcome::kSkipped;  // rows stay 0: this run converted none
      auto say_unkeyed = [&] { SayRecordedUnkeyed(item, &unkeyed, &res); };
      for (const std::string& name : names) opts_.store->RemoveStaleTemporaries(name);
      if (specs.empty()) {
        res.objects = Described(opts_.store, names);
        say_unkeyed();
        return res;
      }
      // Series missing beside the recorded objects (a first run without
      // --derive, or a new name) are computed from them, without a request,
      // as for an item of one instrument; one item's series at a time.
      derive_slot.lock();
      // The folder of each series listed once, merged with the names the
      // item's objects' series get (StoredSeries): the record lists
      // thousands of objects, and an existence check of each series would
      // be as many requests to the store.
      StoredSeries stored;
      if (const Status st = stored.Find(opts_.store, item, specs, keys); !st.ok()) {
        res.outcome = FailedBy(st, &res);
        res.reason = "listing the derived objects of the day: " + st.message();
        return res;
      }
      StringSpool present;
      auto name_at = names.begin();
      size_t i = 0;
      for (auto key_at = keys.begin(); key_at != keys.end() && !read_again; ++key_at, ++name_at, i++) {
        const std::string& key = *key_at;
        if (key.empty()) continue;  // rows kept without a key get no series
        std::vector<derive::DerivedSpec> missing;
        for (size_t s = 0; s < specs.size(); s++) {
          if (!stored.Stored(i, s)) {
            missing.push_back(specs[s]);
            continue;
          }
          std::string name = opts_.store->layout().DerivedObjectName(item.day, specs[s].name, item.exchange, key);
          opts_.store->RemoveStaleTemporaries(name);
          present.push_back(name);
        }
        if (missing.empty()) continue;
        StoredDeriveRequest sd;
        sd.store = opts_.store;
        sd.raw_object = *name_at;
        sd.schema = schema;
        sd.specs = std::move(missing);
        sd.day = item.day;
        sd.key = key;
        sd.overwrite = false;
        sd.writer = opts_.convert.writer;
        sd.tool_version = opts_.convert.tool_version;
        sd.cancel = opts_.cancel;
        auto computed = DeriveFromStoredObject(sd);
        if (!computed.ok()) {
          const Status& st = computed.status();
          if (st.code() == Status::Code::kInvalidInput || st.code() == Status::Code::kDataLoss) {
            log::Warn(item.Id() + ": " + st.message() + "; downloading the file again to compute its derived objects");
            read_again = true;
            break;
          }
          res.outcome = st.code() == Status::Code::kCancelled ? Outcome::kCancelled
                        : st.retryable()                      ? Outcome::kRetryable
                                                              : Outcome::kFailed;
          res.reason = st.code() == Status::Code::kCancelled
                           ? "interrupted"
                           : "computing derived data from " + opts_.store->Describe(*name_at) + ": " + st.message();
          res.objects.clear();
          return res;
        }
        res.rows += computed->rows;
        for (const auto& d : computed->outputs) {
          res.bytes_out += d.bytes;
          res.objects.push_back(d.name);
        }
      }
      // A temporary file that could not be read back: the item is not known
      // complete, so it is neither skipped nor downloaded again.
      for (const Status* st : {&names.read_status(), &keys.read_status(), &stored.status(), &present.read_status()}) {
        if (st->ok()) continue;
        res.outcome = FailedBy(*st, &res);
        res.reason = "reading back the recorded objects: " + st->message();
        res.objects.clear();
        return res;
      }
      if (!read_again) {
        // Done when this run wrote series (those alone listed, as for an
        // item of one instrument); else skipped, with everything it has.
        if (!res.objects.empty()) {
          res.outcome = Outcome::kDone;
          return res;
        }
        res.rows = 0;
        res.objects = Described(opts_.store, names);
        res.objects.Append(Described(opts_.store, present));
        say_unkeyed();
        return res;
      }
      // Whatever series were written stay (create-only); the download
      // below rewrites the item whole.
      replaces_done_record = true;
      derive_slot.unlock();
      res.outcome = Outcome::kFailed;
      res.objects.clear();
      res.rows = 0;
      res.bytes_out = 0;
    }
    if (replaces_done_record) {
      // Its names as read above (not read again): none without a record, or
      // from one that does not parse; a store's error fails the item, whose
      // old objects could not be known.
      Status st = rec.ok() ? replaced->Take(opts_.store->layout(), item, names) : Status::OK();
      if (!rec.ok() && rec.status().code() != Status::Code::kNotFound &&
          rec.status().code() != Status::Code::kInvalidInput) {
        st = rec.status();
      }
      if (!st.ok()) {
        res.outcome = FailedBy(st, &res);
        res.reason = "reading the completion record this run replaces: " + st.message();
        return res;
      }
    }
    // An earlier 404 may have become data: that record must be replaced.
    if (rec.ok()) replace_record = true;
    if (!rec.ok() && rec.status().code() != Status::Code::kNotFound) {
      log::Warn(item.Id() + ": " + rec.status().message() + "; downloading the item again");
      replace_record = true;
    }
  }
  if (grouped && !grouped_slot.owns_lock()) grouped_slot.lock();
  // The file of an item planned with its key takes the instrument's terms
  // from the day's definitions, as that of an item keyed here does: the same
  // item gives the same file whichever way it was planned. A grouped file's
  // rows are keyed by them.
  if (!load_definitions()) return res;
  // Whether the day's definitions in the store list the item's exchange: a
  // grouped file's rows are keyed by them where they do.
  bool defs_list_exchange = false;
  if (grouped && resolver) {
    auto l = resolver->ListsExchange(item.day, item.exchange);
    if (!l.ok()) {
      res.outcome = FailedBy(l.status(), &res);
      res.reason = l.status().message();
      return res;
    }
    defs_list_exchange = *l;
  }
  if (grouped && !tardis::HasSymbolRule(item.exchange) && !defs_list_exchange) {
    // No row of the file could be keyed: refused before the request (an
    // item complete by its record was skipped above), so neither UNKEYED
    // objects nor a completion record stand in the way of the run after
    // `instruments` (tick_converter.h).
    res.reason = GroupedFileNeedsDefinitions(item.exchange, item.day).message();
    return res;
  }
  const std::string url = DatasetUrl(opts_.datasets_url, item);
  // What the objects' metadata and the completion record keep as their
  // source: the URL without user information (a password in
  // TARDIS_DATASETS_URL would otherwise be stored in every object).
  const std::string source = RedactSecrets(url);

  SourceHints hints;
  hints.source = source;
  hints.day = item.day;
  hints.exchange = item.exchange;
  hints.symbol = item.symbol;
  hints.named_by = "the work item";
  hints.data_type = schema;  // the item's type; the header only confirms it
  ConvertTarget target;
  target.store = opts_.store;
  // Without a record a grouped item is not done, whatever objects exist (a
  // run may have stopped between two commits): its objects are written
  // again, so the record lists every one of them.
  target.overwrite = force || grouped;
  if (replaces_done_record) {
    // --force replaces the objects of a complete item: its record goes right
    // before the first object is committed, so a run stopped while it
    // commits leaves the item without one (downloaded again by the next run)
    // rather than the old record over objects of two downloads; a file that
    // fails before (damaged, bad rows) keeps it.
    target.before_commit = [store = opts_.store, item, replaced]() {
      return replaced->RemoveRecord(store, item)
          .WithContext("removing the completion record of the objects this run replaces");
    };
  }
  target.fixed_object = object;
  target.fixed_key = key;
  target.keys = resolver.get();
  ConvertSettings settings = opts_.convert;
  settings.parser.empty_input_schema = schema;
  settings.parser.data_type_origin = "the work item";
  settings.parallel_parse = false;  // concurrency comes from items in flight
  // Bad data in a copy damaged on the way is the damage: told apart by the
  // gzip's check at its end, so the copy is fetched again (see `damaged`).
  settings.check_gzip_on_bad_data = true;
  // The same for derived series: on the item's thread, and no queue per item
  // in flight to count against the memory budget.
  settings.observer_threads = false;
  // A grouped item gives up its slot as soon as its objects are written and
  // the conversion's memory is freed, before the sync, the renames and its
  // record, which hold little memory but take long on a busy disk: the next
  // grouped item downloads and converts meanwhile. Still one conversion at a
  // time. Not an item whose derived series are computed from its objects
  // after the commit (DeriveEachObject, below): those hold books and row
  // groups up to the record, as a conversion would.
  const bool derives_after_commit = grouped && schema && !item_series.empty();
  if (grouped && !derives_after_commit) {
    settings.on_written = [this, &grouped_slot, converting] {
      grouped_slot.unlock();
      if (converting) LeaveConverting(converting);
    };
  }

  // Derived series read the converter's batches; a restart (Range ignored,
  // damaged bytes) starts them over with a fresh converter.
  std::unique_ptr<derive::DeriveEngine> engine;
  std::unique_ptr<TickConverter> conv;
  auto fresh = [&] {
    conv.reset();  // aborts the old engine before it goes
    // A conversion again (the file fetched again after a failed Finish):
    // again in the slot.
    if (grouped && !grouped_slot.owns_lock()) {
      if (converting) EnterConverting(converting);
      grouped_slot.lock();
    }
    target.observers.clear();
    if (!derived.empty()) {
      derive::EngineOptions eo = DeriveEngineOptions(derived, opts_.store, force, hints, settings);
      // The row-group budget of convert (EngineOptions::buffer_bytes), not
      // a share of DOWNLOAD_BUFFER_MB: smaller row groups of deep series
      // cost more in footer metadata than they save (bench/README.md), and
      // the objects are convert's byte for byte up to the footer.
      // Every row is the item's instrument (the converter checks it first).
      eo.key = [key](const Date&, const std::string&, const std::string&) -> Result<std::string> { return key; };
      engine = std::make_unique<derive::DeriveEngine>(std::move(eo));
      target.observers.push_back(engine.get());
    }
    conv = std::make_unique<TickConverter>(hints, target, settings);
  };
  fresh();
  ItemSink sink;
  sink.on_restart = [&] { conv->Abort(); fresh(); sink.conv = conv.get(); };
  sink.conv = conv.get();
  sink.bytes_counter = &progress_.bytes_in;
  sink.url = url;
  const double started = MonotonicSeconds();
  sink.started = started;
  sink.timeout_s = opts_.item_timeout_s;
  sink.max_bytes = opts_.item_max_bytes;

  // The attempt budget counts every request, resumed ones included; a
  // transfer cut after some bytes resumes at once and restarts the backoff.
  net::Retrier retrier(opts_.retry, opts_.clock, StopFlags{opts_.cancel, &stop_}, net::RetrySeed(item.Id()));
  std::string last_error;
  auto give_up = [&](Outcome o, const std::string& why) {
    conv->Abort();
    res.outcome = o;
    res.reason = why;
    res.bytes_in = sink.transferred;
    return res;
  };
  auto gave_up = [&] {
    return "gave up after " + std::to_string(retrier.attempts()) + " requests in " +
           std::to_string(static_cast<int>(retrier.Elapsed())) + " s; last error: " + last_error;
  };
  // Damaged bytes (a truncated or corrupt gzip, kDataLoss) may be a copy
  // damaged on the way, or the source's file itself. A copy damaged on the
  // way is fetched whole again within the attempt budget, and when the
  // budget ends first the item is retryable: a rerun may get a whole copy.
  // The same damaged bytes at kSameDamage whole downloads in a row (the same
  // kind of damage, length and ETag, and the same bytes up to the damage:
  // ReceivedBytes) are the source's file: no download fixes it, so the item
  // fails (exit 1) saying so. Copies damaged on the way differ in their
  // bytes, even at the same length and ETag, so they stay retryable.
  // Returns the item's result, or nothing to download it again.
  constexpr int kSameDamage = 3;
  std::string damage_seen;     // the last damaged copy's kind, length and ETag
  ReceivedBytes damage_bytes;  // and its bytes
  int same_damage = 0;         // whole downloads in a row that gave it
  bool empty_body_seen = false;  // an answer of 0 bytes, asked again once
  bool had_bytes = false;        // an answer of this run brought bytes of the file
  auto damaged = [&](const Status& st, const std::string& kind, int64_t length) -> std::optional<ItemResult> {
    last_error = st.message();
    const std::string signature = kind + "|" + std::to_string(length) + "|" + sink.etag;
    same_damage = signature == damage_seen && sink.bytes.SameAs(damage_bytes) ? same_damage + 1 : 1;
    damage_seen = signature;
    damage_bytes = sink.bytes;
    std::string what = st.message();
    if (same_damage >= kSameDamage) {
      // The decoder's advice to download again is what was just done.
      for (const std::string advice : {" (re-download it)", "re-download it"}) {
        if (const size_t at = what.find(advice); at != std::string::npos) what.erase(at, advice.size());
      }
      return give_up(Outcome::kFailed,
                     url + ": the source's file is damaged: " + std::to_string(kSameDamage) +
                         " downloads of it in a row gave the same damaged bytes (" + what +
                         "); downloading it again does not help: report the file to Tardis support, or rerun "
                         "later once the source's file is fixed");
    }
    if (!retrier.MayAttempt()) {
      return give_up(Outcome::kRetryable,
                     url + ": the downloaded copy is damaged and no attempt is left to download it again (" +
                         gave_up() + "); a rerun downloads it again (the same damaged bytes at " +
                         std::to_string(kSameDamage) + " downloads in a row would mean the source's file is damaged)");
    }
    log::Warn(item.Id() + ": " + last_error + "; downloading again");
    return std::nullopt;
  };
  // A page (HTML, XML) answered in the file's place (Status::Detail::
  // kNotTheFile): a proxy's, a login's or an error page sent with 200,
  // found as the header is read or, for a page without a line end or
  // gzip-compressed, at the file's end. Asked again as a failed answer is,
  // and retryable when no attempt is left (a rerun may get the file), where
  // a bad header of the file itself fails for good. The same page at
  // kSameDamage answers in a row is what the URL serves (a wrong
  // TARDIS_DATASETS_URL, a captive portal): no retry gets past it, so the
  // item fails (exit 1) saying so. Returns the item's result, or nothing to
  // ask again.
  std::string page_seen;
  int same_page = 0;
  auto page = [&](const Status& st) -> std::optional<ItemResult> {
    last_error = st.message();  // the URL and line first
    same_page = last_error == page_seen ? same_page + 1 : 1;
    page_seen = last_error;
    if (same_page >= kSameDamage) {
      return give_up(Outcome::kFailed, std::to_string(kSameDamage) +
                                           " answers in a row were the same page, not a Tardis file (" + last_error +
                                           "); check TARDIS_DATASETS_URL and any proxy between this machine and "
                                           "Tardis");
    }
    log::Warn(item.Id() + ": " + last_error + "; asking again");
    if (retrier.Backoff(-1, nullptr) == net::Retrier::Next::kGiveUp) return give_up(Outcome::kRetryable, gave_up());
    return std::nullopt;
  };

  while (true) {
    if (stop_) return give_up(Outcome::kCancelled, "stopped: " + fatal_.message());
    if (opts_.cancel && opts_.cancel->load()) return give_up(Outcome::kCancelled, "interrupted");
    if (const Status bound = sink.CheckBounds(); !bound.ok()) {
      return give_up(FailedBy(bound, &res),
                     bound.message() + (last_error.empty() ? "" : "; last error: " + last_error));
    }
    if (!retrier.MayAttempt()) return give_up(Outcome::kRetryable, gave_up());
    const int attempt = retrier.attempts();
    net::HttpRequest req = opts_.retry.Request(url, attempt, opts_.cancel);
    req.headers.emplace_back("User-Agent", std::string("market-tick/") + settings.tool_version);
    if (!opts_.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + opts_.api_key);
    if (sink.offset > 0) {
      req.headers.emplace_back("Range", "bytes=" + std::to_string(sink.offset) + "-");
      if (!sink.etag.empty()) req.headers.emplace_back("If-Range", sink.etag);
    }
    sink.restart_needed = false;
    sink.BeginRequest();
    net::HttpResult r = http->Fetch(req, &sink);
    // A damaged copy whose body ended (or was cut) before the sink had read
    // as far as it reads past damage: the damage is still what stopped it.
    if (!sink.damage.ok() && r.sink_error.ok()) r.sink_error = sink.damage;
    retrier.Attempted();
    res.requests++;
    const int status = sink.status ? sink.status : r.head.status;

    if (r.transport.code() == Status::Code::kCancelled) return give_up(Outcome::kCancelled, "interrupted");
    if (!r.sink_error.ok()) {
      if (sink.restart_needed) {
        sink.on_restart();
        sink.offset = 0;
        last_error = r.sink_error.message();
        continue;  // immediate full restart
      }
      last_error = r.sink_error.message();
      // Interrupted inside the sink (the derive engine looks at the cancel
      // flag while it computes): cancelled like an interrupted transfer.
      if (r.sink_error.code() == Status::Code::kCancelled) return give_up(Outcome::kCancelled, "interrupted");
      // Damaged bytes (corrupt gzip): see `damaged`. Bad data (a CSV row
      // that does not parse, a symbol with no key) in a whole gzip is in the
      // file itself: permanent (the converter reports it at Finish, once the
      // gzip's check has passed, check_gzip_on_bad_data).
      if (r.sink_error.code() == Status::Code::kDataLoss) {
        // The file's length, also when the damage came in a resumed answer.
        const int64_t length = sink.file_end == UINT64_MAX ? -1 : static_cast<int64_t>(sink.file_end);
        if (auto done = damaged(r.sink_error, "corrupt", length)) return *done;
        sink.on_restart();
        sink.offset = 0;
        continue;
      }
      // A page in the file's place: see `page`.
      if (r.sink_error.detail() == Status::Detail::kNotTheFile) {
        if (auto done = page(r.sink_error)) return *done;
        sink.on_restart();
        sink.offset = 0;  // from the start, without a Range request
        continue;
      }
      // Another run created the object first (a create-only upload refused
      // mid-write). Not for a grouped file: one instrument's object says
      // nothing of the others'.
      if (r.sink_error.code() == Status::Code::kAlreadyExists && !force && !grouped) {
        return Skipped(give_up(Outcome::kSkipped, ""), opts_.store, object);
      }
      return give_up(FailedBy(r.sink_error, &res), last_error);
    }
    if (status == 401 || status == 403) {
      const std::string msg =
          "HTTP " + std::to_string(status) + " for " + url + ": the Tardis API key is missing or does " +
          "not cover this exchange/day. Set TARDIS_API_KEY (or TARDIS_API_KEY_FILE); without a key " +
          "only the first day of each month can be downloaded.";
      {
        std::lock_guard<std::mutex> l(fatal_mu_);
        if (fatal_.ok()) fatal_ = Status::Permission(msg);
      }
      stop_ = true;
      return give_up(Outcome::kFailed, msg);
    }
    if (status == 404) {
      give_up(Outcome::kNotAvailable, "HTTP 404 for " + source + ": not available at the source");
      // Recorded, so validate reports it as not_available, not missing. A
      // record already there (an earlier 404) is kept.
      ItemRecord rec;
      rec.item = item.Id();
      rec.outcome = "not_available";
      rec.source = source;
      rec.reason = "HTTP 404";
      rec.tool_version = settings.tool_version;
      rec.created_at = RecordTime();
      Status st = WriteItemRecord(opts_.store, item, rec, false);
      if (!st.ok() && st.code() != Status::Code::kAlreadyExists) {
        log::Warn(item.Id() + ": could not record not_available: " + st.message());
      }
      return res;
    }
    const bool got_body = status == 200 || status == 206;
    if (got_body && r.transport.ok() && grouped && !replaces_done_record) {
      // A grouped item's objects are written over (see target.overwrite), so
      // another run that completed the item while this one read the file (an
      // overlapping resubmission) would have every object replaced and be
      // told nothing. Its record says it is done: this run writes none of
      // its objects (with --derive it then computes the series missing
      // beside them, RunItem).
      // (Unless this run replaces that record: --force, or a recorded object
      // that could not be read back.)
      // Two runs that both pass this point before either record exists (on
      // GCS: while the other still uploads its objects) both write; each
      // object is then complete either way, and the run whose record comes
      // second is skipped (SettleRace).
      StringSpool names;
      ItemResult unkeyed;
      auto done = ReadRecordNames(opts_, StopFlags{opts_.cancel, &stop_}, item, &names, nullptr, &unkeyed);
      // A 404 another run recorded meanwhile: this run has the file, so its
      // record replaces that one.
      if (done.ok() && done->outcome == "not_available") replace_record = true;
      if (done.ok() && done->outcome != "not_available") {
        conv->Abort();
        res.bytes_in = sink.transferred;
        res.outcome = Outcome::kSkipped;
        res.reason = "completed meanwhile by another run (its completion record appeared)";
        if (again && schema && !item_series.empty()) {
          *again = true;
          return res;
        }
        res.objects = Described(opts_.store, names);
        // As for an item skipped on its record at the start (this run
        // wrote none of the objects).
        SayRecordedUnkeyed(item, &unkeyed, &res);
        return res;
      }
    }
    if (sink.offset > 0) had_bytes = true;
    if (got_body && r.transport.ok() && sink.offset == 0 && (!empty_body_seen || had_bytes)) {
      // Not one byte: Tardis sends a gzip stream even for a day without
      // data (an empty gzip), so an empty body is more likely a proxy's or
      // a cache's slip than the day's answer. Asked once more, the item
      // failing as retryable when no attempt is left (taken as "no data" it
      // would be skipped by every rerun, and a grouped item replaced by it
      // would lose its objects); the same answer again is taken as the
      // day's (no data), as before, unless an earlier answer of this run
      // brought bytes of the file.
      empty_body_seen = true;
      last_error = url + " answered HTTP " + std::to_string(status) +
                   " with an empty body (0 bytes), where Tardis sends a gzip stream even for a day without data";
      log::Warn(item.Id() + ": " + last_error + "; asking again");
      fresh();
      sink.conv = conv.get();
      const auto next = retrier.Backoff(-1, nullptr);
      if (next == net::Retrier::Next::kGiveUp) return give_up(Outcome::kRetryable, gave_up());
      continue;
    }
    if (got_body && r.transport.ok()) {
      auto outs = conv->Finish();
      if (outs.ok()) {
        res.bytes_in = sink.transferred;
        res.rows = conv->rows();
        // Rows of another day in this day's file: stored as served, but said
        // now, by the rule validate --deep applies; one line for the item.
        OutsideDayObjects outside(item.day);
        for (const auto& o : *outs) {
          res.bytes_out += o.bytes;
          res.objects.push_back(o.name);
          outside.Add(o.name, o.rows, o.min_local_ts, o.max_local_ts);
          if (o.unkeyed) {
            res.unkeyed_rows += o.rows;
            res.unkeyed_symbols.push_back(o.symbol);
            // Keyed by the symbol rule alone: the day's definitions may key
            // it (a combo, a dated future), but the item is complete once
            // its record is written, so only --force downloads it again.
            const std::string day = FormatDate(item.day);
            const std::string hint =
                defs_list_exchange ? ""
                                   : "; the store holds no instrument definitions of " + item.exchange + " for " + day +
                                         ", which may key it: run `market-tick instruments --from " + day +
                                         " --exchanges " + item.exchange + "`, then this download again with --force";
            log::Warn(item.Id() + ": " + std::to_string(o.rows) + " rows of symbol '" + EscapeOutsideText(o.symbol, 80) +
                      "' kept as " + o.name + " (no instrument key: " + o.note + ")" + hint);
          }
        }
        if (const std::string problem = outside.Message(); !problem.empty()) {
          // Stored as served (the source's bytes), and said: on stderr and as
          // the item's reason in --summary-json, where a pipeline that reads
          // only the summary sees it.
          res.reason = "rows outside the item's day: " + problem + " will be reported corrupt by validate --deep";
          log::Warn(item.Id() + ": " + res.reason);
        }
        if (!outs->read_status().ok()) {
          // The objects are there, the list of them is not whole: no record,
          // so a rerun does the item again.
          res.outcome = FailedBy(outs->read_status(), &res);
          res.reason = "reading back the list of objects written: " + outs->read_status().message();
          return res;
        }
        if (engine) {
          // Committed after the raw object (TickConverter::Finish).
          for (const auto& d : engine->outputs()) {
            res.bytes_out += d.bytes;
            res.objects.push_back(d.name);
          }
        }
        res.outcome = res.rows == 0 ? Outcome::kNoData : Outcome::kDone;
        // Another run of the same item created the object first (create-only
        // commit refused): the item is done, by them.
        if (!grouped && res.objects.empty()) return Skipped(std::move(res), opts_.store, object);
        std::vector<std::string> series_names;  // of a grouped file, computed below
        if (grouped && schema) {
          // Derived series of a grouped file: from each instrument's object
          // just committed, read back in turn (DeriveEachObject), before the
          // record, so an item that fails here is redone by a rerun.
          StoredDeriveRequest sd;
          sd.store = opts_.store;
          sd.schema = schema;
          sd.specs = item_series;
          sd.day = item.day;
          sd.overwrite = true;  // the raw objects were rewritten too
          sd.writer = opts_.convert.writer;
          sd.tool_version = opts_.convert.tool_version;
          sd.cancel = opts_.cancel;
          std::vector<std::string> keys;
          for (const auto& o : *outs) {
            if (!o.unkeyed && !o.instrument_key.empty()) keys.push_back(o.instrument_key);
          }
          if (!sd.specs.empty()) {
            auto split = DeriveEachObject(sd, item.exchange, keys);
            if (!split.ok()) {
              res.outcome = split.status().code() == Status::Code::kCancelled ? Outcome::kCancelled
                            : split.status().retryable()                       ? Outcome::kRetryable
                                                                                : Outcome::kFailed;
              res.reason = "computing derived data: " + split.status().message();
              return res;
            }
            for (const auto& d : split->outputs) {
              res.bytes_out += d.bytes;
              res.objects.push_back(d.name);
              series_names.push_back(d.name);
            }
          }
        }
        if (grouped) {
          auto removed = replaced->Finish(opts_.store, item, *outs);
          if (!removed.ok()) {
            // No record: the next run does the item again (what is left of
            // the old objects then stays, unlisted: validate names them).
            res.outcome = FailedBy(removed.status(), &res);
            res.reason = removed.status().message();
            return res;
          }
          if (*removed) {
            log::Info(item.Id() + ": removed " + std::to_string(*removed) +
                      " objects of its earlier download that the new file does not have");
          }
          // Written last: the record says every object above is committed.
          // The record's entries are built only to settle a race.
          const std::string created_at = RecordTime();
          Status st = WriteGroupedItemRecord(opts_.store, item, *outs, res.rows, source, settings.tool_version,
                                             created_at, replace_record);
          if (st.code() == Status::Code::kAlreadyExists && !replace_record) {
            SettleRace(opts_.store, item,
                       GroupedItemRecord(opts_.store, item, *outs, res.rows, source, settings.tool_version, created_at),
                       series_names, &res);
          } else if (!st.ok()) {
            // The objects are there but the item is not known complete: a
            // rerun does it again.
            res.outcome = FailedBy(st, &res);
            res.reason = "writing the completion record: " + st.message();
          }
        }
        return res;
      }
      last_error = outs.status().message();
      res.bytes_in = sink.transferred;
      if (outs.status().code() == Status::Code::kCancelled) {
        // Interrupted while the derived series were finished: nothing was committed.
        res.outcome = Outcome::kCancelled;
        res.reason = "interrupted";
        return res;
      }
      if (outs.status().code() == Status::Code::kAlreadyExists && !force && !grouped) {
        return Skipped(give_up(Outcome::kSkipped, ""), opts_.store, object);
      }
      if (outs.status().code() == Status::Code::kDataLoss) {
        // Truncated or corrupt file: see `damaged`.
        if (auto done = damaged(outs.status(), "end", static_cast<int64_t>(sink.offset))) return *done;
        fresh();
        sink.conv = conv.get();
        sink.offset = 0;
        continue;
      }
      if (outs.status().detail() == Status::Detail::kNotTheFile) {
        if (auto done = page(outs.status())) return *done;
        fresh();
        sink.conv = conv.get();
        sink.offset = 0;
        continue;
      }
      res.outcome = FailedBy(outs.status(), &res);
      res.reason = last_error;
      return res;
    }
    // Transient: 408, 429, 5xx, transport errors, cut bodies (resumed by Range).
    double retry_after = -1;
    if (got_body) {
      last_error = r.transport.message();
      // Progress is bytes of this answer: one cut after its head brought
      // none, and waits as a request without an answer does.
      if (sink.offset > 0 && sink.response_bytes > 0) {
        retrier.ResetBackoff();  // progress was made: resume at once (if the budget allows)
        if (retrier.MayAttempt()) {
          log::Info(item.Id() + ": transfer cut after " + std::to_string(sink.offset) +
                    " bytes; resuming with a Range request");
        }
        continue;
      }
    } else if (net::IsTransientHttpStatus(status)) {
      // Named with its URL and what the server said, as a permanent HTTP
      // error is: the reason of an item that gives up on it is all a fleet's
      // log keeps of which file and which server.
      last_error =
          status ? "HTTP " + std::to_string(status) + " for " + url +
                       (sink.error_body.empty()
                            ? ""
                            : ": " + EscapeOutsideText(sink.error_body, kOutsideTextMaxBytes, sink.response_bytes))
                 : r.transport.message();
      retry_after = net::RetryAfter(r.head);
    } else {
      return give_up(Outcome::kFailed, "HTTP " + std::to_string(status) + " for " + url + ": " +
                                           EscapeOutsideText(sink.error_body, kOutsideTextMaxBytes,
                                                             sink.response_bytes));
    }
    const auto next = retrier.Backoff(retry_after, [&](double delay) {
      log::Debug(item.Id() + ": " + last_error + "; retrying in " + std::to_string(delay) + " s");
    });
    if (next == net::Retrier::Next::kGiveUp) {
      const std::string refusal = net::RetryAfterRefusal(retrier, url, retry_after);
      return give_up(Outcome::kRetryable, refusal.empty() ? gave_up() : refusal + "; " + gave_up());
    }
    // kCancelled: the loop's first lines say by which flag.
  }
}

}  // namespace mt::pipeline
