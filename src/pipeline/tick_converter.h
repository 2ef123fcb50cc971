// The streaming engine shared by `convert` and `download`: compressed Tardis
// bytes in (push), Parquet objects out. Bytes flow decompressor -> CSV parser
// -> per-instrument row groups -> Parquet writers -> object store, with
// bounded buffers: memory does not grow with input size.
// Grouped files (OPTIONS, FUTURES, ...): every instrument's rows go raw into
// one spill file (parquet::SpillWriter); at Finish each object is encoded
// from it as one row group per instrument, on up to --threads threads, the
// cancel flag polled between objects. (options_chain and files without a
// grouped name: the first output streams to its object, the others are
// spilled.) Whatever the instrument count: a few descriptors per thread,
// memory bounded by ConvertSettings::split_buffer_bytes plus a few totals
// per instrument (the spilled pieces' places go to a temporary file).
// Every file written has an `instrument_key` column after `symbol`: the
// object's key in every row (null for rows kept without a key), added to each
// row group as it is written or assembled, so routing never copies it.
// options_chain rows go one object per underlying (VENUE:OPTIONS:BASE-QUOTE)
// with each row's own key in that column. Two symbols that give
// one key fail the file (no output), naming both; a symbol with no key is
// kept under a fallback name (OutputFile::unkeyed).
// A file of one instrument (hints name an exchange and a symbol that is not
// grouped) holds that instrument's rows only: a row of another exchange or
// symbol fails the file with its line, and nothing of it is written.
// Objects appear only when Finish() succeeds; Abort() (or destruction before
// Finish) leaves nothing behind.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "core/time_util.h"
#include "io/decompress.h"
#include "pipeline/output_list.h"
#include "parquet/file_writer.h"
#include "derive/batch_observer.h"
#include "derive/names.h"
#include "storage/object_store.h"
#include "tardis/instrument_key.h"
#include "tardis/parallel_csv_parser.h"
#include "tardis/schema.h"

namespace mt::derive {
struct EngineOptions;
}  // namespace mt::derive

