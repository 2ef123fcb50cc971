// The results of a validation, one per expected item, kept compact: a
// grouped item of hundreds of thousands of instruments gives as many
// results, and an ItemResult of its own strings (key, object name, reason,
// and the day's data type, exchange and symbol copied into each) cost
// several times what the item itself says. Here every string is interned
// once in a StringPool (a reason, a data type or an instrument key repeated
// over items or days is held once), and an object name that is a prefix,
// the item's key and a suffix (every tick object's) is held as the two
// interned parts. Reading an item builds its ItemResult.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/index_iterator.h"
#include "core/time_util.h"
#include "validate/item.h"
#include "validate/string_pool.h"

namespace mt::validate {

class ItemResults {
 public:
  ItemResults() = default;
  // Results whose strings go to `pool` (shared with the expected items they
  // come from, so a key is held once).
  explicit ItemResults(std::shared_ptr<StringPool> pool) : strings_(std::move(pool)) {}
  // Each of `items`, in order (tests and callers that built a vector).
  ItemResults(const std::vector<ItemResult>& items);  // NOLINT: implicit on purpose

  size_t size() const { return packed_.size(); }
  bool empty() const { return packed_.empty(); }
  void reserve(size_t n) { packed_.reserve(n); }
  void push_back(const ItemResult& r);
  // Replaces item i (i < size()).
  void Set(size_t i, const ItemResult& r);
  // A copy of item i, its strings built.
  ItemResult operator[](size_t i) const;
  // Item i's fields, without building the others.
  ItemStatus status(size_t i) const { return packed_[i].status; }
  Date day(size_t i) const { return CivilFromDays(packed_[i].day); }
  bool absent(size_t i) const { return packed_[i].absent; }
  std::string_view data_type(size_t i) const { return strings_->View(packed_[i].data_type); }
  std::string_view instrument_key(size_t i) const { return strings_->View(packed_[i].instrument_key); }
  std::string_view exchange(size_t i) const { return strings_->View(packed_[i].exchange); }
  std::string_view symbol(size_t i) const { return strings_->View(packed_[i].symbol); }
  std::string_view reason(size_t i) const { return strings_->View(packed_[i].reason); }
  int64_t rows(size_t i) const { return packed_[i].found == kNone ? -1 : found_[packed_[i].found].rows; }
  // Item i's object name, into *out.
  void Object(size_t i, std::string* out) const;
  // Sets item i's status and reason only.
  void SetStatus(size_t i, ItemStatus s, std::string_view reason);

  // Yields ItemResult values (copies), in order.
  using Iterator = IndexIterator<ItemResults, ItemResult>;
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size()); }

 private:
  static constexpr uint32_t kNoSplit = UINT32_MAX;
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Packed {
    int32_t day = 0;  // days since 1970-01-01
    uint32_t data_type = 0, instrument_key = 0, exchange = 0, symbol = 0, reason = 0;
    // object = prefix + instrument_key + suffix, or (object_suffix
    // kNoSplit) object_prefix alone.
    uint32_t object_prefix = 0, object_suffix = kNoSplit;
    // Index in found_, or kNone: no bytes, rows unknown (-1), no
    // timestamps (every missing item).
    uint32_t found = kNone;
    ItemStatus status = ItemStatus::kMissing;
    bool absent = false;
  };
  // What an item's object or record said.
  struct Found {
    int64_t rows = -1;
    uint64_t bytes = 0;
    uint32_t timestamps = kNone;  // index in timestamps_ (footers read), or kNone
  };
  // First and last local_timestamp of an item whose footer gave either.
  struct Timestamps {
    std::optional<int64_t> first, last;
  };
  // `reuse`: the item's previous found_ index, or kNone.
  Packed Pack(const ItemResult& r, uint32_t reuse);

  std::vector<Packed> packed_;
  std::vector<Found> found_;
  std::vector<Timestamps> timestamps_;
  std::shared_ptr<StringPool> strings_ = std::make_shared<StringPool>();
};

}  // namespace mt::validate
