// The two computations, step for step as tardis-dev's computables make them
// (docs/DERIVED.md states the rules), appending their rows to a row group
// whose columns are DerivedParquetSchema(spec).
//
// Timestamps are microseconds. tardis-dev holds them as millisecond Dates;
// bucketing by floor division gives the same bucket either way, and where it
// compares two timestamps the comparison is made on milliseconds too.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "columnar/column_data.h"
#include "derive/names.h"
#include "derive/order_book.h"

namespace mt::derive {

// The exchange and symbol written in every row.
struct RowIdent {
  std::string_view exchange, symbol;
};

// Book snapshots of one instrument. A book change is given in two steps
// around its application to the shared OrderBook: Before() (which may close
// a snapshot of the previous interval) and After() (which compares the top
// levels with the last ones and may emit). With `out` null a row is counted
// (emitted()) but not written: the state moves on exactly as when it is, so a
// copy taken earlier and fed the same changes writes the same rows.
class BookSnapshotter {
 public:
  explicit BookSnapshotter(const DerivedSpec& spec);

  // Rows emitted so far, written or counted.
  uint64_t emitted() const { return emitted_; }

  void Before(int64_t ts_us, int64_t local_us, const RowIdent& id, columnar::RowGroupData* out);
  void After(const OrderBook& book, int64_t ts_us, int64_t local_us, const RowIdent& id,
             columnar::RowGroupData* out);

 private:
  struct Slot {
    double price = 0, amount = 0;
    bool set = false;  // false: no level there (null columns)
  };

  bool HasNewSnapshot(int64_t ts_us);
  void Emit(int64_t local_us, const RowIdent& id, columnar::RowGroupData* out);
  void SetSlot(Slot* slot, bool set, double price, double amount);
  void UpdateSide(const OrderBook& book, Side side);
  void UpdateSideGrouped(const OrderBook& book, Side side);
  double GroupedPrice(double price, Side side) const;
  // GroupedPrice through a direct-mapped cache keyed by the price's bits:
  // rescans meet the same prices again and again, and fmod is dear.
  double CachedGroupedPrice(double price, Side side);

  const int depth_;
  const int64_t interval_us_;
  const bool grouped_;
  const double grouping_;
  double group_pow_ = 1;  // 10^(decimal places of the step)
  std::vector<Slot> levels_[2];
  // Where the last grouped scan of a side found each bucket to start (index
  // from the top), so the next change rescans only from the bucket before
  // the one it touched.
  struct GroupScan {
    std::vector<size_t> starts;
    int found = 0;     // buckets with a start recorded
    bool full = false; // the scan stopped at `depth` buckets
    size_t end = 0;    // the index it stopped at
  };
  GroupScan scan_[2];
  struct GroupCacheEntry {
    uint64_t price_bits;  // a NaN pattern while empty: no level's price is NaN
    double grouped;
  };
  static constexpr size_t kGroupCacheSize = 4096;  // a power of two
  std::vector<GroupCacheEntry> group_cache_[2];
  bool changed_ = false, initialized_ = false;
  uint64_t emitted_ = 0;
  // Sets last_update_us_ (and last_end_us_ when it leaves its interval).
  void SetLastUpdate(int64_t us);
  int64_t last_update_us_ = -1000;  // tardis-dev starts at Date(-1)
  int64_t last_end_us_ = 0;         // end of last_update_us_'s interval (interval_us_ > 0)
};

// Trade bars of one instrument.
class TradeBarBuilder {
 public:
  explicit TradeBarBuilder(const DerivedSpec& spec);

  void OnTrade(int64_t ts_us, int64_t local_us, double price, double amount, char side,
               const RowIdent& id, columnar::RowGroupData* out);
  // Writes the bar in progress, if it has a trade: no later trade closes the
  // day's last bar, so tardis-dev never emits it; we do.
  void Finish(const RowIdent& id, columnar::RowGroupData* out);

 private:
  struct Bar {
    double open, high, low, close, volume, buy_volume, sell_volume, trades, vwap;
    int64_t open_us, close_us, ts_us;
  };
  void Reset();
  bool HasNewBar(int64_t ts_us);
  void Emit(int64_t local_us, const RowIdent& id, columnar::RowGroupData* out);

  const BarKind kind_;
  const int64_t interval_us_;
  const double size_;
  Bar bar_;
  int64_t last_local_us_ = 0;
};

}  // namespace mt::derive
