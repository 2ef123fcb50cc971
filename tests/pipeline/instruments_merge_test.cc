// Instruments files that add up across runs: reading a file back, deciding
// which exchanges a run rewrites, and merging its rows with the stored ones.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <nlohmann/json.hpp>

#include "pipeline/instruments_file.h"
#include "pipeline/instruments_merge.h"
#include "support/instrument_definitions.h"
#include "support/temp_dir.h"

namespace mt::pipeline {
namespace {

namespace fs = std::filesystem;

InstrumentDefinition Def(const std::string& exchange, const std::string& key, const std::string& symbol) {
  InstrumentDefinition d = mt::testing::Definition(key, exchange, symbol, "trades", "PERPETUAL");
  d.available_from_us = 1'700'000'000'000'000;
  d.base_asset = "BTC";
  d.quote_asset = "USD";
  d.symbol_type = "perpetual";
  return d;
}

Date D(const char* s) { return *ParseDate(s); }

TEST(InstrumentsFile, ReadBackGivesEveryColumnAndNull) {
  const fs::path dir = fs::temp_directory_path() / ("mt-instr-read-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto store = storage::NewLocalStore(dir.string());
  InstrumentDefinition full = Def("deribit", "DERIBIT:OPTION:BTC-USD-250425-200000-PUT", "BTC-25APR25-200000-P");
  full.available_to_us = 1'745'568'000'000'000;
  full.settle_asset = "BTC";
  full.inverse = true;
  full.contract_type = "inverse_option";
  full.strike = 200000.5;
  full.option_type = "PUT";
  full.expiry_us = 1'745'568'000'000'000;
  full.contract_size = 1;
  full.tick_size = 0.0005;
  full.settlement_type = "cash";
  full.underlying = "BTC-USD";
  full.min_size = 0.1;
  full.ccxt_symbol = "BTC/USD:BTC-250425-200000-P";
  full.ccxt_exchange = "deribit";
  InstrumentDefinition bare = Def("binance", "BINANCE:SPOT_PAIR:USDT-TRY", "USDTTRY");
  bare.inverse = false;
  parquet::WriterOptions wopts;
  ASSERT_TRUE(WriteInstrumentsFile(store.get(), "f.parquet", std::vector<InstrumentDefinition>{full, bare},
                                   {{"exchanges", "binance,deribit"}}, wopts, false)
                  .ok());
  auto file = parquet::FileReader::Open(store.get(), "f.parquet");
  ASSERT_TRUE(file.ok());
  auto got = ReadInstrumentsFile(**file);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_EQ(got->definitions.size(), 2u);
  const InstrumentDefinition& a = got->definitions[0];
  EXPECT_EQ(a.instrument_key, full.instrument_key);
  EXPECT_EQ(a.available_to_us, full.available_to_us);
  EXPECT_EQ(a.settle_asset, full.settle_asset);
  EXPECT_EQ(a.inverse, full.inverse);
  EXPECT_EQ(a.strike, full.strike);
  EXPECT_EQ(a.expiry_us, full.expiry_us);
  EXPECT_EQ(a.tick_size, full.tick_size);
  EXPECT_EQ(a.underlying, full.underlying);
  EXPECT_EQ(a.min_size, full.min_size);
  EXPECT_EQ(a.ccxt_symbol, full.ccxt_symbol);
  EXPECT_EQ(a.ccxt_exchange, full.ccxt_exchange);
  const InstrumentDefinition& b = got->definitions[1];
  EXPECT_EQ(b.tardis_exchange, "binance");
  EXPECT_EQ(b.inverse, std::optional<bool>(false));
  EXPECT_FALSE(b.available_to_us || b.settle_asset || b.strike || b.expiry_us || b.tick_size || b.ccxt_symbol);
  EXPECT_EQ(got->Kv("exchanges"), "binance,deribit");
  fs::remove_all(dir);
}

TEST(InstrumentsMerge, ExchangesToWriteAddsMissingAndProvisionalOnes) {
  InstrumentsFileState st;
  st.exists = true;
  st.exchanges = {"deribit", "binance"};
  st.provisional = {"binance"};
  EXPECT_EQ(ExchangesToWrite(st, {"deribit"}, false, true), std::vector<std::string>{});
  EXPECT_EQ(ExchangesToWrite(st, {"deribit", "okex"}, false, true), std::vector<std::string>{"okex"});
  EXPECT_EQ(ExchangesToWrite(st, {"binance"}, false, true), std::vector<std::string>{"binance"});
  EXPECT_EQ(ExchangesToWrite(st, {"deribit"}, true, true), std::vector<std::string>{"deribit"});
  EXPECT_EQ(ExchangesToWrite(InstrumentsFileState{}, {"deribit"}, false, true), std::vector<std::string>{"deribit"});
}

// An exchange written by a run without a key that rejected some of its
// symbols is rewritten by the next run with a key (no --force), and left
// alone by runs without one (nothing they could add). The record goes
// through the file's exchange_sources.
TEST(InstrumentsMerge, ExchangesWrittenWithoutAKeyAreRewrittenByARunWithOne) {
  ExchangeSource dydx;
  dydx.exchange = "dydx";
  dydx.needs_key = true;
  ExchangeSource deribit;
  deribit.exchange = "deribit";
  MergeInput in;
  in.first = in.last = D("2024-03-05");
  in.sources = {dydx, deribit};
  in.replaced = {"dydx", "deribit"};
  const MergedInstruments merged = MergeInstruments(in, [](const DefinitionFn&) {});
  const InstrumentsFileState st = StateOf(merged.kv);
  EXPECT_EQ(st.needs_key, std::set<std::string>{"dydx"});
  EXPECT_TRUE(st.provisional.empty());
  EXPECT_EQ(ExchangesToWrite(st, {"dydx", "deribit"}, false, false), std::vector<std::string>{});
  EXPECT_EQ(ExchangesToWrite(st, {"dydx", "deribit"}, false, true), std::vector<std::string>{"dydx"});
}

TEST(InstrumentsMerge, ExportedThroughNeedsTheWholeLastDay) {
  const int64_t until = MicrosFromDate(D("2026-08-22"));  // exclusive: 08-21 is the last exported day
  EXPECT_TRUE(ExportedThrough(until, D("2026-08-21")));
  EXPECT_FALSE(ExportedThrough(until, D("2026-08-22")));
  EXPECT_FALSE(ExportedThrough(until - 1, D("2026-08-21")));
  EXPECT_TRUE(ExportedThrough(std::nullopt, D("2030-01-01")));
}

// The merged rows, written and read back as a file would be.
std::vector<InstrumentDefinition> RowsOf(MergedInstruments m) {
  const fs::path dir = fs::temp_directory_path() / ("mt-instr-merge-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto store = storage::NewLocalStore(dir.string());
  auto obj = store->Create("m.parquet", false);
  EXPECT_TRUE(obj.ok());
  EXPECT_TRUE(WriteInstrumentsObject(obj->get(), "m", std::move(m.rows), m.kv, parquet::WriterOptions{}).ok());
  auto file = parquet::FileReader::Open(store.get(), "m.parquet");
  EXPECT_TRUE(file.ok());
  auto got = ReadInstrumentsFile(**file);
  EXPECT_TRUE(got.ok());
  fs::remove_all(dir);
  return got->definitions;
}

AddedRows Rows(const std::vector<InstrumentDefinition>& defs) {
  return [&defs](const DefinitionFn& fn) {
    for (const auto& d : defs) fn(d);
  };
}

TEST(InstrumentsMerge, KeepsOtherExchangesAndReplacesTheRequestedOnes) {
  // The stored file: deribit (provisional) and binance, both with grouped symbols.
  InstrumentsFileContents stored;
  stored.definitions = {Def("binance", "BINANCE:SPOT_PAIR:BTC-USDT", "BTCUSDT"),
                        Def("deribit", "DERIBIT:PERPETUAL:BTC-USD", "BTC-PERPETUAL"),
                        Def("deribit", "DERIBIT:PERPETUAL:ETH-USD", "ETH-PERPETUAL"),
                        Def("binance", "BINANCE:SPOT_PAIR:ZEC-USDT", "ZECUSDT")};  // out of order: still merged right
  ExchangeSource b{"binance", "http://t/v1/exchanges/binance", 100, "2026-01-01T00:00:00Z", "", std::nullopt, true};
  ExchangeSource d{"deribit", "http://t/v1/exchanges/deribit", 200, "2026-01-01T00:00:00Z", "", std::nullopt, false};
  MergeInput first;
  first.replaced = {"binance", "deribit"};
  first.sources = {b, d};
  first.grouped_json = R"([{"exchange":"deribit","symbol":"OPTIONS"},{"exchange":"binance","symbol":"SPOT"}])";
  first.first = first.last = D("2026-08-22");
  const std::vector<InstrumentDefinition> first_rows = {stored.definitions[0], stored.definitions[3],
                                                        stored.definitions[1], stored.definitions[2]};  // key order
  const MergedInstruments m1 = MergeInstruments(first, Rows(first_rows));
  stored.kv = m1.kv;
  EXPECT_EQ(stored.Kv("exchanges"), "binance,deribit");
  EXPECT_EQ(stored.Kv("provisional_exchanges"), "deribit");
  EXPECT_EQ(stored.Kv("source_bytes"), "300");
  EXPECT_EQ(stored.Kv("row_count"), "4");

  // A later run rewrites deribit (now final) and adds okex, which has no
  // instrument that day; binance stays as it was.
  MergeInput in;
  in.existing = &stored;
  in.replaced = {"deribit", "okex"};
  std::vector<InstrumentDefinition> added = {Def("binance", "BINANCE:SPOT_PAIR:AAA-USDT", "AAAUSDT"),  // not replaced: ignored
                                             Def("deribit", "DERIBIT:PERPETUAL:BTC-USD", "BTC-PERPETUAL")};
  added[1].tick_size = 0.5;
  ExchangeSource d2 = d;
  d2.final = true;
  d2.source_bytes = 250;
  in.sources = {d2, ExchangeSource{"okex", "http://t/v1/exchanges/okex", 7, "", "", std::nullopt, true}};
  in.grouped_json = R"([{"exchange":"deribit","symbol":"FUTURES"}])";
  in.first = in.last = D("2026-08-22");
  in.created_at = "2026-08-23T00:00:00Z";
  in.tool_version = "t";
  MergedInstruments m = MergeInstruments(in, Rows(added));
  EXPECT_EQ(m.exchanges, (std::vector<std::string>{"binance", "deribit", "okex"}));
  EXPECT_TRUE(m.provisional.empty());
  InstrumentsFileContents out;
  out.kv = m.kv;
  EXPECT_EQ(out.Kv("exchanges"), "binance,deribit,okex");
  EXPECT_EQ(out.Kv("provisional_exchanges"), "");
  EXPECT_EQ(out.Kv("row_count"), "3");
  EXPECT_EQ(out.Kv("source_bytes"), "357");
  EXPECT_EQ(out.Kv("source"),
            "http://t/v1/exchanges/binance http://t/v1/exchanges/deribit http://t/v1/exchanges/okex");
  const auto grouped = nlohmann::json::parse(out.Kv("grouped_symbols"));
  ASSERT_EQ(grouped.size(), 2u);
  EXPECT_EQ(grouped[0]["symbol"], "SPOT");
  EXPECT_EQ(grouped[1]["symbol"], "FUTURES");  // deribit's OPTIONS entry was replaced
  const InstrumentsFileState st = StateOf(m.kv);
  EXPECT_FALSE(st.legacy);
  EXPECT_EQ(st.exchanges, (std::set<std::string>{"binance", "deribit", "okex"}));
  ASSERT_EQ(st.sources.size(), 3u);
  EXPECT_EQ(st.sources[0].created_at, "2026-01-01T00:00:00Z");  // binance's entry kept as it was
  const std::vector<InstrumentDefinition> rows = RowsOf(std::move(m));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].instrument_key, "BINANCE:SPOT_PAIR:BTC-USDT");
  EXPECT_EQ(rows[1].instrument_key, "BINANCE:SPOT_PAIR:ZEC-USDT");
  EXPECT_EQ(rows[2].instrument_key, "DERIBIT:PERPETUAL:BTC-USD");
  EXPECT_EQ(rows[2].tick_size, std::optional<double>(0.5));  // the new row, not the stored one
}

TEST(InstrumentsMerge, LegacyFileSourcesAreAttributedByUrl) {
  const std::vector<std::pair<std::string, std::string>> kv = {
      {"source",
       "http://t/v1/exchanges/okex-swap http://t/v1/exchanges/okex http://t/v1/instruments/okex?filter=x "
       "http://t/v1/instruments/okex-swap"},
      {"source_bytes", "999"},
      {"exchanges", "okex,okex-swap"},
      {"created_at", "2025-01-01T00:00:00Z"}};
  const InstrumentsFileState st = StateOf(kv);
  EXPECT_TRUE(st.legacy);
  EXPECT_TRUE(st.provisional.empty());
  ASSERT_EQ(st.sources.size(), 2u);
  EXPECT_EQ(st.sources[0].exchange, "okex");
  EXPECT_EQ(st.sources[0].source, "http://t/v1/exchanges/okex http://t/v1/instruments/okex?filter=x");
  EXPECT_EQ(st.sources[1].source, "http://t/v1/exchanges/okex-swap http://t/v1/instruments/okex-swap");
  EXPECT_EQ(st.sources[1].source_bytes, 0u);  // not known per exchange
}

}  // namespace
}  // namespace mt::pipeline

