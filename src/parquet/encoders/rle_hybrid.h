// RLE / bit-packing hybrid (parquet-format Encodings.md, "RLE"): used for
// definition levels and dictionary indices. Runs of >= 8 equal values become
// RLE runs; everything else is bit-packed in groups of 8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "parquet/encoders/bit_writer.h"

namespace mt::parquet {

// Appends the hybrid encoding of v[0..n) (no length prefix, no bit-width
// byte) to `out`. REQUIRES: every v[i] < 2^bit_width, 0 <= bit_width <= 32.
// T is an unsigned integer type (uint8_t levels, uint32_t indices).
template <typename T>
void EncodeRleHybrid(const T* v, size_t n, int bit_width, std::string* out) {
  auto run_length = [&](size_t i) {
    size_t j = i + 1;
    while (j < n && v[j] == v[i]) j++;
    return j - i;
  };
  const int value_bytes = (bit_width + 7) / 8;
  size_t i = 0;
  while (i < n) {
    const size_t run = run_length(i);
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
    } while (j < n && run_length(j) < 8);
    const size_t end = j < n ? j : n;
    PutUleb128(out, (static_cast<uint64_t>((j - i) / 8) << 1) | 1);
    BitWriter bw(out);
    for (size_t k = i; k < j; k++) bw.Put(k < end ? static_cast<uint64_t>(v[k]) : 0, bit_width);
    bw.Finish();
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
