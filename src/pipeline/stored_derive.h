// Derived series computed from a raw object already in the store (no
// download): what `download --derive` does for an item whose raw object
// exists but whose derived objects do not, and what `market-tick derive`
// does for every item. The raw object is read one row group at a time (one
// column after another), handed to a derive::DeriveEngine as the parser's
// batches, so memory is bounded by a row group of the raw file, not by its
// size (docs/DERIVED.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/time_util.h"
#include "derive/engine.h"
#include "derive/names.h"
#include "parquet/file_writer.h"
#include "storage/object_store.h"
#include "tardis/schema.h"

namespace mt::pipeline {

struct StoredDeriveRequest {
  storage::ObjectStore* store = nullptr;
  std::string raw_object;                          // the raw object's name (Layout::TickObjectName)
  const tardis::DataTypeSchema* schema = nullptr;  // its data type
  std::vector<derive::DerivedSpec> specs;          // the series to compute (of that source type)
  Date day;
  std::string key;  // the raw object's instrument key: the derived objects' too
  // Exchange and symbol as the rows spell them (the series of a file
  // without rows need them); empty: the raw object's `exchange` and `symbol`
  // metadata.
  std::string exchange, symbol;
  bool overwrite = false;  // false: derived objects that exist are kept (create-only)
  parquet::WriterOptions writer;
  std::string tool_version;
  const std::atomic<bool>* cancel = nullptr;
};

struct StoredDeriveResult {
  std::vector<derive::DerivedOutput> outputs;  // the objects written (those created meanwhile by another run are not)
  uint64_t rows = 0;      // raw rows read
  uint64_t bytes_in = 0;  // the raw object's size
};

// Computes `specs` from the raw object and commits their objects. Errors:
// kInvalidInput when the object is not a readable file of the schema's
// columns or holds another item's data, kDataLoss when a page fails its
// CRC (the message names it), kCancelled when `cancel` was set, a store
// error as it is (retryable or not); nothing is written then.
Result<StoredDeriveResult> DeriveFromStoredObject(const StoredDeriveRequest& req);

// The series of a grouped file (deribit OPTIONS) once it is split: each
// instrument's raw object (of Tardis exchange `exchange`, the day and type
// of `base`) of `keys` read back in turn (DeriveFromStoredObject with base's other
// fields), so one instrument's books and series are in memory at a time,
// not one open series per instrument. An object that fails to read is read
// again up to twice (another run may replace it meanwhile); stops at the
// first error that remains.
Result<StoredDeriveResult> DeriveEachObject(StoredDeriveRequest base, const std::string& exchange,
                                            const std::vector<std::string>& keys);

// The names of `specs` whose derived object of (day, Tardis exchange, key) is not in the
// store; `present` (may be null) gets the names of those that are, with
// what a killed run left beside them removed.
std::vector<derive::DerivedSpec> MissingDerived(storage::ObjectStore* store, const Date& day, const std::string& exchange,
                                                const std::string& key,
                                                const std::vector<derive::DerivedSpec>& specs,
                                                std::vector<std::string>* present);

}  // namespace mt::pipeline
