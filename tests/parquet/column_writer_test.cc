// EncodeColumnChunk through the file writer and reader: dictionary doubles
// with signed zeros, NaN and infinities (value-ordered dictionary, statistics
// from the distinct values), timestamps whose statistics come out of the
// DELTA_BINARY_PACKED pass, and byte-identical chunks however the per-thread
// scratch buffers were used before.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <latch>
#include <limits>
#include <thread>
#include <vector>

#include "parquet/column_writer.h"
#include "parquet/compression.h"
#include "parquet/decompression.h"
#include "parquet/file_reader.h"
#include "parquet/file_writer.h"
#include "parquet/metadata.h"
#include "storage/object_store.h"

namespace mt::parquet {
namespace {

using columnar::ColumnData;
using columnar::ColumnKind;
using columnar::ColumnSpec;
using columnar::RowGroupData;
using columnar::StringColumn;

namespace fs = std::filesystem;

double Bits(uint64_t b) {
  double d;
  std::memcpy(&d, &b, 8);
  return d;
}
uint64_t BitsOf(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

ColumnData Doubles(const std::vector<double>& v) {
  ColumnData c;
  c.kind = ColumnKind::kDouble;
  c.nullable = true;
  c.defined.assign(v.size(), 1);
  c.f64.assign(v.data(), v.data() + v.size());
  return c;
}

// Writes `rg` as a file of one row group at `path`.
Status WriteOneRowGroup(const std::string& path, const std::vector<ColumnSpec>& schema, RowGroupData rg,
                        const WriterOptions& wo = WriterOptions()) {
  MT_ASSIGN_OR_RETURN(auto obj, storage::CreateLocalFile(path, true));
  FileWriter w(obj.get(), schema, wo);
  MT_RETURN_IF_ERROR(w.WriteRowGroup(std::move(rg)));
  MT_RETURN_IF_ERROR(w.Finish({}));
  return obj->Commit();
}

// Writes one double column as a file, reads it back; returns the chunk stats.
ColumnChunkMeta RoundTrip(const std::vector<double>& v, size_t page_rows = 1 << 20) {
  const std::string path = (fs::temp_directory_path() /
                            ("mt_column_writer_test_" + std::to_string(::getpid()) + ".parquet"))
                               .string();
  WriterOptions wo;
  wo.encode.page_rows = page_rows;
  RowGroupData rg;
  rg.columns.push_back(Doubles(v));
  rg.num_rows = v.size();
  EXPECT_TRUE(WriteOneRowGroup(path, {{"price", ColumnKind::kDouble, true}}, std::move(rg), wo).ok());
  auto r = FileReader::OpenLocal(path);
  EXPECT_TRUE(r.ok());
  auto got = (*r)->ReadColumn(0);
  EXPECT_TRUE(got.ok());
  EXPECT_EQ(got->doubles.size(), v.size());
  if (!v.empty() && got->doubles.size() == v.size()) {
    EXPECT_EQ(0, std::memcmp(got->doubles.data(), v.data(), v.size() * 8));  // bit-exact
  }
  ColumnChunkMeta cc = (*r)->metadata().row_groups.at(0).columns.at(0);
  fs::remove(path);
  return cc;
}

double Stat(const std::optional<std::string>& s) {
  EXPECT_TRUE(s.has_value());
  double d = 0;
  if (s && s->size() == 8) std::memcpy(&d, s->data(), 8);
  return d;
}

TEST(ColumnWriter, DictionaryDoublesKeepSpecialValuesAndStatistics) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> distinct = {1.5, -0.0, 0.0, nan, Bits(0x7FF8000000000123ULL), -inf,
                                        inf, 2.25, -3.0, std::numeric_limits<double>::denorm_min(),
                                        -std::numeric_limits<double>::max()};
  std::vector<double> v;
  for (int i = 0; i < 200; i++) v.push_back(distinct[(i * 7) % distinct.size()]);
  ColumnChunkMeta cc = RoundTrip(v);
  ASSERT_TRUE(cc.statistics.has_value());
  // A NaN among the values: no bounds (NaNsLeaveTheChunkWithoutBounds).
  EXPECT_FALSE(cc.statistics->min_value.has_value());
  EXPECT_FALSE(cc.statistics->max_value.has_value());
  // Several pages share the dictionary.
  RoundTrip(v, 64);
  // The same values without the NaNs: the infinities are the bounds.
  std::erase_if(v, [](double d) { return std::isnan(d); });
  cc = RoundTrip(v);
  ASSERT_TRUE(cc.statistics.has_value());
  EXPECT_EQ(BitsOf(Stat(cc.statistics->min_value)), BitsOf(-inf));
  EXPECT_EQ(BitsOf(Stat(cc.statistics->max_value)), BitsOf(inf));
}

// A chunk that holds a NaN has no min/max, dictionary or BYTE_STREAM_SPLIT:
// the format keeps NaN out of the bounds, and DuckDB, which orders NaN above
// every number, prunes with them as if they covered the chunk (it found no
// row for `x = 'NaN'` or `x > 5` in such a file with bounds [1, 2]).
// parquet-mr writes no bounds for such a chunk either (PARQUET-1246).
TEST(ColumnWriter, NaNsLeaveTheChunkWithoutBounds) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> dict, split;
  for (int i = 0; i < 300; i++) {
    dict.push_back(i % 3 == 0 ? nan : 1.0 + i % 3);  // 3 distinct values: dictionary
    split.push_back(i == 150 ? -nan : 0.5 * i);      // all distinct: BYTE_STREAM_SPLIT
  }
  for (const auto* v : {&dict, &split}) {
    const ColumnChunkMeta cc = RoundTrip(*v);
    ASSERT_TRUE(cc.statistics.has_value());
    EXPECT_EQ(cc.statistics->null_count, 0);
    EXPECT_FALSE(cc.statistics->min_value.has_value());
    EXPECT_FALSE(cc.statistics->max_value.has_value());
  }
  // Without the NaN the bounds are there.
  split[150] = 1.0;
  const ColumnChunkMeta cc = RoundTrip(split);
  EXPECT_NE(std::find(cc.encodings.begin(), cc.encodings.end(), Encoding::kByteStreamSplit), cc.encodings.end());
  ASSERT_TRUE(cc.statistics.has_value());
  EXPECT_EQ(Stat(cc.statistics->min_value), 0.0);
  EXPECT_EQ(Stat(cc.statistics->max_value), 149.5);
}

TEST(ColumnWriter, DictionaryZerosAndOnlyNaN) {
  std::vector<double> zeros;
  for (int i = 0; i < 100; i++) zeros.push_back(i % 3 ? 0.0 : -0.0);
  ColumnChunkMeta cc = RoundTrip(zeros);
  ASSERT_TRUE(cc.statistics.has_value());
  EXPECT_EQ(BitsOf(Stat(cc.statistics->min_value)), BitsOf(-0.0));
  EXPECT_EQ(BitsOf(Stat(cc.statistics->max_value)), BitsOf(0.0));

  cc = RoundTrip(std::vector<double>(100, std::numeric_limits<double>::quiet_NaN()));
  ASSERT_TRUE(cc.statistics.has_value());
  EXPECT_FALSE(cc.statistics->min_value.has_value());
  EXPECT_FALSE(cc.statistics->max_value.has_value());

  RoundTrip({42.0});  // (an empty row group is not written at all)
}

// Many distinct values: a dictionary sorted over several radix digits.
TEST(ColumnWriter, LargeDictionaryRoundTrips) {
  std::vector<double> v;
  for (int i = 0; i < 200000; i++) v.push_back((i * 7919 % 40000) * 0.1 - 2000.0);
  const ColumnChunkMeta cc = RoundTrip(v, 30000);
  EXPECT_EQ(Stat(cc.statistics->min_value), -2000.0);
  EXPECT_EQ(Stat(cc.statistics->max_value), 39999 * 0.1 - 2000.0);
}

EncodedChunk Encode(const ColumnData& c, size_t rows) {
  auto comp = NewCompressor(Codec::kZstd, 3);
  auto fast = NewCompressor(Codec::kZstd, 1);
  EncodedChunk out;
  EXPECT_TRUE(EncodeColumnChunk(c, rows, EncodeOptions(), {.main = comp.get(), .fast = fast.get()}, &out).ok());
  return out;
}

// Per-thread scratch buffers carry nothing from one chunk to the next.
TEST(ColumnWriter, ChunksAreIndependentOfEarlierChunks) {
  std::vector<double> big, small;
  for (int i = 0; i < 100000; i++) big.push_back((i * 31 % 997) * 0.5);
  for (int i = 0; i < 100; i++) small.push_back(i % 5);
  ColumnData ts;
  ts.kind = ColumnKind::kTimestampMicros;
  ts.nullable = false;
  for (int i = 0; i < 5000; i++) ts.i64.push_back(1598918403696000 + i * 1000 + (i * 37) % 999);
  const EncodedChunk a = Encode(Doubles(small), small.size());
  const EncodedChunk t = Encode(ts, ts.i64.size());
  Encode(Doubles(big), big.size());
  const EncodedChunk a2 = Encode(Doubles(small), small.size());
  const EncodedChunk t2 = Encode(ts, ts.i64.size());
  EXPECT_EQ(a.bytes, a2.bytes);
  EXPECT_EQ(a.min_value, a2.min_value);
  EXPECT_EQ(t.bytes, t2.bytes);
  int64_t mn, mx;
  std::memcpy(&mn, t.min_value.data(), 8);
  std::memcpy(&mx, t.max_value.data(), 8);
  EXPECT_EQ(mn, ts.i64.front());
  EXPECT_EQ(mx, ts.i64.back());
  EXPECT_EQ(t.value_encoding, Encoding::kDeltaBinaryPacked);
}

// A few threads keep their encoding scratch from chunk to chunk, the others
// free it (and their compressors) after each: the same chunk bytes either
// way, and no more than kEncodeScratchThreads threads keep it.
TEST(ColumnWriter, ThreadsBeyondTheScratchKeepersEncodeTheSameBytes) {
  std::vector<double> prices;
  for (int i = 0; i < 200000; i++) prices.push_back(8500 + (i * 7919 % 4001) * 0.5);
  const ColumnData col = Doubles(prices);
  WriterOptions opts;
  opts.codec = Codec::kZstd;
  constexpr int kThreads = 8;
  std::vector<std::string> bytes(kThreads), again(kThreads);
  std::vector<int> keeps(kThreads);
  std::vector<size_t> held(kThreads);  // scratch bytes a thread holds after its chunks
  std::vector<std::thread> threads;
  std::latch all_asked(kThreads);  // no thread exits (giving its place back) before all have one or none
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      Result<EncodedChunk> a = EncodeChunkOnThisThread(col, prices.size(), opts);
      Result<EncodedChunk> b = EncodeChunkOnThisThread(col, prices.size(), opts);  // after a release, or reusing
      if (a.ok()) bytes[t] = a->bytes;
      if (b.ok()) again[t] = b->bytes;
      keeps[t] = KeepsEncodeScratch() ? 1 : 0;
      held[t] = ThreadEncodeScratchBytes();
      all_asked.arrive_and_wait();
    });
  }
  for (auto& th : threads) th.join();
  const EncodedChunk here = Encode(col, prices.size());
  ASSERT_FALSE(here.bytes.empty());
  for (int t = 0; t < kThreads; t++) {
    EXPECT_EQ(bytes[t], again[t]) << "thread " << t;
    EXPECT_EQ(bytes[t], bytes[0]) << "thread " << t;
  }
  // Other threads (this one among them) may hold places; never more than the bound.
  EXPECT_LE(std::count(keeps.begin(), keeps.end(), 1), kEncodeScratchThreads);
  EXPECT_GE(std::count(keeps.begin(), keeps.end(), 0), kThreads - kEncodeScratchThreads);
  // A keeper holds scratch sized for the chunk (its page body alone is more
  // than 200,000 values' bytes would take at one bit each); the others hold
  // none (an empty string keeps only its inline room).
  for (int t = 0; t < kThreads; t++) {
    if (keeps[t]) {
      EXPECT_GT(held[t], prices.size() / 8) << "thread " << t;
    } else {
      EXPECT_LE(held[t], 64u) << "thread " << t;
    }
  }

  // A thread that exits gives its place back: threads one at a time, each
  // after the last has gone, all find one (the only other thread alive,
  // this one, holds one place at most).
  int kept = 0;
  for (int t = 0; t < kThreads; t++) {
    std::thread([&] { kept += KeepsEncodeScratch() ? 1 : 0; }).join();
  }
  EXPECT_EQ(kept, kThreads);
}

