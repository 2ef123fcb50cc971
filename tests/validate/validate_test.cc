// validate on a storage tree that holds every status: done, zero rows (no
// data at source), missing, truncated, wrong schema, local timestamps of
// another day; expected items from instrument definitions (written by the
// instruments file writer) and from --symbols. Checks each item's status,
// the completeness verdict that decides the exit code, the missing-data
// report read back, and the HTML report's cells.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <tuple>

#include "parquet/file_reader.h"
#include "parquet/file_writer.h"
#include "pipeline/instruments_file.h"
#include "pipeline/instruments_merge.h"
#include "pipeline/item_record.h"
#include "storage/layout.h"
#include "storage/object_store.h"
#include "support/instrument_definitions.h"
#include "support/memory_store_double.h"
#include "tardis/schema.h"
#include "validate/expected.h"
#include "validate/file_check.h"
#include "validate/html_report.h"
#include "validate/incidents.h"
#include "validate/missing_report.h"
#include "pipeline/plan.h"
#include "validate/validate_job.h"
#include "validate/validator.h"
#include "support/temp_dir.h"

namespace mt::validate {
namespace {

using testing::Definition;

const Date kDay{2020, 2, 22};
const Date kDay2{2020, 2, 23};
const int64_t kDayUs = MicrosFromDate(kDay);

class Tree : public ::testing::Test {
 protected:

  // A tick file as the converter writes it: `rows` rows from `first_us`, one
  // per millisecond, with the converter's key-value metadata.
  // The Tardis exchange and symbol of `key`'s rows, as WriteDefinitions
  // names them (validate --deep checks the columns against the item).
  static std::pair<std::string, std::string> TardisOf(const std::string& key) {
    const std::string venue = key.substr(0, key.find(':')), sym = key.substr(key.rfind(':') + 1);
    if (venue == "DERIBIT") return {"deribit", sym.substr(0, sym.find('-')) + "-PERPETUAL"};
    std::string s = sym;
    s.erase(std::remove(s.begin(), s.end(), '-'), s.end());
    return {"binance-futures", s};
  }

  // A done completion record of deribit's grouped OPTIONS file of kDay and
  // data type `dt`, listing an object for each (key, rows); an empty key
  // lists a fallback (UNKEYED) object. Written create-only.
  void WriteOptionsRecord(const std::string& dt, const std::vector<std::pair<std::string, uint64_t>>& objects,
                          pipeline::ItemRecord* rec = nullptr) {
    pipeline::ItemRecord r;
    r.item = FormatDate(kDay) + "/" + dt + "/deribit/OPTIONS";
    r.outcome = "done";
    const storage::Layout layout;
    for (const auto& [key, rows] : objects) {
      r.rows += rows;
      const std::string name = key.empty() ? "DERIBIT:UNKEYED:BTC-FS-X" : key;
      r.objects.push_back({layout.TickObjectName(kDay, dt, "deribit", name), key, rows, key.empty() ? uint64_t{999} : uint64_t{1234}});
    }
    ASSERT_TRUE(pipeline::WriteItemRecord(store_.get(), {kDay, dt, "deribit", "OPTIONS", {}}, r, false).ok());
    if (rec) *rec = std::move(r);
  }

  // The key of generated option i (BTC calls of one expiry, by strike).
  static std::string OptionKey(int i) {
    return "DERIBIT:OPTION:BTC-USD-231229-" + std::to_string(10000 + i) + "-CALL";
  }
  // A done completion record of deribit's grouped OPTIONS trades file of kDay
  // listing the object of OptionKey(i) for each i in `listed` (one row, 100
  // bytes each); odd ones by object name only, as a record of an earlier
  // version (without keys) lists them. Written create-only.
  void WriteOptionObjectsRecord(const std::vector<int>& listed, pipeline::ItemRecord* out = nullptr) {
    const storage::Layout layout;
    pipeline::ItemRecord rec;
    rec.item = FormatDate(kDay) + "/trades/deribit/OPTIONS";
    rec.outcome = "done";
    rec.created_at = "2023-11-14T22:13:20Z";
    for (int i : listed) {
      rec.objects.push_back({layout.TickObjectName(kDay, "trades", "deribit", OptionKey(i)), i % 2 ? "" : OptionKey(i), 1, 100});
    }
    const pipeline::WorkItem item{kDay, "trades", "deribit", "OPTIONS", {}};
    ASSERT_TRUE(pipeline::WriteItemRecord(store_.get(), item, rec, false).ok());
    if (out) *out = std::move(rec);
  }
  // The trades object of OptionKey(i) on kDay: `bytes` bytes (not Parquet).
  void PutOptionObject(int i, size_t bytes) {
    auto obj = store_->Create(storage::Layout().TickObjectName(kDay, "trades", "deribit", OptionKey(i)), false);
    ASSERT_TRUE(obj.ok());
    ASSERT_TRUE((*obj)->Append(std::string(bytes, 'x')).ok());
    ASSERT_TRUE((*obj)->Commit().ok());
  }

  // `rows_of`: the key whose exchange and symbol the rows hold (default:
  // `key`'s); `row_key`: the instrument_key values (default: `key`, as the
  // converter writes them; "x" in an options chain). `keyless`: a file of an
  // earlier version, without the instrument_key column.
  void WriteTick(const Date& day, const std::string& dt, const std::string& key, size_t rows, int64_t first_us,
                 const std::string& schema_of = "", size_t row_group_rows = 100, const std::string& rows_of = "",
                 const std::string& row_key = "", bool keyless = false) {
    const auto [exchange, symbol] = TardisOf(rows_of.empty() ? key : rows_of);
    const auto* schema = tardis::FindSchema(schema_of.empty() ? dt : schema_of);
    ASSERT_NE(schema, nullptr);
    const auto spec = keyless ? schema->ParquetSchema() : schema->OutputSchema();
    const std::string key_value = !row_key.empty() ? row_key : schema->row_keys ? "x" : key;
    auto obj = store_->Create(storage::Layout().TickObjectName(day, dt, "exchange", key), true);
    ASSERT_TRUE(obj.ok());
    parquet::FileWriter w(obj->get(), spec, parquet::WriterOptions{});
    for (size_t a = 0; a < rows; a += row_group_rows) {
      columnar::RowGroupData rg = columnar::MakeRowGroup(spec);
      const size_t n = std::min(rows - a, row_group_rows);
      rg.num_rows = n;
      for (size_t c = 0; c < spec.size(); c++) {
        auto& col = rg.columns[c];
        for (size_t r = 0; r < n; r++) {
          if (col.nullable) col.defined.push_back(1);
          switch (col.kind) {
            case columnar::ColumnKind::kTimestampMicros:
              col.i64.push_back(first_us + static_cast<int64_t>(a + r) * 1000);
              break;
            case columnar::ColumnKind::kDouble: col.f64.push_back(1.5); break;
            case columnar::ColumnKind::kBool: col.b.push_back(1); break;
            case columnar::ColumnKind::kString:
              col.str.Append(c == 0 ? exchange : c == 1 ? symbol : c == 2 && !keyless ? key_value : "x");
              break;
          }
        }
      }
      ASSERT_TRUE(w.WriteRowGroup(std::move(rg)).ok());
    }
    ASSERT_TRUE(w.Finish({{"data_type", schema->name},
                          {"instrument_key", key},
                          {"row_count", std::to_string(rows)}})
                    .ok());
    ASSERT_TRUE((*obj)->Commit().ok());
  }

  // What a copy cut short leaves: the first half of the object.
  void Truncate(const Date& day, const std::string& dt, const std::string& key) {
    const std::string name = storage::Layout().TickObjectName(day, dt, "exchange", key);
    auto bytes = store_->Read(name);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    store_->Put(name, bytes->substr(0, bytes->size() / 2));
  }

