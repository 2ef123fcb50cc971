// Retrying remote requests, for every client of the network (Tardis dataset
// downloads, Tardis metadata, Google Cloud Storage): one policy, one rule for
// which failures are worth another attempt, and one backoff loop whose clock
// and sleep can be replaced (tests run without sleeping).
//
// The loop: before each attempt, MayAttempt(); after a failure worth
// repeating, Backoff(), which either waits (exponential with jitter, or the
// server's Retry-After) and says to go on, or, when no attempt could follow
// within the policy, gives up at once: a wait after the last attempt would
// only delay the failure.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <random>
#include <string>

#include "core/cancel.h"
#include "core/status.h"
#include "net/http_client.h"

namespace mt::net {

// Configured by RETRY_MAX_ATTEMPTS, RETRY_BASE_SECONDS,
// RETRY_MAX_DELAY_SECONDS, RETRY_MAX_TOTAL_SECONDS, STALL_TIMEOUT_SECONDS,
// MIN_SPEED_BYTES_PER_SECOND and MIN_SPEED_WINDOW_SECONDS (cli/settings).
struct RetryPolicy {
  int max_attempts = 10;          // requests per operation (a download item: resumed ones included)
  double base_delay_s = 1.0;      // backoff: base * 2^n, capped, with jitter
  double max_delay_s = 60.0;
  double max_total_s = 1800.0;    // no attempt starts later than this after the first
  int stall_timeout_s = 60;       // a transfer with no byte for this long is stalled
  int connect_timeout_s = 15;
  // A transfer slower than this on average over each window of
  // min_speed_window_s seconds is stalled too (a drip that the stall timeout,
  // which only sees silence, lets run for ever). 0 disables.
  uint64_t min_speed_bytes_per_s = 1024;
  int min_speed_window_s = 60;
  // The server's Retry-After capped at max_delay_s too: for waits that hold
  // everything else up (a token fetch, under the lock every GCS request
  // takes), which must stay short whatever a server asks.
  bool cap_retry_after = false;

  // Request number `attempt` (from 0) of `url`, with the timeouts and speed
  // bounds. Retries add retryAttempt=N, as the official clients do, so caches
  // don't answer.
  HttpRequest Request(const std::string& url, int attempt, const std::atomic<bool>* cancel) const;
  // Copies the timeouts and speed bounds into `req`.
  void ApplyTimeouts(HttpRequest* req) const;
  // The wait before the next attempt: the server's Retry-After when
  // `retry_after_s` when >= 0 (the server's wait; capped at max_delay_s
  // only with cap_retry_after), else
  // min(max_delay_s, base * 2^failures) times a jitter in [0.5, 1).
  double Delay(int failures, double retry_after_s, std::mt19937_64* rng) const;
};

// ---- which failures are worth another attempt

// 408, 429 and 5xx, and 0 (no response at all).
bool IsTransientHttpStatus(int status);
// A transport failure (connection, timeout, stall, cut body): anything but
// success and cancellation.
bool IsTransientTransport(const Status& transport);
// An answer is transient when its transport failed or its status is.
inline bool IsTransient(const HttpResult& r) {
  return IsTransientTransport(r.transport) || IsTransientHttpStatus(r.head.status);
}
// Retry-After of a transient answer, in seconds (-1: none or not a number of
// seconds). Honoured on any transient status that carries it (RFC 9110 10.2.3
// names 503 and 429).
double RetryAfter(const HttpResponseHead& head);
// Bytes whose checksum did not match what the server reported: fetching them
// again may give a whole copy. Classified by a Status detail, never by text.
Status ChecksumMismatch(std::string message);
bool IsChecksumMismatch(const Status& st);

// ---- time

// Monotonic time and a sleep that a stop flag interrupts. The system clock
// polls the flags (core/cancel.h); a test's fake advances its own time.
class RetryClock {
 public:
  virtual ~RetryClock() = default;
  virtual double Now() = 0;  // seconds, monotonic
  // Waits `seconds`; false when a flag was set first (or on entry).
  virtual bool Sleep(double seconds, StopFlags stop) = 0;
};
RetryClock* SystemRetryClock();

// A seed for the jitter: different per operation and per run, so clients
// that failed together do not retry together.
uint64_t RetrySeed(const std::string& what);

// ---- the loop

class Retrier {
 public:
  enum class Next {
    kRetry,      // waited; make the next attempt
    kGiveUp,     // the policy allows no further attempt (nothing was waited)
    kCancelled,  // a stop flag was set before or during the wait
  };

  // `clock` null: SystemRetryClock(). The policy is copied.
  Retrier(const RetryPolicy& policy, RetryClock* clock, StopFlags stop, uint64_t seed);

  // Whether another attempt may start now: fewer than max_attempts made
  // (since the start or the last Restart) and max_total_s not passed.
  bool MayAttempt();
  // Counts an attempt as made.
  void Attempted() { attempts_++; }
  // After a failed attempt worth repeating (Attempted() called for it):
  // gives up at once when MayAttempt() would refuse the next attempt, or
  // when the wait would end past max_total_s; else waits Delay(failures,
  // retry_after_s) and returns kRetry. Each call counts a failure for the
  // next delay. `on_wait`, when given, hears the delay before the wait (a
  // log line).
  Next Backoff(double retry_after_s = -1, const std::function<void(double delay_s)>& on_wait = nullptr);
  // The failed attempt made progress (a transfer cut after some bytes): the
  // backoff starts again from base_delay_s. The attempt budget stays.
  void ResetBackoff() { failures_ = 0; }
  // Progress that renews the attempt budget as well (a GCS chunk stored):
  // attempts and failures from zero; the time budget stays.
  void Restart() {
    attempts_ = 0;
    failures_ = 0;
  }

  int attempts() const { return attempts_; }
  // The wait the last Backoff refused because it would have ended past
  // max_total_s (attempts were left), and the seconds of max_total_s that
  // were left then; -1 when the last Backoff did not give up for time.
  double refused_delay() const { return refused_delay_; }
  double refused_left() const { return refused_left_; }
  double Elapsed() { return clock_->Now() - started_; }
  double last_delay() const { return last_delay_; }
  const RetryPolicy& policy() const { return policy_; }

 private:
  RetryPolicy policy_;
  RetryClock* clock_;
  StopFlags stop_;
  std::mt19937_64 rng_;
  double started_;
  int attempts_ = 0;
  int failures_ = 0;
  double last_delay_ = 0;
  double refused_delay_ = -1, refused_left_ = -1;
};

// Why an operation gave up when the server's Retry-After (`retry_after_s`,
// of the last answer; -1 none) was the reason: its wait did not fit in what
// was left of RETRY_MAX_TOTAL_SECONDS. Names `url`, the wait asked and the
// limit, and what to do; "" when the give-up had another reason. A retry
// later can succeed, so callers keep it retryable.
std::string RetryAfterRefusal(const Retrier& retrier, const std::string& url, double retry_after_s);

}  // namespace mt::net
