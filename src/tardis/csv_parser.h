// Streaming parser of Tardis CSV text into column batches. Push model: feed
// decompressed bytes in chunks of any size (lines may straddle chunks), then
// Finish(). The first line is the header and selects the schema. Errors name
// the source, line, byte column, CSV column and the raw text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "columnar/column_data.h"
#include "core/status.h"
#include "tardis/schema.h"

namespace mt::tardis {

class BatchSink {
 public:
  virtual ~BatchSink() = default;
  // Called once, after the header (or at Finish for headerless empty input
  // with a forced schema).
  virtual Status OnSchema(const DataTypeSchema& schema) = 0;
  // A full batch of rows, in input order.
  virtual Status OnBatch(columnar::RowGroupData batch) = 0;
  // Rows [begin, end) of `rows` are parsed and final, in input order: every
  // row is passed here exactly once, before the batch that holds it goes to
  // OnBatch(), so a sink may start on rows while later ones are parsed.
  // `rows` is borrowed for the call only (a parsed block, or the batch being
  // filled); called on the thread and under the rules of OnBatch().
  virtual Status OnRows(const columnar::RowGroupData& rows, size_t begin, size_t end) {
    (void)rows, (void)begin, (void)end;
    return Status::OK();
  }
};

// The longest line a Tardis CSV file may hold. Real lines are at most a few
// KB (a book_snapshot_25 row); a much longer one is a file that is not Tardis
// CSV, and a parse holds a line several times over (its text, its block, its
// parsed cells), so a longer limit let one line break the memory bound.
inline constexpr size_t kMaxLineBytes = 1u << 20;
// The error for a line longer than kMaxLineBytes at `line` of `source`.
Status LineTooLong(const std::string& source, uint64_t line);

struct ParserOptions {
  size_t batch_rows = 1'000'000;
  size_t batch_bytes = 64u << 20;  // flush earlier when a batch holds this much
  // Schema for input with no header line at all (an empty day), when the
  // data type is known from elsewhere (file name, URL).
  const DataTypeSchema* empty_input_schema = nullptr;
  // Without a forced data type, a header that several data types share
  // (trades and liquidations, quotes and book_ticker) is an error naming
  // them; off, the first in AllSchemas() order is taken (for tests and
  // tools that only need the column layout, which such types share).
  bool ambiguous_header_is_error = false;
  // Where a forced data type came from ("--data-type", "the file name",
  // "the work item"), for the message when the header is another type's.
  std::string data_type_origin;
  // ParallelCsvParser: bytes of text per block parsed on a pool thread. A
  // block is a few thousand rows: big enough that the hand-offs cost little,
  // small enough that the blocks in flight stay in cache and memory.
  size_t block_bytes = 1u << 20;
  // ParallelCsvParser: at most this many blocks dispatched and not yet
  // joined (0: as many as keep the pool busy, see parallel_csv_parser.cc).
  // For a sink slower than the parse (a grouped file's split), where blocks
  // parsed further ahead only wait in memory.
  size_t max_unjoined_blocks = 0;
  // Rows of one batch (or one block of a ParallelCsvParser) whose
  // "exchange,symbol," differs from the previous row's before the parser
  // starts remembering such prefixes (CsvParser::prefix_cache_): a grouped
  // file passes this within its first rows, a file of one instrument (one
  // such row a batch or block) never does. The fuzzer sets 0 for its
  // sequential parse; the blocks of a ParallelCsvParser take the default.
  size_t prefix_cache_after_misses = 256;
};

class CsvParser {
 public:
  // `forced` (may be null) is the data type known from outside the file
  // (--data-type, the file name, the work item); the header must then be
  // that type's. Without it the header must fit exactly one data type. `sink` must outlive the parser.
  CsvParser(std::string source, const DataTypeSchema* forced, BatchSink* sink,
            ParserOptions opts = {});

  Status Feed(const char* data, size_t n);
  Status Finish();