  void WriteDefinitions(const Date& day) {
    std::vector<pipeline::InstrumentDefinition> defs = {
        Definition("BINANCE-FUTURES:PERPETUAL:BTC-USDT", "binance-futures", "BTCUSDT", "quotes,trades"),
        Definition("BINANCE-FUTURES:PERPETUAL:ETH-USDT", "binance-futures", "ETHUSDT", "trades"),
        Definition("BINANCE-FUTURES:PERPETUAL:XRP-USDT", "binance-futures", "XRPUSDT",
                   "quotes,trades,book_snapshot_10"),
        Definition("DERIBIT:PERPETUAL:BTC-USD", "deribit", "BTC-PERPETUAL", "derivative_ticker,trades"),
    };
    auto r = pipeline::WriteInstrumentsFile(store_.get(), storage::Layout().InstrumentsObjectName(day), defs, {},
                                            parquet::WriterOptions{}, true);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // The tree: every status once (see the file comment).
  void BuildTree() {
    WriteDefinitions(kDay);
    WriteTick(kDay, "trades", "BINANCE-FUTURES:PERPETUAL:BTC-USDT", 250, kDayUs + 5'000'000);  // done
    WriteTick(kDay, "quotes", "BINANCE-FUTURES:PERPETUAL:BTC-USDT", 250, kDayUs);             // truncated
    Truncate(kDay, "quotes", "BINANCE-FUTURES:PERPETUAL:BTC-USDT");
    WriteTick(kDay, "trades", "BINANCE-FUTURES:PERPETUAL:ETH-USDT", 0, 0);                    // no data
    // trades XRP: missing
    WriteTick(kDay, "quotes", "BINANCE-FUTURES:PERPETUAL:XRP-USDT", 10, kDayUs, "trades");    // wrong schema
    WriteTick(kDay, "trades", "DERIBIT:PERPETUAL:BTC-USD", 10, MicrosFromDate(kDay2));        // other day
    WriteTick(kDay, "derivative_ticker", "DERIBIT:PERPETUAL:BTC-USD", 20, kDayUs);            // done
    WriteTick(kDay, "trades", "BINANCE-FUTURES:PERPETUAL:DOGE-USDT", 5, kDayUs);              // unexpected
  }

  std::map<std::string, ItemResult> ByName(const ValidationResult& r) {
    std::map<std::string, ItemResult> m;
    for (const auto& i : r.items) m[i.item.data_type + " " + i.item.instrument_key] = i;
    return m;
  }

  // Validation reads and writes objects only: an in-memory store (no
  // temporary directory).
  std::unique_ptr<mt::testing::MemoryStoreDouble> store_ = std::make_unique<mt::testing::MemoryStoreDouble>();
};

Selection OneDay() {
  Selection s;
  s.from = s.to = kDay;
  return s;
}

// What download was given for deribit's grouped OPTIONS trades of kDay
// (--symbols deribit:OPTIONS).
Selection DeribitOptionsTrades() {
  Selection s = OneDay();
  s.exchanges = {"deribit"};
  s.data_types = {"trades"};
  s.symbols = {"OPTIONS"};
  return s;
}

TEST_F(Tree, DeepFindsEveryStatus) {
  BuildTree();
  auto exp = ExpectedFromDefinitions(store_.get(), OneDay());
  ASSERT_TRUE(exp.ok()) << exp.status().ToString();
  EXPECT_TRUE(exp->definition_problems.empty());
  ASSERT_EQ(exp->items.size(), 7u);  // book_snapshot_10 is not a supported data type
  ASSERT_EQ(exp->notes.size(), 1u);
  ValidateOptions o;
  o.deep = true;
  o.concurrency = 3;
  const ValidationResult res = Validate(store_.get(), *exp, o);
  EXPECT_TRUE(res.store_error.ok()) << res.store_error.ToString();
  auto m = ByName(res);
  ASSERT_EQ(m.size(), 7u);
  const auto& done = m["trades BINANCE-FUTURES:PERPETUAL:BTC-USDT"];
  EXPECT_EQ(done.status, ItemStatus::kDone) << done.reason;
  EXPECT_EQ(done.rows, 250);
  EXPECT_EQ(*done.first_local_ts, kDayUs + 5'000'000);
  EXPECT_EQ(*done.last_local_ts, kDayUs + 5'000'000 + 249'000);
  EXPECT_EQ(done.item.exchange, "binance-futures");
  EXPECT_EQ(done.item.symbol, "BTCUSDT");

  const auto& cut = m["quotes BINANCE-FUTURES:PERPETUAL:BTC-USDT"];
  EXPECT_EQ(cut.status, ItemStatus::kCorrupt);
  EXPECT_NE(cut.reason.find("no PAR1 magic"), std::string::npos) << cut.reason;

  const auto& empty = m["trades BINANCE-FUTURES:PERPETUAL:ETH-USDT"];
  EXPECT_EQ(empty.status, ItemStatus::kNoData) << empty.reason;
  EXPECT_EQ(empty.rows, 0);

  const auto& missing = m["trades BINANCE-FUTURES:PERPETUAL:XRP-USDT"];
  EXPECT_EQ(missing.status, ItemStatus::kMissing);
  EXPECT_EQ(missing.object,
            "raw_tick_data/by_date/day-2020-02-22/data_type-trades/BINANCE-FUTURES:PERPETUAL:XRP-USDT.parquet");

  const auto& schema = m["quotes BINANCE-FUTURES:PERPETUAL:XRP-USDT"];
  EXPECT_EQ(schema.status, ItemStatus::kCorrupt);
  EXPECT_NE(schema.reason.find("schema does not match quotes: column 6 is 'id' BYTE_ARRAY"), std::string::npos)
      << schema.reason;

  const auto& late = m["trades DERIBIT:PERPETUAL:BTC-USD"];
  EXPECT_EQ(late.status, ItemStatus::kCorrupt);
  EXPECT_NE(late.reason.find("outside 2020-02-22"), std::string::npos) << late.reason;

  EXPECT_EQ(m["derivative_ticker DERIBIT:PERPETUAL:BTC-USD"].status, ItemStatus::kDone);
  EXPECT_EQ(res.unexpected_objects, 1u);
  EXPECT_FALSE(Complete(*exp, res));  // exit code 1
}

// Issue 22 item 2: a file whose key and metadata are BTC-USDT's but whose rows
// are another instrument's (what a swapped or mislabelled download stored)
// passed --deep. The exchange and symbol statistics must be the item's.
TEST_F(Tree, DeepChecksTheRowsExchangeAndSymbolAgainstTheItem) {
  WriteDefinitions(kDay);
  WriteTick(kDay, "trades", "BINANCE-FUTURES:PERPETUAL:BTC-USDT", 10, kDayUs, "", 100,
            "BINANCE-FUTURES:PERPETUAL:ETH-USDT");
  WriteTick(kDay, "quotes", "BINANCE-FUTURES:PERPETUAL:BTC-USDT", 250, kDayUs, "", 100, "DERIBIT:PERPETUAL:BTC-USD");
  WriteTick(kDay, "trades", "BINANCE-FUTURES:PERPETUAL:ETH-USDT", 10, kDayUs);
  Selection s = OneDay();
  s.exchanges = {"binance-futures"};
  s.symbols = {"BTCUSDT", "ETHUSDT"};
  s.data_types = {"trades"};
  auto plan = ExpectedFromPlan(s);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ValidateOptions o;
  o.deep = true;
  auto m = ByName(Validate(store_.get(), *plan, o));
  const auto& eth_rows = m["trades BINANCE-FUTURES:PERPETUAL:BTC-USDT"];
  EXPECT_EQ(eth_rows.status, ItemStatus::kCorrupt);
  EXPECT_EQ(eth_rows.reason,
            "rows of symbol 'ETHUSDT' (row group 0 statistics), not this item's (binance-futures BTCUSDT): the file "
            "holds another instrument's data");
  EXPECT_EQ(m["trades BINANCE-FUTURES:PERPETUAL:ETH-USDT"].status, ItemStatus::kDone);
  // Without --deep nothing is read: existence only.
  EXPECT_EQ(ByName(Validate(store_.get(), *plan, ValidateOptions{}))["trades BINANCE-FUTURES:PERPETUAL:BTC-USDT"].status,
            ItemStatus::kDone);

  s.data_types = {"quotes"};
  s.symbols = {"BTCUSDT"};
  plan = ExpectedFromPlan(s);
  ASSERT_TRUE(plan.ok());
  m = ByName(Validate(store_.get(), *plan, o));
  const auto& deribit_rows = m["quotes BINANCE-FUTURES:PERPETUAL:BTC-USDT"];
  EXPECT_EQ(deribit_rows.status, ItemStatus::kCorrupt);
  EXPECT_EQ(deribit_rows.reason,
            "rows of exchange 'deribit' (row group 0 statistics), not this item's (binance-futures BTCUSDT): the file "
            "holds another instrument's data");
}

// Every tick file of this version names its instrument in an instrument_key
// column: --deep checks it is the object's key. Files of earlier versions
// have no such column and stay valid.
TEST_F(Tree, DeepChecksTheInstrumentKeyColumnAndAcceptsFilesWithoutIt) {
  const auto* trades = tardis::FindSchema("trades");
  const std::string key = "BINANCE-FUTURES:PERPETUAL:BTC-USDT";
  const std::string name = storage::Layout().TickObjectName(kDay, "trades", "binance-futures", key);
  WriteTick(kDay, "trades", key, 10, kDayUs);
  FileCheck c = CheckObject(store_.get(), name, *trades, kDay, key, nullptr, "binance-futures", "BTCUSDT");
  EXPECT_EQ(c.status, ItemStatus::kDone) << c.reason;
  WriteTick(kDay, "trades", key, 10, kDayUs, "", 100, "", "", /*keyless=*/true);
  c = CheckObject(store_.get(), name, *trades, kDay, key, nullptr, "binance-futures", "BTCUSDT");
  EXPECT_EQ(c.status, ItemStatus::kDone) << c.reason;
  EXPECT_EQ(c.rows, 10);
  WriteTick(kDay, "trades", key, 250, kDayUs, "", 100, "", "BINANCE-FUTURES:PERPETUAL:ETH-USDT");
  c = CheckObject(store_.get(), name, *trades, kDay, key, nullptr, "binance-futures", "BTCUSDT");
  EXPECT_EQ(c.status, ItemStatus::kCorrupt);
  EXPECT_EQ(c.reason,
            "rows of instrument_key 'BINANCE-FUTURES:PERPETUAL:ETH-USDT' (row group 0 statistics), not this object's "
            "BINANCE-FUTURES:PERPETUAL:BTC-USDT");
}

// An options chain holds many symbols; its instrument_key column must hold
// options of the chain's underlying only.
TEST_F(Tree, DeepChecksAChainsRowKeysAgainstItsUnderlying) {
  const auto* chain = tardis::FindSchema("options_chain");
  const std::string key = "DERIBIT:OPTIONS:BTC-USD";
  const std::string name = storage::Layout().TickObjectName(kDay, "options_chain", "exchange", key);
  WriteTick(kDay, "options_chain", key, 10, kDayUs, "", 100, "", "DERIBIT:OPTION:BTC-USD-200609-9875-PUT");
  FileCheck c = CheckObject(store_.get(), name, *chain, kDay, key, nullptr, "deribit", "OPTIONS");
  EXPECT_EQ(c.status, ItemStatus::kDone) << c.reason;
  WriteTick(kDay, "options_chain", key, 10, kDayUs, "", 100, "", "DERIBIT:OPTION:ETH-USD-200609-200-PUT");
  c = CheckObject(store_.get(), name, *chain, kDay, key, nullptr, "deribit", "OPTIONS");
  EXPECT_EQ(c.status, ItemStatus::kCorrupt);
  EXPECT_EQ(c.reason,
            "rows of instrument_key 'DERIBIT:OPTION:ETH-USD-200609-200-PUT' (row group 0 statistics), not an option "
            "of DERIBIT:OPTIONS:BTC-USD: the file holds another chain's data");
}

TEST_F(Tree, WithoutDeepOnlyExistenceCounts) {
  BuildTree();
  auto exp = ExpectedFromDefinitions(store_.get(), OneDay());
  ASSERT_TRUE(exp.ok());
  const ValidationResult res = Validate(store_.get(), *exp, ValidateOptions{});
  auto m = ByName(res);
  EXPECT_EQ(m["quotes BINANCE-FUTURES:PERPETUAL:BTC-USDT"].status, ItemStatus::kDone);  // truncated, unread
  EXPECT_EQ(m["trades BINANCE-FUTURES:PERPETUAL:XRP-USDT"].status, ItemStatus::kMissing);
  EXPECT_EQ(m["trades BINANCE-FUTURES:PERPETUAL:BTC-USDT"].rows, -1);
  EXPECT_FALSE(Complete(*exp, res));
}

TEST_F(Tree, CompleteTreeIsComplete) {
  WriteDefinitions(kDay);
  WriteTick(kDay, "trades", "BINANCE-FUTURES:PERPETUAL:BTC-USDT", 10, kDayUs);
  WriteTick(kDay, "quotes", "BINANCE-FUTURES:PERPETUAL:BTC-USDT", 10, kDayUs);
  WriteTick(kDay, "trades", "BINANCE-FUTURES:PERPETUAL:ETH-USDT", 0, 0);
  Selection s = OneDay();
  s.exchanges = {"binance-futures"};
  s.data_types = {"trades", "quotes"};
  auto exp = ExpectedFromDefinitions(store_.get(), s);
  ASSERT_TRUE(exp.ok());
  ASSERT_EQ(exp->items.size(), 5u);
  // XRP is still expected: exclude it through --symbols instead.
  s.symbols = {"BTCUSDT", "ETHUSDT"};
  auto plan = ExpectedFromPlan(s);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->items.size(), 4u);
  // ETH quotes are not in the store: drop quotes for ETH by asking trades only for it.
  s.symbols = {"BTCUSDT"};
  plan = ExpectedFromPlan(s);
  ASSERT_TRUE(plan.ok());
  ValidateOptions o;
  o.deep = true;
  ValidationResult res = Validate(store_.get(), *plan, o);
  EXPECT_TRUE(Complete(*plan, res));  // exit code 0
  s.data_types = {"trades"};
  s.symbols = {"BTCUSDT", "ETHUSDT"};
  plan = ExpectedFromPlan(s);
  res = Validate(store_.get(), *plan, o);
  EXPECT_TRUE(Complete(*plan, res));
  EXPECT_EQ(res.items[1].status, ItemStatus::kNoData);
}

// A by_date listing is the whole day's: validate --data-types trades
// --exchanges binance-futures counted the day's quotes and deribit objects
// as unexpected (thousands on a real day). Only objects of the selection's
// data types and venues that no item took are.
TEST_F(Tree, UnexpectedObjectsAreThoseOfTheSelectionsTypesAndVenues) {
  WriteDefinitions(kDay);
  WriteTick(kDay, "trades", "BINANCE-FUTURES:PERPETUAL:BTC-USDT", 10, kDayUs);
  WriteTick(kDay, "quotes", "BINANCE-FUTURES:PERPETUAL:BTC-USDT", 10, kDayUs);
  WriteTick(kDay, "trades", "DERIBIT:PERPETUAL:BTC-USD", 10, kDayUs);
  WriteTick(kDay, "derivative_ticker", "DERIBIT:PERPETUAL:BTC-USD", 10, kDayUs);
  WriteTick(kDay, "trades", "BINANCE-FUTURES:PERPETUAL:DOGE-USDT", 5, kDayUs);  // no definition lists it
  Selection s = OneDay();
  s.exchanges = {"binance-futures"};
  s.data_types = {"trades"};
  auto exp = ExpectedFromDefinitions(store_.get(), s);
  ASSERT_TRUE(exp.ok()) << exp.status().ToString();
  ValidationResult res = Validate(store_.get(), *exp, ValidateOptions{});
  EXPECT_EQ(res.unexpected_objects, 1u);  // DOGE
  // Every type and exchange of the day: the same one.
  exp = ExpectedFromDefinitions(store_.get(), OneDay());
  ASSERT_TRUE(exp.ok());
  res = Validate(store_.get(), *exp, ValidateOptions{});
  EXPECT_EQ(res.unexpected_objects, 1u);
}

TEST_F(Tree, DaysWithoutDefinitionsFail) {
  WriteDefinitions(kDay);
  Selection s = OneDay();
  s.to = kDay2;
  auto exp = ExpectedFromDefinitions(store_.get(), s);
  ASSERT_TRUE(exp.ok());
  ASSERT_EQ(exp->definition_problems.size(), 1u);
  EXPECT_EQ(exp->definition_problems[0].first, kDay2);
  EXPECT_NE(exp->definition_problems[0].second.find("no instrument definitions"), std::string::npos);
  // A definitions file that is not Parquet is a problem of its day, not a crash.
  auto w = store_->Create(storage::Layout().InstrumentsObjectName(kDay2), true);
  ASSERT_TRUE((*w)->Append("not parquet at all").ok());
  ASSERT_TRUE((*w)->Commit().ok());
  exp = ExpectedFromDefinitions(store_.get(), s);
  ASSERT_TRUE(exp.ok());
  ASSERT_EQ(exp->definition_problems.size(), 1u);
  EXPECT_NE(exp->definition_problems[0].second.find("PAR1"), std::string::npos);
  const ValidationResult res = Validate(store_.get(), *exp, ValidateOptions{});
  EXPECT_FALSE(Complete(*exp, res));
}

TEST_F(Tree, PlanRejectsUnknownSymbolsAndNotesGroupedOnes) {
  Selection s = OneDay();
  s.exchanges = {"deribit"};
  s.data_types = {"options_chain"};
  s.symbols = {"OPTIONS"};
  auto plan = ExpectedFromPlan(s);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->items.empty());
  EXPECT_EQ(plan->notes.size(), 1u);
  s.data_types = {"no_such_type"};
  EXPECT_EQ(ExpectedFromPlan(s).status().code(), Status::Code::kUsage);
}

// A completion record that cannot be read (cut short, not JSON) leaves the
// item's state unknown: corrupt, with the record's error and what rewrites
// it, not "missing" with no reason beside objects of its file counted as
// unexpected. For the whole file's item (no definitions) and for each item
// of an instrument whose record it is; the instrument's object, when there,
// is the item's (not an unexpected one).
TEST_F(Tree, ACompletionRecordThatCannotBeReadMakesItsItemsCorrupt) {
  WriteOptionObjectsRecord({0, 1, 2});
  PutOptionObject(0, 100);
  const std::string name = storage::Layout().ItemRecordName(kDay, "trades", "deribit", "OPTIONS");
  {
    auto obj = store_->Create(name, true);
    ASSERT_TRUE(obj.ok());
    ASSERT_TRUE((*obj)->Append("{\n \"item\": \"2020-02-22/trades/deribit/OPTIONS\",\n \"outc").ok());
    ASSERT_TRUE((*obj)->Commit().ok());
  }
  const Selection s = DeribitOptionsTrades();
  auto exp = ExpectedFromPlan(s, nullptr, store_.get());
  ASSERT_TRUE(exp.ok()) << exp.status().ToString();
  ASSERT_EQ(exp->items.size(), 1u);
  ValidationResult res = Validate(store_.get(), *exp, ValidateOptions{});
  ASSERT_TRUE(res.store_error.ok()) << res.store_error.ToString();
  EXPECT_EQ(res.items[0].status, ItemStatus::kCorrupt);
  EXPECT_NE(res.items[0].reason.find("completion record of deribit OPTIONS cannot be read"), std::string::npos)
      << res.items[0].reason;
  EXPECT_NE(res.items[0].reason.find("download --force"), std::string::npos) << res.items[0].reason;
  EXPECT_FALSE(Complete(*exp, res));

  ExpectedSet by_key;  // as definitions would expect them
  for (int i : {0, 1}) by_key.items.push_back(ExpectedItem{kDay, "trades", OptionKey(i), "deribit", "OPTIONS"});
  res = Validate(store_.get(), by_key, ValidateOptions{});
  ASSERT_TRUE(res.store_error.ok()) << res.store_error.ToString();
  ASSERT_EQ(res.items.size(), 2u);
  for (size_t i = 0; i < 2; i++) {
    EXPECT_EQ(res.items[i].status, ItemStatus::kCorrupt) << i;
    EXPECT_NE(res.items[i].reason.find("completion record of deribit OPTIONS cannot be read"), std::string::npos)
        << res.items[i].reason;
  }
  EXPECT_EQ(res.unexpected_objects, 0u);  // option 0's object is its item's
}

// validate --symbols deribit:OPTIONS (the selection download was given)
// expected nothing and said "complete", exit 0, on an empty store. With the
// store, a grouped item expects what its completion record lists, and
// without a record it is one missing item of the whole file.
TEST_F(Tree, GroupedSymbolsExpectWhatTheirCompletionRecordLists) {
  const Selection s = DeribitOptionsTrades();
  auto exp = ExpectedFromPlan(s, nullptr, store_.get());
  ASSERT_TRUE(exp.ok()) << exp.status().ToString();
  ASSERT_EQ(exp->items.size(), 1u);
  EXPECT_EQ(exp->items[0].instrument_key, "DERIBIT:OPTIONS");
  EXPECT_TRUE(exp->notes.empty());
  ValidationResult res = Validate(store_.get(), *exp, ValidateOptions{});
  EXPECT_EQ(res.items[0].status, ItemStatus::kMissing);
  EXPECT_NE(res.items[0].reason.find("no completion record for deribit OPTIONS"), std::string::npos)
      << res.items[0].reason;
  EXPECT_FALSE(Complete(*exp, res));

  // The record lists two options and a symbol without a key (its object
  // named DERIBIT:UNKEYED:BTC-FS-X): all three are expected, one stored.
  const std::string btc = "DERIBIT:OPTION:BTC-USD-200609-9875-PUT", eth = "DERIBIT:OPTION:ETH-USD-200609-250-CALL";
  const std::string unkeyed = "DERIBIT:UNKEYED:BTC-FS-X";
  WriteTick(kDay, "trades", btc, 10, kDayUs);
  pipeline::ItemRecord rec;
  WriteOptionsRecord("trades", {{btc, 10}, {eth, 2}, {"", 1}}, &rec);
  const pipeline::WorkItem item{kDay, "trades", "deribit", "OPTIONS", {}};
  exp = ExpectedFromPlan(s, nullptr, store_.get());
  ASSERT_TRUE(exp.ok());
  ASSERT_EQ(exp->items.size(), 3u);
  res = Validate(store_.get(), *exp, ValidateOptions{});
  auto by = ByName(res);
  EXPECT_EQ(by["trades " + btc].status, ItemStatus::kDone);
  for (const std::string& key : {eth, unkeyed}) {
    EXPECT_EQ(by["trades " + key].status, ItemStatus::kMissing) << key;
    EXPECT_NE(by["trades " + key].reason.find("listed in the completion record of deribit OPTIONS"), std::string::npos)
        << key;
  }
  EXPECT_FALSE(Complete(*exp, res));

  // A 404 recorded for the file: not available, which is complete.
  rec.outcome = "not_available";
  rec.objects.clear();
  ASSERT_TRUE(pipeline::WriteItemRecord(store_.get(), item, rec, true).ok());
  exp = ExpectedFromPlan(s, nullptr, store_.get());
  ASSERT_TRUE(exp.ok());
  ASSERT_EQ(exp->items.size(), 1u);
  res = Validate(store_.get(), *exp, ValidateOptions{});
  EXPECT_EQ(res.items[0].status, ItemStatus::kNotAvailable);
  EXPECT_TRUE(Complete(*exp, res));
}

TEST_F(Tree, MissingReportRoundTrips) {
  BuildTree();
  auto exp = ExpectedFromDefinitions(store_.get(), OneDay());
  ValidateOptions o;
  o.deep = true;
  const ValidationResult res = Validate(store_.get(), *exp, o);
  ASSERT_TRUE(WriteMissingReport(store_.get(), kDay, res.items, 0, res.items.size(), kDayUs, "test").ok());
  auto back = ReadMissingReport(store_.get(), kDay);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 4u);  // 1 missing + 3 corrupt
  size_t missing = 0;
  for (const auto& b : *back) {
    EXPECT_EQ(b.item.day, kDay);
    missing += b.status == ItemStatus::kMissing;
    if (b.item.instrument_key == "BINANCE-FUTURES:PERPETUAL:XRP-USDT" && b.item.data_type == "trades") {
      EXPECT_EQ(b.item.exchange, "binance-futures");
      EXPECT_EQ(b.item.symbol, "XRPUSDT");
    }
  }
  EXPECT_EQ(missing, 1u);
  // A complete day gets a zero-row report.
  ASSERT_TRUE(WriteMissingReport(store_.get(), kDay2, ItemResults(), 0, 0, kDayUs, "test").ok());
  auto none = ReadMissingReport(store_.get(), kDay2);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto f = parquet::FileReader::Open(store_.get(), storage::Layout().MissingReportObjectName(kDay2));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->metadata().num_rows, 0);
  EXPECT_EQ((*f)->metadata().leaves.size(), MissingReportSchema().size());
}

