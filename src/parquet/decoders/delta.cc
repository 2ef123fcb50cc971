#include <algorithm>

#include "parquet/decoders/bits.h"
#include "parquet/decoders/decoders.h"

namespace mt::parquet {

namespace {
// Bound on the bytes a string decoder may produce from one page, so a small
// hostile page cannot ask for terabytes through shared prefixes.
constexpr size_t kMaxDecodedBytes = size_t{1} << 30;
}  // namespace

Status DecodeDeltaBinaryPacked(ByteCursor* in, size_t max_values, std::vector<int64_t>* out) {
  uint64_t block, minis, total;
  int64_t first;
  if (!in->Uleb(&block) || !in->Uleb(&minis) || !in->Uleb(&total) || !in->ZigZag(&first)) {
    return Status::InvalidInput("DELTA_BINARY_PACKED header runs past the end");
  }
  if (block == 0 || block % 128 != 0 || block > (1u << 20) || minis == 0 || block % minis != 0 ||
      (block / minis) % 32 != 0) {
    return Status::InvalidInput("DELTA_BINARY_PACKED block of " + std::to_string(block) + " values in " +
                                std::to_string(minis) + " miniblocks is not valid");
  }
  if (total > max_values) {
    return Status::InvalidInput("DELTA_BINARY_PACKED holds " + std::to_string(total) +
                                " values, more than the page's " + std::to_string(max_values));
  }
  if (total == 0) return Status::OK();
  const size_t per_mini = static_cast<size_t>(block / minis);
  uint64_t value = static_cast<uint64_t>(first);
  out->push_back(first);
  size_t got = 1;
  std::vector<uint8_t> widths(static_cast<size_t>(minis));
  while (got < total) {
    int64_t min_delta;
    if (!in->ZigZag(&min_delta)) return Status::InvalidInput("DELTA_BINARY_PACKED block header runs past the end");
    for (auto& w : widths) {
      if (!in->Byte(&w)) return Status::InvalidInput("DELTA_BINARY_PACKED widths run past the end");
      if (w > 64) return Status::InvalidInput("DELTA_BINARY_PACKED miniblock width over 64");
    }
    for (size_t m = 0; m < widths.size() && got < total; m++) {
      const size_t bytes = per_mini * widths[m] / 8;
      const size_t take = std::min<size_t>(per_mini, total - got);
      // The last miniblock may be cut short by some writers: only the bits of
      // the values still needed must be present.
      const size_t need = (take * widths[m] + 7) / 8;
      if (need > in->remaining()) return Status::InvalidInput("DELTA_BINARY_PACKED miniblock runs past the end");
      for (size_t i = 0; i < take; i++) {
        const uint64_t d = ReadPackedBits(in->data(), i * widths[m], widths[m]);
        value += d + static_cast<uint64_t>(min_delta);
        out->push_back(static_cast<int64_t>(value));
      }
      got += take;
      in->Skip(std::min(bytes, in->remaining()));
    }
  }
  return Status::OK();
}

Status DecodeDeltaLengthByteArray(ByteCursor* in, size_t n, std::vector<std::string>* out) {
  std::vector<int64_t> lens;
  MT_RETURN_IF_ERROR(DecodeDeltaBinaryPacked(in, n, &lens));
  if (lens.size() != n) return Status::InvalidInput("DELTA_LENGTH_BYTE_ARRAY has the wrong number of lengths");
  for (int64_t len : lens) {
    if (len < 0 || static_cast<uint64_t>(len) > in->remaining()) {
      return Status::InvalidInput("DELTA_LENGTH_BYTE_ARRAY value runs past the end");
    }
    out->emplace_back(reinterpret_cast<const char*>(in->data()), static_cast<size_t>(len));
    in->Skip(static_cast<size_t>(len));
  }
  return Status::OK();
}

Status DecodeDeltaByteArray(ByteCursor* in, size_t n, std::vector<std::string>* out) {
  std::vector<int64_t> prefix;
  MT_RETURN_IF_ERROR(DecodeDeltaBinaryPacked(in, n, &prefix));
  if (prefix.size() != n) return Status::InvalidInput("DELTA_BYTE_ARRAY has the wrong number of prefix lengths");
  std::vector<std::string> suffix;
  MT_RETURN_IF_ERROR(DecodeDeltaLengthByteArray(in, n, &suffix));
  std::string prev;
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (prefix[i] < 0 || static_cast<uint64_t>(prefix[i]) > prev.size()) {
      return Status::InvalidInput("DELTA_BYTE_ARRAY prefix longer than the previous value");
    }
    std::string v = prev.substr(0, static_cast<size_t>(prefix[i])) + suffix[i];
    total += v.size();
    if (total > kMaxDecodedBytes) return Status::InvalidInput("DELTA_BYTE_ARRAY page decodes to over 1 GiB");
    out->push_back(v);
    prev = std::move(v);
  }
  return Status::OK();
}

}  // namespace mt::parquet
