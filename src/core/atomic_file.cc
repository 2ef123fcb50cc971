#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "core/open_files.h"

namespace mt {

namespace {

Status Failure(const std::string& what, const std::string& path, int err) {
  if (IsOpenFileLimit(err)) return OpenFileLimitError("cannot write " + path + " (" + what + ")", err);
  const std::string msg = "cannot write " + path + " (" + what + ": " + std::strerror(err) + ")";
  if (err == ENOSPC || err == EIO || err == EDQUOT) return Status::IOError(msg);
  return Status::Usage(msg);
}

}  // namespace

int WriteAll(int fd, std::string_view bytes) {
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    done += static_cast<size_t>(n);
  }
  return 0;
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  return WriteFileAtomically(path, [bytes](const AtomicWrite& write) {
    write(bytes);
    return Status::OK();
  });
}

Status WriteFileAtomically(const std::string& path, const std::function<Status(const AtomicWrite&)>& produce) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, ".tmp-%ld-%08llx", static_cast<long>(::getpid()),
                static_cast<unsigned long long>(rng() & 0xffffffffULL));
  const std::string tmp = path + suffix;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Failure("create", path, errno);
  auto fail = [&](const char* what, int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return Failure(what, path, err);
  };
  int write_err = 0;
  const Status produced = produce([&](std::string_view bytes) {
    if (write_err == 0) write_err = WriteAll(fd, bytes);
    return write_err == 0;
  });
  if (write_err) return fail("write", write_err);
  if (!produced.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return produced;
  }
  // The rename must not make visible a file whose bytes are not on disk yet.
  if (::fsync(fd) != 0 && errno != EINVAL) return fail("fsync", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Failure("close", path, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Failure("rename", path, err);
  }
  return Status::OK();
}

int OpenUnnamedTempFile(const std::string& dir_in, const std::string& stem, std::string* dir_used) {
  std::string dir = dir_in;
  if (dir.empty()) {
    const char* t = std::getenv("TMPDIR");
    dir = t && *t ? t : "/tmp";
  }
  if (dir_used) *dir_used = dir;
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string tmpl = dir + "/.market-tick-" + stem + "-XXXXXX";
  fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return -errno;
  ::unlink(tmpl.c_str());
  return fd;
}

}  // namespace mt
