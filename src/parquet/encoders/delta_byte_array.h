// DELTA_BYTE_ARRAY (parquet-format Encodings.md): prefix lengths shared with
// the previous value (DELTA_BINARY_PACKED), then the suffixes as
// DELTA_LENGTH_BYTE_ARRAY. Sequential trade ids ("42377944", "42377945")
// keep only their last digits.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mt::parquet {

// `get(i)` returns the i-th value as a string_view, for i in [0, n).
template <typename Get>
void EncodeDeltaByteArray(size_t n, Get get, std::string* out);

}  // namespace mt::parquet

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "columnar/pod_vector.h"
#include "parquet/encoders/delta_binary_packed.h"

namespace mt::parquet {

// Length of the common prefix of a and b, 8 bytes a step.
inline size_t CommonPrefix(std::string_view a, std::string_view b) {
  const size_t lim = std::min(a.size(), b.size());
  size_t p = 0;
  while (p + 8 <= lim) {
    uint64_t x, y;
    std::memcpy(&x, a.data() + p, 8);
    std::memcpy(&y, b.data() + p, 8);
    if (x != y) return p + static_cast<size_t>(__builtin_ctzll(x ^ y) / 8);
    p += 8;
  }
  while (p < lim && a[p] == b[p]) p++;
  return p;
}

template <typename Get>
void EncodeDeltaByteArray(size_t n, Get get, std::string* out) {
  // Not kept per thread: 8 bytes a row would add to the peak RSS of every
  // pool thread. Every slot is written below: no zero-fill. A page holds
  // far less than 2 GiB, so lengths fit 32 bits.
  columnar::PodVector<int32_t> prefix, suffix_len;
  prefix.resize(n);
  suffix_len.resize(n);
  std::string_view prev;
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    const std::string_view s = get(i);
    const size_t p = CommonPrefix(prev, s);
    prefix[i] = static_cast<int32_t>(p);
    suffix_len[i] = static_cast<int32_t>(s.size() - p);
    total += s.size() - p;
    prev = s;
  }
  EncodeDeltaBinaryPacked(prefix.data(), n, out);
  EncodeDeltaBinaryPacked(suffix_len.data(), n, out);
  const size_t start = out->size();
  out->resize(start + total);
  char* dst = out->data() + start;
  for (size_t i = 0; i < n; i++) {
    const std::string_view s = get(i);
    const size_t len = static_cast<size_t>(suffix_len[i]);
    const char* src = s.data() + prefix[i];
    if (len <= 3) {  // a sequential id's last digits: no memcpy call
      for (size_t k = 0; k < len; k++) dst[k] = src[k];
    } else {
      std::memcpy(dst, src, len);
    }
    dst += len;
  }
}

}  // namespace mt::parquet
