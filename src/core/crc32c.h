// CRC32C (Castagnoli), the checksum Cloud Storage keeps for every object
// (the `crc32c` field and the x-goog-hash header: big-endian bytes, base64),
// and CRC-32 (the polynomial of gzip and zlib), the checksum a Parquet page
// header may carry for the page's bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mt {

// Extends a finished CRC32C `crc` (0 for no data yet) with `n` bytes:
// Crc32cExtend(Crc32cExtend(0, a), b) == Crc32c(a + b). ISA-L's
// crc32_iscsi when built with it, else the table below.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);
inline uint32_t Crc32c(std::string_view s) { return Crc32cExtend(0, s.data(), s.size()); }

// The byte-at-a-time table version: the reference the fast path is tested
// against.
uint32_t Crc32cExtendReference(uint32_t crc, const void* data, size_t n);

// CRC-32 as gzip computes it (reflected polynomial 0xEDB88320), extended the
// same way: Crc32Extend(Crc32Extend(0, a), b) == Crc32(a + b). ISA-L's
// crc32_gzip_refl when built with it, else a table.
uint32_t Crc32Extend(uint32_t crc, const void* data, size_t n);
inline uint32_t Crc32(std::string_view s) { return Crc32Extend(0, s.data(), s.size()); }
uint32_t Crc32ExtendReference(uint32_t crc, const void* data, size_t n);

// Cloud Storage's text form: base64 of the 4 big-endian bytes ("AAAAAA==").
std::string Crc32cToBase64(uint32_t crc);
std::optional<uint32_t> Crc32cFromBase64(std::string_view b64);

}  // namespace mt
