// In-memory column values of one row group, filled by the CSV parser and
// consumed by the column encoder. Values are dense: a null adds a 0 to
// `defined` and nothing to the value vector. A component of its own, so that
// tardis/ (the parser) and parquet/ (the writer) share it without depending
// on each other.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "columnar/pod_vector.h"

namespace mt::columnar {

enum class ColumnKind : uint8_t { kTimestampMicros, kDouble, kString, kBool };

// Strings are dictionary-encoded as they arrive (exchange, symbol, side take
// one comparison per row) and fall back to a plain arena when the dictionary
// stops paying (unique trade ids).
// memcpy of a short value, writing only [d, d + n): 4 to 16 bytes (a trade
// id) as two overlapping words, not a memcpy call.
inline __attribute__((always_inline)) void CopyShort(char* d, const char* s, size_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t a, b;
    std::memcpy(&a, s, 8);
    std::memcpy(&b, s + n - 8, 8);
    std::memcpy(d, &a, 8);
    std::memcpy(d + n - 8, &b, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t a, b;
    std::memcpy(&a, s, 4);
    std::memcpy(&b, s + n - 4, 4);
    std::memcpy(d, &a, 4);
    std::memcpy(d + n - 4, &b, 4);
  } else if (n > 0) {
    std::memcpy(d, s, n);
  }
}

class StringColumn {
 public:
  static constexpr size_t kMaxDictEntries = 1 << 16;
  static constexpr size_t kMaxDictBytes = 1 << 20;
  // A column whose first kDistinctProbe values all differ (trade ids) goes
  // plain then, not after filling the dictionary: a dictionary would not pay,
  // and every entry costs a hash-table node. Columns with many distinct but
  // recurring values (the instruments of an options chain) repeat before.
  static constexpr size_t kDistinctProbe = 1 << 14;

  explicit StringColumn(bool start_in_dict_mode = true) : dict_mode_(start_in_dict_mode) {}

  // Runs for every string field: the common cases inline (the previous
  // value again, one of a handful, a plain value), hashing out of line.
  inline __attribute__((always_inline)) void Append(std::string_view s) {
    if (dict_mode_) {
      // Most rows repeat the previous value (exchange, symbol) or one of a
      // handful (side): compare before hashing.
      if (size() > 0 && Equal(s, dict_[last_index_])) {
        PushIndex(last_index_);
        return;
      }
      uint32_t i;
      if (FindInSmallDict(s, &i)) {
        last_index_ = i;
        PushIndex(i);
        return;
      }
      if (AppendToDict(s)) return;
    }
    offsets_.push_back(static_cast<uint32_t>(bytes_.size()));
    AppendBytes(s.data(), s.size());
  }

  // The key AppendKeyed() takes for a value of n = 1 to 7 bytes: its bytes
  // in the low bytes of a little-endian word, its length in the top byte.
  // `word` holds the value's bytes first; what follows them is dropped (so
  // the parser can pass one 8-byte load).
  static inline __attribute__((always_inline)) uint64_t ShortKey(uint64_t word, size_t n) {
    return (word & ((1ULL << (8 * n)) - 1)) | static_cast<uint64_t>(n) << 56;
  }
  static uint64_t ShortKey(std::string_view s) {
    uint64_t w = 0;
    std::memcpy(&w, s.data(), s.size());
    return ShortKey(w, s.size());
  }
  // Append(s) for a value of 1 to 7 bytes whose ShortKey is `key` (the
  // parser builds it from one 8-byte load). A value among the first four of
  // the dictionary (side: "buy"/"sell", "bid"/"ask") is found by four
  // compares combined without a branch: with the sides in random order, the
  // compare with the previous value that Append() starts with mispredicts
  // for every other row.
  inline __attribute__((always_inline)) void AppendKeyed(std::string_view s, uint64_t key) {
    if (dict_mode_) {
      const uint32_t m = static_cast<uint32_t>(key == small_keys_[0]) |
                         static_cast<uint32_t>(key == small_keys_[1]) << 1 |
                         static_cast<uint32_t>(key == small_keys_[2]) << 2 |
                         static_cast<uint32_t>(key == small_keys_[3]) << 3;
      if (__builtin_expect(m != 0, 1)) {
        const uint32_t i = static_cast<uint32_t>(__builtin_ctz(m));
        last_index_ = i;
        PushIndex(i);
        return;
      }
    }
    Append(s);
  }

