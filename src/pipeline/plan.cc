#include "pipeline/plan.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "core/bounded_json.h"
#include "net/http_client.h"
#include "tardis/instrument_key.h"
#include "tardis/schema.h"
#include "tardis/venues.h"

namespace mt::pipeline {

std::string WorkItem::Id() const {
  return FormatDate(day) + "/" + data_type + "/" + exchange + "/" + symbol;
}

std::string DerivedSeriesId(const WorkItem& source, const std::string& key, const std::string& name) {
  return source.Id() + '\t' + key + '\t' + name;
}

bool WorkItem::operator<(const WorkItem& o) const {
  return std::tie(day, data_type, exchange, symbol) < std::tie(o.day, o.data_type, o.exchange, o.symbol);
}

uint64_t StableHash(const WorkItem& item) {
  // FNV-1a over the bytes of Id(), fed piece by piece (no string is built:
  // planning a million items hashes each one twice).
  uint64_t h = 1469598103934665603ULL;
  auto feed = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
  };
  char date[10] = {static_cast<char>('0' + item.day.year / 1000 % 10), static_cast<char>('0' + item.day.year / 100 % 10),
                   static_cast<char>('0' + item.day.year / 10 % 10),   static_cast<char>('0' + item.day.year % 10),
                   '-',
                   static_cast<char>('0' + item.day.month / 10),       static_cast<char>('0' + item.day.month % 10),
                   '-',
                   static_cast<char>('0' + item.day.day / 10),         static_cast<char>('0' + item.day.day % 10)};
  feed(std::string_view(date, 10));
  feed("/");
  feed(item.data_type);
  feed("/");
  feed(item.exchange);
  feed("/");
  feed(item.symbol);
  // Final avalanche so nearby ids spread over all shards.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

std::string NormalizeSymbol(std::string sym) {
  for (char& c : sym) {
    if (c == '/' || c == ':') c = '-';
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return sym;
}

namespace {

// " BTC-USDT is how instrument keys spell a pair, ...; did you mean
// binance:BTCUSDT (BINANCE:SPOT_PAIR:BTC-USDT)?" for the bare symbols of
// `symbols` that are the symbol part of keys of the stored definitions of
// `exchanges` (a pair as the object names write it), else "".
std::string KeySpellingHint(const KnownSymbols* known, const std::vector<std::string>& symbols,
                            const std::vector<std::string>& exchanges) {
  if (!known) return "";
  std::string hint;
  size_t shown = 0;
  for (const auto& s : symbols) {
    if (s.find(':') != std::string::npos) continue;
    const std::string part = ":" + tardis::AsciiUpper(s);
    std::string names;
    for (const auto& [key, where] : known->by_key) {
      if (key.size() <= part.size() || key.compare(key.size() - part.size(), part.size(), part) != 0) continue;
      if (std::count(key.begin(), key.end(), ':') != 2) continue;  // the whole symbol part, not its end
      if (std::find(exchanges.begin(), exchanges.end(), where.exchange) == exchanges.end()) continue;
      if (shown++ == 3) {
        if (!names.empty()) names += ", ...";
        break;
      }
      names += (names.empty() ? "" : ", ") + where.exchange + ":" + where.symbol + " (" + key + ")";
    }
    if (!names.empty())
      hint += " " + s + " is how instrument keys spell a pair, not a Tardis symbol; did you mean " + names + "?";
    if (shown > 3) break;
  }
  return hint;
}

// Whether `exchange` has the (normalised) dataset symbol `sym`: its stored
// definitions say so when there are any, else its symbol rules.
bool Knows(const KnownSymbols* known, const std::string& exchange, const std::string& sym) {
  if (known) {
    auto it = known->by_exchange.find(exchange);
    if (it != known->by_exchange.end()) return it->second.count(sym) > 0;
  }
  if (tardis::IsGroupedSymbol(sym)) {
    // No rule reads them and the source decides, except that a spot-only
    // venue (its derivatives are filed under another id) has no file of
    // all its options, futures, perpetuals or combos.
    const tardis::Venue* v = tardis::FindVenue(exchange);
    return sym == "SPOT" || v == nullptr || !v->spot_only;
  }
  return tardis::KeyFromTardisSymbol(exchange, sym).ok();
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) prev[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); j++) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

const std::vector<std::string>& KnownExchanges() {
  // The venue table's ids, in its order (sorted: CheckExchanges binary-searches it).
  static const std::vector<std::string> kIds = [] {
    std::vector<std::string> ids;
    for (const tardis::Venue& v : tardis::Venues()) ids.emplace_back(v.id);
    return ids;
  }();
  return kIds;
}

std::string SuggestExchange(std::string_view id_in, const std::vector<std::string>& also_known) {
  // Ids are lower-case; one typed in capitals (as instrument keys spell the
  // venue: BINANCE-FUTURES) is compared as lower-case, so the exact id is
  // found at distance zero rather than nothing within a third of it.
  std::string lower(id_in);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string_view id = lower;
  // Names a user knows a venue by (its own, or CCXT's id) where Tardis uses
  // another id: that id, which no spelling distance finds (kraken-futures
  // is nearest to kucoin-futures, htx to ftx).
  static constexpr std::pair<std::string_view, std::string_view> kOtherNames[] = {
      {"binance-coinm", "binance-delivery"}, {"binance-usdm", "binance-futures"},
      {"binancecoinm", "binance-delivery"},  {"binanceusdm", "binance-futures"},
      {"htx", "huobi"},                      {"kraken-futures", "cryptofacilities"},
      {"krakenfutures", "cryptofacilities"},
  };
  for (const auto& [name, tardis_id] : kOtherNames) {
    if (id == name) return std::string(tardis_id);
  }
  std::string best;
  size_t best_d = std::max<size_t>(3, id.size() / 3) + 1;  // within ~a third of the id
  for (const auto* list : {&KnownExchanges(), &also_known}) {
    for (const auto& k : *list) {
      const size_t d = EditDistance(id, k);
      if (d < best_d) {
        best_d = d;
        best = k;
      }
    }
  }
  return best;
}

bool IsKnownExchange(std::string_view id) {
  const auto& ids = KnownExchanges();
  return std::binary_search(ids.begin(), ids.end(), id);
}

Status CheckExchanges(const std::vector<std::string>& exchanges, const std::vector<std::string>& also_known) {
  for (const auto& e : exchanges) {
    if (IsKnownExchange(e)) continue;
    if (std::find(also_known.begin(), also_known.end(), e) != also_known.end()) continue;
    const std::string best = SuggestExchange(e, also_known);
    return Status::Usage("unknown exchange '" + e + "'" + (best.empty() ? "" : " (did you mean " + best + "?)") +
                         ": Tardis exchange ids are lower-case, e.g. binance-futures, okex-swap, deribit");
  }
  return Status::OK();
}

Result<InstrumentFilter> ParseInstrumentFilter(const std::string& types, const std::string& bases,
                                               const std::string& quotes, const std::string& max_instruments,
                                               const std::string& max_days_to_expiry) {
  auto upper = [](std::string v) {
    for (char& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return v;
  };
  auto integer = [](const char* flag, const std::string& v, uint64_t lo, uint64_t hi) -> Result<uint64_t> {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || v[0] == '-' || n < lo || n > hi) {
      return Status::Usage(std::string(flag) + " must be an integer from " + std::to_string(lo) + " to " +
                           std::to_string(hi) + ", got '" + v + "'");
    }
    return static_cast<uint64_t>(n);
  };
  InstrumentFilter f;
  // Tardis instrument types, as keys name them (spot: SPOT_PAIR). A name
  // without a key type names no instrument of the definitions: an error, not
  // a filter that silently keeps nothing.
  for (const std::string& t : SplitList(types)) {
    std::string lower = t;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string key_type = tardis::KeyTypeForTardisType(lower);
    if (key_type.empty()) {
      return Status::Usage("--instrument-types: '" + t +
                           "' is not one of spot, perpetual, future, option, combo, prediction");
    }
    f.types.insert(key_type);
  }
  for (const std::string& b : SplitList(bases)) f.bases.insert(upper(b));
  for (const std::string& q : SplitList(quotes)) f.quotes.insert(upper(q));
  if (!max_instruments.empty()) {
    MT_ASSIGN_OR_RETURN(uint64_t n, integer("--max-instruments", max_instruments, 1, 100'000'000));
    f.max_instruments = static_cast<size_t>(n);
  }
  if (!max_days_to_expiry.empty()) {
    MT_ASSIGN_OR_RETURN(uint64_t n, integer("--max-days-to-expiry", max_days_to_expiry, 0, 100000));
    f.max_days_to_expiry = static_cast<int64_t>(n);
  }
  return f;
}

bool InstrumentFilterer::Keep(const WorkItem& e) {
  const InstrumentFilter& f = filter_;
  tardis::InstrumentKey chain;
  const bool is_chain = ParseChainKey(e.instrument_key, &chain.base, &chain.quote);
  chain.type = "OPTION";
  auto k = is_chain ? Result<tardis::InstrumentKey>(chain) : tardis::ParseInstrumentKey(e.instrument_key);
  if (!k.ok()) return false;
  if (!f.types.empty() && !f.types.count(k->type)) return false;
  if (!f.bases.empty() && !f.bases.count(k->base)) return false;
  if (!f.quotes.empty() && !f.quotes.count(k->quote)) return false;
  if (f.max_days_to_expiry >= 0 && k->expiry.size() == 6) {
    const auto exp =
        ParseDate("20" + k->expiry.substr(0, 2) + "-" + k->expiry.substr(2, 2) + "-" + k->expiry.substr(4, 2));
    if (!exp) return false;
    const int64_t to_expiry =
        DaysFromCivil(exp->year, exp->month, exp->day) - DaysFromCivil(e.day.year, e.day.month, e.day.day);
    if (to_expiry < 0 || to_expiry > f.max_days_to_expiry) return false;
  }
  // The keys kept count only against --max-instruments: without it none
  // is held (a day's listing may give millions).
  if (f.max_instruments == SIZE_MAX) return true;
  auto& day_keys = kept_[e.day];
  if (!day_keys.count(e.instrument_key)) {
    if (day_keys.size() >= f.max_instruments) return false;
    day_keys.insert(e.instrument_key);
  }
  return true;
}

std::vector<WorkItem> FilterInstruments(const std::vector<WorkItem>& items, const InstrumentFilter& f) {
  std::vector<WorkItem> out;
  InstrumentFilterer filter(f);
  for (const auto& e : items) {
    if (filter.Keep(e)) out.push_back(e);
  }
  return out;
}

std::string ChainKeyOfOption(std::string_view option_key) {
  auto k = tardis::ParseInstrumentKey(option_key);
  if (!k.ok() || k->type != "OPTION") return "";
  return k->venue + ":" + kChainKeyType + ":" + k->base + "-" + k->quote;
}

bool ParseChainKey(std::string_view key, std::string* base, std::string* quote) {
  const size_t c1 = key.find(':');
  if (c1 == std::string_view::npos) return false;
  const size_t c2 = key.find(':', c1 + 1);
  if (c2 == std::string_view::npos || key.substr(c1 + 1, c2 - c1 - 1) != kChainKeyType) return false;
  const std::string_view pair = key.substr(c2 + 1);
  const size_t dash = pair.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 >= pair.size() ||
      pair.find_first_of("-:", dash + 1) != std::string_view::npos) {
    return false;
  }
  *base = std::string(pair.substr(0, dash));
  *quote = std::string(pair.substr(dash + 1));
  return true;
}

std::vector<GroupedDefinition> ParseGroupedSymbols(std::string_view text) {
  std::vector<GroupedDefinition> out;
  auto parsed = ParseBoundedJson(text, "grouped_symbols");
  if (!parsed.ok()) return out;
  const nlohmann::json groups = std::move(parsed).value();
  if (!groups.is_array()) return out;
  for (const auto& g : groups) {
    if (!g.is_object()) continue;
    GroupedDefinition d;
    auto str = [&](const char* k) {
      auto it = g.find(k);
      return it != g.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    d.exchange = str("exchange");
    d.symbol = str("symbol");
    d.type = str("type");
    if (d.exchange.empty() || d.symbol.empty()) continue;
    if (auto it = g.find("data_types"); it != g.end() && it->is_array()) {
      for (const auto& t : *it) {
        if (t.is_string()) d.data_types.push_back(t.get<std::string>());
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<WorkItem> ChainItems(const Date& day, const std::vector<DefinitionRow>& rows,
                                 const std::vector<GroupedDefinition>& grouped, const PlanRequest& filter) {
  auto wanted = [](const std::vector<std::string>& f, const std::string& v) {
    return f.empty() || std::find(f.begin(), f.end(), v) != f.end();
  };
  auto has = [](const std::vector<std::string>& v, const char* s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  std::vector<WorkItem> out;
  if (!wanted(filter.data_types, kOptionsChain)) return out;
  // exchange -> the grouped symbol that holds its chain (Tardis: OPTIONS).
  std::map<std::string, std::string> chain_file;
  for (const auto& g : grouped) {
    if (has(g.data_types, kOptionsChain) && wanted(filter.exchanges, g.exchange)) {
      chain_file.emplace(g.exchange, g.symbol);
    }
  }
  std::set<std::pair<std::string, std::string>> seen;  // exchange, chain key
  for (const auto& r : rows) {
    if (!wanted(filter.exchanges, r.exchange)) continue;
    auto file = chain_file.find(r.exchange);
    if (file == chain_file.end() && !has(r.data_types, kOptionsChain)) continue;
    const std::string key = ChainKeyOfOption(r.instrument_key);
    if (key.empty() || !seen.insert({r.exchange, key}).second) continue;
    out.push_back(WorkItem{day, kOptionsChain, r.exchange, file == chain_file.end() ? "OPTIONS" : file->second, key});
  }
  std::sort(out.begin(), out.end(), [](const WorkItem& a, const WorkItem& b) {
    return std::tie(a.exchange, a.instrument_key) < std::tie(b.exchange, b.instrument_key);
  });
  return out;
}

std::vector<WorkItem> UniqueFiles(std::vector<WorkItem> items) {
  items.erase(std::unique(items.begin(), items.end()), items.end());
  return items;
}

std::vector<std::string> SplitList(const std::string& csv) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= csv.size()) {
    size_t comma = csv.find(',', start);
    if (comma == std::string::npos) comma = csv.size();
    std::string v = csv.substr(start, comma - start);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    while (!v.empty() && v.back() == ' ') v.pop_back();
    if (!v.empty()) out.push_back(v);
    start = comma + 1;
  }
  return out;
}

Status CheckDataTypes(const std::vector<std::string>& data_types) {
  for (const auto& dt : data_types) {
    if (tardis::FindSchema(dt)) continue;
    if (auto d = derive::ParseDerivedName(dt); d.ok()) {
      return Status::Usage("'" + dt + "' is a derived data type, computed from " + d->source_data_type() +
                           ": pass it with --derive (docs/DERIVED.md)");
    }
    return Status::Usage("unknown data type '" + dt + "' (one of: " + tardis::SupportedDataTypes() +
                         "; derived data types such as trade_bar_1m go in --derive)");
  }
  return Status::OK();
}

namespace {

// BuildPlan's items to `sink`; `count`, when given, is first told how many
// there will be (so a list of them takes its room once).
Status MakePlan(const PlanRequest& req, const WorkItemSink& sink, const std::function<void(size_t)>& count) {
  if (req.to < req.from) {
    return Status::Usage("--to " + FormatDate(req.to) + " is before --from " + FormatDate(req.from));
  }
  // Instrument keys become the exchange:SYMBOL of the instrument the stored
  // definitions give that key (first: without --exchanges a key adds its
  // exchange to the run's).
  std::vector<std::string> run_exchanges = req.exchanges;
  std::vector<std::string> symbols;
  symbols.reserve(req.symbols.size());
  for (const auto& s : req.symbols) {
    if (!IsKeyForm(s)) {
      symbols.push_back(s);
      continue;
    }
    const auto it = req.known ? req.known->by_key.find(s) : decltype(req.known->by_key.end()){};
    if (!req.known || it == req.known->by_key.end()) {
      return Status::Usage(
          "--symbols " + s + " is an instrument key: the instrument it names comes from the stored " +
          "instrument definitions of these days, " +
          (req.known && !req.known->by_key.empty() ? "which do not list it" : "and the store has none") +
          ". Run `market-tick instruments` for these days into the output store, or write the "
          "Tardis symbol as exchange:SYMBOL (e.g. deribit:BTC-PERPETUAL)");
    }
    const std::string& exchange = it->second.exchange;
    const std::string& symbol = it->second.symbol;
    if (std::find(run_exchanges.begin(), run_exchanges.end(), exchange) == run_exchanges.end()) {
      if (req.exchanges_from_symbols) {
        run_exchanges.push_back(exchange);
        symbols.push_back(exchange + ":" + symbol);
        continue;
      }
      std::string list;
      for (const auto& e : req.exchanges) list += (list.empty() ? "" : ",") + e;
      return Status::Usage("--symbols " + s + " names " + exchange + " " + symbol + ", and the run's exchanges (" +
                           list + ") do not include " + exchange + ": add it to --exchanges");
    }
    symbols.push_back(exchange + ":" + symbol);
  }
  if (run_exchanges.empty()) return Status::Usage("no exchanges: set --exchanges");
  if (req.data_types.empty()) return Status::Usage("no data types: set --data-types (e.g. trades,quotes)");
  if (req.symbols.empty()) {
    return Status::Usage("no symbols: set --symbols (e.g. --symbols BTCUSDT or deribit:BTC-PERPETUAL)");
  }
  MT_RETURN_IF_ERROR(CheckDataTypes(req.data_types));
  // A pin with nothing on one side of its colon is a typo: planned, it
  // became an item of symbol '' that failed as bad data (exit 1), or an
  // exchange '' with a suggestion of some other id.
  for (const auto& s : symbols) {
    const size_t colon = s.find(':');
    if (colon != std::string::npos && (colon == 0 || colon + 1 == s.size())) {
      return Status::Usage("--symbols " + s + ": write exchange:SYMBOL, both parts (e.g. bitmex:XBTUSD)");
    }
    // No Tardis symbol holds a space, a control character or a character
    // that ends or escapes a URL's path: such a symbol is a typo or a pasted
    // URL, planned it failed every item as bad data (exit 1) after a request.
    const std::string sym = colon == std::string::npos ? s : s.substr(colon + 1);
    for (const char ch : sym) {
      const auto c = static_cast<unsigned char>(ch);
      if (c <= 0x20 || c == 0x7F || std::strchr("?#%\\\"<>", ch) != nullptr) {
        char shown[8];
        std::snprintf(shown, sizeof shown, c <= 0x20 || c == 0x7F ? "0x%02X" : "'%c'", c);
        return Status::Usage("--symbols " + s + ": a symbol holds " + shown +
                             ", which no Tardis symbol does; write the symbol as Tardis lists it (e.g. coinbase:BTC-USD)");
      }
    }
  }
  // Sorted, de-duplicated dimensions, generated in (day, data type, exchange,
  // symbol) order: the product comes out sorted and unique without a sort of
  // a million string tuples.
  auto sorted_unique = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  };
  const std::vector<std::string> exchanges = sorted_unique(run_exchanges);
  const std::vector<std::string> data_types = sorted_unique(req.data_types);
  std::vector<std::string> also_known;
  if (req.known) {
    for (const auto& [ex, syms] : req.known->by_exchange) also_known.push_back(ex);
  }
  MT_RETURN_IF_ERROR(CheckExchanges(exchanges, also_known));
  // The exchange of a pinned symbol is checked too, whether or not
  // --exchanges names it: a misspelt one would otherwise pin the symbol to no
  // exchange of the run and drop it without a word.
  for (const auto& s : symbols) {
    const size_t colon = s.find(':');
    if (colon == std::string::npos) continue;
    const std::string pinned_to = s.substr(0, colon);
    if (Status st = CheckExchanges({pinned_to}, also_known); !st.ok()) {
      return Status::Usage("--symbols " + s + ": " + st.message());
    }
    // A pin to an exchange the run does not cover would be planned for none:
    // said, not dropped (EXCHANGES in .env narrows a run as --exchanges does).
    if (!std::binary_search(exchanges.begin(), exchanges.end(), pinned_to)) {
      std::string list;
      for (const auto& e : exchanges) list += (list.empty() ? "" : ",") + e;
      return Status::Usage("--symbols " + s + " pins a symbol to " + pinned_to + ", which the run's exchanges (" +
                           list + ") do not include: add " + pinned_to + " to --exchanges, or drop the pin");
    }
  }
  std::vector<std::vector<std::string>> symbols_of(exchanges.size());
  size_t total = 0;
  std::vector<std::string> knows_none;
  for (size_t e = 0; e < exchanges.size(); e++) {
    std::vector<std::string> syms;
    for (const auto& s : symbols) {
      const size_t colon = s.find(':');
      std::string sym = s;
      const bool pinned = colon != std::string::npos;
      if (pinned) {
        if (s.substr(0, colon) != exchanges[e]) continue;
        sym = s.substr(colon + 1);
      }
      sym = NormalizeSymbol(sym);
      if (!pinned && !Knows(req.known, exchanges[e], sym)) continue;
      // A pinned symbol of a venue without a symbol rule takes its key from
      // the stored definitions: without them every item of it would fail
      // once downloaded, as bad data (exit 1), where running `instruments`
      // first is the fix.
      if (pinned && !tardis::HasSymbolRule(exchanges[e]) && !tardis::IsGroupedSymbol(sym) &&
          !Knows(req.known, exchanges[e], sym)) {
        return Status::Usage("--symbols " + s + ": " + exchanges[e] + " has no symbol rule, so the key of '" + sym +
                             "' comes from its instrument definitions, " +
                             (req.known && req.known->by_exchange.count(exchanges[e])
                                  ? "and the stored ones do not list it"
                                  : "and the store lists none of its instruments") +
                             "; run `market-tick instruments` for these days into the output store first (with --force "
                             "where an earlier run wrote them: it may have rejected symbols whose metadata it lacked)");
      }
      syms.push_back(std::move(sym));
    }
    if (syms.empty()) knows_none.push_back(exchanges[e]);
    symbols_of[e] = sorted_unique(std::move(syms));
    total += symbols_of[e].size();
  }
  if (!knows_none.empty()) {
    std::string list, bare;
    for (const auto& e : knows_none) list += (list.empty() ? "" : ", ") + e;
    for (const auto& s : symbols) {
      if (s.find(':') == std::string::npos) bare += (bare.empty() ? "" : ",") + s;
    }
    if (bare.empty()) {
      // Every symbol pinned: no rule or definition was asked.
      std::string all;
      for (const auto& s : symbols) all += (all.empty() ? "" : ",") + s;
      return Status::Usage("--symbols " + all + ": none is pinned to " + list +
                           ". Drop the exchange from --exchanges, or pin symbols to it as exchange:SYMBOL");
    }
    return Status::Usage("--symbols " + bare + ": " + list + (knows_none.size() == 1 ? " knows" : " know") +
                         " none of these symbols (checked against " +
                         (req.known ? "the stored instrument definitions and " : "") + "the venue's symbol rules)." +
                         KeySpellingHint(req.known, symbols, knows_none) +
                         " Drop the exchange from --exchanges, pin symbols to it as exchange:SYMBOL, or run "
                         "`market-tick instruments` for these days so its definitions list them");
  }
  const int64_t days = DaysFromCivil(req.to.year, req.to.month, req.to.day) -
                       DaysFromCivil(req.from.year, req.from.month, req.from.day) + 1;
  if (days > 366 * 20) return Status::Usage("date range longer than 20 years");
  if (count) count(static_cast<size_t>(days) * data_types.size() * total);
  for (int64_t d = 0; d < days; d++) {
    if (req.cancel && req.cancel->load()) return Status::Cancelled("planning interrupted");
    const Date day = AddDays(req.from, d);
    for (const auto& dt : data_types) {
      for (size_t e = 0; e < exchanges.size(); e++) {
        for (const auto& sym : symbols_of[e]) MT_RETURN_IF_ERROR(sink(WorkItem{day, dt, exchanges[e], sym, {}}));
      }
    }
  }
  return Status::OK();
}

}  // namespace

bool IsKeyForm(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || s.find(':', colon + 1) == std::string_view::npos) return false;
  bool upper = false;
  for (const char c : s.substr(0, colon)) {
    if (c >= 'a' && c <= 'z') return false;
    upper = upper || (c >= 'A' && c <= 'Z');
  }
  return upper;
}

Result<std::vector<WorkItem>> BuildPlan(const PlanRequest& req) {
  std::vector<WorkItem> items;
  MT_RETURN_IF_ERROR(MakePlan(
      req,
      [&items](WorkItem&& w) {
        items.push_back(std::move(w));
        return Status::OK();
      },
      [&items](size_t n) { items.reserve(n); }));
  return items;
}

Status BuildPlan(const PlanRequest& req, const WorkItemSink& sink) { return MakePlan(req, sink, nullptr); }

Result<Shard> ParseShard(const std::string& text) {
  // Both numbers plain decimal digits (no sign, space or suffix), 0 <= I < N <= 1000000.
  auto number = [](const std::string& digits) -> std::optional<uint32_t> {
    if (digits.empty() || digits.size() > 7 || digits.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    return static_cast<uint32_t>(std::strtoul(digits.c_str(), nullptr, 10));
  };
  const size_t slash = text.find('/');
  const auto i = slash == std::string::npos ? std::nullopt : number(text.substr(0, slash));
  const auto n = slash == std::string::npos ? std::nullopt : number(text.substr(slash + 1));
  if (!i || !n || *n < 1 || *i >= *n || *n > 1000000) {
    return Status::Usage("shard '" + text + "' is not I/N with 0 <= I < N (e.g. --shard 3/60)");
  }
  Shard s;
  s.index = *i;
  s.count = *n;
  return s;
}

std::vector<WorkItem> SelectShard(const std::vector<WorkItem>& plan, const Shard& shard) {
  if (shard.count <= 1) return plan;
  std::vector<WorkItem> out;
  for (const auto& it : plan) {
    if (StableHash(it) % shard.count == shard.index) out.push_back(it);
  }
  return out;
}

std::string EncodeWorkItem(const WorkItem& item) {
  std::string out;
  out.reserve(4 + item.data_type.size() + item.exchange.size() + item.symbol.size() + item.instrument_key.size() + 3);
  // The day big-endian, so that bytes compare as the dates do.
  out.push_back(static_cast<char>((item.day.year >> 8) & 0xff));
  out.push_back(static_cast<char>(item.day.year & 0xff));
  out.push_back(static_cast<char>(item.day.month));
  out.push_back(static_cast<char>(item.day.day));
  // Each field ends with a zero byte: one that is a prefix of another sorts
  // first, as std::string's comparison has it.
  for (const std::string* f : {&item.data_type, &item.exchange, &item.symbol}) {
    out += *f;
    out.push_back('\0');
  }
  out += item.instrument_key;
  return out;
}

bool DecodeWorkItem(std::string_view bytes, WorkItem* item) {
  if (bytes.size() < 4) return false;
  item->day.year = static_cast<unsigned char>(bytes[0]) << 8 | static_cast<unsigned char>(bytes[1]);
  item->day.month = static_cast<unsigned char>(bytes[2]);
  item->day.day = static_cast<unsigned char>(bytes[3]);
  bytes.remove_prefix(4);
  for (std::string* f : {&item->data_type, &item->exchange, &item->symbol}) {
    const size_t end = bytes.find('\0');
    if (end == std::string_view::npos) return false;
    f->assign(bytes.substr(0, end));
    bytes.remove_prefix(end + 1);
  }
  item->instrument_key.assign(bytes);
  return true;
}

std::string DatasetUrl(const std::string& base, const WorkItem& item) {
  std::string b = base;
  while (!b.empty() && b.back() == '/') b.pop_back();
  const std::string d = FormatDate(item.day);
  // The dataset symbol: an item planned from definitions carries the
  // listing's spelling, which may hold `:` or `/` (bitfinex-derivatives
  // BTCF0:USTF0), where the file's name has `-`.
  return b + "/v1/" + item.exchange + "/" + item.data_type + "/" + d.substr(0, 4) + "/" + d.substr(5, 2) + "/" +
         d.substr(8, 2) + "/" + net::UrlEncode(NormalizeSymbol(item.symbol)) + ".csv.gz";
}

}  // namespace mt::pipeline
