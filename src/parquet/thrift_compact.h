// Thrift compact protocol writer: just enough to serialise Parquet's
// PageHeader and FileMetaData (Thrift spec, "compact protocol"). Field ids
// of the Parquet structs live in format.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mt::parquet {

// Compact-protocol type nibbles.
enum class TType : uint8_t {
  kBoolTrue = 1, kBoolFalse = 2, kByte = 3, kI16 = 4, kI32 = 5, kI64 = 6,
  kDouble = 7, kBinary = 8, kList = 9, kSet = 10, kMap = 11, kStruct = 12,
};

class ThriftWriter {
 public:
  explicit ThriftWriter(std::string* out) : out_(out) {}

  void BeginStruct() { last_field_.push_back(0); }
  void EndStruct() {  // writes the STOP byte
    out_->push_back(0);
    last_field_.pop_back();
  }

  void FieldI32(int16_t id, int32_t v) { FieldHeader(id, TType::kI32); Varint(ZigZag(v)); }
  void FieldI64(int16_t id, int64_t v) { FieldHeader(id, TType::kI64); Varint(ZigZag(v)); }
  void FieldI16(int16_t id, int16_t v) { FieldHeader(id, TType::kI16); Varint(ZigZag(v)); }
  void FieldBool(int16_t id, bool v) { FieldHeader(id, v ? TType::kBoolTrue : TType::kBoolFalse); }
  void FieldBinary(int16_t id, std::string_view v) { FieldHeader(id, TType::kBinary); Binary(v); }
  // Opens a nested struct field; close it with EndStruct().
  void FieldStruct(int16_t id) { FieldHeader(id, TType::kStruct); BeginStruct(); }
  // Opens a list field of `size` elements of type `elem`; elements follow
  // (I32 via ListI32, BINARY via Binary, STRUCT via BeginStruct/EndStruct).
  void FieldList(int16_t id, TType elem, uint32_t size) {
    FieldHeader(id, TType::kList);
    if (size < 15) {
      out_->push_back(static_cast<char>((size << 4) | static_cast<uint8_t>(elem)));
    } else {
      out_->push_back(static_cast<char>(0xF0 | static_cast<uint8_t>(elem)));
      Varint(size);
    }
  }
  void ListI32(int32_t v) { Varint(ZigZag(v)); }
  void Binary(std::string_view v) {
    Varint(v.size());
    out_->append(v.data(), v.size());
  }

  static uint64_t ZigZag(int64_t v) {
    return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  }
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_->push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out_->push_back(static_cast<char>(v));
  }

 private:
  void FieldHeader(int16_t id, TType t) {
    int16_t& last = last_field_.back();
    const int delta = id - last;
    if (delta > 0 && delta <= 15) {
      out_->push_back(static_cast<char>((delta << 4) | static_cast<uint8_t>(t)));
    } else {
      out_->push_back(static_cast<char>(t));
      Varint(ZigZag(id));
    }
    last = id;
  }

  std::string* out_;
  std::vector<int16_t> last_field_;
};

}  // namespace mt::parquet
