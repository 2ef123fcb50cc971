// FileWriter with WriterOptions::footer_memory_bytes: the footer metadata of
// the row groups written moves to a temporary file once it passes the bound,
// and the file written is byte for byte the one written with everything in
// memory (wide schemas of many row groups: deep book snapshots).
#include "parquet/file_writer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/exit_code.h"
#include "core/thread_pool.h"
#include "parquet/file_reader.h"

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
    appends++;
    return Status::OK();
  }
  Status Commit() override { return Status::OK(); }
  void Abort() override {}
  uint64_t bytes_written() const override { return bytes.size(); }
  std::string bytes;
  int appends = 0;
};

// 300 nullable double columns: a footer of about 20 KB per row group.
std::vector<ColumnSpec> WideSchema() {
  std::vector<ColumnSpec> s = {{"ts", ColumnKind::kTimestampMicros, false}};
  for (int i = 0; i < 300; i++) s.push_back({"v_" + std::to_string(i), ColumnKind::kDouble, true});
  return s;
}

RowGroupData Group(int g) {
  const std::vector<ColumnSpec> schema = WideSchema();
  RowGroupData rg = MakeRowGroup(schema);
  for (size_t r = 0; r < 3; r++) {
    rg.columns[0].i64.push_back(1'600'000'000'000'000 + g * 1000 + static_cast<int64_t>(r));
    for (size_t c = 1; c < schema.size(); c++) {
      if ((c + r + g) % 11 == 0) {
        rg.columns[c].AddNull(r);
      } else {
        rg.columns[c].AddDefined();
        rg.columns[c].f64.push_back(g + 0.25 * static_cast<double>(c) + static_cast<double>(r));
      }
    }
    rg.num_rows++;
  }
  return rg;
}

uint32_t FooterLength(const std::string& file) {
  uint32_t n = 0;
  for (int i = 0; i < 4; i++) n |= static_cast<uint32_t>(static_cast<uint8_t>(file[file.size() - 8 + i])) << (8 * i);
  return n;
}

// A footer spill directory that is not there stays so on a rerun: the
// write fails as a configuration error (exit 2) naming it, not a retryable
// one that a fleet would run again and again.
TEST(FileWriterFooterSpill, AMissingDirectoryIsAConfigurationError) {
  WriterOptions opts;
  opts.footer_memory_bytes = 1;
  opts.footer_spill_dir = "/nonexistent-dir-for-footer";
  StringSink sink;
  FileWriter w(&sink, WideSchema(), opts);
  Status st = w.WriteRowGroup(Group(0));
  for (int g = 1; st.ok() && g < 4; g++) st = w.WriteRowGroup(Group(g));
  if (st.ok()) st = w.Finish({});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(ExitCodeFor(st), 2) << st.ToString();
  EXPECT_EQ(st.message().find("cannot create a temporary file in /nonexistent-dir-for-footer for a file's footer ("),
            0u)
      << st.message();
  EXPECT_NE(st.message().find("set TMPDIR to a writable directory"), std::string::npos) << st.message();
}

TEST(FileWriterFooterSpill, SameBytesWithTheFooterOnDiskAndBoundedMemory) {
  ThreadPool pool(1);
  WriterOptions in_memory;
  in_memory.pool = &pool;
  WriterOptions spilled = in_memory;
  spilled.footer_memory_bytes = 64 << 10;
  const std::vector<std::pair<std::string, std::string>> kv = {{"k", "v"}, {"row_count", "360"}};
  StringSink want, got;
  FileWriter a(&want, WideSchema(), in_memory), b(&got, WideSchema(), spilled);
  size_t most_held = 0;
  constexpr int kGroups = 120;
  for (int g = 0; g < kGroups; g++) {
    ASSERT_TRUE(a.WriteRowGroup(Group(g)).ok());
    ASSERT_TRUE(b.WriteRowGroup(Group(g)).ok());
    most_held = std::max(most_held, b.footer_bytes_in_memory());
  }
  // Without the bound the footer-to-be grows with every row group.
  EXPECT_GT(a.footer_bytes_in_memory(), 2'000'000u);
  EXPECT_LE(most_held, spilled.footer_memory_bytes);
  ASSERT_TRUE(a.Finish(kv).ok());
  ASSERT_TRUE(b.Finish(kv).ok());
  EXPECT_GT(FooterLength(want.bytes), 2'000'000u);  // streamed in several pieces
  EXPECT_GT(got.appends, 3);
  ASSERT_EQ(got.bytes.size(), want.bytes.size());
  EXPECT_TRUE(got.bytes == want.bytes);

  // And it reads back: every row group, the last row group's values.
  auto reader = FileReader::OpenBuffer(got.bytes);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->metadata().row_groups.size(), static_cast<size_t>(kGroups));
  EXPECT_EQ((*reader)->metadata().num_rows, 3 * kGroups);
  auto last = (*reader)->ReadColumn(kGroups - 1, 300);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  ASSERT_EQ(last->num_rows, 3u);
  EXPECT_EQ(last->doubles[0], (kGroups - 1) + 0.25 * 300);
}

