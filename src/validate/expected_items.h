// The expected items of a validation, in bounded memory: a grouped item
// expects an item per instrument its completion record lists (millions on
// a big generated options day), and neither the items nor their strings may
// be held in memory whatever their number. Each item is its fields
// serialized (day, then each string with its length) in a SpillBytes and
// its offset in a SpillVector (core/spill_vector.h): past a few MiB both go
// to a temporary file. SortUnique sorts through an ExternalSorter
// (core/external_sort.h). Reading an item builds its ExpectedItem. Not
// thread-safe, reads included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/index_iterator.h"
#include "core/spill_vector.h"
#include "core/status.h"
#include "core/time_util.h"
#include "validate/item.h"

namespace mt::validate {

class ExpectedItems {
 public:
  ExpectedItems() = default;
  ExpectedItems(std::initializer_list<ExpectedItem> items);  // NOLINT: implicit on purpose
  // `memory_bytes`: what the items and their strings may take in memory
  // before they go to the temporary file, each (tests lower it).
  explicit ExpectedItems(size_t memory_bytes);

  size_t size() const { return offsets_.size(); }
  bool empty() const { return offsets_.empty(); }
  // Keeps the first n items (n <= size()).
  void truncate(size_t n);
  void clear();
  void push_back(const ExpectedItem& e);
  // A copy of item i, its strings built.
  ExpectedItem operator[](size_t i) const { return Load(i); }
  Date day(size_t i) const { return Load(i).day; }
  std::string data_type(size_t i) const { return Load(i).data_type; }
  std::string instrument_key(size_t i) const { return Load(i).instrument_key; }
  std::string exchange(size_t i) const { return Load(i).exchange; }
  std::string symbol(size_t i) const { return Load(i).symbol; }
  // Records (item offsets and pages of their bytes) held in the temporary
  // files: 0 when everything is in memory.
  size_t spilled() const { return offsets_.spilled() + bytes_.spilled_pages(); }
  // OK, or a failed read of the temporary file (items then read as zeros).
  const Status& io_status() const;
  // Why the items stayed in memory past their budget (no temporary file
  // could be created or written), or empty.
  const std::string& note() const;
  // Sorts by day, data type and instrument key, and drops the repeats of
  // each (of items of one key, the least by exchange, then symbol, stays:
  // the same one whatever the number of items or the memory budget).
  void SortUnique();
  // Runs of the last SortUnique written to its temporary file (0: sorted
  // in memory).
  size_t sort_runs() const { return sort_runs_; }

  // Yields ExpectedItem values (copies), in order.
  using Iterator = IndexIterator<ExpectedItems, ExpectedItem>;
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size()); }

 private:
  // Item i, decoded once for the several fields callers read of one item.
  const ExpectedItem& Load(size_t i) const;
  void Serialized(size_t i, std::string* out) const;

  size_t memory_bytes_ = size_t{4} << 20;
  SpillVector<uint64_t> offsets_{memory_bytes_};  // where each item starts in bytes_
  SpillBytes bytes_{memory_bytes_};
  Status sort_status_;  // a failed read of SortUnique's temporary file
  size_t sort_runs_ = 0;
  std::string sort_note_;  // SortUnique's sorter sorted in memory: why
  mutable size_t loaded_ = SIZE_MAX;
  mutable ExpectedItem item_;
  mutable std::string scratch_;
};

}  // namespace mt::validate
