#include "pipeline/tick_converter.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <type_traits>
#include <unordered_map>

#include "core/parallel.h"
#include "core/utf8.h"
#include "derive/engine.h"
#include "derive/threaded_observer.h"
#include "parquet/spill_writer.h"
#include "pipeline/plan.h"
#include "storage/layout.h"
#include "tardis/file_name.h"
#include "tardis/instrument_key.h"

namespace mt::pipeline {

using columnar::ColumnData;
using columnar::ColumnKind;
using columnar::RowGroupData;
using columnar::StringColumn;

namespace {

// Column indices every Tardis schema shares.
constexpr size_t kExchangeCol = 0, kSymbolCol = 1, kLocalTsCol = 3;
// Rows of one instrument that make a row group of their own as soon as one
// batch gathers them (big enough to encode and read well).
constexpr size_t kDirectFlushRows = 64 * 1024;
// Rows per output a batch of a grouped file must bring on average for its
// rows to go to the spill as a piece per output at once (fewer: they wait in
// the output's pending rows, so pieces do not get tiny and their headers
// do not outweigh their values).
constexpr size_t kDirectSplitRowsPerOutput = 32;
// ... unless the batch touches more outputs than this many columns allow:
// each output with pending rows holds a row group of its own (a column
// object per column, a few KB for a trades row group even when empty), so
// past this many their fixed cost outweighs small pieces' headers, and
// memory would grow with the instrument count. Counted in columns, not
// outputs (4,096 of trades' eight): a book_snapshot_25 row group has
// thirteen times the columns of a trades one, and as many pending outputs
// held thirteen times the memory.
constexpr size_t kMaxPendingColumns = 4096 * 8;
// Rows per parsed batch of a grouped file split per instrument. Its outputs
// are joined from spilled pieces into row groups of their own, so the batch
// size shapes only where an instrument bigger than one row group is cut
// (DEVELOPERS.md); a batch's values, routes and split buffers are what the
// file holds beyond its outputs' state, and for a day of tens of thousands of
// instruments that state is most of the budget.
constexpr size_t kGroupedParseRows = 256 * 1024;
// And at most this many bytes of values: the rows of a wide grouped file
// (book snapshots of every option, over a hundred columns) reach the default
// batch's bytes long before its rows, and while one batch is split into the
// spill the next is being filled beside it.
constexpr size_t kGroupedParseBytes = 32u << 20;
// Rows per parsed batch of an options chain, which makes a row group of each
// underlying's object (DEVELOPERS.md).
constexpr size_t kChainParseRows = 128 * 1024;
// Parsed blocks such a file keeps ahead of its split: the split runs on one
// thread at a time and is slower than the parse, so blocks parsed further
// ahead (one per thread by default, each with its own dictionary of the
// symbols it saw) would only wait in memory. (A thread that has parsed this
// far ahead helps the split instead: SpillWriter::SetSplitPool.)
constexpr size_t kGroupedUnjoinedBlocks = 6;
// The partitions that the instruments of a grouped file beyond
// ConvertSettings::max_routed_instruments go to, by a hash of their object's
// name: each holds about 1/16 of them, so a partition's own split stays
// under the cap for up to 17 times the cap's instruments, and one level of
// partitions within partitions covers 16 times more.
constexpr uint32_t kRoutingPartitions = 16;
// Partitions within partitions stop here, and instruments are routed past
// the cap: only object names whose hashes agree at every level (no real file
// has those) get that far.
constexpr int kMaxPartitionLevels = 4;

// Appends value `v` of `src` (values are dense: nulls have none) to `d`, as
// a row with a value.
void AppendValue(const ColumnData& src, size_t v, ColumnData* d) {
  d->AddDefined();
  switch (src.kind) {
    case ColumnKind::kTimestampMicros: d->i64.push_back(src.i64[v]); break;
    case ColumnKind::kDouble: d->f64.push_back(src.f64[v]); break;
    case ColumnKind::kBool: d->b.push_back(src.b[v]); break;
    case ColumnKind::kString: d->str.Append(src.str.Get(v)); break;
  }
}

// The partition of object name `name` at partition level `level`: FNV-1a
// with a basis of its own per level (so the instruments of one partition
// spread over the next level's partitions), finished by a 64-bit mix.
uint32_t PartitionOf(std::string_view name, int level) {
  uint64_t h = 0xcbf29ce484222325ULL ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(level + 1));
  for (const char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return static_cast<uint32_t>(h % kRoutingPartitions);
}

}  // namespace

class TickConverter::Impl : public io::ChunkSink, public tardis::BatchSink {
 public:
  Impl(SourceHints hints, ConvertTarget target, ConvertSettings settings)
      : hints_(std::move(hints)), target_(std::move(target)), settings_(std::move(settings)) {
    tardis::ParserOptions parse = settings_.parser;
    // Known before the header only when the file or item names the data
    // type; into a store (one output file's row groups follow the batches).
    if (target_.store && target_.single_file.empty() && SplitsPerInstrument(hints_.data_type)) {
      parse.batch_rows = std::min(parse.batch_rows, kGroupedParseRows);
      parse.batch_bytes = std::min(parse.batch_bytes, kGroupedParseBytes);
      parse.max_unjoined_blocks = kGroupedUnjoinedBlocks;
    } else if ((target_.store && target_.single_file.empty() && ChainsOf(hints_.data_type)) ||
               (!target_.single_file.empty() && tardis::IsGroupedSymbol(tardis::AsciiUpper(hints_.symbol)))) {
      // An options chain, or a grouped file into one output file: row groups
      // of many instruments hold as many distinct symbols and keys, so a
      // million rows of them held hundreds of MB. A chain's rows are the
      // widest Tardis has, and each distinct option of a batch holds a route
      // and a key until the batch is written: its batches are smaller still.
      // Blocks parsed ahead are bounded as for files split per instrument,
      // or every thread of a big pool would hold one.
      parse.batch_rows = std::min(parse.batch_rows, ChainsOf(hints_.data_type) && target_.single_file.empty()
                                                        ? kChainParseRows
                                                        : kGroupedParseRows);
      parse.max_unjoined_blocks = kGroupedUnjoinedBlocks;
    }
    // Derived series are computed on one thread, slower than the parse:
    // blocks parsed further ahead of it would only wait in memory, one per
    // pool thread, beside the engine's buffer.
    if (!target_.observers.empty()) {
      parse.max_unjoined_blocks = std::min(parse.max_unjoined_blocks ? parse.max_unjoined_blocks : SIZE_MAX,
                                           kGroupedUnjoinedBlocks);
    }
    parser_ = std::make_unique<tardis::ParallelCsvParser>(hints_.source, hints_.data_type, this, parse,
                                                          settings_.parallel_parse ? settings_.writer.pool : nullptr);
    decomp_ = io::NewDecompressor(hints_.source, this, settings_.gzip);
    // Each observer on a thread of its own, fed as rows are parsed (see
    // ConvertSettings::observer_threads); the converter calls the wrappers.
    // At the caller's priority, not below it as the pool's threads: no other
    // thread takes over its work (the caller runs queued pool tasks while it
    // waits), so a lowered priority would only let other processes starve it.
    if (settings_.observer_threads) {
      for (derive::BatchObserver*& o : target_.observers) {
        threaded_.push_back(std::make_unique<derive::ThreadedObserver>(
            o, derive::ThreadedObserver::kDefaultMaxQueuedBytes, settings_.cancel));
        o = threaded_.back().get();
      }
    }
    one_instrument_ = !hints_.exchange.empty() && !hints_.symbol.empty() &&
                      !tardis::IsGroupedSymbol(tardis::AsciiUpper(hints_.symbol));
    if (one_instrument_) want_symbol_ = tardis::FileNameSymbol(hints_.symbol);
  }
  ~Impl() override { Abort(); }

  std::mutex before_commit_mu_;
  bool before_commit_done_ = false;
  Status before_commit_status_;

  Status Write(const uint8_t* data, size_t n) {
    if (!status_.ok()) return status_;
    if (!decomp_) return Status::Internal(hints_.source + ": written after Finish");
    return status_ = DamageBeforeBadData(decomp_->Write(data, n));
  }

