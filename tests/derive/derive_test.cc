#include <gtest/gtest.h>

#include <map>

#include "derive/computables.h"
#include "derive/names.h"
#include "derive/order_book.h"
#include "storage/layout.h"

namespace mt::derive {
namespace {

TEST(DerivedNames, ParsesAndCanonicalises) {
  auto s = ParseDerivedName("book_snapshot_10_1000ms");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->name, "book_snapshot_10_1s");
  EXPECT_EQ(s->depth, 10);
  EXPECT_EQ(s->interval_us, 1000000);
  EXPECT_FALSE(s->grouped);
  EXPECT_STREQ(s->source_data_type(), "incremental_book_L2");

  s = ParseDerivedName("book_snapshot_25_grouped0.5_0ms");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name, "book_snapshot_25_grouped0.5_0ms");
  EXPECT_TRUE(s->grouped);
  EXPECT_EQ(s->grouping, 0.5);
  EXPECT_EQ(s->interval_us, 0);

  s = ParseDerivedName("trade_bar_120s");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name, "trade_bar_2m");
  EXPECT_EQ(s->bar, BarKind::kTime);
  EXPECT_STREQ(s->source_data_type(), "trades");
  s = ParseDerivedName("trade_bar_100ticks");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->bar, BarKind::kTicks);
  EXPECT_EQ(s->bar_size, 100);
  s = ParseDerivedName("trade_bar_2.50vol");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name, "trade_bar_2.5vol");
  EXPECT_EQ(s->bar_size, 2.5);
  EXPECT_EQ(ParseDerivedName("book_snapshot_1000_1m")->depth, 1000);
}

TEST(DerivedNames, RejectsWithTheAcceptedForms) {
  for (const char* bad : {"book_snapshot_10", "book_snapshot_0_1s", "book_snapshot_1001_1s", "book_snapshot_x_1s",
                          "book_snapshot_5_grouped_1s", "book_snapshot_5_grouped-1_1s", "book_snapshot_5_1h",
                          "trade_bar_0ms", "trade_bar_0ticks", "trade_bar_1.5ticks", "trade_bar_vol", "quotes_1s",
                          "book_snapshot_05_1s", ""}) {
    auto s = ParseDerivedName(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), Status::Code::kUsage) << bad;
    EXPECT_NE(s.status().message().find("book_snapshot_{depth}_{interval}"), std::string::npos) << bad;
  }
  EXPECT_NE(ParseDerivedName("book_snapshot_1001_1s").status().message().find("over the maximum 1000"),
            std::string::npos);
  auto list = ParseDerivedList("trade_bar_1m, trade_bar_60s,book_snapshot_5_0ms");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);  // 60s is 1m
  EXPECT_FALSE(ParseDerivedList(" , ").ok());
}

// Names at the edges of the grammar: a 12-digit count of minutes once
// overflowed int64 microseconds (a garbage name, then an abort when the name
// was parsed again), and a grouping step of 1e-300 was written out into a
// 64-byte buffer that could not hold it (uninitialised bytes in the object
// name). Every accepted name is canonical and parses back to itself.
TEST(DerivedNames, EdgesOfTheGrammarAreRefusedOrRoundTrip) {
  const std::string tiny = "0." + std::string(300, '0') + "1";
  const std::string huge(300, '9');
  for (const std::string& bad :
       {std::string("trade_bar_999999999999m"), std::string("book_snapshot_5_999999999999m"),
        std::string("trade_bar_153722867281m"), std::string("trade_bar_16666666667m"),
        "book_snapshot_2_grouped" + tiny + "_1s", "book_snapshot_2_grouped" + huge + "_1s", "trade_bar_" + tiny + "vol",
        std::string("trade_bar_0.00000000000000000000001vol")}) {
    auto s = ParseDerivedName(bad);
    ASSERT_FALSE(s.ok()) << bad << " -> " << s->name;
    EXPECT_EQ(s.status().code(), Status::Code::kUsage) << bad;
    EXPECT_NE(s.status().message().find("accepted forms"), std::string::npos) << bad;
  }
  for (const char* good :
       {"trade_bar_16666666666m", "trade_bar_999999999999s", "trade_bar_999999999999ms", "book_snapshot_1_999999999999s",
        "trade_bar_999999999999ticks", "trade_bar_0.0000000000000000000001vol", "trade_bar_123456789012345678901234vol",
        "book_snapshot_3_grouped0.0000000000000000000001_0ms", "book_snapshot_3_grouped0.1999999999999999999999_1m"}) {
    auto s = ParseDerivedName(good);
    ASSERT_TRUE(s.ok()) << good << ": " << s.status().message();
    EXPECT_LE(s->name.size(), std::string_view(good).size()) << good;
    auto again = ParseDerivedName(s->name);
    ASSERT_TRUE(again.ok()) << s->name << ": " << again.status().message();
    EXPECT_EQ(again->name, s->name);
    EXPECT_EQ(again->interval_us, s->interval_us) << good;
    EXPECT_GE(s->interval_us, 0) << good;
  }
  EXPECT_EQ(ParseDerivedName("trade_bar_16666666666m")->interval_us, int64_t{16666666666} * 60'000'000);
  EXPECT_EQ(ParseDerivedName("book_snapshot_3_grouped0.1999999999999999999999_1m")->name,
            "book_snapshot_3_grouped0.2_1m");
  // Under 10^15 ms, yet a count of 15 digits: the message states both bounds.
  EXPECT_NE(ParseDerivedName("trade_bar_999999999999999ms")
                .status()
                .message()
                .find("{n}m (n of at most 12 digits, at most 10^15 ms)"),
            std::string::npos);
}

