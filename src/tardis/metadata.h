// Tardis metadata responses (docs/INSTRUMENTS.md, Requests) parsed into plain
// structs: GET /v1/exchanges/{exchange} (what datasets exist, per symbol and
// data type) and GET /v1/instruments/{exchange} (contract terms). Parsing is
// pure: no I/O, no exceptions out; unknown fields are ignored, numbers given
// as strings are accepted (Tardis sends some that way), and a malformed
// record is an error naming the record and the field.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/spilled_blobs.h"
#include "core/status.h"

namespace mt::tardis {

// One entry of `datasets.symbols[]`: a symbol that has downloadable files.
struct DatasetSymbol {
  std::string id;    // dataset symbol as used in URLs: BTCUSDT, BTC-PERPETUAL, OPTIONS
  std::string type;  // spot | future | perpetual | option | combo | prediction
  int64_t available_since_us = 0;
  std::optional<int64_t> available_to_us;  // exclusive end; none: still collected
  std::vector<std::string> data_types;     // as listed (trades, quotes, ...)
};

// The dataset symbols of a listing, in the order listed, held packed
// (core/packed_fields.h) in a SpilledBlobs (most of them in a temporary
// file): a listing of every option a venue ever listed has hundreds of
// thousands of them. A symbol is decoded when read: operator[] and the
// iterator give values (the iterator reads the symbols in order through a
// window of the file). Reads that fail give empty symbols, and status() says
// so.
class DatasetSymbols {
 public:
  DatasetSymbols();
  DatasetSymbols(std::initializer_list<DatasetSymbol> symbols);
  void push_back(const DatasetSymbol& s);
  size_t size() const { return offsets_.size(); }
  bool empty() const { return offsets_.empty(); }
  DatasetSymbol operator[](size_t i) const;
  // Frees every symbol.
  void Clear();
  Status status() const { return blobs_->status(); }
  const std::string& note() const { return blobs_->note(); }

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = DatasetSymbol;
    using difference_type = std::ptrdiff_t;
    using pointer = const DatasetSymbol*;
    using reference = const DatasetSymbol&;
    Iterator(const DatasetSymbols* s, size_t i) : s_(s), i_(i) { Load(); }
    const DatasetSymbol& operator*() const { return current_; }
    const DatasetSymbol* operator->() const { return &current_; }
    Iterator& operator++() {
      i_++;
      Load();
      return *this;
    }
    bool operator==(const Iterator& o) const { return i_ == o.i_; }
    bool operator!=(const Iterator& o) const { return i_ != o.i_; }

   private:
    void Load();
    const DatasetSymbols* s_;
    size_t i_;
    DatasetSymbol current_;
    std::string window_;     // bytes of the symbols from window_at_
    uint64_t window_at_ = 0;
  };
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size()); }

 private:
  uint64_t End(size_t i) const { return i + 1 < offsets_.size() ? offsets_[i + 1] : blobs_->size(); }
  std::shared_ptr<SpilledBlobs> blobs_;
  std::vector<uint64_t> offsets_;  // where each symbol starts in blobs_
};

// One entry of `incidentReports`: a period Tardis reports data missing or
// degraded for the exchange.
struct IncidentReport {
  int64_t from_us = 0, to_us = 0;  // [from, to)
  std::string status;              // resolved | wontfix | unresolved
  std::string details;
};

struct ExchangeDetails {
  std::string id, name;
  bool enabled = true, delisted = false;
  int64_t available_since_us = 0;
  std::optional<int64_t> available_to_us;
  std::optional<int64_t> exported_from_us, exported_until_us;
  bool has_datasets = false;  // false: the response had no `datasets` object
  DatasetSymbols symbols;
  std::vector<IncidentReport> incidents;  // incidentReports, as listed
};

// A response body that is read piece by piece from its start, not held
// whole: a venue's /v1/instruments may be hundreds of MB. In a temporary
// file (pipeline::MetadataSource spools large bodies) or in memory.
class JsonBody {
 public:
  virtual ~JsonBody() = default;
  virtual uint64_t size() const = 0;
  // Bytes [at, at + n), clipped to size(); an error when they cannot be read.
  virtual Result<std::string> ReadAt(uint64_t at, size_t n) const = 0;
  // A reader of the whole body from its start, one piece a call, "" at its
  // end (as ParseBoundedJsonPieces takes it).
  std::function<Result<std::string>()> Pieces(size_t piece_bytes = size_t{1} << 18) const;
};

// The body in memory.
class StringJsonBody : public JsonBody {
 public:
  explicit StringJsonBody(std::string text) : text_(std::move(text)) {}
  uint64_t size() const override { return text_.size(); }
  Result<std::string> ReadAt(uint64_t at, size_t n) const override;

 private:
  std::string text_;
};

// The body in an open file of `size` bytes (closed with the body): an
// unnamed temporary file, gone with its descriptor.
class FileJsonBody : public JsonBody {
 public:
  FileJsonBody(int fd, uint64_t size) : fd_(fd), size_(size) {}
  ~FileJsonBody() override;
  FileJsonBody(const FileJsonBody&) = delete;
  FileJsonBody& operator=(const FileJsonBody&) = delete;
  uint64_t size() const override { return size_; }
  Result<std::string> ReadAt(uint64_t at, size_t n) const override;

