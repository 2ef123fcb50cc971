// The footer reader and column decoder on files our writer produces: every
// data type schema of src/tardis/schema.h, every codec, both encoding sets,
// several row groups and pages; schema, row counts, statistics, metadata and
// every value checked against what was written. Then broken files: every
// truncation, garbage, wrong magic, zero rows and zero bytes give clean
// results or errors.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <future>
#include <filesystem>
#include <fstream>
#include <random>

#include <zlib.h>

#include "core/thread_pool.h"
#include "parquet/file_reader.h"
#include "parquet/file_writer.h"
#include "parquet/thrift_compact.h"
#include "parquet/thrift_reader.h"
#include "storage/object_store.h"
#include "support/fixtures.h"
#include "support/memory_store_double.h"
#include "support/temp_dir.h"
#include "tardis/schema.h"

namespace mt::parquet {
namespace {

using columnar::ColumnData;
using columnar::ColumnKind;
using columnar::ColumnSpec;
using columnar::MakeRowGroup;
using columnar::RowGroupData;

namespace fs = std::filesystem;

using testing::TempDir;

// The data written, kept in the reader's per-row form for comparison.
struct Table {
  std::vector<ColumnSpec> schema;
  std::vector<ColumnValues> cols;
  size_t rows = 0;
};

PhysicalType PhysOf(ColumnKind k) { return PhysicalTypeOf(k); }

Table MakeTable(const std::vector<ColumnSpec>& schema, size_t rows, uint32_t seed) {
  std::mt19937 rng(seed);
  Table t;
  t.schema = schema;
  t.rows = rows;
  const int64_t day0 = 1582329600000000;  // 2020-02-22
  for (size_t c = 0; c < schema.size(); c++) {
    ColumnValues v;
    v.type = PhysOf(schema[c].kind);
    v.num_rows = rows;
    for (size_t r = 0; r < rows; r++) {
      const bool null = schema[c].nullable && rng() % 7 == 0;
      v.defined.push_back(null ? 0 : 1);
      switch (schema[c].kind) {
        case ColumnKind::kTimestampMicros:
          v.ints.push_back(null ? 0 : day0 + static_cast<int64_t>(r) * 1000 + rng() % 900);
          break;
        case ColumnKind::kDouble:
          // Few distinct values in even columns (dictionary), many in odd ones (BYTE_STREAM_SPLIT).
          v.doubles.push_back(null ? 0.0 : (c % 2 ? 9000.0 + (rng() % 100000) / 100.0 : 0.5 * (rng() % 5 + 1)));
          break;
        case ColumnKind::kBool:
          v.bools.push_back(null ? 0 : rng() % 2);
          break;
        case ColumnKind::kString:
          if (null) {
            v.strings.emplace_back();
          } else if (schema[c].name == "id") {
            v.strings.push_back(std::to_string(4180000000LL + static_cast<long long>(r)));
          } else if (schema[c].name == "exchange") {
            v.strings.push_back("binance-futures");
          } else {
            v.strings.push_back(rng() % 2 ? "buy" : "sell");
          }
          break;
      }
    }
    t.cols.push_back(std::move(v));
  }
  return t;
}

// Rows [a, b) of `t` as a row group; `plain_ids` puts the id column in plain mode.
RowGroupData Slice(const Table& t, size_t a, size_t b, bool plain_ids) {
  std::vector<bool> plain(t.schema.size(), false);
  for (size_t c = 0; c < t.schema.size(); c++) plain[c] = plain_ids && t.schema[c].name == "id";
  RowGroupData rg = MakeRowGroup(t.schema, &plain);
  rg.num_rows = b - a;
  for (size_t c = 0; c < t.schema.size(); c++) {
    ColumnData& col = rg.columns[c];
    const ColumnValues& v = t.cols[c];
    for (size_t r = a; r < b; r++) {
      if (col.nullable) {
        col.defined.push_back(v.defined[r]);
        if (!v.defined[r]) {
          col.null_count++;
          continue;
        }
      }
      switch (col.kind) {
        case ColumnKind::kTimestampMicros: col.i64.push_back(v.ints[r]); break;
        case ColumnKind::kDouble: col.f64.push_back(v.doubles[r]); break;
        case ColumnKind::kBool: col.b.push_back(v.bools[r]); break;
        case ColumnKind::kString: col.str.Append(v.strings[r]); break;
      }
    }
  }
  return rg;
}

struct WriteOptions {
  Codec codec = Codec::kZstd;
  bool modern = true;
  size_t row_group_rows = 1000;
  size_t page_rows = 300;
  bool plain_ids = false;
  std::vector<std::pair<std::string, std::string>> kv = {{"data_type", "test"}, {"row_count", "?"}};
};

void WriteTable(const Table& t, const std::string& path, const WriteOptions& o) {
  auto obj = storage::CreateLocalFile(path, true);
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  WriterOptions wo;
  wo.codec = o.codec;
  wo.encode.modern_encodings = o.modern;
  wo.encode.page_rows = o.page_rows;
  wo.created_by = "market-tick test";
  FileWriter w(obj->get(), t.schema, wo);
  for (size_t a = 0; a < t.rows; a += o.row_group_rows) {
    ASSERT_TRUE(w.WriteRowGroup(Slice(t, a, std::min(t.rows, a + o.row_group_rows), o.plain_ids)).ok());
  }
  ASSERT_TRUE(w.Finish(o.kv).ok());
  ASSERT_TRUE((*obj)->Commit().ok());
}

template <typename T>
T Load(const std::string& s) {
  T v;
  EXPECT_EQ(s.size(), sizeof(T));
  std::memcpy(&v, s.data(), sizeof(T));
  return v;
}

// Checks the statistics of one chunk against rows [a, b) of column c.
void CheckStats(const Table& t, size_t c, size_t a, size_t b, const ColumnChunkMeta& cc, const std::string& where) {
  ASSERT_TRUE(cc.statistics.has_value()) << where;
  const Statistics& st = *cc.statistics;
  const ColumnValues& v = t.cols[c];
  int64_t nulls = 0;
  for (size_t r = a; r < b; r++) nulls += !v.defined[r];
  EXPECT_EQ(st.null_count.value_or(-1), nulls) << where;
  if (nulls == static_cast<int64_t>(b - a)) {
    EXPECT_FALSE(st.min_value.has_value()) << where;
    return;
  }
  ASSERT_TRUE(st.min_value && st.max_value) << where;
  switch (t.schema[c].kind) {
    case ColumnKind::kTimestampMicros: {
      int64_t mn = INT64_MAX, mx = INT64_MIN;
      for (size_t r = a; r < b; r++) {
        if (v.defined[r]) mn = std::min(mn, v.ints[r]), mx = std::max(mx, v.ints[r]);
      }
      EXPECT_EQ(Load<int64_t>(*st.min_value), mn) << where;
      EXPECT_EQ(Load<int64_t>(*st.max_value), mx) << where;
      break;
    }
    case ColumnKind::kDouble: {
      double mn = INFINITY, mx = -INFINITY;
      for (size_t r = a; r < b; r++) {
        if (v.defined[r]) mn = std::min(mn, v.doubles[r]), mx = std::max(mx, v.doubles[r]);
      }
      EXPECT_EQ(Load<double>(*st.min_value), mn) << where;
      EXPECT_EQ(Load<double>(*st.max_value), mx) << where;
      break;
    }
    case ColumnKind::kBool: {
      uint8_t mn = 1, mx = 0;
      for (size_t r = a; r < b; r++) {
        if (v.defined[r]) mn = std::min(mn, v.bools[r]), mx = std::max(mx, v.bools[r]);
      }
      EXPECT_EQ(static_cast<uint8_t>((*st.min_value)[0]), mn) << where;
      EXPECT_EQ(static_cast<uint8_t>((*st.max_value)[0]), mx) << where;
      break;
    }
    case ColumnKind::kString: {
      std::string mn, mx;
      bool first = true;
      for (size_t r = a; r < b; r++) {
        if (!v.defined[r]) continue;
        if (first || v.strings[r] < mn) mn = v.strings[r];
        if (first || v.strings[r] > mx) mx = v.strings[r];
        first = false;
      }
      EXPECT_EQ(*st.min_value, mn) << where;
      EXPECT_EQ(*st.max_value, mx) << where;
      break;
    }
  }
}

void CheckFile(const Table& t, FileReader& r, const WriteOptions& o, const std::string& label) {
  const FileMetaData& md = r.metadata();
  EXPECT_EQ(md.num_rows, static_cast<int64_t>(t.rows)) << label;
  EXPECT_EQ(md.created_by, "market-tick test") << label;
  EXPECT_EQ(md.key_value, o.kv) << label;
  EXPECT_EQ(md.Metadata("data_type").value_or(""), "test");
  ASSERT_EQ(md.leaves.size(), t.schema.size()) << label;
  ASSERT_EQ(md.schema.size(), t.schema.size() + 1);
  EXPECT_EQ(md.schema[0].num_children, static_cast<int32_t>(t.schema.size()));
  for (size_t c = 0; c < t.schema.size(); c++) {
    const SchemaElement& e = md.schema[md.leaves[c].schema_index];
    const ColumnSpec& s = t.schema[c];
    const std::string where = label + " column " + s.name;
    EXPECT_EQ(e.name, s.name) << where;
    EXPECT_EQ(e.type, PhysOf(s.kind)) << where;
    EXPECT_EQ(e.repetition, s.nullable ? Repetition::kOptional : Repetition::kRequired) << where;
    EXPECT_EQ(md.leaves[c].max_def, s.nullable ? 1 : 0) << where;
    switch (s.kind) {
      case ColumnKind::kString:
        EXPECT_EQ(LogicalTypeName(e.logical), "STRING") << where;
        break;
      case ColumnKind::kTimestampMicros:
        EXPECT_EQ(LogicalTypeName(e.logical), "TIMESTAMP(MICROS,UTC)") << where;
        break;
      default:
        EXPECT_EQ(e.logical.kind, LogicalType::Kind::kNone) << where;
    }
  }
  const size_t groups = (t.rows + o.row_group_rows - 1) / o.row_group_rows;
  ASSERT_EQ(md.row_groups.size(), groups) << label;
  for (size_t g = 0; g < groups; g++) {
    const size_t a = g * o.row_group_rows, b = std::min(t.rows, a + o.row_group_rows);
    EXPECT_EQ(md.row_groups[g].num_rows, static_cast<int64_t>(b - a));
    for (size_t c = 0; c < t.schema.size(); c++) {
      const ColumnChunkMeta& cc = md.row_groups[g].columns[c];
      // The codec asked for, or none for a small chunk it did not shrink
      // (stored as its uncompressed pages: compressed size == uncompressed).
      if (cc.codec != o.codec) {
        EXPECT_EQ(cc.codec, Codec::kUncompressed) << label;
        EXPECT_EQ(cc.total_compressed_size, cc.total_uncompressed_size) << label;
        EXPECT_LE(cc.total_uncompressed_size, static_cast<int64_t>(kRawChoiceBytes + 1024)) << label;
      }
      EXPECT_EQ(cc.num_values, static_cast<int64_t>(b - a));
      EXPECT_EQ(cc.path_in_schema, std::vector<std::string>{t.schema[c].name});
      CheckStats(t, c, a, b, cc, label + " rg " + std::to_string(g) + " column " + t.schema[c].name);
    }
  }
  // Every value read back.
  for (size_t c = 0; c < t.schema.size(); c++) {
    auto v = r.ReadColumn(c);
    ASSERT_TRUE(v.ok()) << label << " " << t.schema[c].name << ": " << v.status().ToString();
    const ColumnValues& want = t.cols[c];
    EXPECT_EQ(v->num_rows, t.rows);
    EXPECT_EQ(v->defined, want.defined) << label << " " << t.schema[c].name;
    EXPECT_EQ(v->ints, want.ints) << label << " " << t.schema[c].name;
    EXPECT_EQ(v->bools, want.bools) << label << " " << t.schema[c].name;
    EXPECT_EQ(v->strings, want.strings) << label << " " << t.schema[c].name;
    ASSERT_EQ(v->doubles.size(), want.doubles.size());
    if (!want.doubles.empty()) {
      EXPECT_EQ(0, std::memcmp(v->doubles.data(), want.doubles.data(), want.doubles.size() * 8))
          << label << " " << t.schema[c].name;
    }
  }
}

TEST(FileReader, ReadsEveryDataTypeSchemaEveryCodecAndEncodingSet) {
  const TempDir dir("mt_reader_test_");
  uint32_t seed = 1;
  for (const auto& dt : tardis::AllSchemas()) {
    for (Codec codec : {Codec::kZstd, Codec::kSnappy, Codec::kUncompressed}) {
      for (bool modern : {true, false}) {
        WriteOptions o;
        o.codec = codec;
        o.modern = modern;
        o.plain_ids = seed % 2 == 0;
        const Table t = MakeTable(dt.ParquetSchema(), 2345, seed++);
        const std::string label = dt.name + "/" + CodecName(codec) + (modern ? "/modern" : "/plain");
        const std::string path = dir.File(dt.name + ".parquet");
        WriteTable(t, path, o);
        auto r = FileReader::OpenLocal(path);
        ASSERT_TRUE(r.ok()) << label << ": " << r.status().ToString();
        EXPECT_EQ((*r)->open_reads(), 1) << label;
        EXPECT_EQ((*r)->file_size(), fs::file_size(path));
        CheckFile(t, **r, o, label);
      }
    }
  }
}

TEST(FileReader, OpensThroughTheObjectStoreWithOneTailRead) {
  const TempDir dir("mt_reader_test_");
  auto store = storage::NewLocalStore(dir.path());
  const Table t = MakeTable(tardis::FindSchema("trades")->ParquetSchema(), 500, 9);
  WriteOptions o;
  WriteTable(t, dir.File("raw/trades.parquet"), o);
  auto r = FileReader::Open(store.get(), "raw/trades.parquet");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->open_reads(), 1);
  CheckFile(t, **r, o, "store");
  auto missing = FileReader::Open(store.get(), "raw/none.parquet");
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
}

TEST(FileReader, LongFooterTakesASecondRead) {
  const TempDir dir("mt_reader_test_");
  const Table t = MakeTable(tardis::FindSchema("quotes")->ParquetSchema(), 10, 3);
  WriteOptions o;
  o.kv = {{"data_type", "test"}, {"big", std::string(100000, 'x')}};
  WriteTable(t, dir.File("f.parquet"), o);
  auto r = FileReader::OpenLocal(dir.File("f.parquet"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->open_reads(), 2);
  EXPECT_GT((*r)->footer_size(), FileReader::kTailReadBytes);
  CheckFile(t, **r, o, "long footer");
}

TEST(FileReader, ZeroRowFileIsValidAndEmpty) {
  const TempDir dir("mt_reader_test_");
  const Table t = MakeTable(tardis::FindSchema("book_snapshot_25")->ParquetSchema(), 0, 1);
  WriteOptions o;
  WriteTable(t, dir.File("empty.parquet"), o);
  auto r = FileReader::OpenLocal(dir.File("empty.parquet"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->metadata().num_rows, 0);
  EXPECT_TRUE((*r)->metadata().row_groups.empty());
  EXPECT_EQ((*r)->metadata().leaves.size(), t.schema.size());
  auto v = (*r)->ReadColumn("timestamp");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->num_rows, 0u);
  EXPECT_EQ((*r)->ReadColumn("no_such_column").status().code(), Status::Code::kNotFound);
}

TEST(FileReader, EveryTruncationIsACleanError) {
  const TempDir dir("mt_reader_test_");
  const Table t = MakeTable(tardis::FindSchema("trades")->ParquetSchema(), 300, 5);
  WriteOptions o;
  WriteTable(t, dir.File("f.parquet"), o);
  const std::string bytes = testing::ReadFile(dir.File("f.parquet"));
  for (size_t n = 0; n < bytes.size(); n++) {
    auto r = FileReader::OpenBuffer(bytes.substr(0, n), "cut");
    EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes opened";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput) << n;
    }
  }
  // A prefix followed by a good footer: the chunks point outside the data.
  const uint32_t flen = Load<uint32_t>(bytes.substr(bytes.size() - 8, 4));
  const std::string footer = bytes.substr(bytes.size() - 8 - flen);
  auto r = FileReader::OpenBuffer(bytes.substr(0, bytes.size() / 3) + footer, "spliced");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("outside the data section"), std::string::npos) << r.status().message();
}