TEST(DerivedNames, SchemaColumns) {
  auto cols = DerivedParquetSchema(*ParseDerivedName("book_snapshot_2_1s"));
  ASSERT_EQ(cols.size(), 12u);
  EXPECT_EQ(cols[4].name, "ask_price_1");
  EXPECT_EQ(cols[5].name, "ask_volume_1");
  EXPECT_EQ(cols[6].name, "bid_price_1");
  EXPECT_EQ(cols[11].name, "bid_volume_2");
  cols = DerivedParquetSchema(*ParseDerivedName("trade_bar_1m"));
  ASSERT_EQ(cols.size(), 15u);
  EXPECT_EQ(cols[4].name, "open");
  EXPECT_EQ(cols[14].name, "close_timestamp");
  EXPECT_EQ(storage::Layout().DerivedObjectName(Date{2020, 4, 1}, "trade_bar_1m", "bitmex", "BITMEX:PERPETUAL:BTC-USD"),
            "derived_data/by_date/day-2020-04-01/data_type-trade_bar_1m/BITMEX:PERPETUAL:BTC-USD.parquet");
}

TEST(OrderBook, KeepsSidesSortedBestFirstAndTracksTheTouchedDepth) {
  OrderBook b;
  b.Apply(kBid, 100, 1);  // before any snapshot: ignored
  EXPECT_EQ(b.size(kBid), 0u);
  EXPECT_EQ(b.touched(kBid), OrderBook::kUntouched);
  b.Reset();
  EXPECT_EQ(b.touched(kBid), 0u);
  for (double p : {99.0, 101.0, 100.0, 98.0}) b.Apply(kBid, p, p / 10);
  for (double p : {103.0, 102.0, 104.0}) b.Apply(kAsk, p, 1);
  b.Apply(kAsk, 101.5, 2);  // inside the spread
  ASSERT_EQ(b.size(kBid), 4u);
  EXPECT_EQ(b.Top(kBid, 0).price, 101);
  EXPECT_EQ(b.Top(kBid, 3).price, 98);
  EXPECT_EQ(b.Top(kAsk, 0).price, 101.5);
  EXPECT_EQ(b.Top(kAsk, 3).price, 104);
  b.ClearTouched();
  b.Apply(kBid, 98, 7);  // amount at depth 3
  EXPECT_EQ(b.touched(kBid), 3u);
  EXPECT_EQ(b.Top(kBid, 3).amount, 7);
  b.Apply(kBid, 100, 0);  // delete depth 1: depths 1.. shift
  EXPECT_EQ(b.touched(kBid), 1u);
  EXPECT_EQ(b.Top(kBid, 1).price, 99);
  b.Apply(kBid, 50, 0);  // not there: nothing changes
  EXPECT_EQ(b.size(kBid), 3u);
  EXPECT_EQ(b.touched(kAsk), OrderBook::kUntouched);
  b.Apply(kAsk, 100.5, 1);  // crossed (below the best bid): kept
  EXPECT_EQ(b.Top(kAsk, 0).price, 100.5);
  EXPECT_EQ(b.touched(kAsk), 0u);
  b.Reset();
  EXPECT_EQ(b.size(kAsk), 0u);
}

