// Instruments files that add up across runs: reading a file back, deciding
// which exchanges a run rewrites, and merging its rows with the stored ones.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "pipeline/instruments_file.h"
#include "pipeline/instruments_merge.h"
#include "support/instrument_definitions.h"

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
  EXPECT_EQ(ExchangesToWrite(st, {"deribit"}, false), std::vector<std::string>{});
  EXPECT_EQ(ExchangesToWrite(st, {"deribit", "okex"}, false), std::vector<std::string>{"okex"});
  EXPECT_EQ(ExchangesToWrite(st, {"binance"}, false), std::vector<std::string>{"binance"});
  EXPECT_EQ(ExchangesToWrite(st, {"deribit"}, true), std::vector<std::string>{"deribit"});
  EXPECT_EQ(ExchangesToWrite(InstrumentsFileState{}, {"deribit"}, false), std::vector<std::string>{"deribit"});
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
