// Canonical instrument definitions (docs/INSTRUMENTS.md) from Tardis metadata: every
// dataset symbol of /v1/exchanges/{exchange} becomes one instrument with a
// key, availability window and the data types Tardis lists for it, enriched
// with /v1/instruments terms when those were fetched. Grouped symbols
// (OPTIONS, PERPETUALS, ...) are files of many instruments, not instruments:
// they are kept aside (the converter splits their files per instrument). A symbol
// whose key cannot be derived is rejected with the reason, never keyed by a
// guess. Pure functions of their inputs: no I/O.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/spilled_blobs.h"
#include "core/status.h"
#include "core/time_util.h"
#include "tardis/instrument_key.h"
#include "tardis/metadata.h"

namespace mt::pipeline {

// One row of instruments.parquet; member order is column order.
struct InstrumentDefinition {
  std::string instrument_key, venue, instrument_type;
  int64_t available_from_us = 0;
  std::optional<int64_t> available_to_us;  // exclusive end; none: still available
  std::string data_types;                  // comma separated, sorted
  std::string base_asset, quote_asset;
  std::optional<std::string> settle_asset;
  std::string exchange_raw_symbol, tardis_symbol, tardis_exchange;
  std::string data_provider, venue_type, asset_class;
  std::optional<bool> inverse;
  std::string symbol_type;
  std::optional<std::string> contract_type;
  std::optional<double> strike;
  std::optional<std::string> option_type;
  std::optional<int64_t> expiry_us;
  std::optional<double> contract_size, tick_size;
  std::optional<std::string> settlement_type, underlying;
  std::optional<double> min_size;
  std::optional<std::string> ccxt_symbol, ccxt_exchange;
  // Columns added with the contract terms of every venue (docs/INSTRUMENTS.md,
  // Columns 29-39); files written before them read these as null.
  std::optional<std::string> price_currency, amount_unit;
  std::optional<double> amount_increment, min_trade_amount, min_notional;
  std::optional<bool> quanto;
  std::optional<std::string> underlying_index, expiration_type;
  std::optional<bool> active;
  std::optional<int64_t> listing_us;
  std::optional<std::string> alias_for;
};

// A grouped dataset symbol (OPTIONS, PERPETUALS, FUTURES, SPOT, COMBOS).
struct GroupedSymbol {
  std::string exchange;
  tardis::DatasetSymbol symbol;
};

struct RejectedSymbol {
  std::string exchange, symbol, reason;
};

// An instrument of the catalog: what does not change from day to day, plus
// the metadata record (if any) whose `changes` give the terms of each day.
// The definition is held packed (its fields in member order, strings
// length-prefixed, numbers as their bytes), with the key and the record
// when there is one, in the catalog's SpilledBlobs (most of them in a
// temporary file), and decoded when read: a listing of every option a venue
// ever listed has hundreds of thousands of entries, and even their packed
// bytes grow with it. In memory: where its bytes are, and the availability
// (the day filter) and whether its key may change (AsOf), read without
// decoding. Entries may be read from many threads at once.
class CatalogEntry {
 public:
  CatalogEntry() = default;
  // `key` and `record` are kept only with a record (AsOf keys a day by the
  // terms of its changes). `blobs`: where the packed bytes go (null: a
  // store of the entry's own, in memory).
  CatalogEntry(const tardis::InstrumentKey& key, const InstrumentDefinition& base,
               const tardis::InstrumentInfo* record = nullptr, std::shared_ptr<SpilledBlobs> blobs = nullptr);

  // Terms as of now.
  InstrumentDefinition base() const;
  // The same into `d`, reusing its strings' storage; with a record also its
  // key and the record, when those are not null. Bytes that could not be
  // read back give an empty definition (the blobs' status() says so).
  void Decode(InstrumentDefinition* d, tardis::InstrumentKey* key = nullptr,
              tardis::InstrumentInfo* record = nullptr) const;
  void DecodeBase(InstrumentDefinition* d) const { Decode(d); }
  // The key and dataset symbol of the base definition, decoded from the
  // packed bytes (FinishCatalog reads them once for its sort).
  void KeyAndSymbol(std::string* key, std::string* symbol) const;
  std::string instrument_key() const;
  std::string tardis_symbol() const;
  std::string tardis_exchange() const;
  int64_t available_from_us() const { return available_from_us_; }
  std::optional<int64_t> available_to_us() const {
    return has_to_ ? std::optional<int64_t>(available_to_us_) : std::nullopt;
  }
  // Whether the record of this entry is kept (only one with `changes`).
  bool has_record() const { return has_record_; }
  // Whether those changes touch what its key is made of.
  bool key_may_change() const { return key_may_change_; }
  // Bytes held by the packed definition, key and record (for tests of the bound).
  size_t packed_bytes() const { return size_; }