  // Block mode, for parsing one newline-aligned piece of a file on any
  // thread: no header, no sink; the rows stay in the batch until TakeBatch().
  // Line numbers in errors count from the block start until the block's
  // place in the file is known: FormatError(lines before the block) then
  // gives the message a whole-file parse would have given.
  Status ParseBlock(const DataTypeSchema& schema, const std::vector<bool>& plain_strings,
                    size_t reserve_rows, const char* data, size_t n);
  // The rows of the last ParseBlock(); its memory is reused by the next.
  const columnar::RowGroupData& batch() const { return batch_; }
  std::string FormatError(uint64_t lines_before) const;
  uint64_t lines() const { return line_; }

  const DataTypeSchema* schema() const { return schema_; }
  uint64_t rows() const { return rows_; }
  // Whether rows' prefixes are remembered (a file of many instruments).
  bool remembers_prefixes() const { return prefix_cache_ != nullptr; }

 private:
  // The row parsers return false with the error in status_ (no Status built
  // per row).
  using RowParser = bool (CsvParser::*)(const char*, const char*);
  using LineParser = bool (CsvParser::*)(const char**, const char*);
  // One line (the header, or a row carried over between chunks).
  bool ProcessLine(const char* p, const char* e);
  const char* CountLine(const char* p, const char* e);
  bool ParseRowLine(const char* p, const char* e, RowParser row);
  template <RowParser Row>
  bool ParseLines(const char** p, const char* end);
  Status ParseHeader(std::string_view line);
  // Picks parse_row_ for schema_.
  void SelectRowParser();
  bool ParseRowGeneric(const char* line_begin, const char* e);
  template <columnar::ColumnKind... K>
  bool ParseRowAs(const char* line_begin, const char* e);
  bool ParsePrefix(const char* line_begin, const char* e, const char** p);
  // ParsePrefix for a row that does not repeat the previous row's prefix:
  // from prefix_cache_ when it holds the row's "exchange,symbol,"; false
  // (nothing appended) when it does not.
  bool PrefixFromCache(const char* line_begin, const char* e, const char** p);
  // Enters the prefix just parsed, [line_begin, line_begin + len), with the
  // dictionary indices its two values got.
  void RememberPrefix(const char* line_begin, size_t len);
  // Whether prefix_cache_'s entries were made with the batch's current
  // exchange and symbol dictionaries; if not, a new generation (every entry
  // then misses) starts for them, and false.
  bool PrefixCacheCurrent();
  template <columnar::ColumnKind K>
  bool ParseField(columnar::ColumnData& col, size_t i, bool last, const char* line_begin, const char* e,
                  const char** p);
  template <columnar::ColumnKind K>
  bool ParseValue(columnar::ColumnData& col, const char* p, const char* e, const char** q, bool* null);
  bool EndRow();
  __attribute__((cold, noinline)) bool ValueError(const char* line_begin, const char* e, const char* p,
                                                  size_t col);
  __attribute__((cold, noinline)) bool TextError(const char* line_begin, const char* e, const char* p, size_t col);
  // Whether the text about to be parsed may hold bytes a text value must not
  // have (NUL, non-ASCII): only then is each text field checked.
  void CheckTextOf(const char* p, size_t n);
  __attribute__((cold, noinline)) bool ColumnCountError(const char* line_begin, const char* e,
                                                        const char* q, size_t col);
  __attribute__((cold, noinline)) bool Fail(const char* line_begin, const char* line_end, const char* at,
                                            size_t col, const std::string& what);
  Status Error(const char* line_begin, const char* line_end, const char* at, size_t col,
               const std::string& what);
  Status EmitBatch();
  // Passes the rows of batch_ not yet told to the sink's OnRows().
  Status TellRows();
  // A new batch with room for the last batch's rows, or for `reserve_rows`
  // (at most kFirstReserveBytes of values) when there was none.
  void StartBatch(size_t reserve_rows);
  static constexpr size_t kFirstReserveBytes = 4u << 20;
  // How much of a cell a row error quotes (the raw row under it is cut too):
  // an error is one line of a log, a summary or a report, whatever the input.
  static constexpr size_t kQuotedCellBytes = 100;

