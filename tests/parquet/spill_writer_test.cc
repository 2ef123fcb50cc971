// SpillWriter: a file assembled from the spill is byte for byte the file a
// FileWriter writes from its rows joined into row groups, however the pieces
// of several files interleave in the spill.
#include "parquet/spill_writer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/exit_code.h"
#include "core/thread_pool.h"
#include "parquet/file_writer.h"
#include "support/without_descriptors.h"

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
// The piece index in a file of its own (runs of 5 entries here, of 65,536 in
// a grouped file of millions of pieces): every file comes out as from the
// index held in memory, taken a little out of order as pool threads take
// them, and with files that are never written (their objects existed),
// discarded before the merge reached them or after.
TEST(SpillWriterTest, APieceIndexOnDiskGivesTheFilesOfOneInMemory) {
  WriterOptions opts;
  SpillWriter mem(Schema(), opts);
  SpillWriter disk(Schema(), opts, 1'000'000, 32u << 20, /*index_run_entries=*/5);
  ASSERT_TRUE(mem.Open("").ok());
  ASSERT_TRUE(disk.Open("").ok());
  constexpr int kFiles = 40;
  for (int f = 0; f < kFiles; f++) {
    mem.AddFile();
    disk.AddFile();
  }
  for (int g = 0; g < 6; g++) {
    for (int f = 0; f < kFiles; f++) {
      if ((f + g) % 3 == 0) continue;  // not every file in every group
      const RowGroupData rg = Group(f, g, 1 + (f * 7 + g) % 23);
      ASSERT_TRUE(mem.Append(f, rg).ok());
      ASSERT_TRUE(disk.Append(f, rg).ok());
    }
  }
  ASSERT_TRUE(mem.Flush().ok());
  ASSERT_TRUE(disk.Flush().ok());
  disk.Discard(7);
  const std::vector<bool> dict(Schema().size(), false);
  for (int i = 0; i < kFiles; i++) {
    const int f = i ^ 1;  // 1, 0, 3, 2, ...
    if (f == 7 || f == 12) continue;
    StringSink a, b;
    ASSERT_TRUE(mem.WriteFile(f, &a, {{"k", "v"}}, dict).ok());
    ASSERT_TRUE(disk.WriteFile(f, &b, {{"k", "v"}}, dict).ok()) << f;
    EXPECT_GT(a.bytes.size(), 100u);
    EXPECT_EQ(a.bytes, b.bytes) << "file " << f;
    EXPECT_EQ(mem.num_rows(f), disk.num_rows(f));
    EXPECT_EQ(mem.largest_group_bytes(f), disk.largest_group_bytes(f));
    // File 12's pieces wait for it once 13 is taken; it is then discarded
    // (its object existed), and 14 on come out as before.
    if (f == 13) disk.Discard(12);
  }
  // From the index in memory a file may be read again; from the runs on
  // disk, which the merge has passed, a second take is an error, not an
  // empty file.
  StringSink again;
  EXPECT_TRUE(mem.WriteFile(3, &again, {{"k", "v"}}, dict).ok());
  const Status twice = disk.WriteFile(3, &again, {{"k", "v"}}, dict);
  EXPECT_EQ(twice.code(), Status::Code::kInternal) << twice.message();
}

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

// AppendSplit: rows of many files in each batch, copied into one piece
// per file straight from the batch, across many rounds and mixed with
// Append() pieces, read back as every file's rows in order: each file is
// the file a FileWriter writes from its rows in one row group.
std::vector<ColumnSpec> SplitSchema() {
  return {{"exchange", ColumnKind::kString, false}, {"symbol", ColumnKind::kString, false},
          {"ts", ColumnKind::kTimestampMicros, false}, {"id", ColumnKind::kString, false},
          {"side", ColumnKind::kString, true},       {"px", ColumnKind::kDouble, true},
          {"flag", ColumnKind::kBool, true},         {"qty", ColumnKind::kDouble, false},
          {"taker", ColumnKind::kBool, false}};
}

struct SplitRow {
  int file;
  int64_t ts;
  std::string id, side;  // side "" = null
  double px;
  bool has_px, flag, has_flag;
};

