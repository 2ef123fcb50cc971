// Page compression codecs. One Compressor per thread: it keeps its ZSTD
// context between pages.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "parquet/format.h"

namespace mt::parquet {

class Compressor {
 public:
  virtual ~Compressor() = default;
  // Replaces *out with the compressed form of `in`.
  Status Compress(std::string_view in, std::string* out);
  // The compressed form of `in`, in a buffer of the calling thread's (no
  // copy, no zero-filled output buffer per page, one buffer for all of a
  // thread's compressors): valid until the thread's next CompressView() call
  // on any compressor.
  virtual Result<std::string_view> CompressView(std::string_view in) = 0;
  virtual Codec codec() const = 0;
};

// How ZSTD codes the literals (the bytes no match covers): Huffman-coded,
// or stored as they are. Building a block's Huffman table costs about the
// same whatever the block's size, which a small page of bytes that do not
// shrink under it pays in full.
enum class Literals { kHuffman, kRaw };
// level is used by ZSTD only; so are min_match, ZSTD's shortest match (0:
// the level's own), and literals.
std::unique_ptr<Compressor> NewCompressor(Codec codec, int level, int min_match = 0,
                                          Literals literals = Literals::kHuffman);
// Frees the calling thread's output buffer of CompressView() (kept from call
// to call); views it returned are invalid after.
void ReleaseCompressionScratch();
// "zstd" | "snappy" | "none"/"uncompressed"
Result<Codec> ParseCodec(std::string_view name);
const char* CodecName(Codec c);

}  // namespace mt::parquet
