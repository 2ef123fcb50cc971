// The expected items of a validation, kept compact: a grouped item expects
// an item per instrument its completion record lists (hundreds of thousands
// on a big options day), and an ExpectedItem of its own strings costs several
// times its key. Here each item is its day and the ids of its strings in a
// StringPool, which the results of the validation share (ItemResults), so a
// key is held once. The items are fixed-size records in a SpillVector
// (core/spill_vector.h): past a few MiB they go to a temporary file, so a
// year of items takes what its distinct strings take. Reading an item
// builds its ExpectedItem. Not thread-safe, reads included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <string_view>
#include <vector>

#include "core/index_iterator.h"
#include "core/spill_vector.h"
#include "core/status.h"
#include "core/time_util.h"
#include "validate/item.h"
#include "validate/string_pool.h"

namespace mt::validate {

class ExpectedItems {
 public:
  ExpectedItems() = default;
  ExpectedItems(std::initializer_list<ExpectedItem> items);  // NOLINT: implicit on purpose
  // No items, their strings going to `pool`.
  explicit ExpectedItems(std::shared_ptr<StringPool> pool) : strings_(std::move(pool)) {}

  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  // Keeps the first n items (n <= size()).
  void truncate(size_t n) { items_.truncate(n); }
  void clear() { items_.clear(); }
  void push_back(const ExpectedItem& e);
  // A copy of item i, its strings built.
  ExpectedItem operator[](size_t i) const;
  Date day(size_t i) const { return CivilFromDays(items_.Get(i).day); }
  std::string_view data_type(size_t i) const { return strings_->View(items_.Get(i).data_type); }
  std::string_view instrument_key(size_t i) const { return strings_->View(items_.Get(i).instrument_key); }
  std::string_view exchange(size_t i) const { return strings_->View(items_.Get(i).exchange); }
  std::string_view symbol(size_t i) const { return strings_->View(items_.Get(i).symbol); }
  // Items held in the temporary file (the rest are in memory).
  size_t spilled() const { return items_.spilled(); }
  // OK, or a failed read of the temporary file (items then read as zeros).
  const Status& io_status() const { return items_.status(); }
  // Sorts by day, data type and instrument key, and drops the repeats of
  // each (of items of one key, the least by exchange, then symbol, stays:
  // the same one whatever the number of items). Items
  // in the temporary file must come in day order (every plan gives them
  // so): each day's run of them is sorted on its own, in memory.
  void SortUnique();
  // The pool the items' strings are in.
  const std::shared_ptr<StringPool>& pool() const { return strings_; }

  // Yields ExpectedItem values (copies), in order.
  using Iterator = IndexIterator<ExpectedItems, ExpectedItem>;
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size()); }

 private:
  struct Packed {
    int32_t day;  // days since 1970-01-01
    uint32_t data_type, instrument_key, exchange, symbol;
  };
  static_assert(sizeof(Packed) == 20, "no padding: every byte of a record is set");
  SpillVector<Packed> items_;
  std::shared_ptr<StringPool> strings_ = std::make_shared<StringPool>();
};

}  // namespace mt::validate
