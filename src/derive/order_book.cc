#include "derive/order_book.h"

#include <algorithm>
#include <cstring>

namespace mt::derive {

size_t OrderBook::Blocks::FindSlow(size_t i) const {
  size_t b = cache;
  if (b < blocks.size()) {
    const size_t s = Start(b);
    // The next read of a snapshot (from the top, so downwards) or of a search.
    if (b > 0 && i < s && i >= Start(b - 1)) return cache = b - 1;
    if (b + 1 < blocks.size() && i >= Start(b + 1) && i - Start(b + 1) < blocks[b + 1].size()) return cache = b + 1;
  }
  // The last block starting at or before i.
  size_t lo = 0, len = blocks.size();
  while (len > 1) {
    const size_t half = len / 2;
    if (Start(lo + half) <= i) lo += half;
    len -= half;
  }
  return cache = lo;
}

void OrderBook::Blocks::Shift(size_t from, ptrdiff_t d) {
  if (shift != 0 && from != shift_from) Settle();
  shift_from = from;
  shift += d;
}

void OrderBook::Blocks::Settle() {
  for (size_t k = shift_from; k < first.size(); k++) first[k] = static_cast<size_t>(static_cast<ptrdiff_t>(first[k]) + shift);
  moved += first.size() > shift_from ? first.size() - shift_from : 0;
  shift = 0;
}

void OrderBook::Blocks::Insert(size_t pos, const Level& l) {
  if (blocks.empty()) {
    blocks.emplace_back().reserve(2 * kBlock);
    first.push_back(0);
  }
  // The block holding `pos`, or the last one for a level after them all.
  const size_t b = pos == n ? blocks.size() - 1 : Find(pos);
  std::vector<Level>& v = blocks[b];
  const size_t at_ = pos - Start(b);
  if (at_ == 0 && v.size() >= kBlock) {
    // Before a block's first level (a snapshot's levels, each worse than
    // the last, all land there): at the end of the block before it if that
    // has room, else in a block of its own, so that such levels in a row
    // move at most a block's worth each, not a growing block's.
    if (b > 0 && blocks[b - 1].size() < 2 * kBlock) {
      blocks[b - 1].push_back(l);
      n++;
      Shift(b, 1);
      return;
    }
    Settle();
    std::vector<Level> own;
    own.reserve(2 * kBlock);
    own.push_back(l);
    blocks.insert(blocks.begin() + static_cast<std::ptrdiff_t>(b), std::move(own));
    first.insert(first.begin() + static_cast<std::ptrdiff_t>(b), first[b]);
    for (size_t k = b + 1; k < first.size(); k++) first[k]++;
    moved += 2 * (blocks.size() - b);
    n++;
    cache = b;
    return;
  }
  v.insert(v.begin() + static_cast<std::ptrdiff_t>(at_), l);
  moved += v.size() - 1 - at_;
  n++;
  Shift(b + 1, 1);
  if (v.size() > 2 * kBlock) {
    Settle();
    // Split in two halves: the upper one becomes block b + 1.
    std::vector<Level> upper;
    upper.reserve(2 * kBlock);
    upper.assign(v.begin() + static_cast<std::ptrdiff_t>(kBlock), v.end());
    v.resize(kBlock);
    moved += upper.size() + blocks.size() - b;
    blocks.insert(blocks.begin() + static_cast<std::ptrdiff_t>(b + 1), std::move(upper));
    first.insert(first.begin() + static_cast<std::ptrdiff_t>(b + 1), first[b] + kBlock);
    cache = b;
  }
}

void OrderBook::Blocks::Erase(size_t pos) {
  const size_t b = Find(pos);
  std::vector<Level>& v = blocks[b];
  const size_t at_ = pos - Start(b);
  v.erase(v.begin() + static_cast<std::ptrdiff_t>(at_));
  moved += v.size() - at_;
  n--;
  Shift(b + 1, -1);
  if (v.empty() || (b + 1 < blocks.size() && v.size() + blocks[b + 1].size() <= kBlock)) Settle();
  if (v.empty()) {
    blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(b));
    first.erase(first.begin() + static_cast<std::ptrdiff_t>(b));
    moved += blocks.size() - b;
    cache = 0;
  } else if (b + 1 < blocks.size() && v.size() + blocks[b + 1].size() <= kBlock) {
    // Two small neighbours become one, so blocks stay a few hundred levels.
    std::vector<Level>& next = blocks[b + 1];
    v.insert(v.end(), next.begin(), next.end());
    moved += next.size() + blocks.size() - b;
    blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(b + 1));
    first.erase(first.begin() + static_cast<std::ptrdiff_t>(b + 1));
    cache = b;
  }
}

void OrderBook::Reset() {
  for (int s = 0; s < 2; s++) {
    sides_[s].Clear();
    touched_[s] = 0;
  }
  received_snapshot_ = true;
}

void OrderBook::Apply(Side side, double price, double amount) {
  if (!received_snapshot_) return;
  Blocks& v = sides_[side];
  const size_t n = v.size();
  // Bids ascend (best = highest, last), asks descend (best = lowest, last):
  // the first logical index whose level is not worse than `price`. Found by
  // galloping from where the previous change landed (changes cluster), then
  // a binary search: O(log distance) instead of O(log size) cache misses.
  auto worse = [&](size_t i) { return side == kBid ? v.at(i).price < price : v.at(i).price > price; };
  size_t lo = 0, hi = n;
  const size_t h = std::min(hint_[side], n);
  if (h < n && worse(h)) {
    lo = h + 1;
    for (size_t step = 1;; step <<= 1) {
      const size_t m = lo + step - 1;
      if (m >= n) break;
      if (!worse(m)) {
        hi = m;
        break;
      }
      lo = m + 1;
    }
  } else {
    hi = h;  // not worse (or the end)
    for (size_t step = 1;; step <<= 1) {
      if (step > hi) break;
      const size_t m = hi - step;
      if (worse(m)) {
        lo = m + 1;
        break;
      }
      hi = m;
    }
  }
  // The first not-worse index in [lo, hi), without a branch per step: the
  // steps' outcomes are as good as random (changes at random depths), so
  // branches there would mispredict about every other step.
  if (lo < hi) {
    size_t base = lo, len = hi - lo;
    while (len > 1) {
      const size_t half = len / 2;
      base = worse(base + half - 1) ? base + half : base;
      len -= half;
    }
    lo = base + (worse(base) ? 1 : 0);
  }
  hint_[side] = lo;
  const bool found = lo < n && v.at(lo).price == price;
  if (amount == 0) {
    if (!found) return;  // removing a level that is not there changes nothing
    const size_t pos = n - 1 - lo;
    v.Erase(lo);
    touched_[side] = std::min(touched_[side], pos);
    return;
  }
  if (found) {
    v.at(lo).amount = amount;
    touched_[side] = std::min(touched_[side], n - 1 - lo);
    return;
  }
  const size_t pos = n - lo;  // from the top, after inserting
  v.Insert(lo, Level{price, amount});
  touched_[side] = std::min(touched_[side], pos);
}

}  // namespace mt::derive
