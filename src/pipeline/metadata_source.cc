#include "pipeline/metadata_source.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/atomic_file.h"
#include "core/bounded_json.h"
#include "core/log.h"
#include "core/open_files.h"
#include "core/utf8.h"
#include "pipeline/plan.h"

namespace mt::pipeline {

namespace {

// Metadata bodies are JSON documents of at most this size; a larger body is not one.
constexpr size_t kMaxBody = size_t{1} << 30;

// A 2xx body held in memory up to this size, then moved to a temporary file.
constexpr size_t kMemoryBody = size_t{1} << 20;

// The body of an answer: a 2xx body of more than kMemoryBody bytes goes to
// an unnamed temporary file ($TMPDIR, gone with its descriptor on every
// path), as it comes; an error body keeps its first 2 KiB for the message.
// When no temporary file can be created or written the body stays in
// memory, as it was held before, and `note` says why (for a warning).
class SpoolSink : public net::HttpBodySink {
 public:
  int status = 0;
  std::string body;  // an error body, or a 2xx body not in the file
  std::string note;

  ~SpoolSink() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Status OnHead(const net::HttpResponseHead& h) override {
    status = h.status;
    body.clear();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    file_bytes_ = 0;
    length_ = 0;
    // A body of a stated length kept in memory is held in room of that
    // size: grown by doubling it would take up to twice its size. (A
    // compressed body states its compressed length: it grows as it comes.)
    const std::string encoding = h.Header("content-encoding");
    if (status >= 200 && status < 300 && (encoding.empty() || encoding == "identity")) {
      const std::string length = h.Header("content-length");
      char* end = nullptr;
      const unsigned long long n = length.empty() ? 0 : std::strtoull(length.c_str(), &end, 10);
      if (n > 0 && end && *end == '\0' && n <= kMaxBody) length_ = static_cast<size_t>(n);
      body.reserve(std::min(length_, kMemoryBody));
    }
    return Status::OK();
  }
  Status OnBody(const char* d, size_t n) override {
    const bool ok_status = status >= 200 && status < 300;
    if (!ok_status) {  // an error body is only kept for the message
      if (body.size() < 2048) body.append(d, std::min(n, 2048 - body.size()));
      return Status::OK();
    }
    if (file_bytes_ + body.size() + n > kMaxBody) return Status::InvalidInput("metadata response larger than 1 GiB");
    body.append(d, n);
    if (body.size() >= kMemoryBody && !memory_only_) Spool();
    return Status::OK();
  }
  // The whole 2xx body, once the answer is complete.
  std::unique_ptr<tardis::JsonBody> Take() {
    if (fd_ >= 0 && !memory_only_) Spool();
    if (fd_ < 0 || memory_only_) return std::make_unique<tardis::StringJsonBody>(std::move(body));
    auto out = std::make_unique<tardis::FileJsonBody>(fd_, file_bytes_);
    fd_ = -1;
    return out;
  }

