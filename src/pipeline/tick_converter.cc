#include "pipeline/tick_converter.h"

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <unordered_map>

#include "storage/layout.h"
#include "tardis/instrument_key.h"

namespace mt::pipeline {

using parquet::ColumnData;
using parquet::ColumnKind;
using parquet::RowGroupData;

namespace {

// Column indices every Tardis schema shares.
constexpr size_t kExchangeCol = 0, kSymbolCol = 1, kLocalTsCol = 3;

// SOURCE_DATE_EPOCH (the reproducible-builds convention) pins created_at, so
// two runs over the same input give byte-identical files.
std::string NowIso() {
  if (const char* sde = std::getenv("SOURCE_DATE_EPOCH"); sde && *sde) {
    return FormatIsoMicros(std::strtoll(sde, nullptr, 10) * 1000000);
  }
  const auto now = std::chrono::system_clock::now();
  return FormatIsoMicros(
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count());
}

// Copies row `r` (value cursor per column in `cursor`) of `src` to `dst`.
void AppendRow(const RowGroupData& src, size_t r, std::vector<size_t>* cursor, RowGroupData* dst) {
  for (size_t c = 0; c < src.columns.size(); c++) {
    const ColumnData& s = src.columns[c];
    ColumnData& d = dst->columns[c];
    if (!s.IsDefined(r)) {
      d.AddNull(dst->num_rows);
      continue;
    }
    d.AddDefined();
    const size_t v = (*cursor)[c]++;
    switch (s.kind) {
      case ColumnKind::kTimestampMicros: d.i64.push_back(s.i64[v]); break;
      case ColumnKind::kDouble: d.f64.push_back(s.f64[v]); break;
      case ColumnKind::kBool: d.b.push_back(s.b[v]); break;
      case ColumnKind::kString: d.str.Append(s.str.Get(v)); break;
    }
  }
  dst->num_rows++;
}

}  // namespace

class TickConverter::Impl : public io::ChunkSink, public tardis::BatchSink {
 public:
  Impl(SourceHints hints, ConvertTarget target, ConvertSettings settings)
      : hints_(std::move(hints)), target_(std::move(target)), settings_(std::move(settings)) {
    parser_ = std::make_unique<tardis::ParallelCsvParser>(
        hints_.source, hints_.data_type, this, settings_.parser,
        settings_.parallel_parse ? settings_.writer.pool : nullptr);
    decomp_ = io::NewDecompressor(hints_.source, this, settings_.gzip);
  }
  ~Impl() override { Abort(); }

  Status Write(const uint8_t* data, size_t n) {
    if (!status_.ok()) return status_;
    return status_ = decomp_->Write(data, n);
  }

  Result<std::vector<OutputFile>> Finish() {
    if (status_.ok()) status_ = decomp_->Finish();
    if (!status_.ok()) {
      Abort();
      return status_;
    }
    status_ = parser_->Finish();
    if (status_.ok() && parser_->rows() == 0 && !single_) status_ = CreateZeroRowOutput();
    if (status_.ok()) status_ = FlushAll();
    for (BatchObserver* o : target_.observers) {  // observers: derived data
      if (status_.ok()) status_ = o->Finish();
    }
    std::vector<OutputFile> outputs;
    for (auto& [key, out] : outputs_) {
      if (!status_.ok()) break;
      status_ = FinishOutput(out.get());
      if (status_.ok() && !out->exists) outputs.push_back(out->info);
    }
    if (!status_.ok()) {
      Abort();
      return status_;
    }
    outputs_.clear();
    return outputs;
  }

  void Abort() {
    parser_->Stop();  // no pool thread may hand over rows while outputs go away
    for (BatchObserver* o : target_.observers) o->Abort();  // observers: derived data
    for (auto& [key, out] : outputs_) {
      out->writer.reset();
      if (out->object) out->object->Abort();
    }
    outputs_.clear();
    single_ = nullptr;
    fixed_ = nullptr;
  }

  uint64_t bytes_in() const { return decomp_->bytes_in(); }
  uint64_t bytes_out() const { return decomp_->bytes_out(); }
  uint64_t rows() const { return parser_->rows(); }

  // io::ChunkSink
  Status OnData(const char* data, size_t n) override { return parser_->Feed(data, n); }
  char* OutputBuffer(size_t* capacity) override { return parser_->OutputBuffer(capacity); }

  // tardis::BatchSink
  Status OnSchema(const tardis::DataTypeSchema& schema) override {
    schema_ = &schema;
    pq_schema_ = schema.ParquetSchema();
    for (BatchObserver* o : target_.observers) MT_RETURN_IF_ERROR(o->OnSchema(schema));  // observers
    if (!target_.single_file.empty()) {
      MT_ASSIGN_OR_RETURN(single_, OpenOutput("", target_.single_file, true));
    }
    return Status::OK();
  }

