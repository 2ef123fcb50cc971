#include "derive/order_book.h"

#include <algorithm>

namespace mt::derive {

void OrderBook::Reset() {
  for (int s = 0; s < 2; s++) {
    levels_[s].clear();
    touched_[s] = 0;
  }
  received_snapshot_ = true;
}

void OrderBook::Apply(Side side, double price, double amount) {
  if (!received_snapshot_) return;
  std::vector<Level>& v = levels_[side];
  // Bids ascend (best = highest, last), asks descend (best = lowest, last).
  auto it = side == kBid ? std::lower_bound(v.begin(), v.end(), price,
                                            [](const Level& l, double p) { return l.price < p; })
                         : std::lower_bound(v.begin(), v.end(), price,
                                            [](const Level& l, double p) { return l.price > p; });
  const bool found = it != v.end() && it->price == price;
  if (amount == 0) {
    if (!found) return;  // removing a level that is not there changes nothing
    const size_t pos = static_cast<size_t>(v.end() - it) - 1;
    v.erase(it);
    touched_[side] = std::min(touched_[side], pos);
    return;
  }
  if (found) {
    it->amount = amount;
    touched_[side] = std::min(touched_[side], static_cast<size_t>(v.end() - it) - 1);
    return;
  }
  const size_t pos = static_cast<size_t>(v.end() - it);  // from the top, after inserting
  v.insert(it, Level{price, amount});
  touched_[side] = std::min(touched_[side], pos);
}

}  // namespace mt::derive
