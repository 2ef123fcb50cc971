// The downloader's grouped slot: a grouped item (one file of many
// instruments) converts alone, but gives up its slot once its objects are
// written, before their sync and renames and its completion record, so the
// next grouped item downloads and converts while it commits. The sync of the
// first grouped item is held by a store double; the scripted HTTP double
// serves the files. Real sockets: tests/js/grouped.test.mjs.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/downloader.h"
#include "pipeline/key_resolver.h"
#include "support/gzip.h"
#include "support/scripted_http.h"

namespace mt::pipeline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A flag one thread raises and others wait for, each wait bounded so that a
// test whose expectation fails ends instead of hanging.
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool Wait(std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, limit, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Every call goes to the local store `inner`; the first SyncSealed (the
// commit of the first grouped file) raises `held` and waits for `release`.
class HeldSyncStore final : public storage::ObjectStore {
 public:
  explicit HeldSyncStore(storage::ObjectStore* inner) : inner_(inner) { set_layout(inner->layout()); }
  Result<std::unique_ptr<storage::WritableObject>> Create(const std::string& name, bool overwrite) override {
    return inner_->Create(name, overwrite);
  }
  Result<bool> Exists(const std::string& name) override { return inner_->Exists(name); }
  Result<std::string> Read(const std::string& name) override { return inner_->Read(name); }
  Result<std::string> ReadRange(const std::string& name, uint64_t offset, int64_t length) override {
    return inner_->ReadRange(name, offset, length);
  }
  Result<Tail> ReadTail(const std::string& name, uint64_t n) override { return inner_->ReadTail(name, n); }
  Status ListEach(const std::string& prefix, const std::function<Status(storage::ObjectInfo&&)>& each) override {
    return inner_->ListEach(prefix, each);
  }
  Result<Versioned> ReadVersioned(const std::string& name) override { return inner_->ReadVersioned(name); }
  Result<std::unique_ptr<storage::WritableObject>> CreateIfGeneration(const std::string& name,
                                                                     int64_t generation) override {
    return inner_->CreateIfGeneration(name, generation);
  }
  std::string Describe(const std::string& name) const override { return inner_->Describe(name); }
  std::string SpillDirectory() const override { return inner_->SpillDirectory(); }
  bool BatchesCommits() const override { return inner_->BatchesCommits(); }
  void RemoveStaleTemporaries(const std::string& name) override { inner_->RemoveStaleTemporaries(name); }
  Status Remove(const std::string& name) override { return inner_->Remove(name); }
  Status SyncSealed() override {
    bool first;
    {
      std::lock_guard<std::mutex> l(mu_);
      first = syncs_++ == 0;
    }
    if (first) {
      held.Open();
      release.Wait(30s);
    }
    return inner_->SyncSealed();
  }

  Gate held, release;

 private:
  storage::ObjectStore* inner_;
  std::mutex mu_;
  int syncs_ = 0;
};

// An HTTP client of the scripted double that first calls `before` with the
// request's URL (a request held until something happened).
struct GatedClient : net::HttpClient {
  GatedClient(std::unique_ptr<net::HttpClient> inner, std::function<void(const std::string&)> before)
      : inner(std::move(inner)), before(std::move(before)) {}
  net::HttpResult Fetch(const net::HttpRequest& req, net::HttpBodySink* sink) override {
    before(req.url);
    return inner->Fetch(req, sink);
  }
  std::unique_ptr<net::HttpClient> inner;
  std::function<void(const std::string&)> before;
};

const char* kHeader = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n";

// A Deribit OPTIONS trades day of `n` options, two rows each.
std::string OptionsDay(int64_t day_start_us, int n) {
  std::string s = kHeader;
  int id = 0;
  for (int k = 0; k < 2; k++) {
    for (int i = 0; i < n; i++) {
      const int64_t ts = day_start_us + int64_t{id} * 1000;
      s += "deribit,BTC-26JAN24-" + std::to_string(40000 + 1000 * i) + "-C," + std::to_string(ts) + "," +
           std::to_string(ts + 7) + "," + std::to_string(id) + ",buy,0.05,1\n";
      id++;
    }
  }
  return s;
}

std::string PerpetualDay(int64_t day_start_us) {
  return std::string(kHeader) + "deribit,BTC-PERPETUAL," + std::to_string(day_start_us) + "," +
         std::to_string(day_start_us + 7) + ",1,buy,42000,10\n";
}

TEST(DownloaderGroupedSlot, TheNextGroupedItemConvertsWhileTheOneBeforeCommits) {
  const fs::path dir = fs::temp_directory_path() / "mt-dl-grouped-slot";
  fs::remove_all(dir);
  auto local = storage::NewLocalStore(dir.string());
  HeldSyncStore store(local.get());

  const std::string base = "http://127.0.0.1:9";
  const Date day1{2024, 1, 1}, day2{2024, 1, 2};
  const int64_t t1 = 1704067200000000, t2 = t1 + 86400000000;
  const int kOptions = 12;
  // Plan order: a grouped item, two one-instrument items, a grouped item.
  const std::vector<WorkItem> items = {
      {day1, "trades", "deribit", "OPTIONS", {}},
      {day1, "trades", "deribit", "BTC-PERPETUAL", {}},
      {day2, "trades", "deribit", "BTC-PERPETUAL", {}},
      {day2, "trades", "deribit", "OPTIONS", {}},
  };
  testing::ScriptedHttp http;
  http.Script(DatasetUrl(base, items[0]), {{200, testing::Gzip(OptionsDay(t1, kOptions))}});
  http.Script(DatasetUrl(base, items[1]), {{200, testing::Gzip(PerpetualDay(t1))}});
  http.Script(DatasetUrl(base, items[2]), {{200, testing::Gzip(PerpetualDay(t2))}});
  http.Script(DatasetUrl(base, items[3]), {{200, testing::Gzip(OptionsDay(t2, kOptions))}});
  auto requested = [&](const WorkItem& item) {
    int n = 0;
    for (const auto& r : http.seen()) n += r.url.rfind(DatasetUrl(base, item), 0) == 0;
    return n;
  };

  std::atomic<bool> never{false};
  DownloadOptions o;
  o.datasets_url = base;
  o.store = &store;
  o.concurrency = 2;
  o.cancel = &never;
  o.convert.tool_version = "test";
  // The first grouped item is answered once the other worker asks for the
  // first one-instrument item, which is answered once the grouped item
  // commits: that worker then picks its next item while no grouped item
  // converts.
  const std::string first_grouped = DatasetUrl(base, items[0]), first_perpetual = DatasetUrl(base, items[1]);
  Gate perpetual_asked;
  o.http_factory = [&] {
    return std::make_unique<GatedClient>(http.Client(), [&](const std::string& url) {
      if (url.rfind(first_grouped, 0) == 0) perpetual_asked.Wait(30s);
      if (url.rfind(first_perpetual, 0) == 0) {
        perpetual_asked.Open();
        store.held.Wait(30s);
      }
    });
  };
  Downloader dl(o);
  std::vector<ItemResult> results;
  std::thread run([&] { results = dl.Run(items); });

  const std::string record1 = (dir / local->layout().ItemRecordName(day1, "trades", "deribit", "OPTIONS")).string();
  const std::string record2 = (dir / local->layout().ItemRecordName(day2, "trades", "deribit", "OPTIONS")).string();
  const bool held = store.held.Wait(30s);
  // While the first grouped item's sync is held: the second one was taken
  // before the one-instrument item left (no grouped item was converting),
  // downloaded, converted and committed, record included.
  bool second_done = false;
  for (auto waited = 0ms; held && waited < 10s && !second_done; waited += 20ms) {
    std::this_thread::sleep_for(20ms);
    second_done = fs::exists(record2);
  }
  const bool first_recorded_while_held = fs::exists(record1);
  store.release.Open();
  run.join();

  ASSERT_TRUE(held) << "the first grouped item reached its commit";
  EXPECT_TRUE(second_done) << "the second grouped item was converted and committed while the first one's sync was held";
  EXPECT_FALSE(first_recorded_while_held) << "a record is written after its objects are committed";
  // The worker of the first one-instrument item took the second grouped
  // item next, before the other one-instrument item: none was converting.
  const auto seen = http.seen();
  auto index = [&](const WorkItem& item) {
    for (size_t i = 0; i < seen.size(); i++) {
      if (seen[i].url.rfind(DatasetUrl(base, item), 0) == 0) return static_cast<int>(i);
    }
    return -1;
  };
  EXPECT_EQ(index(items[0]), 0);
  EXPECT_EQ(index(items[1]), 1);
  EXPECT_EQ(index(items[3]), 2) << "the second grouped item before the second one-instrument item";
  EXPECT_EQ(index(items[2]), 3);
  ASSERT_EQ(results.size(), items.size());
  for (const ItemResult& r : results) EXPECT_EQ(r.outcome, Outcome::kDone) << r.item.Id() << ": " << r.reason;
  EXPECT_EQ(results[0].objects.size(), static_cast<size_t>(kOptions));
  EXPECT_EQ(results[3].objects.size(), static_cast<size_t>(kOptions));
  EXPECT_EQ(results[0].rows, 2u * kOptions);
  EXPECT_EQ(results[3].rows, 2u * kOptions);
  EXPECT_TRUE(fs::exists(record1));
  for (const WorkItem& item : items) EXPECT_EQ(requested(item), 1) << item.Id();
  fs::remove_all(dir);
}

// A grouped item reads its day's instrument definitions once it holds the
// slot: those waiting for it hold none (a day of many options is tens of MB
// of definitions, and as many items wait as --concurrency allows).
TEST(DownloaderGroupedSlot, ItemsWaitingForTheSlotLoadNoDefinitions) {
  const fs::path dir = fs::temp_directory_path() / "mt-dl-grouped-slot-defs";
  fs::remove_all(dir);
  auto store = storage::NewLocalStore(dir.string());
  StoreKeyResolvers keys(store.get());

  const std::string base = "http://127.0.0.1:9";
  const int64_t t0 = 1704067200000000;
  std::vector<WorkItem> items;
  testing::ScriptedHttp http;
  for (int d = 0; d < 3; d++) {
    items.push_back({Date{2024, 1, 1 + d}, "trades", "deribit", "OPTIONS", {}});
    http.Script(DatasetUrl(base, items.back()), {{200, testing::Gzip(OptionsDay(t0 + d * 86400000000LL, 4))}});
  }
  std::atomic<bool> never{false};
  DownloadOptions o;
  o.datasets_url = base;
  o.store = store.get();
  o.keys = &keys;
  o.concurrency = 3;
  o.cancel = &never;
  o.convert.tool_version = "test";
  // The first request (of whichever item took the slot first) waits: the
  // other two items are then taken and wait for the slot.
  Gate asked, release;
  std::atomic<int> requests{0};
  o.http_factory = [&] {
    return std::make_unique<GatedClient>(http.Client(), [&](const std::string&) {
      if (requests++ == 0) {
        asked.Open();
        release.Wait(30s);
      }
    });
  };
  Downloader dl(o);
  std::vector<ItemResult> results;
  std::thread run([&] { results = dl.Run(items); });
  const bool held = asked.Wait(30s);
  // Time for the other two workers to take their items and reach the slot.
  std::this_thread::sleep_for(300ms);
  const size_t loads_while_held = keys.loads();
  release.Open();
  run.join();

  ASSERT_TRUE(held);
  EXPECT_EQ(loads_while_held, 1u) << "only the item in the slot read its day's definitions";
  EXPECT_EQ(keys.loads(), 3u);
  ASSERT_EQ(results.size(), items.size());
  for (const ItemResult& r : results) EXPECT_EQ(r.outcome, Outcome::kDone) << r.item.Id() << ": " << r.reason;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mt::pipeline
