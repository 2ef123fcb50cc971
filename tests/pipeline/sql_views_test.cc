// `market-tick sql` text (pipeline/sql_views.h): BigQuery's external tables in
// the shape of Google's CREATE EXTERNAL TABLE statement (BigQuery cannot run
// here; the DuckDB views are run in real DuckDB by tests/js/layout.test.mjs).
#include "pipeline/sql_views.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "support/generated_listing.h"
#include "support/memory_store_double.h"

namespace mt::pipeline {
namespace {

const Date kDay{2024, 1, 1};

// BigQuery definitions of gs://bkt/lake, dataset `ticks`.
SqlViewsOptions BigQueryInLake() {
  SqlViewsOptions o;
  o.engine = SqlEngine::kBigQuery;
  o.root = "gs://bkt/lake";
  o.dataset = "ticks";
  return o;
}

TEST(SqlViews, BigQueryExternalTablesOverHivePartitions) {
  testing::MemoryStoreDouble store;
  const storage::Layout hive(storage::LayoutKind::kHive);
  store.set_layout(hive);
  store.Put(hive.TickObjectName(kDay, "trades", "binance-futures", "BINANCE-FUTURES:PERPETUAL:BTC-USDT"), "x");
  store.Put(hive.TickObjectName(kDay, "quotes", "bitmex", "BITMEX:PERPETUAL:BTC-USD"), "x");
  store.Put(hive.DerivedObjectName(kDay, "trade_bar_1m", "bitmex", "BITMEX:PERPETUAL:BTC-USD"), "x");
  store.Put(hive.ItemRecordName(kDay, "options_chain", "deribit", "OPTIONS"), "{}");  // not a data file
  SqlViewsOptions o = BigQueryInLake();
  auto text = SqlDefinitions(&store, o);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  auto table = [](const std::string& name, const std::string& root) {
    return "CREATE OR REPLACE EXTERNAL TABLE `ticks." + name +
           "`\nWITH PARTITION COLUMNS (\n  data_type STRING,\n  date DATE,\n  exchange_id STRING\n)\nOPTIONS (\n"
           "  format = 'PARQUET',\n  hive_partition_uri_prefix = 'gs://bkt/lake/" + root + "',\n"
           "  uris = ['gs://bkt/lake/" + root + "/data_type=" + name + "/*.parquet']\n);\n";
  };
  EXPECT_EQ(*text, table("quotes", "raw_tick_data") + table("trade_bar_1m", "derived_data") +
                       table("trades", "raw_tick_data"));
}

// A hive store of format version 1 names its exchange partition `exchange`,
// as the files' column; BigQuery refuses a Hive partition key that is also a
// column of the files, so its tables read every column from the files and
// the text says why.
TEST(SqlViews, BigQueryTablesOfAVersion1HiveStoreHaveNoPartitionColumns) {
  testing::MemoryStoreDouble store;
  const storage::Layout v1(storage::LayoutKind::kHive, storage::Layout::kHiveExchangeV1);
  store.set_layout(v1);
  store.Put(v1.TickObjectName(kDay, "trades", "bitmex", "BITMEX:PERPETUAL:BTC-USD"), "x");
  SqlViewsOptions o = BigQueryInLake();
  auto text = SqlDefinitions(&store, o);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  const std::string table =
      "CREATE OR REPLACE EXTERNAL TABLE `ticks.trades`\nOPTIONS (\n  format = 'PARQUET',\n"
      "  uris = ['gs://bkt/lake/raw_tick_data/data_type=trades/*.parquet']\n);\n";
  ASSERT_GE(text->size(), table.size());
  EXPECT_EQ(text->substr(text->size() - table.size()), table);
  EXPECT_NE(text->find("-- "), std::string::npos);
  EXPECT_NE(text->find("format version 1"), std::string::npos) << *text;
  EXPECT_EQ(text->find("PARTITION COLUMNS"), std::string::npos) << *text;
  // DuckDB reads either name: its view types the store's own partition.
  o.engine = SqlEngine::kDuckDb;
  o.root = "/lake";
  auto duck = SqlDefinitions(&store, o);
  ASSERT_TRUE(duck.ok());
  EXPECT_NE(duck->find("'exchange': VARCHAR"), std::string::npos) << *duck;
}

TEST(SqlViews, BigQueryNeedsAHiveStoreInGcs) {
  testing::MemoryStoreDouble store;
  store.Put(storage::Layout().TickObjectName(kDay, "trades", "bitmex", "BITMEX:PERPETUAL:BTC-USD"), "x");
  SqlViewsOptions o;
  o.engine = SqlEngine::kBigQuery;
  o.root = "gs://bkt";
  EXPECT_EQ(SqlDefinitions(&store, o).status().code(), Status::Code::kUsage);  // by_date
  store.set_layout(storage::Layout(storage::LayoutKind::kHive));
  o.root = "/data";
  EXPECT_EQ(SqlDefinitions(&store, o).status().code(), Status::Code::kUsage);  // local
  o.root = "gs://bkt";
  o.dataset = "a.b";
  EXPECT_EQ(SqlDefinitions(&store, o).status().code(), Status::Code::kUsage);
}

TEST(SqlViews, DuckDbViewsOfByDateComputeThePartitionColumns) {
  testing::MemoryStoreDouble store;
  store.Put(storage::Layout().TickObjectName(kDay, "trades", "bitmex", "BITMEX:PERPETUAL:BTC-USD"), "x");
  SqlViewsOptions o;
  o.root = "/data/it's";
  auto text = SqlDefinitions(&store, o);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text,
            "SET TimeZone = 'UTC';\n"
            "CREATE OR REPLACE VIEW \"trades\" AS\nSELECT * EXCLUDE (filename), 'trades' AS data_type,\n"
            "  CAST(regexp_extract(filename, '.*/day-([0-9]{4}-[0-9]{2}-[0-9]{2})/', 1) AS DATE) AS date\n"
            "FROM read_parquet('/data/it''s/raw_tick_data/by_date/day-*/data_type-trades/*.parquet', filename = true, "
            "hive_partitioning = false, union_by_name = true);\n");
  o.data_types = {"trades", "no_such_type"};
  EXPECT_EQ(SqlDefinitions(&store, o).status().code(), Status::Code::kUsage);
  testing::MemoryStoreDouble empty;
  o.data_types.clear();
  EXPECT_EQ(SqlDefinitions(&empty, o).status().code(), Status::Code::kUsage);
}

TEST(SqlViews, NamesWithUpperCaseAreDefinedAndQuoted) {
  testing::ForEachLayout([&](testing::MemoryStoreDouble& store, const storage::Layout& layout) {
    const storage::LayoutKind kind = layout.kind();
    store.Put(layout.TickObjectName(kDay, "incremental_book_L2", "deribit", "DERIBIT:PERPETUAL:BTC-USD"), "x");
    store.Put(layout.TickObjectName(kDay, "book_snapshot_25", "deribit", "DERIBIT:PERPETUAL:BTC-USD"), "x");
    SqlViewsOptions o;
    o.root = "/data";
    auto listed = SqlDefinitions(&store, o);  // the store's data types, listed
    ASSERT_TRUE(listed.ok()) << listed.status().ToString();
    EXPECT_NE(listed->find("CREATE OR REPLACE VIEW \"incremental_book_L2\" AS"), std::string::npos) << *listed;
    EXPECT_NE(listed->find("CREATE OR REPLACE VIEW \"book_snapshot_25\" AS"), std::string::npos) << *listed;
    o.data_types = {"incremental_book_L2"};
    auto asked = SqlDefinitions(&store, o);
    ASSERT_TRUE(asked.ok()) << asked.status().ToString();
    EXPECT_NE(asked->find(kind == storage::LayoutKind::kHive ? "/data/raw_tick_data/data_type=incremental_book_L2/*/*/*.parquet"
                                                             : "/data/raw_tick_data/by_date/day-*/data_type-incremental_book_L2/*.parquet"),
              std::string::npos)
        << *asked;
    if (kind == storage::LayoutKind::kHive) {
      o.engine = SqlEngine::kBigQuery;
      o.root = "gs://bkt";
      auto bq = SqlDefinitions(&store, o);
      ASSERT_TRUE(bq.ok()) << bq.status().ToString();
      EXPECT_EQ(bq->substr(0, 66), "CREATE OR REPLACE EXTERNAL TABLE `market_tick.incremental_book_L2`");
      const std::string uris = "uris = ['gs://bkt/raw_tick_data/data_type=incremental_book_L2/*.parquet']";
      EXPECT_NE(bq->find(uris), std::string::npos) << *bq;
    }
  });
}

// Derived names may hold a '.' (trade_bar_0.5vol, grouped snapshots): they
// were once left out of the listing and refused in --data-types. DuckDB takes
// them as quoted identifiers; BigQuery table names take no '.', so it becomes '_'.
TEST(SqlViews, DerivedNamesWithADecimalPoint) {
  testing::ForEachLayout([&](testing::MemoryStoreDouble& store, const storage::Layout& layout) {
    const storage::LayoutKind kind = layout.kind();
    store.Put(layout.DerivedObjectName(kDay, "trade_bar_0.5vol", "bitmex", "BITMEX:PERPETUAL:BTC-USD"), "x");
    store.Put(layout.DerivedObjectName(kDay, "book_snapshot_5_grouped0.5_1s", "deribit", "DERIBIT:PERPETUAL:BTC-USD"), "x");
    SqlViewsOptions o;
    o.root = "/data";
    auto listed = SqlDefinitions(&store, o);
    ASSERT_TRUE(listed.ok()) << listed.status().ToString();
    const std::string glob = kind == storage::LayoutKind::kHive
                                 ? "/data/derived_data/data_type=trade_bar_0.5vol/*/*/*.parquet"
                                 : "/data/derived_data/by_date/day-*/data_type-trade_bar_0.5vol/*.parquet";
    EXPECT_NE(listed->find("CREATE OR REPLACE VIEW \"trade_bar_0.5vol\" AS"), std::string::npos) << *listed;
    EXPECT_NE(listed->find(glob), std::string::npos) << *listed;
    EXPECT_NE(listed->find("CREATE OR REPLACE VIEW \"book_snapshot_5_grouped0.5_1s\" AS"), std::string::npos) << *listed;
    // Asked for in another spelling: the stored (canonical) name.
    o.data_types = {"trade_bar_0.50vol", "book_snapshot_5_grouped0.5_1000ms"};
    auto asked = SqlDefinitions(&store, o);
    ASSERT_TRUE(asked.ok()) << asked.status().ToString();
    EXPECT_EQ(*asked, *listed);
    if (kind == storage::LayoutKind::kHive) {
      o.engine = SqlEngine::kBigQuery;
      o.root = "gs://bkt";
      o.data_types.clear();
      auto bq = SqlDefinitions(&store, o);
      ASSERT_TRUE(bq.ok()) << bq.status().ToString();
      EXPECT_NE(bq->find("TABLE `market_tick.trade_bar_0_5vol`"), std::string::npos) << *bq;
      EXPECT_NE(bq->find("uris = ['gs://bkt/derived_data/data_type=trade_bar_0.5vol/*.parquet']"), std::string::npos)
          << *bq;
      EXPECT_NE(bq->find("TABLE `market_tick.book_snapshot_5_grouped0_5_1s`"), std::string::npos) << *bq;
    }
  });
}

}  // namespace
}  // namespace mt::pipeline

