#include "validate/expected_items.h"

#include <cstring>
#include <tuple>

#include "core/external_sort.h"

namespace mt::validate {

namespace {

// An item as stored: its day (days since 1970-01-01), then data type,
// instrument key, exchange and symbol, each its length and bytes.
struct Fields {
  int32_t day = 0;
  std::string_view data_type, instrument_key, exchange, symbol;
};

void AppendString(std::string_view s, std::string* out) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  out->append(reinterpret_cast<const char*>(&n), sizeof n);
  out->append(s);
}

void Serialize(const ExpectedItem& e, std::string* out) {
  const int32_t day = static_cast<int32_t>(DaysFromCivil(e.day.year, e.day.month, e.day.day));
  out->append(reinterpret_cast<const char*>(&day), sizeof day);
  for (const std::string* s : {&e.data_type, &e.instrument_key, &e.exchange, &e.symbol}) AppendString(*s, out);
}

// The fields of a record Serialize wrote (of zeros, as a failed read gives
// them: day 0 and empty strings).
Fields Parse(std::string_view r) {
  Fields f;
  auto take = [&r](void* out, size_t n) {
    const size_t k = std::min(n, r.size());
    std::memset(out, 0, n);
    std::memcpy(out, r.data(), k);
    r.remove_prefix(k);
  };
  take(&f.day, sizeof f.day);
  for (std::string_view* s : {&f.data_type, &f.instrument_key, &f.exchange, &f.symbol}) {
    uint32_t n = 0;
    take(&n, sizeof n);
    *s = r.substr(0, n);
    r.remove_prefix(s->size());
  }
  return f;
}

}  // namespace

ExpectedItems::ExpectedItems(std::initializer_list<ExpectedItem> items) {
  for (const ExpectedItem& e : items) push_back(e);
}

ExpectedItems::ExpectedItems(size_t memory_bytes)
    : memory_bytes_(memory_bytes), offsets_(memory_bytes), bytes_(memory_bytes) {}

void ExpectedItems::push_back(const ExpectedItem& e) {
  scratch_.clear();
  Serialize(e, &scratch_);
  offsets_.push_back(bytes_.Append(scratch_));
}

void ExpectedItems::Serialized(size_t i, std::string* out) const {
  const uint64_t first = offsets_.Get(i);
  const uint64_t end = i + 1 < offsets_.size() ? offsets_.Get(i + 1) : bytes_.size();
  // A failed read gives zeros: an offset past the bytes reads nothing.
  if (first < end && end <= bytes_.size()) bytes_.Read(first, static_cast<size_t>(end - first), out);
}

const ExpectedItem& ExpectedItems::Load(size_t i) const {
  if (loaded_ == i) return item_;
  scratch_.clear();
  Serialized(i, &scratch_);
  const Fields f = Parse(scratch_);
  item_.day = CivilFromDays(f.day);
  item_.data_type.assign(f.data_type);
  item_.instrument_key.assign(f.instrument_key);
  item_.exchange.assign(f.exchange);
  item_.symbol.assign(f.symbol);
  loaded_ = i;
  return item_;
}

void ExpectedItems::truncate(size_t n) {
  if (n >= size()) return;
  bytes_.Truncate(offsets_.Get(n));
  offsets_.truncate(n);
  loaded_ = SIZE_MAX;
}

void ExpectedItems::clear() {
  offsets_.clear();
  bytes_.Clear();
  sort_status_ = Status::OK();
  loaded_ = SIZE_MAX;
}

const Status& ExpectedItems::io_status() const {
  if (!offsets_.status().ok()) return offsets_.status();
  if (!bytes_.status().ok()) return bytes_.status();
  return sort_status_;
}

void ExpectedItems::SortUnique() {
  // Sorted by every field, so the order is one whatever the algorithm's
  // choices and the memory budget: of items with one key the least by
  // exchange and symbol stays (items equal in all are alike).
  auto whole = [](std::string_view a, std::string_view b) {
    const Fields x = Parse(a), y = Parse(b);
    return std::tie(x.day, x.data_type, x.instrument_key, x.exchange, x.symbol) <
           std::tie(y.day, y.data_type, y.instrument_key, y.exchange, y.symbol);
  };
  ExternalSorter sorter(whole, memory_bytes_ * 4);
  std::string record;
  for (size_t i = 0; i < size(); i++) {
    record.clear();
    Serialized(i, &record);
    sorter.Add(record);
  }
  // Items that failed to read back keep saying so once sorted (they are
  // zeros now).
  const Status read = io_status();
  clear();
  sort_runs_ = sorter.runs();
  std::string kept;
  while (sorter.Next(&record)) {
    if (!kept.empty()) {
      const Fields a = Parse(kept), b = Parse(record);
      if (std::tie(a.day, a.data_type, a.instrument_key) == std::tie(b.day, b.data_type, b.instrument_key)) continue;
    }
    offsets_.push_back(bytes_.Append(record));
    kept.swap(record);
  }
  sort_status_ = !read.ok() ? read : sorter.status();
}

}  // namespace mt::validate
