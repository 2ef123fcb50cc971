#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <unordered_map>

#include "storage/layout.h"
#include "storage/object_store.h"

namespace mt::storage {

namespace fs = std::filesystem;

namespace {

std::string ErrnoText() { return std::strerror(errno); }

// Writes to "{path}.tmp-{random}" in the same directory, then renames.
class LocalWritable final : public WritableObject {
 public:
  LocalWritable(std::string path, std::string tmp, int fd, bool overwrite)
      : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd), overwrite_(overwrite) {}
  ~LocalWritable() override { Abort(); }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return Status::Internal("append after commit/abort: " + path_);
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::IOError("write " + tmp_ + ": " + ErrnoText());
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
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

  Status Seal() override {
    if (fd_ < 0) return Status::Internal("seal after commit/abort: " + path_);
    (void)::sync_file_range(fd_, static_cast<off_t>(flushed_), 0, SYNC_FILE_RANGE_WRITE);
    ::close(fd_);
    fd_ = -1;
    sealed_ = true;
    return Status::OK();
  }

  Status Commit() override {
    if (!sealed_) {
      if (fd_ < 0) return Status::Internal("commit twice: " + path_);
      if (::fsync(fd_) != 0 && errno != EINVAL) {
        return Status::IOError("fsync " + tmp_ + ": " + ErrnoText());
      }
      ::close(fd_);
      fd_ = -1;
    } else if (committed_) {
      return Status::Internal("commit twice: " + path_);
    }
    sealed_ = false;
    if (overwrite_) {
      if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
        const Status st = Status::IOError("rename " + tmp_ + " -> " + path_ + ": " + ErrnoText());
        ::unlink(tmp_.c_str());
        return st;
      }
    } else {
      // Create-only, like GCS ifGenerationMatch=0: renameat2(RENAME_NOREPLACE)
      // is atomic; where the file system lacks it, link() + unlink() (link
      // fails with EEXIST instead of replacing).
      if (::renameat2(AT_FDCWD, tmp_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE) == 0) {
        committed_ = true;
        return Status::OK();
      }
      if (errno == EEXIST) {
        ::unlink(tmp_.c_str());
        return Status::AlreadyExists(path_ + " already exists");
      }
      if (::link(tmp_.c_str(), path_.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp_.c_str());
        if (e == EEXIST) return Status::AlreadyExists(path_ + " already exists");
        return Status::IOError("link " + tmp_ + " -> " + path_ + ": " + std::strerror(e));
      }
      ::unlink(tmp_.c_str());
    }
    committed_ = true;
    return Status::OK();
  }

  void Abort() override {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (!committed_ && !tmp_.empty()) {
      ::unlink(tmp_.c_str());
      tmp_.clear();
    }
  }
  uint64_t bytes_written() const override { return bytes_; }

 private:
  std::string path_, tmp_;
  int fd_;
  bool overwrite_;
  bool committed_ = false;
  bool sealed_ = false;  // written and closed; its bytes made durable by the store's SyncSealed()
  uint64_t bytes_ = 0;
  uint64_t flushed_ = 0;  // bytes whose writeback was started
  static constexpr uint64_t kWritebackBytes = 4u << 20;
};

// The temporary files ("{name}.tmp-*") found in a directory when this
// process first wrote there, by object file name.
void RemoveStaleTemps(const std::string& path) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::unordered_map<std::string, std::vector<fs::path>>> stale_by_dir;
  const fs::path p(path);
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::vector<fs::path> remove;
  {
    std::lock_guard<std::mutex> l(mu);
    auto [it, fresh] = stale_by_dir.try_emplace(dir.string());
    if (fresh) {
      std::error_code ec;
      for (auto d = fs::directory_iterator(dir, ec); !ec && d != fs::directory_iterator(); d.increment(ec)) {
        const std::string f = d->path().filename().string();
        const size_t at = f.rfind(".tmp-");
        if (at != std::string::npos && at > 0) it->second[f.substr(0, at)].push_back(d->path());
      }
    }
    auto s = it->second.find(p.filename().string());
    if (s != it->second.end()) {
      remove = std::move(s->second);
      it->second.erase(s);
    }
  }
  std::error_code ec;
  for (const auto& r : remove) fs::remove(r, ec);
}

