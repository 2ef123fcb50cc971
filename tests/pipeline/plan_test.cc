#include "pipeline/plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace mt::pipeline {
namespace {

TEST(Plan, ProductIsSortedAndDeduplicated) {
  PlanRequest req;
  req.from = Date{2020, 2, 28};
  req.to = Date{2020, 3, 1};
  req.exchanges = {"deribit", "binance-futures"};
  req.data_types = {"trades", "quotes"};
  req.symbols = {"btcusdt", "deribit:BTC-PERPETUAL", "BTCUSDT"};
  auto plan = BuildPlan(req);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  // 3 days (2020 is a leap year) x 2 types x (BTCUSDT on binance-futures +
  // BTC-PERPETUAL on deribit): deribit has no BTCUSDT, so it is not asked.
  EXPECT_EQ(plan->size(), 3u * 2 * 2);
  EXPECT_TRUE(std::is_sorted(plan->begin(), plan->end()));
  EXPECT_EQ((*plan)[0].Id(), "2020-02-28/quotes/binance-futures/BTCUSDT");
  EXPECT_EQ(plan->back().Id(), "2020-03-01/trades/deribit/BTC-PERPETUAL");
  EXPECT_EQ(DatasetUrl("http://h/", (*plan)[0]), "http://h/v1/binance-futures/quotes/2020/02/28/BTCUSDT.csv.gz");
  // An item planned from definitions carries the listing's spelling; its file is named by the
  // dataset symbol (upper case, `:` and `/` as `-`).
  WorkItem listed = (*plan)[0];
  listed.exchange = "bitfinex-derivatives";
  listed.symbol = "BTCF0:USTF0";
  EXPECT_EQ(DatasetUrl("http://h", listed), "http://h/v1/bitfinex-derivatives/quotes/2020/02/28/BTCF0-USTF0.csv.gz");
  listed.exchange = "kraken";
  listed.symbol = "xbt/usd";
  EXPECT_EQ(DatasetUrl("http://h", listed), "http://h/v1/kraken/quotes/2020/02/28/XBT-USD.csv.gz");
}

TEST(Plan, BadRequestsAreUsageErrors) {
  PlanRequest req;
  req.from = Date{2020, 3, 2};
  req.to = Date{2020, 3, 1};
  req.exchanges = {"deribit"};
  req.data_types = {"trades"};
  req.symbols = {"X"};
  EXPECT_EQ(BuildPlan(req).status().code(), Status::Code::kUsage);
  req.to = req.from;
  req.data_types = {"trade"};
  EXPECT_NE(BuildPlan(req).status().message().find("unknown data type 'trade'"), std::string::npos);
  // A derived name is not a Tardis data type: the error says where it goes.
  req.data_types = {"book_snapshot_10_1s"};
  const Status derived = BuildPlan(req).status();
  EXPECT_EQ(derived.code(), Status::Code::kUsage);
  EXPECT_NE(derived.message().find("computed from incremental_book_L2: pass it with --derive"), std::string::npos)
      << derived.message();
}

TEST(Shard, ParseShard) {
  EXPECT_EQ(ParseShard("3/60")->index, 3u);
  EXPECT_EQ(ParseShard("3/60")->count, 60u);
  for (const char* bad : {"60/60", "-1/4", "1/0", "a/b", "1", "1/2/3", "1 /2"}) {
    EXPECT_FALSE(ParseShard(bad).ok()) << bad;
  }
}

// Property: for N in 1..64 over a synthetic plan of 1,000,000 items, the
// shards partition the plan (union = plan, no overlap) and no shard exceeds
// the mean by more than 3%.
TEST(Shard, PartitionOfAMillionItems) {
  std::vector<WorkItem> plan;
  plan.reserve(1'000'000);
  const char* types[] = {"trades", "quotes", "incremental_book_L2", "book_snapshot_25", "derivative_ticker"};
  const char* exchanges[] = {"binance-futures", "deribit", "okex-swap"};
  for (int i = 0; plan.size() < 1'000'000; i++) {
    const Date day = AddDays(Date{2019, 1, 1}, i % 1000);
    plan.push_back(WorkItem{day, types[i % 5], exchanges[i % 3],
                            "SYM" + std::to_string(i / 3000)});  // unique: (day, type, exchange) repeat every 3000
  }
  std::vector<uint64_t> hashes(plan.size());
  for (size_t i = 0; i < plan.size(); i++) hashes[i] = StableHash(plan[i]);
  for (uint32_t n = 1; n <= 64; n++) {
    std::vector<size_t> sizes(n, 0);
    for (uint64_t h : hashes) sizes[h % n]++;  // each item lands in exactly one shard
    size_t total = 0;
    for (size_t s : sizes) total += s;
    ASSERT_EQ(total, plan.size());
    const double mean = static_cast<double>(plan.size()) / n;
    const size_t mx = *std::max_element(sizes.begin(), sizes.end());
    EXPECT_LE(mx, mean * 1.03) << "n=" << n;
  }
  // SelectShard agrees with the hash slices and the union is the plan.
  std::vector<WorkItem> sample(plan.begin(), plan.begin() + 20000);
  std::set<std::string> seen;
  for (uint32_t i = 0; i < 7; i++) {
    for (const auto& it : SelectShard(sample, Shard{i, 7})) {
      EXPECT_TRUE(seen.insert(it.Id()).second) << "overlap: " << it.Id();
    }
  }
  EXPECT_EQ(seen.size(), sample.size());
}

TEST(Shard, HashIsStable) {
  // Fixed values: a change here would reshuffle running fleets.
  const WorkItem it{Date{2020, 2, 22}, "trades", "binance-futures", "BTCUSDT"};
  EXPECT_EQ(StableHash(it), StableHash(WorkItem{Date{2020, 2, 22}, "trades", "binance-futures", "BTCUSDT"}));
  EXPECT_NE(StableHash(it), StableHash(WorkItem{Date{2020, 2, 23}, "trades", "binance-futures", "BTCUSDT"}));
}

TEST(Plan, BareSymbolsGoOnlyToExchangesThatKnowThem) {
  PlanRequest req;
  req.from = req.to = Date{2020, 2, 22};
  req.exchanges = {"binance-futures", "deribit"};
  req.data_types = {"trades"};
  req.symbols = {"BTCUSDT"};
  // By the venues' symbol rules: deribit cannot read BTCUSDT, so deribit
  // gets nothing, which is an error naming it.
  auto plan = BuildPlan(req);
  ASSERT_EQ(plan.status().code(), Status::Code::kUsage);
  EXPECT_NE(plan.status().message().find("deribit knows none of these symbols"), std::string::npos)
      << plan.status().message();
  EXPECT_EQ(plan.status().message().find("binance-futures know"), std::string::npos);
  req.symbols = {"BTCUSDT", "BTC-PERPETUAL"};
  plan = BuildPlan(req);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  std::vector<std::string> ids;
  for (const auto& w : *plan) ids.push_back(w.Id());
  EXPECT_EQ(ids, (std::vector<std::string>{"2020-02-22/trades/binance-futures/BTCUSDT",
                                           "2020-02-22/trades/deribit/BTC-PERPETUAL"}));
  // Stored definitions decide for the exchanges they list: here binance-futures
  // lists only ETHUSDT, so BTCUSDT goes nowhere there.
  KnownSymbols known;
  known.by_exchange["binance-futures"] = {"ETHUSDT", "BTCUSDT"};
  known.by_exchange["deribit"] = {"BTC-PERPETUAL", "OPTIONS"};
  req.known = &known;
  req.symbols = {"btcusdt", "ETHUSDT", "options"};
  plan = BuildPlan(req);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ids.clear();
  for (const auto& w : *plan) ids.push_back(w.Id());
  EXPECT_EQ(ids, (std::vector<std::string>{"2020-02-22/trades/binance-futures/BTCUSDT",
                                           "2020-02-22/trades/binance-futures/ETHUSDT",
                                           "2020-02-22/trades/deribit/OPTIONS"}));
  // A grouped symbol of derivatives goes to no spot-only venue: coinbase and
  // kraken file their derivatives under other ids.
  req.known = nullptr;
  req.exchanges = {"coinbase", "deribit", "kraken"};
  req.symbols = {"OPTIONS"};
  plan = BuildPlan(req);
  ASSERT_EQ(plan.status().code(), Status::Code::kUsage);
  EXPECT_NE(plan.status().message().find("coinbase, kraken know none of these symbols"), std::string::npos)
      << plan.status().message();
  req.symbols = {"OPTIONS", "BTC-USD"};
  plan = BuildPlan(req);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ids.clear();
  for (const auto& w : *plan) ids.push_back(w.Id());
  EXPECT_EQ(ids, (std::vector<std::string>{"2020-02-22/trades/coinbase/BTC-USD", "2020-02-22/trades/deribit/OPTIONS",
                                           "2020-02-22/trades/kraken/BTC-USD"}));
  // A swap symbol without its -SWAP is no okex-swap symbol.
  req.exchanges = {"okex", "okex-swap"};
  req.symbols = {"BTC-USDT"};
  plan = BuildPlan(req);
  ASSERT_EQ(plan.status().code(), Status::Code::kUsage);
  EXPECT_NE(plan.status().message().find("okex-swap knows none of these symbols"), std::string::npos)
      << plan.status().message();
  req.exchanges = {"binance-futures", "deribit"};
  req.known = &known;
  // A pin to an exchange the run leaves out is an error, not a dropped symbol.
  req.symbols = {"kraken:XBT-USD", "BTCUSDT"};
  plan = BuildPlan(req);
  ASSERT_EQ(plan.status().code(), Status::Code::kUsage);
  EXPECT_NE(plan.status().message().find("--symbols kraken:XBT-USD pins a symbol to kraken, which the run's exchanges "
                                         "(binance-futures,deribit) do not include"),
            std::string::npos)
      << plan.status().message();
  // A pinned symbol is taken as given.
  req.symbols = {"deribit:BTCUSDT", "ETHUSDT"};
  plan = BuildPlan(req);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->size(), 2u);
  EXPECT_EQ(plan->back().Id(), "2020-02-22/trades/deribit/BTCUSDT");
}