  // Appends values [begin, end) of `src`: dictionary indices are remapped
  // (one lookup per distinct value, not per row) and plain bytes copied in
  // bulk. Joins column fragments parsed on different threads. The map is
  // kept in `src` for the next call while both dictionaries only grow, so
  // two threads must not append from one source at once.
  void AppendRange(const StringColumn& src, size_t begin, size_t end);

  // Plain mode only: room for `count` more values with `text_bytes` bytes of
  // text in all, for the caller to fill: each value's start in the text
  // (counted from text_size() before the call) at *offsets, the text at the
  // returned pointer. Sized exactly, no growth slack.
  char* ExtendPlain(size_t count, size_t text_bytes, uint32_t** offsets) {
    offsets_.reserve(offsets_.size() + count);
    bytes_.reserve(bytes_.size() + text_bytes);
    *offsets = offsets_.Extend(count);
    return bytes_.Extend(text_bytes);
  }
  size_t text_size() const { return bytes_.size(); }

  // Empties the column, keeping its memory for the next rows. With
  // `keep_dict`, a dictionary column that stays one keeps its dictionary
  // (while it is small, kKeepDictEntries): the next rows find their values
  // without adding them again. Its entries then need not all occur in the
  // rows, so only a column whose dictionary nobody writes out may keep it
  // (a parsed block, joined by AppendRange, which maps only what occurs).
  void Clear(bool dict_mode, bool keep_dict = false) {
    const bool keep = keep_dict && dict_mode && dict_mode_ && dict_.size() <= kKeepDictEntries &&
                      dict_bytes_ <= kKeepDictBytes;
    dict_mode_ = dict_mode;
    indices_.clear();
    const_count_ = 0;
    last_index_ = 0;
    offsets_.clear();
    bytes_.clear();
    if (keep) return;
    ResetDict();
  }

  // Clear(.., true) keeps at most this many dictionary entries (and bytes).
  static constexpr size_t kKeepDictEntries = 1 << 13;
  static constexpr size_t kKeepDictBytes = 1 << 17;

  // The dictionary index of the value appended last. REQUIRES: dict_mode(),
  // size() > 0.
  uint32_t last_index() const { return last_index_; }
  // Names the dictionary's contents: the same while entries are only added
  // (their indices stay valid), another once it is emptied or copied.
  uint64_t dict_id() const { return dict_id_.value(); }
  // Appends dictionary entry i again (an index last_index() gave for this
  // column). REQUIRES: dict_mode(), i < dict().size().
  void AppendIndex(uint32_t i) {
    last_index_ = i;
    PushIndex(i);
  }
  // Appends the previous row's value again; false when there is none to
  // repeat (start of a batch, or plain mode).
  bool CanRepeatLast() const { return dict_mode_ && size() > 0; }
  // REQUIRES: CanRepeatLast().
  void RepeatLast() {
    if (indices_.empty()) {
      const_count_++;  // only dict_[0] so far
    } else {
      indices_.push_back(last_index_);
    }
  }

  void Reserve(size_t n, size_t bytes = 0) {
    if (dict_mode_) {
      reserve_hint_ = n;  // taken when indices are first stored
    } else {
      offsets_.reserve(n);
      bytes_.reserve(bytes);
    }
  }
  // Bytes of all values' text, as a plain column would hold them.
  size_t ValueBytes() const {
    if (!dict_mode_) return bytes_.size();
    if (indices_.empty()) return dict_.empty() ? 0 : const_count_ * dict_[0].size();
    size_t n = 0;
    for (uint32_t i : indices_) n += dict_[i].size();
    return n;
  }
  // One value repeated (exchange and symbol of a one-instrument file): no
  // index is stored, only the count.
  bool constant() const { return dict_mode_ && indices_.empty() && const_count_ > 0; }
  size_t size() const {
    return dict_mode_ ? (indices_.empty() ? const_count_ : indices_.size()) : offsets_.size();
  }
  bool dict_mode() const { return dict_mode_; }
  std::string_view Get(size_t i) const {
    if (dict_mode_) return dict_[indices_.empty() ? 0 : indices_[i]];
    const uint32_t b = offsets_[i];
    const uint32_t e = i + 1 < offsets_.size() ? offsets_[i + 1] : static_cast<uint32_t>(bytes_.size());
    return std::string_view(bytes_.data() + b, e - b);
  }
  const std::vector<std::string>& dict() const { return dict_; }
  // REQUIRES: dict_mode() && !constant().
  const PodVector<uint32_t>& indices() const { return indices_; }
  size_t MemoryBytes() const {
    return indices_.size() * 4 + offsets_.size() * 4 + bytes_.size() + dict_bytes_ + dict_.size() * 48;
  }

