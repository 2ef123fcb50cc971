// An L2 order book: the price levels of each side with their amounts, as
// the book changes of incremental_book_L2 leave them.
//
// Each side is sorted from the worst price to the best, so the best levels
// are at the end and the top N levels are the last N, in blocks of a few
// hundred levels (see Blocks): an insertion or erasure moves at most a
// block's levels and the blocks' start indices, wherever it lands, so
// changes far apart in a deep book cost no more than changes side by side.
// A side also remembers the smallest distance from the top
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

  size_t size(Side s) const { return sides_[s].size(); }
  // The i-th best level (0 = best). REQUIRES: i < size(s).
  const Level& Top(Side s, size_t i) const { return sides_[s].at(sides_[s].size() - 1 - i); }
  // Smallest distance from the top changed since ClearTouched(), or kUntouched.
  size_t touched(Side s) const { return touched_[s]; }
  void ClearTouched() { touched_[0] = touched_[1] = kUntouched; }
  bool received_snapshot() const { return received_snapshot_; }
  // Levels moved in memory by insertions and erasures since construction
  // (both sides): the work a change costs beyond finding its level.
  uint64_t moved() const { return sides_[0].moved + sides_[1].moved; }

 private:
  // Levels worst first at logical indices [0, size()), in blocks of at most
  // 2 * kBlock levels: an insertion or erasure moves the levels of one block
  // and the start index of each block after it, never the whole side. The
  // start indices of the blocks from `shift_from` on are off by `shift`
  // (applied when a change lands elsewhere), so changes into one block in
  // a row (a snapshot's levels, each worse than the last) move none.
  // Reads go through the block of the previous read or its neighbour
  // (a snapshot reads consecutive levels from the top), else a binary
  // search of the blocks' start indices.
  struct Blocks {
    static constexpr size_t kBlock = 256;
    std::vector<std::vector<Level>> blocks;  // none empty
    std::vector<size_t> first;               // logical index of each block's first level, but see `shift`
    size_t shift_from = 0;
    ptrdiff_t shift = 0;
    size_t n = 0;
    mutable size_t cache = 0;  // the block of the last read
    uint64_t moved = 0;
    size_t size() const { return n; }
    // The logical index of block b's first level.
    size_t Start(size_t b) const {
      return b >= shift_from ? static_cast<size_t>(static_cast<ptrdiff_t>(first[b]) + shift) : first[b];
    }
    // The block holding logical index i (REQUIRES: i < n): the block of the
    // previous read, else FindSlow.
    size_t Find(size_t i) const {
      const size_t b = cache;
      if (b < blocks.size() && i - Start(b) < blocks[b].size()) return b;  // i below the start wraps
      return FindSlow(i);
    }
    size_t FindSlow(size_t i) const;
    const Level& at(size_t i) const {
      const size_t b = Find(i);
      return blocks[b][i - Start(b)];
    }
    Level& at(size_t i) {
      const size_t b = Find(i);
      return blocks[b][i - Start(b)];
    }
    void Clear() {
      blocks.clear();
      first.clear();
      n = cache = shift_from = 0;
      shift = 0;
    }
    // The blocks from `from` on start `d` levels later.
    void Shift(size_t from, ptrdiff_t d);
    void Settle();  // applies `shift` to `first`
    void Insert(size_t pos, const Level& l);
    void Erase(size_t pos);
  };
  Blocks sides_[2];
  size_t hint_[2] = {0, 0};  // logical index where the last Apply landed
  size_t touched_[2] = {kUntouched, kUntouched};
  bool received_snapshot_ = false;
};

}  // namespace mt::derive