 private:
  int fd_;
  uint64_t size_;
};

// `json` is the response body of /v1/exchanges/{exchange}; `exchange` the id
// that was asked for (a response for another id is an error).
Result<ExchangeDetails> ParseExchangeDetails(std::string_view json, std::string_view exchange);
// The same, the body read piece by piece: the same result, the same errors
// (and the error of a body that cannot be read).
Result<ExchangeDetails> ParseExchangeDetails(const JsonBody& json, std::string_view exchange);

// Contract terms that /v1/instruments records may change over time
// (`changes[]` entries carry the values in force before their `until`).
struct InstrumentTerms {
  std::optional<double> price_increment, amount_increment, min_trade_amount, contract_multiplier, min_notional;
  std::optional<bool> inverse, quanto;
  std::optional<std::string> settlement_currency, contract_type, underlying_index, quote_currency, type;
  std::optional<std::string> alias_for;  // aliasFor: the id of the instrument an alias points to
  std::optional<int64_t> expiry_us;
};

struct InstrumentChange {
  int64_t until_us = 0;
  InstrumentTerms terms;  // only the fields the entry names are set
};

// One /v1/instruments record.
struct InstrumentInfo {
  std::string id;          // exchange-native symbol (may be lower case: binance btcusdt)
  std::string dataset_id;  // dataset symbol; empty when Tardis gave none
  std::string exchange;
  std::string base_currency, quote_currency;  // normalised by Tardis (XBT -> BTC)
  std::string type;                           // as DatasetSymbol::type
  bool active = false;
  int64_t available_since_us = 0;
  std::optional<int64_t> available_to_us, listing_us;
  std::optional<double> strike_price;
  std::string option_type;  // call | put | ""
  std::string underlying_type;
  std::string expiration_type;  // daily | weekly | next_week | quarter | next_quarter | ""
  InstrumentTerms terms;                  // current values
  std::vector<InstrumentChange> changes;  // sorted by until, ascending

  // The dataset symbol this record describes: datasetId, else the id
  // normalised as the official clients do (upper case, '/' and ':' as '-').
  std::string DatasetSymbolId() const;
  // Terms in force at time `t_us`: the current values, overridden per field
  // by the earliest change whose `until` is after `t_us`.
  InstrumentTerms TermsAt(int64_t t_us) const;
};

// `json` is an array of records (GET /v1/instruments/{exchange}) or one
// record (GET /v1/instruments/{exchange}/{symbol}). Records are converted as
// they are parsed, so a large response never exists twice in memory.
Result<std::vector<InstrumentInfo>> ParseInstruments(std::string_view json);

// /v1/instruments records held packed (core/packed_fields.h), one string
// each, in the order given, in a SpilledBlobs (most of them in a temporary
// file): a venue's listing of every option it ever listed is hundreds of
// thousands of records, and a record's fixed members alone are larger than
// its packed bytes. Decoded one at a time when read. Reads of a record
// whose temporary file failed give an empty record, and status() says so.
class PackedInstruments {
 public:
  PackedInstruments();
  explicit PackedInstruments(const std::vector<InstrumentInfo>& records);
  void Reserve(size_t n) { offsets_.reserve(n); }
  void Add(const InstrumentInfo& info);
  size_t size() const { return offsets_.size(); }
  bool empty() const { return offsets_.empty(); }
  size_t capacity() const { return offsets_.capacity(); }
  // Record i into `out` (its strings' storage reused).
  void Get(size_t i, InstrumentInfo* out) const;
  InstrumentInfo Get(size_t i) const;
  // Record i's exchange and DatasetSymbolId, without decoding the rest.
  std::string exchange(size_t i) const;
  std::string DatasetSymbolId(size_t i) const;
  // Frees every record.
  void Clear();
  // The first failure to read a record back, else OK.
  Status status() const;
  // Why the records stayed in memory ("" when they did not).
  std::string note() const;

 private:
  // Record i's packed bytes into *out; false when they could not be read.
  bool Packed(size_t i, std::string* out) const;
  std::shared_ptr<SpilledBlobs> blobs_;
  std::vector<uint64_t> offsets_;  // where each record starts in blobs_
};

// Packs `info` as PackedInstruments holds it, appended to *out; and decodes
// what it packed.
void PackInstrument(const InstrumentInfo& info, std::string* out);
void UnpackInstrument(std::string_view packed, InstrumentInfo* out);

// ParseInstruments, each record packed as it is converted.
Result<PackedInstruments> ParseInstrumentsPacked(std::string_view json);
// The same, the body read piece by piece: the same records, the same errors
// (and the error of a body that cannot be read).
Result<PackedInstruments> ParseInstrumentsPacked(const JsonBody& json);

// ISO-8601 UTC timestamps as Tardis writes them (2019-03-30T00:00:00.000Z),
// also with more or fewer fraction digits, "+00:00", or a bare date.
std::optional<int64_t> ParseIsoMicros(std::string_view s);

// The official clients' symbol normalisation: '/' and ':' become '-', then
// upper case (btc/usd:perp -> BTC-USD-PERP).
std::string NormalizeDatasetSymbol(std::string_view s);

}  // namespace mt::tardis
