// A store double whose listings also give objects made as they are listed
// and never held (a day folder of many objects without the memory of one),
// and that samples the heap while a listing is read and while objects are
// looked at one by one (Exists, RemoveStaleTemporaries): what a caller keeps
// of a listing, or of a list of objects it walks, is then what the heap
// grows by.
#pragma once

#include <malloc.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <string>

#include "support/memory_store_double.h"

namespace mt::testing {

// Bytes the heap holds (glibc; 0 where a sanitizer's allocator answers).
inline size_t HeapInUse() {
  const struct mallinfo2 m = ::mallinfo2();
  return m.uordblks + m.hblkhd;
}

class GeneratedListing : public MemoryStoreDouble {
 public:
  // name(i) for i < n: names in name order, each starting with `folder`,
  // and all sorting before the objects Put under it; a listing of any
  // prefix of `folder` gives them first.
  GeneratedListing(std::string folder, size_t n, std::function<std::string(size_t)> name)
      : folder_(std::move(folder)), n_(n), name_(std::move(name)) {}

  Status ListEach(const std::string& prefix, const std::function<Status(storage::ObjectInfo&&)>& each) override {
    auto sampled = [&](storage::ObjectInfo&& o) {
      if (++listed_ % 1000 == 0) most_ = std::max(most_, HeapInUse());
      return each(std::move(o));
    };
    if (folder_.rfind(prefix, 0) == 0) {
      for (size_t i = 0; i < n_; i++) MT_RETURN_IF_ERROR(sampled({name_(i), 100}));
    }
    return MemoryStoreDouble::ListEach(prefix, sampled);
  }

  Result<bool> Exists(const std::string& name) override {
    Sample();
    return MemoryStoreDouble::Exists(name);
  }
  void RemoveStaleTemporaries(const std::string& name) override {
    Sample();
    MemoryStoreDouble::RemoveStaleTemporaries(name);
  }

  // Samples the heap now (a test's own point: a result it holds).
  void SampleNow() { most_ = std::max(most_, HeapInUse()); }

  // Starts sampling from the heap's size now; false where it cannot be
  // read (the test then has nothing to compare).
  bool StartSampling() {
    base_ = most_ = HeapInUse();
    return base_ != 0;
  }
  // What the heap grew by at most, of the samples since StartSampling.
  size_t Growth() const { return most_ - base_; }
  // Objects given to listings so far.
  size_t listed() const { return listed_; }

 private:
  std::string folder_;
  size_t n_;
  std::function<std::string(size_t)> name_;
  void Sample() {
    if (++looked_at_ % 1000 == 0) SampleNow();
  }
  size_t listed_ = 0, looked_at_ = 0, base_ = 0, most_ = 0;
};

}  // namespace mt::testing
