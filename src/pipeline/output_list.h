// The objects one converted file became, as a list that holds any number
// of them in bounded memory (a grouped file of hundreds of thousands of
// instruments lists as many objects).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "core/status.h"

namespace mt::pipeline {

struct OutputFile {
  std::string name;  // object name or file path, as written
  std::string instrument_key;  // "" for an unkeyed fallback
  uint64_t rows = 0;
  uint64_t bytes = 0;
  // Smallest and largest local_timestamp written (when rows > 0), for the
  // out-of-day check (OutsideDay, core/time_util.h).
  int64_t min_local_ts = 0, max_local_ts = 0;
  // First and last row's local_timestamp (when rows > 0), for completion records.
  int64_t first_local_ts = 0, last_local_ts = 0;
  // Rows whose symbol has no instrument key, kept under the fallback name
  // {VENUE}:UNKEYED:{symbol} (escaped by storage/layout.h); `note` says why
  // the symbol has no key.
  bool unkeyed = false;
  std::string symbol;  // the raw row symbol of an unkeyed output
  std::string note;
};

// The objects one converted file became (an OutputFile each), in the order
// they were added, kept serialized: in memory up to kMemoryBytes, then in an
// unnamed temporary file. So a file lists the objects of any number of
// instruments in bounded memory; iterating reads them back in order, one
// at a time (each iterator on its own, with a small read buffer).
class OutputList {
 public:
  static constexpr size_t kMemoryBytes = 4u << 20;

  OutputList() = default;
  ~OutputList();
  OutputList(OutputList&& other) noexcept;
  OutputList& operator=(OutputList&& other) noexcept;
  OutputList(const OutputList&) = delete;
  OutputList& operator=(const OutputList&) = delete;

  // An error only when the temporary file cannot be created or written:
  // kUsage when TMPDIR cannot hold it (missing, not a directory, not
  // writable: a rerun does not fix that), else kIOError.
  Status Add(const OutputFile& o);
  // Entries of `bytes` (EntryBytes) are about to be added: when they will not
  // fit in memory, the temporary file is created now, so that a caller can
  // fail before it commits anything rather than after.
  Status Reserve(uint64_t bytes);
  // What `o` takes in the list with a name of `name_bytes` bytes.
  static uint64_t EntryBytes(const OutputFile& o, size_t name_bytes);
  // Adds every entry of `other`, in order.
  Status AddAll(const OutputList& other);
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // OK, or what a read of the temporary file met: an iteration then ended
  // early. Whoever must see every entry (a completion record) checks it.
  const Status& read_status() const { return read_status_; }
  // Every entry (a few, or a test's).
  Result<std::vector<OutputFile>> ToVector() const;

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = OutputFile;
    using difference_type = std::ptrdiff_t;
    using pointer = const OutputFile*;
    using reference = const OutputFile&;
    const OutputFile& operator*() const { return cur_; }
    const OutputFile* operator->() const { return &cur_; }
    Iterator& operator++();
    bool operator==(const Iterator& o) const { return index_ == o.index_; }
    bool operator!=(const Iterator& o) const { return index_ != o.index_; }

   private:
    friend class OutputList;
    Iterator(const OutputList* list, size_t index);
    // Decodes the entry at pos_ into cur_ (index_ < size), else ends.
    void Load();
    // `n` bytes of the list's stream (file, then memory) at pos_; null after
    // a failed read (the iteration then ends).
    const char* Bytes(size_t n);
    const OutputList* list_;
    size_t index_;
    uint64_t pos_ = 0;
    std::string buf_;            // bytes of the file from buf_at_
    uint64_t buf_at_ = 0;
    OutputFile cur_;
  };
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, count_); }

 private:
  Status OpenFile();
  int fd_ = -1;
  uint64_t file_bytes_ = 0;  // whole entries, in the file
  std::string memory_;       // the entries after the file's
  size_t count_ = 0;
  mutable Status read_status_;
};

}  // namespace mt::pipeline