// WriteRowGroupByColumn writes the bytes of WriteRowGroup of the same row
// group, its columns made one at a time: string columns that stay
// dictionary-encoded, one that turns plain (every value distinct), a
// timestamp column; and a row group after it, whose plain hint it set.
TEST(FileWriter, ARowGroupWrittenByColumnIsTheSameBytes) {
  const std::vector<ColumnSpec> schema = {{"status", ColumnKind::kString, false},
                                          {"name", ColumnKind::kString, false},
                                          {"checked_at", ColumnKind::kTimestampMicros, false}};
  constexpr size_t kRows = 40000;  // more distinct names than a dictionary is tried on
  auto value = [](size_t c, size_t r) {
    return c == 0 ? std::string(r % 3 ? "missing" : "corrupt")
                  : "raw/DERIBIT:OPTION:BTC-" + std::to_string(r) + ".parquet";
  };
  RowGroupData whole = MakeRowGroup(schema);
  for (size_t r = 0; r < kRows; r++) {
    for (size_t c = 0; c < 2; c++) whole.columns[c].str.Append(value(c, r));
    whole.columns[2].i64.push_back(1'700'000'000'000'000);
    whole.num_rows++;
  }
  ASSERT_FALSE(whole.columns[1].str.dict_mode());
  ASSERT_TRUE(whole.columns[0].str.dict_mode());
  const std::vector<std::pair<std::string, std::string>> kv = {{"row_count", std::to_string(kRows)}};
  StringSink want, got;
  FileWriter a(&want, schema, WriterOptions{}), b(&got, schema, WriterOptions{});
  ASSERT_TRUE(a.WriteRowGroupFrom(whole).ok());
  ASSERT_TRUE(a.WriteRowGroup(std::move(whole)).ok());
  std::vector<size_t> filled;
  auto fill = [&](size_t c, columnar::ColumnData* col) {
    filled.push_back(c);
    if (c == 2) {
      col->i64.assign(kRows, 1'700'000'000'000'000);
    } else {
      for (size_t r = 0; r < kRows; r++) col->str.Append(value(c, r));
    }
    return Status::OK();
  };
  ASSERT_TRUE(b.WriteRowGroupByColumn(kRows, fill).ok());
  EXPECT_EQ(filled, (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(b.plain_string_hint(), a.plain_string_hint());
  ASSERT_TRUE(b.WriteRowGroupByColumn(kRows, fill).ok());
  EXPECT_TRUE(b.WriteRowGroupByColumn(0, fill).ok());  // nothing, as an empty row group
  ASSERT_TRUE(a.Finish(kv).ok());
  ASSERT_TRUE(b.Finish(kv).ok());
  ASSERT_EQ(got.bytes.size(), want.bytes.size());
  EXPECT_TRUE(got.bytes == want.bytes);
  // A column that cannot be made fails the row group, and the writer.
  StringSink failed;
  FileWriter f(&failed, schema, WriterOptions{});
  const Status st = f.WriteRowGroupByColumn(3, [](size_t, columnar::ColumnData*) { return Status::IOError("gone"); });
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_EQ(f.Finish(kv).code(), Status::Code::kIOError);
}

}  // namespace
}  // namespace mt::parquet
