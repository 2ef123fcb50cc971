#include "pipeline/instruments.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>

#include "core/packed_fields.h"
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

// Combos and prediction markets: keyed by the venue's symbol, no base/quote
// in the key, no venue convention for their margining.
bool IsNativeKeyed(const std::string& key_type) { return key_type == "COMBO" || key_type == "PREDICTION"; }

// Inverse flag and settlement asset read from the venue's margining
// convention (tardis::Margining) when there is no metadata. Unknown stays
// unknown.
struct Convention {
  std::optional<bool> inverse;
  std::optional<std::string> settle;
};

Convention ConventionFor(const std::string& ex, const std::string& symbol, const tardis::InstrumentKey& k) {
  if (k.type == "SPOT_PAIR") return {false, std::nullopt};
  if (IsNativeKeyed(k.type)) return {};
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

// What a traded amount counts on venues whose rule is published and fixed
// (docs/INSTRUMENTS.md, Columns): "base" (coins of the base asset),
// "contracts" (contract_size each), "quote" (quote-currency notional); null
// where a venue's rule is not known.
std::optional<std::string> AmountUnit(const std::string& ex, const tardis::InstrumentKey& k,
                                      const std::optional<bool>& inverse) {
  if (k.type == "SPOT_PAIR") return "base";
  if (k.type != "PERPETUAL" && k.type != "FUTURE" && k.type != "OPTION") return std::nullopt;
  if (ex == "deribit") {
    // Inverse perpetuals and futures trade in USD; USDC-margined ones and
    // every option in the base coin.
    if (k.type == "OPTION" || k.quote != "USD") return "base";
    return "quote";
  }
  if (ex == "bybit") {
    if (k.type == "OPTION" || !inverse) return std::nullopt;
    return *inverse ? "quote" : "base";  // inverse: 1 USD contracts, counted in USD
  }
  if (ex == "bybit-options" || ex == "binance-futures") return "base";
  if (ex == "binance-delivery" || ex == "bitmex" || ex.rfind("okex", 0) == 0 || ex.rfind("huobi-dm", 0) == 0) {
    return "contracts";
  }
  return std::nullopt;
}

// The currency prices are quoted in: the quote for spot and futures, for
// options the premium currency, which on Deribit and OKX coin-margined
// options is the base coin although the strike is in USD.
std::optional<std::string> PriceCurrency(const std::string& ex, const tardis::InstrumentKey& k,
                                         const std::optional<std::string>& metadata_quote) {
  if (k.type == "COMBO" || k.type == "PREDICTION") {
    return metadata_quote ? std::optional<std::string>(tardis::AsciiUpper(metadata_quote->substr(0, metadata_quote->find('_'))))
                          : std::nullopt;
  }
  const std::string quote = k.quote.substr(0, k.quote.find('_'));
  if (k.type != "OPTION") return quote;
  if (metadata_quote && !metadata_quote->empty()) {
    return tardis::AsciiUpper(metadata_quote->substr(0, metadata_quote->find('_')));
  }
  if (ex == "deribit" || ex == "okex-options") return quote == "USD" ? k.base : quote;
  if (ex == "binance-european-options" || ex == "binance-options" || ex == "bybit-options") return quote;
  return std::nullopt;
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
  d->amount_increment.reset();
  d->min_trade_amount.reset();
  d->min_notional.reset();
  d->quanto.reset();
  d->underlying_index.reset();
  d->alias_for.reset();
  if (terms) {
    d->tick_size = terms->price_increment;
    d->min_size = terms->min_trade_amount ? terms->min_trade_amount : terms->amount_increment;
    d->contract_size = terms->contract_multiplier;
    d->amount_increment = terms->amount_increment;
    d->min_trade_amount = terms->min_trade_amount;
    d->min_notional = terms->min_notional;
    d->quanto = terms->quanto;
    d->underlying_index = terms->underlying_index;
    d->alias_for = terms->alias_for && !terms->alias_for->empty() ? terms->alias_for : std::nullopt;
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
      } else if (!d->settle_asset && d->inverse && !terms->quanto.value_or(false) && !d->base_asset.empty() &&
                 !d->quote_asset.empty()) {
        d->settle_asset = *d->inverse ? d->base_asset : d->quote_asset;
      }
    }
  }
  if (!d->contract_type && IsDerivative(k.type) && !IsNativeKeyed(k.type)) {
    if (k.type == "OPTION") {
      d->contract_type = k.option_type == "CALL" ? "call_option" : "put_option";
    } else if (d->inverse) {
      d->contract_type = std::string(*d->inverse ? "inverse_" : "linear_") + (k.type == "FUTURE" ? "future" : "perpetual");
    }
  }
  d->amount_unit = AmountUnit(ex, k, d->inverse);
  d->price_currency = PriceCurrency(ex, k, terms ? terms->quote_currency : std::nullopt);
  d->ccxt_symbol.reset();
  if (d->ccxt_exchange) {
    if (k.type == "SPOT_PAIR") {
      d->ccxt_symbol = k.base + "/" + k.quote;
    } else if (d->settle_asset && !IsNativeKeyed(k.type)) {
      std::string s = k.base + "/" + k.quote + ":" + *d->settle_asset;
      if (!k.expiry.empty()) s += "-" + k.expiry;
      if (k.type == "OPTION") s += "-" + k.strike + "-" + k.option_type.substr(0, 1);
      d->ccxt_symbol = s;
    }
  }
}

}  // namespace