TEST(FileReader, GarbageAndFlippedBytesNeverCrash) {
  const TempDir dir("mt_reader_test_");
  const Table t = MakeTable(tardis::FindSchema("derivative_ticker")->ParquetSchema(), 200, 6);
  WriteOptions o;
  o.row_group_rows = 70;
  o.page_rows = 30;
  WriteTable(t, dir.File("f.parquet"), o);
  const std::string good = testing::ReadFile(dir.File("f.parquet"));
  std::mt19937 rng(11);
  int opened = 0, failed = 0;
  for (int i = 0; i < 3000; i++) {
    std::string b = good;
    const int flips = 1 + rng() % 4;
    for (int f = 0; f < flips; f++) b[rng() % b.size()] = static_cast<char>(rng());
    auto r = FileReader::OpenBuffer(b, "flipped");
    if (!r.ok()) {
      failed++;
      continue;
    }
    opened++;
    for (size_t c = 0; c < (*r)->metadata().leaves.size(); c++) (void)(*r)->ReadColumn(c);
  }
  EXPECT_GT(opened, 0);
  EXPECT_GT(failed, 0);
  for (int i = 0; i < 500; i++) {
    std::string b(rng() % 200, '\0');
    for (auto& ch : b) ch = static_cast<char>(rng());
    if (i % 2) b += "PAR1";
    EXPECT_FALSE(FileReader::OpenBuffer(b, "garbage").ok());
  }
  EXPECT_FALSE(FileReader::OpenBuffer("", "empty").ok());
  EXPECT_FALSE(FileReader::OpenBuffer("PAR1PAR1", "magic only").ok());
  EXPECT_FALSE(FileReader::OpenBuffer(std::string("PAR1\xff\xff\xff\x7fPAR1", 12), "huge footer").ok());
}

