#include "parquet/decoders/bits.h"
#include "parquet/decoders/decoders.h"

namespace mt::parquet {

Status DecodeRleHybrid(ByteCursor* in, int bit_width, size_t n, std::vector<uint32_t>* out) {
  if (bit_width < 0 || bit_width > 32) {
    return Status::InvalidInput("RLE bit width " + std::to_string(bit_width) + " out of range");
  }
  const size_t value_bytes = static_cast<size_t>(bit_width + 7) / 8;
  const uint64_t max_value = bit_width == 32 ? 0xFFFFFFFFull : (1ull << bit_width) - 1;
  size_t got = 0;
  while (got < n) {
    uint64_t header;
    if (!in->Uleb(&header)) return Status::InvalidInput("RLE run header runs past the end");
    if (header & 1) {
      // Bit-packed run of groups of 8; readers stop at the value count, so
      // only the bytes of the values still needed must be present.
      const uint64_t groups = header >> 1;
      if (groups == 0 || groups > (uint64_t{1} << 32)) return Status::InvalidInput("bad bit-packed run length");
      const size_t count = static_cast<size_t>(std::min<uint64_t>(groups * 8, n - got));
      const size_t full_bytes = static_cast<size_t>(groups) * static_cast<size_t>(bit_width);
      const size_t need_bytes = (count * static_cast<size_t>(bit_width) + 7) / 8;
      if (need_bytes > in->remaining()) return Status::InvalidInput("bit-packed run runs past the end");
      for (size_t i = 0; i < count; i++) {
        out->push_back(static_cast<uint32_t>(ReadPackedBits(in->data(), i * bit_width, bit_width)));
      }
      got += count;
      in->Skip(std::min(full_bytes, in->remaining()));
    } else {
      const uint64_t count = header >> 1;
      if (count == 0) return Status::InvalidInput("empty RLE run");
      uint64_t v = 0;
      for (size_t b = 0; b < value_bytes; b++) {
        uint8_t byte;
        if (!in->Byte(&byte)) return Status::InvalidInput("RLE run value runs past the end");
        v |= static_cast<uint64_t>(byte) << (8 * b);
      }
      if (v > max_value) return Status::InvalidInput("RLE run value wider than the bit width");
      const size_t take = static_cast<size_t>(std::min<uint64_t>(count, n - got));
      out->insert(out->end(), take, static_cast<uint32_t>(v));
      got += take;
    }
  }
  return Status::OK();
}

Status DecodeLevelsV1(ByteCursor* in, int bit_width, size_t n, std::vector<uint32_t>* out) {
  uint32_t len;
  if (!in->U32(&len) || len > in->remaining()) {
    return Status::InvalidInput("definition levels length runs past the end of the page");
  }
  ByteCursor levels(in->data(), len);
  in->Skip(len);
  return DecodeRleHybrid(&levels, bit_width, n, out);
}

}  // namespace mt::parquet
