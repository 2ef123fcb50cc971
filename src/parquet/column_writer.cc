#include "parquet/column_writer.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "core/crc32c.h"
#include "parquet/encoders/byte_stream_split.h"
#include "parquet/encoders/delta_binary_packed.h"
#include "parquet/encoders/delta_byte_array.h"
#include "parquet/encoders/plain.h"
#include "parquet/encoders/rle_hybrid.h"
#include "parquet/thrift_compact.h"

namespace mt::parquet {

using columnar::ColumnData;
using columnar::ColumnKind;
using columnar::PodVector;
using columnar::StringColumn;

PhysicalType PhysicalTypeOf(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kTimestampMicros: return PhysicalType::kInt64;
    case ColumnKind::kDouble: return PhysicalType::kDouble;
    case ColumnKind::kString: return PhysicalType::kByteArray;
    case ColumnKind::kBool: return PhysicalType::kBoolean;
  }
  return PhysicalType::kByteArray;
}

namespace {

// Dictionary of doubles keyed by bit pattern (so -0.0, 0.0 and NaN payloads
// stay distinct and round-trip exactly). Open addressing; gives up past `limit`.
// One per thread (thread_local below): its buffers are reused across chunks.
class DoubleDictionary {
 public:
  bool Build(const double* v, size_t n, size_t limit) {
    // The table starts small and doubles at half load: a few thousand
    // distinct prices stay in L1/L2 instead of a table sized for the limit.
    // Indices are handed out in first-seen order whatever the table size.
    Reset(1024, 10);
    values_.clear();
    indices_.resize(n);
    uint32_t* indices = indices_.data();
    // Locals: the stores into the tables could otherwise alias the members.
    uint64_t* keys = keys_.data();
    uint32_t* slots = slots_.data();
    size_t mask = mask_;
    int shift = shift_;
    for (size_t i = 0; i < n; i++) {
      uint64_t bits;
      std::memcpy(&bits, &v[i], 8);
      size_t h = static_cast<size_t>((bits * 0x9E3779B97F4A7C15ULL) >> shift);
      while (true) {
        const uint32_t s = slots[h];
        if (s == kEmpty) {
          if (values_.size() >= limit) return false;
          const uint32_t id = static_cast<uint32_t>(values_.size());
          slots[h] = id;
          keys[h] = bits;
          indices[i] = id;
          values_.push_back(bits);
          if (values_.size() * 2 > mask + 1) {
            Grow();
            keys = keys_.data();
            slots = slots_.data();
            mask = mask_;
            shift = shift_;
          }
          break;
        }
        if (keys[h] == bits) {
          indices[i] = s;
          break;
        }
        h = (h + 1) & mask;
      }
    }
    SortByValue();
    return true;
  }
  const std::vector<uint64_t>& values() const { return values_; }
  const std::vector<uint32_t>& indices() const { return indices_; }

 private:
  // Indices in value order: neighbouring prices and amounts get neighbouring
  // indices, so the bit-packed indices repeat byte patterns that ZSTD finds
  // (smaller price and amount columns than first-seen order; bench/README.md).
  // Equal values (-0.0 and 0.0) keep first-seen order; NaNs go last, in
  // first-seen order. An LSD radix sort on an order-preserving integer key
  // (stable, so ties stay in first-seen order), skipping the byte positions
  // all keys share (sign, exponent and high mantissa of a price range).
  void SortByValue() {
    const size_t n = values_.size();
    sort_a_.resize(n);
    sort_b_.resize(n);
    uint32_t hist[8][256] = {};
    for (uint32_t r = 0; r < n; r++) {
      uint64_t bits = values_[r];
      uint64_t key;
      if ((bits & 0x7FFFFFFFFFFFFFFFULL) > 0x7FF0000000000000ULL) {
        key = ~0ULL;  // NaN
      } else {
        if (bits == 0x8000000000000000ULL) bits = 0;  // -0.0 sorts with 0.0
        key = (bits >> 63) ? ~bits : bits | 0x8000000000000000ULL;
      }
      sort_a_[r] = {key, r};
      for (int d = 0; d < 8; d++) hist[d][(key >> (8 * d)) & 0xFF]++;
    }
    KeyIndex* src = sort_a_.data();
    KeyIndex* dst = sort_b_.data();
    for (int d = 0; d < 8 && n > 1; d++) {
      if (hist[d][(src[0].key >> (8 * d)) & 0xFF] == n) continue;  // one bucket: order kept
      uint32_t pos[256];
      uint32_t sum = 0;
      for (int b = 0; b < 256; b++) {
        pos[b] = sum;
        sum += hist[d][b];
      }
      for (size_t r = 0; r < n; r++) dst[pos[(src[r].key >> (8 * d)) & 0xFF]++] = src[r];
      std::swap(src, dst);
    }
    remap_.resize(n);
    sorted_.resize(n);
    for (uint32_t r = 0; r < n; r++) {
      remap_[src[r].index] = r;
      sorted_[r] = values_[src[r].index];
    }
    values_.swap(sorted_);
    const uint32_t* remap = remap_.data();
    for (uint32_t& i : indices_) i = remap[i];
  }

