#include "core/spill_vector.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "core/atomic_file.h"
#include "core/open_files.h"

namespace mt {

namespace {

constexpr size_t kWindowBytes = size_t{1} << 20;

// pread/pwrite of all `n` bytes at `at`: 0, else the errno (EIO for a
// file shorter than asked).
int ReadAt(int fd, char* p, size_t n, uint64_t at) {
  for (size_t done = 0; done < n;) {
    const ssize_t r = ::pread(fd, p + done, n - done, static_cast<off_t>(at + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno;
    if (r == 0) return EIO;
    done += static_cast<size_t>(r);
  }
  return 0;
}

int WriteAt(int fd, const char* p, size_t n, uint64_t at) {
  for (size_t done = 0; done < n;) {
    const ssize_t r = ::pwrite(fd, p + done, n - done, static_cast<off_t>(at + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno;
    done += static_cast<size_t>(r);
  }
  return 0;
}

}  // namespace

SpillRecords::SpillRecords(size_t record_bytes, size_t memory_bytes)
    : record_bytes_(std::max<size_t>(record_bytes, 1)),
      tail_capacity_(std::max<size_t>(memory_bytes / record_bytes_, 1)),
      window_records_(std::max<size_t>(std::min(memory_bytes, kWindowBytes) / record_bytes_, 1)) {}

SpillRecords::~SpillRecords() { Close(); }

SpillRecords::SpillRecords(SpillRecords&& other) noexcept
    : record_bytes_(other.record_bytes_), tail_capacity_(other.tail_capacity_), window_records_(other.window_records_) {
  *this = std::move(other);
}

SpillRecords& SpillRecords::operator=(SpillRecords&& other) noexcept {
  if (this == &other) return *this;
  Close();
  record_bytes_ = other.record_bytes_;
  tail_capacity_ = other.tail_capacity_;
  window_records_ = other.window_records_;
  fd_ = std::exchange(other.fd_, -1);
  memory_only_ = std::exchange(other.memory_only_, false);
  file_records_ = std::exchange(other.file_records_, 0);
  tail_records_ = std::exchange(other.tail_records_, 0);
  tail_ = std::move(other.tail_);
  other.tail_.clear();
  window_ = std::move(other.window_);
  other.window_.clear();
  window_first_ = std::exchange(other.window_first_, 0);
  window_count_ = std::exchange(other.window_count_, 0);
  status_ = std::exchange(other.status_, Status::OK());
  note_ = std::exchange(other.note_, std::string());
  return *this;
}

void SpillRecords::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void SpillRecords::Clear() {
  Close();
  memory_only_ = false;
  file_records_ = tail_records_ = 0;
  std::vector<char>().swap(tail_);
  std::vector<char>().swap(window_);
  window_first_ = window_count_ = 0;
  status_ = Status::OK();
  note_.clear();
}

void SpillRecords::SetRange(size_t first, const void* records, size_t n) {
  const char* p = static_cast<const char*>(records);
  const size_t in_file = first < file_records_ ? std::min(n, file_records_ - first) : 0;
  if (in_file > 0) {
    if (const int err = WriteAt(fd_, p, in_file * record_bytes_, static_cast<uint64_t>(first) * record_bytes_)) {
      if (status_.ok()) {
        status_ = Status::IOError(std::string("cannot update a temporary file (") + std::strerror(err) + ")");
      }
      return;
    }
    // The read window may hold some of them: it is read again when asked.
    if (first < window_first_ + window_count_ && window_first_ < first + in_file) window_count_ = 0;
  }
  if (n > in_file) {
    std::memcpy(tail_.data() + (first + in_file - file_records_) * record_bytes_, p + in_file * record_bytes_,
                (n - in_file) * record_bytes_);
  }
}

void SpillRecords::Truncate(size_t n) {
  if (n >= file_records_) {
    tail_records_ = n - file_records_;
    tail_.resize(tail_records_ * record_bytes_);
    return;
  }
  // The file's records past n are written over by the next flush.
  file_records_ = n;
  tail_records_ = 0;
  tail_.clear();
  if (window_first_ + window_count_ > n) window_count_ = 0;
}

void SpillRecords::Append(const void* record) {
  const char* p = static_cast<const char*>(record);
  tail_.insert(tail_.end(), p, p + record_bytes_);
  tail_records_++;
  if (tail_records_ >= tail_capacity_ && !memory_only_) Flush();
}

void SpillRecords::Flush() {
  if (fd_ < 0) {
    std::string dir;
    fd_ = OpenUnnamedTempFile("", "records", &dir);
    if (fd_ < 0 && IsOpenFileLimit(-fd_)) {
      note_ = OpenFileLimitError("cannot create a temporary file in " + dir, -fd_).message() + ": kept in memory";
    } else if (fd_ < 0) {
      note_ = "cannot create a temporary file in " + dir + " (" + std::strerror(-fd_) +
              "; set TMPDIR to a writable directory with room): kept in memory";
    }
    if (fd_ < 0) {
      fd_ = -1;
      memory_only_ = true;
      return;
    }
  }
  if (const int err = WriteAt(fd_, tail_.data(), tail_records_ * record_bytes_,
                              static_cast<uint64_t>(file_records_) * record_bytes_)) {
    // Whatever part was written is ignored: the records stay in memory.
    note_ = std::string("cannot write a temporary file (") + std::strerror(err) +
            "; set TMPDIR to a directory with room): kept in memory";
    memory_only_ = true;
    return;
  }
  file_records_ += tail_records_;
  tail_records_ = 0;
  tail_.clear();
}

void SpillRecords::Get(size_t i, void* out) const {
  char* o = static_cast<char*>(out);
  if (i >= file_records_) {
    std::memcpy(o, tail_.data() + (i - file_records_) * record_bytes_, record_bytes_);
    return;
  }
  if (i < window_first_ || i >= window_first_ + window_count_) {
    window_first_ = i / window_records_ * window_records_;
    window_count_ = std::min(window_records_, file_records_ - window_first_);
    window_.resize(window_count_ * record_bytes_);
    if (const int err =
            ReadAt(fd_, window_.data(), window_.size(), static_cast<uint64_t>(window_first_) * record_bytes_)) {
      if (status_.ok()) {
        status_ = Status::IOError(std::string("cannot read back a temporary file (") + std::strerror(err) + ")");
      }
      window_count_ = 0;
      std::memset(o, 0, record_bytes_);
      return;
    }
  }
  std::memcpy(o, window_.data() + (i - window_first_) * record_bytes_, record_bytes_);
}

void SpillRecords::Set(size_t i, const void* record) {
  const char* p = static_cast<const char*>(record);
  if (i >= file_records_) {
    std::memcpy(tail_.data() + (i - file_records_) * record_bytes_, p, record_bytes_);
    return;
  }
  if (const int err = WriteAt(fd_, p, record_bytes_, static_cast<uint64_t>(i) * record_bytes_)) {
    if (status_.ok()) {
      status_ = Status::IOError(std::string("cannot update a temporary file (") + std::strerror(err) + ")");
    }
    return;
  }
  if (i >= window_first_ && i < window_first_ + window_count_) {
    std::memcpy(window_.data() + (i - window_first_) * record_bytes_, p, record_bytes_);
  }
}

uint64_t SpillBytes::Append(std::string_view data) {
  const uint64_t at = size();
  while (!data.empty()) {
    const size_t n = std::min(data.size(), kPageBytes - page_used_);
    std::memcpy(page_ + page_used_, data.data(), n);
    page_used_ += n;
    data.remove_prefix(n);
    if (page_used_ == kPageBytes) {
      pages_.Append(page_);
      page_used_ = 0;
    }
  }
  return at;
}

void SpillBytes::Read(uint64_t offset, size_t n, std::string* out) const {
  while (n > 0) {
    const uint64_t page = offset / kPageBytes;
    const size_t in_page = static_cast<size_t>(offset % kPageBytes);
    const size_t take = std::min(n, kPageBytes - in_page);
    const char* p = page_;
    if (page < pages_.size()) {
      pages_.Get(static_cast<size_t>(page), read_page_);
      p = read_page_;
    }
    out->append(p + in_page, take);
    offset += take;
    n -= take;
  }
}

void SpillBytes::Truncate(uint64_t n) {
  const size_t full = static_cast<size_t>(n / kPageBytes);
  page_used_ = static_cast<size_t>(n % kPageBytes);
  // The page n ends in (if any) becomes the one being filled again.
  if (full < pages_.size()) pages_.Get(full, page_);
  pages_.Truncate(full);
}

void SpillBytes::Clear() {
  pages_.Clear();
  page_used_ = 0;
}

}  // namespace mt