 private:
  // Appends the bytes in memory to the file (created the first time).
  void Spool() {
    if (fd_ < 0) {
      std::string dir;
      fd_ = OpenUnnamedTempFile("", "metadata", &dir);
      if (fd_ < 0) {
        note = (IsOpenFileLimit(-fd_) ? OpenFileLimitError("cannot create a temporary file in " + dir, -fd_).message()
                                      : "cannot create a temporary file in " + dir + " (" + std::strerror(-fd_) +
                                            "; set TMPDIR to a writable directory with room)") +
               ": the response is held in memory";
        fd_ = -1;
        return Fallback();
      }
    }
    if (body.empty()) return;
    if (const int err = WriteAll(fd_, body)) {
      note = std::string("cannot write a temporary file (") + std::strerror(err) +
             "; set TMPDIR to a directory with room): the response is held in memory";
      return Fallback();
    }
    file_bytes_ += body.size();
    body.clear();
  }
  // The body from here on in memory: what the file holds read back before it.
  void Fallback() {
    memory_only_ = true;
    std::string head(static_cast<size_t>(file_bytes_), '\0');
    size_t done = 0;
    while (fd_ >= 0 && done < head.size()) {
      const ssize_t r = ::pread(fd_, head.data() + done, head.size() - done, static_cast<off_t>(done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      done += static_cast<size_t>(r);
    }
    head.resize(done);  // a file that cannot be read back: the body is short, and does not parse
    head.reserve(std::max(length_, head.size() + body.size()));
    head += body;
    body = std::move(head);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    file_bytes_ = 0;
  }

  int fd_ = -1;
  uint64_t file_bytes_ = 0;
  size_t length_ = 0;  // the stated length, 0 when none
  bool memory_only_ = false;
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

Result<MetadataSource::Response> MetadataSource::Fetch(const std::string& url, bool with_key, net::HttpClient* http,
                                                       const ReadJson& read) {
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
    SpoolSink sink;
    net::HttpResult r = http->Fetch(req, &sink);
    retrier.Attempted();
    requests_++;
    const int status = sink.status ? sink.status : r.head.status;
    if (r.transport.code() == Status::Code::kCancelled) return Status::Cancelled("interrupted");
    if (!r.sink_error.ok()) return r.sink_error.WithContext("GET " + url);
    auto response = [&] {
      Response out{status, std::string(), nullptr, sink.note};
      if (status >= 200 && status < 300) {
        out.json = sink.Take();
        // Another 2xx than 200 is not parsed: its body goes into the error
        // message whole, as it came.
        const auto read = out.json->Pieces();
        while (status != 200) {
          auto piece = read();
          if (!piece.ok() || piece->empty()) break;
          out.body += *piece;
        }
      } else {
        out.body = std::move(sink.body);
      }
      return out;
    };
    if (status >= 200 && status < 300 && r.transport.ok()) {
      Response out = response();
      if (status != 200) return out;
      const Status st = read(*out.json);
      if (st.ok()) return out;
      if (st.code() == Status::Code::kCancelled) return st;
      auto early = JsonEndsEarly(out.json->Pieces());
      if (!early.ok()) return early.status().WithContext("GET " + url);
      if (!*early) return st.message().find(url) == std::string::npos ? st.WithContext("GET " + url) : st;
      // The server said the body was whole and it is not: a transfer cut
      // where the answer claimed to end (a proxy, a broken connection
      // reported as the end), fetched again as any cut transfer is.
      last_error = "the JSON answer ends early, after " + std::to_string(out.json->size()) +
                   " bytes (a document cut short in transfer: " + st.message() + ")";
      if (!out.note.empty()) log::Warn("GET " + url + ": " + out.note);
    } else if (!net::IsTransientTransport(r.transport) && !net::IsTransientHttpStatus(status)) {
      return response();  // final: the caller explains it
    } else {
      last_error = status && r.transport.ok() ? "HTTP " + std::to_string(status)
                                              : net::Redact(r.transport.message(), opts_.api_key);
    }
    const double retry_after = net::RetryAfter(r.head);
    const auto next = retrier.Backoff(retry_after, [&](double delay) {
      log::Debug("GET " + url + ": " + last_error + "; retrying in " + std::to_string(delay) + " s");
    });
    if (next == net::Retrier::Next::kGiveUp) {
      const std::string refusal = net::RetryAfterRefusal(retrier, url, retry_after);
      if (refusal.empty()) return gave_up();
      return Status::Unavailable(refusal + "; gave up after " + std::to_string(retrier.attempts()) +
                                 " requests; last error: " + last_error);
    }
    if (next == net::Retrier::Next::kCancelled) return Status::Cancelled("interrupted");
  }
}

Result<ExchangeMetadata> MetadataSource::Load(const std::string& exchange) {
  auto http = opts_.http_factory();
  ExchangeMetadata m;
  const std::string enc = net::UrlEncode(exchange);
  const std::string details_url = opts_.api_url + "/v1/exchanges/" + enc;
  m.urls.push_back(details_url);
  const std::string details_what = "GET " + details_url;
  MT_ASSIGN_OR_RETURN(
      Response d, Fetch(details_url, /*with_key=*/true, http.get(), [&](const tardis::JsonBody& json) {
        MT_RETURN_IF_ERROR(CheckJsonBoundsPieces(json.Pieces(), details_what, kTardisMetadataJsonLimits));
        MT_ASSIGN_OR_RETURN(m.details, tardis::ParseExchangeDetails(json, exchange));
        return Status::OK();
      }));
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
  if (!d.note.empty()) log::Warn("GET " + details_url + ": " + d.note);
  m.source_bytes += d.json->size();
  m.dataset_symbols = m.details.symbols.size();
  d.json.reset();
  if (!m.details.symbols.note().empty()) {
    log::Warn("/v1/exchanges/" + exchange + ": the dataset symbols: " + m.details.symbols.note());
  }

  if (opts_.api_key.empty()) {
    m.instruments_note = "no API key: /v1/instruments not requested";
    return m;
  }
  const std::string inst_url = opts_.api_url + "/v1/instruments/" + enc;
  m.urls.push_back(inst_url);
  const std::string inst_what = "GET " + inst_url;
  MT_ASSIGN_OR_RETURN(Response i, Fetch(inst_url, /*with_key=*/true, http.get(), [&](const tardis::JsonBody& json) {
                        MT_RETURN_IF_ERROR(CheckJsonBoundsPieces(json.Pieces(), inst_what, kTardisMetadataJsonLimits));
                        MT_ASSIGN_OR_RETURN(m.instruments, tardis::ParseInstrumentsPacked(json));
                        return Status::OK();
                      }));
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
  if (!i.note.empty()) log::Warn("GET " + inst_url + ": " + i.note);
  m.source_bytes += i.json->size();
  i.json.reset();
  if (!m.instruments.note().empty()) log::Warn("/v1/instruments/" + exchange + ": the records: " + m.instruments.note());
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
  it->second->details.symbols.Clear();
}

}  // namespace mt::pipeline
