#include "tardis/csv_parser.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <utility>

#include "core/utf8.h"
#include "tardis/numbers.h"

namespace mt::tardis {

using columnar::ColumnKind;

Status LineTooLong(const std::string& source, uint64_t line) {
  return Status::InvalidInput(source + ":" + std::to_string(line) +
                              ": line longer than 1 MiB (Tardis CSV lines are a few KB); is this a Tardis CSV file?");
}

CsvParser::CsvParser(std::string source, const DataTypeSchema* forced, BatchSink* sink,
                     ParserOptions opts)
    : source_(std::move(source)), forced_(forced), sink_(sink), opts_(opts) {}

Status CsvParser::Feed(const char* data, size_t n) {
  if (!status_.ok()) return status_;
  const char* p = data;
  const char* end = data + n;
  if (!carry_.empty()) {
    buf_end_ = nullptr;  // the joined line has no readable bytes after it
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', n));
    if (!nl) {
      carry_.append(p, n);
      if (carry_.size() > kMaxLineBytes) return status_ = LineTooLong(source_, line_ + 1);
      return Status::OK();
    }
    carry_.append(p, static_cast<size_t>(nl - p));
    p = nl + 1;
    const std::string line = std::move(carry_);
    carry_.clear();
    CheckTextOf(line.data(), line.size());
    if (!ProcessLine(line.data(), line.data() + line.size())) return status_;
  }
  buf_end_ = end;
  CheckTextOf(p, static_cast<size_t>(end - p));
  while (!schema_ && p < end) {  // the header line
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (!nl) break;
    if (!ProcessLine(p, nl)) return status_;
    p = nl + 1;
  }
  if (schema_ && !(this->*parse_lines_)(&p, end)) return status_;
  if (p < end) carry_.assign(p, static_cast<size_t>(end - p));
  return status_ = TellRows();
}

Status CsvParser::TellRows() {
  if (!sink_ || batch_.num_rows <= rows_told_) return Status::OK();
  const size_t from = rows_told_;
  rows_told_ = batch_.num_rows;
  return sink_->OnRows(batch_, from, batch_.num_rows);
}

// Counts the line [p, e) (e at its '\n') and returns the end of its text,
// without a '\r' before the '\n'.
inline const char* CsvParser::CountLine(const char* p, const char* e) {
  line_++;
  return e > p && e[-1] == '\r' ? e - 1 : e;
}

// One data row [p, e) (from CountLine), parsed by `row`.
inline __attribute__((always_inline)) bool CsvParser::ParseRowLine(const char* p, const char* e, RowParser row) {
  if (p == e) return Fail(p, e, p, 0, "empty line; a Tardis CSV has none");
  // Every line, however its bytes arrived (within one write or joined from
  // several): what the parser holds of a line is bounded earlier, this says
  // the same bound for the same file whatever its compression or threads.
  if (__builtin_expect(static_cast<size_t>(e - p) > kMaxLineBytes, 0)) {
    return Fail(p, e, p, SIZE_MAX, "line longer than 1 MiB (Tardis CSV lines are a few KB); is this a Tardis CSV file?");
  }
  return (this->*row)(p, e);
}

// The whole lines in [*p, end), each parsed by Row (known at compile time,
// so it is inlined: no call per line); *p stops at the start of the last,
// incomplete line.
template <CsvParser::RowParser Row>
bool CsvParser::ParseLines(const char** p, const char* end) {
  const char* q = *p;
  while (q < end) {
    const char* nl = static_cast<const char*>(std::memchr(q, '\n', static_cast<size_t>(end - q)));
    if (!nl) break;
    if (!ParseRowLine(q, CountLine(q, nl), Row)) return false;
    q = nl + 1;
  }
  *p = q;
  return true;
}

Status CsvParser::Finish() {
  if (!status_.ok()) return status_;
  if (!carry_.empty()) {
    const std::string line = std::move(carry_);
    carry_.clear();
    buf_end_ = nullptr;
    CheckTextOf(line.data(), line.size());
    if (!ProcessLine(line.data(), line.data() + line.size())) return status_;
  }
  if (!schema_) {
    const DataTypeSchema* s = forced_ ? forced_ : opts_.empty_input_schema;
    if (!s) {
      return status_ = Status::InvalidInput(
                 source_ + ": no header line (the CSV is empty); if the source really has no "
                           "data, name its type with --data-type");
    }
    schema_ = s;
    SelectRowParser();
    MT_RETURN_IF_ERROR(status_ = sink_->OnSchema(*schema_));
    StartBatch(1 << 16);
  }
  if (batch_.num_rows > 0) MT_RETURN_IF_ERROR(status_ = EmitBatch());
  return Status::OK();
}

inline bool CsvParser::ProcessLine(const char* p, const char* e) {
  e = CountLine(p, e);
  if (__builtin_expect(!schema_, 0)) {
    return (status_ = ParseHeader(std::string_view(p, static_cast<size_t>(e - p)))).ok();
  }
  return ParseRowLine(p, e, parse_row_);
}

Status CsvParser::ParseHeader(std::string_view line) {
  if (line.size() >= 3 && static_cast<unsigned char>(line[0]) == 0xEF &&
      static_cast<unsigned char>(line[1]) == 0xBB && static_cast<unsigned char>(line[2]) == 0xBF) {
    line.remove_prefix(3);  // UTF-8 byte order mark
  }
  // Printable, bounded copies of a header for messages.
  auto shown = [](std::string_view h) {
    std::string raw(h.substr(0, 300));
    for (char& c : raw) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) c = '?';
    }
    if (h.size() > 300) raw += "...";
    return raw;
  };
  bool binary = false;
  for (char c : line.substr(0, 300)) {
    binary |= static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F;
  }
  if (binary) {
    return Status::InvalidInput(source_ + ":1: neither gzip nor CSV text (binary bytes in the first line: \"" +
                                shown(line.substr(0, 200)) + "\"); expected a Tardis .csv or .csv.gz file");
  }
  const std::vector<const DataTypeSchema*> fits = SchemasForHeader(line);
  const DataTypeSchema* found = nullptr;
  // A markup page where a file was expected: what answered in its place is
  // worth naming, since the header alone reads as a bad file.
  const size_t first = line.find_first_not_of(" \t");
  const bool markup = first != std::string_view::npos && line[first] == '<';
  const std::string page = markup ? "; this is an HTML or XML page, not a Tardis file (a proxy, login or error page "
                                    "answered in its place?)"
                                  : "";
  // Such a page is marked (Status::Detail::kNotTheFile): a download asks
  // again, where a bad header of a real file fails for good.
  const auto bad_header = [markup](std::string msg) {
    Status st = Status::InvalidInput(std::move(msg));
    return markup ? st.WithDetail(Status::Detail::kNotTheFile) : st;
  };
  if (forced_) {
    // The data type is known (--data-type, the file name, the work item):
    // the header only has to be that type's, whichever other type shares it.
    if (line != forced_->CsvHeader()) {
      std::string msg = source_ + ":1: the header is not the one of data type '" + forced_->name + "' (from " +
                        (opts_.data_type_origin.empty() ? "--data-type" : opts_.data_type_origin) + "): got \"" +
                        shown(line) + "\", expected \"" + shown(forced_->CsvHeader()) + "\"";
      if (!fits.empty()) msg += "; the header is the one of '" + fits.front()->name + "'";
      return bad_header(msg + page);
    }
    found = forced_;
  } else if (fits.size() > 1 && opts_.ambiguous_header_is_error) {
    std::string names, flags;
    for (size_t i = 0; i < fits.size(); i++) {
      names += std::string(i ? (i + 1 == fits.size() ? " and " : ", ") : "") + "'" + fits[i]->name + "'";
      flags += std::string(i ? " or " : "") + "--data-type " + fits[i]->name;
    }
    return Status::InvalidInput(source_ + ":1: the header fits data types " + names +
                                " and the file name does not say which (official client names are "
                                "{exchange}_{data_type}_{YYYY-MM-DD}_{SYMBOL}.csv.gz); pass " + flags);
  } else if (!fits.empty()) {
    found = fits.front();
  }
  if (!found) {
    return bad_header(source_ + ":1: unknown header \"" + shown(line.substr(0, 200)) +
                      "\"; expected the header of a Tardis data type (" + SupportedDataTypes() + ")" + page);
  }
  schema_ = found;
  SelectRowParser();
  MT_RETURN_IF_ERROR(sink_->OnSchema(*schema_));
  plain_hint_.assign(schema_->columns.size(), false);
  StartBatch(1 << 16);
  return Status::OK();
}