  struct KeyIndex {
    uint64_t key;
    uint32_t index;
  };
  // The slot holds the key next to its index: a probe is one load, not
  // slot -> values_ (two dependent cache misses). Fibonacci hashing: the top
  // bits of the product mix every input bit (prices differ mostly in low
  // mantissa bits).
  void Reset(size_t cap, int log2) {
    keys_.resize(cap);
    slots_.assign(cap, kEmpty);
    mask_ = cap - 1;
    shift_ = 64 - log2;
  }
  void Grow() {
    Reset((mask_ + 1) * 2, 64 - shift_ + 1);
    for (uint32_t id = 0; id < values_.size(); id++) {
      const uint64_t bits = values_[id];
      size_t h = static_cast<size_t>((bits * 0x9E3779B97F4A7C15ULL) >> shift_);
      while (slots_[h] != kEmpty) h = (h + 1) & mask_;
      slots_[h] = id;
      keys_[h] = bits;
    }
  }
  static constexpr uint32_t kEmpty = 0xFFFFFFFFu;

 public:
  // Bytes its buffers hold (ThreadEncodeScratchBytes).
  size_t CapacityBytes() const {
    return keys_.capacity() * 8 + slots_.capacity() * 4 + values_.capacity() * 8 + indices_.capacity() * 4 +
           (sort_a_.capacity() + sort_b_.capacity()) * sizeof(KeyIndex) + remap_.capacity() * 4 +
           sorted_.capacity() * 8;
  }

 private:
  std::vector<uint64_t> keys_;
  std::vector<uint32_t> slots_;
  size_t mask_ = 0;
  int shift_ = 54;
  std::vector<uint64_t> values_;
  std::vector<uint32_t> indices_;
  std::vector<KeyIndex> sort_a_, sort_b_;
  std::vector<uint32_t> remap_;
  std::vector<uint64_t> sorted_;
};

// `stored`: the page's bytes after the header, whose CRC-32 the header
// carries: a reader that checks it finds a page damaged on a disk or on its
// way (a ranged read of a cloud object has no checksum of its own).
void PutPageHeader(std::string* out, PageType type, int32_t uncompressed, std::string_view stored, int32_t num_values,
                   Encoding enc, bool dictionary_page) {
  ThriftWriter w(out);
  w.BeginStruct();
  w.FieldI32(fid::kPhType, static_cast<int32_t>(type));
  w.FieldI32(fid::kPhUncompressedSize, uncompressed);
  w.FieldI32(fid::kPhCompressedSize, static_cast<int32_t>(stored.size()));
  w.FieldI32(fid::kPhCrc, static_cast<int32_t>(Crc32(stored)));
  if (dictionary_page) {
    w.FieldStruct(fid::kPhDictionaryPageHeader);
    w.FieldI32(fid::kDictNumValues, num_values);
    w.FieldI32(fid::kDictEncoding, static_cast<int32_t>(Encoding::kPlain));
    w.EndStruct();
  } else {
    w.FieldStruct(fid::kPhDataPageHeader);
    w.FieldI32(fid::kDpNumValues, num_values);
    w.FieldI32(fid::kDpEncoding, static_cast<int32_t>(enc));
    w.FieldI32(fid::kDpDefLevelEncoding, static_cast<int32_t>(Encoding::kRle));
    w.FieldI32(fid::kDpRepLevelEncoding, static_cast<int32_t>(Encoding::kRle));
    w.EndStruct();
  }
  w.EndStruct();
}

class ChunkBuilder {
 public:
  // `raw` (the thread's scratch) holds the chunk's pages uncompressed while
  // they stay within kRawChoiceBytes, for Finish() to choose.
  ChunkBuilder(const PageCompressors& comps, EncodedChunk* out, std::string* raw)
      : comp_(comps.main),
        fast_(comps.fast),
        small_dba_(comps.small_dba ? comps.small_dba : comps.fast),
        small_packed_(comps.small_packed ? comps.small_packed : comps.fast),
        fast_below_(comps.fast ? comps.fast_below : 0),
        out_(out),
        raw_(raw) {
    out_->codec = comp_->codec();
    keep_raw_ = out_->codec != Codec::kUncompressed;
    raw_->clear();
  }

