// The unit table (tardis/units.h): every numeric column has a quantity,
// every fact names real venues once, the facts the Tardis data shows per
// venue are there, and a venue's own facts win over the defaults.
#include "tardis/units.h"

#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "pipeline/schemas_markdown.h"
#include "tardis/schema.h"
#include "tardis/venues.h"

namespace mt::tardis {
namespace {

TEST(Units, EveryNumericColumnOfEveryDataTypeHasAQuantity) {
  size_t numeric = 0;
  for (const auto& s : AllSchemas()) {
    for (const auto& c : s.columns) {
      Quantity q;
      const bool known = QuantityOf(s.name, c.parquet_name, &q);
      EXPECT_EQ(known, c.kind == columnar::ColumnKind::kDouble) << s.name << "." << c.parquet_name;
      numeric += known;
    }
  }
  EXPECT_GT(numeric, 100u);  // book_snapshot_25 alone has 100
  Quantity q;
  ASSERT_TRUE(QuantityOf("book_snapshot_25", "bid_volume_25", &q));
  EXPECT_EQ(q, Quantity::kAmount);
  ASSERT_TRUE(QuantityOf("options_chain", "mark_iv", &q));
  EXPECT_EQ(q, Quantity::kImpliedVolatility);
  ASSERT_TRUE(QuantityOf("options_chain", "underlying_price", &q));
  EXPECT_EQ(q, Quantity::kReferencePrice);
  ASSERT_TRUE(QuantityOf("derivative_ticker", "predicted_funding_rate", &q));
  EXPECT_EQ(q, Quantity::kFundingRate);
  EXPECT_FALSE(QuantityOf("trades", "side", &q));
  EXPECT_FALSE(QuantityOf("nope", "price", &q));
}

TEST(Units, FactsNameRealVenuesOnceAndSayTheirSource) {
  std::set<std::tuple<std::string, Instruments, Quantity>> seen;
  for (const UnitFact& f : UnitFacts()) {
    EXPECT_FALSE(f.unit.empty());
    EXPECT_FALSE(f.source.empty()) << f.exchanges;
    std::string list(f.exchanges);
    size_t pos = 0;
    while (true) {
      const size_t comma = list.find(',', pos);
      const std::string id = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      if (id != "*") {
        EXPECT_NE(FindVenue(id), nullptr) << id;
      }
      EXPECT_TRUE(seen.insert({id, f.instruments, f.quantity}).second)
          << id << " " << InstrumentsName(f.instruments) << " " << QuantityName(f.quantity) << " twice";
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
}

// The unit a venue's instruments of one kind get for one quantity.
std::string UnitOf(std::string_view exchange, Instruments kind, Quantity q) {
  for (const UnitFact* f : UnitsForExchange(exchange)) {
    if (f->quantity == q && (f->instruments == kind)) return std::string(f->unit);
  }
  for (const UnitFact* f : UnitsForExchange(exchange)) {
    if (f->quantity == q && f->instruments == Instruments::kAll) return std::string(f->unit);
  }
  return "";
}

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Units, TheFactsPerVenue) {
  using I = Instruments;
  using Q = Quantity;
  // amount
  EXPECT_TRUE(Has(UnitOf("deribit", I::kInverse, Q::kAmount), "USD notional"));
  EXPECT_TRUE(Has(UnitOf("deribit", I::kOption, Q::kAmount), "base coin"));
  EXPECT_TRUE(Has(UnitOf("bitmex", I::kInverse, Q::kAmount), "XBTUSD 1 USD each"));
  EXPECT_TRUE(Has(UnitOf("binance-delivery", I::kInverse, Q::kAmount), "100 USD each on BTC, 10 USD"));
  EXPECT_TRUE(Has(UnitOf("okex-swap", I::kInverse, Q::kAmount), "contracts"));
  EXPECT_TRUE(Has(UnitOf("okex-futures", I::kLinear, Q::kAmount), "contracts"));
  EXPECT_EQ(UnitOf("binance-futures", I::kLinear, Q::kAmount), "base coin");
  EXPECT_EQ(UnitOf("binance", I::kSpot, Q::kAmount), "base coin");
  EXPECT_EQ(UnitOf("okex", I::kSpot, Q::kAmount), "base coin");
  EXPECT_EQ(UnitOf("coinbase", I::kSpot, Q::kAmount), "base coin");  // the default
  // implied volatility
  EXPECT_TRUE(Has(UnitOf("deribit", I::kOption, Q::kImpliedVolatility), "percent"));
  for (const char* v : {"okex-options", "bybit-options", "binance-european-options", "binance-options"}) {
    EXPECT_TRUE(Has(UnitOf(v, I::kOption, Q::kImpliedVolatility), "decimal")) << v;
  }
  // option prices
  EXPECT_TRUE(Has(UnitOf("deribit", I::kOption, Q::kPrice), "base coin per option"));
  EXPECT_TRUE(Has(UnitOf("okex-options", I::kOption, Q::kPrice), "base coin per option"));
  EXPECT_EQ(UnitOf("binance-european-options", I::kOption, Q::kPrice), "USDT per option");
  EXPECT_EQ(UnitOf("bybit-options", I::kOption, Q::kPrice), "USDC per option");
  // open interest
  EXPECT_EQ(UnitOf("deribit", I::kInverse, Q::kOpenInterest), "USD notional");
  EXPECT_EQ(UnitOf("binance-futures", I::kLinear, Q::kOpenInterest), "base coin");
  EXPECT_TRUE(Has(UnitOf("okex-swap", I::kLinear, Q::kOpenInterest), "contracts"));
  // A venue without facts of its own gets the defaults, which say so.
  EXPECT_TRUE(Has(UnitOf("kraken", I::kInverse, Q::kAmount), "venue-native"));
}

TEST(Units, AVenuesOwnFactsReplaceTheDefaults) {
  // bitmex states amount for all its instruments: neither amount default applies.
  size_t amount_rows = 0;
  for (const UnitFact* f : UnitsForExchange("bitmex")) amount_rows += f->quantity == Quantity::kAmount;
  EXPECT_EQ(amount_rows, 1u);
  // deribit's own rows come first.
  const auto rows = UnitsForExchange("deribit");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front()->exchanges, "deribit");
  EXPECT_EQ(rows.back()->exchanges, "*");
}

TEST(Units, DocsCarryTheTable) {
  const std::string all = pipeline::SchemasMarkdown();
  EXPECT_TRUE(Has(all, "\n# Units per venue\n"));
  EXPECT_TRUE(Has(all, "| binance-options, binance-european-options | options | implied volatility | decimal"));
  const std::string deribit = pipeline::VenueUnitsMarkdown("deribit");
  EXPECT_TRUE(Has(deribit, "# Units on deribit"));
  EXPECT_TRUE(Has(deribit, "| deribit | options | implied volatility | percent (55.91 = 55.91 %) |"));
  EXPECT_FALSE(Has(deribit, "| bitmex |"));
}

}  // namespace
}  // namespace mt::tardis
