// The downloader's retries with the scripted HTTP double and a fake retry
// clock: which answers are retried, the waits between requests (none after
// the last), Retry-After, resume without a wait, cancel during a wait.
// Real sockets and the test server: tests/js/download.test.mjs.
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <string>

#include "pipeline/downloader.h"
#include "support/download_one_item.h"
#include "support/fake_retry_clock.h"
#include "support/gzip.h"
#include "support/memory_store_double.h"
#include "support/scripted_http.h"

namespace mt::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::ScriptedReply;

const std::string kCsv =
    "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
    "binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,0.132\n"
    "binance-futures,BTCUSDT,1582329603111000,1582329603418379,42377945,sell,9681,0.5\n";

struct ItemRun {
  ItemResult result;
  testing::ScriptedHttp http;
  testing::FakeRetryClock clock;
  std::vector<std::string> files;
};

// Downloads one item whose every request is answered from `replies`, with
// `max_attempts` and waits of 1, 2, 4 ... s (jittered, capped at 60 s).
void Download(ItemRun* run, std::vector<ScriptedReply> replies, int max_attempts, const std::string& name,
              const std::atomic<bool>* cancel = nullptr, double max_total_s = 1800) {
  run->http.Script("", std::move(replies));
  std::atomic<bool> never{false};
  DownloadOptions o;
  o.retry.max_attempts = max_attempts;
  o.retry.max_total_s = max_total_s;
  o.clock = &run->clock;
  o.cancel = cancel ? cancel : &never;
  o.http_factory = [run] { return run->http.Client(); };
  run->result = testing::DownloadOneItem("mt-dl-retry-" + name, std::move(o), &run->files);
}

TEST(DownloaderRetry, TransientAnswersAreRetriedWithBackoffAndRetryAfter) {
  ItemRun r;
  Download(&r,
           {{503, "busy"},
            {0, "", {}, Status::Unavailable("connection refused")},
            {429, "slow down", {{"retry-after", "3"}}},
            {200, testing::Gzip(kCsv)}},
           10, "transient");
  EXPECT_EQ(r.result.outcome, Outcome::kDone) << r.result.reason;
  EXPECT_EQ(r.result.rows, 2u);
  EXPECT_EQ(r.result.requests, 4);
  EXPECT_EQ(r.http.requests(), 4);
  const auto s = r.clock.sleeps();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_GE(s[0], 0.5);  // 1 s with jitter
  EXPECT_LT(s[0], 1.0);
  EXPECT_GE(s[1], 1.0);  // 2 s with jitter
  EXPECT_LT(s[1], 2.0);
  EXPECT_EQ(s[2], 3.0);  // the server's Retry-After
  EXPECT_EQ(r.http.seen().at(3).url.find("?retryAttempt=3") != std::string::npos, true);
  EXPECT_EQ(r.files, std::vector<std::string>{"BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet"});
}

// Issue: the loop slept once more after its last request before giving up.
TEST(DownloaderRetry, GivesUpAfterTheLastRequestWithoutAnotherWait) {
  ItemRun r;
  Download(&r, {{503, "busy"}}, 3, "persistent");
  EXPECT_EQ(r.result.outcome, Outcome::kRetryable);
  EXPECT_EQ(r.result.requests, 3);
  EXPECT_NE(r.result.reason.find("gave up after 3 requests"), std::string::npos) << r.result.reason;
  EXPECT_NE(r.result.reason.find("last error: HTTP 503"), std::string::npos) << r.result.reason;
  EXPECT_EQ(r.clock.sleeps().size(), 2u) << "a wait between requests, none after the last";
  EXPECT_TRUE(r.files.empty());
}

TEST(DownloaderRetry, NoWaitOutlastsTheTimeBudget) {
  ItemRun r;
  Download(&r, {{503, "busy"}}, 100, "budget", nullptr, /*max_total_s=*/10);
  EXPECT_EQ(r.result.outcome, Outcome::kRetryable);
  const auto s = r.clock.sleeps();
  EXPECT_LE(std::accumulate(s.begin(), s.end(), 0.0), 10.0);
  EXPECT_EQ(r.result.requests, static_cast<int>(s.size()) + 1);
}