namespace {

// The members packed after the three the catalog orders by (the key,
// dataset symbol and exchange, first) and beside the availability (held
// unpacked): every other member of InstrumentDefinition, in member order.
template <typename Def, typename F>
void PackedMembers(Def& d, F&& f) {
  f(d.venue);
  f(d.instrument_type);
  f(d.data_types);
  f(d.base_asset);
  f(d.quote_asset);
  f(d.settle_asset);
  f(d.exchange_raw_symbol);
  f(d.data_provider);
  f(d.venue_type);
  f(d.asset_class);
  f(d.inverse);
  f(d.symbol_type);
  f(d.contract_type);
  f(d.strike);
  f(d.option_type);
  f(d.expiry_us);
  f(d.contract_size);
  f(d.tick_size);
  f(d.settlement_type);
  f(d.underlying);
  f(d.min_size);
  f(d.ccxt_symbol);
  f(d.ccxt_exchange);
  f(d.price_currency);
  f(d.amount_unit);
  f(d.amount_increment);
  f(d.min_trade_amount);
  f(d.min_notional);
  f(d.quanto);
  f(d.underlying_index);
  f(d.expiration_type);
  f(d.active);
  f(d.listing_us);
  f(d.alias_for);
}

}  // namespace

namespace {

template <typename Key, typename F>
void KeyMembers(Key& k, F&& f) {
  f(k.venue);
  f(k.type);
  f(k.base);
  f(k.quote);
  f(k.expiry);
  f(k.strike);
  f(k.option_type);
  f(k.variant);
  f(k.native);
}

// Whether the record's `changes` touch what its key is made of (expiry,
// quote currency, type, contract type): a rolling alias such as huobi-dm
// BTC_CQ names another contract each quarter.
bool ChangesMoveKey(const tardis::InstrumentInfo& info) {
  for (const auto& c : info.changes) {
    if (c.terms.expiry_us || c.terms.quote_currency || c.terms.type || c.terms.contract_type) return true;
  }
  return false;
}

}  // namespace

// The packed bytes: the definition (the key, dataset symbol and exchange
// first), then with a record the key and the record, each length-prefixed.
CatalogEntry::CatalogEntry(const tardis::InstrumentKey& key, const InstrumentDefinition& base,
                           const tardis::InstrumentInfo* record, std::shared_ptr<SpilledBlobs> blobs)
    : blobs_(blobs ? std::move(blobs) : std::make_shared<SpilledBlobs>()),
      has_to_(base.available_to_us.has_value()),
      has_record_(record != nullptr),
      key_may_change_(record && ChangesMoveKey(*record)),
      available_from_us_(base.available_from_us),
      available_to_us_(base.available_to_us.value_or(0)) {
  std::string def;
  const PackWriter pack_def(&def);
  pack_def(base.instrument_key);
  pack_def(base.tardis_symbol);
  pack_def(base.tardis_exchange);
  PackedMembers(base, pack_def);
  std::string packed;
  const PackWriter pack(&packed);
  pack(def);
  if (record) {
    std::string k;
    KeyMembers(key, PackWriter(&k));
    pack(k);
    tardis::PackInstrument(*record, &packed);
  }
  offset_ = blobs_->Append(packed);
  size_ = static_cast<uint32_t>(packed.size());
}

