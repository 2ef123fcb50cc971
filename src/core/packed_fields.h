// Structs of many strings and optionals held packed in one string: each
// field in a fixed order, a string as its length (a base-128 varint) and its
// bytes, an optional as a presence byte and its value, a number as its bytes
// (so a value decoded is bit for bit the one packed). For records kept by
// the hundred thousand, whose fixed members alone are larger than their
// packed bytes. The reader trusts its input: only what a PackWriter wrote.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace mt {

class PackWriter {
 public:
  explicit PackWriter(std::string* out) : out_(out) {}
  void Length(size_t n) const {
    while (n >= 0x80) {
      out_->push_back(static_cast<char>((n & 0x7F) | 0x80));
      n >>= 7;
    }
    out_->push_back(static_cast<char>(n));
  }
  void operator()(const std::string& s) const {
    Length(s.size());
    out_->append(s);
  }
  void operator()(int64_t v) const { Raw(v); }
  void operator()(bool v) const { out_->push_back(v ? 1 : 0); }
  void operator()(const std::optional<std::string>& v) const {
    out_->push_back(v ? 1 : 0);
    if (v) (*this)(*v);
  }
  void operator()(const std::optional<double>& v) const {
    out_->push_back(v ? 1 : 0);
    if (v) Raw(*v);
  }
  void operator()(const std::optional<int64_t>& v) const {
    out_->push_back(v ? 1 : 0);
    if (v) Raw(*v);
  }
  void operator()(const std::optional<bool>& v) const { out_->push_back(v ? (*v ? 2 : 1) : 0); }

 private:
  template <typename T>
  void Raw(const T& v) const {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out_->append(b, sizeof(T));
  }
  std::string* out_;
};

class PackReader {
 public:
  explicit PackReader(const char* p) : p_(p) {}
  size_t Length() {
    size_t n = 0;
    for (int shift = 0;; shift += 7) {
      const auto b = static_cast<unsigned char>(*p_++);
      n |= static_cast<size_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return n;
    }
  }
  std::string_view View() {
    const size_t n = Length();
    const std::string_view v(p_, n);
    p_ += n;
    return v;
  }
  void operator()(std::string& s) { s.assign(View()); }
  void operator()(int64_t& v) { v = Raw<int64_t>(); }
  void operator()(bool& v) { v = *p_++ != 0; }
  void operator()(std::optional<std::string>& v) {
    if (*p_++) {
      if (!v) v.emplace();
      (*this)(*v);
    } else {
      v.reset();
    }
  }
  void operator()(std::optional<double>& v) {
    if (*p_++) {
      v = Raw<double>();
    } else {
      v.reset();
    }
  }
  void operator()(std::optional<int64_t>& v) {
    if (*p_++) {
      v = Raw<int64_t>();
    } else {
      v.reset();
    }
  }
  void operator()(std::optional<bool>& v) {
    const char c = *p_++;
    if (c) {
      v = c == 2;
    } else {
      v.reset();
    }
  }

 private:
  template <typename T>
  T Raw() {
    T v;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }
  const char* p_;
};

}  // namespace mt
