// The completion record of one work item (storage::ItemRecordName): what a
// download of (day, data type, exchange, symbol) ended with, kept in the
// store so a rerun and `validate` can know it without asking Tardis.
//  - A grouped item (deribit OPTIONS, ...) becomes many objects; its record,
//    written after every object committed, lists them with their row
//    counts. Without the record the item is not complete, whatever objects
//    exist (a run may have stopped between two commits).
//  - An item the source does not have (HTTP 404) gets a record with outcome
//    not_available, so validate tells it apart from missing.
// A per-instrument item that got data needs no record: its one object
// carries rows and first/last timestamps in its footer.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"
#include "core/string_spool.h"
#include "net/retry.h"
#include "pipeline/plan.h"
#include "pipeline/tick_converter.h"
#include "storage/object_store.h"

namespace mt::pipeline {

struct RecordedObject {
  std::string name;            // object name in the store
  std::string instrument_key;
  uint64_t rows = 0;
  uint64_t bytes = 0;
  std::string first_timestamp = {}, last_timestamp = {};  // local_timestamp, ISO-8601 UTC; "" without rows
};

struct ItemRecord {
  std::string item;     // WorkItem::Id()
  std::string outcome;  // "done", "no_data" or "not_available"
  uint64_t rows = 0;
  std::string first_timestamp, last_timestamp;  // over every object; "" without rows
  std::string source;   // dataset URL (no credentials: the key travels in a header), or the converted file's path
  std::string reason;   // not_available: what the source answered
  std::vector<RecordedObject> objects;
  std::string tool_version;
  std::string created_at;  // ISO-8601 UTC
};

std::string ItemRecordObjectName(const storage::Layout& layout, const WorkItem& item);

std::string EncodeItemRecord(const ItemRecord& record);
// `label` names the object in errors. With `on_object`, each listed object
// goes to it as it is read, in order, and not into ItemRecord::objects (a
// caller that needs only their names holds no more).
Result<ItemRecord> DecodeItemRecord(std::string_view json, const std::string& label,
                                    const std::function<void(RecordedObject&&)>& on_object = nullptr);

// The record of a grouped item whose file became `outputs` (TickConverter::
// Finish, names as `store` describes them) with `rows` rows in all: outcome
// done, or no_data without rows; each object with its rows and first/last
// local_timestamp, and the first/last over all. `created_at` is the caller's.
ItemRecord GroupedItemRecord(storage::ObjectStore* store, const WorkItem& item, const OutputList& outputs,
                             uint64_t rows, const std::string& source, const std::string& tool_version,
                             const std::string& created_at);

// Writes the record GroupedItemRecord gives, the same bytes, straight from
// `outputs`: no entry per object is built first (a file of 100,000
// instruments would hold its outputs and their entries at once).
// overwrite=false is create-only (an existing record is kept: kAlreadyExists).
Status WriteGroupedItemRecord(storage::ObjectStore* store, const WorkItem& item, const OutputList& outputs,
                              uint64_t rows, const std::string& source, const std::string& tool_version,
                              const std::string& created_at, bool overwrite);

// Removes the record of `item` (none there is no error): a run that replaces
// a grouped item's objects does, before it commits the first, so a run
// stopped halfway leaves the item without a record (incomplete), not a
// record over objects of two files.
Status RemoveItemRecord(storage::ObjectStore* store, const WorkItem& item);

// The objects the stored record of a grouped item lists, taken before a
// run that replaces the item converts its file: those the new conversion
// does not write again (an instrument the new file lacks, a symbol stored
// UNKEYED before the definitions keyed it, every object when the new file
// has no rows) are removed once the new objects are committed and before
// the new record is written, so the item holds one file's objects and
// nothing its record does not list. The names go through an OutputList (a
// temporary file past its memory bound). Not kept across runs: a run that
// stops between its first commit and its record leaves what it had not
// removed yet unlisted (validate counts such objects as unexpected).
class ReplacedObjects {
 public:
  // Takes the names the record of `item` lists; none without a record, and
  // none (with a warning) from a record that does not parse, whose names
  // cannot be known. Only names of the item's day and data type that are
  // safe object names are taken: a record edited by hand cannot remove
  // anything else.
  Status Load(storage::ObjectStore* store, const WorkItem& item);
  // As Load, from the names of the record the caller has read already
  // (download reads it to decide whether the item is done), with the same
  // filter; the record is not read again.
  Status Take(const storage::Layout& layout, const WorkItem& item, const StringSpool& names);
  // Removes the record (ConvertTarget::before_commit: right before the
  // first new object is committed, so a run stopped while it commits leaves
  // the item without a record rather than the old one over objects of two
  // files). Thread-safe.
  Status RemoveRecord(storage::ObjectStore* store, const WorkItem& item);
  // RemoveRecord (here or from Finish) first takes, beside the names taken
  // so far, those of the record as it is then: another run may have
  // completed the item since they were taken (convert takes them when it
  // starts, before it reads the file), and the objects of that run this
  // one does not write must go too, or they would stay unlisted beside this
  // run's.
  void TakeAgainAtRemoval() { take_again_ = true; }
  // Once every new object is committed: when objects were taken, removes
  // the record if RemoveRecord was not called (a file of no rows commits
  // nothing), then the taken objects `now` (the new outputs, as the store
  // describes them) does not list; returns how many objects. With none
  // taken it touches nothing (the caller's new record replaces the old one;
  // a run that replaces no record must not remove one another run wrote).
  Result<size_t> Finish(storage::ObjectStore* store, const WorkItem& item, const OutputList& now);
  // Whether this run removed the item's record (RemoveRecord or Finish): a
  // record there when it writes its own was written by another run since.
  bool record_removed() {
    std::lock_guard<std::mutex> l(mu_);
    return record_removed_;
  }

