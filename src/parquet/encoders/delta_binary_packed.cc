#include "parquet/encoders/delta_binary_packed.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "parquet/encoders/bit_writer.h"

namespace mt::parquet {

namespace {
constexpr size_t kBlockSize = 128;
constexpr size_t kMiniblocks = 4;
constexpr size_t kMiniblockSize = kBlockSize / kMiniblocks;
// Largest encoding of one block: zigzag varint min delta (10 bytes), 4 width
// bytes, 4 miniblocks of 32 values at 64 bits.
constexpr size_t kMaxBlockBytes = 10 + kMiniblocks + kBlockSize * 8;

// 32 values of W bits, LSB first: exactly 4 * W bytes. W is a compile-time
// constant, so the unrolled loop has constant shifts and no branches (this is
// most of the encoder's time).
template <int W>
char* Pack32(const uint64_t* v, char* dst) {
  if constexpr (W == 0) {
    return dst;
  } else if constexpr (W == 64) {
    std::memcpy(dst, v, 32 * 8);
    return dst + 32 * 8;
  } else {
    uint64_t acc = 0;
    int bits = 0;
#pragma GCC unroll 32
    for (int k = 0; k < 32; k++) {
      acc |= v[k] << bits;
      bits += W;
      if (bits >= 64) {
        std::memcpy(dst, &acc, 8);
        dst += 8;
        bits -= 64;
        acc = bits > 0 ? v[k] >> (W - bits) : 0;
      }
    }
    if (bits > 0) {  // 32 * W bits is a multiple of 32: 4 bytes are left
      const uint32_t last = static_cast<uint32_t>(acc);
      std::memcpy(dst, &last, 4);
      dst += 4;
    }
    return dst;
  }
}

using PackFn = char* (*)(const uint64_t*, char*);

template <size_t... I>
constexpr auto MakePackTable(std::index_sequence<I...>) {
  return std::array<PackFn, sizeof...(I)>{&Pack32<static_cast<int>(I)>...};
}
constexpr auto kPack = MakePackTable(std::make_index_sequence<65>());

char* PutUleb128Raw(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// T: int64_t (timestamps) or int32_t (DELTA_BYTE_ARRAY lengths, half the
// scratch); values are widened, so both give the same bytes for a value.
template <bool kStats, typename T>
void Encode(const T* v, size_t n, std::string* out, int64_t* min_out, int64_t* max_out) {
  PutUleb128(out, kBlockSize);
  PutUleb128(out, kMiniblocks);
  PutUleb128(out, n);
  PutZigZagVarint(out, n > 0 ? v[0] : 0);
  int64_t mn = n > 0 ? v[0] : 0, mx = mn;
  if (n > 1) {
    // Deltas of 128 values pack to at most ~1 KiB; most blocks far less.
    out->reserve(out->size() + (n / kBlockSize + 1) * 64);
    uint64_t deltas[kBlockSize];
    char block[kMaxBlockBytes];
    size_t i = 1;  // index of the value whose delta comes next
    while (i < n) {
      const size_t count = std::min(kBlockSize, n - i);
      int64_t min_delta = INT64_MAX;
      for (size_t k = 0; k < count; k++) {
        const int64_t x = v[i + k];
        const int64_t d = static_cast<int64_t>(static_cast<uint64_t>(x) -
                                               static_cast<uint64_t>(int64_t{v[i + k - 1]}));
        deltas[k] = static_cast<uint64_t>(d);
        min_delta = d < min_delta ? d : min_delta;
        if constexpr (kStats) {
          mn = x < mn ? x : mn;
          mx = x > mx ? x : mx;
        }
      }
      // The last miniblock is padded to a full 32 values with zero deltas
      // (after the subtraction below), as before.
      const size_t used = (count + kMiniblockSize - 1) / kMiniblockSize;
      for (size_t k = 0; k < count; k++) deltas[k] -= static_cast<uint64_t>(min_delta);
      for (size_t k = count; k < used * kMiniblockSize; k++) deltas[k] = 0;

      char* p = block;
      const uint64_t zz = (static_cast<uint64_t>(min_delta) << 1) ^
                          static_cast<uint64_t>(min_delta >> 63);
      p = PutUleb128Raw(p, zz);
      int widths[kMiniblocks] = {0, 0, 0, 0};
      for (size_t m = 0; m < used; m++) {
        uint64_t bits = 0;
        const uint64_t* d = deltas + m * kMiniblockSize;
        for (size_t k = 0; k < kMiniblockSize; k++) bits |= d[k];
        widths[m] = BitWidth(bits);
      }
      for (size_t m = 0; m < kMiniblocks; m++) *p++ = static_cast<char>(widths[m]);
      // Only the miniblocks that hold values get bodies.
      for (size_t m = 0; m < used; m++) p = kPack[widths[m]](deltas + m * kMiniblockSize, p);
      out->append(block, static_cast<size_t>(p - block));
      i += count;
    }
  }
  if constexpr (kStats) {
    *min_out = mn;
    *max_out = mx;
  }
}

}  // namespace

void EncodeDeltaBinaryPacked(const int64_t* v, size_t n, std::string* out) {
  Encode<false>(v, n, out, nullptr, nullptr);
}

void EncodeDeltaBinaryPacked(const int32_t* v, size_t n, std::string* out) {
  Encode<false>(v, n, out, nullptr, nullptr);
}

void EncodeDeltaBinaryPacked(const int64_t* v, size_t n, std::string* out, int64_t* min,
                             int64_t* max) {
  Encode<true>(v, n, out, min, max);
}

}  // namespace mt::parquet