// Every page header of our files carries the CRC-32 of the page's stored
// bytes (PageHeader field 4), computed here by zlib, an implementation of
// its own: compressed pages, pages left uncompressed, dictionary pages.
TEST(FileReader, EveryPageCarriesTheCrc32OfItsStoredBytes) {
  const TempDir dir("mt_reader_test_");
  for (Codec codec : {Codec::kZstd, Codec::kSnappy, Codec::kUncompressed}) {
    WriteOptions o;
    o.codec = codec;
    const Table t = MakeTable(tardis::FindSchema("trades")->ParquetSchema(), 2345, 21);
    WriteTable(t, dir.File("f.parquet"), o);
    const std::string bytes = testing::ReadFile(dir.File("f.parquet"));
    auto r = FileReader::OpenBuffer(bytes, "crc");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    size_t pages = 0, dictionary_pages = 0;
    for (const auto& rg : (*r)->metadata().row_groups) {
      for (const ColumnChunkMeta& cc : rg.columns) {
        size_t at = static_cast<size_t>(cc.StartOffset());
        const size_t end = at + static_cast<size_t>(cc.total_compressed_size);
        while (at < end) {
          PageHeader h;
          size_t hlen = 0;
          ASSERT_TRUE(ParsePageHeader(std::string_view(bytes).substr(at, end - at), &h, &hlen).ok());
          const std::string_view stored(bytes.data() + at + hlen, static_cast<size_t>(h.compressed_size));
          ASSERT_TRUE(h.has_crc) << CodecName(codec) << " page at " << at;
          const uint32_t want = static_cast<uint32_t>(
              crc32(0, reinterpret_cast<const Bytef*>(stored.data()), static_cast<uInt>(stored.size())));
          EXPECT_EQ(h.crc, want) << CodecName(codec) << " page at " << at;
          pages++;
          dictionary_pages += h.type == PageType::kDictionaryPage;
          at += hlen + stored.size();
        }
        EXPECT_EQ(at, end);
      }
    }
    EXPECT_GT(pages, 3 * 8u) << CodecName(codec);  // three row groups of eight columns, several pages
    EXPECT_GT(dictionary_pages, 0u) << CodecName(codec);
  }
}

