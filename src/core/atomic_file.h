// A local file written whole or not at all: the bytes go to a temporary
// file beside it ("{path}.tmp-{pid}-{random}"), which is flushed to disk and
// renamed over `path`; on any failure the temporary file is removed and
// `path` is left as it was. For run summaries and reports, whose readers
// must never see a half-written or empty file.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace mt {

// Errors name the path and the system's reason: a full disk or an I/O error
// is kIOError (a rerun may succeed), anything else (a directory at `path`,
// a missing parent, no permission) kUsage (the path must change).
Status WriteFileAtomically(const std::string& path, std::string_view bytes);

// As above, for a file too large to be one string in memory: `produce`
// writes its bytes in parts through the function it is given, which returns
// false once a write has failed (the error is then the write's). A status
// that is not OK from `produce` is returned as it is. Either way the
// temporary file is removed and `path` is left as it was.
using AtomicWrite = std::function<bool(std::string_view)>;
Status WriteFileAtomically(const std::string& path, const std::function<Status(const AtomicWrite&)>& produce);

// Writes all of BYTES to FD, again after a short write or EINTR: 0, else the
// errno of the write that failed (the caller names the file).
int WriteAll(int fd, std::string_view bytes);

// A temporary file for scratch data that must never outlive the process:
// opened with O_TMPFILE (no name at all), else, on file systems without it,
// created as "{dir}/.market-tick-{stem}-XXXXXX" and unlinked at once. An
// empty `dir` means $TMPDIR, else /tmp. Returns the descriptor (the caller
// closes it), else minus the errno of the failed creation; *dir_used is
// set to the directory tried, so the caller's message can name it.
int OpenUnnamedTempFile(const std::string& dir, const std::string& stem, std::string* dir_used);

}  // namespace mt
