#include "validate/expected_items.h"

#include <algorithm>
#include <tuple>

namespace mt::validate {

ExpectedItems::ExpectedItems(std::initializer_list<ExpectedItem> items) {
  items_.reserve(items.size());
  for (const ExpectedItem& e : items) push_back(e);
}

void ExpectedItems::push_back(const ExpectedItem& e) {
  items_.push_back(Packed{static_cast<int32_t>(DaysFromCivil(e.day.year, e.day.month, e.day.day)),
                          strings_->Intern(e.data_type), strings_->Intern(e.instrument_key),
                          strings_->Intern(e.exchange), strings_->Intern(e.symbol)});
}

ExpectedItem ExpectedItems::operator[](size_t i) const {
  const Packed& p = items_[i];
  return ExpectedItem{CivilFromDays(p.day), std::string(strings_->View(p.data_type)),
                      std::string(strings_->View(p.instrument_key)), std::string(strings_->View(p.exchange)),
                      std::string(strings_->View(p.symbol))};
}

void ExpectedItems::SortUnique() {
  const StringPool& s = *strings_;
  auto key = [&s](const Packed& p) { return std::make_tuple(p.day, s.View(p.data_type), s.View(p.instrument_key)); };
  // std::sort as on ExpectedItem values: the same comparisons give the same
  // order, so of items with one key the same one stays.
  std::sort(items_.begin(), items_.end(), [&](const Packed& a, const Packed& b) { return key(a) < key(b); });
  items_.erase(
      std::unique(items_.begin(), items_.end(), [&](const Packed& a, const Packed& b) { return key(a) == key(b); }),
      items_.end());
}

}  // namespace mt::validate
