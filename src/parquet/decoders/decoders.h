// Decoders for the Parquet encodings (parquet-format Encodings.md) our
// writer produces: PLAIN, RLE/bit-packed hybrid (levels and dictionary
// indices), DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY
// and BYTE_STREAM_SPLIT. Input is untrusted page data: every decoder checks
// bounds and returns kInvalidInput instead of reading past the end, and
// grows its output only as values are really decoded.
// tests/support/decoders.h holds the independent reference versions the
// encoder tests use; these are the production ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace mt::parquet {

// A bounds-checked cursor over one buffer.
class ByteCursor {
 public:
  ByteCursor(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}
  explicit ByteCursor(std::string_view s)
      : ByteCursor(reinterpret_cast<const uint8_t*>(s.data()), s.size()) {}
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const uint8_t* data() const { return p_; }
  bool Skip(size_t n) {
    if (n > remaining()) return false;
    p_ += n;
    return true;
  }
  bool Byte(uint8_t* b) {
    if (p_ >= end_) return false;
    *b = *p_++;
    return true;
  }
  bool Uleb(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b;
      if (!Byte(&b)) return false;
      *v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool ZigZag(int64_t* v) {
    uint64_t u;
    if (!Uleb(&u)) return false;
    *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }
  bool U32(uint32_t* v) {
    if (remaining() < 4) return false;
    *v = static_cast<uint32_t>(p_[0]) | static_cast<uint32_t>(p_[1]) << 8 |
         static_cast<uint32_t>(p_[2]) << 16 | static_cast<uint32_t>(p_[3]) << 24;
    p_ += 4;
    return true;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// RLE/bit-packed hybrid without length prefix: exactly `n` values of
// `bit_width` bits (0..32) appended to `out`.
Status DecodeRleHybrid(ByteCursor* in, int bit_width, size_t n, std::vector<uint32_t>* out);
// Definition levels of a data page v1: 4-byte length, then the hybrid data.
Status DecodeLevelsV1(ByteCursor* in, int bit_width, size_t n, std::vector<uint32_t>* out);

// DELTA_BINARY_PACKED: appends the values (up to `max_values`) to `out`.
Status DecodeDeltaBinaryPacked(ByteCursor* in, size_t max_values, std::vector<int64_t>* out);
// DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY: `n` strings appended to `out`.
Status DecodeDeltaLengthByteArray(ByteCursor* in, size_t n, std::vector<std::string>* out);
Status DecodeDeltaByteArray(ByteCursor* in, size_t n, std::vector<std::string>* out);

// PLAIN.
Status DecodePlainByteArray(ByteCursor* in, size_t n, std::vector<std::string>* out);
Status DecodePlainBool(ByteCursor* in, size_t n, std::vector<uint8_t>* out);
// Fixed-width little-endian values of `width` bytes (4 or 8), widened.
Status DecodePlainInt(ByteCursor* in, size_t n, int width, std::vector<int64_t>* out);
Status DecodePlainDouble(ByteCursor* in, size_t n, int width, std::vector<double>* out);
// BYTE_STREAM_SPLIT of `n` values of `width` bytes (4: float, 8: double or int64).
Status DecodeByteStreamSplit(ByteCursor* in, size_t n, int width, std::string* raw);

}  // namespace mt::parquet