// A pinned symbol of a venue without a symbol rule (hyperliquid) takes its
// key from the stored definitions: without them, or when they do not list
// it, the plan stops with what to do, instead of every item failing as bad
// data once downloaded. Venues with a rule, and grouped symbols, are taken
// as given.
TEST(Plan, APinnedSymbolOfAVenueWithoutARuleNeedsItsDefinitions) {
  PlanRequest req;
  req.from = req.to = Date{2024, 1, 1};
  req.exchanges = {"hyperliquid"};
  req.data_types = {"trades"};
  req.symbols = {"hyperliquid:BTC"};
  auto plan = BuildPlan(req);
  ASSERT_EQ(plan.status().code(), Status::Code::kUsage);
  EXPECT_NE(plan.status().message().find("--symbols hyperliquid:BTC: hyperliquid has no symbol rule"), std::string::npos)
      << plan.status().message();
  EXPECT_NE(plan.status().message().find("the store lists none of its instruments; run `market-tick instruments`"),
            std::string::npos)
      << plan.status().message();
  KnownSymbols known;
  known.by_exchange["hyperliquid"] = {"ETH"};
  req.known = &known;
  plan = BuildPlan(req);
  ASSERT_EQ(plan.status().code(), Status::Code::kUsage);
  EXPECT_NE(plan.status().message().find("the stored ones do not list it"), std::string::npos) << plan.status().message();
  known.by_exchange["hyperliquid"].insert("BTC");
  plan = BuildPlan(req);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->size(), 1u);
  EXPECT_EQ(plan->front().Id(), "2024-01-01/trades/hyperliquid/BTC");
  req.known = nullptr;
  req.exchanges = {"hyperliquid", "binance-futures"};
  req.symbols = {"hyperliquid:PERPETUALS", "binance-futures:BTCUSDT"};
  plan = BuildPlan(req);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->size(), 2u);
}