columnar::RowGroupData Rows(const DerivedSpec& s) { return columnar::MakeRowGroup(DerivedParquetSchema(s)); }

// Runs one book change through the snapshotter as the engine does.
struct BookDriver {
  explicit BookDriver(const char* name) : spec(*ParseDerivedName(name)), snap(spec), out(Rows(spec)) {}
  void Change(int64_t ts, int64_t local, bool reset, std::vector<std::tuple<Side, double, double>> rows) {
    snap.Before(ts, local, id, &out);
    if (reset) book.Reset();
    for (auto& [side, p, a] : rows) book.Apply(side, p, a);
    snap.After(book, ts, local, id, &out);
    book.ClearTouched();
  }
  DerivedSpec spec;
  BookSnapshotter snap;
  OrderBook book;
  columnar::RowGroupData out;
  RowIdent id{"deribit", "BTC-PERPETUAL"};
};

// Random changes clustered at the top, at a moving depth and anywhere, on
// a book of thousands of levels (the gap buffer's three ways of making room
// and its growth): after each, the levels and the touched depth are those a
// std::map gives.
TEST(OrderBook, MatchesAnOrderedMapUnderRandomChanges) {
  OrderBook b;
  b.Reset();
  std::map<double, double> ref[2];  // price -> amount
  uint64_t x = 88172645463325252ull;
  auto rnd = [&x](uint64_t n) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x % n;
  };
  for (int step = 0; step < 60000; step++) {
    const Side side = rnd(2) ? kBid : kAsk;
    const uint64_t mode = rnd(10);
    // Bids below 10000, asks above; the cluster's centre drifts with the step.
    const double base = 5000 + static_cast<double>((step / 500) % 40) * 100;
    double offset = mode < 6 ? static_cast<double>(rnd(20)) : mode < 9 ? base / 10 + static_cast<double>(rnd(30))
                                                                        : static_cast<double>(rnd(6000));
    const double price = side == kBid ? 9999 - offset : 10001 + offset;
    const double amount = rnd(4) == 0 ? 0 : 1 + static_cast<double>(rnd(100));
    // The depth the change touches, as the reference sees it (from the best).
    size_t depth_before = 0;
    if (side == kBid) {
      for (auto it = ref[side].rbegin(); it != ref[side].rend() && it->first > price; ++it) depth_before++;
    } else {
      for (auto it = ref[side].begin(); it != ref[side].end() && it->first < price; ++it) depth_before++;
    }
    const bool had = ref[side].count(price) > 0;
    if (amount == 0) ref[side].erase(price); else ref[side][price] = amount;
    b.ClearTouched();
    b.Apply(side, price, amount);
    const size_t want_touched = (amount == 0 && !had) ? OrderBook::kUntouched : depth_before;
    ASSERT_EQ(b.touched(side), want_touched) << "step " << step;
    ASSERT_EQ(b.size(side), ref[side].size()) << "step " << step;
    if (step % 97 == 0 || step > 59900) {
      for (Side s : {kBid, kAsk}) {
        size_t i = 0;
        auto check = [&](const std::pair<const double, double>& l) {
          ASSERT_EQ(b.Top(s, i).price, l.first) << "step " << step << " level " << i;
          ASSERT_EQ(b.Top(s, i).amount, l.second) << "step " << step << " level " << i;
          i++;
        };
        if (s == kBid) {
          for (auto it = ref[s].rbegin(); it != ref[s].rend(); ++it) check(*it);
        } else {
          for (const auto& l : ref[s]) check(l);
        }
      }
    }
  }
  EXPECT_GT(b.size(kBid), 1500u);  // deep enough that the gap's moves matter
}

