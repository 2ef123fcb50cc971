#include "core/spilled_blobs.h"

#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include "core/atomic_file.h"
#include "core/open_files.h"

namespace mt {

SpilledBlobs::SpilledBlobs(size_t memory_bytes) : memory_bytes_(memory_bytes > 0 ? memory_bytes : 1) {}

SpilledBlobs::~SpilledBlobs() {
  if (fd_ >= 0) ::close(fd_);
}

uint64_t SpilledBlobs::Append(std::string_view data) {
  const uint64_t at = size();
  tail_.append(data);
  if (tail_.size() >= memory_bytes_) {
    if (!memory_only_) Flush();
    if (memory_only_) {
      // Whole chunks of the tail go to the chunks (the rest stays in it).
      size_t done = 0;
      for (; tail_.size() - done >= memory_bytes_; done += memory_bytes_) {
        chunks_.emplace_back(tail_, done, memory_bytes_);
        memory_bytes_held_ += memory_bytes_;
      }
      tail_.erase(0, done);
    }
  }
  return at;
}

void SpilledBlobs::Flush() {
  if (fd_ < 0) {
    std::string dir;
    fd_ = OpenUnnamedTempFile("", "blobs", &dir);
    if (fd_ < 0) {
      note_ = IsOpenFileLimit(-fd_) ? OpenFileLimitError("cannot create a temporary file in " + dir, -fd_).message() +
                                          ": kept in memory"
                                    : "cannot create a temporary file in " + dir + " (" + std::strerror(-fd_) +
                                          "; set TMPDIR to a writable directory with room): kept in memory";
      fd_ = -1;
      memory_only_ = true;
      return;
    }
  }
  if (const int err = WriteAll(fd_, tail_)) {
    // Whatever part was written is written over by nothing: the file's
    // bytes end at file_bytes_, the rest stays in memory from here on.
    note_ = std::string("cannot write a temporary file (") + std::strerror(err) +
            "; set TMPDIR to a directory with room): kept in memory";
    memory_only_ = true;
    return;
  }
  file_bytes_ += tail_.size();
  tail_.clear();
}

bool SpilledBlobs::Read(uint64_t at, size_t n, std::string* out) const {
  out->resize(n);
  size_t done = 0;
  // The part in the file (reads at their own offsets: no shared position).
  while (at + done < file_bytes_ && done < n) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(n - done, file_bytes_ - (at + done)));
    const ssize_t r = ::pread(fd_, out->data() + done, want, static_cast<off_t>(at + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      const int err = r < 0 ? errno : EIO;
      std::lock_guard<std::mutex> l(mu_);
      if (status_.ok()) {
        status_ = Status::IOError(std::string("cannot read back a temporary file (") + std::strerror(err) + ")");
      }
      out->clear();
      return false;
    }
    done += static_cast<size_t>(r);
  }
  // The part in the chunks, then in the tail.
  while (done < n && at + done < file_bytes_ + memory_bytes_held_) {
    const uint64_t pos = at + done - file_bytes_;
    const std::string& chunk = chunks_[static_cast<size_t>(pos / memory_bytes_)];
    const size_t from = static_cast<size_t>(pos % memory_bytes_);
    const size_t take = std::min(n - done, chunk.size() - from);
    std::memcpy(out->data() + done, chunk.data() + from, take);
    done += take;
  }
  if (done < n) {
    std::memcpy(out->data() + done, tail_.data() + (at + done - file_bytes_ - memory_bytes_held_), n - done);
  }
  return true;
}

Status SpilledBlobs::status() const {
  std::lock_guard<std::mutex> l(mu_);
  return status_;
}

}  // namespace mt
