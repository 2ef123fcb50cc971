// Object storage seen by the pipeline: local disk now, GCS behind the same
// interface. A WritableObject becomes visible under its name only when
// Commit() succeeds (temporary name + rename locally; create-only upload on
// GCS); Abort() or destruction without Commit leaves nothing behind.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace mt::storage {

class WritableObject {
 public:
  virtual ~WritableObject() = default;
  virtual Status Append(std::string_view data) = 0;
  // Makes the object visible. With overwrite=false an existing object is
  // kept and kAlreadyExists returned.
  virtual Status Commit() = 0;
  virtual void Abort() = 0;
  virtual uint64_t bytes_written() const = 0;
  // Ends writing without making the object visible, and lets go of what an
  // open object holds where the store can (a local file's descriptor), so
  // many objects can wait for one Commit each. Commit() or Abort() follows.
  // Stores whose commit is where the bytes go (GCS) do nothing here.
  virtual Status Seal() { return Status::OK(); }
};

struct ObjectInfo {
  std::string name;
  uint64_t size = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual Result<std::unique_ptr<WritableObject>> Create(const std::string& name,
                                                        bool overwrite) = 0;
  virtual Result<bool> Exists(const std::string& name) = 0;
  virtual Result<std::string> Read(const std::string& name) = 0;
  // `length` bytes of `name` from `offset` (to the end when length < 0);
  // fewer when the object ends sooner. The default reads the whole object;
  // stores override it with a ranged read (pread locally, an HTTP Range
  // request on GCS).
  virtual Result<std::string> ReadRange(const std::string& name, uint64_t offset, int64_t length);
  // The last min(n, size) bytes of `name` and its size, in one request
  // (Parquet footers: an HTTP suffix range on GCS). Default: Read().
  struct Tail {
    std::string bytes;
    uint64_t object_size = 0;
  };
  virtual Result<Tail> ReadTail(const std::string& name, uint64_t n);
  virtual Result<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  // Human-readable location of `name` (a path or gs:// URI) for messages.
  virtual std::string Describe(const std::string& name) const = 0;
  // A local directory for temporary files as big as the output (the
  // converter's spill of a grouped file): beside a local store's files;
  // "" (the default, GCS) means $TMPDIR.
  virtual std::string SpillDirectory() const { return ""; }
  // True when many sealed objects commit faster together: SyncSealed() once,
  // then Commit() each (local: one syncfs instead of an fsync per file).
  virtual bool BatchesCommits() const { return false; }
  // Makes the bytes of every object sealed so far durable, so their Commit()
  // only has to rename them.
  virtual Status SyncSealed() { return Status::OK(); }
};

// A store rooted at a local directory. Names use '/' separators.
std::unique_ptr<ObjectStore> NewLocalStore(const std::string& root);

// A single local file written through the same temp-and-rename protocol;
// used for `--output FILE.parquet`.
Result<std::unique_ptr<WritableObject>> CreateLocalFile(const std::string& path, bool overwrite);

}  // namespace mt::storage
