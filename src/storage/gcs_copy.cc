#include "storage/gcs_copy.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "core/atomic_file.h"
#include "core/crc32c.h"
#include "core/exit_code.h"
#include "core/log.h"
#include "core/open_files.h"
#include "core/parallel.h"

namespace mt::storage {

namespace fs = std::filesystem;

namespace {

struct Transfer {
  std::string local;     // the file
  GcsStore* store = nullptr;
  std::string bucket, object;
  GcsObject listed;      // downloads: the object as listed
};

bool IsGs(const std::string& s) { return s.rfind("gs://", 0) == 0; }

bool IsDir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string Basename(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  const size_t slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

std::string Join(const std::string& dir, const std::string& rel) {
  if (dir.empty()) return rel;
  return dir.back() == '/' ? dir + rel : dir + "/" + rel;
}

Status LocalError(const std::string& what, const std::string& path, int err) {
  const std::string msg = what + " " + path + ": " + std::strerror(err);
  if (err == ENOSPC || err == EIO || err == EDQUOT) return Status::IOError(msg);
  return Status::Usage(msg);
}

// ---------------------------------------------------------------- planning

// Local files under the sources, with their object names.
Result<std::vector<Transfer>> PlanUpload(GcsBuckets& buckets, const CopyOptions& o) {
  MT_ASSIGN_OR_RETURN(const GcsUrl dest, ParseGcsUrl(o.destination));
  if (HasWildcard(dest.object)) return Status::Usage("the destination " + o.destination + " has a wildcard");
  MT_ASSIGN_OR_RETURN(GcsStore * store, buckets.Get(dest.bucket));
  const bool dest_dir = dest.object.empty() || dest.object.back() == '/' || o.sources.size() > 1;
  const std::string dir_prefix = dest.object.empty() || dest.object.back() == '/' ? dest.object : dest.object + "/";
  std::vector<Transfer> out;
  for (const auto& src : o.sources) {
    if (IsGs(src)) return Status::Usage("copies between buckets are not supported: download, then upload");
    struct stat st;
    if (::stat(src.c_str(), &st) != 0) return LocalError("cannot read", src, errno);
    if (S_ISREG(st.st_mode)) {
      out.push_back({src, store, dest.bucket, dest_dir ? dir_prefix + Basename(src) : dest.object, {}});
      continue;
    }
    if (!S_ISDIR(st.st_mode)) return Status::Usage(src + " is neither a file nor a directory");
    if (!o.recursive) return Status::Usage(src + " is a directory: use cp -r to copy what it holds");
    const std::string base = dest_dir ? dir_prefix + Basename(src) + "/" : dir_prefix;
    std::error_code ec;
    std::vector<std::string> files;
    // Symbolic links to directories are not followed (one pointing up the
    // tree would be copied without end): each is skipped with a note. Links
    // to files are copied as the files they point to.
    for (auto it = fs::recursive_directory_iterator(src, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_symlink(type_ec) && it->is_directory(type_ec)) {
        log::Warn("skipping " + it->path().string() + ": a symbolic link to a directory (not followed)");
        continue;
      }
      if (it->is_regular_file(ec)) files.push_back(it->path().lexically_relative(src).generic_string());
    }
    if (ec) return LocalError("cannot list", src, ec.value());
    std::sort(files.begin(), files.end());
    for (const auto& rel : files) out.push_back({Join(src, rel), store, dest.bucket, base + rel, {}});
  }
  return out;
}

// Objects the sources name, with their local paths below the destination.
Result<std::vector<Transfer>> PlanDownload(GcsBuckets& buckets, const CopyOptions& o) {
  if (IsGs(o.destination)) return Status::Usage("copies between buckets are not supported: download, then upload");
  struct Source {
    GcsStore* store;
    GcsUrl url;
    UrlMatches m;
  };
  std::vector<Source> sources;
  size_t named = 0;
  for (const auto& s : o.sources) {
    if (!IsGs(s)) return Status::Usage("'" + s + "' and " + o.destination + " are both local: use cp(1)");
    MT_ASSIGN_OR_RETURN(GcsUrl url, ParseGcsUrl(s));
    MT_ASSIGN_OR_RETURN(GcsStore * store, buckets.Get(url.bucket));
    MT_ASSIGN_OR_RETURN(UrlMatches m, ExpandUrl(*store, url.object));
    if (!o.recursive && !m.dirs.empty()) {
      if (m.objects.empty()) return Status::Usage(s + " names a folder: use cp -r to copy the objects below it");
      for (const auto& d : m.dirs) log::Warn("omitting folder gs://" + url.bucket + "/" + d + " (use cp -r to copy it)");
      m.dirs.clear();
    }
    if (m.objects.empty() && m.dirs.empty()) return Status::NotFound(s + " matched no objects");
    named += m.objects.size() + m.dirs.size();
    sources.push_back({store, std::move(url), std::move(m)});
  }
  const std::string& dest = o.destination;
  const bool dest_dir = dest.back() == '/' || IsDir(dest) || named > 1;
  std::vector<Transfer> out;
  // Every local target is `dest` itself (one object onto a file name) or
  // dest/REL with REL a safe relative path: no name can reach outside dest,
  // whatever part of it (the object's, a matched folder's own last part)
  // REL came from. Checked for all before anything is copied.
  auto add = [&](const Source& s, const GcsObject& obj, const std::string& rel) -> Status {
    if (rel.empty()) {
      out.push_back({dest, s.store, s.url.bucket, obj.name, obj});
      return Status::OK();
    }
    if (!SafeRelativePath(rel)) {
      return Status::Usage("gs://" + s.url.bucket + "/" + obj.name +
                           " cannot be copied below a local directory (its name has an empty, '.' or '..' part)");
    }
    out.push_back({Join(dest, rel), s.store, s.url.bucket, obj.name, obj});
    return Status::OK();
  };
  for (const auto& s : sources) {
    for (const auto& obj : s.m.objects) {
      if (obj.name.back() == '/') continue;  // a folder placeholder: no file
      const std::string base = Basename(obj.name);
      if (!SafeRelativePath(base)) {
        return Status::Usage("gs://" + s.url.bucket + "/" + obj.name + " cannot be a local file name");
      }
      MT_RETURN_IF_ERROR(add(s, obj, dest_dir ? base : ""));
    }
    for (const auto& d : s.m.dirs) {
      // The folder's own last part ("gs://b/.." or a wildcard matching "../") counts as much as the rest.
      const std::string base = dest_dir ? (d.empty() ? s.url.bucket : Basename(d)) + "/" : "";
      MT_ASSIGN_OR_RETURN(std::vector<GcsObject> under, s.store->ListObjects(d));
      for (const auto& obj : under) {
        const std::string rel = obj.name.substr(d.size());
        if (rel.empty() || rel.back() == '/') continue;  // folder placeholders
        MT_RETURN_IF_ERROR(add(s, obj, base + rel));
      }
    }
  }
  if (out.empty()) return Status::NotFound("nothing to copy: the sources name only folder placeholders");
  return out;
}

// ---------------------------------------------------------------- transfers

Status Upload(const Transfer& t, const CopyOptions& o, CopyItem* item) {
  if (o.no_clobber) {
    MT_ASSIGN_OR_RETURN(bool exists, t.store->Exists(t.object));
    if (exists) {
      item->skipped = true;
      return Status::OK();
    }
  }
  FILE* in = std::fopen(t.local.c_str(), "rb");
  if (!in) return LocalError("cannot read", t.local, errno);
  auto obj = t.store->Create(t.object, !o.no_clobber);
  if (!obj.ok()) {
    std::fclose(in);
    return obj.status();
  }
  uint32_t crc = 0;
  Status st = StreamFileTo(in, t.local, **obj, o.cancel, &crc);
  std::fclose(in);
  if (st.ok()) st = (*obj)->Commit();  // compares our CRC32C with the stored object's
  if (!st.ok()) {
    (*obj)->Abort();
    if (st.code() == Status::Code::kAlreadyExists && o.no_clobber) {
      item->skipped = true;
      return Status::OK();
    }
    return st;
  }
  item->bytes = (*obj)->bytes_written();
  item->crc32c = crc;
  return Status::OK();
}

// Temporary files of downloads killed before they could remove their own
// ("NAME.tmp-mtcp-PID-RANDOM"), swept once per directory per run. A download
// holds an flock on its temporary file from creation until it is renamed or
// removed, and the kernel drops it when the process dies however it dies; so
// a file whose flock can be taken has no writer and goes, one whose flock is
// held stays. The PID in the name is only for people: a PID says nothing
// across PID namespaces (containers sharing a volume), where another
// container's live writer can have a PID that is free, or taken, here.
class TempSweeper {
 public:
  void Sweep(const fs::path& dir) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!done_.insert(dir.string()).second) return;
    }
    std::error_code ec;
    for (auto it = fs::directory_iterator(dir.empty() ? fs::path(".") : dir, ec);
         !ec && it != fs::directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.rfind(".tmp-mtcp-") == std::string::npos) continue;
      // Not followed: a symbolic link is nobody's temporary file.
      const int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
      if (fd < 0) continue;
      struct stat st;
      // The flock of this process's own downloads conflicts too (another open
      // file description), so they are never taken for leftovers.
      if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ::flock(fd, LOCK_EX | LOCK_NB) == 0) {
        std::error_code rm;
        if (fs::remove(it->path(), rm)) log::Info("removed " + it->path().string() + ", left by an interrupted copy");
      }
      ::close(fd);
    }
  }

 private:
  std::mutex mu_;
  std::set<std::string> done_;
};

