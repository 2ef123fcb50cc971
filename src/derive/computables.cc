#include "derive/computables.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace mt::derive {

using columnar::ColumnData;
using columnar::RowGroupData;

namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}
int64_t Millis(int64_t us) { return FloorDiv(us, 1000); }

// Decimal places of the grouping step, by tardis-dev's rule: the smallest
// power of ten that makes it whole within 1e-10.
int DecimalPlaces(double n) {
  int count = 0;
  auto has_fraction = [](double v) { return std::fabs(std::round(v) - v) > 1e-10; };
  while (has_fraction(n * std::pow(10.0, count)) && std::isfinite(std::pow(10.0, count))) count++;
  return count;
}

void AddIdent(const RowIdent& id, int64_t ts_us, int64_t local_us, RowGroupData* out) {
  auto& c = out->columns;
  c[kExchangeColumn].AddDefined();
  c[kExchangeColumn].str.Append(id.exchange);
  c[kSymbolColumn].AddDefined();
  c[kSymbolColumn].str.Append(id.symbol);
  c[kTimestampColumn].AddDefined();
  c[kTimestampColumn].i64.push_back(ts_us);
  c[kLocalTimestampColumn].AddDefined();
  c[kLocalTimestampColumn].i64.push_back(local_us);
}

void AddDouble(ColumnData* c, double v) {
  c->AddDefined();
  c->f64.push_back(v);
}

}  // namespace

// ---------------------------------------------------------------- snapshots

BookSnapshotter::BookSnapshotter(const DerivedSpec& spec)
    : depth_(spec.depth), interval_us_(spec.interval_us), grouped_(spec.grouped), grouping_(spec.grouping) {
  levels_[kBid].resize(depth_);
  levels_[kAsk].resize(depth_);
  if (interval_us_ != 0) last_end_us_ = (FloorDiv(last_update_us_, interval_us_) + 1) * interval_us_;
  if (grouped_) {
    group_pow_ = std::pow(10.0, DecimalPlaces(grouping_));
    for (auto& c : group_cache_) c.assign(kGroupCacheSize, GroupCacheEntry{~uint64_t{0}, 0});
  }
}

// ts is in a later interval than last_update_us_ (FloorDiv(ts) > FloorDiv(last))
// exactly when ts reaches the end of last's interval, kept in last_end_us_
// so that the two divisions per series and book change are made only when
// last_update_us_ leaves its interval.
bool BookSnapshotter::HasNewSnapshot(int64_t ts_us) {
  if (!changed_) return false;
  if (interval_us_ == 0 || !initialized_) return true;
  if (ts_us >= last_end_us_) {
    SetLastUpdate(last_end_us_);  // the end of the interval it closes
    return true;
  }
  return false;
}

void BookSnapshotter::SetLastUpdate(int64_t us) {
  last_update_us_ = us;
  if (interval_us_ != 0 && (us >= last_end_us_ || us < last_end_us_ - interval_us_)) {
    last_end_us_ = (FloorDiv(us, interval_us_) + 1) * interval_us_;
  }
}

void BookSnapshotter::Before(int64_t ts_us, int64_t local_us, const RowIdent& id, RowGroupData* out) {
  if (HasNewSnapshot(ts_us)) Emit(local_us, id, out);
}

void BookSnapshotter::After(const OrderBook& book, int64_t ts_us, int64_t local_us, const RowIdent& id,
                            RowGroupData* out) {
  for (Side side : {kBid, kAsk}) {
    // Levels above the first touched one are as they were; an untouched side
    // gives the same levels again (grouped too: they are a function of it).
    if (book.touched(side) == OrderBook::kUntouched) continue;
    if (grouped_) {
      UpdateSideGrouped(book, side);
    } else {
      UpdateSide(book, side);
    }
  }
  SetLastUpdate(ts_us);
  if (HasNewSnapshot(ts_us)) {
    Emit(local_us, id, out);
    initialized_ = true;
  }
}

