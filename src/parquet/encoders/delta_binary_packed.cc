#include "parquet/encoders/delta_binary_packed.h"

#include <algorithm>

#include "parquet/encoders/bit_writer.h"

namespace mt::parquet {

namespace {
constexpr size_t kBlockSize = 128;
constexpr size_t kMiniblocks = 4;
constexpr size_t kMiniblockSize = kBlockSize / kMiniblocks;
}  // namespace

void EncodeDeltaBinaryPacked(const int64_t* v, size_t n, std::string* out) {
  PutUleb128(out, kBlockSize);
  PutUleb128(out, kMiniblocks);
  PutUleb128(out, n);
  PutZigZagVarint(out, n > 0 ? v[0] : 0);
  if (n <= 1) return;

  uint64_t deltas[kBlockSize];
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
    for (size_t m = 0; m < used; m++) {
      BitWriter bw(out);
      const size_t lo = m * kMiniblockSize;
      for (size_t k = lo; k < lo + kMiniblockSize; k++) {
        bw.Put(k < count ? deltas[k] : 0, widths[m]);
      }
      bw.Finish();
    }
    i += count;
  }
}

}  // namespace mt::parquet
