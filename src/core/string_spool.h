// Byte strings appended one after another and read back in that order, in
// bounded memory: the newest in memory up to a budget, the rest in an
// unnamed temporary file (OpenUnnamedTempFile, $TMPDIR), read back through
// a small buffer of each iterator. For lists that grow with the input and
// are only walked in order: the objects of an item's result (a grouped item
// lists one per instrument, a million for a large day of options), the
// items of a plan made from a day's listing.
//
// A list that stays within the budget never creates the file. A temporary
// file that cannot be created or written keeps the strings in memory, as a
// vector would (note() says why); a read of the file that fails ends the
// iteration early and is kept in read_status().
//
// Not thread-safe. A copy is a list of its own (its own file, when the
// strings need one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace mt {

class StringSpool {
 public:
  static constexpr size_t kDefaultMemoryBytes = size_t{1} << 20;
  explicit StringSpool(size_t memory_bytes = kDefaultMemoryBytes);
  StringSpool(std::initializer_list<std::string> strings);
  ~StringSpool();
  StringSpool(const StringSpool& other);
  StringSpool& operator=(const StringSpool& other);
  StringSpool(StringSpool&& other) noexcept;
  StringSpool& operator=(StringSpool&& other) noexcept;
  StringSpool& operator=(std::initializer_list<std::string> strings);

  void push_back(std::string_view s);
  // Appends every string of `other`, in order.
  void Append(const StringSpool& other);
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Forgets every string (and the file).
  void clear();
  // Bytes in the temporary file (the rest are in memory).
  uint64_t spilled() const { return file_bytes_; }
  // OK, or the first failed read of the temporary file: an iteration then
  // ended early, so whoever must see every string checks it.
  const Status& read_status() const { return read_status_; }
  // Why the strings stayed in memory ("" when they did not).
  const std::string& note() const { return note_; }
  // Every string (a few, or a test's).
  std::vector<std::string> ToVector() const;

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = std::string;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::string*;
    using reference = const std::string&;
    const std::string& operator*() const { return cur_; }
    const std::string* operator->() const { return &cur_; }
    Iterator& operator++() {
      index_++;
      Load();
      return *this;
    }
    bool operator==(const Iterator& o) const { return index_ == o.index_; }
    bool operator!=(const Iterator& o) const { return index_ != o.index_; }

   private:
    friend class StringSpool;
    Iterator(const StringSpool* spool, size_t index);
    // Decodes the string at pos_ into cur_ (index_ < size), else ends.
    void Load();
    // `n` bytes of the list at pos_ (file, then memory); null after a
    // failed read.
    const char* Bytes(size_t n);
    const StringSpool* spool_;
    size_t index_;
    uint64_t pos_ = 0;
    std::string buf_;  // bytes of the file from buf_at_
    uint64_t buf_at_ = 0;
    std::string cur_;
  };
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, count_); }

 private:
  void Flush();
  void Close();
  size_t memory_bytes_;
  int fd_ = -1;
  bool memory_only_ = false;
  uint64_t file_bytes_ = 0;  // whole entries, in the file
  std::string memory_;       // the entries after the file's
  size_t count_ = 0;
  std::string note_;
  mutable Status read_status_;
};

}  // namespace mt
