// ThreadedObserver runs the derive engine on its own thread, fed with copies
// of the rows as they are parsed: the objects it writes are byte for byte
// those of the engine fed whole batches on the caller's thread; an error of
// the engine comes back at the next call; the queue is bounded (the producer
// waits) and a cancel flag ends that wait. The local store, a real one, in
// temporary directories.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "core/time_util.h"
#include "derive/engine.h"
#include "derive/names.h"
#include "derive/threaded_observer.h"
#include "storage/open_store.h"
#include "tardis/schema.h"
#include "support/book_rows.h"
#include "support/temp_dir.h"

namespace mt::derive {
namespace {

// `rows` incremental_book_L2 rows of one instrument: a 40-level snapshot,
// then updates, several per local timestamp; every 97th row has a null
// amount and every 89th a null price (rows that change no level), so value
// indices differ from row indices.
columnar::RowGroupData BookRows(const tardis::DataTypeSchema& schema, size_t rows) {
  return testing::BookRows(schema, {.rows = rows,
                                    .snapshot_rows = 40,
                                    .rows_per_timestamp = 3,
                                    .step_us = 7000,
                                    .price_spread = 23,
                                    .null_price_every = 89,
                                    .null_amount_every = 97,
                                    .zero_amount_every = 11});
}

std::map<std::string, std::string> FilesIn(const std::string& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    files[std::filesystem::relative(e.path(), root).string()] =
        std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return files;
}

struct Store {
  testing::TempDir dir{"mt-derive-thread-"};
  std::unique_ptr<storage::ObjectStore> store = std::move(storage::OpenStore(dir.path(), storage::StoreConfig{})).value();
  EngineOptions Options(const std::string& specs) {
    EngineOptions o;
    o.specs = *ParseDerivedList(specs);
    o.store = store.get();
    o.source = "generated.csv.gz";
    o.key = [](const Date&, const std::string&, const std::string&) -> Result<std::string> {
      return std::string("DERIBIT:PERPETUAL:BTC-USD");
    };
    return o;
  }
};

const tardis::DataTypeSchema& Book() { return *tardis::FindSchema("incremental_book_L2"); }

TEST(ThreadedObserver, WritesTheSameBytesAsTheEngineOnTheCallersThread) {
  // created_at pinned (as SOURCE_DATE_EPOCH pins it): the objects compare byte for byte.
  PinCreatedAt(0);
  struct Unpin {
    ~Unpin() { PinCreatedAt(std::nullopt); }
  } unpin;
  const std::string specs = "book_snapshot_5_0ms,book_snapshot_10_1s,book_snapshot_3_grouped5_100ms";
  const columnar::RowGroupData rows = BookRows(Book(), 60000);
  Store direct;
  {
    DeriveEngine engine(direct.Options(specs));
    ASSERT_TRUE(engine.OnSchema(Book()).ok());
    ASSERT_TRUE(engine.OnBatch(rows).ok());
    ASSERT_TRUE(engine.Finish().ok());
    ASSERT_EQ(engine.outputs().size(), 3u);
  }
  Store threaded;
  {
    DeriveEngine engine(threaded.Options(specs));
    ThreadedObserver t(&engine);
    ASSERT_TRUE(t.OnSchema(Book()).ok());
    // Slices as the parsers pass them: runs of one object continued where
    // the last ended, then a copy (another object) starting mid-way, so
    // both ways of finding a slice's first value are taken.
    size_t at = 0;
    for (size_t n : {1u, 777u, 5000u, 20000u}) {
      ASSERT_TRUE(t.OnRows(rows, at, at + n).ok());
      at += n;
    }
    const columnar::RowGroupData copy = rows;
    ASSERT_TRUE(t.OnRows(copy, at, rows.num_rows).ok());
    ASSERT_TRUE(t.OnBatch(rows).ok());
    ASSERT_TRUE(t.EndOfInput().ok());
    ASSERT_TRUE(t.Finish().ok());
    ASSERT_EQ(engine.outputs().size(), 3u);
    EXPECT_GT(engine.outputs()[0].rows, 100u);
  }
  const auto a = FilesIn(direct.dir.path()), b = FilesIn(threaded.dir.path());
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), a.size());
  for (const auto& [name, bytes] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    EXPECT_TRUE(b.at(name) == bytes) << name << " differs";
  }
}

// Test double: an observer that fails its Nth batch, or blocks in its
// batches until released; counts the rows it was given.
class FakeObserver : public BatchObserver {
 public:
  int fail_at = -1;
  bool block = false;
  std::mutex mu;
  std::condition_variable cv;
  size_t batches = 0, rows = 0;
  bool aborted = false, finished = false;

