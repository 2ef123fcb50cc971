// The convert job: which inputs may run side by side, and that results come
// back in input order with the objects the real fixtures give.
#include "pipeline/convert_job.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "core/exit_code.h"
#include "parquet/file_reader.h"
#include "pipeline/item_record.h"
#include "storage/object_store.h"
#include "support/create_watch.h"
#include "support/fixtures.h"
#include "support/temp_dir.h"

namespace mt::pipeline {
namespace {

TEST(DistinctOutputs, NamedFilesOfDifferentItemsOnly) {
  EXPECT_TRUE(DistinctOutputs({"a/binance_trades_2024-01-01_BTCUSDT.csv.gz",
                               "b/binance_trades_2024-01-02_BTCUSDT.csv.gz",
                               "deribit_quotes_2024-01-01_BTC-PERPETUAL.csv.gz"},
                              ""));
  // The same item from two folders: the later file must win, whatever finishes first.
  EXPECT_FALSE(DistinctOutputs({"a/binance_trades_2024-01-01_BTCUSDT.csv.gz",
                                "b/binance_trades_2024-01-01_BTCUSDT.csv.gz"},
                               ""));
  // --data-type makes two names' types one.
  EXPECT_TRUE(DistinctOutputs({"binance_trades_2024-01-01_BTCUSDT.csv.gz",
                               "binance_liquidations_2024-01-01_BTCUSDT.csv.gz"},
                              ""));
  EXPECT_FALSE(DistinctOutputs({"binance_trades_2024-01-01_BTCUSDT.csv.gz",
                                "binance_liquidations_2024-01-01_BTCUSDT.csv.gz"},
                               "trades"));
  // A name that says nothing: its outputs are unknown until it is read.
  EXPECT_FALSE(DistinctOutputs({"binance_trades_2024-01-01_BTCUSDT.csv.gz", "export.csv"}, ""));
  // Symbols as the clients spell them in names: one item.
  EXPECT_FALSE(
      DistinctOutputs({"binance_trades_2024-01-01_btcusdt.csv.gz", "b/binance_trades_2024-01-01_BTCUSDT.csv.gz"}, ""));
  // A grouped file writes its instruments' objects, the one of XBTUSD too:
  // with any other file of its exchange, type and day they go one after
  // another, the later winning as above. Another day or type is apart.
  EXPECT_FALSE(
      DistinctOutputs({"bitmex_trades_2024-01-01_XBTUSD.csv.gz", "bitmex_trades_2024-01-01_PERPETUALS.csv.gz"}, ""));
  EXPECT_FALSE(
      DistinctOutputs({"deribit_trades_2024-01-01_OPTIONS.csv.gz", "deribit_trades_2024-01-01_FUTURES.csv.gz"}, ""));
  EXPECT_TRUE(DistinctOutputs({"bitmex_trades_2024-01-01_PERPETUALS.csv.gz", "bitmex_trades_2024-01-02_XBTUSD.csv.gz",
                               "bitmex_quotes_2024-01-01_XBTUSD.csv.gz", "deribit_trades_2024-01-01_OPTIONS.csv.gz"},
                              ""));
  EXPECT_TRUE(DistinctOutputs({}, ""));
}

TEST(SideBySide, FilesShareOneBatchBudgetWhateverTheThreads) {
  constexpr size_t kMiB = size_t{1} << 20;
  const size_t alone = 64 * kMiB;  // the parser's default batch
  SideBySidePlan p = SideBySide(2, 5, alone);
  EXPECT_EQ(p.files, 2u);
  EXPECT_EQ(p.batch_bytes, 32 * kMiB);
  p = SideBySide(4, 2, alone);  // fewer files than threads
  EXPECT_EQ(p.files, 2u);
  EXPECT_EQ(p.batch_bytes, 32 * kMiB);
  p = SideBySide(8, 8, alone);
  EXPECT_EQ(p.files, 8u);
  EXPECT_EQ(p.batch_bytes, 8 * kMiB);
  // More threads than that: still 8 files of 8 MiB, so memory stops growing.
  p = SideBySide(64, 100, alone);
  EXPECT_EQ(p.files, 8u);
  EXPECT_EQ(p.batch_bytes, 8 * kMiB);
  // A file whose own batch is smaller keeps it.
  p = SideBySide(2, 2, 4 * kMiB);
  EXPECT_EQ(p.batch_bytes, 4 * kMiB);
  p = SideBySide(1, 3, alone);
  EXPECT_EQ(p.files, 1u);
  EXPECT_EQ(p.batch_bytes, alone);
}

TEST(RunConvertJob, ReportsEachFileInInputOrder) {
  const testing::TempDir tmp("mt_convert_job_");
  const std::string& dir = tmp.path();
  auto store = storage::NewLocalStore(dir);
  ConvertJobOptions o;
  // Results in input order, a failed file counted and the others converted.
  o.inputs = {testing::FixturePath("bitmex_trades_2020-03-01_XBTUSD.csv.gz"),
              testing::FixturePath("binance-futures_trades_2020-02-22_BTCUSDT.csv.gz"),
              testing::FixturePath("no_such_file_2020-01-01_X.csv.gz")};
  o.threads = 2;
  o.target.store = store.get();
  std::vector<std::string> seen;
  const ConvertSummary s = RunConvertJob(o, [&](const ConvertFileResult& r) {
    for (const auto& out : r.outputs) seen.push_back(out.name + " " + std::to_string(out.rows));
  });
  // Names as the local store describes them: paths under its root.
  EXPECT_EQ(seen, (std::vector<std::string>{
                      dir + "/raw_tick_data/by_date/day-2020-03-01/data_type-trades/BITMEX:PERPETUAL:BTC-USD.parquet 10",
                      dir + "/raw_tick_data/by_date/day-2020-02-22/data_type-trades/"
                            "BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet 9999"}));
  EXPECT_EQ(s.inputs, 3u);
  EXPECT_EQ(s.converted, 2u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.rows, 10009u);
  EXPECT_EQ(s.status.code(), Status::Code::kNotFound) << s.status.message();
  EXPECT_TRUE(std::filesystem::exists(
      dir + "/raw_tick_data/by_date/day-2020-03-01/data_type-trades/BITMEX:PERPETUAL:BTC-USD.parquet"));
}

// A folder among the inputs fails as bad input (exit 1), never as a read
// that may pass on a rerun (exit 3); the other files convert.
TEST(RunConvertJob, AFolderAsInputIsBadInputNotRetryable) {
  const testing::TempDir tmp("mt_convert_job_");
  auto store = storage::NewLocalStore(tmp.path() + "/out");
  std::filesystem::create_directories(tmp.path() + "/in");
  ConvertJobOptions o;
  o.inputs = {testing::FixturePath("bitmex_trades_2020-03-01_XBTUSD.csv.gz"), tmp.path() + "/in"};
  o.target.store = store.get();
  const ConvertSummary s = RunConvertJob(o, nullptr);
  EXPECT_EQ(s.converted, 1u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.status.code(), Status::Code::kInvalidInput) << s.status.message();
  EXPECT_EQ(ExitCodeFor(s.status), 1);
}

TEST(RunConvertJob, InterruptedBeforeStartWritesNothing) {
  const testing::TempDir tmp("mt_convert_job_");
  const std::string& dir = tmp.path();
  auto store = storage::NewLocalStore(dir);
  ConvertJobOptions o;
  o.inputs = {testing::FixturePath("bitmex_trades_2020-03-01_XBTUSD.csv.gz")};
  o.target.store = store.get();
  const std::atomic<bool> cancelled{true};
  o.cancel = &cancelled;
  size_t files = 0;
  const ConvertSummary s = RunConvertJob(o, [&](const ConvertFileResult&) { files++; });
  EXPECT_EQ(s.status.code(), Status::Code::kCancelled);
  EXPECT_EQ(files, 0u);
  EXPECT_FALSE(std::filesystem::exists(dir + "/raw_tick_data"));
}

// Interrupted while the partitions of a grouped file past the cap are
// written: the objects committed before stay, and the run says so for that
// file (not only that it was abandoned).
// A grouped Deribit trades file of 200 options, 2,000 rows, at `path`.
void WriteOptionsTrades(const std::string& path) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path);
  f << "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n";
  for (int i = 0; i < 2000; i++) {
    const std::string ts = std::to_string(1709251200000000LL + i * 1000);
    f << "deribit,BTC-9JUN20-" << 9000 + i % 200 << "-C," << ts << "," << ts << "," << i << ",buy,0.01,1\n";
  }
}