// Threads beyond the scratch keepers give their compressors back after a
// small chunk, for the next such thread (a grouped file's thousands of small
// chunks each created two ZSTD contexts): a chunk compressed by a context
// that compressed other chunks, on another thread, at another level in
// between, gives the bytes a fresh thread gives.
TEST(ColumnWriter, SmallChunksBeyondTheKeepersShareCompressorsAndEncodeTheSameBytes) {
  std::vector<double> prices;
  for (int i = 0; i < 3000; i++) prices.push_back(8500 + (i * 7919 % 401) * 0.5);
  const ColumnData small = Doubles(prices);
  std::vector<double> other(2000);
  for (size_t i = 0; i < other.size(); i++) other[i] = static_cast<double>(i) * 1.5;
  const ColumnData other_col = Doubles(other);
  WriterOptions opts;
  opts.codec = Codec::kZstd;
  WriterOptions high = opts;
  high.zstd_level = 9;
  const auto on_new_thread = [](const ColumnData& col, size_t rows, const WriterOptions& o) {
    std::string b;
    std::thread([&] {
      Result<EncodedChunk> r = EncodeChunkOnThisThread(col, rows, o);
      if (r.ok()) b = r->bytes;
    }).join();
    return b;
  };
  const std::string want = on_new_thread(small, prices.size(), opts);
  const std::string want_high = on_new_thread(small, prices.size(), high);
  ASSERT_FALSE(want.empty());
  ASSERT_NE(want, want_high);
  constexpr int kThreads = kEncodeScratchThreads + 4;
  std::vector<std::string> got(kThreads), got_high(kThreads);
  std::vector<int> keeps(kThreads);
  std::latch all_asked(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 3; k++) {
        (void)EncodeChunkOnThisThread(other_col, other.size(), k == 1 ? high : opts);
        Result<EncodedChunk> r = EncodeChunkOnThisThread(small, prices.size(), opts);
        if (r.ok() && (k == 0 || got[t] == r->bytes)) got[t] = r->bytes; else got[t] = "differs";
        Result<EncodedChunk> h = EncodeChunkOnThisThread(small, prices.size(), high);
        if (h.ok()) got_high[t] = h->bytes;
      }
      keeps[t] = KeepsEncodeScratch() ? 1 : 0;
      all_asked.arrive_and_wait();
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GE(std::count(keeps.begin(), keeps.end(), 0), kThreads - kEncodeScratchThreads);
  for (int t = 0; t < kThreads; t++) {
    EXPECT_EQ(got[t], want) << "thread " << t;
    EXPECT_EQ(got_high[t], want_high) << "thread " << t;
  }
  // Threads one after another (none keeps scratch once the places are
  // held): each takes the compressors the one before gave back.
  for (int t = 0; t < 4; t++) EXPECT_EQ(on_new_thread(small, prices.size(), opts), want) << "sequential " << t;
}