// 500 trades rows written uncompressed to dir/f.parquet (a damaged byte of an
// uncompressed page decodes: only its CRC tells).
Table UncompressedTrades(const TempDir& dir, uint32_t seed) {
  WriteOptions o;
  o.codec = Codec::kUncompressed;
  Table t = MakeTable(tardis::FindSchema("trades")->ParquetSchema(), 500, seed);
  WriteTable(t, dir.File("f.parquet"), o);
  return t;
}

// The offset of the middle byte of the stored body (past the header) of
// the first data page of column `name` in row group 0.
size_t DataPageBody(const std::string& bytes, const std::string& name) {
  auto r = FileReader::OpenBuffer(bytes, "find");
  const FileMetaData& md = (*r)->metadata();
  const ColumnChunkMeta& cc = md.row_groups[0].columns[static_cast<size_t>(md.FindLeaf(name))];
  PageHeader h;
  size_t hlen = 0;
  const size_t at = static_cast<size_t>(cc.data_page_offset);
  EXPECT_TRUE(ParsePageHeader(std::string_view(bytes).substr(at), &h, &hlen).ok());
  return at + hlen + static_cast<size_t>(h.compressed_size) / 2;
}

// A byte damaged where the file is kept: the page's CRC-32 finds it, the
// read is kDataLoss naming the file, row group, column and page, and no
// wrong value comes out (uncompressed doubles decode from any bytes).
TEST(FileReader, APageDamagedWhereItIsStoredIsDataLossNamingIt) {
  const TempDir dir("mt_reader_test_");
  const Table t = UncompressedTrades(dir, 22);
  std::string bytes = testing::ReadFile(dir.File("f.parquet"));
  bytes[DataPageBody(bytes, "amount")] ^= 0x10;
  auto r = FileReader::OpenBuffer(bytes, "kept.parquet");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto v = (*r)->ReadColumn("amount");
  ASSERT_FALSE(v.ok()) << "a damaged page decoded";
  EXPECT_EQ(v.status().code(), Status::Code::kDataLoss);
  EXPECT_EQ(v.status().detail(), Status::Detail::kChecksumMismatch);
  EXPECT_NE(v.status().message().find("kept.parquet: row group 0 column 'amount': the page at chunk byte "),
            std::string::npos)
      << v.status().message();
  EXPECT_NE(v.status().message().find("the file is damaged where it is stored"), std::string::npos);
  EXPECT_EQ(v.status().message().find("reads"), std::string::npos) << "read once: " << v.status().message();
  EXPECT_TRUE((*r)->ReadColumn("price").ok()) << "the other columns are whole";
}

