// How many things may run at once within the process's open-file limit.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace mt {

// Descriptors kept for the process itself beside the things that run at
// once: standard streams, the log, the HTTP library's shared state, the
// clients of planning and listing. What a job holds beyond that (the one
// grouped file being split) is its `extra_reserve`.
inline constexpr int kOpenFileReserve = 48;

// `wanted` at once, each holding up to `per_item` descriptors, may pass the
// open-file limit (RLIMIT_NOFILE's soft limit, which main raises to the hard
// one); then items fail at random with EMFILE. So when fewer fit beside
// kOpenFileReserve and `extra_reserve`, returns that many (at least 1) after
// one warning:
// "FLAG WANTED: the open-file limit (ulimit -n) of L leaves room for N UNIT;
// running that many (raise the limit for more)". Else, and when the limit
// is unlimited or unknown, returns `wanted` and says nothing.
int CapToOpenFileLimit(int wanted, int per_item, const std::string& flag, const std::string& unit,
                       int extra_reserve = 0);
// How many items of `per_item` descriptors the limit leaves room for beside
// the reserve (at least 1; INT_MAX when unlimited or unknown), said nowhere.
int OpenFileRoom(int per_item, int extra_reserve = 0);
// This process's open-file limit (`ulimit -n`); 0 when unlimited or unknown.
uint64_t OpenFileLimit();

// True for EMFILE (this process's open-file limit, `ulimit -n`) and ENFILE
// (the system's table of open files).
bool IsOpenFileLimit(int err);

// A descriptor that could not be opened for `what` because of an open-file
// limit (IsOpenFileLimit(err)): "WHAT: STRERROR (HINT)", the hint naming the
// limit and what to do, not where the file was to go (no other directory
// helps). EMFILE is kUsage: every rerun with the same limit and work hits it
// again (exit 2); ENFILE is kIOError (retryable): the system's table is
// shared with everything else running and clears up.
Status OpenFileLimitError(const std::string& what, int err);

// The error of a temporary file for `what` that could not be created in
// `dir` (OpenUnnamedTempFile returned -err): an open-file limit as
// OpenFileLimitError says it; else "cannot create a temporary file in DIR
// for WHAT (STRERROR; HINT)", kUsage when the directory is missing or not
// writable (it stays so on a rerun), kIOError otherwise (a full disk clears
// up).
Status TempFileError(const std::string& dir, const std::string& what, int err, const std::string& hint);

}  // namespace mt
