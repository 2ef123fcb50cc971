// `market-tick sql`: ready-made query definitions for a store (docs/STORAGE.md, "Querying"):
// one DuckDB view, or one BigQuery external table, per data type, each
// giving the partition columns data_type, date and exchange in both layouts.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "storage/object_store.h"

namespace mt::pipeline {

enum class SqlEngine { kDuckDb, kBigQuery };

struct SqlViewsOptions {
  SqlEngine engine = SqlEngine::kDuckDb;
  // The store's root as the engine reads it: an absolute local path or
  // gs://BUCKET[/PREFIX], without a trailing '/'.
  std::string root;
  // Raw or derived data types; empty: every one the store holds (one
  // listing of raw_tick_data/ and derived_data/).
  std::vector<std::string> data_types;
  std::string dataset = "market_tick";  // BigQuery: the tables' dataset
};

// The statements, one per data type in name order (then `instruments` when
// the store has instrument definitions and no data types were listed).
// kUsage: BigQuery over a by_date or local store (BigQuery reads hive
// partitions of gs:// only), a store holding no data, a malformed data type.
Result<std::string> SqlDefinitions(storage::ObjectStore* store, const SqlViewsOptions& opts);

}  // namespace mt::pipeline
