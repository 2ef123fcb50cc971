// pipeline::DeriveItems without --symbols: the items are the stored raw
// objects of the selection, without rows kept under no instrument key, and
// a selection that lists nothing at all is a usage error naming the store.
#include <gtest/gtest.h>

#include <cstdio>

#include "pipeline/derive_job.h"
#include "support/generated_listing.h"
#include "support/memory_store_double.h"

namespace mt::pipeline {
namespace {

const Date kDay{2020, 3, 1};

PlanRequest Request() {
  PlanRequest r;
  r.from = r.to = kDay;
  r.data_types = {"trades"};
  return r;
}

TEST(DeriveItems, UnkeyedObjectsAreNotItems) {
  testing::ForEachLayout([&](testing::MemoryStoreDouble& store, const storage::Layout& layout) {
    store.Put(layout.TickObjectName(kDay, "trades", "bitmex", "BITMEX:PERPETUAL:BTC-USD"), "x");
    store.Put(layout.TickObjectName(kDay, "trades", "bitmex", "BITMEX:UNKEYED:XBTZ99"), "x");
    auto items = DeriveItems(&store, Request());
    ASSERT_TRUE(items.ok()) << items.status().ToString();
    ASSERT_EQ(items->size(), 1u) << layout.name();
    EXPECT_EQ((*items)[0].instrument_key, "BITMEX:PERPETUAL:BTC-USD");
    EXPECT_EQ((*items)[0].exchange, "bitmex");
  });
}

TEST(DeriveItems, NothingStoredForTheSelectionIsAUsageErrorNamingTheStore) {
  testing::MemoryStoreDouble store;
  PlanRequest r = Request();
  r.data_types = {"trades", "quotes"};
  r.to = Date{2020, 3, 2};
  r.exchanges = {"bitmex"};
  auto items = DeriveItems(&store, r);
  ASSERT_FALSE(items.ok());
  EXPECT_EQ(items.status().code(), Status::Code::kUsage);
  const std::string& m = items.status().message();
  for (const std::string& part : {store.Describe(""), std::string("trades,quotes"), std::string("2020-03-01"),
                                  std::string("2020-03-02"), std::string("bitmex"), std::string("--output")}) {
    EXPECT_NE(m.find(part), std::string::npos) << part << " in " << m;
  }
  // An object of another day is no object of the selection.
  store.Put(storage::Layout().TickObjectName(Date{2020, 3, 5}, "trades", "bitmex", "BITMEX:PERPETUAL:BTC-USD"), "x");
  EXPECT_EQ(DeriveItems(&store, r).status().code(), Status::Code::kUsage);
}

}  // namespace
}  // namespace mt::pipeline

namespace mt::pipeline {
namespace {

// The stored objects of a day are read from its listing as the store gives
// it, not gathered: only the items they become are kept (here one, of the
// exchange asked for, beside a day of 200,000 objects of another).
TEST(DeriveItems, TheDaysListingIsReadNotGathered) {
  constexpr size_t kN = 200000;
  const storage::Layout layout;
  testing::GeneratedListing store(layout.TickObjectPrefix(kDay, "trades"), kN, [&](size_t i) {
    char key[64];
    std::snprintf(key, sizeof key, "BINANCE:SPOT:A%07zu-USDT", i);
    return layout.TickObjectName(kDay, "trades", "binance", key);
  });
  store.Put(layout.TickObjectName(kDay, "trades", "bitmex", "BITMEX:PERPETUAL:BTC-USD"), "x");
  PlanRequest r = Request();
  r.exchanges = {"bitmex"};
  if (!store.StartSampling()) GTEST_SKIP() << "no mallinfo2 here";
  auto items = DeriveItems(&store, r);
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].instrument_key, "BITMEX:PERPETUAL:BTC-USD");
  EXPECT_EQ(store.listed(), kN + 1);
  // Gathered, the listing held every name at once.
  EXPECT_LT(store.Growth(), size_t{4} << 20);
}

}  // namespace
}  // namespace mt::pipeline
