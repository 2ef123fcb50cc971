// An in-process test double of the GCS JSON API upload endpoints, behind the
// HttpClient interface: media upload, resumable sessions (308 + Range, status
// queries, 256 KiB multiples), ifGenerationMatch (0: create-only, N: only
// that generation) -> 412, object metadata, media download with
// x-goog-generation, delete, and listings in pages. Faults are switched on per test. It is a test double written from
// Google's documentation, not an implementation of GCS.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/crc32c.h"
#include "net/gcs_auth.h"
#include "net/http_client.h"

namespace mt::testing {

struct NoToken : net::TokenSource {
  Result<std::string> AuthorizationHeader() override { return std::string(); }
  std::string Describe() const override { return "no token (test)"; }
};

class FakeGcs {
 public:
  struct Object {
    std::string data;
    int64_t generation = 0;
  };
  struct Session {
    std::string name;
    std::string data;
    bool create_only = false;
    bool done = false;
    int64_t if_generation = -1;  // ifGenerationMatch=N with N > 0; -1: none
  };
  struct Seen {
    std::string method, url, content_range;
    size_t body = 0;
    int status = 0;
  };

  // Faults.
  int fail_chunk = -1;           // the Nth (0-based) chunk PUT fails ...
  int fail_status = 503;         // ... with this status (0: a dropped connection)
  size_t fail_keep = 0;          // ... after storing this many bytes of it
  size_t short_store = 0;        // a 308 stores only this many bytes of a chunk (0: all), once
  bool corrupt_crc = false;      // the object reports a wrong crc32c
  int media_failures = 0;        // this many media uploads store the object, then fail with 503
  int corrupt_reads = 0;         // this many media downloads report a wrong crc32c in x-goog-hash
  int get_failures = 0;          // this many object GETs (metadata or media) answer get_failure_status
  int get_failure_status = 503;
  std::string retry_after;       // Retry-After sent with those failures ("" = none)
  bool list_out_of_order = false;  // each page of a listing gives its first two names swapped
  // Runs before a media upload or a session's final request is checked
  // against its precondition: another writer getting in between.
  std::function<void(FakeGcs&)> before_finish;
  // Runs once a media download is answered (then cleared): another writer
  // replacing the object between two requests of a reader.
  std::function<void(FakeGcs&)> after_media_read;

  std::map<std::string, Object> objects;
  std::map<std::string, Session> sessions;
  std::vector<Seen> seen;
  size_t max_body = 0;
  int64_t next_generation = 1000;
  std::mutex mu;

  std::unique_ptr<net::HttpClient> Client();

