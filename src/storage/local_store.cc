#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <unordered_map>

#include "core/atomic_file.h"
#include "core/crc32c.h"
#include "core/external_sort.h"
#include "core/open_files.h"
#include "storage/layout.h"
#include "storage/object_store.h"

namespace mt::storage {

namespace fs = std::filesystem;

namespace {

std::string ErrnoText() { return std::strerror(errno); }

// Suffix of a written, closed temporary file waiting for its commit (Seal()).
constexpr std::string_view kSealedSuffix = "-sealed";

void RemoveOrphanedTemporaries(const std::string& path);  // below

// A failed write, create or rename: permanent when the file system refuses
// (no retry changes permissions or a read-only mount), else retryable.
// EMFILE and ENFILE say which open-file limit was reached and what to do
// (OpenFileLimitError: EMFILE a configuration error, ENFILE retryable).
Status WriteError(const std::string& what, int err) {
  const std::string msg = what + ": " + std::strerror(err);
  if (err == EACCES || err == EPERM || err == EROFS || err == ENOTDIR || err == EISDIR) {
    return Status::Permission(msg);
  }
  if (IsOpenFileLimit(err)) return OpenFileLimitError(what, err);
  return Status::IOError(msg);
}

Result<int64_t> VersionOf(const std::string& path, std::string* bytes);

// How Commit puts a finished temporary file in place.
struct CommitRule {
  enum Kind { kOverwrite, kCreateOnly, kIfGeneration } kind = kOverwrite;
  int64_t generation = 0;  // kIfGeneration: the version the caller read (0: none)
};

// A version of a local file: its identity and times (a replacement by rename
// has a new inode and change time) and the CRC32C of its bytes. The bytes
// matter because times are coarse (a clock tick) and a freed inode number is
// reused: two versions that still collide hold the same bytes, and a merge
// based on one of them is then as good as based on the other.
int64_t Fingerprint(const struct stat& st, uint32_t crc) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the identifying fields
  auto mix = [&h](uint64_t v) {
    for (int i = 0; i < 8; i++) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  mix(st.st_dev);
  mix(st.st_ino);
  mix(static_cast<uint64_t>(st.st_size));
  mix(static_cast<uint64_t>(st.st_mtim.tv_sec));
  mix(static_cast<uint64_t>(st.st_mtim.tv_nsec));
  mix(static_cast<uint64_t>(st.st_ctim.tv_sec));
  mix(static_cast<uint64_t>(st.st_ctim.tv_nsec));
  mix(crc);
  const auto g = static_cast<int64_t>(h >> 1);
  return g == 0 ? 1 : g;
}

// Holds flock(LOCK_EX) on a directory while alive. Conditional commits into
// one directory take it around "check the version, then rename", which makes
// that pair atomic between processes on this machine.
class DirLock {
 public:
  explicit DirLock(const std::string& dir) {
    fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) {
      status_ = IsOpenFileLimit(errno) ? WriteError("open directory " + dir, errno)
                                       : Status::IOError("open directory " + dir + ": " + ErrnoText());
      return;
    }
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      status_ = Status::IOError("lock directory " + dir + ": " + ErrnoText());
      return;
    }
  }
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  const Status& status() const { return status_; }

 private:
  int fd_ = -1;
  Status status_;
};

std::string ParentDir(const std::string& path) {
  const std::string p = fs::path(path).parent_path().string();
  return p.empty() ? "." : p;
}

// A sealed file is closed, so its own flock cannot show that its writer
// lives. Its writer process instead holds a lock file per directory,
// "{dir}/.owner.tmp-{id}", flock-ed while it has a sealed file there, and the
// sealed file is named "...-sealed-{id}": a sweep proves the writer dead when
// that lock file is gone or can be locked (RemoveOrphanedTemporaries). A
// process releases the lock file (unlinks, then closes it) when its last
// sealed file of the directory is committed or removed; a new lock file gets
// a new id, so a sweeper that locked a released one finds no live file under
// its id.
constexpr std::string_view kOwnerPrefix = ".owner.tmp-";