Status CsvParser::ParseBlock(const DataTypeSchema& schema, const std::vector<bool>& plain_strings,
                             size_t reserve_rows, const char* data, size_t n) {
  opts_.batch_rows = SIZE_MAX;
  opts_.batch_bytes = SIZE_MAX;
  line_ = 0;
  rows_ = 0;
  carry_.clear();
  prev_prefix_len_ = 0;
  prefix_misses_ = 0;
  status_ = Status::OK();
  if (schema_ == &schema && batch_.columns.size() == schema.columns.size()) {
    // A block's rows are joined by AppendRange, which maps only the values
    // that occur: its dictionaries are kept for the next block (a grouped
    // file's thousands of symbols are then added once, not per block).
    columnar::ClearRowGroup(&batch_, plain_strings, /*keep_dicts=*/true);
  } else {
    schema_ = &schema;
    SelectRowParser();
    plain_hint_ = plain_strings;
    // The rows this block holds, at most: the caller's guess assumes short
    // rows, and wide ones (an options chain's, a book snapshot's) made every
    // column reserve several times its rows. The room stays with the block
    // for the blocks parsed into it later, so the lines are counted once.
    const size_t lines = static_cast<size_t>(std::count(data, data + n, '\n'));
    StartBatch(std::min(reserve_rows, lines + 16));
  }
  MT_RETURN_IF_ERROR(Feed(data, n));
  if (!carry_.empty()) {  // the file's last line, with no newline after it
    const std::string line = std::move(carry_);
    carry_.clear();
    buf_end_ = nullptr;
    CheckTextOf(line.data(), line.size());
    if (!ProcessLine(line.data(), line.data() + line.size())) return status_;
  }
  return Status::OK();
}