// Pages below fast_below go through the fast compressor without a trial;
// from the trial size up, the trial decides as before.
// 4,000 timestamps, repetitive enough that ZSTD levels 1 and 3 give
// different bytes.
ColumnData RepetitiveTimestamps() {
  ColumnData ts;
  ts.kind = ColumnKind::kTimestampMicros;
  ts.nullable = false;
  for (int i = 0; i < 4000; i++) ts.i64.push_back(1598918403696000 + int64_t{i} * 1000 + (i * 37) % 7 * 1000);
  return ts;
}

TEST(ColumnWriter, PagesBelowFastBelowUseTheFastCompressor) {
  const ColumnData ts = RepetitiveTimestamps();
  auto l3 = NewCompressor(Codec::kZstd, 3);
  auto l1 = NewCompressor(Codec::kZstd, 1);
  auto encode = [&](Compressor* comp, Compressor* fast, size_t fast_below) {
    EncodedChunk out;
    EXPECT_TRUE(EncodeColumnChunk(ts, ts.i64.size(), EncodeOptions(),
                                  {.main = comp, .fast = fast, .fast_below = fast_below}, &out)
                    .ok());
    return out.bytes;
  };
  const std::string at3 = encode(l3.get(), nullptr, 0);
  const std::string at1 = encode(l1.get(), nullptr, 0);
  ASSERT_NE(at3, at1);  // else the test could not tell them apart
  EXPECT_EQ(encode(l3.get(), l1.get(), kLevelTrialBytes), at1);
  EXPECT_EQ(encode(l3.get(), l1.get(), 0), at3);        // small page, no trial: the configured level
  EXPECT_EQ(encode(l3.get(), nullptr, kLevelTrialBytes), at3);  // no fast compressor: nothing changes
}