class SealOwners {
 public:
  // The id to name a new sealed file of `dir` with; counts the file.
  Result<std::string> Acquire(const std::string& dir) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = by_dir_.find(dir);
    if (it != by_dir_.end()) {
      it->second.files++;
      return it->second.id;
    }
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    for (int attempt = 0;; attempt++) {
      char id[17];
      std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(rng()));
      const std::string path = dir + "/" + std::string(kOwnerPrefix) + id;
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0) return WriteError("cannot create " + path, errno);
      while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {
      }
      // A sweep may have taken the new file for a dead owner's between open
      // and flock and removed it: then start over under a new id.
      struct stat st;
      if (::fstat(fd, &st) == 0 && st.st_nlink == 0 && attempt < 8) {
        ::close(fd);
        continue;
      }
      by_dir_.emplace(dir, Entry{id, path, fd, 1});
      return std::string(id);
    }
  }
  // One sealed file of `dir` was renamed or removed.
  void Release(const std::string& dir) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = by_dir_.find(dir);
    if (it == by_dir_.end() || --it->second.files > 0) return;
    ::unlink(it->second.path.c_str());
    ::close(it->second.fd);
    by_dir_.erase(it);
  }

 private:
  struct Entry {
    std::string id, path;
    int fd;
    size_t files;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> by_dir_;
};

SealOwners& Owners() {
  static SealOwners* owners = new SealOwners;  // used by writers until exit
  return *owners;
}

// Whether the owner `id` of sealed files in `dir` is gone: its lock file is
// absent, or free (then it is removed).
bool OwnerIsDead(const std::string& dir, const std::string& id) {
  const std::string path = dir + "/" + std::string(kOwnerPrefix) + id;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT;
  const bool dead = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  if (dead) ::unlink(path.c_str());
  ::close(fd);
  return dead;
}

