// `market-tick gcs cp` below the command line: local files to GCS or GCS
// objects to local files, files and (with `recursive`) folders, several at
// once (docs/STORAGE.md says which name each copy gets).
//  - uploads go through GcsStore's writer: the CRC32C of the bytes read is
//    sent with the last request and compared with the object the server
//    stored (a mismatch deletes it); a failed upload leaves no object;
//  - downloads stream into a temporary file beside the target
//    ("NAME.tmp-mtcp-…"), check the CRC32C of the bytes written against the
//    object's, flush them to disk and rename; on any failure the temporary
//    file is removed and the target left as it was. The download holds an
//    flock on its temporary file while it writes: one left by a killed
//    process (nobody holds its flock) goes on the next copy into that
//    directory, whatever PID namespace either process runs in;
//  - everything is planned (sources expanded, names checked) before the first
//    byte moves: a source that matches nothing, an object name that is not a
//    safe relative path (empty parts, "." or ".."), two sources with one
//    target are errors with nothing copied.
// An item that fails does not stop the others (already copied ones stay).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"
#include "storage/gcs_tool.h"

namespace mt::storage {

struct CopyOptions {
  std::vector<std::string> sources;  // local paths, or gs:// URLs (wildcards allowed); one side only
  std::string destination;           // a gs:// URL when the sources are local, else a local path
  bool recursive = false;            // folders too (-r)
  bool no_clobber = false;           // skip targets that exist (-n)
  int jobs = 8;                      // transfers at once (1 to 16: each upload holds a chunk)
  const std::atomic<bool>* cancel = ProcessCancelFlag();
};

struct CopyItem {
  std::string from, to;  // a local path or gs://bucket/name each
  uint64_t bytes = 0;
  uint32_t crc32c = 0;   // of the bytes copied
  bool skipped = false;  // no_clobber and the target existed
  Status status;
};

struct CopyReport {
  std::vector<CopyItem> items;  // in plan order
  Status status;                // the worst item's
};

// Errors: the plan failed (bad or unmatched source, unsafe name, a clash);
// nothing was copied.
Result<CopyReport> RunCopy(GcsBuckets& buckets, const CopyOptions& options);

// Appends everything `in` holds to `obj` in 1 MiB pieces (so memory stays
// bounded whatever the file), checking `cancel` before each piece
// (kCancelled). `*crc32c` gets the CRC32C of the bytes read, to compare with
// the stored object's; `what` names the file in a read error. Neither
// commits nor aborts `obj`: the caller decides (gcs cp, gcs put).
Status StreamFileTo(FILE* in, const std::string& what, WritableObject& obj, const std::atomic<bool>* cancel,
                    uint32_t* crc32c);

// Whether `rel` (a '/'-separated object name part) can name a file below a
// directory: no empty, "." or ".." parts, no NUL.
bool SafeRelativePath(const std::string& rel);

}  // namespace mt::storage