bool CatalogEntry::Packed(std::string* out) const {
  if (!blobs_ || size_ == 0) return false;  // a default (or moved-from) entry: nothing packed
  return blobs_->Read(offset_, size_, out) && !out->empty();
}

void CatalogEntry::Decode(InstrumentDefinition* d, tardis::InstrumentKey* key, tardis::InstrumentInfo* record) const {
  std::string packed;
  if (!Packed(&packed)) {
    *d = InstrumentDefinition();
    if (key) *key = tardis::InstrumentKey();
    if (record) *record = tardis::InstrumentInfo();
    return;
  }
  PackReader outer(packed.data());
  const std::string_view def = outer.View();
  PackReader u(def.data());
  u(d->instrument_key);
  u(d->tardis_symbol);
  u(d->tardis_exchange);
  d->available_from_us = available_from_us_;
  d->available_to_us = available_to_us();
  PackedMembers(*d, u);
  if (!has_record_) return;
  const std::string_view k = outer.View();
  if (key) KeyMembers(*key, PackReader(k.data()));
  if (record) {
    const size_t at = static_cast<size_t>(k.data() + k.size() - packed.data());
    tardis::UnpackInstrument(std::string_view(packed).substr(at), record);
  }
}

InstrumentDefinition CatalogEntry::base() const {
  InstrumentDefinition d;
  DecodeBase(&d);
  return d;
}

void CatalogEntry::KeyAndSymbol(std::string* key, std::string* symbol) const {
  std::string packed;
  key->clear();
  symbol->clear();
  if (!Packed(&packed)) return;
  PackReader outer(packed.data());
  PackReader u(outer.View().data());
  key->assign(u.View());
  symbol->assign(u.View());
}

std::string CatalogEntry::instrument_key() const {
  std::string key, symbol;
  KeyAndSymbol(&key, &symbol);
  return key;
}

std::string CatalogEntry::tardis_symbol() const {
  std::string key, symbol;
  KeyAndSymbol(&key, &symbol);
  return symbol;
}

std::string CatalogEntry::tardis_exchange() const {
  std::string packed;
  if (!Packed(&packed)) return "";
  PackReader outer(packed.data());
  PackReader u(outer.View().data());
  u.View();
  u.View();
  return std::string(u.View());
}

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
  if (!instruments) return AddExchange(details, static_cast<const tardis::PackedInstruments*>(nullptr), opts, catalog);
  const tardis::PackedInstruments packed(*instruments);
  AddExchange(details, &packed, opts, catalog);
}

