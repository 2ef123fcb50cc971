// Object storage seen by the pipeline: local disk now, GCS behind the same
// interface. A WritableObject becomes visible under its name only when
// Commit() succeeds (temporary name + rename locally; create-only upload on
// GCS); Abort() or destruction without Commit leaves nothing behind.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "storage/layout.h"

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
  // One object read in several ranges that must all come from the same
  // version (ReadRangeOfVersion), one RangedRead per read of the object.
  struct RangedRead {
    int64_t version = 0;  // 0 until the first range sets it
    // Stores that keep a checksum of each object (GCS): the CRC32C of the
    // bytes read in order from offset 0 so far, and how many; compared with
    // the object's once a range reaches its end. A range that does not
    // start where the one before ended stops the check for this read.
    uint64_t next = 0;
    uint32_t crc32c = 0;
    bool in_order = true;
  };
  // ReadRange of one version of `name`: with read->version 0 the read takes
  // the version it finds and sets it; with another value it reads that
  // version only, and fails with kUnavailable (ReplacedWhileRead: read it
  // again from its start) when `name` is no longer it. A range that ends
  // the object (fewer bytes than `length`, or length < 0) read in order from
  // offset 0 is where a store with checksums compares the object's with the
  // bytes read: a mismatch is net::ChecksumMismatch (retryable, naming the
  // object). The default is ReadRange without either check (stores that
  // cannot tell versions).
  virtual Result<std::string> ReadRangeOfVersion(const std::string& name, uint64_t offset, int64_t length,
                                                 RangedRead* read) {
    return ReadRange(name, offset, length);
  }
  // The last min(n, size) bytes of `name` and its size, in one request
  // (Parquet footers: an HTTP suffix range on GCS). Default: Read().
  struct Tail {
    std::string bytes;
    uint64_t object_size = 0;
    // The version read, as ReadRangeOfVersion names versions (0: the store
    // does not tell), so later ranges can be read from the same version.
    int64_t version = 0;
  };
  virtual Result<Tail> ReadTail(const std::string& name, uint64_t n);
  // Every object whose name starts with `prefix`, in name order (bytes
  // compared unsigned), each given to `each` as the store reads them: locally
  // a directory at a time (its entries sorted in bounded memory), on GCS a
  // page of the listing at a time. So what a listing holds is a page, not
  // every object under the prefix (a day of a store may hold millions).
  // A status other than OK from `each` stops the listing and is returned.
  virtual Status ListEach(const std::string& prefix, const std::function<Status(ObjectInfo&&)>& each) = 0;
  // ListEach gathered in a vector, for listings known to be small.
  Result<std::vector<ObjectInfo>> List(const std::string& prefix);

  // Read-modify-write without losing a concurrent writer's change: read the
  // object with the generation it had, then write through
  // CreateIfGeneration(name, that generation). The write commits only if
  // nobody replaced the object in between; otherwise Commit returns
  // kAlreadyExists, the object stays as the other writer left it, and the
  // caller reads again and retries.
  // A generation identifies one version of an object: on GCS the object's
  // generation number; locally a fingerprint of the file (inode, size, times).
  // 0 means "no such object".
  struct Versioned {
    std::string bytes;
    int64_t generation = 0;  // 0: the object does not exist (bytes empty)
  };
  // The whole object and its generation; a missing object is not an error.
  // Default: kInternal (a store without conditional writes).
  virtual Result<Versioned> ReadVersioned(const std::string& name);
  // A writer whose Commit replaces `name` only if it is still at
  // `generation` (0: only if it does not exist yet). Default: kInternal.
  virtual Result<std::unique_ptr<WritableObject>> CreateIfGeneration(const std::string& name, int64_t generation);
  // Human-readable location of `name` (a path or gs:// URI) for messages.
  virtual std::string Describe(const std::string& name) const = 0;
  // Whether objects can be written at all, checked before a run starts: a
  // local root that cannot be created or written (permission denied, not a
  // directory, a read-only file system) is kUsage naming the path, because
  // no rerun fixes it. Default: OK (GCS refuses with 403 per request, which
  // is permanent already).
  virtual Status CheckWritable() { return Status::OK(); }
  // A local directory for temporary files as big as the output (the
  // converter's spill of a grouped file): beside a local store's files;
  // "" (the default, GCS) means $TMPDIR.
  virtual std::string SpillDirectory() const { return ""; }
  // Descriptors one object being written holds open, which a job counts
  // against the open-file limit for each writer it runs at once: its file
  // (the default, local); on GCS the upload's connection and the HTTP
  // library's wake-up pair.
  virtual int DescriptorsPerWrite() const { return 1; }
  // True when a read comes over a network, so that the same range read
  // again may give other bytes (a transfer damaged on its way); false (the
  // default, local files) when it gives the same ones.
  virtual bool ReadsOverNetwork() const { return false; }
  // True when many sealed objects commit faster together: SyncSealed() once,
  // then Commit() each (local: one syncfs instead of an fsync per file).
  virtual bool BatchesCommits() const { return false; }
  // Makes the bytes of every object sealed so far durable, so their Commit()
  // only has to rename them.
  virtual Status SyncSealed() { return Status::OK(); }
  // Removes what dead writers of `name` left (local: temporary files no live
  // process holds, see local_store.cc). Create does it for the name it
  // writes; a run that skips `name` because it exists calls it, so the
  // leftovers of a killed overwrite (--force) go on the next run too.
  // Default: nothing (GCS keeps no partial object).
  virtual void RemoveStaleTemporaries(const std::string& name) {}
  // Removes object `name`; one that is not there is no error. For a grouped
  // item's completion record, removed before a run that replaces the item's
  // objects commits the first of them: stopped halfway, it leaves the item
  // incomplete (no record) rather than a record over a mix of two files.
  // Default: the store cannot (an error naming the object).
  virtual Status Remove(const std::string& name) {
    return Status::Internal("cannot remove " + Describe(name) + " from this store");
  }
  // Why every Create of this store now fails (kUsage: the store's layout
  // record was lost to a run of another layout, layout_record.h), OK while
  // it writes. A job checks it before starting an item, so a refused run
  // stops rather than failing item by item. Default: OK.
  virtual Status WriteRefusal() const { return Status::OK(); }

  // How this store names its objects (layout.h): by_date until set where
  // the store is opened from its record (layout_record.h). Every name a
  // component builds for this store comes from here.
  const Layout& layout() const { return layout_; }
  void set_layout(Layout layout) { layout_ = layout; }

 private:
  Layout layout_;
};

