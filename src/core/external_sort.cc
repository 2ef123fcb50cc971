#include "core/external_sort.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/atomic_file.h"
#include "core/open_files.h"

namespace mt {

namespace {

// Per record in memory besides its bytes: its index entry.
constexpr size_t kIndexBytes = sizeof(std::pair<uint64_t, uint32_t>);
constexpr size_t kMinCursorBytes = size_t{64} << 10;
constexpr size_t kFirstArenaBytes = size_t{64} << 10;

}  // namespace

ExternalSorter::ExternalSorter(Less less, size_t memory_bytes)
    : less_(std::move(less)), memory_bytes_(std::max<size_t>(memory_bytes, 1)) {}

ExternalSorter::~ExternalSorter() {
  if (fd_ >= 0) ::close(fd_);
}

std::string_view ExternalSorter::View(size_t i) const {
  return std::string_view(arena_.data() + index_[i].first, index_[i].second);
}

void ExternalSorter::Add(std::string_view record) {
  // Room for a small sort first, then for the budget at once: a buffer
  // grown by doubling would hold up to one and a half times the budget
  // while it moves, and a sort of a few records (most of them) does not
  // take the whole budget from the heap.
  if (!memory_only_ && arena_.capacity() < memory_bytes_ && arena_.size() + record.size() > arena_.capacity()) {
    arena_.reserve(arena_.size() + record.size() <= kFirstArenaBytes ? std::min(kFirstArenaBytes, memory_bytes_)
                                                                     : memory_bytes_);
  }
  index_.emplace_back(arena_.size(), static_cast<uint32_t>(record.size()));
  arena_.append(record);
  count_++;
  if (!memory_only_ && arena_.size() + index_.size() * kIndexBytes >= memory_bytes_) SpillRun();
}

void ExternalSorter::SortMemory() {
  std::sort(index_.begin(), index_.end(), [this](const auto& a, const auto& b) {
    return less_(std::string_view(arena_.data() + a.first, a.second),
                 std::string_view(arena_.data() + b.first, b.second));
  });
}

void ExternalSorter::SpillRun() {
  if (fd_ < 0) {
    std::string dir;
    fd_ = OpenUnnamedTempFile("", "sort", &dir);
    if (fd_ < 0) {
      note_ = IsOpenFileLimit(-fd_) ? OpenFileLimitError("cannot create a temporary file in " + dir, -fd_).message()
                                    : "cannot create a temporary file in " + dir + " (" + std::strerror(-fd_) +
                                          "; set TMPDIR to a writable directory with room)";
      note_ += ": sorted in memory";
      fd_ = -1;
      memory_only_ = true;
      return;
    }
  }
  SortMemory();
  // The run as length-prefixed records, written in pieces of about a
  // cursor's size.
  std::string out;
  Run run{file_bytes_, file_bytes_};
  auto write = [&]() {
    for (size_t done = 0; done < out.size();) {
      const ssize_t w = ::pwrite(fd_, out.data() + done, out.size() - done, static_cast<off_t>(run.end + done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return errno;
      done += static_cast<size_t>(w);
    }
    run.end += out.size();
    out.clear();
    return 0;
  };
  for (size_t i = 0; i < index_.size(); i++) {
    const uint32_t n = index_[i].second;
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out.append(View(i));
    if (out.size() >= kMinCursorBytes || i + 1 == index_.size()) {
      if (const int err = write()) {
        // What this run wrote is ignored: its records stay in memory.
        note_ = std::string("cannot write a temporary file (") + std::strerror(err) +
                "; set TMPDIR to a directory with room): sorted in memory";
        memory_only_ = true;
        return;
      }
    }
  }
  file_bytes_ = run.end;
  runs_.push_back(run);
  std::string().swap(arena_);
  std::vector<std::pair<uint64_t, uint32_t>>().swap(index_);
}

void ExternalSorter::Finish() {
  if (finished_) return;
  finished_ = true;
  // Past the budget the last records go to a run too: the merge then holds
  // the runs' buffers alone (they share the budget), not them besides.
  if (!runs_.empty() && !index_.empty() && !memory_only_) SpillRun();
  SortMemory();
  memory_next_ = 0;
  if (runs_.empty()) return;
  // Each run's cursor reads through a buffer of an equal share of the
  // budget (records left in memory, where a run could not be written, take
  // theirs besides).
  const size_t share = std::max(kMinCursorBytes, memory_bytes_ / (runs_.size() + 1));
  cursors_.resize(runs_.size());
  for (size_t r = 0; r < runs_.size(); r++) {
    Cursor& c = cursors_[r];
    c.next = runs_[r].begin;
    c.end = runs_[r].end;
    c.share = share;
    if (Advance(&c)) heap_.push_back(r);
    if (!status_.ok()) return;
  }
  if (memory_next_ < index_.size()) heap_.push_back(cursors_.size());
  std::make_heap(heap_.begin(), heap_.end(), [this](size_t a, size_t b) {
    auto cur = [this](size_t k) {
      return k == cursors_.size() ? View(memory_next_) : std::string_view(cursors_[k].record);
    };
    return less_(cur(b), cur(a));
  });
}

bool ExternalSorter::Fill(Cursor* c, size_t need) {
  if (c->buffer.size() - c->pos >= need) return true;
  c->buffer.erase(0, c->pos);
  c->pos = 0;
  const size_t n =
      static_cast<size_t>(std::min<uint64_t>(std::max(need, c->share) - c->buffer.size(), c->end - c->next));
  if (c->buffer.size() + n < need) {
    if (status_.ok()) status_ = Status::IOError("a temporary file of sorted records ends early");
    return false;
  }
  const size_t at = c->buffer.size();
  c->buffer.resize(at + n);
  for (size_t done = 0; done < n;) {
    const ssize_t r = ::pread(fd_, c->buffer.data() + at + done, n - done, static_cast<off_t>(c->next + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (status_.ok()) {
        status_ = Status::IOError(std::string("cannot read back a temporary file (") +
                                  std::strerror(r < 0 ? errno : EIO) + ")");
      }
      return false;
    }
    done += static_cast<size_t>(r);
  }
  c->next += n;
  return true;
}

bool ExternalSorter::Advance(Cursor* c) {
  if (c->pos == c->buffer.size() && c->next == c->end) return false;
  uint32_t n = 0;
  if (!Fill(c, sizeof n)) return false;
  std::memcpy(&n, c->buffer.data() + c->pos, sizeof n);
  c->pos += sizeof n;
  if (!Fill(c, n)) return false;
  c->record.assign(c->buffer.data() + c->pos, n);
  c->pos += n;
  return true;
}

bool ExternalSorter::Next(std::string* out) {
  if (!finished_) Finish();
  if (!status_.ok()) return false;
  if (runs_.empty()) {
    if (memory_next_ >= index_.size()) return false;
    out->assign(View(memory_next_++));
    return true;
  }
  if (heap_.empty()) return false;
  auto cur = [this](size_t k) {
    return k == cursors_.size() ? View(memory_next_) : std::string_view(cursors_[k].record);
  };
  auto greater = [&](size_t a, size_t b) { return less_(cur(b), cur(a)); };
  std::pop_heap(heap_.begin(), heap_.end(), greater);
  const size_t k = heap_.back();
  heap_.pop_back();
  bool more;
  if (k == cursors_.size()) {
    out->assign(View(memory_next_++));
    more = memory_next_ < index_.size();
  } else {
    out->swap(cursors_[k].record);
    more = Advance(&cursors_[k]);
    if (!status_.ok()) return false;
  }
  if (more) {
    heap_.push_back(k);
    std::push_heap(heap_.begin(), heap_.end(), greater);
  }
  return true;
}

}  // namespace mt