void AddExchange(const tardis::ExchangeDetails& details, const tardis::PackedInstruments* instruments,
                 const CatalogOptions& opts, Catalog* catalog) {
  const std::string& ex = details.id;
  auto stopped = [&opts] { return opts.stop && opts.stop->load(std::memory_order_relaxed); };
  // A symbol's record, by the hash of its dataset symbol and its index
  // (sorted): decoded when the symbol is met (one record at a time, into
  // `record`), the first record of that symbol taken. A map of the symbols'
  // strings would grow with the listing by more than its records do.
  std::vector<std::pair<uint64_t, size_t>> by_hash;
  if (instruments) {
    by_hash.reserve(instruments->size());
    tardis::InstrumentInfo r;
    for (size_t i = 0; i < instruments->size(); i++) {
      if (stopped()) return;
      instruments->Get(i, &r);
      if (r.exchange == ex) by_hash.emplace_back(std::hash<std::string>()(r.DatasetSymbolId()), i);
    }
    std::sort(by_hash.begin(), by_hash.end());
  }
  tardis::InstrumentInfo record;
  auto record_of = [&](const std::string& symbol) -> const tardis::InstrumentInfo* {
    const uint64_t h = std::hash<std::string>()(symbol);
    for (auto it = std::lower_bound(by_hash.begin(), by_hash.end(), std::pair<uint64_t, size_t>(h, 0));
         it != by_hash.end() && it->first == h; ++it) {
      instruments->Get(it->second, &record);
      if (record.DatasetSymbolId() == symbol) return &record;
    }
    return nullptr;
  };
  const std::set<std::string> quotes(opts.quotes.begin(), opts.quotes.end());
  // Currencies the listing names, counted per symbol that names them (by its
  // metadata, else its symbol rule): a concatenated spot symbol takes the
  // split the rest of the listing confirms (tardis::ConfirmedSplit).
  std::map<std::string, int> named;
  for (const auto& sym : details.symbols) {
    if (stopped()) return;
    if (tardis::IsGroupedSymbol(sym.id)) continue;
    if (const tardis::InstrumentInfo* info = record_of(sym.id)) {
      named[MetadataCurrency(info->base_currency)]++;
      named[MetadataCurrency(info->quote_currency)]++;
    } else if (auto k = tardis::KeyFromListedSymbol(ex, sym.id, sym.type); k.ok()) {
      named[k->base]++;
      named[k->quote]++;
    }
  }
  // At most one entry per symbol: reserved for the listing's, then for the
  // records added below, so the vector does not grow by doubling (each step
  // holding the old entries and twice the room).
  catalog->entries.reserve(catalog->entries.size() + details.symbols.size());
  // The types the listing has a grouped symbol of (OPTIONS: option) and the
  // types of the symbols it names one by one.
  std::set<std::string> grouped_types, listed_types;
  // Each listed symbol's entry (none when rejected or filtered out).
  auto add = [&](const tardis::DatasetSymbol& sym) {
    auto reject = [&](std::string why) {
      // With the records fetched, "set TARDIS_API_KEY" sent a user whose key
      // is set looking for a missing key: the record of this symbol is what
      // is missing.
      static constexpr std::string_view kSetKey = "(set TARDIS_API_KEY)";
      if (const size_t at = why.rfind(kSetKey); instruments && at != std::string::npos) {
        why.replace(at, kSetKey.size(), "(/v1/instruments/" + ex + " has no record of this symbol)");
      }
      // Without a key most rejections are for want of metadata (each rule
      // words its own: a dydx perpetual, a bybit dated future, a bitmex
      // quarterly), so any one marks the exchange needs_key: a run with a
      // key rewrites it.
      if (!instruments && opts.without_key) catalog->need_metadata.insert(ex);
      catalog->rejected.push_back({ex, sym.id, why});
    };
    const tardis::InstrumentInfo* info = record_of(sym.id);
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
      facts.contract_type = info->terms.contract_type.value_or("");
      facts.expiration_type = info->expiration_type;
      auto k = tardis::KeyFromMetadata(ex, sym.id, facts);
      if (!k.ok()) {
        reject(k.status().message());
        return;
      }
      key = *k;
      if (from_symbol.ok() && from_symbol->ToString() != key.ToString()) {
        catalog->warnings.push_back(ex + " " + sym.id + ": instrument metadata gives key " + key.ToString() +
                                    ", the symbol alone " + from_symbol->ToString() + "; using the metadata");
      }
    } else {
      if (!from_symbol.ok()) {
        reject(from_symbol.status().message());
        return;
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
        return;
      }
      if (!listed.empty() && listed != key.type) {
        reject("the symbol reads as " + key.type + " but Tardis lists it as type '" + sym.type +
               "'; its key needs instrument metadata (set TARDIS_API_KEY)");
        return;
      }
    }
    // Combos and prediction markets: the quote the metadata names, if any.
    const std::string filter_quote =
        IsNativeKeyed(key.type) ? (info ? MetadataCurrency(info->quote_currency) : "") : key.quote;
    if (!quotes.empty() && !quotes.count(filter_quote)) return;

    InstrumentDefinition d;
    d.instrument_key = key.ToString();
    d.venue = key.venue;
    d.instrument_type = key.type;
    d.available_from_us = sym.available_since_us;
    d.available_to_us = sym.available_to_us;
    d.data_types = Join(sym.data_types);
    d.base_asset = key.base;
    d.quote_asset = key.quote;
    if (IsNativeKeyed(key.type) && info) {
      // The key names the venue's symbol; the metadata still names the
      // currencies (a Deribit combo: BTC, USD).
      d.base_asset = MetadataCurrency(info->base_currency);
      d.quote_asset = MetadataCurrency(info->quote_currency);
    }
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
      if (!d.base_asset.empty() && !d.quote_asset.empty()) d.underlying = d.base_asset + "-" + d.quote_asset;
    }
    const std::string ccxt = CcxtExchange(ex);
    if (!ccxt.empty()) d.ccxt_exchange = ccxt;
    if (info) {
      d.active = info->active;
      if (info->listing_us) d.listing_us = info->listing_us;
      if (!info->expiration_type.empty()) d.expiration_type = info->expiration_type;
    }
    ApplyTerms(ex, sym.id, key, info ? &info->terms : nullptr, &d);
    // The record is only read again for the terms of days before one of
    // its changes (AsOf); without changes the base definition is every
    // day's, and a copy per instrument would double the catalog.
    catalog->entries.emplace_back(key, d, info && !info->changes.empty() ? info : nullptr, catalog->blobs);
  };
  for (const auto& sym : details.symbols) {
    if (stopped()) return;
    if (tardis::IsGroupedSymbol(sym.id)) {
      catalog->grouped.push_back({ex, sym});
      grouped_types.insert(sym.type);
      continue;
    }
    listed_types.insert(sym.type);
    add(sym);
  }
  // A venue whose listing names a type only by its grouped symbol (some
  // option venues list OPTIONS and no option): its instruments of that type
  // are the records /v1/instruments has of them, each available as its
  // record says. Without them no row of its grouped files could be keyed
  // (the symbols of a venue without a symbol rule do not tell their type).
  // They have no dataset of their own, so no data types: plans take their
  // rows from the grouped file (an instrument with a data type would stand
  // for it, as an item of its own that the source does not have).
  std::set<std::string> only_grouped;
  for (const std::string& t : grouped_types) {
    if (!t.empty() && !listed_types.count(t)) only_grouped.insert(t);
  }
  if (only_grouped.empty()) return;
  if (!instruments) {
    // Their instruments need the records: a run with a key writes them
    // (needs_key), as for a symbol rejected for want of metadata.
    if (opts.without_key) catalog->need_metadata.insert(ex);
    return;
  }
  // The records of those types, a symbol's first (as record_of takes it),
  // found through by_hash (no copy of the symbols), counted before they are
  // added so the entries are reserved once.
  std::vector<tardis::DatasetSymbol> more;
  tardis::InstrumentInfo r;
  std::vector<std::string> run_ids;  // symbols met in the current run of equal hashes
  for (size_t k = 0; k < by_hash.size(); k++) {
    if (stopped()) return;
    if (k == 0 || by_hash[k].first != by_hash[k - 1].first) run_ids.clear();
    instruments->Get(by_hash[k].second, &r);
    const std::string id = r.DatasetSymbolId();
    if (std::find(run_ids.begin(), run_ids.end(), id) != run_ids.end()) continue;
    run_ids.push_back(id);
    if (!only_grouped.count(r.type) || id.empty() || tardis::IsGroupedSymbol(id)) continue;
    tardis::DatasetSymbol sym;
    sym.id = id;
    sym.type = r.type;
    sym.available_since_us = r.available_since_us;
    sym.available_to_us = r.available_to_us;
    more.push_back(std::move(sym));
  }
  catalog->entries.reserve(catalog->entries.size() + more.size());
  for (const auto& sym : more) {
    if (stopped()) return;
    add(sym);
  }
}