namespace mt::pipeline {
namespace {

// A file written before columns 29-39 (price_currency ... alias_for) existed:
// its 28 columns are read with the added ones null, merged with this run's
// rows, and written back with every column.
TEST(InstrumentsFile, FileWithoutTheAddedColumnsReadsAndMerges) {
  const fs::path dir = fs::temp_directory_path() / ("mt-instr-old-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto store = storage::NewLocalStore(dir.string());
  InstrumentDefinition old_row = Def("binance", "BINANCE:SPOT_PAIR:BTC-USDT", "BTCUSDT");
  old_row.tick_size = 0.01;
  columnar::RowGroupData rg = InstrumentRowGroup({old_row});
  std::vector<columnar::ColumnSpec> old_cols(InstrumentColumns().begin(), InstrumentColumns().begin() + 28);
  rg.columns.resize(28);
  {
    auto obj = store->Create("old.parquet", false);
    ASSERT_TRUE(obj.ok());
    parquet::FileWriter w(obj->get(), old_cols, parquet::WriterOptions{});
    ASSERT_TRUE(w.WriteRowGroup(std::move(rg)).ok());
    ASSERT_TRUE(w.Finish({{"exchanges", "binance"}}).ok());
    ASSERT_TRUE((*obj)->Commit().ok());
  }
  auto file = parquet::FileReader::Open(store.get(), "old.parquet");
  ASSERT_TRUE(file.ok());
  ASSERT_EQ((*file)->metadata().leaves.size(), 28u);
  auto read = ReadInstrumentsFile(**file);
  ASSERT_TRUE(read.ok()) << read.status().message();
  ASSERT_EQ(read->definitions.size(), 1u);
  EXPECT_EQ(read->definitions[0].tick_size.value_or(0), 0.01);
  EXPECT_FALSE(read->definitions[0].price_currency.has_value());
  EXPECT_FALSE(read->definitions[0].active.has_value());

  InstrumentDefinition added = Def("deribit", "DERIBIT:PERPETUAL:BTC-USD", "BTC-PERPETUAL");
  added.amount_unit = "quote";
  added.price_currency = "USD";
  added.listing_us = 1'553'904'000'000'000;
  MergeInput in;
  in.existing = &*read;
  in.replaced = {"deribit"};
  in.sources = {ExchangeSource{"deribit", "http://t/v1/exchanges/deribit", 1, "", "", std::nullopt, true}};
  in.first = in.last = D("2026-08-22");
  MergedInstruments m = MergeInstruments(in, [&](const DefinitionFn& fn) { fn(added); });
  ASSERT_TRUE(WriteInstrumentsFile(store.get(), "merged.parquet", std::move(m.rows), m.kv, parquet::WriterOptions{},
                                   false)
                  .ok());
  auto merged_file = parquet::FileReader::Open(store.get(), "merged.parquet");
  ASSERT_TRUE(merged_file.ok());
  auto merged = ReadInstrumentsFile(**merged_file);
  ASSERT_TRUE(merged.ok());
  ASSERT_EQ(merged->definitions.size(), 2u);
  EXPECT_EQ(merged->definitions[0].instrument_key, "BINANCE:SPOT_PAIR:BTC-USDT");
  EXPECT_EQ(merged->definitions[0].tick_size.value_or(0), 0.01);
  EXPECT_FALSE(merged->definitions[0].amount_unit.has_value());
  EXPECT_EQ(merged->definitions[1].amount_unit.value_or("-"), "quote");
  EXPECT_EQ(merged->definitions[1].price_currency.value_or("-"), "USD");
  EXPECT_EQ(merged->definitions[1].listing_us.value_or(0), 1'553'904'000'000'000);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mt::pipeline

namespace mt::pipeline {
namespace {

class BytesSink final : public storage::WritableObject {
 public:
  Status Append(std::string_view d) override {
    bytes.append(d);
    return Status::OK();
  }
  Status Commit() override { return Status::OK(); }
  void Abort() override { aborted = true; }
  uint64_t bytes_written() const override { return bytes.size(); }
  std::string bytes;
  bool aborted = false;
};

// Rows of three exchanges with every kind of column set or null, in no
// key order (a stored file may hold any): row i of exchange e.
InstrumentDefinition VariedRow(const std::string& ex, int i) {
  const std::string n = std::to_string(10000 + i);
  InstrumentDefinition d = Def(ex,
                               (ex == "okex"      ? "OKX"
                                : ex == "deribit" ? "DERIBIT"
                                                  : "BINANCE") +
                                   std::string(":OPTION:BTC-USD-240329-") + n + (i % 2 ? "-CALL" : "-PUT"),
                               "BTC-29MAR24-" + n + (i % 2 ? "-C" : "-P"));
  if (i % 3) d.available_to_us = 1'711'699'200'000'000 + i;
  if (i % 4) d.settle_asset = "BTC";
  if (i % 5) d.inverse = (i % 2 == 0);
  if (i % 7) d.strike = 10000 + i + 0.5;
  if (i % 2) d.option_type = "CALL";
  if (i % 6) d.ccxt_symbol = "BTC/USD:BTC-240329-" + n;
  if (i % 9) d.price_currency = i % 18 ? "BTC" : "USD";
  if (i % 11) d.listing_us = 1'700'000'000'000'000 + i;
  if (i % 13 == 0) d.alias_for = "x" + n;
  d.data_types = i % 10 ? "trades" : "book_snapshot_25,trades";
  return d;
}

// The bytes WriteInstrumentsObject writes for MergeInstruments of what
// ReadInstrumentsFile reads from `file`, and those the column-at-a-time
// merge writes: both are what a merge into the stored file commits.
std::pair<std::string, std::string> BothMerges(const std::string& file, const MergeInput& base,
                                               const std::vector<InstrumentDefinition>& added) {
  auto f1 = parquet::FileReader::OpenBuffer(file, "stored");
  EXPECT_TRUE(f1.ok());
  auto contents = ReadInstrumentsFile(**f1);
  EXPECT_TRUE(contents.ok()) << contents.status().message();
  MergeInput in = base;
  in.existing = &*contents;
  MergedInstruments m = MergeInstruments(in, Rows(added));
  BytesSink want;
  EXPECT_TRUE(WriteInstrumentsObject(&want, "want", std::move(m.rows), m.kv, parquet::WriterOptions{}).ok());

  auto f2 = parquet::FileReader::OpenBuffer(file, "stored");
  EXPECT_TRUE(f2.ok());
  auto stored = StoredInstruments::Open(f2->get());
  EXPECT_TRUE(stored.ok()) << stored.status().message();
  in.existing = nullptr;
  auto plan = StoredMerge::Plan(in, &*stored, Rows(added));
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  BytesSink got;
  const auto fill = [&](size_t c, columnar::ColumnData* col) { return plan->FillColumn(c, col); };
  EXPECT_TRUE(
      WriteInstrumentsObjectByColumn(&got, "got", plan->num_rows(), fill, plan->merged().kv, parquet::WriterOptions{})
          .ok());
  EXPECT_FALSE(plan->read_error().has_value());
  return {want.bytes, got.bytes};
}

// A stored file of two row groups (3,000 rows of three exchanges, out of key
// order, nulls in every nullable column) merged a column at a time: the
// bytes of the merge of its rows read back whole, whether this run
// replaces one exchange, adds one, or replaces them all; likewise a file
// written before columns 29-39 existed.
TEST(InstrumentsMerge, ColumnAtATimeMergeWritesTheBytesOfTheWholeFileMerge) {
  const std::vector<std::string> exchanges = {"deribit", "binance", "okex"};
  std::vector<InstrumentDefinition> stored_rows;
  for (int i = 0; i < 3000; i++) stored_rows.push_back(VariedRow(exchanges[(i * 7) % 3], (i * 7919) % 3000));
  for (size_t columns : {InstrumentColumns().size(), size_t{28}}) {
    SCOPED_TRACE(columns);
    std::vector<columnar::ColumnSpec> specs(InstrumentColumns().begin(), InstrumentColumns().begin() + columns);
    BytesSink stored;
    {
      parquet::FileWriter w(&stored, specs, parquet::WriterOptions{});
      for (size_t half : {size_t{0}, size_t{1}}) {
        columnar::RowGroupData rg = InstrumentRowGroup(std::vector<InstrumentDefinition>(
            stored_rows.begin() + half * 1500, stored_rows.begin() + (half + 1) * 1500));
        rg.columns.resize(columns);
        ASSERT_TRUE(w.WriteRowGroup(std::move(rg)).ok());
      }
      MergeInput first;
      first.replaced = {"binance", "deribit", "okex"};
      first.grouped_json = R"([{"exchange":"deribit","symbol":"OPTIONS"}])";
      first.first = first.last = D("2024-01-02");
      ASSERT_TRUE(w.Finish(MergeInstruments(first, Rows({})).kv).ok());
    }
    // This run's rows, in key order: keys among the stored ones, keys of
    // the rows they replace, and (bybit) keys of kept rows of another
    // exchange, placed as the whole-file merge places them.
    for (const std::set<std::string>& replaced : {std::set<std::string>{"deribit"}, std::set<std::string>{"bybit"},
                                                  std::set<std::string>{"binance", "deribit", "okex"}}) {
      std::vector<InstrumentDefinition> added;
      for (int i = 0; i < 3000; i += 3) {
        for (const auto& ex : replaced) {
          InstrumentDefinition d = VariedRow(ex, i + (ex == "bybit" ? 1 : 0));
          if (ex == "bybit") d.instrument_key = "DERIBIT" + d.instrument_key.substr(d.instrument_key.find(':'));
          added.push_back(d);
        }
      }
      std::stable_sort(added.begin(), added.end(),
                       [](const auto& a, const auto& b) { return a.instrument_key < b.instrument_key; });
      MergeInput in;
      in.replaced = replaced;
      for (const auto& ex : replaced)
        in.sources.push_back(ExchangeSource{ex, "http://t/v1/exchanges/" + ex, 5, "", "", std::nullopt, true});
      in.grouped_json = R"([{"exchange":"bybit","symbol":"SPOT"}])";
      in.first = in.last = D("2024-01-02");
      in.created_at = "2024-01-03T00:00:00Z";
      in.tool_version = "t";
      const auto [want, got] = BothMerges(stored.bytes, in, added);
      ASSERT_GT(want.size(), 1000u);
      EXPECT_TRUE(want == got) << "replaced " << *replaced.begin() << ": " << want.size() << " vs " << got.size()
                               << " bytes";
    }
  }
}

// This run's rows alone held column by column in a temporary file (more
// rows than fit in memory's share, over several blocks, every nullable
// column set and null): the bytes of the rows held whole; also where no
// temporary file can be made (held in memory, and said so).
TEST(InstrumentsMerge, SpilledRowsWriteTheBytesOfTheRowsHeldWhole) {
  std::vector<InstrumentDefinition> added;
  for (int i = 0; i < 30000; i++) added.push_back(VariedRow(i % 3 ? "deribit" : "okex", i));
  std::stable_sort(added.begin(), added.end(),
                   [](const auto& a, const auto& b) { return a.instrument_key < b.instrument_key; });
  MergeInput in;
  in.replaced = {"deribit"};  // the okex rows are not this run's
  in.sources.push_back(ExchangeSource{"deribit", "http://t/v1/exchanges/deribit", 5, "", "", std::nullopt, true});
  in.first = in.last = D("2024-01-02");
  in.created_at = "2024-01-03T00:00:00Z";
  in.tool_version = "t";
  MergedInstruments whole = MergeInstruments(in, Rows(added));
  const size_t rows = whole.rows.num_rows;
  BytesSink want;
  ASSERT_TRUE(WriteInstrumentsObject(&want, "want", std::move(whole.rows), whole.kv, parquet::WriterOptions{}).ok());
  for (const bool with_tmpdir : {true, false}) {
    SCOPED_TRACE(with_tmpdir);
    std::optional<testing::ScopedTmpdir> tmpdir;
    if (!with_tmpdir) tmpdir.emplace("/nonexistent-mt-spilled-rows");
    SpilledMerge spilled = MergeInstrumentsSpilled(in, Rows(added));
    ASSERT_EQ(spilled.rows->num_rows(), rows);
    EXPECT_EQ(spilled.merged.kv, whole.kv);
    EXPECT_EQ(spilled.rows->note().empty(), with_tmpdir) << spilled.rows->note();
    columnar::RowGroupData empty = EmptyInstrumentRowGroup();
    BytesSink got;
    ASSERT_TRUE(WriteInstrumentsObjectByColumn(
                    &got, "got", rows,
                    [&](size_t c, columnar::ColumnData* col) {
                      *col = std::move(empty.columns[c]);
                      return spilled.rows->Column(c, col);
                    },
                    spilled.merged.kv, parquet::WriterOptions{})
                    .ok());
    ASSERT_GT(rows, 19000u);
    EXPECT_TRUE(want.bytes == got.bytes) << want.bytes.size() << " vs " << got.bytes.size() << " bytes";
  }
}

// A stored column that does not decode: the plan (exchange and key columns)
// still works, the column's fill fails with the file's error, which the
// merge keeps for the caller to report the file as unreadable; the object
// written is aborted.
TEST(InstrumentsMerge, AColumnThatDoesNotDecodeIsTheMergesReadError) {
  std::vector<InstrumentDefinition> rows = {VariedRow("binance", 1), VariedRow("binance", 2)};
  BytesSink stored;
  ASSERT_TRUE(WriteInstrumentsObject(&stored, "s", InstrumentRowGroup(rows), {{"exchanges", "binance"}},
                                     parquet::WriterOptions{})
                  .ok());
  std::string bytes = stored.bytes;
  {
    auto f = parquet::FileReader::OpenBuffer(bytes, "s");
    ASSERT_TRUE(f.ok());
    const auto& md = (*f)->metadata();
    const auto& cc = md.row_groups[0].columns[static_cast<size_t>(md.FindLeaf("tick_size"))];
    bytes.replace(static_cast<size_t>(cc.StartOffset()), static_cast<size_t>(cc.total_compressed_size),
                  static_cast<size_t>(cc.total_compressed_size), '\xff');
  }
  auto f = parquet::FileReader::OpenBuffer(bytes, "stored.parquet");
  ASSERT_TRUE(f.ok());
  auto file = StoredInstruments::Open(f->get());
  ASSERT_TRUE(file.ok());
  MergeInput in;
  in.replaced = {"deribit"};
  in.first = in.last = D("2024-01-02");
  const std::vector<InstrumentDefinition> added = {Def("deribit", "DERIBIT:PERPETUAL:BTC-USD", "BTC-PERPETUAL")};
  auto plan = StoredMerge::Plan(in, &*file, Rows(added));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->num_rows(), 3u);
  BytesSink out;
  const auto fill = [&](size_t c, columnar::ColumnData* col) { return plan->FillColumn(c, col); };
  auto w =
      WriteInstrumentsObjectByColumn(&out, "out", plan->num_rows(), fill, plan->merged().kv, parquet::WriterOptions{});
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(out.aborted);
  ASSERT_TRUE(plan->read_error().has_value());
  EXPECT_NE(plan->read_error()->message().find("stored.parquet: column tick_size"), std::string::npos)
      << plan->read_error()->message();
}

}  // namespace
}  // namespace mt::pipeline
