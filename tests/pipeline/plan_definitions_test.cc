// The planning module against an in-memory store (a test double): items from instrument
// definitions with each filter (exchange, data type, instrument type, base,
// quote, expiry, count), the grouped files of data types no instrument
// has, days without definitions, items from missing-data reports, the one
// entry download and plan use (PlanWorkItems) and the shard selection over
// it.
#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "parquet/file_reader.h"
#include "pipeline/instruments_file.h"
#include "pipeline/missing_report.h"
#include "pipeline/plan.h"
#include "storage/layout.h"
#include "storage/object_store.h"
#include "support/instrument_definitions.h"
#include "support/memory_store_double.h"

namespace mt::pipeline {
namespace {

const Date kDay{2020, 2, 22};
const Date kDay2{2020, 2, 23};

using testing::Definition;

class PlanStore : public ::testing::Test {
 protected:

  // Binance perpetuals and a spot pair, Deribit options of two underlyings
  // and a perpetual, and Deribit's grouped OPTIONS file (options_chain).
  void WriteDefinitions(const Date& day) {
    const std::vector<InstrumentDefinition> defs = {
        Definition("BINANCE-FUTURES:PERPETUAL:BTC-USDT", "binance-futures", "BTCUSDT", "quotes,trades"),
        Definition("BINANCE-FUTURES:PERPETUAL:ETH-USDT", "binance-futures", "ETHUSDT", "trades"),
        Definition("BINANCE:SPOT_PAIR:BTC-USDC", "binance", "BTCUSDC", "trades"),
        Definition("DERIBIT:OPTION:BTC-USD-200226-9875-PUT", "deribit", "BTC-26FEB20-9875-P", "quotes,trades"),
        Definition("DERIBIT:OPTION:BTC-USD-200327-10000-CALL", "deribit", "BTC-27MAR20-10000-C", "trades"),
        Definition("DERIBIT:OPTION:ETH-USD-200327-200-CALL", "deribit", "ETH-27MAR20-200-C", "trades,no_such_type"),
        Definition("DERIBIT:PERPETUAL:BTC-USD", "deribit", "BTC-PERPETUAL", "trades"),
    };
    const std::string grouped =
        R"([{"exchange":"deribit","symbol":"OPTIONS","type":"option","data_types":["options_chain","trades"]},)"
        R"({"exchange":"binance-futures","symbol":"PERPETUALS","type":"perpetual","data_types":["liquidations"]}])";
    auto r = WriteInstrumentsFile(store_.get(), storage::Layout().InstrumentsObjectName(day), defs,
                                  {{"grouped_symbols", grouped}}, parquet::WriterOptions{}, true);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  PlanRequest Day() const {
    PlanRequest req;
    req.from = req.to = kDay;
    return req;
  }

  // "data_type exchange symbol key" of each item.
  std::vector<std::string> Plan(const PlanRequest& req) {
    auto plan = PlanFromDefinitions(store_.get(), req);
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    std::vector<std::string> out;
    if (!plan.ok()) return out;
    EXPECT_TRUE(plan->definition_problems.empty());
    for (const auto& w : plan->items) {
      EXPECT_EQ(w.day, kDay);
      out.push_back(w.data_type + " " + w.exchange + " " + w.symbol + " " + w.instrument_key);
    }
    return out;
  }

  // The ids of the items PlanWorkItems makes of `req` (none when it fails).
  std::vector<std::string> ItemIds(const PlanRequest& req) {
    auto items = PlanWorkItems(store_.get(), req, WorkPlanOptions{});
    EXPECT_TRUE(items.ok()) << items.status().ToString();
    std::vector<std::string> ids;
    if (items.ok()) {
      for (const auto& w : *items) ids.push_back(w.Id());
    }
    return ids;
  }

  // Planning reads objects only: an in-memory store (no temporary directory).
  std::unique_ptr<mt::testing::MemoryStoreDouble> store_ = std::make_unique<mt::testing::MemoryStoreDouble>();
};

TEST_F(PlanStore, FromDefinitionsEveryInstrumentTypeAndGroupedFile) {
  WriteDefinitions(kDay);
  auto plan = PlanFromDefinitions(store_.get(), Day());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  // The unknown data type is skipped and counted in a note.
  ASSERT_EQ(plan->notes.size(), 1u);
  EXPECT_NE(plan->notes[0].find("1 instrument data types are not among the supported ones"), std::string::npos);
  EXPECT_EQ(Plan(Day()), (std::vector<std::string>{
                             "liquidations binance-futures PERPETUALS ",
                             "options_chain deribit OPTIONS DERIBIT:OPTIONS:BTC-USD",
                             "options_chain deribit OPTIONS DERIBIT:OPTIONS:ETH-USD",
                             "quotes binance-futures BTCUSDT BINANCE-FUTURES:PERPETUAL:BTC-USDT",
                             "quotes deribit BTC-26FEB20-9875-P DERIBIT:OPTION:BTC-USD-200226-9875-PUT",
                             "trades binance BTCUSDC BINANCE:SPOT_PAIR:BTC-USDC",
                             "trades binance-futures BTCUSDT BINANCE-FUTURES:PERPETUAL:BTC-USDT",
                             "trades binance-futures ETHUSDT BINANCE-FUTURES:PERPETUAL:ETH-USDT",
                             "trades deribit BTC-26FEB20-9875-P DERIBIT:OPTION:BTC-USD-200226-9875-PUT",
                             "trades deribit BTC-27MAR20-10000-C DERIBIT:OPTION:BTC-USD-200327-10000-CALL",
                             "trades deribit BTC-PERPETUAL DERIBIT:PERPETUAL:BTC-USD",
                             "trades deribit ETH-27MAR20-200-C DERIBIT:OPTION:ETH-USD-200327-200-CALL",
                         }));
  // One item per Tardis file for download: the two chains share OPTIONS.
  const auto files = UniqueFiles(plan->items);
  EXPECT_EQ(files.size(), plan->items.size() - 1);
}

TEST_F(PlanStore, FromDefinitionsExchangeAndDataTypeFilters) {
  WriteDefinitions(kDay);
  PlanRequest req = Day();
  req.exchanges = {"binance-futures"};
  req.data_types = {"trades"};
  EXPECT_EQ(Plan(req), (std::vector<std::string>{
                           "trades binance-futures BTCUSDT BINANCE-FUTURES:PERPETUAL:BTC-USDT",
                           "trades binance-futures ETHUSDT BINANCE-FUTURES:PERPETUAL:ETH-USDT",
                       }));
  // A typo is a usage error with a suggestion, not an empty plan.
  req.exchanges = {"binance-futurs"};
  auto bad = PlanFromDefinitions(store_.get(), req);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kUsage);
  EXPECT_NE(bad.status().message().find("did you mean binance-futures?"), std::string::npos);
  req.exchanges = {};
  req.data_types = {"trade"};
  EXPECT_EQ(PlanFromDefinitions(store_.get(), req).status().code(), Status::Code::kUsage);
}

TEST_F(PlanStore, FromDefinitionsInstrumentTypeBaseQuoteFilters) {
  WriteDefinitions(kDay);
  PlanRequest req = Day();
  req.data_types = {"trades", "options_chain"};
  auto f = ParseInstrumentFilter("Option", "btc", "", "", "");
  ASSERT_TRUE(f.ok());
  req.instruments = *f;
  // The BTC options and their chain; the grouped trades file is not added
  // back (options of the exchange have trades), nor ETH's chain.
  EXPECT_EQ(Plan(req), (std::vector<std::string>{
                           "options_chain deribit OPTIONS DERIBIT:OPTIONS:BTC-USD",
                           "trades deribit BTC-26FEB20-9875-P DERIBIT:OPTION:BTC-USD-200226-9875-PUT",
                           "trades deribit BTC-27MAR20-10000-C DERIBIT:OPTION:BTC-USD-200327-10000-CALL",
                       }));
  f = ParseInstrumentFilter("spot", "", "USDC", "", "");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->types, (std::set<std::string>{"SPOT_PAIR"}));
  req.instruments = *f;
  EXPECT_EQ(Plan(req), (std::vector<std::string>{"trades binance BTCUSDC BINANCE:SPOT_PAIR:BTC-USDC"}));
  // A grouped file of a type the filter excludes is not planned either.
  req.data_types = {"liquidations"};
  EXPECT_TRUE(Plan(req).empty());
  req.instruments = InstrumentFilter{};
  EXPECT_EQ(Plan(req), (std::vector<std::string>{"liquidations binance-futures PERPETUALS "}));
}

TEST_F(PlanStore, FromDefinitionsExpiryAndCountFilters) {
  WriteDefinitions(kDay);
  PlanRequest req = Day();
  req.data_types = {"trades"};
  // 2020-02-22 -> 2020-02-26 is 4 days; 2020-03-27 is 34.
  auto f = ParseInstrumentFilter("option", "", "", "", "4");
  ASSERT_TRUE(f.ok());
  req.instruments = *f;
  EXPECT_EQ(Plan(req), (std::vector<std::string>{
                           "trades deribit BTC-26FEB20-9875-P DERIBIT:OPTION:BTC-USD-200226-9875-PUT",
                       }));
  f = ParseInstrumentFilter("option", "", "", "", "3");
  req.instruments = *f;
  EXPECT_TRUE(Plan(req).empty());
  // The first N instrument keys of the day, in key order ('-' sorts before
  // ':', so BINANCE-FUTURES:... before BINANCE:...).
  f = ParseInstrumentFilter("", "", "", "2", "");
  ASSERT_TRUE(f.ok());
  req.instruments = *f;
  EXPECT_EQ(Plan(req), (std::vector<std::string>{
                           "trades binance-futures BTCUSDT BINANCE-FUTURES:PERPETUAL:BTC-USDT",
                           "trades binance-futures ETHUSDT BINANCE-FUTURES:PERPETUAL:ETH-USDT",
                       }));
  // Bad numbers name their flag.
  EXPECT_EQ(ParseInstrumentFilter("", "", "", "0", "").status().message(),
            "--max-instruments must be an integer from 1 to 100000000, got '0'");
  EXPECT_EQ(ParseInstrumentFilter("", "", "", "", "x").status().code(), Status::Code::kUsage);
}

// Grouped files take the key type of their Tardis type (tardis::
// KeyTypeForTardisType, as every key does): SPOT is SPOT_PAIR, and COMBOS
// has none (docs/INSTRUMENTS.md: combos get no key), so no type filter
// selects it and "combo" is not a type the filter takes.
TEST_F(PlanStore, GroupedFilesHaveTheKeyTypeOfTheirTardisType) {
  const std::string grouped =
      R"([{"exchange":"binance","symbol":"SPOT","type":"spot","data_types":["trades"]},)"
      R"({"exchange":"deribit","symbol":"COMBOS","type":"combo","data_types":["trades"]}])";
  auto w = WriteInstrumentsFile(store_.get(), storage::Layout().InstrumentsObjectName(kDay),
                                {Definition("BINANCE-FUTURES:PERPETUAL:BTC-USDT", "binance-futures", "BTCUSDT",
                                            "trades")},
                                {{"grouped_symbols", grouped}}, parquet::WriterOptions{}, true);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  PlanRequest req = Day();
  EXPECT_EQ(Plan(req), (std::vector<std::string>{
                           "trades binance SPOT ",
                           "trades binance-futures BTCUSDT BINANCE-FUTURES:PERPETUAL:BTC-USDT",
                           "trades deribit COMBOS ",
                       }));
  auto f = ParseInstrumentFilter("spot", "", "", "", "");
  ASSERT_TRUE(f.ok());
  req.instruments = *f;
  EXPECT_EQ(Plan(req), (std::vector<std::string>{"trades binance SPOT "}));
  f = ParseInstrumentFilter("perpetual,option,future", "", "", "", "");
  ASSERT_TRUE(f.ok());
  req.instruments = *f;
  EXPECT_EQ(Plan(req), (std::vector<std::string>{"trades binance-futures BTCUSDT BINANCE-FUTURES:PERPETUAL:BTC-USDT"}));
  EXPECT_TRUE(ParseInstrumentFilter("spot,combo,prediction", "", "", "", "").ok());
  auto bad = ParseInstrumentFilter("spot,swap", "", "", "", "");
  EXPECT_EQ(bad.status().code(), Status::Code::kUsage);
  EXPECT_EQ(bad.status().message(),
            "--instrument-types: 'swap' is not one of spot, perpetual, future, option, combo, prediction");
  EXPECT_EQ(ParseInstrumentFilter("SPOT_PAIR", "", "", "", "").status().code(), Status::Code::kUsage);
}

TEST_F(PlanStore, DaysWithoutDefinitionsAreProblemsAndStopADownloadPlan) {
  WriteDefinitions(kDay);
  PlanRequest req = Day();
  req.to = AddDays(kDay2, 1);
  auto plan = PlanFromDefinitions(store_.get(), req);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->definition_problems.size(), 2u);
  const auto runs = CollapseDays(plan->definition_problems);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].Days(), "2020-02-23 .. 2020-02-24 (2 days)");
  auto items = PlanWorkItems(store_.get(), req, WorkPlanOptions{});
  ASSERT_FALSE(items.ok());
  EXPECT_EQ(items.status().code(), Status::Code::kUsage);  // exit 2: `instruments` not run for them
  EXPECT_NE(items.status().message().find("no instrument definitions for 2020-02-23 .. 2020-02-24 (2 days)"),
            std::string::npos)
      << items.status().message();
}