namespace {

// Of two perpetuals or futures that derive one key (no variant tag yet),
// the tag for the second when one is inverse and the other linear
// (neither quanto): INVERSE or LINEAR, its kind. None otherwise (unknown,
// the same kind, or a quanto: ambiguous as before).
std::optional<std::string> KindTag(const CatalogEntry& first, const CatalogEntry& second) {
  InstrumentDefinition a, b;
  first.Decode(&a);
  second.Decode(&b);
  if (!a.inverse || !b.inverse || *a.inverse == *b.inverse) return std::nullopt;
  if (a.quanto.value_or(false) || b.quanto.value_or(false)) return std::nullopt;
  auto k = tardis::ParseInstrumentKey(b.instrument_key);
  if (!k.ok() || !k->variant.empty() || (k->type != "PERPETUAL" && k->type != "FUTURE")) return std::nullopt;
  return std::string(*b.inverse ? "INVERSE" : "LINEAR");
}

// The entry keyed with `variant` added; none when its key does not parse.
std::optional<CatalogEntry> WithVariant(const CatalogEntry& e, const std::string& variant,
                                        const std::shared_ptr<SpilledBlobs>& blobs) {
  InstrumentDefinition d;
  tardis::InstrumentKey key;
  tardis::InstrumentInfo record;
  e.Decode(&d, &key, &record);
  if (!e.has_record()) {
    auto parsed = tardis::ParseInstrumentKey(d.instrument_key);
    if (!parsed.ok()) return std::nullopt;
    key = *parsed;
  }
  key.variant = variant;
  d.instrument_key = key.ToString();
  return CatalogEntry(key, d, e.has_record() ? &record : nullptr, blobs);
}

}  // namespace