  Result<OutputList> Finish() {
    if (status_.ok() && !parser_) status_ = Status::Internal(hints_.source + ": finished twice");
    if (status_.ok() && !batch_input_) status_ = DamageBeforeBadData(decomp_->Finish());
    // The gzip is whole: the bad data is the file's.
    if (status_.ok() && !bad_data_.ok()) status_ = bad_data_;
    if (!status_.ok()) {
      Abort();
      return status_;
    }
    if (!batch_input_) status_ = parser_->Finish();
    // Observers complete their outputs now (on their threads, while the raw
    // outputs are written below); they become visible after the raw ones.
    for (derive::BatchObserver* o : target_.observers) {
      if (status_.ok()) status_ = o->EndOfInput();
    }
    if (status_.ok() && !batch_input_ && parser_->rows() == 0 && !single_) status_ = CreateZeroRowOutput();
    if (status_.ok()) status_ = FlushAll();
    if (status_.ok() && spill_) status_ = spill_->Flush();
    // No row is routed from here on: what routing kept per instrument and
    // per batch goes before the objects are written, not after, and so does
    // what read the input.
    ReleaseRouting();
    if (status_.ok()) ReleaseInput();
    OutputList outputs;
    // The list's temporary file, when its entries need one, is created
    // before any object is written: a TMPDIR that cannot hold it fails the
    // file with nothing committed. Past the cap (partitions) it always does.
    if (status_.ok() && (!outputs_.empty() || part_spill_)) {
      uint64_t list_bytes = part_spill_ ? OutputList::kMemoryBytes : 0;
      for (const auto& [key, out] : outputs_) {
        list_bytes += OutputList::EntryBytes(
            out->info, out->single ? out->object_name.size() : target_.store->Describe(out->object_name).size());
      }
      status_ = outputs.Reserve(list_bytes).WithContext(hints_.source);
    }
    // Spilled outputs are encoded and assembled on up to --threads threads,
    // one object open per thread. A store that batches commits (local) gets
    // them all written and sealed first, made durable together, then
    // renamed: nothing appears until every output of the file is written.
    // The cancel flag is polled between objects: an interrupted file stops
    // within one object per thread, and Abort() removes what was written.
    const bool batch = target_.store && target_.store->BatchesCommits();
    // The string modes spilled objects are assembled in: the parse's, but a
    // routed output (not a chain) holds one exchange and one symbol, a
    // dictionary of one entry, even where a batch of many instruments found
    // its symbols too many for a dictionary (plain): the batch size, smaller
    // for a grouped file than its row groups, must not shape the objects.
    assembly_hint_ = plain_hint_;
    if (schema_ && !schema_->row_keys && assembly_hint_.size() > kSymbolCol) {
      assembly_hint_[kExchangeCol] = assembly_hint_[kSymbolCol] = false;
    }
    std::vector<Output*> spilled;
    for (auto& [key, out] : outputs_) {
      if (!status_.ok()) break;
      if (out->spilled) {
        spilled.push_back(out.get());
        continue;
      }
      status_ = WriteOutput(out.get(), batch);
      if (status_.ok() && !batch) status_ = CommitOutput(out.get());
    }
    if (status_.ok() && !spilled.empty()) {
      // Assembled in the order of their spill files (the order their
      // instruments first came), which is the order of their pieces within
      // each batch's stretch of the spill: the read-back goes front to back
      // instead of jumping by name.
      std::sort(spilled.begin(), spilled.end(),
                [](const Output* a, const Output* b) { return a->spill_file < b->spill_file; });
      ParallelOptions po;
      po.threads = settings_.writer.pool ? settings_.writer.pool->size() + 1 : 1;
      if (settings_.max_assembly_threads > 0) po.threads = std::min(po.threads, settings_.max_assembly_threads);
      po.cancel = settings_.cancel;
      // Fewer objects than threads (the chains of an options_chain file):
      // each object's columns are encoded on the pool instead.
      ThreadPool* column_pool = spilled.size() < static_cast<size_t>(po.threads) ? settings_.writer.pool : nullptr;
      // Memory, not the thread count, bounds how many objects are assembled
      // at once: each holds its joined row group (up to the spill's
      // max_group_bytes of values) and its encoding, so objects start while
      // the values in assembly stay within one such group (one object
      // always runs). Thousands of small options run on every thread; big
      // perpetuals about one at a time, whatever --threads is.
      const uint64_t budget = static_cast<uint64_t>(spill_->max_group_bytes());
      std::mutex budget_mu;
      std::condition_variable budget_cv;
      uint64_t in_assembly = 0;
      // Each object in assembly works in a scratch taken from here and put
      // back after (at most one per thread exists): the next object refills
      // its memory. They go when Finish returns.
      std::vector<std::unique_ptr<parquet::SpillWriter::Scratch>> scratches;
      status_ = ParallelFor(spilled.size(), po, [&](size_t i) {
        const uint64_t need = std::max<uint64_t>(1, spill_->largest_group_bytes(spilled[i]->spill_file));
        std::unique_ptr<parquet::SpillWriter::Scratch> scratch;
        {
          std::unique_lock<std::mutex> l(budget_mu);
          budget_cv.wait(l, [&] { return in_assembly == 0 || in_assembly + need <= budget; });
          in_assembly += need;
          if (!scratches.empty()) {
            scratch = std::move(scratches.back());
            scratches.pop_back();
          }
        }
        if (!scratch) scratch = std::make_unique<parquet::SpillWriter::Scratch>();
        Status st = WriteOutput(spilled[i], batch, column_pool, scratch.get());
        if (st.ok() && !batch) st = CommitOutput(spilled[i]);
        {
          std::lock_guard<std::mutex> l(budget_mu);
          in_assembly -= need;
          scratches.push_back(std::move(scratch));
        }
        budget_cv.notify_all();
        return st;
      });
      if (status_.code() == Status::Code::kCancelled) {
        status_ = Status::Cancelled(hints_.source + ": interrupted while its objects were written" +
                                    (batch && level_ == 0 ? "; none was kept"
                                                          : "; those committed before stay, each complete"));
      }
    }
    // The spill goes before the sync: closing its unnamed file drops its
    // dirty pages, which syncfs would otherwise write to disk for nothing.
    const bool spilled_any = spill_ != nullptr;
    if (status_.ok()) spill_.reset();
    // Every object is written and the conversion's memory is gone: what is
    // left (the sync and the renames) holds the outputs' results only.
    if (status_.ok() && !part_spill_ && target_.observers.empty()) Written();
    if (status_.ok() && batch && spilled_any) status_ = target_.store->SyncSealed();
    // Each output goes as soon as its result is taken (its entry first: the
    // key is a view of its name): a file of 100,000 instruments does not
    // hold their outputs and their results at once. What is left on a
    // failure is aborted below.
    for (auto it = outputs_.begin(); it != outputs_.end() && status_.ok();) {
      Output* out = it->second.get();
      if (batch) status_ = CommitOutput(out);
      if (!status_.ok()) break;
      if (!out->exists) {
        out->info.name = out->single ? out->object_name : target_.store->Describe(out->object_name);
        status_ = outputs.Add(out->info).WithContext(hints_.source);
      } else {
        kept_++;
        if (settings_.list_kept && !out->single) {
          out->info.name = target_.store->Describe(out->object_name);
          status_ = kept_outputs_.Add(out->info).WithContext(hints_.source);
        }
      }
      std::unique_ptr<Output> done = std::move(it->second);
      it = outputs_.erase(it);
      if (done.get() == single_) single_ = nullptr;
      if (done.get() == fixed_) fixed_ = nullptr;
    }
    // The instruments beyond the cap, once the first ones are written and
    // their state is gone.
    if (status_.ok() && part_spill_) status_ = FinishPartitions(&outputs);
    // Derived objects come after the raw ones they are computed from: a
    // failure of the raw file leaves no derived object behind.
    for (derive::BatchObserver* o : target_.observers) {  // observers: derived data
      if (status_.ok()) status_ = o->Finish();
    }
    if (!status_.ok()) {
      Abort();
      return status_;
    }
    // What routed rows to outputs goes now, not with the converter: the
    // caller writes the file's completion record next, one entry per output.
    outputs_.clear();
    single_ = fixed_ = nullptr;
    spill_.reset();
    Written();
    return outputs;
  }

  // Calls ConvertSettings::on_written, once.
  void Written() {
    if (!settings_.on_written) return;
    const std::function<void()> f = std::move(settings_.on_written);
    settings_.on_written = nullptr;
    f();
  }

  // Frees the routes (a few hundred bytes per instrument of a grouped file)
  // and Split's per-batch scratch (sized by the rows and instruments of a
  // batch).
  void ReleaseRouting() {
    std::unordered_map<std::string, Route>().swap(routes_);
    std::unordered_multimap<uint64_t, std::string>().swap(chain_symbols_);
    // Swapped with empty ones: `v = {}` would only clear them, keeping
    // their capacity (a few MB for a batch of a grouped file).
    auto release = [](auto& v) { std::decay_t<decltype(v)>().swap(v); };
    release(row_route_);
    release(dict_route_);
    release(key_index_);
    release(remap_);
    release(row_out_);
    release(touched_);
    release(slot_);
    release(seen_);
    release(first_row_);
    release(dests_);
    release(cols_);
    release(cursors_);
    release(text_);
    release(offset_cursors_);
    release(text_cursors_);
    release(own_);
    release(ts_min_);
    release(ts_max_);
    release(last_row_);
    release(spill_files_);
  }

  // Frees the decompressor and the parser (their buffers and the symbols'
  // dictionaries) once the input is read, keeping what their counters say.
  void ReleaseInput() {
    if (!parser_) return;
    input_rows_ = parser_->rows();
    input_bytes_in_ = decomp_->bytes_in();
    input_bytes_out_ = decomp_->bytes_out();
    parser_.reset();
    decomp_.reset();
  }

  void Abort() {
    if (parser_) parser_->Stop();  // no pool thread may hand over rows while outputs go away
    for (derive::BatchObserver* o : target_.observers) o->Abort();  // observers: derived data
    for (auto& [key, out] : outputs_) {
      out->writer.reset();
      if (out->object) out->object->Abort();
    }
    outputs_.clear();
    routes_.clear();
    spill_.reset();  // closes the spill: an unnamed file, gone with its descriptor
    part_spill_.reset();
    single_ = nullptr;
    fixed_ = nullptr;
    direct_taken_ = false;
  }

  uint64_t bytes_in() const { return decomp_ ? decomp_->bytes_in() : input_bytes_in_; }
  uint64_t bytes_out() const { return decomp_ ? decomp_->bytes_out() : input_bytes_out_; }
  uint64_t rows() const { return parser_ ? parser_->rows() : input_rows_; }
  uint64_t kept() const { return kept_; }
  const OutputList& kept_outputs() const { return kept_outputs_; }

  // io::ChunkSink
  Status OnData(const char* data, size_t n) override {
    if (!bad_data_.ok()) return Status::OK();  // decompressed for the gzip's check only
    Status st = parser_->Feed(data, n);
    if (st.code() == Status::Code::kInvalidInput && settings_.check_gzip_on_bad_data && decomp_->gzip()) {
      bad_data_ = std::move(st);
      return Status::OK();
    }
    return st;
  }
  char* OutputBuffer(size_t* capacity) override {
    if (!bad_data_.ok()) {
      *capacity = 0;  // the decompressor's own buffer: nothing is parsed
      return nullptr;
    }
    return parser_->OutputBuffer(capacity);
  }

