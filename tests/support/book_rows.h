// Generated incremental_book_L2 rows of one instrument (deribit
// BTC-PERPETUAL) for the derive tests: a snapshot, then updates around a
// mid price of 10,000, with optional nulls and zero amounts.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "columnar/column_data.h"
#include "tardis/schema.h"

namespace mt::testing {

struct BookRowsSpec {
  size_t rows = 0;
  size_t snapshot_rows = 0;       // the first rows, is_snapshot, at the first local timestamp
  int64_t first_us = 0;           // added to 2020-04-02T00:00Z for every row's local timestamp
  size_t rows_per_timestamp = 1;  // updates sharing a local timestamp (one book change)
  int64_t step_us = 1000;         // between those timestamps
  int price_spread = 10;          // prices 10010 + r % spread (asks) and 9990 - r % spread (bids)
  size_t null_price_every = 0;    // row r has a null price when r % n == n - 1 (0: never)
  size_t null_amount_every = 0;   // the same for the amount
  size_t zero_amount_every = 0;   // amount 0 (a deletion) when r % n == 0 (0: never)
};

// Rows alternate ask, bid; timestamp = local_timestamp - 100 us.
inline columnar::RowGroupData BookRows(const tardis::DataTypeSchema& schema, const BookRowsSpec& spec) {
  columnar::RowGroupData rg = columnar::MakeRowGroup(schema.ParquetSchema());
  auto col = [&](std::string_view name) -> columnar::ColumnData& {
    for (size_t i = 0; i < schema.columns.size(); i++) {
      if (schema.columns[i].parquet_name == name) return rg.columns[i];
    }
    ADD_FAILURE() << "no column " << name;
    return rg.columns[0];
  };
  auto every = [](size_t r, size_t n) { return n != 0 && r % n == n - 1; };
  for (size_t r = 0; r < spec.rows; r++) {
    const bool snap = r < spec.snapshot_rows;
    const int64_t local = 1585785600000000 + spec.first_us +
                          static_cast<int64_t>(snap ? 0 : r / spec.rows_per_timestamp) * spec.step_us;
    col("exchange").AddDefined();
    col("exchange").str.Append("deribit");
    col("symbol").AddDefined();
    col("symbol").str.Append("BTC-PERPETUAL");
    col("timestamp").AddDefined();
    col("timestamp").i64.push_back(local - 100);
    col("local_timestamp").AddDefined();
    col("local_timestamp").i64.push_back(local);
    col("is_snapshot").AddDefined();
    col("is_snapshot").b.push_back(snap ? 1 : 0);
    col("side").AddDefined();
    col("side").str.Append(r % 2 ? "bid" : "ask");
    if (every(r, spec.null_price_every)) {
      col("price").AddNull(r);
    } else {
      const double d = static_cast<double>(r % static_cast<size_t>(spec.price_spread));
      col("price").AddDefined();
      col("price").f64.push_back(r % 2 ? 9990.0 - d : 10010.0 + d);
    }
    if (every(r, spec.null_amount_every)) {
      col("amount").AddNull(r);
    } else {
      col("amount").AddDefined();
      const bool zero = spec.zero_amount_every != 0 && r % spec.zero_amount_every == 0;
      col("amount").f64.push_back(zero ? 0.0 : 1.0 + static_cast<double>(r % 7));
    }
    rg.num_rows++;
  }
  return rg;
}

}  // namespace mt::testing
