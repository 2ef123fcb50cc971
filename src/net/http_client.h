// HTTP behind one interface: the curl adapter for real sockets,
// test doubles where none can run. A client is used by one thread at a time
// and keeps its connections alive between requests.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace mt::net {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;                 // sent as is for POST/PUT
  int connect_timeout_s = 15;
  int stall_timeout_s = 60;         // abort when no byte arrives for this long
  // Abort when fewer than min_speed_bytes_per_s * min_speed_window_s bytes
  // move (either way) in a window of min_speed_window_s seconds; 0: no bound.
  uint64_t min_speed_bytes_per_s = 0;
  int min_speed_window_s = 0;
  int total_timeout_s = 0;          // 0 = none (large files take long; stalls are caught above)
  const std::atomic<bool>* cancel = nullptr;  // set to abort the transfer
};

struct HttpResponseHead {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class HttpBodySink {
 public:
  virtual ~HttpBodySink() = default;
  // Called once per final response (after redirects), before any body byte.
  virtual Status OnHead(const HttpResponseHead& head) = 0;
  // A non-OK status aborts the transfer; Fetch then returns it as `sink_error`.
  virtual Status OnBody(const char* data, size_t n) = 0;
};

struct HttpResult {
  HttpResponseHead head;     // status 0 when no response arrived
  Status transport;          // connection, timeout, reset, short body; OK when the body is complete
  Status sink_error;         // what the sink returned, if it aborted
  uint64_t body_bytes = 0;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual HttpResult Fetch(const HttpRequest& req, HttpBodySink* sink) = 0;
};

std::unique_ptr<HttpClient> NewCurlClient();
// Loads libcurl (done once, on first use): an error naming the library and
// the package to install when it cannot be loaded. A client made without it
// fails every Fetch with that error; commands that need the network check
// first, so they stop at once instead of retrying.
Status LoadHttpLibrary();

// Percent-encodes everything but unreserved characters (RFC 3986), as the
// official clients do for dataset symbols.
std::string UrlEncode(const std::string& s);

// Seconds from a Retry-After header value: delta-seconds, or an HTTP date
// (IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT") as seconds from
// `now_unix_s` (0 for a date past). -1 when absent or neither (callers fall
// back to their backoff). Without `now_unix_s`, from the system clock.
double RetryAfterSeconds(const std::string& value, int64_t now_unix_s);
double RetryAfterSeconds(const std::string& value);

// Removes `secret` and everything RedactSecrets (core/redact.h) removes from
// text that may reach a log.
std::string Redact(std::string text, const std::string& secret);

}  // namespace mt::net
