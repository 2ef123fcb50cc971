// Work items and sharding (DESIGN §8). A work item is one Tardis file:
// (day, data type, exchange, symbol). The plan is sorted, so every machine
// computes the same list; shard I of N takes the items whose stable hash is
// I mod N, so shards never overlap and their union is the plan.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/time_util.h"

namespace mt::pipeline {

struct WorkItem {
  Date day;
  std::string data_type;
  std::string exchange;
  std::string symbol;
  // The object's instrument key when the plan comes from instrument
  // definitions (metadata may key a symbol differently from its spelling);
  // empty: derived from (exchange, symbol). Not part of the identity.
  std::string instrument_key;

  std::string Id() const;  // 2020-02-22/trades/binance-futures/BTCUSDT
  bool operator<(const WorkItem& o) const;
  bool operator==(const WorkItem& o) const { return Id() == o.Id(); }
};

struct PlanRequest {
  Date from, to;  // inclusive
  std::vector<std::string> exchanges;
  std::vector<std::string> data_types;
  // Symbols; "exchange:SYMBOL" pins a symbol to one exchange, a bare symbol
  // applies to every exchange.
  std::vector<std::string> symbols;
};

Result<std::vector<WorkItem>> BuildPlan(const PlanRequest& req);

// FNV-1a 64 of Id(): stable across machines, builds and runs.
uint64_t StableHash(const WorkItem& item);

struct Shard {
  uint32_t index = 0, count = 1;
};
// "I/N" with 0 <= I < N.
Result<Shard> ParseShard(const std::string& text);
std::vector<WorkItem> SelectShard(const std::vector<WorkItem>& plan, const Shard& shard);

// Tardis dataset URL of an item: {base}/v1/{exchange}/{type}/{YYYY}/{MM}/{DD}/{symbol}.csv.gz
std::string DatasetUrl(const std::string& base, const WorkItem& item);

std::vector<std::string> SplitList(const std::string& csv);

}  // namespace mt::pipeline
