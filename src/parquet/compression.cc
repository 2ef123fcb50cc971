#include "parquet/compression.h"

#include <snappy.h>
#include <zstd.h>

namespace mt::parquet {

namespace {

class NoneCompressor final : public Compressor {
 public:
  Status Compress(std::string_view in, std::string* out) override {
    out->assign(in.data(), in.size());
    return Status::OK();
  }
  Codec codec() const override { return Codec::kUncompressed; }
};

class ZstdCompressor final : public Compressor {
 public:
  explicit ZstdCompressor(int level) : ctx_(ZSTD_createCCtx()), level_(level) {}
  ~ZstdCompressor() override { ZSTD_freeCCtx(ctx_); }
  Status Compress(std::string_view in, std::string* out) override {
    out->resize(ZSTD_compressBound(in.size()));
    const size_t n = ZSTD_compressCCtx(ctx_, out->data(), out->size(), in.data(), in.size(), level_);
    if (ZSTD_isError(n)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(n));
    out->resize(n);
    return Status::OK();
  }
  Codec codec() const override { return Codec::kZstd; }

 private:
  ZSTD_CCtx* ctx_;
  int level_;
};

class SnappyCompressor final : public Compressor {
 public:
  Status Compress(std::string_view in, std::string* out) override {
    out->resize(snappy::MaxCompressedLength(in.size()));
    size_t n = 0;
    snappy::RawCompress(in.data(), in.size(), out->data(), &n);
    out->resize(n);
    return Status::OK();
  }
  Codec codec() const override { return Codec::kSnappy; }
};

}  // namespace

std::unique_ptr<Compressor> NewCompressor(Codec codec, int level) {
  switch (codec) {
    case Codec::kZstd: return std::make_unique<ZstdCompressor>(level);
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
