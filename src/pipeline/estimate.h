// What a plan will cost before it runs (`plan --estimate`, `download
// --dry-run --estimate`): a bounded number of Tardis dataset sizes, sampled
// deterministically across the plan, extrapolated per stratum (exchange x
// data type) to the expected download size, with the object count and the
// machine-hours at a configured throughput. docs/ESTIMATES.md.
//
// The sampling and extrapolation are pure functions (unit-tested); only
// EstimatePlan makes requests (HEAD, or a one-byte ranged GET where the
// server refuses HEAD), one at a time through the caller's client.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "net/http_client.h"
#include "net/retry.h"
#include "pipeline/plan.h"

namespace mt::pipeline {

// The compressed bytes one machine downloads and converts per second when
// no setting says otherwise: bench/README.md "Download + convert over
// loopback", 2 files in flight on 2 cores, 684 MB/s of CSV from files whose
// gzip is 105 MB per 697.8 MB of CSV, i.e. ~103 MB/s of gzip (rounded down to
// 100). A network slower than loopback lowers it; ESTIMATE_MB_PER_SECOND
// replaces it.
inline constexpr double kDefaultEstimateMbPerSecond = 100;
inline constexpr size_t kDefaultEstimateSamples = 32;

struct EstimateOptions {
  std::string datasets_url;
  std::string api_key;  // sent as the downloads send it; never printed
  std::string user_agent;
  // Requests in all (one per sample; once a server refuses HEAD, the first
  // sample costs two and the rest go straight to the ranged GET).
  size_t max_requests = kDefaultEstimateSamples;
  double mb_per_second = kDefaultEstimateMbPerSecond;  // MB = 10^6 bytes of the .csv.gz, per machine
  net::RetryPolicy retry;
  const std::atomic<bool>* cancel = nullptr;
};

// Which items to sample: at most `budget` indices into `items`, sorted,
// unique. Strata are (exchange, data type); each stratum gets one sample
// while the budget allows (larger strata first), the rest in proportion to
// the strata's item counts (largest remainder). Within a stratum the samples
// are spread over its days (evenly) and, within a day, over its symbols (a
// golden-ratio sequence), so a plan of a few symbols over many days samples
// every symbol, not one position of each day. Deterministic: the same plan
// always samples the same items.
std::vector<size_t> ChooseSamples(const std::vector<WorkItem>& items, size_t budget);

struct StratumEstimate {
  std::string exchange, data_type;
  size_t items = 0;
  size_t sampled = 0;         // sizes known (404s count, as 0 bytes)
  uint64_t sampled_bytes = 0;
  double bytes = 0;           // expected download bytes of the stratum
  // One standard error of `bytes` (finite-population corrected); nullopt
  // with fewer than two samples.
  std::optional<double> standard_error;
  // No sample of its own: `bytes` is the stratum's item count times the mean
  // item of the same data type elsewhere, else of every sample.
  bool borrowed = false;
};

struct PlanEstimate {
  size_t items = 0;
  size_t objects = 0;          // tick objects of single-instrument items, plus derived objects
  size_t grouped_items = 0;    // grouped files: one object per instrument inside, not counted above
  size_t derived_items = 0;
  size_t requests = 0;         // HTTP requests made
  size_t samples = 0;          // sizes known
  size_t not_available = 0;    // samples the server answered 404 (no file: 0 bytes)
  size_t failed = 0;           // samples with no size (errors below)
  std::vector<std::string> errors;  // one line per distinct failure, at most a few
  double bytes = 0;
  std::optional<double> standard_error;  // over strata with 2+ samples
  bool any_borrowed = false;
  double mb_per_second = kDefaultEstimateMbPerSecond;
  double machine_hours = 0;
  std::vector<StratumEstimate> strata;  // sorted by exchange, data type

  // Human-readable, one block (stderr for download --dry-run, stdout for plan).
  void WriteText(std::FILE* out) const;
  // One JSON object (no newline): plan --json --estimate puts it under "estimate".
  std::string Json() const;
};

// Sizes of sampled items: index into `items` -> compressed bytes (0 for a
// 404); items not present were not sampled or failed.
struct SampledSize {
  size_t index;
  uint64_t bytes;
};

// The estimate from sampled sizes (pure). Strata with samples: mean x items,
// standard error N * s / sqrt(n) * sqrt(1 - n / N). Strata without: see
// StratumEstimate::borrowed. Machine-hours = bytes / (mb_per_second * 10^6) / 3600.
PlanEstimate Extrapolate(const std::vector<WorkItem>& items, const std::vector<SampledSize>& sizes,
                         size_t derived_items, double mb_per_second);

// Samples (ChooseSamples) and extrapolates. An error only when no sample
// gave a size (then the first failure, e.g. 401 for a key that does not cover
// the days, or the connection refused) or when cancelled; partial failures
// are listed in the estimate. A server that does not answer at all stops the
// sampling (every further sample would wait out the same retries).
Result<PlanEstimate> EstimatePlan(const std::vector<WorkItem>& items, size_t derived_items,
                                  const EstimateOptions& options, net::HttpClient* http);

// What the requests to one server have learnt so far (carried between
// DatasetSize calls).
struct SizeProbe {
  size_t requests = 0;        // sent
  bool head_refused = false;  // the server answered 405/501 to HEAD: GET at once
  bool unreachable = false;   // the last call got no HTTP answer at all, even after retries
};

// One dataset's size: HEAD's Content-Length; a 405 or 501 to HEAD is asked
// again as GET with Range: bytes=0-0 (the total of Content-Range, or the
// Content-Length of a 200 that ignored the range, its body not read). 404:
// 0 bytes with *not_available set.
Result<uint64_t> DatasetSize(net::HttpClient* http, const std::string& url, const EstimateOptions& options,
                             bool* not_available, SizeProbe* probe);

}  // namespace mt::pipeline
