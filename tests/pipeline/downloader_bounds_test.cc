// The downloader's bounds on what a server sends, with the scripted HTTP
// test double breaking the protocol in ways libcurl would hide (curl never hands over
// more body than the Content-Length announced), so the downloader's own
// checks are what is tested here. Real sockets: tests/js/download.test.mjs.
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "pipeline/downloader.h"
#include "support/download_one_item.h"
#include "support/fake_retry_clock.h"
#include "support/gzip.h"
#include "support/scripted_http.h"

namespace mt::pipeline {
namespace {

using testing::Gzip;

const std::string kCsv =
    "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
    "binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,0.132\n";

struct DownloadRun {
  ItemResult result;
  int requests = 0;
  std::vector<std::string> files;
};

DownloadRun Download(size_t extra, uint64_t max_bytes, const std::string& name, int failures = 0) {
  DownloadRun run;
  DownloadOptions o;
  testing::FakeRetryClock clock;
  o.clock = &clock;
  o.item_max_bytes = max_bytes;
  // `failures` answers of 503 whose bodies are as long as the file, then the
  // file with its length announced and `extra` bytes more.
  const std::string body = Gzip(kCsv);
  const std::string length = std::to_string(body.size());
  std::vector<testing::ScriptedReply> replies(failures, {503, std::string(body.size(), 'x'), {{"content-length", length}}});
  replies.push_back({200, body + std::string(extra, 'x'), {{"content-length", length}}});
  testing::ScriptedHttp http;
  http.Script("", replies);
  o.http_factory = [&] { return http.Client(); };
  run.result = testing::DownloadOneItem("mt-dl-bounds-" + name, std::move(o), &run.files);
  run.requests = http.requests();
  return run;
}

TEST(DownloaderBounds, ExactContentLengthIsDone) {
  const DownloadRun r = Download(0, uint64_t{1} << 30, "exact");
  EXPECT_EQ(r.result.outcome, Outcome::kDone) << r.result.reason;
  EXPECT_EQ(r.result.rows, 1u);
  EXPECT_EQ(r.files.size(), 1u);
}

TEST(DownloaderBounds, MoreBytesThanContentLengthFailTheItem) {
  const DownloadRun r = Download(10, uint64_t{1} << 30, "overlong");
  EXPECT_EQ(r.result.outcome, Outcome::kFailed);
  EXPECT_NE(r.result.reason.find("stopped by the Content-Length bound"), std::string::npos) << r.result.reason;
  EXPECT_NE(r.result.reason.find(".csv.gz: stopped by"), std::string::npos) << "names the file: " << r.result.reason;
  EXPECT_EQ(r.requests, 1) << "a broken framing is not retried";
  EXPECT_TRUE(r.files.empty()) << "nothing written, no temporary file left";
}

TEST(DownloaderBounds, TheSizeBoundNamesItself) {
  const DownloadRun r = Download(0, 16, "size");
  EXPECT_EQ(r.result.outcome, Outcome::kFailed);
  EXPECT_NE(r.result.reason.find("stopped by the size bound: more than 16 bytes"), std::string::npos) << r.result.reason;
  EXPECT_EQ(r.requests, 1);
  EXPECT_TRUE(r.files.empty());
}

// The size bound holds one attempt, not the sum of all: three 503s whose
// bodies are as long as the file, then the file, under a bound just above
// the file's size, is done.
TEST(DownloaderBounds, TheSizeBoundCountsOneAttempt) {
  const uint64_t size = Gzip(kCsv).size();
  const DownloadRun r = Download(0, size + 8, "per-attempt", 3);
  EXPECT_EQ(r.result.outcome, Outcome::kDone) << r.result.reason;
  EXPECT_EQ(r.requests, 4);
  EXPECT_EQ(r.result.rows, 1u);
  EXPECT_EQ(r.files.size(), 1u);
}

}  // namespace
}  // namespace mt::pipeline