 private:
  // A dictionary's identity: a fresh value on construction and on copy
  // (a copy may then be added to apart from its original), moved with the
  // dictionary, the moved-from column getting a fresh one.
  class DictId {
   public:
    using Value = uint64_t;
    DictId() : v_(Next()) {}
    DictId(const DictId&) : v_(Next()) {}
    DictId(DictId&& o) noexcept : v_(o.v_) { o.v_ = Next(); }
    DictId& operator=(const DictId&) {
      v_ = Next();
      return *this;
    }
    DictId& operator=(DictId&& o) noexcept {
      v_ = o.v_;
      o.v_ = Next();
      return *this;
    }
    Value value() const { return v_; }

   private:
    static Value Next() {
      static std::atomic<Value> next{1};
      return next.fetch_add(1, std::memory_order_relaxed);
    }
    Value v_;
  };
  // Values up to 24 bytes (side, exchange, symbols) compare as overlapping words.
  static inline __attribute__((always_inline)) bool Equal(std::string_view a, const std::string& b) {
    const size_t n = a.size();
    if (n != b.size()) return false;
    const char* x = a.data();
    const char* y = b.data();
    if (n >= 4 && n <= 8) {
      uint32_t x0, y0, x1, y1;
      std::memcpy(&x0, x, 4);
      std::memcpy(&y0, y, 4);
      std::memcpy(&x1, x + n - 4, 4);
      std::memcpy(&y1, y + n - 4, 4);
      return x0 == y0 && x1 == y1;
    }
    if (n < 4) return n == 0 || (x[0] == y[0] && x[n / 2] == y[n / 2] && x[n - 1] == y[n - 1]);
    if (n <= 24) {
      // Three words that cover every byte (symbols: 15-25 bytes), no call.
      const size_t m = n < 16 ? n - 8 : 8;
      uint64_t a0, b0, a1, b1, a2, b2;
      std::memcpy(&a0, x, 8);
      std::memcpy(&b0, y, 8);
      std::memcpy(&a1, x + m, 8);
      std::memcpy(&b1, y + m, 8);
      std::memcpy(&a2, x + n - 8, 8);
      std::memcpy(&b2, y + n - 8, 8);
      return ((a0 ^ b0) | (a1 ^ b1) | (a2 ^ b2)) == 0;
    }
    return std::memcmp(x, y, n) == 0;
  }
  // The index of `s` in a dictionary of at most 4 values (side, exchange),
  // by comparing, not hashing; false when not there or the dictionary is
  // bigger.
  inline __attribute__((always_inline)) bool FindInSmallDict(std::string_view s, uint32_t* index) const {
    if (dict_.size() > 4) return false;
    for (uint32_t i = 0; i < dict_.size(); i++) {
      if (Equal(s, dict_[i])) {
        *index = i;
        return true;
      }
    }
    return false;
  }
  // Append's dictionary lookup; false when the column has just gone plain.
  __attribute__((noinline)) bool AppendToDict(std::string_view s) {
    uint32_t i;
    if (!Intern(s, &i)) return false;
    last_index_ = i;
    PushIndex(i);
    return true;
  }
  // Plain bytes (CopyShort).
  inline __attribute__((always_inline)) void AppendBytes(const char* s, size_t n) { CopyShort(bytes_.Extend(n), s, n); }
  // The dictionary index of `s`, added when new. False (and the column is
  // then plain) when the dictionary is full.
  bool Intern(std::string_view s, uint32_t* index) {
    // Up to four entries (side, exchange) are compared one by one; past
    // that a hash table of indices with a tag of the hash, and each entry's
    // words in one dense array (keys_): a lookup reads a slot and a key
    // rather than a std::string and then its heap bytes (the symbols of a
    // grouped file: thousands, in no order, in every parsed block).
    const bool small = dict_.size() <= 4;
    if (small && FindInSmallDict(s, index)) return true;
    const Words w = WordsOf(s);
    size_t slot = 0;
    if (!small && FindInTable(s, w, &slot, index)) return true;
    if (dict_.size() < kMaxDictEntries && dict_bytes_ + s.size() <= kMaxDictBytes &&
        !(dict_.size() == kDistinctProbe && size() == kDistinctProbe)) {
      *index = static_cast<uint32_t>(dict_.size());
      dict_.emplace_back(s);
      keys_.push_back(Key{w.a, w.b, w.c, s.size()});
      if (*index < 4 && !s.empty() && s.size() <= 7) small_keys_[*index] = ShortKey(s);
      dict_bytes_ += s.size();
      if (dict_.size() == 5) {
        BuildTable();  // the four compared entries and this one
      } else if (dict_.size() > 5) {
        if (2 * (table_used_ + 1) > table_.size()) {
          BuildTable();
        } else {
          Place(slot, w, s.size(), *index);
        }
      }
      return true;
    }
    SwitchToPlain();
    return false;
  }