TEST(RunConvertJob, AnInterruptPastTheCapSaysWhichObjectsStay) {
  const testing::TempDir tmp("mt_convert_job_");
  const std::string in = tmp.path() + "/in/deribit_trades_2024-03-01_OPTIONS.csv";
  WriteOptionsTrades(in);
  auto local = storage::NewLocalStore(tmp.path() + "/out");
  std::atomic<bool> flag{false};
  testing::CreateWatch store(local.get(), &flag, 35);  // in the third partition
  ConvertJobOptions o;
  o.inputs = {in};
  o.target.store = &store;
  o.cancel = &flag;
  o.convert.cancel = &flag;
  o.convert.max_routed_instruments = 10;
  o.convert.parser.batch_rows = 700;
  ::testing::internal::CaptureStderr();
  const ConvertSummary s = RunConvertJob(o, nullptr);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(s.status.code(), Status::Code::kCancelled);
  EXPECT_NE(err.find("deribit_trades_2024-03-01_OPTIONS.csv: interrupted while its objects were written; those "
                     "committed before stay, each complete"),
            std::string::npos)
      << err;
  size_t objects = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(tmp.path() + "/out")) {
    objects += e.path().extension() == ".parquet";
  }
  EXPECT_EQ(objects, 28u);
}

// A grouped file converted again over a complete conversion: one that fails
// on its input keeps the earlier completion record (its objects are
// untouched); one stopped while it commits its objects (here past the cap of
// routed instruments, partition by partition) removes it, so the item is
// incomplete (validate: missing; download: fetched again) rather than
// complete by a record over objects of two files.
TEST(RunConvertJob, AReconvertRemovesTheRecordOnlyWhenItCommits) {
  const testing::TempDir tmp("mt_convert_job_");
  const std::string in = tmp.path() + "/in/deribit_trades_2024-03-01_OPTIONS.csv";
  WriteOptionsTrades(in);
  auto local = storage::NewLocalStore(tmp.path() + "/out");
  const std::string record = local->layout().ItemRecordName(Date{2024, 3, 1}, "trades", "deribit", "OPTIONS");
  ConvertJobOptions o;
  o.inputs = {in};
  o.target.store = local.get();
  o.convert.max_routed_instruments = 10;
  o.convert.parser.batch_rows = 700;
  auto run = [&o] {
    ::testing::internal::CaptureStderr();
    ConvertSummary s = RunConvertJob(o, nullptr);
    ::testing::internal::GetCapturedStderr();
    return s;
  };
  ConvertSummary s = run();
  ASSERT_TRUE(s.status.ok()) << s.status.message();
  ASSERT_TRUE(local->Exists(record).value()) << record;
  // A bad row at the end: the file fails before any object is committed.
  std::ofstream(in, std::ios::app) << "deribit,BTC-9JUN20-9000-C,x,1709251200000000,1,buy,0.01,1\n";
  s = run();
  EXPECT_EQ(s.status.code(), Status::Code::kInvalidInput) << s.status.message();
  EXPECT_TRUE(local->Exists(record).value());
  WriteOptionsTrades(in);
  std::atomic<bool> flag{false};
  testing::CreateWatch store(local.get(), &flag, 35);  // in the third partition
  o.target.store = &store;
  o.cancel = &flag;
  o.convert.cancel = &flag;
  s = run();
  EXPECT_EQ(s.status.code(), Status::Code::kCancelled) << s.status.message();
  EXPECT_FALSE(local->Exists(record).value());
  // Run whole again, the item is complete by its new record.
  o.target.store = local.get();
  o.cancel = nullptr;
  o.convert.cancel = nullptr;
  s = run();
  ASSERT_TRUE(s.status.ok()) << s.status.message();
  EXPECT_TRUE(local->Exists(record).value());
}