  // The parts of the last row error, kept so block mode can renumber it.
  struct RowError {
    uint64_t line = 0;
    size_t byte_col = 0;
    std::string what;  // message and column name
    std::string raw;   // the line, control bytes replaced
  };

  std::string source_;
  const DataTypeSchema* forced_;
  BatchSink* sink_;
  ParserOptions opts_;
  const DataTypeSchema* schema_ = nullptr;
  RowParser parse_row_ = nullptr;
  LineParser parse_lines_ = nullptr;  // parse_row_ over the whole lines of a chunk
  std::string carry_;
  uint64_t line_ = 0;  // 1-based number of the line being parsed
  uint64_t rows_ = 0;
  size_t last_batch_rows_ = 0;
  size_t rows_told_ = 0;  // rows of batch_ passed to the sink's OnRows()
  std::vector<size_t> last_text_bytes_;  // of the last batch's plain string columns
  columnar::RowGroupData batch_;
  std::vector<bool> plain_hint_;
  // "exchange,symbol," of the previous row: rows of one file nearly always
  // repeat it, so a memcmp replaces two field scans and lookups. Length 0
  // when the batch holds no row to repeat, a column of the two is plain, or
  // the prefix is longer than the memo. A fixed array: in a grouped file the
  // prefix changes at nearly every row, and is copied as often.
  static constexpr size_t kMaxPrefix = 64;
  char prev_prefix_[kMaxPrefix];
  size_t prev_prefix_len_ = 0;
  // The prefixes of rows that did not repeat the previous row's, with the
  // dictionary indices their exchange and symbol got: a grouped file's rows
  // go from instrument to instrument at nearly every row, and a hit here
  // replaces two field scans and a dictionary lookup by one hash probe and
  // one compare. Two ways a set (a prefix goes into way 0, the older one
  // moves to way 1), so the thousands of instruments of a grouped file
  // mostly stay in. An entry holds while the two columns' dictionaries only
  // grow (their DictId values are those of prefix_dicts_); any other change,
  // a new batch whose dictionaries start empty included, empties the cache
  // by a new generation. Made after ParserOptions::prefix_cache_after_misses
  // misses of the memo above in one batch or block, so a file of one
  // instrument never makes it; then kept (512 KB) until the parser goes:
  // a file of many instruments holds one per block parser, about as many
  // as the blocks it keeps in flight (ParserOptions::max_unjoined_blocks).
  // Prefixes longer than kCachedPrefix are not cached.
  static constexpr size_t kCachedPrefix = 51;
  struct alignas(64) PrefixEntry {
    uint32_t generation;
    uint32_t exchange_index;
    uint32_t symbol_index;
    uint8_t len;
    char bytes[kCachedPrefix];
  };
  static constexpr size_t kPrefixSetBits = 12;
  std::unique_ptr<PrefixEntry[]> prefix_cache_;  // set s: entries 2s and 2s + 1
  uint32_t prefix_generation_ = 1;  // entries start at 0: empty
  uint64_t prefix_dicts_[2] = {0, 0};
  size_t prefix_misses_ = 0;
  RowError error_;
  // The first eight digits of the last 16-digit timestamp and their value.
  // Starts as "00000000" -> 0: the memo only ever holds a checked pair.
  uint64_t ts_hi_word_ = 0x3030303030303030ULL, ts_hi_value_ = 0;
  // End of the readable bytes after the line being parsed (the chunk fed),
  // so a field can be read eight bytes at a time; null: none beyond the line.
  const char* buf_end_ = nullptr;
  // The bytes being parsed are not all ASCII without NUL (CheckTextOf): text
  // fields are then checked for NUL and for valid UTF-8 one by one. A
  // Parquet UTF8 column must hold valid UTF-8, and a NUL cuts the symbol
  // short wherever it becomes a C string (object names).
  bool check_text_ = false;
  Status status_;
};

}  // namespace mt::tardis