// A damaged gzip is the source's file only when whole downloads in a row
// give the same damage: copies damaged differently (on the way) are fetched
// again within the attempts, and retryable when those run out.
TEST(DownloaderRetry, DamagedCopiesAreFetchedAgainUntilTheSameDamageRepeats) {
  const std::string gz = testing::Gzip(kCsv);
  ASSERT_GT(gz.size(), 40u);
  auto cut = [&](size_t less) { return ScriptedReply(200, gz.substr(0, gz.size() - less)); };

  ItemRun differ;
  Download(&differ, {cut(10), cut(12), cut(14), cut(16), {200, gz}}, 10, "damage-differs");
  EXPECT_EQ(differ.result.outcome, Outcome::kDone) << differ.result.reason;
  EXPECT_EQ(differ.http.requests(), 5);

  ItemRun out;
  Download(&out, {cut(10), cut(12), cut(14), cut(16)}, 4, "damage-out-of-attempts");
  EXPECT_EQ(out.result.outcome, Outcome::kRetryable) << out.result.reason;
  EXPECT_NE(out.result.reason.find("the downloaded copy is damaged and no attempt is left to download it again"),
            std::string::npos)
      << out.result.reason;
  EXPECT_EQ(out.http.requests(), 4);

  ItemRun same;
  Download(&same, {cut(12), cut(10), cut(10), cut(10), {200, gz}}, 10, "damage-same");
  EXPECT_EQ(same.result.outcome, Outcome::kFailed) << same.result.reason;
  EXPECT_NE(same.result.reason.find(
                ": the source's file is damaged: 3 downloads of it in a row gave the same damaged bytes ("),
            std::string::npos)
      << same.result.reason;
  EXPECT_EQ(same.result.reason.find("re-download it"), std::string::npos) << same.result.reason;
  EXPECT_EQ(same.http.requests(), 4);
  EXPECT_TRUE(same.files.empty());
}

// 18,000 trades rows of varied values in 12 parts (the first with the
// header), each about a third of a 64 KiB block when compressed.
std::vector<std::string> ManyRowsParts() {
  std::vector<std::string> parts;
  uint64_t x = 12345;
  for (int m = 0; m < 12; m++) {
    std::string csv = m == 0 ? "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n" : "";
    for (int i = 0; i < 1500; i++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      const int row = m * 1500 + i;
      csv += "binance-futures,BTCUSDT," + std::to_string(1582329602111000 + row * 1000) + "," +
             std::to_string(1582329602418379 + row * 1000) + "," + std::to_string(42377944 + row) + "," +
             ((x >> 33) & 1 ? "buy" : "sell") + "," + std::to_string(9000 + (x >> 40) % 1000) + "." +
             std::to_string((x >> 20) % 100) + ",0." + std::to_string((x >> 10) % 1000) + "\n";
    }
    parts.push_back(std::move(csv));
  }
  return parts;
}

// A gzip of several members (valid: they decompress as one), one per part,
// so damage at a member's start is found by the decoder there, inside the
// file, with no garbage before it.
std::vector<std::string> ManyMembers() {
  std::vector<std::string> members;
  for (const std::string& part : ManyRowsParts()) members.push_back(testing::Gzip(part));
  return members;
}