// A store whose next `damaged` ranged reads of part of an object (column
// chunks; not the read of the footer's tail that pins the object's
// version) arrive with a byte flipped: a transfer damaged on its way.
class DamagingStore : public testing::MemoryStoreDouble {
 public:
  int damaged = 0;
  int reads = 0;
  size_t at = std::string::npos;  // the byte flipped; npos: the middle one
  bool ReadsOverNetwork() const override { return true; }
  Result<std::string> ReadRangeOfVersion(const std::string& name, uint64_t offset, int64_t length,
                                         RangedRead* read) override {
    MT_ASSIGN_OR_RETURN(std::string b, MemoryStoreDouble::ReadRangeOfVersion(name, offset, length, read));
    MT_ASSIGN_OR_RETURN(const std::string whole, Read(name));
    if (b.size() == whole.size()) return b;
    reads++;
    if (damaged > 0 && !b.empty()) {
      damaged--;
      b[at < b.size() ? at : b.size() / 2] ^= 1;
    }
    return b;
  }
};

TEST(FileReader, AChunkDamagedOnItsWayIsReadAgainWhenItCameOverANetwork) {
  const TempDir dir("mt_reader_test_");
  const Table t = UncompressedTrades(dir, 23);
  DamagingStore store;
  store.Put("raw/f.parquet", testing::ReadFile(dir.File("f.parquet")));
  {
    auto r = FileReader::Open(&store, "raw/f.parquet");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    store.damaged = 2;
    store.reads = 0;
    auto v = (*r)->ReadColumn("amount");
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ(store.reads, 3) << "damaged twice, whole the third time";
    const int leaf = (*r)->metadata().FindLeaf("amount");
    EXPECT_EQ(v->doubles, t.cols[static_cast<size_t>(leaf)].doubles);
  }
  auto r = FileReader::Open(&store, "raw/f.parquet");
  ASSERT_TRUE(r.ok());
  store.damaged = 3;
  store.reads = 0;
  auto v = (*r)->ReadColumn("amount");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(store.reads, FileReader::kChunkReads);
  EXPECT_EQ(v.status().code(), Status::Code::kDataLoss);
  EXPECT_NE(v.status().message().find("memory://raw/f.parquet: row group 0 column 'amount': the page at chunk byte "),
            std::string::npos)
      << v.status().message();
  EXPECT_NE(v.status().message().find(") in each of 3 reads: the file is damaged where it is stored"),
            std::string::npos)
      << v.status().message();
  // A byte of a page header (which no CRC covers) damaged on the way: the
  // chunk fails to decode, and is read again too.
  {
    auto h = FileReader::Open(&store, "raw/f.parquet");
    ASSERT_TRUE(h.ok());
    store.damaged = 1;
    store.at = 1;  // the page type's value: out of the enum's range, the header is refused
    store.reads = 0;
    auto hv = (*h)->ReadColumn("amount");
    ASSERT_TRUE(hv.ok()) << hv.status().ToString();
    EXPECT_EQ(store.reads, 2);
    EXPECT_EQ(hv->doubles, t.cols[static_cast<size_t>((*h)->metadata().FindLeaf("amount"))].doubles);
  }
  // A local store gives the same bytes again: read once.
  auto local = storage::NewLocalStore(dir.path());
  std::string damaged = testing::ReadFile(dir.File("f.parquet"));
  damaged[DataPageBody(damaged, "amount")] ^= 1;
  { std::ofstream(dir.File("g.parquet"), std::ios::binary) << damaged; }
  auto lr = FileReader::Open(local.get(), "g.parquet");
  ASSERT_TRUE(lr.ok()) << lr.status().ToString();
  auto lv = (*lr)->ReadColumn("amount");
  ASSERT_FALSE(lv.ok());
  EXPECT_EQ(lv.status().code(), Status::Code::kDataLoss);
  EXPECT_EQ(lv.status().message().find("reads"), std::string::npos) << lv.status().message();
}

