// Thrift compact protocol reader (Thrift spec, "compact protocol"): the
// counterpart of thrift_compact.h, for Parquet footers and page headers of
// any writer. Input is untrusted: every read is bounds-checked, list sizes
// are checked against the bytes left, nesting is limited, and the first
// error is sticky: later reads return zero values and ok() stays false, so
// a parser can read a whole struct and check once at the end.
// Thread-safety: one reader per thread; the buffer must outlive the reader.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "parquet/thrift_compact.h"

namespace mt::parquet {

class ThriftReader {
 public:
  ThriftReader(const uint8_t* data, size_t size) : p_(data), begin_(data), end_(data + size) {}
  explicit ThriftReader(std::string_view s)
      : ThriftReader(reinterpret_cast<const uint8_t*>(s.data()), s.size()) {}
  ThriftReader(std::string&&) = delete;  // the bytes must outlive the reader

  // Struct framing. ReadFieldHeader returns false at the STOP byte (or on
  // error); otherwise sets the field id and its type. A BOOL field's value
  // is carried in the header: read it with BoolValue(type).
  void BeginStruct();
  void EndStruct();
  bool ReadFieldHeader(int16_t* id, TType* type);
  static bool BoolValue(TType t) { return t == TType::kBoolTrue; }

  int32_t ReadI32();
  int64_t ReadI64();
  int16_t ReadI16() { return static_cast<int16_t>(ReadI32()); }
  double ReadDouble();
  std::string_view ReadBinary();
  // List/set header; `size` is checked against the bytes left (every element
  // takes at least one byte). Bool list elements are one byte each: ReadListBool.
  bool ReadListHeader(TType* elem, uint32_t* size);
  bool ReadListBool();
  // Skips a value of type `t` (structs, lists and maps recursively).
  void Skip(TType t);

  // Type checks for parsers: records an error when `got` is not `want`.
  bool Expect(TType got, TType want, const char* what);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  // The error as a Status with byte offset context, or OK.
  Status status(const std::string& what) const;
  size_t offset() const { return static_cast<size_t>(p_ - begin_); }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  void Fail(const std::string& msg);

 private:
  uint64_t ReadVarint();
  void SkipDepth(TType t, int depth);

  static constexpr int kMaxDepth = 64;

  const uint8_t* p_;
  const uint8_t* begin_;
  const uint8_t* end_;
  std::vector<int16_t> last_field_;
  std::string error_;
  size_t error_offset_ = 0;
};

}  // namespace mt::parquet
