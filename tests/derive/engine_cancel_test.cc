// DeriveEngine polls its cancel flag: a flag set while it computes stops it
// with kCancelled (mid-batch, or before a series is written at Finish), and
// after Abort() nothing it began is visible in the store. The local store,
// a real one, in a temporary directory.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "derive/engine.h"
#include "derive/names.h"
#include "storage/open_store.h"
#include "tardis/schema.h"
#include "support/book_rows.h"
#include "support/temp_dir.h"

namespace mt::derive {
namespace {

// `rows` incremental_book_L2 rows of one instrument: a 20-level snapshot,
// then one update per local timestamp (every update a book change).
columnar::RowGroupData BookRows(const tardis::DataTypeSchema& schema, size_t rows, int64_t first_us) {
  return testing::BookRows(schema, {.rows = rows, .snapshot_rows = first_us == 0 ? size_t{20} : 0, .first_us = first_us});
}

struct Fixture {
  testing::TempDir dir{"mt-derive-cancel-"};
  std::unique_ptr<storage::ObjectStore> store;
  std::atomic<bool> cancel{false};
  const tardis::DataTypeSchema* schema = tardis::FindSchema("incremental_book_L2");

  EngineOptions Options() {
    store = std::move(storage::OpenStore(dir.path(), storage::StoreConfig{})).value();
    EngineOptions o;
    o.specs = *ParseDerivedList("book_snapshot_5_0ms,book_snapshot_10_1s");
    o.store = store.get();
    o.source = "generated.csv.gz";
    o.key = [](const Date&, const std::string&, const std::string&) -> Result<std::string> {
      return std::string("DERIBIT:PERPETUAL:BTC-USD");
    };
    o.cancel = &cancel;
    return o;
  }
  size_t FilesInStore() const {
    size_t n = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path())) n += e.is_regular_file();
    return n;
  }
};

TEST(DeriveEngineCancel, AFlagSetMidRunStopsTheNextBatchAndLeavesNothing) {
  Fixture f;
  DeriveEngine engine(f.Options());
  ASSERT_TRUE(engine.OnSchema(*f.schema).ok());
  ASSERT_TRUE(engine.OnBatch(BookRows(*f.schema, 10000, 0)).ok());
  f.cancel = true;
  Status st = engine.OnBatch(BookRows(*f.schema, 10000, 20'000'000));
  EXPECT_EQ(st.code(), Status::Code::kCancelled) << st.ToString();
  EXPECT_NE(st.message().find("generated.csv.gz"), std::string::npos) << st.ToString();
  // Sticky: the engine stays stopped; Finish reports it and writes nothing.
  EXPECT_EQ(engine.Finish().code(), Status::Code::kCancelled);
  engine.Abort();
  EXPECT_EQ(f.FilesInStore(), 0u);
}

TEST(DeriveEngineCancel, AFlagSetBeforeFinishWritesNoSeries) {
  Fixture f;
  {
    // Without the flag the same rows give both series.
    DeriveEngine engine(f.Options());
    ASSERT_TRUE(engine.OnSchema(*f.schema).ok());
    ASSERT_TRUE(engine.OnBatch(BookRows(*f.schema, 5000, 0)).ok());
    ASSERT_TRUE(engine.Finish().ok());
    ASSERT_EQ(engine.outputs().size(), 2u);
    EXPECT_EQ(engine.outputs()[0].data_type, "book_snapshot_10_1s");
    EXPECT_GE(engine.outputs()[0].rows, 4u);  // one per second of the 5 s of rows
    EXPECT_GT(engine.outputs()[1].rows, 1000u);
  }
  const size_t before = f.FilesInStore();
  EXPECT_EQ(before, 2u);
  EngineOptions o = f.Options();
  o.specs = *ParseDerivedList("book_snapshot_3_0ms,book_snapshot_4_0ms");
  DeriveEngine engine(std::move(o));
  ASSERT_TRUE(engine.OnSchema(*f.schema).ok());
  ASSERT_TRUE(engine.OnBatch(BookRows(*f.schema, 5000, 0)).ok());
  f.cancel = true;
  EXPECT_EQ(engine.Finish().code(), Status::Code::kCancelled);
  EXPECT_TRUE(engine.outputs().empty());
  EXPECT_EQ(f.FilesInStore(), before);
}

TEST(DeriveEngineCancel, PollsWithinALongBatch) {
  // One batch of 100,000 changes, each a depth-1000 snapshot: the flag, set
  // from another thread once the batch is under way, stops it part way.
  Fixture f;
  EngineOptions o = f.Options();
  o.specs = *ParseDerivedList("book_snapshot_1000_0ms");
  DeriveEngine engine(std::move(o));
  ASSERT_TRUE(engine.OnSchema(*f.schema).ok());
  columnar::RowGroupData big = BookRows(*f.schema, 100000, 0);
  f.cancel = false;
  std::atomic<bool>* flag = &f.cancel;
  std::thread setter([flag] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    flag->store(true);
  });
  const auto t0 = std::chrono::steady_clock::now();
  Status st = engine.OnBatch(big);
  const auto took = std::chrono::steady_clock::now() - t0;
  setter.join();
  EXPECT_EQ(st.code(), Status::Code::kCancelled) << st.ToString();
  // The whole batch takes seconds (100,000 rows of 4,004 columns); stopped long before.
  EXPECT_LT(took, std::chrono::seconds(2));
  engine.Abort();
  EXPECT_EQ(f.FilesInStore(), 0u);
}

}  // namespace
}  // namespace mt::derive
