// The downloader's bounds on what a server sends, with an HTTP test double
// that breaks the protocol in ways libcurl would hide (curl never hands over
// more body than the Content-Length announced), so the downloader's own
// checks are what is tested here. Real sockets: tests/js/download.test.mjs.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <string>

#include "pipeline/downloader.h"
#include "storage/object_store.h"
#include "support/gzip.h"

namespace mt::pipeline {
namespace {

namespace fs = std::filesystem;

using testing::Gzip;

const std::string kCsv =
    "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
    "binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,0.132\n";

// Answers every request with 200, `announced` as Content-Length and `body`,
// then `extra` bytes more, in one delivery; counts requests.
class OverlongHttp : public net::HttpClient {
 public:
  OverlongHttp(std::string body, size_t extra, int* requests) : body_(std::move(body)), extra_(extra), requests_(requests) {}
  net::HttpResult Fetch(const net::HttpRequest&, net::HttpBodySink* sink) override {
    ++*requests_;
    net::HttpResult r;
    r.head.status = 200;
    r.head.headers["content-length"] = std::to_string(body_.size());
    r.sink_error = sink->OnHead(r.head);
    std::string all = body_ + std::string(extra_, 'x');
    if (r.sink_error.ok()) r.sink_error = sink->OnBody(all.data(), all.size());
    return r;
  }

 private:
  std::string body_;
  size_t extra_;
  int* requests_;
};

// Answers the first `failures` requests with 503 and a `junk`-byte body,
// then 200 with `body`; counts requests.
class FlakyHttp : public net::HttpClient {
 public:
  FlakyHttp(std::string body, int failures, size_t junk, int* requests)
      : body_(std::move(body)), failures_(failures), junk_(junk), requests_(requests) {}
  net::HttpResult Fetch(const net::HttpRequest&, net::HttpBodySink* sink) override {
    const bool fail = (*requests_)++ < failures_;
    net::HttpResult r;
    r.head.status = fail ? 503 : 200;
    const std::string all = fail ? std::string(junk_, 'x') : body_;
    r.head.headers["content-length"] = std::to_string(all.size());
    r.sink_error = sink->OnHead(r.head);
    if (r.sink_error.ok()) r.sink_error = sink->OnBody(all.data(), all.size());
    return r;
  }

 private:
  std::string body_;
  int failures_;
  size_t junk_;
  int* requests_;
};

struct DownloadRun {
  ItemResult result;
  int requests = 0;
  std::vector<std::string> files;
};

DownloadRun Download(size_t extra, uint64_t max_bytes, const std::string& name, int failures = 0) {
  const fs::path dir = fs::temp_directory_path() / ("mt-dl-bounds-" + name);
  fs::remove_all(dir);
  auto store = storage::NewLocalStore(dir.string());
  DownloadRun run;
  DownloadOptions o;
  o.datasets_url = "http://127.0.0.1:9";
  o.store = store.get();
  o.concurrency = 1;
  o.retry.base_delay_s = 0.001;
  o.item_max_bytes = max_bytes;
  const std::string body = Gzip(kCsv);
  o.http_factory = [&]() -> std::unique_ptr<net::HttpClient> {
    if (failures > 0) return std::make_unique<FlakyHttp>(body, failures, body.size(), &run.requests);
    return std::make_unique<OverlongHttp>(body, extra, &run.requests);
  };
  Downloader dl(o);
  auto results = dl.Run({WorkItem{Date{2020, 2, 22}, "trades", "binance-futures", "BTCUSDT", {}}});
  run.result = results.at(0);
  if (fs::exists(dir)) {
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) run.files.push_back(e.path().filename().string());
    }
  }
  fs::remove_all(dir);
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
