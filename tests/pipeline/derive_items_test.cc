// pipeline::DeriveItems without --symbols: the items are the stored raw
// objects of the selection, without rows kept under no instrument key, and
// a selection that lists nothing at all is a usage error naming the store.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/derive_job.h"
#include "pipeline/item_record.h"
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

namespace mt::pipeline {
namespace {

// A store whose generated objects all exist (the day's raw objects and
// their series alike): every item of a derive run over it is skipped.
class EverythingExists : public testing::GeneratedListing {
 public:
  using GeneratedListing::GeneratedListing;
  Result<bool> Exists(const std::string& name) override {
    MT_RETURN_IF_ERROR(GeneratedListing::Exists(name).status());
    return true;
  }
};

// A derive run over a day of many stored objects (no --symbols: each object
// is an item) holds neither the day's listing nor its plan of items: every
// item runs, once, and the heap does not grow with their number.
TEST(DeriveJob, APlanOfManyStoredObjectsIsNotHeld) {
  constexpr size_t kN = 200000;
  const storage::Layout layout;
  auto key = [](size_t i) {
    char k[64];
    std::snprintf(k, sizeof k, "DERIBIT:OPTION:BTC-USD-240126-%07zu-CALL", i);
    return std::string(k);
  };
  EverythingExists store(layout.TickObjectPrefix(kDay, "trades"), kN,
                         [&](size_t i) { return layout.TickObjectName(kDay, "trades", "deribit", key(i)); });
  // What the items' ids hash to, in any order.
  uint64_t want = 0;
  for (size_t i = 0; i < kN; i++) want += StableHash(WorkItem{kDay, "trades", "deribit", key(i)});
  DeriveJobOptions o;
  o.request = Request();
  auto specs = derive::ParseDerivedList("trade_bar_1m");
  ASSERT_TRUE(specs.ok());
  o.derived = *specs;
  o.concurrency = 2;
  std::atomic<bool> never{false};
  o.cancel = &never;
  std::mutex mu;
  uint64_t got = 0;
  size_t skipped = 0;
  o.on_item = [&](const ItemResult& r) {
    std::lock_guard<std::mutex> l(mu);
    got += StableHash(r.item);
    if (r.outcome == Outcome::kSkipped && r.objects.size() == 1) skipped++;
  };
  if (!store.StartSampling()) GTEST_SKIP() << "no mallinfo2 here";
  auto report = RunDeriveJob(&store, o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->status.ok()) << report->status.ToString();
  EXPECT_EQ(report->items, kN);
  EXPECT_EQ(skipped, kN);
  EXPECT_EQ(got, want);
  // Held as items, the plan grew with them.
  EXPECT_LT(store.Growth(), size_t{16} << 20);
}

}  // namespace
}  // namespace mt::pipeline

namespace mt::pipeline {
namespace {

// derive --symbols OPTIONS over a grouped item whose record lists many
// objects, each with its raw object and series stored: the item is skipped
// with every series as its objects, and what it holds of the record (its
// objects' names and keys, the series found) does not grow with their
// number.
TEST(DeriveJob, AGroupedItemOfManyRecordedObjectsIsNotHeld) {
  constexpr size_t kN = 200000;
  const storage::Layout layout;
  auto key = [](size_t i) {
    char k[64];
    std::snprintf(k, sizeof k, "DERIBIT:OPTION:BTC-USD-240126-%07zu-CALL", i);
    return std::string(k);
  };
  EverythingExists store("nothing-listed/", 0, nullptr);
  const WorkItem item{kDay, "trades", "deribit", "OPTIONS", {}};
  {
    ItemRecord rec;
    rec.item = item.Id();
    rec.outcome = "done";
    for (size_t i = 0; i < kN; i++) {
      rec.objects.push_back({layout.TickObjectName(kDay, "trades", "deribit", key(i)), key(i), 2, 100});
    }
    // Rows kept without a key get no series.
    rec.objects.push_back({layout.TickObjectName(kDay, "trades", "deribit", "DERIBIT:UNKEYED:X"), "", 2, 100});
    ASSERT_TRUE(WriteItemRecord(&store, item, rec, false).ok());
  }
  DeriveJobOptions o;
  o.request = Request();
  o.request.exchanges = {"deribit"};
  o.request.symbols = {"OPTIONS"};
  auto specs = derive::ParseDerivedList("trade_bar_1m");
  ASSERT_TRUE(specs.ok());
  o.derived = *specs;
  std::atomic<bool> never{false};
  o.cancel = &never;
  size_t results = 0, objects = 0, wrong = 0;
  o.on_item = [&](const ItemResult& r) {
    results++;
    EXPECT_EQ(r.outcome, Outcome::kSkipped) << r.reason;
    size_t i = 0;
    for (const std::string& name : r.objects) {
      const std::string want = store.Describe(layout.DerivedObjectName(kDay, "trade_bar_1m", "deribit", key(i++)));
      if (name != want && wrong++ < 3) ADD_FAILURE() << name << ", not " << want;
    }
    objects = r.objects.size();
    store.SampleNow();  // with the result held
  };
  if (!store.StartSampling()) GTEST_SKIP() << "no mallinfo2 here";
  auto report = RunDeriveJob(&store, o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->items, 1u);
  EXPECT_EQ(results, 1u);
  EXPECT_EQ(objects, kN);
  EXPECT_EQ(wrong, 0u);
  // Held in memory, the record's objects and the series found grew with them.
  EXPECT_LT(store.Growth(), size_t{16} << 20);
}

}  // namespace
}  // namespace mt::pipeline

