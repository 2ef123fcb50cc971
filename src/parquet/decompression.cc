#include "parquet/decompression.h"

#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

namespace mt::parquet {

namespace {

Status SizeMismatch(const char* codec, size_t got, size_t want) {
  return Status::InvalidInput(std::string(codec) + " page inflates to " + std::to_string(got) +
                              " bytes, the header says " + std::to_string(want));
}

Status Gunzip(std::string_view in, size_t want, std::string* out) {
  out->resize(want);
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return Status::Internal("zlib init failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out->data());
  zs.avail_out = static_cast<uInt>(want);
  const int rc = inflate(&zs, Z_FINISH);
  const size_t got = want - zs.avail_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return rc == Z_BUF_ERROR && zs.avail_out == 0 ? SizeMismatch("GZIP", want + 1, want)
                                                  : Status::InvalidInput("GZIP page is corrupt");
  }
  if (got != want) return SizeMismatch("GZIP", got, want);
  return Status::OK();
}

}  // namespace

bool CanDecompress(Codec codec) {
  switch (codec) {
    case Codec::kUncompressed:
    case Codec::kZstd:
    case Codec::kSnappy:
    case Codec::kGzip: return true;
  }
  return false;
}

Status DecompressPage(Codec codec, std::string_view in, size_t want, std::string* out) {
  if (want > kMaxPageBytes) return Status::InvalidInput("page of " + std::to_string(want) + " bytes is too large");
  switch (codec) {
    case Codec::kUncompressed:
      if (in.size() != want) return SizeMismatch("uncompressed", in.size(), want);
      out->assign(in.data(), in.size());
      return Status::OK();
    case Codec::kZstd: {
      const unsigned long long frame = ZSTD_getFrameContentSize(in.data(), in.size());
      if (frame == ZSTD_CONTENTSIZE_ERROR) return Status::InvalidInput("ZSTD page is corrupt");
      if (frame != ZSTD_CONTENTSIZE_UNKNOWN && frame != want) {
        return SizeMismatch("ZSTD", static_cast<size_t>(frame), want);
      }
      out->resize(want);
      const size_t n = ZSTD_decompress(out->data(), want, in.data(), in.size());
      if (ZSTD_isError(n)) return Status::InvalidInput(std::string("ZSTD page: ") + ZSTD_getErrorName(n));
      if (n != want) return SizeMismatch("ZSTD", n, want);
      return Status::OK();
    }
    case Codec::kSnappy: {
      size_t n = 0;
      if (!snappy::GetUncompressedLength(in.data(), in.size(), &n)) {
        return Status::InvalidInput("SNAPPY page is corrupt");
      }
      if (n != want) return SizeMismatch("SNAPPY", n, want);
      out->resize(want);
      if (!snappy::RawUncompress(in.data(), in.size(), out->data())) {
        return Status::InvalidInput("SNAPPY page is corrupt");
      }
      return Status::OK();
    }
    case Codec::kGzip:
      return Gunzip(in, want, out);
  }
  return Status::InvalidInput("unsupported compression codec " + std::to_string(static_cast<int>(codec)));
}

}  // namespace mt::parquet
