#include "derive/order_book.h"

#include <algorithm>
#include <cstring>

namespace mt::derive {

void OrderBook::GapBuffer::MoveGap(size_t pos) {
  const size_t gap = gap_end - gap_begin;
  if (pos < gap_begin) {
    // Levels [pos, gap_begin) move up to the end of the gap.
    std::memmove(&buf[pos + gap], &buf[pos], (gap_begin - pos) * sizeof(Level));
  } else if (pos > gap_begin) {
    // Levels [gap_end, pos + gap) move down to the start of the gap.
    std::memmove(&buf[gap_begin], &buf[gap_end], (pos - gap_begin) * sizeof(Level));
  }
  gap_begin = pos;
  gap_end = pos + gap;
}

void OrderBook::GapBuffer::Insert(size_t pos, const Level& l) {
  const bool follow = Clustered(pos);
  last = pos;
  if (gap_begin == gap_end) {
    // Full: twice the room, the new gap at `pos`.
    const size_t n = buf.size();
    std::vector<Level> grown(std::max<size_t>(64, 2 * n));
    std::copy(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(pos), grown.begin());
    const size_t tail = n - pos;
    std::copy(buf.begin() + static_cast<std::ptrdiff_t>(pos), buf.end(), grown.end() - static_cast<std::ptrdiff_t>(tail));
    buf.swap(grown);
    gap_begin = pos;
    gap_end = buf.size() - tail;
  } else if (follow) {
    MoveGap(pos);
  } else if (pos <= gap_begin) {
    // Levels [pos, gap_begin) move up one slot; the gap loses its first slot.
    std::memmove(&buf[pos + 1], &buf[pos], (gap_begin - pos) * sizeof(Level));
    buf[pos] = l;
    gap_begin++;
    return;
  } else {
    // Levels [gap_begin, pos) (above the gap) move down one slot; the gap loses its last.
    std::memmove(&buf[gap_end - 1], &buf[gap_end], (pos - gap_begin) * sizeof(Level));
    gap_end--;
    buf[pos + (gap_end - gap_begin)] = l;
    return;
  }
  buf[gap_begin++] = l;
}

void OrderBook::GapBuffer::Erase(size_t pos) {
  const bool follow = Clustered(pos);
  last = pos;
  if (follow) {
    MoveGap(pos);
    gap_end++;  // the level at `pos` now starts the part above the gap
  } else if (pos < gap_begin) {
    // Levels (pos, gap_begin) move down one slot; the gap gains a slot below.
    std::memmove(&buf[pos], &buf[pos + 1], (gap_begin - pos - 1) * sizeof(Level));
    gap_begin--;
  } else {
    // Levels [gap_begin, pos) (above the gap) move up one slot; the gap gains a slot above.
    std::memmove(&buf[gap_end + 1], &buf[gap_end], (pos - gap_begin) * sizeof(Level));
    gap_end++;
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
  GapBuffer& v = sides_[side];
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