  // Damaged bytes found after bad data (check_gzip_on_bad_data): the damage
  // is what made the data bad, and the message says both.
  Status DamageBeforeBadData(Status st) const {
    if (st.code() != Status::Code::kDataLoss || bad_data_.ok()) return st;
    return Status::DataLoss(
        st.message() + "; before the damage was found, the damaged data had failed to parse: " + bad_data_.message());
  }

  // tardis::BatchSink
  Status OnSchema(const tardis::DataTypeSchema& schema) override {
    schema_ = &schema;
    // Batches are routed with the parsed columns (and an options chain's
    // row keys); a file's own key column joins its row groups as they are
    // written (WriteTo), so routing never copies it.
    pq_schema_ = schema.row_keys ? schema.OutputSchema() : schema.ParquetSchema();
    out_schema_ = schema.OutputSchema();
    local_ts_col_ = kLocalTsCol + (schema.row_keys ? 1 : 0);
    plain_hint_.assign(pq_schema_.size(), false);
    for (derive::BatchObserver* o : target_.observers) MT_RETURN_IF_ERROR(o->OnSchema(schema));  // observers
    if (!target_.single_file.empty()) {
      MT_ASSIGN_OR_RETURN(single_, OpenOutput("", target_.single_file, true));
    }
    return Status::OK();
  }

  Status OnRows(const RowGroupData& rows, size_t begin, size_t end) override {
    for (derive::BatchObserver* o : target_.observers) MT_RETURN_IF_ERROR(o->OnRows(rows, begin, end));  // observers
    return Status::OK();
  }

  Status OnBatch(RowGroupData batch) override {
    if (one_instrument_) MT_RETURN_IF_ERROR(CheckOneInstrument(batch));
    // Line 1 is the header; a partition's rows have no line of the input.
    batch_first_line_ = batch_input_ ? 0 : rows_before_ + 2;
    rows_before_ += batch.num_rows;
    for (derive::BatchObserver* o : target_.observers) MT_RETURN_IF_ERROR(o->OnBatch(batch));  // observers
    if (schema_->row_keys) MT_RETURN_IF_ERROR(AddKeyColumn(&batch));
    if (single_) return WriteTo(single_, std::move(batch));
    if (!target_.fixed_object.empty()) {
      MT_ASSIGN_OR_RETURN(Output * out, FixedOutput());
      return WriteTo(out, std::move(batch));
    }
    const auto& ex = batch.columns[kExchangeCol].str;
    const auto& sym = batch.columns[kSymbolCol].str;
    if (ex.dict_mode() && sym.dict_mode() && ex.dict().size() == 1 && sym.dict().size() == 1) {
      MT_ASSIGN_OR_RETURN(Route * route, RouteFor(ex.dict()[0], sym.dict()[0],
                                                  batch.columns[local_ts_col_].i64.front(), batch_first_line_));
      Output* out = route->out;
      if (out) {  // else an instrument beyond the cap: Split sends it to its partition
        if (out->pending_rows() > 0) MT_RETURN_IF_ERROR(FlushPending(out));  // keep row order
        return WriteTo(out, std::move(batch));
      }
    }
    return Split(batch);
  }

 private:
  struct Output {
    // Streamed outputs (the single file, the fixed object, the first
    // instrument of a routed file) write through their own FileWriter;
    // the others go through the shared spill.
    std::unique_ptr<storage::WritableObject> object;
    std::unique_ptr<parquet::FileWriter> writer;
    bool spilled = false;
    uint32_t spill_file = 0;
    std::string object_name;  // store name (spilled outputs open it at Finish)
    // Rows of a grouped file waiting for a full row group: made on first use
    // (PendingOf), as MakeRowGroup with `pending_hint`, the plain-string hint
    // of when it would have been made (so the objects stay the same). An
    // empty row group costs a few KB per output, and in a big grouped file
    // most outputs go straight to the spill and never need one. The hint is
    // shared by the outputs that took it (HintNow).
    std::unique_ptr<RowGroupData> pending;
    std::shared_ptr<const std::vector<bool>> pending_hint;
    size_t pending_rows() const { return pending ? pending->num_rows : 0; }
    // What Finish returns for the output; its `name` is filled in there (the
    // store's description of object_name), not held by every output before.
    OutputFile info;
    bool exists = false;   // create-only target already there: rows are dropped
    bool single = false;   // the one output file (--output FILE.parquet): object_name is its path
    std::string exchange, symbol;
    bool chain = false;  // options_chain: one underlying's options
    // The instrument's terms on the day, from the day's definitions
    // (KeyResolver::TermsOn): written into the file's key-value metadata.
    // Null when none is known (most outputs of a file without definitions).
    std::unique_ptr<const ContractTerms> terms;
    // Split's scratch: rows of this output in the batch, its slot among the
    // batch's outputs, whether they make a row group of their own.
    uint32_t batch_count = 0, slot = 0;
    bool own = false;
  };
  // What one (exchange, symbol) of the rows maps to.
  struct Route {
    Output* out = nullptr;  // null for an instrument beyond the cap
    int32_t part = -1;      // its partition then
    // The row's own instrument key, for rows that carry one (a chain, the one
    // output file); "" when it has none or its output holds it.
    std::string row_key;
  };

  // A file of one instrument (a download item, a file named as the official
  // clients name them) holds that instrument's rows only: a row of another
  // exchange or symbol (a mislabelled, swapped or hostile file) must not be
  // stored under this instrument's key, nor create another instrument's
  // objects. The two columns are dictionaries in practice (one value each),
  // so this costs a compare per distinct value and batch, not per row.
  Status CheckOneInstrument(const RowGroupData& batch) {
    const auto& ex = batch.columns[kExchangeCol].str;
    const auto& sym = batch.columns[kSymbolCol].str;
    if (ex.dict_mode() && sym.dict_mode()) {
      bool ok = true;
      for (const auto& e : ex.dict()) ok = ok && e == hints_.exchange;
      for (const auto& v : sym.dict()) ok = ok && IsItemSymbol(v);
      if (ok) return Status::OK();
    }
    for (size_t r = 0; r < batch.num_rows; r++) {
      const std::string_view e = ex.Get(r), v = sym.Get(r);
      if (e == hints_.exchange && IsItemSymbol(v)) continue;
      return Status::InvalidInput(
          hints_.source + ":" + std::to_string(rows_before_ + r + 2) + ": a row of exchange '" +
          EscapeOutsideText(e, 80) + "', symbol '" + EscapeOutsideText(v, 80) + "' in a file of exchange '" +
          hints_.exchange + "', symbol '" + EscapeOutsideText(hints_.symbol, 80) + "' (" + hints_.named_by +
          "); a file of one instrument holds only that instrument's rows, so nothing of this file was written "
          "(the file is mislabelled or damaged: check its name or its source)");
    }
    return Status::OK();
  }
  // Whether a row's symbol is the item's, as the official clients spell
  // symbols in file names (tardis::FileNameSymbol); the last match is kept.
  bool IsItemSymbol(std::string_view s) {
    if (s == matched_symbol_) return true;
    if (tardis::FileNameSymbol(s) != want_symbol_) return false;
    matched_symbol_.assign(s);
    return true;
  }

  Result<Output*> OpenOutput(const std::string& key, const std::string& name, bool single) {
    auto out = std::make_unique<Output>();
    out->info.instrument_key = key;
    out->object_name = name;
    // Every routed output but the first is spilled, so a grouped file holds
    // one object open at a time however many instruments it has; in a
    // grouped file (OPTIONS, FUTURES, ...) the first one too, so every
    // instrument's rows are joined into one row group (SpillWriter).
    if (!single && (direct_taken_ || SpillEveryOutput())) {
      if (!spill_) MT_RETURN_IF_ERROR(OpenSpill());
      out->spilled = true;
      out->spill_file = spill_->AddFile();
    } else {
      direct_taken_ = direct_taken_ || !single;
      Result<std::unique_ptr<storage::WritableObject>> obj =
          single ? storage::CreateLocalFile(name, target_.overwrite) : target_.store->Create(name, target_.overwrite);
      if (!obj.ok() && obj.status().code() == Status::Code::kAlreadyExists) {
        // Create-only and already done (an earlier run of a grouped file): its
        // rows are read and dropped, the object is kept as it is.
        out->exists = true;
      } else {
        if (!obj.ok()) return obj.status();
        out->object = std::move(obj).value();
        out->writer = std::make_unique<parquet::FileWriter>(out->object.get(), out_schema_, settings_.writer);
      }
    }
    out->pending_hint = HintNow();
    out->single = single;
    Output* raw = out.get();
    // Keyed by a view of the output's own name (the output is on the heap
    // and lives as long as its entry): one copy of the name per output.
    outputs_.emplace(single ? std::string_view("\x01single") : std::string_view(raw->object_name), std::move(out));
    return raw;
  }