TEST(Plan, UnknownExchangesAreUsageErrorsWithASuggestion) {
  EXPECT_TRUE(std::is_sorted(KnownExchanges().begin(), KnownExchanges().end()));
  EXPECT_TRUE(CheckExchanges({"binance-futures", "deribit", "okex-swap", "bybit-spot"}).ok());
  Status st = CheckExchanges({"deribit", "binance-futurs"});
  EXPECT_EQ(st.code(), Status::Code::kUsage);
  EXPECT_NE(st.message().find("unknown exchange 'binance-futurs' (did you mean binance-futures?)"), std::string::npos)
      << st.message();
  st = CheckExchanges({"zzzzzzzzzzzzzz"});
  EXPECT_EQ(st.code(), Status::Code::kUsage);
  EXPECT_EQ(st.message().find("did you mean"), std::string::npos) << st.message();
  // An exchange the stored definitions list is known (Tardis adds venues).
  EXPECT_TRUE(CheckExchanges({"new-venue"}, {"new-venue"}).ok());
  EXPECT_EQ(SuggestExchange("derbit"), "deribit");
  // Names the venues (or CCXT) use where Tardis has another id: the id, not
  // the nearest spelling (kraken-futures is not kucoin-futures).
  EXPECT_EQ(SuggestExchange("kraken-futures"), "cryptofacilities");
  EXPECT_EQ(SuggestExchange("krakenfutures"), "cryptofacilities");
  EXPECT_EQ(SuggestExchange("binanceusdm"), "binance-futures");
  EXPECT_EQ(SuggestExchange("binance-coinm"), "binance-delivery");
  EXPECT_EQ(SuggestExchange("htx"), "huobi");
  EXPECT_EQ(SuggestExchange("okx"), "okex");
  // Capitals, as instrument keys spell the venue: the id itself.
  EXPECT_EQ(SuggestExchange("BINANCE-FUTURES"), "binance-futures");
  EXPECT_EQ(SuggestExchange("DERIBIT"), "deribit");
  EXPECT_EQ(SuggestExchange("OKX-SWAP"), "okex-swap");
  st = CheckExchanges({"BINANCE"});
  EXPECT_NE(st.message().find("unknown exchange 'BINANCE' (did you mean binance?)"), std::string::npos) << st.message();
  st = CheckExchanges({"kraken-futures"});
  EXPECT_NE(st.message().find("unknown exchange 'kraken-futures' (did you mean cryptofacilities?)"), std::string::npos)
      << st.message();
  PlanRequest req;
  req.from = req.to = Date{2020, 2, 22};
  req.exchanges = {"binance-futurs"};
  req.data_types = {"trades"};
  req.symbols = {"BTCUSDT"};
  EXPECT_EQ(BuildPlan(req).status().code(), Status::Code::kUsage);
  // A symbol pinned to a misspelt exchange is the same typo, also beside
  // --exchanges (which it is not in): said as such, never silently dropped
  // while the other symbols are planned.
  req.exchanges = {"deribit"};
  req.symbols = {"binance-futurs:BTCUSDT", "deribit:BTC-PERPETUAL"};
  auto plan = BuildPlan(req);
  ASSERT_EQ(plan.status().code(), Status::Code::kUsage);
  EXPECT_NE(plan.status().message().find("unknown exchange 'binance-futurs' (did you mean binance-futures?)"),
            std::string::npos)
      << plan.status().message();
  EXPECT_NE(plan.status().message().find("binance-futurs:BTCUSDT"), std::string::npos) << plan.status().message();
  // A pin without its symbol or its exchange is a usage error, not an item
  // of symbol '' (planned, and failed as bad data) or an exchange ''.
  for (const char* half : {"deribit:", ":BTC-PERPETUAL"}) {
    req.symbols = {half};
    plan = BuildPlan(req);
    ASSERT_EQ(plan.status().code(), Status::Code::kUsage) << half;
    EXPECT_EQ(plan.status().message(),
              std::string("--symbols ") + half + ": write exchange:SYMBOL, both parts (e.g. bitmex:XBTUSD)");
  }
  // A symbol no Tardis symbol looks like (a pasted URL's query, a space, a
  // control character) is a usage error before any request, pinned or bare.
  for (const auto& [bad, shown] : std::vector<std::pair<std::string, std::string>>{
           {"deribit:BTC-PERPETUAL?x=1", "'?'"}, {"deribit:BTC PERPETUAL", "0x20"}, {"BTC-PERP#1", "'#'"},
           {"deribit:BTC-%2E%2E", "'%'"}, {std::string("deribit:BTC\x01"), "0x01"}}) {
    req.symbols = {bad};
    plan = BuildPlan(req);
    ASSERT_EQ(plan.status().code(), Status::Code::kUsage) << bad;
    EXPECT_EQ(plan.status().message(), "--symbols " + bad + ": a symbol holds " + shown +
                                           ", which no Tardis symbol does; write the symbol as Tardis lists it (e.g. "
                                           "coinbase:BTC-USD)");
  }
  req.symbols = {"Deribit:BTC-PERPETUAL"};
  plan = BuildPlan(req);
  ASSERT_EQ(plan.status().code(), Status::Code::kUsage);
  EXPECT_NE(plan.status().message().find("unknown exchange 'Deribit' (did you mean deribit?)"), std::string::npos)
      << plan.status().message();
  // A pin to an exchange the stored definitions list is known.
  KnownSymbols known;
  known.by_exchange["new-venue"] = {"X"};
  req.known = &known;
  req.exchanges = {"deribit", "new-venue"};
  req.symbols = {"new-venue:X", "deribit:BTC-PERPETUAL"};
  EXPECT_TRUE(BuildPlan(req).ok());
  // Every symbol pinned, none to one of --exchanges: the message names the
  // symbols (it read "--symbols : bitmex knows none of these symbols").
  req.exchanges = {"deribit", "bitmex", "new-venue"};
  plan = BuildPlan(req);
  ASSERT_EQ(plan.status().code(), Status::Code::kUsage);
  EXPECT_NE(plan.status().message().find("--symbols new-venue:X,deribit:BTC-PERPETUAL: none is pinned to bitmex"),
            std::string::npos)
      << plan.status().message();
}

