// instruments --format: the table picks its columns by name, csv and json
// carry every column with nulls where a value is absent.
#include "pipeline/instruments_format.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "pipeline/instruments_file.h"

namespace mt::pipeline {
namespace {

InstrumentDefinition Perpetual() {
  InstrumentDefinition d;
  d.instrument_key = "BINANCE-FUTURES:PERPETUAL:BTC-USDT";
  d.venue = "BINANCE-FUTURES";
  d.instrument_type = "PERPETUAL";
  d.available_from_us = 1567296000000000;  // 2019-09-01
  d.data_types = "quotes,trades";
  d.base_asset = "BTC";
  d.quote_asset = "USDT";
  d.settle_asset = "USDT";
  d.tardis_symbol = "BTCUSDT";
  d.tardis_exchange = "binance-futures";
  d.inverse = false;
  d.tick_size = 0.1;
  d.contract_size = 1;
  return d;
}

TEST(FormatDefinitions, TableShowsTheNamedColumns) {
  const std::string t = FormatDefinitions({Perpetual()}, "table");
  const std::string header = t.substr(0, t.find('\n'));
  std::vector<std::string> names;
  for (size_t b = 0, e; b < header.size(); b = header.find_first_not_of(' ', e)) {
    e = header.find(' ', b);
    names.push_back(header.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"instrument_key", "tardis_symbol", "available_from_datetime",
                                             "available_to_datetime", "settle_asset", "inverse", "tick_size",
                                             "contract_size", "data_types"}));
  const std::string row = t.substr(t.find('\n') + 1, t.find('\n', t.find('\n') + 1) - t.find('\n') - 1);
  std::vector<std::string> cells;
  for (size_t b = 0, e; b != std::string::npos; b = row.find_first_not_of(' ', e)) {
    e = row.find(' ', b);
    cells.push_back(row.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
  }
  EXPECT_EQ(cells, (std::vector<std::string>{"BINANCE-FUTURES:PERPETUAL:BTC-USDT", "BTCUSDT", "2019-09-01", "-", "USDT",
                                             "false", "0.1", "1", "quotes,trades"}));
  EXPECT_NE(t.find("\n1 instruments\n"), std::string::npos) << t;
}

TEST(FormatDefinitions, JsonAndCsvCarryEveryColumn) {
  const auto json = nlohmann::json::parse(FormatDefinitions({Perpetual()}, "json"));
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0].size(), InstrumentColumns().size());
  EXPECT_EQ(json[0]["tick_size"], 0.1);
  EXPECT_EQ(json[0]["inverse"], false);
  EXPECT_TRUE(json[0]["available_to_datetime"].is_null());
  EXPECT_EQ(json[0]["available_from_datetime"], "2019-09-01T00:00:00.000000Z");
  const std::string csv = FormatDefinitions({Perpetual()}, "csv");
  const std::string head = csv.substr(0, csv.find('\n'));
  EXPECT_EQ(std::count(head.begin(), head.end(), ','), static_cast<long>(InstrumentColumns().size() - 1));
  EXPECT_EQ(head.substr(0, head.find(',')), "instrument_key");
  EXPECT_NE(csv.find("\"quotes,trades\""), std::string::npos) << csv;  // a comma inside is quoted
}

// Numbers as written by hand: contract_size 100 and a strike of 70000 read
// "1e+02" and "7e+04" in the table and the csv (the shortest text that
// gives the value back, at %g's precision), which a spreadsheet or a diff
// against the venue's figures reads as another kind of value.
TEST(FormatDefinitions, NumbersAreShortestPlainDecimals) {
  InstrumentDefinition d = Perpetual();
  d.contract_size = 100;
  d.strike = 70000;
  d.tick_size = 0.00001;
  d.min_size = 0.125;
  d.amount_increment = 1e22;
  const std::string csv = FormatDefinitions({d}, "csv");
  const std::string row = csv.substr(csv.find('\n') + 1);
  EXPECT_NE(row.find(",100,"), std::string::npos) << row;
  EXPECT_NE(row.find(",70000,"), std::string::npos) << row;
  EXPECT_NE(row.find(",0.125,"), std::string::npos) << row;
  EXPECT_EQ(row.find("e+0"), std::string::npos) << row;
  // Shortest round trip still: a tiny tick and a huge number keep their exponent where it is shorter.
  EXPECT_NE(row.find(",1e-05,"), std::string::npos) << row;
  EXPECT_NE(row.find(",1e+22,"), std::string::npos) << row;
  const std::string t = FormatDefinitions({d}, "table");
  EXPECT_NE(t.find(" 100 "), std::string::npos) << t;
  EXPECT_EQ(t.find("1e+02"), std::string::npos) << t;
}

}  // namespace
}  // namespace mt::pipeline