void CsvParser::CheckTextOf(const char* p, size_t n) { check_text_ = !AsciiWithoutNul(p, n); }

void CsvParser::StartBatch(size_t reserve_rows) {
  batch_ = columnar::MakeRowGroup(schema_->ParquetSchema(), &plain_hint_);
  prev_prefix_len_ = 0;  // the prefix memo repeats values of the batch
  prefix_misses_ = 0;
  // A first guess holds at most kFirstReserveBytes of values: 64 Ki rows of
  // a narrow table (trades), a few thousand of book_snapshot_25 (104
  // columns), so a 10-row file, or a header-only parser, does not reserve
  // (and, on huge pages, touch) tens of MB.
  size_t row_bytes = 0;
  for (const auto& c : batch_.columns) row_bytes += columnar::FixedValueBytes(c.kind);
  const size_t guess = std::min(reserve_rows, std::max<size_t>(1024, kFirstReserveBytes / std::max<size_t>(1, row_bytes)));
  // Then what the previous batch needed, rows and the text of plain string
  // columns (a sixteenth more): avoids regrowing (copying, and capacity up
  // to twice the need) every column vector in steady state.
  columnar::ReserveRows(&batch_, std::min<size_t>(opts_.batch_rows, std::max<size_t>(last_batch_rows_, guess)),
                       last_text_bytes_.empty() ? nullptr : &last_text_bytes_);
}

Status CsvParser::EmitBatch() {
  MT_RETURN_IF_ERROR(TellRows());
  rows_told_ = 0;
  for (size_t i = 0; i < batch_.columns.size(); i++) {
    if (batch_.columns[i].kind == ColumnKind::kString) {
      plain_hint_[i] = !batch_.columns[i].str.dict_mode();
    }
  }
  columnar::RowGroupData out = std::move(batch_);
  last_batch_rows_ = out.num_rows;
  last_text_bytes_ = columnar::PlainTextBytes(out);
  for (size_t& b : last_text_bytes_) b += b / 16;
  // The next batch is allocated once the sink is done with this one (it
  // encodes it here when it has no pool), so it reuses that memory instead
  // of touching as much again.
  Status st = sink_->OnBatch(std::move(out));
  StartBatch(1 << 16);
  return st;
}

namespace {

// The first ',' in [p, e), or e. `readable` (may be null) ends the bytes
// that may be read past e: with 16 of them, the first 16 bytes are searched
// eight at a time (most text fields, side and trade ids, are that short).
inline __attribute__((always_inline)) const char* FieldEnd(const char* p, const char* e, const char* readable = nullptr) {
  if (readable && readable - p >= 16) {
    for (int k = 0; k < 2; k++) {
      uint64_t v;
      std::memcpy(&v, p + 8 * k, 8);
      const uint64_t x = v ^ 0x2C2C2C2C2C2C2C2CULL;  // zero bytes where ','
      const uint64_t zero = (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
      if (zero) {
        const char* c = p + 8 * k + (__builtin_ctzll(zero) >> 3);  // the lowest is exact
        return c < e ? c : e;
      }
    }
    if (e - p <= 16) return e;
    const void* c = std::memchr(p + 16, ',', static_cast<size_t>(e - p - 16));
    return c ? static_cast<const char*>(c) : e;
  }
  // A plain loop beats a memchr call for the first bytes.
  const char* lim = e - p > 16 ? p + 16 : e;
  for (const char* q = p; q < lim; q++) {
    if (*q == ',') return q;
  }
  if (lim == e) return e;
  const void* c = std::memchr(lim, ',', static_cast<size_t>(e - lim));
  return c ? static_cast<const char*>(c) : e;
}

// p[0..n) == q[0..n), eight bytes at a time (the "exchange,symbol," prefix of
// a row, ~25 bytes: inline words beat a memcmp call).
inline __attribute__((always_inline)) bool SamePrefix(const char* p, const char* q, size_t n) {
#if defined(__SSE2__)
  if (n >= 16 && n <= 32) {  // two overlapping 16-byte compares
    const auto load = [](const char* x) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(x)); };
    const __m128i eq = _mm_and_si128(_mm_cmpeq_epi8(load(p), load(q)),
                                     _mm_cmpeq_epi8(load(p + n - 16), load(q + n - 16)));
    return _mm_movemask_epi8(eq) == 0xFFFF;
  }
#endif
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t a, b;
    std::memcpy(&a, p + i, 8);
    std::memcpy(&b, q + i, 8);
    if (a != b) return false;
  }
  for (; i < n; i++) {
    if (p[i] != q[i]) return false;
  }
  return true;
}

