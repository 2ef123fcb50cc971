// An item that meets the process's open-file limit while it writes: it fails
// for good (not retryable), the other items still run, and the run ends as a
// configuration error (exit 2), saying to raise `ulimit -n`.
#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "core/exit_code.h"
#include "core/open_files.h"
#include "pipeline/download_job.h"
#include "pipeline/downloader.h"
#include "support/gzip.h"
#include "support/memory_store_double.h"
#include "support/scripted_http.h"

namespace mt::pipeline {
namespace {

std::string Csv(const std::string& symbol) {
  return "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
         "binance-futures," +
         symbol + ",1582329602111000,1582329602418379,42377944,buy,9682,0.132\n";
}

// Every object this store is asked to create meets EMFILE, as the local
// store reports it (a temporary file that cannot be opened).
class OutOfDescriptors : public testing::MemoryStoreDouble {
 public:
  Result<std::unique_ptr<storage::WritableObject>> Create(const std::string& name, bool) override {
    return OpenFileLimitError("create " + name, EMFILE);
  }
};

TEST(DownloaderOpenFiles, AnItemOutOfDescriptorsFailsForGoodAndTheRunIsAConfigurationError) {
  testing::ScriptedHttp http;
  http.Script("", {{200, testing::Gzip(Csv("BTCUSDT"))}, {200, testing::Gzip(Csv("ETHUSDT"))}});
  OutOfDescriptors store;
  DownloadOptions o;
  o.store = &store;
  o.datasets_url = "http://127.0.0.1:9";
  o.concurrency = 1;
  o.http_factory = [&http] { return http.Client(); };
  Downloader dl(o);
  const Date day{2020, 2, 22};
  const auto results = dl.Run({WorkItem{day, "trades", "binance-futures", "BTCUSDT", {}},
                               WorkItem{day, "trades", "binance-futures", "ETHUSDT", {}}});
  ASSERT_EQ(results.size(), 2u);
  for (const ItemResult& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kFailed) << r.reason;
    EXPECT_NE(r.reason.find("raise it with 'ulimit -n'"), std::string::npos) << r.reason;
  }
  EXPECT_EQ(http.requests(), 2) << "the second item ran too, and neither was retried";
  EXPECT_EQ(dl.fatal_error().code(), Status::Code::kUsage) << dl.fatal_error().ToString();
  EXPECT_NE(dl.fatal_error().message().find("ulimit -n"), std::string::npos) << dl.fatal_error().message();
  ::testing::internal::CaptureStderr();
  ItemTotals totals;
  for (const ItemResult& r : results) totals.Add(r);
  const Status run = SummarizeItems(totals, 0.1, dl.fatal_error(), false);
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(ExitCodeFor(run), 2) << run.ToString();
}

}  // namespace
}  // namespace mt::pipeline