TEST(Plan, InstrumentFiltersTreatAChainAsItsOptions) {
  const Date day{2025, 2, 14};
  auto item = [&](const char* dt, const char* sym, const char* key) {
    return WorkItem{day, dt, "deribit", sym, key};
  };
  const std::vector<WorkItem> items = {
      item("options_chain", "OPTIONS", "DERIBIT:OPTIONS:BTC-USD"),
      item("options_chain", "OPTIONS", "DERIBIT:OPTIONS:ETH-USD"),
      item("trades", "BTC-14FEB25", "DERIBIT:FUTURE:BTC-USD-250214"),
      item("trades", "BTC-25APR25-200000-P", "DERIBIT:OPTION:BTC-USD-250425-200000-PUT"),
      item("trades", "BTC-PERPETUAL", "DERIBIT:PERPETUAL:BTC-USD"),
      item("trades", "BTC_USDC", "DERIBIT:SPOT_PAIR:BTC-USDC"),
      item("trades", "X", "not a key"),
  };
  auto ids = [](const std::vector<WorkItem>& v) {
    std::vector<std::string> out;
    for (const auto& w : v) out.push_back(w.instrument_key);
    return out;
  };
  InstrumentFilter f;
  EXPECT_EQ(FilterInstruments(items, f).size(), 6u);  // only the unparsable key goes
  f.types = {"OPTION"};
  EXPECT_EQ(ids(FilterInstruments(items, f)),
            (std::vector<std::string>{"DERIBIT:OPTIONS:BTC-USD", "DERIBIT:OPTIONS:ETH-USD",
                                      "DERIBIT:OPTION:BTC-USD-250425-200000-PUT"}));
  f.bases = {"ETH"};
  EXPECT_EQ(ids(FilterInstruments(items, f)), (std::vector<std::string>{"DERIBIT:OPTIONS:ETH-USD"}));
  // The expiry window drops options and futures outside it, never a chain (no expiry of its own).
  f = InstrumentFilter{};
  f.max_days_to_expiry = 7;
  EXPECT_EQ(ids(FilterInstruments(items, f)),
            (std::vector<std::string>{"DERIBIT:OPTIONS:BTC-USD", "DERIBIT:OPTIONS:ETH-USD",
                                      "DERIBIT:FUTURE:BTC-USD-250214", "DERIBIT:PERPETUAL:BTC-USD",
                                      "DERIBIT:SPOT_PAIR:BTC-USDC"}));
  f = InstrumentFilter{};
  f.quotes = {"USDC"};
  EXPECT_EQ(ids(FilterInstruments(items, f)), (std::vector<std::string>{"DERIBIT:SPOT_PAIR:BTC-USDC"}));
  f = InstrumentFilter{};
  f.max_instruments = 2;
  EXPECT_EQ(ids(FilterInstruments(items, f)),
            (std::vector<std::string>{"DERIBIT:OPTIONS:BTC-USD", "DERIBIT:OPTIONS:ETH-USD"}));
}