  Status OnBatch(RowGroupData batch) override {
    for (BatchObserver* o : target_.observers) MT_RETURN_IF_ERROR(o->OnBatch(batch));  // observers
    if (single_) return WriteTo(single_, std::move(batch));
    if (!target_.fixed_object.empty()) {
      MT_ASSIGN_OR_RETURN(Output * out, FixedOutput());
      return WriteTo(out, std::move(batch));
    }
    const auto& ex = batch.columns[kExchangeCol].str;
    const auto& sym = batch.columns[kSymbolCol].str;
    if (ex.dict_mode() && sym.dict_mode() && ex.dict().size() == 1 && sym.dict().size() == 1) {
      MT_ASSIGN_OR_RETURN(Output * out, OutputFor(ex.dict()[0], sym.dict()[0],
                                                  batch.columns[kLocalTsCol].i64.front()));
      return WriteTo(out, std::move(batch));
    }
    return Split(batch);
  }

 private:
  struct Output {
    std::unique_ptr<storage::WritableObject> object;
    std::unique_ptr<parquet::FileWriter> writer;
    RowGroupData pending;  // rows of a grouped file waiting for a full row group
    OutputFile info;
    bool exists = false;   // create-only target already there: rows are dropped
    std::string exchange, symbol;
    int64_t first_ts = 0, last_ts = 0;
  };

  Result<Output*> OpenOutput(const std::string& key, const std::string& name, bool single) {
    auto out = std::make_unique<Output>();
    Result<std::unique_ptr<storage::WritableObject>> obj =
        single ? storage::CreateLocalFile(name, target_.overwrite) : target_.store->Create(name, target_.overwrite);
    out->info.name = single ? name : target_.store->Describe(name);
    out->info.instrument_key = key;
    if (!obj.ok() && obj.status().code() == Status::Code::kAlreadyExists) {
      // Create-only and already done (an earlier run of a grouped file): its
      // rows are read and dropped, the object is kept as it is.
      out->exists = true;
    } else {
      if (!obj.ok()) return obj.status();
      out->object = std::move(obj).value();
      out->writer = std::make_unique<parquet::FileWriter>(out->object.get(), pq_schema_,
                                                          settings_.writer);
    }
    out->pending = parquet::MakeRowGroup(pq_schema_);
    Output* raw = out.get();
    outputs_.emplace(single ? std::string("\x01single") : key, std::move(out));
    return raw;
  }

  Result<Output*> OutputFor(const std::string& exchange, const std::string& symbol,
                            int64_t first_local_ts) {
    const std::string id = exchange + '\x1f' + symbol;
    auto cached = by_symbol_.find(id);
    if (cached != by_symbol_.end()) return cached->second;
    const Date day = hints_.day ? *hints_.day : DateFromMicros(first_local_ts);
    auto key = target_.keys ? target_.keys->ResolveOn(day, exchange, symbol)
                            : tardis::KeyFromTardisSymbol(exchange, symbol);
    if (!key.ok()) return key.status().WithContext(hints_.source);
    const std::string key_str = key->ToString();
    const std::string name = storage::TickObjectName(day, schema_->name, key_str);
    MT_ASSIGN_OR_RETURN(Output * out, OpenOutput(key_str, name, false));
    out->exchange = exchange;
    out->symbol = symbol;
    by_symbol_.emplace(id, out);
    return out;
  }

  Result<Output*> FixedOutput() {
    if (!fixed_) {
      MT_ASSIGN_OR_RETURN(fixed_, OpenOutput(target_.fixed_key, target_.fixed_object, false));
      fixed_->exchange = hints_.exchange;
      fixed_->symbol = hints_.symbol;
    }
    return fixed_;
  }

  Status WriteTo(Output* out, RowGroupData batch) {
    if (batch.num_rows == 0) return Status::OK();
    const auto& ts = batch.columns[kLocalTsCol].i64;
    const auto [lo, hi] = std::minmax_element(ts.begin(), ts.end());
    if (out->info.rows == 0) {
      out->first_ts = ts.front();
      out->info.min_local_ts = *lo;
      out->info.max_local_ts = *hi;
    }
    out->info.min_local_ts = std::min(out->info.min_local_ts, *lo);
    out->info.max_local_ts = std::max(out->info.max_local_ts, *hi);
    out->last_ts = ts.back();
    out->info.rows += batch.num_rows;
    if (out->exchange.empty()) {
      out->exchange = std::string(batch.columns[kExchangeCol].str.Get(0));
      out->symbol = std::string(batch.columns[kSymbolCol].str.Get(0));
    }
    if (out->exists) return Status::OK();
    return out->writer->WriteRowGroup(std::move(batch));
  }