void AddRow(const SplitRow& row, RowGroupData* rg) {
  rg->columns[0].str.Append("ex");
  rg->columns[1].str.Append("SYM-" + std::to_string(row.file));
  rg->columns[2].i64.push_back(row.ts);
  rg->columns[3].str.Append(row.id);
  const size_t r = rg->num_rows;
  if (row.side.empty()) {
    rg->columns[4].AddNull(r);
  } else {
    rg->columns[4].AddDefined();
    rg->columns[4].str.Append(row.side);
  }
  if (row.has_px) {
    rg->columns[5].AddDefined();
    rg->columns[5].f64.push_back(row.px);
  } else {
    rg->columns[5].AddNull(r);
  }
  if (row.has_flag) {
    rg->columns[6].AddDefined();
    rg->columns[6].b.push_back(row.flag);
  } else {
    rg->columns[6].AddNull(r);
  }
  // Columns without nulls (the converter's prices and amounts) are gathered
  // piece by piece rather than scattered row by row.
  rg->columns[7].f64.push_back(row.px * 3 + static_cast<double>(row.ts % 7));
  rg->columns[8].b.push_back(row.ts % 3 == 0);
  rg->num_rows++;
}

// With `pool`, each batch's columns are copied on several threads at once.
// `id_pad` bytes in front of every id make a batch's pieces over a MiB, so
// with a pool they are written to the spill on a pool task (and the next
// append, or Flush, waits for that write), and longer than a one-byte
// length. `ts_step` microseconds between rows: at 1, every range's
// timestamps span less than 2^32 (spilled as offsets); at 20 s, a range of
// more than 214 rows spans more (spilled as they are).
void SplitRoundsReadBackAsEveryFilesRowsInOrder(ThreadPool* pool, size_t id_pad = 0, int64_t ts_step = 1) {
  WriterOptions opts;
  SpillWriter spill(SplitSchema(), opts, 10'000'000, 64u << 20);
  spill.SetSplitPool(pool);
  ASSERT_TRUE(spill.Open("").ok());
  constexpr int kFiles = 40;
  for (int f = 0; f < kFiles; f++) spill.AddFile();
  std::vector<RowGroupData> want(kFiles);
  for (auto& rg : want) rg = MakeRowGroup(SplitSchema());
  const std::vector<bool> constant = {true, true, false, false, false, false, false};
  uint64_t seq = 0;
  for (int round = 0; round < 12; round++) {
    // Batches differ: some with nulls, a side column of 300 distinct values
    // (past a one-byte dictionary), one side for every row, ids plain or
    // not, and Append() pieces of single files in between.
    const std::vector<bool> plain_id = {false, false, false, true, false, false, false};
    RowGroupData batch = MakeRowGroup(SplitSchema(), round % 3 == 0 ? nullptr : round % 3 == 1 ? &plain_id : &constant);
    std::vector<uint32_t> slot;
    std::vector<uint32_t> files;
    std::vector<int> slot_of(kFiles, -1);
    const size_t rows = 200 + 97 * static_cast<size_t>(round);
    for (size_t r = 0; r < rows; r++) {
      seq = seq * 6364136223846793005ULL + 1442695040888963407ULL;
      SplitRow row;
      row.file = static_cast<int>((seq >> 33) % (round % 4 == 1 ? 3 : kFiles));
      row.ts = 1'700'000'000'000'000 + static_cast<int64_t>(round * 100'000 + r) * ts_step;
      row.id = std::string(id_pad, 'p') + std::to_string(seq >> 40);
      row.side = round == 7            ? "s" + std::to_string(r % 300)
                 : round % 5 == 2        ? "buy"
                 : (seq >> 20) % 7 == 0  ? ""
                 : (seq >> 21) % 2       ? "buy"
                                         : "sell";
      row.has_px = round % 2 == 0 || (seq >> 24) % 5 != 0;
      row.px = 100.0 + static_cast<double>((seq >> 30) % 1000) / 8;
      row.has_flag = (seq >> 26) % 3 != 0;
      row.flag = (seq >> 27) % 2;
      AddRow(row, &batch);
      AddRow(row, &want[row.file]);
      if (slot_of[row.file] < 0) {
        slot_of[row.file] = static_cast<int>(files.size());
        files.push_back(static_cast<uint32_t>(row.file));
      }
      slot.push_back(static_cast<uint32_t>(slot_of[row.file]));
    }
    // Odd rounds in ranges of rows (a buffer of 4 KB): a piece per file
    // and range, some files with no row in a range.
    ASSERT_TRUE(spill.AppendSplit(&batch, slot, files, constant, round % 2 ? 4096 : 16u << 20).ok());
    if (round % 4 == 3) {
      const int f = round % kFiles;
      RowGroupData one = MakeRowGroup(SplitSchema());
      for (int i = 0; i < 5; i++) {
        SplitRow row{f, 1'800'000'000'000'000 + round * 10 + i, "x" + std::to_string(i), "sell", 1.5, true, true, true};
        AddRow(row, &one);
        AddRow(row, &want[f]);
      }
      ASSERT_TRUE(spill.Append(f, one).ok());
    }
  }
  ASSERT_TRUE(spill.Flush().ok());
  for (int f = 0; f < kFiles; f++) {
    StringSink expect, got;
    FileWriter w(&expect, SplitSchema(), opts);
    EXPECT_EQ(spill.num_rows(f), static_cast<int64_t>(want[f].num_rows)) << "file " << f;
    ASSERT_GT(want[f].num_rows, 0u);
    ASSERT_TRUE(w.WriteRowGroup(std::move(want[f])).ok());
    ASSERT_TRUE(w.Finish({}).ok());
    ASSERT_TRUE(spill.WriteFile(f, &got, {}, std::vector<bool>(SplitSchema().size(), false)).ok());
    EXPECT_EQ(got.bytes, expect.bytes) << "file " << f;
  }
}