TEST(Plan, OptionsChainKeysAndItems) {
  EXPECT_EQ(ChainKeyOfOption("DERIBIT:OPTION:BTC-USD-230526-30000-CALL"), "DERIBIT:OPTIONS:BTC-USD");
  EXPECT_EQ(ChainKeyOfOption("DERIBIT:OPTION:XRP-USDC-230630-0.625-CALL"), "DERIBIT:OPTIONS:XRP-USDC");
  EXPECT_EQ(ChainKeyOfOption("DERIBIT:PERPETUAL:BTC-USD"), "");
  EXPECT_EQ(ChainKeyOfOption("garbage"), "");
  std::string base, quote;
  ASSERT_TRUE(ParseChainKey("DERIBIT:OPTIONS:XRP-USDC", &base, &quote));
  EXPECT_EQ(base, "XRP");
  EXPECT_EQ(quote, "USDC");
  EXPECT_FALSE(ParseChainKey("DERIBIT:OPTION:BTC-USD-230526-30000-CALL", &base, &quote));
  EXPECT_FALSE(ParseChainKey("DERIBIT:OPTIONS:BTCUSD", &base, &quote));

  const auto grouped = ParseGroupedSymbols(
      R"([{"exchange":"deribit","symbol":"OPTIONS","type":"option","data_types":["options_chain","trades"]},)"
      R"({"exchange":"deribit","symbol":"FUTURES","type":"future","data_types":["trades"]},)"
      R"({"symbol":"NOEXCHANGE"}, 7, {"exchange":"okex-options","symbol":"OPTIONS","type":"option"}])");
  ASSERT_EQ(grouped.size(), 3u);
  EXPECT_EQ(grouped[0].data_types, (std::vector<std::string>{"options_chain", "trades"}));
  EXPECT_TRUE(ParseGroupedSymbols("not json").empty());

  const Date day{2023, 5, 26};
  const std::vector<DefinitionRow> rows = {
      {"DERIBIT:OPTION:BTC-USD-230526-30000-CALL", "deribit", "BTC-26MAY23-30000-C", {"trades"}},
      {"DERIBIT:OPTION:BTC-USD-230526-28000-PUT", "deribit", "BTC-26MAY23-28000-P", {"trades"}},
      {"DERIBIT:OPTION:XRP-USDC-230630-0.625-CALL", "deribit", "XRP_USDC-30JUN23-0d625-C", {"trades"}},
      {"DERIBIT:PERPETUAL:BTC-USD", "deribit", "BTC-PERPETUAL", {"trades"}},
      // okex-options lists no chain file: its options have no chain items.
      {"OKEX-OPTIONS:OPTION:BTC-USD-230526-30000-CALL", "okex-options", "BTC-USD-230526-30000-C", {"trades"}},
  };
  PlanRequest all;
  auto items = ChainItems(day, rows, grouped, all);
  std::vector<std::string> got;
  for (const auto& w : items) got.push_back(w.Id() + " " + w.instrument_key);
  EXPECT_EQ(got, (std::vector<std::string>{"2023-05-26/options_chain/deribit/OPTIONS DERIBIT:OPTIONS:BTC-USD",
                                           "2023-05-26/options_chain/deribit/OPTIONS DERIBIT:OPTIONS:XRP-USDC"}));
  PlanRequest other;
  other.data_types = {"trades"};
  EXPECT_TRUE(ChainItems(day, rows, grouped, other).empty());
  other.data_types = {};
  other.exchanges = {"okex-options"};
  EXPECT_TRUE(ChainItems(day, rows, grouped, other).empty());
}