// Changes that take turns far apart in a deep book (deleting and putting
// back one of the best levels, then one of the worst): each must move a
// bounded number of levels, not the levels between the two ends. Counted as
// the levels moved in memory, per change, against a bound far below the
// book's size; the levels stay those of an ordered map.
TEST(OrderBook, ChangesFarApartMoveBoundedLevels) {
  constexpr size_t kLevels = 50000, kChanges = 20000;
  OrderBook b;
  b.Reset();
  std::map<double, double> ref;
  for (size_t i = 0; i < kLevels; i++) {
    b.Apply(kBid, 10000 - 0.5 * static_cast<double>(i), 1);
    ref[10000 - 0.5 * static_cast<double>(i)] = 1;
  }
  const uint64_t before = b.moved();
  for (size_t c = 0; c < kChanges; c++) {
    const size_t i = c % 2 == 0 ? (c / 2) % 4 : kLevels - 1 - (c / 2) % 4;
    const double price = 10000 - 0.5 * static_cast<double>(i);
    const double amount = ref.count(price) ? 0 : 2;
    if (amount == 0) ref.erase(price); else ref[price] = amount;
    b.Apply(kBid, price, amount);
  }
  const uint64_t per_change = (b.moved() - before) / kChanges;
  EXPECT_LE(per_change, 1000u) << "levels moved per change";
  ASSERT_EQ(b.size(kBid), ref.size());
  size_t i = 0;
  for (auto it = ref.rbegin(); it != ref.rend(); ++it, i++) {
    ASSERT_EQ(b.Top(kBid, i).price, it->first) << i;
    ASSERT_EQ(b.Top(kBid, i).amount, it->second) << i;
  }
}

TEST(BookSnapshotter, ZeroIntervalEmitsOnEveryChangeOfTheTopLevels) {
  BookDriver d("book_snapshot_2_0ms");
  d.Change(1000, 1100, true, {{kBid, 100, 1}, {kAsk, 101, 2}});
  d.Change(2000, 2100, false, {{kBid, 90, 1}});   // depth 2 of bids: changes the top 2
  d.Change(3000, 3100, false, {{kBid, 80, 1}});   // depth 3: not in the top 2
  d.Change(4000, 4100, false, {{kAsk, 101, 2}});  // same amount: no change
  d.Change(5000, 5100, false, {{kAsk, 101, 0}});  // ask side empty: nulls
  ASSERT_EQ(d.out.num_rows, 3u);
  EXPECT_EQ(d.out.columns[2].i64[0], 1000);
  EXPECT_EQ(d.out.columns[3].i64[1], 2100);
  EXPECT_EQ(d.out.columns[4].f64[0], 101);  // ask_price_1
  EXPECT_EQ(d.out.columns[6].f64[0], 100);  // bid_price_1
  // ask_price_2 is null in every row, ask_price_1 in the last one.
  EXPECT_EQ(d.out.columns[8].null_count, 3u);
  EXPECT_EQ(d.out.columns[4].null_count, 1u);
  EXPECT_FALSE(d.out.columns[4].IsDefined(2));
}

TEST(BookSnapshotter, IntervalSnapshotsAreStampedWithTheEndOfTheirInterval) {
  BookDriver d("book_snapshot_1_1s");
  d.Change(500000, 600000, true, {{kBid, 100, 1}});  // the initial snapshot: at once
  d.Change(700000, 800000, false, {{kBid, 100, 2}});
  d.Change(900000, 950000, false, {{kBid, 100, 3}});
  d.Change(2500000, 2600000, false, {{kBid, 100, 4}});  // closes [0, 1 s) with amount 3
  ASSERT_EQ(d.out.num_rows, 2u);
  EXPECT_EQ(d.out.columns[2].i64[0], 500000);
  EXPECT_EQ(d.out.columns[2].i64[1], 1000000);
  EXPECT_EQ(d.out.columns[3].i64[1], 2600000);  // local time of the change that closed it
  EXPECT_EQ(d.out.columns[7].f64[1], 3);
}