TEST_F(PlanStore, DaysAfterAnExchangesExportedUntilAreNoted) {
  // Definitions of three days as `instruments` records them: deribit's
  // datasets.exportedUntil ended inside the second day, binance-futures' is
  // past the last; binance has no exported_until (nothing says otherwise).
  const std::vector<InstrumentDefinition> defs = {
      Definition("BINANCE-FUTURES:PERPETUAL:BTC-USDT", "binance-futures", "BTCUSDT", "trades"),
      Definition("DERIBIT:PERPETUAL:BTC-USD", "deribit", "BTC-PERPETUAL", "trades"),
  };
  const std::string sources =
      R"([{"exchange":"binance-futures","exported_until":"2020-02-25T00:00:00.000000Z","final":true},)"
      R"({"exchange":"binance","exported_until":null},)"
      R"({"exchange":"deribit","exported_until":"2020-02-23T06:00:00.000000Z","final":false}])";
  for (Date d = kDay; d <= AddDays(kDay2, 1); d = AddDays(d, 1)) {
    auto r = WriteInstrumentsFile(store_.get(), storage::Layout().InstrumentsObjectName(d), defs,
                                  {{"exchange_sources", sources}}, parquet::WriterOptions{}, true);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  PlanRequest req = Day();
  req.to = AddDays(kDay2, 1);
  auto plan = PlanFromDefinitions(store_.get(), req);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->notes.size(), 1u);
  EXPECT_EQ(plan->notes[0],
            "deribit: 2020-02-23 .. 2020-02-24 (2 days) after its datasets.exportedUntil 2020-02-23T06:00:00Z (when "
            "its instrument definitions were written): Tardis may not have exported these days yet, so files may be "
            "missing or incomplete; rerun `market-tick instruments` for them later, then download");
  EXPECT_EQ(plan->items.size(), 6u);  // a warning, not a filter
  // Only the requested exchanges are noted.
  req.exchanges = {"binance-futures"};
  plan = PlanFromDefinitions(store_.get(), req);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->notes.empty());
}

