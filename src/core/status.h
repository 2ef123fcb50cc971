// Errors as values: a Status carries a code, a message and where it happened
// (file, line, column, URL). No exception crosses a component boundary; the
// CLI maps codes to exit codes in one place (core/exit_code.h).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace mt {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidInput,    // the data is bad (a CSV row, a symbol with no key); permanent
    kDataLoss,        // the bytes are damaged (truncated or corrupt gzip): a fresh copy may be whole
    kUsage,           // bad flags or configuration
    kNotFound,        // file/object/URL does not exist
    kIOError,         // local disk or network failure; may be retryable
    kUnavailable,     // transient remote failure (5xx, 429, timeouts)
    kPermission,      // 401/403, missing credentials
    kAlreadyExists,   // create-only write found the object present
    kCancelled,       // SIGINT/SIGTERM
    kInternal,
  };

  // A finer reason within a code, for callers that act on it: a checksum
  // mismatch is fetched again (net/retry.h), and so is an object replaced
  // while it was read in ranges (storage/object_store.h), and a page (HTML,
  // XML) that came where a Tardis file was expected (a proxy's or an error
  // page, which a download asks again; tardis/csv_parser.h). Never inferred
  // from the text.
  // kCredentials: a store refused the credential in use (its 401/403), which
  // refuses every later request the same way (a download stops there).
  enum class Detail : unsigned char { kNone, kChecksumMismatch, kReplacedWhileRead, kNotTheFile, kCredentials };

  Status() = default;
  Status(Code code, std::string msg) : code_(code), msg_(std::move(msg)) {}

  static Status OK() { return Status(); }
  static Status InvalidInput(std::string m) { return {Code::kInvalidInput, std::move(m)}; }
  static Status DataLoss(std::string m) { return {Code::kDataLoss, std::move(m)}; }
  static Status Usage(std::string m) { return {Code::kUsage, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Permission(std::string m) { return {Code::kPermission, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status Cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }
  // True when repeating the same operation later may succeed.
  bool retryable() const { return code_ == Code::kUnavailable || code_ == Code::kIOError; }

  Detail detail() const { return detail_; }
  Status WithDetail(Detail d) const {
    Status s = *this;
    s.detail_ = d;
    return s;
  }

  // Returns a copy whose message is prefixed with `context: ` (same code and detail).
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    Status s(code_, context + ": " + msg_);
    s.detail_ = detail_;
    return s;
  }
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  Detail detail_ = Detail::kNone;
  std::string msg_;
};

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}              // NOLINT(implicit)
  Result(Status status) : v_(std::move(status)) {}       // NOLINT(implicit)
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace mt

#define MT_RETURN_IF_ERROR(expr)          \
  do {                                    \
    ::mt::Status _st = (expr);            \
    if (!_st.ok()) return _st;            \
  } while (0)

#define MT_CONCAT_INNER(a, b) a##b
#define MT_CONCAT(a, b) MT_CONCAT_INNER(a, b)
#define MT_ASSIGN_OR_RETURN(lhs, expr) \
  MT_ASSIGN_OR_RETURN_IMPL(MT_CONCAT(_res_, __LINE__), lhs, expr)
#define MT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
