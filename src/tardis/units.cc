#include "tardis/units.h"

#include <algorithm>
#include <set>
#include <utility>

#include "tardis/schema.h"

namespace mt::tardis {

namespace {

using I = Instruments;
using Q = Quantity;

// Sources, named once (the table cites them by these words).
#define TN(file) "tardis-node src/mappers/" file " passes the exchange's field through unchanged"

// The facts. A venue's own rows come first; "*" rows are what holds for a
// venue with no row of its own for that (instruments, quantity). Keep one
// row per (exchanges, instruments, quantity): a test checks it.
const std::vector<UnitFact> kFacts = {
    // ---- Deribit: inverse BTC/ETH futures and perpetuals, USDC linear ones, coin-settled options.
    {"deribit", I::kInverse, Q::kAmount, "USD notional (a multiple of the contract size, 10 USD on BTC, 1 USD on ETH)",
     TN("deribit.ts") " (`amount`); Deribit's API documents amount in USD for perpetuals and inverse futures"},
    {"deribit", I::kLinear, Q::kAmount, "base coin (BTC_USDC-PERPETUAL: BTC)",
     "Deribit's API documents amount in the base currency for linear futures; " TN("deribit.ts")},
    {"deribit", I::kOption, Q::kAmount, "base coin (1 option = 1 BTC or 1 ETH)",
     "fixtures/tardis/csv/deribit_options_chain_2020-06-08_OPTIONS.csv.gz (bid_amount 15.1); Deribit's API "
     "documents option amounts in the base currency"},
    {"deribit", I::kOption, Q::kPrice, "base coin per option (BTC options in BTC, ETH options in ETH)",
     "fixtures/tardis/csv/deribit_options_chain_2020-06-08_OPTIONS.csv.gz (bid_price 0.0205 BTC with underlying "
     "9756 USD); the real instrument record fixtures/tardis/json/instrument_option.json quotes it in BTC"},
    {"deribit", I::kInverse, Q::kOpenInterest, "USD notional",
     "fixtures/tardis/csv/deribit_derivative_ticker_2026-08-10_BTC-PERPETUAL.csv.gz (705,041,730 at 65,255 USD/BTC); "
     "Deribit's API documents open interest in USD for perpetuals and inverse futures"},
    {"deribit", I::kOption, Q::kOpenInterest, "base coin",
     "Deribit's API documents open interest in the base currency for options and linear futures; " TN("deribit.ts")},
    {"deribit", I::kLinear, Q::kOpenInterest, "base coin",
     "Deribit's API documents open interest in the base currency for options and linear futures"},
    {"deribit", I::kOption, Q::kImpliedVolatility, "percent (55.91 = 55.91 %)",
     "fixtures/tardis/csv/deribit_options_chain_2020-06-08_OPTIONS.csv.gz (bid_iv 55.91, mark_iv 62.89); " TN(
         "deribit.ts") " (`bid_iv`, `ask_iv`, `mark_iv`)"},
    {"deribit", I::kOption, Q::kGreek,
     "delta: coins of underlying per 1-coin option; vega: USD per 1 IV point; theta: USD per day; gamma, rho: as "
     "Deribit reports them",
     "not stated by any source: read from the fixture (vega 2.25 and theta -53.06 on an option worth about 216 USD a "
     "day before expiry fit USD per IV point and per day); " TN("deribit.ts")},
    {"deribit", I::kAll, Q::kFundingRate, "fraction (0.00000459 = 0.000459 %), Deribit's `current_funding`",
     "tardis-node src/mappers/deribit.ts reads `current_funding` (not `funding_8h`); the period it refers to is not "
     "stated by any source (Deribit funds continuously), so it is kept as sent"},

    // ---- BitMEX: contracts.
    {"bitmex", I::kAll, Q::kAmount,
     "contracts: XBTUSD 1 USD each (inverse); other contracts as their contract_size says",
     TN("bitmex.ts") " (`size`); fixtures/tardis/json/instrument_perpetual.json (XBTUSD inverse, contractMultiplier "
                     "1, settled in BTC); fixtures/tardis/csv/bitmex_trades_2020-03-01_XBTUSD.csv.gz"},
    {"bitmex", I::kAll, Q::kOpenInterest, "contracts (as amount)", TN("bitmex.ts") " (`openInterest`)"},

    // ---- Binance: spot and USDT-M in coins, COIN-M in USD contracts, options in contracts of one coin.
    {"binance,binance-us,binance-futures", I::kAll, Q::kAmount, "base coin",
     TN("binance.ts") " (`q`: quantity, in the base asset on Binance spot and USDT-M)"},
    {"binance-futures", I::kAll, Q::kOpenInterest, "base coin",
     TN("binance.ts") " (`openInterest`, in the base asset on USDT-M)"},
    {"binance-delivery", I::kAll, Q::kAmount,
     "contracts: 100 USD each on BTC, 10 USD on other coins (COIN-M, inverse)",
     TN("binance.ts") " (`q`); the contract values are Binance's COIN-M contract specifications"},
    {"binance-delivery", I::kAll, Q::kOpenInterest, "contracts (as amount)",
     TN("binance.ts") " (`openInterest`, in contracts on COIN-M per Binance's API documentation)"},
    {"binance-options,binance-european-options", I::kOption, Q::kAmount, "contracts of 1 unit of the underlying coin",
     TN("binanceeuropeanoptions.ts") " (`q`); the contract unit is Binance's options specification"},
    {"binance-options,binance-european-options", I::kOption, Q::kPrice, "USDT per option",
     TN("binanceeuropeanoptions.ts") " (`p`, `mp`, `bo`, `ao`); Binance European options are USDT-margined"},
    {"binance-options,binance-european-options", I::kOption, Q::kImpliedVolatility, "decimal (0.65 = 65 %)",
     TN("binanceeuropeanoptions.ts") " (`b`, `a`, `vo`) with no sample value: decimal is the exchange's documented "
                                     "form, not checked against a real file here"},
    {"binance-options,binance-european-options", I::kOption, Q::kOpenInterest, "contracts (as amount)",
     TN("binanceeuropeanoptions.ts") " (`o`: open interest quantity)"},

    // ---- OKX: derivatives in contracts, spot in coins, inverse options priced in the coin.
    {"okex", I::kSpot, Q::kAmount, "base coin", TN("okex.ts") " (`sz`: base currency on spot)"},
    {"okex-options", I::kOption, Q::kAmount, "contracts, each worth the contract_size of the underlying coin",
     TN("okex.ts") " (`sz`, contracts on OKX derivatives); the coin per contract is in the instrument definitions"},
    {"okex-swap,okex-futures", I::kAll, Q::kAmount,
     "contracts: BTC-USD inverse 100 USD each, other USD inverse 10 USD; linear (USDT, USDC) a fixed amount of "
     "coin (contract_size)",
     TN("okex.ts") " (`sz`, contracts on OKX derivatives); fixtures/tardis/json/instrument_okex-futures_BTC-USD_UM_XPERP-"
                   "310404.json (contractMultiplier 0.0001)"},
    {"okex-swap,okex-futures,okex-options", I::kAll, Q::kOpenInterest, "contracts (as amount)",
     "tardis-node src/mappers/okex.ts reads `oi` (contracts), not `oiCcy` (coins): its sample has oi 236870, oiCcy "
     "23687; fixtures okex-swap_derivative_ticker_2023-04-01_BTC-USDC-SWAP.csv.gz (1,653,109)"},
    {"okex-options", I::kOption, Q::kPrice, "base coin per option on inverse (BTC-USD) options",
     "OKX quotes its coin-margined options in the coin; " TN("okex.ts")},
    {"okex-options", I::kOption, Q::kImpliedVolatility, "decimal (0.78 = 78 %)",
     "tardis-node src/mappers/okex.ts sample `markVol: '0.7794507758'`, passed through"},

    // ---- Bybit: inverse in USD, linear in coins, USDC options.
    {"bybit", I::kInverse, Q::kAmount, "USD notional (1 USD contracts: BTCUSD)",
     TN("bybit.ts") " (`v`, `size`); Bybit documents inverse contract quantity in USD"},
    {"bybit", I::kLinear, Q::kAmount, "base coin", TN("bybit.ts") " (`v`, `size`); Bybit documents linear quantity in the base coin"},
    {"bybit", I::kInverse, Q::kOpenInterest, "USD notional (as amount)", TN("bybit.ts") " (`openInterest`)"},
    {"bybit", I::kLinear, Q::kOpenInterest, "base coin", TN("bybit.ts") " (`openInterest`)"},
    {"bybit-options", I::kOption, Q::kAmount, "base coin", TN("bybit.ts") "; Bybit options are sized in the base coin"},
    {"bybit-options", I::kOption, Q::kPrice, "USDC per option",
     "Bybit's options are USDC options (the instrument's quote currency tells); " TN("bybit.ts")},
    {"bybit-options", I::kOption, Q::kImpliedVolatility, "decimal (1.47 = 147 %)",
     "tardis-node src/mappers/bybit.ts samples `bidIv: '1.4744'`, `markPriceIv: '1.5991'`, passed through"},
    {"bybit-options", I::kOption, Q::kOpenInterest, "base coin",
     "tardis-node src/mappers/bybit.ts sample `openInterest: '231.5'`, passed through"},

    // ---- Huobi DM: contracts.
    {"huobi-dm,huobi-dm-swap", I::kAll, Q::kAmount, "contracts: 100 USD each on BTC, 10 USD on other coins (inverse)",
     TN("huobi.ts") " (`amount`: contracts on Huobi DM); fixtures/tardis/csv/huobi-dm-swap_quotes_2020-05-01_BTC-USD."
                    "csv.gz"},

    // ---- Defaults.
    {"*", I::kSpot, Q::kAmount, "base coin",
     "every spot venue Tardis serves sizes orders in the base asset; tardis-node passes sizes through"},
    {"*", I::kAll, Q::kAmount,
     "venue-native: coins, contracts or USD notional; contract_size and inverse of the instrument definitions convert it",
     "not stated by any source for this venue: Tardis passes the exchange's size through (tardis-node src/types.ts "
     "`amount`, no unit)"},
    {"*", I::kAll, Q::kPrice, "quote currency per 1 unit of the base (USD per BTC also on inverse contracts)",
     "the exchanges' price fields, passed through by every tardis-node mapper"},
    {"*", I::kOption, Q::kPrice, "venue-native premium currency (price_currency of the instrument definitions)",
     "not stated by any source for this venue"},
    {"*", I::kAll, Q::kOpenInterest, "venue-native (as amount on that venue, where known)",
     "not stated by any source for this venue"},
    {"*", I::kAll, Q::kFundingRate, "fraction of the position per funding period (0.0001 = 0.01 %)",
     "every tardis-node mapper passes the venue's rate through; venues publish rates as fractions. The period (1, 4 or "
     "8 hours) is the venue's and may differ per instrument"},
    {"*", I::kAll, Q::kReferencePrice, "quote currency of the underlying (USD on Deribit)",
     "the exchanges' index and underlying prices, passed through; strike_price in the same currency"},
    {"*", I::kOption, Q::kImpliedVolatility, "venue-native: percent or decimal",
     "not stated by any source for this venue"},
    {"*", I::kOption, Q::kGreek, "as the venue reports them",
     "not stated by any source: no venue's greeks units are documented by Tardis"},
};

#undef TN

bool Covers(std::string_view list, std::string_view exchange) {
  size_t pos = 0;
  while (pos <= list.size()) {
    const size_t comma = list.find(',', pos);
    const std::string_view item = list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (item == exchange) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

std::string Cell(std::string_view s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

}  // namespace

std::string_view QuantityName(Quantity q) {
  switch (q) {
    case Q::kPrice: return "price";
    case Q::kAmount: return "amount";
    case Q::kOpenInterest: return "open interest";
    case Q::kFundingRate: return "funding rate";
    case Q::kReferencePrice: return "reference price";
    case Q::kImpliedVolatility: return "implied volatility";
    case Q::kGreek: return "greek";
  }
  return "?";
}

std::string_view InstrumentsName(Instruments i) {
  switch (i) {
    case I::kAll: return "all";
    case I::kSpot: return "spot";
    case I::kLinear: return "linear futures and perpetuals";
    case I::kInverse: return "inverse futures and perpetuals";
    case I::kOption: return "options";
  }
  return "?";
}

bool QuantityOf(std::string_view data_type, std::string_view column, Quantity* out) {
  const DataTypeSchema* s = FindSchema(data_type);
  if (!s) return false;
  bool numeric = false;
  for (const auto& c : s->columns) {
    if (c.parquet_name == column) numeric = c.kind == columnar::ColumnKind::kDouble;
  }
  if (!numeric) return false;
  auto starts = [&](std::string_view p) { return column.substr(0, p.size()) == p; };
  auto ends = [&](std::string_view p) { return column.size() >= p.size() && column.substr(column.size() - p.size()) == p; };
  if (column == "funding_rate" || column == "predicted_funding_rate") {
    *out = Q::kFundingRate;
  } else if (column == "open_interest") {
    *out = Q::kOpenInterest;
  } else if (column == "index_price" || column == "underlying_price" || column == "strike_price") {
    *out = Q::kReferencePrice;
  } else if (ends("_iv")) {
    *out = Q::kImpliedVolatility;
  } else if (column == "delta" || column == "gamma" || column == "vega" || column == "theta" || column == "rho") {
    *out = Q::kGreek;
  } else if (column == "amount" || ends("_amount") || starts("ask_volume_") || starts("bid_volume_")) {
    *out = Q::kAmount;
  } else if (column == "price" || ends("_price") || starts("ask_price_") || starts("bid_price_")) {
    *out = Q::kPrice;
  } else {
    return false;
  }
  return true;
}

const std::vector<UnitFact>& UnitFacts() { return kFacts; }

std::vector<const UnitFact*> UnitsForExchange(std::string_view exchange) {
  std::vector<const UnitFact*> out;
  std::set<std::pair<Instruments, Quantity>> own;
  for (const auto& f : kFacts) {
    if (f.exchanges != "*" && Covers(f.exchanges, exchange)) {
      out.push_back(&f);
      own.insert({f.instruments, f.quantity});
    }
  }
  for (const auto& f : kFacts) {
    if (f.exchanges != "*") continue;
    // A venue row for all instruments covers every kind of that quantity;
    // one for a kind covers that kind.
    if (own.count({f.instruments, f.quantity}) || own.count({I::kAll, f.quantity})) continue;
    out.push_back(&f);
  }
  return out;
}

std::string UnitsMarkdown(std::string_view exchange) {
  std::string out;
  out += "Tardis passes each exchange's numbers through as the venue sends them, so a column's unit depends on\n"
         "the venue and the kind of instrument. Each numeric column measures one quantity:\n\n"
         "| data type | columns | quantity |\n|---|---|---|\n";
  for (const auto& s : AllSchemas()) {
    std::vector<std::pair<Quantity, std::vector<std::string>>> groups;
    for (const auto& c : s.columns) {
      Quantity q;
      if (!QuantityOf(s.name, c.parquet_name, &q)) continue;
      // book_snapshot_N: one line per quantity, not 4 x N.
      std::string name = c.parquet_name;
      for (const char* p : {"ask_price_", "bid_price_", "ask_volume_", "bid_volume_"}) {
        if (name.rfind(p, 0) == 0) name = std::string(p) + "N";
      }
      auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& e) { return e.first == q; });
      if (g == groups.end()) {
        groups.push_back({q, {}});
        g = groups.end() - 1;
      }
      if (std::find(g->second.begin(), g->second.end(), name) == g->second.end()) g->second.push_back(name);
    }
    for (const auto& [q, cols] : groups) {
      std::string list;
      for (const auto& c : cols) list += (list.empty() ? "`" : ", `") + c + "`";
      out += "| " + s.name + " | " + list + " | " + std::string(QuantityName(q)) + " |\n";
    }
  }
  out += "\n- A price of an option (trades, quotes and book levels of an option; `options_chain` `last_price`,\n"
         "  `bid_price`, `ask_price`, `mark_price`) is its premium, in the premium currency below.\n"
         "- `book_snapshot_N` `*_volume_N` is the resting size at level N of the book, in the venue's amount unit.\n"
         "- In `options_chain` an empty cell (a null) can mean zero: Tardis leaves prices, amounts, IVs and greeks\n"
         "  empty when they are 0 (tardis-node's mappers drop zeros with `asNonZeroNumberOrUndefined`).\n"
         "- A fact not stated by any source says so in its source column, with the reason for the choice.\n\n";
  out += exchange.empty() ? "Per venue (`*`: every venue without a row of its own for that quantity and instrument kind):\n\n"
                          : "Units on " + std::string(exchange) + " (its own facts, then the defaults for the rest):\n\n";
  out += "| venues | instruments | quantity | unit | source |\n|---|---|---|---|---|\n";
  std::vector<const UnitFact*> rows;
  if (exchange.empty()) {
    for (const auto& f : kFacts) rows.push_back(&f);
  } else {
    rows = UnitsForExchange(exchange);
  }
  for (const UnitFact* f : rows) {
    std::string venues;
    for (char c : f->exchanges) venues += c == ',' ? std::string(", ") : std::string(1, c);
    out += "| " + Cell(venues) + " | " + std::string(InstrumentsName(f->instruments)) + " | " +
           std::string(QuantityName(f->quantity)) + " | " + Cell(f->unit) + " | " + Cell(f->source) + " |\n";
  }
  return out;
}

}  // namespace mt::tardis
