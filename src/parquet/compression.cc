#include "parquet/compression.h"

#include <snappy.h>
// ZSTD_c_literalCompressionMode is in the experimental part of the API;
// the library rejects a parameter it does not know (the context then keeps
// Huffman-coded literals).
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>

namespace mt::parquet {

namespace {

// Output buffer reused across pages: grows, never shrinks, never zero-filled.
// One per thread, shared by that thread's compressors (a chunk is sampled
// with two ZSTD levels, then compressed with one: one buffer, not two).
class Buffer {
 public:
  char* Get(size_t n) {
    if (n > cap_) {
      cap_ = std::max(n, cap_ + cap_ / 2);
      data_ = std::make_unique_for_overwrite<char[]>(cap_);
    }
    return data_.get();
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t cap_ = 0;
};

Buffer& ThreadBuffer() {
  thread_local Buffer buf;
  return buf;
}

}  // namespace

void ReleaseCompressionScratch() { ThreadBuffer() = Buffer(); }

namespace {

class NoneCompressor final : public Compressor {
 public:
  Result<std::string_view> CompressView(std::string_view in) override { return in; }
  Codec codec() const override { return Codec::kUncompressed; }
};

class ZstdCompressor final : public Compressor {
 public:
  // A min_match or raw literals are set once on the context (with the
  // level) and each input goes through ZSTD_compress2, which still fits the
  // other parameters to the input's size as ZSTD_compressCCtx does.
  ZstdCompressor(int level, int min_match, Literals literals)
      : ctx_(ZSTD_createCCtx()), level_(level), sticky_(min_match > 0 || literals == Literals::kRaw) {
    if (sticky_) {
      ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, level);
      if (min_match > 0) ZSTD_CCtx_setParameter(ctx_, ZSTD_c_minMatch, min_match);
      if (literals == Literals::kRaw) {
        ZSTD_CCtx_setParameter(ctx_, ZSTD_c_literalCompressionMode, ZSTD_ps_disable);
      }
    }
  }
  ~ZstdCompressor() override { ZSTD_freeCCtx(ctx_); }
  Result<std::string_view> CompressView(std::string_view in) override {
    const size_t cap = ZSTD_compressBound(in.size());
    char* dst = ThreadBuffer().Get(cap);
    const size_t n = sticky_ ? ZSTD_compress2(ctx_, dst, cap, in.data(), in.size())
                             : ZSTD_compressCCtx(ctx_, dst, cap, in.data(), in.size(), level_);
    if (ZSTD_isError(n)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(n));
    return std::string_view(dst, n);
  }
  Codec codec() const override { return Codec::kZstd; }

 private:
  ZSTD_CCtx* ctx_;
  int level_;
  bool sticky_;
};

class SnappyCompressor final : public Compressor {
 public:
  Result<std::string_view> CompressView(std::string_view in) override {
    char* dst = ThreadBuffer().Get(snappy::MaxCompressedLength(in.size()));
    size_t n = 0;
    snappy::RawCompress(in.data(), in.size(), dst, &n);
    return std::string_view(dst, n);
  }
  Codec codec() const override { return Codec::kSnappy; }
};

}  // namespace

Status Compressor::Compress(std::string_view in, std::string* out) {
  MT_ASSIGN_OR_RETURN(const std::string_view c, CompressView(in));
  out->assign(c.data(), c.size());
  return Status::OK();
}

std::unique_ptr<Compressor> NewCompressor(Codec codec, int level, int min_match, Literals literals) {
  switch (codec) {
    case Codec::kZstd: return std::make_unique<ZstdCompressor>(level, min_match, literals);
    case Codec::kSnappy: return std::make_unique<SnappyCompressor>();
    default: return std::make_unique<NoneCompressor>();
  }
}

Result<Codec> ParseCodec(std::string_view name) {
  if (name == "zstd") return Codec::kZstd;
  if (name == "snappy") return Codec::kSnappy;
  if (name == "none" || name == "uncompressed") return Codec::kUncompressed;
  return Status::Usage("unknown compression '" + std::string(name) +
                       "': use zstd, snappy or none");
}

const char* CodecName(Codec c) {
  switch (c) {
    case Codec::kZstd: return "zstd";
    case Codec::kSnappy: return "snappy";
    case Codec::kUncompressed: return "none";
    default: return "?";
  }
}

}  // namespace mt::parquet
