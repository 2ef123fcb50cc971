#include "pipeline/instruments.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>

#include "tardis/venues.h"

namespace mt::pipeline {

namespace {

constexpr int64_t kDayUs = 86'400'000'000;

// The seed venues (docs/INSTRUMENTS.md). For them the conventions below are known; for
// any other exchange a column the metadata does not give stays empty.
bool SeedVenue(const std::string& ex) {
  const tardis::Venue* v = tardis::FindVenue(ex);
  return v && v->seed;
}

bool IsDerivative(const std::string& key_type) { return key_type != "SPOT_PAIR"; }

// Inverse flag and settlement asset read from the venue's margining
// convention (tardis::Margining) when there is no metadata. Unknown stays
// unknown.
struct Convention {
  std::optional<bool> inverse;
  std::optional<std::string> settle;
};

Convention ConventionFor(const std::string& ex, const std::string& symbol, const tardis::InstrumentKey& k) {
  if (k.type == "SPOT_PAIR") return {false, std::nullopt};
  const tardis::Venue* v = tardis::FindVenue(ex);
  switch (v ? v->margining : tardis::Margining::kUnknown) {
    case tardis::Margining::kLinear:
      return {false, k.quote};
    case tardis::Margining::kInverse:
      return {true, k.base};
    case tardis::Margining::kByQuote: {
      // An OKX quote with a product suffix (BTC-USD_UM_XPERP-310404) is a
      // product whose margining the symbol does not tell.
      const size_t dash = symbol.find('-');
      if (ex.rfind("okex", 0) == 0 && dash != std::string::npos && symbol.find('_', dash) != std::string::npos) {
        return {};
      }
      return k.quote == "USD" ? Convention{true, k.base} : Convention{false, k.quote};
    }
    case tardis::Margining::kUnknown:
      break;
  }
  return {};
}

// Venue convention: every derivative of the seed venues expires at 08:00 UTC.
std::optional<int64_t> ExpiryFromKey(const std::string& ex, const tardis::InstrumentKey& k) {
  if (k.expiry.size() != 6 || !SeedVenue(ex)) return std::nullopt;
  const int yy = std::atoi(k.expiry.substr(0, 2).c_str()), mm = std::atoi(k.expiry.substr(2, 2).c_str()),
            dd = std::atoi(k.expiry.substr(4, 2).c_str());
  return DaysFromCivil(2000 + yy, mm, dd) * kDayUs + 8 * 3'600'000'000LL;
}

std::string Join(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string MetadataCurrency(const std::string& c) { return tardis::AsciiUpper(c.substr(0, c.find('_'))); }

// Columns that depend on the contract terms, which /v1/instruments may
// change over time: inverse, settle asset, contract type and sizes, and what
// follows from them.
void ApplyTerms(const std::string& ex, const std::string& symbol, const tardis::InstrumentKey& k,
                const tardis::InstrumentTerms* terms, InstrumentDefinition* d) {
  const Convention conv = ConventionFor(ex, symbol, k);
  d->inverse = conv.inverse;
  d->settle_asset = conv.settle;
  d->contract_type.reset();
  d->tick_size.reset();
  d->min_size.reset();
  d->contract_size.reset();
  if (terms) {
    d->tick_size = terms->price_increment;
    d->min_size = terms->min_trade_amount ? terms->min_trade_amount : terms->amount_increment;
    d->contract_size = terms->contract_multiplier;
    if (terms->contract_type) d->contract_type = terms->contract_type;
    if (!IsDerivative(k.type)) {
      d->inverse = false;
      d->settle_asset.reset();
    } else {
      if (terms->inverse) {
        d->inverse = terms->inverse;
        // Metadata names the margining; the venue rule's settle asset only
        // stands when it agrees with it.
        if (conv.inverse != terms->inverse) d->settle_asset.reset();
      }
      if (terms->settlement_currency && !terms->settlement_currency->empty()) {
        d->settle_asset = MetadataCurrency(*terms->settlement_currency);
      } else if (!d->settle_asset && d->inverse && !terms->quanto.value_or(false)) {
        d->settle_asset = *d->inverse ? k.base : k.quote;
      }
    }
  }
  if (!d->contract_type && IsDerivative(k.type)) {
    if (k.type == "OPTION") {
      d->contract_type = k.option_type == "CALL" ? "call_option" : "put_option";
    } else if (d->inverse) {
      d->contract_type = std::string(*d->inverse ? "inverse_" : "linear_") + (k.type == "FUTURE" ? "future" : "perpetual");
    }
  }
  d->ccxt_symbol.reset();
  if (d->ccxt_exchange) {
    if (k.type == "SPOT_PAIR") {
      d->ccxt_symbol = k.base + "/" + k.quote;
    } else if (d->settle_asset) {
      std::string s = k.base + "/" + k.quote + ":" + *d->settle_asset;
      if (!k.expiry.empty()) s += "-" + k.expiry;
      if (k.type == "OPTION") s += "-" + k.strike + "-" + k.option_type.substr(0, 1);
      d->ccxt_symbol = s;
    }
  }
}

}  // namespace

std::string VenueType(const std::string& exchange) {
  const tardis::Venue* v = tardis::FindVenue(exchange);
  return v && v->kind == tardis::VenueKind::kProtocol ? "protocol" : "exchange";
}

std::string CcxtExchange(const std::string& exchange) {
  const tardis::Venue* v = tardis::FindVenue(exchange);
  return v ? std::string(v->ccxt) : "";
}

bool OverlapsDay(int64_t from_us, const std::optional<int64_t>& to_us, const Date& day) {
  const int64_t start = MicrosFromDate(day), end = start + kDayUs;
  return from_us < end && (!to_us || *to_us > start);
}

void AddExchange(const tardis::ExchangeDetails& details, const std::vector<tardis::InstrumentInfo>* instruments,
                 const CatalogOptions& opts, Catalog* catalog) {
  const std::string& ex = details.id;
  std::map<std::string, const tardis::InstrumentInfo*> by_symbol;
  if (instruments) {
    for (const auto& info : *instruments) {
      if (info.exchange == ex) by_symbol.emplace(info.DatasetSymbolId(), &info);
    }
  }
  const std::set<std::string> quotes(opts.quotes.begin(), opts.quotes.end());
  // Currencies the listing names, counted per symbol that names them (by its
  // metadata, else its symbol rule): a concatenated spot symbol takes the
  // split the rest of the listing confirms (tardis::ConfirmedSplit).
  std::map<std::string, int> named;
  for (const auto& sym : details.symbols) {
    if (tardis::IsGroupedSymbol(sym.id)) continue;
    auto it = by_symbol.find(sym.id);
    if (it != by_symbol.end()) {
      named[MetadataCurrency(it->second->base_currency)]++;
      named[MetadataCurrency(it->second->quote_currency)]++;
    } else if (auto k = tardis::KeyFromListedSymbol(ex, sym.id, sym.type); k.ok()) {
      named[k->base]++;
      named[k->quote]++;
    }
  }
  for (const auto& sym : details.symbols) {
    if (tardis::IsGroupedSymbol(sym.id)) {
      catalog->grouped.push_back({ex, sym});
      continue;
    }
    auto reject = [&](const std::string& why) { catalog->rejected.push_back({ex, sym.id, why}); };
    auto it = by_symbol.find(sym.id);
    const tardis::InstrumentInfo* info = it == by_symbol.end() ? nullptr : it->second;
    auto from_symbol = tardis::KeyFromListedSymbol(ex, sym.id, sym.type);
    tardis::InstrumentKey key;
    if (info) {
      tardis::SymbolFacts facts;
      facts.type = info->type;
      facts.base = info->base_currency;
      facts.quote = info->quote_currency;
      facts.expiry_us = info->terms.expiry_us;
      facts.strike = info->strike_price;
      facts.option_type = info->option_type;
      auto k = tardis::KeyFromMetadata(ex, sym.id, facts);
      if (!k.ok()) {
        reject(k.status().message());
        continue;
      }
      key = *k;
      if (from_symbol.ok() && from_symbol->ToString() != key.ToString()) {
        catalog->warnings.push_back(ex + " " + sym.id + ": instrument metadata gives key " + key.ToString() +
                                    ", the symbol alone " + from_symbol->ToString() + "; using the metadata");
      }
    } else {
      if (!from_symbol.ok()) {
        reject(from_symbol.status().message());
        continue;
      }
      key = *from_symbol;
      // Named by another symbol of the listing: this symbol's own split does
      // not count as confirmation.
      const tardis::InstrumentKey own = key;
      auto elsewhere = [&](const std::string& c) {
        auto n = named.find(c);
        const int self = (c == own.base) + (c == own.quote);
        return n != named.end() && n->second > self;
      };
      if (auto split = tardis::ConfirmedSplit(own, sym.id, elsewhere)) {
        catalog->warnings.push_back(ex + " " + sym.id + ": the listing names " + split->base + " and " + split->quote +
                                    ", not " + own.base + "/" + own.quote + "; keyed " + split->ToString());
        key = *split;
      }
      const std::string listed = tardis::KeyTypeForTardisType(sym.type);
      if (!sym.type.empty() && listed.empty()) {
        reject("Tardis lists '" + sym.id + "' as type '" + sym.type + "', which has no key type");
        continue;
      }
      if (!listed.empty() && listed != key.type) {
        reject("the symbol reads as " + key.type + " but Tardis lists it as type '" + sym.type +
               "'; its key needs instrument metadata (set TARDIS_API_KEY)");
        continue;
      }
    }
    if (!quotes.empty() && !quotes.count(key.quote)) continue;

    CatalogEntry e;
    e.key = key;
    InstrumentDefinition& d = e.base;
    d.instrument_key = key.ToString();
    d.venue = key.venue;
    d.instrument_type = key.type;
    d.available_from_us = sym.available_since_us;
    d.available_to_us = sym.available_to_us;
    d.data_types = Join(sym.data_types);
    d.base_asset = key.base;
    d.quote_asset = key.quote;
    d.exchange_raw_symbol = info ? info->id : sym.id;
    d.tardis_symbol = sym.id;
    d.tardis_exchange = ex;
    d.data_provider = "tardis";
    d.venue_type = VenueType(ex);
    d.asset_class = "crypto";
    d.symbol_type = !sym.type.empty() ? sym.type : info ? info->type : "";
    if (key.type == "OPTION") {
      d.strike = info && info->strike_price ? *info->strike_price : std::strtod(key.strike.c_str(), nullptr);
      d.option_type = key.option_type;
    }
    if (key.type == "FUTURE" || key.type == "OPTION") {
      d.expiry_us = info ? info->terms.expiry_us : ExpiryFromKey(ex, key);
    }
    if (IsDerivative(key.type)) {
      if (SeedVenue(ex)) d.settlement_type = "cash";
      d.underlying = key.base + "-" + key.quote;
    }
    const std::string ccxt = CcxtExchange(ex);
    if (!ccxt.empty()) d.ccxt_exchange = ccxt;
    ApplyTerms(ex, sym.id, key, info ? &info->terms : nullptr, &d);
    if (info) e.info = *info;
    catalog->entries.push_back(std::move(e));
  }
}

void FinishCatalog(Catalog* catalog) {
  auto& v = catalog->entries;
  std::stable_sort(v.begin(), v.end(), [](const CatalogEntry& a, const CatalogEntry& b) {
    if (a.base.instrument_key != b.base.instrument_key) return a.base.instrument_key < b.base.instrument_key;
    return a.base.tardis_symbol < b.base.tardis_symbol;
  });
  std::vector<CatalogEntry> kept;
  kept.reserve(v.size());
  for (auto& e : v) {
    if (!kept.empty() && kept.back().base.instrument_key == e.base.instrument_key) {
      catalog->rejected.push_back({e.base.tardis_exchange, e.base.tardis_symbol,
                                   "derives key " + e.base.instrument_key + ", as symbol " +
                                       kept.back().base.tardis_symbol + " does; the key would be ambiguous"});
      continue;
    }
    kept.push_back(std::move(e));
  }
  v = std::move(kept);
}

namespace {

// Calls fn with the entry's definition as of t_us: the stored one when the
// metadata never changed, else one with the terms of that time.
void AsOf(const CatalogEntry& e, int64_t t_us, const DefinitionFn& fn) {
  // changes are sorted by `until`: none after t_us means the current terms.
  if (!e.info || e.info->changes.empty() || e.info->changes.back().until_us <= t_us) return fn(e.base);
  InstrumentDefinition d = e.base;
  const tardis::InstrumentTerms terms = e.info->TermsAt(t_us);
  ApplyTerms(d.tardis_exchange, d.tardis_symbol, e.key, &terms, &d);
  fn(d);
}

}  // namespace

void ForEachOnDay(const Catalog& catalog, const Date& day, const DefinitionFn& fn) {
  const int64_t start = MicrosFromDate(day);
  for (const auto& e : catalog.entries) {
    if (OverlapsDay(e.base.available_from_us, e.base.available_to_us, day)) AsOf(e, start, fn);
  }
}

void ForEachInRange(const Catalog& catalog, const Date& from, const Date& to, const DefinitionFn& fn) {
  const int64_t start = MicrosFromDate(from), end = MicrosFromDate(to) + kDayUs;
  for (const auto& e : catalog.entries) {
    const auto& d = e.base;
    if (!(d.available_from_us < end && (!d.available_to_us || *d.available_to_us > start))) continue;
    int64_t last = end - 1;
    if (d.available_to_us) last = std::min(last, *d.available_to_us - 1);
    AsOf(e, MicrosFromDate(DateFromMicros(last)), fn);
  }
}

std::vector<InstrumentDefinition> DefinitionsForDay(const Catalog& catalog, const Date& day) {
  std::vector<InstrumentDefinition> out;
  ForEachOnDay(catalog, day, [&](const InstrumentDefinition& d) { out.push_back(d); });
  return out;
}

std::vector<InstrumentDefinition> DefinitionsForRange(const Catalog& catalog, const Date& from, const Date& to) {
  std::vector<InstrumentDefinition> out;
  ForEachInRange(catalog, from, to, [&](const InstrumentDefinition& d) { out.push_back(d); });
  return out;
}

}  // namespace mt::pipeline