TEST_F(Tree, PlanFromReportsListsExactlyTheReportedItems) {
  BuildTree();
  auto exp = ExpectedFromDefinitions(store_.get(), OneDay());
  ValidateOptions o;
  o.deep = true;
  const ValidationResult res = Validate(store_.get(), *exp, o);
  ASSERT_TRUE(WriteMissingReport(store_.get(), kDay, res.items, 0, res.items.size(), kDayUs, "test").ok());
  auto plan = pipeline::PlanFromReports(store_.get(), kDay, kDay2, {}, {});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->missing, 1u);
  EXPECT_EQ(plan->corrupt, 3u);
  ASSERT_EQ(plan->days_without_report, std::vector<Date>{kDay2});
  std::vector<std::string> ids;
  for (const auto& w : plan->items) ids.push_back(w.Id());
  EXPECT_EQ(ids, (std::vector<std::string>{"2020-02-22/quotes/binance-futures/BTCUSDT",
                                           "2020-02-22/quotes/binance-futures/XRPUSDT",
                                           "2020-02-22/trades/binance-futures/XRPUSDT",
                                           "2020-02-22/trades/deribit/BTC-PERPETUAL"}));
  plan = pipeline::PlanFromReports(store_.get(), kDay, kDay, {"deribit"}, {});
  ASSERT_EQ(plan->items.size(), 1u);
  plan = pipeline::PlanFromReports(store_.get(), kDay, kDay, {}, {"quotes"});
  ASSERT_EQ(plan->items.size(), 2u);
}

size_t Count(const std::string& html, const std::string& needle) {
  size_t n = 0;
  for (size_t p = html.find(needle); p != std::string::npos; p = html.find(needle, p + 1)) n++;
  return n;
}

TEST_F(Tree, HtmlReportHasOneCellPerItemAndNothingExternal) {
  BuildTree();
  auto exp = ExpectedFromDefinitions(store_.get(), OneDay());
  ValidateOptions o;
  o.deep = true;
  const ValidationResult res = Validate(store_.get(), *exp, o);
  ReportInfo info;
  info.from = info.to = kDay;
  info.deep = true;
  info.store = "test <store>";
  info.expected_from = exp->source;
  const std::string html = RenderHtmlReport(info, res.items);
  EXPECT_EQ(Count(html, "class=\"cell\""), 7u);
  EXPECT_EQ(Count(html, "class=\"cell\" x="), 7u);
  std::regex cell("<rect class=\"cell\"[^>]*data-status=\"([a-z_]+)\"");
  std::map<std::string, int> by;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), cell); it != std::sregex_iterator(); ++it) {
    by[(*it)[1]]++;
  }
  EXPECT_EQ(by["done"], 2);
  EXPECT_EQ(by["no_data"], 1);
  EXPECT_EQ(by["missing"], 1);
  EXPECT_EQ(by["corrupt"], 3);
  EXPECT_EQ(Count(html, "<tr data-status=\"corrupt\">"), 3u);
  EXPECT_NE(html.find("test &lt;store&gt;"), std::string::npos);
  EXPECT_EQ(Count(html, "<script"), 0u);
  EXPECT_EQ(Count(html, "<link"), 0u);
  EXPECT_EQ(Count(html, "url("), 0u);
  EXPECT_EQ(Count(html, "@import"), 0u);
  EXPECT_EQ(Count(html, "http"), Count(html, "http://www.w3.org/2000/svg"));
}

// A grouped item of many instruments: the record (more than one piece of
// text) is indexed once, by key or by object name; an instrument it does not
// list had no rows, one it lists without an object is missing.
TEST_F(Tree, AGroupedRecordOfManyObjectsListsByKeyOrName) {
  const storage::Layout layout;
  auto key_of = &Tree::OptionKey;
  ExpectedSet exp;
  constexpr int kListed = 20000;
  std::vector<int> listed;
  for (int i = 0; i < kListed + 2; i++) {
    exp.items.push_back(ExpectedItem{kDay, "trades", key_of(i), "deribit", "OPTIONS"});
    if (i < kListed) listed.push_back(i);  // the last two are not in the record
  }
  pipeline::ItemRecord rec;
  WriteOptionObjectsRecord(listed, &rec);
  ASSERT_GT(pipeline::EncodeItemRecord(rec).size(), 4u << 20);  // more than one piece
  for (int i : {0, 1, 7777}) PutOptionObject(i, 100);
  const ValidationResult res = Validate(store_.get(), exp, ValidateOptions{});
  ASSERT_TRUE(res.store_error.ok()) << res.store_error.ToString();
  ASSERT_EQ(res.items.size(), exp.items.size());
  size_t done = 0, missing = 0, no_data = 0;
  for (size_t i = 0; i < res.items.size(); i++) {
    const ItemResult r = res.items[i];
    EXPECT_EQ(r.item.instrument_key, key_of(static_cast<int>(i)));
    EXPECT_EQ(r.object, layout.TickObjectName(kDay, "trades", "deribit", key_of(static_cast<int>(i))));
    if (r.status == ItemStatus::kDone) {
      done++;
      EXPECT_EQ(r.bytes, 100u);
    } else if (r.status == ItemStatus::kMissing) {
      missing++;
      EXPECT_EQ(r.reason, "listed in the completion record of deribit OPTIONS, but no object");
    } else if (r.status == ItemStatus::kNoData) {
      no_data++;
      EXPECT_GE(i, static_cast<size_t>(kListed));
      EXPECT_EQ(r.reason, "deribit OPTIONS had no rows for this instrument");
      EXPECT_EQ(r.rows, 0);
    }
  }
  EXPECT_EQ(done, 3u);
  EXPECT_EQ(missing, kListed - 3u);
  EXPECT_EQ(no_data, 2u);
  EXPECT_EQ(res.items.status(1), ItemStatus::kDone);  // listed by name only
  EXPECT_EQ(res.items.status(3), ItemStatus::kMissing);
}

// ItemResults gives back each item as it was set, whatever its strings
// share with others.
TEST(ItemResults, GivesBackEveryFieldOfEachItem) {
  std::vector<ItemResult> in(1);  // first, an item of empty strings
  for (int i = 1; i < 300; i++) {
    ItemResult r;
    r.item = ExpectedItem{Date{2020, 2, 1 + i % 28}, i % 3 ? "trades" : "book_snapshot_25",
                          "DERIBIT:OPTION:BTC-" + std::to_string(i), "deribit", i % 5 ? "OPTIONS" : "BTC-PERPETUAL"};
    r.status = static_cast<ItemStatus>(i % kNumStatuses);
    // The key inside the name, twice, or not at all; and a name of the key alone.
    r.object = i % 4 == 0   ? "raw/" + r.item.instrument_key + ".parquet"
               : i % 4 == 1 ? r.item.instrument_key + "/" + r.item.instrument_key + ".x"
               : i % 4 == 2 ? "_items/deribit/OPTIONS.json"
                            : r.item.instrument_key;
    r.reason = i % 7 ? "no object" : "reason " + std::to_string(i);
    r.absent = i % 2;
    r.bytes = static_cast<uint64_t>(i) * 1000;
    r.rows = i % 6 ? i : -1;
    if (i % 8) r.first_local_ts = -i;
    if (i % 9) r.last_local_ts = i * 7;
    in.push_back(r);
  }
  in[5].item.instrument_key = "";  // no key
  in[5].object = "raw/.parquet";
  in[6].reason = std::string(3 << 20, 'r');  // longer than the blocks strings are kept in
  in[7].reason = in[6].reason + "s";
  ItemResults out(in);
  ASSERT_EQ(out.size(), in.size());
  auto same = [](const ItemResult& a, const ItemResult& b) {
    EXPECT_EQ(a.item.day, b.item.day);
    EXPECT_EQ(a.item.data_type, b.item.data_type);
    EXPECT_EQ(a.item.instrument_key, b.item.instrument_key);
    EXPECT_EQ(a.item.exchange, b.item.exchange);
    EXPECT_EQ(a.item.symbol, b.item.symbol);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.object, b.object);
    EXPECT_EQ(a.reason, b.reason);
    EXPECT_EQ(a.absent, b.absent);
    EXPECT_EQ(a.bytes, b.bytes);
    EXPECT_EQ(a.rows, b.rows);
    EXPECT_EQ(a.first_local_ts, b.first_local_ts);
    EXPECT_EQ(a.last_local_ts, b.last_local_ts);
  };
  size_t i = 0;
  for (const ItemResult& r : out) {
    SCOPED_TRACE(i);
    same(r, in[i]);
    EXPECT_EQ(out.status(i), in[i].status);
    EXPECT_EQ(out.day(i), in[i].item.day);
    EXPECT_EQ(out.absent(i), in[i].absent);
    EXPECT_EQ(out.exchange(i), in[i].item.exchange);
    i++;
  }
  EXPECT_EQ(i, in.size());
  // Set and SetStatus change that item only.
  ItemResult r = in[10];
  r.reason = "changed";
  r.object = "elsewhere";
  r.rows = 99;
  out.Set(10, r);
  same(out[10], r);
  same(out[11], in[11]);
  out.SetStatus(12, ItemStatus::kNoDataIncident, "incident");
  EXPECT_EQ(out[12].status, ItemStatus::kNoDataIncident);
  EXPECT_EQ(out[12].reason, "incident");
  EXPECT_EQ(out[12].object, in[12].object);
  same(out[13], in[13]);
}

// Results past their memory budget (core/spill_vector.h) go to a temporary
// file and read back whole: every field of each, in order and at random,
// after Set and SetStatus of one in the file.
TEST(ItemResults, ManyResultsGoToATemporaryFileAndReadBack) {
  constexpr size_t kN = 150000;
  auto make = [](size_t i) {
    ItemResult r;
    r.item = ExpectedItem{CivilFromDays(static_cast<int64_t>(18300 + i % 3)), i % 2 ? "trades" : "quotes",
                          "DERIBIT:OPTION:BTC-" + std::to_string(i), "deribit", "OPTIONS"};
    r.status = static_cast<ItemStatus>(i % kNumStatuses);
    r.object = "raw/" + r.item.instrument_key + ".parquet";
    r.reason = "reason " + std::to_string(i % 11);
    r.absent = i % 3 == 0;
    r.bytes = i * 10;
    r.rows = i % 4 ? static_cast<int64_t>(i) : -1;
    if (i % 5) r.first_local_ts = -static_cast<int64_t>(i);
    if (i % 7) r.last_local_ts = static_cast<int64_t>(i) * 3;
    return r;
  };
  ItemResults out;
  for (size_t i = 0; i < kN; i++) out.push_back(make(i));
  ASSERT_EQ(out.size(), kN);
  EXPECT_GT(out.spilled(), kN / 2);
  auto same = [](const ItemResult& a, const ItemResult& b) {
    return a.item.day == b.item.day && a.item.data_type == b.item.data_type &&
           a.item.instrument_key == b.item.instrument_key && a.item.exchange == b.item.exchange &&
           a.item.symbol == b.item.symbol && a.status == b.status && a.object == b.object && a.reason == b.reason &&
           a.absent == b.absent && a.bytes == b.bytes && a.rows == b.rows && a.first_local_ts == b.first_local_ts &&
           a.last_local_ts == b.last_local_ts;
  };
  size_t i = 0, wrong = 0;
  for (const ItemResult& r : out) wrong += !same(r, make(i++));
  EXPECT_EQ(i, kN);
  EXPECT_EQ(wrong, 0u);
  for (size_t k = 0; k < 2000; k++) {
    const size_t j = (k * 7919) % kN;
    ASSERT_TRUE(same(out[j], make(j))) << j;
    ASSERT_EQ(out.status(j), make(j).status) << j;
    ASSERT_EQ(out.instrument_key(j), make(j).item.instrument_key) << j;
    ASSERT_EQ(out.rows(j), make(j).rows) << j;
  }
  ItemResult changed = make(10);
  changed.status = ItemStatus::kCorrupt;
  changed.reason = "truncated";
  changed.rows = 5;
  changed.first_local_ts.reset();
  out.Set(10, changed);
  out.SetStatus(20, ItemStatus::kNoDataIncident, "incident");
  EXPECT_TRUE(same(out[10], changed));
  EXPECT_EQ(out[20].status, ItemStatus::kNoDataIncident);
  EXPECT_EQ(out[20].reason, "incident");
  EXPECT_EQ(out[20].object, make(20).object);
  EXPECT_TRUE(same(out[11], make(11)));
  EXPECT_TRUE(same(out[kN - 1], make(kN - 1)));
  EXPECT_TRUE(out.io_status().ok());
}

// A day's report of more rows than a row group holds is written in row
// groups (pipeline::kMissingReportRowGroupRows each), its rows the day's
// reported items of the span in order; items of other days and done ones
// are not in it.
TEST(MissingReport, ManyRowsAreWrittenInRowGroupsInOrder) {
  testing::MemoryStoreDouble store;
  constexpr size_t kRows = pipeline::kMissingReportRowGroupRows + 1000;
  ItemResults items;
  auto key = [](size_t i) { return "DERIBIT:OPTION:BTC-" + std::to_string(1000000 + i); };
  ItemResult other;
  other.item = ExpectedItem{kDay2, "trades", "X:Y:Z", "deribit", "OPTIONS"};
  items.push_back(other);  // another day's, in the span
  for (size_t i = 0; i < kRows; i++) {
    ItemResult r;
    r.item = ExpectedItem{kDay, "trades", key(i), "deribit", "OPTIONS"};
    r.status = i % 2 ? ItemStatus::kCorrupt : ItemStatus::kMissing;
    r.object = "raw/" + r.item.instrument_key + ".parquet";
    r.reason = "because " + std::to_string(i);
    items.push_back(r);
    if (i % 1000 == 0) {
      r.status = ItemStatus::kDone;  // not reported
      items.push_back(r);
    }
  }
  ASSERT_TRUE(WriteMissingReport(&store, kDay, items, 0, items.size(), kDayUs, "test").ok());
  auto f = parquet::FileReader::Open(&store, storage::Layout().MissingReportObjectName(kDay));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ((*f)->metadata().row_groups.size(), 2u);
  EXPECT_EQ((*f)->metadata().row_groups[0].num_rows, static_cast<int64_t>(pipeline::kMissingReportRowGroupRows));
  EXPECT_EQ((*f)->metadata().num_rows, static_cast<int64_t>(kRows));
  auto back = ReadMissingReport(&store, kDay);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), kRows);
  size_t wrong = 0;
  for (size_t i = 0; i < kRows; i++) {
    const ReportedItem& b = (*back)[i];
    wrong += b.item.instrument_key != key(i) || b.reason != "because " + std::to_string(i) || b.item.day != kDay ||
             b.status != (i % 2 ? ItemStatus::kCorrupt : ItemStatus::kMissing);
  }
  EXPECT_EQ(wrong, 0u);
  // Of a span without that day's items: a zero-row report.
  ASSERT_TRUE(WriteMissingReport(&store, kDay2, items, 1, items.size(), kDayUs, "test").ok());
  auto none = ReadMissingReport(&store, kDay2);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// Every row an EarlierRows gives, in order.
