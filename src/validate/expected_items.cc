#include "validate/expected_items.h"

#include <algorithm>
#include <tuple>

namespace mt::validate {

ExpectedItems::ExpectedItems(std::initializer_list<ExpectedItem> items) {
  for (const ExpectedItem& e : items) push_back(e);
}

void ExpectedItems::push_back(const ExpectedItem& e) {
  items_.push_back(Packed{static_cast<int32_t>(DaysFromCivil(e.day.year, e.day.month, e.day.day)),
                          strings_->Intern(e.data_type), strings_->Intern(e.instrument_key),
                          strings_->Intern(e.exchange), strings_->Intern(e.symbol)});
}

ExpectedItem ExpectedItems::operator[](size_t i) const {
  const Packed p = items_.Get(i);
  return ExpectedItem{CivilFromDays(p.day), std::string(strings_->View(p.data_type)),
                      std::string(strings_->View(p.instrument_key)), std::string(strings_->View(p.exchange)),
                      std::string(strings_->View(p.symbol))};
}

void ExpectedItems::SortUnique() {
  const StringPool& s = *strings_;
  auto key = [&s](const Packed& p) { return std::make_tuple(p.day, s.View(p.data_type), s.View(p.instrument_key)); };
  // Sorted by every field, so the order is one whatever the algorithm's
  // choices: items sorted whole (in memory) and a day at a time (from the
  // file) keep the same one of items with one key, the least by exchange
  // and symbol (items equal in all are alike).
  auto whole = [&s](const Packed& p) {
    return std::make_tuple(p.day, s.View(p.data_type), s.View(p.instrument_key), s.View(p.exchange), s.View(p.symbol));
  };
  auto sort_unique = [&](std::vector<Packed>* v) {
    std::sort(v->begin(), v->end(), [&](const Packed& a, const Packed& b) { return whole(a) < whole(b); });
    v->erase(std::unique(v->begin(), v->end(), [&](const Packed& a, const Packed& b) { return key(a) == key(b); }),
             v->end());
  };
  const size_t n = items_.size();
  bool day_order = true;
  for (size_t i = 1; items_.spilled() > 0 && day_order && i < n; i++) {
    day_order = items_.Get(i - 1).day <= items_.Get(i).day;
  }
  std::vector<Packed> run;
  if (items_.spilled() == 0 || !day_order) {
    // All in memory (or out of day order): sorted whole, as they always
    // were.
    run.reserve(n);
    for (size_t i = 0; i < n; i++) run.push_back(items_.Get(i));
    sort_unique(&run);
    items_.SetRange(0, run.data(), run.size());
    items_.truncate(run.size());
    return;
  }
  // Day by day: each day's run read, sorted and written back in place
  // (never past what is still to be read: a run only shrinks).
  size_t kept = 0;
  for (size_t first = 0; first < n;) {
    // The run's length first: it is read into room of its size (a grouped
    // item of millions of objects is one day's run).
    const int32_t day = items_.Get(first).day;
    size_t end = first + 1;
    while (end < n && items_.Get(end).day == day) end++;
    run.clear();
    run.reserve(end - first);
    for (size_t i = first; i < end; i++) run.push_back(items_.Get(i));
    sort_unique(&run);
    items_.SetRange(kept, run.data(), run.size());
    kept += run.size();
    first = end;
  }
  items_.truncate(kept);
}

}  // namespace mt::validate
