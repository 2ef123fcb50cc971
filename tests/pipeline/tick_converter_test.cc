// TickConverter on grouped files: routing by key (symbol rules or a
// KeyResolver), colliding keys, unkeyed rows, hostile symbols, chains.
#include "pipeline/tick_converter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <string>

#include "core/thread_pool.h"
#include "core/time_util.h"
#include "derive/engine.h"
#include "derive/names.h"
#include "parquet/file_reader.h"
#include "storage/object_store.h"
#include "support/create_watch.h"
#include "support/temp_dir.h"

namespace mt::pipeline {
namespace {

namespace fs = std::filesystem;

// A scratch directory with a store rooted one level down, so a write that
// escaped the root would land in `outside`.
class Scratch {
 public:
  Scratch() {
    base_ = fs::temp_directory_path() / ("mt_conv_test_" + std::to_string(::getpid()) + "_" + std::to_string(n_++));
    fs::remove_all(base_);
    fs::create_directories(base_ / "a" / "b" / "root");
    store_ = storage::NewLocalStore(root());
  }
  ~Scratch() { fs::remove_all(base_); }
  std::string root() const { return (base_ / "a" / "b" / "root").string(); }
  storage::ObjectStore* store() { return store_.get(); }
  // Every regular file under the scratch base that is not under the root.
  std::vector<std::string> Outside() const {
    std::vector<std::string> out;
    for (auto& e : fs::recursive_directory_iterator(base_)) {
      const std::string p = e.path().string();
      if (e.is_regular_file() && p.rfind(root() + "/", 0) != 0) out.push_back(p);
    }
    return out;
  }
  std::vector<std::string> Inside() const {
    std::vector<std::string> out;
    for (auto& e : fs::recursive_directory_iterator(root())) {
      if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root()).generic_string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  static inline int n_ = 0;
  fs::path base_;
  std::unique_ptr<storage::ObjectStore> store_;
};

// A file of 2024-03-01 named as the official clients name them.
SourceHints HintsFor(const std::string& exchange, const std::string& data_type, const std::string& symbol) {
  SourceHints hints;
  hints.source = exchange + "_" + data_type + "_2024-03-01_" + symbol + ".csv";
  hints.day = Date{2024, 3, 1};
  hints.exchange = exchange;
  hints.symbol = symbol;
  return hints;
}

Result<std::vector<OutputFile>> Convert(const std::string& csv, const std::string& exchange, const std::string& data_type,
                                        storage::ObjectStore* store, const KeyResolver* keys = nullptr,
                                        const std::string& file_symbol = "OPTIONS",
                                        size_t max_routed = ConvertSettings().max_routed_instruments) {
  const SourceHints hints = HintsFor(exchange, data_type, file_symbol);
  ConvertTarget target;
  target.store = store;
  target.keys = keys;
  ConvertSettings settings;
  settings.tool_version = "test";
  settings.max_routed_instruments = max_routed;
  TickConverter conv(hints, target, settings);
  MT_RETURN_IF_ERROR(conv.Write(reinterpret_cast<const uint8_t*>(csv.data()), csv.size()));
  MT_ASSIGN_OR_RETURN(OutputList outs, conv.Finish());
  return outs.ToVector();
}

const char kTradesHeader[] = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n";

// A grouped file of deribit, `data_type`, converted into `store` with a cap
// of `cap` instruments routed at once, batches of `batch_rows`.
Result<std::vector<OutputFile>> ConvertCapped(const std::string& csv, storage::ObjectStore* store, size_t cap,
                                              int threads, const std::string& data_type = "trades",
                                              size_t batch_rows = 700, bool overwrite = true) {
  ConvertTarget target;
  target.store = store;
  target.overwrite = overwrite;
  ConvertSettings settings;
  settings.tool_version = "test";
  settings.parser.batch_rows = batch_rows;
  settings.max_routed_instruments = cap;
  std::unique_ptr<ThreadPool> pool;
  if (threads > 1) {
    pool = std::make_unique<ThreadPool>(threads - 1);
    settings.writer.pool = pool.get();
  }
  TickConverter conv(HintsFor("deribit", data_type, "OPTIONS"), target, settings);
  MT_RETURN_IF_ERROR(conv.Write(reinterpret_cast<const uint8_t*>(csv.data()), csv.size()));
  MT_ASSIGN_OR_RETURN(OutputList outs, conv.Finish());
  return outs.ToVector();
}


std::string Trade(const std::string& ex, const std::string& sym, int i) {
  const std::string ts = std::to_string(1709251200000000LL + i * 1000);
  return ex + "," + sym + "," + ts + "," + ts + "," + std::to_string(i) + ",buy,0.01,1\n";
}

// The conversion failed with a message holding `text`, and nothing was
// written, inside the store's root or outside it.
void ExpectFailedWritingNothing(const Result<std::vector<OutputFile>>& outs, const std::string& text,
                                const Scratch& s) {
  ASSERT_FALSE(outs.ok());
  EXPECT_NE(outs.status().message().find(text), std::string::npos) << outs.status().message();
  EXPECT_TRUE(s.Inside().empty());
  EXPECT_TRUE(s.Outside().empty());
}

// A test double for the definitions-backed resolver: a fixed table of
// symbol -> key, as stored instrument definitions would give.
class TableResolver final : public KeyResolver {
 public:
  std::map<std::string, std::string> keys;
  Result<tardis::InstrumentKey> Resolve(std::string_view exchange, std::string_view symbol) const override {
    auto it = keys.find(std::string(exchange) + "|" + std::string(symbol));
    if (it == keys.end()) return Status::InvalidInput("no definition for '" + std::string(symbol) + "'");
    return tardis::ParseInstrumentKey(it->second);
  }
  Result<bool> ListsExchange(const Date&, std::string_view exchange) const override {
    for (const auto& [k, v] : keys) {
      if (k.substr(0, k.find('|')) == exchange) return true;
    }
    return false;
  }
};

// A grouped file whose batches bring many rows per instrument goes from the
// batch straight into the spill's pieces (SpillWriter::AppendSplit); one of
// small batches keeps each instrument's rows pending first. Both give the
// same objects, byte for byte: quotes with empty (null) fields and trades
// with both sides, 80 options interleaved unevenly.
TEST(TickConverterTest, RowsSplitStraightIntoPiecesGiveTheObjectsOfPendingRows) {
  PinCreatedAt(1700000000);
  struct File {
    std::string data_type, csv;
  };
  std::vector<File> files = {{"quotes", "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"},
                             {"trades", kTradesHeader}};
  uint64_t seq = 7;
  for (int i = 0; i < 4000; i++) {
    seq = seq * 6364136223846793005ULL + 1442695040888963407ULL;
    const int opt = static_cast<int>((seq >> 33) % 40);
    const std::string sym = "BTC-29MAR24-" + std::to_string(50000 + 1000 * opt) + ((seq >> 45) % 2 ? "-C" : "-P");
    const std::string ts = std::to_string(1709251200000000LL + i * 1000);
    auto field = [&](int shift, const std::string& v) { return (seq >> shift) % 5 == 0 ? std::string() : v; };
    files[0].csv += "deribit," + sym + "," + ts + "," + ts + "," + field(20, std::to_string(i % 17)) + "," +
                    field(22, "0.0" + std::to_string(i % 9 + 1)) + "," + field(24, "0.00" + std::to_string(i % 7 + 1)) +
                    "," + field(26, std::to_string(i % 13)) + "\n";
    files[1].csv += "deribit," + sym + "," + ts + "," + ts + "," + std::to_string(seq >> 44) + "," +
                    ((seq >> 50) % 2 ? "buy" : "sell") + ",0.0" + std::to_string(i % 9 + 1) + "," +
                    std::to_string(i % 11 + 1) + "\n";
  }
  for (const File& f : files) {
    // 4,000 rows of 80 options: one batch of them all brings 50 rows per
    // option (pieces straight from the batch: 32 or more on average); a
    // batch of 200 rows about 3 (pending rows). Every object (about 50
    // rows, fewer than either batch) is one row group either way.
    std::map<std::string, std::string> bytes[2];
    for (int small = 0; small < 2; small++) {
      Scratch scratch;
      const SourceHints hints = HintsFor("deribit", f.data_type, "OPTIONS");
      ConvertTarget target;
      target.store = scratch.store();
      ConvertSettings settings;
      settings.tool_version = "test";
      settings.parser.batch_rows = small ? 200 : 4000;
      TickConverter conv(hints, target, settings);
      ASSERT_TRUE(conv.Write(reinterpret_cast<const uint8_t*>(f.csv.data()), f.csv.size()).ok());
      auto outs = conv.Finish();
      ASSERT_TRUE(outs.ok()) << outs.status().message();
      EXPECT_GT(outs->size(), 40u);
      uint64_t rows = 0;
      for (const OutputFile& o : *outs) {
        rows += o.rows;
        std::ifstream in(o.name, std::ios::binary);
        bytes[small][fs::path(o.name).filename().string()] =
            std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
      EXPECT_EQ(rows, 4000u);
    }
    EXPECT_EQ(bytes[0].size(), bytes[1].size());
    for (const auto& [name, data] : bytes[0]) {
      ASSERT_TRUE(bytes[1].count(name)) << name;
      EXPECT_FALSE(data.empty()) << name;
      EXPECT_TRUE(data == bytes[1][name]) << f.data_type << " " << name;
    }
  }
  PinCreatedAt(std::nullopt);
}

// The parse batch of a grouped file split per instrument does not shape its
// objects (the converter parses such files in smaller batches than the row
// groups they get): here one batch of all rows holds more than a
// dictionary's worth (1 MiB) of distinct symbols, so its symbol column goes
// plain, while batches of 2,000 rows stay dictionaries. Every object still
// holds one exchange and one symbol, and is the same bytes either way
// (generated rows: 6,500 options with 150-digit strikes, two trades each).
TEST(TickConverterTest, AGroupedFilesObjectsDoNotDependOnItsParseBatches) {
  PinCreatedAt(1700000000);
  constexpr int kOptions = 6500;
  std::string csv = kTradesHeader;
  for (int i = 0; i < 2 * kOptions; i++) {
    std::string strike = std::to_string(100000 + i % kOptions);
    strike.insert(0, 150 - strike.size(), '1');
    csv += Trade("deribit", "BTC-29MAR24-" + strike + "-C", i);
  }
  std::map<std::string, std::string> bytes[2];
  for (int small = 0; small < 2; small++) {
    Scratch scratch;
    ConvertTarget target;
    target.store = scratch.store();
    ConvertSettings settings;
    settings.tool_version = "test";
    settings.parser.batch_rows = small ? 2000 : 2 * kOptions;
    TickConverter conv(HintsFor("deribit", "trades", "OPTIONS"), target, settings);
    ASSERT_TRUE(conv.Write(reinterpret_cast<const uint8_t*>(csv.data()), csv.size()).ok());
    auto outs = conv.Finish();
    ASSERT_TRUE(outs.ok()) << outs.status().message();
    ASSERT_EQ(outs->size(), static_cast<size_t>(kOptions));
    for (const OutputFile& o : *outs) {
      ASSERT_EQ(o.rows, 2u) << o.name;
      std::ifstream in(o.name, std::ios::binary);
      bytes[small][fs::path(o.name).filename().string()] =
          std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  ASSERT_EQ(bytes[0].size(), bytes[1].size());
  int differ = 0;
  for (const auto& [name, data] : bytes[0]) {
    ASSERT_TRUE(bytes[1].count(name)) << name;
    if (data != bytes[1][name]) differ++;
  }
  EXPECT_EQ(differ, 0) << "of " << kOptions << " objects";
  PinCreatedAt(std::nullopt);
}

// Counts the batches a conversion parses and the largest one's bytes.
class BatchSizes final : public derive::BatchObserver {
 public:
  size_t batches = 0, rows = 0, bytes = 0, largest = 0;
  Status OnSchema(const tardis::DataTypeSchema&) override { return Status::OK(); }
  Status OnBatch(const columnar::RowGroupData& batch) override {
    batches++;
    rows += batch.num_rows;
    bytes += batch.MemoryBytes();
    largest = std::max(largest, batch.MemoryBytes());
    return Status::OK();
  }
  Status Finish() override { return Status::OK(); }
  void Abort() override {}
};

// A grouped file of wide rows (book snapshots of every option, 104 value
// columns) fills the default batch's bytes with a fraction of its rows, and
// a batch being split into the spill sits beside the next one being parsed:
// its batches hold at most the grouped file's smaller budget of bytes.
TEST(TickConverterTest, AWideGroupedFilesBatchesStayWithinTheGroupedBudget) {
  std::string csv = "exchange,symbol,timestamp,local_timestamp";
  for (int l = 0; l < 25; l++) {
    const std::string n = std::to_string(l);
    csv += ",asks[" + n + "].price,asks[" + n + "].amount,bids[" + n + "].price,bids[" + n + "].amount";
  }
  csv += "\n";
  constexpr int kRows = 48000;
  for (int i = 0; i < kRows; i++) {
    const std::string ts = std::to_string(1709251200000000LL + i * 1000);
    csv += "deribit,BTC-29MAR24-" + std::to_string(50000 + 500 * (i % 300)) + "-C," + ts + "," + ts;
    for (int l = 0; l < 25; l++) csv += ",0." + std::to_string(101 + l) + "," + std::to_string(1 + (i + l) % 9) + ",0.0" +
                                        std::to_string(99 - l) + "," + std::to_string(1 + (i * l) % 7);
    csv += "\n";
  }
  Scratch s;
  ConvertTarget target;
  target.store = s.store();
  BatchSizes sizes;
  target.observers.push_back(&sizes);
  ConvertSettings settings;
  settings.tool_version = "test";
  SourceHints hints = HintsFor("deribit", "book_snapshot_25", "OPTIONS");
  hints.data_type = tardis::FindSchema("book_snapshot_25");  // from the file's name, as convert_job does
  ASSERT_NE(hints.data_type, nullptr);
  TickConverter conv(hints, target, settings);
  ASSERT_TRUE(conv.Write(reinterpret_cast<const uint8_t*>(csv.data()), csv.size()).ok());
  auto outs = conv.Finish();
  ASSERT_TRUE(outs.ok()) << outs.status().message();
  EXPECT_EQ(outs->size(), 300u);
  EXPECT_EQ(sizes.rows, static_cast<size_t>(kRows));
  // More than the grouped budget in all, less than the default batch's (which held it whole),
  EXPECT_GT(sizes.bytes, size_t{36} << 20);
  EXPECT_LT(sizes.bytes, size_t{64} << 20);
  // parsed in batches of at most the budget, give or take the rows between two checks of it.
  EXPECT_GE(sizes.batches, 2u);
  EXPECT_LE(sizes.largest, size_t{36} << 20) << sizes.batches << " batches";
}

// A file whose name gives no day takes its objects' day from its rows; a
// row of a year that does not print in four digits (found by the convert
// fuzzer: year 52113) named an object no reader of the store parses back.
// Such a file fails naming the row, and nothing is written.
TEST(TickConverterTest, ADayFromARowOutsideFourDigitYearsFailsTheFile) {
  Scratch s;
  SourceHints hints;
  hints.source = "renamed.csv";
  ConvertTarget target;
  target.store = s.store();
  ConvertSettings settings;
  settings.tool_version = "test";
  for (const std::string ts : {"1582329601096000000", "-86400000001"}) {
    const std::string csv = std::string(kTradesHeader) + "binance-futures,BTCUSDT," + ts + "," + ts + ",1,buy,1,1\n";
    TickConverter conv(hints, target, settings);
    Status st = conv.Write(reinterpret_cast<const uint8_t*>(csv.data()), csv.size());
    Result<OutputList> out = st.ok() ? conv.Finish() : Result<OutputList>(st);
    ASSERT_FALSE(out.ok()) << ts;
    // The parser takes times from 1970 to the end of year 9999 only, so the
    // row fails there, naming its line and column, before any day is taken.
    EXPECT_NE(out.status().message().find("renamed.csv:2:25: cannot parse \"" + ts +
                                          "\" as a timestamp (integer microseconds since 1970-01-01 UTC, up to the "
                                          "end of year 9999)"),
              std::string::npos)
        << out.status().message();
    EXPECT_TRUE(s.Inside().empty());
  }
  // A day in range takes its objects there, as before.
  const std::string csv = std::string(kTradesHeader) + "binance-futures,BTCUSDT,1582329601096000,1582329601096000,1,buy,1,1\n";
  TickConverter conv(hints, target, settings);
  ASSERT_TRUE(conv.Write(reinterpret_cast<const uint8_t*>(csv.data()), csv.size()).ok());
  auto out = conv.Finish();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(s.Inside(), (std::vector<std::string>{
                            "raw_tick_data/by_date/day-2020-02-22/data_type-trades/BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet"}));
}

TEST(TickConverterTest, NonSeedOptionVenueSplitsWithInstrumentDefinitions) {
  Scratch s;
  TableResolver defs;
  defs.keys["huobi-dm-options|BTC-USDT-240329-C-70000"] = "HUOBI-DM-OPTIONS:OPTION:BTC-USDT-240329-70000-CALL";
  defs.keys["huobi-dm-options|ETH-USDT-240329-P-3500"] = "HUOBI-DM-OPTIONS:OPTION:ETH-USDT-240329-3500-PUT";
  std::string csv = kTradesHeader;
  for (int i = 0; i < 10; i++) {
    csv += Trade("huobi-dm-options", i % 3 ? "BTC-USDT-240329-C-70000" : "ETH-USDT-240329-P-3500", i);
  }
  auto outs = Convert(csv, "huobi-dm-options", "trades", s.store(), &defs);
  ASSERT_TRUE(outs.ok()) << outs.status().message();
  ASSERT_EQ(outs->size(), 2u);
  EXPECT_EQ((*outs)[0].instrument_key, "HUOBI-DM-OPTIONS:OPTION:BTC-USDT-240329-70000-CALL");
  EXPECT_EQ((*outs)[0].rows, 6u);
  EXPECT_EQ((*outs)[1].instrument_key, "HUOBI-DM-OPTIONS:OPTION:ETH-USDT-240329-3500-PUT");
  EXPECT_EQ((*outs)[1].rows, 4u);
  EXPECT_FALSE((*outs)[0].unkeyed);
  auto r = parquet::FileReader::OpenLocal((*outs)[1].name);
  ASSERT_TRUE(r.ok());
  auto ids = (*r)->ReadColumn("id");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->strings, (std::vector<std::string>{"0", "3", "6", "9"}));
  EXPECT_EQ((*r)->metadata().Metadata("instrument_key"), "HUOBI-DM-OPTIONS:OPTION:ETH-USDT-240329-3500-PUT");
}

TEST(TickConverterTest, CollidingSymbolsFailTheFileNamingBoth) {
  Scratch s;
  // 0d5 and 0.5 are the same Deribit strike: one key for two symbols.
  std::string csv = kTradesHeader;
  csv += Trade("deribit", "BTC-9JUN20-9875-P", 0);
  csv += Trade("deribit", "XRP_USDC-9JUN20-0d5-C", 1);
  csv += Trade("deribit", "XRP_USDC-9JUN20-0.5-C", 2);
  auto outs = Convert(csv, "deribit", "trades", s.store());
  ASSERT_FALSE(outs.ok());
  EXPECT_NE(outs.status().message().find("'XRP_USDC-9JUN20-0d5-C'"), std::string::npos) << outs.status().message();
  EXPECT_NE(outs.status().message().find("'XRP_USDC-9JUN20-0.5-C'"), std::string::npos) << outs.status().message();
  EXPECT_NE(outs.status().message().find("DERIBIT:OPTION:XRP-USDC-200609-0.5-CALL"), std::string::npos);
  EXPECT_TRUE(s.Inside().empty());  // nothing of the file, not even the other instrument
  EXPECT_TRUE(s.Outside().empty());
}

TEST(TickConverterTest, OkxProductSuffixKeepsOptionsApart) {
  Scratch s;
  std::string csv = kTradesHeader;
  csv += Trade("okex-options", "BTC-USD-260626-100000-C", 0);
  csv += Trade("okex-options", "BTC-USD_UM-260626-100000-C", 1);
  csv += Trade("okex-options", "BTC-USD-260626-100000-C", 2);
  auto outs = Convert(csv, "okex-options", "trades", s.store());
  ASSERT_TRUE(outs.ok()) << outs.status().message();
  ASSERT_EQ(outs->size(), 2u);
  EXPECT_EQ((*outs)[0].instrument_key, "OKX-OPTIONS:OPTION:BTC-USD-260626-100000-CALL");
  EXPECT_EQ((*outs)[0].rows, 2u);
  EXPECT_EQ((*outs)[1].instrument_key, "OKX-OPTIONS:OPTION:BTC-USD_UM-260626-100000-CALL");
  EXPECT_EQ((*outs)[1].rows, 1u);
}

// Also when the combo comes past the cap of instruments routed at once (1
// here): it goes to a partition, and is kept there the same way.
TEST(TickConverterTest, UnkeyedRowsAreKeptUnderAFallbackNameAndEveryOtherInstrumentToo) {
  for (const size_t cap : {ConvertSettings().max_routed_instruments, size_t{1}}) {
    Scratch s;
    std::string csv = kTradesHeader;
    csv += Trade("deribit", "BTC-9JUN20-9875-P", 0);
    csv += Trade("deribit", "BTC-FS-26JUN20_PERP", 1);  // a combo: no key
    csv += Trade("deribit", "BTC-9JUN20-10000-C", 2);
    csv += Trade("deribit", "BTC-FS-26JUN20_PERP", 3);
    auto outs = Convert(csv, "deribit", "trades", s.store(), nullptr, "OPTIONS", cap);
    ASSERT_TRUE(outs.ok()) << outs.status().message();
    ASSERT_EQ(outs->size(), 3u);
    uint64_t rows = 0;
    const OutputFile* unkeyed = nullptr;
    for (const auto& o : *outs) {
      rows += o.rows;
      if (o.unkeyed) unkeyed = &o;
    }
    EXPECT_EQ(rows, 4u);
    ASSERT_NE(unkeyed, nullptr);
    EXPECT_EQ(unkeyed->rows, 2u);
    EXPECT_EQ(unkeyed->symbol, "BTC-FS-26JUN20_PERP");
    EXPECT_EQ(unkeyed->instrument_key, "");
    EXPECT_NE(unkeyed->note.find("BTC-FS-26JUN20_PERP"), std::string::npos) << unkeyed->note;
    EXPECT_EQ(fs::path(unkeyed->name).filename().string(), "DERIBIT:UNKEYED:BTC-FS-26JUN20_PERP.parquet");
    auto r = parquet::FileReader::OpenLocal(unkeyed->name);
    ASSERT_TRUE(r.ok());
    auto sym = (*r)->ReadColumn("symbol");
    ASSERT_TRUE(sym.ok());
    EXPECT_EQ(sym->strings, (std::vector<std::string>{"BTC-FS-26JUN20_PERP", "BTC-FS-26JUN20_PERP"}));
    auto ids = (*r)->ReadColumn("id");
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(ids->strings, (std::vector<std::string>{"1", "3"}));
  }
}

// A grouped file of a venue whose symbols do not tell their type (dydx)
// without definitions of that exchange for the day: no row has a key, so the
// file is refused whole (it went under DYDX:UNKEYED:{symbol} names, which a
// rerun after `instruments` then skipped).
TEST(TickConverterTest, AGroupedFileOfAVenueWithoutASymbolRuleNeedsItsDefinitions) {
  std::string csv = kTradesHeader;
  csv += Trade("dydx", "BTC-USD", 0);
  csv += Trade("dydx", "ETH-USD", 1);
  TableResolver other;  // definitions of the day, but of another exchange only
  other.keys["deribit|BTC-PERPETUAL"] = "DERIBIT:PERPETUAL:BTC-USD";
  for (const KeyResolver* keys : {static_cast<const KeyResolver*>(nullptr), static_cast<const KeyResolver*>(&other)}) {
    Scratch s;
    auto outs = Convert(csv, "dydx", "trades", s.store(), keys, "PERPETUALS");
    ExpectFailedWritingNothing(outs, "instrument definitions for 2024-03-01 list no instrument of dydx", s);
    EXPECT_EQ(outs.status().code(), Status::Code::kInvalidInput);
    EXPECT_NE(outs.status().message().find(":2: symbol 'BTC-USD'"), std::string::npos) << outs.status().message();
    EXPECT_NE(outs.status().message().find("market-tick instruments --from 2024-03-01 --exchanges dydx"),
              std::string::npos)
        << outs.status().message();
  }
  // With them, every row under its own key; a symbol they do not list is
  // kept under UNKEYED as in any grouped file.
  Scratch s;
  TableResolver defs;
  defs.keys["dydx|BTC-USD"] = "DYDX:PERPETUAL:BTC-USD";
  csv += Trade("dydx", "SOL-USD", 2);
  auto outs = Convert(csv, "dydx", "trades", s.store(), &defs, "PERPETUALS");
  ASSERT_TRUE(outs.ok()) << outs.status().message();
  ASSERT_EQ(outs->size(), 3u);
  EXPECT_EQ((*outs)[0].instrument_key, "DYDX:PERPETUAL:BTC-USD");
  EXPECT_TRUE((*outs)[1].unkeyed);
  EXPECT_TRUE((*outs)[2].unkeyed);
}

TEST(TickConverterTest, AOneInstrumentFileWithoutAKeyFailsWithTheReason) {
  Scratch s;
  std::string csv = kTradesHeader;
  csv += Trade("deribit", "BTC-FS-26JUN20_PERP", 0);
  auto outs = Convert(csv, "deribit", "trades", s.store(), nullptr, "BTC-FS-26JUN20_PERP");
  ASSERT_FALSE(outs.ok());
  EXPECT_NE(outs.status().message().find("cannot derive an instrument key for symbol 'BTC-FS-26JUN20_PERP'"),
            std::string::npos)
      << outs.status().message();
  EXPECT_TRUE(s.Inside().empty());
}

TEST(TickConverterTest, HostileSymbolsAndExchangesNeverLeaveTheRoot) {
  Scratch s;
  std::string csv = kTradesHeader;
  const std::vector<std::string> syms = {
      "BTC-9JUN20-../../../a/b/c/ESC-C", "BTC-9JUN20-1/2-C", "BTC-9JUN20-1\t2-C", "BTC-9JUN20-1\\2-C",
      "BTC-9JUN20-\xc3\xa9-C",  // valid UTF-8 outside ASCII (invalid UTF-8 fails the parse)
      "BTC-9JUN20-" + std::string(400, '9') + "/x-C", "..", "/etc/passwd",
  };
  int i = 0;
  for (const auto& sym : syms) csv += Trade("deribit", sym, i++);
  csv += Trade("deribit", "BTC-9JUN20-9875-P", i++);
  auto outs = Convert(csv, "deribit", "trades", s.store());
  ASSERT_TRUE(outs.ok()) << outs.status().message();
  EXPECT_EQ(outs->size(), syms.size() + 1);
  uint64_t rows = 0;
  for (const auto& o : *outs) rows += o.rows;
  EXPECT_EQ(rows, static_cast<uint64_t>(i));
  EXPECT_TRUE(s.Outside().empty());
  for (const std::string& rel : s.Inside()) {
    EXPECT_EQ(rel.rfind("raw_tick_data/by_date/day-2024-03-01/data_type-trades/", 0), 0u) << rel;
    const std::string file = rel.substr(rel.rfind('/') + 1);
    EXPECT_LE(file.size(), 200u) << file;
    EXPECT_EQ(file.find(".."), std::string::npos) << file;
    for (char c : file) EXPECT_TRUE(c > 0x20 && c < 0x7F && c != '\\') << file;
  }
  EXPECT_EQ(s.Inside().size(), syms.size() + 1);
}

TEST(TickConverterTest, AGroupedFileHoldsOnlyItsOwnExchange) {
  Scratch s;
  std::string csv = kTradesHeader;
  csv += Trade("deribit", "BTC-9JUN20-9875-P", 0);
  csv += Trade("../../ESCX", "A-B", 1);  // hostile: would name another venue's object
  csv += Trade("binance", "BTCUSDT", 2);
  ExpectFailedWritingNothing(Convert(csv, "deribit", "trades", s.store()),
                             "a row of exchange '../../ESCX' (symbol 'A-B') in a grouped file of exchange 'deribit'", s);
}

// A file of one instrument as convert (routed by row) or download (one fixed
// object) sees it, with `batch_rows` rows per parsed batch.
Result<std::vector<OutputFile>> ConvertOne(const std::string& csv, const std::string& exchange,
                                           const std::string& symbol, storage::ObjectStore* store,
                                           size_t batch_rows, const std::string& fixed_object = "") {
  const SourceHints hints = HintsFor(exchange, "trades", symbol);
  ConvertTarget target;
  target.store = store;
  target.fixed_object = fixed_object;
  target.fixed_key = fixed_object.empty() ? "" : "BINANCE-FUTURES:PERPETUAL:BTC-USDT";
  ConvertSettings settings;
  settings.tool_version = "test";
  settings.parser.batch_rows = batch_rows;
  TickConverter conv(hints, target, settings);
  MT_RETURN_IF_ERROR(conv.Write(reinterpret_cast<const uint8_t*>(csv.data()), csv.size()));
  MT_ASSIGN_OR_RETURN(OutputList outs, conv.Finish());
  return outs.ToVector();
}

// Issue 22 item 2: a file served for binance-futures BTCUSDT that holds
// ETHUSDT (or BitMEX) rows was stored as BINANCE-FUTURES:PERPETUAL:BTC-USDT
// (download) or split into other instruments' objects (convert), exit 0.
TEST(TickConverterTest, AOneInstrumentFileWithAnotherInstrumentsRowFailsAtThatLine) {
  const std::string object = "raw_tick_data/by_date/day-2024-03-01/data_type-trades/BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet";
  for (const size_t batch : {size_t{4}, size_t{1000}}) {
    for (const std::string& fixed : {std::string(), object}) {
      for (const auto& [ex, sym] : std::vector<std::pair<std::string, std::string>>{{"binance-futures", "ETHUSDT"},
                                                                                    {"bitmex", "XBTUSD"},
                                                                                    {"deribit", "BTCUSDT"}}) {
        Scratch s;
        std::string csv = kTradesHeader;
        for (int i = 0; i < 9; i++) csv += Trade("binance-futures", "BTCUSDT", i);
        csv += Trade(ex, sym, 9);  // line 11
        csv += Trade("binance-futures", "BTCUSDT", 10);
        auto outs = ConvertOne(csv, "binance-futures", "BTCUSDT", s.store(), batch, fixed);
        const std::string label = ex + " " + sym + " batch " + std::to_string(batch) + " fixed " + fixed;
        ASSERT_FALSE(outs.ok()) << label;
        EXPECT_EQ(outs.status().code(), Status::Code::kInvalidInput) << label;
        EXPECT_EQ(outs.status().message(),
                  "binance-futures_trades_2024-03-01_BTCUSDT.csv:11: a row of exchange '" + ex + "', symbol '" + sym +
                      "' in a file of exchange 'binance-futures', symbol 'BTCUSDT' (the file name); a file of one "
                      "instrument holds only that instrument's rows, so nothing of this file was written (the file "
                      "is mislabelled or damaged: check its name or its source)")
            << label;
        EXPECT_TRUE(s.Inside().empty()) << label;
      }
    }
  }
}

// File names and dataset URLs spell the symbol as the official clients do
// (upper case, '/' and ':' as '-'); the rows keep the exchange's spelling.
TEST(TickConverterTest, AOneInstrumentFileMatchesItsNameAsTheClientsSpellIt) {
  for (const auto& [name, row] : std::vector<std::pair<std::string, std::string>>{
           {"BTCUSDT", "BTCUSDT"}, {"btcusdt", "BTCUSDT"}, {"XBT-USD", "XBT/USD"}, {"BTC-USDT-PERP", "BTC/USDT:PERP"}}) {
    Scratch s;
    std::string csv = kTradesHeader;
    for (int i = 0; i < 5; i++) csv += Trade("kraken", row, i);
    auto outs = ConvertOne(csv, "kraken", name, s.store(), 2,
                           "raw_tick_data/by_date/day-2024-03-01/data_type-trades/KRAKEN:SPOT_PAIR:X-Y.parquet");
    ASSERT_TRUE(outs.ok()) << name << ": " << outs.status().message();
    ASSERT_EQ(outs->size(), 1u);
    EXPECT_EQ((*outs)[0].rows, 5u);
  }
  // Symbols that only differ in a character the clients keep stay apart.
  Scratch s;
  std::string csv = kTradesHeader;
  csv += Trade("kraken", "XBT_USD", 0);
  EXPECT_FALSE(ConvertOne(csv, "kraken", "XBT-USD", s.store(), 2).ok());
}

// The same file converted into a store (no fixed object: the key comes
// from the rows' symbol): the object is the one download names from the
// dataset symbol. It failed with "expected BASE-QUOTE" (exit 1).
TEST(TickConverterTest, ARowSymbolWithASlashIsKeyedAsItsDatasetSymbolInAStore) {
  Scratch s;
  std::string csv = kTradesHeader;
  for (int i = 0; i < 5; i++) csv += Trade("kraken", "XBT/USD", i);
  auto outs = ConvertOne(csv, "kraken", "XBT-USD", s.store(), 2);
  ASSERT_TRUE(outs.ok()) << outs.status().message();
  ASSERT_EQ(outs->size(), 1u);
  EXPECT_EQ((*outs)[0].instrument_key, "KRAKEN:SPOT_PAIR:BTC-USD");
  EXPECT_EQ((*outs)[0].rows, 5u);
}

// Text from the file is quoted escaped: a symbol cannot put a terminal
// command or a line break of its own into the message.
TEST(TickConverterTest, AMismatchQuotesTheRowsTextEscapedAndCapped) {
  Scratch s;
  std::string csv = kTradesHeader;
  csv += Trade("binance-futures", "BTC\x1b[2J\x07" + std::string(300, 'U'), 0);
  auto outs = ConvertOne(csv, "binance-futures", "BTCUSDT", s.store(), 10);
  ASSERT_FALSE(outs.ok());
  const std::string& m = outs.status().message();
  EXPECT_NE(m.find("symbol 'BTC\\x1b[2J\\x07UUU"), std::string::npos) << m;
  EXPECT_NE(m.find("\xE2\x80\xA6 (308 bytes in all)'"), std::string::npos) << m;
  EXPECT_EQ(m.find('\x1b'), std::string::npos);
  EXPECT_LT(m.size(), 500u);
}

TEST(TickConverterTest, OptionsChainIsOneFilePerUnderlyingWithTheRowKeys) {
  Scratch s;
  const std::string header =
      "exchange,symbol,timestamp,local_timestamp,type,strike_price,expiration,open_interest,last_price,bid_price,"
      "bid_amount,bid_iv,ask_price,ask_amount,ask_iv,mark_price,mark_iv,underlying_index,underlying_price,delta,"
      "gamma,vega,theta,rho\n";
  std::string csv = header;
  const std::vector<std::string> syms = {"BTC-9JUN20-9875-P", "ETH-9JUN20-250-P", "BTC-10JUN20-10000-C",
                                         "XRP_USDC-9JUN20-0d5-C", "BTC-FS-26JUN20_PERP"};
  for (int i = 0; i < 10; i++) {
    const std::string ts = std::to_string(1709251200000000LL + i);
    csv += "deribit," + syms[i % syms.size()] + "," + ts + "," + ts + ",put,1,1591689600000000,,,,,,,,,,,SYN,1,,,,,\n";
  }
  auto outs = Convert(csv, "deribit", "options_chain", s.store());
  ASSERT_TRUE(outs.ok()) << outs.status().message();
  std::map<std::string, const OutputFile*> by_key;
  for (const auto& o : *outs) by_key[o.unkeyed ? "unkeyed" : o.instrument_key] = &o;
  ASSERT_EQ(by_key.size(), 4u);
  ASSERT_TRUE(by_key.count("DERIBIT:OPTIONS:BTC-USD"));
  EXPECT_EQ(by_key["DERIBIT:OPTIONS:BTC-USD"]->rows, 4u);
  EXPECT_EQ(by_key["DERIBIT:OPTIONS:ETH-USD"]->rows, 2u);
  EXPECT_EQ(by_key["DERIBIT:OPTIONS:XRP-USDC"]->rows, 2u);
  EXPECT_EQ(by_key["unkeyed"]->rows, 2u);
  auto r = parquet::FileReader::OpenLocal(by_key["DERIBIT:OPTIONS:BTC-USD"]->name);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->metadata().Metadata("instrument_key"), "DERIBIT:OPTIONS:BTC-USD");
  auto keys = (*r)->ReadColumn("instrument_key");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->strings, (std::vector<std::string>{"DERIBIT:OPTION:BTC-USD-200609-9875-PUT",
                                                     "DERIBIT:OPTION:BTC-USD-200610-10000-CALL",
                                                     "DERIBIT:OPTION:BTC-USD-200609-9875-PUT",
                                                     "DERIBIT:OPTION:BTC-USD-200610-10000-CALL"}));
  auto sym = (*r)->ReadColumn(size_t{2});
  ASSERT_TRUE(sym.ok());
  EXPECT_EQ(sym->strings.size(), 4u);  // column 3 is instrument_key, after exchange and symbol
  EXPECT_EQ(sym->strings[0], "DERIBIT:OPTION:BTC-USD-200609-9875-PUT");
  auto u = parquet::FileReader::OpenLocal(by_key["unkeyed"]->name);
  ASSERT_TRUE(u.ok());
  auto ukeys = (*u)->ReadColumn("instrument_key");
  ASSERT_TRUE(ukeys.ok());
  EXPECT_EQ(ukeys->defined, (std::vector<uint8_t>{0, 0}));  // no key: null
}

// The routes of an options chain and of the one output file are one per
// symbol: past the cap of instruments routed at once they are dropped
// between batches and made again, and the files are the same bytes; two
// symbols of one option key still fail the chain, naming both, when their
// routes were dropped in between. Batches of 50 rows, 60 options and a
// combo, a cap of 4.
TEST(TickConverterTest, RoutesDroppedPastTheCapGiveTheSameChainsAndOneFile) {
  PinCreatedAt(1700000000);
  const std::string header =
      "exchange,symbol,timestamp,local_timestamp,type,strike_price,expiration,open_interest,last_price,bid_price,"
      "bid_amount,bid_iv,ask_price,ask_amount,ask_iv,mark_price,mark_iv,underlying_index,underlying_price,delta,"
      "gamma,vega,theta,rho\n";
  auto chain_row = [](const std::string& sym, int i) {
    const std::string ts = std::to_string(1709251200000000LL + i);
    return "deribit," + sym + "," + ts + "," + ts + ",put,1,1591689600000000,,," + std::to_string(i % 7) +
           ",,,,,,,,SYN,1,,,,,\n";
  };
  std::string chain = header, trades = kTradesHeader;
  for (int i = 0; i < 600; i++) {
    const std::string sym = i % 61 == 60 ? "BTC-FS-26JUN20_PERP"
                                         : (i % 2 ? "ETH-9JUN20-" : "BTC-9JUN20-") + std::to_string(9000 + i % 61) + "-P";
    chain += chain_row(sym, i);
    trades += Trade("deribit", sym, i);
  }
  struct Case {
    std::string data_type, csv;
    bool single;
  };
  for (const Case& c : {Case{"options_chain", chain, false}, Case{"trades", trades, true}}) {
    std::map<std::string, std::string> bytes[2];
    for (int capped = 0; capped < 2; capped++) {
      Scratch s;
      ConvertTarget target;
      if (c.single) {
        target.single_file = s.root() + "/all.parquet";
      } else {
        target.store = s.store();
      }
      ConvertSettings settings;
      settings.tool_version = "test";
      settings.parser.batch_rows = 50;
      if (capped) settings.max_routed_instruments = 4;
      TickConverter conv(HintsFor("deribit", c.data_type, "OPTIONS"), target, settings);
      ASSERT_TRUE(conv.Write(reinterpret_cast<const uint8_t*>(c.csv.data()), c.csv.size()).ok());
      auto outs = conv.Finish();
      ASSERT_TRUE(outs.ok()) << outs.status().message();
      ASSERT_EQ(outs->size(), c.single ? 1u : 3u) << c.data_type;  // BTC, ETH and the combo's
      for (const OutputFile& o : *outs) {
        std::ifstream in(o.name, std::ios::binary);
        bytes[capped][fs::path(o.name).filename().string()] =
            std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
    }
    ASSERT_EQ(bytes[0].size(), bytes[1].size());
    for (const auto& [name, data] : bytes[0]) {
      EXPECT_FALSE(data.empty()) << name;
      EXPECT_TRUE(data == bytes[1][name]) << c.data_type << " " << name;
    }
  }
  // 0d5 and 0.5 are one strike, 300 rows (six batches) apart.
  std::string clash = header + chain_row("XRP_USDC-9JUN20-0d5-C", 0);
  for (int i = 1; i < 300; i++) clash += chain_row("BTC-9JUN20-" + std::to_string(9000 + i % 40) + "-P", i);
  clash += chain_row("XRP_USDC-9JUN20-0.5-C", 300);
  Scratch s;
  ExpectFailedWritingNothing(ConvertCapped(clash, s.store(), 4, 1, "options_chain", 50),
                             "symbols 'XRP_USDC-9JUN20-0d5-C' and 'XRP_USDC-9JUN20-0.5-C' both give instrument key "
                             "DERIBIT:OPTION:XRP-USDC-200609-0.5-CALL",
                             s);
  PinCreatedAt(std::nullopt);
}

// Every tick file names its instrument in an instrument_key column right
// after symbol: the object's key in every row, streamed and spilled outputs
// alike (a grouped file's first instrument streams, the others spill), null
// for rows kept without a key, and one dictionary value per row group.
TEST(TickConverterTest, EveryFileHasItsKeyInAnInstrumentKeyColumn) {
  Scratch s;
  std::string csv = kTradesHeader;
  for (int i = 0; i < 9; i++) {
    csv += Trade("deribit", i % 3 == 0 ? "BTC-9JUN20-9875-P" : i % 3 == 1 ? "BTC-9JUN20-10000-C" : "BTC-FS-26JUN20_PERP", i);
  }
  auto outs = Convert(csv, "deribit", "trades", s.store());
  ASSERT_TRUE(outs.ok()) << outs.status().message();
  ASSERT_EQ(outs->size(), 3u);
  for (const auto& o : *outs) {
    auto r = parquet::FileReader::OpenLocal(o.name);
    ASSERT_TRUE(r.ok()) << r.status().message();
    const auto& md = (*r)->metadata();
    ASSERT_EQ(md.leaves.size(), 9u);
    EXPECT_EQ(md.schema[md.leaves[2].schema_index].name, "instrument_key");  // after exchange, symbol
    auto keys = (*r)->ReadColumn("instrument_key");
    ASSERT_TRUE(keys.ok());
    ASSERT_EQ(keys->num_rows, 3u) << o.name;
    if (o.unkeyed) {
      EXPECT_EQ(keys->defined, (std::vector<uint8_t>{0, 0, 0}));
    } else {
      EXPECT_EQ(keys->strings, std::vector<std::string>(3, o.instrument_key)) << o.name;
      EXPECT_EQ(keys->defined, (std::vector<uint8_t>{1, 1, 1}));
      for (const auto& rg : md.row_groups) {
        const auto& enc = rg.columns[2].encodings;
        EXPECT_NE(std::find(enc.begin(), enc.end(), parquet::Encoding::kRleDictionary), enc.end()) << o.name;
      }
    }
    auto ids = (*r)->ReadColumn("id");  // the columns after it are in place
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(ids->strings.size(), 3u);
  }
  EXPECT_EQ((*outs)[0].instrument_key, "DERIBIT:OPTION:BTC-USD-200609-10000-CALL");
}

// A download's one-instrument object (the fixed object) and the one output
// file (--output FILE.parquet) carry the key too.
TEST(TickConverterTest, FixedObjectAndSingleFileHaveTheInstrumentKeyColumn) {
  std::string csv = kTradesHeader;
  for (int i = 0; i < 4; i++) csv += Trade("binance-futures", "BTCUSDT", i);
  const SourceHints hints = HintsFor("binance-futures", "trades", "BTCUSDT");
  ConvertSettings settings;
  settings.tool_version = "test";
  {
    Scratch s;
    ConvertTarget target;
    target.store = s.store();
    target.fixed_key = "BINANCE-FUTURES:PERPETUAL:BTC-USDT";
    target.fixed_object = "item.parquet";
    TickConverter conv(hints, target, settings);
    ASSERT_TRUE(conv.Write(reinterpret_cast<const uint8_t*>(csv.data()), csv.size()).ok());
    auto outs = conv.Finish();
    ASSERT_TRUE(outs.ok()) << outs.status().message();
    auto r = parquet::FileReader::OpenLocal(s.root() + "/item.parquet");
    ASSERT_TRUE(r.ok());
    auto keys = (*r)->ReadColumn("instrument_key");
    ASSERT_TRUE(keys.ok());
    EXPECT_EQ(keys->strings, std::vector<std::string>(4, "BINANCE-FUTURES:PERPETUAL:BTC-USDT"));
  }
  {
    Scratch s;
    ConvertTarget target;
    target.single_file = s.root() + "/one.parquet";
    TickConverter conv(hints, target, settings);
    ASSERT_TRUE(conv.Write(reinterpret_cast<const uint8_t*>(csv.data()), csv.size()).ok());
    ASSERT_TRUE(conv.Finish().ok());
    auto r = parquet::FileReader::OpenLocal(target.single_file);
    ASSERT_TRUE(r.ok());
    auto keys = (*r)->ReadColumn("instrument_key");
    ASSERT_TRUE(keys.ok());
    EXPECT_EQ(keys->strings, std::vector<std::string>(4, "BINANCE-FUTURES:PERPETUAL:BTC-USDT"));
  }
}

// The errors that fail a whole file for one row name that row's line (the
// first row of its exchange and symbol), as parse errors do: a file of
// millions of rows is otherwise searched by hand.
TEST(TickConverterTest, ErrorsOfOneRowNameItsLine) {
  {
    Scratch s;
    std::string csv = kTradesHeader;
    for (int i = 0; i < 7; i++) csv += Trade("deribit", "BTC-9JUN20-9875-P", i);
    csv += Trade("binance", "BTCUSDT", 7);  // line 9
    auto outs = Convert(csv, "deribit", "trades", s.store());
    ASSERT_FALSE(outs.ok());
    EXPECT_NE(outs.status().message().find(":9: a row of exchange 'binance' (symbol 'BTCUSDT') in a grouped file"),
              std::string::npos)
        << outs.status().message();
    EXPECT_NE(outs.status().message().find("check its name or its source"), std::string::npos);
    EXPECT_TRUE(s.Inside().empty());
  }
  {
    Scratch s;
    std::string csv = kTradesHeader;
    csv += Trade("deribit", "BTC-FS-26JUN20_PERP", 0);
    auto outs = Convert(csv, "deribit", "trades", s.store(), nullptr, "BTC-FS-26JUN20_PERP");
    ASSERT_FALSE(outs.ok());
    EXPECT_NE(outs.status().message().find(":2: cannot derive an instrument key for symbol 'BTC-FS-26JUN20_PERP'"),
              std::string::npos)
        << outs.status().message();
  }
  {
    Scratch s;
    std::string csv = kTradesHeader;
    csv += Trade("deribit", "XRP_USDC-9JUN20-0d5-C", 0);
    csv += Trade("deribit", "BTC-9JUN20-9875-P", 1);
    csv += Trade("deribit", "XRP_USDC-9JUN20-0.5-C", 2);  // line 4: the second symbol of one key
    auto outs = Convert(csv, "deribit", "trades", s.store());
    ASSERT_FALSE(outs.ok());
    EXPECT_NE(outs.status().message().find(":4: symbols 'XRP_USDC-9JUN20-0d5-C' (exchange deribit) and "
                                            "'XRP_USDC-9JUN20-0.5-C' (exchange deribit) both give"),
              std::string::npos)
        << outs.status().message();
    EXPECT_TRUE(s.Inside().empty());
  }
}

// A future, a perpetual and a pair in an options chain file (a damaged or
// mislabelled file) were stored inside the chains of their currencies (a
// chain of its own for the pair), which validate --deep then rejects: kept
// without a key instead, every option of the file written as usual.
TEST(TickConverterTest, RowsOfAnOptionsChainThatAreNotOptionsAreKeptWithoutAKey) {
  Scratch s;
  std::string csv =
      "exchange,symbol,timestamp,local_timestamp,type,strike_price,expiration,open_interest,last_price,bid_price,"
      "bid_amount,bid_iv,ask_price,ask_amount,ask_iv,mark_price,mark_iv,underlying_index,underlying_price,delta,"
      "gamma,vega,theta,rho\n";
  int i = 0;
  for (const char* sym : {"BTC-5JAN24-40000-C", "BTC-PERPETUAL", "BTC-5JAN24", "ETH_USDC", "BTC-5JAN24-40000-C"}) {
    const std::string ts = std::to_string(1704153600000000LL + i++);
    csv += std::string("deribit,") + sym + "," + ts + "," + ts + ",call,40000,1704441600000000,,,,,,,,,,,SYN,1,,,,,\n";
  }
  auto outs = Convert(csv, "deribit", "options_chain", s.store());
  ASSERT_TRUE(outs.ok()) << outs.status().message();
  std::map<std::string, const OutputFile*> by_name;
  for (const auto& o : *outs) by_name[o.name.substr(o.name.rfind('/') + 1)] = &o;
  std::vector<std::string> names;
  for (const auto& [n, o] : by_name) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"DERIBIT:OPTIONS:BTC-USD.parquet", "DERIBIT:UNKEYED:BTC-5JAN24.parquet",
                                             "DERIBIT:UNKEYED:BTC-PERPETUAL.parquet",
                                             "DERIBIT:UNKEYED:ETH_USDC.parquet"}));
  EXPECT_EQ(by_name["DERIBIT:OPTIONS:BTC-USD.parquet"]->rows, 2u);
  const OutputFile* perp = by_name["DERIBIT:UNKEYED:BTC-PERPETUAL.parquet"];
  ASSERT_NE(perp, nullptr);
  EXPECT_TRUE(perp->unkeyed);
  EXPECT_NE(perp->note.find("instrument key DERIBIT:PERPETUAL:BTC-USD is not an option's"), std::string::npos)
      << perp->note;
}

TEST(TickConverterTest, TwoChainSymbolsWithOneOptionKeyFailTheFile) {
  Scratch s;
  std::string csv =
      "exchange,symbol,timestamp,local_timestamp,type,strike_price,expiration,open_interest,last_price,bid_price,"
      "bid_amount,bid_iv,ask_price,ask_amount,ask_iv,mark_price,mark_iv,underlying_index,underlying_price,delta,"
      "gamma,vega,theta,rho\n";
  // 0d5 and 0.5 are one strike: one option key for two symbols.
  for (const char* sym : {"XRP_USDC-9JUN20-0d5-C", "XRP_USDC-9JUN20-0.5-C"}) {
    csv += std::string("deribit,") + sym + ",1709251200000000,1709251200000000,call,0.5,1591689600000000,,,,,,,,,,,SYN,1,,,,,\n";
  }
  auto outs = Convert(csv, "deribit", "options_chain", s.store());
  ASSERT_FALSE(outs.ok());
  EXPECT_NE(outs.status().message().find("symbols 'XRP_USDC-9JUN20-0d5-C' and 'XRP_USDC-9JUN20-0.5-C' both give "
                                          "instrument key DERIBIT:OPTION:XRP-USDC-200609-0.5-CALL"),
            std::string::npos)
      << outs.status().message();
  EXPECT_TRUE(s.Inside().empty());
}

}  // namespace
}  // namespace mt::pipeline

