#include "validate/expected_items.h"

#include <algorithm>
#include <cstring>

#include "core/external_sort.h"

namespace mt::validate {

namespace {

// An item as stored, so that comparing two as bytes orders them as their
// (day, data type, instrument key, exchange, symbol, object) tuples compare: the
// day's number, its sign flipped, big-endian; then each string with its
// zero bytes as 00 FF, ended by 00 01 (a string before any it is a prefix
// of, as std::string_view compares them). So the sort needs no parsing.
void AppendString(std::string_view s, std::string* out) {
  for (size_t at = 0;;) {
    const size_t zero = s.find('\0', at);
    out->append(s.substr(at, zero == std::string_view::npos ? std::string_view::npos : zero - at));
    if (zero == std::string_view::npos) break;
    out->append("\0\xff", 2);
    at = zero + 1;
  }
  out->append("\0\x01", 2);
}

void Serialize(const ExpectedItem& e, std::string* out) {
  const uint32_t day = static_cast<uint32_t>(DaysFromCivil(e.day.year, e.day.month, e.day.day)) ^ 0x80000000u;
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>((day >> shift) & 0xff));
  for (const std::string* s : {&e.data_type, &e.instrument_key, &e.exchange, &e.symbol, &e.object}) {
    AppendString(*s, out);
  }
}

// The next string AppendString wrote, from *r into *out (a record cut short,
// or of zeros as a failed read gives them, ends its strings early).
void TakeString(std::string_view* r, std::string* out) {
  out->clear();
  while (!r->empty()) {
    const size_t zero = r->find('\0');
    out->append(r->substr(0, zero));
    if (zero == std::string_view::npos || zero + 1 >= r->size()) {
      r->remove_prefix(r->size());
      return;
    }
    const char next = (*r)[zero + 1];
    r->remove_prefix(zero + 2);
    if (next != '\xff') return;
    out->push_back('\0');
  }
}

void Parse(std::string_view r, ExpectedItem* e) {
  uint32_t day = 0;
  for (int k = 0; k < 4; k++) day = day << 8 | static_cast<uint8_t>(k < static_cast<int>(r.size()) ? r[k] : 0);
  r.remove_prefix(std::min<size_t>(4, r.size()));
  // Zeros (a failed read) are day 0, as the fixed records' were.
  e->day = CivilFromDays(day == 0 ? 0 : static_cast<int32_t>(day ^ 0x80000000u));
  for (std::string* s : {&e->data_type, &e->instrument_key, &e->exchange, &e->symbol, &e->object}) TakeString(&r, s);
}

// The bytes of a record that hold its day, data type and instrument key:
// items equal in them are one item.
std::string_view KeyPart(std::string_view r) {
  size_t at = std::min<size_t>(4, r.size());
  for (int ended = 0; ended < 2 && at < r.size();) {
    const size_t zero = r.find('\0', at);
    if (zero == std::string_view::npos || zero + 1 >= r.size()) return r;
    if (r[zero + 1] != '\xff') ended++;
    at = zero + 2;
  }
  return r.substr(0, at);
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
  Parse(scratch_, &item_);
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

const std::string& ExpectedItems::note() const {
  if (!offsets_.note().empty()) return offsets_.note();
  if (!bytes_.note().empty()) return bytes_.note();
  return sort_note_;
}

void ExpectedItems::SortUnique() {
  // Sorted by every field, so the order is one whatever the algorithm's
  // choices and the memory budget: of items with one key the least by
  // exchange and symbol stays (items equal in all are alike).
  auto whole = [](std::string_view a, std::string_view b) { return a < b; };
  ExternalSorter sorter(whole, memory_bytes_ * 2);
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
  if (!sorter.note().empty()) sort_note_ = sorter.note();
  std::string kept;
  while (sorter.Next(&record)) {
    if (!kept.empty() && KeyPart(kept) == KeyPart(record)) continue;
    offsets_.push_back(bytes_.Append(record));
    kept.swap(record);
  }
  sort_status_ = !read.ok() ? read : sorter.status();
}

}  // namespace mt::validate