namespace mt::pipeline {

// An instrument's contract terms on one day, as the day's instrument
// definitions give them (docs/INSTRUMENTS.md columns of the same names).
// Unset or "": unknown, and then left out of a file's metadata (never
// guessed).
struct ContractTerms {
  std::optional<double> contract_size, tick_size;
  std::optional<bool> inverse;
  std::string price_currency, settle_asset, amount_unit;
  bool empty() const {
    return !contract_size && !tick_size && !inverse && price_currency.empty() && settle_asset.empty() &&
           amount_unit.empty();
  }
};

// Appends the known terms as key-value metadata entries, in the order of
// TickFileMetadataDocs(): contract_size and tick_size as the shortest
// decimal that reads back as the same double, inverse as true|false, the
// strings as they are. Unknown terms are left out.
void AppendTermsKv(const ContractTerms& terms, std::vector<std::pair<std::string, std::string>>* kv);

// Every key-value metadata key of a tick file and what it holds, in the
// order files carry them (docs/SCHEMAS.md "File metadata", generated from
// this table).
struct MetadataKeyDoc {
  const char* key;
  const char* meaning;
};
const std::vector<MetadataKeyDoc>& TickFileMetadataDocs();

// Maps a row's Tardis exchange id and symbol to its instrument key. Every
// command that names objects (convert, download, validate) keys through one
// of these, so they agree on every key. Without one (ConvertTarget::keys is
// null) the venue's symbol rules apply (tardis::KeyFromTardisSymbol).
class KeyResolver {
 public:
  virtual ~KeyResolver() = default;
  virtual Result<tardis::InstrumentKey> Resolve(std::string_view exchange,
                                                std::string_view symbol) const = 0;
  // The key of a row of `day` (the day the row is filed under). A resolver
  // of one day ignores the day; RowDayKeyResolver (key_resolver.h) keys each
  // row from its own day's definitions, for files whose name gives no day.
  virtual Result<tardis::InstrumentKey> ResolveOn(const Date& day, std::string_view exchange,
                                                  std::string_view symbol) const {
    (void)day;
    return Resolve(exchange, symbol);
  }
  // The terms of the instrument keyed `key` on `day` (the day its rows are
  // filed under), for the tick file's key-value metadata (docs/SCHEMAS.md,
  // File metadata). None when no definitions are known (the symbol rules).
  // An error only when the day's definitions could not be read.
  virtual Result<std::optional<ContractTerms>> TermsOn(const Date& day, const std::string& key) const {
    (void)day;
    (void)key;
    return std::optional<ContractTerms>();
  }
  // Whether instrument definitions of `exchange` on `day` are behind these
  // keys (the day's definitions list an instrument of it); false for the
  // symbol rules alone. On a venue without a symbol rule no row of a grouped
  // file has a key without them: GroupedFileNeedsDefinitions. An error only
  // when the day's definitions could not be read.
  virtual Result<bool> ListsExchange(const Date& day, std::string_view exchange) const = 0;
};

// The error of a grouped file (OPTIONS, PERPETUALS, ...) of `exchange` on
// `day` keyed without definitions of that exchange on a venue whose symbols
// do not tell their instrument type (tardis::HasSymbolRule false): none of
// its rows has a key, so it is refused whole, before anything is written,
// rather than kept under UNKEYED names with a completion record that would
// make the rerun the hint asks for skip the item.
Status GroupedFileNeedsDefinitions(std::string_view exchange, const Date& day);

struct ConvertTarget {
  // Exactly one of: a single output file, or a store with the layout of docs/STORAGE.md.
  std::string single_file;                 // --output FILE.parquet
  storage::ObjectStore* store = nullptr;   // --output DIR or gs://...
  bool overwrite = true;                   // false: create-only (existing objects kept)
  // With a store: put every row in this one object (a download of one
  // instrument's file) instead of routing rows by their symbol.
  std::string fixed_object;
  std::string fixed_key;
  // Keys rows of grouped files; null: the venue's symbol rules. Not owned.
  const KeyResolver* keys = nullptr;
  // Read every parsed batch before it is routed (derived data); finished
  // before the raw outputs, aborted with them. Not owned.
  std::vector<derive::BatchObserver*> observers;
  // Called once, right before the first object of the input is committed
  // (when every row is read and keyed, and, on a store that commits in one
  // batch, every object written): a forcing run removes its grouped item's
  // earlier completion record there, so an input that fails keeps it, and
  // a run stopped while it commits leaves none. Its error fails the input.
  std::function<Status()> before_commit;
  // Called with each object right before it is committed, with the exchange
  // and symbol of its rows; its error fails the input (convert: the object
  // another input of the run wrote from another symbol). May be empty.
  std::function<Status(const std::string& object, std::string_view exchange, std::string_view symbol)> claim;
  // Called when the commit of an object `claim` passed fails. May be empty.
  std::function<void(const std::string& object)> release;
};

struct SourceHints {
  std::string source;        // path or URL, for messages and metadata
  std::optional<Date> day;   // from the file name or URL
  std::string exchange;      // from the file name or URL (used for zero-row output)
  std::string symbol;        // idem
  const tardis::DataTypeSchema* data_type = nullptr;  // forced (--data-type) or from the URL
  // Where exchange and symbol come from, for the message when a row of a
  // one-instrument file names another instrument.
  std::string named_by = "the file name";
};

struct ConvertSettings {
  parquet::WriterOptions writer;
  tardis::ParserOptions parser;
  io::GzipEngine gzip = io::GzipEngine::kAuto;
  // Upper bound on rows buffered across all instruments of a grouped file
  // before the largest buffer is flushed as a row group.
  size_t split_buffer_bytes = 32u << 20;
  // Instruments of a grouped file split per instrument that are routed to
  // objects of their own as the file is read. The instruments beyond go by a
  // hash of their object's name to partitions of a spill, and each partition
  // is split the same way at Finish, after the first ones are written, so
  // the state kept per instrument (output, route, spill index) is held for
  // at most this many at a time, whatever the file's instrument count. The
  // routes of an options chain or of the one output file (one per symbol)
  // are dropped past this many and made again. The objects hold the same
  // rows, in the same order, with the same metadata either way, and are the
  // same bytes when an instrument's rows make one row group; a bigger
  // instrument's row groups are cut where the pieces its rows were spilled
  // in end, and those differ past the cap.
  size_t max_routed_instruments = 32768;
  std::string tool_version;
  // Parse blocks of the text on the writer's pool, so decompression (the
  // caller's thread), parsing and encoding overlap and parsing scales with
  // cores. Off (or no pool) = parse on the caller's thread.
  bool parallel_parse = false;
  // Bad data (kInvalidInput: a row that does not parse, a symbol with no
  // key) in a gzip input is reported only once the rest of the input has
  // been decompressed (not parsed) to the gzip's CRC32 check: bytes damaged
  // on the way decompress to rows that do not parse before the check finds
  // them. A damaged gzip then fails Write or Finish as kDataLoss (damaged
  // bytes, which a download fetches again), a whole one with the bad data.
  // For downloads, which read the input whatever it holds; convert reports
  // bad data at once.
  bool check_gzip_on_bad_data = false;
  // Run each of ConvertTarget::observers on a thread of its own, fed with
  // copies of the rows as they are parsed (derive::ThreadedObserver), so
  // derived data is computed beside the parse and the raw encoding instead
  // of after them. Off: on the thread that hands over the batches.
  bool observer_threads = false;
  // Threads that assemble a grouped file's objects at Finish, at most (0:
  // the pool's and the caller's): each holds an object and its footer spill
  // open, so the job sets it to what the open-file limit leaves room for.
  int max_assembly_threads = 0;
  // Polled between the objects of a grouped file at Finish (kCancelled).
  const std::atomic<bool>* cancel = ProcessCancelFlag();
  // Called once, on the thread that calls Finish, as soon as every object of
  // the file is written and what converting it held (routes, spill, the
  // buffers of assembly) is freed, before the objects are made durable and
  // put in place (a store that batches commits: SyncSealed, the renames):
  // what Finish has left to do holds little memory. A file past
  // max_routed_instruments (its partitions are converted after its first
  // objects are committed) or with observers (finished after the raw
  // objects): once Finish has done everything. Not called when Finish fails
  // before that point.
  std::function<void()> on_written;
  // List the objects a create-only target already had (kept_outputs()):
  // their series are still computed where missing (convert --no-force
  // --derive of a grouped file).
  bool list_kept = false;
};

class TickConverter {
 public:
  TickConverter(SourceHints hints, ConvertTarget target, ConvertSettings settings);
  ~TickConverter();

  Status Write(const uint8_t* data, size_t n);
  // Completes every output and makes it visible; lists them in order of
  // object name (a grouped file past max_routed_instruments: its first
  // instruments', then each partition's).
  Result<OutputList> Finish();
  void Abort();

  uint64_t bytes_in() const;
  uint64_t bytes_out_csv() const;
  uint64_t rows() const;
  // Objects a create-only target (overwrite = false) already had, kept as
  // they were and left out of Finish's list.
  uint64_t kept() const;
  // Those objects (name as written, instrument key), with
  // ConvertSettings::list_kept; after Finish.
  const OutputList& kept_outputs() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The options of a derive engine fed by the converter of HINTS' input with
// SETTINGS: its series go to STORE written as the raw objects are (writer,
// tool version), with HINTS' day and instrument for a file without rows.
// The caller sets how rows are keyed (EngineOptions::key).
derive::EngineOptions DeriveEngineOptions(const std::vector<derive::DerivedSpec>& specs, storage::ObjectStore* store,
                                          bool overwrite, const SourceHints& hints, const ConvertSettings& settings);

}  // namespace mt::pipeline
