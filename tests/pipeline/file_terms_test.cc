// Tick files that describe themselves (issue 20): the instrument's terms on
// the file's day, from the day's stored instrument definitions, in the key-
// value metadata of every output the converter writes (the streamed first
// instrument, the spilled others, a download's fixed object), only the known
// ones, none without definitions and none for an options chain.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>

#include "parquet/file_reader.h"
#include "pipeline/downloader.h"
#include "pipeline/instruments_file.h"
#include "pipeline/key_resolver.h"
#include "pipeline/tick_converter.h"
#include "storage/layout.h"
#include "storage/object_store.h"
#include "support/gzip.h"
#include "support/instrument_definitions.h"
#include "support/scripted_http.h"

namespace mt::pipeline {
namespace {

namespace fs = std::filesystem;

const Date kDay{2024, 3, 1};

class FileTerms : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("mt_file_terms_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    store_ = storage::NewLocalStore(root_.string());
  }
  void TearDown() override { fs::remove_all(root_); }

  // The day's definitions: BTC-PERPETUAL with every term known, ETH-PERPETUAL
  // with only `inverse` and `amount_unit` (no metadata: the venue rule).
  void WriteDefinitions() {
    InstrumentDefinition btc =
        mt::testing::Definition("DERIBIT:PERPETUAL:BTC-USD", "deribit", "BTC-PERPETUAL", "trades");
    btc.contract_size = 10;
    btc.inverse = true;
    btc.tick_size = 0.5;
    btc.price_currency = "USD";
    btc.settle_asset = "BTC";
    btc.amount_unit = "quote";
    InstrumentDefinition eth =
        mt::testing::Definition("DERIBIT:PERPETUAL:ETH-USD", "deribit", "ETH-PERPETUAL", "trades");
    eth.inverse = true;
    eth.amount_unit = "quote";
    auto w = WriteInstrumentsFile(store_.get(), store_->layout().InstrumentsObjectName(kDay), {btc, eth}, {}, {}, true);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
  }

  Result<std::vector<OutputFile>> Convert(const std::string& symbol, const std::string& csv, const KeyResolver* keys,
                                          const std::string& fixed_object = "", const std::string& fixed_key = "") {
    SourceHints hints;
    hints.source = "deribit_trades_2024-03-01_" + symbol + ".csv";
    hints.day = kDay;
    hints.exchange = "deribit";
    hints.symbol = symbol;
    ConvertTarget target;
    target.store = store_.get();
    target.keys = keys;
    target.fixed_object = fixed_object;
    target.fixed_key = fixed_key;
    ConvertSettings settings;
    settings.tool_version = "test";
    TickConverter conv(hints, target, settings);
    MT_RETURN_IF_ERROR(conv.Write(reinterpret_cast<const uint8_t*>(csv.data()), csv.size()));
    MT_ASSIGN_OR_RETURN(OutputList outs, conv.Finish());
    return outs.ToVector();
  }

  // The file's key-value metadata, keys of the terms only.
  std::map<std::string, std::string> TermsKv(const std::string& path) {
    std::map<std::string, std::string> out;
    auto r = parquet::FileReader::OpenLocal(path);
    EXPECT_TRUE(r.ok()) << path;
    if (!r.ok()) return out;
    for (const auto& [k, v] : (*r)->metadata().key_value) {
      for (const char* t : {"contract_size", "inverse", "tick_size", "price_currency", "settle_asset", "amount_unit"}) {
        if (k == t) out[k] = v;
      }
    }
    return out;
  }