// Two files of one run whose symbols give one key (Deribit writes 0.5 as
// `0d5`; a mislabelled copy as `0.5`): the later one to commit fails, naming
// both files and symbols, and the object keeps the first one's rows, one
// file after the other and side by side. The same file given twice is
// converted once.
TEST(RunConvertJob, TwoFilesWhoseSymbolsGiveOneKeyDoNotReplaceEachOther) {
  const testing::TempDir tmp("mt_convert_job_");
  const std::string header = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n";
  const std::string d5 = tmp.path() + "/in/deribit_trades_2023-06-30_XRP_USDC-30JUN23-0d5-C.csv";
  const std::string dot = tmp.path() + "/in/deribit_trades_2023-06-30_XRP_USDC-30JUN23-0.5-C.csv";
  std::filesystem::create_directories(tmp.path() + "/in");
  std::ofstream(d5) << header << "deribit,XRP_USDC-30JUN23-0d5-C,1688083200000000,1688083200000100,1,buy,0.01,5\n"
                    << "deribit,XRP_USDC-30JUN23-0d5-C,1688083201000000,1688083201000100,2,buy,0.01,5\n";
  std::ofstream(dot) << header << "deribit,XRP_USDC-30JUN23-0.5-C,1688083202000000,1688083202000100,3,buy,0.02,1\n";
  const std::string object =
      "raw_tick_data/by_date/day-2023-06-30/data_type-trades/DERIBIT:OPTION:XRP-USDC-230630-0.5-CALL.parquet";
  for (const int threads : {1, 2}) {
    SCOPED_TRACE(threads);
    const std::string out = tmp.path() + "/out" + std::to_string(threads);
    auto local = storage::NewLocalStore(out);
    ConvertJobOptions o;
    // Two threads: the two files side by side (their names differ); one: in turn, with the first file again.
    o.inputs = threads == 1 ? std::vector<std::string>{d5, dot, d5} : std::vector<std::string>{dot, d5};
    o.threads = threads;
    o.target.store = local.get();
    std::vector<std::string> done;
    ::testing::internal::CaptureStderr();
    const ConvertSummary s = RunConvertJob(o, [&](const ConvertFileResult& r) {
      for (const auto& f : r.outputs) done.push_back(std::to_string(f.rows));
    });
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(s.failed, 1u) << err;
    EXPECT_EQ(s.status.code(), Status::Code::kInvalidInput) << s.status.message();
    // Whichever of the two files committed first, the error line names both: the one that failed first,
    // then the one whose object it is.
    const size_t at = err.find("wrote in this run from another symbol; two instruments are never merged");
    ASSERT_NE(at, std::string::npos) << err;
    const std::string line = err.substr(err.rfind('\n', at) + 1, err.find('\n', at) - err.rfind('\n', at) - 1);
    const bool dot_failed = line.find(dot + ": symbol 'XRP_USDC-30JUN23-0.5-C'") != std::string::npos;
    EXPECT_TRUE(dot_failed || line.find(d5 + ": symbol 'XRP_USDC-30JUN23-0d5-C'") != std::string::npos) << line;
    EXPECT_NE(line.find(", which " + (dot_failed ? d5 : dot) + " wrote in this run"), std::string::npos) << line;
    if (threads == 1) {
      EXPECT_TRUE(dot_failed) << line;
    }
    auto r = parquet::FileReader::OpenLocal(out + "/" + object);
    ASSERT_TRUE(r.ok()) << r.status().message();
    auto symbols = (*r)->ReadColumn("symbol");
    ASSERT_TRUE(symbols.ok());
    // One instrument's rows, all of them: the two 0d5 rows, or the one 0.5 row.
    ASSERT_FALSE(symbols->strings.empty());
    const std::string first = symbols->strings[0];
    EXPECT_EQ(symbols->strings.size(), first == "XRP_USDC-30JUN23-0d5-C" ? 2u : 1u);
    for (const auto& v : symbols->strings) EXPECT_EQ(v, first);
  }
  // --no-force keeps the object there whatever the order: the first file's, and no failure.
  const std::string out = tmp.path() + "/keep";
  auto local = storage::NewLocalStore(out);
  ConvertJobOptions o;
  o.inputs = {d5, dot};
  o.target.store = local.get();
  o.target.overwrite = false;
  ::testing::internal::CaptureStderr();
  const ConvertSummary s = RunConvertJob(o, nullptr);
  ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(s.status.ok()) << s.status.message();
  EXPECT_EQ(s.kept_files, 1u);
  auto r = parquet::FileReader::OpenLocal(out + "/" + object);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)->metadata().num_rows, 2);
}