void BookSnapshotter::SetSlot(Slot* slot, bool set, double price, double amount) {
  if (slot->set == set && (!set || (slot->price == price && slot->amount == amount))) return;
  slot->set = set;
  slot->price = set ? price : 0;
  slot->amount = set ? amount : 0;
  changed_ = true;
}

void BookSnapshotter::UpdateSide(const OrderBook& book, Side side) {
  const size_t n = book.size(side);
  for (size_t i = book.touched(side); i < static_cast<size_t>(depth_); i++) {
    if (i < n) {
      const Level& l = book.Top(side, i);
      SetSlot(&levels_[side][i], true, l.price, l.amount);
    } else {
      SetSlot(&levels_[side][i], false, 0, 0);
    }
  }
}

double BookSnapshotter::GroupedPrice(double price, Side side) const {
  // The same floating-point steps as tardis-dev, so bucket edges agree.
  const double price_pow = price * group_pow_;
  const double step_pow = grouping_ * group_pow_;
  const double remainder = std::fmod(price_pow, step_pow) / group_pow_;
  const double up = (side == kAsk && remainder > 0) ? step_pow : 0;
  return (price_pow - remainder * group_pow_ + up) / group_pow_;
}

double BookSnapshotter::CachedGroupedPrice(double price, Side side) {
  uint64_t bits;
  std::memcpy(&bits, &price, sizeof bits);
  GroupCacheEntry& e = group_cache_[side][(bits ^ (bits >> 29) ^ (bits >> 41)) & (kGroupCacheSize - 1)];
  if (e.price_bits != bits) {
    e.price_bits = bits;
    e.grouped = GroupedPrice(price, side);
  }
  return e.grouped;
}

// Merges levels best-first into price buckets (bids round down, asks up)
// until `depth` buckets are complete. As in tardis-dev 13.35.3, buckets below
// the last one found keep their previous values when the book gets shallower.
//
// Buckets whose levels all lie above the first touched index are unchanged.
// The scan restarts at the bucket before the one holding that index (a level
// inserted at a bucket's first index may belong to the bucket before), which
// gives what a scan from the top gives; a full scan is skipped when the
// change lies past the level that ended the last one.
void BookSnapshotter::UpdateSideGrouped(const OrderBook& book, Side side) {
  std::vector<Slot>& slots = levels_[side];
  GroupScan& gs = scan_[side];
  if (gs.starts.empty()) gs.starts.resize(depth_);
  const size_t n = book.size(side);
  const size_t t = book.touched(side);
  int d = 0;
  size_t i = 0;
  if (gs.found > 0 && t != 0) {
    if (gs.full && t > gs.end) return;
    const int g = static_cast<int>(std::upper_bound(gs.starts.begin(), gs.starts.begin() + gs.found, t) -
                                   gs.starts.begin()) - 1;
    d = std::max(0, g - 1);
    i = gs.starts[d];
  }
  bool have = false;
  double current = 0, agg = 0;
  gs.full = false;
  for (; i < n; i++) {
    const Level& l = book.Top(side, i);
    const double g = CachedGroupedPrice(l.price, side);
    if (!have) {
      current = g;
      have = true;
      gs.starts[d] = i;
    }
    if (current != g) {
      SetSlot(&slots[d], true, current, agg);
      if (++d == depth_) {
        gs.found = d;
        gs.full = true;
        gs.end = i;
        return;
      }
      current = g;
      agg = 0;
      gs.starts[d] = i;
    }
    agg += l.amount;
  }
  if (d < depth_ && agg > 0) SetSlot(&slots[d], true, current, agg);
  gs.found = have ? d + 1 : d;
  gs.end = n;
}

