// Streaming decompression, push model: Write() compressed bytes as they
// arrive (file reads, HTTP body chunks), decompressed bytes go to the sink in
// chunks of up to 256 KiB (small enough to stay in L2 for the parser).
// gzip is recognised by its magic bytes, never by the file name; anything
// else passes through as plain text. The decoder's state survives between
// writes, so a download resumed with an HTTP Range request simply continues.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace mt::io {

class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  virtual Status OnData(const char* data, size_t n) = 0;
  // Where to write the next decompressed bytes, so they land in the sink's
  // own buffer without a copy; OnData() then points into it. The default
  // (null) is the decompressor's buffer.
  virtual char* OutputBuffer(size_t* capacity) {
    *capacity = 0;
    return nullptr;
  }
};

class Decompressor {
 public:
  virtual ~Decompressor() = default;
  virtual Status Write(const uint8_t* data, size_t n) = 0;
  // End of input: fails when a gzip stream is cut short.
  virtual Status Finish() = 0;
  virtual uint64_t bytes_in() const = 0;
  virtual uint64_t bytes_out() const = 0;
  // The input is gzip (its magic bytes seen): its CRC32 and length at each
  // member's end check the bytes decompressed.
  virtual bool gzip() const = 0;
};

// kAuto: ISA-L when the build has it (HaveIsal()), else zlib. kZlib: zlib
// always (--gzip-engine zlib, and tests that compare the two).
enum class GzipEngine { kAuto, kZlib };

// `source` names the input in error messages.
std::unique_ptr<Decompressor> NewDecompressor(std::string source, ChunkSink* sink,
                                              GzipEngine engine = GzipEngine::kAuto);

bool HaveIsal();

}  // namespace mt::io