TEST(BookSnapshotter, GroupedLevelsMergeIntoPriceBuckets) {
  BookDriver d("book_snapshot_2_grouped10_0ms");
  d.Change(1000, 1000, true, {{kBid, 105, 1}, {kBid, 101, 2}, {kBid, 99, 4}, {kAsk, 111, 1}, {kAsk, 119, 1}, {kAsk, 121, 5}});
  ASSERT_EQ(d.out.num_rows, 1u);
  EXPECT_EQ(d.out.columns[4].f64[0], 120);  // asks round up: 111 and 119 -> 120
  EXPECT_EQ(d.out.columns[5].f64[0], 2);
  EXPECT_EQ(d.out.columns[6].f64[0], 100);  // bids round down: 105 and 101 -> 100
  EXPECT_EQ(d.out.columns[7].f64[0], 3);
  EXPECT_EQ(d.out.columns[8].f64[0], 130);
  EXPECT_EQ(d.out.columns[10].f64[0], 90);
  EXPECT_EQ(d.out.columns[11].f64[0], 4);
}

struct BarDriver {
  explicit BarDriver(const char* name) : spec(*ParseDerivedName(name)), bars(spec), out(Rows(spec)) {}
  void Trade(int64_t ts, double price, double amount, char side) { bars.OnTrade(ts, ts + 10, price, amount, side, id, &out); }
  double At(size_t col, size_t row) const { return out.columns[col].f64[row]; }
  DerivedSpec spec;
  TradeBarBuilder bars;
  columnar::RowGroupData out;
  RowIdent id{"bitmex", "XBTUSD"};
};

TEST(TradeBars, TimeBarsBucketOnExchangeTimeAndKeepOutOfOrderTradesOffTheClose) {
  BarDriver d("trade_bar_1s");
  d.Trade(100000, 10, 1, 'b');
  d.Trade(300000, 12, 3, 's');
  d.Trade(200000, 8, 1, 'u');  // out of order: in high/low and sums, not the close
  d.Trade(1200000, 11, 2, 'b');  // closes [0, 1 s)
  ASSERT_EQ(d.out.num_rows, 1u);
  EXPECT_EQ(d.out.columns[2].i64[0], 1000000);
  EXPECT_EQ(d.out.columns[3].i64[0], 1200010);
  EXPECT_EQ(d.At(4, 0), 10);   // open
  EXPECT_EQ(d.At(5, 0), 12);   // high
  EXPECT_EQ(d.At(6, 0), 8);    // low
  EXPECT_EQ(d.At(7, 0), 12);   // close
  EXPECT_EQ(d.At(8, 0), 5);    // volume
  EXPECT_EQ(d.At(9, 0), 1);    // buy
  EXPECT_EQ(d.At(10, 0), 3);   // sell
  EXPECT_EQ(d.At(11, 0), 3);   // trades
  EXPECT_DOUBLE_EQ(d.At(12, 0), (10 * 1 + 12 * 3 + 8 * 1) / 5.0);
  EXPECT_EQ(d.out.columns[14].i64[0], 300000);  // close_timestamp
  d.bars.Finish(d.id, &d.out);  // the day's last bar is written
  ASSERT_EQ(d.out.num_rows, 2u);
  EXPECT_EQ(d.out.columns[2].i64[1], 2000000);
  EXPECT_EQ(d.out.columns[3].i64[1], 1200010);
  EXPECT_EQ(d.At(4, 1), 11);
}

TEST(TradeBars, TickAndVolumeBarsCloseOnTheirCount) {
  BarDriver ticks("trade_bar_2ticks");
  BarDriver vol("trade_bar_2.5vol");
  for (int i = 0; i < 5; i++) {
    ticks.Trade(1000 * i, 100 + i, 1, 'b');
    vol.Trade(1000 * i, 100 + i, 1, 'b');
  }
  ASSERT_EQ(ticks.out.num_rows, 2u);
  EXPECT_EQ(ticks.At(4, 1), 102);
  EXPECT_EQ(ticks.out.columns[2].i64[1], 3000);  // the last trade's exchange time
  ASSERT_EQ(vol.out.num_rows, 1u);  // 3 >= 2.5
  EXPECT_EQ(vol.At(8, 0), 3);
  ticks.bars.Finish(ticks.id, &ticks.out);
  ASSERT_EQ(ticks.out.num_rows, 3u);
  EXPECT_EQ(ticks.At(11, 2), 1);
  BarDriver empty("trade_bar_1m");
  empty.bars.Finish(empty.id, &empty.out);
  EXPECT_EQ(empty.out.num_rows, 0u);
}

}  // namespace
}  // namespace mt::derive