  // A value's bytes as three words (with its length, the whole value for
  // up to 24 bytes): the first eight, eight more that cover up to the
  // sixteenth, the last eight; shorter values fill the first word,
  // zero-extended. A longer value (an options chain's instrument keys, which
  // share their first 16 bytes) has a hash of all its bytes as the second
  // word, and is also compared byte by byte.
  struct Words {
    uint64_t a = 0, b = 0, c = 0;
  };
  static uint64_t LongHash(const char* x, size_t n) {
    uint64_t h = n;
    for (size_t i = 0; i + 8 <= n; i += 8) {
      uint64_t v;
      std::memcpy(&v, x + i, 8);
      h = (h ^ v) * 0x9E3779B97F4A7C15ULL;
      h ^= h >> 29;
    }
    return h;
  }
  static inline __attribute__((always_inline)) Words WordsOf(std::string_view s) {
    Words w;
    const size_t n = s.size();
    const char* x = s.data();
    if (n >= 8) {
      std::memcpy(&w.a, x, 8);
      std::memcpy(&w.c, x + n - 8, 8);
      if (__builtin_expect(n > 24, 0)) {
        w.b = LongHash(x, n);
      } else {
        std::memcpy(&w.b, x + (n < 16 ? n - 8 : 8), 8);
      }
    } else if (n >= 4) {
      uint32_t lo, hi;
      std::memcpy(&lo, x, 4);
      std::memcpy(&hi, x + n - 4, 4);
      w.a = lo | static_cast<uint64_t>(hi) << 32;
    } else if (n > 0) {
      w.a = static_cast<uint8_t>(x[0]) | static_cast<uint64_t>(static_cast<uint8_t>(x[n / 2])) << 8 |
            static_cast<uint64_t>(static_cast<uint8_t>(x[n - 1])) << 16;
    }
    return w;
  }
  // Hash of a value from its words and length: the slot from the top bits,
  // a tag from bits 17-31.
  static inline __attribute__((always_inline)) uint64_t HashOf(const Words& w, size_t n) {
    return w.a * 0x9E3779B97F4A7C15ULL ^ w.b * 0xC2B2AE3D27D4EB4FULL ^ (w.c + n) * 0x165667B19E3779F9ULL;
  }
  // A slot: dictionary index + 1 in the low kIndexBits (0: empty), the
  // hash's tag above, so most probes of another value end without reading
  // its words.
  static constexpr unsigned kIndexBits = 17;  // kMaxDictEntries + 1 values
  static constexpr uint32_t kIndexMask = (1u << kIndexBits) - 1;
  static uint32_t TagOf(uint64_t h) { return static_cast<uint32_t>(h) & ~kIndexMask; }
  // Linear probing; on a miss *slot is the empty slot where `s` goes.
  inline __attribute__((always_inline)) bool FindInTable(std::string_view s, const Words& w, size_t* slot,
                                                         uint32_t* index) const {
    const uint64_t h = HashOf(w, s.size());
    const uint32_t tag = TagOf(h);
    const size_t mask = table_.size() - 1;
    for (size_t i = static_cast<size_t>(h >> table_shift_);; i = (i + 1) & mask) {
      const uint32_t t = table_[i];
      if (t == 0) {
        *slot = i;
        return false;
      }
      if ((t & ~kIndexMask) != tag) continue;
      const uint32_t k = (t & kIndexMask) - 1;
      const Key& key = keys_[k];
      if (((key.a ^ w.a) | (key.b ^ w.b) | (key.c ^ w.c)) == 0 && key.size == s.size() &&
          (s.size() <= 24 || std::memcmp(s.data(), dict_[k].data(), s.size()) == 0)) {
        *index = k;
        return true;
      }
    }
  }
  void Place(size_t slot, const Words& w, size_t n, uint32_t index) {
    table_[slot] = TagOf(HashOf(w, n)) | (index + 1);
    table_used_++;
  }
  // Sizes the table for the dictionary (at most a quarter full) and enters
  // every entry.
  __attribute__((noinline)) void BuildTable() {
    size_t slots = 16;
    while (slots < 4 * dict_.size()) slots *= 2;
    table_.assign(slots, 0);
    table_shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(slots));
    table_used_ = 0;
    const size_t mask = slots - 1;
    for (uint32_t k = 0; k < keys_.size(); k++) {
      const Key& key = keys_[k];
      const Words w{key.a, key.b, key.c};
      size_t i = static_cast<size_t>(HashOf(w, key.size) >> table_shift_);
      while (table_[i] != 0) i = (i + 1) & mask;
      Place(i, w, key.size, k);
    }
  }
  void ResetDict() {
    dict_.clear();
    keys_.clear();
    ClearShortKeys();
    table_used_ = 0;  // the slots are rewritten by BuildTable() at the fifth entry
    dict_bytes_ = 0;
    dict_id_ = DictId();
  }
  // Runs for every value: the common cases inline, the switch from a
  // constant run to stored indices out of line.
  inline __attribute__((always_inline)) void PushIndex(uint32_t i) {
    if (!indices_.empty()) {  // the common case once two values were seen
      indices_.push_back(i);
    } else if (i == 0 && dict_.size() == 1) {
      const_count_++;
    } else {
      StartIndices(i);
    }
  }
  __attribute__((noinline)) void StartIndices(uint32_t i) {
    indices_.reserve(std::max<size_t>(reserve_hint_, const_count_ + 1));
    indices_.assign(const_count_, 0);
    const_count_ = 0;
    indices_.push_back(i);
  }

