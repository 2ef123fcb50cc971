// BYTE_STREAM_SPLIT (parquet-format Encodings.md): byte k of every value goes
// to stream k. Prices and amounts share exponents and high mantissa bytes, so
// the split streams compress far better than PLAIN doubles.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace mt::parquet {

template <typename T>
void EncodeByteStreamSplit(const T* v, size_t n, std::string* out) {
  constexpr size_t W = sizeof(T);
  const size_t start = out->size();
  out->resize(start + n * W);
  char* dst = out->data() + start;
  const auto* src = reinterpret_cast<const unsigned char*>(v);
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; k < W; k++) dst[k * n + i] = static_cast<char>(src[i * W + k]);
  }
}

}  // namespace mt::parquet