void FinishCatalog(Catalog* catalog) {
  auto& v = catalog->entries;
  // Each entry's key, read back once for the sort and the check below (an
  // entry holds it only packed), into chunks of a MiB: one string grown by
  // doubling would hold up to twice their bytes. The dataset symbol, which
  // orders only entries of one key, is read back when two keys are equal.
  constexpr size_t kChunk = size_t{1} << 20;
  std::vector<std::string> chunks;
  struct Name {
    uint32_t chunk, at, size;  // where the key is
  };
  std::vector<Name> name_of(v.size());
  {
    std::string key, symbol;
    for (size_t i = 0; i < v.size(); i++) {
      v[i].KeyAndSymbol(&key, &symbol);
      if (chunks.empty() || chunks.back().size() + key.size() > chunks.back().capacity()) {
        chunks.emplace_back();
        chunks.back().reserve(std::max(kChunk, key.size()));
      }
      std::string& c = chunks.back();
      name_of[i] = {static_cast<uint32_t>(chunks.size() - 1), static_cast<uint32_t>(c.size()),
                    static_cast<uint32_t>(key.size())};
      c += key;
    }
  }
  auto key_of = [&](size_t i) {
    return std::string_view(chunks[name_of[i].chunk]).substr(name_of[i].at, name_of[i].size);
  };
  auto symbol_of = [&](size_t i) { return v[i].tardis_symbol(); };
  // Sorted through an index (ties by position: stable) and permuted in
  // place, then deduplicated in place: a second vector of entries (a sort
  // buffer, a vector of the kept) would double what the catalog holds in
  // memory for a venue of many instruments.
  std::vector<size_t> order(v.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (key_of(a) != key_of(b)) return key_of(a) < key_of(b);
    const std::string sa = symbol_of(a), sb = symbol_of(b);
    if (sa != sb) return sa < sb;
    return a < b;
  });
  // Position i takes the entry at order[i]: follow each cycle once (the
  // names move with their entries).
  for (size_t start = 0; start < order.size(); start++) {
    if (order[start] == start) continue;
    CatalogEntry held = std::move(v[start]);
    const Name held_name = name_of[start];
    size_t i = start;
    while (order[i] != start) {
      const size_t from = order[i];
      v[i] = std::move(v[from]);
      name_of[i] = name_of[from];
      order[i] = i;
      i = from;
    }
    v[i] = std::move(held);
    name_of[i] = held_name;
    order[i] = i;
  }
  std::vector<size_t>().swap(order);
  size_t kept = 0;
  // Entries keyed again with a kind tag (below), sorted in after.
  std::vector<CatalogEntry> retagged;
  for (size_t i = 0; i < v.size(); i++) {
    if (kept > 0 && key_of(kept - 1) == key_of(i)) {
      // An inverse and a linear contract of the same terms (Kraken Futures
      // lists PI_XBTUSD, inverse, and PF_XBTUSD, linear, both BTC/USD): both
      // are kept. The first keeps the key (the one it had when the second
      // was rejected: stored objects keep naming the same contract), the
      // second takes the tag of its kind. Decided over the whole listing,
      // so a contract has one key on every day.
      if (auto tag = KindTag(v[kept - 1], v[i])) {
        if (auto e = WithVariant(v[i], *tag, catalog->blobs)) {
          const bool inverse = *tag == "INVERSE";
          catalog->warnings.push_back(v[i].tardis_exchange() + " " + symbol_of(i) + ": " +
                                      (inverse ? "inverse, beside the linear " : "linear, beside the inverse ") +
                                      symbol_of(kept - 1) + " of the same terms; keyed " + e->instrument_key());
          retagged.push_back(std::move(*e));
          continue;
        }
      }
      catalog->rejected.push_back({v[i].tardis_exchange(), symbol_of(i),
                                   "derives key " + std::string(key_of(i)) + ", as symbol " + symbol_of(kept - 1) +
                                       " does; the key would be ambiguous"});
      continue;
    }
    if (kept != i) {
      v[kept] = std::move(v[i]);
      name_of[kept] = name_of[i];
    }
    kept++;
  }
  v.erase(v.begin() + static_cast<std::ptrdiff_t>(kept), v.end());
  if (!retagged.empty()) {
    // Sorted in and checked again: two contracts that took one tagged key
    // are ambiguous as before (a tagged key is never tagged again). The
    // keys read back above go first: the call reads them all again.
    std::vector<std::string>().swap(chunks);
    std::vector<Name>().swap(name_of);
    for (auto& e : retagged) v.push_back(std::move(e));
    std::vector<CatalogEntry>().swap(retagged);
    FinishCatalog(catalog);
  }
}