TEST(DerivedItems, OnePerItemOfTheSourceTypeAndName) {
  const Date day{2020, 4, 1};
  const std::vector<WorkItem> items = {
      {day, "incremental_book_L2", "deribit", "BTC-PERPETUAL", ""},
      {day, "options_chain", "deribit", "OPTIONS", ""},
      {day, "trades", "deribit", "BTC-PERPETUAL", ""},
      {day, "trades", "deribit", "OPTIONS", ""},  // grouped: no derived series
  };
  auto specs = derive::ParseDerivedList("trade_bar_60s,book_snapshot_10_1s,book_snapshot_5_0ms");
  ASSERT_TRUE(specs.ok()) << specs.status().message();
  const auto d = DerivedItems(items, *specs);
  std::vector<std::string> ids;
  for (const auto& x : d) ids.push_back(x.Id() + " <- " + x.source.Id());
  EXPECT_EQ(ids, (std::vector<std::string>{
                     "2020-04-01/book_snapshot_10_1s/deribit/BTC-PERPETUAL <- 2020-04-01/incremental_book_L2/deribit/BTC-PERPETUAL",
                     "2020-04-01/book_snapshot_5_0ms/deribit/BTC-PERPETUAL <- 2020-04-01/incremental_book_L2/deribit/BTC-PERPETUAL",
                     "2020-04-01/trade_bar_1m/deribit/BTC-PERPETUAL <- 2020-04-01/trades/deribit/BTC-PERPETUAL",
                 }));
  EXPECT_TRUE(DerivedItems(items, {}).empty());
}

}  // namespace
}  // namespace mt::pipeline