// Writes to "{path}.tmp-{random}" in the same directory, then renames. The
// temporary file stays open (and flock-ed, see CreateWithRule) until it has
// been renamed, so another process never takes it for an orphan.
class LocalWritable final : public WritableObject {
 public:
  // `tmp_tail`: what the temporary file's name adds to `path`.
  LocalWritable(std::string path, std::string tmp_tail, int fd, CommitRule rule)
      : path_(std::move(path)), tmp_tail_(std::move(tmp_tail)), fd_(fd), rule_(rule) {}
  ~LocalWritable() override { Abort(); }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return Status::Internal("append after commit/abort: " + path_);
    if (const int err = WriteAll(fd_, data)) return WriteError("write " + Tmp(), err);
    bytes_ += data.size();
    // Start writing back what is written so far: Commit's fsync then waits
    // for the last piece only, not for the whole file at the end of the run.
    if (bytes_ - flushed_ >= kWritebackBytes) {
      (void)::sync_file_range(fd_, static_cast<off_t>(flushed_), static_cast<off_t>(bytes_ - flushed_),
                              SYNC_FILE_RANGE_WRITE);
      flushed_ = bytes_;
    }
    return Status::OK();
  }

  // Written and closed: a grouped file seals thousands of objects, which
  // cannot all stay open. Their bytes are made durable by the store's
  // SyncSealed(), then each Commit renames. The flock goes with the
  // descriptor, so the file first takes the name "{tmp}-sealed-{owner}",
  // whose owner's lock file tells a sweep of leftovers whether this process
  // still lives (SealOwners, RemoveOrphanedTemporaries).
  Status Seal() override {
    if (fd_ < 0) return Status::Internal("seal after commit/abort: " + path_);
    // No writeback is started here: SyncSealed() writes back every sealed
    // file in one pass (a start per file cost a synchronous submission each).
    const std::string dir = ParentDir(path_);
    MT_ASSIGN_OR_RETURN(const std::string owner, Owners().Acquire(dir));
    const std::string tail = tmp_tail_ + std::string(kSealedSuffix) + "-" + owner;
    const std::string tmp = Tmp(), sealed = path_ + tail;
    if (::rename(tmp.c_str(), sealed.c_str()) != 0) {
      const int err = errno;
      Owners().Release(dir);
      return WriteError("rename " + tmp + " -> " + sealed, err);
    }
    owns_ = true;
    tmp_tail_ = tail;
    ::close(fd_);
    fd_ = -1;
    sealed_ = true;
    return Status::OK();
  }

  Status Commit() override {
    if (committed_ || (fd_ < 0 && !sealed_)) return Status::Internal("commit twice: " + path_);
    Status st;
    if (!sealed_ && ::fsync(fd_) != 0 && errno != EINVAL) {
      st = Status::IOError("fsync " + Tmp() + ": " + ErrnoText());
    }
    if (st.ok()) st = Place();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    sealed_ = false;
    if (st.ok()) {
      committed_ = true;
    } else if (!tmp_tail_.empty()) {
      ::unlink(Tmp().c_str());
      tmp_tail_.clear();
    }
    ReleaseOwner();
    return st;
  }

  void Abort() override {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (!committed_ && !tmp_tail_.empty()) {
      ::unlink(Tmp().c_str());
      tmp_tail_.clear();
    }
    ReleaseOwner();
  }
  uint64_t bytes_written() const override { return bytes_; }

 private:
  // After the sealed file was renamed or removed.
  void ReleaseOwner() {
    if (!owns_) return;
    Owners().Release(ParentDir(path_));
    owns_ = false;
  }

  // The temporary file's path. Only its tail is kept: a grouped file holds
  // thousands of sealed objects until they are committed together, and a
  // second full path each would add up.
  std::string Tmp() const { return path_ + tmp_tail_; }

  // Renames the temporary file to its name under the commit rule.
  Status Place() {
    const std::string tmp = Tmp();
    if (rule_.kind == CommitRule::kOverwrite) {
      if (::rename(tmp.c_str(), path_.c_str()) != 0) {
        return WriteError("rename " + tmp + " -> " + path_, errno);
      }
      return Status::OK();
    }
    if (rule_.kind == CommitRule::kCreateOnly) return PlaceNew();
    DirLock lock(ParentDir(path_));
    MT_RETURN_IF_ERROR(lock.status());
    std::string current_bytes;
    MT_ASSIGN_OR_RETURN(const int64_t current, VersionOf(path_, &current_bytes));
    if (current != rule_.generation) {
      return Status::AlreadyExists(path_ + (rule_.generation == 0 ? " already exists" : " was changed by another writer since it was read"));
    }
    if (rule_.generation == 0) return PlaceNew();
    if (::rename(tmp.c_str(), path_.c_str()) != 0) {
      return WriteError("rename " + tmp + " -> " + path_, errno);
    }
    return Status::OK();
  }

  // Create-only, like GCS ifGenerationMatch=0: renameat2(RENAME_NOREPLACE)
  // is atomic; where the file system lacks it, link() + unlink() (link fails
  // with EEXIST instead of replacing).
  Status PlaceNew() {
    const std::string tmp = Tmp();
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE) == 0) return Status::OK();
    if (errno == EEXIST) return Status::AlreadyExists(path_ + " already exists");
    if (::link(tmp.c_str(), path_.c_str()) != 0) {
      const int e = errno;
      if (e == EEXIST) return Status::AlreadyExists(path_ + " already exists");
      return WriteError("link " + tmp + " -> " + path_, e);
    }
    ::unlink(tmp.c_str());
    tmp_tail_.clear();
    return Status::OK();
  }

  std::string path_, tmp_tail_;
  int fd_;
  CommitRule rule_;
  bool committed_ = false;
  bool sealed_ = false;  // written and closed, see Seal()
  bool owns_ = false;  // a sealed file counts in Owners() for ParentDir(path_)
  uint64_t bytes_ = 0;
  uint64_t flushed_ = 0;  // bytes whose writeback was started
  static constexpr uint64_t kWritebackBytes = 4u << 20;
};

Status MakeParents(const std::string& path) {
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) return WriteError("cannot create directory " + parent.string(), ec.value());
  return Status::OK();
}

Result<std::unique_ptr<WritableObject>> CreateWithRule(const std::string& path, CommitRule rule);

Status OpenError(const std::string& path) {
  if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound(path + ": no such file");
  return Status::IOError("open " + path + ": " + ErrnoText());
}

