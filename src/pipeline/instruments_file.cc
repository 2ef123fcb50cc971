#include "pipeline/instruments_file.h"

#include <optional>

#include "core/packed_fields.h"

namespace mt::pipeline {

namespace {

using columnar::ColumnData;
using columnar::ColumnKind;

// Column indices, in the order of InstrumentColumns().
enum Col : size_t {
  kKey, kVenue, kType, kFrom, kTo, kDataTypes, kBase, kQuote, kSettle, kRawSymbol, kTardisSymbol,
  kTardisExchange, kProvider, kVenueType, kAssetClass, kInverse, kSymbolType, kContractType, kStrike,
  kOptionType, kExpiry, kContractSize, kTickSize, kSettlementType, kUnderlying, kMinSize, kCcxtSymbol,
  kCcxtExchange,
  // Added later: a file written before them lacks these columns, which then
  // read as null (kFirstAdded onward).
  kPriceCurrency, kAmountUnit, kAmountIncrement, kMinTradeAmount, kMinNotional, kQuanto, kUnderlyingIndex,
  kExpirationType, kActive, kListing, kAliasFor, kNumCols
};
constexpr size_t kFirstAdded = kPriceCurrency;

void Str(ColumnData* c, const std::string& v) {
  if (c->nullable) c->defined.push_back(1);
  c->str.Append(v);
}
void Str(ColumnData* c, const std::optional<std::string>& v) {
  c->defined.push_back(v ? 1 : 0);
  if (v) c->str.Append(*v); else c->null_count++;
}
void F64(ColumnData* c, const std::optional<double>& v) {
  c->defined.push_back(v ? 1 : 0);
  if (v) c->f64.push_back(*v); else c->null_count++;
}
void Ts(ColumnData* c, const std::optional<int64_t>& v) {
  if (!c->nullable) {
    c->i64.push_back(*v);
    return;
  }
  c->defined.push_back(v ? 1 : 0);
  if (v) c->i64.push_back(*v); else c->null_count++;
}
void Bool(ColumnData* c, const std::optional<bool>& v) {
  c->defined.push_back(v ? 1 : 0);
  if (v) c->b.push_back(*v ? 1 : 0); else c->null_count++;
}

}  // namespace

const std::vector<columnar::ColumnSpec>& InstrumentColumns() {
  static const std::vector<columnar::ColumnSpec> kCols = {
      {"instrument_key", ColumnKind::kString, false},
      {"venue", ColumnKind::kString, false},
      {"instrument_type", ColumnKind::kString, false},
      {"available_from_datetime", ColumnKind::kTimestampMicros, false},
      {"available_to_datetime", ColumnKind::kTimestampMicros, true},
      {"data_types", ColumnKind::kString, false},
      {"base_asset", ColumnKind::kString, false},
      {"quote_asset", ColumnKind::kString, false},
      {"settle_asset", ColumnKind::kString, true},
      {"exchange_raw_symbol", ColumnKind::kString, false},
      {"tardis_symbol", ColumnKind::kString, false},
      {"tardis_exchange", ColumnKind::kString, false},
      {"data_provider", ColumnKind::kString, false},
      {"venue_type", ColumnKind::kString, false},
      {"asset_class", ColumnKind::kString, false},
      {"inverse", ColumnKind::kBool, true},
      {"symbol_type", ColumnKind::kString, false},
      {"contract_type", ColumnKind::kString, true},
      {"strike", ColumnKind::kDouble, true},
      {"option_type", ColumnKind::kString, true},
      {"expiry", ColumnKind::kTimestampMicros, true},
      {"contract_size", ColumnKind::kDouble, true},
      {"tick_size", ColumnKind::kDouble, true},
      {"settlement_type", ColumnKind::kString, true},
      {"underlying", ColumnKind::kString, true},
      {"min_size", ColumnKind::kDouble, true},
      {"ccxt_symbol", ColumnKind::kString, true},
      {"ccxt_exchange", ColumnKind::kString, true},
      {"price_currency", ColumnKind::kString, true},
      {"amount_unit", ColumnKind::kString, true},
      {"amount_increment", ColumnKind::kDouble, true},
      {"min_trade_amount", ColumnKind::kDouble, true},
      {"min_notional", ColumnKind::kDouble, true},
      {"quanto", ColumnKind::kBool, true},
      {"underlying_index", ColumnKind::kString, true},
      {"expiration_type", ColumnKind::kString, true},
      {"active", ColumnKind::kBool, true},
      {"listing", ColumnKind::kTimestampMicros, true},
      {"alias_for", ColumnKind::kString, true},
  };
  static_assert(kNumCols == 39);
  return kCols;
}

columnar::RowGroupData EmptyInstrumentRowGroup() {
  // Columns unique to each row start as plain strings: a dictionary of them
  // never pays, and building one costs an allocation per row.
  static const std::vector<bool> kPlain = [] {
    std::vector<bool> p(kNumCols, false);
    p[kKey] = p[kRawSymbol] = p[kTardisSymbol] = p[kCcxtSymbol] = true;
    return p;
  }();
  return columnar::MakeRowGroup(InstrumentColumns(), &kPlain);
}

void AppendInstrumentRow(const InstrumentDefinition& d, columnar::RowGroupData* rg) {
  auto& c = rg->columns;
  Str(&c[kKey], d.instrument_key);
  Str(&c[kVenue], d.venue);
  Str(&c[kType], d.instrument_type);
  Ts(&c[kFrom], d.available_from_us);
  Ts(&c[kTo], d.available_to_us);
  Str(&c[kDataTypes], d.data_types);
  Str(&c[kBase], d.base_asset);
  Str(&c[kQuote], d.quote_asset);
  Str(&c[kSettle], d.settle_asset);
  Str(&c[kRawSymbol], d.exchange_raw_symbol);
  Str(&c[kTardisSymbol], d.tardis_symbol);
  Str(&c[kTardisExchange], d.tardis_exchange);
  Str(&c[kProvider], d.data_provider);
  Str(&c[kVenueType], d.venue_type);
  Str(&c[kAssetClass], d.asset_class);
  Bool(&c[kInverse], d.inverse);
  Str(&c[kSymbolType], d.symbol_type);
  Str(&c[kContractType], d.contract_type);
  F64(&c[kStrike], d.strike);
  Str(&c[kOptionType], d.option_type);
  Ts(&c[kExpiry], d.expiry_us);
  F64(&c[kContractSize], d.contract_size);
  F64(&c[kTickSize], d.tick_size);
  Str(&c[kSettlementType], d.settlement_type);
  Str(&c[kUnderlying], d.underlying);
  F64(&c[kMinSize], d.min_size);
  Str(&c[kCcxtSymbol], d.ccxt_symbol);
  Str(&c[kCcxtExchange], d.ccxt_exchange);
  Str(&c[kPriceCurrency], d.price_currency);
  Str(&c[kAmountUnit], d.amount_unit);
  F64(&c[kAmountIncrement], d.amount_increment);
  F64(&c[kMinTradeAmount], d.min_trade_amount);
  F64(&c[kMinNotional], d.min_notional);
  Bool(&c[kQuanto], d.quanto);
  Str(&c[kUnderlyingIndex], d.underlying_index);
  Str(&c[kExpirationType], d.expiration_type);
  Bool(&c[kActive], d.active);
  Ts(&c[kListing], d.listing_us);
  Str(&c[kAliasFor], d.alias_for);
  rg->num_rows++;
}

namespace {

// Every column's member of a definition, in column order, with its index.
template <typename Def, typename F>
void ForEachColumn(Def& d, F&& f) {
  f(kKey, d.instrument_key);
  f(kVenue, d.venue);
  f(kType, d.instrument_type);
  f(kFrom, d.available_from_us);
  f(kTo, d.available_to_us);
  f(kDataTypes, d.data_types);
  f(kBase, d.base_asset);
  f(kQuote, d.quote_asset);
  f(kSettle, d.settle_asset);
  f(kRawSymbol, d.exchange_raw_symbol);
  f(kTardisSymbol, d.tardis_symbol);
  f(kTardisExchange, d.tardis_exchange);
  f(kProvider, d.data_provider);
  f(kVenueType, d.venue_type);
  f(kAssetClass, d.asset_class);
  f(kInverse, d.inverse);
  f(kSymbolType, d.symbol_type);
  f(kContractType, d.contract_type);
  f(kStrike, d.strike);
  f(kOptionType, d.option_type);
  f(kExpiry, d.expiry_us);
  f(kContractSize, d.contract_size);
  f(kTickSize, d.tick_size);
  f(kSettlementType, d.settlement_type);
  f(kUnderlying, d.underlying);
  f(kMinSize, d.min_size);
  f(kCcxtSymbol, d.ccxt_symbol);
  f(kCcxtExchange, d.ccxt_exchange);
  f(kPriceCurrency, d.price_currency);
  f(kAmountUnit, d.amount_unit);
  f(kAmountIncrement, d.amount_increment);
  f(kMinTradeAmount, d.min_trade_amount);
  f(kMinNotional, d.min_notional);
  f(kQuanto, d.quanto);
  f(kUnderlyingIndex, d.underlying_index);
  f(kExpirationType, d.expiration_type);
  f(kActive, d.active);
  f(kListing, d.listing_us);
  f(kAliasFor, d.alias_for);
}

// A member appended as AppendInstrumentRow appends it.
void AppendMember(ColumnData* c, const std::string& v) { Str(c, v); }
void AppendMember(ColumnData* c, const std::optional<std::string>& v) { Str(c, v); }
void AppendMember(ColumnData* c, int64_t v) { Ts(c, v); }
void AppendMember(ColumnData* c, const std::optional<int64_t>& v) { Ts(c, v); }
void AppendMember(ColumnData* c, const std::optional<double>& v) { F64(c, v); }
void AppendMember(ColumnData* c, const std::optional<bool>& v) { Bool(c, v); }

// Whether a member holds a value (not null), and its text's bytes.
std::pair<size_t, size_t> ValueSize(const std::string& v) { return {1, v.size()}; }
std::pair<size_t, size_t> ValueSize(const std::optional<std::string>& v) { return {v ? 1 : 0, v ? v->size() : 0}; }
std::pair<size_t, size_t> ValueSize(int64_t) { return {1, 0}; }
template <typename T>
std::pair<size_t, size_t> ValueSize(const std::optional<T>& v) {
  return {v ? 1 : 0, 0};
}

// Rows of a block: the values of each column packed together.
constexpr size_t kBlockRows = 4096;

}  // namespace

SpilledInstrumentRows::SpilledInstrumentRows()
    : blobs_(std::make_unique<SpilledBlobs>()),
      block_(kNumCols),
      chunks_(kNumCols),
      values_(kNumCols, 0),
      text_bytes_(kNumCols, 0) {}

void SpilledInstrumentRows::Append(const InstrumentDefinition& d) {
  ForEachColumn(d, [&](size_t c, const auto& v) {
    const PackWriter w(&block_[c]);
    w(v);
    const auto [values, bytes] = ValueSize(v);
    values_[c] += values;
    text_bytes_[c] += bytes;
  });
  rows_++;
  if (++block_rows_ == kBlockRows) Flush();
}

void SpilledInstrumentRows::Flush() {
  for (size_t c = 0; c < kNumCols; c++) {
    chunks_[c].emplace_back(blobs_->Append(block_[c]), block_[c].size());
    block_[c].clear();
  }
  block_rows_ = 0;
}

Status SpilledInstrumentRows::Column(size_t c, columnar::ColumnData* out) const {
  // Room for the column at once: grown by doubling it would take up to
  // twice its size, and it is the largest thing held while a file is
  // written.
  if (out->nullable) out->defined.reserve(rows_);
  switch (out->kind) {
    case ColumnKind::kString: out->str.Reserve(values_[c], text_bytes_[c]); break;
    case ColumnKind::kTimestampMicros: out->i64.reserve(values_[c]); break;
    case ColumnKind::kDouble: out->f64.reserve(values_[c]); break;
    case ColumnKind::kBool: out->b.reserve(values_[c]); break;
  }
  InstrumentDefinition scratch;
  std::string bytes;
  Status st;
  ForEachColumn(scratch, [&](size_t col, auto& member) {
    if (col != c) return;
    // Decodes the values of `packed` (rows of one block) into the member,
    // appending each.
    auto append = [&](std::string_view packed, size_t rows) {
      PackReader r(packed.data());
      for (size_t i = 0; i < rows; i++) {
        r(member);
        AppendMember(out, member);
      }
    };
    for (size_t b = 0; b < chunks_[c].size(); b++) {
      if (!blobs_->Read(chunks_[c][b].first, static_cast<size_t>(chunks_[c][b].second), &bytes)) {
        st = blobs_->status();
        return;
      }
      append(bytes, kBlockRows);
    }
    append(block_[c], block_rows_);
  });
  return st;
}

columnar::RowGroupData InstrumentRowGroup(const std::vector<InstrumentDefinition>& defs) {
  columnar::RowGroupData rg = EmptyInstrumentRowGroup();
  for (const auto& d : defs) AppendInstrumentRow(d, &rg);
  return rg;
}

namespace {

// Writes one instruments file into `obj` through `write` (its row group)
// and commits it; on an error the object is aborted and the error names
// `label`. Returns the bytes written.
Result<uint64_t> WriteAndCommit(storage::WritableObject* obj, const std::string& label,
                                const std::function<Status(parquet::FileWriter*)>& write,
                                const std::vector<std::pair<std::string, std::string>>& kv,
                                const parquet::WriterOptions& opts) {
  Status st;
  {
    parquet::FileWriter writer(obj, InstrumentColumns(), opts);
    st = write(&writer);
    if (st.ok()) st = writer.Finish(kv);
  }
  if (!st.ok()) {
    obj->Abort();
    return st.WithContext(label);
  }
  const uint64_t bytes = obj->bytes_written();
  MT_RETURN_IF_ERROR(obj->Commit());
  return bytes;
}

}  // namespace

Result<uint64_t> WriteInstrumentsObject(storage::WritableObject* obj, const std::string& label,
                                        columnar::RowGroupData rows,
                                        const std::vector<std::pair<std::string, std::string>>& kv,
                                        const parquet::WriterOptions& opts) {
  return WriteAndCommit(
      obj, label, [&](parquet::FileWriter* w) { return w->WriteRowGroup(std::move(rows)); }, kv, opts);
}

Result<uint64_t> WriteInstrumentsObjectByColumn(storage::WritableObject* obj, const std::string& label, size_t num_rows,
                                                const std::function<Status(size_t, columnar::ColumnData*)>& fill,
                                                const std::vector<std::pair<std::string, std::string>>& kv,
                                                const parquet::WriterOptions& opts) {
  // One row group either way: WriteRowGroupByColumn writes WriteRowGroup's
  // bytes when the writer has no pool of threads, as here.
  parquet::WriterOptions inline_opts = opts;
  inline_opts.pool = nullptr;
  return WriteAndCommit(
      obj, label, [&](parquet::FileWriter* w) { return w->WriteRowGroupByColumn(num_rows, fill); }, kv, inline_opts);
}

Result<uint64_t> WriteInstrumentsFile(storage::ObjectStore* store, const std::string& name,
                                      columnar::RowGroupData rows,
                                      const std::vector<std::pair<std::string, std::string>>& kv,
                                      const parquet::WriterOptions& opts, bool overwrite) {
  MT_ASSIGN_OR_RETURN(std::unique_ptr<storage::WritableObject> obj, store->Create(name, overwrite));
  return WriteInstrumentsObject(obj.get(), store->Describe(name), std::move(rows), kv, opts);
}

Result<uint64_t> WriteInstrumentsFile(storage::ObjectStore* store, const std::string& name,
                                      const std::vector<InstrumentDefinition>& defs,
                                      const std::vector<std::pair<std::string, std::string>>& kv,
                                      const parquet::WriterOptions& opts, bool overwrite) {
  return WriteInstrumentsFile(store, name, InstrumentRowGroup(defs), kv, opts, overwrite);
}

std::string InstrumentsFileContents::Kv(const std::string& key) const {
  for (const auto& [k, v] : kv) {
    if (k == key) return v;
  }
  return "";
}

namespace {

parquet::PhysicalType PhysicalTypeOf(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kDouble: return parquet::PhysicalType::kDouble;
    case ColumnKind::kBool: return parquet::PhysicalType::kBoolean;
    case ColumnKind::kTimestampMicros: return parquet::PhysicalType::kInt64;
    default: return parquet::PhysicalType::kByteArray;
  }
}

}  // namespace