Status MakeParents(const std::string& path) {
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) return Status::IOError("cannot create directory " + parent.string() + ": " + ec.message());
  return Status::OK();
}

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

// Opens `path`, asks `pick(size)` for the (offset, length) to read, and
// preads it into *out: one open, one fstat, one pread for ranged and tail reads.
template <typename Pick>
Status ReadSlice(const std::string& path, std::string* out, Pick pick) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return OpenError(path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const Status s = Status::IOError("stat " + path + ": " + ErrnoText());
    ::close(fd);
    return s;
  }
  const auto [offset, n] = pick(static_cast<uint64_t>(st.st_size));
  const Status s = PreadAll(fd, path, offset, n, out);
  ::close(fd);
  return s;
}

class LocalStore final : public ObjectStore {
 public:
  explicit LocalStore(std::string root) : root_(std::move(root)) {}

  Result<std::unique_ptr<WritableObject>> Create(const std::string& name, bool overwrite) override {
    // Names come from storage/layout.h, which escapes whatever the input
    // holds; this refuses anything else that could leave the root.
    if (!IsSafeObjectName(name)) {
      return Status::InvalidInput("refusing object name '" + name +
                                  "': not a relative path of printable components without '..'");
    }
    return CreateLocalFile(Path(name), overwrite);
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
    return std::string(std::istreambuf_iterator<char>(in), {});
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
  // One open, one fstat and one pread: a footer check costs no more.
  Result<Tail> ReadTail(const std::string& name, uint64_t n) override {
    Tail t;
    MT_RETURN_IF_ERROR(ReadSlice(Path(name), &t.bytes, [&](uint64_t size) {
      t.object_size = size;
      const uint64_t len = std::min<uint64_t>(n, size);
      return std::pair<uint64_t, uint64_t>(size - len, len);
    }));
    return t;
  }
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    std::error_code ec;
    const fs::path base(root_);
    // Walk the deepest directory the prefix names, then filter by prefix.
    std::string dir = prefix.substr(0, prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/'));
    const fs::path start = dir.empty() ? base : base / dir;
    if (!fs::exists(start, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(start, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::string rel = fs::relative(it->path(), base, ec).generic_string();
      if (rel.rfind(prefix, 0) != 0 || rel.find(".tmp-") != std::string::npos) continue;
      out.push_back({rel, static_cast<uint64_t>(it->file_size(ec))});
    }
    if (ec) return Status::IOError("list " + start.string() + ": " + ec.message());
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return out;
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

 private:
  std::string Path(const std::string& name) const {
    return root_.empty() || root_ == "." ? name : root_ + "/" + name;
  }
  std::string root_;
};

}  // namespace

std::unique_ptr<ObjectStore> NewLocalStore(const std::string& root) {
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  return std::make_unique<LocalStore>(r);
}

Result<std::unique_ptr<WritableObject>> CreateLocalFile(const std::string& path, bool overwrite) {
  MT_RETURN_IF_ERROR(MakeParents(path));
  if (!overwrite && ::access(path.c_str(), F_OK) == 0) {
    return Status::AlreadyExists(path + " already exists");
  }
  // Temporary files of an earlier run killed mid-write (kill -9, preemption)
  // are removed: only one writer works on a given object at a time. Each
  // directory is listed once per process (a grouped file writes thousands of
  // objects into one directory; listing it for each was quadratic).
  RemoveStaleTemps(path);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".tmp-%016llx", static_cast<unsigned long long>(rng()));
  std::string tmp = path + suffix;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + ErrnoText());
  return std::unique_ptr<WritableObject>(new LocalWritable(path, std::move(tmp), fd, overwrite));
}

}  // namespace mt::storage
