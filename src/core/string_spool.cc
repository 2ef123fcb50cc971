#include "core/string_spool.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/atomic_file.h"
#include "core/open_files.h"

namespace mt {

namespace {

// Each entry: its length, then its bytes.
using Length = uint32_t;
constexpr size_t kReadBytes = size_t{64} << 10;

}  // namespace

StringSpool::StringSpool(size_t memory_bytes) : memory_bytes_(std::max<size_t>(memory_bytes, 1)) {}

StringSpool::StringSpool(std::initializer_list<std::string> strings) : StringSpool() { *this = strings; }

StringSpool::~StringSpool() { Close(); }

StringSpool::StringSpool(const StringSpool& other) : memory_bytes_(other.memory_bytes_) { Append(other); }

StringSpool& StringSpool::operator=(const StringSpool& other) {
  if (this == &other) return *this;
  clear();
  memory_bytes_ = other.memory_bytes_;
  Append(other);
  return *this;
}

StringSpool::StringSpool(StringSpool&& other) noexcept : memory_bytes_(other.memory_bytes_) {
  *this = std::move(other);
}

StringSpool& StringSpool::operator=(StringSpool&& other) noexcept {
  if (this == &other) return *this;
  Close();
  memory_bytes_ = other.memory_bytes_;
  fd_ = std::exchange(other.fd_, -1);
  memory_only_ = std::exchange(other.memory_only_, false);
  file_bytes_ = std::exchange(other.file_bytes_, 0);
  memory_ = std::move(other.memory_);
  other.memory_.clear();
  count_ = std::exchange(other.count_, 0);
  note_ = std::exchange(other.note_, std::string());
  read_status_ = std::exchange(other.read_status_, Status::OK());
  return *this;
}

StringSpool& StringSpool::operator=(std::initializer_list<std::string> strings) {
  clear();
  for (const std::string& s : strings) push_back(s);
  return *this;
}

void StringSpool::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void StringSpool::clear() {
  Close();
  memory_only_ = false;
  file_bytes_ = 0;
  std::string().swap(memory_);
  count_ = 0;
  note_.clear();
  read_status_ = Status::OK();
}

void StringSpool::push_back(std::string_view s) {
  const Length n = static_cast<Length>(s.size());
  memory_.append(reinterpret_cast<const char*>(&n), sizeof n);
  memory_.append(s);
  count_++;
  if (memory_.size() >= memory_bytes_ && !memory_only_) Flush();
}

void StringSpool::Append(const StringSpool& other) {
  for (const std::string& s : other) push_back(s);
  if (!other.read_status_.ok() && read_status_.ok()) read_status_ = other.read_status_;
}

void StringSpool::Flush() {
  if (fd_ < 0) {
    std::string dir;
    fd_ = OpenUnnamedTempFile("", "strings", &dir);
    if (fd_ < 0) {
      note_ = IsOpenFileLimit(-fd_)
                  ? OpenFileLimitError("cannot create a temporary file in " + dir, -fd_).message() + ": kept in memory"
                  : "cannot create a temporary file in " + dir + " (" + std::strerror(-fd_) +
                        "; set TMPDIR to a writable directory with room): kept in memory";
      fd_ = -1;
      memory_only_ = true;
      return;
    }
  }
  for (size_t done = 0; done < memory_.size();) {
    const ssize_t w =
        ::pwrite(fd_, memory_.data() + done, memory_.size() - done, static_cast<off_t>(file_bytes_ + done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      // What was written is ignored: the file's entries end at file_bytes_,
      // the rest stays in memory from here on.
      note_ = std::string("cannot write a temporary file (") + std::strerror(errno) +
              "; set TMPDIR to a directory with room): kept in memory";
      memory_only_ = true;
      return;
    }
    done += static_cast<size_t>(w);
  }
  file_bytes_ += memory_.size();
  memory_.clear();
}

std::vector<std::string> StringSpool::ToVector() const {
  std::vector<std::string> out;
  out.reserve(count_);
  for (const std::string& s : *this) out.push_back(s);
  return out;
}

StringSpool::Iterator::Iterator(const StringSpool* spool, size_t index) : spool_(spool), index_(index) {
  if (index_ < spool_->count_) Load();
}

const char* StringSpool::Iterator::Bytes(size_t n) {
  const uint64_t at = pos_;
  pos_ += n;
  if (at >= spool_->file_bytes_) return spool_->memory_.data() + (at - spool_->file_bytes_);
  // Entries are written whole: one in the file ends there.
  if (at >= buf_at_ && at + n <= buf_at_ + buf_.size()) return buf_.data() + (at - buf_at_);
  const size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(n, kReadBytes), spool_->file_bytes_ - at));
  buf_.resize(want);
  buf_at_ = at;
  auto fail = [&](const char* why) -> const char* {
    if (spool_->read_status_.ok()) {
      spool_->read_status_ = Status::IOError(std::string("cannot read back a temporary file (") + why + ")");
    }
    buf_.clear();
    return nullptr;
  };
  if (want < n) return fail("an entry runs past its end");
  for (size_t done = 0; done < want;) {
    const ssize_t r = ::pread(spool_->fd_, buf_.data() + done, want - done, static_cast<off_t>(at + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return fail(std::strerror(errno));
    if (r == 0) return fail("it is shorter than written");
    done += static_cast<size_t>(r);
  }
  return buf_.data();
}

void StringSpool::Iterator::Load() {
  if (index_ >= spool_->count_) return;
  Length n = 0;
  const char* p = Bytes(sizeof n);
  if (p) std::memcpy(&n, p, sizeof n);
  const char* s = p ? Bytes(n) : nullptr;
  if (!s) {
    index_ = spool_->count_;  // the iteration ends here
    cur_.clear();
    return;
  }
  cur_.assign(s, n);
}

}  // namespace mt
