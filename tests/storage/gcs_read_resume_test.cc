// GcsStore::ReadTo resuming a cut media read with Range requests, against a
// scripted HTTP double (tests/support/scripted_http.h) that delivers what
// libcurl delivers: a cut body is a head, some bytes, then a transport error;
// a connection that fails before any answer calls no sink method at all.
#include <gtest/gtest.h>

#include "core/crc32c.h"
#include "storage/gcs_store.h"
#include "support/fake_retry_clock.h"
#include "support/gcs_fake_http.h"
#include "support/scripted_http.h"

namespace mt::storage {
namespace {

using testing::ScriptedReply;

constexpr const char* kUrl = "http://fake/storage/v1/b/bkt/o/pre%2Fobj";

std::string Data() {
  std::string s(1000, '\0');
  for (size_t i = 0; i < s.size(); i++) s[i] = static_cast<char>('a' + i % 26 + (i / 26) % 7);
  return s;
}

struct Harness {
  testing::ScriptedHttp http;
  testing::FakeRetryClock clock;
  std::unique_ptr<GcsStore> store;
  Harness() {
    GcsOptions o;
    o.endpoint = "http://fake";
    o.bucket = "bkt";
    o.prefix = "pre";
    o.auth = std::make_shared<mt::testing::NoToken>();
    o.http_factory = [this] { return http.Client(); };
    o.clock = &clock;
    o.retry.max_attempts = 5;
    auto s = NewGcsStore(o);
    EXPECT_TRUE(s.ok());
    store = std::move(*s);
  }
};

std::map<std::string, std::string> Media(const std::string& whole, const std::string& content_range = "") {
  std::map<std::string, std::string> h = {{"x-goog-generation", "7"},
                                          {"x-goog-hash", "crc32c=" + Crc32cToBase64(Crc32c(whole))}};
  if (!content_range.empty()) h["content-range"] = content_range;
  return h;
}

// A whole read cut after 400 bytes, then a request that gets no answer at
// all (connection refused or reset before the head): the next request must
// ask for the bytes from 400 on, the place the read stopped, not count the
// cut answer's bytes a second time.
TEST(GcsReadResume, ANoAnswerAfterACutBodyResumesWhereTheBytesStopped) {
  Harness h;
  const std::string data = Data();
  h.http.Script(kUrl, {ScriptedReply(200, data.substr(0, 400), Media(data), Status::Unavailable("cut")),
                       ScriptedReply(0, "", {}, Status::Unavailable("connection refused")),
                       ScriptedReply(206, data.substr(400), Media(data, "bytes 400-999/1000"))});
  auto got = h.store->Read("obj");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, data);
  ASSERT_EQ(h.http.requests(), 3);
  EXPECT_EQ(h.http.RequestHeader(1, "Range"), "bytes=400-");
  EXPECT_EQ(h.http.RequestHeader(2, "Range"), "bytes=400-");
  // No answer is no progress: the retry after it waits.
  EXPECT_EQ(h.clock.sleeps().size(), 1u);
}

// The same in a ranged read (a Parquet footer or column chunk), which has no
// CRC32C to catch a gap: the bytes must be those of the range.
TEST(GcsReadResume, ARangedReadCutThenUnansweredHasNoGap) {
  Harness h;
  const std::string data = Data();
  h.http.Script(
      kUrl, {ScriptedReply(206, data.substr(100, 300), Media(data, "bytes 100-899/1000"), Status::Unavailable("cut")),
             ScriptedReply(0, "", {}, Status::Unavailable("connection reset")),
             ScriptedReply(206, data.substr(400, 500), Media(data, "bytes 400-899/1000"))});
  auto got = h.store->ReadRange("obj", 100, 800);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->size(), 800u);
  EXPECT_TRUE(*got == data.substr(100, 800));
  ASSERT_EQ(h.http.requests(), 3);
  EXPECT_EQ(h.http.RequestHeader(2, "Range"), "bytes=400-899");
}

}  // namespace
}  // namespace mt::storage
