// The parser on every real fixture: first and last rows, every column, exact
// values; plus each kind of bad input.
#include "tardis/csv_parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "core/utf8.h"
#include "support/fixtures.h"

namespace mt::tardis {
namespace {

using mt::testing::CollectSink;
using mt::testing::FixturePath;
using mt::testing::ParseBytes;
using mt::testing::ReadFile;
using columnar::RowGroupData;

// Cell accessors over the concatenated batches (row r of column c), dense values resolved.
struct Table {
  std::vector<RowGroupData>* batches;
  const DataTypeSchema* schema;
  size_t rows() const {
    size_t n = 0;
    for (auto& b : *batches) n += b.num_rows;
    return n;
  }
  // Returns the cell as text the way Tardis wrote it is not recoverable for
  // doubles, so compare typed values: "" for null.
  std::string Str(size_t r, const std::string& col) const { return Cell(r, col, 's'); }
  double Dbl(size_t r, const std::string& col) const { return std::stod(Cell(r, col, 'd')); }
  int64_t Ts(size_t r, const std::string& col) const { return std::stoll(Cell(r, col, 't')); }
  bool IsNull(size_t r, const std::string& col) const { return Cell(r, col, 'n') == "null"; }

  std::string Cell(size_t r, const std::string& col, char) const {
    size_t c = 0;
    while (c < schema->columns.size() && schema->columns[c].parquet_name != col) c++;
    EXPECT_LT(c, schema->columns.size()) << col;
    for (auto& b : *batches) {
      if (r >= b.num_rows) {
        r -= b.num_rows;
        continue;
      }
      const auto& cd = b.columns[c];
      size_t v = r;
      if (cd.nullable) {
        if (!cd.IsDefined(r)) return "null";
        v = 0;
        for (size_t i = 0; i < r; i++) v += cd.IsDefined(i);
      }
      char buf[64];
      switch (cd.kind) {
        case columnar::ColumnKind::kString: return std::string(cd.str.Get(v));
        case columnar::ColumnKind::kTimestampMicros: return std::to_string(cd.i64[v]);
        case columnar::ColumnKind::kBool: return cd.b[v] ? "true" : "false";
        case columnar::ColumnKind::kDouble:
          std::snprintf(buf, sizeof buf, "%.17g", cd.f64[v]);
          return buf;
      }
    }
    ADD_FAILURE() << "row out of range";
    return "";
  }
};

struct Parsed {
  std::unique_ptr<CollectSink> sink = std::make_unique<CollectSink>();
  Table t{&sink->batches, nullptr};
};

Parsed ParseFixture(const std::string& name, size_t chunk = 1 << 20) {
  Parsed p;
  Status st = ParseBytes(ReadFile(FixturePath(name)), p.sink.get(), chunk);
  EXPECT_TRUE(st.ok()) << st.message();
  p.t.schema = p.sink->schema;
  return p;
}

TEST(CsvParserFixtures, BinanceFuturesTradesFirstAndLastRow) {
  auto p = ParseFixture("binance-futures_trades_2020-02-22_BTCUSDT.csv.gz");
  const Table& t = p.t;
  ASSERT_EQ(t.schema->name, "trades");
  ASSERT_EQ(t.rows(), 9999u);
  EXPECT_EQ(t.Str(0, "exchange"), "binance-futures");
  EXPECT_EQ(t.Str(0, "symbol"), "BTCUSDT");
  EXPECT_EQ(t.Ts(0, "timestamp"), 1582329602111000);
  EXPECT_EQ(t.Ts(0, "local_timestamp"), 1582329602418379);
  EXPECT_EQ(t.Str(0, "id"), "42377944");
  EXPECT_EQ(t.Str(0, "side"), "buy");
  EXPECT_EQ(t.Dbl(0, "price"), 9682.0);
  EXPECT_EQ(t.Dbl(0, "amount"), 0.132);
  // Last row of the file (zcat | tail -1).
  EXPECT_EQ(t.Str(9998, "exchange"), "binance-futures");
  EXPECT_EQ(t.Str(9998, "symbol"), "BTCUSDT");
  EXPECT_EQ(t.Ts(9998, "timestamp"), 1582337147728000);
  EXPECT_EQ(t.Ts(9998, "local_timestamp"), 1582337147852384);
  EXPECT_EQ(t.Str(9998, "id"), "42387942");
  EXPECT_EQ(t.Str(9998, "side"), "sell");
  EXPECT_EQ(t.Dbl(9998, "price"), 9666.84);
  EXPECT_EQ(t.Dbl(9998, "amount"), 0.07);
}

TEST(CsvParserFixtures, BitmexTradesHaveUuidIdsAndContracts) {
  auto p = ParseFixture("bitmex_trades_2020-03-01_XBTUSD.csv.gz");
  const Table& t = p.t;
  ASSERT_EQ(t.rows(), 10u);
  EXPECT_EQ(t.Str(0, "exchange"), "bitmex");
  EXPECT_EQ(t.Str(0, "symbol"), "XBTUSD");
  EXPECT_EQ(t.Ts(0, "timestamp"), 1583020803145000);
  EXPECT_EQ(t.Ts(0, "local_timestamp"), 1583020803307160);
  EXPECT_EQ(t.Str(0, "id"), "ccc3c1fa-212c-e8b0-1706-9b9c4f3d5ecf");
  EXPECT_EQ(t.Str(0, "side"), "sell");
  EXPECT_EQ(t.Dbl(0, "price"), 8531.5);
  EXPECT_EQ(t.Dbl(0, "amount"), 2152.0);
}

TEST(CsvParserFixtures, DeribitBookL2StartsWithSnapshot) {
  auto p = ParseFixture("deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv.gz");
  const Table& t = p.t;
  ASSERT_EQ(t.schema->name, "incremental_book_L2");
  ASSERT_EQ(t.rows(), 15u);
  EXPECT_EQ(t.Str(0, "exchange"), "deribit");
  EXPECT_EQ(t.Str(0, "symbol"), "BTC-PERPETUAL");
  EXPECT_EQ(t.Ts(0, "timestamp"), 1585699200245000);
  EXPECT_EQ(t.Ts(0, "local_timestamp"), 1585699200355684);
  EXPECT_EQ(t.Str(0, "is_snapshot"), "true");
  EXPECT_EQ(t.Str(0, "side"), "ask");
  EXPECT_EQ(t.Dbl(0, "price"), 6421.5);
  EXPECT_EQ(t.Dbl(0, "amount"), 18640.0);
}

TEST(CsvParserFixtures, DerivativeTickerEmptyCellsAreNull) {
  auto p = ParseFixture("deribit_derivative_ticker_2026-08-10_BTC-PERPETUAL.csv.gz");
  const Table& t = p.t;
  ASSERT_EQ(t.schema->name, "derivative_ticker");
  ASSERT_EQ(t.rows(), 3u);
  EXPECT_EQ(t.Ts(0, "timestamp"), 1786320665523000);
  EXPECT_EQ(t.Ts(0, "local_timestamp"), 1786320665533324);
  EXPECT_TRUE(t.IsNull(0, "funding_timestamp"));
  EXPECT_EQ(t.Dbl(0, "funding_rate"), 0.00000459);
  EXPECT_TRUE(t.IsNull(0, "predicted_funding_rate"));
  EXPECT_EQ(t.Dbl(0, "open_interest"), 705041730.0);
  EXPECT_EQ(t.Dbl(0, "last_price"), 65255.5);
  EXPECT_EQ(t.Dbl(0, "index_price"), 65203.53);
  EXPECT_EQ(t.Dbl(0, "mark_price"), 65220.13);
}

TEST(CsvParserFixtures, OkexSwapDerivativeTickerNegativeRates) {
  auto p = ParseFixture("okex-swap_derivative_ticker_2023-04-01_BTC-USDC-SWAP.csv.gz");
  const Table& t = p.t;
  ASSERT_EQ(t.rows(), 6u);
  EXPECT_EQ(t.Str(0, "symbol"), "BTC-USDC-SWAP");
  EXPECT_EQ(t.Ts(0, "funding_timestamp"), 1680336000000000);
  EXPECT_EQ(t.Dbl(0, "funding_rate"), 0.0001035718476117);
  EXPECT_EQ(t.Dbl(0, "predicted_funding_rate"), -0.0002170715502003);
  EXPECT_EQ(t.Dbl(0, "open_interest"), 1653109.0);
  EXPECT_EQ(t.Dbl(0, "last_price"), 28474.4);
  EXPECT_EQ(t.Dbl(0, "index_price"), 28484.8);
  EXPECT_EQ(t.Dbl(0, "mark_price"), 28479.0);
}

TEST(CsvParserFixtures, BookSnapshot25MapsLevelsToColumns) {
  auto p = ParseFixture("binance-futures_book_snapshot_25_2020-09-01_BTCUSDT.csv.gz");
  const Table& t = p.t;
  ASSERT_EQ(t.schema->name, "book_snapshot_25");
  ASSERT_EQ(t.schema->columns.size(), 104u);
  ASSERT_EQ(t.rows(), 10u);
  EXPECT_EQ(t.Ts(0, "timestamp"), 1598918403696000);
  EXPECT_EQ(t.Dbl(0, "ask_price_1"), 11657.08);
  EXPECT_EQ(t.Dbl(0, "ask_volume_1"), 1.714);
  EXPECT_EQ(t.Dbl(0, "bid_price_1"), 11657.07);
  EXPECT_EQ(t.Dbl(0, "bid_volume_1"), 10.896);
  EXPECT_EQ(t.Dbl(0, "ask_price_25"), 11659.34);
  EXPECT_EQ(t.Dbl(0, "ask_volume_25"), 0.618);
  EXPECT_EQ(t.Dbl(0, "bid_price_25"), 11653.25);
  EXPECT_EQ(t.Dbl(0, "bid_volume_25"), 1.003);
}

// A 104-column table starts with room for a few thousand rows, not 64 Ki:
// that was 53 MB reserved (and, a huge page per few columns, touched) for
// these 10 rows.
TEST(CsvParserFixtures, WideTableFirstBatchReservesAFewMegabytes) {
  auto p = ParseFixture("binance-futures_book_snapshot_25_2020-09-01_BTCUSDT.csv.gz");
  ASSERT_EQ(p.t.batches->size(), 1u);
  const RowGroupData& b = (*p.t.batches)[0];
  size_t reserved = 0;
  for (const auto& c : b.columns) reserved += 8 * (c.i64.capacity() + c.f64.capacity()) + c.b.capacity();
  EXPECT_GE(reserved, 10u * 102 * 8);
  EXPECT_LE(reserved, 5u << 20);
}

TEST(CsvParserFixtures, OptionsChainEveryColumnOfFirstRow) {
  auto p = ParseFixture("deribit_options_chain_2020-06-08_OPTIONS.csv.gz");
  const Table& t = p.t;
  ASSERT_EQ(t.schema->name, "options_chain");
  ASSERT_EQ(t.rows(), 7u);
  // deribit,BTC-9JUN20-9875-P,1591574399413000,1591574400196008,put,9875,1591689600000000,0.1,0.0295,
  // 0.0205,15.1,55.91,0.0235,15.2,68.94,0.02210436,62.89,SYN.BTC-9JUN20,9756.36,-0.61752,0.00103,
  // 2.24964,-53.05655,-0.22796
  EXPECT_EQ(t.Str(0, "symbol"), "BTC-9JUN20-9875-P");
  EXPECT_EQ(t.Ts(0, "timestamp"), 1591574399413000);
  EXPECT_EQ(t.Ts(0, "local_timestamp"), 1591574400196008);
  EXPECT_EQ(t.Str(0, "type"), "put");
  EXPECT_EQ(t.Dbl(0, "strike_price"), 9875.0);
  EXPECT_EQ(t.Ts(0, "expiration"), 1591689600000000);
  EXPECT_EQ(t.Dbl(0, "open_interest"), 0.1);
  EXPECT_EQ(t.Dbl(0, "last_price"), 0.0295);
  EXPECT_EQ(t.Dbl(0, "bid_price"), 0.0205);
  EXPECT_EQ(t.Dbl(0, "bid_amount"), 15.1);
  EXPECT_EQ(t.Dbl(0, "bid_iv"), 55.91);
  EXPECT_EQ(t.Dbl(0, "ask_price"), 0.0235);
  EXPECT_EQ(t.Dbl(0, "ask_amount"), 15.2);
  EXPECT_EQ(t.Dbl(0, "ask_iv"), 68.94);
  EXPECT_EQ(t.Dbl(0, "mark_price"), 0.02210436);
  EXPECT_EQ(t.Dbl(0, "mark_iv"), 62.89);
  EXPECT_EQ(t.Str(0, "underlying_index"), "SYN.BTC-9JUN20");
  EXPECT_EQ(t.Dbl(0, "underlying_price"), 9756.36);
  EXPECT_EQ(t.Dbl(0, "delta"), -0.61752);
  EXPECT_EQ(t.Dbl(0, "gamma"), 0.00103);
  EXPECT_EQ(t.Dbl(0, "vega"), 2.24964);
  EXPECT_EQ(t.Dbl(0, "theta"), -53.05655);
  EXPECT_EQ(t.Dbl(0, "rho"), -0.22796);
  // Row 6 (ETH-9JUN20-300-C) has an empty ask_price.
  EXPECT_EQ(t.Str(5, "symbol"), "ETH-9JUN20-300-C");
  EXPECT_TRUE(t.IsNull(5, "ask_price"));
  EXPECT_EQ(t.Dbl(5, "ask_amount"), 2.5);
  EXPECT_EQ(t.Str(6, "symbol"), "BTC-9JUN20-9875-P");
  EXPECT_EQ(t.Dbl(6, "rho"), -0.22808);
}

TEST(CsvParserFixtures, QuotesMirroredColumnOrder) {
  auto p = ParseFixture("huobi-dm-swap_quotes_2020-05-01_BTC-USD.csv.gz");
  const Table& t = p.t;
  ASSERT_EQ(t.schema->name, "quotes");
  EXPECT_EQ(t.Dbl(0, "ask_amount"), 5494.0);
  EXPECT_EQ(t.Dbl(0, "ask_price"), 8629.3);
  EXPECT_EQ(t.Dbl(0, "bid_price"), 8629.2);
  EXPECT_EQ(t.Dbl(0, "bid_amount"), 806.0);
}


// Last row of each fixture, every column, typed. The expected text is the
// file's last line as `zcat | tail -1` prints it.
struct LastRow {
  const char* file;
  size_t rows;
  const char* line;
};

TEST(CsvParserFixtures, LastRowOfEveryFixtureEveryColumn) {
  const LastRow cases[] = {
      {"bitmex_trades_2020-03-01_XBTUSD.csv.gz", 10,
       "bitmex,XBTUSD,1583020803276000,1583020803336743,7cae8d7b-b69d-025b-cc3c-84b911f37a8a,sell,8531.5,1"},
      {"deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv.gz", 15,
       "deribit,BTC-PERPETUAL,1585699200245000,1585699200355684,true,ask,6428.5,39950"},
      {"deribit_derivative_ticker_2026-08-10_BTC-PERPETUAL.csv.gz", 3,
       "deribit,BTC-PERPETUAL,1786320665645000,1786320665661106,,0.00000452,,705041730,65255.5,65221.3,65237.9"},
      {"okex-swap_derivative_ticker_2023-04-01_BTC-USDC-SWAP.csv.gz", 6,
       "okex-swap,BTC-USDC-SWAP,1682900659960000,1682900659992009,1682928000000000,-0.000055804472025,"
       "0.000013752625801,2113695,29292.3,29296.4,29304.1"},
      {"huobi-dm-swap_quotes_2020-05-01_BTC-USD.csv.gz", 10,
       "huobi-dm-swap,BTC-USD,1588291201814000,1588291201927888,5411,8629.3,8629.2,847"},
      {"binance-futures_book_snapshot_5_2020-09-01_BTCUSDT.csv.gz", 10,
       "binance-futures,BTCUSDT,1598918404284000,1598918404289427,11657.08,1.393,11657.07,10.881,11657.54,"
       "5.4,11656.97,0.2,11657.56,0.238,11655.78,0.2,11657.61,0.077,11655.77,0.98,11657.92,0.918,11655.7,0.188"},
      {"okex-futures_derivative_ticker_2026-08-10_BTC-USD_UM_XPERP-310404.csv.gz", 8,
       "okex-futures,BTC-USD_UM_XPERP-310404,1786320007959000,1786320007976275,1786348800000000,"
       "-0.0003962534258591,,11063965,64783.5,64825.9,64776"},
      {"binance-futures_quotes_2020-02-22_BTCUSDT.csv.gz", 9999,
       "binance-futures,BTCUSDT,1582329827061000,1582329827181582,0.031,9672.09,9671.19,0.012"},
      {"binance-futures_trades_2020-02-22_BTCUSDT.csv.gz", 9999,
       "binance-futures,BTCUSDT,1582337147728000,1582337147852384,42387942,sell,9666.84,0.07"},
  };
  for (const auto& c : cases) {
    auto p = ParseFixture(c.file);
    const Table& t = p.t;
    ASSERT_EQ(t.rows(), c.rows) << c.file;
    std::vector<std::string> cells;
    std::string line = c.line;
    size_t start = 0;
    while (true) {
      const size_t comma = line.find(',', start);
      cells.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    ASSERT_EQ(cells.size(), t.schema->columns.size()) << c.file;
    const size_t r = c.rows - 1;
    for (size_t i = 0; i < cells.size(); i++) {
      const auto& col = t.schema->columns[i];
      const std::string& name = col.parquet_name;
      if (cells[i].empty()) {
        EXPECT_TRUE(t.IsNull(r, name)) << c.file << " " << name;
        continue;
      }
      switch (col.kind) {
        case columnar::ColumnKind::kDouble:
          EXPECT_EQ(t.Dbl(r, name), std::strtod(cells[i].c_str(), nullptr)) << c.file << " " << name;
          break;
        case columnar::ColumnKind::kTimestampMicros:
          EXPECT_EQ(t.Ts(r, name), std::stoll(cells[i])) << c.file << " " << name;
          break;
        default:
          EXPECT_EQ(t.Str(r, name), cells[i]) << c.file << " " << name;
      }
    }
  }
}

TEST(CsvParserFixtures, ChunkBoundariesDoNotMatter) {
  // Feed the decompressed text one byte at a time and in odd chunks.
  for (size_t chunk : {1, 3, 7, 4096}) {
    auto p = ParseFixture("deribit_options_chain_2020-06-08_OPTIONS.csv.gz", chunk);
    ASSERT_EQ(p.t.rows(), 7u) << chunk;
    EXPECT_EQ(p.t.Dbl(6, "rho"), -0.22808);
  }
}

TEST(CsvParserFixtures, BatchesSplitAtBatchRows) {
  tardis::ParserOptions opts;
  opts.batch_rows = 1000;
  CollectSink sink(nullptr, opts);
  ASSERT_TRUE(ParseBytes(ReadFile(FixturePath("binance-futures_quotes_2020-02-22_BTCUSDT.csv.gz")), &sink).ok());
  ASSERT_EQ(sink.batches.size(), 10u);
  for (size_t i = 0; i < 9; i++) EXPECT_EQ(sink.batches[i].num_rows, 1000u);
  EXPECT_EQ(sink.batches[9].num_rows, 999u);
}

// ---- bad input ----

Status ParseText(const std::string& text, const DataTypeSchema* forced = nullptr) {
  CollectSink sink(forced);
  return ParseBytes(text, &sink);
}

const char kTradesHeader[] = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n";

// Rows of thousands of instruments in no order (a grouped file): every row
// keeps its own exchange and symbol, however its prefix was read (the
// previous row's, a remembered one, a full parse). Batches of a few thousand
// rows start new dictionaries, so a prefix remembered with the indices of an
// earlier batch would name another instrument; prefixes longer than the
// remembered ones, short ones and a second exchange are mixed in, and the
// text comes in chunks of odd sizes (rows cut anywhere).
TEST(CsvParser, InterleavedInstrumentsKeepTheirOwnExchangeAndSymbol) {
  std::mt19937 rng(7);
  std::vector<std::pair<std::string, std::string>> instruments;
  for (int i = 0; i < 3000; i++) {
    std::string sym = "BTC-" + std::to_string(1 + i % 28) + "DEC24-" + std::to_string(1000 * (i + 1)) + "-C";
    if (i % 97 == 0) sym = "S" + std::to_string(i);  // "x,S0," : shorter than a word
    if (i % 89 == 0) sym += "-" + std::string(40, 'L');  // a prefix past the remembered length
    instruments.emplace_back(i % 13 == 0 ? "okex-options" : "deribit", sym);
  }
  instruments[0].first = "x";
  std::string text = kTradesHeader;
  std::vector<size_t> row_instrument;
  for (int r = 0; r < 40000; r++) {
    // Runs of one instrument now and then (the previous row's prefix).
    const size_t k = (r % 7 == 3 && !row_instrument.empty()) ? row_instrument.back() : rng() % instruments.size();
    row_instrument.push_back(k);
    text += instruments[k].first + "," + instruments[k].second + ",1000," + std::to_string(1000 + r) + "," +
            std::to_string(r) + ",buy,1.5,2\n";
  }
  for (const size_t chunk : {size_t{1} << 20, size_t{4093}}) {
    tardis::ParserOptions opts;
    opts.batch_rows = 5000;
    CollectSink sink(nullptr, opts);
    ASSERT_TRUE(ParseBytes(text, &sink, chunk).ok());
    Table t{&sink.batches, sink.schema};
    ASSERT_EQ(t.rows(), row_instrument.size());
    size_t wrong = 0;
    for (size_t r = 0; r < row_instrument.size(); r++) {
      const auto& [exchange, symbol] = instruments[row_instrument[r]];
      if (t.Str(r, "exchange") != exchange || t.Str(r, "symbol") != symbol || t.Str(r, "id") != std::to_string(r)) {
        if (wrong++ < 3) ADD_FAILURE() << "row " << r << ": " << t.Str(r, "exchange") << "," << t.Str(r, "symbol");
      }
    }
    EXPECT_EQ(wrong, 0u) << "chunk " << chunk;
    EXPECT_EQ(sink.batches.size(), 8u);
    EXPECT_TRUE(sink.batches[3].columns[1].str.dict_mode());
    EXPECT_TRUE(sink.parser().remembers_prefixes());
  }
}

// A file of one instrument changes prefix once a batch (its first row): in
// batches of ten rows, 400 of them, it never remembers prefixes (the memory
// is for files of many instruments).
TEST(CsvParser, OneInstrumentInManyBatchesRemembersNoPrefix) {
  std::string text = kTradesHeader;
  for (int r = 0; r < 4000; r++) {
    text += "deribit,BTC-PERPETUAL,1000," + std::to_string(1000 + r) + "," + std::to_string(r) + ",buy,1.5,2\n";
  }
  tardis::ParserOptions opts;
  opts.batch_rows = 10;
  CollectSink sink(nullptr, opts);
  ASSERT_TRUE(ParseBytes(text, &sink).ok());
  EXPECT_EQ(sink.batches.size(), 400u);
  EXPECT_FALSE(sink.parser().remembers_prefixes());
}

TEST(CsvParserErrors, UnknownHeaderNamesTheHeader) {
  const Status st = ParseText("a,b,c\n1,2,3\n");
  EXPECT_EQ(st.code(), Status::Code::kInvalidInput);
  EXPECT_NE(st.message().find("input.csv:1:"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("unknown header \"a,b,c\""), std::string::npos) << st.message();
}

// An HTML page where a file was expected (a proxy's login page served with
// 200) is named as such, whether the data type is known or not.
TEST(CsvParserErrors, AnHtmlPageIsNamedAsOne) {
  const std::string html = "<!DOCTYPE html>\n<html><body>Please log in</body></html>\n";
  const Status unknown = ParseText(html);
  EXPECT_NE(unknown.message().find("unknown header \"<!DOCTYPE html>\""), std::string::npos) << unknown.message();
  EXPECT_NE(unknown.message().find("; this is an HTML or XML page, not a Tardis file"), std::string::npos)
      << unknown.message();
  const Status forced = ParseText(html, FindSchema("trades"));
  EXPECT_NE(forced.message().find("; this is an HTML or XML page, not a Tardis file"), std::string::npos)
      << forced.message();
  EXPECT_EQ(ParseText("a,b,c\n1,2,3\n").message().find("HTML"), std::string::npos);
}

TEST(CsvParserErrors, WrongColumnCountNamesLineAndColumn) {
  const Status st = ParseText(std::string(kTradesHeader) +
                              "binance,BTCUSDT,1,2,9,buy,1.5,2\n"
                              "binance,BTCUSDT,1,2,9,buy,1.5\n");
  EXPECT_NE(st.message().find("input.csv:3:"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("too few columns: found 7, the trades header has 8; the first missing is (column 8 "
                              "'amount')"),
            std::string::npos)
      << st.message();
  const Status st2 = ParseText(std::string(kTradesHeader) + "binance,BTCUSDT,1,2,9,buy,1.5,2,extra\n");
  EXPECT_NE(st2.message().find("input.csv:2:"), std::string::npos) << st2.message();
  EXPECT_NE(st2.message().find("too many columns: found 9"), std::string::npos) << st2.message();
}

TEST(CsvParserErrors, UnparsableNumberShowsRawTextAndColumn) {
  const Status st = ParseText(std::string(kTradesHeader) + "binance,BTCUSDT,1,2,9,buy,12x.5,2\n");
  EXPECT_NE(st.message().find("input.csv:2:27: cannot parse \"12x.5\" as a number (column 7 'price')"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("binance,BTCUSDT,1,2,9,buy,12x.5,2"), std::string::npos);
}

// A cell almost as long as a line may be is quoted by its start and its
// length: the message is one line of a log or a summary, not a copy of the
// input.
TEST(CsvParserErrors, UnparsableLongCellIsQuotedByItsStart) {
  const std::string cell = "1" + std::string((1 << 20) - 100, '2');
  const Status st = ParseText(std::string(kTradesHeader) + "binance,BTCUSDT,1,2,9,buy," + cell + ",2\n");
  EXPECT_NE(st.message().find("input.csv:2:27: cannot parse \"12222"), std::string::npos)
      << st.message().substr(0, 400);
  EXPECT_NE(st.message().find("\xE2\x80\xA6 (1048477 bytes in all)\" as a number (column 7 'price')"),
            std::string::npos)
      << st.message().substr(0, 400);
  EXPECT_LT(st.message().size(), 700u);
}

// A text cell (symbol, side, id) must be valid UTF-8 and hold no NUL: the
// row is rejected with its line and the column of the bad byte, whether the
// bad bytes arrive in one chunk or straddle chunks, and the message itself is
// printable UTF-8.
TEST(CsvParserErrors, InvalidUtf8InATextCellNamesLineAndColumn) {
  const std::string good = "binance,BTCUSDT,1,2,9,buy,1.5,2\n";
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{1} << 20}) {
    CollectSink sink;
    const Status st = ParseBytes(std::string(kTradesHeader) + good + "binance,BTC\xC3USDT,1,2,9,buy,1.5,2\n", &sink, chunk);
    EXPECT_EQ(st.code(), Status::Code::kInvalidInput);
    EXPECT_NE(st.message().find("input.csv:3:12: invalid UTF-8 in a text value (byte 0xC3"), std::string::npos)
        << st.message();
    EXPECT_NE(st.message().find("(column 2 'symbol')"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("binance,BTC?USDT,1,2"), std::string::npos) << st.message();
    EXPECT_EQ(Utf8InvalidOffset(st.message().data(), st.message().size()), st.message().size());
  }
  // Side (a short keyed value), trade id (a long plain one), overlong forms,
  // surrogates, a lone continuation byte, a truncated sequence at the end.
  const struct {
    std::string row, where;
  } cases[] = {
      {"binance,BTCUSDT,1,2,9,b\xFFy,1.5,2\n", "input.csv:2:24: invalid UTF-8 in a text value (byte 0xFF"},
      {"binance,BTCUSDT,1,2,123456789012345678\x80,buy,1.5,2\n", "input.csv:2:39: invalid UTF-8"},
      {"binance,BTCUSDT,1,2,\xC0\xAF,buy,1.5,2\n", "input.csv:2:21: invalid UTF-8 in a text value (byte 0xC0"},
      {"binance,BTCUSDT,1,2,\xED\xA0\x80,buy,1.5,2\n", "input.csv:2:21: invalid UTF-8 in a text value (byte 0xED"},
      {"binance,BTCUSDT,1,2,9,buy,1.5,2\nbinance,BTCUSDT,1,2,\xE2\x82,buy,1.5,2", "input.csv:3:21: invalid UTF-8"},
      {"\xF5inance,BTCUSDT,1,2,9,buy,1.5,2\n", "input.csv:2:1: invalid UTF-8 in a text value (byte 0xF5"},
  };
  for (const auto& c : cases) {
    const Status st = ParseText(std::string(kTradesHeader) + c.row);
    EXPECT_NE(st.message().find(c.where), std::string::npos) << st.message();
  }
  // Valid multi-byte text passes untouched.
  CollectSink sink;
  ASSERT_TRUE(ParseBytes(std::string(kTradesHeader) + "binance,\xE6\xB5\x8B\xE8\xAF\x95USDT,1,2,\xF0\x9F\x9A\x80,buy,1.5,2\n",
                         &sink)
                  .ok());
  ASSERT_EQ(sink.batches.size(), 1u);
  EXPECT_EQ(sink.batches[0].columns[1].str.Get(0), "\xE6\xB5\x8B\xE8\xAF\x95USDT");
  EXPECT_EQ(sink.batches[0].columns[4].str.Get(0), "\xF0\x9F\x9A\x80");
}

// A NUL inside a symbol used to pass as text, and the object named after the
// symbol was cut at the NUL: rows vanished with exit 0.
TEST(CsvParserErrors, NulByteInASymbolNamesLineAndColumn) {
  const Status st = ParseText(std::string(kTradesHeader) + "binance,BTCUSDT,1,2,9,buy,1.5,2\n" +
                              std::string("binance,BTC\0USDT,1,2,9,buy,1.5,2\n", 33));
  EXPECT_EQ(st.code(), Status::Code::kInvalidInput);
  EXPECT_NE(st.message().find("input.csv:3:12: a NUL byte in a text value"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("(column 2 'symbol')"), std::string::npos) << st.message();
  // A NUL in the side column.
  const Status st2 = ParseText(std::string(kTradesHeader) + std::string("binance,BTCUSDT,1,2,9,bu\0,1.5,2\n", 32));
  EXPECT_NE(st2.message().find("input.csv:2:25: a NUL byte in a text value (a Tardis CSV has none"), std::string::npos)
      << st2.message();
}

// Tardis CSV has no quoting: a cell in quotes comes from a file another
// program wrote, and its text cells were stored with the quotes in them
// ("9" as the trade id, exit 0) where any CSV reader reads 9.
TEST(CsvParserErrors, AQuotedTextCellNamesLineAndColumn) {
  const std::string good = "binance,BTCUSDT,1,2,9,buy,1.5,2\n";
  const struct {
    std::string row, where;
  } cases[] = {
      {"binance,BTCUSDT,1,2,\"9\",buy,1.5,2\n", "input.csv:3:21: a quoted value"},
      {"binance,BTCUSDT,1,2,9,\"buy\",1.5,2\n", "input.csv:3:23: a quoted value"},
      {"binance,\"BTCUSDT\",1,2,9,buy,1.5,2\n", "input.csv:3:9: a quoted value"},
      {"\"binance\",BTCUSDT,1,2,9,buy,1.5,2\n", "input.csv:3:1: a quoted value"},
  };
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{1} << 20}) {
    for (const auto& c : cases) {
      CollectSink sink;
      const Status st = ParseBytes(std::string(kTradesHeader) + good + c.row, &sink, chunk);
      EXPECT_EQ(st.code(), Status::Code::kInvalidInput) << c.row;
      EXPECT_NE(st.message().find(c.where), std::string::npos) << st.message();
      EXPECT_NE(st.message().find("Tardis CSV files have no quoting"), std::string::npos) << st.message();
    }
  }
  // A quote inside a value is text as any CSV reader reads it.
  CollectSink sink;
  ASSERT_TRUE(ParseBytes(std::string(kTradesHeader) + "binance,BTCUSDT,1,2,9\"x,buy,1.5,2\n", &sink).ok());
  ASSERT_EQ(sink.batches.size(), 1u);
  EXPECT_EQ(sink.batches[0].columns[4].str.Get(0), "9\"x");
}

TEST(CsvParserErrors, UnparsableTimestamp) {
  const Status st = ParseText(std::string(kTradesHeader) + "binance,BTCUSDT,2020-01-01,2,9,buy,1,2\n");
  EXPECT_NE(st.message().find("input.csv:2:17: cannot parse \"2020-01-01\" as a timestamp"),
            std::string::npos)
      << st.message();
  const Status st2 = ParseText(std::string(kTradesHeader) + "binance,BTCUSDT,,2,9,buy,1,2\n");
  EXPECT_NE(st2.message().find("empty value in a required column (column 3 'timestamp')"),
            std::string::npos)
      << st2.message();
  const Status st3 = ParseText(std::string(kTradesHeader) + "binance,BTCUSDT,99999999999999999999,2,9,buy,1,2\n");
  EXPECT_NE(st3.message().find("as a timestamp"), std::string::npos) << st3.message();
  // Before 1970 or past year 9999 is no time of a market: INT64_MAX reads as
  // infinity in DuckDB, whose epoch_us of it is NULL.
  for (const char* ts : {"-1", "-0", "9223372036854775807", "253402300800000000", "0253402300800000000"}) {
    const Status bad = ParseText(std::string(kTradesHeader) + "binance,BTCUSDT," + ts + ",2,9,buy,1,2\n");
    EXPECT_NE(bad.message().find(std::string("cannot parse \"") + ts + "\" as a timestamp (integer microseconds since "
                                 "1970-01-01 UTC, up to the end of year 9999)"),
              std::string::npos)
        << ts << ": " << bad.message();
  }
  for (const char* ts : {"0", "253402300799999999", "1582329602111000"}) {
    CollectSink sink;
    ASSERT_TRUE(ParseBytes(std::string(kTradesHeader) + "binance,BTCUSDT," + ts + ",2,9,buy,1,2\n", &sink).ok()) << ts;
    EXPECT_EQ(sink.batches.at(0).columns[2].i64[0], std::stoll(ts));
  }
}

TEST(CsvParserErrors, EmptyInputNeedsDataType) {
  EXPECT_EQ(ParseText("").code(), Status::Code::kInvalidInput);
  EXPECT_TRUE(ParseText("", FindSchema("trades")).ok());
  EXPECT_TRUE(ParseText(kTradesHeader).ok());
}

TEST(CsvParserErrors, ForcedTypeMustMatchHeader) {
  const Status st = ParseText(kTradesHeader, FindSchema("quotes"));
  EXPECT_EQ(st.code(), Status::Code::kInvalidInput);
  // The file and line, the forced type and where it came from, both headers.
  EXPECT_NE(st.message().find("input.csv:1: the header is not the one of data type 'quotes' (from --data-type): "
                              "got \"exchange,symbol,timestamp,local_timestamp,id,side,price,amount\", expected "
                              "\"exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\"; "
                              "the header is the one of 'trades'"),
            std::string::npos)
      << st.message();
  ParserOptions named;
  named.data_type_origin = "the file name";
  CollectSink sink(FindSchema("book_ticker"), named);
  const Status st2 = ParseBytes(kTradesHeader, &sink);
  EXPECT_NE(st2.message().find("data type 'book_ticker' (from the file name)"), std::string::npos) << st2.message();
}

// liquidations share the trades header and book_ticker the quotes header:
// the type known from elsewhere is kept, the header only confirms it.
TEST(CsvParser, SharedHeadersKeepTheForcedType) {
  const std::string quotes_header =
      "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n";
  for (auto [type, header] : {std::pair{"liquidations", std::string(kTradesHeader)},
                              std::pair{"trades", std::string(kTradesHeader)},
                              std::pair{"book_ticker", quotes_header}, std::pair{"quotes", quotes_header}}) {
    CollectSink sink(FindSchema(type));
    ASSERT_TRUE(ParseBytes(header, &sink).ok()) << type;
    ASSERT_NE(sink.schema, nullptr);
    EXPECT_EQ(sink.schema->name, type);
  }
  ASSERT_EQ(SchemasForHeader(std::string(kTradesHeader, sizeof kTradesHeader - 2)).size(), 2u);
  EXPECT_EQ(SchemasForHeader(std::string(kTradesHeader, sizeof kTradesHeader - 2))[1]->name, "liquidations");
}

TEST(CsvParserErrors, AmbiguousHeaderWithoutATypeNamesBothTypes) {
  ParserOptions strict;
  strict.ambiguous_header_is_error = true;
  CollectSink sink(nullptr, strict);
  const Status st = ParseBytes(std::string(kTradesHeader) + "binance,BTCUSDT,1,2,9,buy,1.5,2\n", &sink);
  EXPECT_EQ(st.code(), Status::Code::kInvalidInput);
  EXPECT_NE(st.message().find("input.csv:1: the header fits data types 'trades' and 'liquidations'"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("pass --data-type trades or --data-type liquidations"), std::string::npos)
      << st.message();
  // A header of one type only is that type.
  CollectSink l2(nullptr, strict);
  EXPECT_TRUE(ParseBytes("exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n", &l2).ok());
  ASSERT_NE(l2.schema, nullptr);
  EXPECT_EQ(l2.schema->name, "incremental_book_L2");
}

TEST(CsvParserErrors, BinaryGarbage) {
  const Status st = ParseText(std::string("\x00\x01\x02garbage\xff\xfe\n", 13));
  EXPECT_NE(st.message().find("neither gzip nor CSV"), std::string::npos) << st.message();
}

TEST(CsvParser, AcceptsExponentsAndCrLf) {
  CollectSink sink;
  ASSERT_TRUE(ParseBytes("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\r\n"
                         "x,Y,1,2,,buy,1e-7,-0\r\n",
                         &sink)
                  .ok());
  ASSERT_EQ(sink.batches.size(), 1u);
  EXPECT_EQ(sink.batches[0].columns[6].f64[0], 1e-7);
  EXPECT_TRUE(std::signbit(sink.batches[0].columns[7].f64[0]));
  EXPECT_EQ(sink.batches[0].columns[4].null_count, 1u);
}

}  // namespace
}  // namespace mt::tardis

namespace mt::tardis {
namespace {

// The row parser's inline number path must agree bit for bit with the
// reference parser (strtod) on every form a Tardis file could hold.
TEST(CsvParser, InlineNumberPathEqualsReference) {
  std::mt19937_64 rng(3);
  std::vector<std::string> texts = {"5.", ".5", "-0", "0", "00012.50", "1e5", "-1.5E-7",
                                    "123456789012345", "1234567890123456", "0.0001035718476117",
                                    "9999999999999999999999", "-0.000055804472025",
                                    // around the one-word path: 8 bytes with the delimiter
                                    "1.", "-.5", "00.0", "12345.6", "123456.7", "1.234567",
                                    ".1234567", "0.1234567", "1234567", "12345678", "9.9"};
  for (int i = 0; i < 20000; i++) {
    std::string t = std::to_string(rng() % 100000000);
    const size_t frac = rng() % 12;
    if (frac && frac < t.size()) t.insert(t.size() - frac, ".");
    if (rng() % 3 == 0) t = "-" + t;
    texts.push_back(t);
  }
  std::string csv = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n";
  for (size_t i = 0; i < texts.size(); i++) {
    // The last column ends at the line end, not at a ','.
    csv += "x,Y,1,2," + texts[i] + ",1," + texts[(i * 7) % texts.size()] + "," +
           texts[(i * 3) % texts.size()] + "\n";
  }
  mt::testing::CollectSink sink;
  Status st = mt::testing::ParseBytes(csv, &sink);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(sink.batches.size(), 1u);
  const auto& ask_amount = sink.batches[0].columns[4].f64;
  const auto& bid_price = sink.batches[0].columns[6].f64;
  const auto& bid_amount = sink.batches[0].columns[7].f64;
  ASSERT_EQ(ask_amount.size(), texts.size());
  for (size_t i = 0; i < texts.size(); i++) {
    const double want = std::strtod(texts[i].c_str(), nullptr);
    ASSERT_EQ(0, std::memcmp(&ask_amount[i], &want, 8)) << texts[i];
    const double want2 = std::strtod(texts[(i * 7) % texts.size()].c_str(), nullptr);
    ASSERT_EQ(0, std::memcmp(&bid_price[i], &want2, 8)) << texts[(i * 7) % texts.size()];
    const double want3 = std::strtod(texts[(i * 3) % texts.size()].c_str(), nullptr);
    ASSERT_EQ(0, std::memcmp(&bid_amount[i], &want3, 8)) << texts[(i * 3) % texts.size()];
  }
}

}  // namespace
}  // namespace mt::tardis
