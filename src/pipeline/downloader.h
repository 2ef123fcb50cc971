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
#include <random>
#include <string>
#include <vector>

#include "net/http_client.h"
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
};
const char* OutcomeName(Outcome o);

struct ItemResult {
  WorkItem item;
  Outcome outcome = Outcome::kFailed;
  std::string reason;
  uint64_t bytes_in = 0, bytes_out = 0, rows = 0;
  int requests = 0;
  std::vector<std::string> objects;
  // Rows kept under a fallback name because their symbol has no key
  // (TickConverter's OutputFile::unkeyed), and those symbols.
  uint64_t unkeyed_rows = 0;
  std::vector<std::string> unkeyed_symbols;
};

struct RetryPolicy {
  int max_attempts = 10;          // requests per item, resumed ones included
  double base_delay_s = 1.0;      // backoff: base * 2^n, capped, with jitter
  double max_delay_s = 60.0;
  double max_total_s = 1800.0;    // give up on an item after this long
  int stall_timeout_s = 60;
  int connect_timeout_s = 15;

  // No request may start: `attempt` requests made, or too long since `started`
  // (MonotonicSeconds).
  bool Exhausted(int attempt, double started) const;
  // Request number `attempt` (from 0) of `url`, with the timeouts. Retries add
  // retryAttempt=N, as the official clients do, so caches don't answer.
  net::HttpRequest Request(const std::string& url, int attempt, const std::atomic<bool>* cancel) const;
  // The wait before the next request: the server's Retry-After when
  // `retry_after_s` >= 0 (capped), else base * 2^failures, capped, with jitter.
  double Delay(int failures, double retry_after_s, std::mt19937_64* rng) const;
};

struct DownloadOptions {
  std::string datasets_url;
  std::string api_key;  // never logged
  int concurrency = 8;
  bool force = false;
  RetryPolicy retry;
  ConvertSettings convert;
  storage::ObjectStore* store = nullptr;
  // Keys of items without a planned instrument_key and of grouped files'
  // rows; null: the symbol rules.
  StoreKeyResolvers* keys = nullptr;
  std::function<std::unique_ptr<net::HttpClient>()> http_factory;  // default: curl
  const std::atomic<bool>* cancel = nullptr;
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
  std::vector<ItemResult> Run(const std::vector<WorkItem>& items);
  const Progress& progress() const { return progress_; }
  const Status& fatal_error() const { return fatal_; }

 private:
  ItemResult RunItem(const WorkItem& item, net::HttpClient* http);
  bool Sleep(double seconds);  // false when cancelled

  DownloadOptions opts_;
  Progress progress_;
  std::atomic<bool> stop_{false};
  Status fatal_;
  std::mutex fatal_mu_;
};

}  // namespace mt::pipeline
