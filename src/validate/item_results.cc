#include "validate/item_results.h"

#include <cstring>

namespace mt::validate {

namespace {

void AppendString(std::string_view s, std::string* out) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  out->append(reinterpret_cast<const char*>(&n), sizeof n);
  out->append(s);
}

// The next string AppendString wrote, from *r (empty past its end: a failed
// read gives zeros).
std::string_view TakeString(std::string_view* r) {
  uint32_t n = 0;
  std::memcpy(&n, r->data(), std::min(sizeof n, r->size()));
  r->remove_prefix(std::min(sizeof n, r->size()));
  const std::string_view s = r->substr(0, n);
  r->remove_prefix(s.size());
  return s;
}

}  // namespace

ItemResults::ItemResults(const std::vector<ItemResult>& items) {
  for (const auto& r : items) push_back(r);
}

ItemResults::Packed ItemResults::Pack(const ItemResult& r) {
  Packed p;
  p.day = static_cast<int32_t>(DaysFromCivil(r.item.day.year, r.item.day.month, r.item.day.day));
  p.data_type = strings_->Intern(r.item.data_type);
  p.exchange = strings_->Intern(r.item.exchange);
  const std::string& key = r.item.instrument_key;
  const size_t at = key.empty() ? std::string::npos : r.object.rfind(key);
  if (at != std::string::npos) {
    p.object_prefix = strings_->Intern(std::string_view(r.object).substr(0, at));
    p.object_suffix = strings_->Intern(std::string_view(r.object).substr(at + key.size()));
  }
  scratch_.clear();
  AppendString(key, &scratch_);
  AppendString(r.item.symbol, &scratch_);
  AppendString(r.reason, &scratch_);
  AppendString(at != std::string::npos ? std::string_view() : std::string_view(r.object), &scratch_);
  p.strings = item_strings_.Append(scratch_);
  p.strings_bytes = static_cast<uint32_t>(scratch_.size());
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

void ItemResults::Set(size_t i, const ItemResult& r) {
  packed_.Set(i, Pack(r));
  if (loaded_ == i) loaded_ = SIZE_MAX;
}

void ItemResults::SetStatus(size_t i, ItemStatus s, std::string_view reason) {
  // Its strings again with the new reason (the old ones stay unused).
  ItemResult r = (*this)[i];
  r.status = s;
  r.reason = reason;
  Set(i, r);
}

const ItemResults::Strings& ItemResults::Load(size_t i) const {
  if (loaded_ == i) return loaded_strings_;
  const Packed p = packed_.Get(i);
  scratch_.clear();
  // A failed read gives zeros: an offset past the bytes reads nothing.
  if (p.strings + p.strings_bytes <= item_strings_.size()) item_strings_.Read(p.strings, p.strings_bytes, &scratch_);
  std::string_view rest = scratch_;
  for (std::string* s :
       {&loaded_strings_.instrument_key, &loaded_strings_.symbol, &loaded_strings_.reason, &loaded_strings_.object}) {
    s->assign(TakeString(&rest));
  }
  loaded_ = i;
  return loaded_strings_;
}

void ItemResults::Object(size_t i, std::string* out) const {
  const Packed p = packed_.Get(i);
  const Strings& s = Load(i);
  if (p.object_suffix == kNoSplit) {
    out->assign(s.object);
    return;
  }
  out->assign(strings_->View(p.object_prefix));
  out->append(s.instrument_key).append(strings_->View(p.object_suffix));
}

ItemResult ItemResults::operator[](size_t i) const {
  const Packed p = packed_.Get(i);
  ItemResult r;
  r.item.day = CivilFromDays(p.day);
  r.item.data_type = strings_->View(p.data_type);
  r.item.exchange = strings_->View(p.exchange);
  const Strings& s = Load(i);
  r.item.instrument_key = s.instrument_key;
  r.item.symbol = s.symbol;
  r.status = p.status;
  Object(i, &r.object);
  r.reason = s.reason;
  r.absent = p.absent;
  r.bytes = p.bytes;
  r.rows = p.rows;
  if (p.has_first) r.first_local_ts = p.first_local_ts;
  if (p.has_last) r.last_local_ts = p.last_local_ts;
  return r;
}

}  // namespace mt::validate