 private:
  OutputList names_;
  std::mutex mu_;
  bool record_removed_ = false;
  bool take_again_ = false;
};

// Where two completion records of one grouped item disagree on what the file
// became (an object one lists and the other does not, or other row counts);
// "" when they list the same objects with the same rows. Sizes are not
// compared: the same rows encode to other sizes under other row-group
// settings or another version.
std::string RecordDifference(const ItemRecord& theirs, const ItemRecord& ours);

// What a run makes of another run's completion record, found by its own
// create-only write of a grouped item's record, when both runs read the
// file before either record existed and both wrote every object
// (replacing), each object whole.
struct RecordRace {
  enum Kind {
    kOursWritten,  // that record was gone, or said not_available: this run's is written
    kSame,         // it lists the objects this run wrote with the same rows: it stays
    kDifferent,    // it lists other objects or rows: which run wrote an object last decides what it holds
  };
  Kind kind = kOursWritten;
  std::string difference;            // kDifferent: RecordDifference(theirs, ours)
  std::vector<std::string> objects;  // kSame: the names the record lists
};
// Reads the record another run wrote and settles as RecordRace says. Under
// kSame with other sizes (another version or settings), the sizes the
// store shows are final (both runs have written every object), and the
// record is given those (over the version read only; a failure is a
// warning: the rows are right). Errors carry what failed.
Result<RecordRace> SettleRecordRace(storage::ObjectStore* store, const WorkItem& item, const ItemRecord& ours);

// Writes the record of `item`. overwrite=false is create-only (an existing
// record is kept: kAlreadyExists).
Status WriteItemRecord(storage::ObjectStore* store, const WorkItem& item, const ItemRecord& record, bool overwrite);
// Writes `record` into `obj` (created by the caller, with the precondition it
// needs) and commits it; aborts it on failure.
Status CommitItemRecord(storage::WritableObject* obj, const ItemRecord& record);
// kNotFound when the item has no record (an error of the store is returned
// as it is). The record is read in ranged pieces, each parsed as it comes,
// so its text is never held whole; every piece comes from the version the
// first came from (ObjectStore::ReadRangeOfVersion), and a record replaced
// meanwhile is a retryable error (storage::IsReplacedWhileRead: read it
// again), never a mix of both versions. On GCS the pieces' CRC32C is
// compared with the record's once the last is read (a mismatch is
// net::IsChecksumMismatch, retryable). `on_object` has then been called
// for entries of the version or bytes that failed: a caller that reads
// again starts over what it took.
// `on_object`: as DecodeItemRecord's.
Result<ItemRecord> ReadItemRecord(storage::ObjectStore* store, const std::string& name,
                                  const std::function<void(RecordedObject&&)>& on_object = nullptr);

// Reads of a completion record in all, when a read fails only because the
// record was replaced between its pieces or its pieces do not match its
// CRC32C (ReadItemRecordAgainIfTorn).
inline constexpr int kRecordReads = 3;
// ReadItemRecord, made again when a read fails only because another run
// replaced the record between two of its pieces (storage::IsReplacedWhileRead)
// or its pieces fail the record's CRC32C (net::IsChecksumMismatch), up to
// kRecordReads reads in all: every reader of a grouped item's record (a
// rerun of download, validate) needs one version of it whole, and another
// run may commit one at any time. The reads go through a net::Retrier for
// their count, `retry`'s time budget and the stop flags, with no wait
// between them: a commit replaces a record whole, so the next read finds
// one version complete. `on_read` (may be null) is called before each
// read: a caller keeping what `on_object` gave starts over, since a failed
// read has given entries of the version or bytes that failed. Any other
// result is the last read's.
Result<ItemRecord> ReadItemRecordAgainIfTorn(storage::ObjectStore* store, const std::string& name,
                                             const net::RetryPolicy& retry, net::RetryClock* clock, StopFlags stop,
                                             const std::function<void()>& on_read,
                                             const std::function<void(RecordedObject&&)>& on_object);

}  // namespace mt::pipeline