// Another version of WriteOptionsTrades' day: 100 rows of its first 50 options.
void WriteFewerOptionsTrades(const std::string& path) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path);
  f << "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n";
  for (int i = 0; i < 100; i++) {
    const std::string ts = std::to_string(1709251200000000LL + i * 1000);
    f << "deribit,BTC-9JUN20-" << 9000 + i % 50 << "-C," << ts << "," << ts << "," << i << ",buy,0.02,1\n";
  }
}

// Parquet objects of the trades day of those files under `root`.
size_t TradesObjects(const std::string& root) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(root + "/raw_tick_data/by_date/day-2024-03-01/data_type-trades")) {
    n += e.path().extension() == ".parquet";
  }
  return n;
}

// One file named twice (the same path, and another path to it) is converted
// once: its object written once, its rows counted once, with a warning.
TEST(RunConvertJob, AFileGivenTwiceIsConvertedOnce) {
  const testing::TempDir tmp("mt_convert_job_");
  const std::string one = tmp.path() + "/in/deribit_trades_2024-03-01_OPTIONS.csv";
  WriteOptionsTrades(one);
  const std::string again = tmp.path() + "/in/../in/deribit_trades_2024-03-01_OPTIONS.csv";
  auto local = storage::NewLocalStore(tmp.path() + "/out");
  ConvertJobOptions o;
  o.inputs = {one, again, one};
  o.target.store = local.get();
  size_t reported = 0;
  ::testing::internal::CaptureStderr();
  const ConvertSummary s = RunConvertJob(o, [&](const ConvertFileResult& r) {
    reported++;
    EXPECT_EQ(r.outputs.size(), 200u);
  });
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(s.status.ok()) << s.status.message() << err;
  EXPECT_EQ(reported, 1u);
  EXPECT_EQ(s.inputs, 1u);
  EXPECT_EQ(s.converted, 1u);
  EXPECT_EQ(s.rows, 2000u);
  EXPECT_EQ(s.output_files, 200u);
  EXPECT_NE(err.find(again + ": the same file as " + one + ", given twice; converted once"), std::string::npos) << err;
  EXPECT_EQ(TradesObjects(tmp.path() + "/out"), 200u);
}

