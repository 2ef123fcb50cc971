// A sequence of fixed-size records of any length in bounded memory: the
// newest records in memory, up to a budget, then appended to an unnamed
// temporary file (OpenUnnamedTempFile); a record is read back through a
// small window of the file and may be replaced in place. For lists that
// grow with the input (validate's results, one per expected item) and are
// walked in order afterwards, with the odd random read or update.
//
// Not thread-safe, reads included (the read window moves): callers that
// share one lock it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/status.h"

namespace mt {

// Untyped: records of `record_bytes` each.
class SpillRecords {
 public:
  // `memory_bytes`: what the records not yet in the file may take before
  // they go there (and the read window's size, at most); at least one
  // record either way.
  SpillRecords(size_t record_bytes, size_t memory_bytes);
  ~SpillRecords();
  SpillRecords(SpillRecords&& other) noexcept;
  SpillRecords& operator=(SpillRecords&& other) noexcept;
  SpillRecords(const SpillRecords&) = delete;
  SpillRecords& operator=(const SpillRecords&) = delete;

  size_t size() const { return file_records_ + tail_records_; }
  // Records in the file (the rest are in memory).
  size_t spilled() const { return file_records_; }
  void Append(const void* record);
  // Copies record i (< size()) to *out.
  void Get(size_t i, void* out) const;
  void Set(size_t i, const void* record);
  // Records [first, first + n) (first + n <= size()) from `records`, in one
  // write for those in the file.
  void SetRange(size_t first, const void* records, size_t n);
  // Keeps the first n records (n <= size()).
  void Truncate(size_t n);
  void Clear();
  // OK, or the first failure of the temporary file. A file that cannot be
  // created or written leaves the records in memory (the list then grows
  // there as it did before it spilled): `status()` stays OK and `note()`
  // says why. A read that fails is an error: Get gives zeros then.
  const Status& status() const { return status_; }
  const std::string& note() const { return note_; }

 private:
  void Flush();
  void Close();
  size_t record_bytes_;
  size_t tail_capacity_;   // records kept in memory before a flush
  size_t window_records_;  // records of the read window
  int fd_ = -1;
  bool memory_only_ = false;  // the file failed: everything stays in tail_
  size_t file_records_ = 0;
  size_t tail_records_ = 0;
  std::vector<char> tail_;  // records [file_records_, size())
  mutable std::vector<char> window_;
  mutable size_t window_first_ = 0, window_count_ = 0;
  mutable Status status_;
  std::string note_;
};

// Typed: T is copied byte for byte.
template <typename T>
class SpillVector {
  static_assert(std::is_trivially_copyable_v<T>, "records are copied as bytes");

 public:
  static constexpr size_t kDefaultMemoryBytes = size_t{4} << 20;
  explicit SpillVector(size_t memory_bytes = kDefaultMemoryBytes) : records_(sizeof(T), memory_bytes) {}
  size_t size() const { return records_.size(); }
  bool empty() const { return records_.size() == 0; }
  size_t spilled() const { return records_.spilled(); }
  void push_back(const T& v) { records_.Append(&v); }
  T Get(size_t i) const {
    T v;
    records_.Get(i, &v);
    return v;
  }
  void Set(size_t i, const T& v) { records_.Set(i, &v); }
  // Records [first, first + n) from values[0, n).
  void SetRange(size_t first, const T* values, size_t n) { records_.SetRange(first, values, n); }
  // Keeps the first n records (n <= size()).
  void truncate(size_t n) { records_.Truncate(n); }
  void clear() { records_.Clear(); }
  const Status& status() const { return records_.status(); }
  const std::string& note() const { return records_.note(); }

 private:
  SpillRecords records_;
};

// Bytes appended in pieces of any length, read back by offset, in bounded
// memory: kept as pages of a SpillRecords (so past the budget in the same
// temporary file, read through its window). For strings that grow with the
// input and must not be held in memory (validate's instrument keys, a
// grouped item's millions of them).
class SpillBytes {
 public:
  static constexpr size_t kPageBytes = 256;
  explicit SpillBytes(size_t memory_bytes = size_t{4} << 20) : pages_(kPageBytes, memory_bytes) {}
  uint64_t size() const { return static_cast<uint64_t>(pages_.size()) * kPageBytes + page_used_; }
  // Appends `data`; returns the offset it starts at.
  uint64_t Append(std::string_view data);
  // Bytes [offset, offset + n) (within size()) appended to *out; zeros
  // when the file fails (status() says so).
  void Read(uint64_t offset, size_t n, std::string* out) const;
  // Keeps the first n bytes (n <= size()).
  void Truncate(uint64_t n);
  void Clear();
  size_t spilled_pages() const { return pages_.spilled(); }
  const Status& status() const { return pages_.status(); }
  const std::string& note() const { return pages_.note(); }

 private:
  SpillRecords pages_;          // full pages
  char page_[kPageBytes] = {};  // the page being filled
  size_t page_used_ = 0;
  mutable char read_page_[kPageBytes] = {};
};

}  // namespace mt
