// RLE / bit-packing hybrid (parquet-format Encodings.md, "RLE"): used for
// definition levels and dictionary indices. Runs of >= 8 equal values become
// RLE runs; everything else is bit-packed in groups of 8.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "parquet/encoders/bit_writer.h"

namespace mt::parquet {

namespace rle_internal {

// Number of values equal to v[i] starting at i (at least 1).
template <typename T>
inline size_t RunLength(const T* v, size_t i, size_t n) {
  const T x = v[i];
  size_t j = i + 1;
  if constexpr (sizeof(T) == 1) {
    // Long runs (definition levels of columns without nulls): 8 bytes a step.
    const uint64_t pattern = 0x0101010101010101ULL * static_cast<uint8_t>(x);
    while (j + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, v + j, 8);
      const uint64_t diff = w ^ pattern;
      if (diff != 0) return j + static_cast<size_t>(__builtin_ctzll(diff) / 8) - i;
      j += 8;
    }
  }
  while (j < n && v[j] == x) j++;
  return j - i;
}

// 8 values of W bits, LSB first: exactly W bytes. W is a compile-time
// constant, so the unrolled loop has constant shifts.
template <int W, typename T>
char* Pack8(const T* v, char* dst) {
  if constexpr (W == 0) {
    return dst;
  } else {
    uint64_t acc = 0;
    int bits = 0;
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++) {
      const uint64_t x = static_cast<uint64_t>(v[k]);
      acc |= x << bits;
      bits += W;
      if (bits >= 64) {
        std::memcpy(dst, &acc, 8);
        dst += 8;
        bits -= 64;
        acc = bits > 0 ? x >> (W - bits) : 0;
      }
    }
    // 8 * W bits are whole bytes: the rest of them are in acc.
    std::memcpy(dst, &acc, static_cast<size_t>(bits / 8));
    return dst + bits / 8;
  }
}

template <typename T>
using Pack8Fn = char* (*)(const T*, char*);

template <typename T, size_t... I>
constexpr auto MakePack8Table(std::index_sequence<I...>) {
  return std::array<Pack8Fn<T>, sizeof...(I)>{&Pack8<static_cast<int>(I), T>...};
}

template <typename T>
inline constexpr auto kPack8 = MakePack8Table<T>(std::make_index_sequence<33>());

}  // namespace rle_internal

// Appends the hybrid encoding of v[0..n) (no length prefix, no bit-width
// byte) to `out`. REQUIRES: every v[i] < 2^bit_width, 0 <= bit_width <= 32.
// T is an unsigned integer type (uint8_t levels, uint32_t indices).
template <typename T>
void EncodeRleHybrid(const T* v, size_t n, int bit_width, std::string* out) {
  using rle_internal::RunLength;
  const int value_bytes = (bit_width + 7) / 8;
  const auto pack = rle_internal::kPack8<T>[static_cast<size_t>(bit_width)];
  size_t i = 0;
  while (i < n) {
    const size_t run = RunLength(v, i, n);
    if (run >= 8 || bit_width == 0) {
      PutUleb128(out, static_cast<uint64_t>(run) << 1);
      for (int b = 0; b < value_bytes; b++) {
        out->push_back(static_cast<char>((static_cast<uint64_t>(v[i]) >> (8 * b)) & 0xFF));
      }
      i += run;
      continue;
    }
    // Bit-packed stretch of whole groups of 8, ending where a long run starts
    // on a group boundary, or at the end of the data (padded with zeros there:
    // readers stop at the page's value count).
    size_t j = i;
    do {
      j += 8;
    } while (j < n && RunLength(v, j, n) < 8);
    const size_t end = j < n ? j : n;
    const size_t groups = (j - i) / 8;
    PutUleb128(out, (static_cast<uint64_t>(groups) << 1) | 1);
    const size_t pos = out->size();
    out->resize(pos + groups * static_cast<size_t>(bit_width));
    char* dst = out->data() + pos;
    size_t k = i;
    for (; k + 8 <= end; k += 8) dst = pack(v + k, dst);
    if (k < end) {  // last partial group, zero padded
      T last[8] = {};
      for (size_t m = k; m < end; m++) last[m - k] = v[m];
      pack(last, dst);
    }
    i = end;
  }
}

// Definition levels of a nullable flat column (1 = present, 0 = null) in the
// data-page-v1 form: a 4-byte little-endian length, then the hybrid encoding
// with bit width 1.
inline void EncodeDefinitionLevels(const uint8_t* defined, size_t n, std::string* out) {
  const size_t len_pos = out->size();
  out->append(4, '\0');
  const size_t start = out->size();
  EncodeRleHybrid(defined, n, 1, out);
  const uint32_t len = static_cast<uint32_t>(out->size() - start);
  for (int b = 0; b < 4; b++) (*out)[len_pos + b] = static_cast<char>((len >> (8 * b)) & 0xFF);
}

}  // namespace mt::parquet
