#include "core/bounded_json.h"

#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>

namespace mt {

namespace {

// The bounds' errors, worded once for the whole text and for its pieces.
Status TooLarge(std::string_view source, uint64_t bytes, const JsonLimits& limits) {
  return Status::InvalidInput(std::string(source) + ": the JSON answer is " + std::to_string(bytes) +
                              " bytes, more than the " + std::to_string(limits.max_bytes) +
                              " this document may have; it is not the document expected");
}
Status TooDeep(std::string_view source, uint64_t at, const JsonLimits& limits) {
  return Status::InvalidInput(std::string(source) + ": the JSON answer nests arrays and objects deeper than " +
                              std::to_string(limits.max_depth) + " levels (at byte " + std::to_string(at) +
                              "); it is not the document expected, so it is not parsed");
}

}  // namespace

Status CheckJsonBounds(std::string_view text, std::string_view source, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) return TooLarge(source, text.size(), limits);
  const char* p = text.data();
  const char* const end = p + text.size();
  size_t depth = 0;
  while (p < end) {
    const char c = *p++;
    if (c == '"') {  // skip the string: its brackets are text
      while (p < end) {
        const void* q = std::memchr(p, '"', static_cast<size_t>(end - p));
        if (!q) {
          p = end;
          break;
        }
        const char* quote = static_cast<const char*>(q);
        size_t backslashes = 0;  // an odd run of them escapes the quote
        while (quote - backslashes > p && quote[-1 - static_cast<ptrdiff_t>(backslashes)] == '\\') backslashes++;
        p = quote + 1;
        if (backslashes % 2 == 0) break;
      }
    } else if (c == '[' || c == '{') {
      if (++depth > limits.max_depth) return TooDeep(source, static_cast<uint64_t>(p - text.data() - 1), limits);
    } else if (c == ']' || c == '}') {
      if (depth > 0) depth--;
    }
  }
  return Status::OK();
}

namespace {

// The bytes of a document read piece by piece, each piece scanned as
// CheckJsonBounds scans the whole text when it is read: the parser's input
// stops at the first bracket past the depth bound, and at the piece that
// makes the document too large.
class PieceReader {
 public:
  PieceReader(const std::function<Result<std::string>()>& read, std::string_view source, const JsonLimits& limits)
      : read_(read), source_(source), limits_(limits) {}

  // The next byte, or false at the end of the parser's input.
  bool Next(char* c) {
    if (pos_ == limit_) {
      if (limit_ < piece_.size()) return false;  // cut at a bound
      Fill();
      if (pos_ == limit_) return false;
    }
    *c = piece_[pos_++];
    return true;
  }
  // Reads and scans what the parser left, for the document's size and
  // depth; then the bound the document breaks, or the read error, if any.
  Status Finish() {
    while (read_error_.ok() && bound_.ok() && !eof_) Fill();
    while (read_error_.ok() && !eof_) ReadPiece();  // past a bound: its size only
    if (!read_error_.ok()) return read_error_;
    if (total_ > limits_.max_bytes) return TooLarge(source_, total_, limits_);
    return bound_;
  }

 private:
  void ReadPiece() {
    consumed_ += piece_.size();
    auto next = read_();
    if (!next.ok()) {
      read_error_ = next.status();
      next = std::string();
    }
    piece_ = std::move(next).value();
    pos_ = limit_ = 0;
    total_ += piece_.size();
    eof_ = eof_ || piece_.empty();
  }
  // The next piece, scanned; the parser gets it up to limit_.
  void Fill() {
    if (eof_ || !read_error_.ok() || !bound_.ok()) return;
    ReadPiece();
    if (!read_error_.ok()) return;
    if (total_ > limits_.max_bytes) {
      bound_ = Status::InvalidInput("too large");  // Finish words it, with the size
      return;
    }
    limit_ = Scan();
  }
  // CheckJsonBounds's state machine over piece_, carried from the pieces
  // before: the index of the bracket past the depth bound (bound_ set), or
  // the piece's size.
  size_t Scan() {
    const char* p = piece_.data();
    const size_t n = piece_.size();
    for (size_t i = 0; i < n; i++) {
      const char c = p[i];
      if (!strings_.Outside(c)) continue;
      if (c == '[' || c == '{') {
        if (++depth_ > limits_.max_depth) {
          bound_ = TooDeep(source_, consumed_ + i, limits_);
          return i;
        }
      } else if ((c == ']' || c == '}') && depth_ > 0) {
        depth_--;
      }
    }
    return n;
  }

