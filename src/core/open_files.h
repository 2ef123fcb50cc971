// How many things may run at once within the process's open-file limit.
#pragma once

#include <string>

namespace mt {

// Descriptors kept for the process itself beside the things that run at
// once: standard streams, the log, the HTTP library, the one grouped file
// being split.
inline constexpr int kOpenFileReserve = 48;

// `wanted` at once, each holding up to `per_item` descriptors, may pass the
// open-file limit (RLIMIT_NOFILE's soft limit, which main raises to the hard
// one); then items fail at random with EMFILE. So when fewer fit beside
// kOpenFileReserve, returns that many (at least 1) after one warning:
// "FLAG WANTED: the open-file limit (ulimit -n) of L leaves room for N UNIT;
// running that many (raise the limit for more)". Else, and when the limit
// is unlimited or unknown, returns `wanted` and says nothing.
int CapToOpenFileLimit(int wanted, int per_item, const std::string& flag, const std::string& unit);

}  // namespace mt
