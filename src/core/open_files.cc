#include "core/open_files.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "core/log.h"

namespace mt {

uint64_t OpenFileLimit() {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 0;
  return static_cast<uint64_t>(rl.rlim_cur);
}

int OpenFileRoom(int per_item, int extra_reserve) {
  const uint64_t limit = OpenFileLimit();
  if (limit == 0) return INT_MAX;
  const uint64_t per = static_cast<uint64_t>(std::max(1, per_item));
  const uint64_t reserve = static_cast<uint64_t>(kOpenFileReserve + std::max(0, extra_reserve));
  const uint64_t room = limit > reserve + per ? (limit - reserve) / per : 1;
  return static_cast<int>(std::min<uint64_t>(room, INT_MAX));
}

int CapToOpenFileLimit(int wanted, int per_item, const std::string& flag, const std::string& unit, int extra_reserve) {
  const int room = OpenFileRoom(per_item, extra_reserve);
  if (wanted < 1 || wanted <= room) return wanted;
  log::Warn(flag + " " + std::to_string(wanted) + ": the open-file limit (ulimit -n) of " +
            std::to_string(OpenFileLimit()) + " leaves room for " + std::to_string(room) + " " + unit +
            "; running that many (raise the limit for more)");
  return room;
}

bool IsOpenFileLimit(int err) { return err == EMFILE || err == ENFILE; }

Status OpenFileLimitError(const std::string& what, int err) {
  const std::string msg = what + ": " + std::strerror(err);
  if (err == EMFILE) {
    return Status::Usage(msg +
                         " (the limit of open files per process is reached: raise it with 'ulimit -n', "
                         "or run fewer jobs at once)");
  }
  return Status::IOError(msg +
                         " (the system's table of open files is full, not this process's 'ulimit -n': "
                         "run again when other programs hold fewer files, or run fewer jobs at once)");
}

Status TempFileError(const std::string& dir, const std::string& what, int err, const std::string& hint) {
  const std::string where = "cannot create a temporary file in " + dir + " for " + what;
  if (IsOpenFileLimit(err)) return OpenFileLimitError(where, err);
  std::string msg = where + " (" + std::strerror(err) + "; " + hint + ")";
  if (err == ENOENT || err == ENOTDIR || err == EACCES || err == EPERM || err == EROFS) return Status::Usage(std::move(msg));
  return Status::IOError(std::move(msg));
}

}  // namespace mt