  // A grouped file of data type `schema` split per instrument (not
  // options_chain, whose outputs are a few big chains).
  bool SplitsPerInstrument(const tardis::DataTypeSchema* schema) const {
    return schema && !schema->row_keys && target_.fixed_object.empty() &&
           tardis::IsGroupedSymbol(tardis::AsciiUpper(hints_.symbol));
  }
  bool SpillEveryOutput() const { return SplitsPerInstrument(schema_); }
  // A grouped options_chain file, split one object per underlying.
  bool ChainsOf(const tardis::DataTypeSchema* schema) const {
    return schema && schema->row_keys && target_.fixed_object.empty() &&
           tardis::IsGroupedSymbol(tardis::AsciiUpper(hints_.symbol));
  }
  // Whether a new instrument of this file goes to a partition: a grouped
  // file split per instrument that routes the cap's instruments already.
  bool AtCap() {
    if (!SpillEveryOutput() || outputs_.size() < settings_.max_routed_instruments || level_ >= kMaxPartitionLevels) {
      return false;
    }
    if (part_routes_.empty()) {
      part_routes_.resize(kRoutingPartitions);
      for (uint32_t p = 0; p < kRoutingPartitions; p++) part_routes_[p].part = static_cast<int32_t>(p);
    }
    return true;
  }

  Status OpenSpill() {
    MT_ASSIGN_OR_RETURN(spill_, NewSpill());
    return Status::OK();
  }
  Result<std::unique_ptr<parquet::SpillWriter>> NewSpill() {
    auto spill = std::make_unique<parquet::SpillWriter>(pq_schema_, settings_.writer, settings_.parser.batch_rows,
                                                        std::max<size_t>(settings_.split_buffer_bytes, 32u << 20));
    Status st = spill->Open(target_.store->SpillDirectory(), hints_.source);
    if (!st.ok() && !target_.store->SpillDirectory().empty()) st = spill->Open("", hints_.source);
    if (!st.ok()) return Status::IOError(hints_.source + ": " + st.message());
    // A batch's split is shared with the pool's free threads: it runs on the
    // thread that joins the parse's blocks, which the other threads wait for.
    spill->SetSplitPool(settings_.writer.pool);
    return spill;
  }

  // The route of rows with this exchange and symbol, made on first sight
  // (at input line `line`, 0: none): the key (target_.keys, else the venue's
  // symbol rule), the object it names, the output.
  Result<Route*> RouteFor(std::string_view exchange, std::string_view symbol, int64_t first_local_ts,
                          uint64_t line = 0) {
    route_id_.assign(exchange);
    route_id_ += '\x1f';
    route_id_.append(symbol);
    auto cached = routes_.find(route_id_);
    if (cached != routes_.end()) return &cached->second;
    // A grouped file holds its own exchange's instruments only: a row of
    // another exchange (a damaged or hostile file) must not write, let alone
    // replace, that exchange's objects.
    // Errors name the line of the first row of this exchange and symbol.
    const std::string where = hints_.source + (line ? ":" + std::to_string(line) : std::string()) + ": ";
    if (!hints_.exchange.empty() && tardis::IsGroupedSymbol(hints_.symbol) && exchange != hints_.exchange) {
      return Status::InvalidInput(where + "a row of exchange '" + std::string(exchange) + "' (symbol '" +
                                  std::string(symbol) + "') in a grouped file of exchange '" + hints_.exchange +
                                  "'; a grouped file holds only its own exchange's instruments, so nothing of this "
                                  "file was written (the file is mislabelled or damaged: check its name or its "
                                  "source)");
    }
    const Date day = hints_.day ? *hints_.day : DateFromMicros(first_local_ts);
    // A day taken from a row names objects (day-YYYY-MM-DD): a timestamp of
    // a year that does not print in four digits (a damaged or hostile row)
    // would name one that no reader of the store parses back.
    if (!hints_.day && (day.year < 1970 || day.year > 9999)) {
      return Status::InvalidInput(where + "the row's local_timestamp " + std::to_string(first_local_ts) +
                                  " is not a day between 1970 and 9999, and the file's name gives no day; name the "
                                  "file as the official clients do (EXCHANGE_TYPE_YYYY-MM-DD_SYMBOL.csv.gz) or check "
                                  "its source");
    }
    auto key = target_.keys ? target_.keys->ResolveOn(day, exchange, symbol)
                            : tardis::KeyFromTardisSymbol(exchange, symbol);
    // A store that could not be read (the day's definitions) is no property
    // of the symbol: the file fails, retryably, rather than fall back.
    if (!key.ok() && key.status().retryable()) return key.status().WithContext(hints_.source);
    if (key.ok() && schema_ && schema_->row_keys && !single_ && target_.fixed_object.empty() &&
        key->type != "OPTION") {
      // An options chain's objects hold their underlying's options only (as
      // validate checks): a future, perpetual or pair in the file is kept
      // as a row without a key, and said, like any row no key fits.
      key = Status::InvalidInput("instrument key " + key->ToString() +
                                 " is not an option's, and an options chain object holds options only");
    }
    Route route;
    std::string object_key;
    std::string note;
    if (key.ok()) {
      std::string row_key = key->ToString();
      const bool rows_keyed = (schema_ && schema_->row_keys) || single_;
      object_key = schema_ && schema_->row_keys ? tardis::ChainKey(*key) : row_key;
      if (schema_ && schema_->row_keys) {
        // A chain holds many options, but never two symbols under one option
        // key: their rows would be indistinguishable in instrument_key.
        // The symbols are kept by a hash of their key (not the key): a
        // symbol under the same hash is keyed again to tell a collision of
        // keys from one of hashes.
        const uint64_t h = std::hash<std::string>()(row_key);
        bool seen = false;
        for (auto [it, end] = chain_symbols_.equal_range(h); it != end && !seen; ++it) {
          if (it->second == symbol) {
            seen = true;
            continue;
          }
          auto other = target_.keys ? target_.keys->ResolveOn(day, exchange, it->second)
                                    : tardis::KeyFromTardisSymbol(exchange, it->second);
          if (other.ok() && other->ToString() == row_key) {
            return Status::InvalidInput(where + "symbols '" + it->second + "' and '" + std::string(symbol) +
                                        "' both give instrument key " + row_key +
                                        "; two instruments are never merged under one key, so nothing of this file "
                                        "was written");
          }
        }
        if (!seen) chain_symbols_.emplace(h, std::string(symbol));
      }
      // Only rows that carry their own key column (a chain, the one output
      // file) need it per route; an instrument's output holds it already.
      if (rows_keyed) route.row_key = std::move(row_key);
    } else if (!single_ && target_.fixed_object.empty() && !tardis::IsGroupedSymbol(hints_.symbol)) {
      // A file of one instrument whose symbol has no key, written to a store:
      // the file fails with the reason (and its hint), as the key rules say.
      // (One output file or object: nothing to name; options_chain rows then
      // get a null instrument_key.) An exchange id Tardis does not use (a
      // file of the user's own, "Deribit") is said first: neither a symbol
      // rule nor stored definitions can ever key it.
      if (!IsKnownExchange(exchange)) {
        const std::string best = SuggestExchange(exchange);
        return Status::InvalidInput(
            where + "exchange '" + EscapeOutsideText(exchange, 80) + "' (of symbol '" + EscapeOutsideText(symbol, 80) +
            "') is not a Tardis exchange id" + (best.empty() ? "" : " (did you mean " + best + "?)") +
            "; objects are keyed by the Tardis exchange, so nothing of this file was written (write the exchange "
            "column as Tardis does, lower-case, e.g. binance-futures, deribit, or convert to one file with "
            "--output FILE.parquet)");
      }
      return Status::InvalidInput(where + key.status().message());
    } else {
      // A grouped file: the rows are kept under a fallback name that says so
      // (the raw symbol stays inside the file; storage/layout.h escapes the
      // name), and every other instrument of the file is written as usual.
      // Unless no row of it can have a key: a venue without a symbol rule and
      // no definitions of it for the day.
      if (!single_ && target_.fixed_object.empty() && !tardis::HasSymbolRule(exchange)) {
        bool listed = false;
        if (target_.keys) {
          MT_ASSIGN_OR_RETURN(listed, target_.keys->ListsExchange(day, exchange));
        }
        if (!listed) {
          return Status::InvalidInput(where + "symbol '" + EscapeOutsideText(symbol, 80) +
                                      "': " + GroupedFileNeedsDefinitions(exchange, day).message());
        }
      }
      note = key.status().message();
      object_key = tardis::VenueForExchange(exchange) + ":UNKEYED:" + std::string(symbol);
    }
    if (!single_ && target_.fixed_object.empty()) {
      const std::string name = target_.store->layout().TickObjectName(day, schema_->name, exchange, object_key);
      auto existing = outputs_.find(name);
      if (existing != outputs_.end()) {
        const Output& o = *existing->second;
        // Its own output (the route was dropped from the cache, see
        // RouteRows) or a chain's: else two instruments for one object.
        const bool own = o.exchange == exchange && o.symbol == symbol;
        if (!own && !(schema_->row_keys && key.ok())) {
          // Two instruments in one file would be wrong data: fail the file.
          return Status::InvalidInput(
              where + "symbols '" + EscapeOutsideText(o.symbol, 80) + "' (exchange " + EscapeOutsideText(o.exchange, 80) +
              ") and '" + EscapeOutsideText(symbol, 80) + "' (exchange " + EscapeOutsideText(exchange, 80) +
              ") both give " +
              (key.ok() ? "instrument key " + object_key : "object " + name) +
              "; two instruments are never merged into one file, so " +
              (level_ == 0 ? std::string("nothing of this file was written")
                           : "this file failed (its instruments beyond the first " +
                                 std::to_string(settings_.max_routed_instruments) +
                                 " are written a partition at a time: the objects written before this partition stay, "
                                 "each complete)") +
              " (instrument definitions that tell them apart, or --output FILE.parquet, avoid this)");
        }
        route.out = existing->second.get();
      } else if (AtCap()) {
        // Not cached: what is kept per instrument stays within the cap.
        batch_partitioned_ = true;
        return &part_routes_[PartitionOf(name, level_)];
      } else {
        MT_ASSIGN_OR_RETURN(route.out, OpenOutput(key.ok() ? object_key : "", name, false));
        if (key.ok()) MT_RETURN_IF_ERROR(SetTerms(route.out, day, object_key));
        route.out->exchange = std::string(exchange);
        route.out->symbol = std::string(symbol);
        route.out->chain = schema_->row_keys && key.ok() && !hints_.symbol.empty();
        if (!key.ok()) {
          route.out->info.unkeyed = true;
          route.out->info.symbol = std::string(symbol);
          route.out->info.note = note;
        }
      }
    }
    return &routes_.emplace(route_id_, std::move(route)).first->second;
  }

