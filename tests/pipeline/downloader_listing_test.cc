// What a download rerun holds of a day's listing: a grouped item skipped on
// its completion record, with --derive, looks the series of its recorded
// objects up in the day's folder of each series, which holds the series of
// every item of the day. The folder is looked up as the store lists it, not
// gathered. The store double makes the folder's other objects as they are
// listed, so the heap grows only by what the downloader keeps.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "derive/names.h"
#include "pipeline/downloader.h"
#include "pipeline/item_record.h"
#include "support/generated_listing.h"
#include "support/scripted_http.h"

namespace mt::pipeline {
namespace {

const Date kDay{2024, 1, 1};

// A download of one item at a time that computes trade_bar_1m, from a
// source that cannot answer (an item that needs a request fails): what a
// rerun of a recorded item does without one.
void BarsWithoutASource(storage::ObjectStore* store, testing::ScriptedHttp* http, DownloadOptions* o) {
  o->datasets_url = "http://127.0.0.1:9";
  o->store = store;
  o->concurrency = 1;
  o->http_factory = [http] { return http->Client(); };
  auto specs = derive::ParseDerivedList("trade_bar_1m");
  ASSERT_TRUE(specs.ok());
  o->derived = *specs;
}

TEST(DownloaderListing, AGroupedItemsSeriesAreLookedUpInTheDaysFolderNotGathered) {
  constexpr size_t kOthers = 200000;
  const storage::Layout layout;
  const std::string any = layout.DerivedObjectName(kDay, "trade_bar_1m", "deribit", "X");
  const std::string folder = any.substr(0, any.rfind('/') + 1);
  // The series of other items of the day (ADA options, before BTC's).
  testing::GeneratedListing store(folder, kOthers, [&](size_t i) {
    char key[64];
    std::snprintf(key, sizeof key, "DERIBIT:OPTION:ADA-USD-240126-%07zu-CALL", i);
    return layout.DerivedObjectName(kDay, "trade_bar_1m", "deribit", key);
  });
  // The item's record lists three objects; the first and third have their series.
  const WorkItem item{kDay, "trades", "deribit", "OPTIONS", {}};
  ItemRecord rec;
  rec.item = item.Id();
  rec.outcome = "done";
  const std::vector<std::string> keys = {"DERIBIT:OPTION:BTC-USD-240126-40000-CALL",
                                         "DERIBIT:OPTION:BTC-USD-240126-41000-CALL",
                                         "DERIBIT:OPTION:BTC-USD-240126-42000-CALL"};
  for (const std::string& k : keys) {
    rec.objects.push_back({layout.TickObjectName(kDay, "trades", "deribit", k), k, 2, 100});
    rec.rows += 2;
  }
  ASSERT_TRUE(WriteItemRecord(&store, item, rec, false).ok());
  store.Put(layout.DerivedObjectName(kDay, "trade_bar_1m", "deribit", keys[0]), "x");
  store.Put(layout.DerivedObjectName(kDay, "trade_bar_1m", "deribit", keys[2]), "x");

  testing::ScriptedHttp http;
  DownloadOptions o;
  ASSERT_NO_FATAL_FAILURE(BarsWithoutASource(&store, &http, &o));
  Downloader dl(o);
  if (!store.StartSampling()) GTEST_SKIP() << "no mallinfo2 here";
  const ItemResult r = dl.Run({item}).at(0);
  // The second object's series is missing: computed from its raw object,
  // which is not there, so the item fails on reading it.
  EXPECT_EQ(r.outcome, Outcome::kFailed) << r.reason;
  EXPECT_NE(r.reason.find(layout.TickObjectName(kDay, "trades", "deribit", keys[1])), std::string::npos) << r.reason;
  EXPECT_EQ(http.requests(), 0);
  EXPECT_GE(store.listed(), kOthers);
  // Gathered, the listing held every name at once.
  EXPECT_LT(store.Growth(), size_t{4} << 20);
}

// A rerun of a grouped item whose record lists many objects, every one
// with its series stored: the item is skipped with the recorded objects and
// their series as its objects, and what it holds of them (the record's names
// and keys, the series found, the result's list) does not grow with their
// number. The series' folder is made as it is listed, the record is the
// store's bytes.
TEST(DownloaderListing, ARerunOfAGroupedItemOfManyObjectsHoldsNoneOfThem) {
  constexpr size_t kObjects = 200000;
  const storage::Layout layout;
  auto key = [](size_t i) {
    char k[64];
    std::snprintf(k, sizeof k, "DERIBIT:OPTION:BTC-USD-240126-%07zu-CALL", i);
    return std::string(k);
  };
  const std::string any = layout.DerivedObjectName(kDay, "trade_bar_1m", "deribit", "X");
  testing::GeneratedListing store(any.substr(0, any.rfind('/') + 1), kObjects, [&](size_t i) {
    return layout.DerivedObjectName(kDay, "trade_bar_1m", "deribit", key(i));
  });
  const WorkItem item{kDay, "trades", "deribit", "OPTIONS", {}};
  {
    ItemRecord rec;
    rec.item = item.Id();
    rec.outcome = "done";
    for (size_t i = 0; i < kObjects; i++) {
      rec.objects.push_back({layout.TickObjectName(kDay, "trades", "deribit", key(i)), key(i), 2, 100});
      rec.rows += 2;
    }
    ASSERT_TRUE(WriteItemRecord(&store, item, rec, false).ok());
  }
  testing::ScriptedHttp http;
  DownloadOptions o;
  ASSERT_NO_FATAL_FAILURE(BarsWithoutASource(&store, &http, &o));
  Downloader dl(o);
  if (!store.StartSampling()) GTEST_SKIP() << "no mallinfo2 here";
  const std::vector<ItemResult> results = dl.Run({item});
  store.SampleNow();  // with the result held
  ASSERT_EQ(results.size(), 1u);
  const ItemResult& r = results[0];
  EXPECT_EQ(r.outcome, Outcome::kSkipped) << r.reason;
  EXPECT_EQ(http.requests(), 0);
  EXPECT_EQ(store.listed(), kObjects);
  ASSERT_EQ(r.objects.size(), 2 * kObjects);
  size_t i = 0, wrong = 0;
  for (const std::string& name : r.objects) {
    // Listed as a done item lists what it wrote: the store's description of each name.
    const std::string want =
        store.Describe(i < kObjects ? layout.TickObjectName(kDay, "trades", "deribit", key(i))
                                    : layout.DerivedObjectName(kDay, "trade_bar_1m", "deribit", key(i - kObjects)));
    if (name != want && wrong++ < 3) ADD_FAILURE() << "object " << i << ": " << name << ", not " << want;
    i++;
  }
  EXPECT_EQ(wrong, 0u);
  EXPECT_TRUE(r.objects.read_status().ok());
  // Held in memory, the names and keys and the series found grew with them.
  EXPECT_LT(store.Growth(), size_t{24} << 20);
}

}  // namespace
}  // namespace mt::pipeline