namespace mt::pipeline {
namespace {

// The process's unnamed temporary files (unlinked, regular, not empty).
std::vector<std::pair<int, off_t>> TemporaryFiles() {
  std::vector<std::pair<int, off_t>> out;
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return out;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const int fd = std::atoi(e->d_name);
    char link[512];
    const ssize_t n = ::readlink(("/proc/self/fd/" + std::string(e->d_name)).c_str(), link, sizeof link - 1);
    if (n <= 0) continue;
    link[n] = 0;
    struct stat st;
    if (std::string(link).find("(deleted)") == std::string::npos || ::fstat(fd, &st) != 0) continue;
    if (S_ISREG(st.st_mode) && st.st_size > 0) out.emplace_back(fd, st.st_size);
  }
  ::closedir(d);
  return out;
}

// A grouped item's recorded objects are walked with their keys, both read
// back from temporary files: once the keys cannot be read back (their file
// cut short under it), the walk ends there and the item fails; it does not
// go on with the names alone, asking for the series of an empty key.
class KeysCutShort : public EverythingExists {
 public:
  using EverythingExists::EverythingExists;
  std::string first_raw, empty_key_series;
  size_t empty_key_asked = 0;
  bool cut = false;
  Result<bool> Exists(const std::string& name) override {
    if (!cut && name == first_raw) {
      // The names' file and the keys' (the smaller: keys are shorter).
      auto files = TemporaryFiles();
      if (files.size() >= 2) {
        std::sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.second < b.second; });
        cut = ::ftruncate(files[0].first, 0) == 0;
      }
    }
    if (name == empty_key_series) empty_key_asked++;
    return EverythingExists::Exists(name);
  }
};

TEST(DeriveJob, AGroupedItemWhoseKeysCannotBeReadBackFailsWithoutAnEmptyKey) {
  constexpr size_t kN = 50000;
  const storage::Layout layout;
  auto key = [](size_t i) {
    char k[64];
    std::snprintf(k, sizeof k, "DERIBIT:OPTION:BTC-USD-240126-%07zu-CALL", i);
    return std::string(k);
  };
  KeysCutShort store("nothing-listed/", 0, nullptr);
  store.first_raw = layout.TickObjectName(kDay, "trades", "deribit", key(0));
  store.empty_key_series = layout.DerivedObjectName(kDay, "trade_bar_1m", "deribit", "");
  const WorkItem item{kDay, "trades", "deribit", "OPTIONS", {}};
  {
    ItemRecord rec;
    rec.item = item.Id();
    rec.outcome = "done";
    for (size_t i = 0; i < kN; i++) {
      rec.objects.push_back({layout.TickObjectName(kDay, "trades", "deribit", key(i)), key(i), 2, 100});
    }
    ASSERT_TRUE(WriteItemRecord(&store, item, rec, false).ok());
  }
  DeriveJobOptions o;
  o.request = Request();
  o.request.exchanges = {"deribit"};
  o.request.symbols = {"OPTIONS"};
  auto specs = derive::ParseDerivedList("trade_bar_1m");
  ASSERT_TRUE(specs.ok());
  o.derived = *specs;
  o.concurrency = 1;
  std::atomic<bool> never{false};
  o.cancel = &never;
  std::vector<ItemResult> results;
  o.on_item = [&](const ItemResult& r) { results.push_back(r); };
  auto report = RunDeriveJob(&store, o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_TRUE(store.cut) << "no temporary files of the names and keys to cut";
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, Outcome::kRetryable) << results[0].reason;  // an I/O error: a rerun may pass
  EXPECT_NE(results[0].reason.find("cannot read back a temporary file"), std::string::npos) << results[0].reason;
  EXPECT_EQ(store.empty_key_asked, 0u);
  EXPECT_FALSE(report->status.ok());
}

}  // namespace
}  // namespace mt::pipeline
