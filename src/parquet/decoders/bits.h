// LSB-first bit unpacking shared by the decoders (parquet-format
// Encodings.md: values are packed from the least significant bit of each
// byte).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mt::parquet {

// The `width`-bit value (0..64) starting at bit `bitpos` of `p`.
// REQUIRES: the bytes up to bit bitpos + width exist.
inline uint64_t ReadPackedBits(const uint8_t* p, size_t bitpos, int width) {
  if (width == 0) return 0;
  uint64_t v = 0;
  int got = 0;
  size_t byte = bitpos >> 3;
  int shift = static_cast<int>(bitpos & 7);
  while (got < width) {
    v |= static_cast<uint64_t>(p[byte] >> shift) << got;
    got += 8 - shift;
    byte++;
    shift = 0;
  }
  return width == 64 ? v : v & ((uint64_t{1} << width) - 1);
}

}  // namespace mt::parquet
