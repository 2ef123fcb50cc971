// BYTE_STREAM_SPLIT (parquet-format Encodings.md): byte k of every value goes
// to stream k. Prices and amounts share exponents and high mantissa bytes, so
// the split streams compress far better than PLAIN doubles.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

namespace mt::parquet {

namespace byte_stream_split_internal {

// Transposes the 8x8 byte matrix whose row i is a[i] (byte k: bits 8k to
// 8k+7): afterwards byte i of a[k] is what byte k of a[i] was. Three rounds
// of swaps between rows, of 1-, 2- and 4-byte blocks.
inline void Transpose8x8(uint64_t a[8]) {
  constexpr uint64_t kMask1 = 0x00FF00FF00FF00FFULL, kMask2 = 0x0000FFFF0000FFFFULL, kMask4 = 0x00000000FFFFFFFFULL;
  for (int i = 0; i < 8; i += 2) {
    const uint64_t t = ((a[i] >> 8) ^ a[i + 1]) & kMask1;
    a[i + 1] ^= t;
    a[i] ^= t << 8;
  }
  for (int i : {0, 1, 4, 5}) {
    const uint64_t t = ((a[i] >> 16) ^ a[i + 2]) & kMask2;
    a[i + 2] ^= t;
    a[i] ^= t << 16;
  }
  for (int i = 0; i < 4; i++) {
    const uint64_t t = ((a[i] >> 32) ^ a[i + 4]) & kMask4;
    a[i + 4] ^= t;
    a[i] ^= t << 32;
  }
}

}  // namespace byte_stream_split_internal

// Appends the encoding of v[0, n) to *out: byte k of each value as it lies
// in memory (the format's little-endian order on the hosts this builds for).
template <typename T>
void EncodeByteStreamSplit(const T* v, size_t n, std::string* out) {
  constexpr size_t W = sizeof(T);
  const size_t start = out->size();
  out->resize(start + n * W);
  char* dst = out->data() + start;
  const auto* src = reinterpret_cast<const unsigned char*>(v);
  size_t i = 0;
  if constexpr (W == 8 && std::endian::native == std::endian::little) {
    // Eight values at a time: their bytes transposed in registers, then
    // eight bytes stored to each stream (one byte a store otherwise).
    for (; i + 8 <= n; i += 8) {
      uint64_t a[8];
      std::memcpy(a, src + i * 8, 64);
      byte_stream_split_internal::Transpose8x8(a);
      for (size_t k = 0; k < 8; k++) std::memcpy(dst + k * n + i, &a[k], 8);
    }
  }
  for (; i < n; i++) {
    for (size_t k = 0; k < W; k++) dst[k * n + i] = static_cast<char>(src[i * W + k]);
  }
}

}  // namespace mt::parquet