  fs::path root_;
  std::unique_ptr<storage::ObjectStore> store_;
};

std::string Trades(const std::vector<std::string>& symbols, int n) {
  std::string csv = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n";
  for (int i = 0; i < n; i++) {
    const std::string ts = std::to_string(MicrosFromDate(kDay) + i * 1000);
    csv += "deribit," + symbols[i % symbols.size()] + "," + ts + "," + ts + "," + std::to_string(i) + ",buy,60000.5,10\n";
  }
  return csv;
}

const std::map<std::string, std::string> kBtcTerms = {{"contract_size", "10"},   {"inverse", "true"},
                                                      {"tick_size", "0.5"},      {"price_currency", "USD"},
                                                      {"settle_asset", "BTC"},   {"amount_unit", "quote"}};
const std::map<std::string, std::string> kEthTerms = {{"inverse", "true"}, {"amount_unit", "quote"}};

TEST_F(FileTerms, StreamedAndSpilledOutputsOfAGroupedFileCarryTheirInstrumentsTerms) {
  WriteDefinitions();
  StoreKeyResolvers days(store_.get());
  RowDayKeyResolver keys(&days);
  // Two instruments: the first streamed through its own writer, the second
  // through the spill.
  auto outs = Convert("PERPETUALS", Trades({"BTC-PERPETUAL", "ETH-PERPETUAL"}, 40), &keys);
  ASSERT_TRUE(outs.ok()) << outs.status().ToString();
  ASSERT_EQ(outs->size(), 2u);
  std::map<std::string, std::string> by_key;
  for (const auto& o : *outs) by_key[o.instrument_key] = o.name;
  EXPECT_EQ(TermsKv(by_key["DERIBIT:PERPETUAL:BTC-USD"]), kBtcTerms);
  EXPECT_EQ(TermsKv(by_key["DERIBIT:PERPETUAL:ETH-USD"]), kEthTerms);  // unknown terms left out
  // In the order of the documented table, after instrument_key.
  auto r = parquet::FileReader::OpenLocal(by_key["DERIBIT:PERPETUAL:BTC-USD"]);
  ASSERT_TRUE(r.ok());
  std::vector<std::string> keys_in_order;
  for (const auto& [k, v] : (*r)->metadata().key_value) keys_in_order.push_back(k);
  std::vector<std::string> documented;
  for (const auto& d : TickFileMetadataDocs()) {
    if (std::string(d.key) != "unkeyed_reason") documented.push_back(d.key);
  }
  EXPECT_EQ(keys_in_order, documented);
}

TEST_F(FileTerms, ADownloadsFixedObjectCarriesTheTerms) {
  WriteDefinitions();
  StoreKeyResolvers days(store_.get());
  auto day = days.ForDay(kDay);
  ASSERT_TRUE(day.ok());
  const std::string object =
      store_->layout().TickObjectName(kDay, "trades", "deribit", "DERIBIT:PERPETUAL:BTC-USD");
  auto outs = Convert("BTC-PERPETUAL", Trades({"BTC-PERPETUAL"}, 5), day->get(), object, "DERIBIT:PERPETUAL:BTC-USD");
  ASSERT_TRUE(outs.ok()) << outs.status().ToString();
  ASSERT_EQ(outs->size(), 1u);
  EXPECT_EQ(TermsKv((root_ / object).string()), kBtcTerms);
}

// The items `download` plans from the stored definitions carry their key, so
// the downloader needs no key resolver for them; their files must carry the
// terms all the same, as those of an item keyed by --symbols do (they were
// written without any: the terms came only with the resolver).
TEST_F(FileTerms, ADownloadPlannedFromTheDefinitionsCarriesTheTerms) {
  WriteDefinitions();
  StoreKeyResolvers days(store_.get());
  mt::testing::ScriptedHttp http;
  http.Script("", {{200, mt::testing::Gzip(Trades({"BTC-PERPETUAL"}, 5))}});
  DownloadOptions o;
  o.store = store_.get();
  o.keys = &days;
  o.datasets_url = "http://127.0.0.1:9";
  o.concurrency = 1;
  o.http_factory = [&http] { return http.Client(); };
  Downloader dl(o);
  for (const std::string& planned_key : {std::string("DERIBIT:PERPETUAL:BTC-USD"), std::string()}) {
    fs::remove_all(root_ / "raw_tick_data");
    auto results = dl.Run({WorkItem{kDay, "trades", "deribit", "BTC-PERPETUAL", planned_key}});
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].outcome, Outcome::kDone) << results[0].reason;
    const std::string object =
        store_->layout().TickObjectName(kDay, "trades", "deribit", "DERIBIT:PERPETUAL:BTC-USD");
    EXPECT_EQ(TermsKv((root_ / object).string()), kBtcTerms) << "planned key '" << planned_key << "'";
  }
}

TEST_F(FileTerms, WithoutDefinitionsNoTermIsWritten) {
  // No definitions file for the day: the symbol rules key the rows, and no
  // term is guessed from them.
  StoreKeyResolvers days(store_.get());
  RowDayKeyResolver keys(&days);
  auto outs = Convert("PERPETUALS", Trades({"BTC-PERPETUAL", "ETH-PERPETUAL"}, 10), &keys);
  ASSERT_TRUE(outs.ok()) << outs.status().ToString();
  ASSERT_EQ(outs->size(), 2u);
  for (const auto& o : *outs) EXPECT_TRUE(TermsKv(o.name).empty()) << o.name;
  // No resolver at all (the symbol rules): none either.
  fs::remove_all(root_ / "raw_tick_data");
  auto plain = Convert("PERPETUALS", Trades({"BTC-PERPETUAL"}, 3), nullptr);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  ASSERT_EQ(plain->size(), 1u);
  EXPECT_EQ((*plain)[0].rows, 3u);
  EXPECT_TRUE(TermsKv((*plain)[0].name).empty());
}

TEST(AppendTermsKv, NumbersAreTheShortestRoundTripFormAndUnknownsAreLeftOut) {
  ContractTerms t;
  t.contract_size = 0.1;
  t.tick_size = 1e-8;
  t.inverse = false;
  std::vector<std::pair<std::string, std::string>> kv;
  AppendTermsKv(t, &kv);
  EXPECT_EQ(kv, (std::vector<std::pair<std::string, std::string>>{
                    {"contract_size", "0.1"}, {"inverse", "false"}, {"tick_size", "1e-08"}}));
  kv.clear();
  AppendTermsKv(ContractTerms{}, &kv);
  EXPECT_TRUE(kv.empty());
}

}  // namespace
}  // namespace mt::pipeline