Status Download(const Transfer& t, const CopyOptions& o, CopyItem* item, TempSweeper* sweeper) {
  if (o.no_clobber && ::access(t.local.c_str(), F_OK) == 0) {
    item->skipped = true;
    return Status::OK();
  }
  const fs::path target(t.local);
  if (target.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) return LocalError("cannot create the directory", target.parent_path().string(), ec.value());
  }
  sweeper->Sweep(target.parent_path());
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0; attempt++) {
    char suffix[64];
    std::snprintf(suffix, sizeof suffix, ".tmp-mtcp-%ld-%08llx", static_cast<long>(::getpid()),
                  static_cast<unsigned long long>(rng() & 0xffffffffULL));
    tmp = t.local + suffix;
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return LocalError("cannot create", tmp, errno);
    // Held until the file is renamed or removed: what tells another
    // process's sweep (TempSweeper) that this file has a live writer. A sweep
    // that came between open and flock took the file for a leftover and
    // removed it (no link left): start over under a new name.
    while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {
    }
    struct stat tst;
    if (::fstat(fd, &tst) == 0 && tst.st_nlink == 0) {
      ::close(fd);
      fd = -1;
      if (attempt >= 8) return LocalError("cannot keep", tmp, ENOENT);
    }
  }
  uint32_t crc = 0;
  uint64_t bytes = 0;
  int64_t generation = 0;
  Status st = t.store->ReadTo(
      t.object, 0, -1,
      [&](const char* d, size_t n) {
        if (o.cancel && o.cancel->load()) return Status::Cancelled("interrupted");
        if (const int err = WriteAll(fd, std::string_view(d, n))) return LocalError("cannot write", tmp, err);
        crc = Crc32cExtend(crc, d, n);
        bytes += n;
        return Status::OK();
      },
      &generation);
  // The read itself is checked against the x-goog-hash of its response; this
  // checks the bytes that reached the file against the listing as well
  // (unless the object was replaced in between: another generation).
  if (st.ok() && t.listed.has_crc32c && generation == t.listed.generation && crc != t.listed.crc32c) {
    st = Status::DataLoss("gs://" + t.bucket + "/" + t.object + ": CRC32C of the bytes written (" +
                          Crc32cToBase64(crc) + ") is not the object's (" + Crc32cToBase64(t.listed.crc32c) + ")");
  }
  if (st.ok() && ::fsync(fd) != 0 && errno != EINVAL) st = LocalError("cannot flush", tmp, errno);
  // Renamed before it is closed: closing drops the flock that marks the
  // temporary file live, and a sweep of another process could take the file
  // for abandoned and remove it between the close and the rename.
  if (st.ok() && ::rename(tmp.c_str(), t.local.c_str()) != 0) st = LocalError("cannot rename onto", t.local, errno);
  if (::close(fd) != 0 && st.ok()) st = LocalError("cannot close", t.local, errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  item->bytes = bytes;
  item->crc32c = crc;
  return Status::OK();
}

}  // namespace

