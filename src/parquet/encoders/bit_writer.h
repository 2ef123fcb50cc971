// Little-endian bit packing as Parquet uses it: values are packed starting at
// the least significant bit of each byte (parquet-format Encodings.md,
// "Bit-packed (Deprecated)" is the other order; we never write that one).
#pragma once

#include <cstdint>
#include <string>

namespace mt::parquet {

class BitWriter {
 public:
  explicit BitWriter(std::string* out) : out_(out) {}
  // REQUIRES: 0 <= width <= 64 and `v` fits in `width` bits.
  void Put(uint64_t v, int width) {
    if (width == 0) return;
    if (bits_ + width <= 64) {
      acc_ |= (bits_ == 64 ? 0 : v << bits_);
      bits_ += width;
    } else {
      const int first = 64 - bits_;
      acc_ |= v << bits_;  // bits_ < 64 here, so the shift is defined
      FlushWord();
      acc_ = v >> first;
      bits_ = width - first;
    }
    if (bits_ == 64) FlushWord();
  }
  // Pads the last partial byte with zero bits.
  void Finish() {
    while (bits_ > 0) {
      out_->push_back(static_cast<char>(acc_ & 0xFF));
      acc_ >>= 8;
      bits_ = bits_ > 8 ? bits_ - 8 : 0;
    }
    acc_ = 0;
  }

 private:
  void FlushWord() {
    char b[8];
    for (int i = 0; i < 8; i++) b[i] = static_cast<char>((acc_ >> (8 * i)) & 0xFF);
    out_->append(b, 8);
    acc_ = 0;
    bits_ = 0;
  }
  std::string* out_;
  uint64_t acc_ = 0;
  int bits_ = 0;
};

inline int BitWidth(uint64_t max_value) {
  return max_value == 0 ? 0 : 64 - __builtin_clzll(max_value);
}

inline void PutUleb128(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

inline void PutZigZagVarint(std::string* out, int64_t v) {
  PutUleb128(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

}  // namespace mt::parquet
