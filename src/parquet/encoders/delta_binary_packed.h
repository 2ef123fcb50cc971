// DELTA_BINARY_PACKED (parquet-format Encodings.md): blocks of 128 deltas in
// 4 miniblocks of 32, each miniblock bit-packed at its own width after
// subtracting the block's minimum delta. Timestamps and sequential ids shrink
// to a few bits per value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mt::parquet {

// Appends the encoding of v[0..n). Deltas use wrapping 64-bit arithmetic, so
// any int64 sequence (INT64_MIN..INT64_MAX jumps included) round-trips.
void EncodeDeltaBinaryPacked(const int64_t* v, size_t n, std::string* out);
// The same bytes as for the values widened to int64 (lengths: half the memory).
void EncodeDeltaBinaryPacked(const int32_t* v, size_t n, std::string* out);

// The same, and also the minimum and maximum of v[0..n) (computed in the same
// pass, for the column statistics). REQUIRES: n > 0.
void EncodeDeltaBinaryPacked(const int64_t* v, size_t n, std::string* out, int64_t* min,
                             int64_t* max);

}  // namespace mt::parquet
