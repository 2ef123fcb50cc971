#include <curl/curl.h>
#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iomanip>
#include <locale>
#include <sstream>

#include "net/http_client.h"

#include "core/redact.h"

namespace mt::net {

namespace {

// libcurl is loaded when the first client is made, not linked: it brings
// ~30 libraries (TLS, Kerberos, LDAP, IDN, ...) whose loading and start-up
// code took ~12 ms of every process, half of `market-tick --version`, and
// convert and validate of local files never use it.
struct CurlApi {
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_reset) easy_reset = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;
  std::string error;  // why libcurl is not usable; empty when it is
};

template <typename Fn>
bool Resolve(void* lib, const char* name, Fn* fn, std::string* error) {
  *fn = reinterpret_cast<Fn>(dlsym(lib, name));
  if (!*fn && error->empty()) *error = std::string("libcurl has no ") + name;
  return *fn != nullptr;
}

const CurlApi& Curl() {
  static const CurlApi api = [] {
    CurlApi a;
    void* lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = dlerror();
      const std::string reason = why ? why : "unknown error";
      a.error = "cannot load libcurl.so.4 (" + reason + ")";
      // Out of memory (an address-space limit) is not a missing package:
      // `reason` names the library that could not be mapped.
      if (reason.find("Cannot allocate memory") != std::string::npos ||
          reason.find("failed to map segment") != std::string::npos) {
        a.error += "; there was no memory to load it: check the address-space limit (ulimit -v) and free memory";
      } else {
        a.error += "; install the libcurl4 package (scripts/install-deps.sh does)";
      }
      return a;
    }
    Resolve(lib, "curl_global_init", &a.global_init, &a.error);
    Resolve(lib, "curl_easy_init", &a.easy_init, &a.error);
    Resolve(lib, "curl_easy_cleanup", &a.easy_cleanup, &a.error);
    Resolve(lib, "curl_easy_reset", &a.easy_reset, &a.error);
    Resolve(lib, "curl_easy_setopt", &a.easy_setopt, &a.error);
    Resolve(lib, "curl_easy_perform", &a.easy_perform, &a.error);
    Resolve(lib, "curl_easy_getinfo", &a.easy_getinfo, &a.error);
    Resolve(lib, "curl_easy_strerror", &a.easy_strerror, &a.error);
    Resolve(lib, "curl_slist_append", &a.slist_append, &a.error);
    Resolve(lib, "curl_slist_free_all", &a.slist_free_all, &a.error);
    if (a.error.empty() && a.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      a.error = "libcurl failed to initialise (curl_global_init)";
    }
    return a;
  }();
  return api;
}

class CurlClient final : public HttpClient {
 public:
  CurlClient() : api_(Curl()) {
    if (api_.error.empty()) easy_ = api_.easy_init();
  }
  ~CurlClient() override {
    if (easy_) api_.easy_cleanup(easy_);
  }