  Result<Output*> FixedOutput() {
    if (!fixed_) {
      MT_ASSIGN_OR_RETURN(fixed_, OpenOutput(target_.fixed_key, target_.fixed_object, false));
      fixed_->exchange = hints_.exchange;
      fixed_->symbol = hints_.symbol;
      if (hints_.day && !target_.fixed_key.empty()) MT_RETURN_IF_ERROR(SetTerms(fixed_, *hints_.day, target_.fixed_key));
    }
    return fixed_;
  }

  // The terms of the instrument an output holds, when the keys come from
  // definitions that list it (an options chain's key names no instrument,
  // so it gets none). A day's definitions that cannot be read fail the
  // file (retryable when the read was), as for its key.
  Status SetTerms(Output* out, const Date& day, const std::string& key) {
    if (!target_.keys) return Status::OK();
    auto terms = target_.keys->TermsOn(day, key);
    if (!terms.ok()) return terms.status().WithContext(hints_.source);
    if (*terms && !(*terms)->empty()) out->terms = std::make_unique<const ContractTerms>(std::move(**terms));
    return Status::OK();
  }

  // Each row's own key (options_chain, the one output file), one dictionary
  // entry per instrument.
  Status AddKeyColumn(RowGroupData* batch) {
    MT_RETURN_IF_ERROR(RouteRows(*batch));
    ColumnData col;
    col.kind = ColumnKind::kString;
    col.nullable = true;
    // Rows routed per symbol of a dictionary (RouteRows): a symbol's key is
    // interned at its first row, later rows append its index. A chain's keys
    // are long and share their first bytes, so interning one at every row
    // (a hash of all its bytes and a compare) was a visible share of a chain's
    // conversion (bench/README.md). The same dictionary, in the same order.
    const auto& ex = batch->columns[kExchangeCol].str;
    const auto& sym = batch->columns[kSymbolCol].str;
    const bool by_symbol = ex.dict_mode() && sym.dict_mode() && ex.dict().size() == 1;
    constexpr uint32_t kNone = UINT32_MAX;
    if (by_symbol) key_index_.assign(sym.dict().size(), kNone);
    for (size_t r = 0; r < batch->num_rows; r++) {
      const std::string& key = row_route_[r]->row_key;
      if (key.empty()) {
        col.AddNull(r);
        continue;
      }
      col.AddDefined();
      if (!by_symbol || !col.str.dict_mode()) {
        col.str.Append(key);
        continue;
      }
      uint32_t& k = key_index_[sym.constant() ? 0 : sym.indices()[r]];
      if (k != kNone) {
        col.str.AppendIndex(k);
      } else {
        col.str.Append(key);
        if (col.str.dict_mode()) k = col.str.last_index();
      }
    }
    batch->columns.insert(batch->columns.begin() + tardis::kInstrumentKeyColumn, std::move(col));
    return Status::OK();
  }

  // The route of every row of `batch` into row_route_: looked up once per
  // distinct symbol when both columns are dictionaries (one exchange), else
  // once per row.
  Status RouteRows(const RowGroupData& batch) {
    // Routes of rows that carry their own key (a chain, the one output file)
    // are one per symbol, not per output: past the cap of instruments routed
    // at once they are dropped between batches and made again as their
    // symbols come back, so a chain of any number of options keeps its
    // outputs and its symbols by hash (chain_symbols_) only.
    if (routes_.size() >= settings_.max_routed_instruments && (single_ || (schema_ && schema_->row_keys))) {
      routes_.clear();
    }
    const size_t n = batch.num_rows;
    const auto& ex = batch.columns[kExchangeCol].str;
    const auto& sym = batch.columns[kSymbolCol].str;
    const auto& ts = batch.columns[kLocalTsCol].i64;
    row_route_.resize(n);
    const auto line = [&](size_t r) { return batch_first_line_ ? batch_first_line_ + r : 0; };
    if (ex.dict_mode() && sym.dict_mode() && ex.dict().size() == 1) {
      dict_route_.assign(sym.dict().size(), nullptr);
      for (size_t r = 0; r < n; r++) {
        const uint32_t i = sym.constant() ? 0 : sym.indices()[r];
        if (!dict_route_[i]) {
          MT_ASSIGN_OR_RETURN(dict_route_[i], RouteFor(ex.dict()[0], sym.dict()[i], ts[r], line(r)));
        }
        row_route_[r] = dict_route_[i];
      }
    } else {
      for (size_t r = 0; r < n; r++) {
        MT_ASSIGN_OR_RETURN(row_route_[r], RouteFor(ex.Get(r), sym.Get(r), ts[r], line(r)));
      }
    }
    return Status::OK();
  }

  // Records `rows` more rows of `out`: their first and last local
  // timestamps, the least and greatest, and (from the first rows it gets)
  // the exchange and symbol of row `row` of `batch`.
  void Record(Output* out, size_t rows, int64_t first_ts, int64_t last_ts, int64_t lo, int64_t hi,
              const RowGroupData& batch, size_t row) {
    if (out->info.rows == 0) {
      out->info.first_local_ts = first_ts;
      out->info.min_local_ts = lo;
      out->info.max_local_ts = hi;
    }
    out->info.min_local_ts = std::min(out->info.min_local_ts, lo);
    out->info.max_local_ts = std::max(out->info.max_local_ts, hi);
    out->info.last_local_ts = last_ts;
    out->info.rows += rows;
    if (out->exchange.empty()) {
      out->exchange = std::string(batch.columns[kExchangeCol].str.Get(row));
      out->symbol = std::string(batch.columns[kSymbolCol].str.Get(row));
    }
  }

  Status WriteTo(Output* out, RowGroupData batch) {
    if (batch.num_rows == 0) return Status::OK();
    const auto& ts = batch.columns[local_ts_col_].i64;
    const auto [lo, hi] = std::minmax_element(ts.begin(), ts.end());
    Record(out, batch.num_rows, ts.front(), ts.back(), *lo, *hi, batch, 0);
    if (out->exists) return Status::OK();
    // Spilled rows keep the parsed columns; their instrument_key column is
    // added once per row group when the object is assembled (WriteOutput).
    if (out->spilled) return spill_->Append(out->spill_file, batch);
    if (!schema_->row_keys) MT_RETURN_IF_ERROR(AddFileKeyColumn(out, &batch));
    return out->writer->WriteRowGroup(std::move(batch));
  }

  // The instrument_key column of every row group written, streamed or
  // spilled (not for an options chain, whose rows carry their own keys): the
  // output's key; for the one output file (--output FILE.parquet), which
  // holds whatever instruments its input has, each row's key.
  Status AddFileKeyColumn(Output* out, RowGroupData* batch) {
    if (out != single_) {
      tardis::InsertFileKeyColumn(batch, out->info.instrument_key);
      return Status::OK();
    }
    // One instrument in the batch (the usual case): one lookup, no row loop.
    const auto& ex = batch->columns[kExchangeCol].str;
    const auto& sym = batch->columns[kSymbolCol].str;
    if (ex.dict_mode() && sym.dict_mode() && ex.dict().size() == 1 && sym.dict().size() == 1) {
      MT_ASSIGN_OR_RETURN(Route * route, RouteFor(ex.dict()[0], sym.dict()[0], batch->columns[kLocalTsCol].i64.front()));
      tardis::InsertFileKeyColumn(batch, route->row_key);
      return Status::OK();
    }
    return AddKeyColumn(batch);
  }