Status StreamFileTo(FILE* in, const std::string& what, WritableObject& obj, const std::atomic<bool>* cancel,
                    uint32_t* crc32c) {
  std::vector<char> buf(1 << 20);
  uint32_t crc = 0;
  Status st;
  size_t n;
  while (st.ok() && (n = std::fread(buf.data(), 1, buf.size(), in)) > 0) {
    if (cancel && cancel->load()) st = Status::Cancelled("interrupted");
    if (st.ok()) st = obj.Append(std::string_view(buf.data(), n));
    crc = Crc32cExtend(crc, buf.data(), n);
  }
  if (st.ok() && std::ferror(in)) st = Status::IOError("read " + what + " failed");
  *crc32c = crc;
  return st;
}

bool SafeRelativePath(const std::string& rel) {
  if (rel.empty() || rel.find('\0') != std::string::npos) return false;
  size_t start = 0;
  while (true) {
    const size_t slash = rel.find('/', start);
    const std::string part = rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
}

Result<CopyReport> RunCopy(GcsBuckets& buckets, const CopyOptions& o) {
  if (o.sources.empty() || o.destination.empty()) return Status::Usage("cp needs a source and a destination");
  const bool upload = IsGs(o.destination);
  MT_ASSIGN_OR_RETURN(std::vector<Transfer> plan, upload ? PlanUpload(buckets, o) : PlanDownload(buckets, o));
  // Two sources onto one target would leave whichever finished last.
  std::map<std::string, const Transfer*> targets;
  for (const auto& t : plan) {
    const std::string to = upload ? "gs://" + t.bucket + "/" + t.object : fs::path(t.local).lexically_normal().string();
    auto [it, fresh] = targets.emplace(to, &t);
    if (!fresh) {
      const Transfer& a = *it->second;
      return Status::Usage("two sources would be copied to " + to + ": " +
                           (upload ? a.local + " and " + t.local
                                   : "gs://" + a.bucket + "/" + a.object + " and gs://" + t.bucket + "/" + t.object));
    }
  }
  CopyReport report;
  report.items.resize(plan.size());
  for (size_t i = 0; i < plan.size(); i++) {
    const Transfer& t = plan[i];
    const std::string url = "gs://" + t.bucket + "/" + t.object;
    report.items[i].from = upload ? t.local : url;
    report.items[i].to = upload ? url : t.local;
    report.items[i].status = Status::Cancelled("interrupted before it started");
  }
  TempSweeper sweeper;
  // A transfer holds its connection, the HTTP library's wake-up pair and
  // the local file: more at once than the open-file limit leaves room for
  // fail at random with EMFILE.
  constexpr int kDescriptorsPerTransfer = 4;
  const int jobs =
      CapToOpenFileLimit(std::clamp(o.jobs, 1, 16), kDescriptorsPerTransfer, "--jobs", "transfers at once");
  const Status run = ParallelFor(plan.size(), {jobs, o.cancel}, [&](size_t i) {
    CopyItem& item = report.items[i];
    item.status = upload ? Upload(plan[i], o, &item) : Download(plan[i], o, &item, &sweeper);
    if (!item.status.ok()) {
      item.status = item.status.WithContext("copy " + item.from + " to " + item.to);
      log::Error(item.status.message());
    }
    return Status::OK();  // one failure does not stop the others
  });
  for (const auto& item : report.items) report.status = WorseStatus(report.status, item.status);
  report.status = WorseStatus(report.status, run);
  return report;
}

}  // namespace mt::storage
