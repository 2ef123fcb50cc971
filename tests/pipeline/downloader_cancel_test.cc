// An item whose store read is stopped by a signal (Ctrl-C, SIGTERM on a
// reclaimed VM while the day's instrument definitions are read) is
// cancelled, as one stopped mid-transfer: the summary and --summary-json
// must not count it as failed for good. The interrupt is a store double
// whose reads answer kCancelled, as the GCS store does once the cancel flag
// is raised during a read.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/downloader.h"
#include "pipeline/key_resolver.h"
#include "support/gzip.h"
#include "support/memory_store_double.h"
#include "support/scripted_http.h"

namespace mt::pipeline {
namespace {

class InterruptedReadsStore final : public testing::MemoryStoreDouble {
 public:
  Result<std::string> Read(const std::string& name) override { return Interrupted(name); }
  Result<std::string> ReadRange(const std::string& name, uint64_t, int64_t) override { return Interrupted(name); }
  Result<Tail> ReadTail(const std::string& name, uint64_t) override { return Interrupted(name); }
  Result<bool> Exists(const std::string& name) override { return Interrupted(name); }
  Result<Versioned> ReadVersioned(const std::string& name) override { return Interrupted(name); }

 private:
  Status Interrupted(const std::string& name) const {
    return Status::Cancelled("read the tail of " + Describe(name) + ": interrupted");
  }
};

TEST(DownloaderCancel, AnItemWhoseDefinitionsReadWasInterruptedIsCancelledNotFailed) {
  InterruptedReadsStore store;
  StoreKeyResolvers keys(&store);
  const std::string base = "http://127.0.0.1:9";
  const Date day{2023, 11, 2};
  // One item keyed from the day's definitions, one grouped item (keyed by
  // them once it holds the slot).
  const std::vector<WorkItem> items = {
      {day, "trades", "binance-futures", "BTCUSDT", {}},
      {day, "trades", "deribit", "OPTIONS", {}},
  };
  testing::ScriptedHttp http;
  for (const WorkItem& item : items) {
    http.Script(DatasetUrl(base, item),
                {{200, testing::Gzip("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n")}});
  }
  std::atomic<bool> never{false};
  DownloadOptions o;
  o.datasets_url = base;
  o.store = &store;
  o.keys = &keys;
  o.concurrency = 1;
  o.cancel = &never;
  o.convert.tool_version = "test";
  o.http_factory = [&] { return http.Client(); };
  Downloader dl(o);
  const std::vector<ItemResult> results = dl.Run(items);
  ASSERT_EQ(results.size(), items.size());
  for (const ItemResult& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kCancelled) << r.item.Id() << ": " << OutcomeName(r.outcome) << ": " << r.reason;
    EXPECT_FALSE(r.config_error) << r.item.Id();
  }
  EXPECT_TRUE(http.seen().empty()) << "no request for items whose definitions were not read";
}

}  // namespace
}  // namespace mt::pipeline
