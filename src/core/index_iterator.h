// An input iterator over a list that hands out its elements by value
// (list[i] builds each one from a compact form, so there is nothing to
// point or refer to).
#pragma once

#include <cstddef>
#include <iterator>

namespace mt {

template <typename List, typename Value>
class IndexIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = Value;
  using difference_type = std::ptrdiff_t;
  using pointer = void;
  using reference = Value;
  IndexIterator(const List* list, size_t i) : list_(list), i_(i) {}
  Value operator*() const { return (*list_)[i_]; }
  IndexIterator& operator++() {
    ++i_;
    return *this;
  }
  bool operator==(const IndexIterator& o) const { return i_ == o.i_; }
  bool operator!=(const IndexIterator& o) const { return i_ != o.i_; }

 private:
  const List* list_;
  size_t i_;
};

}  // namespace mt