Result<StoredInstruments> StoredInstruments::Open(parquet::FileReader* file) {
  static_assert(kInstrumentKeyColumn == kKey && kTardisExchangeColumn == kTardisExchange);
  const auto& specs = InstrumentColumns();
  const parquet::FileMetaData& md = file->metadata();
  StoredInstruments s;
  s.file_ = file;
  s.leaf_.assign(specs.size(), -1);
  for (size_t i = 0; i < specs.size(); i++) {
    const int leaf = md.FindLeaf(specs[i].name);
    if (leaf < 0) {
      if (i >= kFirstAdded) continue;  // written before the column existed: all null
      return Status::NotFound(file->label() + ": no column '" + specs[i].name + "'")
          .WithContext(file->label() + ": column " + specs[i].name);
    }
    const auto type =
        md.schema[md.leaves[static_cast<size_t>(leaf)].schema_index].type.value_or(parquet::PhysicalType::kByteArray);
    if (type != PhysicalTypeOf(specs[i].kind)) {
      return Status::InvalidInput(file->label() + ": column " + specs[i].name +
                                  " does not have the type of an instruments file");
    }
    s.leaf_[i] = leaf;
  }
  s.num_rows_ = md.num_rows < 0 ? 0 : static_cast<size_t>(md.num_rows);
  return s;
}

