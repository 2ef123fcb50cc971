// DeriveEngine's memory against the number of series: more series than fit
// a quarter of the row buffer each (deep book snapshots, 0ms and intervals,
// grouped or not, beside shallow ones) hold no more rows than the buffer,
// and write the very bytes that series computed four at a time write (the
// same row groups). The local store, a real one, in temporary directories.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "core/time_util.h"
#include "derive/engine.h"
#include "derive/names.h"
#include "storage/open_store.h"
#include "support/book_rows.h"
#include "support/temp_dir.h"
#include "tardis/schema.h"

namespace mt::derive {
namespace {

constexpr size_t kBuffer = 4u << 20;

// A 200-level book, then 8,000 updates 1 ms apart over 200 prices a side,
// one in three a deletion; then a batch of 4,000 more with a null price now
// and then (the engine's row-by-row path, where the first is its dense one).
std::vector<columnar::RowGroupData> Batches(const tardis::DataTypeSchema& schema) {
  std::vector<columnar::RowGroupData> b;
  b.push_back(testing::BookRows(schema, {.rows = 8400, .snapshot_rows = 400, .price_spread = 200, .zero_amount_every = 3}));
  b.push_back(testing::BookRows(schema, {.rows = 4000, .first_us = 9'000'000, .price_spread = 150,
                                         .null_price_every = 101, .zero_amount_every = 3}));
  return b;
}

struct Derived {
  std::map<std::string, std::string> files;  // by path in the store
  size_t peak_held_bytes = 0;
};

Derived Derive(const std::vector<std::string>& groups) {
  testing::TempDir dir{"mt-derive-memory-"};
  auto store = std::move(storage::OpenStore(dir.path(), storage::StoreConfig{})).value();
  const tardis::DataTypeSchema* schema = tardis::FindSchema("incremental_book_L2");
  Derived run;
  for (const std::string& names : groups) {
    EngineOptions o;
    o.specs = *ParseDerivedList(names);
    o.store = store.get();
    o.source = "generated.csv.gz";
    o.buffer_bytes = kBuffer;
    o.key = [](const Date&, const std::string&, const std::string&) -> Result<std::string> {
      return std::string("DERIBIT:PERPETUAL:BTC-USD");
    };
    DeriveEngine engine(std::move(o));
    EXPECT_TRUE(engine.OnSchema(*schema).ok());
    Status st;
    for (const columnar::RowGroupData& batch : Batches(*schema)) {
      st = engine.OnBatch(batch);
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
    st = engine.Finish();
    EXPECT_TRUE(st.ok()) << st.ToString();
    run.peak_held_bytes = std::max(run.peak_held_bytes, engine.peak_held_bytes());
  }
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    run.files[std::filesystem::relative(e.path(), dir.path()).string()] = bytes.str();
  }
  return run;
}

TEST(DeriveEngineMemory, ManyDeepSeriesHoldNoMoreThanTheBufferAndWriteTheSameBytes) {
  PinCreatedAt(1700000000);
  // Twelve series, ten deeper than 25 levels: four at once each hold up to
  // a quarter of the buffer (a row group of a depth-100 series is ~290 rows).
  const std::vector<std::string> fours = {
      "book_snapshot_100_0ms,book_snapshot_99_0ms,book_snapshot_98_1ms,book_snapshot_97_grouped0.5_0ms",
      "book_snapshot_100_grouped1_10ms,book_snapshot_80_100ms,book_snapshot_60_0ms,book_snapshot_50_1s",
      "book_snapshot_30_0ms,book_snapshot_40_grouped2_0ms,book_snapshot_5_0ms,book_snapshot_1_0ms"};
  std::string all;
  for (const std::string& f : fours) all += (all.empty() ? "" : ",") + f;
  const Derived apart = Derive(fours);
  const Derived together = Derive({all});
  PinCreatedAt(std::nullopt);

  ASSERT_EQ(apart.files.size(), 12u);
  ASSERT_EQ(together.files.size(), 12u);
  for (const auto& [path, bytes] : apart.files) {
    auto it = together.files.find(path);
    ASSERT_NE(it, together.files.end()) << path;
    EXPECT_TRUE(it->second == bytes) << path << ": " << it->second.size() << " bytes, apart " << bytes.size();
  }
  // Four at a time already fill the buffer; twelve would hold three buffers.
  EXPECT_GT(apart.peak_held_bytes, kBuffer * 3 / 4);
  EXPECT_LE(together.peak_held_bytes, kBuffer);
}

}  // namespace
}  // namespace mt::derive