 private:
  bool Packed(std::string* out) const;
  std::shared_ptr<SpilledBlobs> blobs_;
  uint64_t offset_ = 0;
  uint32_t size_ = 0;
  bool has_to_ = false, has_record_ = false, key_may_change_ = false;
  int64_t available_from_us_ = 0, available_to_us_ = 0;
};

struct Catalog {
  std::vector<CatalogEntry> entries;  // sorted by instrument_key
  std::vector<GroupedSymbol> grouped;
  std::vector<RejectedSymbol> rejected;
  std::vector<std::string> warnings;  // e.g. metadata and symbol disagree
  // Exchanges some of whose symbols were rejected by a run without a key
  // (CatalogOptions::without_key), so without the instrument metadata that
  // keys most of what the symbol rules cannot: the files record it
  // (ExchangeSource::needs_key) and a later run with a key redoes them.
  std::set<std::string> need_metadata;
  // Where AddExchange puts the entries' packed bytes.
  std::shared_ptr<SpilledBlobs> blobs = std::make_shared<SpilledBlobs>();
};

struct CatalogOptions {
  std::vector<std::string> quotes;  // keep only these quote assets; empty: all
  // Looked at before each symbol: once set, AddExchange returns with the
  // exchange's instruments not all added (the caller, whose flag it is,
  // drops the catalog). A listing of many options takes seconds.
  const std::atomic<bool>* stop = nullptr;
  // No TARDIS_API_KEY, so no /v1/instruments: an exchange with rejected
  // symbols goes to Catalog::need_metadata.
  bool without_key = false;
};

// Adds the instruments of one exchange to `catalog`. `instruments` is null
// when /v1/instruments was not fetched.
void AddExchange(const tardis::ExchangeDetails& details, const tardis::PackedInstruments* instruments,
                 const CatalogOptions& opts, Catalog* catalog);
// The same with the records unpacked.
void AddExchange(const tardis::ExchangeDetails& details, const std::vector<tardis::InstrumentInfo>* instruments,
                 const CatalogOptions& opts, Catalog* catalog);
inline void AddExchange(const tardis::ExchangeDetails& details, std::nullptr_t, const CatalogOptions& opts,
                        Catalog* catalog) {
  AddExchange(details, static_cast<const tardis::PackedInstruments*>(nullptr), opts, catalog);
}

// Sorts the entries by key and rejects the second of two symbols that
// derive the same key (either key would be a guess), unless one is an
// inverse and the other a linear contract: the second is then keyed with
// the variant tag of its kind, INVERSE or LINEAR (the first keeps the key it
// had before this rule).
void FinishCatalog(Catalog* catalog);

// Whether [from, to) overlaps the UTC day `day`.
bool OverlapsDay(int64_t from_us, const std::optional<int64_t>& to_us, const Date& day);

// The definitions of day `day`: instruments whose availability overlaps it,
// with the contract terms in force at the start of that day, in key order.
std::vector<InstrumentDefinition> DefinitionsForDay(const Catalog& catalog, const Date& day);

// One definition per instrument available on any day of [from, to], with
// the terms in force on the last such day, in key order.
std::vector<InstrumentDefinition> DefinitionsForRange(const Catalog& catalog, const Date& from, const Date& to);

// The same definitions handed to `fn` one at a time without copies (a year
// of days times thousands of instruments adds up). The reference is valid
// only during the call. A `stop` flag (when given) is looked at before each
// instrument: once it is set no more definitions are given (the caller,
// which set it, knows they are not all there).
using DefinitionFn = std::function<void(const InstrumentDefinition&)>;
void ForEachOnDay(const Catalog& catalog, const Date& day, const DefinitionFn& fn,
                  const std::atomic<bool>* stop = nullptr);
void ForEachInRange(const Catalog& catalog, const Date& from, const Date& to, const DefinitionFn& fn,
                    const std::atomic<bool>* stop = nullptr);

// Venue facts that do not depend on the symbol.
std::string VenueType(const std::string& exchange);     // exchange | protocol
std::string CcxtExchange(const std::string& exchange);  // binanceusdm, okx, ...; "" if none

}  // namespace mt::pipeline
