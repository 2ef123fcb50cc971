#include "pipeline/key_resolver.h"

#include "storage/layout.h"
#include "tardis/file_name.h"

namespace mt::pipeline {

namespace {

// The estimate of one allocation of `n` bytes: the allocator's header and
// its rounding to 16 bytes.
size_t Block(size_t n) { return (n + 8 + 15) / 16 * 16; }
// A string's heap: none while it fits inline (the short-string buffer).
size_t Heap(const std::string& s) { return s.capacity() > 15 ? Block(s.capacity() + 1) : 0; }
// A red-black tree node: three pointers and a colour before the value.
template <typename V>
size_t Node() {
  return Block(4 * sizeof(void*) + sizeof(V));
}
size_t Heap(const ContractTerms& t) { return Heap(t.price_currency) + Heap(t.settle_asset) + Heap(t.amount_unit); }

}  // namespace

Result<tardis::InstrumentKey> RuleKeyResolver::Resolve(std::string_view exchange, std::string_view symbol) const {
  return tardis::KeyFromTardisSymbol(exchange, symbol);
}

Result<bool> RuleKeyResolver::ListsExchange(const Date& day, std::string_view exchange) const {
  (void)day;
  (void)exchange;
  return false;  // no definitions
}

DefinitionKeyResolver::DefinitionKeyResolver(Date day, const std::vector<Row>& rows) : day_(day) {
  for (const auto& r : rows) {
    if (!r.exchange.empty()) exchanges_.insert(r.exchange);
    if (r.key.empty() || r.exchange.empty()) continue;
    keys_.emplace(std::make_pair(r.exchange, tardis::AsciiUpper(r.symbol)), r.key);
    if (!r.base.empty()) currencies_[r.exchange].insert(r.base);
    if (!r.quote.empty()) currencies_[r.exchange].insert(r.quote);
    if (!r.terms.empty()) terms_.emplace(r.key, r.terms);
  }
  // The exchange's own symbol second: a dataset symbol always wins. Then a
  // listed symbol as a file names it (BTCF0:USTF0 -> BTCF0-USTF0): the
  // symbol of an item pinned on the command line, whose file that is.
  for (const auto& r : rows) {
    if (r.key.empty() || r.exchange.empty() || r.raw_symbol.empty()) continue;
    keys_.emplace(std::make_pair(r.exchange, tardis::AsciiUpper(r.raw_symbol)), r.key);
  }
  for (const auto& r : rows) {
    if (r.key.empty() || r.exchange.empty()) continue;
    keys_.emplace(std::make_pair(r.exchange, tardis::FileNameSymbol(r.symbol)), r.key);
  }
  for (const auto& [k, v] : keys_) {
    bytes_ += Node<decltype(keys_)::value_type>() + Heap(k.first) + Heap(k.second) + Heap(v);
  }
  for (const auto& [k, v] : terms_) bytes_ += Node<decltype(terms_)::value_type>() + Heap(k) + Heap(v);
  for (const auto& [ex, set] : currencies_) {
    bytes_ += Node<decltype(currencies_)::value_type>() + Heap(ex);
    for (const auto& c : set) bytes_ += Node<std::string>() + Heap(c);
  }
  for (const auto& ex : exchanges_) bytes_ += Node<std::string>() + Heap(ex);
}

Result<std::unique_ptr<DefinitionKeyResolver>> DefinitionKeyResolver::Load(parquet::FileReader& file, Date day) {
  static const char* const kColumns[] = {"tardis_exchange", "tardis_symbol", "exchange_raw_symbol",
                                         "instrument_key",  "base_asset",    "quote_asset"};
  std::vector<parquet::ColumnValues> cols;
  for (const char* name : kColumns) {
    auto v = file.ReadColumn(std::string(name));
    if (!v.ok()) return v.status();
    if (v->type != parquet::PhysicalType::kByteArray) {
      return Status::InvalidInput(file.label() + ": column " + name + " is not a string column");
    }
    cols.push_back(std::move(v).value());
  }
  std::vector<Row> rows(cols[0].num_rows);
  for (size_t r = 0; r < rows.size(); r++) {
    auto at = [&](size_t c) { return r < cols[c].strings.size() ? cols[c].strings[r] : std::string(); };
    rows[r] = Row{at(0), at(1), at(2), at(3), at(4), at(5), {}};
  }
  // The terms (nullable columns): a column the file lacks (written before
  // it existed) or of another type gives no value, never a guess.
  auto optional_column = [&](const char* name, parquet::PhysicalType type) -> Result<parquet::ColumnValues> {
    auto v = file.ReadColumn(std::string(name));
    if (!v.ok()) {
      if (v.status().code() == Status::Code::kNotFound) return parquet::ColumnValues{};
      return v.status();
    }
    if (v->type != type || v->num_rows != rows.size()) return parquet::ColumnValues{};
    return v;
  };
  auto has = [](const parquet::ColumnValues& c, size_t r) { return r < c.defined.size() && c.defined[r]; };
  using PT = parquet::PhysicalType;
  MT_ASSIGN_OR_RETURN(auto contract_size, optional_column("contract_size", PT::kDouble));
  MT_ASSIGN_OR_RETURN(auto tick_size, optional_column("tick_size", PT::kDouble));
  MT_ASSIGN_OR_RETURN(auto inverse, optional_column("inverse", PT::kBoolean));
  MT_ASSIGN_OR_RETURN(auto price_currency, optional_column("price_currency", PT::kByteArray));
  MT_ASSIGN_OR_RETURN(auto settle_asset, optional_column("settle_asset", PT::kByteArray));
  MT_ASSIGN_OR_RETURN(auto amount_unit, optional_column("amount_unit", PT::kByteArray));
  for (size_t r = 0; r < rows.size(); r++) {
    ContractTerms& t = rows[r].terms;
    if (has(contract_size, r)) t.contract_size = contract_size.doubles[r];
    if (has(tick_size, r)) t.tick_size = tick_size.doubles[r];
    if (has(inverse, r)) t.inverse = inverse.bools[r] != 0;
    if (has(price_currency, r)) t.price_currency = price_currency.strings[r];
    if (has(settle_asset, r)) t.settle_asset = settle_asset.strings[r];
    if (has(amount_unit, r)) t.amount_unit = amount_unit.strings[r];
  }
  return std::make_unique<DefinitionKeyResolver>(day, rows);
}

Result<tardis::InstrumentKey> DefinitionKeyResolver::Resolve(std::string_view exchange,
                                                             std::string_view symbol) const {
  const std::string ex(exchange), sym = tardis::AsciiUpper(symbol);
  auto it = keys_.find({ex, sym});
  // A row's symbol as the exchange spells it (ascendex `BTC/USDT`) where the
  // listing has only the dataset symbol (`BTC-USDT`, no /v1/instruments
  // record to give the native one): the same instrument when they name the
  // same file, as the official clients name them.
  if (it == keys_.end()) {
    if (std::string named = tardis::FileNameSymbol(symbol); named != sym) it = keys_.find({ex, named});
  }
  if (it != keys_.end()) {
    auto k = tardis::ParseInstrumentKey(it->second);
    if (!k.ok()) {
      return Status::InvalidInput("instrument definitions of " + FormatDate(day_) + ": " + k.status().message());
    }
    return k;
  }
  auto rule = tardis::KeyFromTardisSymbol(exchange, symbol);
  if (!rule.ok()) {
    return Status::InvalidInput(rule.status().message() + " (the instrument definitions of " + FormatDate(day_) +
                                " do not list it)");
  }
  // A concatenated spot symbol: the rule splits at the longest known quote,
  // which the venue's own currencies may contradict.
  const auto cur = currencies_.find(ex);
  if (cur == currencies_.end()) return rule;
  auto split = tardis::ConfirmedSplit(*rule, sym, [&](const std::string& c) { return cur->second.count(c) > 0; });
  if (split) return *split;
  return rule;
}

Result<std::optional<ContractTerms>> DefinitionKeyResolver::TermsOn(const Date& day, const std::string& key) const {
  (void)day;  // one day's resolver
  auto it = terms_.find(key);
  if (it == terms_.end()) return std::optional<ContractTerms>();
  return std::optional<ContractTerms>(it->second);
}

Result<bool> DefinitionKeyResolver::ListsExchange(const Date& day, std::string_view exchange) const {
  (void)day;  // one day's resolver
  return exchanges_.find(exchange) != exchanges_.end();
}

Result<StoreKeyResolvers::Loaded> StoreKeyResolvers::Load(const Date& day) {
  const std::string name = store_->layout().InstrumentsObjectName(day);
  // Another instruments run may replace the file while it is read (its
  // footer one version's, its pages the next's): read it again.
  Result<std::unique_ptr<DefinitionKeyResolver>> loaded = Status::Internal("not read");
  bool none = false;
  (void)storage::ReadAgainIfReplaced([&] {
    auto file = parquet::FileReader::Open(store_, name);
    none = !file.ok() && file.status().code() == Status::Code::kNotFound;
    if (file.ok()) {
      loaded = DefinitionKeyResolver::Load(**file, day);
    } else {
      loaded = file.status();
    }
    return loaded.status();
  });
  if (none) return Loaded{rules_, 0};
  if (!loaded.ok()) return loaded.status().WithContext("instrument definitions of " + FormatDate(day));
  const size_t bytes = (*loaded)->MemoryBytes();
  return Loaded{std::shared_ptr<const KeyResolver>(std::move(loaded).value()), bytes};
}

Result<std::shared_ptr<const KeyResolver>> StoreKeyResolvers::ForDay(const Date& day) {
  if (!store_) return rules_;
  std::unique_lock<std::mutex> l(mu_);
  for (auto it = days_.find(day); it != days_.end(); it = days_.find(day)) {
    std::shared_ptr<Entry> e = it->second;
    if (e->ready) {
      e->last_used = ++clock_;
      return e->resolver;
    }
    loaded_.wait(l);  // another worker is reading this day
  }
  auto mine = std::make_shared<Entry>();
  days_.emplace(day, mine);  // the loading marker
  l.unlock();
  auto loaded = Load(day);
  l.lock();
  if (!loaded.ok()) {
    days_.erase(day);  // not remembered: the next caller reads again
    loaded_.notify_all();
    return loaded.status();
  }
  loads_++;
  mine->resolver = loaded->resolver;
  mine->bytes = loaded->bytes;
  mine->ready = true;
  mine->last_used = ++clock_;
  cached_bytes_ += mine->bytes;
  // Drop the least recently used loaded days beyond the bounds, never the
  // day just loaded; over the byte budget only days that hold bytes count
  // (dropping a day of the symbol rules frees nothing). Days being loaded
  // are not counted (their loaders hold them).
  for (;;) {
    size_t ready = 0;
    auto oldest = days_.end(), oldest_sized = days_.end();
    for (auto it = days_.begin(); it != days_.end(); ++it) {
      if (!it->second->ready) continue;
      ready++;
      if (it->second == mine) continue;
      const uint64_t used = it->second->last_used;
      if (oldest == days_.end() || used < oldest->second->last_used) oldest = it;
      if (it->second->bytes > 0 && (oldest_sized == days_.end() || used < oldest_sized->second->last_used)) {
        oldest_sized = it;
      }
    }
    auto drop = days_.end();
    if (ready > max_days_) {
      drop = oldest;
    } else if (cached_bytes_ > max_bytes_) {
      drop = oldest_sized;
    }
    if (drop == days_.end()) break;
    cached_bytes_ -= drop->second->bytes;
    days_.erase(drop);
    evictions_++;
  }
  loaded_.notify_all();
  return mine->resolver;
}

size_t StoreKeyResolvers::loads() const {
  std::lock_guard<std::mutex> l(mu_);
  return loads_;
}

size_t StoreKeyResolvers::evictions() const {
  std::lock_guard<std::mutex> l(mu_);
  return evictions_;
}

size_t StoreKeyResolvers::cached_bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return cached_bytes_;
}

Result<tardis::InstrumentKey> RowDayKeyResolver::Resolve(std::string_view exchange, std::string_view symbol) const {
  return Status::Internal("the key of " + std::string(exchange) + " " + std::string(symbol) +
                          " needs the row's day (RowDayKeyResolver::ResolveOn)");
}

Result<tardis::InstrumentKey> RowDayKeyResolver::ResolveOn(const Date& day, std::string_view exchange,
                                                           std::string_view symbol) const {
  MT_ASSIGN_OR_RETURN(std::shared_ptr<const KeyResolver> keys, days_->ForDay(day));
  return keys->Resolve(exchange, symbol);
}

Result<std::optional<ContractTerms>> RowDayKeyResolver::TermsOn(const Date& day, const std::string& key) const {
  MT_ASSIGN_OR_RETURN(std::shared_ptr<const KeyResolver> keys, days_->ForDay(day));
  return keys->TermsOn(day, key);
}

Result<bool> RowDayKeyResolver::ListsExchange(const Date& day, std::string_view exchange) const {
  MT_ASSIGN_OR_RETURN(std::shared_ptr<const KeyResolver> keys, days_->ForDay(day));
  return keys->ListsExchange(day, exchange);
}

}  // namespace mt::pipeline
