// Runs work items: HTTP download -> TickConverter -> object store, with
// MAX_CONCURRENT_REQUESTS items in flight, retries with backoff and jitter,
// resume by HTTP Range, and an outcome per item.
// Thread-safety: Run() is called once; progress counters may be read from
// any thread while it runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/string_spool.h"
#include "derive/names.h"
#include "net/http_client.h"
#include "net/retry.h"
#include "pipeline/key_resolver.h"
#include "pipeline/plan.h"
#include "pipeline/tick_converter.h"
#include "storage/object_store.h"

namespace mt::pipeline {

enum class Outcome {
  kDone,           // written
  kSkipped,        // object already there; no request made
  kNoData,         // Tardis had no rows: a zero-row file was written
  kNotAvailable,   // 404 at the source
  kFailed,         // permanent failure
  kRetryable,      // gave up on a transient failure (a later run may succeed)
  kCancelled,      // interrupted before finishing
  kMissing,        // derive: the raw object to compute from is not in the store
};
const char* OutcomeName(Outcome o);

struct ItemResult {
  WorkItem item;
  Outcome outcome = Outcome::kFailed;
  std::string reason;
  uint64_t bytes_in = 0, bytes_out = 0, rows = 0;
  int requests = 0;
  // The objects written (or, for an item skipped, found): a grouped item
  // lists one per instrument and its series, millions for a large day of
  // options, so the list keeps to a budget of memory (core/string_spool.h).
  StringSpool objects;
  // Rows kept under a fallback name because their symbol has no key
  // (TickConverter's OutputFile::unkeyed), and those symbols.
  uint64_t unkeyed_rows = 0;
  std::vector<std::string> unkeyed_symbols;
  // Those rows are an earlier run's, read from the record of an item this
  // run skipped: in the item's summary entry, not in the run's total.
  bool unkeyed_from_record = false;
  // Failed by a configuration error (kUsage) that a rerun alone does not fix:
  // the run's fatal_error() and exit code 2 (Downloader::Run).
  bool config_error = false;
  // Failed by the store's refusal of the credential in use (its 401 or 403,
  // Status::Detail::kCredentials): every later item would download its file
  // only to be refused the same way, so the run stops (Downloader::Run), as
  // for Tardis's 401. Other refusals (a folder the local store may not
  // write, a bucket's other 4xx) fail their item only.
  bool permission_denied = false;
};

struct DownloadOptions {
  std::string datasets_url;
  std::string api_key;  // never logged
  int concurrency = 8;
  bool force = false;
  // Ids (WorkItem::Id) of items redone as with force (--from-report: those
  // with a corrupt object); the others are skipped where complete.
  std::set<std::string> replace;
  // Ids of grouped items (--from-report: those reported missing) whose
  // complete record is skipped only when every object it lists is stored;
  // else the item is downloaded again and its record replaced.
  std::set<std::string> recheck;
  net::RetryPolicy retry;
  net::RetryClock* clock = nullptr;  // the retry waits' clock; null: the system's
  ConvertSettings convert;
  // Derived series computed from each item's parsed batches (docs/DERIVED.md);
  // those whose source data type is not the item's are not computed for it.
  // Grouped items get none. An item is skipped only when its raw object and
  // every derived object it gets exist; when only derived ones are missing,
  // they are computed from the stored raw object (read row group by row
  // group, no request), or, when it cannot be read as its data type, from
  // the file downloaded again with the raw object kept as it is (create-only).
  std::vector<derive::DerivedSpec> derived;
  storage::ObjectStore* store = nullptr;
  // Keys of items without a planned instrument_key and of grouped files'
  // rows; null: the symbol rules.
  StoreKeyResolvers* keys = nullptr;
  std::function<std::unique_ptr<net::HttpClient>()> http_factory;  // default: curl
  const std::atomic<bool>* cancel = ProcessCancelFlag();
  // Called with each item's result as it ends (items not started too), from
  // the worker that ran it, one call at a time.
  std::function<void(const ItemResult&)> on_item;
  // Bounds of one item, whatever a server sends (a body that never ends):
  // the whole item, retries included, stops after item_timeout_s
  // (ITEM_TIMEOUT_HOURS; failed_retryable) or once the bodies received exceed
  // item_max_bytes (ITEM_MAX_SIZE; failed). A response is also bounded by its
  // own Content-Length: more bytes than announced fail it.
  double item_timeout_s = 6 * 3600.0;
  uint64_t item_max_bytes = uint64_t{64} << 30;
};

struct Progress {
  std::atomic<uint64_t> items_total{0}, items_finished{0}, bytes_in{0}, rows{0};
};

class Downloader {
 public:
  explicit Downloader(DownloadOptions opts);
  // Returns one result per item, in plan order. A 401/403 stops the run:
  // items not started are reported as cancelled, and fatal_error() says why.
  // A configuration error an item meets (kUsage: the open-file limit, a
  // TMPDIR that cannot hold a temporary file) fails that item and, unless
  // fatal_error() already holds another, becomes it; the other items still
  // run. The run's exit code is then 2: a rerun alone does not help.
  // Every result is kept to the end (each with its objects' names): for
  // tests and single items; the jobs use RunEach.
  std::vector<ItemResult> Run(const std::vector<WorkItem>& items);
  // As Run, without keeping the results: each goes to `done` with its
  // index in `items` as it ends (after on_item, under the same lock) and is
  // then dropped, so memory does not grow with the items or their objects.
  void RunEach(const std::vector<WorkItem>& items, const std::function<void(size_t, const ItemResult&)>& done);
  const Progress& progress() const { return progress_; }
  const Status& fatal_error() const { return fatal_; }

 private:
  // *converting: whether a grouped item counts among grouped_converting_
  // (null for the others); RunItem leaves the count when it gives up its slot.
  ItemResult RunItem(const WorkItem& item, net::HttpClient* http, bool* converting);
  // One try of RunItem; *again (when `again` is given): the item is to be
  // taken once more from the completion record another run wrote meanwhile.
  ItemResult RunItemOnce(const WorkItem& item, net::HttpClient* http, bool* converting, bool* again);
  void EnterConverting(bool* converting);
  void LeaveConverting(bool* converting);

  DownloadOptions opts_;
  Progress progress_;
  std::atomic<bool> stop_{false};
  Status fatal_;
  std::mutex fatal_mu_;
  std::mutex derive_mu_;  // held by the one item computing derived series
  // Held by the one grouped item being downloaded and split, up to the end
  // of its conversion (not through its commit).
  std::mutex grouped_mu_;
  // Grouped items taken and not yet past their conversion: Run's picking
  // rule. Guarded by pick_mu_.
  std::mutex pick_mu_;
  size_t grouped_converting_ = 0;
};

}  // namespace mt::pipeline
