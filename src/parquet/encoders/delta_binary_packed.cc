#include "parquet/encoders/delta_binary_packed.h"

#include <algorithm>
#include <cstring>

#include "parquet/encoders/bit_writer.h"

namespace mt::parquet {

namespace {
constexpr size_t kBlockSize = 128;
constexpr size_t kMiniblocks = 4;
constexpr size_t kMiniblockSize = kBlockSize / kMiniblocks;
// 32 values of `width` bits, LSB first: exactly 4 * width bytes. A 128-bit
// accumulator takes any width up to 64 without the per-value branches of
// BitWriter (this loop is most of the encoder's time).
void PackMiniblock(const uint64_t* v, int width, std::string* out) {
  if (width == 0) return;
  const size_t start = out->size();
  out->resize(start + 4 * static_cast<size_t>(width));
  char* dst = out->data() + start;
  unsigned __int128 acc = 0;
  int bits = 0;
  for (size_t k = 0; k < kMiniblockSize; k++) {
    acc |= static_cast<unsigned __int128>(v[k]) << bits;
    bits += width;
    if (bits >= 64) {
      const uint64_t word = static_cast<uint64_t>(acc);
      std::memcpy(dst, &word, 8);
      dst += 8;
      acc >>= 64;
      bits -= 64;
    }
  }
  // 32 * width is a multiple of 8 bits; the rest of the bytes are here.
  while (bits > 0) {
    *dst++ = static_cast<char>(static_cast<uint64_t>(acc) & 0xFF);
    acc >>= 8;
    bits -= 8;
  }
}

}  // namespace

void EncodeDeltaBinaryPacked(const int64_t* v, size_t n, std::string* out) {
  PutUleb128(out, kBlockSize);
  PutUleb128(out, kMiniblocks);
  PutUleb128(out, n);
  PutZigZagVarint(out, n > 0 ? v[0] : 0);
  if (n <= 1) return;

  uint64_t deltas[kBlockSize] = {};
  size_t i = 1;  // index of the value whose delta comes next
  while (i < n) {
    const size_t count = std::min(kBlockSize, n - i);
    int64_t min_delta = INT64_MAX;
    for (size_t k = 0; k < count; k++) {
      const int64_t d = static_cast<int64_t>(static_cast<uint64_t>(v[i + k]) -
                                             static_cast<uint64_t>(v[i + k - 1]));
      deltas[k] = static_cast<uint64_t>(d);
      min_delta = std::min(min_delta, d);
    }
    for (size_t k = 0; k < count; k++) deltas[k] -= static_cast<uint64_t>(min_delta);
    PutZigZagVarint(out, min_delta);

    const size_t used = (count + kMiniblockSize - 1) / kMiniblockSize;
    int widths[kMiniblocks] = {0, 0, 0, 0};
    for (size_t m = 0; m < used; m++) {
      uint64_t mx = 0;
      const size_t lo = m * kMiniblockSize, hi = std::min(count, lo + kMiniblockSize);
      for (size_t k = lo; k < hi; k++) mx |= deltas[k];
      widths[m] = BitWidth(mx);
    }
    for (size_t m = 0; m < kMiniblocks; m++) out->push_back(static_cast<char>(widths[m]));
    // Only the miniblocks that hold values get bodies; the last one is padded
    // to a full 32 values.
    for (size_t k = count; k < used * kMiniblockSize; k++) deltas[k] = 0;
    for (size_t m = 0; m < used; m++) PackMiniblock(deltas + m * kMiniblockSize, widths[m], out);
    i += count;
  }
}

}  // namespace mt::parquet