  // Rows of many instruments (grouped files such as OPTIONS): each row goes
  // to its instrument's pending row group, column by column.
  Status Split(RowGroupData& batch) {
    for (size_t c = 0; c < batch.columns.size(); c++) {
      if (batch.columns[c].kind == ColumnKind::kString) plain_hint_[c] = !batch.columns[c].str.dict_mode();
    }
    if (!schema_->row_keys) {  // else done by AddKeyColumn
      batch_partitioned_ = false;
      MT_RETURN_IF_ERROR(RouteRows(batch));
      if (batch_partitioned_) {
        MT_RETURN_IF_ERROR(SplitOffPartitions(batch));
        if (batch.num_rows == 0) return Status::OK();
        MT_RETURN_IF_ERROR(RouteRows(batch));  // the rows left: routed instruments only, each cached
      }
    }
    const size_t n = batch.num_rows;
    row_out_.resize(n);
    for (size_t r = 0; r < n; r++) row_out_[r] = row_route_[r]->out;
    // Each row's output as a slot in touched_, and the rows per output.
    touched_.clear();
    first_row_.clear();
    slot_.resize(n);
    for (size_t r = 0; r < n; r++) {
      Output* o = row_out_[r];
      if (o->batch_count == 0) {
        o->slot = static_cast<uint32_t>(touched_.size());
        touched_.push_back(o);
        first_row_.push_back(static_cast<uint32_t>(r));
      }
      o->batch_count++;
      slot_[r] = o->slot;
    }
    if (SpillEveryOutput() &&
        (n >= kDirectSplitRowsPerOutput * touched_.size() ||
         touched_.size() > kMaxPendingColumns / std::max<size_t>(pq_schema_.size(), 1)) &&
        std::all_of(touched_.begin(), touched_.end(), [](const Output* o) { return o->spilled; })) {
      return SplitToSpill(batch);
    }
    // A big share (a chain of two underlyings) becomes a row group of its
    // own; small ones join their instrument's pending rows.
    own_.clear();
    own_.reserve(touched_.size());
    dests_.resize(touched_.size());
    for (size_t k = 0; k < touched_.size(); k++) {
      Output* o = touched_[k];
      if (o->pending_rows() == 0 && o->batch_count >= kDirectFlushRows) {
        own_.push_back(columnar::MakeRowGroup(pq_schema_, &plain_hint_));
        dests_[k] = &own_.back();
        o->own = true;
      } else {
        dests_[k] = &PendingOf(o);
        o->own = false;
      }
    }
    // Column by column, rows in order, each value to its output's column:
    // the batch column is read once front to back and the writes go to as
    // many column ends as there are outputs (they stay in cache), instead
    // of one pass per output over the whole column. Each batch column is
    // released once copied, so the copies grow as the batch shrinks.
    cols_.resize(touched_.size());
    seen_.resize(touched_.size());
    for (size_t c = 0; c < batch.columns.size(); c++) {
      const ColumnData& src = batch.columns[c];
      for (size_t k = 0; k < touched_.size(); k++) {
        ColumnData& d = dests_[k]->columns[c];
        cols_[k] = &d;
        const size_t count = touched_[k]->batch_count;
        if (src.defined.empty() && !d.defined.empty()) d.defined.append(count, uint8_t{1});
      }
      if (src.defined.empty() && !schema_->row_keys && (c == kExchangeCol || c == kSymbolCol)) {
        // Every row of an output has its route's exchange and symbol (an
        // options_chain output aside): one value per output, repeated.
        for (size_t k = 0; k < touched_.size(); k++) {
          StringColumn& d = cols_[k]->str;
          d.Append(src.str.Get(first_row_[k]));
          const size_t count = touched_[k]->batch_count;
          if (d.CanRepeatLast()) {
            for (size_t i = 1; i < count; i++) d.RepeatLast();
          } else {
            for (size_t i = 1; i < count; i++) d.Append(src.str.Get(first_row_[k]));
          }
        }
      } else if (src.defined.empty()) {
        switch (src.kind) {
          case ColumnKind::kTimestampMicros: Scatter(src.i64, &ColumnData::i64); break;
          case ColumnKind::kDouble: Scatter(src.f64, &ColumnData::f64); break;
          case ColumnKind::kBool: Scatter(src.b, &ColumnData::b); break;
          case ColumnKind::kString:
            if (StartRemap(src.str)) {
              for (size_t r = 0; r < n; r++) AppendRemapped(src.str, r, slot_[r], &cols_[slot_[r]]->str);
            } else if (!ScatterPlain(src.str)) {
              for (size_t r = 0; r < n; r++) cols_[slot_[r]]->str.Append(src.str.Get(r));
            }
            break;
        }
      } else {
        // Nulls: values are dense, so a cursor walks them; a null's row in
        // its output is that output's rows so far plus the ones seen here.
        for (size_t k = 0; k < touched_.size(); k++) seen_[k] = dests_[k]->num_rows;
        const bool remap = src.kind == ColumnKind::kString && StartRemap(src.str);
        size_t v = 0;
        for (size_t r = 0; r < n; r++) {
          const uint32_t k = slot_[r];
          ColumnData& d = *cols_[k];
          if (!src.defined[r]) {
            d.AddNull(seen_[k]);
          } else if (remap) {
            d.AddDefined();
            AppendRemapped(src.str, v++, k, &d.str);
          } else {
            AppendValue(src, v++, &d);
          }
          seen_[k]++;
        }
      }
      batch.columns[c].Release();
    }
    for (size_t k = 0; k < touched_.size(); k++) {
      Output* o = touched_[k];
      dests_[k]->num_rows += o->batch_count;
      o->batch_count = 0;
      if (o->own) {
        MT_RETURN_IF_ERROR(WriteTo(o, std::move(*dests_[k])));
      } else if (o->pending_rows() >= std::min<size_t>(settings_.parser.batch_rows, kDirectFlushRows)) {
        MT_RETURN_IF_ERROR(FlushPending(o));
      }
    }
    own_.clear();
    // Bound memory across instruments: over the budget, flush the largest
    // buffers until half of it is left (so flushes come in rounds, each
    // encoded in parallel, not one row group per batch).
    size_t total = 0;
    std::vector<std::pair<size_t, Output*>> sizes;
    for (auto& [k, o] : outputs_) {
      const size_t b = o->pending_rows() ? o->pending->MemoryBytes() : 0;
      total += b;
      if (b) sizes.emplace_back(b, o.get());
    }
    if (total <= settings_.split_buffer_bytes) return Status::OK();
    std::sort(sizes.begin(), sizes.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (auto& [b, o] : sizes) {
      if (total <= settings_.split_buffer_bytes / 2) break;
      MT_RETURN_IF_ERROR(FlushPending(o));
      total -= b;
    }
    return Status::OK();
  }

  // Moves the rows of instruments beyond the cap (their route has a
  // partition) out of `batch` into their partitions' pieces of part_spill_,
  // every column as it is (symbols included); the other rows stay, in
  // order, with the batch's string modes.
  Status SplitOffPartitions(RowGroupData& batch) {
    if (!part_spill_) {
      MT_ASSIGN_OR_RETURN(part_spill_, NewSpill());
      part_files_.resize(kRoutingPartitions);
      for (uint32_t& f : part_files_) f = part_spill_->AddFile();
      part_constant_.assign(pq_schema_.size(), false);
    }
    const size_t n = batch.num_rows;
    RowGroupData side[2] = {columnar::MakeRowGroup(pq_schema_, &plain_hint_),
                            columnar::MakeRowGroup(pq_schema_, &plain_hint_)};
    part_slot_.clear();
    for (size_t r = 0; r < n; r++) {
      if (row_route_[r]->part >= 0) part_slot_.push_back(static_cast<uint32_t>(row_route_[r]->part));
    }
    for (size_t c = 0; c < batch.columns.size(); c++) {
      const ColumnData& src = batch.columns[c];
      size_t rows[2] = {0, 0};
      size_t v = 0;  // values are dense: nulls have none
      for (size_t r = 0; r < n; r++) {
        const int k = row_route_[r]->part >= 0 ? 1 : 0;
        ColumnData& d = side[k].columns[c];
        if (src.IsDefined(r)) {
          AppendValue(src, v++, &d);
        } else {
          d.AddNull(rows[k]);
        }
        rows[k]++;
      }
      batch.columns[c].Release();
    }
    side[1].num_rows = part_slot_.size();
    side[0].num_rows = n - part_slot_.size();
    batch = std::move(side[0]);
    return part_spill_->AppendSplit(&side[1], part_slot_, part_files_, part_constant_,
                                    std::max<size_t>(settings_.split_buffer_bytes, 1u << 20));
  }

  // The instruments beyond the cap, one partition at a time: its rows read
  // back into a converter of its own (the next partition level), which
  // routes, spills and writes them as this one does its first instruments,
  // so no more than a cap's worth of instruments is held at once. Each
  // partition's objects are committed with its own; `outputs` gets their
  // results, partition after partition, each in order of name.
  Status FinishPartitions(OutputList* outputs) {
    MT_RETURN_IF_ERROR(part_spill_->Flush());
    for (uint32_t p = 0; p < kRoutingPartitions; p++) {
      if (part_spill_->num_rows(part_files_[p]) == 0) continue;
      if (settings_.cancel && settings_.cancel->load()) {
        return Status::Cancelled(hints_.source + ": interrupted while its objects were written; those committed "
                                 "before stay, each complete");
      }
      ConvertTarget target = target_;
      target.observers.clear();  // they saw every row as it was parsed
      ConvertSettings settings = settings_;
      settings.on_written = nullptr;  // this file's, once its last partition is committed
      Impl part(hints_, target, settings);
      part.level_ = level_ + 1;
      part.batch_input_ = true;
      part.source_bytes_ = SourceBytes();
      MT_RETURN_IF_ERROR(part.OnSchema(*schema_));
      part.plain_hint_ = plain_hint_;  // the objects' string modes are this file's
      MT_RETURN_IF_ERROR(part_spill_->ReadFile(part_files_[p], plain_hint_,
                                               [&part](RowGroupData rg) { return part.OnBatch(std::move(rg)); }));
      MT_ASSIGN_OR_RETURN(OutputList more, part.Finish());
      MT_RETURN_IF_ERROR(outputs->AddAll(more));
      kept_ += part.kept_;
      MT_RETURN_IF_ERROR(kept_outputs_.AddAll(part.kept_outputs_));
    }
    part_spill_.reset();
    return Status::OK();
  }

  // The bytes of the input as read, for the objects' metadata.
  uint64_t SourceBytes() const { return batch_input_ ? source_bytes_ : bytes_in(); }

  // Split of a grouped file whose outputs are all spilled, in batches that
  // give each output enough rows for a piece of its own: the rows go from
  // the batch straight into the spill's pieces (SpillWriter::AppendSplit),
  // one per output, with no pending row group per output in between.
  Status SplitToSpill(RowGroupData& batch) {
    const size_t n = batch.num_rows;
    const size_t m = touched_.size();
    // What Record() takes per output.
    const auto& ts = batch.columns[local_ts_col_].i64;
    ts_min_.assign(m, INT64_MAX);
    ts_max_.assign(m, INT64_MIN);
    last_row_.resize(m);
    for (size_t r = 0; r < n; r++) {
      const uint32_t k = slot_[r];
      ts_min_[k] = std::min(ts_min_[k], ts[r]);
      ts_max_[k] = std::max(ts_max_[k], ts[r]);
      last_row_[k] = static_cast<uint32_t>(r);
    }
    spill_files_.resize(m);
    for (size_t k = 0; k < m; k++) {
      Output* o = touched_[k];
      // Rows pending from smaller batches go first (row order).
      if (o->pending_rows() > 0) MT_RETURN_IF_ERROR(FlushPending(o));
      Record(o, o->batch_count, ts[first_row_[k]], ts[last_row_[k]], ts_min_[k], ts_max_[k], batch, first_row_[k]);
      o->batch_count = 0;
      spill_files_[k] = o->spill_file;
    }
    if (constant_cols_.size() != batch.columns.size()) {
      // Every row of an output has its route's exchange and symbol.
      constant_cols_.assign(batch.columns.size(), false);
      constant_cols_[kExchangeCol] = constant_cols_[kSymbolCol] = true;
    }
    // The pieces in the making take the split budget at most (a bigger
    // batch goes in ranges of rows), as pending rows did.
    return spill_->AppendSplit(&batch, slot_, spill_files_, constant_cols_,
                               std::max<size_t>(settings_.split_buffer_bytes, 1u << 20));
  }

  // Copies a column without nulls to the touched outputs' columns `member`:
  // each output's room is made once, then one pass over the rows
  // writes through a dense array of cursors (a few KB, stays in L1) instead
  // of a push_back through each row's output column (size and capacity of
  // thousands of vectors spread over the heap).
  template <typename T>
  void Scatter(const columnar::PodVector<T>& src, columnar::PodVector<T> ColumnData::*member) {
    cursors_.resize(touched_.size());
    T** cur = reinterpret_cast<T**>(cursors_.data());
    for (size_t k = 0; k < touched_.size(); k++) {
      columnar::PodVector<T>& d = (*cols_[k]).*member;
      // Exact room: pending rows are bounded by their size (split_buffer_bytes), so
      // no doubling slack on top.
      d.reserve(d.size() + touched_[k]->batch_count);
      cur[k] = d.Extend(touched_[k]->batch_count);
    }
    const uint32_t* slot = slot_.data();
    const T* v = src.data();
    const size_t n = src.size();
    for (size_t r = 0; r < n; r++) *cur[slot[r]]++ = v[r];
  }

  // A dictionary column's values into the touched outputs' columns, each
  // distinct value interned in an output once per batch and column
  // (remap_: per output and source index, the output's index), later rows
  // appending its index: an options chain's symbols and instrument keys are
  // thousands of long values, hashed and compared at every row otherwise.
  // False (nothing started) for a plain source, or when the map would take
  // more than kMaxRemapEntries (thousands of outputs of a grouped file).
  static constexpr size_t kMaxRemapEntries = 1 << 16;
  bool StartRemap(const StringColumn& src) {
    if (!src.dict_mode() || src.dict().empty() || touched_.size() * src.dict().size() > kMaxRemapEntries) {
      return false;
    }
    remap_.assign(touched_.size() * src.dict().size(), UINT32_MAX);
    return true;
  }
  // Value v of `src` (StartRemap'd) to output k's column d. An output column
  // that has gone plain (its dictionary full) takes the value itself.
  void AppendRemapped(const StringColumn& src, size_t v, uint32_t k, StringColumn* d) {
    const uint32_t i = src.constant() ? 0 : src.indices()[v];
    uint32_t& m = remap_[static_cast<size_t>(k) * src.dict().size() + i];
    if (m != UINT32_MAX && d->dict_mode()) {
      d->AppendIndex(m);
      return;
    }
    d->Append(src.dict()[i]);
    if (d->dict_mode()) m = d->last_index();
  }

  // Scatter for a plain string column (trade ids) whose outputs are plain
  // too: the text each output gets is counted first, so each output's room
  // is made once and the values are copied through cursors. False (nothing
  // done) when the source or an output column is a dictionary.
  bool ScatterPlain(const StringColumn& src) {
    if (src.dict_mode()) return false;
    for (size_t k = 0; k < touched_.size(); k++) {
      if (cols_[k]->str.dict_mode()) return false;
    }
    const size_t n = src.size();
    const uint32_t* slot = slot_.data();
    text_.assign(touched_.size(), 0);
    for (size_t r = 0; r < n; r++) text_[slot[r]] += src.Get(r).size();
    offset_cursors_.resize(touched_.size());
    text_cursors_.resize(touched_.size());
    for (size_t k = 0; k < touched_.size(); k++) {
      StringColumn& d = cols_[k]->str;
      const size_t at = d.text_size();
      text_cursors_[k] = d.ExtendPlain(touched_[k]->batch_count, text_[k], &offset_cursors_[k]);
      text_[k] = at;  // from here on: the next value's start
    }
    for (size_t r = 0; r < n; r++) {
      const std::string_view v = src.Get(r);
      const uint32_t k = slot[r];
      *offset_cursors_[k]++ = static_cast<uint32_t>(text_[k]);
      if (!v.empty()) std::memcpy(text_cursors_[k], v.data(), v.size());
      text_cursors_[k] += v.size();
      text_[k] += v.size();
    }
    return true;
  }

  // plain_hint_ as it is now, one copy per change shared by the outputs
  // that take it (not one per output).
  std::shared_ptr<const std::vector<bool>> HintNow() {
    if (!hint_now_ || *hint_now_ != plain_hint_) hint_now_ = std::make_shared<const std::vector<bool>>(plain_hint_);
    return hint_now_;
  }

  RowGroupData& PendingOf(Output* out) {
    if (!out->pending) {
      out->pending = std::make_unique<RowGroupData>(columnar::MakeRowGroup(pq_schema_, out->pending_hint.get()));
    }
    return *out->pending;
  }

  Status FlushPending(Output* out) {
    if (out->pending_rows() == 0) return Status::OK();
    RowGroupData rg = std::move(*out->pending);
    out->pending.reset();
    out->pending_hint = HintNow();
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
    MT_ASSIGN_OR_RETURN(Route * route, RouteFor(hints_.exchange, hints_.symbol, 0));
    route->out->exchange = hints_.exchange;
    route->out->symbol = hints_.symbol;
    return Status::OK();
  }

  // Writes the footer (a streamed output) or assembles the object from the
  // spill; `seal`: a spilled object is then sealed (its descriptor closed)
  // for CommitOutput after the store's SyncSealed().
  Status WriteOutput(Output* out, bool seal, ThreadPool* column_pool = nullptr,
                     parquet::SpillWriter::Scratch* scratch = nullptr) {
    if (out->exists) return Status::OK();
    std::vector<std::pair<std::string, std::string>> kv = {
        {"source", hints_.source},
        {"source_bytes", std::to_string(SourceBytes())},
        {"row_count", std::to_string(out->info.rows)},
        {"first_timestamp", out->info.rows ? FormatIsoMicros(out->info.first_local_ts) : ""},
        {"last_timestamp", out->info.rows ? FormatIsoMicros(out->info.last_local_ts) : ""},
        {"tool_version", settings_.tool_version},
        {"created_at", FormatIsoMicros(CreatedAtMicros())},
        {"data_type", schema_ ? schema_->name : ""},
        {"exchange", out->exchange},
        // A chain holds many symbols: its metadata names the grouped file's.
        {"symbol", out->chain ? hints_.symbol : out->symbol},
    };
    if (!out->info.instrument_key.empty()) kv.emplace_back("instrument_key", out->info.instrument_key);
    if (out->info.unkeyed) kv.emplace_back("unkeyed_reason", out->info.note);
    if (out->terms) AppendTermsKv(*out->terms, &kv);
    if (out->spilled) {
      auto obj = target_.store->Create(out->object_name, target_.overwrite);
      if (!obj.ok() && obj.status().code() == Status::Code::kAlreadyExists) {
        out->exists = true;  // done by an earlier run: kept as it is
        spill_->Discard(out->spill_file);  // its pieces are not read
        return Status::OK();
      }
      if (!obj.ok()) return obj.status();
      out->object = std::move(obj).value();
      parquet::SpillWriter::GroupTransform add_key;
      if (!schema_->row_keys) {
        add_key.schema = out_schema_;
        add_key.apply = [key = out->info.instrument_key](RowGroupData* rg) { tardis::InsertFileKeyColumn(rg, key); };
        add_key.undo = [](RowGroupData* rg) { rg->columns.erase(rg->columns.begin() + tardis::kInstrumentKeyColumn); };
      }
      MT_RETURN_IF_ERROR(spill_->WriteFile(out->spill_file, out->object.get(), kv, assembly_hint_, column_pool,
                                           schema_->row_keys ? nullptr : &add_key, scratch));
      if (seal) MT_RETURN_IF_ERROR(out->object->Seal());
    } else {
      MT_RETURN_IF_ERROR(out->writer->Finish(kv));
    }
    out->info.bytes = out->object->bytes_written();
    return Status::OK();
  }

  // target_.before_commit, once per converter, whichever thread commits first.
  Status BeforeFirstCommit() {
    if (!target_.before_commit) return Status::OK();
    std::lock_guard<std::mutex> l(before_commit_mu_);
    if (!before_commit_done_) {
      before_commit_status_ = target_.before_commit();
      before_commit_done_ = true;
    }
    return before_commit_status_;
  }

  Status CommitOutput(Output* out) {
    if (out->exists) return Status::OK();
    if (target_.claim) MT_RETURN_IF_ERROR(target_.claim(out->object_name, out->exchange, out->symbol));
    Status st = BeforeFirstCommit();
    if (!st.ok()) {
      if (target_.release) target_.release(out->object_name);
      return st;
    }
    st = out->object->Commit();
    out->object.reset();  // its descriptor and upload buffer go now
    out->writer.reset();
    if (st.code() == Status::Code::kAlreadyExists) {
      // Done by someone else meanwhile (a concurrent run of the same item):
      // theirs is kept and not listed as ours.
      out->exists = true;
      return Status::OK();
    }
    if (!st.ok() && target_.release) target_.release(out->object_name);
    return st;
  }

  SourceHints hints_;
  ConvertTarget target_;
  ConvertSettings settings_;
  std::unique_ptr<tardis::ParallelCsvParser> parser_;
  std::unique_ptr<io::Decompressor> decomp_;
  // Their counters once they are freed (ReleaseInput).
  uint64_t input_rows_ = 0, input_bytes_in_ = 0, input_bytes_out_ = 0;
  // Outputs that existed under a create-only target and were kept as they
  // were (not in Finish's list).
  uint64_t kept_ = 0;
  OutputList kept_outputs_;  // with settings_.list_kept: the objects kept_ counts
  // The threads of the observers (observer_threads), which target_.observers then names.
  std::vector<std::unique_ptr<derive::ThreadedObserver>> threaded_;
  const tardis::DataTypeSchema* schema_ = nullptr;
  std::vector<columnar::ColumnSpec> pq_schema_;   // of the batches routed
  std::vector<columnar::ColumnSpec> out_schema_;  // of the files written: plus the file's instrument_key
  size_t local_ts_col_ = kLocalTsCol;  // in batches as written (after instrument_key)
  std::vector<bool> plain_hint_;  // string columns the parser found plain (trade ids)
  std::shared_ptr<const std::vector<bool>> hint_now_;  // HintNow()'s copy of plain_hint_
  std::vector<bool> assembly_hint_;  // plain_hint_ for spilled objects, set by Finish
  // Ordered by object name so outputs are finished (and listed) deterministically.
  std::map<std::string_view, std::unique_ptr<Output>> outputs_;
  std::unordered_map<std::string, Route> routes_;
  // options_chain: each symbol, by a hash of its option key (RouteFor).
  std::unordered_multimap<uint64_t, std::string> chain_symbols_;
  std::string route_id_;
  std::unique_ptr<parquet::SpillWriter> spill_;
  bool direct_taken_ = false;
  Output* single_ = nullptr;
  Output* fixed_ = nullptr;
  // Split's scratch, reused across batches.
  std::vector<Output*> row_out_, touched_;
  std::vector<Route*> row_route_, dict_route_;
  std::vector<uint32_t> key_index_;  // AddKeyColumn's: per symbol of the batch, its key's index
  std::vector<uint32_t> remap_;      // StartRemap's
  std::vector<uint32_t> slot_, seen_, first_row_;
  std::vector<RowGroupData*> dests_;
  std::vector<ColumnData*> cols_;
  std::vector<void*> cursors_;  // Scatter's write positions, one per touched output
  std::vector<size_t> text_;  // ScatterPlain's text per touched output, then its next offset
  std::vector<uint32_t*> offset_cursors_;
  std::vector<char*> text_cursors_;
  std::vector<RowGroupData> own_;
  // SplitToSpill's scratch.
  std::vector<int64_t> ts_min_, ts_max_;
  std::vector<uint32_t> last_row_, spill_files_;
  std::vector<bool> constant_cols_;
  // A file of one instrument: its symbol as file names spell it, the last
  // row symbol found to be it, and the rows of the batches before (a row's
  // line is rows before it + 2: the header is line 1, a row is one line).
  bool one_instrument_ = false;
  std::string want_symbol_, matched_symbol_;
  uint64_t rows_before_ = 0;
  uint64_t batch_first_line_ = 0;  // input line of the current batch's first row (0: unknown)
  // Instruments beyond the cap (ConvertSettings::max_routed_instruments):
  // their rows go raw to part_spill_ (file part_files_[p] for partition p)
  // and are split at Finish by a converter of their own, of partition level
  // level_ + 1, fed the rows read back (batch_input_).
  int level_ = 0;
  bool batch_input_ = false;
  uint64_t source_bytes_ = 0;  // a partition's: its file's bytes as read
  std::unique_ptr<parquet::SpillWriter> part_spill_;
  std::vector<Route> part_routes_;  // one per partition
  std::vector<uint32_t> part_files_, part_slot_;
  std::vector<bool> part_constant_;
  bool batch_partitioned_ = false;  // a row of the batch being routed went to a partition
  Status status_;
  // Bad data of a gzip input, held until the gzip's check (see
  // ConvertSettings::check_gzip_on_bad_data); the input is no longer parsed.
  Status bad_data_;
};

TickConverter::TickConverter(SourceHints hints, ConvertTarget target, ConvertSettings settings)
    : impl_(std::make_unique<Impl>(std::move(hints), std::move(target), std::move(settings))) {}
TickConverter::~TickConverter() = default;
Status TickConverter::Write(const uint8_t* data, size_t n) { return impl_->Write(data, n); }
Result<OutputList> TickConverter::Finish() { return impl_->Finish(); }

Status GroupedFileNeedsDefinitions(std::string_view exchange, const Date& day) {
  const std::string ex = EscapeOutsideText(exchange, 80), d = FormatDate(day);
  return Status::InvalidInput(
      "the symbols of exchange '" + ex + "' do not tell their instrument type (no symbol rule) and the store's "
      "instrument definitions for " + d + " list no instrument of " + ex + " (none were written, or instruments "
      "rejected its symbols: their keys need instrument metadata, which needs TARDIS_API_KEY), so no row of this "
      "grouped file has an instrument key and nothing of it was written; run `market-tick instruments --from " + d +
      " --exchanges " + ex + "` into the output store first (with a key), then again (or convert to one file with "
      "--output FILE.parquet)");
}

void AppendTermsKv(const ContractTerms& terms, std::vector<std::pair<std::string, std::string>>* kv) {
  auto number = [](double v) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
    return std::string(buf, r.ptr);
  };
  if (terms.contract_size) kv->emplace_back("contract_size", number(*terms.contract_size));
  if (terms.inverse) kv->emplace_back("inverse", *terms.inverse ? "true" : "false");
  if (terms.tick_size) kv->emplace_back("tick_size", number(*terms.tick_size));
  if (!terms.price_currency.empty()) kv->emplace_back("price_currency", terms.price_currency);
  if (!terms.settle_asset.empty()) kv->emplace_back("settle_asset", terms.settle_asset);
  if (!terms.amount_unit.empty()) kv->emplace_back("amount_unit", terms.amount_unit);
}

const std::vector<MetadataKeyDoc>& TickFileMetadataDocs() {
  static const std::vector<MetadataKeyDoc> kDocs = {
      {"source", "the CSV file or dataset URL the rows came from (no secrets)"},
      {"source_bytes", "bytes of the source as read (compressed)"},
      {"row_count", "rows in the file"},
      {"first_timestamp", "`local_timestamp` of the first row, ISO-8601 UTC (empty without rows)"},
      {"last_timestamp", "`local_timestamp` of the last row, ISO-8601 UTC (empty without rows)"},
      {"tool_version", "market-tick version that wrote the file"},
      {"created_at", "when the file was written, ISO-8601 UTC (`SOURCE_DATE_EPOCH` when set)"},
      {"data_type", "Tardis data type (`trades`, `book_snapshot_25`, ...)"},
      {"exchange", "Tardis exchange id"},
      {"symbol", "Tardis symbol (options_chain: the grouped file's, e.g. `OPTIONS`)"},
      {"instrument_key", "the file's instrument key (options_chain: the chain's key); absent for unkeyed rows"},
      {"unkeyed_reason", "only for rows kept under `{VENUE}:UNKEYED:{symbol}`: why the symbol has no key"},
      {"contract_size",
       "what one contract is: base asset for linear contracts, quote currency for inverse ones, the venue's multiplier unit for "
       "quanto ones (docs/INSTRUMENTS.md)"},
      {"inverse", "`true` or `false`: whether the contract is inverse (margined and settled in the base coin)"},
      {"tick_size", "the price increment, in `price_currency`"},
      {"price_currency", "the currency `price` is in (option premiums: BTC on Deribit and OKX inverse options)"},
      {"settle_asset", "the asset the contract settles in"},
      {"amount_unit",
       "what one unit of `amount` is: `base` (coins), `contracts` (`contract_size` each) or `quote` (quote-currency "
       "notional); with `contract_size` one file is enough to turn amounts into notional"},
  };
  return kDocs;
}
void TickConverter::Abort() { impl_->Abort(); }
uint64_t TickConverter::bytes_in() const { return impl_->bytes_in(); }
uint64_t TickConverter::bytes_out_csv() const { return impl_->bytes_out(); }
uint64_t TickConverter::rows() const { return impl_->rows(); }
uint64_t TickConverter::kept() const { return impl_->kept(); }
const OutputList& TickConverter::kept_outputs() const { return impl_->kept_outputs(); }

derive::EngineOptions DeriveEngineOptions(const std::vector<derive::DerivedSpec>& specs, storage::ObjectStore* store,
                                          bool overwrite, const SourceHints& hints, const ConvertSettings& settings) {
  derive::EngineOptions eo;
  eo.specs = specs;
  eo.store = store;
  eo.overwrite = overwrite;
  eo.writer = settings.writer;
  // On its own thread the engine encodes its row groups there: a writer on
  // the pool would run queued pool tasks while it waits, parse blocks among
  // them, whose rows it would then wait to queue to itself.
  if (settings.observer_threads) eo.writer.pool = nullptr;
  eo.source = hints.source;
  eo.day = hints.day;
  eo.exchange = hints.exchange;  // an input without rows: zero-row series, as its raw object
  eo.symbol = hints.symbol;
  eo.tool_version = settings.tool_version;
  return eo;
}

}  // namespace mt::pipeline