Status PreadAll(int fd, const std::string& path, uint64_t offset, uint64_t n, std::string* out) {
  out->resize(n);
  uint64_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, out->data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("read " + path + ": " + ErrnoText());
    }
    if (r == 0) break;  // the file shrank meanwhile
    got += static_cast<uint64_t>(r);
  }
  out->resize(got);
  return Status::OK();
}

// The bytes of `path` and their version (Fingerprint), through one
// descriptor so both belong to the same file even if it is replaced
// meanwhile; 0 and no bytes when there is no such file.
Result<int64_t> VersionOf(const std::string& path, std::string* bytes) {
  bytes->clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return int64_t{0};
    return OpenError(path);
  }
  struct stat st;
  Status s;
  if (::fstat(fd, &st) != 0) {
    s = Status::IOError("stat " + path + ": " + ErrnoText());
  } else {
    s = PreadAll(fd, path, 0, static_cast<uint64_t>(st.st_size), bytes);
  }
  ::close(fd);
  if (!s.ok()) return s;
  return Fingerprint(st, Crc32c(*bytes));
}

// Opens `path`, asks `pick(size)` for the (offset, length) to read, and
// preads it into *out: one open, one fstat, one pread for ranged and tail reads.
// `version`, when given, receives the file's Fingerprint of its stat alone.
template <typename Pick>
Status ReadSlice(const std::string& path, std::string* out, Pick pick, int64_t* version = nullptr) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return OpenError(path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const Status s = Status::IOError("stat " + path + ": " + ErrnoText());
    ::close(fd);
    return s;
  }
  if (version) *version = Fingerprint(st, 0);
  const auto [offset, n] = pick(static_cast<uint64_t>(st.st_size));
  const Status s = PreadAll(fd, path, offset, n, out);
  ::close(fd);
  return s;
}

class LocalStore final : public ObjectStore {
 public:
  explicit LocalStore(std::string root) : root_(std::move(root)) {}