TEST_F(PlanStore, WorkItemsFromSymbolsPairBareSymbolsThroughTheDefinitions) {
  WriteDefinitions(kDay);
  PlanRequest req = Day();
  req.exchanges = {"binance-futures", "deribit"};
  req.data_types = {"trades"};
  req.symbols = {"ETHUSDT", "BTC-PERPETUAL"};
  EXPECT_EQ(ItemIds(req), (std::vector<std::string>{"2020-02-22/trades/binance-futures/ETHUSDT",
                                                    "2020-02-22/trades/deribit/BTC-PERPETUAL"}));
  // Instrument filters do not apply to named symbols.
  req.instruments.types = {"OPTION"};
  EXPECT_EQ(PlanWorkItems(store_.get(), req, WorkPlanOptions{})->size(), 2u);
}

// Users copy keys from object names: a key names the instrument the
// definitions give it, planned as its exchange:SYMBOL; a pair typed as keys
// spell it is not a Tardis symbol, and the error says which symbol it is.
TEST_F(PlanStore, AnInstrumentKeyNamesItsInstrumentThroughTheDefinitions) {
  PlanRequest req = Day();
  req.exchanges = {"binance-futures", "deribit"};
  req.data_types = {"trades"};
  req.symbols = {"DERIBIT:PERPETUAL:BTC-USD", "BINANCE-FUTURES:PERPETUAL:ETH-USDT"};
  auto none = PlanWorkItems(store_.get(), req, WorkPlanOptions{});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Status::Code::kUsage);
  EXPECT_NE(none.status().message().find("--symbols DERIBIT:PERPETUAL:BTC-USD is an instrument key: the instrument it "
                                         "names comes from the stored instrument definitions of these days, and the "
                                         "store has none. Run `market-tick instruments`"),
            std::string::npos)
      << none.status().message();
  WriteDefinitions(kDay);
  EXPECT_EQ(ItemIds(req), (std::vector<std::string>{"2020-02-22/trades/binance-futures/ETHUSDT",
                                                    "2020-02-22/trades/deribit/BTC-PERPETUAL"}));
  req.symbols = {"DERIBIT:PERPETUAL:ETH-USD"};
  auto unknown = PlanWorkItems(store_.get(), req, WorkPlanOptions{});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("of these days, which do not list it"), std::string::npos)
      << unknown.status().message();
  req.symbols = {"BINANCE:SPOT_PAIR:BTC-USDC"};
  auto elsewhere = PlanWorkItems(store_.get(), req, WorkPlanOptions{});
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_EQ(elsewhere.status().message(),
            "--symbols BINANCE:SPOT_PAIR:BTC-USDC names binance BTCUSDC, and the run's exchanges "
            "(binance-futures,deribit) do not include binance: add it to --exchanges");
  req.exchanges = {"binance-futures"};
  req.symbols = {"ETH-USDT"};
  auto pair = PlanWorkItems(store_.get(), req, WorkPlanOptions{});
  ASSERT_FALSE(pair.ok());
  EXPECT_NE(pair.status().message().find("ETH-USDT is how instrument keys spell a pair, not a Tardis symbol; did you "
                                         "mean binance-futures:ETHUSDT (BINANCE-FUTURES:PERPETUAL:ETH-USDT)?"),
            std::string::npos)
      << pair.status().message();
  // Without --exchanges (they come from the pins), a key brings its own.
  req.exchanges = {"binance-futures"};
  req.exchanges_from_symbols = true;
  req.symbols = {"DERIBIT:PERPETUAL:BTC-USD", "binance-futures:ETHUSDT"};
  EXPECT_EQ(ItemIds(req), (std::vector<std::string>{"2020-02-22/trades/binance-futures/ETHUSDT",
                                                    "2020-02-22/trades/deribit/BTC-PERPETUAL"}));
  // Exchange ids are lower case: a pin stays a pin.
  EXPECT_FALSE(IsKeyForm("deribit:BTC-PERPETUAL"));
  EXPECT_FALSE(IsKeyForm("BTCUSDT"));
  EXPECT_FALSE(IsKeyForm("BINANCE-FUTURES:BTCUSDT"));
  EXPECT_TRUE(IsKeyForm("OKX-SWAP:PERPETUAL:BTC-USDT"));
}

