// Derived data types: their names (as tardis-dev's computables name them),
// what they are computed from, and their Parquet columns. One table entry
// per kind; docs/DERIVED.md states the rules.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "columnar/column_data.h"
#include "core/status.h"

namespace mt::derive {

enum class DerivedKind : uint8_t { kBookSnapshot, kTradeBar };
enum class BarKind : uint8_t { kTime, kTicks, kVolume };

// Deeper snapshots than this are refused: each level is four columns.
constexpr int kMaxDepth = 1000;

struct DerivedSpec {
  std::string name;  // canonical: the interval in its largest exact unit (1000ms -> 1s)
  DerivedKind kind = DerivedKind::kBookSnapshot;
  // Book snapshots.
  int depth = 0;
  bool grouped = false;
  double grouping = 0;        // price step when grouped
  int64_t interval_us = 0;    // 0: on every change of the top `depth` levels
  // Trade bars.
  BarKind bar = BarKind::kTime;
  double bar_size = 0;        // ticks or volume per bar (time bars use interval_us)

  // The raw data type it is computed from.
  const char* source_data_type() const {
    return kind == DerivedKind::kBookSnapshot ? "incremental_book_L2" : "trades";
  }
};

// Parses one derived name; an InvalidArgument naming the accepted forms when
// it does not parse, or when the depth is over kMaxDepth.
Result<DerivedSpec> ParseDerivedName(std::string_view name);
// A comma-separated list (duplicates after canonicalisation dropped).
Result<std::vector<DerivedSpec>> ParseDerivedList(std::string_view list);
// For messages: the accepted forms.
std::string AcceptedDerivedForms();

// Parquet columns of a derived type, in file order. Every derived type
// starts with these four.
std::vector<columnar::ColumnSpec> DerivedParquetSchema(const DerivedSpec& spec);
inline constexpr size_t kExchangeColumn = 0;
inline constexpr size_t kSymbolColumn = 1;
inline constexpr size_t kTimestampColumn = 2;
inline constexpr size_t kLocalTimestampColumn = 3;

// The columns of each derived kind for `market-tick schemas`; book levels are
// listed once with `{i}` for the level (1 = best).
struct DerivedColumnDoc {
  std::string name;
  columnar::ColumnKind kind;
  bool nullable;
  std::string doc;
};
struct DerivedKindDoc {
  std::string pattern;  // e.g. book_snapshot_{depth}_{interval}
  std::string doc;
  std::vector<DerivedColumnDoc> columns;
};
std::vector<DerivedKindDoc> DerivedDocs();

}  // namespace mt::derive
