// Sorts records (byte strings) in bounded memory: records are held up to a
// budget, then sorted and written to an unnamed temporary file as a run;
// once every record is in, the runs are merged, each read through a buffer
// of its own. For sets that grow with the input and are sorted once
// (validate's expected items: a grouped item of millions of instruments is
// one day's run of them).
//
// Where no temporary file can be created or written, the records stay in
// memory (note() says why) and are sorted there. The order of records equal
// under `less` is unspecified: callers whose output must not depend on the
// budget order by every byte that differs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace mt {

class ExternalSorter {
 public:
  using Less = std::function<bool(std::string_view, std::string_view)>;
  static constexpr size_t kDefaultMemoryBytes = size_t{8} << 20;
  explicit ExternalSorter(Less less, size_t memory_bytes = kDefaultMemoryBytes);
  ~ExternalSorter();
  ExternalSorter(const ExternalSorter&) = delete;
  ExternalSorter& operator=(const ExternalSorter&) = delete;

  void Add(std::string_view record);
  // Ends the adding; Next then gives the records in order.
  void Finish();
  // The next record into *out; false after the last (or on a failed read of
  // the temporary file: status() says so).
  bool Next(std::string* out);
  size_t size() const { return count_; }
  // Runs written to the temporary file.
  size_t runs() const { return runs_.size(); }
  const Status& status() const { return status_; }
  const std::string& note() const { return note_; }

 private:
  struct Run {
    uint64_t begin = 0, end = 0;  // of the file
  };
  struct Cursor {
    uint64_t next = 0, end = 0;  // of the file still to read
    size_t share = 0;            // what its buffer is filled to
    std::string buffer;
    size_t pos = 0;
    std::string record;  // the current one
  };
  std::string_view View(size_t i) const;
  void SortMemory();
  void SpillRun();
  // Loads cursor c's next record; false at the end of its run.
  bool Advance(Cursor* c);
  bool Fill(Cursor* c, size_t need);

  Less less_;
  size_t memory_bytes_;
  size_t count_ = 0;
  // Records in memory: their bytes, and where each starts and its length.
  std::string arena_;
  std::vector<std::pair<uint64_t, uint32_t>> index_;
  int fd_ = -1;
  bool memory_only_ = false;
  uint64_t file_bytes_ = 0;
  std::vector<Run> runs_;
  bool finished_ = false;
  size_t memory_next_ = 0;  // of index_, once sorted
  std::vector<Cursor> cursors_;
  std::vector<size_t> heap_;  // of cursors_ (and cursors_.size(): the memory run)
  Status status_;
  std::string note_;
};

}  // namespace mt
