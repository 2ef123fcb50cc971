// PLAIN encoding (parquet-format Encodings.md): little-endian fixed-width
// values, bit-packed booleans, and 4-byte-length-prefixed byte arrays.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace mt::parquet {

template <typename T>
void EncodePlainFixed(const T* v, size_t n, std::string* out) {
  static_assert(std::endian::native == std::endian::little, "little-endian hosts only");
  out->append(reinterpret_cast<const char*>(v), n * sizeof(T));
}

// Booleans: one bit each, least significant bit first.
inline void EncodePlainBool(const uint8_t* v, size_t n, std::string* out) {
  const size_t start = out->size();
  out->append((n + 7) / 8, '\0');
  char* p = out->data() + start;
  for (size_t i = 0; i < n; i++) {
    if (v[i]) p[i >> 3] = static_cast<char>(p[i >> 3] | (1 << (i & 7)));
  }
}

inline void EncodePlainByteArray(std::string_view s, std::string* out) {
  const uint32_t len = static_cast<uint32_t>(s.size());
  char b[4];
  std::memcpy(b, &len, 4);
  out->append(b, 4);
  out->append(s.data(), s.size());
}

}  // namespace mt::parquet