std::vector<pipeline::MissingReportRow> AllRows(EarlierRows* rows) {
  std::vector<pipeline::MissingReportRow> out;
  const Status st = rows->Next(rows->size(), &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

// The caps of EarlierRowsToKeep the tests below run with: the default
// (reports of these tests held in memory) and none (every report sorted in
// temporary files); both keep the same rows.
constexpr size_t kHeldRowCaps[] = {pipeline::kMissingReportRowGroupRows, 0};

// A run over one data type keeps the rows of the day's report that another
// run wrote for items it did not check, with their checked_at, after its
// own rows (across row groups too); an item it checked loses its old row
// whatever its status now.
TEST(MissingReport, RowsOfItemsTheRunDidNotCheckAreKept) {
  for (const size_t cap : kHeldRowCaps) {
    SCOPED_TRACE("held rows " + std::to_string(cap));
    testing::MemoryStoreDouble store;
    constexpr size_t kEarlier = pipeline::kMissingReportRowGroupRows;  // the most held in memory
    auto key = [](size_t i) { return "DERIBIT:OPTION:BTC-" + std::to_string(1000000 + i); };
    ItemResults quotes;
    for (size_t i = 0; i < kEarlier; i++) {
      ItemResult r;
      r.item = ExpectedItem{kDay, "quotes", key(i), "deribit", "OPTIONS"};
      r.status = ItemStatus::kMissing;
      r.reason = "q" + std::to_string(i);
      quotes.push_back(r);
    }
    ASSERT_TRUE(WriteMissingReport(&store, kDay, quotes, 0, quotes.size(), kDayUs, "test").ok());
    // A trades run (two items missing) that also checked quotes item 0, now
    // done: its rows and the kept ones make two row groups.
    ItemResults trades;
    ItemResult t;
    t.item = ExpectedItem{kDay, "trades", key(0), "deribit", "OPTIONS"};
    t.status = ItemStatus::kMissing;
    trades.push_back(t);
    t.item.instrument_key = key(1);
    trades.push_back(t);
    ItemResult q0;
    q0.item = ExpectedItem{kDay, "quotes", key(0), "deribit", "OPTIONS"};
    q0.status = ItemStatus::kDone;
    trades.push_back(q0);
    auto earlier = EarlierRowsToKeep(&store, kDay, trades, 0, trades.size(), cap);
    ASSERT_TRUE(earlier.ok()) << earlier.status().ToString();
    EXPECT_EQ(earlier->sorted(), cap == 0);
    ASSERT_EQ(earlier->size(), kEarlier - 1);
    const int64_t later = kDayUs + 3600000000;
    ASSERT_TRUE(WriteMissingReport(&store, kDay, trades, 0, trades.size(), later, "test", &*earlier).ok());
    auto back = pipeline::ReadMissingReportRows(&store, kDay);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_EQ(back->size(), kEarlier + 1);
    for (size_t i : {0, 1}) {
      EXPECT_EQ((*back)[i].data_type, "trades");
      EXPECT_EQ((*back)[i].instrument_key, key(i));
      EXPECT_EQ((*back)[i].checked_at, later);
    }
    size_t wrong = 0;
    for (size_t i = 1; i < kEarlier; i++) {
      const auto& b = (*back)[i + 1];
      wrong += b.data_type != "quotes" || b.instrument_key != key(i) || b.reason != "q" + std::to_string(i) ||
               b.status != "missing" || b.checked_at != kDayUs;
    }
    EXPECT_EQ(wrong, 0u);
    // No stored report: nothing to keep.
    auto none = EarlierRowsToKeep(&store, kDay2, trades, 0, trades.size(), cap);
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
  }
}

// A stored report past the rows held in memory (a grouped item of that
// many objects missing) keeps its rows all the same: a run over another
// data type writes its own rows, then every earlier row in order, with its
// reason and checked_at; the earlier row of an item it checked goes. (It
// was once replaced whole, with a warning: those rows were lost to
// download --from-report.)
TEST(MissingReport, RowsOfAReportPastTheHeldRowsAreKept) {
  testing::MemoryStoreDouble store;
  constexpr size_t kEarlier = pipeline::kMissingReportRowGroupRows + 5000;
  auto key = [](size_t i) { return "DERIBIT:OPTION:BTC-" + std::to_string(1000000 + i); };
  ItemResults objects;
  for (size_t i = 0; i < kEarlier; i++) {
    ItemResult r;
    r.item = ExpectedItem{kDay, "trades", key(i), "deribit", "OPTIONS"};
    r.status = i % 3 ? ItemStatus::kMissing : ItemStatus::kCorrupt;
    r.reason = "t" + std::to_string(i);
    r.object = "raw/" + key(i) + ".parquet";
    objects.push_back(r);
  }
  ASSERT_TRUE(WriteMissingReport(&store, kDay, objects, 0, objects.size(), kDayUs, "test").ok());
  // A quotes run: one file missing, and trades object 7 checked again (done).
  ItemResults quotes;
  ItemResult q;
  q.item = ExpectedItem{kDay, "quotes", "DERIBIT:FUTURE:BTC-27MAR20", "deribit", "BTC-27MAR20"};
  q.status = ItemStatus::kMissing;
  q.reason = "quotes";
  quotes.push_back(q);
  ItemResult t7;
  t7.item = ExpectedItem{kDay, "trades", key(7), "deribit", "OPTIONS"};
  t7.status = ItemStatus::kDone;
  quotes.push_back(t7);
  auto earlier = EarlierRowsToKeep(&store, kDay, quotes, 0, quotes.size());
  ASSERT_TRUE(earlier.ok()) << earlier.status().ToString();
  EXPECT_TRUE(earlier->sorted());
  ASSERT_EQ(earlier->size(), kEarlier - 1);
  const int64_t later = kDayUs + 3600000000;
  ASSERT_TRUE(WriteMissingReport(&store, kDay, quotes, 0, quotes.size(), later, "test", &*earlier).ok());
  auto back = pipeline::ReadMissingReportRows(&store, kDay);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), kEarlier);
  EXPECT_EQ((*back)[0].data_type, "quotes");
  EXPECT_EQ((*back)[0].reason, "quotes");
  EXPECT_EQ((*back)[0].checked_at, later);
  size_t wrong = 0, r = 1;
  for (size_t i = 0; i < kEarlier; i++) {
    if (i == 7) continue;
    const auto& b = (*back)[r++];
    wrong += b.data_type != "trades" || b.instrument_key != key(i) || b.reason != "t" + std::to_string(i) ||
             b.status != (i % 3 ? "missing" : "corrupt") || b.object_name != "raw/" + key(i) + ".parquet" ||
             b.checked_at != kDayUs || b.day != kDay;
  }
  EXPECT_EQ(wrong, 0u);
}

// Past the held rows, the rows kept are those kept in memory: of a stored
// report in row groups of three rows (as another writer may make them),
// rows of another day go, of rows of one item only the first stays, and an
// item the run checked loses every row of it.
TEST(MissingReport, RowsKeptPastTheHeldRowsAreThoseKeptInMemory) {
  testing::MemoryStoreDouble store;
  struct Row {
    Date day;
    const char* type;
    const char* key;
    const char* reason;
  };
  const std::vector<Row> stored = {
      {kDay, "trades", "K5", "a"},  {kDay, "trades", "K1", "b"},  {kDay2, "trades", "K2", "c"},
      {kDay, "trades", "K5", "d"},  {kDay, "quotes", "K1", "e"},  {kDay, "trades", "K3", "f"},
      {kDay, "trades", "K3", "g"},  {kDay, "trades", "K0", "h"},  {kDay, "trades", "K9", "i"},
      {kDay, "trades", "K4", "j"},
  };
  auto column = [&](size_t c, size_t first, size_t n, const std::function<void(std::string_view)>& append) {
    for (size_t r = first; r < first + n; r++) {
      const Row& x = stored[r];
      const std::string values[] = {FormatDate(x.day), x.type, x.key, "deribit", "S", "missing", x.reason, ""};
      append(values[c]);
    }
    return Status::OK();
  };
  auto checked_at_of = [](size_t first, size_t n, int64_t* values) {
    for (size_t r = 0; r < n; r++) values[r] = static_cast<int64_t>(first + r);
    return Status::OK();
  };
  ASSERT_TRUE(pipeline::WriteMissingReportColumns(&store, kDay, stored.size(), column, kDayUs, "test", 3, checked_at_of)
                  .ok());
  ItemResults run;
  for (const char* k : {"K3", "K9", "K7"}) {
    ItemResult r;
    r.item = ExpectedItem{kDay, "trades", k, "deribit", "S"};
    r.status = ItemStatus::kDone;
    run.push_back(r);
  }
  std::vector<std::string> kept[2];
  for (const size_t cap : kHeldRowCaps) {
    auto earlier = EarlierRowsToKeep(&store, kDay, run, 0, run.size(), cap);
    ASSERT_TRUE(earlier.ok()) << earlier.status().ToString();
    for (const auto& e : AllRows(&*earlier)) {
      kept[cap == 0].push_back(e.data_type + " " + e.instrument_key + " " + e.reason + " " +
                               std::to_string(e.checked_at));
    }
  }
  const std::vector<std::string> expected = {"trades K5 a 0", "trades K1 b 1", "quotes K1 e 4", "trades K0 h 7",
                                             "trades K4 j 9"};
  EXPECT_EQ(kept[0], expected);
  EXPECT_EQ(kept[1], expected);
}

// A grouped file's rows are superseded by a run that judged the file again,
// whichever way each run saw it: the row of the whole file (no completion
// record then) by the objects its record now lists, and the rows of its
// objects by the item of the whole file (its record gone since). Another
// file's rows stay.
TEST(MissingReport, RowsOfAGroupedFileARunCheckedAgainAreNotKept) {
  for (const size_t cap : kHeldRowCaps) {
    SCOPED_TRACE("held rows " + std::to_string(cap));
    testing::MemoryStoreDouble store;
    auto item = [](const std::string& symbol, const std::string& key, ItemStatus status) {
      ItemResult r;
      r.item = ExpectedItem{kDay, "trades", key, "deribit", symbol};
      r.status = status;
      return r;
    };
    const std::string whole = GroupedItemKey("deribit", "OPTIONS");
    ItemResults first;
    first.push_back(item("OPTIONS", whole, ItemStatus::kMissing));
    first.push_back(item("FUTURES", "DERIBIT:FUTURE:BTC-27MAR20", ItemStatus::kMissing));
    ASSERT_TRUE(WriteMissingReport(&store, kDay, first, 0, first.size(), kDayUs, "test").ok());
    // Downloaded since: the record lists two objects, both present.
    ItemResults second;
    second.push_back(item("OPTIONS", "DERIBIT:OPTION:BTC-27MAR20-9000-C", ItemStatus::kDone));
    second.push_back(item("OPTIONS", "DERIBIT:OPTION:BTC-27MAR20-9000-P", ItemStatus::kDone));
    auto kept = EarlierRowsToKeep(&store, kDay, second, 0, second.size(), cap);
    ASSERT_TRUE(kept.ok()) << kept.status().ToString();
    auto rows = AllRows(&*kept);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].symbol, "FUTURES");
    // The other way: objects reported, then the whole file.
    ItemResults objects;
    objects.push_back(item("OPTIONS", "DERIBIT:OPTION:BTC-27MAR20-9000-C", ItemStatus::kMissing));
    objects.push_back(item("FUTURES", "DERIBIT:FUTURE:BTC-27MAR20", ItemStatus::kMissing));
    ASSERT_TRUE(WriteMissingReport(&store, kDay, objects, 0, objects.size(), kDayUs, "test").ok());
    ItemResults again;
    again.push_back(item("OPTIONS", whole, ItemStatus::kMissing));
    kept = EarlierRowsToKeep(&store, kDay, again, 0, again.size(), cap);
    ASSERT_TRUE(kept.ok()) << kept.status().ToString();
    rows = AllRows(&*kept);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].symbol, "FUTURES");
  }
}

// ExpectedItems sorts as a vector of ExpectedItem values sorted by every
// field would be, keeping the least by exchange and symbol of items of one
// key (they may differ in those), and gives every field back.
TEST(ExpectedItems, SortUniqueKeepsWhatSortingTheValuesKept) {
  std::vector<ExpectedItem> values;
  for (int i = 0; i < 3000; i++) {
    const int k = (i * 7919) % 613;  // repeats, out of order
    values.push_back(ExpectedItem{Date{2020, 1 + k % 3, 1 + k % 5}, k % 2 ? "trades" : "quotes",
                                  "VENUE:PERPETUAL:K" + std::to_string(k % 97), "ex" + std::to_string(i % 4),
                                  "sym" + std::to_string(i)});
  }
  ExpectedItems items;
  for (const ExpectedItem& e : values) items.push_back(e);
  auto key = [](const ExpectedItem& i) { return std::tie(i.day, i.data_type, i.instrument_key); };
  auto whole = [](const ExpectedItem& i) {
    return std::tie(i.day, i.data_type, i.instrument_key, i.exchange, i.symbol);
  };
  std::sort(values.begin(), values.end(), [&](const auto& a, const auto& b) { return whole(a) < whole(b); });
  values.erase(std::unique(values.begin(), values.end(), [&](const auto& a, const auto& b) { return key(a) == key(b); }),
               values.end());
  items.SortUnique();
  ASSERT_EQ(items.size(), values.size());
  for (size_t i = 0; i < values.size(); i++) {
    const ExpectedItem e = items[i];
    EXPECT_EQ(e.day, values[i].day);
    EXPECT_EQ(e.data_type, values[i].data_type);
    EXPECT_EQ(e.instrument_key, values[i].instrument_key);
    EXPECT_EQ(e.exchange, values[i].exchange) << i;
    EXPECT_EQ(e.symbol, values[i].symbol) << i;
    EXPECT_EQ(items.day(i), values[i].day);
    EXPECT_EQ(items.instrument_key(i), values[i].instrument_key);
  }
}

// Which of the items of one key stays does not depend on how many items
// there are nor on the memory budget: a day's items sorted alone (in
// memory) and the same day among others, sorted through runs of a
// temporary file, keep the same exchange and symbol for each key.
TEST(ExpectedItems, WhichRepeatStaysIsTheSameAtAnySize) {
  constexpr int kPerDay = 45000;  // 5 days: past the 4 MiB budget
  auto day_values = [](int d) {
    std::vector<ExpectedItem> v;
    for (int i = 0; i < kPerDay; i++) {
      const int k = (i * 7919) % 4000;  // each key about 11 times, out of order
      v.push_back(ExpectedItem{Date{2024, 3, 1 + d}, "trades", "DERIBIT:OPTION:K" + std::to_string(k),
                               "ex" + std::to_string(i % 3), "sym" + std::to_string(i)});
    }
    return v;
  };
  ExpectedItems small(size_t{64} << 20);  // two days, in memory: sorted whole
  for (int d = 1; d < 3; d++) {
    for (const ExpectedItem& e : day_values(d)) small.push_back(e);
  }
  ASSERT_EQ(small.spilled(), 0u);
  small.SortUnique();
  ASSERT_EQ(small.sort_runs(), 0u);
  ExpectedItems big(size_t{256} << 10);
  for (int d = 0; d < 5; d++) {
    for (const ExpectedItem& e : day_values(d)) big.push_back(e);
  }
  ASSERT_GT(big.spilled(), 0u);
  big.SortUnique();
  ASSERT_GT(big.sort_runs(), 1u);
  ASSERT_TRUE(big.io_status().ok());
  std::map<std::string, std::string> kept_small, kept_big;
  for (size_t i = 0; i < small.size(); i++) {
    if (small.day(i) != Date{2024, 3, 3}) continue;
    kept_small[std::string(small.instrument_key(i))] =
        std::string(small.exchange(i)) + " " + std::string(small.symbol(i));
  }
  for (size_t i = 0; i < big.size(); i++) {
    if (big.day(i) != Date{2024, 3, 3}) continue;
    kept_big[std::string(big.instrument_key(i))] = std::string(big.exchange(i)) + " " + std::string(big.symbol(i));
  }
  ASSERT_EQ(kept_small.size(), 4000u);
  ASSERT_EQ(kept_big.size(), 4000u);
  size_t differ = 0;
  for (const auto& [k, v] : kept_small) differ += kept_big[k] != v;
  EXPECT_EQ(differ, 0u);
}

