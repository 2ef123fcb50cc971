// Byte strings appended once and read back by their position, from any
// number of threads, in bounded memory: a small tail in memory, the rest in
// an unnamed temporary file (OpenUnnamedTempFile, $TMPDIR), each read one
// pread of exactly its bytes. For data held per instrument of a listing
// (the catalog's packed definitions, the /v1/instruments records), which
// grows with the listing while only a few of its strings are read at once.
//
// Append is for one thread, and not at the same time as a read; reads may
// run on many threads at once (they share no read buffer). A temporary file
// that cannot be created or written keeps the bytes in memory, as they were
// held before (note() says why, for a warning); a read that fails is
// recorded in status() and gives no bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace mt {

class SpilledBlobs {
 public:
  // `memory_bytes`: the tail held in memory before it is appended to the
  // file.
  explicit SpilledBlobs(size_t memory_bytes = size_t{1} << 20);
  ~SpilledBlobs();
  SpilledBlobs(const SpilledBlobs&) = delete;
  SpilledBlobs& operator=(const SpilledBlobs&) = delete;

  // Appends `data`; returns where it starts.
  uint64_t Append(std::string_view data);
  // Replaces *out with bytes [at, at + n) (within size()); false (and
  // status() set) when the file could not be read.
  bool Read(uint64_t at, size_t n, std::string* out) const;
  uint64_t size() const { return file_bytes_ + memory_bytes_held_ + tail_.size(); }
  // Bytes in the temporary file (the rest are in memory).
  uint64_t spilled() const { return file_bytes_; }
  // The first read failure, else OK.
  Status status() const;
  // Why the bytes stayed in memory ("" when they did not).
  const std::string& note() const { return note_; }

 private:
  void Flush();
  size_t memory_bytes_;
  int fd_ = -1;
  bool memory_only_ = false;
  uint64_t file_bytes_ = 0;
  // Without the file: the bytes in chunks of memory_bytes_ each (one
  // string grown by doubling would hold up to twice them), [file_bytes_,
  // file_bytes_ + memory_bytes_held_).
  std::vector<std::string> chunks_;
  uint64_t memory_bytes_held_ = 0;
  std::string tail_;  // bytes [size() - tail_.size(), size())
  std::string note_;
  mutable std::mutex mu_;  // guards status_
  mutable Status status_;
};

}  // namespace mt
