// DeriveEngine's memory against the number of series: more series than fit
// a quarter of the row buffer each (deep book snapshots, 0ms and intervals,
// grouped or not, beside shallow ones) hold no more rows than the buffer,
// and write the very bytes that series computed four at a time write (the
// same row groups). The local store, a real one, in temporary directories.
#include <gtest/gtest.h>
#include <malloc.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "core/time_util.h"
#include "derive/engine.h"
#include "derive/names.h"
#include "parquet/file_reader.h"
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

// Heap in use (small blocks and mapped ones).
size_t HeapInUse() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// One book change of instrument `inst`: every one of `levels` prices a
// side, with amounts that move (so a depth-1000 series emits a row).
void AddChange(const tardis::DataTypeSchema& schema, int inst, int64_t local_us, bool snapshot, size_t levels,
               int round, columnar::RowGroupData* rg) {
  auto col = [&](std::string_view name) -> columnar::ColumnData& {
    for (size_t i = 0; i < schema.columns.size(); i++) {
      if (schema.columns[i].parquet_name == name) return rg->columns[i];
    }
    ADD_FAILURE() << "no column " << name;
    return rg->columns[0];
  };
  const std::string symbol = "P" + std::to_string(inst) + "-PERPETUAL";
  for (size_t l = 0; l < 2 * levels; l++) {
    const bool bid = l < levels;
    const size_t i = bid ? l : l - levels;
    col("exchange").AddDefined();
    col("exchange").str.Append("deribit");
    col("symbol").AddDefined();
    col("symbol").str.Append(symbol);
    col("timestamp").AddDefined();
    col("timestamp").i64.push_back(local_us - 100);
    col("local_timestamp").AddDefined();
    col("local_timestamp").i64.push_back(local_us);
    col("is_snapshot").AddDefined();
    col("is_snapshot").b.push_back(snapshot ? 1 : 0);
    col("side").AddDefined();
    col("side").str.Append(bid ? "bid" : "ask");
    col("price").AddDefined();
    col("price").f64.push_back(bid ? 10000.0 - 0.5 * static_cast<double>(i) : 10000.5 + 0.5 * static_cast<double>(i));
    col("amount").AddDefined();
    col("amount").f64.push_back(1.0 + static_cast<double>((i + static_cast<size_t>(round)) % 11));
    rg->num_rows++;
  }
}

// What RunManyInstruments saw: the most heap the engine held between two
// batches beyond what it held once every series was open, and the engine's
// peak of held row bytes.
struct ManyInstrumentsRun {
  size_t most = 0, peak_held = 0;
  size_t most_row_groups = 0;  // of any output file
};

// A file of `instruments` instruments through an engine deriving `specs`: a
// batch of one level of each (every series opens), then `changes` + 1
// batches of one change of `levels` a side of each, the first a snapshot.
// Every series' file must have a row per change, `outputs` files in all.
ManyInstrumentsRun RunManyInstruments(const std::string& specs, size_t footer_bytes, int instruments, int changes,
                                      size_t levels, size_t outputs) {
  testing::TempDir dir{"mt-derive-memory-"};
  auto store = std::move(storage::OpenStore(dir.path(), storage::StoreConfig{})).value();
  const tardis::DataTypeSchema* schema = tardis::FindSchema("incremental_book_L2");
  ManyInstrumentsRun run;
  size_t before = 0;
  EngineOptions o;
  o.specs = *ParseDerivedList(specs);
  o.store = store.get();
  o.source = "generated.csv";
  o.buffer_bytes = kBuffer;
  o.writer.footer_memory_bytes = footer_bytes;  // row groups' footers wait on disk (not measured here)
  o.key = [](const Date&, const std::string&, const std::string& symbol) -> Result<std::string> {
    return "DERIBIT:PERPETUAL:" + symbol;
  };
  DeriveEngine engine(std::move(o));
  EXPECT_TRUE(engine.OnSchema(*schema).ok());
  int64_t local = 1585785600000000;
  for (int c = -1; c <= changes; c++) {
    {
      columnar::RowGroupData rg = columnar::MakeRowGroup(schema->ParquetSchema());
      for (int i = 0; i < instruments; i++) AddChange(*schema, i, local += 1000, c == 0, c < 0 ? 1 : levels, c, &rg);
      const Status st = engine.OnBatch(rg);
      EXPECT_TRUE(st.ok()) << st.ToString();
      if (!st.ok()) return run;
    }
    // From when every series is open (their schemas and writers are not
    // what is measured).
    const size_t now = HeapInUse();
    if (c < 0) before = now;
    run.most = std::max(run.most, now > before ? now - before : 0);
  }
  const Status st = engine.Finish();
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(engine.outputs().size(), outputs);
  for (const DerivedOutput& out : engine.outputs()) {
    EXPECT_EQ(out.rows, static_cast<uint64_t>(changes) + 1u) << out.name;
    auto r = parquet::FileReader::OpenLocal(out.name);
    EXPECT_TRUE(r.ok()) << out.name;
    if (r.ok()) run.most_row_groups = std::max(run.most_row_groups, (*r)->metadata().row_groups.size());
  }
  run.peak_held = engine.peak_held_bytes();
  return run;
}