// Past their memory budget the expected items go to a temporary file and
// are sorted a day at a time (they come in day order): the same items, in
// the same order, as sorting them whole; out of day order, they are sorted
// whole.
TEST(ExpectedItems, ManyItemsInATemporaryFileSortAsAWhole) {
  std::vector<ExpectedItem> values;
  constexpr int kPerDay = 45000;  // 5 days: 225,000 items of 20 bytes, past the 4 MiB budget
  for (int d = 0; d < 5; d++) {
    for (int i = 0; i < kPerDay; i++) {
      const int k = (i * 7919) % kPerDay;  // out of key order within the day
      values.push_back(ExpectedItem{Date{2024, 3, 1 + d}, k % 3 ? "trades" : "quotes",
                                    "DERIBIT:OPTION:K" + std::to_string(k % (kPerDay - 100)), "deribit", "OPTIONS"});
    }
  }
  auto key = [](const ExpectedItem& i) { return std::tie(i.day, i.data_type, i.instrument_key); };
  auto sorted = values;
  std::sort(sorted.begin(), sorted.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  sorted.erase(std::unique(sorted.begin(), sorted.end(), [&](const auto& a, const auto& b) { return key(a) == key(b); }),
               sorted.end());
  for (bool day_order : {true, false}) {
    SCOPED_TRACE(day_order);
    ExpectedItems items;
    if (day_order) {
      for (const ExpectedItem& e : values) items.push_back(e);
    } else {
      for (size_t i = values.size(); i-- > 0;) items.push_back(values[i]);  // the days backwards
    }
    ASSERT_GT(items.spilled(), 0u);
    items.SortUnique();
    ASSERT_EQ(items.size(), sorted.size());
    size_t wrong = 0;
    for (size_t i = 0; i < sorted.size(); i++) {
      wrong += items.day(i) != sorted[i].day || items.data_type(i) != sorted[i].data_type ||
               items.instrument_key(i) != sorted[i].instrument_key;
    }
    EXPECT_EQ(wrong, 0u);
    EXPECT_TRUE(items.io_status().ok());
  }
}

// The results of a validation hold no string of an item in memory: the
// pool has the data type, exchange and the object names' prefix and suffix,
// not a key or symbol per item (a grouped item of millions of instruments
// would hold them all).
TEST(ExpectedItems, ResultsPoolNoStringOfAnItem) {
  testing::MemoryStoreDouble store;
  ExpectedSet exp;
  for (int i = 0; i < 2000; i++) {
    exp.items.push_back(ExpectedItem{kDay, "trades", "BINANCE-FUTURES:PERPETUAL:S" + std::to_string(i) + "-USDT",
                                     "binance-futures", "S" + std::to_string(i) + "USDT"});
  }
  const ValidationResult res = Validate(&store, exp, ValidateOptions{});
  ASSERT_EQ(res.items.size(), 2000u);
  EXPECT_EQ(res.items[1999].status, ItemStatus::kMissing);
  EXPECT_EQ(res.items[1999].item.symbol, "S1999USDT");
  EXPECT_EQ(res.items.symbol(1998), "S1998USDT");
  EXPECT_EQ(res.items.instrument_key(7), "BINANCE-FUTURES:PERPETUAL:S7-USDT");
  EXPECT_EQ(res.items[1999].object,
            storage::Layout().TickObjectName(kDay, "trades", "binance-futures", exp.items[1999].instrument_key));
  EXPECT_LE(res.items.pool().size(), 5u);
}

// A grouped item of more objects than the memory budgets hold: expected
// items sorted through runs of a temporary file, results and their strings
// in temporary files, and every result the same as with everything in
// memory (statuses, reasons, objects, in order), with and without --deep.
TEST_F(Tree, AGroupedItemPastEveryBudgetValidatesAsInMemory) {
  auto key_of = &Tree::OptionKey;
  constexpr int kListed = 6000;
  std::vector<int> listed;
  for (int i = 0; i < kListed; i++) {
    if (i % 5 != 4) listed.push_back(i);  // 1 in 5 not in the record: no_data
  }
  WriteOptionObjectsRecord(listed);
  // Some present (of them, short ones corrupt).
  for (int i = 0; i < kListed; i += 7) PutOptionObject(i, i % 3 ? 100 : 5);
  // The items of two days, out of order, each key twice (another symbol).
  auto fill = [&](ExpectedItems* items) {
    for (const Date& d : {kDay2, kDay}) {
      for (int i = kListed; i-- > 0;) {
        items->push_back(ExpectedItem{d, "trades", key_of((i * 7919) % kListed), "deribit", "OPTIONS"});
        items->push_back(ExpectedItem{d, "trades", key_of((i * 7919) % kListed), "deribit", "ZZZ"});
      }
    }
  };
  for (bool deep : {false, true}) {
    SCOPED_TRACE(deep);
    ExpectedSet big, small;
    fill(&big.items);
    small.items = ExpectedItems(size_t{16} << 10);
    fill(&small.items);
    big.items.SortUnique();
    small.items.SortUnique();
    EXPECT_EQ(big.items.sort_runs(), 0u);
    EXPECT_GT(small.items.sort_runs(), 1u);
    EXPECT_GT(small.items.spilled(), 0u);
    ASSERT_EQ(small.items.size(), 2u * kListed);
    ValidateOptions in_memory, bounded;
    in_memory.deep = bounded.deep = deep;
    bounded.memory_bytes = size_t{16} << 10;
    const ValidationResult a = Validate(store_.get(), big, in_memory);
    const ValidationResult b = Validate(store_.get(), small, bounded);
    ASSERT_TRUE(a.store_error.ok()) << a.store_error.ToString();
    ASSERT_TRUE(b.store_error.ok()) << b.store_error.ToString();
    EXPECT_EQ(a.items.spilled(), 0u);
    EXPECT_GT(b.items.spilled(), 0u);
    ASSERT_EQ(a.items.size(), b.items.size());
    std::array<size_t, kNumStatuses> counts{};
    size_t differ = 0;
    for (size_t i = 0; i < a.items.size(); i++) {
      const ItemResult x = a.items[i], y = b.items[i];
      counts[static_cast<int>(y.status)]++;
      differ += x.item.day != y.item.day || x.item.instrument_key != y.item.instrument_key ||
                x.item.symbol != y.item.symbol || x.status != y.status || x.reason != y.reason ||
                x.object != y.object || x.bytes != y.bytes || x.rows != y.rows || x.absent != y.absent;
    }
    EXPECT_EQ(differ, 0u);
    EXPECT_EQ(a.items[0].item.symbol, "OPTIONS");  // the least symbol of a key stays
    EXPECT_EQ(a.items[0].item.instrument_key, key_of(0));
    // The first day's: 1 in 5 not listed, 1 in 7 present (a third of them
    // too short); the second day has no record: all missing.
    EXPECT_EQ(counts[static_cast<int>(ItemStatus::kNoData)], 1200u);
    size_t corrupt = 0;  // listed and present: too short, or (--deep) no Parquet
    for (int i = 0; i < kListed; i += 7) corrupt += i % 5 != 4 && (deep || i % 3 == 0);
    EXPECT_EQ(counts[static_cast<int>(ItemStatus::kCorrupt)], corrupt);
    EXPECT_GT(counts[static_cast<int>(ItemStatus::kMissing)], static_cast<size_t>(kListed));
  }
}

TEST(HtmlReport, ManyInstrumentsCollapseToVenues) {
  std::vector<ItemResult> items;
  for (int i = 0; i < 450; i++) {
    ItemResult r;
    r.item = ExpectedItem{kDay, "trades", (i % 2 ? "BINANCE:SPOT_PAIR:C" : "OKX:SPOT_PAIR:C") + std::to_string(i) +
                                              "-USDT", "x", "y"};
    r.status = i == 7 ? ItemStatus::kMissing : ItemStatus::kDone;
    items.push_back(r);
  }
  ReportInfo info;
  info.from = info.to = kDay;
  const std::string html = RenderHtmlReport(info, items);
  EXPECT_EQ(Count(html, "class=\"cell\""), 2u);
  EXPECT_EQ(Count(html, "data-rows=\"venues\""), 1u);
  EXPECT_NE(html.find("data-status=\"missing\" data-day=\"2020-02-22\" data-counts=\"done:224 missing:1\""),
            std::string::npos);
}

// Deribit options of one day, with the OPTIONS grouped file that holds their
// chain (the `grouped_symbols` metadata `market-tick instruments` writes).
void WriteOptionDefinitions(storage::ObjectStore* store, const Date& day) {
  auto def = [](const std::string& key, const std::string& sym, const std::string& dts) {
    return Definition(key, "deribit", sym, dts, "option");
  };
  std::vector<pipeline::InstrumentDefinition> defs = {
      def("DERIBIT:OPTION:BTC-USD-200226-9875-PUT", "BTC-26FEB20-9875-P", "trades,quotes"),
      def("DERIBIT:OPTION:BTC-USD-200327-10000-CALL", "BTC-27MAR20-10000-C", "trades"),
      def("DERIBIT:OPTION:ETH-USD-200327-200-CALL", "ETH-27MAR20-200-C", "trades"),
      def("DERIBIT:PERPETUAL:BTC-USD", "BTC-PERPETUAL", "trades"),
  };
  const std::string grouped =
      R"([{"exchange":"deribit","symbol":"OPTIONS","type":"option","data_types":["options_chain","trades"]}])";
  auto r = pipeline::WriteInstrumentsFile(store, storage::Layout().InstrumentsObjectName(day), defs,
                                          {{"grouped_symbols", grouped}}, parquet::WriterOptions{}, true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(Tree, OptionsChainItemsAreOnePerUnderlyingAndNeedTheCompletionRecord) {
  WriteOptionDefinitions(store_.get(), kDay);
  Selection s = OneDay();
  s.data_types = {"options_chain"};
  auto exp = ExpectedFromDefinitions(store_.get(), s);
  ASSERT_TRUE(exp.ok()) << exp.status().ToString();
  ASSERT_EQ(exp->items.size(), 2u);  // before: nothing expected, "complete"
  EXPECT_EQ(exp->items[0].instrument_key, "DERIBIT:OPTIONS:BTC-USD");
  EXPECT_EQ(exp->items[1].instrument_key, "DERIBIT:OPTIONS:ETH-USD");
  for (const auto& e : exp->items) {
    EXPECT_EQ(e.exchange, "deribit");
    EXPECT_EQ(e.symbol, "OPTIONS");
    EXPECT_EQ(e.data_type, "options_chain");
  }
  // The chain object alone (a run that stopped before its record) is not done.
  WriteTick(kDay, "options_chain", "DERIBIT:OPTIONS:BTC-USD", 10, kDayUs);
  ValidationResult res = Validate(store_.get(), *exp, ValidateOptions{});
  EXPECT_EQ(res.items[0].status, ItemStatus::kMissing);
  EXPECT_NE(res.items[0].reason.find("no completion record for deribit OPTIONS"), std::string::npos)
      << res.items[0].reason;
  EXPECT_EQ(res.items[1].status, ItemStatus::kMissing);
  EXPECT_FALSE(Complete(*exp, res));
  // With the record: BTC is done; ETH had no rows in the file.
  pipeline::ItemRecord rec;
  rec.item = "2020-02-22/options_chain/deribit/OPTIONS";
  rec.outcome = "done";
  rec.rows = 10;
  rec.objects.push_back({storage::Layout().TickObjectName(kDay, "options_chain", "deribit", "DERIBIT:OPTIONS:BTC-USD"),
                         "DERIBIT:OPTIONS:BTC-USD", 10, 1234});
  const pipeline::WorkItem item{kDay, "options_chain", "deribit", "OPTIONS", {}};
  ASSERT_TRUE(pipeline::WriteItemRecord(store_.get(), item, rec, false).ok());
  EXPECT_EQ(pipeline::WriteItemRecord(store_.get(), item, rec, false).code(), Status::Code::kAlreadyExists);
  res = Validate(store_.get(), *exp, ValidateOptions{});
  EXPECT_EQ(res.items[0].status, ItemStatus::kDone);
  EXPECT_EQ(res.items[1].status, ItemStatus::kNoData);
  EXPECT_TRUE(Complete(*exp, res));
  EXPECT_EQ(res.unexpected_objects, 0u);  // the record is not a tick object
  // The per-option types are still expected per option, the chain only per underlying.
  s.data_types = {};
  exp = ExpectedFromDefinitions(store_.get(), s);
  size_t chain = 0, trades = 0;
  for (const auto& e : exp->items) {
    chain += e.data_type == "options_chain";
    trades += e.data_type == "trades";
  }
  EXPECT_EQ(chain, 2u);
  EXPECT_EQ(trades, 4u);
}

// validate expects what download plans: the instrument filters of the
// shared plan narrow the expected items too (they were download's alone).
// A grouped item's object without the record is that item's object (the
// item is missing), not also an unexpected object: it was counted twice.
// A store whose day listing is generated as it is read (n objects of
// trades, in name order, then some records), never held: what validate
// holds while it reads a listing is then what it keeps of it.
class GeneratedListing : public mt::testing::MemoryStoreDouble {
 public:
  explicit GeneratedListing(int n) : n_(n) {}
  static std::string Key(int i, const char* kind = "CALL") {
    char b[64];
    std::snprintf(b, sizeof b, "DERIBIT:OPTION:BTC-USD-231229-%07d-%s", i, kind);
    return b;
  }
  static std::string Symbol(int i) { return "S" + std::to_string(1000000 + i); }
  Status ListEach(const std::string& prefix, const std::function<Status(storage::ObjectInfo&&)>& each) override {
    const storage::Layout layout;
    if (prefix != layout.DayListPrefix(kDay, "trades", false)) return Status::OK();
    // Every 10th object from 3 is absent; a PUT beside every 50th is not
    // expected; every 20th from 3 has a 404 record.
    for (int i = 0; i < n_; i++) {
      if (i % 10 != 3) MT_RETURN_IF_ERROR(each({layout.TickObjectName(kDay, "trades", "deribit", Key(i)), 100}));
      if (i % 50 == 0) MT_RETURN_IF_ERROR(each({layout.TickObjectName(kDay, "trades", "deribit", Key(i, "PUT")), 100}));
    }
    for (int i = 3; i < n_; i += 20) {
      MT_RETURN_IF_ERROR(each({layout.ItemRecordName(kDay, "trades", "deribit", Symbol(i)), 10}));
    }
    return Status::OK();
  }

 private:
  int n_;
};

// Bytes the heap holds (glibc; 0 where a sanitizer's allocator answers).
size_t HeapInUse() {
  const struct mallinfo2 m = ::mallinfo2();
  return m.uordblks + m.hblkhd;
}

// A day's listing is merged with the items' names as the store gives it,
// not gathered: holding 200,000 names (about 150 bytes each, as a vector and
// a set of them) would take tens of MB while the listing is read.
TEST(Validator, ADaysListingIsMergedWithTheItemsNotHeld) {
  constexpr int kN = 200000;
  GeneratedListing store(kN);
  ExpectedSet set;
  set.items = ExpectedItems(size_t{64} << 10);
  for (int i = 0; i < kN; i++) {
    set.items.push_back(ExpectedItem{kDay, "trades", GeneratedListing::Key(i), "deribit", GeneratedListing::Symbol(i)});
  }
  ValidateOptions opts;  // the default budgets: the sorters' buffers take a few MiB
  // The heap's growth while the listing is read, sampled every 1,000 objects.
  const size_t before = HeapInUse();
  if (before == 0) GTEST_SKIP() << "no mallinfo2 here";
  size_t most = before;
  class Sampling : public GeneratedListing {
   public:
    Sampling(int n, size_t* most) : GeneratedListing(n), most_(most) {}
    Status ListEach(const std::string& prefix, const std::function<Status(storage::ObjectInfo&&)>& each) override {
      size_t k = 0;
      return GeneratedListing::ListEach(prefix, [&](storage::ObjectInfo&& o) {
        if (++k % 1000 == 0) *most_ = std::max(*most_, HeapInUse());
        return each(std::move(o));
      });
    }

   private:
    size_t* most_;
  } sampling(kN, &most);
  const ValidationResult res = Validate(&sampling, set, opts);
  ASSERT_TRUE(res.store_error.ok()) << res.store_error.ToString();
  EXPECT_LT(most - before, size_t{16} << 20);
  ASSERT_EQ(res.items.size(), static_cast<size_t>(kN));
  std::array<size_t, kNumStatuses> counts{};
  for (size_t i = 0; i < res.items.size(); i++) counts[static_cast<int>(res.items.status(i))]++;
  EXPECT_EQ(counts[static_cast<int>(ItemStatus::kDone)], kN / 10 * 9);  // existence only
  EXPECT_EQ(counts[static_cast<int>(ItemStatus::kNotAvailable)], kN / 20);
  EXPECT_EQ(counts[static_cast<int>(ItemStatus::kMissing)], kN / 20);
  EXPECT_EQ(res.unexpected_objects, static_cast<size_t>(kN / 50));
  EXPECT_EQ(res.listed_objects, static_cast<size_t>(kN / 10 * 9 + kN / 50 + kN / 20));
  const ItemResult third = res.items[3], fourth = res.items[4], thirteenth = res.items[13];
  EXPECT_EQ(third.status, ItemStatus::kNotAvailable);
  EXPECT_EQ(thirteenth.status, ItemStatus::kMissing);
  EXPECT_EQ(thirteenth.reason, "no object");
  EXPECT_EQ(fourth.bytes, 100u);
}

TEST(Validator, WithoutATemporaryFileTheListingsMergeIsInMemoryAndSaysWhy) {
  constexpr int kN = 2000;
  GeneratedListing store(kN);
  ExpectedSet set;
  for (int i = 0; i < kN; i++) {
    set.items.push_back(ExpectedItem{kDay, "trades", GeneratedListing::Key(i), "deribit", GeneratedListing::Symbol(i)});
  }
  ValidateOptions opts;
  opts.memory_bytes = size_t{4} << 10;
  testing::ScopedTmpdir tmpdir("/nonexistent-market-tick-dir");
  const ValidationResult res = Validate(&store, set, opts);
  tmpdir.Restore();
  ASSERT_TRUE(res.store_error.ok()) << res.store_error.ToString();
  EXPECT_NE(res.listing_note.find("/nonexistent-market-tick-dir"), std::string::npos) << res.listing_note;
  size_t done = 0;
  for (size_t i = 0; i < res.items.size(); i++) done += res.items.status(i) == ItemStatus::kDone;
  EXPECT_EQ(done, static_cast<size_t>(kN / 10 * 9));
  EXPECT_EQ(res.unexpected_objects, static_cast<size_t>(kN / 50));
}

TEST_F(Tree, AGroupedItemsObjectWithoutItsRecordIsNotUnexpected) {
  WriteOptionDefinitions(store_.get(), kDay);
  Selection s = OneDay();
  s.data_types = {"options_chain"};
  auto exp = ExpectedFromDefinitions(store_.get(), s);
  ASSERT_TRUE(exp.ok()) << exp.status().ToString();
  WriteTick(kDay, "options_chain", "DERIBIT:OPTIONS:BTC-USD", 10, kDayUs);
  ValidationResult res = Validate(store_.get(), *exp, ValidateOptions{});
  EXPECT_EQ(res.items[0].status, ItemStatus::kMissing);
  EXPECT_EQ(res.unexpected_objects, 0u);
}

// download plans from the definitions a grouped file for a data type no
// instrument lists (`deribit OPTIONS` book_snapshot_25), and validate with
// the same flags expected nothing of it: a day of it missing was "complete",
// exit 0, and its objects were counted unexpected. It expects what the
// --symbols plan expects of the same item: its record's objects, else one
// item of the whole file.
TEST_F(Tree, AGroupedFileOfATypeNoInstrumentListsIsExpectedFromTheDefinitions) {
  auto defs = std::vector<pipeline::InstrumentDefinition>{
      Definition("DERIBIT:OPTION:BTC-USD-200226-9875-PUT", "deribit", "BTC-26FEB20-9875-P", "trades", "option"),
      Definition("DERIBIT:OPTION:ETH-USD-200327-200-CALL", "deribit", "ETH-27MAR20-200-C", "trades", "option")};
  const std::string grouped =
      R"([{"exchange":"deribit","symbol":"OPTIONS","type":"option","data_types":["book_snapshot_25","trades"]}])";
  ASSERT_TRUE(pipeline::WriteInstrumentsFile(store_.get(), storage::Layout().InstrumentsObjectName(kDay), defs,
                                             {{"grouped_symbols", grouped}}, parquet::WriterOptions{}, true)
                  .ok());
  Selection s = OneDay();
  s.data_types = {"book_snapshot_25"};
  auto exp = ExpectedFromDefinitions(store_.get(), s);
  ASSERT_TRUE(exp.ok()) << exp.status().ToString();
  ASSERT_EQ(exp->items.size(), 1u);
  EXPECT_EQ(exp->items[0].instrument_key, "DERIBIT:OPTIONS");
  ValidationResult res = Validate(store_.get(), *exp, ValidateOptions{});
  EXPECT_EQ(res.items[0].status, ItemStatus::kMissing);
  EXPECT_FALSE(Complete(*exp, res));

  // With its record: the objects it lists, one of them stored.
  const std::string btc = "DERIBIT:OPTION:BTC-USD-200226-9875-PUT", eth = "DERIBIT:OPTION:ETH-USD-200327-200-CALL";
  WriteTick(kDay, "book_snapshot_25", btc, 10, kDayUs);
  pipeline::ItemRecord rec;
  WriteOptionsRecord("book_snapshot_25", {{btc, 10}, {eth, 2}}, &rec);
  const pipeline::WorkItem item{kDay, "book_snapshot_25", "deribit", "OPTIONS", {}};
  exp = ExpectedFromDefinitions(store_.get(), s);
  ASSERT_TRUE(exp.ok());
  ASSERT_EQ(exp->items.size(), 2u);
  res = Validate(store_.get(), *exp, ValidateOptions{});
  auto by = ByName(res);
  EXPECT_EQ(by["book_snapshot_25 " + btc].status, ItemStatus::kDone);
  EXPECT_EQ(by["book_snapshot_25 " + eth].status, ItemStatus::kMissing);
  EXPECT_EQ(res.unexpected_objects, 0u);
  EXPECT_FALSE(Complete(*exp, res));

  // A 404 recorded for the file: not available, which is complete.
  rec.outcome = "not_available";
  rec.objects.clear();
  ASSERT_TRUE(pipeline::WriteItemRecord(store_.get(), item, rec, true).ok());
  exp = ExpectedFromDefinitions(store_.get(), s);
  ASSERT_TRUE(exp.ok());
  ASSERT_EQ(exp->items.size(), 1u);
  res = Validate(store_.get(), *exp, ValidateOptions{});
  EXPECT_EQ(res.items[0].status, ItemStatus::kNotAvailable);
  EXPECT_TRUE(Complete(*exp, res));
}

TEST_F(Tree, InstrumentFiltersNarrowTheExpectedItems) {
  WriteOptionDefinitions(store_.get(), kDay);
  Selection s = OneDay();
  auto f = pipeline::ParseInstrumentFilter("option", "ETH", "", "", "");
  ASSERT_TRUE(f.ok());
  s.instruments = *f;
  auto exp = ExpectedFromDefinitions(store_.get(), s);
  ASSERT_TRUE(exp.ok()) << exp.status().ToString();
  std::vector<std::string> got;
  for (const auto& e : exp->items) got.push_back(e.data_type + " " + e.instrument_key);
  EXPECT_EQ(got, (std::vector<std::string>{"options_chain DERIBIT:OPTIONS:ETH-USD",
                                           "trades DERIBIT:OPTION:ETH-USD-200327-200-CALL"}));
  f = pipeline::ParseInstrumentFilter("", "", "", "", "4");  // expiring within 4 days of 2020-02-22
  s.instruments = *f;
  s.data_types = {"trades"};
  exp = ExpectedFromDefinitions(store_.get(), s);
  ASSERT_TRUE(exp.ok());
  got.clear();
  for (const auto& e : exp->items) got.push_back(e.instrument_key);
  EXPECT_EQ(got, (std::vector<std::string>{"DERIBIT:OPTION:BTC-USD-200226-9875-PUT", "DERIBIT:PERPETUAL:BTC-USD"}));
}

TEST_F(Tree, NotAvailableIsReportedApartAndNeverPlannedAgain) {
  BuildTree();
  // trades XRPUSDT is missing; the download recorded a 404 for it.
  pipeline::ItemRecord rec;
  rec.item = "2020-02-22/trades/binance-futures/XRPUSDT";
  rec.outcome = "not_available";
  rec.reason = "HTTP 404";
  rec.created_at = "2020-02-23T00:00:00Z";
  ASSERT_TRUE(pipeline::WriteItemRecord(store_.get(), pipeline::WorkItem{kDay, "trades", "binance-futures", "XRPUSDT", {}},
                                        rec, false)
                  .ok());
  auto exp = ExpectedFromDefinitions(store_.get(), OneDay());
  ValidateOptions o;
  o.deep = true;
  const ValidationResult res = Validate(store_.get(), *exp, o);
  auto by = ByName(res);
  EXPECT_EQ(by["trades BINANCE-FUTURES:PERPETUAL:XRP-USDT"].status, ItemStatus::kNotAvailable);
  EXPECT_EQ(std::string(StatusName(ItemStatus::kNotAvailable)), "not_available");
  ASSERT_TRUE(WriteMissingReport(store_.get(), kDay, res.items, 0, res.items.size(), kDayUs, "test").ok());
  auto back = ReadMissingReport(store_.get(), kDay);
  ASSERT_TRUE(back.ok());
  size_t na = 0;
  for (const auto& b : *back) na += b.status == ItemStatus::kNotAvailable;
  EXPECT_EQ(na, 1u);
  auto plan = pipeline::PlanFromReports(store_.get(), kDay, kDay, {}, {});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->not_available, 1u);
  EXPECT_EQ(plan->missing, 0u);
  for (const auto& w : plan->items) EXPECT_NE(w.Id(), "2020-02-22/trades/binance-futures/XRPUSDT");
  // Only corrupt items remain: still incomplete, but not for the 404.
  EXPECT_FALSE(Complete(*exp, res));
  ReportInfo info;
  info.from = info.to = kDay;
  const std::string html = RenderHtmlReport(info, res.items);
  EXPECT_NE(html.find("1 not available at source"), std::string::npos);
}

TEST_F(Tree, KnownSymbolsComeFromEveryDayOfTheRange) {
  WriteDefinitions(kDay);
  WriteOptionDefinitions(store_.get(), kDay2);
  auto known = pipeline::ReadKnownSymbols(store_.get(), kDay, AddDays(kDay2, 3));  // two days without any
  ASSERT_TRUE(known.ok()) << known.status().ToString();
  ASSERT_EQ(known->by_exchange.size(), 2u);
  EXPECT_EQ(known->by_exchange["binance-futures"], (std::set<std::string>{"BTCUSDT", "ETHUSDT", "XRPUSDT"}));
  EXPECT_EQ(known->by_exchange["deribit"],
            (std::set<std::string>{"BTC-26FEB20-9875-P", "BTC-27MAR20-10000-C", "BTC-PERPETUAL", "ETH-27MAR20-200-C",
                                   "OPTIONS"}));
  // Only bare symbols need them.
  pipeline::PlanRequest req;
  req.from = kDay;
  req.to = kDay2;
  req.exchanges = {"deribit", "binance-futures"};
  req.data_types = {"trades"};
  req.symbols = {"deribit:BTC-PERPETUAL"};
  pipeline::KnownSymbols k;
  ASSERT_TRUE(pipeline::LoadKnownSymbolsFor(store_.get(), &req, &k).ok());
  EXPECT_EQ(req.known, nullptr);
  req.symbols = {"BTC-PERPETUAL", "ETHUSDT"};
  ASSERT_TRUE(pipeline::LoadKnownSymbolsFor(store_.get(), &req, &k).ok());
  EXPECT_EQ(req.known, &k);
  auto plan = pipeline::BuildPlan(req);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  std::vector<std::string> ids;
  for (const auto& w : *plan) ids.push_back(w.Id());
  EXPECT_EQ(ids, (std::vector<std::string>{"2020-02-22/trades/binance-futures/ETHUSDT",
                                           "2020-02-22/trades/deribit/BTC-PERPETUAL",
                                           "2020-02-23/trades/binance-futures/ETHUSDT",
                                           "2020-02-23/trades/deribit/BTC-PERPETUAL"}));
}

TEST(CollapseDays, ConsecutiveDaysWithOneTextBecomeOneRun) {
  std::vector<std::pair<Date, std::string>> lines;
  for (Date d{2024, 1, 1}; d <= Date{2024, 7, 11}; d = AddDays(d, 1)) lines.emplace_back(d, "no definitions");
  lines.emplace_back(Date{2024, 7, 12}, "not parquet");
  lines.emplace_back(Date{2024, 7, 20}, "no definitions");
  const auto runs = CollapseDays(lines);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].days, 193u);
  EXPECT_EQ(runs[0].Days(), "2024-01-01 .. 2024-07-11 (193 days)");
  EXPECT_EQ(runs[1].Days(), "2024-07-12");
  EXPECT_EQ(runs[2].Days(), "2024-07-20");  // a gap starts a new run
  ReportInfo info;
  info.from = Date{2024, 1, 1};
  info.to = Date{2024, 7, 20};
  info.definition_problems = lines;
  const std::string html = RenderHtmlReport(info, {});
  EXPECT_NE(html.find("2024-01-01 .. 2024-07-11 (193 days): no definitions"), std::string::npos);
  size_t items = 0;
  for (size_t p = html.find("<li data-day"); p != std::string::npos; p = html.find("<li data-day", p + 1)) items++;
  EXPECT_EQ(items, 3u);
}

