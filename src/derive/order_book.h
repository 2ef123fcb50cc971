// An L2 order book: the price levels of each side with their amounts, as
// the book changes of incremental_book_L2 leave them.
//
// Each side is a gap buffer sorted from the worst price to the best, so the
// best levels are at the end and the top N levels are the last N elements
// (no tree walk). An insertion or erasure moves the levels between it and
// the gap (free slots). Changes cluster at some depth (near the top in
// Tardis's data; wherever the book's mid lies when stale levels sit above
// it): the gap follows a change that lands near the previous one, and
// stays where it is for a lone change elsewhere (a deep level now and then
// between changes at the top), so neither pattern moves many levels. A
// side also remembers the smallest distance from the top
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

 private:
  // Levels worst first at logical indices [0, size()); slots [gap_begin,
  // gap_end) of `buf` are free, logical index i lives at buf[i] below the
  // gap and at buf[i + gap] from it on.
  struct GapBuffer {
    std::vector<Level> buf;
    size_t gap_begin = 0, gap_end = 0;
    size_t size() const { return buf.size() - (gap_end - gap_begin); }
    const Level& at(size_t i) const { return buf[i < gap_begin ? i : i + (gap_end - gap_begin)]; }
    Level& at(size_t i) { return buf[i < gap_begin ? i : i + (gap_end - gap_begin)]; }
    void Clear() {
      gap_begin = 0;
      gap_end = buf.size();
    }
    size_t last = 0;  // logical index of the previous insertion or erasure
    void MoveGap(size_t pos);
    void Insert(size_t pos, const Level& l);
    void Erase(size_t pos);
    // Whether a change at `pos` is near the previous one (then the gap follows it).
    bool Clustered(size_t pos) const { return (pos > last ? pos - last : last - pos) <= kCluster; }
    static constexpr size_t kCluster = 32;
  };
  GapBuffer sides_[2];
  size_t hint_[2] = {0, 0};  // logical index where the last Apply landed
  size_t touched_[2] = {kUntouched, kUntouched};
  bool received_snapshot_ = false;
};

}  // namespace mt::derive