// Two files named as one item (two copies of a day; trades and liquidations
// with one data type forced onto both) would write one item's objects twice:
// the later one fails before it is read, naming both, and the objects keep
// the first one's rows. The same for a grouped file (every instrument's
// object) and one of one instrument.
TEST(RunConvertJob, TwoFilesOfOneItemDoNotReplaceEachOther) {
  const testing::TempDir tmp("mt_convert_job_");
  const std::string header = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n";
  const std::string trades = tmp.path() + "/in/binance-futures_trades_2024-03-01_BTCUSDT.csv";
  const std::string liquidations = tmp.path() + "/in/binance-futures_liquidations_2024-03-01_BTCUSDT.csv";
  std::filesystem::create_directories(tmp.path() + "/in");
  std::ofstream(trades) << header << "binance-futures,BTCUSDT,1709251200000000,1709251200000100,1,buy,60000,1\n"
                        << "binance-futures,BTCUSDT,1709251201000000,1709251201000100,2,sell,60001,2\n";
  std::ofstream(liquidations) << header << "binance-futures,BTCUSDT,1709251202000000,1709251202000100,,sell,59000,5\n";
  const std::string grouped = tmp.path() + "/in/deribit_trades_2024-03-01_OPTIONS.csv";
  const std::string copy = tmp.path() + "/copy/deribit_trades_2024-03-01_OPTIONS.csv";
  WriteOptionsTrades(grouped);
  WriteFewerOptionsTrades(copy);
  const std::string object =
      tmp.path() +
      "/out/raw_tick_data/by_date/day-2024-03-01/data_type-trades/BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet";
  auto local = storage::NewLocalStore(tmp.path() + "/out");
  ConvertJobOptions o;
  o.inputs = {trades, grouped, liquidations, copy};
  o.data_type = tardis::FindSchema("trades");
  o.target.store = local.get();
  o.threads = 2;
  ::testing::internal::CaptureStderr();
  const ConvertSummary s = RunConvertJob(o, nullptr);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(s.converted, 2u) << err;
  EXPECT_EQ(s.failed, 2u) << err;
  EXPECT_EQ(s.rows, 2002u);
  EXPECT_EQ(ExitCodeFor(s.status), 1) << s.status.message();
  EXPECT_NE(err.find(liquidations + ": the same item (binance-futures trades 2024-03-01 BTCUSDT) as " + trades +
                     ", given earlier in this run (--data-type trades is forced onto both, a trades and a "
                     "liquidations file)"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find(copy + ": the same item (deribit trades 2024-03-01 OPTIONS) as " + grouped +
                     ", given earlier in this run; its objects are written once per run"),
            std::string::npos)
      << err;
  auto r = parquet::FileReader::OpenLocal(object);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)->metadata().num_rows, 2);
  // The grouped day: the first file's 200 options, 10 rows each.
  EXPECT_EQ(TradesObjects(tmp.path() + "/out"), 201u);
  auto opt = parquet::FileReader::OpenLocal(tmp.path() +
                                            "/out/raw_tick_data/by_date/day-2024-03-01/data_type-trades/"
                                            "DERIBIT:OPTION:BTC-USD-200609-9000-CALL.parquet");
  ASSERT_TRUE(opt.ok()) << opt.status().message();
  EXPECT_EQ((*opt)->metadata().num_rows, 10);
}