// Footer checks that need no storage tree.
// The day rule convert's warning and --deep share: [day 00:00, next day 00:00).
TEST(CheckFooter, OutsideDayIsTheHalfOpenUtcDay) {
  const int64_t day_us = 86'400'000'000;
  EXPECT_EQ(OutsideDay(kDayUs, kDayUs + day_us - 1, kDay), "");
  EXPECT_EQ(OutsideDay(kDayUs + 1, kDayUs + 2, kDay), "");
  EXPECT_EQ(OutsideDay(kDayUs - 1, kDayUs + 2, kDay),
            "local_timestamp runs 2020-02-21T23:59:59.999999Z .. 2020-02-22T00:00:00.000002Z, outside 2020-02-22");
  EXPECT_EQ(OutsideDay(kDayUs, kDayUs + day_us, kDay),
            "local_timestamp runs 2020-02-22T00:00:00.000000Z .. 2020-02-23T00:00:00.000000Z, outside 2020-02-22");
}

TEST(CheckFooter, MetadataMustNameThisObject) {
  const auto* trades = tardis::FindSchema("trades");
  const auto* quotes = tardis::FindSchema("quotes");
  auto store = std::make_unique<mt::testing::MemoryStoreDouble>();
  auto write = [&](const std::vector<std::pair<std::string, std::string>>& kv, std::vector<int64_t> ts,
                   size_t rg_rows) {
    const auto spec = quotes->ParquetSchema();
    auto obj = store->Create("f.parquet", true);
    parquet::FileWriter w(obj->get(), spec, parquet::WriterOptions{});
    for (size_t a = 0; a < ts.size(); a += rg_rows) {
      columnar::RowGroupData rg = columnar::MakeRowGroup(spec);
      rg.num_rows = std::min(rg_rows, ts.size() - a);
      for (auto& col : rg.columns) {
        for (size_t r = a; r < a + rg.num_rows; r++) {
          if (col.nullable) col.defined.push_back(1);
          if (col.kind == columnar::ColumnKind::kTimestampMicros) col.i64.push_back(ts[r]);
          if (col.kind == columnar::ColumnKind::kDouble) col.f64.push_back(1);
          if (col.kind == columnar::ColumnKind::kString) col.str.Append("s");
        }
      }
      EXPECT_TRUE(w.WriteRowGroup(std::move(rg)).ok());
    }
    EXPECT_TRUE(w.Finish(kv).ok());
    EXPECT_TRUE((*obj)->Commit().ok());
    return parquet::FileReader::Open(store.get(), "f.parquet");
  };
  const int64_t t = kDayUs + 1000;
  {
    auto f = write({{"data_type", "book_ticker"}}, {t, t + 1}, 10);
    const FileCheck c = CheckFooter((*f)->metadata(), *quotes, kDay, "");
    EXPECT_EQ(c.status, ItemStatus::kCorrupt);
    EXPECT_NE(c.reason.find("data_type book_ticker"), std::string::npos);
    EXPECT_EQ(CheckFooter((*f)->metadata(), *trades, kDay, "").status, ItemStatus::kCorrupt);
    // In the book_ticker folder the same file is what it says it is.
    EXPECT_EQ(CheckFooter((*f)->metadata(), *tardis::FindSchema("book_ticker"), kDay, "").status, ItemStatus::kDone);
  }
  {
    auto f = write({{"instrument_key", "A:B:C"}, {"row_count", "2"}}, {t, t + 1}, 10);
    EXPECT_EQ(CheckFooter((*f)->metadata(), *quotes, kDay, "A:B:C").status, ItemStatus::kDone);
    const FileCheck c = CheckFooter((*f)->metadata(), *quotes, kDay, "X:Y:Z");
    EXPECT_EQ(c.status, ItemStatus::kCorrupt);
    EXPECT_NE(c.reason.find("instrument_key A:B:C"), std::string::npos);
  }
  {
    auto f = write({{"row_count", "3"}}, {t, t + 1}, 10);
    EXPECT_NE(CheckFooter((*f)->metadata(), *quotes, kDay, "").reason.find("row_count 3"), std::string::npos);
  }
  {
    auto f = write({}, {t + 50, t + 60, t + 10, t + 20}, 2);  // second row group starts earlier
    const FileCheck c = CheckFooter((*f)->metadata(), *quotes, kDay, "");
    EXPECT_EQ(c.status, ItemStatus::kCorrupt);
    EXPECT_NE(c.reason.find("before the previous row group ends"), std::string::npos) << c.reason;
  }
  {
    auto f = write({}, {kDayUs - 1, t}, 10);  // one microsecond into the previous day
    EXPECT_EQ(CheckFooter((*f)->metadata(), *quotes, kDay, "").status, ItemStatus::kCorrupt);
    auto g = write({}, {kDayUs, MicrosFromDate(kDay2) - 1}, 10);  // the whole day, inclusive
    EXPECT_EQ(CheckFooter((*g)->metadata(), *quotes, kDay, "").status, ItemStatus::kDone);
  }
}

