// Instrument keys from one source for every command that names objects
// (convert, download, validate), so the three agree on every key. With the
// day's instrument definitions in the store
// (instrument_availability/by_date/day-D/instruments.parquet, written by
// `market-tick instruments`) a symbol is keyed as its definition row says;
// a symbol the definitions do not list falls back to the venue's symbol
// rule, which refuses to guess a type (tardis::KeyFromTardisSymbol).
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/time_util.h"
#include "parquet/file_reader.h"
#include "pipeline/tick_converter.h"
#include "storage/object_store.h"
#include "tardis/instrument_key.h"

namespace mt::pipeline {

// The venue's symbol rules alone: what every command uses without
// definitions.
class RuleKeyResolver : public KeyResolver {
 public:
  Result<tardis::InstrumentKey> Resolve(std::string_view exchange, std::string_view symbol) const override;
  Result<bool> ListsExchange(const Date& day, std::string_view exchange) const override;
};

// One day's instrument definitions. Thread-safe after construction.
class DefinitionKeyResolver : public KeyResolver {
 public:
  // One definitions row: the columns the keys need.
  struct Row {
    std::string exchange;     // tardis_exchange
    std::string symbol;       // tardis_symbol (the dataset symbol)
    std::string raw_symbol;   // exchange_raw_symbol (may be lower case)
    std::string key;          // instrument_key
    std::string base, quote;  // base_asset, quote_asset
    // contract_size, inverse, tick_size, price_currency, settle_asset,
    // amount_unit (initialised so aggregate initialisers may leave it out)
    ContractTerms terms = {};
  };

  DefinitionKeyResolver(Date day, const std::vector<Row>& rows);
  // Reads the rows of a definitions file (columns tardis_exchange,
  // tardis_symbol, exchange_raw_symbol, instrument_key, base_asset,
  // quote_asset; and the terms' columns where the file has them: a file
  // written before a column existed gives no value for it).
  static Result<std::unique_ptr<DefinitionKeyResolver>> Load(parquet::FileReader& file, Date day);

  // The definition's key for (exchange, symbol), matched by dataset symbol,
  // then by the exchange's own symbol, both upper-cased. A symbol the day's
  // definitions do not list gets the symbol rule's key; a concatenated spot
  // symbol (Binance BTCAEUR) then takes the split whose two currencies the
  // venue's definitions know (as the base or quote of any of its
  // instruments), when the rule's split is not such a split and exactly one
  // other is (BTC-AEUR rather than the rule's BTCA-EUR).
  Result<tardis::InstrumentKey> Resolve(std::string_view exchange, std::string_view symbol) const override;

  // The definition row's terms of the instrument keyed `key` (the day is
  // this resolver's); none when the definitions do not list the key.
  Result<std::optional<ContractTerms>> TermsOn(const Date& day, const std::string& key) const override;

  // Whether the definitions hold an instrument of `exchange` (any day: a
  // resolver of one day).
  Result<bool> ListsExchange(const Date& day, std::string_view exchange) const override;

  size_t size() const { return keys_.size(); }
  // An estimate of the heap this resolver holds (its maps' nodes and the
  // strings too long to be stored inline), for the cache's byte budget.
  size_t MemoryBytes() const { return bytes_; }

 private:
  Date day_;
  size_t bytes_ = sizeof(DefinitionKeyResolver);
  std::map<std::string, ContractTerms> terms_;  // instrument_key -> its terms (those with any known)
  std::map<std::pair<std::string, std::string>, std::string> keys_;  // (exchange, SYMBOL) -> key
  std::map<std::string, std::set<std::string>> currencies_;  // bases and quotes, per exchange
  std::set<std::string, std::less<>> exchanges_;               // every exchange of a row
};

// The resolvers of a store, one per day, each loaded on first use. A few
// days are kept (the least recently used beyond `max_days`, or beyond
// `max_bytes` of estimated resolver memory, are dropped): downloads and
// validation go roughly in day order, and a year of days held at once would
// grow with the date range; a day of a venue listing many instruments (tens
// of thousands of options) is large enough that a few such days beside a
// conversion would break the memory bound, so the byte budget keeps fewer of
// them. The day just loaded is never dropped by its own load (its caller
// holds it anyway). A day is loaded outside the lock,
// so workers needing other days do not wait on one store read; workers
// needing the same day wait for its one load. Thread-safe.
class StoreKeyResolvers {
 public:
  static constexpr size_t kDefaultMaxDays = 4;
  static constexpr size_t kDefaultMaxBytes = size_t{48} << 20;
  // `store` may be null (no store: the symbol rules for every day).
  explicit StoreKeyResolvers(storage::ObjectStore* store, size_t max_days = kDefaultMaxDays,
                             size_t max_bytes = kDefaultMaxBytes)
      : store_(store), max_days_(max_days < 1 ? 1 : max_days), max_bytes_(max_bytes) {}

  // The day's definitions when the store has a definitions file for it, else
  // the symbol rules. A definitions file that cannot be read is an error
  // (retryable when the store's read was), never a silent switch to the
  // rules, which could key some symbols differently; it is not remembered,
  // so a later call reads again. The resolver stays valid while the caller
  // holds it, even after the day is dropped from the cache.
  Result<std::shared_ptr<const KeyResolver>> ForDay(const Date& day);

  // Store reads done (days loaded, with or without definitions), days
  // dropped from the cache, and the estimated bytes of the days cached, for
  // tests and logs.
  size_t loads() const;
  size_t evictions() const;
  size_t cached_bytes() const;

 private:
  struct Entry {
    bool ready = false;  // false: one thread is loading it
    std::shared_ptr<const KeyResolver> resolver;
    size_t bytes = 0;  // the resolver's MemoryBytes (0 for the rules)
    uint64_t last_used = 0;
  };
  struct Loaded {
    std::shared_ptr<const KeyResolver> resolver;
    size_t bytes = 0;
  };
  Result<Loaded> Load(const Date& day);

  storage::ObjectStore* store_;
  size_t max_days_, max_bytes_;
  size_t cached_bytes_ = 0;  // sum of the ready entries' bytes
  std::shared_ptr<const KeyResolver> rules_ = std::make_shared<RuleKeyResolver>();
  mutable std::mutex mu_;
  std::condition_variable loaded_;
  std::map<Date, std::shared_ptr<Entry>> days_;
  uint64_t clock_ = 0;
  size_t loads_ = 0, evictions_ = 0;
};

// Keys each row from the definitions of the row's own day (ResolveOn), for a
// file whose name gives no day: it is filed under its rows' days, so it must
// be keyed by them too. Resolve without a day is an error (a caller that
// does not pass the day would silently key by the wrong day otherwise).
class RowDayKeyResolver : public KeyResolver {
 public:
  explicit RowDayKeyResolver(StoreKeyResolvers* days) : days_(days) {}
  Result<tardis::InstrumentKey> Resolve(std::string_view exchange, std::string_view symbol) const override;
  Result<tardis::InstrumentKey> ResolveOn(const Date& day, std::string_view exchange,
                                          std::string_view symbol) const override;
  // The terms from the definitions of `day`.
  Result<std::optional<ContractTerms>> TermsOn(const Date& day, const std::string& key) const override;
  // Whether the definitions of `day` list the exchange.
  Result<bool> ListsExchange(const Date& day, std::string_view exchange) const override;

 private:
  StoreKeyResolvers* days_;
};

}  // namespace mt::pipeline
