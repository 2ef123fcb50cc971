// An L2 order book: the price levels of each side with their amounts, as
// the book changes of incremental_book_L2 leave them.
//
// Each side is a vector sorted from the worst price to the best, so the best
// levels are at the end: most changes land near the top, where inserting or
// erasing moves few elements, and the top N levels are the last N elements
// (no tree walk). A side also remembers the smallest distance from the top
// that changed since ClearTouched(): levels above it are as they were, so a
// snapshot of the top N levels is rebuilt only from there, and not at all
// when the change was deeper than N.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace mt::derive {

struct Level {
  double price;
  double amount;
};

enum Side : int { kBid = 0, kAsk = 1 };

class OrderBook {
 public:
  static constexpr size_t kUntouched = std::numeric_limits<size_t>::max();

  // A snapshot starts: both sides empty, and changes count from now on.
  void Reset();
  // Sets the amount at `price` (0 removes the level). Ignored until the first
  // Reset(), as tardis-dev ignores updates that come before any snapshot.
  void Apply(Side side, double price, double amount);

  size_t size(Side s) const { return levels_[s].size(); }
  // The i-th best level (0 = best). REQUIRES: i < size(s).
  const Level& Top(Side s, size_t i) const { return levels_[s][levels_[s].size() - 1 - i]; }
  // Smallest distance from the top changed since ClearTouched(), or kUntouched.
  size_t touched(Side s) const { return touched_[s]; }
  void ClearTouched() { touched_[0] = touched_[1] = kUntouched; }
  bool received_snapshot() const { return received_snapshot_; }

 private:
  std::vector<Level> levels_[2];
  size_t touched_[2] = {kUntouched, kUntouched};
  bool received_snapshot_ = false;
};

}  // namespace mt::derive