const std::vector<std::pair<std::string, std::string>>& StoredInstruments::kv() const {
  return file_->metadata().key_value;
}

Result<parquet::ColumnValues> StoredInstruments::Read(size_t col) const {
  auto v = file_->ReadColumn(static_cast<size_t>(leaf_[col]));
  if (!v.ok()) return v.status().WithContext(file_->label() + ": column " + InstrumentColumns()[col].name);
  if (v->num_rows != num_rows_) return Status::InvalidInput(file_->label() + ": columns of different lengths");
  return v;
}

void AppendStoredValue(const parquet::ColumnValues* v, size_t row, columnar::ColumnData* out) {
  // A required column takes the stored value as it is (a null reads as the
  // zero value); a nullable one a null where the file has none or lacks
  // the column (only columns added later, all nullable, may be missing).
  const bool null = out->nullable && (!v || v->IsNull(row));
  if (out->nullable) {
    out->defined.push_back(null ? 0 : 1);
    if (null) {
      out->null_count++;
      return;
    }
  }
  switch (out->kind) {
    case ColumnKind::kString: out->str.Append(v->strings[row]); break;
    case ColumnKind::kTimestampMicros: out->i64.push_back(v->ints[row]); break;
    case ColumnKind::kDouble: out->f64.push_back(v->doubles[row]); break;
    case ColumnKind::kBool: out->b.push_back(v->bools[row] != 0 ? 1 : 0); break;
  }
}