// A small chunk whose pages ZSTD does not make smaller is stored as its
// uncompressed pages, codec UNCOMPRESSED: the bytes an encoding without
// compression gives. Chunks that shrink keep ZSTD, and so do chunks above
// kRawChoiceBytes whatever they give.
TEST(ColumnWriter, SmallChunksTheCodecCannotShrinkAreStoredUncompressed) {
  auto zstd = NewCompressor(Codec::kZstd, 3);
  auto fast = NewCompressor(Codec::kZstd, 1);
  auto none = NewCompressor(Codec::kUncompressed, 0);
  auto encode = [&](const ColumnData& c, size_t rows, Compressor* comp) {
    EncodedChunk out;
    // As the writer does: the fast level only beside ZSTD.
    Compressor* f = comp->codec() == Codec::kZstd ? fast.get() : nullptr;
    EXPECT_TRUE(
        EncodeColumnChunk(c, rows, EncodeOptions(), {.main = comp, .fast = f, .fast_below = kLevelTrialBytes}, &out)
            .ok());
    EXPECT_EQ(out.compressed_bytes, static_cast<int64_t>(out.bytes.size()));
    return out;
  };
  // Timestamps with random gaps: DELTA_BINARY_PACKED leaves random bits.
  auto random_ts = [](size_t n) {
    ColumnData ts;
    ts.kind = ColumnKind::kTimestampMicros;
    ts.nullable = false;
    uint64_t x = 88172645463325252ULL, t = 1698796800000000;
    for (size_t i = 0; i < n; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      t += x % 1000000007;
      ts.i64.push_back(static_cast<int64_t>(t));
    }
    return ts;
  };
  const ColumnData small_ts = random_ts(2000);
  const EncodedChunk raw = encode(small_ts, 2000, zstd.get());
  const EncodedChunk want = encode(small_ts, 2000, none.get());
  EXPECT_EQ(raw.codec, Codec::kUncompressed);
  EXPECT_EQ(raw.bytes, want.bytes);
  EXPECT_EQ(raw.total_uncompressed, want.total_uncompressed);
  EXPECT_EQ(raw.total_uncompressed, static_cast<int64_t>(raw.bytes.size()));
  EXPECT_EQ(raw.data_page_rel, 0);
  EXPECT_EQ(raw.min_value, want.min_value);

  // A one-value dictionary (exchange, symbol): dictionary page and data page
  // stored raw, offsets of both as an uncompressed encoding places them.
  ColumnData sym;
  sym.kind = ColumnKind::kString;
  sym.nullable = false;
  for (int i = 0; i < 500; i++) sym.str.Append("BTC-2NOV23-20000-C");
  const EncodedChunk raw_dict = encode(sym, 500, zstd.get());
  const EncodedChunk want_dict = encode(sym, 500, none.get());
  EXPECT_EQ(raw_dict.codec, Codec::kUncompressed);
  EXPECT_EQ(raw_dict.bytes, want_dict.bytes);
  EXPECT_EQ(raw_dict.dict_page_rel, 0);
  EXPECT_EQ(raw_dict.data_page_rel, want_dict.data_page_rel);
  EXPECT_GT(raw_dict.data_page_rel, 0);

  // Prices of many distinct values (BYTE_STREAM_SPLIT: their high bytes
  // repeat) shrink: ZSTD, smaller than the raw pages.
  std::vector<double> prices;
  for (int i = 0; i < 2000; i++) prices.push_back(8500 + (i * 7919 % 4001) * 0.5);
  const EncodedChunk packed = encode(Doubles(prices), prices.size(), zstd.get());
  EXPECT_EQ(packed.value_encoding, Encoding::kByteStreamSplit);
  EXPECT_EQ(packed.codec, Codec::kZstd);
  EXPECT_LT(packed.bytes.size(), encode(Doubles(prices), prices.size(), none.get()).bytes.size());

  // Above kRawChoiceBytes a chunk keeps the codec asked for.
  const ColumnData big_ts = random_ts(200000);
  const EncodedChunk big = encode(big_ts, 200000, zstd.get());
  const EncodedChunk big_none = encode(big_ts, 200000, none.get());
  ASSERT_GT(big_none.bytes.size(), kRawChoiceBytes);
  EXPECT_EQ(big.codec, Codec::kZstd);

  // --compression none: every chunk is UNCOMPRESSED, as before.
  EXPECT_EQ(want.codec, Codec::kUncompressed);
  EXPECT_EQ(big_none.codec, Codec::kUncompressed);
}