  Status OnSchema(const tardis::DataTypeSchema&) override { return Status::OK(); }
  Status OnBatch(const columnar::RowGroupData& batch) override {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return !block; });
    if (static_cast<int>(batches++) == fail_at) return Status::InvalidInput("fake failure at batch " + std::to_string(fail_at));
    rows += batch.num_rows;
    return Status::OK();
  }
  Status Finish() override {
    finished = true;
    return Status::OK();
  }
  void Abort() override { aborted = true; }
  void Release() {
    {
      std::lock_guard<std::mutex> l(mu);
      block = false;
    }
    cv.notify_all();
  }
};

TEST(ThreadedObserver, AnErrorOfTheObserverComesBackAtTheNextCallAndAtFinish) {
  FakeObserver inner;
  inner.fail_at = 1;
  std::atomic<bool> cancel{false};
  ThreadedObserver t(&inner, ThreadedObserver::kDefaultMaxQueuedBytes, &cancel);
  ASSERT_TRUE(t.OnSchema(Book()).ok());
  const columnar::RowGroupData rows = BookRows(Book(), 100000);
  Status st;
  // Chunks of 16384 rows: the second fails on the thread; a later call sees it.
  for (size_t at = 0; at < rows.num_rows && st.ok(); at += 1000) {
    st = t.OnRows(rows, at, std::min(rows.num_rows, at + 1000));
    if (st.ok() && at > 60000) st = t.OnBatch(rows);  // rows enough for the failure; let the thread catch up
    if (st.ok() && at > 60000) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(st.code(), Status::Code::kInvalidInput) << st.ToString();
  EXPECT_NE(st.message().find("fake failure at batch 1"), std::string::npos) << st.ToString();
  EXPECT_EQ(t.Finish().code(), Status::Code::kInvalidInput);
  EXPECT_TRUE(inner.aborted);
  EXPECT_FALSE(inner.finished);
}

TEST(ThreadedObserver, TheQueueIsBoundedAndACancelEndsTheWaitForRoom) {
  FakeObserver inner;
  inner.block = true;  // the thread takes the first chunk and stays in it
  std::atomic<bool> cancel{false};
  // Room for about two chunks of copied rows.
  ThreadedObserver t(&inner, 1u << 20, &cancel);
  ASSERT_TRUE(t.OnSchema(Book()).ok());
  const columnar::RowGroupData rows = BookRows(Book(), 200000);
  std::atomic<size_t> given{0};
  Status st;
  std::thread producer([&] {
    for (size_t at = 0; at < rows.num_rows; at += 4096) {
      st = t.OnRows(rows, at, std::min(rows.num_rows, at + 4096));
      if (!st.ok()) return;
      given = std::min(rows.num_rows, at + 4096);
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // The producer waits for room: far fewer rows taken than it had.
  const size_t taken = given.load();
  EXPECT_LT(taken, 100000u);
  EXPECT_GT(taken, 16000u);
  cancel = true;
  producer.join();
  EXPECT_EQ(st.code(), Status::Code::kCancelled) << st.ToString();
  inner.Release();
  t.Abort();
  EXPECT_TRUE(inner.aborted);
}

// EndOfInput() cancelled while the queue is full queues no end marker; a
// later Finish() must not wait for the thread to reach one (it returns the
// cancel). Objects are freed only if Finish() returned: a regression hangs
// a detached thread rather than the test binary.
TEST(ThreadedObserver, FinishAfterACancelledEndOfInputReturns) {
  auto* inner = new FakeObserver;
  inner->block = true;
  auto* cancel = new std::atomic<bool>(false);
  auto* t = new ThreadedObserver(inner, /*max_queued_bytes=*/1, cancel);
  ASSERT_TRUE(t->OnSchema(Book()).ok());
  auto* rows = new columnar::RowGroupData(BookRows(Book(), 2 * 16384));
  ASSERT_TRUE(t->OnRows(*rows, 0, 16384).ok());  // taken by the thread, which blocks in it
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(t->OnRows(*rows, 16384, 2 * 16384).ok());  // queued (the queue was empty)
  *cancel = true;
  const Status end = t->EndOfInput();
  EXPECT_EQ(end.code(), Status::Code::kCancelled) << end.ToString();
  inner->Release();
  auto* done = new std::atomic<bool>(false);
  auto* fin = new Status();
  std::thread([=] {
    *fin = t->Finish();
    *done = true;
  }).detach();
  for (int i = 0; i < 50 && !*done; i++) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(done->load()) << "Finish() still waiting 5 s after a cancelled EndOfInput()";
  EXPECT_EQ(fin->code(), Status::Code::kCancelled) << fin->ToString();
  delete t;
  delete inner;
  delete rows;
  delete cancel;
  delete fin;
  delete done;
}

}  // namespace
}  // namespace mt::derive
