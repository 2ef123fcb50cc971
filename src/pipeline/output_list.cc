#include "pipeline/output_list.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/atomic_file.h"
#include "core/open_files.h"

namespace mt::pipeline {

namespace {

// An entry: its payload's length (u32), then the payload: the strings as a
// u32 length and their bytes, the numbers as 8 bytes, in OutputFile's order.
// Entries are whole in the file or whole in memory, never split between.
constexpr size_t kReadBytes = 64u << 10;

void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), sizeof v); }
void PutU64(std::string* out, uint64_t v) { out->append(reinterpret_cast<const char*>(&v), sizeof v); }
void PutString(std::string* out, const std::string& s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

struct Reader {
  const char* p;
  const char* end;
  bool U32(uint32_t* v) {
    if (end - p < 4) return false;
    std::memcpy(v, p, 4);
    p += 4;
    return true;
  }
  bool U64(uint64_t* v) {
    if (end - p < 8) return false;
    std::memcpy(v, p, 8);
    p += 8;
    return true;
  }
  bool I64(int64_t* v) {
    uint64_t u;
    if (!U64(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool String(std::string* s) {
    uint32_t n;
    if (!U32(&n) || static_cast<size_t>(end - p) < n) return false;
    s->assign(p, n);
    p += n;
    return true;
  }
};

}  // namespace

OutputList::~OutputList() {
  if (fd_ >= 0) ::close(fd_);
}

OutputList::OutputList(OutputList&& other) noexcept { *this = std::move(other); }

OutputList& OutputList::operator=(OutputList&& other) noexcept {
  if (this == &other) return *this;
  if (fd_ >= 0) ::close(fd_);
  fd_ = std::exchange(other.fd_, -1);
  file_bytes_ = std::exchange(other.file_bytes_, 0);
  memory_ = std::move(other.memory_);
  other.memory_.clear();
  count_ = std::exchange(other.count_, 0);
  read_status_ = std::move(other.read_status_);
  other.read_status_ = Status::OK();
  return *this;
}

Status OutputList::Add(const OutputFile& o) {
  const size_t at = memory_.size();
  PutU32(&memory_, 0);  // the payload's length, set below
  PutString(&memory_, o.name);
  PutString(&memory_, o.instrument_key);
  PutU64(&memory_, o.rows);
  PutU64(&memory_, o.bytes);
  PutU64(&memory_, static_cast<uint64_t>(o.min_local_ts));
  PutU64(&memory_, static_cast<uint64_t>(o.max_local_ts));
  PutU64(&memory_, static_cast<uint64_t>(o.first_local_ts));
  PutU64(&memory_, static_cast<uint64_t>(o.last_local_ts));
  memory_.push_back(o.unkeyed ? 1 : 0);
  PutString(&memory_, o.symbol);
  PutString(&memory_, o.note);
  const uint32_t payload = static_cast<uint32_t>(memory_.size() - at - 4);
  std::memcpy(memory_.data() + at, &payload, 4);
  count_++;
  if (memory_.size() < kMemoryBytes) return Status::OK();
  MT_RETURN_IF_ERROR(OpenFile());
  if (const int err = WriteAll(fd_, memory_)) {
    return Status::IOError("cannot write the temporary list of objects written (" + std::string(std::strerror(err)) +
                           "; set TMPDIR to a directory with room)");
  }
  file_bytes_ += memory_.size();
  memory_.clear();
  return Status::OK();
}

Status OutputList::OpenFile() {
  if (fd_ >= 0) return Status::OK();
  std::string dir;
  fd_ = OpenUnnamedTempFile("", "outputs", &dir);
  if (fd_ >= 0) return Status::OK();
  const int err = -fd_;
  fd_ = -1;
  return TempFileError(dir, "the list of objects written", err, "set TMPDIR to a writable directory");
}

Status OutputList::Reserve(uint64_t bytes) {
  if (memory_.size() + bytes < kMemoryBytes) return Status::OK();
  return OpenFile();
}

uint64_t OutputList::EntryBytes(const OutputFile& o, size_t name_bytes) {
  // As Add writes it: the length, five strings with theirs, six numbers, a flag.
  return 4 + 5 * 4 + name_bytes + o.instrument_key.size() + o.symbol.size() + o.note.size() + 6 * 8 + 1;
}

Status OutputList::AddAll(const OutputList& other) {
  for (const OutputFile& o : other) MT_RETURN_IF_ERROR(Add(o));
  return other.read_status();
}

Result<std::vector<OutputFile>> OutputList::ToVector() const {
  std::vector<OutputFile> all;
  all.reserve(count_);
  for (const OutputFile& o : *this) all.push_back(o);
  MT_RETURN_IF_ERROR(read_status_);
  return all;
}

OutputList::Iterator::Iterator(const OutputList* list, size_t index) : list_(list), index_(index) {
  if (index_ < list_->count_) Load();
}

OutputList::Iterator& OutputList::Iterator::operator++() {
  if (++index_ < list_->count_) Load();
  return *this;
}

const char* OutputList::Iterator::Bytes(size_t n) {
  if (pos_ >= list_->file_bytes_) return list_->memory_.data() + (pos_ - list_->file_bytes_);
  if (pos_ >= buf_at_ && pos_ + n <= buf_at_ + buf_.size()) return buf_.data() + (pos_ - buf_at_);
  // Entries are whole in the file, so these bytes are there.
  const size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(n, kReadBytes), list_->file_bytes_ - pos_));
  buf_.resize(want);
  buf_at_ = pos_;
  size_t got = 0;
  while (got < want) {
    const ssize_t r = ::pread(list_->fd_, buf_.data() + got, want - got, static_cast<off_t>(pos_ + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      list_->read_status_ = Status::IOError("cannot read the temporary list of objects written (" +
                                            std::string(r < 0 ? std::strerror(errno) : "it is shorter than written") +
                                            ")");
      buf_.clear();
      return nullptr;
    }
    got += static_cast<size_t>(r);
  }
  if (want < n) return nullptr;
  return buf_.data();
}

void OutputList::Iterator::Load() {
  uint32_t payload = 0;
  const char* head = Bytes(4);
  if (head) std::memcpy(&payload, head, 4);
  const char* p = head ? Bytes(4 + static_cast<size_t>(payload)) : nullptr;
  Reader r{p ? p + 4 : nullptr, p ? p + 4 + payload : nullptr};
  uint64_t min_ts = 0, max_ts = 0;
  bool ok = p && r.String(&cur_.name) && r.String(&cur_.instrument_key) && r.U64(&cur_.rows) && r.U64(&cur_.bytes) &&
            r.U64(&min_ts) && r.U64(&max_ts) && r.I64(&cur_.first_local_ts) && r.I64(&cur_.last_local_ts) &&
            r.p < r.end;
  if (ok) {
    cur_.min_local_ts = static_cast<int64_t>(min_ts);
    cur_.max_local_ts = static_cast<int64_t>(max_ts);
    cur_.unkeyed = *r.p++ != 0;
    ok = r.String(&cur_.symbol) && r.String(&cur_.note) && r.p == r.end;
  }
  if (!ok) {
    if (list_->read_status_.ok()) {
      list_->read_status_ = Status::Internal("the temporary list of objects written is damaged");
    }
    index_ = list_->count_;  // the iteration ends
    return;
  }
  pos_ += 4 + payload;
}

}  // namespace mt::pipeline
