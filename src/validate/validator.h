// Compares expected items with what the store holds: one listing per day
// (raw_tick_data/by_date/day-D/), then, with `deep`, every present object's
// footer checked (file_check.h) on `concurrency` threads. Without `deep`
// an object that exists is done (docs/STORAGE.md: objects appear only
// when complete), unless it is too short to be Parquet.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/spill_vector.h"
#include "core/status.h"
#include "storage/object_store.h"
#include "validate/expected.h"
#include "validate/item.h"
#include "validate/item_results.h"

namespace mt::validate {

struct ValidateOptions {
  bool deep = false;
  int concurrency = 16;
  const std::atomic<bool>* cancel = ProcessCancelFlag();  // stops the footer checks
  // Called from worker threads now and then with (checked, total).
  std::function<void(size_t, size_t)> progress;
  // What the results and the list of objects to check may take in memory
  // before they go to a temporary file, each (tests lower it).
  size_t memory_bytes = SpillVector<uint64_t>::kDefaultMemoryBytes;
};

struct ValidationResult {
  ItemResults items;              // in the order of ExpectedSet::items
  size_t unexpected_objects = 0;  // tick objects present but not expected
  size_t listed_objects = 0;
  // Why the names merged with a day's listing, or what was found, were
  // sorted in memory (no temporary file could be created or written), or
  // empty.
  std::string listing_note;
  Status store_error;             // first error of the store itself (listing, I/O)
  bool cancelled = false;
};

ValidationResult Validate(storage::ObjectStore* store, const ExpectedSet& expected, const ValidateOptions& opts);
// The same, then frees the expected items: returns with `expected->items`
// empty (the rest of the set as it was; the strings stay with the results).
ValidationResult ValidateReleasing(storage::ObjectStore* store, ExpectedSet* expected, const ValidateOptions& opts);

// Whether the range is complete: no item missing or corrupt, every day with
// definitions, and the store answered. `validate` exits 0 exactly then.
bool Complete(const ExpectedSet& expected, const ValidationResult& result);

}  // namespace mt::validate
