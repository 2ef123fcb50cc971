// The day of a derived object taken from the rows (a file whose name gives
// no day): the day of the instrument's first row, as the converter names
// the instrument's raw object (TickConverter's route), whatever that row
// holds. The local store, a real one, in a temporary directory.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "derive/engine.h"
#include "derive/names.h"
#include "storage/open_store.h"
#include "support/temp_dir.h"
#include "tardis/schema.h"

namespace mt::derive {
namespace {

struct TradeRow {
  int64_t local_us;
  std::optional<double> price, amount;
};

columnar::RowGroupData TradeRows(const tardis::DataTypeSchema& schema, const std::vector<TradeRow>& rows) {
  columnar::RowGroupData rg = columnar::MakeRowGroup(schema.ParquetSchema());
  auto col = [&](std::string_view name) -> columnar::ColumnData& {
    for (size_t i = 0; i < schema.columns.size(); i++) {
      if (schema.columns[i].parquet_name == name) return rg.columns[i];
    }
    ADD_FAILURE() << "no column " << name;
    return rg.columns[0];
  };
  for (size_t r = 0; r < rows.size(); r++) {
    const TradeRow& t = rows[r];
    col("exchange").AddDefined();
    col("exchange").str.Append("binance");
    col("symbol").AddDefined();
    col("symbol").str.Append("BTCUSDT");
    col("timestamp").AddDefined();
    col("timestamp").i64.push_back(t.local_us);
    col("local_timestamp").AddDefined();
    col("local_timestamp").i64.push_back(t.local_us);
    col("id").AddDefined();
    col("id").str.Append(std::to_string(r + 1));
    col("side").AddDefined();
    col("side").str.Append("buy");
    for (auto [name, v] : {std::pair{"price", t.price}, std::pair{"amount", t.amount}}) {
      if (v) {
        col(name).AddDefined();
        col(name).f64.push_back(*v);
      } else {
        col(name).AddNull(r);
      }
    }
    rg.num_rows++;
  }
  return rg;
}

// 1-minute trade bars of BINANCE:SPOT_PAIR:BTC-USDT into `store`, no day
// given (the file's name gave none).
EngineOptions BarsWithoutADay(storage::ObjectStore* store) {
  EngineOptions o;
  o.specs = *ParseDerivedList("trade_bar_1m");
  o.store = store;
  o.source = "trades.csv";
  o.key = [](const Date&, const std::string&, const std::string&) -> Result<std::string> {
    return std::string("BINANCE:SPOT_PAIR:BTC-USDT");
  };
  return o;
}

// A local store in a temporary directory and the engine of BarsWithoutADay
// into it, given the trades schema.
class DeriveEngineDay : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(schema, nullptr);
    ASSERT_TRUE(engine.OnSchema(*schema).ok());
  }
  testing::TempDir dir{"mt-derive-day-"};
  std::unique_ptr<storage::ObjectStore> store =
      std::move(storage::OpenStore(dir.path(), storage::StoreConfig{})).value();
  const tardis::DataTypeSchema* schema = tardis::FindSchema("trades");
  DeriveEngine engine{BarsWithoutADay(store.get())};
};

TEST_F(DeriveEngineDay, ADayFromTheRowsIsTheInstrumentsFirstRowsAlsoWhenItHasNoPrice) {
  // The first row (2020-04-02 23:59:59.9) has no price; the converter names
  // the raw object by it: day-2020-04-02.
  const int64_t day_end = 1585872000000000;  // 2020-04-03T00:00Z
  ASSERT_TRUE(engine
                  .OnBatch(TradeRows(*schema, {{day_end - 100000, std::nullopt, std::nullopt},
                                               {day_end + 100000, 6800.5, 1.0},
                                               {day_end + 1100000, 6801.5, 2.0}}))
                  .ok());
  ASSERT_TRUE(engine.Finish().ok());
  ASSERT_EQ(engine.outputs().size(), 1u);
  EXPECT_NE(engine.outputs()[0].name.find("day-2020-04-02"), std::string::npos) << engine.outputs()[0].name;
}

TEST_F(DeriveEngineDay, ARowOutsideFourDigitYearsNamesNoDerivedObject) {
  // The converter fails a file whose instrument's first row is not a day
  // between 1970 and 9999 (871ac90); the engine must not name one either,
  // here from a later row when the first has no price.
  const Status st = engine.OnBatch(
      TradeRows(*schema, {{1585872000100000, std::nullopt, std::nullopt}, {1582375246018000000, 1.0, 1.0}}));
  const Status fin = st.ok() ? engine.Finish() : st;
  for (const auto& out : engine.outputs()) {
    EXPECT_EQ(out.name.find("day-52113"), std::string::npos) << out.name;
  }
  if (fin.ok()) {
    ASSERT_EQ(engine.outputs().size(), 1u);
    EXPECT_NE(engine.outputs()[0].name.find("day-2020-04-03"), std::string::npos) << engine.outputs()[0].name;
  }
}

}  // namespace
}  // namespace mt::derive