// A test double around ZSTD that counts the pages it is given.
class CountingCompressor final : public Compressor {
 public:
  explicit CountingCompressor(int level) : inner_(NewCompressor(Codec::kZstd, level)) {}
  Result<std::string_view> CompressView(std::string_view in) override {
    calls++;
    return inner_->CompressView(in);
  }
  Codec codec() const override { return Codec::kZstd; }
  int calls = 0;

 private:
  std::unique_ptr<Compressor> inner_;
};

// A chunk whose page bodies sum to under kTinyChunkBytes (an instrument's
// constant symbol, a handful of timestamps) is stored UNCOMPRESSED with no
// compressor call, byte for byte what an encoding without compression
// gives; from kTinyChunkBytes on, the pages go to the compressor.
TEST(ColumnWriter, TinyChunksAreStoredUncompressedWithoutATry) {
  CountingCompressor zstd(3), fast(1);
  auto none = NewCompressor(Codec::kUncompressed, 0);
  auto encode = [&](const ColumnData& c, size_t rows, Compressor* comp) {
    EncodedChunk out;
    Compressor* f = comp->codec() == Codec::kZstd ? static_cast<Compressor*>(&fast) : nullptr;
    EXPECT_TRUE(
        EncodeColumnChunk(c, rows, EncodeOptions(), {.main = comp, .fast = f, .fast_below = kLevelTrialBytes}, &out)
            .ok());
    return out;
  };
  ColumnData sym;
  sym.kind = ColumnKind::kString;
  sym.nullable = false;
  for (int i = 0; i < 20; i++) sym.str.Append("BTC-2NOV23-20000-C");
  const EncodedChunk tiny = encode(sym, 20, &zstd);
  const EncodedChunk want = encode(sym, 20, none.get());
  ASSERT_LT(want.total_uncompressed, static_cast<int64_t>(kTinyChunkBytes) + 64);  // bodies plus headers
  EXPECT_EQ(zstd.calls + fast.calls, 0);
  EXPECT_EQ(tiny.codec, Codec::kUncompressed);
  EXPECT_EQ(tiny.bytes, want.bytes);
  EXPECT_EQ(tiny.dict_page_rel, want.dict_page_rel);
  EXPECT_EQ(tiny.data_page_rel, want.data_page_rel);

  ColumnData ts;
  ts.kind = ColumnKind::kTimestampMicros;
  ts.nullable = false;
  for (int i = 0; i < 4; i++) ts.i64.push_back(1698796800000000 + i * 1000);
  const EncodedChunk tiny_ts = encode(ts, 4, &zstd);
  EXPECT_EQ(zstd.calls + fast.calls, 0);
  EXPECT_EQ(tiny_ts.codec, Codec::kUncompressed);
  EXPECT_EQ(tiny_ts.bytes, encode(ts, 4, none.get()).bytes);

  // Eight doubles of distinct values: 64 bytes of BYTE_STREAM_SPLIT, tried.
  std::vector<double> prices;
  for (int i = 0; i < 8; i++) prices.push_back(8500 + i * 0.5);
  encode(Doubles(prices), prices.size(), &zstd);
  EXPECT_GT(zstd.calls + fast.calls, 0);
}

// A file holding ZSTD and UNCOMPRESSED chunks side by side reads back.
TEST(ColumnWriter, FilesMixingCodecsReadBack) {
  const std::string path = (fs::temp_directory_path() /
                            ("mt_column_writer_mixed_" + std::to_string(::getpid()) + ".parquet"))
                               .string();
  std::vector<double> prices;
  for (int i = 0; i < 3000; i++) prices.push_back(8500 + (i * 7919 % 401) * 0.5);
  std::vector<ColumnSpec> schema = {{"symbol", ColumnKind::kString, false}, {"price", ColumnKind::kDouble, true}};
  RowGroupData rg;
  ColumnData symbols;
  symbols.kind = ColumnKind::kString;
  symbols.nullable = false;
  for (size_t i = 0; i < prices.size(); i++) symbols.str.Append("BTC-2NOV23-20000-C");
  rg.columns.push_back(std::move(symbols));
  rg.columns.push_back(Doubles(prices));
  rg.num_rows = prices.size();
  ASSERT_TRUE(WriteOneRowGroup(path, schema, std::move(rg)).ok());
  auto r = FileReader::OpenLocal(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& cols = (*r)->metadata().row_groups.at(0).columns;
  EXPECT_EQ(cols.at(0).codec, Codec::kUncompressed);
  EXPECT_EQ(cols.at(1).codec, Codec::kZstd);
  auto sym = (*r)->ReadColumn(0);
  ASSERT_TRUE(sym.ok()) << sym.status().ToString();
  ASSERT_EQ(sym->strings.size(), prices.size());
  EXPECT_EQ(sym->strings.front(), "BTC-2NOV23-20000-C");
  EXPECT_EQ(sym->strings.back(), "BTC-2NOV23-20000-C");
  auto got = (*r)->ReadColumn(1);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->doubles.size(), prices.size());
  EXPECT_EQ(0, std::memcmp(got->doubles.data(), prices.data(), prices.size() * 8));
  fs::remove(path);
}