namespace mt::pipeline {
namespace {

// A grouped file of `instruments` options, `rows` trades in turn (row i of
// option i % instruments, trade id i).
std::string RoundRobinTrades(int instruments, int rows) {
  std::string csv = kTradesHeader;
  for (int i = 0; i < rows; i++) csv += Trade("deribit", "BTC-9JUN20-" + std::to_string(9000 + i % instruments) + "-C", i);
  return csv;
}

Result<std::vector<OutputFile>> ConvertGrouped(const std::string& csv, storage::ObjectStore* store,
                                               const std::atomic<bool>* cancel, size_t split_buffer_bytes, int threads) {
  ConvertTarget target;
  target.store = store;
  ConvertSettings settings;
  settings.tool_version = "test";
  settings.cancel = cancel;
  settings.split_buffer_bytes = split_buffer_bytes;
  settings.parser.batch_rows = 1000;
  std::unique_ptr<ThreadPool> pool;
  if (threads > 1) {
    pool = std::make_unique<ThreadPool>(threads - 1);
    settings.writer.pool = pool.get();
  }
  TickConverter conv(HintsFor("deribit", "trades", "OPTIONS"), target, settings);
  MT_RETURN_IF_ERROR(conv.Write(reinterpret_cast<const uint8_t*>(csv.data()), csv.size()));
  MT_ASSIGN_OR_RETURN(OutputList outs, conv.Finish());
  return outs.ToVector();
}

// Rows of many instruments, spilled in many pieces each (a tiny buffer
// budget): every instrument's object is one row group holding its rows in
// the file's order, with one thread and with two.
TEST(TickConverterTest, EachInstrumentOfAGroupedFileIsOneRowGroupOfItsRowsInOrder) {
  for (int threads : {1, 2}) {
    Scratch s;
    std::atomic<bool> cancel{false};
    auto outs = ConvertGrouped(RoundRobinTrades(40, 8000), s.store(), &cancel, 16 << 10, threads);
    ASSERT_TRUE(outs.ok()) << outs.status().message();
    ASSERT_EQ(outs->size(), 40u);
    for (const OutputFile& o : *outs) {
      ASSERT_EQ(o.rows, 200u) << o.name;
      auto r = parquet::FileReader::OpenLocal(o.name);
      ASSERT_TRUE(r.ok()) << r.status().message();
      EXPECT_EQ((*r)->metadata().row_groups.size(), 1u) << o.name;
      auto ids = (*r)->ReadColumn("id");
      ASSERT_TRUE(ids.ok());
      ASSERT_EQ(ids->strings.size(), 200u);
      const int first = std::stoi(ids->strings[0]);
      EXPECT_LT(first, 40);
      for (size_t i = 0; i < ids->strings.size(); i++) {
        EXPECT_EQ(ids->strings[i], std::to_string(first + 40 * static_cast<int>(i))) << o.name;
      }
    }
  }
}

TEST(TickConverterTest, AnInterruptDuringAGroupedFilesAssemblyStopsItAndLeavesNothing) {
  for (int threads : {1, 2}) {
    Scratch s;
    std::atomic<bool> cancel{false};
    testing::CreateWatch store(s.store(), &cancel, 5);
    auto outs = ConvertGrouped(RoundRobinTrades(200, 2000), &store, &cancel, 16 << 10, threads);
    ASSERT_FALSE(outs.ok());
    EXPECT_EQ(outs.status().code(), Status::Code::kCancelled) << outs.status().message();
    EXPECT_NE(outs.status().message().find("OPTIONS"), std::string::npos) << outs.status().message();
    // Stopped between objects: the one in flight per thread finishes, no more start.
    EXPECT_LE(store.creates.load(), 5 + threads) << threads << " threads";
    EXPECT_EQ(s.Inside(), std::vector<std::string>{}) << threads << " threads";  // nothing visible, no temporaries
  }
}

// Past the cap of instruments routed at once, the others go to partitions
// split at the end (and, past it again inside a partition, to partitions of
// the partition): the objects are the same bytes, with the same results, as
// when every instrument is routed at once. Quotes
// with empty (null) fields and trades, 120 options interleaved unevenly;
// one and two threads; caps of 40 (one level of partitions) and 3 (two).
TEST(TickConverterTest, InstrumentsBeyondTheCapGoThroughPartitionsToTheSameObjects) {
  PinCreatedAt(1700000000);
  const std::string quotes_header = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n";
  for (const std::string data_type : {"trades", "quotes"}) {
    std::string csv = data_type == "trades" ? std::string(kTradesHeader) : quotes_header;
    uint64_t seq = 11;
    for (int i = 0; i < 2400; i++) {
      seq = seq * 6364136223846793005ULL + 1442695040888963407ULL;
      const int opt = static_cast<int>((seq >> 33) % 120);
      const std::string sym = "BTC-29MAR24-" + std::to_string(20000 + 500 * (opt % 60)) + (opt < 60 ? "-C" : "-P");
      const std::string ts = std::to_string(1709251200000000LL + i * 1000);
      auto field = [&](int shift, const std::string& v) { return (seq >> shift) % 5 == 0 ? std::string() : v; };
      if (data_type == "trades") {
        csv += Trade("deribit", sym, i);
      } else {
        csv += "deribit," + sym + "," + ts + "," + ts + "," + field(20, std::to_string(i % 17)) + "," +
               field(22, "0.0" + std::to_string(i % 9 + 1)) + "," + field(24, "0.00" + std::to_string(i % 7 + 1)) +
               "," + field(26, std::to_string(i % 13)) + "\n";
      }
    }
    for (int threads : {1, 2}) {
      std::vector<std::string> listed[3], created[3];
      std::map<std::string, std::string> bytes[3];
      const size_t caps[3] = {size_t{1} << 30, 40, 3};
      for (int c = 0; c < 3; c++) {
        Scratch s;
        testing::CreateWatch store(s.store());
        auto outs = ConvertCapped(csv, &store, caps[c], threads, data_type);
        ASSERT_TRUE(outs.ok()) << outs.status().message();
        ASSERT_EQ(outs->size(), 120u) << data_type << " cap " << caps[c];
        uint64_t rows = 0;
        for (const OutputFile& o : *outs) {
          rows += o.rows;
          const std::string name = fs::path(o.name).filename().string();
          listed[c].push_back(name + " " + o.instrument_key + " " + std::to_string(o.rows) + " " +
                              std::to_string(o.bytes) + " " + std::to_string(o.first_local_ts) + " " +
                              std::to_string(o.last_local_ts) + " " + std::to_string(o.min_local_ts) + " " +
                              std::to_string(o.max_local_ts));
          std::ifstream in(o.name, std::ios::binary);
          bytes[c][name] = std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
        EXPECT_EQ(rows, 2400u);
        // On one thread the objects are made in the order their
        // instruments came; capped, the first 40 (or 3) instruments' come
        // first, then the partitions': another order, so the partitions
        // were used.
        if (threads == 1) created[c] = store.names;
        EXPECT_EQ(store.names.size(), 120u);
        EXPECT_TRUE(s.Outside().empty());
      }
      // Listed in order of name without the cap; with it, the first
      // instruments' in order of name, then each partition's.
      EXPECT_TRUE(std::is_sorted(listed[0].begin(), listed[0].end()));
      for (int c = 1; c < 3; c++) {
        if (threads == 1) {
          EXPECT_NE(created[c], created[0]) << data_type << " cap " << caps[c];
        }
        EXPECT_FALSE(std::is_sorted(listed[c].begin(), listed[c].end()));
        std::sort(listed[c].begin(), listed[c].end());
        EXPECT_EQ(listed[c], listed[0]) << data_type << " cap " << caps[c] << ", " << threads << " threads";
        int differ = 0;
        for (const auto& [name, data] : bytes[0]) differ += bytes[c][name] != data;
        EXPECT_EQ(differ, 0) << data_type << " cap " << caps[c] << ", " << threads << " threads";
      }
    }
  }
  PinCreatedAt(std::nullopt);
}

// An instrument beyond the cap with more rows than one row group holds
// (the spill joins an instrument's pieces into row groups of at most
// batch_rows rows, so where they are cut follows the pieces its rows came
// in): its object holds the same rows, values and metadata as when every
// instrument is routed at once, and those of one row group are the same
// bytes.
TEST(TickConverterTest, AnInstrumentOfManyRowGroupsBeyondTheCapKeepsItsRowsInOrder) {
  PinCreatedAt(1700000000);
  std::string csv = kTradesHeader;
  uint64_t seq = 5;
  for (int i = 0; i < 12000; i++) {
    seq = seq * 6364136223846793005ULL + 1442695040888963407ULL;
    // Two options first (routed under a cap of 2), then 30% of the rows for
    // one heavy option and the rest for 60 light ones, all beyond it.
    const int r = static_cast<int>((seq >> 33) % 10);
    const int opt = i < 2 ? i : (r < 3 ? 2 : 3 + static_cast<int>((seq >> 40) % 60));
    csv += Trade("deribit", "BTC-9JUN20-" + std::to_string(9000 + opt) + "-C", i);
  }
  for (int threads : {1, 2}) {
    std::map<std::string, std::string> bytes[2];
    const size_t caps[2] = {size_t{1} << 30, 2};
    for (int c = 0; c < 2; c++) {
      Scratch s;
      auto outs = ConvertCapped(csv, s.store(), caps[c], threads);
      ASSERT_TRUE(outs.ok()) << outs.status().message();
      ASSERT_EQ(outs->size(), 63u);
      for (const OutputFile& o : *outs) {
        std::ifstream in(o.name, std::ios::binary);
        bytes[c][fs::path(o.name).filename().string()] =
            std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
    }
    int heavy = 0;
    for (const auto& [name, data] : bytes[0]) {
      auto a = parquet::FileReader::OpenBuffer(data);
      auto b = parquet::FileReader::OpenBuffer(bytes[1][name]);
      ASSERT_TRUE(a.ok() && b.ok()) << name;
      const auto& ma = (*a)->metadata();
      const auto& mb = (*b)->metadata();
      ASSERT_EQ(ma.num_rows, mb.num_rows) << name;
      EXPECT_EQ(ma.key_value, mb.key_value) << name;
      for (size_t leaf = 0; leaf < ma.leaves.size(); leaf++) {
        auto va = (*a)->ReadColumn(leaf);
        auto vb = (*b)->ReadColumn(leaf);
        ASSERT_TRUE(va.ok() && vb.ok()) << name;
        EXPECT_EQ(va->defined, vb->defined) << name << " column " << leaf;
        EXPECT_EQ(va->ints, vb->ints) << name << " column " << leaf;
        EXPECT_EQ(va->doubles, vb->doubles) << name << " column " << leaf;
        EXPECT_EQ(va->strings, vb->strings) << name << " column " << leaf;
      }
      if (ma.row_groups.size() > 1) {
        heavy++;
      } else {
        EXPECT_TRUE(bytes[1][name] == data) << name << ", " << threads << " threads";
      }
    }
    EXPECT_EQ(heavy, 1);  // the heavy option spans row groups
  }
  PinCreatedAt(std::nullopt);
}

// Two symbols with one key, both beyond the cap: the file fails naming
// both, and says that the objects written before stay.
TEST(TickConverterTest, CollidingSymbolsBeyondTheCapFailTheFileNamingBoth) {
  Scratch s;
  std::string csv = RoundRobinTrades(30, 60);
  csv += Trade("deribit", "XRP_USDC-9JUN20-0d5-C", 100);
  csv += Trade("deribit", "XRP_USDC-9JUN20-0.5-C", 101);
  auto outs = ConvertCapped(csv, s.store(), 10, 1);
  ASSERT_FALSE(outs.ok());
  EXPECT_EQ(outs.status().code(), Status::Code::kInvalidInput);
  const std::string& m = outs.status().message();
  EXPECT_NE(m.find("'XRP_USDC-9JUN20-0d5-C'"), std::string::npos) << m;
  EXPECT_NE(m.find("'XRP_USDC-9JUN20-0.5-C'"), std::string::npos) << m;
  EXPECT_NE(m.find("beyond the first 10"), std::string::npos) << m;
  for (const std::string& name : s.Inside()) EXPECT_EQ(name.find("XRP"), std::string::npos) << name;
  EXPECT_TRUE(s.Outside().empty());
}

// An interrupt while a partition's objects are assembled: the file stops
// (kCancelled, saying that the objects committed before stay), the first
// instruments' objects and those of the partitions done are there, each
// complete, and nothing else is (no temporary, no object of the partition
// in flight).
TEST(TickConverterTest, AnInterruptDuringAPartitionKeepsTheObjectsCommittedBeforeEachComplete) {
  for (int threads : {1, 2}) {
    Scratch s;
    std::atomic<bool> cancel{false};
    // The 35th object is in the third partition (10 first, 18 in the two before).
    testing::CreateWatch store(s.store(), &cancel, 35);
    ConvertTarget target;
    target.store = &store;
    ConvertSettings settings;
    settings.tool_version = "test";
    settings.cancel = &cancel;
    settings.parser.batch_rows = 700;
    settings.max_routed_instruments = 10;
    std::unique_ptr<ThreadPool> pool;
    if (threads > 1) {
      pool = std::make_unique<ThreadPool>(threads - 1);
      settings.writer.pool = pool.get();
    }
    const std::string csv = RoundRobinTrades(200, 2000);
    TickConverter conv(HintsFor("deribit", "trades", "OPTIONS"), target, settings);
    ASSERT_TRUE(conv.Write(reinterpret_cast<const uint8_t*>(csv.data()), csv.size()).ok());
    auto outs = conv.Finish();
    ASSERT_FALSE(outs.ok());
    EXPECT_EQ(outs.status().code(), Status::Code::kCancelled) << outs.status().message();
    EXPECT_NE(outs.status().message().find("those committed before stay"), std::string::npos)
        << outs.status().message();
    const std::vector<std::string> inside = s.Inside();
    EXPECT_EQ(inside.size(), 28u) << threads << " threads";
    for (const std::string& name : inside) {
      ASSERT_EQ(fs::path(name).extension(), ".parquet") << name;
      auto r = parquet::FileReader::OpenLocal(s.root() + "/" + name);
      ASSERT_TRUE(r.ok()) << name << ": " << r.status().message();
      EXPECT_EQ((*r)->metadata().num_rows, 10) << name;  // each option's 2000 / 200 rows
    }
  }
}

// ConvertSettings::on_written comes once: in a store that batches commits,
// when every object is written but none is in place yet (the sync and the
// renames follow, holding no conversion memory: the downloader's grouped
// slot goes there); past the cap, once the partitions are committed too.
TEST(TickConverterTest, OnWrittenComesOnceBeforeTheObjectsAreInPlace) {
  const std::string csv = RoundRobinTrades(200, 2000);
  for (const size_t cap : {ConvertSettings().max_routed_instruments, size_t{10}}) {
    Scratch s;
    ConvertTarget target;
    target.store = s.store();
    ConvertSettings settings;
    settings.tool_version = "test";
    settings.parser.batch_rows = 700;
    settings.max_routed_instruments = cap;
    int calls = 0;
    size_t in_place = 0, sealed = 0;
    settings.on_written = [&] {
      calls++;
      for (const std::string& name : s.Inside()) {
        in_place += fs::path(name).extension() == ".parquet";
        sealed += name.find("-sealed-") != std::string::npos;
      }
    };
    TickConverter conv(HintsFor("deribit", "trades", "OPTIONS"), target, settings);
    ASSERT_TRUE(conv.Write(reinterpret_cast<const uint8_t*>(csv.data()), csv.size()).ok());
    auto outs = conv.Finish();
    ASSERT_TRUE(outs.ok()) << outs.status().message();
    EXPECT_EQ(outs->size(), 200u);
    EXPECT_EQ(calls, 1) << "cap " << cap;
    if (cap == 10) {
      EXPECT_EQ(in_place, 200u) << "past the cap: after the partitions' commits";
    } else {
      EXPECT_EQ(in_place, 0u) << "no object in place yet";
      EXPECT_EQ(sealed, 200u) << "every object written and sealed";
    }
    EXPECT_EQ(s.Inside().size(), 200u);
  }
}

// Create-only (--no-force) over a store that has every object: the
// partitions' objects are kept as they are and not listed, as the first
// instruments' are.
TEST(TickConverterTest, CreateOnlyPastTheCapKeepsEveryExistingObject) {
  Scratch s;
  const std::string csv = RoundRobinTrades(200, 2000);
  PinCreatedAt(1700000000);
  auto first = ConvertCapped(csv, s.store(), 10, 2);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_EQ(first->size(), 200u);
  std::map<std::string, std::string> bytes;
  for (const std::string& name : s.Inside()) {
    std::ifstream in(s.root() + "/" + name, std::ios::binary);
    bytes[name] = std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  PinCreatedAt(1800000000);  // a rewrite would change created_at
  auto again = ConvertCapped(csv, s.store(), 10, 1, "trades", 700, false);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->size(), 0u);
  const std::vector<std::string> inside = s.Inside();
  ASSERT_EQ(inside.size(), bytes.size());
  for (const std::string& name : inside) {
    std::ifstream in(s.root() + "/" + name, std::ios::binary);
    EXPECT_TRUE(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()) == bytes[name])
        << name;
  }
  PinCreatedAt(std::nullopt);
}

// A list of objects that needs its temporary file where TMPDIR cannot hold
// one (a directory that does not exist): a configuration error (kUsage, a
// rerun cannot fix it) naming the file, TMPDIR and what to do, found before
// any object is committed, so a local store gets none of them. The objects'
// names are long (a store rooted 3,500 bytes deep) so 1,500 of them pass the
// list's 4 MB in memory.
TEST(TickConverterTest, AListOfObjectsThatTmpdirCannotHoldFailsTheFileBeforeAnyCommit) {
  Scratch s;
  std::string root = s.root();
  for (int i = 0; i < 17; i++) root += "/" + std::string(200, static_cast<char>('a' + i));
  fs::create_directories(root);
  auto store = storage::NewLocalStore(root);
  testing::ScopedTmpdir tmpdir(s.root() + "/no-such-dir");
  auto outs = ConvertCapped(RoundRobinTrades(1500, 1500), store.get(), size_t{1} << 30, 2);
  // Past the cap the list always takes its file (it lists more than the
  // cap's objects), made before the first instruments' objects are committed.
  auto capped = ConvertCapped(RoundRobinTrades(200, 2000), s.store(), 10, 2);
  tmpdir.Restore();
  ASSERT_FALSE(outs.ok());
  EXPECT_EQ(outs.status().code(), Status::Code::kUsage) << outs.status().ToString();
  const std::string& m = outs.status().message();
  EXPECT_NE(m.find("deribit_trades_2024-03-01_OPTIONS.csv"), std::string::npos) << m;
  EXPECT_NE(m.find("no-such-dir"), std::string::npos) << m;
  EXPECT_NE(m.find("set TMPDIR"), std::string::npos) << m;
  ASSERT_FALSE(capped.ok());
  EXPECT_EQ(capped.status().code(), Status::Code::kUsage) << capped.status().ToString();
  size_t objects = 0;
  for (const auto& e : fs::recursive_directory_iterator(s.root())) objects += e.path().extension() == ".parquet";
  EXPECT_EQ(objects, 0u);
}

// Derived series computed on their own thread, fed as the rows are parsed
// (on the caller's thread, or joined from blocks parsed on a pool), are the
// bytes computed on the caller's thread from whole batches; so are the raw
// objects. Small parse blocks and batches, so rows arrive in many pieces.
TEST(TickConverterTest, DerivedSeriesOnTheirOwnThreadAreTheSameBytes) {
  // created_at pinned (as SOURCE_DATE_EPOCH pins it): the objects compare byte for byte.
  PinCreatedAt(0);
  struct Unpin {
    ~Unpin() { PinCreatedAt(std::nullopt); }
  } unpin;
  std::string book = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n";
  std::string trades = kTradesHeader;
  for (int i = 0; i < 60000; i++) {
    const bool snap = i < 30;
    const std::string ts = std::to_string(1709251200000000LL + (snap ? 0 : i / 4) * 3000);
    const bool bid = i % 2 == 1;
    const int level = (i * 7) % 41;
    book += "deribit,BTC-PERPETUAL," + ts + "," + ts + "," + (snap ? "true" : "false") + "," + (bid ? "bid" : "ask") +
            "," + std::to_string(bid ? 60000 - level : 60001 + level) + "," + (i % 13 == 0 ? "0" : std::to_string(1 + i % 5)) +
            "\n";
    trades += "deribit,BTC-PERPETUAL," + ts + "," + ts + "," + std::to_string(i) + "," + (i % 3 ? "buy" : "sell") + "," +
              std::to_string(60000 + i % 17) + "," + std::to_string(1 + i % 4) + "\n";
  }
  auto run = [&](const std::string& csv, const std::string& data_type, const std::string& specs, bool threaded,
                 ThreadPool* pool) {
    Scratch s;
    SourceHints hints = HintsFor("deribit", data_type, "BTC-PERPETUAL");
    ConvertTarget target;
    target.store = s.store();
    ConvertSettings settings;
    settings.tool_version = "test";
    settings.parser.batch_rows = 25000;
    settings.parser.block_bytes = 64 << 10;
    settings.writer.pool = pool;
    settings.parallel_parse = pool != nullptr;
    settings.observer_threads = threaded;
    derive::EngineOptions eo = DeriveEngineOptions(*derive::ParseDerivedList(specs), s.store(), true, hints, settings);
    eo.key = [](const Date&, const std::string&, const std::string&) -> Result<std::string> {
      return std::string("DERIBIT:PERPETUAL:BTC-USD");
    };
    derive::DeriveEngine engine(std::move(eo));
    target.observers.push_back(&engine);
    std::map<std::string, std::string> files;
    {
      TickConverter conv(hints, target, settings);
      for (size_t at = 0; at < csv.size(); at += 100000) {  // as reads hand it over
        const size_t n = std::min<size_t>(100000, csv.size() - at);
        EXPECT_TRUE(conv.Write(reinterpret_cast<const uint8_t*>(csv.data() + at), n).ok());
      }
      auto out = conv.Finish();
      EXPECT_TRUE(out.ok()) << out.status().ToString();
    }
    EXPECT_EQ(engine.outputs().size(), 2u);
    for (const std::string& name : s.Inside()) {
      std::ifstream in(fs::path(s.root()) / name, std::ios::binary);
      files[name] = std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return files;
  };
  ThreadPool pool(1);
  for (const auto& [csv, type, specs] : {std::tuple{book, "incremental_book_L2", "book_snapshot_5_0ms,book_snapshot_3_grouped2_100ms"},
                                         std::tuple{trades, "trades", "trade_bar_1s,trade_bar_100ticks"}}) {
    const auto inline_files = run(csv, type, specs, false, nullptr);
    ASSERT_EQ(inline_files.size(), 3u) << type;  // the raw object and two series
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
      const auto threaded_files = run(csv, type, specs, true, p);
      ASSERT_EQ(threaded_files.size(), inline_files.size()) << type;
      for (const auto& [name, bytes] : inline_files) {
        ASSERT_TRUE(threaded_files.count(name)) << name;
        EXPECT_TRUE(threaded_files.at(name) == bytes) << name << (p ? " (pool)" : " (no pool)") << " differs";
      }
    }
  }
}

}  // namespace
}  // namespace mt::pipeline