// A key whose Tardis symbol changed within the range (a renamed listing):
// the earliest day's names it, whichever day the parallel read finished
// first.
TEST_F(PlanStore, AKeyRenamedWithinTheRangeTakesItsEarliestSymbol) {
  for (const auto& [day, symbol] : {std::pair{kDay, "BTC-PERPETUAL"}, std::pair{kDay2, "BTC-PERP"}}) {
    auto r = WriteInstrumentsFile(store_.get(), storage::Layout().InstrumentsObjectName(day),
                                  {Definition("DERIBIT:PERPETUAL:BTC-USD", "deribit", symbol, "trades")}, {},
                                  parquet::WriterOptions{}, true);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  PlanRequest req = Day();
  req.to = kDay2;
  req.exchanges = {"deribit"};
  req.data_types = {"trades"};
  req.symbols = {"DERIBIT:PERPETUAL:BTC-USD"};
  for (int run = 0; run < 20; run++) {
    EXPECT_EQ(ItemIds(req), (std::vector<std::string>{"2020-02-22/trades/deribit/BTC-PERPETUAL",
                                                      "2020-02-23/trades/deribit/BTC-PERPETUAL"}));
  }
}

// A day whose definitions file is damaged is not a day without definitions:
// pairing a bare symbol by the rules would plan what the file may say
// otherwise. download stops with the file's error; plan (definitions
// optional) warns and pairs by the rules.
TEST_F(PlanStore, DamagedDefinitionsStopThePairingOfBareSymbols) {
  WriteDefinitions(kDay);
  const std::string name = storage::Layout().InstrumentsObjectName(kDay);
  std::string bytes = *store_->Read(name);
  {
    auto file = parquet::FileReader::OpenBuffer(bytes, "defs");
    ASSERT_TRUE(file.ok());
    const auto& md = (*file)->metadata();
    const auto& cc = md.row_groups[0].columns[static_cast<size_t>(md.FindLeaf("tardis_symbol"))];
    bytes[static_cast<size_t>(cc.StartOffset() + cc.total_compressed_size - 2)] ^= 0x20;
  }
  store_->Put(name, bytes);
  PlanRequest req = Day();
  req.exchanges = {"binance-futures"};
  req.data_types = {"trades"};
  req.symbols = {"BTCUSDT"};
  auto items = PlanWorkItems(store_.get(), req, WorkPlanOptions{});
  ASSERT_FALSE(items.ok()) << "planned by the rules past a damaged file";
  EXPECT_EQ(items.status().code(), Status::Code::kDataLoss) << items.status().ToString();
  EXPECT_NE(items.status().message().find("column 'tardis_symbol': the page at chunk byte"), std::string::npos)
      << items.status().message();
  WorkPlanOptions optional;
  optional.definitions_optional = true;
  auto by_rules = PlanWorkItems(store_.get(), req, optional);
  ASSERT_TRUE(by_rules.ok()) << by_rules.status().ToString();
  EXPECT_EQ(by_rules->size(), 1u);
}

// `plan` goes on without readable definitions (bare symbols paired by the
// symbol rules, with a warning), but a symbol pinned to a venue without a
// rule has no key but the definitions: the store's own error is the answer
// (here one a retry can fix), not "the store lists none of its instruments" (a usage error that
// sends the user to run `instruments`).
TEST(PlanWorkItems, APinWithoutARuleGetsTheStoresErrorWhenDefinitionsCannotBeRead) {
  PlanRequest req;
  req.from = req.to = kDay;
  req.exchanges = {"hyperliquid", "binance-futures"};
  req.data_types = {"trades"};
  WorkPlanOptions options;
  options.definitions_optional = true;
  options.store_error = Status::Unavailable("the metadata server did not answer");
  req.symbols = {"hyperliquid:BTC", "binance-futures:BTCUSDT"};
  auto items = PlanWorkItems(nullptr, req, options);
  ASSERT_FALSE(items.ok());
  EXPECT_EQ(items.status().code(), Status::Code::kUnavailable) << items.status().ToString();
  EXPECT_NE(items.status().message().find("the metadata server did not answer"), std::string::npos);
  // Pins of venues with a rule, and bare symbols, are planned by the rules.
  req.symbols = {"hyperliquid:PERPETUALS", "binance-futures:BTCUSDT"};
  items = PlanWorkItems(nullptr, req, options);
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  EXPECT_EQ(items->size(), 2u);
}

TEST_F(PlanStore, WorkItemsFromReportsAreTheMissingAndCorruptOnes) {
  auto row = [](const Date& d, const std::string& dt, const std::string& ex, const std::string& sym,
                const std::string& status) {
    return MissingReportRow{d, dt, "K", ex, sym, status, "", ""};
  };
  ASSERT_TRUE(WriteMissingReportRows(store_.get(), kDay,
                                     {row(kDay, "trades", "deribit", "BTC-PERPETUAL", "missing"),
                                      row(kDay, "quotes", "binance-futures", "BTCUSDT", "corrupt"),
                                      row(kDay, "trades", "binance-futures", "XRPUSDT", "not_available")},
                                     0, "test")
                  .ok());
  PlanRequest req = Day();
  req.to = kDay2;
  auto rp = PlanFromReports(store_.get(), req.from, req.to, {}, {});
  ASSERT_TRUE(rp.ok()) << rp.status().ToString();
  EXPECT_EQ(rp->missing, 1u);
  EXPECT_EQ(rp->corrupt, 1u);
  EXPECT_EQ(rp->not_available, 1u);
  EXPECT_EQ(rp->days_without_report, std::vector<Date>{kDay2});
  WorkPlanOptions o;
  o.from_report = true;
  req.data_types = {"trades"};  // the default of --symbols; narrows only when given
  auto items = PlanWorkItems(store_.get(), req, o);
  ASSERT_TRUE(items.ok());
  std::vector<std::string> ids;
  for (const auto& w : *items) ids.push_back(w.Id());
  EXPECT_EQ(ids, (std::vector<std::string>{"2020-02-22/quotes/binance-futures/BTCUSDT",
                                           "2020-02-22/trades/deribit/BTC-PERPETUAL"}));
  o.report_data_types = true;
  items = PlanWorkItems(store_.get(), req, o);
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].Id(), "2020-02-22/trades/deribit/BTC-PERPETUAL");
  req.exchanges = {"binance-futurs"};
  EXPECT_EQ(PlanWorkItems(store_.get(), req, o).status().code(), Status::Code::kUsage);
}

