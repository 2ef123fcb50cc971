// The results of a validation, one per expected item, kept compact: a
// grouped item of hundreds of thousands of instruments gives as many
// results, and an ItemResult of its own strings (key, object name, reason,
// and the day's data type, exchange and symbol copied into each) cost
// several times what the item itself says. Here every string is interned
// once in a StringPool (a reason, a data type or an instrument key repeated
// over items or days is held once), and an object name that is a prefix,
// the item's key and a suffix (every tick object's) is held as the two
// interned parts. Each result is a fixed-size record of those ids and its
// numbers, in a SpillVector (core/spill_vector.h): past a few MiB they go
// to a temporary file, so what the results take in memory does not grow
// with their number (the pool's distinct strings do). Reading an item
// builds its ItemResult. Not thread-safe, reads included.
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
#include "core/spill_vector.h"
#include "core/status.h"
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
  // Results held in the temporary file (the rest are in memory).
  size_t spilled() const { return packed_.spilled(); }
  void push_back(const ItemResult& r);
  // Drops every result (their strings stay in the pool).
  void clear() { packed_.clear(); }
  // Replaces item i (i < size()).
  void Set(size_t i, const ItemResult& r);
  // A copy of item i, its strings built.
  ItemResult operator[](size_t i) const;
  // Item i's fields, without building the others.
  ItemStatus status(size_t i) const { return packed_.Get(i).status; }
  Date day(size_t i) const { return CivilFromDays(packed_.Get(i).day); }
  bool absent(size_t i) const { return packed_.Get(i).absent; }
  std::string_view data_type(size_t i) const { return strings_->View(packed_.Get(i).data_type); }
  std::string_view instrument_key(size_t i) const { return strings_->View(packed_.Get(i).instrument_key); }
  // The pool id of item i's key: items of one key have one id (below
  // pool().size()).
  uint32_t instrument_key_id(size_t i) const { return packed_.Get(i).instrument_key; }
  std::string_view exchange(size_t i) const { return strings_->View(packed_.Get(i).exchange); }
  std::string_view symbol(size_t i) const { return strings_->View(packed_.Get(i).symbol); }
  std::string_view reason(size_t i) const { return strings_->View(packed_.Get(i).reason); }
  int64_t rows(size_t i) const { return packed_.Get(i).rows; }
  const StringPool& pool() const { return *strings_; }
  // OK, or a failed read or update of the temporary file (results then
  // read as zeros: whatever was made of them is wrong).
  const Status& io_status() const { return packed_.status(); }
  // Why the results stayed in memory past their budget (the temporary file
  // could not be created or written), or "".
  const std::string& note() const { return packed_.note(); }
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
  // A result as stored: no padding (the record's bytes go to the file).
  struct Packed {
    int32_t day = 0;  // days since 1970-01-01
    uint32_t data_type = 0, instrument_key = 0, exchange = 0, symbol = 0, reason = 0;
    // object = prefix + instrument_key + suffix, or (object_suffix
    // kNoSplit) object_prefix alone.
    uint32_t object_prefix = 0, object_suffix = kNoSplit;
    int64_t rows = -1;  // -1: unknown
    uint64_t bytes = 0;
    // First and last local_timestamp (footers read), when has_first/has_last.
    int64_t first_local_ts = 0, last_local_ts = 0;
    ItemStatus status = ItemStatus::kMissing;
    bool absent = false, has_first = false, has_last = false;
    uint32_t spare = 0;
  };
  static_assert(sizeof(Packed) == 72, "no padding: every byte of a record is set");
  Packed Pack(const ItemResult& r);

  SpillVector<Packed> packed_;
  std::shared_ptr<StringPool> strings_ = std::make_shared<StringPool>();
};

}  // namespace mt::validate
