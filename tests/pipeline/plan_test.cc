#include "pipeline/plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace mt::pipeline {
namespace {

TEST(Plan, ProductIsSortedAndDeduplicated) {
  PlanRequest req;
  req.from = Date{2020, 2, 28};
  req.to = Date{2020, 3, 1};
  req.exchanges = {"deribit", "binance-futures"};
  req.data_types = {"trades", "quotes"};
  req.symbols = {"btcusdt", "deribit:BTC-PERPETUAL", "BTCUSDT"};
  auto plan = BuildPlan(req);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  // 3 days (2020 is a leap year) x 2 types x (BTCUSDT on both + BTC-PERPETUAL on deribit).
  EXPECT_EQ(plan->size(), 3u * 2 * 3);
  EXPECT_TRUE(std::is_sorted(plan->begin(), plan->end()));
  EXPECT_EQ((*plan)[0].Id(), "2020-02-28/quotes/binance-futures/BTCUSDT");
  EXPECT_EQ(plan->back().Id(), "2020-03-01/trades/deribit/BTCUSDT");
  EXPECT_EQ(DatasetUrl("http://h/", (*plan)[0]), "http://h/v1/binance-futures/quotes/2020/02/28/BTCUSDT.csv.gz");
}

TEST(Plan, BadRequestsAreUsageErrors) {
  PlanRequest req;
  req.from = Date{2020, 3, 2};
  req.to = Date{2020, 3, 1};
  req.exchanges = {"deribit"};
  req.data_types = {"trades"};
  req.symbols = {"X"};
  EXPECT_EQ(BuildPlan(req).status().code(), Status::Code::kUsage);
  req.to = req.from;
  req.data_types = {"trade"};
  EXPECT_NE(BuildPlan(req).status().message().find("unknown data type 'trade'"), std::string::npos);
}

TEST(Shard, ParseShard) {
  EXPECT_EQ(ParseShard("3/60")->index, 3u);
  EXPECT_EQ(ParseShard("3/60")->count, 60u);
  for (const char* bad : {"60/60", "-1/4", "1/0", "a/b", "1", "1/2/3", "1 /2"}) {
    EXPECT_FALSE(ParseShard(bad).ok()) << bad;
  }
}

// Property: for N in 1..64 over a synthetic plan of 1,000,000 items, the
// shards partition the plan (union = plan, no overlap) and no shard exceeds
// the mean by more than 3%.
TEST(Shard, PartitionOfAMillionItems) {
  std::vector<WorkItem> plan;
  plan.reserve(1'000'000);
  const char* types[] = {"trades", "quotes", "incremental_book_L2", "book_snapshot_25", "derivative_ticker"};
  const char* exchanges[] = {"binance-futures", "deribit", "okex-swap"};
  for (int i = 0; plan.size() < 1'000'000; i++) {
    const Date day = AddDays(Date{2019, 1, 1}, i % 1000);
    plan.push_back(WorkItem{day, types[i % 5], exchanges[i % 3],
                            "SYM" + std::to_string(i / 3000)});  // unique: (day, type, exchange) repeat every 3000
  }
  std::vector<uint64_t> hashes(plan.size());
  for (size_t i = 0; i < plan.size(); i++) hashes[i] = StableHash(plan[i]);
  for (uint32_t n = 1; n <= 64; n++) {
    std::vector<size_t> sizes(n, 0);
    for (uint64_t h : hashes) sizes[h % n]++;  // each item lands in exactly one shard
    size_t total = 0;
    for (size_t s : sizes) total += s;
    ASSERT_EQ(total, plan.size());
    const double mean = static_cast<double>(plan.size()) / n;
    const size_t mx = *std::max_element(sizes.begin(), sizes.end());
    EXPECT_LE(mx, mean * 1.03) << "n=" << n;
  }
  // SelectShard agrees with the hash slices and the union is the plan.
  std::vector<WorkItem> sample(plan.begin(), plan.begin() + 20000);
  std::set<std::string> seen;
  for (uint32_t i = 0; i < 7; i++) {
    for (const auto& it : SelectShard(sample, Shard{i, 7})) {
      EXPECT_TRUE(seen.insert(it.Id()).second) << "overlap: " << it.Id();
    }
  }
  EXPECT_EQ(seen.size(), sample.size());
}

TEST(Shard, HashIsStable) {
  // Fixed values: a change here would reshuffle running fleets.
  const WorkItem it{Date{2020, 2, 22}, "trades", "binance-futures", "BTCUSDT"};
  EXPECT_EQ(StableHash(it), StableHash(WorkItem{Date{2020, 2, 22}, "trades", "binance-futures", "BTCUSDT"}));
  EXPECT_NE(StableHash(it), StableHash(WorkItem{Date{2020, 2, 23}, "trades", "binance-futures", "BTCUSDT"}));
}

}  // namespace
}  // namespace mt::pipeline
