#include "validate/item_results.h"

namespace mt::validate {

ItemResults::ItemResults(const std::vector<ItemResult>& items) {
  packed_.reserve(items.size());
  for (const auto& r : items) push_back(r);
}

ItemResults::Packed ItemResults::Pack(const ItemResult& r, uint32_t reuse) {
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
  const bool timestamps = r.first_local_ts || r.last_local_ts;
  if (r.rows == -1 && r.bytes == 0 && !timestamps) return p;
  if (reuse == kNone) {
    reuse = static_cast<uint32_t>(found_.size());
    found_.emplace_back();
  }
  Found& f = found_[reuse];
  f.rows = r.rows;
  f.bytes = r.bytes;
  if (timestamps) {
    if (f.timestamps == kNone) {
      f.timestamps = static_cast<uint32_t>(timestamps_.size());
      timestamps_.emplace_back();
    }
    timestamps_[f.timestamps] = Timestamps{r.first_local_ts, r.last_local_ts};
  } else if (f.timestamps != kNone) {
    timestamps_[f.timestamps] = Timestamps{};
  }
  p.found = reuse;
  return p;
}

void ItemResults::push_back(const ItemResult& r) { packed_.push_back(Pack(r, kNone)); }

void ItemResults::Set(size_t i, const ItemResult& r) { packed_[i] = Pack(r, packed_[i].found); }

void ItemResults::SetStatus(size_t i, ItemStatus s, std::string_view reason) {
  packed_[i].status = s;
  packed_[i].reason = strings_->Intern(reason);
}

void ItemResults::Object(size_t i, std::string* out) const {
  const Packed& p = packed_[i];
  out->assign(strings_->View(p.object_prefix));
  if (p.object_suffix != kNoSplit) {
    out->append(strings_->View(p.instrument_key)).append(strings_->View(p.object_suffix));
  }
}

ItemResult ItemResults::operator[](size_t i) const {
  const Packed& p = packed_[i];
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
  if (p.found != kNone) {
    const Found& f = found_[p.found];
    r.bytes = f.bytes;
    r.rows = f.rows;
    if (f.timestamps != kNone) {
      r.first_local_ts = timestamps_[f.timestamps].first;
      r.last_local_ts = timestamps_[f.timestamps].last;
    }
  }
  return r;
}

}  // namespace mt::validate