// Eight ASCII digits at p (which must have 8 readable bytes) to their value,
// or false when any byte is not a digit. SWAR: the classic digit test and a
// three-step pairwise multiply-add, instead of eight multiply-adds.
inline __attribute__((always_inline)) uint64_t DigitsValue(uint64_t v) {
  v -= 0x3030303030303030ULL;
  v = (v * 10) + (v >> 8);  // pairs of digits in bytes 0, 2, 4, 6
  return (((v & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
          (((v >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >>
         32;
}

inline __attribute__((always_inline)) bool EightDigits(const char* p, uint64_t* out) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if (((v & 0xF0F0F0F0F0F0F0F0ULL) | (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) !=
      0x3333333333333333ULL) {
    return false;
  }
  *out = DigitsValue(v);
  return true;
}

// Nonzero bits in exactly the bytes of v that are not ASCII digits. No
// byte's test carries into the next, so any bytes may follow the digits.
inline __attribute__((always_inline)) uint64_t NonDigitBytes(uint64_t v) {
  return ((v & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL) |
         (((v & 0x0F0F0F0F0F0F0F0FULL) + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL);
}

// The index (0..8) of the first byte flagged in NonDigitBytes' result.
inline __attribute__((always_inline)) size_t FirstFlagged(uint64_t flags) {
  return flags ? static_cast<size_t>(__builtin_ctzll(flags)) >> 3 : 8;
}

// The value of the n (1..8) digits in the low bytes of v: right-aligned
// behind leading '0's, then DigitsValue.
inline __attribute__((always_inline)) uint64_t DigitsValueN(uint64_t v, size_t n) {
  if (n < 8) {
    const unsigned shift = static_cast<unsigned>(8 * (8 - n));
    v = (v << shift) | (0x3030303030303030ULL >> (64 - shift));
  }
  return DigitsValue(v);
}

// The number of ASCII digits (0..8) that start at p, which must have 8
// readable bytes, and their value.
inline __attribute__((always_inline)) size_t LeadingDigits(const char* p, uint64_t* value) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  const size_t n = FirstFlagged(NonDigitBytes(v));
  *value = n == 0 ? 0 : DigitsValueN(v, n);
  return n;
}

}  // namespace

// "true" and "fals" as little-endian words.
constexpr uint32_t kTrueWord = 't' | 'r' << 8 | 'u' << 16 | static_cast<uint32_t>('e') << 24;
constexpr uint32_t kFalsWord = 'f' | 'a' << 8 | 'l' << 16 | static_cast<uint32_t>('s') << 24;

// One value of kind K at p: appended to col, or *null for an empty field; *q
// ends at the delimiter after it. False: not a value of that kind (the caller
// words the error). One pass per field: the number parsers stop at the
// delimiter, so a field is read once. Anything unusual (exponents, long
// mantissas) leaves the fast path and is re-read by the reference parsers in
// numbers.h.
template <ColumnKind K>
inline __attribute__((always_inline)) bool CsvParser::ParseValue(columnar::ColumnData& col, const char* p,
                                                                 const char* e, const char** q_out,
                                                                 bool* null) {
  const char* q = p;
  if constexpr (K == ColumnKind::kTimestampMicros) {
    // Fast path: 16 digits (every Tardis timestamp from 2001 to 2286). The
    // first eight change every 100 s: most rows repeat the last ones seen,
    // and reuse their value.
    uint64_t hi, lo, word;
    if (((e - q > 16 && q[16] == ',') || e - q == 16)) {
      std::memcpy(&word, q, 8);
      bool ok = word == ts_hi_word_;
      if (!ok && EightDigits(q, &hi)) {
        ts_hi_word_ = word;
        ts_hi_value_ = hi;
        ok = true;
      }
      if (ok && EightDigits(q + 8, &lo)) {
        col.i64.push_back(static_cast<int64_t>(ts_hi_value_ * 100000000ULL + lo));
        *q_out = q + 16;
        return true;
      }
    }
    const bool neg = q < e && *q == '-';
    q += neg;
    const char* d0 = q;
    uint64_t v = 0;
    while (q < e && static_cast<unsigned>(*q - '0') <= 9) {
      v = v * 10 + static_cast<unsigned>(*q - '0');
      q++;
    }
    const size_t nd = static_cast<size_t>(q - d0);
    *q_out = q;
    if (nd == 0 && !neg && (q == e || *q == ',')) {
      *null = true;
      return true;
    }
    // From 1970 to the end of year 9999: a negative time or one past it is no
    // Tardis time, and readers take some as something else (INT64_MAX is
    // DuckDB's infinity). 18 digits at most, so `v` cannot wrap.
    constexpr uint64_t kMaxMicros = 253402300799999999ULL;  // 9999-12-31T23:59:59.999999Z
    if ((q < e && *q != ',') || nd == 0 || nd > 18 || neg || v > kMaxMicros) return false;
    col.i64.push_back(static_cast<int64_t>(v));
    return true;
  } else if constexpr (K == ColumnKind::kDouble) {
    static constexpr double kPow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    static constexpr uint64_t kPow10i[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};
    const bool neg = q < e && *q == '-';
    q += neg;
    // Fast paths (the buffer has 24 readable bytes here), with the value of
    // the digit loop below: one exact mantissa, one division. First: the
    // whole number and its delimiter in the eight bytes at q ("34512.4,",
    // "0.017,"): one word, the '.' squeezed out, one digit conversion.
    if (buf_end_ && buf_end_ - q >= 24) {
      uint64_t v8;
      std::memcpy(&v8, q, 8);
      const uint64_t flags = NonDigitBytes(v8);
      const size_t ni = FirstFlagged(flags);
      if (ni < 8 && q[ni] == '.') {
        const size_t t = FirstFlagged(flags & ~(0xFFULL << (8 * ni)));  // the delimiter
        if (t < 8 && t > ni + 1 && (q + t == e || q[t] == ',')) {
          const uint64_t below = (1ULL << (8 * ni)) - 1;  // the integer digits' bytes
          const uint64_t digits = (v8 & below) | ((v8 >> 8) & ~below);
          const double v = static_cast<double>(DigitsValueN(digits, t - 1)) / kPow10[t - ni - 1];
          col.f64.push_back(neg ? -v : v);
          *q_out = q + t;
          return true;
        }
      } else if (ni > 0 && ni < 8 && (q + ni == e || q[ni] == ',')) {
        const double v = static_cast<double>(DigitsValueN(v8, ni));
        col.f64.push_back(neg ? -v : v);
        *q_out = q + ni;
        return true;
      }
      // Then up to 7 integer and 7 fraction digits, eight bytes at a time.
      uint64_t fp;
      const uint64_t ip = ni == 0 ? 0 : DigitsValueN(v8, ni);
      const char* r = q + ni;
      if (ni < 8 && *r == '.') {
        const size_t nf = LeadingDigits(r + 1, &fp);
        const char* t = r + 1 + nf;
        if (nf > 0 && nf < 8 && (t == e || *t == ',')) {
          const double v = static_cast<double>(ip * kPow10i[nf] + fp) / kPow10[nf];
          col.f64.push_back(neg ? -v : v);
          *q_out = t;
          return true;
        }
      } else if (ni > 0 && ni < 8 && (r == e || *r == ',')) {
        const double v = static_cast<double>(ip);
        col.f64.push_back(neg ? -v : v);
        *q_out = r;
        return true;
      }
    }
    const char* d0 = q;
    uint64_t m = 0;
    while (q < e && static_cast<unsigned>(*q - '0') <= 9) {
      m = m * 10 + static_cast<unsigned>(*q - '0');
      q++;
    }
    int frac = 0;
    bool odd = false;  // "5." and the like: let the reference parser decide
    if (q < e && *q == '.') {
      q++;
      const char* f0 = q;
      while (q < e && static_cast<unsigned>(*q - '0') <= 9) {
        m = m * 10 + static_cast<unsigned>(*q - '0');
        q++;
      }
      frac = static_cast<int>(q - f0);
      odd = frac == 0;
    }
    const size_t digits = static_cast<size_t>(q - d0) - (frac > 0 ? 1 : 0);
    if (q == d0 && !neg && (q == e || *q == ',')) {
      *q_out = q;
      *null = true;
      return true;
    }
    // Fast path (Clinger): <= 15 digits and 10^frac exact, so one IEEE
    // division is the correctly rounded value.
    if (!odd && (q == e || *q == ',') && digits > 0 && digits <= 15 && frac <= 15) {
      const double v = static_cast<double>(m) / kPow10[frac];
      col.f64.push_back(neg ? -v : v);
      *q_out = q;
      return true;
    }
    q = FieldEnd(p, e);
    *q_out = q;
    double v;
    if (!ParseDouble(p, q, &v)) return false;
    col.f64.push_back(v);
    return true;
  } else if constexpr (K == ColumnKind::kString) {
    q = FieldEnd(p, e, buf_end_);
    *q_out = q;
    const size_t n = static_cast<size_t>(q - p);
    if (__builtin_expect(check_text_, 0) &&
        (std::memchr(p, 0, n) != nullptr || Utf8InvalidOffset(p, n) != n)) {
      return false;  // TextError words it
    }
    if (n == 0) {
      *null = true;
    } else if (__builtin_expect(*p == '"', 0)) {
      return false;  // a quoted value: TextError words it
    } else if (n <= 7 && buf_end_ && buf_end_ - p >= 8) {
      uint64_t w;  // the value and the bytes after it
      std::memcpy(&w, p, 8);
      col.str.AppendKeyed(std::string_view(p, n), columnar::StringColumn::ShortKey(w, n));
    } else {
      col.str.Append(std::string_view(p, n));
    }
    return true;
  } else {
    static_assert(K == ColumnKind::kBool);
    uint32_t word = 0;
    if (e - p >= 4) std::memcpy(&word, p, 4);
    if (word == kTrueWord && (e - p == 4 || p[4] == ',')) {
      col.b.push_back(1);
      *q_out = p + 4;
      return true;
    }
    if (word == kFalsWord && e - p >= 5 && p[4] == 'e' && (e - p == 5 || p[5] == ',')) {
      col.b.push_back(0);
      *q_out = p + 5;
      return true;
    }
    q = FieldEnd(p, e);
    *q_out = q;
    const size_t len = static_cast<size_t>(q - p);
    if (len == 0) {
      *null = true;
    } else if (len == 4 && std::memcmp(p, "true", 4) == 0) {
      col.b.push_back(1);
    } else if (len == 5 && std::memcmp(p, "false", 5) == 0) {
      col.b.push_back(0);
    } else {
      return false;
    }
    return true;
  }
}

// Field i (of kind K) of the row [line_begin, e) at *p, then the delimiter
// after it: *p moves to the next field. False: status_ holds the error.
template <ColumnKind K>
inline __attribute__((always_inline)) bool CsvParser::ParseField(columnar::ColumnData& col, size_t i, bool last,
                                                                 const char* line_begin, const char* e,
                                                                 const char** p) {
  const char* q = *p;
  bool null = false;
  if (!ParseValue<K>(col, *p, e, &q, &null)) return ValueError(line_begin, e, *p, i);
  if (null) {
    if (!col.nullable) return Fail(line_begin, e, *p, i, "empty value in a required column");
    col.AddNull(batch_.num_rows);
  } else {
    col.AddDefined();
  }
  if (!last) {
    if (q == e) return ColumnCountError(line_begin, e, q, i);
    *p = q + 1;
  } else if (q != e) {
    return ColumnCountError(line_begin, e, q, i);
  }
  return true;
}

// "exchange,symbol," (columns 0 and 1, strings in every schema): rows of one
// file nearly always repeat the previous row's, so one compare replaces two
// field scans and lookups. Moves *p past them.
inline __attribute__((always_inline)) bool CsvParser::ParsePrefix(const char* line_begin, const char* e,
                                                                  const char** p) {
  columnar::ColumnData* cols = batch_.columns.data();
  const size_t plen = prev_prefix_len_;  // 0: no previous row to repeat
  if (plen > 0 && static_cast<size_t>(e - line_begin) > plen &&
      SamePrefix(line_begin, prev_prefix_, plen)) {
    cols[0].str.RepeatLast();
    cols[1].str.RepeatLast();
    *p = line_begin + plen;
    return true;
  }
  if (prefix_cache_ && PrefixFromCache(line_begin, e, p)) return true;
  *p = line_begin;
  if (!ParseField<ColumnKind::kString>(cols[0], 0, false, line_begin, e, p) ||
      !ParseField<ColumnKind::kString>(cols[1], 1, false, line_begin, e, p)) {
    return false;
  }
  const size_t len = static_cast<size_t>(*p - line_begin);
  if (len <= kMaxPrefix && cols[0].str.CanRepeatLast() && cols[1].str.CanRepeatLast()) {
    std::memcpy(prev_prefix_, line_begin, len);
    prev_prefix_len_ = len;
    RememberPrefix(line_begin, len);
  } else {
    prev_prefix_len_ = 0;  // a plain column cannot repeat its last value
  }
  return true;
}

namespace {

// The set of a prefix of `len` (8 to kMaxPrefix) bytes at p: a hash of its
// first, middle and last eight bytes and its length.
inline __attribute__((always_inline)) size_t PrefixSet(const char* p, size_t len, size_t bits) {
  uint64_t a, b, c;
  std::memcpy(&a, p, 8);
  std::memcpy(&b, p + len / 2 - 4, 8);
  std::memcpy(&c, p + len - 8, 8);
  const uint64_t h = a * 0x9E3779B97F4A7C15ULL ^ b * 0xC2B2AE3D27D4EB4FULL ^ (c + len) * 0x165667B19E3779F9ULL;
  return static_cast<size_t>(h >> (64 - bits));
}

}  // namespace

bool CsvParser::PrefixFromCache(const char* line_begin, const char* e, const char** p) {
  columnar::ColumnData* cols = batch_.columns.data();
  if (!cols[0].str.dict_mode() || !cols[1].str.dict_mode()) return false;
  if (!PrefixCacheCurrent()) return false;
  // The row's prefix through its second comma, looked for in its first
  // kMaxPrefix bytes when they can be read (buf_end_: the chunk's end,
  // beyond the line). A quoted value with a comma in it gives a length no
  // entry of those bytes has: entries are what a full parse consumed, and
  // a full parse of the same bytes consumes the same.
  const char* readable = buf_end_ ? buf_end_ : e;
  if (readable - line_begin < static_cast<ptrdiff_t>(kMaxPrefix)) return false;
  static_assert(kMaxPrefix == 64, "one bit of `commas` a byte");
  uint64_t commas = 0;
#if defined(__SSE2__)
  for (size_t k = 0; k < kMaxPrefix; k += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(line_begin + k));
    commas |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')))))
              << k;
  }
#else
  for (size_t k = 0; k < kMaxPrefix; k++) commas |= static_cast<uint64_t>(line_begin[k] == ',') << k;
#endif
  commas &= commas - 1;  // drop the first
  if (commas == 0) return false;
  const size_t len = static_cast<size_t>(__builtin_ctzll(commas)) + 1;
  if (len < 8 || len > kCachedPrefix || static_cast<ptrdiff_t>(len) >= e - line_begin) return false;
  const PrefixEntry* set = &prefix_cache_[2 * PrefixSet(line_begin, len, kPrefixSetBits)];
  const auto holds = [&](const PrefixEntry& x) {
    return x.generation == prefix_generation_ && x.len == len && SamePrefix(line_begin, x.bytes, len);
  };
  const PrefixEntry* entry = holds(set[0]) ? &set[0] : holds(set[1]) ? &set[1] : nullptr;
  if (!entry) return false;
  cols[0].str.AppendIndex(entry->exchange_index);
  cols[0].AddDefined();
  cols[1].str.AppendIndex(entry->symbol_index);
  cols[1].AddDefined();
  std::memcpy(prev_prefix_, line_begin, kMaxPrefix);  // readable: checked above
  prev_prefix_len_ = len;
  *p = line_begin + len;
  return true;
}

bool CsvParser::PrefixCacheCurrent() {
  const uint64_t exchange = batch_.columns[0].str.dict_id(), symbol = batch_.columns[1].str.dict_id();
  if (exchange == prefix_dicts_[0] && symbol == prefix_dicts_[1]) return true;
  prefix_generation_++;  // the indices held are other dictionaries'
  prefix_dicts_[0] = exchange;
  prefix_dicts_[1] = symbol;
  return false;
}

void CsvParser::RememberPrefix(const char* line_begin, size_t len) {
  if (!prefix_cache_) {
    if (prefix_misses_++ < opts_.prefix_cache_after_misses) return;
    prefix_cache_ = std::make_unique<PrefixEntry[]>(size_t{2} << kPrefixSetBits);  // generation 0: empty
  }
  if (len < 8 || len > kCachedPrefix) return;
  PrefixCacheCurrent();  // the entry goes into the generation of the current dictionaries
  const columnar::ColumnData* cols = batch_.columns.data();
  PrefixEntry* set = &prefix_cache_[2 * PrefixSet(line_begin, len, kPrefixSetBits)];
  set[1] = set[0];
  PrefixEntry& entry = set[0];
  entry.generation = prefix_generation_;
  entry.len = static_cast<uint8_t>(len);
  entry.exchange_index = cols[0].str.last_index();
  entry.symbol_index = cols[1].str.last_index();
  std::memcpy(entry.bytes, line_begin, len);
}

// Bookkeeping after a whole row.
inline bool CsvParser::EndRow() {
  rows_++;
  batch_.num_rows++;
  if (batch_.num_rows >= opts_.batch_rows ||
      ((batch_.num_rows & 4095) == 0 && batch_.MemoryBytes() >= opts_.batch_bytes)) {
    return (status_ = EmitBatch()).ok();
  }
  return true;
}

bool CsvParser::ParseRowGeneric(const char* line_begin, const char* e) {
  const char* p;
  if (!ParsePrefix(line_begin, e, &p)) return false;
  const auto& cols = schema_->columns;
  const size_t ncols = cols.size();
  for (size_t i = 2; i < ncols; i++) {
    columnar::ColumnData& col = batch_.columns[i];
    const bool last = i + 1 == ncols;
    bool ok = false;
    switch (col.kind) {
      case ColumnKind::kTimestampMicros:
        ok = ParseField<ColumnKind::kTimestampMicros>(col, i, last, line_begin, e, &p);
        break;
      case ColumnKind::kDouble: ok = ParseField<ColumnKind::kDouble>(col, i, last, line_begin, e, &p); break;
      case ColumnKind::kString: ok = ParseField<ColumnKind::kString>(col, i, last, line_begin, e, &p); break;
      case ColumnKind::kBool: ok = ParseField<ColumnKind::kBool>(col, i, last, line_begin, e, &p); break;
    }
    if (!ok) return false;
  }
  return EndRow();
}

// The same for one fixed list of column kinds: no per-column dispatch, and
// the fields' code runs straight through (the common data types).
template <ColumnKind... K>
bool CsvParser::ParseRowAs(const char* line_begin, const char* e) {
  const char* p;
  if (!ParsePrefix(line_begin, e, &p)) return false;
  columnar::ColumnData* cols = batch_.columns.data();
  return [&]<size_t... I>(std::index_sequence<I...>) __attribute__((always_inline)) {
    constexpr ColumnKind kinds[] = {K...};
    constexpr size_t n = sizeof...(K) + 2;
    return (ParseField<kinds[I]>(cols[I + 2], I + 2, I + 3 == n, line_begin, e, &p) && ...);
  }(std::make_index_sequence<sizeof...(K)>()) && EndRow();
}

void CsvParser::SelectRowParser() {
  using CK = ColumnKind;
  constexpr CK S = CK::kString, T = CK::kTimestampMicros, D = CK::kDouble, B = CK::kBool;
  struct Special {
    std::vector<CK> kinds;  // after exchange, symbol
    RowParser parse;
    LineParser lines;
  };
#define MT_ROW_PARSER(...) \
  &CsvParser::ParseRowAs<__VA_ARGS__>, &CsvParser::ParseLines<&CsvParser::ParseRowAs<__VA_ARGS__>>
  static const Special kSpecial[] = {
      {{T, T, S, S, D, D}, MT_ROW_PARSER(T, T, S, S, D, D)},           // trades, liquidations
      {{T, T, B, S, D, D}, MT_ROW_PARSER(T, T, B, S, D, D)},           // incremental_book_L2
      {{T, T, D, D, D, D}, MT_ROW_PARSER(T, T, D, D, D, D)},           // quotes, book_ticker
      {{T, T, T, D, D, D, D, D, D}, MT_ROW_PARSER(T, T, T, D, D, D, D, D, D)},  // derivative_ticker
  };
#undef MT_ROW_PARSER
  parse_row_ = &CsvParser::ParseRowGeneric;
  parse_lines_ = &CsvParser::ParseLines<&CsvParser::ParseRowGeneric>;
  const auto& cols = schema_->columns;
  if (cols.size() < 4 || cols[0].kind != S || cols[1].kind != S || cols[3].kind != T) return;  // never
  for (const Special& s : kSpecial) {
    if (s.kinds.size() + 2 != cols.size()) continue;
    bool same = true;
    for (size_t i = 0; i < s.kinds.size(); i++) same = same && cols[i + 2].kind == s.kinds[i];
    if (same) {
      parse_row_ = s.parse;
      parse_lines_ = s.lines;
      return;
    }
  }
}

bool CsvParser::ValueError(const char* line_begin, const char* e, const char* p, size_t i) {
  // Quoted as the raw row under the message is: its start, and how long it
  // is when it is longer (a hostile cell may be as long as a line may be).
  const size_t n = static_cast<size_t>(FieldEnd(p, e) - p);
  std::string text(p, std::min<size_t>(n, kQuotedCellBytes));
  if (n > kQuotedCellBytes) text += "\xE2\x80\xA6 (" + std::to_string(n) + " bytes in all)";
  switch (schema_->columns[i].kind) {
    case ColumnKind::kString: return TextError(line_begin, e, p, i);
    case ColumnKind::kTimestampMicros:
      return Fail(line_begin, e, p, i,
                  "cannot parse \"" + text +
                      "\" as a timestamp (integer microseconds since 1970-01-01 UTC, up to the end of year 9999)");
    case ColumnKind::kBool:
      return Fail(line_begin, e, p, i, "cannot parse \"" + text + "\" as a boolean (true or false)");
    default: return Fail(line_begin, e, p, i, "cannot parse \"" + text + "\" as a number");
  }
}

bool CsvParser::TextError(const char* line_begin, const char* e, const char* p, size_t i) {
  const size_t n = static_cast<size_t>(FieldEnd(p, e) - p);
  // Tardis writes no quotes: a CSV reader reads "9" as 9, while the cell
  // taken as it is would store the quotes in the text.
  if (n > 0 && *p == '"') {
    return Fail(line_begin, e, p, i,
                "a quoted value; Tardis CSV files have no quoting, so the quotes would be stored as part of the text "
                "(the file was written by another program: convert the Tardis file as downloaded)");
  }
  const void* nul = std::memchr(p, 0, n);
  const size_t bad = Utf8InvalidOffset(p, n);
  if (nul && static_cast<const char*>(nul) - p < static_cast<ptrdiff_t>(bad)) {
    return Fail(line_begin, e, static_cast<const char*>(nul), i,
                "a NUL byte in a text value (a Tardis CSV has none: the file is corrupt)");
  }
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(p[bad]));
  return Fail(line_begin, e, p + bad, i,
              std::string("invalid UTF-8 in a text value (byte ") + hex +
                  "; text columns are UTF-8: the file is corrupt or in another encoding)");
}

bool CsvParser::ColumnCountError(const char* line_begin, const char* e, const char* q, size_t i) {
  const size_t ncols = schema_->columns.size();
  if (q == e) {
    // Named: the first column the row lacks, not the last it has.
    return Fail(line_begin, e, q, i + 1,
                "too few columns: found " + std::to_string(i + 1) + ", the " + schema_->name + " header has " +
                    std::to_string(ncols) + "; the first missing is");
  }
  size_t found = ncols;
  for (const char* c = q; c < e; c++) found += (*c == ',');
  return Fail(line_begin, e, q, i,
              "too many columns: found " + std::to_string(found) + ", the " + schema_->name +
                  " header has " + std::to_string(ncols));
}

bool CsvParser::Fail(const char* line_begin, const char* line_end, const char* at, size_t col,
                     const std::string& what) {
  status_ = Error(line_begin, line_end, at, col, what);
  return false;
}

Status CsvParser::Error(const char* line_begin, const char* line_end, const char* at, size_t col,
                        const std::string& what) {
  RowError& err = error_;
  err.line = line_;
  err.byte_col = static_cast<size_t>(at - line_begin) + 1;
  // Printable and valid UTF-8, whatever the row holds: messages reach JSON
  // logs and summaries.
  err.raw = Utf8Printable(
      std::string_view(line_begin, std::min<size_t>(static_cast<size_t>(line_end - line_begin), 300)));
  err.what = Utf8Printable(what);
  if (schema_ && col < schema_->columns.size()) {
    err.what += " (column " + std::to_string(col + 1) + " '" + schema_->columns[col].csv_name + "')";
  }
  return Status::InvalidInput(FormatError(0));
}

std::string CsvParser::FormatError(uint64_t lines_before) const {
  const std::string line = std::to_string(lines_before + error_.line);
  return source_ + ":" + line + ":" + std::to_string(error_.byte_col) + ": " + error_.what +
         "\n  line " + line + ": " + error_.raw;
}

}  // namespace mt::tardis
