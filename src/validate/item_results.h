// The results of a validation, one per expected item, in bounded memory: a
// grouped item of millions of instruments gives as many results. Strings
// that repeat over items (data type, exchange, an object name's prefix and
// suffix around the item's key) are interned once in a StringPool; those of
// each item (its instrument key, symbol and reason, and an object name
// that is not prefix + key + suffix) are serialized in a SpillBytes, so
// none of them is held in memory per item. Each result is a fixed-size
// record of ids, the offset of its strings and its numbers, in a
// SpillVector (core/spill_vector.h): past a few MiB both go to a temporary
// file. Reading an item builds its ItemResult. Not thread-safe, reads
// included.
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
  // `memory_bytes`: what the results and their strings may take in memory
  // before they go to the temporary file, each (tests lower it).
  explicit ItemResults(size_t memory_bytes) : packed_(memory_bytes), item_strings_(memory_bytes) {}
  // Each of `items`, in order (tests and callers that built a vector).
  ItemResults(const std::vector<ItemResult>& items);  // NOLINT: implicit on purpose

  size_t size() const { return packed_.size(); }
  bool empty() const { return packed_.empty(); }
  // Results held in the temporary file (the rest are in memory).
  size_t spilled() const { return packed_.spilled(); }
  void push_back(const ItemResult& r);
  // Drops every result (their strings stay in the pool).
  void clear() {
    packed_.clear();
    item_strings_.Clear();
    loaded_ = SIZE_MAX;
  }
  // Replaces item i (i < size()).
  void Set(size_t i, const ItemResult& r);
  // A copy of item i, its strings built.
  ItemResult operator[](size_t i) const;
  // Item i's fields, without building the others.
  ItemStatus status(size_t i) const { return packed_.Get(i).status; }
  Date day(size_t i) const { return CivilFromDays(packed_.Get(i).day); }
  bool absent(size_t i) const { return packed_.Get(i).absent; }
  std::string_view data_type(size_t i) const { return strings_->View(packed_.Get(i).data_type); }
  std::string instrument_key(size_t i) const { return Load(i).instrument_key; }
  std::string_view exchange(size_t i) const { return strings_->View(packed_.Get(i).exchange); }
  std::string symbol(size_t i) const { return Load(i).symbol; }
  std::string reason(size_t i) const { return Load(i).reason; }
  int64_t rows(size_t i) const { return packed_.Get(i).rows; }
  // The strings interned for the results (data types, exchanges, object
  // names' prefixes and suffixes): none per item.
  const StringPool& pool() const { return *strings_; }
  // OK, or a failed read or update of the temporary file (results then
  // read as zeros: whatever was made of them is wrong).
  const Status& io_status() const { return packed_.status().ok() ? item_strings_.status() : packed_.status(); }
  // Why the results stayed in memory past their budget (the temporary file
  // could not be created or written), or "".
  const std::string& note() const { return packed_.note().empty() ? item_strings_.note() : packed_.note(); }
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
    uint32_t data_type = 0, exchange = 0;
    // object = prefix + instrument_key + suffix, or (object_suffix
    // kNoSplit) the object of the item's strings.
    uint32_t object_prefix = 0, object_suffix = kNoSplit;
    uint32_t strings_bytes = 0;  // of the item's strings
    uint64_t strings = 0;        // where they start in item_strings_
    int64_t rows = -1;  // -1: unknown
    uint64_t bytes = 0;
    // First and last local_timestamp (footers read), when has_first/has_last.
    int64_t first_local_ts = 0, last_local_ts = 0;
    ItemStatus status = ItemStatus::kMissing;
    bool absent = false, has_first = false, has_last = false;
    uint32_t spare = 0;
  };
  static_assert(sizeof(Packed) == 72, "no padding: every byte of a record is set");
  // The strings of each item, as stored: key, symbol, reason and (split
  // or not) object, each its length and bytes.
  struct Strings {
    std::string instrument_key, symbol, reason, object;
  };
  Packed Pack(const ItemResult& r);
  // Item i's strings, decoded once for the several fields callers read of
  // one item.
  const Strings& Load(size_t i) const;

  SpillVector<Packed> packed_;
  SpillBytes item_strings_;
  std::shared_ptr<StringPool> strings_ = std::make_shared<StringPool>();
  mutable size_t loaded_ = SIZE_MAX;
  mutable Strings loaded_strings_;
  mutable std::string scratch_;
};

}  // namespace mt::validate