  const std::function<Result<std::string>()>& read_;
  std::string_view source_;
  JsonLimits limits_;
  std::string piece_;
  size_t pos_ = 0, limit_ = 0;  // the parser's next byte, and where its input of piece_ ends
  uint64_t consumed_ = 0;       // bytes of the pieces before piece_
  uint64_t total_ = 0;          // bytes read
  bool eof_ = false;
  Status read_error_;
  Status bound_;  // the depth bound broken, or the size bound (worded by Finish)
  size_t depth_ = 0;
  JsonStringState strings_;
};

// The parser's input: an input iterator over a PieceReader's bytes.
class PieceIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;
  PieceIterator() = default;  // the end
  explicit PieceIterator(PieceReader* r) : reader_(r) { Advance(); }
  const char& operator*() const { return c_; }
  PieceIterator& operator++() {
    Advance();
    return *this;
  }
  bool operator==(const PieceIterator& o) const { return reader_ == o.reader_; }
  bool operator!=(const PieceIterator& o) const { return reader_ != o.reader_; }

 private:
  void Advance() {
    if (reader_ && !reader_->Next(&c_)) reader_ = nullptr;
  }
  PieceReader* reader_ = nullptr;
  char c_ = 0;
};

}  // namespace

Result<nlohmann::json> ParseBoundedJsonPieces(const std::function<Result<std::string>()>& read, std::string_view source,
                                              const nlohmann::json::parser_callback_t& callback,
                                              const JsonLimits& limits) {
  PieceReader reader(read, source, limits);
  nlohmann::json j = nlohmann::json::parse(PieceIterator(&reader), PieceIterator(), callback,
                                           /*allow_exceptions=*/false);
  MT_RETURN_IF_ERROR(reader.Finish());
  return j;
}

Status CheckJsonBoundsPieces(const std::function<Result<std::string>()>& read, std::string_view source,
                             const JsonLimits& limits) {
  PieceReader reader(read, source, limits);
  return reader.Finish();
}

Result<nlohmann::json> ParseBoundedJson(std::string_view text, std::string_view source,
                                        const nlohmann::json::parser_callback_t& callback, const JsonLimits& limits) {
  MT_RETURN_IF_ERROR(CheckJsonBounds(text, source, limits));
  return nlohmann::json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
}

namespace {

// A SAX handler that keeps nothing but where the parser failed.
struct ErrorPosition : nlohmann::json_sax<nlohmann::json> {
  size_t position = 0;
  bool failed = false;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception&) override {
    failed = true;
    position = pos;
    return false;
  }
};

}  // namespace

Result<bool> JsonEndsEarly(const std::function<Result<std::string>()>& read) {
  size_t total = 0;
  Status read_error;
  auto counted = [&]() -> Result<std::string> {
    auto piece = read();
    if (!piece.ok()) {
      read_error = piece.status();
      return std::string();
    }
    total += piece->size();
    return piece;
  };
  const std::function<Result<std::string>()> pieces = counted;
  // No depth or size bound: the SAX handler builds nothing, and the body was
  // bounded before it was parsed.
  PieceReader reader(pieces, "", JsonLimits{std::numeric_limits<size_t>::max(), std::numeric_limits<size_t>::max()});
  ErrorPosition sax;
  nlohmann::json::sax_parse(PieceIterator(&reader), PieceIterator(), &sax, nlohmann::json::input_format_t::json, true);
  MT_RETURN_IF_ERROR(read_error);
  // The lexer counts the end of the input as one character read past the
  // last byte: an error there is one at no byte of the text.
  return sax.failed && sax.position > total;
}

}  // namespace mt