// Another run converting `file` into `store` to its end (its log goes with
// the caller's), asserted to succeed.
// `tool_version`: the other run's, when set (another version: other sizes).
void ConvertElsewhere(const std::string& file, storage::ObjectStore* store, const std::string& tool_version = "") {
  ConvertJobOptions b;
  b.inputs = {file};
  b.target.store = store;
  if (!tool_version.empty()) b.convert.tool_version = tool_version;
  const ConvertSummary s = RunConvertJob(b, nullptr);
  ASSERT_TRUE(s.status.ok()) << s.status.message();
}

// Another version of a grouped file completes its item while this run reads
// its own (two operators, or a resubmission with a corrected file): this run
// took the item's record when it started, before that one existed. At its
// first commit it takes the record as it is then, so the other version's
// objects that this file does not have go too: the item holds this file's
// objects only, each listed by its record (none stays unlisted, for a query
// over the day's folder to mix with this file's).
TEST(RunConvertJob, AGroupedFileCompletedMeanwhileByAnotherVersionLeavesNoUnlistedObject) {
  const testing::TempDir tmp("mt_convert_job_");
  const std::string big = tmp.path() + "/big/deribit_trades_2024-03-01_OPTIONS.csv";
  const std::string small = tmp.path() + "/small/deribit_trades_2024-03-01_OPTIONS.csv";
  WriteOptionsTrades(big);  // 200 options
  WriteFewerOptionsTrades(small);  // 50 of them
  const std::string root = tmp.path() + "/out";
  auto local = storage::NewLocalStore(root);
  auto other = storage::NewLocalStore(root);  // the other run's view of the same store
  testing::CreateWatch store(local.get());
  bool ran = false;
  store.before_create = [&](const std::string&) {
    if (ran) return;
    ran = true;
    ConvertElsewhere(big, other.get());
  };
  ConvertJobOptions o;
  o.inputs = {small};
  o.target.store = &store;
  ::testing::internal::CaptureStderr();
  const ConvertSummary s = RunConvertJob(o, nullptr);
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(ran);
  ASSERT_TRUE(s.status.ok()) << s.status.message();
  EXPECT_NE(err.find("removed 150 objects of the earlier conversion of its item"), std::string::npos) << err;
  EXPECT_EQ(TradesObjects(root), 50u);
  const std::string record = local->layout().ItemRecordName(Date{2024, 3, 1}, "trades", "deribit", "OPTIONS");
  auto rec = ReadItemRecord(local.get(), record, nullptr);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_EQ(rec->rows, 100u);
  EXPECT_EQ(rec->objects.size(), 50u);
}

// The record a grouped file replaces is gone by its first commit (another
// run removed it there, and stopped): the objects it listed, taken when this
// run started, still go if this file does not write them.
TEST(RunConvertJob, AGroupedFileRemovesTheObjectsOfTheRecordItStartedOverEvenIfItIsGoneSince) {
  const testing::TempDir tmp("mt_convert_job_");
  const std::string big = tmp.path() + "/big/deribit_trades_2024-03-01_OPTIONS.csv";
  const std::string small = tmp.path() + "/small/deribit_trades_2024-03-01_OPTIONS.csv";
  WriteOptionsTrades(big);
  WriteFewerOptionsTrades(small);
  const std::string root = tmp.path() + "/out";
  auto local = storage::NewLocalStore(root);
  ConvertElsewhere(big, local.get());
  ASSERT_EQ(TradesObjects(root), 200u);
  const std::string record = local->layout().ItemRecordName(Date{2024, 3, 1}, "trades", "deribit", "OPTIONS");
  testing::CreateWatch store(local.get());
  store.before_create = [&](const std::string&) { ASSERT_TRUE(local->Remove(record).ok()); };
  ConvertJobOptions o;
  o.inputs = {small};
  o.target.store = &store;
  ::testing::internal::CaptureStderr();
  const ConvertSummary s = RunConvertJob(o, nullptr);
  ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(s.status.ok()) << s.status.message();
  EXPECT_EQ(TradesObjects(root), 50u);
  auto rec = ReadItemRecord(local.get(), record, nullptr);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_EQ(rec->objects.size(), 50u);
}