// Small DELTA_BYTE_ARRAY pages (trade ids) go through small_dba, every other
// small page through fast as before.
TEST(ColumnWriter, SmallDeltaByteArrayPagesUseTheirOwnCompressor) {
  ColumnData ids;
  ids.kind = ColumnKind::kString;
  ids.nullable = false;
  ids.str = StringColumn(false);
  uint64_t id = 280000000, x = 88172645463325252ULL;
  for (int i = 0; i < 2000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    id += 1 + x % 6000;  // one option's trades among many: ids with gaps
    ids.str.Append(std::to_string(id));
  }
  const ColumnData ts = RepetitiveTimestamps();
  auto l3 = NewCompressor(Codec::kZstd, 3);
  auto l1 = NewCompressor(Codec::kZstd, 1);
  auto mm6 = NewCompressor(Codec::kZstd, 1, 6);
  auto encode = [&](const ColumnData& c, size_t rows, Compressor* comp, Compressor* fast, Compressor* small_dba) {
    EncodedChunk out;
    EXPECT_TRUE(EncodeColumnChunk(
                    c, rows, EncodeOptions(),
                    {.main = comp, .fast = fast, .fast_below = fast ? kLevelTrialBytes : 0, .small_dba = small_dba},
                    &out)
                    .ok());
    return out;
  };
  const EncodedChunk with = encode(ids, 2000, l3.get(), l1.get(), mm6.get());
  EXPECT_EQ(with.value_encoding, Encoding::kDeltaByteArray);
  EXPECT_EQ(with.codec, Codec::kZstd);
  EXPECT_EQ(with.bytes, encode(ids, 2000, mm6.get(), nullptr, nullptr).bytes);
  const EncodedChunk without = encode(ids, 2000, l3.get(), l1.get(), nullptr);
  EXPECT_EQ(without.bytes, encode(ids, 2000, l1.get(), nullptr, nullptr).bytes);
  ASSERT_NE(with.bytes, without.bytes);  // else the test could not tell them apart
  // Other pages: as without it.
  EXPECT_EQ(encode(ts, 4000, l3.get(), l1.get(), mm6.get()).bytes, encode(ts, 4000, l3.get(), l1.get(), nullptr).bytes);
}

// Literals::kRaw: ZSTD keeps its matches but stores literals as they are.
// Bytes of a 16-letter alphabet without repeats shrink by about half under
// Huffman-coded literals and not at all under raw ones; both decompress to
// the input.
TEST(Compression, RawLiteralsStoreTheUnmatchedBytesAsTheyAre) {
  std::string in(8192, '\0');
  uint64_t x = 88172645463325252ULL;
  for (char& c : in) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>('a' + x % 16);
  }
  auto huffman = NewCompressor(Codec::kZstd, 1);
  auto raw = NewCompressor(Codec::kZstd, 1, 0, Literals::kRaw);
  std::string h, r, back;
  ASSERT_TRUE(huffman->Compress(in, &h).ok());
  ASSERT_TRUE(raw->Compress(in, &r).ok());
  EXPECT_LT(h.size(), in.size() * 6 / 10);
  EXPECT_GE(r.size(), in.size());
  for (const std::string* c : {&h, &r}) {
    ASSERT_TRUE(DecompressPage(Codec::kZstd, *c, in.size(), &back).ok());
    EXPECT_EQ(back, in);
  }
  // Repeats still become matches: a repeated block shrinks under both.
  const std::string twice = in.substr(0, 4096) + in.substr(0, 4096);
  ASSERT_TRUE(raw->Compress(twice, &r).ok());
  EXPECT_LT(r.size(), twice.size() * 6 / 10);
}

