#include <curl/curl.h>

#include <cctype>
#include <chrono>
#include <mutex>

#include "net/http_client.h"

namespace mt::net {

namespace {

std::once_flag g_curl_init;

class CurlClient final : public HttpClient {
 public:
  CurlClient() {
    std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    easy_ = curl_easy_init();
  }
  ~CurlClient() override { curl_easy_cleanup(easy_); }

  HttpResult Fetch(const HttpRequest& req, HttpBodySink* sink) override {
    State st;
    st.req = &req;
    st.sink = sink;
    CURL* e = easy_;
    curl_easy_reset(e);  // keeps the connection cache
    curl_easy_setopt(e, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    // A custom Authorization header is not sent to another host after a
    // redirect (curl's default without CURLOPT_UNRESTRICTED_AUTH).
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, static_cast<long>(req.connect_timeout_s));
    if (req.total_timeout_s > 0) curl_easy_setopt(e, CURLOPT_TIMEOUT, static_cast<long>(req.total_timeout_s));
    // Stalls are detected in ProgressCb from the time of the last byte: curl's
    // LOW_SPEED_* averages over seconds and notices a stall after a burst late.
    st.last_byte = Clock::now();
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
    // Bodies are stored as they come (gzip files); never let curl decode them.
    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &HeaderCb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &st);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &WriteCb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &ProgressCb);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, &st);
    curl_slist* hdrs = nullptr;
    for (const auto& [k, v] : req.headers) hdrs = curl_slist_append(hdrs, (k + ": " + v).c_str());
    if (req.method == "GET") {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (req.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      hdrs = curl_slist_append(hdrs, "Expect:");
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    const CURLcode rc = curl_easy_perform(e);
    curl_slist_free_all(hdrs);

    HttpResult r;
    r.head = st.head;
    r.body_bytes = st.body_bytes;
    r.sink_error = st.sink_error;
    if (rc != CURLE_OK && st.sink_error.ok()) {
      long code = 0;
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
      if (r.head.status == 0) r.head.status = static_cast<int>(code);
      std::string what = curl_easy_strerror(rc);
      if (rc == CURLE_OPERATION_TIMEDOUT) what = "timed out";
      if (st.stalled) what = "no data for " + std::to_string(req.stall_timeout_s) + " s (stalled transfer)";
      if (req.cancel && req.cancel->load()) {
        r.transport = Status::Cancelled("cancelled");
      } else {
        r.transport = Status::Unavailable(what + " (" + StripQuery(req.url) + ", after " +
                                          std::to_string(st.body_bytes) + " body bytes)");
      }
    }
    if (rc == CURLE_OK && !st.head_sent && st.sink_error.ok()) {
      // No body at all: deliver the head now.
      long code = 0;
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
      st.head.status = static_cast<int>(code);
      r.head = st.head;
      r.sink_error = sink ? sink->OnHead(st.head) : Status::OK();
    }
    return r;
  }

 private:
  using Clock = std::chrono::steady_clock;
  struct State {
    Clock::time_point last_byte;
    curl_off_t last_dl = 0, last_ul = 0;
    bool stalled = false;
    const HttpRequest* req = nullptr;
    HttpBodySink* sink = nullptr;
    HttpResponseHead head;
    bool head_sent = false;
    uint64_t body_bytes = 0;
    Status sink_error;
  };

  static std::string StripQuery(const std::string& url) { return url.substr(0, url.find('?')); }

  static size_t HeaderCb(char* buf, size_t size, size_t n, void* ud) {
    auto* st = static_cast<State*>(ud);
    const std::string line(buf, size * n);
    if (line.rfind("HTTP/", 0) == 0) {
      // A new response (after a redirect or 100-continue): start over.
      st->head = HttpResponseHead();
      const size_t sp = line.find(' ');
      if (sp != std::string::npos) st->head.status = std::atoi(line.c_str() + sp + 1);
      return size * n;
    }
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
      // A repeated header is one comma-separated list (RFC 9110 §5.3): GCS
      // sends x-goog-hash twice, crc32c and md5.
      std::string& slot = st->head.headers[name];
      slot = slot.empty() ? value : slot + ", " + value;
    }
    return size * n;
  }

  static size_t WriteCb(char* data, size_t size, size_t n, void* ud) {
    auto* st = static_cast<State*>(ud);
    const size_t len = size * n;
    st->last_byte = Clock::now();
    if (!st->head_sent) {
      st->head_sent = true;
      if (st->sink) {
        st->sink_error = st->sink->OnHead(st->head);
        if (!st->sink_error.ok()) return 0;
      }
    }
    st->body_bytes += len;
    if (st->sink) {
      st->sink_error = st->sink->OnBody(data, len);
      if (!st->sink_error.ok()) return 0;
    }
    return len;
  }

  static int ProgressCb(void* ud, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
    auto* st = static_cast<State*>(ud);
    if (st->req->cancel && st->req->cancel->load()) return 1;
    if (dlnow != st->last_dl || ulnow != st->last_ul) {  // bytes moved either way
      st->last_dl = dlnow;
      st->last_ul = ulnow;
      st->last_byte = Clock::now();
    }
    if (st->req->stall_timeout_s > 0 &&
        Clock::now() - st->last_byte > std::chrono::seconds(st->req->stall_timeout_s)) {
      st->stalled = true;
      return 1;
    }
    return 0;
  }

  CURL* easy_;
};

}  // namespace

std::unique_ptr<HttpClient> NewCurlClient() { return std::make_unique<CurlClient>(); }

std::string UrlEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

double RetryAfterSeconds(const std::string& v) {
  if (v.empty()) return -1;
  char* end = nullptr;
  const double s = std::strtod(v.c_str(), &end);
  return end && *end == '\0' && s >= 0 ? s : -1;
}

std::string Redact(std::string text, const std::string& secret) {
  if (secret.size() >= 4) {
    for (size_t p; (p = text.find(secret)) != std::string::npos;) text.replace(p, secret.size(), "[REDACTED]");
  }
  for (const std::string marker : {"Bearer ", "access_token\":\"", "access_token="}) {
    size_t p = 0;
    while ((p = text.find(marker, p)) != std::string::npos) {
      p += marker.size();
      size_t e = p;
      while (e < text.size() && text[e] != '"' && text[e] != '&' && text[e] != ' ' && text[e] != '\n' && text[e] != ',') e++;
      text.replace(p, e - p, "[REDACTED]");
      p += 10;
    }
  }
  return text;
}

}  // namespace mt::net
