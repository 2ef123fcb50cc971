// libFuzzer target: arbitrary bytes as the JSON answers of the servers we
// talk to, through the code that reads them: Tardis /v1/exchanges/{id} and
// /v1/instruments, a GCS object resource, a GCS list page and a GCS error
// body (the last two through GcsStore over an HTTP client double that
// answers every request with the input), and the bounded parse itself. Any
// input must give a value or a clean error, never a crash, a hang or
// undefined behaviour. The first byte picks the entry point.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/bounded_json.h"
#include "net/http_client.h"
#include "storage/gcs_store.h"
#include "tardis/metadata.h"

namespace {

struct NoToken : mt::net::TokenSource {
  mt::Result<std::string> AuthorizationHeader() override { return std::string(); }
  std::string Describe() const override { return "no token (fuzz)"; }
};

// Answers every request with one status and the fuzz input as its body
// (a test double: no server can be driven from a fuzz loop).
class CannedHttp final : public mt::net::HttpClient {
 public:
  CannedHttp(int status, std::string body) : status_(status), body_(std::move(body)) {}
  mt::net::HttpResult Fetch(const mt::net::HttpRequest&, mt::net::HttpBodySink* sink) override {
    mt::net::HttpResult r;
    r.head.status = status_;
    r.head.headers["content-type"] = "application/json";
    r.sink_error = sink->OnHead(r.head);
    if (r.sink_error.ok()) r.sink_error = sink->OnBody(body_.data(), body_.size());
    r.body_bytes = body_.size();
    return r;
  }

 private:
  int status_;
  std::string body_;
};

void ThroughGcsStore(int status, const std::string& body) {
  mt::storage::GcsOptions o;
  o.endpoint = "http://127.0.0.1:1";
  o.bucket = "fuzz";
  o.auth = std::make_shared<NoToken>();
  o.http_factory = [status, body] { return std::make_unique<CannedHttp>(status, body); };
  o.retry.max_attempts = 1;  // gives up at the first failure, without a wait
  mt::storage::GcsStore store(o);
  (void)store.ListObjects("p");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0] % 6;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (mode) {
    case 0: {
      auto d = mt::tardis::ParseExchangeDetails(text, "binance");
      if (d.ok() && d->id != "binance") __builtin_trap();
      break;
    }
    case 1: {
      auto r = mt::tardis::ParseInstruments(text);
      if (r.ok()) {
        for (const auto& i : *r) (void)i.TermsAt(0);
      }
      break;
    }
    case 2: (void)mt::storage::ParseGcsObject(text); break;
    case 3: ThroughGcsStore(200, text); break;
    case 4: ThroughGcsStore(403, text); break;
    default: {
      auto j = mt::ParseBoundedJson(text, "fuzz");
      // Bounded depth: printing (recursive per level) is safe.
      if (j.ok() && !j->is_discarded()) (void)j->dump();
      break;
    }
  }
  return 0;
}