  Result<std::unique_ptr<WritableObject>> Create(const std::string& name, bool overwrite) override {
    MT_RETURN_IF_ERROR(CheckName(name));
    return CreateLocalFile(Path(name), overwrite);
  }
  Result<std::unique_ptr<WritableObject>> CreateIfGeneration(const std::string& name, int64_t generation) override {
    MT_RETURN_IF_ERROR(CheckName(name));
    return CreateWithRule(Path(name), CommitRule{CommitRule::kIfGeneration, generation});
  }
  Result<Versioned> ReadVersioned(const std::string& name) override {
    Versioned v;
    MT_ASSIGN_OR_RETURN(v.generation, VersionOf(Path(name), &v.bytes));
    return v;
  }
  void RemoveStaleTemporaries(const std::string& name) override {
    if (CheckName(name).ok()) RemoveOrphanedTemporaries(Path(name));
  }
  Status Remove(const std::string& name) override {
    MT_RETURN_IF_ERROR(CheckName(name));
    if (::unlink(Path(name).c_str()) == 0 || errno == ENOENT || errno == ENOTDIR) return Status::OK();
    return Status::IOError("remove " + Path(name) + ": " + ErrnoText());
  }
  Result<bool> Exists(const std::string& name) override {
    struct stat st;
    if (::stat(Path(name).c_str(), &st) == 0) return S_ISREG(st.st_mode);
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return Status::IOError("stat " + Path(name) + ": " + ErrnoText());
  }
  Result<std::string> Read(const std::string& name) override {
    std::ifstream in(Path(name), std::ios::binary);
    if (!in) return Status::NotFound(Path(name) + ": cannot open");
    // Read into a string of the file's size: one grown as it is read (a
    // grouped item's record is 100 MB at 300,000 objects) holds twice that
    // while it doubles.
    std::string out;
    struct stat st;
    if (::stat(Path(name).c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      out.resize(static_cast<size_t>(st.st_size));
      in.read(out.data(), st.st_size);
      out.resize(static_cast<size_t>(in.gcount()));
    }
    char buf[1 << 16];  // what is left (a file that grew since)
    while (in.read(buf, sizeof buf) || in.gcount() > 0) out.append(buf, static_cast<size_t>(in.gcount()));
    return out;
  }
  Result<std::string> ReadRange(const std::string& name, uint64_t offset, int64_t length) override {
    std::string out;
    MT_RETURN_IF_ERROR(ReadSlice(Path(name), &out, [&](uint64_t size) {
      const uint64_t left = offset < size ? size - offset : 0;
      const uint64_t n = length < 0 ? left : std::min<uint64_t>(left, static_cast<uint64_t>(length));
      return std::pair<uint64_t, uint64_t>(offset, n);
    }));
    return out;
  }
  // The version is the file's identity (Fingerprint of its stat): a file
  // replaced by a rename, as every commit does, is another.
  // A local file keeps no checksum: RangedRead's CRC32C is not carried.
  Result<std::string> ReadRangeOfVersion(const std::string& name, uint64_t offset, int64_t length,
                                         RangedRead* read) override {
    std::string out;
    int64_t found = 0;
    const Status st = ReadSlice(
        Path(name), &out,
        [&](uint64_t size) {
          const uint64_t left = offset < size ? size - offset : 0;
          const uint64_t n = length < 0 ? left : std::min<uint64_t>(left, static_cast<uint64_t>(length));
          return std::pair<uint64_t, uint64_t>(offset, n);
        },
        &found);
    if (read->version != 0 && ((st.ok() && found != read->version) || st.code() == Status::Code::kNotFound)) {
      return ReplacedWhileRead(Path(name) + " was replaced while it was read; read it again");
    }
    MT_RETURN_IF_ERROR(st);
    read->version = found;
    return out;
  }
  // One open, one fstat and one pread: a footer check costs no more.
  Result<Tail> ReadTail(const std::string& name, uint64_t n) override {
    Tail t;
    MT_RETURN_IF_ERROR(ReadSlice(
        Path(name), &t.bytes,
        [&](uint64_t size) {
          t.object_size = size;
          const uint64_t len = std::min<uint64_t>(n, size);
          return std::pair<uint64_t, uint64_t>(size - len, len);
        },
        &t.version));
    return t;
  }
  // Walks the deepest directory the prefix names, a directory at a time.
  Status ListEach(const std::string& prefix, const std::function<Status(ObjectInfo&&)>& each) override {
    const size_t slash = prefix.rfind('/');
    return ListDirectory(slash == std::string::npos ? "" : prefix.substr(0, slash), prefix, each);
  }
  std::string Describe(const std::string& name) const override { return Path(name); }
  std::string SpillDirectory() const override { return root_.empty() ? "." : root_; }
  bool BatchesCommits() const override { return true; }
  Status SyncSealed() override {
    const std::string dir = root_.empty() ? "." : root_;
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::IOError("open " + dir + ": " + ErrnoText());
    const int rc = ::syncfs(fd);
    const Status st = rc == 0 ? Status::OK() : Status::IOError("syncfs " + dir + ": " + ErrnoText());
    ::close(fd);
    return st;
  }

  Status CheckWritable() override {
    const std::string root = root_.empty() ? "." : root_;
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec || !fs::is_directory(root, ec)) {
      return Status::Usage("the output " + root + " cannot be used as a directory" +
                           (ec ? " (" + ec.message() + ")" : " (it is a file)") +
                           ": choose another --output / OUTPUT_URI, or fix its permissions");
    }
    // A real create, write and remove: access() trusts the mode bits and
    // misses read-only mounts and ACLs.
    const std::string probe = root + "/.market-tick-write-check-" + std::to_string(::getpid());
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = fd < 0 ? errno : 0;
    if (fd >= 0) {
      if (::write(fd, "x", 1) != 1) err = errno;
      ::close(fd);
      ::unlink(probe.c_str());
    }
    if (err == 0) return Status::OK();
    const std::string why = std::strerror(err);
    if (err == ENOSPC || err == EDQUOT || err == EIO) {
      return Status::IOError("the output " + root + " cannot be written now (" + why + ")");
    }
    return Status::Usage("the output " + root + " is not writable (" + why +
                         "): choose another --output / OUTPUT_URI, or fix its permissions");
  }