void AppendAddedValue(const columnar::ColumnData& src, size_t row, size_t* value, columnar::ColumnData* out) {
  if (out->nullable) {
    const bool defined = src.defined[row] != 0;
    out->defined.push_back(defined ? 1 : 0);
    if (!defined) {
      out->null_count++;
      return;
    }
  }
  const size_t i = (*value)++;
  switch (out->kind) {
    case ColumnKind::kString: out->str.Append(src.str.Get(i)); break;
    case ColumnKind::kTimestampMicros: out->i64.push_back(src.i64[i]); break;
    case ColumnKind::kDouble: out->f64.push_back(src.f64[i]); break;
    case ColumnKind::kBool: out->b.push_back(src.b[i]); break;
  }
}

Result<InstrumentsFileContents> ReadInstrumentsFile(parquet::FileReader& file) {
  const auto& specs = InstrumentColumns();
  std::vector<parquet::ColumnValues> cols;
  cols.reserve(specs.size());
  std::vector<bool> present(specs.size(), true);
  for (size_t i = 0; i < specs.size(); i++) {
    const auto& spec = specs[i];
    auto v = file.ReadColumn(spec.name);
    if (!v.ok() && i >= kFirstAdded && v.status().code() == Status::Code::kNotFound) {
      present[i] = false;  // written before the column existed: all null
      cols.emplace_back();
      continue;
    }
    if (!v.ok()) return v.status().WithContext(file.label() + ": column " + spec.name);
    parquet::PhysicalType want = parquet::PhysicalType::kByteArray;
    switch (spec.kind) {
      case ColumnKind::kDouble: want = parquet::PhysicalType::kDouble; break;
      case ColumnKind::kBool: want = parquet::PhysicalType::kBoolean; break;
      case ColumnKind::kTimestampMicros: want = parquet::PhysicalType::kInt64; break;
      default: break;
    }
    if (v->type != want) {
      return Status::InvalidInput(file.label() + ": column " + spec.name +
                                  " does not have the type of an instruments file");
    }
    cols.push_back(std::move(v).value());
  }
  InstrumentsFileContents out;
  out.kv = file.metadata().key_value;
  const size_t rows = cols[0].num_rows;
  for (size_t i = 0; i < cols.size(); i++) {
    if (present[i] && cols[i].num_rows != rows) {
      return Status::InvalidInput(file.label() + ": columns of different lengths");
    }
  }
  out.definitions.resize(rows);
  // Each value is read once: strings are moved out of the columns.
  auto str = [&](size_t c, size_t r) { return std::move(cols[c].strings[r]); };
  auto ostr = [&](size_t c, size_t r) {
    return !present[c] || cols[c].IsNull(r) ? std::optional<std::string>()
                             : std::optional<std::string>(std::move(cols[c].strings[r]));
  };
  auto ots = [&](size_t c, size_t r) {
    return !present[c] || cols[c].IsNull(r) ? std::optional<int64_t>() : std::optional<int64_t>(cols[c].ints[r]);
  };
  auto odbl = [&](size_t c, size_t r) {
    return !present[c] || cols[c].IsNull(r) ? std::optional<double>() : std::optional<double>(cols[c].doubles[r]);
  };
  auto obool = [&](size_t c, size_t r) {
    return !present[c] || cols[c].IsNull(r) ? std::optional<bool>() : std::optional<bool>(cols[c].bools[r] != 0);
  };
  for (size_t r = 0; r < rows; r++) {
    InstrumentDefinition& d = out.definitions[r];
    d.instrument_key = str(kKey, r);
    d.venue = str(kVenue, r);
    d.instrument_type = str(kType, r);
    d.available_from_us = cols[kFrom].ints[r];
    d.available_to_us = ots(kTo, r);
    d.data_types = str(kDataTypes, r);
    d.base_asset = str(kBase, r);
    d.quote_asset = str(kQuote, r);
    d.settle_asset = ostr(kSettle, r);
    d.exchange_raw_symbol = str(kRawSymbol, r);
    d.tardis_symbol = str(kTardisSymbol, r);
    d.tardis_exchange = str(kTardisExchange, r);
    d.data_provider = str(kProvider, r);
    d.venue_type = str(kVenueType, r);
    d.asset_class = str(kAssetClass, r);
    if (!cols[kInverse].IsNull(r)) d.inverse = cols[kInverse].bools[r] != 0;
    d.symbol_type = str(kSymbolType, r);
    d.contract_type = ostr(kContractType, r);
    d.strike = odbl(kStrike, r);
    d.option_type = ostr(kOptionType, r);
    d.expiry_us = ots(kExpiry, r);
    d.contract_size = odbl(kContractSize, r);
    d.tick_size = odbl(kTickSize, r);
    d.settlement_type = ostr(kSettlementType, r);
    d.underlying = ostr(kUnderlying, r);
    d.min_size = odbl(kMinSize, r);
    d.ccxt_symbol = ostr(kCcxtSymbol, r);
    d.ccxt_exchange = ostr(kCcxtExchange, r);
    d.price_currency = ostr(kPriceCurrency, r);
    d.amount_unit = ostr(kAmountUnit, r);
    d.amount_increment = odbl(kAmountIncrement, r);
    d.min_trade_amount = odbl(kMinTradeAmount, r);
    d.min_notional = odbl(kMinNotional, r);
    d.quanto = obool(kQuanto, r);
    d.underlying_index = ostr(kUnderlyingIndex, r);
    d.expiration_type = ostr(kExpirationType, r);
    d.active = obool(kActive, r);
    d.listing_us = ots(kListing, r);
    d.alias_for = ostr(kAliasFor, r);
  }
  return out;
}

}  // namespace mt::pipeline