  HttpResult Fetch(const HttpRequest& req, HttpBodySink* sink) override {
    if (!easy_) {
      HttpResult r;
      r.transport = Status::Internal(api_.error.empty() ? "curl_easy_init failed" : api_.error);
      return r;
    }
    const CurlApi& api = api_;
    State st;
    st.req = &req;
    st.sink = sink;
    CURL* e = easy_;
    api.easy_reset(e);  // keeps the connection cache
    api.easy_setopt(e, CURLOPT_URL, req.url.c_str());
    api.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    api.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    api.easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    // A custom Authorization header is not sent to another host after a
    // redirect (curl's default without CURLOPT_UNRESTRICTED_AUTH).
    api.easy_setopt(e, CURLOPT_CONNECTTIMEOUT, static_cast<long>(req.connect_timeout_s));
    if (req.total_timeout_s > 0) api.easy_setopt(e, CURLOPT_TIMEOUT, static_cast<long>(req.total_timeout_s));
    // Stalls are detected in ProgressCb from the time of the last byte: curl's
    // LOW_SPEED_* averages over seconds and notices a stall after a burst late.
    st.last_byte = st.window_start = Clock::now();
    api.easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    api.easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
    // Bodies are stored as they come (gzip files); never let curl decode them.
    api.easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    api.easy_setopt(e, CURLOPT_HEADERFUNCTION, &HeaderCb);
    api.easy_setopt(e, CURLOPT_HEADERDATA, &st);
    api.easy_setopt(e, CURLOPT_WRITEFUNCTION, &WriteCb);
    api.easy_setopt(e, CURLOPT_WRITEDATA, &st);
    api.easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    api.easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &ProgressCb);
    api.easy_setopt(e, CURLOPT_XFERINFODATA, &st);
    curl_slist* hdrs = nullptr;
    for (const auto& [k, v] : req.headers) hdrs = api.slist_append(hdrs, (k + ": " + v).c_str());
    if (req.method == "GET") {
      api.easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (req.method == "HEAD") {
      api.easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
      // The body through a read callback that cannot rewind: when a reused
      // connection dies before any byte of the answer, libcurl sends the
      // request again on a new one without telling us, which for a request
      // that went through and lost its answer (a create-only upload) turns
      // our own success into the server's 412 with nothing to tell it from
      // another writer's. Unable to rewind a body it has sent, libcurl fails
      // the transfer instead, and the caller's retry policy, which knows
      // what a repeat means, decides. A rewind after an answer (a redirect
      // that keeps the method) is allowed: SeekCb.
      api.easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      api.easy_setopt(e, CURLOPT_POST, 1L);
      api.easy_setopt(e, CURLOPT_READFUNCTION, &ReadCb);
      api.easy_setopt(e, CURLOPT_READDATA, &st);
      api.easy_setopt(e, CURLOPT_SEEKFUNCTION, &SeekCb);
      api.easy_setopt(e, CURLOPT_SEEKDATA, &st);
      api.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      hdrs = api.slist_append(hdrs, "Expect:");
    }
    api.easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    const CURLcode rc = api.easy_perform(e);
    api.slist_free_all(hdrs);

    HttpResult r;
    r.head = st.head;
    r.body_bytes = st.body_bytes;
    r.sink_error = st.sink_error;
    if (rc != CURLE_OK && st.sink_error.ok()) {
      long code = 0;
      api.easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
      if (r.head.status == 0) r.head.status = static_cast<int>(code);
      std::string what = api.easy_strerror(rc);
      if (rc == CURLE_OPERATION_TIMEDOUT) {
        what = req.total_timeout_s > 0 && st.head.status != 0
                   ? "stopped by the time bound of " + std::to_string(req.total_timeout_s) + " s for the whole transfer"
                   : "timed out";
      }
      if (st.stalled) what = "no data for " + std::to_string(req.stall_timeout_s) + " s (stalled transfer)";
      if (st.too_slow) {
        what = "slower than " + std::to_string(req.min_speed_bytes_per_s) + " bytes/s on average over " +
               std::to_string(req.min_speed_window_s) + " s (" + std::to_string(st.too_slow_bytes) +
               " bytes in the last window: stalled transfer)";
      }
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
      api.easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
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
    // Minimum average speed: bytes moved (both ways) when the current window began.
    Clock::time_point window_start;
    uint64_t window_bytes = 0;
    bool too_slow = false;
    uint64_t too_slow_bytes = 0;
    const HttpRequest* req = nullptr;
    HttpBodySink* sink = nullptr;
    HttpResponseHead head;
    bool head_sent = false;
    uint64_t body_bytes = 0;
    Status sink_error;
    size_t body_sent = 0;  // bytes of req->body handed to libcurl (ReadCb)
    // Final answers (status 200 and up) received, and how many there were
    // at the body's last rewind (SeekCb).
    int answers = 0;
    int answers_at_rewind = 0;
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
      if (st->head.status >= 200) st->answers++;
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

  static size_t ReadCb(char* buf, size_t size, size_t n, void* ud) {
    auto* st = static_cast<State*>(ud);
    const std::string& body = st->req->body;
    const size_t len = std::min(size * n, body.size() - st->body_sent);
    std::memcpy(buf, body.data() + st->body_sent, len);
    st->body_sent += len;
    return len;
  }

  // libcurl rewinds the body to send it again. After an answer that asks
  // for it (a 307/308 redirect: the same request to another location) it
  // may, once per answer. Before any answer it may not: that is libcurl
  // re-sending on a new connection a request whose reused connection died,
  // which may have gone through (see Fetch); the transfer then fails and the
  // caller's retry policy decides.
  static int SeekCb(void* ud, curl_off_t offset, int origin) {
    auto* st = static_cast<State*>(ud);
    if (origin != SEEK_SET || offset != 0 || st->answers == st->answers_at_rewind) return CURL_SEEKFUNC_CANTSEEK;
    st->answers_at_rewind = st->answers;
    st->body_sent = 0;
    return CURL_SEEKFUNC_OK;
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
    const auto now = Clock::now();
    if (dlnow != st->last_dl || ulnow != st->last_ul) {  // bytes moved either way
      st->last_dl = dlnow;
      st->last_ul = ulnow;
      st->last_byte = now;
    }
    if (st->req->stall_timeout_s > 0 && now - st->last_byte > std::chrono::seconds(st->req->stall_timeout_s)) {
      st->stalled = true;
      return 1;
    }
    // Windows follow each other (not sliding): a drip is stopped within two
    // windows, and a transfer pays one subtraction per callback. Our own
    // check rather than CURLOPT_LOW_SPEED_*, whose abort reads as any other
    // timeout and would not name the bound.
    const int window_s = st->req->min_speed_window_s;
    if (st->req->min_speed_bytes_per_s > 0 && window_s > 0 && now - st->window_start >= std::chrono::seconds(window_s)) {
      const uint64_t moved_total = static_cast<uint64_t>(dlnow) + static_cast<uint64_t>(ulnow);
      const uint64_t moved = moved_total - st->window_bytes;
      if (moved < st->req->min_speed_bytes_per_s * static_cast<uint64_t>(window_s)) {
        st->too_slow = true;
        st->too_slow_bytes = moved;
        return 1;
      }
      st->window_start = now;
      st->window_bytes = moved_total;
    }
    return 0;
  }

  const CurlApi& api_;
  CURL* easy_ = nullptr;
};

}  // namespace

std::unique_ptr<HttpClient> NewCurlClient() { return std::make_unique<CurlClient>(); }

Status LoadHttpLibrary() {
  const CurlApi& api = Curl();
  return api.error.empty() ? Status::OK() : Status::Internal(api.error);
}

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

double RetryAfterSeconds(const std::string& v, int64_t now_unix_s) {
  if (v.empty()) return -1;
  char* end = nullptr;
  const double s = std::strtod(v.c_str(), &end);
  if (end != v.c_str() && *end == '\0') return s >= 0 ? s : -1;
  // An HTTP date in its preferred form (IMF-fixdate, RFC 9110):
  // "Sun, 06 Nov 1994 08:49:37 GMT", parsed in the C locale.
  std::tm tm{};
  std::istringstream in(v);
  in.imbue(std::locale::classic());
  in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S");
  std::string zone;
  if (in.fail() || !(in >> zone) || zone != "GMT" || !(in >> std::ws).eof()) return -1;
  const time_t at = timegm(&tm);
  if (at == static_cast<time_t>(-1)) return -1;
  return std::max<double>(0, static_cast<double>(static_cast<int64_t>(at) - now_unix_s));
}

double RetryAfterSeconds(const std::string& v) { return RetryAfterSeconds(v, static_cast<int64_t>(std::time(nullptr))); }

std::string Redact(std::string text, const std::string& secret) {
  if (secret.size() >= 4) {
    for (size_t p; (p = text.find(secret)) != std::string::npos;) text.replace(p, secret.size(), "[REDACTED]");
  }
  return RedactSecrets(text);
}

}  // namespace mt::net