TEST(SpillWriterTest, PiecesSplitFromBatchesReadBackAsEveryFilesRowsInOrder) {
  SplitRoundsReadBackAsEveryFilesRowsInOrder(nullptr);
}

// The columns of a batch copied by up to four threads at once (the pool's
// three and the caller): every file still reads back as its rows in order.
TEST(SpillWriterTest, PiecesSplitOnSeveralThreadsReadBackAsEveryFilesRowsInOrder) {
  ThreadPool pool(3);
  SplitRoundsReadBackAsEveryFilesRowsInOrder(&pool);
}

// Batches whose pieces take over a MiB (even rounds) are written by a pool
// task while the next batch is split, mixed with smaller ones written from
// the buffer (odd rounds, in ranges of rows) and Append() pieces: the spill
// still holds every piece where it was registered.
TEST(SpillWriterTest, PiecesWrittenOnAPoolTaskReadBackAsEveryFilesRowsInOrder) {
  ThreadPool pool(2);
  SplitRoundsReadBackAsEveryFilesRowsInOrder(&pool, 1000);
}

// A piece takes a header and counts per column whatever its rows, so a
// batch of many files of many columns (book snapshots of thousands of
// options, a row or two each) held more in them than its values: its
// pieces go in parts, and the buffer stays about its bound. Every file
// still reads back as its rows.
TEST(SpillWriterTest, ABatchOfManyWideFilesStaysWithinTheBufferBound) {
  constexpr size_t kCols = 104, kFiles = 2000, kBound = 256u << 10;
  std::vector<ColumnSpec> schema = {{"ts", ColumnKind::kTimestampMicros, false}};
  for (size_t c = 1; c < kCols; c++) schema.push_back({"v" + std::to_string(c), ColumnKind::kDouble, true});
  WriterOptions opts;
  SpillWriter spill(schema, opts);
  ASSERT_TRUE(spill.Open("").ok());
  std::vector<uint32_t> files, slot;
  std::vector<RowGroupData> want(kFiles);
  RowGroupData batch = MakeRowGroup(schema);
  for (size_t f = 0; f < kFiles; f++) {
    files.push_back(spill.AddFile());
    want[f] = MakeRowGroup(schema);
  }
  for (size_t r = 0; r < 2 * kFiles; r++) {
    const size_t f = (r * 7919) % kFiles;  // every file twice, interleaved
    slot.push_back(static_cast<uint32_t>(f));
    for (RowGroupData* rg : {&batch, &want[f]}) {
      rg->columns[0].i64.push_back(1'700'000'000'000'000 + static_cast<int64_t>(r));
      for (size_t c = 1; c < kCols; c++) {
        if ((r + c) % 5 == 0) {
          rg->columns[c].AddNull(rg->num_rows);
        } else {
          rg->columns[c].AddDefined();
          rg->columns[c].f64.push_back(static_cast<double>(r * kCols + c));
        }
      }
      rg->num_rows++;
    }
  }
  ASSERT_TRUE(spill.AppendSplit(&batch, slot, files, std::vector<bool>(kCols, false), kBound).ok());
  EXPECT_LE(spill.split_buffer_bytes(), kBound);
  ASSERT_TRUE(spill.Flush().ok());
  for (size_t f = 0; f < kFiles; f += 97) {
    StringSink expect, got;
    FileWriter w(&expect, schema, opts);
    ASSERT_TRUE(w.WriteRowGroup(std::move(want[f])).ok());
    ASSERT_TRUE(w.Finish({}).ok());
    ASSERT_TRUE(spill.WriteFile(static_cast<uint32_t>(f), &got, {}, std::vector<bool>(kCols, false)).ok());
    EXPECT_EQ(got.bytes, expect.bytes) << "file " << f;
  }
}

// Timestamps that span more than 2^32 microseconds in a batch (and less in
// its smaller ranges) read back as they were, alone and on a pool.
TEST(SpillWriterTest, TimestampsSpanningMoreThan32BitsReadBackAsTheyWere) {
  SplitRoundsReadBackAsEveryFilesRowsInOrder(nullptr, 0, 20'000'000);
  ThreadPool pool(2);
  SplitRoundsReadBackAsEveryFilesRowsInOrder(&pool, 300, 20'000'000);
}

// A split batch spills a timestamp column whose values span less than 2^32
// as 4-byte offsets, and ids under 256 bytes with 1-byte lengths: 7 bytes a
// row fewer than the same rows with one timestamp an hour and a half
// later (8-byte timestamps) and one id of 256 bytes (4-byte ends). Both
// read back as their rows.
TEST(SpillWriterTest, SplitPiecesSpillNarrowTimestampsAndLengthsWhenTheyFit) {
  constexpr size_t kRows = 1000;
  auto spilled = [&](bool wide, std::string* file0) -> uint64_t {
    SpillWriter spill(SplitSchema(), WriterOptions(), 10'000'000, 64u << 20);
    EXPECT_TRUE(spill.Open("").ok());
    spill.AddFile();
    spill.AddFile();
    RowGroupData batch = MakeRowGroup(SplitSchema());
    RowGroupData want = MakeRowGroup(SplitSchema());
    std::vector<uint32_t> slot;
    for (size_t r = 0; r < kRows; r++) {
      SplitRow row{static_cast<int>(r % 2), 1'700'000'000'000'000 + static_cast<int64_t>(r) * 1000,
                   std::to_string(280'000'000 + r), r % 3 ? "buy" : "sell", 0.25, true, true, true};
      if (wide && r == kRows - 1) {
        row.ts += 5'400'000'000;
        row.id = std::string(256, '7');
      }
      AddRow(row, &batch);
      if (row.file == 0) AddRow(row, &want);
      slot.push_back(static_cast<uint32_t>(row.file));
    }
    EXPECT_TRUE(spill.AppendSplit(&batch, slot, {0, 1}, {true, true, false, false, false, false, false}).ok());
    EXPECT_TRUE(spill.Flush().ok());
    StringSink got, expect;
    FileWriter w(&expect, SplitSchema(), WriterOptions());
    EXPECT_TRUE(w.WriteRowGroup(std::move(want)).ok());
    EXPECT_TRUE(w.Finish({}).ok());
    EXPECT_TRUE(spill.WriteFile(0, &got, {}, std::vector<bool>(SplitSchema().size(), false)).ok());
    EXPECT_EQ(got.bytes, expect.bytes);
    *file0 = got.bytes;
    return spill.spill_bytes();
  };
  std::string narrow_file, wide_file;
  const uint64_t narrow = spilled(false, &narrow_file);
  const uint64_t wide = spilled(true, &wide_file);
  // 4 + 3 bytes a row, less the base of each piece's timestamps (8 each),
  // plus the 256 - 9 bytes the longer id adds.
  EXPECT_EQ(wide - narrow, 7 * kRows - 2 * 8 + (256 - 9));
  EXPECT_FALSE(narrow_file.empty());
}

// A write that fails on the pool's task (here: past the process's file size
// limit, as a full disk would) is the error of the next append or of Flush,
// naming the spill and the reason; nothing waits forever, and the
// destructor waits for nothing it no longer needs.
TEST(SpillWriterTest, AFailedWriteOnAPoolTaskIsTheNextCallsError) {
  ThreadPool pool(2);
  struct rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct sigaction ignore = {}, old_action = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGXFSZ, &ignore, &old_action), 0);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 3u << 20;  // about two batches of the pieces below
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  Status failed;
  int rounds = 0;
  {
    SpillWriter spill(SplitSchema(), WriterOptions{}, 10'000'000, 64u << 20);
    spill.SetSplitPool(&pool);
    const Status open = spill.Open("");
    if (open.ok()) {
      constexpr int kFiles = 8;
      for (int f = 0; f < kFiles; f++) spill.AddFile();
      const std::vector<bool> constant = {true, true, false, false, false, false, false};
      for (; rounds < 6 && failed.ok(); rounds++) {
        RowGroupData batch = MakeRowGroup(SplitSchema());
        std::vector<uint32_t> slot, files;
        for (int f = 0; f < kFiles; f++) files.push_back(static_cast<uint32_t>(f));
        for (int r = 0; r < 1500; r++) {
          const SplitRow row{r % kFiles, 1'700'000'000'000'000 + r, std::string(1000, 'p') + std::to_string(r),
                             "buy", 1.5, true, true, true};
          AddRow(row, &batch);
          slot.push_back(static_cast<uint32_t>(r % kFiles));
        }
        failed = spill.AppendSplit(&batch, slot, files, constant);
      }
      if (failed.ok()) failed = spill.Flush();
      EXPECT_FALSE(spill.Flush().ok());  // the error stays
    } else {
      failed = open;
    }
  }
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  ASSERT_EQ(sigaction(SIGXFSZ, &old_action, nullptr), 0);
  ASSERT_EQ(failed.code(), Status::Code::kIOError) << failed.ToString();
  EXPECT_NE(failed.message().find("write "), std::string::npos) << failed.message();
  EXPECT_NE(failed.message().find(std::strerror(EFBIG)), std::string::npos) << failed.message();
  // Two batches (~1.5 MB of pieces each) fit under the limit; the third's
  // write fails on the pool task and is the fourth call's error, or Flush's.
  EXPECT_GE(rounds, 3);
}

