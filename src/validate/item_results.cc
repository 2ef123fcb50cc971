#include "validate/item_results.h"

namespace mt::validate {

ItemResults::ItemResults(const std::vector<ItemResult>& items) {
  for (const auto& r : items) push_back(r);
}

ItemResults::Packed ItemResults::Pack(const ItemResult& r) {
  Packed p;
  p.day = static_cast<int32_t>(DaysFromCivil(r.item.day.year, r.item.day.month, r.item.day.day));
  p.data_type = strings_->Intern(r.item.data_type);
  p.instrument_key = strings_->Intern(r.item.instrument_key);
  p.exchange = strings_->Intern(r.item.exchange);
  p.symbol = strings_->Intern(r.item.symbol);
  p.reason = strings_->Intern(r.reason);
  const std::string& key = r.item.instrument_key;
  const size_t at = key.empty() ? std::string::npos : r.object.rfind(key);
  if (at != std::string::npos) {
    p.object_prefix = strings_->Intern(std::string_view(r.object).substr(0, at));
    p.object_suffix = strings_->Intern(std::string_view(r.object).substr(at + key.size()));
  } else {
    p.object_prefix = strings_->Intern(r.object);
  }
  p.status = r.status;
  p.absent = r.absent;
  p.rows = r.rows;
  p.bytes = r.bytes;
  p.has_first = r.first_local_ts.has_value();
  p.has_last = r.last_local_ts.has_value();
  p.first_local_ts = r.first_local_ts.value_or(0);
  p.last_local_ts = r.last_local_ts.value_or(0);
  return p;
}

void ItemResults::push_back(const ItemResult& r) { packed_.push_back(Pack(r)); }

void ItemResults::Set(size_t i, const ItemResult& r) { packed_.Set(i, Pack(r)); }

void ItemResults::SetStatus(size_t i, ItemStatus s, std::string_view reason) {
  Packed p = packed_.Get(i);
  p.status = s;
  p.reason = strings_->Intern(reason);
  packed_.Set(i, p);
}

void ItemResults::Object(size_t i, std::string* out) const {
  const Packed p = packed_.Get(i);
  out->assign(strings_->View(p.object_prefix));
  if (p.object_suffix != kNoSplit) {
    out->append(strings_->View(p.instrument_key)).append(strings_->View(p.object_suffix));
  }
}

ItemResult ItemResults::operator[](size_t i) const {
  const Packed p = packed_.Get(i);
  ItemResult r;
  r.item.day = CivilFromDays(p.day);
  r.item.data_type = strings_->View(p.data_type);
  r.item.instrument_key = strings_->View(p.instrument_key);
  r.item.exchange = strings_->View(p.exchange);
  r.item.symbol = strings_->View(p.symbol);
  r.status = p.status;
  Object(i, &r.object);
  r.reason = strings_->View(p.reason);
  r.absent = p.absent;
  r.bytes = p.bytes;
  r.rows = p.rows;
  if (p.has_first) r.first_local_ts = p.first_local_ts;
  if (p.has_last) r.last_local_ts = p.last_local_ts;
  return r;
}

}  // namespace mt::validate