  void SwitchToPlain() {
    const size_t n = size();
    offsets_.reserve(n * 2);
    for (size_t r = 0; r < n; r++) {
      const std::string& v = dict_[indices_.empty() ? 0 : indices_[r]];
      offsets_.push_back(static_cast<uint32_t>(bytes_.size()));
      bytes_.append(v.data(), v.data() + v.size());
    }
    const_count_ = 0;
    indices_.clear();
    indices_.shrink_to_fit();
    ResetDict();
    std::vector<uint32_t>().swap(table_);  // their memory too
    std::vector<Key>().swap(keys_);
    dict_mode_ = false;
  }

  // A key no value has (length byte 0xFF).
  static constexpr uint64_t kNoShortKey = ~0ULL;
  void ClearShortKeys() {
    for (uint64_t& k : small_keys_) k = kNoShortKey;
  }

  bool dict_mode_;
  std::vector<std::string> dict_;
  // ShortKey() of dict_[0..3], or kNoShortKey (no such entry, or one longer
  // than 7 bytes).
  uint64_t small_keys_[4] = {kNoShortKey, kNoShortKey, kNoShortKey, kNoShortKey};
  // Intern's hash table, once the dictionary has more than four entries
  // (a power of two of slots, at most half full).
  std::vector<uint32_t> table_;
  // The Words of each dictionary entry, with its length: what the table's
  // lookups compare, dense (not each entry's heap bytes).
  struct Key {
    uint64_t a, b, c;
    size_t size;
  };
  std::vector<Key> keys_;
  size_t table_used_ = 0;
  unsigned table_shift_ = 60;  // 64 - log2(table_.size())
  // Names the dictionary's contents: a new id whenever it is emptied or
  // copied, kept while entries are only added, so AppendRange can keep its
  // index map from one source's dictionary to one destination's.
  DictId dict_id_;
  // AppendRange's map from this column's (the source's) indices to those of
  // the destination whose dictionary is remap_dst_, +1 (0: not mapped yet),
  // valid while this column's dictionary is still remap_src_.
  mutable std::vector<uint32_t> remap_;
  mutable DictId::Value remap_src_ = 0, remap_dst_ = 0;
  PodVector<uint32_t> indices_;
  size_t const_count_ = 0;   // values while only dict_[0] was seen and indices_ is empty
  size_t reserve_hint_ = 0;
  uint32_t last_index_ = 0;
  size_t dict_bytes_ = 0;
  PodVector<uint32_t> offsets_;
  PodVector<char> bytes_;
};