  static std::string Decode(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); i++) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  }
  static std::string Param(const std::string& url, const std::string& key) {
    const size_t q = url.find('?');
    if (q == std::string::npos) return "";
    std::string rest = url.substr(q + 1);
    size_t p = 0;
    while (p <= rest.size()) {
      size_t e = rest.find('&', p);
      if (e == std::string::npos) e = rest.size();
      const std::string kv = rest.substr(p, e - p);
      if (kv.rfind(key + "=", 0) == 0) return Decode(kv.substr(key.size() + 1));
      p = e + 1;
    }
    return "";
  }
  std::string ObjectJson(const std::string& name) {
    const Object& o = objects[name];
    uint32_t crc = Crc32c(o.data);
    if (corrupt_crc) crc ^= 1;
    return "{\"name\":\"" + name + "\",\"size\":\"" + std::to_string(o.data.size()) + "\",\"generation\":\"" +
           std::to_string(o.generation) + "\",\"crc32c\":\"" + Crc32cToBase64(crc) + "\"}";
  }

  struct Reply {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool drop = false;  // no response: a transport error
  };

  Reply Handle(const net::HttpRequest& req) {
    std::lock_guard<std::mutex> l(mu);
    std::string cr;
    for (const auto& [k, v] : req.headers) {
      if (k == "Content-Range") cr = v;
    }
    seen.push_back({req.method, req.url, cr, req.body.size(), 0});
    max_body = std::max(max_body, req.body.size());
    Reply r = Route(req, cr);
    seen.back().status = r.drop ? 0 : r.status;
    return r;
  }

 private:
  int chunk_puts_ = 0;

  // Whether ifGenerationMatch=`g` (as sent; "" = none) fails on `name`.
  bool PreconditionFails(const std::string& name, const std::string& g) {
    if (g.empty()) return false;
    auto it = objects.find(name);
    if (g == "0") return it != objects.end();
    return it == objects.end() || it->second.generation != std::stoll(g);
  }

  Reply Finish(Session& s) {
    if (before_finish) before_finish(*this);
    if (s.create_only && objects.count(s.name)) return {412, {}, "{\"error\":{\"code\":412}}"};
    if (s.if_generation > 0 && PreconditionFails(s.name, std::to_string(s.if_generation))) {
      return {412, {}, "{\"error\":{\"code\":412}}"};
    }
    s.done = true;
    objects[s.name] = {s.data, next_generation++};
    return {200, {}, ObjectJson(s.name)};
  }

  Reply Route(const net::HttpRequest& req, const std::string& cr) {
    const std::string& url = req.url;
    const bool upload = url.find("/upload/storage/v1/b/") != std::string::npos;
    if (upload && req.method == "POST" && Param(url, "uploadType") == "media") {
      const std::string name = Param(url, "name");
      if (before_finish) before_finish(*this);
      if (PreconditionFails(name, Param(url, "ifGenerationMatch"))) return {412, {}, "{}"};
      objects[name] = {req.body, next_generation++};
      if (media_failures > 0) {
        media_failures--;
        return {503, {}, "{\"error\":{\"code\":503,\"message\":\"backend error\"}}"};
      }
      return {200, {}, ObjectJson(name)};
    }
    if (upload && req.method == "POST" && Param(url, "uploadType") == "resumable") {
      const std::string name = Param(url, "name");
      const std::string g = Param(url, "ifGenerationMatch");
      const bool create_only = g == "0";
      if (PreconditionFails(name, g)) return {412, {}, "{}"};
      const std::string id = "s" + std::to_string(sessions.size() + 1);
      sessions[id] = {name, "", create_only, false, g.empty() || create_only ? -1 : std::stoll(g)};
      return {200, {{"Location", "http://fake/upload/storage/v1/b/bkt/o?uploadType=resumable&upload_id=" + id}}, ""};
    }
    if (upload && Param(url, "upload_id") != "") {
      auto it = sessions.find(Param(url, "upload_id"));
      if (it == sessions.end()) return {404, {}, ""};
      Session& s = it->second;
      if (req.method == "DELETE") {
        sessions.erase(it);
        return {499, {}, ""};
      }
      auto range = [&]() -> Reply {
        Reply r{308, {}, ""};
        if (!s.data.empty()) r.headers.push_back({"Range", "bytes=0-" + std::to_string(s.data.size() - 1)});
        return r;
      };
      if (s.done) return {200, {}, ObjectJson(s.name)};
      unsigned long long a = 0, b = 0, total = 0;
      if (cr.empty()) {  // the whole object in one request
        s.data = req.body;
        return Finish(s);
      }
      if (cr.rfind("bytes */", 0) == 0) {
        if (cr == "bytes */*") return range();
        total = std::stoull(cr.substr(8));
        if (s.data.size() == total && req.body.empty()) return Finish(s);
        return range();
      }
      const bool known = std::sscanf(cr.c_str(), "bytes %llu-%llu/%llu", &a, &b, &total) == 3;
      if (!known && std::sscanf(cr.c_str(), "bytes %llu-%llu/*", &a, &b) != 2) return {400, {}, "bad range"};
      if (a != s.data.size() || b + 1 - a != req.body.size()) return {400, {}, "offset mismatch"};
      const bool final = known && b + 1 == total;
      if (!final && req.body.size() % (256 * 1024) != 0) return {400, {}, "not a 256 KiB multiple"};
      if (chunk_puts_++ == fail_chunk) {
        s.data += req.body.substr(0, fail_keep);
        if (fail_status == 0) return {0, {}, "", true};
        return {fail_status, {}, "{\"error\":{\"code\":503}}"};
      }
      if (short_store > 0 && !final) {
        s.data += req.body.substr(0, short_store);
        short_store = 0;
        return range();
      }
      s.data += req.body;
      if (final) return Finish(s);
      return range();
    }
    if (req.method == "GET" && url.find("/storage/v1/b/bkt/o?") != std::string::npos) {
      // A listing: the names under `prefix` in name order, maxResults of them
      // a page, the next page's first name its token.
      const std::string prefix = Param(url, "prefix"), token = Param(url, "pageToken");
      const size_t max = std::stoul(Param(url, "maxResults"));
      std::vector<std::string> page;
      std::string next;
      for (auto it = objects.lower_bound(std::max(prefix, token));
           it != objects.end() && it->first.rfind(prefix, 0) == 0; ++it) {
        if (page.size() == max) {
          next = it->first;
          break;
        }
        page.push_back(it->first);
      }
      if (list_out_of_order && page.size() > 1) std::swap(page[0], page[1]);
      std::string body = "{\"items\":[";
      for (size_t i = 0; i < page.size(); i++) body += (i ? "," : "") + ObjectJson(page[i]);
      body += "]";
      if (!next.empty()) body += ",\"nextPageToken\":\"" + next + "\"";
      return {200, {}, body + "}"};
    }
    const std::string marker = "/storage/v1/b/bkt/o/";
    const size_t p = url.find(marker);
    if (p != std::string::npos) {
      std::string name = url.substr(p + marker.size());
      name = Decode(name.substr(0, name.find('?')));
      if (req.method == "GET" && get_failures > 0) {
        get_failures--;
        Reply fail{get_failure_status, {}, "{\"error\":{\"code\":" + std::to_string(get_failure_status) + "}}"};
        if (!retry_after.empty()) fail.headers.push_back({"Retry-After", retry_after});
        return fail;
      }
      auto it = objects.find(name);
      if (it == objects.end()) return {404, {}, "{\"error\":{\"code\":404,\"message\":\"No such object\"}}"};
      if (req.method == "DELETE") {
        const std::string g = Param(url, "ifGenerationMatch");
        if (!g.empty() && std::stoll(g) != it->second.generation) return {412, {}, "{}"};
        objects.erase(it);
        return {204, {}, ""};
      }
      if (Param(url, "alt") == "media") {
        const std::string g = Param(url, "generation");
        if (!g.empty() && std::stoll(g) != it->second.generation) return {404, {}, "{}"};
        uint32_t crc = Crc32c(it->second.data);
        if (corrupt_reads > 0) {
          corrupt_reads--;
          crc ^= 1;
        }
        Reply media{200,
                    {{"x-goog-generation", std::to_string(it->second.generation)},
                     {"x-goog-hash", "crc32c=" + Crc32cToBase64(crc)}},
                    it->second.data};
        if (after_media_read) {
          auto then = std::move(after_media_read);
          after_media_read = nullptr;
          then(*this);
        }
        return media;
      }
      const std::string g = Param(url, "generation");
      if (!g.empty() && std::stoll(g) != it->second.generation) return {404, {}, "{}"};
      return {200, {}, ObjectJson(name)};
    }
    return {400, {}, "unrouted " + req.method + " " + url};
  }
};

class FakeGcsClient : public net::HttpClient {
 public:
  explicit FakeGcsClient(FakeGcs* gcs) : gcs_(gcs) {}
  net::HttpResult Fetch(const net::HttpRequest& req, net::HttpBodySink* sink) override {
    FakeGcs::Reply rep = gcs_->Handle(req);
    net::HttpResult r;
    if (rep.drop) {
      r.transport = Status::Unavailable("connection reset (fake)");
      return r;
    }
    r.head.status = rep.status;
    for (auto& [k, v] : rep.headers) {
      std::string lk = k;
      for (char& c : lk) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.head.headers[lk] = v;
    }
    if (sink) {
      r.sink_error = sink->OnHead(r.head);
      if (r.sink_error.ok() && !rep.body.empty()) r.sink_error = sink->OnBody(rep.body.data(), rep.body.size());
    }
    r.body_bytes = rep.body.size();
    return r;
  }

 private:
  FakeGcs* gcs_;
};

inline std::unique_ptr<net::HttpClient> FakeGcs::Client() { return std::make_unique<FakeGcsClient>(this); }

}  // namespace mt::testing
