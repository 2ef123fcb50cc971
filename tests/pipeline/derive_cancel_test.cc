// A derive item whose store read is stopped by a signal (the existence check
// of its raw object, a completion record, while SIGTERM stops the run) is
// cancelled, not failed: the summary, the log and --summary-json must not
// count it as failed for good. The interrupt is a store double whose reads
// of raw objects answer kCancelled, as the GCS store does once the cancel
// flag is raised during a request.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "derive/names.h"
#include "pipeline/derive_job.h"
#include "support/memory_store_double.h"

namespace mt::pipeline {
namespace {

class InterruptedRawReadsStore final : public testing::MemoryStoreDouble {
 public:
  Result<bool> Exists(const std::string& name) override {
    if (name.rfind("raw_tick_data/", 0) == 0) return Status::Cancelled("exists " + Describe(name) + ": interrupted");
    return MemoryStoreDouble::Exists(name);
  }
};

TEST(DeriveCancel, AnItemWhoseRawObjectCheckWasInterruptedIsCancelledNotFailed) {
  InterruptedRawReadsStore store;
  std::atomic<bool> never{false};
  DeriveJobOptions o;
  o.request.from = o.request.to = Date{2023, 11, 2};
  o.request.exchanges = {"binance-futures"};
  o.request.data_types = {"trades"};
  o.request.symbols = {"binance-futures:BTCUSDT"};
  auto spec = derive::ParseDerivedName("trade_bar_1m");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  o.derived = {*spec};
  o.tool_version = "test";
  o.cancel = &never;
  std::mutex mu;
  std::vector<ItemResult> results;
  o.on_item = [&](const ItemResult& r) {
    std::lock_guard<std::mutex> l(mu);
    results.push_back(r);
  };
  auto report = RunDeriveJob(&store, o);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, Outcome::kCancelled) << OutcomeName(results[0].outcome) << ": " << results[0].reason;
}

}  // namespace
}  // namespace mt::pipeline