  // Called first, with the sum of the chunk's page bodies. A chunk under
  // kTinyChunkBytes is stored uncompressed without trying: a compressor
  // call costs about the same whatever the input's size, and bodies this
  // small do not shrink (a zstd frame's own header and block header take
  // about what it could save); a grouped file's thousands of objects have
  // such chunks in every constant column.
  void BeginPages(size_t body_bytes) {
    if (body_bytes >= kTinyChunkBytes || out_->codec == Codec::kUncompressed) return;
    tiny_ = true;
    out_->codec = Codec::kUncompressed;
    keep_raw_ = false;
  }

  // Called once, after the dictionary page and before the data pages, with
  // the data pages' bodies in sequence: their compressor is chosen for the
  // chunk, not for its first page (a chunk's pages share its data's shape).
  Status BeginDataPages(std::string_view data) {
    data_comp_ = comp_;
    if (!fast_ || tiny_) return Status::OK();
    if (data.size() < fast_below_) {
      small_data_ = true;
      return Status::OK();
    }
    return ChooseCompressor(data);
  }

  Status AddPage(std::string_view body, int32_t num_values, Encoding enc, bool dict) {
    Compressor* c = dict ? comp_ : data_comp_ ? data_comp_ : comp_;
    if (dict ? body.size() < fast_below_ : small_data_) {
      c = enc == Encoding::kDeltaByteArray ? small_dba_ : enc == Encoding::kDeltaBinaryPacked ? small_packed_ : fast_;
    }
    std::string_view compressed = body;
    if (!tiny_) {
      MT_ASSIGN_OR_RETURN(compressed, c->CompressView(body));
    }
    const size_t header_start = out_->bytes.size();
    out_->bytes.reserve(header_start + kMaxPageHeader + compressed.size());
    if (dict) {
      out_->dict_page_rel = static_cast<int64_t>(header_start);
    } else if (!seen_data_page_) {
      out_->data_page_rel = static_cast<int64_t>(header_start);
    }
    const PageType type = dict ? PageType::kDictionaryPage : PageType::kDataPage;
    PutPageHeader(&out_->bytes, type, static_cast<int32_t>(body.size()), compressed, num_values, enc, dict);
    const size_t header_len = out_->bytes.size() - header_start;
    out_->bytes.append(compressed);
    out_->total_uncompressed += static_cast<int64_t>(header_len + body.size());
    body_bytes_ += body.size();
    compressed_bytes_ += compressed.size();
    if (keep_raw_ && body_bytes_ > kRawChoiceBytes) keep_raw_ = false;
    if (keep_raw_) {
      const size_t raw_start = raw_->size();
      if (dict) {
        raw_dict_rel_ = static_cast<int64_t>(raw_start);
      } else if (!seen_data_page_) {
        raw_data_rel_ = static_cast<int64_t>(raw_start);
      }
      PutPageHeader(raw_, type, static_cast<int32_t>(body.size()), body, num_values, enc, dict);
      raw_total_ += static_cast<int64_t>(raw_->size() - raw_start + body.size());
      raw_->append(body);
    }
    if (!dict) seen_data_page_ = true;
    return Status::OK();
  }

  // A small chunk whose pages the compressor did not make smaller is stored
  // as its uncompressed pages (a deterministic choice: the same bytes go in
  // on every run and thread).
  void Finish() {
    if (!keep_raw_ || compressed_bytes_ < body_bytes_) return;
    out_->bytes.assign(*raw_);
    out_->dict_page_rel = out_->dict_page_rel >= 0 ? raw_dict_rel_ : -1;
    out_->data_page_rel = raw_data_rel_;
    out_->total_uncompressed = raw_total_;
    out_->codec = Codec::kUncompressed;
  }