// Issue: damage was told apart by kind, length and ETag only, so full-length
// copies damaged on the way at a different place each time counted as the
// same damage, and the item failed as a damaged source file (exit 1) though
// a rerun could get a whole copy. Only the same bytes are the same damage,
// however the network cuts them into pieces.
TEST(DownloaderRetry, DamagedCopiesAreToldApartByTheirBytes) {
  const std::vector<std::string> members = ManyMembers();
  std::string gz;
  std::vector<size_t> starts;
  for (const std::string& m : members) {
    starts.push_back(gz.size());
    gz += m;
  }
  ASSERT_GT(gz.size(), 3u * 64 * 1024) << "the file spans several blocks";
  const std::map<std::string, std::string> head = {{"etag", "\"v1\""}, {"content-length", std::to_string(gz.size())}};
  // The whole file with member k's first byte damaged: same length and ETag.
  auto damaged = [&](size_t k, size_t chunk) {
    std::string body = gz;
    body[starts.at(k)] = 0;
    ScriptedReply r(200, body, head);
    r.chunk = chunk;
    return r;
  };

  ItemRun differ;
  Download(&differ, {damaged(3, 16384), damaged(6, 16384), damaged(9, 16384), {200, gz, head}}, 10,
           "damage-bytes-differ");
  EXPECT_EQ(differ.result.outcome, Outcome::kDone) << differ.result.reason;
  EXPECT_EQ(differ.http.requests(), 4);
  EXPECT_EQ(differ.result.rows, 18000u);

  ItemRun out;
  Download(&out, {damaged(3, 16384), damaged(6, 16384), damaged(9, 16384), damaged(11, 16384)}, 4,
           "damage-bytes-out-of-attempts");
  EXPECT_EQ(out.result.outcome, Outcome::kRetryable) << out.result.reason;
  EXPECT_NE(out.result.reason.find("http://127.0.0.1:9/v1/binance-futures/trades/2020/02/22/BTCUSDT.csv.gz: the "
                                   "downloaded copy is damaged and no attempt is left to download it again (gave up "
                                   "after 4 requests"),
            std::string::npos)
      << out.result.reason;
  EXPECT_NE(
      out.result.reason.find("unexpected bytes after the end of the gzip stream at byte " + std::to_string(starts[11])),
      std::string::npos)
      << out.result.reason;
  EXPECT_EQ(out.http.requests(), 4);
  EXPECT_TRUE(out.files.empty());

  // The same bytes in pieces of other sizes: the decoder fails at the end of
  // a different piece each time, and they are still the same damage.
  ItemRun same;
  Download(&same, {damaged(6, 1000), damaged(6, 16384), damaged(6, 50000), {200, gz, head}}, 10, "damage-bytes-same");
  EXPECT_EQ(same.result.outcome, Outcome::kFailed) << same.result.reason;
  EXPECT_NE(same.result.reason.find("/BTCUSDT.csv.gz: the source's file is damaged: 3 downloads of it in a row "
                                    "gave the same damaged bytes ("),
            std::string::npos)
      << same.result.reason;
  EXPECT_EQ(same.http.requests(), 3);
  EXPECT_TRUE(same.files.empty());

  // One of the copies in two answers (cut, then resumed with a Range before
  // the damage): the same bytes, the same damage.
  ItemRun resumed;
  const size_t cut = starts.at(6) - 5000;
  std::string body6 = gz;
  body6[starts.at(6)] = 0;
  Download(&resumed,
           {damaged(6, 16384),
            {200, body6.substr(0, cut), head, Status::Unavailable("connection reset")},
            {206,
             body6.substr(cut),
             {{"etag", "\"v1\""},
              {"content-length", std::to_string(gz.size() - cut)},
              {"content-range",
               "bytes " + std::to_string(cut) + "-" + std::to_string(gz.size() - 1) + "/" + std::to_string(gz.size())}}},
            damaged(6, 50000),
            {200, gz, head}},
           10, "damage-bytes-resumed");
  EXPECT_EQ(resumed.result.outcome, Outcome::kFailed) << resumed.result.reason;
  EXPECT_EQ(resumed.http.requests(), 4);
  EXPECT_EQ(resumed.http.RequestHeader(2, "Range"), "bytes=" + std::to_string(cut) + "-");

  // Damaged at the same place but to another value: other bytes.
  ItemRun other_value;
  std::string other = gz;
  other[starts.at(6)] = 1;
  ScriptedReply other_reply(200, other, head);
  other_reply.chunk = 16384;
  Download(&other_value, {damaged(6, 16384), other_reply, damaged(6, 16384), {200, gz, head}}, 10,
           "damage-bytes-other-value");
  EXPECT_EQ(other_value.result.outcome, Outcome::kDone) << other_value.result.reason;
  EXPECT_EQ(other_value.http.requests(), 4);
}