void BookSnapshotter::Emit(int64_t local_us, const RowIdent& id, RowGroupData* out) {
  emitted_++;
  if (!out) {
    changed_ = false;
    return;
  }
  AddIdent(id, last_update_us_, local_us, out);
  auto& c = out->columns;
  for (int i = 0; i < depth_; i++) {
    const Slot* pair[2] = {&levels_[kAsk][i], &levels_[kBid][i]};
    for (int k = 0; k < 2; k++) {
      ColumnData& pc = c[4 + 4 * i + 2 * k];
      ColumnData& ac = c[5 + 4 * i + 2 * k];
      if (pair[k]->set) {
        AddDouble(&pc, pair[k]->price);
        AddDouble(&ac, pair[k]->amount);
      } else {
        pc.AddNull(out->num_rows);
        ac.AddNull(out->num_rows);
      }
    }
  }
  out->num_rows++;
  changed_ = false;
}

// ---------------------------------------------------------------- trade bars

TradeBarBuilder::TradeBarBuilder(const DerivedSpec& spec)
    : kind_(spec.bar), interval_us_(spec.interval_us), size_(spec.bar_size) {
  Reset();
}

void TradeBarBuilder::Reset() {
  constexpr double kMaxSafeInteger = 9007199254740991.0;  // tardis-dev's initial low / -high
  bar_ = Bar{0, -kMaxSafeInteger, kMaxSafeInteger, 0, 0, 0, 0, 0, 0, -1000, -1000, -1000};
}

bool TradeBarBuilder::HasNewBar(int64_t ts_us) {
  if (bar_.trades == 0) return false;
  switch (kind_) {
    case BarKind::kTime: {
      const int64_t open_bucket = FloorDiv(bar_.open_us, interval_us_);
      if (FloorDiv(ts_us, interval_us_) > open_bucket) {
        bar_.ts_us = (open_bucket + 1) * interval_us_;
        return true;
      }
      return false;
    }
    case BarKind::kVolume: return bar_.volume >= size_;
    case BarKind::kTicks: return bar_.trades >= size_;
  }
  return false;
}

void TradeBarBuilder::OnTrade(int64_t ts_us, int64_t local_us, double price, double amount, char side,
                              const RowIdent& id, RowGroupData* out) {
  if (HasNewBar(ts_us)) Emit(local_us, id, out);
  Bar& b = bar_;
  // Out-of-order trades (older than the bar's last) count in every sum and
  // in high/low, but do not move the close.
  const bool in_order = Millis(ts_us) >= Millis(b.ts_us);
  if (b.trades == 0) {
    b.open = price;
    b.open_us = ts_us;
  }
  if (b.high < price) b.high = price;
  if (b.low > price) b.low = price;
  if (in_order) {
    b.close = price;
    b.close_us = ts_us;
    b.ts_us = ts_us;
  }
  b.buy_volume += side == 'b' ? amount : 0;
  b.sell_volume += side == 's' ? amount : 0;
  b.trades += 1;
  b.vwap = (b.vwap * b.volume + price * amount) / (b.volume + amount);
  b.volume += amount;
  last_local_us_ = local_us;
  if (HasNewBar(ts_us)) Emit(local_us, id, out);
}

void TradeBarBuilder::Finish(const RowIdent& id, RowGroupData* out) {
  if (bar_.trades == 0) return;
  if (kind_ == BarKind::kTime) bar_.ts_us = (FloorDiv(bar_.open_us, interval_us_) + 1) * interval_us_;
  Emit(last_local_us_, id, out);
}

void TradeBarBuilder::Emit(int64_t local_us, const RowIdent& id, RowGroupData* out) {
  AddIdent(id, bar_.ts_us, local_us, out);
  auto& c = out->columns;
  const double v[] = {bar_.open, bar_.high, bar_.low, bar_.close, bar_.volume,
                      bar_.buy_volume, bar_.sell_volume, bar_.trades, bar_.vwap};
  for (size_t i = 0; i < 9; i++) AddDouble(&c[4 + i], v[i]);
  c[13].AddDefined();
  c[13].i64.push_back(bar_.open_us);
  c[14].AddDefined();
  c[14].i64.push_back(bar_.close_us);
  out->num_rows++;
  Reset();
}

}  // namespace mt::derive
