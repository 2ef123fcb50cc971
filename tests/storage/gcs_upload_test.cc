// The upload state machine of GcsStore against the in-process double of
// tests/support/gcs_fake_http.h (the Node double and the firebase emulator
// cover the same over real sockets).
#include <gtest/gtest.h>

#include <random>

#include "core/crc32c.h"
#include "storage/gcs_store.h"
#include "support/fake_retry_clock.h"
#include "support/gcs_fake_http.h"

namespace mt::storage {
namespace {

using testing::FakeGcs;

constexpr size_t kQ = kGcsChunkQuantum;

std::string Bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::unique_ptr<GcsStore> Store(FakeGcs* fake, size_t chunk = 2 * kQ) {
  GcsOptions o;
  o.endpoint = "http://fake";
  o.bucket = "bkt";
  o.prefix = "pre";
  o.auth = std::make_shared<testing::NoToken>();
  o.chunk_size = chunk;
  o.http_factory = [fake] { return fake->Client(); };
  static testing::FakeRetryClock clock;  // retries wait no real time
  o.clock = &clock;
  o.retry.max_attempts = 5;
  auto s = NewGcsStore(o);
  EXPECT_TRUE(s.ok());
  return std::move(*s);
}

// Appends in uneven pieces, as the Parquet writer does.
Status Write(GcsStore* s, const std::string& name, const std::string& data, bool overwrite = false) {
  auto w = s->Create(name, overwrite);
  if (!w.ok()) return w.status();
  for (size_t off = 0, piece = 1; off < data.size(); off += piece, piece = piece * 3 + 1) {
    MT_RETURN_IF_ERROR((*w)->Append(std::string_view(data).substr(off, piece)));
  }
  return (*w)->Commit();
}

int Count(const FakeGcs& f, const std::string& method, const std::string& needle) {
  int n = 0;
  for (const auto& s : f.seen) n += s.method == method && s.url.find(needle) != std::string::npos;
  return n;
}

TEST(GcsUpload, SmallObjectIsOneCreateOnlyMediaUpload) {
  FakeGcs fake;
  auto s = Store(&fake);
  const std::string data = Bytes(1000, 1);
  ASSERT_TRUE(Write(s.get(), "a:b c.parquet", data).ok());
  ASSERT_EQ(fake.seen.size(), 1u);
  EXPECT_NE(fake.seen[0].url.find("uploadType=media&name=pre%2Fa%3Ab%20c.parquet&ifGenerationMatch=0"),
            std::string::npos);
  EXPECT_EQ(fake.objects["pre/a:b c.parquet"].data, data);
  // Zero bytes work too.
  ASSERT_TRUE(Write(s.get(), "empty", "").ok());
  EXPECT_EQ(fake.objects["pre/empty"].data, "");
}

TEST(GcsUpload, CreateOnlyGivesAlreadyExists) {
  FakeGcs fake;
  auto s = Store(&fake);
  ASSERT_TRUE(Write(s.get(), "x", "one").ok());
  EXPECT_EQ(Write(s.get(), "x", "two").code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(fake.objects["pre/x"].data, "one");
  // Large (resumable) create-only too: the session start answers 412.
  EXPECT_EQ(Write(s.get(), "x", Bytes(5 * kQ, 2)).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(fake.objects["pre/x"].data, "one");
  // overwrite=true replaces, through a session.
  ASSERT_TRUE(Write(s.get(), "x", "three", true).ok());
  EXPECT_EQ(fake.objects["pre/x"].data, "three");
}

TEST(GcsUpload, LargeObjectGoesInChunksWithBoundedRequests) {
  FakeGcs fake;
  auto s = Store(&fake, 2 * kQ);
  const std::string data = Bytes(9 * kQ + 12345, 3);
  ASSERT_TRUE(Write(s.get(), "big", data).ok());
  EXPECT_EQ(fake.objects["pre/big"].data, data);
  EXPECT_LE(fake.max_body, 2 * kQ);  // never more than one chunk in a request
  EXPECT_EQ(Count(fake, "POST", "uploadType=resumable"), 1);
  EXPECT_EQ(Count(fake, "PUT", "upload_id="), 5);  // 4 full chunks + the final piece
  EXPECT_EQ(fake.seen.back().content_range, "bytes " + std::to_string(8 * kQ) + "-" +
                                                std::to_string(data.size() - 1) + "/" + std::to_string(data.size()));
}

TEST(GcsUpload, ExactMultipleOfChunkFinishesWithEmptyFinalRequest) {
  FakeGcs fake;
  auto s = Store(&fake, kQ);
  const std::string data = Bytes(3 * kQ, 4);
  ASSERT_TRUE(Write(s.get(), "even", data).ok());
  EXPECT_EQ(fake.objects["pre/even"].data, data);
  EXPECT_EQ(fake.seen.back().content_range, "bytes */" + std::to_string(3 * kQ));
}

TEST(GcsUpload, FailedChunkResumesFromTheOffsetTheServerReports) {
  for (int status : {503, 0, 429, 408}) {
    FakeGcs fake;
    fake.fail_chunk = 2;
    fake.fail_status = status;
    fake.fail_keep = kQ;  // half of the failed 2-quantum chunk was stored
    auto s = Store(&fake, 2 * kQ);
    const std::string data = Bytes(7 * kQ + 99, 5);
    ASSERT_TRUE(Write(s.get(), "resumed", data).ok()) << status;
    EXPECT_EQ(fake.objects["pre/resumed"].data, data) << status;
    EXPECT_EQ(Count(fake, "PUT", "upload_id="), 6) << status;  // 2 chunks, the failed one, a query, the resend, the last
    bool queried = false, resent = false;
    for (const auto& r : fake.seen) {
      queried |= r.content_range == "bytes */*";
      resent |= r.content_range == "bytes " + std::to_string(5 * kQ) + "-" + std::to_string(6 * kQ - 1) + "/*";
    }
    EXPECT_TRUE(queried && resent) << status;
  }
}

TEST(GcsUpload, PartialStoreOn308IsResent) {
  FakeGcs fake;
  fake.short_store = kQ;
  auto s = Store(&fake, 2 * kQ);
  const std::string data = Bytes(5 * kQ, 6);
  ASSERT_TRUE(Write(s.get(), "short", data).ok());
  EXPECT_EQ(fake.objects["pre/short"].data, data);
}

TEST(GcsUpload, ChecksumMismatchDeletesTheObjectAndFails) {
  for (size_t size : {size_t{100}, 5 * kQ}) {
    FakeGcs fake;
    fake.corrupt_crc = true;
    auto s = Store(&fake, 2 * kQ);
    const Status st = Write(s.get(), "bad", Bytes(size, 7));
    EXPECT_EQ(st.code(), Status::Code::kIOError);
    EXPECT_NE(st.message().find("does not match"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("deleted it"), std::string::npos) << st.message();
    EXPECT_EQ(fake.objects.count("pre/bad"), 0u);
    EXPECT_EQ(Count(fake, "DELETE", "ifGenerationMatch="), 1);
  }
}

TEST(GcsUpload, RetriedCreateThatAlreadyLandedIsSuccess) {
  FakeGcs fake;
  fake.media_failures = 1;  // stored, but the answer was a 503: the retry sees 412
  auto s = Store(&fake);
  const std::string data = Bytes(500, 8);
  ASSERT_TRUE(Write(s.get(), "landed", data).ok());
  EXPECT_EQ(fake.objects["pre/landed"].data, data);
  // A different object under the name is still "already exists".
  fake.media_failures = 1;
  ASSERT_TRUE(Write(s.get(), "other", "A").ok());
  EXPECT_EQ(Write(s.get(), "other", "B").code(), Status::Code::kAlreadyExists);
}

TEST(GcsUpload, AbortLeavesNothingAndCancelsTheSession) {
  FakeGcs fake;
  auto s = Store(&fake, kQ);
  {
    auto w = s->Create("gone", false);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(Bytes(3 * kQ, 9)).ok());
    (*w)->Abort();
  }
  {
    auto w = s->Create("dropped", false);  // destroyed without Commit
    ASSERT_TRUE((*w)->Append(Bytes(2 * kQ, 9)).ok());
  }
  EXPECT_TRUE(fake.objects.empty());
  EXPECT_TRUE(fake.sessions.empty());  // both sessions were cancelled (DELETE -> 499)
}

TEST(GcsUpload, ExpiredSessionIsRetryableFailure) {
  FakeGcs fake;
  auto s = Store(&fake, kQ);
  auto w = s->Create("expired", false);
  ASSERT_TRUE((*w)->Append(Bytes(kQ, 10)).ok());
  fake.sessions.clear();
  const Status st = (*w)->Append(Bytes(kQ, 11));
  EXPECT_EQ(st.code(), Status::Code::kUnavailable);
  EXPECT_NE(st.message().find("session is gone"), std::string::npos);
  EXPECT_EQ((*w)->Commit().code(), Status::Code::kUnavailable);  // sticky
}


// Read-modify-write: ReadVersioned names the generation it read and
// CreateIfGeneration writes only over that generation (ifGenerationMatch).
Status WriteIf(GcsStore* s, const std::string& name, const std::string& data, int64_t generation) {
  auto w = s->CreateIfGeneration(name, generation);
  if (!w.ok()) return w.status();
  for (size_t off = 0, piece = 1; off < data.size(); off += piece, piece = piece * 3 + 1) {
    MT_RETURN_IF_ERROR((*w)->Append(std::string_view(data).substr(off, piece)));
  }
  return (*w)->Commit();
}

TEST(GcsConditional, ReadVersionedGivesTheGenerationOfTheBytesRead) {
  FakeGcs fake;
  auto s = Store(&fake);
  auto none = s->ReadVersioned("v");
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_EQ(none->generation, 0);
  EXPECT_EQ(none->bytes, "");
  ASSERT_TRUE(WriteIf(s.get(), "v", "first", 0).ok());
  auto one = s->ReadVersioned("v");
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(one->bytes, "first");
  EXPECT_EQ(one->generation, fake.objects["pre/v"].generation);
  EXPECT_GT(one->generation, 0);
}

TEST(GcsConditional, WriteOverTheGenerationReadSucceedsAndAStaleOneGets412) {
  for (size_t size : {size_t{100}, 5 * kQ}) {  // media upload and resumable session
    FakeGcs fake;
    auto s = Store(&fake, 2 * kQ);
    ASSERT_TRUE(WriteIf(s.get(), "m", "v1", 0).ok());
    EXPECT_EQ(WriteIf(s.get(), "m", "again", 0).code(), Status::Code::kAlreadyExists) << size;
    auto read = s->ReadVersioned("m");
    ASSERT_TRUE(read.ok());
    const int64_t g1 = read->generation;
    const std::string v2 = Bytes(size, 20);
    ASSERT_TRUE(WriteIf(s.get(), "m", v2, g1).ok()) << size;
    EXPECT_EQ(fake.objects["pre/m"].data, v2);
    EXPECT_GE(Count(fake, "POST", "ifGenerationMatch=" + std::to_string(g1)), 1) << size;
    // g1 is stale now: the write is refused and the object stays as it is.
    const Status stale = WriteIf(s.get(), "m", "lost update", g1);
    EXPECT_EQ(stale.code(), Status::Code::kAlreadyExists) << size;
    EXPECT_NE(stale.message().find("changed by another writer"), std::string::npos) << stale.message();
    EXPECT_EQ(fake.objects["pre/m"].data, v2);
  }
}

TEST(GcsConditional, AnotherWriterBetweenSessionStartAndFinishGets412) {
  FakeGcs fake;
  auto s = Store(&fake, kQ);
  ASSERT_TRUE(WriteIf(s.get(), "race", "base", 0).ok());
  const int64_t g = fake.objects["pre/race"].generation;
  fake.before_finish = [](FakeGcs& f) {
    f.objects["pre/race"] = {"theirs", f.next_generation++};
    f.before_finish = nullptr;
  };
  EXPECT_EQ(WriteIf(s.get(), "race", Bytes(3 * kQ + 5, 21), g).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(fake.objects["pre/race"].data, "theirs");
}

// A replace (ifGenerationMatch=N) whose stored object does not match what was
// sent fails, but keeps the new generation: generation N is already gone, so
// deleting it would leave no object (and the next read would find nothing to
// merge into). A create-only write's damaged object is still deleted.
TEST(GcsConditional, DamagedReplaceFailsAndKeepsAnObject) {
  for (size_t size : {size_t{100}, 5 * kQ}) {  // media upload and resumable session
    FakeGcs fake;
    auto s = Store(&fake, 2 * kQ);
    ASSERT_TRUE(WriteIf(s.get(), "r", "base", 0).ok());
    const int64_t g = fake.objects["pre/r"].generation;
    fake.corrupt_crc = true;
    const std::string data = Bytes(size, 23);
    const Status st = WriteIf(s.get(), "r", data, g);
    EXPECT_EQ(st.code(), Status::Code::kIOError) << size;
    EXPECT_TRUE(st.retryable()) << st.message();
    EXPECT_NE(st.message().find("does not match what was sent (crc32c"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("replaced generation " + std::to_string(g)), std::string::npos) << st.message();
    ASSERT_EQ(fake.objects.count("pre/r"), 1u) << size;
    EXPECT_GT(fake.objects["pre/r"].generation, g);
    EXPECT_EQ(fake.objects["pre/r"].data, data);
    EXPECT_EQ(Count(fake, "DELETE", "/o/"), 0) << size;
    // The caller's next read-modify-write reads that generation and replaces it.
    fake.corrupt_crc = false;
    auto read = s->ReadVersioned("r");
    ASSERT_TRUE(read.ok()) << read.status().message();
    EXPECT_EQ(read->generation, fake.objects["pre/r"].generation);
    ASSERT_TRUE(WriteIf(s.get(), "r", "fixed", read->generation).ok());
    EXPECT_EQ(fake.objects["pre/r"].data, "fixed");
    // Create-only: nothing was there before, so the damaged object goes.
    fake.corrupt_crc = true;
    const Status created = WriteIf(s.get(), "new", data, 0);
    EXPECT_EQ(created.code(), Status::Code::kIOError);
    EXPECT_NE(created.message().find("deleted it"), std::string::npos) << created.message();
    EXPECT_EQ(fake.objects.count("pre/new"), 0u);
  }
}

TEST(GcsConditional, RetriedConditionalWriteThatLandedIsSuccess) {
  FakeGcs fake;
  auto s = Store(&fake);
  ASSERT_TRUE(WriteIf(s.get(), "l", "base", 0).ok());
  const int64_t g = fake.objects["pre/l"].generation;
  fake.media_failures = 1;  // stored, answered 503: the retry's precondition fails on our own object
  const std::string data = Bytes(700, 22);
  ASSERT_TRUE(WriteIf(s.get(), "l", data, g).ok());
  EXPECT_EQ(fake.objects["pre/l"].data, data);
}

}  // namespace
}  // namespace mt::storage