// Issue: a byte damaged on the way inside the deflate data decompresses to
// rows that do not parse before the gzip's CRC32 at the file's end finds
// the damage, and the item failed at once as bad data (exit 1) though a
// second download is whole. Bad data is now reported only once the gzip's
// check has passed; a copy that fails it is damaged bytes, fetched again.
TEST(DownloaderRetry, BadDataInADamagedCopyIsTheDamage) {
  std::string csv;
  for (const std::string& part : ManyRowsParts()) csv += part;
  const std::string gz = testing::Gzip(csv);  // one member
  const std::map<std::string, std::string> head = {{"etag", "\"v1\""}, {"content-length", std::to_string(gz.size())}};
  auto damaged = [&](size_t at) {
    std::string body = gz;
    body[at] = static_cast<char>(body[at] ^ 0xff);
    ScriptedReply r(200, body, head);
    r.chunk = 16384;
    return r;
  };
  // Damage in the middle of the deflate data: whatever it decompresses to
  // (rows that do not parse, or rows that do), a whole copy follows.
  int parse_failures = 0;
  for (int i = 1; i <= 8; i++) {
    const size_t at = gz.size() * i / 9;
    ItemRun r;
    Download(&r, {damaged(at), {200, gz, head}}, 10, "bad-data-damaged-" + std::to_string(i));
    EXPECT_EQ(r.result.outcome, Outcome::kDone) << "damage at " << at << ": " << r.result.reason;
    EXPECT_EQ(r.http.requests(), 2) << "damage at " << at;
    EXPECT_EQ(r.result.rows, 18000u);
    ItemRun once;
    Download(&once, {damaged(at)}, 1, "bad-data-damaged-once-" + std::to_string(i));
    EXPECT_EQ(once.result.outcome, Outcome::kRetryable) << "damage at " << at << ": " << once.result.reason;
    if (once.result.reason.find("the damaged data had failed to parse: ") != std::string::npos) parse_failures++;
  }
  EXPECT_GT(parse_failures, 0) << "no damage made rows that do not parse: the case is not tested";

  // The same damaged bytes at 3 downloads: the source's file, which says so.
  ItemRun same;
  Download(&same, {damaged(gz.size() / 2)}, 10, "bad-data-damaged-same");
  EXPECT_EQ(same.result.outcome, Outcome::kFailed) << same.result.reason;
  EXPECT_NE(same.result.reason.find("the source's file is damaged: 3 downloads of it in a row gave the same damaged "
                                    "bytes (http://127.0.0.1:9/v1/binance-futures/trades/2020/02/22/BTCUSDT.csv.gz: "
                                    "corrupt gzip data"),
            std::string::npos)
      << same.result.reason;
  EXPECT_EQ(same.http.requests(), 3);

  // A whole gzip with a row that does not parse: the file's own bad data,
  // failed after one download, named as it was found.
  ItemRun bad;
  const std::string bad_csv = kCsv + "binance-futures,BTCUSDT,1582329604111000,1582329604418379,42377946,buy,x,1\n";
  Download(&bad, {{200, testing::Gzip(bad_csv), head}}, 10, "bad-data-whole");
  EXPECT_EQ(bad.result.outcome, Outcome::kFailed) << bad.result.reason;
  EXPECT_EQ(bad.http.requests(), 1);
  EXPECT_NE(bad.result.reason.find("BTCUSDT.csv.gz:4:"), std::string::npos) << bad.result.reason;
  EXPECT_NE(bad.result.reason.find("cannot parse \"x\" as a number (column 7 'price')"), std::string::npos)
      << bad.result.reason;
  EXPECT_EQ(bad.result.reason.find("damage"), std::string::npos) << bad.result.reason;
  EXPECT_TRUE(bad.files.empty());
}