// Two runs of one grouped item commit their objects at the same time and the
// other one writes its completion record first (this run's is create-only
// once it removed the earlier one). From another version of the file: each
// object holds whichever run wrote it last, so this file fails as retryable
// (exit 3) and that record stays; run again, it replaces the item whole.
// From the same file: the same objects and rows, and both succeed.
TEST(RunConvertJob, TwoRunsOfAGroupedItemAtOnceEitherAgreeOrTheLaterOneRetries) {
  const testing::TempDir tmp("mt_convert_job_");
  const std::string big = tmp.path() + "/big/deribit_trades_2024-03-01_OPTIONS.csv";
  const std::string small = tmp.path() + "/small/deribit_trades_2024-03-01_OPTIONS.csv";
  WriteOptionsTrades(big);  // 200 options
  WriteFewerOptionsTrades(small);  // 50 of them
  for (const std::string& other_file : {big, small}) {
    SCOPED_TRACE(other_file);
    const std::string root = tmp.path() + "/out-" + std::filesystem::path(other_file).parent_path().filename().string();
    auto local = storage::NewLocalStore(root);
    auto other = storage::NewLocalStore(root);  // the other run's view of the same store
    const std::string record = local->layout().ItemRecordName(Date{2024, 3, 1}, "trades", "deribit", "OPTIONS");
    testing::CreateWatch store(local.get());
    bool ran = false;
    store.before_create = [&](const std::string& name) {
      if (ran || name != record) return;
      ran = true;
      ConvertElsewhere(other_file, other.get());
    };
    ConvertJobOptions o;
    o.inputs = {small};
    o.target.store = &store;
    ::testing::internal::CaptureStderr();
    ConvertSummary s = RunConvertJob(o, nullptr);
    const std::string err = ::testing::internal::GetCapturedStderr();
    ASSERT_TRUE(ran);
    auto rec = ReadItemRecord(local.get(), record, nullptr);
    ASSERT_TRUE(rec.ok()) << rec.status().message();
    if (other_file == small) {
      EXPECT_TRUE(s.status.ok()) << s.status.message();
      EXPECT_NE(err.find("another run completed its item at the same time with the same objects and rows"),
                std::string::npos) << err;
      EXPECT_EQ(rec->objects.size(), 50u);
      continue;
    }
    EXPECT_EQ(s.status.code(), Status::Code::kUnavailable) << s.status.message();
    EXPECT_EQ(ExitCodeFor(s.status), kExitRetryable);
    EXPECT_NE(err.find("another run converted the same item (2024-03-01/trades/deribit/OPTIONS) at the same time "
                       "from other contents (the other run's record lists 200 objects of 2000 rows, this run wrote "
                       "50 objects of 100 rows)"),
              std::string::npos) << err;
    EXPECT_EQ(rec->objects.size(), 200u);  // the other run's record stays
    // The retry: this file's objects only, each listed.
    o.target.store = local.get();
    ::testing::internal::CaptureStderr();
    s = RunConvertJob(o, nullptr);
    ::testing::internal::GetCapturedStderr();
    ASSERT_TRUE(s.status.ok()) << s.status.message();
    rec = ReadItemRecord(local.get(), record, nullptr);
    ASSERT_TRUE(rec.ok()) << rec.status().message();
    EXPECT_EQ(rec->objects.size(), 50u);
    EXPECT_EQ(TradesObjects(root), 50u);
  }
}