// A directory that is not there stays so on a rerun: a configuration error
// (exit 2) naming the directory, the input and what to set, not a retryable
// one (a fleet would run the task again and again).
TEST(SpillWriterTest, AMissingDirectoryIsAConfigurationError) {
  SpillWriter spill(Schema(), WriterOptions{});
  const Status st = spill.Open("/nonexistent-dir-for-spill", "in.csv.gz");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(ExitCodeFor(st), 2) << st.ToString();
  EXPECT_EQ(st.message(), "cannot create a temporary file in /nonexistent-dir-for-spill for the spill of in.csv.gz (" +
                              std::string(std::strerror(ENOENT)) +
                              "; set TMPDIR to a writable directory with room for the output)");
}

// Out of descriptors (EMFILE), a spill file that cannot be created says to
// raise the open-file limit or run fewer at once, not to set TMPDIR (no other
// directory helps), and is a configuration error (exit 2), not a retryable
// one. Run in a forked child with a lowered RLIMIT_NOFILE, every descriptor
// below it taken, so the limit is exact and the test process keeps its own.
TEST(SpillWriterTest, OutOfFileDescriptorsNamesTheOpenFileLimitNotTmpdir) {
  SpillWriter spill(Schema(), WriterOptions{});
  const int code = testing::ExitCodeWithoutDescriptors([&] {
    const Status st = spill.Open("");
    if (st.ok()) return 13;
    if (st.code() != Status::Code::kUsage || ExitCodeFor(st) != 2) return 14;
    if (st.message().find("cannot create a temporary file in ") != 0) return 15;
    if (st.message().find(std::strerror(EMFILE)) == std::string::npos) return 16;
    if (st.message().find("raise it with 'ulimit -n', or run fewer jobs at once") == std::string::npos) return 17;
    if (st.message().find("TMPDIR") != std::string::npos) return 18;
    return 0;
  });
  EXPECT_EQ(code, 0) << "10-12: setting up the limit; 13: opened; 14: not kUsage (exit 2); 15: what "
                        "failed; 16: no strerror(EMFILE); 17: no 'ulimit -n' hint; 18: names TMPDIR";
}

}  // namespace
}  // namespace mt::parquet
