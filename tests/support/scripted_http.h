// A test double of the HttpClient interface for code that talks to Tardis
// (downloads, metadata): each URL (query stripped) answers from its own
// script of replies, in order, the last one repeating; a URL without a
// script answers 404. It delivers what it is told, also what libcurl would
// never hand over (a body longer than its Content-Length), so a client's own
// checks are what a test exercises. Real sockets: tests/js with
// tests/support/tardis_server.mjs.
#pragma once

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/http_client.h"

namespace mt::testing {

struct ScriptedReply {
  ScriptedReply(int st, std::string b, std::map<std::string, std::string> h = {}, Status t = Status::OK())
      : status(st), body(std::move(b)), headers(std::move(h)), transport(std::move(t)) {}
  int status;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-case, as HttpResponseHead has them
  // Not OK: the transfer failed. Without a body, no answer arrived at all
  // (status 0) unless head_only; with one, the body was cut after those bytes.
  Status transport;
  // With an empty body and a failed transport: the head arrived, then the
  // transfer was cut before any byte of the body.
  bool head_only = false;
  // The body handed to the sink in pieces of this many bytes (0: at once),
  // as a network cuts it; the pieces stop at the sink's first error.
  size_t chunk = 0;
};

// An answer cut after its head, before any byte of its body.
inline ScriptedReply CutAfterHead(int status, std::map<std::string, std::string> headers, Status transport) {
  ScriptedReply r(status, "", std::move(headers), std::move(transport));
  r.head_only = true;
  return r;
}

class ScriptedHttp {
 public:
  // Replies for `url` (no query); "" scripts every URL without its own script.
  void Script(const std::string& url, std::vector<ScriptedReply> replies) {
    std::lock_guard<std::mutex> l(mu_);
    scripts_[url] = std::deque<ScriptedReply>(replies.begin(), replies.end());
  }

  // A client that answers from this double (any number, on any threads).
  std::unique_ptr<net::HttpClient> Client() { return std::make_unique<Borrowed>(this); }

  std::vector<net::HttpRequest> seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }
  int requests() {
    std::lock_guard<std::mutex> l(mu_);
    return static_cast<int>(seen_.size());
  }
  // The value of header `name` in request `i` ("" when absent).
  std::string RequestHeader(size_t i, const std::string& name) {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [k, v] : seen_.at(i).headers) {
      if (k == name) return v;
    }
    return "";
  }

  net::HttpResult Fetch(const net::HttpRequest& req, net::HttpBodySink* sink) {
    ScriptedReply s = Next(req);
    net::HttpResult r;
    if (!s.transport.ok() && s.body.empty() && !s.head_only) {
      r.transport = s.transport;
      return r;
    }
    r.head.status = s.status;
    r.head.headers = s.headers;
    r.sink_error = sink->OnHead(r.head);
    const size_t piece = s.chunk ? s.chunk : s.body.size();
    for (size_t at = 0; r.sink_error.ok() && at < s.body.size(); at += piece) {
      r.sink_error = sink->OnBody(s.body.data() + at, std::min(piece, s.body.size() - at));
    }
    r.body_bytes = s.body.size();
    r.transport = s.transport;
    return r;
  }

 private:
  struct Borrowed : net::HttpClient {
    explicit Borrowed(ScriptedHttp* h) : http(h) {}
    net::HttpResult Fetch(const net::HttpRequest& req, net::HttpBodySink* sink) override {
      return http->Fetch(req, sink);
    }
    ScriptedHttp* http;
  };

  ScriptedReply Next(const net::HttpRequest& req) {
    std::lock_guard<std::mutex> l(mu_);
    seen_.push_back(req);
    auto it = scripts_.find(req.url.substr(0, req.url.find('?')));
    if (it == scripts_.end()) it = scripts_.find("");
    if (it == scripts_.end() || it->second.empty()) return ScriptedReply(404, R"({"code":404})");
    ScriptedReply s = it->second.front();
    if (it->second.size() > 1) it->second.pop_front();
    return s;
  }

  std::mutex mu_;
  std::map<std::string, std::deque<ScriptedReply>> scripts_;
  std::vector<net::HttpRequest> seen_;
};

}  // namespace mt::testing