namespace {

bool KeyMayChange(const CatalogEntry& e) { return e.key_may_change(); }

// Calls fn with the entry's definition as of t_us: the stored one when the
// metadata never changed, else one with the terms of that time, keyed by
// them (the expiry, quote and type in force then).
// `scratch` takes the decoded definition (its strings' storage reused from
// one entry to the next).
struct Scratch {
  InstrumentDefinition base;
  tardis::InstrumentKey key;
  tardis::InstrumentInfo record;
};

void AsOf(const CatalogEntry& e, int64_t t_us, Scratch* scratch, const DefinitionFn& fn) {
  e.Decode(&scratch->base, &scratch->key, &scratch->record);
  const tardis::InstrumentInfo& info = scratch->record;
  // changes are sorted by `until`: none after t_us means the current terms.
  if (!e.has_record() || info.changes.empty() || info.changes.back().until_us <= t_us) return fn(scratch->base);
  InstrumentDefinition d = scratch->base;
  const tardis::InstrumentTerms terms = info.TermsAt(t_us);
  tardis::InstrumentKey key = scratch->key;
  if (KeyMayChange(e)) {
    tardis::SymbolFacts facts;
    facts.type = terms.type.value_or(info.type);
    facts.base = info.base_currency;
    facts.quote = terms.quote_currency.value_or(info.quote_currency);
    facts.expiry_us = terms.expiry_us;
    facts.strike = info.strike_price;
    facts.option_type = info.option_type;
    facts.contract_type = terms.contract_type.value_or("");
    facts.expiration_type = info.expiration_type;
    // Terms that give no key (a record inconsistent on that day) leave the
    // current key: the instrument is still the same dataset symbol.
    if (auto k = tardis::KeyFromMetadata(d.tardis_exchange, d.tardis_symbol, facts); k.ok()) {
      // The INVERSE and LINEAR tags come from the listing (FinishCatalog),
      // not from the terms: they stay.
      const std::string& tag = scratch->key.variant;
      if ((tag == "INVERSE" || tag == "LINEAR") && k->variant.empty()) k->variant = tag;
      key = *k;
      d.instrument_key = key.ToString();
      d.instrument_type = key.type;
      if (!IsNativeKeyed(key.type)) {
        d.base_asset = key.base;
        d.quote_asset = key.quote;
        d.underlying = IsDerivative(key.type) ? std::optional<std::string>(key.base + "-" + key.quote) : std::nullopt;
      }
      if (key.type == "FUTURE" || key.type == "OPTION") d.expiry_us = terms.expiry_us;
    }
  }
  ApplyTerms(d.tardis_exchange, d.tardis_symbol, key, &terms, &d);
  // Today's aliasFor names today's contract: on a day the alias pointed to
  // another one, only a change entry that says which is kept.
  if (d.instrument_key != scratch->base.instrument_key && terms.alias_for == info.terms.alias_for) d.alias_for.reset();
  fn(d);
}

// Calls fn for every entry `when` gives a time for, with its definition at
// that time, in key order. An entry keyed differently at that time (its
// changes[] move its expiry, quote or type) is placed by that key; when it
// then takes the key of another entry of that day, the entry whose key it is
// now keeps it and the moved one is left out of that day.
void ForEachAt(const Catalog& catalog, const std::function<std::optional<int64_t>(const CatalogEntry&)>& when,
               const DefinitionFn& fn, const std::atomic<bool>* stop) {
  auto stopped = [stop] { return stop && stop->load(std::memory_order_relaxed); };
  Scratch scratch;
  std::vector<InstrumentDefinition> moved;
  for (const auto& e : catalog.entries) {
    if (stopped()) return;
    if (!KeyMayChange(e)) continue;
    const auto t = when(e);
    if (!t) continue;
    AsOf(e, *t, &scratch, [&](const InstrumentDefinition& d) {
      if (d.instrument_key != scratch.base.instrument_key) moved.push_back(d);
    });
  }
  std::sort(moved.begin(), moved.end(), [](const InstrumentDefinition& a, const InstrumentDefinition& b) {
    if (a.instrument_key != b.instrument_key) return a.instrument_key < b.instrument_key;
    return a.tardis_symbol < b.tardis_symbol;  // two aliases of one contract: the first symbol keeps it
  });
  std::set<std::string> stable_keys;
  if (!moved.empty()) {
    for (const auto& e : catalog.entries) {
      if (stopped()) return;
      const auto t = when(e);
      if (!t) continue;
      if (!KeyMayChange(e)) {
        stable_keys.insert(e.instrument_key());
      } else {
        AsOf(e, *t, &scratch, [&](const InstrumentDefinition& d) {
          if (d.instrument_key == scratch.base.instrument_key) stable_keys.insert(d.instrument_key);
        });
      }
    }
  }
  size_t next = 0;
  std::string last_moved;
  auto flush_before = [&](const std::string* key) {
    while (next < moved.size() && (!key || moved[next].instrument_key < *key)) {
      const InstrumentDefinition& m = moved[next++];
      if (stable_keys.count(m.instrument_key) || m.instrument_key == last_moved) continue;
      last_moved = m.instrument_key;
      fn(m);
    }
  };
  for (const auto& e : catalog.entries) {
    if (stopped()) return;
    const auto t = when(e);
    if (!t) continue;
    AsOf(e, *t, &scratch, [&](const InstrumentDefinition& d) {
      if (KeyMayChange(e) && d.instrument_key != scratch.base.instrument_key) return;  // emitted in its place
      flush_before(&d.instrument_key);
      fn(d);
    });
  }
  flush_before(nullptr);
}

}  // namespace

void ForEachOnDay(const Catalog& catalog, const Date& day, const DefinitionFn& fn, const std::atomic<bool>* stop) {
  const int64_t start = MicrosFromDate(day);
  ForEachAt(
      catalog,
      [&](const CatalogEntry& e) -> std::optional<int64_t> {
        if (!OverlapsDay(e.available_from_us(), e.available_to_us(), day)) return std::nullopt;
        return start;
      },
      fn, stop);
}

void ForEachInRange(const Catalog& catalog, const Date& from, const Date& to, const DefinitionFn& fn,
                    const std::atomic<bool>* stop) {
  const int64_t start = MicrosFromDate(from), end = MicrosFromDate(to) + kDayUs;
  ForEachAt(
      catalog,
      [&](const CatalogEntry& e) -> std::optional<int64_t> {
        const auto& to = e.available_to_us();
        if (!(e.available_from_us() < end && (!to || *to > start))) return std::nullopt;
        int64_t last = end - 1;
        if (to) last = std::min(last, *to - 1);
        return MicrosFromDate(DateFromMicros(last));
      },
      fn, stop);
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
