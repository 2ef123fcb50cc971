// GcsStore's retries (net/retry.h) against the in-process GCS double
// (tests/support/gcs_fake_http.h) and a fake retry clock: transient answers
// are retried with the policy's budget and no wait after the last attempt,
// Retry-After is honoured, and a whole read whose CRC32C does not match is
// read again (classified by its Status detail, not its text).
#include <gtest/gtest.h>

#include "core/crc32c.h"
#include "core/exit_code.h"
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
  ObjectStore::RangedRead read;
  auto head = h.store->ReadRangeOfVersion("r.json", 0, 4, &read);
  ASSERT_TRUE(head.ok()) << head.status().message();
  EXPECT_EQ(*head, "0123");
  EXPECT_EQ(read.version, 7);
  auto middle = h.store->ReadRangeOfVersion("r.json", 4, 4, &read);
  ASSERT_TRUE(middle.ok()) << middle.status().message();
  EXPECT_EQ(*middle, "4567");
  auto rest = h.store->ReadRangeOfVersion("r.json", 8, 4, &read);
  ASSERT_TRUE(rest.ok()) << rest.status().message();
  EXPECT_EQ(*rest, "89");
  // At the end (an object a whole number of pieces long): no bytes, no error.
  auto end = h.store->ReadRangeOfVersion("r.json", 10, 4, &read);
  ASSERT_TRUE(end.ok()) << end.status().message();
  EXPECT_EQ(*end, "");
  EXPECT_EQ(h.Gets("alt=media&generation=7"), 3);
  h.fake.objects["pre/r.json"] = {"abcdefghij", 8};
  auto tail = h.store->ReadRangeOfVersion("r.json", 8, 4, &read);
  ASSERT_FALSE(tail.ok()) << *tail;
  EXPECT_EQ(tail.status().code(), Status::Code::kUnavailable) << tail.status().message();
  EXPECT_TRUE(IsReplacedWhileRead(tail.status()));
  EXPECT_EQ(read.version, 7);
}

// The ranges of one generation read in order are checked once the last is
// read: their CRC32C and size against that generation's object resource,
// one request, none before the end.
TEST(GcsRetry, RangesReadInOrderAreCheckedAgainstTheObjectsCrc32cAtTheEnd) {
  Harness h;
  h.fake.objects["pre/r.json"] = {"0123456789", 7};
  ObjectStore::RangedRead read;
  std::string got;
  for (uint64_t at = 0; at < 12; at += 4) {
    auto piece = h.store->ReadRangeOfVersion("r.json", at, 4, &read);
    ASSERT_TRUE(piece.ok()) << piece.status().message();
    got += *piece;
    EXPECT_EQ(h.Gets("fields="), at < 8 ? 0 : 1) << "at " << at;
  }
  EXPECT_EQ(got, "0123456789");
  EXPECT_EQ(read.next, 10u);
  EXPECT_EQ(read.crc32c, Crc32c("0123456789"));
  EXPECT_EQ(h.Gets("?generation=7&fields=size%2Ccrc32c"), 1);

  // The object's crc32c is not that of the bytes that came: a retryable
  // checksum mismatch naming the object, at the last range.
  h.fake.corrupt_crc = true;
  ObjectStore::RangedRead again;
  auto first = h.store->ReadRangeOfVersion("r.json", 0, 8, &again);
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto last = h.store->ReadRangeOfVersion("r.json", 8, 8, &again);
  ASSERT_FALSE(last.ok());
  EXPECT_TRUE(net::IsChecksumMismatch(last.status()));
  EXPECT_TRUE(last.status().retryable());
  EXPECT_FALSE(IsReplacedWhileRead(last.status()));
  EXPECT_NE(last.status().message().find("gs://bkt/pre/r.json"), std::string::npos) << last.status().message();
  EXPECT_NE(last.status().message().find("CRC32C mismatch: got " + Crc32cToBase64(Crc32c("0123456789"))),
            std::string::npos)
      << last.status().message();

  // Ranges out of order (or not from the start) carry no CRC32C: nothing to
  // compare, no request for it.
  const int checks = h.Gets("fields=");
  ObjectStore::RangedRead tail_only;
  auto tail = h.store->ReadRangeOfVersion("r.json", 6, 8, &tail_only);
  ASSERT_TRUE(tail.ok()) << tail.status().message();
  EXPECT_EQ(*tail, "6789");
  EXPECT_FALSE(tail_only.in_order);
  EXPECT_EQ(h.Gets("fields="), checks);
}

// The generation read is gone by the time its ranges are checked: the read
// was of a version replaced meanwhile (retryable, read it again), not a
// checksum mismatch.
TEST(GcsRetry, AGenerationReplacedBeforeItsCheckIsReplacedWhileRead) {
  Harness h;
  h.fake.objects["pre/r.json"] = {"0123456789", 7};
  ObjectStore::RangedRead read;
  auto head = h.store->ReadRangeOfVersion("r.json", 0, 8, &read);
  ASSERT_TRUE(head.ok()) << head.status().message();
  // The next media read of generation 7 is answered, then the object is
  // replaced before the object resource is asked for.
  h.fake.after_media_read = [](testing::FakeGcs& f) { f.objects["pre/r.json"] = {"abcdefghij", 8}; };
  auto last = h.store->ReadRangeOfVersion("r.json", 8, 8, &read);
  ASSERT_FALSE(last.ok()) << *last;
  EXPECT_TRUE(IsReplacedWhileRead(last.status())) << last.status().message();
  EXPECT_FALSE(net::IsChecksumMismatch(last.status()));
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

// A refusal that every attempt gets (400: an invalid bucket name, a
// requester-pays bucket without a billing project) is asked once and is a
// permanent failure, exit 1: as a retryable one (exit 3) a fleet would run
// the task again forever.
TEST(GcsRetry, APermanentRefusalIsAskedOnceAndFailsForGood) {
  Harness h;
  h.fake.objects["pre/o"] = {"x", 7};
  h.fake.get_failures = 100;
  h.fake.get_failure_status = 400;
  auto st = h.store->Stat("o");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(h.Gets("/o/pre%2Fo"), 1);
  EXPECT_TRUE(h.clock.sleeps().empty());
  EXPECT_FALSE(st.status().retryable()) << st.status().message();
  EXPECT_EQ(ExitCodeFor(st.status()), kExitFailed) << st.status().message();
  EXPECT_NE(st.status().message().find("HTTP 400"), std::string::npos) << st.status().message();
  EXPECT_NE(st.status().message().find("a rerun gets the same answer"), std::string::npos) << st.status().message();
  // A refusal of the store, not bad data (kInvalidInput, which validate
  // takes for a corrupt object).
  EXPECT_EQ(st.status().code(), Status::Code::kPermission);
  auto exists = h.store->Exists("o");
  ASSERT_FALSE(exists.ok());
  EXPECT_EQ(ExitCodeFor(exists.status()), kExitFailed) << exists.status().message();
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