// Small DELTA_BINARY_PACKED pages (an option's timestamps in a grouped
// file) go through small_packed, every other small page through fast as
// before; big chunks are not small pages, whatever is given.
TEST(ColumnWriter, SmallDeltaBinaryPackedPagesUseTheirOwnCompressor) {
  uint64_t x = 88172645463325252ULL;
  int64_t t = 1698796800013000;
  // Timestamps a few steps apart, each step one of four (bit-packed deltas
  // that repeat: ZSTD finds matches in them).
  auto timestamps = [&](int n) {
    ColumnData ts;
    ts.kind = ColumnKind::kTimestampMicros;
    ts.nullable = false;
    for (int i = 0; i < n; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      t += static_cast<int64_t>(1 + x % 4) * 250'000;
      ts.i64.push_back(t);
    }
    return ts;
  };
  const ColumnData ts = timestamps(2000);
  ColumnData ids;
  ids.kind = ColumnKind::kString;
  ids.nullable = false;
  ids.str = StringColumn(false);
  for (int i = 0; i < 2000; i++) ids.str.Append(std::to_string(280000000 + i * 7 + i % 3));
  auto l3 = NewCompressor(Codec::kZstd, 3);
  auto l1 = NewCompressor(Codec::kZstd, 1);
  auto raw = NewCompressor(Codec::kZstd, 1, 0, Literals::kRaw);
  auto encode = [&](const ColumnData& c, Compressor* comp, Compressor* fast, Compressor* small_packed) {
    EncodedChunk out;
    const PageCompressors comps{
        .main = comp, .fast = fast, .fast_below = fast ? kLevelTrialBytes : 0, .small_packed = small_packed};
    EXPECT_TRUE(EncodeColumnChunk(c, c.num_values(), EncodeOptions(), comps, &out).ok());
    return out;
  };
  // Chunks are compared with ==: a failed EXPECT_EQ would print them whole.
  const EncodedChunk with = encode(ts, l3.get(), l1.get(), raw.get());
  EXPECT_EQ(with.value_encoding, Encoding::kDeltaBinaryPacked);
  ASSERT_EQ(with.codec, Codec::kZstd);
  EXPECT_TRUE(with.bytes == encode(ts, raw.get(), nullptr, nullptr).bytes);
  const EncodedChunk without = encode(ts, l3.get(), l1.get(), nullptr);
  ASSERT_EQ(without.codec, Codec::kZstd);
  EXPECT_TRUE(without.bytes == encode(ts, l1.get(), nullptr, nullptr).bytes);
  ASSERT_NE(with.bytes.size(), without.bytes.size());  // else the test could not tell them apart
  // Other pages: as without it.
  EXPECT_TRUE(encode(ids, l3.get(), l1.get(), raw.get()).bytes == encode(ids, l3.get(), l1.get(), nullptr).bytes);
  // A chunk of kLevelTrialBytes of data pages or more is not small.
  const ColumnData big = timestamps(200'000);
  const EncodedChunk big_with = encode(big, l3.get(), l1.get(), raw.get());
  ASSERT_GE(big_with.total_uncompressed, static_cast<int64_t>(kLevelTrialBytes));
  ASSERT_EQ(big_with.codec, Codec::kZstd);
  EXPECT_TRUE(big_with.bytes == encode(big, l3.get(), l1.get(), nullptr).bytes);
}

// Plain string statistics compare bytes as unsigned chars, shorter prefix
// first: high bytes, embedded NULs, shared 8-byte prefixes, empty strings.
TEST(ColumnWriter, PlainStringStatisticsOrderBytesUnsigned) {
  const std::vector<std::string> cases[] = {
      {"4180000009", "41800000010", "4180000001", "418000000", "4180000010"},
      {"ab", std::string("ab\0", 3), "a\xff", "abcdefgh", "abcdefgh\x80", "abcdefgh\x7f", "b"},
      {std::string("\0", 1), "", "\x80\x80\x80\x80\x80\x80\x80\x80", "\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f"},
      {"ba000000000", "ab000000000", "aa00000001", "b0a00000", "a0b00000z"},
      {"zzzzzzzzzzzzzzzzzz", "zzzzzzzzzzzzzzzzz", "zzzzzzzzzzzzzzzzzz\x01", "zzzzzzzzyzzzzzzzzz"},
  };
  for (const auto& values : cases) {
    ColumnData c;
    c.kind = ColumnKind::kString;
    c.nullable = true;
    c.str = StringColumn(false);  // plain: every value is visited
    for (const auto& v : values) {
      c.str.Append(v);
      c.defined.push_back(1);
    }
    // std::string orders by char_traits<char>::compare: unsigned bytes.
    const std::string mn = *std::min_element(values.begin(), values.end());
    const std::string mx = *std::max_element(values.begin(), values.end());
    const EncodedChunk out = Encode(c, values.size());
    ASSERT_TRUE(out.has_min_max);
    EXPECT_EQ(out.min_value, mn) << values[0];
    EXPECT_EQ(out.max_value, mx) << values[0];
  }
}

// Data pages hold at most kDataPageBytes before compression, whatever the
// column's kind and encoding (BigQuery's loader asks for pages of about
// 1 MiB in files of more than 100 columns), and a chunk of many pages reads
// back whole: every value, num_values per page summing to the rows, and the
// timestamps' bounds taken across pages.
TEST(ColumnWriter, DataPagesStayWithinTheByteBound) {
  const std::string path = (fs::temp_directory_path() /
                            ("mt_column_writer_pages_" + std::to_string(::getpid()) + ".parquet"))
                               .string();
  const size_t n = size_t{1} << 20;
  uint64_t x = 88172645463325252ULL;
  auto next = [&x] {  // xorshift64: values that neither repeat nor compress
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  std::vector<ColumnSpec> schema = {{"timestamp", ColumnKind::kTimestampMicros, false},
                                    {"jumpy_ts", ColumnKind::kTimestampMicros, false},
                                    {"amount", ColumnKind::kDouble, false},
                                    {"price", ColumnKind::kDouble, true},
                                    {"level", ColumnKind::kDouble, true},
                                    {"id", ColumnKind::kString, false},
                                    {"text", ColumnKind::kString, true},
                                    {"flag", ColumnKind::kBool, true}};
  RowGroupData rg;
  for (const ColumnSpec& s : schema) {
    ColumnData c;
    c.kind = s.kind;
    c.nullable = s.nullable;
    if (s.kind == ColumnKind::kString) c.str = StringColumn(false);
    rg.columns.push_back(std::move(c));
  }
  std::vector<std::string> texts;
  for (size_t i = 0; i < n; i++) {
    const uint64_t r = next();
    rg.columns[0].i64.push_back(1698796800000000 + static_cast<int64_t>(i) * 37 + static_cast<int64_t>(r % 1000));
    // Deltas of any size in the second half: pages cut at the first half's
    // bytes per row overflow and are cut again.
    rg.columns[1].i64.push_back(i < n / 2 ? static_cast<int64_t>(i) : static_cast<int64_t>(r));
    rg.columns[2].f64.push_back(Bits((r >> 12) | 0x3FF0000000000000ULL));  // BYTE_STREAM_SPLIT
    if (i % 3 == 0) {
      rg.columns[3].AddNull(i);
    } else {
      rg.columns[3].AddDefined();
      rg.columns[3].f64.push_back(Bits(r >> 1));
    }
    if (i % 5 == 0) {  // dictionary indices of 16 bits, and nulls
      rg.columns[4].AddNull(i);
    } else {
      rg.columns[4].AddDefined();
      rg.columns[4].f64.push_back(static_cast<double>(r % 60000));
    }
    rg.columns[5].str.Append(std::to_string(4000000000ULL + i * 3));  // DELTA_BYTE_ARRAY
    if (i % 7 == 0) {
      rg.columns[6].AddNull(i);
      texts.emplace_back();
    } else {  // PLAIN: 0 to 40 bytes, no shared prefixes
      rg.columns[6].AddDefined();
      std::string t(r % 41, '\0');
      for (size_t k = 0; k < t.size(); k++) t[k] = static_cast<char>('a' + (r >> (k % 60)) % 26);
      if (!t.empty()) t[0] = static_cast<char>('A' + i % 26);
      rg.columns[6].str.Append(t);
      texts.push_back(t);
    }
    if (i % 11 == 0) {
      rg.columns[7].AddNull(i);
    } else {
      rg.columns[7].AddDefined();
      rg.columns[7].b.push_back(static_cast<uint8_t>(r & 1));
    }
  }
  rg.num_rows = n;
  std::vector<ColumnData> want;
  for (const ColumnData& c : rg.columns) {
    ColumnData copy;
    copy.kind = c.kind;
    copy.defined = c.defined;
    copy.i64 = c.i64;
    copy.f64 = c.f64;
    copy.b = c.b;
    want.push_back(std::move(copy));
  }
  ASSERT_TRUE(WriteOneRowGroup(path, schema, std::move(rg)).ok());

  std::string file;
  {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    ASSERT_NE(f, nullptr);
    char buf[1 << 16];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) file.append(buf, got);
    std::fclose(f);
  }
  auto r = FileReader::OpenLocal(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& cols = (*r)->metadata().row_groups.at(0).columns;
  const std::vector<Encoding> encodings = {Encoding::kDeltaBinaryPacked, Encoding::kDeltaBinaryPacked,
                                           Encoding::kByteStreamSplit,   Encoding::kByteStreamSplit,
                                           Encoding::kRleDictionary,     Encoding::kDeltaByteArray,
                                           Encoding::kPlain,             Encoding::kPlain};
  for (size_t c = 0; c < schema.size(); c++) {
    SCOPED_TRACE(schema[c].name);
    const ColumnChunkMeta& cc = cols.at(c);
    size_t pos = static_cast<size_t>(cc.StartOffset());
    const size_t end = pos + static_cast<size_t>(cc.total_compressed_size);
    int64_t rows = 0;
    size_t pages = 0;
    while (pos < end) {
      PageHeader h;
      size_t hlen = 0;
      ASSERT_TRUE(ParsePageHeader(std::string_view(file).substr(pos), &h, &hlen).ok());
      if (h.type == PageType::kDataPage) {
        EXPECT_LE(static_cast<size_t>(h.uncompressed_size), kDataPageBytes);
        EXPECT_EQ(h.encoding, encodings[c]);
        rows += h.num_values;
        pages++;
      }
      pos += hlen + static_cast<size_t>(h.compressed_size);
    }
    EXPECT_EQ(pos, end);
    EXPECT_EQ(rows, static_cast<int64_t>(n));
    EXPECT_EQ(cc.num_values, static_cast<int64_t>(n));
    // 1 Mi eight-byte values take 8 MiB: eight pages or more.
    if (c == 2) {
      EXPECT_GE(pages, 8u);
    }

    auto got = (*r)->ReadColumn(c);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->num_rows, n);
    const ColumnData& w = want[c];
    size_t v = 0;
    for (size_t i = 0; i < n; i++) {
      const bool defined = w.defined.empty() || w.defined[i];
      ASSERT_EQ(got->defined.empty() || got->defined[i], defined) << i;
      if (!defined) continue;
      switch (w.kind) {
        case ColumnKind::kTimestampMicros: ASSERT_EQ(got->ints[i], w.i64[v]) << i; break;
        case ColumnKind::kDouble: ASSERT_EQ(BitsOf(got->doubles[i]), BitsOf(w.f64[v])) << i; break;
        case ColumnKind::kBool: ASSERT_EQ(got->bools[i], w.b[v]) << i; break;
        case ColumnKind::kString:
          ASSERT_EQ(got->strings[i], c == 5 ? std::to_string(4000000000ULL + i * 3) : texts[i]) << i;
          break;
      }
      v++;
    }
  }
  // The bounds of DELTA_BINARY_PACKED timestamps are taken across pages.
  const auto& w1 = want[1].i64;
  int64_t mn = *std::min_element(w1.begin(), w1.end()), mx = *std::max_element(w1.begin(), w1.end());
  ASSERT_TRUE(cols.at(1).statistics.has_value());
  int64_t smn = 0, smx = 0;
  std::memcpy(&smn, cols.at(1).statistics->min_value->data(), 8);
  std::memcpy(&smx, cols.at(1).statistics->max_value->data(), 8);
  EXPECT_EQ(smn, mn);
  EXPECT_EQ(smx, mx);
  fs::remove(path);
}

}  // namespace
}  // namespace mt::parquet
