#include "net/retry.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>

namespace mt::net {

HttpRequest RetryPolicy::Request(const std::string& url, int attempt, const std::atomic<bool>* cancel) const {
  HttpRequest req;
  req.url = attempt == 0 ? url : url + "?retryAttempt=" + std::to_string(attempt);
  ApplyTimeouts(&req);
  req.cancel = cancel;
  return req;
}

void RetryPolicy::ApplyTimeouts(HttpRequest* req) const {
  req->connect_timeout_s = connect_timeout_s;
  req->stall_timeout_s = stall_timeout_s;
  req->min_speed_bytes_per_s = min_speed_bytes_per_s;
  req->min_speed_window_s = min_speed_window_s;
}

double RetryPolicy::Delay(int failures, double retry_after_s, std::mt19937_64* rng) const {
  // The server's wait in full: Backoff gives up at once when it would end
  // past max_total_s.
  if (retry_after_s >= 0) return cap_retry_after ? std::min(retry_after_s, max_delay_s) : retry_after_s;
  const double backoff = std::min(max_delay_s, base_delay_s * std::pow(2.0, failures));
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return backoff * jitter(*rng);
}

bool IsTransientHttpStatus(int status) { return status == 0 || status == 408 || status == 429 || status >= 500; }

bool IsTransientTransport(const Status& transport) {
  return !transport.ok() && transport.code() != Status::Code::kCancelled;
}

double RetryAfter(const HttpResponseHead& head) {
  if (!IsTransientHttpStatus(head.status)) return -1;
  return RetryAfterSeconds(head.Header("retry-after"));
}

Status ChecksumMismatch(std::string message) {
  return Status::IOError(std::move(message)).WithDetail(Status::Detail::kChecksumMismatch);
}

bool IsChecksumMismatch(const Status& st) { return st.detail() == Status::Detail::kChecksumMismatch; }

namespace {

class SystemClock final : public RetryClock {
 public:
  double Now() override {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  bool Sleep(double seconds, StopFlags stop) override { return SleepUnlessStopped(seconds, stop); }
};

}  // namespace

RetryClock* SystemRetryClock() {
  static SystemClock clock;
  return &clock;
}

uint64_t RetrySeed(const std::string& what) {
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return std::hash<std::string>()(what) ^ static_cast<uint64_t>(now);
}

Retrier::Retrier(const RetryPolicy& policy, RetryClock* clock, StopFlags stop, uint64_t seed)
    : policy_(policy), clock_(clock ? clock : SystemRetryClock()), stop_(stop), rng_(seed), started_(clock_->Now()) {}

bool Retrier::MayAttempt() { return attempts_ < policy_.max_attempts && Elapsed() <= policy_.max_total_s; }

Retrier::Next Retrier::Backoff(double retry_after_s, const std::function<void(double)>& on_wait) {
  if (stop_.Set()) return Next::kCancelled;
  const double delay = policy_.Delay(failures_, retry_after_s, &rng_);
  failures_++;
  refused_delay_ = refused_left_ = -1;
  // No attempt could follow the wait: give up now rather than after it.
  if (attempts_ >= policy_.max_attempts) return Next::kGiveUp;
  if (const double elapsed = Elapsed(); elapsed + delay > policy_.max_total_s) {
    refused_delay_ = delay;
    refused_left_ = std::max(0.0, policy_.max_total_s - elapsed);
    return Next::kGiveUp;
  }
  last_delay_ = delay;
  if (on_wait) on_wait(delay);
  if (!clock_->Sleep(delay, stop_)) return Next::kCancelled;
  return Next::kRetry;
}

namespace {

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", std::floor(s));
  return buf;
}

}  // namespace

std::string RetryAfterRefusal(const Retrier& retrier, const std::string& url, double retry_after_s) {
  if (retry_after_s < 0 || retrier.refused_delay() < 0) return "";
  return url + " asked to wait " + Seconds(retry_after_s) + " s before the next request (Retry-After), more than the " +
         Seconds(retrier.refused_left()) +
         " s left of RETRY_MAX_TOTAL_SECONDS=" + Seconds(retrier.policy().max_total_s) +
         ": raise RETRY_MAX_TOTAL_SECONDS above the server's wait, or rerun later";
}

}  // namespace mt::net
