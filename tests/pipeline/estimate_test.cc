// plan --estimate: which items are sampled (bounded, deterministic, spread
// over strata, days and symbols) and how sampled sizes extrapolate. The
// requests themselves are tested over real sockets in tests/js/estimate.test.mjs.
#include "pipeline/estimate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace mt::pipeline {
namespace {

std::vector<WorkItem> Grid(const std::vector<std::string>& exchanges, const std::vector<std::string>& types,
                           const std::vector<std::string>& symbols, int days) {
  std::vector<WorkItem> out;
  for (int d = 0; d < days; d++) {
    for (const auto& t : types) {
      for (const auto& e : exchanges) {
        for (const auto& s : symbols) out.push_back(WorkItem{AddDays(Date{2024, 1, 1}, d), t, e, s});
      }
    }
  }
  return out;
}

TEST(EstimateSamples, BoundedSortedUniqueAndDeterministic) {
  const auto items = Grid({"binance-futures", "deribit"}, {"trades", "quotes"}, {"A", "B", "C"}, 30);
  for (size_t budget : {0u, 1u, 3u, 4u, 32u, 359u, 360u, 1000u}) {
    const auto s = ChooseSamples(items, budget);
    EXPECT_EQ(s.size(), std::min<size_t>(budget, items.size())) << budget;
    EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
    EXPECT_EQ(std::set<size_t>(s.begin(), s.end()).size(), s.size());
    EXPECT_EQ(s, ChooseSamples(items, budget));
  }
  EXPECT_TRUE(ChooseSamples({}, 32).empty());
}

TEST(EstimateSamples, EveryStratumGetsOneThenShares) {
  // A big stratum (100 items) and three of 2: 8 samples give each small one
  // one sample and the rest to the big one (in proportion).
  std::vector<WorkItem> items = Grid({"binance"}, {"trades"}, {"S"}, 100);
  for (const char* t : {"quotes", "book_ticker", "derivative_ticker"}) {
    for (auto& w : Grid({"binance"}, {t}, {"S"}, 2)) items.push_back(w);
  }
  std::map<std::string, int> per_type;
  for (size_t i : ChooseSamples(items, 8)) per_type[items[i].data_type]++;
  EXPECT_EQ(per_type["trades"], 5);
  EXPECT_EQ(per_type["quotes"], 1);
  EXPECT_EQ(per_type["book_ticker"], 1);
  EXPECT_EQ(per_type["derivative_ticker"], 1);
  // Fewer samples than strata: the largest strata first.
  per_type.clear();
  for (size_t i : ChooseSamples(items, 1)) per_type[items[i].data_type]++;
  EXPECT_EQ(per_type["trades"], 1);
  EXPECT_EQ(per_type.size(), 1u);
}

TEST(EstimateSamples, SpreadOverDaysAndSymbols) {
  // 4 symbols x 10 days in one stratum, 10 samples: a plain stride over the
  // (day, symbol) order would take the same symbol position every day.
  const auto items = Grid({"binance"}, {"trades"}, {"A", "B", "C", "D"}, 10);
  std::set<std::string> symbols;
  std::set<Date> days;
  for (size_t i : ChooseSamples(items, 10)) {
    symbols.insert(items[i].symbol);
    days.insert(items[i].day);
  }
  EXPECT_EQ(symbols.size(), 4u);
  EXPECT_EQ(days.size(), 10u);
  // 4 samples over 20 days: days spread over the range, not the first four.
  const auto few = Grid({"binance"}, {"trades"}, {"A"}, 20);
  std::vector<int> picked;
  for (size_t i : ChooseSamples(few, 4)) picked.push_back(few[i].day.day);
  EXPECT_EQ(picked, (std::vector<int>{3, 8, 13, 18}));
}

TEST(EstimateExtrapolate, MeanTimesItemsPerStratumWithStandardError) {
  // Stratum trades: 10 items, samples 100 and 300 (mean 200): 2,000 bytes,
  // SE = 10 * sd(141.42) / sqrt(2) * sqrt(1 - 2/10) = 894.43.
  // Stratum quotes: 5 items, one sample of 50: 250 bytes, no SE.
  std::vector<WorkItem> items = Grid({"x"}, {"trades"}, {"S"}, 10);
  for (auto& w : Grid({"x"}, {"quotes"}, {"S"}, 5)) items.push_back(w);
  const PlanEstimate e = Extrapolate(items, {{0, 100}, {5, 300}, {12, 50}}, 3, 1e-3);
  EXPECT_DOUBLE_EQ(e.bytes, 2250);
  ASSERT_EQ(e.strata.size(), 2u);
  EXPECT_EQ(e.strata[0].data_type, "quotes");
  EXPECT_DOUBLE_EQ(e.strata[0].bytes, 250);
  EXPECT_FALSE(e.strata[0].standard_error.has_value());
  EXPECT_EQ(e.strata[1].sampled, 2u);
  EXPECT_EQ(e.strata[1].sampled_bytes, 400u);
  ASSERT_TRUE(e.strata[1].standard_error.has_value());
  EXPECT_NEAR(*e.strata[1].standard_error, 10 * std::sqrt(20000.0) / std::sqrt(2.0) * std::sqrt(0.8), 1e-9);
  ASSERT_TRUE(e.standard_error.has_value());
  EXPECT_NEAR(*e.standard_error, *e.strata[1].standard_error, 1e-9);
  EXPECT_EQ(e.objects, 15u + 3u);
  // 2,250 bytes at 1,000 bytes/s: 2.25 s.
  EXPECT_NEAR(e.machine_hours, 2.25 / 3600, 1e-15);
}

TEST(EstimateExtrapolate, UnsampledStratumBorrowsItsDataTypesMean) {
  // Stratum (a, trades) sampled at 1,000 per item; (b, trades) not sampled:
  // 3 items at 1,000. (c, quotes) not sampled, no quotes sampled anywhere:
  // the mean of every sample.
  std::vector<WorkItem> items = Grid({"a"}, {"trades"}, {"S"}, 2);
  for (auto& w : Grid({"b"}, {"trades"}, {"S"}, 3)) items.push_back(w);
  for (auto& w : Grid({"c"}, {"quotes"}, {"S"}, 4)) items.push_back(w);
  const PlanEstimate e = Extrapolate(items, {{0, 1000}, {1, 1000}}, 0, 100);
  ASSERT_EQ(e.strata.size(), 3u);
  EXPECT_DOUBLE_EQ(e.strata[1].bytes, 3000);
  EXPECT_TRUE(e.strata[1].borrowed);
  EXPECT_DOUBLE_EQ(e.strata[2].bytes, 4000);
  EXPECT_TRUE(e.strata[2].borrowed);
  EXPECT_TRUE(e.any_borrowed);
  EXPECT_DOUBLE_EQ(e.bytes, 9000);
  // Equal samples: zero spread.
  ASSERT_TRUE(e.standard_error.has_value());
  EXPECT_DOUBLE_EQ(*e.standard_error, 0);
}

TEST(EstimateExtrapolate, GroupedFilesAreNotCountedAsOneObject) {
  std::vector<WorkItem> items = {WorkItem{Date{2024, 1, 1}, "trades", "deribit", "OPTIONS"},
                                 WorkItem{Date{2024, 1, 1}, "trades", "deribit", "BTC-PERPETUAL"}};
  const PlanEstimate e = Extrapolate(items, {{0, 10}, {1, 20}}, 0, 100);
  EXPECT_EQ(e.grouped_items, 1u);
  EXPECT_EQ(e.objects, 1u);
  EXPECT_DOUBLE_EQ(e.bytes, 30);
}

}  // namespace
}  // namespace mt::pipeline
