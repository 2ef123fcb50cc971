// An HttpBodySink that keeps the response head and up to `limit` body
// bytes in memory (JSON answers, error bodies); the rest is counted and
// dropped.
#pragma once

#include <algorithm>
#include <string>

#include "net/http_client.h"

namespace mt::net {

class StringSink : public HttpBodySink {
 public:
  explicit StringSink(size_t limit = 1 << 20) : limit_(limit) {}
  Status OnHead(const HttpResponseHead& head) override {
    head_ = head;
    body_.clear();
    return Status::OK();
  }
  Status OnBody(const char* data, size_t n) override {
    if (body_.size() < limit_) body_.append(data, std::min(n, limit_ - body_.size()));
    return Status::OK();
  }
  const HttpResponseHead& head() const { return head_; }
  std::string& body() { return body_; }

 private:
  size_t limit_;
  HttpResponseHead head_;
  std::string body_;
};

}  // namespace mt::net