// Every single-bit flip of a footer (a byte damaged on disk, or in a
// cloud object's tail read, which no page CRC covers): the file fails to
// open or to read, or reads the values written. A chunk's type flipped
// from BYTE_ARRAY to FLOAT crashed the reader; DOUBLE to FLOAT gave wrong
// values; a codec outside Parquet's passed the open.
TEST(FileReader, EveryBitOfTheFooterFlippedFailsOrReadsTheValuesWritten) {
  const TempDir dir("mt_reader_test_");
  WriteOptions o;
  o.row_group_rows = 150;
  o.page_rows = 60;
  o.kv = {{"data_type", "trades"}};
  const Table t = MakeTable(tardis::FindSchema("trades")->ParquetSchema(), 300, 24);
  WriteTable(t, dir.File("f.parquet"), o);
  const std::string good = testing::ReadFile(dir.File("f.parquet"));
  const uint32_t flen = Load<uint32_t>(good.substr(good.size() - 8, 4));
  const size_t footer = good.size() - 8 - flen;
  size_t opened = 0, failed = 0;
  for (size_t at = footer; at < good.size() - 8; at++) {
    for (int bit = 0; bit < 8; bit++) {
      std::string b = good;
      b[at] = static_cast<char>(b[at] ^ (1 << bit));
      auto r = FileReader::OpenBuffer(b, "flipped");
      if (!r.ok()) {
        failed++;
        continue;
      }
      bool all = true;
      for (size_t c = 0; c < t.schema.size() && all; c++) {
        const int leaf = (*r)->metadata().FindLeaf(t.schema[c].name);
        if (leaf < 0) {
          all = false;
          break;
        }
        auto v = (*r)->ReadColumn(static_cast<size_t>(leaf));
        if (!v.ok()) {
          all = false;
          break;
        }
        const ColumnValues& w = t.cols[c];
        ASSERT_EQ(v->type, w.type) << "byte " << at << " bit " << bit << " column " << t.schema[c].name;
        ASSERT_EQ(v->defined, w.defined) << "byte " << at << " bit " << bit << " column " << t.schema[c].name;
        ASSERT_TRUE(v->ints == w.ints && v->doubles == w.doubles && v->strings == w.strings && v->bools == w.bools)
            << "byte " << at << " bit " << bit << " column " << t.schema[c].name << ": other values, no error";
      }
      (all ? opened : failed)++;
    }
  }
  EXPECT_GT(opened, 0u);
  EXPECT_GT(failed, 0u);
}