// The error of a read in ranges whose object was replaced by another
// version before its last range (kUnavailable with
// Detail::kReplacedWhileRead): read it again from its start.
Status ReplacedWhileRead(std::string message);
bool IsReplacedWhileRead(const Status& st);
// Runs `read` (a whole read of one object, from its start) again while it
// fails with ReplacedWhileRead, up to kReadsOfAReplacedObject times in all,
// a few milliseconds apart (jittered: other runs writing it in turn get
// between the reads); returns its last status. For objects other runs
// merge into (a day's instrument definitions): each new read follows a
// write of the object.
inline constexpr int kReadsOfAReplacedObject = 10;
Status ReadAgainIfReplaced(const std::function<Status()>& read);

// A store rooted at a local directory. Names use '/' separators.
std::unique_ptr<ObjectStore> NewLocalStore(const std::string& root);

// A single local file written through the same temp-and-rename protocol;
// used for `--output FILE.parquet`. Errors that no retry can fix (EACCES,
// EPERM, EROFS, ENOTDIR, EISDIR) are kPermission; EMFILE (the process's
// open-file limit) is kUsage, saying to raise `ulimit -n`; others (ENOSPC,
// EIO, ENFILE) are kIOError, which is retryable.
Result<std::unique_ptr<WritableObject>> CreateLocalFile(const std::string& path, bool overwrite);

}  // namespace mt::storage