namespace mt::pipeline {
namespace {

// The data types of a store are read from its listing as the store gives
// it, not gathered: a day of many objects is a listing of as many names.
TEST(SqlViews, TheStoresListingIsReadNotGathered) {
  constexpr size_t kN = 200000;
  const storage::Layout layout;
  testing::GeneratedListing store(layout.TickObjectPrefix(kDay, "trades"), kN, [&](size_t i) {
    char key[64];
    std::snprintf(key, sizeof key, "DERIBIT:OPTION:BTC-USD-240126-%07zu-CALL", i);
    return layout.TickObjectName(kDay, "trades", "deribit", key);
  });
  store.Put(layout.TickObjectName(kDay, "quotes", "bitmex", "BITMEX:PERPETUAL:BTC-USD"), "x");
  store.Put(layout.InstrumentsObjectName(kDay), "x");
  store.Put(layout.InstrumentsObjectName(Date{2024, 1, 2}), "x");
  SqlViewsOptions o;
  o.root = "/data";
  if (!store.StartSampling()) GTEST_SKIP() << "no mallinfo2 here";
  auto text = SqlDefinitions(&store, o);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(store.listed(), kN + 2) << "every tick object, then the first file of definitions";
  // Gathered, the listing held every name at once.
  EXPECT_LT(store.Growth(), size_t{4} << 20);
  EXPECT_NE(text->find("CREATE OR REPLACE VIEW \"quotes\" AS"), std::string::npos) << *text;
  EXPECT_NE(text->find("CREATE OR REPLACE VIEW \"trades\" AS"), std::string::npos) << *text;
  EXPECT_NE(text->find("CREATE OR REPLACE VIEW \"instruments\" AS"), std::string::npos) << *text;
}

}  // namespace
}  // namespace mt::pipeline
