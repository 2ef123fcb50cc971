#include "core/open_files.h"

#include <sys/resource.h>

#include <algorithm>

#include "core/log.h"

namespace mt {

int CapToOpenFileLimit(int wanted, int per_item, const std::string& flag, const std::string& unit) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return wanted;
  const rlim_t per = static_cast<rlim_t>(std::max(1, per_item));
  const rlim_t reserve = static_cast<rlim_t>(kOpenFileReserve);
  const rlim_t room = rl.rlim_cur > reserve + per ? (rl.rlim_cur - reserve) / per : 1;
  if (wanted < 1 || static_cast<rlim_t>(wanted) <= room) return wanted;
  log::Warn(flag + " " + std::to_string(wanted) + ": the open-file limit (ulimit -n) of " +
            std::to_string(rl.rlim_cur) + " leaves room for " + std::to_string(room) + " " + unit +
            "; running that many (raise the limit for more)");
  return static_cast<int>(room);
}

}  // namespace mt