namespace mt::pipeline {
namespace {

// Encoded items sort byte by byte as the items do (days of other years and
// months, fields one a prefix of another, bytes above 0x7f), and decode to
// the items, their instrument keys too.
TEST(EncodeWorkItem, BytesSortAsTheItemsAndDecodeToThem) {
  std::vector<WorkItem> items;
  for (const Date& day : {Date{2019, 12, 31}, Date{2020, 1, 2}, Date{2020, 2, 1}, Date{2255, 1, 1}}) {
    for (const char* type : {"trades", "trades_x", "quotes", "book_snapshot_25"}) {
      for (const char* exchange : {"deribit", "deribit-x", "binance", "b"}) {
        for (const char* symbol : {"A", "A-B", "A.B", "AB", "\xc3\xa9", "", "BTC-PERPETUAL"}) {
          items.push_back(WorkItem{day, type, exchange, symbol, std::string(symbol) + "-key"});
        }
      }
    }
  }
  std::vector<std::pair<std::string, size_t>> encoded;
  for (size_t i = 0; i < items.size(); i++) encoded.emplace_back(EncodeWorkItem(items[i]), i);
  std::sort(encoded.begin(), encoded.end());
  std::vector<WorkItem> sorted = items;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_EQ(encoded.size(), sorted.size());
  for (size_t i = 0; i < sorted.size(); i++) {
    WorkItem back;
    ASSERT_TRUE(DecodeWorkItem(encoded[i].first, &back));
    EXPECT_EQ(back.Id(), sorted[i].Id()) << i;
    EXPECT_EQ(back.day, items[encoded[i].second].day);
    EXPECT_EQ(back.instrument_key, items[encoded[i].second].instrument_key);
  }
  WorkItem item;
  EXPECT_FALSE(DecodeWorkItem("ab", &item));
  EXPECT_FALSE(DecodeWorkItem(std::string("\x07\xe4\x01\x01trades", 10), &item));
}

// The filter one item at a time keeps what FilterInstruments keeps.
TEST(InstrumentFilterer, KeepsWhatFilterInstrumentsKeeps) {
  std::vector<WorkItem> items;
  for (const Date& day : {Date{2024, 1, 1}, Date{2024, 1, 2}}) {
    for (const char* key : {"DERIBIT:OPTION:BTC-USD-240126-40000-CALL", "DERIBIT:OPTION:ETH-USD-240126-2000-PUT",
                            "DERIBIT:PERPETUAL:BTC-USD", "DERIBIT:OPTION:BTC-USD-240105-40000-CALL", "not a key"}) {
      items.push_back(WorkItem{day, "trades", "deribit", key, key});
    }
  }
  InstrumentFilter f;
  f.bases = {"BTC"};
  f.max_instruments = 2;
  f.max_days_to_expiry = 10;
  InstrumentFilterer filter(f);
  std::vector<std::string> kept;
  for (const WorkItem& item : items) {
    if (filter.Keep(item)) kept.push_back(item.Id());
  }
  std::vector<std::string> want;
  for (const WorkItem& item : FilterInstruments(items, f)) want.push_back(item.Id());
  EXPECT_EQ(kept, want);
  EXPECT_EQ(kept.size(), 4u);
}

}  // namespace
}  // namespace mt::pipeline