// The report's free text is redacted before HTML escaping turns its quotes
// into &quot; (where a credential pattern would no longer match).
TEST(HtmlReport, FreeTextIsRedactedBeforeEscaping) {
  EXPECT_EQ(HtmlEscape("HTTP 400: {\"access_token\":\"ya29.X\"} <b>"),
            "HTTP 400: {&quot;access_token&quot;:&quot;[REDACTED]&quot;} &lt;b&gt;");
  EXPECT_EQ(HtmlEscape("Authorization: Bearer\tsecret-x1"), "Authorization: Bearer\t[REDACTED]");
}

// Issue 22 item 7: a symbol or reason from a file or server cannot put raw
// control characters (a terminal that shows the file) or markup in the page.
TEST(HtmlReport, ControlCharactersAreShownAsEscapesThenHtmlEscaped) {
  EXPECT_EQ(HtmlEscape("rows of symbol 'BTC\x1b[2J<i>\xC2\x9B\x7f\n[ERROR] x\xC3'"),
            "rows of symbol &#39;BTC\\x1b[2J&lt;i&gt;\\u009b\\x7f\\n[ERROR] x\\xc3&#39;");
}

TEST(AddDerivedItems, BesideEachSourceItemAndUnaskedSourcesDropped) {
  const Date day{2020, 4, 1};
  // Expected items are not copied (they may be in a temporary file): each
  // set is made anew.
  auto make_set = [&day]() {
    ExpectedSet s;
    s.items = {
        {day, "incremental_book_L2", "DERIBIT:PERPETUAL:BTC-USD", "deribit", "BTC-PERPETUAL"},
        {day, "options_chain", "DERIBIT:OPTIONS:BTC-USD", "deribit", "OPTIONS"},
        {day, "trades", "DERIBIT:PERPETUAL:BTC-USD", "deribit", "BTC-PERPETUAL"},
    };
    return s;
  };
  ExpectedSet set = make_set();
  auto specs = derive::ParseDerivedList("book_snapshot_10_1s,trade_bar_1m");
  ASSERT_TRUE(specs.ok());
  ExpectedSet both = make_set();
  AddDerivedItems(&both, *specs, {});
  std::vector<std::string> got;
  for (const auto& e : both.items) got.push_back(e.data_type + " " + e.instrument_key + " " + e.symbol);
  EXPECT_EQ(got, (std::vector<std::string>{
                     "book_snapshot_10_1s DERIBIT:PERPETUAL:BTC-USD BTC-PERPETUAL",
                     "incremental_book_L2 DERIBIT:PERPETUAL:BTC-USD BTC-PERPETUAL",
                     "options_chain DERIBIT:OPTIONS:BTC-USD OPTIONS",
                     "trade_bar_1m DERIBIT:PERPETUAL:BTC-USD BTC-PERPETUAL",
                     "trades DERIBIT:PERPETUAL:BTC-USD BTC-PERPETUAL",
                 }));
  // The book's source was added only for its derived items: its raw item is not expected.
  AddDerivedItems(&set, {(*specs)[0]}, {"incremental_book_L2"});
  got.clear();
  for (const auto& e : set.items) got.push_back(e.data_type);
  EXPECT_EQ(got, (std::vector<std::string>{"book_snapshot_10_1s", "options_chain", "trades"}));
  EXPECT_TRUE(set.notes.empty());
  // A name whose source is expected nowhere is said (it was passed over in silence).
  ExpectedSet trades_only;
  trades_only.items = {{day, "trades", "DERIBIT:PERPETUAL:BTC-USD", "deribit", "BTC-PERPETUAL"}};
  AddDerivedItems(&trades_only, *specs, {});
  ASSERT_EQ(trades_only.notes.size(), 1u);
  EXPECT_EQ(trades_only.notes[0], "--derive book_snapshot_10_1s: nothing to check: no incremental_book_L2 item (its "
                                  "source data type) is expected in this selection");
  EXPECT_EQ(trades_only.items.size(), 2u);  // trades and trade_bar_1m
}

// download --derive writes the series of each object a grouped file (deribit
// OPTIONS) becomes; validate --derive expected none of them, so a series
// missing there read complete. An object the record lists gets its series;
// the item of a whole file without a record names no instrument, so none.
TEST_F(Tree, DerivedItemsOfAGroupedFilesObjectsAreExpectedAndChecked) {
  const std::string btc = "DERIBIT:OPTION:BTC-USD-200609-9875-PUT", eth = "DERIBIT:OPTION:ETH-USD-200609-250-CALL";
  const storage::Layout layout;
  pipeline::ItemRecord rec;
  rec.item = "2020-02-22/trades/deribit/OPTIONS";
  rec.outcome = "done";
  rec.rows = 20;
  rec.objects.push_back({layout.TickObjectName(kDay, "trades", "deribit", btc), btc, 10, 1234});
  rec.objects.push_back({layout.TickObjectName(kDay, "trades", "deribit", eth), eth, 10, 1234});
  ASSERT_TRUE(
      pipeline::WriteItemRecord(store_.get(), pipeline::WorkItem{kDay, "trades", "deribit", "OPTIONS", {}}, rec, false)
          .ok());
  WriteTick(kDay, "trades", btc, 10, kDayUs);
  WriteTick(kDay, "trades", eth, 10, kDayUs);
  Selection s = OneDay();
  s.exchanges = {"deribit"};
  s.data_types = {"trades", "incremental_book_L2"};
  s.symbols = {"OPTIONS"};
  auto exp = ExpectedFromPlan(s, nullptr, store_.get());
  ASSERT_TRUE(exp.ok()) << exp.status().ToString();
  auto specs = derive::ParseDerivedList("trade_bar_1m,book_snapshot_5_1s");
  ASSERT_TRUE(specs.ok());
  AddDerivedItems(&*exp, *specs, {});
  std::vector<std::string> got;
  for (const auto& e : exp->items) got.push_back(e.data_type + " " + e.instrument_key + " " + e.symbol);
  EXPECT_EQ(got, (std::vector<std::string>{
                     "incremental_book_L2 DERIBIT:OPTIONS OPTIONS",  // no record: the whole file, no series
                     "trade_bar_1m " + btc + " OPTIONS",
                     "trade_bar_1m " + eth + " OPTIONS",
                     "trades " + btc + " OPTIONS",
                     "trades " + eth + " OPTIONS",
                 }));
  // BTC's series stored (existence only: any object of Parquet's least size), ETH's not.
  store_->Put(layout.DerivedObjectName(kDay, "trade_bar_1m", "deribit", btc), std::string(100, 'x'));
  ValidationResult res = Validate(store_.get(), *exp, ValidateOptions{});
  auto by = ByName(res);
  EXPECT_EQ(by["trade_bar_1m " + btc].status, ItemStatus::kDone);
  EXPECT_EQ(by["trade_bar_1m " + eth].status, ItemStatus::kMissing);
  EXPECT_EQ(by["trade_bar_1m " + eth].reason,
            "its source object is listed in the completion record of deribit OPTIONS, but no derived object");
  EXPECT_EQ(by["trades " + eth].status, ItemStatus::kDone);
  EXPECT_FALSE(Complete(*exp, res));
}

// Makes every unnamed temporary file of the process write-only,
// as an I/O error makes its reads fail; returns how many.
int BreakTemporaryFiles() {
  int found = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(e.path(), ec).string().find("(deleted)") == std::string::npos) continue;
    const int wronly = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ::dup2(wronly, std::stoi(e.path().filename().string()));
    ::close(wronly);
    found++;
  }
  return found;
}

// Expected items that fail to read back from their temporary file keep
// saying so once the derived items are added: the set is not replaced by
// one made of the zeros they read as, which would pass for items of
// 1970-01-01 read without error.
TEST(AddDerivedItems, AFailedReadOfTheItemsIsKept) {
  ExpectedSet set;
  for (int i = 0; i < 250000; i++) {  // past the 4 MiB budget
    set.items.push_back(ExpectedItem{Date{2024, 3, 1 + i / 100000}, "trades", "DERIBIT:PERPETUAL:K" + std::to_string(i),
                                     "deribit", "K" + std::to_string(i)});
  }
  ASSERT_GT(set.items.spilled(), 0u);
  // The items' file made write-only, as an I/O error would make its reads fail.
  ASSERT_GE(BreakTemporaryFiles(), 1);
  auto specs = derive::ParseDerivedList("trade_bar_1m");
  ASSERT_TRUE(specs.ok());
  AddDerivedItems(&set, *specs, {});
  EXPECT_FALSE(set.items.io_status().ok());
  EXPECT_EQ(set.items.io_status().code(), Status::Code::kIOError);
}

TEST_F(Tree, DerivedItemsAreFoundUnderDerivedDataAndCheckedAgainstTheirSchema) {
  ExpectedSet set;
  set.items = {{kDay, "trade_bar_1m", "BINANCE-FUTURES:PERPETUAL:BTC-USDT", "binance-futures", "BTCUSDT"}};
  ValidateOptions vo;
  vo.deep = true;
  ValidationResult r = Validate(store_.get(), set, vo);
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].status, ItemStatus::kMissing);
  EXPECT_EQ(r.items[0].object,
            "derived_data/by_date/day-2020-02-22/data_type-trade_bar_1m/BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet");
  // A raw trades file where the bars go: corrupt, by the derived schema.
  WriteTick(kDay, "trades", "BINANCE-FUTURES:PERPETUAL:BTC-USDT", 10, kDayUs);
  auto bytes = store_->Read(storage::Layout().TickObjectName(kDay, "trades", "binance-futures", "BINANCE-FUTURES:PERPETUAL:BTC-USDT"));
  ASSERT_TRUE(bytes.ok());
  auto obj = store_->Create(r.items[0].object, true);
  ASSERT_TRUE(obj.ok());
  ASSERT_TRUE((*obj)->Append(*bytes).ok());
  ASSERT_TRUE((*obj)->Commit().ok());
  r = Validate(store_.get(), set, vo);
  EXPECT_EQ(r.items[0].status, ItemStatus::kCorrupt);
  EXPECT_NE(r.items[0].reason.find("schema does not match trade_bar_1m"), std::string::npos) << r.items[0].reason;
  // The raw trades object of that day is not an unexpected object: only raw items' days count.
  EXPECT_EQ(r.unexpected_objects, 0u);
}

TEST_F(Tree, DerivedItemsOfASourceRecordedAs404AreNotAvailable) {
  pipeline::ItemRecord rec;
  rec.item = "2020-02-22/trades/binance-futures/XRPUSDT";
  rec.outcome = "not_available";
  ASSERT_TRUE(pipeline::WriteItemRecord(store_.get(), pipeline::WorkItem{kDay, "trades", "binance-futures", "XRPUSDT", {}},
                                        rec, false)
                  .ok());
  ExpectedSet set;
  set.items = {{kDay, "trade_bar_1m", "BINANCE-FUTURES:PERPETUAL:XRP-USDT", "binance-futures", "XRPUSDT"},
               {kDay, "trade_bar_1m", "BINANCE-FUTURES:PERPETUAL:BTC-USDT", "binance-futures", "BTCUSDT"}};
  ValidationResult r = Validate(store_.get(), set, ValidateOptions{});
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[0].status, ItemStatus::kNotAvailable);
  EXPECT_EQ(r.items[1].status, ItemStatus::kMissing);
}


