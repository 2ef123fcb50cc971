// Reference decoders for the Parquet encodings, written straight from the
// format description and used only by tests to round-trip the encoders.
// Deliberately simple and slow; no code shared with src/parquet/encoders.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace mt::testing {

class ByteReader {
 public:
  ByteReader(const std::string& s, size_t pos = 0) : s_(s), pos_(pos) {}
  uint8_t Byte() {
    if (pos_ >= s_.size()) throw std::runtime_error("read past end");
    return static_cast<uint8_t>(s_[pos_++]);
  }
  uint64_t Uleb() {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const uint8_t b = Byte();
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
  }
  int64_t ZigZag() {
    const uint64_t u = Uleb();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  // Reads `count` values of `width` bits, LSB-first packing.
  std::vector<uint64_t> Unpack(size_t count, int width) {
    std::vector<uint64_t> out(count, 0);
    size_t bit = 0;
    const size_t nbytes = (count * static_cast<size_t>(width) + 7) / 8;
    if (pos_ + nbytes > s_.size()) throw std::runtime_error("bit-packed run past end");
    for (size_t i = 0; i < count; i++) {
      uint64_t v = 0;
      for (int b = 0; b < width; b++, bit++) {
        const uint8_t byte = static_cast<uint8_t>(s_[pos_ + bit / 8]);
        v |= static_cast<uint64_t>((byte >> (bit % 8)) & 1) << b;
      }
      out[i] = v;
    }
    pos_ += nbytes;
    return out;
  }
  size_t pos() const { return pos_; }
  bool done() const { return pos_ >= s_.size(); }

 private:
  const std::string& s_;
  size_t pos_;
};

inline std::vector<uint32_t> DecodeRleHybrid(const std::string& s, size_t pos, size_t n,
                                             int width, size_t* end_pos = nullptr) {
  ByteReader r(s, pos);
  std::vector<uint32_t> out;
  while (out.size() < n) {
    const uint64_t h = r.Uleb();
    if (h & 1) {
      const size_t count = (h >> 1) * 8;
      for (uint64_t v : r.Unpack(count, width)) {
        if (out.size() < n) out.push_back(static_cast<uint32_t>(v));
      }
    } else {
      const size_t count = h >> 1;
      uint32_t v = 0;
      for (int b = 0; b < (width + 7) / 8; b++) v |= static_cast<uint32_t>(r.Byte()) << (8 * b);
      for (size_t i = 0; i < count && out.size() < n; i++) out.push_back(v);
      if (count == 0) throw std::runtime_error("empty RLE run");
    }
  }
  if (end_pos) *end_pos = r.pos();
  return out;
}

inline std::vector<int64_t> DecodeDeltaBinaryPacked(const std::string& s, size_t pos,
                                                    size_t* end_pos = nullptr) {
  ByteReader r(s, pos);
  const uint64_t block = r.Uleb(), minis = r.Uleb(), total = r.Uleb();
  int64_t value = r.ZigZag();
  std::vector<int64_t> out;
  if (total == 0) {
    if (end_pos) *end_pos = r.pos();
    return out;
  }
  out.push_back(value);
  const size_t per_mini = block / minis;
  while (out.size() < total) {
    const int64_t min_delta = r.ZigZag();
    std::vector<int> widths(minis);
    for (auto& w : widths) w = r.Byte();
    for (size_t m = 0; m < minis && out.size() < total; m++) {
      for (uint64_t d : r.Unpack(per_mini, widths[m])) {
        if (out.size() >= total) break;
        value = static_cast<int64_t>(static_cast<uint64_t>(value) + d + static_cast<uint64_t>(min_delta));
        out.push_back(value);
      }
    }
  }
  if (end_pos) *end_pos = r.pos();
  return out;
}

inline std::vector<double> DecodeByteStreamSplit(const std::string& s, size_t pos, size_t n) {
  std::vector<double> out(n);
  for (size_t i = 0; i < n; i++) {
    unsigned char b[8];
    for (size_t k = 0; k < 8; k++) b[k] = static_cast<unsigned char>(s[pos + k * n + i]);
    std::memcpy(&out[i], b, 8);
  }
  return out;
}

inline std::vector<std::string> DecodeDeltaByteArray(const std::string& s, size_t pos, size_t n) {
  size_t p1 = 0, p2 = 0;
  const auto prefix = DecodeDeltaBinaryPacked(s, pos, &p1);
  const auto suffix = DecodeDeltaBinaryPacked(s, p1, &p2);
  std::vector<std::string> out;
  std::string prev;
  size_t at = p2;
  for (size_t i = 0; i < n; i++) {
    std::string v = prev.substr(0, static_cast<size_t>(prefix[i])) +
                    s.substr(at, static_cast<size_t>(suffix[i]));
    at += static_cast<size_t>(suffix[i]);
    out.push_back(v);
    prev = v;
  }
  return out;
}

}  // namespace mt::testing
