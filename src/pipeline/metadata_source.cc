#include "pipeline/metadata_source.h"

#include <algorithm>
#include <cstdlib>

#include "core/bounded_json.h"
#include "core/log.h"
#include "core/utf8.h"
#include "pipeline/plan.h"

namespace mt::pipeline {

namespace {

// Metadata bodies are JSON documents held whole; a body this large is not one.
constexpr size_t kMaxBody = size_t{1} << 30;

class StringSink : public net::HttpBodySink {
 public:
  int status = 0;
  std::string body;
  Status OnHead(const net::HttpResponseHead& h) override {
    status = h.status;
    body.clear();
    // A body of a stated length is held in room of that size: grown by
    // doubling it would take up to twice its size, and a venue's
    // /v1/instruments is its largest response. (A compressed body states
    // its compressed length: it grows as it comes.)
    const std::string encoding = h.Header("content-encoding");
    if (status >= 200 && status < 300 && (encoding.empty() || encoding == "identity")) {
      const std::string length = h.Header("content-length");
      char* end = nullptr;
      const unsigned long long n = length.empty() ? 0 : std::strtoull(length.c_str(), &end, 10);
      if (n > 0 && end && *end == '\0' && n <= kMaxBody) body.reserve(static_cast<size_t>(n));
    }
    return Status::OK();
  }
  Status OnBody(const char* d, size_t n) override {
    const bool ok_status = status >= 200 && status < 300;
    if (!ok_status) {  // an error body is only kept for the message
      if (body.size() < 2048) body.append(d, std::min(n, 2048 - body.size()));
      return Status::OK();
    }
    if (body.size() + n > kMaxBody) return Status::InvalidInput("metadata response larger than 1 GiB");
    body.append(d, n);
    return Status::OK();
  }
};

std::string Excerpt(const std::string& body) { return EscapeOutsideText(body); }

}  // namespace

std::string PermissionMessage(int status, const std::string& url, bool have_key) {
  const std::string head = "HTTP " + std::to_string(status) + " for " + url + ": ";
  if (!have_key) {
    return head +
           "Tardis refused a request made without an API key. Without a key Tardis gives the exchange "
           "listings (/v1/exchanges) and the first day of each month of every dataset; instrument "
           "metadata (/v1/instruments: tick size, contract multiplier, minimum size, exact expiry) and "
           "all other days need a key. Set TARDIS_API_KEY (or TARDIS_API_KEY_FILE).";
  }
  return head +
         "Tardis refused the API key: it is wrong, expired, or its plan does not cover this request "
         "(instrument metadata needs an active pro or business subscription). Check TARDIS_API_KEY / "
         "TARDIS_API_KEY_FILE.";
}

MetadataSource::MetadataSource(MetadataOptions opts) : opts_(std::move(opts)) {
  if (!opts_.http_factory) opts_.http_factory = [] { return net::NewCurlClient(); };
  while (!opts_.api_url.empty() && opts_.api_url.back() == '/') opts_.api_url.pop_back();
}

Result<MetadataSource::Response> MetadataSource::Fetch(const std::string& url, bool with_key,
                                                       net::HttpClient* http) {
  net::Retrier retrier(opts_.retry, opts_.clock, StopFlags{opts_.cancel}, net::RetrySeed(url));
  std::string last_error;
  auto gave_up = [&] {
    return Status::Unavailable("GET " + url + ": gave up after " + std::to_string(retrier.attempts()) +
                               " requests; last error: " + last_error);
  };
  while (true) {
    if (opts_.cancel && opts_.cancel->load()) return Status::Cancelled("interrupted");
    if (!retrier.MayAttempt()) return gave_up();
    net::HttpRequest req = opts_.retry.Request(url, retrier.attempts(), opts_.cancel);
    // A body that never ends is cut by the size limit of the sink (1 GiB) or
    // by this time bound, the whole retry budget, whichever comes first;
    // clamped to a day so a huge RETRY_MAX_TOTAL_SECONDS (or inf) converts
    // to int without overflow.
    req.total_timeout_s = static_cast<int>(std::clamp(opts_.retry.max_total_s, 60.0, 86400.0));
    req.headers.emplace_back("User-Agent", opts_.user_agent);
    req.headers.emplace_back("Accept", "application/json");
    if (with_key && !opts_.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + opts_.api_key);
    StringSink sink;
    net::HttpResult r = http->Fetch(req, &sink);
    retrier.Attempted();
    requests_++;
    const int status = sink.status ? sink.status : r.head.status;
    if (r.transport.code() == Status::Code::kCancelled) return Status::Cancelled("interrupted");
    if (!r.sink_error.ok()) return r.sink_error.WithContext("GET " + url);
    if (status >= 200 && status < 300 && r.transport.ok()) return Response{status, std::move(sink.body)};
    if (!net::IsTransientTransport(r.transport) && !net::IsTransientHttpStatus(status)) {
      return Response{status, std::move(sink.body)};  // final: the caller explains it
    }
    last_error = status && r.transport.ok() ? "HTTP " + std::to_string(status)
                                            : net::Redact(r.transport.message(), opts_.api_key);
    const auto next = retrier.Backoff(net::RetryAfter(r.head), [&](double delay) {
      log::Debug("GET " + url + ": " + last_error + "; retrying in " + std::to_string(delay) + " s");
    });
    if (next == net::Retrier::Next::kGiveUp) return gave_up();
    if (next == net::Retrier::Next::kCancelled) return Status::Cancelled("interrupted");
  }
}

Result<ExchangeMetadata> MetadataSource::Load(const std::string& exchange) {
  auto http = opts_.http_factory();
  ExchangeMetadata m;
  const std::string enc = net::UrlEncode(exchange);
  const std::string details_url = opts_.api_url + "/v1/exchanges/" + enc;
  m.urls.push_back(details_url);
  MT_ASSIGN_OR_RETURN(Response d, Fetch(details_url, /*with_key=*/true, http.get()));
  if (d.status == 401 || d.status == 403) {
    return Status::Permission(PermissionMessage(d.status, details_url, !opts_.api_key.empty()));
  }
  if (d.status == 404) {
    // An id this build knows: the server at TARDIS_API_URL is not the one
    // that lists it (a wrong URL, a proxy), which no spelling fixes.
    if (IsKnownExchange(exchange)) {
      return Status::Usage("HTTP 404 for " + details_url + ", yet '" + exchange +
                           "' is a Tardis exchange id: check TARDIS_API_URL (the server answered: " + Excerpt(d.body) +
                           ")");
    }
    // A typo: a usage error a rerun cannot fix, worded as every command
    // words it (pipeline::CheckExchanges), with the server's answer.
    const std::string best = SuggestExchange(exchange);
    return Status::Usage("unknown exchange '" + exchange + "'" + (best.empty() ? "" : " (did you mean " + best + "?)") +
                         ": HTTP 404 for " + details_url + ": Tardis does not know exchange '" + exchange +
                         "' (ids are lower-case kebab, e.g. binance-futures, okex-swap; see /v1/exchanges)");
  }
  if (d.status != 200) {
    return Status::InvalidInput("HTTP " + std::to_string(d.status) + " for " + details_url + ": " + Excerpt(d.body));
  }
  m.source_bytes += d.body.size();
  MT_RETURN_IF_ERROR(CheckJsonBounds(d.body, "GET " + details_url, kTardisMetadataJsonLimits));
  MT_ASSIGN_OR_RETURN(m.details, tardis::ParseExchangeDetails(d.body, exchange));
  m.dataset_symbols = m.details.symbols.size();
  d.body.clear();
  d.body.shrink_to_fit();

  if (opts_.api_key.empty()) {
    m.instruments_note = "no API key: /v1/instruments not requested";
    return m;
  }
  const std::string inst_url = opts_.api_url + "/v1/instruments/" + enc;
  m.urls.push_back(inst_url);
  MT_ASSIGN_OR_RETURN(Response i, Fetch(inst_url, /*with_key=*/true, http.get()));
  if (i.status == 401 || i.status == 403) {
    m.instruments_note = PermissionMessage(i.status, inst_url, true);
    log::Warn(m.instruments_note + " Continuing with the exchange listing only: keys come from symbols, "
              "and tick size, contract size and minimum size stay empty.");
    return m;
  }
  if (i.status == 404) {
    m.instruments_note = "HTTP 404 for " + inst_url + ": no instrument metadata for this exchange";
    log::Warn(m.instruments_note);
    return m;
  }
  if (i.status != 200) {
    return Status::InvalidInput("HTTP " + std::to_string(i.status) + " for " + inst_url + ": " + Excerpt(i.body));
  }
  m.source_bytes += i.body.size();
  MT_RETURN_IF_ERROR(CheckJsonBounds(i.body, "GET " + inst_url, kTardisMetadataJsonLimits));
  MT_ASSIGN_OR_RETURN(m.instruments, tardis::ParseInstrumentsPacked(i.body));
  m.instrument_records = m.instruments.size();
  m.have_instruments = true;
  return m;
}

Result<const ExchangeMetadata*> MetadataSource::Get(const std::string& exchange) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = cache_.find(exchange);
    if (it != cache_.end()) return static_cast<const ExchangeMetadata*>(it->second.get());
  }
  MT_ASSIGN_OR_RETURN(ExchangeMetadata m, Load(exchange));
  std::lock_guard<std::mutex> l(mu_);
  auto& slot = cache_[exchange];
  if (!slot) slot = std::make_unique<ExchangeMetadata>(std::move(m));
  return static_cast<const ExchangeMetadata*>(slot.get());
}

void MetadataSource::ReleaseInstruments(const std::string& exchange) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = cache_.find(exchange);
  if (it == cache_.end()) return;
  it->second->instruments.Clear();
}

void MetadataSource::ReleaseSymbols(const std::string& exchange) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = cache_.find(exchange);
  if (it == cache_.end()) return;
  std::vector<tardis::DatasetSymbol>().swap(it->second->details.symbols);
}

}  // namespace mt::pipeline