// Issue 20: the definitions of the day as `market-tick instruments` writes
// them (MergeInstruments: exchange_sources[].incidents), binance-futures with
// one incident report per `incidents` entry.
void WriteDefinitionsWithIncidents(storage::ObjectStore* store, const Date& day,
                                   const std::vector<tardis::IncidentReport>& incidents) {
  std::vector<pipeline::InstrumentDefinition> defs = {
      Definition("BINANCE-FUTURES:PERPETUAL:BTC-USDT", "binance-futures", "BTCUSDT", "quotes,trades"),
      Definition("BINANCE-FUTURES:PERPETUAL:ETH-USDT", "binance-futures", "ETHUSDT", "trades"),
      Definition("DERIBIT:PERPETUAL:BTC-USD", "deribit", "BTC-PERPETUAL", "trades"),
  };
  pipeline::MergeInput in;
  in.replaced = {"binance-futures", "deribit"};
  in.sources = {pipeline::ExchangeSource{"binance-futures", "u1", 1, "2020-03-01T00:00:00Z", "", std::nullopt, true,
                                         incidents},
                pipeline::ExchangeSource{"deribit", "u2", 1, "2020-03-01T00:00:00Z", "", std::nullopt, true}};
  in.first = in.last = day;
  pipeline::MergedInstruments m = pipeline::MergeInstruments(in, [&](const pipeline::DefinitionFn& fn) {
    for (const auto& d : defs) fn(d);
  });
  auto r = pipeline::WriteInstrumentsFile(store, storage::Layout().InstrumentsObjectName(day), std::move(m.rows),
                                          m.kv, parquet::WriterOptions{}, true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST(Incidents, OverlapIsWithTheHalfOpenUtcDay) {
  const int64_t d = kDayUs, next = MicrosFromDate(kDay2);
  EXPECT_TRUE(OverlapsDay(tardis::IncidentReport{d + 3'600'000'000, d + 7'200'000'000, "", ""}, kDay));
  EXPECT_TRUE(OverlapsDay(tardis::IncidentReport{d - 1, d + 1, "", ""}, kDay));
  EXPECT_TRUE(OverlapsDay(tardis::IncidentReport{d - 86'400'000'000, next + 86'400'000'000, "", ""}, kDay));
  EXPECT_FALSE(OverlapsDay(tardis::IncidentReport{d - 3'600'000'000, d, "", ""}, kDay));  // ends at midnight
  EXPECT_FALSE(OverlapsDay(tardis::IncidentReport{next, next + 1, "", ""}, kDay));       // starts the next day
}

// An absent item on a day an incident of its exchange overlaps is
// no_data_incident (counted apart, not a problem); an absent item of another
// exchange stays missing, and so does a present item (corrupt stays corrupt).
TEST(Incidents, AbsentItemsOfTheExchangeOnIncidentDaysAreNoDataIncident) {
  auto store = std::make_unique<mt::testing::MemoryStoreDouble>();
  WriteDefinitionsWithIncidents(
      store.get(), kDay,
      {tardis::IncidentReport{kDayUs + 10 * 3'600'000'000LL, kDayUs + 14 * 3'600'000'000LL, "resolved",
                              "exchange API outage\x1b[2J"},
       // Another day's incident: not this day's.
       tardis::IncidentReport{kDayUs - 5 * 3'600'000'000LL, kDayUs - 3'600'000'000LL, "wontfix", "earlier"}});
  auto exp = ExpectedFromDefinitions(store.get(), OneDay());
  ASSERT_TRUE(exp.ok()) << exp.status().ToString();
  ASSERT_EQ(exp->items.size(), 4u);
  // BTC-USDT trades present but unreadable: corrupt whatever the incident.
  store->Put(storage::Layout().TickObjectName(kDay, "trades", "binance-futures", "BINANCE-FUTURES:PERPETUAL:BTC-USDT"),
             "PAR1");  // under 12 bytes: corrupt even without --deep
  ValidationResult res = Validate(store.get(), *exp, ValidateOptions{});
  ASSERT_TRUE(res.store_error.ok());
  auto marked = MarkIncidents(store.get(), &res.items);
  ASSERT_TRUE(marked.ok()) << marked.status().ToString();
  EXPECT_EQ(*marked, 2u);
  std::map<std::string, ItemResult> by;
  for (const auto& r : res.items) by[r.item.data_type + " " + r.item.instrument_key] = r;
  const ItemResult& q = by["quotes BINANCE-FUTURES:PERPETUAL:BTC-USDT"];
  EXPECT_EQ(q.status, ItemStatus::kNoDataIncident);
  EXPECT_EQ(q.reason,
            "no object; Tardis incident report of binance-futures: 2020-02-22T10:00:00Z .. 2020-02-22T14:00:00Z "
            "(resolved): exchange API outage [2J");
  EXPECT_EQ(by["trades BINANCE-FUTURES:PERPETUAL:ETH-USDT"].status, ItemStatus::kNoDataIncident);
  EXPECT_EQ(by["trades BINANCE-FUTURES:PERPETUAL:BTC-USDT"].status, ItemStatus::kCorrupt);
  EXPECT_EQ(by["trades DERIBIT:PERPETUAL:BTC-USD"].status, ItemStatus::kMissing);  // deribit had no incident
  EXPECT_EQ(std::string(StatusName(ItemStatus::kNoDataIncident)), "no_data_incident");
  EXPECT_FALSE(IsProblem(ItemStatus::kNoDataIncident));
  EXPECT_FALSE(Complete(*exp, res));  // the corrupt and the deribit items

  // Reports: the incident items with their status; --from-report plans them
  // once more, counted apart (ReportPlan::incident).
  ASSERT_TRUE(WriteMissingReport(store.get(), kDay, res.items, 0, res.items.size(), kDayUs, "test").ok());
  auto back = ReadMissingReport(store.get(), kDay);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 4u);
  size_t incident = 0;
  for (const auto& b : *back) incident += b.status == ItemStatus::kNoDataIncident;
  EXPECT_EQ(incident, 2u);
  auto plan = pipeline::PlanFromReports(store.get(), kDay, kDay, {}, {});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->incident, 2u);
  EXPECT_EQ(plan->missing, 1u);
  EXPECT_EQ(plan->corrupt, 1u);
  EXPECT_EQ(plan->items.size(), 4u);

  ReportInfo info;
  info.from = info.to = kDay;
  const std::string html = RenderHtmlReport(info, res.items);
  EXPECT_EQ(Count(html, "data-status=\"no_data_incident\""), 4u);  // 2 cells + 2 rows of the incident list
  EXPECT_NE(html.find("2 no data (Tardis incident)"), std::string::npos);
  EXPECT_NE(html.find("<td data-total=\"no_data_incident\">2</td>"), std::string::npos);
}

// Without incidents nothing changes, and only the missing items' days are
// read (a complete run reads no definitions footer for incidents).
TEST(Incidents, NoIncidentNoChange) {
  auto store = std::make_unique<mt::testing::MemoryStoreDouble>();
  WriteDefinitionsWithIncidents(store.get(), kDay, {});
  auto exp = ExpectedFromDefinitions(store.get(), OneDay());
  ASSERT_TRUE(exp.ok());
  ValidationResult res = Validate(store.get(), *exp, ValidateOptions{});
  auto marked = MarkIncidents(store.get(), &res.items);
  ASSERT_TRUE(marked.ok());
  EXPECT_EQ(*marked, 0u);
  for (const auto& r : res.items) EXPECT_EQ(r.status, ItemStatus::kMissing);
  // A day without a definitions file has no incidents (not an error).
  auto none = IncidentsOnDay(store.get(), kDay2);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// Validation of the trades of binance-futures:X0USDT .. X{n-1}USDT over
// 2024-03-01 to 2024-03-03 (none of them stored: every item missing).
ValidateJobOptions MissingTradesOfThreeDays(int n) {
  ValidateJobOptions o;
  o.selection.from = Date{2024, 3, 1};
  o.selection.to = Date{2024, 3, 3};
  o.selection.exchanges = {"binance-futures"};
  o.selection.data_types = {"trades"};
  for (int i = 0; i < n; i++) o.selection.symbols.push_back("binance-futures:X" + std::to_string(i) + "USDT");
  return o;
}

// A store that calls `on_report` as each missing-data report is created,
// whether it is written over what is there or only over the version it read
// (reports are written as read: another run's report in between is kept).
class ReportCreateHookStore : public testing::MemoryStoreDouble {
 public:
  Result<std::unique_ptr<storage::WritableObject>> Create(const std::string& name, bool overwrite) override {
    Hook(name);
    return MemoryStoreDouble::Create(name, overwrite);
  }
  Result<std::unique_ptr<storage::WritableObject>> CreateIfGeneration(const std::string& name,
                                                                      int64_t generation) override {
    Hook(name);
    return MemoryStoreDouble::CreateIfGeneration(name, generation);
  }
  std::function<void()> on_report;

 private:
  void Hook(const std::string& name) {
    if (on_report && name.find("missing_data") != std::string::npos) on_report();
  }
};

// The results read back from their temporary file fail while the
// missing-data reports are written: the run fails, retryable, and the
// summary JSON and HTML report, which would be made of the zeros the
// results then read as, are not written (a previous good one stays).
TEST(ValidateJob, ResultsLostWhileReportsAreWrittenWriteNoSummaryNorHtml) {
  // Breaks the results' temporary file (made write-only, as an I/O error
  // makes its reads fail) as the first report is created.
  ReportCreateHookStore store;
  bool broken = false;
  int found = 0;
  store.on_report = [&] {
    if (!broken) {
      broken = true;
      found += BreakTemporaryFiles();
    }
  };
  const std::string dir = ::testing::TempDir() + "/results-lost-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ValidateJobOptions o = MissingTradesOfThreeDays(20000);
  o.summary_json = dir + "/summary.json";
  o.report_path = dir + "/report.html";
  o.tool_version = "test";
  o.cancel = nullptr;
  auto r = RunValidateJob(&store, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(found, 2);  // the results' files (records, strings): 60,000 results are past their budget
  EXPECT_EQ(r->status.code(), Status::Code::kIOError) << r->status.ToString();
  EXPECT_TRUE(r->text.empty());
  EXPECT_FALSE(std::filesystem::exists(o.summary_json));
  EXPECT_FALSE(std::filesystem::exists(o.report_path));
  std::filesystem::remove_all(dir);
}

// A previous run wrote each day's correct report; in this run the results
// fail to read back from their temporary file once the second day's report
// is created (its rows counted, its columns still to read): that report is
// not committed, the third day's is not written at all (made of the zeros
// the results then read as, it would be an empty report that replaces a
// correct one, and download --from-report would plan nothing for that
// day), and the run fails, retryable, naming the temporary file.
TEST(ValidateJob, ResultsLostWhileAReportIsWrittenReplaceNoCorrectReport) {
  // Breaks the results' temporary file (made write-only, as an I/O error
  // makes its reads fail) as the `break_at`-th report is created.
  ReportCreateHookStore store;
  int break_at = 0;  // 0: never
  int creates = 0;
  int found = 0;
  store.on_report = [&] {
    if (++creates == break_at) found += BreakTemporaryFiles();
  };
  ValidateJobOptions o = MissingTradesOfThreeDays(20000);
  o.tool_version = "test";
  o.cancel = nullptr;
  // Every day's report as a previous run wrote it: 20,000 missing items.
  auto check_reports = [&store](const std::string& when) {
    for (int d = 1; d <= 3; d++) {
      SCOPED_TRACE(when + ", day " + std::to_string(d));
      auto back = ReadMissingReport(&store, Date{2024, 3, d});
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      ASSERT_EQ(back->size(), 20000u);
      size_t wrong = 0;
      for (const ReportedItem& it : *back) {
        wrong += it.status != ItemStatus::kMissing || it.item.day != Date{2024, 3, d} ||
                 it.item.instrument_key.rfind("BINANCE-FUTURES:PERPETUAL:X", 0) != 0;
      }
      EXPECT_EQ(wrong, 0u);
    }
  };
  auto first = RunValidateJob(&store, o);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->status.code(), Status::Code::kInvalidInput) << first->status.ToString();
  EXPECT_EQ(creates, 3);
  check_reports("first run");
  creates = 0;
  break_at = 2;
  auto r = RunValidateJob(&store, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(found, 2);    // the results' files (records, strings): 60,000 results are past their budget
  EXPECT_EQ(creates, 2);  // writing stopped at the report the loss hit
  EXPECT_EQ(r->status.code(), Status::Code::kIOError) << r->status.ToString();
  EXPECT_TRUE(r->status.retryable());
  EXPECT_NE(r->status.message().find("cannot read back a temporary file"), std::string::npos) << r->status.message();
  EXPECT_TRUE(r->text.empty());
  check_reports("second run");
}

// An interrupt while the missing-data reports are written (the checks
// done) stops the writing: the report being written when it came is not
// committed, no later day's is begun, nothing is printed, the summary JSON
// is not written, and the run is kCancelled. (The writing once ran on to
// the end, the interrupt unseen.)
TEST(ValidateJob, AnInterruptWhileReportsAreWrittenStopsThem) {
  // Sets the run's cancel flag as the `at`-th report is created (as SIGINT
  // would while it is written).
  ReportCreateHookStore store;
  int at = 0;  // 0: never
  int creates = 0;
  std::atomic<bool> flag{false};
  store.on_report = [&] {
    if (++creates == at) flag.store(true);
  };
  const std::string dir = ::testing::TempDir() + "/interrupted-reports-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ValidateJobOptions o = MissingTradesOfThreeDays(100);
  o.tool_version = "test";
  o.cancel = &flag;
  at = 2;
  o.summary_json = dir + "/summary.json";
  auto r = RunValidateJob(&store, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status.code(), Status::Code::kCancelled) << r->status.ToString();
  EXPECT_EQ(creates, 2);
  EXPECT_TRUE(r->text.empty());
  EXPECT_FALSE(std::filesystem::exists(o.summary_json));
  auto first = ReadMissingReport(&store, Date{2024, 3, 1});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->size(), 100u);
  for (int d : {2, 3}) {
    EXPECT_EQ(ReadMissingReport(&store, Date{2024, 3, d}).status().code(), Status::Code::kNotFound) << d;
  }
  std::filesystem::remove_all(dir);
}

// A day's report whose results fail to read back from their temporary file
// is not committed, whether they fail before it is begun (refused at once)
// or while its columns are read (the rows read then as zeros, which would
// make a report of wrong values): the previous report stays.
TEST(MissingReport, ResultsThatFailToReadBackWriteNoReport) {
  // Breaks the results' file as the report's first bytes are written: its
  // rows are counted and its first columns read, the rest then fail.
  class BreakingStore : public testing::MemoryStoreDouble {
   public:
    class Object : public storage::WritableObject {
     public:
      Object(std::unique_ptr<storage::WritableObject> inner, int* found) : inner_(std::move(inner)), found_(found) {}
      Status Append(std::string_view data) override {
        if (*found_ == 0) *found_ = BreakTemporaryFiles();
        return inner_->Append(data);
      }
      Status Commit() override { return inner_->Commit(); }
      void Abort() override { inner_->Abort(); }
      uint64_t bytes_written() const override { return inner_->bytes_written(); }

     private:
      std::unique_ptr<storage::WritableObject> inner_;
      int* found_;
    };
    Result<std::unique_ptr<storage::WritableObject>> Create(const std::string& name, bool overwrite) override {
      MT_ASSIGN_OR_RETURN(auto obj, MemoryStoreDouble::Create(name, overwrite));
      if (!armed) return obj;
      return std::unique_ptr<storage::WritableObject>(new Object(std::move(obj), &found));
    }
    bool armed = false;
    int found = 0;
  };
  BreakingStore store;
  constexpr size_t kItems = pipeline::kMissingReportRowGroupRows + 4464;  // two row groups, past the 4 MiB budget
  ItemResults items;
  for (size_t i = 0; i < kItems; i++) {
    ItemResult r;
    r.item = ExpectedItem{kDay, "trades", "DERIBIT:OPTION:K" + std::to_string(i), "deribit", "OPTIONS"};
    r.object = "raw/" + r.item.instrument_key + ".parquet";
    r.reason = "no object";
    items.push_back(r);
  }
  ASSERT_GT(items.spilled(), 0u);
  ASSERT_TRUE(WriteMissingReport(&store, kDay, items, 0, items.size(), kDayUs, "test").ok());
  auto check_report = [&store, kItems]() {
    auto back = ReadMissingReport(&store, kDay);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_EQ(back->size(), kItems);
    size_t wrong = 0;
    for (size_t i = 0; i < kItems; i++) {
      const ReportedItem& b = (*back)[i];
      wrong += b.item.instrument_key != "DERIBIT:OPTION:K" + std::to_string(i) || b.item.data_type != "trades" ||
               b.status != ItemStatus::kMissing || b.reason != "no object";
    }
    EXPECT_EQ(wrong, 0u);
  };
  check_report();
  for (const char* when : {"while its columns are read", "before it is begun"}) {
    SCOPED_TRACE(when);
    store.armed = true;
    const Status st = WriteMissingReport(&store, kDay, items, 0, items.size(), kDayUs, "test");
    EXPECT_EQ(store.found, 1);
    EXPECT_EQ(st.code(), Status::Code::kIOError) << st.ToString();
    EXPECT_NE(st.message().find("missing-data report of 2020-02-22 not written"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("cannot read back a temporary file"), std::string::npos) << st.message();
    check_report();
  }
}

}  // namespace
// A TMPDIR where no file can be created: the expected items stay in memory,
// sorted and readable as ever, and note() says why (validate warns with it).
TEST(ExpectedItems, WithoutATemporaryFileTheItemsStayInMemoryAndSayWhy) {
  testing::ScopedTmpdir tmpdir("/nonexistent-market-tick-dir");
  ExpectedItems items(size_t{4} << 10);
  for (int i = 0; i < 2000; i++) {
    items.push_back({Date{2020, 2, 22}, "trades", "BINANCE:SPOT_PAIR:A" + std::to_string(1999 - i) + "-USDT", "binance",
                     "A" + std::to_string(1999 - i) + "USDT"});
  }
  items.SortUnique();
  tmpdir.Restore();
  EXPECT_EQ(items.spilled(), 0u);
  ASSERT_EQ(items.size(), 2000u);
  EXPECT_EQ(items.instrument_key(0), "BINANCE:SPOT_PAIR:A0-USDT");
  EXPECT_TRUE(items.io_status().ok());
  EXPECT_NE(items.note().find("/nonexistent-market-tick-dir"), std::string::npos) << items.note();
}

}  // namespace mt::validate
