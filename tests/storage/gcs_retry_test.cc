// GcsStore's retries (net/retry.h) against the in-process GCS double
// (tests/support/gcs_fake_http.h) and a fake retry clock: transient answers
// are retried with the policy's budget and no wait after the last attempt,
// Retry-After is honoured, and a whole read whose CRC32C does not match is
// read again (classified by its Status detail, not its text).
#include <gtest/gtest.h>

#include "net/retry.h"
#include "storage/gcs_store.h"
#include "support/fake_retry_clock.h"
#include "support/gcs_fake_http.h"

namespace mt::storage {
namespace {

using testing::FakeGcs;

struct Harness {
  FakeGcs fake;
  testing::FakeRetryClock clock;
  std::unique_ptr<GcsStore> store;
  explicit Harness(int max_attempts = 5) {
    GcsOptions o;
    o.endpoint = "http://fake";
    o.bucket = "bkt";
    o.prefix = "pre";
    o.auth = std::make_shared<testing::NoToken>();
    o.http_factory = [this] { return fake.Client(); };
    o.clock = &clock;
    o.retry.max_attempts = max_attempts;
    auto s = NewGcsStore(o);
    EXPECT_TRUE(s.ok());
    store = std::move(*s);
  }
  int Gets(const std::string& needle) {
    int n = 0;
    for (const auto& s : fake.seen) n += s.method == "GET" && s.url.find(needle) != std::string::npos;
    return n;
  }
};

TEST(GcsRetry, AChecksumMismatchIsReadAgain) {
  Harness h;
  h.fake.objects["pre/o.parquet"] = {"the bytes of the object", 7};
  h.fake.corrupt_reads = 2;  // two damaged transfers, then a whole one
  auto data = h.store->Read("o.parquet");
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_EQ(*data, "the bytes of the object");
  EXPECT_EQ(h.Gets("alt=media"), 3);
  EXPECT_TRUE(h.clock.sleeps().empty()) << "the bytes came: read again at once";
}

TEST(GcsRetry, ThreeMismatchesFailWithTheTypedError) {
  Harness h;
  h.fake.objects["pre/o.parquet"] = {"abc", 7};
  h.fake.corrupt_reads = 3;
  auto data = h.store->Read("o.parquet");
  ASSERT_FALSE(data.ok());
  EXPECT_TRUE(net::IsChecksumMismatch(data.status()));
  EXPECT_TRUE(data.status().retryable());  // exit 3: a rerun may get whole bytes
  EXPECT_NE(data.status().message().find("CRC32C mismatch"), std::string::npos) << data.status().message();
  EXPECT_EQ(h.Gets("alt=media"), 3);

  Harness v;
  v.fake.objects["pre/i.parquet"] = {"abc", 9};
  v.fake.corrupt_reads = 1;
  auto versioned = v.store->ReadVersioned("i.parquet");
  ASSERT_TRUE(versioned.ok()) << versioned.status().message();
  EXPECT_EQ(versioned->generation, 9);
  EXPECT_EQ(v.Gets("alt=media"), 2);
}

TEST(GcsRetry, OtherReadErrorsAreNotReadAgain) {
  Harness h;
  auto data = h.store->Read("missing.parquet");
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), Status::Code::kNotFound);
  EXPECT_FALSE(net::IsChecksumMismatch(data.status()));
  EXPECT_EQ(h.Gets("alt=media"), 1);
}

// Ranges read of one version: the first fixes the generation, the next come
// from it; once the object is replaced, the next range is a retryable error,
// never the new version's bytes after the old one's.
TEST(GcsRetry, RangesOfOneVersionFailRetryablyOnceTheObjectIsReplaced) {
  Harness h;
  h.fake.objects["pre/r.json"] = {"0123456789", 7};
  int64_t version = 0;
  auto head = h.store->ReadRangeOfVersion("r.json", 0, 4, &version);
  ASSERT_TRUE(head.ok()) << head.status().message();
  EXPECT_EQ(*head, "0123");
  EXPECT_EQ(version, 7);
  auto middle = h.store->ReadRangeOfVersion("r.json", 4, 4, &version);
  ASSERT_TRUE(middle.ok()) << middle.status().message();
  EXPECT_EQ(*middle, "4567");
  auto rest = h.store->ReadRangeOfVersion("r.json", 8, 4, &version);
  ASSERT_TRUE(rest.ok()) << rest.status().message();
  EXPECT_EQ(*rest, "89");
  // At the end (an object a whole number of pieces long): no bytes, no error.
  auto end = h.store->ReadRangeOfVersion("r.json", 10, 4, &version);
  ASSERT_TRUE(end.ok()) << end.status().message();
  EXPECT_EQ(*end, "");
  EXPECT_EQ(h.Gets("generation=7"), 3);
  h.fake.objects["pre/r.json"] = {"abcdefghij", 8};
  auto tail = h.store->ReadRangeOfVersion("r.json", 8, 4, &version);
  ASSERT_FALSE(tail.ok()) << *tail;
  EXPECT_EQ(tail.status().code(), Status::Code::kUnavailable) << tail.status().message();
  EXPECT_EQ(version, 7);
}

TEST(GcsRetry, TransientAnswersUseTheBudgetWithNoWaitAfterTheLast) {
  Harness h(/*max_attempts=*/4);
  h.fake.objects["pre/o"] = {"x", 7};
  h.fake.get_failures = 100;
  auto st = h.store->Stat("o");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(st.status().message().find("gave up after 4 attempts"), std::string::npos) << st.status().message();
  EXPECT_NE(st.status().message().find("HTTP 503"), std::string::npos) << st.status().message();
  EXPECT_EQ(h.Gets("/o/pre%2Fo"), 4);
  EXPECT_EQ(h.clock.sleeps().size(), 3u);
}

TEST(GcsRetry, RetryAfterIsHonoured) {
  Harness h;
  h.fake.objects["pre/o"] = {"x", 7};
  h.fake.get_failures = 2;
  h.fake.get_failure_status = 429;
  h.fake.retry_after = "4";
  auto st = h.store->Stat("o");
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ(h.clock.sleeps(), (std::vector<double>{4, 4}));
}

TEST(GcsRetry, CancelDuringAWaitEndsTheRequest) {
  std::atomic<bool> cancel{false};
  FakeGcs fake;
  testing::FakeRetryClock clock;
  clock.during_sleep = [&] { cancel = true; };
  GcsOptions o;
  o.endpoint = "http://fake";
  o.bucket = "bkt";
  o.auth = std::make_shared<testing::NoToken>();
  o.http_factory = [&fake] { return fake.Client(); };
  o.clock = &clock;
  o.cancel = &cancel;
  GcsStore store(o);
  fake.get_failures = 100;
  auto st = store.Stat("o");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), Status::Code::kCancelled);
  EXPECT_EQ(fake.seen.size(), 1u);
}

}  // namespace
}  // namespace mt::storage
