#include "tardis/schema.h"

namespace mt::tardis {

using columnar::ColumnKind;

namespace {

std::vector<Column> Common() {
  return {
      {"exchange", "exchange", ColumnKind::kString, false, "Tardis exchange id, e.g. binance-futures"},
      {"symbol", "symbol", ColumnKind::kString, false, "instrument symbol as the exchange gives it, upper case"},
      {"timestamp", "timestamp", ColumnKind::kTimestampMicros, false,
       "exchange time of the event (Tardis writes local_timestamp when the exchange gives none)"},
      {"local_timestamp", "local_timestamp", ColumnKind::kTimestampMicros, false,
       "arrival time at Tardis; rows are ordered by it"},
  };
}

Column D(const std::string& csv, const std::string& pq, const std::string& doc) {
  return {csv, pq, ColumnKind::kDouble, true, doc};
}
Column D(const std::string& name, const std::string& doc) { return D(name, name, doc); }
Column S(const std::string& name, const std::string& doc) {
  return {name, name, ColumnKind::kString, true, doc};
}
Column T(const std::string& name, const std::string& doc) {
  return {name, name, ColumnKind::kTimestampMicros, true, doc};
}

DataTypeSchema Make(const std::string& name, std::vector<Column> extra) {
  DataTypeSchema s{name, Common()};
  for (auto& c : extra) s.columns.push_back(std::move(c));
  return s;
}

DataTypeSchema BookSnapshot(int levels) {
  std::vector<Column> cols;
  for (int i = 0; i < levels; i++) {
    const std::string n = std::to_string(i + 1), k = std::to_string(i);
    cols.push_back(D("asks[" + k + "].price", "ask_price_" + n, "ask price at level " + n));
    cols.push_back(D("asks[" + k + "].amount", "ask_volume_" + n, "ask amount at level " + n));
    cols.push_back(D("bids[" + k + "].price", "bid_price_" + n, "bid price at level " + n));
    cols.push_back(D("bids[" + k + "].amount", "bid_volume_" + n, "bid amount at level " + n));
  }
  return Make("book_snapshot_" + std::to_string(levels), std::move(cols));
}

std::vector<Column> TradeLike(const std::string& side_doc) {
  return {S("id", "trade id; null when the exchange gives none"), S("side", side_doc),
          D("price", "price"), D("amount", "amount in the exchange's unit (coins or contracts)")};
}

std::vector<Column> QuoteColumns() {
  return {D("ask_amount", "best ask amount"), D("ask_price", "best ask price"),
          D("bid_price", "best bid price"), D("bid_amount", "best bid amount")};
}

std::vector<DataTypeSchema> Build() {
  std::vector<DataTypeSchema> all;
  all.push_back(Make("trades", TradeLike("aggressor side: buy or sell (unknown possible)")));
  all.push_back(Make("incremental_book_L2",
                     {{"is_snapshot", "is_snapshot", ColumnKind::kBool, true,
                       "true for rows of a full book snapshot"},
                      S("side", "bid or ask"), D("price", "price level"),
                      D("amount", "new absolute amount at the level; 0 removes it")}));
  all.push_back(BookSnapshot(5));
  all.push_back(BookSnapshot(25));
  all.push_back(Make("quotes", QuoteColumns()));
  all.push_back(Make("book_ticker", QuoteColumns()));
  all.push_back(Make("derivative_ticker",
                     {T("funding_timestamp", "time of the next funding event"),
                      D("funding_rate", "funding rate for that event"),
                      D("predicted_funding_rate", "the venue's prediction for the event after"),
                      D("open_interest", "open interest"), D("last_price", "last traded price"),
                      D("index_price", "index price"), D("mark_price", "mark price")}));
  all.push_back(Make("liquidations",
                     TradeLike("liquidation order side: buy = short liquidated, sell = long liquidated")));
  all.push_back(Make(
      "options_chain",
      {S("type", "put or call"), D("strike_price", "strike"), T("expiration", "expiry time"),
       D("open_interest", "open interest"), D("last_price", "last traded price"),
       D("bid_price", "best bid price"), D("bid_amount", "best bid amount"),
       D("bid_iv", "bid implied volatility, percent"), D("ask_price", "best ask price"),
       D("ask_amount", "best ask amount"), D("ask_iv", "ask implied volatility, percent"),
       D("mark_price", "mark price"), D("mark_iv", "mark implied volatility, percent"),
       S("underlying_index", "underlying index name"), D("underlying_price", "underlying price"),
       D("delta", "delta"), D("gamma", "gamma"), D("vega", "vega"), D("theta", "theta"),
       D("rho", "rho")}));
  all.back().row_keys = true;
  return all;
}

}  // namespace

std::vector<columnar::ColumnSpec> DataTypeSchema::ParquetSchema() const {
  std::vector<columnar::ColumnSpec> out;
  for (const auto& c : columns) out.push_back({c.parquet_name, c.kind, c.nullable});
  return out;
}

std::vector<Column> DataTypeSchema::OutputColumns() const {
  std::vector<Column> out = columns;
  out.insert(out.begin() + kInstrumentKeyColumn,
             row_keys ? Column{"", "instrument_key", ColumnKind::kString, true,
                               "the row's own instrument key (VENUE:OPTION:...), from its symbol or the instrument "
                               "definitions; null when the symbol has no key"}
                      : Column{"", "instrument_key", ColumnKind::kString, true,
                               "the file's instrument key (VENUE:TYPE:SYMBOL, as its object name), the same in every "
                               "row; null in a file of rows kept without a key (UNKEYED)"});
  return out;
}

void InsertFileKeyColumn(columnar::RowGroupData* rg, std::string_view key) {
  columnar::ColumnData col;
  col.kind = ColumnKind::kString;
  col.nullable = true;
  if (key.empty()) {
    for (size_t r = 0; r < rg->num_rows; r++) col.AddNull(r);
  } else if (rg->num_rows > 0) {
    col.str.Append(key);
    for (size_t r = 1; r < rg->num_rows; r++) col.str.RepeatLast();  // a count, no index stored
  }
  rg->columns.insert(rg->columns.begin() + kInstrumentKeyColumn, std::move(col));
}

std::vector<columnar::ColumnSpec> DataTypeSchema::OutputSchema() const {
  std::vector<columnar::ColumnSpec> out;
  for (const auto& c : OutputColumns()) out.push_back({c.parquet_name, c.kind, c.nullable});
  return out;
}

std::string DataTypeSchema::CsvHeader() const {
  std::string h;
  for (size_t i = 0; i < columns.size(); i++) {
    if (i) h += ',';
    h += columns[i].csv_name;
  }
  return h;
}

const std::vector<DataTypeSchema>& AllSchemas() {
  static const std::vector<DataTypeSchema> kAll = Build();
  return kAll;
}

const DataTypeSchema* FindSchema(std::string_view data_type) {
  for (const auto& s : AllSchemas()) {
    if (s.name == data_type) return &s;
  }
  return nullptr;
}

std::vector<const DataTypeSchema*> SchemasForHeader(std::string_view header) {
  std::vector<const DataTypeSchema*> out;
  for (const auto& s : AllSchemas()) {
    if (s.CsvHeader() == header) out.push_back(&s);
  }
  return out;
}

std::string SupportedDataTypes() {
  std::string out;
  for (const auto& s : AllSchemas()) {
    if (!out.empty()) out += ", ";
    out += s.name;
  }
  return out;
}

}  // namespace mt::tardis
