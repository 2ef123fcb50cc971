// net/retry: the policy, the transient classification and the backoff loop,
// on a fake clock (no test here sleeps, but for the one that checks the
// system clock's wait is interrupted by a flag).
#include "net/retry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <thread>

#include "support/fake_retry_clock.h"

namespace mt::net {
namespace {

using Next = Retrier::Next;

RetryPolicy Policy(int attempts, double base = 1, double max_delay = 8, double max_total = 1e6) {
  RetryPolicy p;
  p.max_attempts = attempts;
  p.base_delay_s = base;
  p.max_delay_s = max_delay;
  p.max_total_s = max_total;
  return p;
}

// The loop every client writes: attempt while allowed; after each failure,
// back off. Returns how the loop ended.
Next FailEveryAttempt(Retrier* r, double retry_after = -1) {
  while (r->MayAttempt()) {
    r->Attempted();
    const Next n = r->Backoff(retry_after);
    if (n != Next::kRetry) return n;
  }
  return Next::kGiveUp;
}

TEST(Retrier, MakesMaxAttemptsAndWaitsOnlyBetweenThem) {
  testing::FakeRetryClock clock;
  Retrier r(Policy(4), &clock, {}, 1);
  EXPECT_EQ(FailEveryAttempt(&r), Next::kGiveUp);
  EXPECT_EQ(r.attempts(), 4);
  // Three waits between four attempts; none after the last (it would only
  // delay the failure).
  EXPECT_EQ(clock.sleeps().size(), 3u);
}

TEST(Retrier, OneAttemptPolicyNeverWaits) {
  testing::FakeRetryClock clock;
  Retrier r(Policy(1), &clock, {}, 1);
  EXPECT_EQ(FailEveryAttempt(&r), Next::kGiveUp);
  EXPECT_EQ(r.attempts(), 1);
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(Retrier, BackoffDoublesWithJitterUpToTheCap) {
  for (uint64_t seed = 1; seed <= 20; seed++) {
    testing::FakeRetryClock clock;
    Retrier r(Policy(8, /*base=*/1, /*max_delay=*/8), &clock, {}, seed);
    FailEveryAttempt(&r);
    const std::vector<double> s = clock.sleeps();
    ASSERT_EQ(s.size(), 7u);
    for (size_t i = 0; i < s.size(); i++) {
      const double full = std::min(8.0, static_cast<double>(1 << i));  // 1 2 4 8 8 8 8
      EXPECT_GE(s[i], full * 0.5) << "seed " << seed << " wait " << i;
      EXPECT_LT(s[i], full) << "seed " << seed << " wait " << i;
    }
  }
  // The jitter differs by seed: clients that failed together spread out.
  testing::FakeRetryClock a, b;
  Retrier ra(Policy(2), &a, {}, 1), rb(Policy(2), &b, {}, 2);
  FailEveryAttempt(&ra);
  FailEveryAttempt(&rb);
  EXPECT_NE(a.sleeps().at(0), b.sleeps().at(0));
}

TEST(Retrier, RetryAfterIsHonoured) {
  testing::FakeRetryClock clock;
  Retrier r(Policy(5, 1, /*max_delay=*/8), &clock, {}, 1);
  r.Attempted();
  EXPECT_EQ(r.Backoff(7), Next::kRetry);
  r.Attempted();
  EXPECT_EQ(r.Backoff(100), Next::kRetry);
  r.Attempted();
  EXPECT_EQ(r.Backoff(0), Next::kRetry);
  EXPECT_EQ(clock.sleeps(), (std::vector<double>{7, 100, 0}));
}

TEST(Retrier, NoWaitEndsPastTheTimeBudget) {
  testing::FakeRetryClock clock;
  // Waits of 2-4, 4-8, 8-16 s against a budget of 10 s.
  Retrier r(Policy(100, /*base=*/4, /*max_delay=*/100, /*max_total=*/10), &clock, {}, 3);
  EXPECT_EQ(FailEveryAttempt(&r), Next::kGiveUp);
  const std::vector<double> s = clock.sleeps();
  ASSERT_FALSE(s.empty());
  EXPECT_LE(std::accumulate(s.begin(), s.end(), 0.0), 10.0);
  EXPECT_LT(r.attempts(), 100);
  // Time spent outside the waits counts too.
  testing::FakeRetryClock late;
  Retrier l(Policy(100, 1, 100, /*max_total=*/10), &late, {}, 3);
  late.Advance(11);
  EXPECT_FALSE(l.MayAttempt());
}

// A Retry-After longer than what is left of the time budget: given up at
// once, and the message says the server's wait was the reason, with the URL,
// the wait, the limit and what to do; another reason gives no such message.
TEST(Retrier, ARetryAfterPastTheTimeBudgetIsNamedAsTheReason) {
  testing::FakeRetryClock clock;
  Retrier r(Policy(10, 1, /*max_delay=*/600, /*max_total=*/30), &clock, {}, 3);
  ASSERT_TRUE(r.MayAttempt());
  r.Attempted();
  clock.Advance(5);
  EXPECT_EQ(r.Backoff(/*retry_after_s=*/120), Next::kGiveUp);
  EXPECT_TRUE(clock.sleeps().empty());
  EXPECT_EQ(RetryAfterRefusal(r, "http://x/f.csv.gz", 120),
            "http://x/f.csv.gz asked to wait 120 s before the next request (Retry-After), more than the 25 s left of "
            "RETRY_MAX_TOTAL_SECONDS=30: raise RETRY_MAX_TOTAL_SECONDS above the server's wait, or rerun later");
  // Out of attempts, not time: the usual give-up.
  testing::FakeRetryClock clock2;
  Retrier a(Policy(1, 1, 600, 1e6), &clock2, {}, 3);
  a.Attempted();
  EXPECT_EQ(a.Backoff(120), Next::kGiveUp);
  EXPECT_EQ(RetryAfterRefusal(a, "u", 120), "");
  // A wait that fits: no refusal left behind by an earlier one.
  EXPECT_EQ(RetryAfterRefusal(r, "u", -1), "");
}

// The server's Retry-After is waited in full, not cut to the backoff's
// longest wait (RETRY_MAX_DELAY_SECONDS): cut, a Retry-After of an hour was
// asked again after 60 s, every minute, and one past the time budget was
// cut below it and retried instead of refused at once.
TEST(Retrier, ARetryAfterIsWaitedInFullNotCutToTheLongestBackoff) {
  testing::FakeRetryClock clock;
  Retrier r(Policy(10, 1, /*max_delay=*/2, /*max_total=*/100), &clock, {}, 3);
  r.Attempted();
  EXPECT_EQ(r.Backoff(/*retry_after_s=*/30), Next::kRetry);
  ASSERT_EQ(clock.sleeps().size(), 1u);
  EXPECT_EQ(clock.sleeps()[0], 30);
  r.Attempted();
  EXPECT_EQ(r.Backoff(/*retry_after_s=*/1000), Next::kGiveUp);
  EXPECT_EQ(clock.sleeps().size(), 1u) << "no wait before giving up";
  EXPECT_NE(RetryAfterRefusal(r, "u", 1000).find("asked to wait 1000 s"), std::string::npos);
  // Without Retry-After the backoff keeps its longest wait.
  r.Attempted();
  EXPECT_EQ(r.Backoff(-1), Next::kRetry);
  EXPECT_LE(clock.sleeps().back(), 2);
  // A policy whose waits hold everything up (token fetches) caps it still.
  testing::FakeRetryClock quick;
  RetryPolicy capped = Policy(4, 0.1, /*max_delay=*/0.4, /*max_total=*/10);
  capped.cap_retry_after = true;
  Retrier q(capped, &quick, {}, 3);
  q.Attempted();
  EXPECT_EQ(q.Backoff(/*retry_after_s=*/12), Next::kRetry);
  EXPECT_EQ(quick.sleeps(), (std::vector<double>{0.4}));
}

TEST(Retrier, ResetBackoffStartsFromBaseAndKeepsTheBudget) {
  testing::FakeRetryClock clock;
  Retrier r(Policy(4, 1, 100), &clock, {}, 5);
  r.Attempted();
  r.Backoff();  // 0.5-1
  r.Attempted();
  r.Backoff();  // 1-2
  r.ResetBackoff();
  r.Attempted();
  r.Backoff();  // 0.5-1 again
  const auto s = clock.sleeps();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_GE(s[1], 1.0);
  EXPECT_LT(s[2], 1.0);
  r.Attempted();
  EXPECT_FALSE(r.MayAttempt());  // four attempts made: the budget was kept
}

TEST(Retrier, RestartRenewsTheAttemptBudget) {
  testing::FakeRetryClock clock;
  Retrier r(Policy(2), &clock, {}, 5);
  r.Attempted();
  r.Attempted();
  EXPECT_FALSE(r.MayAttempt());
  r.Restart();
  EXPECT_TRUE(r.MayAttempt());
  EXPECT_EQ(r.attempts(), 0);
}

TEST(Retrier, CancelStopsTheWait) {
  std::atomic<bool> cancel{false};
  testing::FakeRetryClock clock;
  clock.during_sleep = [&] { cancel = true; };  // a signal arrives during the wait
  Retrier r(Policy(10), &clock, StopFlags{&cancel}, 1);
  r.Attempted();
  EXPECT_EQ(r.Backoff(), Next::kCancelled);
  EXPECT_EQ(clock.sleeps().size(), 1u);
  // Set before the wait: no wait at all.
  testing::FakeRetryClock idle;
  Retrier set(Policy(10), &idle, StopFlags{nullptr, &cancel}, 1);
  set.Attempted();
  EXPECT_EQ(set.Backoff(), Next::kCancelled);
  EXPECT_TRUE(idle.sleeps().empty());
}

TEST(Retrier, SystemClockWaitEndsWhenAFlagIsSet) {
  std::atomic<bool> stop{false};
  const auto t0 = std::chrono::steady_clock::now();
  std::thread setter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stop = true;
  });
  const bool slept = SystemRetryClock()->Sleep(30, StopFlags{nullptr, &stop});
  setter.join();
  EXPECT_FALSE(slept);
  // Polled every 20 ms: far sooner than the 30 s asked for.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_TRUE(SystemRetryClock()->Sleep(0.001, StopFlags{}));
}

TEST(TransientClassification, HttpStatuses) {
  for (int s : {0, 408, 429, 500, 502, 503, 504, 599}) EXPECT_TRUE(IsTransientHttpStatus(s)) << s;
  for (int s : {200, 206, 301, 304, 400, 401, 403, 404, 410, 412, 416}) EXPECT_FALSE(IsTransientHttpStatus(s)) << s;
}

TEST(TransientClassification, TransportAndAnswers) {
  EXPECT_FALSE(IsTransientTransport(Status::OK()));
  EXPECT_TRUE(IsTransientTransport(Status::Unavailable("timed out")));
  EXPECT_TRUE(IsTransientTransport(Status::IOError("connection reset")));
  EXPECT_FALSE(IsTransientTransport(Status::Cancelled("cancelled")));
  HttpResult r;
  r.head.status = 200;
  EXPECT_FALSE(IsTransient(r));
  r.transport = Status::Unavailable("cut after 10 bytes");
  EXPECT_TRUE(IsTransient(r));
  HttpResult e;
  e.head.status = 404;
  EXPECT_FALSE(IsTransient(e));
  e.head.status = 503;
  EXPECT_TRUE(IsTransient(e));
}

TEST(TransientClassification, RetryAfterOnTransientAnswersOnly) {
  HttpResponseHead h;
  h.headers["retry-after"] = "5";
  for (int s : {429, 503, 500}) {
    h.status = s;
    EXPECT_EQ(RetryAfter(h), 5) << s;
  }
  h.status = 200;
  EXPECT_EQ(RetryAfter(h), -1);
  h.status = 429;
  h.headers["retry-after"] = "Wed, 21 Oct 2015 07:28:00 GMT";  // a date past: retry now
  EXPECT_EQ(RetryAfter(h), 0);
  h.headers["retry-after"] = "soon";  // neither: the backoff decides
  EXPECT_EQ(RetryAfter(h), -1);
  h.headers.clear();
  EXPECT_EQ(RetryAfter(h), -1);
}

// Retry-After as an HTTP date (IMF-fixdate) is the wait until then; it was
// taken for no Retry-After, and the backoff retried before the server asked.
TEST(TransientClassification, RetryAfterAsADateIsTheWaitUntilThen) {
  const int64_t at = 1445412480;  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(RetryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT", at - 90), 90);
  EXPECT_EQ(RetryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT", at), 0);
  EXPECT_EQ(RetryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT", at + 5), 0);
  EXPECT_EQ(RetryAfterSeconds("120", at), 120);
  EXPECT_EQ(RetryAfterSeconds("1.5", at), 1.5);
  for (const char* bad : {"", "-3", "5s", "Wed, 21 Oct 2015 07:28:00", "Wed, 21 Oct 2015 07:28:00 PST",
                          "Wed, 21 Oct 2015 07:28:00 GMT x", "Wed, 32 Oct 2015 07:28:00 GMT", "Wednesday"}) {
    EXPECT_EQ(RetryAfterSeconds(bad, at), -1) << bad;
  }
}

TEST(TransientClassification, ChecksumMismatchIsATypedDetailNotText) {
  const Status m = ChecksumMismatch("read gs://b/o: CRC32C mismatch: got A, the server has B");
  EXPECT_TRUE(IsChecksumMismatch(m));
  EXPECT_TRUE(m.retryable());
  EXPECT_TRUE(IsChecksumMismatch(m.WithContext("instruments")));
  // The same words without the detail are not a mismatch.
  EXPECT_FALSE(IsChecksumMismatch(Status::IOError("read gs://b/o: CRC32C mismatch")));
  EXPECT_FALSE(IsChecksumMismatch(Status::OK()));
}

TEST(RetryPolicy, RequestCarriesTheBoundsAndTheRetryNumber) {
  RetryPolicy p;
  p.connect_timeout_s = 7;
  p.stall_timeout_s = 9;
  p.min_speed_bytes_per_s = 100;
  p.min_speed_window_s = 30;
  std::atomic<bool> flag{false};
  const HttpRequest first = p.Request("http://h/f.csv.gz", 0, &flag);
  EXPECT_EQ(first.url, "http://h/f.csv.gz");
  EXPECT_EQ(first.cancel, &flag);
  EXPECT_EQ(first.connect_timeout_s, 7);
  EXPECT_EQ(first.stall_timeout_s, 9);
  EXPECT_EQ(first.min_speed_bytes_per_s, 100u);
  EXPECT_EQ(first.min_speed_window_s, 30);
  EXPECT_EQ(p.Request("http://h/f.csv.gz", 2, nullptr).url, "http://h/f.csv.gz?retryAttempt=2");
  // The defaults: below 1 KiB/s over a minute is a stall.
  EXPECT_EQ(RetryPolicy().min_speed_bytes_per_s, 1024u);
  EXPECT_EQ(RetryPolicy().min_speed_window_s, 60);
}

}  // namespace
}  // namespace mt::net