// Bytes a row takes in a column's value vector: a timestamp or double, a
// boolean, or a string's dictionary index or plain offset (its text aside).
inline size_t FixedValueBytes(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kTimestampMicros:
    case ColumnKind::kDouble: return 8;
    case ColumnKind::kBool: return 1;
    case ColumnKind::kString: return 4;
  }
  return 8;
}

struct ColumnData {
  ColumnKind kind = ColumnKind::kDouble;
  bool nullable = true;
  // Definition levels: empty while every row has a value (most columns of
  // most files: no byte per row to write or encode); one byte per row
  // (1 = has a value) once a null arrives. Values are dense either way.
  PodVector<uint8_t> defined;
  size_t null_count = 0;
  PodVector<int64_t> i64;        // kTimestampMicros
  PodVector<double> f64;         // kDouble
  PodVector<uint8_t> b;          // kBool (0/1)
  StringColumn str;              // kString

  bool IsDefined(size_t row) const { return defined.empty() || defined[row] != 0; }
  // A row with a value.
  inline __attribute__((always_inline)) void AddDefined() {
    if (!defined.empty()) defined.push_back(1);
  }
  // A null in row `row` (the rows before it are already added).
  void AddNull(size_t row) {
    if (defined.empty()) defined.assign(row, 1);
    defined.push_back(0);
    null_count++;
  }

  // Frees the values (kind and nullability stay): a column that is encoded
  // gives its memory back for the next column's encoding and the next batch.
  void Release() {
    ColumnData empty;
    empty.kind = kind;
    empty.nullable = nullable;
    *this = std::move(empty);
  }

  size_t num_values() const {
    switch (kind) {
      case ColumnKind::kTimestampMicros: return i64.size();
      case ColumnKind::kDouble: return f64.size();
      case ColumnKind::kBool: return b.size();
      case ColumnKind::kString: return str.size();
    }
    return 0;
  }
  size_t MemoryBytes() const {
    return defined.size() + i64.size() * 8 + f64.size() * 8 + b.size() + str.MemoryBytes();
  }
};

struct ColumnSpec {
  std::string name;
  ColumnKind kind;
  bool nullable;
};

// The columns of one row group, in schema order.
struct RowGroupData {
  std::vector<ColumnData> columns;
  size_t num_rows = 0;

  size_t MemoryBytes() const {
    size_t n = 0;
    for (const auto& c : columns) n += c.MemoryBytes();
    return n;
  }
};

// An empty row group for `schema`. `plain_strings[i]` starts string column i
// in plain mode (the previous row group found its dictionary did not pay).
RowGroupData MakeRowGroup(const std::vector<ColumnSpec>& schema,
                          const std::vector<bool>* plain_strings = nullptr);

// Reserves room for `rows` rows in every column of `rg`, and for a plain
// string column i `text_bytes[i]` bytes of text (when given), so filling it
// regrows nothing.
void ReserveRows(RowGroupData* rg, size_t rows, const std::vector<size_t>* text_bytes = nullptr);

// Bytes of text of each plain string column of `rg` (0 for the other
// columns): what the next batch reserves for it.
std::vector<size_t> PlainTextBytes(const RowGroupData& rg);

// Empties `rg` for reuse with the same schema (memory kept); string column i
// starts plain when `plain_strings[i]`. `keep_dicts`: dictionary columns keep
// their dictionaries (StringColumn::Clear), for a parsed block only.
void ClearRowGroup(RowGroupData* rg, const std::vector<bool>& plain_strings, bool keep_dicts = false);

// Appends rows [row_begin, row_end) of `src` to `dst` (same schema).
// `value_cursor[c]` is the index of row_begin's first value in column c (values
// are dense: nulls have none) and is advanced past the rows appended. One
// thread at a time per `src` (StringColumn::AppendRange keeps a map in it).
void AppendRows(const RowGroupData& src, size_t row_begin, size_t row_end,
                std::vector<size_t>* value_cursor, RowGroupData* dst);

}  // namespace mt::columnar
