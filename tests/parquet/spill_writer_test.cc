// SpillWriter: a file assembled from the spill is byte for byte the file a
// FileWriter writes from its rows joined into row groups, however the pieces
// of several files interleave in the spill.
#include "parquet/spill_writer.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "parquet/file_writer.h"

namespace mt::parquet {
namespace {

using columnar::ColumnKind;
using columnar::ColumnSpec;
using columnar::MakeRowGroup;
using columnar::RowGroupData;

class StringSink final : public storage::WritableObject {
 public:
  Status Append(std::string_view d) override {
    bytes.append(d);
    return Status::OK();
  }
  Status Commit() override { return Status::OK(); }
  void Abort() override {}
  uint64_t bytes_written() const override { return bytes.size(); }
  std::string bytes;
};

std::vector<ColumnSpec> Schema() {
  return {{"ts", ColumnKind::kTimestampMicros, false},
          {"px", ColumnKind::kDouble, true},
          {"sym", ColumnKind::kString, false},
          {"flag", ColumnKind::kBool, true}};
}

// Row group `g` of file `f`: values differ per file and group; some nulls.
RowGroupData Group(int f, int g, size_t rows) {
  RowGroupData rg = MakeRowGroup(Schema());
  for (size_t r = 0; r < rows; r++) {
    rg.columns[0].i64.push_back(1'600'000'000'000'000 + f * 1'000'000 + g * 1000 + static_cast<int64_t>(r));
    if (r % 7 == 3) {
      rg.columns[1].AddNull(r);
    } else {
      rg.columns[1].AddDefined();
      rg.columns[1].f64.push_back(100.0 + f + 0.5 * static_cast<double>(r % 13));
    }
    rg.columns[2].str.Append("SYM-" + std::to_string(f) + "-" + std::to_string(r % 3));
    if (r % 5 == 0) {
      rg.columns[3].AddNull(r);
    } else {
      rg.columns[3].AddDefined();
      rg.columns[3].b.push_back(r % 2);
    }
    rg.num_rows++;
  }
  return rg;
}

// The rows of groups [first, last] of file f as one row group, in order.
RowGroupData Joined(int f, int first, int last) {
  RowGroupData all = MakeRowGroup(Schema());
  for (int g = first; g <= last; g++) {
    const RowGroupData part = Group(f, g, 1 + 37 * (f + g));
    std::vector<size_t> cursor(Schema().size(), 0);
    columnar::AppendRows(part, 0, part.num_rows, &cursor, &all);
  }
  return all;
}

// Pieces of four files interleaved in the spill, uneven (file f gets f + 1
// pieces, some with nulls); each file assembled is the file a FileWriter
// writes from its rows joined into one row group, or, under a row bound,
// into as many as the bound needs (pieces are never cut).
void CheckSameBytes(ThreadPool* pool, size_t max_rows, const std::vector<std::vector<std::pair<int, int>>>& groups) {
  WriterOptions opts;
  opts.pool = pool;
  const std::vector<std::pair<std::string, std::string>> kv = {{"k", "v"}};
  SpillWriter spill(Schema(), opts, max_rows);
  ASSERT_TRUE(spill.Open("").ok());
  constexpr int kFiles = 4;
  for (int f = 0; f < kFiles; f++) EXPECT_EQ(spill.AddFile(), static_cast<uint32_t>(f));
  for (int g = 0; g < kFiles; g++) {
    for (int f = g; f < kFiles; f++) ASSERT_TRUE(spill.Append(f, Group(f, g, 1 + 37 * (f + g))).ok());
  }
  ASSERT_TRUE(spill.Flush().ok());
  EXPECT_GT(spill.spill_bytes(), 0u);
  for (int f = 0; f < kFiles; f++) {
    StringSink want, got;
    FileWriter w(&want, Schema(), opts);
    for (const auto& [first, last] : groups[f]) ASSERT_TRUE(w.WriteRowGroup(Joined(f, first, last)).ok());
    ASSERT_TRUE(w.Finish(kv).ok());
    ASSERT_TRUE(spill.WriteFile(f, &got, kv, std::vector<bool>(Schema().size(), false)).ok());
    EXPECT_EQ(spill.num_rows(f), w.num_rows());
    EXPECT_EQ(got.bytes, want.bytes) << "file " << f;
  }
}

TEST(SpillWriterTest, EachFileIsOneRowGroupOfItsRowsInOrder) {
  CheckSameBytes(nullptr, 1'000'000, {{{0, 0}}, {{0, 1}}, {{0, 2}}, {{0, 3}}});
}

TEST(SpillWriterTest, TheSameWithAPoolGiven) {
  ThreadPool pool(2);
  CheckSameBytes(&pool, 1'000'000, {{{0, 0}}, {{0, 1}}, {{0, 2}}, {{0, 3}}});
}

TEST(SpillWriterTest, ARowBoundSplitsBetweenPieces) {
  // File 3's pieces have 112, 149, 186 and 223 rows: 300 rows at most per
  // row group joins the first two only.
  CheckSameBytes(nullptr, 300, {{{0, 0}}, {{0, 1}}, {{0, 1}, {2, 2}}, {{0, 1}, {2, 2}, {3, 3}}});
}

TEST(SpillWriterTest, FilesAreAssembledOnSeveralThreadsAtOnce) {
  WriterOptions opts;
  SpillWriter spill(Schema(), opts);
  ASSERT_TRUE(spill.Open("").ok());
  constexpr int kFiles = 16;
  for (int f = 0; f < kFiles; f++) spill.AddFile();
  for (int g = 0; g < 3; g++) {
    for (int f = 0; f < kFiles; f++) ASSERT_TRUE(spill.Append(f, Group(f, g, 1 + 37 * (f + g))).ok());
  }
  ASSERT_TRUE(spill.Flush().ok());
  std::vector<StringSink> got(kFiles);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int f = t; f < kFiles; f += 4) {
        EXPECT_TRUE(spill.WriteFile(f, &got[f], {}, std::vector<bool>(Schema().size(), false)).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f = 0; f < kFiles; f++) {
    StringSink want;
    FileWriter w(&want, Schema(), opts);
    ASSERT_TRUE(w.WriteRowGroup(Joined(f, 0, 2)).ok());
    ASSERT_TRUE(w.Finish({}).ok());
    EXPECT_EQ(got[f].bytes, want.bytes) << "file " << f;
  }
}

TEST(SpillWriterTest, AFileWithoutRowGroupsIsAValidEmptyFile) {
  WriterOptions opts;
  SpillWriter spill(Schema(), opts);
  ASSERT_TRUE(spill.Open("").ok());
  const uint32_t f = spill.AddFile();
  ASSERT_TRUE(spill.Flush().ok());
  StringSink want, got;
  FileWriter w(&want, Schema(), opts);
  ASSERT_TRUE(w.Finish({}).ok());
  ASSERT_TRUE(spill.WriteFile(f, &got, {}, {}).ok());
  EXPECT_EQ(got.bytes, want.bytes);
}

// One Scratch carried from file to file (as each thread of a grouped file's
// Finish does): every file has the bytes of a fresh assembly, whatever the
// file before it left in the scratch: another size, another string mode, a
// transform that added a column (and took it out again), or a file big
// enough that its memory is dropped after it.
TEST(SpillWriterTest, AScratchReusedAcrossFilesGivesTheBytesOfAFreshOne) {
  WriterOptions opts;
  SpillWriter spill(Schema(), opts, 10'000'000, 64u << 20);  // every file one row group
  ASSERT_TRUE(spill.Open("").ok());
  constexpr int kFiles = 4;
  // File 2 is big: its joined row group holds more than Scratch::kKeepBytes.
  const size_t big_rows = SpillWriter::Scratch::kKeepBytes / 20 + 1000;
  for (int f = 0; f < kFiles; f++) spill.AddFile();
  for (int g = 0; g < 3; g++) {
    for (int f = 0; f < kFiles; f++) {
      ASSERT_TRUE(spill.Append(f, Group(f, g, f == 2 ? big_rows : 1 + 37 * (f + g))).ok());
    }
  }
  ASSERT_TRUE(spill.Flush().ok());
  // A transform as the converter's: a constant string column added after
  // column 0, taken out again by undo.
  SpillWriter::GroupTransform add;
  add.schema = Schema();
  add.schema.insert(add.schema.begin() + 1, ColumnSpec{"key", ColumnKind::kString, true});
  add.apply = [](RowGroupData* rg) {
    columnar::ColumnData col;
    col.kind = ColumnKind::kString;
    for (size_t r = 0; r < rg->num_rows; r++) col.str.Append("KEY");
    rg->columns.insert(rg->columns.begin() + 1, std::move(col));
  };
  add.undo = [](RowGroupData* rg) { rg->columns.erase(rg->columns.begin() + 1); };
  const std::vector<bool> dict(Schema().size(), false);
  std::vector<bool> plain = dict;
  plain[2] = true;
  struct Call {
    int file;
    const std::vector<bool>* strings;
    const SpillWriter::GroupTransform* transform;
  };
  const std::vector<Call> calls = {{0, &dict, nullptr}, {1, &dict, &add},  {3, &plain, nullptr}, {2, &dict, nullptr},
                                   {0, &dict, &add},    {3, &dict, nullptr}, {1, &plain, &add},  {2, &plain, &add}};
  SpillWriter::Scratch scratch;
  for (size_t i = 0; i < calls.size(); i++) {
    const Call& c = calls[i];
    StringSink fresh, reused;
    ASSERT_TRUE(spill.WriteFile(c.file, &fresh, {{"k", "v"}}, *c.strings, nullptr, c.transform).ok());
    ASSERT_TRUE(spill.WriteFile(c.file, &reused, {{"k", "v"}}, *c.strings, nullptr, c.transform, &scratch).ok());
    EXPECT_EQ(reused.bytes, fresh.bytes) << "call " << i << ", file " << c.file;
    if (c.transform == nullptr && c.strings == &dict) {
      // And the file a FileWriter writes from the rows joined (plain start
      // hints aside, as the tests above).
      StringSink want;
      FileWriter w(&want, Schema(), opts);
      ASSERT_TRUE(w.WriteRowGroup(c.file == 2 ? [&] {
        RowGroupData all = MakeRowGroup(Schema());
        for (int g = 0; g < 3; g++) {
          const RowGroupData part = Group(2, g, big_rows);
          std::vector<size_t> cursor(Schema().size(), 0);
          columnar::AppendRows(part, 0, part.num_rows, &cursor, &all);
        }
        return all;
      }() : Joined(c.file, 0, 2)).ok());
      ASSERT_TRUE(w.Finish({{"k", "v"}}).ok());
      EXPECT_EQ(reused.bytes, want.bytes) << "call " << i << ", file " << c.file;
    }
  }
}

TEST(SpillWriterTest, AnUnwritableDirectoryIsAClearError) {
  SpillWriter spill(Schema(), WriterOptions{});
  const Status st = spill.Open("/nonexistent-dir-for-spill");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("TMPDIR"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace mt::parquet
