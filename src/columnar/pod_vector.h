// A growable array of trivially copyable values (int64_t, double, uint8_t)
// for column values. Unlike std::vector, push_back is a compare and a store
// wherever it is used (the CSV parser appends ~10 values per row, and GCC
// leaves std::vector's push_back out of line in a function that large),
// growth is realloc (large blocks move by remapping, not copying), and
// resize does not zero-fill.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>
#include <type_traits>

namespace mt::columnar {

template <typename T>
class PodVector {
  static_assert(std::is_trivially_copyable_v<T>, "PodVector holds plain values only");

 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;
  using size_type = size_t;

  PodVector() = default;
  PodVector(std::initializer_list<T> values) { assign(values.begin(), values.end()); }
  PodVector(const PodVector& o) { assign(o.begin(), o.end()); }
  PodVector(PodVector&& o) noexcept : data_(o.data_), size_(o.size_), cap_(o.cap_) {
    o.data_ = nullptr;
    o.size_ = o.cap_ = 0;
  }
  PodVector& operator=(const PodVector& o) {
    if (this != &o) assign(o.begin(), o.end());
    return *this;
  }
  PodVector& operator=(PodVector&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = o.data_;
      size_ = o.size_;
      cap_ = o.cap_;
      o.data_ = nullptr;
      o.size_ = o.cap_ = 0;
    }
    return *this;
  }
  ~PodVector() { std::free(data_); }

  size_t size() const { return size_; }
  size_t capacity() const { return cap_; }
  bool empty() const { return size_ == 0; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& front() { return data_[0]; }
  const T& front() const { return data_[0]; }
  T& back() { return data_[size_ - 1]; }
  const T& back() const { return data_[size_ - 1]; }

  inline __attribute__((always_inline)) void push_back(T v) {
    if (__builtin_expect(size_ == cap_, 0)) Grow(size_ + 1);
    data_[size_++] = v;
  }
  // Grows by n uninitialised values and returns the first of them.
  inline __attribute__((always_inline)) T* Extend(size_t n) {
    if (__builtin_expect(size_ + n > cap_, 0)) Grow(size_ + n);
    T* p = data_ + size_;
    size_ += n;
    return p;
  }
  // Appends [first, last), which must not point into this vector.
  void append(const T* first, const T* last) {
    const size_t n = static_cast<size_t>(last - first);
    if (n == 0) return;
    if (size_ + n > cap_) Grow(size_ + n);
    std::memcpy(data_ + size_, first, n * sizeof(T));
    size_ += n;
  }
  // Appends n copies of v.
  void append(size_t n, T v) {
    T* p = Extend(n);
    for (size_t i = 0; i < n; i++) p[i] = v;
  }
  void assign(const T* first, const T* last) {
    size_ = 0;
    append(first, last);
  }
  void assign(size_t n, T v) {
    size_ = 0;
    reserve(n);
    for (size_t i = 0; i < n; i++) data_[i] = v;
    size_ = n;
  }
  // New values are left uninitialised.
  void resize(size_t n) {
    reserve(n);
    size_ = n;
  }
  void reserve(size_t n) {
    if (n > cap_) Reallocate(n);
  }
  void clear() { size_ = 0; }
  void shrink_to_fit() {
    if (size_ == 0) {
      std::free(data_);
      data_ = nullptr;
      cap_ = 0;
    } else if (size_ < cap_) {
      Reallocate(size_);
    }
  }

  friend bool operator==(const PodVector& a, const PodVector& b) {
    return a.size_ == b.size_ && (a.size_ == 0 || std::memcmp(a.data_, b.data_, a.size_ * sizeof(T)) == 0);
  }
  friend bool operator!=(const PodVector& a, const PodVector& b) { return !(a == b); }

 private:
  __attribute__((noinline)) void Grow(size_t need) {
    size_t cap = cap_ ? cap_ * 2 : 64;
    while (cap < need) cap *= 2;
    Reallocate(cap);
  }
  void Reallocate(size_t cap) {
    void* p = std::realloc(data_, cap * sizeof(T));
    if (!p) throw std::bad_alloc();
    data_ = static_cast<T*>(p);
    cap_ = cap;
  }

  T* data_ = nullptr;
  size_t size_ = 0;
  size_t cap_ = 0;
};

}  // namespace mt::columnar