TEST(DownloaderRetry, PermanentAnswersAreNotRetried) {
  ItemRun bad;
  Download(&bad, {{400, "bad request"}}, 10, "400");
  EXPECT_EQ(bad.result.outcome, Outcome::kFailed);
  EXPECT_NE(bad.result.reason.find("HTTP 400"), std::string::npos);
  EXPECT_EQ(bad.http.requests(), 1);
  EXPECT_TRUE(bad.clock.sleeps().empty());

  ItemRun missing;
  Download(&missing, {{404, "not found"}}, 10, "404");
  EXPECT_EQ(missing.result.outcome, Outcome::kNotAvailable);
  EXPECT_EQ(missing.http.requests(), 1);
  EXPECT_TRUE(missing.clock.sleeps().empty());
}

// A store whose existence checks fail (GCS answering 503 past its retries).
class ExistsFails : public testing::MemoryStoreDouble {
 public:
  Result<bool> Exists(const std::string& name) override {
    return Status::Unavailable("check " + Describe(name) + ": HTTP 503, gave up after 5 attempts");
  }
};

// An item whose object cannot be checked is not downloaded: the object may
// be there, and a transfer whose create-only write is then refused was
// reported as skipped for "another run" that never existed.
TEST(DownloaderRetry, AnExistenceCheckThatFailsFailsTheItemWithoutARequest) {
  ExistsFails store;
  testing::ScriptedHttp http;
  http.Script("", {{200, testing::Gzip(kCsv)}});
  testing::FakeRetryClock clock;
  std::atomic<bool> never{false};
  DownloadOptions o;
  o.clock = &clock;
  o.cancel = &never;
  o.http_factory = [&http] { return http.Client(); };
  o.datasets_url = "http://127.0.0.1:9";
  o.store = &store;
  o.concurrency = 1;
  Downloader dl(o);
  const ItemResult r = dl.Run({WorkItem{Date{2020, 2, 22}, "trades", "binance-futures", "BTCUSDT", {}}}).at(0);
  EXPECT_EQ(r.outcome, Outcome::kRetryable) << r.reason;
  EXPECT_NE(r.reason.find("checking whether memory://raw_tick_data/"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("HTTP 503"), std::string::npos) << r.reason;
  EXPECT_EQ(http.requests(), 0);
  EXPECT_TRUE(r.objects.empty());
}

// The head of a 206 answer with the rest of `gz` from byte `cut`.
std::map<std::string, std::string> RestFrom(const std::string& gz, size_t cut) {
  return {{"content-range",
           "bytes " + std::to_string(cut) + "-" + std::to_string(gz.size() - 1) + "/" + std::to_string(gz.size())}};
}

TEST(DownloaderRetry, ACutTransferResumesAtOnceWithRange) {
  const std::string gz = testing::Gzip(kCsv);
  const size_t cut = gz.size() / 2;
  const std::string total = std::to_string(gz.size());
  ItemRun r;
  Download(&r,
           {{200, gz.substr(0, cut), {{"content-length", total}}, Status::Unavailable("connection reset")},
            {206,
             gz.substr(cut),
             RestFrom(gz, cut)}},
           10, "resume");
  EXPECT_EQ(r.result.outcome, Outcome::kDone) << r.result.reason;
  EXPECT_EQ(r.result.rows, 2u);
  EXPECT_EQ(r.http.requests(), 2);
  EXPECT_EQ(r.http.RequestHeader(1, "Range"), "bytes=" + std::to_string(cut) + "-");
  EXPECT_TRUE(r.clock.sleeps().empty()) << "progress was made: no wait";
}

// The item done (2 rows) in 4 requests, the 3 after the cut each asking for
// the rest from `cut`; no wait after the cut (progress), one before each
// request after an answer that brought nothing: 1 s then 2 s, with jitter.
void ExpectResumedAtAfterTwoWaits(ItemRun& r, size_t cut) {
  EXPECT_EQ(r.result.outcome, Outcome::kDone) << r.result.reason;
  EXPECT_EQ(r.result.rows, 2u);
  ASSERT_EQ(r.http.requests(), 4);
  for (int i = 1; i < 4; i++) EXPECT_EQ(r.http.RequestHeader(i, "Range"), "bytes=" + std::to_string(cut) + "-") << i;
  const auto s = r.clock.sleeps();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_GE(s[0], 0.5);
  EXPECT_LT(s[0], 1.0);
  EXPECT_GE(s[1], 1.0);
  EXPECT_LT(s[1], 2.0);
}

// A cut transfer, then requests that get no answer at all (the server is
// restarting: connection refused, no status, no body): those are failures
// that wait before the next request, as any request without an answer. The
// cut answer's 200 is not theirs: taken for one, they looked like cut bodies
// (progress), and the item used its attempts up at once without a wait.
TEST(DownloaderRetry, NoAnswerAfterACutTransferWaitsBeforeTheNextRequest) {
  const std::string gz = testing::Gzip(kCsv);
  const size_t cut = gz.size() / 2;
  const std::string total = std::to_string(gz.size());
  ItemRun r;
  Download(&r,
           {{200, gz.substr(0, cut), {{"content-length", total}}, Status::Unavailable("connection reset")},
            {0, "", {}, Status::Unavailable("connection refused")},
            {0, "", {}, Status::Unavailable("connection refused")},
            {206,
             gz.substr(cut),
             RestFrom(gz, cut)}},
           10, "refused-after-cut");
  ExpectResumedAtAfterTwoWaits(r, cut);
}

// A cut transfer, then answers cut after their head, before any byte (a
// proxy that drops the connection): they bring nothing, so they are no
// progress and wait before the next request, as a request without an answer
// does. Taken for progress, the item used its attempts up at once.
TEST(DownloaderRetry, AnswersCutBeforeAnyByteAfterACutTransferWait) {
  const std::string gz = testing::Gzip(kCsv);
  const size_t cut = gz.size() / 2;
  const std::string total = std::to_string(gz.size());
  const std::map<std::string, std::string> rest = RestFrom(gz, cut);
  ItemRun r;
  Download(&r,
           {{200, gz.substr(0, cut), {{"content-length", total}}, Status::Unavailable("connection reset")},
            testing::CutAfterHead(206, rest, Status::Unavailable("connection reset")),
            testing::CutAfterHead(206, rest, Status::Unavailable("connection reset")),
            {206, gz.substr(cut), rest}},
           10, "head-only-after-cut");
  ExpectResumedAtAfterTwoWaits(r, cut);
}

// The same budget: answers that never bring a byte end the item after its
// attempts with waits between them, not at once.
TEST(DownloaderRetry, AnswersThatNeverBringAByteGiveUpAfterWaits) {
  const std::string gz = testing::Gzip(kCsv);
  const size_t cut = gz.size() / 2;
  const std::string total = std::to_string(gz.size());
  const std::map<std::string, std::string> rest = RestFrom(gz, cut);
  ItemRun r;
  Download(&r,
           {{200, gz.substr(0, cut), {{"content-length", total}}, Status::Unavailable("connection reset")},
            testing::CutAfterHead(206, rest, Status::Unavailable("connection reset"))},
           4, "head-only-forever");
  EXPECT_EQ(r.result.outcome, Outcome::kRetryable) << r.result.reason;
  EXPECT_EQ(r.http.requests(), 4);
  EXPECT_EQ(r.clock.sleeps().size(), 2u) << "a wait before the 3rd and 4th requests";
}

TEST(DownloaderRetry, CancelDuringAWaitAbandonsTheItem) {
  std::atomic<bool> cancel{false};
  ItemRun r;
  r.clock.during_sleep = [&] { cancel = true; };  // SIGTERM while waiting
  Download(&r, {{503, "busy"}, {200, testing::Gzip(kCsv)}}, 10, "cancel", &cancel);
  EXPECT_EQ(r.result.outcome, Outcome::kCancelled);
  EXPECT_EQ(r.result.reason, "interrupted");
  EXPECT_EQ(r.http.requests(), 1);
  EXPECT_TRUE(r.files.empty());
}

}  // namespace
}  // namespace mt::pipeline
