#include "core/crc32c.h"

#include <array>

#include "core/base64.h"

#ifdef MT_HAVE_ISAL
#include <isa-l/crc.h>
#endif

namespace mt {

namespace {

// Reflected polynomials of CRC-32C (RFC 3720 appendix B.4) and of CRC-32
// (RFC 1952, gzip).
constexpr uint32_t kPoly = 0x82F63B78u;
constexpr uint32_t kGzipPoly = 0xEDB88320u;

constexpr std::array<uint32_t, 256> MakeTable(uint32_t poly) {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kTable = MakeTable(kPoly);
constexpr std::array<uint32_t, 256> kGzipTable = MakeTable(kGzipPoly);

}  // namespace

uint32_t Crc32cExtendReference(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  for (size_t i = 0; i < n; i++) c = kTable[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return ~c;
}

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n) {
#ifdef MT_HAVE_ISAL
  // crc32_iscsi neither inverts its seed nor its result, and takes an int
  // length: feed it the raw register in pieces below 1 GiB.
  auto* p = static_cast<unsigned char*>(const_cast<void*>(data));
  uint32_t c = ~crc;
  while (n > 0) {
    const size_t take = n < (size_t{1} << 30) ? n : (size_t{1} << 30);
    c = crc32_iscsi(p, static_cast<int>(take), c);
    p += take;
    n -= take;
  }
  return ~c;
#else
  return Crc32cExtendReference(crc, data, n);
#endif
}

uint32_t Crc32ExtendReference(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  for (size_t i = 0; i < n; i++) c = kGzipTable[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return ~c;
}

uint32_t Crc32Extend(uint32_t crc, const void* data, size_t n) {
#ifdef MT_HAVE_ISAL
  // crc32_gzip_refl inverts its seed and its result itself, as zlib's
  // crc32 does, and takes a 64-bit length.
  if (n == 0) return crc;
  return crc32_gzip_refl(crc, static_cast<const unsigned char*>(data), n);
#else
  return Crc32ExtendReference(crc, data, n);
#endif
}

std::string Crc32cToBase64(uint32_t crc) {
  const char be[4] = {static_cast<char>(crc >> 24), static_cast<char>(crc >> 16), static_cast<char>(crc >> 8),
                      static_cast<char>(crc)};
  return Base64Encode(std::string_view(be, 4));
}

std::optional<uint32_t> Crc32cFromBase64(std::string_view b64) {
  auto raw = Base64Decode(b64);
  if (!raw || raw->size() != 4) return std::nullopt;
  const auto* u = reinterpret_cast<const uint8_t*>(raw->data());
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}

}  // namespace mt