  // Rows of many instruments (grouped files such as OPTIONS): route each row
  // to its instrument's pending row group.
  Status Split(const RowGroupData& batch) {
    const auto& ex = batch.columns[kExchangeCol].str;
    const auto& sym = batch.columns[kSymbolCol].str;
    std::vector<size_t> cursor(batch.columns.size(), 0);
    for (size_t r = 0; r < batch.num_rows; r++) {
      MT_ASSIGN_OR_RETURN(Output * out, OutputFor(std::string(ex.Get(r)), std::string(sym.Get(r)),
                                                  batch.columns[kLocalTsCol].i64[r]));
      AppendRow(batch, r, &cursor, &out->pending);
      if (out->pending.num_rows >= settings_.parser.batch_rows) MT_RETURN_IF_ERROR(FlushPending(out));
    }
    // Bound memory across instruments: flush the largest buffers first.
    size_t total = 0;
    std::vector<std::pair<size_t, Output*>> sizes;
    for (auto& [k, o] : outputs_) {
      const size_t b = o->pending.MemoryBytes();
      total += b;
      sizes.emplace_back(b, o.get());
    }
    std::sort(sizes.begin(), sizes.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (auto& [b, o] : sizes) {
      if (total <= settings_.split_buffer_bytes) break;
      MT_RETURN_IF_ERROR(FlushPending(o));
      total -= b;
    }
    return Status::OK();
  }

  Status FlushPending(Output* out) {
    RowGroupData rg = std::move(out->pending);
    out->pending = parquet::MakeRowGroup(pq_schema_);
    return WriteTo(out, std::move(rg));
  }

  Status FlushAll() {
    for (auto& [k, o] : outputs_) MT_RETURN_IF_ERROR(FlushPending(o.get()));
    return Status::OK();
  }

  Status CreateZeroRowOutput() {
    if (hints_.symbol.empty() || hints_.exchange.empty() || !hints_.day) {
      return Status::InvalidInput(
          hints_.source +
          ": no rows, and the file name does not say exchange, day and symbol "
          "({exchange}_{data_type}_{YYYY-MM-DD}_{SYMBOL}.csv.gz), so the output has no name; use "
          "--output FILE.parquet");
    }
    if (!target_.fixed_object.empty()) return FixedOutput().status();
    if (tardis::IsGroupedSymbol(hints_.symbol)) return Status::OK();  // no instrument to write
    MT_ASSIGN_OR_RETURN(Output * out, OutputFor(hints_.exchange, hints_.symbol, 0));
    out->exchange = hints_.exchange;
    out->symbol = hints_.symbol;
    return Status::OK();
  }

  Status FinishOutput(Output* out) {
    if (out->exists) return Status::OK();
    out->info.first_local_ts = out->first_ts;
    out->info.last_local_ts = out->last_ts;
    std::vector<std::pair<std::string, std::string>> kv = {
        {"source", hints_.source},
        {"source_bytes", std::to_string(decomp_->bytes_in())},
        {"row_count", std::to_string(out->info.rows)},
        {"first_timestamp", out->info.rows ? FormatIsoMicros(out->first_ts) : ""},
        {"last_timestamp", out->info.rows ? FormatIsoMicros(out->last_ts) : ""},
        {"tool_version", settings_.tool_version},
        {"created_at", NowIso()},
        {"data_type", schema_ ? schema_->name : ""},
        {"exchange", out->exchange},
        {"symbol", out->symbol},
    };
    if (!out->info.instrument_key.empty()) kv.emplace_back("instrument_key", out->info.instrument_key);
    MT_RETURN_IF_ERROR(out->writer->Finish(kv));
    out->info.bytes = out->object->bytes_written();
    Status st = out->object->Commit();
    if (st.code() == Status::Code::kAlreadyExists) {
      // Done by someone else meanwhile (a concurrent run of the same item):
      // theirs is kept and not listed as ours.
      out->exists = true;
      return Status::OK();
    }
    return st;
  }

  SourceHints hints_;
  ConvertTarget target_;
  ConvertSettings settings_;
  std::unique_ptr<tardis::ParallelCsvParser> parser_;
  std::unique_ptr<io::Decompressor> decomp_;
  const tardis::DataTypeSchema* schema_ = nullptr;
  std::vector<parquet::ColumnSpec> pq_schema_;
  // Ordered by key so outputs are finished (and listed) deterministically.
  std::map<std::string, std::unique_ptr<Output>> outputs_;
  std::unordered_map<std::string, Output*> by_symbol_;
  Output* single_ = nullptr;
  Output* fixed_ = nullptr;
  Status status_;
};

TickConverter::TickConverter(SourceHints hints, ConvertTarget target, ConvertSettings settings)
    : impl_(std::make_unique<Impl>(std::move(hints), std::move(target), std::move(settings))) {}
TickConverter::~TickConverter() = default;
Status TickConverter::Write(const uint8_t* data, size_t n) { return impl_->Write(data, n); }
Result<std::vector<OutputFile>> TickConverter::Finish() { return impl_->Finish(); }
void TickConverter::Abort() { impl_->Abort(); }
uint64_t TickConverter::bytes_in() const { return impl_->bytes_in(); }
uint64_t TickConverter::bytes_out_csv() const { return impl_->bytes_out(); }
uint64_t TickConverter::rows() const { return impl_->rows(); }

}  // namespace mt::pipeline