 private:
  // Names come from storage/layout.h, which escapes whatever the input
  // holds; this refuses anything else that could leave the root.
  static Status CheckName(const std::string& name) {
    if (IsSafeObjectName(name)) return Status::OK();
    return Status::InvalidInput("refusing object name '" + name +
                                "': not a relative path of printable components without '..'");
  }
  std::string Path(const std::string& name) const {
    return root_.empty() || root_ == "." ? name : root_ + "/" + name;
  }
  // The objects under directory `rel` ("": the root) whose names start
  // with `prefix`, in name order, to `each`. A directory's entries are sorted
  // as their names with a '/' after a directory's, so that the objects under
  // it come where their names sort among its siblings' ("a-b" before "a/x"),
  // and through an ExternalSorter (its temporary file past a budget), so a
  // directory of millions of objects is not held in memory. Only entries
  // that are or may hold names under `prefix` are kept; temporary files
  // (".tmp-") are no objects; a symbolic link counts as what it points to
  // when that is a file, and a directory it points to is not walked. An
  // entry gone before it was read (a writer's temporary file renamed) is
  // skipped.
  Status ListDirectory(const std::string& rel, const std::string& prefix,
                       const std::function<Status(ObjectInfo&&)>& each) const {
    const std::string path = rel.empty() ? (root_.empty() ? "." : root_) : Path(rel);
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) {
      if (errno == ENOENT || errno == ENOTDIR) return Status::OK();
      return Status::IOError("list " + path + ": " + ErrnoText());
    }
    constexpr size_t kSortBytes = size_t{4} << 20;
    ExternalSorter sorter([](std::string_view a, std::string_view b) { return a < b; }, kSortBytes);
    const std::string base = rel.empty() ? "" : rel + "/";
    std::string full;
    Status st;
    for (;;) {
      errno = 0;
      const dirent* e = ::readdir(dir);
      if (e == nullptr) {
        if (errno != 0) st = Status::IOError("list " + path + ": " + ErrnoText());
        break;
      }
      const std::string_view name(e->d_name);
      if (name == "." || name == "..") continue;
      bool is_dir = e->d_type == DT_DIR;
      if (e->d_type == DT_UNKNOWN || e->d_type == DT_LNK) {
        struct stat sb;
        if (::fstatat(::dirfd(dir), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISLNK(sb.st_mode) && (::fstatat(::dirfd(dir), e->d_name, &sb, 0) != 0 || !S_ISREG(sb.st_mode))) continue;
        is_dir = S_ISDIR(sb.st_mode);
      } else if (e->d_type != DT_REG && !is_dir) {
        continue;
      }
      full.assign(base).append(name);
      if (is_dir) {
        full += '/';
        // Its names start with `full`: kept when they can start with the prefix.
        const size_t n = std::min(full.size(), prefix.size());
        if (full.compare(0, n, prefix, 0, n) != 0) continue;
        sorter.Add(std::string_view(full).substr(base.size()));
      } else if (full.rfind(prefix, 0) == 0 && full.find(".tmp-") == std::string::npos) {
        sorter.Add(name);
      }
    }
    ::closedir(dir);
    MT_RETURN_IF_ERROR(st);
    sorter.Finish();
    std::string entry;
    while (sorter.Next(&entry)) {
      full.assign(base).append(entry);
      if (!entry.empty() && entry.back() == '/') {
        full.pop_back();
        MT_RETURN_IF_ERROR(ListDirectory(full, prefix, each));
        continue;
      }
      struct stat sb;
      if (::stat(Path(full).c_str(), &sb) != 0) {
        if (errno == ENOENT) continue;
        return Status::IOError("stat " + Path(full) + ": " + ErrnoText());
      }
      if (!S_ISREG(sb.st_mode)) continue;
      MT_RETURN_IF_ERROR(each(ObjectInfo{full, static_cast<uint64_t>(sb.st_size)}));
    }
    if (!sorter.status().ok()) return Status::IOError("list " + path + ": " + sorter.status().message());
    return Status::OK();
  }
  std::string root_;
};

}  // namespace