// A file of twelve instruments, one depth-1000 series each: more open
// series than kMinShare, so each replays (each instrument's first change, a
// level before any snapshot, gives no row: the series that opened with
// fewer open do not hold rows), and each instrument keeps a log of its
// book changes (700 levels a side each) until its row group is written.
// The logs of all instruments together stay within their budget (one and
// a half buffers): an instrument's replayed series then writes its row group
// early. Measured as the heap the engine holds between two batches (one
// change of each instrument) beyond what it held once all were open.
TEST(DeriveEngineMemory, LogsOfManyInstrumentsStayWithinTheirBudget) {
  constexpr int kInstruments = 12, kChanges = 60;
  const ManyInstrumentsRun run =
      RunManyInstruments("book_snapshot_1000_0ms", 256u << 10, kInstruments, kChanges, 700, kInstruments);
  EXPECT_LE(run.peak_held, kBuffer * 5 / 2);
  // Each instrument's log grows to 60 changes of 1,401 steps before its
  // 64-row group is full: 17 bytes a step, 17 MB for twelve (24 bytes a
  // step, 24 MB, and up to twice that while a vector doubles its room).
  // Within the budget: 6 MB of logs, a row group being written, the books
  // and the writers.
  EXPECT_LE(run.most, kBuffer * 2) << "heap held between batches: " << run.most;
  // The log written early is the biggest one's, so each file's 61 rows
  // take 3 row groups. With each instrument's change left open until its
  // next row, only the instrument whose change had just ended could be
  // written, and files took twice as many.
  EXPECT_LE(run.most_row_groups, 4u);
}

// One instrument with a deep book (50,000 levels a side) and sixteen
// depth-100 series, all replayed, whose row groups (about 300 rows) begin and end
// at different changes: they start from one checkpoint of the book, not
// from a copy each. Measured as the heap the engine holds between two
// batches beyond what it held after the snapshot.
TEST(DeriveEngineMemory, ReplayedSeriesShareOneCopyOfADeepBook) {
  testing::TempDir dir{"mt-derive-memory-"};
  auto store = std::move(storage::OpenStore(dir.path(), storage::StoreConfig{})).value();
  const tardis::DataTypeSchema* schema = tardis::FindSchema("incremental_book_L2");
  std::string names;
  for (int d = 100; d > 84; d--) names += (names.empty() ? "" : ",") + ("book_snapshot_" + std::to_string(d) + "_0ms");
  constexpr size_t kLevels = 50000, kBatches = 8, kUpdates = 100;
  size_t before = 0, most = 0;
  {
    EngineOptions o;
    o.specs = *ParseDerivedList(names);
    o.store = store.get();
    o.source = "generated.csv.gz";
    o.buffer_bytes = kBuffer;
    o.writer.footer_memory_bytes = 256u << 10;  // row groups' footers wait on disk (not measured here)
    o.key = [](const Date&, const std::string&, const std::string&) -> Result<std::string> {
      return std::string("DERIBIT:PERPETUAL:BTC-USD");
    };
    DeriveEngine engine(std::move(o));
    ASSERT_TRUE(engine.OnSchema(*schema).ok());
    for (size_t b = 0; b <= kBatches; b++) {
      {
        // The snapshot, then updates near the top of the book (within 100
        // levels): odd batches delete those levels, even ones put them back.
        const columnar::RowGroupData rg =
            b == 0 ? testing::BookRows(*schema, {.rows = 2 * kLevels + 1, .snapshot_rows = 2 * kLevels,
                                                 .price_spread = 2 * kLevels})
                   : testing::BookRows(*schema, {.rows = kUpdates, .first_us = static_cast<int64_t>(b) * 1'000'000,
                                                 .price_spread = 200, .zero_amount_every = b % 2});
        const Status st = engine.OnBatch(rg);
        ASSERT_TRUE(st.ok()) << st.ToString();
      }
      const size_t now = HeapInUse();
      if (b == 0) before = now;
      most = std::max(most, now > before ? now - before : 0);
    }
    const Status st = engine.Finish();
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_EQ(engine.outputs().size(), 16u);
    for (const DerivedOutput& out : engine.outputs()) EXPECT_GT(out.rows, kBatches * kUpdates / 2) << out.name;
  }
  // A copy of the book per series would be sixteen copies; one checkpoint
  // and the logs stay under twice the buffer.
  EXPECT_LE(most, kBuffer * 2) << "heap held between batches: " << most;
}

// A file of eight instruments, each with four depth-100 series and one of
// depth 25, whose every change moves all levels of a 105-level book: a
// change logs about a depth-100 row, so the deep series replay while the
// log costs no more than their rows and hold rows once it does; the
// depth-25 ones hold rows all along. The logs of all instruments count
// against the buffer beside the rows held (an eighth more), and the rows'
// columns get room in steps: columns grown by doubling held up to twice the
// rows counted, and the logs had half a buffer more beside the buffer.
// Measured as the heap the engine holds between two batches beyond what it
// held once all were open.
TEST(DeriveEngineMemory, RowsHeldAndLogsShareOneBuffer) {
  constexpr int kInstruments = 8, kChanges = 700;
  const ManyInstrumentsRun run = RunManyInstruments(
      "book_snapshot_100_0ms,book_snapshot_99_0ms,book_snapshot_98_0ms,book_snapshot_97_0ms,book_snapshot_25_0ms",
      16u << 10, kInstruments, kChanges, 105, 5 * kInstruments);
  EXPECT_LE(run.peak_held, kBuffer * 5 / 4) << run.peak_held;
  // The buffer, a row group being written, the books and the writers.
  EXPECT_LE(run.most, kBuffer * 3 / 2) << "heap held between batches: " << run.most;
}

}  // namespace
}  // namespace mt::derive
