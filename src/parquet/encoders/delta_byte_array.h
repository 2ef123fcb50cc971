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

#include <vector>

#include "parquet/encoders/delta_binary_packed.h"

namespace mt::parquet {

template <typename Get>
void EncodeDeltaByteArray(size_t n, Get get, std::string* out) {
  std::vector<int64_t> prefix(n), suffix_len(n);
  std::string_view prev;
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    const std::string_view s = get(i);
    size_t p = 0;
    const size_t lim = std::min(prev.size(), s.size());
    while (p < lim && prev[p] == s[p]) p++;
    prefix[i] = static_cast<int64_t>(p);
    suffix_len[i] = static_cast<int64_t>(s.size() - p);
    total += s.size() - p;
    prev = s;
  }
  EncodeDeltaBinaryPacked(prefix.data(), n, out);
  EncodeDeltaBinaryPacked(suffix_len.data(), n, out);
  out->reserve(out->size() + total);
  for (size_t i = 0; i < n; i++) {
    const std::string_view s = get(i);
    out->append(s.data() + prefix[i], s.size() - static_cast<size_t>(prefix[i]));
  }
}

}  // namespace mt::parquet