 private:
  // The level is chosen after looking at the data: a 64 KiB sample of the
  // chunk's data pages (the start of the first ones) goes through both
  // compressors; when the fast one comes within 1% of the configured level,
  // the whole chunk uses it (most order-book chunks: less CPU for the same
  // bytes; trades timestamps keep the configured level; bench/README.md).
  Status ChooseCompressor(std::string_view data) {
    if (data.size() < kLevelTrialBytes) return Status::OK();  // small chunks: not worth it
    const std::string_view sample = data.substr(0, 64u << 10);
    MT_ASSIGN_OR_RETURN(const std::string_view a, comp_->CompressView(sample));
    const size_t a_size = a.size();
    MT_ASSIGN_OR_RETURN(const std::string_view b, fast_->CompressView(sample));
    if (b.size() * 100 <= a_size * 101) data_comp_ = fast_;
    return Status::OK();
  }

  Compressor* comp_;
  Compressor* fast_;
  Compressor* small_dba_;     // PageCompressors::small_dba, else fast_
  Compressor* small_packed_;  // PageCompressors::small_packed, else fast_
  // A dictionary page below this size, or the data pages of a chunk whose
  // data pages sum to less, go through fast_ (or small_dba_, small_packed_)
  // without a trial (0: never).
  size_t fast_below_;
  bool small_data_ = false;  // the data pages sum to less than fast_below_
  bool tiny_ = false;        // BeginPages: stored uncompressed, no page compressed
  Compressor* data_comp_ = nullptr;
  EncodedChunk* out_;
  std::string* raw_;
  bool keep_raw_;
  size_t body_bytes_ = 0, compressed_bytes_ = 0;  // of the pages so far
  int64_t raw_dict_rel_ = -1, raw_data_rel_ = 0, raw_total_ = 0;  // the raw pages' offsets, headers + bodies
  bool seen_data_page_ = false;
  static constexpr size_t kMaxPageHeader = 64;  // thrift compact, a handful of i32 fields
};

template <typename T>
std::string PlainBytes(T v) {
  std::string s(sizeof(T), '\0');
  std::memcpy(s.data(), &v, sizeof(T));
  return s;
}

void SetInt64Stats(int64_t mn, int64_t mx, EncodedChunk* out) {
  out->min_value = PlainBytes<int64_t>(mn);
  out->max_value = PlainBytes<int64_t>(mx);
  out->has_min_max = true;
}

// Doubles given as bit patterns (`Get(i)` returns the i-th value). A chunk
// holding a NaN gets no min/max at all (parquet-mr's rule, PARQUET-1246):
// the format leaves NaN out of the bounds, but DuckDB orders NaN above every
// number and prunes with the bounds as if they covered the whole chunk, so
// `x = 'NaN'` or `x > max` would skip the chunk and lose its NaN rows. A zero
// bound is written as -0.0 (min) and +0.0 (max), as the format's statistics
// rules ask.
template <typename Get>
void SetDoubleStats(size_t n, Get get, EncodedChunk* out) {
  double mn = INFINITY, mx = -INFINITY;
  bool nan = false;
  for (size_t i = 0; i < n; i++) {
    const double d = get(i);
    nan |= d != d;
    mn = d < mn ? d : mn;  // a NaN compares false: the bounds skip it
    mx = d > mx ? d : mx;
  }
  if (nan || mn > mx) return;  // a NaN, or no values
  if (mn == 0.0) mn = -0.0;
  if (mx == 0.0) mx = 0.0;
  out->min_value = PlainBytes<double>(mn);
  out->max_value = PlainBytes<double>(mx);
  out->has_min_max = true;
}

// Byte-wise comparison of a and b as unsigned chars (what Parquet's
// statistics order for strings is): CommonPrefix finds the first differing
// byte eight bytes at a time (trade ids share their first digits; a memcmp
// call per value costs more).
inline int CompareBytes(std::string_view a, std::string_view b) {
  const size_t p = CommonPrefix(a, b);
  if (p < a.size() && p < b.size()) {
    return static_cast<unsigned char>(a[p]) < static_cast<unsigned char>(b[p]) ? -1 : 1;
  }
  return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

// min/max over all values (null_count is set by the caller). Dictionary
// doubles and DELTA_BINARY_PACKED timestamps get theirs from the encoder
// instead (the distinct values; the encoding pass).
void ComputeStats(const ColumnData& col, EncodedChunk* out) {
  switch (col.kind) {
    case ColumnKind::kTimestampMicros: {
      if (col.i64.empty()) return;
      int64_t mn = col.i64[0], mx = col.i64[0];
      for (int64_t v : col.i64) {  // branch-free: vectorises
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
      }
      SetInt64Stats(mn, mx, out);
      return;
    }
    case ColumnKind::kDouble: {
      const double* f = col.f64.data();
      SetDoubleStats(col.f64.size(), [f](size_t i) { return f[i]; }, out);
      return;
    }
    case ColumnKind::kBool: {
      if (col.b.empty()) return;
      bool mn = true, mx = false;
      for (uint8_t v : col.b) {
        mn = mn && v;
        mx = mx || v;
      }
      out->min_value = std::string(1, mn ? 1 : 0);
      out->max_value = std::string(1, mx ? 1 : 0);
      out->has_min_max = true;
      return;
    }
    case ColumnKind::kString: {
      const StringColumn& s = col.str;
      if (s.size() == 0) return;
      std::string_view mn, mx;
      bool first = true;
      auto visit = [&](std::string_view v) {
        if (first) {
          mn = mx = v;
          first = false;
        } else if (CompareBytes(v, mx) > 0) {  // mn <= mx, so v is not below mn:
          mx = v;                              // one compare per value for
        } else if (CompareBytes(v, mn) < 0) {  // increasing ids
          mn = v;
        }
      };
      if (s.dict_mode()) {
        for (const auto& v : s.dict()) visit(v);
      } else {
        for (size_t i = 0; i < s.size(); i++) visit(s.Get(i));
      }
      out->min_value = std::string(mn);
      out->max_value = std::string(mx);
      out->has_min_max = true;
      return;
    }
  }
}

// Average bytes shared with the previous value: DELTA_BYTE_ARRAY pays when
// values share long prefixes (sequential numeric ids). Compared eight bytes
// at a time (CommonPrefix): a grouped file's thousands of small id chunks
// are looked at whole, not just their first 4,096 values.
bool SharesPrefixes(const StringColumn& s) {
  const size_t n = std::min<size_t>(s.size(), 4096);
  if (n < 2) return false;
  size_t shared = 0, total = 0;
  std::string_view a = s.Get(0);
  for (size_t i = 1; i < n; i++) {
    const std::string_view b = s.Get(i);
    shared += CommonPrefix(a, b);
    total += b.size();
    a = b;
  }
  return total > 0 && shared * 2 >= total;
}

// A data page's body: where it ends in the chunk's bodies, and its rows.
struct DataPage {
  size_t end;
  size_t rows;
};

// The plain width of a column's values in bits (0: strings, 4 + length bytes
// each) and of its definition levels (1 bit a row when nullable): a chunk's
// first page is cut at it. The encodings can exceed it by their run and block
// headers (RLE runs of levels and indices, DELTA_BINARY_PACKED blocks,
// DELTA_BYTE_ARRAY's length streams); a page still over the bound is encoded
// again with fewer rows.
struct PageWidth {
  size_t value_bits;
  size_t def_bits;
};
PageWidth PageWidthOf(const ColumnData& col, Encoding enc, int index_width) {
  PageWidth w{0, col.nullable ? 1u : 0u};
  if (enc == Encoding::kRleDictionary) {
    w.value_bits = static_cast<size_t>(index_width);
  } else if (col.kind == ColumnKind::kBool) {
    w.value_bits = 1;
  } else if (col.kind != ColumnKind::kString) {
    w.value_bits = 64;
  }
  return w;
}

// `rows` rounded down to a multiple of 128 (DELTA_BINARY_PACKED's block; the
// bit-packed groups of 8), at least one; `left` when it reaches that (the
// chunk's last page).
size_t RoundRows(size_t rows, size_t left) {
  if (rows >= left) return left;
  return std::max<size_t>(1, rows >= 128 ? rows - rows % 128 : rows);
}

// Rows of the data page that starts at `row` (value `val`) at the plain
// width: at most opts.page_rows, and as many as keep the body within
// opts.page_bytes, less 1/64 of room for the headers the encodings add.
size_t PageRows(const ColumnData& col, const PageWidth& w, const EncodeOptions& opts, size_t row, size_t val,
                size_t num_rows) {
  const size_t left = std::min(opts.page_rows, num_rows - row);
  const size_t budget_bits = (opts.page_bytes - opts.page_bytes / 64) * 8;
  if (w.value_bits > 0) return RoundRows(budget_bits / (w.value_bits + w.def_bits), left);
  // Strings, 4 + length bytes each.
  const uint8_t* def = col.null_count > 0 && !col.defined.empty() ? col.defined.data() + row : nullptr;
  size_t bits = 0, r = 0, v = val;
  for (; r < left; r++) {
    const bool present = !def || def[r];
    const size_t add = w.def_bits + (present ? 8 * (4 + col.str.Get(v).size()) : 0);
    if (r > 0 && bits + add > budget_bits) break;
    bits += add;
    v += present;
  }
  return r;
}

// A thread's scratch: kept from chunk to chunk, so no fresh pages to fault
// in and zero for every column chunk, by the threads that keep it
// (KeepsEncodeScratch).
struct EncodeScratch {
  DoubleDictionary ddict;
  std::string body;
  std::string dict_body;  // the dictionary page's, added once the data pages are encoded
  std::string raw;  // a small chunk's pages uncompressed (ChunkBuilder)
  PodVector<uint8_t> ones;  // definition levels of a column without nulls
  std::vector<DataPage> pages;  // the chunk's data pages in `body`
};
EncodeScratch& ThreadScratch() {
  thread_local EncodeScratch scratch;
  return scratch;
}
void ReleaseEncodeScratch() {
  // Swapped out and destroyed, not assigned over: assigning an empty string
  // keeps the target's buffer (a short string is copied into the storage it
  // has), so the page body would stay at the thread's biggest chunk.
  EncodeScratch gone;
  std::swap(ThreadScratch(), gone);
  ReleaseCompressionScratch();
}

// Appends the data page body of rows [row, row + rows) (values [val, val +
// vals)): definition levels, then the values in `enc`. DELTA_BINARY_PACKED
// widens [*ts_min, *ts_max] by the page's values.
void EncodeDataPage(const ColumnData& col, Encoding enc, int index_width, bool constant, const uint32_t* indices,
                    size_t row, size_t val, size_t rows, size_t vals, std::string* out, int64_t* ts_min,
                    int64_t* ts_max) {

  if (col.nullable) {
    const uint8_t* def;
    if (col.defined.empty()) {  // every row has a value
      PodVector<uint8_t>& ones = ThreadScratch().ones;
      if (ones.size() < rows) {
        ones.resize(rows);
        std::memset(ones.data(), 1, rows);
      }
      def = ones.data();
    } else {
      def = col.defined.data() + row;
    }
    EncodeDefinitionLevels(def, rows, out);
  }
  switch (enc) {
    case Encoding::kRleDictionary:
      out->push_back(static_cast<char>(index_width));
      if (constant) {
        // One value: a single RLE run of index 0.
        if (vals > 0) {
          PutUleb128(out, static_cast<uint64_t>(vals) << 1);
          out->push_back(0);
        }
      } else {
        EncodeRleHybrid(indices + val, vals, index_width, out);
      }
      break;
    case Encoding::kDeltaBinaryPacked:
      if (vals > 0) {
        int64_t mn, mx;
        EncodeDeltaBinaryPacked(col.i64.data() + val, vals, out, &mn, &mx);
        *ts_min = std::min(*ts_min, mn);
        *ts_max = std::max(*ts_max, mx);
      } else {
        EncodeDeltaBinaryPacked(col.i64.data() + val, vals, out);
      }
      break;
    case Encoding::kByteStreamSplit:
      EncodeByteStreamSplit(col.f64.data() + val, vals, out);
      break;
    case Encoding::kDeltaByteArray:
      EncodeDeltaByteArray(vals, [&](size_t i) { return col.str.Get(val + i); }, out);
      break;
    default:
      switch (col.kind) {
        case ColumnKind::kTimestampMicros: EncodePlainFixed(col.i64.data() + val, vals, out); break;
        case ColumnKind::kDouble: EncodePlainFixed(col.f64.data() + val, vals, out); break;
        case ColumnKind::kBool: EncodePlainBool(col.b.data() + val, vals, out); break;
        case ColumnKind::kString:
          for (size_t i = 0; i < vals; i++) EncodePlainByteArray(col.str.Get(val + i), out);
          break;
      }
  }
}

Status EncodeColumnChunkWithScratch(const ColumnData& col, size_t num_rows, const EncodeOptions& opts,
                                    const PageCompressors& comps, EncodedChunk* out) {
  *out = EncodedChunk();
  out->num_values = static_cast<int64_t>(num_rows);
  out->null_count = static_cast<int64_t>(col.null_count);
  ChunkBuilder builder(comps, out, &ThreadScratch().raw);
  const size_t nvals = col.num_values();
  bool stats_done = false;

  // Choose the value encoding; dictionary values come with their indices.
  Encoding enc = Encoding::kPlain;
  const uint32_t* indices = nullptr;
  DoubleDictionary& ddict = ThreadScratch().ddict;
  std::string& body = ThreadScratch().body;
  // The dictionary page's body and values (dict_values < 0: none); it is
  // added once the data pages are encoded (ChunkBuilder::BeginPages needs
  // the chunk's size).
  std::string& dict_body = ThreadScratch().dict_body;
  int64_t dict_values = -1;
  const bool constant = col.kind == ColumnKind::kString && col.str.constant();
  if (col.kind == ColumnKind::kString && col.str.dict_mode() && nvals > 0) {
    enc = Encoding::kRleDictionary;
    indices = constant ? nullptr : col.str.indices().data();
    dict_body.clear();
    for (const auto& v : col.str.dict()) EncodePlainByteArray(v, &dict_body);
    dict_values = static_cast<int64_t>(col.str.dict().size());
  } else if (col.kind == ColumnKind::kString) {
    enc = opts.modern_encodings && SharesPrefixes(col.str) ? Encoding::kDeltaByteArray
                                                           : Encoding::kPlain;
  } else if (col.kind == ColumnKind::kDouble && nvals > 0) {
    // Dictionary pays when the distinct values are few compared to the rows:
    // prices on a tick grid, repeated funding rates.
    const size_t limit = std::min<size_t>(nvals / 4 + 1, 1 << 16);
    if (ddict.Build(col.f64.data(), nvals, limit)) {
      enc = Encoding::kRleDictionary;
      indices = ddict.indices().data();
      // min/max over the distinct values: the same bounds, 4+ times fewer values.
      const uint64_t* dv = ddict.values().data();
      SetDoubleStats(ddict.values().size(), [dv](size_t i) { double d; std::memcpy(&d, &dv[i], 8); return d; }, out);
      stats_done = true;
      dict_body.clear();
      EncodePlainFixed(ddict.values().data(), ddict.values().size(), &dict_body);
      dict_values = static_cast<int64_t>(ddict.values().size());
    } else {
      enc = opts.modern_encodings ? Encoding::kByteStreamSplit : Encoding::kPlain;
    }
  } else if (col.kind == ColumnKind::kTimestampMicros) {
    enc = opts.modern_encodings ? Encoding::kDeltaBinaryPacked : Encoding::kPlain;
  }
  out->value_encoding = enc;
  // DELTA_BINARY_PACKED timestamps: min/max come out of the encoding pass.
  const bool dbp_stats = enc == Encoding::kDeltaBinaryPacked && nvals > 0;
  int64_t ts_min = INT64_MAX, ts_max = INT64_MIN;
  if (!stats_done && !dbp_stats) ComputeStats(col, out);
  const int index_width =
      enc == Encoding::kRleDictionary ? std::max(1, BitWidth((col.kind == ColumnKind::kString ? col.str.dict().size()
                                                                       : ddict.values().size()) -
                                      1))
              : 0;  // width 0 is legal but some readers mishandle it

  // Data pages over row ranges; values are dense, so track the value cursor.
  // The bodies are encoded one after the other into `body` first, so that
  // the compressor is chosen on the chunk's data (BeginDataPages).
  std::vector<DataPage>& pages = ThreadScratch().pages;
  pages.clear();
  body.clear();
  const PageWidth width = PageWidthOf(col, enc, index_width);
  // Values in the rows [from, from + n).
  auto count_values = [&](size_t from, size_t n) {
    if (col.null_count == 0 || col.defined.empty()) return n;
    const uint8_t* def = col.defined.data() + from;
    size_t v = 0;
    for (size_t i = 0; i < n; i++) v += def[i];
    return v;
  };
  const size_t budget = opts.page_bytes - opts.page_bytes / 64;
  size_t row = 0, val = 0;
  size_t last_rows = 0, last_bytes = 0;  // the previous page's
  do {
    const size_t left = std::min(opts.page_rows, num_rows - row);
    size_t vals = 0;
    // The first page is cut at the plain width; the next ones at the
    // previous page's encoded bytes per row, so that pages of well-encoded
    // values (timestamps' deltas, dictionary indices in runs, shared string
    // prefixes) still come near the bound.
    size_t rows = last_rows == 0 ? PageRows(col, width, opts, row, val, num_rows)
                                 : RoundRows(budget * last_rows / std::max<size_t>(1, last_bytes), left);
    const size_t page_start = body.size();
    while (true) {
      vals = count_values(row, rows);
      EncodeDataPage(col, enc, index_width, constant, indices, row, val, rows, vals, &body, &ts_min, &ts_max);
      const size_t bytes = body.size() - page_start;
      // Values whose encoded size the estimate missed: the page is encoded
      // again with fewer rows (a page holds at least one).
      if (bytes <= opts.page_bytes || rows <= 1) {
        last_rows = rows;
        last_bytes = bytes;
        break;
      }
      body.resize(page_start);
      rows = RoundRows(budget * rows / bytes, rows - 1);
    }
    pages.push_back({body.size(), rows});
    row += rows;
    val += vals;
  } while (row < num_rows);
  builder.BeginPages(body.size() + (dict_values >= 0 ? dict_body.size() : 0));
  if (dict_values >= 0) {
    MT_RETURN_IF_ERROR(builder.AddPage(dict_body, static_cast<int32_t>(dict_values), Encoding::kPlain, true));
  }
  MT_RETURN_IF_ERROR(builder.BeginDataPages(body));
  size_t start = 0;
  for (const DataPage& p : pages) {
    MT_RETURN_IF_ERROR(builder.AddPage(std::string_view(body).substr(start, p.end - start),
                                       static_cast<int32_t>(p.rows), enc, false));
    start = p.end;
  }

  if (dbp_stats) SetInt64Stats(ts_min, ts_max, out);
  if (out->dict_page_rel >= 0) out->encodings.push_back(Encoding::kPlain);
  out->encodings.push_back(Encoding::kRle);
  if (enc != Encoding::kPlain || out->dict_page_rel < 0) out->encodings.push_back(enc);
  builder.Finish();
  out->compressed_bytes = static_cast<int64_t>(out->bytes.size());
  return Status::OK();
}

}  // namespace

size_t ThreadEncodeScratchBytes() {
  const EncodeScratch& s = ThreadScratch();
  return s.ddict.CapacityBytes() + s.body.capacity() + s.dict_body.capacity() + s.raw.capacity() + s.ones.capacity() +
         s.pages.capacity() * sizeof(DataPage);
}

// A thread's scratch grows to its biggest chunk's size (several times the
// chunk's values), so every pool thread of a many-core machine keeping its
// own made memory grow with --threads: the first threads to encode keep it,
// the later ones free it after each chunk.
// A thread holds its place from its first chunk until it exits (pool
// threads for the run; a grouped file's assembly threads and the derive
// thread for one file), so later threads take the places of those gone.
bool KeepsEncodeScratch() {
  static std::atomic<int> keepers{0};
  struct Place {
    bool held = false;
    Place() {
      int n = keepers.load(std::memory_order_relaxed);
      while (n < kEncodeScratchThreads && !keepers.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) {
      }
      held = n < kEncodeScratchThreads;
    }
    ~Place() {
      if (held) keepers.fetch_sub(1, std::memory_order_relaxed);
    }
  };
  thread_local const Place place;
  return place.held;
}

Status EncodeColumnChunk(const ColumnData& col, size_t num_rows, const EncodeOptions& opts,
                         const PageCompressors& comps, EncodedChunk* out) {
  Status st = EncodeColumnChunkWithScratch(col, num_rows, opts, comps, out);
  if (!KeepsEncodeScratch()) ReleaseEncodeScratch();
  return st;
}

}  // namespace mt::parquet
