// Tardis metadata for one run: GET /v1/exchanges/{exchange} and, when an API
// key is set, GET /v1/instruments/{exchange}, each fetched at most once per
// exchange per run and kept (docs/INSTRUMENTS.md, Requests). Requests are retried like
// dataset downloads (net/retry.h): 408, 429 and 5xx (Retry-After honoured)
// and transport errors back off with jitter; 401/403 and other 4xx are final.
// Thread-safety: different exchanges may be fetched from different threads
// at once; one exchange is fetched by one thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "net/http_client.h"
#include "net/retry.h"
#include "tardis/metadata.h"

namespace mt::pipeline {

struct MetadataOptions {
  std::string api_url = "https://api.tardis.dev";  // TARDIS_API_URL
  std::string api_key;                             // never logged; "" = no key
  net::RetryPolicy retry;
  std::string user_agent = "market-tick";
  std::function<std::unique_ptr<net::HttpClient>()> http_factory;  // default: curl
  net::RetryClock* clock = nullptr;  // the retry waits' clock; null: the system's
  const std::atomic<bool>* cancel = ProcessCancelFlag();
};

// Everything the metadata of one exchange gave.
struct ExchangeMetadata {
  tardis::ExchangeDetails details;  // its symbols empty after ReleaseSymbols
  size_t dataset_symbols = 0;       // the symbols /v1/exchanges listed
  bool have_instruments = false;  // /v1/instruments was fetched and parsed
  tardis::PackedInstruments instruments;             // empty after ReleaseInstruments
  size_t instrument_records = 0;                     // the records /v1/instruments gave
  std::string instruments_note;   // why there are none, for the run summary
  std::vector<std::string> urls;  // what was requested (no secrets in URLs)
  uint64_t source_bytes = 0;      // body bytes of the responses used
};

class MetadataSource {
 public:
  explicit MetadataSource(MetadataOptions opts);

  // The metadata of `exchange`, fetched on first use and cached. Errors:
  // kPermission (401/403; the message says what the free tier gives),
  // kNotFound (404: unknown exchange), kUnavailable (retries used up),
  // kInvalidInput (a response that does not parse), kCancelled.
  // A key that /v1/instruments refuses (401/403: the plan lacks the
  // instruments API) is not an error: have_instruments stays false and
  // instruments_note says why.
  Result<const ExchangeMetadata*> Get(const std::string& exchange);

  // Frees the cached /v1/instruments records of `exchange` (its count,
  // instrument_records, stays) once a caller has taken what it needs: for a
  // venue of many options they are tens of MB held for nothing. Not while
  // another thread may read them.
  void ReleaseInstruments(const std::string& exchange);
  // The same for the listing's dataset symbols (details.symbols; its count,
  // dataset_symbols, stays), which a catalog holds what it needs of.
  void ReleaseSymbols(const std::string& exchange);

  // HTTP requests sent so far, retries included.
  int requests() const { return requests_; }

 private:
  struct Response {
    int status = 0;
    std::string body;                        // a non-2xx answer's (its start, for the message)
    std::unique_ptr<tardis::JsonBody> json;  // a 2xx answer's, spooled when large
    std::string note;                        // why a large body stayed in memory
  };
  // Reads a 200 answer's JSON (into the caller's variables): OK, or its
  // error (a data error naming the URL: the document that was sent is not
  // the one expected).
  using ReadJson = std::function<Status(const tardis::JsonBody& json)>;
  // GET with retries; a final non-2xx answer is returned, not an error. A
  // 200 answer is given to `read`: a body that fails it and ends early (a
  // JSON document cut short, JsonEndsEarly) is a cut transfer, fetched again
  // as any transient fault is; when the retries run out that is retryable
  // (Unavailable), never a data error.
  Result<Response> Fetch(const std::string& url, bool with_key, net::HttpClient* http, const ReadJson& read);
  Result<ExchangeMetadata> Load(const std::string& exchange);

  MetadataOptions opts_;
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<ExchangeMetadata>> cache_;
};

// The message for a refused request: what the key covers and what the free
// tier gives without one. `url` must carry no secret.
std::string PermissionMessage(int status, const std::string& url, bool have_key);

}  // namespace mt::pipeline