// A page header a damaged byte cut a required field from is an error, not
// a page read with the field's default (BYTE_STREAM_SPLIT values decoded
// as PLAIN: wrong numbers, exit 0).
TEST(ThriftReader, APageHeaderWithoutARequiredFieldIsAnError) {
  auto header = [](bool sizes, bool sub, bool count, bool encoding, PageType type) {
    std::string out;
    ThriftWriter w(&out);
    w.BeginStruct();
    w.FieldI32(fid::kPhType, static_cast<int32_t>(type));
    if (sizes) {
      w.FieldI32(fid::kPhUncompressedSize, 16);
      w.FieldI32(fid::kPhCompressedSize, 16);
    }
    if (sub) {
      w.FieldStruct(type == PageType::kDictionaryPage ? fid::kPhDictionaryPageHeader : fid::kPhDataPageHeader);
      if (count) w.FieldI32(fid::kDpNumValues, 2);  // field 1 in both
      if (encoding) w.FieldI32(fid::kDpEncoding, static_cast<int32_t>(Encoding::kByteStreamSplit));
      w.EndStruct();
    }
    w.EndStruct();
    return out;
  };
  PageHeader h;
  size_t len = 0;
  for (PageType type : {PageType::kDataPage, PageType::kDictionaryPage}) {
    EXPECT_TRUE(ParsePageHeader(header(true, true, true, true, type), &h, &len).ok());
    EXPECT_EQ(h.encoding, Encoding::kByteStreamSplit);
    const auto error = [&](const std::string& bytes) {
      const Status st = ParsePageHeader(bytes, &h, &len);
      return st.ok() ? std::string("ok") : st.message();
    };
    EXPECT_EQ(error(header(true, true, true, false, type)), "page header lacks its encoding");
    EXPECT_EQ(error(header(true, true, false, true, type)), "page header lacks its value count");
    EXPECT_EQ(error(header(true, false, false, false, type)), "page header lacks the header of its page type");
    EXPECT_EQ(error(header(false, true, true, true, type)), "page header lacks its page sizes");
  }
  // A data page whose only header is a dictionary page's; a v2 page without
  // its counts and levels' lengths (read as 0, levels would be values).
  std::string other;
  {
    ThriftWriter w(&other);
    w.BeginStruct();
    w.FieldI32(fid::kPhType, static_cast<int32_t>(PageType::kDataPage));
    w.FieldI32(fid::kPhUncompressedSize, 16);
    w.FieldI32(fid::kPhCompressedSize, 16);
    w.FieldStruct(fid::kPhDictionaryPageHeader);
    w.FieldI32(fid::kDictNumValues, 2);
    w.FieldI32(fid::kDictEncoding, 0);
    w.EndStruct();
    w.EndStruct();
  }
  EXPECT_EQ(ParsePageHeader(other, &h, &len).message(), "page header lacks the header of its page type");
  auto v2 = [](bool counts) {
    std::string out;
    ThriftWriter w(&out);
    w.BeginStruct();
    w.FieldI32(fid::kPhType, static_cast<int32_t>(PageType::kDataPageV2));
    w.FieldI32(fid::kPhUncompressedSize, 16);
    w.FieldI32(fid::kPhCompressedSize, 16);
    w.FieldStruct(fid::kPhDataPageHeaderV2);
    w.FieldI32(fid::kDp2NumValues, 2);
    if (counts) {
      w.FieldI32(fid::kDp2NumNulls, 0);
      w.FieldI32(fid::kDp2NumRows, 2);
    }
    w.FieldI32(fid::kDp2Encoding, 0);
    w.FieldI32(fid::kDp2DefLevelsLength, 0);
    w.FieldI32(fid::kDp2RepLevelsLength, 0);
    w.EndStruct();
    w.EndStruct();
    return out;
  };
  EXPECT_TRUE(ParsePageHeader(v2(true), &h, &len).ok());
  EXPECT_EQ(ParsePageHeader(v2(false), &h, &len).message(),
            "page header lacks its null and row counts or its levels' lengths");
}

