#include "core/bounded_json.h"

#include <cstring>
#include <iterator>
#include <string>

namespace mt {

Status CheckJsonBounds(std::string_view text, std::string_view source, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Status::InvalidInput(std::string(source) + ": the JSON answer is " + std::to_string(text.size()) +
                                " bytes, more than the " + std::to_string(limits.max_bytes) +
                                " this document may have; it is not the document expected");
  }
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
      if (++depth > limits.max_depth) {
        return Status::InvalidInput(std::string(source) + ": the JSON answer nests arrays and objects deeper than " +
                                    std::to_string(limits.max_depth) + " levels (at byte " +
                                    std::to_string(p - text.data() - 1) +
                                    "); it is not the document expected, so it is not parsed");
      }
    } else if (c == ']' || c == '}') {
      if (depth > 0) depth--;
    }
  }
  return Status::OK();
}

namespace {

// The bytes of a document read piece by piece, scanned as CheckJsonBounds
// scans them as they pass: the parser's input stops at the first bracket
// past the depth bound.
class PieceReader {
 public:
  PieceReader(const std::function<Result<std::string>()>& read, std::string_view source, const JsonLimits& limits)
      : read_(read), source_(source), limits_(limits) {}

  // The next byte, or false at the end of the parser's input.
  bool Next(char* c) {
    if (pos_ == piece_.size() && !Fill()) return false;
    const char ch = piece_[pos_];
    if (!Scan(ch)) return false;
    pos_++;
    *c = ch;
    return true;
  }
  // Reads and scans what the parser left, for the document's size and
  // depth; then the bound the document breaks, or the read error, if any.
  Status Finish() {
    while (read_error_.ok() && depth_error_.ok()) {
      if (pos_ == piece_.size() && !Fill()) break;
      if (!Scan(piece_[pos_])) break;
      pos_++;
    }
    while (read_error_.ok() && !eof_) {  // past a depth error: its size only
      pos_ = piece_.size();
      Fill();
    }
    if (!read_error_.ok()) return read_error_;
    if (total_ > limits_.max_bytes) {
      return Status::InvalidInput(std::string(source_) + ": the JSON answer is " + std::to_string(total_) +
                                  " bytes, more than the " + std::to_string(limits_.max_bytes) +
                                  " this document may have; it is not the document expected");
    }
    return depth_error_;
  }

 private:
  bool Fill() {
    if (eof_ || !read_error_.ok()) return false;
    consumed_ += piece_.size();
    auto next = read_();
    if (!next.ok()) {
      read_error_ = next.status();
      piece_.clear();
      pos_ = 0;
      return false;
    }
    piece_ = std::move(next).value();
    pos_ = 0;
    total_ += piece_.size();
    if (piece_.empty()) eof_ = true;
    // Too large: the parser is given nothing more (the text is read on for
    // its size, which the message states).
    if (total_ > limits_.max_bytes) depth_error_ = Status::InvalidInput("too large");
    return !eof_ && depth_error_.ok();
  }
  // CheckJsonBounds's state machine, one byte at a time; false at the
  // bracket past the depth bound (kept in depth_error_).
  bool Scan(char c) {
    if (!depth_error_.ok()) return false;
    if (in_string_) {
      if (escaped_) {
        escaped_ = false;
      } else if (c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
      return true;
    }
    if (c == '"') {
      in_string_ = true;
    } else if (c == '[' || c == '{') {
      if (++depth_ > limits_.max_depth) {
        depth_error_ = Status::InvalidInput(
            std::string(source_) + ": the JSON answer nests arrays and objects deeper than " +
            std::to_string(limits_.max_depth) + " levels (at byte " + std::to_string(consumed_ + pos_) +
            "); it is not the document expected, so it is not parsed");
        return false;
      }
    } else if (c == ']' || c == '}') {
      if (depth_ > 0) depth_--;
    }
    return true;
  }

  const std::function<Result<std::string>()>& read_;
  std::string_view source_;
  JsonLimits limits_;
  std::string piece_;
  size_t pos_ = 0;
  uint64_t consumed_ = 0;  // bytes of the pieces before piece_
  uint64_t total_ = 0;     // bytes read
  bool eof_ = false;
  Status read_error_;
  Status depth_error_;  // or the size bound, whose message Finish words
  size_t depth_ = 0;
  bool in_string_ = false, escaped_ = false;
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

Result<nlohmann::json> ParseBoundedJson(std::string_view text, std::string_view source,
                                        const nlohmann::json::parser_callback_t& callback, const JsonLimits& limits) {
  MT_RETURN_IF_ERROR(CheckJsonBounds(text, source, limits));
  return nlohmann::json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
}

}  // namespace mt
