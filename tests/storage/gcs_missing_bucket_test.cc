// A bucket that does not exist is a configuration to fix (exit 2), not a
// missing object: the JSON API answers 404 to a listing or an upload only
// when the bucket itself is not there (an empty prefix lists as 200 with no
// items). Against the scripted HTTP double (tests/support/scripted_http.h).
#include <gtest/gtest.h>

#include "core/exit_code.h"
#include "storage/gcs_store.h"
#include "support/fake_retry_clock.h"
#include "support/gcs_fake_http.h"
#include "support/scripted_http.h"

namespace mt::storage {
namespace {

using testing::ScriptedReply;

const char* kNoBucket =
    R"({"error":{"code":404,"message":"The specified bucket does not exist.","errors":[{"reason":"notFound"}]}})";

std::unique_ptr<GcsStore> Store(testing::ScriptedHttp* http, testing::FakeRetryClock* clock) {
  GcsOptions o;
  o.endpoint = "http://fake";
  o.bucket = "nobkt";
  o.prefix = "pre";
  o.auth = std::make_shared<mt::testing::NoToken>();
  o.http_factory = [http] { return http->Client(); };
  o.clock = clock;
  auto s = NewGcsStore(o);
  EXPECT_TRUE(s.ok());
  return std::move(*s);
}

TEST(GcsMissingBucket, AListingOfABucketThatDoesNotExistIsAUsageError) {
  testing::ScriptedHttp http;
  testing::FakeRetryClock clock;
  http.Script("http://fake/storage/v1/b/nobkt/o", {ScriptedReply(404, kNoBucket)});
  auto store = Store(&http, &clock);
  auto listed = store->ListObjects("raw_tick_data/");
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.status().code(), Status::Code::kUsage) << listed.status().message();
  EXPECT_EQ(ExitCodeFor(listed.status()), 2);
  EXPECT_NE(listed.status().message().find("bucket gs://nobkt does not exist"), std::string::npos)
      << listed.status().message();
  EXPECT_EQ(http.requests(), 1);
}

TEST(GcsMissingBucket, AnUploadIntoABucketThatDoesNotExistIsAUsageError) {
  for (size_t size : {size_t{100}, 3 * kGcsChunkQuantum}) {
    testing::ScriptedHttp http;
    testing::FakeRetryClock clock;
    http.Script("http://fake/upload/storage/v1/b/nobkt/o", {ScriptedReply(404, kNoBucket)});
    auto store = Store(&http, &clock);
    auto w = store->Create("obj.parquet", false);
    ASSERT_TRUE(w.ok());
    Status st = (*w)->Append(std::string(size, 'x'));
    if (st.ok()) st = (*w)->Commit();
    ASSERT_FALSE(st.ok()) << size;
    EXPECT_EQ(st.code(), Status::Code::kUsage) << size << ": " << st.message();
    EXPECT_NE(st.message().find("bucket gs://nobkt does not exist"), std::string::npos) << st.message();
  }
}

// An object that is not there is still kNotFound (a 404 of the object's own URL).
TEST(GcsMissingBucket, AMissingObjectIsStillNotFound) {
  testing::ScriptedHttp http;
  testing::FakeRetryClock clock;
  http.Script("http://fake/storage/v1/b/nobkt/o/pre%2Fobj",
              {ScriptedReply(404, R"({"error":{"code":404,"message":"No such object: nobkt/pre/obj"}})")});
  auto store = Store(&http, &clock);
  auto st = store->Stat("obj");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace mt::storage