TEST_F(PlanStore, ShardsOfADefinitionsPlanPartitionIt) {
  WriteDefinitions(kDay);
  WriteDefinitions(kDay2);
  PlanRequest req = Day();
  req.to = kDay2;
  auto items = PlanWorkItems(store_.get(), req, WorkPlanOptions{});
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  ASSERT_EQ(items->size(), 2u * 11);  // 12 objects a day, the two chains one file
  std::multiset<std::string> all;
  for (uint32_t i = 0; i < 5; i++) {
    for (const auto& w : SelectShard(*items, Shard{i, 5})) {
      EXPECT_EQ(StableHash(w) % 5, i);
      all.insert(w.Id());
    }
  }
  std::multiset<std::string> want;
  for (const auto& w : *items) want.insert(w.Id());
  EXPECT_EQ(all, want);
}

}  // namespace
}  // namespace mt::pipeline

namespace mt::pipeline {
namespace {

// An interrupt (the request's cancel flag) ends a plan at the next day:
// kCancelled, the days after it not given, from definitions and from
// --symbols alike. (Planning once ran every day of the range, seconds for
// a year, the interrupt unseen.)
TEST_F(PlanStore, AnInterruptEndsThePlanAtTheNextDay) {
  WriteDefinitions(kDay);
  WriteDefinitions(kDay2);
  std::atomic<bool> stop{false};
  PlanRequest req = Day();
  req.to = kDay2;
  req.cancel = &stop;
  std::set<Date> days;
  auto plan = PlanFromDefinitions(store_.get(), req, [&](WorkItem&& w) {
    days.insert(w.day);
    stop.store(true);
    return Status::OK();
  });
  EXPECT_EQ(plan.status().code(), Status::Code::kCancelled) << plan.status().ToString();
  EXPECT_EQ(days, std::set<Date>{kDay});
  stop.store(false);
  req.exchanges = {"binance-futures"};
  req.symbols = {"binance-futures:BTCUSDT"};
  req.data_types = {"trades"};
  days.clear();
  const Status st = BuildPlan(req, [&](WorkItem&& w) {
    days.insert(w.day);
    stop.store(true);
    return Status::OK();
  });
  EXPECT_EQ(st.code(), Status::Code::kCancelled) << st.ToString();
  EXPECT_EQ(days, std::set<Date>{kDay});
  // Not interrupted: both days.
  stop.store(false);
  auto whole = BuildPlan(req);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(whole->size(), 2u);
}

}  // namespace
}  // namespace mt::pipeline