TEST(ThriftReader, RejectsHostileStructures) {
  // List claiming 2^31 structs with three bytes left.
  {
    const std::string b("\x19\xfc\xff\xff\xff\x07", 6);
    auto md = ParseFileMetaData(b);
    EXPECT_FALSE(md.ok());
  }
  // Nesting deeper than the limit.
  {
    std::string b;
    for (int i = 0; i < 200; i++) b += '\x1c';  // field 1, struct
    ThriftReader r(b);
    r.Skip(TType::kStruct);
    EXPECT_FALSE(r.ok());
  }
  // Unknown type nibble.
  {
    const std::string b("\x1d", 1);
    ThriftReader r(b);
    int16_t id;
    TType t;
    r.BeginStruct();
    EXPECT_FALSE(r.ReadFieldHeader(&id, &t));
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.status("x").message().find("at byte"), std::string::npos);
  }
  // Binary longer than the input.
  {
    const std::string b("\x7f" "abc", 4);
    ThriftReader r(b);
    EXPECT_TRUE(r.ReadBinary().empty());
    EXPECT_FALSE(r.ok());
  }
}

// Encoding runs on the pool and WriteRowGroup() returns once the row group is
// written (its values then freed, for the next one to reuse). The waiting
// caller runs queued encoding tasks itself, so a pool whose every thread is
// busy (here: blocked) cannot stall it.
TEST(FileWriter, WriteRowGroupReturnsWrittenEvenWhenThePoolIsBusy) {
  const TempDir dir("mt_reader_test_");
  const Table t = MakeTable(tardis::FindSchema("trades")->ParquetSchema(), 1000, 21);
  ThreadPool pool(1);
  std::promise<void> gate, started;
  std::future<void> blocked = pool.Submit([g = gate.get_future().share(), &started] {
    started.set_value();
    g.wait();
  });
  started.get_future().wait();  // the pool's thread holds the blocker, not the queue
  const std::string path = dir.File("busy.parquet");
  auto obj = storage::CreateLocalFile(path, true);
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  WriteOptions o;
  o.row_group_rows = 500;
  WriterOptions wo;
  wo.pool = &pool;
  wo.encode.page_rows = o.page_rows;
  wo.created_by = "market-tick test";
  FileWriter w(obj->get(), t.schema, wo);
  ASSERT_TRUE(w.WriteRowGroup(Slice(t, 0, 500, false)).ok());
  const uint64_t after_first = (*obj)->bytes_written();
  EXPECT_GT(after_first, 4u) << "the first row group is in the file when WriteRowGroup returns";
  ASSERT_TRUE(w.WriteRowGroup(Slice(t, 500, 1000, false)).ok());
  EXPECT_GT((*obj)->bytes_written(), after_first);
  EXPECT_EQ(blocked.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "the pool's only thread was blocked the whole time";
  gate.set_value();
  ASSERT_TRUE(w.Finish(o.kv).ok());
  ASSERT_TRUE((*obj)->Commit().ok());
  auto r = FileReader::OpenLocal(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  CheckFile(t, **r, o, "busy pool");
}

TEST(ThreadPool, RunPendingTaskRunsTheOldestQueuedTaskOnTheCaller) {
  ThreadPool pool(1);
  std::promise<void> gate, started;
  auto blocked = pool.Submit([g = gate.get_future().share(), &started] {
    started.set_value();
    g.wait();
  });
  started.get_future().wait();
  std::vector<int> order;
  auto a = pool.Submit([&] { order.push_back(1); });
  auto b = pool.Submit([&] { order.push_back(2); });
  ASSERT_TRUE(pool.RunPendingTask());
  EXPECT_EQ(a.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(b.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  ASSERT_TRUE(pool.RunPendingTask());
  EXPECT_FALSE(pool.RunPendingTask()) << "nothing left in the queue";
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  gate.set_value();
  blocked.get();
}

TEST(LocalStore, RangedAndTailReads) {
  const TempDir dir("mt_reader_test_");
  auto store = storage::NewLocalStore(dir.path());
  {
    auto w = store->Create("a/b.bin", true);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("0123456789").ok());
    ASSERT_TRUE((*w)->Commit().ok());
  }
  EXPECT_EQ(*store->ReadRange("a/b.bin", 2, 3), "234");
  EXPECT_EQ(*store->ReadRange("a/b.bin", 8, 10), "89");
  EXPECT_EQ(*store->ReadRange("a/b.bin", 4, -1), "456789");
  EXPECT_EQ(*store->ReadRange("a/b.bin", 20, 1), "");
  auto t = store->ReadTail("a/b.bin", 4);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->bytes, "6789");
  EXPECT_EQ(t->object_size, 10u);
  EXPECT_EQ(store->ReadTail("a/b.bin", 100)->bytes, "0123456789");
  EXPECT_EQ(store->ReadTail("a/none", 4).status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace mt::parquet