// Two runs of the same grouped file, the other one by another version:
// it writes every object, this run writes them over, then the other writes
// its record first. The same objects and rows, so that record stays, and
// this run gives it the sizes of the objects the store holds (this run's).
TEST(RunConvertJob, TwoRunsAtOnceUnderOtherSettingsLeaveTheRecordWithTheStoredSizes) {
  const testing::TempDir tmp("mt_convert_job_");
  const std::string file = tmp.path() + "/in/deribit_trades_2024-03-01_OPTIONS.csv";
  WriteFewerOptionsTrades(file);  // 50 options
  const std::string root = tmp.path() + "/out";
  auto local = storage::NewLocalStore(root);
  auto other_local = storage::NewLocalStore(root);  // the other run's view of the same store
  const std::string record = local->layout().ItemRecordName(Date{2024, 3, 1}, "trades", "deribit", "OPTIONS");
  // The other run stops before its record until this run reaches its own.
  testing::CreateWatch other(other_local.get());
  std::mutex mu;
  std::condition_variable cv;
  bool other_objects_done = false, release_other = false;
  std::map<std::string, uint64_t> other_sizes;  // of the other run's objects, by file name
  other.before_create = [&](const std::string& name) {
    if (name != record) return;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
      if (e.path().extension() == ".parquet") other_sizes[e.path().filename().string()] = e.file_size();
    }
    std::unique_lock<std::mutex> l(mu);
    other_objects_done = true;
    cv.notify_all();
    // Bounded waits: a run that fails early fails the test, not hangs it.
    cv.wait_for(l, std::chrono::seconds(60), [&] { return release_other; });
  };
  std::thread other_run;
  testing::CreateWatch store(local.get());
  store.before_create = [&](const std::string& name) {
    if (!other_run.joinable()) {
      // Before this run's first object: the other one writes all of its own.
      other_run = std::thread([&] { ConvertElsewhere(file, &other, "0.0.0-another-version-of-longer-name"); });
      std::unique_lock<std::mutex> l(mu);
      cv.wait_for(l, std::chrono::seconds(60), [&] { return other_objects_done; });
    }
    if (name == record) {
      {
        std::lock_guard<std::mutex> l(mu);
        release_other = true;
      }
      cv.notify_all();
      other_run.join();  // its record is written
    }
  };
  ConvertJobOptions o;
  o.inputs = {file};
  o.target.store = &store;
  ::testing::internal::CaptureStderr();
  const ConvertSummary s = RunConvertJob(o, nullptr);
  const std::string err = ::testing::internal::GetCapturedStderr();
  {
    std::lock_guard<std::mutex> l(mu);
    release_other = true;
  }
  cv.notify_all();
  if (other_run.joinable()) other_run.join();
  ASSERT_TRUE(other_objects_done);
  ASSERT_TRUE(s.status.ok()) << s.status.message();
  EXPECT_NE(err.find("another run completed its item at the same time with the same objects and rows"),
            std::string::npos) << err;
  auto rec = ReadItemRecord(local.get(), record, nullptr);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  ASSERT_EQ(rec->objects.size(), 50u);
  EXPECT_EQ(rec->rows, 100u);
  for (const auto& obj : rec->objects) {
    const uint64_t stored = std::filesystem::file_size(root + "/" + obj.name);
    EXPECT_EQ(obj.bytes, stored) << obj.name;
    // This run's object (its version in the metadata), not the other run's.
    const std::string file_name = std::filesystem::path(obj.name).filename().string();
    ASSERT_EQ(other_sizes.count(file_name), 1u) << file_name;
    EXPECT_NE(stored, other_sizes[file_name]) << obj.name;
  }
}

// The descriptors open in this process, each one listed in /proc/self/fd
// (the listing's own descriptor counts on every call alike).
size_t OpenDescriptors() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) n++;
  return n;
}

// The completion record a grouped file replaces cannot be read (here a
// folder stands at its name): the file fails before anything is written,
// naming the record, and the input's descriptor is closed on that path too
// (a run over many such files would otherwise run out of descriptors).
TEST(RunConvertJob, AnUnreadableRecordFailsTheFileAndClosesItsInput) {
  const testing::TempDir tmp("mt_convert_job_");
  const std::string in = tmp.path() + "/in/deribit_trades_2024-03-01_OPTIONS.csv";
  WriteOptionsTrades(in);
  auto local = storage::NewLocalStore(tmp.path() + "/out");
  const std::string record = local->layout().ItemRecordName(Date{2024, 3, 1}, "trades", "deribit", "OPTIONS");
  std::filesystem::create_directories(tmp.path() + "/out/" + record);
  ConvertJobOptions o;
  o.inputs = {in};
  o.target.store = local.get();
  const size_t before = OpenDescriptors();
  for (int i = 0; i < 3; i++) {
    ::testing::internal::CaptureStderr();
    const ConvertSummary s = RunConvertJob(o, nullptr);
    ::testing::internal::GetCapturedStderr();
    ASSERT_FALSE(s.status.ok());
    EXPECT_NE(s.status.message().find("the completion record it replaces"), std::string::npos)
        << s.status.message();
    EXPECT_NE(s.status.message().find(in), std::string::npos) << s.status.message();
    EXPECT_EQ(s.converted, 0u);
    EXPECT_EQ(s.failed, 1u);
  }
  EXPECT_EQ(OpenDescriptors(), before);
  // Nothing of the file was written beside the folder standing in for the record.
  size_t objects = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(tmp.path() + "/out")) {
    if (e.is_regular_file() && e.path().extension() == ".parquet") objects++;
  }
  EXPECT_EQ(objects, 0u);
}

}  // namespace
}  // namespace mt::pipeline