std::unique_ptr<ObjectStore> NewLocalStore(const std::string& root) {
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  return std::make_unique<LocalStore>(r);
}

namespace {

// Removes "{path}.tmp-*" files that no live writer holds: an earlier run
// killed mid-write (kill -9, preemption) leaves them. A live writer keeps
// its temporary file flock-ed until it is renamed (or sealed, see Seal()),
// so the non-blocking lock below fails on it and the file is left alone.
// Each directory is listed once per process: a grouped file writes
// thousands of objects into one directory, and listing it for each was
// quadratic. Temporary files that appear later are this run's own.
void RemoveOrphanedTemporaries(const std::string& path) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::unordered_map<std::string, std::vector<fs::path>>> found_by_dir;
  const fs::path p(path);
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::vector<fs::path> candidates;
  {
    std::lock_guard<std::mutex> l(mu);
    auto [it, fresh] = found_by_dir.try_emplace(dir.string());
    if (fresh) {
      std::error_code ec;
      for (auto d = fs::directory_iterator(dir, ec); !ec && d != fs::directory_iterator(); d.increment(ec)) {
        const std::string f = d->path().filename().string();
        if (f.rfind(kOwnerPrefix, 0) == 0) {
          // A dead owner's lock file (killed before its sealed files were
          // named, or after the last was committed) goes; a live one stays.
          (void)OwnerIsDead(dir.string(), f.substr(kOwnerPrefix.size()));
          continue;
        }
        const size_t at = f.rfind(".tmp-");
        if (at != std::string::npos && at > 0) it->second[f.substr(0, at)].push_back(d->path());
      }
    }
    auto c = it->second.find(p.filename().string());
    if (c != it->second.end()) {
      candidates = std::move(c->second);
      it->second.erase(c);
    }
  }
  for (const auto& f : candidates) {
    const std::string fs_name = f.filename().string();
    const size_t sealed_at = fs_name.rfind(kSealedSuffix);
    if (sealed_at != std::string::npos && sealed_at > fs_name.rfind(".tmp-")) {
      const size_t end = sealed_at + kSealedSuffix.size();
      if (end < fs_name.size() && fs_name[end] == '-') {
        // Sealed with its owner's id: removed once the owner is proven dead.
        if (OwnerIsDead(dir.string(), fs_name.substr(end + 1))) {
          std::error_code rm;
          fs::remove(f, rm);
        }
        continue;
      }
      if (end == fs_name.size()) {
        // Sealed without an owner (an older version's name): nothing proves
        // its writer dead; a day old is a leftover.
        std::error_code ec;
        const auto age = fs::file_time_type::clock::now() - fs::last_write_time(f, ec);
        if (ec || age < std::chrono::hours(24)) continue;
      }
    }
    const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      std::error_code rm;
      fs::remove(f, rm);
    }
    ::close(fd);
  }
}

Result<std::unique_ptr<WritableObject>> CreateWithRule(const std::string& path, CommitRule rule) {
  MT_RETURN_IF_ERROR(MakeParents(path));
  if (rule.kind == CommitRule::kCreateOnly && ::access(path.c_str(), F_OK) == 0) {
    return Status::AlreadyExists(path + " already exists");
  }
  RemoveOrphanedTemporaries(path);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 0;; attempt++) {
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".tmp-%016llx", static_cast<unsigned long long>(rng()));
    std::string tmp = path + suffix;
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return WriteError("cannot create " + tmp, errno);
    // Between open and flock another process may take the new file for an
    // orphan and remove it; then it has no link left and we start over.
    struct stat st;
    while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {
    }
    if (::fstat(fd, &st) == 0 && st.st_nlink == 0 && attempt < 8) {
      ::close(fd);
      continue;
    }
    return std::unique_ptr<WritableObject>(new LocalWritable(path, suffix, fd, rule));
  }
}

}  // namespace

Result<std::unique_ptr<WritableObject>> CreateLocalFile(const std::string& path, bool overwrite) {
  return CreateWithRule(path, CommitRule{overwrite ? CommitRule::kOverwrite : CommitRule::kCreateOnly, 0});
}

}  // namespace mt::storage
